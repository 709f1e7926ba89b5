"""bootstrap."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from xhs_sharing.errors import SpecError
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.estimation import MAX_ITER, XTOL, solve_ml
from xhs_sharing.sem.model import ModelStructure
from xhs_sharing.sem.mvnorm_missing import MissingData, fiml_solve
from xhs_sharing.sem.objectives import sample_covariance

logger = logging.getLogger(__name__)

__all__ = [
    "FimlChunkFitter",
    "RefitOutcome",
    "fit_chunk",
    "refit_resample",
    "refit_resample_fiml",
]






#: Resample outcomes.
CONVERGED: Final = "converged"


NONCONVERGED: Final = "nonconverged"


IMPROPER: Final = "improper"


SINGULAR_DATA: Final = "singular_data"


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
    """Signature of a chunk fitter (the batched estimator implements this)."""

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

    The chunk fitter of :func:`bootstrap_indirect` for data with missing
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


def _blas_single_thread() -> AbstractContextManager[object]:
    """Context limiting BLAS to one thread (threadpoolctl, if installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional dependency
        return nullcontext()
    return threadpool_limits(limits=1)


def _init_worker() -> None:
    """Limit BLAS to one thread in a worker (covers forked workers too)."""
    _blas_single_thread()
