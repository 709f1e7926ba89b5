"""Robust maximum likelihood (MLR): sandwich standard errors and scaled tests, as lavaan.

lavaan's ``estimator = "MLR"`` keeps the ML (or FIML) estimates and replaces
what rests on multivariate normality (lavaan 0.6-14, ``lav_options.R``:
``se = "robust.huber.white"``, ``test = "yuan.bentler.mplus"``,
``information = "observed"`` with ``observed.information = "hessian"``):

* **Standard errors** (:func:`sandwich_covariance`): the Huber-White
  sandwich ``acov = A^-1 B A^-1 / N`` with ``A`` the *observed* unit
  information (Hessian of ``-logL / N`` at the estimates) and ``B`` the mean
  outer product of the casewise scores of the model (``h1.information =
  "structured"``: scores at the model-implied moments). Huber (1967);
  White (1982); lavaan ``lav_model_nvcov_robust_sandwich``.
* **Scaled test** (:func:`yuan_bentler_mplus`): ``T_YB = T_ML / c`` with
  ``c = (tr(A1^-1 B1) - tr(A^-1 B)) / df``, the Mplus variant of the
  Yuan-Bentler (2000) correction: ``A1`` and ``B1`` are the observed and the
  first-order unit information of the saturated (h1) model at its own
  estimates (``h1.information = "unstructured"``), ``A`` and ``B`` as above
  (lavaan ``lav_test_yuan_bentler_mplus_trace``). The baseline
  (independence) model gets its own ``c`` the same way.
* **Robust fit indices** (:func:`robust_indices`): CFI and TLI of
  Brosseau-Liard & Savalei (2014, eq. 15) and RMSEA with its 90% interval
  of Brosseau-Liard, Savalei & Li (2012) / Savalei (2018), with
  ``T_ML - c df`` as the noncentrality; with missing data (FIML) the
  "FIML-corrected" version V3 of Zhang & Savalei (2022): the model and the
  baseline evaluated at the EM saturated moments as if they were complete
  data, with the scaling ``k = tr(U Wm^-1 Wc Wm^-1 U Gamma)`` (lavaan
  ``lav_fit_fiml_corrected``).

Conventions (as lavaan): complete data have no mean structure (the means are
the sample means and not parameters); FIML estimates a free intercept per
observed variable, and its parameters are ``(theta, means)``. The saturated
moments are ordered ``(mu, vech(Sigma))`` with ``vech`` the lower triangle
column by column; a score with respect to a covariance counts both of its
symmetric cells. Every information matrix here is a *unit* information
(divided by ``N``).

:func:`mlr_from_fit` applies all of it to a :class:`~xhs_sharing.sem.estimation.ModelFit`.
MLR changes no point estimate, so bootstrap intervals of ML fits are MLR's
too. Validated against lavaan 0.6.14 in ``tests/test_mlr.py``.

References: Huber (1967), Proc. Fifth Berkeley Symp. 1:221-233; White
(1982), Econometrica 50:1-25; Yuan & Bentler (2000), Sociol. Methodol.
30:165-200; Brosseau-Liard, Savalei & Li (2012), Multivar. Behav. Res.
47:904-930; Brosseau-Liard & Savalei (2014), Multivar. Behav. Res.
49:460-470; Savalei (2018), Multivar. Behav. Res. 53:419-429; Zhang &
Savalei (2022), Psychol. Methods (FIML-corrected RMSEA and CFI).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from xhs_sharing.errors import EstimationError
from xhs_sharing.sem.fit import baseline_chi2, cfi, rmsea, rmsea_ci, tli
from xhs_sharing.sem.objectives import ml_discrepancy

__all__ = [
    "MLRResult",
    "Patterns",
    "YuanBentler",
    "cfi",
    "complete_h1_information",
    "complex_step_derivatives",
    "duplication_matrix",
    "fiml_corrected",
    "h1_observed_information",
    "independence_derivatives",
    "loglik_gradient",
    "mlr_from_fit",
    "model_jacobian",
    "model_scores",
    "observed_information",
    "rmsea",
    "rmsea_ci",
    "robust_indices",
    "sandwich_covariance",
    "saturated_scores",
    "tli",
    "vech_indices",
    "yuan_bentler_mplus",
]

#: ``theta -> (Sigma, dSigma/dtheta)``, ``dSigma`` of shape ``(q, p, p)``.
SigmaDerivatives = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# -- data layout -------------------------------------------------------------


def vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of ``vech``: the lower triangle, column by column (lavaan ``lav_matrix_vech``)."""
    cols, rows = np.triu_indices(p)
    return rows, cols


def duplication_matrix(p: int) -> np.ndarray:
    """``D`` with ``vec(S) = D vech(S)`` for symmetric ``S`` (column-major ``vec``; Magnus & Neudecker 1999)."""
    rows, cols = vech_indices(p)
    d = np.zeros((p * p, rows.size))
    u = np.arange(rows.size)
    d[rows + cols * p, u] = 1.0
    d[cols + rows * p, u] = 1.0
    return d


@dataclass(frozen=True)
class Patterns:
    """The rows of a data matrix grouped by their missing-data pattern.

    Attributes
    ----------
    x : np.ndarray, shape (n, p)
        The data, 0 where missing.
    pattern : np.ndarray of int, shape (n,)
        Each row's pattern.
    observed : np.ndarray of bool, shape (P, p)
        Per pattern, which variables are observed.
    counts : np.ndarray, shape (P,)
        Rows per pattern.
    means, covs : np.ndarray, shapes (P, p) and (P, p, p)
        Per pattern, the mean and the covariance (divisor: its row count)
        of its rows, 0 at the missing variables.
    """

    x: np.ndarray
    pattern: np.ndarray
    observed: np.ndarray
    counts: np.ndarray
    means: np.ndarray
    covs: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> Patterns:
        """Group ``x`` (NaN = missing; every row with an observed value)."""
        x = np.asarray(x, dtype=float)
        mask = ~np.isnan(x)
        if not mask.any(axis=1).all():
            raise EstimationError("a row has no observed value")
        uniq, inverse = np.unique(mask, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        filled = np.where(mask, x, 0.0)
        counts = np.bincount(inverse).astype(float)
        means = np.zeros(uniq.shape)
        np.add.at(means, inverse, filled)
        means /= counts[:, None]
        dev = filled - means[inverse]
        covs = np.zeros(uniq.shape + (uniq.shape[1],))
        np.add.at(covs, inverse, dev[:, :, None] * dev[:, None, :])
        covs /= counts[:, None, None]
        return cls(filled, inverse, uniq, counts, means, covs)

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.x.shape[0]

    @property
    def complete(self) -> bool:
        """True when no value is missing."""
        return bool(self.observed.all())

    def inverse_blocks(self, sigma: np.ndarray) -> np.ndarray:
        """``K`` per pattern, shape ``(P, p, p)``: the inverse observed block of ``sigma``, embedded with zeros.

        ``K = Omega - Omega_.J (Omega_JJ)^-1 Omega_J.`` with ``Omega =
        Sigma^-1`` and ``J`` the missing variables (the inverse of a
        partitioned matrix), batched over the patterns with the same number
        of missing variables.
        """
        omega = np.linalg.inv(sigma)
        omega = 0.5 * (omega + omega.T)
        out = np.broadcast_to(omega, (self.observed.shape[0],) + omega.shape).copy()
        n_miss = (~self.observed).sum(axis=1)
        for m in np.unique(n_miss[n_miss > 0]):
            pats = np.flatnonzero(n_miss == m)
            cols = np.nonzero(~self.observed[pats])[1].reshape(pats.size, int(m))
            block = omega[cols[:, :, None], cols[:, None, :]]
            side = omega[cols]  # (k, m, p)
            out[pats] -= np.swapaxes(side, 1, 2) @ np.linalg.solve(block, side)
        keep = self.observed[:, :, None] & self.observed[:, None, :]
        out = np.where(keep, out, 0.0)
        return 0.5 * (out + np.swapaxes(out, 1, 2))

    def pattern_moments(self, mean: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(K, d, W)`` per pattern: inverse blocks, ``xbar_P - mu`` and ``C_P + d d'`` (0 where missing)."""
        k = self.inverse_blocks(sigma)
        d = (self.means - mean) * self.observed
        w = self.covs + d[:, :, None] * d[:, None, :]
        return k, d, w


# -- casewise scores and information of the saturated (h1) model --------------


def loglik_gradient(pat: Patterns, mean: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(G, g)`` with ``dlogL / N = tr(G dSigma) + g' dmu``: the mean casewise score in matrix form.

    ``G = sum_P n_P (K W K - K) / 2N`` and ``g = sum_P n_P K (xbar_P - mu) / N``
    over the missing-data patterns ``P`` (``W = C_P + (xbar_P - mu)(xbar_P - mu)'``,
    ``C_P`` their covariance; all embedded with zeros), the sum of
    :func:`saturated_scores` without a pass over the rows.
    """
    k, d, w = pat.pattern_moments(mean, sigma)
    big_g = np.einsum("p,pij->ij", pat.counts, k @ w @ k - k)
    g = np.einsum("p,pij,pj->i", pat.counts, k, d)
    return 0.5 * big_g / pat.n, g / pat.n


def saturated_scores(pat: Patterns, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Casewise scores of the normal log-likelihood with respect to ``(mu, vech(Sigma))``.

    For row ``i`` with observed part ``o`` and ``K_i = (Sigma_oo)^-1``
    (embedded with zeros), ``z_i = K_i (x_i - mu)``::

        d l_i / d mu       = z_i
        d l_i / d Sigma_jk = (z_i z_i' - K_i)_jk     (j != k; both cells)
        d l_i / d Sigma_jj = (z_i z_i' - K_i)_jj / 2

    (e.g. Yuan & Bentler 2000, Sociol. Methodol. 30:165-200; lavaan
    ``lav_mvnorm_missing_scores_mu_vech_sigma``). Shape ``(n, p + p(p+1)/2)``.
    """
    r, c = vech_indices(sigma.shape[0])
    k = pat.inverse_blocks(sigma)
    resid = (pat.x - mean) * pat.observed[pat.pattern]
    z = np.einsum("ij,ijk->ik", resid, k[pat.pattern])
    sc = z[:, r] * z[:, c] - k[:, r, c][pat.pattern]
    sc[:, r == c] *= 0.5
    return np.hstack([z, sc])


def _weighted_kron(weights: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_P w_P (A_P (x) B_P)`` for stacks ``A`` (P, m, n) and ``B`` (P, k, l), as one matrix product."""
    _, m, n = a.shape
    _, k, l_ = b.shape
    t = (weights[:, None] * a.reshape(a.shape[0], -1)).T @ b.reshape(b.shape[0], -1)
    return t.reshape(m, n, k, l_).transpose(0, 2, 1, 3).reshape(m * k, n * l_)


def h1_observed_information(pat: Patterns, mean: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Observed unit information of the saturated model over ``(mu, vech(Sigma))``.

    ``-1/N`` times the Hessian of the log-likelihood; per missing-data
    pattern ``P`` (``n_P`` rows, ``K`` its embedded inverse block, ``W`` the
    mean of ``(x - mu)(x - mu)'`` over its rows, ``zbar = K (xbar_P - mu)``)::

        I_mu,mu       = sum_P n_P K / N
        I_vech,mu     = D' sum_P n_P (zbar (x) K) / N
        I_vech,vech   = D' sum_P n_P (M (x) K) D / 2N,   M = 2 K W K - K

    (Savalei & Bentler 2009; lavaan
    ``lav_mvnorm_missing_logl_hessian_samplestats``). With complete data at
    the sample moments it is ``diag(S^-1, D'(S^-1 (x) S^-1) D / 2)``.
    """
    p = sigma.shape[0]
    k, d, w = pat.pattern_moments(mean, sigma)
    zbar = np.einsum("pij,pj->pi", k, d)
    m = 2.0 * k @ w @ k - k
    i11 = np.einsum("p,pij->ij", pat.counts, k)
    i21 = _weighted_kron(pat.counts, zbar[:, :, None], k)
    i22 = 0.5 * _weighted_kron(pat.counts, m, k)
    dup = duplication_matrix(p)
    top = np.hstack([i11, (dup.T @ i21).T])
    bottom = np.hstack([dup.T @ i21, dup.T @ i22 @ dup])
    info = np.vstack([top, bottom]) / pat.n
    return 0.5 * (info + info.T)


def complete_h1_information(sigma: np.ndarray) -> np.ndarray:
    """Unit information of the saturated model with complete data, ``diag(S^-1, D'(S^-1 (x) S^-1) D / 2)``.

    Expected information at ``Sigma = S``, equal to the observed one at the
    sample moments (lavaan ``lav_mvnorm_h1_information_observed_samplestats``).
    """
    inv = np.linalg.inv(sigma)
    d = duplication_matrix(sigma.shape[0])
    p = inv.shape[0]
    out = np.zeros((p + d.shape[1],) * 2)
    out[:p, :p] = inv
    out[p:, p:] = 0.5 * d.T @ np.kron(inv, inv) @ d
    return out


# -- the structured model -----------------------------------------------------


def model_jacobian(dsigma: np.ndarray, meanstructure: bool) -> np.ndarray:
    """``Delta = d(mu, vech Sigma) / d(theta, nu)`` (rows ``(mu, vech)``, columns ``(theta, nu)``).

    Without mean structure only the ``vech`` rows and ``theta`` columns.
    With it the free intercepts ``nu`` are the means: an identity block.
    """
    q, p, _ = dsigma.shape
    r, c = vech_indices(p)
    dv = dsigma[:, r, c].T
    if not meanstructure:
        return dv
    out = np.zeros((p + r.size, q + p))
    out[:p, q:] = np.eye(p)
    out[p:, :q] = dv
    return out


def model_scores(
    pat: Patterns, mean: np.ndarray, sigma: np.ndarray, dsigma: np.ndarray, meanstructure: bool
) -> np.ndarray:
    """Casewise scores of the model, ``saturated_scores @ Delta`` (shape ``(n, q [+ p])``).

    ``d l_i / d theta_k = tr((z_i z_i' - K_i) dSigma_k) / 2`` and, with a
    mean structure, ``d l_i / d nu = z_i`` (chain rule through
    :func:`model_jacobian`).
    """
    sc = saturated_scores(pat, mean, sigma)
    jac = model_jacobian(dsigma, meanstructure)
    if not meanstructure:
        sc = sc[:, sigma.shape[0]:]
    return sc @ jac


def _mean_gradient(
    sigma_derivatives: SigmaDerivatives, pat: Patterns, params: np.ndarray, q: int,
    fixed_mean: np.ndarray | None,
) -> np.ndarray:
    """Gradient of ``-logL / N`` over ``theta`` (and ``nu`` unless ``fixed_mean`` is given)."""
    sigma, dsigma = sigma_derivatives(params[:q])
    mean = fixed_mean if fixed_mean is not None else params[q:]
    big_g, g = loglik_gradient(pat, mean, sigma)
    g_theta = -np.einsum("kij,ij->k", dsigma, big_g)
    return g_theta if fixed_mean is not None else np.concatenate([g_theta, -g])


def observed_information(
    sigma_derivatives: SigmaDerivatives, pat: Patterns, theta: np.ndarray,
    mean: np.ndarray, meanstructure: bool,
) -> np.ndarray:
    """Observed unit information: the Hessian of ``-logL / N`` at the estimates.

    By central differences ``(g(x+h) - g(x-h)) / 2h`` of the analytic
    gradient (:func:`loglik_gradient`), ``h = 1e-5 (1 + |x_j|)``, as lavaan's
    ``lav_model_hessian`` differentiates its analytic gradient (there with
    Richardson extrapolation; the two agree to about 1e-9 relative).
    Parameters ``theta``, and the intercepts ``mean`` when ``meanstructure``
    (FIML); without it the means stay at ``mean`` (the sample means).
    """
    q = theta.size
    x0 = np.concatenate([theta, mean]) if meanstructure else np.asarray(theta, float)
    fixed = None if meanstructure else np.asarray(mean, float)
    hess = np.empty((x0.size, x0.size))
    for j in range(x0.size):
        h = 1e-5 * (1.0 + abs(x0[j]))
        e = np.zeros(x0.size)
        e[j] = h
        g_plus = _mean_gradient(sigma_derivatives, pat, x0 + e, q, fixed)
        g_minus = _mean_gradient(sigma_derivatives, pat, x0 - e, q, fixed)
        hess[:, j] = (g_plus - g_minus) / (2 * h)
    return 0.5 * (hess + hess.T)


def sandwich_covariance(info: np.ndarray, meat: np.ndarray, n_obs: int) -> np.ndarray:
    """Huber-White sandwich ``acov = A^-1 B A^-1 / N``.

    ``A`` the (observed) unit information, ``B`` the mean outer product of
    the casewise scores (Huber 1967; White 1982, Econometrica 50:1-25;
    lavaan ``lav_model_nvcov_robust_sandwich``). With ``B = A`` it is the
    ML covariance ``A^-1 / N``.
    """
    a_inv = np.linalg.inv(info)
    out = a_inv @ meat @ a_inv / n_obs
    return 0.5 * (out + out.T)


@dataclass(frozen=True)
class YuanBentler:
    """The Yuan-Bentler (Mplus variant) scaling of a likelihood-ratio statistic.

    Attributes
    ----------
    chisq, df : float, int
        The ML (or FIML) statistic and its degrees of freedom.
    trace_h1, trace_h0 : float
        ``tr(A1^-1 B1)`` of the saturated model and ``tr(A^-1 B)`` of the model.
    """

    chisq: float
    df: int
    trace_h1: float
    trace_h0: float

    @property
    def trace_ugamma(self) -> float:
        """``tr(U Gamma) = trace_h1 - trace_h0``."""
        return self.trace_h1 - self.trace_h0

    @property
    def scaling_factor(self) -> float:
        """``c = tr(U Gamma) / df`` (NaN when ``df = 0`` or ``c < 0``, as lavaan)."""
        if self.df <= 0:
            return math.nan
        c = self.trace_ugamma / self.df
        return c if c >= 0 else math.nan

    @property
    def chisq_scaled(self) -> float:
        """``T / c``."""
        return self.chisq / self.scaling_factor

    @property
    def pvalue_scaled(self) -> float:
        """Upper tail of ``chi2(df)`` at the scaled statistic."""
        return float(stats.chi2.sf(self.chisq_scaled, self.df))


def yuan_bentler_mplus(
    chisq: float, df: int, h1_info: np.ndarray, h1_meat: np.ndarray, info: np.ndarray, meat: np.ndarray
) -> YuanBentler:
    """Yuan-Bentler scaled test, Mplus variant (lavaan ``test = "yuan.bentler.mplus"``).

    ``c = (tr(A1^-1 B1) - tr(A^-1 B)) / df``: ``A1``, ``B1`` the observed and
    first-order unit information of the saturated model at its estimates,
    ``A``, ``B`` those of the model at its estimates (approximating
    ``tr(U Gamma)`` through ``A ~ Delta' A1 Delta``; Yuan & Bentler 2000;
    Muthen & Muthen, Mplus technical appendices; lavaan
    ``lav_test_yuan_bentler_mplus_trace``).
    """
    t1 = float(np.sum(h1_meat * np.linalg.inv(h1_info).T))
    t0 = float(np.sum(meat * np.linalg.inv(info).T))
    return YuanBentler(float(chisq), int(df), t1, t0)


def complex_step_derivatives(implied: Callable[[np.ndarray], np.ndarray]) -> SigmaDerivatives:
    """``theta -> (Sigma, dSigma)`` from a batched, complex-capable ``theta -> Sigma``.

    ``dSigma_k = Im Sigma(theta + i h e_k) / h`` with ``h = 1e-20``: the
    complex-step derivative, exact to rounding (Squire & Trapp 1998, SIAM
    Rev. 40:110-112), all ``q`` directions in one batched call (e.g.
    :meth:`~xhs_sharing.sem.model.ModelStructure.implied_covariance`).
    """

    def derivatives(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        q = theta.size
        out = implied(theta[None, :] + 1j * 1e-20 * np.eye(q))
        return np.real(implied(theta)), np.imag(out) / 1e-20

    return derivatives


def independence_derivatives(p: int) -> SigmaDerivatives:
    """``theta -> (diag(theta), dSigma)``: the independence (baseline) model of ``p`` variables."""
    dsigma = np.zeros((p, p, p))
    dsigma[np.arange(p), np.arange(p), np.arange(p)] = 1.0

    def derivatives(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.diag(np.asarray(theta, dtype=float)), dsigma

    return derivatives


# -- fit indices ----------------------------------------------------------------
# cfi, tli, rmsea and rmsea_ci are xhs_sharing.sem.fit's (one definition each):
# their scaling-factor arguments give lavaan's robust versions.


def robust_indices(
    x2: float, df: int, x2_null: float, df_null: int, c: float, c_null: float, n: int
) -> dict[str, float]:
    """``cfi.robust``, ``tli.robust``, ``rmsea.robust`` and its 90% interval (lavaan names).

    ``x2``/``x2_null`` are the unscaled statistics (under FIML the corrected
    ``XX3`` of :func:`fiml_corrected`), ``c``/``c_null`` their scaling
    factors; the interval takes ``x2 / c`` and ``c`` (Savalei 2018).
    """
    lo, hi = rmsea_ci(x2 / c, df, n, c=c)
    return {
        "cfi.robust": cfi(x2, df, x2_null, df_null, c, c_null),
        "tli.robust": tli(x2, df, x2_null, df_null, c, c_null),
        "rmsea.robust": rmsea(x2, df, n, c=c),
        "rmsea.ci.lower.robust": lo,
        "rmsea.ci.upper.robust": hi,
    }


# -- FIML-corrected ingredients (Zhang & Savalei 2022) --------------------------


def _ml_discrepancy(mean: np.ndarray, sigma: np.ndarray, m: np.ndarray, s: np.ndarray) -> float:
    """``F_ML(Sigma, S) + (m - mu)' Sigma^-1 (m - mu)``, ``F_ML`` of :func:`~xhs_sharing.sem.objectives.ml_discrepancy`."""
    d = m - mean
    return float(ml_discrepancy(sigma, s)) + float(d @ np.linalg.solve(sigma, d))


def fiml_corrected(
    n: int, em_mean: np.ndarray, em_cov: np.ndarray, wm: np.ndarray, jm: np.ndarray,
    mean: np.ndarray, sigma: np.ndarray, jac: np.ndarray, df: int,
) -> tuple[float, float]:
    """``(XX3, c3)`` of the FIML-corrected RMSEA/CFI, version V3 (Zhang & Savalei 2022).

    ``XX3 = N F_ML(mu, Sigma; m~, S~)``: the FIML estimates of the model
    (``mean``, ``sigma``) evaluated on the EM saturated moments as complete
    data. ``c3 = k / df`` with ``k = tr(U Wm^-1 Wc Wm^-1 U Gamma)``,
    ``U = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm``, ``Gamma = Wm^-1 Jm
    Wm^-1``: ``Wm``, ``Jm`` the observed and first-order unit information
    of the saturated model under missing data, ``Wc`` its complete-data
    information at the EM moments, ``Delta`` the model Jacobian
    (lavaan ``lav_fit_fiml_corrected``).
    """
    xx3 = n * _ml_discrepancy(mean, sigma, em_mean, em_cov)
    wc = complete_h1_information(em_cov)
    wm_inv = np.linalg.inv(wm)
    gamma = wm_inv @ jm @ wm_inv
    e = jac.T @ wm @ jac
    u = wm - wm @ jac @ np.linalg.solve(e, jac.T @ wm)
    k = float(np.trace(u @ wm_inv @ wc @ wm_inv @ u @ gamma))
    return xx3, k / df


# -- the whole MLR analysis of one fit --------------------------------------------


@dataclass(frozen=True)
class _Side:
    """One model (the fitted one or the baseline) at its estimates: information, meat, test."""

    info: np.ndarray
    meat: np.ndarray
    test: YuanBentler
    mean: np.ndarray
    sigma: np.ndarray
    jac: np.ndarray


@dataclass(frozen=True, eq=False)
class MLRResult:
    """MLR (robust ML) results of one fit (:func:`mlr_from_fit`).

    Attributes
    ----------
    params : np.ndarray
        ``theta`` (and, under FIML, the intercepts of ``observed`` after it).
    acov : np.ndarray
        Huber-White sandwich covariance of ``params``.
    info, meat : np.ndarray
        The observed unit information ``A`` and the first-order unit
        information ``B`` of the sandwich.
    test, baseline : YuanBentler
        The scaled test of the model and of the independence model.
    measures : dict of str to float
        lavaan's ``fitMeasures`` names (``chisq.scaled``,
        ``chisq.scaling.factor``, ``cfi.robust``, ``rmsea.ci.upper.robust``, ...).
    n_obs : int
    meanstructure : bool
        True under FIML (the intercepts are parameters).
    """

    params: np.ndarray
    acov: np.ndarray
    info: np.ndarray
    meat: np.ndarray
    test: YuanBentler
    baseline: YuanBentler
    measures: dict[str, float] = field(default_factory=dict)
    n_obs: int = 0
    meanstructure: bool = False

    @property
    def se(self) -> np.ndarray:
        """Robust standard errors of ``params``."""
        return np.sqrt(np.clip(np.diag(self.acov), 0.0, None))


def _side(
    sigma_derivatives: SigmaDerivatives, pat: Patterns, theta: np.ndarray, mean: np.ndarray,
    chisq: float, df: int, h1: tuple[np.ndarray, np.ndarray], meanstructure: bool,
) -> _Side:
    """Observed information, score outer product and Yuan-Bentler test of one model."""
    sigma, dsigma = sigma_derivatives(theta)
    info = observed_information(sigma_derivatives, pat, theta, mean, meanstructure)
    scores = model_scores(pat, mean, sigma, dsigma, meanstructure)
    meat = scores.T @ scores / pat.n
    test = yuan_bentler_mplus(chisq, df, h1[0], h1[1], info, meat)
    return _Side(info, meat, test, mean, sigma, model_jacobian(dsigma, meanstructure))


def _h1(pat: Patterns, mean: np.ndarray, cov: np.ndarray, meanstructure: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(A1, B1)``: observed and first-order unit information of the saturated model at its estimates."""
    a1 = h1_observed_information(pat, mean, cov)
    sc = saturated_scores(pat, mean, cov)
    if not meanstructure:
        p = cov.shape[0]
        a1, sc = a1[p:, p:], sc[:, p:]
    return a1, sc.T @ sc / pat.n


def _available_case(pat: Patterns) -> tuple[np.ndarray, np.ndarray, float]:
    """ML estimates of the independence model with missing values, and its log-likelihood.

    The likelihood factorises over variables: each mean and variance is that
    of the variable's observed values (divisor: their count).
    """
    obs = pat.observed[pat.pattern]
    cnt = obs.sum(axis=0)
    mean = (pat.x * obs).sum(axis=0) / cnt
    var = (((pat.x - mean) * obs) ** 2).sum(axis=0) / cnt
    loglik = float(-0.5 * np.sum(cnt * (np.log(2 * math.pi * var) + 1.0)))
    return mean, var, loglik


def _measures(model: _Side, base: _Side, n: int, robust: dict[str, float], npar: int) -> dict[str, float]:
    """lavaan's ``fitMeasures`` of an MLR fit from its two tests and the robust indices."""
    t, b = model.test, base.test
    ci = rmsea_ci(t.chisq, t.df, n)
    ci_scaled = rmsea_ci(t.chisq, t.trace_ugamma, n)
    ndat = model.jac.shape[0]
    return {
        "chisq": t.chisq, "df": float(t.df), "pvalue": float(stats.chi2.sf(t.chisq, t.df)),
        "chisq.scaled": t.chisq_scaled, "pvalue.scaled": t.pvalue_scaled,
        "chisq.scaling.factor": t.scaling_factor,
        "baseline.chisq": b.chisq, "baseline.df": float(b.df),
        "baseline.chisq.scaled": b.chisq_scaled, "baseline.chisq.scaling.factor": b.scaling_factor,
        "cfi": cfi(t.chisq, t.df, b.chisq, b.df), "tli": tli(t.chisq, t.df, b.chisq, b.df),
        "cfi.scaled": cfi(t.chisq_scaled, t.df, b.chisq_scaled, b.df),
        "tli.scaled": tli(t.chisq_scaled, t.df, b.chisq_scaled, b.df),
        "rmsea": rmsea(t.chisq, t.df, n), "rmsea.ci.lower": ci[0], "rmsea.ci.upper": ci[1],
        "rmsea.scaled": rmsea(t.chisq, t.trace_ugamma, n),
        "rmsea.ci.lower.scaled": ci_scaled[0], "rmsea.ci.upper.scaled": ci_scaled[1],
        **robust,
        "trace.UGamma": t.trace_ugamma, "scaling.factor.h1": t.trace_h1 / ndat,
        "scaling.factor.h0": t.trace_h0 / npar,
    }


def _complete(sigma_derivatives: SigmaDerivatives, theta: np.ndarray, pat: Patterns, chisq: float) -> MLRResult:
    """MLR on complete data (no mean structure, as lavaan)."""
    n, p = pat.x.shape
    mean = pat.x.mean(axis=0)
    cov = (pat.x - mean).T @ (pat.x - mean) / n
    df = p * (p + 1) // 2 - theta.size
    h1 = _h1(pat, mean, cov, False)
    model = _side(sigma_derivatives, pat, theta, mean, chisq, df, h1, False)
    chisq_b = baseline_chi2(cov, n)[0]
    base = _side(independence_derivatives(p), pat, np.diag(cov).copy(), mean, chisq_b,
                 p * (p - 1) // 2, h1, False)
    robust = robust_indices(chisq, df, chisq_b, base.test.df, model.test.scaling_factor,
                            base.test.scaling_factor, n)
    return MLRResult(theta.copy(), sandwich_covariance(model.info, model.meat, n), model.info, model.meat,
                     model.test, base.test, _measures(model, base, n, robust, theta.size), n, False)


def _fiml(sigma_derivatives: SigmaDerivatives, theta: np.ndarray, means: np.ndarray, em: Any, pat: Patterns, chisq: float) -> MLRResult:
    """MLR with missing values (FIML, free intercepts), as lavaan's ``missing = "ml"``."""
    n, p = pat.x.shape
    df = p * (p + 1) // 2 - theta.size
    h1 = _h1(pat, em.mean, em.cov, True)
    model = _side(sigma_derivatives, pat, theta, means, chisq, df, h1, True)
    mean_b, var_b, loglik_b = _available_case(pat)
    base = _side(independence_derivatives(p), pat, var_b, mean_b, 2.0 * (em.loglik - loglik_b),
                 p * (p - 1) // 2, h1, True)
    xx3, c3 = fiml_corrected(n, em.mean, em.cov, h1[0], h1[1], model.mean, model.sigma, model.jac, df)
    xx3_b, c3_b = fiml_corrected(n, em.mean, em.cov, h1[0], h1[1], base.mean, base.sigma, base.jac, base.test.df)
    robust = robust_indices(xx3, df, xx3_b, base.test.df, c3, c3_b, n)
    params = np.concatenate([theta, means])
    return MLRResult(params, sandwich_covariance(model.info, model.meat, n), model.info, model.meat,
                     model.test, base.test, _measures(model, base, n, robust, params.size), n, True)


def mlr_from_fit(fit: Any, x: np.ndarray) -> MLRResult:
    """Robust ML (lavaan's ``estimator = "MLR"``) for an ML or FIML fit.

    Parameters
    ----------
    fit : xhs_sharing.sem.estimation.ModelFit
        As :func:`~xhs_sharing.sem.estimation.fit_model` returns it; the
        point estimates are MLR's (MLR changes no estimate).
    x : np.ndarray, shape (n, p)
        The data the fit used, columns in ``fit.structure.observed`` order;
        NaN marks a missing answer (then ``fit`` must be a FIML fit).

    Returns
    -------
    MLRResult
        Sandwich covariance of the parameters, the Yuan-Bentler (Mplus)
        scaled tests of the model and of the baseline, and lavaan's robust
        fit measures (see the module docstring).
    """
    x = np.asarray(x, dtype=float)
    pat = Patterns.of(x)
    chisq = float(fit.n_obs * fit.fmin)
    derivatives = complex_step_derivatives(fit.structure.implied_covariance)
    if fit.solution is None:
        if not pat.complete:
            raise EstimationError("the data have missing values but the fit is not a FIML fit")
        return _complete(derivatives, np.asarray(fit.theta, float), pat, chisq)
    return _fiml(derivatives, np.asarray(fit.theta, float), np.asarray(fit.solution.mean, float),
                 fit.em, pat, chisq)
