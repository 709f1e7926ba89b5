"""The plain-language reading of the Monte Carlo study, written from its result tables.

``results/montecarlo/`` holds numbers only (:mod:`xhs_sharing.analysis.montecarlo`
writes them); what they mean for the claims is the report's to say.
:func:`reading` turns ``replications.csv``, ``claim_reproduction.csv``,
``joint_reproduction.csv``, ``power.json`` and ``sensitivity.csv`` into a few
sentences. Every sentence follows from the numbers and from the population
values of the study spec, never from what the claims assert: each claim is
read by what its population value implies (:func:`claim_groups`):

* a claim of an effect whose population value is non-zero with the claimed
  sign: its reproduction rate is the power of its test;
* a claim of an effect whose population value is zero or of the other sign:
  its rate is the chance that a survey shows an effect the population does
  not have;
* a claim of no effect whose population value is exactly zero: its rate is
  1 minus the type I error rate, compared with 1 - alpha (= .95 for the 95%
  intervals of the decision rule) through the Wilson interval of its rate
  pooled over the sample sizes;
* a claim of no effect whose population value is not zero: its rate is the
  chance that a survey misses a real effect (1 - power).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from xhs_sharing.analysis.montecarlo import (
    JOINT_LEVELS,
    joint_reproduction,
    min_detectable_interpolated,
    smallest_reaching,
    wilson_interval,
)
from xhs_sharing.study.population import claim_population_value, holds_in_population
from xhs_sharing.study.spec import Study

__all__ = ["ALPHA", "GROUPS", "QUESTIONS", "claim_groups", "declared_effects", "fmt_rate", "questions", "rate_at",
           "reading", "reading_parts"]


POWER_LEVEL = 0.80
"""Reproduction rate a claim of an effect should reach (the conventional 80% power)."""


ALPHA = 0.05
"""Significance level of the decision rule, which judges every claim by its 95% interval."""


GROUPS = ("power", "false_effect", "true_null", "missed_effect")
"""How a claim's rate reads (:func:`claim_groups`): power; a false positive of the claimed sign; 1 - type I error; 1 - power."""


def fmt_rate(x: float) -> str:
    """A rate as the report prints it: ``.95``, ``1.00``.

    >>> fmt_rate(0.953), fmt_rate(1.0)
    ('.95', '1.00')
    """
    return "1.00" if x >= 1 else f"{x:.2f}".lstrip("0")


def claim_groups(study: Study) -> dict[str, list[str]]:
    """Claim ids by what their population value implies for their reproduction rate (:data:`GROUPS`).

    ``power``: a claim of an effect with a population value of the claimed
    sign; ``false_effect``: a claim of an effect with a population value of
    zero or of the other sign; ``true_null``: a claim of no effect with a
    population value of exactly zero; ``missed_effect``: a claim of no effect
    with a non-zero population value. The population value of a chain is the
    product of its standardized links
    (:func:`xhs_sharing.study.population.claim_population_value`).
    """
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for claim in study.claims:
        holds = holds_in_population(claim.expected, claim_population_value(study, claim))
        if claim.expected == "not_significant":
            groups["true_null" if holds else "missed_effect"].append(claim.id)
        else:
            groups["power" if holds else "false_effect"].append(claim.id)
    return groups


def _rate(claims: pd.DataFrame, claim_id: str, n: int) -> float:
    """Reproduction rate of one claim at one n (``claim_reproduction.csv``)."""
    return float(claims.loc[(claims["claim_id"] == claim_id) & (claims["n"] == n), "reproduction_rate"].iloc[0])


def _range(claims: pd.DataFrame, ids: Sequence[str]) -> str:
    """``.94 to .99``: the smallest and largest rate of ``ids`` over every n."""
    rates = claims.loc[claims["claim_id"].isin(list(ids)), "reproduction_rate"]
    return f"{fmt_rate(rates.min())} to {fmt_rate(rates.max())}"


def _values(study: Study, ids: Sequence[str]) -> str:
    """``IS->CN: 0.25, ES->CN->WSI: 0.060``: the population value of each claim."""
    by_id = {c.id: c for c in study.claims}
    return ", ".join(f"{cid}: {claim_population_value(study, by_id[cid]):.3g}" for cid in ids)


def _design(table: pd.DataFrame, joint: pd.DataFrame, sizes: Sequence[int], groups: Mapping[str, list[str]]) -> str:
    """What was simulated, in how many claims the population agrees with the claim, and how many fits failed."""
    per_rep = table.drop_duplicates(["n", "replication"])
    n_fail = int((~per_rep["converged"].astype(bool)).sum())
    n_claims = sum(len(v) for v in groups.values())
    holding = len(groups["power"]) + len(groups["true_null"])
    where = ("in which every claim holds" if holding == n_claims
             else f"in which {holding} of the {n_claims} claims hold")
    return (f"Surveys of n = {', '.join(f'{n:,}' for n in sizes)} were each simulated "
            f"{int(joint['replications'].max()):,} times from the population model of the study specification, "
            f"{where}" + (f"; {n_fail} of {len(per_rep):,} fits failed and count as reproducing no claim."
                          if n_fail else "; every fit converged."))


def _pooled_interval(claims: pd.DataFrame, claim_id: str) -> tuple[float, float]:
    """Wilson 95% interval of a claim's reproduction rate pooled over every n (its rows of ``claim_reproduction.csv``).

    A true null's rate does not depend on n for a test of exact size, so the
    pooled interval is the sharpest check against 1 - alpha, and one check
    per claim (rather than one per n) keeps chance deviations rare.
    """
    rows = claims[claims["claim_id"] == claim_id]
    trials = rows["replications"].astype(float)
    successes = float((rows["reproduction_rate"] * trials).round().sum())
    lo, hi = wilson_interval(successes, float(trials.sum()))
    return float(lo), float(hi)


def _true_nulls(claims: pd.DataFrame, ids: Sequence[str], all_nulls: bool) -> str:
    """Claims of no effect that are zero in the population: their rate against 1 - alpha (:func:`_pooled_interval`)."""
    level = 1 - ALPHA
    bounds = {c: _pooled_interval(claims, c) for c in ids}
    below = [c for c in ids if bounds[c][1] < level]
    above = [c for c in ids if bounds[c][0] > level]
    label = (f"The {len(ids)} claims of no effect" if all_nulls
             else f"The {len(ids)} claims of no effect whose population value is zero")
    head = f"{label} reproduce in {_range(claims, ids)} of replications"
    if not below and not above:
        return (f"{head} at every n, about 1 - alpha = {fmt_rate(level)}: a true null is declared significant "
                f"{ALPHA:.0%} of the time whatever the sample size, so a larger survey does not make these claims "
                "more reproducible.")
    consistent = [c for c in ids if c not in below and c not in above]
    parts = [f"{', '.join(consistent)} within sampling error of it" if consistent else "",
             f"{', '.join(above)} above it (their test rejects a true null less often than alpha)" if above else "",
             f"{', '.join(below)} below it (their test rejects a true null more often than alpha)" if below else ""]
    return (f"{head}; a test of exact size alpha would give 1 - alpha = {fmt_rate(level)}, and pooled over n the "
            "rates put " + "; ".join(p for p in parts if p) + ".")


def _missed(claims: pd.DataFrame, study: Study, ids: Sequence[str], small: int, large: int) -> str:
    """Claims of no effect with a non-zero population value: the rate is the chance of missing a real effect."""
    rates = "; ".join(f"{c}, {fmt_rate(_rate(claims, c, small))} at n = {small:,} and "
                      f"{fmt_rate(_rate(claims, c, large))} at n = {large:,}" for c in ids)
    verb = "has" if len(ids) == 1 else "have"
    return (f"{len(ids)} claim{'s' if len(ids) != 1 else ''} of no effect {verb} a non-zero population value "
            f"({_values(study, ids)}): there the reproduction rate is the chance that a survey misses a real "
            f"effect (1 - power): {rates}.")


def _false_effects(claims: pd.DataFrame, study: Study, ids: Sequence[str]) -> str:
    """Claims of an effect that the population does not have (zero, or the other sign)."""
    verb = "has" if len(ids) == 1 else "have"
    return (f"{len(ids)} claim{'s' if len(ids) != 1 else ''} of an effect {verb} a population value of zero or of "
            f"the other sign ({_values(study, ids)}): there the reproduction rate is the chance that a survey shows "
            f"an effect the population does not have, {_range(claims, ids)} of replications.")


def _effects(claims: pd.DataFrame, positives: Sequence[str], small: int, large: int, all_effects: bool) -> str:
    """From which n every claim of a true effect reaches 80%, or which do not at the largest n."""
    need = {c: smallest_reaching(claims.loc[claims["claim_id"] == c, "n"].tolist(),
                                 claims.loc[claims["claim_id"] == c, "reproduction_rate"].tolist(), POWER_LEVEL)
            for c in positives}
    lacking = [c for c, v in need.items() if v is None]
    which = "" if all_effects else " with a non-zero population value"
    if lacking:
        worst = min(lacking, key=lambda c: _rate(claims, c, large))
        return (f"{len(lacking)} of the {len(positives)} claims of an effect{which} reproduce in less than 80% of "
                f"replications even at n = {large:,} (weakest: {worst}, {fmt_rate(_rate(claims, worst, large))}).")
    top = max(v for v in need.values() if v is not None)
    weakest = min((c for c, v in need.items() if v == top), key=lambda c: _rate(claims, c, small))
    grows = all(_rate(claims, c, large) >= _rate(claims, c, small) for c in positives)
    return (f"The claims of an effect{which} " + ("become more reproducible as n grows: every one reproduces"
                                                  if grows else "reproduce")
            + f" in at least 80% of replications from n = {int(top):,} on; the weakest, {weakest}, reproduces in "
            f"{fmt_rate(_rate(claims, weakest, small))} at n = {small:,} and "
            f"{fmt_rate(_rate(claims, weakest, int(top)))} at n = {int(top):,}.")


def _joint(joint: pd.DataFrame, power: Mapping[str, Any], n_claims: int, large: int) -> str:
    """The joint rate at the largest n and the smallest n reaching each level of power.json."""
    last = joint.sort_values("n").iloc[-1]
    reach = []
    for level in JOINT_LEVELS:
        v = power.get(f"joint_{round(level * 100)}")
        reach.append(f"{fmt_rate(level)} from n = {int(v):,} on" if v is not None
                     else f"{fmt_rate(level)} at no simulated n (not reached)")
    return (f"All {n_claims} claims reproduce together in {fmt_rate(float(last['joint_rate']))} of "
            f"replications at n = {large:,}; the joint rate reaches {' and '.join(reach)}.")


def _ceiling(table: pd.DataFrame, true_nulls: Sequence[str], all_nulls: bool) -> str | None:
    """The joint rate cannot exceed the share of replications in which every true null claim holds.

    Said only when that share stays below the highest joint level (.95) at
    every simulated n, so the sentence holds for every n of the tables.
    """
    sub = table[table["claim_id"].isin(list(true_nulls))]
    ceiling = float(joint_reproduction(sub)["joint_rate"].max())
    if ceiling >= max(JOINT_LEVELS):
        return None
    which = "every claim of no effect" if all_nulls else "every claim of no effect whose population value is zero"
    return (f"The joint rate cannot exceed the chance that {which} holds at once, at most {fmt_rate(ceiling)} at "
            f"any simulated n: with {ALPHA:.0%} tests of true nulls a joint rate of {fmt_rate(max(JOINT_LEVELS))} "
            "is out of reach by design.")


def _crossing_text(grp: pd.DataFrame, grid: float, interp: float | None, extra: str = "") -> str:
    """``0.20 on the grid, about 0.15 interpolated (.79 at 0.15, .96 at 0.20)``: a crossing read off and interpolated.

    ``extra`` follows the grid value (the indirect effect of a chain at it).
    """
    if interp is None or abs(interp - grid) < 1e-12:
        return f"{grid:.2f}{extra}"
    rates = grp.set_index("effect")["detection_rate"]
    below = max(e for e in rates.index if e < grid)
    return (f"{grid:.2f} on the grid{extra}, about {interp:.2f} interpolated ({fmt_rate(float(rates[below]))} at "
            f"{below:.2f}, {fmt_rate(float(rates[grid]))} at {grid:.2f})")


def _sensitivity(sensitivity: pd.DataFrame, mde: Mapping[str, Any]) -> str:
    """The smallest true effect each claim of no effect fails on in 80% of replications.

    Read off the grid and interpolated linearly between the two grid points around 80%
    (:func:`xhs_sharing.analysis.montecarlo.interpolated_crossing`): a grid in steps of .05
    read off at its points alone overstates the crossing by up to one step.
    """
    interp = min_detectable_interpolated(sensitivity, POWER_LEVEL)
    parts = []
    for cid in dict.fromkeys(sensitivity["claim_id"].astype(str)):  # spec order, as simulated
        if cid not in mde:
            continue
        v = mde[cid]
        grp = sensitivity[sensitivity["claim_id"] == cid]
        link = str(grp["path"].iloc[0])
        if v is None:
            parts.append(f"{cid}, not reached up to {link} = {float(grp['effect'].max()):.2f}")
            continue
        if cid == link:
            parts.append(f"{cid}, {_crossing_text(grp, float(v), interp.get(cid))}")
        else:
            pe = float(grp.loc[grp["effect"] == v, "population_effect"].iloc[0])
            extra = f" (an indirect effect of {pe:.3f})"
            parts.append(f"{cid}, {link} = {_crossing_text(grp, float(v), interp.get(cid), extra)}")
    return (f"At n = {int(sensitivity['n'].iloc[0]):,} the smallest true standardized effect that makes a "
            f"claim of no effect fail in at least 80% of replications is: {'; '.join(parts)}. Smaller true "
            "effects would mostly pass as 'no effect': these claims rule out effects of about that size, "
            "not every effect.")


def reading_parts(table: pd.DataFrame, claims: pd.DataFrame, joint: pd.DataFrame, power: Mapping[str, Any],
                  study: Study, sensitivity: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """The sentences of :func:`reading`, by the question they answer (issue 17 point 16).

    ``each``: how likely each claim is to reproduce (the design, then each
    group of :func:`claim_groups`); ``all``: the joint rate; ``null``: what
    the claims of no effect could hide (the sensitivity analysis). Empty
    lists when no replication was simulated or the spec has no population values.
    """
    parts: dict[str, list[str]] = {"each": [], "all": [], "null": []}
    sizes = sorted(int(n) for n in joint["n"])
    if not sizes or not study.has_population:
        return parts
    small, large = sizes[0], sizes[-1]
    groups = claim_groups(study)
    each = parts["each"]
    each.append(_design(table, joint, sizes, groups))
    if groups["true_null"]:
        each.append(_true_nulls(claims, groups["true_null"], all_nulls=not groups["missed_effect"]))
    if groups["missed_effect"]:
        each.append(_missed(claims, study, groups["missed_effect"], small, large))
    if groups["power"]:
        each.append(_effects(claims, groups["power"], small, large, all_effects=not groups["false_effect"]))
    if groups["false_effect"]:
        each.append(_false_effects(claims, study, groups["false_effect"]))
    parts["all"].append(_joint(joint, power, len(study.claims), large))
    if groups["true_null"] and (ceiling := _ceiling(table, groups["true_null"], not groups["missed_effect"])):
        parts["all"].append(ceiling)
    mde = power.get("min_detectable_80")
    if sensitivity is not None and len(sensitivity) and isinstance(mde, Mapping):
        parts["null"].append(_sensitivity(sensitivity, mde))
    return parts


def reading(table: pd.DataFrame, claims: pd.DataFrame, joint: pd.DataFrame, power: Mapping[str, Any],
            study: Study, sensitivity: pd.DataFrame | None = None) -> str:
    """A few plain-language sentences on what the Monte Carlo tables say.

    Each claim is read by what its population value implies (:func:`claim_groups`),
    not by what it asserts: a claim of no effect with a non-zero population
    value is read as the chance of missing a real effect, never against 1 - alpha.

    Parameters
    ----------
    table : DataFrame
        ``replications.csv``.
    claims, joint : DataFrame
        ``claim_reproduction.csv`` and ``joint_reproduction.csv``.
    power : mapping
        ``power.json``: ``joint_80``, ``joint_95`` and, with a sensitivity analysis, ``min_detectable_80``.
    study : Study
        The claims and their population values.
    sensitivity : DataFrame, optional
        ``sensitivity.csv``.

    Returns
    -------
    str
        The sentences, joined by spaces.
    """
    if not len(joint):
        return "No replications were simulated."
    if not study.has_population:
        return ("The study spec declares no population values, so these rates cannot be read against a population "
                "model; the tables below are shown as they are.")
    parts = reading_parts(table, claims, joint, power, study, sensitivity)
    return " ".join(parts["each"] + parts["all"] + parts["null"])


def declared_effects(study: Study) -> tuple[float, float] | None:
    """Smallest and largest non-zero standardized population path of the spec (absolute), None without any."""
    values = [abs(float(p.std)) for p in study.paths if p.std]
    return (min(values), max(values)) if values else None


def rate_at(sizes: Sequence[int], rates: Sequence[float], n: int) -> tuple[float, bool] | None:
    """A rate at sample size ``n``: simulated when ``n`` is in the grid, else interpolated linearly.

    Returns ``(rate, interpolated)``; None when ``n`` lies outside the simulated sizes (no extrapolation).

    >>> rate_at([400, 600], [0.54, 0.84], 500)
    (0.69, True)
    >>> rate_at([400, 500, 600], [0.54, 0.70, 0.84], 500)
    (0.7, False)
    >>> rate_at([400, 600], [0.54, 0.84], 1000) is None
    True
    """
    pairs = sorted(zip((int(s) for s in sizes), (float(r) for r in rates)))
    for s, r in pairs:
        if s == n:
            return r, False
    below = [(s, r) for s, r in pairs if s < n]
    above = [(s, r) for s, r in pairs if s > n]
    if not below or not above:
        return None
    (s0, r0), (s1, r1) = below[-1], above[0]
    return round(r0 + (n - s0) / (s1 - s0) * (r1 - r0), 12), True


def _at_n(sizes: Sequence[int], n: int) -> str:
    """``n = 500, the size analysed here`` and, off the grid, how the rate was got."""
    grid = sorted(int(s) for s in sizes)
    if n in grid:
        return f"At n = {n:,}, the size analysed here,"
    below = max(s for s in grid if s < n)
    above = min(s for s in grid if s > n)
    return (f"At n = {n:,}, the size analysed here (not simulated: interpolated linearly between n = {below:,} "
            f"and n = {above:,}),")


def _outside(sizes: Sequence[int], n: int) -> str:
    grid = sorted(int(s) for s in sizes)
    return (f"The size analysed here, n = {n:,}, lies outside the simulated sizes (n = {grid[0]:,} to {grid[-1]:,}), "
            "so no rate is given for it: add it to montecarlo.sample_sizes.")


def _assumption(study: Study) -> str:
    """The population effect sizes the rates assume, read from the spec."""
    span = declared_effects(study)
    if span is None:
        return "Every population path of the study specification is zero."
    lo, hi = (f"{v:.2f}".lstrip("0") for v in span)
    size = f"{lo} to {hi}" if lo != hi else lo
    return (f"These rates assume the population effect sizes the study specification declares: standardized paths "
            f"of {size} where it has an effect, exactly 0 where it has none. They are not a property of the claims: "
            "with smaller true effects every claim of an effect would reproduce less often, with larger ones more often.")


def _each_at(claims: pd.DataFrame, ids: Sequence[str], n: int) -> str:
    """The claims of a true effect at the analysed n: their range and the weakest."""
    sizes = sorted({int(s) for s in claims["n"]})
    at = {}
    for cid in ids:
        sub = claims[claims["claim_id"] == cid]
        got = rate_at(sub["n"].tolist(), sub["reproduction_rate"].tolist(), n)
        if got is None:
            return _outside(sizes, n)
        at[cid] = got[0]
    weakest = min(at, key=at.get)
    return (f"{_at_n(sizes, n)} the {len(ids)} claims of an effect the population has reproduce in "
            f"{fmt_rate(min(at.values()))} to {fmt_rate(max(at.values()))} of simulated surveys; the weakest is "
            f"{weakest}, {fmt_rate(at[weakest])}.")


def _joint_at(joint: pd.DataFrame, n_claims: int, n: int) -> str:
    """The joint rate at the analysed n, with its interval when simulated, in plain words."""
    sizes = [int(s) for s in joint["n"]]
    got = rate_at(sizes, joint["joint_rate"].tolist(), n)
    if got is None:
        return _outside(sizes, n)
    rate, interpolated = got
    ci = ""
    if not interpolated:
        row = joint[joint["n"] == n].iloc[0]
        ci = f" (95% CI {fmt_rate(float(row['ci_low']))} to {fmt_rate(float(row['ci_high']))})"
    fail = round((1 - rate) * 10)
    plain = (f": even if every hypothesis were true, about {fail} in 10 surveys of this size would fail at least "
             "one claim." if fail >= 1 else ".")
    return (f"{_at_n(sizes, n)} all {n_claims} claims reproduce together in {'about ' if interpolated else ''}"
            f"{fmt_rate(rate)} of simulated surveys{ci}{plain}")


QUESTIONS = (
    ("mc-each", "How likely is each claim to reproduce?",
     "In plain words: if the population were exactly as the study specification declares it, how often would a "
     "survey show each claim as stated? A claim's reproduction rate is the share of simulated surveys in which "
     "its decision rule says \u201creproduced\u201d. For a claim of an effect it is the power of its test (the chance "
     "of detecting an effect that is there); for a claim of no effect whose population value is zero it is "
     "1 minus the type I error rate (the chance of not declaring a zero effect significant)."),
    ("mc-all", "How many respondents does it take for all of them?",
     "In plain words: how large must a survey be for every claim to come out as stated in the same survey? The "
     "joint rate is the share of simulated surveys in which all claims reproduce together; it is lower than any "
     "single claim's rate, because each claim can fail on its own."),
    ("mc-null", "What effects could the claims of no effect hide?",
     "In plain words: a claim of no effect passes whenever the true effect is too small for the survey to detect, "
     "so \u201cnot significant\u201d cannot rule out small effects. The smallest detectable effect of such a claim is the "
     "true standardized effect at which the claim fails (the effect is detected) in 80% of simulated surveys; "
     "its equivalence test in the claims table asks the same question of the data analysed."),
)
"""The Monte Carlo section's three questions: anchor id, heading, plain-words opening with the terms defined."""


def questions(table: pd.DataFrame, claims: pd.DataFrame, joint: pd.DataFrame, power: Mapping[str, Any],
              study: Study, sensitivity: pd.DataFrame | None = None, analysed_n: int | None = None
              ) -> list[dict[str, str]]:
    """One paragraph per question of :data:`QUESTIONS` (issue 17 points 3 and 16): plain words first, then the numbers.

    ``analysed_n`` is the number of respondents the main analysis used: the
    rates at it are given (interpolated, and said so, when it is not a
    simulated size). A paragraph with nothing to say is left out.
    """
    parts = reading_parts(table, claims, joint, power, study, sensitivity)
    if not any(parts.values()):
        return []
    groups = claim_groups(study)
    each = [_assumption(study)]
    if analysed_n and groups["power"]:
        each.append(_each_at(claims, groups["power"], analysed_n))
    all_ = [_joint_at(joint, len(study.claims), analysed_n)] if analysed_n else []
    null = list(parts["null"])
    sens_n = power.get("sensitivity_n")
    if null and analysed_n and sens_n and int(sens_n) != analysed_n:
        which = ("larger effects could hide in the smaller survey analysed" if analysed_n < int(sens_n)
                 else "the larger survey analysed detects somewhat smaller effects")
        null.append(f"The sensitivity analysis simulates surveys of n = {int(sens_n):,} (synthetic.n), not the "
                    f"n = {analysed_n:,} analysed here: {which}.")
    # the assumption, what was simulated, the rate at the n analysed, then each group of claims
    bodies = {"mc-each": each[:1] + parts["each"][:1] + each[1:] + parts["each"][1:],
              "mc-all": all_ + parts["all"], "mc-null": null}
    return [{"id": qid, "question": q, "text": " ".join([plain, *bodies[qid]])}
            for qid, q, plain in QUESTIONS if bodies[qid]]
