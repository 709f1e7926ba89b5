"""checks."""

from __future__ import annotations

import logging

import numpy as np

from xhs_sharing.sem.model import ModelStructure

logger = logging.getLogger(__name__)

__all__ = [
    "solution_problems",
]


def _is_pd(mx: np.ndarray) -> bool:
    if mx.size == 0:
        return True
    try:
        np.linalg.cholesky(mx)
    except np.linalg.LinAlgError:
        return False
    return True


def solution_problems(structure: ModelStructure, theta: np.ndarray) -> list[str]:
    """Diagnose an improper solution, lavaan-style (``lav_object_post_check``).

    Checks negative (residual) variances of observed and latent variables,
    and positive definiteness of ``Theta``, of the model-implied latent
    covariance ``C Psi C'`` and of ``Sigma``.

    Returns
    -------
    list of str
        Human-readable problems; empty for a proper solution.
    """
    problems: list[str] = []
    _, _, psi, th = structure.matrices(theta)
    neg_ov = [structure.observed[i] for i in np.flatnonzero(np.diag(th) < 0)]
    if neg_ov:
        problems.append(f"negative residual variance of {', '.join(neg_ov)}")
    neg_lv = [structure.inner[i] for i in np.flatnonzero(np.diag(psi) < 0)]
    if neg_lv:
        problems.append(f"negative (residual) variance of {', '.join(neg_lv)}")
    veta, _ = structure.inner_covariance(theta)
    if not _is_pd(veta):
        problems.append("model-implied covariance of latent variables is not positive definite")
    if not neg_ov and not _is_pd(th):
        problems.append("residual covariance matrix Theta is not positive definite")
    if not _is_pd(structure.implied_covariance(theta)):
        problems.append("model-implied covariance matrix Sigma is not positive definite")
    return problems
