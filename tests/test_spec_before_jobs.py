"""Issue 19 point 7: the whole study spec is checked before any job starts, naming the file and the field.

* :func:`check_spec_for_run` (called by ``workflow/rules/common.smk`` while
  Snakemake builds the DAG) rejects an item named like the respondent id
  column, an empty claims list, a population model whose paths explain more
  than all of a construct's variance and exogenous correlations that give no
  positive definite matrix, each message naming the spec file and field;
* claim ids are the user's text: ``$\\undefinedmacro{x}$`` (math text) and
  ``_hidden`` (a label matplotlib's legend would hide) are drawn verbatim in
  the Monte Carlo figure;
* in a scratch copy, ``snakemake -n`` stops with the message and schedules no job.
"""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest
import yaml

from conftest import without_population
from xhs_sharing.errors import SpecError
from xhs_sharing.report.figures import reproduction_curves
from xhs_sharing.study.runcheck import check_spec_for_run

ROOT = Path(__file__).resolve().parents[1]

matplotlib.use("Agg")


def _set(path: list[Any], value: Any):
    def mutate(d: dict[str, Any]) -> None:
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _all_paths(std: float):
    def mutate(d: dict[str, Any]) -> None:
        for p in d["paths"]:
            p["std"] = std
    return mutate


CASES = {
    "respondent_id": (_set(["constructs", 0, "items", 0, "id"], "respondent_id"),
                      "bad.yaml: field constructs/IS/items/0: item id 'respondent_id' is the survey's respondent id "
                      "column (respondent_id); give the item another id"),
    "no claims": (_set(["claims"], []),
                  "bad.yaml is invalid:\n  field claims: [] should be non-empty (the package checks claims, so a "
                  "study needs at least one"),
    "R-squared": (_all_paths(0.9),
                  "bad.yaml: field paths (the std of the paths into SN): construct SN: its paths explain 6.156 of its "
                  "variance (must be below 1)"),
    "not positive definite": (_set(["exogenous_correlation"], -0.5),
                              "bad.yaml: field exogenous_correlation: -0.5 does not give a positive definite "
                              "correlation matrix for the 5 exogenous constructs"),
}


def write_spec(path: Path, study_dict: dict[str, Any], mutate) -> Path:
    data = copy.deepcopy(study_dict)
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_every_spec_error_names_the_file_and_the_field(case, study_dict, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mutate, message = CASES[case]
    spec = write_spec(Path("bad.yaml"), study_dict, mutate)
    with pytest.raises(SpecError) as err:
        check_spec_for_run(spec)
    assert message in str(err.value)


def test_the_shipped_spec_passes_and_a_spec_without_population_values_needs_a_survey(study_dict, tmp_path):
    study, status = check_spec_for_run(ROOT / "config" / "study.yaml", "the synthetic survey")
    assert status.declared and len(study.claims) == 19
    data = without_population(copy.deepcopy(study_dict))
    own = tmp_path / "own.yaml"
    own.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert not check_spec_for_run(own)[1].declared  # on a survey file: no population model to check
    with pytest.raises(SpecError, match="own.yaml: the synthetic survey needs the population values"):
        check_spec_for_run(own, "the synthetic survey")


def test_the_spec_check_of_the_snakefile_leaves_logging_alone():
    """common.smk imports it while Snakemake parses the workflow: a root log handler would double its log lines."""
    code = ("import logging; import xhs_sharing.study.runcheck as r; "
            f"r.check_spec_for_run({str(ROOT / 'config' / 'study.yaml')!r}, 'x'); "
            "print(len(logging.getLogger().handlers))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0"


RATES = pd.DataFrame({"claim_id": ["$\\undefinedmacro{x}$"] * 2 + ["_hidden"] * 2 + ["A->B"] * 2,
                      "n": [150, 400] * 3, "reproduction_rate": [0.5, 0.9, 0.4, 0.8, 0.6, 1.0]})
JOINT = pd.DataFrame({"n": [150, 400], "joint_rate": [0.2, 0.7], "ci_low": [0.1, 0.6], "ci_high": [0.3, 0.8]})


def test_claim_ids_are_drawn_verbatim_in_the_montecarlo_figure():
    svg = reproduction_curves(RATES, JOINT, null_claims=["_hidden"])
    assert "$\\undefinedmacro{x}$" in svg  # the legend text, not math
    assert "_hidden" in svg  # a label starting with "_" is not dropped from the legend
    assert "A-&gt;B" in svg or "A->B" in svg


def test_matplotlib_itself_would_fail_on_those_ids():
    """The control: with the defaults (math parsing on, labels collected) both ids break or vanish."""
    fig = matplotlib.figure.Figure()
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="_hidden")
    assert ax.get_legend_handles_labels()[1] == []
    ax.plot([0, 1], [1, 0], label="$\\undefinedmacro{x}$")
    ax.legend()
    with pytest.raises(ValueError, match="undefinedmacro"):
        fig.savefig(io.BytesIO(), format="svg")


@pytest.mark.slow
def test_snakemake_stops_before_any_job_naming_the_spec(study_dict, tmp_path):
    from test_e2e import run, scratch_copy

    work = scratch_copy(tmp_path)
    write_spec(work / "config" / "bad.yaml", study_dict, CASES["R-squared"][0])
    start = time.monotonic()
    proc = run(work, "-n", "--config", "study=config/bad.yaml", check=False)
    seconds = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config/bad.yaml: field paths (the std of the paths into SN)" in out
    assert "Job stats" not in out and "Error in rule" not in out
    assert seconds < 30, f"the spec error took {seconds:.1f} s"
