"""Fit measures lavaan reports and the package's core fit dict leaves out, and the estimation summary.

Definitions from lavaan 0.6.14 (``lav_fit_aic.R``, ``lav_fit_rmsea.R``,
``lav_residuals.R``; Rosseel 2012), one group, ML with the normal likelihood:

* ``logl`` (H0), the log-likelihood of the model; without a mean
  structure the means are the sample means (:func:`ml_loglik`); under FIML
  (``missing = "ml"``) the observed-data log-likelihood;
* ``unrestricted_logl`` (H1), the saturated model's (:func:`saturated_loglik`;
  the EM estimate under FIML);
* ``aic = -2 logl + 2 npar``, ``bic = -2 logl + npar log N``, ``bic2`` the
  sample-size adjusted BIC (Sclove 1987) with ``N* = (N + 2) / 24``
  (:func:`information_criteria`); ``npar`` counts the free parameters, the
  intercepts included under FIML (lavaan's ``npar``);
* ``rmsea_pvalue``, the test of close fit ``P(chi2_df(lambda) >= chi2)``
  with ``lambda = N df .05^2`` (Browne & Cudeck 1993; lavaan's
  ``rmsea.pvalue``, :func:`rmsea_pvalue`);
* residual correlations, lavaan's ``residuals(fit, type = "cor")``: the
  observed minus the model-implied correlation matrix
  (:func:`residual_correlations`).

:func:`estimation_summary` describes the estimation: free parameters,
degrees of freedom, the t-rule, how each latent variable is scaled,
the iterations and the largest gradient element at the solution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.errors import DataError
from xhs_sharing.sem.frames import as_covariance
from xhs_sharing.sem.model import LAMBDA, PSI, ModelStructure
from xhs_sharing.sem.modindices import MI_COLUMNS, modification_indices

__all__ = [
    "FIML_MI_REASON",
    "FitExtras",
    "LIKELIHOOD_KEYS",
    "WLSMV_DIAGNOSTICS_REASON",
    "fit_extras",
    "NO_LIKELIHOOD_REASON",
    "estimation_summary",
    "information_criteria",
    "likelihood_measures",
    "max_abs_gradient",
    "ml_loglik",
    "residual_correlations",
    "rmsea_pvalue",
    "saturated_loglik",
]

#: Keys :func:`likelihood_measures` adds to a fit document (lavaan: logl, unrestricted.logl, npar, aic, bic, bic2).
LIKELIHOOD_KEYS: Final = ("logl", "unrestricted_logl", "npar", "aic", "bic", "bic2")

NO_LIKELIHOOD_REASON: Final = ("WLSMV is a least-squares estimator of polychoric correlations: there is no "
                               "likelihood, so no log-likelihood, AIC or BIC (lavaan reports none either)")
"""Why a WLSMV fit document has ``logl``, ``aic``, ``bic`` set to null."""

WLSMV_DIAGNOSTICS_REASON: Final = ("not computed under WLSMV: the residual correlations and modification "
                                   "indices here are the normal-theory ML ones; rerun with estimator ML or MLR")
"""Why a WLSMV run writes empty residual-correlation and modification-index tables."""

FIML_MI_REASON: Final = ("not computed under FIML (missing answers kept): lavaan's modification indices then need "
                         "the expected information of the incomplete-data likelihood, which this package does not "
                         "compute; rerun with data.missing listwise")
"""Why a FIML run writes an empty modification-index table."""

RESID_COLUMNS: Final = ("lhs", "rhs", "residual")
"""Columns of :func:`residual_correlations`."""

_LOG_2PI: Final = math.log(2.0 * math.pi)


def _logdet(name: str, m: np.ndarray) -> float:
    sign, logdet = np.linalg.slogdet(m)
    if sign <= 0:
        raise DataError(f"{name} is not positive definite: no log-likelihood")
    return float(logdet)


def ml_loglik(S: np.ndarray, sigma: np.ndarray, n: int) -> float:
    """Normal log-likelihood of the model (H0) at the sample means.

    .. math:: \\ell_0 = -\\frac{N}{2}\\left(p \\log 2\\pi + \\log|\\Sigma| + \\mathrm{tr}(S \\Sigma^{-1})\\right)

    with ``S`` of divisor N (lavaan's ``logl`` without a mean structure).
    """
    S, sigma = as_covariance("S", S), as_covariance("Sigma", sigma)
    p = S.shape[0]
    trace = float(np.trace(np.linalg.solve(sigma, S)))
    return -0.5 * n * (p * _LOG_2PI + _logdet("Sigma", sigma) + trace)


def saturated_loglik(S: np.ndarray, n: int) -> float:
    """Log-likelihood of the saturated model (H1): ``-N/2 (p log 2 pi + log|S| + p)`` (lavaan's ``unrestricted.logl``)."""
    S = as_covariance("S", S)
    p = S.shape[0]
    return -0.5 * n * (p * _LOG_2PI + _logdet("S", S) + p)


def information_criteria(logl: float, npar: int, n: int) -> dict[str, float]:
    """AIC (Akaike 1974), BIC (Schwarz 1978) and the sample-size adjusted BIC (Sclove 1987), lavaan's way.

    ``aic = -2 logl + 2 npar``; ``bic = -2 logl + npar log N``;
    ``bic2 = -2 logl + npar log((N + 2) / 24)``.

    >>> information_criteria(-100.0, 5, 22)
    {'aic': 210.0, 'bic': 215.45521567028643, 'bic2': 200.0}
    """
    if n <= 0 or npar < 0:
        raise DataError(f"information criteria need N > 0 and npar >= 0, got N = {n}, npar = {npar}")
    return {"aic": -2.0 * logl + 2.0 * npar, "bic": -2.0 * logl + npar * math.log(n),
            "bic2": -2.0 * logl + npar * math.log((n + 2.0) / 24.0)}


def likelihood_measures(logl: float, unrestricted_logl: float, npar: int, n: int) -> dict[str, float | int]:
    """The dict of :data:`LIKELIHOOD_KEYS` from the two log-likelihoods, ``npar`` and N."""
    return {"logl": float(logl), "unrestricted_logl": float(unrestricted_logl), "npar": int(npar),
            **information_criteria(logl, npar, n)}


def rmsea_pvalue(chi2: float, df: float, n: float, h0: float = 0.05) -> float | None:
    """p-value of the test of close fit, H0: RMSEA <= ``h0`` (lavaan's ``rmsea.pvalue``).

    ``1 - F(chi2; df, lambda)`` with ``lambda = N df h0^2`` the noncentrality
    of a population RMSEA of ``h0`` (Browne & Cudeck 1993; N, not N - 1, as
    lavaan for ML). None when ``df == 0`` (lavaan: NA).
    """
    if df <= 0:
        return None
    return float(stats.ncx2.sf(chi2, df, n * df * h0 ** 2))


def residual_correlations(S: np.ndarray, sigma: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Observed minus model-implied correlations, one row per pair (lavaan's ``residuals(fit, type = "cor")``).

    ``r_ij = s_ij / sqrt(s_ii s_jj) - sigma_ij / sqrt(sigma_ii sigma_jj)``
    (Bollen 1989, p. 258). Returns ``lhs, rhs, residual`` for every pair
    ``i > j`` (the lower triangle, rows in lavaan's column-major order),
    sorted by ``|residual|`` descending (the largest first).
    """
    S, sigma = as_covariance("S", S), as_covariance("Sigma", sigma)
    if S.shape != sigma.shape or S.shape[0] != len(names):
        raise DataError(f"S {S.shape}, Sigma {sigma.shape} and {len(names)} names do not match")

    def corr(m: np.ndarray) -> np.ndarray:
        sd = np.sqrt(np.diag(m))
        return m / np.outer(sd, sd)

    resid = corr(S) - corr(sigma)
    cols, rows = np.triu_indices(len(names), k=1)  # column-major lower triangle: (row, col) = (rows, cols)
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    frame = pd.DataFrame({"lhs": [names[i] for i in rows], "rhs": [names[j] for j in cols],
                          "residual": resid[rows, cols]})
    return frame.reindex(frame["residual"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)


def max_abs_gradient(structure: ModelStructure, theta: np.ndarray, S: np.ndarray) -> float:
    """Largest absolute element of the gradient of ``F_ML`` at ``theta``, ``g_k = tr(K (Sigma - S) K dSigma_k)``.

    ``K = Sigma^-1``; ``F_ML`` is the discrepancy the estimator minimises
    (``chi2 = N F_ML``), so this is the convergence criterion lavaan's
    ``lavInspect(fit, "optim.gradient")`` shows on its own scale.
    """
    sigma, dsigma = structure.sigma_derivatives(np.asarray(theta, dtype=float))
    k = np.linalg.inv(sigma)
    w = k @ (sigma - S) @ k
    grad = dsigma.reshape(dsigma.shape[0], -1) @ w.ravel()
    return float(np.max(np.abs(grad))) if grad.size else 0.0


def _scaling(structure: ModelStructure) -> dict[str, str]:
    """How each latent variable gets its scale: ``marker: <item>`` (a loading fixed at 1) or ``fixed variance``."""
    out: dict[str, str] = {}
    for name in (v for v in structure.inner if v in structure.latent):
        markers = [r.rhs for r in structure.rows
                   if r.matrix == LAMBDA and r.lhs == name and r.free < 0 and r.rhs in structure.observed]
        if markers:
            out[name] = f"marker: {markers[0]}"
            continue
        fixed_var = [r for r in structure.rows if r.matrix == PSI and r.lhs == name == r.rhs and r.free < 0]
        out[name] = "fixed variance" if fixed_var else "none"
    return out


def _wlsmv_summary(structure: ModelStructure, df: int, n_iter: int) -> dict[str, Any]:
    """:func:`estimation_summary` of a WLSMV fit, counted on the correlation structure.

    The moments are the ``p (p - 1) / 2`` polychoric correlations (the
    thresholds are saturated and cancel, as the intercepts under FIML); the
    free parameters of the correlation structure are ``moments - df``
    (lavaan's ``npar`` adds the thresholds).
    """
    out = estimation_summary(structure, n_iter=n_iter, max_gradient=None,
                             optimizer="DWLS (diagonally weighted least squares) on the polychoric correlations")
    p = structure.n_observed
    moments = p * (p - 1) // 2
    out.update(moments=moments, n_free=moments - df, df=df, t_rule="met" if df >= 0 else "violated")
    return out


def estimation_summary(structure: ModelStructure, *, n_iter: int, max_gradient: float | None,
                       optimizer: str, n_means: int = 0) -> dict[str, Any]:
    """Free parameters, degrees of freedom, identification and convergence of one fit.

    * ``moments``: ``p (p + 1) / 2`` unique variances and covariances (plus
      ``p`` means under FIML, where ``n_means = p`` intercepts are free);
    * ``n_free``: free parameters (``npar``); ``df = moments - n_free``;
    * ``t_rule``: Bollen's (1989, p. 93) necessary condition for
      identification, ``n_free <= moments``, ``"met"`` or ``"violated"``;
    * ``scaling``: per latent variable, ``"marker: <item>"`` (its first
      loading fixed at 1, lavaan's default) or ``"fixed variance"``;
    * ``optimizer``, ``iterations`` and ``max_abs_gradient`` (the gradient
      of the fitting function at the solution; None where not computed).
    """
    p = structure.n_observed
    moments = p * (p + 1) // 2 + int(n_means)
    n_free = structure.n_params + int(n_means)
    return {
        "n_observed": p, "moments": moments, "n_free": n_free, "df": moments - n_free,
        "t_rule": "met" if n_free <= moments else "violated",
        "scaling": _scaling(structure), "optimizer": optimizer, "iterations": int(n_iter),
        "max_abs_gradient": None if max_gradient is None else float(max_gradient),
    }


@dataclass(frozen=True)
class FitExtras:
    """What :func:`fit_extras` adds to a fit: document keys and two tables.

    Attributes
    ----------
    measures : dict
        :data:`LIKELIHOOD_KEYS`, ``rmsea_pvalue``, ``estimation``
        (:func:`estimation_summary`), and ``notes`` (key -> why it is null or
        its table empty; empty when everything was computed).
    residual_correlations : pandas.DataFrame
        :func:`residual_correlations` (empty under WLSMV).
    modindices : pandas.DataFrame
        :func:`~xhs_sharing.sem.modindices.modification_indices` (empty under
        WLSMV and FIML).
    """

    measures: dict[str, Any]
    residual_correlations: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(RESID_COLUMNS)))
    modindices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(MI_COLUMNS)))


def fit_extras(structure: ModelStructure, theta: np.ndarray, S: np.ndarray | None, fit: dict[str, Any], *,
               method: str, n_iter: int, loglik: tuple[float, float] | None = None) -> FitExtras:
    """Log-likelihoods, information criteria, RMSEA p-close, residual correlations, MIs and the estimation summary.

    Parameters
    ----------
    structure, theta
        The fitted model and its estimates.
    S : array_like or None
        The covariance matrix the model was fitted to (divisor N; the EM
        estimate under FIML); None under WLSMV.
    fit : dict
        The fit document (``chi2``, ``df``, ``n``, ``missing``).
    method : {"ML", "MLR", "WLSMV"}
        The configured estimator (MLR: the ML numbers, as lavaan).
    n_iter : int
        Iterations of the estimator.
    loglik : (float, float), optional
        FIML: the observed-data log-likelihoods of the model and of the EM
        saturated model (``npar`` then counts the ``p`` intercepts).
    """
    fiml = loglik is not None
    p = structure.n_observed
    notes: dict[str, str] = {}
    if method == "WLSMV" or S is None:
        measures: dict[str, Any] = dict.fromkeys((*LIKELIHOOD_KEYS, "rmsea_pvalue"))
        notes.update(likelihood=NO_LIKELIHOOD_REASON, residual_correlations=WLSMV_DIAGNOSTICS_REASON,
                     modindices=WLSMV_DIAGNOSTICS_REASON)
        return FitExtras({**measures, "estimation": _wlsmv_summary(structure, int(fit["df"]), n_iter), "notes": notes})
    n = int(fit["n"])
    ll0, ll1 = loglik if fiml else (ml_loglik(S, structure.implied_covariance(theta), n), saturated_loglik(S, n))
    measures = likelihood_measures(ll0, ll1, structure.n_params + (p if fiml else 0), n)
    measures["rmsea_pvalue"] = rmsea_pvalue(float(fit["chi2"]), float(fit["df"]), n)
    resid = residual_correlations(S, structure.implied_covariance(theta), list(structure.observed))
    if fiml:
        notes["modindices"] = FIML_MI_REASON
        mi = pd.DataFrame(columns=list(MI_COLUMNS))
        optimizer, gradient = "quasi-Newton (BFGS) on the FIML log-likelihood, from the ML fit of the EM covariance", None
    else:
        mi = modification_indices(structure, theta, S, n)
        optimizer = "Fisher scoring with step halving (expected information), from semopy's SLSQP solution"
        gradient = max_abs_gradient(structure, theta, S)
    summary = estimation_summary(structure, n_iter=n_iter, max_gradient=gradient, optimizer=optimizer,
                                 n_means=p if fiml else 0)
    return FitExtras({**measures, "estimation": summary, "notes": notes}, resid, mi)
