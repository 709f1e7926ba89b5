"""The structural-model and mediation sections: paths, R-squared, fit, syntax; total, direct and indirect effects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from xhs_sharing.analysis.claims import improper_problems
from xhs_sharing.report.format import (
    _finite,
    arrow,
    cell,
    col,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_p_eq,
    num,
    stars,
)
from xhs_sharing.report.judged import categories_text, judged_view, with_unjudged_rows
from xhs_sharing.report.sections.mediation_extras import contrasts_table, precision_table
from xhs_sharing.report.tables import PLS_METHODS, estimator_label, fit_table
from xhs_sharing.study.cutoffs import Cutoff
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import MEDIATOR_SEP

MEDIATION_TYPES = {
    "complementary": "complementary (partial) mediation",
    "competitive": "competitive (partial) mediation",
    "indirect-only": "indirect-only (full) mediation",
    "direct-only": "direct-only (no mediation)",
    "no-effect": "no effect (no mediation)",
}
"""Zhao, Lynch & Chen (2010) mediation types, as written in the report, keyed by the values of
``indirect_effects.csv`` (:class:`xhs_sharing.analysis.mediation.MediationType`)."""


def mediation_text(mtype: Any) -> str:
    """The report's words for one ``mediation_type`` value of ``indirect_effects.csv``.

    Keys are the file's hyphenated values; an underscore spelling (``indirect_only``) reads the same.
    An empty or missing value is "not classified"; an unknown one is shown as written.

    >>> mediation_text("no-effect"), mediation_text("indirect_only"), mediation_text("")
    ('no effect (no mediation)', 'indirect-only (full) mediation', 'not classified')
    """
    text = "" if mtype is None or (isinstance(mtype, float) and not _finite(mtype)) else str(mtype).strip()
    if not text:
        return "not classified"
    return MEDIATION_TYPES.get(text.replace("_", "-"), text)


EFFECT_ORDER = {"indirect": 0, "total_indirect": 1, "direct": 2, "total": 3}
"""Row order of the effects of one x -> y pair."""


EFFECT_LABELS = {"total_indirect": "Total indirect", "direct": "Direct", "total": "Total"}


def paths_table(paths: pd.DataFrame, fit: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The structural regressions (``op == '~'``); a non-significant one is greyed."""
    rows = []
    for r in paths[paths["op"] == "~"].itertuples(index=False):
        d = r._asdict()
        p = d["pvalue"]
        sig = _finite(p) and float(p) < ALPHA
        rows.append({"cls": "" if sig else "nonsig", "cells": [
            cell(arrow(d["rhs"], d["lhs"]), header=True), num(d["est"], 3), num(d["se"], 3), num(d["z"], 2),
            cell(fmt_p(p), "num"), cell(fmt_num(d["std_all"], 2) + stars(p), "num"), cell(fmt_ci(d["ci_low"], d["ci_high"], 3), "num")]})
    return {"caption": "Structural paths", "rows": rows,
            "columns": [col("Path"), col("B", "num"), col("SE", "num"), col("z", "num"), col("p", "num"),
                        col("\u03b2", "num"), col("B 95% CI", "num")],
            "note": ("" if (fit or {}).get("estimator") in PLS_METHODS else
                     "B: unstandardized coefficient with its Wald 95% interval; \u03b2: completely standardized "
                     "coefficient. ") + "* p < .05, ** p < .01, *** p < .001." + _se_note(fit or {})}


def _se_note(fit: Mapping[str, Any]) -> str:
    """The standard errors of the paths table under MLR and WLSMV (robust); nothing to add under ML."""
    if fit.get("estimator") == "MLR":
        return " Estimator MLR: SEs, z, p and the Wald intervals are robust (Huber-White sandwich)."
    if fit.get("estimator") == "WLSMV":
        return (" Estimator WLSMV: SEs, z, p and the Wald intervals are robust (sandwich, lavaan's robust.sem); "
                "\u03b2 standardizes by the latent responses (delta parameterization).")
    if fit.get("estimator") in PLS_METHODS:
        return (f" Estimator {fit['estimator']}: B = \u03b2 (standardized composites); SE is the bootstrap standard "
                "deviation, z = B/SE, and the interval is the percentile bootstrap, not Wald. "
                + _first_upper(PLS_METHODS[str(fit["estimator"])].split(": ", 1)[0]) + ".")
    return ""


def _first_upper(text: str) -> str:
    """``text`` with its first letter upper case (the rest as written, unlike ``str.capitalize``)."""
    return text[:1].upper() + text[1:]


ALPHA = 0.05
"""Significance level of the paths table's greying and of :func:`unclaimed_significant_paths`."""


def unclaimed_significant_paths(paths: pd.DataFrame, study: Study | None) -> list[str]:
    """One line per estimated structural path (``op == '~'``) that no path claim of the spec names and whose
    Wald p value is below :data:`ALPHA`: ``"PA → WSI: B = −0.144, SE = 0.050, β = −0.16, p = .007; population
    value 0.00"`` (the population value only when the spec declares one).

    A significant path that is no claim is a finding too (on synthetic data a population value of 0 found
    significant is a type I error, or a sign that the generator and the model differ); the report lists it
    instead of letting it pass in a greyed table.
    """
    if study is None:
        return []
    claimed = {tuple(c.path) for c in study.claims if c.kind == "path"}
    population = {(p.source, p.target): p.std for p in study.paths}
    lines = []
    for r in paths[paths["op"] == "~"].itertuples(index=False):
        d = r._asdict()
        src, dst = str(d["rhs"]), str(d["lhs"])
        if (src, dst) in claimed or not (_finite(d["pvalue"]) and float(d["pvalue"]) < ALPHA):
            continue
        pop = population.get((src, dst))
        lines.append(f"{arrow(src, dst)}: B = {fmt_num(d['est'], 3)}, SE = {fmt_num(d['se'], 3)}, "
                     f"\u03b2 = {fmt_num(d['std_all'], 2)}, {fmt_p_eq(d['pvalue'])}"
                     + (f"; population value {fmt_num(pop, 2)}" if pop is not None else ""))
    return lines


def structural_view(res: Mapping[str, Any], cutoffs: Mapping[str, Cutoff], study: Study | None = None) -> dict[str, Any]:
    """Everything the structural section shows; ``cutoffs`` (:func:`~xhs_sharing.report.tables.fit_cutoffs` of
    checks.json) judge its fit indices; with ``study``, the significant paths that are not claims
    (:func:`unclaimed_significant_paths`)."""
    r2 = {str(r.variable): float(r.r2) for r in res["r2"].itertuples(index=False)}
    fit = res["fit"]
    estimator = estimator_label(fit)
    improper = improper_problems(fit)
    return {
        "paths": paths_table(res["paths"], fit),
        "r2": r2_table(r2, res.get("r2_intervals")),
        "std_paths": None if res.get("std_paths") is None else std_paths_table(res["std_paths"]),
        "latent": None if res.get("latent_covariances") is None else latent_table(res["latent_covariances"]),
        "f2": None if res.get("f2") is None else f2_table(res["f2"]),
        # PLS has no fit indices to judge (fit.json's note): shown as absent, not as failed checks
        "fit": with_unjudged_rows(fit_table(judged_view(fit), "Fit of the structural model" + estimator,
                                            {} if fit.get("estimator") in PLS_METHODS else cutoffs), fit),
        "syntax": res["model_syntax"],
        "r2_values": r2,
        "proper": not improper,
        "improper": improper,
        "unclaimed": unclaimed_significant_paths(res["paths"], study),
    }


def _sig_ci(lo: Any, hi: Any) -> dict[str, Any]:
    """An interval cell, marked with a dagger when it excludes zero."""
    c = cell(fmt_ci(lo, hi, 3), "num")
    if _finite(lo) and _finite(hi) and (float(lo) > 0 or float(hi) < 0):
        c["cls"] += " excl"
        c["mark"] = "\u2020"
    return c


def chain_label(x: str, mediator: str, y: str) -> str:
    """``X → M1 → M2 → Y`` from an indirect row (mediators joined by ``->`` in the file)."""
    return arrow(x, *str(mediator).split(MEDIATOR_SEP), y)


def _effect_row(d: Mapping[str, Any]) -> dict[str, Any]:
    """One effect row; its mediation type is the row's own (a chain's, or the total indirect effect's)."""
    indirect = d["effect"] == "indirect"
    label = chain_label(d["x"], d["mediator"], d["y"]) if indirect else EFFECT_LABELS.get(d["effect"], d["effect"])
    return {"cells": [cell(label, "indent" if not indirect else ""), cell(d["effect"].replace("_", " ")),
                      num(d["est"], 3), num(d.get("se"), 3), num(d["std_est"], 3),
                      _sig_ci(d["boot_ci_low"], d["boot_ci_high"]),
                      _sig_ci(d["mc_ci_low"], d["mc_ci_high"]), cell(mediation_text(d.get("mediation_type")))]}


def _effect_rows(ind: pd.DataFrame) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Table rows grouped by (x, y) pair, and the mediation type of each pair.

    The type of a pair (its group heading) is that of its ``total_indirect`` row (the total indirect
    effect against the direct one); every row shows its own type from the file.
    """
    rows: list[dict[str, Any]] = []
    types = []
    for x, y in dict.fromkeys(zip(ind["x"].astype(str), ind["y"].astype(str))):
        sub = ind[(ind["x"].astype(str) == x) & (ind["y"].astype(str) == y)].copy()
        sub["_o"] = sub["effect"].map(EFFECT_ORDER).fillna(9)
        sub = sub.sort_values("_o", kind="stable")
        total = sub[sub["effect"] == "total_indirect"]["mediation_type"]
        mtext = mediation_text(total.iloc[0] if len(total) else "")
        types.append({"x": x, "y": y, "type": mtext})
        rows.append({"cls": "group", "cells": [cell(f"{arrow(x, y)}: {mtext}", header=True, colspan=8)]})
        rows += [_effect_row(r._asdict()) for r in sub.itertuples(index=False)]
    return rows, types


def _bootstrap_text(boot: Mapping[str, Any]) -> str:
    return (f"{fmt_int(boot.get('converged'))} of {fmt_int(boot.get('requested'))} bootstrap resamples converged "
            f"({fmt_int(boot.get('failed'))} failed)"
            + (f"; estimator {boot['estimator']}" if boot.get("estimator") else "")
            + (f" ({boot['note']})" if boot.get("note") else "")
            + (f", refitted {boot['engine']}" if boot.get("engine") else "")
            + (f"; bootstrap seed {boot.get('seed')}" if boot.get("seed") is not None else "") + ".")


def bootstrap_failure_text(boot: Mapping[str, Any]) -> str:
    """The share of failed resamples, their reasons and the bias caveat ("" when none failed)."""
    failed, requested = boot.get("failed"), boot.get("requested")
    if not (_finite(failed) and _finite(requested) and float(failed) > 0):
        return ""
    reasons = ", ".join(f"{k} {fmt_int(v)}" for k, v in (boot.get("failures") or {}).items())
    return (f"{float(failed) / float(requested):.1%} of the bootstrap resamples failed"
            + (f" ({reasons})" if reasons else "") + ": percentile intervals from the surviving resamples may be "
            "biased, since the failures are the resamples with extreme estimates.")


def mediation_view(res: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the mediation section shows."""
    rows, types = _effect_rows(res["indirect"])
    boot = res["bootstrap"]
    failed = boot.get("failed")
    return {
        "table": {"caption": "Total, direct and indirect effects", "rows": rows,
                  "columns": [col("Effect"), col("Kind"), col("B", "num"), col("SE", "num"), col("\u03b2", "num"),
                              col("Bootstrap 95% CI", "num"), col("Monte Carlo 95% CI", "num"), col("Mediation type")],
                  "note": "B: unstandardized effect, for a chain the product of the path coefficients along it "
                          "(X \u2192 M1 \u2192 M2 \u2192 Y: a1 \u00d7 d \u00d7 b2); SE: its delta-method standard error "
                          "(lavaan's for a := product); \u03b2: standardized. Every chain of the model is listed, so the "
                          "specific effects of a pair sum to its total indirect effect. Intervals are for B: percentile "
                          "bootstrap and Monte Carlo (parametric draws of the estimates). \u2020 the interval excludes zero. "
                          "Mediation types after Zhao, Lynch & Chen (2010), as indirect_effects.csv gives them: a chain's row "
                          "classifies that specific indirect effect against the direct effect; the Total indirect, Direct "
                          "and Total rows (and the pair's heading) classify the total indirect effect."},
        "types": types,
        "precision": precision_table(res["indirect"]),
        "contrasts": contrasts_table(res.get("indirect_contrasts")),
        "bootstrap_text": " ".join(filter(None, [_bootstrap_text(boot) + categories_text(boot),
                                                  bootstrap_failure_text(boot)])),
        "bootstrap_incomplete": _finite(failed) and float(failed) > 0,
    }


def r2_table(r2: Mapping[str, float], iv: pd.DataFrame | None) -> dict[str, Any]:
    """R-squared (``r2.csv``) with its delta-method SE and interval (``r2_intervals.csv``).

    The interval is the percentile bootstrap's when the bootstrap has resamples (it stays in [0, 1]),
    else the delta method's Wald interval; the note says which. Without ``r2_intervals.csv`` (results
    written before issue 17) the table has the R-squared only.
    """
    if iv is None:
        return {"caption": "Explained variance of the endogenous constructs", "columns": [col("Construct"),
                col("R\u00b2", "num")], "rows": [{"cells": [cell(k, header=True), num(v, 2)]} for k, v in r2.items()],
                "note": ""}
    by = {str(d["variable"]): d for d in iv.to_dict("records")}
    boot = bool(len(iv)) and int(iv["boot_n"].max()) > 0
    rows = []
    for k, v in r2.items():
        d = by.get(k, {})
        lo, hi = (d.get("boot_ci_low"), d.get("boot_ci_high")) if boot else (d.get("ci_low"), d.get("ci_high"))
        rows.append({"cells": [cell(k, header=True), num(v, 2), num(d.get("se"), 3),
                               cell(fmt_ci(lo, hi) if _finite(lo) else "", "num")]})
    how = (f"percentile interval over the {int(iv['boot_n'].max()):,} converged bootstrap resamples"
           if boot else "delta-method Wald interval (no bootstrap resamples)")
    return {"caption": "Explained variance of the endogenous constructs",
            "columns": [col("Construct"), col("R\u00b2", "num"), col("SE", "num"), col("95% CI", "num")],
            "rows": rows,
            "note": f"R\u00b2 = 1 \u2212 \u03c8/Var(\u03b7); SE by the delta method; 95% CI: {how}."}


def std_paths_table(std: pd.DataFrame) -> dict[str, Any]:
    """Standardized paths with their delta-method SEs and Wald intervals (lavaan's standardizedSolution())."""
    rows = []
    for d in std[std["op"] == "~"].to_dict("records"):
        sig = _finite(d["pvalue"]) and float(d["pvalue"]) < ALPHA
        rows.append({"cls": "" if sig else "nonsig", "cells": [
            cell(arrow(d["rhs"], d["lhs"]), header=True), num(d["std_all"], 3), num(d["se"], 3), num(d["z"], 2),
            cell(fmt_p(d["pvalue"]), "num"), cell(fmt_ci(d["ci_low"], d["ci_high"], 3), "num")]})
    return {"caption": "Standardized paths with delta-method standard errors", "rows": rows,
            "columns": [col("Path"), col("\u03b2", "num"), col("SE", "num"), col("z", "num"), col("p", "num"),
                        col("\u03b2 95% CI", "num")],
            "note": "\u03b2: completely standardized coefficient (std.all); its SE by the delta method (the Jacobian "
                    "of the standardization by the complex step), z, p and the Wald interval as lavaan's "
                    "standardizedSolution()."}


LATENT_KINDS = {"variance": "Variance", "covariance": "Covariance", "disturbance variance": "Disturbance variance",
                "disturbance covariance": "Disturbance covariance"}
"""Row labels of the latent (co)variance table, keyed by ``latent_covariances.csv``'s ``kind``."""


def latent_table(lat: pd.DataFrame) -> dict[str, Any]:
    """Covariances and variances of the exogenous constructs and the disturbance variances."""
    rows = []
    for d in lat.to_dict("records"):
        name = str(d["lhs"]) if d["lhs"] == d["rhs"] else f"{d['lhs']} \u2194 {d['rhs']}"
        rows.append({"cells": [cell(name, header=True), cell(LATENT_KINDS.get(str(d["kind"]), str(d["kind"]))),
                               num(d["est"], 3), num(d["se"], 3), cell(fmt_p(d["pvalue"]), "num"),
                               num(d["std_all"], 3), num(d["std_se"], 3),
                               cell(fmt_ci(d["std_ci_low"], d["std_ci_high"], 3), "num")]})
    return {"caption": "Latent variances, covariances and disturbance variances", "rows": rows,
            "columns": [col("Parameter"), col("Kind"), col("Estimate", "num"), col("SE", "num"), col("p", "num"),
                        col("Std.", "num"), col("Std. SE", "num"), col("Std. 95% CI", "num")],
            "note": "Std.: a covariance as a correlation, a disturbance variance as the share of the construct's "
                    "variance left unexplained (1 \u2212 R\u00b2); an exogenous construct's variance standardizes to 1. "
                    "Std. SEs by the delta method."}


def f2_table(f2: pd.DataFrame) -> dict[str, Any]:
    """Cohen's f-squared of every path with its size label."""
    rows = [{"cells": [cell(arrow(d["rhs"], d["lhs"]), header=True), num(d["r2_included"], 3),
                       num(d["r2_excluded"], 3), num(d["f2"], 3), cell(d["size"] if isinstance(d["size"], str) else "")]}
            for d in f2.to_dict("records")]
    return {"caption": "Effect sizes f\u00b2 of the paths", "rows": rows,
            "columns": [col("Path"), col("R\u00b2 with", "num"), col("R\u00b2 without", "num"), col("f\u00b2", "num"),
                        col("Size")],
            "note": "f\u00b2 = (R\u00b2 with \u2212 R\u00b2 without) / (1 \u2212 R\u00b2 with) (Cohen 1988: .02 small, .15 medium, "
                    ".35 large). R\u00b2 without the path is recomputed from the fitted model's latent covariance "
                    "matrix (the regression without that predictor), not from a re-estimated model, as PLS-SEM "
                    "software recomputes it on the same construct scores."}
