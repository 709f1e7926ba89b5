"""The study spec: the shipped file is valid, and every kind of bad spec is rejected by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xhs_sharing.errors import SpecError
from xhs_sharing.study.spec import study_from_dict

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_spec_declares_the_papers_model(study):
    assert study.construct_ids == ["IS", "ES", "PR", "PA", "PC", "SN", "CN", "WSI"]
    assert study.exogenous == ["IS", "ES", "PR", "PA", "PC"]
    assert study.endogenous == ["SN", "CN", "WSI"]
    assert all(3 <= len(c.items) <= 4 for c in study.constructs)
    assert len(study.construct("PC").items) == 4
    loadings = [it.loading for it in study.items]
    assert min(loadings) >= 0.70 and max(loadings) <= 0.85
    paths = {(p.source, p.target): p.std for p in study.paths}
    assert paths[("IS", "CN")] == 0.0 and paths[("ES", "CN")] == 0.0
    for x in ("IS", "ES", "PR", "PA"):
        assert paths[(x, "WSI")] == 0.0
        assert paths[(x, "SN")] == pytest.approx(0.20)
    assert {(p.source, p.target) for p in study.paths if p.std > 0} == {
        ("IS", "SN"), ("ES", "SN"), ("PR", "SN"), ("PA", "SN"), ("PR", "CN"), ("PA", "CN"),
        ("SN", "WSI"), ("CN", "WSI"), ("PC", "WSI"),
    }


def test_shipped_claims_match_the_paper(study):
    by_expect: dict[str, set[str]] = {}
    for cl in study.claims:
        by_expect.setdefault(f"{cl.kind}:{cl.expected}", set()).add(cl.id)
    assert by_expect["path:positive_significant"] == {
        "IS->SN", "ES->SN", "PR->SN", "PA->SN", "PR->CN", "PA->CN", "SN->WSI", "CN->WSI", "PC->WSI"}
    assert by_expect["path:not_significant"] == {"IS->CN", "ES->CN"}
    assert by_expect["indirect:positive_significant"] == {
        "IS->SN->WSI", "ES->SN->WSI", "PR->SN->WSI", "PA->SN->WSI", "PR->CN->WSI", "PA->CN->WSI"}
    assert by_expect["indirect:not_significant"] == {"IS->CN->WSI", "ES->CN->WSI"}
    for cl in study.claims:
        assert cl.id == "->".join(cl.path)


def test_reverse_flag_defaults_to_false(study):
    flags = {it.id: it.reverse for it in study.items}
    assert flags["es3"] is True and flags["is1"] is False


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["constructs"][0]["items"][0].__setitem__("loading", 1.2), "constructs/0/items/0/loading"),
        (lambda d: d["constructs"][0].pop("label"), "'label' is a required property"),
        (lambda d: d["paths"].append({"from": "IS", "to": "XX", "std": 0.1}), "unknown construct 'XX'"),
        (lambda d: d["paths"].append({"from": "WSI", "to": "SN", "std": 0.1}), "cycle"),
        (lambda d: d["paths"].append({"from": "IS", "to": "SN", "std": 0.1}), "declared twice"),
        (lambda d: d["constructs"][1]["items"][0].__setitem__("id", "is1"), "duplicated item id"),
        (lambda d: d["claims"][0].__setitem__("path", ["PC", "SN"]), "no path PC->SN"),
        (lambda d: d["claims"][0].__setitem__("expected", "big"), "claims/0/expected"),
        (lambda d: d.__setitem__("surprise", 1), "Additional properties"),
    ],
)
def test_bad_specs_are_rejected_naming_the_field(study_dict, mutate, message):
    mutate(study_dict)
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        study_from_dict(study_dict, "config/study.yaml")
    assert "config/study.yaml" in str(err.value)


# --------------------------------------------------------------------------- cut-offs of the measurement checks


def test_measurement_cutoffs_come_from_the_config_schema():
    from xhs_sharing.study.cutoffs import Cutoff, chi2_df_cutoff, default_thresholds, references

    assert default_thresholds() == {"alpha": 0.70, "cr": 0.70, "ave": 0.50, "htmt": 0.85, "cfi": 0.95, "tli": 0.95,
                                    "rmsea": 0.06, "srmr": 0.08, "std_loading": 0.50}
    refs = references()
    assert set(default_thresholds()) | {"fornell_larcker", "residual_variance", "chi2_df"} == set(refs)
    assert refs["cfi"] == refs["rmsea"] == "Hu & Bentler (1999), Struct. Equ. Modeling 6:1-55"
    assert refs["htmt"].startswith("Henseler, Ringle & Sarstedt (2015)")
    assert refs["std_loading"].startswith("Hair, Black, Babin & Anderson (2010)")
    assert chi2_df_cutoff() == Cutoff("le", 3.0, refs["chi2_df"]) and refs["chi2_df"].startswith("Kline (2016)")
    default_thresholds()["alpha"] = 0.0  # a fresh dict each time: callers cannot change the defaults
    assert default_thresholds()["alpha"] == 0.70


def test_config_yaml_takes_its_thresholds_from_the_schema():
    from xhs_sharing.study.cutoffs import default_thresholds
    from xhs_sharing.study.spec import load_schema, read_yaml, validate_against_schema

    config = validate_against_schema(read_yaml(ROOT / "config" / "config.yaml"), load_schema("config.schema.yaml"),
                                     "config/config.yaml")
    assert config["measurement"]["thresholds"] == default_thresholds()
    with pytest.raises(SpecError, match="gfi"):
        validate_against_schema({"study": "s", "synthetic": {}, "measurement": {"thresholds": {"gfi": 0.9}}},
                                load_schema("config.schema.yaml"), "config")


def test_the_workflow_reaches_the_packaged_schemas_through_a_symlink():
    """workflow/schemas is a symlink to the package data, so a clean clone validates with the same files."""
    link = ROOT / "workflow" / "schemas"
    assert link.is_symlink() and link.resolve() == (ROOT / "src" / "xhs_sharing" / "schemas").resolve()
    rules = ROOT / "workflow" / "rules"
    refs = []
    for smk in sorted(rules.glob("*.smk")):
        for ref in re.findall(r"""["']([^"']*schemas/[^"']+\.yaml)["']""", smk.read_text(encoding="utf-8")):
            # snakemake's validate() resolves against the rule file, an input against the working directory
            target = (rules / ref) if ref.startswith("..") else (ROOT / ref)
            assert target.is_file(), (smk.name, ref)
            refs.append(target.name)
    assert sorted(set(refs)) == ["config.schema.yaml", "study.schema.yaml"]
