"""The report's reproduce command: the run's config files and --config values, shell-quoted, parsed back by Snakemake."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from xhs_sharing.pipeline.command import config_argument, reproduce_command


def test_synthetic_run_needs_no_config():
    assert reproduce_command() == "pip install -e . && snakemake --cores 2"


def test_config_files_and_overrides_in_order():
    cmd = reproduce_command(["tests/e2e/small.yaml", "my run.yaml"],
                            {"data": {"path": "s.csv", "scale_points": 6, "missing": "fiml"}, "strict": True})
    assert cmd == ("pip install -e . && snakemake --cores 2 --configfile tests/e2e/small.yaml 'my run.yaml' "
                   "--config 'data={path: s.csv, scale_points: 6, missing: fiml}' strict=true")


def test_a_hostile_file_name_is_one_quoted_word(tmp_path):
    name = "x $(touch PWNED).csv; rm -rf ~ `id`"
    cmd = reproduce_command([], {"data": name, "strict": True})
    snake = cmd.split(" && ", 1)[1]
    assert shlex.split(snake)[-2:] == [f"data={name}", "strict=true"]
    # the shell only echoes the words: nothing in them is executed
    out = subprocess.run(["bash", "-c", "printf '%s\\n' " + snake.split(" ", 4)[4]], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"data={name}", "strict=true"]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("value", [
    "x $(touch PWNED).csv; rm -rf ~ `id`",
    {"path": "a b:c,{d}.csv", "scale_points": 6, "missing": "fiml"},
    {"path": "123", "scale_points": "true"},
    {"n": 300, "seed": 7},
    {"sample_sizes": [150, 400], "sensitivity": {"effects": [0.1, 0.3]}},
])
def test_snakemake_parses_every_config_word_back(value):
    """What Snakemake's own --config parser makes of the word is the value (numbers as text, coerced later)."""
    from snakemake.cli import parse_config

    def text(v):
        return {k: text(x) for k, x in v.items()} if isinstance(v, dict) else (
            [text(x) for x in v] if isinstance(v, list) else str(v))
    assert parse_config([config_argument("key", value)])["key"] == (value if isinstance(value, str) else text(value))


def test_the_modules_the_snakefile_imports_leave_logging_alone_and_need_only_the_standard_library():
    """Imported while Snakemake parses the workflow: a root log handler would double its log lines."""
    code = ("import logging, sys; import xhs_sharing.pipeline.command, xhs_sharing.pipeline.configuration, "
            "xhs_sharing.results; print(len(logging.getLogger().handlers), "
            "sorted(m for m in ('numpy', 'pandas', 'scipy', 'semopy', 'yaml', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0 []"
