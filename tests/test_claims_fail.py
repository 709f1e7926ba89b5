"""A claim must be able to fail: with IS -> CN = .35 in the population, the paper's
null findings on IS -> CN and IS -> CN -> WSI come out not reproduced."""

from __future__ import annotations

import pytest

from xhs_sharing.analysis.claims import claims_document, evaluate_claims
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.study.spec import study_from_dict
from xhs_sharing.study.synthetic import codebook, simulate_survey

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def contradicting_results(request):
    from conftest import STUDY_YAML
    from xhs_sharing.study.spec import read_yaml

    spec = read_yaml(STUDY_YAML)
    for p in spec["paths"]:
        if (p["from"], p["to"]) == ("IS", "CN"):
            p["std"] = 0.35
    study = study_from_dict(spec, "IS->CN = .35")
    # n = 1000: the IS -> CN path (.35) has z of about 8, the IS -> CN -> WSI chain
    # (.35 * .30) about 5, so "significant" is not a matter of luck.
    items = analysis_frame(simulate_survey(study, 1000, seed=31), codebook(study, 7))
    out = run_structural(items, study, n_boot=100, boot_seed=32, mc_seed=33, chunk_size=50, mc_draws=4000)
    eq = {row["id"]: row for row in out.equivalence.to_dict("records")}
    return evaluate_claims(study.claims, out.paths, out.indirect_effects, equivalence=eq)


def test_the_contradicted_null_claims_are_not_reproduced(contradicting_results):
    by_id = {r.id: r for r in contradicting_results}
    for cid in ("IS->CN", "IS->CN->WSI"):
        r = by_id[cid]
        assert r.verdict == "not_reproduced", cid
        assert r.ci_low > 0 and "excludes zero" in r.reason
        assert r.equivalence is not None and r.equivalence["verdict"] != "equivalent"
    assert by_id["IS->CN"].std_estimate == pytest.approx(0.35, abs=0.08)


def test_the_tally_counts_them(contradicting_results):
    doc = claims_document(contradicting_results)
    failed = {c["id"] for c in doc["claims"] if c["verdict"] == "not_reproduced"}
    assert {"IS->CN", "IS->CN->WSI"} <= failed
    assert doc["reproduced"] == doc["total"] - len(failed)
