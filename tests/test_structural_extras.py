"""Issue 17, point 13: standardized paths with delta-method SEs, latent (co)variances, R-squared with its
SE and intervals, Cohen's f-squared.

Known answers: ``tests/reference/fixtures/issue17_*.csv`` from
``tests/reference/lavaan_issue17_mst.R`` (lavaan 0.6.14 ``sem()`` of
``structural_model.lav`` on ``default_items.csv``: ``standardizedSolution()``,
``parameterEstimates()``, the R-squared's delta-method SE with lavaan's
complex-step Jacobian and ``vcov()``, f-squared from ``lavInspect(fit, "cov.lv")``).
The package's ML estimates agree with lavaan's to about 2e-6, so the
tolerance is 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.analysis.structural_tables import f2_label, f2_table, latent_covariance_table, r2_intervals
from xhs_sharing.sem.standardize import r_squared_from_cov, r_squared_values

REF = Path(__file__).resolve().parent / "reference"
FIX = REF / "fixtures"
TOL = 1e-5


@pytest.fixture(scope="module")
def fit():
    items = pd.read_csv(REF / "data" / "default_items.csv").drop(columns="respondent_id")
    return fit_structural((REF / "data" / "structural_model.lav").read_text(encoding="utf-8"), items)


@pytest.fixture(scope="module")
def std_ref() -> pd.DataFrame:
    return pd.read_csv(FIX / "issue17_std.csv")


def _merge(ours: pd.DataFrame, ref: pd.DataFrame, n: int) -> pd.DataFrame:
    m = ours.merge(ref, on=["lhs", "op", "rhs"], suffixes=("", "_ref"))
    assert len(m) == len(ours) == n
    return m


def test_std_paths_se_and_ci_match_standardized_solution(fit, std_ref):
    m = _merge(fit.std_paths, std_ref, 15)
    np.testing.assert_allclose(m["std_all"], m["est.std"], atol=TOL)
    np.testing.assert_allclose(m["se"], m["se_ref"], atol=TOL)
    np.testing.assert_allclose(m["ci_low"], m["ci.lower"], atol=TOL)
    np.testing.assert_allclose(m["ci_high"], m["ci.upper"], atol=TOL)
    pa = m[(m["lhs"] == "WSI") & (m["rhs"] == "PA")].iloc[0]
    assert pa["se"] == pytest.approx(pa["se_ref"], abs=TOL) and pa["se"] > 0.03


def test_latent_covariances_and_disturbance_variances_match_lavaan(fit, std_ref):
    lat = latent_covariance_table(fit)
    m = _merge(lat, pd.read_csv(FIX / "issue17_latent.csv"), 18)
    np.testing.assert_allclose(m["est"], m["est_ref"], atol=TOL)
    np.testing.assert_allclose(m["se"], m["se_ref"], atol=TOL)
    np.testing.assert_allclose(m["ci_low"], m["ci.lower"], atol=TOL)
    s = _merge(lat, std_ref, 18)
    np.testing.assert_allclose(s["std_all"], s["est.std"], atol=TOL)
    np.testing.assert_allclose(s["std_se"], s["se_ref"], atol=TOL)
    np.testing.assert_allclose(s["std_ci_high"], s["ci.upper"], atol=TOL)
    kinds = dict(zip(zip(lat["lhs"], lat["rhs"], strict=True), lat["kind"], strict=True))
    assert kinds[("IS", "IS")] == "variance" and kinds[("IS", "ES")] == "covariance"
    assert kinds[("SN", "SN")] == "disturbance variance"
    assert lat["kind"].value_counts().to_dict() == {"covariance": 10, "variance": 5, "disturbance variance": 3}


def test_r2_and_its_delta_method_se_match_lavaan(fit):
    ref = pd.read_csv(FIX / "issue17_r2.csv")
    out = r2_intervals(fit)
    assert out["variable"].tolist() == ref["variable"].tolist() == ["SN", "CN", "WSI"]
    np.testing.assert_allclose(out["r2"], ref["r2"], atol=TOL)
    np.testing.assert_allclose(out["se"], ref["se"], atol=TOL)
    np.testing.assert_allclose(out["ci_low"], ref["r2"] - 1.959963984540054 * ref["se"], atol=TOL)
    np.testing.assert_allclose(out["r2"], fit.r2["r2"], atol=1e-14)
    assert out["boot_n"].eq(0).all() and out["boot_ci_low"].isna().all()


def test_r2_bootstrap_interval_is_the_percentile_of_the_resamples(fit):
    rng = np.random.default_rng(3)
    thetas = fit.theta + rng.normal(scale=0.02, size=(101, fit.theta.size))
    out = r2_intervals(fit, thetas)
    each = np.array([r_squared_values(fit.structure, t, ["SN", "CN", "WSI"]) for t in thetas])
    np.testing.assert_allclose(out["boot_ci_low"], np.quantile(each, 0.025, axis=0), atol=1e-14)
    np.testing.assert_allclose(out["boot_ci_high"], np.quantile(each, 0.975, axis=0), atol=1e-14)
    assert out["boot_n"].eq(101).all()


def test_f2_matches_r_from_the_implied_latent_covariance(fit):
    ref = pd.read_csv(FIX / "issue17_f2.csv")
    out = f2_table(fit)
    m = out.merge(ref, on=["lhs", "rhs"], suffixes=("", "_ref"))
    assert len(m) == len(out) == 15
    np.testing.assert_allclose(m["f2"], m["f2_ref"], atol=TOL)
    np.testing.assert_allclose(m["r2_excluded"], m["r2_excluded_ref"], atol=TOL)
    # R^2 with every predictor is the model's R^2 (recursive model, disturbances uncorrelated with predictors)
    model_r2 = dict(zip(fit.r2["variable"], fit.r2["r2"], strict=True))
    for r in out.itertuples():
        assert r.r2_included == pytest.approx(model_r2[r.lhs], abs=1e-12)
    assert out.set_index(["lhs", "rhs"]).loc[("SN", "PR"), "size"] == "small"


def test_f2_labels_and_r2_from_cov_by_hand():
    assert [f2_label(x) for x in (0.0199, 0.02, 0.1499, 0.15, 0.35, float("nan"))] == [
        "negligible", "small", "small", "medium", "large", ""]
    cov = np.array([[1.0, 0.3, 0.5], [0.3, 1.0, 0.4], [0.5, 0.4, 1.0]])
    # y = 2 on x = 0, 1: (0.5, 0.4) [[1, .3], [.3, 1]]^-1 (0.5, 0.4)' = 0.3538461538...
    assert r_squared_from_cov(cov, 2, [0, 1]) == pytest.approx((0.25 + 0.16 - 2 * 0.3 * 0.5 * 0.4) / 0.91, abs=1e-15)
    assert r_squared_from_cov(cov, 2, [0]) == pytest.approx(0.25, abs=1e-15)
    assert r_squared_from_cov(cov, 2, []) == 0.0


# ---- the report tables


def test_report_r2_interval_says_which_and_tables_show_the_files(fit):
    from xhs_sharing.report.sections.structural import f2_table as f2_view
    from xhs_sharing.report.sections.structural import latent_table, r2_table, std_paths_table

    r2 = dict(zip(fit.r2["variable"], fit.r2["r2"], strict=True))
    delta = r2_table(r2, r2_intervals(fit))
    assert "delta-method Wald interval (no bootstrap resamples)" in delta["note"]
    assert [c["text"] for c in delta["rows"][0]["cells"]] == ["SN", "0.31", "0.043", "[0.23, 0.39]"]
    thetas = fit.theta + np.random.default_rng(1).normal(scale=0.01, size=(40, fit.theta.size))
    boot = r2_table(r2, r2_intervals(fit, thetas))
    assert "percentile interval over the 40 converged bootstrap resamples" in boot["note"]
    assert boot["rows"][0]["cells"][3]["text"] != delta["rows"][0]["cells"][3]["text"]
    std = std_paths_table(fit.std_paths)
    assert len(std["rows"]) == 15 and std["columns"][-1]["text"] == "\u03b2 95% CI"
    lat = latent_table(latent_covariance_table(fit))
    assert [r["cells"][0]["text"] for r in lat["rows"]][:2] == ["IS \u2194 ES", "IS \u2194 PR"]
    assert "Disturbance variance" in [r["cells"][1]["text"] for r in lat["rows"]]
    f2 = f2_view(f2_table(fit))
    assert len(f2["rows"]) == 15 and "not from a re-estimated model" in f2["note"]
