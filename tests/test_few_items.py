"""Issue 19 point 3: constructs with one or two items.

* A single-item construct has its item's residual variance fixed at 0 in the
  structural model as in the measurement model (it failed in the structural
  step before: a free residual variance is not identified, and the fixed 0
  made the improper-solution check flag Theta as not positive definite);
  the structural fit on a survey drawn by the package's generator is proper
  and its bootstrap converges.
* The log of ``validate_study`` and the report's measurement section say so,
  and warn that a two-item construct is identified only through its
  correlations with the other constructs.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from report_fixtures import fixed_inputs, write_fixture_results
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.pipeline.measurement import run_measurement
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import render_report
from xhs_sharing.sem.checks import check_matrices
from xhs_sharing.study.spec import Study, study_from_dict
from xhs_sharing.study.syntax import identification_notes, n_free_parameters, structural_syntax
from xhs_sharing.study.synthetic import codebook, simulate_survey

SINGLE_NOTE = ("IS has a single item (is1): its residual variance is fixed at 0 in the measurement and the structural "
               "model, so the construct is that item, measured without error")
ROOT = Path(__file__).resolve().parents[1]
TWO_NOTE = "ES has two items (es1, es2): it is identified only through its correlations with the other constructs"


def few_items(study_dict: dict[str, Any]) -> dict[str, Any]:
    """config/study.yaml with IS reduced to is1 and ES to es1, es2."""
    data = copy.deepcopy(study_dict)
    by_id = {c["id"]: c for c in data["constructs"]}
    by_id["IS"]["items"] = by_id["IS"]["items"][:1]
    by_id["ES"]["items"] = [it for it in by_id["ES"]["items"] if it["id"] in ("es1", "es2")]
    return data


@pytest.fixture()
def study(study_dict) -> Study:
    return study_from_dict(few_items(study_dict), "few.yaml")


def test_the_structural_syntax_fixes_the_single_items_residual_variance(study, study_dict):
    syntax = structural_syntax(study)
    assert "IS =~ is1\n" in syntax and syntax.count("~~ 0*") == 1 and "is1 ~~ 0*is1" in syntax
    assert "~~ 0*" not in structural_syntax(study_from_dict(study_dict, "default"))  # the default model is unchanged
    # 25 - 3 items; loadings 22 - 8, residual variances 22 - 1, 15 exogenous (co)variances, 3 + 15 structural
    assert n_free_parameters(study) == 14 + 21 + 15 + 3 + 15


def test_identification_notes(study, study_dict):
    notes = identification_notes(study)
    assert len(notes) == 2 and notes[0].startswith(SINGLE_NOTE) and notes[1].startswith(TWO_NOTE)
    assert identification_notes(study_from_dict(study_dict, "default")) == []


def test_a_residual_variance_fixed_at_zero_is_not_an_improper_solution():
    lam = np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.8]]])
    psi = np.array([[[1.0, 0.3], [0.3, 1.0]]])
    b = np.zeros((1, 2, 2))
    fixed = np.diag([0.0, 0.5, 0.4])[None]
    assert check_matrices(b, lam, psi, fixed).proper.tolist() == [True]
    # the control: a residual correlation beyond 1 among the free items is still caught
    bad = fixed.copy()
    bad[0, 1, 2] = bad[0, 2, 1] = 0.6
    assert check_matrices(b, lam, psi, bad).theta_not_pd.tolist() == [True]


def test_measurement_and_structural_steps_both_fit_a_single_item_construct(study):
    frame = simulate_survey(study, 500, 20261127)
    items = analysis_frame(frame, codebook(study, 7))
    measurement = run_measurement(items, study)
    loadings = measurement.loadings.set_index("item")
    assert loadings.loc["is1", "std_all"] == pytest.approx(1.0)
    out = run_structural(items, study, boot_seed=1, mc_seed=2, n_boot=100, chunk_size=50, mc_draws=500)
    assert out.fit["proper"] is True and out.fit["problems"] == []
    assert out.bootstrap["converged"] >= 90
    assert "is1 ~~ 0*is1" in out.syntax
    paths = out.paths.set_index(["lhs", "op", "rhs"])
    assert 0 < paths.loc[("SN", "~", "IS"), "est"] < 1  # attenuated: is1 carries its measurement error into IS


def test_validate_study_logs_the_notes(study_dict, tmp_path):
    """scripts/calibrate.py run as the validate_study rule runs it (in its own process: it sets up logging)."""
    spec = tmp_path / "few.yaml"
    spec.write_text(yaml.safe_dump(few_items(study_dict)), encoding="utf-8")
    log, population = tmp_path / "validate_study.log", tmp_path / "population.json"
    code = ("import runpy, sys, types; ns = types.SimpleNamespace; "
            "sm = ns(input=ns(study=sys.argv[1]), log=[sys.argv[2]], output=ns(population=sys.argv[3])); "
            "runpy.run_path(sys.argv[4], {'snakemake': sm})")
    subprocess.run([sys.executable, "-c", code, str(spec), str(log), str(population), str(ROOT / "scripts" / "calibrate.py")],
                   check=True, capture_output=True, text=True)
    text = log.read_text(encoding="utf-8")
    assert re.search(r"WARNING.*" + re.escape(SINGLE_NOTE), text) and re.search(r"WARNING.*" + re.escape(TWO_NOTE), text)
    assert json.loads(population.read_text(encoding="utf-8"))["declared"] is True


def test_the_report_says_so_in_its_measurement_section(study, tmp_path):
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    fx = fixed_inputs()
    html = render_report(build_context(out["results"], study, fx["config_text"], "few", fx["data_source"],
                                       fx["run_info"], None))
    box = re.search(r'<div class="callout warn" id="measurement-identification">(.*?)</div>', html, re.S)
    assert box is not None
    assert SINGLE_NOTE in box.group(1) and TWO_NOTE in box.group(1)
    assert html.index("measurement-identification") > html.index('<section id="measurement">')

