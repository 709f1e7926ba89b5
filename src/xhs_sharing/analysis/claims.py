"""Checking the paper's claims against the estimates.

A claim is one finding of the paper (section 5): a structural path or a
specific indirect effect along a chain of paths (``X -> M -> Y``, or a
serial chain ``X -> M1 -> M2 -> Y`` of any length), expected to be significant with a given sign or not
significant. The decision rule is the interval one:

* ``positive_significant`` / ``negative_significant``: reproduced when the
  estimate has the expected sign and its 95% interval excludes zero;
* ``not_significant``: reproduced when the 95% interval includes zero.

Paths use their Wald interval (under PLS and PLSc the percentile bootstrap
interval of ``paths.csv``, the only one PLS has); indirect effects use the percentile bootstrap
interval by default (the Monte Carlo interval in the Monte Carlo study, where
refitting thousands of bootstrap resamples per replication is not affordable).

A claim cannot be reproduced on a solution that is not admissible: when the
structural solution is improper (a negative variance, a non-positive-definite
latent or implied covariance matrix; ``"proper": false`` in
``results/structural/fit.json``) every verdict is ``not_reproduced``, the
reason naming the problems (``improper=`` of :func:`evaluate_claims`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from xhs_sharing.analysis.structural import is_pls
from xhs_sharing.errors import EstimationError
from xhs_sharing.study.spec import Claim
from xhs_sharing.study.syntax import mediator_label

EXPECTED_SIGN = {"positive_significant": 1, "negative_significant": -1, "not_significant": 0}


@dataclass(frozen=True)
class ClaimResult:
    """The verdict on one claim, with the numbers it rests on."""

    id: str
    statement: str
    section: str
    kind: str
    expected: str
    estimate: float
    std_estimate: float
    ci_low: float
    ci_high: float
    interval: str
    pvalue: float | None
    verdict: str
    reason: str
    equivalence: dict[str, Any] | None = None

    @property
    def reproduced(self) -> bool:
        """True when the verdict is ``reproduced``."""
        return self.verdict == "reproduced"


def judge(expected: str, estimate: float, ci_low: float, ci_high: float, source: str | None = None) -> tuple[str, str]:
    """Apply the decision rule to one estimate and its 95% interval.

    ``source`` names where the claim comes from in the reason (``"the paper"``,
    from the spec's ``source`` block); None words the reason without one.

    Returns
    -------
    (verdict, reason)
        ``verdict`` is ``"reproduced"`` or ``"not_reproduced"``; ``reason`` is one line.

    Examples
    --------
    >>> judge("positive_significant", 0.2, 0.1, 0.3)[0]
    'reproduced'
    >>> judge("not_significant", 0.2, 0.1, 0.3)[0]
    'not_reproduced'
    """
    if expected not in EXPECTED_SIGN:
        raise ValueError(f"unknown expectation {expected!r}; expected one of {sorted(EXPECTED_SIGN)}")
    if not all(math.isfinite(v) for v in (estimate, ci_low, ci_high)):
        return "not_reproduced", "the estimate or its interval is not finite"
    if ci_low > ci_high:
        raise ValueError(f"interval bounds out of order: [{ci_low}, {ci_high}]")
    span = f"95% CI [{ci_low:.3f}, {ci_high:.3f}]"
    excludes_zero = ci_low > 0 or ci_high < 0
    sign = EXPECTED_SIGN[expected]
    if sign == 0:
        if excludes_zero:
            return "not_reproduced", (f"{span} excludes zero: the effect is significant, "
                                      + (f"{source} found none" if source else "the claim says there is none"))
        return "reproduced", f"{span} includes zero, " + (f"as {source} reports" if source else "as claimed")
    word = "positive" if sign > 0 else "negative"
    if not excludes_zero:
        return "not_reproduced", (f"{span} includes zero: not significant, "
                                  + (f"{source} reports a {word} effect" if source else f"the claim is of a {word} effect"))
    if math.copysign(1, estimate) != sign:
        return "not_reproduced", f"{span} excludes zero but the effect is not {word}"
    return "reproduced", f"{span} excludes zero with the expected {word} sign"


IMPROPER_REASON = "the structural solution is improper"
"""Start of the reason of every claim judged on an improper solution."""


def improper_problems(fit: Mapping[str, Any]) -> list[str]:
    """The improper-solution problems recorded in a ``fit.json`` document (empty when proper).

    A document without the ``proper`` key (written before it existed) counts as
    proper; ``"proper": false`` without a problem list still counts as improper.

    >>> improper_problems({"proper": False, "problems": ["negative residual variance of x1"]})
    ['negative residual variance of x1']
    >>> improper_problems({"chi2": 1.0})
    []
    """
    if fit.get("proper", True) is not False:
        return []
    return [str(p) for p in (fit.get("problems") or [])] or ["no detail recorded"]


def _as_problems(improper: Sequence[str] | str | None) -> tuple[str, ...]:
    if improper is None:
        return ()
    if isinstance(improper, str):
        return (improper,) if improper else ()
    return tuple(str(p) for p in improper)


def _path_row(paths: pd.DataFrame, source: str, target: str) -> pd.Series:
    rows = paths[(paths["lhs"] == target) & (paths["op"] == "~") & (paths["rhs"] == source)]
    if len(rows) != 1:
        raise EstimationError(f"the paths table has {len(rows)} rows for {target} ~ {source} (expected 1)")
    return rows.iloc[0]


def _indirect_row(indirect: pd.DataFrame, claim: Claim) -> pd.Series:
    """The ``indirect`` row of the claim's chain ``(x, m1, ..., mk, y)`` (``mediator`` ``"m1->...->mk"``)."""
    x, *mediators, y = claim.path
    effect = indirect["effect"] if "effect" in indirect.columns else pd.Series("indirect", index=indirect.index)
    rows = indirect[(indirect["x"] == x) & (indirect["mediator"] == mediator_label(mediators))
                    & (indirect["y"] == y) & (effect == "indirect")]
    if len(rows) != 1:
        raise EstimationError(f"claim {claim.id}: the indirect-effects table has {len(rows)} rows for "
                              f"{'->'.join(claim.path)} (expected 1)")
    return rows.iloc[0]


def evaluate_claim(
    claim: Claim,
    paths: pd.DataFrame,
    indirect: pd.DataFrame | None = None,
    interval: str = "boot",
    equivalence: Mapping[str, dict[str, Any]] | None = None,
    improper: Sequence[str] | str | None = None,
    source: str | None = None,
) -> ClaimResult:
    """Evaluate one claim.

    Parameters
    ----------
    claim : Claim
        From the study spec.
    paths : DataFrame
        Columns ``lhs, op, rhs, est, std_all, pvalue, ci_low, ci_high``.
    indirect : DataFrame, optional
        Columns ``x, mediator, y, est, std_est`` and ``{interval}_ci_low``,
        ``{interval}_ci_high`` (needed for indirect claims).
    interval : {"boot", "mc"}
        Which interval decides an indirect claim.
    equivalence : mapping, optional
        Claim id -> equivalence-test result, attached to null claims.
    improper : sequence of str, optional
        The problems of an improper structural solution (``fit.json``'s
        ``problems``; :func:`improper_problems`). When any is given the
        verdict is ``not_reproduced`` whatever the interval says, and the
        reason starts with "the structural solution is improper: " and the
        problems (the interval rule's own reading follows, for the record);
        the estimate and interval are still reported.
    source : str, optional
        Where the claim comes from, for the reason (:func:`judge`).
    """
    problems = _as_problems(improper)
    if claim.kind == "path":
        row = _path_row(paths, claim.path[0], claim.path[1])
        est, std, lo, hi = (float(row[c]) for c in ("est", "std_all", "ci_low", "ci_high"))
        pvalue = float(row["pvalue"]) if "pvalue" in row and pd.notna(row["pvalue"]) else None
        # under PLS/PLSc paths.csv holds the percentile bootstrap interval (there is no Wald one)
        used = "percentile bootstrap" if is_pls(str(row.get("estimator", ""))) else "wald"
    elif claim.kind == "indirect":
        if indirect is None:
            raise EstimationError(f"claim {claim.id} needs the indirect-effects table")
        if interval not in ("boot", "mc"):
            raise ValueError(f"interval must be 'boot' or 'mc', got {interval!r}")
        row = _indirect_row(indirect, claim)
        est, std = float(row["est"]), float(row["std_est"])
        lo, hi = float(row[f"{interval}_ci_low"]), float(row[f"{interval}_ci_high"])
        pvalue = None
        used = {"boot": "percentile bootstrap", "mc": "Monte Carlo"}[interval]
    else:
        raise ValueError(f"unknown claim kind {claim.kind!r}")
    verdict, reason = judge(claim.expected, est, lo, hi, source)
    if problems:
        reason = (f"{IMPROPER_REASON}: {'; '.join(problems)}; a claim cannot be reproduced on an inadmissible "
                  f"solution (the interval rule alone would give {verdict.replace('_', ' ')}: {reason})")
        verdict = "not_reproduced"
    equiv = None
    if equivalence is not None and claim.expected == "not_significant":
        equiv = dict(equivalence[claim.id]) if claim.id in equivalence else None
    return ClaimResult(
        id=claim.id, statement=claim.statement, section=claim.section, kind=claim.kind,
        expected=claim.expected, estimate=est, std_estimate=std, ci_low=lo, ci_high=hi,
        interval=used, pvalue=pvalue, verdict=verdict, reason=reason, equivalence=equiv,
    )


def evaluate_claims(
    claims: Iterable[Claim],
    paths: pd.DataFrame,
    indirect: pd.DataFrame | None = None,
    interval: str = "boot",
    equivalence: Mapping[str, dict[str, Any]] | None = None,
    improper: Sequence[str] | str | None = None,
    source: str | None = None,
) -> list[ClaimResult]:
    """Evaluate every claim, in spec order.

    ``improper``: the problems of an improper structural solution; when given,
    every verdict is ``not_reproduced`` (see :func:`evaluate_claim`).
    ``source``: where the claims come from, for the reasons (:func:`judge`).
    """
    return [evaluate_claim(c, paths, indirect, interval, equivalence, improper, source) for c in claims]


def claims_document(results: list[ClaimResult]) -> dict[str, Any]:
    """The content of ``results/claims.json``: the claims in spec order and the tally."""
    return {
        "claims": [asdict(r) for r in results],
        "reproduced": sum(r.reproduced for r in results),
        "total": len(results),
    }
