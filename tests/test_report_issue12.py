"""The report states which CR/AVE and which SRMR it shows, and writes serial chains out (issue 12, points 11, 14, 15)."""

from __future__ import annotations

import pandas as pd

from xhs_sharing.report.sections.measurement import reliability_table
from xhs_sharing.report.sections.structural import mediation_view
from xhs_sharing.report.tables import fit_table

FIT = {"chi2": 300.0, "df": 260, "pvalue": 0.04, "cfi": 0.99, "tli": 0.99, "rmsea": 0.02, "rmsea_ci_low": 0.01,
       "rmsea_ci_high": 0.03, "srmr": 0.0279, "n": 500, "baseline_chi2": 5000.0, "baseline_df": 300}


def texts(table: dict) -> list[list[str]]:
    return [[c["text"] for c in row["cells"]] for row in table["rows"]]


def test_fiml_fit_table_names_the_srmr_variant_and_lists_the_other() -> None:
    fiml = fit_table({**FIT, "estimator": "FIML", "srmr_variant": "bentler_with_means",
                      "srmr_bentler_nomean": 0.0290}, "CFA", {})
    rows = {r[0]: r[1] for r in texts(fiml)}
    assert rows["SRMR (Bentler, with means; lavaan's default under FIML)"] == "0.028"
    assert rows["SRMR (Bentler, covariances only; lavaan's srmr_bentler_nomean)"] == "0.029"
    assert "lavaan's default for missing = \"ml\"" in fiml["note"]
    ml = fit_table({**FIT, "estimator": "ML"}, "CFA", {})
    rows = {r[0]: r[1] for r in texts(ml)}
    assert rows["SRMR"] == "0.028" and not any("nomean" in k for k in rows)
    assert "Bentler's, the covariance residuals scaled by the observed SDs (lavaan's srmr)" in ml["note"]


def test_reliability_table_shows_both_definitions_and_says_which_is_checked() -> None:
    rel = pd.DataFrame([{"construct": "A", "n_items": 4, "n": 300, "alpha": 0.58, "alpha_ci_low": 0.5,
                         "alpha_ci_high": 0.65, "cr": 0.6033, "ave": 0.2777, "sqrt_ave": 0.527,
                         "cr_semtools": 0.5845, "ave_semtools": 0.2936}])
    table = reliability_table(rel, [])
    assert [c["text"] for c in table["columns"]][-2:] == ["CR (semTools)", "AVE (semTools)"]
    assert texts(table)[0][3:] == ["0.60", "0.28", "0.53", "0.58", "0.29"]
    assert "CR and AVE (the values checked) are computed from the completely standardized loadings" in table["note"]
    assert "semTools' compRelSEM() and AVE()" in table["note"]


def test_mediation_table_writes_a_serial_chain_out() -> None:
    base = {"boot_ci_low": 0.01, "boot_ci_high": 0.1, "mc_ci_low": 0.01, "mc_ci_high": 0.1,
            "mediation_type": "indirect-only"}
    ind = pd.DataFrame([
        {"x": "X", "mediator": "M1->M2", "y": "Y", "effect": "indirect", "est": 0.0547, "se": 0.0144,
         "std_est": 0.047, "std_se": 0.012, **base},
        {"x": "X", "mediator": None, "y": "Y", "effect": "total_indirect", "est": 0.0547, "se": 0.0144,
         "std_est": 0.047, "std_se": 0.012, **base},
    ])
    view = mediation_view({"indirect": ind, "bootstrap": {"requested": 10, "converged": 10, "failed": 0}})
    rows = texts(view["table"])
    assert rows[1][:5] == ["X \u2192 M1 \u2192 M2 \u2192 Y", "indirect", "0.055", "0.014", "0.047"]
    assert [c["text"] for c in view["table"]["columns"]][3] == "SE"
    assert "the specific effects of a pair sum to its total indirect effect" in view["table"]["note"]
