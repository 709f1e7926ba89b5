"""standardize."""

from __future__ import annotations

import logging

import numpy as np
from scipy import stats

from xhs_sharing.sem.model import BETA, LAMBDA, PSI, ModelStructure

logger = logging.getLogger(__name__)


def std_all_values(structure: ModelStructure, theta: np.ndarray) -> np.ndarray:
    """lavaan ``std.all`` of every row of ``structure.rows``.

    Rules (lavaan ``lav_standardize_all`` with ``cov.std = TRUE``):
    ``~``: ``b * sd(rhs) / sd(lhs)`` with model-implied SDs of the inner
    variables (``diag(C Psi C')``); ``=~``: ``lambda * sd(latent) /
    sd(indicator)`` with ``sd(indicator)`` from ``diag(Sigma)``; variances are
    divided by the implied variance; covariances by the square roots of the
    corresponding *residual* variances (``Psi``/``Theta`` diagonals).

    ``theta`` may be complex (complex-step derivatives); entries whose
    scaling variance is negative come out as NaN for real input.
    """
    b, lam, psi, th = structure.matrices(theta)
    veta, _ = structure.inner_covariance(theta)
    sigma = lam @ veta @ lam.T + th
    with np.errstate(invalid="ignore"):
        sd_eta = np.sqrt(np.diag(veta))
        sd_obs = np.sqrt(np.diag(sigma))
        out = np.empty(len(structure.rows), dtype=np.result_type(theta, float))
        for n, r in enumerate(structure.rows):
            i, j = r.row, r.col
            if r.matrix == BETA:
                out[n] = b[i, j] * sd_eta[j] / sd_eta[i]
            elif r.matrix == LAMBDA:
                out[n] = lam[i, j] * sd_eta[j] / sd_obs[i]
            elif r.matrix == PSI:
                out[n] = (
                    psi[i, i] / veta[i, i] if i == j
                    else psi[i, j] / np.sqrt(psi[i, i] * psi[j, j])
                )
            else:
                out[n] = (
                    th[i, i] / sigma[i, i] if i == j
                    else th[i, j] / np.sqrt(th[i, i] * th[j, j])
                )
    return out


def complex_step_jacobian(func, theta: np.ndarray, h: float = 1e-30) -> np.ndarray:
    """Jacobian of an analytic ``func`` by the complex-step method.

    ``J_.k = Im f(theta + i h e_k) / h`` (Squire & Trapp 1998, SIAM Rev.
    40:110-112): exact to rounding, no subtractive cancellation.
    """
    theta = np.asarray(theta, dtype=float)
    cols = []
    for k in range(theta.size):
        t = theta.astype(complex)
        t[k] += 1j * h
        cols.append(np.imag(np.asarray(func(t))) / h)
    return np.stack(cols, axis=-1)


def _wald(est: np.ndarray, se: np.ndarray, level: float = 0.95) -> dict[str, np.ndarray]:
    zcrit = stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    return dict(
        z=z,
        pvalue=2.0 * stats.norm.sf(np.abs(z)),
        ci_low=est - zcrit * se,
        ci_high=est + zcrit * se,
    )
