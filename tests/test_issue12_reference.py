"""Known answers for issue 12, points 14 (CR and AVE definitions) and 15 (SRMR under FIML).

Fixtures from ``tests/reference/lavaan_issue12.R`` (lavaan 0.6.14, semTools
0.5.6): ``issue12_reliability.csv`` holds semTools' ``compRelSEM()`` and
``AVE()`` of correlated-factors CFAs, ``issue12_srmr.csv`` lavaan's
``srmr``, ``srmr_bentler`` and ``srmr_bentler_nomean``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.measurement import (
    CfaResult,
    fit_cfa,
    model_based_reliability,
    reliability_table,
    semtools_ave,
    semtools_composite_reliability,
)
from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.sem.fit import fit_measures, srmr, srmr_label, srmr_with_means

REF = Path(__file__).resolve().parent / "reference"
RELIABILITY = pd.read_csv(REF / "fixtures" / "issue12_reliability.csv")
SRMR = pd.read_csv(REF / "fixtures" / "issue12_srmr.csv").set_index(["case", "measure"])["value"]
SMALL = ("IS", "ES", "PR")


def items(name: str) -> pd.DataFrame:
    data = pd.read_csv(REF / "data" / name)
    return data.drop(columns=[c for c in ("respondent_id",) if c in data.columns])


def by_construct(columns: list[str], keep: tuple[str, ...] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in columns:
        out.setdefault(c.rstrip("0123456789").upper(), []).append(c)
    return {k: v for k, v in out.items() if keep is None or k in keep}


def semtools(case: str) -> pd.DataFrame:
    return RELIABILITY[RELIABILITY["case"] == case].set_index("construct")


def check_against_semtools(data: pd.DataFrame, ibc: dict[str, list[str]], case: str, missing: str) -> pd.DataFrame:
    cfa = fit_cfa(data, ibc, missing=missing)
    table = reliability_table(data, ibc, cfa.loadings, missing=missing, cfa=cfa).set_index("construct")
    ref = semtools(case)
    assert list(table.index) == list(ref.index)
    # largest deviations seen: 2.7e-6 (compRelSEM), 1.2e-6 (AVE), on the weak scales
    np.testing.assert_allclose(table["cr_semtools"], ref["omega"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(table["ave_semtools"], ref["ave"], atol=1e-4, rtol=0)
    return table


# --------------------------------------------------------------------------- point 14


def test_semtools_formulas_by_hand() -> None:
    # two items, loadings 1 and .5, factor variance 2, S = [[3, 1], [1, 2]]
    assert semtools_composite_reliability([1.0, 0.5], 2.0, np.array([[3.0, 1.0], [1.0, 2.0]])) == pytest.approx(
        1.5**2 * 2 / 7)
    assert semtools_ave([1.0, 0.5], 2.0, [3.0, 2.0]) == pytest.approx(2 * 1.25 / 5)


def test_cr_and_ave_match_semtools_on_the_default_survey() -> None:
    data = items("default_items.csv")
    table = check_against_semtools(data, by_construct(list(data.columns)), "default", "listwise")
    # strong, homogeneous scales: the two definitions agree to about .002
    assert (table["cr"] - table["cr_semtools"]).abs().max() < 0.002
    assert (table["ave"] - table["ave_semtools"]).abs().max() < 0.002


def test_cr_and_ave_match_semtools_on_weak_scales_where_the_definitions_differ() -> None:
    data = items("weak_items.csv")
    table = check_against_semtools(data, by_construct(list(data.columns)), "weak", "listwise")
    # weak loadings and unequal item variances: CR differs by up to .019 (the ".018")
    assert (table["cr"] - table["cr_semtools"]).abs().max() == pytest.approx(0.0188, abs=5e-4)
    assert (table["ave"] - table["ave_semtools"]).abs().max() > 0.03


@pytest.fixture(scope="module")
def small_fiml() -> tuple[pd.DataFrame, dict[str, list[str]], CfaResult]:
    data = items("skewed_items.csv")
    ibc = by_construct(list(data.columns), SMALL)
    return data, ibc, fit_cfa(data, ibc, missing="fiml")


def test_cr_and_ave_match_semtools_under_fiml(small_fiml: tuple[pd.DataFrame, dict[str, list[str]], CfaResult]) -> None:
    data, ibc, cfa = small_fiml
    assert cfa.estimator == "FIML"
    table = model_based_reliability(cfa, ibc).set_index("construct")
    ref = semtools("skewed_fiml_small")
    np.testing.assert_allclose(table["cr_semtools"], ref["omega"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(table["ave_semtools"], ref["ave"], atol=1e-4, rtol=0)


def test_without_the_cfa_the_semtools_columns_are_empty_and_single_items_get_none() -> None:
    data = items("weak_items.csv")
    ibc = {"A": ["a1", "a2", "a3", "a4"], "B": ["b1"]}
    cfa = fit_cfa(data, ibc)
    bare = reliability_table(data, ibc, cfa.loadings)
    assert bare[["cr_semtools", "ave_semtools"]].isna().all().all()
    full = reliability_table(data, ibc, cfa.loadings, cfa=cfa).set_index("construct")
    assert math.isnan(full.loc["B", "cr_semtools"]) and math.isfinite(full.loc["A", "cr_semtools"])


@pytest.mark.slow
def test_cr_and_ave_match_semtools_under_fiml_on_every_construct() -> None:
    data = items("skewed_items.csv")
    check_against_semtools(data, by_construct(list(data.columns)), "skewed_fiml", "fiml")


# --------------------------------------------------------------------------- point 15


def test_srmr_with_means_by_hand() -> None:
    s = np.array([[2.0, 0.5], [0.5, 1.0]])
    sigma = np.array([[2.0, 0.3], [0.3, 1.0]])
    base = srmr(s, sigma)
    # zero mean residuals: the same sum over 3 + 2 elements instead of 3
    assert srmr_with_means(s, sigma, [1.0, 2.0], [1.0, 2.0]) == pytest.approx(base * math.sqrt(3 / 5))
    # a mean residual of one SD in the first variable adds 1 to the sum of squares
    want = math.sqrt((base**2 * 3 + 1.0) / 5)
    assert srmr_with_means(s, sigma, [1.0 + math.sqrt(2.0), 2.0], [1.0, 2.0]) == pytest.approx(want)


def test_fiml_srmr_is_lavaans_default_with_means(small_fiml: tuple[pd.DataFrame, dict[str, list[str]], CfaResult]) -> None:
    _, _, cfa = small_fiml
    # largest deviation seen: 2.0e-7 (the nomean value)
    assert cfa.fit["srmr"] == pytest.approx(SRMR["cfa_small", "srmr"], abs=1e-4)
    assert cfa.fit["srmr"] == pytest.approx(SRMR["cfa_small", "srmr_bentler"], abs=1e-4)
    assert cfa.fit["srmr_bentler_nomean"] == pytest.approx(SRMR["cfa_small", "srmr_bentler_nomean"], abs=1e-4)
    assert cfa.fit["srmr_variant"] == "bentler_with_means"
    assert srmr_label(cfa.fit) == "SRMR (Bentler, with means; lavaan's default under FIML)"
    # the two variants are told apart at this precision
    assert abs(SRMR["cfa_small", "srmr"] - SRMR["cfa_small", "srmr_bentler_nomean"]) > 1e-3


def test_complete_data_srmr_is_unchanged_and_names_no_variant() -> None:
    data = items("default_items.csv")
    cfa = fit_cfa(data, by_construct(list(data.columns)), missing="fiml")   # complete data: ML
    assert cfa.estimator == "ML"
    assert cfa.fit["srmr"] == pytest.approx(SRMR["cfa_complete", "srmr"], abs=1e-4)
    assert "srmr_variant" not in cfa.fit and "srmr_bentler_nomean" not in cfa.fit
    assert srmr_label(cfa.fit) == "SRMR (Bentler; lavaan's srmr)"


@pytest.mark.slow
def test_fiml_srmr_of_the_full_cfa_and_structural_model() -> None:
    data = items("skewed_items.csv")
    cfa = fit_cfa(data, by_construct(list(data.columns)), missing="fiml")
    assert cfa.fit["srmr"] == pytest.approx(SRMR["cfa", "srmr"], abs=1e-4)
    assert cfa.fit["srmr_bentler_nomean"] == pytest.approx(SRMR["cfa", "srmr_bentler_nomean"], abs=1e-4)
    syntax = (REF / "data" / "structural_model.lav").read_text(encoding="utf-8")
    measures = fit_measures(fit_structural(syntax, data, missing="fiml"), data, missing="fiml")
    assert measures["srmr"] == pytest.approx(SRMR["sem", "srmr"], abs=1e-4)
    assert measures["srmr_bentler_nomean"] == pytest.approx(SRMR["sem", "srmr_bentler_nomean"], abs=1e-4)
