"""Issue 19 point 6: an item flagged reverse-coded that the user has recoded already.

The package's generator draws the default survey; writing es3 as ``8 - x``
(what a user who recoded it before handing the file over sends) turns its
correlation with es1 and es2 negative after the package's own recoding. The
data stage says "es3 looks already reverse-coded" in ``source.json``'s
warnings (the report's data-warnings callout) and the log; the untouched
survey gets no such warning. Failed measurement checks are counted and
named in the report's summary, not only in the checks table.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.data.reverse import already_reversed
from xhs_sharing.data.survey import load_survey
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import render_report
from xhs_sharing.results import path as result_path
from xhs_sharing.study.synthetic import codebook, simulate_survey

WARNING = re.compile(r"survey\.csv: es3 looks already reverse-coded \(its correlation with the other ES items is "
                     r"-\.(\d\d) after recoding\)")


@pytest.fixture(scope="module")
def surveys(tmp_path_factory, study) -> dict[str, Path]:
    """The default study's survey (N = 500) as drawn, and with es3 recoded by the 'user'."""
    root = tmp_path_factory.mktemp("reversed")
    frame = simulate_survey(study, 500, 20261127)
    (root / "good").mkdir()
    (root / "bad").mkdir()
    frame.to_csv(root / "good" / "survey.csv", index=False)
    frame.assign(es3=8 - frame["es3"]).to_csv(root / "bad" / "survey.csv", index=False)
    return {"good": root / "good" / "survey.csv", "bad": root / "bad" / "survey.csv"}


def test_an_item_recoded_twice_is_named_in_the_warnings_and_the_log(surveys, study, caplog):
    book = codebook(study, 7)
    with caplog.at_level(logging.WARNING, logger="xhs_sharing.data.reverse"):
        survey = load_survey(surveys["bad"], book, min_rows=75, missing="listwise")
    warnings = [w for w in survey.summary()["warnings"] if "reverse-coded" in w]
    assert len(warnings) == 1
    match = WARNING.search(warnings[0])
    assert match is not None, warnings[0]
    r = -int(match.group(1)) / 100
    assert -0.8 < r < -0.3  # es3 loads about .8: its rest correlation flips sign, it does not vanish
    assert "set reverse: false for it in the study spec" in warnings[0]
    assert any(WARNING.search(rec.getMessage()) for rec in caplog.records)
    assert list(already_reversed(survey.items, book)) == ["es3"]


def test_a_survey_stored_as_answered_gets_no_such_warning(surveys, study):
    survey = load_survey(surveys["good"], codebook(study, 7), min_rows=75, missing="listwise")
    assert not any("reverse-coded" in w for w in survey.warnings)
    assert already_reversed(survey.items, codebook(study, 7)) == {}


def test_the_report_shows_the_warning_at_the_top_and_failed_checks_in_the_summary(tmp_path):
    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    checks_file = out["results"] / Path(result_path("checks")).relative_to("results")
    doc = json.loads(checks_file.read_text(encoding="utf-8"))
    for c in doc["checks"]:
        if c["construct"] == "ES" and c["statistic"] in ("alpha", "cr"):
            c.update(value=-1.14 if c["statistic"] == "alpha" else 0.41, passed=False, status="fail")
    checks_file.write_text(json.dumps(doc), encoding="utf-8")
    fx = fixed_inputs("observed")
    warning = ("survey.csv: es3 looks already reverse-coded (its correlation with the other ES items is -.45 after "
               "recoding)")
    source = {**fx["data_source"], "warnings": [warning]}
    html = render_report(build_context(out["results"], study, fx["config_text"], text, source, fx["run_info"], None))
    summary = re.search(r'<section id="summary">(.*?)</section>', html, re.S).group(1)
    assert warning in re.search(r'id="data-warnings">(.*?)</div>', summary, re.S).group(1)
    failed = re.search(r'id="summary-measurement-failed">(.*?)</div>', summary, re.S)
    assert failed is not None
    # the two made to fail here and the fixture's own HTMT failure, each with its value and threshold
    assert failed.group(1).startswith("<strong>3 measurement checks failed:</strong> alpha of ES (ES): \u22121.140 vs "
                                      "\u2265 0.70; cr of ES (ES): 0.410 vs \u2265 0.70; HTMT CN-SN (CN-SN): 0.870 vs "
                                      "&lt; 0.85")


def test_no_failed_check_no_summary_line(tmp_path):
    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    fx = fixed_inputs()
    html = render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"], None))
    doc = json.loads((out["results"] / "measurement" / "checks.json").read_text(encoding="utf-8"))
    n_failed = sum(c["status"] == "fail" for c in doc["checks"])
    assert ("summary-measurement-failed" in html) == (n_failed > 0)
    if n_failed:
        assert f"{n_failed} measurement check" in html
