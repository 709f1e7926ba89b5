"""The Monte Carlo section: reproduction rate of each claim and of all claims by sample size, and the sensitivity of the claims of no effect.

The sentences at the top are the report's reading of the tables
(:func:`xhs_sharing.report.montecarlo.reading`); ``power.json`` holds numbers only.
A study spec without population values has no Monte Carlo study: the section
then says why (:data:`SKIPPED`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from markupsafe import Markup

from xhs_sharing.report import figures
from xhs_sharing.report.format import DASH, cell, col, fmt_ci, fmt_int, num
from xhs_sharing.report.montecarlo import reading
from xhs_sharing.study.spec import Study

SKIPPED = ("Skipped: the study spec declares no population values (item loading, path std, "
           "exogenous_correlation), so there is no population model to draw synthetic surveys from. Post-hoc "
           "power computed from the fitted model is a function of the p-values (Hoenig & Heisey 2001) and is "
           "not shown.")
"""The Monte Carlo section of a run whose study spec declares no population values."""


JOINT_KEY = re.compile(r"joint_\d+")
"""Keys of power.json that give the smallest n reaching a joint reproduction level (``joint_80``)."""


def per_claim_table(cr: pd.DataFrame) -> dict[str, Any]:
    """Claims x sample sizes: the reproduction rate of each claim."""
    sizes = sorted({int(n) for n in cr["n"]})
    rows = []
    for cid in dict.fromkeys(cr["claim_id"].astype(str)):
        sub = cr[cr["claim_id"].astype(str) == cid].set_index("n")
        rows.append({"cells": [cell(cid, header=True)] + [num(sub.loc[n, "reproduction_rate"], 2) if n in sub.index
                                                          else cell(DASH, "num") for n in sizes]})
    return {"caption": "Reproduction rate of each claim by sample size", "rows": rows,
            "columns": [col("Claim")] + [col(f"n = {fmt_int(n)}", "num") for n in sizes],
            "note": "Share of replications in which the claim's decision rule gives \u201creproduced\u201d "
                    "(a replication whose fit failed counts as not reproduced). Every replication is fitted by ML, "
                    "whatever estimator the main analysis uses."}


def joint_table(joint: pd.DataFrame) -> dict[str, Any]:
    """The joint reproduction rate (every claim in the same replication) by sample size."""
    rows = [{"cells": [cell(fmt_int(r.n), "num", header=True), cell(fmt_int(r.replications), "num"), num(r.joint_rate, 3),
                       cell(fmt_ci(r.ci_low, r.ci_high, 3), "num")]} for r in joint.sort_values("n").itertuples(index=False)]
    return {"caption": "Joint reproduction (all claims in the same replication)", "rows": rows,
            "columns": [col("n", "num"), col("Replications", "num"), col("Joint rate", "num"), col("95% CI", "num")],
            "note": ""}


def joint_readings(power: Mapping[str, Any], largest: int | None) -> list[str]:
    """One sentence per ``joint_<level>`` key of power.json: from which n every claim reproduces at once."""
    readings = []
    for key in sorted(k for k in power if JOINT_KEY.fullmatch(str(k))):
        level = int(str(key).split("_")[1])
        value = power[key]
        if value is None:
            readings.append(f"Every claim reproduced at once in at least {level}% of replications: not reached at any simulated "
                            f"sample size" + (f" (largest n = {fmt_int(largest)})." if largest else "."))
        else:
            readings.append(f"Every claim reproduced at once in at least {level}% of replications from n = {fmt_int(value)}.")
    return readings


def sensitivity_table(power: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest true effect each claim of no effect would detect with 80% power (power.json ``min_detectable_80``)."""
    detect = power.get("min_detectable_80") or {}
    rows = [{"cells": [cell(cid, header=True), num(v, 2) if v is not None else cell("not reached", "num")]}
            for cid, v in sorted(detect.items())]
    return {"caption": "Smallest true effect a claim of no effect would miss less than 20% of the time "
                       f"(n = {fmt_int(power.get('sensitivity_n'))})",
            "rows": rows, "columns": [col("Claim of no effect"), col("Effect on its null path", "num")],
            "note": "Standardized population value of the null path (for a chain, its null link) at which the "
                    "claim fails in at least 80% of replications: what \u201cnot significant\u201d can hide."}


def settings_table(power: Mapping[str, Any]) -> dict[str, Any]:
    """Every other key of power.json (settings, fit counts), as JSON."""
    shown = {"min_detectable_80"}
    rows = [{"cells": [cell(str(k), header=True), cell(json.dumps(power[k], sort_keys=True) if not isinstance(power[k], str) else power[k])]}
            for k in sorted(power) if not JOINT_KEY.fullmatch(str(k)) and k not in shown]
    return {"caption": "Settings and fit counts of the study (power.json)", "rows": rows,
            "columns": [col("Key"), col("Value")], "note": ""}


def montecarlo_view(mc: Mapping[str, Any], study: Study) -> dict[str, Any]:
    """Everything the Monte Carlo section shows (``mc`` from :func:`xhs_sharing.report.read.read_montecarlo`)."""
    cr = mc["claim_reproduction"]
    joint = mc["joint_reproduction"]
    power = mc["power"]
    nulls = [c.id for c in study.claims if c.expected == "not_significant"]
    sizes = sorted({int(n) for n in cr["n"]})
    largest = max([int(n) for n in joint["n"]] + sizes) if len(joint) or sizes else None
    readings = joint_readings(power, largest)
    readings.append(reading(mc["replications"], cr, joint, power, study, mc["sensitivity"]))
    return {
        "figure": Markup(figures.reproduction_curves(cr, joint, nulls)),
        "readings": readings,
        "per_claim": per_claim_table(cr),
        "joint": joint_table(joint),
        "sensitivity": sensitivity_table(power),
        "power": settings_table(power),
    }


def montecarlo_section(mc: Mapping[str, Any] | None, study: Study) -> dict[str, Any] | None:
    """The Monte Carlo section: the study's results, why it was skipped, or None (no section).

    Parameters
    ----------
    mc : mapping or None
        The Monte Carlo results (:func:`xhs_sharing.report.read.read_montecarlo`), None when the
        run has none (``montecarlo.in_report: false``, or a spec without population values).
    study : Study
        The spec: without population values the section says the study was skipped (``skipped``).
    """
    if mc is not None:
        return {"skipped": "", **montecarlo_view(mc, study)}
    if not study.has_population:
        return {"skipped": SKIPPED}
    return None
