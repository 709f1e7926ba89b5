"""Missing data: EM for the saturated model, FIML estimation, fit and the stages.

Known answers used here:

* the EM estimates of a bivariate normal with x1 complete and x2 missing on
  some rows have a closed form (Anderson 1957; Little & Rubin 2002, sec.
  7.2): on the data below mu = (3.5, 3.1), Sigma = [[35/12, 1.75], [1.75, 1.85]],
  worked by hand in the test;
* with complete data FIML is ML: the same estimates, the sample means as
  intercepts, and a likelihood-ratio chi-square equal to N F_ML;
* a just-identified structure fitted by FIML reproduces the EM (saturated)
  moments, an independent algorithm;
* semopy's ``ModelMeans(obj="ML")`` is a separate FIML implementation (to
  SLSQP precision);
* large samples from known populations: MCAR (20% of every item missing)
  and a MAR selection on an always-observed item, where listwise deletion
  is biased and FIML is not. Tolerances are in standard errors of the fit
  itself; the seeds are the package's master seed, fixed once.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import semopy
from scipy import stats
from semopy.examples import holzinger39

from xhs_sharing.analysis.measurement import cfa_syntax, fit_cfa
from xhs_sharing.analysis.mediation import bootstrap_indirect
from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.errors import DataError, SpecError
from xhs_sharing.pipeline.measurement import run_measurement
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.sem.bootstrap import CONVERGED, SINGULAR_DATA, FimlChunkFitter, refit_resample_fiml
from xhs_sharing.sem.estimation import ModelFit, fit_model, ml_hessian
from xhs_sharing.sem.fit import fiml_fit_measures, fit_measures
from xhs_sharing.sem.frames import observed_matrix
from xhs_sharing.sem.model import load_model
from xhs_sharing.sem.mvnorm_missing import (
    FimlObjective,
    MissingData,
    em_moments,
    estimator_label,
    mvn_loglik,
    optimal_mean,
)
from xhs_sharing.sem.objectives import ml_discrepancy
from xhs_sharing.study.syntax import mediation_triples
from xhs_sharing.study.synthetic import codebook, simulate_survey

SEED = 20261127  # the package's master seed (config/config.yaml)
HS_COLS = [f"x{i}" for i in range(1, 10)]


def blank(frame: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """Every cell missing independently with probability ``share`` (MCAR)."""
    rng = np.random.default_rng(seed)
    return frame.mask(rng.random(frame.shape) < share)


def fit_syntax(syntax: str, data: pd.DataFrame, *, fiml: bool | None = None) -> ModelFit:
    """``syntax`` as written, fitted by the package's estimator (FIML with missing values or ``fiml=True``)."""
    parsed = load_model(syntax, lavaan_defaults=False)
    fit = fit_model(parsed, observed_matrix(data, parsed.observed, allow_missing=True), fiml=fiml)
    fit.require_identified()
    return fit


def sigma_of(fit: ModelFit) -> np.ndarray:
    return fit.structure.implied_covariance(fit.theta)


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return holzinger39.get_data()[HS_COLS]


# ---------------------------------------------------------------- EM
def test_em_reproduces_the_closed_form_of_monotone_bivariate_data():
    x = np.array([[1, 2], [2, 1], [3, 4], [4, 3], [5, np.nan], [6, np.nan]], dtype=float)
    em = em_moments(x, tol=1e-13)
    # complete cases (rows 1-4): means 2.5, 2.5; s11 = 1.25, s12 = .75, s22 = 1.25 (divisor 4),
    # so x2 on x1: slope .6, intercept 1, residual variance 1.25 - .75^2/1.25 = .8.
    # x1 on all six rows: mean 3.5, variance 17.5/6 = 35/12.
    # mu2 = 1 + .6 * 3.5 = 3.1; s12 = .6 * 35/12 = 1.75; s22 = .8 + .36 * 35/12 = 1.85.
    np.testing.assert_allclose(em.mean, [3.5, 3.1], atol=1e-10)
    np.testing.assert_allclose(em.cov, [[35 / 12, 1.75], [1.75, 1.85]], atol=1e-10)
    assert em.converged and em.n == 6 and em.n_patterns == 2
    # observed-data log-likelihood by hand: bivariate density of the complete rows,
    # univariate density of x1 on the others
    by_hand = stats.multivariate_normal(em.mean, em.cov).logpdf(x[:4]).sum() + stats.norm(
        em.mean[0], math.sqrt(em.cov[0, 0])).logpdf(x[4:, 0]).sum()
    assert em.loglik == pytest.approx(by_hand, abs=1e-10)


def test_em_with_complete_data_gives_the_sample_moments(hs):
    x = hs.to_numpy()
    em = em_moments(x)
    np.testing.assert_allclose(em.mean, x.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(em.cov, np.cov(x, rowvar=False, bias=True), atol=1e-12)
    assert em.n_iter <= 2
    assert em.loglik == pytest.approx(stats.multivariate_normal(em.mean, em.cov).logpdf(x).sum(), abs=1e-8)


def test_loglik_with_missing_values_equals_the_row_by_row_sum(hs):
    x = blank(hs, 0.3, SEED).to_numpy()
    md = MissingData(x)
    rng = np.random.default_rng(SEED)
    mean = rng.normal(size=9)
    a = rng.normal(size=(9, 9))
    sigma = a @ a.T + 9 * np.eye(9)
    by_rows = 0.0
    for row in x:
        o = ~np.isnan(row)
        by_rows += stats.multivariate_normal(mean[o], sigma[np.ix_(o, o)]).logpdf(row[o])
    assert mvn_loglik(md, mean, sigma) == pytest.approx(by_rows, rel=1e-12)
    assert md.n_patterns > 20 and md.has_missing


def test_missing_data_rejects_empty_rows_and_columns():
    with pytest.raises(DataError, match="no observed value"):
        MissingData(np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 1.0]]))
    with pytest.raises(DataError, match="never observed"):
        MissingData(np.array([[1.0, np.nan], [2.0, np.nan]]))


# ---------------------------------------------------------------- FIML estimation
def test_fiml_gradient_matches_finite_differences(hs):
    x = blank(hs, 0.2, SEED).to_numpy()
    fit = fit_structural(holzinger39.get_model(), hs)
    st = fit.structure
    obj = FimlObjective(MissingData(x), st.sigma_derivatives, st.n_params)
    point = np.concatenate([fit.theta * 1.03, np.nanmean(x, axis=0) + 0.05])
    _, grad = obj.value_and_gradient(point)
    numeric = np.empty_like(point)
    for j in range(point.size):
        e = np.zeros_like(point)
        e[j] = 1e-6
        numeric[j] = (obj.value(point + e) - obj.value(point - e)) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-7)


def test_fiml_equals_ml_on_complete_data(hs):
    ml = fit_syntax(holzinger39.get_model(), hs)
    fiml = fit_syntax(holzinger39.get_model(), hs, fiml=True)
    assert ml.estimator == "ML" and fiml.estimator == "FIML"
    np.testing.assert_allclose(fiml.theta, ml.theta, atol=1e-8)
    np.testing.assert_allclose(fiml.solution.mean, hs.mean().to_numpy(), atol=1e-10)
    # the ML here uses the divisor-N covariance, the normal MLE, so there is no
    # N vs N - 1 gap: -2 (logL_H0 - logL_H1) is exactly N F_ML
    S = np.cov(hs.to_numpy(), rowvar=False, bias=True)
    lr = 2 * (fiml.em.loglik - fiml.solution.loglik)
    assert lr == pytest.approx(len(hs) * ml_discrepancy(sigma_of(ml), S), rel=1e-8)
    # observed information on complete data = Hessian of F_ML (independent code)
    hess = ml_hessian(ml.structure, ml.theta, S)
    np.testing.assert_allclose(fiml.acov, np.linalg.inv(len(hs) / 2 * hess), rtol=1e-4, atol=1e-9)


def test_fiml_fit_measures_on_complete_data_equal_the_ml_ones(hs):
    ml = fit_syntax(holzinger39.get_model(), hs)
    expected = fit_measures(ml, hs)
    got = fiml_fit_measures(hs.to_numpy(), sigma_of(ml), ml.structure.n_params)
    assert list(got) == [*expected, "srmr_bentler_nomean", "srmr_variant"]
    for key, value in expected.items():
        if key != "srmr":
            assert got[key] == pytest.approx(value, rel=1e-8, abs=1e-10), key
    # srmr is lavaan's with means: at the sample means only the divisor changes,
    # p(p+1)/2 + p elements instead of p(p+1)/2 (lavaan with missing = "ml")
    p = hs.shape[1]
    assert got["srmr_bentler_nomean"] == pytest.approx(expected["srmr"], rel=1e-8)
    assert got["srmr"] == pytest.approx(expected["srmr"] * math.sqrt((p + 1) / (p + 3)), rel=1e-8)
    assert got["srmr_variant"] == "bentler_with_means"
    # and "fiml" on complete data is the ML path, labelled so
    assert fit_measures(ml, hs, missing="fiml") == expected
    assert estimator_label(hs, HS_COLS, "fiml") == "ML"
    assert estimator_label(blank(hs, 0.1, SEED), HS_COLS, "fiml") == "FIML"
    assert estimator_label(blank(hs, 0.1, SEED), HS_COLS, "listwise") == "ML"


def test_structural_and_cfa_paths_agree_with_fiml_on_complete_data(hs):
    listwise = fit_structural(holzinger39.get_model(), hs)
    fiml = fit_structural(holzinger39.get_model(), hs, missing="fiml")
    assert fiml.estimator == "ML" and fiml.information == "expected"
    np.testing.assert_array_equal(fiml.theta, listwise.theta)
    pd.testing.assert_frame_equal(fiml.params, listwise.params)
    spec = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    a, b = fit_cfa(hs, spec), fit_cfa(hs, spec, missing="fiml")
    pd.testing.assert_frame_equal(a.loadings, b.loadings)
    assert a.fit == b.fit and a.fit["estimator"] == "ML"


TWO_FACTOR = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6"


def test_semopy_plain_fiml_ignores_the_means(hs):
    """Why the package has its own FIML: semopy 2.3.11's Model(obj="FIML") fits raw moments."""
    data = hs[HS_COLS[:6]]
    model = semopy.Model(TWO_FACTOR)
    model.fit(data, obj="FIML")
    ml = fit_syntax(TWO_FACTOR, data)
    k = ml.structure.param_index("visual", "=~", "x2")
    assert ml.structure.param_names[k] == [n for n, p in model.parameters.items() if p.active][k]
    assert abs(model.param_vals[k] - ml.theta[k]) > 0.3  # visual =~ x2: 1.21 vs 0.55


@pytest.mark.slow
def test_fiml_agrees_with_semopy_model_means(hs):
    """semopy's ModelMeans(obj="ML") is a proper FIML, stopped at SLSQP precision."""
    holed = blank(hs[HS_COLS[:6]], 0.15, SEED)
    ours = fit_syntax(TWO_FACTOR, holed)
    assert ours.estimator == "FIML"
    theirs = semopy.ModelMeans(TWO_FACTOR)
    theirs.fit(holed, obj="ML")
    table = theirs.inspect()
    loadings = table[(table["op"] == "~") & table["rval"].isin(["visual", "textual"])]
    checked = 0
    for row in loadings.itertuples():  # semopy writes a loading as "indicator ~ latent"
        try:
            k = ours.structure.param_index(row.rval, "=~", row.lval)
        except SpecError:  # the fixed first loadings
            continue
        assert ours.theta[k] == pytest.approx(float(row.Estimate), abs=2e-3), (row.lval, row.rval)
        checked += 1
    assert checked == 4
    means = table[table["rval"] == "1"].set_index("lval")["Estimate"].astype(float)
    np.testing.assert_allclose(ours.solution.mean, means.loc[list(ours.structure.observed)], atol=2e-3)
    # fit_structural(missing="fiml") is this fit
    np.testing.assert_array_equal(fit_structural(TWO_FACTOR, holed, missing="fiml", lavaan_defaults=False).theta,
                                  ours.theta)


def test_fiml_on_a_saturated_structure_reproduces_em(hs):
    """A just-identified one-factor model (df = 0): FIML's Sigma and means are the EM ones."""
    holed = blank(hs[["x1", "x2", "x3"]], 0.25, SEED)
    em = em_moments(holed.to_numpy(), tol=1e-13)
    fit = fit_structural("f =~ x1 + x2 + x3", holed, missing="fiml")
    assert fit.estimator == "FIML" and fit.df == 0
    np.testing.assert_allclose(fit.structure.implied_covariance(fit.theta), em.cov, atol=1e-7)
    np.testing.assert_allclose(fit.means, em.mean, atol=1e-7)
    assert fit.chi2 == pytest.approx(0.0, abs=1e-6)
    assert fit.loglik == pytest.approx(em.loglik, abs=1e-6)
    # the best means for the FIML Sigma are the FIML means
    md = MissingData(holed.to_numpy())
    np.testing.assert_allclose(optimal_mean(md, fit.structure.implied_covariance(fit.theta)),
                               fit.means, atol=1e-7)


def test_fiml_cfa_and_structural_paths_agree(hs):
    """The CFA's tables and the structural model's, on one FIML fit."""
    holed = blank(hs, 0.15, SEED)
    spec = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    cfa = fit_cfa(holed, spec, missing="fiml")
    sem = fit_structural(cfa_syntax(spec), holed, missing="fiml")
    assert cfa.estimator == sem.estimator == "FIML"
    assert (cfa.fit["estimator"], cfa.fit["missing"]) == ("ML", "fiml")
    assert cfa.fit["chi2"] == pytest.approx(sem.chi2, rel=1e-7)
    assert cfa.n == sem.n_obs == len(hs)
    load = sem.params[sem.params["op"] == "=~"].set_index(["lhs", "rhs"])
    for row in cfa.loadings.itertuples():
        assert row.est == pytest.approx(load.loc[(row.construct, row.item), "est"], abs=1e-7)
        if row.item not in ("x1", "x4", "x7"):
            assert row.se == pytest.approx(load.loc[(row.construct, row.item), "se"], rel=1e-4)
    # fit measures from the CFA's estimates agree with the CFA's own
    assert fit_measures(cfa.estimates, holed, missing="fiml") == pytest.approx(
        {k: v for k, v in cfa.fit.items() if k not in ("estimator", "missing")}, rel=1e-6)


# ---------------------------------------------------------------- large samples
ONE_FACTOR = "F =~ y1 + y2 + y3 + y4"
LOADINGS = (1.0, 0.8, 0.7, 0.6)
RESID = 0.5


def one_factor_sample(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    return pd.DataFrame({f"y{j + 1}": lam * f + rng.normal(scale=math.sqrt(RESID), size=n)
                         for j, lam in enumerate(LOADINGS)})


def population_errors(fit) -> pd.DataFrame:
    """Estimate minus population value, and its SE, for every free parameter."""
    pop = {("F", "=~", f"y{j + 1}"): lam for j, lam in enumerate(LOADINGS)}
    pop[("F", "~~", "F")] = 1.0
    pop.update({(f"y{j}", "~~", f"y{j}"): RESID for j in range(1, 5)})
    free = fit.params[fit.params["free"] >= 0]
    return pd.DataFrame({
        "error": [r.est - pop[(r.lhs, r.op, r.rhs)] for r in free.itertuples()],
        "se": free["se"].to_numpy(),
    }, index=[f"{r.lhs}{r.op}{r.rhs}" for r in free.itertuples()])


@pytest.mark.slow
def test_fiml_recovers_the_population_under_mcar_and_beats_listwise_efficiency():
    data = one_factor_sample(20_000, SEED)
    # rows left with no answer at all carry no information (the data stage rejects them)
    holed = blank(data, 0.20, SEED + 1).dropna(how="all")
    fiml = fit_structural(ONE_FACTOR, holed, missing="fiml")
    listwise = fit_structural(ONE_FACTOR, holed.dropna())
    assert fiml.estimator == "FIML" and fiml.information == "observed"
    err = population_errors(fiml)
    # 8 parameters, 4 SE each: a false alarm has probability < 6e-4
    assert (err["error"].abs() < 4 * err["se"]).all(), err
    # listwise keeps 0.8^4 = 41% of the rows: unbiased under MCAR, but less precise
    assert (population_errors(listwise)["se"] > 1.2 * err["se"]).all()
    np.testing.assert_allclose(fiml.means, 0.0, atol=4 * 0.012)  # sd 1.2 / sqrt(16,000)


@pytest.mark.slow
def test_fiml_is_unbiased_under_mar_where_listwise_is_not():
    """y1 always observed; y2-y4 missing with probability .9 when y1 > 0 (MAR on y1)."""
    data = one_factor_sample(20_000, SEED)
    rng = np.random.default_rng(SEED + 2)
    drop = (data["y1"].to_numpy() > 0) & (rng.random(len(data)) < 0.9)
    holed = data.copy()
    holed.loc[drop, ["y2", "y3", "y4"]] = np.nan
    fiml = fit_structural(ONE_FACTOR, holed, missing="fiml")
    listwise = fit_structural(ONE_FACTOR, holed.dropna())
    f_err, l_err = population_errors(fiml), population_errors(listwise)
    assert (f_err["error"].abs() < 4 * f_err["se"]).all(), f_err
    # selection on y1 shrinks the factor variance of the complete cases
    key = "F~~F"
    assert abs(l_err.loc[key, "error"]) > 10 * l_err.loc[key, "se"]
    assert abs(f_err.loc[key, "error"]) < abs(l_err.loc[key, "error"]) / 5
    # and the mean of y2 (population 0; FIML intercept, SE about .01, vs the complete-case mean)
    y2 = fiml.structure.observed.index("y2")
    assert abs(fiml.means[y2]) < 0.05 < abs(holed.dropna()["y2"].mean())


# ---------------------------------------------------------------- bootstrap
MEDIATION = """
X =~ x1 + x2 + x3
M =~ m1 + m2 + m3
Y =~ y1 + y2 + y3
M ~ X
Y ~ M + X
"""


@pytest.fixture(scope="module")
def mediation_data() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    n = 400
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(scale=math.sqrt(0.75), size=n)
    y = 0.4 * m + 0.2 * x + rng.normal(scale=0.8, size=n)
    cols = {f"{name}{j + 1}": lam * lat + rng.normal(scale=0.6, size=n)
            for name, lat in (("x", x), ("m", m), ("y", y)) for j, lam in enumerate((1.0, 0.8, 0.7))}
    return blank(pd.DataFrame(cols), 0.10, SEED + 3)


@pytest.mark.slow
def test_fiml_bootstrap_is_deterministic_and_counts_outcomes(mediation_data):
    fit = fit_structural(MEDIATION, mediation_data, missing="fiml")
    kw = dict(n_boot=24, seed=5, chunk_size=8, full_fit=fit)
    one = bootstrap_indirect(mediation_data, MEDIATION, [("X", "M", "Y")], **kw)
    two = bootstrap_indirect(mediation_data, MEDIATION, [("X", "M", "Y")], n_jobs=2, **kw)
    assert one.requested == 24 and one.converged + one.failed == 24 and one.converged > 20
    np.testing.assert_array_equal(one.thetas, two.thetas)
    assert list(one.status) == list(two.status)
    # the resamples are the ML path's: same streams and chunks (rows drawn per chunk)
    k0 = np.random.default_rng(np.random.SeedSequence(5).spawn(3)[0]).integers(0, len(mediation_data),
                                                                             size=(8, len(mediation_data)))
    x = mediation_data[list(fit.structure.observed)].to_numpy()
    out = refit_resample_fiml(fit.structure, x[k0[0]], fit.theta, fit.means, fit.hessian)
    assert out.status == one.status[0]
    if out.status == CONVERGED:
        np.testing.assert_allclose(out.theta, one.thetas[0], atol=1e-12)


@pytest.mark.slow
def test_fiml_refit_flags_singular_data_and_rejects_complete_data_fitters(mediation_data):
    fit = fit_structural(MEDIATION, mediation_data, missing="fiml")
    sample = mediation_data.to_numpy().copy()
    sample[:, 0] = np.where(np.isnan(sample[:, 0]), np.nan, 3.0)  # x1 constant where observed
    out = refit_resample_fiml(fit.structure, sample, fit.theta, fit.means, fit.hessian)
    assert out.status == SINGULAR_DATA
    from xhs_sharing.sem.bootstrap import fit_chunk

    def complete_only(structure, data, indices, theta0):  # pragma: no cover - never called
        return fit_chunk(structure, data, indices, theta0)

    with pytest.raises(SpecError, match="missing values"):
        bootstrap_indirect(mediation_data, MEDIATION, [("X", "M", "Y")], 4, 1, full_fit=fit,
                           chunk_fitter=complete_only)
    with pytest.raises(SpecError, match="FIML fit"):
        FimlChunkFitter.from_fit(fit_structural(MEDIATION, mediation_data.dropna()))
    with pytest.raises(DataError, match="missing='fiml'"):
        fit_structural(MEDIATION, mediation_data)


@pytest.mark.slow
def test_fiml_refit_time_is_measured(mediation_data, record_property):
    """Per-refit time of the FIML bootstrap (reported, not asserted tightly)."""
    import time

    fit = fit_structural(MEDIATION, mediation_data, missing="fiml")
    start = time.perf_counter()
    res = bootstrap_indirect(mediation_data, MEDIATION, [("X", "M", "Y")], 20, 9, chunk_size=20,
                             full_fit=fit)
    per_refit = (time.perf_counter() - start) / 20
    record_property("fiml_refit_seconds", per_refit)
    assert res.converged == 20 and per_refit < 1.0


# ---------------------------------------------------------------- stages
@pytest.fixture(scope="module")
def survey(study) -> pd.DataFrame:
    return analysis_frame(simulate_survey(study, 300, seed=SEED), codebook(study, 7))


@pytest.mark.slow
def test_stages_with_complete_data_give_the_same_results_under_fiml(study, survey):
    a = run_measurement(survey, study, 7)
    b = run_measurement(survey, study, 7, missing="fiml")
    for name in ("item_descriptives", "reliability", "fornell_larcker", "htmt", "loadings"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.cfa_fit == b.cfa_fit and a.cfa_fit["estimator"] == "ML" and a.checks == b.checks
    kw = dict(n_boot=20, boot_seed=3, mc_seed=4, chunk_size=10, mc_draws=500)
    s1 = run_structural(survey, study, **kw)
    s2 = run_structural(survey, study, missing="fiml", **kw)
    for name in ("paths", "r2", "indirect_effects", "equivalence"):
        pd.testing.assert_frame_equal(getattr(s1, name), getattr(s2, name))
    assert s1.fit == s2.fit and s1.bootstrap == s2.bootstrap
    assert s1.fit["estimator"] == "ML" and s1.bootstrap["engine"] == "batched"


@pytest.mark.slow
def test_stages_run_end_to_end_on_a_survey_with_missing_answers(study, survey):
    holed = blank(survey, 0.10, SEED)
    assert holed.isna().any(axis=1).mean() > 0.9  # nearly every respondent skipped something
    m = run_measurement(holed, study, 7, missing="fiml")
    assert (m.cfa_fit["estimator"], m.cfa_fit["missing"], m.cfa_fit["n"]) == ("ML", "fiml", len(survey))
    assert m.loadings["se"].notna().sum() == len(study.items) - len(study.constructs)
    rel = m.reliability.set_index("construct")
    for c in study.constructs:  # alpha on the rows complete on the construct
        assert rel.loc[c.id, "n"] == int(holed[[it.id for it in c.items]].notna().all(axis=1).sum())
    assert np.isfinite(m.htmt.to_numpy()).all()
    s = run_structural(holed, study, n_boot=10, boot_seed=3, mc_seed=4, chunk_size=5, mc_draws=500,
                       missing="fiml")
    assert (s.fit["estimator"], s.fit["missing"], s.fit["n"]) == ("ML", "fiml", len(survey))
    assert (s.bootstrap["estimator"], s.bootstrap["missing"]) == ("ML", "fiml")
    assert s.bootstrap["engine"] == "batched FIML" and s.bootstrap["engine_requested"] == "batched"
    assert s.bootstrap["mc_information"] == "observed"
    assert s.bootstrap["requested"] == 10 and s.bootstrap["converged"] + s.bootstrap["failed"] == 10
    assert len(s.indirect_effects) == len(mediation_triples(study)) + 3 * len(
        {(x, y) for x, _, y in mediation_triples(study)})
    assert s.indirect_effects[["boot_ci_low", "mc_ci_low"]].notna().all().all()
    assert s.paths[["est", "se"]].notna().all().all()
