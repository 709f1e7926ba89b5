"""The maximum-likelihood discrepancy function, for one model or a stack.

lavaan's ``estimator.ML`` (``lav_objective.R``; Joreskog 1967; Bollen 1989,
eq. 4.67), with lavaan's argument order, implied first, sample second::

    F_ML(Sigma, S) = log|Sigma| - log|S| + tr(S Sigma^-1) - p,

``S`` the sample covariance with divisor ``N`` (:func:`sample_covariance`,
the normal-theory ML estimate; lavaan and semopy use it too) and ``Sigma``
the model-implied covariance. ``F_ML >= 0`` with equality iff ``Sigma = S``;
the likelihood-ratio statistic against the saturated model is ``chi2 = N
F_ML`` (lavaan reports ``fmin = F_ML / 2``).

Failure policy (one for the package)
------------------------------------
* :func:`ml_discrepancy` never raises on a bad point: ``+inf`` where
  ``Sigma`` is not positive definite (an estimator's line search rejects the
  point), ``NaN`` where ``S`` is not (no likelihood at all). It takes one
  ``(p, p)`` pair (returns a float) or stacks ``(B, p, p)`` (returns
  ``(B,)``), which the batched estimator uses.
* :func:`ml_discrepancy_checked` is the validating wrapper for fit measures
  and user input: :class:`~xhs_sharing.errors.DataError` unless both
  matrices are square, symmetric, finite and positive definite; round-off
  below 0 is clipped to 0.

Both evaluate the same kernel, :func:`ml_from_factors`, on the Cholesky
factorisation ``Sigma = L L'``: ``log|Sigma| = 2 sum log L_ii`` and
``Sigma^-1 = L^-T L^-1``; an estimator that already holds ``log|Sigma|`` and
``Sigma^-1`` (for the gradient) calls the kernel directly.
"""

from __future__ import annotations

import numpy as np

from xhs_sharing.errors import DataError
from xhs_sharing.sem.frames import as_covariance
from xhs_sharing.sem.linalg import cholesky_stack, logdet_from_cholesky, tri_inv

__all__ = [
    "ml_discrepancy",
    "ml_discrepancy_checked",
    "ml_from_factors",
    "sample_covariance",
]


def sample_covariance(x: np.ndarray) -> np.ndarray:
    """Sample covariance with divisor ``N`` (lavaan/semopy ML convention)."""
    x = np.asarray(x, dtype=float)
    xc = x - x.mean(axis=0)
    return (xc.T @ xc) / x.shape[0]


def ml_from_factors(
    logdet_sigma: np.ndarray, sigma_inv: np.ndarray, s: np.ndarray, logdet_s: np.ndarray
) -> np.ndarray:
    """``F_ML = log|Sigma| + tr(S Sigma^-1) - log|S| - p`` from the factorised pieces.

    Shapes ``(B,)``, ``(B, p, p)``, ``(B, p, p)``, ``(B,)`` (or without the
    leading axis). ``tr(S K) = sum_ij S_ij K_ij`` for symmetric ``K``.
    """
    tr = np.einsum("...ij,...ij->...", s, sigma_inv)
    return logdet_sigma + tr - logdet_s - s.shape[-1]


def _factors(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(log|A|, A^-1, ok)`` of a stack by Cholesky; ``ok`` False where not PD."""
    L, ok = cholesky_stack(a)
    X = tri_inv(L)
    return logdet_from_cholesky(L), np.swapaxes(X, 1, 2) @ X, ok


def ml_discrepancy(sigma: np.ndarray, s: np.ndarray) -> float | np.ndarray:
    """``F_ML(Sigma, S)`` for one pair ``(p, p)`` or stacks ``(B, p, p)``.

    ``+inf`` where ``Sigma`` is not positive definite, ``NaN`` where ``S``
    is not (the package's failure policy, see the module docstring).
    """
    sigma = np.asarray(sigma, dtype=float)
    s = np.asarray(s, dtype=float)
    single = sigma.ndim == 2
    sig3 = sigma[None] if single else sigma
    s3 = np.broadcast_to(s, sig3.shape)
    logdet_sigma, k, ok = _factors(sig3)
    ls, s_ok = cholesky_stack(s3)
    f = ml_from_factors(logdet_sigma, k, s3, logdet_from_cholesky(ls))
    f[~ok] = np.inf
    f[~s_ok] = np.nan
    return float(f[0]) if single else f


def ml_discrepancy_checked(sigma: np.ndarray, s: np.ndarray) -> float:
    """:func:`ml_discrepancy` of validated input, clipped at 0.

    Raises
    ------
    DataError
        A matrix that is not square, symmetric, finite and positive
        definite, or shapes that differ.
    """
    sigma = as_covariance("Sigma", sigma)
    s = as_covariance("S", s)
    if s.shape != sigma.shape:
        raise DataError(f"S {s.shape} and Sigma {sigma.shape} differ in shape")
    f = ml_discrepancy(sigma, s)
    if np.isnan(f):
        raise DataError("the sample covariance matrix S is not positive definite")
    if np.isinf(f):
        raise DataError("the model-implied covariance matrix Sigma is not positive definite")
    return max(float(f), 0.0)
