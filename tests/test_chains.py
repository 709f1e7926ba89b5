"""Indirect effects along chains of any length (issue 12, point 11).

Known answer: lavaan 0.6.14's ``:=`` products and their delta-method SEs
(``tests/reference/lavaan_issue12.R`` -> ``fixtures/issue12_chain.csv``) for a
model with a serial two-mediator chain X -> M1 -> M2 -> Y, a parallel
mediator M3 and every direct path, fitted to ``data/chain_items.csv``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.claims import evaluate_claim
from xhs_sharing.analysis.mediation import (
    EffectSpec,
    check_chains,
    compute_effects,
    delta_method_effects,
    effect_specs,
    model_chains,
    monte_carlo_indirect,
)
from xhs_sharing.analysis.montecarlo import run_chunk
from xhs_sharing.analysis.structural import StructuralResult, fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.errors import SpecError
from xhs_sharing.pipeline.claims import run_claims
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.study.spec import Claim, Study, study_from_dict
from xhs_sharing.study.syntax import directed_chains, mediation_chains, mediation_triples
from xhs_sharing.study.synthetic import codebook, simulate_survey

REF = Path(__file__).resolve().parent / "reference"

CHAIN_SYNTAX = """
X =~ x1 + x2 + x3
M1 =~ p1 + p2 + p3
M2 =~ q1 + q2 + q3
M3 =~ r1 + r2 + r3
Y =~ y1 + y2 + y3
M1 ~ X
M2 ~ M1 + X
M3 ~ X
Y ~ M2 + M1 + M3 + X
"""

#: lavaan's defined parameters (issue12_chain.csv) -> (x, mediator cell, y, effect kind)
LAVAAN_NAMES = {
    "serial": ("X", "M1->M2", "Y", "indirect"),
    "via_m1": ("X", "M1", "Y", "indirect"),
    "via_m2": ("X", "M2", "Y", "indirect"),
    "via_m3": ("X", "M3", "Y", "indirect"),
    "m1_m2_y": ("M1", "M2", "Y", "indirect"),
    "total_indirect": ("X", None, "Y", "total_indirect"),
}


@pytest.fixture(scope="module")
def chain_fit() -> StructuralResult:
    return fit_structural(CHAIN_SYNTAX, pd.read_csv(REF / "data" / "chain_items.csv"))


# --------------------------------------------------------------------------- enumeration


def test_directed_chains_lists_every_path_of_two_or_more_links_in_order() -> None:
    links = [("X", "M1"), ("M1", "M2"), ("M2", "Y"), ("X", "M3"), ("M3", "Y"), ("X", "Y")]
    assert directed_chains(links, ["X", "M1", "M2", "M3", "Y"]) == [
        ("X", "M1", "M2"), ("X", "M1", "M2", "Y"), ("X", "M3", "Y"), ("M1", "M2", "Y")]
    with pytest.raises(ValueError, match="cycle through"):
        directed_chains([("A", "B"), ("B", "C"), ("C", "A")], ["A", "B", "C"])


def test_default_study_has_only_one_mediator_chains(study: Study) -> None:
    # so the default run's indirect-effects rows (and their order) are unchanged
    assert mediation_chains(study) == mediation_triples(study)
    assert len(mediation_chains(study)) == 8


def test_model_chains_of_the_chain_model(chain_fit: StructuralResult) -> None:
    assert sorted(model_chains(chain_fit.structure)) == sorted([
        ("X", "M1", "M2"), ("X", "M1", "M2", "Y"), ("X", "M1", "Y"), ("X", "M2", "Y"), ("X", "M3", "Y"),
        ("M1", "M2", "Y")])


def test_specific_effects_of_every_chain_sum_to_the_total_indirect_effect(
    chain_fit: StructuralResult, caplog: pytest.LogCaptureFixture
) -> None:
    st, theta = chain_fit.structure, chain_fit.theta
    specs = effect_specs(model_chains(st))
    est, std = compute_effects(st, theta, specs)
    b, _, _, _ = st.matrices(theta)
    total_indirect = np.linalg.inv(np.eye(len(b)) - b) - np.eye(len(b)) - b   # (I - B)^-1 - I - B
    pairs = {(s.x, s.y) for s in specs}
    assert len(pairs) == 3                                                     # X->M2, X->Y, M1->Y
    for x, y in pairs:
        k = specs.index(EffectSpec(x, None, y, "total_indirect"))
        listed = [i for i, s in enumerate(specs) if s.effect == "indirect" and (s.x, s.y) == (x, y)]
        want = total_indirect[st.inner_index(y), st.inner_index(x)]
        assert est[k] == pytest.approx(want, abs=1e-14)
        assert est[listed].sum() == pytest.approx(want, abs=1e-14)
        assert std[listed].sum() == pytest.approx(std[k], abs=1e-14)
    # X -> Y has three chains; the serial one is the product a1 * d * b2
    serial = specs.index(EffectSpec("X", "M1->M2", "Y", "indirect"))
    a1, d, b2 = (chain_fit.path(lhs, rhs)["est"] for lhs, rhs in (("M1", "X"), ("M2", "M1"), ("Y", "M2")))
    assert est[serial] == pytest.approx(a1 * d * b2, rel=1e-12)
    # every chain listed: no warning, also over the Monte Carlo draws
    with caplog.at_level(logging.WARNING, logger="xhs_sharing.analysis.mediation"):
        mc = monte_carlo_indirect(chain_fit, model_chains(st), seed=5, n_draws=300)
    assert "not listed" not in caplog.text
    k = mc.index("X", "Y", "total_indirect")
    listed = [i for i, s in enumerate(mc.specs) if s.effect == "indirect" and (s.x, s.y) == ("X", "Y")]
    np.testing.assert_allclose(mc.draws_est[:, listed].sum(axis=1), mc.draws_est[:, k], atol=1e-13)
    # leaving the serial chain out is what the warning is for
    with caplog.at_level(logging.WARNING, logger="xhs_sharing.analysis.mediation"):
        monte_carlo_indirect(chain_fit, [("X", "M1", "Y"), ("X", "M2", "Y"), ("X", "M3", "Y")], seed=5, n_draws=10)
    assert "chains of the model from X to Y are not listed" in caplog.text


def test_serial_chain_estimate_and_delta_method_se_match_lavaan(chain_fit: StructuralResult) -> None:
    ref = pd.read_csv(REF / "fixtures" / "issue12_chain.csv").set_index("name")
    specs = effect_specs(model_chains(chain_fit.structure))
    est, std = compute_effects(chain_fit.structure, chain_fit.theta, specs)
    se, std_se = delta_method_effects(chain_fit.structure, chain_fit.theta, chain_fit.acov, specs)
    assert set(ref.index) == set(LAVAAN_NAMES)
    for name, (x, m, y, kind) in LAVAAN_NAMES.items():
        k = specs.index(EffectSpec(x, m, y, kind))  # type: ignore[arg-type]
        row = ref.loc[name]
        # largest deviations seen: estimates 2.8e-7, SEs 6.1e-8 (lavaan stops at rel.tol 1e-10)
        assert est[k] == pytest.approx(row["est"], abs=1e-6), name
        assert se[k] == pytest.approx(row["se"], abs=1e-6), name
        assert std[k] == pytest.approx(row["std_est"], abs=1e-6), name
        assert std_se[k] == pytest.approx(row["std_se"], abs=1e-6), name
    assert ref.loc["serial", "est"] == pytest.approx(0.05466, abs=1e-5)   # the fixture is the one described


def test_a_chain_with_a_missing_link_is_refused_naming_the_link(chain_fit: StructuralResult) -> None:
    with pytest.raises(SpecError, match=r"chain \(X, M3, M2, Y\) needs the path M2 ~ M3"):
        check_chains(chain_fit.structure, [("X", "M3", "M2", "Y")])
    with pytest.raises(SpecError, match="at least three names"):
        check_chains(chain_fit.structure, [("X", "Y")])
    with pytest.raises(SpecError, match="repeats a variable"):
        check_chains(chain_fit.structure, [("X", "M1", "X", "Y")])


# --------------------------------------------------------------------------- the study spec and the claims


def serial_spec() -> dict[str, Any]:
    """X -> M1 -> M2 -> Y with a direct X -> Y path; a serial-chain claim."""
    def construct(cid: str, role: str) -> dict[str, Any]:
        return {"id": cid, "label": cid, "definition": cid, "section": "0", "role": role,
                "items": [{"id": f"{cid.lower()}_{k}", "loading": 0.8, "text": "t"} for k in (1, 2, 3)]}
    paths = [{"from": "X", "to": "M1", "std": 0.5}, {"from": "M1", "to": "M2", "std": 0.5},
             {"from": "M2", "to": "Y", "std": 0.5}, {"from": "X", "to": "Y", "std": 0.0}]
    claims = [
        {"id": "X->M1->M2->Y", "kind": "indirect", "path": ["X", "M1", "M2", "Y"],
         "expected": "positive_significant", "section": "0", "statement": "serial mediation"},
        {"id": "M1->M2->Y", "kind": "indirect", "path": ["M1", "M2", "Y"],
         "expected": "positive_significant", "section": "0", "statement": "simple mediation"},
    ]
    return {"title": "serial", "exogenous_correlation": 0.0, "paths": paths, "claims": claims,
            "constructs": [construct("X", "exogenous"), construct("M1", "endogenous"),
                           construct("M2", "endogenous"), construct("Y", "endogenous")]}


def test_spec_accepts_chain_claims_and_names_claim_and_missing_link() -> None:
    study = study_from_dict(serial_spec(), "serial.yaml")
    assert study.claims[0].path == ("X", "M1", "M2", "Y")
    bad = copy.deepcopy(serial_spec())
    bad["claims"][0]["path"] = ["X", "M2", "M1", "Y"]
    with pytest.raises(SpecError, match=r"claims/0 \(X->M1->M2->Y\): the model has no path X->M2"):
        study_from_dict(bad, "serial.yaml")
    short = copy.deepcopy(serial_spec())
    short["claims"][1]["path"] = ["M2", "Y"]
    with pytest.raises(SpecError, match=r"claims/1 \(M1->M2->Y\): a indirect claim needs a chain of 3 or more"):
        study_from_dict(short, "serial.yaml")


def test_claim_on_a_serial_chain_reads_its_row() -> None:
    table = pd.DataFrame({"x": ["X", "X"], "mediator": ["M1", "M1->M2"], "y": ["Y", "Y"],
                          "effect": ["indirect", "indirect"], "est": [0.3, 0.125], "std_est": [0.2, 0.1],
                          "boot_ci_low": [0.1, 0.05], "boot_ci_high": [0.5, 0.2]})
    claim = Claim("serial", "indirect", ("X", "M1", "M2", "Y"), "positive_significant", "0", "s")
    res = evaluate_claim(claim, pd.DataFrame(), table)
    assert (res.estimate, res.ci_low, res.verdict) == (0.125, 0.05, "reproduced")
    missing = Claim("other", "indirect", ("X", "M2", "Y"), "positive_significant", "0", "s")
    with pytest.raises(Exception, match=r"claim other: the indirect-effects table has 0 rows for X->M2->Y"):
        evaluate_claim(missing, pd.DataFrame(), table)


def test_structural_step_and_claims_with_a_serial_chain(caplog: pytest.LogCaptureFixture) -> None:
    study = study_from_dict(serial_spec(), "serial.yaml")
    items = analysis_frame(simulate_survey(study, 400, seed=11), codebook(study, 7))
    with caplog.at_level(logging.WARNING):
        out = run_structural(items, study, boot_seed=1, mc_seed=2, n_boot=60, chunk_size=30, mc_draws=2000)
    assert "not listed" not in caplog.text
    ind = out.indirect_effects
    rows = ind[(ind["x"] == "X") & (ind["y"] == "Y")]
    assert list(zip(rows["effect"], rows["mediator"].fillna(""))) == [
        ("indirect", "M1->M2"), ("total_indirect", ""), ("direct", ""), ("total", "")]
    serial = rows.iloc[0]
    paths = out.paths.set_index(["lhs", "rhs"])["est"]
    assert serial["est"] == pytest.approx(paths["M1", "X"] * paths["M2", "M1"] * paths["Y", "M2"], rel=1e-12)
    assert serial["est"] == pytest.approx(rows.iloc[1]["est"], rel=1e-12)   # the only chain from X to Y
    assert serial["boot_ci_low"] < serial["est"] < serial["boot_ci_high"]
    assert serial["mc_ci_low"] < serial["est"] < serial["mc_ci_high"]
    assert 0 < serial["se"] < serial["est"]
    doc, failed = run_claims(study, out.paths, ind, out.equivalence, out.fit)
    assert [c["id"] for c in doc["claims"]] == ["X->M1->M2->Y", "M1->M2->Y"]
    assert doc["claims"][0]["estimate"] == serial["est"]
    assert failed == []


def test_monte_carlo_study_judges_a_serial_chain_claim() -> None:
    study = study_from_dict(serial_spec(), "serial.yaml")
    table = run_chunk(study, 300, range(3), master_seed=7, mc_draws=500)
    serial = table[table["claim_id"] == "X->M1->M2->Y"]
    assert len(serial) == 3 and serial["converged"].all()
    # population value .5 ** 3 = .125 on the std scale; every replication finds it
    assert np.all(np.abs(serial["std_estimate"] - 0.125) < 0.06)
    assert (serial["verdict"] == "reproduced").all()
    assert (serial["ci_low"] < serial["estimate"]).all() and (serial["estimate"] < serial["ci_high"]).all()
