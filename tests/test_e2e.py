"""The workflow end to end, in a scratch copy of the repository.

* ``--cores 1`` and ``--cores 2`` give byte-identical data and tables;
* a run killed in the middle of the bootstrap and started again ends with the
  same bytes as an uninterrupted run;
* a bad survey file stops the DAG with a clear message and leaves no result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "e2e" / "small.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("snakemake") is None and not (Path(sys.executable).parent / "snakemake").exists(),
                                reason="snakemake is not installed"),
]


def scratch_copy(dest: Path) -> Path:
    """Copy what the workflow needs (not generated outputs) into ``dest``."""
    for name in ("Snakefile", "environment.yml", "workflow", "config", "scripts", "tests/e2e"):
        src = ROOT / name
        target = dest / name
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def run(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every data file and result table (logs and the report carry timings)."""
    out = {}
    for sub in ("data", "results"):
        for path in sorted((workdir / sub).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(workdir))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    work = scratch_copy(tmp_path_factory.mktemp("cores2"))
    run(work, "--cores", "2", "--configfile", str(SMALL), "-q")
    return digests(work)


def test_cores_1_and_2_give_identical_bytes(reference, tmp_path):
    work = scratch_copy(tmp_path)
    run(work, "--cores", "1", "--configfile", str(SMALL), "-q")
    got = digests(work)
    assert "results/claims.json" in got and "data/synthetic/survey.csv" in got
    assert got == reference


def test_killed_run_resumes_to_identical_bytes(reference, tmp_path):
    work = scratch_copy(tmp_path)
    log = work / "logs" / "structural" / "structural.log"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", "--configfile", str(SMALL), "-q"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if log.exists() and "bootstrap chunk 1/" in log.read_text():
            break
        if proc.poll() is not None:
            pytest.fail("the run ended before the bootstrap could be interrupted")
        time.sleep(0.05)
    else:
        pytest.fail("the bootstrap never started")
    # A hard stop (power loss, OOM killer, a preempted cluster job): SIGKILL to
    # snakemake and every process under it, by process id.
    victims = psutil.Process(proc.pid).children(recursive=True) + [psutil.Process(proc.pid)]
    for p in victims:
        p.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=30)
    proc.wait(timeout=30)
    assert not (work / "results" / "structural" / "indirect_effects.csv").exists()
    assert not (work / "results" / "claims.json").exists()
    # After a hard stop Snakemake's lock stays: the documented recovery is --unlock, then rerun.
    run(work, "--unlock")
    run(work, "--cores", "2", "--configfile", str(SMALL), "-q")
    assert digests(work) == reference


def test_bad_survey_stops_the_dag_and_leaves_no_results(tmp_path):
    work = scratch_copy(tmp_path)
    bad = work / "bad.csv"
    bad.write_text("respondent_id,is1\nR1,3\n", encoding="utf-8")
    proc = run(work, "--cores", "2", "-q", "--config", f"data={bad}", check=False)
    assert proc.returncode != 0
    log = (work / "logs" / "data" / "prepare_data.log").read_text()
    assert "missing column(s)" in log and str(bad) in log
    assert not (work / "results" / "data" / "items.csv").exists()
    assert not (work / "results" / "claims.json").exists()


def test_own_data_runs_the_whole_dag_and_the_report_says_so(tmp_path):
    work = scratch_copy(tmp_path)
    example = ROOT / "data" / "example" / "survey.csv"
    run(work, "--cores", "2", "--configfile", str(SMALL), "-q", "--config", f"data={example}")
    assert not (work / "data" / "synthetic").exists()  # the synthetic step was skipped
    html = (work / "reports" / "replication_report.html").read_text(encoding="utf-8")
    digest = hashlib.sha256(example.read_bytes()).hexdigest()
    assert "observed data" in html and "survey.csv" in html and digest in html
    source = (work / "results" / "data" / "source.json").read_text()
    assert '"kind": "observed"' in source and '"n_rows": 300' in source


def test_a_contradicted_claim_shows_in_the_report_and_strict_mode_fails(tmp_path):
    """With IS -> CN = .35 in the population the report lists the IS -> CN claims as not
    reproduced, and strict=true turns that into a non-zero exit naming them, after the
    claims and the report are written."""
    import yaml

    work = scratch_copy(tmp_path)
    spec_path = work / "config" / "study.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    for p in spec["paths"]:
        if (p["from"], p["to"]) == ("IS", "CN"):
            p["std"] = 0.35
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    bigger = work / "n1000.yaml"  # z of IS -> CN about 8: significant is not a matter of luck
    bigger.write_text("synthetic: {n: 1000}\nmontecarlo: {in_report: false}\n", encoding="utf-8")
    run(work, "--cores", "2", "--configfile", str(SMALL), str(bigger), "-q")
    doc = json.loads((work / "results" / "claims.json").read_text(encoding="utf-8"))
    failed = {c["id"] for c in doc["claims"] if c["verdict"] == "not_reproduced"}
    assert {"IS->CN", "IS->CN->WSI"} <= failed
    html = (work / "reports" / "replication_report.html").read_text(encoding="utf-8")
    # synthetic data from a population in which IS->CN and IS->CN->WSI do not hold: "consistent", not "reproduced"
    assert (f"{doc['reproduced']} of {doc['total']} claims consistent with the hypotheses (synthetic data from a "
            "population model in which 17 of the 19 hold)") in html
    assert "\u2717 not consistent" in html
    proc = run(work, "--cores", "2", "--configfile", str(SMALL), str(bigger), "-q", "--config", "strict=true",
               check=False)
    assert proc.returncode != 0
    log = (work / "logs" / "claims" / "strict_check.log").read_text(encoding="utf-8")
    assert "strict mode" in log and "IS->CN" in log and "IS->CN->WSI" in log
    # the claims and the report stay, so a failed CI job still shows which claims failed
    assert json.loads((work / "results" / "claims.json").read_text(encoding="utf-8")) == doc
    assert (work / "reports" / "replication_report.html").is_file()
    assert not (work / "results" / "strict_check.json").exists()
