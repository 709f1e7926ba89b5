"""Batched ML estimation (xhs_sharing.sem.batched) against semopy and lavaan.

Reference values:
* semopy refits of the same covariance matrices, polished (SLSQP with
  ``ftol=1e-12``), for the bootstrap resamples of the default survey;
* lavaan's published estimates for Holzinger-Swineford (CFA) and Political
  Democracy (SEM with correlated residuals), from semopy's starting values;
* semopy's own objective, gradient, Fisher information and standard errors.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import semopy
from semopy.examples import holzinger39, political_democracy
from semopy.stats import calc_se

from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.errors import DataError, EstimationError
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.resample import bootstrap_counts, resample_covariances
from xhs_sharing.study.syntax import structural_syntax
from xhs_sharing.study.synthetic import codebook, simulate_survey

SEED = 20261127  # the package's seed (README, "Controlled randomness"); never tuned
N = 500
POLISH = {"solver": "SLSQP", "options": {"ftol": 1e-12, "maxiter": 5000}}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def default_fit(study):
    """The default model fitted by semopy to the default synthetic survey."""
    syntax = structural_syntax(study)
    raw = simulate_survey(study, n=N, seed=SEED)
    data = analysis_frame(raw, codebook(study, 7))
    model = semopy.Model(syntax)
    model.fit(data)
    return syntax, data, model


@pytest.fixture(scope="module")
def bm(default_fit):
    return BatchedModel.from_semopy(default_fit[2])


@pytest.fixture(scope="module")
def boot_covs(default_fit, bm):
    """40 bootstrap resamples of the default survey (counts from the package seed)."""
    _, data, _ = default_fit
    counts = bootstrap_counts(N, 40, np.random.default_rng(SEED))
    return resample_covariances(bm.data_matrix(data), counts)


def _semopy_model(desc: str, data: pd.DataFrame) -> semopy.Model:
    model = semopy.Model(desc)
    model.load(data)
    return model


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


def test_resample_covariances_on_the_survey(default_fit, bm, boot_covs):
    _, data, model = default_fit
    x = bm.data_matrix(data)
    counts = bootstrap_counts(N, 40, np.random.default_rng(SEED))
    for b in (0, 17, 39):
        rows = np.repeat(np.arange(N), counts[b])
        np.testing.assert_allclose(boot_covs[b], np.cov(x[rows], rowvar=False, bias=True), rtol=0, atol=1e-10)
    # identity counts give the full-sample covariance semopy fits (N divisor)
    full = resample_covariances(x, np.ones((1, N)))
    np.testing.assert_allclose(full[0], model.mx_cov, rtol=0, atol=1e-10)


def test_resample_covariances_rejects_bad_input():
    with pytest.raises(DataError):
        resample_covariances(np.ones((5, 2)), np.ones((3, 4)))
    with pytest.raises(DataError):
        resample_covariances(np.full((5, 2), np.nan), np.ones((3, 5)))
    with pytest.raises(DataError):
        resample_covariances(np.ones((5, 2)), -np.ones((3, 5)))


# ------------------------------------------------------------- algebra vs semopy


def test_objective_gradient_information_equal_semopys(default_fit, bm, boot_covs):
    syntax, data, fitted = default_fit
    assert bm.names == tuple(n for n, p in fitted.parameters.items() if p.active)
    assert bm.observed == tuple(fitted.vars["observed"])
    rng = np.random.default_rng(SEED)
    x = fitted.param_vals + rng.normal(0.0, 0.02, size=bm.q)
    S = boot_covs[3]
    model = _semopy_model(syntax, data)
    model.load_cov(S)
    model.n_samples = N
    assert bm.objective(x, S)[0] == pytest.approx(model.obj_mlw(x), rel=1e-12)
    np.testing.assert_allclose(bm.gradient(x, S)[0], model.grad_mlw(x), rtol=0, atol=1e-12)
    model.update_matrices(x)
    np.testing.assert_allclose(bm.information(x)[0] * N / 2, model.calc_fim(), rtol=1e-10, atol=1e-9)


MIMIC = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ x7 + x8
textual ~ visual + x9
x1 ~~ x4"""

HS_EQUAL = """visual =~ x1 + a*x2 + a*x3
textual =~ x4 + b*x5 + b*x6
speed =~ x7 + x8 + x9"""


@pytest.mark.parametrize(
    "desc, data",
    [
        ("default", None),
        (political_democracy.get_model(), political_democracy.get_data()),  # correlated residuals
        (HS_EQUAL, holzinger39.get_data()),  # one parameter in two matrix entries
        (MIMIC, holzinger39.get_data()),  # observed covariates inside Beta
    ],
    ids=["default", "political-democracy", "hs-equality-labels", "mimic"],
)
def test_analytic_gradient_matches_finite_differences(desc, data, bm, boot_covs, default_fit):
    if desc == "default":
        desc, data = default_fit[0], default_fit[1]
        b, S = bm, boot_covs[0]
    else:
        b = BatchedModel.from_semopy(_semopy_model(desc, data))
        S = _semopy_model(desc, data).mx_cov
    rng = np.random.default_rng(SEED)
    x = b.start + rng.normal(0.0, 0.01, size=b.q) * np.maximum(1.0, np.abs(b.start))
    g = b.gradient(x, S)[0]
    np.testing.assert_allclose(g, _fd_gradient(b, x, S), rtol=1e-5, atol=1e-7)
    # and semopy's own analytic gradient (same parameter layout)
    ref = _semopy_model(desc, data)
    ref.load_cov(S)
    np.testing.assert_allclose(g, ref.grad_mlw(x), rtol=1e-9, atol=1e-11)
    # expected information against semopy's Fisher information (n/2 H)
    ref.update_matrices(x)
    fim = ref.calc_fim()
    np.testing.assert_allclose(b.information(x, S)[0] * ref.n_samples / 2, fim, rtol=1e-9, atol=1e-9 * np.abs(fim).max())


# --------------------------------------------------------------- bootstrap fits


def test_bootstrap_batch_agrees_with_polished_semopy_refits(default_fit, bm, boot_covs):
    syntax, data, _ = default_fit
    fit = bm.fit_batch(boot_covs, n=N)
    assert fit.params.shape == (40, bm.q)
    assert fit.converged.all() and not fit.failed.any()
    assert fit.refit_count == 0
    assert np.all(fit.max_abs_grad < 1e-6)

    obs = list(bm.observed)
    worst = 0.0
    for b in range(len(boot_covs)):
        ref = _semopy_model(syntax, data)
        ref.param_vals = bm.start.copy()
        res = ref.fit(cov=pd.DataFrame(boot_covs[b], index=obs, columns=obs), n_samples=N, **POLISH)
        diff = np.max(np.abs(fit.params[b] - res.x))
        # agree to 1e-4 in every parameter, or the batched fit reaches a lower discrepancy
        assert diff <= 1e-4 or fit.fmin[b] <= res.fun + 1e-12, (b, diff, fit.fmin[b], res.fun)
        assert fit.fmin[b] == pytest.approx(ref.obj_mlw(fit.params[b]), rel=1e-12)
        worst = max(worst, diff)
    logging.getLogger(__name__).info("largest |batched - semopy| over 40 resamples: %.2e", worst)


def test_chunks_and_threads_do_not_change_results(bm, boot_covs):
    a = bm.fit_batch(boot_covs, n=N, chunk_size=1000, n_threads=1)
    b = bm.fit_batch(boot_covs, n=N, chunk_size=7, n_threads=2)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-12)
    assert np.array_equal(a.n_iter, b.n_iter)


def test_textbook_fisher_scoring_reaches_the_same_minimum(bm, boot_covs):
    a = bm.fit_batch(boot_covs[:10], n=N, tol=1e-9)
    b = bm.fit_batch(boot_covs[:10], n=N, tol=1e-9, info_refresh=10**6)  # information at every iterate
    assert a.converged.all() and b.converged.all()
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-7)


@pytest.mark.parametrize("desc", [MIMIC, HS_EQUAL], ids=["mimic", "hs-equality-labels"])
def test_other_models_bootstrap_agrees_with_fresh_semopy_fits(desc):
    """Model-agnostic: observed covariates (their moments fixed per resample) and shared labels.

    The reference is what a plain bootstrap with semopy does: a fresh model
    fitted to each resampled data frame (polished).
    """
    data = holzinger39.get_data()
    model = semopy.Model(desc)
    model.fit(data)
    bm = BatchedModel.from_semopy(model)
    n = len(data)
    counts = bootstrap_counts(n, 5, np.random.default_rng(SEED))
    fit = bm.fit_batch(resample_covariances(bm.data_matrix(data), counts), n=n)
    assert fit.converged.all() and fit.refit_count == 0
    for b in range(5):
        ref = semopy.Model(desc)
        res = ref.fit(data.iloc[np.repeat(np.arange(n), counts[b])].reset_index(drop=True), **POLISH)
        diff = np.max(np.abs(fit.params[b] - res.x))
        assert diff <= 1e-4 or fit.fmin[b] <= res.fun + 1e-12, (b, diff)


# ------------------------------------------------------------ lavaan references


def test_holzinger_swineford_from_semopy_start_reproduces_lavaan():
    model = _semopy_model(holzinger39.get_model(), holzinger39.get_data())
    bm = BatchedModel.from_semopy(model)  # start: semopy's starting values, not a fit
    fit = bm.fit_batch(model.mx_cov, n=model.n_samples, se=True)
    assert fit.converged[0] and fit.refit_count == 0
    est = fit.params[0]
    lavaan = {("visual", "x2"): 0.554, ("visual", "x3"): 0.729, ("textual", "x5"): 1.113,
              ("textual", "x6"): 0.926, ("speed", "x8"): 1.180, ("speed", "x9"): 1.082}
    for (lat, item), value in lavaan.items():
        assert round(est[bm.index(lat, "=~", item)], 3) == value
    assert round(fit.chi2[0], 3) == 85.306
    assert len(bm.observed) * (len(bm.observed) + 1) // 2 - bm.q == 24


def test_political_democracy_from_semopy_start_reproduces_lavaan():
    model = _semopy_model(political_democracy.get_model(), political_democracy.get_data())
    bm = BatchedModel.from_semopy(model)
    fit = bm.fit_batch(model.mx_cov, n=model.n_samples)
    assert fit.converged[0] and fit.refit_count == 0
    est = fit.params[0]
    assert round(est[bm.index("dem60", "~", "ind60")], 3) == 1.483
    assert round(est[bm.index("dem65", "~", "ind60")], 3) == 0.572
    assert round(est[bm.index("dem65", "~", "dem60")], 3) == 0.837
    assert round(est[bm.index("y4", "~~", "y8")], 3) == 0.348  # a residual covariance
    assert round(fit.chi2[0], 3) == 38.125
    assert len(bm.observed) * (len(bm.observed) + 1) // 2 - bm.q == 35


def test_political_democracy_shipped_lavaan_table():
    """semopy's pd_lavaan_params.csv: every one of its 30 free estimates to 3 decimals.

    The table has no ``y4 ~~ y8`` row and its values are the ML estimates of
    the model without that residual covariance (with it, dem60 ~ ind60 is
    1.483, not the table's 1.482), so it is checked against that model.
    """
    table = political_democracy.get_params()
    assert not ((table["lval"] == "y4") & (table["rval"] == "y8")).any()
    desc = political_democracy.get_model().replace("y4 ~~ y8\n", "")
    model = _semopy_model(desc, political_democracy.get_data())
    bm = BatchedModel.from_semopy(model)
    fit = bm.fit_batch(model.mx_cov, n=model.n_samples)
    assert fit.converged[0]
    n_checked = 0
    for row in table.itertuples():
        try:
            i = bm.index(row.lval, row.op, row.rval)
        except KeyError:  # the fixed first loadings
            assert row.op == "=~" and row.Estimate == 1.0
            continue
        assert abs(fit.params[0, i] - row.Estimate) < 5e-4, (row.lval, row.op, row.rval)
        n_checked += 1
    assert n_checked == bm.q == 30


def test_expected_information_standard_errors_equal_semopys():
    desc, data = political_democracy.get_model(), political_democracy.get_data()
    model = _semopy_model(desc, data)
    model.fit(data, **POLISH)
    bm = BatchedModel.from_semopy(model)
    fit = bm.fit_batch(model.mx_cov, n=model.n_samples, se=True)
    # same parameter values: semopy's calc_se (inverse of its calc_fim) exactly
    ref = _semopy_model(desc, data)
    ref.param_vals = fit.params[0].copy()
    ref.update_matrices(ref.param_vals)
    np.testing.assert_allclose(fit.se[0], calc_se(ref), rtol=1e-10)
    # semopy's polished fit with its own estimates
    np.testing.assert_allclose(fit.se[0], calc_se(model), rtol=1e-4)
    np.testing.assert_allclose(bm.standard_errors(fit.params, model.n_samples), fit.se, rtol=1e-12)


def test_monte_carlo_standard_errors_match_the_spread_of_the_estimates(default_fit, bm):
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


# ---------------------------------------------------------- admissible region


def _heywood_cov(model: semopy.Model, item: str = "is1", peers: tuple[str, str] = ("is2", "is3")) -> np.ndarray:
    """The full-sample covariance with ``item``'s variance below its common part.

    For a three-indicator factor the common variance of ``item`` is
    cov(item, a) cov(item, b) / cov(a, b); setting its variance to 90% of that
    forces a negative residual variance on an unconstrained ML fit, while the
    matrix stays positive definite.
    """
    obs = list(model.vars["observed"])
    S = np.array(model.mx_cov, copy=True)
    i, a, b = obs.index(item), obs.index(peers[0]), obs.index(peers[1])
    S[i, i] = 0.9 * S[i, a] * S[i, b] / S[a, b]
    assert np.linalg.eigvalsh(S).min() > 0
    return S


def test_member_with_negative_variance_is_refitted_not_returned(default_fit, bm, boot_covs):
    syntax, data, model = default_fit
    S_bad = _heywood_cov(model)
    covs = np.concatenate([boot_covs[:5], S_bad[None], boot_covs[5:8]])
    k = bm.index("is1", "~~", "is1")

    # without refits the member is reported as failed, with no numbers
    raw = bm.fit_batch(covs, n=N, refit=False)
    assert raw.failed[5] and raw.refitted[5] and not raw.converged[5]
    assert np.all(np.isnan(raw.params[5])) and np.isnan(raw.fmin[5])
    assert raw.converged[np.arange(9) != 5].all()

    fit = bm.fit_batch(covs, n=N)
    assert fit.refit_count == 1 and fit.refitted[5] and fit.converged[5] and not fit.failed.any()
    assert np.all(fit.params[5] >= bm.lower)
    assert fit.params[5, k] == pytest.approx(0.0, abs=1e-8)  # on semopy's bound
    np.testing.assert_array_equal(fit.params[np.arange(9) != 5], raw.params[np.arange(9) != 5])
    # the refit reaches semopy's own constrained minimum
    ref = _semopy_model(syntax, data)
    obs = list(bm.observed)
    res = ref.fit(cov=pd.DataFrame(S_bad, index=obs, columns=obs), n_samples=N, **POLISH)
    assert fit.fmin[5] <= res.fun + 1e-9
    np.testing.assert_allclose(fit.params[5], res.x, atol=1e-3)


def test_non_positive_definite_sample_covariance_is_counted_as_failed(default_fit, bm, boot_covs):
    _, data, _ = default_fit
    counts = np.zeros((1, N))
    counts[0, :12] = N / 12  # 12 distinct rows: rank < 25 items
    singular = resample_covariances(bm.data_matrix(data), counts)
    fit = bm.fit_batch(np.concatenate([boot_covs[:3], singular]), n=N)
    assert fit.failed.tolist() == [False, False, False, True]
    assert np.all(np.isnan(fit.params[3])) and np.isnan(fit.fmin[3])
    assert fit.converged[:3].all()


def test_iteration_limit_and_inadmissible_start_go_to_semopy(bm, boot_covs):
    good = bm.fit_batch(boot_covs[:4], n=N)
    capped = bm.fit_batch(boot_covs[:4], n=N, max_iter=1)
    assert capped.refit_count == 4 and capped.converged.all()
    np.testing.assert_allclose(capped.params, good.params, atol=1e-4)

    start = np.tile(bm.start, (2, 1))
    start[0, bm.index("is1", "~~", "is1")] = -50.0  # implied covariance not PD
    fit = bm.fit_batch(boot_covs[:2], n=N, start=start)
    assert fit.refitted.tolist() == [True, False]
    assert fit.converged.all()
    np.testing.assert_allclose(fit.params, good.params[:2], atol=1e-4)


# ------------------------------------------------------------------ helpers


def test_parameter_helpers_name_and_map_the_estimates(default_fit, bm):
    _, _, model = default_fit
    x = model.param_vals
    table = model.inspect()
    free = table[table["Std. Err"] != "-"]
    for row in free.itertuples():
        assert x[bm.index(row.lval, row.op, row.rval)] == pytest.approx(row.Estimate, rel=1e-12)
    assert bm.index("SN", "=~", "sn2") == bm.index("sn2", "~", "SN")
    assert bm.index("IS", "~~", "ES") == bm.index("ES", "~~", "IS")
    with pytest.raises(KeyError):
        bm.index("SN", "=~", "sn1")  # fixed loading

    frame = bm.frame(x)
    assert frame.shape == (1, bm.q)
    assert frame.loc[0, "WSI ~ SN"] == x[bm.index("WSI", "~", "SN")]
    assert frame.loc[0, "SN =~ sn2"] == x[bm.index("SN", "=~", "sn2")]

    mats = bm.matrices(np.stack([x, x]))
    model.update_matrices(x)
    np.testing.assert_array_equal(mats["beta"][1], model.mx_beta)
    np.testing.assert_array_equal(mats["lambda"][1], model.mx_lambda)
    np.testing.assert_array_equal(mats["psi"][1], model.mx_psi)
    np.testing.assert_array_equal(mats["theta"][1], model.mx_theta)
    np.testing.assert_allclose(bm.implied_cov(x)[0], model.calc_sigma()[0], rtol=1e-13)

    # indirect and total effects from the parameter vector
    b = lambda y, z: x[bm.index(y, "~", z)]  # noqa: E731
    ind = bm.path_product(x, ["IS", "SN", "WSI"])[0]
    assert ind == pytest.approx(b("SN", "IS") * b("WSI", "SN"), rel=1e-14)
    total = bm.total_effects(x)[0]
    i_is, i_wsi = bm.inner.index("IS"), bm.inner.index("WSI")
    expect = b("WSI", "IS") + b("SN", "IS") * b("WSI", "SN") + b("CN", "IS") * b("WSI", "CN")
    assert total[i_wsi, i_is] == pytest.approx(expect, rel=1e-12)


def test_input_errors_are_package_errors(bm):
    with pytest.raises(DataError):
        bm.fit_batch(np.eye(3)[None], n=N)
    with pytest.raises(DataError):
        bm.fit_batch(np.eye(bm.p)[None], n=N, start=np.zeros(bm.q + 1))
    with pytest.raises(EstimationError):
        BatchedModel.from_semopy(semopy.Model(holzinger39.get_model()))  # nothing loaded
