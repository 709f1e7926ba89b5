"""The claims of the study spec with their verdicts (summary and claims sections).

``claims.json`` is checked against the study spec and against its own tally
before anything is shown: a report never counts claims of another spec.

The verdict *words* depend on the data (issue 17 point 1). Only observed
data can reproduce a claim; on a synthetic survey drawn from the spec's
population model a claim that comes out as stated is "consistent", and
"(by design)" when the population model makes it true
(:func:`xhs_sharing.study.population.holds_in_population`). ``claims.json``
keeps its machine tokens (``reproduced`` / ``not_reproduced``): they are the
outcome of the decision rule, whatever data it ran on, and strict mode and
the Monte Carlo study count them; the data kind is recorded once, in
``results/data/source.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xhs_sharing.report.format import DASH, _finite, claim_anchors, fmt_ci, fmt_num, fmt_p, fmt_p_eq, stars
from xhs_sharing.report.read import ReportError
from xhs_sharing.study.population import claim_population_value, holds_in_population
from xhs_sharing.study.spec import Study

EXPECTED_TEXT = {
    "positive_significant": "positive, significant",
    "negative_significant": "negative, significant",
    "not_significant": "not significant",
}
"""How the report writes a claim's expected result."""


def _bound_text(eq: Mapping[str, Any]) -> str:
    """``bounds \u00b10.10 (standardized)``; for a chain the derivation from the path bound, e.g.
    ``bounds \u00b10.039 (standardized: 0.10 \u00d7 |\u03b2| of CN->WSI, 0.388)``."""
    bound = fmt_num(eq.get("sesoi"), 2)
    links = str(eq.get("bound_links") or "").split()
    path = eq.get("sesoi_path")
    if not links or not _finite(path) or not float(path):
        return f"bounds \u00b1{bound} (standardized)"
    factor = float(eq["sesoi"]) / float(path)
    which = " and ".join(links)
    return (f"bounds \u00b1{fmt_num(eq.get('sesoi'), 3)} (standardized: the path bound {fmt_num(path, 2)} \u00d7 |\u03b2| "
            f"of {which}, {fmt_num(factor, 3)})")


def equivalence_view(eq: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Badge and detail (90% interval, bounds, TOST p) of the equivalence test of a claim of no effect.

    The test is on the standardized scale (\u03b2), unlike the claims table's 95% CI of B, and the detail
    says so; an indirect effect's bound is derived from the path bound (``sesoi_path``, ``bound_links``:
    :func:`xhs_sharing.analysis.mediation.chain_bound`).
    """
    if not eq:
        return None
    raw = str(eq.get("verdict", "")).strip().lower().replace("_", " ").replace("-", " ")
    cls = {"equivalent": "ok", "inconclusive": "warn", "not equivalent": "bad"}.get(raw, "neutral")
    detail = []
    if _finite(eq.get("ci90_low")) or _finite(eq.get("ci90_high")):
        what = "\u03b2" if eq.get("kind", "path") == "path" else "the standardized indirect effect"
        detail.append(f"90% CI of {what} {fmt_ci(eq.get('ci90_low'), eq.get('ci90_high'), 3)}")
    if _finite(eq.get("sesoi")):
        detail.append(_bound_text(eq))
    if _finite(eq.get("pvalue")):
        detail.append(f"TOST {fmt_p_eq(eq.get('pvalue'))}")
    return {"cls": cls, "text": raw or DASH, "detail": ", ".join(detail)}


def verdict_text(reproduced: bool, synthetic: bool = False, by_design: bool = False) -> str:
    """The verdict words of one claim: "reproduced" on observed data only (issue 17 point 1).

    On synthetic data a claim that comes out as stated is "consistent", with
    "(by design)" when the population model the survey was drawn from makes
    the claim true; one that does not is "not consistent".

    >>> verdict_text(True), verdict_text(False)
    ('✓ reproduced', '✗ not reproduced')
    >>> verdict_text(True, synthetic=True, by_design=True), verdict_text(False, synthetic=True)
    ('✓ consistent (by design)', '✗ not consistent')
    """
    if not synthetic:
        return "\u2713 reproduced" if reproduced else "\u2717 not reproduced"
    if not reproduced:
        return "\u2717 not consistent"
    return "\u2713 consistent (by design)" if by_design else "\u2713 consistent"


def summary_verdict(reproduced: bool, eq: Mapping[str, str] | None, words: str | None = None) -> dict[str, str]:
    """The badge of a claim in the summary list: its verdict, qualified by its equivalence test when that
    did not establish equivalence (a claim of no effect reproduced with an inconclusive test is no plain tick).

    ``words`` is the verdict's text (:func:`verdict_text`; observed-data words when not given).

    >>> summary_verdict(True, {"cls": "warn", "text": "inconclusive"})
    {'cls': 'warn', 'text': '✓ reproduced, equivalence inconclusive'}
    >>> summary_verdict(True, {"cls": "ok", "text": "equivalent"})["text"]
    '✓ reproduced'
    """
    words = words or verdict_text(reproduced)
    if not reproduced:
        return {"cls": "bad", "text": words}
    if eq is not None and eq.get("cls") != "ok":
        return {"cls": "warn", "text": f"{words}, equivalence {eq.get('text') or DASH}"}
    return {"cls": "ok", "text": words}


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


def _claim_row(c: Mapping[str, Any], anchor: str, eq_table: Mapping[str, Any], synthetic: bool = False,
               by_design: bool = False) -> dict[str, Any]:
    cid = str(c["id"])
    reproduced = c.get("verdict") == "reproduced"
    words = verdict_text(reproduced, synthetic, by_design)
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
        "verdict": {"cls": "ok" if reproduced else "bad", "text": words},
        "reason": c.get("reason", ""),
        "equivalence": eq,
        "summary_verdict": summary_verdict(reproduced, eq, words),
    }


def by_design(study: Study) -> dict[str, bool]:
    """Claim id -> whether the spec's population model makes the claim true (all False without population values)."""
    if not study.has_population:
        return {c.id: False for c in study.claims}
    return {c.id: holds_in_population(c.expected, claim_population_value(study, c)) for c in study.claims}


def tally_text(k: int, total: int, synthetic: bool, holding: int | None) -> str:
    """The tally of the header and the Summary, in the verdict words of the data (:func:`verdict_text`).

    ``holding`` is the number of claims the population model makes true (synthetic data only; None
    when the spec declares no population values).

    >>> tally_text(19, 19, False, 0)
    '19 of 19 claims reproduced'
    >>> tally_text(19, 19, True, 19)
    '19 of 19 claims consistent with the hypotheses (synthetic data, by design)'
    >>> tally_text(16, 19, True, 17)
    '16 of 19 claims consistent with the hypotheses (synthetic data from a population model in which 17 of the 19 hold)'
    >>> tally_text(2, 4, True, None)
    '2 of 4 claims consistent with the hypotheses (synthetic data)'
    """
    if not synthetic:
        return f"{k} of {total} claims reproduced"
    why = ("synthetic data" if holding is None else "synthetic data, by design" if holding == total else
           f"synthetic data from a population model in which {holding} of the {total} hold")
    return f"{k} of {total} claims consistent with the hypotheses ({why})"


def callout(k: int, total: int, synthetic: bool, holding: int | None) -> dict[str, str]:
    """The callout under the tally: what the tally means for these data (``cls``, ``id``, ``text``).

    On synthetic data it says at the top of the report what Limitations says at the end: agreement
    with claims the population model makes true is expected by construction.
    """
    missing = total - k
    word = "reproduced" if not synthetic else "consistent with the hypotheses"
    if not synthetic:
        if missing:
            return {"cls": "bad", "id": "summary-verdicts", "head": f"{missing} claim{'s' if missing != 1 else ''} "
                    f"not {word}", "text": "(listed first)."}
        return {"cls": "", "id": "summary-verdicts", "head": "", "text": "Every claim was reproduced."}
    made = ("a population model" if holding is None else "a population model in which every claim holds"
            if holding == total else f"a population model in which {holding} of the {total} claims hold")
    head = (f"{missing} claim{'s' if missing != 1 else ''} not {word}" if missing
            else "Every claim came out as hypothesised, by design." if holding == total
            else "Every claim came out as hypothesised.")
    return {"cls": "warn", "id": "synthetic-caveat", "head": head,
            "text": (("(listed first). " if missing else "")
                     + f"The survey is synthetic, drawn from {made}: agreement is expected by construction, up to "
                     "sampling error, and checks that the analysis recovers the pattern it was given, not that the "
                     "pattern is true. Only observed data can reproduce or contradict a claim, so this report says "
                     "\u201cconsistent\u201d where it would say \u201creproduced\u201d (see Limitations).")}


def equivalence_note(eq_table: Mapping[str, Mapping[str, Any]]) -> str:
    """The sentence on the equivalence bounds under the decision rule: their scale, and how a chain's is derived."""
    rows = list(eq_table.values())
    if not rows:
        return ""
    path_bounds = {float(r["sesoi_path"]) for r in rows if _finite(r.get("sesoi_path"))}
    path_bounds |= {float(r["sesoi"]) for r in rows if r.get("kind") == "path" and _finite(r.get("sesoi"))}
    bound = fmt_num(min(path_bounds), 2) if path_bounds else DASH
    text = (f"The equivalence bounds are on the standardized scale (\u03b2), not on the scale of B and its 95% CI: "
            f"\u00b1{bound} for a path (structural.sesoi).")
    if any(str(r.get("bound_links") or "").strip() for r in rows):
        text += (" For an indirect effect the bound is the path bound times the |\u03b2| of the chain's other links: "
                 "the largest indirect effect a negligible weakest link carries. The same bound on the product itself "
                 "would be far looser than on one path, and could call a chain negligible whose null link the path "
                 "test cannot.")
    return text


def claims_view(res: Mapping[str, Any], study: Study, synthetic: bool = False) -> dict[str, Any]:
    """Every claim's row (in the order of claims.json), the summary list (not reproduced first) and the tally.

    ``synthetic`` selects the verdict words (:func:`verdict_text`, :func:`tally_text`, :func:`callout`).

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
    design = by_design(study) if synthetic else {}
    rows = [_claim_row(c, anchors[str(c["id"])], eq_table, synthetic, design.get(str(c["id"]), False)) for c in items]
    summary = [r for r in rows if not r["reproduced"]] + [r for r in rows if r["reproduced"]]
    holding = sum(design.values()) if study.has_population else None
    return {"rows": rows, "summary": summary, "reproduced": k, "total": len(items),
            "not_reproduced": len(items) - k, "synthetic": synthetic, "equivalence_note": equivalence_note(eq_table),
            "tally": tally_text(k, len(items), synthetic, holding),
            "callout": callout(k, len(items), synthetic, holding)}
