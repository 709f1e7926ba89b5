"""Global fit indices of a covariance-structure model, as lavaan reports them.

semopy 2.3.11 reports chi-square, CFI, TLI and RMSEA, but not the SRMR nor the
RMSEA confidence interval, and its RMSEA uses N - 1 where lavaan (ML, normal
likelihood) uses N. This module recomputes the indices from their published
definitions, following lavaan 0.6 (``lav_fit_rmsea.R``, ``lav_fit_cfi.R``,
``lav_fit_srmr.R``; Rosseel 2012, J. Stat. Softw. 48(2)):

* pure array functions first (:func:`ml_discrepancy`, :func:`srmr`,
  :func:`rmsea`, :func:`rmsea_ci`, :func:`cfi`, :func:`tli`,
  :func:`baseline_chi2`), which take numbers and arrays only;
* :func:`fit_semopy`, the package's one way of fitting a semopy model *to
  convergence* (semopy's default SLSQP run stops early, see below);
* :func:`fit_measures`, a convenience wrapper that turns a fitted
  :class:`semopy.Model` and its data into a JSON-serialisable dict;
* missing data (lavaan's ``missing = "ml"``): :class:`MissingData`,
  :func:`em_moments` (EM for the saturated normal model, Little & Rubin
  2002), :func:`mvn_loglik`, :func:`fiml_solve` (FIML for any covariance
  structure with free intercepts), :func:`fiml_observed_acov`,
  :func:`fit_semopy_fiml` and :func:`fiml_fit_measures`.

Conventions (all as lavaan with ``estimator = "ML"``, ``likelihood =
"normal"``, single group, no mean structure):

* ``S`` is the sample covariance matrix with divisor N (biased), which is also
  what semopy uses;
* the test statistic is ``chi2 = N * F_ML(S, Sigma)`` with
  ``F_ML = log|Sigma| - log|S| + tr(S Sigma^-1) - p``;
* every index that needs a sample size uses N, not N - 1.

Rows with a missing value on any observed variable of the model are dropped
(lavaan's default ``missing = "listwise"``); ``n`` is the number of complete
rows. With ``missing="fiml"`` they are kept and the likelihood of each row's
observed values is maximised instead (full-information ML; Arbuckle 1996,
Enders & Bandalos 2001); the chi-square then compares the model with the EM
estimate of the saturated model, and ``n`` counts every row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import semopy
from scipy import optimize, stats
from semopy.solver import SolverResult

from .errors import DataError, EstimationError, SpecError

__all__ = [
    "ESTIMATOR_KEY",
    "FIT_MEASURE_KEYS",
    "MISSING_METHODS",
    "EMResult",
    "FimlFit",
    "FimlObjective",
    "FimlSolution",
    "MissingData",
    "baseline_chi2",
    "cfi",
    "em_imputed_frame",
    "em_moments",
    "estimator_label",
    "fiml_fit_measures",
    "fiml_observed_acov",
    "fiml_solve",
    "fit_measures",
    "fit_semopy",
    "fit_semopy_fiml",
    "independence_loglik",
    "ml_discrepancy",
    "mvn_loglik",
    "optimal_mean",
    "rmsea",
    "rmsea_ci",
    "srmr",
    "tli",
]

#: Keys of the dict returned by :func:`fit_measures`, in order.
FIT_MEASURE_KEYS: tuple[str, ...] = (
    "chi2",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "rmsea_ci_low",
    "rmsea_ci_high",
    "srmr",
    "n",
    "baseline_chi2",
    "baseline_df",
)

# lavaan compares t1, t2 to zero with R's all.equal(), i.e. an absolute
# tolerance of sqrt(.Machine$double.eps) ~ 1.5e-8 when the target is 0.
_ALL_EQUAL_TOL = 1.5e-8


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------
def _as_cov(name: str, m: object) -> np.ndarray:
    """Return ``m`` as a float square symmetric matrix, or raise DataError."""
    a = np.asarray(m, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise DataError(f"{name} must be a non-empty square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} contains non-finite values")
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
        raise DataError(f"{name} is not symmetric")
    return a


def _check_stat(chi2: float, df: float, n: float | None = None) -> None:
    if not (isinstance(chi2, (int, float, np.floating, np.integer)) and math.isfinite(chi2)):
        raise DataError(f"chi2 must be a finite number, got {chi2!r}")
    if chi2 < 0:
        raise DataError(f"chi2 must be >= 0, got {chi2}")
    if not (isinstance(df, (int, float, np.floating, np.integer)) and math.isfinite(df)) or df < 0:
        raise DataError(f"df must be a finite number >= 0, got {df!r}")
    if n is not None and (
        not isinstance(n, (int, float, np.floating, np.integer)) or not math.isfinite(n) or n <= 0
    ):
        raise DataError(f"n must be a positive number, got {n!r}")


# --------------------------------------------------------------------------
# pure array functions
# --------------------------------------------------------------------------
def ml_discrepancy(S: np.ndarray, Sigma: np.ndarray) -> float:
    """Maximum-likelihood discrepancy between a sample and an implied covariance.

    .. math:: F_{ML} = \\log|\\Sigma| - \\log|S| + \\operatorname{tr}(S\\Sigma^{-1}) - p

    (Joreskog 1969; Bollen 1989, eq. 4.67). ``N * F_ML`` is lavaan's and
    semopy's chi-square test statistic.

    Parameters
    ----------
    S, Sigma : array_like, shape (p, p)
        Sample (divisor N) and model-implied covariance matrices; both must be
        positive definite.

    Returns
    -------
    float
        ``F_ML >= 0``; tiny negative round-off is clipped to 0.

    Raises
    ------
    DataError
        If a matrix is not square, symmetric, finite and positive definite.
    """
    S = _as_cov("S", S)
    Sigma = _as_cov("Sigma", Sigma)
    if S.shape != Sigma.shape:
        raise DataError(f"S {S.shape} and Sigma {Sigma.shape} differ in shape")
    sign_s, logdet_s = np.linalg.slogdet(S)
    sign_m, logdet_m = np.linalg.slogdet(Sigma)
    if sign_s <= 0:
        raise DataError("the sample covariance matrix S is not positive definite")
    if sign_m <= 0:
        raise DataError("the model-implied covariance matrix Sigma is not positive definite")
    p = S.shape[0]
    f = logdet_m - logdet_s + float(np.trace(np.linalg.solve(Sigma, S))) - p
    return max(float(f), 0.0)


def baseline_chi2(S: np.ndarray, n: int) -> tuple[float, int]:
    """Chi-square and df of lavaan's baseline (independence) model.

    The independence model frees the p variances and fixes every covariance
    to 0; its ML estimate is ``diag(S)``, so
    ``chi2_0 = N * (sum(log s_ii) - log|S|)`` on ``p (p - 1) / 2`` df
    (Bentler 1990; lavaan ``lav_object_independence``).

    Parameters
    ----------
    S : array_like, shape (p, p)
        Sample covariance matrix (divisor N).
    n : int
        Sample size N.

    Returns
    -------
    (float, int)
        Baseline chi-square and its degrees of freedom.
    """
    S = _as_cov("S", S)
    _check_stat(0.0, 0, n)
    d = np.diag(S)
    if np.any(d <= 0):
        raise DataError("S has a non-positive variance on its diagonal")
    p = S.shape[0]
    return n * ml_discrepancy(S, np.diag(d)), p * (p - 1) // 2


def srmr(S: np.ndarray, Sigma: np.ndarray) -> float:
    """Standardized root mean square residual (Bentler's definition).

    lavaan's default ``srmr`` for a single-group model without mean structure
    (``srmr_bentler``): residuals are scaled by the *observed* standard
    deviations, ``r_ij = (s_ij - sigma_ij) / sqrt(s_ii s_jj)``, and averaged
    over the ``p (p + 1) / 2`` unique elements including the diagonal:

    .. math:: SRMR = \\sqrt{\\frac{\\sum_{i \\le j} r_{ij}^2}{p(p+1)/2}}

    (Bentler 1995, EQS manual; Hu & Bentler 1999; lavaan ``lav_fit_srmr.R``
    with ``lav_residuals`` type ``"cor.bentler"``).

    Parameters
    ----------
    S, Sigma : array_like, shape (p, p)
        Sample and model-implied covariance matrices.

    Returns
    -------
    float
        SRMR, >= 0; 0 if and only if ``S == Sigma``.
    """
    S = _as_cov("S", S)
    Sigma = _as_cov("Sigma", Sigma)
    if S.shape != Sigma.shape:
        raise DataError(f"S {S.shape} and Sigma {Sigma.shape} differ in shape")
    sd = np.sqrt(np.diag(S)) if np.all(np.diag(S) > 0) else None
    if sd is None:
        raise DataError("S has a non-positive variance on its diagonal")
    resid = (S - Sigma) / np.outer(sd, sd)
    iu = np.triu_indices(S.shape[0])
    return float(np.sqrt(np.mean(resid[iu] ** 2)))


def rmsea(chi2: float, df: float, n: float) -> float:
    """Root mean square error of approximation, lavaan's point estimate.

    .. math:: RMSEA = \\sqrt{\\max\\left(\\frac{\\chi^2 / N}{df} - \\frac{1}{N}, 0\\right)}

    i.e. ``sqrt(max(chi2 - df, 0) / (N df))`` with N, not N - 1 (Steiger & Lind
    1980; lavaan ``lav_fit_rmsea``, which uses N for ML with the normal
    likelihood). By lavaan's convention RMSEA is 0 when ``df == 0``.

    Parameters
    ----------
    chi2 : float
        Model chi-square, >= 0.
    df : float
        Degrees of freedom, >= 0.
    n : float
        Sample size N (> 0).
    """
    _check_stat(chi2, df, n)
    if df == 0:
        return 0.0
    return float(math.sqrt(max((chi2 / n) / df - 1.0 / n, 0.0)))


def _ncx2_cdf(x: float, df: float, ncp: float) -> float:
    # scipy's ncx2 is undefined at ncp == 0 in some versions: use chi2 there.
    if ncp <= 0:
        return float(stats.chi2.cdf(x, df))
    return float(stats.ncx2.cdf(x, df, ncp))


def rmsea_ci(chi2: float, df: float, n: float, level: float = 0.90) -> tuple[float, float]:
    """Confidence interval of the RMSEA by noncentral chi-square inversion.

    Browne & Cudeck (1993): the bounds are ``sqrt(lambda / (N df))`` where
    ``lambda_L`` solves ``P(X <= chi2 | df, lambda) = 1 - (1 - level)/2`` and
    ``lambda_U`` solves ``P(X <= chi2 | df, lambda) = (1 - level)/2``.
    Edge rules as lavaan ``lav_fit_rmsea_ci`` (0.6-x):

    * lower bound 0 if ``df < 1`` or if the central chi-square cdf at ``chi2``
      is already below ``1 - (1 - level)/2`` (e.g. whenever ``chi2 < df``);
    * upper bound 0 if ``df < 1`` or if the cdf at ``lambda = 0`` is below
      ``(1 - level)/2``; the root for the upper bound is searched on
      ``[0, max(N, 4 chi2)]``, and the bound is 0 if no root is bracketed there.

    N (not N - 1) is used, as in lavaan for ML.

    Parameters
    ----------
    chi2, df, n : float
        Model chi-square, degrees of freedom, sample size.
    level : float, default 0.90
        Confidence level in (0, 1).

    Returns
    -------
    (float, float)
        ``(low, high)``.
    """
    _check_stat(chi2, df, n)
    if not (0.0 < level < 1.0):
        raise DataError(f"level must be in (0, 1), got {level}")
    upper_perc = 1.0 - (1.0 - level) / 2.0
    lower_perc = (1.0 - level) / 2.0
    if df < 1:
        return 0.0, 0.0

    def lower_fn(lam: float) -> float:
        return _ncx2_cdf(chi2, df, lam) - upper_perc

    def upper_fn(lam: float) -> float:
        return _ncx2_cdf(chi2, df, lam) - lower_perc

    if lower_fn(0.0) < 0.0:
        low = 0.0
    else:
        # at lambda = chi2 the noncentral mean df + chi2 exceeds chi2, so the
        # cdf is below one half and the root is bracketed by [0, chi2]
        lam_l = optimize.brentq(lower_fn, 0.0, chi2, xtol=1e-12, rtol=1e-12)
        low = math.sqrt(lam_l / (n * df))

    n_rmsea = max(n, 4.0 * chi2)
    if upper_fn(n_rmsea) > 0.0 or upper_fn(0.0) < 0.0:
        high = 0.0
    else:
        lam_u = optimize.brentq(upper_fn, 0.0, n_rmsea, xtol=1e-12, rtol=1e-12)
        high = math.sqrt(lam_u / (n * df))
    return float(low), float(high)


def cfi(chi2: float, df: float, baseline_chi2: float, baseline_df: float) -> float:
    """Comparative fit index (Bentler 1990), with lavaan's bounding rules.

    ``t1 = max(chi2 - df, 0)``, ``t2 = max(chi2 - df, chi2_0 - df_0, 0)``;
    CFI = 1 if both are 0 (to R's ``all.equal`` tolerance), else
    ``1 - t1 / t2``. The result is therefore always in [0, 1]
    (lavaan ``lav_fit_cfi``).

    Parameters
    ----------
    chi2, df : float
        Model chi-square and degrees of freedom.
    baseline_chi2, baseline_df : float
        Chi-square and df of the baseline (independence) model.
    """
    _check_stat(chi2, df)
    _check_stat(baseline_chi2, baseline_df)
    t1 = max(chi2 - df, 0.0)
    t2 = max(chi2 - df, baseline_chi2 - baseline_df, 0.0)
    if abs(t1) < _ALL_EQUAL_TOL and abs(t2) < _ALL_EQUAL_TOL:
        return 1.0
    return float(1.0 - t1 / t2)


def tli(chi2: float, df: float, baseline_chi2: float, baseline_df: float) -> float:
    """Tucker-Lewis index / NNFI (Tucker & Lewis 1973), lavaan's rules.

    lavaan >= 0.5-21 (``lav_fit_tli``): ``t1 = (chi2 - df) df_0``,
    ``t2 = (chi2_0 - df_0) df``; TLI = ``1 - t1 / t2`` if ``df > 0`` and
    ``t2 != 0``, else 1. Unlike the CFI, lavaan does **not** truncate the TLI:
    it can exceed 1 (when ``chi2 < df``) or fall below 0, and so does this
    function.

    Parameters
    ----------
    chi2, df : float
        Model chi-square and degrees of freedom.
    baseline_chi2, baseline_df : float
        Chi-square and df of the baseline (independence) model.
    """
    _check_stat(chi2, df)
    _check_stat(baseline_chi2, baseline_df)
    t1 = (chi2 - df) * baseline_df
    t2 = (baseline_chi2 - baseline_df) * df
    if df > 0 and abs(t2) > 0:
        return float(1.0 - t1 / t2)
    return 1.0


# --------------------------------------------------------------------------
# missing data: EM for the saturated model, FIML for a structured one
# --------------------------------------------------------------------------
#
# Every normal-theory likelihood with missing values below goes through one
# computation. With Omega = Sigma^-1 and J the missing variables of a row, the
# inverse of the observed block is the Schur complement
#
#     (Sigma_oo)^-1 = Omega_oo - Omega_oJ (Omega_JJ)^-1 Omega_Jo,
#     log|Sigma_oo| = log|Sigma| + log|Omega_JJ|
#
# (e.g. Harville 1997, Matrix Algebra from a Statistician's Perspective,
# thm. 8.5.11), so a row costs one inversion of its small m x m block of
# Omega instead of its large observed block, and the conditional distribution
# of the missing given the observed values (the E-step) comes out of the same
# block: x_J | x_o ~ N(mu_J - (Omega_JJ)^-1 Omega_Jo (x_o - mu_o), (Omega_JJ)^-1).


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
    cnt = md.observed.sum(axis=0)
    mean = (md.x * md.observed).sum(axis=0) / cnt
    var = (((md.x - mean) * md.observed) ** 2).sum(axis=0) / cnt
    if np.any(var <= 0):
        bad = np.flatnonzero(var <= 0).tolist()
        raise DataError(f"variable(s) at column(s) {bad} have no variance among their observed values")
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
    q = theta0.size
    obj = FimlObjective(md, sigma_derivatives, q)
    if mean0 is None:
        try:
            mean0 = optimal_mean(md, sigma_derivatives(theta0)[0])
        except (EstimationError, np.linalg.LinAlgError):
            mean0 = np.zeros(md.p)
    x = np.concatenate([theta0, np.asarray(mean0, dtype=float)])
    f, g = obj.value_and_gradient(x)

    def result(conv: bool, it: int, msg: str) -> FimlSolution:
        theta, mean = obj.split(x)
        ll = _loglik_from(md, f) if math.isfinite(f) else -math.inf
        return FimlSolution(theta.copy(), mean.copy(), float(f), ll, conv, it, msg)

    if not math.isfinite(f):
        return result(False, 0, "start has a non-positive-definite implied covariance")
    # the matrix the steps solve with, and where it came from: "given" (argument),
    # "numeric" (differences of the gradient at this x), "bfgs" (updated since),
    # or "scoring" (the complete-data information, always positive definite)
    approx = None if hessian is None else np.array(hessian, dtype=float, copy=True)
    kind = "given"
    for it in range(1, max_iter + 1):
        if approx is None:
            approx, kind = obj.hessian(x), "numeric"
        step = _descent_step(approx, g)
        if step is None:  # not positive definite, e.g. far from the optimum
            approx, kind = obj.complete_data_information(x), "scoring"
            step = _descent_step(approx, g)
            if step is None:
                return result(False, it, "singular information matrix")
        alpha = 1.0
        while True:
            cand = x - alpha * step
            # the gradient costs little more than the value, and a full step is the rule
            f_new, g_new = obj.value_and_gradient(cand)
            if math.isfinite(f_new) and f_new <= f + 1e-12 * max(1.0, abs(f)):
                break
            alpha *= 0.5
            if alpha < 1e-10:
                break
        if alpha < 1e-10:  # no decrease along this step
            if bool(np.all(np.abs(step) <= xtol * (1.0 + np.abs(x)))):
                return result(True, it, "converged")
            if kind in ("given", "bfgs"):
                approx = None  # recompute the Hessian here
            elif kind == "numeric":
                approx, kind = obj.complete_data_information(x), "scoring"
            else:
                return result(False, it, "line search failed")
            continue
        done = bool(np.all(np.abs(alpha * step) <= xtol * (1.0 + np.abs(x))))
        g_old = g
        x, f, g = cand, f_new, g_new
        if done:
            return result(True, it, "converged")
        # BFGS update of the Hessian approximation (Nocedal & Wright 2006, eq. 6.19),
        # skipped when the curvature condition fails
        s, yv = -alpha * step, g - g_old
        sy = float(s @ yv)
        bs = approx @ s
        sbs = float(s @ bs)
        if sy > 1e-12 * math.sqrt(float(s @ s) * float(yv @ yv)) and sbs > 0:
            approx = approx + np.outer(yv, yv) / sy - np.outer(bs, bs) / sbs
            kind = "bfgs"
    return result(False, max_iter, "iteration limit reached")


def fiml_observed_acov(
    md: MissingData, sigma_derivatives: SigmaDerivatives, theta: np.ndarray, mean: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Asymptotic covariance of ``(theta, mean)`` from the observed information.

    The observed information is the Hessian of ``-logL``, ``n/2`` times the
    Hessian of ``F`` (four-point differences of the analytic gradient), and the
    covariance its inverse; lavaan's default for ``missing = "ml"``
    (``information = "observed"``, ``observed.information = "hessian"``).
    Returns ``(acov, hessian_of_F)``; ``acov`` is for the stacked vector,
    its leading ``q x q`` block for ``theta``.
    """
    theta = np.asarray(theta, dtype=float)
    obj = FimlObjective(md, sigma_derivatives, theta.size)
    hess = obj.hessian(np.concatenate([theta, np.asarray(mean, dtype=float)]), richardson=True)
    info = 0.5 * md.n * hess
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(
            "the observed information matrix is not positive definite: the model may not be "
            "identified, or the solution is not a maximum"
        ) from exc
    inv_chol = np.linalg.inv(chol)
    return inv_chol.T @ inv_chol, hess


# --------------------------------------------------------------------------
# fitting a semopy model to convergence
# --------------------------------------------------------------------------
MISSING_METHODS: tuple[str, ...] = ("listwise", "fiml")


def _check_missing(missing: str) -> None:
    if missing not in MISSING_METHODS:
        raise SpecError(f"missing must be one of {MISSING_METHODS}, got {missing!r}")


def _numeric_columns(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Select ``columns`` as float, checking they exist and are numeric (NaN kept)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(f"data lacks the model's observed variable(s): {', '.join(missing)}")
    sub = data.loc[:, list(columns)]
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(sub[c])]
    if bad:
        raise DataError(f"observed variable(s) not numeric: {', '.join(bad)}")
    return sub.astype(float)


def _complete_numeric(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Select ``columns``, check they are numeric, drop incomplete rows."""
    sub = _numeric_columns(data, columns).dropna(how="any")
    if len(sub) <= len(columns):
        raise DataError(
            f"only {len(sub)} complete rows for {len(columns)} observed variables; "
            "the sample covariance matrix would be singular"
        )
    return sub


def _incomplete_matrix(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """The model's columns as a float matrix when some value is missing, else None."""
    x = _numeric_columns(data, columns).to_numpy(dtype=float)
    return x if np.isnan(x).any() else None


def _sigma_and_derivs(model: semopy.Model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Implied covariance at ``x`` and its derivatives, shape (k, p, p)."""
    model.update_matrices(x)
    sigma, (m, c) = model.calc_sigma()
    derivs = np.asarray(model.calc_sigma_grad(m, c), dtype=float)
    return sigma, derivs


def _objective(model: semopy.Model, x: np.ndarray, S: np.ndarray, logdet_s: float) -> float:
    model.update_matrices(x)
    sigma, _ = model.calc_sigma()
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return math.inf
    logdet = 2.0 * float(np.log(np.diag(chol)).sum())
    return logdet - logdet_s + float(np.trace(np.linalg.solve(sigma, S))) - S.shape[0]


def _grad_and_info(
    model: semopy.Model, x: np.ndarray, S: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of F_ML and its expected Hessian (unit Fisher information x 2)."""
    sigma, derivs = _sigma_and_derivs(model, x)
    inv = np.linalg.inv(sigma)
    a = np.einsum("ij,kjl->kil", inv, derivs)  # Sigma^-1 dSigma_k
    info = np.einsum("aij,bji->ab", a, a)  # tr(S^-1 D_a S^-1 D_b)
    resid = inv - inv @ S @ inv
    grad = np.einsum("ij,kji->k", resid, derivs)
    return grad, 0.5 * (info + info.T)


def _polish(
    model: semopy.Model, x0: np.ndarray, S: np.ndarray, *, tol: float, max_iter: int
) -> tuple[np.ndarray, float, int]:
    """Minimise F_ML from ``x0`` by Fisher scoring with step halving.

    Fisher scoring (Lee & Jennrich 1979) is Gauss-Newton for F_ML: the step
    is ``-I(x)^-1 g(x)`` with ``I_ab = tr(Sigma^-1 D_a Sigma^-1 D_b)``. When
    the Newton step (Hessian by central differences of the analytic gradient)
    is a descent direction it is preferred, which makes the final
    convergence quadratic even for models that fit badly.
    """
    logdet_s = float(np.linalg.slogdet(S)[1])
    x = np.array(x0, dtype=float)
    f = _objective(model, x, S, logdet_s)
    if not math.isfinite(f):
        raise EstimationError("the starting values give a non-positive-definite implied covariance")
    for it in range(1, max_iter + 1):
        try:
            g, info = _grad_and_info(model, x, S)
        except np.linalg.LinAlgError as exc:
            raise EstimationError("the implied covariance matrix became singular") from exc
        ev = np.linalg.eigvalsh(info)
        if ev[0] <= 1e-10 * max(ev[-1], 1e-300):
            raise EstimationError(
                "the information matrix is singular: the model is not (empirically) identified"
            )
        fisher_step = np.linalg.solve(info, g)
        if np.max(np.abs(fisher_step)) < tol:
            return x, f, it
        step = fisher_step
        if it > 1:
            try:
                hess = _fd_hessian(model, x, S)
                newton = np.linalg.solve(hess, g)
                if np.all(np.isfinite(newton)) and float(newton @ g) > 0 and np.all(
                    np.linalg.eigvalsh(hess) > 0
                ):
                    step = newton
            except np.linalg.LinAlgError:
                pass
        alpha = 1.0
        while True:
            x_new = x - alpha * step
            f_new = _objective(model, x_new, S, logdet_s)
            if math.isfinite(f_new) and f_new <= f + 1e-13 * max(1.0, abs(f)):
                break
            alpha /= 2.0
            if alpha < 1e-8:
                if step is not fisher_step:
                    step, alpha = fisher_step, 1.0
                    continue
                raise EstimationError(
                    "the ML iterations stalled (no decrease of the discrepancy function)"
                )
        x, f = x_new, f_new
    raise EstimationError(
        f"the ML iterations did not converge in {max_iter} iterations "
        f"(largest scoring step {np.max(np.abs(fisher_step)):.2e} > tol {tol:.0e})"
    )


def _fd_hessian(model: semopy.Model, x: np.ndarray, S: np.ndarray) -> np.ndarray:
    k = x.size
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        gp, _ = _grad_only(model, xp, S)
        gm, _ = _grad_only(model, xm, S)
        hess[:, j] = (gp - gm) / (2.0 * h)
    return 0.5 * (hess + hess.T)


def _grad_only(model: semopy.Model, x: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, None]:
    sigma, derivs = _sigma_and_derivs(model, x)
    inv = np.linalg.inv(sigma)
    resid = inv - inv @ S @ inv
    return np.einsum("ij,kji->k", resid, derivs), None


def fit_semopy(
    syntax: str,
    data: pd.DataFrame,
    *,
    tol: float = 1e-8,
    max_iter: int = 200,
    missing: str = "listwise",
) -> semopy.Model:
    """Fit a semopy ``Model`` (ML, no mean structure) to full convergence.

    semopy's default optimizer (SLSQP) stops on a loose criterion: on the
    Holzinger-Swineford CFA it returns a visual =~ x3 loading of 0.731 where
    lavaan reports 0.729. This function therefore

    1. drops rows with a missing value on an observed variable of the model
       (listwise, lavaan's default) and fits the model with semopy
       (objective ``MLW``, solver SLSQP) to get starting values;
    2. polishes that solution by Fisher scoring / Newton steps on the ML
       discrepancy ``F_ML`` (see :func:`ml_discrepancy`) until the largest
       scoring step is below ``tol``. Like lavaan's default, the polish does
       **not** bound variances, so an improper solution (negative residual
       variance, a Heywood case) shows as a negative estimate instead of
       sticking to semopy's bound at 0;
    3. writes the polished parameters back into the model
       (``model.param_vals``, the model matrices and ``model.last_result``,
       whose ``fun`` is the final ``F_ML``), so ``model.inspect()``,
       ``semopy.calc_stats(model)`` and :func:`fit_measures` all describe the
       converged solution.

    Models with explicit (in)equality constraints (semopy's ``constraint``
    operator) cannot be polished without the constraints; for them step 2 is
    replaced by a re-run of SLSQP with ``ftol = 1e-12`` (semopy's bound of
    variances at 0 then stays in force).

    Parameters
    ----------
    syntax : str
        Model description in lavaan/semopy syntax (``=~``, ``~``, ``~~``).
    data : pandas.DataFrame
        Respondents x variables; must contain every observed variable of the
        model, numeric.
    tol : float, default 1e-8
        Convergence tolerance on the largest Fisher-scoring step (parameter
        units).
    max_iter : int, default 200
        Maximum number of polish iterations.
    missing : {"listwise", "fiml"}, default "listwise"
        ``"listwise"`` drops incomplete rows (step 1). ``"fiml"`` keeps them
        and, when a value is missing, estimates by full-information ML
        instead (:func:`fit_semopy_fiml`, whose ``model`` is returned); with
        complete data both are the ML fit described here.

    Returns
    -------
    semopy.Model
        The fitted model; ``model.n_samples`` is the number of complete rows.

    Raises
    ------
    SpecError
        If the syntax cannot be parsed, or the model has more free parameters
        than unique (co)variances (negative df).
    DataError
        If the data lack a variable, hold a non-numeric one, or too few
        complete rows.
    EstimationError
        If the model does not converge, is not identified (singular
        information matrix), or semopy fails.
    """
    if not isinstance(syntax, str) or not syntax.strip():
        raise SpecError("model syntax must be a non-empty string")
    if max_iter < 1:
        raise SpecError(f"max_iter must be >= 1, got {max_iter}")
    if not (tol > 0):
        raise SpecError(f"tol must be > 0, got {tol}")
    _check_missing(missing)
    try:
        model = semopy.Model(syntax)
    except Exception as exc:  # semopy raises bare Exceptions / SyntaxErrors
        raise SpecError(f"semopy could not parse the model syntax: {exc}") from exc
    if isinstance(model, semopy.ModelMeans):  # pragma: no cover - defensive
        raise SpecError("fit_semopy handles models without mean structure only")
    observed = list(model.vars["observed"])
    if missing == "fiml" and _incomplete_matrix(data, observed) is not None:
        return fit_semopy_fiml(syntax, data, tol=tol, max_iter=max_iter).model
    complete = _complete_numeric(data, observed)
    n_obs = len(observed)
    try:
        res = model.fit(complete, obj="MLW", solver="SLSQP")
    except Exception as exc:
        raise EstimationError(f"semopy failed to fit the model: {exc}") from exc
    n_free = len(model.param_vals)
    df = n_obs * (n_obs + 1) // 2 - n_free
    if df < 0:
        raise SpecError(
            f"the model has {n_free} free parameters but only {n_obs * (n_obs + 1) // 2} "
            "unique (co)variances: it is not identified"
        )
    S = np.asarray(model.mx_cov, dtype=float)
    if model.constraints:
        try:
            res = model.fit(complete, obj="MLW", solver="SLSQP", options={"ftol": 1e-12, "maxiter": 10000})
        except Exception as exc:
            raise EstimationError(f"semopy failed to fit the model: {exc}") from exc
        if not res.success:
            raise EstimationError(f"the constrained ML fit did not converge: {res.message}")
        return model
    x, f, n_it = _polish(model, np.asarray(model.param_vals, dtype=float), S, tol=tol, max_iter=max_iter)
    model.param_vals = x
    model.update_matrices(x)
    model.last_result = SolverResult(
        fun=float(f),
        success=True,
        n_it=int(res.n_it) + n_it if isinstance(res.n_it, (int, np.integer)) else n_it,
        x=x,
        message=f"SLSQP start, then Fisher scoring/Newton polish converged in {n_it} iterations",
        name_method="SLSQP+scoring",
        name_obj="MLW",
    )
    return model


@dataclass(frozen=True, eq=False)
class FimlFit:
    """A semopy model fitted by full-information ML (:func:`fit_semopy_fiml`).

    Attributes
    ----------
    model : semopy.Model
        Its ``param_vals`` and matrices hold the FIML estimates (so
        ``model.calc_sigma()`` is the FIML-implied covariance);
        ``model.last_result.fun`` is ``-2 logL / n`` without the ``2 pi``
        constant, ``name_obj`` is ``"FIML"``. semopy's own ``inspect()``
        standard errors do not apply: use ``acov``.
    solution : FimlSolution
        Estimates of the free parameters (semopy order) and of the means.
    em : EMResult
        The saturated model (EM), the H1 model of the chi-square test.
    acov : np.ndarray, shape (q, q)
        Asymptotic covariance of the free parameters from the observed
        information (lavaan's default for ``missing = "ml"``), the leading
        block of the inverse information of parameters and means.
    n : int
        Rows used (every row with an observed value).
    n_patterns : int
        Distinct missing-data patterns.
    """

    model: semopy.Model
    solution: FimlSolution
    em: EMResult
    acov: np.ndarray
    n: int
    n_patterns: int


def _semopy_sigma_derivatives(model: semopy.Model) -> SigmaDerivatives:
    def fn(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _sigma_and_derivs(model, np.asarray(theta, dtype=float))

    return fn


def em_imputed_frame(x: np.ndarray, em: EMResult, columns: Sequence[str]) -> pd.DataFrame:
    """The data with every missing value replaced by its conditional mean under ``em``.

    Used only to give semopy complete data for its starting values; the
    estimates themselves come from the likelihood of the observed values.
    """
    md = MissingData(x)
    cond = md.conditional(em.mean, em.cov)
    if cond is None:  # pragma: no cover - EM covariance is PD
        raise EstimationError("the EM covariance matrix is not positive definite")
    filled = np.where(md.observed, md.x, 0.0)
    for (rows, cols), shift in zip(md.groups, cond.shift):
        filled[rows[:, None], cols] = em.mean[cols] - shift
    return pd.DataFrame(filled, columns=list(columns))


def fit_semopy_fiml(
    syntax: str,
    data: pd.DataFrame,
    *,
    tol: float = 1e-8,
    max_iter: int = 200,
) -> FimlFit:
    """Fit a semopy model by full-information ML (lavaan's ``missing = "ml"``).

    semopy 2.3.11's own ``Model.fit(obj="FIML")`` must not be used here: the
    plain ``Model`` has no mean structure, and its FIML objective takes the
    *raw* cross-products of the data (``t.T @ t`` in ``prepare_fiml``) as
    if every mean were zero. On the Holzinger-Swineford data without a single
    missing value it returns a visual =~ x2 loading of 1.220 where ML gives
    0.554 (centring the data first recovers ML, but with missing values the
    means must be estimated jointly, not fixed at the available-case means).
    ``ModelMeans(obj="ML")`` is a proper FIML but stops at SLSQP precision.

    This function therefore maximises the observed-data likelihood itself,
    every observed variable getting a free intercept (as lavaan adds them
    with ``missing = "ml"``):

    1. EM estimates of the saturated mean and covariance
       (:func:`em_moments`); the H1 model of the fit measures;
    2. semopy's SLSQP on the EM covariance (the data with missing values
       replaced by their conditional means, for semopy's starting values),
       polished to the ML fit of the EM covariance, the "two-stage" estimate
       (Savalei & Bentler 2009), which starts
    3. Newton iterations on the FIML likelihood (:func:`fiml_solve`) to
       ``tol``;
    4. the observed information at the solution (:func:`fiml_observed_acov`).

    Parameters
    ----------
    syntax : str
        Model in lavaan/semopy syntax, without (in)equality constraints.
    data : pandas.DataFrame
        Respondents x variables, NaN for a missing answer. Rows without any
        observed variable of the model are an error.
    tol, max_iter
        Step tolerance and iteration cap of the Newton iterations.

    Returns
    -------
    FimlFit

    Raises
    ------
    SpecError, DataError, EstimationError
        As :func:`fit_semopy`; EstimationError also when the FIML iterations
        do not converge or the observed information is singular.
    """
    if not isinstance(syntax, str) or not syntax.strip():
        raise SpecError("model syntax must be a non-empty string")
    try:
        model = semopy.Model(syntax)
    except Exception as exc:  # semopy raises bare Exceptions / SyntaxErrors
        raise SpecError(f"semopy could not parse the model syntax: {exc}") from exc
    if model.constraints:
        raise SpecError("FIML with explicit (in)equality constraints is not supported")
    observed = list(model.vars["observed"])
    x = _numeric_columns(data, observed).to_numpy(dtype=float)
    md = MissingData(x)
    em = em_moments(md)
    n_obs = len(observed)
    try:
        em_cov = pd.DataFrame(em.cov, index=observed, columns=observed)
        model.fit(em_imputed_frame(x, em, observed), cov=em_cov, obj="MLW", solver="SLSQP")
    except Exception as exc:
        raise EstimationError(f"semopy failed to fit the model: {exc}") from exc
    n_free = len(model.param_vals)
    if n_obs * (n_obs + 1) // 2 - n_free < 0:
        raise SpecError(
            f"the model has {n_free} free parameters but only {n_obs * (n_obs + 1) // 2} "
            "unique (co)variances: it is not identified"
        )
    start, _, _ = _polish(model, np.asarray(model.param_vals, dtype=float), em.cov, tol=tol,
                          max_iter=max_iter)
    fn = _semopy_sigma_derivatives(model)
    sol = fiml_solve(md, fn, start, em.mean, xtol=tol, max_iter=max_iter)
    if not sol.converged:
        raise EstimationError(
            f"the FIML iterations did not converge after {sol.n_iter} iterations: {sol.message}"
        )
    acov, _ = fiml_observed_acov(md, fn, sol.theta, sol.mean)
    model.param_vals = sol.theta.copy()
    model.update_matrices(model.param_vals)
    model.last_result = SolverResult(
        fun=float(sol.f),
        success=True,
        n_it=sol.n_iter,
        x=model.param_vals,
        message=f"EM, two-stage ML start, then FIML Newton iterations converged in {sol.n_iter}",
        name_method="EM+Newton",
        name_obj="FIML",
    )
    q = sol.theta.size
    return FimlFit(model=model, solution=sol, em=em, acov=acov[:q, :q], n=md.n,
                   n_patterns=md.n_patterns)


# --------------------------------------------------------------------------
# convenience wrapper
# --------------------------------------------------------------------------
def _measures(
    chi2: float, df: int, n: int, b_chi2: float, b_df: int, S: np.ndarray, sigma: np.ndarray
) -> dict[str, float | int | None]:
    low, high = rmsea_ci(chi2, df, n, level=0.90)
    out: dict[str, float | int | None] = {
        "chi2": float(chi2),
        "df": int(df),
        "pvalue": float(stats.chi2.sf(chi2, df)) if df > 0 else None,
        "cfi": cfi(chi2, df, b_chi2, b_df),
        "tli": tli(chi2, df, b_chi2, b_df),
        "rmsea": rmsea(chi2, df, n),
        "rmsea_ci_low": low,
        "rmsea_ci_high": high,
        "srmr": srmr(S, sigma),
        "n": int(n),
        "baseline_chi2": float(b_chi2),
        "baseline_df": int(b_df),
    }
    return {k: out[k] for k in FIT_MEASURE_KEYS}


#: Key the stages add to their fit dicts (``cfa_fit.json``, ``fit.json``) to name the estimator.
ESTIMATOR_KEY = "estimator"


def estimator_label(data: pd.DataFrame, columns: Sequence[str], missing: str) -> str:
    """``"FIML"`` when ``missing == "fiml"`` and a value of ``columns`` is missing, else ``"ML"``.

    The estimator that :func:`fit_semopy`, :func:`fit_measures` and
    :func:`xhs_sharing.structural.fit_structural` use for these arguments
    (with complete data FIML *is* ML, and the ML path is taken).
    """
    _check_missing(missing)
    if missing == "fiml" and _incomplete_matrix(data, columns) is not None:
        return "FIML"
    return "ML"


def _lr_statistic(ll_h1: float, ll_h0: float, what: str) -> float:
    """``2 (logL_H1 - logL_H0)``; a tiny negative value (EM tolerance) becomes 0."""
    stat = 2.0 * (ll_h1 - ll_h0)
    if stat < -1e-6 * max(1.0, abs(ll_h1)):
        raise EstimationError(
            f"the {what} fits better than the saturated model (2 dlogL = {stat:.3g}): "
            "the EM estimates have not converged"
        )
    return max(stat, 0.0)


def independence_loglik(md: MissingData) -> float:
    """Log-likelihood of the baseline (independence) model, free means and variances.

    With a diagonal ``Sigma`` the observed-data likelihood factors over the
    variables, so the FIML estimates are each variable's available-case mean
    and variance (divisor = its number of observed values) and
    ``logL = -sum_j n_j/2 (log 2 pi + log v_j + 1)``: lavaan's baseline model
    for ``missing = "ml"``, fitted in closed form.
    """
    cnt = md.observed.sum(axis=0)
    mean = (md.x * md.observed).sum(axis=0) / cnt
    var = (((md.x - mean) * md.observed) ** 2).sum(axis=0) / cnt
    if np.any(var <= 0):
        raise DataError("a variable has no variance among its observed values")
    return float(-0.5 * np.sum(cnt * (math.log(2.0 * math.pi) + np.log(var) + 1.0)))


def fiml_fit_measures(
    x: np.ndarray,
    sigma: np.ndarray,
    n_free: int,
    *,
    mean: np.ndarray | None = None,
    em: EMResult | None = None,
) -> dict[str, float | int | None]:
    """lavaan's fit measures for ``missing = "ml"`` from data with missing values.

    * ``chi2 = 2 (logL_H1 - logL_H0)``, H1 the saturated model estimated by
      EM (:func:`em_moments`), H0 the model at ``(mean, sigma)``; ``mean``
      defaults to the best means for ``sigma`` (:func:`optimal_mean`), which
      at a FIML optimum with free intercepts are the FIML means;
    * ``df = p (p + 1) / 2 - n_free`` (the intercepts are saturated in both
      models and cancel);
    * the baseline model is the independence model with free means and
      variances (:func:`independence_loglik`), ``baseline_df = p (p - 1) / 2``;
    * CFI, TLI, RMSEA and its interval from these with N = every row used
      (lavaan uses N, not N - 1, for RMSEA with ML);
    * SRMR (Bentler) compares the EM covariance with ``sigma``. This is
      lavaan's ``srmr_bentler_nomean``: with ``missing = "ml"`` lavaan's
      default ``srmr`` also averages in the ``p`` standardized mean residuals
      (EM mean minus model mean), over ``p (p + 1) / 2 + p`` elements instead
      of ``p (p + 1) / 2``; the covariance-only version is used here so that
      complete data give exactly the ML value.

    With complete data every value equals :func:`fit_measures`'s ML one
    (EM then returns the sample moments, divisor N).

    Parameters
    ----------
    x : array_like, shape (n, p)
        Data, NaN for missing values, columns in ``sigma``'s order.
    sigma : array_like, shape (p, p)
        Model-implied covariance.
    n_free : int
        Free parameters of the covariance structure (intercepts excluded).
    mean : array_like, optional
        Model means (the FIML intercepts).
    em : EMResult, optional
        Precomputed saturated-model estimates for ``x``.

    Returns
    -------
    dict
        Keys :data:`FIT_MEASURE_KEYS`, the same as :func:`fit_measures`.
        :func:`estimator_label` names the estimator for a report.
    """
    md = MissingData(x)
    sigma = _as_cov("Sigma", sigma)
    if sigma.shape != (md.p, md.p):
        raise DataError(f"Sigma {sigma.shape} does not match the data's {md.p} variables")
    em = em if em is not None else em_moments(md)
    mean = optimal_mean(md, sigma) if mean is None else np.asarray(mean, dtype=float)
    ll0 = mvn_loglik(md, mean, sigma)
    if not math.isfinite(ll0):
        raise EstimationError("the model-implied covariance matrix is not positive definite")
    p = md.p
    df = p * (p + 1) // 2 - int(n_free)
    if df < 0:
        raise SpecError(f"the model has negative degrees of freedom ({df})")
    chi2 = _lr_statistic(em.loglik, ll0, "model")
    b_chi2 = _lr_statistic(em.loglik, independence_loglik(md), "baseline model")
    return _measures(chi2, df, md.n, b_chi2, p * (p - 1) // 2, em.cov, sigma)


def fit_measures(
    model: semopy.Model, data: pd.DataFrame, *, missing: str = "listwise"
) -> dict[str, float | int | None]:
    """lavaan-style global fit measures of a fitted semopy model.

    The sample covariance ``S`` (divisor N) is recomputed from ``data``
    (listwise complete rows on the model's observed variables) and compared
    with the model-implied ``Sigma`` at the model's current parameters, so the
    result does not depend on how the model was fitted; fit it with
    :func:`fit_semopy` to get lavaan's estimates.

    With ``missing="fiml"`` and a missing value in ``data``, the measures are
    lavaan's for ``missing = "ml"`` instead (:func:`fiml_fit_measures`: the
    likelihood-ratio chi-square against the EM saturated model, every row
    used); fit the model with ``fit_semopy(..., missing="fiml")``. With
    complete data both settings give the same (ML) numbers.

    Parameters
    ----------
    model : semopy.Model
        A fitted model without mean structure.
    data : pandas.DataFrame
        The data the model was fitted to.
    missing : {"listwise", "fiml"}, default "listwise"

    Returns
    -------
    dict
        Keys :data:`FIT_MEASURE_KEYS`: ``chi2`` (= N F_ML), ``df`` (int),
        ``pvalue`` (upper tail of the central chi-square; ``None`` when
        ``df == 0``, where lavaan reports NA), ``cfi``, ``tli``, ``rmsea``,
        ``rmsea_ci_low``, ``rmsea_ci_high`` (90 %), ``srmr``, ``n`` (int),
        ``baseline_chi2``, ``baseline_df`` (int). Plain Python numbers;
        :func:`estimator_label` says whether they are ML or FIML measures.

    Raises
    ------
    SpecError
        If ``model`` is not a fitted, mean-free :class:`semopy.Model`, or has
        negative df.
    DataError
        If ``data`` lacks a variable of the model.
    """
    if not isinstance(model, semopy.Model):
        raise SpecError(f"model must be a semopy.Model, got {type(model).__name__}")
    if isinstance(model, semopy.ModelMeans):
        raise SpecError("fit_measures handles models without mean structure only")
    if not hasattr(model, "param_vals") or not hasattr(model, "mx_cov"):
        raise SpecError("the model has not been fitted")
    _check_missing(missing)
    observed = list(model.vars["observed"])
    model.update_matrices(np.asarray(model.param_vals, dtype=float))
    sigma = np.asarray(model.calc_sigma()[0], dtype=float)
    if missing == "fiml":
        x = _incomplete_matrix(data, observed)
        if x is not None:
            return fiml_fit_measures(x, sigma, len(model.param_vals))
    complete = _complete_numeric(data, observed)
    n = int(len(complete))
    S = np.cov(complete.to_numpy(), rowvar=False, bias=True)
    S = np.atleast_2d(S)
    p = len(observed)
    df = p * (p + 1) // 2 - len(model.param_vals)
    if df < 0:
        raise SpecError(f"the model has negative degrees of freedom ({df})")
    try:
        chi2 = n * ml_discrepancy(S, sigma)
    except DataError as exc:
        raise EstimationError(f"cannot evaluate the ML discrepancy: {exc}") from exc
    b_chi2, b_df = baseline_chi2(S, n)
    return _measures(chi2, df, n, b_chi2, b_df, S, sigma)
