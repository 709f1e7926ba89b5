"""The package works installed from a wheel, without the repository's workflow/ or src/.

The schemas (``xhs_sharing/schemas``) and the report templates
(``xhs_sharing/report/templates``) are package data read with
:mod:`importlib.resources`. This test builds a wheel from a copy of the
sources, unpacks it, and in a fresh interpreter whose ``sys.path`` holds the
unpacked wheel and no other copy of ``xhs_sharing`` (run from a scratch
directory): loads ``config/study.yaml``, validates ``config/config.yaml``
against the packaged schema, and renders the report from the packaged
template. A package that read ``workflow/`` or ``src/`` through its own
path (``Path(__file__).parents[2]``) fails here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

PACKAGE_DATA = (
    "xhs_sharing/schemas/config.schema.yaml",
    "xhs_sharing/schemas/study.schema.yaml",
    "xhs_sharing/report/templates/report.html.j2",
    "xhs_sharing/report/templates/_macros.html.j2",
    "xhs_sharing/report/templates/_style.css.j2",
    "xhs_sharing/py.typed",
)

USE_INSTALLED = """
import json, sys
from pathlib import Path

site, repo, tests, scratch = (Path(a) for a in sys.argv[1:5])
# only the unpacked wheel provides xhs_sharing (the editable install of the machine is dropped)
sys.path[:] = [str(site), str(tests)] + [p for p in sys.path if p and not (Path(p) / "xhs_sharing").exists()]

import xhs_sharing
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import _environment, render_report
from xhs_sharing.study.cutoffs import default_thresholds
from xhs_sharing.study.spec import load_schema, load_study, read_yaml, validate_against_schema
from report_fixtures import fixed_inputs, write_fixture_results

study = load_study(repo / "config" / "study.yaml")
config = validate_against_schema(read_yaml(repo / "config" / "config.yaml"), load_schema("config.schema.yaml"),
                                 "config/config.yaml")
env = _environment(None)
template_file = env.loader.get_source(env, "report.html.j2")[1]
out = write_fixture_results(scratch, study)
fx = fixed_inputs()
html = render_report(build_context(out["results"], study, fx["config_text"], "study text", fx["data_source"],
                                   fx["run_info"], out["montecarlo"]))
print(json.dumps({"package": xhs_sharing.__file__, "template": template_file, "claims": len(study.claims),
                  "thresholds": config["measurement"]["thresholds"] == default_thresholds(),
                  "html": len(html), "closed": html.rstrip().endswith("</html>")}))
"""


def _build_wheel(tmp: Path) -> Path:
    """``pip wheel`` on a copy of pyproject.toml, README.md and src/ (the repository stays untouched)."""
    src = tmp / "source"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(src)]
    isolated = importlib.util.find_spec("wheel") is None  # without it setuptools < 70 cannot build a wheel in place
    if not isolated:
        cmd.insert(4, "--no-build-isolation")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        if isolated:
            pytest.skip(f"the build requirements (setuptools, wheel) could not be installed: {proc.stderr[-500:]}")
        raise AssertionError(f"pip wheel failed:\n{proc.stderr[-3000:]}")
    wheels = sorted(dist.glob("xhs_sharing-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_installed_wheel_loads_its_schemas_and_templates_from_package_data(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in PACKAGE_DATA if n not in names]
    assert missing == [], f"package data missing from the wheel: {missing}"
    assert not any(n.startswith(("workflow/", "src/", "tests/")) for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = subprocess.run(
        [sys.executable, "-I", "-c", USE_INSTALLED, str(site), str(ROOT), str(ROOT / "tests"), str(scratch)],
        cwd=scratch, capture_output=True, text=True, timeout=600, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(got["package"]).is_relative_to(site), got["package"]
    assert Path(got["template"]).is_relative_to(site), got["template"]
    assert got["claims"] == 19 and got["thresholds"] is True
    assert got["closed"] and got["html"] > 100_000
