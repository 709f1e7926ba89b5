"""Global fit indices of a covariance-structure model, as lavaan reports them.

The indices follow lavaan 0.6 (``lav_fit_measures.R``, ``lav_fit_rmsea.R``,
``lav_fit_cfi.R``, ``lav_fit_srmr.R``; Rosseel 2012, J. Stat. Softw. 48(2)),
with ``estimator = "ML"``, ``likelihood = "normal"``, one group and no mean
structure:

* ``chi2 = N F_ML(Sigma, S)`` (:func:`~xhs_sharing.sem.objectives.ml_discrepancy_checked`)
  on ``df = p (p + 1) / 2 - q`` degrees of freedom, ``S`` with divisor N;
* the baseline (independence) model ``Sigma_0 = diag(S)``
  (:func:`baseline_chi2`);
* RMSEA and its 90% interval with N, not N - 1 (:func:`rmsea`,
  :func:`rmsea_ci`); CFI and TLI with lavaan's bounding rules (:func:`cfi`,
  :func:`tli`); SRMR after Bentler (:func:`srmr`).

The functions come in three layers: pure functions of numbers and arrays
(the indices above); :func:`ml_fit_measures`, which takes ``(S, Sigma, n,
q)`` and returns the dict of :data:`FIT_MEASURE_KEYS`
(:func:`measures_from_statistics` assembles it); and :func:`fit_measures`,
which takes a fit result (``structure`` and ``theta``) and its data.

Rows with a missing value on any observed variable of the model are dropped
(lavaan's default ``missing = "listwise"``); ``n`` is the number of complete
rows. With ``missing="fiml"`` they are kept and the likelihood of each row's
observed values is maximised instead (full-information ML; Arbuckle 1996,
Enders & Bandalos 2001); :func:`fiml_fit_measures` then compares the model
with the EM estimate of the saturated model, and ``n`` counts every row
(:mod:`xhs_sharing.sem.mvnorm_missing`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.frames import as_covariance, check_missing, complete_rows, incomplete_matrix
from xhs_sharing.sem.mvnorm_missing import EMResult, MissingData, em_moments, lr_statistic, mvn_loglik, optimal_mean
from xhs_sharing.sem.objectives import ml_discrepancy_checked

__all__ = [
    "MLR_SE",
    "MLR_TEST",
    "ROBUST_FIT_NAMES",
    "robust_fit_measures",
    "ESTIMATOR_KEY",
    "FIT_MEASURE_KEYS",
    "baseline_chi2",
    "cfi",
    "fiml_fit_measures",
    "fit_measures",
    "independence_loglik",
    "measures_from_statistics",
    "ml_fit_measures",
    "rmsea",
    "rmsea_ci",
    "srmr",
    "srmr_label",
    "srmr_with_means",
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
    S = as_covariance("S", S)
    _check_stat(0.0, 0, n)
    d = np.diag(S)
    if np.any(d <= 0):
        raise DataError("S has a non-positive variance on its diagonal")
    p = S.shape[0]
    return n * ml_discrepancy_checked(np.diag(d), S), p * (p - 1) // 2


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
    S = as_covariance("S", S)
    Sigma = as_covariance("Sigma", Sigma)
    if S.shape != Sigma.shape:
        raise DataError(f"S {S.shape} and Sigma {Sigma.shape} differ in shape")
    sd = np.sqrt(np.diag(S)) if np.all(np.diag(S) > 0) else None
    if sd is None:
        raise DataError("S has a non-positive variance on its diagonal")
    resid = (S - Sigma) / np.outer(sd, sd)
    iu = np.triu_indices(S.shape[0])
    return float(np.sqrt(np.mean(resid[iu] ** 2)))


def rmsea(chi2: float, df: float, n: float, c: float = 1.0) -> float:
    """Root mean square error of approximation, lavaan's point estimate; robust with a scaling factor ``c``.

    .. math:: RMSEA = \\sqrt{\\max\\left(\\frac{\\chi^2 / N}{df} - \\frac{c}{N}, 0\\right)}

    i.e. ``sqrt(max(chi2 - df, 0) / (N df))`` with N, not N - 1 (Steiger & Lind
    1980; lavaan ``lav_fit_rmsea``, which uses N for ML with the normal
    likelihood). By lavaan's convention RMSEA is 0 when ``df == 0``. With
    the unscaled ``chi2`` and the Yuan-Bentler scaling factor ``c`` it is
    lavaan's ``rmsea.robust`` (Brosseau-Liard, Savalei & Li 2012: the
    noncentrality is ``chi2 - c df``).

    Parameters
    ----------
    chi2 : float
        Model chi-square, >= 0.
    df : float
        Degrees of freedom, >= 0.
    n : float
        Sample size N (> 0).
    c : float, default 1
        Scaling factor of the test (1: the normal-theory RMSEA).
    """
    _check_stat(chi2, df, n)
    if df == 0:
        return 0.0
    return float(math.sqrt(max((chi2 / n) / df - c / n, 0.0)))


def _ncx2_cdf(x: float, df: float, ncp: float) -> float:
    # scipy's ncx2 is undefined at ncp == 0 in some versions: use chi2 there.
    if ncp <= 0:
        return float(stats.chi2.cdf(x, df))
    return float(stats.ncx2.cdf(x, df, ncp))


def rmsea_ci(chi2: float, df: float, n: float, level: float = 0.90, c: float = 1.0) -> tuple[float, float]:
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

    N (not N - 1) is used, as in lavaan for ML. For the robust interval
    (lavaan's ``rmsea.ci.lower.robust``/``.upper.robust``; Savalei 2018)
    pass the *scaled* statistic ``chi2 / c`` as ``chi2`` and the scaling
    factor ``c``: the bounds become ``sqrt(c lambda / (N df))``.

    Parameters
    ----------
    chi2, df, n : float
        Model chi-square, degrees of freedom, sample size.
    level : float, default 0.90
        Confidence level in (0, 1).
    c : float, default 1
        Scaling factor multiplying the noncentrality (1: the normal-theory interval).

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
        low = math.sqrt(c * lam_l / (n * df))

    n_rmsea = max(n, 4.0 * chi2)
    if upper_fn(n_rmsea) > 0.0 or upper_fn(0.0) < 0.0:
        high = 0.0
    else:
        lam_u = optimize.brentq(upper_fn, 0.0, n_rmsea, xtol=1e-12, rtol=1e-12)
        high = math.sqrt(c * lam_u / (n * df))
    return float(low), float(high)


def _robust_pair(df: float, c: float, c_null: float) -> tuple[float, float]:
    """The scaling factors lavaan uses in the robust CFI/TLI: both, or neither (1, 1).

    lavaan (``lav_fit_cfi``, ``lav_fit_tli``) scales only when both factors
    differ from 1 and ``df > 0``.
    """
    return (c, c_null) if (c != 1 and c_null != 1 and df > 0) else (1.0, 1.0)


def cfi(chi2: float, df: float, baseline_chi2: float, baseline_df: float,
        c: float = 1.0, c_null: float = 1.0) -> float:
    """Comparative fit index (Bentler 1990), with lavaan's bounding rules; robust with scaling factors.

    ``t1 = max(chi2 - c df, 0)``, ``t2 = max(chi2 - c df, chi2_0 - c0 df_0, 0)``;
    CFI = 1 if both are 0 (to R's ``all.equal`` tolerance), else
    ``1 - t1 / t2``. The result is therefore always in [0, 1]
    (lavaan ``lav_fit_cfi``). ``c = c0 = 1`` is the normal-theory CFI; the
    unscaled statistics with their Yuan-Bentler factors give lavaan's
    ``cfi.robust`` (Brosseau-Liard & Savalei 2014, eq. 15).

    Parameters
    ----------
    chi2, df : float
        Model chi-square and degrees of freedom.
    baseline_chi2, baseline_df : float
        Chi-square and df of the baseline (independence) model.
    c, c_null : float, default 1
        Scaling factors of the model and the baseline test (used only when
        both differ from 1, as lavaan).
    """
    _check_stat(chi2, df)
    _check_stat(baseline_chi2, baseline_df)
    c, c_null = _robust_pair(df, c, c_null)
    t1 = max(chi2 - c * df, 0.0)
    t2 = max(chi2 - c * df, baseline_chi2 - c_null * baseline_df, 0.0)
    if abs(t1) < _ALL_EQUAL_TOL and abs(t2) < _ALL_EQUAL_TOL:
        return 1.0
    return float(1.0 - t1 / t2)


def tli(chi2: float, df: float, baseline_chi2: float, baseline_df: float,
        c: float = 1.0, c_null: float = 1.0) -> float:
    """Tucker-Lewis index / NNFI (Tucker & Lewis 1973), lavaan's rules; robust with scaling factors.

    lavaan >= 0.5-21 (``lav_fit_tli``): ``t1 = (chi2 - c df) df_0``,
    ``t2 = (chi2_0 - c0 df_0) df``; TLI = ``1 - t1 / t2`` if ``df > 0`` and
    ``t2 != 0``, else 1. Unlike the CFI, lavaan does **not** truncate the TLI:
    it can exceed 1 (when ``chi2 < df``) or fall below 0, and so does this
    function. ``c``, ``c_null`` as in :func:`cfi` (lavaan's ``tli.robust``).

    Parameters
    ----------
    chi2, df : float
        Model chi-square and degrees of freedom.
    baseline_chi2, baseline_df : float
        Chi-square and df of the baseline (independence) model.
    c, c_null : float, default 1
        Scaling factors (used only when both differ from 1).
    """
    _check_stat(chi2, df)
    _check_stat(baseline_chi2, baseline_df)
    c, c_null = _robust_pair(df, c, c_null)
    t1 = (chi2 - c * df) * baseline_df
    t2 = (baseline_chi2 - c_null * baseline_df) * df
    if df > 0 and abs(t2) > 0:
        return float(1.0 - t1 / t2)
    return 1.0


def srmr_with_means(S: np.ndarray, Sigma: np.ndarray, m: np.ndarray, mu: np.ndarray) -> float:
    """SRMR (Bentler) with the mean residuals: lavaan's default ``srmr`` with a mean structure.

    With ``missing = "ml"`` lavaan fits a mean structure, and its default
    ``srmr`` (``srmr_bentler``) averages the ``p`` standardized mean
    residuals ``(m_i - mu_i) / sqrt(s_ii)`` in with the ``p (p + 1) / 2``
    covariance residuals of :func:`srmr`:

    .. math:: SRMR = \\sqrt{\\frac{\\sum_{i \\le j} r_{ij}^2 + \\sum_i r_i^2}{p(p+1)/2 + p}}

    (lavaan 0.6 ``lav_residuals_summary``, ``type = "cor.bentler"``, the
    ``total`` summary; ``srmr_bentler_nomean`` is :func:`srmr`). ``S`` and
    ``m`` are the saturated (EM) moments, ``Sigma`` and ``mu`` the model's.
    """
    S = as_covariance("S", S)
    m, mu = np.asarray(m, dtype=float).ravel(), np.asarray(mu, dtype=float).ravel()
    p = S.shape[0]
    if m.shape != (p,) or mu.shape != (p,):
        raise DataError(f"mean vectors of length {m.shape[0]} and {mu.shape[0]} do not match {p} variables")
    cov_part = srmr(S, Sigma) ** 2 * (p * (p + 1) // 2)
    mean_part = float(np.sum(((m - mu) / np.sqrt(np.diag(S))) ** 2))
    return float(np.sqrt((cov_part + mean_part) / (p * (p + 1) // 2 + p)))


SRMR_LABELS = {
    "bentler": "SRMR (Bentler; lavaan's srmr)",
    "bentler_with_means": "SRMR (Bentler, with means; lavaan's default under FIML)",
}
"""Report labels of the SRMR variants a fit dict's ``srmr_variant`` names."""


def srmr_label(fit: Any) -> str:
    """The label of the SRMR a fit dict (``cfa_fit.json``, ``fit.json``) reports.

    ``srmr_variant`` is written only under FIML (``"bentler_with_means"``);
    without it ``srmr`` is lavaan's complete-data ``srmr`` (``"bentler"``).

    >>> srmr_label({"srmr": 0.03})
    "SRMR (Bentler; lavaan's srmr)"
    """
    return SRMR_LABELS[str(fit.get("srmr_variant", "bentler"))]


#: Keys an MLR fit adds to ``cfa_fit.json`` and ``fit.json``, from lavaan's ``fitMeasures`` names.
ROBUST_FIT_NAMES: dict[str, str] = {
    "chi2_scaled": "chisq.scaled",
    "pvalue_scaled": "pvalue.scaled",
    "scaling_factor": "chisq.scaling.factor",
    "baseline_chi2_scaled": "baseline.chisq.scaled",
    "baseline_scaling_factor": "baseline.chisq.scaling.factor",
    "cfi_robust": "cfi.robust",
    "tli_robust": "tli.robust",
    "rmsea_robust": "rmsea.robust",
    "rmsea_ci_low_robust": "rmsea.ci.lower.robust",
    "rmsea_ci_high_robust": "rmsea.ci.upper.robust",
}

#: lavaan's names of the test and the standard errors of an MLR fit (``lavInspect(fit, "options")``).
MLR_TEST = "yuan.bentler.mplus"
MLR_SE = "robust.huber.white"


def robust_fit_measures(mlr: Any) -> dict[str, Any]:
    """The keys an MLR fit adds to a fit document, from an :class:`~xhs_sharing.sem.robust.MLRResult`.

    ``chi2_scaled`` (= ``chi2 / scaling_factor``, the Yuan-Bentler scaled
    statistic, Mplus variant), ``pvalue_scaled`` (on ``df``),
    ``scaling_factor`` and the baseline's, ``cfi_robust``, ``tli_robust``,
    ``rmsea_robust`` with its 90% interval (lavaan's ``.robust`` measures;
    :data:`ROBUST_FIT_NAMES` maps each key to its lavaan name), ``test``
    (``"yuan.bentler.mplus"``) and ``se`` (``"robust.huber.white"``).
    The standard (unscaled) measures stay under their usual keys.
    """
    out: dict[str, Any] = {key: float(mlr.measures[name]) for key, name in ROBUST_FIT_NAMES.items()}
    out["test"] = MLR_TEST
    out["se"] = MLR_SE
    return out


#: Key the measurement and structural steps add to their fit dicts (``cfa_fit.json``, ``fit.json``) to name the estimator.
ESTIMATOR_KEY = "estimator"


def measures_from_statistics(
    chi2: float, df: int, n: int, b_chi2: float, b_df: int, S: np.ndarray, sigma: np.ndarray
) -> dict[str, float | int | None]:
    """The dict of :data:`FIT_MEASURE_KEYS` from the test statistics and the matrices.

    ``chi2``/``df`` of the model and ``b_chi2``/``b_df`` of the baseline
    model on ``n`` rows, ``S`` the sample (or EM) covariance and ``sigma``
    the model-implied one; the indices by the functions above.
    """
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


def ml_fit_measures(S: np.ndarray, sigma: np.ndarray, n: int, n_free: int) -> dict[str, float | int | None]:
    """lavaan's ML fit measures from the sample and implied covariances.

    Parameters
    ----------
    S : array_like, shape (p, p)
        Sample covariance (divisor N).
    sigma : array_like, shape (p, p)
        Model-implied covariance at the estimates.
    n : int
        Rows the model was fitted to.
    n_free : int
        Free parameters ``q``.

    Returns
    -------
    dict
        Keys :data:`FIT_MEASURE_KEYS`, see :func:`fit_measures`.

    Raises
    ------
    SpecError
        Negative degrees of freedom.
    EstimationError
        ``F_ML`` cannot be evaluated (a matrix not positive definite).
    """
    p = np.shape(S)[0]
    df = p * (p + 1) // 2 - int(n_free)
    if df < 0:
        raise SpecError(f"the model has negative degrees of freedom ({df})")
    try:
        chi2 = n * ml_discrepancy_checked(sigma, S)
    except DataError as exc:
        raise EstimationError(f"cannot evaluate the ML discrepancy: {exc}") from exc
    b_chi2, b_df = baseline_chi2(S, n)
    return measures_from_statistics(chi2, df, n, b_chi2, b_df, S, sigma)


def fit_measures(fit: Any, data: pd.DataFrame, *, missing: str = "listwise") -> dict[str, Any]:
    """lavaan-style global fit measures of a fit result and its data.

    ``fit`` is any result with a ``structure``
    (:class:`~xhs_sharing.sem.model.ModelStructure`) and estimates
    ``theta``: :class:`~xhs_sharing.sem.estimation.ModelFit`,
    :class:`~xhs_sharing.analysis.structural.StructuralResult`. The sample
    covariance ``S`` (divisor N) is recomputed from ``data`` (listwise
    complete rows on the model's observed variables) and compared with the
    model-implied ``Sigma(theta)`` (:func:`ml_fit_measures`).

    With ``missing="fiml"`` and a missing value in ``data``, the measures are
    lavaan's for ``missing = "ml"`` instead (:func:`fiml_fit_measures`: the
    likelihood-ratio chi-square against the EM saturated model, every row
    used). With complete data both settings give the same (ML) numbers.

    Returns
    -------
    dict
        Keys :data:`FIT_MEASURE_KEYS`: ``chi2`` (= N F_ML), ``df`` (int),
        ``pvalue`` (upper tail of the central chi-square; ``None`` when
        ``df == 0``, where lavaan reports NA), ``cfi``, ``tli``, ``rmsea``,
        ``rmsea_ci_low``, ``rmsea_ci_high`` (90 %), ``srmr``, ``n`` (int),
        ``baseline_chi2``, ``baseline_df`` (int). Plain Python numbers.

    Raises
    ------
    SpecError
        ``fit`` has no structure and estimates; negative df.
    DataError
        ``data`` lacks a variable of the model.
    """
    structure, theta = getattr(fit, "structure", None), getattr(fit, "theta", None)
    if structure is None or theta is None:
        raise SpecError(f"fit_measures needs a fit result with .structure and .theta, got {type(fit).__name__}")
    check_missing(missing)
    observed = list(structure.observed)
    sigma = structure.implied_covariance(np.asarray(theta, dtype=float))
    if missing == "fiml":
        x = incomplete_matrix(data, observed)
        if x is not None:
            return fiml_fit_measures(x, sigma, structure.n_params)
    complete = complete_rows(data, observed)
    S = np.atleast_2d(np.cov(complete.to_numpy(), rowvar=False, bias=True))
    return ml_fit_measures(S, sigma, int(len(complete)), structure.n_params)


def independence_loglik(md: MissingData) -> float:
    """Log-likelihood of the baseline (independence) model, free means and variances.

    With a diagonal ``Sigma`` the observed-data likelihood factors over the
    variables, so the FIML estimates are each variable's available-case mean
    and variance (divisor = its number of observed values) and
    ``logL = -sum_j n_j/2 (log 2 pi + log v_j + 1)``: lavaan's baseline model
    for ``missing = "ml"``, fitted in closed form.
    """
    cnt, _, var = md.available_case_moments()
    return float(-0.5 * np.sum(cnt * (math.log(2.0 * math.pi) + np.log(var) + 1.0)))


def fiml_fit_measures(
    x: np.ndarray,
    sigma: np.ndarray,
    n_free: int,
    *,
    mean: np.ndarray | None = None,
    em: EMResult | None = None,
) -> dict[str, Any]:
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
    * ``srmr`` is lavaan's default under ``missing = "ml"``
      (``srmr_bentler``, :func:`srmr_with_means`): the EM covariance and
      mean compared with ``sigma`` and ``mean``, the ``p`` standardized mean
      residuals averaged in with the covariance ones; ``srmr_variant`` is
      ``"bentler_with_means"`` and ``srmr_bentler_nomean`` the
      covariance-only value (:func:`srmr`, lavaan's ``srmr_bentler_nomean``).

    With complete data every value but ``srmr`` equals
    :func:`~xhs_sharing.sem.fit.fit_measures`'s ML one (EM then returns the
    sample moments, divisor N; ``srmr`` is the ML one times
    ``sqrt(p (p + 1) / (p (p + 3)))`` at the sample means, as in lavaan with
    ``missing = "ml"``); :func:`fit_measures` uses ML for complete data.

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
        Keys :data:`~xhs_sharing.sem.fit.FIT_MEASURE_KEYS`, the same as
        :func:`~xhs_sharing.sem.fit.fit_measures`, then ``srmr_variant`` and
        ``srmr_bentler_nomean``.
        :func:`estimator_label` names the estimator for a report.
    """
    md = MissingData(x)
    sigma = as_covariance("Sigma", sigma)
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
    chi2 = lr_statistic(em.loglik, ll0, "model")
    b_chi2 = lr_statistic(em.loglik, independence_loglik(md), "baseline model")
    out: dict[str, Any] = dict(measures_from_statistics(chi2, df, md.n, b_chi2, p * (p - 1) // 2, em.cov, sigma))
    out["srmr_bentler_nomean"] = out["srmr"]
    out["srmr"] = srmr_with_means(em.cov, sigma, em.mean, mean)
    out["srmr_variant"] = "bentler_with_means"
    return out
