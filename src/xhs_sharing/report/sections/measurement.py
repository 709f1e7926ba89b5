"""The measurement-model section: constructs, item descriptives, reliability, discriminant validity, loadings, fit, checks.

Every status and threshold shown comes from ``checks.json``: a number cell
carries the status of its check as a text marker (the colour only repeats
it), and the notes quote each check's threshold and reference. Only a
statistic checks.json has no check for falls back to the config schema's
default cut-off (:mod:`xhs_sharing.study.cutoffs`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from xhs_sharing.analysis.item_validity import VIF_CRITICAL
from xhs_sharing.report.format import (
    DASH,
    _finite,
    cell,
    col,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_threshold,
    num,
    status_badge,
)
from xhs_sharing.report.judged import judged_view, with_unjudged_rows
from xhs_sharing.report.tables import (
    check_cell,
    check_index,
    estimator_label,
    fit_cutoffs,
    fit_statuses,
    fit_table,
    matrix_table,
)
from xhs_sharing.study.cutoffs import default_thresholds, references
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import identification_notes


def constructs_table(study: Study) -> dict[str, Any]:
    """The constructs of the study spec with their roles and definitions."""
    return {
        "caption": "Constructs of the study specification",
        "columns": [col("Construct"), col("Label"), col("Role"), col(study.section_label), col("Items", "num"), col("Definition")],
        "rows": [{"cells": [cell(c.id, header=True), cell(c.label), cell(c.role), cell(c.section, "num"),
                            cell(len(c.items), "num"), cell(c.definition, "text")]} for c in study.constructs],
        "note": study.source.instrument if study.source is not None else "",
    }


def _percentages(d: Mapping[str, Any], pcols: Sequence[str]) -> list[float]:
    """Answer shares of one item in percent, whether the file holds proportions or counts."""
    props = [float(d[c]) if _finite(d[c]) else float("nan") for c in pcols]
    total = sum(v for v in props if math.isfinite(v))
    if pcols and abs(total - 1.0) < 0.02:
        return [v * 100 for v in props]
    if pcols and _finite(d["n"]) and float(d["n"]) > 0 and abs(total - float(d["n"])) < 0.5:
        return [100 * v / float(d["n"]) for v in props]
    return props


def descriptives_table(desc: pd.DataFrame, study: Study) -> dict[str, Any]:
    """Item descriptives with the wording of each item and the share of answers at each scale point."""
    pcols = sorted((c for c in desc.columns if re.fullmatch(r"p\d+", c)), key=lambda c: int(c[1:]))
    wording = {it.id: (it.text + (" (reverse-coded)" if it.reverse else "")) for it in study.items}
    rows = []
    for r in desc.itertuples(index=False):
        d = r._asdict()
        rows.append({"cells": [cell(d["construct"]), cell(d["item"], header=True), cell(wording.get(str(d["item"]), DASH), "text"),
                               cell(fmt_int(d["n"]), "num"), num(d["mean"]), num(d["sd"]), num(d["skewness"]), num(d["kurtosis"])]
                     + [num(v, 0) for v in _percentages(d, pcols)] + [num(d["citc"])]})
    return {
        "caption": "Item descriptives",
        "columns": [col("Construct"), col("Item"), col("Wording"), col("n", "num"), col("M", "num"), col("SD", "num"),
                    col("Skew", "num"), col("Kurt.", "num")] + [col(f"% {c[1:]}", "num") for c in pcols] + [col("CITC", "num")],
        "rows": rows,
        "note": "% k: share of answers at scale point k. Kurt.: excess kurtosis. CITC: corrected item-total correlation. "
                "Reverse-coded items are described after recoding.",
    }


def category_counts_table(desc: pd.DataFrame, cfa_fit: Mapping[str, Any]) -> dict[str, Any] | None:
    """Under WLSMV: the answers of each item at each scale point, the margins its thresholds come from.

    The counts are ``n * p_k`` of the item descriptives (whole numbers: under
    WLSMV every respondent analysed answered every item, listwise). None for
    the other estimators.
    """
    if str(cfa_fit.get("estimator")) != "WLSMV":
        return None
    pcols = sorted((c for c in desc.columns if re.fullmatch(r"p\d+", c)), key=lambda c: int(c[1:]))
    rows = []
    for r in desc.itertuples(index=False):
        d = r._asdict()
        n = int(d["n"])
        counts = [round(float(d[c]) * n) if _finite(d[c]) else None for c in pcols]
        used = sum(1 for k in counts if k)
        rows.append({"cells": [cell(d["construct"]), cell(d["item"], header=True), cell(fmt_int(n), "num")]
                     + [cell(fmt_int(k) if k is not None else DASH, "num") for k in counts]
                     + [cell(fmt_int(used), "num"), cell(fmt_int(max(used - 1, 0)), "num")]})
    return {
        "caption": "Answers per category (WLSMV: the margins the thresholds come from)",
        "columns": [col("Construct"), col("Item"), col("n", "num")] + [col(c[1:], "num") for c in pcols]
                   + [col("Categories", "num"), col("Thresholds", "num")],
        "rows": rows,
        "note": "Number of respondents analysed (listwise) giving each answer. WLSMV treats the answers as ordered "
                "categories of a normal latent response: the thresholds are tau_k = Phi^-1(F_k), F_k the cumulative "
                "share of answers up to category k (Muthen 1984; lavaan's ordered items). A scale point nobody chose "
                "is not a category: its two thresholds merge into one, as in lavaan.",
    }


def _first_check(checks: Sequence[Mapping[str, Any]], statistic: str, contains: bool = False) -> Mapping[str, Any] | None:
    """The first check of ``statistic`` (or, with ``contains``, whose statistic contains it) that has a threshold."""
    for c in checks:
        stat = str(c.get("statistic", "")).lower()
        if (statistic in stat if contains else stat == statistic) and _finite(c.get("threshold")):
            return c
    return None


def _reliability_note(checks: Sequence[Mapping[str, Any]]) -> str:
    """The note under the reliability table: each statistic's threshold and reference, from checks.json."""
    thresholds = []
    for stat, label in (("alpha", "\u03b1"), ("cr", "CR"), ("ave", "AVE")):
        c = _first_check(checks, stat)
        if c is not None:
            thresholds.append(f"{label} {fmt_threshold(c.get('comparison'), c.get('threshold'))}"
                              + (f" ({c.get('reference')})" if c.get("reference") else ""))
    return (("Thresholds from checks.json: " + "; ".join(thresholds) + ". " if thresholds else "")
            + "\u2713 passes its check, \u2717 fails it, ! warning. " + CR_AVE_DEFINITIONS)


CR_AVE_DEFINITIONS = (
    "CR: composite reliability; AVE: average variance extracted. CR and AVE (the values checked) are computed from "
    "the completely standardized loadings \u03bb (Fornell & Larcker 1981): CR = (\u03a3\u03bb)\u00b2 / "
    "((\u03a3\u03bb)\u00b2 + \u03a3(1 \u2212 \u03bb\u00b2)), AVE = mean \u03bb\u00b2. The semTools columns use "
    "semTools' compRelSEM() and AVE() instead (unstandardized loadings and the observed variances of the items): "
    "they differ most on weak scales whose items have unequal variances; they are shown, not checked.")
"""Which CR and AVE the reliability table shows and what the semTools columns are."""


def reliability_table(rel: pd.DataFrame, checks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Alpha with its interval, CR, AVE and sqrt(AVE) per construct, each cell marked by its check."""
    cindex = check_index(checks)
    rows = []
    for r in rel.itertuples(index=False):
        d = r._asdict()
        cid = str(d["construct"])
        rows.append({"cells": [
            cell(cid, header=True),
            check_cell(d["alpha"], cindex.get((cid, "alpha"))),
            cell(fmt_ci(d["alpha_ci_low"], d["alpha_ci_high"]), "num"),
            check_cell(d["cr"], cindex.get((cid, "cr"))),
            check_cell(d["ave"], cindex.get((cid, "ave"))),
            check_cell(d["sqrt_ave"], cindex.get((cid, "sqrt_ave"))),
            num(d.get("cr_semtools")),
            num(d.get("ave_semtools")),
        ]})
    return {
        "caption": "Reliability and convergent validity",
        "columns": [col("Construct"), col("Cronbach's \u03b1", "num"), col("\u03b1 95% CI", "num"), col("CR", "num"),
                    col("AVE", "num"), col("\u221aAVE", "num"), col("CR (semTools)", "num"), col("AVE (semTools)", "num")],
        "rows": rows,
        "note": _reliability_note(checks),
    }


def fornell_table(fl: pd.DataFrame) -> dict[str, Any]:
    """Fornell-Larcker matrix; a correlation not below the sqrt(AVE) of both its constructs is marked."""
    diag = {c: float(fl.loc[c, c]) for c in fl.columns}
    ids = list(fl.columns)

    def flag(i: int, j: int, v: float) -> str | None:
        if i == j:
            return None
        return "fail" if abs(v) >= min(diag[ids[i]], diag[ids[j]]) else None

    return matrix_table(fl, "Fornell\u2013Larcker criterion", flag,
                        note="Diagonal (bold): \u221aAVE; below it: correlations between constructs. "
                             "\u2717 marks a correlation not below the \u221aAVE of both constructs.")


def htmt_threshold(checks: Sequence[Mapping[str, Any]]) -> float:
    """The HTMT cut-off of checks.json (the schema default when it has no HTMT check)."""
    check = _first_check(checks, "htmt")
    return float(check["threshold"]) if check else default_thresholds()["htmt"]


#: What the HTMT note adds under WLSMV (``htmt.csv`` then holds the ratios of the polychoric correlations).
HTMT_POLYCHORIC_NOTE = (" Under WLSMV the ratios are of the polychoric correlations, the correlations the model is "
                        "fitted to (semTools' htmt() with ordered items).")


def htmt_table(hm: pd.DataFrame, checks: Sequence[Mapping[str, Any]], estimator: str | None = None) -> dict[str, Any]:
    """HTMT matrix; a ratio above the cut-off is marked (computed on polychorics under WLSMV, said in the note)."""
    check = _first_check(checks, "htmt")
    thr = htmt_threshold(checks)

    def flag(i: int, j: int, v: float) -> str | None:
        return "fail" if i != j and v > thr else None

    reference = check.get("reference") if check else references()["htmt"]
    return matrix_table(hm, "Heterotrait\u2013monotrait ratios (HTMT)", flag, diag_bold=False, blank_diagonal=True,
                        note=f"\u2717 marks a ratio above {fmt_num(thr)}" + (f" ({reference})" if reference else "")
                             + ": discriminant validity in doubt."
                             + (HTMT_POLYCHORIC_NOTE if estimator == "WLSMV" else ""))


def loadings_table(loadings: pd.DataFrame, checks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """CFA loadings; a standardized loading below the cut-off of checks.json (or the schema default) is marked."""
    check = _first_check(checks, "loading", contains=True)
    thr = float(check["threshold"]) if check else default_thresholds()["std_loading"]
    rows = []
    for r in loadings.itertuples(index=False):
        d = r._asdict()
        std_cell = num(d["std_all"])
        if _finite(d["std_all"]) and float(d["std_all"]) < thr:
            std_cell["cls"] += " st-warn"
            std_cell["mark"] = "!"
        rows.append({"cells": [cell(d["construct"]), cell(d["item"], header=True), num(d["est"], 3), num(d["se"], 3),
                               num(d["z"], 2), cell(fmt_p(d["pvalue"]), "num"), std_cell]})
    return {
        "caption": "Factor loadings (confirmatory factor analysis)",
        "columns": [col("Construct"), col("Item"), col("B", "num"), col("SE", "num"), col("z", "num"), col("p", "num"),
                    col("\u03bb (std.)", "num")],
        "rows": rows,
        "note": f"B: unstandardized loading (the first item of each construct is fixed to 1, so it has no SE). "
                f"\u03bb: completely standardized loading; ! marks \u03bb below {fmt_num(thr)}.",
    }


def checks_table(checks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every check of checks.json: failed first, then warnings, then passed."""
    rows = []
    order = {"fail": 0, "failed": 0, "warning": 1}
    for c in sorted(checks, key=lambda c: order.get(str(c.get("status")), 2)):
        badge = status_badge(c.get("status"))
        rows.append({"cls": f"row-{badge['cls']}", "cells": [
            cell(c.get("check"), header=True), cell(c.get("construct") if c.get("construct") is not None else DASH),
            cell(c.get("item") or DASH), cell(c.get("statistic")), num(c.get("value"), 3),
            cell(fmt_threshold(c.get("comparison"), c.get("threshold"))),
            cell(badge["text"], "badge-cell", badge=badge), cell(c.get("reference") or DASH, "text")]})
    return {"caption": "Every measurement check", "rows": rows,
            "columns": [col("Check"), col("Construct"), col("Item"), col("Statistic"), col("Value", "num"), col("Threshold"),
                        col("Status"), col("Reference")],
            "note": "Failed checks first, then warnings, then passed checks."}


def _where(c: Mapping[str, Any]) -> str:
    parts = [str(c["construct"])] if c.get("construct") else []
    parts += [f"item {c['item']}"] if c.get("item") else []
    return f" ({', '.join(parts)})" if parts else ""


def _heywood(c: Mapping[str, Any]) -> str:
    if str(c.get("statistic")) == "resid_var" and str(c.get("status")) in ("fail", "failed"):
        return " (a Heywood case: a negative residual variance, the CFA solution is improper)"
    return ""


def problems(checks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One line per check that did not pass: where, value vs threshold, reference."""
    return [{"badge": status_badge(c.get("status")),
             "text": f"{c.get('check')}" + _where(c)
                     + (f": {fmt_num(c.get('value'), 3)} vs {fmt_threshold(c.get('comparison'), c.get('threshold'))}"
                        if _finite(c.get("value")) else ": value not available")
                     + _heywood(c)
                     + (f". {c.get('reference')}" if c.get("reference") else "")}
            for c in checks if str(c.get("status")) != "pass"]


def failed_checks(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The checks that failed, one short phrase each, for the report's summary (warnings left out).

    >>> failed_checks([{"check": "cronbach_alpha", "construct": "ES", "status": "fail", "value": -1.14,
    ...                 "comparison": "ge", "threshold": 0.7}, {"check": "htmt", "status": "pass"}])
    ['cronbach_alpha (ES): \u22121.140 vs \u2265 0.70']
    """
    return [f"{c.get('check')}" + _where(c)
            + (f": {fmt_num(c.get('value'), 3)} vs {fmt_threshold(c.get('comparison'), c.get('threshold'))}"
               if _finite(c.get("value")) else "")
            for c in checks if str(c.get("status")) in ("fail", "failed")]


def measurement_view(res: Mapping[str, Any], study: Study) -> dict[str, Any]:
    """Everything the measurement section shows (``res`` from :func:`xhs_sharing.report.read.read_results`)."""
    checks = list(res["checks"].get("checks", []))
    cfa_fit = res["cfa_fit"]
    estimator = estimator_label(cfa_fit)
    return {
        "constructs": constructs_table(study),
        "descriptives": descriptives_table(res["item_descriptives"], study),
        "categories": category_counts_table(res["item_descriptives"], cfa_fit),
        "reliability": reliability_table(res["reliability"], checks),
        "fornell_larcker": fornell_table(res["fornell_larcker"]),
        "htmt": htmt_table(res["htmt"], checks, cfa_fit.get("estimator")),
        "htmt_threshold": fmt_num(htmt_threshold(checks)),
        "loadings": loadings_table(res["loadings"], checks),
        "fit": with_unjudged_rows(fit_table(judged_view(cfa_fit), "Fit of the confirmatory factor analysis" + estimator,
                                         fit_cutoffs(checks), fit_statuses(checks)), cfa_fit),
        "checks": checks_table(checks),
        "problems": problems(checks),
        "failed": failed_checks(checks),
        "identification": identification_notes(study),
        **item_validity_view(res, study, htmt_threshold(checks)),
        "passed": res["checks"].get("passed", sum(1 for c in checks if c.get("passed"))),
        "total": res["checks"].get("total", len(checks)),
    }


def htmt_intervals_table(iv: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """HTMT next to HTMT2, each with its bootstrap interval; an upper bound at or above ``threshold`` is marked."""
    rows = []
    for d in iv.to_dict("records"):
        cells = [cell(f"{d['construct_a']}\u2013{d['construct_b']}", header=True)]
        for v in ("htmt", "htmt2"):
            ci = cell(fmt_ci(d[f"{v}_ci_low"], d[f"{v}_ci_high"]) if _finite(d[f"{v}_ci_low"]) else "", "num")
            if _finite(d[f"{v}_ci_high"]) and float(d[f"{v}_ci_high"]) >= threshold:
                ci["cls"] += " st-bad"
                ci["mark"] = "\u2717"
            cells += [num(d[v], 2), ci]
        rows.append({"cells": cells})
    method = str(iv["method"].iloc[0]) if len(iv) else ""
    n_boot = int(iv["n_boot"].iloc[0]) if len(iv) else 0
    return {
        "caption": "HTMT and HTMT2 with 95% bootstrap intervals",
        "columns": [col("Constructs"), col("HTMT", "num"), col("95% CI", "num"), col("HTMT2", "num"),
                    col("95% CI", "num")],
        "rows": rows,
        "note": "HTMT: arithmetic means of the absolute item correlations (Henseler, Ringle & Sarstedt 2015); "
                "HTMT2: geometric means (Roemer, Schuberth & Henseler 2021; semTools' htmt() default since 0.5-6), "
                "consistent when the loadings of a construct differ. "
                + (f"Intervals: {method}, {n_boot:,} resamples (percentile). " if n_boot else f"Intervals: {method}. ")
                + f"\u2717 marks an upper bound at or above {fmt_num(threshold)}: discriminant validity not "
                "established for the pair (Franke & Sarstedt 2019).",
    }


def cross_loadings_table(cl: pd.DataFrame, study: Study) -> dict[str, Any]:
    """Item x construct correlations with the unit-weighted composites; the own construct in bold, a failure marked."""
    cids = [c for c in study.construct_ids if c in cl.columns]
    rows = []
    for d in cl.to_dict("records"):
        cells = [cell(d["construct"]), cell(d["item"], header=True)]
        for c in cids:
            x = num(d[c], 2)
            if c == d["construct"]:
                x["cls"] += " diag"
                if not bool(d["own_highest"]):
                    x["cls"] += " st-bad"
                    x["mark"] = "\u2717"
            cells.append(x)
        rows.append({"cells": cells})
    return {
        "caption": "Cross-loadings (item correlations with every construct's mean score)",
        "columns": [col("Construct"), col("Item")] + [col(c, "num") for c in cids],
        "rows": rows,
        "note": "Correlation of each item with the mean of each construct's items (unit-weighted composites, "
                "SmartPLS-style; the own construct, in bold, includes the item). Each item should correlate more "
                "with its own construct than with any other (Chin 1998; Hair et al. 2019); \u2717 marks an item "
                "that does not. Pearson correlations of the item scores.",
    }


def vif_table(vif: pd.DataFrame) -> dict[str, Any]:
    """Item VIF within the construct and across all items; VIF >= 5 marked (Hair et al. 2019)."""
    rows = []
    for d in vif.to_dict("records"):
        cells = [cell(d["construct"]), cell(d["item"], header=True)]
        for c in ("vif_block", "vif_all"):
            x = num(d[c], 2)
            if _finite(d[c]) and float(d[c]) >= VIF_CRITICAL:
                x["cls"] += " st-bad"
                x["mark"] = "\u2717"
            cells.append(x)
        rows.append({"cells": cells})
    return {
        "caption": "Item variance inflation factors",
        "columns": [col("Construct"), col("Item"), col("VIF (construct)", "num"), col("VIF (all items)", "num")],
        "rows": rows,
        "note": "VIF = 1 / (1 \u2212 R\u00b2) of the item regressed on the other items of its construct, and on every "
                f"other item (full collinearity, Kock & Lynn 2012). \u2717 marks VIF \u2265 {fmt_num(VIF_CRITICAL, 0)}, "
                "critical collinearity (Hair et al. 2019); values of 3\u20135 may indicate it.",
    }


def item_validity_view(res: Mapping[str, Any], study: Study, threshold: float) -> dict[str, Any]:
    """The issue-17 tables of the measurement section: HTMT2 and intervals, cross-loadings, item VIF.

    A table whose file is absent (results written before issue 17) is None and left out.
    """
    def shown(key: str, build: Any, *args: Any) -> dict[str, Any] | None:
        return None if res.get(key) is None else build(res[key], *args)

    return {
        "htmt_intervals": shown("htmt_intervals", htmt_intervals_table, threshold),
        "cross_loadings": shown("cross_loadings", cross_loadings_table, study),
        "vif": shown("item_vif", vif_table),
    }


def fit_by_construction(study: Study, synthetic: bool, scale_points: int | None = None) -> str:
    """The note beside the fit tables on synthetic data: near-perfect fit is built in (issue 17 point 2).

    The synthetic survey is drawn from the spec's population model, whose
    structure is the model fitted here (the CFA, with every latent covariance
    free, nests it), so the fitted model is correctly specified by
    construction: chi-square is near its degrees of freedom, CFI near 1 and
    RMSEA near 0 up to sampling error and the coarsening of the latent
    answers into scale points. Empty on observed data, or for a spec
    without population values (no synthetic survey can be drawn from it).
    """
    if not synthetic or not study.has_population:
        return ""
    points = f"{scale_points} " if scale_points else ""
    return ("Good fit here is by construction: the survey is synthetic, drawn from the population model of the "
            "study specification, which has the structure of the model fitted here, so the model is correctly "
            "specified and a chi-square near its degrees of freedom, CFI near 1 and RMSEA near 0 are expected, "
            f"up to sampling error and the coarsening of answers into {points}scale points. It says nothing "
            "about how the model would fit observed data.")
