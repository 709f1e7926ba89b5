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
  :class:`semopy.Model` and its data into a JSON-serialisable dict.

Conventions (all as lavaan with ``estimator = "ML"``, ``likelihood =
"normal"``, single group, no mean structure):

* ``S`` is the sample covariance matrix with divisor N (biased), which is also
  what semopy uses;
* the test statistic is ``chi2 = N * F_ML(S, Sigma)`` with
  ``F_ML = log|Sigma| - log|S| + tr(S Sigma^-1) - p``;
* every index that needs a sample size uses N, not N - 1.

Rows with a missing value on any observed variable of the model are dropped
(lavaan's default ``missing = "listwise"``); ``n`` is the number of complete
rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import semopy
from scipy import optimize, stats
from semopy.solver import SolverResult

from .errors import DataError, EstimationError, SpecError

__all__ = [
    "FIT_MEASURE_KEYS",
    "baseline_chi2",
    "cfi",
    "fit_measures",
    "fit_semopy",
    "ml_discrepancy",
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
# fitting a semopy model to convergence
# --------------------------------------------------------------------------
def _complete_numeric(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Select ``columns``, check they are numeric, drop incomplete rows."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(f"data lacks the model's observed variable(s): {', '.join(missing)}")
    sub = data.loc[:, list(columns)]
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(sub[c])]
    if bad:
        raise DataError(f"observed variable(s) not numeric: {', '.join(bad)}")
    sub = sub.dropna(how="any").astype(float)
    if len(sub) <= len(columns):
        raise DataError(
            f"only {len(sub)} complete rows for {len(columns)} observed variables; "
            "the sample covariance matrix would be singular"
        )
    return sub


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
    try:
        model = semopy.Model(syntax)
    except Exception as exc:  # semopy raises bare Exceptions / SyntaxErrors
        raise SpecError(f"semopy could not parse the model syntax: {exc}") from exc
    if isinstance(model, semopy.ModelMeans):  # pragma: no cover - defensive
        raise SpecError("fit_semopy handles models without mean structure only")
    observed = list(model.vars["observed"])
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


# --------------------------------------------------------------------------
# convenience wrapper
# --------------------------------------------------------------------------
def fit_measures(model: semopy.Model, data: pd.DataFrame) -> dict[str, float | int | None]:
    """lavaan-style global fit measures of a fitted semopy model.

    The sample covariance ``S`` (divisor N) is recomputed from ``data``
    (listwise complete rows on the model's observed variables) and compared
    with the model-implied ``Sigma`` at the model's current parameters, so the
    result does not depend on how the model was fitted; fit it with
    :func:`fit_semopy` to get lavaan's estimates.

    Parameters
    ----------
    model : semopy.Model
        A fitted model without mean structure.
    data : pandas.DataFrame
        The data the model was fitted to.

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
    observed = list(model.vars["observed"])
    complete = _complete_numeric(data, observed)
    n = int(len(complete))
    S = np.cov(complete.to_numpy(), rowvar=False, bias=True)
    S = np.atleast_2d(S)
    model.update_matrices(np.asarray(model.param_vals, dtype=float))
    sigma = np.asarray(model.calc_sigma()[0], dtype=float)
    p = len(observed)
    df = p * (p + 1) // 2 - len(model.param_vals)
    if df < 0:
        raise SpecError(f"the model has negative degrees of freedom ({df})")
    try:
        chi2 = n * ml_discrepancy(S, sigma)
    except DataError as exc:
        raise EstimationError(f"cannot evaluate the ML discrepancy: {exc}") from exc
    b_chi2, b_df = baseline_chi2(S, n)
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
        "n": n,
        "baseline_chi2": float(b_chi2),
        "baseline_df": int(b_df),
    }
    return {k: out[k] for k in FIT_MEASURE_KEYS}
