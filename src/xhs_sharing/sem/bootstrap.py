"""The nonparametric bootstrap of a fitted SEM: resampling engine and refits.

Respondents are resampled with replacement and the model is refitted to
every resample (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*,
ch. 6 and 13); functions of the refitted parameter vectors (indirect effects,
standardised paths) then get percentile intervals in the analysis layer
(:func:`xhs_sharing.analysis.mediation.bootstrap_indirect`).  The design
follows lavaan's ``lav_bootstrap.R`` (``bootstrapLavaan`` /
``lav_bootstrap_internal``): one loop draws the resamples and refits them
from the full-sample estimates, records every outcome, and leaves what to
compute from the estimates to the caller.

Engine
------
:func:`bootstrap_refits` knows nothing of indirect effects or of the model:
given the data matrix, the warm start ``theta0`` and a *chunk fitter*, it

* splits the ``n_resamples`` resamples into chunks of ``chunk_size``
  (:func:`chunk_sizes`);
* draws chunk ``k``'s resamples from its own random stream, child ``k`` of
  ``np.random.SeedSequence(seed).spawn(n_chunks)``, as an ``(size, n)``
  array of row indices (:func:`chunk_indices`), so the resamples depend on
  ``seed`` and ``chunk_size`` only, never on ``n_jobs`` or the order in
  which chunks finish;
* refits the chunks in-process or in worker processes, with BLAS limited to
  one thread per process (the refits use tiny matrices; several processes
  each spinning a multi-threaded BLAS pool oversubscribe the cores);
* returns every resample's parameter vector and status in draw order with
  the count of failures per reason (:class:`BootstrapRefits`), and reports
  progress after every chunk (:class:`BootstrapProgress`).

Refits
------
A chunk fitter ``(structure, data, indices, theta0) -> (thetas, statuses)``
(:class:`ChunkFitter`) refits all resamples of one chunk.  The package has
three: :func:`fit_chunk` (ML by Fisher scoring, one resample at a time,
:func:`refit_resample`), :class:`FimlChunkFitter` (FIML for data with missing
values, :func:`refit_resample_fiml`) and the batched estimator
:class:`xhs_sharing.sem.batched.BatchedChunkFitter` (all resamples of a
chunk at once).  Every resample ends with one status: :data:`CONVERGED`
(converged and proper), :data:`NONCONVERGED`, :data:`IMPROPER` (negative
variance or non-positive-definite matrix,
:func:`~xhs_sharing.sem.checks.solution_problems`) or :data:`SINGULAR_DATA`
(the resample's covariance matrix is not positive definite).  Failed
resamples are counted, never silently dropped.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.estimation import MAX_ITER, XTOL, solve_ml
from xhs_sharing.sem.model import ModelStructure
from xhs_sharing.sem.mvnorm_missing import MissingData, fiml_solve
from xhs_sharing.sem.objectives import sample_covariance

logger = logging.getLogger(__name__)

__all__ = [
    "CONVERGED",
    "IMPROPER",
    "NONCONVERGED",
    "NOT_REFITTED",
    "SINGULAR_DATA",
    "BootstrapFailure",
    "BootstrapProgress",
    "BootstrapRefits",
    "ChunkFitter",
    "FimlChunkFitter",
    "RefitOutcome",
    "bootstrap_refits",
    "check_count",
    "check_seed",
    "chunk_indices",
    "chunk_sizes",
    "fast_start_method",
    "fit_chunk",
    "refit_resample",
    "refit_resample_fiml",
]


#: Resample outcome: the refit converged to a proper solution (the only one kept).
CONVERGED: Final = "converged"

#: Resample outcome: the iterations did not converge.
NONCONVERGED: Final = "nonconverged"

#: Resample outcome: converged, but a negative variance or non-positive-definite matrix.
IMPROPER: Final = "improper"

#: Resample outcome: the resample's data cannot be fitted (covariance not positive definite).
SINGULAR_DATA: Final = "singular_data"

#: Resample outcome: not converged in a batched fit and, the failures being already too many (or the
#: full-sample solution improper), not refitted one by one (:class:`~xhs_sharing.sem.batched.BatchedChunkFitter`).
NOT_REFITTED: Final = "nonconverged_not_refitted"


class BootstrapFailure(EstimationError):
    """The bootstrap gave no usable draws: every resample failed, or too many of its first chunks' did.

    Attributes
    ----------
    failures : dict of str to int
        Failed resamples by reason (``improper``, ``nonconverged``, ...), as ``bootstrap.json`` records them.
    judged : int
        Resamples refitted before the bootstrap stopped (all requested when none converged).
    early : bool
        True when it stopped early (:func:`bootstrap_refits`' ``max_failure_rate``).
    """

    def __init__(self, message: str, failures: dict[str, int], judged: int, early: bool = False) -> None:
        super().__init__(message)
        self.failures = dict(failures)
        self.judged = judged
        self.early = early


def failure_text(failures: dict[str, int]) -> str:
    """``"improper 76, nonconverged 2"``: the failure counts by reason, largest first."""
    return ", ".join(f"{k} {v}" for k, v in sorted(failures.items(), key=lambda kv: -kv[1]))


#: Resamples in the first chunks whose failure rate decides an early stop (all of them when fewer are requested).
EARLY_STOP_RESAMPLES: Final = 250


@dataclass(frozen=True)
class RefitOutcome:
    """Result of refitting one resample: ``theta`` and a status string."""

    theta: np.ndarray
    status: str
    n_iter: int


def refit_resample(
    structure: ModelStructure, sample: np.ndarray, theta0: np.ndarray
) -> RefitOutcome:
    """Refit the model to one resample (the replaceable inner step).

    ML by Fisher scoring (:func:`~xhs_sharing.sem.estimation.solve_ml`) from
    ``theta0`` (the full-sample estimates).  Status ``converged`` only for a
    converged, proper solution; otherwise ``nonconverged``, ``improper``
    (negative variance / non-PD matrix, see
    :func:`~xhs_sharing.sem.checks.solution_problems`) or ``singular_data``
    (resample covariance not positive definite).

    Parameters
    ----------
    structure : ModelStructure
    sample : np.ndarray, shape (n, p)
        Resampled respondents, columns in ``structure.observed`` order.
    theta0 : np.ndarray
    """
    s = sample_covariance(sample)
    try:
        np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        return RefitOutcome(np.full_like(theta0, np.nan), SINGULAR_DATA, 0)
    sol = solve_ml(structure, s, theta0)
    if not sol.converged:
        return RefitOutcome(sol.theta, NONCONVERGED, sol.n_iter)
    if solution_problems(structure, sol.theta):
        return RefitOutcome(sol.theta, IMPROPER, sol.n_iter)
    return RefitOutcome(sol.theta, CONVERGED, sol.n_iter)


class ChunkFitter(Protocol):
    """Refits every resample of one chunk: the replaceable step of :func:`bootstrap_refits`.

    Called as ``chunk_fitter(structure, data, indices, theta0)`` with the
    full sample ``data`` (n, p), the chunk's row ``indices`` (size, n) and
    the warm start ``theta0`` (q,); returns the ``(size, q)`` refitted
    parameter vectors and one status per resample.  Implemented by
    :func:`fit_chunk`, :class:`FimlChunkFitter` and
    :class:`xhs_sharing.sem.batched.BatchedChunkFitter`.
    """

    def __call__(
        self, structure: ModelStructure, data: np.ndarray, indices: np.ndarray,
        theta0: np.ndarray,
    ) -> tuple[np.ndarray, list[str]]: ...


def fit_chunk(
    structure: ModelStructure, data: np.ndarray, indices: np.ndarray, theta0: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Refit every resample of a chunk, one at a time.

    Parameters
    ----------
    structure : ModelStructure
    data : np.ndarray, shape (n, p)
        Full sample.
    indices : np.ndarray of int, shape (size, n)
        Row ``j`` holds the respondents of resample ``j``.
    theta0 : np.ndarray
        Warm start (full-sample estimates).

    Returns
    -------
    thetas : np.ndarray, shape (size, q)
    status : list of str
    """
    thetas = np.empty((indices.shape[0], structure.n_params))
    status: list[str] = []
    for j, idx in enumerate(indices):
        out = refit_resample(structure, data[idx], theta0)
        thetas[j] = out.theta
        status.append(out.status)
    return thetas, status


def refit_resample_fiml(
    structure: ModelStructure,
    sample: np.ndarray,
    theta0: np.ndarray,
    mean0: np.ndarray,
    hessian0: np.ndarray,
) -> RefitOutcome:
    """Refit the model by FIML to one resample with missing values.

    The resample keeps every drawn respondent with their missing answers.
    Quasi-Newton iterations (:func:`~xhs_sharing.sem.mvnorm_missing.fiml_solve`
    with ``hessian=hessian0``: BFGS updates from the full-sample Hessian)
    warm-started at the full-sample estimates ``theta0`` and intercepts
    ``mean0``, to the same ``xtol`` as the ML refits. Statuses as
    :func:`refit_resample`; ``singular_data`` when an indicator has fewer
    than two distinct observed values in the resample (its variance is not
    estimable).
    """
    observed = ~np.isnan(sample)
    for j in range(sample.shape[1]):
        if np.unique(sample[observed[:, j], j]).size < 2:
            return RefitOutcome(np.full_like(theta0, np.nan), SINGULAR_DATA, 0)
    sol = fiml_solve(MissingData(sample), structure.sigma_derivatives, theta0, mean0,
                     hessian=hessian0, xtol=XTOL, max_iter=MAX_ITER)
    if not sol.converged:
        return RefitOutcome(sol.theta, NONCONVERGED, sol.n_iter)
    if solution_problems(structure, sol.theta):
        return RefitOutcome(sol.theta, IMPROPER, sol.n_iter)
    return RefitOutcome(sol.theta, CONVERGED, sol.n_iter)


class FimlChunkFitter:
    """Refit every resample of a chunk by FIML, one at a time.

    The chunk fitter of :func:`bootstrap_refits` for data with missing
    values (the batched estimator needs complete covariance matrices).
    Holds the full-sample FIML intercepts and Hessian, which warm-start every
    refit together with ``theta0``; picklable, so chunks may run in worker
    processes.

    Parameters
    ----------
    mean0 : np.ndarray
        Full-sample FIML intercepts (``StructuralResult.means``).
    hessian0 : np.ndarray
        Hessian of ``-2 logL / N`` over ``(theta, means)`` at the full-sample
        solution (``StructuralResult.hessian``).
    """

    #: Marks chunk fitters that accept data with missing values.
    handles_missing = True

    def __init__(self, mean0: np.ndarray, hessian0: np.ndarray) -> None:
        self.mean0 = np.asarray(mean0, dtype=float)
        self.hessian0 = np.asarray(hessian0, dtype=float)

    @classmethod
    def from_fit(cls, fit: Any) -> FimlChunkFitter:
        """The fitter for a FIML :class:`~xhs_sharing.analysis.structural.StructuralResult`."""
        if fit.estimator != "FIML" or fit.means is None or fit.hessian is None:
            raise SpecError("FimlChunkFitter needs a FIML fit (fit_structural(..., missing='fiml') "
                            "on data with missing values)")
        return cls(fit.means, fit.hessian)

    def __call__(
        self, structure: ModelStructure, data: np.ndarray, indices: np.ndarray, theta0: np.ndarray
    ) -> tuple[np.ndarray, list[str]]:
        thetas = np.empty((indices.shape[0], structure.n_params))
        status: list[str] = []
        for j, idx in enumerate(indices):
            out = refit_resample_fiml(structure, data[idx], theta0, self.mean0, self.hessian0)
            thetas[j] = out.theta
            status.append(out.status)
        return thetas, status



# --------------------------------------------------------------------------
# The resampling engine
# --------------------------------------------------------------------------
def check_seed(seed: object) -> int:
    """``seed`` as an ``int``; :class:`SpecError` unless it is a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an ``int``; :class:`SpecError` unless it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SpecError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def chunk_sizes(n_resamples: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks of ``n_resamples`` resamples: ``chunk_size`` each, the last one the rest.

    Examples
    --------
    >>> chunk_sizes(10, 4)
    [4, 4, 2]
    """
    n_chunks = math.ceil(n_resamples / chunk_size)
    return [min(chunk_size, n_resamples - k * chunk_size) for k in range(n_chunks)]


def chunk_indices(stream: np.random.SeedSequence, size: int, n_obs: int) -> np.ndarray:
    """Row indices of the ``size`` resamples of one chunk, drawn from its own ``stream``.

    Row ``j`` holds the ``n_obs`` respondents (drawn uniformly with
    replacement) of the chunk's resample ``j``:
    ``np.random.default_rng(stream).integers(0, n_obs, size=(size, n_obs))``.
    """
    return np.random.default_rng(stream).integers(0, n_obs, size=(size, n_obs))


@dataclass(frozen=True)
class BootstrapProgress:
    """Progress report passed to the ``progress`` callback after each chunk.

    Attributes
    ----------
    chunks_done, n_chunks : int
        Chunks finished so far, and in all.
    resamples_done, requested : int
        Resamples refitted so far, and in all.
    failed : int
        Resamples so far without a converged, proper solution.
    """

    chunks_done: int
    n_chunks: int
    resamples_done: int
    requested: int
    failed: int


@dataclass(frozen=True, eq=False)
class BootstrapRefits:
    """Every resample's refit, in draw order.

    Attributes
    ----------
    thetas : np.ndarray, shape (n_resamples, q)
        Parameter vector of every resample, whatever its status (NaN where
        the fitter gave none, e.g. singular data).
    status : np.ndarray of str, shape (n_resamples,)
        Outcome of every resample (:data:`CONVERGED`, :data:`NONCONVERGED`,
        :data:`IMPROPER`, :data:`SINGULAR_DATA`, or a fitter's own reason).
    failures : dict of str to int
        Count per failure reason (every status but :data:`CONVERGED`), in
        order of first occurrence.
    seed : int
        Root of the chunks' random streams.
    chunk_size : int
        Resamples per chunk (with ``seed`` it fixes the resamples).
    """

    thetas: np.ndarray
    status: np.ndarray
    failures: dict[str, int]
    seed: int
    chunk_size: int

    @property
    def converged(self) -> np.ndarray:
        """Boolean mask of the resamples with a converged, proper solution."""
        return self.status == CONVERGED


def _refit_chunk(
    k: int,
    stream: np.random.SeedSequence,
    size: int,
    structure: ModelStructure,
    data: np.ndarray,
    theta0: np.ndarray,
    chunk_fitter: ChunkFitter,
) -> tuple[int, np.ndarray, list[str]]:
    """Draw chunk ``k``'s resamples from its ``stream`` and refit them (runs in a worker)."""
    indices = chunk_indices(stream, size, data.shape[0])
    thetas, status = chunk_fitter(structure, data, indices, theta0)
    if thetas.shape != (size, theta0.shape[0]) or len(status) != size:
        raise EstimationError(f"chunk fitter returned wrong shapes for chunk {k}")
    return k, thetas, list(status)


ChunkTask = tuple[int, np.random.SeedSequence, int, ModelStructure, np.ndarray, np.ndarray, ChunkFitter]
"""Arguments of :func:`_refit_chunk` for one chunk."""


class _Collector:
    """Gathers the chunks as they finish; logs and reports progress after each."""

    def __init__(self, sizes: Sequence[int], progress: Callable[[BootstrapProgress], None] | None,
                 max_failure_rate: float | None = None) -> None:
        self.sizes = list(sizes)
        self.requested = sum(self.sizes)
        self.progress = progress
        self.chunks: dict[int, tuple[np.ndarray, list[str]]] = {}
        self.done = self.failed = 0
        self.max_failure_rate = max_failure_rate
        self.checked = max_failure_rate is None

    def check_first_chunks(self) -> None:
        """Raise :class:`BootstrapFailure` once the first chunks (in draw order) fail above ``max_failure_rate``.

        Judged once, on the shortest prefix of chunks ``0, 1, ...`` holding
        :data:`EARLY_STOP_RESAMPLES` resamples (all when fewer are requested),
        as soon as all of them are in: the same chunks whatever ``n_jobs``.
        """
        if self.checked:
            return
        status: list[str] = []
        for k in range(len(self.sizes)):
            if k not in self.chunks:
                return
            status += self.chunks[k][1]
            if len(status) >= min(EARLY_STOP_RESAMPLES, self.requested):
                break
        self.checked = True
        failures = dict(Counter(s for s in status if s != CONVERGED))
        n_failed = sum(failures.values())
        if n_failed == len(status) == self.requested:
            return  # all refitted and none converged: the caller's "none converged" error says so
        if n_failed > float(self.max_failure_rate or 0.0) * len(status):
            where = (f"after its first {len(status)} of {self.requested} resamples" if len(status) < self.requested
                     else f"after all {self.requested} resamples")
            raise BootstrapFailure(
                f"the bootstrap stopped {where}: {n_failed} "
                f"failed ({n_failed / len(status):.0%}: {failure_text(failures)}), more than "
                f"structural.max_failure_rate = {self.max_failure_rate:g}; percentile intervals from the "
                "surviving resamples would be biased (the failures are the resamples with extreme estimates)",
                failures, len(status), early=True)

    def add(self, k: int, thetas: np.ndarray, status: list[str]) -> None:
        self.chunks[k] = (thetas, status)
        self.done += len(status)
        self.failed += sum(s != CONVERGED for s in status)
        report = BootstrapProgress(len(self.chunks), len(self.sizes), self.done, self.requested, self.failed)
        logger.info("bootstrap chunk %d/%d done: %d/%d resamples, %d failed",
                    report.chunks_done, report.n_chunks, self.done, self.requested, self.failed)
        if self.progress is not None:
            self.progress(report)
        self.check_first_chunks()

    def in_draw_order(self) -> tuple[np.ndarray, np.ndarray]:
        """All resamples' ``thetas`` and ``status``, chunk by chunk."""
        order = range(len(self.sizes))
        thetas = np.concatenate([self.chunks[k][0] for k in order])
        status = np.array([s for k in order for s in self.chunks[k][1]], dtype=object)
        return thetas, status


_BLAS_THREAD_VARS: Final = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
)


@contextmanager
def _single_threaded_blas_env() -> Iterator[None]:
    """Make spawned workers start with one BLAS thread each.

    The refits use tiny matrices; with several processes each running a
    multi-threaded BLAS pool the spinning threads oversubscribe the cores
    (measured more than 10x slower on 2 cores).  Spawned children read these
    variables when they import NumPy; the parent's values are restored.
    """
    saved = {k: os.environ.get(k) for k in _BLAS_THREAD_VARS}
    os.environ.update({k: "1" for k in _BLAS_THREAD_VARS})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fast_start_method() -> str:
    """The start method of the package's own worker processes: ``"fork"`` on Linux, ``"spawn"`` elsewhere.

    A forked worker inherits the imported package and the chunk fitter, so it
    starts in milliseconds; a spawned one re-imports NumPy, pandas, SciPy and
    the package (about a second each, which ate the gain of two workers at
    5,000 resamples; issue 14). Fork is safe here: the workers run NumPy
    only, with BLAS limited to one thread, and OpenBLAS stops its pool
    around ``fork()``. macOS keeps ``"spawn"``, Python's default there,
    because its system libraries are not fork-safe.
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _blas_single_thread() -> AbstractContextManager[object]:
    """Limit BLAS to one thread from now on; as a context, until its exit (threadpoolctl)."""
    return threadpool_limits(limits=1)


def _init_worker() -> None:
    """Limit BLAS to one thread in a worker (covers forked workers too)."""
    _blas_single_thread()


def _run_in_process(tasks: Sequence[ChunkTask], collector: _Collector) -> None:
    """Refit the chunks one after the other in this process, BLAS on one thread."""
    with _blas_single_thread():
        for task in tasks:
            collector.add(*_refit_chunk(*task))


def _start_context(mp_context: str) -> multiprocessing.context.BaseContext:
    """The multiprocessing context of ``mp_context``; :class:`SpecError` for an unknown start method."""
    try:
        return multiprocessing.get_context(mp_context)
    except ValueError as exc:
        raise SpecError(f"unknown multiprocessing start method {mp_context!r}") from exc


def _run_in_workers(tasks: Sequence[ChunkTask], collector: _Collector, n_jobs: int,
                    ctx: multiprocessing.context.BaseContext) -> None:
    """Refit the chunks in ``n_jobs`` worker processes, each with a single-threaded BLAS."""
    try:
        with _single_threaded_blas_env(), ProcessPoolExecutor(
            max_workers=n_jobs, mp_context=ctx, initializer=_init_worker
        ) as pool:
            futures = [pool.submit(_refit_chunk, *task) for task in tasks]
            try:
                for fut in as_completed(futures):
                    collector.add(*fut.result())
            except BootstrapFailure:
                pool.shutdown(wait=False, cancel_futures=True)  # an early stop: the queued chunks never start
                raise
    except BrokenProcessPool as exc:
        raise EstimationError(
            "a bootstrap worker process died; with the 'spawn' start method "
            "the calling script must guard its top level with "
            "`if __name__ == \"__main__\":` (or pass mp_context='fork')"
        ) from exc


def bootstrap_refits(
    structure: ModelStructure,
    data: np.ndarray,
    theta0: np.ndarray,
    *,
    n_resamples: int,
    seed: int,
    chunk_size: int,
    chunk_fitter: ChunkFitter = fit_chunk,
    n_jobs: int = 1,
    progress: Callable[[BootstrapProgress], None] | None = None,
    mp_context: str = "spawn",
    max_failure_rate: float | None = None,
) -> BootstrapRefits:
    """Draw ``n_resamples`` bootstrap resamples of the rows of ``data`` and refit each one.

    The nonparametric bootstrap (Efron & Tibshirani 1993, ch. 6): resample
    ``b`` takes ``n`` rows of ``data`` uniformly with replacement and the
    model is refitted to it from ``theta0``.  Resample ``j`` of chunk ``k``
    is row ``j`` of :func:`chunk_indices` on child ``k`` of
    ``np.random.SeedSequence(seed).spawn(n_chunks)``; the chunks have
    :func:`chunk_sizes` ``(n_resamples, chunk_size)``.  The results are
    therefore the same for every ``n_jobs`` and start method.  Modelled on
    lavaan's ``lav_bootstrap_internal`` (``lav_bootstrap.R``), which refits
    and records every draw and leaves the statistic to the caller.

    Parameters
    ----------
    structure : ModelStructure
        Passed to ``chunk_fitter`` as is; the engine does not look into it.
    data : np.ndarray, shape (n, p)
        Full sample (NaN for missing values if ``chunk_fitter`` accepts them).
    theta0 : np.ndarray, shape (q,)
        Warm start of every refit (the full-sample estimates).
    n_resamples : int
        Number of resamples (``>= 1``).
    seed : int
        Root of the chunks' random streams (``>= 0``).
    chunk_size : int
        Resamples per chunk and random stream; it fixes the resamples, so
        keep it constant to reproduce a run.
    chunk_fitter : ChunkFitter, default :func:`fit_chunk`
        Refits one chunk.  Must be picklable (a module-level function or an
        instance such as :class:`FimlChunkFitter`) for ``n_jobs > 1``.
    n_jobs : int, default 1
        Worker processes (1: every chunk in this process); never more than
        the chunks (a single chunk runs in this process).
    progress : callable, optional
        Called with a :class:`BootstrapProgress` after every chunk (progress
        is also logged at INFO level).
    mp_context : str, default "spawn"
        multiprocessing start method for ``n_jobs > 1``.  With ``spawn`` (and
        ``forkserver``) the calling script's top level is re-imported in the
        workers, so it must be guarded by ``if __name__ == "__main__":``;
        scripts that cannot be guarded may pass ``"fork"`` (POSIX only).
    max_failure_rate : float, optional
        Stop early, raising :class:`BootstrapFailure`, when more than this
        share of the first :data:`EARLY_STOP_RESAMPLES` resamples fails
        (the config's ``structural.max_failure_rate``); None never stops.

    Returns
    -------
    BootstrapRefits
        Every resample, converged or not, in draw order.

    Raises
    ------
    SpecError
        Invalid counts, seed or start method.
    EstimationError
        A worker process died, or the chunk fitter returned wrong shapes;
        :class:`BootstrapFailure` on an early stop.
    """
    n_resamples = check_count("n_resamples", n_resamples)
    seed = check_seed(seed)
    chunk_size = check_count("chunk_size", chunk_size)
    n_jobs = check_count("n_jobs", n_jobs)
    sizes = chunk_sizes(n_resamples, chunk_size)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    tasks = [(k, streams[k], sizes[k], structure, data, theta0, chunk_fitter) for k in range(len(sizes))]
    collector = _Collector(sizes, progress, max_failure_rate)
    ctx = _start_context(mp_context) if n_jobs > 1 else None
    n_jobs = min(n_jobs, len(sizes))
    if ctx is None or n_jobs == 1:
        _run_in_process(tasks, collector)
    else:
        _run_in_workers(tasks, collector, n_jobs, ctx)
    thetas, status = collector.in_draw_order()
    failures = dict(Counter(s for s in status if s != CONVERGED))
    return BootstrapRefits(thetas=thetas, status=status, failures=failures, seed=seed, chunk_size=chunk_size)
