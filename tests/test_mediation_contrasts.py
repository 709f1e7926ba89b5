"""Tests of xhs_sharing.analysis.mediation_contrasts (issue 17, point 14).

Known answers: ``tests/reference/fixtures/issue17_contrasts.csv``, written by
``tests/reference/lavaan_issue17_cmb.R`` (lavaan 0.6-14, ``:=`` defined
indirect effects and contrasts, ``se = "standard"``) on the default survey.
lavaan's bootstrap draws cannot be reproduced, so the bootstrap SE and the
percentile intervals are checked by algebra on fixed resample estimates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.mediation import BootstrapResult, MonteCarloResult, effect_specs
from xhs_sharing.analysis.mediation_contrasts import (
    CONTRAST_COLUMNS,
    add_bootstrap_columns,
    bootstrap_se,
    contrast_matrix,
    contrasts_table,
    indirect_contrasts,
)
from xhs_sharing.analysis.structural import StructuralResult, fit_structural
from xhs_sharing.errors import SpecError

REF = Path(__file__).parent / "reference"
CHAINS = [(x, m, "WSI") for x in ("IS", "ES", "PR", "PA") for m in ("SN", "CN")]


@pytest.fixture(scope="module")
def default_fit() -> StructuralResult:
    items = pd.read_csv(REF / "data" / "default_items.csv").drop(columns="respondent_id")
    return fit_structural((REF / "data" / "structural_model.lav").read_text(), items)


@pytest.fixture(scope="module")
def lavaan() -> pd.DataFrame:
    return pd.read_csv(REF / "fixtures" / "issue17_contrasts.csv").set_index("lhs")


def test_contrasts_match_lavaan_delta_method(default_fit: StructuralResult, lavaan: pd.DataFrame) -> None:
    table = contrasts_table(default_fit, CHAINS)
    assert list(table.columns) == list(CONTRAST_COLUMNS)
    assert list(zip(table["x"], table["mediator_1"], table["mediator_2"], strict=True)) == [
        ("IS", "SN", "CN"), ("ES", "SN", "CN"), ("PR", "SN", "CN"), ("PA", "SN", "CN")]
    ref = lavaan.loc[[f"con_{x}" for x in table["x"]]]
    for ours, theirs in (("est", "est"), ("se", "se"), ("std_est", "std_est"), ("std_se", "std_se")):
        np.testing.assert_allclose(table[ours].to_numpy(float), ref[theirs].to_numpy(float), rtol=0, atol=1e-6)
    # PR via SN minus PR via CN: lavaan's -0.0176178 (se 0.0340691)
    assert table.loc[2, "est"] == pytest.approx(-0.0176177822, abs=1e-6)
    assert table[["boot_se", "boot_ci_low", "mc_ci_low"]].isna().all().all()  # no draws given


def test_contrast_is_the_difference_of_the_two_lavaan_indirect_effects(lavaan: pd.DataFrame) -> None:
    for x in ("IS", "ES", "PR", "PA"):
        for col in ("est", "std_est"):
            diff = lavaan.loc[f"ind_{x}_SN", col] - lavaan.loc[f"ind_{x}_CN", col]
            assert lavaan.loc[f"con_{x}", col] == pytest.approx(diff, abs=1e-12)


def test_indirect_contrasts_every_pair_per_x_and_y() -> None:
    specs = effect_specs([("X", "A", "Y"), ("X", "B", "Y"), ("X", "C", "Y"), ("W", "A", "Y"), ("X", "A", "Z")])
    got = [(c.x, c.y, c.mediator_1, c.mediator_2) for c in indirect_contrasts(specs)]
    assert got == [("X", "Y", "A", "B"), ("X", "Y", "A", "C"), ("X", "Y", "B", "C")]
    d = contrast_matrix(len(specs), indirect_contrasts(specs))
    assert d.shape == (len(specs), 3)
    assert d[:, 2].tolist() == [0, 1, -1] + [0] * (len(specs) - 3)


def test_bootstrap_se_is_sd_with_divisor_b_minus_1() -> None:
    draws = np.array([[1.0, 2.0], [2.0, np.nan], [4.0, 6.0], [5.0, 8.0]])
    se = bootstrap_se(draws)
    assert se[0] == pytest.approx(np.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + 1 + 4) / 3))  # sqrt(10/3)
    assert se[1] == pytest.approx(np.sqrt(((2 - 16 / 3) ** 2 + (6 - 16 / 3) ** 2 + (8 - 16 / 3) ** 2) / 2))
    assert np.isnan(bootstrap_se(np.array([[1.0], [np.nan]])))[0]
    with pytest.raises(SpecError, match="draws must be"):
        bootstrap_se(np.ones(3))


def _fixed_draws(specs: tuple, cls: type, n: int = 9, **extra: object) -> BootstrapResult:
    """Resample estimates chosen by hand: effect k in resample b is (b + 1) * (k + 1) / 100."""
    b = np.arange(1, n + 1, dtype=float)[:, None]
    k = np.arange(1, len(specs) + 1, dtype=float)[None, :]
    raw = b * k / 100.0
    std = raw * 2.0 - 0.01 * (k == 1) * b**2
    return cls(specs=specs, est=raw[0], std_est=std[0], draws_est=raw, std_draws=std, **extra)


def test_bootstrap_columns_by_algebra_on_fixed_resamples(default_fit: StructuralResult) -> None:
    specs = effect_specs(CHAINS)
    boot = _fixed_draws(specs, BootstrapResult, requested=9, converged=9)
    mc = _fixed_draws(specs, MonteCarloResult, n=21)
    table = contrasts_table(default_fit, CHAINS, boot=boot, mc=mc, level=0.8)
    # IS via SN (column 0) minus IS via CN (column 1): b/100 * (1 - 2) = -b/100
    raw = -np.arange(1, 10) / 100.0
    assert table.loc[0, "boot_se"] == pytest.approx(np.std(raw, ddof=1), abs=1e-15)
    assert table.loc[0, "boot_ci_low"] == pytest.approx(np.quantile(raw, 0.1), abs=1e-15)
    assert table.loc[0, "boot_ci_high"] == pytest.approx(np.quantile(raw, 0.9), abs=1e-15)
    # standardized: (2 b/100 - 0.01 b^2) - 4 b/100, quantiles of that difference, not of its limits
    b = np.arange(1, 10, dtype=float)
    std = 2 * b / 100 - 0.01 * b**2 - 4 * b / 100
    assert table.loc[0, "std_ci_low"] == pytest.approx(np.quantile(std, 0.1), abs=1e-15)
    assert table.loc[0, "std_ci_high"] == pytest.approx(np.quantile(std, 0.9), abs=1e-15)
    assert table.loc[0, "mc_ci_low"] == pytest.approx(np.quantile(-np.arange(1, 22) / 100.0, 0.1), abs=1e-15)
    # the second contrast (ES: columns 5 and 6 of the specs) is -b/100 as well
    assert (specs[5].x, specs[5].mediator, specs[6].mediator) == ("ES", "SN", "CN")
    assert table.loc[1, "boot_se"] == pytest.approx(np.std(raw, ddof=1), abs=1e-15)


def test_add_bootstrap_columns_by_algebra(default_fit: StructuralResult) -> None:
    specs = effect_specs(CHAINS)
    boot = _fixed_draws(specs, BootstrapResult, requested=9, converged=9)
    table = pd.DataFrame({"effect": [s.effect for s in specs]})
    out = add_bootstrap_columns(table, boot, level=0.9)
    assert list(out.columns) == ["effect", "boot_se", "std_ci_low", "std_ci_high"]
    b = np.arange(1, 10, dtype=float)
    assert out.loc[3, "boot_se"] == pytest.approx(np.std(b * 4 / 100, ddof=1), abs=1e-15)
    std0 = 2 * b / 100 - 0.01 * b**2
    assert out.loc[0, "std_ci_low"] == pytest.approx(np.quantile(std0, 0.05), abs=1e-15)
    assert out.loc[0, "std_ci_high"] == pytest.approx(np.quantile(std0, 0.95), abs=1e-15)
    empty = add_bootstrap_columns(table, None)
    assert empty[["boot_se", "std_ci_low", "std_ci_high"]].isna().all().all()
    with pytest.raises(SpecError, match="bootstrap has 20 effects, the table 3 rows"):
        add_bootstrap_columns(table.head(3), boot)


def test_contrasts_refuse_draws_of_other_chains(default_fit: StructuralResult) -> None:
    other = _fixed_draws(effect_specs(CHAINS[:2]), BootstrapResult)
    with pytest.raises(SpecError, match="bootstrap results were computed for other chains"):
        contrasts_table(default_fit, CHAINS, boot=other)


def test_no_contrast_without_two_chains_per_pair(default_fit: StructuralResult) -> None:
    table = contrasts_table(default_fit, [("IS", "SN", "WSI"), ("PR", "CN", "WSI")])
    assert table.empty and list(table.columns) == list(CONTRAST_COLUMNS)
