"""Which fit values the report judges under a robust estimator, and the rows it lists beside them.

Under MLR (``"estimator": "MLR"``) the judged chi-square is the Yuan-Bentler
scaled one and CFI, TLI and RMSEA are lavaan's ``.robust`` versions
(Brosseau-Liard & Savalei 2014; Savalei 2018), as the measurement checks
judge them; the standard ML values and the scaling factor are listed below.
Under WLSMV (``fit.json`` / ``cfa_fit.json`` with ``"estimator": "WLSMV"``,
written by :func:`xhs_sharing.analysis.ordinal.wlsmv_fit_measures`) the fit
indices that are judged are the scaled ones: the DWLS statistic ``T`` is not
chi-square distributed, the mean-and-variance adjusted (scaled-shifted)
``T3 = T / c + b`` is (Asparouhov & Muthen 2010), and the measurement checks
judge CFI, TLI and RMSEA by their ``_scaled`` values. :func:`judged_view`
therefore puts the scaled values under the keys the fit table shows and
judges; :func:`with_unjudged_rows` adds the standard values, the scaling factor
and the shift below them, and the methods sentence to the note. Under MLR
the two functions do the same with the robust values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from xhs_sharing.report.format import DASH, cell, fmt_ci, fmt_num, fmt_p_eq

__all__ = ["WLSMV_METHODS", "categories_text", "is_wlsmv", "judged_view", "with_unjudged_rows"]

#: The methods sentence of a WLSMV fit.
WLSMV_METHODS: Final = (
    "WLSMV: DWLS estimates on polychoric correlations, robust SEs, mean-and-variance adjusted (scaled-shifted) "
    "test; listwise deletion. The items are ordered categories of normal latent responses (delta "
    "parameterization): thresholds from the margins, polychoric correlations by two-step ML (Olsson 1979), "
    "diagonally weighted least squares with the asymptotic variances of the polychorics as weights (Muthen, "
    "du Toit & Spisic 1997), robust (sandwich) standard errors, the scaled-shifted chi-square (Asparouhov & "
    "Muthen 2010), as lavaan's estimator = \"WLSMV\" with ordered items. Respondents with a missing answer are "
    "deleted listwise (pairwise deletion is not offered yet)."
)

#: Keys the fit table shows, each replaced by its robust value under MLR.
_ROBUST: Final = {"chi2": "chi2_scaled", "pvalue": "pvalue_scaled", "cfi": "cfi_robust", "tli": "tli_robust",
                  "rmsea": "rmsea_robust", "rmsea_ci_low": "rmsea_ci_low_robust",
                  "rmsea_ci_high": "rmsea_ci_high_robust", "baseline_chi2": "baseline_chi2_scaled"}

#: Keys the fit table shows, each replaced by its scaled value under WLSMV.
_SCALED: Final = {"chi2": "chi2_scaled", "pvalue": "pvalue_scaled", "cfi": "cfi_scaled", "tli": "tli_scaled",
                  "rmsea": "rmsea_scaled", "rmsea_ci_low": "rmsea_ci_low_scaled",
                  "rmsea_ci_high": "rmsea_ci_high_scaled", "baseline_chi2": "baseline_chi2_scaled"}


def is_wlsmv(fit: Mapping[str, Any]) -> bool:
    """True for the fit document of a WLSMV fit."""
    return str(fit.get("estimator")) == "WLSMV"


def judged_view(fit: Mapping[str, Any]) -> dict[str, Any]:
    """The fit document with the judged values under the shown keys: scaled (WLSMV), robust (MLR), else itself.

    The replacing keys are dropped from the view, so that no other row reads them.
    """
    keys = {"WLSMV": _SCALED, "MLR": _ROBUST}.get(str(fit.get("estimator")), {})
    keys = {k: v for k, v in keys.items() if v in fit}
    view = {k: v for k, v in fit.items() if k not in set(keys.values())}
    view.update({k: fit[v] for k, v in keys.items()})
    return view


def _row(label: str, text: str) -> dict[str, Any]:
    return {"cells": [cell(label, header=True), cell(text, "num"), cell(DASH), cell(DASH)]}


def with_unjudged_rows(table: dict[str, Any], fit: Mapping[str, Any]) -> dict[str, Any]:
    """``table`` (:func:`xhs_sharing.report.tables.fit_table` of :func:`judged_view`) with the unjudged rows.

    WLSMV adds, not judged: the standard DWLS chi-square with its p-value,
    the scaling factor and shift of the scaled-shifted test, and the standard
    CFI, TLI and RMSEA; the note (which opens with :data:`WLSMV_METHODS`,
    :func:`xhs_sharing.report.tables.estimator_text`) says which values are
    judged. MLR adds the standard ML chi-square, the scaling factor and the
    standard CFI, TLI and RMSEA. Unchanged for any other estimator.
    """
    if str(fit.get("estimator")) == "MLR" and "cfi_robust" in fit:
        return _with_mlr_rows(table, fit)
    if not is_wlsmv(fit):
        return table
    ci = fmt_ci(fit.get("rmsea_ci_low"), fit.get("rmsea_ci_high"), 3)
    rows = [
        _row(f"Standard DWLS \u03c7\u00b2({fit.get('df')})", f"{fmt_num(fit.get('chi2'), 2)}, {fmt_p_eq(fit.get('pvalue'))}"),
        _row("Scaling factor c (scaled-shifted \u03c7\u00b2 = \u03c7\u00b2/c + shift)", fmt_num(fit.get("scaling_factor"), 3)),
        _row("Shift", fmt_num(fit.get("shift"), 2)),
        _row("CFI / TLI (standard)", f"{fmt_num(fit.get('cfi'), 3)} / {fmt_num(fit.get('tli'), 3)}"),
        _row("RMSEA (standard) [90% CI]", f"{fmt_num(fit.get('rmsea'), 3)} {ci}"),
    ]
    note = (str(table.get("note", "")) + " Under WLSMV the \u03c7\u00b2 row, CFI, TLI and RMSEA above are the "
            "scaled-shifted values (lavaan's .scaled measures), judged against the cut-offs; the standard values "
            "are listed below them. The SRMR is that of the polychoric correlations (the residual correlations of "
            "the latent responses, lavaan's srmr for ordered items).")
    return {**table, "rows": list(table["rows"]) + rows, "note": note}


def _with_mlr_rows(table: dict[str, Any], fit: Mapping[str, Any]) -> dict[str, Any]:
    """MLR: the standard ML chi-square, the scaling factor and the standard CFI, TLI and RMSEA, below the judged rows."""
    ci = fmt_ci(fit.get("rmsea_ci_low"), fit.get("rmsea_ci_high"), 3)
    rows = [
        _row(f"Standard ML \u03c7\u00b2({fit.get('df')})", f"{fmt_num(fit.get('chi2'), 2)}, {fmt_p_eq(fit.get('pvalue'))}"),
        _row("Scaling factor c (scaled \u03c7\u00b2 = \u03c7\u00b2/c)", fmt_num(fit.get("scaling_factor"), 3)),
        _row("CFI / TLI (standard)", f"{fmt_num(fit.get('cfi'), 3)} / {fmt_num(fit.get('tli'), 3)}"),
        _row("RMSEA (standard) [90% CI]", f"{fmt_num(fit.get('rmsea'), 3)} {ci}"),
    ]
    note = (str(table.get("note", "")) + " Under MLR the \u03c7\u00b2 row is the Yuan-Bentler scaled statistic "
            "and CFI, TLI and RMSEA are the robust versions (lavaan's .robust measures), judged against the "
            "cut-offs; the standard ML values are listed below them.")
    return {**table, "rows": list(table["rows"]) + rows, "note": note}


def categories_text(boot: Mapping[str, Any]) -> str:
    """The sentence on the categories a WLSMV bootstrap lost (``bootstrap.json``'s ``categories``); "" otherwise.

    >>> categories_text({"requested": 100, "categories": {"resamples_with_merged_categories": 12,
    ...     "merge_events": 13, "degenerate_resamples": 0, "n_unused_scale_points": 0}})
    ' In 12 of 100 resamples a category of the survey was not drawn (13 item-resample pairs): it was merged with its neighbour (its two thresholds coincide) and the resample kept; 0 resamples left an item with a single category (failed). No scale point was unused in the survey.'
    """
    cats = boot.get("categories")
    if not isinstance(cats, Mapping):
        return ""
    unused = int(cats.get("n_unused_scale_points") or 0)
    return (f" In {cats.get('resamples_with_merged_categories')} of {boot.get('requested')} resamples a category of "
            f"the survey was not drawn ({cats.get('merge_events')} item-resample pairs): it was merged with its "
            f"neighbour (its two thresholds coincide) and the resample kept; {cats.get('degenerate_resamples')} "
            "resamples left an item with a single category (failed). "
            + (f"{unused} scale points were unused in the survey (not categories: their thresholds merge)."
               if unused else "No scale point was unused in the survey."))
