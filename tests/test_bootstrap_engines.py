"""The batched and the one-by-one bootstrap draw the same resamples and agree."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from xhs_sharing.analysis.mediation import bootstrap_indirect
from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.errors import EstimationError
from xhs_sharing.pipeline.structural import choose_chunk_fitter
from xhs_sharing.sem.batched import BatchedChunkFitter, BatchedModel
from xhs_sharing.sem.bootstrap import fast_start_method
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.resample import counts_from_indices
from xhs_sharing.study.syntax import mediation_triples, structural_syntax
from xhs_sharing.study.synthetic import codebook, simulate_survey

pytestmark = pytest.mark.slow


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
    fitter = BatchedChunkFitter(BatchedModel.from_fit(fit))
    batched = bootstrap_indirect(items, syntax, triples, 150, 99, chunk_size=50, full_fit=fit, chunk_fitter=fitter)
    single = bootstrap_indirect(items, syntax, triples, 150, 99, chunk_size=50, full_fit=fit)
    assert list(batched.status) == list(single.status)
    assert batched.converged == single.converged == 150
    # every parameter of every resample, batched vs one-by-one Fisher scoring
    assert np.abs(batched.thetas - single.thetas).max() < 1e-6
    for level in (0.95, 0.90):
        for a, b in zip(batched.interval(level), single.interval(level)):
            np.testing.assert_allclose(a, b, atol=1e-7)


def test_improper_members_are_screened_as_solution_problems_does(setting):
    _, _, fit, _ = setting
    model = BatchedModel.from_fit(fit)
    good = model.start.copy()
    bad = good.copy()
    bad[model.index("is1", "~~", "is1")] = -0.2  # a Heywood case
    np.testing.assert_array_equal(model.proper(np.stack([good, bad])), [True, False])
    assert solution_problems(fit.structure, good) == []
    assert solution_problems(fit.structure, bad) == ["negative residual variance of is1"]


def test_a_fitter_for_another_model_is_refused(setting, study):
    items, _, fit, _ = setting
    other = fit_structural("IS =~ is1 + is2 + is3\nES =~ es1 + es2 + es3", items)
    fitter = BatchedChunkFitter(BatchedModel.from_fit(other))
    x = items[list(fit.structure.observed)].to_numpy()
    with pytest.raises(EstimationError, match="different parameters"):
        fitter(fit.structure, x, np.zeros((2, len(x)), dtype=np.intp), fit.theta)


def test_batched_engine_on_forked_workers_gives_the_same_bytes(setting):
    """Issue 14: the structural step refits the batched chunks on its two workers (forked on Linux);
    the resamples are fixed by the seed and the chunks, so every byte equals the in-process run."""
    items, syntax, fit, triples = setting
    fitter, engine, n_jobs = choose_chunk_fitter(fit, items, "batched", 2)
    assert isinstance(fitter, BatchedChunkFitter) and engine == "batched" and n_jobs == 2
    kw = dict(chunk_size=40, full_fit=fit, chunk_fitter=fitter)
    one = bootstrap_indirect(items, syntax, triples, 200, 5, n_jobs=1, **kw)
    two = bootstrap_indirect(items, syntax, triples, 200, 5, n_jobs=2, mp_context=fast_start_method(), **kw)
    assert one.converged == two.converged == 200
    np.testing.assert_array_equal(one.status, two.status)
    assert one.thetas.tobytes() == two.thetas.tobytes()
    assert one.draws_est.tobytes() == two.draws_est.tobytes()


def test_fork_is_the_start_method_on_linux_only(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert fast_start_method() == "fork"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fast_start_method() == "spawn"
