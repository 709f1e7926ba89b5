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
from scipy import sparse

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
#: the whole stack; LAPACK's per-matrix calls cost more for such tiny blocks
#: (measured on 128 members: 5 x 5 blocks of 30 rows 1.3 ms against LAPACK's
#: 6.2 ms, 6 x 6 0.8 against 1.2 ms; from 7 x 7 on LAPACK is faster).
SMALL_BLOCK = 6


def small_spd_inverse(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverses and log-determinants of a stack ``(..., m, m)`` of positive-definite matrices.

    ``a = L L'`` by the Cholesky recurrences (Golub & Van Loan 2013, alg.
    4.2.1) evaluated elementwise over the stack (:func:`spd_inverse_soa`),
    ``L^-1`` by forward substitution and ``a^-1 = L^-T L^-1``, ``log|a| = 2
    sum log L_jj``. For ``m > SMALL_BLOCK`` LAPACK factors
    (``np.linalg.cholesky``) and :func:`~xhs_sharing.sem.linalg.tri_inv`
    inverts the factors (LAPACK's per-matrix general inverse costs several
    times more for such blocks).
    """
    m = a.shape[-1]
    if m > SMALL_BLOCK:
        chol = np.linalg.cholesky(a)
        x = tri_inv(chol.reshape(-1, m, m))
        inv = (np.swapaxes(x, 1, 2) @ x).reshape(a.shape)
        return inv, 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
    inv, logdet = spd_inverse_soa(np.moveaxis(a, (-2, -1), (0, 1)))
    return np.moveaxis(inv, (0, 1), (-2, -1)), logdet


def spd_inverse_soa(a: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`small_spd_inverse` of a stack laid out ``(m, m, ...)``: entry ``(i, j)`` of every matrix is ``a[i, j]``.

    With this layout every elementwise step of the recurrences reads and
    writes contiguous memory. ``m > SMALL_BLOCK`` goes through LAPACK. The
    inverses are written into ``out`` when given (same shape as ``a``).
    """
    m = a.shape[0]
    out = np.empty(a.shape) if out is None else out
    if m > SMALL_BLOCK:
        inv, logdet = small_spd_inverse(np.moveaxis(a, (0, 1), (-2, -1)))
        out[...] = np.moveaxis(inv, (-2, -1), (0, 1))
        return out, logdet
    low: list[list[Any]] = [[None] * m for _ in range(m)]
    for j in range(m):
        d = a[j, j] - sum(low[j][k] ** 2 for k in range(j))
        low[j][j] = np.sqrt(d)
        for i in range(j + 1, m):
            low[i][j] = (a[i, j] - sum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
    inv_l: list[list[Any]] = [[None] * m for _ in range(m)]  # X = L^-1, lower triangular
    for i in range(m):
        inv_l[i][i] = 1.0 / low[i][i]
        for j in range(i):
            inv_l[i][j] = -sum(low[i][k] * inv_l[k][j] for k in range(j, i)) * inv_l[i][i]
    for i in range(m):
        for j in range(i + 1):
            v = sum(inv_l[k][i] * inv_l[k][j] for k in range(i, m))
            out[i, j] = v
            out[j, i] = v
    logdet = 2.0 * sum(np.log(low[j][j]) for j in range(m))
    return out, logdet


@dataclass(frozen=True)
class _Group:
    """The ``k`` rows with ``m`` missing values: their positions, missing columns and where their terms go.

    Every per-row quantity of the group is laid out with the row and the
    member last (``(m, k, B)`` vectors, ``(m, m, k, B)`` blocks), so each
    elementwise step reads contiguous memory. ``flat`` holds the position in
    a ``p x p`` matrix of block entry ``(i, j)`` of row ``r``, in that
    order; ``cells`` and ``entries`` are the group's slices of the cells
    (slot-major, ``(m, k)``) and of the block entries of :class:`_Layout`.
    """

    rows: np.ndarray  # (k,)
    cols_t: np.ndarray  # (m, k): missing column of slot i of row r
    flat: np.ndarray  # (m m k,)
    cells: slice
    entries: slice


@dataclass(frozen=True)
class _Layout:
    """Where the missing values of a sample are; fixed for a data set and a centre, whatever the counts.

    The missing cells are numbered group by group (:attr:`MissingData.groups`,
    by the number ``m`` of missing values of a row), slot by slot. ``items``
    lists, for every indicator ``j`` with missing values, the cells missing
    ``j`` and the centred data rows ``xo`` they belong to (zero where
    missing), so sums over the cells of one indicator are matrix products
    shared by all members. ``scatter`` is the sparse ``p^2 x E`` matrix that
    adds the ``E`` block entries of all rows into their ``p x p`` matrix.
    """

    groups: tuple[_Group, ...]
    items: tuple[tuple[int, np.ndarray, np.ndarray], ...]  # (j, cells, xo rows (r_j, p))
    n_cells: int
    n_entries: int
    scatter: sparse.csr_matrix

    @classmethod
    def of(cls, md: MissingData, xo: np.ndarray) -> _Layout:
        groups, cell_rows, cell_cols, flats, at, at_e = [], [], [], [], 0, 0
        for rows, cols in md.groups:
            k, m = cols.shape
            cols_t = np.ascontiguousarray(cols.T)
            flat = (cols_t[:, None, :] * md.p + cols_t[None, :, :]).ravel()
            groups.append(_Group(rows, cols_t, flat, slice(at, at + k * m), slice(at_e, at_e + flat.size)))
            cell_rows.append(np.tile(rows, m))
            cell_cols.append(cols_t.ravel())
            flats.append(flat)
            at, at_e = at + k * m, at_e + flat.size
        c_rows = np.concatenate(cell_rows) if cell_rows else np.zeros(0, dtype=np.intp)
        c_cols = np.concatenate(cell_cols) if cell_cols else np.zeros(0, dtype=np.intp)
        items = tuple((j, np.flatnonzero(c_cols == j), xo[c_rows[c_cols == j]])
                      for j in range(md.p) if np.any(c_cols == j))
        allflat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.intp)
        scatter = sparse.csr_matrix((np.ones(at_e), (allflat, np.arange(at_e))), shape=(md.p * md.p, at_e))
        return cls(tuple(groups), items, at, at_e, scatter)


@dataclass(frozen=True)
class FimlMoments:
    """Count-weighted moments of the observed data of a stack of members, fixed for a whole solve.

    With ``xo_i`` row ``i`` centred at ``center`` and zero where missing and
    ``o_i`` its observed indicator: ``A = sum_i c_i xo_i xo_i'``, ``X =
    sum_i c_i xo_i o_i'``, ``O = sum_i c_i o_i o_i'``, ``sx = sum_i c_i
    xo_i``, ``so = sum_i c_i o_i`` and ``n = sum_i c_i`` (one matrix product
    of the counts each). Every member's ``sum_i c_i r_i r_i'`` with ``r_i =
    o_i (x_i - mu)`` then follows for any ``mu`` without touching the rows
    (:meth:`residual_moments`). ``group_counts`` holds the counts of each
    group's rows ``(k, B)``; ``layout`` the places of the missing values.
    """

    counts: np.ndarray
    center: np.ndarray
    layout: _Layout
    group_counts: tuple[np.ndarray, ...]
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

        lay = _Layout.of(md, xo)
        group_counts = tuple(np.ascontiguousarray(counts[:, g.rows].T) for g in lay.groups)
        return cls(counts, c0, lay, group_counts, outer(xo, xo), outer(xo, o), outer(o, o), counts @ xo,
                   counts @ o, counts.sum(axis=1))

    def take(self, sel: np.ndarray) -> FimlMoments:
        """The moments of the members ``sel`` (integer positions)."""
        if len(sel) == len(self.n) and np.array_equal(sel, np.arange(len(self.n))):
            return self
        return FimlMoments(self.counts[sel], self.center, self.layout, tuple(c[:, sel] for c in self.group_counts),
                           self.A[sel], self.X[sel], self.O[sel], self.sx[sel], self.so[sel], self.n[sel])

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

    No residual ``r_i = xo_i - mu o_i`` of a member is formed (issue 14):
    with ``mu o_i = mu - e_J mu_J``, ``z_J = (Omega xo_i)_J - (Omega mu)_J +
    Omega_JJ mu_J``, and ``C = sum c xo s' - mu (sum c s)' + sum c e_J mu_J
    s'``, whose last term lives on the ``J x J`` block and is summed with
    ``E``. The data enter only through the cells missing indicator ``j``:
    ``(Omega xo_i)_j`` of all those rows and members is one product
    ``xo_rows Omega_.j``, and column ``j`` of ``sum c xo s'`` is
    ``xo_rows' w_j`` (:func:`_cell_products`).
    """
    mom = FimlMoments.of(md, counts) if moments is None else moments
    lay = mom.layout
    nb, p = theta.shape[0], md.p
    core = model._core(theta)
    omega = core.K
    omega_t = np.ascontiguousarray(omega.transpose(1, 2, 0))  # (p, p, B)
    n_b = mom.n
    mu = mean - mom.center
    om_mu = np.einsum("bij,bj->bi", omega, mu)
    rr, sr = mom.residual_moments(mean)
    z_cells = np.empty((lay.n_cells, nb))  # (Omega xo_i)_j at every missing cell, for every member
    for j, cells, xrows in lay.items:
        z_cells[cells] = xrows @ omega_t[:, j]
    f_rows = np.zeros(nb)
    w_cells = np.empty((lay.n_cells, nb))  # c_i s_i at every missing cell
    entries = np.empty((lay.n_entries, nb))  # the J x J block of every row
    omega_flat, mu_t, om_mu_t = omega_t.reshape(p * p, nb), np.ascontiguousarray(mu.T), np.ascontiguousarray(om_mu.T)
    for g, c in zip(lay.groups, mom.group_counts, strict=True):
        f_rows += _group_terms(g, c, omega_flat, mu_t, om_mu_t, z_cells, w_cells, entries)
    cross_t, s_sum_t = _cell_products(lay, w_cells, nb, p)
    cross = cross_t.transpose(2, 0, 1)
    s_sum = s_sum_t.T
    e = np.asarray(lay.scatter @ entries).reshape(p, p, nb).transpose(2, 0, 1)
    f = core.logdet + (f_rows + np.einsum("bij,bij->b", omega, rr)) / n_b
    ms = mu[:, :, None] * s_sum[:, None, :]
    T = e + rr - cross - np.swapaxes(cross, 1, 2) + ms + np.swapaxes(ms, 1, 2)
    W = omega - omega @ T @ omega / n_b[:, None, None]
    W = 0.5 * (W + np.swapaxes(W, 1, 2))
    g_mu = -2.0 * ((sr - s_sum)[:, None, :] @ omega)[:, 0, :] / n_b[:, None]
    g = np.concatenate([model._gradient_from_weight(core, W), g_mu], axis=1)
    f[~core.ok] = np.inf
    g[~core.ok] = np.nan
    return FimlBatchTerms(f, g)


def _group_terms(g: _Group, c: np.ndarray, omega_flat: np.ndarray, mu_t: np.ndarray, om_mu_t: np.ndarray,
                 z_cells: np.ndarray, w_cells: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """One group's rows: ``sum_i c_i (log|Omega_JJ| - z_J' (Omega_JJ)^-1 z_J)`` per member ``(B,)``.

    Writes ``w = c s`` into the group's cells of ``w_cells`` and the rows'
    ``J x J`` blocks ``c A^-1 + c s s' - mu_J w' - w mu_J'`` (``A =
    Omega_JJ``) into its slice of ``entries``. Layout ``(m, k, B)`` and
    ``(m, m, k, B)``; ``c`` is ``(k, B)``.
    """
    m, k = g.cols_t.shape
    nb = c.shape[1]
    block = omega_flat[g.flat].reshape(m, m, k, nb)
    mu_j = mu_t[g.cols_t]  # (m, k, B)
    zj = z_cells[g.cells].reshape(m, k, nb) - om_mu_t[g.cols_t] + (block * mu_j[None]).sum(axis=1)
    inv, ld = spd_inverse_soa(block, out=entries[g.entries].reshape(m, m, k, nb))
    sh = (inv * zj[None]).sum(axis=1)
    w = c * sh
    w_cells[g.cells] = w.reshape(m * k, nb)
    inv *= c  # in place: the group's slice of entries
    inv += w[:, None] * (sh - mu_j)[None, :] - mu_j[:, None] * w[None, :]
    return (c * (ld - (zj * sh).sum(axis=0))).sum(axis=0)


def _cell_products(lay: _Layout, w_cells: np.ndarray, nb: int, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``sum_i c_i xo_i s_i'`` laid out ``(p, p, B)`` and ``sum_i c_i s_i`` laid out ``(p, B)``, from the cells' ``w``.

    Column ``j`` of the first is ``xo_rows' w_j`` over the cells missing ``j``; entry ``j`` of the second their sum.
    """
    cross = np.zeros((p, p, nb))
    s_sum = np.zeros((p, nb))
    for j, cells, xrows in lay.items:
        wj = w_cells[cells]  # (r_j, B)
        cross[:, j] = xrows.T @ wj
        s_sum[j] = wj.sum(axis=0)
    return cross, s_sum


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
