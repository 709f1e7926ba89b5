"""Bootstrap standard errors, standardized intervals and contrasts of specific indirect effects.

Additions to the table of :func:`xhs_sharing.analysis.mediation.indirect_effects_table`
(issue 17, point 14), computed from the same full-sample fit, the same
bootstrap resamples and the same Monte Carlo draws:

* **bootstrap SE** of every effect: the standard deviation (divisor
  ``B - 1``) of its estimates over the ``B`` converged resamples, lavaan's
  ``se = "bootstrap"`` (``sd()`` of the bootstrap estimates; Efron &
  Tibshirani 1993, eq. 6.6);
* **percentile-bootstrap interval of the standardized effect**: the
  ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the standardized
  effect recomputed in every resample (``std.all`` of that resample's
  solution; the standardized product of paths, never the product of the
  interval limits);
* **contrasts of specific indirect effects** (Preacher & Hayes 2008, Behav.
  Res. Methods 40:879-891; Hayes 2018, sec. 5.3): for every ``(x, y)`` pair
  with two or more specific indirect effects, every pairwise difference
  ``ind_i - ind_j`` (``i`` before ``j`` in chain order, e.g. PR via SN minus
  PR via CN). Point estimate at the full-sample estimates, delta-method SE
  (lavaan's ``se`` of ``con := a1*b1 - a2*b2`` under ``se = "standard"``, and
  of its ``standardizedSolution()`` row), bootstrap SE, percentile-bootstrap
  intervals of the raw and standardized contrast (the difference of the two
  effects within each resample), and the Monte Carlo interval (the
  difference within each Monte Carlo draw; Selig & Preacher 2008).

Without bootstrap draws (the bootstrap failed around an improper solution)
the bootstrap columns are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Final

import numpy as np
import pandas as pd

from xhs_sharing.analysis.mediation import (
    BootstrapResult,
    Chain,
    EffectDraws,
    EffectSpec,
    compute_effects,
    effect_specs,
)
from xhs_sharing.analysis.structural import StructuralResult
from xhs_sharing.errors import SpecError
from xhs_sharing.sem.resample import percentile_interval
from xhs_sharing.sem.standardize import delta_method_se

__all__ = [
    "CONTRAST_COLUMNS",
    "INDIRECT_BOOTSTRAP_COLUMNS",
    "Contrast",
    "add_bootstrap_columns",
    "bootstrap_se",
    "contrast_matrix",
    "contrasts_table",
    "indirect_contrasts",
]

INDIRECT_BOOTSTRAP_COLUMNS: Final = ("boot_se", "std_ci_low", "std_ci_high")
"""Columns :func:`add_bootstrap_columns` appends to the effects table."""

CONTRAST_COLUMNS: Final = (
    "x", "y", "mediator_1", "mediator_2", "est", "se", "std_est", "std_se", "boot_se",
    "boot_ci_low", "boot_ci_high", "std_ci_low", "std_ci_high", "mc_ci_low", "mc_ci_high",
)
"""Columns of :func:`contrasts_table` (``results/structural/indirect_contrasts.csv`` before ``estimator``)."""


@dataclass(frozen=True)
class Contrast:
    """The difference ``x -> mediator_1 -> y`` minus ``x -> mediator_2 -> y`` of two specific indirect effects.

    ``first`` and ``second`` are the columns of the two effects in
    :func:`~xhs_sharing.analysis.mediation.effect_specs`.
    """

    x: str
    y: str
    mediator_1: str
    mediator_2: str
    first: int
    second: int


def indirect_contrasts(specs: Sequence[EffectSpec]) -> list[Contrast]:
    """Every pairwise contrast of the specific indirect effects of each ``(x, y)`` pair.

    Pairs with a single specific indirect effect have none; a pair with
    ``k`` of them has ``k (k - 1) / 2``, earlier chain minus later chain.

    >>> from xhs_sharing.analysis.mediation import effect_specs
    >>> [(c.x, c.mediator_1, c.mediator_2) for c in indirect_contrasts(effect_specs(
    ...     [("PR", "SN", "WSI"), ("PR", "CN", "WSI"), ("PC", "SN", "WSI")]))]
    [('PR', 'SN', 'CN')]
    """
    out: list[Contrast] = []
    pairs = dict.fromkeys((s.x, s.y) for s in specs)
    for x, y in pairs:
        cols = [k for k, s in enumerate(specs) if s.effect == "indirect" and (s.x, s.y) == (x, y)]
        for i, j in combinations(cols, 2):
            out.append(Contrast(x, y, str(specs[i].mediator), str(specs[j].mediator), i, j))
    return out


def contrast_matrix(n_effects: int, contrasts: Sequence[Contrast]) -> np.ndarray:
    """``D`` of shape ``(n_effects, len(contrasts))`` with ``+1`` at ``first``, ``-1`` at ``second``.

    ``effects @ D`` are the contrasts (of a vector or of every row of draws).
    """
    d = np.zeros((n_effects, len(contrasts)))
    for c, con in enumerate(contrasts):
        d[con.first, c], d[con.second, c] = 1.0, -1.0
    return d


def bootstrap_se(draws: np.ndarray) -> np.ndarray:
    """Bootstrap standard error: ``sd`` of the resample estimates along axis 0, divisor ``B - 1``.

    ``sqrt(sum_b (t_b - mean(t))^2 / (B - 1))`` over the finite draws of
    each column (lavaan's ``se = "bootstrap"``; Efron & Tibshirani 1993,
    eq. 6.6). NaN for a column with fewer than two finite draws.
    """
    d = np.asarray(draws, dtype=float)
    if d.ndim != 2:
        raise SpecError(f"draws must be (resamples, effects), got shape {d.shape}")
    n = np.isfinite(d).sum(axis=0)
    out = np.full(d.shape[1], np.nan)
    ok = n >= 2
    if ok.any():
        out[ok] = np.nanstd(d[:, ok], axis=0, ddof=1)
    return out


def _boot_columns(
    boot: EffectDraws | None, d: np.ndarray | None, level: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``boot_se``, raw and standardized percentile limits of ``draws @ d`` (NaN without a bootstrap)."""
    if boot is None:
        nan = np.full(n, np.nan)
        return nan, nan, nan, nan, nan
    raw = boot.draws_est if d is None else boot.draws_est @ d
    std = boot.std_draws if d is None else boot.std_draws @ d
    lo, hi = percentile_interval(raw, level)
    slo, shi = percentile_interval(std, level)
    return bootstrap_se(raw), lo, hi, slo, shi


def add_bootstrap_columns(
    table: pd.DataFrame, boot: BootstrapResult | None, level: float = 0.95
) -> pd.DataFrame:
    """``table`` (of ``indirect_effects_table``) with ``boot_se, std_ci_low, std_ci_high`` appended.

    ``boot_se`` by :func:`bootstrap_se` of each effect's resample estimates;
    ``std_ci_low, std_ci_high`` the percentile-bootstrap interval of the
    standardized effect. NaN without bootstrap draws.
    """
    if boot is not None and len(boot.specs) != len(table):
        raise SpecError(f"the bootstrap has {len(boot.specs)} effects, the table {len(table)} rows")
    se, _, _, slo, shi = _boot_columns(boot, None, level, len(table))
    return table.assign(boot_se=se, std_ci_low=slo, std_ci_high=shi)


def contrasts_table(
    fit: StructuralResult,
    chains: Sequence[Chain],
    *,
    boot: BootstrapResult | None = None,
    mc: EffectDraws | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Every pairwise contrast of specific indirect effects (:func:`indirect_contrasts`) with its intervals.

    Parameters
    ----------
    fit : StructuralResult
        The full-sample fit (point estimates, ``acov`` for the delta method).
    chains : sequence of chains ``(x, m1, ..., y)``
        As for :func:`~xhs_sharing.analysis.mediation.indirect_effects_table`.
    boot, mc : EffectDraws, optional
        Bootstrap resamples and Monte Carlo draws of the effects of
        ``chains``; their columns are NaN when not given.
    level : float, default 0.95

    Returns
    -------
    pd.DataFrame
        :data:`CONTRAST_COLUMNS`; no row when no pair has two specific
        indirect effects. ``se``/``std_se``: delta method,
        ``sqrt(d' J acov J' d)``; ``boot_se``: :func:`bootstrap_se` of the
        resample contrasts; ``boot_ci_*`` and ``std_ci_*``: percentile
        intervals of the raw and standardized resample contrasts;
        ``mc_ci_*``: percentile interval of the Monte Carlo contrasts.
    """
    specs = effect_specs(chains)
    for name, res in (("bootstrap", boot), ("Monte Carlo", mc)):
        if res is not None and tuple(res.specs) != specs:
            raise SpecError(f"{name} results were computed for other chains")
    cons = indirect_contrasts(specs)
    d = contrast_matrix(len(specs), cons)
    c = len(cons)
    if c == 0:
        return pd.DataFrame(columns=list(CONTRAST_COLUMNS))

    def both(t: np.ndarray) -> np.ndarray:
        est, std = compute_effects(fit.structure, t, specs)
        return np.concatenate([est @ d, std @ d])

    theta = np.asarray(fit.theta, dtype=float)
    point = np.real(both(theta))
    se = delta_method_se(both, theta, np.asarray(fit.acov, dtype=float))
    b_se, b_lo, b_hi, s_lo, s_hi = _boot_columns(boot, d, level, c)
    mc_lo, mc_hi = percentile_interval(mc.draws_est @ d, level) if mc is not None else (np.full(c, np.nan),) * 2
    return pd.DataFrame({
        "x": [k.x for k in cons], "y": [k.y for k in cons],
        "mediator_1": [k.mediator_1 for k in cons], "mediator_2": [k.mediator_2 for k in cons],
        "est": point[:c], "se": se[:c], "std_est": point[c:], "std_se": se[c:],
        "boot_se": b_se, "boot_ci_low": b_lo, "boot_ci_high": b_hi,
        "std_ci_low": s_lo, "std_ci_high": s_hi, "mc_ci_low": mc_lo, "mc_ci_high": mc_hi,
    }, columns=list(CONTRAST_COLUMNS))
