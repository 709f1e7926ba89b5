"""Reading and validating a survey file against its codebook.

A survey file (CSV, SPSS ``.sav`` or Excel ``.xlsx``) has one row per
respondent, a respondent id column and one column per item of the codebook,
coded ``1 .. K`` as answered (reverse-worded items not yet recoded). Every
problem is reported as a :class:`~xhs_sharing.errors.DataError` naming the
file, the column and up to ten offending rows, with a hint how to fix it,
before any statistic is computed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xhs_sharing.data.careless import CarelessSettings, careless_summary, careless_warnings, screen_table
from xhs_sharing.data.reverse import already_reversed_warnings
from xhs_sharing.errors import DataError
from xhs_sharing.io import sha256_file

log = logging.getLogger(__name__)


MAX_ROWS_SHOWN = 10
"""How many offending rows an error message lists."""


MISSING_METHODS = ("listwise", "fiml")


@dataclass
class Survey:
    """A validated survey, ready for the models.

    Attributes
    ----------
    path : str
        The file it was read from.
    sha256 : str
        SHA-256 of the file's bytes.
    raw : DataFrame
        The table as read (after validation), id column and items, as answered.
    items : DataFrame
        Item columns only, reverse-coded items recoded, as float; rows with a
        missing answer removed under listwise deletion, kept (with NaN) under FIML.
    n_rows : int
        Rows in the file.
    missing : str
        The missing-data method (``listwise`` or ``fiml``).
    dropped : list of str
        Respondent ids removed by listwise deletion.
    no_answer : list of str
        Respondent ids removed because they answered no item at all (under
        either method, as lavaan drops such cases).
    renamed : dict
        File column -> codebook id, for columns matched only up to case.
    missing_data : dict
        The missing-data summary of :func:`missing_summary`.
    coverage : DataFrame
        Covariance coverage of :func:`coverage`.
    answer_range : list of int
        Smallest and largest answer in the file's item columns.
    careless : dict
        The careless-responding screen of :func:`xhs_sharing.data.careless.careless_summary`.
    careless_table : DataFrame
        Each screened respondent's indices and flags (``results/data/careless.csv``).
    excluded : list of str
        Respondent ids dropped as careless (``data.screen: exclude``).
    warnings : list of str
        Problems that do not stop the analysis (extra columns, unused scale
        ends, respondents with no answer, reverse-coded items that look
        recoded already: :mod:`xhs_sharing.data.reverse`).
    """

    path: str
    sha256: str
    raw: pd.DataFrame
    items: pd.DataFrame
    n_rows: int
    missing: str
    dropped: list[str] = field(default_factory=list)
    no_answer: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    missing_data: dict[str, Any] = field(default_factory=dict)
    coverage: pd.DataFrame = field(default_factory=pd.DataFrame)
    answer_range: list[int] = field(default_factory=list)
    careless: dict[str, Any] = field(default_factory=dict)
    careless_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the report says about the data source (``results/data/source.json``).

        ``n_rows`` counts the rows of the file, ``n_analysed`` the respondents
        the models use, ``dropped_rows = n_rows - n_analysed`` every row left
        out: ``no_answer_rows`` answered no item (dropped under either method),
        ``careless_rows`` were flagged by the careless-responding screen and
        dropped (``data.screen: exclude``; 0 under ``flag``), ``listwise_rows``
        had a missing answer (dropped under listwise deletion). ``careless``
        is the screen's summary (counts and thresholds).
        """
        return {
            "path": self.path,
            "sha256": self.sha256,
            "n_rows": self.n_rows,
            "n_analysed": int(len(self.items)),
            "missing": self.missing,
            "dropped_rows": self.n_rows - int(len(self.items)),
            "listwise_rows": len(self.dropped),
            "no_answer_rows": len(self.no_answer),
            "dropped_ids": (self.no_answer + self.excluded + self.dropped)[:MAX_ROWS_SHOWN],
            "renamed_columns": dict(self.renamed),
            "answer_range": list(self.answer_range),
            "missing_data": self.missing_data,
            "warnings": self.warnings,
            "careless": self.careless,
            "careless_rows": len(self.excluded),
        }


def read_codebook(path: str | Path) -> dict[str, Any]:
    """Read ``codebook.json`` (written by :func:`xhs_sharing.study.synthetic.codebook`)."""
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


def _rows(labels: pd.Index | list[Any]) -> str:
    """Up to :data:`MAX_ROWS_SHOWN` row labels, and how many more there are."""
    labels = list(labels)
    shown = ", ".join(str(x) for x in labels[:MAX_ROWS_SHOWN])
    more = f" (and {len(labels) - MAX_ROWS_SHOWN} more)" if len(labels) > MAX_ROWS_SHOWN else ""
    return shown + more


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise DataError(f"{path}: the file is empty; export the survey with a header row and one row per respondent")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded); re-save the file as 'CSV UTF-8'"
        ) from None
    header = text.splitlines()[0]
    if "," not in header:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in header:
                raise DataError(
                    f"{path}: the header is separated by {name}, not commas; "
                    "re-save the file as comma-separated CSV"
                )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                            quoting=csv.QUOTE_MINIMAL, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot be parsed as CSV ({exc})") from None
    return frame


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a survey file by its extension (``.csv``, ``.sav``, ``.xlsx``), every cell as text or number."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: survey file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".sav":
        try:
            import pyreadstat
        except ImportError:  # pragma: no cover - dependency declared in pyproject
            raise DataError(f"{path}: reading SPSS files needs pyreadstat (pip install pyreadstat)") from None
        try:
            frame, _meta = pyreadstat.read_sav(str(path))
        except Exception as exc:  # pyreadstat raises its own exception types
            raise DataError(f"{path}: cannot be read as an SPSS .sav file ({exc})") from None
        return frame
    if suffix == ".xlsx":
        try:
            frame = pd.read_excel(path, sheet_name=0)
        except ImportError:  # pragma: no cover
            raise DataError(f"{path}: reading Excel files needs openpyxl (pip install openpyxl)") from None
        except Exception as exc:
            raise DataError(f"{path}: cannot be read as an Excel .xlsx file ({exc})") from None
        return frame
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv, .sav or .xlsx")


def match_columns(columns: list[str], expected: list[str], source: str) -> dict[str, str]:
    """File column -> codebook id for every expected id, matched exactly or else up to case.

    ``A1`` in the file matches the id ``a1`` when no column is named ``a1``
    exactly. Returns only the columns that need renaming.

    Raises
    ------
    DataError
        Two file columns equal up to case that could both be one id (``A1`` and
        ``a1`` against ``a1``), naming both; or codebook ids equal up to case.
    """
    folded: dict[str, list[str]] = {}
    for c in columns:
        folded.setdefault(c.casefold(), []).append(c)
    ids: dict[str, str] = {}
    for e in expected:
        if e.casefold() in ids:
            raise DataError(f"{source}: the codebook ids {ids[e.casefold()]!r} and {e!r} differ only in case; "
                            "give the items ids that differ in more than case")
        ids[e.casefold()] = e
    renamed: dict[str, str] = {}
    for e in expected:
        candidates = folded.get(e.casefold(), [])
        if len(candidates) > 1:
            raise DataError(f"{source}: columns {candidates} differ only in case, so it is unclear which is "
                            f"the item {e!r}; rename or remove one of them")
        if candidates and candidates[0] != e:
            renamed[candidates[0]] = e
    return renamed


def _select_columns(frame: pd.DataFrame, id_col: str, items: list[str], source: str
                    ) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """The id and item columns, rows labelled by file line (header = line 1); warnings; columns matched by case."""
    if frame.shape[0] == 0:
        raise DataError(f"{source}: the file has a header but no rows")
    frame = frame.rename(columns=lambda c: str(c).strip())
    renamed = match_columns(list(frame.columns), [id_col, *items], source)
    if renamed:
        log.info("matched %d column(s) by case: %s", len(renamed),
                 ", ".join(f"{k} -> {v}" for k, v in renamed.items()))
        frame = frame.rename(columns=renamed)
    missing_cols = [c for c in [id_col, *items] if c not in frame.columns]
    if missing_cols:
        raise DataError(
            f"{source}: missing column(s) {missing_cols}; the codebook expects '{id_col}' and the items "
            f"{items}. Rename your columns to these ids (see the README's 'Your own data')."
        )
    extra = [c for c in frame.columns if c not in (id_col, *items)]
    warnings = [f"{source}: ignoring column(s) not in the codebook: {extra}"] if extra else []
    for w in warnings:
        log.warning("%s", w)
    frame = frame[[id_col, *items]].copy()
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    return frame, warnings, renamed


def _respondent_ids(frame: pd.DataFrame, id_col: str, source: str) -> pd.Series:
    """The id column as stripped text; every id present and unique."""
    ids = frame[id_col].astype("string").str.strip()
    blank = ids.isna() | (ids == "")
    if blank.any():
        raise DataError(f"{source}: column {id_col}: empty respondent id on line(s) {_rows(frame.index[blank])}")
    dup = ids.duplicated(keep=False)
    if dup.any():
        raise DataError(
            f"{source}: column {id_col}: duplicated respondent id(s) {sorted(set(ids[dup]))[:MAX_ROWS_SHOWN]} "
            f"on line(s) {_rows(frame.index[dup])}; each respondent must appear once"
        )
    return ids.astype(str)


def _item_codes(raw: pd.Series, col: str, k: int, source: str) -> pd.Series:
    """One item's answers as float (NaN missing): whole numbers ``1..k``, at least one answer."""
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
    if bad.any():
        examples = sorted({str(v) for v in raw[bad]})[:5]
        raise DataError(
            f"{source}: column {col}: non-numeric value(s) {examples} on line(s) {_rows(raw.index[bad])}; "
            f"answers must be whole numbers 1..{k}, empty for a missing answer"
        )
    values = values.astype(float)
    outside = values.notna() & ((values < 1) | (values > k) | (values != np.round(values)))
    if outside.any():
        examples = sorted({float(v) for v in values[outside]})[:5]
        raise DataError(
            f"{source}: column {col}: code(s) {examples} outside the scale 1..{k} on line(s) "
            f"{_rows(raw.index[outside])}; recode them or mark them missing"
        )
    if values.isna().all():
        raise DataError(f"{source}: column {col}: no respondent answered this item")
    return values


def _drop_no_answer(out: pd.DataFrame, items: list[str], id_col: str, source: str
                    ) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Rows answering no item at all removed (as lavaan drops such cases), with their ids and a warning."""
    empty = out[items].isna().all(axis=1)
    if not empty.any():
        return out, [], []
    ids = out.loc[empty, id_col].tolist()
    warning = (f"{source}: {len(ids)} respondent(s) answered no item at all and were dropped "
               f"(line(s) {_rows(out.index[empty])})")
    log.warning("%s", warning)
    return out.loc[~empty], ids, [warning]


def scale_end_warnings(values: pd.DataFrame, k: int, source: str) -> list[str]:
    """Warnings when no answer in the whole file uses the top code ``k``, or the bottom code 1, of the scale.

    A 6-point survey read as 7-point leaves 7 unused, and its reverse-worded
    items would be recoded ``8 - x`` instead of ``7 - x``.
    """
    answers = values.to_numpy(dtype=float)
    answers = answers[~np.isnan(answers)]
    if answers.size == 0:
        return []
    low, high = int(answers.min()), int(answers.max())
    out = []
    for code, name, seen in ((k, "top", high), (1, "bottom", low)):
        if seen != code:
            out.append(f"{source}: no answer in the whole file uses the {name} code {code} of the declared "
                       f"{k}-point scale (answers range {low}..{high}); if the survey's scale has other points, "
                       f"set data.scale_points: reverse-worded items are recoded as {k + 1} - x")
    for w in out:
        log.warning("%s", w)
    return out


def _check_answers(out: pd.DataFrame, items: list[str], source: str, min_rows: int) -> None:
    """Every item varies, and there are at least ``min_rows`` rows."""
    flat = [c for c in items if out[c].nunique(dropna=True) < 2]
    if flat:
        raise DataError(
            f"{source}: column(s) {flat}: every respondent gave the same answer (zero variance); "
            "such an item carries no information and the model cannot be estimated with it"
        )
    if len(out) < min_rows:
        raise DataError(
            f"{source}: {len(out)} rows, but the model has {min_rows} free parameters and needs at least "
            f"{min_rows} respondents"
        )


@dataclass
class Checked:
    """A survey table checked against its codebook (:func:`check_survey`)."""

    table: pd.DataFrame
    warnings: list[str]
    no_answer: list[str]
    renamed: dict[str, str]
    answer_range: list[int]


def check_survey(frame: pd.DataFrame, book: dict[str, Any], source: str, min_rows: int) -> Checked:
    """Check a raw survey table against the codebook; respondents with no answer at all are dropped.

    Returns the table with the id column as text and item columns as float
    (NaN for a missing answer), the warnings, the ids dropped for answering
    no item, the columns matched up to case, and the range of the answers.
    Row labels in messages are file line numbers (header = line 1).

    Raises
    ------
    DataError
        Naming ``source``, the column and up to ten rows, for: no rows, a missing
        id or item column, columns equal up to case, duplicated or missing ids,
        non-numeric answers, codes outside ``1..K`` or not whole numbers, items
        with no answer at all, items with zero variance, and fewer rows than
        ``min_rows`` (after the rows with no answer are dropped).
    """
    id_col = book["id_column"]
    k = int(book["scale_points"])
    items = [it["id"] for it in book["items"]]
    frame, warnings, renamed = _select_columns(frame, id_col, items, source)
    out = pd.DataFrame({id_col: _respondent_ids(frame, id_col, source)}, index=frame.index)
    for col in items:
        out[col] = _item_codes(frame[col], col, k, source)
    warnings += scale_end_warnings(out[items], k, source)
    answers = out[items].to_numpy(dtype=float)
    answer_range = [int(np.nanmin(answers)), int(np.nanmax(answers))]
    out, no_answer, dropped_warning = _drop_no_answer(out, items, id_col, source)
    _check_answers(out, items, source, min_rows)
    return Checked(out, warnings + dropped_warning, no_answer, renamed, answer_range)


def validate_survey(frame: pd.DataFrame, book: dict[str, Any], source: str, min_rows: int) -> tuple[pd.DataFrame, list[str]]:
    """The table and warnings of :func:`check_survey` (respondents with no answer dropped)."""
    checked = check_survey(frame, book, source, min_rows)
    return checked.table, checked.warnings


def coverage(items: pd.DataFrame) -> pd.DataFrame:
    """Covariance coverage: the share of respondents who answered both items of each pair.

    ``C = O'O / n`` with ``O`` the ``n x p`` indicator of observed answers;
    the diagonal is each item's share answered. lavaan's
    ``lavInspect(fit, "coverage")`` under ``missing = "ml"`` (Enders 2010,
    Applied Missing Data Analysis, ch. 2).
    """
    observed = items.notna().to_numpy(dtype=float)
    n = max(len(items), 1)
    return pd.DataFrame(observed.T @ observed / n, index=pd.Index(items.columns, name="item"),
                        columns=list(items.columns))


def missing_summary(items: pd.DataFrame, method: str) -> dict[str, Any]:
    """How many answers are missing and where: the missing-data summary of a run.

    Parameters
    ----------
    items : DataFrame
        Item columns of the respondents with at least one answer (NaN missing).
    method : {"listwise", "fiml"}
        How the missing answers are handled.

    Returns
    -------
    dict
        ``n_respondents``; ``n_incomplete`` (respondents with any missing
        answer); ``n_patterns`` (distinct patterns of answered items, the
        complete one included, as lavaan's ``lavInspect(fit, "patterns")``);
        ``per_item`` (``item``, ``n_missing``, ``share_missing``, in item
        order); ``min_coverage`` (the
        smallest covariance coverage of two distinct items, :func:`coverage`,
        with the first such pair in item order); ``method``; and
        ``listwise_rows`` (respondents dropped by listwise deletion, 0 under FIML).
    """
    n = len(items)
    observed = items.notna()
    cov = coverage(items).to_numpy()
    names = list(items.columns)
    upper = np.triu_indices(len(names), k=1)
    low = int(np.argmin(cov[upper])) if len(names) > 1 else 0
    pair = [names[upper[0][low]], names[upper[1][low]]] if len(names) > 1 else names
    n_incomplete = int((~observed).any(axis=1).sum())
    return {
        "method": method,
        "n_respondents": n,
        "n_incomplete": n_incomplete,
        "n_patterns": int(len(observed.drop_duplicates())),
        "per_item": [{"item": c, "n_missing": int((~observed[c]).sum()),
                      "share_missing": float((~observed[c]).mean()) if n else 0.0} for c in names],
        "min_coverage": {"items": pair, "value": float(cov[upper][low]) if len(names) > 1 else 1.0},
        "listwise_rows": n_incomplete if method == "listwise" else 0,
    }


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
    return recode_reverse_items(data[items], book).astype(float).reset_index(drop=True)


@dataclass
class Screened:
    """The respondents left after the careless-responding screen (:func:`screen_careless`)."""

    table: pd.DataFrame
    summary: dict[str, Any]
    indices: pd.DataFrame
    excluded: list[str]
    warnings: list[str]


def screen_careless(table: pd.DataFrame, book: dict[str, Any], settings: CarelessSettings, source: str,
                    min_rows: int) -> Screened:
    """Screen every respondent with an answer for careless responding; under ``exclude`` drop the flagged ones.

    The indices (:mod:`xhs_sharing.data.careless`) are computed on the answers
    as given, in codebook order, before listwise deletion, so every respondent
    with an answer is screened.

    Raises
    ------
    DataError
        Under ``exclude``, fewer than ``min_rows`` respondents left.
    """
    id_col = book["id_column"]
    items = [it["id"] for it in book["items"]]
    indices = screen_table(table[items], table[id_col], settings)
    summary = careless_summary(indices, settings, len(items))
    log.info("careless-responding screen (%s): %d of %d respondents flagged (%d by the long string >= %d, %d by "
             "an answer SD <= %g)", settings.screen, summary["n_flagged"], summary["n_screened"],
             summary["n_longstring"], summary["longstring_cutoff"], summary["n_irv"], settings.irv)
    flagged = indices["flagged"].to_numpy(dtype=bool)
    if settings.screen != "exclude" or not flagged.any():
        return Screened(table, summary, indices, [], careless_warnings(summary, source))
    kept = table.loc[~flagged]
    excluded = table.loc[flagged, id_col].tolist()
    log.info("data.screen: exclude dropped %d careless respondent(s) of %d", len(excluded), len(table))
    if len(kept) < min_rows:
        raise DataError(
            f"{source}: only {len(kept)} respondents remain after dropping the {len(excluded)} flagged as careless "
            f"(data.screen: exclude), fewer than the {min_rows} the model needs; set data.screen: flag, or change "
            "the thresholds of data.careless"
        )
    return Screened(kept, summary, indices, excluded, [])


def load_survey(
    path: str | Path, book: dict[str, Any], min_rows: int, *, missing: str,
    careless: CarelessSettings | None = None,
) -> Survey:
    """Read, validate and prepare a survey file for the models.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.sav`` or ``.xlsx`` file.
    book : dict
        The codebook.
    min_rows : int
        Fewest complete rows the model can be estimated on (its free parameters).
    missing : {"listwise", "fiml"}
        Listwise deletion (rows with any missing answer are dropped and
        counted) or full-information ML (rows are kept; the models use
        the FIML likelihood of :mod:`xhs_sharing.sem.mvnorm_missing`).
    careless : CarelessSettings, optional
        The careless-responding screen (:func:`screen_careless`), run before
        listwise deletion; the config schema's defaults (``flag``) when not given.
    """
    if missing not in MISSING_METHODS:
        raise DataError(f"missing-data method must be one of {MISSING_METHODS}, got {missing!r}")
    path = Path(path)
    frame = read_table(path)
    checked = check_survey(frame, book, str(path), min_rows)
    screened = screen_careless(checked.table, book, careless or CarelessSettings.from_config(), str(path), min_rows)
    table = screened.table
    items = [it["id"] for it in book["items"]]
    summary = missing_summary(table[items], missing)
    incomplete = table[items].isna().any(axis=1)
    dropped: list[str] = []
    kept = table
    if missing == "listwise" and incomplete.any():
        dropped = table.loc[incomplete, book["id_column"]].tolist()
        kept = table.loc[~incomplete]
        log.info("listwise deletion dropped %d of %d rows", len(dropped), len(table))
        if len(kept) < min_rows:
            raise DataError(
                f"{path}: only {len(kept)} complete rows remain after listwise deletion "
                f"({len(dropped)} dropped), fewer than the {min_rows} the model needs; "
                "set data.missing: fiml in config.yaml to use every answer"
            )
    analysed = analysis_frame(kept, book)
    return Survey(
        path=str(path), sha256=sha256_file(path), raw=kept.reset_index(drop=True),
        items=analysed, n_rows=len(frame), missing=missing,
        dropped=dropped, no_answer=checked.no_answer, renamed=checked.renamed, missing_data=summary,
        coverage=coverage(table[items]), answer_range=checked.answer_range,
        careless=screened.summary, careless_table=screened.indices, excluded=screened.excluded,
        warnings=checked.warnings + screened.warnings + already_reversed_warnings(analysed, book, str(path)),
    )


def read_analysis_table(path: str | Path, id_column: str = "respondent_id") -> pd.DataFrame:
    """Read ``results/data/items.csv`` (written by the prepare_data rule): items as float, ids as index."""
    frame = pd.read_csv(path, dtype={id_column: str})
    return frame.set_index(id_column).astype(float)
