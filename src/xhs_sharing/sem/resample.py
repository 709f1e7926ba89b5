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
  Williams 2004): :func:`monte_carlo_interval` draws ``theta* = theta_hat +
  L z`` with ``L L' = acov`` and ``z`` standard normal, evaluates a function
  of the draws and returns its percentile interval (Hyndman & Fan 1996
  type 7 quantiles).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from xhs_sharing.errors import DataError

log = logging.getLogger(__name__)

__all__ = [
    "bootstrap_counts",
    "counts_from_indices",
    "monte_carlo_interval",
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


def monte_carlo_interval(
    center: np.ndarray,
    chol: np.ndarray,
    rng: np.random.Generator,
    n_draws: int,
    func: Callable[[np.ndarray], np.ndarray],
    probs: Sequence[float] = (0.025, 0.975),
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``func`` over normal draws around ``center``.

    ``z`` is ``(n_draws, k)`` standard normal from ``rng``; the draws are the
    columns of ``theta* = L z' + center`` (``(k, n_draws)``, ``L = chol``,
    lower triangular with ``L L'`` the covariance); ``func`` maps them to
    ``(T, n_draws)`` values, and the result is their quantiles ``probs``
    along the draws (type 7), each of shape ``(T,)``.
    """
    z = rng.standard_normal((int(n_draws), center.shape[0]))
    draws = chol @ z.T
    draws += center[:, None]
    lo, hi = np.quantile(func(draws), list(probs), axis=1)
    return lo, hi
