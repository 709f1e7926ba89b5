"""The latent structural model of the study: ML (or FIML) fit and its lavaan-style tables.

:func:`fit_structural` parses the model (lavaan syntax, with lavaan
``sem()``'s default covariances), estimates it with the package's one
estimator (:func:`xhs_sharing.sem.estimation.fit_model`), diagnoses improper
solutions (:func:`xhs_sharing.sem.checks.solution_problems`) and builds the
tables of :class:`StructuralResult`: every parameter with its expected- (ML)
or observed-information (FIML) standard error, Wald ``z``, p-value and
``std.all`` (:mod:`xhs_sharing.sem.standardize`); the regressions with their
95% Wald intervals, on both scales (delta-method SEs of ``std.all``, as
lavaan's ``standardizedSolution()``); and the R-squared of every endogenous
latent, ``1 - Psi_ii / Var(eta)_ii``.

Error policy: non-convergence always raises :class:`EstimationError`; an
improper solution or a singular information matrix raises it too unless
``allow_improper=True``, which returns the result with the diagnoses in
``problems``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.estimation import MAX_ITER, XTOL, ModelFit, fit_model, robust_fit
from xhs_sharing.sem.frames import check_missing, observed_matrix
from xhs_sharing.sem.model import ModelStructure, ParsedModel, check_syntax, load_model
from xhs_sharing.sem.mvnorm_missing import em_moments
from xhs_sharing.sem.objectives import sample_covariance
from xhs_sharing.sem.robust import MLRResult
from xhs_sharing.sem.standardize import delta_method_se, std_all_values, wald
from xhs_sharing.study.spec import MISSING_DEFAULT, config_defaults, load_schema

logger = logging.getLogger(__name__)

__all__ = [
    "ESTIMATORS",
    "ESTIMATOR_DEFAULT",
    "PLS_ESTIMATORS",
    "StructuralResult",
    "check_estimator",
    "cfa_estimator",
    "is_pls",
    "require_covariance_based",
    "estimate",
    "fit_structural",
    "fit_structural_wlsmv",
    "missing_label",
    "require_positive_definite_covariance",
]

#: Estimators a run may ask for (the config's ``estimator``, as lavaan's ``estimator =``).
ESTIMATORS: tuple[str, ...] = tuple(load_schema("config.schema.yaml")["properties"]["estimator"]["enum"])

#: The config schema's default ``estimator`` (the one source of it).
ESTIMATOR_DEFAULT: str = config_defaults()["estimator"]


def check_estimator(estimator: str) -> None:
    """Raise :class:`SpecError` unless ``estimator`` is one of :data:`ESTIMATORS`."""
    if estimator not in ESTIMATORS:
        raise SpecError(f"estimator must be one of {', '.join(ESTIMATORS)} (config key 'estimator'), "
                        f"got {estimator!r}")


PLS_ESTIMATORS: tuple[str, ...] = ("PLS", "PLSc")
"""Estimators that fit composites by partial least squares (:mod:`xhs_sharing.analysis.pls_structural`), not a
covariance structure: PLS path modelling and consistent PLS (Dijkstra & Henseler 2015)."""


def is_pls(estimator: str) -> bool:
    """True for PLS and PLSc (:data:`PLS_ESTIMATORS`)."""
    return estimator in PLS_ESTIMATORS


def cfa_estimator(estimator: str) -> str:
    """The estimator of the measurement CFA for a run's ``estimator``: ML under PLS and PLSc, else itself.

    PLS has no reflective measurement model to test (no chi-square, no
    CFA), so under PLS(c) the CFA of the measurement step stays the ML
    validation of the reflective measurement model; the PLS measurement
    tables (outer loadings, rho_A, rho_C, AVE, HTMT) are the structural step's.
    """
    return "ML" if is_pls(estimator) else estimator


def require_covariance_based(estimator: str, what: str) -> None:
    """Raise :class:`SpecError` when ``estimator`` is PLS or PLSc, which ``what`` (a covariance-based fit) cannot do."""
    if is_pls(estimator):
        raise SpecError(f"{what} fits a covariance structure (ML, MLR, WLSMV); estimator {estimator!r} is fitted by "
                        "xhs_sharing.analysis.pls_structural.run_pls_structural")


def missing_label(likelihood: str) -> str:
    """``"fiml"`` when the FIML likelihood was maximised (``likelihood == "FIML"``), else ``"listwise"``.

    The ``missing`` key of ``fit.json``, ``cfa_fit.json`` and ``bootstrap.json``:
    how missing answers were handled *in this fit* (with ``data.missing:
    fiml`` and complete data FIML is ML, and the value is ``"listwise"``).
    """
    return "fiml" if likelihood == "FIML" else "listwise"


def estimate(parsed: Any, x: np.ndarray, estimator: str, *, xtol: float = XTOL,
             max_iter: int = MAX_ITER) -> ModelFit:
    """The ML/FIML fit of ``parsed`` on ``x``, with MLR's sandwich and tests when ``estimator == "MLR"``.

    The ML-family dispatch shared by :func:`fit_structural` and
    :func:`xhs_sharing.analysis.measurement.fit_cfa`: ML and MLR have the same
    point estimates (:func:`~xhs_sharing.sem.estimation.fit_model`; FIML with
    missing answers), MLR adds :func:`~xhs_sharing.sem.estimation.robust_fit`.
    WLSMV is dispatched before this (it fits another discrepancy).
    """
    fit = fit_model(parsed, x, xtol=xtol, max_iter=max_iter)
    if estimator == "MLR" and fit.information_problem is None:
        fit = robust_fit(fit, x)
    return fit


def fit_structural_wlsmv(
    syntax: str, data: pd.DataFrame, *, missing: str = MISSING_DEFAULT, allow_improper: bool = False,
    lavaan_defaults: bool = True,
) -> StructuralResult:
    """The structural model by WLSMV (ordered items): :func:`xhs_sharing.analysis.ordinal.fit_structural_wlsmv`.

    A result with ``method`` and ``estimator`` ``"WLSMV"``, ``acov`` the
    robust covariance carried to ``theta``, ``information`` ``"robust.sem"``
    and the scaled-shifted test and fit measures in ``measures`` (written to
    ``fit.json`` by :func:`xhs_sharing.pipeline.structural.fit_summary`).
    Listwise deletion only: ``missing="fiml"`` with missing answers raises
    :class:`SpecError`.
    """
    from xhs_sharing.analysis.ordinal import fit_structural_wlsmv as fit_ordinal  # it imports this module

    return fit_ordinal(syntax, data, missing=missing, allow_improper=allow_improper, lavaan_defaults=lavaan_defaults)


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
        Free-parameter vector (``structure.param_names`` order).
    acov : np.ndarray
        Asymptotic covariance of ``theta``: under ML from the expected
        information, ``(N/2 H)^{-1}`` (lavaan ``vcov``); under FIML from the
        observed information (lavaan's default for ``missing = "ml"``), the
        ``theta`` block of the inverse Hessian of ``-logL`` over ``theta``
        and the intercepts.
    structure : ModelStructure
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
    method : str
        The configured estimator (the config's ``estimator``, lavaan's
        ``estimator =``): ``"ML"``, ``"MLR"`` or ``"WLSMV"``. It combines
        with ``estimator`` (the likelihood, ``"ML"`` or ``"FIML"``) as
        lavaan's options do: ``method="MLR"`` with ``estimator="FIML"`` is
        lavaan's ``estimator = "MLR", missing = "ml"``. ``fit.json`` records
        ``method`` as ``"estimator"`` and the likelihood as ``"missing"``
        (:func:`missing_label`).
    mlr : MLRResult or None
        Under MLR: the sandwich covariance, the Yuan-Bentler scaled tests and
        the robust fit measures (``acov`` is the ``theta`` block of the
        sandwich, ``information`` is ``"sandwich"``).
    """

    paths: pd.DataFrame
    std_paths: pd.DataFrame
    r2: pd.DataFrame
    params: pd.DataFrame
    theta: np.ndarray
    acov: np.ndarray
    structure: ModelStructure
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
    method: str = "ML"
    mlr: MLRResult | None = None

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


def _params_table(
    structure: ModelStructure, theta: np.ndarray, se: np.ndarray, std: np.ndarray
) -> pd.DataFrame:
    """Every row of the structure: estimate, SE, Wald z and p, ``std.all``; ``=~``, ``~``, ``~~`` rows in turn."""
    mats = structure.matrices(theta)
    est = np.array([mats[r.matrix][r.row, r.col] for r in structure.rows], dtype=float)
    free = np.array([r.free for r in structure.rows], dtype=np.intp)
    se_rows = np.where(free >= 0, se[np.maximum(free, 0)], np.nan)
    w = wald(est, se_rows)
    table = pd.DataFrame(dict(
        lhs=[r.lhs for r in structure.rows], op=[r.op for r in structure.rows],
        rhs=[r.rhs for r in structure.rows], label=[r.label for r in structure.rows], free=free,
        est=est, se=se_rows, z=w["z"], pvalue=w["pvalue"], std_all=np.asarray(std, dtype=float),
    ))
    order = {"=~": 0, "~": 1, "~~": 2}
    table["_o"] = table["op"].map(order)
    table = table.sort_values("_o", kind="stable").drop(columns="_o")
    return table.reset_index(drop=True)


def _paths_tables(
    structure: ModelStructure, params: pd.DataFrame, theta: np.ndarray, acov: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The regressions, unstandardized (Wald) and on the ``std.all`` scale (delta-method SEs)."""
    reg = params[params["op"] == "~"].reset_index(drop=True)
    est = reg["est"].to_numpy(dtype=float)
    se = reg["se"].to_numpy(dtype=float)
    w = wald(est, se)
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
    std_se = delta_method_se(std_fun, theta, acov) if idx.size else np.array([], dtype=float)
    ws = wald(std_est, std_se)
    std_paths = pd.DataFrame(
        dict(lhs=reg["lhs"], op=reg["op"], rhs=reg["rhs"], std_all=std_est,
             se=std_se, z=ws["z"], pvalue=ws["pvalue"],
             ci_low=ws["ci_low"], ci_high=ws["ci_high"])
    )
    return paths, std_paths


def _r2_table(structure: ModelStructure, theta: np.ndarray) -> pd.DataFrame:
    """``1 - Psi_ii / Var(eta)_ii`` of every latent on the left of a regression."""
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


def fit_structural(
    syntax: str,
    data: pd.DataFrame,
    *,
    missing: str = MISSING_DEFAULT,
    allow_improper: bool = False,
    lavaan_defaults: bool = True,
    xtol: float = XTOL,
    max_iter: int = MAX_ITER,
    estimator: str = ESTIMATOR_DEFAULT,
    parsed: ParsedModel | None = None,
) -> StructuralResult:
    """Fit a latent SEM by ML (or FIML with missing values) to lavaan precision; MLR and WLSMV on request.

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
        observed-data likelihood (:func:`xhs_sharing.sem.mvnorm_missing.fiml_solve`)
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
    estimator : {"ML", "MLR", "WLSMV"}
        The config's ``estimator`` (default from its schema). ``"MLR"``: the
        ML (FIML) estimates with the sandwich covariance (:func:`estimate`),
        so every SE, ``z``, p-value, Wald interval and delta-method SE of the
        tables is robust. ``"WLSMV"``: :func:`fit_structural_wlsmv`.
    parsed : ParsedModel, optional
        ``syntax`` already parsed (:func:`~xhs_sharing.sem.model.load_model`),
        e.g. one whose ``initial_estimates`` warm-start the iterations; ML and
        MLR only.

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
    check_syntax(syntax)
    check_missing(missing)
    check_estimator(estimator)
    require_covariance_based(estimator, "fit_structural")
    if estimator == "WLSMV":
        return fit_structural_wlsmv(syntax, data, missing=missing, allow_improper=allow_improper,
                                    lavaan_defaults=lavaan_defaults)
    input_syntax = syntax
    if parsed is None:
        parsed = load_model(syntax, lavaan_defaults=lavaan_defaults)
    x = observed_matrix(data, parsed.observed, allow_missing=missing == "fiml")
    fit = estimate(parsed, x, estimator, xtol=xtol, max_iter=max_iter)
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
        syntax=parsed.syntax,
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
        method=estimator,
        mlr=fit.mlr,
    )


def require_positive_definite_covariance(items: pd.DataFrame, columns: Any, rel_tol: float = 1e-10) -> None:
    """Raise :class:`EstimationError` unless the indicators' sample covariance matrix is positive definite.

    ML fits the model to that matrix: when it is singular (an item constant,
    or an exact linear combination of others, e.g. the same column twice)
    the discrepancy function is not defined and any "estimates" are
    artefacts. With missing answers (FIML) the EM estimate of the
    covariance matrix is checked. The message names the items that span the
    null direction.

    Raises
    ------
    DataError
        As :func:`xhs_sharing.sem.frames.observed_matrix` (a column absent or
        not numeric, too few respondents).
    EstimationError
        Smallest eigenvalue at most ``rel_tol`` times the largest.
    """
    cols = tuple(columns)
    x = observed_matrix(items, cols, allow_missing=True)
    s = em_moments(x).cov if np.isnan(x).any() else sample_covariance(x)
    ev, vec = np.linalg.eigh(s)
    if ev[0] > rel_tol * max(ev[-1], 0.0):
        return
    weights = np.abs(vec[:, 0])
    involved = [cols[i] for i in np.argsort(-weights, kind="stable") if weights[i] > 0.1]
    raise EstimationError(
        f"the sample covariance matrix of the {len(cols)} indicators is not positive definite "
        f"(smallest eigenvalue {ev[0]:.3g}): an item is constant or a linear combination of others "
        f"(items involved: {', '.join(involved)}); no model can be estimated from these items"
    )
