"""A study spec without population values in the workflow (issue 12 point 10), in a scratch copy.

* on the synthetic survey (no survey file) the run stops before any job,
  naming the spec file and the missing fields;
* on a survey file the DAG schedules no Monte Carlo job, ``validate_study``
  writes ``population.json`` with ``declared: false`` and logs why;
* the ``montecarlo`` target stops before any job;
* the default spec still schedules the Monte Carlo study (the control).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import without_population
from test_e2e import ROOT, run, scratch_copy

pytestmark = pytest.mark.slow

MONTECARLO_RULES = ("montecarlo_chunk", "montecarlo_sensitivity", "montecarlo_gather")


def own_spec(path: Path) -> Path:
    """config/study.yaml without any population value, written to ``path``."""
    data = without_population(yaml.safe_load((ROOT / "config" / "study.yaml").read_text(encoding="utf-8")))
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def jobs(proc) -> dict[str, int]:
    """The job counts of a dry run's ``Job stats`` table."""
    table = proc.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    wd = scratch_copy(tmp_path_factory.mktemp("nopop"))
    own_spec(wd / "config" / "own.yaml")
    return wd


def test_synthetic_run_without_population_values_stops_before_any_job(workdir: Path) -> None:
    proc = run(workdir, "-n", "--config", "study=config/own.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ("config/own.yaml: the synthetic survey (a run without a survey file of your own) needs the population "
            "values of the study spec (item loading, path std, exogenous_correlation), and it declares none: missing "
            "loading of every item (25); std of every path (15); exogenous_correlation") in out
    assert "Job stats" not in out


def test_own_survey_without_population_values_schedules_no_montecarlo_job(workdir: Path) -> None:
    survey = ROOT / "data" / "example" / "survey.csv"
    proc = run(workdir, "-n", "--config", "study=config/own.yaml", f"data={survey}")
    counts = jobs(proc)
    assert counts["report"] == 1 and counts["structural"] == 1
    assert not any(rule in counts for rule in MONTECARLO_RULES)


def test_the_montecarlo_target_without_population_values_stops(workdir: Path) -> None:
    survey = ROOT / "data" / "example" / "survey.csv"
    proc = run(workdir, "-n", "montecarlo", "--config", "study=config/own.yaml", f"data={survey}", check=False)
    assert proc.returncode != 0
    assert ("config/own.yaml: the Monte Carlo study needs the population values of the study spec"
            in proc.stdout + proc.stderr)


def test_validate_study_records_that_no_population_values_are_declared(workdir: Path) -> None:
    survey = ROOT / "data" / "example" / "survey.csv"
    run(workdir, "--cores", "1", "results/calibration/population.json", "--config", "study=config/own.yaml",
        f"data={survey}")
    doc = json.loads((workdir / "results" / "calibration" / "population.json").read_text(encoding="utf-8"))
    assert doc["declared"] is False
    assert doc["missing"] == "loading of every item (25); std of every path (15); exogenous_correlation"
    log = (workdir / "logs" / "data" / "validate_study.log").read_text(encoding="utf-8")
    assert "the Monte Carlo study and its sensitivity analysis are skipped" in log
    assert "Hoenig & Heisey 2001" in log


def test_the_default_spec_schedules_the_montecarlo_study(workdir: Path) -> None:
    counts = jobs(run(workdir, "-n"))
    assert counts["montecarlo_chunk"] == 6 and counts["montecarlo_sensitivity"] == 1  # one per sample size
    assert counts["montecarlo_gather"] == 1
