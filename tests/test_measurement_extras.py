"""Issue 17, point 12: HTMT2 next to HTMT, their bootstrap intervals, cross-loadings and item VIF.

Known answers: ``tests/reference/fixtures/issue17_*.csv``, written by
``tests/reference/lavaan_issue17_mst.R`` (semTools 0.5.6 ``htmt(htmt2 =
FALSE / TRUE)``, ``lm()``-based VIF, ``cor(item, rowMeans(block))``) on the
default survey ``tests/reference/data/default_items.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.htmt import htmt2_from_corr, htmt_batch, htmt_bootstrap, htmt_long_table
from xhs_sharing.analysis.item_validity import cross_loadings, item_vif
from xhs_sharing.analysis.measurement import htmt, htmt_from_corr
from xhs_sharing.errors import DataError, SpecError
from xhs_sharing.pipeline.measurement import HTMT_NOT_BOOTSTRAPPED, htmt_extras
from xhs_sharing.sem.bootstrap import chunk_indices
from xhs_sharing.sem.standardize import cov_to_cor
from xhs_sharing.study.spec import load_study

REF = Path(__file__).resolve().parent / "reference"
FIX = REF / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "default_items.csv").drop(columns="respondent_id")


@pytest.fixture(scope="module")
def ibc() -> dict[str, list[str]]:
    return {k: list(v) for k, v in load_study(ROOT / "config" / "study.yaml").items_by_construct.items()}


def test_htmt_and_htmt2_match_semtools_to_1e10(items, ibc):
    ref = pd.read_csv(FIX / "issue17_htmt.csv")
    h1 = htmt(items, ibc)
    h2 = htmt2_from_corr(items.corr(), ibc)
    assert len(ref) == 64
    for r in ref.itertuples():
        assert h1.loc[r.construct_a, r.construct_b] == pytest.approx(r.htmt, abs=1e-10)
        assert h2.loc[r.construct_a, r.construct_b] == pytest.approx(r.htmt2, abs=1e-10)
    # the two ratios differ (geometric <= arithmetic mean): a swapped variant would fail above
    assert h2.loc["IS", "ES"] == pytest.approx(0.30188620183731868, abs=1e-12)
    assert h1.loc["IS", "ES"] - h2.loc["IS", "ES"] > 0.006


def test_htmt_batch_is_the_existing_htmt_and_works_on_stacks(items, ibc):
    corr = items.corr()
    cols = list(corr.columns)
    blocks = [[cols.index(i) for i in its] for its in ibc.values()]
    one = htmt_batch(corr.to_numpy(), blocks)
    np.testing.assert_allclose(one, htmt_from_corr(corr, ibc).to_numpy(), rtol=0, atol=1e-14)
    stack = np.stack([corr.to_numpy(), items.iloc[:250].corr().to_numpy()])
    both = htmt_batch(stack, blocks, variant="htmt2")
    np.testing.assert_allclose(both[1], htmt2_from_corr(items.iloc[:250].corr(), ibc).to_numpy(), atol=1e-14)
    with pytest.raises(SpecError, match="variant must be one of"):
        htmt_batch(stack, blocks, variant="htmt3")


def test_htmt2_by_hand_on_two_constructs_of_two_items():
    r = pd.DataFrame(np.eye(4), index=list("abcd"), columns=list("abcd"))
    vals = {("a", "b"): 0.64, ("c", "d"): 0.36, ("a", "c"): 0.2, ("a", "d"): -0.3, ("b", "c"): 0.4, ("b", "d"): 0.5}
    for (x, y), v in vals.items():
        r.loc[x, y] = r.loc[y, x] = v
    spec = {"A": ["a", "b"], "B": ["c", "d"]}
    assert htmt_from_corr(r, spec).loc["A", "B"] == pytest.approx(0.35 / 0.48, abs=1e-15)
    assert htmt2_from_corr(r, spec).loc["A", "B"] == pytest.approx(0.012 ** 0.25 / 0.48, abs=1e-15)
    assert htmt2_from_corr(r, spec).loc["A", "A"] == 1.0
    assert math.isnan(htmt2_from_corr(r, {"A": ["a"], "B": ["c", "d"]}).loc["A", "B"])


def test_bootstrap_uses_the_structural_bootstraps_resamples(items, ibc):
    seed, chunk = 20261127, 3
    lo_hi = htmt_bootstrap(items, ibc, n_boot=5, seed=seed, chunk_size=chunk)
    # resample j of chunk k: chunk_indices on child k of SeedSequence(seed).spawn(n_chunks)
    streams = np.random.SeedSequence(seed).spawn(2)
    rows = [*chunk_indices(streams[0], 3, len(items)), *chunk_indices(streams[1], 2, len(items))]
    cols = list(items.columns)
    blocks = [[cols.index(i) for i in its] for its in ibc.values()]
    by_hand = np.stack([htmt_batch(cov_to_cor(np.cov(items.to_numpy()[r].T, bias=True)), blocks) for r in rows])
    lo, hi = np.quantile(by_hand, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(lo_hi["htmt"][0], lo, atol=1e-12)
    np.testing.assert_allclose(lo_hi["htmt"][1], hi, atol=1e-12)
    other = htmt_bootstrap(items, ibc, n_boot=5, seed=seed + 1, chunk_size=chunk)
    assert np.abs(other["htmt"][0] - lo).max() > 1e-3


def test_bootstrap_intervals_cover_the_estimates_and_the_long_table(items, ibc):
    ci = htmt_bootstrap(items, ibc, n_boot=200, seed=7, chunk_size=64)
    h1, h2 = htmt(items, ibc), htmt2_from_corr(items.corr(), ibc)
    table = htmt_long_table(h1, h2, ci, n_boot=200, method="m")
    assert len(table) == 28 and table["n_boot"].eq(200).all()
    assert (table["htmt_ci_low"] < table["htmt"]).all() and (table["htmt"] < table["htmt_ci_high"]).all()
    assert (table["htmt2_ci_low"] < table["htmt2"]).all() and (table["htmt2"] < table["htmt2_ci_high"]).all()
    assert table.iloc[0][["construct_a", "construct_b"]].tolist() == ["IS", "ES"]
    empty = htmt_long_table(h1, h2, None, n_boot=200, method="why")
    assert empty["htmt_ci_low"].isna().all() and empty["n_boot"].eq(0).all()


def test_bootstrap_refuses_missing_answers_and_extras_say_why(items, ibc):
    holes = items.copy()
    holes.iloc[0, 0] = np.nan
    with pytest.raises(DataError, match="needs complete rows"):
        htmt_bootstrap(holes, ibc, n_boot=5, seed=1, chunk_size=5)
    ht = htmt(holes, ibc, missing="fiml")
    out = htmt_extras(holes, ibc, ht, None, missing="fiml", n_boot=5, boot_seed=1, chunk_size=5)
    assert out["htmt_intervals"]["method"].eq(HTMT_NOT_BOOTSTRAPPED["missing"]).all()
    assert out["htmt_intervals"]["htmt2_ci_high"].isna().all()
    poly = htmt_extras(items, ibc, htmt(items, ibc), items.corr(), missing="listwise", n_boot=5, boot_seed=1,
                       chunk_size=5)
    assert poly["htmt_intervals"]["method"].eq(HTMT_NOT_BOOTSTRAPPED["WLSMV"]).all()


def test_item_vif_matches_lm_in_r(items, ibc):
    ref = pd.read_csv(FIX / "issue17_vif.csv")
    out = item_vif(items, ibc)
    assert out["item"].tolist() == ref["item"].tolist()
    np.testing.assert_allclose(out["vif_block"], ref["vif_block"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(out["vif_all"], ref["vif_all"], rtol=0, atol=1e-10)
    assert out["vif_all"].ge(out["vif_block"]).all()  # more regressors never lower R^2


def test_item_vif_single_item_and_singular_block(items):
    one = item_vif(items, {"A": ["is1"], "B": ["es1", "es2"]})
    assert one.loc[0, "vif_block"] == 1.0
    dup = items.assign(copy=lambda d: d["is1"] + d["is2"])
    with pytest.raises(DataError, match="matrix of all items is (singular|not positive definite)"):
        item_vif(dup, {"A": ["is1", "is2", "copy"]})


def test_cross_loadings_match_r_and_flag_a_misplaced_item(items, ibc):
    ref = pd.read_csv(FIX / "issue17_cross_loadings.csv")
    out = cross_loadings(items, ibc).set_index("item")
    assert len(ref) == 25 * 8
    for r in ref.itertuples():
        assert out.loc[r.item, r.construct] == pytest.approx(r.r, abs=1e-10)
    assert out["own_highest"].all()
    assert out.loc["is1", "max_cross_construct"] == "PR"
    moved = {**ibc, "IS": ["is1", "is2", "is3", "es1"], "ES": ["es2", "es3"]}
    flagged = cross_loadings(items, moved).set_index("item")
    assert not flagged.loc["es1", "own_highest"] and flagged.loc["es1", "max_cross_construct"] == "ES"


# ---- the report: HTMT diagonal blank, the new tables rendered from the result files


def test_report_measurement_tables(tmp_path, ibc):
    from report_fixtures import fixed_inputs, repo_study, write_fixture_results
    from xhs_sharing.report.context import build_context
    from xhs_sharing.report.render import render_report

    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    iv = pd.read_csv(out["results"] / "measurement" / "htmt_intervals.csv")
    iv.loc[iv.index[0], "htmt2_ci_high"] = 0.91  # an upper bound above .85: marked
    iv.to_csv(out["results"] / "measurement" / "htmt_intervals.csv", index=False)
    fx = fixed_inputs()
    ctx = build_context(out["results"], study, fx["config_text"], text, fx["data_source"], fx["run_info"], None)
    html = render_report(ctx)
    meas = ctx["measurement"]
    htmt_rows = meas["htmt"]["rows"]
    assert [r["cells"][k + 1]["text"] for k, r in enumerate(htmt_rows)] == [""] * 8  # diagonal blank, not 1.00
    assert htmt_rows[1]["cells"][1]["text"] != ""
    first = meas["htmt_intervals"]["rows"][0]["cells"]
    assert first[0]["text"] == "IS\u2013ES" and first[4]["text"] == "[0.33, 0.91]" and first[4]["mark"] == "\u2717"
    assert sum(c.get("mark") == "\u2717" for r in meas["htmt_intervals"]["rows"] for c in r["cells"]) == 3
    assert "5,000 resamples" in meas["htmt_intervals"]["note"]
    assert len(meas["cross_loadings"]["rows"]) == 25 and len(meas["vif"]["rows"]) == 25
    for caption in ("HTMT and HTMT2 with 95% bootstrap intervals", "Cross-loadings (item correlations",
                    "Item variance inflation factors"):
        assert caption in html


def test_report_does_without_the_issue17_files_of_older_results(tmp_path):
    from report_fixtures import fixed_inputs, repo_study, write_fixture_results
    from xhs_sharing.report.context import build_context
    from xhs_sharing.report.render import render_report
    from xhs_sharing.results import BY_KEY, REPORT_OPTIONAL_SINCE_ISSUE17, RESULTS_DIR

    study, text = repo_study()
    out = write_fixture_results(tmp_path, study, with_montecarlo=False)
    for key in REPORT_OPTIONAL_SINCE_ISSUE17:
        (out["results"] / BY_KEY[key].relative_to(RESULTS_DIR)).unlink()
    fx = fixed_inputs()
    html = render_report(build_context(out["results"], study, fx["config_text"], text, fx["data_source"],
                                       fx["run_info"], None))
    assert "Heterotrait\u2013monotrait ratios (HTMT)" in html and "Explained variance" in html
    for caption in ("HTMT and HTMT2", "Cross-loadings", "variance inflation", "Standardized paths with",
                    "Effect sizes f", "Latent variances"):
        assert caption not in html
