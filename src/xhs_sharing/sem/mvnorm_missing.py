"""Missing data: EM for the saturated normal model, FIML for a structured one.

lavaan's ``missing = "ml"`` (full-information maximum likelihood; Arbuckle
1996, Enders & Bandalos 2001), for a single group with a saturated mean
structure (every observed variable gets a free intercept):

* :class:`MissingData` groups the rows of a data matrix with missing values
  (NaN) for the likelihoods below; :func:`mvn_loglik` is the observed-data
  log-likelihood of a normal model (Little & Rubin 2002, eq. 6.9) and
  :func:`optimal_mean` the best means for a given covariance matrix;
* :func:`em_moments`: EM for the saturated model (Dempster, Laird & Rubin
  1977; Little & Rubin 2002, sec. 11.2.1), the H1 model of the chi-square
  test; :func:`em_imputed` fills the data with the conditional means
  (starting values only);
* :class:`FimlObjective` and :func:`fiml_solve`: the FIML discrepancy of any
  covariance structure ``theta -> (Sigma, dSigma)`` with its analytic
  gradient, maximised by quasi-Newton iterations. The structure comes from
  the caller: :func:`xhs_sharing.sem.estimation.fit_model` passes its
  :meth:`~xhs_sharing.sem.model.ModelStructure.sigma_derivatives`;
* the fit measures for ``missing = "ml"`` (likelihood-ratio chi-square
  against the EM saturated model) are built from :func:`mvn_loglik` and
  :func:`lr_statistic` in :func:`xhs_sharing.sem.fit.fiml_fit_measures`;
  :func:`estimator_label` names the estimator a run uses.

With complete data every estimate and fit measure here equals the ML one;
the callers then take the ML path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.frames import check_missing, incomplete_matrix

__all__ = [
    "EMResult",
    "FimlObjective",
    "FimlSolution",
    "MissingData",
    "SigmaDerivatives",
    "em_imputed",
    "em_moments",
    "estimator_label",
    "fiml_solve",
    "lr_statistic",
    "mvn_loglik",
    "optimal_mean",
]


class MissingData:
    """A data matrix with missing values (NaN), grouped for the likelihoods below.

    Rows are grouped by their number ``m`` of missing values; within a group
    every row carries the ``m`` indices of its missing columns. Rows with no
    observed value are rejected (they carry no information; lavaan drops
    them with a warning).

    Parameters
    ----------
    x : array_like, shape (n, p)
        Data; NaN marks a missing value.

    Attributes
    ----------
    n, p : int
        Rows and variables.
    x : np.ndarray
        The data with missing values set to 0 (never used as values).
    observed : np.ndarray of bool, shape (n, p)
    groups : tuple of (rows, cols)
        For each number of missing values ``m >= 1``: the row indices and an
        ``(n_m, m)`` array of their missing columns.
    n_patterns : int
        Distinct missing-data patterns (the complete pattern included).
    n_observed : int
        Observed values in total.
    """

    def __init__(self, x: np.ndarray) -> None:
        a = np.array(x, dtype=float)
        if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
            raise DataError(f"data must be a non-empty (n, p) matrix, got shape {a.shape}")
        if np.isinf(a).any():
            raise DataError("data contain infinite values")
        obs = ~np.isnan(a)
        empty = np.flatnonzero(~obs.any(axis=1))
        if empty.size:
            raise DataError(
                f"{empty.size} row(s) have no observed value (first: row {empty[0]}); drop them"
            )
        never = np.flatnonzero(~obs.any(axis=0))
        if never.size:
            raise DataError(f"variable(s) at column(s) {never.tolist()} are never observed")
        self.n, self.p = a.shape
        self.observed = obs
        self.x = np.where(obs, a, 0.0)
        n_miss = (~obs).sum(axis=1)
        groups = []
        for m in np.unique(n_miss[n_miss > 0]):
            rows = np.flatnonzero(n_miss == m)
            cols = np.nonzero(~obs[rows])[1].reshape(rows.size, int(m))
            groups.append((rows, cols))
        self.groups: tuple[tuple[np.ndarray, np.ndarray], ...] = tuple(groups)
        self.n_patterns = int(np.unique(obs, axis=0).shape[0])
        self.n_observed = int(obs.sum())

    @property
    def has_missing(self) -> bool:
        """True when at least one value is missing."""
        return bool(self.groups)

    def available_case_moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Observed count, mean and variance (divisor = count) of every variable.

        The start of :func:`em_moments` and the closed-form FIML estimates of
        the independence model (:func:`independence_loglik`).

        Raises
        ------
        DataError
            A variable without variance among its observed values.
        """
        cnt = self.observed.sum(axis=0)
        mean = (self.x * self.observed).sum(axis=0) / cnt
        var = (((self.x - mean) * self.observed) ** 2).sum(axis=0) / cnt
        if np.any(var <= 0):
            bad = np.flatnonzero(var <= 0).tolist()
            raise DataError(f"variable(s) at column(s) {bad} have no variance among their observed values")
        return cnt, mean, var

    def conditional(self, mean: np.ndarray, sigma: np.ndarray) -> _Conditional | None:
        """Per-row pieces of the likelihood at ``(mean, sigma)``; None if Sigma is not PD."""
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            return None
        logdet = 2.0 * float(np.log(np.diag(chol)).sum())
        inv_chol = np.linalg.inv(chol)
        omega = inv_chol.T @ inv_chol
        resid = (self.x - mean) * self.observed
        z = resid @ omega
        y = z.copy()
        logdets = np.full(self.n, logdet)
        e_sum = np.zeros(self.p * self.p)
        cond_shift = []
        for rows, cols in self.groups:
            block = omega[cols[:, :, None], cols[:, None, :]]  # (k, m, m)
            sign, ld = np.linalg.slogdet(block)
            if np.any(sign <= 0):  # pragma: no cover - blocks of a PD matrix are PD
                return None
            a_inv = np.linalg.inv(block)
            shift = np.einsum("kij,kj->ki", a_inv, np.take_along_axis(z[rows], cols, axis=1))
            y[rows] -= np.einsum("km,kmp->kp", shift, omega[cols])
            logdets[rows] += ld
            flat = (cols[:, :, None] * self.p + cols[:, None, :]).ravel()
            e_sum += np.bincount(flat, weights=a_inv.ravel(), minlength=self.p * self.p)
            cond_shift.append(shift)
        return _Conditional(omega, resid, y, logdets, e_sum.reshape(self.p, self.p), cond_shift)


@dataclass(frozen=True)
class _Conditional:
    omega: np.ndarray  # Sigma^-1
    resid: np.ndarray  # x - mean, 0 where missing
    y: np.ndarray  # (Sigma_oo^-1 (x_o - mean_o)) embedded, 0 where missing
    logdets: np.ndarray  # log|Sigma_oo| per row
    e_sum: np.ndarray  # sum over rows of (Omega_JJ)^-1 embedded at (J, J)
    shift: list[np.ndarray]  # per group: (Omega_JJ)^-1 Omega_Jo (x_o - mean_o)

    def f(self) -> float:
        """Mean over rows of ``log|Sigma_oo| + r_o' Sigma_oo^-1 r_o`` (-2 logL / n without 2 pi)."""
        return float(np.mean(self.logdets + np.einsum("ij,ij->i", self.resid, self.y)))

    def sigma_weight(self) -> np.ndarray:
        """``W`` with ``df = tr(W dSigma)``: ``(sum_i K_i - y_i y_i') / n``.

        ``K_i`` is row ``i``'s ``Sigma_oo^-1`` embedded with zeros; ``sum_i K_i
        = n Omega - Omega E Omega`` with ``E`` the embedded ``(Omega_JJ)^-1``.
        """
        n = self.y.shape[0]
        k_sum = n * self.omega - self.omega @ self.e_sum @ self.omega
        w = (k_sum - self.y.T @ self.y) / n
        return 0.5 * (w + w.T)

    def mean_gradient(self) -> np.ndarray:
        """``df/dmean = -2/n sum_i y_i``."""
        return -2.0 * self.y.mean(axis=0)


def _loglik_from(md: MissingData, f: float) -> float:
    return -0.5 * (md.n * f + md.n_observed * math.log(2.0 * math.pi))


def mvn_loglik(md: MissingData, mean: np.ndarray, sigma: np.ndarray) -> float:
    """Observed-data log-likelihood of a normal model with missing values.

    ``sum_i log phi(x_io; mu_o, Sigma_oo)`` over the observed part ``o`` of
    every row (ignorable missingness, Rubin 1976; Little & Rubin 2002,
    eq. 6.9). ``-inf`` when ``sigma`` is not positive definite.
    """
    cond = md.conditional(np.asarray(mean, float), np.asarray(sigma, float))
    return -math.inf if cond is None else _loglik_from(md, cond.f())


def optimal_mean(md: MissingData, sigma: np.ndarray) -> np.ndarray:
    """The mean vector that maximises the likelihood for a given ``sigma``.

    For fixed ``Sigma`` the log-likelihood is quadratic in ``mu``, so the
    maximiser is the GLS mean ``(sum_i K_i)^-1 sum_i K_i x_i`` (``K_i`` the
    inverse observed block of row ``i``, embedded with zeros). At a joint
    FIML optimum of a model with saturated (free) intercepts this *is* the
    FIML mean estimate; with complete data it is the sample mean.
    """
    cond = md.conditional(np.zeros(md.p), np.asarray(sigma, float))
    if cond is None:
        raise EstimationError("the implied covariance matrix is not positive definite")
    k_sum = md.n * cond.omega - cond.omega @ cond.e_sum @ cond.omega
    return np.linalg.solve(0.5 * (k_sum + k_sum.T), cond.y.sum(axis=0))


@dataclass(frozen=True)
class EMResult:
    """Saturated-model ML estimates with missing data (:func:`em_moments`).

    Attributes
    ----------
    mean : np.ndarray, shape (p,)
    cov : np.ndarray, shape (p, p)
        ML covariance (divisor n).
    loglik : float
        Observed-data log-likelihood at ``(mean, cov)`` (lavaan's
        "Loglikelihood unrestricted model (H1)").
    n_iter : int
    converged : bool
    n : int
    n_patterns : int
    """

    mean: np.ndarray
    cov: np.ndarray
    loglik: float
    n_iter: int
    converged: bool
    n: int
    n_patterns: int


def em_moments(
    data: np.ndarray | MissingData, *, tol: float = 1e-10, max_iter: int = 10_000
) -> EMResult:
    """ML mean and covariance of multivariate-normal data with missing values, by EM.

    The EM algorithm of Dempster, Laird & Rubin (1977) for the normal model,
    as in Little & Rubin (2002, Statistical Analysis with Missing Data, 2nd
    ed., sec. 11.2.1): the E-step replaces every missing value by its
    conditional mean given the row's observed values and adds the
    conditional covariance to the cross-products; the M-step sets
    ``mu = T1 / n`` and ``Sigma = T2 / n - mu mu'``. It starts from the
    available-case means and variances (zero covariances) and stops when no
    mean or covariance moves by more than ``tol * (1 + |value|)``. The
    log-likelihood never decreases along the way (checked).

    With complete data one iteration gives the sample mean and the sample
    covariance with divisor n.

    Parameters
    ----------
    data : array_like (n, p) with NaN for missing values, or MissingData
    tol : float
    max_iter : int

    Returns
    -------
    EMResult

    Raises
    ------
    DataError
        A row or a variable without observed values; a variable without
        variance among its observed values.
    EstimationError
        The covariance matrix became singular or EM did not converge.
    """
    md = data if isinstance(data, MissingData) else MissingData(data)
    if not (tol > 0) or max_iter < 1:
        raise SpecError("tol must be > 0 and max_iter >= 1")
    _, mean, var = md.available_case_moments()
    cov = np.diag(var)
    ll_old = -math.inf
    for it in range(1, max_iter + 1):
        cond = md.conditional(mean, cov)
        if cond is None:
            raise EstimationError("EM: the covariance matrix became singular")
        ll = _loglik_from(md, cond.f())
        if ll < ll_old - 1e-8 * max(1.0, abs(ll_old)):  # pragma: no cover - EM is monotone
            raise EstimationError("EM: the log-likelihood decreased")
        ll_old = ll
        filled = md.x.copy()
        for (rows, cols), shift in zip(md.groups, cond.shift):
            filled[rows[:, None], cols] = mean[cols] - shift
        new_mean = filled.mean(axis=0)
        centred = filled - new_mean
        new_cov = (centred.T @ centred + cond.e_sum) / md.n
        new_cov = 0.5 * (new_cov + new_cov.T)
        done = np.all(np.abs(new_mean - mean) <= tol * (1.0 + np.abs(mean))) and np.all(
            np.abs(new_cov - cov) <= tol * (1.0 + np.abs(cov))
        )
        mean, cov = new_mean, new_cov
        if done:
            ll = mvn_loglik(md, mean, cov)
            return EMResult(mean, cov, ll, it, True, md.n, md.n_patterns)
    raise EstimationError(f"EM did not converge in {max_iter} iterations")


#: ``theta -> (Sigma, dSigma/dtheta)`` with ``dSigma`` of shape (q, p, p).
SigmaDerivatives = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class FimlSolution:
    """Outcome of :func:`fiml_solve`.

    Attributes
    ----------
    theta : np.ndarray
        Free parameters of the covariance structure.
    mean : np.ndarray
        Free intercepts (means) of the observed variables (saturated, as
        lavaan's ``missing = "ml"`` adds them).
    f : float
        ``-2 logL / n`` without the ``2 pi`` constant.
    loglik : float
        Observed-data log-likelihood (lavaan's "Loglikelihood user model (H0)").
    converged : bool
    n_iter : int
    message : str
    """

    theta: np.ndarray
    mean: np.ndarray
    f: float
    loglik: float
    converged: bool
    n_iter: int
    message: str


class FimlObjective:
    """The FIML discrepancy of a covariance structure with saturated means.

    ``F(theta, mu) = -2 logL / n`` (without the ``2 pi`` constant) over the
    stacked vector ``x = (theta, mu)``, with its analytic gradient

    * ``dF/dtheta_k = tr(W dSigma_k)``, ``W = (1/n) sum_i (K_i - y_i y_i')``,
    * ``dF/dmu = -(2/n) sum_i y_i``,

    where ``K_i`` is the inverse of row ``i``'s observed block of ``Sigma``
    and ``y_i = K_i (x_i - mu)`` (both embedded with zeros at the missing
    positions); see e.g. Savalei & Rosseel (2022), Struct. Equ. Modeling 29:163-181.

    Parameters
    ----------
    md : MissingData
    sigma_derivatives : callable
        ``theta -> (Sigma, dSigma)``, ``dSigma`` of shape ``(q, p, p)``.
    q : int
        Length of ``theta``.
    """

    def __init__(self, md: MissingData, sigma_derivatives: SigmaDerivatives, q: int) -> None:
        self.md = md
        self.sigma_derivatives = sigma_derivatives
        self.q = int(q)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(theta, mean)`` of a stacked vector."""
        return x[: self.q], x[self.q :]

    def value(self, x: np.ndarray) -> float:
        """``F`` at ``x`` (``inf`` where Sigma is not positive definite)."""
        theta, mean = self.split(x)
        sigma, _ = self.sigma_derivatives(theta)
        cond = self.md.conditional(mean, sigma)
        return math.inf if cond is None else cond.f()

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``F`` and its gradient (NaN gradient where Sigma is not PD)."""
        theta, mean = self.split(x)
        sigma, dsigma = self.sigma_derivatives(theta)
        cond = self.md.conditional(mean, sigma)
        if cond is None:
            return math.inf, np.full(x.shape, np.nan)
        w = cond.sigma_weight()
        g_theta = np.asarray(dsigma, dtype=float).reshape(self.q, -1) @ w.ravel()
        return cond.f(), np.concatenate([g_theta, cond.mean_gradient()])

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return self.value_and_gradient(x)[1]

    def hessian(self, x: np.ndarray, *, richardson: bool = False) -> np.ndarray:
        """Hessian of ``F`` by differentiating the analytic gradient numerically.

        Central differences (``h = 1e-5 (1 + |x_j|)``), or with
        ``richardson=True`` the four-point formula
        ``(g(x-2h) - 8 g(x-h) + 8 g(x+h) - g(x+2h)) / 12h`` with
        ``h = 1e-4 (1 + |x_j|)`` (error O(h^4); lavaan's ``lav_model_hessian``
        uses the same scheme). ``n/2`` times it is the observed information.
        """
        k = x.size
        hess = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            if richardson:
                h = 1e-4 * (1.0 + abs(x[j]))
                e[j] = h
                hess[:, j] = (self.gradient(x - 2 * e) - 8 * self.gradient(x - e)
                              + 8 * self.gradient(x + e) - self.gradient(x + 2 * e)) / (12 * h)
            else:
                h = 1e-5 * (1.0 + abs(x[j]))
                e[j] = h
                hess[:, j] = (self.gradient(x + e) - self.gradient(x - e)) / (2 * h)
        return 0.5 * (hess + hess.T)

    def complete_data_information(self, x: np.ndarray) -> np.ndarray:
        """Expected Hessian of ``F`` had no value been missing.

        Block diagonal: ``tr(Sigma^-1 D_k Sigma^-1 D_l)`` for ``theta`` and
        ``2 Sigma^-1`` for ``mu``. It exceeds the missing-data information, so
        scoring steps with it are short and safe (the EM rate of convergence).
        """
        theta, _ = self.split(x)
        sigma, dsigma = self.sigma_derivatives(theta)
        omega = np.linalg.inv(sigma)
        a = omega @ np.asarray(dsigma, dtype=float)
        h_tt = a.reshape(self.q, -1) @ np.swapaxes(a, 1, 2).reshape(self.q, -1).T
        p = omega.shape[0]
        out = np.zeros((self.q + p, self.q + p))
        out[: self.q, : self.q] = 0.5 * (h_tt + h_tt.T)
        out[self.q :, self.q :] = 2.0 * omega
        return out


def _descent_step(mat: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """``mat^-1 g`` when ``mat`` is positive definite and the step is finite."""
    try:
        chol = np.linalg.cholesky(mat)
    except np.linalg.LinAlgError:
        return None
    step = np.linalg.solve(chol.T, np.linalg.solve(chol, g))
    return step if np.all(np.isfinite(step)) else None


@dataclass
class _QuasiNewton:
    """The state of :func:`fiml_solve`: iterate, value, gradient and the matrix steps solve with.

    ``kind`` says where ``approx`` came from: ``"given"`` (the caller's
    Hessian), ``"numeric"`` (differences of the gradient at this ``x``),
    ``"bfgs"`` (updated since) or ``"scoring"`` (the complete-data
    information, always positive definite); ``approx`` None means "compute
    the numeric Hessian at the next step".
    """

    obj: FimlObjective
    x: np.ndarray
    f: float
    g: np.ndarray
    approx: np.ndarray | None
    kind: str = "given"

    def step(self) -> np.ndarray | None:
        """The quasi-Newton step ``approx^-1 g``, falling back to scoring where ``approx`` is not PD."""
        if self.approx is None:
            self.approx, self.kind = self.obj.hessian(self.x), "numeric"
        step = _descent_step(self.approx, self.g)
        if step is None:  # not positive definite, e.g. far from the optimum
            self.approx, self.kind = self.obj.complete_data_information(self.x), "scoring"
            step = _descent_step(self.approx, self.g)
        return step

    def halve(self, step: np.ndarray) -> tuple[float, np.ndarray, float, np.ndarray] | None:
        """Step halving until ``F`` decreases: ``(alpha, x_new, f_new, g_new)``, None if it never does."""
        alpha = 1.0
        while alpha >= 1e-10:
            cand = self.x - alpha * step
            # the gradient costs little more than the value, and a full step is the rule
            f_new, g_new = self.obj.value_and_gradient(cand)
            if math.isfinite(f_new) and f_new <= self.f + 1e-12 * max(1.0, abs(self.f)):
                return alpha, cand, f_new, g_new
            alpha *= 0.5
        return None

    def after_failed_search(self, step: np.ndarray, xtol: float) -> str | None:
        """Outcome when no step length decreases ``F``: converged, give up, or retry (None)."""
        if bool(np.all(np.abs(step) <= xtol * (1.0 + np.abs(self.x)))):
            return "converged"
        if self.kind in ("given", "bfgs"):
            self.approx = None  # recompute the Hessian here
        elif self.kind == "numeric":
            self.approx, self.kind = self.obj.complete_data_information(self.x), "scoring"
        else:
            return "line search failed"
        return None

    def accept(self, alpha: float, step: np.ndarray, x: np.ndarray, f: float, g: np.ndarray) -> None:
        """Move to ``x`` and update ``approx`` by BFGS (Nocedal & Wright 2006, eq. 6.19).

        The update is skipped when the curvature condition ``s'y > 0`` fails.
        """
        s, yv = -alpha * step, g - self.g
        self.x, self.f, self.g = x, f, g
        sy = float(s @ yv)
        bs = self.approx @ s
        sbs = float(s @ bs)
        if sy > 1e-12 * math.sqrt(float(s @ s) * float(yv @ yv)) and sbs > 0:
            self.approx = self.approx + np.outer(yv, yv) / sy - np.outer(bs, bs) / sbs
            self.kind = "bfgs"

    def result(self, md: MissingData, conv: bool, it: int, msg: str) -> FimlSolution:
        theta, mean = self.obj.split(self.x)
        ll = _loglik_from(md, self.f) if math.isfinite(self.f) else -math.inf
        return FimlSolution(theta.copy(), mean.copy(), float(self.f), ll, conv, it, msg)


def _start_means(md: MissingData, sigma_derivatives: SigmaDerivatives, theta0: np.ndarray) -> np.ndarray:
    """The best means for ``Sigma(theta0)`` (:func:`optimal_mean`), zeros if it is not PD."""
    try:
        return optimal_mean(md, sigma_derivatives(theta0)[0])
    except (EstimationError, np.linalg.LinAlgError):
        return np.zeros(md.p)


def fiml_solve(
    md: MissingData,
    sigma_derivatives: SigmaDerivatives,
    theta0: np.ndarray,
    mean0: np.ndarray | None = None,
    *,
    hessian: np.ndarray | None = None,
    xtol: float = 1e-10,
    max_iter: int = 200,
) -> FimlSolution:
    """Maximise the FIML log-likelihood of a covariance structure with free means.

    Quasi-Newton iterations on ``F = -2 logL / n`` (:class:`FimlObjective`)
    with step halving: the Hessian from differences of the analytic gradient
    at the start (or ``hessian`` when given), then BFGS updates (Nocedal &
    Wright 2006, ch. 6), recomputed where a step fails to decrease ``F``.
    Where the Hessian is not positive definite the complete-data information
    is used instead (a scoring step that never overshoots). Converged when
    every step component is below ``xtol * (1 + |x|)``. No bounds, as in
    lavaan: improper solutions are reached, not hidden.

    Parameters
    ----------
    md : MissingData
    sigma_derivatives : callable
        ``theta -> (Sigma, dSigma)``.
    theta0 : np.ndarray
        Start (e.g. the ML fit to the EM covariance matrix, or a full-sample
        solution for a bootstrap refit).
    mean0 : np.ndarray, optional
        Start of the means; by default the best means for ``Sigma(theta0)``
        (:func:`optimal_mean`).
    hessian : np.ndarray, optional
        Hessian of ``F`` to start the BFGS updates from instead of computing
        one (``2 (q + p)`` gradients); bootstrap refits start at the
        full-sample solution with that solution's Hessian, and each step
        then costs about one gradient.
    xtol, max_iter
        Convergence tolerance and iteration cap.

    Returns
    -------
    FimlSolution
        ``converged`` False (with a message) instead of an exception.
    """
    theta0 = np.asarray(theta0, dtype=float)
    obj = FimlObjective(md, sigma_derivatives, theta0.size)
    if mean0 is None:
        mean0 = _start_means(md, sigma_derivatives, theta0)
    x = np.concatenate([theta0, np.asarray(mean0, dtype=float)])
    f, g = obj.value_and_gradient(x)
    state = _QuasiNewton(obj, x, f, g, None if hessian is None else np.array(hessian, dtype=float, copy=True))
    if not math.isfinite(f):
        return state.result(md, False, 0, "start has a non-positive-definite implied covariance")
    for it in range(1, max_iter + 1):
        step = state.step()
        if step is None:
            return state.result(md, False, it, "singular information matrix")
        found = state.halve(step)
        if found is None:
            outcome = state.after_failed_search(step, xtol)
            if outcome is not None:
                return state.result(md, outcome == "converged", it, outcome)
            continue
        alpha, cand, f_new, g_new = found
        done = bool(np.all(np.abs(alpha * step) <= xtol * (1.0 + np.abs(state.x))))
        if done:
            state.x, state.f, state.g = cand, f_new, g_new
            return state.result(md, True, it, "converged")
        state.accept(alpha, step, cand, f_new, g_new)
    return state.result(md, False, max_iter, "iteration limit reached")


def em_imputed(md: MissingData, em: EMResult) -> np.ndarray:
    """The data with every missing value replaced by its conditional mean under ``em``.

    Used only to give semopy complete data for its starting values; the
    estimates themselves come from the likelihood of the observed values.
    """
    cond = md.conditional(em.mean, em.cov)
    if cond is None:  # pragma: no cover - EM covariance is PD
        raise EstimationError("the EM covariance matrix is not positive definite")
    filled = np.where(md.observed, md.x, 0.0)
    for (rows, cols), shift in zip(md.groups, cond.shift):
        filled[rows[:, None], cols] = em.mean[cols] - shift
    return filled


def estimator_label(data: pd.DataFrame, columns: Sequence[str], missing: str) -> str:
    """``"FIML"`` when ``missing == "fiml"`` and a value of ``columns`` is missing, else ``"ML"``.

    The estimator that :func:`xhs_sharing.sem.fit.fit_measures`,
    :func:`xhs_sharing.analysis.structural.fit_structural` and
    :func:`xhs_sharing.analysis.measurement.fit_cfa` use for these arguments (with
    complete data FIML *is* ML, and the ML path is taken).
    """
    check_missing(missing)
    if missing == "fiml" and incomplete_matrix(data, columns) is not None:
        return "FIML"
    return "ML"


def lr_statistic(ll_h1: float, ll_h0: float, what: str) -> float:
    """``2 (logL_H1 - logL_H0)``; a tiny negative value (EM tolerance) becomes 0."""
    stat = 2.0 * (ll_h1 - ll_h0)
    if stat < -1e-6 * max(1.0, abs(ll_h1)):
        raise EstimationError(
            f"the {what} fits better than the saturated model (2 dlogL = {stat:.3g}): "
            "the EM estimates have not converged"
        )
    return max(stat, 0.0)
