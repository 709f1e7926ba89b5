"""Tests of xhs_sharing.sem.fit and of the ML discrepancy (xhs_sharing.sem.objectives).

Known answers: lavaan 0.6's output for the Holzinger-Swineford (1939) 3-factor
CFA (the lavaan tutorial model, ML, N = 301): chi2 85.306 on 24 df, baseline
918.852 on 36 df, CFI .931, TLI .896, RMSEA .092 (90 % CI .071-.114),
SRMR .065. Everything else is worked by hand in the test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from semopy.examples import holzinger39

from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.errors import DataError, EstimationError, SpecError, XhsError
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.fit import (
    FIT_MEASURE_KEYS,
    baseline_chi2,
    cfi,
    fit_measures,
    ml_fit_measures,
    rmsea,
    rmsea_ci,
    srmr,
    tli,
)
from xhs_sharing.sem.objectives import ml_discrepancy, ml_discrepancy_checked, sample_covariance

HS_CHI2 = 85.305521769795  # lavaan prints 85.306; full precision from our converged fit


@pytest.fixture(scope="module")
def hs():
    data = holzinger39.get_data()
    return fit_structural(holzinger39.get_model(), data, lavaan_defaults=False), data


# ---------------------------------------------------------------- SRMR
def test_srmr_is_zero_when_sigma_equals_s():
    S = np.array([[2.0, 0.6, 0.3], [0.6, 1.5, 0.2], [0.3, 0.2, 1.0]])
    assert srmr(S, S.copy()) == 0.0


def test_srmr_two_by_two_by_hand():
    # residuals scaled by observed sds: r11 = 0, r12 = (1 - .4)/sqrt(4*1) = .3,
    # r22 = (1 - 2)/1 = -1  ->  sqrt((0 + .09 + 1) / 3)
    S = np.array([[4.0, 1.0], [1.0, 1.0]])
    Sigma = np.array([[4.0, 0.4], [0.4, 2.0]])
    assert srmr(S, Sigma) == pytest.approx(math.sqrt(1.09 / 3), abs=1e-12)
    # Bollen's correlation-residual version would give about .207: not lavaan's
    assert abs(srmr(S, Sigma) - 0.207) > 0.3


def test_srmr_is_invariant_to_rescaling_the_variables():
    S = np.array([[4.0, 1.0, 0.5], [1.0, 1.0, 0.3], [0.5, 0.3, 2.0]])
    Sigma = np.array([[3.5, 0.8, 0.6], [0.8, 1.2, 0.2], [0.6, 0.2, 2.1]])
    D = np.diag([10.0, 0.5, 3.0])
    assert srmr(D @ S @ D, D @ Sigma @ D) == pytest.approx(srmr(S, Sigma), rel=1e-12)


def test_srmr_rejects_bad_input():
    with pytest.raises(DataError, match="square"):
        srmr(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(DataError, match="differ in shape"):
        srmr(np.eye(2), np.eye(3))
    with pytest.raises(DataError, match="symmetric"):
        srmr(np.array([[1.0, 0.2], [0.3, 1.0]]), np.eye(2))


# ---------------------------------------------------------------- ML discrepancy
def test_ml_discrepancy_one_variable_by_hand():
    # implied Sigma = 1, sample S = 2: F = log(1) - log(2) + 2/1 - 1 = 1 - log 2
    assert ml_discrepancy(np.array([[1.0]]), np.array([[2.0]])) == pytest.approx(1 - math.log(2), rel=1e-15)
    assert ml_discrepancy_checked(np.array([[1.0]]), np.array([[2.0]])) == pytest.approx(1 - math.log(2))
    assert ml_discrepancy_checked(np.eye(3) * 2.5, np.eye(3) * 2.5) == pytest.approx(0.0, abs=1e-15)


def test_ml_discrepancy_two_variables_by_hand_and_stacked():
    # Sigma = I, S = [[1, r], [r, 1]]: F = 0 - log(1 - r^2) + 2 - 2
    r = 0.6
    S = np.array([[1.0, r], [r, 1.0]])
    assert ml_discrepancy(np.eye(2), S) == pytest.approx(-math.log(1 - r * r), rel=1e-14)
    # swapping the arguments is a different number: lavaan's order is (implied, sample)
    assert ml_discrepancy(S, np.eye(2)) == pytest.approx(math.log(1 - r * r) + 2 / (1 - r * r) - 2, rel=1e-14)
    stack = ml_discrepancy(np.stack([np.eye(2), S]), np.stack([S, S]))
    assert stack.shape == (2,)
    assert stack[0] == ml_discrepancy(np.eye(2), S) and stack[1] == 0.0


def test_ml_discrepancy_failure_policy():
    not_pd = np.array([[1.0, 2.0], [2.0, 1.0]])
    assert ml_discrepancy(not_pd, np.eye(2)) == math.inf
    assert math.isnan(ml_discrepancy(np.eye(2), not_pd))
    np.testing.assert_array_equal(ml_discrepancy(np.stack([np.eye(2), not_pd]), np.eye(2)), [0.0, math.inf])
    with pytest.raises(DataError, match="Sigma is not positive definite"):
        ml_discrepancy_checked(not_pd, np.eye(2))
    with pytest.raises(DataError, match="S is not positive definite"):
        ml_discrepancy_checked(np.eye(2), not_pd)
    with pytest.raises(DataError, match="differ in shape"):
        ml_discrepancy_checked(np.eye(2), np.eye(3))
    with pytest.raises(DataError, match="symmetric"):
        ml_discrepancy_checked(np.array([[1.0, 0.2], [0.3, 1.0]]), np.eye(2))


def test_baseline_chi2_by_hand():
    # 2 variables with correlation .5: chi2_0 = -N log(1 - .25), df 1
    S = np.array([[1.0, 0.5], [0.5, 1.0]])
    chi2_0, df_0 = baseline_chi2(S, 100)
    assert chi2_0 == pytest.approx(-100 * math.log(0.75), rel=1e-12)
    assert df_0 == 1


# ---------------------------------------------------------------- RMSEA
def test_rmsea_by_hand_uses_n_not_n_minus_1():
    # sqrt((50 - 20) / (201 * 20)); with N - 1 it would be sqrt(30 / 4000)
    assert rmsea(50.0, 20, 201) == pytest.approx(math.sqrt(30 / (201 * 20)), abs=1e-14)
    assert rmsea(50.0, 20, 201) != pytest.approx(math.sqrt(30 / 4000), abs=1e-6)


def test_rmsea_is_zero_when_chi2_below_df_or_df_zero():
    assert rmsea(15.0, 20, 300) == 0.0
    assert rmsea(0.0, 0, 300) == 0.0


def test_rmsea_hs_known_answer():
    assert round(rmsea(HS_CHI2, 24, 301), 3) == 0.092


def test_rmsea_ci_hs_known_answer_and_definition():
    low, high = rmsea_ci(HS_CHI2, 24, 301)
    assert round(low, 3) == 0.071
    assert round(high, 3) == 0.114
    # the bounds invert the noncentral chi-square: lambda = N df RMSEA^2
    assert stats.ncx2.cdf(HS_CHI2, 24, 301 * 24 * low**2) == pytest.approx(0.95, abs=1e-9)
    assert stats.ncx2.cdf(HS_CHI2, 24, 301 * 24 * high**2) == pytest.approx(0.05, abs=1e-9)
    # a wider level gives a wider interval
    low95, high95 = rmsea_ci(HS_CHI2, 24, 301, level=0.95)
    assert low95 < low and high95 > high


def test_rmsea_ci_chi2_below_df_gives_zero_low_bound():
    # central cdf(18; 20) = .41 < .95 -> low = 0; > .05 -> high > 0
    low, high = rmsea_ci(18.0, 20, 250)
    assert low == 0.0
    assert high > 0.0
    assert stats.ncx2.cdf(18.0, 20, 250 * 20 * high**2) == pytest.approx(0.05, abs=1e-9)


def test_rmsea_ci_degenerate_cases():
    # cdf(10; 20) = .03 < .05: even the upper bound is 0 (lavaan's rule)
    assert rmsea_ci(10.0, 20, 250) == (0.0, 0.0)
    assert rmsea_ci(0.0, 0, 250) == (0.0, 0.0)
    with pytest.raises(DataError, match="level"):
        rmsea_ci(30.0, 20, 250, level=1.5)
    with pytest.raises(DataError, match="n must be"):
        rmsea_ci(30.0, 20, 0)
    with pytest.raises(DataError, match="chi2"):
        rmsea(-1.0, 20, 100)


# ---------------------------------------------------------------- CFI / TLI
def test_cfi_tli_by_hand():
    # t1 = 61.3055, t2 = 882.8516 ; TLI = 1 - (t1 * 36) / (t2 * 24)
    chi2, df, b, bdf = 85.3055, 24, 918.8516, 36
    assert cfi(chi2, df, b, bdf) == pytest.approx(1 - 61.3055 / 882.8516, abs=1e-12)
    assert tli(chi2, df, b, bdf) == pytest.approx(1 - (61.3055 * 36) / (882.8516 * 24), abs=1e-12)


def test_cfi_bounds_and_tli_is_not_truncated():
    # chi2 < df: CFI capped at 1, TLI above 1 (lavaan does not truncate TLI)
    assert cfi(10.0, 20, 500.0, 36) == 1.0
    assert tli(10.0, 20, 500.0, 36) == pytest.approx(1 - (-10 * 36) / (464 * 20))
    assert tli(10.0, 20, 500.0, 36) > 1.0
    # model worse than the baseline: t2 = t1 -> CFI 0, never negative
    assert cfi(200.0, 10, 100.0, 36) == 0.0
    # both non-centralities zero -> 1
    assert cfi(5.0, 10, 20.0, 36) == 1.0
    # just-identified model: TLI 1 by lavaan's convention
    assert tli(0.0, 0, 300.0, 36) == 1.0


# ---------------------------------------------------------------- HS, end to end
def test_fit_measures_holzinger_swineford_match_lavaan(hs):
    fit, data = hs
    fm = fit_measures(fit, data)
    assert tuple(fm) == FIT_MEASURE_KEYS
    assert round(fm["chi2"], 3) == 85.306
    assert fm["df"] == 24 and isinstance(fm["df"], int)
    assert fm["n"] == 301 and isinstance(fm["n"], int)
    assert round(fm["baseline_chi2"], 3) == 918.852
    assert fm["baseline_df"] == 36
    assert round(fm["cfi"], 3) == 0.931
    assert round(fm["tli"], 3) == 0.896
    assert round(fm["rmsea"], 3) == 0.092
    assert round(fm["rmsea_ci_low"], 3) == 0.071
    assert round(fm["rmsea_ci_high"], 3) == 0.114
    assert round(fm["srmr"], 3) == 0.065
    assert fm["pvalue"] == pytest.approx(stats.chi2.sf(fm["chi2"], 24))
    assert fm["pvalue"] < 1e-8
    json.dumps(fm)  # plain Python numbers only
    assert all(type(v) in (int, float) for v in fm.values())
    # the same from the matrices
    S = np.cov(data[list(fit.structure.observed)].to_numpy(), rowvar=False, bias=True)
    assert ml_fit_measures(S, fit.structure.implied_covariance(fit.theta), 301, fit.structure.n_params) == fm


def test_fit_converges_to_lavaan_loadings(hs):
    fit, data = hs
    lam = fit.params[fit.params["op"] == "=~"].set_index("rhs")["est"]
    expected = {"x2": 0.554, "x3": 0.729, "x5": 1.113, "x6": 0.926, "x8": 1.180, "x9": 1.082}
    for item, value in expected.items():
        assert round(lam[item], 3) == value, item
    # the gradient of F_ML vanishes at the converged solution
    S = sample_covariance(data[list(fit.structure.observed)].to_numpy())
    assert np.max(np.abs(BatchedModel.from_fit(fit).gradient(fit.theta, S))) < 1e-7
    assert fit.chi2 == pytest.approx(HS_CHI2, abs=1e-6)


def test_fit_errors():
    data = holzinger39.get_data()
    with pytest.raises(SpecError):
        fit_structural("   ", data)
    with pytest.raises(DataError, match="x10"):
        fit_structural("f =~ x1 + x2 + x10", data)
    with pytest.raises(EstimationError, match="did not converge in 1 iterations"):
        fit_structural(holzinger39.get_model(), data, max_iter=1)
    bad = data.assign(x1=data["x1"].astype(str))
    with pytest.raises(DataError, match="not numeric"):
        fit_structural("f =~ x1 + x2 + x3", bad)


def test_fit_measures_uses_complete_rows(hs):
    fit, data = hs
    holed = data.copy()
    holed.loc[holed.index[:5], "x1"] = np.nan
    fm = fit_measures(fit, holed)
    assert fm["n"] == 296


def test_fit_measures_rejects_non_models():
    with pytest.raises(SpecError):
        fit_measures("not a model", holzinger39.get_data())  # type: ignore[arg-type]


def test_errors_are_package_errors():
    assert issubclass(DataError, XhsError) and issubclass(EstimationError, XhsError)
