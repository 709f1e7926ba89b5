"""One function per workflow stage: plain inputs in, named output tables out.

The Snakemake scripts only read files, call these functions and write what
they return, so every stage can be run and tested without Snakemake.
"""

from __future__ import annotations

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
from .spec import Study


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
    items: pd.DataFrame, study: Study, scale_points: int, thresholds: dict[str, float] | None = None
) -> MeasurementOutputs:
    """Validate the measurement model on a survey (items recoded, one column per item).

    Fits the correlated-factors CFA, then computes reliability (alpha, CR,
    AVE), discriminant validity (Fornell-Larcker, HTMT), item descriptives and
    the checks against ``thresholds``.
    """
    ibc = study.items_by_construct
    cfa = fit_cfa(items, ibc)
    reliability = reliability_table(items, ibc, cfa.loadings)
    fl = fornell_larcker(cfa.latent_corr, reliability.set_index("construct")["ave"])
    ht = htmt(items, ibc)
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
