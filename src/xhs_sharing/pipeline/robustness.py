"""The robustness stage: every claim judged under every specification of the grid (multiverse).

One Snakemake job per specification (:func:`run_specification`: estimator x
missing-data handling x structural model) fits the model, bootstraps it with
the run's own streams and judges every claim under each interval of the
grid; one gather job (:func:`gather`) writes

* ``results/robustness/specifications.csv`` -- one row per specification,
  interval and claim (settings, estimate, interval, verdict);
* ``results/robustness/summary.csv`` -- per claim: specifications run, share
  reproduced, the verdict under the main specification, the label (robust,
  fragile, contradicted) and a plain sentence
  (:func:`~xhs_sharing.analysis.robustness.summarise`);
* ``results/robustness/excluded.csv`` -- combinations that do not exist or
  could not be estimated, with the reason;
* ``results/robustness/nested.csv`` -- full versus partial mediation as a
  nested-model test (:mod:`xhs_sharing.sem.difftest`).

Path claims are judged by the estimator's own Wald interval (robust under MLR
and WLSMV; under PLS and PLSc the percentile bootstrap interval), once per
specification; indirect claims once per interval of the grid (under PLS and
PLSc the Monte Carlo interval does not exist: listed in ``excluded.csv``). The main specification uses the seeds of the structural step, so its
verdicts are those of ``claims.json``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from xhs_sharing.analysis.claims import evaluate_claims, improper_problems
from xhs_sharing.analysis.mediation import BootstrapResult, EffectDraws, indirect_effects_table, monte_carlo_indirect
from xhs_sharing.analysis.pls_structural import PlsOutputs, run_pls_structural
from xhs_sharing.analysis.robustness import (
    NO_MISSING,
    Specification,
    bc_interval,
    full_mediation_paths,
    full_mediation_study,
    summarise,
)
from xhs_sharing.analysis.structural import StructuralResult, is_pls
from xhs_sharing.errors import EstimationError
from xhs_sharing.pipeline.structural import fit_model, fit_summary, pls_fit_summary, run_bootstrap
from xhs_sharing.sem.difftest import (
    DifferenceTest,
    chi2_difference,
    satorra_2000,
    satorra_2000_traces,
    satorra_bentler_2001,
)
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import mediation_chains

logger = logging.getLogger(__name__)

__all__ = ["SPEC_COLUMNS", "gather", "nested_tests", "run_specification"]

SPEC_COLUMNS: Final = ("claim", "kind", "expected", "estimator", "missing", "model", "interval", "estimate",
                       "ci_low", "ci_high", "std_estimate", "std_ci_low", "std_ci_high", "verdict", "reproduced",
                       "main")
"""Columns of ``specifications.csv``."""

_INTERVAL_COLUMN: Final = {"percentile": "boot", "bc": "boot", "monte_carlo": "mc"}


def specification_items(items: pd.DataFrame, spec: Specification, item_ids: Sequence[str]) -> pd.DataFrame | str:
    """The rows ``spec`` analyses, or why it does not apply.

    Listwise deletion keeps the complete respondents; FIML keeps every row
    but applies only when some answer is missing (on complete data FIML is
    the listwise ML fit, a duplicate, not a further analysis).
    """
    incomplete = items[list(item_ids)].isna().any(axis=1)
    if spec.missing == "fiml":
        if not incomplete.any():
            return NO_MISSING
        return items
    return items.loc[~incomplete]


def _intervals(boot: BootstrapResult | None, mc: EffectDraws) -> dict[str, tuple[np.ndarray, ...]]:
    """Unstandardized and standardized bounds of every effect under each interval kind."""
    nan = np.full(len(mc.specs), np.nan)
    out = {"monte_carlo": (*mc.interval(), *mc.interval(scale="std"))}
    if boot is None:
        out.update(percentile=(nan, nan, nan, nan), bc=(nan, nan, nan, nan))
    else:
        out["percentile"] = (*boot.interval(), *boot.interval(scale="std"))
        out["bc"] = (*bc_interval(boot.draws_est, boot.est), *bc_interval(boot.std_draws, boot.std_est))
    return out


def _wald_std_interval(std_paths: Any) -> Callable[[str, str], tuple[float, float, str]]:
    """The standardized Wald interval of a path (``std_paths(lhs, rhs)``: ``std_all`` and its delta-method SE)."""
    def interval(source: str, target: str) -> tuple[float, float, str]:
        row = std_paths(target, source)
        s_est, s_se = float(row["std_all"]), float(row["se"])
        return s_est - 1.959963984540054 * s_se, s_est + 1.959963984540054 * s_se, "wald"
    return interval


def _percentile_std_interval(paths: pd.DataFrame) -> Callable[[str, str], tuple[float, float, str]]:
    """PLS: a path's percentile bootstrap interval from ``paths`` (its estimates are standardized)."""
    def interval(source: str, target: str) -> tuple[float, float, str]:
        row = paths[(paths["lhs"] == target) & (paths["rhs"] == source)].iloc[0]
        return float(row["ci_low"]), float(row["ci_high"]), "percentile"
    return interval


def _judge_rows(study: Study, paths: pd.DataFrame, indirect: pd.DataFrame,
                path_interval: Callable[[str, str], tuple[float, float, str]],
                bounds: Mapping[str, tuple[np.ndarray, ...]], improper: list[str],
                intervals: Sequence[str]) -> list[dict[str, Any]]:
    """One row per claim and interval (paths: one row, the estimator's interval of ``path_interval``)."""
    rows: list[dict[str, Any]] = []
    for interval in intervals:
        table = indirect.copy()
        lo, hi, std_lo, std_hi = bounds[interval]
        col = _INTERVAL_COLUMN[interval]
        table[f"{col}_ci_low"], table[f"{col}_ci_high"] = lo, hi
        results = evaluate_claims(study.claims, paths, table, interval=col, improper=improper)
        for claim, res in zip(study.claims, results, strict=True):
            if claim.kind == "path" and interval != intervals[0]:
                continue
            if claim.kind == "path":
                s_lo, s_hi, label = path_interval(claim.path[0], claim.path[1])
            else:
                i = _indirect_position(indirect, claim.path)
                s_lo, s_hi, label = float(std_lo[i]), float(std_hi[i]), interval
            rows.append(dict(claim=claim.id, kind=claim.kind, expected=claim.expected, interval=label,
                             estimate=res.estimate, ci_low=res.ci_low, ci_high=res.ci_high,
                             std_estimate=res.std_estimate, std_ci_low=s_lo, std_ci_high=s_hi,
                             verdict=res.verdict, reproduced=res.reproduced))
    return rows


def _indirect_position(indirect: pd.DataFrame, chain: Sequence[str]) -> int:
    x, *mediators, y = chain
    hit = np.flatnonzero((indirect["x"] == x) & (indirect["y"] == y) & (indirect["effect"] == "indirect")
                         & (indirect["mediator"] == "->".join(mediators)))
    if len(hit) != 1:
        raise EstimationError(f"no single indirect effect {'->'.join(chain)} in the effects table")
    return int(hit[0])


def wlsmv_difference_traces(partial: StructuralResult, full: StructuralResult) -> dict[str, float]:
    """``trace_ug`` and ``trace_ug2`` of the Satorra (2000) test of ``full`` (restricted) against ``partial``.

    Both are WLSMV fits of the same rows (:class:`~xhs_sharing.analysis.ordinal.OrdinalStructuralResult`);
    Gamma, the weights and ``D1`` are the unrestricted fit's
    (:func:`~xhs_sharing.sem.difftest.satorra_2000_traces`).
    """
    w1, w0 = getattr(partial, "wlsmv", None), getattr(full, "wlsmv", None)
    if w1 is None or w0 is None:
        raise EstimationError("the Satorra (2000) difference test needs two WLSMV fits")
    nth = len(w1.threshold_names)
    gamma = w1.stats.gamma[nth:, nth:]
    tr1, tr2 = satorra_2000_traces(w1.model.jacobian(w1.x), w0.model.jacobian(w0.x), 1.0 / np.diag(gamma), gamma)
    return {"trace_ug": tr1, "trace_ug2": tr2}


def run_specification(
    items: pd.DataFrame, study: Study, spec: Specification, *, boot_seed: int, mc_seed: int,
    settings: Mapping[str, Any], intervals: Sequence[str], n_jobs: int = 1,
) -> dict[str, Any]:
    """Fit ``spec`` on ``items`` and judge every claim under every interval of ``intervals``.

    ``settings`` is the config's ``structural`` block (bootstrap, chunk_size,
    engine, mc_draws); the seeds are the structural step's, so the main
    specification repeats its numbers. Returns the job's JSON document:
    ``specification``, ``status`` (``run``, ``not_applicable``, ``failed``),
    ``reason``, ``n``, ``removed_paths``, ``fit`` (the test statistics the
    nested comparison needs) and ``rows`` (:data:`SPEC_COLUMNS` without the
    settings); under PLS and PLSc (:func:`_run_pls_specification`)
    ``excluded_intervals`` lists the interval kinds that do not exist.
    """
    doc: dict[str, Any] = {"specification": {"name": spec.name, "estimator": spec.estimator,
                                             "missing": spec.missing, "model": spec.model},
                           "status": "run", "reason": "", "n": 0, "removed_paths": [], "fit": {}, "rows": []}
    data = specification_items(items, spec, study.item_ids)
    if isinstance(data, str):
        return {**doc, "status": "not_applicable", "reason": data}
    model_study = full_mediation_study(study) if spec.model == "full_mediation" else study
    doc["removed_paths"] = ["->".join(p) for p in full_mediation_paths(study)] if spec.model == "full_mediation" else []
    doc["n"] = len(data)
    if is_pls(spec.estimator):
        return _run_pls_specification(data, study, model_study, doc, estimator=spec.estimator, boot_seed=boot_seed,
                                      settings=settings, intervals=intervals, n_jobs=n_jobs)
    try:
        syntax, fit = fit_model(data, model_study, spec.missing, spec.estimator)
        chains = mediation_chains(model_study)
        boot = run_bootstrap(data, syntax, fit, chains, n_boot=settings["bootstrap"], seed=boot_seed,
                             chunk_size=settings["chunk_size"], engine=settings["engine"], n_jobs=n_jobs)
    except EstimationError as exc:
        return {**doc, "status": "failed", "reason": str(exc)}
    mc = monte_carlo_indirect(fit, chains, seed=mc_seed, n_draws=settings["mc_draws"])
    indirect = indirect_effects_table(fit, chains, boot=boot.result, mc=mc)
    fitdoc = fit_summary(fit, data, spec.missing)
    doc["fit"] = {k: fitdoc.get(k) for k in ("chi2", "df", "scaling_factor", "proper", "estimator", "missing")}
    if spec.estimator == "WLSMV" and spec.model == "full_mediation":  # the nested test needs the partial model's fit
        doc["fit"].update(wlsmv_difference_traces(fit_model(data, study, spec.missing, "WLSMV")[1], fit))
    doc["bootstrap"] = {"requested": settings["bootstrap"], "converged": 0 if boot.result is None
                        else boot.result.converged, "engine": boot.engine}
    bounds = _intervals(boot.result, mc)
    doc["rows"] = _judge_rows(study, fit.paths, indirect, _wald_std_interval(fit.std_path), bounds,
                              improper_problems(fitdoc), intervals)
    return doc


PLS_NO_MONTE_CARLO: Final = ("Monte Carlo intervals draw from the estimates' information matrix, which PLS does "
                              "not have; the indirect claims are judged by the bootstrap intervals")
"""Why the Monte Carlo interval is excluded under PLS and PLSc (``excluded.csv``)."""


def _pls_intervals(out: PlsOutputs, intervals: Sequence[str]) -> dict[str, tuple[np.ndarray, ...]]:
    """Bounds of every row of ``out.indirect_effects`` under the percentile and bias-corrected bootstrap.

    PLS estimates are standardized, so both scales share the bounds; the BC
    interval (:func:`~xhs_sharing.analysis.robustness.bc_interval`) comes
    from the kept bootstrap draws of each effect (:meth:`PlsOutputs.draws`).
    """
    table = out.indirect_effects
    lo, hi = table["boot_ci_low"].to_numpy(float), table["boot_ci_high"].to_numpy(float)
    bounds = {"percentile": (lo, hi, lo, hi)}
    if "bc" in intervals:
        pairs = [out.draws(str(r.x), str(r.mediator), str(r.y), str(r.effect)) for r in table.itertuples(index=False)]
        draws = np.column_stack([d for _, d in pairs])
        bc_lo, bc_hi = bc_interval(draws, np.array([e for e, _ in pairs]))
        bounds["bc"] = (bc_lo, bc_hi, bc_lo, bc_hi)
    return bounds


def _run_pls_specification(
    data: pd.DataFrame, study: Study, model_study: Study, doc: dict[str, Any], *, estimator: str, boot_seed: int,
    settings: Mapping[str, Any], intervals: Sequence[str], n_jobs: int,
) -> dict[str, Any]:
    """:func:`run_specification` under PLS or PLSc (:func:`~xhs_sharing.analysis.pls_structural.run_pls_structural`).

    Same seed, resamples and chunks as the structural step; path claims are
    judged by the percentile bootstrap interval (rows labelled
    ``percentile``), indirect claims by the percentile and bias-corrected
    bootstrap; the Monte Carlo interval does not exist under PLS and is
    listed in ``excluded_intervals`` (:data:`PLS_NO_MONTE_CARLO`). ``fit``
    has no chi-square (null): no nested test.
    """
    try:
        out = run_pls_structural(data, model_study, consistent=estimator == "PLSc", n_resamples=settings["bootstrap"],
                                 seed=boot_seed, chunk_size=settings["chunk_size"], n_jobs=n_jobs)
    except EstimationError as exc:
        return {**doc, "status": "failed", "reason": str(exc)}
    fitdoc = pls_fit_summary(out, len(data))
    doc["fit"] = {k: fitdoc.get(k) for k in ("chi2", "df", "scaling_factor", "proper", "estimator", "missing")}
    doc["bootstrap"] = {"requested": settings["bootstrap"], "converged": out.bootstrap["converged"],
                        "engine": out.bootstrap["engine"]}
    kept = [i for i in intervals if i != "monte_carlo"]
    if len(kept) < len(intervals):
        doc["excluded_intervals"] = [{"interval": "monte_carlo", "reason": PLS_NO_MONTE_CARLO}]
    rows = _judge_rows(study, out.paths, out.indirect_effects, _percentile_std_interval(out.paths),
                       _pls_intervals(out, kept), improper_problems(fitdoc), kept or ["percentile"])
    doc["rows"] = rows if kept else [r for r in rows if r["kind"] == "path"]
    return doc


def _main_missing(docs: Sequence[Mapping[str, Any]], configured: str) -> str:
    """The missing-data handling of the main specification: FIML only when it ran (there were missing answers)."""
    fiml_ran = any(d["specification"]["missing"] == "fiml" and d["status"] == "run" for d in docs)
    return "fiml" if configured == "fiml" and fiml_ran else "listwise"


def _df_difference(df_full: Any, df_partial: Any) -> float:
    """Degrees of freedom of the nested comparison; NaN without them (PLS has no df)."""
    return math.nan if df_full is None or df_partial is None else df_full - df_partial


def nested_tests(docs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Full versus partial mediation for each estimator and missing-data handling that ran both models.

    ML (and FIML): the likelihood-ratio test; MLR: the Satorra-Bentler (2001)
    scaled difference; WLSMV: the Satorra (2000) scaled-shifted difference
    (each lavaan's ``lavTestLRT`` default for the estimator); others: not
    computed, with the reason.
    """
    runs = {(d["specification"]["estimator"], d["specification"]["missing"], d["specification"]["model"]): d
            for d in docs if d["status"] == "run"}
    rows = []
    for (est, miss, model), full in sorted(runs.items()):
        partial = runs.get((est, miss, "as_specified"))
        if model != "full_mediation" or partial is None:
            continue
        f0, f1 = full["fit"], partial["fit"]
        test: DifferenceTest | None = None
        note = ""
        if est == "ML":
            test = chi2_difference(f0["chi2"], f0["df"], f1["chi2"], f1["df"])
        elif est == "MLR":
            test = satorra_bentler_2001(f0["chi2"], f0["df"], f0["scaling_factor"],
                                        f1["chi2"], f1["df"], f1["scaling_factor"])
        elif est == "WLSMV" and "trace_ug" in f0:
            test = satorra_2000(f0["chi2"], f0["df"], f1["chi2"], f1["df"], f0["trace_ug"], f0["trace_ug2"])
        elif is_pls(est):
            note = (f"no difference test under {est}: PLS has no likelihood and no test statistic; compare the "
                    "paths instead")
        else:
            note = f"{est} has no chi-square difference test; compare the paths instead"
        rows.append(dict(estimator=est, missing=miss, removed_paths=";".join(full["removed_paths"]),
                         chi2_full=f0["chi2"], df_full=f0["df"], chi2_partial=f1["chi2"], df_partial=f1["df"],
                         method=test.method if test else "", chi2_diff=test.chi2 if test else math.nan,
                         df_diff=test.df if test else _df_difference(f0["df"], f1["df"]), scaling=test.scaling if test else math.nan,
                         pvalue=test.pvalue if test else math.nan, note=test.note if test and test.note else note))
    return pd.DataFrame(rows, columns=["estimator", "missing", "removed_paths", "chi2_full", "df_full",
                                       "chi2_partial", "df_partial", "method", "chi2_diff", "df_diff", "scaling",
                                       "pvalue", "note"])


def gather(
    docs: Sequence[Mapping[str, Any]], excluded: Sequence[Mapping[str, str]], study: Study, *,
    estimator: str, missing: str,
) -> dict[str, pd.DataFrame]:
    """The four tables of the stage from the specification documents and the excluded combinations.

    ``estimator`` and ``missing`` are the run's own settings: they mark the
    main specification (with the model as specified and the percentile
    bootstrap for indirect claims).
    """
    main_missing = _main_missing(docs, missing)
    rows = []
    out_rows = [dict(e) for e in excluded]
    for d in docs:
        s = d["specification"]
        if d["status"] != "run":
            out_rows.append(dict(estimator=s["estimator"], missing=s["missing"], model=s["model"],
                                 status=d["status"], reason=d["reason"]))
            continue
        out_rows += [dict(estimator=s["estimator"], missing=s["missing"], model=s["model"], status="excluded",
                          reason=f"interval {e['interval']}: {e['reason']}") for e in d.get("excluded_intervals", [])]
        for r in d["rows"]:
            main = (s["estimator"] == estimator and s["missing"] == main_missing and s["model"] == "as_specified"
                    and r["interval"] in ("wald", "percentile"))
            rows.append({**r, "estimator": s["estimator"], "missing": s["missing"], "model": s["model"],
                         "main": main, "status": "run"})
    specs = pd.DataFrame(rows, columns=[*SPEC_COLUMNS, "status"])
    return {
        "specifications": specs[list(SPEC_COLUMNS)],
        "summary": summarise(specs, [c.id for c in study.claims]),
        "excluded": pd.DataFrame(out_rows, columns=["estimator", "missing", "model", "status", "reason"]),
        "nested": nested_tests(docs),
    }
