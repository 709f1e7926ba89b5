"""``snakemake --cores 2 --config estimator=MLR`` runs the whole DAG and the report (issue 13), in a scratch copy."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from test_e2e import run, scratch_copy

pytestmark = [pytest.mark.slow]


def test_mlr_run_end_to_end(tmp_path) -> None:
    work = scratch_copy(tmp_path)
    run(work, "--cores", "2", "--config", "estimator=MLR", "robustness={enabled: false}")  # MLR's own outputs only
    res = work / "results"
    fit = json.loads((res / "structural" / "fit.json").read_text())
    cfa = json.loads((res / "measurement" / "cfa_fit.json").read_text())
    boot = json.loads((res / "structural" / "bootstrap.json").read_text())
    for doc in (fit, cfa):
        assert (doc["estimator"], doc["missing"], doc["test"], doc["se"]) == (
            "MLR", "listwise", "yuan.bentler.mplus", "robust.huber.white")
        assert doc["chi2_scaled"] == pytest.approx(doc["chi2"] / doc["scaling_factor"], rel=1e-9)
    assert boot["estimator"] == "MLR" and "ML bootstrap" in boot["note"] and boot["mc_information"] == "sandwich"
    for table in ("measurement/loadings.csv", "structural/paths.csv", "structural/r2.csv",
                  "structural/indirect_effects.csv", "structural/equivalence.csv"):
        assert set(pd.read_csv(res / table)["estimator"]) == {"MLR"}, table
    assert json.loads((res / "claims.json").read_text())["estimator"] == "MLR"
    html = (work / "reports" / "replication_report.html").read_text(encoding="utf-8")
    assert "Yuan-Bentler scaled chi-square (Mplus variant), scaling factor" in html
    assert "robust (Huber-White sandwich)" in html
    assert "Fit of the structural model (MLR)" in html
