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
        "r2": {"caption": "Explained variance of the endogenous constructs", "columns": [col("Construct"), col("R\u00b2", "num")],
               "rows": [{"cells": [cell(k, header=True), num(v, 2)]} for k, v in r2.items()], "note": ""},
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
        "bootstrap_text": _bootstrap_text(boot) + categories_text(boot),
        "bootstrap_incomplete": _finite(failed) and float(failed) > 0,
    }
