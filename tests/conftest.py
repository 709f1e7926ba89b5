"""Shared fixtures: the repository's study spec and small hand-made specs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from xhs_sharing.study.spec import Study, load_study, read_yaml, study_from_dict

ROOT = Path(__file__).resolve().parents[1]
STUDY_YAML = ROOT / "config" / "study.yaml"


@pytest.fixture(scope="session")
def study() -> Study:
    """The study spec shipped in config/study.yaml."""
    return load_study(STUDY_YAML)


@pytest.fixture()
def study_dict() -> dict[str, Any]:
    """A fresh, mutable copy of config/study.yaml as parsed YAML."""
    return copy.deepcopy(read_yaml(STUDY_YAML))


def without_population(data: dict[str, Any], keep_loadings: bool = False, keep_stds: bool = False,
                       keep_correlation: bool = False) -> dict[str, Any]:
    """``data`` (a parsed study spec, changed in place and returned) without its population values:
    item ``loading``, path ``std`` and ``exogenous_correlation``, each unless kept."""
    for c in data["constructs"]:
        for it in c["items"]:
            if not keep_loadings:
                it.pop("loading")
    for p in data["paths"]:
        if not keep_stds:
            p.pop("std")
    if not keep_correlation:
        data.pop("exogenous_correlation")
    return data


def tiny_spec(b: float = 0.5, loading: float = 0.8, r: float = 0.0, b2: float | None = None) -> dict[str, Any]:
    """X (and optionally Z) -> Y, two items each: small enough to work by hand."""
    def construct(cid: str, role: str) -> dict[str, Any]:
        return {
            "id": cid, "label": cid, "definition": cid, "section": "0", "role": role,
            "items": [{"id": f"{cid.lower()}{k}", "loading": loading, "text": "t"} for k in (1, 2)],
        }
    constructs = [construct("X", "exogenous")]
    paths = [{"from": "X", "to": "Y", "std": b}]
    if b2 is not None:
        constructs.append(construct("Z", "exogenous"))
        paths.append({"from": "Z", "to": "Y", "std": b2})
    constructs.append(construct("Y", "endogenous"))
    return {
        "title": "tiny", "constructs": constructs, "exogenous_correlation": r, "paths": paths,
        "claims": [{"id": "X->Y", "kind": "path", "path": ["X", "Y"], "expected": "positive_significant",
                    "section": "0", "statement": "s"}],
    }


@pytest.fixture()
def tiny() -> Study:
    """X -> Y with b = .5 and loadings .8."""
    return study_from_dict(tiny_spec(), "tiny")
