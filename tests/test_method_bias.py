"""Tests of xhs_sharing.analysis.method_bias and its report section (issue 17, point 15).

Known answers: ``tests/reference/fixtures/issue17_cmb_*.csv`` and
``issue17_harman.csv``, written by ``tests/reference/lavaan_issue17_cmb.R``
(lavaan 0.6-14; R's prcomp and factanal) on the default survey.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from xhs_sharing.analysis.method_bias import (
    HARMAN_CUTOFF,
    MethodBiasFits,
    chi2_difference,
    fit_method_bias_models,
    harman_test,
    method_bias_summary,
    method_factor_syntax,
    one_factor_syntax,
)
from xhs_sharing.errors import DataError, SpecError
from xhs_sharing.pipeline.method_bias import run_method_bias
from xhs_sharing.report.sections.method_bias import claims_text, method_bias_view
from xhs_sharing.results import check_document, check_table
from xhs_sharing.study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"


def _measures(name: str) -> dict[str, float]:
    frame = pd.read_csv(REF / "fixtures" / name)
    return dict(zip(frame["measure"], frame["value"].astype(float), strict=True))


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "default_items.csv").drop(columns="respondent_id")


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "study.yaml")


@pytest.fixture(scope="module")
def fits(items: pd.DataFrame, study) -> MethodBiasFits:
    with threadpool_limits(limits=1):  # as the pipeline runs it; many BLAS threads are slower here
        return fit_method_bias_models(items, study)


@pytest.fixture(scope="module")
def summary(items: pd.DataFrame, study, fits: MethodBiasFits) -> tuple[dict, pd.DataFrame]:
    return method_bias_summary(items, study, fits, seed=20261127, n_draws=2000)


def test_harman_matches_prcomp_and_factanal(items: pd.DataFrame, study, fits: MethodBiasFits) -> None:
    ref = _measures("issue17_harman.csv")
    h = harman_test(items, study.item_ids, fits.one_factor)
    assert h.first_share == pytest.approx(ref["pca_first_share"], abs=1e-12)  # 0.2619
    assert h.first_eigenvalue == pytest.approx(ref["pca_first_eigenvalue"], abs=1e-10)
    assert h.n_above_one == ref["pca_n_eigen_above_1"] == 7
    assert h.factor_share == pytest.approx(ref["fa_ml_first_share"], abs=1e-5)  # 0.2314
    assert (h.n_items, h.n, h.below_cutoff, HARMAN_CUTOFF) == (25, 500, True, 0.5)
    assert np.isnan(harman_test(items, study.item_ids).factor_share)


def test_harman_refuses_missing_items_and_too_few_rows(items: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"lacks item column\(s\) \['zz1'\]"):
        harman_test(items, ["is1", "zz1"])
    with pytest.raises(DataError, match="needs more complete rows than items: 3 rows, 25 items"):
        harman_test(items.head(3), list(items.columns))


def test_one_factor_cfa_and_chi2_difference_match_lavaan(items: pd.DataFrame, fits: MethodBiasFits) -> None:
    ref = _measures("issue17_cmb_fit.csv")
    one = fits.one_factor
    assert (one.df, one.structure.n_params) == (ref["one_factor.df"], ref["one_factor.npar"]) == (275, 50)
    assert one.chi2 == pytest.approx(ref["one_factor.chisq"], rel=1e-7)  # 3152.97
    assert (fits.cfa.df, fits.cfa.chi2) == (247, pytest.approx(ref["cfa.chisq"], rel=1e-7))
    diff = chi2_difference(fits.one_factor, fits.cfa)
    assert diff["df"] == ref["diff.df"] == 28
    assert diff["chi2"] == pytest.approx(ref["diff.chisq"], rel=1e-6)
    assert diff["pvalue"] == pytest.approx(ref["diff.pvalue"], abs=1e-12)
    with pytest.raises(SpecError, match="must have more degrees of freedom"):
        chi2_difference(fits.cfa, fits.one_factor)


def test_one_factor_fit_indices_match_lavaan(summary: tuple[dict, pd.DataFrame]) -> None:
    ref = _measures("issue17_cmb_fit.csv")
    one = summary[0]["one_factor"]
    for key, rkey in (("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"), ("srmr", "srmr")):
        assert one[key] == pytest.approx(ref[f"one_factor.{rkey}"], abs=1e-6), key


def test_method_factor_model_matches_lavaan(fits: MethodBiasFits) -> None:
    ref = pd.read_csv(REF / "fixtures" / "issue17_cmb_estimates.csv")
    fit_ref = _measures("issue17_cmb_fit.csv")
    m = fits.method
    assert m.proper and (m.df, m.structure.n_params) == (225, 100)
    assert m.chi2 == pytest.approx(fit_ref["method.chisq"], rel=1e-7)  # 200.086
    def key(lhs: str, op: str, rhs: str) -> tuple[str, ...]:
        return (*sorted((lhs, rhs)), op) if op == "~~" else (lhs, rhs, op)

    ours = {key(r["lhs"], r["op"], r["rhs"]): r for _, r in m.params.iterrows()}
    compared = 0
    for r in ref.itertuples():
        k = key(r.lhs, r.op, r.rhs)
        if k not in ours:
            assert r.op == "~~" and r.lhs != r.rhs and r.est == 0, r  # fixed zero covariances only
            continue
        row = ours[k]
        # 5e-5: the likelihood is nearly flat along the method loadings and nlminb stops about 1e-5 from
        # the optimum there (tests/reference/lavaan_issue17_cmb.R); the chi-square agrees to 1e-7
        assert row["est"] == pytest.approx(r.est, abs=5e-5), (r.lhs, r.op, r.rhs)
        assert row["std_all"] == pytest.approx(r.std_all, abs=5e-5), (r.lhs, r.op, r.rhs)
        if np.isfinite(r.se) and r.se > 0:
            assert row["se"] == pytest.approx(r.se, abs=5e-5), (r.lhs, r.op, r.rhs)
        compared += 1
    assert compared >= 100
    # the method factor is orthogonal to every construct: those covariances are fixed at 0, not estimated
    assert not any(("CMV" in (r.lhs, r.rhs)) and r.op == "~~" and r.lhs != r.rhs and r.free >= 0
                   for r in m.structure.rows)


def test_summary_liang_shares_paths_and_claims(summary: tuple[dict, pd.DataFrame], fits: MethodBiasFits) -> None:
    doc, paths = summary
    mf = doc["method_factor"]
    ref = pd.read_csv(REF / "fixtures" / "issue17_cmb_estimates.csv")
    method_std = ref[(ref["lhs"] == "CMV") & (ref["op"] == "=~")]["std_all"].to_numpy(float)
    assert mf["mean_method_variance"] == pytest.approx(np.mean(method_std**2), abs=1e-5)  # 0.0666 (flat: 5e-5 each)
    assert len(mf["loadings"]) == 25 and mf["versus_structural"]["df"] == 25
    assert mf["versus_structural"]["chi2"] == pytest.approx(243.649927091312 - 200.085910252218, abs=1e-5)
    assert len(paths) == 15
    is_sn = paths[(paths["lhs"] == "SN") & (paths["rhs"] == "IS")].iloc[0]
    lav = ref[(ref["lhs"] == "SN") & (ref["op"] == "~") & (ref["rhs"] == "IS")].iloc[0]
    assert is_sn["std_all_method"] == pytest.approx(lav["std_all"], abs=5e-5)
    assert is_sn["delta_std"] == pytest.approx(is_sn["std_all_method"] - is_sn["std_all"], abs=1e-15)
    assert bool(is_sn["significant"]) and not bool(is_sn["significant_method"]) and bool(is_sn["changed"])
    assert doc["paths_changed"] == ["SN ~ IS", "SN ~ PA"]
    by_id = {c["id"]: c for c in doc["claims"]}
    assert len(by_id) == 19
    assert (by_id["IS->SN"]["verdict"], by_id["IS->SN"]["verdict_method"]) == ("reproduced", "not_reproduced")
    assert set(doc["claims_changed"]) >= {"IS->SN", "PA->SN"}
    assert all(c["changed"] == (c["verdict"] != c["verdict_method"]) for c in doc["claims"])


def test_syntax_builders() -> None:
    assert one_factor_syntax(["a", "b"]) == "G =~ a + b\n"
    got = method_factor_syntax("F =~ a + b\nH =~ c + d\n", ["a", "b", "c", "d"], ["F", "H"])
    assert got.splitlines()[-3:] == ["CMV =~ a + b + c + d", "CMV ~~ 0*F", "CMV ~~ 0*H"]
    with pytest.raises(SpecError, match="'F' is a construct"):
        method_factor_syntax("F =~ a\n", ["a"], ["F"], name="F")
    with pytest.raises(SpecError, match="at least one item"):
        one_factor_syntax([])


def test_pipeline_outputs_meet_the_contract_and_the_report_says_what_changes(items: pd.DataFrame, study) -> None:
    with threadpool_limits(limits=1):
        out = run_method_bias(items, study, seed=7, mc_draws=500, estimator="MLR")
    check_document("method_bias", out.document)
    check_table("method_bias_paths", out.paths)
    assert out.paths.columns[-1] == "estimator" and set(out.paths["estimator"]) == {"ML"}
    assert out.document["estimator"] == "ML" and "run's estimator is MLR" in out.document["note"]
    view = method_bias_view({"method_bias": out.document, "method_bias_paths": out.paths})
    assert "first component explains 26.2% of the variance" in view["harman"]
    assert "below the conventional 50%" in view["harman"] and "insensitive" in view["harman"]
    assert "IS->SN (reproduced \u2192 not reproduced" in view["claims"]
    assert "It loads most on the items of IS and PA (mean squared standardized loading: IS 0.30; PA 0.09)" \
        in view["method"]
    assert view["paths"]["rows"][0]["cls"] == "warn"  # SN ~ IS loses its significance
    unchanged = dict(out.document, claims=[dict(c, changed=False) for c in out.document["claims"]])
    assert claims_text(unchanged).endswith("no verdict changes (19 claims).")


def test_a_method_model_that_cannot_be_estimated_is_reported_not_fatal(items: pd.DataFrame, study,
                                                                         fits: MethodBiasFits) -> None:
    failed = dataclasses.replace(fits, method=None, method_error="ML estimation did not converge in 500 iterations")
    doc, paths = method_bias_summary(items, study, failed, seed=1, n_draws=200)
    mf = doc["method_factor"]
    assert (mf["proper"], mf["error"], mf["loadings"]) == (False, failed.method_error, [])
    assert paths["std_all_method"].isna().all() and not paths["changed"].any() and len(paths) == 15
    assert {c["verdict_method"] for c in doc["claims"]} == {"not_estimated"} and doc["claims_changed"] == []
    assert doc["harman"]["first_share"] == pytest.approx(0.261943571914633, abs=1e-12)  # the other checks stand
    text = method_bias_view({"method_bias": doc, "method_bias_paths": paths})["method"]
    assert text.endswith("could not be estimated (ML estimation did not converge in 500 iterations); no path or "
                         "claim is compared with it.")
