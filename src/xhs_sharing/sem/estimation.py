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
  :func:`xhs_sharing.analysis.measurement.fit_cfa` its measurement tables;
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
(:func:`xhs_sharing.sem.mvnorm_missing.fiml_solve`) from the ML fit of the EM
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
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import semopy

from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.frames import check_missing, complete_rows, observed_matrix
from xhs_sharing.sem.model import ModelStructure, _initial_fit, _sync_semopy, load_model, structure_from_model
from xhs_sharing.sem.mvnorm_missing import (
    EMResult,
    FimlObjective,
    FimlSolution,
    MissingData,
    em_imputed_frame,
    em_moments,
    fiml_solve,
    lr_statistic,
)
from xhs_sharing.sem.objectives import ml_discrepancy, sample_covariance

logger = logging.getLogger(__name__)

__all__ = [
    "MLSolution",
    "ModelFit",
    "fit_model",
    "fit_semopy",
    "fit_semopy_fiml",
    "ml_hessian",
    "solve_ml",
]


#: Default convergence tolerance of the Fisher-scoring polish: the largest
#: step relative to ``1 + |theta|``.
XTOL: Final = 1e-10


#: Default iteration cap of the Fisher-scoring polish.
MAX_ITER: Final = 500


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
    makes it an independent check of :mod:`xhs_sharing.sem.mvnorm_missing`.
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


@dataclass(frozen=True, eq=False)
class ModelFit:
    """ML or FIML estimates of a loaded model (:func:`fit_model`), before any table.

    Attributes
    ----------
    model : semopy.Model
        The model, its ``param_vals``, matrices and ``last_result`` set to the
        solution (``last_result.fun`` is ``fmin``, ``name_obj`` ``"FIML"``
        under FIML), so ``model.calc_sigma()`` and
        :func:`xhs_sharing.sem.fit.fit_measures` describe it. Under FIML
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
    (:func:`~xhs_sharing.sem.mvnorm_missing.fiml_solve`) -> the observed information (the
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
    lavaan's ``missing = "ml"`` (:mod:`xhs_sharing.sem.mvnorm_missing`). The solution is
    written back into ``model``. No diagnosis of improper solutions here:
    :func:`fit_structural` and :func:`xhs_sharing.analysis.measurement.fit_cfa` apply
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
        :func:`~xhs_sharing.sem.mvnorm_missing.fiml_solve`.

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
    :func:`xhs_sharing.sem.fit.fit_measures` describe it. semopy's own
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
