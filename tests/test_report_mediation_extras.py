"""The mediation section shows issue 17 point 14: bootstrap SEs, standardized intervals, contrasts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xhs_sharing.report.sections.mediation_extras import contrasts_table, precision_table

INDIRECT = pd.DataFrame({
    "x": ["PR", "PR", "PR"], "mediator": ["SN", "CN", ""], "y": ["WSI"] * 3,
    "effect": ["indirect", "indirect", "total_indirect"], "est": [0.0712, 0.0655, 0.1367],
    "boot_se": [0.0231, 0.0244, 0.03], "std_est": [0.0801, 0.0731, 0.15],
    "std_ci_low": [0.0352, -0.0021, 0.09], "std_ci_high": [0.1303, 0.1299, 0.2],
})

CONTRASTS = pd.DataFrame({
    "x": ["PR"], "y": ["WSI"], "mediator_1": ["SN"], "mediator_2": ["CN"], "est": [0.0057], "se": [0.034],
    "std_est": [0.007], "std_se": [0.04], "boot_se": [0.035], "boot_ci_low": [-0.061], "boot_ci_high": [0.074],
    "std_ci_low": [-0.07], "std_ci_high": [0.08], "mc_ci_low": [-0.06], "mc_ci_high": [0.072],
    "estimator": ["ML"],
})


def _cells(table: dict, i: int) -> list[str]:
    return [c["text"] for c in table["rows"][i]["cells"]]


def test_precision_lists_each_specific_indirect_effect_with_its_bootstrap_se_and_beta_interval():
    t = precision_table(INDIRECT)
    assert len(t["rows"]) == 2  # the total indirect row is not a specific effect
    assert _cells(t, 0) == ["PR \u2192 SN \u2192 WSI", "0.071", "0.023", "0.080", "[0.035, 0.130] \u2020"]
    assert _cells(t, 1)[-1] == "[\u22120.002, 0.130]"  # includes zero: no dagger
    assert precision_table(INDIRECT.drop(columns=["boot_se"])) is None  # results before issue 17


def test_contrasts_read_first_minus_second_with_every_interval():
    t = contrasts_table(CONTRASTS)
    assert _cells(t, 0) == ["PR \u2192 SN \u2192 WSI minus PR \u2192 CN \u2192 WSI", "0.006", "0.034", "0.035",
                            "[\u22120.061, 0.074]", "[\u22120.060, 0.072]", "0.007", "[\u22120.070, 0.080]"]
    assert contrasts_table(None) is None and contrasts_table(CONTRASTS.iloc[0:0]) is None
    assert not np.isnan(CONTRASTS["est"]).any()
