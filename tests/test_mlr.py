"""Robust ML (MLR) against lavaan 0.6.14's ``estimator = "MLR"`` (issue 13).

Known answers: ``tests/reference/fixtures/*.csv``, written by
``tests/reference/lavaan_mlr.R`` from the data of
``tests/reference/make_data.py`` (so CI needs no R). Tolerances of the
issue: estimates 1e-4 absolute, standard errors 1% relative, test statistics
0.5% relative, fit measures .002 absolute. The algebra tests at the end pin
identities that hold exactly (and fail if a convention slips).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.sem.estimation import fit_model
from xhs_sharing.sem.model import load_model
from xhs_sharing.sem.mvnorm_missing import MissingData, mvn_loglik
from xhs_sharing.sem.robust import (
    Patterns,
    cfi,
    complete_h1_information,
    h1_observed_information,
    loglik_gradient,
    mlr_from_fit,
    model_scores,
    rmsea,
    rmsea_ci,
    robust_indices,
    sandwich_covariance,
    saturated_scores,
    tli,
    vech_indices,
    yuan_bentler_mplus,
)

REF = Path(__file__).resolve().parent / "reference"
FIXTURES = REF / "fixtures"
DATA = REF / "data"

HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
MISFIT_MODEL = "F =~ is1 + is2 + is3 + es1 + es2 + es3\n"

#: case -> (syntax, data file, listwise)
CASES = {
    "hs_mlr": (HS_MODEL, "holzinger_swineford.csv", False),
    "default_mlr": (None, "default_items.csv", False),
    "skewed_mlr_listwise": (None, "skewed_items.csv", True),
    "skewed_mlr_fiml": (None, "skewed_items.csv", False),
    "skewed_misfit_fiml": (MISFIT_MODEL, "skewed_items.csv", False),
}

TEST_STATISTICS = ("chisq", "chisq.scaled", "chisq.scaling.factor", "baseline.chisq",
                   "baseline.chisq.scaled", "baseline.chisq.scaling.factor")
FIT_MEASURES = ("cfi", "tli", "cfi.scaled", "tli.scaled", "cfi.robust", "tli.robust",
                "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.scaled",
                "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "rmsea.robust",
                "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")

#: the large FIML fit takes most of a minute on a loaded machine
SLOW = {"skewed_mlr_fiml", "skewed_mlr_listwise"}


def _params(case):
    return [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES]


_CACHE: dict = {}


def _fitted(case: str):
    """``(fit, MLRResult)`` of a fixture case, computed once per session."""
    if case not in _CACHE:
        syntax, file, listwise = CASES[case]
        syntax = syntax or (DATA / "structural_model.lav").read_text()
        model = load_model(syntax, lavaan_defaults=True)
        x = pd.read_csv(DATA / file)[list(model.observed)].to_numpy(float)
        if listwise:
            x = x[~np.isnan(x).any(axis=1)]
        fit = fit_model(model, x)
        _CACHE[case] = (fit, mlr_from_fit(fit, x))
    return _CACHE[case]


def _measures(case: str) -> pd.Series:
    return pd.read_csv(FIXTURES / f"{case}_fit.csv").set_index("measure")["value"]


def _lavaan_rows(case: str, fit, res) -> list[tuple[str, float, float, float, float]]:
    """``(parameter, est, lavaan est, se, lavaan se)`` of every free parameter (intercepts under FIML)."""
    pe = pd.read_csv(FIXTURES / f"{case}_estimates.csv")
    out = []
    for r in fit.structure.rows:
        if r.free < 0:
            continue
        same = (pe.lhs == r.lhs) & (pe.rhs == r.rhs)
        if r.op == "~~":
            same |= (pe.lhs == r.rhs) & (pe.rhs == r.lhs)
        ref = pe[(pe.op == r.op) & same]
        assert len(ref) == 1, f"{r.lhs} {r.op} {r.rhs} not once in the lavaan table"
        out.append((f"{r.lhs} {r.op} {r.rhs}", fit.theta[r.free], ref.est.iloc[0],
                    res.se[r.free], ref.se.iloc[0]))
    if res.meanstructure:
        q = fit.theta.size
        for j, v in enumerate(fit.structure.observed):
            ref = pe[(pe.op == "~1") & (pe.lhs == v)]
            out.append((f"{v} ~1", res.params[q + j], ref.est.iloc[0], res.se[q + j], ref.se.iloc[0]))
    n_free = int((pe.free > 0).sum())
    assert len(out) == n_free, f"{len(out)} parameters here, {n_free} in lavaan"
    return out


def test_fixtures_come_from_lavaan_0_6_14():
    meta = pd.read_csv(FIXTURES / "meta.csv").set_index("key")["value"]
    assert meta["lavaan"] == "0.6.14"


@pytest.mark.parametrize("case", _params(CASES))
def test_estimates_and_robust_standard_errors_match_lavaan(case):
    fit, res = _fitted(case)
    rows = _lavaan_rows(case, fit, res)
    est_dev = max(abs(e - e_ref) for _, e, e_ref, _, _ in rows)
    se_dev = max(abs(s / s_ref - 1) for _, _, _, s, s_ref in rows)
    assert est_dev < 1e-4
    assert se_dev < 0.01


@pytest.mark.parametrize("case", _params(CASES))
def test_scaled_tests_match_lavaan(case):
    _, res = _fitted(case)
    ref = _measures(case)
    assert res.measures["df"] == ref["df"]
    for name in TEST_STATISTICS:
        assert res.measures[name] == pytest.approx(ref[name], rel=0.005), name


@pytest.mark.parametrize("case", _params(CASES))
def test_robust_fit_measures_match_lavaan(case):
    _, res = _fitted(case)
    ref = _measures(case)
    for name in FIT_MEASURES:
        assert res.measures[name] == pytest.approx(ref[name], abs=0.002), name


def test_the_robust_standard_errors_differ_from_the_ml_ones():
    """On the HS data the sandwich moves every SE; the ML ones (expected information) are lavaan's ML SEs."""
    fit, res = _fitted("hs_mlr")
    ml_se = np.sqrt(np.diag(fit.acov))
    assert np.max(np.abs(res.se / ml_se - 1)) > 0.05


# -- exact algebra -------------------------------------------------------------------


def _small_data(missing: bool, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((60, 3)) @ np.array([[1.0, 0.4, 0.2], [0, 1.0, 0.5], [0, 0, 1.0]])
    x = x ** 3 / 3 + x  # skewed, heavy-tailed
    if missing:
        x[rng.random(x.shape) < 0.15] = np.nan
        x[np.isnan(x).all(axis=1), 0] = 0.5
    return x


def test_sandwich_with_meat_equal_to_information_is_the_ml_covariance():
    info = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 0.9]])
    np.testing.assert_allclose(sandwich_covariance(info, info, 250), np.linalg.inv(info) / 250, rtol=1e-12)


def test_yuan_bentler_factor_is_one_when_the_information_identity_holds():
    a1 = np.diag([1.0, 2.0, 3.0, 4.0])
    a = np.array([[1.5, 0.2], [0.2, 0.7]])
    yb = yuan_bentler_mplus(10.0, 2, a1, a1, a, a)
    assert yb.scaling_factor == pytest.approx(1.0, abs=1e-14)
    assert yb.chisq_scaled == pytest.approx(10.0, abs=1e-12)


@pytest.mark.parametrize("missing", [False, True])
def test_saturated_scores_are_the_gradient_of_the_loglikelihood(missing):
    """Sum of the casewise scores = numerical gradient of mvn_loglik (independent code) over (mu, vech Sigma)."""
    x = _small_data(missing)
    mean = np.array([0.1, -0.2, 0.05])
    sigma = np.array([[1.2, 0.3, 0.1], [0.3, 1.1, 0.4], [0.1, 0.4, 1.3]])
    md = MissingData(x)
    r, c = vech_indices(3)

    def loglik(par):
        s = np.zeros((3, 3))
        s[r, c] = par[3:]
        s[c, r] = par[3:]
        return mvn_loglik(md, par[:3], s)

    par = np.concatenate([mean, sigma[r, c]])
    h = 1e-6
    num = np.array([(loglik(par + h * e) - loglik(par - h * e)) / (2 * h) for e in np.eye(par.size)])
    scores = saturated_scores(Patterns.of(x), mean, sigma)
    np.testing.assert_allclose(scores.sum(axis=0), num, rtol=1e-6, atol=1e-6)
    big_g, g = loglik_gradient(Patterns.of(x), mean, sigma)
    np.testing.assert_allclose(g * x.shape[0], num[:3], rtol=1e-6, atol=1e-6)
    off = np.where(r == c, 1.0, 2.0)
    np.testing.assert_allclose(big_g[r, c] * off * x.shape[0], num[3:], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("missing", [False, True])
def test_h1_observed_information_is_minus_the_hessian_of_the_loglikelihood(missing):
    x = _small_data(missing, seed=3)
    pat = Patterns.of(x)
    mean = np.array([0.2, 0.0, -0.1])
    sigma = np.array([[1.1, 0.2, 0.0], [0.2, 0.9, 0.3], [0.0, 0.3, 1.4]])
    r, c = vech_indices(3)

    def grad(par):
        s = np.zeros((3, 3))
        s[r, c] = par[3:]
        s[c, r] = par[3:]
        return saturated_scores(pat, par[:3], s).mean(axis=0)

    par = np.concatenate([mean, sigma[r, c]])
    h = 1e-6
    hess = np.column_stack([(grad(par + h * e) - grad(par - h * e)) / (2 * h) for e in np.eye(par.size)])
    np.testing.assert_allclose(h1_observed_information(pat, mean, sigma), -hess, rtol=1e-6, atol=1e-7)


def test_h1_information_at_the_sample_moments_is_the_normal_theory_one():
    x = _small_data(False)
    mean = x.mean(axis=0)
    cov = (x - mean).T @ (x - mean) / x.shape[0]
    np.testing.assert_allclose(h1_observed_information(Patterns.of(x), mean, cov),
                               complete_h1_information(cov), atol=1e-12)


def test_inverse_blocks_invert_each_observed_block():
    x = _small_data(True)
    pat = Patterns.of(x)
    sigma = np.array([[1.2, 0.3, 0.1], [0.3, 1.1, 0.4], [0.1, 0.4, 1.3]])
    for obs, k in zip(pat.observed, pat.inverse_blocks(sigma), strict=True):
        want = np.zeros((3, 3))
        want[np.ix_(obs, obs)] = np.linalg.inv(sigma[np.ix_(obs, obs)])
        np.testing.assert_allclose(k, want, atol=1e-12)


def test_model_scores_sum_to_zero_at_the_ml_estimates():
    """The ML estimates solve the score equations: the casewise scores of the HS fit sum to 0."""
    fit, _ = _fitted("hs_mlr")
    x = pd.read_csv(DATA / "holzinger_swineford.csv")[list(fit.structure.observed)].to_numpy(float)
    sigma, dsigma = fit.structure.sigma_derivatives(fit.theta)
    scores = model_scores(Patterns.of(x), x.mean(axis=0), sigma, dsigma, False)
    assert np.max(np.abs(scores.mean(axis=0))) < 1e-8
    assert np.max(np.abs(scores)) > 0.1


def test_robust_indices_without_scaling_are_the_standard_ones():
    """lavaan uses the scaling factors only when both differ from 1; then CFI/TLI/RMSEA are the ML ones."""
    x2, df, x2b, dfb, n = 85.3, 24, 918.9, 36, 301
    out = robust_indices(x2, df, x2b, dfb, 1.0, 1.0, n)
    assert out["cfi.robust"] == pytest.approx(1 - (x2 - df) / (x2b - dfb), abs=1e-15)
    assert out["tli.robust"] == pytest.approx(tli(x2, df, x2b, dfb), abs=1e-15)
    assert out["rmsea.robust"] == pytest.approx(math.sqrt((x2 - df) / (n * df)), abs=1e-15)
    assert (out["rmsea.ci.lower.robust"], out["rmsea.ci.upper.robust"]) == rmsea_ci(x2, df, n)


def test_robust_rmsea_is_the_scaled_rmsea_times_root_c():
    """Savalei (2018): robust RMSEA = sqrt(c) x RMSEA of the scaled statistic, and the same for its interval."""
    x2, df, n, c = 120.0, 40, 400, 1.3
    assert rmsea(x2, df, n, c) == pytest.approx(math.sqrt(c) * rmsea(x2 / c, df, n), rel=1e-12)
    lo, hi = rmsea_ci(x2 / c, df, n, c=c)
    lo1, hi1 = rmsea_ci(x2 / c, df, n)
    assert (lo, hi) == pytest.approx((math.sqrt(c) * lo1, math.sqrt(c) * hi1), rel=1e-9)
    assert 0 < lo < rmsea(x2, df, n, c) < hi


def test_cfi_is_one_when_the_model_fits_better_than_its_df():
    assert cfi(20.0, 24, 900.0, 36, 1.1, 0.9) == 1.0
    assert cfi(20.0, 24, 900.0, 36) == 1.0
