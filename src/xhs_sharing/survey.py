"""Reading a survey file with its codebook, and recoding reverse-worded items."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError


def read_codebook(path: str | Path) -> dict[str, Any]:
    """Read ``codebook.json`` (written by :func:`xhs_sharing.synthetic.codebook`)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            book = json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: codebook not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    for key in ("id_column", "scale_points", "items"):
        if key not in book:
            raise DataError(f"{path}: codebook lacks the field {key!r}")
    return book


def recode_reverse_items(data: pd.DataFrame, book: dict[str, Any]) -> pd.DataFrame:
    """Return a copy with every reverse-coded item recoded as ``K + 1 - x``.

    After recoding a high value always means more of the construct.
    """
    out = data.copy()
    k = int(book["scale_points"])
    for it in book["items"]:
        if it.get("reverse_coded"):
            out[it["id"]] = (k + 1) - out[it["id"]]
    return out


def analysis_frame(data: pd.DataFrame, book: dict[str, Any]) -> pd.DataFrame:
    """Item columns only, reverse items recoded, as float: the input of every model."""
    items = [it["id"] for it in book["items"]]
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise DataError(f"survey lacks item column(s) {missing} named in the codebook")
    return recode_reverse_items(data[[book["id_column"], *items]], book)[items].astype(float)


def read_survey(path: str | Path, book: dict[str, Any]) -> pd.DataFrame:
    """Read a survey CSV, as answered (no recoding), with its id column as string."""
    path = Path(path)
    try:
        return pd.read_csv(path, dtype={book["id_column"]: str})
    except FileNotFoundError:
        raise DataError(f"{path}: survey file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
