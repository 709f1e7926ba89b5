"""Thresholds, polychoric correlations and their Gamma (xhs_sharing.sem.ordinal, .bvn).

Known answers: lavaan 0.6-14's WLSMV sample statistics of the two reference
surveys (fixtures written by tests/reference/lavaan_wlsmv.R), closed forms of
the bivariate normal and of the tetrachoric correlation, numerical
integration, finite differences; and the batched path against the one-by-one
path on bootstrap resamples, including resamples that lose a category.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import ndtr

from xhs_sharing.errors import DataError
from xhs_sharing.sem.bvn import bvn_cdf, bvn_pdf, grid_cdf
from xhs_sharing.sem.ordinal import (
    batched_ordinal_statistics,
    bivariate_table,
    ordinal_statistics,
    pair_index,
    polychoric,
    polychoric_loglik,
    prepare_ordinal,
    thresholds_from_counts,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
SCALE = tuple(range(1, 8))


def load_data(tag: str):
    frame = pd.read_csv(REFERENCE / "data" / f"{tag}_items.csv").drop(columns="respondent_id")
    return prepare_ordinal(frame.to_numpy(float), list(frame.columns), scale=SCALE)


def fixture(tag: str, what: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "fixtures" / f"wlsmv_{tag}_{what}.csv")


@pytest.fixture(scope="module", params=["default", "skewed"])
def sample(request):
    data = load_data(request.param)
    return request.param, data, ordinal_statistics(data)


@pytest.fixture(scope="module")
def default_sample():
    data = load_data("default")
    return data, ordinal_statistics(data)


# -- bivariate normal --------------------------------------------------------
def test_bvn_cdf_matches_numerical_integration():
    # Phi_2(h, k; r) = Phi(h) Phi(k) + int_0^r phi_2(h, k; s) ds (Plackett's identity)
    rng = np.random.default_rng(3)
    for _ in range(120):
        h, k = rng.normal(0.0, 1.5, 2)
        r = rng.uniform(-0.999, 0.999)
        ref = ndtr(h) * ndtr(k) + quad(lambda s: bvn_pdf(h, k, s), 0.0, r, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
        assert bvn_cdf(h, k, r) == pytest.approx(ref, abs=1e-13)


def test_bvn_cdf_closed_forms():
    r = np.linspace(-0.99, 0.99, 23)
    # Sheppard's formula at the origin
    np.testing.assert_allclose(bvn_cdf(0.0, 0.0, r), 0.25 + np.arcsin(r) / (2 * np.pi), atol=1e-15)
    h, k = 0.7, -1.2
    assert bvn_cdf(h, k, 0.0) == pytest.approx(ndtr(h) * ndtr(k), abs=1e-15)
    limits = bvn_cdf([-np.inf, np.inf, 0.3, np.inf, 0.3], [0.3, 0.3, np.inf, np.inf, -np.inf], 0.6)
    np.testing.assert_allclose(limits, [0.0, ndtr(0.3), ndtr(0.3), 1.0, 0.0], atol=1e-15)


def test_grid_cdf_equals_pointwise_cdf():
    rng = np.random.default_rng(4)
    t1, t2 = np.sort(rng.normal(size=(5, 4)), axis=1), np.sort(rng.normal(size=(5, 3)), axis=1)
    rho = np.array([0.1, -0.5, 0.7, 0.95, -0.97])
    grid = grid_cdf(t1, t2, rho)
    point = bvn_cdf(t1[:, :, None], t2[:, None, :], rho[:, None, None])
    np.testing.assert_allclose(grid, point, atol=1e-15)


# -- polychoric kernel -----------------------------------------------------------
def test_tetrachoric_of_a_table_with_even_margins_is_the_cosine_formula():
    # thresholds 0 and 0: P(both low) = 1/4 + asin(rho) / (2 pi), so rho = -cos(2 pi n11 / n)
    table = np.array([[70.0, 30.0], [30.0, 70.0]])
    tau = thresholds_from_counts(table.sum(axis=1))
    assert tau == pytest.approx([0.0], abs=1e-15)
    rho = polychoric(table, tau, tau)
    assert rho == pytest.approx(-np.cos(2 * np.pi * 70.0 / 200.0), abs=1e-10)


def test_tetrachoric_reproduces_the_observed_cell_share():
    # a 2x2 table is just identified: the ML tetrachoric puts Phi_2(t1, t2; rho) at n11 / n
    table = np.array([[41.0, 17.0], [23.0, 119.0]])
    t1 = thresholds_from_counts(table.sum(axis=1))
    t2 = thresholds_from_counts(table.sum(axis=0))
    rho = polychoric(table, t1, t2)
    assert bvn_cdf(t1[0], t2[0], rho) == pytest.approx(41.0 / 200.0, abs=1e-12)


def test_polychoric_derivatives_match_finite_differences():
    rng = np.random.default_rng(5)
    table = rng.integers(1, 30, size=(5, 4)).astype(float)
    t1 = thresholds_from_counts(table.sum(axis=1))
    t2 = thresholds_from_counts(table.sum(axis=0))
    for rho in (-0.6, 0.1, 0.45, 0.93):
        h = 1e-5
        lp, gp, _ = polychoric_loglik(rho + h, table, t1, t2)
        lm, gm, _ = polychoric_loglik(rho - h, table, t1, t2)
        _, g, hess = polychoric_loglik(rho, table, t1, t2)
        assert g == pytest.approx((lp - lm) / (2 * h), rel=1e-6, abs=1e-6)
        assert hess == pytest.approx((gp - gm) / (2 * h), rel=1e-6)


def test_polychoric_is_the_maximum():
    rng = np.random.default_rng(6)
    table = rng.integers(0, 25, size=(6, 6)).astype(float) + np.diag(np.full(6, 30.0))
    t1 = thresholds_from_counts(table.sum(axis=1))
    t2 = thresholds_from_counts(table.sum(axis=0))
    rho = polychoric(table, t1, t2)
    assert polychoric_loglik(rho, table, t1, t2)[1] == pytest.approx(0.0, abs=1e-8)
    best = polychoric_loglik(rho, table, t1, t2)[0]
    assert all(polychoric_loglik(rho + d, table, t1, t2)[0] < best for d in (-1e-3, 1e-3))


def test_thresholds_repeat_and_go_infinite_for_empty_categories():
    tau = thresholds_from_counts(np.array([0.0, 5.0, 0.0, 5.0, 0.0]))
    assert tau[0] == -np.inf and tau[3] == np.inf
    assert tau[1] == tau[2] == pytest.approx(0.0, abs=1e-15)


# -- lavaan's sample statistics ------------------------------------------------------
def test_thresholds_match_lavaan(sample):
    tag, data, stats = sample
    ref = fixture(tag, "thresholds")
    assert list(ref.item + "|t" + ref.threshold.astype(str)) == list(data.threshold_names)
    np.testing.assert_allclose(stats.thresholds, ref.value, atol=1e-4)


def test_categories_are_the_values_used_as_in_lavaan(sample):
    tag, data, _ = sample
    ref = fixture(tag, "thresholds")
    for name, levels in zip(data.names, data.levels, strict=True):
        rows = ref[ref.item == name]
        assert list(rows.below) + [rows.above.iloc[-1]] == list(levels)


def test_polychorics_match_lavaan(sample):
    tag, data, stats = sample
    ref = fixture(tag, "polychoric").set_index("item").loc[list(data.names), list(data.names)]
    np.testing.assert_allclose(stats.polychoric, ref.to_numpy(float), atol=1e-4)


def test_gamma_matches_lavaan(sample):
    tag, data, stats = sample
    ref = fixture(tag, "gamma")
    names = list(data.threshold_names) + list(data.correlation_names)
    assert list(ref.row_name[ref.row == ref.col]) == names
    mine = stats.gamma[ref.row - 1, ref.col - 1]
    diag = (ref.row == ref.col).to_numpy()
    np.testing.assert_allclose(mine[diag], ref.value[diag], rtol=1e-4)
    scale = np.abs(ref.value[diag]).max()
    assert np.max(np.abs(mine - ref.value)) < 1e-4 * scale


def test_skewed_survey_counts_unused_categories_and_listwise_deletion():
    data = load_data("skewed")
    assert data.n == 61 and data.n_listwise_deleted == 439
    unused = dict(zip(data.names, data.unused, strict=True))
    assert 7.0 in unused["es3"] and 6.0 in unused["es3"]
    assert data.n_unused_categories == sum(7 - k for k in data.n_categories)


def test_prepare_ordinal_rejects_bad_answers():
    with pytest.raises(DataError, match="off the scale"):
        prepare_ordinal(np.array([[1.0, 2.0], [8.0, 1.0], [2.0, 2.0]]), ["a", "b"], scale=SCALE)
    with pytest.raises(DataError, match="fewer than two categories"):
        prepare_ordinal(np.array([[1.0, 2.0], [1.0, 1.0]]), ["a", "b"], scale=SCALE)
    with pytest.raises(DataError, match="no respondent"):
        prepare_ordinal(np.array([[np.nan, 2.0], [1.0, np.nan]]), ["a", "b"])


# -- resamples ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def resamples(default_sample):
    data, full = default_sample
    rng = np.random.default_rng(20261127)
    counts = rng.multinomial(data.n, np.full(data.n, 1.0 / data.n), size=20).astype(float)
    return counts, batched_ordinal_statistics(data, counts, full, chunk_size=8)


@pytest.mark.slow
def test_batched_equals_one_by_one_on_20_resamples(default_sample, resamples):
    data, _ = default_sample
    counts, batch = resamples
    assert batch.n_resamples_merged >= 1  # the rule for empty categories is exercised
    for b in range(counts.shape[0]):
        one = ordinal_statistics(data, counts[b])
        np.testing.assert_array_equal(np.isfinite(one.thresholds), np.isfinite(batch.thresholds[b]))
        np.testing.assert_allclose(batch.thresholds[b], one.thresholds, rtol=0, atol=1e-10)
        np.testing.assert_allclose(batch.polychoric[b], one.correlations, rtol=0, atol=1e-10)
        np.testing.assert_allclose(batch.gamma_diag[b], np.diag(one.gamma), rtol=1e-10)


def test_merged_category_equals_the_resample_as_a_new_data_set(default_sample, resamples):
    # lavaan fitted to the resampled rows as a data set of their own would not know the
    # category that is missing from them; the merge rule must give exactly that answer
    data, _ = default_sample
    counts, batch = resamples
    b = int(np.flatnonzero(batch.empty_categories.any(axis=1))[0])
    rows = np.repeat(np.arange(data.n), counts[b].astype(int))
    own = prepare_ordinal(_values(data)[rows], list(data.names))
    alone = ordinal_statistics(own)
    np.testing.assert_allclose(batch.polychoric[b], alone.correlations, atol=1e-10)
    finite = batch.thresholds[b][np.isfinite(batch.thresholds[b])]
    np.testing.assert_allclose(np.unique(finite), np.unique(alone.thresholds), atol=1e-10)
    np.testing.assert_allclose(batch.gamma_diag[b][-alone.correlations.size:],
                               np.diag(alone.gamma)[-alone.correlations.size:], rtol=1e-10)


def _values(data) -> np.ndarray:
    return np.column_stack([np.array(lv)[data.codes[:, j]] for j, lv in enumerate(data.levels)])


def test_resample_losing_all_but_one_category_is_degenerate(default_sample):
    data, full = default_sample
    counts = np.zeros((2, data.n))
    counts[0] = 1.0
    keep = data.codes[:, 0] == data.codes[0, 0]
    counts[1, keep] = data.n / keep.sum()
    batch = batched_ordinal_statistics(data, counts, full)
    assert list(batch.degenerate) == [False, True]
    assert np.isnan(batch.polychoric[1]).any() and not np.isnan(batch.polychoric[0]).any()
    np.testing.assert_allclose(batch.polychoric[0], full.correlations, atol=1e-10)


def test_pair_order_and_table():
    rows, cols = pair_index(4)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2)]
    table = bivariate_table(np.array([0, 1, 1, 2]), np.array([1, 0, 0, 1]), 3, 2, np.array([1.0, 2.0, 1.0, 0.5]))
    np.testing.assert_array_equal(table, [[0, 1], [3, 0], [0, 0.5]])
