"""PLS and PLSc as estimators of the pipeline (issue 15, "What the user gets") and of the robustness grid (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.pls_structural import run_pls_structural
from xhs_sharing.analysis.robustness import Specification, bc_interval
from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.errors import SpecError
from xhs_sharing.pipeline.claims import run_claims
from xhs_sharing.pipeline.configuration import check_cross_fields
from xhs_sharing.pipeline.robustness import PLS_NO_MONTE_CARLO, gather, run_specification
from xhs_sharing.pipeline.structural import PLS_FIT_NOTE, run_structural
from xhs_sharing.report.tables import estimator_text
from xhs_sharing.results import PLS_RESULTS, check_document, check_table
from xhs_sharing.study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
STUDY = load_study(ROOT / "config" / "study.yaml")
ITEMS = read_analysis_table(ROOT / "tests" / "reference" / "data" / "default_items.csv")
SETTINGS = {"bootstrap": 200, "chunk_size": 50, "engine": "batched", "mc_draws": 2000}


@pytest.fixture(scope="module")
def out():
    return run_structural(ITEMS, STUDY, boot_seed=11, mc_seed=12, n_boot=200, chunk_size=50, estimator="PLSc")


@pytest.fixture(scope="module")
def adapter():
    return run_pls_structural(ITEMS, STUDY, consistent=True, n_resamples=200, seed=11, chunk_size=50)


def test_the_structural_step_under_plsc_gives_the_adapters_numbers(out, adapter):
    pd.testing.assert_frame_equal(out.paths, adapter.paths)
    pd.testing.assert_frame_equal(out.r2, adapter.r2)
    pd.testing.assert_frame_equal(out.indirect_effects, adapter.indirect_effects)
    assert set(out.paths["estimator"]) == {"PLSc"} and (out.paths["est"] == out.paths["std_all"]).all()
    # IS -> SN: PLSc path .145 on the default survey, percentile interval from the 200 resamples
    row = out.paths.set_index(["lhs", "rhs"]).loc[("SN", "IS")]
    assert row["est"] == pytest.approx(0.145209, abs=1e-6)
    assert row["ci_low"] < row["est"] < row["ci_high"]
    assert out.indirect_effects["mc_ci_low"].isna().all()


def test_the_plsc_outputs_pass_the_result_file_contract(out):
    for key, table in (("paths", out.paths), ("r2", out.r2), ("indirect", out.indirect_effects),
                       ("equivalence", out.equivalence)):
        check_table(key, table)
    check_document("fit", out.fit)
    check_document("bootstrap", out.bootstrap)
    assert sorted(out.pls) == sorted(PLS_RESULTS)
    for key, table in out.pls.items():
        check_table(key, table)
    assert len(out.pls["pls_outer"]) == 25 and len(out.pls["pls_htmt"]) == 28 and len(out.pls["pls_inner"]) == 15
    # fit.json: no chi-square family under PLS, and the note says why
    assert out.fit["estimator"] == "PLSc" and out.fit["chi2"] is None and out.fit["cfi"] is None
    assert out.fit["n"] == 500 and out.fit["proper"] is True and out.fit["note"] == PLS_FIT_NOTE
    assert out.bootstrap["requested"] == 200 and out.bootstrap["engine"] == "batched PLS"
    assert out.bootstrap["mc_draws"] is None and "no Monte Carlo" in out.bootstrap["note"]


def test_equivalence_tests_use_the_bootstrap_se_and_draws(out, adapter):
    eq = out.equivalence.set_index("id")
    assert list(eq.index) == ["IS->CN", "ES->CN", "IS->CN->WSI", "ES->CN->WSI"]
    path = adapter.paths.set_index(["lhs", "rhs"]).loc[("CN", "IS")]
    z = 1.6448536269514722
    assert eq.loc["IS->CN", "se"] == pytest.approx(path["se"], rel=1e-12)
    assert eq.loc["IS->CN", "ci90_low"] == pytest.approx(path["est"] - z * path["se"], rel=1e-12)
    est, draws = adapter.draws("IS", "CN", "WSI")
    assert eq.loc["IS->CN->WSI", "ci90_low"] == pytest.approx(np.quantile(draws, 0.05), rel=1e-12)
    assert eq.loc["IS->CN->WSI", "estimate"] == pytest.approx(est, rel=1e-12)


def test_claims_are_judged_by_the_percentile_interval_under_plsc(out):
    doc, failed = run_claims(STUDY, out.paths, out.indirect_effects, out.equivalence, out.fit)
    assert doc["estimator"] == "PLSc" and doc["total"] == 19
    by_id = {c["id"]: c for c in doc["claims"]}
    assert by_id["IS->SN"]["interval"] == "percentile bootstrap"
    assert by_id["IS->SN"]["ci_low"] == pytest.approx(out.paths.set_index(["lhs", "rhs"]).loc[("SN", "IS"), "ci_low"])
    assert by_id["IS->SN->WSI"]["interval"] == "percentile bootstrap"
    assert doc["reproduced"] == 19 - len(failed)
    # an inadmissible PLSc solution: no claim reproduced
    bad, _ = run_claims(STUDY, out.paths, out.indirect_effects, out.equivalence,
                        {**out.fit, "proper": False, "problems": ["inadmissible PLSc solution"]})
    assert bad["reproduced"] == 0


def test_the_methods_text_says_plsc_and_how_it_differs_from_ml(out):
    text = estimator_text(out.fit)
    assert text.startswith("Estimator: consistent partial least squares (PLSc; Dijkstra & Henseler 2015)")
    assert "corrected for the attenuation" in text and "no chi-square test" in text


def test_plsc_with_fiml_is_a_config_error_before_any_job():
    check_cross_fields({"estimator": "PLSc", "data": {"missing": "listwise"}})
    check_cross_fields({"estimator": "ML", "data": {"missing": "fiml"}})
    with pytest.raises(SpecError, match="estimator PLS cannot go with data.missing fiml: PLS has no likelihood"):
        check_cross_fields({"estimator": "PLS", "data": {"missing": "fiml"}})
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-q", "--config", "estimator=PLSc",
                           "data={missing: fiml}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "estimator PLSc cannot go with data.missing fiml" in proc.stdout + proc.stderr


# ---- the robustness grid ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec_docs():
    return [run_specification(ITEMS, STUDY, Specification("PLSc", "listwise", model), boot_seed=11, mc_seed=12,
                              settings=SETTINGS, intervals=["percentile", "bc", "monte_carlo"])
            for model in ("as_specified", "full_mediation")]


def test_the_plsc_specification_repeats_the_structural_step(spec_docs, out, adapter):
    doc = spec_docs[0]
    check_document("robustness_spec", doc)
    json.dumps(doc)  # the job writes it as JSON
    assert doc["status"] == "run" and doc["n"] == 500 and doc["fit"]["chi2"] is None
    rows = pd.DataFrame(doc["rows"])
    kinds = rows.groupby("kind")["interval"].agg(lambda s: sorted(set(s)))
    assert kinds["path"] == ["percentile"] and kinds["indirect"] == ["bc", "percentile"]
    assert len(rows) == 11 + 8 * 2  # no Monte Carlo rows
    assert doc["excluded_intervals"] == [{"interval": "monte_carlo", "reason": PLS_NO_MONTE_CARLO}]
    path = rows[rows["claim"] == "IS->SN"].iloc[0]
    ref = out.paths.set_index(["lhs", "rhs"]).loc[("SN", "IS")]
    assert (path["estimate"], path["ci_low"], path["std_ci_high"]) == (ref["est"], ref["ci_low"], ref["ci_high"])
    est, draws = adapter.draws("IS", "SN", "WSI")
    bc = rows[(rows["claim"] == "IS->SN->WSI") & (rows["interval"] == "bc")].iloc[0]
    lo, hi = bc_interval(draws[:, None], np.array([est]))
    assert (bc["ci_low"], bc["ci_high"]) == pytest.approx((lo[0], hi[0]), rel=1e-12)
    pct = rows[(rows["claim"] == "IS->SN->WSI") & (rows["interval"] == "percentile")].iloc[0]
    assert pct["ci_low"] == pytest.approx(np.quantile(draws, 0.025), rel=1e-12)


def test_gather_lists_monte_carlo_under_plsc_as_excluded_and_no_nested_test(spec_docs):
    g = gather(spec_docs, [], STUDY, estimator="PLSc", missing="listwise")
    ex = g["excluded"]
    assert list(zip(ex["estimator"], ex["model"], ex["status"], strict=True)) == [
        ("PLSc", "as_specified", "excluded"), ("PLSc", "full_mediation", "excluded")]
    assert set(ex["reason"]) == {f"interval monte_carlo: {PLS_NO_MONTE_CARLO}"}
    specs = g["specifications"]
    main = specs[specs["main"]]
    assert len(main) == 19 and set(main["interval"]) == {"percentile"}
    nested = g["nested"].iloc[0]
    assert nested["method"] == "" and np.isnan(nested["pvalue"]) and nested["note"].startswith(
        "no difference test under PLSc: PLS has no likelihood")
    assert g["summary"].set_index("claim").loc["IS->SN->WSI", "specifications"] == 4


@pytest.mark.slow
def test_plsc_run_end_to_end(tmp_path) -> None:
    from test_e2e import run, scratch_copy

    work = scratch_copy(tmp_path)
    run(work, "--cores", "2", "--configfile", "tests/e2e/small.yaml", "--config", "estimator=PLSc",
        "robustness={enabled: true, estimators: [PLSc], models: [as_specified]}")  # small.yaml leaves it out
    res = work / "results"
    fit = json.loads((res / "structural" / "fit.json").read_text())
    cfa = json.loads((res / "measurement" / "cfa_fit.json").read_text())
    assert fit["estimator"] == "PLSc" and fit["chi2"] is None
    assert cfa["estimator"] == "ML"  # the CFA stays the ML validation of the measurement model
    for name in ("pls_outer", "pls_quality", "pls_htmt", "pls_inner", "paths", "indirect_effects"):
        assert set(pd.read_csv(res / "structural" / f"{name}.csv")["estimator"]) == {"PLSc"}, name
    assert json.loads((res / "claims.json").read_text())["estimator"] == "PLSc"
    assert (res / "robustness" / "specs" / "PLSc-listwise-as_specified.json").is_file()
    html = (work / "reports" / "replication_report.html").read_text(encoding="utf-8")
    assert "Fit of the structural model (PLSc)" in html
    assert "consistent partial least squares (PLSc; Dijkstra &amp; Henseler 2015)" in html


def test_the_paths_note_under_plsc_names_the_percentile_bootstrap_not_wald(out):
    from xhs_sharing.report.sections.structural import paths_table

    note = paths_table(out.paths, out.fit)["note"]
    assert "Wald 95% interval" not in note
    assert "the interval is the percentile bootstrap, not Wald. Consistent partial least squares (PLSc;" in note
    assert "Wald 95% interval" in paths_table(out.paths, {"estimator": "ML"})["note"]
