"""FIML refits of many bootstrap resamples at once.

A bootstrap resample of data with missing values reweights the respondents:
resample ``b`` takes row ``i`` ``c_bi`` times. Its FIML discrepancy
(:class:`~xhs_sharing.sem.mvnorm_missing.FimlObjective`, ``F = -2 logL / n``
without the ``2 pi`` constant) over ``x = (theta, mu)`` is therefore a
count-weighted sum over the rows of the full sample,

    F_b = (1/n_b) sum_i c_bi [log|Sigma_oo,i| + r_i' Sigma_oo,i^-1 r_i],   r_i = x_io - mu_o,

with the gradient

    dF_b/dtheta_k = tr(W_b dSigma_k),   W_b = (1/n_b) sum_i c_bi (K_i - y_i y_i'),
    dF_b/dmu      = -(2/n_b) sum_i c_bi y_i,

where ``K_i`` is row ``i``'s ``Sigma_oo^-1`` and ``y_i = K_i r_i`` (embedded
with zeros at the missing positions). With ``Omega = Sigma^-1`` and ``J``
the row's missing columns, ``K_i = Omega - Omega_.J (Omega_JJ)^-1 Omega_J.``
and ``log|Sigma_oo| = log|Sigma| + log|Omega_JJ|`` (Schur complement), so a
row costs one ``m x m`` inverse (``m`` missing values) per member; ``sum_i
c_bi K_i = n_b Omega - Omega E_b Omega`` with ``E_b = sum_i c_bi
(Omega_JJ)^-1`` embedded. :func:`fiml_batch_terms` evaluates ``F`` and its
gradient for a whole stack of members in array operations: the sums over
rows that do not depend on the missing blocks come from count-weighted
moments of the data formed once per batch (:class:`FimlMoments`, matrix
products of the counts, as the ML path forms the resamples' covariances),
and per step only the rows a member drew enter the missing-block terms;
and :class:`BatchedFimlChunkFitter` minimises it for every resample of a
chunk by the quasi-Newton method of the one-by-one refit
(:func:`~xhs_sharing.sem.bootstrap.refit_resample_fiml`): BFGS from the
full-sample Hessian, in limited-memory form (Nocedal & Wright 2006, sec.
7.2; with unlimited memory it is BFGS), with step halving.

A member converges when ``max |dF/dx| < tol``. A member that does not
within ``max_iter`` steps, or whose step cannot decrease ``F``, is refitted
one by one by :func:`~xhs_sharing.sem.bootstrap.refit_resample_fiml`; a
resample in which an indicator has fewer than two distinct observed values
is ``singular_data``, as in the one-by-one refit. Converged members are
screened for improper solutions by :mod:`xhs_sharing.sem.checks`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.batched import BatchedModel, _available_cpus, _Pairs
from xhs_sharing.sem.bootstrap import CONVERGED, IMPROPER, SINGULAR_DATA, refit_resample_fiml
from xhs_sharing.sem.linalg import keep_freed_memory, tri_inv
from xhs_sharing.sem.model import ModelStructure
from xhs_sharing.sem.mvnorm_missing import MissingData
from xhs_sharing.sem.resample import counts_from_indices

log = logging.getLogger(__name__)

__all__ = ["BatchedFimlChunkFitter", "FimlBatchTerms", "FimlMoments", "fiml_batch_terms", "singular_members"]


@dataclass(frozen=True)
class FimlBatchTerms:
    """``F`` (``(B,)``, ``inf`` where Sigma is not PD) and its gradient ``(B, q + p)`` over ``(theta, mu)``."""

    f: np.ndarray
    g: np.ndarray


#: Blocks up to this size are inverted by elementwise Cholesky formulas over
#: the whole stack; LAPACK's per-matrix calls cost more for such tiny blocks.
SMALL_BLOCK = 4


def small_spd_inverse(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and log-determinants of a stack ``(..., m, m)`` of positive-definite matrices.

    ``a = L L'`` by the Cholesky recurrences (Golub & Van Loan 2013, alg.
    4.2.1) evaluated elementwise over the stack, ``L^-1`` by forward
    substitution and ``a^-1 = L^-T L^-1``, ``log|a| = 2 sum log L_jj``. For
    ``m > SMALL_BLOCK`` LAPACK factors (``np.linalg.cholesky``) and
    :func:`~xhs_sharing.sem.linalg.tri_inv` inverts the factors (LAPACK's
    per-matrix general inverse costs several times more for such blocks).
    """
    m = a.shape[-1]
    if m > SMALL_BLOCK:
        chol = np.linalg.cholesky(a)
        x = tri_inv(chol.reshape(-1, m, m))
        inv = (np.swapaxes(x, 1, 2) @ x).reshape(a.shape)
        return inv, 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
    low = [[None] * m for _ in range(m)]
    for j in range(m):
        d = a[..., j, j] - sum(low[j][k] ** 2 for k in range(j))
        low[j][j] = np.sqrt(d)
        for i in range(j + 1, m):
            low[i][j] = (a[..., i, j] - sum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
    inv_l = [[None] * m for _ in range(m)]  # X = L^-1, lower triangular
    for i in range(m):
        inv_l[i][i] = 1.0 / low[i][i]
        for j in range(i):
            inv_l[i][j] = -sum(low[i][k] * inv_l[k][j] for k in range(j, i)) * inv_l[i][i]
    out = np.empty(a.shape)
    for i in range(m):
        for j in range(i + 1):
            v = sum(inv_l[k][i] * inv_l[k][j] for k in range(i, m))
            out[..., i, j] = v
            out[..., j, i] = v
    logdet = 2.0 * sum(np.log(low[j][j]) for j in range(m))
    return out, logdet


@dataclass(frozen=True)
class _Group:
    """The rows with ``m`` missing values: indices, missing columns and centred data."""

    rows: np.ndarray  # (k,)
    cols: np.ndarray  # (k, m)
    xo: np.ndarray  # (k, p) centred data, 0 where missing
    o: np.ndarray  # (k, p) 1.0 where observed

    @classmethod
    def of(cls, rows: np.ndarray, cols: np.ndarray, xo: np.ndarray, o: np.ndarray) -> _Group:
        return cls(rows, cols, xo[rows], o[rows])


@dataclass(frozen=True)
class _Drawn:
    """A group's rows that each member drew, ``(B, kd)``: drawn rows first, then undrawn ones (count 0) as padding.

    ``kd`` is the most rows of the group any member drew (about 3/4 of the
    group for bootstrap counts), so a step skips most undrawn rows.
    """

    c: np.ndarray  # (B, kd) counts
    xo: np.ndarray  # (B, kd, p)
    o: np.ndarray  # (B, kd, p)
    cols: np.ndarray  # (B, kd, m)
    flat: np.ndarray  # (B, kd m^2) positions of every block entry in the member's p x p

    @classmethod
    def of(cls, gr: _Group, counts: np.ndarray) -> _Drawn:
        cg = counts[:, gr.rows]
        drawn = cg > 0
        kd = max(1, int(drawn.sum(axis=1).max(initial=0)))
        order = np.argsort(~drawn, axis=1, kind="stable")[:, :kd]
        cols = gr.cols[order]
        p = gr.xo.shape[1]
        flat = (cols[..., :, None] * p + cols[..., None, :]).reshape(len(cg), -1)
        return cls(np.take_along_axis(cg, order, axis=1), gr.xo[order], gr.o[order], cols, flat)

    def take(self, sel: np.ndarray) -> _Drawn:
        return _Drawn(self.c[sel], self.xo[sel], self.o[sel], self.cols[sel], self.flat[sel])


@dataclass(frozen=True)
class FimlMoments:
    """Count-weighted moments of the observed data of a stack of members, fixed for a whole solve.

    With ``xo_i`` row ``i`` centred at ``center`` and zero where missing and
    ``o_i`` its observed indicator: ``A = sum_i c_i xo_i xo_i'``, ``X =
    sum_i c_i xo_i o_i'``, ``O = sum_i c_i o_i o_i'``, ``sx = sum_i c_i
    xo_i``, ``so = sum_i c_i o_i`` and ``n = sum_i c_i`` (one matrix product
    of the counts each). Every member's ``sum_i c_i r_i r_i'`` with ``r_i =
    o_i (x_i - mu)`` then follows for any ``mu`` without touching the rows
    (:meth:`residual_moments`).
    """

    counts: np.ndarray
    center: np.ndarray
    drawn: tuple[_Drawn, ...]
    A: np.ndarray
    X: np.ndarray
    O: np.ndarray
    sx: np.ndarray
    so: np.ndarray
    n: np.ndarray

    @classmethod
    def of(cls, md: MissingData, counts: np.ndarray, center: np.ndarray | None = None) -> FimlMoments:
        counts = np.asarray(counts, dtype=np.float64)
        c0 = np.zeros(md.p) if center is None else np.asarray(center, dtype=np.float64)
        o = md.observed.astype(np.float64)
        xo = (md.x - c0) * o
        nb, p = counts.shape[0], md.p

        def outer(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            return (counts @ (u[:, :, None] * v[:, None, :]).reshape(len(u), -1)).reshape(nb, p, p)

        drawn = tuple(_Drawn.of(_Group.of(rows, cols, xo, o), counts) for rows, cols in md.groups)
        return cls(counts, c0, drawn, outer(xo, xo), outer(xo, o), outer(o, o), counts @ xo, counts @ o,
                   counts.sum(axis=1))

    def take(self, sel: np.ndarray) -> FimlMoments:
        """The moments of the members ``sel`` (integer positions)."""
        if len(sel) == len(self.n) and np.array_equal(sel, np.arange(len(self.n))):
            return self
        drawn = tuple(d.take(sel) for d in self.drawn)
        return FimlMoments(self.counts[sel], self.center, drawn, self.A[sel], self.X[sel], self.O[sel],
                           self.sx[sel], self.so[sel], self.n[sel])

    def residual_moments(self, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sum_i c_i r_i r_i', sum_i c_i r_i)`` at the means ``mean`` ``(B, p)``.

        ``r_i r_i' = xo xo' - (xo o') diag(mu) - diag(mu) (o xo') + diag(mu) (o o') diag(mu)``
        with ``mu`` centred like ``xo``.
        """
        mu = mean - self.center
        Xm = self.X * mu[:, None, :]
        rr = self.A - Xm - np.swapaxes(Xm, 1, 2) + self.O * (mu[:, :, None] * mu[:, None, :])
        return rr, self.sx - self.so * mu


def fiml_batch_terms(model: BatchedModel, md: MissingData, counts: np.ndarray, theta: np.ndarray,
                     mean: np.ndarray, moments: FimlMoments | None = None) -> FimlBatchTerms:
    """FIML discrepancy and gradient of every member of a stack of reweighted samples.

    Parameters
    ----------
    model : BatchedModel
        The covariance structure (its parameter order is ``theta``'s).
    md : MissingData
        The full sample.
    counts : (B, n) weights of the rows (bootstrap counts).
    theta : (B, q) and mean : (B, p)
        The members' points.
    moments : FimlMoments, optional
        ``FimlMoments.of(md, counts)``, computed here when not given (a
        solver computes it once per batch).

    Returns
    -------
    FimlBatchTerms
        ``F_b`` as in the module docstring (equal to
        :meth:`~xhs_sharing.sem.mvnorm_missing.FimlObjective.value_and_gradient`
        of the resampled data) and its gradient.

    Notes
    -----
    Row ``i``'s completed residual is ``t_i = r_i - s_i`` with ``s_i =
    (Omega_JJ)^-1 z_J`` embedded at ``J`` (``z = Omega r_i``), and ``y_i =
    Omega t_i``. Only ``z_J`` needs the rows; the sums over rows come from
    the moments: ``sum c r'Omega r = tr(Omega sum c r r')`` and ``sum c
    t t' = sum c r r' - C - C' + sum c s s'`` with the cross term ``C = sum
    c r s'``, so ``W = Omega - Omega (E + sum c t t') Omega / n_b``.
    """
    mom = FimlMoments.of(md, counts) if moments is None else moments
    nb, p = theta.shape[0], md.p
    core = model._core(theta)
    omega = core.K
    n_b = mom.n
    mu = mean - mom.center
    rr, sr = mom.residual_moments(mean)
    f_rows = np.zeros(nb)  # sum_i c_i (log|Omega_JJ| - z_J' (Omega_JJ)^-1 z_J)
    cross = np.zeros((nb, p, p))
    s_sum = np.zeros((nb, p))
    e_flat = np.zeros(nb * p * p)
    offsets = (np.arange(nb) * p * p)[:, None]
    bi = np.arange(nb)[:, None, None]
    for dg in mom.drawn:
        c, cols = dg.c, dg.cols  # (B, kd), (B, kd, m)
        a_inv, ld = small_spd_inverse(omega[bi[..., None], cols[..., :, None], cols[..., None, :]])  # (B, kd, m, m)
        r = dg.xo - mu[:, None, :] * dg.o  # (B, kd, p)
        zj = np.take_along_axis(r @ omega, cols, axis=2)  # (B, kd, m)
        sh = np.einsum("bkij,bkj->bki", a_inv, zj)
        f_rows += np.einsum("bk,bk->b", c, ld - np.einsum("bki,bki->bk", zj, sh))
        v = np.zeros_like(r)
        v[bi, np.arange(c.shape[1])[None, :, None], cols] = c[:, :, None] * sh
        cross += np.swapaxes(r, 1, 2) @ v
        s_sum += v.sum(axis=1)
        a_inv += sh[:, :, :, None] * sh[:, :, None, :]
        a_inv *= c[:, :, None, None]
        e_flat += np.bincount((offsets + dg.flat).ravel(), weights=a_inv.ravel(), minlength=nb * p * p)
    f = core.logdet + (f_rows + np.einsum("bij,bij->b", omega, rr)) / n_b
    T = e_flat.reshape(nb, p, p) + rr - cross - np.swapaxes(cross, 1, 2)
    W = omega - omega @ T @ omega / n_b[:, None, None]
    W = 0.5 * (W + np.swapaxes(W, 1, 2))
    g_mu = -2.0 * ((sr - s_sum)[:, None, :] @ omega)[:, 0, :] / n_b[:, None]
    g = np.concatenate([model._gradient_from_weight(core, W), g_mu], axis=1)
    f[~core.ok] = np.inf
    g[~core.ok] = np.nan
    return FimlBatchTerms(f, g)


def _available_cpus_max2() -> int:
    return min(2, _available_cpus())


def singular_members(md: MissingData, counts: np.ndarray) -> np.ndarray:
    """``(B,)``: members in which some indicator has fewer than two distinct observed values.

    The rule of :func:`~xhs_sharing.sem.bootstrap.refit_resample_fiml` (the
    variance of such an indicator is not estimable), from the counts.
    """
    bad = np.zeros(counts.shape[0], dtype=bool)
    drawn = counts > 0
    for j in range(md.p):
        obs = md.observed[:, j]
        values = md.x[obs, j]
        distinct = np.zeros(counts.shape[0], dtype=np.int64)
        for v in np.unique(values):
            distinct += drawn[:, obs][:, values == v].any(axis=1)
        bad |= distinct < 2
    return bad


@dataclass
class _FimlState:
    """The members of a chunk still iterating (rows aligned)."""

    idx: np.ndarray  # chunk-local member ids
    x: np.ndarray  # (B, q + p): theta, then the means
    f: np.ndarray
    g: np.ndarray
    it: np.ndarray
    pairs: _Pairs
    mom: FimlMoments  # the members' moments and drawn rows

    def keep(self, mask: np.ndarray) -> _FimlState:
        if mask.all():  # nobody leaves: no copies
            return self
        return _FimlState(self.idx[mask], self.x[mask], self.f[mask], self.g[mask], self.it[mask],
                          self.pairs.take(mask), self.mom.take(np.flatnonzero(mask)))


class BatchedFimlChunkFitter:
    """Refit a chunk of bootstrap resamples with missing values by FIML, all at once.

    The batched counterpart of :class:`~xhs_sharing.sem.bootstrap.FimlChunkFitter`
    (same constructor and call, picklable): :func:`fiml_batch_terms` for
    the whole chunk, limited-memory BFGS from the full-sample Hessian
    ``hessian0`` with step halving, started at ``(theta0, mean0)``; members
    that do not converge are refitted one by one by
    :func:`~xhs_sharing.sem.bootstrap.refit_resample_fiml`.

    Parameters
    ----------
    mean0, hessian0 : full-sample FIML intercepts and Hessian of ``-2 logL / N``
        over ``(theta, means)`` (``StructuralResult.means`` / ``.hessian``).
    tol : a member has converged when ``max |dF/dx| < tol``.
    max_iter : quasi-Newton steps before the one-by-one refit.
    memory : BFGS pairs kept per member.
    batch : members evaluated together (memory about ``batch * n * p * 8 * 6`` bytes).
    n_threads : batches solved in parallel threads (default: the CPUs available, at most 2).
    """

    handles_missing = True

    def __init__(self, mean0: np.ndarray, hessian0: np.ndarray, *, tol: float = 1e-9, max_iter: int = 200,
                 memory: int = 30, batch: int = 128, max_halvings: int = 30, n_threads: int | None = None) -> None:
        self.mean0 = np.asarray(mean0, dtype=float)
        self.hessian0 = np.asarray(hessian0, dtype=float)
        try:
            chol = np.linalg.cholesky(self.hessian0)
        except np.linalg.LinAlgError as exc:
            raise EstimationError("the full-sample FIML Hessian is not positive definite") from exc
        self._h0x = np.linalg.inv(chol)  # H0^-1 = h0x' h0x
        h0inv = self._h0x.T @ self._h0x
        self._h0inv = 0.5 * (h0inv + h0inv.T)
        self.tol, self.max_iter, self.memory, self.batch = tol, max_iter, memory, batch
        self.max_halvings = max_halvings
        self.n_threads = n_threads
        self._model: BatchedModel | None = None

    @classmethod
    def from_fit(cls, fit: Any, **kwargs: Any) -> BatchedFimlChunkFitter:
        """The fitter for a FIML :class:`~xhs_sharing.analysis.structural.StructuralResult`."""
        if fit.estimator != "FIML" or fit.means is None or fit.hessian is None:
            raise SpecError("BatchedFimlChunkFitter needs a FIML fit (fit_structural(..., missing='fiml') "
                            "on data with missing values)")
        return cls(fit.means, fit.hessian, **kwargs)

    def __call__(self, structure: ModelStructure, data: np.ndarray, indices: np.ndarray,
                 theta0: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if self._model is None or self._model.structure is not structure:
            self._model = BatchedModel(structure, start=theta0)
        q = structure.n_params
        if self.hessian0.shape != (q + data.shape[1],) * 2:
            raise EstimationError(f"hessian0 must be {q + data.shape[1]} x {q + data.shape[1]}")
        keep_freed_memory()
        md = MissingData(data)
        counts = counts_from_indices(indices, data.shape[0])
        singular = singular_members(md, counts)
        x_all = np.full((len(counts), q + md.p), np.nan)
        conv = np.zeros(len(counts), dtype=bool)
        todo = np.flatnonzero(~singular)
        x0 = np.concatenate([theta0, self.mean0])

        def run(sel: np.ndarray) -> None:
            x_all[sel], conv[sel] = self._solve(md, counts[sel], x0)

        batches = [todo[lo : lo + self.batch] for lo in range(0, len(todo), self.batch)]
        threads = max(1, min(len(batches), self.n_threads or _available_cpus_max2()))
        if threads == 1:
            for sel in batches:
                run(sel)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, batches))
        return self._statuses(structure, data, indices, theta0, x_all[:, :q], conv, singular)

    def _statuses(self, structure: ModelStructure, data: np.ndarray, indices: np.ndarray, theta0: np.ndarray,
                  thetas: np.ndarray, conv: np.ndarray, singular: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Improper-solution screen of the converged members; one-by-one refits of the rest."""
        assert self._model is not None
        proper = np.zeros(len(conv), dtype=bool)
        if conv.any():
            proper[conv] = self._model.proper(thetas[conv])
        status: list[str] = []
        for j in range(len(conv)):
            if singular[j]:
                status.append(SINGULAR_DATA)
            elif conv[j]:
                status.append(CONVERGED if proper[j] else IMPROPER)
            else:
                out = refit_resample_fiml(structure, data[indices[j]], theta0, self.mean0, self.hessian0)
                thetas[j] = out.theta
                status.append(out.status)
        return thetas, status

    def _apply_h0(self, v: np.ndarray) -> np.ndarray:
        """``H0^-1 v`` for every row of ``v``."""
        return v @ self._h0inv

    def _terms(self, md: MissingData, mom: FimlMoments, x: np.ndarray) -> FimlBatchTerms:
        assert self._model is not None
        q = self._model.q
        return fiml_batch_terms(self._model, md, mom.counts, x[:, :q], x[:, q:], mom)

    def _solve(self, md: MissingData, counts: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quasi-Newton iterations for one batch: ``(x, converged)``."""
        nb = len(counts)
        x_out = np.full((nb, x0.size), np.nan)
        conv = np.zeros(nb, dtype=bool)
        x = np.tile(x0, (nb, 1))
        mom = FimlMoments.of(md, counts, center=self.mean0)
        t = self._terms(md, mom, x)
        st = _FimlState(np.arange(nb), x, t.f, t.g, np.zeros(nb, dtype=np.int64),
                        _Pairs.empty(nb, x0.size, self.memory), mom)
        st = st.keep(np.isfinite(st.f))
        while len(st.idx):
            done = np.max(np.abs(st.g), axis=1) < self.tol
            x_out[st.idx[done]], conv[st.idx[done]] = st.x[done], True
            st = st.keep(~done & (st.it < self.max_iter) & np.all(np.isfinite(st.g), axis=1))
            if not len(st.idx):
                break
            st.pairs.add(st.g, st.it == 0)
            step = -st.pairs.direction(self._apply_h0, st.g)
            slope = np.einsum("bi,bi->b", st.g, step)
            if np.any(slope >= 0):  # not a descent direction: start again from H0
                bad = slope >= 0
                st.pairs.reset(bad)
                step[bad] = -(st.g[bad] @ self._h0x.T) @ self._h0x
            st = self._line_search(md, st, step)
        return x_out, conv

    def _line_search(self, md: MissingData, st: _FimlState, step: np.ndarray) -> _FimlState:
        """Step halving until ``F`` does not increase (the one-by-one rule); members that never decrease leave."""
        nw = len(st.idx)
        alpha = np.ones(nw)
        new_x, new_f, new_g = st.x.copy(), np.full(nw, np.inf), np.full_like(st.g, np.nan)
        pending = np.arange(nw)
        for _ in range(self.max_halvings + 1):
            if not len(pending):
                break
            cand = st.x[pending] + alpha[pending, None] * step[pending]
            t = self._terms(md, st.mom.take(pending), cand)
            acc = np.isfinite(t.f) & (t.f <= st.f[pending] + 1e-12 * np.maximum(1.0, np.abs(st.f[pending])))
            a = pending[acc]
            new_x[a], new_f[a], new_g[a] = cand[acc], t.f[acc], t.g[acc]
            pending = pending[~acc]
            alpha[pending] *= 0.5
        ok = np.ones(nw, dtype=bool)
        ok[pending] = False
        st.pairs.last = new_x - st.x
        nxt = _FimlState(st.idx, new_x, new_f, new_g, st.it + 1, st.pairs, st.mom)
        return nxt.keep(ok)
