"""Issue 17 (errors 4, 5, 7, 8, 9): the report states each row's own mediation type, a caption true to the
model, an inconclusive equivalence in the summary list, the significant paths that are not claims, and a
chi-square/df cut-off credited to its source."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import render_report
from xhs_sharing.report.sections.structural import MEDIATION_TYPES, mediation_text, mediation_view


def texts(table: dict) -> list[list[str]]:
    return [[c["text"] for c in row["cells"]] for row in table["rows"]]


def _effect(x: str, m: str, effect: str, est: float, lo: float, hi: float, mtype: str) -> dict:
    return {"x": x, "mediator": m, "y": "WSI", "effect": effect, "est": est, "se": 0.02, "std_est": est,
            "std_se": 0.02, "boot_ci_low": lo, "boot_ci_high": hi, "mc_ci_low": lo, "mc_ci_high": hi,
            "mediation_type": mtype}


# IS -> WSI as on the default survey: the chain through SN is significant (indirect-only), the one through
# CN is not (no-effect), the total indirect effect is not either, so the pair and its total rows are no-effect.
IS_WSI = pd.DataFrame([
    _effect("IS", "SN", "indirect", 0.05, 0.01, 0.09, "indirect-only"),
    _effect("IS", "CN", "indirect", -0.04, -0.09, 0.01, "no-effect"),
    _effect("IS", "", "total_indirect", 0.01, -0.05, 0.07, "no-effect"),
    _effect("IS", "", "direct", 0.02, -0.08, 0.12, "no-effect"),
    _effect("IS", "", "total", 0.03, -0.07, 0.13, "no-effect"),
    _effect("PR", "SN", "indirect", 0.06, 0.02, 0.10, "complementary"),
    _effect("PR", "CN", "indirect", -0.05, -0.09, -0.01, "competitive"),
    _effect("PR", "", "total_indirect", 0.01, -0.04, 0.06, "direct-only"),
    _effect("PR", "", "direct", 0.20, 0.10, 0.30, "direct-only"),
    _effect("PR", "", "total", 0.21, 0.11, 0.31, "direct-only"),
])


def test_every_mediation_row_shows_its_own_type_from_the_file() -> None:
    view = mediation_view({"indirect": IS_WSI, "bootstrap": {"requested": 10, "converged": 10, "failed": 0}})
    rows = texts(view["table"])
    assert rows[0] == ["IS \u2192 WSI: no effect (no mediation)"]
    assert [(r[0], r[-1]) for r in rows[1:6]] == [
        ("IS \u2192 SN \u2192 WSI", "indirect-only (full) mediation"),
        ("IS \u2192 CN \u2192 WSI", "no effect (no mediation)"),
        ("Total indirect", "no effect (no mediation)"),
        ("Direct", "no effect (no mediation)"),
        ("Total", "no effect (no mediation)"),
    ]
    assert rows[6] == ["PR \u2192 WSI: direct-only (no mediation)"]
    assert [r[-1] for r in rows[7:]] == ["complementary (partial) mediation", "competitive (partial) mediation",
                                         "direct-only (no mediation)", "direct-only (no mediation)",
                                         "direct-only (no mediation)"]
    assert view["types"] == [{"x": "IS", "y": "WSI", "type": "no effect (no mediation)"},
                             {"x": "PR", "y": "WSI", "type": "direct-only (no mediation)"}]


def test_mediation_labels_use_the_files_hyphenated_values_and_none_is_printed_raw() -> None:
    from xhs_sharing.analysis.mediation import MediationType

    assert set(MEDIATION_TYPES) == {str(t) for t in MediationType}
    for t in MediationType:
        assert mediation_text(str(t)) != str(t)
    assert mediation_text("indirect_only") == "indirect-only (full) mediation"
    assert mediation_text("") == "not classified"
    assert mediation_text("made-up") == "made-up"


def test_path_diagram_caption_says_the_default_model_fixes_the_sn_cn_disturbance_covariance() -> None:
    from xhs_sharing.report.figures import path_diagram_caption
    from xhs_sharing.study.syntax import structural_syntax

    study = repo_study()[0]
    caption = path_diagram_caption(study, structural_syntax(study))
    assert "residual covariances are estimated" not in caption
    assert caption.endswith("Not drawn: the 10 covariances among the exogenous constructs (estimated); the disturbance "
                            "covariance SN\u2013CN (fixed at 0, not estimated); no residual covariance between items "
                            "is estimated.")
    freed = path_diagram_caption(study, structural_syntax(study) + "SN ~~ CN\nis1 ~~ is2\n")
    assert "the disturbance covariance SN\u2013CN (estimated); 1 residual covariance between items (estimated)." in freed
    assert "(fixed at 0" in path_diagram_caption(study, structural_syntax(study) + "SN ~~ 0*CN\n")


PERTURB = {("IS", "CN"): 0.05, ("ES", "SN"): 0.03, ("PA", "WSI"): -0.16}
"""IS -> CN stays non-significant but its equivalence test is inconclusive (90% CI [-.04, .13]); ES -> SN fails;
PA -> WSI, a path that is no claim and whose population value is 0, comes out significant."""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    study, text = repo_study()
    out = write_fixture_results(tmp_path_factory.mktemp("rep17"), study, perturb=PERTURB, with_montecarlo=False)
    fx = fixed_inputs("synthetic")
    return render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"], None))


def section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


def test_rendered_report_carries_the_generated_caption(page: str) -> None:
    struct = section(page, "structural")
    assert "residual covariances are estimated" not in struct
    assert "the disturbance covariance SN\u2013CN (fixed at 0, not estimated)" in struct


def _summary_items(page: str) -> dict[str, str]:
    ul = re.search(r'<ul class="claim-list" id="summary-claims">(.*?)</ul>', page, re.S).group(1)
    items = re.findall(r'<li><span class="badge (\w+)">([^<]*)</span> <a href="#[^"]*"><span class="claim-id">([^<]*)</span>', ul)
    return {html.unescape(cid): f"{cls}: {text}" for cls, text, cid in items}


def test_summary_list_flags_a_reproduced_null_claim_whose_equivalence_test_is_inconclusive(page: str) -> None:
    items = _summary_items(page)
    assert len(items) == 19
    # synthetic data: the verdict words are "consistent", not "reproduced" (point 1)
    assert items["IS->CN"] == "warn: \u2713 consistent (by design), equivalence inconclusive"
    assert items["ES->SN"] == "bad: \u2717 not consistent"
    assert items["IS->SN"] == "ok: \u2713 consistent (by design)"
    card = re.search(r'id="claim-is-cn".*?</tr>', page, re.S).group(0)
    assert '<span class="badge warn">inconclusive</span>' in card  # the claim card says the same


def test_significant_paths_that_are_not_claims_are_listed_in_the_structural_section_and_the_summary(page: str) -> None:
    line = "PA \u2192 WSI: B = \u22120.144, SE = 0.050, \u03b2 = \u22120.16, p = .004; population value 0.00"
    struct = section(page, "structural")
    box = re.search(r'<div class="callout warn" id="unclaimed-paths">(.*?)</div>', struct, re.S).group(1)
    assert "Significant paths that are not claims" in box
    assert re.findall(r"<li>(.*?)</li>", box) == [line]  # IS -> CN (.05, not significant) and the claims are not listed
    summary = section(page, "summary")
    assert f"1 significant path that is not a claim</strong> (see <a href=\"#unclaimed-paths\">Structural model</a>): {line}." in summary


def test_unclaimed_paths_without_population_values_and_with_none_significant() -> None:
    import yaml

    from conftest import without_population
    from xhs_sharing.report.sections.structural import unclaimed_significant_paths
    from xhs_sharing.study.spec import study_from_dict

    study, text = repo_study()
    no_population = study_from_dict(without_population(yaml.safe_load(text)), "no population values")
    paths = pd.DataFrame([
        {"lhs": "WSI", "op": "~", "rhs": "PA", "est": -0.144, "se": 0.05, "z": -2.88, "pvalue": 0.004, "std_all": -0.16},
        {"lhs": "WSI", "op": "~", "rhs": "IS", "est": 0.05, "se": 0.05, "z": 1.0, "pvalue": 0.32, "std_all": 0.06},
        {"lhs": "SN", "op": "~", "rhs": "IS", "est": 0.2, "se": 0.05, "z": 4.0, "pvalue": 0.0001, "std_all": 0.25},
    ])
    assert unclaimed_significant_paths(paths, study) == [
        "PA \u2192 WSI: B = \u22120.144, SE = 0.050, \u03b2 = \u22120.16, p = .004; population value 0.00"]
    assert unclaimed_significant_paths(paths, no_population) == [
        "PA \u2192 WSI: B = \u22120.144, SE = 0.050, \u03b2 = \u22120.16, p = .004"]
    assert unclaimed_significant_paths(paths.iloc[1:], study) == []
