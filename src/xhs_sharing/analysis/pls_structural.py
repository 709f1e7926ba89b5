"""PLS / PLSc structural analysis of a study, in the tables of the structural step (issue 15).

The structural step and the robustness stage under ``estimator: PLSc`` /
``PLS`` (:mod:`xhs_sharing.pipeline.structural`,
:mod:`xhs_sharing.pipeline.robustness`). :func:`run_pls_structural`
fits the study's model by PLS path modelling or consistent PLS
(:mod:`xhs_sharing.sem.pls`; Dijkstra & Henseler 2015) and bootstraps it in
batches (:mod:`xhs_sharing.sem.pls_batched`, the package's chunk seeding),
and returns

* ``paths`` and ``r2``, ``indirect_effects``: the columns of
  ``results/structural/paths.csv``, ``r2.csv`` and ``indirect_effects.csv``
  (:mod:`xhs_sharing.results`), so claims can be judged from them as from
  the ML tables. PLS estimates are standardized (``est == std_all``); ``se``
  is the bootstrap standard deviation, ``z = est / se`` and ``pvalue`` its
  two-sided normal p-value (the bootstrap t-test of Hair et al. 2021, ch. 6),
  ``ci_low, ci_high`` the *percentile bootstrap* interval (not Wald);
  indirect effects have bootstrap intervals and no Monte Carlo ones (PLS has
  no information matrix: ``mc_ci_*`` are NaN); mediation types follow Zhao,
  Lynch & Chen (2010) on the bootstrap intervals;
* ``outer`` (weights, loadings with intervals), ``quality`` (R-squared,
  adjusted R-squared, alpha, rho_A, rho_C, AVE), ``htmt`` (with the
  interval's upper bound against .85/.90, Henseler et al. 2015), ``vif_f2``
  and ``bootstrap`` (settings and failure counts): the PLS tables;
* ``effect_draws`` (:meth:`PlsOutputs.draws`): the kept bootstrap draws of
  every effect, for TOST equivalence tests and bias-corrected intervals;
  ``proper``: the full-sample PLSc solution is admissible (always for PLS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.analysis.mediation import classify_mediation, mediator_label
from xhs_sharing.errors import EstimationError
from xhs_sharing.sem import pls
from xhs_sharing.sem.pls_batched import PlsBootstrap, bootstrap_pls, bootstrap_table
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import mediation_chains

__all__ = ["PlsOutputs", "pls_effects_table", "pls_paths_table", "pls_spec_for", "run_pls_structural"]


def pls_spec_for(study: Study) -> pls.PlsSpec:
    """The study's constructs as reflective blocks and its declared paths (every one, zero-valued ones too)."""
    return pls.pls_spec(study.items_by_construct, [(p.source, p.target) for p in study.paths])


@dataclass
class PlsOutputs:
    """Tables of a PLS(c) structural analysis (see the module docstring)."""

    estimator: str
    paths: pd.DataFrame
    r2: pd.DataFrame
    indirect_effects: pd.DataFrame
    outer: pd.DataFrame
    quality: pd.DataFrame
    htmt: pd.DataFrame
    vif_f2: pd.DataFrame
    bootstrap: dict[str, Any]
    effect_draws: dict[tuple[str, str, str, str], tuple[float, np.ndarray]] = field(default_factory=dict)
    proper: bool = True

    def draws(self, x: str, mediator: str, y: str, effect: str = "indirect") -> tuple[float, np.ndarray]:
        """Point estimate and kept bootstrap draws of one effect (``mediator`` ``""`` for the totals and direct)."""
        try:
            return self.effect_draws[(x, mediator, y, effect)]
        except KeyError:
            raise EstimationError(f"no {effect} effect {x} -> {mediator or '.'} -> {y} in the PLS analysis") from None


def _boot_stats(draws: np.ndarray, level: float) -> tuple[float, float, float]:
    """Bootstrap SD and percentile interval (type 7) of the kept draws."""
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(np.std(draws, ddof=1)), float(lo), float(hi)


def pls_paths_table(fit: pls.PlsFit, boot: PlsBootstrap, estimator: str, level: float = 0.95) -> pd.DataFrame:
    """``paths.csv`` columns: ``lhs op rhs est se z pvalue std_all ci_low ci_high estimator`` (``lhs ~ rhs``)."""
    spec, ok = fit.spec, boot.ok
    idx = {c: j for j, c in enumerate(spec.constructs)}
    rows = []
    for s, t in spec.paths:
        est = float(fit.paths[idx[s], idx[t]])
        se, lo, hi = _boot_stats(boot.batch.paths[ok, idx[s], idx[t]], level)
        z = est / se
        rows.append((t, "~", s, est, se, z, float(2 * stats.norm.sf(abs(z))), est, lo, hi, estimator))
    return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "ci_low",
                                       "ci_high", "estimator"])


def _effect_draws(fit: pls.PlsFit, boot: PlsBootstrap, chains: Sequence[tuple[str, ...]]) -> dict:
    """Point estimate and kept draws of every specific, total indirect, direct and total effect."""
    idx = {c: j for j, c in enumerate(fit.spec.constructs)}
    b, ok = boot.batch, boot.ok
    eye = np.eye(len(idx))
    tot = np.linalg.inv(eye - fit.paths) - eye
    out: dict[tuple[str, str, str, str], tuple[float, np.ndarray]] = {}
    for ch in chains:
        pairs = [(idx[s], idx[t]) for s, t in zip(ch[:-1], ch[1:], strict=False)]
        est = float(np.prod([fit.paths[p] for p in pairs]))
        draws = np.prod([b.paths[ok, s, t] for s, t in pairs], axis=0)
        out[(ch[0], mediator_label(ch[1:-1]), ch[-1], "indirect")] = (est, draws)
    for x, y in dict.fromkeys((ch[0], ch[-1]) for ch in chains):
        i, j = idx[x], idx[y]
        out[(x, "", y, "total_indirect")] = (tot[i, j] - fit.paths[i, j], b.total[ok, i, j] - b.paths[ok, i, j])
        out[(x, "", y, "direct")] = (fit.paths[i, j], b.paths[ok, i, j])
        out[(x, "", y, "total")] = (tot[i, j], b.total[ok, i, j])
    return out


def pls_effects_table(
    fit: pls.PlsFit, boot: PlsBootstrap, chains: Sequence[tuple[str, ...]], estimator: str, level: float = 0.95
) -> pd.DataFrame:
    """``indirect_effects.csv`` columns for PLS: bootstrap SEs and percentile intervals, Zhao et al. types.

    An ``indirect`` row is classified against the direct effect of its
    ``(x, y)`` pair; the ``total_indirect``, ``direct`` and ``total`` rows by
    the total indirect effect (as :func:`~xhs_sharing.analysis.mediation.indirect_effects_table`).
    """
    effects = _effect_draws(fit, boot, chains)
    ci = {k: _boot_stats(d, level) for k, (_, d) in effects.items()}
    rows = []
    for (x, m, y, kind), (est, _) in effects.items():
        se, lo, hi = ci[(x, m, y, kind)]
        direct = ci[(x, "", y, "direct")][1:]
        own = (lo, hi) if kind == "indirect" else ci[(x, "", y, "total_indirect")][1:]
        mtype = classify_mediation(own, direct).value
        # PLS estimates are standardized: the bootstrap SE is the SD of the draws, the standardized
        # interval the percentile interval itself
        rows.append((x, m, y, kind, float(est), se, float(est), se, lo, hi, np.nan, np.nan, mtype, se, lo, hi,
                     estimator))
    return pd.DataFrame(rows, columns=["x", "mediator", "y", "effect", "est", "se", "std_est", "std_se",
                                       "boot_ci_low", "boot_ci_high", "mc_ci_low", "mc_ci_high",
                                       "mediation_type", "boot_se", "std_ci_low", "std_ci_high", "estimator"])


def _htmt_with_bounds(table: pd.DataFrame) -> pd.DataFrame:
    """HTMT rows of :func:`bootstrap_table` with the Henseler et al. (2015) judgements of the upper bound."""
    h = table[table.kind == "htmt"].rename(columns={"source": "construct_a", "target": "construct_b",
                                                    "estimate": "htmt"})
    h = h[["construct_a", "construct_b", "htmt", "se", "ci_lower", "ci_upper"]].reset_index(drop=True)
    h["below_085"] = h["ci_upper"] < 0.85
    h["below_090"] = h["ci_upper"] < 0.90
    return h


def run_pls_structural(
    items: pd.DataFrame, study: Study, *, consistent: bool = True, n_resamples: int = 5000, seed: int,
    chunk_size: int = 250, level: float = 0.95, n_jobs: int = 1,
) -> PlsOutputs:
    """Fit and bootstrap the study's model by PLSc (``consistent=True``) or PLS; see the module docstring.

    ``items`` is the analysis table (reverse-worded items recoded, complete
    answers: PLS has no FIML; missing answers raise a
    :class:`~xhs_sharing.errors.DataError` naming the columns).
    """
    estimator = "PLSc" if consistent else "PLS"
    spec = pls_spec_for(study)
    corr = pls.item_correlations(items, spec)
    fit = pls.fit_pls(corr, spec, len(items), consistent=consistent)
    data = items.loc[:, list(spec.items)].to_numpy(float)
    boot = bootstrap_pls(data, spec, n_resamples, seed, chunk_size, consistent=consistent, n_jobs=n_jobs)
    table = bootstrap_table(fit, corr, boot, level)
    loadings = table[table.kind == "loading"].rename(columns={"source": "construct", "target": "item"})
    outer = pls.outer_table(fit).merge(loadings[["construct", "item", "se", "ci_lower", "ci_upper"]],
                                       on=["construct", "item"])
    chains = mediation_chains(study)
    quality = pls.quality_table(fit, corr)
    r2 = quality.loc[quality.r2.notna(), ["construct", "r2"]].rename(columns={"construct": "variable"})
    summary = {"estimator": estimator, "engine": "batched PLS", "requested": n_resamples,
               "converged": int(boot.ok.sum()), "failed": int((~boot.ok).sum()), "failures": boot.failures,
               "seed": seed, "chunk_size": chunk_size, "n_iter": fit.n_iter, "proper": fit.proper}
    return PlsOutputs(
        estimator=estimator,
        paths=pls_paths_table(fit, boot, estimator, level),
        r2=r2.assign(estimator=estimator).reset_index(drop=True),
        indirect_effects=pls_effects_table(fit, boot, chains, estimator, level),
        outer=outer, quality=quality, htmt=_htmt_with_bounds(table),
        vif_f2=pls.path_table(fit), bootstrap=summary,
        effect_draws={k: (float(e), np.asarray(d, float)) for k, (e, d) in _effect_draws(fit, boot, chains).items()},
        proper=bool(fit.proper),
    )
