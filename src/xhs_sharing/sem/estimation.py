"""Maximum-likelihood (and FIML) estimation of one model on one data set.

The package's single-sample estimator; the batched one
(:mod:`xhs_sharing.sem.batched`) minimises the same discrepancy over a stack
of covariance matrices with the same parameter vector.

ML minimises ``F_ML(Sigma(theta), S)`` (:mod:`xhs_sharing.sem.objectives`)
by Fisher scoring with step halving (:func:`solve_ml`; Lee & Jennrich 1979,
Psychometrika 44:99-113): with ``dSigma_k = dSigma/dtheta_k`` and ``K =
Sigma^-1``

    g_k  = tr(K (Sigma - S) K dSigma_k),        H_kl = tr(K dSigma_k K dSigma_l),
    theta <- theta - alpha H^-1 g,

``H`` the expected Hessian of ``F_ML`` (the unit Fisher information), until
every step component is below ``xtol (1 + |theta|)``. The iterations start
at the SLSQP solution of semopy
(:meth:`~xhs_sharing.sem.model.ParsedModel.initial_estimates`), which stops
before lavaan's precision. No bounds, as lavaan's default: a
Heywood case shows up as a negative variance instead of a variance stuck at
semopy's lower bound of zero. The asymptotic covariance of the estimates is
``(N/2 H)^-1`` (lavaan's ``vcov`` with ``information = "expected"``;
:func:`asymptotic_covariance`).

* :func:`fit_model` estimates a :class:`~xhs_sharing.sem.model.ParsedModel`
  on a data matrix and returns a :class:`ModelFit` (structure, estimates,
  asymptotic covariance); every fit of the package goes through it;
  :func:`xhs_sharing.analysis.structural.fit_structural` and
  :func:`xhs_sharing.analysis.measurement.fit_cfa` add their tables.

Error policy
------------
* Non-convergence always raises :class:`EstimationError`: the estimates
  would not be ML estimates.
* A singular information matrix (the model is not, or not empirically,
  identified) is reported in ``ModelFit.information_problem``; improper
  solutions are diagnosed by the callers (:mod:`xhs_sharing.sem.checks`).

Missing data
------------
With missing values (NaN) in the data, :func:`fit_model` estimates by
full-information ML as lavaan's ``missing = "ml"``: free intercepts for every
indicator, the observed-data likelihood maximised by quasi-Newton iterations
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
information for standard errors under ML.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Final

import numpy as np

from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.linalg import inverse_pd, logdet_from_cholesky
from xhs_sharing.sem.model import ModelStructure, ParsedModel
from xhs_sharing.sem.mvnorm_missing import (
    EMResult,
    FimlObjective,
    FimlSolution,
    MissingData,
    em_imputed,
    em_moments,
    fiml_solve,
    lr_statistic,
)
from xhs_sharing.sem.objectives import ml_from_factors, sample_covariance
from xhs_sharing.sem.robust import MLRResult, mlr_from_fit

logger = logging.getLogger(__name__)

__all__ = [
    "MLSolution",
    "ModelFit",
    "asymptotic_covariance",
    "fit_model",
    "ml_hessian",
    "robust_fit",
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


def _logdet_pd(s: np.ndarray) -> float:
    """``log|S|`` by Cholesky; NaN when ``S`` is not positive definite."""
    try:
        return float(logdet_from_cholesky(np.linalg.cholesky(s)))
    except np.linalg.LinAlgError:
        return float("nan")


def _score_terms(
    structure: ModelStructure, theta: np.ndarray, s: np.ndarray, logdet_s: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """``F_ML``, its gradient and its expected Hessian at ``theta`` (``F = inf`` where Sigma is not PD)."""
    sigma, dsigma = structure.sigma_derivatives(theta)
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return float("inf"), np.full(theta.shape, np.nan), np.full((theta.size,) * 2, np.nan)
    q = dsigma.shape[0]
    sinv = np.linalg.inv(sigma)
    f = float(ml_from_factors(logdet_from_cholesky(chol), sinv, s, logdet_s))
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
        ``converged`` False (with a message) instead of an exception.
    """
    theta = np.array(theta0, dtype=float, copy=True)
    logdet_s = _logdet_pd(s)
    f, g, h = _score_terms(structure, theta, s, logdet_s)
    if not np.isfinite(logdet_s):
        return MLSolution(theta, float("nan"), False, 0, "sample covariance matrix is not positive definite", h)
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
            f_new, g_new, h_new = _score_terms(structure, cand, s, logdet_s)
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
    logdet_s = _logdet_pd(s)
    k = theta.size
    hess = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1e-5 * max(1.0, abs(theta[j]))
        g_plus = _score_terms(structure, theta + e, s, logdet_s)[1]
        g_minus = _score_terms(structure, theta - e, s, logdet_s)[1]
        hess[:, j] = (g_plus - g_minus) / (2.0 * e[j])
    return 0.5 * (hess + hess.T)


#: An information matrix whose smallest eigenvalue is at most this share of
#: its largest is singular: the model is not (empirically) identified.
SINGULAR_INFORMATION: Final = 1e-10


def asymptotic_covariance(info: np.ndarray, n_obs: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``acov = (N/2 H)^-1`` for one unit information ``H`` ``(q, q)`` or a stack ``(B, q, q)``.

    lavaan's ``vcov``: the inverse of the Fisher information of ``N`` rows
    (``information = "expected"`` under ML, the observed one under FIML),
    by Cholesky (:func:`~xhs_sharing.sem.linalg.inverse_pd`).

    Returns
    -------
    acov : np.ndarray
        NaN where the information is not positive definite.
    ok : np.ndarray of bool
        False where it is not (the model is not identified at that point).
    """
    fim = 0.5 * np.asarray(n_obs, dtype=float)[..., None, None] * info
    stack = fim if fim.ndim == 3 else fim[None]
    acov, ok = inverse_pd(stack)
    return (acov, ok) if fim.ndim == 3 else (acov[0], ok[0])


def _single_acov(info: np.ndarray, n_obs: int) -> tuple[np.ndarray, str | None]:
    """:func:`asymptotic_covariance` of one fit, with the diagnosis of a singular information."""
    acov, ok = asymptotic_covariance(info, n_obs)
    fim = 0.5 * n_obs * info
    if not ok:
        return np.linalg.pinv(fim), (
            "information matrix is not positive definite: the model may not "
            "be identified"
        )
    ev = np.linalg.eigvalsh(fim)
    if ev[0] <= SINGULAR_INFORMATION * ev[-1]:
        return acov, "information matrix is singular: the model is not (empirically) identified"
    return acov, None


@dataclass(frozen=True, eq=False)
class ModelFit:
    """ML or FIML estimates of a parsed model (:func:`fit_model`), before any table.

    Attributes
    ----------
    structure : ModelStructure
    theta : np.ndarray
        Free parameters (``structure.param_names`` order).
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
    mlr : MLRResult or None
        Set by :func:`robust_fit` (lavaan's ``estimator = "MLR"``): the
        sandwich covariance, the Yuan-Bentler scaled tests and the robust fit
        measures; ``acov`` is then the ``theta`` block of the sandwich.
    """

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
    mlr: MLRResult | None = None

    @property
    def estimator(self) -> str:
        """The likelihood maximised: ``"ML"`` (complete rows) or ``"FIML"`` (missing answers kept)."""
        return "ML" if self.solution is None else "FIML"

    @property
    def information(self) -> str:
        """What ``acov`` comes from: ``"expected"`` (ML), ``"observed"`` (FIML) or ``"sandwich"`` (MLR)."""
        if self.mlr is not None:
            return "sandwich"
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


def _estimate_ml(parsed: ParsedModel, x: np.ndarray, *, xtol: float, max_iter: int) -> ModelFit:
    """ML on complete data: semopy's SLSQP as the start, then :func:`solve_ml` to ``xtol``."""
    structure, theta0 = parsed.initial_estimates(x)
    _require_df(structure)
    sol = solve_ml(structure, sample_covariance(x), theta0, xtol=xtol, max_iter=max_iter)
    if not sol.converged:
        raise EstimationError(
            f"ML estimation did not converge in {sol.n_iter} iterations "
            f"(Fisher scoring: {sol.message})"
        )
    n_obs = x.shape[0]
    acov, problem = _single_acov(sol.info, n_obs)
    return ModelFit(structure=structure, theta=sol.theta, acov=acov, n_obs=n_obs,
                    fmin=float(sol.fmin), n_iter=sol.n_iter, information_problem=problem)


def _estimate_fiml(parsed: ParsedModel, x: np.ndarray, *, xtol: float, max_iter: int) -> ModelFit:
    """FIML estimates of a parsed model (free intercepts; NaN marks a missing value).

    EM saturated moments -> semopy SLSQP on them (start) -> ML fit of the EM
    covariance (the two-stage estimate; Savalei & Bentler 2009) -> quasi-Newton on
    the FIML likelihood with free intercepts
    (:func:`~xhs_sharing.sem.mvnorm_missing.fiml_solve`) -> the observed information (the
    Hessian of ``-2 logL / N`` by four-point differences of the analytic
    gradient) and ``chi2 = 2 (logL_H1 - logL_H0)``.
    """
    md = MissingData(x)
    em = em_moments(md)
    structure, theta0 = parsed.initial_estimates(em_imputed(md, em), cov=em.cov)
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
    acov, problem = _single_acov(hessian, n_obs)
    q = structure.n_params
    return ModelFit(structure=structure, theta=sol.theta, acov=acov[:q, :q],
                    n_obs=n_obs, fmin=fmin, n_iter=sol.n_iter, information_problem=problem,
                    solution=sol, em=em, hessian=hessian, n_patterns=md.n_patterns)


def fit_model(
    parsed: ParsedModel,
    x: np.ndarray,
    *,
    fiml: bool | None = None,
    xtol: float = XTOL,
    max_iter: int = MAX_ITER,
) -> ModelFit:
    """Estimate a parsed model by ML, or by FIML when ``x`` has missing values.

    The package's one single-sample estimator (see the module docstring):
    semopy's SLSQP gives the start, :func:`solve_ml` (Fisher scoring,
    unbounded) the ML estimates; with missing values the EM / two-stage /
    quasi-Newton route of lavaan's ``missing = "ml"``
    (:mod:`xhs_sharing.sem.mvnorm_missing`). No diagnosis of improper
    solutions here: the callers apply :mod:`xhs_sharing.sem.checks`.

    Parameters
    ----------
    parsed : ParsedModel
        As :func:`~xhs_sharing.sem.model.load_model` returns it.
    x : np.ndarray, shape (n, p)
        The data of ``parsed.observed``, in that order
        (:func:`~xhs_sharing.sem.frames.observed_matrix`); NaN marks a missing value.
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
        return _estimate_fiml(parsed, x, xtol=xtol, max_iter=max_iter)
    return _estimate_ml(parsed, x, xtol=xtol, max_iter=max_iter)


def robust_fit(fit: ModelFit, x: np.ndarray) -> ModelFit:
    """``fit`` with lavaan's MLR standard errors and tests (``estimator = "MLR"``).

    The point estimates are those of ``fit`` (ML, or FIML with missing
    answers: lavaan's MLR with ``missing = "ml"``). ``acov`` becomes the
    ``theta`` block of the Huber-White sandwich ``A^-1 B A^-1 / N``
    (:func:`~xhs_sharing.sem.robust.mlr_from_fit`: ``A`` the observed, ``B``
    the first-order information; Huber 1967, White 1982), so every standard
    error, Wald test and interval computed from ``acov`` downstream is the
    robust one; ``mlr`` holds the scaled tests and robust fit measures.

    Parameters
    ----------
    fit : ModelFit
        An ML or FIML fit of :func:`fit_model`.
    x : np.ndarray, shape (n, p)
        The data ``fit`` was estimated on (``structure.observed`` order; NaN
        where an answer is missing).
    """
    mlr = mlr_from_fit(fit, x)
    q = fit.structure.n_params
    return dataclasses.replace(fit, acov=mlr.acov[:q, :q], mlr=mlr)
