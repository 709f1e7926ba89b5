"""The data source and the provenance section: seed, versions, hashes of every input, output and result file."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xhs_sharing.report.format import DASH, _finite, cell, col, fmt_int

REPORT_PACKAGES = (
    "xhs-sharing", "numpy", "scipy", "pandas", "semopy", "pingouin", "matplotlib",
    "jinja2", "pyyaml", "jsonschema", "snakemake",
)
"""Packages whose versions the provenance section lists by default."""


def package_versions(names: Iterable[str] = REPORT_PACKAGES) -> dict[str, str]:
    """Installed version of each named distribution (``"not installed"`` when absent)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _plural(n: Any, word: str) -> str:
    return f"{fmt_int(n)} {word}{'' if n == 1 else 's'}"


def _counts(source: Mapping[str, Any]) -> dict[str, Any]:
    """Rows in the file, respondents analysed and rows dropped (older source.json: derived from n_rows, dropped_rows)."""
    n_rows = source.get("n_rows")
    dropped = source.get("dropped_rows") if _finite(source.get("dropped_rows")) else 0
    analysed = source.get("n_analysed", n_rows - dropped if _finite(n_rows) else None)
    no_answer = source.get("no_answer_rows", 0) or 0
    careless = source.get("careless_rows", 0) or 0
    listwise = source.get("listwise_rows", dropped - no_answer - careless)
    return {"n_rows": n_rows, "n_analysed": analysed, "dropped": dropped, "no_answer": no_answer,
            "listwise": listwise, "careless": careless}


def dropped_text(source: Mapping[str, Any]) -> str:
    """``364 (364 with a missing answer, by listwise deletion)``, or ``none``."""
    c = _counts(source)
    if not c["dropped"]:
        return "none"
    reasons = []
    if c["listwise"]:
        reasons.append(f"{fmt_int(c['listwise'])} with a missing answer, by listwise deletion")
    if c["no_answer"]:
        reasons.append(f"{fmt_int(c['no_answer'])} who answered no item at all")
    if c["careless"]:
        reasons.append(f"{fmt_int(c['careless'])} flagged as careless responders, by data.screen: exclude")
    return fmt_int(c["dropped"]) + (f" ({'; '.join(reasons)})" if reasons else "")


def missing_view(source: Mapping[str, Any]) -> dict[str, Any]:
    """The missing-data summary (``missing_data`` of ``source.json``): one paragraph and a per-item table."""
    md = source.get("missing_data")
    c = _counts(source)
    no_answer = (f" {_plural(c['no_answer'], 'respondent')} who answered no item at all "
                 f"{'was' if c['no_answer'] == 1 else 'were'} dropped first (as lavaan does)." if c["no_answer"] else "")
    if not md:
        return {"text": "No missing-data summary was recorded for this run." + no_answer, "table": None}
    n = md["n_respondents"]
    if not md["n_incomplete"]:
        return {"text": f"No missing answers: all {_plural(n, 'respondent')} answered every item." + no_answer,
                "table": None}
    low = md["min_coverage"]
    handled = (f"Handled by listwise deletion: the {fmt_int(md['listwise_rows'])} were dropped."
               if md["method"] == "listwise" else
               "Handled by full-information maximum likelihood (FIML): every respondent is kept and contributes "
               "the items answered.")
    text = (f"{fmt_int(md['n_incomplete'])} of {_plural(n, 'respondent')} "
            f"({100 * md['n_incomplete'] / n:.1f}%) left at least one item unanswered, in "
            f"{_plural(md['n_patterns'], 'missing-data pattern')} (the complete one included). The smallest "
            f"covariance coverage, the share of respondents who answered both items of a pair (lavaan's "
            f"lavInspect(fit, \u201ccoverage\u201d)), is {float(low['value']):.3f} ({', '.join(low['items'])}). "
            f"{handled}" + no_answer)
    rows = [{"cells": [cell(r["item"], header=True), cell(fmt_int(r["n_missing"]), "num"),
                       cell(f"{float(r['share_missing']):.3f}", "num")]} for r in md["per_item"]]
    table = {"caption": "Missing answers per item", "columns": [col("Item"), col("Missing", "num"),
                                                                 col("Share missing", "num")],
             "rows": rows, "note": f"Shares of the {_plural(n, 'respondent')} with at least one answer."}
    return {"text": text, "table": table}


def careless_view(source: Mapping[str, Any]) -> dict[str, Any]:
    """The careless-responding screen (``careless`` of ``source.json``): one sentence with the counts and thresholds.

    E.g. "150 of 500 respondents (30.0%) flagged: 150 by the long-string
    index (the same answer 13 or more times in a row, 50% of the items or more;
    Johnson 2005, Curran 2016), 150 by an answer SD of at most 0 (Dunn et
    al. 2018). Kept in the analysis (data.screen: flag); data.screen:
    exclude drops them." Older ``source.json`` files without the key: a
    sentence saying no screen was recorded.
    """
    cs = source.get("careless")
    if not cs:
        return {"text": "No careless-responding screen was recorded for this run.", "n_flagged": 0}
    n, k = cs["n_screened"], cs["n_flagged"]
    rule = (f"the long-string index (the same answer {fmt_int(cs['longstring_cutoff'])} or more times in a row, "
            f"{100 * float(cs['longstring_share']):g}% of the items or more; Johnson 2005, Curran 2016) or an answer SD (IRV) of "
            f"at most {float(cs['irv']):g} (Dunn et al. 2018)")
    if not k:
        text = (f"none of the {_plural(n, 'respondent')} flagged by {rule}; the longest run of identical "
                f"answers is {fmt_int(cs['max_longstring'])}.")
    else:
        handled = ("Dropped before the models (data.screen: exclude)." if cs["screen"] == "exclude" else
                   "Kept in the analysis (data.screen: flag, the default); data.screen: exclude drops them.")
        text = (f"{fmt_int(k)} of {_plural(n, 'respondent')} ({100 * k / n:.1f}%) flagged by {rule}: "
                f"{fmt_int(cs['n_longstring'])} by the long string, {fmt_int(cs['n_irv'])} by the IRV. {handled}")
    return {"text": text[0].upper() + text[1:] + " Every respondent's indices: results/data/careless.csv.",
            "n_flagged": k}


def data_view(source: Mapping[str, Any]) -> dict[str, Any]:
    """The data the run analysed (``results/data/source.json``), with one sentence saying which.

    The counts: ``n_analysed`` respondents analysed of ``n_rows`` rows in the
    file, ``dropped_rows`` dropped (answered no item, or a missing answer under
    listwise deletion); the warnings of the data checks; the missing-data
    summary (:func:`missing_view`).
    """
    kind = str(source.get("kind", "synthetic"))
    path = source.get("path")
    name = Path(str(path)).name if path else DASH
    c = _counts(source)
    analysed = f"{fmt_int(c['n_analysed'])} respondents analysed"
    if kind == "observed":
        text = (f"observed data: the user's file \u201c{name}\u201d, {analysed}"
                + (f" of {fmt_int(c['n_rows'])} rows, {fmt_int(c['dropped'])} "
                   f"row{'s' if c['dropped'] != 1 else ''} dropped" if c["dropped"] else ", no rows dropped") + ".")
    else:
        text = (f"synthetic data: {fmt_int(c['n_analysed'])} respondents drawn from the population model of the study "
                f"specification, file \u201c{name}\u201d.")
    renamed = source.get("renamed_columns") or {}
    return {"kind": kind, "name": name, "path": str(path) if path else DASH, "sha256": source.get("sha256") or DASH,
            "n_rows": fmt_int(c["n_rows"]), "n_analysed": fmt_int(c["n_analysed"]),
            "dropped_rows": fmt_int(c["dropped"]), "dropped_text": dropped_text(source),
            "method": str(source.get("missing", DASH)), "text": text, "observed": kind == "observed",
            "warnings": [str(w) for w in source.get("warnings") or []],
            "renamed": ", ".join(f"{k} \u2192 {v}" for k, v in renamed.items()),
            "missing": missing_view(source), "careless": careless_view(source),
            "n": int(c["n_analysed"]) if _finite(c["n_analysed"]) else None}


def run_time(info: Mapping[str, Any]) -> str:
    """``200.0 s (3 min 20 s)``, or an em dash when unknown."""
    secs = info.get("run_time_s")
    if _finite(secs):
        s = float(secs)
        minutes, rest = divmod(int(round(s)), 60)
        return f"{s:.1f} s" + (f" ({minutes} min {rest} s)" if minutes else "")
    return DASH


def _hash_rows(mapping: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"cells": [cell(k, header=True), cell(v, "hash")]} for k, v in sorted((mapping or {}).items())]


def provenance_view(run_info: Mapping[str, Any], config_text: str, study_text: str, data: dict[str, Any],
                    result_hashes: Mapping[str, str]) -> dict[str, Any]:
    """Everything the provenance section shows."""
    packages = run_info.get("packages") or {}
    hashes_cols = [col("File"), col("SHA-256")]
    return {
        "seed": run_info.get("seed", DASH),
        "python": run_info.get("python", DASH),
        "started": run_info.get("started") or DASH,
        "finished": run_info.get("finished", DASH),
        "run_time": run_time(run_info),
        "timing_note": run_info.get("timing_note", ""),
        "command": run_info.get("command", DASH),
        "packages": {"caption": "Package versions", "columns": [col("Package"), col("Version")],
                     "rows": [{"cells": [cell(k, header=True), cell(v)]} for k, v in sorted(packages.items())], "note": ""},
        "inputs": {"caption": "Inputs of the run: the survey, the study specification and every config file",
                   "columns": hashes_cols, "rows": _hash_rows(run_info.get("inputs")), "note": ""},
        "outputs": {"caption": "Outputs of the run", "columns": hashes_cols, "rows": _hash_rows(run_info.get("outputs")), "note": ""},
        "results": {"caption": "Result files this report was built from", "columns": hashes_cols,
                    "rows": _hash_rows(result_hashes), "note": "Paths relative to the results directory."},
        "config_text": config_text,
        "study_text": study_text,
        "data": data,
    }
