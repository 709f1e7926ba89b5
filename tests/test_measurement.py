"""Tests of xhs_sharing.analysis.measurement.

Known answers:
* lavaan 0.6, Holzinger-Swineford 3-factor CFA (ML, N = 301): loadings,
  standard errors (expected information), std.all loadings and factor
  correlations as printed by ``summary(fit, standardized = TRUE)``;
* semTools ``reliability()`` for the same data: alpha .626 / .883 / .688.
Small cases are worked by hand in the tests. "Exact-moment" data sets are
built so that their sample covariance (divisor N) equals a chosen population
matrix exactly; the ML solution then reproduces the population parameters.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats
from semopy.examples import holzinger39

from xhs_sharing.analysis.measurement import (
    average_variance_extracted,
    cfa_syntax,
    composite_reliability,
    cronbach_alpha_ci,
    fit_cfa,
    fornell_larcker,
    htmt,
    htmt_from_corr,
    item_descriptives,
    measurement_checks,
    reliability_table,
)
from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.study.cutoffs import default_thresholds

HS_SPEC = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
CHECK_KEYS = {
    "check", "construct", "item", "statistic", "threshold", "comparison",
    "value", "passed", "status", "reference", "note",
}


# ---------------------------------------------------------------- helpers
def population_corr(loadings: dict[str, list[float]], phi: float) -> np.ndarray:
    """Correlation matrix of a congeneric model with standardized loadings."""
    lam = np.zeros((sum(len(v) for v in loadings.values()), len(loadings)))
    row = 0
    for j, ls in enumerate(loadings.values()):
        for v in ls:
            lam[row, j] = v
            row += 1
    P = np.full((len(loadings), len(loadings)), phi)
    np.fill_diagonal(P, 1.0)
    R = lam @ P @ lam.T
    np.fill_diagonal(R, 1.0)
    return R


def exact_moment_data(R: np.ndarray, names: list[str], n: int, seed: int) -> pd.DataFrame:
    """n rows whose covariance (divisor n) equals R exactly."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(names)))
    z -= z.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(z, rowvar=False, bias=True))
    z = z @ np.linalg.inv(chol).T
    return pd.DataFrame(z @ np.linalg.cholesky(R).T, columns=names)


def spec_of(loadings: dict[str, list[float]]) -> dict[str, list[str]]:
    return {c: [f"{c.lower()}{k + 1}" for k in range(len(ls))] for c, ls in loadings.items()}


def run_all(data, spec, thresholds=None):
    cfa = fit_cfa(data, spec)
    rel = reliability_table(data, spec, cfa.loadings)
    fl = fornell_larcker(cfa.latent_corr, rel.set_index("construct")["ave"])
    ht = htmt(data, spec)
    checks = measurement_checks(rel, fl, ht, cfa.fit, cfa.loadings, thresholds)
    return cfa, rel, fl, ht, checks


def find(checks, check, construct=None, item=None):
    hits = [
        c for c in checks
        if c["check"] == check
        and (construct is None or c["construct"] == construct)
        and (item is None or c["item"] == item)
    ]
    assert len(hits) == 1, (check, construct, item, hits)
    return hits[0]


@pytest.fixture(scope="module")
def hs():
    data = holzinger39.get_data()
    return data, run_all(data, HS_SPEC)


# ---------------------------------------------------------------- CR / AVE by hand
def test_composite_reliability_and_ave_by_hand():
    lam = [0.7, 0.8, 0.9]
    # (2.4)^2 / ((2.4)^2 + (.51 + .36 + .19)) = 5.76 / 6.82
    assert composite_reliability(lam) == pytest.approx(5.76 / 6.82, abs=1e-12)
    # (.49 + .64 + .81) / 3
    assert average_variance_extracted(lam) == pytest.approx(1.94 / 3, abs=1e-12)
    # one item: both reduce to lambda^2
    assert composite_reliability([0.6]) == pytest.approx(0.36)
    assert average_variance_extracted(np.array([0.6])) == pytest.approx(0.36)
    with pytest.raises(DataError):
        composite_reliability([])
    with pytest.raises(DataError):
        average_variance_extracted([0.7, float("nan")])


# ---------------------------------------------------------------- HTMT by hand
def _hand_corr():
    names = ["a1", "a2", "b1", "b2"]
    R = np.array(
        [
            [1.0, 0.6, 0.3, 0.2],
            [0.6, 1.0, 0.4, 0.1],
            [0.3, 0.4, 1.0, 0.5],
            [0.2, 0.1, 0.5, 1.0],
        ]
    )
    return pd.DataFrame(R, index=names, columns=names)


def test_htmt_two_by_two_by_hand():
    # heterotrait mean (.3 + .2 + .4 + .1)/4 = .25 ; monotrait .6 and .5
    out = htmt_from_corr(_hand_corr(), {"A": ["a1", "a2"], "B": ["b1", "b2"]})
    expected = 0.25 / math.sqrt(0.6 * 0.5)
    assert out.loc["A", "B"] == pytest.approx(expected, abs=1e-12)
    assert out.loc["B", "A"] == pytest.approx(expected, abs=1e-12)
    assert out.loc["A", "A"] == 1.0 and out.loc["B", "B"] == 1.0
    assert list(out.index) == ["A", "B"] == list(out.columns)


def test_htmt_absolute_versus_signed():
    R = _hand_corr()
    R.loc[["a1", "a2"], ["b1", "b2"]] *= -1
    R.loc[["b1", "b2"], ["a1", "a2"]] *= -1
    spec = {"A": ["a1", "a2"], "B": ["b1", "b2"]}
    assert htmt_from_corr(R, spec).loc["A", "B"] == pytest.approx(0.25 / math.sqrt(0.3))
    assert htmt_from_corr(R, spec, absolute=False).loc["A", "B"] == pytest.approx(
        -0.25 / math.sqrt(0.3)
    )
    R2 = _hand_corr()
    R2.loc["a1", "a2"] = R2.loc["a2", "a1"] = -0.6
    with pytest.raises(DataError, match="'A'.*monotrait"):
        htmt_from_corr(R2, spec, absolute=False)


def test_htmt_from_data_equals_htmt_of_its_correlations():
    data = holzinger39.get_data()
    out = htmt(data, HS_SPEC)
    assert out.equals(htmt_from_corr(data[[f"x{i}" for i in range(1, 10)]].corr(), HS_SPEC))
    # hand formula for one pair, straight from the correlations
    r = data[[f"x{i}" for i in range(1, 10)]].corr().abs()
    hetero = r.loc[["x1", "x2", "x3"], ["x4", "x5", "x6"]].to_numpy().mean()
    mono_v = np.mean([r.loc["x1", "x2"], r.loc["x1", "x3"], r.loc["x2", "x3"]])
    mono_t = np.mean([r.loc["x4", "x5"], r.loc["x4", "x6"], r.loc["x5", "x6"]])
    assert out.loc["visual", "textual"] == pytest.approx(hetero / math.sqrt(mono_v * mono_t))


# ---------------------------------------------------------------- Fornell-Larcker
def test_fornell_larcker_layout():
    names = ["A", "B", "C"]
    corr = pd.DataFrame(
        [[1.0, 0.3, -0.5], [0.3, 1.0, 0.2], [-0.5, 0.2, 1.0]], index=names, columns=names
    )
    out = fornell_larcker(corr, {"C": 0.36, "A": 0.64, "B": 0.49})
    assert list(out.index) == names == list(out.columns)
    assert np.allclose(np.diag(out.to_numpy()), [0.8, 0.7, 0.6])
    assert out.loc["A", "C"] == -0.5 and out.loc["C", "B"] == 0.2
    with pytest.raises(DataError, match="'C'"):
        fornell_larcker(corr, {"A": 0.5, "B": 0.5})


# ---------------------------------------------------------------- descriptives
def test_item_descriptives_by_hand():
    data = pd.DataFrame(
        {
            "a1": [1, 2, 3, 4, 5, 5],
            "a2": [2, 2, 3, 3, 4, 5],
            "a3": [1, 1, 2, 2, 3, 3],
            "b1": [5, 4, 4, 3, np.nan, 1],
            "b2": [4, 4, 3, 3, 2, 2],
        }
    )
    spec = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"]}
    out = item_descriptives(data, spec, scale_points=5).set_index("item")
    assert list(out.columns) == [
        "construct", "n", "mean", "sd", "skewness", "kurtosis",
        "p1", "p2", "p3", "p4", "p5", "citc",
    ]
    a1 = out.loc["a1"]
    assert a1["n"] == 6 and a1["construct"] == "A"
    assert a1["mean"] == pytest.approx(20 / 6)
    assert a1["sd"] == pytest.approx(math.sqrt((40 / 3) / 5))  # SS = 13.333
    assert [a1[f"p{k}"] for k in range(1, 6)] == pytest.approx([1 / 6] * 4 + [2 / 6])
    x = np.array([1, 2, 3, 4, 5, 5.0])
    assert a1["skewness"] == pytest.approx(stats.skew(x, bias=False))
    assert a1["kurtosis"] == pytest.approx(stats.kurtosis(x, bias=False))
    rest = np.array([2, 2, 3, 3, 4, 5.0]) + np.array([1, 1, 2, 2, 3, 3.0])
    assert a1["citc"] == pytest.approx(stats.pearsonr(x, rest)[0])
    # b1 has one missing response: n = 5; its citc uses the 5 complete rows,
    # and with two items it is just the inter-item correlation
    assert out.loc["b1", "n"] == 5
    assert out.loc["b1", "p2"] == 0.0 and out.loc["b1", "p4"] == pytest.approx(2 / 5)
    assert out.loc["b1", "citc"] == pytest.approx(
        stats.pearsonr([5, 4, 4, 3, 1], [4, 4, 3, 3, 2])[0]
    )


def test_item_descriptives_rejects_degenerate_items():
    data = pd.DataFrame({"a1": [1, 2, 3, 4, 5], "a2": [3, 3, 3, 3, 3], "b1": [1, 2, 6, 2, 1]})
    with pytest.raises(DataError, match="'A'.*'a2'.*zero variance"):
        item_descriptives(data, {"A": ["a1", "a2"]})
    with pytest.raises(DataError, match="'b1'.*outside 1..5"):
        item_descriptives(data, {"B": ["b1", "a1"]}, scale_points=5)
    with pytest.raises(DataError, match="'zz'"):
        item_descriptives(data, {"A": ["a1", "zz"]})
    with pytest.raises(SpecError, match="both"):
        item_descriptives(data, {"A": ["a1", "b1"], "B": ["b1"]})


# ---------------------------------------------------------------- reliability
def test_alpha_matches_pingouin_and_semtools(hs):
    data, (_, rel, _, _, _) = hs
    rel = rel.set_index("construct")
    # semTools::reliability(): alpha visual .626, textual .883, speed .688
    assert rel["alpha"].round(3).tolist() == [0.626, 0.883, 0.688]
    for construct, items in HS_SPEC.items():
        alpha, ci = pg.cronbach_alpha(data=data[items], ci=0.95)
        assert rel.loc[construct, "alpha"] == pytest.approx(alpha, abs=1e-12)
        # pingouin rounds its Feldt interval to 3 decimals; ours is unrounded
        assert rel.loc[construct, "alpha_ci_low"] == pytest.approx(ci[0], abs=5e-4)
        assert rel.loc[construct, "alpha_ci_high"] == pytest.approx(ci[1], abs=5e-4)
    assert (rel["n"] == 301).all() and (rel["n_items"] == 3).all()


def test_cronbach_alpha_ci_feldt_by_hand():
    items = pd.DataFrame({"a": [1, 2, 3, 4, 5.0], "b": [2, 2, 4, 4, 5.0]})
    # alpha = k/(k-1) (1 - sum var / var(sum)); var a 2.5, var b 1.8, var sum 8.3
    alpha_hand = 2 * (1 - (2.5 + 1.8) / 8.3)
    alpha, low, high = cronbach_alpha_ci(items)
    assert alpha == pytest.approx(alpha_hand)
    assert low == pytest.approx(1 - (1 - alpha_hand) * stats.f.ppf(0.975, 4, 4))
    assert high == pytest.approx(1 - (1 - alpha_hand) * stats.f.ppf(0.025, 4, 4))


def test_reliability_table_cr_ave_from_loadings(hs):
    _, (cfa, rel, _, _, _) = hs
    rel = rel.set_index("construct")
    lam = cfa.loadings.set_index("item")["std_all"]
    v = lam[["x1", "x2", "x3"]].to_numpy()
    assert rel.loc["visual", "cr"] == pytest.approx(v.sum() ** 2 / (v.sum() ** 2 + (1 - v**2).sum()))
    assert rel.loc["visual", "ave"] == pytest.approx((v**2).mean())
    assert rel.loc["visual", "sqrt_ave"] == pytest.approx(math.sqrt((v**2).mean()))
    # lavaan std.all .772 .424 .581: CR .626, AVE .371
    assert round(rel.loc["visual", "cr"], 3) == 0.626
    assert round(rel.loc["visual", "ave"], 3) == 0.371


# ---------------------------------------------------------------- CFA, HS known answers
def test_fit_cfa_holzinger_swineford_matches_lavaan(hs):
    _, (cfa, _, _, _, _) = hs
    lo = cfa.loadings.set_index("item")
    assert list(cfa.loadings.columns) == [
        "construct", "item", "est", "se", "z", "pvalue", "std_all", "resid_var"
    ]
    est = {"x1": 1.0, "x2": 0.554, "x3": 0.729, "x4": 1.0, "x5": 1.113, "x6": 0.926,
           "x7": 1.0, "x8": 1.180, "x9": 1.082}
    std = {"x1": 0.772, "x2": 0.424, "x3": 0.581, "x4": 0.852, "x5": 0.855, "x6": 0.838,
           "x7": 0.570, "x8": 0.723, "x9": 0.665}
    se = {"x2": 0.100, "x3": 0.109, "x5": 0.065, "x6": 0.055, "x8": 0.165, "x9": 0.151}
    z = {"x2": 5.554, "x3": 6.685, "x5": 17.014, "x6": 16.703, "x8": 7.152, "x9": 7.155}
    for item in est:
        assert round(lo.loc[item, "est"], 3) == est[item], item
        assert round(lo.loc[item, "std_all"], 3) == std[item], item
    for item in se:
        assert round(lo.loc[item, "se"], 3) == se[item], item
        assert round(lo.loc[item, "z"], 3) == z[item], item
    assert lo.loc[["x1", "x4", "x7"], "se"].isna().all()  # fixed markers, blank in lavaan
    # lavaan residual variances x1 .549, x3 .844, x9 .566
    assert [round(lo.loc[i, "resid_var"], 3) for i in ("x1", "x3", "x9")] == [0.549, 0.844, 0.566]
    # factor correlations (lavaan std.all of the covariances)
    lc = cfa.latent_corr
    assert round(lc.loc["visual", "textual"], 3) == 0.459
    assert round(lc.loc["visual", "speed"], 3) == 0.471
    assert round(lc.loc["textual", "speed"], 3) == 0.283
    assert np.allclose(np.diag(lc.to_numpy()), 1.0) and lc.equals(lc.T)
    assert cfa.n == 301 and cfa.fit["df"] == 24 and round(cfa.fit["cfi"], 3) == 0.931


def test_std_all_agrees_with_semopy_at_the_converged_solution(hs):
    """semopy, as an independent reference, at the package's estimates (same syntax, same parameter order)."""
    import semopy

    _, (cfa, _, _, _, _) = hs
    model = semopy.Model(cfa.syntax)
    model.load(holzinger39.get_data())
    model.param_vals = cfa.estimates.theta.copy()
    model.update_matrices(model.param_vals)
    sem = model.inspect(std_est=True)
    sem = sem[sem["op"] == "~"].set_index("lval")["Est. Std"].astype(float)
    mine = cfa.loadings.set_index("item")["std_all"]
    assert np.allclose(mine.to_numpy(), sem.loc[mine.index].to_numpy(), atol=1e-10)


def test_cfa_syntax_and_name_validation():
    assert cfa_syntax({"A": ["a1", "a2"], "S": ["s1"]}) == "A =~ a1 + a2\nS =~ s1\ns1 ~~ 0*s1"
    with pytest.raises(SpecError, match="identifier"):
        cfa_syntax({"my construct": ["a1", "a2"]})
    with pytest.raises(SpecError, match="same name"):
        cfa_syntax({"a1": ["a1", "a2"]})


# ---------------------------------------------------------------- checks on HS
def test_measurement_checks_structure_and_hs_verdicts(hs):
    _, (_, _, _, _, checks) = hs
    assert all(set(c) == CHECK_KEYS for c in checks)
    json.dumps(checks)
    # 3 constructs x 4 + 3 HTMT pairs + 4 fit + 9 items x 2
    assert len(checks) == 12 + 3 + 4 + 18
    assert find(checks, "cronbach_alpha", "textual")["status"] == "pass"
    assert find(checks, "cronbach_alpha", "visual")["status"] == "fail"
    assert find(checks, "srmr")["status"] == "pass"  # .065 <= .08
    rm = find(checks, "rmsea")
    assert rm["status"] == "fail" and rm["comparison"] == "le" and rm["threshold"] == 0.06
    assert find(checks, "cfi")["passed"] is False  # .931 < .95
    assert find(checks, "std_loading", item="x2")["status"] == "fail"  # .424 < .50
    assert find(checks, "std_loading", item="x3")["status"] == "pass"  # .581
    ht = find(checks, "htmt", "visual|speed")
    assert ht["comparison"] == "lt" and ht["status"] == "pass"
    fl = find(checks, "fornell_larcker", "visual")
    # sqrt(AVE) visual .609 > max |r| .471 (with speed)
    assert fl["threshold"] == pytest.approx(0.609, abs=1e-3)
    assert fl["value"] == pytest.approx(0.471, abs=1e-3)
    assert fl["passed"] is True
    assert "Hu & Bentler (1999)" in rm["reference"]
    assert "Henseler" in ht["reference"] and "Nunnally" in find(checks, "cronbach_alpha", "speed")["reference"]


def test_thresholds_override_and_validation(hs):
    _, (cfa, rel, fl, ht, _) = hs
    checks = measurement_checks(rel, fl, ht, cfa.fit, cfa.loadings, {"rmsea": 0.10})
    assert find(checks, "rmsea")["status"] == "pass" and find(checks, "rmsea")["threshold"] == 0.10
    assert default_thresholds()["rmsea"] == 0.06  # the schema default is untouched
    with pytest.raises(SpecError, match="unknown threshold"):
        measurement_checks(rel, fl, ht, cfa.fit, cfa.loadings, {"gfi": 0.9})


# ---------------------------------------------------------------- population check
@pytest.mark.slow
def test_large_n_population_recovery():
    """Simulated 3-factor congeneric model, n = 20000.

    Tolerances are about 5 Monte-Carlo standard deviations, estimated once
    from 30 replicates of this design (sd: CR .003, AVE .004, HTMT .009,
    latent correlation about .008).
    """
    loadings = {"A": [0.7, 0.8, 0.8], "B": [0.8, 0.7, 0.8], "C": [0.7, 0.7, 0.8]}
    phi = 0.3
    spec = spec_of(loadings)
    R = population_corr(loadings, phi)
    rng = np.random.default_rng(20150101)
    data = pd.DataFrame(
        rng.multivariate_normal(np.zeros(len(R)), R, size=20000),
        columns=[i for its in spec.values() for i in its],
    )
    cfa = fit_cfa(data, spec)
    rel = reliability_table(data, spec, cfa.loadings).set_index("construct")
    ht = htmt(data, spec)
    for c, lam in loadings.items():
        lam = np.array(lam)
        cr_pop = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
        assert rel.loc[c, "cr"] == pytest.approx(cr_pop, abs=0.015), c
        assert rel.loc[c, "ave"] == pytest.approx((lam**2).mean(), abs=0.02), c
    # population HTMT computed directly from the population correlation matrix
    items = [i for its in spec.values() for i in its]
    Rdf = pd.DataFrame(R, index=items, columns=items)
    for a, b in (("A", "B"), ("A", "C"), ("B", "C")):
        hetero = Rdf.loc[spec[a], spec[b]].to_numpy().mean()
        mono = [Rdf.loc[spec[c], spec[c]].to_numpy()[np.triu_indices(3, 1)].mean() for c in (a, b)]
        pop = hetero / math.sqrt(mono[0] * mono[1])
        assert htmt_from_corr(Rdf, spec).loc[a, b] == pytest.approx(pop, abs=1e-12)
        assert ht.loc[a, b] == pytest.approx(pop, abs=0.04), (a, b)
        assert cfa.latent_corr.loc[a, b] == pytest.approx(phi, abs=0.04), (a, b)
    # congeneric, so population HTMT is not exactly phi: A-B is .3006
    assert htmt_from_corr(Rdf, spec).loc["A", "B"] == pytest.approx(0.3 * (2.3 / 3) ** 2 / 0.58666667, abs=1e-6)


# ---------------------------------------------------------------- failing and degenerate cases
def test_weak_item_fails_loading_and_ave():
    loadings = {"A": [0.8, 0.8, 0.3], "B": [0.7, 0.8, 0.8]}
    spec = spec_of(loadings)
    data = exact_moment_data(population_corr(loadings, 0.3), sum(spec.values(), []), 500, seed=7)
    cfa, rel, _, _, checks = run_all(data, spec)
    # exact moments: the ML solution is the population one
    assert cfa.loadings.set_index("item").loc["a3", "std_all"] == pytest.approx(0.3, abs=1e-6)
    weak = find(checks, "std_loading", item="a3")
    assert weak["status"] == "fail" and weak["passed"] is False and weak["construct"] == "A"
    ave = find(checks, "ave", "A")
    assert ave["value"] == pytest.approx((0.64 + 0.64 + 0.09) / 3, abs=1e-6)  # .4567 < .50
    assert ave["status"] == "fail"
    assert find(checks, "composite_reliability", "A")["value"] == pytest.approx(3.61 / 5.24, abs=1e-6)
    assert find(checks, "ave", "B")["status"] == "pass"  # .59
    assert find(checks, "std_loading", item="a1")["status"] == "pass"


def test_heywood_case_is_a_failed_check_naming_the_item():
    # one-factor block with r12 = r13 = .9, r23 = .72 -> lambda1^2 = 1.125, theta1 = -.125
    l1 = math.sqrt(1.125)
    loadings = {"A": [l1, 0.9 / l1, 0.9 / l1], "B": [0.7, 0.8, 0.8]}
    spec = spec_of(loadings)
    data = exact_moment_data(population_corr(loadings, 0.3), sum(spec.values(), []), 400, seed=11)
    cfa, _, _, _, checks = run_all(data, spec)
    assert cfa.loadings.set_index("item").loc["a1", "resid_var"] == pytest.approx(-0.125, abs=1e-6)
    failed = [c for c in checks if c["status"] == "fail"]
    assert len(failed) == 1
    assert failed[0]["check"] == "residual_variance" and failed[0]["item"] == "a1"
    assert failed[0]["value"] == pytest.approx(-0.125, abs=1e-6)
    # without the resid_var column the Heywood case is read from std_all > 1
    checks2 = measurement_checks(
        *run_all(data, spec)[1:4], cfa.fit, cfa.loadings.drop(columns="resid_var")
    )
    assert find(checks2, "residual_variance", item="a1")["status"] == "fail"


def test_single_item_construct_gives_warnings_not_nan():
    loadings = {"A": [0.7, 0.8, 0.8], "S": [1.0]}
    spec = spec_of(loadings)
    data = exact_moment_data(population_corr(loadings, 0.3), sum(spec.values(), []), 300, seed=3)
    cfa, rel, _, ht, checks = run_all(data, spec)
    assert math.isnan(rel.set_index("construct").loc["S", "alpha"])
    assert math.isnan(ht.loc["A", "S"])
    assert cfa.latent_corr.loc["A", "S"] == pytest.approx(0.3, abs=1e-6)
    for check in ("cronbach_alpha", "composite_reliability", "ave", "fornell_larcker"):
        entry = find(checks, check, "S")
        assert entry["status"] == "warning" and entry["passed"] is None and entry["note"]
    assert find(checks, "htmt", "A|S")["status"] == "warning"
    assert find(checks, "std_loading", item="s1")["status"] == "warning"
    assert find(checks, "cronbach_alpha", "A")["status"] == "pass"
    # no NaN leaks into the records
    assert "NaN" not in json.dumps(checks)


def test_zero_variance_item_raises_naming_it():
    data = holzinger39.get_data().assign(x5=3.0)
    with pytest.raises(DataError, match="'textual'.*'x5'.*zero variance"):
        fit_cfa(data, HS_SPEC)
    with pytest.raises(DataError, match="'x5'"):
        htmt(data, HS_SPEC)


def test_unidentified_cfa_raises_estimation_error():
    # two 2-item factors that are uncorrelated: empirically under-identified
    loadings = {"A": [0.7, 0.8], "B": [0.8, 0.7]}
    spec = spec_of(loadings)
    data = exact_moment_data(population_corr(loadings, 0.0), sum(spec.values(), []), 300, seed=5)
    with pytest.raises(EstimationError, match="not .*identified"):
        fit_cfa(data, spec)


def test_non_converging_cfa_raises_estimation_error():
    with pytest.raises(EstimationError, match="did not converge"):
        fit_cfa(holzinger39.get_data(), HS_SPEC, max_iter=1)


def test_heywood_cfa_is_returned_with_its_diagnosis():
    """A negative residual variance (unbounded, as lavaan) is an estimate, listed in ``problems``."""
    # A: s12 s13 / s23 = .49 / .4 = 1.225 > 1 = s11, so a1's ML residual variance is negative
    a = np.array([[1, .7, .7], [.7, 1, .4], [.7, .4, 1]])
    b = np.array([[1, .5, .5], [.5, 1, .5], [.5, .5, 1]])
    R = np.block([[a, np.full((3, 3), .3)], [np.full((3, 3), .3), b]])
    spec = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3"]}
    cfa = fit_cfa(exact_moment_data(R, sum(spec.values(), []), 200, seed=11), spec)
    assert cfa.problems == ("negative residual variance of a1",)
    assert cfa.loadings.set_index("item").loc["a1", "resid_var"] < 0
    assert fit_cfa(holzinger39.get_data(), HS_SPEC).problems == ()
