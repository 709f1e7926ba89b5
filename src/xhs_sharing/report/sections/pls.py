"""The PLS-SEM tables of a run with ``estimator: PLS`` or ``PLSc`` (issue 15), in the names of the PLS literature.

Read from ``results/structural/pls_{outer,quality,htmt,inner}.csv``
(:data:`xhs_sharing.results.PLS_RESULTS`), which the structural step writes only
under PLS: outer weights and loadings, construct reliability and validity
(Cronbach's alpha, rho_A, rho_C, AVE; Hair et al. 2021, ch. 4), R-squared and
adjusted R-squared, path coefficients with f-squared and inner VIF, and HTMT
with its percentile-bootstrap interval judged against .85 and .90 (Henseler,
Ringle & Sarstedt 2015). Every interval is the percentile bootstrap's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from xhs_sharing.report.format import arrow, cell, col, fmt_ci, num

__all__ = ["pls_view"]


def _yes(flag: Any) -> str:
    return "yes" if str(flag).strip().lower() in ("true", "1", "yes") else "no"


def outer_table(outer: pd.DataFrame, method: str) -> dict[str, Any]:
    """Outer weights and loadings of every item, the loading with its bootstrap SE and 95% interval."""
    rows = [{"cells": [cell(r.construct), cell(r.item, header=True), num(r.weight, 3), num(r.loading, 3),
                       num(r.se, 3), cell(fmt_ci(r.ci_low, r.ci_high, 3), "num")]}
            for r in outer.itertuples(index=False)]
    return {"caption": f"{method}: outer weights and loadings", "rows": rows,
            "columns": [col("Construct"), col("Item"), col("Weight", "num"), col("Loading", "num"),
                        col("SE", "num"), col("Loading 95% CI", "num")],
            "note": "Mode A (reflective) blocks; SE: bootstrap standard deviation; percentile-bootstrap interval."}


def quality_table(quality: pd.DataFrame, method: str) -> dict[str, Any]:
    """Reliability and convergent validity of every construct, and R-squared of the endogenous ones."""
    rows = [{"cells": [cell(r.construct, header=True), cell(str(int(r.n_items)), "num"), num(r.alpha, 3),
                       num(r.rho_a, 3), num(r.rho_c, 3), num(r.ave, 3), num(r.r2, 3), num(r.adj_r2, 3)]}
            for r in quality.itertuples(index=False)]
    return {"caption": f"{method}: construct reliability, validity and explained variance", "rows": rows,
            "columns": [col("Construct"), col("Items", "num"), col("\u03b1", "num"), col("\u03c1_A", "num"),
                        col("\u03c1_C", "num"), col("AVE", "num"), col("R\u00b2", "num"), col("Adj. R\u00b2", "num")],
            "note": "\u03b1: Cronbach's alpha; \u03c1_A: Dijkstra-Henseler's reliability; \u03c1_C: composite "
                    "reliability; AVE: average variance extracted (Hair et al. 2021, ch. 4). R\u00b2 only for "
                    "endogenous constructs."}


def inner_table(inner: pd.DataFrame, method: str) -> dict[str, Any]:
    """Path coefficients with their percentile interval, f-squared and inner VIF."""
    rows = [{"cells": [cell(arrow(r.source, r.target), header=True), num(r.path, 3),
                       cell(fmt_ci(r.ci_low, r.ci_high, 3), "num"), num(r.f2, 3), num(r.vif, 2)]}
            for r in inner.itertuples(index=False)]
    return {"caption": f"{method}: path coefficients, effect sizes and collinearity", "rows": rows,
            "columns": [col("Path"), col("Coefficient", "num"), col("95% CI", "num"), col("f\u00b2", "num"),
                        col("Inner VIF", "num")],
            "note": "f\u00b2 = (R\u00b2 with the path \u2212 R\u00b2 without) / (1 \u2212 R\u00b2 with), the R\u00b2 "
                    "without the path from the construct correlations (SmartPLS recomputes the model); "
                    "percentile-bootstrap interval."}


def htmt_table(htmt: pd.DataFrame, method: str) -> dict[str, Any]:
    """HTMT of every pair of constructs with its interval, and whether the upper bound stays below .85 and .90."""
    rows = [{"cells": [cell(f"{r.construct_a}\u2013{r.construct_b}", header=True), num(r.htmt, 3),
                       cell(fmt_ci(r.ci_low, r.ci_high, 3), "num"), cell(_yes(r.below_085)),
                       cell(_yes(r.below_090))]} for r in htmt.itertuples(index=False)]
    return {"caption": f"{method}: heterotrait-monotrait ratios with bootstrap intervals", "rows": rows,
            "columns": [col("Constructs"), col("HTMT", "num"), col("95% CI", "num"), col("Upper bound < .85"),
                        col("Upper bound < .90")],
            "note": "Discriminant validity holds when the upper bound of the interval is below .85 (or .90 for "
                    "conceptually close constructs; Henseler, Ringle & Sarstedt 2015)."}


def pls_view(pls: Mapping[str, pd.DataFrame] | None) -> dict[str, Any] | None:
    """The four PLS tables of the structural section; None for a covariance-based run."""
    if not pls:
        return None
    method = str(pls["pls_quality"]["estimator"].iloc[0]) if len(pls["pls_quality"]) else "PLS"
    return {"method": method, "tables": [outer_table(pls["pls_outer"], method),
                                         quality_table(pls["pls_quality"], method),
                                         inner_table(pls["pls_inner"], method),
                                         htmt_table(pls["pls_htmt"], method)]}
