"""One function per workflow stage: plain inputs in, named output tables out.

The Snakemake scripts only read files, call these functions and write what
they return, so every stage can be run and tested without Snakemake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .measurement import (
    fit_cfa,
    fornell_larcker,
    htmt,
    item_descriptives,
    measurement_checks,
    reliability_table,
)
from .model import mediation_triples
from .spec import Study

logger = logging.getLogger(__name__)


@dataclass
class MeasurementOutputs:
    """Every table of ``results/measurement/``."""

    item_descriptives: pd.DataFrame
    reliability: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    loadings: pd.DataFrame
    cfa_fit: dict[str, Any]
    checks: dict[str, Any]
    syntax: str


def run_measurement(
    items: pd.DataFrame,
    study: Study,
    scale_points: int,
    thresholds: dict[str, float] | None = None,
    *,
    missing: str = "listwise",
) -> MeasurementOutputs:
    """Validate the measurement model on a survey (items recoded, one column per item).

    Fits the correlated-factors CFA, then computes reliability (alpha, CR,
    AVE), discriminant validity (Fornell-Larcker, HTMT), item descriptives and
    the checks against ``thresholds``.

    ``missing`` is the run's missing-data setting. Under ``"listwise"`` the
    data stage has dropped incomplete respondents and everything uses the
    complete rows. Under ``"fiml"`` respondents with missing answers are
    kept (NaN): the CFA is estimated by FIML (its ``cfa_fit`` says
    ``"estimator": "FIML"``) and CR, AVE and Fornell-Larcker come from the
    FIML solution; HTMT uses pairwise-complete correlations; item
    descriptives use each item's available answers (the corrected
    item-total correlation the rows complete on the construct); Cronbach's
    alpha the rows complete on each construct (``n`` in the reliability
    table). With no missing value both settings give identical outputs.
    """
    ibc = study.items_by_construct
    require_positive_definite_covariance(items, study.item_ids)
    cfa = fit_cfa(items, ibc, missing=missing)
    reliability = reliability_table(items, ibc, cfa.loadings, missing=missing)
    fl = fornell_larcker(cfa.latent_corr, reliability.set_index("construct")["ave"])
    ht = htmt(items, ibc, missing=missing)
    checks = measurement_checks(reliability, fl, ht, cfa.fit, cfa.loadings, thresholds)
    return MeasurementOutputs(
        item_descriptives=item_descriptives(items, ibc, scale_points),
        reliability=reliability,
        fornell_larcker=fl,
        htmt=ht,
        loadings=cfa.loadings,
        cfa_fit=cfa.fit,
        checks={
            "checks": checks,
            "passed": sum(c["status"] == "pass" for c in checks),
            "failed": sum(c["status"] == "fail" for c in checks),
            "warnings": sum(c["status"] == "warning" for c in checks),
            "total": len(checks),
        },
        syntax=cfa.syntax,
    )


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
    from .mediation import tost_effect, tost_path

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
        As :func:`xhs_sharing.structural.observed_matrix` (a column absent or
        not numeric, too few respondents).
    EstimationError
        Smallest eigenvalue at most ``rel_tol`` times the largest.
    """
    import numpy as np

    from .errors import EstimationError
    from .fiml import em_moments
    from .structural import observed_matrix, sample_covariance

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
    import dataclasses
    import time

    from .errors import EstimationError
    from .fit_indices import ESTIMATOR_KEY, fit_measures
    from .mediation import (FimlChunkFitter, bootstrap_indirect, indirect_effects_table,
                            monte_carlo_indirect)
    from .model import structural_syntax
    from .structural import fit_structural, solution_problems

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
        from .batched import BatchedChunkFitter, BatchedModel

        fitter = BatchedChunkFitter(BatchedModel.from_semopy(fit.model), fit.structure)
        n_jobs = 1  # the batch is the parallelism; the fitter is not sent to worker processes
    else:
        from .mediation import fit_chunk as fitter
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
    fit_dict: dict[str, Any] = dict(fit_measures(fit.model, items, missing=missing))
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


def step_times(benchmark_files: list[str]) -> dict[str, float]:
    """Wall time (s) of every workflow step, from the TSV files of Snakemake's ``benchmark:`` directive."""
    import csv
    from pathlib import Path

    out: dict[str, float] = {}
    for path in benchmark_files:
        with open(path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if rows:
            out[Path(path).stem] = sum(float(r["s"]) for r in rows)
    return out


def run_info(
    *,
    seed: int,
    command: str,
    inputs: list[str],
    outputs: list[str],
    benchmark_files: list[str],
    finished: str,
) -> dict[str, Any]:
    """Provenance of a run: seed, Python and package versions, step times, file hashes, the command."""
    import platform

    from .io import sha256_file
    from .report import package_versions

    times = step_times(benchmark_files)
    return {
        "seed": seed,
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {platform.system()} {platform.machine()})",
        "packages": package_versions(),
        "finished": finished,
        "run_time_s": round(sum(times.values()), 1),
        "step_times_s": {k: round(v, 2) for k, v in sorted(times.items())},
        "command": command,
        "inputs": {p: sha256_file(p) for p in inputs},
        "outputs": {p: sha256_file(p) for p in outputs},
    }
