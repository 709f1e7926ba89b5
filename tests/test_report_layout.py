"""Issue 17 points 17-19 without a browser: the generic layout rules every table and figure gets.

Every figure carries a ``<title>``, a ``<desc>`` (its caption, then a description generated from its
artists) and a minimum width at which its smallest text renders at 9 px; every table and figure sits in
a labelled, focusable scroll region; the long listings (all measurement checks, config.yaml,
study.yaml) are in an appendix, collapsed on screen and duplicated for print; visible text writes the
arrow sign, ASCII ``->`` only inside claim ids and machine files. The browser side (rendered sizes, the
PDF) is in ``tests/test_report_browser.py``.
"""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.report.context import build_context
from xhs_sharing.report.figures import MIN_TEXT_PX, figure_description, min_width_px, smallest_font
from xhs_sharing.report.format import arrows, short_label
from xhs_sharing.report.render import describe_svg, render_report

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 576 400">'
       '<text style="font-size: 10px; font-family: sans-serif">a</text>'
       '<g><text style="font: bold 6.5px sans-serif">b</text></g><text font-size="8">c</text></svg>')


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    study, text = repo_study()
    out = write_fixture_results(tmp_path_factory.mktemp("layout"), study)
    fx = fixed_inputs()
    return render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"], out["montecarlo"]))


def section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


# --------------------------------------------------------------------------- figures: text size, title, desc


def test_smallest_font_reads_the_style_the_shorthand_and_the_attribute() -> None:
    root = ET.fromstring(SVG)
    assert smallest_font(root) == 6.5
    assert min_width_px(root) == math.ceil(576 * 9 / 6.5) == 798
    assert min_width_px(root, min_text_px=13) == math.ceil(576 * 13 / 6.5) == 1152
    assert smallest_font(ET.fromstring('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"/>')) is None
    assert min_width_px(ET.fromstring('<svg xmlns="http://www.w3.org/2000/svg"><text font-size="8">x</text></svg>')) is None


def test_every_figure_has_title_desc_from_caption_and_a_9px_minimum_width(page: str) -> None:
    figures = re.findall(r'<figure class="fig">\s*<div class="fig-scroll scroll-x" role="region" '
                         r'aria-label="Figure: ([^"]+)" tabindex="0">\s*(<svg.*?</svg>)\s*</div>\s*'
                         r'<figcaption>(.*?)</figcaption>', page, re.S)
    assert len(figures) == 5 == page.count('<figure class="fig">')
    for label, svg, caption in figures:
        root = ET.fromstring(svg)
        kids = [child.tag.rsplit("}", 1)[-1] for child in root][:2]
        assert kids == ["title", "desc"]
        desc = root[1].text
        assert desc.startswith(ET.fromstring(f"<c>{caption}</c>").text + " Panel")  # caption, then the artists
        assert html.unescape(label) == short_label(ET.fromstring(f"<c>{caption}</c>").text)  # an attribute is escaped
        width = int(re.fullmatch(r"--fig-min-width: (\d+)px", root.get("style")).group(1))
        view_w = float(root.get("viewBox").split()[2])
        assert width == math.ceil(view_w * MIN_TEXT_PX / smallest_font(root))
        assert width * smallest_font(root) / view_w >= MIN_TEXT_PX  # text at that width is at least 9 px


def test_forest_plot_desc_names_axes_chains_and_legend(page: str) -> None:
    svg = re.search(r'<svg[^>]*aria-label="Forest plot.*?</svg>', page, re.S).group(0)
    desc = ET.fromstring(svg)[1].text
    assert "Panel: horizontal axis \u201cUnstandardized indirect effect (product of the paths) with 95% intervals\u201d" in desc
    assert "vertical axis (IS \u2192 SN \u2192 WSI, IS \u2192 CN \u2192 WSI," in desc
    assert desc.endswith("legend: Percentile bootstrap 95% CI, Monte Carlo 95% CI.")


def test_figure_description_is_cut_at_the_limit() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    for k in range(200):
        ax.text(0, 0, f"label{k}")
    ax.set_axis_off()
    text = figure_description(fig, limit=100)
    assert len(text) <= 100 and text.endswith("\u2026") and text.startswith("Panel: labels: label0, label1,")


def test_describe_svg_escapes_the_caption_and_adds_a_desc_when_missing() -> None:
    assert describe_svg(Markup("<svg><title>T</title><desc>d</desc></svg>"), "A <b> & B.") == \
        "<svg><title>T</title><desc>A &lt;b&gt; &amp; B. d</desc></svg>"
    assert describe_svg(Markup('<svg role="img"><title>T</title></svg>'), "Cap") == \
        '<svg role="img"><title>T</title><desc>Cap</desc></svg>'
    assert describe_svg(Markup("<svg><g/></svg>"), "Cap") == "<svg><desc>Cap</desc><g/></svg>"


# --------------------------------------------------------------------------- tables: labelled scroll regions


def test_every_table_is_in_a_labelled_focusable_scroll_region(page: str) -> None:
    body = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)
    wrapped = re.findall(r'<div class="table-wrap" role="region" aria-label="([^"]+)" tabindex="0">\s*<table', body)
    assert len(wrapped) == body.count("<table") > 15
    assert all(label.strip() for label in wrapped)


def test_css_gives_every_scroll_container_a_cue_and_prints_flat() -> None:
    from pathlib import Path

    import xhs_sharing.report as report

    css = (Path(report.__file__).parent / "templates" / "_style.css.j2").read_text(encoding="utf-8")
    screen, _, print_css = css.partition("@media print")
    rule = re.search(r"\.table-wrap, \.scroll-x \{(.*?)\n\}", screen, re.S).group(1)
    assert "overflow-x: auto" in rule and "radial-gradient" in rule and "scrollbar-width: thin" in rule
    assert "min-width: var(--fig-min-width, 0)" in screen
    for needed in ("tr, th, td { break-inside: avoid; }", "details.screen-only { display: none; }",
                   ".print-only { display: block; }", "figure.fig svg.figure-svg { min-width: 0;"):
        assert needed in print_css, needed


# --------------------------------------------------------------------------- appendix: collapsed, printed in full


def test_long_listings_are_in_the_appendix_collapsed_on_screen_and_duplicated_for_print(page: str) -> None:
    appendix = section(page, "appendix")
    measurement = section(page, "measurement")
    assert "Table" not in measurement.split("<h3>All checks</h3>")[1].split("</p>")[1]  # nothing after the pointer
    assert 'href="#appendix-checks">Appendix A</a>' in measurement
    for key, summary in (("checks-list", "Show all 57 measurement checks"),
                         ("config-file", "Show config.yaml ("), ("study-file", "Show study.yaml (")):
        details = re.search(rf'<details class="collapsible screen-only" id="appendix-{key}">\s*<summary>([^<]*)</summary>'
                            r'(.*?)</details>', appendix, re.S)
        printed = re.search(rf'<div class="print-only" id="appendix-{key}-print">(.*?)</div>\s*(?:<h3|$)', appendix, re.S)
        assert details and printed, key
        assert details.group(1).startswith(summary)
        assert details.group(2).strip() == printed.group(1).strip() != ""  # the same content twice
    assert appendix.count('<details class="collapsible screen-only"') == 3 and " open" not in appendix
    checks = re.search(r'id="appendix-checks-list">(.*?)</details>', appendix, re.S).group(1)
    assert checks.count("<tr") == 57 + 1  # every check and the head row
    assert len(re.findall(r'<section id="appendix">\s*<h2>Appendix</h2>', page)) == 1
    assert '<li><a href="#appendix">Appendix</a></li>' in page


# --------------------------------------------------------------------------- arrows


def test_arrows_and_short_label_known_answers() -> None:
    assert arrows("PR, PA -> SN, CN (-> WSI)") == "PR, PA \u2192 SN, CN (\u2192 WSI)"
    assert arrows("IS->SN->WSI") == "IS \u2192 SN \u2192 WSI"
    assert arrows("no arrow - here > there") == "no arrow - here > there"
    assert arrows(None) == ""
    assert short_label("Path diagram. Exogenous constructs on the left.") == "Path diagram"
    assert short_label("Values of .05 and p < .001 stay. Second.") == "Values of .05 and p < .001 stay"
    assert short_label("word " * 40, limit=20) == "word word word word\u2026"


def visible_text_without_claim_ids(html: str, claim_ids: list[str]) -> str:
    """The page's visible text (SVG text included) with <pre> blocks (machine files), the stylesheet and
    every claim id (a name from the spec, quoted verbatim) taken out."""
    text = re.sub(r"<pre.*?</pre>|<style>.*?</style>|<title>.*?</title>|<desc>.*?</desc>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text).replace("&gt;", ">")
    for cid in sorted(claim_ids, key=len, reverse=True):
        text = text.replace(cid, "CLAIM")
    return text


def test_visible_text_writes_the_arrow_sign_except_in_claim_ids_and_machine_files(page: str) -> None:
    study, _ = repo_study()
    ids = [c.id for c in study.claims]
    text = visible_text_without_claim_ids(page, ids)
    assert [text[max(0, m.start() - 40):m.end() + 20] for m in re.finditer("->", text)] == []
    assert text.count("\u2192") > 40  # paths, chains, the qualitative headings
    assert "PR, PA \u2192 SN, CN (\u2192 WSI)" in text
    # the check can fail: an ASCII arrow in a label that is not a claim id is found
    assert "->" in visible_text_without_claim_ids(page.replace("Section 4.1: PC \u2192 WSI", "PC -> WSI"), ids)
