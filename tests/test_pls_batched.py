"""Batched PLS / PLSc (xhs_sharing.sem.pls_batched) against the one-at-a-time reference engine.

The batched fit of a stack of resampled correlation matrices must give, for
every resample, what :func:`xhs_sharing.sem.pls.fit_pls` gives on that
resample alone, to 1e-10 (weights, loadings, paths, R-squared, rho_A,
indirect effects, HTMT, iteration counts and statuses); the bootstrap draws
its resamples by the package's seeding rules; seminr-py's bootstrap, fed the
same resamples, gives the same path coefficients.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.sem import pls
from xhs_sharing.sem import pls_batched as pb
from xhs_sharing.sem.bootstrap import chunk_indices

REF = Path(__file__).parent / "reference"
SEED = 20261127


def default_model() -> tuple[pls.PlsSpec, np.ndarray]:
    """The default study model (tests/reference/data/structural_model.lav) and its survey as analysed."""
    lav = (REF / "data" / "structural_model.lav").read_text()
    blocks = {m[1]: m[2].split(" + ") for m in re.finditer(r"^(\w+) =~ (.+)$", lav, re.M)}
    paths = [(s, m[1]) for m in re.finditer(r"^(\w+) ~ (.+)$", lav, re.M) for s in m[2].split(" + ")]
    spec = pls.pls_spec(blocks, paths)
    data = pd.read_csv(REF / "data" / "default_items.csv")
    return spec, data[list(spec.items)].to_numpy(float)


def corp_rep_model() -> tuple[pls.PlsSpec, np.ndarray]:
    """Hair et al.'s simple corporate reputation model, ``-99`` mean-replaced."""
    blocks = {"COMP": ["comp_1", "comp_2", "comp_3"], "LIKE": ["like_1", "like_2", "like_3"],
              "CUSA": ["cusa"], "CUSL": ["cusl_1", "cusl_2", "cusl_3"]}
    paths = [("COMP", "CUSA"), ("LIKE", "CUSA"), ("COMP", "CUSL"), ("LIKE", "CUSL"), ("CUSA", "CUSL")]
    spec = pls.pls_spec(blocks, paths)
    d = pd.read_csv(REF / "data" / "corp_rep_data.csv").replace(-99, np.nan)
    d = d.fillna(d.mean())
    return spec, d[list(spec.items)].to_numpy(float)


def max_difference(batch: pb.PlsBatch, corr: np.ndarray, spec: pls.PlsSpec, n: int, **kw) -> float:
    """Largest absolute difference between the batch and one-by-one fits, over every resample and field."""
    chains = pls.indirect_chains(spec)
    worst = 0.0
    for b in range(corr.shape[0]):
        one = pls.fit_pls(corr[b], spec, n, **kw)
        pairs = [(one.weights, batch.weights[b]), (one.loadings, batch.loadings[b]),
                 (one.paths, batch.paths[b]), (one.r2, batch.r2[b]), (one.rho_a, batch.rho_a[b]),
                 (one.construct_corr, batch.construct_corr[b]),
                 (pls.specific_indirect(one.paths, chains), batch.indirect[b]),
                 (pls.total_effects(one.paths), batch.total[b])]
        worst = max(worst, *(float(np.abs(x - y).max()) for x, y in pairs))
        h1, h2 = pls.htmt(corr[b], spec), batch.htmt[b]
        worst = max(worst, float(np.nanmax(np.abs(h1 - h2))))
        assert one.n_iter == batch.n_iter[b]
        expected = "converged" if one.proper else "improper"
        assert batch.status[b] == expected, (b, batch.status[b], expected)
    return worst


@pytest.mark.parametrize(("model", "consistent", "scheme"), [
    (default_model, True, "path"), (default_model, False, "path"),
    (corp_rep_model, True, "path"), (corp_rep_model, False, "factorial"), (corp_rep_model, True, "centroid"),
])
def test_batched_equals_one_by_one(model, consistent, scheme):
    spec, x = model()
    idx = chunk_indices(np.random.SeedSequence(SEED), 40, x.shape[0])
    corr = pb.resample_correlations(x, idx)
    batch = pb.fit_pls_batched(corr, spec, consistent=consistent, scheme=scheme)
    assert max_difference(batch, corr, spec, x.shape[0], consistent=consistent, scheme=scheme) < 1e-10


def test_batched_comparison_can_fail():
    """One more or one fewer PLS iteration (a looser criterion) shows up far above 1e-10."""
    spec, x = default_model()
    corr = pb.resample_correlations(x, chunk_indices(np.random.SeedSequence(SEED), 5, x.shape[0]))
    loose = pb.fit_pls_batched(corr, spec, tol=1e-5)
    with pytest.raises(AssertionError):
        assert max_difference(loose, corr, spec, x.shape[0]) < 1e-10


def test_resample_correlations_are_the_resamples_correlations():
    spec, x = default_model()
    idx = chunk_indices(np.random.SeedSequence(SEED), 3, x.shape[0])
    corr = pb.resample_correlations(x, idx)
    for b in range(3):
        np.testing.assert_allclose(corr[b], np.corrcoef(x[idx[b]], rowvar=False), atol=1e-12)


def test_bootstrap_follows_the_package_seeding():
    """Resample j of chunk k is row j of chunk_indices(SeedSequence(seed).spawn(n_chunks)[k], ...)."""
    spec, x = corp_rep_model()
    boot = pb.bootstrap_pls(x, spec, n_resamples=25, seed=SEED, chunk_size=10, consistent=False)
    assert boot.batch.paths.shape == (25, 4, 4) and boot.failures == {}
    streams = np.random.SeedSequence(SEED).spawn(3)
    rows = chunk_indices(streams[2], 5, x.shape[0])  # the last chunk holds resamples 20-24
    one = pls.fit_pls(np.corrcoef(x[rows[3]], rowvar=False), spec, x.shape[0], consistent=False)
    np.testing.assert_allclose(boot.batch.paths[23], one.paths, atol=1e-10)


def test_bootstrap_matches_seminr_py_replications():
    """seminr-py's bootstrap_model fed the package's first 20 resamples (seed 20240917, chunks of 10).

    seminr resamples the raw answers and mean-replaces the ``-99`` codes
    within each resample; refitting each resample that way reproduces its
    paths to 1e-8. :func:`bootstrap_pls` resamples data imputed once (as the
    package analyses data), which moves these paths by up to 0.002.
    """
    fixture = pd.read_csv(REF / "fixtures" / "pls_seminr_py.csv").query("model == 'corp_rep_boot'")
    spec, x = corp_rep_model()
    raw = pd.read_csv(REF / "data" / "corp_rep_data.csv").replace(-99, np.nan)[list(spec.items)]
    streams = np.random.SeedSequence(20240917).spawn(2)
    indices = np.vstack([chunk_indices(s, 10, len(raw)) for s in streams])
    idx = {c: j for j, c in enumerate(spec.constructs)}
    ours, once = [], pb.bootstrap_pls(x, spec, n_resamples=20, seed=20240917, chunk_size=10, consistent=False)
    for q, r, c in zip(fixture.quantity, fixture.row, fixture.col, strict=True):
        b = int(q.split("_")[1])
        sample = raw.iloc[indices[b]]
        fit = pls.fit_pls(pls.item_correlations(sample.fillna(sample.mean()), spec), spec, len(raw),
                          consistent=False)
        ours.append((fit.paths[idx[r], idx[c]], once.batch.paths[b, idx[r], idx[c]]))
    ours_arr = np.array(ours)
    assert len(ours_arr) == 100
    np.testing.assert_allclose(ours_arr[:, 0], fixture.value, atol=1e-8)
    gap = np.abs(ours_arr[:, 1] - fixture.value.to_numpy()).max()
    assert 1e-4 < gap < 2e-3


def test_bootstrap_table_intervals():
    spec, x = corp_rep_model()
    boot = pb.bootstrap_pls(x, spec, n_resamples=200, seed=SEED, chunk_size=50, consistent=False)
    corr = np.corrcoef(x, rowvar=False)
    fit = pls.fit_pls(corr, spec, x.shape[0], consistent=False)
    tab = pb.bootstrap_table(fit, corr, boot)
    assert list(tab.kind.value_counts().sort_index().items()) == [
        ("htmt", 6), ("loading", 10), ("path", 5), ("specific_indirect", 2), ("total_indirect", 2)]
    row = tab[(tab.kind == "path") & (tab.source == "CUSA")].iloc[0]
    draws = boot.batch.paths[:, 2, 3]
    assert row.estimate == pytest.approx(0.504466308486452, abs=1e-9)
    assert (row.ci_lower, row.ci_upper) == pytest.approx(tuple(np.quantile(draws, [0.025, 0.975])), abs=1e-15)
    assert row.se == pytest.approx(np.std(draws, ddof=1), abs=1e-15)
    assert (tab.n_resamples == 200).all()


def test_failed_resamples_are_counted_and_left_out():
    """An item answered once by a single respondent has no variance in resamples that miss that row."""
    rng = np.random.default_rng(3)
    f = rng.normal(size=(30, 2))
    x = np.column_stack([f[:, [0]] + 0.5 * rng.normal(size=(30, 3)), f[:, [1]] + 0.5 * rng.normal(size=(30, 2))])
    x = np.column_stack([x, np.r_[1.0, np.zeros(29)]])
    spec = pls.pls_spec({"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "rare"]}, [("A", "B")])
    boot = pb.bootstrap_pls(x, spec, n_resamples=100, seed=SEED, chunk_size=25, consistent=False)
    indices = np.vstack([chunk_indices(s, 25, 30) for s in np.random.SeedSequence(SEED).spawn(4)])
    expected = int((~np.any(indices == 0, axis=1)).sum())
    assert expected > 0
    assert boot.failures == {"singular_data": expected}
    assert int(boot.ok.sum()) == 100 - expected
