"""The run configuration as users type it: --config text coerced by the schema, data=path as shorthand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xhs_sharing.errors import SpecError
from xhs_sharing.pipeline.configuration import coerce_config, data_block
from xhs_sharing.study.spec import config_defaults, load_schema, validate_against_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema("config.schema.yaml")


def test_the_schema_holds_the_survey_settings_in_one_data_block():
    d = config_defaults()
    assert d["data"] == {"path": "", "scale_points": 7, "missing": "listwise", "screen": "flag",
                         "careless": {"longstring_share": 0.5, "irv": 0.0, "warn_share": 0.10}}
    assert "scale_points" not in d["synthetic"] and "missing" not in d and d["strict"] is False


def test_text_from_config_becomes_the_schema_type():
    raw = {"data": {"path": "s.csv", "scale_points": "6", "missing": "fiml"}, "strict": "true",
           "synthetic": {"n": "300", "skew_shift": "0.25"},
           "montecarlo": {"sample_sizes": ["150", "400"], "in_report": "False"}}
    got = coerce_config(raw, SCHEMA)
    assert got == {"data": {"path": "s.csv", "scale_points": 6, "missing": "fiml"}, "strict": True,
                   "synthetic": {"n": 300, "skew_shift": 0.25},
                   "montecarlo": {"sample_sizes": [150, 400], "in_report": False}}
    assert raw["synthetic"]["n"] == "300"  # a copy: the input is left alone
    validate_against_schema({"study": "config/study.yaml", **got}, SCHEMA, "config")


@pytest.mark.parametrize(("raw", "message"), [
    ({"data": {"scale_points": "six"}}, "config key data.scale_points: expected an integer, got 'six'"),
    ({"data": {"scale_points": "6.5"}}, "config key data.scale_points: expected an integer, got '6.5'"),
    ({"strict": "maybe"}, "config key strict: expected a boolean, got 'maybe'"),
    ({"structural": {"sesoi": "small"}}, "config key structural.sesoi: expected a number, got 'small'"),
    ({"montecarlo": {"sample_sizes": ["150", "x"]}}, r"config key montecarlo.sample_sizes\[1\]: expected an integer"),
])
def test_text_that_is_not_the_type_names_the_key_and_the_type(raw, message):
    with pytest.raises(SpecError, match=message):
        coerce_config(raw, SCHEMA)


def test_a_plain_path_changes_only_the_path():
    file_block = {"path": "", "scale_points": 6, "missing": "fiml"}
    assert data_block([file_block, None, "survey.csv"]) == {"path": "survey.csv", "scale_points": 6,
                                                            "missing": "fiml"}
    assert data_block([file_block, {"scale_points": "5"}]) == {"path": "", "scale_points": "5", "missing": "fiml"}
    assert data_block(["old-style.csv"]) == {"path": "old-style.csv"}
    with pytest.raises(SpecError, match="config key data: expected a file path or a mapping"):
        data_block([file_block, ["a.csv"]])


def _dry_run(*config: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "-q", "--config", *config], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_snakemake_accepts_nested_config_as_users_type_it_and_names_a_bad_key():
    ok = _dry_run("data={path: data/example/survey.csv, scale_points: 6, missing: fiml}", "synthetic={n: 300}",
                  "strict=true")
    assert ok.returncode == 0, ok.stderr[-2000:]
    bad = _dry_run("data={scale_points: six}")
    assert bad.returncode != 0
    assert "config key data.scale_points: expected an integer, got 'six'" in bad.stdout + bad.stderr
