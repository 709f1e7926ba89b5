"""Mardia's (1970) multivariate skewness and kurtosis, with their tests, as semTools computes them.

For ``n`` rows ``x_i`` of ``d`` variables, centred at the sample mean, and
``S`` the sample covariance with divisor ``n - 1`` (R's ``cov``, as
semTools 0.5-6 ``mardiaSkew`` / ``mardiaKurtosis`` use), let
``m_ij = (x_i - xbar)' S^-1 (x_j - xbar)``. Then

* skewness ``b1d = sum_ij m_ij^3 / n^2``, tested by ``chi = n b1d / 6`` on
  ``d (d + 1) (d + 2) / 6`` degrees of freedom (upper tail);
* kurtosis ``b2d = sum_i m_ii^2 / n``, tested by
  ``z = (b2d - d (d + 2)) / sqrt(8 d (d + 2) / n)`` (two-sided normal).

Mardia, K. V. (1970). Measures of multivariate skewness and kurtosis with
applications. Biometrika 57, 519-530. Under multivariate normality
``b2d`` is near ``d (d + 2)`` and ``b1d`` near 0; seven-point items are
discrete, so neither holds exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from xhs_sharing.errors import DataError

__all__ = ["mardia"]


def mardia(x: Any) -> dict[str, float | int]:
    """Mardia's multivariate skewness and kurtosis of the complete rows ``x`` (semTools' definitions).

    Parameters
    ----------
    x : array_like, shape (n, d)
        Data without missing values (the caller drops incomplete rows).

    Returns
    -------
    dict
        ``n``, ``d``; ``skew_b1d``, ``skew_chi2``, ``skew_df``, ``skew_pvalue``
        (semTools' ``b1d, chi, df, p``); ``kurt_b2d``, ``kurt_expected``
        (``d (d + 2)``), ``kurt_z``, ``kurt_pvalue`` (``b2d, z, p``).

    Raises
    ------
    DataError
        Missing values, fewer rows than ``d + 1``, or a singular covariance.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> out = mardia(rng.normal(size=(400, 3)))
    >>> out["skew_df"], out["kurt_expected"]
    (10, 15)
    """
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise DataError(f"Mardia's statistics need a 2-D data matrix, got shape {arr.shape}")
    n, d = arr.shape
    if np.isnan(arr).any():
        raise DataError("Mardia's statistics need complete rows: the data have missing values")
    if n <= d:
        raise DataError(f"Mardia's statistics need more rows than variables: {n} rows, {d} variables")
    centred = arr - arr.mean(axis=0)
    try:
        s_inv = np.linalg.inv(np.cov(arr, rowvar=False, ddof=1))
    except np.linalg.LinAlgError as exc:
        raise DataError("Mardia's statistics: the covariance matrix of the data is singular") from exc
    m = centred @ s_inv @ centred.T
    b1d = float(np.sum(m ** 3) / n ** 2)
    b2d = float(np.sum(np.diag(m) ** 2) / n)
    skew_df = d * (d + 1) * (d + 2) // 6
    chi = n * b1d / 6.0
    expected = d * (d + 2)
    z = (b2d - expected) / math.sqrt(8.0 * d * (d + 2) / n)
    return {
        "n": int(n), "d": int(d),
        "skew_b1d": b1d, "skew_chi2": float(chi), "skew_df": int(skew_df),
        "skew_pvalue": float(stats.chi2.sf(chi, skew_df)),
        "kurt_b2d": b2d, "kurt_expected": int(expected), "kurt_z": float(z),
        "kurt_pvalue": float(2.0 * stats.norm.sf(abs(z))),
    }
