"""Batched ML estimation (xhs_sharing.sem.batched) against known answers and the single-sample solver.

Reference values:
* lavaan's published estimates and standard errors for Holzinger-Swineford
  (CFA) and Political Democracy (SEM with correlated residuals), from
  semopy's starting values;
* finite differences of the objective (gradient) and of the gradient at a
  perfect fit (the expected information is the Hessian when ``S = Sigma``);
* the package's one-by-one Fisher scoring (``solve_ml``) on the same
  covariance matrices, to 1e-8, for the default model's bootstrap resamples
  and for models with observed covariates and equality labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from semopy.examples import holzinger39, political_democracy

from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.estimation import solve_ml
from xhs_sharing.sem.model import load_model
from xhs_sharing.sem.objectives import ml_discrepancy, sample_covariance
from xhs_sharing.sem.resample import bootstrap_counts, resample_covariances
from xhs_sharing.study.syntax import structural_syntax
from xhs_sharing.study.synthetic import codebook, simulate_survey

SEED = 20261127  # the package's seed (README, "Controlled randomness"); never tuned
N = 500


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def default_fit(study):
    """The default model fitted by the package to the default synthetic survey."""
    raw = simulate_survey(study, n=N, seed=SEED)
    data = analysis_frame(raw, codebook(study, 7))
    return fit_structural(structural_syntax(study), data), data


@pytest.fixture(scope="module")
def bm(default_fit):
    return BatchedModel.from_fit(default_fit[0])


@pytest.fixture(scope="module")
def x_default(default_fit, bm):
    return default_fit[1][list(bm.observed)].to_numpy()


@pytest.fixture(scope="module")
def boot_covs(x_default):
    """40 bootstrap resamples of the default survey (counts from the package seed)."""
    counts = bootstrap_counts(N, 40, np.random.default_rng(SEED))
    return resample_covariances(x_default, counts)


def _from_semopy_start(desc: str, data: pd.DataFrame) -> tuple[BatchedModel, np.ndarray]:
    """The model of ``desc`` started at semopy's starting values for ``data``, and ``S``."""
    parsed = load_model(desc, lavaan_defaults=False)
    x = data[list(parsed.observed)].to_numpy(dtype=float)
    structure, _ = parsed.initial_estimates(x)
    return BatchedModel(structure), sample_covariance(x)


def _fd_gradient(bm: BatchedModel, x: np.ndarray, S: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the objective, all q directions in one batched call."""
    q = len(x)
    pts = np.concatenate([x + h * np.eye(q), x - h * np.eye(q)])
    f = bm.objective(pts, np.broadcast_to(S, (2 * q, *S.shape)))
    return (f[:q] - f[q:]) / (2 * h)


# ------------------------------------------------------------------ resampling


def test_bootstrap_counts_are_multinomial_resamples():
    counts = bootstrap_counts(37, 11, np.random.default_rng(SEED))
    assert counts.shape == (11, 37)
    assert counts.dtype == np.int64
    assert np.all(counts >= 0)
    assert np.all(counts.sum(axis=1) == 37)


@pytest.mark.parametrize("ddof", [0, 1])
def test_resample_covariances_equal_np_cov_of_explicit_resamples(ddof):
    rng = np.random.default_rng(SEED)
    data = rng.normal(3.0, 2.0, size=(60, 6)) + rng.integers(1, 8, size=(60, 6))
    counts = bootstrap_counts(60, 25, rng)
    covs = resample_covariances(data, counts, ddof=ddof)
    for b in range(25):
        rows = np.repeat(np.arange(60), counts[b])
        expect = np.cov(data[rows], rowvar=False, ddof=ddof)
        np.testing.assert_allclose(covs[b], expect, rtol=0, atol=1e-10)
        assert np.array_equal(covs[b], covs[b].T)


def test_resample_covariances_on_the_survey(x_default, boot_covs):
    counts = bootstrap_counts(N, 40, np.random.default_rng(SEED))
    for b in (0, 17, 39):
        rows = np.repeat(np.arange(N), counts[b])
        np.testing.assert_allclose(boot_covs[b], np.cov(x_default[rows], rowvar=False, bias=True),
                                   rtol=0, atol=1e-10)
    # identity counts give the full-sample covariance (N divisor)
    full = resample_covariances(x_default, np.ones((1, N)))
    np.testing.assert_allclose(full[0], sample_covariance(x_default), rtol=0, atol=1e-10)


def test_resample_covariances_rejects_bad_input():
    with pytest.raises(DataError):
        resample_covariances(np.ones((5, 2)), np.ones((3, 4)))
    with pytest.raises(DataError):
        resample_covariances(np.full((5, 2), np.nan), np.ones((3, 5)))
    with pytest.raises(DataError):
        resample_covariances(np.ones((5, 2)), -np.ones((3, 5)))


# ------------------------------------------------------------------ algebra


def test_objective_is_f_ml_of_the_implied_covariance(default_fit, bm, boot_covs):
    """The batched objective is the package's F_ML (lavaan's formula) at Sigma(theta), member by member."""
    fit = default_fit[0]
    rng = np.random.default_rng(SEED)
    x = fit.theta + rng.normal(0.0, 0.02, size=(5, bm.q))
    f = bm.objective(x, boot_covs[:5])
    for b in range(5):
        assert f[b] == pytest.approx(ml_discrepancy(fit.structure.implied_covariance(x[b]), boot_covs[b]),
                                     rel=1e-12)
    np.testing.assert_allclose(bm.implied_cov(x), fit.structure.implied_covariance(x), rtol=1e-13, atol=1e-15)
    # a non-PD Sigma is +inf, a non-PD S is NaN (the package's failure policy)
    bad = x[0].copy()
    bad[bm.index("is1", "~~", "is1")] = -50.0
    assert bm.objective(bad, boot_covs[0])[0] == np.inf
    assert np.isnan(bm.objective(x[0], np.zeros((bm.p, bm.p)))[0])


MIMIC = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ x7 + x8
textual ~ visual + x9
x1 ~~ x4"""

HS_EQUAL = """visual =~ x1 + a*x2 + a*x3
textual =~ x4 + b*x5 + b*x6
speed =~ x7 + x8 + x9"""

OTHER_MODELS = [
    (political_democracy.get_model(), political_democracy.get_data()),  # correlated residuals
    (HS_EQUAL, holzinger39.get_data()),  # one parameter in two matrix entries
    (MIMIC, holzinger39.get_data()),  # observed covariates inside Beta, their moments fixed from S
]
OTHER_IDS = ["political-democracy", "hs-equality-labels", "mimic"]


@pytest.mark.parametrize("desc, data", [("default", None), *OTHER_MODELS], ids=["default", *OTHER_IDS])
def test_analytic_gradient_matches_finite_differences(desc, data, bm, boot_covs):
    if desc == "default":
        b, S = bm, boot_covs[0]
    else:
        b, S = _from_semopy_start(desc, data)
    rng = np.random.default_rng(SEED)
    x = b.start + rng.normal(0.0, 0.01, size=b.q) * np.maximum(1.0, np.abs(b.start))
    np.testing.assert_allclose(b.gradient(x, S)[0], _fd_gradient(b, x, S), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("desc, data", [("default", None), *OTHER_MODELS], ids=["default", *OTHER_IDS])
def test_expected_information_is_the_hessian_at_a_perfect_fit(desc, data, bm):
    """At ``S = Sigma(theta)`` the expected Hessian of F_ML equals its Hessian (Lee & Jennrich 1979)."""
    if desc == "default":
        b = bm
    else:
        b, _ = _from_semopy_start(desc, data)
    x = b.start
    S = b.implied_cov(x)[0]
    q, h = b.q, 1e-5
    pts = np.concatenate([x + h * np.eye(q), x - h * np.eye(q)])
    g = b.gradient(pts, np.broadcast_to(S, (2 * q, *S.shape)))
    hess = (g[:q] - g[q:]).T / (2 * h)
    info = b.information(x, S)[0]
    np.testing.assert_allclose(info, 0.5 * (hess + hess.T), rtol=1e-5, atol=1e-6 * np.abs(info).max())


# --------------------------------------------------------------- bootstrap fits


@pytest.mark.slow
def test_bootstrap_batch_equals_one_by_one_fisher_scoring(default_fit, bm, boot_covs):
    """Every resample: the batched estimates are solve_ml's (the one-by-one bootstrap's solver) to 1e-8."""
    fit = bm.fit_batch(boot_covs, n=N, tol=1e-10, memory=0, info_refresh=2)  # Fisher scoring
    assert fit.params.shape == (40, bm.q)
    assert fit.converged.all() and fit.proper.all() and not fit.failed.any()
    assert fit.refit_count == 0
    assert np.all(fit.max_abs_grad < 1e-10)
    structure = default_fit[0].structure
    for b in range(len(boot_covs)):
        ref = solve_ml(structure, boot_covs[b], bm.start)
        assert ref.converged
        np.testing.assert_allclose(fit.params[b], ref.theta, rtol=0, atol=1e-8)
        assert fit.fmin[b] == pytest.approx(ref.fmin, rel=1e-10)
    # the default gradient tolerance (1e-6) agrees to about 1e-6
    quick = bm.fit_batch(boot_covs, n=N)
    np.testing.assert_allclose(quick.params, fit.params, rtol=0, atol=1e-5)


def test_chunks_and_threads_do_not_change_results(bm, boot_covs):
    a = bm.fit_batch(boot_covs, n=N, chunk_size=1000, n_threads=1)
    b = bm.fit_batch(boot_covs, n=N, chunk_size=7, n_threads=2)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-12)
    assert np.array_equal(a.n_iter, b.n_iter)


def test_textbook_fisher_scoring_reaches_the_same_minimum(bm, boot_covs):
    a = bm.fit_batch(boot_covs[:10], n=N, tol=1e-9)
    b = bm.fit_batch(boot_covs[:10], n=N, tol=1e-9, info_refresh=10**6, memory=0)  # information at every iterate
    assert a.converged.all() and b.converged.all()
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-7)


@pytest.mark.parametrize("desc", [MIMIC, HS_EQUAL], ids=["mimic", "hs-equality-labels"])
@pytest.mark.slow
def test_other_models_bootstrap_equals_one_by_one_fits(desc):
    """Model-agnostic: observed covariates (their moments fixed per resample) and shared labels.

    The reference is solve_ml on each resample's covariance, with the fixed
    moments of the covariates set from that resample as a fresh fit would.
    """
    data = holzinger39.get_data()
    parsed = load_model(desc, lavaan_defaults=False)
    x = data[list(parsed.observed)].to_numpy(dtype=float)
    structure, theta0 = parsed.initial_estimates(x)
    full = solve_ml(structure, sample_covariance(x), theta0)
    bm = BatchedModel(structure, start=full.theta)
    n = len(data)
    counts = bootstrap_counts(n, 5, np.random.default_rng(SEED))
    covs = resample_covariances(x, counts)
    fit = bm.fit_batch(covs, n=n, tol=1e-10)
    assert fit.converged.all() and fit.refit_count == 0
    for b in range(5):
        ref = solve_ml(structure.with_sample_moments(covs[b]), covs[b], full.theta)
        assert ref.converged
        np.testing.assert_allclose(fit.params[b], ref.theta, rtol=0, atol=1e-8)


# ------------------------------------------------------------ lavaan references


def test_holzinger_swineford_from_semopy_start_reproduces_lavaan():
    bm, S = _from_semopy_start(holzinger39.get_model(), holzinger39.get_data())
    fit = bm.fit_batch(S, n=301, se=True)
    assert fit.converged[0] and fit.proper[0] and fit.refit_count == 0
    est = fit.params[0]
    lavaan = {("visual", "x2"): 0.554, ("visual", "x3"): 0.729, ("textual", "x5"): 1.113,
              ("textual", "x6"): 0.926, ("speed", "x8"): 1.180, ("speed", "x9"): 1.082}
    for (lat, item), value in lavaan.items():
        assert round(est[bm.index(lat, "=~", item)], 3) == value
    assert round(fit.chi2[0], 3) == 85.306
    assert len(bm.observed) * (len(bm.observed) + 1) // 2 - bm.q == 24


def test_political_democracy_from_semopy_start_reproduces_lavaan():
    bm, S = _from_semopy_start(political_democracy.get_model(), political_democracy.get_data())
    fit = bm.fit_batch(S, n=75, se=True)
    assert fit.converged[0] and fit.refit_count == 0
    est = fit.params[0]
    assert round(est[bm.index("dem60", "~", "ind60")], 3) == 1.483
    assert round(est[bm.index("dem65", "~", "ind60")], 3) == 0.572
    assert round(est[bm.index("dem65", "~", "dem60")], 3) == 0.837
    assert round(est[bm.index("y4", "~~", "y8")], 3) == 0.348  # a residual covariance
    assert round(fit.chi2[0], 3) == 38.125
    assert len(bm.observed) * (len(bm.observed) + 1) // 2 - bm.q == 35
    # lavaan tutorial's expected-information standard errors (summary(fit), 3 decimals)
    se = fit.se[0]
    assert round(se[bm.index("dem60", "~", "ind60")], 3) == 0.399
    assert round(se[bm.index("dem65", "~", "ind60")], 3) == 0.221
    assert round(se[bm.index("dem65", "~", "dem60")], 3) == 0.098
    np.testing.assert_allclose(bm.standard_errors(fit.params, 75), fit.se, rtol=1e-12)


def test_political_democracy_shipped_lavaan_table():
    """semopy's pd_lavaan_params.csv: every one of its 30 free estimates to 3 decimals.

    The table has no ``y4 ~~ y8`` row and its values are the ML estimates of
    the model without that residual covariance (with it, dem60 ~ ind60 is
    1.483, not the table's 1.482), so it is checked against that model.
    """
    table = political_democracy.get_params()
    assert not ((table["lval"] == "y4") & (table["rval"] == "y8")).any()
    desc = political_democracy.get_model().replace("y4 ~~ y8\n", "")
    bm, S = _from_semopy_start(desc, political_democracy.get_data())
    fit = bm.fit_batch(S, n=75)
    assert fit.converged[0]
    n_checked = 0
    for row in table.itertuples():
        try:
            i = bm.index(row.lval, row.op, row.rval)
        except SpecError:  # the fixed first loadings
            assert row.op == "=~" and row.Estimate == 1.0
            continue
        assert abs(fit.params[0, i] - row.Estimate) < 5e-4, (row.lval, row.op, row.rval)
        n_checked += 1
    assert n_checked == bm.q == 30


@pytest.mark.slow
def test_monte_carlo_standard_errors_match_the_spread_of_the_estimates(bm):
    """Independent data sets of n rows from the fitted model: SEs ~ SD of the estimates."""
    reps, n = 400, N
    sigma = bm.implied_cov(bm.start)[0]
    rng = np.random.default_rng(SEED)
    z = rng.multivariate_normal(np.zeros(bm.p), sigma, size=(reps, n))
    zc = z - z.mean(axis=1, keepdims=True)
    covs = np.einsum("rni,rnj->rij", zc, zc) / n
    fit = bm.fit_batch(covs, n=n, se=True)
    assert fit.converged.all() and fit.refit_count == 0
    ratio = fit.params.std(axis=0, ddof=1) / fit.se.mean(axis=0)
    assert 0.93 < np.median(ratio) < 1.07
    assert np.all((ratio > 0.75) & (ratio < 1.25))
    # and the likelihood-ratio statistics follow chi2 on the model's df
    df = bm.p * (bm.p + 1) // 2 - bm.q
    assert abs(fit.chi2.mean() / df - 1) < 0.05


# ---------------------------------------------------------- improper solutions


def _heywood_cov(S: np.ndarray, observed: tuple[str, ...], item: str = "is1",
                 peers: tuple[str, str] = ("is2", "is3")) -> np.ndarray:
    """The covariance with ``item``'s variance below its common part.

    For a three-indicator factor the common variance of ``item`` is
    cov(item, a) cov(item, b) / cov(a, b); setting its variance to 90% of that
    forces a negative residual variance on an unconstrained ML fit, while the
    matrix stays positive definite.
    """
    obs = list(observed)
    S = np.array(S, copy=True)
    i, a, b = obs.index(item), obs.index(peers[0]), obs.index(peers[1])
    S[i, i] = 0.9 * S[i, a] * S[i, b] / S[a, b]
    assert np.linalg.eigvalsh(S).min() > 0
    return S


def test_member_with_negative_variance_is_flagged_improper(default_fit, bm, x_default, boot_covs):
    """Unbounded like lavaan: the Heywood member converges to a negative variance, flagged by the one check."""
    S_bad = _heywood_cov(sample_covariance(x_default), bm.observed)
    covs = np.concatenate([boot_covs[:5], S_bad[None], boot_covs[5:8]])
    k = bm.index("is1", "~~", "is1")
    fit = bm.fit_batch(covs, n=N, tol=1e-10)
    assert fit.converged.all() and fit.refit_count == 0
    assert fit.proper.tolist() == [True] * 5 + [False] + [True] * 3
    assert fit.params[5, k] < 0
    structure = default_fit[0].structure
    assert solution_problems(structure, fit.params[5]) == ["negative residual variance of is1"]
    ref = solve_ml(structure, S_bad, bm.start)
    np.testing.assert_allclose(fit.params[5], ref.theta, rtol=0, atol=1e-8)


def test_non_positive_definite_sample_covariance_is_counted_as_failed(bm, x_default, boot_covs):
    counts = np.zeros((1, N))
    counts[0, :12] = N / 12  # 12 distinct rows: rank < 25 items
    singular = resample_covariances(x_default, counts)
    fit = bm.fit_batch(np.concatenate([boot_covs[:3], singular]), n=N)
    assert fit.failed.tolist() == [False, False, False, True]
    assert np.all(np.isnan(fit.params[3])) and np.isnan(fit.fmin[3]) and not fit.proper[3]
    assert fit.converged[:3].all()


@pytest.mark.slow
def test_iteration_limit_and_inadmissible_start_go_to_the_one_by_one_refit(bm, boot_covs):
    good = bm.fit_batch(boot_covs[:4], n=N)
    capped = bm.fit_batch(boot_covs[:4], n=N, max_iter=1)
    assert capped.refit_count == 4 and capped.converged.all()
    np.testing.assert_allclose(capped.params, good.params, atol=1e-5)
    raw = bm.fit_batch(boot_covs[:4], n=N, max_iter=1, refit=False)
    assert raw.refitted.all() and raw.failed.all() and np.isnan(raw.params).all()

    start = np.tile(bm.start, (2, 1))
    start[0, bm.index("is1", "~~", "is1")] = -50.0  # implied covariance not PD
    fit = bm.fit_batch(boot_covs[:2], n=N, start=start)
    assert fit.refitted.tolist() == [True, False]
    assert fit.converged.all()
    np.testing.assert_allclose(fit.params, good.params[:2], atol=1e-5)


# ------------------------------------------------------------------ helpers


def test_parameter_helpers_name_and_map_the_estimates(default_fit, bm):
    fit = default_fit[0]
    x = fit.theta
    assert bm.names == fit.structure.param_names
    for row in fit.params[fit.params["free"] >= 0].itertuples():
        assert x[bm.index(row.lhs, row.op, row.rhs)] == row.est
    assert bm.index("IS", "~~", "ES") == bm.index("ES", "~~", "IS")
    with pytest.raises(SpecError, match="fixed"):
        bm.index("SN", "=~", "sn1")  # fixed loading
    with pytest.raises(SpecError, match="no parameter"):
        bm.index("SN", "=~", "wsi1")

    frame = bm.fit_batch(bm.implied_cov(x), n=N).frame()
    assert frame.shape == (1, bm.q)
    assert frame.loc[0, "WSI ~ SN"] == pytest.approx(x[bm.index("WSI", "~", "SN")], abs=1e-6)
    assert frame.loc[0, "SN =~ sn2"] == pytest.approx(x[bm.index("SN", "=~", "sn2")], abs=1e-6)

    mats = bm.matrices(np.stack([x, x]))
    for got, want in zip(mats, fit.structure.matrices(x), strict=True):
        np.testing.assert_array_equal(got[1], want)


def test_input_errors_are_package_errors(default_fit, bm):
    with pytest.raises(DataError):
        bm.fit_batch(np.eye(3)[None], n=N)
    with pytest.raises(DataError):
        bm.fit_batch(np.eye(bm.p)[None], n=N, start=np.zeros(bm.q + 1))
    with pytest.raises(EstimationError):
        BatchedModel(default_fit[0].structure, start=np.zeros(bm.q + 1))


def test_quasi_newton_batch_equals_one_by_one_fisher_scoring(default_fit, bm, boot_covs):
    """The bootstrap's solver (L-BFGS pairs on the full-sample information): solve_ml's estimates to 1e-8."""
    fit = bm.fit_batch(boot_covs, n=N, tol=1e-10, memory=10, info_refresh=1)
    plain = bm.fit_batch(boot_covs, n=N, tol=1e-10, memory=0, info_refresh=2)  # Fisher scoring
    assert fit.converged.all() and fit.refit_count == 0 and np.all(fit.max_abs_grad < 1e-10)
    assert np.array_equal(fit.proper, plain.proper)
    structure = default_fit[0].structure
    for b in range(0, len(boot_covs), 4):
        ref = solve_ml(structure, boot_covs[b], bm.start)
        np.testing.assert_allclose(fit.params[b], ref.theta, rtol=0, atol=1e-8)


def test_quasi_newton_members_at_the_iteration_limit_go_to_the_refit(bm, boot_covs):
    good = bm.fit_batch(boot_covs[:4], n=N, memory=10, info_refresh=1)
    capped = bm.fit_batch(boot_covs[:4], n=N, max_iter=2, memory=10, info_refresh=1)
    assert capped.refit_count == 4 and capped.converged.all()
    np.testing.assert_allclose(capped.params, good.params, atol=1e-5)


def test_woodbury_inverse_equals_the_cholesky_inverse_and_falls_back(bm, boot_covs):
    """K and log|Sigma| by the m x m capacitance equal the direct factorisation; members it cannot take go direct."""
    from xhs_sharing.sem.batched import _inverse_sigma

    assert bm._woodbury  # the default model has a diagonal Theta
    rng = np.random.default_rng(5)
    th = bm.start + 0.01 * rng.standard_normal((6, bm.q))
    th[1, bm.index("is1", "~~", "is1")] = -0.05  # a negative residual variance: Sigma still PD
    core = bm._core(th)
    _, lam, _, theta = bm.matrices(th)
    K, logdet, ok = _inverse_sigma(core.G, lam, theta)
    assert ok.all() and core.ok.all()
    np.testing.assert_allclose(core.K, K, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(core.logdet, logdet, rtol=1e-12)
    _, _, psi, _ = bm.matrices(th)
    fast = bm._inverse_by_woodbury(core.M, psi, theta)[2]
    assert fast.tolist() == [True, False, True, True, True, True]
    th[2, bm.index("is1", "~~", "is1")] = -50.0  # Sigma not PD at all
    assert bm._core(th).ok.tolist() == [True, True, False, True, True, True]


def test_keep_freed_memory_is_set_once_and_reported():
    from xhs_sharing.sem.linalg import keep_freed_memory

    first = keep_freed_memory()
    assert isinstance(first, bool)
    assert keep_freed_memory() is first  # made once per process
