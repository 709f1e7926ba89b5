"""The report's reproduce command reproduces the run: same result bytes (issue 12 point 3)."""

from __future__ import annotations

import html
import json
import re
import shlex

import pytest

from test_e2e import digests, run, scratch_copy
from xhs_sharing.io import sha256_file

pytestmark = pytest.mark.slow


def test_the_reproduce_command_of_a_run_with_configfiles_and_overrides_gives_identical_bytes(tmp_path):
    first = scratch_copy(tmp_path / "first")
    (first / "no mc.yaml").write_text("montecarlo: {in_report: false}\n", encoding="utf-8")
    run(first, "--cores", "2", "-q", "--configfile", "tests/e2e/small.yaml", "no mc.yaml",
        "--config", "synthetic={n: 300, seed: 7}", "data={scale_points: 5}")
    page = (first / "reports" / "replication_report.html").read_text(encoding="utf-8")
    command = html.unescape(re.search(r'<pre class="command"><code>(.*?)</code></pre>', page, re.S).group(1))
    assert command == ("pip install -e . && snakemake --cores 2 --configfile tests/e2e/small.yaml 'no mc.yaml' "
                       "--config 'synthetic={n: 300, seed: 7}' 'data={scale_points: 5}'")
    # every config file and the study spec with its SHA-256 in the Provenance section
    for name in ("config/config.yaml", "tests/e2e/small.yaml", "no mc.yaml", "config/study.yaml"):
        assert f'<th scope="row">{html.escape(name)}</th><td class="hash">{sha256_file(first / name)}</td>' in page
    codebook = json.loads((first / "data" / "synthetic" / "codebook.json").read_text(encoding="utf-8"))
    assert codebook["scale_points"] == 5
    second = scratch_copy(tmp_path / "second")
    (second / "no mc.yaml").write_text("montecarlo: {in_report: false}\n", encoding="utf-8")
    words = shlex.split(command.split(" && ", 1)[1])
    assert words[:3] == ["snakemake", "--cores", "2"]
    run(second, *words[1:], "-q")
    assert digests(second) == digests(first)
