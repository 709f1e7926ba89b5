"""Standardized solution, Wald tests and delta-method standard errors.

The one place where the package turns the LISREL matrices of a solution
(``B``, ``Lambda``, ``Psi``, ``Theta``; see :mod:`xhs_sharing.sem.model`)
into the numbers of lavaan's ``standardizedSolution()`` and ``summary()``.
Every function takes one matrix or a stack with leading axes (bootstrap
resamples, Monte Carlo replications, complex-step points) and returns the
same leading axes.

Latent moments (Bollen 1989, Structural Equations with Latent Variables,
ch. 8; lavaan ``lav_model_veta``, ``lav_model_sigma``)::

    C = (I - B)^-1,      Var(eta) = C Psi C',      Sigma = Lambda Var(eta) Lambda' + Theta.

:func:`inverse_i_minus_b` computes ``C`` (for an acyclic ``B`` optionally as
the finite power series ``I + B + ... + B^d``, exact since ``B^(d+1) = 0``),
:func:`latent_covariance` ``Var(eta)``.

``std.all`` (lavaan ``lav_standardize_all`` with ``cov.std = TRUE``,
:func:`std_all_matrices`): with model-implied SDs ``sd_eta = sqrt(diag
Var(eta))`` and ``sd_y = sqrt(diag Sigma)``

* regression ``B_ij * sd_eta_j / sd_eta_i``; loading ``Lambda_ij * sd_eta_j / sd_y_i``;
* (residual) variance ``Psi_ii / Var(eta)_ii`` and ``Theta_ii / Sigma_ii``;
* (residual) covariance ``Psi_ij / sqrt(Psi_ii Psi_jj)`` and
  ``Theta_ij / sqrt(Theta_ii Theta_jj)``: a residual correlation, not the
  covariance over total SDs (semopy's ``inspect(std_est=True)`` divides by
  total SDs; lavaan does not).

Entries whose scaling variance is negative (an improper solution) come out
as NaN for real input.

R-squared: :func:`r_squared_values` gives ``1 - Psi_ii / Var(eta)_ii``
(lavaan ``lavInspect(fit, "rsquare")``) of chosen latents for one parameter
vector or a stack (bootstrap resamples), real or complex (its delta-method
SE); :func:`r_squared_from_cov` the R-squared of a regression recomputed
from a covariance matrix, ``c' S_xx^-1 c / s_yy``, with any subset of
predictors (Cohen's f-squared).

Inference: :func:`wald` gives ``z = est / se``, the two-sided normal
p-value and the Wald interval ``est -+ z_(1+level)/2 se`` (lavaan
``lav_object_inspect`` / ``parameterEstimates``); :func:`delta_method_se`
the delta-method standard error ``sqrt(diag(J acov J'))`` of any analytic
function of the parameters, with the Jacobian ``J`` by the complex step
(:func:`complex_step_jacobian`; Squire & Trapp 1998) as lavaan's
``standardizedSolution()`` uses for the SEs of ``std.all``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

if TYPE_CHECKING:  # pragma: no cover - typing only; model.py imports this module
    from xhs_sharing.sem.model import ModelStructure

__all__ = [
    "complex_step_jacobian",
    "cov_to_cor",
    "delta_method_se",
    "inverse_i_minus_b",
    "implied_sd",
    "latent_covariance",
    "r_squared_from_cov",
    "r_squared_values",
    "standardized_effect",
    "std_all_matrices",
    "std_all_values",
    "wald",
]


def inverse_i_minus_b(b: np.ndarray, depth: int | None = None) -> np.ndarray:
    """``C = (I - B)^-1`` of one ``(m, m)`` matrix or a stack ``(..., m, m)``.

    With ``depth`` (the longest path of ``B``'s pattern, so ``B^(depth+1) =
    0``) the finite series ``I + B (I + B (...))`` is used: exact, and
    cheaper than an LU inverse for the batched estimator. Otherwise LAPACK's
    inverse; in a stack whose inverse fails, the singular members get NaN.
    """
    eye = np.eye(b.shape[-1])
    if depth is not None:
        c = np.broadcast_to(eye, b.shape).copy()
        for _ in range(depth):
            c = eye + b @ c
        return c
    ib = eye - b
    try:
        return np.linalg.inv(ib)
    except np.linalg.LinAlgError:
        if ib.ndim == 2:
            raise
    flat = ib.reshape(-1, *ib.shape[-2:])
    c = np.empty_like(flat)
    for k in range(flat.shape[0]):
        try:
            c[k] = np.linalg.inv(flat[k])
        except np.linalg.LinAlgError:
            c[k] = np.nan
    return c.reshape(ib.shape)


def latent_covariance(
    b: np.ndarray, psi: np.ndarray, depth: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(Var(eta), C)`` with ``Var(eta) = C Psi C'`` and ``C = (I - B)^-1``."""
    c = inverse_i_minus_b(b, depth)
    return c @ psi @ np.swapaxes(c, -1, -2), c


def implied_sd(cov: np.ndarray) -> np.ndarray:
    """Standard deviations ``sqrt(diag(cov))`` of one covariance matrix or a stack; NaN where a variance is negative."""
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))


def standardized_effect(effect: np.ndarray, sd_x: np.ndarray, sd_y: np.ndarray) -> np.ndarray:
    """An effect of ``x`` on ``y`` on the ``std.all`` scale: ``effect * sd(x) / sd(y)``.

    For a path this is lavaan's ``std.all`` of a regression; for a product of
    paths (an indirect effect) or a total effect the same rescaling applies
    (Preacher & Kelley 2011, the completely standardized indirect effect).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return effect * sd_x / sd_y


def _diag(a: np.ndarray) -> np.ndarray:
    return np.diagonal(a, axis1=-2, axis2=-1)


def _residual_correlation(cov: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Off the diagonal ``cov_ij / sqrt(cov_ii cov_jj)``, on it ``cov_ii / total_ii``."""
    d = _diag(cov)
    out = cov / np.sqrt(d[..., :, None] * d[..., None, :])
    k = np.arange(cov.shape[-1])
    out[..., k, k] = d / _diag(total)
    return out


def std_all_matrices(
    b: np.ndarray, lam: np.ndarray, psi: np.ndarray, th: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``std.all`` of every entry of ``(B, Lambda, Psi, Theta)``, same shapes.

    Rules in the module docstring. Works on real or complex matrices
    (complex-step derivatives) and on stacks.
    """
    veta, _ = latent_covariance(b, psi)
    sigma = lam @ veta @ np.swapaxes(lam, -1, -2) + th
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_eta = np.sqrt(_diag(veta))
        sd_obs = np.sqrt(_diag(sigma))
        std_b = b * sd_eta[..., None, :] / sd_eta[..., :, None]
        std_lam = lam * sd_eta[..., None, :] / sd_obs[..., :, None]
        std_psi = _residual_correlation(psi, veta)
        std_th = _residual_correlation(th, sigma)
    return std_b, std_lam, std_psi, std_th


def std_all_values(structure: ModelStructure, theta: np.ndarray) -> np.ndarray:
    """lavaan ``std.all`` of every row of ``structure.rows``, ``(..., n_rows)``.

    ``theta`` is ``(q,)`` or ``(..., q)``, real or complex.
    """
    std = std_all_matrices(*structure.matrices(theta))
    kind, row, col = structure.row_index
    out = np.empty(np.shape(theta)[:-1] + (kind.size,), dtype=np.result_type(theta, float))
    for m, mx in enumerate(std):
        sel = np.flatnonzero(kind == m)
        out[..., sel] = mx[..., row[sel], col[sel]]
    return out


def cov_to_cor(cov: np.ndarray) -> np.ndarray:
    """Correlation matrix ``cov_ij / (sd_i sd_j)`` with an exact unit diagonal (R's ``cov2cor``)."""
    sd = np.sqrt(_diag(cov))
    out = cov / (sd[..., :, None] * sd[..., None, :])
    k = np.arange(cov.shape[-1])
    out[..., k, k] = 1.0
    return out


def complex_step_jacobian(func: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                          h: float = 1e-30) -> np.ndarray:
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


def delta_method_se(func: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                    acov: np.ndarray) -> np.ndarray:
    """Delta-method standard errors ``sqrt(diag(J acov J'))`` of ``func(theta)``.

    ``J`` by :func:`complex_step_jacobian`; a rounding-negative variance
    gives 0.
    """
    jac = complex_step_jacobian(func, theta)
    return np.sqrt(np.clip(np.einsum("ik,kl,il->i", jac, acov, jac), 0, None))


def wald(est: np.ndarray, se: np.ndarray, level: float = 0.95) -> dict[str, np.ndarray]:
    """Wald ``z``, two-sided p-value and ``level`` interval of ``est`` with standard error ``se``.

    ``z = est / se`` (NaN unless ``se > 0``), ``p = 2 (1 - Phi(|z|))``,
    interval ``est -+ Phi^-1(1/2 + level/2) se``.
    """
    est = np.asarray(est, dtype=float)
    se = np.asarray(se, dtype=float)
    zcrit = stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    return dict(
        z=z,
        pvalue=2.0 * stats.norm.sf(np.abs(z)),
        ci_low=est - zcrit * se,
        ci_high=est + zcrit * se,
    )


def r_squared_values(structure: ModelStructure, theta: np.ndarray, variables: list[str]) -> np.ndarray:
    """R-squared ``1 - Psi_ii / Var(eta)_ii`` of ``variables`` (inner names), shape ``(..., k)``.

    ``theta`` is ``(q,)`` or a stack ``(..., q)``, real or complex (so that
    :func:`delta_method_se` differentiates it by the complex step). NaN where
    ``Var(eta)_ii`` is not positive for real input.
    """
    b, _, psi, _ = structure.matrices(theta)
    veta, _ = latent_covariance(b, psi)
    idx = np.array([structure.inner_index(v) for v in variables], dtype=np.intp)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - _diag(psi)[..., idx] / _diag(veta)[..., idx]


def r_squared_from_cov(cov: np.ndarray, y: int, predictors: list[int]) -> float:
    """R-squared of the linear regression of variable ``y`` on ``predictors`` in the covariance ``cov``.

    ``R^2 = c' S_xx^-1 c / s_yy`` with ``S_xx`` the predictors' covariance
    and ``c`` their covariances with ``y`` (the population regression the
    covariance implies); 0.0 with no predictor.
    """
    if not predictors:
        return 0.0
    idx = np.asarray(predictors, dtype=np.intp)
    c = cov[idx, y]
    return float(c @ np.linalg.solve(cov[np.ix_(idx, idx)], c) / cov[y, y])
