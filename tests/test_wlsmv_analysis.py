"""WLSMV through the analysis layer (xhs_sharing.analysis.ordinal) against lavaan 0.6-14 and semTools.

Fixtures: tests/reference/lavaan_wlsmv.R (estimates, tests, fit measures of
the structural model) and tests/reference/lavaan_wlsmv_analysis.R
(standardizedSolution, RMSEA intervals, the CFA, semTools' htmt(ordered =)
and compRelSEM), on the default survey and the skewed survey with missing
answers (61 complete rows). Tolerances of issue 13: estimates, std.all and
polychorics 1e-4 absolute, SEs 1% relative, test statistics 0.5% relative,
fit measures .002 absolute.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.measurement import reliability_table
from xhs_sharing.analysis.mediation import bootstrap_indirect
from xhs_sharing.analysis.ordinal import (
    DEGENERATE,
    WlsmvChunkFitter,
    category_counts,
    fit_cfa_wlsmv,
    fit_structural_wlsmv,
    htmt_polychoric,
    ordinal_items,
    resample_category_events,
)
from xhs_sharing.errors import SpecError
from xhs_sharing.sem.bootstrap import CONVERGED, chunk_indices, chunk_sizes
from xhs_sharing.sem.ordinal import batched_ordinal_statistics, ordinal_statistics
from xhs_sharing.sem.resample import counts_from_indices
from xhs_sharing.sem.wls import fit_wlsmv

REFERENCE = Path(__file__).resolve().parent / "reference"
FIX = REFERENCE / "fixtures"
SYNTAX = (REFERENCE / "data" / "structural_model.lav").read_text(encoding="utf-8")
IBC = {a.strip(): [x.strip() for x in b.split("+")]
       for a, b in (line.split("=~") for line in (REFERENCE / "data" / "cfa_model.lav").read_text().splitlines())}
TESTS = {"chi2": "chisq", "chi2_scaled": "chisq.scaled", "scaling_factor": "chisq.scaling.factor",
         "baseline_chi2": "baseline.chisq", "baseline_chi2_scaled": "baseline.chisq.scaled"}

MEASURES = {"cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "srmr": "srmr", "cfi_scaled": "cfi.scaled",
            "tli_scaled": "tli.scaled", "rmsea_scaled": "rmsea.scaled", "rmsea_ci_low": "rmsea.ci.lower",
            "rmsea_ci_high": "rmsea.ci.upper", "rmsea_ci_low_scaled": "rmsea.ci.lower.scaled",
            "rmsea_ci_high_scaled": "rmsea.ci.upper.scaled"}


def _items(tag: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / f"{tag}_items.csv")


def _key(lhs: str, op: str, rhs: str) -> tuple:
    return (op, frozenset((lhs, rhs))) if op == "~~" else (op, lhs, rhs)


def _rows(name: str) -> dict:
    return {_key(r.lhs, r.op, r.rhs): r for r in pd.read_csv(FIX / name).itertuples()}


def _measures(*names: str) -> pd.Series:
    return pd.concat([pd.read_csv(FIX / n).set_index("measure").value for n in names])


@pytest.fixture(scope="module", params=["default", "skewed"])
def structural(request):
    return request.param, fit_structural_wlsmv(SYNTAX, _items(request.param), scale_points=7)


@pytest.fixture(scope="module", params=["default", "skewed"])
def cfa(request):
    return request.param, fit_cfa_wlsmv(_items(request.param), IBC, scale_points=7)


@pytest.fixture(scope="module")
def default_fit():
    return fit_structural_wlsmv(SYNTAX, _items("default"), scale_points=7)


# -- the structural model -------------------------------------------------------------
def test_structural_parameters_match_lavaan(structural):
    tag, fit = structural
    ref = _rows(f"wlsmv_{tag}_estimates.csv")
    assert fit.estimator == "WLSMV" and fit.information == "robust.sem" and fit.method == "WLSMV"
    assert fit.n_obs == {"default": 500, "skewed": 61}[tag]
    n_checked = 0
    for row in fit.params.itertuples():
        lav = ref[_key(row.lhs, row.op, row.rhs)]
        assert row.est == pytest.approx(lav.est, abs=1e-4), (row.lhs, row.op, row.rhs)
        if lav.se > 0:
            assert row.se == pytest.approx(lav.se, rel=0.01), (row.lhs, row.op, row.rhs)
            n_checked += 1
        else:  # residual variances of the delta parameterization: fixed, as lavaan shows them
            assert np.isnan(row.se) or row.se == 0.0
    npar = _measures(f"wlsmv_{tag}_fit.csv")["npar"]
    assert n_checked == npar == {"default": 200, "skewed": 166}[tag]  # every free parameter, thresholds too
    assert (fit.params["op"] == "|").sum() == len(fit.ordinal.threshold_names)


def test_std_paths_and_their_delta_method_ses_match_standardized_solution(structural):
    tag, fit = structural
    ref = _rows(f"wlsmv_{tag}_std.csv")
    for row in fit.std_paths.itertuples():
        lav = ref[_key(row.lhs, "~", row.rhs)]
        assert row.std_all == pytest.approx(lav.est_std, abs=1e-4)
        assert row.se == pytest.approx(lav.se, rel=0.01)
    for row in fit.params[fit.params["op"] == "=~"].itertuples():
        assert row.std_all == pytest.approx(ref[_key(row.lhs, "=~", row.rhs)].est_std, abs=1e-4)
    # the latent responses have unit variance: the implied matrix is a correlation matrix
    np.testing.assert_allclose(np.diag(fit.structure.implied_covariance(fit.theta)), 1.0, atol=1e-12)


def test_structural_tests_and_fit_measures_match_lavaan(structural):
    tag, fit = structural
    ref = _measures(f"wlsmv_{tag}_fit.csv", f"wlsmv_{tag}_fit_ci.csv")
    m = fit.measures
    assert m["df"] == fit.df == 250 and m["n"] == fit.n_obs
    assert fit.chi2 == pytest.approx(ref["chisq"], rel=0.005)
    for mine, lav in TESTS.items():
        assert m[mine] == pytest.approx(ref[lav], rel=0.005), mine
    for mine, lav in MEASURES.items():
        assert m[mine] == pytest.approx(ref[lav], abs=0.002), mine
    assert m["shift"] == pytest.approx(ref["chisq.shift.parameters"], rel=0.005)
    assert m["test"] == "scaled.shifted" and m["se"] == "robust.sem"


def test_fewer_complete_rows_than_free_parameters_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="xhs_sharing.analysis.ordinal"):
        fit_structural_wlsmv(SYNTAX, _items("skewed"), scale_points=7)
    assert "listwise deletion leaves 61 respondents, fewer than the 166 free parameters (116 thresholds included)" in caplog.text


def test_missing_answers_under_fiml_are_refused_with_the_reason(default_fit):
    with pytest.raises(SpecError, match="WLSMV uses listwise deletion.*439 respondents have missing answers"
                                        ".*pairwise deletion under WLSMV is a later option"):
        fit_structural_wlsmv(SYNTAX, _items("skewed"), missing="fiml")
    # complete data: fiml and listwise are the same fit
    same = fit_structural_wlsmv(SYNTAX, _items("default"), missing="fiml", scale_points=7)
    np.testing.assert_array_equal(same.theta, default_fit.theta)


# -- the measurement model ------------------------------------------------------------
def test_cfa_loadings_match_lavaan(cfa):
    tag, res = cfa
    ref = _rows(f"wlsmv_cfa_{tag}_estimates.csv")
    assert res.estimator == "WLSMV" and res.fit["estimator"] == "WLSMV" and res.fit["missing"] == "listwise"
    for row in res.loadings.itertuples():
        lav = ref[_key(row.construct, "=~", row.item)]
        assert row.est == pytest.approx(lav.est, abs=1e-4)
        assert row.std_all == pytest.approx(lav.std_all, abs=1e-4)
        assert row.resid_var == pytest.approx(ref[_key(row.item, "~~", row.item)].est, abs=1e-4)
        if lav.se > 0:
            assert row.se == pytest.approx(lav.se, rel=0.01)
        else:
            assert np.isnan(row.se)
    lat = res.latent_corr
    assert lat.loc["IS", "ES"] == pytest.approx(ref[_key("IS", "~~", "ES")].std_all, abs=1e-4)


def test_cfa_fit_measures_match_lavaan(cfa):
    tag, res = cfa
    ref = _measures(f"wlsmv_cfa_{tag}_fit.csv")
    assert res.fit["df"] == ref["df"] == 247
    for mine, lav in TESTS.items():
        assert res.fit[mine] == pytest.approx(ref[lav], rel=0.005), mine
    for mine, lav in MEASURES.items():
        assert res.fit[mine] == pytest.approx(ref[lav], abs=0.002), mine


def test_htmt_on_polychorics_matches_semtools(structural):
    tag, fit = structural
    ref = pd.read_csv(FIX / f"wlsmv_cfa_{tag}_htmt.csv").set_index("construct")
    mine = htmt_polychoric(fit.wlsmv, IBC)
    np.testing.assert_allclose(mine.loc[ref.index, ref.columns].to_numpy(), ref.to_numpy(), atol=1e-4)


def test_reliability_on_the_latent_response_scale_matches_semtools(cfa):
    tag, res = cfa
    ref = pd.read_csv(FIX / f"wlsmv_cfa_{tag}_compRel.csv").set_index("construct")
    rel = reliability_table(_items(tag).dropna(), IBC, res.loadings, cfa=res).set_index("construct")
    np.testing.assert_allclose(rel.loc[ref.index, "cr_semtools"], ref["cr"], atol=1e-4)
    np.testing.assert_allclose(rel.loc[ref.index, "ave_semtools"], ref["ave"], atol=1e-4)
    # AVE from standardized loadings is semTools' AVE for ordinal items (both on the latent responses)
    np.testing.assert_allclose(rel.loc[ref.index, "ave"], ref["ave"], atol=1e-4)


# -- categories ------------------------------------------------------------------------
def test_category_counts_are_the_margins_of_the_complete_rows():
    frame = pd.DataFrame({"a": [1, 2, 2, 3, np.nan, 3], "b": [1, 1, 3, 3, 2, 3]})
    table = category_counts(frame, ["a", "b"], 4).set_index("item")
    assert table.loc["a"].to_dict() == {"n": 5, "c1": 1, "c2": 2, "c3": 2, "c4": 0, "categories": 3}
    assert table.loc["b"].to_dict() == {"n": 5, "c1": 2, "c2": 0, "c3": 3, "c4": 0, "categories": 2}
    data = ordinal_items(frame, ["a", "b"], scale_points=4)
    assert data.unused == ((4.0,), (2.0, 4.0)) and data.n_unused_categories == 3 and data.n_listwise_deleted == 1


# -- the bootstrap ---------------------------------------------------------------------
def test_chunk_fitter_refits_equal_one_resample_fitted_alone(default_fit):
    fit = default_fit
    x = _items("default")[list(fit.structure.observed)].to_numpy(float)
    indices = chunk_indices(np.random.SeedSequence(5), 6, fit.n_obs)
    thetas, status = WlsmvChunkFitter(fit)(fit.structure, x, indices, fit.theta)
    assert status == [CONVERGED] * 6
    counts = counts_from_indices(indices, fit.n_obs)
    one = fit_wlsmv(fit.model, ordinal_statistics(fit.ordinal, counts[2]), fit.ordinal.threshold_names, start=fit.wlsmv.x)
    np.testing.assert_allclose(thetas[2][fit.model.free], one.x, atol=1e-8)
    np.testing.assert_allclose(np.diag(fit.structure.implied_covariance(thetas[2])), 1.0, atol=1e-12)


def test_bootstrap_indirect_uses_wlsmv_refits_and_category_events_are_counted(default_fit):
    fit = default_fit
    data = _items("default").drop(columns="respondent_id")
    chains = [("PR", "CN", "WSI"), ("PR", "SN", "WSI")]
    boot = bootstrap_indirect(data, SYNTAX, chains, 40, 7, chunk_size=20, full_fit=fit,
                              chunk_fitter=WlsmvChunkFitter(fit))
    assert boot.requested == boot.converged == 40 and boot.failures == {}
    assert boot.est[0] == pytest.approx(fit.path("CN", "PR").est * fit.path("WSI", "CN").est)
    events = resample_category_events(fit.ordinal, n_resamples=40, seed=7, chunk_size=20)
    # the replay sees exactly the merges of the refits' own resamples
    streams = np.random.SeedSequence(7).spawn(2)
    counts = np.vstack([counts_from_indices(chunk_indices(s, b, fit.n_obs), fit.n_obs)
                        for s, b in zip(streams, chunk_sizes(40, 20), strict=True)])
    empty = batched_ordinal_statistics(fit.ordinal, counts, fit.wlsmv.stats).empty_categories
    assert events["merge_events"] == int((empty > 0).sum()) > 0
    assert events["resamples_with_merged_categories"] == int((empty > 0).any(axis=1).sum())
    assert events["merged_categories"] == int(empty.sum()) and events["degenerate_resamples"] == 0
    assert sum(events["by_item"].values()) == events["merge_events"]


def test_resamples_with_an_item_left_in_one_category_fail_and_are_counted():
    data = _items("default").drop(columns="respondent_id")
    data["sn3"] = np.where(np.arange(len(data)) < 2, 2, 1)  # two respondents in the upper category
    fit = fit_structural_wlsmv(SYNTAX, data, scale_points=7)
    x = data[list(fit.structure.observed)].to_numpy(float)
    fitter = WlsmvChunkFitter(fit)
    status = []
    for s, b in zip(np.random.SeedSequence(3).spawn(2), chunk_sizes(40, 20), strict=True):
        status += fitter(fit.structure, x, chunk_indices(s, b, fit.n_obs), fit.theta)[1]
    events = resample_category_events(fit.ordinal, n_resamples=40, seed=3, chunk_size=20)
    assert events["degenerate_resamples"] == status.count(DEGENERATE) > 0
    assert events["unused_scale_points"]["sn3"] == [3, 4, 5, 6, 7]
