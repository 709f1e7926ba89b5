"""Items flagged reverse-coded that the user has already recoded.

The package recodes every item the codebook flags ``reverse_coded`` as
``K + 1 - x``. When the survey file holds such an item already recoded, the
package turns it round a second time: after recoding it correlates
*negatively* with the other items of its construct (alpha and its loading
turn negative, and the measurement checks fail). Detected in the data stage
from the corrected item-total correlation (the item against the mean of the
construct's other items, as in the CITC of item analysis), and reported as a
warning, not an error: a reverse-worded item can also be misunderstood by
respondents, which the user has to judge.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)


def _fmt_r(r: float) -> str:
    """A correlation as APA writes it, without the leading zero: ``-.45``.

    >>> _fmt_r(-0.4512), _fmt_r(0.3)
    ('-.45', '.30')
    """
    return f"{r:.2f}".replace("0.", ".", 1)


def rest_correlation(items: pd.DataFrame, item: str, others: list[str]) -> float:
    """Correlation of ``item`` with the row mean of ``others`` (pairwise complete; NaN when undefined).

    The corrected item-total correlation: the item is not part of the total
    it is correlated with. Rows missing the item, or every other item, are left out.
    """
    rest = items[others].mean(axis=1, skipna=True)
    pair = pd.DataFrame({"item": items[item], "rest": rest}).dropna()
    if len(pair) < 3 or pair["item"].std() == 0 or pair["rest"].std() == 0:
        return float("nan")
    return float(pair["item"].corr(pair["rest"]))


def already_reversed(items: pd.DataFrame, book: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """Reverse-coded items that correlate negatively with the other items of their construct, after recoding.

    Parameters
    ----------
    items : DataFrame
        The analysis table: one column per item, reverse-coded items already recoded.
    book : mapping
        The codebook (``items``: ``id``, ``construct``, ``reverse_coded``).

    Returns
    -------
    dict
        Item id -> (construct, rest correlation), for every flagged item whose
        rest correlation is below 0; in codebook order.
    """
    by_construct: dict[str, list[str]] = {}
    for it in book["items"]:
        by_construct.setdefault(str(it.get("construct")), []).append(it["id"])
    out: dict[str, tuple[str, float]] = {}
    for it in book["items"]:
        construct = str(it.get("construct"))
        others = [i for i in by_construct[construct] if i != it["id"]]
        if not it.get("reverse_coded") or not others:
            continue
        r = rest_correlation(items, it["id"], others)
        if r < 0:
            out[it["id"]] = (construct, r)
    return out


def already_reversed_warnings(items: pd.DataFrame, book: Mapping[str, Any], source: str) -> list[str]:
    """One warning per item of :func:`already_reversed`, logged; e.g.

    ``"survey.csv: es3 looks already reverse-coded (its correlation with the other ES items is -.45 after
    recoding) ..."``.
    """
    warnings = []
    for item, (construct, r) in already_reversed(items, book).items():
        warnings.append(
            f"{source}: {item} looks already reverse-coded (its correlation with the other {construct} items is "
            f"{_fmt_r(r)} after recoding): the package recodes the items flagged reverse in the study spec as "
            f"K + 1 - x, so either store {item} as answered or set reverse: false for it in the study spec")
        log.warning("%s", warnings[-1])
    return warnings
