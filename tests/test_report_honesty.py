"""Issue 17 points 1, 2, 3, 6 and 16: a report honest about what synthetic data can show.

* Point 1: "reproduced" only on observed data; on synthetic data the header, the Summary's tally and callout,
  and every badge say "consistent (by design)"; the Summary's first sentence says what the package built from
  the paper's statements.
* Point 2: beside both fit tables on synthetic data, that good fit is by construction.
* Point 3: the Monte Carlo rates' dependence on the declared effect sizes, and the rates at the n analysed
  (simulated when the grid has it, interpolated and said so when not); the default grid holds synthetic.n.
* Point 6: the equivalence bound of an indirect effect derived from the path bound; the sensitivity
  crossing interpolated between grid points.
* Point 16: one paragraph per question, a small-multiple figure, tables instead of JSON.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.analysis.mediation import chain_bound, tost_interval
from xhs_sharing.analysis.montecarlo import interpolated_crossing, min_detectable_interpolated
from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.report.context import build_context
from xhs_sharing.report.figures import spread_labels
from xhs_sharing.report.montecarlo import declared_effects, rate_at
from xhs_sharing.report.render import render_report
from xhs_sharing.report.sections.claims import by_design, callout, equivalence_view, tally_text, verdict_text
from xhs_sharing.report.sections.measurement import fit_by_construction
from xhs_sharing.report.sections.montecarlo import claim_panels, settings_table
from xhs_sharing.study.spec import config_defaults, study_from_dict

ROOT = Path(__file__).resolve().parents[1]


def render(root: Path, kind: str, with_montecarlo: bool = True) -> str:
    study, text = repo_study()
    out = write_fixture_results(root, study, with_montecarlo=with_montecarlo)
    fx = fixed_inputs(kind)
    return render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"], out["montecarlo"] if with_montecarlo else None))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {kind: render(tmp_path_factory.mktemp(kind), kind) for kind in ("synthetic", "observed")}


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert m, sid
    return m.group(1)


def header(page: str) -> str:
    return text_of(re.search(r'<header class="page">(.*?)</header>', page, re.S).group(1))


# --------------------------------------------------------------------------- point 1: verdict words


def test_verdict_words_follow_the_data() -> None:
    assert verdict_text(True) == "\u2713 reproduced"
    assert verdict_text(False) == "\u2717 not reproduced"
    assert verdict_text(True, synthetic=True, by_design=True) == "\u2713 consistent (by design)"
    assert verdict_text(True, synthetic=True, by_design=False) == "\u2713 consistent"
    assert verdict_text(False, synthetic=True, by_design=True) == "\u2717 not consistent"
    assert tally_text(19, 19, False, 0) == "19 of 19 claims reproduced"
    assert tally_text(19, 19, True, 19) == "19 of 19 claims consistent with the hypotheses (synthetic data, by design)"
    assert callout(19, 19, True, 19)["id"] == "synthetic-caveat"
    assert callout(19, 19, False, 0) == {"cls": "", "id": "summary-verdicts", "head": "",
                                          "text": "Every claim was reproduced."}


def test_by_design_counts_the_claims_the_population_makes_true(study_dict) -> None:
    """IS->CN at .25 in the population: the claim of no effect IS->CN and its chain IS->CN->WSI no longer hold."""
    assert sum(by_design(repo_study()[0]).values()) == 19
    data = copy.deepcopy(study_dict)
    next(p for p in data["paths"] if (p["from"], p["to"]) == ("IS", "CN"))["std"] = 0.25
    design = by_design(study_from_dict(data, "variant.yaml"))
    assert sorted(c for c, ok in design.items() if not ok) == ["IS->CN", "IS->CN->WSI"]
    assert tally_text(18, 19, True, 17) == ("18 of 19 claims consistent with the hypotheses (synthetic data from a "
                                            "population model in which 17 of the 19 hold)")


def test_synthetic_report_says_by_design_at_the_top_and_never_reproduced_in_the_verdicts(pages) -> None:
    page = pages["synthetic"]
    assert "15 of 19 claims consistent with the hypotheses (synthetic data, by design)." in header(page)
    summary = section(page, "summary")
    caveat = re.search(r'<div class="callout warn" id="synthetic-caveat">(.*?)</div>', summary, re.S)
    assert caveat, "the synthetic-data caveat is not in the Summary"
    assert text_of(caveat.group(1)).startswith(
        "4 claims not consistent with the hypotheses (listed first). The survey is synthetic, drawn from a population "
        "model in which every claim holds: agreement is expected by construction")
    assert summary.index('id="synthetic-caveat"') < summary.index('id="summary-claims"')
    badges = re.findall(r'<span class="badge (?:ok|bad|warn)">([^<]*)</span>', section(page, "claims") + summary)
    assert len(badges) >= 38 and not any("reproduced" in b for b in badges)
    assert badges.count("\u2713 consistent (by design)") >= 2 * 13


def test_observed_report_says_reproduced_and_has_no_synthetic_caveat(pages) -> None:
    page = pages["observed"]
    assert "15 of 19 claims reproduced." in header(page)
    assert 'id="synthetic-caveat"' not in page and "by design" not in section(page, "summary")
    assert "consistent" not in " ".join(re.findall(r'<span class="badge (?:ok|bad|warn)">([^<]*)</span>', page))
    assert 'id="measurement-fit-caveat"' not in page and 'id="structural-fit-caveat"' not in page


def test_summary_says_what_the_package_built_from_the_papers_statements(pages) -> None:
    first = text_of(re.search(r"<h2>Summary</h2>\s*<p>(.*?)</p>", pages["synthetic"], re.S).group(1))
    assert first == ("The paper publishes no data, no model estimates and no sample size, only which links are "
                     "significant. From the statements of the paper this package built a latent structural equation "
                     "model of 8 constructs measured by 25 Likert items, with 15 structural paths, and 19 checkable "
                     "claims (the significance and sign of paths and of mediated effects); this report fits that model "
                     "to the survey described below and checks the claims.")


# --------------------------------------------------------------------------- point 2: fit by construction


def test_fit_caveat_beside_both_fit_tables_on_synthetic_data_only(pages) -> None:
    page = pages["synthetic"]
    for sid, anchor in (("measurement", "measurement-fit-caveat"), ("structural", "structural-fit-caveat")):
        sec = section(page, sid)
        assert f'id="{anchor}"' in sec
        assert sec.index(anchor) > sec.index("Model fit")  # under the heading, above the table
    study = repo_study()[0]
    assert fit_by_construction(study, True, 7).startswith("Good fit here is by construction: the survey is synthetic")
    assert "coarsening of answers into 7 scale points" in fit_by_construction(study, True, 7)
    assert fit_by_construction(study, False, 7) == ""


# --------------------------------------------------------------------------- point 3 and 16: Monte Carlo section


def test_default_grid_holds_the_default_synthetic_n() -> None:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    defaults = config_defaults()
    assert config["montecarlo"]["sample_sizes"] == defaults["montecarlo"]["sample_sizes"] == [150, 250, 400, 500, 600, 1000]
    assert config["synthetic"]["n"] in config["montecarlo"]["sample_sizes"]


def test_rate_at_the_analysed_n_is_simulated_or_interpolated() -> None:
    # the default run before n = 500 was in the grid: .54 at 400, .84 at 600 -> .69, interpolated
    assert rate_at([150, 250, 400, 600, 1000], [0.0, 0.168, 0.54, 0.84, 0.896], 500) == (0.69, True)
    assert rate_at([400, 500, 600], [0.54, 0.718, 0.84], 500) == (0.718, False)
    assert rate_at([400, 600], [0.54, 0.84], 100) is None


def test_declared_effect_sizes_are_read_from_the_spec(study_dict) -> None:
    assert declared_effects(repo_study()[0]) == (0.20, 0.35)
    data = copy.deepcopy(study_dict)
    next(p for p in data["paths"] if (p["from"], p["to"]) == ("SN", "WSI"))["std"] = 0.45
    assert declared_effects(study_from_dict(data, "variant.yaml")) == (0.20, 0.45)


def test_monte_carlo_section_has_one_paragraph_per_question_with_the_analysed_n(pages) -> None:
    syn = section(pages["synthetic"], "montecarlo")
    heads = re.findall(r'<h3 id="(mc-[a-z]+)">([^<]*)</h3>', syn)
    assert heads == [("mc-each", "How likely is each claim to reproduce?"),
                     ("mc-all", "How many respondents does it take for all of them?"),
                     ("mc-null", "What effects could the claims of no effect hide?")]
    text = text_of(syn)
    assert "standardized paths of .20 to .35 where it has an effect, exactly 0 where it has none" in text
    assert "At n = 500, the size analysed here, all 19 claims reproduce together in" in text
    assert "interpolated linearly" not in text  # 500 is simulated in the fixture
    assert "n = 500 (analysed)" in text
    # observed data with 405 respondents: between the simulated 300 and 500
    obs = text_of(section(pages["observed"], "montecarlo"))
    assert ("At n = 405, the size analysed here (not simulated: interpolated linearly between n = 300 and "
            "n = 500), all 19 claims reproduce together in about") in obs
    assert "The sensitivity analysis simulates surveys of n = 500 (synthetic.n), not the n = 405 analysed here" in obs


def test_settings_are_a_table_not_json(pages) -> None:
    power = {"fits": {"replications": 3000, "converged": 2999, "failed": 1, "refitted": 0}, "joint_80": 600,
             "joint_95": None, "sensitivity_n": 500,
             "settings": {"replications": 500, "sample_sizes": [150, 500], "mc_draws": 2000, "seed": 7}}
    rows = [[c["text"] for c in r["cells"]] for r in settings_table(power)["rows"]]
    assert rows == [["Monte Carlo draws per interval", "2,000"], ["Replications per sample size", "500"],
                    ["Sample sizes simulated", "150, 500"], ["Master seed", "7"],
                    ["Sensitivity analysis: sample size", "500"],
                    ["Fits", "2,999 of 3,000 converged, 1 failed, 0 refitted"],
                    ["Smallest n with a joint rate of at least .80", "600"],
                    ["Smallest n with a joint rate of at least .95", "not reached"]]
    mc = section(pages["synthetic"], "montecarlo")
    assert "{" not in text_of(mc.split("<figure")[0] + mc.split("</figure>")[1])


def test_figure_is_small_multiples_with_a_panel_per_claim_group(pages) -> None:
    study = repo_study()[0]
    cr = pd.DataFrame({"claim_id": [c.id for c in study.claims]})
    panels = claim_panels(study, cr)
    assert [(t, len(ids)) for t, ids in panels] == [("Paths with an effect", 9), ("Mediated effects", 6),
                                                   ("Claims of no effect", 4)]
    svg = re.search(r'<svg[^>]*aria-label="Reproduction rate.*?</svg>', pages["synthetic"], re.S).group(0)
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for title in ("Paths with an effect", "Mediated effects", "Claims of no effect", "All claims together (grey: 95% CI)"):
        assert title in labels
    for c in study.claims:  # every claim labelled directly (the ids are escaped in the SVG text)
        assert html.escape(c.id, quote=False) in labels or c.id in labels, c.id
    assert 'font-size="6.5' not in svg and "font: 6.5" not in svg  # no 7 px legend


def test_spread_labels_keeps_order_and_gap() -> None:
    ys = [0.51, 0.53, 0.51, 0.51, 0.89, 0.81, 0.81, 0.81, 0.70]
    pos = spread_labels(ys, 0.075, -0.02, 1.04)
    ordered = sorted(pos)
    assert all(b - a >= 0.075 - 1e-9 for a, b in zip(ordered, ordered[1:]))
    assert max(pos) <= 1.04 + 1e-9 and min(pos) >= -0.02
    assert [k for k in sorted(range(9), key=lambda k: (ys[k], k))] == sorted(range(9), key=lambda k: pos[k])


# --------------------------------------------------------------------------- point 6: equivalence


def test_chain_bound_is_the_path_bound_times_the_other_links() -> None:
    """The default survey: IS->CN beta -.079, CN->WSI .388; a three-link chain multiplies both other links."""
    b = chain_bound([("IS", "CN"), ("CN", "WSI")], [-0.079, 0.388], 0.10)
    assert b.bound == pytest.approx(0.0388) and b.null_link == ("IS", "CN") and b.other_links == (("CN", "WSI"),)
    b3 = chain_bound([("A", "B"), ("B", "C"), ("C", "D")], [0.5, -0.02, 0.4], 0.10)
    assert b3.null_link == ("B", "C") and b3.bound == pytest.approx(0.10 * 0.5 * 0.4)
    with pytest.raises(EstimationError, match="estimated at 0"):
        chain_bound([("A", "B"), ("B", "C")], [0.0, 0.0], 0.10)
    with pytest.raises(SpecError, match="two or more links"):
        chain_bound([("A", "B")], [0.3], 0.10)


def test_derived_bound_judges_a_null_link_the_same_as_a_path_and_as_a_chain() -> None:
    """The default survey's intervals: IS->CN is inconclusive at +-.10; the 90% CI of IS->CN->WSI,
    [-.0709, .0089], lies inside +-.10 (equivalent under the old bound) but not inside +-.0388."""
    path = tost_interval(-0.079, -0.1737, 0.0152, sesoi=0.10)
    assert path.verdict == "inconclusive"
    assert tost_interval(-0.0307, -0.0709, 0.0089, sesoi=0.10).verdict == "equivalent"  # the old, loose bound
    bound = chain_bound([("IS", "CN"), ("CN", "WSI")], [-0.0793, 0.3878], 0.10).bound
    assert tost_interval(-0.0307, -0.0709, 0.0089, sesoi=bound).verdict == "inconclusive"


def test_equivalence_detail_names_the_standardized_scale_and_the_derivation() -> None:
    path = equivalence_view({"kind": "path", "verdict": "inconclusive", "ci90_low": -0.1737, "ci90_high": 0.0152,
                             "sesoi": 0.1, "pvalue": 0.359, "sesoi_path": 0.1, "bound_links": ""})
    assert path["detail"] == "90% CI of \u03b2 [\u22120.174, 0.015], bounds \u00b10.10 (standardized), TOST p = .359"
    chain = equivalence_view({"kind": "indirect", "verdict": "inconclusive", "ci90_low": -0.0709, "ci90_high": 0.0089,
                              "sesoi": 0.0388, "pvalue": 0.365, "sesoi_path": 0.1, "bound_links": "CN->WSI"})
    assert chain["detail"] == ("90% CI of the standardized indirect effect [\u22120.071, 0.009], bounds \u00b10.039 "
                               "(standardized: the path bound 0.10 \u00d7 |\u03b2| of CN->WSI, 0.388), TOST p = .365")


def test_sensitivity_crossing_is_interpolated_between_grid_points() -> None:
    """The default run's IS->CN: .79 at .15, .96 at .20 -> the grid says .20, the crossing is at .153."""
    assert interpolated_crossing([0.05, 0.10, 0.15, 0.20, 0.25], [0.155, 0.385, 0.79, 0.96, 1.0], 0.8) == pytest.approx(
        0.15 + 0.01 / 0.17 * 0.05)
    table = pd.DataFrame({"claim_id": ["A"] * 3 + ["B"] * 2, "effect": [0.1, 0.15, 0.2, 0.1, 0.2],
                          "detection_rate": [0.5, 0.85, 0.75, 0.2, 0.5]})
    # A dips below .80 again at .20: no crossing from which the rate stays above it; B never reaches it
    assert min_detectable_interpolated(table) == {"A": None, "B": None}


def test_claim_ids_are_drawn_verbatim_in_the_small_multiples() -> None:
    """As the old figure's legend (tests/test_spec_before_jobs.py): math-looking and underscore ids stay text."""
    from xhs_sharing.report.figures import reproduction_panels

    rates = pd.DataFrame({"claim_id": ["$\\undefinedmacro{x}$"] * 2 + ["_hidden"] * 2 + ["A->B"] * 2,
                          "n": [150, 400] * 3, "reproduction_rate": [0.5, 0.9, 0.4, 0.8, 0.6, 1.0]})
    joint = pd.DataFrame({"n": [150, 400], "joint_rate": [0.2, 0.7], "ci_low": [0.1, 0.6], "ci_high": [0.3, 0.8]})
    svg = reproduction_panels(rates, joint, [("Group", ["$\\undefinedmacro{x}$", "A->B"]), ("Nulls", ["_hidden"])],
                              ["_hidden"], analysed_n=400)
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "$\\undefinedmacro{x}$" in labels and "_hidden" in labels and "A-&gt;B" in labels
    assert "0.70 at n = 400" in labels  # the joint rate at the analysed n, written beside its point
