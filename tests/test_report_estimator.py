"""The report names the estimator, its test statistic and its standard errors (issue 13)."""

from __future__ import annotations

import pandas as pd

from xhs_sharing.report.judged import judged_view, with_unjudged_rows
from xhs_sharing.report.sections.structural import paths_table
from xhs_sharing.report.tables import Cutoff, estimator_label, estimator_text, fit_table

FIT = {"chi2": 300.0, "df": 260, "pvalue": 0.04, "cfi": 0.99, "tli": 0.99, "rmsea": 0.02, "rmsea_ci_low": 0.01,
       "rmsea_ci_high": 0.03, "srmr": 0.0279, "n": 500, "baseline_chi2": 5000.0, "baseline_df": 300}
MLR = {**FIT, "estimator": "MLR", "missing": "listwise", "chi2_scaled": 280.37, "pvalue_scaled": 0.18,
       "scaling_factor": 1.07, "cfi_robust": 0.991, "tli_robust": 0.989, "rmsea_robust": 0.021,
       "rmsea_ci_low_robust": 0.008, "rmsea_ci_high_robust": 0.029, "test": "yuan.bentler.mplus",
       "se": "robust.huber.white"}


def test_mlr_fit_table_judges_the_scaled_test_and_the_robust_indices() -> None:
    """Under MLR the judged rows carry the scaled chi-square and the robust CFI/TLI/RMSEA (as the CFA checks);
    the standard ML values and the scaling factor are listed below them."""
    table = with_unjudged_rows(fit_table(judged_view(MLR), "SEM" + estimator_label(MLR), {}), MLR)
    rows = {r["cells"][0]["text"]: r["cells"] for r in table["rows"]}
    text = {label: cells[1]["text"] for label, cells in rows.items()}
    assert table["caption"] == "SEM (MLR)"
    assert text["\u03c7\u00b2(260)"] == "280.37, p = .180"
    assert text["CFI"] == "0.991" and text["TLI"] == "0.989"
    assert text["RMSEA [90% CI]"].startswith("0.021 ")
    # judged on the robust value: a cut-off of .9905 lies between the standard .990 and the robust .991
    between = {"cfi": Cutoff("ge", 0.9905, "test")}
    cfi_row = next(r for r in fit_table(judged_view(MLR), "SEM", between)["rows"] if r["cells"][0]["text"] == "CFI")
    assert cfi_row["cells"][3]["text"].endswith(" pass")
    cfi_ml = next(r for r in fit_table(FIT, "SEM", between)["rows"] if r["cells"][0]["text"] == "CFI")
    assert cfi_ml["cells"][3]["text"].endswith(" fail")
    assert text["Standard ML \u03c7\u00b2(260)"] == "300.00, p = .040"
    assert text["Scaling factor c (scaled \u03c7\u00b2 = \u03c7\u00b2/c)"] == "1.070"
    assert text["CFI / TLI (standard)"] == "0.990 / 0.990"
    assert "Yuan-Bentler scaled chi-square (Mplus variant), scaling factor 1.070" in table["note"]
    assert "robust (Huber-White sandwich)" in table["note"]
    assert "judged against the cut-offs; the standard ML values are listed below them" in table["note"]


def test_ml_fit_table_has_no_robust_rows_and_says_ml() -> None:
    table = fit_table({**FIT, "estimator": "ML", "missing": "listwise"}, "SEM", {})
    assert not any("robust" in r["cells"][0]["text"] for r in table["rows"])
    assert table["note"].startswith("Estimator: maximum likelihood (ML); test statistic: the likelihood-ratio "
                                    "chi-square; standard errors: from the expected information.")


def test_labels_combine_estimator_and_fiml() -> None:
    assert estimator_label({"estimator": "MLR", "missing": "fiml"}) == " (MLR, FIML)"
    assert estimator_label({"estimator": "FIML"}) == " (ML, FIML)"  # files written before issue 13
    assert estimator_label({}) == ""
    assert "lavaan's MLR with missing = \"ml\"" in estimator_text({**MLR, "missing": "fiml"})
    assert "observed information" in estimator_text({"estimator": "ML", "missing": "fiml"})


def test_paths_note_says_the_ses_are_robust_under_mlr() -> None:
    paths = pd.DataFrame([{"lhs": "SN", "op": "~", "rhs": "IS", "est": 0.15, "se": 0.06, "z": 2.5, "pvalue": 0.012,
                           "std_all": 0.15, "ci_low": 0.03, "ci_high": 0.27, "estimator": "MLR"}])
    assert "robust (Huber-White sandwich)" in paths_table(paths, MLR)["note"]
    assert "robust" not in paths_table(paths, {"estimator": "ML"})["note"]
