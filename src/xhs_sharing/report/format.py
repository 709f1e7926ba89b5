"""Formatting of numbers and table cells the way an APA table prints them.

Every number of the report goes through these helpers: ``0.23`` with a true
minus sign, ``[0.12, 0.34]``, ``p = .023`` / ``p < .001``, ``\u2265 0.70``,
significance stars; a missing or non-finite value prints as an em dash, never
as ``nan``. The cell helpers (:func:`cell`, :func:`num`, :func:`col`,
:func:`status_badge`) build the plain dicts the ``table`` macro of
``templates/_macros.html.j2`` renders.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

MINUS = "\u2212"


DASH = "\u2014"


ARROW = " \u2192 "


COMPARISON = {">=": "\u2265", "ge": "\u2265", "<=": "\u2264", "le": "\u2264", ">": ">", "gt": ">", "<": "<", "lt": "<"}


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign (U+2212); an em dash when missing.

    >>> fmt_num(0.1234, 3), fmt_num(-0.0001), fmt_num(None)
    ('0.123', '0.00', '\u2014')
    """
    if not _finite(x):
        return DASH
    text = f"{float(x):.{digits}f}"
    if text.startswith("-"):
        text = text[1:] if float(text[1:]) == 0 else MINUS + text[1:]
    return text


def fmt_int(x: Any) -> str:
    """An integer with thousands separators; an em dash when missing."""
    if not _finite(x):
        return DASH
    return f"{int(round(float(x))):,}"


def fmt_p(p: Any) -> str:
    """A p value the APA way: ``< .001``, ``.023``, ``> .999`` (no leading zero).

    >>> fmt_p(0.0004), fmt_p(0.0234), fmt_p(0.5)
    ('< .001', '.023', '.500')
    """
    if not _finite(p):
        return DASH
    p = float(p)
    if p < 0.001:
        return "< .001"
    if p > 0.999:
        return "> .999"
    return f"{p:.3f}".lstrip("0")


def fmt_p_eq(p: Any) -> str:
    """``p = .023`` or ``p < .001`` (for running text)."""
    text = fmt_p(p)
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def fmt_ci(low: Any, high: Any, digits: int = 2) -> str:
    """An interval as ``[0.12, 0.34]``."""
    if not (_finite(low) or _finite(high)):
        return DASH
    return f"[{fmt_num(low, digits)}, {fmt_num(high, digits)}]"


def fmt_threshold(comparison: Any, threshold: Any, digits: int = 2) -> str:
    """``\u2265 0.70`` from a comparison and a threshold."""
    if not _finite(threshold):
        return DASH
    return f"{COMPARISON.get(str(comparison), str(comparison or ''))} {fmt_num(threshold, digits)}".strip()


def stars(p: Any) -> str:
    """Significance stars: ``*`` p < .05, ``**`` p < .01, ``***`` p < .001, else empty (also when p is missing)."""
    if not _finite(p):
        return ""
    p = float(p)
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return ""


def passes(value: Any, comparison: str, threshold: float) -> bool | None:
    """Whether ``value comparison threshold`` holds (None when the value is missing)."""
    if not _finite(value):
        return None
    v = float(value)
    op = COMPARISON.get(comparison, comparison)
    return {"\u2265": v >= threshold, "\u2264": v <= threshold, ">": v > threshold, "<": v < threshold}[op]


def claim_anchors(ids: Iterable[str]) -> dict[str, str]:
    """Claim id -> a unique HTML id ``claim-<slug>`` (``IS->SN->WSI`` -> ``claim-is-sn-wsi``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for cid in ids:
        slug = re.sub(r"[^a-z0-9]+", "-", str(cid).lower()).strip("-") or "x"
        anchor, k = f"claim-{slug}", 2
        while anchor in used:
            anchor, k = f"claim-{slug}-{k}", k + 1
        used.add(anchor)
        out[cid] = anchor
    return out


def arrow(*parts: str) -> str:
    """``IS \u2192 SN \u2192 WSI``."""
    return ARROW.join(str(p) for p in parts)


ASCII_ARROW = re.compile(r"\s*->\s*")
"""An ASCII arrow with the spaces around it, as spec authors type it (``PR, PA -> SN``)."""


def arrows(text: Any) -> str:
    """Visible text with every ASCII ``->`` written as the arrow sign, spaced: ``PR, PA \u2192 SN``.

    The report's convention: the arrow sign U+2192 in prose, headings, table labels and figures;
    ASCII ``->`` only in machine files (CSV, JSON, YAML, model syntax, shown verbatim in ``<pre>``)
    and in claim ids, which are names from the study spec quoted as written (in code font, so a
    reader can search ``study.yaml`` and ``claims.json`` for them).

    >>> arrows("IS, ES -> SN (-> WSI)"), arrows("a->b->c"), arrows(None)
    ('IS, ES \u2192 SN (\u2192 WSI)', 'a \u2192 b \u2192 c', '')
    """
    if text is None:
        return ""
    return ASCII_ARROW.sub(ARROW, str(text)).replace("( \u2192", "(\u2192")


def short_label(text: Any, limit: int = 90) -> str:
    """The first sentence of ``text``, cut at a word boundary to at most ``limit`` characters (with an
    ellipsis): an accessible name for a container whose full caption is read elsewhere.

    >>> short_label("Path diagram. Exogenous constructs on the left."), short_label("a b c d", 5)
    ('Path diagram', 'a b\u2026')
    """
    first = re.split(r"(?<=[^.\s]{2})\.\s", str(text or "").strip(), maxsplit=1)[0].rstrip(".")
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    return (cut if first[limit - 1] == " " else cut.rsplit(" ", 1)[0]).rstrip() + "\u2026"


def cell(text: Any, cls: str = "", **extra: Any) -> dict[str, Any]:
    """One table cell of the generic table macro."""
    return {"text": "" if text is None else str(text), "cls": cls, **extra}


def num(x: Any, digits: int = 2, cls: str = "num") -> dict[str, Any]:
    """A right-aligned number cell."""
    return cell(fmt_num(x, digits), cls)


def col(text: str, cls: str = "") -> dict[str, str]:
    """One column header of the generic table macro."""
    return {"text": text, "cls": cls}


STATUS = {
    "pass": ("ok", "\u2713 pass"),
    "fail": ("bad", "\u2717 fail"),
    "failed": ("bad", "\u2717 fail"),
    "warning": ("warn", "! warning"),
}


def status_badge(status: str | None) -> dict[str, str]:
    """Badge (css class, text) for a check status; colour and text both carry it."""
    cls, text = STATUS.get(str(status), ("neutral", str(status) if status else DASH))
    return {"cls": cls, "text": text}
