"""The report's reading of the Monte Carlo tables (xhs_sharing.report.montecarlo), on hand-made tables.

power.json holds numbers only; the sentences are written by the report from
replications.csv, claim_reproduction.csv, joint_reproduction.csv, power.json
and sensitivity.csv. Every expected sentence below follows from the
constructed table by counting.
"""

from __future__ import annotations

import copy

import pandas as pd

from xhs_sharing.analysis.montecarlo import (
    claim_reproduction,
    joint_reproduction,
    min_detectable,
    power_summary,
)
from xhs_sharing.report.montecarlo import claim_groups, fmt_rate, reading
from xhs_sharing.study.spec import Study, study_from_dict


def _table(study, sizes, R, fails) -> pd.DataFrame:
    """``fails(n, r, claim_id)`` -> True when the claim is not reproduced; replication R - 1 of each n fails to fit."""
    rows = []
    for n in sizes:
        for r in range(R):
            converged = r < R - 1
            for c in study.claims:
                ok = converged and not fails(n, r, c.id)
                rows.append({"n": n, "replication": r, "claim_id": c.id, "converged": converged, "refitted": False,
                             "estimate": 0.1, "std_estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2,
                             "verdict": "reproduced" if ok else "not_reproduced"})
    return pd.DataFrame(rows)


def _read(study, table, sensitivity=None) -> str:
    claims = claim_reproduction(table, study)
    joint = joint_reproduction(table)
    power = dict(power_summary(joint))
    if sensitivity is not None:
        power["min_detectable_80"] = min_detectable(sensitivity)
    return reading(table, claims, joint, power, study, sensitivity)


def test_fmt_rate():
    assert [fmt_rate(x) for x in (0.953, 0.5, 1.0, 0.0)] == [".95", ".50", "1.00", ".00"]


def test_reading_of_a_weak_claim_that_reaches_80_percent_at_n_200(study):
    """IS->SN fails in the first 10, 3 and 2 of 20 replications at n = 100, 200, 300 (rates .50, .85, .90)."""
    rows = []
    for n, bad in ((100, 10), (200, 3), (300, 2)):
        for r in range(20):
            for c in study.claims:
                ok = not (c.id == "IS->SN" and r < bad)
                rows.append({"n": n, "replication": r, "claim_id": c.id, "converged": True, "refitted": False,
                             "estimate": 0.1, "std_estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2,
                             "verdict": "reproduced" if ok else "not_reproduced"})
    text = _read(study, pd.DataFrame(rows))
    assert text == (
        "Surveys of n = 100, 200, 300 were each simulated 20 times from the population model of the study "
        "specification, in which every claim holds; every fit converged. "
        "The 4 claims of no effect reproduce in 1.00 to 1.00 of replications at every n, about 1 - alpha = .95: "
        "a true null is declared significant 5% of the time whatever the sample size, so a larger survey does not "
        "make these claims more reproducible. "
        "The claims of an effect become more reproducible as n grows: every one reproduces in at least 80% of "
        "replications from n = 200 on; the weakest, IS->SN, reproduces in .50 at n = 100 and .85 at n = 200. "
        "All 19 claims reproduce together in .90 of replications at n = 300; the joint rate reaches .80 from "
        "n = 200 on and .95 at no simulated n (not reached)."
    )


def test_reading_of_failed_fits_the_null_ceiling_and_the_sensitivity(study):
    """One failed fit per n (2 of 40); IS->CN also fails in replications 0-1 at every n, so every claim of
    no effect holds at once in 17 of 20 replications (.85): a joint rate of .95 is out of reach. IS->CN's
    rate pooled over n, 34/40 = .85, has the Wilson interval [.71, .93], below 1 - alpha; 38/40 = .95 includes it."""
    table = _table(study, (100, 200), 20, lambda n, r, cid: cid == "IS->CN" and r < 2)
    sensitivity = pd.DataFrame(
        [{"claim_id": cid, "path": link, "effect": e, "population_effect": pe, "n": 500, "replications": 20,
          "converged": 20, "detection_rate": rate, "ci_low": 0.0, "ci_high": 1.0}
         for cid, link, grid in (("IS->CN", "IS->CN", ((0.1, 0.1, 0.5), (0.2, 0.2, 0.9))),
                                 ("IS->CN->WSI", "IS->CN", ((0.1, 0.03, 0.3), (0.2, 0.06, 0.85))),
                                 ("ES->CN", "ES->CN", ((0.1, 0.1, 0.2), (0.2, 0.2, 0.5))))
         for e, pe, rate in grid])
    text = _read(study, table, sensitivity)
    assert text.startswith(
        "Surveys of n = 100, 200 were each simulated 20 times from the population model of the study specification, "
        "in which every claim holds; 2 of 40 fits failed and count as reproducing no claim. The 4 claims of no "
        "effect reproduce in .85 to .95 of replications; a test of exact size alpha would give 1 - alpha = .95, and "
        "pooled over n the rates put ES->CN, IS->CN->WSI, ES->CN->WSI within sampling error of it; IS->CN below it "
        "(their test rejects a true null more often than alpha).")
    assert "about 1 - alpha" not in text
    assert ("every one reproduces in at least 80% of replications from n = 100 on; the weakest, IS->SN, "
            "reproduces in .95 at n = 100 and .95 at n = 100.") in text
    assert "All 19 claims reproduce together in .85 of replications at n = 200" in text
    assert ("The joint rate cannot exceed the chance that every claim of no effect holds at once, at most .85 at "
            "any simulated n: with 5% tests of true nulls a joint rate of .95 is out of reach by design.") in text
    assert text.endswith(
        "At n = 500 the smallest true standardized effect that makes a claim of no effect fail in at least 80% of "
        "replications is: IS->CN, 0.20 on the grid, about 0.18 interpolated (.50 at 0.10, .90 at 0.20); "
        "IS->CN->WSI, IS->CN = 0.20 on the grid (an indirect effect of 0.060), about 0.19 interpolated (.30 at 0.10, "
        ".85 at 0.20); ES->CN, not reached up to ES->CN = 0.20. Smaller true effects would mostly pass as 'no effect': these claims rule out "
        "effects of about that size, not every effect.")


def test_no_ceiling_sentence_when_some_n_allows_a_joint_rate_of_95(study):
    """IS->CN fails twice at n = 200 only: at n = 100 every null holds in 19 of 20 (.95), so .95 is not out of reach."""
    table = _table(study, (100, 200), 20, lambda n, r, cid: cid == "IS->CN" and n == 200 and r < 2)
    assert "out of reach" not in _read(study, table)


def test_reading_says_when_a_claim_of_an_effect_never_reaches_80_percent(study):
    table = _table(study, (100, 200), 10, lambda n, r, cid: cid == "PC->WSI" and r < 4)
    text = _read(study, table)
    assert ("1 of the 15 claims of an effect reproduce in less than 80% of replications even at n = 200 "
            "(weakest: PC->WSI, .50).") in text


def _with_population(study_dict, **paths) -> Study:
    """The repository's spec with some standardized path values replaced (``IS_CN=0.25``)."""
    data = copy.deepcopy(study_dict)
    for key, value in paths.items():
        source, target = key.split("_")
        next(p for p in data["paths"] if (p["from"], p["to"]) == (source, target))["std"] = value
    return study_from_dict(data, "variant.yaml")


def test_claim_groups_follow_the_population_values(study, study_dict):
    groups = claim_groups(study)
    assert groups["true_null"] == ["IS->CN", "ES->CN", "IS->CN->WSI", "ES->CN->WSI"]
    assert len(groups["power"]) == 15 and groups["missed_effect"] == groups["false_effect"] == []
    variant = claim_groups(_with_population(study_dict, IS_CN=0.25, IS_SN=0.0))
    assert variant["missed_effect"] == ["IS->CN", "IS->CN->WSI"]
    assert variant["true_null"] == ["ES->CN", "ES->CN->WSI"]
    assert variant["false_effect"] == ["IS->SN", "IS->SN->WSI"]
    assert len(variant["power"]) == 13


def test_a_null_claim_with_a_non_zero_population_value_is_read_as_a_miss_rate(study_dict):
    """IS->CN = .25 in the population: IS->CN is reproduced (the effect missed) in replications 0-4 at n = 100
    and in none at n = 200 (rates .50 and .00; replication 9 fails to fit). It is never compared with 1 - alpha."""
    variant = _with_population(study_dict, IS_CN=0.25)
    table = _table(variant, (100, 200), 10, lambda n, r, cid: cid == "IS->CN" and r >= (5 if n == 100 else 0))
    text = _read(variant, table)
    assert "in which 17 of the 19 claims hold;" in text
    assert ("The 2 claims of no effect whose population value is zero reproduce in .90 to .90 of replications at "
            "every n, about 1 - alpha = .95") in text
    assert ("2 claims of no effect have a non-zero population value (IS->CN: 0.25, IS->CN->WSI: 0.075): there the "
            "reproduction rate is the chance that a survey misses a real effect (1 - power): IS->CN, .50 at n = 100 "
            "and .00 at n = 200; IS->CN->WSI, .90 at n = 100 and .90 at n = 200.") in text
    assert "The 4 claims of no effect" not in text
    assert ("The joint rate cannot exceed the chance that every claim of no effect whose population value is zero "
            "holds at once, at most .90 at any simulated n") in text


def test_no_1_minus_alpha_when_every_null_claim_is_non_zero_in_the_population(study_dict):
    variant = _with_population(study_dict, IS_CN=0.25, ES_CN=0.25)
    table = _table(variant, (100, 200), 10, lambda n, r, cid: False)
    text = _read(variant, table)
    assert "alpha" not in text and "out of reach" not in text
    assert text.count("non-zero population value") == 1
    assert "4 claims of no effect have a non-zero population value (IS->CN: 0.25, ES->CN: 0.25, " in text


def test_a_claim_of_an_effect_the_population_lacks_is_read_as_a_false_positive_rate(study_dict):
    variant = _with_population(study_dict, IS_SN=0.0)
    table = _table(variant, (100, 200), 10, lambda n, r, cid: cid in ("IS->SN", "IS->SN->WSI") and r > 0)
    text = _read(variant, table)
    assert ("2 claims of an effect have a population value of zero or of the other sign (IS->SN: 0, IS->SN->WSI: 0): "
            "there the reproduction rate is the chance that a survey shows an effect the population does not have, "
            ".10 to .10 of replications.") in text
    assert "The claims of an effect with a non-zero population value become more reproducible as n grows" in text


def test_a_conservative_test_of_a_true_null_is_said_to_lie_above_1_minus_alpha(study):
    """200 replications, every claim reproduced except the failed fit: 398/400 pooled has a Wilson interval above .95."""
    table = _table(study, (100, 200), 200, lambda n, r, cid: False)
    text = _read(study, table)
    assert ("The 4 claims of no effect reproduce in .99 to .99 of replications; a test of exact size alpha would give "
            "1 - alpha = .95, and pooled over n the rates put IS->CN, ES->CN, IS->CN->WSI, ES->CN->WSI above it "
            "(their test rejects a true null less often than alpha).") in text
    assert "about 1 - alpha" not in text
