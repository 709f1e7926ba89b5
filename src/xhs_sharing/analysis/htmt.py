"""HTMT and HTMT2 of item correlation matrices, batched, with percentile-bootstrap intervals.

Two ratios of the heterotrait-heteromethod to the monotrait-heteromethod
correlations, both on absolute item correlations (semTools' default):

* HTMT (Henseler, Ringle & Sarstedt 2015, eq. 6), arithmetic means::

      HTMT_ij = mean(|r_ij|) / sqrt(mean(|r_ii|) mean(|r_jj|))

* HTMT2 (Roemer, Schuberth & Henseler 2021, Ind. Manag. Data Syst. 121:
  2637-2650), geometric means, consistent for congeneric (unequal)
  loadings where HTMT is consistent only for tau-equivalent ones::

      HTMT2_ij = gmean(|r_ij|) / sqrt(gmean(|r_ii|) gmean(|r_jj|)),   gmean(x) = exp(mean(log x))

  where ``r_ij`` runs over every pair of an item of construct i with an item
  of construct j and ``r_ii`` over the distinct pairs of items of i. This is
  ``semTools::htmt(htmt2 = TRUE)``, its default since 0.5-6; ``htmt2 =
  FALSE`` gives the original HTMT.

:func:`htmt_batch` computes either ratio for one correlation matrix or a
stack ``(B, p, p)`` at once, so the bootstrap of :func:`htmt_bootstrap` is a
few matrix products: the resamples are those of the structural bootstrap
(same seed, chunk size and streams: resample ``j`` of chunk ``k`` is row
``j`` of :func:`~xhs_sharing.sem.bootstrap.chunk_indices` on child ``k`` of
``SeedSequence(seed).spawn(n_chunks)``), their covariance matrices come from
:func:`~xhs_sharing.sem.resample.resample_covariances` and the intervals from
:func:`~xhs_sharing.sem.resample.percentile_interval`. HTMT is a function of
the item correlation matrix only, so no model is refitted.

The interval answers the question of Henseler et al. (2015, p. 121) and
Franke & Sarstedt (2019): discriminant validity is supported for a pair when
the upper bound of the interval lies below the cut-off (.85 or .90).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xhs_sharing.analysis.measurement import _item_frame, _validate_spec
from xhs_sharing.errors import DataError, SpecError
from xhs_sharing.sem.bootstrap import chunk_indices, chunk_sizes
from xhs_sharing.sem.resample import counts_from_indices, percentile_interval, resample_covariances
from xhs_sharing.sem.standardize import cov_to_cor

__all__ = ["HTMT_VARIANTS", "htmt2_from_corr", "htmt_batch", "htmt_bootstrap", "htmt_long_table"]

HTMT_VARIANTS: tuple[str, ...] = ("htmt", "htmt2")
"""The two ratios: arithmetic means (Henseler et al. 2015) and geometric means (Roemer et al. 2021)."""

BOOT_COLUMNS: tuple[str, ...] = (
    "construct_a", "construct_b", "htmt", "htmt_ci_low", "htmt_ci_high", "htmt2", "htmt2_ci_low",
    "htmt2_ci_high", "n_boot", "method",
)
"""Columns of :func:`htmt_long_table` (``results/measurement/htmt_intervals.csv``)."""


def htmt_batch(corr: np.ndarray, blocks: Sequence[Sequence[int]], *, variant: str = "htmt") -> np.ndarray:
    """HTMT (``variant="htmt"``) or HTMT2 (``"htmt2"``) of one correlation matrix or a stack.

    The block sums are ``E' A E`` with ``E`` the ``(p, k)`` indicator of
    the blocks and ``A = |R|`` (HTMT) or ``log |R|`` (HTMT2), its diagonal
    set to 0; the heterotrait mean of constructs a and b is ``S_ab / (n_a
    n_b)``, the monotrait mean of a ``S_aa / (n_a (n_a - 1))`` (the
    distinct pairs), exponentiated for HTMT2. Two matrix products per
    stack, whatever its size.

    Parameters
    ----------
    corr : np.ndarray, shape (..., p, p)
        Item correlation matrices; absolute values are taken.
    blocks : sequence of index sequences
        The item positions of each construct, in construct order.
    variant : {"htmt", "htmt2"}

    Returns
    -------
    np.ndarray, shape (..., k, k)
        Symmetric with a unit diagonal; NaN where a construct has one item
        (its monotrait mean is undefined) or a correlation is not finite.
    """
    if variant not in HTMT_VARIANTS:
        raise SpecError(f"variant must be one of {HTMT_VARIANTS}, got {variant!r}")
    r = np.abs(np.asarray(corr, dtype=float))
    p, k = r.shape[-1], len(blocks)
    if variant == "htmt2":
        with np.errstate(divide="ignore"):
            r = np.log(r)
    diag = np.arange(p)
    r = r.copy()
    r[..., diag, diag] = 0.0
    e = np.zeros((p, k))
    for c, b in enumerate(blocks):
        e[list(b), c] = 1.0
    with np.errstate(invalid="ignore"):  # a resample with a constant item has NaN correlations
        sums = e.T @ r @ e
    n = e.sum(axis=0)
    pairs = np.outer(n, n) - np.diag(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(pairs > 0, sums / np.where(pairs > 0, pairs, 1.0), np.nan)
    if variant == "htmt2":
        means = np.exp(means)
    mono = np.diagonal(means, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore"):
        out = means / np.sqrt(mono[..., :, None] * mono[..., None, :])
    out[..., np.arange(k), np.arange(k)] = 1.0
    return out


def _blocks(spec: Mapping[str, Sequence[str]], columns: Sequence[str]) -> list[list[int]]:
    pos = {c: n for n, c in enumerate(columns)}
    return [[pos[i] for i in items] for items in spec.values()]


def htmt2_from_corr(corr: pd.DataFrame, items_by_construct: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """HTMT2 matrix (Roemer et al. 2021) of a labelled item correlation matrix.

    ``semTools::htmt(htmt2 = TRUE)``: geometric means of absolute
    correlations (module docstring). Diagonal 1.0 (the report leaves it
    blank); NaN for a single-item construct.
    """
    spec = _validate_spec(items_by_construct)
    items = [i for its in spec.values() for i in its]
    missing = [i for i in items if i not in corr.index or i not in corr.columns]
    if missing:
        raise DataError(f"item(s) {missing} are not in the correlation matrix")
    r = corr.loc[items, items].to_numpy(dtype=float)
    if not np.all(np.isfinite(r)):
        raise DataError("the item correlation matrix has non-finite entries")
    out = htmt_batch(r, _blocks(spec, items), variant="htmt2")
    return pd.DataFrame(out, index=list(spec), columns=list(spec))


def htmt_bootstrap(
    data: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    *,
    n_boot: int,
    seed: int,
    chunk_size: int,
    level: float = 0.95,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile-bootstrap intervals of HTMT and HTMT2 on the structural bootstrap's resamples.

    Resamples as :func:`xhs_sharing.sem.bootstrap.bootstrap_refits` draws
    them for ``(n_boot, seed, chunk_size)`` (module docstring), so the same
    respondents enter resample ``b`` here and in the structural bootstrap.
    Each resample's covariance matrix
    (:func:`~xhs_sharing.sem.resample.resample_covariances`), its
    correlation matrix, both ratios (:func:`htmt_batch`), and the
    ``level`` percentile interval over the resamples (NaN ratios, from a
    resample with a constant item, ignored).

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents x items, complete on every item of ``items_by_construct``.

    Returns
    -------
    dict
        ``{"htmt": (low, high), "htmt2": (low, high)}``, each a ``(k, k)`` array.

    Raises
    ------
    DataError
        Missing answers (the resample covariances need complete rows).
    """
    spec = _validate_spec(items_by_construct)
    frame = _item_frame(data, spec, complete=False)
    if frame.isna().to_numpy().any():
        raise DataError("the HTMT bootstrap needs complete rows; the data have missing answers")
    if int(n_boot) < 1 or int(chunk_size) < 1:
        raise SpecError(f"n_boot and chunk_size must be >= 1, got {n_boot}, {chunk_size}")
    x = frame.to_numpy(dtype=float)
    blocks = _blocks(spec, list(frame.columns))
    sizes = chunk_sizes(int(n_boot), int(chunk_size))
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    draws: dict[str, list[np.ndarray]] = {v: [] for v in HTMT_VARIANTS}
    for stream, size in zip(streams, sizes, strict=True):
        counts = counts_from_indices(chunk_indices(stream, size, x.shape[0]), x.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov_to_cor(resample_covariances(x, counts))
        for v in HTMT_VARIANTS:
            draws[v].append(htmt_batch(corr, blocks, variant=v))
    with warnings.catch_warnings():  # a single-item construct's ratios are NaN in every resample: NaN bounds
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        return {v: percentile_interval(np.concatenate(draws[v]), level) for v in HTMT_VARIANTS}


def htmt_long_table(
    htmt: pd.DataFrame,
    htmt2: pd.DataFrame,
    intervals: Mapping[str, tuple[np.ndarray, np.ndarray]] | None,
    *,
    n_boot: int,
    method: str,
) -> pd.DataFrame:
    """One row per pair of constructs (upper triangle): both ratios and their intervals.

    ``intervals`` from :func:`htmt_bootstrap`, or None (no bootstrap: the
    interval columns are NaN, ``n_boot`` 0); ``method`` says how the
    intervals were made, or why there are none.
    """
    names = list(htmt.index)
    rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            row: dict[str, object] = {"construct_a": names[a], "construct_b": names[b]}
            for v, mat in (("htmt", htmt), ("htmt2", htmt2)):
                row[v] = float(mat.iloc[a, b])
                lo, hi = intervals[v] if intervals is not None else (None, None)
                row[f"{v}_ci_low"] = float(lo[a, b]) if lo is not None else float("nan")
                row[f"{v}_ci_high"] = float(hi[a, b]) if hi is not None else float("nan")
            row["n_boot"] = int(n_boot) if intervals is not None else 0
            row["method"] = method
            rows.append(row)
    return pd.DataFrame(rows, columns=list(BOOT_COLUMNS))
