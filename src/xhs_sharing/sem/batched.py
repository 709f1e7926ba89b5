"""Fit one latent SEM to many covariance matrices at once.

Bootstrap resamples and Monte Carlo replications refit the *same* model
thousands of times; only the sample covariance matrix changes. This module
takes the model's :class:`~xhs_sharing.sem.model.ModelStructure` (the
matrices ``B``, ``Lambda``, ``Psi``, ``Theta`` and the free-parameter vector,
in the order every other estimator of the package uses) and minimises the ML
discrepancy (:mod:`xhs_sharing.sem.objectives`)

    F(theta; S) = log|Sigma| + tr(S Sigma^-1) - log|S| - p,
    Sigma = Lambda C Psi C' Lambda' + Theta,   C = (I - B)^-1,

for a whole stack of sample covariances ``S`` (N divisor) with array
operations.

The steps are quasi-Newton steps on the expected information with step
halving (below); the single-sample :func:`~xhs_sharing.sem.estimation.solve_ml`
is Fisher scoring on the same information. Every derivative of Sigma with
respect to one matrix entry is a symmetric rank-two matrix ``s (u v' + v
u')`` whose vectors ``u, v`` are columns of ``I_p``, ``M = Lambda C`` or
``G = Lambda C Psi C'`` (``s = 1/2`` for a diagonal entry of Psi or Theta).
With ``K = Sigma^-1`` and the pool ``P = [I | M | G]`` the expected
information and the gradient reduce to entries of the two small matrices
``P'KP`` and ``P'(K - KSK)P``:

    H_ij = tr(K Sigma_i K Sigma_j) = 2 s_i s_j [(u_i'Ku_j)(v_i'Kv_j) + (u_i'Kv_j)(v_i'Ku_j)]
    g_i  = tr((K - KSK) Sigma_i)   = 2 s_i v_i'(K - KSK)u_i

so no ``q x p x p`` derivative array is ever formed. ``H`` is the unit
information of ``F`` (the Fisher information of a sample of ``n`` rows is
``n/2 H``), so ``theta - H^-1 g`` is a Fisher-scoring step for ``F``.
``P'XP`` is built from ``X`` itself (the identity block), ``XF`` and
``F'XF`` with ``F = [M | G]`` and the entries are gathered at positions
fixed once per model, so the information costs ``O(p^2 m + q^2)`` per
member. When Theta is diagonal, ``K`` and ``log|Sigma|`` come from
Woodbury's identity on the ``m x m`` capacitance
(:meth:`BatchedModel._inverse_by_woodbury`), not from a ``p x p``
factorisation.

By default (``memory = LBFGS_MEMORY``, the setting of every batched fit of
the package: bootstrap, Monte Carlo study, robustness grid) the steps are
limited-memory BFGS steps (Nocedal & Wright 2006, sec. 7.2) whose initial
matrix is the inverse information, one matrix for the whole batch at the
common start (the full-sample estimates, or the population values of the
Monte Carlo study): a step then costs a gradient, no information at all
(issue 14). ``memory = 0`` gives Fisher scoring:

Fisher scoring converges linearly (here ~0.25 per step for bootstrap
resamples). The information changes little once the iterates have settled,
so it is recomputed only at a member's first iterates (at the common start
it is one matrix for the whole batch) and after a step that needed halving;
the inverse (as an inverse Cholesky factor) is reused in between, which
leaves the rate unchanged and makes a step cost O(p^3 + q^2) per member.
``info_refresh`` large gives textbook Fisher scoring. The batch is processed
in chunks (bounded memory), chunks in parallel threads.

Each member of the batch is tested on its own (``max |g| < tol``) and leaves
the working set when it passes. Members that do not converge within
``max_iter`` steps, or whose start is inadmissible, are refitted one at a
time by :func:`~xhs_sharing.sem.estimation.solve_ml` (unbounded Fisher
scoring to ``xtol``, the rule of the one-by-one bootstrap); if that fails too
they are reported as failed (``params`` NaN). Every converged member is
screened for an improper solution by the vectorised check of
:mod:`xhs_sharing.sem.checks` (``BatchFit.proper``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from xhs_sharing.errors import DataError, EstimationError
from xhs_sharing.sem.bootstrap import CONVERGED, IMPROPER, NOT_REFITTED, refit_resample
from xhs_sharing.sem.checks import check_matrices
from xhs_sharing.sem.estimation import solve_ml
from xhs_sharing.sem.linalg import cholesky_stack, keep_freed_memory, logdet_from_cholesky, tri_inv
from xhs_sharing.sem.model import BETA, LAMBDA, PSI, THETA, ModelStructure
from xhs_sharing.sem.objectives import ml_from_factors
from xhs_sharing.sem.resample import counts_from_indices, resample_covariances
from xhs_sharing.sem.standardize import inverse_i_minus_b

log = logging.getLogger(__name__)

#: Quasi-Newton pairs per member on top of the information: the solver of every batched ML fit
#: (bootstrap, Monte Carlo, robustness grid; issue 14). 0 gives Fisher scoring.
LBFGS_MEMORY = 10

#: Iterates at which a member's information is recomputed: 1 keeps the information at the
#: common start for the whole fit (the quasi-Newton pairs do the rest).
INFO_REFRESH = 1

__all__ = [
    "INFO_REFRESH",
    "LBFGS_MEMORY",
    "BatchFit",
    "BatchedChunkFitter",
    "BatchedModel",
]


@dataclass
class BatchFit:
    """Result of :meth:`BatchedModel.fit_batch` for a stack of ``B`` covariances.

    ``params`` is ``(B, q)`` in the structure's parameter order (``names``,
    lavaan spelling in ``labels``), NaN for failed members. ``converged`` is
    True when the member converged, by the batched Fisher scoring or by the
    one-by-one refit; ``failed`` is its complement. ``refitted`` marks
    members that went to the one-by-one refit. ``proper`` is True for a
    converged member whose solution passes the improper-solution check
    (:mod:`xhs_sharing.sem.checks`). ``fmin`` is ``F_ML`` at the solution
    (``chi2 = n * fmin``); ``n_iter`` the number of Fisher-scoring steps.
    ``se`` (``(B, q)``, only when requested) are expected-information
    standard errors for a sample of ``n`` rows.
    """

    params: np.ndarray
    converged: np.ndarray
    failed: np.ndarray
    fmin: np.ndarray
    n_iter: np.ndarray
    refitted: np.ndarray
    names: tuple[str, ...]
    n: np.ndarray
    se: np.ndarray | None = None
    max_abs_grad: np.ndarray = field(default_factory=lambda: np.empty(0))
    proper: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    labels: tuple[str, ...] = ()

    @property
    def refit_count(self) -> int:
        """How many members were refitted one by one."""
        return int(self.refitted.sum())

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def n_converged(self) -> int:
        return int(self.converged.sum())

    @property
    def chi2(self) -> np.ndarray:
        """Likelihood-ratio statistics ``n * fmin``."""
        return self.n * self.fmin

    def frame(self) -> pd.DataFrame:
        """The estimates as a ``(B, q)`` DataFrame, columns named lavaan-style (``"WSI ~ SN"``)."""
        return pd.DataFrame(self.params, columns=list(self.labels or self.names))


def _inv_chol_factor(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X = L^-1`` for ``h = L L'`` (so ``h^-1 = X' X``); NaN where ``h`` is not PD."""
    L, ok = cholesky_stack(h)
    X = tri_inv(L)
    X[~ok] = np.nan
    return X, ok


def _se_from_info(H: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``sqrt(diag((n/2 H)^-1))`` per member; NaN where ``H`` is not PD."""
    X, good = _inv_chol_factor(H)
    var = (X * X).sum(axis=1) / (n[:, None] / 2.0)  # diag(H^-1) = column sums of X^2
    var[~good] = np.nan
    return np.sqrt(var)


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _PoolTerms:
    """Each free location as a term ``s (u v' + v u')`` with ``u, v`` columns of the pool ``[I | M | G]``."""

    iu: np.ndarray  # pool column of u, one per term
    iv: np.ndarray  # pool column of v
    sc: np.ndarray  # s: 1/2 on the diagonal of Psi and Theta, else 1
    agg: np.ndarray | None  # (terms, q) sums the terms of a parameter with several locations
    n_pool: int
    n_obs: int

    @classmethod
    def from_structure(cls, st: ModelStructure) -> _PoolTerms:
        p, m = st.n_observed, st.n_inner
        e, mm, g = 0, p, p + m  # offsets of I, M and G in the pool
        iu, iv, sc = [], [], []
        for kind, r, c in zip(st.loc_matrix, st.loc_row, st.loc_col, strict=True):
            if kind == BETA:
                u, v, s = mm + r, g + c, 1.0
            elif kind == LAMBDA:
                u, v, s = e + r, g + c, 1.0
            else:
                off = mm if kind == PSI else e
                u, v, s = off + r, off + c, (0.5 if r == c else 1.0)
            iu.append(u)
            iv.append(v)
            sc.append(s)
        n_terms, q = len(iu), st.n_params
        agg = None
        if not (n_terms == q and np.array_equal(st.loc_param, np.arange(q))):
            agg = np.zeros((n_terms, q))
            agg[np.arange(n_terms), st.loc_param] = 1.0
        return cls(np.array(iu, dtype=np.intp), np.array(iv, dtype=np.intp), np.array(sc), agg, p + 2 * m, p)

    def _packed(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Positions of ``a' X b`` (pool columns ``a, b``) in the packed ``P'XP`` of :meth:`BatchedModel._pool_quadratic`.

        The pack is ``[X (p x p) | XF (p x 2m) | F'XF (2m x 2m)]`` flattened;
        ``F'X`` entries are read from ``XF`` (``X`` symmetric).
        """
        p, m2 = self.n_obs, self.n_inner2
        a, b = np.broadcast_arrays(a, b)
        lo, hi = np.minimum(a, b), np.maximum(a, b)  # X symmetric: one I column reads XF
        out = np.where(hi < p, a * p + b, p * p + lo * m2 + (hi - p))  # in X, or in XF
        out = np.where(lo >= p, p * p + p * m2 + (a - p) * m2 + (b - p), out)  # in F'XF
        return out.astype(np.intp)

    @property
    def n_inner2(self) -> int:
        """Columns of ``F = [M | G]``."""
        return self.n_pool - self.n_obs

    @cached_property
    def idx_g(self) -> np.ndarray:
        """Positions of ``v' R u`` in the packed ``P' R P``."""
        return self._packed(self.iv, self.iu)

    def _pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Packed positions of ``a_i' X b_j`` for every pair of terms ``(i, j)``, ``(terms^2,)``."""
        return self._packed(a[:, None], b[None, :]).ravel()

    @cached_property
    def idx_uu(self) -> np.ndarray:
        return self._pairs(self.iu, self.iu)

    @cached_property
    def idx_vv(self) -> np.ndarray:
        return self._pairs(self.iv, self.iv)

    @cached_property
    def idx_uv(self) -> np.ndarray:
        return self._pairs(self.iu, self.iv)

    @cached_property
    def idx_vu(self) -> np.ndarray:
        return self._pairs(self.iv, self.iu)

    @cached_property
    def scale_h(self) -> np.ndarray:
        """``2 s_i s_j`` flattened, the factor of every information entry."""
        return (2.0 * self.sc[:, None] * self.sc[None, :]).ravel()


@dataclass
class _Core:
    """Sigma's building blocks at a stack of points: ``M``, ``G``, ``K = Sigma^-1``, ``log|Sigma|``."""

    M: np.ndarray
    G: np.ndarray
    K: np.ndarray
    logdet: np.ndarray
    ok: np.ndarray  # False where Sigma is not PD (or the point not finite)

    def take(self, sel: np.ndarray) -> _Core:
        return _Core(self.M[sel], self.G[sel], self.K[sel], self.logdet[sel], self.ok[sel])

    def empty(self, nb: int) -> _Core:
        def like(a: np.ndarray) -> np.ndarray:
            return np.empty((nb, *a.shape[1:]), dtype=a.dtype)

        return _Core(like(self.M), like(self.G), like(self.K), like(self.logdet), like(self.ok))

    def put(self, rows: np.ndarray, other: _Core, sel: np.ndarray) -> None:
        for name in ("M", "G", "K", "logdet", "ok"):
            getattr(self, name)[rows] = getattr(other, name)[sel]


@dataclass(frozen=True)
class _Options:
    """Settings of one :meth:`BatchedModel.fit_batch` call (see its docstring)."""

    tol: float
    max_iter: int
    max_halvings: int
    want_se: bool
    info_refresh: int
    h0inv: np.ndarray | None  # inverse of the information at a common start
    memory: int = 0  # quasi-Newton pairs kept per member (0: Fisher scoring)


class _Outputs:
    """Result arrays shared by the chunks (each chunk writes its own rows)."""

    def __init__(self, nb: int, q: int, want_se: bool, n_all: np.ndarray) -> None:
        self.params = np.full((nb, q), np.nan)
        self.fmin = np.full(nb, np.nan)
        self.n_iter = np.zeros(nb, dtype=np.int64)
        self.converged = np.zeros(nb, dtype=bool)
        self.gmax = np.full(nb, np.nan)
        self.se = np.full((nb, q), np.nan) if want_se else None
        self.n_all = n_all
        self.to_refit: list[tuple[int, np.ndarray | None]] = []  # list.append is atomic


@dataclass
class _Working:
    """The members of a chunk still iterating, with their state (rows aligned)."""

    idx: np.ndarray  # chunk-local member ids
    th: np.ndarray
    S: np.ndarray
    lds: np.ndarray  # log|S|
    f: np.ndarray
    core: _Core
    it: np.ndarray
    pre: _Precond  # the inverse information in use
    refresh: np.ndarray  # recompute the information at the next step
    pairs: _Pairs | None = None  # quasi-Newton memory (None: plain Fisher scoring)

    def keep(self, mask: np.ndarray) -> _Working:
        return _Working(self.idx[mask], self.th[mask], self.S[mask], self.lds[mask], self.f[mask],
                        self.core.take(mask), self.it[mask], self.pre.take(mask), self.refresh[mask], None if self.pairs is None else self.pairs.take(mask))


@dataclass
class _Pairs:
    """Limited-memory BFGS pairs of every working member (Nocedal & Wright 2006, sec. 7.2).

    ``s[:, k]``, ``y[:, k]`` are the step and the change of the gradient of
    update ``k`` (oldest first); ``rho[:, k] = 1 / s'y``, 0 for an unused
    slot, which makes the slot a no-op in :meth:`direction`. ``g_prev`` and
    ``last`` are the gradient at the previous iterate and the step taken
    from it (zero for a member without one).
    """

    s: np.ndarray  # (B, m, q)
    y: np.ndarray  # (B, m, q)
    rho: np.ndarray  # (B, m)
    g_prev: np.ndarray  # (B, q)
    last: np.ndarray  # (B, q)

    @classmethod
    def empty(cls, nb: int, q: int, memory: int) -> _Pairs:
        return cls(np.zeros((nb, memory, q)), np.zeros((nb, memory, q)), np.zeros((nb, memory)),
                   np.zeros((nb, q)), np.zeros((nb, q)))

    def take(self, mask: np.ndarray) -> _Pairs:
        return _Pairs(self.s[mask], self.y[mask], self.rho[mask], self.g_prev[mask], self.last[mask])

    def add(self, g: np.ndarray, fresh: np.ndarray) -> None:
        """Store the pair of the last step where ``s'y > 0`` (the curvature condition), not for ``fresh``.

        A member whose memory is full drops its oldest pair.
        """
        yv = g - self.g_prev
        sy = np.einsum("bi,bi->b", self.last, yv)
        size = np.sqrt(np.einsum("bi,bi->b", self.last, self.last) * np.einsum("bi,bi->b", yv, yv))
        ok = (sy > 1e-12 * size) & (size > 0) & ~fresh & np.isfinite(sy)
        if ok.any():
            used = (self.rho > 0).sum(axis=1)
            full = ok & (used == self.rho.shape[1])
            if full.any():
                for a in (self.s, self.y, self.rho):
                    a[full] = np.roll(a[full], -1, axis=1)
                used[full] -= 1
            b = np.flatnonzero(ok)
            self.s[b, used[b]] = self.last[b]
            self.y[b, used[b]] = yv[b]
            self.rho[b, used[b]] = 1.0 / sy[b]
        self.g_prev = g.copy()

    def reset(self, mask: np.ndarray) -> None:
        self.rho[mask] = 0.0

    def direction(self, h0: Callable[[np.ndarray], np.ndarray], g: np.ndarray) -> np.ndarray:
        """``H_k g`` by the two-loop recursion from ``H_0`` (N&W Algorithm 7.4); ``h0(v)`` applies ``H_0`` to rows ``v``."""
        v = g.copy()
        n_used = int((self.rho > 0).sum(axis=1).max(initial=0))
        alpha = np.zeros((g.shape[0], n_used))
        for k in range(n_used - 1, -1, -1):
            alpha[:, k] = self.rho[:, k] * np.einsum("bi,bi->b", self.s[:, k], v)
            v -= alpha[:, k, None] * self.y[:, k]
        r = h0(v)
        for k in range(n_used):
            beta = self.rho[:, k] * np.einsum("bi,bi->b", self.y[:, k], r)
            r += (alpha[:, k] - beta)[:, None] * self.s[:, k]
        return r


@dataclass
class _Precond:
    """The inverse information each working member steps with.

    ``shared`` is one ``(q, q)`` inverse for every member (the information
    at a common start), applied to the whole stack in one matrix product;
    a member with ``has_own`` uses its own inverse Cholesky factor
    ``own[b]`` (``H^-1 = own' own``) instead. ``own`` is only allocated
    once some member needs one.
    """

    shared: np.ndarray | None
    own: np.ndarray | None
    has_own: np.ndarray

    @property
    def have(self) -> np.ndarray:
        """``(B,)``: the member has an inverse to step with."""
        return self.has_own | (self.shared is not None)

    def take(self, mask: np.ndarray) -> _Precond:
        return _Precond(self.shared, None if self.own is None else self.own[mask], self.has_own[mask])

    def set(self, rows: np.ndarray, factors: np.ndarray) -> None:
        """Give the members ``rows`` (boolean) their own inverse Cholesky factors."""
        if self.own is None:
            self.own = np.zeros((len(self.has_own), *factors.shape[1:]))
        self.own[rows] = factors
        self.has_own |= rows

    def apply(self, v: np.ndarray) -> np.ndarray:
        """``H^-1 v`` for every row of ``v`` ``(B, q)``."""
        out = v @ self.shared if self.shared is not None else np.empty_like(v)
        if self.has_own.any():
            r = self.has_own
            X = self.own[r]
            out[r] = (np.swapaxes(X, 1, 2) @ (X @ v[r][:, :, None]))[:, :, 0]
        return out


def _theta_is_diagonal(st: ModelStructure) -> bool:
    """No residual covariance, free or fixed: Theta is diagonal at every parameter value."""
    tmpl = np.asarray(st.templates[3])
    off_free = np.any((st.loc_matrix == THETA) & (st.loc_row != st.loc_col))
    return not off_free and not np.any(tmpl - np.diag(np.diagonal(tmpl)))


def _inverse_sigma(G: np.ndarray, lam: np.ndarray, theta: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(K = Sigma^-1, log|Sigma|, ok)`` of ``Sigma = G Lambda' + Theta`` by its Cholesky factor."""
    sigma = G @ np.swapaxes(lam, 1, 2)
    sigma += np.swapaxes(sigma, 1, 2)
    sigma *= 0.5
    sigma += theta
    L, ok = cholesky_stack(sigma)
    X = tri_inv(L)
    return np.swapaxes(X, 1, 2) @ X, logdet_from_cholesky(L), ok


class BatchedModel:
    """A :class:`~xhs_sharing.sem.model.ModelStructure` prepared for batched ML estimation.

    Build it from a structure (``BatchedModel(structure, start=...)``; the
    default start is ``structure.start``, semopy's starting values) or from a
    fit (:meth:`from_fit`: the full-sample estimates become the start). The
    parameter vector is the structure's: ``names[i]`` is column ``i`` of
    every ``params`` array and :meth:`index` finds it from lavaan notation.
    """

    def __init__(self, structure: ModelStructure, start: np.ndarray | None = None) -> None:
        self.structure = structure
        self.observed: tuple[str, ...] = structure.observed
        self.inner: tuple[str, ...] = structure.inner
        self.names: tuple[str, ...] = structure.param_names
        self.p, self.m, self.q = structure.n_observed, structure.n_inner, structure.n_params
        default = structure.start if structure.start is not None else np.zeros(self.q)
        self.start = np.array(default if start is None else start, dtype=np.float64, copy=True)
        if self.start.shape != (self.q,):
            raise EstimationError(f"start must have {self.q} values, got shape {self.start.shape}")
        self._terms = _PoolTerms.from_structure(structure)
        self._idx_g = self._terms.idx_g
        self._scale_g = 2.0 * self._terms.sc
        self._eye_m = np.eye(self.m)
        self._diag_p = np.arange(self.p)
        self._woodbury = _theta_is_diagonal(structure)

    @classmethod
    def from_fit(cls, fit: Any) -> BatchedModel:
        """The model of a fit result (``structure``, ``theta``), started at its estimates."""
        return cls(fit.structure, start=fit.theta)

    def index(self, lhs: str, op: str, rhs: str) -> int:
        """Column of ``params`` holding the free parameter ``lhs op rhs`` (lavaan notation)."""
        return self.structure.param_index(lhs, op, rhs)

    # -------------------------------------------------------------- algebra

    def matrices(self, params: np.ndarray, covs: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Batched ``(B, Lambda, Psi, Theta)``, each with a leading axis.

        The fixed (co)variances of observed exogenous variables
        (:attr:`~xhs_sharing.sem.model.ModelStructure.sample_fixed`) are taken
        from each member's covariance matrix when ``covs`` is given (as a
        fresh fit of that sample would), otherwise from the data the
        structure was built on.
        """
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        b, lam, psi, theta = self.structure.matrices(th)
        if covs is not None and self.structure.sample_fixed:
            S = np.broadcast_to(covs, (th.shape[0], self.p, self.p))
            for i, j, k, l in self.structure.sample_fixed:
                psi[:, i, j] = S[:, k, l]
                psi[:, j, i] = S[:, l, k]
        return b, lam, psi, theta

    def _core(self, th: np.ndarray, S: np.ndarray | None = None) -> _Core:
        """Sigma's building blocks, ``K = Sigma^-1`` and ``log|Sigma|``; ``ok`` false where Sigma is not PD."""
        beta, lam, psi, theta = self.matrices(th, S)
        ok = np.all(np.isfinite(th), axis=1)
        depth = self.structure.beta_depth
        if depth == 0:
            M = lam
            G = lam @ psi
        else:
            C = inverse_i_minus_b(beta, depth)
            if depth is None:
                ok &= np.all(np.isfinite(C), axis=(1, 2))
            M = lam @ C
            G = M @ (psi @ np.swapaxes(C, 1, 2))
        if self._woodbury:
            K, logdet, fast = self._inverse_by_woodbury(M, psi, theta)
            if not fast.all():
                slow = ~fast
                K[slow], logdet[slow], pd_ok = _inverse_sigma(G[slow], lam[slow], theta[slow])
                ok[slow] &= pd_ok
        else:
            K, logdet, pd_ok = _inverse_sigma(G, lam, theta)
            ok &= pd_ok
        return _Core(M, G, K, logdet, ok)

    def _inverse_by_woodbury(self, M: np.ndarray, psi: np.ndarray, theta: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(K, log|Sigma|, ok)`` for ``Sigma = D + N N'``, ``D = diag(Theta)``, ``N = M L_Psi``.

        Woodbury's identity (Golub & Van Loan 2013, sec. 2.1.4) with the
        ``m x m`` capacitance ``A = I + N'D^-1 N = L_A L_A'``:

            K = D^-1 - Y'Y,   Y = L_A^-1 N' D^-1,    log|Sigma| = sum log d_i + log|A|,

        ``O(p^2 m)`` instead of the ``O(p^3)`` Cholesky factorisation of
        Sigma. Only for a diagonal Theta (checked once); ``ok`` is False
        where Psi is not positive definite or a residual variance is not
        positive (Sigma may still be PD there: the caller factors it directly).
        """
        d = np.diagonal(theta, axis1=1, axis2=2)
        Lp, ok = cholesky_stack(psi)
        ok &= np.all(d > 0, axis=1)
        d = np.where(ok[:, None], d, 1.0)
        N = M @ Lp
        Nd = N / d[:, :, None]
        A = np.swapaxes(N, 1, 2) @ Nd
        A += self._eye_m
        La, a_ok = cholesky_stack(A)
        ok &= a_ok
        Y = tri_inv(La) @ np.swapaxes(Nd, 1, 2)
        K = np.swapaxes(Y, 1, 2) @ Y
        np.negative(K, out=K)
        K[:, self._diag_p, self._diag_p] += 1.0 / d
        return K, np.log(d).sum(axis=1) + logdet_from_cholesky(La), ok

    def _fval(self, core: _Core, S: np.ndarray, logdet_s: np.ndarray) -> np.ndarray:
        f = ml_from_factors(core.logdet, core.K, S, logdet_s)
        f[~core.ok] = np.inf
        return f

    def _gradient_from_core(self, core: _Core, S: np.ndarray) -> np.ndarray:
        """``g_t = 2 s_t v_t' (K - KSK) u_t``: entries of ``P'(K - KSK)P``."""
        K = core.K
        return self._gradient_from_weight(core, K - K @ S @ K)

    def _pool_quadratic(self, core: _Core, X: np.ndarray) -> np.ndarray:
        """``P'XP`` for symmetric ``X`` ``(B, p, p)`` and the pool ``P = [I | M | G]``, packed ``(B, .)``.

        The identity block needs no product: ``P'XP = [[X, XF], [F'X, F'XF]]``
        with ``F = [M | G]`` (``p x 2m``), two products of ``p x p`` by ``p x
        2m`` size instead of ``(p + 2m)^2 p``. Packed as ``[X | XF | F'XF]``
        flattened (``_PoolTerms`` holds the positions of the entries used).
        """
        nb, p, m2 = X.shape[0], self.p, 2 * self.m
        F = np.concatenate([core.M, core.G], axis=2)
        out = np.empty((nb, p * p + p * m2 + m2 * m2))
        out[:, : p * p] = X.reshape(nb, -1)
        XF = out[:, p * p : p * p + p * m2].reshape(nb, p, m2)
        np.matmul(X, F, out=XF)
        np.matmul(np.swapaxes(F, 1, 2), XF, out=out[:, p * p + p * m2 :].reshape(nb, m2, m2))
        return out

    def _gradient_from_weight(self, core: _Core, R: np.ndarray) -> np.ndarray:
        """``g_t = tr(R dSigma_t) = 2 s_t v_t' R u_t`` for symmetric ``R`` ``(B, p, p)``: entries of ``P'RP``.

        ML has ``R = K - KSK``; FIML the weight ``W`` of
        :mod:`xhs_sharing.sem.fiml_batched`.
        """
        g = np.take(self._pool_quadratic(core, R), self._idx_g, axis=1)
        g *= self._scale_g
        if self._terms.agg is not None:
            g = g @ self._terms.agg
        return g

    def _info_from_core(self, core: _Core) -> np.ndarray:
        """``H_ij = 2 s_i s_j [A(u_i,u_j) A(v_i,v_j) + A(u_i,v_j) A(v_i,u_j)]`` with ``A = P'KP``.

        Every term's vectors are pool columns, so the ``q x q`` information
        is gathered from the ``(p + 2m)^2`` entries of ``A``: no ``q x p x q``
        product (issue 14).
        """
        t = self._terms
        nb = core.K.shape[0]
        A = self._pool_quadratic(core, core.K)
        H = np.take(A, t.idx_uu, axis=1)
        H *= np.take(A, t.idx_vv, axis=1)
        C = np.take(A, t.idx_uv, axis=1)
        C *= np.take(A, t.idx_vu, axis=1)
        H += C
        H *= t.scale_h
        H = H.reshape(nb, len(t.iu), len(t.iu))
        if t.agg is not None:
            H = t.agg.T @ H @ t.agg
        return H

    # ------------------------------------------------------ public algebra

    def implied_cov(self, params: np.ndarray, covs: np.ndarray | None = None) -> np.ndarray:
        """Model-implied covariance matrices ``(B, p, p)`` (observed order)."""
        b, lam, psi, theta = self.matrices(params, covs)
        M = lam @ inverse_i_minus_b(b)
        return M @ psi @ np.swapaxes(M, 1, 2) + theta

    def objective(self, params: np.ndarray, covs: np.ndarray) -> np.ndarray:
        """``F_ML`` of every member: ``inf`` where Sigma is not PD, NaN where S is not."""
        th, S = self._broadcast(params, covs)
        Ls, s_ok = cholesky_stack(S)
        f = self._fval(self._core(th, S), S, logdet_from_cholesky(Ls))
        f[~s_ok] = np.nan
        return f

    def gradient(self, params: np.ndarray, covs: np.ndarray) -> np.ndarray:
        """Analytic gradient of ``F_ML``, ``(B, q)``."""
        th, S = self._broadcast(params, covs)
        core = self._core(th, S)
        g = self._gradient_from_core(core, S)
        g[~core.ok] = np.nan
        return g

    def information(self, params: np.ndarray, covs: np.ndarray | None = None) -> np.ndarray:
        """Unit expected information ``H_ij = tr(K Sigma_i K Sigma_j)``, ``(B, q, q)``.

        The Fisher information of ``n`` rows is ``n / 2 * H``; ``H`` is also
        the expected Hessian of ``F_ML``.
        """
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        if covs is not None:
            th, covs = self._broadcast(th, covs)
        core = self._core(th, covs)
        H = self._info_from_core(core)
        H[~core.ok] = np.nan
        return H

    def standard_errors(
        self, params: np.ndarray, n: float | np.ndarray, covs: np.ndarray | None = None
    ) -> np.ndarray:
        """Expected-information standard errors, ``sqrt(diag((n/2 H)^-1))``, ``(B, q)``."""
        H = self.information(params, covs)
        return _se_from_info(H, np.broadcast_to(np.asarray(n, dtype=np.float64), H.shape[:1]))

    def proper(self, params: np.ndarray, covs: np.ndarray | None = None) -> np.ndarray:
        """``(B,)``: no improper-solution condition (:mod:`xhs_sharing.sem.checks`) at ``params``."""
        return check_matrices(*self.matrices(params, covs)).proper

    def _broadcast(self, params: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        S = self._check_covs(covs)
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        if th.shape[1] != self.q:
            raise DataError(f"params must have {self.q} columns, got shape {th.shape}")
        nb = max(th.shape[0], S.shape[0])
        return np.broadcast_to(th, (nb, self.q)).copy(), np.broadcast_to(S, (nb, self.p, self.p))

    def _check_covs(self, covs: np.ndarray) -> np.ndarray:
        S = np.asarray(covs, dtype=np.float64)
        if S.ndim == 2:
            S = S[None]
        if S.ndim != 3 or S.shape[1:] != (self.p, self.p):
            raise DataError(f"covs must be (B, {self.p}, {self.p}) in the order of .observed, got shape {S.shape}")
        return S

    # ------------------------------------------------------------------ fit

    def fit_batch(
        self,
        covs: np.ndarray,
        n: int | float | np.ndarray,
        start: np.ndarray | None = None,
        tol: float = 1e-6,
        max_iter: int = 100,
        chunk_size: int = 128,
        se: bool = False,
        refit: bool = True,
        info_refresh: int = INFO_REFRESH,
        max_halvings: int = 30,
        n_threads: int | None = None,
        memory: int = LBFGS_MEMORY,
    ) -> BatchFit:
        """ML estimates for every covariance matrix of a stack.

        Parameters
        ----------
        covs : (B, p, p) sample covariances, N divisor, rows/columns in
            :attr:`observed` order.
        n : sample size of each member (scalar or (B,)): used for the standard
            errors and ``chi2 = n * fmin``.
        start : (q,) or (B, q) starting values; default :attr:`start` (the
            full-sample estimates for a model built by :meth:`from_fit`).
        tol : a member has converged when ``max |dF/dtheta| < tol``.
        max_iter : Fisher-scoring steps per member before it is refitted one by one.
        chunk_size : members processed together; memory is about
            ``chunk_size * 6 * q^2 * 8`` bytes per thread at the peak.
        se : also return expected-information standard errors (for a sample of
            ``n`` rows; meaningful for independent data sets, e.g. Monte Carlo
            replications, not for bootstrap resamples).
        refit : refit non-converged members one by one with
            :func:`~xhs_sharing.sem.estimation.solve_ml` (otherwise they are
            only reported as failed).
        info_refresh : the expected information is recomputed (and inverted)
            at each member's first ``info_refresh`` iterates, after a step that
            needed halving; otherwise the last inverse is reused, which leaves the
            linear rate of Fisher scoring unchanged once the iterates have
            settled. ``info_refresh >= max_iter`` with ``memory=0`` gives
            textbook Fisher scoring (information at every iterate). Default
            :data:`INFO_REFRESH`.
        max_halvings : step halvings before a member is refitted one by one.
        n_threads : chunks fitted in parallel threads (numpy releases the GIL
            in its array kernels); default: the CPUs available, at most 2.
        memory : limited-memory BFGS pairs per member on top of the
            information (Nocedal & Wright 2006, sec. 7.2); default
            :data:`LBFGS_MEMORY`, the solver of every batched fit of the
            package; 0 gives Fisher scoring (the solver before issue 14).
        """
        keep_freed_memory()
        S_all = self._check_covs(covs)
        nb = S_all.shape[0]
        n_arr = np.broadcast_to(np.asarray(n, dtype=np.float64), (nb,)).copy()
        st, common_start = self._starts(start, nb)
        if chunk_size < 1 or max_iter < 0 or tol <= 0:
            raise DataError("fit_batch needs chunk_size >= 1, max_iter >= 0 and tol > 0")
        opts = _Options(tol=tol, max_iter=max_iter, max_halvings=max_halvings, want_se=se,
                        info_refresh=info_refresh, memory=max(0, int(memory)),
                        h0inv=self._shared_information(st[0]) if common_start and nb else None)
        out = _Outputs(nb, self.q, se, n_arr)
        self._run_chunks(S_all, st, out, opts, chunk_size, n_threads)
        refitted = np.zeros(nb, dtype=bool)
        for b, x0 in sorted(out.to_refit, key=lambda t: t[0]):
            refitted[b] = True
            if refit:
                self._refit_member(b, S_all[b], (x0, st[b]), out)
        return self._result(S_all, out, refitted)

    def _starts(self, start: np.ndarray | None, nb: int) -> tuple[np.ndarray, bool]:
        """The ``(B, q)`` starts and whether they are one common start."""
        st = np.asarray(self.start if start is None else start, dtype=np.float64)
        if st.shape not in ((self.q,), (nb, self.q)):
            raise DataError(f"start must be ({self.q},) or ({nb}, {self.q}), got shape {st.shape}")
        common = st.ndim == 1
        return (np.broadcast_to(st, (nb, self.q)) if common else st), common

    def _shared_information(self, theta: np.ndarray) -> np.ndarray | None:
        """Inverse of the information at a common start (one matrix for the batch); None if not PD."""
        h0x, h_ok = _inv_chol_factor(self.information(theta))
        if not h_ok[0]:
            return None
        inv = h0x[0].T @ h0x[0]
        return 0.5 * (inv + inv.T)

    def _run_chunks(self, S_all: np.ndarray, st: np.ndarray, out: _Outputs, opts: _Options,
                    chunk_size: int, n_threads: int | None) -> None:
        nb = S_all.shape[0]
        chunks = [(lo, min(nb, lo + chunk_size)) for lo in range(0, nb, chunk_size)]
        if n_threads is None:
            n_threads = min(2, _available_cpus())
        n_threads = max(1, min(int(n_threads), len(chunks)))

        def run(bounds: tuple[int, int]) -> None:
            lo, hi = bounds
            self._fit_chunk(S_all[lo:hi], st[lo:hi], lo, out, opts)

        if n_threads == 1:
            for c in chunks:
                run(c)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(run, chunks))

    def _result(self, S_all: np.ndarray, out: _Outputs, refitted: np.ndarray) -> BatchFit:
        conv = out.converged
        failed = ~conv
        out.params[failed] = np.nan
        out.fmin[failed] = np.nan
        if out.se is not None:
            out.se[failed] = np.nan
        proper = np.zeros(len(conv), dtype=bool)
        if conv.any():
            proper[conv] = self.proper(out.params[conv], S_all[conv])
        return BatchFit(
            params=out.params, converged=conv, failed=failed, fmin=out.fmin, n_iter=out.n_iter,
            refitted=refitted, names=self.names, n=out.n_all, se=out.se, max_abs_grad=out.gmax,
            proper=proper, labels=self.structure.param_labels,
        )

    # -------------------------------------------------------- the iterations

    def _fit_chunk(self, S: np.ndarray, st: np.ndarray, offset: int, out: _Outputs, opts: _Options) -> None:
        """Fisher scoring with step halving for one chunk; results go into ``out``."""
        w = self._chunk_start(S, st, offset, out, opts)
        while len(w.idx):
            g = self._gradient_from_core(w.core, w.S)
            w, g = self._retire(w, g, offset, out, opts)
            if not len(w.idx):
                break
            step, slope = self._scoring_step(w, g, opts)
            nxt = self._line_search(w, step, slope, offset, out, opts)
            if nxt is None:  # every member lost
                break
            w = nxt

    def _chunk_start(self, S: np.ndarray, st: np.ndarray, offset: int, out: _Outputs,
                     opts: _Options) -> _Working:
        """The working set at the starts: members with a PD ``S`` and an admissible start."""
        # log|S|; a member whose S is not PD has no ML discrepancy at all
        Ls, s_ok = cholesky_stack(S)
        logdet_s = logdet_from_cholesky(Ls)
        for b in np.flatnonzero(~s_ok):
            log.warning("member %d: sample covariance is not positive definite; counted as failed", offset + b)
        idx = np.flatnonzero(s_ok)
        th = np.array(st[idx], dtype=np.float64)
        core = self._core(th, S[idx])
        f = self._fval(core, S[idx], logdet_s[idx])
        bad = ~np.isfinite(f)
        for b in idx[bad]:  # inadmissible start: straight to the one-by-one refit
            out.to_refit.append((offset + int(b), None))
        keep = ~bad
        nw = int(keep.sum())
        pre = _Precond(opts.h0inv, None, np.zeros(nw, dtype=bool))
        pairs = _Pairs.empty(nw, self.q, opts.memory) if opts.memory else None
        return _Working(idx[keep], th[keep], S[idx][keep], logdet_s[idx][keep], f[keep], core.take(keep),
                        np.zeros(nw, dtype=np.int64), pre, np.zeros(nw, dtype=bool), pairs)

    def _retire(self, w: _Working, g: np.ndarray, offset: int, out: _Outputs,
                opts: _Options) -> tuple[_Working, np.ndarray]:
        """Record the converged members, hand the stuck ones to the refit, keep the rest."""
        gm = np.max(np.abs(g), axis=1)
        done = gm < opts.tol
        stuck = ~done & ((w.it >= opts.max_iter) | ~np.isfinite(gm))
        if done.any():
            gl = offset + w.idx[done]
            out.params[gl] = w.th[done]
            out.fmin[gl] = w.f[done]
            out.n_iter[gl] = w.it[done]
            out.converged[gl] = True
            out.gmax[gl] = gm[done]
            if opts.want_se:
                out.se[gl] = _se_from_info(self._info_from_core(w.core.take(done)), out.n_all[gl])
        for j in np.flatnonzero(stuck):
            out.to_refit.append((offset + int(w.idx[j]), w.th[j].copy()))
        keep = ~(done | stuck)
        if keep.all():
            return w, g
        return w.keep(keep), g[keep]

    def _scoring_step(self, w: _Working, g: np.ndarray, opts: _Options) -> tuple[np.ndarray, np.ndarray]:
        """``step = -H^-1 g`` with the information refreshed where due; and the slope ``g'step``."""
        # expected information: fresh at the first iterates and after a step needed halving
        have = w.pre.have
        shared = (w.it == 0) & have
        upd = ~have | w.refresh | ((w.it < opts.info_refresh) & ~shared)
        if w.pairs is not None:
            w.pairs.add(g, upd | (w.it == 0))
        if upd.any():
            w.pre.set(upd, _inv_chol_factor(self._info_from_core(w.core.take(upd)))[0])
            if w.pairs is not None:
                w.pairs.reset(upd)
        step = -(w.pre.apply(g) if w.pairs is None else w.pairs.direction(w.pre.apply, g))
        return step, np.einsum("bi,bi->b", g, step)

    def _line_search(self, w: _Working, step: np.ndarray, slope: np.ndarray, offset: int,
                     out: _Outputs, opts: _Options) -> _Working | None:
        """Step halving until ``F`` decreases (Armijo, with room for rounding); the next working set.

        A member with a non-finite step, no descent (singular information) or
        no decrease after ``max_halvings`` halvings goes to the refit.
        """
        hopeless = ~np.isfinite(slope) | (slope >= 0)
        nw = len(w.idx)
        t = np.ones(nw)
        pending = np.flatnonzero(~hopeless)
        halved = np.zeros(nw, dtype=bool)
        new_th = new_f = new_core = None
        for n_halv in range(opts.max_halvings + 1):
            if not len(pending):
                break
            trial = w.th[pending] + t[pending, None] * step[pending]
            c_tr = self._core(trial, w.S[pending])
            f_tr = self._fval(c_tr, w.S[pending], w.lds[pending])
            slack = 1e-12 * (1.0 + np.abs(w.f[pending]))
            acc = np.isfinite(f_tr) & (f_tr <= w.f[pending] + 1e-4 * t[pending] * slope[pending] + slack)
            if n_halv == 0 and len(pending) == nw and acc.all():  # the usual case: full steps for all
                new_th, new_f, new_core = trial, f_tr, c_tr
                pending = pending[:0]
                break
            if new_core is None:
                new_th, new_f, new_core = w.th.copy(), np.full(nw, np.inf), c_tr.empty(nw)
            a = pending[acc]
            new_th[a] = trial[acc]
            new_f[a] = f_tr[acc]
            new_core.put(a, c_tr, acc)
            pending = pending[~acc]
            t[pending] *= 0.5
            halved[pending] = True
        lost = hopeless.copy()
        lost[pending] = True
        for j in np.flatnonzero(lost):
            out.to_refit.append((offset + int(w.idx[j]), w.th[j].copy()))
        if new_core is None:
            return None
        if w.pairs is not None:
            w.pairs.last = new_th - w.th
        nxt = _Working(w.idx, new_th, w.S, w.lds, new_f, new_core, w.it + 1, w.pre, halved, w.pairs)
        return nxt.keep(~lost) if lost.any() else nxt

    # --------------------------------------------------------------- refits

    def _refit_member(self, b: int, S: np.ndarray, starts: tuple[np.ndarray | None, np.ndarray],
                      out: _Outputs) -> None:
        """Refit member ``b`` by :func:`~xhs_sharing.sem.estimation.solve_ml`; results into ``out``.

        Tries the member's last iterate, its start, then ``structure.start``
        (semopy's starting values); the first converged solution counts.
        """
        structure = self.structure.with_sample_moments(S)
        candidates = [x for x in (*starts, structure.start) if x is not None and np.all(np.isfinite(x))]
        for x0 in candidates:
            if not np.isfinite(self.objective(x0, S)[0]):
                continue
            sol = solve_ml(structure, S, x0)
            if not sol.converged:
                continue
            out.params[b], out.fmin[b], out.n_iter[b], out.converged[b] = sol.theta, sol.fmin, sol.n_iter, True
            out.gmax[b] = float(np.max(np.abs(self.gradient(sol.theta, S)[0])))
            if out.se is not None:
                out.se[b] = self.standard_errors(sol.theta, out.n_all[b], S)[0]
            return
        log.warning("member %d: the one-by-one refit did not converge either; counted as failed", b)


class BatchedChunkFitter:
    """Refit a chunk of bootstrap resamples at once (the ``chunk_fitter`` of
    :func:`xhs_sharing.analysis.mediation.bootstrap_indirect`).

    The resamples' covariance matrices come from their counts in two matrix
    products, all members are fitted together by Fisher scoring and screened
    by the improper-solution check of :mod:`xhs_sharing.sem.checks` (as
    :func:`~xhs_sharing.sem.bootstrap.refit_resample` screens a one-by-one
    refit). A member that does not converge in the batch is refitted one by
    one by :func:`~xhs_sharing.sem.bootstrap.refit_resample` (the same solver
    as the one-by-one bootstrap), so both paths judge convergence and proper
    solutions alike.

    Parameters
    ----------
    model : BatchedModel
        Built from the full-sample fit (:meth:`BatchedModel.from_fit`); its
        parameter order is the structure's.
    tol : float
        Gradient tolerance of the batched scoring.
    memory : int
        Quasi-Newton (limited-memory BFGS) pairs per member on top of the
        information; 0 gives plain Fisher scoring (the solver before issue 14).
    info_refresh : int
        As :meth:`BatchedModel.fit_batch`: 1 keeps the full-sample information
        (the quasi-Newton pairs do the rest), 2 recomputes it at each member's
        first iterate.
    n_threads : int
        Threads over the chunk's members. Default 1: the members' matrices
        are small, numpy holds the GIL for most of the time, and two threads
        measured no faster than one (issue 14).

    refit : bool
        Refit the members the batch did not converge one by one (default).
        False when the full-sample solution is already improper: those
        members then fail as ``nonconverged_not_refitted`` at once (a
        non-converging one-by-one refit costs up to 500 Fisher-scoring steps,
        seconds each).
    refit_above : float, optional
        Skip the one-by-one refits, as with ``refit=False``, when more than
        this share of the chunk is already improper in the batch (a failure
        no refit undoes): the bootstrap's early stop
        (``structural.max_failure_rate``) is then certain whatever the
        refits give.

    With ``memory=0, info_refresh=2, n_threads=1`` this is the solver of the
    redesign (kept for the benchmark's before/after comparison).
    """

    def __init__(self, model: BatchedModel, tol: float = 1e-8, *, memory: int = LBFGS_MEMORY,
                 info_refresh: int = INFO_REFRESH,
                 n_threads: int = 1, refit: bool = True, refit_above: float | None = None) -> None:
        self.model = model
        self.tol = tol
        self.memory = memory
        self.info_refresh = info_refresh
        self.n_threads = n_threads
        self.refit = refit
        self.refit_above = refit_above

    def _refits_wanted(self, fit: BatchFit) -> bool:
        """Refit the batch's non-converged members one by one? (See ``refit`` and ``refit_above``.)"""
        if not self.refit:
            return False
        improper = int((fit.converged & ~fit.proper).sum())
        return self.refit_above is None or improper <= self.refit_above * len(fit.converged)

    def __call__(self, structure: ModelStructure, data: np.ndarray, indices: np.ndarray,
                 theta0: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if structure.param_names != self.model.names or structure.observed != self.model.observed:
            raise EstimationError("the batched model and the structure have different parameters or variables")
        n_obs = data.shape[0]
        covs = resample_covariances(data, counts_from_indices(indices, n_obs))
        threads = max(1, int(self.n_threads))
        chunk = -(-len(covs) // threads)  # one batch per thread (250 together measured ~15% faster than 128)
        fit = self.model.fit_batch(covs, n_obs, start=theta0, tol=self.tol, refit=False, n_threads=threads,
                                   chunk_size=max(1, chunk), memory=self.memory, info_refresh=self.info_refresh)
        thetas = fit.params.copy()
        status: list[str] = []
        refit = self._refits_wanted(fit)
        for j in range(indices.shape[0]):
            if fit.converged[j]:
                status.append(CONVERGED if fit.proper[j] else IMPROPER)
            elif not refit:
                status.append(NOT_REFITTED)
            else:
                out = refit_resample(structure, data[indices[j]], theta0)
                thetas[j] = out.theta
                status.append(out.status)
        return thetas, status
