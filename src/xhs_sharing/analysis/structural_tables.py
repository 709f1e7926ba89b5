"""Tables of the structural model a reviewer asks for beyond the paths (issue 17, point 13).

* :func:`latent_covariance_table`: the covariances of the exogenous
  constructs and the variances of the constructs and of the disturbances,
  unstandardized (Wald) and ``std.all`` with delta-method SEs (lavaan
  ``parameterEstimates()`` and ``standardizedSolution()`` rows ``~~``
  between latents).
* :func:`r2_intervals`: R-squared of every endogenous construct with two
  intervals: the delta-method SE and Wald interval (the Jacobian of ``1 -
  Psi_ii / Var(eta)_ii`` by the complex step, as lavaan's
  ``standardizedSolution()`` differentiates; the Wald interval can leave
  [0, 1]) and the percentile interval over the structural bootstrap's
  converged resamples (their parameter vectors, no extra refit), which
  stays in [0, 1] and is the one the report shows when it exists.
* :func:`f2_table`: Cohen's (1988) f-squared of every path, ``(R2_incl -
  R2_excl) / (1 - R2_incl)``. ``R2_excl`` is the R-squared of the
  dependent construct regressed on its other predictors *in the
  model-implied latent covariance of the full model* (not a re-estimated
  model without the path): the analogue of what PLS-SEM software does,
  which recomputes the regression without the predictor on the same
  construct scores (Hair et al. 2022, ch. 6), and a pure function of the
  fitted model. Labels: small >= .02, medium >= .15, large >= .35 (Cohen
  1988, p. 413).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xhs_sharing.analysis.structural import StructuralResult
from xhs_sharing.sem.resample import percentile_interval
from xhs_sharing.sem.standardize import delta_method_se, r_squared_from_cov, r_squared_values, std_all_values, wald

__all__ = ["F2_COLUMNS", "F2_SIZES", "LATENT_COLUMNS", "R2_COLUMNS", "f2_label", "f2_table",
           "latent_covariance_table", "r2_intervals"]

LATENT_COLUMNS: tuple[str, ...] = ("lhs", "op", "rhs", "kind", "free", "est", "se", "z", "pvalue", "ci_low",
                                   "ci_high", "std_all", "std_se", "std_ci_low", "std_ci_high")
R2_COLUMNS: tuple[str, ...] = ("variable", "r2", "se", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high",
                               "boot_n")
F2_COLUMNS: tuple[str, ...] = ("lhs", "rhs", "r2_included", "r2_excluded", "f2", "size")

F2_SIZES: tuple[tuple[float, str], ...] = ((0.35, "large"), (0.15, "medium"), (0.02, "small"))
"""Cohen's (1988) f-squared benchmarks, largest first; below .02 "negligible"."""


def _endogenous(fit: StructuralResult) -> list[str]:
    """Latents on the left of a regression, in the order of the model's rows."""
    out: list[str] = []
    for r in fit.structure.rows:
        if r.op == "~" and r.lhs in fit.structure.latent and r.lhs not in out:
            out.append(r.lhs)
    return out


def _kind(lhs: str, rhs: str, endogenous: Sequence[str]) -> str:
    disturbance = lhs in endogenous or rhs in endogenous
    if lhs == rhs:
        return "disturbance variance" if disturbance else "variance"
    return "disturbance covariance" if disturbance else "covariance"


def latent_covariance_table(fit: StructuralResult, level: float = 0.95) -> pd.DataFrame:
    """Every ``~~`` row between two latents: estimate, SE, Wald test and interval, ``std.all`` with its.

    ``kind`` is ``variance`` / ``covariance`` (exogenous constructs) or
    ``disturbance variance`` / ``disturbance covariance`` (a construct on
    the left of a regression); ``free`` is False for a fixed row (its SE
    NaN). The ``std.all`` of a disturbance variance is ``1 - R^2``, of an
    exogenous variance 1 with SE 0, of a covariance a correlation (lavaan).
    """
    structure = fit.structure
    keys = [(r.lhs, r.op, r.rhs) for r in structure.rows]
    lat = fit.params[(fit.params["op"] == "~~") & fit.params["lhs"].isin(structure.latent)
                     & fit.params["rhs"].isin(structure.latent)].reset_index(drop=True)
    idx = np.array([keys.index(k) for k in zip(lat["lhs"], lat["op"], lat["rhs"], strict=True)], dtype=np.intp)

    def std_fun(t: np.ndarray) -> np.ndarray:
        return std_all_values(structure, t)[..., idx]

    std_est = np.real(std_fun(fit.theta)).astype(float)
    std_se = delta_method_se(std_fun, fit.theta, fit.acov) if idx.size else np.array([], dtype=float)
    w, ws = wald(lat["est"].to_numpy(float), lat["se"].to_numpy(float), level), wald(std_est, std_se, level)
    endo = _endogenous(fit)
    return pd.DataFrame(dict(
        lhs=lat["lhs"], op=lat["op"], rhs=lat["rhs"],
        kind=[_kind(a, b, endo) for a, b in zip(lat["lhs"], lat["rhs"], strict=True)],
        free=lat["free"].to_numpy() >= 0, est=lat["est"], se=lat["se"], z=w["z"], pvalue=w["pvalue"],
        ci_low=w["ci_low"], ci_high=w["ci_high"], std_all=std_est, std_se=std_se,
        std_ci_low=ws["ci_low"], std_ci_high=ws["ci_high"],
    ), columns=list(LATENT_COLUMNS))


def r2_intervals(fit: StructuralResult, boot_thetas: np.ndarray | None = None, level: float = 0.95) -> pd.DataFrame:
    """R-squared of the endogenous constructs with delta-method and percentile-bootstrap intervals.

    Parameters
    ----------
    fit : StructuralResult
    boot_thetas : np.ndarray, shape (B, q), optional
        Parameter vectors of the converged bootstrap resamples
        (``BootstrapResult.thetas``); None or empty: the ``boot_*``
        columns are NaN and ``boot_n`` 0.
    level : float
        Coverage of both intervals.
    """
    names = _endogenous(fit)

    def func(t: np.ndarray) -> np.ndarray:
        return r_squared_values(fit.structure, t, names)

    r2 = np.real(func(fit.theta)).astype(float)
    se = delta_method_se(func, fit.theta, fit.acov) if names else np.array([], dtype=float)
    w = wald(r2, se, level)
    n_boot = 0 if boot_thetas is None else int(np.asarray(boot_thetas).shape[0])
    if n_boot:
        lo, hi = percentile_interval(func(np.asarray(boot_thetas, dtype=float)), level)
    else:
        lo = hi = np.full(len(names), np.nan)
    return pd.DataFrame(dict(variable=names, r2=r2, se=se, ci_low=w["ci_low"], ci_high=w["ci_high"],
                             boot_ci_low=lo, boot_ci_high=hi, boot_n=n_boot), columns=list(R2_COLUMNS))


def f2_label(f2: float) -> str:
    """Cohen's (1988) label of an f-squared (:data:`F2_SIZES`); "" for NaN."""
    if not np.isfinite(f2):
        return ""
    return next((label for cut, label in F2_SIZES if f2 >= cut), "negligible")


def f2_table(fit: StructuralResult) -> pd.DataFrame:
    """Cohen's f-squared of every regression path, from the model-implied latent covariance (module docstring).

    ``r2_included`` is the R-squared of ``lhs`` on all its predictors in
    ``Var(eta)`` (equal to the model's ``1 - Psi_ii / Var(eta)_ii`` for a
    recursive model whose disturbances are uncorrelated with the
    predictors), ``r2_excluded`` without ``rhs``.
    """
    structure = fit.structure
    veta, _ = structure.inner_covariance(fit.theta)
    regs = [(r.lhs, r.rhs) for r in structure.rows if r.op == "~"]
    rows = []
    for lhs, rhs in regs:
        y = structure.inner_index(lhs)
        preds = [structure.inner_index(x) for a, x in regs if a == lhs]
        incl = r_squared_from_cov(veta, y, preds)
        excl = r_squared_from_cov(veta, y, [p for p in preds if p != structure.inner_index(rhs)])
        f2 = (incl - excl) / (1.0 - incl) if incl < 1.0 else float("nan")
        rows.append(dict(lhs=lhs, rhs=rhs, r2_included=incl, r2_excluded=excl, f2=f2, size=f2_label(f2)))
    return pd.DataFrame(rows, columns=list(F2_COLUMNS))
