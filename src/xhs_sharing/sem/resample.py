"""Resampling: bootstrap resamples as counts, their covariances, Monte Carlo draws.

* Nonparametric bootstrap (Efron & Tibshirani 1993, ch. 6): resample ``b``
  draws ``N`` rows with replacement; :func:`bootstrap_counts` gives how
  often each row is drawn (multinomial counts) and
  :func:`counts_from_indices` turns drawn row indices into counts.
  :func:`resample_covariances` computes the ``N``-divisor covariance of
  every resample at once from the counts, two matrix products in all::

      S_b = sum_i c_bi x_i x_i' / n_b - xbar_b xbar_b',     xbar_b = sum_i c_bi x_i / n_b,

  (on data centred at the full-sample mean), so a batch of resamples never
  materialises its ``B x N x p`` rows.
* Monte Carlo intervals (Selig & Preacher 2008; MacKinnon, Lockwood &
  Williams 2004): :func:`normal_draws` draws ``theta* ~ N(theta_hat, acov)``
  through the symmetric eigendecomposition of ``acov`` (robust to a
  semi-definite ``acov``); :func:`percentile_interval` gives the percentile
  interval of draws (Hyndman & Fan 1996 type 7 quantiles); and
  :func:`monte_carlo_interval` chains them for a function of the draws. The
  main analysis (:mod:`xhs_sharing.analysis.mediation`) and the Monte Carlo
  study (:mod:`xhs_sharing.analysis.montecarlo`) both use these three.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from xhs_sharing.errors import DataError, EstimationError, SpecError

log = logging.getLogger(__name__)

__all__ = [
    "bootstrap_counts",
    "counts_from_indices",
    "monte_carlo_interval",
    "normal_draws",
    "percentile_interval",
    "resample_covariances",
]


def bootstrap_counts(n_obs: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial resampling counts, ``(n_resamples, n_obs)`` int64.

    Row ``b`` says how often each of the ``n_obs`` rows is drawn in resample
    ``b``; each row sums to ``n_obs`` (an ordinary nonparametric bootstrap).
    """
    if n_obs < 1 or n_resamples < 0:
        raise DataError(f"bootstrap_counts needs n_obs >= 1 and n_resamples >= 0, got {n_obs}, {n_resamples}")
    return rng.multinomial(n_obs, np.full(n_obs, 1.0 / n_obs), size=n_resamples).astype(np.int64)


def resample_covariances(data: np.ndarray, counts: np.ndarray, ddof: int = 0) -> np.ndarray:
    """Covariance matrices of all resamples at once, ``(B, p, p)``.

    ``data`` is ``(N, p)``; ``counts`` is ``(B, N)`` (how often each row
    enters each resample; non-negative weights are accepted too). Resample
    ``b`` has ``n_b = counts[b].sum()`` rows and covariance
    ``sum_i c_bi (x_i - xbar_b)(x_i - xbar_b)' / (n_b - ddof)``; ``ddof=0``
    (the default) is the N divisor semopy's ML objective uses.

    The weighted first and second moments are two matrix products with the
    counts (of the data centred at its full-sample mean, which leaves every
    covariance unchanged and keeps the subtraction well conditioned).
    """
    x = np.asarray(data, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2:
        raise DataError(f"data must be a 2-D (N, p) array, got shape {x.shape}")
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != x.shape[0]:
        raise DataError(f"counts must be (B, N) with N = {x.shape[0]}, got shape {c.shape}")
    if not np.all(np.isfinite(x)):
        raise DataError("data contain missing or non-finite values")
    if np.any(c < 0):
        raise DataError("counts must be non-negative")
    n_b = c.sum(axis=1)
    if np.any(n_b - ddof <= 0):
        raise DataError(f"every resample needs more than ddof={ddof} rows")
    p = x.shape[1]
    xc = x - x.mean(axis=0)
    iu, ju = np.triu_indices(p)
    prods = xc[:, iu] * xc[:, ju]  # (N, p(p+1)/2)
    mean = (c @ xc) / n_b[:, None]  # (B, p)
    second = (c @ prods) / n_b[:, None]  # (B, p(p+1)/2)
    vech = (second - mean[:, iu] * mean[:, ju]) * (n_b / (n_b - ddof))[:, None]
    out = np.empty((c.shape[0], p, p))
    out[:, iu, ju] = vech
    out[:, ju, iu] = vech
    return out


def counts_from_indices(indices: np.ndarray, n_obs: int) -> np.ndarray:
    """Multinomial counts (B, N) of resamples given as row indices (B, N), in one ``bincount``."""
    b = indices.shape[0]
    flat = (indices + (np.arange(b)[:, None] * n_obs)).ravel()
    return np.bincount(flat, minlength=b * n_obs).reshape(b, n_obs).astype(float)


def normal_draws(mean: np.ndarray, cov: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_draws, k)`` draws from ``N(mean, cov)`` by the eigendecomposition of ``cov``.

    Raises
    ------
    SpecError
        Shape mismatch, a non-symmetric ``cov`` or ``n_draws < 1``.
    EstimationError
        ``cov`` has a clearly negative eigenvalue (below ``-1e-8`` times the largest).
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    k = mean.shape[0]
    if mean.ndim != 1 or cov.shape != (k, k):
        raise SpecError(f"the covariance must be {k}x{k} for {k} parameters, got {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=1e-12):
        raise SpecError("the covariance of the Monte Carlo draws is not symmetric")
    if int(n_draws) < 1:
        raise SpecError(f"n_draws must be a positive integer, got {n_draws}")
    eig = np.linalg.eigvalsh(cov)
    if eig.min() < -1e-8 * max(eig.max(), 1e-300):
        raise EstimationError("the covariance of the Monte Carlo draws is not positive semi-definite")
    return rng.multivariate_normal(mean, cov, size=int(n_draws), method="eigh")


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``draws`` along axis 0 (NaN draws ignored).

    Quantiles ``(1 - level)/2`` and ``(1 + level)/2`` with linear
    interpolation (Hyndman & Fan 1996 type 7).
    """
    if not 0.0 < level < 1.0:
        raise SpecError(f"level must be in (0, 1), got {level}")
    draws = np.asarray(draws, dtype=float)
    if draws.shape[0] == 0:
        raise EstimationError("no draws to form an interval from")
    lo, hi = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lo, hi


def monte_carlo_interval(
    center: np.ndarray,
    cov: np.ndarray,
    rng: np.random.Generator,
    n_draws: int,
    func: Callable[[np.ndarray], np.ndarray],
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``func`` over ``n_draws`` normal draws around ``center``.

    ``func`` maps the ``(n_draws, k)`` draws of :func:`normal_draws` to
    ``(n_draws, T)`` values; the result is their :func:`percentile_interval`,
    two arrays of shape ``(T,)``.
    """
    return percentile_interval(func(normal_draws(center, cov, n_draws, rng)), level)
