"""What the report says about the study's source: every study-specific sentence comes from the study spec.

A spec with a ``source`` block (:class:`xhs_sharing.study.spec.Source`)
replicates a publication, and the report names it ("the paper") and says
what it does not publish only when the block says so
(``publishes_estimates: false``, ``reports_sample_size: false``). A spec
without the block is a study of its own: the report speaks of "the study
specification" and says nothing about a source.
"""

from __future__ import annotations

from typing import Any

from xhs_sharing.study.spec import Study

SPEC_NAME = "the study specification"
"""How the report names the claims' origin when the spec has no ``source`` block."""


def summary_sentence(study: Study) -> str:
    """The first sentence of the Summary: what the report runs and how many claims it checks.

    Examples
    --------
    With a ``source`` block of kind ``paper``: "This report re-runs the
    analysis of the paper: a latent structural equation model of 8 constructs
    ..., and checks 19 of its findings (...)". Without: "This report runs the
    analysis of the study specification: ..., and checks its 19 claims (...)".
    """
    model = (f"a latent structural equation model of {len(study.constructs)} constructs measured by "
             f"{len(study.items)} Likert items, with {len(study.paths)} structural paths")
    what = "(the significance and sign of paths and of mediated effects)"
    if study.source is not None:
        return (f"This report re-runs the analysis of {study.source.name}: {model}, and checks "
                f"{len(study.claims)} of its findings {what}.")
    return f"This report runs the analysis of {SPEC_NAME}: {model}, and checks its {len(study.claims)} claims {what}."


def qualitative_note(study: Study) -> str:
    """The sentence above the qualitative entries: the spec's ``source.qualitative_note``, or a neutral one."""
    if study.source is not None and study.source.qualitative_note:
        return study.source.qualitative_note
    origin = study.source.name.capitalize() if study.source is not None else "The study specification"
    return (f"{origin} supports groups of hypotheses with the qualitative evidence below, as the study "
            "specification words it; nothing here is tested.")


def source_view(study: Study) -> dict[str, Any]:
    """The study-specific wording of the report, from the spec.

    Keys: ``name`` ("the paper" or "the study specification"), ``summary``
    (:func:`summary_sentence`), ``claims_caption``, ``section_label`` (the
    heading of the claims' and constructs' section column), ``show_sections``
    (some claim names a section), ``qualitative_note``.
    """
    name = study.source.name if study.source is not None else SPEC_NAME
    return {
        "name": name,
        "summary": summary_sentence(study),
        "claims_caption": f"Claims of {name} and their verdicts",
        "section_label": study.section_label,
        "show_sections": any(c.section for c in study.claims),
        "qualitative_note": qualitative_note(study),
    }
