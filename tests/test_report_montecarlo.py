"""The report's reading of the Monte Carlo tables (xhs_sharing.report.montecarlo), on hand-made tables.

power.json holds numbers only; the sentences are written by the report from
replications.csv, claim_reproduction.csv, joint_reproduction.csv, power.json
and sensitivity.csv. Every expected sentence below follows from the
constructed table by counting.
"""

from __future__ import annotations

import pandas as pd

from xhs_sharing.analysis.montecarlo import (
    claim_reproduction,
    joint_reproduction,
    min_detectable,
    power_summary,
)
from xhs_sharing.report.montecarlo import fmt_rate, reading


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
        "Surveys of n = 100, 200, 300 were each simulated 20 times from the population model in which the "
        "paper's hypotheses are true; every fit converged. "
        "The 4 claims of no effect reproduce in 1.00 to 1.00 of replications at every n, about 1 - alpha = .95: "
        "a true null is declared significant 5% of the time whatever the sample size, so a larger survey does not "
        "make these claims more reproducible. "
        "The claims of an effect become more reproducible as n grows: every one reproduces in at least 80% of "
        "replications from n = 200 on; the weakest, IS->SN, reproduces in .50 at n = 100 and .85 at n = 200. "
        "All 19 claims reproduce together in .90 of replications at n = 300; the joint rate reaches .80 from "
        "n = 200 on and .95 at no simulated n (not reached)."
    )


def test_reading_of_failed_fits_the_null_ceiling_and_the_sensitivity(study):
    """One failed fit per n (2 of 40); IS->CN also fails in replications 0-1 at n = 200, so every claim of
    no effect holds at once in 17 of 20 replications there (.85): a joint rate of .95 is out of reach."""
    table = _table(study, (100, 200), 20, lambda n, r, cid: cid == "IS->CN" and n == 200 and r < 2)
    sensitivity = pd.DataFrame(
        [{"claim_id": cid, "path": link, "effect": e, "population_effect": pe, "n": 500, "replications": 20,
          "converged": 20, "detection_rate": rate, "ci_low": 0.0, "ci_high": 1.0}
         for cid, link, grid in (("IS->CN", "IS->CN", ((0.1, 0.1, 0.5), (0.2, 0.2, 0.9))),
                                 ("IS->CN->WSI", "IS->CN", ((0.1, 0.03, 0.3), (0.2, 0.06, 0.85))),
                                 ("ES->CN", "ES->CN", ((0.1, 0.1, 0.2), (0.2, 0.2, 0.5))))
         for e, pe, rate in grid])
    text = _read(study, table, sensitivity)
    assert text.startswith("Surveys of n = 100, 200 were each simulated 20 times from the population model in "
                           "which the paper's hypotheses are true; 2 of 40 fits failed and count as reproducing "
                           "no claim. The 4 claims of no effect reproduce in .85 to .95 of replications")
    assert ("every one reproduces in at least 80% of replications from n = 100 on; the weakest, IS->SN, "
            "reproduces in .95 at n = 100 and .95 at n = 100.") in text
    assert "All 19 claims reproduce together in .85 of replications at n = 200" in text
    assert ("However large the survey, the joint rate cannot exceed the chance that every claim of no effect holds "
            "at once (.85 at n = 200), so with 5% tests a joint rate of .95 is out of reach by design.") in text
    assert text.endswith(
        "At n = 500 the smallest true standardized effect that makes a claim of no effect fail in at least 80% of "
        "replications is: IS->CN, 0.20; IS->CN->WSI, IS->CN = 0.20 (an indirect effect of 0.060); ES->CN, not "
        "reached up to ES->CN = 0.20. Smaller true effects would mostly pass as 'no effect': these claims rule out "
        "effects of about that size, not every effect.")


def test_reading_says_when_a_claim_of_an_effect_never_reaches_80_percent(study):
    table = _table(study, (100, 200), 10, lambda n, r, cid: cid == "PC->WSI" and r < 4)
    text = _read(study, table)
    assert ("1 of the 15 claims of an effect reproduce in less than 80% of replications even at n = 200 "
            "(weakest: PC->WSI, .50).") in text
