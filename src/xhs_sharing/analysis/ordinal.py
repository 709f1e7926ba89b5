"""The study's models with the items as ordered categories: lavaan's ``estimator = "WLSMV"``.

The analysis-layer face of :mod:`xhs_sharing.sem.ordinal` (thresholds,
polychoric correlations, Gamma) and :mod:`xhs_sharing.sem.wls` (DWLS in the
delta parameterization, robust standard errors, the scaled-shifted test), as
lavaan 0.6 fits ``sem(model, data, ordered = <all items>, estimator =
"WLSMV")`` (Muthen 1984; Muthen, du Toit & Spisic 1997; Asparouhov & Muthen
2010):

* :func:`fit_structural_wlsmv` -- the structural model as a
  :class:`~xhs_sharing.analysis.structural.StructuralResult` (so mediation,
  claims and the report read it as they read an ML fit);
* :func:`fit_cfa_wlsmv` -- the correlated-factors CFA as a
  :class:`~xhs_sharing.analysis.measurement.CfaResult`, with
  :func:`htmt_polychoric` beside it;
* :class:`WlsmvChunkFitter` -- refits bootstrap resamples by WLSMV for
  :func:`xhs_sharing.sem.bootstrap.bootstrap_refits` (and so for
  :func:`xhs_sharing.analysis.mediation.bootstrap_indirect`), with
  :func:`resample_category_events` counting the categories the resamples
  lose;
* :func:`category_counts` -- the item x category table the thresholds come from.

Parameters and their covariance. ``theta`` of the result is the structure's
whole parameter vector with the residual variances of the items set to
``1 - communality`` (lavaan's delta parameterization: they are not free, so
the implied matrix of the latent responses has a unit diagonal and
``std.all`` is lavaan's). ``acov`` is the robust (sandwich) covariance of the
free parameters, carried to ``theta`` by the Jacobian of that map
(``A V A'``, singular: the residual variances are functions of the rest), so
every delta-method SE of a function of ``theta`` (``std.all`` paths,
indirect effects) is the delta method on the free parameters, as lavaan's
``standardizedSolution()``. The thresholds are estimated in the first stage
and are not part of ``theta``; ``params`` lists them (``op == "|"``) with
their SEs ``sqrt(Gamma_kk / (N - 1))``.

Missing answers: WLSMV here uses listwise deletion (the complete rows); with
``missing="fiml"`` and missing answers it stops with a :class:`SpecError`
(pairwise deletion, lavaan's ``missing = "pairwise"``, is a later option).
Scale points nobody used are not categories (as in lavaan: their two
thresholds become one) and are counted in ``ordinal.unused``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from xhs_sharing.analysis.measurement import CfaResult, _cfa_tables, _standardizable, _validate_spec, cfa_syntax
from xhs_sharing.analysis.measurement import htmt_from_corr as _htmt_from_corr
from xhs_sharing.analysis.structural import StructuralResult, _params_table, _paths_tables, _r2_table
from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.bootstrap import CONVERGED, IMPROPER, NONCONVERGED, chunk_indices, chunk_sizes
from xhs_sharing.sem.checks import check_solutions, solution_problems
from xhs_sharing.sem.estimation import ModelFit
from xhs_sharing.sem.fit import ESTIMATOR_KEY, FIT_MEASURE_KEYS, rmsea_ci
from xhs_sharing.sem.frames import check_missing, numeric_columns
from xhs_sharing.sem.model import THETA, ModelStructure, check_syntax, load_model
from xhs_sharing.sem.ordinal import OrdinalData, ordinal_statistics, prepare_ordinal
from xhs_sharing.sem.resample import counts_from_indices
from xhs_sharing.sem.standardize import std_all_values, wald
from xhs_sharing.sem.wls import DeltaModel, WLSMVFit, bootstrap_wlsmv, fit_wlsmv
from xhs_sharing.study.spec import MISSING_DEFAULT

logger = logging.getLogger(__name__)

__all__ = [
    "DEGENERATE",
    "WLSMV",
    "OrdinalStructuralResult",
    "WlsmvChunkFitter",
    "category_counts",
    "fit_cfa_wlsmv",
    "fit_structural_wlsmv",
    "htmt_polychoric",
    "ordinal_items",
    "resample_category_events",
    "wlsmv_fit_measures",
]

#: The estimator's name, as lavaan's ``estimator =`` and the config's ``estimator``.
WLSMV: Final = "WLSMV"

#: lavaan's name of the robust standard errors of WLSMV (``se = "robust.sem"``).
ROBUST_SEM: Final = "robust.sem"

#: lavaan's name of WLSMV's test (``test = "scaled.shifted"``: mean-and-variance adjusted).
SCALED_SHIFTED: Final = "scaled.shifted"

#: Resamples whose polychorics and DWLS iterations run as one array computation inside a chunk
#: (memory about 4 MB per resample; results do not depend on it, every resample iterates on its own).
BATCH: Final = 128

#: Resample outcome: an item kept fewer than two categories (no threshold, no polychoric).
DEGENERATE: Final = "single_category_item"


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def ordinal_items(data: pd.DataFrame, items: Sequence[str], *, scale_points: int | None = None,
                  missing: str = MISSING_DEFAULT, n_free: int | None = None) -> OrdinalData:
    """The items of ``data`` as ordered categories after listwise deletion (:func:`~xhs_sharing.sem.ordinal.prepare_ordinal`).

    Parameters
    ----------
    data : pd.DataFrame
        Respondents x items, whole-number answers (NaN = missing).
    items : sequence of str
        Columns, in the model's order (thresholds and polychorics follow it).
    scale_points : int, optional
        ``K``: answers must be ``1..K``; unused scale points are recorded.
        Without it, and with whole-number answers, the scale is the answer
        range of all items together (the data stage warns when a survey
        misses a scale end), so an item lacking an answer other items use is
        recorded too.
    missing : {"listwise", "fiml"}
        The run's setting. WLSMV uses listwise deletion; ``"fiml"`` with a
        missing answer raises.
    n_free : int, optional
        Free parameters of the correlation structure: fewer complete rows
        than these plus the thresholds log a WARNING.

    Raises
    ------
    SpecError
        ``missing="fiml"`` and a missing answer.
    DataError
        Absent or non-numeric columns, answers off the scale, no complete row,
        an item with one category.
    """
    check_missing(missing)
    frame = numeric_columns(data, list(items))
    n_incomplete = int(frame.isna().any(axis=1).sum())
    if missing == "fiml" and n_incomplete:
        raise SpecError(
            f"estimator WLSMV uses listwise deletion, but data.missing is 'fiml' and {n_incomplete} "
            "respondents have missing answers: set data.missing: listwise (or estimator: ML/MLR for "
            "FIML); pairwise deletion under WLSMV is a later option"
        )
    scale = _scale(frame, scale_points)
    out = prepare_ordinal(frame.to_numpy(), list(items), scale=scale)
    if out.n_listwise_deleted:
        logger.info("WLSMV: %d of %d respondents with a missing answer deleted listwise",
                    out.n_listwise_deleted, out.n_rows_read)
    if n_free is not None and out.n < n_free + len(out.threshold_names):
        logger.warning("WLSMV: listwise deletion leaves %d respondents, fewer than the %d free parameters "
                       "(%d thresholds included): the estimates and tests are unreliable", out.n,
                       n_free + len(out.threshold_names), len(out.threshold_names))
    if out.n_unused_categories:
        logger.info("WLSMV: %d scale points unused (no category, their thresholds merged): %s",
                    out.n_unused_categories,
                    {nm: list(u) for nm, u in zip(out.names, out.unused, strict=True) if u})
    return out


def _scale(frame: pd.DataFrame, scale_points: int | None) -> tuple[float, ...] | None:
    """``1..K``, or without ``K`` the whole numbers from the smallest to the largest answer (None otherwise)."""
    if scale_points is not None:
        return tuple(float(k) for k in range(1, int(scale_points) + 1))
    values = frame.to_numpy()
    values = values[~np.isnan(values)]
    if values.size == 0 or not np.all(values == np.round(values)):
        return None
    return tuple(float(k) for k in range(int(values.min()), int(values.max()) + 1))


def category_counts(data: pd.DataFrame, items: Sequence[str], scale_points: int) -> pd.DataFrame:
    """Item x category counts of the complete rows: the margins the WLSMV thresholds come from.

    ``tau_k = Phi^-1(F_k)``, ``F_k`` the cumulative share of categories
    ``1..k`` (:func:`~xhs_sharing.sem.ordinal.thresholds_from_counts`). A
    count of 0 is a scale point that is not a category (its thresholds merge).

    Returns
    -------
    pd.DataFrame
        Columns ``item, n, c1 .. cK, categories`` (categories used).
    """
    frame = numeric_columns(data, list(items)).dropna(how="any")
    rows = []
    for item in items:
        col = frame[item].to_numpy()
        counts = {f"c{k}": int(np.sum(col == k)) for k in range(1, scale_points + 1)}
        rows.append({"item": item, "n": int(col.size), **counts,
                     "categories": int(sum(v > 0 for v in counts.values()))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# parameters of the structure from the free parameters of the delta model
# ---------------------------------------------------------------------------
def _residual_slots(model: DeltaModel) -> tuple[np.ndarray, np.ndarray]:
    """Parameter index of each item's residual variance and the item's position (data order)."""
    st = model.structure
    slots, pos = [], []
    for r in st.rows:
        if r.matrix == THETA and r.row == r.col and r.free >= 0 and r.free not in slots:
            slots.append(r.free)
            pos.append(model.items.index(r.lhs))
    return np.array(slots, dtype=np.intp), np.array(pos, dtype=np.intp)


def full_theta(model: DeltaModel, x: np.ndarray) -> np.ndarray:
    """The structure's parameter vector(s) for ``x`` ``(..., n_free)``: residual variances ``1 - communality``."""
    out = model.full(x)
    slots, pos = _residual_slots(model)
    out[..., slots] = model.residual_variances(x)[..., pos]
    return out


def full_acov(model: DeltaModel, x: np.ndarray, vcov: np.ndarray) -> np.ndarray:
    """``A V A'``: the covariance of :func:`full_theta` from that of ``x`` (``A`` its Jacobian).

    ``d theta_jj / d x = -d Sigma_jj / d x`` for the residual variances, the
    identity for the free parameters.
    """
    st = model.structure
    _, dsigma = st.sigma_derivatives(model.full(x))
    slots, pos = _residual_slots(model)
    a = np.zeros((st.n_params, model.n_free))
    a[model.free, np.arange(model.n_free)] = 1.0
    diag = np.diagonal(dsigma[model.free], axis1=1, axis2=2)[:, model.order]  # (n_free, p) data order
    a[slots] = -diag[:, pos].T
    return a @ vcov @ a.T


# ---------------------------------------------------------------------------
# fit measures
# ---------------------------------------------------------------------------
def wlsmv_fit_measures(fit: WLSMVFit) -> dict[str, Any]:
    """``fit.json`` / ``cfa_fit.json`` of a WLSMV fit: lavaan's measures, standard and scaled.

    The keys of :data:`~xhs_sharing.sem.fit.FIT_MEASURE_KEYS` hold lavaan's
    *standard* DWLS values (``chisq``, ``cfi``, ``tli``, ``rmsea``, ``srmr``;
    ``fitMeasures()`` names without suffix); the ``*_scaled`` keys the values
    from the mean-and-variance adjusted (scaled-shifted) statistic, lavaan's
    ``.scaled`` measures, with ``scaling_factor`` (``1 / a``; the names of
    MLR's keys, :data:`xhs_sharing.sem.fit.ROBUST_FIT_NAMES` on the MLR
    branch) and ``shift`` (``b``), ``test`` (``"scaled.shifted"``) and
    ``se`` (``"robust.sem"``). RMSEA and its 90% interval use ``N - 1`` (lavaan's
    ``ntotal - ngroups`` for DWLS; :func:`~xhs_sharing.sem.fit.rmsea_ci`), the
    scaled interval from ``T3`` on ``df`` (lavaan 0.6-14).
    """
    m = fit.measures
    n = float(m["ntotal"])
    df = float(m["df"])
    low, high = rmsea_ci(m["chisq"], df, n - 1.0)
    low_s, high_s = rmsea_ci(m["chisq.scaled"], df, n - 1.0)
    out: dict[str, Any] = {
        "chi2": m["chisq"], "df": int(df), "pvalue": m["pvalue"] if df > 0 else None,
        "cfi": m["cfi"], "tli": m["tli"], "rmsea": m["rmsea"], "rmsea_ci_low": low, "rmsea_ci_high": high,
        "srmr": m["srmr"], "n": int(n), "baseline_chi2": m["baseline.chisq"], "baseline_df": int(m["baseline.df"]),
    }
    out = {k: out[k] for k in FIT_MEASURE_KEYS}
    out.update({
        "chi2_scaled": m["chisq.scaled"], "pvalue_scaled": m["pvalue.scaled"] if df > 0 else None,
        "scaling_factor": _finite_or_none(m["chisq.scaling.factor"]),
        "shift": _finite_or_none(m["chisq.shift.parameters"]),
        "cfi_scaled": m["cfi.scaled"], "tli_scaled": m["tli.scaled"], "rmsea_scaled": m["rmsea.scaled"],
        "rmsea_ci_low_scaled": low_s, "rmsea_ci_high_scaled": high_s,
        "baseline_chi2_scaled": m["baseline.chisq.scaled"],
        "baseline_scaling_factor": m["baseline.chisq.scaling.factor"], "test": SCALED_SHIFTED, "se": ROBUST_SEM,
    })
    return out


def _finite_or_none(value: float) -> float | None:
    """``value``, or None where it is not finite (the scaling of a saturated model)."""
    return float(value) if np.isfinite(value) else None


# ---------------------------------------------------------------------------
# the structural model
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class OrdinalStructuralResult(StructuralResult):
    """A :class:`StructuralResult` of a WLSMV fit, with what only WLSMV has.

    Attributes
    ----------
    wlsmv : WLSMVFit
        The fit in the delta parameterization (free parameters ``x``, their
        robust covariance, tests, lavaan-named fit measures).
    ordinal : OrdinalData
        The coded complete rows (categories, unused scale points).
    measures : dict
        :func:`wlsmv_fit_measures`.
    model : DeltaModel
    """

    method: str = WLSMV
    wlsmv: WLSMVFit | None = None
    ordinal: OrdinalData | None = None
    measures: dict[str, Any] = field(default_factory=dict)
    model: DeltaModel | None = None


def _delta_model(syntax: str, lavaan_defaults: bool) -> tuple[DeltaModel, str]:
    """The :class:`DeltaModel` of ``syntax`` in its own observed order (no estimation) and the syntax fitted."""
    parsed = load_model(syntax, lavaan_defaults=lavaan_defaults)
    p = len(parsed.observed)
    structure: ModelStructure = parsed.structure_for(np.eye(p), p + 1)
    return DeltaModel.from_structure(structure, tuple(structure.observed)), parsed.syntax


def _fit(model: DeltaModel, data: pd.DataFrame, scale_points: int | None, missing: str) -> tuple[OrdinalData, WLSMVFit]:
    """Thresholds, polychorics, Gamma and the DWLS fit of ``model`` to the complete rows of ``data``."""
    odata = ordinal_items(data, model.items, scale_points=scale_points, missing=missing, n_free=model.n_free)
    stats = ordinal_statistics(odata)
    if stats.n_at_bound:
        logger.warning("WLSMV: %d polychoric correlations at the bound |rho| = .999", stats.n_at_bound)
    return odata, fit_wlsmv(model, stats, odata.threshold_names)


def _threshold_rows(fit: WLSMVFit) -> pd.DataFrame:
    """lavaan's threshold rows ``item | tk`` with their SEs ``sqrt(Gamma_kk / (N - 1))`` (``free = -1``: not in ``theta``)."""
    rows = [p for p in fit.parameters() if p.op == "|"]
    est, se = np.array([p.est for p in rows]), np.array([p.se for p in rows])
    w = wald(est, se)
    return pd.DataFrame(dict(lhs=[p.lhs for p in rows], op="|", rhs=[p.rhs for p in rows], label="", free=-1,
                             est=est, se=se, z=w["z"], pvalue=w["pvalue"], std_all=est))


def _params(model: DeltaModel, fit: WLSMVFit, theta: np.ndarray, acov: np.ndarray) -> pd.DataFrame:
    """The parameter table: residual variances as lavaan shows them (fixed, no SE), then the thresholds."""
    st = model.structure
    se = np.sqrt(np.clip(np.diag(acov), 0.0, None))
    table = _params_table(st, theta, se, np.real(std_all_values(st, theta)).astype(float))
    slots, _ = _residual_slots(model)
    fixed = table["free"].isin(slots.tolist()) & (table["op"] == "~~") & (table["lhs"] == table["rhs"])
    table.loc[fixed, ["se", "z", "pvalue"]] = np.nan
    table.loc[fixed, "free"] = -1
    return pd.concat([table, _threshold_rows(fit)], ignore_index=True)


def fit_structural_wlsmv(
    syntax: str,
    data: pd.DataFrame,
    *,
    scale_points: int | None = None,
    missing: str = MISSING_DEFAULT,
    allow_improper: bool = False,
    lavaan_defaults: bool = True,
) -> OrdinalStructuralResult:
    """Fit a latent SEM with every indicator ordinal by WLSMV (lavaan ``ordered =``, ``estimator = "WLSMV"``).

    Thresholds and polychorics of the complete rows (two-step, Olsson 1979),
    DWLS with the diagonal of Gamma as weight, robust (``robust.sem``)
    standard errors, the scaled-shifted test (module docstring,
    :mod:`xhs_sharing.sem.wls`). The tables are those of
    :func:`~xhs_sharing.analysis.structural.fit_structural`: ``paths`` with
    robust SEs, ``std_paths`` (``std.all`` in the delta parameterization,
    delta-method SEs from the robust covariance), ``r2``, ``params`` (with
    the thresholds). ``chi2``, ``df`` and ``fmin`` are lavaan's standard DWLS
    statistic (``chisq = (N - 1) F``); the scaled-shifted one is in
    ``measures``.

    Raises
    ------
    SpecError
        Bad syntax; ``missing="fiml"`` with missing answers (:func:`ordinal_items`).
    DataError
        See :func:`ordinal_items`.
    EstimationError
        DWLS did not converge; an improper solution (a residual variance
        ``1 - communality < 0``) unless ``allow_improper``.
    """
    check_syntax(syntax)
    model, fitted_syntax = _delta_model(syntax, lavaan_defaults)
    odata, fit = _fit(model, data, scale_points, missing)
    st = model.structure
    theta, acov = full_theta(model, fit.x), full_acov(model, fit.x, fit.vcov)
    problems = solution_problems(st, theta)
    if problems and not allow_improper:
        raise EstimationError("improper solution: " + "; ".join(problems))
    for msg in problems:
        logger.warning("improper solution: %s", msg)
    params = _params(model, fit, theta, acov)
    paths, std_paths = _paths_tables(st, params[params["op"] != "|"], theta, acov)
    return OrdinalStructuralResult(
        paths=paths, std_paths=std_paths, r2=_r2_table(st, theta), params=params, theta=theta, acov=acov,
        structure=st, syntax=fitted_syntax, n_obs=odata.n,
        chi2=float(fit.test.chisq), df=int(fit.test.df), fmin=float(fit.fmin), converged=fit.converged,
        n_iter=fit.iterations, problems=tuple(problems), input_syntax=syntax, estimator=WLSMV,
        information=ROBUST_SEM, wlsmv=fit, ordinal=odata, measures=wlsmv_fit_measures(fit), model=model,
    )


# ---------------------------------------------------------------------------
# the measurement model
# ---------------------------------------------------------------------------
def polychoric_frame(fit: WLSMVFit) -> pd.DataFrame:
    """The polychoric correlation matrix of a fit, labelled by item."""
    names = list(fit.model.items)
    return pd.DataFrame(fit.stats.polychoric, index=names, columns=names)


def htmt_polychoric(fit: WLSMVFit, items_by_construct: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """HTMT (Henseler, Ringle & Sarstedt 2015) on the polychoric correlations of a WLSMV fit.

    For ordinal items the correlations of the latent responses, the ones the
    model is fitted to, replace Pearson's: ``semTools::htmt(..., ordered =
    <items>)`` computes them with ``lavCor()`` (Jorgensen et al., semTools
    0.5; Henseler et al. 2015 define HTMT on whatever indicator
    correlations the model uses). Absolute values, as semTools' default.
    """
    return _htmt_from_corr(polychoric_frame(fit), items_by_construct, absolute=True)


def fit_cfa_wlsmv(
    data: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    *,
    scale_points: int | None = None,
    missing: str = MISSING_DEFAULT,
) -> CfaResult:
    """The correlated-factors CFA (:func:`~xhs_sharing.analysis.measurement.cfa_syntax`) by WLSMV.

    What :func:`~xhs_sharing.analysis.measurement.fit_cfa` gives under ML,
    for ordered items (lavaan ``cfa(..., ordered = <items>, estimator =
    "WLSMV")``):

    * ``loadings``: ``est`` with robust SEs, ``std_all`` (the loading times
      the factor's SD: the latent responses have unit variance), and
      ``resid_var = 1 - std_all^2`` (delta parameterization);
    * ``latent_corr``; ``sample_cov`` is the polychoric matrix, so
      :func:`~xhs_sharing.analysis.measurement.reliability_table`'s CR and AVE
      (from ``std_all``; Fornell & Larcker 1981) and semTools' ``compRelSEM``
      (here with ``ord.scale = FALSE``: reliability of the latent responses)
      and ``AVE`` describe the latent-response scale;
    * ``fit``: :func:`wlsmv_fit_measures` (standard and scaled, SRMR) with
      ``"estimator": "WLSMV"`` and ``"missing": "listwise"``.

    Raises
    ------
    SpecError, DataError, EstimationError
        As :func:`fit_structural_wlsmv`, and a latent variance <= 0.
    """
    spec = _validate_spec(items_by_construct)
    syntax = cfa_syntax(spec)
    model, _ = _delta_model(syntax, lavaan_defaults=False)
    odata, fit = _fit(model, data, scale_points, missing)
    theta, acov = full_theta(model, fit.x), full_acov(model, fit.x, fit.vcov)
    estimates = ModelFit(model.structure, theta, acov, odata.n, float(fit.fmin), fit.iterations)
    problems = _standardizable(estimates, list(spec))
    loadings, latent_corr = _cfa_tables(estimates, spec)
    measures = wlsmv_fit_measures(fit)
    measures.update({ESTIMATOR_KEY: WLSMV, "missing": "listwise"})
    return CfaResult(
        estimates=estimates, syntax=syntax, loadings=loadings, latent_corr=latent_corr, fit=measures,
        n=odata.n, estimator=WLSMV, problems=tuple(problems), sample_cov=polychoric_frame(fit), method=WLSMV,
    )


# ---------------------------------------------------------------------------
# the bootstrap
# ---------------------------------------------------------------------------
class WlsmvChunkFitter:
    """Refits every resample of a chunk by WLSMV, all at once (:func:`~xhs_sharing.sem.wls.bootstrap_wlsmv`).

    The :class:`~xhs_sharing.sem.bootstrap.ChunkFitter` of a WLSMV fit: each
    resample gets its own thresholds, polychorics and DWLS weights from its
    bivariate tables (a reweighting of the full sample's respondents), then
    the batched DWLS iterations from the full-sample estimates. A category of
    the full sample that a resample does not draw is *merged* with its
    neighbour (the resample's thresholds and polychorics are those of the
    resample recoded without it; lavaan's ``bootstrapLavaan`` fails such a
    resample instead) and the resample is kept; :func:`resample_category_events`
    counts these. Statuses: ``converged``; :data:`DEGENERATE` (an item left
    with one category: no polychoric); ``nonconverged``; ``improper``
    (a residual variance ``1 - communality < 0`` or a non-positive-definite
    latent matrix). Picklable: chunks may run in worker processes.

    Parameters
    ----------
    fit : OrdinalStructuralResult
        The full-sample WLSMV fit; the chunk fitter's ``data`` rows must be its
        complete rows, in order.
    """

    handles_missing = False

    def __init__(self, fit: OrdinalStructuralResult) -> None:
        if fit.wlsmv is None or fit.ordinal is None or fit.model is None:
            raise SpecError("WlsmvChunkFitter needs a WLSMV fit (fit_structural_wlsmv)")
        self.model, self.ordinal, self.full = fit.model, fit.ordinal, fit.wlsmv

    def __call__(self, structure: ModelStructure, data: np.ndarray, indices: np.ndarray,
                 theta0: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if data.shape[0] != self.ordinal.n:
            raise SpecError(f"the bootstrap data have {data.shape[0]} rows, the WLSMV fit {self.ordinal.n}")
        counts = counts_from_indices(indices, self.ordinal.n)
        boot = bootstrap_wlsmv(self.model, self.ordinal, counts, self.full, chunk_size=BATCH)
        thetas = full_theta(self.model, np.where(boot.converged[:, None], boot.estimates, self.full.x))
        proper = check_solutions(structure, thetas).proper
        thetas[~boot.converged] = np.nan
        status = [CONVERGED if ok and good else DEGENERATE if deg else NONCONVERGED if not ok else IMPROPER
                  for ok, good, deg in zip(boot.converged, proper, boot.ordinal.degenerate, strict=True)]
        return thetas, status


def resample_category_events(ordinal: OrdinalData, *, n_resamples: int, seed: int,
                             chunk_size: int) -> dict[str, Any]:
    """Categories the bootstrap resamples lose, replayed from the resamples' random streams.

    Draws the same resamples as :func:`~xhs_sharing.sem.bootstrap.bootstrap_refits`
    (chunk ``k`` from child ``k`` of ``SeedSequence(seed)``,
    :func:`~xhs_sharing.sem.bootstrap.chunk_indices`) and counts, from their
    item margins, the categories of the full sample each resample does not
    draw. Such a category is merged with its neighbour in the refit
    (:class:`WlsmvChunkFitter`); a resample in which an item keeps a single
    category cannot be refitted (:data:`DEGENERATE`).

    Returns
    -------
    dict
        ``treatment`` (how they were handled), ``resamples_with_merged_categories``,
        ``merge_events`` (resample x item pairs with a merged category),
        ``merged_categories`` (categories merged, summed), ``by_item`` (merge
        events per item, items with none left out), ``degenerate_resamples``,
        and for the full sample ``unused_scale_points`` (item -> scale points
        nobody used) and ``n_unused_scale_points``.
    """
    n = ordinal.n
    onehot = np.zeros((n, int(ordinal.n_categories.sum())))
    starts = np.concatenate([[0], np.cumsum(ordinal.n_categories)])
    onehot[np.arange(n)[:, None], starts[:-1] + ordinal.codes] = 1.0
    sizes = chunk_sizes(n_resamples, chunk_size)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    empty = np.vstack([_empty_categories(counts_from_indices(chunk_indices(s, b, n), n) @ onehot, starts)
                       for s, b in zip(streams, sizes, strict=True)])
    by_item = {nm: int(v) for nm, v in zip(ordinal.names, (empty > 0).sum(axis=0), strict=True) if v}
    unused = {nm: [int(v) for v in u] for nm, u in zip(ordinal.names, ordinal.unused, strict=True) if u}
    return {
        "treatment": "a category of the full sample not drawn in a resample is merged with its neighbour "
                     "(its two thresholds coincide); the resample is kept",
        "resamples_with_merged_categories": int((empty > 0).any(axis=1).sum()),
        "merge_events": int((empty > 0).sum()),
        "merged_categories": int(empty.sum()),
        "by_item": by_item,
        "degenerate_resamples": int((empty >= (ordinal.n_categories - 1)[None, :]).any(axis=1).sum()),
        "unused_scale_points": unused,
        "n_unused_scale_points": int(ordinal.n_unused_categories),
    }


def _empty_categories(margins: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``(B, p)`` categories with a zero count, per item, from ``(B, sum K_j)`` margins."""
    zero = margins == 0
    return np.stack([zero[:, a:b].sum(axis=1) for a, b in zip(starts[:-1], starts[1:], strict=True)], axis=1)
