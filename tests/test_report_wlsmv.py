"""The report under WLSMV: scaled fit rows judged, standard ones shown, the methods sentence, the category table."""

from __future__ import annotations

import pandas as pd

from xhs_sharing.report.judged import WLSMV_METHODS, judged_view, with_unjudged_rows
from xhs_sharing.report.sections.measurement import category_counts_table
from xhs_sharing.report.tables import fit_table
from xhs_sharing.study.cutoffs import Cutoff

FIT = {"estimator": "WLSMV", "missing": "listwise", "chi2": 123.12, "df": 250, "pvalue": 1.0, "chi2_scaled": 236.57,
       "pvalue_scaled": 0.7197, "scaling_factor": 0.830, "shift": 88.27, "cfi": 1.0, "tli": 1.0079,
       "cfi_scaled": 0.94, "tli_scaled": 0.93, "rmsea": 0.0, "rmsea_scaled": 0.07, "rmsea_ci_low": 0.0,
       "rmsea_ci_high": 0.0, "rmsea_ci_low_scaled": 0.05, "rmsea_ci_high_scaled": 0.09, "srmr": 0.027, "n": 500,
       "baseline_chi2": 19554.9, "baseline_chi2_scaled": 8606.7, "baseline_df": 300, "test": "scaled.shifted",
       "se": "robust.sem"}
CUTOFFS = {"cfi": Cutoff("ge", 0.95, ""), "rmsea": Cutoff("le", 0.06, "")}


def _rows(table):
    return {r["cells"][0]["text"]: r["cells"][1]["text"] for r in table["rows"]}


def test_the_judged_rows_are_the_scaled_ones_and_the_standard_ones_follow():
    table = with_unjudged_rows(fit_table(judged_view(FIT), "Fit (WLSMV)", CUTOFFS), FIT)
    rows = _rows(table)
    assert rows["\u03c7\u00b2(250)"].startswith("236.57") and rows["CFI"] == "0.940"
    assert rows["RMSEA [90% CI]"] == "0.070 [0.050, 0.090]"
    assert rows["Standard DWLS \u03c7\u00b2(250)"].startswith("123.12") and rows["CFI / TLI (standard)"] == "1.000 / 1.008"
    assert table["problems"] == ["CFI: \u2717 fail", "RMSEA [90% CI]: \u2717 fail"]  # scaled 0.94 < .95, 0.07 > .06
    assert table["note"].startswith("Estimator: " + WLSMV_METHODS)
    assert "WLSMV: DWLS estimates on polychoric correlations, robust SEs, mean-and-variance adjusted " \
           "(scaled-shifted) test; listwise deletion" in table["note"]


def test_other_estimators_are_left_alone():
    ml = {k: v for k, v in FIT.items() if not k.endswith("_scaled")} | {"estimator": "ML"}
    assert judged_view(ml) == ml
    table = fit_table(ml, "Fit (ML)", CUTOFFS)
    assert with_unjudged_rows(table, ml) is table
    desc = pd.DataFrame({"construct": ["A"], "item": ["a1"], "n": [10], "p1": [0.3], "p2": [0.7], "p3": [0.0]})
    assert category_counts_table(desc, {"estimator": "ML"}) is None


def test_category_table_counts_categories_and_thresholds():
    desc = pd.DataFrame({"construct": ["A", "A"], "item": ["a1", "a2"], "n": [10, 10], "p1": [0.3, 0.1],
                         "p2": [0.7, 0.2], "p3": [0.0, 0.7]})
    table = category_counts_table(desc, {"estimator": "WLSMV"})
    cells = [[c["text"] for c in r["cells"]] for r in table["rows"]]
    assert cells == [["A", "a1", "10", "3", "7", "0", "2", "1"], ["A", "a2", "10", "1", "2", "7", "3", "2"]]


def test_the_bootstrap_text_counts_the_merged_categories():
    from xhs_sharing.report.judged import categories_text

    boot = {"requested": 5000, "categories": {"resamples_with_merged_categories": 770, "merge_events": 844,
                                              "degenerate_resamples": 0, "n_unused_scale_points": 2}}
    text = categories_text(boot)
    assert "In 770 of 5000 resamples a category of the survey was not drawn (844 item-resample pairs)" in text
    assert "0 resamples left an item with a single category (failed)" in text
    assert "2 scale points were unused in the survey" in text
    assert categories_text({"requested": 5000}) == ""
