"""Batched PLS / PLSc: every resample of a bootstrap chunk fitted at once, and the percentile bootstrap.

PLS needs only the item correlation matrix (:mod:`xhs_sharing.sem.pls`), so a
chunk of ``B`` bootstrap resamples is a ``(B, p, p)`` stack of correlation
matrices (:func:`resample_correlations`, two matrix products with the
multinomial counts, :func:`~xhs_sharing.sem.resample.resample_covariances`).
:func:`fit_pls_batched` runs the PLS iterations on the whole stack with
``einsum`` and batched ``solve``; a resample stops being updated as soon as
it meets the convergence criterion, so every resample goes through exactly
the updates the one-at-a-time :func:`~xhs_sharing.sem.pls.fit_pls` makes
(tests/test_pls_batched.py checks both agree to 1e-10).

:func:`bootstrap_pls` draws the resamples with the package's seeding rules
(:func:`xhs_sharing.sem.bootstrap.chunk_indices` on child ``k`` of
``SeedSequence(seed).spawn(n_chunks)``, so the resamples depend on ``seed``
and ``chunk_size`` only) and :func:`bootstrap_table` gives percentile
intervals (Efron & Tibshirani 1993, ch. 13) of the paths, specific and total
indirect effects, loadings and HTMT (Henseler, Ringle & Sarstedt 2015: the
upper bound of the 95% interval below .85/.90). Resamples whose fit fails
(no convergence, an inadmissible PLSc solution, an item without variance)
are counted per reason and left out of the intervals.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xhs_sharing.errors import SpecError
from xhs_sharing.sem.bootstrap import (
    CONVERGED,
    IMPROPER,
    NONCONVERGED,
    SINGULAR_DATA,
    _blas_single_thread,
    _init_worker,
    _single_threaded_blas_env,
    check_count,
    check_seed,
    chunk_indices,
    chunk_sizes,
)
from xhs_sharing.sem.pls import (
    MAX_ITER,
    TOL,
    PlsFit,
    PlsSpec,
    adjacent_weights,
    htmt,
    indirect_chains,
    specific_indirect,
)
from xhs_sharing.sem.resample import counts_from_indices, percentile_interval, resample_covariances

__all__ = [
    "PlsBatch",
    "PlsBootstrap",
    "batched_outer_weights",
    "bootstrap_pls",
    "bootstrap_table",
    "fit_pls_batched",
    "resample_correlations",
]


def resample_correlations(data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Item correlation matrices of the resamples ``indices`` (B, N) of ``data`` (N, p): ``(B, p, p)``.

    ``R_b = D_b^{-1/2} S_b D_b^{-1/2}`` from the resample covariances; a
    resample in which an item has no variance gets NaN rows.
    """
    cov = resample_covariances(data, counts_from_indices(indices, data.shape[0]))
    sd = np.sqrt(np.einsum("bii->bi", cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / (sd[:, :, None] * sd[:, None, :])
    corr[np.any(sd <= 0, axis=1)] = np.nan
    idx = np.arange(corr.shape[1])
    corr[:, idx, idx] = np.where(np.isnan(corr[:, idx, idx]), np.nan, 1.0)
    return corr


def _sw(corr: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``S_b W_b`` for the block-diagonal ``W_b = m * w_b``, ``(B, p, K)``, as one ``(B p, p) x (p, K)`` product."""
    n_b, p = w.shape
    return ((corr * w[:, None, :]).reshape(n_b * p, p) @ m).reshape(n_b, p, m.shape[1])


def _composite_corr(corr: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``C_b = W_b' S_b W_b`` for the block-diagonal ``W_b = m * w_b``: (B, K, K)."""
    return np.einsum("pk,bpj->bkj", m, w[:, :, None] * _sw(corr, m, w))


def _scale(corr: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rescale every block of every resample to a unit-variance composite (``w_j' S_jj w_j = 1``)."""
    var = np.einsum("bp,bpk->bk", w, _sw(corr, m, w) * m[None])
    return w / np.sqrt(var @ m.T)


def _solve_paths(c: np.ndarray, spec: PlsSpec) -> np.ndarray:
    """Batched OLS of every endogenous construct on its predecessors: ``B[:, source, target]``."""
    b = np.zeros_like(c)
    for j in spec.endogenous:
        pred = spec.predecessors(j)
        b[:, pred, j] = np.linalg.solve(c[:, pred][:, :, pred], c[:, pred, j][:, :, None])[:, :, 0]
    return b


def _inner(c: np.ndarray, spec: PlsSpec, scheme: str) -> np.ndarray:
    """Batched :func:`xhs_sharing.sem.pls.inner_weights`."""
    adjacent = adjacent_weights(c, spec, scheme)
    return adjacent if adjacent is not None else c * spec.path_mask.T + _solve_paths(c, spec)


def batched_outer_weights(
    corr: np.ndarray, spec: PlsSpec, scheme: str = "path", tol: float = TOL, max_iter: int = MAX_ITER,
    fit: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched :func:`xhs_sharing.sem.pls.outer_weights` over ``corr`` (B, p, p).

    Only the resamples not yet converged are updated at each iteration;
    those where ``fit`` (bool, (B,)) is False are never iterated (their
    weights stay the scaled unit weights, ``converged`` False).

    Returns
    -------
    w : (B, p); n_iter : (B,) int; converged : (B,) bool
    """
    m = spec.membership
    n_b = corr.shape[0]
    w = _scale(corr, m, np.ones((n_b, m.shape[0])))
    n_iter = np.zeros(n_b, dtype=int)
    converged = np.zeros(n_b, dtype=bool)
    active = np.flatnonzero(np.all(np.isfinite(corr), axis=(1, 2)) if fit is None else fit)
    for it in range(1, max_iter + 1):
        if active.size == 0:
            break
        s, wa = corr[active], w[active]
        e = _inner(_composite_corr(s, m, wa), spec, scheme)
        new = _scale(s, m, np.einsum("bpk,bkp->bp", _sw(s, m, wa), e @ m.T))
        done = np.abs(new - wa).sum(axis=1) < tol
        w[active] = new
        n_iter[active] = it
        converged[active[done]] = True
        active = active[~done]
    return w, n_iter, converged


@dataclass(frozen=True, eq=False)
class PlsBatch:
    """Fits of a stack of ``B`` correlation matrices (fields as :class:`~xhs_sharing.sem.pls.PlsFit`, with a leading ``B`` axis).

    ``indirect`` holds the specific indirect effects along
    :func:`~xhs_sharing.sem.pls.indirect_chains`, ``total`` the total effects
    ``(I - B)^{-1} - I``, ``htmt`` the HTMT matrices; ``status`` is one of
    ``converged``, ``nonconverged``, ``improper`` (inadmissible PLSc) or
    ``singular_data`` per resample.
    """

    weights: np.ndarray
    loadings: np.ndarray
    construct_corr: np.ndarray
    paths: np.ndarray
    r2: np.ndarray
    rho_a: np.ndarray
    htmt: np.ndarray
    indirect: np.ndarray
    total: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray


def _rho_a(corr: np.ndarray, m: np.ndarray, w: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Batched ``rho_A = (w'w)^2 (w'Sw - sum w^2 s_kk) / ((w'w)^2 - sum w^4)``; 1 for one-item blocks."""
    wtw = (w**2) @ m
    diag_part = (w**2 * np.einsum("bpp->bp", corr)) @ m
    wsw = np.einsum("bkk->bk", c)
    single = m.sum(axis=0) == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = wtw**2 * (wsw - diag_part) / (wtw**2 - (w**4) @ m)
    return np.where(single[None], 1.0, rho)


def _htmt(corr: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Batched :func:`xhs_sharing.sem.pls.htmt`."""
    k = m.sum(axis=0)
    sums = np.matmul(m.T[None], np.matmul(np.abs(corr), m[None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = np.where(k > 1, (np.einsum("bkk->bk", sums) - k) / (k * (k - 1)), 1.0)
        out = sums / np.outer(k, k) / np.sqrt(mono[:, :, None] * mono[:, None, :])
    idx = np.arange(len(k))
    out[:, idx, idx] = np.nan
    return out


def _status(converged: np.ndarray, finite: np.ndarray, proper: np.ndarray) -> np.ndarray:
    """One status per resample: singular data, then non-convergence, then inadmissibility."""
    return np.where(~finite, SINGULAR_DATA, np.where(~converged, NONCONVERGED,
                                                     np.where(~proper, IMPROPER, CONVERGED)))


def _admissible(rho: np.ndarray, c: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    """Batched :func:`xhs_sharing.sem.pls.admissible` (NaN-safe: a NaN resample is not admissible)."""
    ok = np.all((rho > 0) & (rho <= 1 + 1e-12), axis=1) & np.all(np.abs(loadings) <= 1 + 1e-12, axis=1)
    eig = np.full(c.shape[0], -1.0)
    fin = np.all(np.isfinite(c), axis=(1, 2))
    eig[fin] = np.linalg.eigvalsh(c[fin]).min(axis=1)
    return ok & (eig > 0)


def fit_pls_batched(
    corr: np.ndarray, spec: PlsSpec, consistent: bool = True, scheme: str = "path",
    tol: float = TOL, max_iter: int = MAX_ITER,
) -> PlsBatch:
    """Fit PLS or PLSc to every correlation matrix of ``corr`` (B, p, p) at once (see the module docstring)."""
    m = spec.membership
    finite = np.all(np.isfinite(corr), axis=(1, 2))
    safe = np.where(finite[:, None, None], corr, np.eye(m.shape[0])[None])
    w, n_iter, converged = batched_outer_weights(safe, spec, scheme, tol, max_iter, fit=finite)
    c = _composite_corr(safe, m, w)
    rho = _rho_a(safe, m, w, c)
    if consistent:
        c = c / np.sqrt(rho[:, :, None] * rho[:, None, :])
        idx = np.arange(c.shape[1])
        c[:, idx, idx] = 1.0
        loadings = w * np.sqrt(rho @ m.T) / (((w**2) @ m) @ m.T)
        proper = _admissible(rho, c, loadings)
    else:
        loadings = (_sw(safe, m, w) * m[None]).sum(axis=2)
        proper = np.ones(len(w), dtype=bool)
    good = np.all(np.isfinite(c), axis=(1, 2))
    c_safe = np.where(good[:, None, None], c, np.eye(c.shape[1])[None])
    paths = _solve_paths(c_safe, spec)
    r2 = np.einsum("bij,bij->bj", paths, c_safe)
    eye = np.eye(c.shape[1])
    total = np.linalg.inv(eye[None] - paths) - eye[None]
    chains = indirect_chains(spec)
    indirect = np.stack([np.prod([paths[:, s, t] for s, t in zip(ch[:-1], ch[1:], strict=False)], axis=0)
                         for ch in chains], axis=1) if chains else np.zeros((len(w), 0))
    status = _status(converged, finite & good, proper & good)
    return PlsBatch(w, loadings, c, paths, r2, rho, _htmt(safe, m), indirect, total, n_iter, status)


@dataclass(frozen=True, eq=False)
class PlsBootstrap:
    """All resamples of a PLS(c) bootstrap, in draw order, with the count of failures per reason."""

    batch: PlsBatch
    failures: dict[str, int]
    seed: int
    chunk_size: int

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the resamples kept for the intervals (converged and admissible)."""
        return self.batch.status == CONVERGED


def _concat(parts: list[PlsBatch]) -> PlsBatch:
    """Stack the chunks' batches in draw order."""
    fields = PlsBatch.__dataclass_fields__
    return PlsBatch(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})


def _pls_chunk(
    data: np.ndarray, spec: PlsSpec, stream: np.random.SeedSequence, size: int,
    options: tuple[bool, str, float, int],
) -> PlsBatch:
    """Draw one chunk's resamples from its ``stream`` and fit them all at once (BLAS on one thread)."""
    with _blas_single_thread():
        corr = resample_correlations(data, chunk_indices(stream, size, data.shape[0]))
        return fit_pls_batched(corr, spec, *options)


def _run_chunks(
    data: np.ndarray, spec: PlsSpec, streams: list[np.random.SeedSequence], sizes: list[int],
    options: tuple[bool, str, float, int], n_jobs: int, mp_context: str = "spawn",
) -> list[PlsBatch]:
    """Fit the chunks in this process (``n_jobs == 1``) or in ``n_jobs`` workers, results in chunk order."""
    if n_jobs == 1:
        return [_pls_chunk(data, spec, st, size, options) for st, size in zip(streams, sizes, strict=True)]
    try:
        ctx = multiprocessing.get_context(mp_context)
    except ValueError as exc:
        raise SpecError(f"unknown multiprocessing start method {mp_context!r}") from exc
    with _single_threaded_blas_env(), ProcessPoolExecutor(
        max_workers=n_jobs, mp_context=ctx, initializer=_init_worker
    ) as pool:
        futures = [pool.submit(_pls_chunk, data, spec, st, size, options)
                   for st, size in zip(streams, sizes, strict=True)]
        return [f.result() for f in futures]


def bootstrap_pls(
    data: np.ndarray, spec: PlsSpec, n_resamples: int, seed: int, chunk_size: int = 250,
    consistent: bool = True, scheme: str = "path", tol: float = TOL, max_iter: int = MAX_ITER,
    n_jobs: int = 1, mp_context: str = "spawn",
) -> PlsBootstrap:
    """Nonparametric bootstrap of PLS(c): chunk ``k`` of ``chunk_size`` resamples from child ``k`` of ``SeedSequence(seed)``.

    ``data`` is ``(N, p)`` with columns in ``spec.items`` order. The
    resamples, and so the results, depend on ``seed`` and ``chunk_size``
    only, not on ``n_jobs`` or ``mp_context`` (worker processes; with
    ``spawn`` a calling script needs an ``if __name__ == "__main__":`` guard,
    and each worker pays the package's import, several seconds with
    semopy, so one process is faster for the default model).
    """
    seed = check_seed(seed)
    n_resamples = check_count("n_resamples", n_resamples)
    chunk_size = check_count("chunk_size", chunk_size)
    n_jobs = check_count("n_jobs", n_jobs)
    data = np.asarray(data, dtype=float)
    sizes = chunk_sizes(n_resamples, chunk_size)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    options = (consistent, scheme, tol, max_iter)
    batch = _concat(_run_chunks(data, spec, streams, sizes, options, n_jobs, mp_context))
    failures = dict(Counter(str(s) for s in batch.status if s != CONVERGED))
    return PlsBootstrap(batch, failures, seed, chunk_size)


def _rows(fit: PlsFit, boot: PlsBootstrap, htmt_full: np.ndarray) -> list[tuple]:
    """``(kind, source, target, chain, estimate, draws)`` for every reported quantity."""
    spec, b = fit.spec, boot.batch
    names, idx = spec.constructs, {c: j for j, c in enumerate(spec.constructs)}
    rows: list[tuple] = [("path", s, t, "", fit.paths[idx[s], idx[t]], b.paths[:, idx[s], idx[t]])
                         for s, t in spec.paths]
    chains = indirect_chains(spec)
    point = specific_indirect(fit.paths, chains)
    rows += [("specific_indirect", names[ch[0]], names[ch[-1]], " -> ".join(names[i] for i in ch),
              point[k], b.indirect[:, k]) for k, ch in enumerate(chains)]
    eye = np.eye(len(names))
    tot = np.linalg.inv(eye - fit.paths) - eye
    for i, j in sorted({(ch[0], ch[-1]) for ch in chains}):
        rows.append(("total_indirect", names[i], names[j], "", tot[i, j] - fit.paths[i, j],
                     b.total[:, i, j] - b.paths[:, i, j]))
    k = len(names)
    rows += [("htmt", names[i], names[j], "", htmt_full[i, j], b.htmt[:, i, j])
             for i in range(k) for j in range(i + 1, k)]
    item_construct = [c for c, blk in zip(names, spec.blocks, strict=True) for _ in blk]
    rows += [("loading", item_construct[q], item, "", fit.loadings[q], b.loadings[:, q])
             for q, item in enumerate(spec.items)]
    return rows


def bootstrap_table(fit: PlsFit, corr: np.ndarray, boot: PlsBootstrap, level: float = 0.95) -> pd.DataFrame:
    """Estimates with bootstrap standard errors and percentile intervals.

    Columns ``kind`` (``path``, ``specific_indirect``, ``total_indirect``,
    ``htmt``, ``loading``), ``source, target`` (for a loading: construct and
    item), ``chain``, ``estimate``, ``se`` (SD of the kept resamples),
    ``ci_lower``, ``ci_upper`` and ``n_resamples`` (kept resamples).
    """
    ok = boot.ok
    rows = []
    for kind, s, t, chain, est, draws in _rows(fit, boot, htmt(corr, fit.spec)):
        kept = draws[ok]
        lo, hi = percentile_interval(kept[:, None], level)
        rows.append((kind, s, t, chain, est, float(np.std(kept, ddof=1)), float(lo[0]), float(hi[0]), int(ok.sum())))
    return pd.DataFrame(rows, columns=["kind", "source", "target", "chain", "estimate", "se",
                                       "ci_lower", "ci_upper", "n_resamples"])
