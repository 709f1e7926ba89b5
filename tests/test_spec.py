"""The study spec: the shipped file is valid, and every kind of bad spec is rejected by name."""

from __future__ import annotations

import pytest

from xhs_sharing.errors import SpecError
from xhs_sharing.study.spec import study_from_dict


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
