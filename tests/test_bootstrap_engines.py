"""The batched and the one-by-one bootstrap draw the same resamples and agree."""

from __future__ import annotations

import numpy as np
import pytest

from xhs_sharing.analysis.mediation import bootstrap_indirect
from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.sem.batched import BatchedChunkFitter, BatchedModel
from xhs_sharing.sem.resample import counts_from_indices
from xhs_sharing.study.syntax import mediation_triples, structural_syntax
from xhs_sharing.study.synthetic import codebook, simulate_survey


def test_counts_from_indices_is_a_per_row_bincount():
    idx = np.array([[0, 0, 2, 3], [1, 1, 1, 1], [3, 2, 1, 0]])
    np.testing.assert_array_equal(
        counts_from_indices(idx, 4), [[2, 0, 1, 1], [0, 4, 0, 0], [1, 1, 1, 1]])


@pytest.fixture(scope="module")
def setting(study):
    items = analysis_frame(simulate_survey(study, 500, seed=808), codebook(study, 7))
    syntax = structural_syntax(study)
    fit = fit_structural(syntax, items)
    return items, syntax, fit, mediation_triples(study)


def test_batched_bootstrap_equals_one_by_one(setting):
    items, syntax, fit, triples = setting
    fitter = BatchedChunkFitter(BatchedModel.from_semopy(fit.model), fit.structure)
    batched = bootstrap_indirect(items, syntax, triples, 150, 99, chunk_size=50, full_fit=fit, chunk_fitter=fitter)
    single = bootstrap_indirect(items, syntax, triples, 150, 99, chunk_size=50, full_fit=fit)
    assert list(batched.status) == list(single.status)
    assert batched.converged == single.converged == 150
    # every parameter of every resample, batched vs one-by-one Fisher scoring
    assert np.abs(batched.thetas - single.thetas).max() < 1e-6
    for level in (0.95, 0.90):
        for a, b in zip(batched.interval(level), single.interval(level)):
            np.testing.assert_allclose(a, b, atol=1e-7)


def test_improper_members_are_screened(setting):
    _, _, fit, _ = setting
    fitter = BatchedChunkFitter(BatchedModel.from_semopy(fit.model), fit.structure)
    good = fitter.model.start.copy()
    bad = good.copy()
    bad[fitter.model.index("is1", "~~", "is1")] = -0.2  # a Heywood case
    np.testing.assert_array_equal(fitter.proper(np.stack([good, bad])), [True, False])
