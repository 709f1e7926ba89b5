"""Linear algebra on stacks of small symmetric matrices, shared by the estimators.

Every kernel here takes one matrix ``(k, k)`` or a stack ``(B, k, k)`` and
never raises on a member that is not positive definite: it reports it in a
boolean mask instead, so a batch of thousands of bootstrap resamples or Monte
Carlo replications is processed in one call and the few bad members are
handled by the caller.

* :func:`cholesky_stack`: ``A = L L'`` for every member; ``ok`` is False (and
  ``L`` the identity) where ``A`` is not numerically positive definite (the
  LAPACK ``potrf`` test, as ``np.linalg.cholesky``);
* :func:`tri_inv`: ``L^-1`` of lower-triangular matrices by forward
  substitution vectorised over the stack (numpy has no batched triangular
  solve, and ``np.linalg.inv`` is about three times slower);
* :func:`logdet_from_cholesky`: ``log|A| = 2 sum_i log L_ii``;
* :func:`inverse_pd`: ``A^-1 = L^-T L^-1`` where ``A`` is positive definite,
  NaN elsewhere (the asymptotic covariance ``(N/2 H)^-1`` of every fit);
* :func:`keep_freed_memory`: glibc's allocator keeps freed blocks for reuse,
  so the megabyte-sized temporaries of the batched estimators do not cost a
  fresh ``mmap`` and page faults every time (measured 10-30% of a batched
  bootstrap, issue 14).

References: Golub & Van Loan (2013), Matrix Computations, 4th ed., sec. 4.2
(Cholesky) and 3.1 (triangular systems).
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

__all__ = [
    "cholesky_stack",
    "inverse_pd",
    "keep_freed_memory",
    "logdet_from_cholesky",
    "tri_inv",
]


def cholesky_stack(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack ``(B, k, k)`` that tolerates failures.

    Returns ``(L, ok)``: ``ok[b]`` is False where ``a[b]`` is not (numerically)
    positive definite or not finite, and ``L[b]`` is then the identity. The
    whole stack is factored in one call; only when that fails are the
    members tried one by one to find the culprits.
    """
    nb, k = a.shape[0], a.shape[-1]
    ok = np.all(np.isfinite(a.reshape(nb, -1)), axis=1)
    if ok.all():
        try:
            return np.linalg.cholesky(a), ok
        except np.linalg.LinAlgError:
            pass
    for b in np.flatnonzero(ok):
        try:
            np.linalg.cholesky(a[b])
        except np.linalg.LinAlgError:
            ok[b] = False
    a = a.copy()
    a[~ok] = np.eye(k)
    return np.linalg.cholesky(a), ok


def tri_inv(L: np.ndarray) -> np.ndarray:
    """Inverses of a stack of lower-triangular matrices, ``(B, k, k)``.

    Forward substitution with one vectorised row update per matrix row over
    the whole stack, split into 2x2 blocks
    ``[[A, 0], [C, D]]^-1 = [[A^-1, 0], [-D^-1 C A^-1, D^-1]]`` when large.
    """
    nb, k, _ = L.shape
    if k > 24:
        h = k // 2
        X = np.zeros_like(L)
        a_inv = tri_inv(L[:, :h, :h])
        d_inv = tri_inv(L[:, h:, h:])
        X[:, :h, :h] = a_inv
        X[:, h:, h:] = d_inv
        X[:, h:, :h] = -(d_inv @ (L[:, h:, :h] @ a_inv))
        return X
    X = np.zeros_like(L)
    d = 1.0 / np.diagonal(L, axis1=1, axis2=2)
    X[:, 0, 0] = d[:, 0]
    for i in range(1, k):
        t = np.matmul(L[:, i : i + 1, :i], X[:, :i, :i])[:, 0, :]
        X[:, i, :i] = t * -d[:, i : i + 1]
        X[:, i, i] = d[:, i]
    return X


def logdet_from_cholesky(L: np.ndarray) -> np.ndarray:
    """``log|A| = 2 sum_i log L_ii`` for every member of a stack of factors ``L``."""
    return 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)


def inverse_pd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses ``(L L')^-1 = L^-T L^-1`` of a stack of symmetric matrices.

    Returns ``(inverse, ok)``; ``ok`` is False and the inverse NaN where the
    member is not positive definite. ``L^-1`` comes from LAPACK's general
    inverse of the factor (``np.linalg.inv``), as the single-fit asymptotic
    covariance of :mod:`xhs_sharing.sem.estimation` always computed it.
    """
    L, ok = cholesky_stack(a)
    Li = np.linalg.inv(L)
    out = np.swapaxes(Li, -1, -2) @ Li
    out[~ok] = np.nan
    return out, ok


_M_TRIM_THRESHOLD = -1  # glibc malloc.h
_M_MMAP_THRESHOLD = -3
_FREED_MEMORY_KEPT: list[bool] = []


def keep_freed_memory(mmap_threshold: int = 32 * 2**20, trim_threshold: int = 512 * 2**20) -> bool:
    """Let glibc serve blocks up to ``mmap_threshold`` bytes from the heap and keep freed memory.

    NumPy allocates every temporary array with ``malloc``; glibc maps blocks
    above its (dynamic, initially 128 KiB) ``M_MMAP_THRESHOLD`` with a fresh
    ``mmap``, so each megabyte-sized temporary of a batched refit is
    page-faulted in and unmapped again. ``mallopt`` (glibc ``malloc.h``)
    raises that threshold and ``M_TRIM_THRESHOLD``, after which freed
    blocks are reused. A process-wide setting, made once; the memory kept is
    what the process used at its peak anyway. Returns whether it applies
    (False off glibc, where nothing changes).
    """
    if _FREED_MEMORY_KEPT:
        return _FREED_MEMORY_KEPT[0]
    ok = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
                libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
        except (OSError, AttributeError):
            ok = False
    _FREED_MEMORY_KEPT.append(ok)
    return ok
