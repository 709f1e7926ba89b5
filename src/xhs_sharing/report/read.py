"""Reading the result files of a run, each checked against the result-file contract.

:func:`read_results` reads the files of the main analysis under the results
directory (:data:`xhs_sharing.results.REPORT_RESULTS`), :func:`read_montecarlo`
those of the Monte Carlo study. Names, columns and text columns all come from
:mod:`xhs_sharing.results`. A missing file, a file that does not parse, or one
that lacks a column or key of its contract raises :class:`ReportError` naming
the file, so the report never renders a table from half a result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from xhs_sharing.errors import XhsError
from xhs_sharing.io import sha256_file
from xhs_sharing.results import (
    BY_KEY,
    MONTECARLO_DIR,
    MONTECARLO_RESULTS,
    PLS_RESULTS,
    REPORT_OPTIONAL_SINCE_ISSUE17,
    REPORT_RESULTS,
    RESULTS_DIR,
    ROBUSTNESS_DIR,
    ROBUSTNESS_RESULTS,
    missing_columns,
)

MONTECARLO_READ = MONTECARLO_RESULTS
"""Keys of the Monte Carlo files the report reads under the Monte Carlo directory, when one is given: all of them
(the reading of :mod:`xhs_sharing.report.montecarlo` needs the replications and the sensitivity analysis)."""


class ReportError(XhsError):
    """The result files of a run are missing, malformed or disagree with each other."""


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ReportError(f"result file {path} not found: run the stages that produce it before the report")
    return path


def _csv(path: Path, key: str) -> pd.DataFrame:
    """The CSV table of contract entry ``key``, its text columns read as text; every contract column present."""
    entry = BY_KEY[key]
    try:
        frame = pd.read_csv(_need(path), dtype={c: str for c in entry.text_columns})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a readable CSV table: {exc}") from None
    missing = missing_columns(key, frame.columns)
    if missing:
        raise ReportError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def _json(path: Path, key: str) -> Any:
    """The JSON document of contract entry ``key``, with every key of the contract (optional ones aside)."""
    try:
        doc = json.loads(_need(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    missing = missing_columns(key, doc)
    if missing:
        raise ReportError(f"{path}: missing key(s) {missing}")
    return doc


def _read(path: Path, key: str) -> Any:
    """One result file as the report uses it: a table, a document, or text."""
    suffix = BY_KEY[key].suffix
    if suffix == "csv":
        return _csv(path, key)
    if suffix == "json":
        return _json(path, key)
    return _need(path).read_text(encoding="utf-8")


def _square(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A construct x construct matrix (``construct`` column, then one column per construct)."""
    frame = frame.set_index("construct")
    frame.index = frame.index.astype(str)
    if sorted(frame.index) != sorted(frame.columns):
        raise ReportError(f"{path}: not a square matrix (rows {list(frame.index)}, columns {list(frame.columns)})")
    return frame.loc[list(frame.columns)].astype(float)


def _paths(directory: Path, base: str, keys: tuple[str, ...]) -> dict[str, Path]:
    """Key -> where its file is, for files under ``directory`` (which holds the contract's ``base``)."""
    return {key: directory / BY_KEY[key].relative_to(base) for key in keys}


def read_results(results_dir: Path) -> dict[str, Any]:
    """Read and check every result file of :data:`xhs_sharing.results.REPORT_RESULTS`.

    Returns
    -------
    dict
        One entry per key (tables as DataFrames, the matrices indexed by
        construct, JSON documents as dicts, the model syntax as text; None
        for a file of :data:`~xhs_sharing.results.REPORT_OPTIONAL_SINCE_ISSUE17`
        that is absent), plus
        ``hashes``: path relative to ``results_dir`` -> SHA-256 of the file.
    """
    p = _paths(Path(results_dir), RESULTS_DIR, REPORT_RESULTS)
    absent = {k for k in REPORT_OPTIONAL_SINCE_ISSUE17 if not p[k].is_file()}
    p = {k: v for k, v in p.items() if k not in absent}
    out: dict[str, Any] = {key: _read(path, key) for key, path in p.items()}
    out.update(dict.fromkeys(absent))
    for key in ("fornell_larcker", "htmt", "htmt2"):
        if out[key] is not None:
            out[key] = _square(out[key], p[key])
    for c in ("mediator", "mediation_type"):
        out["indirect"][c] = out["indirect"][c].fillna("").astype(str)
    out["hashes"] = {BY_KEY[key].relative_to(RESULTS_DIR): sha256_file(path) for key, path in p.items()}
    return out


def read_diagnostics(results_dir: Path) -> dict[str, Any] | None:
    """``diagnostics.json`` (the measurement diagnostics), or None for results written before it existed."""
    path = _paths(Path(results_dir), RESULTS_DIR, ("diagnostics",))["diagnostics"]
    return _json(path, "diagnostics") if path.exists() else None


def read_montecarlo(mc_dir: Path) -> dict[str, Any]:
    """Read the Monte Carlo result files of :data:`MONTECARLO_READ` (and their hashes, keyed ``montecarlo/<name>``)."""
    p = _paths(Path(mc_dir), MONTECARLO_DIR, MONTECARLO_READ)
    out: dict[str, Any] = {key: _read(path, key) for key, path in p.items()}
    out["hashes"] = {BY_KEY[key].relative_to(RESULTS_DIR): sha256_file(path) for key, path in p.items()}
    return out


def read_robustness(rob_dir: Path) -> dict[str, Any]:
    """Read the robustness stage's gathered files (:data:`~xhs_sharing.results.ROBUSTNESS_RESULTS`) and their hashes."""
    p = _paths(Path(rob_dir), ROBUSTNESS_DIR, ROBUSTNESS_RESULTS)
    out: dict[str, Any] = {key: _read(path, key) for key, path in p.items()}
    out["hashes"] = {BY_KEY[key].relative_to(RESULTS_DIR): sha256_file(path) for key, path in p.items()}
    return out


def read_pls(results_dir: Path) -> dict[str, Any] | None:
    """The PLS tables (:data:`~xhs_sharing.results.PLS_RESULTS`) when the run wrote them (estimator PLS or PLSc), else None."""
    p = _paths(Path(results_dir), RESULTS_DIR, PLS_RESULTS)
    if not all(path.is_file() for path in p.values()):
        return None
    return {key: _read(path, key) for key, path in p.items()}
