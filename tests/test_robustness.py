"""The robustness stage (issue 16): grid, full mediation, BC intervals, labels, sentences, nested tests, gather."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.robustness import (
    NO_MISSING,
    Specification,
    bc_interval,
    claim_sentence,
    full_mediation_paths,
    full_mediation_study,
    robustness_label,
    specification_grid,
    summarise,
)
from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.errors import SpecError
from xhs_sharing.pipeline.robustness import gather, nested_tests, run_specification
from xhs_sharing.pipeline.structural import fit_model, fit_summary
from xhs_sharing.report.speccurve import choice_rows, specification_curve
from xhs_sharing.sem.difftest import chi2_difference, satorra_bentler_2001
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.syntax import structural_syntax

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "reference" / "fixtures"
STUDY = load_study(ROOT / "config" / "study.yaml")


# ---- the grid -----------------------------------------------------------------------------------------------------

def test_the_default_grid_leaves_out_fiml_without_a_likelihood_and_on_complete_data():
    run, excluded = specification_grid(["ML", "MLR", "WLSMV"], ["listwise", "fiml"], ["as_specified", "full_mediation"])
    assert [s.name for s in run] == ["ML-listwise-as_specified", "ML-listwise-full_mediation", "ML-fiml-as_specified",
                                     "ML-fiml-full_mediation", "MLR-listwise-as_specified",
                                     "MLR-listwise-full_mediation", "MLR-fiml-as_specified", "MLR-fiml-full_mediation",
                                     "WLSMV-listwise-as_specified", "WLSMV-listwise-full_mediation"]
    assert [(e.specification.name, e.reason.split(" has")[0]) for e in excluded] == [
        ("WLSMV-fiml-as_specified", "WLSMV"), ("WLSMV-fiml-full_mediation", "WLSMV")]
    run, excluded = specification_grid(["ML", "WLSMV"], ["listwise", "fiml"], ["as_specified"], complete_data=True)
    assert [s.name for s in run] == ["ML-listwise-as_specified", "WLSMV-listwise-as_specified"]
    assert [e.reason == NO_MISSING for e in excluded] == [True, False]


def test_a_specification_name_round_trips_and_a_bad_value_is_named():
    spec = Specification("WLSMV", "listwise", "full_mediation")
    assert Specification.from_name(spec.name) == spec
    assert spec.describe() == "WLSMV, listwise deletion, full mediation"
    with pytest.raises(SpecError, match=r"robustness.models: unknown value\(s\) \['partial'\]"):
        specification_grid(["ML"], ["listwise"], ["partial"])
    with pytest.raises(SpecError, match="estimator-missing-model"):
        Specification.from_name("ML-listwise")


def test_full_mediation_removes_the_direct_paths_of_the_mediated_effects_only():
    assert full_mediation_paths(STUDY) == [("IS", "WSI"), ("ES", "WSI"), ("PR", "WSI"), ("PA", "WSI")]
    syntax = structural_syntax(full_mediation_study(STUDY))
    assert "WSI ~ SN + CN + PC\n" in syntax + "\n"
    assert "WSI ~ SN + CN + PC + IS + ES + PR + PA" in structural_syntax(STUDY)


# ---- intervals, labels, sentences ---------------------------------------------------------------------------------

def test_bc_interval_known_answers():
    draws = np.array([[1.0], [2.0], [3.0], [4.0]])
    # the estimate splits the draws in half: z0 = 0 and the BC interval is the percentile interval
    lo, hi = bc_interval(draws, np.array([2.5]))
    assert lo[0] == pytest.approx(1.075, abs=1e-12) and hi[0] == pytest.approx(3.925, abs=1e-12)
    # 3 of 4 draws below: z0 = Phi^-1(.75) = 0.6744897501960817, probabilities Phi(2 z0 -+ 1.959964) =
    # .27060493 and .99953176, quantiles (type 7) 1 + 3 p
    lo, hi = bc_interval(draws, np.array([3.5]))
    assert lo[0] == pytest.approx(1.81181478, abs=1e-8) and hi[0] == pytest.approx(3.99859527, abs=1e-8)
    # an estimate outside every draw has no bias correction
    lo, hi = bc_interval(draws, np.array([9.0]))
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_labels_and_sentences():
    assert [robustness_label(k, 4) for k in (4, 2, 0)] == ["robust", "fragile", "contradicted"]
    grid = pd.DataFrame([dict(estimator=e, missing="listwise", model=m, interval=i, reproduced=True)
                         for e in ("ML", "MLR", "WLSMV", "PLSc") for m in ("as_specified", "full_mediation")
                         for i in ("percentile", "bc", "monte_carlo")])
    assert claim_sentence(grid) == "holds under all 24 analyses"
    fails = (grid["estimator"] == "WLSMV") & (grid["model"] == "full_mediation") & (grid["interval"] != "bc")
    grid.loc[fails, "reproduced"] = False
    assert claim_sentence(grid) == "holds under 22 of 24 analyses; fails only under WLSMV with full mediation"
    grid["reproduced"] = grid["estimator"] == "ML"
    assert claim_sentence(grid) == "holds under 6 of 24 analyses; holds only under ML"
    grid["reproduced"] = False
    assert claim_sentence(grid) == "holds under none of the 24 analyses"


# ---- nested tests, pinned to lavaan's lavTestLRT ------------------------------------------------------------------

@pytest.fixture(scope="module")
def lrt() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "robustness_lrt.csv").set_index("estimator")


def test_difference_tests_equal_lavtestlrt_on_lavaans_own_statistics(lrt):
    ml = lrt.loc["ML"]
    got = chi2_difference(ml.chi2_full, ml.df_full, ml.chi2_partial, ml.df_partial)
    assert (got.chi2, got.df) == (pytest.approx(ml.chi2_diff, abs=1e-9), ml.df_diff)
    assert got.pvalue == pytest.approx(ml.pvalue, rel=1e-9)
    mlr = lrt.loc["MLR"]
    got = satorra_bentler_2001(mlr.chi2_full, mlr.df_full, mlr.scaling_full, mlr.chi2_partial, mlr.df_partial,
                               mlr.scaling_partial)
    assert got.chi2 == pytest.approx(mlr.chi2_diff, rel=1e-10)
    assert got.pvalue == pytest.approx(mlr.pvalue, rel=1e-9)
    # the naive difference of the scaled statistics is not the test (a check able to fail)
    naive = mlr.chi2_full / mlr.scaling_full - mlr.chi2_partial / mlr.scaling_partial
    assert abs(naive - mlr.chi2_diff) > 0.01


def test_a_negative_scaling_of_the_difference_gives_no_test():
    got = satorra_bentler_2001(100.0, 10, 0.5, 90.0, 8, 1.0)  # cd = (5 - 8) / 2 < 0
    assert np.isnan(got.pvalue) and "not positive" in got.note
    with pytest.raises(SpecError, match="more degrees of freedom"):
        chi2_difference(1.0, 4, 2.0, 4)


@pytest.mark.parametrize("estimator", ["ML", "MLR"])
def test_full_against_partial_mediation_equals_lavaan_on_the_default_survey(lrt, estimator):
    items = read_analysis_table(ROOT / "tests" / "reference" / "data" / "default_items.csv")
    docs = []
    for model, study in (("as_specified", STUDY), ("full_mediation", full_mediation_study(STUDY))):
        _, fit = fit_model(items, study, "listwise", estimator)
        fitdoc = fit_summary(fit, items, "listwise")
        docs.append({"specification": {"estimator": estimator, "missing": "listwise", "model": model},
                     "status": "run", "removed_paths": ["IS->WSI"],
                     "fit": {k: fitdoc.get(k) for k in ("chi2", "df", "scaling_factor")}})
    row = nested_tests(docs).iloc[0]
    ref = lrt.loc[estimator]
    assert row["method"] == ref.method and row["df_diff"] == 4
    # ML: exact to the optimizer; MLR: the scaling factors agree with lavaan to ~2e-8, which
    # (df0 c0 - df1 c1) / 4 amplifies to ~1e-6 relative
    assert row["chi2_diff"] == pytest.approx(ref.chi2_diff, rel=1e-7 if estimator == "ML" else 5e-6)
    assert row["pvalue"] == pytest.approx(ref.pvalue, rel=1e-5)


# ---- one specification, the gather, the curve ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def docs() -> list[dict]:
    items = read_analysis_table(ROOT / "tests" / "reference" / "data" / "default_items.csv")
    settings = {"bootstrap": 100, "chunk_size": 50, "engine": "batched", "mc_draws": 2000}
    out = []
    for model in ("as_specified", "full_mediation"):
        out.append(run_specification(items, STUDY, Specification("ML", "listwise", model), boot_seed=1, mc_seed=2,
                                     settings=settings, intervals=["percentile", "bc", "monte_carlo"]))
    out.append(run_specification(items, STUDY, Specification("ML", "fiml", "as_specified"), boot_seed=1, mc_seed=2,
                                 settings=settings, intervals=["percentile"]))
    return out


def test_a_specification_judges_paths_once_and_indirect_claims_per_interval(docs):
    doc = docs[0]
    assert doc["status"] == "run" and doc["n"] == 500 and doc["removed_paths"] == []
    kinds = pd.DataFrame(doc["rows"]).groupby("kind")["interval"].agg(lambda s: sorted(set(s)))
    assert kinds["path"] == ["wald"] and kinds["indirect"] == ["bc", "monte_carlo", "percentile"]
    assert len(doc["rows"]) == 11 + 8 * 3
    assert docs[1]["removed_paths"] == ["IS->WSI", "ES->WSI", "PR->WSI", "PA->WSI"]
    assert docs[1]["fit"]["df"] == docs[0]["fit"]["df"] + 4
    assert docs[2]["status"] == "not_applicable" and docs[2]["reason"] == NO_MISSING


def test_gather_marks_the_main_specification_and_lists_what_did_not_run(docs):
    excluded = [dict(estimator="WLSMV", missing="fiml", model="as_specified", status="excluded", reason="no FIML")]
    out = gather(docs, excluded, STUDY, estimator="ML", missing="listwise")
    specs = out["specifications"]
    main = specs[specs["main"]]
    assert len(main) == 19 and set(main["model"]) == {"as_specified"} and set(main["interval"]) == {"wald", "percentile"}
    summary = out["summary"].set_index("claim")
    assert summary.loc["IS->SN", "specifications"] == 2 and summary.loc["IS->SN->WSI", "specifications"] == 6
    assert list(out["excluded"]["status"]) == ["excluded", "not_applicable"]
    nested = out["nested"]
    assert len(nested) == 1 and nested.iloc[0]["method"] == "standard"


def test_summarise_labels_a_claim_fragile_when_one_specification_fails():
    rows = pd.DataFrame([dict(claim="A", estimator=e, missing="listwise", model="as_specified", interval="wald",
                              reproduced=e != "WLSMV", verdict="reproduced", main=e == "ML", status="run")
                         for e in ("ML", "MLR", "WLSMV")])
    s = summarise(rows, ["A"]).iloc[0]
    assert (s["label"], s["reproduced"], s["specifications"]) == ("fragile", 2, 3)
    assert s["sentence"] == "holds under 2 of 3 analyses; fails only under WLSMV"


def test_the_specification_curve_shows_every_specification_and_its_choices(docs):
    specs = gather(docs, [], STUDY, estimator="ML", missing="listwise")["specifications"]
    mine = specs[specs["claim"] == "IS->SN->WSI"]
    assert [label for _, _, label in choice_rows(mine)] == [
        "as specified", "full mediation", "percentile bootstrap", "bias-corrected bootstrap", "Monte Carlo"]
    svg = specification_curve(mine, "IS->SN->WSI", "fig-t")
    assert svg.startswith("<svg") and "<title>Specification curve of claim IS-&gt;SN-&gt;WSI: holds in 6 of 6" in svg


def test_the_wlsmv_difference_test_equals_lavaans_satorra_2000(lrt):
    """lavTestLRT(partial, full) under WLSMV: scaled-shifted, A by the delta method (8.618867 on 4 df)."""
    from xhs_sharing.pipeline.robustness import wlsmv_difference_traces

    items = read_analysis_table(ROOT / "tests" / "reference" / "data" / "default_items.csv")
    _, partial = fit_model(items, STUDY, "listwise", "WLSMV")
    _, full = fit_model(items, full_mediation_study(STUDY), "listwise", "WLSMV")
    traces = wlsmv_difference_traces(partial, full)
    docs = [{"specification": {"estimator": "WLSMV", "missing": "listwise", "model": model}, "status": "run",
             "removed_paths": ["IS->WSI"], "fit": {"chi2": f.wlsmv.test.chisq, "df": f.wlsmv.test.df, **extra}}
            for model, f, extra in (("as_specified", partial, {}), ("full_mediation", full, traces))]
    row = nested_tests(docs).iloc[0]
    ref = lrt.loc["WLSMV"]
    assert row["method"] == ref.method and row["df_diff"] == 4
    assert row["chi2_diff"] == pytest.approx(ref.chi2_diff, rel=1e-6)
    assert row["pvalue"] == pytest.approx(ref.pvalue, rel=1e-5)
    # selecting the four fixed paths instead of lavaan's delta-method A gives 9.105: the test can tell them apart
    assert abs(row["chi2_diff"] - 9.105) > 0.4


def test_the_report_section_reads_the_tables_and_draws_a_curve_per_claim(docs):
    from xhs_sharing.report.sections.robustness import robustness_section

    out = gather(docs, [dict(estimator="WLSMV", missing="fiml", model="as_specified", status="excluded",
                             reason="WLSMV has no full-information likelihood")], STUDY, estimator="ML",
                 missing="listwise")
    view = robustness_section({f"robustness_{k}": v for k, v in out.items()}, STUDY)
    assert view["headline"] == ("Across 2 specifications (estimator, missing answers, structural model), "
                                f"{view['counts']['robust']} of 19 claims are robust, {view['counts']['fragile']} "
                                f"fragile and {view['counts']['contradicted']} contradicted.")
    assert sum(view["counts"].values()) == 19 and len(view["curves"]) == 19
    assert view["nested"]["note"].startswith("Full mediation fixes at 0 the direct paths IS \u2192 WSI, ")
    assert [c["text"] for c in view["excluded"]["rows"][0]["cells"][:4]] == ["WLSMV", "FIML", "as specified",
                                                                            "excluded"]
    assert robustness_section(None, STUDY) is None


def test_a_survey_with_missing_answers_runs_fiml_on_every_row_and_listwise_on_the_complete_ones():
    """skewed_items.csv: 8.6% of answers missing, 61 complete rows of 500 (tests/reference/make_data.py)."""
    items = read_analysis_table(ROOT / "tests" / "reference" / "data" / "skewed_items.csv")
    settings = {"bootstrap": 50, "chunk_size": 50, "engine": "batched", "mc_draws": 500}
    fiml = run_specification(items, STUDY, Specification("ML", "fiml", "as_specified"), boot_seed=1, mc_seed=2,
                             settings=settings, intervals=["percentile"])
    assert fiml["status"] == "run" and fiml["n"] == 500 and fiml["fit"]["missing"] == "fiml"
    listwise_rows = int((~items[list(STUDY.item_ids)].isna().any(axis=1)).sum())
    assert listwise_rows == 61
    from xhs_sharing.pipeline.robustness import specification_items
    assert len(specification_items(items, Specification("ML", "listwise", "as_specified"), STUDY.item_ids)) == 61
