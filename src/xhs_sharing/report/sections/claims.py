"""The claims of the study spec with their verdicts (summary and claims sections).

``claims.json`` is checked against the study spec and against its own tally
before anything is shown: a report never counts claims of another spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xhs_sharing.report.format import DASH, _finite, claim_anchors, fmt_ci, fmt_num, fmt_p, fmt_p_eq, stars
from xhs_sharing.report.read import ReportError
from xhs_sharing.study.spec import Study

EXPECTED_TEXT = {
    "positive_significant": "positive, significant",
    "negative_significant": "negative, significant",
    "not_significant": "not significant",
}
"""How the report writes a claim's expected result."""


def equivalence_view(eq: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Badge and detail (90% interval, bounds, TOST p) of the equivalence test of a claim of no effect."""
    if not eq:
        return None
    raw = str(eq.get("verdict", "")).strip().lower().replace("_", " ").replace("-", " ")
    cls = {"equivalent": "ok", "inconclusive": "warn", "not equivalent": "bad"}.get(raw, "neutral")
    detail = []
    if _finite(eq.get("ci90_low")) or _finite(eq.get("ci90_high")):
        detail.append(f"90% CI {fmt_ci(eq.get('ci90_low'), eq.get('ci90_high'), 3)}")
    if _finite(eq.get("sesoi")):
        detail.append(f"bounds \u00b1{fmt_num(eq.get('sesoi'), 2)}")
    if _finite(eq.get("pvalue")):
        detail.append(f"TOST {fmt_p_eq(eq.get('pvalue'))}")
    return {"cls": cls, "text": raw or DASH, "detail": ", ".join(detail)}


def summary_verdict(reproduced: bool, eq: Mapping[str, str] | None) -> dict[str, str]:
    """The badge of a claim in the summary list: its verdict, qualified by its equivalence test when that
    did not establish equivalence (a claim of no effect reproduced with an inconclusive test is no plain tick).

    >>> summary_verdict(True, {"cls": "warn", "text": "inconclusive"})
    {'cls': 'warn', 'text': '✓ reproduced, equivalence inconclusive'}
    >>> summary_verdict(True, {"cls": "ok", "text": "equivalent"})["text"]
    '✓ reproduced'
    """
    if not reproduced:
        return {"cls": "bad", "text": "\u2717 not reproduced"}
    if eq is not None and eq.get("cls") != "ok":
        return {"cls": "warn", "text": f"\u2713 reproduced, equivalence {eq.get('text') or DASH}"}
    return {"cls": "ok", "text": "\u2713 reproduced"}


def _check_claims(doc: Mapping[str, Any], study: Study) -> int:
    """Number of claims reproduced; raises when claims.json and the spec (or its own tally) disagree."""
    items = list(doc["claims"])
    ids = [str(c["id"]) for c in items]
    spec_ids = [c.id for c in study.claims]
    if sorted(ids) != sorted(spec_ids):
        missing = sorted(set(spec_ids) - set(ids))
        extra = sorted(set(ids) - set(spec_ids))
        raise ReportError(f"claims.json does not match the study spec (missing {missing}, not in the spec {extra}): "
                          "the claims stage ran on another spec; rerun it")
    k = sum(1 for c in items if c.get("verdict") == "reproduced")
    if k != doc.get("reproduced") or len(items) != doc.get("total"):
        raise ReportError(f"claims.json tally ({doc.get('reproduced')} of {doc.get('total')}) disagrees with its verdicts ({k} of {len(items)})")
    return k


def _claim_row(c: Mapping[str, Any], anchor: str, eq_table: Mapping[str, Any]) -> dict[str, Any]:
    cid = str(c["id"])
    reproduced = c.get("verdict") == "reproduced"
    eq = None
    if c.get("expected") == "not_significant":
        eq = equivalence_view(c.get("equivalence") or eq_table.get(cid))
    path = c.get("kind") == "path"
    return {
        "id": cid,
        "anchor": anchor,
        "statement": c.get("statement", ""),
        "section": c.get("section", ""),
        "kind": c.get("kind", ""),
        "expected": EXPECTED_TEXT.get(str(c.get("expected")), str(c.get("expected"))),
        "null": c.get("expected") == "not_significant",
        "b": fmt_num(c.get("estimate"), 3),
        "beta": fmt_num(c.get("std_estimate"), 3),
        "ci": fmt_ci(c.get("ci_low"), c.get("ci_high"), 3),
        "interval": {"wald": "Wald"}.get(str(c.get("interval", "")), str(c.get("interval", ""))),
        "p": fmt_p(c.get("pvalue")) if path else DASH,
        "stars": stars(c.get("pvalue")) if path else "",
        "reproduced": reproduced,
        "verdict": {"cls": "ok" if reproduced else "bad", "text": "\u2713 reproduced" if reproduced else "\u2717 not reproduced"},
        "reason": c.get("reason", ""),
        "equivalence": eq,
        "summary_verdict": summary_verdict(reproduced, eq),
    }


def claims_view(res: Mapping[str, Any], study: Study) -> dict[str, Any]:
    """Every claim's row (in the order of claims.json), the summary list (not reproduced first) and the tally.

    Raises
    ------
    ReportError
        claims.json names other claims than the spec, or its tally disagrees with its verdicts.
    """
    doc = res["claims"]
    k = _check_claims(doc, study)
    items = list(doc["claims"])
    eq_table = {str(r.id): r._asdict() for r in res["equivalence"].itertuples(index=False)}
    anchors = claim_anchors([str(c["id"]) for c in items])
    rows = [_claim_row(c, anchors[str(c["id"])], eq_table) for c in items]
    summary = [r for r in rows if not r["reproduced"]] + [r for r in rows if r["reproduced"]]
    return {"rows": rows, "summary": summary, "reproduced": k, "total": len(items),
            "not_reproduced": len(items) - k,
            "tally": f"{k} of {len(items)} claims reproduced"}
