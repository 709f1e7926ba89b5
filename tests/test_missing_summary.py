"""The missing-data summary: covariance coverage and patterns as lavaan computes them (issue 12 point 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.data.survey import coverage, missing_summary

REF = Path(__file__).resolve().parent / "reference"


def _hand_made() -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame({"a": [1, nan, 2, 3], "b": [2, 3, nan, 4], "c": [nan, 4, nan, 5]})


def test_coverage_of_a_hand_made_table():
    # observed a: 1 0 1 1, b: 1 1 0 1, c: 0 1 0 1 -> both observed / 4 rows
    want = np.array([[3, 2, 1], [2, 3, 2], [1, 2, 2]]) / 4
    np.testing.assert_allclose(coverage(_hand_made()).to_numpy(), want, rtol=0, atol=1e-15)


def test_summary_of_a_hand_made_table():
    doc = missing_summary(_hand_made(), "fiml")
    assert doc == {"method": "fiml", "n_respondents": 4, "n_incomplete": 3, "n_patterns": 4,
                   "per_item": [{"item": "a", "n_missing": 1, "share_missing": 0.25},
                                {"item": "b", "n_missing": 1, "share_missing": 0.25},
                                {"item": "c", "n_missing": 2, "share_missing": 0.5}],
                   "min_coverage": {"items": ["a", "c"], "value": 0.25}, "listwise_rows": 0}
    assert missing_summary(_hand_made(), "listwise")["listwise_rows"] == 3


def test_complete_data_have_one_pattern_and_full_coverage():
    doc = missing_summary(pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]}), "listwise")
    assert (doc["n_incomplete"], doc["n_patterns"], doc["min_coverage"]["value"], doc["listwise_rows"]) == (0, 1, 1.0, 0)


def _holed_hs() -> pd.DataFrame:
    """tests/reference/lavaan_coverage.R's holes in Holzinger-Swineford (the empty row is left out, as lavaan does)."""
    d = pd.read_csv(REF / "data" / "holzinger_swineford.csv")
    i = np.arange(len(d))
    d.loc[i % 7 == 0, "x1"] = np.nan
    d.loc[i % 5 == 1, "x4"] = np.nan
    d.loc[i % 11 == 2, "x7"] = np.nan
    d.loc[(i % 7 == 0) | (i % 13 == 3), "x9"] = np.nan
    return d


def test_coverage_and_patterns_match_lavaan():
    """lavInspect(fit, "coverage") and nrow(lavInspect(fit, "patterns")) of lavaan 0.6 under missing = "ml"."""
    want = pd.read_csv(REF / "fixtures" / "hs_holes_coverage.csv").set_index("item")
    meta = pd.read_csv(REF / "fixtures" / "hs_holes_missing.csv").set_index("measure")["value"]
    data = _holed_hs()
    got = coverage(data)
    assert list(got.index) == list(want.index) and list(got.columns) == list(want.columns)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-12)
    doc = missing_summary(data, "fiml")
    assert doc["n_respondents"] == int(meta["ntotal"]) == 301
    assert doc["n_patterns"] == int(meta["n_patterns"]) == 12
    off = want.to_numpy()[np.triu_indices(9, k=1)]
    assert doc["min_coverage"]["items"] == ["x4", "x9"]
    assert doc["min_coverage"]["value"] == pytest.approx(want.loc["x4", "x9"], abs=1e-12) == pytest.approx(off.min())
