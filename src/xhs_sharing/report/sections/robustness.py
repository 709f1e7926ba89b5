"""The robustness section: every claim judged across the grid of defensible analyses (multiverse).

Read from ``results/robustness/`` (:func:`xhs_sharing.report.read.read_robustness`):
a summary table with each claim's label, one plain sentence per claim, the
rule of the labels, the combinations left out and why, the nested test of
full against partial mediation, and a specification curve per claim
(:func:`xhs_sharing.report.speccurve.specification_curve`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from markupsafe import Markup

from xhs_sharing.analysis.robustness import INTERVAL_LABELS, MISSING_LABELS, MODEL_LABELS
from xhs_sharing.report.format import arrows, cell, claim_anchors, col, fmt_int, fmt_num, fmt_p, num
from xhs_sharing.report.speccurve import specification_curve
from xhs_sharing.study.spec import Study

__all__ = ["RULE", "robustness_section"]

RULE = ("A claim is robust when it holds in every specification that ran, fragile when it holds in some, "
        "contradicted when it holds in none. A path claim is judged once per estimator, missing-data handling and "
        "structural model, by the estimator's own 95% Wald interval (robust standard errors under MLR and WLSMV; under PLS and PLSc, "
        "which have no information matrix, the percentile bootstrap interval); an indirect-effect claim once more "
        "per interval of the indirect effect (the Monte Carlo interval does not exist under PLS and PLSc).")
"""How the labels are given (shown above the table)."""

_LABEL_CLASS = {"robust": "ok", "fragile": "warn", "contradicted": "bad"}


def _summary_table(summary: pd.DataFrame) -> dict[str, Any]:
    rows = []
    for r in summary.itertuples(index=False):
        label = str(r.label)
        rows.append({"cells": [
            cell(r.claim, header=True), cell(fmt_int(r.specifications), "num"), cell(fmt_int(r.reproduced), "num"),
            num(r.share_reproduced, 2), cell(str(r.main_verdict).replace("_", " ")),
            cell(label, f"badge {_LABEL_CLASS.get(label, '')}".strip()),
        ]})
    return {"caption": "Robustness of each claim across the specifications of the grid", "rows": rows,
            "columns": [col("Claim"), col("Specifications", "num"), col("Claim holds in", "num"),
                        col("Share", "num"), col("Main analysis"), col("Label")],
            "note": RULE}


def _excluded_table(excluded: pd.DataFrame) -> dict[str, Any]:
    rows = [{"cells": [cell(r.estimator), cell(MISSING_LABELS.get(r.missing, r.missing)),
                       cell(MODEL_LABELS.get(r.model, r.model)), cell(str(r.status).replace("_", " ")),
                       cell(r.reason)]} for r in excluded.itertuples(index=False)]
    return {"caption": "Combinations of the grid that were not analysed, and why", "rows": rows,
            "columns": [col("Estimator"), col("Missing answers"), col("Model"), col("Status"), col("Reason")],
            "note": ""}


def _nested_table(nested: pd.DataFrame) -> dict[str, Any]:
    rows = []
    for r in nested.itertuples(index=False):
        rows.append({"cells": [
            cell(r.estimator), cell(MISSING_LABELS.get(r.missing, r.missing)),
            cell(fmt_num(r.chi2_diff, 2), "num"), cell(fmt_int(r.df_diff), "num"), cell(fmt_p(r.pvalue), "num"),
            cell(r.method if isinstance(r.method, str) and r.method else "not computed"),
            cell(r.note if isinstance(r.note, str) else ""),
        ]})
    removed = "; ".join(sorted(set(str(p) for p in nested["removed_paths"] if isinstance(p, str))))
    return {"caption": "Full against partial mediation: chi-square difference tests", "rows": rows,
            "columns": [col("Estimator"), col("Missing answers"), col("\u0394\u03c7\u00b2", "num"), col("\u0394df", "num"),
                        col("p", "num"), col("Method"), col("Note")],
            "note": (f"Full mediation fixes at 0 the direct paths {arrows(removed.replace(';', ', '))}. "
                     "A small p says the direct paths are needed: the data reject full mediation. "
                     "ML: likelihood-ratio test; MLR: Satorra-Bentler (2001) scaled difference; WLSMV: Satorra "
                     "(2000) scaled-shifted difference (each lavaan's lavTestLRT default).") if removed else ""}


def _grid_text(specs: pd.DataFrame) -> str:
    parts = [", ".join(dict.fromkeys(specs["estimator"])),
             ", ".join(MISSING_LABELS.get(m, m) for m in dict.fromkeys(specs["missing"])),
             ", ".join(MODEL_LABELS.get(m, m) for m in dict.fromkeys(specs["model"]))]
    intervals = [INTERVAL_LABELS[i] for i in dict.fromkeys(specs["interval"]) if i in INTERVAL_LABELS]
    text = (f"Estimators: {parts[0]}. Missing answers: {parts[1]}. Structural model: {parts[2]}.")
    return text + (f" Intervals of the indirect effects: {', '.join(intervals)}." if intervals else "")


def _counts(summary: pd.DataFrame) -> dict[str, int]:
    return {label: int((summary["label"] == label).sum()) for label in ("robust", "fragile", "contradicted")}


def robustness_section(rob: Mapping[str, Any] | None, study: Study) -> dict[str, Any] | None:
    """The context of the robustness section; None when the stage did not run."""
    if rob is None:
        return None
    specs, summary = rob["robustness_specifications"], rob["robustness_summary"]
    anchors = claim_anchors([c.id for c in study.claims])
    curves = []
    for i, claim in enumerate(c.id for c in study.claims):
        mine = specs[specs["claim"] == claim]
        if mine.empty:
            continue
        sentence = str(summary.loc[summary["claim"] == claim, "sentence"].iloc[0])
        curves.append({"claim": claim, "anchor": anchors[claim], "sentence": sentence,
                       "svg": Markup(specification_curve(mine, claim, f"fig-spec-{i}"))})
    counts = _counts(summary)
    n_specs = specs.drop_duplicates(["estimator", "missing", "model"]).shape[0]
    return {
        "counts": counts, "n_specifications": n_specs, "grid": _grid_text(specs), "rule": RULE,
        "headline": (f"Across {n_specs} specifications (estimator, missing answers, structural model), "
                     f"{counts['robust']} of {len(summary)} claims are robust, {counts['fragile']} fragile and "
                     f"{counts['contradicted']} contradicted."),
        "sentences": [f"{r.claim} {r.sentence}." for r in summary.itertuples(index=False)],
        "summary": _summary_table(summary), "excluded": _excluded_table(rob["robustness_excluded"]),
        "nested": _nested_table(rob["robustness_nested"]), "curves": curves,
    }
