"""Measurement diagnostics run before the models: stop in seconds on a meaningless model, name the cause.

Issue 19 points 1-2: on hard data the structural step ran for minutes (a
bootstrap whose resamples mostly failed) or ended in a bare "did not
converge" naming nothing. :func:`diagnose` runs first, on the analysis
table, and returns :class:`Finding` s, each naming the constructs or items
and the likely cause, with a severity:

* ``"stop"``: the structural model would be meaningless; the workflow's
  ``diagnostics`` rule raises :class:`DiagnosticsStop` and no model step runs;
* ``"weakens"``: the run goes on and the report says so at its top.

The checks, cheapest first (the CFA only runs when none of the model-free
checks stops the run):

1. respondents per free parameter of the structural model, ``n / q``
   (below ``min_n_per_parameter``, 5 by default after Bentler & Chou 1987:
   weakens);
2. item copies: two items giving the same answer for at least
   ``copy_share`` of the respondents (stop);
3. HTMT (Henseler, Ringle & Sarstedt 2015) of every pair of constructs: from
   ``htmt_stop`` on the two constructs are empirically one (stop); from .90,
   Henseler et al.'s liberal cut-off, weakens;
4. the CFA (:func:`~xhs_sharing.analysis.measurement.fit_cfa`): no
   convergence, or an improper solution (a negative residual variance, a
   standardized loading above 1: a Heywood case; a latent correlation
   matrix that is not positive definite) stops the run, since the structural
   model contains the CFA;
5. collinearity of the predictors of each structural equation: the variance
   inflation factor ``VIF_j = [R^{-1}]_{jj}`` of the CFA's latent correlation
   matrix ``R`` of the equation's predictors (stop from ``vif_stop``, weakens
   from half of it).

Respondents who give one answer to every item (straight-lining) inflate
every correlation; their count is named as a likely cause when a
correlation-based check fails (the screen itself is a separate step).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from xhs_sharing.analysis.measurement import fit_cfa, htmt
from xhs_sharing.errors import EstimationError, XhsError
from xhs_sharing.study.spec import Study, config_defaults
from xhs_sharing.study.syntax import n_free_parameters

logger = logging.getLogger(__name__)

__all__ = ["DEFAULTS", "Diagnostics", "DiagnosticsStop", "Finding", "diagnose", "nonconvergence_hint"]

#: The config's ``diagnostics`` defaults (its JSON Schema): htmt_stop, vif_stop, copy_share, min_n_per_parameter.
DEFAULTS: Final[dict[str, Any]] = config_defaults()["diagnostics"]

HTMT_WEAK: Final = 0.90
"""HTMT from which a pair weakens the model: Henseler et al.'s (2015) liberal cut-off for discriminant validity."""

STOP: Final = "stop"
MAX_LISTED: Final = 4
"""Stopping findings written out in full in the error; the rest are named by their subjects."""
WEAKENS: Final = "weakens"


class DiagnosticsStop(EstimationError):
    """The measurement diagnostics found the structural model meaningless on these data."""


@dataclass(frozen=True)
class Finding:
    """One diagnostic result.

    Attributes
    ----------
    check : str
        ``n_per_parameter``, ``item_copy``, ``htmt``, ``cfa_convergence``,
        ``improper_cfa`` or ``collinearity``.
    severity : str
        ``"stop"`` or ``"weakens"``.
    subjects : tuple of str
        The constructs or items the finding names.
    message : str
        One sentence naming them, the value against its threshold and the likely cause.
    """

    check: str
    severity: str
    subjects: tuple[str, ...]
    message: str


@dataclass
class Diagnostics:
    """Every finding of :func:`diagnose` and the figures behind them."""

    findings: list[Finding]
    n: int
    n_parameters: int
    straight_liners: int
    settings: dict[str, Any] = field(default_factory=dict)
    cause: str = ""

    @property
    def stops(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == STOP]

    @property
    def weakens(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WEAKENS]

    @property
    def verdict(self) -> str:
        """``"stop"``, ``"weakened"`` or ``"ok"``."""
        return STOP if self.stops else ("weakened" if self.weakens else "ok")

    def document(self) -> dict[str, Any]:
        """``diagnostics.json``."""
        return {
            "verdict": self.verdict, "n": self.n, "n_parameters": self.n_parameters,
            "n_per_parameter": round(self.n / self.n_parameters, 3), "straight_liners": self.straight_liners,
            "likely_cause": self.cause.strip(),
            "findings": [asdict(f) | {"subjects": list(f.subjects)} for f in self.findings],
            "settings": dict(self.settings),
        }

    def stop_message(self) -> str:
        """The error of a stopped run: every stopping finding, numbered."""
        parts = [f"({k}) {f.message}" for k, f in enumerate(self.stops[:MAX_LISTED], 1)]
        more = len(self.stops) - MAX_LISTED
        if more > 0:
            parts.append(f"and {more} more ({', '.join('/'.join(f.subjects) for f in self.stops[MAX_LISTED:])}).")
        return ("the measurement diagnostics stop the run before the measurement and structural models, which "
                "would be meaningless on these data: " + " ".join(parts) + self.cause + " Fix the survey or the "
                "study spec; the cut-offs are the config's diagnostics block.")


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def count_straight_liners(items: pd.DataFrame, study: Study) -> int:
    """Respondents whose answers to every item that is not reverse-worded are one value (zero range)."""
    forward = [it.id for it in study.items if not it.reverse and it.id in items.columns]
    x = items[forward].to_numpy(dtype=float)
    answered = ~np.isnan(x)
    high = np.where(answered, x, -np.inf).max(axis=1)
    low = np.where(answered, x, np.inf).min(axis=1)
    return int(((high == low) & (answered.sum(axis=1) > 1)).sum())


def _straight_cause(n_liners: int, n: int) -> str:
    """The straight-lining sentence of a correlation finding (empty below 5% of the respondents)."""
    if n_liners < 0.05 * n:
        return ""
    return (f" {n_liners} of {n} respondents ({n_liners / n:.0%}) give one answer to every item: straight-lining "
            "inflates every correlation, a likely cause.")


def n_per_parameter_finding(n: int, q: int, minimum: float) -> list[Finding]:
    """Weakens when ``n / q < minimum`` (Bentler & Chou 1987: at least 5 respondents per free parameter)."""
    if n >= minimum * q:
        return []
    return [Finding("n_per_parameter", WEAKENS, (), (
        f"{n} respondents for the structural model's {q} free parameters ({n / q:.2f} per parameter, below "
        f"diagnostics.min_n_per_parameter = {minimum:g}): expect improper solutions and failed bootstrap "
        "resamples, and wide intervals"))]


def item_copy_findings(items: pd.DataFrame, study: Study, share: float) -> list[Finding]:
    """Stops for every pair of items with the same answer for at least ``share`` of the respondents who answered both."""
    ids = [i for i in study.item_ids if i in items.columns]
    x = items[ids].to_numpy(dtype=float)
    owner = {it.id: it.construct for it in study.items}
    out = []
    for a in range(len(ids)):
        both = ~np.isnan(x[:, a, None]) & ~np.isnan(x[:, a + 1:])
        same = (x[:, a, None] == x[:, a + 1:]) & both
        rate = same.sum(axis=0) / np.maximum(both.sum(axis=0), 1)
        for off in np.flatnonzero(rate >= share):
            b = a + 1 + int(off)
            out.append(Finding("item_copy", STOP, (ids[a], ids[b]), (
                f"items {ids[a]} ({owner[ids[a]]}) and {ids[b]} ({owner[ids[b]]}) give the same answer for "
                f"{rate[off]:.1%} of the respondents (at least diagnostics.copy_share = {share:g}): a duplicated "
                "or copied column; their shared error breaks the model's independent residuals (likely an "
                "improper solution), so drop one of them")))
    return out


def htmt_findings(table: pd.DataFrame, stop: float) -> list[Finding]:
    """Stops for each pair with HTMT >= ``stop``; weakens from :data:`HTMT_WEAK`."""
    out = []
    names = list(table.index)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            value = float(table.loc[a, b])
            if not np.isfinite(value) or value < min(stop, HTMT_WEAK):
                continue
            if value >= stop:
                out.append(Finding("htmt", STOP, (a, b), (
                    f"{a} and {b} have HTMT {_fmt(value)} (at least diagnostics.htmt_stop = {stop:g}"
                    f"{'; above 1 their items correlate more across the two constructs than within each' if value > 1 else ''}"
                    f"): empirically one construct, so their paths cannot be told apart; merge the two "
                    "constructs or drop one.")))
            else:
                out.append(Finding("htmt", WEAKENS, (a, b), (
                    f"{a} and {b} have HTMT {_fmt(value)} (above {HTMT_WEAK}, Henseler et al. 2015): weak "
                    "discriminant validity, their paths are estimated with inflated standard errors")))
    return out


def cfa_findings(loadings: pd.DataFrame, latent_corr: pd.DataFrame, problems: tuple[str, ...]) -> list[Finding]:
    """Stops on an improper CFA: negative residual variances, standardized loadings above 1, a non-PD latent matrix."""
    out = []
    for row in loadings.itertuples():
        if row.resid_var < 0 or abs(row.std_all) > 1:
            out.append(Finding("improper_cfa", STOP, (row.item, row.construct), (
                f"the CFA is improper at item {row.item} of {row.construct}: residual variance "
                f"{row.resid_var:.3f}, standardized loading {row.std_all:.3f} (a Heywood case). Likely cause: "
                f"{row.item} correlates with the other items of {row.construct} more than they correlate with "
                f"each other (a misassigned or near-duplicate item), or too few respondents; check or drop "
                f"{row.item}")))
    r = latent_corr.to_numpy(dtype=float)
    if np.linalg.eigvalsh(r).min() <= 0:
        i, j = np.unravel_index(np.argmax(np.abs(r - np.eye(len(r)))), r.shape)
        a, b = latent_corr.index[i], latent_corr.index[j]
        out.append(Finding("improper_cfa", STOP, (a, b), (
            f"the CFA's latent correlation matrix is not positive definite (largest: {a} with {b}, "
            f"r = {r[i, j]:.3f}): two or more constructs are one")))
    named = {f.subjects[0] for f in out}
    for p in problems:
        if not any(s in p for s in named) and "positive definite" not in p:
            out.append(Finding("improper_cfa", STOP, (), f"the CFA is improper: {p}"))
    return out


def collinearity_findings(latent_corr: pd.DataFrame, study: Study, vif_stop: float) -> list[Finding]:
    """VIF of each predictor of each structural equation, ``[R^{-1}]_{jj}`` of its predictors' latent correlations.

    Stops from ``vif_stop`` (10: tolerance .10, Hair et al. 2010), weakens from half of it.
    """
    out = []
    for target in study.endogenous:
        preds = [p.source for p in study.paths if p.target == target]
        if len(preds) < 2:
            continue
        r = latent_corr.loc[preds, preds].to_numpy(dtype=float)
        try:
            vif = np.diag(np.linalg.inv(r))
        except np.linalg.LinAlgError:
            vif = np.full(len(preds), np.inf)
        for pred, v in zip(preds, vif, strict=True):
            if v >= vif_stop / 2 or not np.isfinite(v) or v <= 0:
                partner = max((p for p in preds if p != pred), key=lambda p: abs(latent_corr.loc[pred, p]))
                severity = STOP if (v >= vif_stop or not np.isfinite(v) or v <= 0) else WEAKENS
                out.append(Finding("collinearity", severity, (pred, target), (
                    f"{pred} as a predictor of {target} has a variance inflation factor of {v:.1f} "
                    f"({'at least' if severity == STOP else 'above half of'} diagnostics.vif_stop = {vif_stop:g}; "
                    f"its latent correlation with {partner} is {latent_corr.loc[pred, partner]:.3f}): its path "
                    f"to {target} is {'not separable from the others' if severity == STOP else 'imprecise'}")))
    return out


def _cfa_stage(items: pd.DataFrame, study: Study, missing: str, vif_stop: float,
               hint: str) -> list[Finding]:
    """The CFA, then its improper-solution and collinearity findings; a CFA that does not converge stops."""
    try:
        cfa = fit_cfa(items, study.items_by_construct, missing=missing)
    except XhsError as exc:
        return [Finding("cfa_convergence", STOP, (), (
            f"the CFA (the measurement model inside the structural model) cannot be estimated: {exc}.{hint}"))]
    found = cfa_findings(cfa.loadings, cfa.latent_corr, cfa.problems)
    if not found:
        found = collinearity_findings(cfa.latent_corr, study, vif_stop)
    return found


def _likely_pair_hint(table: pd.DataFrame) -> str:
    """The most alike pair of constructs by HTMT, as a hint for a CFA that does not converge."""
    v = table.to_numpy(dtype=float).copy()
    np.fill_diagonal(v, np.nan)
    if np.all(np.isnan(v)):
        return ""
    i, j = np.unravel_index(np.nanargmax(v), v.shape)
    return (f" The most alike constructs are {table.index[i]} and {table.index[j]} (HTMT {_fmt(v[i, j])}); "
            "check their items for near-duplicates, or too few respondents.")


def nonconvergence_hint(items: pd.DataFrame, study: Study, missing: str = "listwise") -> str:
    """For a model that does not converge: the most alike pair of constructs by HTMT, and where to look.

    Cheap (no model fit): one correlation matrix. Empty when no pair is defined.
    """
    try:
        table = htmt(items, study.items_by_construct, missing=missing)
    except XhsError:
        return ""
    return _likely_pair_hint(table).strip()


def diagnose(items: pd.DataFrame, study: Study, settings: Mapping[str, Any] | None = None,
             missing: str = config_defaults()["data"]["missing"]) -> Diagnostics:
    """Run every diagnostic on the analysis table (items recoded); see the module docstring.

    Parameters
    ----------
    items : pd.DataFrame
        One column per item of ``study`` (recoded), one row per respondent.
    study : Study
    settings : mapping, optional
        The config's ``diagnostics`` block; missing keys take :data:`DEFAULTS`.
    missing : {"listwise", "fiml"}
        The run's missing-data setting (the CFA's and the HTMT's).

    Returns
    -------
    Diagnostics
        The model-free findings; the CFA's only when none of them stops the run.
    """
    cfg = {**DEFAULTS, **dict(settings or {})}
    n, q = len(items), n_free_parameters(study)
    liners = count_straight_liners(items, study)
    table = htmt(items, study.items_by_construct, missing=missing)
    found = n_per_parameter_finding(n, q, cfg["min_n_per_parameter"])
    found += item_copy_findings(items, study, cfg["copy_share"])
    found += htmt_findings(table, cfg["htmt_stop"])
    if not any(f.severity == STOP for f in found):
        found += _cfa_stage(items, study, missing, cfg["vif_stop"], _likely_pair_hint(table))
    return Diagnostics(found, n, q, liners, cfg, _straight_cause(liners, n))
