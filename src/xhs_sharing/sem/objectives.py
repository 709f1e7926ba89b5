"""objectives."""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "ml_discrepancy",
    "sample_covariance",
]


def sample_covariance(x: np.ndarray) -> np.ndarray:
    """Sample covariance with divisor ``N`` (lavaan/semopy ML convention)."""
    x = np.asarray(x, dtype=float)
    xc = x - x.mean(axis=0)
    return (xc.T @ xc) / x.shape[0]


def ml_discrepancy(sigma: np.ndarray, s: np.ndarray) -> float:
    """ML discrepancy ``F = log|Sigma| - log|S| + tr(S Sigma^{-1}) - p``.

    Joreskog (1967); Bollen (1989, eq. 4.67).  ``chi2 = N F`` (lavaan's
    ``2 N fmin``).  Returns ``inf`` when ``Sigma`` is not positive definite.
    """
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return float("inf")
    logdet_sigma = 2.0 * np.log(np.diag(chol)).sum()
    sign, logdet_s = np.linalg.slogdet(s)
    inv_chol = np.linalg.inv(chol)
    tr = np.einsum("ij,ij->", inv_chol @ s, inv_chol)
    return float(logdet_sigma - logdet_s + tr - s.shape[0])
