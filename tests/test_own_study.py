"""A researcher's own study spec and survey, end to end (issue 12, "done when").

The spec (``tests/e2e/own_study/study.yaml``) shares nothing with the paper's:
five other constructs, item ids of another form, a 6-point scale, a
two-mediator chain as a claim, no population values and no paper sections.
The survey (drawn by ``make_survey.py`` with the package's generator) has
upper-case item columns, about 3% of answers missing and two respondents who
answered nothing. The runs check:

* listwise deletion, strict mode: the claims and the report are written, the
  run fails naming the claim made to fail, the report counts respondents
  correctly and has no sentence written for the paper;
* the reproduce command shown in that report, run in a fresh copy, gives the
  same result bytes;
* FIML: every respondent with an answer is analysed; the missing-data summary
  is in the results and the report.
"""

from __future__ import annotations

import html as htmlmod
import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from test_e2e import SMALL, digests, run, scratch_copy

pytestmark = pytest.mark.slow

OWN = "tests/e2e/own_study"
SURVEY = "own_survey.csv"
N_ROWS, N_EMPTY, N_COMPLETE = 400, 2, 258
"""Rows of the file, respondents with no answer, respondents with every answer (see test_the_survey_is_as_designed)."""

PAPER_TEXT = (
    "Xiaohongshu", "the paper", "The paper", "paper's", "interview evidence",
    "qualitative evidence", "not the paper's questionnaire", "Claims of the paper",
)


def prepare(work):
    """Scratch copy of the repository with the test survey written into it (relative paths only)."""
    scratch_copy(work)
    subprocess.run([sys.executable, f"{OWN}/make_survey.py", SURVEY], cwd=work, check=True)
    return work


def config_args(missing: str, *extra: str) -> list[str]:
    return ["--configfile", str(SMALL), "-q", "--config", f"study={OWN}/study.yaml",
            f"data={{path: {SURVEY}, scale_points: 6, missing: {missing}}}", *extra]


def report_text(work) -> str:
    return (work / "reports" / "replication_report.html").read_text(encoding="utf-8")


def visible_text(page: str) -> str:
    """The report's text as a reader sees it: no tags, no style or script, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return htmlmod.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_survey_is_as_designed(tmp_path):
    prepare(tmp_path)
    frame = pd.read_csv(tmp_path / SURVEY)
    items = frame.columns[1:]
    assert len(frame) == N_ROWS and all(c == c.upper() for c in items)
    assert int(frame[items].isna().all(axis=1).sum()) == N_EMPTY
    assert int(frame[items].notna().all(axis=1).sum()) == N_COMPLETE
    assert frame[items].min().min() == 1 and frame[items].max().max() == 6


@pytest.fixture(scope="module")
def strict_listwise(tmp_path_factory):
    work = prepare(tmp_path_factory.mktemp("listwise"))
    proc = run(work, "--cores", "2", *config_args("listwise", "strict=true"), check=False)
    return work, proc


def test_strict_mode_fails_after_writing_claims_and_report(strict_listwise):
    work, proc = strict_listwise
    assert proc.returncode != 0
    doc = json.loads((work / "results" / "claims.json").read_text(encoding="utf-8"))
    failed = {c["id"] for c in doc["claims"] if c["verdict"] == "not_reproduced"}
    assert "PQ-/->SAT" in failed
    log = (work / "logs" / "claims" / "strict_check.log").read_text(encoding="utf-8")
    assert "PQ-/->SAT" in log
    assert (work / "reports" / "replication_report.html").is_file()


def test_the_two_mediator_chain_is_a_claim_and_the_product_of_its_paths(strict_listwise):
    work, _ = strict_listwise
    doc = json.loads((work / "results" / "claims.json").read_text(encoding="utf-8"))
    chain = next(c for c in doc["claims"] if c["id"] == "PQ->SAT->TRU->LOY")
    paths = pd.read_csv(work / "results" / "structural" / "paths.csv")
    est = {(r["rhs"], r["lhs"]): r["est"] for r in paths.to_dict("records") if r["op"] == "~"}
    product = est[("PQ", "SAT")] * est[("SAT", "TRU")] * est[("TRU", "LOY")]
    assert chain["estimate"] == pytest.approx(product, rel=1e-8)
    indirect = pd.read_csv(work / "results" / "structural" / "indirect_effects.csv")
    row = indirect[(indirect["x"] == "PQ") & (indirect["mediator"] == "SAT->TRU") & (indirect["y"] == "LOY")]
    assert len(row) == 1 and row["est"].iloc[0] == pytest.approx(product, rel=1e-8)
    assert "PQ \u2192 SAT \u2192 TRU \u2192 LOY" in visible_text(report_text(work))


def test_listwise_counts_in_results_and_report(strict_listwise):
    work, _ = strict_listwise
    source = json.loads((work / "results" / "data" / "source.json").read_text(encoding="utf-8"))
    assert source["n_rows"] == N_ROWS
    assert source["n_analysed"] == N_COMPLETE
    assert source["dropped_rows"] == N_ROWS - N_COMPLETE
    text = " ".join(visible_text(report_text(work)).split())
    assert f"{N_COMPLETE:,} respondents analysed of {N_ROWS:,} rows, {N_ROWS - N_COMPLETE:,} rows dropped" in text


def test_no_sentence_written_for_the_paper(strict_listwise):
    work, _ = strict_listwise
    text = visible_text(report_text(work))
    found = [phrase for phrase in PAPER_TEXT if phrase in text]
    assert found == [], found
    assert "Customer loyalty in an online shop" in text


def test_the_monte_carlo_study_is_skipped_with_its_reason(strict_listwise):
    work, _ = strict_listwise
    assert not (work / "results" / "montecarlo").exists()
    assert "no population values" in visible_text(report_text(work))


def reproduce_words(page: str) -> list[str]:
    """The snakemake words of the report's reproduce command (the pip install before && is not run here)."""
    match = re.search(r'<pre class="command"><code>(.*?)</code>', page, flags=re.S)
    assert match, "the report shows no reproduce command"
    command = htmlmod.unescape(match.group(1)).strip()
    words = shlex.split(command.split(" && ", 1)[1])
    assert words[0] == "snakemake"
    return words[1:]


def test_the_reproduce_command_gives_the_same_results(strict_listwise, tmp_path):
    work, _ = strict_listwise
    args = reproduce_words(report_text(work))
    assert "strict=true" in args and f"study={OWN}/study.yaml" in args
    again = prepare(tmp_path)
    proc = run(again, *args, "-q", check=False)
    assert proc.returncode != 0  # strict mode fails again, for the same claim
    assert digests(again) == digests(work)


@pytest.fixture(scope="module")
def fiml(tmp_path_factory):
    work = prepare(tmp_path_factory.mktemp("fiml"))
    run(work, "--cores", "2", *config_args("fiml"))
    return work


def test_fiml_analyses_every_respondent_with_an_answer(fiml):
    source = json.loads((fiml / "results" / "data" / "source.json").read_text(encoding="utf-8"))
    assert source["n_rows"] == N_ROWS
    assert source["n_analysed"] == N_ROWS - N_EMPTY
    text = visible_text(report_text(fiml))
    assert f"{N_ROWS - N_EMPTY:,} respondents analysed" in text
    assert "answered no item" in text


def test_the_missing_data_summary(fiml):
    frame = pd.read_csv(fiml / SURVEY)
    answered = frame.iloc[:, 1:].notna()
    answered = answered[answered.any(axis=1)]  # respondents with at least one answer
    text = " ".join(visible_text(report_text(fiml)).split())
    assert "full-information maximum likelihood (FIML)" in text
    incomplete = int((~answered.all(axis=1)).sum())
    assert f"{incomplete:,} of {len(answered):,} respondents" in text
    both = answered.astype(float).T @ answered.astype(float) / len(answered)  # lavaan's coverage matrix
    low = both.where(~pd.DataFrame(np.eye(len(both), dtype=bool), both.index, both.columns)).stack().min()
    assert "coverage, the share of respondents who answered both items of a pair" in text
    assert f"is {low:.3f}" in text
    coverage = pd.read_csv(fiml / "results" / "data" / "coverage.csv", index_col="item")
    assert np.allclose(coverage.to_numpy(), both.to_numpy(), atol=1e-9)
