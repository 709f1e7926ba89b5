"""How robust is each claim: the grid of defensible analyses, its intervals, labels and sentences.

A replication that runs one analysis says little about a claim that would
flip under another defensible choice (Silberzahn et al. 2018, many-analysts
study; Steegen, Tuerlinckx, Gelman & Vanpaemel 2016, multiverse analysis).
This module holds what does not need the engine:

* :func:`specification_grid` -- the specifications of the config's grid
  (estimator x missing-data handling x structural model), with every
  combination that does not exist listed with its reason, never silently
  skipped;
* :func:`full_mediation_study` -- the study with the direct X -> Y paths
  that the claims call mediated removed (fixed at 0), as section 5 of the
  paper implies;
* :func:`bc_interval` -- the bias-corrected percentile bootstrap interval
  (Efron & Tibshirani 1993, sec. 14.3, without acceleration: lavaan's
  ``boot.ci.type = "bca.simple"``);
* :func:`robustness_label` and :func:`claim_sentence` -- the label and the
  plain sentence of a claim's record over the grid;
* :func:`summarise` -- ``summary.csv`` from ``specifications.csv``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.errors import SpecError
from xhs_sharing.study.spec import Study

__all__ = [
    "ESTIMATORS_WITH_FIML",
    "INTERVAL_LABELS",
    "MODEL_LABELS",
    "Excluded",
    "Specification",
    "bc_interval",
    "claim_sentence",
    "full_mediation_paths",
    "full_mediation_study",
    "robustness_label",
    "specification_grid",
    "summarise",
]

ESTIMATORS_WITH_FIML: Final = ("ML", "MLR")
"""Estimators with a full-information likelihood for missing answers (lavaan: ``missing = "ml"``)."""

MODEL_LABELS: Final = {"as_specified": "as specified", "full_mediation": "full mediation"}
"""Structural models of the grid and their words in the report."""

INTERVAL_LABELS: Final = {"percentile": "percentile bootstrap", "bc": "bias-corrected bootstrap",
                          "monte_carlo": "Monte Carlo"}
"""Intervals for indirect effects and their words in the report."""

MISSING_LABELS: Final = {"listwise": "listwise deletion", "fiml": "FIML"}
"""Missing-data handling and its words in the report."""


@dataclass(frozen=True)
class Specification:
    """One analysis of the grid: estimator, missing-data handling, structural model.

    The interval of the indirect effects is not part of it: every interval
    is read from the same fit and bootstrap draws, so one job serves all.
    """

    estimator: str
    missing: str
    model: str

    @property
    def name(self) -> str:
        """``"ML-listwise-as_specified"``: the Snakemake wildcard and file stem."""
        return f"{self.estimator}-{self.missing}-{self.model}"

    @classmethod
    def from_name(cls, name: str) -> Specification:
        """Inverse of :attr:`name`."""
        parts = name.split("-")
        if len(parts) != 3:
            raise SpecError(f"a specification name is estimator-missing-model, got {name!r}")
        return cls(*parts)

    def describe(self) -> str:
        """``"WLSMV, listwise deletion, full mediation"``."""
        return f"{self.estimator}, {MISSING_LABELS[self.missing]}, {MODEL_LABELS[self.model]}"


@dataclass(frozen=True)
class Excluded:
    """A combination of the grid that does not exist, and why."""

    specification: Specification
    reason: str


NO_MISSING: Final = "the survey has no missing answers, so FIML is the listwise analysis"
"""Why FIML is not a further specification on complete data."""


def specification_grid(
    estimators: Sequence[str], missing: Sequence[str], models: Sequence[str], *, complete_data: bool = False,
) -> tuple[list[Specification], list[Excluded]]:
    """The specifications of the grid that exist, and those that do not with the reason.

    FIML exists only for the likelihood estimators (:data:`ESTIMATORS_WITH_FIML`):
    WLSMV works on polychoric correlations of complete cases (lavaan's
    pairwise deletion aside) and PLS on the item correlation matrix. With
    ``complete_data`` (the synthetic survey, which has no missing answers)
    FIML is left out too (:data:`NO_MISSING`); for a survey of one's own
    that is known only once it is read, and the specification job says so
    (status ``not_applicable``).
    """
    for name, values, allowed in (("missing", missing, MISSING_LABELS), ("models", models, MODEL_LABELS)):
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise SpecError(f"robustness.{name}: unknown value(s) {unknown}; allowed: {sorted(allowed)}")
    run: list[Specification] = []
    excluded: list[Excluded] = []
    for est in estimators:
        for miss in missing:
            for model in models:
                spec = Specification(est, miss, model)
                if miss == "fiml" and est not in ESTIMATORS_WITH_FIML:
                    excluded.append(Excluded(spec, f"{est} has no full-information likelihood for missing answers "
                                                   f"(FIML exists for {', '.join(ESTIMATORS_WITH_FIML)})"))
                elif miss == "fiml" and complete_data:
                    excluded.append(Excluded(spec, NO_MISSING))
                else:
                    run.append(spec)
    return run, excluded


def full_mediation_paths(study: Study) -> list[tuple[str, str]]:
    """The direct paths X -> Y that full mediation fixes at 0.

    X -> Y is removed when a claim says that some chain X -> ... -> Y
    mediates a significant effect (``kind: indirect``, ``expected:
    positive_significant``) and no claim is about the direct path itself;
    in the default spec: IS, ES, PR, PA -> WSI (section 5 of the paper:
    the norms mediate the four factors' effects), while PC -> WSI, a claimed
    direct effect, stays.
    """
    claimed = {tuple(c.path) for c in study.claims if c.kind == "path"}
    mediated = {(c.path[0], c.path[-1]) for c in study.claims
                if c.kind == "indirect" and c.expected == "positive_significant"}
    declared = [(p.source, p.target) for p in study.paths]
    return [pair for pair in declared if pair in mediated and pair not in claimed]


def full_mediation_study(study: Study) -> Study:
    """``study`` without the paths of :func:`full_mediation_paths` (so they are fixed at 0)."""
    drop = set(full_mediation_paths(study))
    return replace(study, paths=tuple(p for p in study.paths if (p.source, p.target) not in drop))


def bc_interval(draws: np.ndarray, estimate: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected percentile bootstrap interval of every column of ``draws``.

    With ``z0 = Phi^-1(#{draws < estimate} / B)`` (NaN draws left out) the
    bounds are the quantiles of the draws at ``Phi(2 z0 + z_{alpha/2})`` and
    ``Phi(2 z0 + z_{1-alpha/2})`` (Efron & Tibshirani 1993, eq. 14.10 with
    acceleration 0; lavaan's ``"bca.simple"``), with linear interpolation
    (Hyndman & Fan type 7, as the percentile intervals; lavaan interpolates
    on the normal scale, a difference of order 1/B). A column whose
    estimate lies outside all of its draws has no bias correction
    (``z0`` infinite): its bounds are NaN.
    """
    draws = np.asarray(draws, dtype=float)
    est = np.asarray(estimate, dtype=float)
    alpha = 1.0 - level
    lo = np.full(draws.shape[1], np.nan)
    hi = np.full(draws.shape[1], np.nan)
    for j in range(draws.shape[1]):
        col = draws[:, j][~np.isnan(draws[:, j])]
        share = np.mean(col < est[j]) if col.size else np.nan
        if not 0.0 < share < 1.0:
            continue
        z0 = stats.norm.ppf(share)
        probs = stats.norm.cdf(2.0 * z0 + stats.norm.ppf([alpha / 2, 1 - alpha / 2]))
        lo[j], hi[j] = np.quantile(col, probs)
    return lo, hi


def robustness_label(reproduced: int, run: int) -> str:
    """``robust`` (reproduced in every specification run), ``fragile`` (in some) or ``contradicted`` (in none)."""
    if run <= 0:
        return "not run"
    if reproduced == run:
        return "robust"
    return "contradicted" if reproduced == 0 else "fragile"


_CHOICES: Final = ("estimator", "missing", "model", "interval")


def _choice_words(column: str, value: str) -> str:
    if column == "missing":
        return MISSING_LABELS.get(value, value)
    if column == "model":
        return MODEL_LABELS.get(value, value)
    if column == "interval":
        return INTERVAL_LABELS.get(value, value)
    return value


def _common_choices(rows: pd.DataFrame, everything: pd.DataFrame) -> list[str]:
    """The choices every row of ``rows`` shares and that vary over ``everything`` (words)."""
    words = []
    for column in _CHOICES:
        values = set(rows[column])
        if len(values) == 1 and everything[column].nunique() > 1:
            words.append(_choice_words(column, values.pop()))
    return words


def claim_sentence(rows: pd.DataFrame) -> str:
    """One plain sentence on a claim's record over the grid.

    ``"holds under 22 of 24 analyses; fails only under WLSMV with full
    mediation"``: the failing (or, when it mostly fails, the holding)
    analyses are described by the choices they share, when they share one.
    ``rows``: the claim's rows of ``specifications.csv`` (``reproduced``
    and the choice columns).
    """
    n, k = len(rows), int(rows["reproduced"].sum())
    if n == 0:
        return "was not judged under any analysis"
    word = "analysis" if n == 1 else "analyses"
    if k == n:
        return f"holds under all {n} {word}" if n > 1 else "holds under the one analysis run"
    if k == 0:
        return f"holds under none of the {n} {word}"
    minority = rows[~rows["reproduced"]] if k > n - k else rows[rows["reproduced"]]
    shared = _common_choices(minority, rows)
    verb = "fails only under" if k > n - k else "holds only under"
    tail = f"; {verb} {' with '.join(shared)}" if shared else ""
    return f"holds under {k} of {n} {word}{tail}"


def summarise(specs: pd.DataFrame, claim_order: Iterable[str]) -> pd.DataFrame:
    """``summary.csv``: per claim, specifications run, share reproduced, main verdict, label and sentence.

    ``specs`` is ``specifications.csv`` (rows with ``status == "run"``
    count); its ``main`` column marks the rows of the main specification (the
    run's own estimator and missing-data handling, the model as specified and
    the percentile bootstrap), whose verdict is that of ``claims.json``.
    """
    rows = []
    done = specs[specs["status"] == "run"]
    for claim in claim_order:
        mine = done[done["claim"] == claim]
        main_rows = mine[mine["main"]] if "main" in mine else mine.iloc[0:0]
        k, n = int(mine["reproduced"].sum()), len(mine)
        rows.append({
            "claim": claim, "specifications": n, "reproduced": k,
            "share_reproduced": k / n if n else np.nan,
            "main_verdict": str(main_rows["verdict"].iloc[0]) if len(main_rows) else "",
            "label": robustness_label(k, n), "sentence": claim_sentence(mine),
        })
    return pd.DataFrame(rows, columns=["claim", "specifications", "reproduced", "share_reproduced",
                                       "main_verdict", "label", "sentence"])
