"""structural."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from xhs_sharing.analysis.mediation import (
    bootstrap_indirect,
    indirect_effects_table,
    monte_carlo_indirect,
    tost_effect,
    tost_path,
)
from xhs_sharing.analysis.structural import fit_structural, require_positive_definite_covariance
from xhs_sharing.errors import EstimationError
from xhs_sharing.sem.batched import BatchedChunkFitter, BatchedModel
from xhs_sharing.sem.bootstrap import FimlChunkFitter, fit_chunk
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.fit import ESTIMATOR_KEY, fit_measures
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import mediation_triples, structural_syntax

logger = logging.getLogger(__name__)


@dataclass
class StructuralOutputs:
    """Every table of ``results/structural/``."""

    syntax: str
    paths: pd.DataFrame
    r2: pd.DataFrame
    fit: dict[str, Any]
    indirect_effects: pd.DataFrame
    bootstrap: dict[str, Any]
    equivalence: pd.DataFrame


def equivalence_table(study: Study, fit: Any, boot: Any, sesoi: float, mc: Any = None) -> pd.DataFrame:
    """TOST equivalence tests of every claim the paper reports as not significant.

    Paths use the standardized estimate and its delta-method SE; indirect
    effects use the 90% percentile-bootstrap interval of the standardized
    effect, or the Monte Carlo draws ``mc`` when there is no bootstrap
    (``boot`` None: it failed on an improper solution).
    """

    draws = boot if boot is not None else mc

    rows = []
    for claim in study.claims:
        if claim.expected != "not_significant":
            continue
        if claim.kind == "path":
            res = tost_path(fit, claim.path[1], claim.path[0], sesoi=sesoi)
        else:
            x, m, y = claim.path
            res = tost_effect(draws, x, y, effect="indirect", mediator=m, sesoi=sesoi)
        rows.append({
            "id": claim.id, "kind": claim.kind, "estimate": res.estimate, "se": res.se,
            "ci90_low": res.ci_low, "ci90_high": res.ci_high, "sesoi": res.sesoi,
            "pvalue": res.p_value, "verdict": res.verdict,
        })
    return pd.DataFrame(rows, columns=["id", "kind", "estimate", "se", "ci90_low", "ci90_high",
                                       "sesoi", "pvalue", "verdict"])


def run_structural(
    items: pd.DataFrame,
    study: Study,
    *,
    n_boot: int,
    boot_seed: int,
    mc_seed: int,
    chunk_size: int = 100,
    mc_draws: int = 20_000,
    sesoi: float = 0.10,
    n_jobs: int = 1,
    engine: str = "batched",
    progress: Any = None,
    missing: str = "listwise",
) -> StructuralOutputs:
    """Fit the latent structural model and its mediation analysis.

    The full model (measurement plus every structural path of the spec,
    including the zero-valued direct paths) is fitted by ML; indirect, direct
    and total effects get percentile-bootstrap and Monte Carlo intervals; the
    paper's null findings get TOST equivalence tests.

    With ``missing="fiml"`` and missing answers in ``items`` the model is
    fitted by FIML (``fit`` says ``"estimator": "FIML"``; standard errors
    and the Monte Carlo intervals use the observed information). The
    batched bootstrap estimator needs complete covariance matrices, so the
    bootstrap then falls back automatically to refitting every resample by
    FIML one at a time (same streams and chunks; ``bootstrap["engine"]`` is
    ``"one-by-one FIML"``, ``bootstrap["engine_requested"]`` the configured
    one). With no missing value both settings give identical outputs.

    Estimation problems (the issue's rule: reported as such, never as numbers
    that look fine):

    * no numbers to show, so the stage stops with :class:`EstimationError`
      naming the problem: the sample covariance matrix of the indicators is
      not positive definite, the ML (FIML) iterations do not converge, or the
      information matrix is singular (the model is not identified);
    * an improper but converged solution (a negative (residual) variance, a
      non-positive-definite latent or implied covariance matrix) is kept:
      every problem is logged as a WARNING, every output is written, and
      ``fit`` records ``"proper": False`` with the ``"problems"`` (always
      present: ``"proper": True, "problems": []`` otherwise), so the claims
      stage and the report can say so. The bootstrap still runs, each
      resample judged on its own; if no resample gives a proper solution
      the bootstrap intervals are left empty (``bootstrap["error"]`` says
      why) and the equivalence tests of indirect effects use the Monte
      Carlo draws.
    """
    if engine not in ("batched", "one-by-one"):
        raise ValueError(f"engine must be 'batched' or 'one-by-one', got {engine!r}")
    syntax = structural_syntax(study)
    require_positive_definite_covariance(items, study.item_ids)
    fit = fit_structural(syntax, items, missing=missing, allow_improper=True)
    # A singular information matrix is the one diagnosis of fit_structural that is
    # not about the solution: the model is not identified, there are no estimates.
    solution = solution_problems(fit.structure, fit.theta)
    unidentified = [p for p in fit.problems if p not in solution]
    if unidentified:
        raise EstimationError("the structural model cannot be estimated: " + "; ".join(unidentified))
    problems = list(fit.problems)
    if problems:
        logger.warning("the structural solution is IMPROPER (%s): every output is written, marked "
                       "\"proper\": false in fit.json, and no claim can be reproduced on it",
                       "; ".join(problems))
    triples = mediation_triples(study)
    engine_used = engine
    if fit.estimator == "FIML":
        fitter = FimlChunkFitter.from_fit(fit)
        engine_used = "one-by-one FIML"
        logger.info("%d of %d respondents have missing answers (%d patterns): every bootstrap "
                    "resample is refitted by FIML one by one (the %s engine needs complete data)",
                    int(items[list(fit.structure.observed)].isna().any(axis=1).sum()), fit.n_obs,
                    fit.n_patterns, engine)
    elif engine == "batched":
        fitter = BatchedChunkFitter(BatchedModel.from_fit(fit))
        n_jobs = 1  # the batch is the parallelism; the fitter is not sent to worker processes
    else:
        fitter = fit_chunk
    # bootstrap_indirect refuses an improper full-sample fit so that no caller
    # bootstraps one silently; here the problems are already logged and recorded,
    # and each resample is screened on its own by the chunk fitter.
    boot_fit = fit if fit.proper else dataclasses.replace(fit, problems=())
    boot_error = None
    started = time.perf_counter()
    try:
        boot = bootstrap_indirect(items, syntax, triples, n_boot, boot_seed, chunk_size=chunk_size,
                                  n_jobs=n_jobs, progress=progress, full_fit=boot_fit,
                                  chunk_fitter=fitter)
    except EstimationError as exc:
        if fit.proper:
            raise
        boot, boot_error = None, str(exc)
        logger.warning("bootstrap around the improper solution failed (%s): the bootstrap intervals "
                       "are left empty", exc)
    elapsed = time.perf_counter() - started
    logger.info("bootstrap (%s): %d refits in %.1f s, %.1f ms per refit", engine_used, n_boot,
                elapsed, 1000.0 * elapsed / n_boot)
    mc = monte_carlo_indirect(fit, triples, seed=mc_seed, n_draws=mc_draws)
    table = indirect_effects_table(fit, triples, boot=boot, mc=mc)
    fit_dict: dict[str, Any] = dict(fit_measures(fit, items, missing=missing))
    fit_dict[ESTIMATOR_KEY] = fit.estimator
    fit_dict["proper"] = fit.proper
    fit_dict["problems"] = problems
    if boot is not None:
        summary: dict[str, Any] = dict(boot.summary())
    else:
        summary = {"requested": n_boot, "converged": 0, "failed": n_boot, "seed": boot_seed,
                   "failures": {}, "error": boot_error}
    bootstrap: dict[str, Any] = {**summary, "chunk_size": chunk_size, "engine": engine_used}
    if engine_used != engine:
        bootstrap["engine_requested"] = engine
    bootstrap.update(mc_draws=mc_draws, mc_seed=mc_seed, estimator=fit.estimator,
                     mc_information=fit.information)
    return StructuralOutputs(
        syntax=syntax,
        paths=fit.paths,
        r2=fit.r2,
        fit=fit_dict,
        indirect_effects=table,
        bootstrap=bootstrap,
        equivalence=equivalence_table(study, fit, boot, sesoi, mc=mc),
    )
