"""Tests of xhs_sharing.analysis.mediation: effects, Monte Carlo, bootstrap, Zhao, TOST."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from xhs_sharing.analysis.mediation import (
    MediationType,
    bootstrap_indirect,
    classify_mediation,
    compute_effects,
    effect_specs,
    indirect_effects_table,
    monte_carlo_ci,
    monte_carlo_indirect,
    tost_draws,
    tost_effect,
    tost_interval,
    tost_path,
    tost_wald,
)
from xhs_sharing.analysis.structural import StructuralResult, fit_structural
from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.bootstrap import BootstrapProgress, bootstrap_refits, chunk_sizes, fit_chunk, refit_resample

# Population values of the simulated mediation model (latent scale fixed by
# marker loadings of 1, Var(X) = 1).
A, B, C = 0.5, 0.4, 0.2
SYNTAX = """
X =~ x1 + x2 + x3
M =~ m1 + m2 + m3
Y =~ y1 + y2 + y3
M ~ X
Y ~ M + X
"""
TRIPLES = [("X", "M", "Y")]


def simulate(n: int, seed: int, a: float = A, b: float = B, c: float = C) -> pd.DataFrame:
    """Three-factor mediation model X -> M -> Y plus X -> Y, 3 indicators each."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    m = a * x + rng.normal(scale=np.sqrt(1 - a**2), size=n)
    y = b * m + c * x + rng.normal(scale=0.8, size=n)
    cols = {}
    for name, lat in (("x", x), ("m", m), ("y", y)):
        for j, lam in enumerate((1.0, 0.8, 0.7)):
            cols[f"{name}{j + 1}"] = lam * lat + rng.normal(scale=0.6, size=n)
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, StructuralResult]:
    data = simulate(2000, seed=20240601)
    return data, fit_structural(SYNTAX, data)


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, StructuralResult]:
    data = simulate(150, seed=7)
    return data, fit_structural(SYNTAX, data)


# --------------------------------------------------------------------------
# Effects as functions of theta
# --------------------------------------------------------------------------
def test_effect_specs_layout() -> None:
    specs = effect_specs([("X", "M1", "Y"), ("X", "M2", "Y"), ("W", "M1", "Y")])
    assert [(s.x, s.mediator, s.y, s.effect) for s in specs] == [
        ("X", "M1", "Y", "indirect"), ("X", "M2", "Y", "indirect"),
        ("X", None, "Y", "total_indirect"), ("X", None, "Y", "direct"),
        ("X", None, "Y", "total"),
        ("W", "M1", "Y", "indirect"), ("W", None, "Y", "total_indirect"),
        ("W", None, "Y", "direct"), ("W", None, "Y", "total"),
    ]


def test_effects_equal_path_products(big: tuple[pd.DataFrame, StructuralResult]) -> None:
    _, fit = big
    specs = effect_specs(TRIPLES)
    est, std = compute_effects(fit.structure, fit.theta, specs)
    a, b, c = (fit.path(*k)["est"] for k in (("M", "X"), ("Y", "M"), ("Y", "X")))
    sa, sb, sc = (fit.path(*k)["std_all"] for k in (("M", "X"), ("Y", "M"), ("Y", "X")))
    np.testing.assert_allclose(est, [a * b, a * b, c, c + a * b], rtol=1e-12)
    # std: a*b*sd(X)/sd(Y) = std(a) * std(b); total = direct + indirect
    np.testing.assert_allclose(std, [sa * sb, sa * sb, sc, sc + sa * sb], rtol=1e-10)
    # batched evaluation equals row-by-row evaluation
    thetas = np.stack([fit.theta, fit.theta * 1.01])
    est2, _ = compute_effects(fit.structure, thetas, specs)
    np.testing.assert_allclose(est2[1], compute_effects(fit.structure, thetas[1], specs)[0])


def test_unlisted_pathway_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=n)
    m1 = 0.5 * x + rng.normal(size=n)
    m2 = 0.4 * x + rng.normal(size=n)
    y = 0.3 * m1 + 0.3 * m2 + rng.normal(size=n)
    data = pd.DataFrame({f"{v}{j}": lat + rng.normal(scale=0.6, size=n)
                         for v, lat in (("x", x), ("a", m1), ("b", m2), ("y", y))
                         for j in range(3)})
    syntax = ("X =~ x0 + x1 + x2\nM1 =~ a0 + a1 + a2\nM2 =~ b0 + b1 + b2\n"
              "Y =~ y0 + y1 + y2\nM1 ~ X\nM2 ~ X\nY ~ M1 + M2\n")
    fit = fit_structural(syntax, data)
    with caplog.at_level(logging.WARNING, logger="xhs_sharing.analysis.mediation"):
        res = monte_carlo_indirect(fit, [("X", "M1", "Y")], seed=1, n_draws=200)
    assert "chains of the model from X to Y are not listed" in caplog.text
    both = monte_carlo_indirect(fit, [("X", "M1", "Y"), ("X", "M2", "Y")], seed=1, n_draws=200)
    # total indirect covers both pathways either way; direct is 0 (no Y ~ X)
    k_tot = res.index("X", "Y", "total_indirect")
    assert res.est[k_tot] == pytest.approx(both.est[0] + both.est[1], rel=1e-10)
    assert res.est[res.index("X", "Y", "direct")] == 0.0
    assert np.all(res.draws_est[:, res.index("X", "Y", "direct")] == 0.0)


def test_triples_validated(big: tuple[pd.DataFrame, StructuralResult]) -> None:
    _, fit = big
    with pytest.raises(SpecError, match="X ~ M"):
        monte_carlo_indirect(fit, [("M", "X", "Y")], seed=1)
    with pytest.raises(SpecError, match="Q"):
        monte_carlo_indirect(fit, [("X", "Q", "Y")], seed=1)
    with pytest.raises(SpecError):
        monte_carlo_indirect(fit, [], seed=1)
    with pytest.raises(SpecError):
        monte_carlo_indirect(fit, [("X", "X", "Y")], seed=1)
    with pytest.raises(SpecError, match="seed"):
        monte_carlo_indirect(fit, TRIPLES, seed=-1)


# --------------------------------------------------------------------------
# Monte Carlo interval on a known distribution
# --------------------------------------------------------------------------
MU_A, S_A, MU_B, S_B = 0.4, 0.1, 0.3, 0.12


def _product_cdf(z: float) -> float:
    """P(ab <= z) for independent a ~ N(MU_A, S_A), b ~ N(MU_B, S_B)."""
    def integrand(a: float) -> float:
        p = stats.norm.cdf((z / a - MU_B) / S_B)
        return stats.norm.pdf(a, MU_A, S_A) * (p if a > 0 else 1.0 - p)
    neg = integrate.quad(integrand, MU_A - 12 * S_A, 0.0, limit=200)[0]
    pos = integrate.quad(integrand, 0.0, MU_A + 12 * S_A, limit=200)[0]
    return neg + pos


def _product_quantile(p: float) -> float:
    return optimize.brentq(lambda z: _product_cdf(z) - p, -1.0, 1.0, xtol=1e-12)


@pytest.mark.slow
def test_monte_carlo_product_of_normals_matches_exact_distribution() -> None:
    n = 20_000
    res = monte_carlo_ci(lambda t: t[:, 0] * t[:, 1], np.array([MU_A, MU_B]),
                         np.diag([S_A**2, S_B**2]), seed=12345, n_draws=n)
    d = res.draws
    mean = MU_A * MU_B
    var = MU_A**2 * S_B**2 + MU_B**2 * S_A**2 + S_A**2 * S_B**2
    assert d.shape == (n,)
    # mean within 4 Monte Carlo standard errors
    assert abs(d.mean() - mean) < 4 * np.sqrt(var / n)
    # variance within 5% (about 5 SE of a sample variance at n = 20,000)
    assert d.var(ddof=1) == pytest.approx(var, rel=0.05)
    # interval endpoints within 4 SE of the exact quantiles (numerical
    # integration); SE of a sample quantile = sqrt(p(1-p)/n) / f(q)
    for p, got in ((0.025, res.low), (0.975, res.high)):
        q = _product_quantile(p)
        dens = (_product_cdf(q + 1e-5) - _product_cdf(q - 1e-5)) / 2e-5
        se = np.sqrt(p * (1 - p) / n) / dens
        assert abs(float(got) - q) < 4 * se, (p, got, q, se)
    # the exact interval is asymmetric around the mean (product is skewed)
    assert _product_quantile(0.975) - mean != pytest.approx(mean - _product_quantile(0.025),
                                                            rel=0.02)


def test_monte_carlo_uses_the_covariance() -> None:
    # E[ab] = mu_a mu_b + cov(a, b): a wrong (e.g. ignored) covariance fails
    rho = 0.8
    cov = np.array([[S_A**2, rho * S_A * S_B], [rho * S_A * S_B, S_B**2]])
    n = 20_000
    res = monte_carlo_ci(lambda t: t[:, 0] * t[:, 1], np.array([MU_A, MU_B]), cov,
                         seed=99, n_draws=n)
    expected = MU_A * MU_B + rho * S_A * S_B
    assert abs(res.draws.mean() - expected) < 4 * res.draws.std() / np.sqrt(n)
    again = monte_carlo_ci(lambda t: t[:, 0] * t[:, 1], np.array([MU_A, MU_B]), cov,
                           seed=99, n_draws=n)
    np.testing.assert_array_equal(res.draws, again.draws)


# --------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_bootstrap_identical_for_any_n_jobs(small: tuple[pd.DataFrame, StructuralResult]) -> None:
    data, fit = small
    kw = dict(n_boot=22, seed=2024, chunk_size=6, full_fit=fit)
    seq = bootstrap_indirect(data, SYNTAX, TRIPLES, n_jobs=1, **kw)
    par = bootstrap_indirect(data, SYNTAX, TRIPLES, n_jobs=2, **kw)
    assert seq.requested == par.requested == 22
    np.testing.assert_array_equal(seq.status, par.status)
    np.testing.assert_array_equal(seq.thetas, par.thetas)
    np.testing.assert_array_equal(seq.draws_est, par.draws_est)
    np.testing.assert_array_equal(seq.std_draws, par.std_draws)


def test_bootstrap_streams_follow_seed_sequence(
    small: tuple[pd.DataFrame, StructuralResult],
) -> None:
    data, fit = small
    res = bootstrap_indirect(data, SYNTAX, TRIPLES, n_boot=9, seed=77, chunk_size=4,
                             full_fit=fit)
    assert res.converged == 9
    x = data[list(fit.structure.observed)].to_numpy()
    children = np.random.SeedSequence(77).spawn(3)  # chunks of 4, 4, 1
    idx = np.random.default_rng(children[2]).integers(0, len(x), size=(1, len(x)))
    expected = refit_resample(fit.structure, x[idx[0]], fit.theta)
    np.testing.assert_array_equal(res.thetas[8], expected.theta)
    idx0 = np.random.default_rng(children[0]).integers(0, len(x), size=(4, len(x)))
    np.testing.assert_array_equal(res.thetas[1],
                                  refit_resample(fit.structure, x[idx0[1]], fit.theta).theta)


def _mean_fitter(structure, data, indices, theta0):  # noqa: ANN001, ANN202
    """A chunk fitter without a model: the column means of every resample; odd first columns fail."""
    thetas = data[indices].mean(axis=1)
    status = ["converged" if int(round(t[0] * 1e6)) % 2 == 0 else "odd" for t in thetas]
    return thetas, status


def test_resampling_engine_is_model_agnostic_and_keeps_every_resample() -> None:
    data = np.random.default_rng(3).normal(size=(30, 2))
    assert chunk_sizes(10, 4) == [4, 4, 2] and chunk_sizes(8, 4) == [4, 4] and chunk_sizes(3, 5) == [3]
    reports: list[BootstrapProgress] = []
    out = bootstrap_refits(None, data, np.zeros(2), n_resamples=10, seed=12, chunk_size=4,
                           chunk_fitter=_mean_fitter, progress=reports.append)
    # resample j of chunk k: row j of integers(0, n, (size, n)) on child k of SeedSequence(seed)
    children = np.random.SeedSequence(12).spawn(3)
    expected = np.concatenate([
        data[np.random.default_rng(children[k]).integers(0, 30, size=(size, 30))].mean(axis=1)
        for k, size in enumerate((4, 4, 2))
    ])
    np.testing.assert_array_equal(out.thetas, expected)
    assert out.thetas.shape == (10, 2) and out.status.shape == (10,)  # failed resamples are kept
    n_odd = int((out.status == "odd").sum())
    assert out.failures == ({"odd": n_odd} if n_odd else {})
    assert int(out.converged.sum()) == 10 - n_odd and (out.seed, out.chunk_size) == (12, 4)
    assert [(r.chunks_done, r.resamples_done) for r in reports] == [(1, 4), (2, 8), (3, 10)]
    assert reports[-1].failed == n_odd
    with pytest.raises(SpecError, match="chunk_size"):
        bootstrap_refits(None, data, np.zeros(2), n_resamples=10, seed=12, chunk_size=0, chunk_fitter=_mean_fitter)


def _failing_fitter(structure, data, indices, theta0):  # noqa: ANN001, ANN202
    thetas, status = fit_chunk(structure, data, indices, theta0)
    status = ["nonconverged" if j % 3 == 0 else s for j, s in enumerate(status)]
    return thetas, status


def test_bootstrap_counts_failures_and_reports_progress(
    small: tuple[pd.DataFrame, StructuralResult],
) -> None:
    data, fit = small
    kw = dict(n_boot=10, seed=5, chunk_size=4, full_fit=fit)
    plain = bootstrap_indirect(data, SYNTAX, TRIPLES, **kw)
    reports: list[BootstrapProgress] = []
    res = bootstrap_indirect(data, SYNTAX, TRIPLES, progress=reports.append,
                             chunk_fitter=_failing_fitter, **kw)
    # chunks of 4, 4, 2; the fitter fails positions 0 and 3 of each chunk
    forced = [j for j in range(10) if (j % 4) % 3 == 0]
    assert forced == [0, 3, 4, 7, 8]
    expected = plain.status.copy()
    expected[forced] = "nonconverged"
    np.testing.assert_array_equal(res.status, expected)
    n_ok = int((expected == "converged").sum())
    assert (res.requested, res.converged, res.failed) == (10, n_ok, 10 - n_ok)
    assert res.failures["nonconverged"] == 5
    assert sum(res.failures.values()) == res.failed
    assert res.summary()["seed"] == 5
    assert res.draws_est.shape == (n_ok, 4)
    assert [r.chunks_done for r in reports] == [1, 2, 3]
    assert [r.resamples_done for r in reports] == [4, 8, 10]
    assert reports[-1].failed == res.failed
    # intervals use exactly the converged resamples of the same streams
    plain_ok = np.flatnonzero(plain.status == "converged")
    keep = [n for n, j in enumerate(plain_ok) if expected[j] == "converged"]
    np.testing.assert_array_equal(res.thetas, plain.thetas[keep])


def test_bootstrap_argument_validation(small: tuple[pd.DataFrame, StructuralResult]) -> None:
    data, fit = small
    for kw in (dict(n_boot=0, seed=1), dict(n_boot=5, seed=1.5), dict(n_boot=5, seed=1, n_jobs=0),
               dict(n_boot=5, seed=1, chunk_size=0)):
        with pytest.raises(SpecError):
            bootstrap_indirect(data, SYNTAX, TRIPLES, full_fit=fit, **kw)
    with pytest.raises(SpecError, match="different model syntax"):
        bootstrap_indirect(data, SYNTAX.replace("Y ~ M + X", "Y ~ M"), TRIPLES, n_boot=2,
                           seed=1, full_fit=fit)
    with pytest.raises(SpecError, match="respondents"):
        bootstrap_indirect(data.iloc[:100], SYNTAX, TRIPLES, n_boot=2, seed=1, full_fit=fit)
    with pytest.raises(SpecError, match="start method"):
        bootstrap_indirect(data, SYNTAX, TRIPLES, n_boot=2, seed=1, full_fit=fit, n_jobs=2,
                           mp_context="nonsense")


@pytest.mark.slow
def test_bootstrap_recovers_population_and_agrees_with_monte_carlo(
    big: tuple[pd.DataFrame, StructuralResult],
) -> None:
    data, fit = big
    boot = bootstrap_indirect(data, SYNTAX, TRIPLES, n_boot=300, seed=31, full_fit=fit)
    mc = monte_carlo_indirect(fit, TRIPLES, seed=32)
    assert boot.converged == 300 and boot.failed == 0
    k = boot.index("X", "Y", "indirect", "M")
    sd_mc = mc.draws_est[:, k].std()
    # point estimate and bootstrap centre within 4 SE of the population a*b
    assert abs(boot.est[k] - A * B) < 4 * sd_mc
    assert abs(np.median(boot.draws_est[:, k]) - A * B) < 4 * sd_mc
    # bootstrap and MC describe the same sampling distribution: SDs within
    # 20% (about 5 SE of a 300-draw SD), endpoints within a quarter of the MC
    # interval width (about 6 SE of a 300-draw 2.5% quantile)
    assert boot.draws_est[:, k].std() == pytest.approx(sd_mc, rel=0.20)
    b_lo, b_hi = boot.interval()
    m_lo, m_hi = mc.interval()
    width = m_hi - m_lo
    assert np.all(np.abs(b_lo - m_lo) < 0.25 * width)
    assert np.all(np.abs(b_hi - m_hi) < 0.25 * width)
    # std scale too, and the full table wires both in
    s_lo, s_hi = boot.interval(scale="std")
    ms_lo, ms_hi = mc.interval(scale="std")
    assert np.all(np.abs(s_lo - ms_lo) < 0.25 * (ms_hi - ms_lo))
    table = indirect_effects_table(fit, TRIPLES, boot=boot, mc=mc)
    assert list(table.columns) == [
        "x", "mediator", "y", "effect", "est", "se", "std_est", "std_se", "boot_ci_low", "boot_ci_high",
        "mc_ci_low", "mc_ci_high", "mediation_type"]
    assert list(table["effect"]) == ["indirect", "total_indirect", "direct", "total"]
    np.testing.assert_allclose(table["boot_ci_low"], b_lo)
    np.testing.assert_allclose(table["mc_ci_high"], m_hi)
    # a = .5, b = .4, c = .2 all clearly non-zero and positive at N = 2000
    assert set(table["mediation_type"]) == {"complementary"}


@pytest.mark.slow
def test_bootstrap_refuses_improper_full_sample() -> None:
    data = simulate(150, seed=7)
    fit = fit_structural(SYNTAX, data)
    bad = dataclasses.replace(fit, problems=("negative residual variance of x1",))
    with pytest.raises(EstimationError, match="improper"):
        bootstrap_indirect(data, SYNTAX, TRIPLES, n_boot=2, seed=1, full_fit=bad)


# --------------------------------------------------------------------------
# Table without bootstrap
# --------------------------------------------------------------------------
def test_table_without_bootstrap_uses_monte_carlo(
    small: tuple[pd.DataFrame, StructuralResult],
) -> None:
    _, fit = small
    with pytest.raises(SpecError, match="seed"):
        indirect_effects_table(fit, TRIPLES)
    table = indirect_effects_table(fit, TRIPLES, seed=8, n_draws=2000)
    assert table[["boot_ci_low", "boot_ci_high"]].isna().all().all()
    assert table["mediator"].iloc[0] == "M"
    assert table["mediator"].iloc[1:].isna().all()
    mc = monte_carlo_indirect(fit, TRIPLES, seed=8, n_draws=2000)
    lo, hi = mc.interval()
    np.testing.assert_allclose(table["mc_ci_low"], lo)
    expected = str(classify_mediation((lo[1], hi[1]), (lo[2], hi[2])))
    assert set(table["mediation_type"].iloc[1:]) == {expected}
    other = dataclasses.replace(mc, specs=effect_specs([("A", "B", "C")]))
    with pytest.raises(SpecError, match="other chains"):
        indirect_effects_table(fit, TRIPLES, mc=other)


# --------------------------------------------------------------------------
# Zhao, Lynch & Chen (2010)
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("indirect", "direct", "expected"),
    [
        ((0.1, 0.3), (0.05, 0.2), MediationType.COMPLEMENTARY),
        ((-0.3, -0.1), (-0.2, -0.05), MediationType.COMPLEMENTARY),
        ((0.1, 0.3), (-0.2, -0.05), MediationType.COMPETITIVE),
        ((-0.3, -0.1), (0.05, 0.2), MediationType.COMPETITIVE),
        ((0.1, 0.3), (-0.05, 0.2), MediationType.INDIRECT_ONLY),
        ((-0.3, -0.1), (0.0, 0.0), MediationType.INDIRECT_ONLY),
        ((-0.01, 0.3), (0.05, 0.2), MediationType.DIRECT_ONLY),
        ((-0.01, 0.3), (-0.4, -0.2), MediationType.DIRECT_ONLY),
        ((-0.01, 0.3), (-0.05, 0.2), MediationType.NO_EFFECT),
        ((0.0, 0.3), (-0.05, 0.0), MediationType.NO_EFFECT),
    ],
)
def test_zhao_classification(indirect, direct, expected) -> None:  # noqa: ANN001
    assert classify_mediation(indirect, direct) is expected


def test_zhao_rejects_invalid_interval() -> None:
    with pytest.raises(SpecError):
        classify_mediation((0.3, 0.1), (0.0, 1.0))
    with pytest.raises(SpecError):
        classify_mediation((np.nan, 0.1), (0.0, 1.0))


# --------------------------------------------------------------------------
# TOST
# --------------------------------------------------------------------------
def test_tost_wald_each_verdict() -> None:
    eq = tost_wald(0.02, 0.03)
    assert eq.verdict == "equivalent"
    assert eq.p_value == pytest.approx(stats.norm.cdf((0.02 - 0.10) / 0.03), rel=1e-12)
    assert eq.p_value < 0.05
    z95 = stats.norm.ppf(0.95)
    assert (eq.ci_low, eq.ci_high) == pytest.approx((0.02 - z95 * 0.03, 0.02 + z95 * 0.03))
    inc = tost_wald(0.05, 0.05)
    assert inc.verdict == "inconclusive"
    assert inc.p_value == pytest.approx(stats.norm.cdf(-1.0), rel=1e-12)
    ne = tost_wald(-0.3, 0.05)
    assert ne.verdict == "not equivalent"
    assert ne.p_value == pytest.approx(stats.norm.sf(-4.0), rel=1e-12)
    wide = tost_wald(0.0, 0.2, sesoi=0.10)
    assert wide.verdict == "inconclusive"
    # p < alpha exactly when the 90% interval is inside the bounds
    for est in np.linspace(-0.2, 0.2, 41):
        r = tost_wald(float(est), 0.03)
        assert (r.p_value < 0.05) == (r.verdict == "equivalent")


def test_tost_interval_each_verdict() -> None:
    assert tost_interval(0.01, -0.05, 0.08).verdict == "equivalent"
    assert tost_interval(0.01, -0.2, 0.05).verdict == "inconclusive"
    assert tost_interval(0.2, 0.12, 0.3).verdict == "not equivalent"
    assert tost_interval(-0.2, -0.3, -0.1).verdict == "not equivalent"
    assert np.isnan(tost_interval(0.01, -0.05, 0.08).p_value)
    with pytest.raises(SpecError):
        tost_interval(0.0, 0.1, -0.1)
    with pytest.raises(SpecError):
        tost_wald(0.0, 0.1, sesoi=0.0)


def test_tost_draws_each_verdict() -> None:
    eq = tost_draws(np.linspace(-0.05, 0.09, 1001), 0.02)
    assert eq.verdict == "equivalent" and eq.p_value == 0.0
    assert (eq.ci_low, eq.ci_high) == pytest.approx((-0.043, 0.083))
    inc = tost_draws(np.linspace(-0.2, 0.2, 401), 0.0)
    assert inc.verdict == "inconclusive"
    assert inc.p_value == pytest.approx(101 / 401)  # draws at or beyond +-0.1
    ne = tost_draws(np.linspace(0.15, 0.4, 101), 0.3)
    assert ne.verdict == "not equivalent" and ne.p_value == 1.0


def test_tost_on_fitted_model(big: tuple[pd.DataFrame, StructuralResult]) -> None:
    _, fit = big
    row = fit.std_path("Y", "X")
    res = tost_path(fit, "Y", "X")
    assert res.estimate == row["std_all"] and res.se == row["se"]
    assert res.verdict == "not equivalent"  # std direct effect ~ .16, well above .10
    mc = monte_carlo_indirect(fit, TRIPLES, seed=4, n_draws=5000)
    ind = tost_effect(mc, "X", "Y", mediator="M")
    k = mc.index("X", "Y", "indirect", "M")
    lo, hi = np.quantile(mc.std_draws[:, k], [0.05, 0.95])
    assert (ind.ci_low, ind.ci_high) == pytest.approx((lo, hi))
    assert ind.verdict == "not equivalent"
