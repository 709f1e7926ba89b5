"""Indirect, direct and total effects of a latent SEM, with intervals.

Effects are functions of the free-parameter vector ``theta`` of a
:class:`~xhs_sharing.sem.model.ModelStructure` (regressions ``B`` among the
latent variables, ``C = (I - B)^{-1}``):

* specific indirect effect of ``x`` on ``y`` along a chain ``x -> m1 ->
  ... -> mk -> y`` (``k >= 1`` mediators): the product of the path
  coefficients along it, ``B[m1, x] B[m2, m1] ... B[y, mk]`` (Baron & Kenny
  1986; Sobel 1982; for serial chains Hayes 2018, ch. 5, and Taylor,
  MacKinnon & Tein 2008, Organ. Res. Methods 11:241-269);
* direct effect: ``B[y, x]`` (0 when the model has no ``y ~ x`` path);
* total effect: ``C[y, x]`` (Bollen 1987, Sociol. Methodol. 17:37-69), and
  total indirect effect ``(C - I - B)[y, x]``. In an acyclic model
  ``C = I + B + B^2 + ...``, and ``(B^k)[y, x]`` is the sum of the products
  along every chain of ``k`` links, so the total indirect effect equals the
  sum of the specific effects of *every* chain of two or more links from
  ``x`` to ``y`` (:func:`model_chains` lists them; a warning is logged when
  the chains given leave some out);
* standardised versions multiply by ``sd(x) / sd(y)`` with model-implied
  latent SDs from ``diag(C Psi C')`` (lavaan ``std.all``);
* delta-method standard errors of every effect and of its standardised
  version (:func:`delta_method_effects`), ``sqrt(diag(J acov J'))`` with the
  complex-step Jacobian: lavaan's ``se`` of a ``:=`` parameter and of its
  ``standardizedSolution()`` row.

A chain is a tuple of latent-variable names ``(x, m1, ..., mk, y)``, ``k >=
1``; the table's ``mediator`` column names its mediators joined by
:data:`MEDIATOR_SEP` (``"M1->M2"``), a single mediator as itself.

Intervals
---------
* Monte Carlo (Selig & Preacher 2008; MacKinnon, Lockwood & Williams 2004):
  ``theta* ~ N(theta_hat, acov)``, effects per draw, percentile interval.
  ``acov`` is the fit's: from the expected information under ML, from the
  observed information under FIML (lavaan's default for ``missing = "ml"``).
* Percentile bootstrap (Efron & Tibshirani 1993, ch. 13; Preacher & Hayes
  2008): the resampling engine
  :func:`xhs_sharing.sem.bootstrap.bootstrap_refits` resamples respondents
  with replacement and refits the model to every resample (warm start from
  the full-sample estimates; resample ``j`` of chunk ``k`` is drawn from
  ``np.random.SeedSequence(seed).spawn(n_chunks)[k]`` with a fixed
  ``chunk_size``, so results do not depend on ``n_jobs``); the effects of
  every converged resample are computed here.  The refit of one chunk goes
  through one replaceable function (``chunk_fitter``, default
  :func:`~xhs_sharing.sem.bootstrap.fit_chunk`).  Under FIML (missing
  values) the resamples keep each drawn respondent's missing answers and
  :class:`~xhs_sharing.sem.bootstrap.FimlChunkFitter` refits them by FIML
  one at a time.

Defaults
--------
The settings of a run (``chunk_size``, the number of Monte Carlo draws, the
smallest effect size of interest) default to the values of the config JSON
Schema (:func:`xhs_sharing.study.spec.config_defaults`), so a Python caller
gets the numbers of the pipeline run with the default configuration.

Classification and equivalence
------------------------------
* Mediation type after Zhao, Lynch & Chen (2010, J. Consum. Res.
  37:197-206): :func:`classify_mediation`.
* TOST equivalence (Schuirmann 1987; Lakens 2017, Soc. Psychol. Personal.
  Sci. 8:355-362) against a standardised smallest effect size of interest:
  :func:`tost_wald`, :func:`tost_draws`, :func:`tost_interval`. The bound of
  an indirect effect is derived from the path bound (:func:`chain_bound`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Literal

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.analysis.structural import StructuralResult, fit_structural
from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.bootstrap import (
    BootstrapFailure,
    BootstrapProgress,
    BootstrapRefits,
    ChunkFitter,
    FimlChunkFitter,
    bootstrap_refits,
    check_count,
    check_seed,
    failure_text,
    fit_chunk,
)
from xhs_sharing.sem.frames import observed_matrix
from xhs_sharing.sem.model import ModelStructure
from xhs_sharing.sem.resample import normal_draws, percentile_interval
from xhs_sharing.sem.standardize import delta_method_se, implied_sd, standardized_effect
from xhs_sharing.study.spec import MISSING_DEFAULT, config_defaults
from xhs_sharing.study.syntax import MEDIATOR_SEP, directed_chains, mediator_label

logger = logging.getLogger(__name__)

__all__ = [
    "CHUNK_SIZE",
    "N_DRAWS",
    "SESOI",
    "MEDIATOR_SEP",
    "BootstrapResult",
    "Chain",
    "ChainBound",
    "EffectDraws",
    "EffectSpec",
    "MediationType",
    "MonteCarloCI",
    "MonteCarloResult",
    "TostResult",
    "bootstrap_indirect",
    "classify_mediation",
    "chain_bound",
    "chain_links",
    "check_chains",
    "compute_effects",
    "delta_method_effects",
    "effect_specs",
    "indirect_effects_table",
    "mediator_label",
    "model_chains",
    "monte_carlo_ci",
    "monte_carlo_draws",
    "monte_carlo_indirect",
    "percentile_interval",
    "tost_draws",
    "tost_effect",
    "tost_interval",
    "tost_path",
    "tost_wald",
]


Chain = tuple[str, ...]
"""A chain ``(x, m1, ..., mk, y)`` of latent variables, ``k >= 1`` mediators."""

Triple = Chain
"""The one-mediator chain ``(x, m, y)``; every function takes chains of any length."""


EffectKind = Literal["indirect", "total_indirect", "direct", "total"]


Scale = Literal["est", "std"]


_STRUCTURAL: Final = config_defaults()["structural"]

#: Default number of Monte Carlo draws: the config's ``structural.mc_draws``
#: (Selig & Preacher 2008 use 20,000).
N_DRAWS: Final[int] = _STRUCTURAL["mc_draws"]

#: Default bootstrap chunk size: the config's ``structural.chunk_size``.  It
#: fixes the random streams of the resamples (never ``n_jobs``).
CHUNK_SIZE: Final[int] = _STRUCTURAL["chunk_size"]

#: Default smallest effect size of interest, standardised units: the config's
#: ``structural.sesoi``.
SESOI: Final[float] = _STRUCTURAL["sesoi"]


def chain_links(chain: Sequence[str]) -> list[tuple[str, str]]:
    """The ``(source, target)`` links of a chain, in order.

    >>> chain_links(("X", "M1", "M2", "Y"))
    [('X', 'M1'), ('M1', 'M2'), ('M2', 'Y')]
    """
    return list(zip(chain[:-1], chain[1:]))


@dataclass(frozen=True)
class EffectSpec:
    """One effect row: ``x`` on ``y`` (through the chain's mediators for ``indirect``).

    ``mediator`` is :func:`mediator_label` of the mediators (``"M"``,
    ``"M1->M2"``) on an ``indirect`` row, None on the others.
    """

    x: str
    mediator: str | None
    y: str
    effect: EffectKind

    @property
    def chain(self) -> Chain:
        """``(x, m1, ..., mk, y)`` of an ``indirect`` row; ``(x, y)`` otherwise."""
        inner = tuple(self.mediator.split(MEDIATOR_SEP)) if self.mediator else ()
        return (self.x, *inner, self.y)


def _validate_chains(chains: Sequence[Chain]) -> list[Chain]:
    if isinstance(chains, (str, bytes)) or not isinstance(chains, Sequence):
        raise SpecError("chains must be a sequence of (x, m1, ..., y) tuples")
    out: list[Chain] = []
    for t in chains:
        if (
            not isinstance(t, (tuple, list))
            or len(t) < 3
            or not all(isinstance(v, str) and v and MEDIATOR_SEP not in v for v in t)
        ):
            raise SpecError(f"mediation chain {t!r} is not (x, m1, ..., y): at least three names")
        chain = tuple(t)
        if len(set(chain)) != len(chain):
            raise SpecError(f"mediation chain {t!r} repeats a variable")
        if chain in out:
            raise SpecError(f"mediation chain {t!r} is listed twice")
        out.append(chain)
    if not out:
        raise SpecError("at least one (x, m, ..., y) mediation chain is required")
    return out


def effect_specs(chains: Sequence[Chain]) -> tuple[EffectSpec, ...]:
    """Effect rows for ``chains``.

    For every ``(x, y)`` pair (in order of first appearance): one
    ``indirect`` row per listed chain, in the order given, then
    ``total_indirect``, ``direct`` and ``total``.
    """
    cs = _validate_chains(chains)
    pairs: list[tuple[str, str]] = []
    for c in cs:
        if (c[0], c[-1]) not in pairs:
            pairs.append((c[0], c[-1]))
    specs: list[EffectSpec] = []
    for x, y in pairs:
        specs += [EffectSpec(x, mediator_label(c[1:-1]), y, "indirect") for c in cs if (c[0], c[-1]) == (x, y)]
        specs += [
            EffectSpec(x, None, y, "total_indirect"),
            EffectSpec(x, None, y, "direct"),
            EffectSpec(x, None, y, "total"),
        ]
    return tuple(specs)


def check_chains(structure: ModelStructure, chains: Sequence[Chain]) -> None:
    """Raise :class:`SpecError` unless every link of every chain is a path of the model.

    The message names the chain and its first missing link (``M2 ~ M1``).
    """
    for chain in _validate_chains(chains):
        for v in chain:
            structure.inner_index(v)
        for source, target in chain_links(chain):
            if not structure.has_path(target, source):
                raise SpecError(
                    f"chain ({', '.join(chain)}) needs the path {target} ~ {source}, "
                    "which the model does not contain"
                )


check_triples = check_chains
"""Former name of :func:`check_chains`."""


def model_chains(structure: ModelStructure) -> list[Chain]:
    """Every chain of two or more links of the model's structural regressions.

    The chains whose specific effects sum to each total indirect effect
    (module docstring), in the order of
    :func:`xhs_sharing.study.syntax.directed_chains` over ``structure.inner``.
    """
    links = [(r.rhs, r.lhs) for r in structure.rows
             if r.op == "~" and r.lhs in structure.inner and r.rhs in structure.inner]
    return directed_chains(links, structure.inner)


def compute_effects(
    structure: ModelStructure, theta: np.ndarray, specs: Sequence[EffectSpec]
) -> tuple[np.ndarray, np.ndarray]:
    """Unstandardised and standardised effects at ``theta``.

    Parameters
    ----------
    structure : ModelStructure
    theta : np.ndarray
        Shape ``(q,)`` or ``(n, q)`` (one row per draw/resample).
    specs : sequence of EffectSpec

    Returns
    -------
    est, std_est : np.ndarray
        Shape ``(k,)`` or ``(n, k)``.  ``std_est = est * sd(x) / sd(y)``
        with model-implied SDs; NaN where an implied variance is negative.
    """
    b, _, _, _ = structure.matrices(theta)
    veta, c = structure.inner_covariance(theta)
    sd = implied_sd(veta)
    cols_est, cols_std = [], []
    for s in specs:
        ix, iy = structure.inner_index(s.x), structure.inner_index(s.y)
        if s.effect == "indirect":
            e = 1.0
            for source, target in chain_links(s.chain):
                e = e * b[..., structure.inner_index(target), structure.inner_index(source)]
        elif s.effect == "direct":
            e = b[..., iy, ix]
        elif s.effect == "total":
            e = c[..., iy, ix]
        elif s.effect == "total_indirect":
            e = c[..., iy, ix] - b[..., iy, ix]
        else:
            raise SpecError(f"unknown effect kind {s.effect!r}")
        cols_est.append(e)
        cols_std.append(standardized_effect(e, sd[..., ix], sd[..., iy]))
    return np.stack(cols_est, axis=-1), np.stack(cols_std, axis=-1)


def delta_method_effects(
    structure: ModelStructure, theta: np.ndarray, acov: np.ndarray, specs: Sequence[EffectSpec]
) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method standard errors of the effects and of their standardised versions.

    ``se = sqrt(diag(J acov J'))`` with ``J`` the Jacobian of
    :func:`compute_effects` at ``theta`` by the complex step
    (:func:`~xhs_sharing.sem.standardize.delta_method_se`): lavaan's ``se``
    of a defined parameter (``ind := a*b*c``) and the ``se`` of its
    ``standardizedSolution()`` row (Sobel 1982 for one mediator).

    Returns
    -------
    se, std_se : np.ndarray, shape (k,)
    """
    k = len(specs)

    def both(t: np.ndarray) -> np.ndarray:
        est, std = compute_effects(structure, t, specs)
        return np.concatenate([est, std])

    se = delta_method_se(both, np.asarray(theta, dtype=float), np.asarray(acov, dtype=float))
    return se[:k], se[k:]


def _warn_unlisted_pathways(specs: Sequence[EffectSpec], est: np.ndarray) -> None:
    for n, s in enumerate(specs):
        if s.effect != "total_indirect":
            continue
        listed = sum(
            est[k] for k, t in enumerate(specs)
            if t.effect == "indirect" and (t.x, t.y) == (s.x, s.y)
        )
        if not math.isclose(listed, est[n], rel_tol=1e-8, abs_tol=1e-10):
            logger.warning(
                "total indirect effect %s -> %s (%.4g) differs from the sum of "
                "the listed specific indirect effects (%.4g): chains of the model "
                "from %s to %s are not listed (model_chains lists every one)",
                s.x, s.y, est[n], listed, s.x, s.y,
            )


def _check_level(level: float) -> None:
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise SpecError(f"confidence level must be in (0, 1), got {level!r}")


@dataclass(frozen=True, eq=False)
class EffectDraws:
    """Point effects and their sampling draws.

    Attributes
    ----------
    specs : tuple of EffectSpec
    est, std_est : np.ndarray, shape (k,)
        Full-sample point estimates.
    draws_est, std_draws : np.ndarray, shape (n, k)
        Per draw/resample (unstandardised, standardised).
    """

    specs: tuple[EffectSpec, ...]
    est: np.ndarray
    std_est: np.ndarray
    draws_est: np.ndarray
    std_draws: np.ndarray

    def index(self, x: str, y: str, effect: EffectKind = "indirect",
              mediator: str | None = None) -> int:
        """Column of the effect ``x -> (mediator) -> y`` of kind ``effect``."""
        key = EffectSpec(x, mediator if effect == "indirect" else None, y, effect)
        try:
            return self.specs.index(key)
        except ValueError:
            raise SpecError(f"no effect {key} in these results") from None

    def interval(self, level: float = 0.95, scale: Scale = "est") -> tuple[np.ndarray, np.ndarray]:
        """Percentile interval of every effect on scale ``est`` or ``std``."""
        if scale not in ("est", "std"):
            raise SpecError(f"scale must be 'est' or 'std', got {scale!r}")
        return percentile_interval(self.draws_est if scale == "est" else self.std_draws, level)


@dataclass(frozen=True, eq=False)
class MonteCarloResult(EffectDraws):
    """Monte Carlo draws of the effects (Selig & Preacher 2008)."""

    n_draws: int = 0
    seed: int = 0


@dataclass(frozen=True, eq=False)
class BootstrapResult(EffectDraws):
    """Percentile-bootstrap draws of the effects.

    Attributes
    ----------
    requested : int
        Number of resamples drawn (``n_boot``).
    converged : int
        Resamples with a converged, proper solution (rows of the draws).
    failed : int
        ``requested - converged``; never silently dropped.
    seed : int
    chunk_size : int
    failures : dict
        Count per failure reason (``nonconverged``, ``improper``,
        ``singular_data``).
    thetas : np.ndarray, shape (converged, q)
        Parameter vectors of the converged resamples.
    status : np.ndarray of str, shape (requested,)
        Outcome of every resample in draw order.
    """

    requested: int = 0
    converged: int = 0
    failed: int = 0
    seed: int = 0
    chunk_size: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    thetas: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    status: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    def summary(self) -> dict[str, object]:
        """``requested, converged, failed, seed`` plus failure reasons."""
        return dict(requested=self.requested, converged=self.converged,
                    failed=self.failed, seed=self.seed, failures=dict(self.failures))


def monte_carlo_draws(
    theta_hat: np.ndarray, acov: np.ndarray, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_draws`` parameter vectors from ``N(theta_hat, acov)`` (:func:`~xhs_sharing.sem.resample.normal_draws`).

    Raises
    ------
    SpecError
        Shape mismatch or non-symmetric ``acov``.
    EstimationError
        ``acov`` has a clearly negative eigenvalue.
    """
    return normal_draws(theta_hat, acov, check_count("n_draws", n_draws), rng)


@dataclass(frozen=True, eq=False)
class MonteCarloCI:
    """Monte Carlo percentile interval of a function of the parameters."""

    low: np.ndarray
    high: np.ndarray
    draws: np.ndarray


def monte_carlo_ci(
    func: Callable[[np.ndarray], np.ndarray],
    theta_hat: np.ndarray,
    acov: np.ndarray,
    *,
    seed: int,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
) -> MonteCarloCI:
    """Monte Carlo confidence interval (Selig & Preacher 2008).

    Draws ``theta* ~ N(theta_hat, acov)`` with
    ``np.random.default_rng(seed)``, evaluates ``func`` on the ``(n_draws,
    q)`` array of draws (it must return shape ``(n_draws,)`` or
    ``(n_draws, k)``) and takes the percentile interval.
    """
    _check_level(level)
    rng = np.random.default_rng(check_seed(seed))
    thetas = monte_carlo_draws(theta_hat, acov, n_draws, rng)
    values = np.asarray(func(thetas), dtype=float)
    if values.shape[0] != thetas.shape[0]:
        raise SpecError("func must return one value (row) per draw")
    lo, hi = percentile_interval(values, level)
    return MonteCarloCI(low=lo, high=hi, draws=values)


def monte_carlo_indirect(
    fit: StructuralResult,
    chains: Sequence[Chain],
    *,
    seed: int,
    n_draws: int = N_DRAWS,
) -> MonteCarloResult:
    """Monte Carlo draws of every effect of ``chains`` for a fitted model.

    Parameters
    ----------
    fit : StructuralResult
        Its ``theta`` and ``acov`` define the sampling distribution (under
        FIML: the FIML estimates and the inverse observed information).
    chains : sequence of chains (x, m1, ..., y)
    seed : int
        Seed of ``np.random.default_rng``.
    n_draws : int, default 20,000

    Returns
    -------
    MonteCarloResult
    """
    check_chains(fit.structure, chains)
    if not fit.proper:
        logger.warning("Monte Carlo draws around an improper solution: %s",
                       "; ".join(fit.problems))
    specs = effect_specs(chains)
    est, std_est = compute_effects(fit.structure, fit.theta, specs)
    _warn_unlisted_pathways(specs, est)
    rng = np.random.default_rng(check_seed(seed))
    thetas = monte_carlo_draws(fit.theta, fit.acov, n_draws, rng)
    d_est, d_std = compute_effects(fit.structure, thetas, specs)
    n_bad = int(np.isnan(d_std).any(axis=1).sum())
    if n_bad:
        logger.info("%d of %d Monte Carlo draws imply a negative latent variance "
                    "(standardised effects NaN there; ignored in std intervals)",
                    n_bad, n_draws)
    return MonteCarloResult(specs=specs, est=est, std_est=std_est, draws_est=d_est,
                            std_draws=d_std, n_draws=int(n_draws), seed=int(seed))


def _checked_full_fit(
    data: pd.DataFrame,
    syntax: str,
    chains: Sequence[Chain],
    full_fit: StructuralResult | None,
    missing: str,
) -> StructuralResult:
    """The full-sample fit the resamples start from, fitted here if not given, and checked.

    Raises :class:`SpecError` for a fit of other syntax, chains whose paths
    are not in the model, or parameters fixed at sample values; and
    :class:`EstimationError` for an improper full-sample solution.
    """
    fit = full_fit if full_fit is not None else fit_structural(syntax, data, missing=missing)
    if fit.input_syntax != syntax:
        raise SpecError("full_fit was fitted with a different model syntax")
    if not fit.proper:
        raise EstimationError("full-sample solution is improper: " + "; ".join(fit.problems))
    check_chains(fit.structure, chains)
    if fit.structure.data_dependent_fixed:
        raise SpecError(
            "the model fixes parameters at sample values (observed exogenous "
            "covariates); model them as single-indicator latents to bootstrap"
        )
    return fit


def _resampled_matrix(data: pd.DataFrame, fit: StructuralResult) -> np.ndarray:
    """The indicators of ``fit`` as the ``(n, p)`` matrix whose rows are resampled."""
    x = observed_matrix(data, fit.structure.observed, allow_missing=fit.estimator == "FIML")
    if x.shape[0] != fit.n_obs:
        raise SpecError(f"full_fit used {fit.n_obs} respondents, data has {x.shape[0]}")
    return x


def _fitter_for(x: np.ndarray, fit: StructuralResult, chunk_fitter: ChunkFitter) -> ChunkFitter:
    """``chunk_fitter``, or :class:`FimlChunkFitter` in place of the default when ``x`` has missing values."""
    if not np.isnan(x).any():
        return chunk_fitter
    if chunk_fitter is fit_chunk:
        return FimlChunkFitter.from_fit(fit)
    if not getattr(chunk_fitter, "handles_missing", False):
        raise SpecError(
            "the data have missing values and this chunk fitter needs complete data; "
            "use FimlChunkFitter (the default for a FIML fit)"
        )
    return chunk_fitter


def _bootstrap_result(
    structure: ModelStructure,
    specs: tuple[EffectSpec, ...],
    point: tuple[np.ndarray, np.ndarray],
    refits: BootstrapRefits,
) -> BootstrapResult:
    """Effects of every converged resample of ``refits``; failures counted, never dropped silently."""
    n_boot = refits.status.shape[0]
    ok = refits.converged
    n_ok = int(ok.sum())
    if n_ok == 0:
        raise BootstrapFailure(f"none of {n_boot} bootstrap resamples converged ({failure_text(refits.failures)})",
                               refits.failures, n_boot)
    if n_ok < n_boot:
        logger.warning("bootstrap: %d of %d resamples failed (%s); intervals use the "
                       "%d converged ones", n_boot - n_ok, n_boot, refits.failures, n_ok)
    d_est, d_std = compute_effects(structure, refits.thetas[ok], specs)
    return BootstrapResult(
        specs=specs, est=point[0], std_est=point[1], draws_est=d_est, std_draws=d_std,
        requested=n_boot, converged=n_ok, failed=n_boot - n_ok, seed=refits.seed,
        chunk_size=refits.chunk_size, failures=dict(refits.failures), thetas=refits.thetas[ok],
        status=refits.status,
    )


def bootstrap_indirect(
    data: pd.DataFrame,
    syntax: str,
    chains: Sequence[Chain],
    n_boot: int,
    seed: int,
    *,
    chunk_size: int = CHUNK_SIZE,
    n_jobs: int = 1,
    progress: Callable[[BootstrapProgress], None] | None = None,
    full_fit: StructuralResult | None = None,
    chunk_fitter: ChunkFitter = fit_chunk,
    mp_context: str = "spawn",
    missing: str = MISSING_DEFAULT,
    max_failure_rate: float | None = None,
) -> BootstrapResult:
    """Percentile bootstrap of indirect, direct and total effects (Efron & Tibshirani 1993; Preacher & Hayes 2008).

    The resampling engine :func:`~xhs_sharing.sem.bootstrap.bootstrap_refits`
    refits the model to ``n_boot`` resamples of the respondents, warm-started
    at the full-sample estimates; the effects of :func:`compute_effects` are
    then evaluated at every converged resample's parameter vector, and
    :meth:`EffectDraws.interval` gives their percentile intervals.  With a
    FIML fit (data with missing values, ``missing="fiml"``) every resample
    keeps its respondents' missing answers and is refitted by FIML
    (:class:`~xhs_sharing.sem.bootstrap.FimlChunkFitter`, chosen
    automatically when ``chunk_fitter`` is left at its default), from the
    same random streams and chunks as the ML path.

    Parameters
    ----------
    data : pd.DataFrame
        Respondents with every indicator of ``syntax`` (complete cases, or
        with NaN for missing answers under FIML).
    syntax : str
        lavaan syntax, as for :func:`~xhs_sharing.analysis.structural.fit_structural`.
    chains : sequence of chains (x, m1, ..., y)
    n_boot : int
        Number of resamples requested.
    seed : int
        Root of ``np.random.SeedSequence(seed).spawn(n_chunks)``.
    chunk_size : int, default :data:`CHUNK_SIZE`
        Resamples per chunk (default: the config's ``structural.chunk_size``);
        fixes the random streams, so keep it constant to reproduce a run.
        Results do not depend on ``n_jobs``.
    n_jobs : int, default 1
        Worker processes for the chunks (``n_jobs = 1`` runs in-process).
    progress : callable, optional
        Called with a :class:`~xhs_sharing.sem.bootstrap.BootstrapProgress`
        after every chunk (progress is also logged at INFO level).
    full_fit : StructuralResult, optional
        Full-sample fit of the same ``syntax`` (identical string) and
        ``data``; fitted here if not given.  Its ``theta`` warm-starts every
        refit.
    chunk_fitter : callable, default :func:`~xhs_sharing.sem.bootstrap.fit_chunk`
        Refits one chunk (:class:`~xhs_sharing.sem.bootstrap.ChunkFitter`);
        the single boundary to swap in a batched estimator.  Must be
        picklable for ``n_jobs > 1``.  With missing values in ``data`` it
        must accept them (``handles_missing``).
    mp_context : str, default "spawn"
        multiprocessing start method for ``n_jobs > 1`` (see
        :func:`~xhs_sharing.sem.bootstrap.bootstrap_refits`); it does not
        affect the results.
    missing : {"listwise", "fiml"}, default "listwise"
        Passed to :func:`~xhs_sharing.analysis.structural.fit_structural` when
        ``full_fit`` is not given.
    max_failure_rate : float, optional
        Stop early when more than this share of the first chunks' resamples
        fails (:func:`~xhs_sharing.sem.bootstrap.bootstrap_refits`).

    Returns
    -------
    BootstrapResult

    Raises
    ------
    SpecError
        Invalid arguments or chains, ``full_fit`` from other syntax/data, or
        parameters fixed at sample values (fixed.x covariates).
    EstimationError
        Full-sample fit failed or is improper, a worker died, or no resample
        converged.
    """
    n_boot = check_count("n_boot", n_boot)
    seed = check_seed(seed)
    chunk_size = check_count("chunk_size", chunk_size)
    n_jobs = check_count("n_jobs", n_jobs)
    specs = effect_specs(chains)
    fit = _checked_full_fit(data, syntax, chains, full_fit, missing)
    x = _resampled_matrix(data, fit)
    fitter = _fitter_for(x, fit, chunk_fitter)
    point = compute_effects(fit.structure, fit.theta, specs)
    _warn_unlisted_pathways(specs, point[0])
    refits = bootstrap_refits(fit.structure, x, fit.theta, n_resamples=n_boot, seed=seed, chunk_size=chunk_size,
                              chunk_fitter=fitter, n_jobs=n_jobs, progress=progress, mp_context=mp_context,
                              max_failure_rate=max_failure_rate)
    return _bootstrap_result(fit.structure, specs, point, refits)


class MediationType(StrEnum):
    """Mediation types of Zhao, Lynch & Chen (2010, Fig. 2)."""

    COMPLEMENTARY = "complementary"
    COMPETITIVE = "competitive"
    INDIRECT_ONLY = "indirect-only"
    DIRECT_ONLY = "direct-only"
    NO_EFFECT = "no-effect"


def _interval_sign(ci: tuple[float, float]) -> int:
    lo, hi = float(ci[0]), float(ci[1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise SpecError(f"invalid interval {ci!r}")
    return 1 if lo > 0 else (-1 if hi < 0 else 0)


def classify_mediation(
    indirect_ci: tuple[float, float], direct_ci: tuple[float, float]
) -> MediationType:
    """Zhao, Lynch & Chen (2010) mediation type from two intervals.

    An effect is "significant" when its interval excludes zero; its sign is
    the side of zero the interval lies on.

    * indirect and direct significant, same sign: complementary;
      opposite signs: competitive;
    * only indirect significant: indirect-only;
    * only direct significant: direct-only (no mediation);
    * neither: no-effect (no mediation).
    """
    si, sd = _interval_sign(indirect_ci), _interval_sign(direct_ci)
    if si and sd:
        return MediationType.COMPLEMENTARY if si == sd else MediationType.COMPETITIVE
    if si:
        return MediationType.INDIRECT_ONLY
    if sd:
        return MediationType.DIRECT_ONLY
    return MediationType.NO_EFFECT


@dataclass(frozen=True)
class TostResult:
    """Two one-sided tests of ``|effect| < sesoi`` (standardised units).

    ``ci_low, ci_high`` is the ``1 - 2 alpha`` interval (90% for alpha=.05);
    ``p_value`` is ``max`` of the two one-sided p-values (NaN when only an
    interval was given); ``verdict`` is ``equivalent`` (interval inside
    ``(-sesoi, sesoi)``), ``not equivalent`` (interval entirely outside it)
    or ``inconclusive``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    sesoi: float
    alpha: float
    p_value: float
    verdict: Literal["equivalent", "inconclusive", "not equivalent"]


def _check_tost_args(sesoi: float, alpha: float) -> None:
    if not isinstance(sesoi, (int, float)) or not sesoi > 0:
        raise SpecError(f"sesoi must be > 0, got {sesoi!r}")
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 0.5:
        raise SpecError(f"alpha must be in (0, 0.5), got {alpha!r}")


Verdict = Literal["equivalent", "inconclusive", "not equivalent"]


def _verdict(lo: float, hi: float, sesoi: float) -> Verdict:
    if -sesoi < lo and hi < sesoi:
        return "equivalent"
    if lo >= sesoi or hi <= -sesoi:
        return "not equivalent"
    return "inconclusive"


def tost_wald(
    estimate: float, se: float, *, sesoi: float = SESOI, alpha: float = 0.05
) -> TostResult:
    """TOST with a normal test statistic (Schuirmann 1987; Lakens 2017).

    ``p_lower = 1 - Phi((est + sesoi)/se)``, ``p_upper = Phi((est -
    sesoi)/se)``, ``p = max``; equivalent iff ``p < alpha`` iff the
    ``1 - 2 alpha`` Wald interval lies inside ``(-sesoi, sesoi)``.
    """
    _check_tost_args(sesoi, alpha)
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        raise SpecError(f"TOST needs a finite estimate and se > 0, got {estimate!r}, {se!r}")
    p_lower = float(stats.norm.sf((estimate + sesoi) / se))
    p_upper = float(stats.norm.cdf((estimate - sesoi) / se))
    z = float(stats.norm.ppf(1 - alpha))
    lo, hi = estimate - z * se, estimate + z * se
    return TostResult(float(estimate), float(se), lo, hi, float(sesoi), float(alpha),
                      max(p_lower, p_upper), _verdict(lo, hi, sesoi))


def tost_interval(
    estimate: float, ci_low: float, ci_high: float, *, sesoi: float = SESOI, alpha: float = 0.05
) -> TostResult:
    """TOST verdict from a given ``1 - 2 alpha`` interval (no p-value)."""
    _check_tost_args(sesoi, alpha)
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)) or ci_low > ci_high:
        raise SpecError(f"invalid interval ({ci_low!r}, {ci_high!r})")
    return TostResult(float(estimate), float("nan"), float(ci_low), float(ci_high),
                      float(sesoi), float(alpha), float("nan"),
                      _verdict(float(ci_low), float(ci_high), sesoi))


def tost_draws(
    draws: np.ndarray, estimate: float, *, sesoi: float = SESOI, alpha: float = 0.05
) -> TostResult:
    """TOST from bootstrap or Monte Carlo draws of a standardised effect.

    Interval: percentile ``1 - 2 alpha`` interval.  One-sided p-values are
    the draw proportions ``P*(d <= -sesoi)`` and ``P*(d >= sesoi)`` (the
    percentile-bootstrap test that inverts that interval); ``p = max``.
    NaN draws are ignored.
    """
    _check_tost_args(sesoi, alpha)
    d = np.asarray(draws, dtype=float).ravel()
    d = d[np.isfinite(d)]
    if d.size == 0:
        raise EstimationError("no finite draws for the TOST")
    lo, hi = np.quantile(d, [alpha, 1 - alpha])
    p = max(float(np.mean(d <= -sesoi)), float(np.mean(d >= sesoi)))
    return TostResult(float(estimate), float(d.std(ddof=1)), float(lo), float(hi),
                      float(sesoi), float(alpha), p, _verdict(float(lo), float(hi), sesoi))


def tost_path(
    fit: StructuralResult, lhs: str, rhs: str, *, sesoi: float = SESOI, alpha: float = 0.05
) -> TostResult:
    """TOST for the standardised path ``lhs ~ rhs`` (delta-method SE)."""
    row = fit.std_path(lhs, rhs)
    return tost_wald(float(row["std_all"]), float(row["se"]), sesoi=sesoi, alpha=alpha)


def tost_effect(
    draws: EffectDraws,
    x: str,
    y: str,
    *,
    effect: EffectKind = "indirect",
    mediator: str | None = None,
    sesoi: float = SESOI,
    alpha: float = 0.05,
) -> TostResult:
    """TOST for a standardised effect from bootstrap or Monte Carlo draws."""
    k = draws.index(x, y, effect, mediator)
    return tost_draws(draws.std_draws[:, k], float(draws.std_est[k]), sesoi=sesoi, alpha=alpha)


@dataclass(frozen=True)
class ChainBound:
    """The equivalence bound of a standardized indirect effect, derived from the bound of one path.

    ``bound = sesoi_path * prod(|beta| of other_links)``; ``null_link`` is the
    link held at the path bound (the weakest link of the chain).
    """

    bound: float
    sesoi_path: float
    null_link: tuple[str, str]
    other_links: tuple[tuple[str, str], ...]
    other_std: tuple[float, ...]


def chain_bound(links: Sequence[tuple[str, str]], std: Sequence[float], sesoi: float = SESOI) -> ChainBound:
    """Equivalence bound of the standardized indirect effect of a chain, from the path bound ``sesoi``.

    A bound of ``sesoi`` on a product of paths is not the bound of ``sesoi``
    on one path: with a second link of .39, an indirect effect of .10 needs
    a first link of .26, far beyond what the path test calls negligible, so
    the same null link would be "inconclusive" as a path and "equivalent" as
    a chain (issue 17 point 6). The bound here keeps the two tests on one
    footing: a chain is negligible when its weakest link is negligible, and
    the largest indirect effect a negligible weakest link (``|beta| =
    sesoi``) carries through the other links as estimated is

    ``bound = sesoi * prod_{j != w} |beta_j|``, ``w = argmin_j |beta_j|``,

    the standardized indirect effect being the product of the standardized
    links. The weakest link is chosen from the estimates, so no population
    values are needed (observed data); the other links' sampling error is not
    propagated into the bound (it is a fixed smallest effect of interest
    given the estimated chain, in the spirit of Lakens, Scheel & Isager 2018,
    who set bounds from the context of the effect).

    Parameters
    ----------
    links : sequence of (source, target)
        The chain's links in order.
    std : sequence of float
        The standardized estimate of each link.
    sesoi : float
        The bound of one standardized path.

    Examples
    --------
    >>> b = chain_bound([("IS", "CN"), ("CN", "WSI")], [-0.079, 0.388], 0.10)
    >>> round(b.bound, 4), b.null_link, b.other_links
    (0.0388, ('IS', 'CN'), (('CN', 'WSI'),))
    """
    _check_tost_args(sesoi, 0.05)
    if len(links) != len(std) or len(links) < 2:
        raise SpecError(f"a chain needs two or more links with one estimate each, got {len(links)} links, {len(std)} estimates")
    mags = [abs(float(v)) for v in std]
    if not all(np.isfinite(mags)):
        raise EstimationError(f"a link of the chain {links} has no finite standardized estimate: {list(std)}")
    w = int(np.argmin(mags))
    others = tuple(k for k in range(len(links)) if k != w)
    factor = float(np.prod([mags[k] for k in others]))
    if factor <= 0:
        raise EstimationError(f"the links {[links[k] for k in others]} of the chain are estimated at 0: no bound "
                              "for its indirect effect can be derived from the path bound")
    return ChainBound(sesoi * factor, float(sesoi), tuple(links[w]), tuple(tuple(links[k]) for k in others),
                      tuple(float(std[k]) for k in others))


def _check_draws_match(name: str, res: EffectDraws | None, specs: tuple[EffectSpec, ...]) -> None:
    if res is not None and tuple(res.specs) != specs:
        raise SpecError(f"{name} results were computed for other chains")


def indirect_effects_table(
    fit: StructuralResult,
    chains: Sequence[Chain],
    *,
    boot: BootstrapResult | None = None,
    mc: MonteCarloResult | None = None,
    seed: int | None = None,
    n_draws: int = N_DRAWS,
    level: float = 0.95,
) -> pd.DataFrame:
    """One table of all effects with bootstrap and Monte Carlo intervals.

    Parameters
    ----------
    fit : StructuralResult
    chains : sequence of chains (x, m1, ..., y)
    boot : BootstrapResult, optional
        Bootstrap draws; ``boot_ci_*`` are NaN without them.
    mc : MonteCarloResult, optional
        Monte Carlo draws; computed here (``seed`` required) if not given.
    seed : int, optional
        Seed for the Monte Carlo draws when ``mc`` is None.
    n_draws : int, default 20,000
    level : float, default 0.95

    Returns
    -------
    pd.DataFrame
        Columns ``x, mediator, y, effect, est, se, std_est, std_se,
        boot_ci_low, boot_ci_high, mc_ci_low, mc_ci_high, mediation_type``.
        ``mediator`` is :func:`mediator_label` of an ``indirect`` row's
        chain (``"M1->M2"`` for a serial chain), empty otherwise; ``se`` and
        ``std_se`` are delta-method standard errors
        (:func:`delta_method_effects`).  Intervals are percentile intervals
        of the unstandardised ``est``.
        ``mediation_type`` (Zhao et al. 2010, from the bootstrap intervals
        when given, else the Monte Carlo ones): on an ``indirect`` row it
        classifies that specific indirect effect against the direct effect;
        on the ``total_indirect``, ``direct`` and ``total`` rows of an
        ``(x, y)`` pair it classifies the total indirect effect.
    """
    _check_level(level)
    check_chains(fit.structure, chains)
    specs = effect_specs(chains)
    _check_draws_match("bootstrap", boot, specs)
    _check_draws_match("Monte Carlo", mc, specs)
    if mc is None:
        if seed is None:
            raise SpecError("give Monte Carlo results (mc=) or a seed to draw them")
        mc = monte_carlo_indirect(fit, chains, seed=seed, n_draws=n_draws)
    est, std_est = compute_effects(fit.structure, fit.theta, specs)
    se, std_se = delta_method_effects(fit.structure, fit.theta, fit.acov, specs)
    mc_lo, mc_hi = mc.interval(level)
    if boot is not None:
        b_lo, b_hi = boot.interval(level)
    else:
        b_lo = b_hi = np.full(len(specs), np.nan)
    cls_lo, cls_hi = (b_lo, b_hi) if boot is not None else (mc_lo, mc_hi)

    def pos(x: str, y: str, kind: str, m: str | None = None) -> int:
        return specs.index(EffectSpec(x, m, y, kind))  # type: ignore[arg-type]

    types = []
    for s in specs:
        d = pos(s.x, s.y, "direct")
        i = pos(s.x, s.y, "indirect", s.mediator) if s.effect == "indirect" \
            else pos(s.x, s.y, "total_indirect")
        types.append(str(classify_mediation((cls_lo[i], cls_hi[i]), (cls_lo[d], cls_hi[d]))))
    return pd.DataFrame({
        "x": [s.x for s in specs],
        "mediator": [s.mediator for s in specs],
        "y": [s.y for s in specs],
        "effect": [s.effect for s in specs],
        "est": est,
        "se": se,
        "std_est": std_est,
        "std_se": std_se,
        "boot_ci_low": b_lo,
        "boot_ci_high": b_hi,
        "mc_ci_low": mc_lo,
        "mc_ci_high": mc_hi,
        "mediation_type": types,
    })
