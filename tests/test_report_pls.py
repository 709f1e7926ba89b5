"""The report shows the PLS-SEM tables of a PLS(c) run (issue 15), and none for a covariance-based run."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.io import write_csv
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.report.context import build_context
from xhs_sharing.report.render import render_report
from xhs_sharing.results import BY_KEY, PLS_RESULTS, RESULTS_DIR

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pls_tables() -> dict:
    study, _ = repo_study()
    items = read_analysis_table(ROOT / "tests" / "reference" / "data" / "default_items.csv")
    out = run_structural(items, study, boot_seed=1, mc_seed=2, n_boot=200, chunk_size=100, estimator="PLSc")
    return out.pls


def _page(tmp_path: Path, tables: dict | None) -> str:
    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    for key, frame in (tables or {}).items():
        write_csv(frame, out["results"] / BY_KEY[key].relative_to(RESULTS_DIR))
    fx = fixed_inputs()
    return render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"]))


def test_a_plsc_run_shows_loadings_reliability_paths_and_htmt(tmp_path, pls_tables):
    assert set(pls_tables) == set(PLS_RESULTS)
    html = _page(tmp_path, pls_tables)
    assert 'id="pls-tables">PLSc: the PLS-SEM tables' in html
    for caption in ("PLSc: outer weights and loadings", "PLSc: construct reliability, validity and explained variance",
                    "PLSc: path coefficients, effect sizes and collinearity",
                    "PLSc: heterotrait-monotrait ratios with bootstrap intervals"):
        assert f"<caption>{caption}</caption>" in html
    quality = pls_tables["pls_quality"].set_index("construct")
    assert f"{quality.loc['SN', 'rho_a']:.3f}" in html  # the table prints the file's rho_A
    assert html.count('<th scope="row">') > 25 + 8 + 15  # items, constructs, paths (and the other tables)


def test_a_covariance_based_run_has_no_pls_tables(tmp_path):
    assert "pls-tables" not in _page(tmp_path, None)
