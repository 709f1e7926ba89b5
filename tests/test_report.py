"""The HTML report: sections, claims, escaping, self-containment, determinism."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from report_fixtures import (
    HOSTILE,
    NOT_REPRODUCED,
    fixed_inputs,
    hostile_study,
    repo_study,
    write_fixture_results,
)
from xhs_sharing.io import sha256_file
from xhs_sharing.report.context import SECTIONS, build_context
from xhs_sharing.report.figures import sanitize_svg
from xhs_sharing.report.format import claim_anchors, fmt_ci, fmt_num, fmt_p
from xhs_sharing.report.read import ReportError
from xhs_sharing.report.render import render_report, write_report
from xhs_sharing.report.sections.provenance import package_versions

ESCAPED_HOSTILE = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _render(root: Path, study, study_text: str, kind: str = "synthetic", montecarlo: bool = True) -> str:
    out = write_fixture_results(root, study, with_montecarlo=montecarlo)
    fx = fixed_inputs(kind)
    ctx = build_context(out["results"], study, fx["config_text"], study_text, fx["data_source"], fx["run_info"],
                        out["montecarlo"] if montecarlo else None)
    return render_report(ctx)


@pytest.fixture(scope="module")
def hostile():
    return hostile_study()


@pytest.fixture(scope="module")
def page(tmp_path_factory, hostile) -> str:
    """The fixture report: hostile spec, synthetic data, with Monte Carlo results."""
    study, text = hostile
    return _render(tmp_path_factory.mktemp("page"), study, text)


@pytest.fixture(scope="module")
def page_no_mc(tmp_path_factory, hostile) -> str:
    study, text = hostile
    return _render(tmp_path_factory.mktemp("nomc"), study, text, montecarlo=False)


def section(html: str, sid: str) -> str:
    """The markup of one top-level section."""
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, f"section {sid} missing"
    return m.group(1)


def text_of(fragment: str) -> str:
    """Tag-free text of a fragment, whitespace collapsed (entities left as they are)."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# --------------------------------------------------------------------------- structure


def test_every_section_has_its_id_and_heading(page: str) -> None:
    for sid, title in SECTIONS + (("montecarlo", "Monte Carlo study"),):
        assert re.search(rf'<section id="{sid}">\s*<h2>{re.escape(title)}</h2>', page), sid
    order = re.findall(r'<section id="([a-z]+)">', page)
    assert order == ["summary", "claims", "measurement", "structural", "estimation", "mediation", "qualitative",
                     "montecarlo", "provenance", "limitations", "appendix"]


def test_every_claim_has_a_row_with_its_literal_escaped_id(page: str, hostile) -> None:
    study, _ = hostile
    anchors = claim_anchors([c.id for c in study.claims])
    assert anchors["IS->SN->WSI"] == "claim-is-sn-wsi"
    claims = section(page, "claims")
    for claim in study.claims:
        rows = re.findall(rf'<tr id="{anchors[claim.id]}" class="claim [a-z-]+">(.*?)</tr>', claims, re.S)
        assert len(rows) == 1, claim.id
        escaped = claim.id.replace(">", "&gt;")
        assert f'<span class="claim-id">{escaped}</span>' in rows[0]
    assert len(re.findall(r'<tr id="claim-', page)) == len(study.claims)


def test_ids_are_unique_across_the_page(page: str) -> None:
    ids = re.findall(r'\sid="([^"]+)"', page)
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert dupes == []


def test_tally_and_not_reproduced_claims_first(page: str, hostile) -> None:
    study, _ = hostile
    n = len(study.claims)
    k = n - len(NOT_REPRODUCED)
    summary = section(page, "summary")
    assert f"{k} of {n} claims consistent with the hypotheses (synthetic data" in summary  # synthetic: not "reproduced"
    listed = re.findall(r'<li><span class="badge (ok|bad)">[^<]*</span> <a href="#(claim-[a-z0-9-]+)">', summary)
    anchors = claim_anchors([c.id for c in study.claims])
    assert len(listed) == n
    first = listed[: len(NOT_REPRODUCED)]
    assert {a for _, a in first} == {anchors[c] for c in NOT_REPRODUCED}
    assert all(cls == "bad" for cls, _ in first)
    assert all(cls == "ok" for cls, _ in listed[len(NOT_REPRODUCED):])


def test_verdict_badges_carry_text_and_colour(page: str) -> None:
    claims = section(page, "claims")
    row = re.search(r'<tr id="claim-is-cn" class="claim not-reproduced">(.*?)</tr>', claims, re.S).group(1)
    assert '<span class="badge bad">\u2717 not consistent</span>' in row  # synthetic data
    assert "excludes zero" in row  # the reason
    row = re.search(r'<tr id="claim-pc-wsi" class="claim reproduced">(.*?)</tr>', claims, re.S).group(1)
    assert '<span class="badge ok">\u2713 consistent (by design)</span>' in row
    assert "< .001".replace("<", "&lt;") in row  # p of a path, APA style
    assert "0.250***" in row


def test_null_claims_show_the_equivalence_result(page: str, hostile) -> None:
    study, _ = hostile
    claims = section(page, "claims")
    expected = {"IS->CN": "inconclusive", "ES->CN": "equivalent", "IS->CN->WSI": "equivalent", "ES->CN->WSI": "equivalent"}
    anchors = claim_anchors([c.id for c in study.claims])
    for cid, verdict in expected.items():
        row = re.search(rf'<tr id="{anchors[cid]}" [^>]*>(.*?)</tr>', claims, re.S).group(1)
        assert "Equivalence test (standardized):" in row and f">{verdict}</span>" in row, cid
    row = re.search(r'<tr id="claim-sn-wsi" [^>]*>(.*?)</tr>', claims, re.S).group(1)
    assert "Equivalence" not in row


# --------------------------------------------------------------------------- escaping and self-containment


def test_hostile_text_is_escaped_never_a_tag(page: str) -> None:
    assert HOSTILE not in page
    assert re.search(r"<\s*script", page, re.I) is None
    assert page.count(ESCAPED_HOSTILE) >= 4  # label, statement (twice: summary and claims), qualitative, study.yaml
    assert "Information support &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in section(page, "measurement")
    assert "&lt;b&gt;bold?&lt;/b&gt;" in section(page, "qualitative")
    # every ampersand is the start of an entity
    assert re.findall(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);)", page) == []


def test_no_external_reference(page: str) -> None:
    external = re.findall(r"""(?:\bsrc|\bhref|xlink:href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert external == []
    assert re.search(r"https?://", re.sub(r'xmlns(?::\w+)?="[^"]*"', "", page)) is None
    for tag in ("<link", "<img", "<iframe", "<object", "<embed", "<image", "@import", "<foreignObject"):
        assert tag not in page, tag
    assert "default-src 'none'" in page  # CSP: the browser refuses any fetch a later edit might add


def test_one_inline_svg_per_figure(page: str, page_no_mc: str) -> None:
    figs = re.findall(r'<figure class="fig">\s*<div class="fig-scroll[^>]*>\s*(<svg.*?</svg>)', page, re.S)
    assert len(figs) == 5
    for svg in figs:
        assert 'class="figure-svg"' in svg and 'role="img"' in svg and "<title>" in svg
        assert svg.count("<path") > 5
        assert "<text" in svg  # svg.fonttype = none: text stays text
        assert not re.search(r"\son[a-z]+=", svg)
    assert len(re.findall(r'<figure class="fig">\s*<div class="fig-scroll[^>]*>\s*<svg', page_no_mc)) == 4


def test_path_diagram_shows_coefficients_stars_and_r2(page: str) -> None:
    svg = re.search(r'<svg[^>]*aria-label="Path diagram.*?</svg>', page, re.S).group(0)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "0.35***" in texts  # SN -> WSI
    assert "0.16**" in texts  # IS -> CN (perturbed to be significant)
    assert "0.00" in texts  # the zero paths
    for r2 in ("R² = 0.17", "R² = 0.26", "R² = 0.33"):
        assert r2 in texts
    assert svg.count("stroke-dasharray") >= 6  # the non-significant paths are dashed


def test_sanitize_svg_strips_active_and_external_content() -> None:
    hostile = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="10pt" height="10pt" viewBox="0 0 10 10" onload="alert(1)"><script>alert(2)</script>'
        '<defs><clipPath id="c1"><rect width="1" height="1"/></clipPath></defs>'
        '<use xlink:href="http://evil.example/x.svg#a"/><use xlink:href="#c1"/><a href="https://evil.example">x</a>'
        '<rect clip-path="url(#c1)" fill="url(http://evil.example/p)"/><foreignObject><p>hi</p></foreignObject>'
        '<image href="data:image/png;base64,AAAA"/><metadata>rdf</metadata><text>a &lt;b&gt;</text></svg>'
    )
    out = sanitize_svg(hostile, "fig-x", "A <title> & more")
    assert "script" not in out and "onload" not in out and "evil" not in out
    assert "foreignObject" not in out and "<image" not in out and "metadata" not in out
    assert 'id="fig-x-c1"' in out and 'xlink:href="#fig-x-c1"' in out and 'clip-path="url(#fig-x-c1)"' in out
    assert "a &lt;b&gt;</text>" in out
    assert "<title>A &lt;title&gt; &amp; more</title>" in out
    assert 'width="10pt"' not in out and 'viewBox="0 0 10 10"' in out


# --------------------------------------------------------------------------- content


def test_measurement_shows_failed_and_warning_checks(page: str) -> None:
    meas = section(page, "measurement")
    problems = re.search(r'<div class="callout warn" id="measurement-problems">(.*?)</div>', meas, re.S).group(1)
    assert '<span class="badge bad">\u2717 fail</span> HTMT CN-SN' in problems
    assert '<span class="badge warn">! warning</span> multivariate normality' in problems
    assert "55 of 57 measurement checks passed" in meas
    # the HTMT cell above the threshold is flagged in the numbers table
    assert re.search(r'<td class="num st-bad">0\.87<span class="mark"> \u2717</span></td>', meas)
    # reliability cells carry their check's status as text
    assert re.search(r'<td class="num st-ok" title="alpha of IS: \u2713 pass \(\u2265 0\.70\)">0\.80<span class="mark"> \u2713</span></td>', meas)
    for label in ("CFI", "TLI", "RMSEA [90% CI]", "SRMR", "\u03c7\u00b2/df"):
        assert f'<th scope="row">{label}</th>' in meas
    assert "0.026 [0.018, 0.034]" in meas  # RMSEA with its 90% interval


def test_mediation_section(page: str) -> None:
    med = section(page, "mediation")
    assert "1,994 of 2,000 bootstrap resamples converged (6 failed)" in med
    assert "indirect-only (full) mediation" in med and "direct-only (no mediation)" in med
    assert "Unstandardized indirect effect" in med  # the forest plot says which scale
    assert "Bootstrap 95% CI" in med and "Monte Carlo 95% CI" in med


def test_apa_number_formats() -> None:
    assert fmt_p(0.0004) == "< .001"
    assert fmt_p(0.0234) == ".023"
    assert fmt_p(0.9999) == "> .999"
    assert fmt_p(None) == fmt_p(float("nan")) == "\u2014"
    assert fmt_ci(0.123, 0.3456) == "[0.12, 0.35]"
    assert fmt_ci(-0.123, 0.3456, 3) == "[\u22120.123, 0.346]"
    assert fmt_num(-0.0001) == "0.00"


def test_qualitative_and_limitations(page: str, hostile) -> None:
    study, _ = hostile
    qual = section(page, "qualitative")
    for q in study.qualitative:
        assert f"Section {q['section']}:" in qual
    lim = text_of(section(page, "limitations"))
    assert "Synthetic data cannot confirm the paper" in lim
    assert "expected by construction" in lim
    assert "a significant IS\u2192CN path" in lim
    assert "a significant CN mediation of ES" in lim
    assert "a non-significant SN\u2192WSI path" in lim
    assert "PC acting on WSI only through SN, CN" in lim


def test_provenance(page: str, hostile) -> None:
    prov = section(page, "provenance")
    fx = fixed_inputs()
    assert "20261127" in prov and "3.11.7 (fixture)" in prov and "200.0 s (3 min 20 s)" in prov
    assert fx["run_info"]["command"] in prov
    assert "33" * 32 in prov and "11" * 32 in prov
    assert re.search(r'<th scope="row">claims.json</th><td class="hash">[0-9a-f]{64}</td>', prov)
    # config.yaml and study.yaml in full, escaped (in the appendix, which the provenance points to)
    assert 'href="#appendix-config"' in prov and 'href="#appendix-study"' in prov
    appendix = section(page, "appendix")
    assert f'<pre class="file">{escape(fx["config_text"])}</pre>' in appendix
    assert f'<pre class="file">{escape(hostile[1])}</pre>' in appendix


def test_observed_data_names_the_file(tmp_path: Path) -> None:
    study, text = repo_study()
    html = _render(tmp_path, study, text, kind="observed", montecarlo=False)
    summary = text_of(section(html, "summary"))
    assert "observed data: the user&#39;s file \u201cmy survey &amp; co.csv\u201d, 405 respondents analysed of 412 rows, 7 rows dropped" in summary
    assert "cd" * 32 in summary
    lim = section(html, "limitations")
    assert "Synthetic data cannot confirm" not in lim and "observed data" in lim
    assert 'id="montecarlo"' not in html


def test_thresholds_are_read_from_checks_json(tmp_path: Path) -> None:
    """Every cut-off shown is the one checks.json records; the structural fit is judged by the CFA's cut-offs."""
    study, text = repo_study()
    fx = fixed_inputs()
    out = write_fixture_results(tmp_path / "a", study, with_montecarlo=False)
    html = render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"], fx["run_info"]))
    # no loading check in the fixture: the schema's default cut-off (.50), not another copy of it
    assert "! marks \u03bb below 0.50." in section(html, "measurement")
    chi2_df = ("\u2264 3.0 (Carmines &amp; McIver (1981), in Bohrnstedt &amp; Borgatta (eds.), Social Measurement: "
               "Current Issues, p. 80)")
    assert chi2_df in section(html, "measurement") and chi2_df in section(html, "structural")
    assert "the cut-off is Carmines &amp; McIver&#39;s (1981, p. 80: 2 to 3)" in section(html, "structural")
    assert "Kline (2016) advises against it" in section(html, "structural")

    out = write_fixture_results(tmp_path / "b", study, with_montecarlo=False)
    path = out["results"] / "measurement" / "checks.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for c in doc["checks"]:
        if c["statistic"] == "htmt":
            c["threshold"], c["reference"] = 0.90, "HTMT source"
        if c["statistic"] == "rmsea":
            c["threshold"], c["status"], c["reference"] = 0.02, "fail", "RMSEA source"
    doc["checks"].append({"check": "std_loading", "construct": "IS", "item": "is1", "statistic": "std_loading",
                          "threshold": 0.80, "comparison": "ge", "value": 0.79, "passed": False, "status": "fail",
                          "reference": "loading source"})
    path.write_text(json.dumps(doc), encoding="utf-8")
    html = render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"], fx["run_info"]))
    meas, struct = section(html, "measurement"), section(html, "structural")
    assert "\u2717 marks a ratio above 0.90 (HTMT source)" in meas
    assert not re.search(r'<td class="num st-bad">0\.87', meas)  # below the recorded .90
    assert "! marks \u03bb below 0.80." in meas
    for part in (meas, struct):  # the CFA's RMSEA cut-off judges the structural model too
        assert "\u2264 0.020 (RMSEA source)" in part
        assert "Fit indices outside their thresholds: RMSEA [90% CI]: \u2717 fail" in part


# --------------------------------------------------------------------------- determinism, output, errors


@pytest.mark.slow
def test_same_inputs_same_bytes(tmp_path: Path, page: str, hostile) -> None:
    study, text = hostile
    again = _render(tmp_path / "again", study, text)
    assert again == page
    assert str(tmp_path) not in again
    target = tmp_path / "out" / "report.html"
    out = write_fixture_results(tmp_path / "w", study)
    fx = fixed_inputs()
    ctx = build_context(out["results"], study, fx["config_text"], text, fx["data_source"], fx["run_info"], out["montecarlo"])
    html = write_report(ctx, target)
    assert target.read_bytes() == html.encode("utf-8") == page.encode("utf-8")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary file left


def test_montecarlo_section_only_when_given(page: str, page_no_mc: str) -> None:
    assert '<section id="montecarlo">' in page
    assert '<section id="montecarlo">' not in page_no_mc and 'href="#montecarlo"' not in page_no_mc
    mc = section(page, "montecarlo")
    assert "from n = 800" in mc  # power.json joint_80
    assert "<th scope=\"row\">Smallest n with a joint rate of at least .95</th><td>not reached</td>" in mc
    # the reading is the report's, from the tables (power.json holds numbers only)
    assert "10 of 1,000 fits failed and count as reproducing no claim" in mc
    assert "the joint rate reaches .80 from n = 800 on and .95 at no simulated n (not reached)" in mc
    assert '<th scope="row">reading</th>' not in mc


def test_missing_or_inconsistent_results_raise(tmp_path: Path) -> None:
    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    fx = fixed_inputs()
    args = (study, fx["config_text"], text, fx["data_source"], fx["run_info"])
    (out["results"] / "structural" / "r2.csv").unlink()
    with pytest.raises(ReportError, match="r2.csv not found"):
        build_context(out["results"], *args)
    out = write_fixture_results(tmp_path / "b", study, with_montecarlo=False)
    doc = json.loads((out["results"] / "claims.json").read_text())
    doc["claims"] = doc["claims"][1:]
    (out["results"] / "claims.json").write_text(json.dumps(doc))
    with pytest.raises(ReportError, match="does not match the study spec"):
        build_context(out["results"], *args)


def test_helpers(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert sha256_file(f) == hashlib.sha256(b"abc").hexdigest()
    versions = package_versions(["jinja2", "surely-not-an-installed-package"])
    import jinja2
    assert versions == {"jinja2": jinja2.__version__, "surely-not-an-installed-package": "not installed"}
