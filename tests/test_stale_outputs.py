"""Issue 19 point 4: a failed data stage leaves no result of the previous run behind.

* :func:`remove_downstream` deletes exactly the results computed from the
  survey (measurement, structural, claims, report, strict check) and keeps the
  data stage's inputs and the Monte Carlo study;
* end to end, in a scratch copy: a good run, then a survey with an
  out-of-range code; the run fails naming the file and column, and the old
  report, ``results/claims.json``, every measurement and structural result
  and ``results/data/source.json`` are gone (the Monte Carlo study is kept).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xhs_sharing.data.stale import DATA_STAGE, downstream_of_data, remove_downstream
from xhs_sharing.results import BY_KEY, FILES, MONTECARLO_DIR, PATHS

SURVEY_RESULTS = ("item_descriptives", "checks", "cfa_fit", "paths", "fit", "indirect", "bootstrap", "claims",
                  "report", "strict_check")


def test_the_downstream_results_are_those_computed_from_the_survey():
    stale = set(downstream_of_data())
    assert {PATHS[k] for k in SURVEY_RESULTS} <= stale
    assert all(key in BY_KEY for key in DATA_STAGE)
    assert not stale & {PATHS[k] for k in DATA_STAGE}
    assert not any(p.startswith(MONTECARLO_DIR) for p in stale)


def test_remove_downstream_deletes_them_and_nothing_else(tmp_path):
    concrete = [f.path for f in FILES if "{" not in f.path]
    for rel in concrete:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("old", encoding="utf-8")
    removed = remove_downstream(tmp_path)
    assert sorted(removed) == sorted(p for p in downstream_of_data() if "{" not in p)
    left = sorted(rel for rel in concrete if (tmp_path / rel).exists())
    assert left == sorted(rel for rel in concrete if rel not in removed)
    assert PATHS["source"] in left and PATHS["power"] in left and PATHS["report"] not in left
    assert remove_downstream(tmp_path) == []  # nothing left to remove


def test_remove_downstream_deletes_every_file_a_wildcard_path_stands_for(tmp_path):
    """One robustness document per specification: every one is stale with the survey, the chunks of the MC study are not."""
    specs = [tmp_path / PATHS["robustness_spec"].format(spec=s) for s in ("ML-listwise-as_specified", "MLR-fiml-x")]
    chunk = tmp_path / PATHS["montecarlo_chunk"].format(n=150, chunk=0)
    for f in (*specs, chunk):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("old", encoding="utf-8")
    removed = remove_downstream(tmp_path)
    assert removed == sorted(f.relative_to(tmp_path).as_posix() for f in specs)
    assert chunk.exists() and not any(f.exists() for f in specs)


@pytest.mark.slow
def test_a_failed_data_stage_after_a_good_run_leaves_no_stale_result(tmp_path):
    from test_e2e import SMALL, run, scratch_copy

    work = scratch_copy(tmp_path)
    run(work, "--cores", "2", "--configfile", str(SMALL), "-q")
    for key in (*SURVEY_RESULTS[:-1], "source", "power"):
        assert (work / PATHS[key]).exists(), key
    good_source = json.loads((work / PATHS["source"]).read_text(encoding="utf-8"))
    present = [p for p in downstream_of_data() if "{" not in p and (work / p).exists()]

    bad = work / "bad survey.csv"
    frame = pd.read_csv(work / PATHS["synthetic_survey"], dtype={"respondent_id": str})
    frame.loc[[4, 9], "es2"] = 9  # file lines 6 and 11: outside 1..7
    frame.to_csv(bad, index=False)
    proc = run(work, "--cores", "2", "--configfile", str(SMALL), "-q", "--config", f"data={bad}", check=False)
    assert proc.returncode != 0
    log = (work / "logs" / "data" / "prepare_data.log").read_text(encoding="utf-8")
    assert str(bad) in log and "es2" in log and "9" in log
    assert len(present) > 18  # the report, claims and every result of the measurement and structural steps
    assert f"removed {len(present)} result(s) of the previous run, stale once the data change" in log

    for key in SURVEY_RESULTS:
        assert not (work / PATHS[key]).exists(), f"{PATHS[key]} outlived the failed data stage"
    assert not any((work / "results" / "measurement").glob("*"))
    assert not any((work / "results" / "structural").glob("*"))
    assert not (work / PATHS["source"]).exists() and not (work / PATHS["items"]).exists()
    # kept: the synthetic survey of the good run and the Monte Carlo study, which never read the survey
    assert (work / PATHS["power"]).exists() and (work / PATHS["synthetic_survey"]).exists()
    assert good_source["kind"] == "synthetic"
