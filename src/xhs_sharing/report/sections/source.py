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


def _source_publishes(study: Study) -> str:
    """What the source does not publish, as a sentence (empty when it publishes estimates and its sample size).

    For a paper with ``publishes_estimates: false`` and ``reports_sample_size: false``: "The paper
    publishes no data, no model estimates and no sample size, only which links are significant. "
    """
    src = study.source
    if src is None or (src.publishes_estimates and src.reports_sample_size):
        return ""
    lacks = (["no data", "no model estimates"] if not src.publishes_estimates else []) + (
        ["no sample size"] if not src.reports_sample_size else [])
    listed = lacks[0] if len(lacks) == 1 else ", ".join(lacks[:-1]) + " and " + lacks[-1]
    only = ", only which links are significant" if not src.publishes_estimates else ""
    return f"{src.name.capitalize()} publishes {listed}{only}. "


def summary_sentence(study: Study) -> str:
    """The first sentence of the Summary: what was built, what the report runs and how many claims it checks.

    A source (paper) is not re-run: it has no model of this package's making to re-run (issue 17
    point 1). The sentence says what the package built from the source's statements.

    Examples
    --------
    With a ``source`` block of kind ``paper`` that publishes no estimates and
    no sample size: "The paper publishes no data, no model estimates and no
    sample size, only which links are significant. From its statements this
    package built a latent structural equation model of 8 constructs ... and
    19 checkable claims (...); this report fits that model to the survey
    described below and checks the claims." Without a source: "This report
    runs the analysis of the study specification: ..., and checks its 19
    claims (...)".
    """
    model = (f"a latent structural equation model of {len(study.constructs)} constructs measured by "
             f"{len(study.items)} Likert items, with {len(study.paths)} structural paths")
    what = "(the significance and sign of paths and of mediated effects)"
    if study.source is not None:
        return (f"{_source_publishes(study)}From the statements of {study.source.name} this package built {model}, "
                f"and {len(study.claims)} checkable claims {what}; this report fits that model to the survey "
                "described below and checks the claims.")
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
