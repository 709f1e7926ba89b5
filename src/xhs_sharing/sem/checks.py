"""Improper solutions: one vectorised check for one fit or a whole batch.

lavaan's ``lav_object_post_check`` (run after every ``sem()``/``cfa()``)
warns when a converged ML solution is not admissible. The same conditions,
evaluated on the LISREL matrices of one solution or of a stack of ``B``
solutions (bootstrap resamples, Monte Carlo replications) at once:

1. a negative residual variance of an observed variable, ``Theta_ii < 0``
   (a Heywood case);
2. a negative (residual) variance of a latent variable, ``Psi_ii < 0``;
3. the model-implied covariance of the latent variables, ``Var(eta) = C Psi
   C'`` with ``C = (I - B)^-1``, not positive definite;
4. the residual covariance matrix ``Theta`` not positive definite (reported
   only when no residual variance is negative, which already implies it);
   an item whose residual variance is fixed at 0 (a single-item construct,
   ``item ~~ 0*item``) is left out of this test, as lavaan tests ``Theta``
   for positive *semi*-definiteness;
5. the model-implied covariance ``Sigma = Lambda Var(eta) Lambda' + Theta``
   not positive definite.

Positive definiteness is LAPACK's Cholesky test (``potrf`` succeeds), the
same test every estimator of the package applies to ``Sigma``.
:func:`check_matrices` returns the boolean masks (``proper`` is the
conjunction), :func:`solution_problems` the human-readable list of one
solution, empty when it is proper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xhs_sharing.sem.linalg import cholesky_stack
from xhs_sharing.sem.model import ModelStructure
from xhs_sharing.sem.standardize import latent_covariance

__all__ = [
    "SolutionCheck",
    "check_matrices",
    "check_solutions",
    "solution_problems",
]


@dataclass(frozen=True)
class SolutionCheck:
    """Masks of :func:`check_matrices` for a stack of ``B`` solutions.

    Attributes
    ----------
    negative_observed : np.ndarray of bool, shape (B, p)
        ``Theta_ii < 0``.
    negative_latent : np.ndarray of bool, shape (B, m)
        ``Psi_ii < 0``.
    latent_not_pd, theta_not_pd, sigma_not_pd : np.ndarray of bool, shape (B,)
        ``Var(eta)``, ``Theta``, ``Sigma`` not positive definite.
    """

    negative_observed: np.ndarray
    negative_latent: np.ndarray
    latent_not_pd: np.ndarray
    theta_not_pd: np.ndarray
    sigma_not_pd: np.ndarray

    @property
    def proper(self) -> np.ndarray:
        """``(B,)``: True where no condition of the module docstring holds."""
        return ~(self.negative_observed.any(axis=1) | self.negative_latent.any(axis=1)
                 | self.latent_not_pd | self.theta_not_pd | self.sigma_not_pd)


def _not_pd(mx: np.ndarray) -> np.ndarray:
    if mx.shape[-1] == 0:
        return np.zeros(mx.shape[0], dtype=bool)
    return ~cholesky_stack(mx)[1]


def _without_zero_rows(th: np.ndarray) -> np.ndarray:
    """``Theta`` with every all-zero row and column (a residual variance fixed at 0) given a unit diagonal.

    The result is positive definite exactly when the rest of ``Theta`` is,
    so the Cholesky test of :func:`_not_pd` then judges only the free part.
    """
    zero = ~np.any(th != 0, axis=-1)  # (B, p): the item's row of Theta is all zero
    if not zero.any():
        return th
    return th + zero[..., None] * np.eye(th.shape[-1])


def check_matrices(
    b: np.ndarray, lam: np.ndarray, psi: np.ndarray, th: np.ndarray
) -> SolutionCheck:
    """The improper-solution conditions of stacks ``(B, ., .)`` of the four matrices.

    A member with a singular ``I - B`` or non-finite entries fails every
    positive-definiteness test.
    """
    veta, _ = latent_covariance(b, psi)
    sigma = lam @ veta @ np.swapaxes(lam, -1, -2) + th
    return SolutionCheck(
        negative_observed=np.diagonal(th, axis1=-2, axis2=-1) < 0,
        negative_latent=np.diagonal(psi, axis1=-2, axis2=-1) < 0,
        latent_not_pd=_not_pd(veta),
        theta_not_pd=_not_pd(_without_zero_rows(th)),
        sigma_not_pd=_not_pd(sigma),
    )


def check_solutions(structure: ModelStructure, thetas: np.ndarray) -> SolutionCheck:
    """:func:`check_matrices` at the parameter vectors ``thetas`` ``(B, q)``."""
    return check_matrices(*structure.matrices(np.atleast_2d(thetas)))


def solution_problems(structure: ModelStructure, theta: np.ndarray) -> list[str]:
    """Diagnose an improper solution, lavaan-style (``lav_object_post_check``).

    Returns
    -------
    list of str
        Human-readable problems (the conditions of the module docstring);
        empty for a proper solution.
    """
    chk = check_solutions(structure, np.asarray(theta)[None])
    problems: list[str] = []
    neg_ov = [structure.observed[i] for i in np.flatnonzero(chk.negative_observed[0])]
    if neg_ov:
        problems.append(f"negative residual variance of {', '.join(neg_ov)}")
    neg_lv = [structure.inner[i] for i in np.flatnonzero(chk.negative_latent[0])]
    if neg_lv:
        problems.append(f"negative (residual) variance of {', '.join(neg_lv)}")
    if chk.latent_not_pd[0]:
        problems.append("model-implied covariance of latent variables is not positive definite")
    if not neg_ov and chk.theta_not_pd[0]:
        problems.append("residual covariance matrix Theta is not positive definite")
    if chk.sigma_not_pd[0]:
        problems.append("model-implied covariance matrix Sigma is not positive definite")
    return problems
