"""The Monte Carlo section: reproduction rate of each claim and of all claims by sample size, and the sensitivity of the claims of no effect.

The sentences at the top are the report's reading of the tables
(:func:`xhs_sharing.report.montecarlo.reading`); ``power.json`` holds numbers only.
A study spec without population values has no Monte Carlo study: the section
then says why (:data:`SKIPPED`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from markupsafe import Markup

from xhs_sharing.analysis.montecarlo import min_detectable_interpolated
from xhs_sharing.report import figures
from xhs_sharing.report.format import DASH, cell, col, fmt_ci, fmt_int, num
from xhs_sharing.report.montecarlo import questions, reading
from xhs_sharing.study.spec import Study

SKIPPED = ("Skipped: the study spec declares no population values (item loading, path std, "
           "exogenous_correlation), so there is no population model to draw synthetic surveys from. Post-hoc "
           "power computed from the fitted model is a function of the p-values (Hoenig & Heisey 2001) and is "
           "not shown.")
"""The Monte Carlo section of a run whose study spec declares no population values."""


JOINT_KEY = re.compile(r"joint_\d+")
"""Keys of power.json that give the smallest n reaching a joint reproduction level (``joint_80``)."""


def _n_label(n: int, analysed_n: int | None) -> str:
    """``n = 500``, with "(analysed)" on the size the main analysis used."""
    return f"n = {fmt_int(n)}" + (" (analysed)" if analysed_n is not None and n == analysed_n else "")


def per_claim_table(cr: pd.DataFrame, analysed_n: int | None = None) -> dict[str, Any]:
    """Claims x sample sizes: the reproduction rate of each claim (the analysed n's column marked)."""
    sizes = sorted({int(n) for n in cr["n"]})
    rows = []
    for cid in dict.fromkeys(cr["claim_id"].astype(str)):
        sub = cr[cr["claim_id"].astype(str) == cid].set_index("n")
        rows.append({"cells": [cell(cid, header=True)] + [num(sub.loc[n, "reproduction_rate"], 2) if n in sub.index
                                                          else cell(DASH, "num") for n in sizes]})
    return {"caption": "Reproduction rate of each claim by sample size", "rows": rows,
            "columns": [col("Claim")] + [col(_n_label(n, analysed_n), "num") for n in sizes],
            "note": "Share of replications in which the claim's decision rule gives \u201creproduced\u201d "
                    "(a replication whose fit failed counts as not reproduced). Every replication is fitted by ML, "
                    "whatever estimator the main analysis uses."}


def joint_table(joint: pd.DataFrame, analysed_n: int | None = None) -> dict[str, Any]:
    """The joint reproduction rate (every claim in the same replication) by sample size (the analysed n marked)."""
    rows = [{"cells": [cell(fmt_int(r.n) + (" (analysed)" if r.n == analysed_n else ""), "num", header=True), cell(fmt_int(r.replications), "num"), num(r.joint_rate, 3),
                       cell(fmt_ci(r.ci_low, r.ci_high, 3), "num")]} for r in joint.sort_values("n").itertuples(index=False)]
    return {"caption": "Joint reproduction (all claims in the same replication)", "rows": rows,
            "columns": [col("n", "num"), col("Replications", "num"), col("Joint rate", "num"), col("95% CI", "num")],
            "note": ""}


def sensitivity_table(power: Mapping[str, Any], sensitivity: pd.DataFrame | None = None) -> dict[str, Any]:
    """The smallest true effect each claim of no effect would detect with 80% power (power.json ``min_detectable_80``),
    read off the grid and interpolated between its two grid points around 80% (issue 17 point 6)."""
    detect = power.get("min_detectable_80") or {}
    interp = power.get("min_detectable_80_interpolated")
    if not isinstance(interp, Mapping):
        interp = (min_detectable_interpolated(sensitivity) if sensitivity is not None and len(sensitivity) else {})
    rows = [{"cells": [cell(cid, header=True), num(v, 2) if v is not None else cell("not reached", "num"),
                       num(interp.get(cid), 3) if interp.get(cid) is not None else cell(DASH, "num")]}
            for cid, v in sorted(detect.items())]
    return {"caption": "Smallest true effect a claim of no effect would miss less than 20% of the time "
                       f"(n = {fmt_int(power.get('sensitivity_n'))})",
            "rows": rows, "columns": [col("Claim of no effect"), col("On the grid", "num"), col("Interpolated", "num")],
            "note": "Standardized population value of the null path (for a chain, its null link) at which the "
                    "claim fails in at least 80% of replications: what \u201cnot significant\u201d can hide. "
                    "\u201cOn the grid\u201d is the smallest simulated value from which on the rate stays at or "
                    "above 80%; the grid's steps (of .05 by default) can overstate it by up to one step, so "
                    "\u201cInterpolated\u201d reads the crossing of 80% off the straight line between that grid point "
                    "and the one below it (Monte Carlo error of each rate about \u00b1.03 at 200 replications)."}


def _value_text(value: Any) -> str:
    """A setting as text: lists joined by commas, numbers with thousands separators, None as "none"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return fmt_int(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    return str(value)


SETTING_LABELS = {
    "replications": "Replications per sample size",
    "sample_sizes": "Sample sizes simulated",
    "mc_draws": "Monte Carlo draws per interval",
    "seed": "Master seed",
    "sensitivity_replications": "Sensitivity analysis: replications per effect",
}
"""How the settings table names the keys of power.json's ``settings``."""


def settings_table(power: Mapping[str, Any]) -> dict[str, Any]:
    """The study's settings and fit counts (power.json), as a table of labelled values, not JSON (issue 17 point 16)."""
    rows = []
    settings = power.get("settings") or {}
    for key in sorted(settings):
        rows.append((SETTING_LABELS.get(key, key), _value_text(settings[key])))
    if power.get("sensitivity_n") is not None:
        rows.append(("Sensitivity analysis: sample size", _value_text(power["sensitivity_n"])))
    fits = power.get("fits")
    if isinstance(fits, Mapping):
        rows.append(("Fits", f"{fmt_int(fits.get('converged'))} of {fmt_int(fits.get('replications'))} converged, "
                             f"{fmt_int(fits.get('failed'))} failed, {fmt_int(fits.get('refitted'))} refitted"))
    for key in sorted(k for k in power if JOINT_KEY.fullmatch(str(k))):
        level = int(str(key).split("_")[1])
        rows.append((f"Smallest n with a joint rate of at least .{level:02d}" if level < 100 else str(key),
                     _value_text(power[key]) if power[key] is not None else "not reached"))
    known = {"settings", "sensitivity_n", "fits", "min_detectable_80", "min_detectable_80_interpolated"}
    for key in sorted(k for k in power if k not in known and not JOINT_KEY.fullmatch(str(k))):
        rows.append((str(key), _value_text(power[key])))
    return {"caption": "Settings and fit counts of the study (power.json)",
            "rows": [{"cells": [cell(k, header=True), cell(v)]} for k, v in rows],
            "columns": [col("Setting"), col("Value")], "note": ""}


def montecarlo_view(mc: Mapping[str, Any], study: Study, analysed_n: int | None = None) -> dict[str, Any]:
    """Everything the Monte Carlo section shows (``mc`` from :func:`xhs_sharing.report.read.read_montecarlo`).

    ``questions``: one paragraph per question (:func:`xhs_sharing.report.montecarlo.questions`),
    with the rates at ``analysed_n``, the number of respondents the main analysis used.
    """
    cr = mc["claim_reproduction"]
    joint = mc["joint_reproduction"]
    power = mc["power"]
    nulls = [c.id for c in study.claims if c.expected == "not_significant"]
    qs = questions(mc["replications"], cr, joint, power, study, mc["sensitivity"], analysed_n)
    return {
        "figure": Markup(figures.reproduction_panels(cr, joint, claim_panels(study, cr), nulls, analysed_n)),
        "questions": qs,
        "readings": [] if qs else [reading(mc["replications"], cr, joint, power, study, mc["sensitivity"])],
        "per_claim": per_claim_table(cr, analysed_n),
        "joint": joint_table(joint, analysed_n),
        "sensitivity": sensitivity_table(power, mc["sensitivity"]),
        "power": settings_table(power),
    }


def claim_panels(study: Study, cr: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """The panels of the Monte Carlo figure: one per claim group, in spec order, empty groups left out.

    Groups: paths with an effect, mediated effects, claims of no effect (paths and chains); a claim
    in ``claim_reproduction.csv`` that the spec does not name goes to a last panel "Other claims".
    """
    present = list(dict.fromkeys(cr["claim_id"].astype(str)))
    spec = {c.id: c for c in study.claims}
    panels: list[tuple[str, list[str]]] = [("Paths with an effect", []), ("Mediated effects", []),
                                           ("Claims of no effect", []), ("Other claims", [])]
    for cid in present:
        c = spec.get(cid)
        k = 3 if c is None else 2 if c.expected == "not_significant" else 0 if c.kind == "path" else 1
        panels[k][1].append(cid)
    return [(title, ids) for title, ids in panels if ids]


def montecarlo_section(mc: Mapping[str, Any] | None, study: Study, analysed_n: int | None = None) -> dict[str, Any] | None:
    """The Monte Carlo section: the study's results, why it was skipped, or None (no section).

    Parameters
    ----------
    mc : mapping or None
        The Monte Carlo results (:func:`xhs_sharing.report.read.read_montecarlo`), None when the
        run has none (``montecarlo.in_report: false``, or a spec without population values).
    study : Study
        The spec: without population values the section says the study was skipped (``skipped``).
    analysed_n : int, optional
        Respondents the main analysis used: the section gives the rates at this n.
    """
    if mc is not None:
        return {"skipped": "", **montecarlo_view(mc, study, analysed_n)}
    if not study.has_population:
        return {"skipped": SKIPPED}
    return None
