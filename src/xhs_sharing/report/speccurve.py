"""Specification curves of the robustness stage (Simonsohn, Simmons & Nelson 2020).

One figure per claim: the standardized estimate of every specification with
its 95% interval, sorted by the estimate (top panel), and below it a dot
matrix saying which choices made each specification (estimator,
missing-data handling, structural model, interval). A specification whose
verdict reproduces the claim is a filled circle, one that does not an open
square, so the verdict is told by shape as well as colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from xhs_sharing.analysis.robustness import INTERVAL_LABELS, MISSING_LABELS, MODEL_LABELS
from xhs_sharing.report.figures import RC, _new_figure, _to_svg

__all__ = ["choice_rows", "specification_curve"]

HOLD_COLOR = "#1f5fa8"
FAIL_COLOR = "#b2182b"

_WORDS = {"missing": MISSING_LABELS, "model": MODEL_LABELS,
          "interval": {**INTERVAL_LABELS, "wald": "Wald (path)"}}


_ORDER = {"estimator": ("ML", "MLR", "WLSMV", "PLSc", "PLS"), "missing": tuple(MISSING_LABELS),
          "model": tuple(MODEL_LABELS), "interval": ("wald", *INTERVAL_LABELS)}


def choice_rows(rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The rows of the dot matrix: ``(column, value, label)`` for every choice that varies, in grid order."""
    out = []
    for column in ("estimator", "missing", "model", "interval"):
        order = list(_ORDER.get(column, ()))
        values = sorted(dict.fromkeys(rows[column]), key=lambda v: (order.index(v) if v in order else len(order), v))
        if len(values) > 1:
            out += [(column, v, _WORDS.get(column, {}).get(v, v)) for v in values]
    return out


def _curve(ax: Axes, rows: pd.DataFrame) -> None:
    """Estimates and intervals: one line collection and one marker set per verdict (a compact SVG)."""
    x = np.arange(len(rows))
    for held, color, marker, face in ((True, HOLD_COLOR, "o", HOLD_COLOR), (False, FAIL_COLOR, "s", "white")):
        sel = (rows["reproduced"] == held).to_numpy()
        if not sel.any():
            continue
        ax.vlines(x[sel], rows["std_ci_low"][sel], rows["std_ci_high"][sel], color=color, linewidth=1.4)
        ax.plot(x[sel], rows["std_estimate"][sel], marker=marker, markersize=5, color=color,
                markerfacecolor=face, linestyle="none")
    ax.axhline(0.0, color="#444444", linewidth=0.8, linestyle=(0, (3, 3)))
    ax.set_ylabel("Standardized\nestimate, 95% CI")
    ax.set_xticks([])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)


def _matrix(ax: Axes, rows: pd.DataFrame, choices: Sequence[tuple[str, str, str]]) -> None:
    """Which choices made each specification: a dot on the row of each choice that applies (light guide lines)."""
    x = np.arange(len(rows))
    ax.hlines(range(len(choices)), -0.5, len(rows) - 0.5, color="#e0e0e0", linewidth=0.6)
    for j, (column, value, _) in enumerate(choices):
        on = (rows[column] == value).to_numpy()
        if on.any():
            ax.plot(x[on], np.full(int(on.sum()), j), marker="o", markersize=4, linestyle="none", color="#222222")
    ax.set_yticks(range(len(choices)), [label for _, _, label in choices])
    ax.set_ylim(len(choices) - 0.5, -0.5)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_xticks([])
    ax.set_xlabel("Specifications, sorted by the estimate")
    ax.tick_params(axis="y", length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def specification_curve(rows: pd.DataFrame, claim: str, prefix: str) -> str:
    """The specification curve of one claim as inline SVG.

    ``rows``: the claim's rows of ``specifications.csv`` (``std_estimate``,
    ``std_ci_low``, ``std_ci_high``, ``reproduced`` and the choice columns).
    """
    rows = rows.sort_values(["std_estimate", "estimator", "missing", "model", "interval"]).reset_index(drop=True)
    choices = choice_rows(rows)
    with matplotlib.rc_context(RC):
        fig = _new_figure(7.0, 2.0 + 0.22 * max(len(choices), 1))
        top, bottom = fig.subplots(2, 1, sharex=False, height_ratios=[2.0, 0.25 * max(len(choices), 1) + 0.4])
        _curve(top, rows)
        if choices:
            _matrix(bottom, rows, choices)
        else:
            bottom.set_axis_off()
        top.legend([Line2D([], [], color=HOLD_COLOR, marker="o", linewidth=1.4),
                    Line2D([], [], color=FAIL_COLOR, marker="s", markerfacecolor="white", linewidth=1.4)],
                   ["claim holds", "claim fails"], loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
                   frameon=False, fontsize=8)
        held = int(rows["reproduced"].sum())
        return _to_svg(fig, prefix, f"Specification curve of claim {claim}: holds in {held} of {len(rows)} "
                                    "specifications; estimates sorted, with the choices of each below")
