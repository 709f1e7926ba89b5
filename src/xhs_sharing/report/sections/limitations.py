"""The limitations section: for every claim, what the data would have to show to contradict it.

Every sentence about the study's source follows from the spec's ``source``
block (:class:`xhs_sharing.study.spec.Source`), and the warning on synthetic
data says, from the population values, in how many claims the population
model agrees with the claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from xhs_sharing.study.population import claim_population_value, holds_in_population
from xhs_sharing.study.spec import Study

SPEC_NAME = "the study specification"


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
    """What contradicts a claim about a mediated effect along ``x -> m1 -> ... -> y`` (one or more mediators)."""
    x, *mediators, y = claim.path
    chain = "\u2192".join(claim.path)
    via = "\u2192".join(mediators)
    links = [f"{a}\u2192{b}" for a, b in zip(claim.path[:-1], claim.path[1:], strict=True)]
    if claim.expected == "not_significant":
        return f"a significant {via} mediation of {x} ({chain} interval excluding zero)"
    return (f"no significant {via} mediation of {x} ({chain} interval including zero), "
            f"e.g. a non-significant {', '.join(links[:-1])} or {links[-1]} path")


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


def synthetic_warning(study: Study) -> str:
    """Why synthetic data cannot confirm the claims, from the population values of the claims.

    When every claim holds in the population model (a claim of an effect has
    a non-zero population value of its sign, a claim of no effect exactly 0:
    :func:`xhs_sharing.study.population.holds_in_population`), reproducing
    them is expected by construction; otherwise the sentence names the claims
    the population model contradicts.
    """
    where = (f"among {study.source.respondents}" if study.source is not None and study.source.respondents
             else "in the population the study is about")
    if not study.has_population:
        return f"The survey analysed here is synthetic: it cannot show whether the pattern holds {where}."
    against = [c.id for c in study.claims if not holds_in_population(c.expected, claim_population_value(study, c))]
    if not against:
        return ("The survey analysed here was drawn from the population model of the study specification, in which "
                "every claim holds (its claims of an effect have non-zero population values of the claimed sign, its "
                "claims of no effect exactly zero). Reproducing the claims is therefore expected by construction, up "
                "to sampling error: it shows that the pipeline recovers the pattern it was given, not that the "
                f"pattern holds {where}.")
    return ("The survey analysed here was drawn from the population model of the study specification, in which "
            f"{len(study.claims) - len(against)} of the {len(study.claims)} claims hold; the population values "
            f"contradict {', '.join(against)}. The verdicts show what the pipeline recovers from the pattern it was "
            f"given, not whether the pattern holds {where}.")


def _source_sentences(study: Study) -> dict[str, Any]:
    """The sentences that depend on what the source publishes (``source`` block of the spec)."""
    src = study.source
    name = src.name if src is not None else SPEC_NAME
    no_estimates = src is not None and not src.publishes_estimates
    observed = ("These results come from observed data. Agreement in sign and significance is a weak test"
                + (f", because {name} publishes no estimates to compare with," if no_estimates else ",")
                + " and a cross-sectional survey cannot establish the causal direction of any path.")
    pattern = (f"{name.capitalize()} reports only which links are significant, so observed data contradict it "
               "through the pattern of significance." if no_estimates else
               f"The claims of {name} state the sign and significance of effects, so data contradict them "
               "through the pattern of significance.")
    return {"title": f"Synthetic data cannot confirm {name if src is not None else 'the claims'}.",
            "observed_text": observed, "pattern": pattern,
            "sample_size_unreported": f"which {name} does not report"
            if src is not None and not src.reports_sample_size else "",
            "instrument": src.instrument if src is not None else ""}


def limitations_view(study: Study, claims: Sequence[Mapping[str, Any]], data: Mapping[str, Any]) -> dict[str, Any]:
    """The claims split into findings of no effect and findings of an effect, and the section's sentences.

    ``synthetic`` selects the warning (``title``, ``synthetic_text``) or the
    note on observed data (``observed_text``); ``pattern`` introduces the
    lists; ``sample_size_unreported`` and ``instrument`` are empty unless the
    spec's ``source`` block says they apply.
    """
    rows = limitations(study, claims)
    synthetic = not data["observed"]
    return {"synthetic": synthetic,
            "synthetic_text": synthetic_warning(study) if synthetic else "",
            **_source_sentences(study),
            "null": [r for r in rows if r["null"]],
            "effect": [r for r in rows if not r["null"]]}
