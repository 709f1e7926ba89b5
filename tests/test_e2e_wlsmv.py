"""``snakemake --cores 2 --config estimator=WLSMV`` runs the whole DAG and the report (issue 13), in a scratch copy.

The small config (200 resamples) keeps it to a minute or two; the full
5,000-resample run is timed in the closing note of issue 13.
"""

from __future__ import annotations

import json
import re

import pytest

from test_e2e import ROOT, SMALL, run, scratch_copy

pytestmark = [pytest.mark.slow]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_wlsmv_run_end_to_end(tmp_path) -> None:
    work = scratch_copy(tmp_path)
    run(work, "--cores", "2", "--configfile", str(SMALL), "-q", "--config", "estimator=WLSMV")
    res = work / "results"
    fit = json.loads((res / "structural" / "fit.json").read_text())
    cfa = json.loads((res / "measurement" / "cfa_fit.json").read_text())
    boot = json.loads((res / "structural" / "bootstrap.json").read_text())
    for doc, df in ((fit, 250), (cfa, 247)):
        assert (doc["estimator"], doc["missing"], doc["test"], doc["se"], doc["df"]) == (
            "WLSMV", "listwise", "scaled.shifted", "robust.sem", df)
        # T3 = a T + b with a = 1 / scaling_factor
        assert doc["chi2_scaled"] == pytest.approx(doc["chi2"] / doc["scaling_factor"] + doc["shift"], rel=1e-9)
    assert fit["chi2"] == pytest.approx(123.120330674938, rel=1e-6)  # lavaan 0.6-14 on this survey
    assert (boot["estimator"], boot["engine"], boot["requested"]) == ("WLSMV", "batched WLSMV", 200)
    cats = boot["categories"]
    assert boot["converged"] + boot["failed"] == 200 and cats["merge_events"] > 0
    assert cats["resamples_with_merged_categories"] <= cats["merge_events"] == sum(cats["by_item"].values())
    checks = json.loads((res / "measurement" / "checks.json").read_text())["checks"]
    cfi = next(c for c in checks if c["check"] == "cfi")
    assert cfi["value"] == pytest.approx(cfa["cfi_scaled"])  # judged by the scaled index
    text = _text((work / "reports" / "replication_report.html").read_text(encoding="utf-8"))
    assert "Answers per category (WLSMV: the margins the thresholds come from)" in text
    assert "IS is1 500 11 46 125 159 111 39 9 7 6" in text  # counts, categories, thresholds of is1
    assert "the ratios are of the polychoric correlations" in text
    assert "Fit of the structural model (WLSMV)" in text
    assert f"In {cats['resamples_with_merged_categories']} of 200 resamples a category of the survey was not drawn" in text
    assert "WLSMV: DWLS estimates on polychoric correlations, robust SEs, mean-and-variance adjusted " \
           "(scaled-shifted) test; listwise deletion" in text


def test_wlsmv_with_fiml_and_missing_answers_stops_with_the_reason(tmp_path) -> None:
    work = scratch_copy(tmp_path)
    survey = ROOT / "tests" / "reference" / "data" / "skewed_items.csv"
    proc = run(work, "--cores", "2", "-q", "--config", "estimator=WLSMV", f"data={{path: {survey}, missing: fiml}}",
               check=False)
    assert proc.returncode != 0
    log = (work / "logs" / "measurement" / "measurement.log").read_text()
    assert "estimator WLSMV uses listwise deletion" in log and "pairwise deletion under WLSMV is a later option" in log
    assert not (work / "results" / "claims.json").exists()
