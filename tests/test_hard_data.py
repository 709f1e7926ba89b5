"""Issue 19 points 1-2: hard data are diagnosed in seconds, with the constructs or items named.

Each case of ``tests/hard_data.py`` (drawn with the package's generator) goes
through :func:`~xhs_sharing.analysis.diagnostics.diagnose`; a stop names the
constructs or items and the likely cause. The bootstrap stops early above
``structural.max_failure_rate`` and counts failures by reason. End to end
(slow), a stopped run leaves no measurement or structural result and no
report. The 60 s bound is checked by ``benchmarks/hard_data.py``, not here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hard_data
from xhs_sharing.analysis.diagnostics import DEFAULTS, Diagnostics, Finding, diagnose, htmt_findings
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.results import PATHS
from xhs_sharing.sem.bootstrap import NOT_REFITTED, BootstrapFailure, _Collector
from xhs_sharing.study.synthetic import codebook


@pytest.fixture(scope="module")
def frames(study):
    book = codebook(study, 7)
    return {name: analysis_frame(build(study), book) for name, build in hard_data.CASES.items()}


@pytest.mark.parametrize(("case", "subjects", "words"), [
    ("near_collinear", ("IS", "ES"), ["HTMT 0.963", "empirically one construct"]),
    ("extreme_collinear", ("IS", "ES"), ["HTMT 0.999", "merge the two constructs or drop one"]),
    ("item_copy", ("pa1", "pa2"), ["98.6% of the respondents", "duplicated or copied column"]),
])
def test_model_free_checks_stop_naming_the_constructs_or_items(frames, study, case, subjects, words):
    out = diagnose(frames[case], study)
    assert out.verdict == "stop"
    assert [f.subjects for f in out.stops] == [subjects]
    message = out.stop_message()
    assert all(w in message for w in words), message


def test_straight_lining_is_named_as_the_likely_cause(frames, study):
    out = diagnose(frames["straight_lining"], study)
    assert out.straight_liners == 150
    assert len(out.stops) == 8 and ("ES", "CN") in [f.subjects for f in out.stops]
    message = out.stop_message()
    assert "ES and CN have HTMT 1.193" in message and "above 1 their items correlate more" in message
    assert "and 4 more (ES/WSI, PR/CN, PC/CN, CN/WSI)" in message
    assert "150 of 500 respondents (30%) give one answer to every item: straight-lining" in message


def test_a_heywood_case_stops_naming_the_item(frames, study):
    out = diagnose(frames["heywood"], study)
    assert [(f.check, f.subjects) for f in out.stops] == [("improper_cfa", ("pr1", "PR"))]
    assert "residual variance -0.170, standardized loading 1.061 (a Heywood case)" in out.stops[0].message


def test_few_respondents_weaken_the_model_without_stopping(frames, study):
    out = diagnose(frames["small_n"], study)
    assert out.verdict == "weakened" and not out.stops
    assert [f.check for f in out.weakens] == ["n_per_parameter"]
    assert "80 respondents for the structural model's 75 free parameters (1.07 per parameter" in out.weakens[0].message
    doc = out.document()
    assert doc["verdict"] == "weakened" and doc["n_per_parameter"] == 1.067


def test_the_default_survey_passes(study):
    from xhs_sharing.study.synthetic import simulate_survey

    frame = analysis_frame(simulate_survey(study, 500, 20261127), codebook(study, 7))
    out = diagnose(frame, study)
    assert out.verdict == "ok" and out.findings == [] and out.straight_liners == 0


def test_the_htmt_cut_offs_bite_where_they_should():
    table = pd.DataFrame([[1, 0.95, 0.90], [0.95, 1, 0.5], [0.90, 0.5, 1]], index=list("ABC"), columns=list("ABC"))
    found = htmt_findings(table, DEFAULTS["htmt_stop"])
    assert [(f.severity, f.subjects) for f in found] == [("stop", ("A", "B")), ("weakens", ("A", "C"))]
    assert htmt_findings(table, 0.96)[0].severity == "weakens"  # the cut-off comes from the config


def test_the_stop_message_names_every_finding():
    d = Diagnostics([Finding("htmt", "stop", ("A", "B"), "first."), Finding("x", "weakens", (), "w.")], 10, 5, 0)
    assert d.verdict == "stop"
    assert "(1) first." in d.stop_message() and "w." not in d.stop_message()


def test_the_bootstrap_stops_early_on_its_first_chunks_and_counts_by_reason():
    collector = _Collector([100, 100, 100, 100], None, max_failure_rate=0.10)
    thetas = np.zeros((100, 2))
    collector.add(1, thetas, ["converged"] * 100)  # chunk 1 alone: chunk 0 is not in yet, nothing judged
    ok = ["converged"] * 85 + ["improper"] * 12 + [NOT_REFITTED] * 3
    with pytest.raises(BootstrapFailure) as err:
        collector.add(0, thetas, ok)  # chunks 0-2 hold 250: not yet all in
        collector.add(2, thetas, ["converged"] * 80 + ["improper"] * 20)
    assert err.value.early and err.value.judged == 300
    assert err.value.failures == {"improper": 32, NOT_REFITTED: 3}
    assert (f"first 300 of 400 resamples: 35 failed (12%: improper 32, {NOT_REFITTED} 3), more than "
            "structural.max_failure_rate = 0.1") in str(err.value)


def test_below_the_threshold_the_bootstrap_goes_on():
    collector = _Collector([250, 250], None, max_failure_rate=0.10)
    collector.add(0, np.zeros((250, 2)), ["converged"] * 225 + ["improper"] * 25)  # exactly 10%: not more
    assert collector.checked and collector.failed == 25


@pytest.mark.slow
def test_the_small_survey_stops_in_the_bootstrap_with_its_reasons(frames, study):
    from xhs_sharing.pipeline.structural import run_structural

    with pytest.raises(BootstrapFailure) as err:
        run_structural(frames["small_n"], study, boot_seed=1, mc_seed=2, n_boot=1000, hint=" Likely cause: few.")
    message = str(err.value)
    assert message.startswith("the bootstrap stopped after its first 250 of 1000 resamples")
    assert "more than structural.max_failure_rate = 0.1" in message and "Likely cause: few." in message
    assert set(err.value.failures) <= {"improper", NOT_REFITTED} and sum(err.value.failures.values()) > 25


@pytest.mark.slow
@pytest.mark.parametrize(("case", "words"), [
    ("near_collinear", "IS and ES have HTMT 0.963"),
    ("heywood", "item pr1 of PR"),
    ("straight_lining", "straight-lining"),
])
def test_a_stopped_run_names_the_cause_and_leaves_no_result(tmp_path, case, words):
    from test_e2e import SMALL, run, scratch_copy

    work = scratch_copy(tmp_path)
    survey = hard_data.write_case(case, work)
    (work / "case.yaml").write_text(f"data: {{path: '{survey}'}}\nmontecarlo: {{in_report: false}}\n", encoding="utf-8")
    proc = run(work, "--cores", "2", "--configfile", str(SMALL), str(work / "case.yaml"), "-q", check=False)
    assert proc.returncode != 0
    log = (work / "logs" / "measurement" / "diagnostics.log").read_text(encoding="utf-8")
    assert "the measurement diagnostics stop the run" in log and words in log
    for key in ("diagnostics", "checks", "loadings", "paths", "bootstrap", "claims", "report"):
        assert not (work / PATHS[key]).exists(), f"{PATHS[key]} exists after the stop"


def test_the_report_says_at_its_top_what_weakens_the_model(tmp_path, frames, study):
    import json

    from report_fixtures import fixed_inputs, write_fixture_results
    from xhs_sharing.report.context import build_context
    from xhs_sharing.report.render import render_report

    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    fx = fixed_inputs()

    def render() -> str:
        return render_report(build_context(out["results"], study, fx["config_text"], "s", fx["data_source"],
                                           fx["run_info"]))

    html = render()  # no diagnostics file; 6 of 2,000 resamples failed, under 1%: said in the mediation section only
    assert 'id="summary-weakened"' not in html
    assert "0.3% of the bootstrap resamples failed (not converged 6): percentile intervals from" in html
    (tmp_path / PATHS["diagnostics"]).write_text(json.dumps(diagnose(frames["small_n"], study).document()),
                                                 encoding="utf-8")
    boot_path = tmp_path / PATHS["bootstrap"]
    boot = json.loads(boot_path.read_text(encoding="utf-8"))
    boot.update(converged=boot["requested"] - 50, failed=50, failures={"improper": 48, "nonconverged": 2})
    boot_path.write_text(json.dumps(boot), encoding="utf-8")
    html = render()
    top = html[html.index('id="summary-weakened"'):]
    top = top[:top.index("</div>")]
    assert "80 respondents for the structural model&#39;s 75 free parameters" in top
    share = f"{50 / boot['requested']:.1%}"
    assert (f"{share} of the bootstrap resamples failed (improper 48, nonconverged 2): percentile intervals from "
            "the surviving resamples may be biased") in top
    assert html.index('id="summary-weakened"') < html.index('id="summary-claims"')


def test_predictor_collinearity_is_judged_by_its_vif(study):
    from xhs_sharing.analysis.diagnostics import collinearity_findings

    ids = study.construct_ids
    r = pd.DataFrame(np.eye(len(ids)), index=ids, columns=ids)
    r.loc["IS", "ES"] = r.loc["ES", "IS"] = 0.96  # both predict SN: VIF 1 / (1 - .96^2) = 12.8
    found = collinearity_findings(r, study, vif_stop=10)
    targets = [p.target for p in study.paths if p.source == "IS" and ("ES", p.target) in
               {(q.source, q.target) for q in study.paths}]  # every equation IS and ES both predict
    assert "SN" in targets
    assert sorted(f.subjects for f in found) == sorted([("IS", t) for t in targets] + [("ES", t) for t in targets])
    assert {f.severity for f in found} == {"stop"}
    assert "variance inflation factor of 12.8" in found[0].message and "with ES is 0.960" in found[0].message
    r.loc["IS", "ES"] = r.loc["ES", "IS"] = 0.90  # VIF 5.3: from half of vif_stop the model is weakened
    assert {f.severity for f in collinearity_findings(r, study, vif_stop=10)} == {"weakens"}


def test_a_model_that_does_not_converge_is_told_where_to_look(frames, study):
    from xhs_sharing.analysis.diagnostics import nonconvergence_hint

    assert nonconvergence_hint(frames["near_collinear"], study) == (
        "The most alike constructs are IS and ES (HTMT 0.963); check their items for near-duplicates, or too few "
        "respondents.")
