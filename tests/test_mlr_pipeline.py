"""MLR through the workflow's functions (issue 13) against lavaan 0.6.14's ``estimator = "MLR"``.

Known answers: the fixtures of ``tests/reference/lavaan_mlr.R`` (see
``tests/test_mlr.py``, which checks the numerical core). Here the same
numbers must come out of the pipeline: :func:`~xhs_sharing.pipeline.structural.fit_model`
/ :func:`~xhs_sharing.pipeline.structural.run_structural` (``paths.csv``,
``fit.json``, ``bootstrap.json``) and :func:`~xhs_sharing.analysis.measurement.fit_cfa`
(``loadings.csv``, ``cfa_fit.json``). Tolerances of the issue: estimates
1e-4 absolute, SEs 1% relative, test statistics 0.5% relative, fit measures .002.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.measurement import fit_cfa
from xhs_sharing.pipeline.structural import fit_model, fit_summary, run_structural
from xhs_sharing.sem.fit import ROBUST_FIT_NAMES
from xhs_sharing.study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
STUDY = load_study(ROOT / "config" / "study.yaml")

STATISTICS = ("chi2_scaled", "scaling_factor", "baseline_chi2_scaled", "baseline_scaling_factor")
MEASURES = ("cfi_robust", "tli_robust", "rmsea_robust", "rmsea_ci_low_robust", "rmsea_ci_high_robust")
STANDARD = {"chi2": "chisq", "cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "rmsea_ci_high": "rmsea.ci.upper"}


def _items(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / name).set_index("respondent_id")


def _lavaan(case: str) -> tuple[pd.DataFrame, pd.Series]:
    pe = pd.read_csv(REF / "fixtures" / f"{case}_estimates.csv")
    fm = pd.read_csv(REF / "fixtures" / f"{case}_fit.csv").set_index("measure")["value"]
    return pe, fm


def _compare_params(params: pd.DataFrame, pe: pd.DataFrame) -> tuple[float, float]:
    """Largest |est - lavaan| and |se / lavaan se - 1| over every free parameter (both orders of a ~~)."""
    d_est = d_se = 0.0
    n = 0
    for r in params[params["free"] >= 0].itertuples():
        same = (pe.lhs == r.lhs) & (pe.rhs == r.rhs)
        if r.op == "~~":
            same |= (pe.lhs == r.rhs) & (pe.rhs == r.lhs)
        ref = pe[(pe.op == r.op) & same]
        assert len(ref) == 1, f"{r.lhs} {r.op} {r.rhs}"
        d_est = max(d_est, abs(r.est - ref.est.iloc[0]))
        d_se = max(d_se, abs(r.se / ref.se.iloc[0] - 1.0))
        n += 1
    assert n == int(((pe.free > 0) & (pe.op != "~1")).sum())
    return d_est, d_se


def _compare_fit(fit: dict, fm: pd.Series) -> None:
    for key in STATISTICS:
        assert fit[key] == pytest.approx(fm[ROBUST_FIT_NAMES[key]], rel=0.005), key
    assert fit["pvalue_scaled"] == pytest.approx(fm["pvalue.scaled"], abs=0.002)
    for key in MEASURES:
        assert fit[key] == pytest.approx(fm[ROBUST_FIT_NAMES[key]], abs=0.002), key
    for key, name in STANDARD.items():
        assert fit[key] == pytest.approx(fm[name], rel=0.005, abs=0.002), key
    assert (fit["test"], fit["se"]) == ("yuan.bentler.mplus", "robust.huber.white")


def test_default_survey_structural_mlr_matches_lavaan() -> None:
    items = _items("default_items.csv")
    _, fit = fit_model(items, STUDY, "listwise", "MLR")
    pe, fm = _lavaan("default_mlr")
    d_est, d_se = _compare_params(fit.params, pe)
    assert d_est < 1e-4 and d_se < 0.01
    doc = fit_summary(fit, items, "listwise")
    assert (doc["estimator"], doc["missing"]) == ("MLR", "listwise")
    _compare_fit(doc, fm)
    assert fit.information == "sandwich"


@pytest.mark.slow
def test_run_structural_mlr_paths_bootstrap_and_intervals() -> None:
    """ML and MLR share the estimates and the bootstrap draws; SEs, Wald intervals and MC intervals differ."""
    items = _items("default_items.csv")
    kw = dict(boot_seed=11, mc_seed=12, n_boot=40, chunk_size=20, mc_draws=500)
    ml = run_structural(items, STUDY, estimator="ML", **kw)
    mlr = run_structural(items, STUDY, estimator="MLR", **kw)
    pe, _ = _lavaan("default_mlr")
    reg = pe[pe.op == "~"].set_index(["lhs", "rhs"])
    paths = mlr.paths.set_index(["lhs", "rhs"])
    assert np.abs(paths["est"] - reg.loc[paths.index, "est"]).max() < 1e-4
    assert np.abs(paths["se"] / reg.loc[paths.index, "se"] - 1).max() < 0.01
    half = 1.959963984540054 * paths["se"]
    assert np.allclose(paths["ci_high"] - paths["est"], half, rtol=1e-9)
    np.testing.assert_array_equal(ml.paths["est"], mlr.paths["est"])
    assert not np.allclose(ml.paths["se"], mlr.paths["se"], rtol=1e-3)
    cols = ["est", "boot_ci_low", "boot_ci_high"]
    pd.testing.assert_frame_equal(ml.indirect_effects[cols], mlr.indirect_effects[cols])
    assert not np.allclose(ml.indirect_effects["mc_ci_low"], mlr.indirect_effects["mc_ci_low"], rtol=1e-4)
    assert (mlr.bootstrap["estimator"], mlr.bootstrap["mc_information"]) == ("MLR", "sandwich")
    assert "ML bootstrap" in mlr.bootstrap["note"] and "note" not in ml.bootstrap
    assert ml.fit["estimator"] == "ML" and "chi2_scaled" not in ml.fit


def test_cfa_mlr_matches_lavaan_on_holzinger_swineford() -> None:
    hs = pd.read_csv(REF / "data" / "holzinger_swineford.csv")
    spec = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    cfa = fit_cfa(hs, spec, estimator="MLR")
    pe, fm = _lavaan("hs_mlr")
    load = pe[pe.op == "=~"].set_index(["lhs", "rhs"])
    got = cfa.loadings.set_index(["construct", "item"])
    assert np.abs(got["est"] - load.loc[got.index, "est"]).max() < 1e-4
    free = got["se"].notna()
    assert np.abs(got.loc[free, "se"] / load.loc[got.index[free], "se"] - 1).max() < 0.01
    assert (cfa.fit["estimator"], cfa.fit["missing"], cfa.method) == ("MLR", "listwise", "MLR")
    _compare_fit(cfa.fit, fm)


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["listwise", "fiml"])
def test_skewed_survey_mlr_matches_lavaan(missing: str) -> None:
    """The skewed survey with missing answers: listwise (the data stage drops incomplete rows) and FIML."""
    items = _items("skewed_items.csv")
    if missing == "listwise":
        items = items.dropna()
    _, fit = fit_model(items, STUDY, missing, "MLR")
    pe, fm = _lavaan(f"skewed_mlr_{missing}")
    d_est, d_se = _compare_params(fit.params, pe)
    assert d_est < 1e-4 and d_se < 0.01
    doc = fit_summary(fit, items, missing)
    assert (doc["estimator"], doc["missing"]) == ("MLR", missing)
    _compare_fit(doc, fm)
