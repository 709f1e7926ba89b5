"""The claim decision rule, on constructed tables where every branch is known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from xhs_sharing.analysis.claims import claims_document, evaluate_claim, evaluate_claims, judge
from xhs_sharing.errors import EstimationError
from xhs_sharing.study.spec import Claim


@pytest.mark.parametrize(
    ("expected", "est", "lo", "hi", "verdict", "phrase"),
    [
        ("positive_significant", 0.20, 0.05, 0.35, "reproduced", "expected positive sign"),
        ("positive_significant", 0.10, -0.02, 0.22, "not_reproduced", "includes zero"),
        ("positive_significant", -0.20, -0.35, -0.05, "not_reproduced", "not positive"),
        ("negative_significant", -0.20, -0.35, -0.05, "reproduced", "expected negative sign"),
        ("not_significant", 0.03, -0.08, 0.14, "reproduced", "includes zero"),
        ("not_significant", 0.30, 0.15, 0.45, "not_reproduced", "excludes zero"),
        ("not_significant", -0.30, -0.45, -0.15, "not_reproduced", "excludes zero"),
        ("positive_significant", math.nan, 0.1, 0.2, "not_reproduced", "not finite"),
    ],
)
def test_judge_every_branch(expected, est, lo, hi, verdict, phrase):
    got, reason = judge(expected, est, lo, hi)
    assert got == verdict
    assert phrase in reason


def test_judge_boundary_zero_counts_as_included():
    assert judge("positive_significant", 0.1, 0.0, 0.2)[0] == "not_reproduced"
    assert judge("not_significant", 0.1, 0.0, 0.2)[0] == "reproduced"


def test_judge_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown expectation"):
        judge("huge", 0.1, 0.0, 0.2)
    with pytest.raises(ValueError, match="out of order"):
        judge("not_significant", 0.1, 0.3, 0.2)


PATHS = pd.DataFrame({
    "lhs": ["SN", "CN"], "op": ["~", "~"], "rhs": ["IS", "IS"],
    "est": [0.25, 0.31], "std_all": [0.21, 0.28], "pvalue": [0.001, 0.0001],
    "ci_low": [0.10, 0.15], "ci_high": [0.40, 0.47],
})
INDIRECT = pd.DataFrame({
    "x": ["IS", "IS"], "mediator": ["SN", "CN"], "y": ["WSI", "WSI"], "effect": ["indirect", "indirect"],
    "est": [0.08, 0.09], "std_est": [0.07, 0.08],
    "boot_ci_low": [0.03, 0.04], "boot_ci_high": [0.14, 0.15],
    "mc_ci_low": [-0.01, 0.04], "mc_ci_high": [0.15, 0.15],
})


def claim(cid: str, kind: str, expected: str) -> Claim:
    return Claim(id=cid, kind=kind, path=tuple(cid.split("->")), expected=expected, section="5", statement="s")


def test_path_and_indirect_claims_read_the_right_rows_and_intervals():
    r = evaluate_claim(claim("IS->SN", "path", "positive_significant"), PATHS, INDIRECT)
    assert (r.estimate, r.std_estimate, r.ci_low, r.pvalue, r.verdict) == (0.25, 0.21, 0.10, 0.001, "reproduced")
    boot = evaluate_claim(claim("IS->SN->WSI", "indirect", "positive_significant"), PATHS, INDIRECT, "boot")
    mc = evaluate_claim(claim("IS->SN->WSI", "indirect", "positive_significant"), PATHS, INDIRECT, "mc")
    assert boot.verdict == "reproduced" and boot.interval == "percentile bootstrap"
    assert mc.verdict == "not_reproduced" and mc.ci_low == -0.01


def test_a_null_claim_fails_when_the_effect_is_there():
    eq = {"IS->CN": {"verdict": "inconclusive"}}
    r = evaluate_claim(claim("IS->CN", "path", "not_significant"), PATHS, INDIRECT, equivalence=eq)
    assert r.verdict == "not_reproduced" and r.equivalence == {"verdict": "inconclusive"}
    r = evaluate_claim(claim("IS->CN->WSI", "indirect", "not_significant"), PATHS, INDIRECT)
    assert r.verdict == "not_reproduced"


def test_missing_rows_are_an_error_not_a_pass():
    with pytest.raises(EstimationError, match="0 rows for WSI ~ IS"):
        evaluate_claim(claim("IS->WSI", "path", "not_significant"), PATHS, INDIRECT)
    with pytest.raises(EstimationError, match="needs the indirect-effects table"):
        evaluate_claim(claim("IS->SN->WSI", "indirect", "positive_significant"), PATHS, None)


def test_document_tally():
    results = evaluate_claims(
        [claim("IS->SN", "path", "positive_significant"), claim("IS->CN", "path", "not_significant")],
        PATHS, INDIRECT)
    doc = claims_document(results)
    assert (doc["reproduced"], doc["total"]) == (1, 2)
    assert [c["id"] for c in doc["claims"]] == ["IS->SN", "IS->CN"]
    assert doc["claims"][1]["verdict"] == "not_reproduced"


def test_the_claims_step_judges_by_the_bootstrap_and_lists_the_failures():
    from types import SimpleNamespace

    from xhs_sharing.pipeline.claims import run_claims

    claims = (claim("IS->SN", "path", "positive_significant"),
              claim("IS->CN->WSI", "indirect", "not_significant"))
    study = SimpleNamespace(claims=claims)
    equivalence = pd.DataFrame({"id": ["IS->CN->WSI"], "verdict": ["inconclusive"], "se": [float("nan")]})
    doc, failed = run_claims(study, PATHS, INDIRECT, equivalence, {"proper": True, "problems": []})
    # boot interval [.04, .15] excludes zero: the null claim fails (the MC one would include zero)
    assert (doc["reproduced"], doc["total"]) == (1, 2)
    assert [r.id for r in failed] == ["IS->CN->WSI"]
    doc, failed = run_claims(study, PATHS, INDIRECT, equivalence,
                             {"proper": False, "problems": ["negative residual variance of sn1"]})
    assert doc["reproduced"] == 0 and len(failed) == 2
    assert all("sn1" in r.reason for r in failed)


def test_strict_check_names_every_claim_not_reproduced_and_passes_otherwise():
    from xhs_sharing.pipeline.claims import ClaimsNotReproduced, strict_check

    doc = {"claims": [{"id": "IS->SN", "verdict": "reproduced"}, {"id": "IS->CN", "verdict": "not_reproduced"},
                      {"id": "IS->CN->WSI", "verdict": "not_reproduced"}], "reproduced": 1, "total": 3}
    with pytest.raises(ClaimsNotReproduced, match=r"2 of 3 claims not reproduced: IS->CN, IS->CN->WSI"):
        strict_check(doc, "results/claims.json")
    ok = {"claims": [{"id": "IS->SN", "verdict": "reproduced"}], "reproduced": 1, "total": 1}
    assert strict_check(ok, "results/claims.json") == {"reproduced": 1, "total": 1}
