"""Study-specific text comes from the study spec (issue 12 points 4 and 10).

The repository's spec replicates a paper and says so in its ``source``
block: the report names the paper and says what it does not publish. A
spec of one's own (no ``source`` block, no qualitative entries, no
sections, no population values) gets none of those sentences, no
qualitative section, and a Monte Carlo section that says why the study was
skipped.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import render_report
from xhs_sharing.report.sections.limitations import synthetic_warning
from xhs_sharing.report.sections.montecarlo import SKIPPED, montecarlo_section
from xhs_sharing.report.sections.source import summary_sentence
from xhs_sharing.study.spec import Study, study_from_dict

PAPER_SENTENCES = (
    "From the statements of the paper this package built",
    "The paper publishes no data, no model estimates and no sample size, only which links are significant.",
    "Claims of the paper and their verdicts",
    "they are not the paper's questionnaire",
    "The paper supports each group of hypotheses with interview evidence",
    "The paper reports only which links are significant",
    "significance depends on the sample size, which the paper does not report",
    "Synthetic data cannot confirm the paper.",
    "not that the pattern holds among Xiaohongshu users",
)
"""Sentences the repository's spec asks for (each from its ``source`` block or the population values)."""

OBSERVED_PAPER_SENTENCES = ("because the paper publishes no estimates to compare with",)
"""The note on observed data for a source that publishes no estimates."""


def own_spec() -> dict[str, Any]:
    """The repository's spec as a user's own study: no source, qualitative, sections or population values."""
    data = copy.deepcopy(repo_study()[0].raw)
    for key in ("source", "qualitative", "exogenous_correlation"):
        data.pop(key)
    data["title"], data["citation"] = "Sharing in an online community", ""
    for c in data["constructs"]:
        c.pop("section")
        for it in c["items"]:
            it.pop("loading")
            it["text"] = it["text"].replace("Xiaohongshu", "the platform")
    for p in data["paths"]:
        p.pop("std")
    for cl in data["claims"]:
        cl.pop("section")
    return data


def render(root: Path, study: Study, kind: str, montecarlo: bool) -> str:
    """The report of ``study`` on fixture results (written from the repository's spec, same ids)."""
    out = write_fixture_results(root, repo_study()[0], with_montecarlo=montecarlo)
    fx = fixed_inputs(kind)
    text = yaml.safe_dump(study.raw, sort_keys=False)
    ctx = build_context(out["results"], study, fx["config_text"], text, fx["data_source"], fx["run_info"],
                        out["montecarlo"] if montecarlo else None)
    return render_report(ctx)


def report_text(html: str) -> str:
    """The report's own words: tags, style, figures and the verbatim config/study files removed."""
    html = re.sub(r'<pre class="file">.*?</pre>|<style>.*?</style>|<svg.*?</svg>', " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace("&#39;", "'")


@pytest.fixture(scope="module")
def own() -> Study:
    return study_from_dict(own_spec(), "my_study.yaml")


@pytest.fixture(scope="module")
def own_page(tmp_path_factory, own) -> str:
    return render(tmp_path_factory.mktemp("own"), own, "observed", montecarlo=False)


@pytest.fixture(scope="module")
def paper_pages(tmp_path_factory) -> dict[str, str]:
    study = repo_study()[0]
    return {kind: render(tmp_path_factory.mktemp(kind), study, kind, montecarlo=(kind == "synthetic"))
            for kind in ("synthetic", "observed")}


def test_the_own_spec_has_no_population_no_source_and_no_sections(own) -> None:
    assert own.source is None and not own.has_population and own.qualitative == ()
    assert all(c.section == "" for c in own.constructs) and all(c.section == "" for c in own.claims)
    assert own.section_label == "Section"


def test_a_spec_without_a_source_block_prints_no_paper_sentence(own_page: str) -> None:
    text = report_text(own_page)
    for sentence in PAPER_SENTENCES + OBSERVED_PAPER_SENTENCES:
        assert sentence not in text, sentence
    assert re.findall(r"(?i)\bpaper\b|interview|questionnaire|xiaohongshu", text) == []


def test_a_spec_without_a_source_block_speaks_of_the_study_specification(own_page: str) -> None:
    text = report_text(own_page)
    assert ("This report runs the analysis of the study specification: a latent structural equation model of 8 "
            "constructs measured by 25 Likert items, with 15 structural paths, and checks its 19 claims (the "
            "significance and sign of paths and of mediated effects).") in text
    assert "Claims of the study specification and their verdicts" in text
    assert ("These results come from observed data. Agreement in sign and significance is a weak test, and a "
            "cross-sectional survey cannot establish the causal direction of any path.") in text
    assert ("The claims of the study specification state the sign and significance of effects, so data contradict "
            "them through the pattern of significance.") in text
    assert "significance depends on the sample size." in text


def test_no_qualitative_entries_no_qualitative_section(own_page: str) -> None:
    assert '<section id="qualitative">' not in own_page and 'href="#qualitative"' not in own_page
    assert "Qualitative evidence" not in own_page and "lists no qualitative evidence" not in own_page


def test_no_sections_no_section_column(own_page: str) -> None:
    claims = re.search(r'<section id="claims">(.*?)</section>', own_page, re.S).group(1)
    assert ">Section</th>" not in claims and "data-label=\"Paper section\"" not in own_page
    assert "Paper section" not in own_page


def test_no_population_values_the_montecarlo_section_says_why(own_page: str, own) -> None:
    mc = re.search(r'<section id="montecarlo">(.*?)</section>', own_page, re.S)
    assert mc and 'href="#montecarlo"' in own_page
    assert report_text(mc.group(1)) == "Monte Carlo study " + SKIPPED.replace("&", "&amp;")
    assert SKIPPED == ("Skipped: the study spec declares no population values (item loading, path std, "
                       "exogenous_correlation), so there is no population model to draw synthetic surveys from. "
                       "Post-hoc power computed from the fitted model is a function of the p-values (Hoenig & "
                       "Heisey 2001) and is not shown.")
    assert montecarlo_section(None, own) == {"skipped": SKIPPED}
    assert montecarlo_section(None, repo_study()[0]) is None  # in_report: false on a spec with population values


def test_the_paper_spec_keeps_its_sentences(paper_pages: dict[str, str]) -> None:
    synthetic, observed = (report_text(paper_pages[k]) for k in ("synthetic", "observed"))
    for sentence in PAPER_SENTENCES:
        assert sentence in synthetic, sentence
    for sentence in OBSERVED_PAPER_SENTENCES:
        assert sentence in observed and sentence not in synthetic, sentence
    assert ("From the statements of the paper this package built a latent structural equation model of 8 constructs "
            "measured by 25 Likert items, with 15 structural paths, and 19 checkable claims") in synthetic
    assert "re-runs the analysis" not in synthetic  # the paper has no model of this package's to re-run
    assert "Section 4.1: PC \u2192 WSI" in synthetic  # the spec's ASCII arrow, written as the arrow sign
    assert 'data-label="Paper section"' in paper_pages["synthetic"]
    assert "Skipped:" not in synthetic


def test_each_source_sentence_follows_its_field(tmp_path: Path) -> None:
    """publishes_estimates and reports_sample_size left at their defaults (true): those sentences go."""
    data = copy.deepcopy(repo_study()[0].raw)
    data["source"] = {"kind": "thesis"}
    study = study_from_dict(data, "thesis.yaml")
    text = report_text(render(tmp_path, study, "observed", montecarlo=False))
    assert "From the statements of the thesis this package built" in text
    assert "The thesis publishes" not in text  # it publishes estimates and its sample size (the defaults)
    assert "Claims of the thesis and their verdicts" in text
    assert "publishes no estimates" not in text and "does not report" not in text
    assert "questionnaire" not in text and "interview evidence" not in text
    assert ("The thesis supports groups of hypotheses with the qualitative evidence below, as the study "
            "specification words it; nothing here is tested.") in text
    assert "Thesis section" in text


def test_the_synthetic_warning_is_computed_from_the_population_values() -> None:
    study = repo_study()[0]
    assert "in which every claim holds" in synthetic_warning(study)
    data = copy.deepcopy(study.raw)
    next(p for p in data["paths"] if (p["from"], p["to"]) == ("IS", "CN"))["std"] = 0.25
    text = synthetic_warning(study_from_dict(data, "other.yaml"))
    assert ("in which 17 of the 19 claims hold; the population values contradict IS->CN, IS->CN->WSI. The "
            "verdicts show what the pipeline recovers from the pattern it was given, not whether the pattern "
            "holds among Xiaohongshu users.") in text
    assert "expected by construction" not in text


def test_summary_sentence_counts_the_spec() -> None:
    data = own_spec()
    data["claims"] = data["claims"][:2]
    assert summary_sentence(study_from_dict(data, "two.yaml")).endswith("and checks its 2 claims (the "
                                                                      "significance and sign of paths and of "
                                                                      "mediated effects).")
