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


def data_view(source: Mapping[str, Any]) -> dict[str, Any]:
    """The data the run analysed (``results/data/source.json``), with one sentence saying which."""
    kind = str(source.get("kind", "synthetic"))
    path = source.get("path")
    name = Path(str(path)).name if path else DASH
    n_rows = fmt_int(source.get("n_rows"))
    if kind == "observed":
        dropped = source.get("dropped_rows")
        text = (f"observed data: the user's file \u201c{name}\u201d, {n_rows} respondents analysed"
                + (f", {fmt_int(dropped)} row{'s' if dropped != 1 else ''} dropped" if _finite(dropped) else "") + ".")
    else:
        text = (f"synthetic data: {n_rows} respondents drawn from the population model of the study specification "
                f"file \u201c{name}\u201d.")
    return {"kind": kind, "name": name, "path": str(path) if path else DASH, "sha256": source.get("sha256") or DASH,
            "n_rows": n_rows, "dropped_rows": fmt_int(source.get("dropped_rows")), "text": text,
            "observed": kind == "observed"}


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
        "started": run_info.get("started", DASH),
        "finished": run_info.get("finished", DASH),
        "run_time": run_time(run_info),
        "command": run_info.get("command", DASH),
        "packages": {"caption": "Package versions", "columns": [col("Package"), col("Version")],
                     "rows": [{"cells": [cell(k, header=True), cell(v)]} for k, v in sorted(packages.items())], "note": ""},
        "inputs": {"caption": "Inputs of the run", "columns": hashes_cols, "rows": _hash_rows(run_info.get("inputs")), "note": ""},
        "outputs": {"caption": "Outputs of the run", "columns": hashes_cols, "rows": _hash_rows(run_info.get("outputs")), "note": ""},
        "results": {"caption": "Result files this report was built from", "columns": hashes_cols,
                    "rows": _hash_rows(result_hashes), "note": "Paths relative to the results directory."},
        "config_text": config_text,
        "study_text": study_text,
        "data": data,
    }
