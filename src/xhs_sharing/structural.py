"""Maximum-likelihood fit of a latent structural equation model.

The package's one ML (and FIML) estimator. The model is given in lavaan
syntax and estimated with semopy 2.3.11 (ML, Wishart discrepancy, biased
sample covariance as in lavaan).  semopy's default SLSQP run stops before
the optimum is reached to lavaan's precision, so :func:`fit_model` polishes
the SLSQP solution with Fisher scoring (:func:`solve_ml`: Gauss-Newton on
the ML discrepancy using the expected information; Lee & Jennrich 1979,
Psychometrika 44:99-113) until the step is numerically zero. The polish is
unbounded, exactly like lavaan's default (no bounds on variances), so a
Heywood case shows up as a negative variance instead of a variance stuck at
semopy's lower bound of zero.

* :func:`fit_model` estimates a loaded semopy model on a data matrix and
  returns a :class:`ModelFit` (estimates, asymptotic covariance, the
  synchronised semopy model); every fit of the package goes through it;
* :func:`fit_structural` adds the improper-solution diagnoses and the
  lavaan-style tables of a structural model;
  :func:`xhs_sharing.measurement.fit_cfa` its measurement tables;
* :func:`fit_semopy` and :func:`fit_semopy_fiml` are thin wrappers for
  callers that want semopy's fitted ``Model`` (or the FIML details) from a
  syntax.

The model is held as a LISREL-type ``ModelStructure`` (all-y notation,
Joreskog 1973)::

    Sigma = Lambda C Psi C' Lambda' + Theta,     C = (I - B)^{-1},

with ``B`` the regressions among inner (latent) variables, ``Lambda`` the
loadings, ``Psi`` the (residual) covariances of the inner variables and
``Theta`` the residual covariances of the indicators.  The structure is pure
NumPy and picklable, so bootstrap workers and Monte Carlo draws can evaluate
any function of the free-parameter vector without touching semopy.

Error policy
------------
* Non-convergence of the polish always raises :class:`EstimationError`: the
  estimates would not be ML estimates.
* An improper solution (negative variance, non-positive-definite implied or
  residual covariance matrix, singular information matrix) raises
  :class:`EstimationError` unless ``allow_improper=True``.  With that flag
  the result is returned with ``proper == False`` and the diagnoses in
  ``problems``; callers must surface ``problems`` (``raise_if_improper``
  does it for them).

Missing data
------------
With ``missing="fiml"`` and missing values (NaN) in the data,
:func:`fit_structural` estimates by full-information ML as lavaan's
``missing = "ml"``: free intercepts for every indicator, the observed-data
likelihood maximised by Newton iterations
(:func:`xhs_sharing.fiml.fiml_solve`) from the ML fit of the EM
covariance matrix, standard errors from the observed information, and
``chi2 = 2 (logL_H1 - logL_H0)`` against the EM saturated model. semopy
2.3.11's own ``Model.fit(obj="FIML")`` is not used: the plain ``Model`` has
no mean structure, and its FIML objective takes the *raw* cross-products of
the data (``t.T @ t`` in ``prepare_fiml``) as if every mean were zero (on the
complete Holzinger-Swineford data it returns a visual =~ x2 loading of 1.220
where ML gives 0.554); ``ModelMeans(obj="ML")`` is a proper FIML but stops at
SLSQP precision.

lavaan conventions mirrored here: first loading of each factor fixed to 1,
exogenous latents covary, ML with ``N`` divisor (chi2 = N * F_ML), expected
information for standard errors, ``std.all`` with ``cov.std = TRUE`` and
(as ``lavaan::sem()``'s ``auto.cov.y = TRUE``) free residual covariances
among pure-dependent latent variables, added to the syntax unless
``lavaan_defaults=False``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Final

import numpy as np
import pandas as pd
import semopy
from scipy import stats

from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.fiml import (
    EMResult,
    FimlObjective,
    FimlSolution,
    MissingData,
    em_imputed_frame,
    em_moments,
    fiml_solve,
    lr_statistic,
)
from xhs_sharing.fit_indices import check_missing, complete_rows, numeric_columns

__all__ = [
    "MLSolution",
    "ModelFit",
    "ModelStructure",
    "ParameterRow",
    "StructuralResult",
    "fit_model",
    "fit_semopy",
    "fit_semopy_fiml",
    "fit_structural",
    "load_model",
    "ml_discrepancy",
    "ml_hessian",
    "sample_covariance",
    "solve_ml",
    "solution_problems",
]

logger = logging.getLogger(__name__)

#: Matrix order of semopy's ``Model.matrices`` (``Model.matrices_names``).
BETA: Final = 0
LAMBDA: Final = 1
PSI: Final = 2
THETA: Final = 3
_MATRIX_NAMES: Final = ("beta", "lambda", "psi", "theta")

#: Default convergence tolerance of the Fisher-scoring polish: the largest
#: step relative to ``1 + |theta|``.
XTOL: Final = 1e-10
#: Default iteration cap of the Fisher-scoring polish.
MAX_ITER: Final = 500


# --------------------------------------------------------------------------
# Model structure
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class ParameterRow:
    """One row of the lavaan-style parameter table.

    Attributes
    ----------
    lhs, op, rhs : str
        lavaan names (``=~`` rows have the latent on the left).
    label : str
        User label from the syntax (``a*x``), ``""`` if none.
    free : int
        Index into the free-parameter vector, ``-1`` for a fixed parameter.
    matrix : int
        ``BETA``, ``LAMBDA``, ``PSI`` or ``THETA``.
    row, col : int
        Position in that matrix.
    """

    lhs: str
    op: str
    rhs: str
    label: str
    free: int
    matrix: int
    row: int
    col: int


@dataclass(frozen=True, eq=False)
class ModelStructure:
    """Pure-NumPy LISREL representation of a semopy model.

    Attributes
    ----------
    inner : tuple of str
        Names of ``B``/``Psi`` rows (latent variables, then observed variables
        that take part in the structural model).
    observed : tuple of str
        Names of ``Lambda``/``Theta`` rows (indicators, data column order).
    latent : frozenset of str
        Latent variables among ``inner``.
    templates : tuple of np.ndarray
        ``(B, Lambda, Psi, Theta)`` with fixed values and zeros where free.
    loc_matrix, loc_row, loc_col, loc_param : np.ndarray
        One entry per location of a free parameter (symmetric off-diagonal
        locations are listed once; ``loc_sym`` flags them).
    loc_sym : np.ndarray of bool
    param_names : tuple of str
        semopy's names of the free parameters (``_b3``, ``_c1``, labels).
    rows : tuple of ParameterRow
        Every parameter, free and fixed, in lavaan notation.
    data_dependent_fixed : tuple of str
        Fixed parameters whose value semopy took from the data (variances of
        observed exogenous covariates); a resample would need new values.
    """

    inner: tuple[str, ...]
    observed: tuple[str, ...]
    latent: frozenset[str]
    templates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    loc_matrix: np.ndarray
    loc_row: np.ndarray
    loc_col: np.ndarray
    loc_param: np.ndarray
    loc_sym: np.ndarray
    param_names: tuple[str, ...]
    rows: tuple[ParameterRow, ...]
    data_dependent_fixed: tuple[str, ...] = ()

    # -- basic sizes -------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of free parameters ``q``."""
        return len(self.param_names)

    @property
    def n_observed(self) -> int:
        """Number of observed variables ``p``."""
        return len(self.observed)

    def inner_index(self, name: str) -> int:
        """Row of ``name`` in ``B``/``Psi``; :class:`SpecError` if absent."""
        try:
            return self.inner.index(name)
        except ValueError:
            raise SpecError(
                f"{name!r} is not a latent (structural) variable of the model; "
                f"known: {', '.join(self.inner)}"
            ) from None

    def has_path(self, lhs: str, rhs: str) -> bool:
        """Whether the model contains the regression ``lhs ~ rhs``."""
        return any(
            r.op == "~" and r.lhs == lhs and r.rhs == rhs for r in self.rows
        )

    # -- matrices ----------------------------------------------------------
    def matrices(
        self, theta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(B, Lambda, Psi, Theta)`` at the free-parameter vector ``theta``.

        ``theta`` may be real or complex (complex-step derivatives), shape
        ``(q,)``; with shape ``(n, q)`` every matrix gets a leading axis ``n``.
        """
        theta = np.asarray(theta)
        if theta.shape[-1] != self.n_params:
            raise SpecError(
                f"parameter vector has {theta.shape[-1]} entries, "
                f"the model has {self.n_params} free parameters"
            )
        lead = theta.shape[:-1]
        out = []
        for m, tmpl in enumerate(self.templates):
            mx = np.broadcast_to(tmpl, lead + tmpl.shape).astype(
                np.result_type(tmpl, theta), copy=True
            )
            sel = self.loc_matrix == m
            rows, cols = self.loc_row[sel], self.loc_col[sel]
            vals = theta[..., self.loc_param[sel]]
            mx[..., rows, cols] = vals
            sym = self.loc_sym[sel]
            mx[..., cols[sym], rows[sym]] = vals[..., sym]
            out.append(mx)
        return out[0], out[1], out[2], out[3]

    def inner_covariance(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model-implied covariance of the inner variables and ``C``.

        ``Var(eta) = C Psi C'`` with ``C = (I - B)^{-1}`` (Bollen 1989,
        Structural Equations with Latent Variables, ch. 8; lavaan
        ``lav_model_veta``).  Works batched like :meth:`matrices`.
        """
        b, _, psi, _ = self.matrices(theta)
        eye = np.eye(b.shape[-1])
        c = np.linalg.inv(eye - b)
        return c @ psi @ np.swapaxes(c, -1, -2), c

    def implied_covariance(self, theta: np.ndarray) -> np.ndarray:
        """Model-implied covariance of the observed variables ``Sigma``."""
        _, lam, _, th = self.matrices(theta)
        veta, _ = self.inner_covariance(theta)
        return lam @ veta @ np.swapaxes(lam, -1, -2) + th

    # -- derivatives -------------------------------------------------------
    @cached_property
    def incidence(self) -> np.ndarray:
        """``(q, n_loc)`` 0/1 matrix mapping locations to free parameters."""
        out = np.zeros((self.n_params, self.loc_param.size))
        out[self.loc_param, np.arange(self.loc_param.size)] = 1.0
        return out

    def sigma_derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Sigma`` and ``dSigma/dtheta_k`` for every free parameter.

        Every location contributes ``f (u v' + v u')`` (Neudecker & Satorra
        1991; semopy ``calc_sigma_grad``): with ``M = Lambda C`` and
        ``D = C Psi M'``, a loading ``Lambda_ij`` has ``u = e_i, v = D_j.``, a
        regression ``B_ij`` has ``u = M_.i, v = D_j.``, a covariance
        ``Psi_ij`` has ``u = M_.i, v = M_.j`` and ``Theta_ij`` has
        ``u = e_i, v = e_j``; ``f = 1/2`` on the diagonal of ``Psi``/``Theta``.

        Returns
        -------
        sigma : np.ndarray, shape (p, p)
        dsigma : np.ndarray, shape (q, p, p)
        """
        b, lam, psi, th = self.matrices(theta)
        c = np.linalg.inv(np.eye(b.shape[0]) - b)
        mm = lam @ c
        d = c @ psi @ mm.T
        sigma = mm @ psi @ mm.T + th
        p = sigma.shape[0]
        eye = np.eye(p)
        kind, i, j = self.loc_matrix, self.loc_row, self.loc_col
        u = np.empty((kind.size, p))
        v = np.empty((kind.size, p))
        for m, u_src, v_src in ((BETA, mm.T, d), (LAMBDA, eye, d),
                                (PSI, mm.T, mm.T), (THETA, eye, eye)):
            sel = kind == m
            u[sel] = u_src[i[sel]]
            v[sel] = v_src[j[sel]]
        diag = ((kind == PSI) | (kind == THETA)) & (i == j)
        f = np.where(diag, 0.5, 1.0)
        outer = u[:, :, None] * v[:, None, :]
        dloc = f[:, None, None] * (outer + np.swapaxes(outer, 1, 2))
        dsigma = (self.incidence @ dloc.reshape(dloc.shape[0], -1)).reshape(-1, p, p)
        return sigma, dsigma


def _matrix_index(model: semopy.Model, mx: np.ndarray) -> int:
    for i, candidate in enumerate(model.matrices[:4]):
        if candidate is mx:
            return i
    raise SpecError("semopy placed a parameter outside B, Lambda, Psi, Theta")


def _lavaan_names(
    model: semopy.Model, m: int, i: int, j: int
) -> tuple[str, str, str]:
    inner, obs = model.vars["inner"], model.vars["observed"]
    if m == BETA:
        return inner[i], "~", inner[j]
    if m == LAMBDA:
        return inner[j], "=~", obs[i]
    if m == PSI:
        return inner[i], "~~", inner[j]
    return obs[i], "~~", obs[j]


def structure_from_model(model: semopy.Model) -> ModelStructure:
    """Extract the :class:`ModelStructure` of a loaded semopy ``Model``.

    The free-parameter order is semopy's (``Model.param_vals``): the active
    entries of ``Model.parameters`` in insertion order.
    """
    if list(model.matrices_names) != list(_MATRIX_NAMES):
        raise SpecError(f"unsupported semopy model class {type(model).__name__}")
    active = [name for name, p in model.parameters.items() if p.active]
    free_of = {name: k for k, name in enumerate(active)}
    templates = [np.array(mx, dtype=float, copy=True) for mx in model.matrices[:4]]
    loc_m, loc_r, loc_c, loc_p, loc_s = [], [], [], [], []
    rows: list[ParameterRow] = []
    data_fixed: list[str] = []
    to_start = set(getattr(model, "params_to_start", ()))
    for name, param in model.parameters.items():
        label = "" if name.startswith("_") else name
        k = free_of.get(name, -1)
        if k < 0 and name in to_start:
            data_fixed.append(name)
        for loc in param.locations:
            m = _matrix_index(model, loc.matrix)
            i, j = (int(x) for x in loc.indices)
            lhs, op, rhs = _lavaan_names(model, m, i, j)
            rows.append(ParameterRow(lhs, op, rhs, label, k, m, i, j))
            if k >= 0:
                templates[m][i, j] = 0.0
                if loc.symmetric:
                    templates[m][j, i] = 0.0
                loc_m.append(m)
                loc_r.append(i)
                loc_c.append(j)
                loc_p.append(k)
                loc_s.append(bool(loc.symmetric) and i != j)
    for t in templates:
        t.setflags(write=False)
    return ModelStructure(
        inner=tuple(model.vars["inner"]),
        observed=tuple(model.vars["observed"]),
        latent=frozenset(model.vars["latent"]),
        templates=(templates[0], templates[1], templates[2], templates[3]),
        loc_matrix=np.array(loc_m, dtype=np.intp),
        loc_row=np.array(loc_r, dtype=np.intp),
        loc_col=np.array(loc_c, dtype=np.intp),
        loc_param=np.array(loc_p, dtype=np.intp),
        loc_sym=np.array(loc_s, dtype=bool),
        param_names=tuple(active),
        rows=tuple(rows),
        data_dependent_fixed=tuple(data_fixed),
    )


# --------------------------------------------------------------------------
# ML estimation
# --------------------------------------------------------------------------
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


@dataclass(frozen=True)
class MLSolution:
    """Outcome of :func:`solve_ml`.

    Attributes
    ----------
    theta : np.ndarray
        Free parameters at the last iterate.
    fmin : float
        ML discrepancy ``F`` at ``theta`` (``chi2 = N * fmin``).
    converged : bool
    n_iter : int
    message : str
    info : np.ndarray
        Expected Hessian of ``F`` at ``theta``, ``H_kl = tr(Sigma^-1 dSigma_k
        Sigma^-1 dSigma_l)``; the parameter covariance is ``2/N H^{-1}``.
    """

    theta: np.ndarray
    fmin: float
    converged: bool
    n_iter: int
    message: str
    info: np.ndarray


def _score_terms(
    structure: ModelStructure, theta: np.ndarray, s: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    sigma, dsigma = structure.sigma_derivatives(theta)
    f = ml_discrepancy(sigma, s)
    if not np.isfinite(f):
        return f, np.full(theta.shape, np.nan), np.full((theta.size,) * 2, np.nan)
    q = dsigma.shape[0]
    sinv = np.linalg.inv(sigma)
    w = sinv - sinv @ s @ sinv
    grad = dsigma.reshape(q, -1) @ w.ravel()
    a = sinv @ dsigma  # tr(A_k A_l) = sum_ij A_k[i,j] A_l[j,i]
    hess = a.reshape(q, -1) @ np.swapaxes(a, 1, 2).reshape(q, -1).T
    return f, grad, 0.5 * (hess + hess.T)


def solve_ml(
    structure: ModelStructure,
    s: np.ndarray,
    theta0: np.ndarray,
    *,
    xtol: float = XTOL,
    max_iter: int = MAX_ITER,
) -> MLSolution:
    """Minimise the ML discrepancy by Fisher scoring with step halving.

    ``theta <- theta - alpha H^{-1} g`` with ``g = dF/dtheta`` and ``H`` the
    expected Hessian (Lee & Jennrich 1979); ``alpha`` is halved until ``F``
    decreases.  Converged when every step component is below
    ``xtol * (1 + |theta|)``.  No bounds (lavaan's default), so improper
    solutions are reached rather than hidden at a bound.

    Parameters
    ----------
    structure : ModelStructure
    s : np.ndarray
        Sample covariance (divisor ``N``), observed variables in
        ``structure.observed`` order.
    theta0 : np.ndarray
        Start (e.g. semopy's SLSQP solution or a full-sample warm start).
    xtol : float
    max_iter : int

    Returns
    -------
    MLSolution
    """
    theta = np.array(theta0, dtype=float, copy=True)
    f, g, h = _score_terms(structure, theta, s)
    if not np.isfinite(f):
        return MLSolution(theta, f, False, 0, "start has non-PD Sigma", h)
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            return MLSolution(theta, f, False, it, "singular information matrix: the model is not "
                              "(empirically) identified", h)
        if not np.all(np.isfinite(step)):
            return MLSolution(theta, f, False, it, "non-finite step", h)
        alpha = 1.0
        while True:
            cand = theta - alpha * step
            f_new, g_new, h_new = _score_terms(structure, cand, s)
            if np.isfinite(f_new) and f_new <= f + 1e-12 * max(1.0, abs(f)):
                break
            alpha *= 0.5
            if alpha < 1e-10:
                small = np.all(np.abs(step) <= xtol * (1.0 + np.abs(theta)))
                return MLSolution(
                    theta, f, bool(small), it,
                    "converged" if small else "line search failed", h,
                )
        done = np.all(np.abs(alpha * step) <= xtol * (1.0 + np.abs(theta)))
        theta, f, g, h = cand, f_new, g_new, h_new
        if done:
            return MLSolution(theta, f, True, it, "converged", h)
    return MLSolution(theta, f, False, max_iter, "iteration limit reached", h)


def ml_hessian(structure: ModelStructure, theta: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Hessian of the ML discrepancy ``F`` by central differences of its analytic gradient.

    Step ``h = 1e-5 max(1, |theta_j|)``; ``N/2`` times the result is the
    observed information of ML (lavaan's ``information = "observed"``),
    where :func:`solve_ml` and the standard errors use the expected one.
    With complete data it equals the FIML Hessian's ``theta`` block, which
    makes it an independent check of :mod:`xhs_sharing.fiml`.
    """
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    hess = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1e-5 * max(1.0, abs(theta[j]))
        g_plus = _score_terms(structure, theta + e, s)[1]
        g_minus = _score_terms(structure, theta - e, s)[1]
        hess[:, j] = (g_plus - g_minus) / (2.0 * e[j])
    return 0.5 * (hess + hess.T)


# --------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# Standardisation (lavaan std.all, cov.std = TRUE)
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class StructuralResult:
    """ML solution of a latent SEM (see module docstring for the error policy).

    Attributes
    ----------
    paths : pd.DataFrame
        Every regression (``~``) among inner variables: ``lhs, op, rhs, est,
        se, z, pvalue, std_all, ci_low, ci_high`` (95% Wald interval of
        ``est``).
    std_paths : pd.DataFrame
        The same paths on the ``std.all`` scale: ``lhs, op, rhs, std_all,
        se, z, pvalue, ci_low, ci_high`` with delta-method SEs (lavaan
        ``standardizedSolution``).
    r2 : pd.DataFrame
        ``variable, r2`` for every endogenous latent, ``1 - psi_ii /
        Var(eta_i)``.
    params : pd.DataFrame
        Full lavaan-style table: ``lhs, op, rhs, label, free, est, se, z,
        pvalue, std_all`` (``free`` is the index into ``theta``, -1 if fixed).
    theta : np.ndarray
        Free-parameter vector (semopy order, ``structure.param_names``).
    acov : np.ndarray
        Asymptotic covariance of ``theta``: under ML from the expected
        information, ``(N/2 H)^{-1}`` (lavaan ``vcov``); under FIML from the
        observed information (lavaan's default for ``missing = "ml"``), the
        ``theta`` block of the inverse Hessian of ``-logL`` over ``theta``
        and the intercepts.
    structure : ModelStructure
    model : semopy.Model
        The fitted semopy model, its ``param_vals`` and ``last_result`` set to
        the polished solution (so ``semopy.calc_stats`` is consistent).
    syntax : str
        The syntax actually fitted (with lavaan default covariances added).
    n_obs : int
    chi2 : float
    df : int
    fmin : float
        ML discrepancy ``F`` (``chi2 = n_obs * fmin``); under FIML
        ``chi2 / n_obs`` with ``chi2 = 2 (logL_H1 - logL_H0)``.
    converged : bool
    n_iter : int
        Fisher-scoring iterations of the polish.
    problems : tuple of str
        Improper-solution diagnoses; empty when ``proper``.
    input_syntax : str
        The syntax as passed to :func:`fit_structural`.
    estimator : str
        ``"ML"`` or ``"FIML"`` (missing values in the data, ``missing="fiml"``).
    information : str
        ``"expected"`` (ML) or ``"observed"`` (FIML): what ``acov`` and every
        standard error come from.
    means : np.ndarray or None
        FIML estimates of the intercepts of ``structure.observed`` (the
        saturated mean structure lavaan adds for ``missing = "ml"``); None
        under ML, where they are the sample means.
    hessian : np.ndarray or None
        FIML: Hessian of ``-2 logL / N`` over ``(theta, means)`` at the
        solution (``N/2`` times it is the observed information); bootstrap
        refits start their quasi-Newton iterations from it.
    n_patterns : int
        Distinct missing-data patterns (1 for complete data).
    loglik, loglik_h1 : float
        FIML: log-likelihood of the model (H0) and of the saturated model
        estimated by EM (H1); NaN under ML.
    """

    paths: pd.DataFrame
    std_paths: pd.DataFrame
    r2: pd.DataFrame
    params: pd.DataFrame
    theta: np.ndarray
    acov: np.ndarray
    structure: ModelStructure
    model: semopy.Model
    syntax: str
    n_obs: int
    chi2: float
    df: int
    fmin: float
    converged: bool
    n_iter: int
    problems: tuple[str, ...] = field(default=())
    input_syntax: str = ""
    estimator: str = "ML"
    information: str = "expected"
    means: np.ndarray | None = None
    hessian: np.ndarray | None = None
    n_patterns: int = 1
    loglik: float = float("nan")
    loglik_h1: float = float("nan")

    @property
    def proper(self) -> bool:
        """True when no improper-solution problem was diagnosed."""
        return not self.problems

    @property
    def chi2_pvalue(self) -> float:
        """Upper-tail p-value of ``chi2`` on ``df`` degrees of freedom."""
        return float(stats.chi2.sf(self.chi2, self.df)) if self.df > 0 else float("nan")

    def raise_if_improper(self) -> None:
        """Raise :class:`EstimationError` listing ``problems`` if any."""
        if self.problems:
            raise EstimationError("improper solution: " + "; ".join(self.problems))

    def path(self, lhs: str, rhs: str) -> pd.Series:
        """The ``paths`` row of ``lhs ~ rhs`` (:class:`SpecError` if absent)."""
        sel = self.paths[(self.paths["lhs"] == lhs) & (self.paths["rhs"] == rhs)]
        if sel.empty:
            raise SpecError(f"the model has no path {lhs} ~ {rhs}")
        return sel.iloc[0]

    def std_path(self, lhs: str, rhs: str) -> pd.Series:
        """The ``std_paths`` row of ``lhs ~ rhs``."""
        sel = self.std_paths[
            (self.std_paths["lhs"] == lhs) & (self.std_paths["rhs"] == rhs)
        ]
        if sel.empty:
            raise SpecError(f"the model has no path {lhs} ~ {rhs}")
        return sel.iloc[0]


# --------------------------------------------------------------------------
# Building blocks of fit_model and fit_structural
# --------------------------------------------------------------------------
def _require_syntax(syntax: str) -> None:
    if not isinstance(syntax, str) or not syntax.strip():
        raise SpecError("model syntax must be a non-empty string")


def _validate_syntax(syntax: str) -> None:
    _require_syntax(syntax)
    if "=~" not in syntax:
        raise SpecError("model syntax has no measurement part ('=~')")


def _build_model(syntax: str) -> semopy.Model:
    try:
        model = semopy.Model(syntax)
    except Exception as exc:  # semopy raises bare Exceptions/KeyErrors
        raise SpecError(f"semopy could not parse the model syntax: {exc}") from exc
    if model.constraints:
        raise SpecError("explicit (in)equality constraints are not supported")
    return model


def lavaan_default_covariances(model: semopy.Model) -> list[str]:
    """``~~`` lines lavaan's ``sem()`` adds but semopy does not.

    lavaan frees the residual covariances among *pure dependent* latent
    variables (``auto.cov.y = TRUE``; ``lv.y`` in ``lav_partable_vnames``:
    on the left of ``~``, never on its right, not an indicator).
    """
    rows, cols = model.names_beta
    regs = [
        (rows[loc.indices[0]], cols[loc.indices[1]])
        for p in model.parameters.values()
        for loc in p.locations
        if loc.matrix is model.mx_beta
    ]
    eqs_y = {lhs for lhs, _ in regs}
    eqs_x = {rhs for _, rhs in regs}
    ind = set(model.vars["indicator"])
    lv_y = sorted(
        v for v in eqs_y if v in model.vars["latent"] and v not in eqs_x | ind
    )
    psi = model.mx_psi
    inner = model.vars["inner"]
    existing = {
        frozenset((inner[loc.indices[0]], inner[loc.indices[1]]))
        for p in model.parameters.values()
        for loc in p.locations
        if loc.matrix is psi
    }
    return [
        f"{a} ~~ {b}" for a, b in combinations(lv_y, 2)
        if frozenset((a, b)) not in existing
    ]


def load_model(syntax: str, *, lavaan_defaults: bool = True) -> tuple[semopy.Model, str]:
    """Parse lavaan syntax into a semopy ``Model``; returns it and the syntax it holds.

    With ``lavaan_defaults`` the residual covariances that lavaan's ``sem()``
    frees among pure-dependent latents (:func:`lavaan_default_covariances`)
    are added to the syntax when it does not state them.

    Raises
    ------
    SpecError
        Empty or unparsable syntax, explicit (in)equality constraints.
    """
    _require_syntax(syntax)
    model = _build_model(syntax)
    if lavaan_defaults:
        extra = lavaan_default_covariances(model)
        if extra:
            logger.info("adding lavaan sem() default covariances: %s", "; ".join(extra))
            syntax = syntax.rstrip() + "\n# lavaan auto.cov.y defaults\n" + "\n".join(extra) + "\n"
            model = _build_model(syntax)
    return model, syntax


def observed_matrix(
    data: pd.DataFrame, columns: tuple[str, ...], *, allow_missing: bool = False
) -> np.ndarray:
    """Validated float matrix of ``columns``.

    Missing values (NaN) are an error unless ``allow_missing`` (FIML), in
    which case every row needs at least one observed value.

    Raises
    ------
    DataError
        Not a DataFrame, missing/non-numeric columns, missing values (unless
        allowed), a row without any observed value, or too few rows for a
        positive-definite covariance matrix.
    """
    x = numeric_columns(data, columns).to_numpy(dtype=float, copy=True)
    n_na = int(np.isnan(x).any(axis=1).sum())
    if n_na and not allow_missing:
        raise DataError(
            f"{n_na} respondents have missing indicator values; ML here needs "
            "complete data (drop them, or fit with missing='fiml')"
        )
    n_empty = int(np.isnan(x).all(axis=1).sum())
    if n_empty:
        raise DataError(f"{n_empty} respondents have no observed indicator value; drop them")
    if x.shape[0] <= x.shape[1]:
        raise DataError(
            f"{x.shape[0]} respondents for {x.shape[1]} indicators: the sample "
            "covariance matrix is singular"
        )
    return x


def _initial_fit(model: semopy.Model, data: pd.DataFrame, cov: pd.DataFrame | None = None) -> np.ndarray:
    """semopy's default SLSQP fit, used only as a start for the polish."""
    try:
        res = model.fit(data, cov=cov, obj="MLW", solver="SLSQP")
    except Exception as exc:
        raise EstimationError(f"semopy's SLSQP fit failed: {exc}") from exc
    if not res.success:
        logger.info("semopy SLSQP did not report success (%s); polishing anyway", res.message)
    return np.asarray(model.param_vals, dtype=float)


#: An information matrix whose smallest eigenvalue is at most this share of
#: its largest is singular: the model is not (empirically) identified.
SINGULAR_INFORMATION: Final = 1e-10


def _asymptotic_covariance(info: np.ndarray, n_obs: int) -> tuple[np.ndarray, str | None]:
    """``acov = (N/2 H)^{-1}``; returns a problem message if H is singular."""
    fim = 0.5 * n_obs * info
    try:
        chol = np.linalg.cholesky(fim)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(fim), (
            "information matrix is not positive definite: the model may not "
            "be identified"
        )
    inv_chol = np.linalg.inv(chol)
    ev = np.linalg.eigvalsh(fim)
    if ev[0] <= SINGULAR_INFORMATION * ev[-1]:
        return inv_chol.T @ inv_chol, (
            "information matrix is singular: the model is not (empirically) identified"
        )
    return inv_chol.T @ inv_chol, None


def _params_table(
    structure: ModelStructure, theta: np.ndarray, se: np.ndarray, std: np.ndarray
) -> pd.DataFrame:
    mats = structure.matrices(theta)
    recs = []
    for r, s_all in zip(structure.rows, std, strict=True):
        est = float(mats[r.matrix][r.row, r.col])
        sei = float(se[r.free]) if r.free >= 0 else np.nan
        z = est / sei if r.free >= 0 and sei > 0 else np.nan
        recs.append(
            dict(lhs=r.lhs, op=r.op, rhs=r.rhs, label=r.label, free=r.free,
                 est=est, se=sei, z=z,
                 pvalue=2.0 * stats.norm.sf(abs(z)) if np.isfinite(z) else np.nan,
                 std_all=float(s_all))
        )
    order = {"=~": 0, "~": 1, "~~": 2}
    table = pd.DataFrame(recs)
    table["_o"] = table["op"].map(order)
    table = table.sort_values("_o", kind="stable").drop(columns="_o")
    return table.reset_index(drop=True)


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


def _paths_tables(
    structure: ModelStructure, params: pd.DataFrame, theta: np.ndarray, acov: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    reg = params[params["op"] == "~"].reset_index(drop=True)
    est = reg["est"].to_numpy(dtype=float)
    se = reg["se"].to_numpy(dtype=float)
    w = _wald(est, se)
    paths = pd.DataFrame(
        dict(lhs=reg["lhs"], op=reg["op"], rhs=reg["rhs"], est=est, se=se,
             z=w["z"], pvalue=w["pvalue"], std_all=reg["std_all"].to_numpy(float),
             ci_low=w["ci_low"], ci_high=w["ci_high"])
    )
    beta_rows = [n for n, r in enumerate(structure.rows) if r.op == "~"]
    row_key = [(structure.rows[n].lhs, structure.rows[n].rhs) for n in beta_rows]
    order = [row_key.index((a, b)) for a, b in zip(reg["lhs"], reg["rhs"], strict=True)]
    idx = np.array(beta_rows, dtype=np.intp)[order] if beta_rows else np.array([], np.intp)

    def std_fun(t: np.ndarray) -> np.ndarray:
        return std_all_values(structure, t)[idx]

    std_est = np.real(std_fun(theta)).astype(float)
    if idx.size:
        jac = complex_step_jacobian(std_fun, theta)
        std_se = np.sqrt(np.clip(np.einsum("ik,kl,il->i", jac, acov, jac), 0, None))
    else:
        std_se = np.array([], dtype=float)
    ws = _wald(std_est, std_se)
    std_paths = pd.DataFrame(
        dict(lhs=reg["lhs"], op=reg["op"], rhs=reg["rhs"], std_all=std_est,
             se=std_se, z=ws["z"], pvalue=ws["pvalue"],
             ci_low=ws["ci_low"], ci_high=ws["ci_high"])
    )
    return paths, std_paths


def _r2_table(structure: ModelStructure, theta: np.ndarray) -> pd.DataFrame:
    _, _, psi, _ = structure.matrices(theta)
    veta, _ = structure.inner_covariance(theta)
    endo = []
    for r in structure.rows:
        if r.op == "~" and r.lhs in structure.latent and r.lhs not in endo:
            endo.append(r.lhs)
    vals = []
    for v in endo:
        i = structure.inner.index(v)
        vals.append(1.0 - psi[i, i] / veta[i, i])
    return pd.DataFrame({"variable": endo, "r2": np.array(vals, dtype=float)})


def _sync_semopy(model: semopy.Model, theta: np.ndarray, fmin: float, converged: bool) -> None:
    """Write the polished solution back into semopy's model object."""
    model.param_vals = np.array(theta, copy=True)
    model.update_matrices(model.param_vals)
    res = model.last_result
    res.x = model.param_vals
    res.fun = fmin
    res.success = converged
    res.message = "polished by xhs_sharing.structural.solve_ml (Fisher scoring)"


# --------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ModelFit:
    """ML or FIML estimates of a loaded model (:func:`fit_model`), before any table.

    Attributes
    ----------
    model : semopy.Model
        The model, its ``param_vals``, matrices and ``last_result`` set to the
        solution (``last_result.fun`` is ``fmin``, ``name_obj`` ``"FIML"``
        under FIML), so ``model.calc_sigma()`` and
        :func:`xhs_sharing.fit_indices.fit_measures` describe it. Under FIML
        semopy's own ``inspect()`` standard errors do not apply: use ``acov``.
    structure : ModelStructure
    theta : np.ndarray
        Free parameters (semopy order, ``structure.param_names``).
    acov : np.ndarray, shape (q, q)
        Asymptotic covariance of ``theta``: under ML ``(N/2 H)^{-1}`` from the
        expected information (lavaan ``vcov``); under FIML the ``theta`` block
        of the inverse observed information of ``theta`` and the intercepts
        (lavaan's default for ``missing = "ml"``).
    n_obs : int
        Rows used: the complete rows under ML, every row under FIML.
    fmin : float
        ML discrepancy ``F`` at ``theta``; under FIML ``chi2 / n_obs`` with
        ``chi2 = 2 (logL_H1 - logL_H0)``.
    n_iter : int
        Fisher-scoring (ML) or quasi-Newton (FIML) iterations.
    information_problem : str or None
        Set when the information matrix is singular or not positive definite
        (the model is not, or not empirically, identified).
    solution : FimlSolution or None
        FIML: ``theta``, the intercepts and the log-likelihood (H0).
    em : EMResult or None
        FIML: the saturated model estimated by EM (H1).
    hessian : np.ndarray or None
        FIML: Hessian of ``-2 logL / N`` over ``(theta, means)``; ``N/2``
        times it is the observed information.
    n_patterns : int
        Distinct missing-data patterns (1 for complete data).
    """

    model: semopy.Model
    structure: ModelStructure
    theta: np.ndarray
    acov: np.ndarray
    n_obs: int
    fmin: float
    n_iter: int
    information_problem: str | None = None
    solution: FimlSolution | None = None
    em: EMResult | None = None
    hessian: np.ndarray | None = None
    n_patterns: int = 1

    @property
    def estimator(self) -> str:
        """``"ML"`` or ``"FIML"``."""
        return "ML" if self.solution is None else "FIML"

    @property
    def information(self) -> str:
        """``"expected"`` (ML) or ``"observed"`` (FIML): what ``acov`` comes from."""
        return "expected" if self.solution is None else "observed"

    @property
    def means(self) -> np.ndarray | None:
        """FIML intercepts of ``structure.observed``; None under ML (the sample means)."""
        return None if self.solution is None else self.solution.mean

    def require_identified(self) -> None:
        """Raise :class:`EstimationError` when ``information_problem`` is set."""
        if self.information_problem:
            raise EstimationError(self.information_problem)


def _require_df(structure: ModelStructure) -> None:
    """:class:`SpecError` when the model has more free parameters than unique (co)variances."""
    p = structure.n_observed
    moments = p * (p + 1) // 2
    if structure.n_params > moments:
        raise SpecError(
            f"the model has {structure.n_params} free parameters but only {moments} "
            "unique (co)variances: it is not identified"
        )


def _estimate_ml(model: semopy.Model, x: np.ndarray, *, xtol: float, max_iter: int) -> ModelFit:
    """ML on complete data: semopy's SLSQP as the start, then :func:`solve_ml` to ``xtol``."""
    frame = pd.DataFrame(x, columns=list(model.vars["observed"]))
    theta0 = _initial_fit(model, frame)
    structure = structure_from_model(model)
    _require_df(structure)
    sol = solve_ml(structure, sample_covariance(x), theta0, xtol=xtol, max_iter=max_iter)
    if not sol.converged:
        raise EstimationError(
            f"ML estimation did not converge in {sol.n_iter} iterations "
            f"(Fisher scoring: {sol.message})"
        )
    n_obs = x.shape[0]
    acov, problem = _asymptotic_covariance(sol.info, n_obs)
    _sync_semopy(model, sol.theta, sol.fmin, True)
    return ModelFit(model=model, structure=structure, theta=sol.theta, acov=acov, n_obs=n_obs,
                    fmin=float(sol.fmin), n_iter=sol.n_iter, information_problem=problem)


def _estimate_fiml(model: semopy.Model, x: np.ndarray, *, xtol: float, max_iter: int) -> ModelFit:
    """FIML estimates of a loaded model (free intercepts; NaN marks a missing value).

    EM saturated moments -> semopy SLSQP on them (start) -> ML fit of the EM
    covariance (the two-stage estimate; Savalei & Bentler 2009) -> Newton on
    the FIML likelihood with free intercepts
    (:func:`~xhs_sharing.fiml.fiml_solve`) -> the observed information (the
    Hessian of ``-2 logL / N`` by four-point differences of the analytic
    gradient) and ``chi2 = 2 (logL_H1 - logL_H0)``.
    """
    observed = list(model.vars["observed"])
    md = MissingData(x)
    em = em_moments(md)
    cov = pd.DataFrame(em.cov, index=observed, columns=observed)
    theta0 = _initial_fit(model, em_imputed_frame(x, em, observed), cov=cov)
    structure = structure_from_model(model)
    _require_df(structure)
    two_stage = solve_ml(structure, em.cov, theta0, xtol=xtol, max_iter=max_iter)
    start = two_stage.theta if two_stage.converged else theta0
    sol = fiml_solve(md, structure.sigma_derivatives, start, em.mean, xtol=xtol, max_iter=max_iter)
    if not sol.converged:
        raise EstimationError(
            f"FIML estimation did not converge in {sol.n_iter} iterations "
            f"(quasi-Newton: {sol.message})"
        )
    obj = FimlObjective(md, structure.sigma_derivatives, structure.n_params)
    hessian = obj.hessian(np.concatenate([sol.theta, sol.mean]), richardson=True)
    n_obs = x.shape[0]
    fmin = lr_statistic(em.loglik, sol.loglik, "model") / n_obs
    acov, problem = _asymptotic_covariance(hessian, n_obs)
    q = structure.n_params
    _sync_semopy(model, sol.theta, fmin, True)
    model.last_result.message = "FIML: EM and two-stage ML start, Newton iterations (xhs_sharing)"
    model.last_result.name_obj = "FIML"
    return ModelFit(model=model, structure=structure, theta=sol.theta, acov=acov[:q, :q],
                    n_obs=n_obs, fmin=fmin, n_iter=sol.n_iter, information_problem=problem,
                    solution=sol, em=em, hessian=hessian, n_patterns=md.n_patterns)


def fit_model(
    model: semopy.Model,
    x: np.ndarray,
    *,
    fiml: bool | None = None,
    xtol: float = XTOL,
    max_iter: int = MAX_ITER,
) -> ModelFit:
    """Estimate a loaded model by ML, or by FIML when ``x`` has missing values.

    The package's one estimator (see the module docstring): semopy's SLSQP
    gives the start, :func:`solve_ml` (Fisher scoring, unbounded) the ML
    estimates; with missing values the EM / two-stage / Newton route of
    lavaan's ``missing = "ml"`` (:mod:`xhs_sharing.fiml`). The solution is
    written back into ``model``. No diagnosis of improper solutions here:
    :func:`fit_structural` and :func:`xhs_sharing.measurement.fit_cfa` apply
    their own rules.

    Parameters
    ----------
    model : semopy.Model
        As :func:`load_model` returns it (not fitted yet).
    x : np.ndarray, shape (n, p)
        The data of ``model.vars["observed"]``, in that order
        (:func:`observed_matrix`); NaN marks a missing value.
    fiml : bool, optional
        By default FIML exactly when ``x`` has a missing value (with complete
        data FIML *is* ML, and the ML path is taken). ``True`` runs the FIML
        route on complete data too (intercepts, EM saturated model, observed
        information).
    xtol, max_iter
        Convergence tolerance (every step component below ``xtol * (1 +
        |theta|)``) and iteration cap of :func:`solve_ml` and
        :func:`~xhs_sharing.fiml.fiml_solve`.

    Returns
    -------
    ModelFit

    Raises
    ------
    SpecError
        ``xtol <= 0`` or ``max_iter < 1``; more free parameters than unique
        (co)variances.
    DataError
        Missing values with ``fiml=False``.
    EstimationError
        semopy's SLSQP start fails, or the iterations do not converge.
    """
    if max_iter < 1:
        raise SpecError(f"max_iter must be >= 1, got {max_iter}")
    if not (xtol > 0):
        raise SpecError(f"xtol must be > 0, got {xtol}")
    x = np.asarray(x, dtype=float)
    incomplete = bool(np.isnan(x).any())
    if incomplete and fiml is False:
        raise DataError("the data have missing values: ML needs complete rows (or FIML)")
    if incomplete or fiml:
        return _estimate_fiml(model, x, xtol=xtol, max_iter=max_iter)
    return _estimate_ml(model, x, xtol=xtol, max_iter=max_iter)


def fit_semopy(
    syntax: str,
    data: pd.DataFrame,
    *,
    tol: float = XTOL,
    max_iter: int = MAX_ITER,
    missing: str = "listwise",
) -> semopy.Model:
    """Fit a semopy ``Model`` (ML, no mean structure) to full convergence.

    A thin wrapper of :func:`fit_model` for callers that want semopy's
    object: ``syntax`` is fitted as written (no lavaan defaults added), rows
    with a missing value on an observed variable of the model are dropped
    (listwise, lavaan's default), and the returned model holds the converged
    solution (``param_vals``, the matrices, ``last_result.fun`` = ``F_ML``),
    so ``model.inspect()``, ``semopy.calc_stats(model)`` and
    :func:`xhs_sharing.fit_indices.fit_measures` describe it. semopy's own
    SLSQP stops early (on the Holzinger-Swineford CFA a visual =~ x3 loading
    of 0.731 where lavaan reports 0.729) and bounds variances at 0; here a
    Heywood case shows as a negative estimate, as in lavaan.

    Parameters
    ----------
    syntax : str
        lavaan/semopy syntax (``=~``, ``~``, ``~~``), without (in)equality
        constraints.
    data : pandas.DataFrame
        Must contain every observed variable of the model, numeric.
    tol, max_iter
        :func:`fit_model`'s ``xtol`` and ``max_iter``.
    missing : {"listwise", "fiml"}, default "listwise"
        ``"fiml"`` keeps incomplete rows and, when a value is missing,
        estimates by FIML (the model of :func:`fit_semopy_fiml`); with
        complete data both are ML.

    Returns
    -------
    semopy.Model
        ``model.n_samples`` is the number of rows used.

    Raises
    ------
    SpecError
        Unparsable syntax, constraints, negative degrees of freedom.
    DataError
        A variable absent or not numeric, too few complete rows.
    EstimationError
        semopy fails, no convergence, or the model is not identified
        (singular information matrix).
    """
    check_missing(missing)
    model, _ = load_model(syntax, lavaan_defaults=False)
    observed = tuple(model.vars["observed"])
    if missing == "listwise":
        x = complete_rows(data, observed).to_numpy(dtype=float)
    else:
        x = observed_matrix(data, observed, allow_missing=True)
    fit = fit_model(model, x, xtol=tol, max_iter=max_iter)
    fit.require_identified()
    return fit.model


def fit_semopy_fiml(
    syntax: str,
    data: pd.DataFrame,
    *,
    tol: float = XTOL,
    max_iter: int = MAX_ITER,
) -> ModelFit:
    """Fit a semopy model by full-information ML (lavaan's ``missing = "ml"``).

    :func:`fit_model` with ``fiml=True``, so complete data take the FIML
    route too: EM saturated moments (the H1 model), the two-stage ML fit of
    the EM covariance as the start, Newton iterations on the observed-data
    likelihood with a free intercept for every observed variable, and the
    observed information (see the module docstring for why semopy's own
    FIML is not used). ``syntax`` is fitted as written; NaN marks a missing
    answer, and a row without any observed variable is an error.

    Returns
    -------
    ModelFit
        ``model``, ``solution`` (estimates, intercepts, log-likelihood),
        ``em``, ``acov`` (observed information), ``n_obs``, ``n_patterns``.

    Raises
    ------
    SpecError, DataError, EstimationError
        As :func:`fit_semopy`.
    """
    model, _ = load_model(syntax, lavaan_defaults=False)
    x = observed_matrix(data, tuple(model.vars["observed"]), allow_missing=True)
    fit = fit_model(model, x, fiml=True, xtol=tol, max_iter=max_iter)
    fit.require_identified()
    return fit


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------
def fit_structural(
    syntax: str,
    data: pd.DataFrame,
    *,
    missing: str = "listwise",
    allow_improper: bool = False,
    lavaan_defaults: bool = True,
    xtol: float = XTOL,
    max_iter: int = MAX_ITER,
) -> StructuralResult:
    """Fit a latent SEM by ML (or FIML with missing values) to lavaan precision.

    :func:`fit_model` estimates; this adds lavaan ``sem()``'s default
    covariances, the improper-solution diagnoses (:func:`solution_problems`,
    a singular information matrix) and the lavaan-style tables of
    :class:`StructuralResult`.

    Parameters
    ----------
    syntax : str
        lavaan syntax (``=~``, ``~``, ``~~``, labels ``a*x``).
    data : pd.DataFrame
        Respondents in rows; must contain every indicator, numeric.
    missing : {"listwise", "fiml"}, default "listwise"
        ``"listwise"``: the data must be complete (the data stage drops
        incomplete rows). ``"fiml"``: missing values (NaN) are allowed and the
        model is estimated by full-information ML with free intercepts, as
        lavaan's ``missing = "ml"``: EM saturated moments, the ML fit of the
        EM covariance as the start, then Newton iterations on the
        observed-data likelihood (:func:`xhs_sharing.fiml.fiml_solve`)
        to ``xtol``. Standard errors then come from the observed information
        (lavaan's default for ``missing = "ml"``), ``chi2`` is
        ``2 (logL_H1 - logL_H0)``. With complete data ``"fiml"`` takes the
        ML path (FIML *is* ML there) and returns exactly its result.
    allow_improper : bool, default False
        If False an improper solution raises :class:`EstimationError`; if
        True it is returned with the diagnoses in ``problems``.
    lavaan_defaults : bool, default True
        Add lavaan ``sem()``'s residual covariances among pure-dependent
        latents (``auto.cov.y``) when the syntax does not state them.
    xtol, max_iter
        Convergence tolerance and iteration cap of :func:`solve_ml` (and of
        the FIML iterations).

    Returns
    -------
    StructuralResult

    Raises
    ------
    SpecError
        Empty or unparsable syntax, constraints, no measurement part, unknown
        ``missing``.
    DataError
        See :func:`observed_matrix`.
    EstimationError
        Non-convergence, or (unless ``allow_improper``) an improper solution.
    """
    _validate_syntax(syntax)
    check_missing(missing)
    input_syntax = syntax
    model, syntax = load_model(syntax, lavaan_defaults=lavaan_defaults)
    x = observed_matrix(data, tuple(model.vars["observed"]), allow_missing=missing == "fiml")
    fit = fit_model(model, x, xtol=xtol, max_iter=max_iter)
    structure, theta, acov = fit.structure, fit.theta, fit.acov
    problems = solution_problems(structure, theta)
    if fit.information_problem:
        problems.append(fit.information_problem)
    if problems and not allow_improper:
        raise EstimationError("improper solution: " + "; ".join(problems))
    for msg in problems:
        logger.warning("improper solution: %s", msg)
    se = np.sqrt(np.clip(np.diag(acov), 0.0, None))
    std = np.real(std_all_values(structure, theta)).astype(float)
    params = _params_table(structure, theta, se, std)
    paths, std_paths = _paths_tables(structure, params, theta, acov)
    p = structure.n_observed
    loglik = fit.solution.loglik if fit.solution is not None else float("nan")
    loglik_h1 = fit.em.loglik if fit.em is not None else float("nan")
    return StructuralResult(
        paths=paths,
        std_paths=std_paths,
        r2=_r2_table(structure, theta),
        params=params,
        theta=theta,
        acov=acov,
        structure=structure,
        model=fit.model,
        syntax=syntax,
        n_obs=fit.n_obs,
        chi2=float(fit.n_obs * fit.fmin),
        df=p * (p + 1) // 2 - structure.n_params,
        fmin=float(fit.fmin),
        converged=True,
        n_iter=fit.n_iter,
        problems=tuple(problems),
        input_syntax=input_syntax,
        estimator=fit.estimator,
        information=fit.information,
        means=fit.means,
        hessian=fit.hessian,
        n_patterns=fit.n_patterns,
        loglik=float(loglik),
        loglik_h1=float(loglik_h1),
    )
