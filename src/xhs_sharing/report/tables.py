"""Table builders shared by several sections: fit indices, construct matrices, cells marked by a check.

A table is a plain dict ``{"caption", "columns", "rows", "note"}`` that the
``table`` macro of ``templates/_macros.html.j2`` renders; a row is
``{"cells": [...], "cls": ...}`` and a cell comes from
:func:`xhs_sharing.report.format.cell`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from xhs_sharing.report.format import (
    DASH,
    _finite,
    cell,
    col,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p_eq,
    fmt_threshold,
    num,
    passes,
    status_badge,
)
from xhs_sharing.report.judged import WLSMV_METHODS
from xhs_sharing.sem.fit import srmr_label
from xhs_sharing.study.cutoffs import Cutoff, chi2_df_cutoff

FIT_ROWS = ("chi2_df", "cfi", "tli", "rmsea", "srmr")
"""Fit indices judged against a threshold, in table order."""


MARKS = {"pass": "\u2713", "fail": "\u2717", "failed": "\u2717", "warning": "!"}
"""Text marker of a check status (the colour only repeats it)."""


def check_index(checks: Iterable[dict[str, Any]]) -> dict[tuple[str | None, str], dict[str, Any]]:
    """(construct, statistic) -> check (the first of each pair)."""
    index: dict[tuple[str | None, str], dict[str, Any]] = {}
    for c in checks:
        index.setdefault((c.get("construct"), str(c.get("statistic", "")).lower()), c)
    return index


def check_cell(value: Any, check: dict[str, Any] | None, digits: int = 2) -> dict[str, Any]:
    """A number cell marked with the status of its check (text marker + colour class)."""
    c = num(value, digits)
    if check is not None:
        badge = status_badge(check.get("status"))
        c["cls"] += f" st-{badge['cls']}"
        c["mark"] = MARKS.get(str(check.get("status")), "")
        c["title"] = f"{check.get('check', '')}: {badge['text']} ({fmt_threshold(check.get('comparison'), check.get('threshold'))})"
    return c


def _chi2_df(fit: Mapping[str, Any]) -> float:
    """chi-square / df, NaN when either is missing or df is 0."""
    if _finite(fit.get("chi2")) and _finite(fit.get("df")) and float(fit["df"]) > 0:
        return float(fit["chi2"]) / float(fit["df"])
    return float("nan")


def _shown(fit: Mapping[str, Any], chi2_df: float) -> dict[str, tuple[str, str]]:
    """Index -> (row label, formatted value)."""
    return {
        "chi2_df": ("\u03c7\u00b2/df", fmt_num(chi2_df, 2)),
        "cfi": ("CFI", fmt_num(fit.get("cfi"), 3)),
        "tli": ("TLI", fmt_num(fit.get("tli"), 3)),
        "rmsea": ("RMSEA [90% CI]", f"{fmt_num(fit.get('rmsea'), 3)} {fmt_ci(fit.get('rmsea_ci_low'), fit.get('rmsea_ci_high'), 3)}"),
        # the complete-data SRMR keeps its plain label (the note names it); under FIML the variant is named
        "srmr": (srmr_label(fit) if "srmr_variant" in fit else "SRMR", fmt_num(fit.get("srmr"), 3)),
    }


def fit_cutoffs(checks: Iterable[Mapping[str, Any]]) -> dict[str, Cutoff]:
    """Index -> its cut-off: CFI, TLI, RMSEA and SRMR from their checks in checks.json, chi-square/df from the schema.

    The structural model's fit is judged against the same cut-offs as the CFA's (the checks of
    ``checks.json`` are the only record of the run's thresholds). An index whose check has no finite
    threshold gets none.
    """
    cutoffs = {"chi2_df": chi2_df_cutoff()}
    for c in checks:
        key = str(c.get("statistic", "")).lower()
        if c.get("construct") is None and key in FIT_ROWS and key not in cutoffs and _finite(c.get("threshold")):
            cutoffs[key] = Cutoff(str(c.get("comparison")), float(c["threshold"]), str(c.get("reference") or ""))
    return cutoffs


def fit_statuses(checks: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Index -> status of its check in checks.json (CFI, TLI, RMSEA, SRMR of the CFA)."""
    out: dict[str, str] = {}
    for c in checks:
        key = str(c.get("statistic", "")).lower()
        if c.get("construct") is None and key in FIT_ROWS and _finite(c.get("threshold")):
            out.setdefault(key, str(c.get("status")))
    return out


def _status(value: Any, cutoff: Cutoff | None) -> str:
    """pass / fail against the cut-off; warning when the value is missing; "" (not judged) without a cut-off."""
    if cutoff is None:
        return ""
    ok = passes(value, cutoff.comparison, cutoff.threshold)
    return "warning" if ok is None else ("pass" if ok else "fail")


def _threshold_text(key: str, cutoff: Cutoff | None) -> str:
    if cutoff is None:
        return DASH
    text = fmt_threshold(cutoff.comparison, cutoff.threshold, 3 if key != "chi2_df" else 1)
    return f"{text} ({cutoff.reference})" if cutoff.reference else fmt_threshold(cutoff.comparison, cutoff.threshold)


def _extra_rows(fit: Mapping[str, Any]) -> list[dict[str, Any]]:
    """n, the covariance-only SRMR under FIML and, when known, the baseline model's chi-square."""
    rows = [{"cells": [cell("n", header=True), cell(fmt_int(fit.get("n")), "num"), cell(DASH), cell(DASH)]}]
    if _finite(fit.get("srmr_bentler_nomean")):
        rows.append({"cells": [cell("SRMR (Bentler, covariances only; lavaan's srmr_bentler_nomean)", header=True),
                               cell(fmt_num(fit.get("srmr_bentler_nomean"), 3), "num"), cell(DASH), cell(DASH)]})
    if _finite(fit.get("baseline_chi2")):
        rows.append({"cells": [cell(f"Baseline \u03c7\u00b2({fmt_int(fit.get('baseline_df'))})", header=True),
                               cell(fmt_num(fit.get("baseline_chi2"), 2), "num"), cell(DASH), cell(DASH)]})
    return rows


def estimator_label(fit: Mapping[str, Any]) -> str:
    """The estimator of a fit document for a caption: ``" (ML)"``, ``" (MLR, FIML)"``; ``""`` when unknown.

    Documents written before issue 13 say ``"FIML"`` as the estimator; it reads as ``" (ML, FIML)"``.
    """
    est = str(fit.get("estimator") or "")
    if not est:
        return ""
    fiml = fit.get("missing") == "fiml" or est == "FIML"
    est = "ML" if est == "FIML" else est
    return f" ({est}, FIML)" if fiml else f" ({est})"


_PLS_COMMON = (
    "each construct is a composite (weighted sum) of its standardized items, mode A outer weights, the path "
    "weighting scheme; every estimate is standardized (B = \u03b2); its SE is the bootstrap standard deviation "
    "and its interval the percentile bootstrap interval (the structural step's resamples, seed and chunks); "
    "there is no likelihood, so no chi-square test, no chi-square-based fit index and no Monte Carlo interval; "
    "the CFA of the measurement section stays the ML validation of the reflective measurement model."
)

PLS_METHODS = {
    "PLSc": "consistent partial least squares (PLSc; Dijkstra & Henseler 2015): " + _PLS_COMMON + " Unlike plain "
            "PLS, the loadings and paths are corrected for the attenuation by measurement error (through rho_A), "
            "so they estimate the same latent quantities as ML; they differ from ML's by estimation method, not "
            "by model.",
    "PLS": "partial least squares path modelling (PLS; Lohmoeller 1989): " + _PLS_COMMON + " The paths are "
           "between composites, attenuated by measurement error: they are smaller in size than ML's latent "
           "paths (PLSc corrects this).",
}
"""The methods sentence of a PLS or PLSc fit, by estimator (how it differs from ML)."""


def estimator_text(fit: Mapping[str, Any]) -> str:
    """The methods sentence of a fit document: the estimator, its test statistic and its standard errors.

    ML: normal-theory likelihood-ratio chi-square, standard errors from the
    expected (FIML: observed) information. MLR (lavaan's ``estimator = "MLR"``):
    ML estimates, the Yuan-Bentler scaled chi-square (Mplus variant; Yuan &
    Bentler 2000) with its scaling factor, robust (Huber-White sandwich)
    standard errors and the robust CFI, TLI and RMSEA (Brosseau-Liard &
    Savalei 2014; Savalei 2018). WLSMV: :data:`xhs_sharing.report.judged.WLSMV_METHODS`.
    """
    est = str(fit.get("estimator") or "ML")
    fiml = fit.get("missing") == "fiml" or est == "FIML"
    miss = (" Missing answers: full-information ML (every respondent kept" +
            ("; lavaan's MLR with missing = \"ml\")." if est == "MLR" else ").")) if fiml else ""
    if est == "MLR":
        return ("Estimator: robust maximum likelihood (MLR): ML estimates; test statistic: Yuan-Bentler scaled "
                f"chi-square (Mplus variant), scaling factor {fmt_num(fit.get('scaling_factor'), 3)}; standard "
                "errors: robust (Huber-White sandwich), used by every SE, z, p-value and Wald and Monte Carlo "
                "interval; CFI, TLI and RMSEA are judged in their robust versions (Brosseau-Liard & Savalei 2014; "
                "Savalei 2018), the standard ones listed below them." + miss)
    if est == "WLSMV":
        return "Estimator: " + WLSMV_METHODS
    if est in PLS_METHODS:
        return "Estimator: " + PLS_METHODS[est]
    if est in ("ML", "FIML"):
        return ("Estimator: maximum likelihood (ML); test statistic: the likelihood-ratio chi-square; standard "
                "errors: from the " + ("observed" if fiml else "expected") + " information." + miss)
    return f"Estimator: {est}." + miss


def fit_table(fit: Mapping[str, Any], caption: str, cutoffs: Mapping[str, Cutoff],
              statuses: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Fit indices with their thresholds and a pass/fail status.

    Parameters
    ----------
    fit : mapping
        ``cfa_fit.json`` or ``fit.json`` (``chi2, df, pvalue, cfi, tli, rmsea, rmsea_ci_low,
        rmsea_ci_high, srmr, n`` and optionally ``baseline_chi2, baseline_df``).
    caption : str
    cutoffs : mapping
        :func:`fit_cutoffs`: index -> (comparison, threshold, reference).
    statuses : mapping, optional
        :func:`fit_statuses`: an index with a status takes it (the CFA's checks); the others are
        judged here against their cut-off.

    Returns
    -------
    dict
        A table, plus ``problems``: "label: status" of every index that does not pass.
    """
    chi2_df = _chi2_df(fit)
    values = {"cfi": fit.get("cfi"), "tli": fit.get("tli"), "rmsea": fit.get("rmsea"), "srmr": fit.get("srmr"),
              "chi2_df": chi2_df}
    shown = _shown(fit, chi2_df)
    rows = [{"cells": [cell(f"\u03c7\u00b2({fmt_int(fit.get('df'))})", header=True),
                       cell(f"{fmt_num(fit.get('chi2'), 2)}, {fmt_p_eq(fit.get('pvalue'))}", "num"),
                       cell("not significant (exact fit; sensitive to n)"), cell(DASH)]}]
    problems = []
    for key in FIT_ROWS:
        cutoff = cutoffs.get(key)
        status = (statuses or {}).get(key) or _status(values[key], cutoff)
        label, text = shown[key]
        badge = status_badge(status or None)
        if badge["cls"] != "ok" and (status or cutoff is not None):
            problems.append(f"{label}: {badge['text']}")
        rows.append({"cells": [cell(label, header=True), cell(text, "num"), cell(_threshold_text(key, cutoff)),
                               cell(badge["text"], "badge-cell", badge=badge)]})
    return {
        "caption": caption,
        "columns": [col("Index"), col("Value", "num"), col("Threshold"), col("Status")],
        "rows": rows + _extra_rows(fit),
        "problems": problems,
        "note": estimator_text(fit) + " "
                "Thresholds from checks.json where it has a check for the index, else the conventional cut-offs named. "
                "The 90% interval of RMSEA is shown in brackets. " + CHI2_DF_NOTE + " " + SRMR_NOTES[str(fit.get("srmr_variant", "bentler"))],
    }


CHI2_DF_NOTE = ("\u03c7\u00b2/df: the cut-off is Carmines & McIver's (1981, p. 80: 2 to 3); the ratio has no "
                "sampling distribution and grows with n, and Kline (2016) advises against it: read it beside the "
                "other indices.")
"""The fit table's note on the chi-square/df row (its cut-off's source and its critic)."""


SRMR_NOTES = {
    "bentler": "SRMR: Bentler's, the covariance residuals scaled by the observed SDs (lavaan's srmr).",
    "bentler_with_means": "SRMR under FIML is lavaan's default for missing = \"ml\": Bentler's, with the "
                          "standardized mean residuals averaged in (srmr_bentler); the covariance-only value "
                          "(srmr_bentler_nomean) is listed below it.",
}
"""The fit table's note on the SRMR variant shown (``srmr_variant`` of the fit document)."""


Flag = Callable[[int, int, float], str | None]
"""``flag(i, j, value)`` -> a check status for cell (i, j) of a matrix, or None."""


def _matrix_cell(v: float, diag: bool, status: str | None, digits: int) -> dict[str, Any]:
    c = num(v, digits)
    if diag:
        c["cls"] += " diag"
    if status:
        badge = status_badge(status)
        c["cls"] += f" st-{badge['cls']}"
        c["mark"] = "\u2717" if badge["cls"] == "bad" else "!"
    return c


def matrix_table(matrix: pd.DataFrame, caption: str, flag: Flag, digits: int = 2, diag_bold: bool = True,
                 note: str = "", blank_diagonal: bool = False) -> dict[str, Any]:
    """Lower-triangular matrix table; ``flag(i, j, value)`` returns a status or None.

    ``blank_diagonal`` leaves the diagonal empty (a ratio of a construct with
    itself, such as HTMT's, is not a result).
    """
    ids = list(matrix.columns)
    rows = []
    for i, a in enumerate(ids):
        cells = [cell(a, header=True)]
        for j, b in enumerate(ids):
            if j > i or (j == i and blank_diagonal):
                cells.append(cell("", "num diag" if j == i else "num"))
                continue
            v = float(matrix.loc[a, b])
            cells.append(_matrix_cell(v, i == j and diag_bold, flag(i, j, v), digits))
        rows.append({"cells": cells})
    return {"caption": caption, "columns": [col("")] + [col(c, "num") for c in ids], "rows": rows, "note": note}
