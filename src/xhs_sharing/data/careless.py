"""Screening for careless responding: long-string index and intra-individual response variability.

A respondent who gives the same answer to every item (straight-lining) adds
a constant row to the survey: it carries no information about the constructs
yet inflates or deflates their correlations, and a large share of such rows
can stop the models from converging (issue 19 point 5). Survey researchers
screen for it with indices computed from the answers alone (Curran 2016,
J. Exp. Soc. Psychol. 66:4-19; Meade & Craig 2012, Psychol. Methods
17:437-455). Two are computed here, as R's ``careless`` package (1.2.2)
computes them:

* the **long-string index** (Johnson 2005, J. Res. Pers. 39:103-129;
  ``careless::longstring``): the length of the longest run of identical
  consecutive answers, in the questionnaire's item order;
* the **intra-individual response variability** (Dunn, Heggestad, Shanock &
  Theilgard 2018, J. Bus. Psychol. 33:105-121; ``careless::irv``): the
  standard deviation (``n - 1`` denominator) of a respondent's answers
  across the items.

Both are computed on the answers **as given** (reverse-worded items not
recoded), in the codebook's item order, which is the order of the study spec
and taken as the questionnaire's order: a straight-liner presses the same
key down the page, and recoding the reverse-worded items would break the
run it leaves.

Missing answers are handled as ``careless`` handles them: for the long
string a missing answer ends a run and counts as a run of length 1 (R's
``rle`` treats every ``NA`` as a value of its own); the IRV is the SD of the
answers given (``sd(x, na.rm = TRUE)``), undefined (NaN, never flagged) for
a respondent with fewer than two answers.

Thresholds (the config's ``data.careless``, defaults in the config schema):
a respondent is flagged when the long string covers at least
``longstring_share`` of the items (rounded up), or when the IRV is at most
``irv``. ``data.screen`` says what happens to flagged respondents: ``flag``
(default) counts and reports them and keeps them in the analysis;
``exclude`` drops them before the models, counted among the dropped rows.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from xhs_sharing.errors import DataError

log = logging.getLogger(__name__)

SCREEN_METHODS = ("flag", "exclude")
"""What happens to flagged respondents: kept and reported (``flag``), or dropped (``exclude``)."""

CARELESS_COLUMNS = ("respondent_id", "n_answered", "longstring", "irv", "flagged_longstring", "flagged_irv",
                    "flagged")
"""Columns of ``results/data/careless.csv``: one row per respondent screened."""


@functools.cache
def _data_schema() -> dict[str, Any]:
    """The ``data`` block of the config schema (the one copy of the defaults)."""
    text = (importlib.resources.files("xhs_sharing") / "schemas" / "config.schema.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["properties"]["data"]["properties"]


@dataclass(frozen=True)
class CarelessSettings:
    """The screen of a run: what to do with flagged respondents and the thresholds.

    Attributes
    ----------
    screen : {"flag", "exclude"}
        ``flag`` keeps flagged respondents (and reports them); ``exclude`` drops them.
    longstring_share : float
        A respondent is flagged when the long string is at least this share of the items (rounded up).
    irv : float
        A respondent is flagged when the IRV is at most this (0: every answer given is the same).
    warn_share : float
        Under ``flag``, the data stage warns when more than this share of respondents is flagged.
    """

    screen: str
    longstring_share: float
    irv: float
    warn_share: float

    @classmethod
    def from_config(cls, screen: str | None = None, careless: Mapping[str, Any] | None = None) -> CarelessSettings:
        """Settings from the config's ``data.screen`` and ``data.careless``; what is not given, from the schema's defaults.

        >>> CarelessSettings.from_config()
        CarelessSettings(screen='flag', longstring_share=0.5, irv=0.0, warn_share=0.1)
        """
        schema = _data_schema()
        defaults = {k: p["default"] for k, p in schema["careless"]["properties"].items()}
        values = {**defaults, **(careless or {})}
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise DataError(f"config key data.careless: unknown key(s) {unknown}; known: {sorted(defaults)}")
        screen = schema["screen"]["default"] if screen is None else screen
        if screen not in SCREEN_METHODS:
            raise DataError(f"config key data.screen: must be one of {SCREEN_METHODS}, got {screen!r}")
        return cls(screen=str(screen), longstring_share=float(values["longstring_share"]),
                   irv=float(values["irv"]), warn_share=float(values["warn_share"]))

    def longstring_cutoff(self, n_items: int) -> int:
        """The shortest long string flagged: ``ceil(longstring_share * n_items)``, at least 2.

        >>> CarelessSettings("flag", 0.5, 0.0, 0.1).longstring_cutoff(25)
        13
        """
        return max(2, math.ceil(self.longstring_share * n_items - 1e-9))

    def as_dict(self, n_items: int) -> dict[str, Any]:
        """The settings as ``source.json`` records them, with the long-string cut-off in items."""
        return {"screen": self.screen, "longstring_share": self.longstring_share,
                "longstring_cutoff": self.longstring_cutoff(n_items), "irv": self.irv, "warn_share": self.warn_share}


def longstring(answers: np.ndarray) -> np.ndarray:
    """Longest run of identical consecutive answers of each row (Johnson 2005; ``careless::longstring``).

    Parameters
    ----------
    answers : ndarray, shape (n, p)
        Answers in questionnaire order, NaN for a missing answer.

    Returns
    -------
    ndarray of int, shape (n,)
        ``max`` over the row's runs of their length. A missing answer ends a
        run and is a run of length 1 (as R's ``rle`` treats ``NA``), so a row
        with no answer has 1.

    Examples
    --------
    >>> longstring(np.array([[1, 1, 2, 2, 2], [4, 4, np.nan, 4, 4]])).tolist()
    [3, 2]
    """
    x = np.asarray(answers, dtype=float)
    n, p = x.shape
    best = np.ones(n, dtype=int)
    run = np.ones(n, dtype=int)
    for j in range(1, p):
        same = x[:, j] == x[:, j - 1]  # False when either is NaN: a missing answer breaks the run
        run = np.where(same, run + 1, 1)
        best = np.maximum(best, run)
    return best if p else np.zeros(n, dtype=int)


def irv(answers: np.ndarray) -> np.ndarray:
    """Intra-individual response variability: SD of each row's answers (Dunn et al. 2018; ``careless::irv``).

    ``IRV_i = sqrt(sum_j (x_ij - mean_i)^2 / (k_i - 1))`` over the ``k_i``
    answers row ``i`` gave (``sd(x, na.rm = TRUE)``); NaN when ``k_i < 2``.

    Examples
    --------
    >>> irv(np.array([[3, 3, 3], [1, 3, np.nan], [5, np.nan, np.nan]])).tolist()
    [0.0, 1.4142135623730951, nan]
    """
    x = np.asarray(answers, dtype=float)
    k = (~np.isnan(x)).sum(axis=1)
    out = np.full(x.shape[0], np.nan)
    ok = k >= 2
    if ok.any():
        out[ok] = np.nanstd(x[ok], axis=1, ddof=1)
    return out


def screen_table(answers: pd.DataFrame, ids: pd.Series | list[str], settings: CarelessSettings) -> pd.DataFrame:
    """Both indices and the flags of every respondent: the rows of ``results/data/careless.csv``.

    Parameters
    ----------
    answers : DataFrame
        Item columns in questionnaire (codebook) order, answers as given, NaN missing.
    ids : sequence of str
        Respondent ids, one per row.
    settings : CarelessSettings
        The thresholds.

    Returns
    -------
    DataFrame
        :data:`CARELESS_COLUMNS`: ``flagged_longstring`` is
        ``longstring >= longstring_cutoff``, ``flagged_irv`` is ``irv <= irv``
        (NaN IRV never flagged), ``flagged`` either.
    """
    x = answers.to_numpy(dtype=float)
    ls = longstring(x)
    var = irv(x)
    by_ls = ls >= settings.longstring_cutoff(x.shape[1])
    by_irv = ~np.isnan(var) & (var <= settings.irv + 1e-12)
    return pd.DataFrame({
        "respondent_id": list(ids), "n_answered": (~np.isnan(x)).sum(axis=1), "longstring": ls, "irv": var,
        "flagged_longstring": by_ls, "flagged_irv": by_irv, "flagged": by_ls | by_irv,
    }, index=answers.index)


def careless_summary(table: pd.DataFrame, settings: CarelessSettings, n_items: int) -> dict[str, Any]:
    """The screen as ``source.json`` records it (its ``careless`` key).

    Keys: the settings (:meth:`CarelessSettings.as_dict`); ``n_screened``
    (respondents with at least one answer); ``n_flagged`` and its ``share``;
    ``n_longstring`` and ``n_irv`` (flagged by each index; a respondent can be
    flagged by both); ``n_excluded`` (the flagged ones under ``exclude``, else
    0); ``max_longstring``; ``flagged_ids`` (up to ten).
    """
    n = int(len(table))
    flagged = table["flagged"].to_numpy(dtype=bool)
    n_flagged = int(flagged.sum())
    return {
        **settings.as_dict(n_items),
        "n_screened": n,
        "n_flagged": n_flagged,
        "share_flagged": n_flagged / n if n else 0.0,
        "n_longstring": int(table["flagged_longstring"].sum()),
        "n_irv": int(table["flagged_irv"].sum()),
        "n_excluded": n_flagged if settings.screen == "exclude" else 0,
        "max_longstring": int(table["longstring"].max()) if n else 0,
        "flagged_ids": [str(i) for i in table.loc[flagged, "respondent_id"]][:10],
    }


def careless_warnings(summary: Mapping[str, Any], source: str) -> list[str]:
    """A warning when, under ``flag``, more than ``warn_share`` of the respondents are flagged (logged).

    Meade & Craig (2012) found 10-12% careless respondents in a long student
    survey; a larger share kept in the analysis is worth a line at the top of the report.
    """
    share = float(summary["share_flagged"])
    if summary["screen"] != "flag" or share <= float(summary["warn_share"]):
        return []
    warning = (f"{source}: {summary['n_flagged']} of {summary['n_screened']} respondents ({100 * share:.1f}%) look "
               f"like careless responders (same answer {summary['longstring_cutoff']} or more times in a row, or "
               f"answer SD at most {summary['irv']:g}) and are kept in the analysis; set data.screen: exclude to "
               "drop them (results/data/careless.csv lists every respondent's indices)")
    log.warning("%s", warning)
    return [warning]
