"""The structural step of the workflow: the latent model, its mediation analysis and equivalence tests.

:func:`run_structural` computes every table of ``results/structural/`` from
the analysis table of the survey; ``scripts/structural.py`` only reads the
inputs and writes the outputs.  It is a sequence of small steps, each usable
on its own:

1. :func:`fit_model` -- the full structural model (measurement plus every
   path of the study, including the zero-valued direct paths), fitted by ML
   or FIML; a model that cannot be estimated stops the step, an improper
   solution is logged and kept;
2. :func:`choose_chunk_fitter` -- how the bootstrap resamples are refitted
   (batched Fisher scoring, one by one, or one by one by FIML when answers
   are missing);
3. :func:`run_bootstrap` -- the percentile bootstrap of the effects
   (:func:`xhs_sharing.analysis.mediation.bootstrap_indirect`; Efron &
   Tibshirani 1993), left empty when no resample around an improper
   solution is proper;
4. the Monte Carlo intervals
   (:func:`xhs_sharing.analysis.mediation.monte_carlo_indirect`; Selig &
   Preacher 2008);
   the effects are those of every chain of two or more paths
   (:func:`xhs_sharing.study.syntax.mediation_chains`: ``X -> M -> Y`` and
   serial chains ``X -> M1 -> M2 -> Y`` alike), so the specific indirect
   effects of each pair sum to its total indirect effect;
5. the tables: :func:`~xhs_sharing.analysis.mediation.indirect_effects_table`
   and :func:`equivalence_table` (TOST, Schuirmann 1987; Lakens 2017);
6. :func:`fit_summary` (``fit.json``) and :func:`bootstrap_summary`
   (``bootstrap.json``).

Every setting defaults to the value of the config JSON Schema
(:func:`xhs_sharing.study.spec.config_defaults`), so a Python caller using the
defaults gets the numbers of the pipeline run with the default configuration.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from xhs_sharing.analysis.diagnostics import nonconvergence_hint
from xhs_sharing.analysis.mediation import (
    BootstrapResult,
    Chain,
    EffectDraws,
    TostResult,
    bootstrap_indirect,
    chain_bound,
    indirect_effects_table,
    mediator_label,
    monte_carlo_indirect,
    tost_draws,
    tost_effect,
    tost_path,
    tost_wald,
)
from xhs_sharing.analysis.mediation_contrasts import add_bootstrap_columns, contrasts_table
from xhs_sharing.analysis.ordinal import OrdinalStructuralResult, WlsmvChunkFitter, resample_category_events
from xhs_sharing.analysis.pls_structural import PlsOutputs, run_pls_structural
from xhs_sharing.analysis.structural import (
    StructuralResult,
    check_estimator,
    fit_structural,
    is_pls,
    missing_label,
    require_positive_definite_covariance,
)
from xhs_sharing.analysis.structural_tables import f2_table, latent_covariance_table, r2_intervals
from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.pipeline.fit_extras import structural_extras
from xhs_sharing.results import BY_KEY, FIT_COLUMNS, with_estimator
from xhs_sharing.sem.batched import BatchedChunkFitter, BatchedModel
from xhs_sharing.sem.bootstrap import (
    BootstrapFailure,
    BootstrapProgress,
    ChunkFitter,
    FimlChunkFitter,
    fast_start_method,
    fit_chunk,
)
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.fiml_batched import BatchedFimlChunkFitter
from xhs_sharing.sem.fit import ESTIMATOR_KEY, fit_measures, robust_fit_measures
from xhs_sharing.study.spec import Study, config_defaults, load_schema
from xhs_sharing.study.syntax import mediation_chains, structural_syntax

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULTS",
    "BootstrapRun",
    "StructuralOutputs",
    "bootstrap_summary",
    "choose_chunk_fitter",
    "equivalence_table",
    "fit_model",
    "fit_summary",
    "run_bootstrap",
    "run_structural",
    "run_structural_pls",
]

_CONFIG: Final = config_defaults()

#: Defaults of the ``structural`` section of the config (from its JSON Schema):
#: ``bootstrap``, ``chunk_size``, ``engine``, ``mc_draws``, ``sesoi``, ``max_failure_rate``.
DEFAULTS: Final[dict[str, Any]] = _CONFIG["structural"]

ENGINES: Final = tuple(load_schema("config.schema.yaml")["properties"]["structural"]["properties"]["engine"]["enum"])
"""Bootstrap engines a run may ask for (the config's ``structural.engine``)."""


@dataclass
class StructuralOutputs:
    """Every table of ``results/structural/``.

    ``pls`` holds the PLS tables under PLS and PLSc (keys ``pls_outer``,
    ``pls_quality``, ``pls_htmt``, ``pls_inner`` of :mod:`xhs_sharing.results`),
    and is empty under the covariance-based estimators.
    """

    syntax: str
    paths: pd.DataFrame
    r2: pd.DataFrame
    fit: dict[str, Any]
    indirect_effects: pd.DataFrame
    bootstrap: dict[str, Any]
    equivalence: pd.DataFrame
    std_paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    latent_covariances: pd.DataFrame = field(default_factory=pd.DataFrame)
    r2_intervals: pd.DataFrame = field(default_factory=pd.DataFrame)
    f2: pd.DataFrame = field(default_factory=pd.DataFrame)
    residual_correlations: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    modindices: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    indirect_contrasts: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    pls: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class BootstrapRun:
    """Outcome of :func:`run_bootstrap`.

    Attributes
    ----------
    result : BootstrapResult or None
        The bootstrap draws; None when the bootstrap around an improper
        solution failed.
    error : str or None
        Why ``result`` is None.
    engine : str
        Engine that refitted the resamples (``"one-by-one FIML"`` under FIML).
    failures : dict of str to int
        Failed resamples by reason when ``result`` is None (the result holds them otherwise).
    judged : int
        Resamples refitted before the bootstrap stopped (0 when it did not stop).
    """

    result: BootstrapResult | None
    error: str | None
    engine: str
    failures: dict[str, int] = dataclasses.field(default_factory=dict)
    judged: int = 0


def fit_model(
    items: pd.DataFrame, study: Study, missing: str, estimator: str = _CONFIG["estimator"],
) -> tuple[str, StructuralResult]:
    """Fit the full structural model of ``study``; stop if it cannot be estimated.

    The model (:func:`~xhs_sharing.study.syntax.structural_syntax`) is fitted
    by ML, or by FIML with ``missing="fiml"`` and missing answers in
    ``items``; ``estimator`` (ML, MLR, WLSMV) goes to
    :func:`~xhs_sharing.analysis.structural.fit_structural`, the one place
    the structural step's estimator is chosen.  An improper but converged
    solution is kept (its problems are logged as a WARNING and stay in
    ``fit.problems``).

    Returns
    -------
    syntax : str
        The lavaan syntax of the model.
    fit : StructuralResult

    Raises
    ------
    EstimationError
        The sample covariance matrix of the indicators is not positive
        definite, the iterations do not converge, or the information matrix
        is singular (the model is not identified).
    """
    syntax = structural_syntax(study)
    require_positive_definite_covariance(items, study.item_ids)
    try:
        fit = fit_structural(syntax, items, missing=missing, allow_improper=True, estimator=estimator)
    except EstimationError as exc:  # name where to look (issue 19 point 2: it named nothing)
        raise EstimationError(f"the structural model cannot be estimated: {exc}. "
                              f"{nonconvergence_hint(items, study, missing)}".rstrip()) from exc
    # A singular information matrix is the one diagnosis of fit_structural that is
    # not about the solution: the model is not identified, there are no estimates.
    solution = solution_problems(fit.structure, fit.theta)
    unidentified = [p for p in fit.problems if p not in solution]
    if unidentified:
        raise EstimationError("the structural model cannot be estimated: " + "; ".join(unidentified))
    if fit.problems:
        logger.warning("the structural solution is IMPROPER (%s): every output is written, marked "
                       "\"proper\": false in fit.json, and no claim can be reproduced on it",
                       "; ".join(fit.problems))
    return syntax, fit


def choose_chunk_fitter(
    fit: StructuralResult, items: pd.DataFrame, engine: str, n_jobs: int, max_failure_rate: float | None = None,
) -> tuple[ChunkFitter, str, int]:
    """The chunk fitter of the bootstrap for ``engine``, the engine it is, and the worker count.

    * FIML fit (missing answers): ``"batched"`` refits all resamples of a
      chunk by FIML at once
      (:class:`~xhs_sharing.sem.fiml_batched.BatchedFimlChunkFitter`,
      count-weighted moments of each missing-data pattern), ``"one-by-one"``
      one at a time (:class:`~xhs_sharing.sem.bootstrap.FimlChunkFitter`,
      the reference: same estimates to about 1e-8);
    * ``"batched"``: :class:`~xhs_sharing.sem.batched.BatchedChunkFitter`;
      the members the batch does not converge are refitted one by one only
      around a proper full-sample solution, and only while the chunk's
      improper share stays within ``max_failure_rate`` (else the early stop
      is certain);
    * ``"one-by-one"``: :func:`~xhs_sharing.sem.bootstrap.fit_chunk`.

    Every engine refits its chunks on ``n_jobs`` worker processes (the
    rule's threads), forked where the platform allows
    (:func:`~xhs_sharing.sem.bootstrap.fast_start_method`); the chunks and
    their random streams are fixed by the seed and ``chunk_size``, so the
    results are the same bytes for any ``n_jobs``.

    MLR has ML's point estimates, so its resamples are ML (FIML) refits and
    its bootstrap intervals are the ML bootstrap's (lavaan's
    ``bootstrapLavaan`` of an MLR fit likewise returns ML estimates). WLSMV
    refits go through :func:`wlsmv_chunk_fitter`.
    """
    if fit.method == "WLSMV":
        return wlsmv_chunk_fitter(fit, items, engine, n_jobs)
    if fit.estimator == "FIML":
        logger.info("%d of %d respondents have missing answers (%d patterns): every bootstrap "
                    "resample is refitted by FIML (%s)",
                    int(items[list(fit.structure.observed)].isna().any(axis=1).sum()), fit.n_obs,
                    fit.n_patterns, engine)
        if engine == "batched":  # on n_jobs workers, one thread each (threads in workers oversubscribe)
            return BatchedFimlChunkFitter.from_fit(fit, n_threads=1 if n_jobs > 1 else None), "batched FIML", n_jobs
        return FimlChunkFitter.from_fit(fit), "one-by-one FIML", n_jobs
    if engine == "batched":
        return BatchedChunkFitter(BatchedModel.from_fit(fit), refit=fit.proper,
                                  refit_above=max_failure_rate), engine, n_jobs
    return fit_chunk, engine, n_jobs


def wlsmv_chunk_fitter(
    fit: StructuralResult, items: pd.DataFrame, engine: str, n_jobs: int
) -> tuple[ChunkFitter, str, int]:
    """The chunk fitter of a WLSMV bootstrap (:class:`~xhs_sharing.analysis.ordinal.WlsmvChunkFitter`).

    Every resample of a chunk gets its own thresholds, polychorics and DWLS
    weights and is refitted by DWLS, all at once, whatever ``engine`` says
    (``"batched WLSMV"``); chunks run on ``n_jobs`` worker processes. A
    category a resample does not draw is merged with its neighbour and
    counted (:func:`bootstrap_summary`).
    """
    if not isinstance(fit, OrdinalStructuralResult):
        raise SpecError("a WLSMV bootstrap needs the WLSMV fit of fit_structural(..., estimator='WLSMV')")
    return WlsmvChunkFitter(fit), "batched WLSMV", n_jobs


def run_bootstrap(
    items: pd.DataFrame,
    syntax: str,
    fit: StructuralResult,
    chains: Sequence[Chain],
    *,
    n_boot: int,
    seed: int,
    chunk_size: int,
    engine: str,
    n_jobs: int,
    progress: Callable[[BootstrapProgress], None] | None = None,
    max_failure_rate: float | None = None,
    hint: str = "",
) -> BootstrapRun:
    """Percentile bootstrap of every effect of ``chains``, also around an improper solution.

    :func:`~xhs_sharing.analysis.mediation.bootstrap_indirect` refuses an
    improper full-sample fit so that no caller bootstraps one silently; here
    the problems are already logged and recorded (:func:`fit_model`), and
    each resample is screened on its own by the chunk fitter.  If then no
    resample is proper, or more than ``max_failure_rate`` of the first
    chunks' fail, the bootstrap is left empty (``error`` says why,
    ``failures`` counts the reasons); with a proper fit every failure
    propagates, an early stop as :class:`~xhs_sharing.sem.bootstrap.BootstrapFailure`
    whose message ends with ``hint`` (the likely cause) and how to go on.
    """
    fitter, engine_used, n_jobs = choose_chunk_fitter(fit, items, engine, n_jobs, max_failure_rate)
    boot_fit = fit if fit.proper else dataclasses.replace(fit, problems=())
    boot: BootstrapResult | None = None
    error: str | None = None
    failures: dict[str, int] = {}
    judged = 0
    started = time.perf_counter()
    try:
        boot = bootstrap_indirect(items, syntax, chains, n_boot, seed, chunk_size=chunk_size, n_jobs=n_jobs,
                                  progress=progress, full_fit=boot_fit, chunk_fitter=fitter,
                                  max_failure_rate=max_failure_rate, mp_context=fast_start_method())
    except EstimationError as exc:
        if fit.proper and isinstance(exc, BootstrapFailure) and exc.early:
            raise BootstrapFailure(f"{exc}.{hint} To accept such intervals anyway, raise "
                                   "structural.max_failure_rate (1 never stops).", exc.failures, exc.judged,
                                   early=True) from exc
        if fit.proper:
            raise
        error = str(exc)
        if isinstance(exc, BootstrapFailure):
            failures, judged = exc.failures, exc.judged
        logger.warning("bootstrap around the improper solution failed (%s): the bootstrap intervals "
                       "are left empty", exc)
    elapsed = time.perf_counter() - started
    logger.info("bootstrap (%s): %d refits in %.1f s, %.1f ms per refit", engine_used, judged or n_boot,
                elapsed, 1000.0 * elapsed / (judged or n_boot))
    return BootstrapRun(boot, error, engine_used, failures, judged)


EQUIVALENCE_COLUMNS: Final = ("id", "kind", "estimate", "se", "ci90_low", "ci90_high", "sesoi", "pvalue", "verdict",
                               "sesoi_path", "bound_links")
"""Columns of ``equivalence.csv`` before ``estimator``."""


def _equivalence_row(claim: Any, res: TostResult, sesoi_path: float | None = None,
                     bound_links: str = "") -> dict[str, Any]:
    """One row of ``equivalence.csv``; ``sesoi_path`` is the path bound (the row's own bound unless derived)."""
    return {"id": claim.id, "kind": claim.kind, "estimate": res.estimate, "se": res.se, "ci90_low": res.ci_low,
            "ci90_high": res.ci_high, "sesoi": res.sesoi, "pvalue": res.p_value, "verdict": res.verdict,
            "sesoi_path": float(res.sesoi if sesoi_path is None else sesoi_path), "bound_links": bound_links}


def equivalence_table(
    study: Study, fit: StructuralResult, boot: BootstrapResult | None, sesoi: float,
    mc: EffectDraws | None = None,
) -> pd.DataFrame:
    """TOST equivalence tests of every claim the paper reports as not significant.

    Paths use the standardized estimate and its delta-method SE
    (:func:`~xhs_sharing.analysis.mediation.tost_path`) against ``(-sesoi, sesoi)``;
    indirect effects use the 90% percentile-bootstrap interval of the
    standardized effect (:func:`~xhs_sharing.analysis.mediation.tost_effect`),
    or the Monte Carlo draws ``mc`` when there is no bootstrap (``boot`` None:
    it failed on an improper solution), against the bound derived from the
    path bound (:func:`~xhs_sharing.analysis.mediation.chain_bound`: ``sesoi``
    times the other links' ``|beta|``). Schuirmann 1987; Lakens 2017.
    ``sesoi`` is the bound each row used, ``sesoi_path`` the path bound and
    ``bound_links`` the links whose ``|beta|`` multiply it (empty for a path).
    """
    draws = boot if boot is not None else mc
    rows = []
    for claim in study.claims:
        if claim.expected != "not_significant":
            continue
        links: tuple[str, ...] = ()
        if claim.kind == "path":
            res = tost_path(fit, claim.path[1], claim.path[0], sesoi=sesoi)
        else:
            x, *mediators, y = claim.path
            chain = list(zip(claim.path[:-1], claim.path[1:], strict=True))
            bound = chain_bound(chain, [float(fit.std_path(b, a)["std_all"]) for a, b in chain], sesoi)
            links = tuple(f"{a}->{b}" for a, b in bound.other_links)
            res = tost_effect(draws, x, y, effect="indirect", mediator=mediator_label(mediators), sesoi=bound.bound)
        rows.append({
            "id": claim.id, "kind": claim.kind, "estimate": res.estimate, "se": res.se,
            "ci90_low": res.ci_low, "ci90_high": res.ci_high, "sesoi": res.sesoi,
            "pvalue": res.p_value, "verdict": res.verdict, "sesoi_path": float(sesoi), "bound_links": " ".join(links),
        })
    return pd.DataFrame(rows, columns=["id", "kind", "estimate", "se", "ci90_low", "ci90_high",
                                       "sesoi", "pvalue", "verdict", "sesoi_path", "bound_links"])


def fit_summary(fit: StructuralResult, items: pd.DataFrame, missing: str) -> dict[str, Any]:
    """``fit.json``: lavaan's fit measures, the estimator, and whether the solution is proper.

    ``"estimator"`` is the configured one (ML, MLR, WLSMV), ``"missing"``
    ``"fiml"`` when the FIML likelihood was used. Under MLR the scaled test
    and the robust indices follow the standard ones
    (:func:`~xhs_sharing.sem.fit.robust_fit_measures`).

    ``"proper"`` and ``"problems"`` are always present (``True, []`` for a
    proper solution), so the claims step and the report can say so.
    """
    if isinstance(fit, OrdinalStructuralResult):  # WLSMV: standard and scaled-shifted measures of the DWLS fit
        out: dict[str, Any] = dict(fit.measures)
    else:
        out = dict(fit_measures(fit, items, missing=missing))
    out[ESTIMATOR_KEY] = fit.method
    out["missing"] = missing_label(fit.estimator)
    if fit.mlr is not None:
        out.update(robust_fit_measures(fit.mlr))
    out["proper"] = fit.proper
    out["problems"] = list(fit.problems)
    return out


MLR_BOOTSTRAP_NOTE: Final = (
    "MLR has the ML point estimates, so the resamples are ML refits and the percentile-bootstrap intervals are "
    "the ML bootstrap's (no extra cost); the Monte Carlo intervals draw from the robust (sandwich) covariance"
)
"""``bootstrap.json``'s ``note`` (and the log's line) under MLR."""


def bootstrap_summary(
    run: BootstrapRun,
    fit: StructuralResult,
    *,
    n_boot: int,
    seed: int,
    chunk_size: int,
    engine: str,
    mc_draws: int,
    mc_seed: int,
    max_failure_rate: float = DEFAULTS["max_failure_rate"],
) -> dict[str, Any]:
    """``bootstrap.json``: resamples requested, converged and failed (by reason), seeds and engines.

    Without bootstrap draws every resample counts as failed, ``"error"``
    says why, ``"failures"`` counts the reasons of the resamples refitted
    and ``"stopped_after"`` how many there were when the bootstrap stopped
    early; ``"max_failure_rate"`` records the early-stop threshold; ``"engine_requested"`` appears when the engine used differs
    from the configured ``engine`` (FIML, WLSMV). ``"estimator"`` and
    ``"missing"`` as in ``fit.json``; under MLR ``"note"`` says that the
    bootstrap intervals are the ML bootstrap's (:data:`MLR_BOOTSTRAP_NOTE`).
    Under WLSMV ``"categories"`` counts the categories the resamples lost
    (merged with a neighbour, the resample kept;
    :func:`~xhs_sharing.analysis.ordinal.resample_category_events`) and the
    scale points nobody used in the full sample; resamples with an item left
    in one category fail with ``single_category_item``.
    """
    if run.result is not None:
        out: dict[str, Any] = dict(run.result.summary())
    else:  # no draws: every resample counts as failed, the reasons those of the resamples refitted
        out = {"requested": n_boot, "converged": 0, "failed": n_boot, "seed": seed,
               "failures": dict(run.failures), "error": run.error}
        if run.judged and run.judged < n_boot:
            out["stopped_after"] = run.judged
    out.update(chunk_size=chunk_size, engine=run.engine, max_failure_rate=max_failure_rate)
    if run.engine != engine:
        out["engine_requested"] = engine
    out.update(mc_draws=mc_draws, mc_seed=mc_seed, estimator=fit.method, missing=missing_label(fit.estimator),
               mc_information=fit.information)
    if fit.method == "MLR":
        out["note"] = MLR_BOOTSTRAP_NOTE
    if isinstance(fit, OrdinalStructuralResult) and fit.ordinal is not None:
        out["categories"] = resample_category_events(fit.ordinal, n_resamples=n_boot, seed=seed,
                                                     chunk_size=chunk_size)
    return out


def run_structural(
    items: pd.DataFrame,
    study: Study,
    *,
    boot_seed: int,
    mc_seed: int,
    n_boot: int = DEFAULTS["bootstrap"],
    chunk_size: int = DEFAULTS["chunk_size"],
    mc_draws: int = DEFAULTS["mc_draws"],
    sesoi: float = DEFAULTS["sesoi"],
    engine: str = DEFAULTS["engine"],
    n_jobs: int = 1,
    progress: Callable[[BootstrapProgress], None] | None = None,
    missing: str = _CONFIG["data"]["missing"],
    estimator: str = _CONFIG["estimator"],
    max_failure_rate: float = DEFAULTS["max_failure_rate"],
    hint: str = "",
) -> StructuralOutputs:
    """Fit the latent structural model and its mediation analysis (the workflow's structural step).

    The full model is fitted by ML (:func:`fit_model`); indirect, direct and
    total effects get percentile-bootstrap (:func:`run_bootstrap`) and Monte
    Carlo intervals; the paper's null findings get TOST equivalence tests
    (:func:`equivalence_table`).

    Parameters
    ----------
    items : pd.DataFrame
        The analysis table (one column per item).
    study : Study
    boot_seed, mc_seed : int
        Seeds of the bootstrap and of the Monte Carlo draws (the pipeline
        derives them from the master seed: ``stream_seed(seed, "bootstrap")``
        and ``stream_seed(seed, "mc_intervals")``).
    n_boot, chunk_size, mc_draws, sesoi, engine
        The config's ``structural`` settings ``bootstrap``, ``chunk_size``,
        ``mc_draws``, ``sesoi``, ``engine``; each defaults to its value in
        the config JSON Schema (:data:`DEFAULTS`).
    n_jobs : int, default 1
        Worker processes of the one-by-one bootstrap.
    progress : callable, optional
        Called after every bootstrap chunk.
    missing : {"listwise", "fiml"}
        The run's missing-data setting (default from the config schema).
        With ``missing="fiml"`` and missing answers in ``items`` the model is
        fitted by FIML (``fit`` says ``"estimator": "FIML"``; standard errors
        and the Monte Carlo intervals use the observed information) and the
        bootstrap refits every resample by FIML one at a time (same streams
        and chunks; ``bootstrap["engine"]`` is ``"one-by-one FIML"``,
        ``bootstrap["engine_requested"]`` the configured one). With no
        missing value both settings give identical outputs.
    estimator : {"ML", "MLR", "WLSMV", "PLS", "PLSc"}
        The run's estimator (the config's ``estimator``, default from its
        schema; PLS and PLSc: :func:`run_structural_pls`); ``fit["estimator"]`` and ``bootstrap["estimator"]`` record
        it, ``fit["missing"]`` and ``bootstrap["missing"]`` the handling of
        missing answers (``"fiml"``: the FIML likelihood; MLR with FIML is
        lavaan's ``estimator = "MLR", missing = "ml"``).
    max_failure_rate : float
        The config's ``structural.max_failure_rate``: the bootstrap stops
        when more than this share of its first chunks' resamples fails
        (:func:`run_bootstrap`); ``hint``, the likely cause (the measurement
        diagnostics' findings), ends that error.

    Returns
    -------
    StructuralOutputs
        Every table of estimates ends with the column ``estimator``.

    Notes
    -----
    Estimation problems follow the issue's rule (reported as such, never as
    numbers that look fine):

    * no numbers to show, so the step stops with :class:`EstimationError`
      naming the problem: the sample covariance matrix of the indicators is
      not positive definite, the ML (FIML) iterations do not converge, or the
      information matrix is singular (the model is not identified);
    * an improper but converged solution (a negative (residual) variance, a
      non-positive-definite latent or implied covariance matrix) is kept:
      every problem is logged as a WARNING, every output is written, and
      ``fit`` records ``"proper": False`` with the ``"problems"``. The
      bootstrap still runs, each resample judged on its own; if no resample
      gives a proper solution the bootstrap intervals are left empty
      (``bootstrap["error"]`` says why) and the equivalence tests of
      indirect effects use the Monte Carlo draws.
    """
    if engine not in ENGINES:
        raise SpecError(f"engine must be 'batched' or 'one-by-one', got {engine!r}")
    check_estimator(estimator)
    if is_pls(estimator):
        return run_structural_pls(items, study, estimator=estimator, boot_seed=boot_seed, n_boot=n_boot,
                                  chunk_size=chunk_size, sesoi=sesoi, n_jobs=n_jobs, missing=missing)
    syntax, fit = fit_model(items, study, missing, estimator)
    if fit.method == "MLR":
        logger.info("estimator MLR: %s", MLR_BOOTSTRAP_NOTE)
    chains = mediation_chains(study)
    boot = run_bootstrap(items, syntax, fit, chains, n_boot=n_boot, seed=boot_seed, chunk_size=chunk_size,
                         engine=engine, n_jobs=n_jobs, progress=progress, max_failure_rate=max_failure_rate,
                         hint=hint)
    mc = monte_carlo_indirect(fit, chains, seed=mc_seed, n_draws=mc_draws)
    fit_doc = fit_summary(fit, items, missing)
    extras = structural_extras(fit, items, fit_doc)  # issue 17: logl, AIC, BIC, p-close, estimation; residuals, MIs
    return StructuralOutputs(
        syntax=syntax,
        paths=with_estimator(fit.paths, fit.method),
        r2=with_estimator(fit.r2, fit.method),
        fit={**fit_doc, **extras.measures},
        indirect_effects=with_estimator(add_bootstrap_columns(
            indirect_effects_table(fit, chains, boot=boot.result, mc=mc), boot.result), fit.method),
        bootstrap=bootstrap_summary(boot, fit, n_boot=n_boot, seed=boot_seed, chunk_size=chunk_size,
                                    engine=engine, mc_draws=mc_draws, mc_seed=mc_seed,
                                    max_failure_rate=max_failure_rate),
        equivalence=with_estimator(equivalence_table(study, fit, boot.result, sesoi, mc=mc), fit.method),
        residual_correlations=with_estimator(extras.residual_correlations, fit.method),
        modindices=with_estimator(extras.modindices, fit.method),
        indirect_contrasts=with_estimator(contrasts_table(fit, chains, boot=boot.result, mc=mc), fit.method),
        **effect_size_tables(fit, boot.result),
    )


def effect_size_tables(fit: StructuralResult, boot: BootstrapResult | None) -> dict[str, pd.DataFrame]:
    """``std_paths``, ``latent_covariances``, ``r2_intervals`` and ``f2`` (:mod:`~xhs_sharing.analysis.structural_tables`).

    The R-squared's percentile interval uses the parameter vectors of the
    bootstrap's converged resamples (``boot.thetas``; none when the
    bootstrap failed: its columns are then NaN).
    """
    thetas = boot.thetas if boot is not None and boot.thetas.size else None
    return dict(
        std_paths=with_estimator(fit.std_paths, fit.method),
        latent_covariances=with_estimator(latent_covariance_table(fit), fit.method),
        r2_intervals=with_estimator(r2_intervals(fit, thetas), fit.method),
        f2=with_estimator(f2_table(fit), fit.method),
    )


PLS_FIT_NOTE: Final = (
    "PLS and PLSc estimate composites, not a covariance structure: there is no likelihood, so no chi-square test "
    "and no chi-square-based index (CFI, TLI, RMSEA; null here), and the SRMR of the composite model is not "
    "computed (null); inference is the percentile bootstrap (bootstrap.json), the PLS quality criteria are "
    "results/structural/pls_*.csv, and the CFA of the measurement step is the ML validation of the reflective "
    "measurement model"
)
"""``fit.json``'s ``note`` under PLS and PLSc."""

PLS_BOOTSTRAP_NOTE: Final = (
    "PLS: every SE is the bootstrap standard deviation and every interval the percentile bootstrap interval; "
    "no Monte Carlo intervals (PLS has no information matrix)"
)
"""``bootstrap.json``'s ``note`` under PLS and PLSc."""

PLS_INADMISSIBLE: Final = ("inadmissible PLSc solution: a rho_A outside (0, 1], an outer loading above 1 in absolute "
                           "value, or a corrected construct correlation matrix that is not positive definite")
"""``fit.json``'s problem for an inadmissible full-sample PLSc solution (:func:`xhs_sharing.sem.pls.admissible`)."""


def pls_fit_summary(out: PlsOutputs, n_obs: int) -> dict[str, Any]:
    """``fit.json`` under PLS and PLSc: the keys of the contract, the chi-square family null, and why (``note``)."""
    doc: dict[str, Any] = dict.fromkeys(FIT_COLUMNS)
    doc.update({ESTIMATOR_KEY: out.estimator, "missing": "listwise", "n": int(n_obs), "proper": out.proper,
                "problems": [] if out.proper else [PLS_INADMISSIBLE], "note": PLS_FIT_NOTE})
    return doc


def pls_equivalence_table(study: Study, out: PlsOutputs, sesoi: float) -> pd.DataFrame:
    """TOST of every claim of no effect under PLS: paths from the bootstrap SE, indirect effects from the draws.

    A path: :func:`~xhs_sharing.analysis.mediation.tost_wald` of the
    (standardized) estimate and its bootstrap SE; an indirect effect:
    :func:`~xhs_sharing.analysis.mediation.tost_draws` (90% percentile
    interval of its bootstrap draws), as :func:`equivalence_table` does for ML.
    """
    rows = []
    for claim in study.claims:
        if claim.expected != "not_significant":
            continue
        if claim.kind == "path":
            src, dst = claim.path
            row = out.paths[(out.paths["lhs"] == dst) & (out.paths["rhs"] == src)].iloc[0]
            res = tost_wald(float(row["est"]), float(row["se"]), sesoi=sesoi)
        else:
            x, *mediators, y = claim.path
            est, draws = out.draws(x, mediator_label(mediators), y)
            res = tost_draws(draws, est, sesoi=sesoi)
        rows.append(_equivalence_row(claim, res))
    return pd.DataFrame(rows, columns=list(EQUIVALENCE_COLUMNS))


def pls_bootstrap_summary(out: PlsOutputs) -> dict[str, Any]:
    """``bootstrap.json`` under PLS and PLSc: the batched PLS bootstrap's counts; no Monte Carlo draws (null)."""
    doc = dict(out.bootstrap)
    doc.update(missing="listwise", mc_draws=None, mc_seed=None, mc_information=None, note=PLS_BOOTSTRAP_NOTE)
    return doc


_CI_NAMES: Final = {"ci_lower": "ci_low", "ci_upper": "ci_high"}


COVARIANCE_ONLY_TABLES: Final = {
    "std_paths": "std_paths", "latent_covariances": "latent_covariances", "r2_intervals": "r2_intervals",
    "f2": "f2", "residual_correlations": "sem_residual_correlations", "modindices": "sem_modindices",
    "indirect_contrasts": "indirect_contrasts",
}
"""Tables of the covariance-based model (field of :class:`StructuralOutputs` -> result key): under PLS they are
written with their contract's columns and no rows, the rule's outputs being the same for every estimator."""


def run_structural_pls(
    items: pd.DataFrame, study: Study, *, estimator: str, boot_seed: int, n_boot: int = DEFAULTS["bootstrap"],
    chunk_size: int = DEFAULTS["chunk_size"], sesoi: float = DEFAULTS["sesoi"], n_jobs: int = 1,
    missing: str = _CONFIG["data"]["missing"],
) -> StructuralOutputs:
    """The structural step under PLS or PLSc (:func:`~xhs_sharing.analysis.pls_structural.run_pls_structural`).

    Same seed, resamples and chunks as the ML bootstrap; ``paths``, ``r2``
    and ``indirect_effects`` in the columns of the ML tables (SE: bootstrap
    SD; intervals: percentile bootstrap; Monte Carlo columns empty);
    ``fit`` from :func:`pls_fit_summary`, the equivalence tests from
    :func:`pls_equivalence_table`, the PLS tables in ``pls``. ``syntax`` is
    the lavaan syntax of the same model (its inner model is what PLS fits).

    Raises
    ------
    SpecError
        ``missing="fiml"`` with missing answers (PLS has no likelihood; the
        workflow refuses the combination before any job starts).
    """
    if missing == "fiml" and items[list(study.item_ids)].isna().any().any():
        raise SpecError(f"estimator {estimator} cannot go with data.missing fiml: PLS has no likelihood; set "
                        "data.missing: listwise")
    out = run_pls_structural(items, study, consistent=estimator == "PLSc", n_resamples=n_boot, seed=boot_seed,
                             chunk_size=chunk_size, n_jobs=n_jobs)
    logger.info("estimator %s: %d of %d bootstrap resamples kept; %s", estimator, out.bootstrap["converged"],
                n_boot, PLS_BOOTSTRAP_NOTE)
    if not out.proper:
        logger.warning("the %s solution is IMPROPER (%s): every output is written and no claim can be reproduced "
                       "on it", estimator, PLS_INADMISSIBLE)
    inner = out.vif_f2.rename(columns={"estimate": "path"}).assign(
        ci_low=out.paths["ci_low"].to_numpy(), ci_high=out.paths["ci_high"].to_numpy())
    return StructuralOutputs(
        syntax=structural_syntax(study), paths=out.paths, r2=out.r2, fit=pls_fit_summary(out, len(items)),
        indirect_effects=out.indirect_effects, bootstrap=pls_bootstrap_summary(out),
        equivalence=with_estimator(pls_equivalence_table(study, out, sesoi), estimator),
        pls={key: with_estimator(table.rename(columns=_CI_NAMES), estimator) for key, table in
             (("pls_outer", out.outer), ("pls_quality", out.quality), ("pls_htmt", out.htmt), ("pls_inner", inner))},
        **{name: pd.DataFrame(columns=list(BY_KEY[key].columns)) for name, key in COVARIANCE_ONLY_TABLES.items()},
    )
