"""Ordinal SEM by WLSMV (xhs_sharing.sem.wls) against lavaan 0.6-14 and exact algebra.

Fixtures: tests/reference/lavaan_wlsmv.R fits the default structural model
with ``ordered = <all items>, estimator = "WLSMV"`` to the default survey and
to a skewed survey with missing answers and sparse categories. Tolerances of
issue 13: estimates 1e-4 absolute, standard errors 1% relative, test
statistics 0.5% relative, fit measures .002 absolute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.sem.ordinal import ordinal_statistics, pair_index, prepare_ordinal
from xhs_sharing.sem.wls import (
    bootstrap_wlsmv,
    fit_dwls,
    fit_wlsmv,
    ordinal_model,
    scaled_shifted,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
SYNTAX = (REFERENCE / "data" / "structural_model.lav").read_text(encoding="utf-8")

TESTS = ["chisq", "chisq.scaled", "chisq.scaling.factor", "chisq.shift.parameters",
         "baseline.chisq", "baseline.chisq.scaled", "baseline.chisq.scaling.factor"]
MEASURES = ["cfi", "tli", "rmsea", "cfi.scaled", "tli.scaled", "rmsea.scaled", "srmr"]


def _data(tag: str):
    frame = pd.read_csv(REFERENCE / "data" / f"{tag}_items.csv").drop(columns="respondent_id")
    return prepare_ordinal(frame.to_numpy(float), list(frame.columns), scale=tuple(range(1, 8)))


@pytest.fixture(scope="module", params=["default", "skewed"])
def fitted(request):
    data = _data(request.param)
    model = ordinal_model(SYNTAX, data.names)
    fit = fit_wlsmv(model, ordinal_statistics(data), data.threshold_names)
    return request.param, data, model, fit


def _lavaan_rows(tag: str) -> dict:
    ref = pd.read_csv(REFERENCE / "fixtures" / f"wlsmv_{tag}_estimates.csv")
    return {_key(r.lhs, r.op, r.rhs): r for r in ref.itertuples()}


def _key(lhs: str, op: str, rhs: str) -> tuple:
    return (op, frozenset((lhs, rhs))) if op == "~~" else (op, lhs, rhs)


def _lavaan_fit(tag: str) -> pd.Series:
    return pd.read_csv(REFERENCE / "fixtures" / f"wlsmv_{tag}_fit.csv").set_index("measure").value


# -- against lavaan -------------------------------------------------------------------
def test_every_lavaan_parameter_is_estimated(fitted):
    tag, _, _, fit = fitted
    ref = _lavaan_rows(tag)
    mine = {_key(p.lhs, p.op, p.rhs) for p in fit.parameters()}
    lavaan_free = {k for k, r in ref.items() if r.free > 0}
    assert lavaan_free <= mine
    assert sum(p.free for p in fit.parameters()) == len(lavaan_free)


def test_estimates_match_lavaan(fitted):
    tag, _, _, fit = fitted
    ref = _lavaan_rows(tag)
    for p in fit.parameters():
        assert p.est == pytest.approx(ref[_key(p.lhs, p.op, p.rhs)].est, abs=1e-4), (p.lhs, p.op, p.rhs)


def test_residual_variances_are_one_minus_communality_as_lavaan(fitted):
    tag, data, model, fit = fitted
    ref = _lavaan_rows(tag)
    for item, theta in zip(data.names, model.residual_variances(fit.x), strict=True):
        row = ref[_key(item, "~~", item)]
        assert row.free == 0 and theta == pytest.approx(row.est, abs=1e-4)
    np.testing.assert_allclose(np.diag(model.implied(fit.x)), 1.0)


def test_standard_errors_match_lavaan(fitted):
    tag, _, _, fit = fitted
    ref = _lavaan_rows(tag)
    for p in fit.parameters():
        se = ref[_key(p.lhs, p.op, p.rhs)].se
        if se > 0:
            assert p.se == pytest.approx(se, rel=0.01), (p.lhs, p.op, p.rhs)
        else:
            assert p.se == 0.0


def test_test_statistics_match_lavaan(fitted):
    tag, _, _, fit = fitted
    ref = _lavaan_fit(tag)
    assert fit.measures["df"] == ref["df"] and fit.measures["npar"] == ref["npar"]
    assert fit.measures["ntotal"] == ref["ntotal"]
    for name in TESTS:
        assert fit.measures[name] == pytest.approx(ref[name], rel=0.005), name
    assert fit.test.trace_ug == pytest.approx(ref["trace.UGamma"], rel=0.005)
    assert fit.test.trace_ug2 == pytest.approx(ref["trace.UGamma2"], rel=0.005)
    assert fit.baseline.shift == pytest.approx(ref["baseline.chisq.shift.parameters"], rel=0.005)
    assert fit.fmin == pytest.approx(ref["fmin"], rel=0.005)


def test_fit_measures_match_lavaan(fitted):
    tag, _, _, fit = fitted
    ref = _lavaan_fit(tag)
    for name in MEASURES:
        assert fit.measures[name] == pytest.approx(ref[name], abs=0.002), name
    assert all(type(v) is float for v in fit.measures.values())  # JSON-ready


# -- algebra --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def default_fit():
    data = _data("default")
    model = ordinal_model(SYNTAX, data.names)
    stats = ordinal_statistics(data)
    return data, model, stats, fit_wlsmv(model, stats, data.threshold_names)


def test_scaled_shifted_is_the_identity_when_gamma_is_the_inverse_weight(default_fit):
    # U Gamma = I - W D (D'WD)^-1 D' is idempotent of rank df when Gamma = W^-1: a = 1, b = 0
    _, model, _, fit = default_fit
    jac = model.jacobian(fit.x)
    w = 1.0 / np.diag(fit.stats.gamma)[-jac.shape[0]:]
    df = jac.shape[0] - jac.shape[1]
    out = scaled_shifted(123.0, df, w, np.diag(1.0 / w), jac)
    assert out.trace_ug == pytest.approx(df) and out.trace_ug2 == pytest.approx(df)
    assert out.scaling_factor == pytest.approx(1.0) and out.shift == pytest.approx(0.0, abs=1e-8)
    assert out.chisq_scaled == pytest.approx(123.0)


def test_dwls_recovers_the_parameters_of_an_exact_correlation_matrix(default_fit):
    _, model, _, fit = default_fit
    truth = fit.x + 0.03 * np.sin(np.arange(fit.x.size))
    r = model.moments(truth)
    w = np.linspace(0.5, 2.0, r.size)
    res = fit_dwls(model, r, w)
    assert res.converged and res.fmin < 1e-20
    np.testing.assert_allclose(res.x, truth, atol=1e-8)


def test_batched_jacobian_and_gradient_match_the_engine_and_finite_differences(default_fit):
    _, model, _, fit = default_fit
    xs = np.stack([fit.x, fit.x * 1.05, fit.x - 0.02])
    sigma, jac = model.batched_jacobian(xs)
    for b in range(3):
        np.testing.assert_allclose(jac[b], model.jacobian(xs[b]), atol=1e-12)
        np.testing.assert_allclose(sigma[b], model.moments(xs[b]), atol=1e-14)
    h = 1e-6
    k = 7
    e = np.zeros(fit.x.size)
    e[k] = h
    fd = (model.moments(fit.x + e) - model.moments(fit.x - e)) / (2 * h)
    np.testing.assert_allclose(jac[0][:, k], fd, atol=1e-8)
    r = fit.stats.correlations
    w = np.linspace(1.0, 3.0, r.size)
    f, g = model.batched_gradient(xs, np.broadcast_to(r, (3, r.size)), np.broadcast_to(w, (3, r.size)))
    for b in range(3):
        resid = r - sigma[b]
        assert f[b] == pytest.approx(np.sum(w * resid**2))
        np.testing.assert_allclose(g[b], jac[b].T @ (w * resid), atol=1e-12)


def test_implied_matrix_is_in_data_order(default_fit):
    data, model, _, fit = default_fit
    implied = model.implied(fit.x)
    rows, cols = pair_index(len(data.names))
    np.testing.assert_allclose(implied[rows, cols], model.moments(fit.x))
    np.testing.assert_allclose(implied, implied.T)


def test_bootstrap_equals_one_by_one_fits(default_fit):
    data, model, _, fit = default_fit
    rng = np.random.default_rng(11)
    counts = rng.multinomial(data.n, np.full(data.n, 1.0 / data.n), size=12).astype(float)
    boot = bootstrap_wlsmv(model, data, counts, fit, chunk_size=5)
    assert boot.converged.all() and not boot.failed.any()
    for b in (0, int(np.argmax(boot.ordinal.empty_categories.sum(axis=1)))):
        one = fit_wlsmv(model, ordinal_statistics(data, counts[b]), data.threshold_names, start=fit.x)
        np.testing.assert_allclose(boot.estimates[b], one.x, atol=1e-8)
