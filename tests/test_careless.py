"""Issue 19 point 5: the careless-responding screen (long-string index, IRV; data.screen flag | exclude).

* the indices against hand-computed values and against R's careless 1.2.2
  (``tests/reference/careless_indices.R`` writes the fixture);
* the thresholds from the config schema, bad settings named;
* the data stage on the default synthetic survey (nobody flagged) and with
  30% midpoint straight-liners drawn into it: counted and kept under
  ``flag`` (with a warning), dropped and counted under ``exclude``;
* the report's sentence and the dropped-rows reason;
* end to end (slow): both settings through the workflow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.data.careless import CarelessSettings, careless_summary, irv, longstring, screen_table
from xhs_sharing.data.survey import load_survey
from xhs_sharing.errors import DataError
from xhs_sharing.report.sections.provenance import careless_view, dropped_text
from xhs_sharing.study.synthetic import codebook, simulate_survey

REFERENCE = Path(__file__).resolve().parent / "reference"
NAN = np.nan
DEFAULT = CarelessSettings.from_config()


# ---- the indices, by hand ----------------------------------------------------------------------------------

def test_longstring_is_the_longest_run_and_a_missing_answer_breaks_it():
    x = np.array([
        [1, 1, 2, 2, 2, 3],        # runs 2, 3, 1
        [4, 4, 4, 4, 4, 4],        # one run of 6
        [5, 5, NAN, 5, 5, 5],      # NA breaks the run: 2, 1, 3
        [NAN, NAN, NAN, NAN, NAN, NAN],  # each NA a run of 1 (R's rle)
        [1, 2, 1, 2, 1, 2],        # alternating: 1
    ])
    assert longstring(x).tolist() == [3, 6, 3, 1, 1]


def test_irv_is_the_sd_of_the_answers_given():
    x = np.array([[3, 3, 3, 3], [1, 2, 3, 4], [1, 7, NAN, NAN], [5, NAN, NAN, NAN], [1, 1, 1, 5]])
    got = irv(x)
    # sd(1:4) = sqrt(5/3); sd(c(1, 7)) = sqrt(18); sd(c(1, 1, 1, 5)) = sqrt(12/3) = 2
    assert got[:3].tolist() == pytest.approx([0.0, np.sqrt(5 / 3), np.sqrt(18)], abs=1e-15)
    assert np.isnan(got[3]) and got[4] == pytest.approx(2.0, abs=1e-15)


def test_the_indices_match_r_careless_on_the_reference_data():
    """R's careless 1.2.2 longstring() and irv() on the default items with straight-liners and holes."""
    ref = pd.read_csv(REFERENCE / "fixtures" / "careless_default.csv", dtype={"respondent_id": str})
    assert set(ref["careless_version"]) == {"1.2.2"}
    x = careless_input()
    assert longstring(x).tolist() == ref["longstring"].tolist()
    got = irv(x)
    assert np.array_equal(np.isnan(got), ref["irv"].isna().to_numpy())
    assert got[~np.isnan(got)] == pytest.approx(ref["irv"].dropna().to_numpy(), rel=1e-12, abs=1e-13)
    assert (ref["longstring"] == 25).sum() == 10 and ref["irv"].isna().sum() == 1  # the rule's cases are there


def careless_input() -> np.ndarray:
    """The matrix of ``tests/reference/careless_indices.R`` (the same rule, 0-based rows)."""
    d = pd.read_csv(REFERENCE / "data" / "default_items.csv", dtype={"respondent_id": str})
    x = d.drop(columns="respondent_id").to_numpy(dtype=float)
    p = x.shape[1]
    for i in range(len(x)):
        if i % 50 == 0:
            x[i] = 4
        if i % 50 == 1:
            x[i] = 7
            x[i, 4] = NAN
        if i % 25 == 2:
            x[i, :12] = 2
        if i % 10 == 3:
            for j in range(1, p + 1):
                if (7 * i + j) % 23 == 0:
                    x[i, j - 1] = NAN
        if i == 7:
            x[i, 1:] = NAN
    return x


# ---- settings and flags ------------------------------------------------------------------------------------

def test_the_defaults_come_from_the_config_schema():
    assert DEFAULT == CarelessSettings("flag", 0.5, 0.0, 0.10)
    assert DEFAULT.longstring_cutoff(25) == 13 and DEFAULT.longstring_cutoff(10) == 5
    assert DEFAULT.longstring_cutoff(3) == 2  # never a run of 1: every answer would be one
    s = CarelessSettings.from_config("exclude", {"irv": 0.5})
    assert (s.screen, s.irv, s.longstring_share) == ("exclude", 0.5, 0.5)


@pytest.mark.parametrize(("screen", "careless", "message"), [
    ("drop", None, "config key data.screen: must be one of ('flag', 'exclude'), got 'drop'"),
    ("flag", {"longstring": 10}, "config key data.careless: unknown key(s) ['longstring']"),
])
def test_bad_settings_are_named(screen, careless, message):
    with pytest.raises(DataError, match=re.escape(message)):
        CarelessSettings.from_config(screen, careless)


def test_flags_follow_the_thresholds():
    x = pd.DataFrame([[4, 4, 4, 4], [1, 1, 2, 3], [4, 4, 4, NAN], [2, 2, 2, 3], [5, NAN, 5, NAN]])
    t = screen_table(x, ["a", "b", "c", "d", "e"], DEFAULT)  # cut-off ceil(.5 * 4) = 2 in a row
    assert t["longstring"].tolist() == [4, 2, 3, 3, 1]
    assert t["flagged_longstring"].tolist() == [True, True, True, True, False]
    assert t["flagged_irv"].tolist() == [True, False, True, False, True]  # e: two answers, both 5 (NA breaks the run)
    strict = screen_table(x, list("abcde"), CarelessSettings("flag", 1.0, 0.5, 0.1))  # 4 in a row, SD <= .5
    assert strict["flagged"].tolist() == [True, False, True, True, True]  # d: sd(2, 2, 2, 3) = .5
    doc = careless_summary(t, DEFAULT, 4)
    assert (doc["n_flagged"], doc["n_longstring"], doc["n_irv"], doc["share_flagged"]) == (5, 4, 3, 1.0)
    assert doc["longstring_cutoff"] == 2 and doc["n_excluded"] == 0 and doc["flagged_ids"] == list("abcde")


# ---- the data stage ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def surveys(tmp_path_factory, study) -> dict[str, Path]:
    """The default synthetic survey, and the same with 150 of 500 (30%) answering the midpoint 4 to every item."""
    root = tmp_path_factory.mktemp("careless")
    frame = simulate_survey(study, 500, 20261127)
    frame.to_csv(root / "survey.csv", index=False)
    items = [c for c in frame.columns if c != "respondent_id"]
    lined = frame.copy()
    lined.loc[lined.index % 10 < 3, items] = 4  # rows 0, 1, 2, 10, 11, 12, ...: file lines 2, 3, 4, 12, ...
    lined.to_csv(root / "straight.csv", index=False)
    return {"good": root / "survey.csv", "straight": root / "straight.csv"}


def test_the_default_synthetic_survey_flags_nobody(surveys, study):
    s = load_survey(surveys["good"], codebook(study, 7), min_rows=75, missing="listwise")
    doc = s.summary()
    assert doc["careless"]["n_flagged"] == 0 and doc["careless_rows"] == 0 and doc["n_analysed"] == 500
    assert doc["careless"]["max_longstring"] == 12  # one respondent, one short of the cut-off 13
    assert s.careless_table["irv"].min() == pytest.approx(0.6532, abs=1e-4)
    assert not any("careless" in w for w in doc["warnings"])


def test_flag_counts_straight_liners_keeps_them_and_warns(surveys, study):
    s = load_survey(surveys["straight"], codebook(study, 7), min_rows=75, missing="listwise")
    doc = s.summary()
    cs = doc["careless"]
    assert (cs["n_flagged"], cs["n_longstring"], cs["n_irv"], cs["n_excluded"]) == (150, 150, 150, 0)
    assert doc["n_analysed"] == 500 and doc["careless_rows"] == 0 and doc["dropped_rows"] == 0
    assert cs["flagged_ids"][:4] == ["R0001", "R0002", "R0003", "R0011"]
    warning = [w for w in doc["warnings"] if "careless" in w]
    assert warning == [f"{surveys['straight']}: 150 of 500 respondents (30.0%) look like careless responders (same "
                       "answer 13 or more times in a row, or answer SD at most 0) and are kept in the analysis; set "
                       "data.screen: exclude to drop them (results/data/careless.csv lists every respondent's "
                       "indices)"]


def test_exclude_drops_them_and_counts_them(surveys, study):
    book = codebook(study, 7)
    s = load_survey(surveys["straight"], book, min_rows=75, missing="listwise",
                    careless=CarelessSettings.from_config("exclude"))
    doc = s.summary()
    assert (doc["n_rows"], doc["n_analysed"], doc["dropped_rows"], doc["careless_rows"]) == (500, 350, 150, 150)
    assert doc["careless"]["n_excluded"] == 150 and doc["listwise_rows"] == 0
    assert doc["dropped_ids"][:3] == ["R0001", "R0002", "R0003"]
    assert "R0001" not in set(s.raw["respondent_id"]) and len(s.items) == 350
    assert doc["missing_data"]["n_respondents"] == 350
    assert not any("careless" in w for w in doc["warnings"])  # dropped, so nothing is kept unsaid
    assert dropped_text(doc) == "150 (150 flagged as careless responders, by data.screen: exclude)"
    with pytest.raises(DataError, match=r"only 350 respondents remain after dropping the 150 flagged as careless "
                                        r"\(data.screen: exclude\), fewer than the 400"):
        load_survey(surveys["straight"], book, min_rows=400, missing="listwise",
                    careless=CarelessSettings.from_config("exclude"))


def test_under_fiml_a_straight_liner_with_a_hole_is_caught_by_the_irv(surveys, study, tmp_path):
    frame = pd.read_csv(surveys["good"], dtype={"respondent_id": str})
    items = [c for c in frame.columns if c != "respondent_id"]
    frame.loc[0, items] = 6.0
    for j in range(0, 25, 5):  # a hole every 5 items: no run longer than 4
        frame.loc[0, items[j]] = np.nan
    frame.to_csv(tmp_path / "holes.csv", index=False)
    s = load_survey(tmp_path / "holes.csv", codebook(study, 7), min_rows=75, missing="fiml")
    row = s.careless_table.iloc[0]
    assert (row["longstring"], row["irv"], row["n_answered"]) == (4, 0.0, 20)
    assert (bool(row["flagged_longstring"]), bool(row["flagged_irv"])) == (False, True)
    assert s.summary()["careless"]["n_flagged"] == 1


# ---- the report --------------------------------------------------------------------------------------------

def test_the_report_sentence_gives_counts_thresholds_and_the_setting(surveys, study):
    doc = load_survey(surveys["straight"], codebook(study, 7), min_rows=75, missing="listwise").summary()
    assert careless_view(doc)["text"] == (
        "150 of 500 respondents (30.0%) flagged by the long-string index (the same answer 13 or more times in a row, "
        "50% of the items or more; Johnson 2005, Curran 2016) or an answer SD (IRV) of at most 0 (Dunn et al. 2018): "
        "150 by the long string, 150 by the IRV. Kept in the analysis (data.screen: flag, the default); data.screen: "
        "exclude drops them. Every respondent's indices: results/data/careless.csv.")
    good = load_survey(surveys["good"], codebook(study, 7), min_rows=75, missing="listwise").summary()
    assert careless_view(good)["text"].startswith("None of the 500 respondents flagged by the long-string index")
    assert "the longest run of identical answers is 12." in careless_view(good)["text"]
    assert careless_view({})["text"] == "No careless-responding screen was recorded for this run."


# ---- end to end --------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("screen", ["flag", "exclude"])
def test_the_workflow_reports_or_drops_straight_liners(tmp_path, screen, surveys):
    from test_e2e import SMALL, run, scratch_copy

    work = scratch_copy(tmp_path)
    target = work / "straight.csv"
    target.write_bytes(surveys["straight"].read_bytes())
    run(work, "--cores", "2", "--configfile", str(SMALL), "-q", "--config",
        f"data={{path: {target}, screen: {screen}}}")
    source = json.loads((work / "results" / "data" / "source.json").read_text(encoding="utf-8"))
    table = pd.read_csv(work / "results" / "data" / "careless.csv", dtype={"respondent_id": str})
    assert len(table) == 500 and int(table["flagged"].sum()) == 150
    html = (work / "reports" / "replication_report.html").read_text(encoding="utf-8")
    summary = re.search(r'<section id="summary">(.*?)</section>', html, re.S).group(1)
    careless = re.search(r'<p id="summary-careless">(.*?)</p>', summary, re.S).group(1)
    assert "150 of 500 respondents (30.0%) flagged" in careless
    items = pd.read_csv(work / "results" / "data" / "items.csv", dtype={"respondent_id": str})
    if screen == "flag":
        assert source["careless_rows"] == 0 and source["n_analysed"] == 500 and len(items) == 500
        assert "Kept in the analysis (data.screen: flag, the default)" in careless
        callout = re.search(r'id="data-warnings">(.*?)</div>', summary, re.S).group(1)
        assert "150 of 500 respondents (30.0%) look like careless responders" in callout
    else:
        assert source["careless_rows"] == 150 and source["n_analysed"] == 350 and len(items) == 350
        assert "Dropped before the models (data.screen: exclude)." in careless
        assert "150 flagged as careless responders, by data.screen: exclude" in html
        assert "look like careless responders" not in html
