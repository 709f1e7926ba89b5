"""The "Common-method bias" section: Harman's test, the one-factor CFA and the unmeasured latent method factor.

Reads ``method_bias.json`` and ``method_bias.csv``
(:mod:`xhs_sharing.analysis.method_bias`); every number is formatted here,
and every limit of the checks is said in words next to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from xhs_sharing.report.format import arrow, cell, col, fmt_ci, fmt_int, fmt_num, fmt_p, num

__all__ = ["method_bias_view"]

REFERENCES = (
    "Podsakoff, MacKenzie, Lee & Podsakoff (2003), J. Appl. Psychol. 88:879-903; Liang, Saraf, Hu & Xue (2007), "
    "MIS Q. 31:59-87; Williams, Cote & Buckley (1989), J. Appl. Psychol. 74:462-468"
)


def _pct(x: Any) -> str:
    return f"{100 * float(x):.1f}%"


def harman_text(h: Mapping[str, Any]) -> str:
    """One paragraph: the first component's share against the 50% convention, and the test's limits."""
    verdict = "below" if h["below_cutoff"] else "at or above"
    return (f"Harman's single-factor test (unrotated principal components of the correlations of all "
            f"{h['n_items']} items, {fmt_int(h['n'])} respondents): the first component explains "
            f"{_pct(h['first_share'])} of the variance (eigenvalue {fmt_num(h['first_eigenvalue'])}; "
            f"{h['n_components_above_1']} components have an eigenvalue above 1), {verdict} the conventional 50%; "
            f"a one-factor maximum-likelihood factor analysis explains {_pct(h['factor_share'])}. "
            f"The test is insensitive: {h['limits']}.")


def one_factor_table(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The one-factor CFA next to the measurement model, with the chi-square difference test."""
    rows = []
    for label, f in (("One factor (all items)", doc["one_factor"]), ("Measurement model (CFA)", doc["measurement"])):
        rows.append({"cells": [cell(label, header=True), num(f["chi2"], 1), cell(fmt_int(f["df"]), "num"),
                               num(f["cfi"], 3), num(f["tli"], 3), num(f["rmsea"], 3), num(f["srmr"], 3)]})
    d = doc["one_factor_vs_measurement"]
    note = (f"Chi-square difference: \u0394\u03c7\u00b2({fmt_int(d['df'])}) = {fmt_num(d['chi2'], 1)}, "
            f"p {fmt_p(d['pvalue'])}; a much worse fit of the one-factor model says a single (method) factor does "
            "not account for the covariances of the items.")
    return {"caption": "One-factor CFA against the measurement model (ML)", "rows": rows, "note": note,
            "columns": [col("Model"), col("\u03c7\u00b2", "num"), col("df", "num"), col("CFI", "num"),
                        col("TLI", "num"), col("RMSEA", "num"), col("SRMR", "num")]}


def method_text(m: Mapping[str, Any]) -> str:
    """The method factor's identification, fit change and variance shares (Liang et al. 2007)."""
    if m.get("error"):
        return (f"Unmeasured latent method factor: the structural model plus a factor loading on every item, "
                f"orthogonal to every construct, could not be estimated ({m['error']}); no path or claim is "
                f"compared with it.")
    d = m["versus_structural"]
    proper = "" if m["proper"] else (" The solution with the method factor is improper (" + "; ".join(m["problems"])
                                     + "), a common outcome when there is little method variance to find: "
                                       "read its numbers as a diagnosis, not as estimates.")
    return (f"Unmeasured latent method factor: the structural model plus a factor loading on every item, "
            f"orthogonal to every construct, fitted by ML ({m['identification']}). Adding it changes the "
            f"chi-square by {fmt_num(d['chi2'], 1)} on {fmt_int(d['df'])} df (p {fmt_p(d['pvalue'])}). "
            f"Averaged over the items, the substantive factors explain {_pct(m['mean_substantive_variance'])} of "
            f"an item's variance and the method factor {_pct(m['mean_method_variance'])} (ratio "
            f"{fmt_num(m['variance_ratio'], 1)}); {m['significant_method_loadings']} of {len(m['loadings'])} "
            f"method loadings have p < .05.{_where(m['loadings'])}{proper}")


def _where(loadings: list[dict[str, Any]]) -> str:
    """Which constructs' items load most on the method factor, and what that means for the path changes."""
    frame = pd.DataFrame(loadings)
    if frame.empty or "method_var" not in frame:
        return ""
    by = frame.groupby("construct", sort=False)["method_var"].mean().sort_values(ascending=False)
    top = "; ".join(f"{c} {fmt_num(v)}" for c, v in by.head(2).items())
    return (f" It loads most on the items of {' and '.join(by.index[:2])} (mean squared standardized loading: "
            f"{top}): a method factor that takes up the shared variance of one construct's items is confounded "
            "with that construct (a known weakness of the technique; Richardson, Simmering & Sturman 2009, Organ. "
            "Res. Methods 12:762-800), so a change in that construct's paths is not by itself evidence of method "
            "bias.")


def paths_table(paths: pd.DataFrame) -> dict[str, Any]:
    """Every structural path without and with the method factor."""
    rows = []
    for r in paths.itertuples():
        changed = bool(r.changed)
        rows.append({"cls": "warn" if changed else "", "cells": [
            cell(arrow(r.rhs, r.lhs), header=True), num(r.std_all), cell(fmt_p(r.pvalue), "num"),
            num(r.std_all_method), cell(fmt_p(r.pvalue_method), "num"), num(r.delta_std),
            cell("yes" if changed else "no")]})
    return {"caption": "Structural paths without and with the method factor (standardized)", "rows": rows,
            "columns": [col("Path"), col("\u03b2", "num"), col("p", "num"), col("\u03b2 with CMV", "num"),
                        col("p with CMV", "num"), col("\u0394\u03b2", "num"), col("Significance changes")],
            "note": "A path is significant when its 95% Wald interval excludes zero."}


def claims_text(doc: Mapping[str, Any]) -> str:
    """Whether any claim's verdict changes with the method factor."""
    changed = [c for c in doc["claims"] if c["changed"]]
    head = ("Every claim judged again with the method factor (paths: 95% Wald interval; indirect effects: 95% Monte "
            "Carlo interval in both models): ")
    if not changed:
        return head + f"no verdict changes ({len(doc['claims'])} claims)."
    parts = [f"{c['id']} ({c['verdict'].replace('_', ' ')} \u2192 {c['verdict_method'].replace('_', ' ')}, "
             f"95% CI {fmt_ci(c['ci_low_method'], c['ci_high_method'], 3)})" for c in changed]
    return head + f"{len(changed)} of {len(doc['claims'])} change: " + "; ".join(parts) + "."


def method_bias_view(res: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the section shows, from ``res["method_bias"]`` and ``res["method_bias_paths"]``."""
    doc = res["method_bias"]
    return {
        "harman": harman_text(doc["harman"]),
        "one_factor": one_factor_table(doc),
        "method": method_text(doc["method_factor"]),
        "paths": paths_table(res["method_bias_paths"]),
        "claims": claims_text(doc),
        "claims_changed": list(doc["claims_changed"]),
        "note": doc.get("note", ""),
        "references": REFERENCES,
    }
