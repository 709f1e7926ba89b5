"""Tests of the ML fit (xhs_sharing.analysis.structural, xhs_sharing.sem.estimation): lavaan known answers, diagnostics.

semopy appears here only as an independent reference (its Fisher information
and its std.all of regressions and loadings at the package's estimates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import semopy
from scipy import stats
from semopy.examples import political_democracy as pdm

from xhs_sharing.analysis.structural import StructuralResult, fit_structural
from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.checks import check_solutions, solution_problems
from xhs_sharing.sem.estimation import solve_ml
from xhs_sharing.sem.model import lavaan_default_lines
from xhs_sharing.sem.objectives import ml_discrepancy, sample_covariance
from xhs_sharing.sem.standardize import std_all_values

# lavaan 0.6 tutorial ("SEM" page), sem(model, data = PoliticalDemocracy),
# the model shipped by semopy.examples.political_democracy (with y4 ~~ y8):
# estimates and standard errors as printed by summary(fit) (3 decimals).
LAVAAN_TUTORIAL_EST = {
    ("ind60", "=~", "x2"): 2.180, ("ind60", "=~", "x3"): 1.819,
    ("dem60", "=~", "y2"): 1.257, ("dem60", "=~", "y3"): 1.058,
    ("dem60", "=~", "y4"): 1.265, ("dem65", "=~", "y6"): 1.186,
    ("dem65", "=~", "y7"): 1.280, ("dem65", "=~", "y8"): 1.266,
    ("dem60", "~", "ind60"): 1.483, ("dem65", "~", "ind60"): 0.572,
    ("dem65", "~", "dem60"): 0.837,
    ("y1", "~~", "y5"): 0.624, ("y2", "~~", "y4"): 1.313,
    ("y2", "~~", "y6"): 2.153, ("y3", "~~", "y7"): 0.795,
    ("y4", "~~", "y8"): 0.348, ("y6", "~~", "y8"): 1.356,
    ("x1", "~~", "x1"): 0.082, ("x2", "~~", "x2"): 0.120,
    ("x3", "~~", "x3"): 0.467, ("y1", "~~", "y1"): 1.891,
    ("y2", "~~", "y2"): 7.373, ("y3", "~~", "y3"): 5.067,
    ("y4", "~~", "y4"): 3.148, ("y5", "~~", "y5"): 2.351,
    ("y6", "~~", "y6"): 4.954, ("y7", "~~", "y7"): 3.431,
    ("y8", "~~", "y8"): 3.254, ("ind60", "~~", "ind60"): 0.448,
    ("dem60", "~~", "dem60"): 3.956, ("dem65", "~~", "dem65"): 0.172,
}
LAVAAN_TUTORIAL_SE = {
    ("dem60", "~", "ind60"): 0.399,
    ("dem65", "~", "ind60"): 0.221,
    ("dem65", "~", "dem60"): 0.098,
}


def _lookup(params: pd.DataFrame, lhs: str, op: str, rhs: str) -> pd.Series:
    sel = params[(params["op"] == op) & (
        ((params["lhs"] == lhs) & (params["rhs"] == rhs))
        | ((op == "~~") & (params["lhs"] == rhs) & (params["rhs"] == lhs))
    )]
    assert len(sel) == 1, (lhs, op, rhs)
    return sel.iloc[0]


@pytest.fixture(scope="module")
def pd_fit() -> StructuralResult:
    return fit_structural(pdm.get_model(), pdm.get_data())


def _exact_sample(cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Data whose N-divisor sample covariance equals ``cov`` exactly."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, cov.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(sample_covariance(z))).T
    return z @ np.linalg.cholesky(cov).T


@pytest.fixture(scope="module")
def heywood_data() -> pd.DataFrame:
    # One-factor block with s12 s13 / s23 = 1.225 > s11 = 1: the ML residual
    # variance of a1 is negative (Heywood case).
    a = np.array([[1, .7, .7], [.7, 1, .4], [.7, .4, 1]])
    b = np.array([[1, .5, .5], [.5, 1, .5], [.5, .5, 1]])
    cov = np.block([[a, np.full((3, 3), .3)], [np.full((3, 3), .3), b]])
    return pd.DataFrame(_exact_sample(cov, 200, seed=11),
                        columns=["a1", "a2", "a3", "b1", "b2", "b3"])


HEYWOOD_SYNTAX = "F =~ a1 + a2 + a3\nG =~ b1 + b2 + b3\nG ~ F\n"


# --------------------------------------------------------------------------
# Known answers: lavaan on Political Democracy
# --------------------------------------------------------------------------
def test_political_democracy_matches_lavaan_tutorial(pd_fit: StructuralResult) -> None:
    assert pd_fit.converged
    assert pd_fit.proper
    assert pd_fit.df == 35
    assert round(pd_fit.chi2, 3) == 38.125
    assert len(pd_fit.params) == 34  # 31 free + 3 marker loadings
    for key, value in LAVAAN_TUTORIAL_EST.items():
        assert round(float(_lookup(pd_fit.params, *key)["est"]), 3) == value, key
    for (lhs, _, rhs), value in LAVAAN_TUTORIAL_SE.items():
        assert round(float(pd_fit.path(lhs, rhs)["se"]), 3) == value
    # the three regressions named in the brief
    assert [round(v, 3) for v in pd_fit.paths["est"]] == [1.483, 0.572, 0.837]


def test_every_parameter_matches_lavaan_params_file() -> None:
    """semopy ships lavaan estimates in pd_lavaan_params.csv.

    That file has no ``y4 ~~ y8`` row (33 rows; the tutorial model has 34
    parameters), i.e. it is lavaan's fit of the model *without* that
    covariance (df 36), so we fit that model and compare every row.
    """
    lav = pdm.get_params()
    assert len(lav) == 33
    assert not ((lav["lval"] == "y4") & (lav["rval"] == "y8")).any()
    syntax = pdm.get_model().replace("y4 ~~ y8\n", "")
    fit = fit_structural(syntax, pdm.get_data())
    assert fit.df == 36
    assert len(fit.params) == len(lav)
    for row in lav.itertuples():
        est = float(_lookup(fit.params, row.lval, row.op, row.rval)["est"])
        assert abs(est - row.Estimate) < 5e-4, (row.lval, row.op, row.rval)


def test_polish_reaches_stationary_point(pd_fit: StructuralResult) -> None:
    s = sample_covariance(pdm.get_data()[list(pd_fit.structure.observed)].to_numpy())
    sigma = pd_fit.structure.implied_covariance(pd_fit.theta)
    assert ml_discrepancy(sigma, s) == pytest.approx(pd_fit.fmin, rel=1e-12)
    # central-difference gradient of F vanishes at the solution
    h = 1e-6
    grad = []
    for k in range(pd_fit.theta.size):
        e = np.zeros_like(pd_fit.theta)
        e[k] = h
        f_plus = ml_discrepancy(pd_fit.structure.implied_covariance(pd_fit.theta + e), s)
        f_minus = ml_discrepancy(pd_fit.structure.implied_covariance(pd_fit.theta - e), s)
        grad.append((f_plus - f_minus) / (2 * h))
    assert np.max(np.abs(grad)) < 1e-7
    # a perturbed start returns to the same optimum
    sol = solve_ml(pd_fit.structure, s, pd_fit.theta * 1.05)
    assert sol.converged
    np.testing.assert_allclose(sol.theta, pd_fit.theta, rtol=1e-7, atol=1e-9)


def _semopy_at(fit: StructuralResult) -> semopy.Model:
    """semopy's model of the same syntax and data, set to the package's estimates (same parameter order)."""
    model = semopy.Model(fit.syntax)
    model.load(pdm.get_data())
    assert tuple(n for n, p in model.parameters.items() if p.active) == fit.structure.param_names
    model.param_vals = fit.theta.copy()
    model.update_matrices(model.param_vals)
    return model


def test_chi2_and_acov_agree_with_semopy_at_the_estimates(pd_fit: StructuralResult) -> None:
    model = _semopy_at(pd_fit)
    assert model.obj_mlw(pd_fit.theta) * pd_fit.n_obs == pytest.approx(pd_fit.chi2, rel=1e-12)
    np.testing.assert_allclose(model.calc_sigma()[0], pd_fit.structure.implied_covariance(pd_fit.theta),
                               rtol=1e-14, atol=1e-14)
    # acov is semopy's inverse expected information at the same point
    _, fim_inv = model.calc_fim(inverse=True)
    np.testing.assert_allclose(pd_fit.acov, fim_inv, rtol=1e-8, atol=1e-14)


# --------------------------------------------------------------------------
# Standardised solution and R2
# --------------------------------------------------------------------------
def test_std_all_regressions_and_loadings_agree_with_semopy(pd_fit: StructuralResult) -> None:
    ins = _semopy_at(pd_fit).inspect(std_est=True)
    checked = 0
    for _, row in ins[ins["op"] == "~"].iterrows():
        # semopy writes loadings as "indicator ~ latent"
        if row["lval"] in pd_fit.structure.latent:
            ours = _lookup(pd_fit.params, row["lval"], "~", row["rval"])["std_all"]
        else:
            ours = _lookup(pd_fit.params, row["rval"], "=~", row["lval"])["std_all"]
        assert ours == pytest.approx(float(row["Est. Std"]), rel=1e-10)
        checked += 1
    assert checked == 14
    assert [round(v, 3) for v in pd_fit.paths["std_all"]] == [0.447, 0.182, 0.885]


def test_std_all_residual_covariance_uses_residual_variances(pd_fit: StructuralResult) -> None:
    p = pd_fit.params
    cov = _lookup(p, "y1", "~~", "y5")
    v1, v5 = _lookup(p, "y1", "~~", "y1")["est"], _lookup(p, "y5", "~~", "y5")["est"]
    # lavaan cov.std = TRUE: a residual correlation, 0.624 / sqrt(1.891 * 2.351)
    assert cov["std_all"] == pytest.approx(cov["est"] / np.sqrt(v1 * v5), rel=1e-12)
    assert round(float(cov["std_all"]), 3) == 0.296
    # semopy instead divides by total SDs (0.092): that is why we compute it
    ins = _semopy_at(pd_fit).inspect(std_est=True)
    semopy_std = ins[(ins["lval"] == "y1") & (ins["rval"] == "y5")]["Est. Std"].iloc[0]
    assert round(float(semopy_std), 3) == 0.092


def test_r2_of_endogenous_latents(pd_fit: StructuralResult) -> None:
    r2 = dict(zip(pd_fit.r2["variable"], pd_fit.r2["r2"], strict=True))
    assert set(r2) == {"dem60", "dem65"}
    for v in r2:
        psi_std = _lookup(pd_fit.params, v, "~~", v)["std_all"]
        assert r2[v] == pytest.approx(1.0 - psi_std, rel=1e-12)
    assert round(r2["dem60"], 3) == 0.200
    assert round(r2["dem65"], 3) == 0.961


def test_paths_table_columns_and_wald_intervals(pd_fit: StructuralResult) -> None:
    assert list(pd_fit.paths.columns) == [
        "lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "ci_low", "ci_high"]
    z975 = stats.norm.ppf(0.975)
    p = pd_fit.paths
    np.testing.assert_allclose(p["ci_low"], p["est"] - z975 * p["se"], rtol=1e-12)
    np.testing.assert_allclose(p["ci_high"], p["est"] + z975 * p["se"], rtol=1e-12)
    np.testing.assert_allclose(p["z"], p["est"] / p["se"], rtol=1e-12)
    np.testing.assert_allclose(p["pvalue"], 2 * stats.norm.sf(np.abs(p["z"])), rtol=1e-12)


def test_standardised_se_is_delta_method(pd_fit: StructuralResult) -> None:
    st = pd_fit.structure
    beta_rows = [n for n, r in enumerate(st.rows) if r.op == "~"]
    h = 1e-6
    jac = np.empty((len(beta_rows), pd_fit.theta.size))
    for k in range(pd_fit.theta.size):
        e = np.zeros_like(pd_fit.theta)
        e[k] = h
        jac[:, k] = (std_all_values(st, pd_fit.theta + e)[beta_rows]
                     - std_all_values(st, pd_fit.theta - e)[beta_rows]) / (2 * h)
    se_fd = np.sqrt(np.diag(jac @ pd_fit.acov @ jac.T))
    keys = [(st.rows[n].lhs, st.rows[n].rhs) for n in beta_rows]
    ours = [float(pd_fit.std_path(lhs, rhs)["se"]) for lhs, rhs in keys]
    np.testing.assert_allclose(ours, se_fd, rtol=1e-6)


# --------------------------------------------------------------------------
# lavaan defaults
# --------------------------------------------------------------------------
def test_lavaan_auto_cov_y_added_for_pure_dependent_latents() -> None:
    rng = np.random.default_rng(5)
    n = 300
    f = rng.normal(size=n)
    g1 = 0.5 * f + rng.normal(size=n)
    g2 = 0.4 * f + 0.5 * g1 + rng.normal(size=n)  # g1 predicts g2: not pure y
    g3 = 0.3 * f + rng.normal(size=n)
    cols = {}
    for name, lat in (("f", f), ("g", g1), ("h", g2), ("k", g3)):
        for j in range(3):
            cols[f"{name}{j}"] = lat + rng.normal(scale=0.7, size=n)
    data = pd.DataFrame(cols)
    syntax = ("F =~ f0 + f1 + f2\nG =~ g0 + g1 + g2\nH =~ h0 + h1 + h2\n"
              "K =~ k0 + k1 + k2\nG ~ F\nH ~ F + G\nK ~ F\n")
    fit = fit_structural(syntax, data)
    assert lavaan_default_lines(syntax) == ["H ~~ K"]
    assert "H ~~ K" in fit.syntax
    assert _lookup(fit.params, "H", "~~", "K")["free"] >= 0
    plain = fit_structural(syntax, data, lavaan_defaults=False)
    assert plain.df == fit.df + 1
    assert lavaan_default_lines(pdm.get_model()) == []


# --------------------------------------------------------------------------
# Diagnostics and error policy
# --------------------------------------------------------------------------
def test_heywood_case_raises_by_default(heywood_data: pd.DataFrame) -> None:
    with pytest.raises(EstimationError, match="negative residual variance of a1"):
        fit_structural(HEYWOOD_SYNTAX, heywood_data)


def test_heywood_case_flagged_when_allowed(heywood_data: pd.DataFrame) -> None:
    fit = fit_structural(HEYWOOD_SYNTAX, heywood_data, allow_improper=True)
    assert not fit.proper
    assert fit.problems == ("negative residual variance of a1",)
    # unbounded like lavaan: the estimate is negative, not stuck at 0
    assert _lookup(fit.params, "a1", "~~", "a1")["est"] < -0.01
    with pytest.raises(EstimationError, match="improper"):
        fit.raise_if_improper()


def test_non_pd_latent_covariance_detected(pd_fit: StructuralResult) -> None:
    st = pd_fit.structure
    theta = pd_fit.theta.copy()
    k = next(r.free for r in st.rows if r.lhs == "dem65" and r.rhs == "dem65")
    theta[k] = -0.5
    probs = solution_problems(st, theta)
    assert "negative (residual) variance of dem65" in probs
    assert "model-implied covariance of latent variables is not positive definite" in probs
    assert solution_problems(st, pd_fit.theta) == []


def test_non_convergence_raises() -> None:
    with pytest.raises(EstimationError, match="did not converge"):
        fit_structural(pdm.get_model(), pdm.get_data(), max_iter=1)


@pytest.mark.parametrize("syntax", ["", "   ", "dem60 ~ ind60"])
def test_bad_syntax_raises_spec_error(syntax: str) -> None:
    with pytest.raises(SpecError):
        fit_structural(syntax, pdm.get_data())


def test_bad_data_raises_data_error() -> None:
    data = pdm.get_data()
    with pytest.raises(DataError, match="x2"):
        fit_structural(pdm.get_model(), data.drop(columns="x2"))
    with_na = data.copy()
    with_na.iloc[3, 2] = np.nan
    with pytest.raises(DataError, match="missing"):
        fit_structural(pdm.get_model(), with_na)
    with pytest.raises(DataError, match="DataFrame"):
        fit_structural(pdm.get_model(), data.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(DataError, match="singular"):
        fit_structural(pdm.get_model(), data.iloc[:10])


def test_improper_check_and_std_all_work_on_stacks(pd_fit: StructuralResult) -> None:
    """One vectorised check and one std.all for a single solution and for a batch of them."""
    st = pd_fit.structure
    bad = pd_fit.theta.copy()
    bad[st.param_index("dem65", "~~", "dem65")] = -0.5
    thetas = np.stack([pd_fit.theta, bad])
    chk = check_solutions(st, thetas)
    assert chk.proper.tolist() == [True, False]
    assert chk.negative_latent[1, st.inner_index("dem65")] and chk.latent_not_pd[1]
    assert not chk.negative_observed.any() and not chk.theta_not_pd.any()
    std = std_all_values(st, thetas)
    np.testing.assert_allclose(std[0], std_all_values(st, pd_fit.theta), rtol=1e-13)
    np.testing.assert_allclose(std[0], pd_fit.params.set_index(["lhs", "op", "rhs"]).loc[
        [(r.lhs, r.op, r.rhs) for r in st.rows], "std_all"].to_numpy(), rtol=1e-13)
