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


def equivalence_table(study: Study, fit: Any, boot: Any, sesoi: float) -> pd.DataFrame:
    """TOST equivalence tests of every claim the paper reports as not significant.

    Paths use the standardized estimate and its delta-method SE; indirect
    effects use the 90% percentile-bootstrap interval of the standardized effect.
    """
    from .mediation import tost_effect, tost_path

    rows = []
    for claim in study.claims:
        if claim.expected != "not_significant":
            continue
        if claim.kind == "path":
            res = tost_path(fit, claim.path[1], claim.path[0], sesoi=sesoi)
        else:
            x, m, y = claim.path
            res = tost_effect(boot, x, y, effect="indirect", mediator=m, sesoi=sesoi)
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
    """
    import time

    from .fit_indices import ESTIMATOR_KEY, fit_measures
    from .mediation import FimlChunkFitter, bootstrap_indirect, indirect_effects_table
    from .model import structural_syntax
    from .structural import fit_structural

    if engine not in ("batched", "one-by-one"):
        raise ValueError(f"engine must be 'batched' or 'one-by-one', got {engine!r}")
    syntax = structural_syntax(study)
    fit = fit_structural(syntax, items, missing=missing)
    fit.raise_if_improper()
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
    started = time.perf_counter()
    boot = bootstrap_indirect(items, syntax, triples, n_boot, boot_seed, chunk_size=chunk_size,
                              n_jobs=n_jobs, progress=progress, full_fit=fit, chunk_fitter=fitter)
    elapsed = time.perf_counter() - started
    logger.info("bootstrap (%s): %d refits in %.1f s, %.1f ms per refit", engine_used, n_boot,
                elapsed, 1000.0 * elapsed / n_boot)
    table = indirect_effects_table(fit, triples, boot=boot, seed=mc_seed, n_draws=mc_draws)
    fit_dict: dict[str, Any] = dict(fit_measures(fit.model, items, missing=missing))
    fit_dict[ESTIMATOR_KEY] = fit.estimator
    bootstrap: dict[str, Any] = {**boot.summary(), "chunk_size": chunk_size, "engine": engine_used}
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
        equivalence=equivalence_table(study, fit, boot, sesoi),
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
