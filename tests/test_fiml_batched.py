"""Batched FIML bootstrap refits (sem.fiml_batched) against the one-by-one FIML path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from semopy.examples import holzinger39

from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.errors import SpecError
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.bootstrap import CONVERGED, SINGULAR_DATA, FimlChunkFitter, chunk_indices
from xhs_sharing.sem.fiml_batched import (
    BatchedFimlChunkFitter,
    fiml_batch_terms,
    singular_members,
    small_spd_inverse,
)
from xhs_sharing.sem.mvnorm_missing import FimlObjective, MissingData
from xhs_sharing.sem.resample import counts_from_indices

SEED = 20261127  # the package's master seed (config/config.yaml)
HS = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
"""


@pytest.fixture(scope="module")
def setting():
    """Holzinger-Swineford with 12% of the answers missing completely at random, fitted by FIML."""
    data = holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]
    data = data.mask(np.random.default_rng(SEED).random(data.shape) < 0.12)
    fit = fit_structural(HS, data, missing="fiml")
    x = data[list(fit.structure.observed)].to_numpy(dtype=float)
    return fit, x


def test_small_spd_inverse_equals_lapack():
    rng = np.random.default_rng(1)
    for m in range(1, 9):  # elementwise up to SMALL_BLOCK, LAPACK above
        a = rng.standard_normal((5, 3, m, m + 2))
        a = a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(m)
        inv, logdet = small_spd_inverse(a)
        np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(logdet, np.linalg.slogdet(a)[1], rtol=1e-12)


def test_batch_terms_equal_the_objective_of_each_resampled_data_set(setting):
    fit, x = setting
    idx = chunk_indices(np.random.SeedSequence(3), 4, len(x))
    model = BatchedModel(fit.structure, start=fit.theta)
    rng = np.random.default_rng(2)
    theta = fit.theta + 0.02 * rng.standard_normal((4, model.q))
    mean = fit.means + 0.05 * rng.standard_normal((4, model.p))
    terms = fiml_batch_terms(model, MissingData(x), counts_from_indices(idx, len(x)), theta, mean)
    for b in range(4):
        obj = FimlObjective(MissingData(x[idx[b]]), fit.structure.sigma_derivatives, model.q)
        f, g = obj.value_and_gradient(np.concatenate([theta[b], mean[b]]))
        assert terms.f[b] == pytest.approx(f, rel=1e-13)
        np.testing.assert_allclose(terms.g[b], g, rtol=0, atol=1e-13)
        assert np.abs(g).max() > 1e-3  # away from the optimum: the check is not vacuous


def test_batch_terms_with_large_missing_blocks_equal_the_objective(setting):
    """Rows missing 5-6 answers (elementwise inverses) and 7 or more (LAPACK) as well as the small blocks."""
    fit, _ = setting
    data = holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]]
    x = data.mask(np.random.default_rng(SEED).random(data.shape) < 0.5).to_numpy(dtype=float)
    x = x[(~np.isnan(x)).sum(axis=1) >= 1]
    md = MissingData(x)
    sizes = {cols.shape[1] for _, cols in md.groups}
    assert {5, 6} <= sizes and max(sizes) >= 7
    idx = chunk_indices(np.random.SeedSequence(4), 3, len(x))
    model = BatchedModel(fit.structure, start=fit.theta)
    rng = np.random.default_rng(5)
    theta = fit.theta + 0.02 * rng.standard_normal((3, model.q))
    mean = fit.means + 0.05 * rng.standard_normal((3, model.p))
    terms = fiml_batch_terms(model, md, counts_from_indices(idx, len(x)), theta, mean)
    for b in range(3):
        obj = FimlObjective(MissingData(x[idx[b]]), fit.structure.sigma_derivatives, model.q)
        f, g = obj.value_and_gradient(np.concatenate([theta[b], mean[b]]))
        assert terms.f[b] == pytest.approx(f, rel=1e-12)
        np.testing.assert_allclose(terms.g[b], g, rtol=0, atol=1e-12)


def test_batched_fiml_refits_equal_the_one_by_one_refits(setting):
    fit, x = setting
    idx = chunk_indices(np.random.SeedSequence(SEED), 30, len(x))
    batched, st_b = BatchedFimlChunkFitter.from_fit(fit, batch=16)(fit.structure, x, idx, fit.theta)
    single, st_s = FimlChunkFitter.from_fit(fit)(fit.structure, x, idx, fit.theta)
    assert st_b == st_s
    assert st_b.count(CONVERGED) >= 28
    ok = np.array(st_b) == CONVERGED
    np.testing.assert_allclose(batched[ok], single[ok], rtol=0, atol=1e-8)


def test_members_that_do_not_converge_are_refitted_one_by_one(setting):
    fit, x = setting
    idx = chunk_indices(np.random.SeedSequence(5), 6, len(x))
    capped = BatchedFimlChunkFitter.from_fit(fit, max_iter=1)  # nobody converges in one step
    thetas, status = capped(fit.structure, x, idx, fit.theta)
    single, st_s = FimlChunkFitter.from_fit(fit)(fit.structure, x, idx, fit.theta)
    assert status == st_s
    np.testing.assert_allclose(thetas, single, rtol=0, atol=1e-12)  # the one-by-one solutions themselves


def test_a_resample_with_a_constant_indicator_is_singular_data(setting):
    fit, x = setting
    row = int(np.flatnonzero(~np.isnan(x).any(axis=1))[0])
    idx = chunk_indices(np.random.SeedSequence(7), 3, len(x))
    idx[1] = row  # every draw the same respondent: each indicator has one value
    counts = counts_from_indices(idx, len(x))
    assert singular_members(MissingData(x), counts).tolist() == [False, True, False]
    thetas, status = BatchedFimlChunkFitter.from_fit(fit)(fit.structure, x, idx, fit.theta)
    assert status[1] == SINGULAR_DATA and np.isnan(thetas[1]).all()
    assert status[0] == status[2] == CONVERGED


def test_an_ml_fit_is_refused(setting):
    fit, x = setting
    ml = fit_structural(HS, pd.DataFrame(np.nan_to_num(x, nan=5.0), columns=list(fit.structure.observed)))
    with pytest.raises(SpecError, match="needs a FIML fit"):
        BatchedFimlChunkFitter.from_fit(ml)


def test_moments_give_every_members_residual_sums(setting):
    """sum_i c_i r_i r_i' and sum_i c_i r_i from the count-weighted moments equal the direct sums."""
    from xhs_sharing.sem.fiml_batched import FimlMoments

    fit, x = setting
    md = MissingData(x)
    idx = chunk_indices(np.random.SeedSequence(11), 3, len(x))
    counts = counts_from_indices(idx, len(x))
    mean = fit.means + np.array([[0.0], [0.3], [-0.2]])
    rr, sr = FimlMoments.of(md, counts, center=fit.means).residual_moments(mean)
    for b in range(3):
        r = np.where(md.observed, md.x - mean[b], 0.0)
        np.testing.assert_allclose(rr[b], (r * counts[b][:, None]).T @ r, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(sr[b], counts[b] @ r, rtol=1e-12, atol=1e-10)
    assert np.abs(sr[1]).max() > 1.0  # the means moved: not a vacuous zero
