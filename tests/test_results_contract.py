"""The result-file contract (xhs_sharing.results) is the one list of result files and their columns.

* every file a Snakemake rule outputs is named in the contract, at the same path;
* the writers produce exactly the contract's columns (the stage functions run
  on a small synthetic survey);
* the report requires every contract column of what it reads, and reads
  nothing the contract does not name: it renders from files stripped to the
  contract's columns and keys.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing import results
from xhs_sharing.analysis import montecarlo as mc
from xhs_sharing.data.survey import analysis_frame, load_survey
from xhs_sharing.io import write_csv
from xhs_sharing.pipeline.measurement import run_measurement
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.report.context import build_context
from xhs_sharing.report.read import MONTECARLO_READ, ReportError, read_montecarlo, read_results
from xhs_sharing.report.render import render_report
from xhs_sharing.study.population import population_document
from xhs_sharing.study.synthetic import codebook, simulate_survey

ROOT = Path(__file__).resolve().parents[1]

RULE_OUTPUTS = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    # estimator PLSc: the structural rule then also writes the PLS tables (its only outputs that depend on the config)
    wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(config={"estimator": "PLSc"}),
                      storage_settings=StorageSettings(), snakefile=Path("Snakefile"), workdir=Path("."))
    print(json.dumps({r.name: [str(o) for o in r.output] for r in wf._workflow.rules}))
"""


@pytest.fixture(scope="module")
def rule_outputs() -> dict[str, list[str]]:
    """Rule name -> its output paths, read from the parsed workflow (wildcard constraints removed)."""
    proc = subprocess.run([sys.executable, "-c", RULE_OUTPUTS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    return {rule: [re.sub(r"\{(\w+),[^}]*\}", r"{\1}", o) for o in outs] for rule, outs in doc.items()}


def test_every_rule_output_is_in_the_contract(rule_outputs):
    outputs = [o for outs in rule_outputs.values() for o in outs]
    assert len(outputs) == len(set(outputs)) == len(results.FILES)
    unnamed = sorted(set(outputs) - set(results.PATHS.values()))
    assert unnamed == [], f"rule outputs missing from xhs_sharing.results: {unnamed}"
    # and the contract names nothing no rule writes
    assert sorted(set(results.PATHS.values()) - set(outputs)) == []
    assert rule_outputs["montecarlo_gather"] == [results.path(k) for k in
                                                 ("replications", "claim_reproduction", "joint_reproduction", "power")]


@pytest.mark.slow
def test_snakemake_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "your workflow is in a good condition" in proc.stdout + proc.stderr, \
        (proc.stdout + proc.stderr)[-3000:]


def test_rule_files_write_no_literal_result_path():
    """Paths come from the contract, never from a string in a rule file (logs and benchmarks aside)."""
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        literal = re.findall(r"""["'](?:results|data|reports)/[^"']*["']""", smk.read_text(encoding="utf-8"))
        assert literal == [], (smk.name, literal)


def test_contract_entries_are_well_formed():
    assert len(results.BY_KEY) == len(results.FILES)
    assert len(set(results.PATHS.values())) == len(results.FILES)
    for f in results.FILES:
        assert f.suffix in {"csv", "json", "txt", "html"}, f.key
        assert set(f.text_columns) <= set(f.columns), f.key
        assert set(f.optional) <= set(f.columns) or f.suffix == "json", f.key
        assert f.columns or f.suffix in {"txt", "html"}, f.key
    for key in (*results.REPORT_RESULTS, *results.MONTECARLO_RESULTS):
        assert results.BY_KEY[key].path.startswith(results.RESULTS_DIR + "/"), key
    for key in results.MONTECARLO_RESULTS:
        assert results.BY_KEY[key].path.startswith(results.MONTECARLO_DIR + "/"), key
    assert results.path("montecarlo_chunk", n=150, chunk=0) == "results/montecarlo/chunks/n150_c0.csv"
    assert results.REPLICATION_COLUMNS == mc.REPLICATION_COLUMNS


def test_check_table_names_the_missing_column():
    frame = pd.DataFrame({"variable": ["SN"]})
    with pytest.raises(results.ContractError, match=r"r2.*\['r2'\].*results/structural/r2.csv"):
        results.check_table("r2", frame)
    matrix = pd.DataFrame([[1.0]], index=pd.Index(["A"], name="construct"), columns=["A"])
    assert results.check_table("htmt", matrix) is matrix  # the named index is written as a column
    assert results.check_document("fit", {k: 0 for k in results.FIT_COLUMNS})  # proper, problems optional
    with pytest.raises(results.ContractError, match="joint_95"):
        results.check_document("power", {"fits": {}, "joint_80": None})


# --------------------------------------------------------------------------- writers


def _static(columns: list[str], extra: set[str]) -> list[str]:
    return [c for c in columns if c not in extra and not re.fullmatch(r"p\d+", c)]


@pytest.fixture(scope="module")
def stage_outputs(study, tmp_path_factory):
    survey = simulate_survey(study, 300, seed=99)
    book = codebook(study, 7)
    target = tmp_path_factory.mktemp("survey") / "survey.csv"
    write_csv(survey, target)
    loaded = load_survey(target, book, min_rows=10, missing="listwise")
    items = analysis_frame(survey, book)
    return {
        "survey": survey, "book": book, "loaded": loaded, "population": population_document(study),
        "measurement": run_measurement(items, study, 7),
        "structural": run_structural(items, study, n_boot=40, boot_seed=1, mc_seed=2, chunk_size=20, mc_draws=500),
    }


def test_data_and_measurement_writers_write_the_contract_columns(study, stage_outputs):
    items, constructs = set(study.item_ids), set(study.construct_ids)
    out = stage_outputs
    assert _static(list(out["survey"].columns), items) == list(results.BY_KEY["synthetic_survey"].columns)
    assert sorted(out["book"]) == sorted(results.BY_KEY["synthetic_codebook"].columns)
    assert sorted(out["population"]) == sorted(results.BY_KEY["population"].columns)
    assert sorted({"kind": "synthetic", **out["loaded"].summary()}) == sorted(results.BY_KEY["source"].columns)
    m = out["measurement"]
    tables = {"item_descriptives": m.item_descriptives, "reliability": m.reliability, "loadings": m.loadings,
              "fornell_larcker": m.fornell_larcker.rename_axis("construct").reset_index(),
              "htmt": m.htmt.rename_axis("construct").reset_index()}
    for key, frame in tables.items():
        assert _static(list(frame.columns), constructs) == list(results.BY_KEY[key].columns), key
    assert sorted(m.cfa_fit) == sorted(results.BY_KEY["cfa_fit"].columns)
    assert list(m.residual_correlations.columns) == list(results.BY_KEY["cfa_residual_correlations"].columns)
    assert list(m.modindices.columns) == list(results.BY_KEY["cfa_modindices"].columns)
    assert sorted(m.checks) == sorted(results.BY_KEY["checks"].columns)


def test_structural_writers_write_the_contract_columns(stage_outputs):
    s = stage_outputs["structural"]
    for key, frame in {"paths": s.paths, "r2": s.r2, "indirect": s.indirect_effects, "equivalence": s.equivalence}.items():
        assert list(frame.columns) == list(results.BY_KEY[key].columns), key
    assert sorted(s.fit) == sorted(results.BY_KEY["fit"].columns)
    assert list(s.residual_correlations.columns) == list(results.BY_KEY["sem_residual_correlations"].columns)
    assert list(s.modindices.columns) == list(results.BY_KEY["sem_modindices"].columns)
    assert set(results.BY_KEY["bootstrap"].columns) <= set(s.bootstrap)
    assert set(s.bootstrap) <= set(results.BY_KEY["bootstrap"].columns) | set(results.BY_KEY["bootstrap"].optional)


def test_montecarlo_writers_write_the_contract_columns(study):
    rows = [{"n": n, "replication": r, "claim_id": c.id, "converged": True, "refitted": False, "estimate": 0.1,
             "std_estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2, "verdict": "reproduced"}
            for n in (100, 200) for r in range(5) for c in study.claims]
    sens = pd.DataFrame([{"claim_id": "IS->CN", "path": "IS->CN", "effect": e, "population_effect": e, "n": 500,
                          "replications": 5, "converged": 5, "detection_rate": r, "ci_low": 0.0, "ci_high": 1.0}
                         for e, r in ((0.1, 0.4), (0.2, 0.9))])
    assert list(sens.columns) == list(results.BY_KEY["sensitivity"].columns)
    out = mc.gather_outputs([pd.DataFrame(rows)], study, sample_sizes=[100, 200], replications=5, sensitivity=sens,
                            settings={"seed": 1})
    for key in ("replications", "claim_reproduction", "joint_reproduction"):
        assert list(getattr(out, key).columns) == list(results.BY_KEY[key].columns), key
    power = results.BY_KEY["power"]
    assert set(power.columns) <= set(out.power) <= set(power.columns) | set(power.optional)


# --------------------------------------------------------------------------- the report


@pytest.fixture()
def fixture_files(tmp_path):
    study, text = repo_study()
    return study, text, write_fixture_results(tmp_path, study)


def _contract_only(path: Path, key: str, keep: set[str]) -> None:
    """Strip a fixture file to the contract's columns (and the study's own columns ``keep``)."""
    entry = results.BY_KEY[key]
    if entry.suffix == "csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame[[c for c in frame.columns if c in entry.columns or c in keep or re.fullmatch(r"p\d+", c)]].to_csv(
            path, index=False)
    elif entry.suffix == "json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({k: v for k, v in doc.items() if k in entry.columns}), encoding="utf-8")


def _file(res: Path, key: str) -> Path:
    return res / results.BY_KEY[key].relative_to(results.RESULTS_DIR)


def test_report_renders_from_files_holding_only_the_contract(fixture_files):
    study, text, out = fixture_files
    keep = set(study.construct_ids)
    for key in (*results.REPORT_RESULTS, *MONTECARLO_READ):
        path = _file(out["results"], key)
        _contract_only(path, key, keep)
    fx = fixed_inputs()
    html = render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"], out["montecarlo"]))
    assert "Monte Carlo study" in html and "claims consistent with the hypotheses" in html


@pytest.mark.parametrize("key", [k for k in (*results.REPORT_RESULTS, *MONTECARLO_READ) if results.BY_KEY[k].columns])
def test_report_requires_every_contract_column(fixture_files, key):
    _, _, out = fixture_files
    entry = results.BY_KEY[key]
    required = [c for c in entry.columns if c not in entry.optional]
    path = _file(out["results"], key)
    dropped = required[-1]
    if entry.suffix == "csv":
        frame = pd.read_csv(path)
        if dropped not in frame.columns:  # a matrix: "construct" is its first column
            dropped = frame.columns[0]
        frame.drop(columns=dropped).to_csv(path, index=False)
    else:
        doc = json.loads(path.read_text(encoding="utf-8"))
        del doc[dropped]
        path.write_text(json.dumps(doc), encoding="utf-8")
    read = read_montecarlo if key in MONTECARLO_READ else read_results
    where = out["montecarlo"] if key in MONTECARLO_READ else out["results"]
    with pytest.raises(ReportError, match=re.escape(dropped)):
        read(where)
