"""The synthetic survey: Likert ranges, thresholds, reverse items, determinism."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import stats

from xhs_sharing.errors import SpecError
from xhs_sharing.io import write_csv
from xhs_sharing.study.synthetic import codebook, likert_thresholds, simulate_survey, to_likert


def test_symmetric_thresholds_are_symmetric_and_skewed_ones_shift():
    cuts = likert_thresholds(7)
    np.testing.assert_allclose(cuts, -cuts[::-1])
    np.testing.assert_allclose(np.diff(cuts), 6 / 7)
    np.testing.assert_allclose(likert_thresholds(7, "skewed", 0.5), cuts - 0.5)
    with pytest.raises(SpecError, match="thresholds"):
        likert_thresholds(7, "lopsided")


def test_to_likert_cuts_at_thresholds():
    cuts = np.array([-1.0, 0.0, 1.0])
    got = to_likert(np.array([-5.0, -1.0, -0.5, 0.0, 0.999, 1.0, 7.0]), cuts)
    assert got.tolist() == [1, 2, 2, 3, 3, 4, 4]


def test_survey_shape_and_ranges(study):
    df = simulate_survey(study, n=300, seed=7, scale_points=5)
    assert list(df.columns) == ["respondent_id", *study.item_ids]
    assert df["respondent_id"].is_unique and df["respondent_id"].iloc[0] == "R0001"
    items = df[study.item_ids]
    assert items.dtypes.map(lambda d: d.kind == "i").all()
    assert items.min().min() == 1 and items.max().max() == 5


def test_category_shares_match_normal_probabilities(study):
    df = simulate_survey(study, n=20_000, seed=11)
    cuts = likert_thresholds(7)
    expected = np.diff(np.concatenate([[0.0], stats.norm.cdf(cuts), [1.0]]))
    observed = df["is1"].value_counts(normalize=True).sort_index().to_numpy()
    # binomial sd of a share near .33 at n = 2e4 is .0033
    np.testing.assert_allclose(observed, expected, atol=0.015)


def test_skewed_thresholds_raise_the_mean(study):
    sym = simulate_survey(study, n=2000, seed=3)
    skw = simulate_survey(study, n=2000, seed=3, thresholds="skewed", skew_shift=0.5)
    assert skw["is1"].mean() > sym["is1"].mean() + 0.3


def test_reverse_items_are_stored_as_answered(study):
    df = simulate_survey(study, n=2000, seed=5)
    assert np.corrcoef(df["es1"], df["es3"])[0, 1] < -0.4
    assert np.corrcoef(df["es1"], 8 - df["es3"])[0, 1] > 0.4


def test_same_seed_same_bytes_other_seed_other_data(study, tmp_path):
    def digest(seed: int, name: str) -> str:
        path = tmp_path / name
        write_csv(simulate_survey(study, n=200, seed=seed), path)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(1, "a.csv") == digest(1, "b.csv")
    assert digest(1, "a.csv") != digest(2, "c.csv")


def test_codebook_lists_every_item_with_its_coding(study):
    book = codebook(study, 7)
    assert [it["id"] for it in book["items"]] == study.item_ids
    assert {it["id"] for it in book["items"] if it["reverse_coded"]} == {"es3", "pc4", "cn3"}
    assert all(it["scale_points"] == 7 for it in book["items"])
