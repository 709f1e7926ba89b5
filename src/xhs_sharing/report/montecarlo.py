"""The plain-language reading of the Monte Carlo study, written from its result tables.

``results/montecarlo/`` holds numbers only (:mod:`xhs_sharing.analysis.montecarlo`
writes them); what they mean for the paper's claims is the report's to say.
:func:`reading` turns ``replications.csv``, ``claim_reproduction.csv``,
``joint_reproduction.csv``, ``power.json`` and ``sensitivity.csv`` into a few
sentences: how many fits failed, how reproducible the claims of no effect and
the claims of an effect are, from which n all claims reproduce together, the
ceiling the claims of no effect put on that joint rate, and the smallest
true effect each claim of no effect would miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from xhs_sharing.analysis.montecarlo import JOINT_LEVELS, joint_reproduction, smallest_reaching
from xhs_sharing.study.spec import Study

__all__ = ["fmt_rate", "reading"]


POWER_LEVEL = 0.80
"""Reproduction rate a claim of an effect should reach (the conventional 80% power)."""


def fmt_rate(x: float) -> str:
    """A rate as the report prints it: ``.95``, ``1.00``.

    >>> fmt_rate(0.953), fmt_rate(1.0)
    ('.95', '1.00')
    """
    return "1.00" if x >= 1 else f"{x:.2f}".lstrip("0")


def _rate(claims: pd.DataFrame, claim_id: str, n: int) -> float:
    """Reproduction rate of one claim at one n (``claim_reproduction.csv``)."""
    return float(claims.loc[(claims["claim_id"] == claim_id) & (claims["n"] == n), "reproduction_rate"].iloc[0])


def _design(table: pd.DataFrame, joint: pd.DataFrame, sizes: Sequence[int]) -> str:
    """What was simulated, and how many fits failed."""
    per_rep = table.drop_duplicates(["n", "replication"])
    n_fail = int((~per_rep["converged"].astype(bool)).sum())
    return (f"Surveys of n = {', '.join(f'{n:,}' for n in sizes)} were each simulated "
            f"{int(joint['replications'].max()):,} times from the population model in which the paper's "
            "hypotheses are true" + (f"; {n_fail} of {len(per_rep):,} fits failed and count as reproducing "
                                     "no claim." if n_fail else "; every fit converged."))


def _nulls(claims: pd.DataFrame, nulls: Sequence[str]) -> str:
    """The claims of no effect reproduce at about 1 - alpha whatever n."""
    rates = claims.loc[claims["claim_id"].isin(nulls), "reproduction_rate"]
    return (f"The {len(nulls)} claims of no effect reproduce in {fmt_rate(rates.min())} to "
            f"{fmt_rate(rates.max())} of replications at every n, about 1 - alpha = .95: a true null is "
            "declared significant 5% of the time whatever the sample size, so a larger survey does not make "
            "these claims more reproducible.")


def _effects(claims: pd.DataFrame, positives: Sequence[str], small: int, large: int) -> str:
    """From which n every claim of an effect reaches 80%, or which do not at the largest n."""
    need = {c: smallest_reaching(claims.loc[claims["claim_id"] == c, "n"].tolist(),
                                 claims.loc[claims["claim_id"] == c, "reproduction_rate"].tolist(), POWER_LEVEL)
            for c in positives}
    lacking = [c for c, v in need.items() if v is None]
    if lacking:
        worst = min(lacking, key=lambda c: _rate(claims, c, large))
        return (f"{len(lacking)} of the {len(positives)} claims of an effect reproduce in less than 80% of "
                f"replications even at n = {large:,} (weakest: {worst}, {fmt_rate(_rate(claims, worst, large))}).")
    top = max(v for v in need.values() if v is not None)
    weakest = min((c for c, v in need.items() if v == top), key=lambda c: _rate(claims, c, small))
    return (f"The claims of an effect become more reproducible as n grows: every one reproduces in at "
            f"least 80% of replications from n = {int(top):,} on; the weakest, {weakest}, reproduces in "
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


def _ceiling(table: pd.DataFrame, nulls: Sequence[str], large: int) -> str | None:
    """The joint rate cannot exceed the share of replications in which every claim of no effect holds."""
    sub = table[(table["n"] == large) & table["claim_id"].isin(list(nulls))]
    ceiling = float(joint_reproduction(sub)["joint_rate"].iloc[0])
    if ceiling >= max(JOINT_LEVELS):
        return None
    return (f"However large the survey, the joint rate cannot exceed the chance that every claim of no "
            f"effect holds at once ({fmt_rate(ceiling)} at n = {large:,}), so with 5% tests a joint "
            f"rate of {fmt_rate(max(JOINT_LEVELS))} is out of reach by design.")


def _sensitivity(sensitivity: pd.DataFrame, mde: Mapping[str, Any]) -> str:
    """The smallest true effect each claim of no effect fails on in 80% of replications."""
    parts = []
    for cid in dict.fromkeys(sensitivity["claim_id"].astype(str)):  # spec order, as simulated
        if cid not in mde:
            continue
        v = mde[cid]
        grp = sensitivity[sensitivity["claim_id"] == cid]
        link = str(grp["path"].iloc[0])
        if v is None:
            parts.append(f"{cid}, not reached up to {link} = {float(grp['effect'].max()):.2f}")
        elif cid == link:
            parts.append(f"{cid}, {v:.2f}")
        else:
            pe = float(grp.loc[grp["effect"] == v, "population_effect"].iloc[0])
            parts.append(f"{cid}, {link} = {v:.2f} (an indirect effect of {pe:.3f})")
    return (f"At n = {int(sensitivity['n'].iloc[0]):,} the smallest true standardized effect that makes a "
            f"claim of no effect fail in at least 80% of replications is: {'; '.join(parts)}. Smaller true "
            "effects would mostly pass as 'no effect': these claims rule out effects of about that size, "
            "not every effect.")


def reading(table: pd.DataFrame, claims: pd.DataFrame, joint: pd.DataFrame, power: Mapping[str, Any],
            study: Study, sensitivity: pd.DataFrame | None = None) -> str:
    """A few plain-language sentences on what the Monte Carlo tables say.

    Parameters
    ----------
    table : DataFrame
        ``replications.csv``.
    claims, joint : DataFrame
        ``claim_reproduction.csv`` and ``joint_reproduction.csv``.
    power : mapping
        ``power.json``: ``joint_80``, ``joint_95`` and, with a sensitivity analysis, ``min_detectable_80``.
    study : Study
        Says which claims are claims of no effect.
    sensitivity : DataFrame, optional
        ``sensitivity.csv``.

    Returns
    -------
    str
        The sentences, joined by spaces.
    """
    sizes = sorted(int(n) for n in joint["n"])
    if not sizes:
        return "No replications were simulated."
    small, large = sizes[0], sizes[-1]
    nulls = [c.id for c in study.claims if c.expected == "not_significant"]
    positives = [c.id for c in study.claims if c.expected != "not_significant"]
    out = [_design(table, joint, sizes)]
    if nulls:
        out.append(_nulls(claims, nulls))
    if positives:
        out.append(_effects(claims, positives, small, large))
    out.append(_joint(joint, power, len(study.claims), large))
    ceiling = _ceiling(table, nulls, large) if nulls else None
    if ceiling:
        out.append(ceiling)
    mde = power.get("min_detectable_80")
    if sensitivity is not None and len(sensitivity) and isinstance(mde, Mapping):
        out.append(_sensitivity(sensitivity, mde))
    return " ".join(out)
