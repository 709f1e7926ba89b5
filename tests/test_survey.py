"""Reading a survey file: every kind of bad input gets a DataError naming file, column and rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from xhs_sharing.data.survey import load_survey, read_table, validate_survey
from xhs_sharing.errors import DataError
from xhs_sharing.study.syntax import n_free_parameters
from xhs_sharing.study.synthetic import codebook, simulate_survey


@pytest.fixture(scope="module")
def book(study):
    return codebook(study, 7)


@pytest.fixture(scope="module")
def good(study):
    return simulate_survey(study, n=120, seed=99)


def write(df: pd.DataFrame, tmp_path, name="survey.csv", **kw):
    path = tmp_path / name
    df.to_csv(path, index=False, **kw)
    return path


def test_free_parameters_of_the_default_model(study):
    # 17 loadings + 25 residuals + 15 exogenous (co)variances + 3 disturbances + 15 paths
    assert n_free_parameters(study) == 75


def test_a_good_file_loads_and_recodes_reverse_items(good, book, tmp_path):
    s = load_survey(write(good, tmp_path), book, min_rows=75, missing="listwise")
    assert s.n_rows == 120 and len(s.items) == 120 and s.dropped == []
    np.testing.assert_array_equal(s.items["es3"].to_numpy(), 8 - good["es3"].to_numpy())
    np.testing.assert_array_equal(s.items["es1"].to_numpy(), good["es1"].to_numpy())
    assert len(s.sha256) == 64


def test_listwise_deletion_counts_dropped_rows_and_fiml_keeps_them(good, book, tmp_path):
    df = good.astype({"is1": "float", "pc2": "float"})
    df.loc[[3, 10], "is1"] = np.nan
    df.loc[[10, 20], "pc2"] = np.nan
    path = write(df, tmp_path)
    s = load_survey(path, book, min_rows=75, missing="listwise")
    assert s.dropped == ["R0004", "R0011", "R0021"] and len(s.items) == 117
    f = load_survey(path, book, min_rows=75, missing="fiml")
    assert len(f.items) == 120 and int(f.items.isna().sum().sum()) == 4


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda d: d.drop(columns=["pc3"]), r"missing column\(s\) \['pc3'\]"),
        (lambda d: d.assign(is1=d["is1"].astype(str).where(d.index != 4, "abc")), r"column is1: non-numeric value\(s\) \['abc'\] on line\(s\) 6"),
        (lambda d: d.assign(es2=d["es2"].where(d.index % 50 != 0, 9)), r"column es2: code\(s\) \[9.0\] outside the scale 1..7 on line\(s\) 2, 52, 102"),
        (lambda d: d.assign(es2=d["es2"].astype(float).where(d.index != 0, 2.5)), r"column es2: code\(s\) \[2.5\]"),
        (lambda d: d.assign(sn1=np.nan), r"column sn1: no respondent answered"),
        (lambda d: d.assign(sn1=4), r"\['sn1'\]: every respondent gave the same answer"),
        (lambda d: d.assign(respondent_id=d["respondent_id"].where(d.index != 7, "R0001")), r"duplicated respondent id\(s\) \['R0001'\] on line\(s\) 2, 9"),
        (lambda d: d.head(40), r"40 rows, but the model has 75 free parameters"),
    ],
)
def test_bad_files_are_rejected_naming_column_and_rows(good, book, tmp_path, mutate, pattern):
    path = write(mutate(good.copy()), tmp_path)
    with pytest.raises(DataError, match=pattern) as err:
        load_survey(path, book, min_rows=75, missing="listwise")
    assert str(path) in str(err.value)


def test_a_respondent_with_no_answer_is_dropped_and_counted_under_both_methods(good, book, tmp_path):
    """As lavaan: a case with no observed item is dropped with a warning; the counts say so."""
    df = good.astype({c: float for c in good.columns[1:]})
    df.loc[5, df.columns[1:]] = np.nan  # line 7: no answer at all
    df.loc[[8, 9], "is1"] = np.nan  # two respondents with one missing answer
    path = write(df, tmp_path)
    s = load_survey(path, book, min_rows=75, missing="listwise")
    doc = s.summary()
    assert (doc["n_rows"], doc["n_analysed"], doc["dropped_rows"]) == (120, 117, 3)
    assert (doc["no_answer_rows"], doc["listwise_rows"]) == (1, 2)
    assert doc["dropped_ids"] == ["R0006", "R0009", "R0010"]
    assert any("1 respondent(s) answered no item at all and were dropped (line(s) 7)" in w for w in doc["warnings"])
    f = load_survey(path, book, min_rows=75, missing="fiml").summary()
    assert (f["n_rows"], f["n_analysed"], f["dropped_rows"], f["no_answer_rows"], f["listwise_rows"]) == (
        120, 119, 1, 1, 0)
    assert f["missing_data"]["n_respondents"] == 119 and f["missing_data"]["n_incomplete"] == 2


def test_listwise_counts_analysed_and_dropped_apart(good, book, tmp_path):
    """Issue 12 point 1: n_analysed is what the models use, dropped_rows what was left out."""
    df = good.astype({"pc2": float})
    df.loc[df.index[:20], "pc2"] = np.nan
    doc = load_survey(write(df, tmp_path), book, min_rows=75, missing="listwise").summary()
    assert (doc["n_rows"], doc["n_analysed"], doc["dropped_rows"], doc["listwise_rows"]) == (120, 100, 20, 20)
    per_item = {r["item"]: r for r in doc["missing_data"]["per_item"]}
    assert list(per_item)[:4] == ["is1", "is2", "is3", "es1"]  # codebook order
    assert (per_item["pc2"]["n_missing"], per_item["pc2"]["share_missing"]) == (20, pytest.approx(20 / 120))
    assert doc["missing_data"]["min_coverage"] == {"items": ["is1", "pc2"], "value": pytest.approx(100 / 120)}
    assert doc["missing_data"]["n_patterns"] == 2


def test_columns_differing_only_in_case_are_matched_and_recorded(good, book, tmp_path, caplog):
    upper = good.rename(columns={c: c.upper() for c in good.columns if c.startswith(("is", "es"))})
    with caplog.at_level("INFO"):
        s = load_survey(write(upper, tmp_path), book, min_rows=75, missing="listwise")
    assert s.summary()["renamed_columns"] == {"IS1": "is1", "IS2": "is2", "IS3": "is3", "ES1": "es1", "ES2": "es2",
                                              "ES3": "es3"}
    assert "matched 6 column(s) by case: IS1 -> is1" in caplog.text
    np.testing.assert_array_equal(s.items["es3"].to_numpy(), 8 - good["es3"].to_numpy())
    both = good.assign(IS1=good["is1"])
    with pytest.raises(DataError, match=r"columns \['is1', 'IS1'\] differ only in case") as err:
        load_survey(write(both, tmp_path, "both.csv"), book, min_rows=75, missing="listwise")
    assert "both.csv" in str(err.value)


def test_a_scale_whose_top_or_bottom_code_is_never_used_warns(good, book, tmp_path):
    six = good.copy()
    items = six.columns[1:]
    six[items] = six[items].clip(upper=6)
    doc = load_survey(write(six, tmp_path), book, min_rows=75, missing="listwise").summary()
    assert doc["answer_range"] == [1, 6]
    top = [w for w in doc["warnings"] if "top code" in w]
    assert len(top) == 1 and "no answer in the whole file uses the top code 7 of the declared 7-point scale" in top[0]
    assert "recoded as 8 - x" in top[0] and not any("bottom code" in w for w in doc["warnings"])
    shifted = good.copy()
    shifted[items] = shifted[items].clip(lower=2)
    doc = load_survey(write(shifted, tmp_path, "s2.csv"), book, min_rows=75, missing="listwise").summary()
    assert [w for w in doc["warnings"] if "code" in w][0].endswith(
        "bottom code 1 of the declared 7-point scale (answers range 2..7); if the survey's scale has other points, "
        "set data.scale_points: reverse-worded items are recoded as 8 - x")
    assert not any("code" in w for w in load_survey(write(good, tmp_path, "g.csv"), book, min_rows=75,
                                                      missing="listwise").warnings)


def test_more_than_ten_rows_are_summarised(good, book, tmp_path):
    df = good.assign(is2=good["is2"].where(good.index >= 15, 0))
    with pytest.raises(DataError, match=r"line\(s\) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 \(and 5 more\)"):
        load_survey(write(df, tmp_path), book, min_rows=75, missing="listwise")


def test_wrong_delimiter_encoding_and_empty_file(good, book, tmp_path):
    with pytest.raises(DataError, match="separated by semicolons"):
        read_table(write(good, tmp_path, sep=";"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("respondent_id,is1\nJos\xe9,3\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        read_table(latin)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_table(empty)
    with pytest.raises(DataError, match="header but no rows"):
        load_survey(write(good.head(0), tmp_path, "h.csv"), book, min_rows=75, missing="listwise")
    with pytest.raises(DataError, match="unsupported file type"):
        read_table(write(good, tmp_path, "s.txt"))


def test_unknown_columns_only_warn(good, book, tmp_path):
    s = load_survey(write(good.assign(age=30), tmp_path), book, min_rows=75, missing="listwise")
    assert any("age" in w for w in s.warnings)


def test_listwise_leaving_too_few_rows_points_to_fiml(good, book, tmp_path):
    df = good.astype({"is1": float})
    df.loc[df.index[:60], "is1"] = np.nan
    with pytest.raises(DataError, match="missing: fiml"):
        load_survey(write(df, tmp_path), book, min_rows=75, missing="listwise")


def test_excel_and_spss_files_load(good, book, tmp_path):
    xlsx = tmp_path / "survey.xlsx"
    good.to_excel(xlsx, index=False)
    assert load_survey(xlsx, book, min_rows=75, missing="listwise").items.shape == (120, 25)
    pyreadstat = pytest.importorskip("pyreadstat")
    sav = tmp_path / "survey.sav"
    pyreadstat.write_sav(good, str(sav))
    s = load_survey(sav, book, min_rows=75, missing="listwise")
    np.testing.assert_array_equal(s.items["is1"].to_numpy(), good["is1"].to_numpy())


cell = st.one_of(
    st.none(), st.integers(-3, 12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.sampled_from(["", " ", "NA", "3", "7.0", "1e3"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=data_frames(columns=[column(name, elements=cell, dtype=object)
                               for name in ["respondent_id", "is1", "is2", "es1", "zz"]],
                      ),
    drop=st.booleans(),
)
@pytest.mark.slow
def test_random_malformed_tables_raise_only_data_errors(frame, drop):
    """Whatever the table, the validator accepts it or raises DataError, never a raw pandas/numpy error."""
    book = {"id_column": "respondent_id", "scale_points": 7,
            "items": [{"id": i, "reverse_coded": i == "es1"} for i in ("is1", "is2", "es1")]}
    if drop and "is2" in frame.columns:
        frame = frame.drop(columns=["is2"])
    try:
        out, _ = validate_survey(frame, book, "random.csv", min_rows=2)
    except DataError as exc:
        assert "random.csv" in str(exc)
        return
    values = out[["is1", "is2", "es1"]].to_numpy(dtype=float)
    finite = values[~np.isnan(values)]
    assert ((finite >= 1) & (finite <= 7) & (finite == np.round(finite))).all()


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200))
def test_random_csv_text_raises_only_data_errors(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("h") / "s.csv"
    path.write_text(text, encoding="utf-8")
    book = {"id_column": "respondent_id", "scale_points": 5, "items": [{"id": "a"}, {"id": "b"}]}
    try:
        load_survey(path, book, min_rows=1, missing="listwise")
    except DataError:
        pass
