"""Item-level validity: cross-loadings and item variance inflation factors.

Cross-loadings
    The SmartPLS-style table reviewers of this field expect (Chin 1998;
    Hair et al. 2019, Eur. Bus. Rev. 31:2-24): the correlation of every item
    with every construct's score; an item should correlate more with its own
    construct than with any other. The score is the *unit-weighted
    composite*, the mean of the construct's items. Why this score, of three
    candidates:

    * model-implied item-construct correlations ``(Lambda Phi)_ik /
      (sd_i sd_k)`` of the CFA are ``lambda_i * phi_jk`` off the own
      construct: they restate the latent correlations and can never show a
      misplaced item;
    * regression (Thurstone) factor scores are weighted sums of *all* 25
      items, so every item enters every construct's score and its
      cross-loadings are inflated by construction;
    * the mean of a construct's items uses only its own items, as PLS's
      composites do (with Mode A weights that are nearly equal for items
      of similar loadings), so the table reads as SmartPLS's and is exactly
      reproducible (``cor(item, rowMeans(items of construct))`` in R).

    The own-construct entry includes the item in its composite (as in PLS),
    so it is larger than the item's loading; the criterion compares it with
    the largest cross-loading.

Item VIF
    ``VIF_i = 1 / (1 - R^2_i)`` with ``R^2_i`` of the regression of item i
    on the other items, computed as the diagonal of the inverse correlation
    matrix (``VIF_i = (R^{-1})_ii``; Belsley, Kuh & Welsch 1980), in two
    sets: within its construct's block (collinearity among a reflective
    block's indicators) and across all items (Kock & Lynn 2012, full
    collinearity). Hair et al. (2019) read VIF >= 5 as critical collinearity
    and values of 3-5 as possibly so.

Both use Pearson correlations of the item scores whatever the estimator (under
WLSMV too: they describe the answers as given), on the rows complete on every
item (``missing="listwise"``) or pairwise-complete rows (``missing="fiml"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xhs_sharing.analysis.measurement import _item_frame, _validate_spec
from xhs_sharing.errors import DataError, SpecError
from xhs_sharing.study.spec import MISSING_DEFAULT

__all__ = ["CROSS_LOADING_COLUMNS", "VIF_COLUMNS", "VIF_CRITICAL", "cross_loadings", "item_vif"]

CROSS_LOADING_COLUMNS: tuple[str, ...] = ("construct", "item", "own", "max_cross", "max_cross_construct",
                                          "own_highest")
"""Columns of :func:`cross_loadings` before the one column per construct."""

VIF_COLUMNS: tuple[str, ...] = ("construct", "item", "vif_block", "vif_all")
"""Columns of :func:`item_vif`."""

VIF_CRITICAL: float = 5.0
"""VIF at and above which collinearity is critical (Hair et al. 2019, p. 9)."""


def _frame(data: pd.DataFrame, spec: Mapping[str, Sequence[str]], missing: str) -> pd.DataFrame:
    if missing not in ("listwise", "fiml"):
        raise SpecError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    return _item_frame(data, spec, complete=missing == "listwise")


def cross_loadings(
    data: pd.DataFrame, items_by_construct: Mapping[str, Sequence[str]], *, missing: str = MISSING_DEFAULT,
) -> pd.DataFrame:
    """Correlation of every item with every construct's unit-weighted composite (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per item in spec order: ``construct`` (its own), ``item``,
        ``own`` (correlation with its own composite), ``max_cross`` (the
        largest correlation with another composite, by absolute value) and
        its ``max_cross_construct``, ``own_highest`` (``own > |max_cross|``),
        then one column per construct. With a single construct ``max_cross``
        is NaN and ``own_highest`` True.
    """
    spec = _validate_spec(items_by_construct)
    frame = _frame(data, spec, missing)
    scores = pd.DataFrame({c: frame[items].mean(axis=1, skipna=True) for c, items in spec.items()})
    rows = []
    for construct, items in spec.items():
        for item in items:
            r = {c: float(frame[item].corr(scores[c])) for c in spec}
            others = {c: v for c, v in r.items() if c != construct}
            top = max(others, key=lambda c: abs(others[c])) if others else None
            rows.append({
                "construct": construct, "item": item, "own": r[construct],
                "max_cross": others[top] if top else float("nan"), "max_cross_construct": top or "",
                "own_highest": bool(top is None or r[construct] > abs(others[top])), **r,
            })
    return pd.DataFrame(rows, columns=[*CROSS_LOADING_COLUMNS, *spec])


def _vif(corr: np.ndarray, names: Sequence[str], where: str) -> np.ndarray:
    """``diag(R^-1)`` of a correlation matrix; DataError naming ``where`` if it is singular."""
    if len(names) == 1:
        return np.ones(1)
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        raise DataError(f"the item correlation matrix of {where} is singular: an item is a linear "
                        f"combination of the others ({', '.join(names)})") from None
    vif = np.diag(inv).copy()
    if not np.all(np.isfinite(vif)) or np.any(vif < 1.0 - 1e-8):
        raise DataError(f"the item correlation matrix of {where} is not positive definite; VIF undefined")
    return vif


def item_vif(
    data: pd.DataFrame, items_by_construct: Mapping[str, Sequence[str]], *, missing: str = MISSING_DEFAULT,
) -> pd.DataFrame:
    """Variance inflation factor of every item, within its construct and across all items.

    ``VIF_i = (R^-1)_ii = 1 / (1 - R^2_i)`` (module docstring): ``vif_block``
    regresses the item on the other items of its construct (1.0 for a
    single-item construct), ``vif_all`` on every other item.

    Raises
    ------
    DataError
        A singular or indefinite correlation matrix (names the block).
    """
    spec = _validate_spec(items_by_construct)
    frame = _frame(data, spec, missing)
    corr = frame.corr(method="pearson")
    items = list(frame.columns)
    vif_all = dict(zip(items, _vif(corr.to_numpy(), items, "all items"), strict=True))
    rows = []
    for construct, its in spec.items():
        block = _vif(corr.loc[its, its].to_numpy(), its, f"construct {construct!r}")
        rows += [{"construct": construct, "item": i, "vif_block": float(v), "vif_all": float(vif_all[i])}
                 for i, v in zip(its, block, strict=True)]
    return pd.DataFrame(rows, columns=list(VIF_COLUMNS))
