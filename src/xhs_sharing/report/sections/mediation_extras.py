"""Bootstrap precision of the indirect effects and contrasts between them (issue 17 point 14).

Two tables of the mediation section, read from ``indirect_effects.csv`` (its
``boot_se``, ``std_ci_low`` and ``std_ci_high`` columns) and
``indirect_contrasts.csv`` (:mod:`xhs_sharing.analysis.mediation_contrasts`).
Results written before these columns or files existed give no table.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from xhs_sharing.report.format import _finite, arrow, cell, col, fmt_ci, num
from xhs_sharing.study.syntax import MEDIATOR_SEP

__all__ = ["contrasts_table", "precision_table"]


def _excludes_zero(low: Any, high: Any) -> bool:
    return _finite(low) and _finite(high) and (float(low) > 0 or float(high) < 0)


def _ci(low: Any, high: Any) -> str:
    return fmt_ci(low, high, 3) + (" \u2020" if _excludes_zero(low, high) else "")


def precision_table(indirect: pd.DataFrame) -> dict[str, Any] | None:
    """Every specific indirect effect: B with its bootstrap SE, beta with its percentile-bootstrap 95% interval."""
    if "boot_se" not in indirect.columns:
        return None
    rows = []
    for r in indirect[indirect["effect"] == "indirect"].itertuples(index=False):
        chain = arrow(str(r.x), *str(r.mediator).split(MEDIATOR_SEP), str(r.y))
        rows.append({"cells": [cell(chain, header=True), num(r.est, 3), num(r.boot_se, 3), num(r.std_est, 3),
                               cell(_ci(r.std_ci_low, r.std_ci_high), "num")]})
    return {"caption": "Specific indirect effects: bootstrap standard errors and standardized intervals",
            "rows": rows,
            "columns": [col("Indirect effect"), col("B", "num"), col("Bootstrap SE", "num"), col("\u03b2", "num"),
                        col("\u03b2 95% CI (bootstrap)", "num")],
            "note": "Bootstrap SE: the standard deviation of B over the converged resamples (lavaan's "
                    "se = \"bootstrap\"). The interval of \u03b2 is the percentile interval of the standardized "
                    "effect recomputed in every resample. \u2020 the interval excludes zero."}


def contrasts_table(contrasts: pd.DataFrame | None) -> dict[str, Any] | None:
    """Every pairwise difference of the specific indirect effects of one X on one Y, with its intervals."""
    if contrasts is None or contrasts.empty:
        return None
    rows = []
    for r in contrasts.itertuples(index=False):
        label = (f"{arrow(str(r.x), *str(r.mediator_1).split(MEDIATOR_SEP), str(r.y))} minus "
                 f"{arrow(str(r.x), *str(r.mediator_2).split(MEDIATOR_SEP), str(r.y))}")
        rows.append({"cells": [cell(label, header=True), num(r.est, 3), num(r.se, 3), num(r.boot_se, 3),
                               cell(_ci(r.boot_ci_low, r.boot_ci_high), "num"), cell(_ci(r.mc_ci_low, r.mc_ci_high), "num"),
                               num(r.std_est, 3), cell(_ci(r.std_ci_low, r.std_ci_high), "num")]})
    return {"caption": "Contrasts between specific indirect effects", "rows": rows,
            "columns": [col("Contrast"), col("B", "num"), col("SE (delta)", "num"), col("Bootstrap SE", "num"),
                        col("Bootstrap 95% CI", "num"), col("Monte Carlo 95% CI", "num"), col("\u03b2", "num"),
                        col("\u03b2 95% CI (bootstrap)", "num")],
            "note": "Difference of two specific indirect effects of the same X on the same Y (the first minus the "
                    "second; delta-method SE as lavaan's for a := contrast). An interval that excludes zero (\u2020) "
                    "says the two mediators carry effects of different size."}
