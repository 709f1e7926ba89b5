"""The report's data and provenance parts: counts, missing answers, data warnings, run time (issue 12 points 1, 2, 6, 9, 12)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.pipeline.provenance import earliest_start, run_info, step_times, utc_stamp
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import render_report
from xhs_sharing.report.sections.provenance import data_view, dropped_text

ITEMS = ["a1", "a2", "b1"]


def _source(method: str, incomplete: int = 364, no_answer: int = 0) -> dict:
    """A source.json as the data stage writes it for 2,800 rows with ``incomplete`` partial respondents."""
    n = 2800 - no_answer
    listwise = incomplete if method == "listwise" else 0
    return {
        "kind": "observed", "path": "/data/bfi survey.csv", "sha256": "ef" * 32, "n_rows": 2800,
        "n_analysed": n - listwise, "missing": method, "dropped_rows": listwise + no_answer,
        "listwise_rows": listwise, "no_answer_rows": no_answer, "dropped_ids": [], "renamed_columns": {"A1": "a1"},
        "answer_range": [1, 6],
        "warnings": ["/data/bfi survey.csv: no answer in the whole file uses the top code 7 of the declared 7-point "
                     "scale (answers range 1..6)"],
        "missing_data": {"method": method, "n_respondents": n, "n_incomplete": incomplete, "n_patterns": 87,
                         "per_item": [{"item": "a1", "n_missing": 16, "share_missing": 16 / n},
                                      {"item": "a2", "n_missing": 27, "share_missing": 27 / n},
                                      {"item": "b1", "n_missing": 0, "share_missing": 0.0}],
                         "min_coverage": {"items": ["a1", "a2"], "value": 0.9875}, "listwise_rows": listwise},
    }


def test_listwise_counts_analysed_and_dropped_rows_apart():
    view = data_view(_source("listwise"))
    assert view["text"] == ("observed data: the user's file \u201cbfi survey.csv\u201d, 2,436 respondents analysed "
                            "of 2,800 rows, 364 rows dropped.")
    assert (view["n_analysed"], view["n_rows"], view["dropped_rows"]) == ("2,436", "2,800", "364")
    assert view["dropped_text"] == "364 (364 with a missing answer, by listwise deletion)"
    assert view["missing"]["text"].startswith("364 of 2,800 respondents (13.0%) left at least one item unanswered, "
                                              "in 87 missing-data patterns")
    assert "is 0.988 (a1, a2). Handled by listwise deletion: the 364 were dropped." in view["missing"]["text"]
    rows = [[c["text"] for c in r["cells"]] for r in view["missing"]["table"]["rows"]]
    assert rows == [["a1", "16", "0.006"], ["a2", "27", "0.010"], ["b1", "0", "0.000"]]


def test_fiml_keeps_everyone_and_says_how_missing_answers_were_handled():
    view = data_view(_source("fiml", no_answer=3))
    assert view["text"].endswith("2,797 respondents analysed of 2,800 rows, 3 rows dropped.")
    assert view["dropped_text"] == "3 (3 who answered no item at all)"
    text = view["missing"]["text"]
    assert "364 of 2,797 respondents" in text and "full-information maximum likelihood (FIML)" in text
    assert text.endswith("3 respondents who answered no item at all were dropped first (as lavaan does).")


def test_complete_data_say_so():
    src = _source("listwise", incomplete=0)
    assert data_view(src)["text"].endswith("2,800 respondents analysed, no rows dropped.")
    assert data_view(src)["missing"] == {"text": "No missing answers: all 2,800 respondents answered every item.",
                                         "table": None}
    assert dropped_text(src) == "none"


def test_the_report_shows_counts_warnings_and_missing_answers(tmp_path: Path):
    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    fx = fixed_inputs("observed")
    html = render_report(build_context(out["results"], study, fx["config_text"], text, _source("listwise"),
                                       fx["run_info"]))
    summary = re.search(r'<section id="summary">(.*?)</section>', html, re.S).group(1)
    assert "2,436 respondents analysed of 2,800 rows, 364 rows dropped" in summary
    assert 'id="data-warnings"' in summary and "uses the top code 7 of the declared 7-point scale" in summary
    assert summary.index("data-warnings") < summary.index("summary-claims")  # near the top
    prov = re.search(r'<section id="provenance">(.*?)</section>', html, re.S).group(1)
    assert "<dt>Respondents analysed</dt><dd>2,436 of 2,800 rows in the file</dd>" in prov
    assert "<dt>Rows dropped</dt><dd>364 (364 with a missing answer, by listwise deletion)</dd>" in prov
    assert "<dt>Columns matched up to case</dt><dd>A1 \u2192 a1</dd>" in prov
    assert "Missing answers per item" in prov and "Started</dt><dd>2026-11-27T10:00:00+00:00" in prov


def _bench(path: Path, seconds: float, mtime: float) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:{seconds:02.0f}\t100\n", encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return str(path)


def test_run_time_adds_the_monte_carlo_jobs_and_started_is_the_first_job_start(tmp_path: Path):
    t0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
    files = [_bench(tmp_path / "benchmarks" / "validate_study.tsv", 2.0, t0 + 2),
             _bench(tmp_path / "benchmarks" / "structural.tsv", 10.0, t0 + 30),
             _bench(tmp_path / "benchmarks" / "montecarlo" / "n150_c0.tsv", 20.0, t0 + 15),
             _bench(tmp_path / "benchmarks" / "montecarlo" / "sensitivity.tsv", 8.0, t0 + 9)]
    assert step_times(files) == {"validate_study": 2.0, "structural": 10.0, "montecarlo/n150_c0": 20.0,
                                 "montecarlo/sensitivity": 8.0}
    assert earliest_start(files) == pytest.approx(t0 - 5)  # the Monte Carlo chunk began first
    survey = tmp_path / "s.csv"
    survey.write_text("x\n")
    info = run_info(seed=1, command="c", inputs=[str(survey), str(survey)], outputs=[], benchmark_files=files,
                    finished="f")
    assert info["run_time_s"] == 40.0 and info["started"] == utc_stamp(t0 - 5) == "2027-01-15 07:59 UTC"
    assert list(info["inputs"]) == [str(survey)]
    assert run_info(seed=1, command="c", inputs=[], outputs=[], benchmark_files=[], finished="f")["started"] == ""
