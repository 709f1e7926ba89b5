"""The limitations section: for every claim, what the data would have to show to contradict it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xhs_sharing.study.spec import Study


def _path_condition(study: Study, claim: Any) -> str:
    """What contradicts a path claim; for a direct path to the final outcome, also the mediated alternative."""
    final = [c for c in study.endogenous if not any(p.source == c for p in study.paths)]
    x, y = claim.path
    if claim.expected == "not_significant":
        return f"a significant {x}\u2192{y} path (its 95% interval excluding zero)"
    word = "negative" if claim.expected == "positive_significant" else "positive"
    cond = f"a non-significant {x}\u2192{y} path (its 95% interval including zero), or a {word} one"
    feeds = [p.source for p in study.paths if p.target == y]
    mediators = [m for m in feeds if m in study.endogenous and m != x]
    if x in study.exogenous and y in final and mediators:
        cond += (f"; for example {x} acting on {y} only through {', '.join(mediators)}, "
                 f"which this model would show as a non-significant direct path")
    return cond


def _chain_condition(claim: Any) -> str:
    """What contradicts a claim about a mediated effect x -> m -> y."""
    x, m, y = claim.path
    if claim.expected == "not_significant":
        return f"a significant {m} mediation of {x} ({x}\u2192{m}\u2192{y} interval excluding zero)"
    return (f"no significant {m} mediation of {x} ({x}\u2192{m}\u2192{y} interval including zero), "
            f"e.g. a non-significant {x}\u2192{m} or {m}\u2192{y} path")


def limitations(study: Study, claims: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each claim row (of :func:`xhs_sharing.report.sections.claims.claims_view`): what would contradict it."""
    spec = {c.id: c for c in study.claims}
    out = []
    for row in claims:
        claim = spec[row["id"]]
        cond = _path_condition(study, claim) if claim.kind == "path" else _chain_condition(claim)
        out.append({"id": row["id"], "anchor": row["anchor"], "statement": claim.statement, "condition": cond,
                    "null": claim.expected == "not_significant"})
    return out


def limitations_view(study: Study, claims: Sequence[Mapping[str, Any]], data: Mapping[str, Any]) -> dict[str, Any]:
    """The claims split into findings of no effect and findings of an effect; ``synthetic`` for the warning."""
    rows = limitations(study, claims)
    return {"synthetic": not data["observed"],
            "null": [r for r in rows if r["null"]],
            "effect": [r for r in rows if not r["null"]]}
