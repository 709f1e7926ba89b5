"""Monte Carlo study: how often does a survey reproduce each claim of the study spec?

If the population model of the study spec is true, a survey of ``n``
respondents reproduces a claim with some probability. This
module estimates that probability for every claim, and for all claims at once,
at several sample sizes, by simulation:

1. *Data.* Replication ``r`` (0-based) at sample size ``n`` draws a fresh
   Likert survey from the population model with its own random stream,
   ``np.random.SeedSequence([seed, STREAMS["montecarlo"], n, r])``, exactly as
   :func:`xhs_sharing.study.synthetic.simulate_survey` followed by
   :func:`xhs_sharing.data.survey.analysis_frame` would (the tests check the bytes),
   so a replication's data never depend on how replications are grouped into
   jobs.
2. *Fit.* The latent model of the main analysis
   (:func:`xhs_sharing.study.syntax.structural_syntax` plus lavaan's ``sem()``
   default covariances, as :func:`xhs_sharing.analysis.structural.fit_structural`)
   is fitted by ML to all replications of a job at once with
   :meth:`xhs_sharing.sem.batched.BatchedModel.fit_batch`, started from the
   population values (the bootstrap's limited-memory BFGS steps on the
   information at the population start; the few
   replications it leaves unconverged, ~1% at n = 150, get textbook Fisher
   scoring, and the one-by-one :func:`xhs_sharing.sem.estimation.solve_ml`
   only if that fails too). The asymptotic covariance of each replication's
   estimates is ``(n/2 H)^-1`` with ``H`` the expected information, as in the
   main fit (:func:`xhs_sharing.sem.estimation.asymptotic_covariance`). A
   replication whose fit fails (no convergence, an improper solution, or an
   information matrix that is not positive definite) is kept with
   ``converged = False``: its claims count as not reproduced, as the main
   analysis reproduces no claim on an improper solution.
3. *Claims.* Paths are judged by their Wald 95% interval, specific indirect
   effects ``a b`` by a Monte Carlo 95% interval (Selig & Preacher 2008):
   ``mc_draws`` draws of ``(a, b)`` from the normal with the replication's
   estimates and asymptotic covariance (the marginal of the full-parameter
   draws the main analysis makes, so the same distribution), percentile
   interval of the products. The draws of replication ``(n, r)`` come from
   the first child of its SeedSequence. The verdicts come from
   :func:`xhs_sharing.analysis.claims.judge`, the decision rule of
   :func:`xhs_sharing.analysis.claims.evaluate_claims`; :meth:`ReplicationBatch.paths_table`
   and :meth:`ReplicationBatch.indirect_table` give the per-replication tables
   ``evaluate_claims(..., interval="mc")`` takes, and the tests check that it
   returns the same verdicts on every replication (calling it for every
   replication costs ~13 ms each, more than the whole fit).
4. *Summaries.* Reproduction rates with Wilson intervals per claim and sample
   size, the joint rate (every claim reproduced in the same replication), the
   smallest simulated ``n`` at which the joint rate reaches .80 and .95, and a
   sensitivity analysis of the null claims: the smallest population effect a
   survey of the default size would detect with 80% power.

Everything downstream of the per-replication rows is a pure function of those
rows, sorted by ``n``, replication and claim, so the results are byte-identical
whatever the chunking or the number of cores.

The study needs the spec's population values; for a spec that declares none
the workflow schedules no Monte Carlo job, and :class:`ReplicationModel` and
:func:`run_sensitivity` raise a :class:`~xhs_sharing.errors.SpecError` naming
the spec file and the missing fields. The population value of a claim need
not agree with the claim (a claim of no effect may have a non-zero
population value): the rates are what they are, and the report reads them
by what the population implies (:func:`xhs_sharing.report.montecarlo.reading`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.analysis.claims import judge
from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.seeds import STREAMS
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.estimation import asymptotic_covariance
from xhs_sharing.sem.model import BETA, LAMBDA, PSI, ModelStructure, load_model
from xhs_sharing.sem.objectives import sample_covariance
from xhs_sharing.sem.resample import monte_carlo_interval
from xhs_sharing.sem.standardize import implied_sd, latent_covariance, standardized_effect, std_all_matrices, wald
from xhs_sharing.study.population import population_model, structural_matrices
from xhs_sharing.study.spec import Study, require_population, study_from_dict
from xhs_sharing.study.syntax import mediation_chains, mediator_label, structural_syntax
from xhs_sharing.study.synthetic import SCALE_POINTS, SKEW_SHIFT, THRESHOLDS, LikertSurvey

log = logging.getLogger(__name__)

__all__ = [
    "GatherOutputs",
    "JOINT_LEVELS",
    "REPLICATION_COLUMNS",
    "ReplicationBatch",
    "ReplicationModel",
    "SENSITIVITY_KEY",
    "chunk_replications",
    "claim_reproduction",
    "claims_frame",
    "gather",
    "gather_outputs",
    "joint_reproduction",
    "min_detectable",
    "n_chunks",
    "power_summary",
    "replication_seed",
    "run_chunk",
    "run_sensitivity",
    "interpolated_crossing",
    "min_detectable_interpolated",
    "smallest_reaching",
    "wilson_interval",
]



JOINT_LEVELS = (0.80, 0.95)
"""Joint reproduction probabilities whose smallest ``n`` power.json reports (``joint_80``, ``joint_95``)."""


DETECTION_LEVEL = 0.80
"""Power at which the sensitivity analysis reads off the smallest detectable effect."""


SENSITIVITY_KEY = 1
"""Extra word of the sensitivity streams, ``SeedSequence([seed, montecarlo, n, r, 1])``.

It keeps the sensitivity data apart from the main replications (which have
four words) even when the sensitivity ``n`` is also a simulated sample size.
Every grid point uses the same streams (common random numbers), so the
detection rate changes with the effect, not with the draws.
"""


REPLICATION_COLUMNS = ("n", "replication", "claim_id", "converged", "refitted", "estimate",
                       "std_estimate", "ci_low", "ci_high", "verdict")
"""Columns of a chunk table and of ``replications.csv``."""


REPRODUCED = "reproduced"


NOT_REPRODUCED = "not_reproduced"


def replication_seed(master_seed: int, n: int, replication: int, *extra: int) -> np.random.SeedSequence:
    """The SeedSequence of replication ``replication`` (0-based) at sample size ``n``.

    ``SeedSequence([master_seed, STREAMS["montecarlo"], n, replication, *extra])``:
    the data come from it, the Monte Carlo interval draws from its first child
    (``.spawn(1)[0]``). ``extra`` is ``(SENSITIVITY_KEY,)`` for the
    sensitivity analysis and empty for the main study.
    """
    words = [int(master_seed), STREAMS["montecarlo"], int(n), int(replication), *(int(e) for e in extra)]
    if any(w < 0 for w in words):
        raise SpecError(f"seed words must be non-negative, got {words}")
    return np.random.SeedSequence(words)


def n_chunks(replications: int, chunk_size: int) -> int:
    """How many chunks of ``chunk_size`` replications cover ``replications``."""
    if replications < 1 or chunk_size < 1:
        raise SpecError(f"replications and chunk_size must be positive, got {replications}, {chunk_size}")
    return math.ceil(replications / chunk_size)


def chunk_replications(chunk: int, chunk_size: int, replications: int) -> range:
    """Replication numbers of chunk ``chunk`` (0-based): ``[chunk * size, min(R, (chunk + 1) * size))``."""
    if not 0 <= chunk < n_chunks(replications, chunk_size):
        raise SpecError(f"chunk {chunk} out of range: {replications} replications in chunks of {chunk_size}")
    return range(chunk * chunk_size, min(replications, (chunk + 1) * chunk_size))


def _likert_moments(cuts: np.ndarray) -> tuple[float, float]:
    """``(c, v)`` for a Likert item cut from a standard normal latent response ``X``.

    ``c = Cov(X, Y) = sum_k phi(tau_k)`` (Stein's lemma, ``Y = 1 + sum_k 1{X > tau_k}``)
    and ``v = Var(Y)``; to first order ``Cov(Y_i, Y_j) = c^2 Cov(X_i, X_j)``.
    """
    c = float(stats.norm.pdf(cuts).sum())
    prob = np.diff(np.concatenate([[0.0], stats.norm.cdf(cuts), [1.0]]))
    k = np.arange(1, len(cuts) + 2, dtype=float)
    v = float((prob * k * k).sum() - (prob * k).sum() ** 2)
    return c, v


@dataclass
class ReplicationBatch:
    """Fits, estimates and intervals of a batch of replications at one sample size.

    Arrays have one row per replication (``replications``); path columns
    follow ``paths`` (``(source, target)`` in spec order), indirect columns
    follow ``triples``, the chains of :func:`xhs_sharing.study.syntax.mediation_chains`.
    ``converged`` is False for a failed fit (every estimate NaN);
    ``refitted`` marks fits that needed the one-by-one refit (neither pass
    of batched Fisher scoring converged).
    """

    n: int
    replications: np.ndarray
    converged: np.ndarray
    refitted: np.ndarray
    params: np.ndarray
    paths: list[tuple[str, str]]
    path_est: np.ndarray
    path_se: np.ndarray
    path_std: np.ndarray
    path_ci_low: np.ndarray
    path_ci_high: np.ndarray
    path_pvalue: np.ndarray
    triples: list[tuple[str, ...]]
    ind_est: np.ndarray
    ind_std: np.ndarray
    ind_ci_low: np.ndarray
    ind_ci_high: np.ndarray

    def __len__(self) -> int:
        return len(self.replications)

    def paths_table(self, i: int) -> pd.DataFrame:
        """Replication ``i``'s paths table, as :func:`xhs_sharing.analysis.claims.evaluate_claims` takes it."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.path_est[i] / self.path_se[i]
        return pd.DataFrame({
            "lhs": [t for _, t in self.paths], "op": "~", "rhs": [s for s, _ in self.paths],
            "est": self.path_est[i], "se": self.path_se[i], "z": z, "pvalue": self.path_pvalue[i],
            "std_all": self.path_std[i], "ci_low": self.path_ci_low[i], "ci_high": self.path_ci_high[i],
        })

    def indirect_table(self, i: int) -> pd.DataFrame:
        """Replication ``i``'s specific indirect effects with their Monte Carlo intervals."""
        return pd.DataFrame({
            "x": [t[0] for t in self.triples], "mediator": [mediator_label(t[1:-1]) for t in self.triples],
            "y": [t[-1] for t in self.triples], "effect": "indirect",
            "est": self.ind_est[i], "std_est": self.ind_std[i],
            "mc_ci_low": self.ind_ci_low[i], "mc_ci_high": self.ind_ci_high[i],
        })


class ReplicationModel:
    """The study's population model and fitted model, prepared once per process.

    Parameters
    ----------
    study : Study
        The population model and the claims.
    scale_points, thresholds, skew_shift
        The Likert settings of the config (``synthetic`` block), as
        :func:`xhs_sharing.study.synthetic.simulate_survey` takes them.

    Attributes
    ----------
    bm : BatchedModel
        The fitted model (the main analysis's syntax, parsed by
        :func:`xhs_sharing.sem.model.load_model` with lavaan's defaults),
        started from the population values in the Likert metric.
    survey : LikertSurvey
        The survey design :func:`~xhs_sharing.study.synthetic.simulate_survey` draws from.
    """

    def __init__(self, study: Study, scale_points: int = SCALE_POINTS, thresholds: str = THRESHOLDS,
                 skew_shift: float = SKEW_SHIFT) -> None:
        require_population(study, "the Monte Carlo study")
        self.study = study
        self.survey = LikertSurvey.from_study(study, scale_points, thresholds, skew_shift)
        self.scale_points = self.survey.scale_points
        self.cuts = self.survey.cuts
        self.items = study.item_ids
        parsed = load_model(structural_syntax(study))  # as fit_structural: lavaan sem() defaults
        self.syntax = parsed.syntax
        self._perm = np.array([self.items.index(v) for v in parsed.observed], dtype=np.intp)
        pop = population_model(study, recoded=True).item_covariance[np.ix_(self._perm, self._perm)]
        structure = parsed.structure_for(pop, n_obs=1000)
        self.bm = BatchedModel(structure, start=self._population_start(structure))
        if not np.isfinite(self.bm.objective(self.bm.start, pop)[0]):
            raise EstimationError("the population start values give a covariance matrix that is not positive definite")

        self.paths = [(p.source, p.target) for p in study.paths]
        self.triples = mediation_chains(study)
        index = structure.param_index
        inner = list(structure.inner)
        self._src = np.array([inner.index(s) for s, _ in self.paths], dtype=np.intp)
        self._tgt = np.array([inner.index(t) for _, t in self.paths], dtype=np.intp)
        self._path_col = np.array([index(t, "~", s) for s, t in self.paths], dtype=np.intp)
        # the Monte Carlo draws need only the regression coefficients of the chains
        link_cols = [[index(t, "~", s) for s, t in zip(c[:-1], c[1:])] for c in self.triples]
        used = sorted({k for cols in link_cols for k in cols})
        self._mc_cols = np.array(used, dtype=np.intp)
        self._tri_links = [np.array([used.index(k) for k in cols], dtype=np.intp) for cols in link_cols]
        self._tri_x = np.array([inner.index(c[0]) for c in self.triples], dtype=np.intp)
        self._tri_y = np.array([inner.index(c[-1]) for c in self.triples], dtype=np.intp)

    # ------------------------------------------------------------ start

    def _population_start(self, structure: ModelStructure) -> np.ndarray:
        """The population model in the metric of the analysed Likert items.

        Latent response ``X_j = lambda_j eta + e_j`` (standardized) gives a
        Likert answer with ``Cov(X_j, Y_j) = c`` and ``Var(Y_j) = v``
        (:func:`_likert_moments`); with the reference loading of each factor
        fixed at ``l0`` the factor is ``eta* = s eta``, ``s = c lambda_ref / l0``.
        Loadings ``l0 lambda_j / lambda_ref``, regressions ``B_ts s_t / s_s``,
        (residual) covariances ``Psi_ab s_a s_b``, residual variances
        ``v - c^2 lambda_j^2``; anything else keeps semopy's starting value.
        Only a start: the fit of every replication moves from here.
        """
        study = self.study
        c, v = _likert_moments(self.cuts)
        B, Psi = structural_matrices(study)
        cid = {x: i for i, x in enumerate(study.construct_ids)}
        loading = {it.id: it.loading for it in study.items}
        tmpl = structure.templates[LAMBDA]  # free entries zero: the fixed reference loadings
        scale: dict[str, float] = {}
        for j, lat in enumerate(structure.inner):
            rows = np.flatnonzero(tmpl[:, j])
            if lat not in cid or len(rows) == 0:
                raise EstimationError(f"cannot find the reference indicator of {lat} in the model")
            scale[lat] = c * loading[structure.observed[rows[0]]] / tmpl[rows[0], j]
        start = np.array(structure.start, dtype=np.float64, copy=True)
        seen: set[int] = set()
        for r in structure.rows:
            if r.free < 0 or r.free in seen:
                continue
            seen.add(r.free)
            if r.matrix == LAMBDA:
                start[r.free] = c * loading[r.rhs] / scale[r.lhs]
            elif r.matrix == BETA:
                start[r.free] = B[cid[r.lhs], cid[r.rhs]] * scale[r.lhs] / scale[r.rhs]
            elif r.matrix == PSI:
                start[r.free] = Psi[cid[r.lhs], cid[r.rhs]] * scale[r.lhs] * scale[r.rhs]
            elif r.lhs == r.rhs:
                start[r.free] = v - (c * loading[r.lhs]) ** 2
        return start

    # ------------------------------------------------------------ data

    def simulate(self, n: int, seed: np.random.SeedSequence | int) -> np.ndarray:
        """One survey of ``n`` respondents, items in study order, reverse items recoded, as float.

        The draw of :func:`~xhs_sharing.study.synthetic.simulate_survey` (the
        same :class:`~xhs_sharing.study.synthetic.LikertSurvey`), so identical
        bit for bit to ``analysis_frame(simulate_survey(study, n, seed, ...), codebook)``.
        """
        return self.survey.recoded(self.survey.answers(n, np.random.default_rng(seed))).astype(float)

    def covariances(self, n: int, seeds: Sequence[np.random.SeedSequence]) -> np.ndarray:
        """Sample covariances (N divisor, :attr:`bm` observed order) of one survey per seed, ``(R, p, p)``."""
        out = np.empty((len(seeds), self.bm.p, self.bm.p))
        for k, ss in enumerate(seeds):
            out[k] = sample_covariance(self.simulate(n, ss)[:, self._perm])
        return out

    # ------------------------------------------------------------ fit

    def fit(self, n: int, replications: Iterable[int], master_seed: int, mc_draws: int,
            extra_key: Sequence[int] = (), n_threads: int = 1, tol: float = 1e-7) -> ReplicationBatch:
        """Simulate and fit replications ``replications`` at sample size ``n``.

        Parameters
        ----------
        n : int
            Respondents per replication.
        replications : iterable of int
            Replication numbers (0-based); each has its own stream
            (:func:`replication_seed`), so the result of a replication does not
            depend on which others are fitted with it.
        master_seed : int
            ``synthetic.seed`` of the config.
        mc_draws : int
            Draws of each replication's Monte Carlo intervals.
        extra_key : sequence of int
            Extra words of the streams (``(SENSITIVITY_KEY,)`` for the sensitivity analysis).
        n_threads : int
            Threads of the batched fit (1 inside a Snakemake job: parallelism is by job).
        tol : float
            Convergence tolerance of the batched Fisher scoring on ``max |dF/dtheta|``.
        """
        if n <= self.bm.p:
            raise SpecError(f"sample size {n} is too small: the sample covariance of {self.bm.p} items needs n > {self.bm.p}")
        if mc_draws < 100:
            raise SpecError(f"mc_draws must be at least 100, got {mc_draws}")
        reps = np.array(list(replications), dtype=np.int64)
        seeds = [replication_seed(master_seed, n, int(r), *extra_key) for r in reps]
        covs = self.covariances(n, seeds)
        params, conv, refitted = self._estimate(covs, n, reps, tol, n_threads)
        acov = self._asymptotic_covariances(params, covs, conv, n, reps)
        params[~conv] = np.nan
        acov[~conv] = np.nan
        se = np.sqrt(np.diagonal(acov, axis1=1, axis2=2))
        n_fail = int((~conv).sum())
        if n_fail:
            log.info("n=%d: %d of %d replications failed to fit", n, n_fail, len(reps))
        est, pse = params[:, self._path_col], se[:, self._path_col]
        std, sd = self._standardized(params, conv)
        w = wald(est, pse)
        ind_est, ind_lo, ind_hi = self._indirect(params, acov, conv, seeds, mc_draws)
        ind_std = standardized_effect(ind_est, sd[:, self._tri_x], sd[:, self._tri_y])
        return ReplicationBatch(
            n=int(n), replications=reps, converged=conv, refitted=refitted, params=params,
            paths=list(self.paths), path_est=est, path_se=pse, path_std=std,
            path_ci_low=w["ci_low"], path_ci_high=w["ci_high"], path_pvalue=w["pvalue"],
            triples=list(self.triples), ind_est=ind_est, ind_std=ind_std, ind_ci_low=ind_lo, ind_ci_high=ind_hi,
        )

    def _estimate(self, covs: np.ndarray, n: int, reps: np.ndarray, tol: float,
                  n_threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ML estimates ``(params, converged, refitted)`` of every replication.

        The solver of the bootstrap (limited-memory BFGS steps on the
        information at the population start, :data:`~xhs_sharing.sem.batched.LBFGS_MEMORY`);
        the few members it leaves unconverged get textbook Fisher scoring
        (information at every iterate), and the one-by-one
        :func:`~xhs_sharing.sem.estimation.solve_ml` only when that fails
        too. An improper solution (:mod:`xhs_sharing.sem.checks`) counts as a
        failed fit, as in the main analysis, where it reproduces no claim.
        """
        bm = self.bm
        fit = bm.fit_batch(covs, n=n, tol=tol, n_threads=n_threads, refit=False)
        conv, proper, params = fit.converged.copy(), fit.proper.copy(), fit.params.copy()
        refitted = np.zeros(len(covs), dtype=bool)
        again = np.flatnonzero(~conv)
        if len(again):
            fit2 = bm.fit_batch(covs[again], n=n, tol=tol, n_threads=n_threads, info_refresh=10**9, memory=0)
            conv[again], proper[again], params[again] = fit2.converged, fit2.proper, fit2.params
            refitted[again] = fit2.refitted
        for k in np.flatnonzero(conv & ~proper):
            log.warning("n=%d replication %d: improper solution; counted as a failed fit", n, reps[k])
        return params, conv & proper, refitted

    def _asymptotic_covariances(self, params: np.ndarray, covs: np.ndarray, conv: np.ndarray, n: int,
                                reps: np.ndarray) -> np.ndarray:
        """``(n/2 H)^-1`` of every converged replication, as the main fit; a non-PD information fails it."""
        acov = np.full((len(covs), self.bm.q, self.bm.q), np.nan)
        idx = np.flatnonzero(conv)
        if len(idx):
            inv, ok = asymptotic_covariance(self.bm.information(params[idx], covs[idx]), n)
            acov[idx] = inv
            for k in idx[~ok]:
                log.warning("n=%d replication %d: the information matrix is not positive definite; "
                            "counted as a failed fit", n, reps[k])
            conv[idx[~ok]] = False
        return acov

    def _standardized(self, params: np.ndarray, conv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``std.all`` of the paths and the model-implied latent SDs, NaN for failed fits."""
        mats = self.bm.structure.matrices(np.where(conv[:, None], params, self.bm.start))
        std = std_all_matrices(*mats)[BETA][:, self._tgt, self._src]
        veta, _ = latent_covariance(mats[BETA], mats[PSI])
        sd = implied_sd(veta)
        std[~conv] = np.nan
        sd[~conv] = np.nan
        return std, sd

    def _indirect(self, params: np.ndarray, acov: np.ndarray, conv: np.ndarray,
                  seeds: Sequence[np.random.SeedSequence], mc_draws: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Specific indirect effects (``a b``, or the product along a longer chain) and their Monte Carlo 95% intervals (Selig & Preacher 2008).

        Draws of the chains' coefficients from the normal with the replication's estimates
        and asymptotic covariance (the marginal of the full-parameter draws),
        from the first child of the replication's SeedSequence.
        """
        R, T = len(params), len(self.triples)
        ab = params[:, self._mc_cols]

        def products(draws: np.ndarray) -> np.ndarray:
            return np.stack([draws[:, links].prod(axis=1) for links in self._tri_links], axis=1)

        ind_est = products(ab) if T else np.empty((R, 0))
        lo = np.full((R, T), np.nan)
        hi = np.full((R, T), np.nan)
        good = np.flatnonzero(conv)
        if not (len(good) and T):
            return ind_est, lo, hi
        for g in good:
            rng = np.random.default_rng(seeds[g].spawn(1)[0])
            block = acov[g][np.ix_(self._mc_cols, self._mc_cols)]
            try:
                lo[g], hi[g] = monte_carlo_interval(ab[g], block, rng, mc_draws, products)
            except EstimationError:
                log.warning("replication at position %d of the chunk: the covariance of its (a, b) estimates is not positive "
                            "semi-definite; its Monte Carlo intervals are left empty", g)
        return ind_est, lo, hi


def claims_frame(batch: ReplicationBatch, study: Study) -> pd.DataFrame:
    """One row per replication and claim (:data:`REPLICATION_COLUMNS`), claims in spec order.

    The estimate, interval and verdict of a claim are what
    ``evaluate_claims(study.claims, batch.paths_table(i), batch.indirect_table(i), interval="mc")``
    returns for replication ``i``: paths with ``est``, ``std_all`` and the
    Wald interval, indirect claims with ``est``, ``std_est`` and the Monte
    Carlo interval, and the verdict of :func:`xhs_sharing.analysis.claims.judge`. A
    failed fit has NaN numbers and the verdict ``not_reproduced``.
    """
    path_pos = {p: k for k, p in enumerate(batch.paths)}
    tri_pos = {t: k for k, t in enumerate(batch.triples)}
    R = len(batch)
    frames = []
    for claim in study.claims:
        if claim.kind == "path":
            k = path_pos.get((claim.path[0], claim.path[1]))
            if k is None:
                raise EstimationError(f"claim {claim.id}: the model has no path {claim.path[0]}->{claim.path[1]}")
            cols = (batch.path_est[:, k], batch.path_std[:, k], batch.path_ci_low[:, k], batch.path_ci_high[:, k])
        elif claim.kind == "indirect":
            k = tri_pos.get(tuple(claim.path))  # type: ignore[arg-type]
            if k is None:
                raise EstimationError(f"claim {claim.id}: {'->'.join(claim.path)} is not a chain of the model")
            cols = (batch.ind_est[:, k], batch.ind_std[:, k], batch.ind_ci_low[:, k], batch.ind_ci_high[:, k])
        else:
            raise SpecError(f"unknown claim kind {claim.kind!r}")
        est, std, lo, hi = cols
        verdict = [judge(claim.expected, float(est[i]), float(lo[i]), float(hi[i]))[0] for i in range(R)]
        frames.append(pd.DataFrame({
            "n": batch.n, "replication": batch.replications, "claim_id": claim.id,
            "converged": batch.converged, "refitted": batch.refitted, "estimate": est,
            "std_estimate": std, "ci_low": lo, "ci_high": hi, "verdict": verdict,
        }))
    out = pd.concat(frames, ignore_index=True)
    return _sort_rows(out, study)


def _sort_rows(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    order = {c.id: k for k, c in enumerate(study.claims)}
    key = table["claim_id"].map(order)
    if key.isna().any():
        raise DataError(f"unknown claim id(s) {sorted(set(table.loc[key.isna(), 'claim_id']))}")
    table = table.assign(_k=key.astype(int)).sort_values(["n", "replication", "_k"], kind="stable")
    return table.drop(columns="_k").reset_index(drop=True)[list(REPLICATION_COLUMNS)]


def run_chunk(study: Study, n: int, replications: Iterable[int], *, master_seed: int, mc_draws: int,
              scale_points: int = SCALE_POINTS, thresholds: str = THRESHOLDS, skew_shift: float = SKEW_SHIFT,
              model: ReplicationModel | None = None, n_threads: int = 1) -> pd.DataFrame:
    """The rows of one chunk: replications ``replications`` at sample size ``n`` (the chunk rule's table)."""
    model = model or ReplicationModel(study, scale_points, thresholds, skew_shift)
    batch = model.fit(n, replications, master_seed, mc_draws, n_threads=n_threads)
    return claims_frame(batch, study)


def wilson_interval(successes: Any, trials: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (Wilson 1927, JASA 22:209-212).

    With ``p = x / n`` and ``z`` the ``(1 + level) / 2`` normal quantile:

    .. math::

        \\frac{p + z^2/(2n)}{1 + z^2/n} \\pm \\frac{z}{1 + z^2/n}\\sqrt{\\frac{p(1-p)}{n} + \\frac{z^2}{4n^2}}

    Unlike the Wald interval it stays inside [0, 1] and keeps close to its
    nominal coverage for rates near 0 or 1 (Newcombe 1998, Stat. Med.
    17:857-872). NaN where ``n = 0``.

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("successes must lie between 0 and trials")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = float(stats.norm.ppf(0.5 + level / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        lo, hi = np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
        # exact ends (the formula gives them up to rounding): 0 successes -> 0, n successes -> 1
        lo = np.where((x == 0) & (n > 0), 0.0, lo)
        hi = np.where((x == n) & (n > 0), 1.0, hi)
    return lo, hi


def gather(frames: Iterable[pd.DataFrame], study: Study, sample_sizes: Sequence[int],
           replications: int) -> pd.DataFrame:
    """Concatenate chunk tables into ``replications.csv``: checked complete, sorted by n, replication, claim.

    Raises
    ------
    DataError
        When a (n, replication, claim) row is missing, duplicated or unexpected.
    """
    frames = [f for f in frames]
    if not frames:
        raise DataError("no chunk tables to gather")
    table = pd.concat(frames, ignore_index=True)
    missing_cols = [c for c in REPLICATION_COLUMNS if c not in table.columns]
    if missing_cols:
        raise DataError(f"chunk tables lack column(s) {missing_cols}")
    table = table[list(REPLICATION_COLUMNS)].copy()
    table["n"] = table["n"].astype(np.int64)
    table["replication"] = table["replication"].astype(np.int64)
    table["claim_id"] = table["claim_id"].astype(str)
    table["converged"] = table["converged"].astype(bool)
    table["refitted"] = table["refitted"].astype(bool)
    dup = table.duplicated(["n", "replication", "claim_id"])
    if dup.any():
        first = table.loc[dup].iloc[0]
        raise DataError(f"replication {first['replication']} at n={first['n']} (claim {first['claim_id']}) "
                        "appears in more than one chunk")
    expected = len(sample_sizes) * replications * len(study.claims)
    keys = set(zip(table["n"], table["replication"]))
    want = {(int(n), r) for n in sample_sizes for r in range(replications)}
    if keys != want or len(table) != expected:
        lost = sorted(want - keys)[:5]
        extra = sorted(keys - want)[:5]
        raise DataError(f"the chunks do not hold exactly {replications} replications at n = {list(sample_sizes)} "
                        f"with {len(study.claims)} claims each ({len(table)} rows, {expected} expected; "
                        f"missing e.g. {lost}, unexpected e.g. {extra})")
    return _sort_rows(table, study)


def claim_reproduction(table: pd.DataFrame, study: Study, level: float = 0.95) -> pd.DataFrame:
    """``claim_id, n, replications, converged, reproduction_rate, ci_low, ci_high`` (claims in spec order).

    ``reproduction_rate`` is the share of *all* replications at that ``n`` in
    which the claim is reproduced (a failed fit counts as not reproduced);
    ``ci_low, ci_high`` its Wilson interval.
    """
    rows = []
    for claim in study.claims:
        sub = table[table["claim_id"] == claim.id]
        for n, grp in sub.groupby("n", sort=True):
            x = int((grp["verdict"] == REPRODUCED).sum())
            lo, hi = wilson_interval(x, len(grp), level)
            rows.append({"claim_id": claim.id, "n": int(n), "replications": len(grp),
                         "converged": int(grp["converged"].sum()), "reproduction_rate": x / len(grp),
                         "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(rows, columns=["claim_id", "n", "replications", "converged", "reproduction_rate",
                                       "ci_low", "ci_high"])


def _joint(table: pd.DataFrame, claim_ids: Sequence[str] | None = None) -> pd.DataFrame:
    sub = table if claim_ids is None else table[table["claim_id"].isin(list(claim_ids))]
    ok = (sub["verdict"] == REPRODUCED).groupby([sub["n"], sub["replication"]]).all()
    return ok.groupby(level="n").agg(["sum", "size"])


def joint_reproduction(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """``n, replications, joint_rate, ci_low, ci_high``: share of replications reproducing every claim."""
    agg = _joint(table)
    lo, hi = wilson_interval(agg["sum"].to_numpy(), agg["size"].to_numpy(), level)
    return pd.DataFrame({"n": agg.index.to_numpy(dtype=np.int64), "replications": agg["size"].to_numpy(),
                         "joint_rate": agg["sum"].to_numpy() / agg["size"].to_numpy(), "ci_low": lo, "ci_high": hi})


def smallest_reaching(values: Sequence[float], rates: Sequence[float], level: float) -> float | None:
    """Smallest ``value`` from which on ``rate >= level``: at it and at every larger value.

    Requiring every larger value too keeps one lucky grid point (Monte Carlo
    noise) from being read as the crossing. None when not reached.

    Examples
    --------
    >>> smallest_reaching([150, 250, 400], [0.7, 0.85, 0.9], 0.8)
    250
    >>> smallest_reaching([150, 250, 400], [0.81, 0.79, 0.9], 0.8)
    400
    >>> smallest_reaching([150, 250], [0.5, 0.6], 0.8) is None
    True
    """
    pairs = sorted(zip(values, rates))
    found = None
    for v, r in reversed(pairs):
        if r is None or not np.isfinite(r) or r < level:
            break
        found = v
    return found


def power_summary(joint: pd.DataFrame, levels: Sequence[float] = JOINT_LEVELS) -> dict[str, int | None]:
    """``{"joint_80": n or None, "joint_95": n or None}`` from the joint table (:func:`smallest_reaching`)."""
    out: dict[str, int | None] = {}
    for level in levels:
        v = smallest_reaching(joint["n"].tolist(), joint["joint_rate"].tolist(), level)
        out[f"joint_{round(level * 100)}"] = None if v is None else int(v)
    return out


def min_detectable(sensitivity: pd.DataFrame, level: float = DETECTION_LEVEL) -> dict[str, float | None]:
    """Per null claim, the smallest grid effect detected with probability ``>= level`` (and beyond); None if none."""
    out: dict[str, float | None] = {}
    for cid, grp in sensitivity.groupby("claim_id", sort=False):
        v = smallest_reaching(grp["effect"].tolist(), grp["detection_rate"].tolist(), level)
        out[str(cid)] = None if v is None else float(v)
    return out


def interpolated_crossing(values: Sequence[float], rates: Sequence[float], level: float) -> float | None:
    """Where the rate crosses ``level``, interpolated linearly between two grid points.

    The crossing is the one :func:`smallest_reaching` finds (the rate stays at
    or above ``level`` from there on); between it, ``(v1, r1)``, and the grid
    point below it, ``(v0, r0)`` with ``r0 < level``, the crossing is
    ``v0 + (level - r0) / (r1 - r0) (v1 - v0)``. When the smallest grid value
    already reaches ``level`` there is nothing below to interpolate from and
    that value is returned (the crossing lies at or below it). None when
    ``level`` is not reached. A grid of steps of .05 read off at its grid
    points overstates the crossing by up to one step (issue 17 point 6).

    Examples
    --------
    >>> interpolated_crossing([0.10, 0.15, 0.20], [0.385, 0.79, 0.96], 0.8)
    0.15294117647058825
    >>> interpolated_crossing([0.10, 0.15], [0.85, 0.9], 0.8)
    0.1
    >>> interpolated_crossing([0.10, 0.15], [0.5, 0.6], 0.8) is None
    True
    """
    pairs = sorted(zip(values, rates))
    found = smallest_reaching([v for v, _ in pairs], [r for _, r in pairs], level)
    if found is None:
        return None
    k = [v for v, _ in pairs].index(found)
    if k == 0:
        return float(found)
    (v0, r0), (v1, r1) = pairs[k - 1], pairs[k]
    return float(v0 + (level - r0) / (r1 - r0) * (v1 - v0))


def min_detectable_interpolated(sensitivity: pd.DataFrame, level: float = DETECTION_LEVEL) -> dict[str, float | None]:
    """Per null claim, the effect detected with probability ``level``, interpolated (:func:`interpolated_crossing`)."""
    out: dict[str, float | None] = {}
    for cid, grp in sensitivity.groupby("claim_id", sort=False):
        out[str(cid)] = interpolated_crossing(grp["effect"].tolist(), grp["detection_rate"].tolist(), level)
    return out


def _varied_link(study: Study, claim: Any) -> tuple[str, str] | None:
    """The path whose population value the sensitivity grid sets for a null claim.

    The claim's own path for a path claim; for a chain, its first link with a
    population value of exactly 0 (the link that makes the chain null).
    """
    pop = {(p.source, p.target): p.std for p in study.paths}
    links = list(zip(claim.path[:-1], claim.path[1:]))
    if claim.kind == "path":
        return links[0]
    zero = [lk for lk in links if pop.get(lk, 0.0) == 0.0]
    return zero[0] if zero else None


def run_sensitivity(study: Study, *, n: int, effects: Sequence[float], replications: int, master_seed: int,
                    mc_draws: int, scale_points: int = SCALE_POINTS, thresholds: str = THRESHOLDS,
                    skew_shift: float = SKEW_SHIFT, n_threads: int = 1) -> pd.DataFrame:
    """Detection rate of every null claim when its null path has a true effect.

    For each claim the paper reports as not significant, the study spec is
    rebuilt (:func:`xhs_sharing.study.spec.study_from_dict` on a copy of the parsed
    spec) with the null path (for a chain: its null link) set to each value
    of ``effects`` (standardized), ``replications`` surveys of ``n``
    respondents are simulated and fitted, and the share of replications in
    which the claim is *not* reproduced by a converged fit (the effect is
    detected) is its power. A failed fit counts as no detection.

    Returns
    -------
    DataFrame
        ``claim_id, path, effect, population_effect, n, replications, converged,
        detection_rate, ci_low, ci_high`` (Wilson 95%), claims in spec order,
        effects ascending. ``population_effect`` is the claim's standardized
        population effect (for a chain, the product of its standardized links).
    """
    require_population(study, "the sensitivity analysis of the Monte Carlo study")
    nulls = [c for c in study.claims if c.expected == "not_significant"]
    groups: dict[tuple[str, str], list[Any]] = {}
    for claim in nulls:
        link = _varied_link(study, claim)
        if link is None:
            log.warning("claim %s: no link of the chain is null in the population; no sensitivity analysis", claim.id)
            continue
        groups.setdefault(link, []).append(claim)
    if not groups:
        return pd.DataFrame(columns=["claim_id", "path", "effect", "population_effect", "n", "replications",
                                     "converged", "detection_rate", "ci_low", "ci_high"])
    effects = sorted(float(e) for e in effects)
    rows = []
    for link, claims in groups.items():
        for effect in effects:
            raw = copy.deepcopy(study.raw)
            hit = [p for p in raw["paths"] if (p["from"], p["to"]) == link]
            if len(hit) != 1:
                raise SpecError(f"the study spec has {len(hit)} paths {link[0]}->{link[1]}")
            hit[0]["std"] = effect
            varied = study_from_dict(raw, f"study spec with {link[0]}->{link[1]} = {effect}")
            pop = {(p.source, p.target): p.std for p in varied.paths}
            model = ReplicationModel(varied, scale_points, thresholds, skew_shift)
            batch = model.fit(n, range(replications), master_seed, mc_draws, extra_key=(SENSITIVITY_KEY,),
                              n_threads=n_threads)
            sub_study = _with_claims(varied, claims)
            table = claims_frame(batch, sub_study)
            for claim in claims:
                grp = table[table["claim_id"] == claim.id]
                detected = int((grp["converged"] & (grp["verdict"] == NOT_REPRODUCED)).sum())
                lo, hi = wilson_interval(detected, len(grp))
                pe = float(np.prod([pop[lk] for lk in zip(claim.path[:-1], claim.path[1:])]))
                rows.append({"claim_id": claim.id, "path": f"{link[0]}->{link[1]}", "effect": effect,
                             "population_effect": pe, "n": int(n), "replications": len(grp),
                             "converged": int(grp["converged"].sum()), "detection_rate": detected / len(grp),
                             "ci_low": float(lo), "ci_high": float(hi)})
    out = pd.DataFrame(rows)
    order = {c.id: k for k, c in enumerate(study.claims)}
    out = out.assign(_k=out["claim_id"].map(order)).sort_values(["_k", "effect"], kind="stable")
    return out.drop(columns="_k").reset_index(drop=True)


def _with_claims(study: Study, claims: Sequence[Any]) -> Study:
    """``study`` restricted to ``claims`` (for :func:`claims_frame`)."""

    return dataclasses.replace(study, claims=tuple(claims))


@dataclass
class GatherOutputs:
    """Everything the gather rule writes."""

    replications: pd.DataFrame
    claim_reproduction: pd.DataFrame
    joint_reproduction: pd.DataFrame
    power: dict[str, Any]


def gather_outputs(frames: Iterable[pd.DataFrame], study: Study, *, sample_sizes: Sequence[int],
                   replications: int, sensitivity: pd.DataFrame | None = None,
                   settings: Mapping[str, Any] | None = None) -> GatherOutputs:
    """Gather the chunk tables and derive every summary of ``results/montecarlo/``.

    ``power`` holds numbers only: ``joint_80`` and ``joint_95`` (smallest
    simulated n, or None), and when ``sensitivity`` is given
    ``min_detectable_80`` (claim id -> smallest grid effect detected with 80%
    power, or None), ``min_detectable_80_interpolated`` (the same crossing
    interpolated between grid points, :func:`interpolated_crossing`) and ``sensitivity_n``; ``fits`` counts converged, failed
    and refitted replications; ``settings`` echoes the run settings. What
    they mean in words is the report's to say
    (:func:`xhs_sharing.report.montecarlo.reading`).
    """
    table = gather(frames, study, sample_sizes, replications)
    claims = claim_reproduction(table, study)
    joint = joint_reproduction(table)
    power: dict[str, Any] = dict(power_summary(joint))
    per_rep = table.drop_duplicates(["n", "replication"])
    power["fits"] = {"replications": int(len(per_rep)), "converged": int(per_rep["converged"].sum()),
                     "failed": int((~per_rep["converged"]).sum()), "refitted": int(per_rep["refitted"].sum())}
    if sensitivity is not None and len(sensitivity):
        power["min_detectable_80"] = min_detectable(sensitivity)
        power["min_detectable_80_interpolated"] = min_detectable_interpolated(sensitivity)
        power["sensitivity_n"] = int(sensitivity["n"].iloc[0])
    if settings:
        power["settings"] = dict(settings)
    return GatherOutputs(replications=table, claim_reproduction=claims, joint_reproduction=joint, power=power)
