"""Reading the result files of a run, each checked for the columns or keys the report uses.

:func:`read_results` reads the files of the main analysis under the results
directory, :func:`read_montecarlo` those of the Monte Carlo study. A missing
file, a file that does not parse, or one that lacks a column the report needs
raises :class:`ReportError` naming the file, so the report never renders a
table from half a result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from xhs_sharing.errors import XhsError
from xhs_sharing.io import sha256_file

RESULT_FILES = {
    "item_descriptives": "measurement/item_descriptives.csv",
    "reliability": "measurement/reliability.csv",
    "fornell_larcker": "measurement/fornell_larcker.csv",
    "htmt": "measurement/htmt.csv",
    "loadings": "measurement/loadings.csv",
    "cfa_fit": "measurement/cfa_fit.json",
    "checks": "measurement/checks.json",
    "paths": "structural/paths.csv",
    "r2": "structural/r2.csv",
    "fit": "structural/fit.json",
    "indirect": "structural/indirect_effects.csv",
    "bootstrap": "structural/bootstrap.json",
    "equivalence": "structural/equivalence.csv",
    "model_syntax": "structural/model_syntax.txt",
    "claims": "claims.json",
}
"""Every file the report reads under the results directory."""


MONTECARLO_FILES = {
    "claim_reproduction": "claim_reproduction.csv",
    "joint_reproduction": "joint_reproduction.csv",
    "power": "power.json",
}
"""Files read under the Monte Carlo directory, when one is given."""


FIT_KEYS = ("chi2", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr", "n")


TEXT_COLUMNS = {"construct": str, "item": str, "x": str, "mediator": str, "y": str, "effect": str,
                "mediation_type": str, "lhs": str, "rhs": str, "op": str, "variable": str, "id": str,
                "kind": str, "verdict": str}
"""Columns read as text whatever they hold (ids that could look like numbers)."""


class ReportError(XhsError):
    """The result files of a run are missing, malformed or disagree with each other."""


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ReportError(f"result file {path} not found: run the stages that produce it before the report")
    return path


def _csv(path: Path, columns: Iterable[str], **kw: Any) -> pd.DataFrame:
    """A CSV table that has at least ``columns``."""
    try:
        frame = pd.read_csv(_need(path), **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a readable CSV table: {exc}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def _json(path: Path, keys: Iterable[str] = ()) -> Any:
    """A JSON document that has at least the top-level ``keys``."""
    try:
        doc = json.loads(_need(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    missing = [k for k in keys if k not in doc]
    if missing:
        raise ReportError(f"{path}: missing key(s) {missing}")
    return doc


def _square(path: Path) -> pd.DataFrame:
    """A construct x construct matrix (``construct`` column, then one column per construct)."""
    frame = _csv(path, ("construct",), dtype={"construct": str}).set_index("construct")
    frame.index = frame.index.astype(str)
    if sorted(frame.index) != sorted(frame.columns):
        raise ReportError(f"{path}: not a square matrix (rows {list(frame.index)}, columns {list(frame.columns)})")
    return frame.loc[list(frame.columns)].astype(float)


def _read_measurement(p: dict[str, Path]) -> dict[str, Any]:
    text = TEXT_COLUMNS
    return {
        "item_descriptives": _csv(p["item_descriptives"], ("construct", "item", "n", "mean", "sd", "skewness",
                                                           "kurtosis", "citc"), dtype=text),
        "reliability": _csv(p["reliability"], ("construct", "alpha", "alpha_ci_low", "alpha_ci_high", "cr", "ave",
                                               "sqrt_ave"), dtype=text),
        "fornell_larcker": _square(p["fornell_larcker"]),
        "htmt": _square(p["htmt"]),
        "loadings": _csv(p["loadings"], ("construct", "item", "est", "se", "z", "pvalue", "std_all"), dtype=text),
        "cfa_fit": _json(p["cfa_fit"], FIT_KEYS),
        "checks": _json(p["checks"], ("checks",)),
    }


def _indirect(path: Path) -> pd.DataFrame:
    """``indirect_effects.csv`` with an empty mediator / mediation type read as ``""`` (not NaN)."""
    ind = _csv(path, ("x", "mediator", "y", "effect", "est", "std_est", "boot_ci_low", "boot_ci_high",
                      "mc_ci_low", "mc_ci_high", "mediation_type"), dtype=TEXT_COLUMNS)
    for c in ("mediator", "mediation_type"):
        ind[c] = ind[c].fillna("").astype(str)
    return ind


def _read_structural(p: dict[str, Path]) -> dict[str, Any]:
    text = TEXT_COLUMNS
    return {
        "paths": _csv(p["paths"], ("lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "ci_low", "ci_high"),
                      dtype=text),
        "r2": _csv(p["r2"], ("variable", "r2"), dtype=text),
        "fit": _json(p["fit"], FIT_KEYS),
        "indirect": _indirect(p["indirect"]),
        "bootstrap": _json(p["bootstrap"], ("requested", "converged", "failed")),
        "equivalence": _csv(p["equivalence"], ("id", "kind", "estimate", "ci90_low", "ci90_high", "sesoi", "pvalue",
                                               "verdict"), dtype=text),
        "model_syntax": _need(p["model_syntax"]).read_text(encoding="utf-8"),
    }


def read_results(results_dir: Path) -> dict[str, Any]:
    """Read and shape-check every result file of :data:`RESULT_FILES`.

    Returns
    -------
    dict
        One entry per key of :data:`RESULT_FILES` (tables as DataFrames, the
        two matrices indexed by construct, JSON documents as dicts, the model
        syntax as text), plus ``hashes``: path relative to ``results_dir`` ->
        SHA-256 of the file.
    """
    r = Path(results_dir)
    p = {key: r / rel for key, rel in RESULT_FILES.items()}
    out: dict[str, Any] = {**_read_measurement(p), **_read_structural(p)}
    out["claims"] = _json(p["claims"], ("claims", "reproduced", "total"))
    out["hashes"] = {rel: sha256_file(p[key]) for key, rel in RESULT_FILES.items()}
    return out


def read_montecarlo(mc_dir: Path) -> dict[str, Any]:
    """Read the Monte Carlo result files of :data:`MONTECARLO_FILES` (and their hashes, keyed ``montecarlo/<name>``)."""
    d = Path(mc_dir)
    return {
        "claim_reproduction": _csv(d / MONTECARLO_FILES["claim_reproduction"],
                                   ("claim_id", "n", "replications", "converged", "reproduction_rate", "ci_low", "ci_high"),
                                   dtype={"claim_id": str}),
        "joint_reproduction": _csv(d / MONTECARLO_FILES["joint_reproduction"],
                                   ("n", "replications", "joint_rate", "ci_low", "ci_high")),
        "power": _json(d / MONTECARLO_FILES["power"]),
        "hashes": {f"montecarlo/{rel}": sha256_file(d / rel) for rel in MONTECARLO_FILES.values()},
    }
