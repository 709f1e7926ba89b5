"""The study spec: the shipped file is valid, and every kind of bad spec is rejected by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import without_population
from xhs_sharing.errors import SpecError
from xhs_sharing.study.spec import Source, population_for_run, require_population, study_from_dict

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
    assert chi2_df_cutoff() == Cutoff("le", 3.0, refs["chi2_df"]) and refs["chi2_df"].startswith("Carmines & McIver (1981)")
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


# --------------------------------------------------------------------------- population values, source, sections


def test_a_spec_may_declare_no_population_values_and_no_sections(study_dict):
    data = without_population(study_dict)
    for part in (*data["constructs"], *data["claims"], *data["qualitative"]):
        part.pop("section")
    st = study_from_dict(data, "own.yaml")
    assert not st.has_population and st.spec_file == "own.yaml"
    assert st.exogenous_correlation is None
    assert {it.loading for it in st.items} == {None} and {p.std for p in st.paths} == {None}
    assert {c.section for c in st.constructs} == {""} and {c.section for c in st.claims} == {""}
    assert st.population.describe() == "loading of every item (25); std of every path (15); exogenous_correlation"
    with pytest.raises(SpecError, match=r"^own\.yaml: the synthetic survey needs the population values of the "
                                        r"study spec \(item loading, path std, exogenous_correlation\), and it "
                                        r"declares none: missing loading of every item \(25\)"):
        require_population(st, "the synthetic survey")


def test_the_shipped_spec_declares_every_population_value_and_a_paper_source(study):
    assert study.has_population and study.population.missing == ()
    require_population(study, "the synthetic survey")  # no error
    assert study.source == Source(
        kind="paper", publishes_estimates=False, reports_sample_size=False,
        instrument="Item wordings and population values were written for this package after the paper's "
                   "construct descriptions; they are not the paper's questionnaire.",
        qualitative_note="The paper supports each group of hypotheses with interview evidence (paraphrased for "
                         "this package; the interviews are not published and nothing here is tested).",
        respondents="Xiaohongshu users")
    assert study.source.name == "the paper" and study.section_label == "Paper section"


def test_source_block_defaults_come_from_the_schema(study_dict):
    study_dict["source"] = {}
    src = study_from_dict(study_dict, "s.yaml").source
    assert src == Source(kind="paper", publishes_estimates=True, reports_sample_size=True)
    study_dict.pop("source")
    assert study_from_dict(study_dict, "s.yaml").source is None
    study_dict["source"] = {"kind": "paper", "year": 2020}
    with pytest.raises(SpecError, match="field source: Additional properties are not allowed"):
        study_from_dict(study_dict, "s.yaml")


@pytest.mark.parametrize("keep, missing", [
    (dict(keep_loadings=True, keep_correlation=True), "std of every path (15)"),
    (dict(keep_stds=True, keep_correlation=True), "loading of every item (25)"),
    (dict(keep_loadings=True, keep_stds=True), "exogenous_correlation"),
])
def test_some_population_values_but_not_all_is_an_error_naming_the_missing(study_dict, keep, missing):
    data = without_population(study_dict, **keep)
    with pytest.raises(SpecError, match=r"^p\.yaml: population values \(item loading, path std, "
                                        r"exogenous_correlation\) must be given for all or none, but some are "
                                        rf"given and these are missing: {re.escape(missing)}$"):
        study_from_dict(data, "p.yaml")


def test_one_missing_loading_is_named(study_dict):
    del study_dict["constructs"][1]["items"][2]["loading"]
    del study_dict["paths"][3]["std"]
    with pytest.raises(SpecError, match=r"missing: constructs/ES/items/es3/loading; paths/PA->SN/std$"):
        study_from_dict(study_dict, "p.yaml")


def test_one_exogenous_construct_needs_no_exogenous_correlation():
    from conftest import tiny_spec
    data = tiny_spec()
    data.pop("exogenous_correlation")
    st = study_from_dict(data, "tiny.yaml")
    assert st.has_population and st.exogenous_correlation is None


def test_population_for_run_is_checked_before_any_job(tmp_path, study_dict):
    import yaml

    own = tmp_path / "own.yaml"
    own.write_text(yaml.safe_dump(without_population(study_dict)), encoding="utf-8")
    assert not population_for_run(own).declared  # a run on a survey file: fine
    with pytest.raises(SpecError, match=rf"^{re.escape(str(own))}: the Monte Carlo study needs the population "
                                        r"values .* missing loading of every item \(25\); std of every path "
                                        r"\(15\); exogenous_correlation$"):
        population_for_run(own, "the Monte Carlo study")
    assert population_for_run(ROOT / "config" / "study.yaml", "the synthetic survey").declared
    del study_dict["paths"][0]  # stds already gone: give one back to make the spec partial
    study_dict["paths"][0]["std"] = 0.2
    own.write_text(yaml.safe_dump(study_dict), encoding="utf-8")
    with pytest.raises(SpecError, match="must be given for all or none"):
        population_for_run(own)
