"""From data frames to the validated float matrices the estimators take.

Every estimator of :mod:`xhs_sharing.sem` works on NumPy arrays whose
columns are the model's observed variables in
:attr:`~xhs_sharing.sem.model.ModelStructure.observed` order. This module is
the one gate from a pandas ``DataFrame`` (or a user-supplied matrix) to those
arrays, and raises :class:`~xhs_sharing.errors.DataError` naming the
problem:

* :func:`numeric_columns` / :func:`observed_matrix`: the model's columns,
  present and numeric; missing values (NaN) only where FIML is requested
  (``missing="fiml"``, :data:`MISSING_METHODS`), and more rows than columns
  (else the sample covariance is singular);
* :func:`complete_rows`: listwise deletion (lavaan's default
  ``missing = "listwise"``); :func:`incomplete_matrix`: the data when a
  value is missing, for the FIML fit measures;
* :func:`as_covariance`: a square, symmetric, finite matrix (the input of
  the fit measures).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xhs_sharing.errors import DataError, SpecError

logger = logging.getLogger(__name__)

__all__ = [
    "MISSING_METHODS",
    "as_covariance",
    "check_missing",
    "complete_rows",
    "incomplete_matrix",
    "numeric_columns",
    "observed_matrix",
]


def as_covariance(name: str, m: object) -> np.ndarray:
    """Return ``m`` as a float square symmetric finite matrix, or raise DataError naming it."""
    a = np.asarray(m, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise DataError(f"{name} must be a non-empty square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} contains non-finite values")
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
        raise DataError(f"{name} is not symmetric")
    return a


#: Missing-data settings of :func:`fit_measures` and the estimators.
MISSING_METHODS: tuple[str, ...] = ("listwise", "fiml")


def check_missing(missing: str) -> None:
    """Raise :class:`SpecError` unless ``missing`` is one of :data:`MISSING_METHODS`."""
    if missing not in MISSING_METHODS:
        raise SpecError(f"missing must be one of {MISSING_METHODS}, got {missing!r}")


def numeric_columns(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Select ``columns`` as float, checking they exist and are numeric (NaN kept)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(f"data lacks the model's observed variable(s): {', '.join(missing)}")
    sub = data.loc[:, list(columns)]
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(sub[c])]
    if bad:
        raise DataError(f"observed variable(s) not numeric: {', '.join(bad)}")
    return sub.astype(float)


def complete_rows(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Select ``columns``, check they are numeric, drop incomplete rows (listwise)."""
    sub = numeric_columns(data, columns).dropna(how="any")
    if len(sub) <= len(columns):
        raise DataError(
            f"only {len(sub)} complete rows for {len(columns)} observed variables; "
            "the sample covariance matrix would be singular"
        )
    return sub


def incomplete_matrix(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """The model's columns as a float matrix when some value is missing, else None."""
    x = numeric_columns(data, columns).to_numpy(dtype=float)
    return x if np.isnan(x).any() else None


def observed_matrix(
    data: pd.DataFrame, columns: tuple[str, ...], *, allow_missing: bool = False
) -> np.ndarray:
    """Validated float matrix of ``columns``.

    Missing values (NaN) are an error unless ``allow_missing`` (FIML), in
    which case every row needs at least one observed value.

    Raises
    ------
    DataError
        Not a DataFrame, missing/non-numeric columns, missing values (unless
        allowed), a row without any observed value, or too few rows for a
        positive-definite covariance matrix.
    """
    x = numeric_columns(data, columns).to_numpy(dtype=float, copy=True)
    n_na = int(np.isnan(x).any(axis=1).sum())
    if n_na and not allow_missing:
        raise DataError(
            f"{n_na} respondents have missing indicator values; ML here needs "
            "complete data (drop them, or fit with missing='fiml')"
        )
    n_empty = int(np.isnan(x).all(axis=1).sum())
    if n_empty:
        raise DataError(f"{n_empty} respondents have no observed indicator value; drop them")
    if x.shape[0] <= x.shape[1]:
        raise DataError(
            f"{x.shape[0]} respondents for {x.shape[1]} indicators: the sample "
            "covariance matrix is singular"
        )
    return x
