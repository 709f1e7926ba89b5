"""The report's Estimation and diagnostics section (issue 17, points 10 and 11).

The fit documents get the keys the default run writes (values of the
default run: lavaan's logl -17326.2269 for the CFA, its top modification
index es2 ~~ wsi3 = 8.75), then under WLSMV the nulls and the notes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.pipeline.provenance import NOT_A_CHECKOUT, git_commit
from xhs_sharing.report.context import build_context
from xhs_sharing.report.figures import residual_heatmap
from xhs_sharing.report.render import render_report
from xhs_sharing.report.sections.estimation import estimation_table, likelihood_table, mardia_text, mi_table
from xhs_sharing.sem.fit_extras import FIML_MI_REASON, NO_LIKELIHOOD_REASON, WLSMV_DIAGNOSTICS_REASON

ESTIMATION = {"n_observed": 25, "moments": 325, "n_free": 78, "df": 247, "t_rule": "met", "iterations": 10,
              "max_abs_gradient": 9.7e-12, "optimizer": "Fisher scoring",
              "scaling": {c: f"marker: {c.lower()}1" for c in ("IS", "ES", "PR", "PA", "PC", "SN", "CN", "WSI")}}
ML_EXTRAS = {"logl": -17326.2269, "unrestricted_logl": -17204.60049, "npar": 78, "aic": 34808.45381,
             "bic": 35137.19324, "bic2": 34889.61642, "rmsea_pvalue": 0.9999, "estimation": ESTIMATION, "notes": {}}
MARDIA = {"available": True, "n": 500, "d": 25, "skew_b1d": 31.916, "skew_chi2": 2659.678, "skew_df": 2925,
          "skew_pvalue": 0.99982, "kurt_b2d": 663.0065, "kurt_expected": 675, "kurt_z": -3.6495,
          "kurt_pvalue": 0.00026}


def _section(html: str) -> str:
    return re.search(r'<section id="estimation">(.*?)</section>', html, re.S).group(1)


def _page(tmp_path: Path, extras: dict, *, mardia: dict | None = MARDIA, run_info: dict | None = None) -> str:
    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    for name, key_extra in (("measurement/cfa_fit.json", {"mardia": mardia} if mardia else {}),
                            ("structural/fit.json", {})):
        path = out["results"] / name
        doc = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**doc, **extras, **key_extra}), encoding="utf-8")
    fx = fixed_inputs()
    info = {**fx["run_info"], **(run_info or {})}
    return render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"], info))


def test_section_shows_the_estimation_the_likelihood_and_the_largest_indices(tmp_path):
    sec = _section(_page(tmp_path, ML_EXTRAS, run_info={"git_commit": "ab12" * 10}))
    assert "Estimation and diagnostics" in sec
    assert "\u221217326.227" in sec and "34808.454" in sec and "35137.193" in sec and "34889.616" in sec
    assert "marker variable (first loading fixed at 1) for all 8 latent variables" in sec
    assert "9.7e-12" in sec and "&gt; .999" in sec  # RMSEA p-close
    assert "b2 = 663.0 against 675" in sec and "z = \u22123.65, p &lt; .001" in sec
    assert "ab12" * 10 in sec
    assert "continuous and normal" in sec  # why ML, for 7-point items
    # the fixture's modification indices (report_fixtures._write_fit_extras): is2 ~~ wsi3 first, 8.75
    assert re.search(r"<th scope=\"row\">is2 ~~ wsi3</th><td class=\"num\">8.75</td>", sec)
    assert sec.count("<caption>Largest modification indices") == 2
    svg = re.search(r"<svg.*?</svg>", sec, re.S).group(0)
    assert "<title>Heat map of the residual correlations" in svg and svg.count("<desc>") == 1
    assert "Lower triangle of 25 items." in re.search(r"<desc>(.*?)</desc>", svg, re.S).group(1)


def test_old_fit_documents_give_dashes_not_errors(tmp_path):
    sec = _section(_page(tmp_path, {}, mardia=None))
    assert "Mardia&#39;s statistics were not recorded for this run." in sec
    assert "git commit" in sec and "not recorded" in sec
    assert sec.count("\u2014") >= 10


def test_wlsmv_says_there_is_no_likelihood_and_why(tmp_path):
    notes = {"likelihood": NO_LIKELIHOOD_REASON, "modindices": WLSMV_DIAGNOSTICS_REASON,
             "residual_correlations": WLSMV_DIAGNOSTICS_REASON}
    cfa = {"estimator": "WLSMV", **dict.fromkeys(("logl", "unrestricted_logl", "aic", "bic", "bic2", "rmsea_pvalue")),
           "npar": 78, "notes": notes, "estimation": {**ESTIMATION, "max_abs_gradient": None}}
    table = likelihood_table(cfa, cfa)
    assert [c["text"] for c in table["rows"][0]["cells"][1:]] == ["\u2014", "\u2014"]
    assert NO_LIKELIHOOD_REASON in table["note"] and WLSMV_DIAGNOSTICS_REASON in table["note"]
    mi = mi_table(pd.DataFrame(columns=["lhs", "op", "rhs", "mi", "epc", "sepc_all"]), "CFA", WLSMV_DIAGNOSTICS_REASON)
    assert mi["rows"] == [] and mi["note"].startswith("Not computed under WLSMV")
    grad = [r for r in estimation_table(cfa, cfa)["rows"] if r["cells"][0]["text"].startswith("Largest |gradient|")]
    assert grad[0]["cells"][1]["text"] == "\u2014"


def test_fiml_reason_is_shown_when_the_table_is_empty():
    mi = mi_table(pd.DataFrame(columns=["lhs", "op", "rhs", "mi", "epc", "sepc_all"]), "structural model",
                  FIML_MI_REASON)
    assert "Not computed under FIML" in mi["note"]


def test_mardia_text_when_it_could_not_be_computed():
    assert mardia_text({"mardia": {"available": False, "reason": "2 rows, 3 variables"}}) == \
        "Mardia's statistics could not be computed: 2 rows, 3 variables."


def test_heatmap_writes_values_beyond_a_tenth_and_lists_them_in_desc():
    resid = pd.DataFrame({"lhs": ["b", "c", "c"], "rhs": ["a", "a", "b"], "residual": [0.15, -0.02, -0.12]})
    svg = residual_heatmap(resid, ["a", "b", "c"])
    assert svg.count("<desc>") == 1  # the artists' description, then the data's summary
    assert " Lower triangle of 3 items. 2 of 3 pairs differ by more than .10: b-a +0.15; c-b -0.12.</desc>" in svg
    assert ">.15<" in svg and ">\u2212.12<" in svg and ">\u2212.02<" not in svg
    assert "<image" not in svg  # vector cells


def test_git_commit_of_a_checkout_and_of_a_plain_directory(tmp_path):
    here = git_commit()
    assert re.fullmatch(r"[0-9a-f]{40}( \(uncommitted changes\))?", here), here
    assert git_commit(tmp_path) == NOT_A_CHECKOUT


@pytest.mark.parametrize("value,text", [(0.0004, "< .001"), (0.9999, "> .999")])
def test_close_fit_p_formatting(value, text):
    table = likelihood_table({"rmsea_pvalue": value}, {"rmsea_pvalue": value})
    assert table["rows"][-1]["cells"][1]["text"] == text
