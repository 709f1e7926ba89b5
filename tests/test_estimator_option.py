"""The config key ``estimator`` (issue 13): one default, passed from the config to every fit, one dispatch per step."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from xhs_sharing.analysis.measurement import fit_cfa
from xhs_sharing.analysis.structural import ESTIMATOR_DEFAULT, ESTIMATORS, fit_structural
from xhs_sharing.errors import SpecError
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.study.spec import config_defaults, load_study

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "data"


def test_estimator_default_and_choices_come_from_the_schema() -> None:
    assert ESTIMATORS == ("ML", "MLR", "WLSMV", "PLS", "PLSc")
    assert ESTIMATOR_DEFAULT == config_defaults()["estimator"] == "ML"
    # config.yaml states the default, it does not define it differently
    assert yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["estimator"] == "ML"


@pytest.mark.parametrize("rule", ["measurement", "structural"])
def test_rules_pass_the_estimator(rule: str) -> None:
    text = (ROOT / "workflow" / "rules" / f"{rule}.smk").read_text()
    assert 'estimator=config["estimator"]' in text


def test_unknown_estimator_is_refused_by_name() -> None:
    items = pd.read_csv(DATA / "default_items.csv")
    with pytest.raises(SpecError, match=r"estimator must be one of ML, MLR, WLSMV, PLS, PLSc .*'GLS'"):
        fit_cfa(items, {"IS": ["is1", "is2", "is3"]}, estimator="GLS")
    with pytest.raises(SpecError, match="fit_cfa fits a covariance structure .* estimator 'PLSc' is fitted by"):
        fit_cfa(items, {"IS": ["is1", "is2", "is3"]}, estimator="PLSc")
    with pytest.raises(SpecError, match="'mlr'"):
        fit_structural("IS =~ is1 + is2 + is3", items, estimator="mlr")


def test_wlsmv_is_wired_through_fit_cfa_and_run_structural() -> None:
    items = pd.read_csv(DATA / "default_items.csv")
    study = load_study(ROOT / "config" / "study.yaml")
    cfa = fit_cfa(items, {"IS": ["is1", "is2", "is3"]}, estimator="WLSMV")  # saturated: df = 0
    assert (cfa.method, cfa.fit["estimator"], cfa.fit["df"], cfa.fit["scaling_factor"]) == ("WLSMV", "WLSMV", 0, None)
    out = run_structural(items, study, boot_seed=1, mc_seed=2, n_boot=10, estimator="WLSMV")
    assert (out.fit["estimator"], out.bootstrap["engine"], out.bootstrap["converged"]) == ("WLSMV", "batched WLSMV", 10)


def test_fit_checks_judge_the_robust_indices_under_mlr_and_the_scaled_ones_under_wlsmv():
    """The CFA checks judge CFI, TLI and RMSEA by the version whose test statistic is chi-square distributed."""
    from xhs_sharing.analysis.measurement import _fit_checks

    th = {"cfi": 0.95, "tli": 0.95, "rmsea": 0.06, "srmr": 0.08}
    base = {"cfi": 0.94, "tli": 0.93, "rmsea": 0.07, "srmr": 0.05, "df": 10}
    good = {"cfi": 0.96, "tli": 0.96, "rmsea": 0.05}
    mlr = {**base, "estimator": "MLR", **{f"{k}_robust": v for k, v in good.items()}}
    wlsmv = {**base, "estimator": "WLSMV", **{f"{k}_scaled": v for k, v in good.items()}}
    for fit, expected in (({**base, "estimator": "ML"}, "fail"), (mlr, "pass"), (wlsmv, "pass")):
        status = {c["statistic"]: c["status"] for c in _fit_checks(fit, th)}
        assert [status[k] for k in ("cfi", "tli", "rmsea")] == [expected] * 3, fit["estimator"]
        assert status["srmr"] == "pass"
