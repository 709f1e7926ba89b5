"""Ordinal items: category coding, thresholds, polychoric correlations and their Gamma.

The first two stages of Muthen's (1984) three-stage estimator, as lavaan 0.6
computes them for ``ordered = <items>`` (``lav_samplestats_step1.R``,
``lav_samplestats_step2.R``, ``lav_bvord.R``, ``lav_muthen1984.R``); the third
stage (DWLS) lives in :mod:`xhs_sharing.sem.wls`. Model-agnostic and pure
NumPy/SciPy.

1. **Categories** (:func:`prepare_ordinal`): rows with a missing answer are
   deleted (listwise); each item's categories are the values its remaining
   answers use, coded ``0 .. K-1``. A scale point nobody used is not a
   category, exactly as lavaan (which takes the levels of ``ordered()`` of
   the data) treats it: its two neighbouring thresholds become one.
   :class:`OrdinalData` lists and counts such unused scale points.
2. **Thresholds** from the margins (:func:`thresholds_from_counts`):
   ``tau_k = Phi^-1(F_k)`` with ``F_k`` the cumulative share of categories
   ``0..k`` (the closed form of lavaan's univariate probit without
   covariates).
3. **Polychoric correlations** by two-step ML (Olsson 1979): thresholds fixed,
   ``rho`` maximises ``sum_ab n_ab log pi_ab(rho)`` (:func:`polychoric_loglik`,
   analytic derivatives; Newton steps, then Halley's cubically convergent
   ones near the maximum, in :func:`polychoric`). The rectangle
   probabilities ``pi_ab`` come from the bivariate normal CDF
   :func:`xhs_sharing.sem.bvn.grid_cdf` (Drezner & Wesolowsky 1990 with
   Genz's 2004 double-precision modifications, vectorised). Cell
   probabilities are floored at ``sqrt(eps)`` as in lavaan; lavaan's 2x2
   zero-cell corrections (``zero.add[1]``) are not reproduced (the items
   here have more than two categories; general tables get no correction,
   ``zero.add[2] = 0``).
4. **Gamma** (NACOV), the asymptotic covariance of ``sqrt(N)`` times the
   thresholds and polychorics, from casewise scores as lavaan's
   ``muthen1984()`` builds it: ``Gamma = N B^-1 (sum_i s_i s_i') B^-T`` with
   ``B = [[A11, 0], [A21, A22]]`` (:func:`two_step_gamma`).

**Resamples** (:func:`batched_ordinal_statistics`): every bootstrap resample
is a reweighting of the same respondents, so a batch's margins and bivariate
tables are products of the count matrix ``W (B x N)`` with one-hot codes, and
each polychoric is a one-parameter problem solved for all resamples and pairs
at once: started from the full-sample polychoric moved by the resample's
first-order change (``W @ influence``, :func:`two_step_gamma`), two
evaluations of the cell probabilities suffice for almost every pair (Halley),
and the diagonal of each resample's Gamma (its DWLS weights) follows from its
tables alone, because ``A11^-1`` applied to the univariate scores is the
influence function ``([a <= k] - F_k) / phi(tau_k)`` of the thresholds
(:func:`_correlation_gamma_diag`; equal to lavaan's construction to 1e-13).
A category (of the full sample) that a resample does not draw
is *merged with its neighbour*: its two thresholds coincide (``F_{k-1} =
F_k``; at the ends the threshold is ``-inf``/``+inf``), which gives exactly the
polychoric and Gamma of the resample recoded without that category (what
lavaan would compute on that resample if it were a new data set; lavaan's own
``bootstrapLavaan`` keeps the full sample's levels and fails on it). Such
events are counted per resample and item (``empty_categories``). A resample
in which an item keeps fewer than two categories has no polychoric for it and
is flagged ``degenerate``.

Ordering (lavaan's): thresholds item by item (``is1|t1, is1|t2, ...``), then
the correlations of the strict lower triangle column by column
(``(2,1), (3,1), ..., (p,1), (3,2), ...``) as by :func:`pair_index`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.special import ndtr, ndtri

from xhs_sharing.errors import DataError
from xhs_sharing.sem.bvn import grid_cdf

log = logging.getLogger(__name__)

__all__ = [
    "BatchedOrdinal",
    "OrdinalData",
    "OrdinalStats",
    "batched_ordinal_statistics",
    "bivariate_table",
    "ordinal_statistics",
    "pair_index",
    "polychoric",
    "polychoric_loglik",
    "prepare_ordinal",
    "thresholds_from_counts",
    "two_step_gamma",
]

#: lavaan's floor for cell probabilities (``sqrt(.Machine$double.eps)``).
PI_FLOOR = float(np.sqrt(np.finfo(float).eps))

#: lavaan's bounds for a polychoric (``nlminb(lower = -0.999, upper = 0.999)``).
RHO_BOUND = 0.999

_TWO_PI = 2.0 * np.pi


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    """Standard normal density, 0 at +-inf."""
    xf = np.where(np.isfinite(x), x, 0.0)
    return np.where(np.isfinite(x), np.exp(-0.5 * xf * xf) / np.sqrt(_TWO_PI), 0.0)


#: Stands in for an infinite threshold inside the kernels: ``Phi(40) == 1``,
#: ``Phi(-40) == 0`` and ``phi(40) == 0`` in double precision, so a merged end
#: category or a padding slot gives exactly the limits of an infinite one.
_BIG = 40.0


def _finite(t: np.ndarray) -> np.ndarray:
    """Thresholds with ``+-inf`` replaced by ``+-_BIG``."""
    return np.clip(t, -_BIG, _BIG)


def _bordered(inner: np.ndarray, last_row: np.ndarray | float, last_col: np.ndarray | float) -> np.ndarray:
    """``(M, K1+1, K2+1)`` grid: zeros in row and column 0, ``inner`` inside, the given last row/column."""
    m, k1, k2 = inner.shape
    out = np.zeros((m, k1 + 2, k2 + 2))
    out[:, 1:-1, 1:-1] = inner
    out[:, -1, 1:] = last_row
    out[:, 1:, -1] = last_col
    return out


def _rect(grid: np.ndarray) -> np.ndarray:
    """Rectangle differences ``G[a+1,b+1] - G[a,b+1] - G[a+1,b] + G[a,b]`` of a ``(M, K1+1, K2+1)`` grid."""
    return grid[:, 1:, 1:] - grid[:, :-1, 1:] - grid[:, 1:, :-1] + grid[:, :-1, :-1]


def _cell_probabilities(t1: np.ndarray, t2: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Rectangle probabilities ``pi_ab`` ``(M, K1, K2)`` of finite thresholds ``(M, K1-1)``, ``(M, K2-1)``."""
    m = t1.shape[0]
    inner = grid_cdf(t1, t2, rho)
    last_row = np.concatenate([ndtr(t2), np.ones((m, 1))], axis=1)
    last_col = np.concatenate([ndtr(t1), np.ones((m, 1))], axis=1)
    return _rect(_bordered(inner, last_row, last_col))


def _density_grid(t1: np.ndarray, t2: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``phi_2`` and its first two rho-derivatives at the interior limits, ``(3, M, K1-1, K2-1)``.

    ``d phi_2 / d rho = phi_2 g`` with ``g = N / R^2``, ``N = uv(1 + rho^2) -
    rho(u^2 + v^2) + rho(1 - rho^2)``, ``R = 1 - rho^2`` (lavaan's ``guv``,
    which corrects Olsson 1979, eq. A2); ``d2 phi_2 / d rho2 = phi_2 (g^2 +
    g')`` with ``g' = N' / R^2 + 4 rho N / R^3``, ``N' = 2 rho uv - (u^2 + v^2)
    + 1 - 3 rho^2``.
    """
    u, v = t1[:, :, None], t2[:, None, :]
    r = rho[:, None, None]
    big_r = 1.0 - r * r
    uv, ss = u * v, u * u + v * v
    dens = np.exp(-(ss - 2.0 * r * uv) / (2.0 * big_r)) / (_TWO_PI * np.sqrt(big_r))
    num = uv * (1.0 + r * r) - r * ss + r * big_r
    g = num / (big_r * big_r)
    dg = (2.0 * r * uv - ss + 1.0 - 3.0 * r * r) / (big_r * big_r) + 4.0 * r * num / big_r**3
    return np.stack([dens, dens * g, dens * (g * g + dg)])


@dataclass(frozen=True)
class _PairTerms:
    """Cell probabilities, their rho-derivatives and the log-likelihood's of a batch of pairs."""

    pi: np.ndarray  # (M, K1, K2), floored at PI_FLOOR
    ok: np.ndarray  # cells above the floor (lavaan drops the others from gradient and Hessian)
    dpi: np.ndarray  # (3, M, K1, K2): first, second and third rho-derivative of pi
    logl: np.ndarray  # (M,)
    grad: np.ndarray  # (M,)
    hess: np.ndarray  # (M,)
    third: np.ndarray  # (M,) third derivative of the log-likelihood


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_ab a[m, a, b] * b[m, a, b]`` for every ``m``."""
    m = a.shape[0]
    return np.einsum("mk,mk->m", a.reshape(m, -1), b.reshape(m, -1))


def _pair_terms(tables: np.ndarray, t1: np.ndarray, t2: np.ndarray, rho: np.ndarray) -> _PairTerms:
    """Log-likelihood ``sum n_ab log pi_ab`` and its first three rho-derivatives (lavaan ``lav_bvord``).

    ``d^k pi_ab / d rho^k`` are rectangle differences of the rho-derivatives
    of ``phi_2`` (``d Phi_2 / d rho = phi_2``). With ``v = n / pi``, ``q = pi1 /
    pi`` and ``pi1, pi2, pi3`` the derivatives of ``pi``: ``l1 = sum v pi1``,
    ``l2 = sum v (pi2 - q pi1)``, ``l3 = sum v (pi3 - 3 q pi2 + 2 q^2 pi1)``.
    Thresholds must be finite (:func:`_finite`).
    """
    pi = np.maximum(_cell_probabilities(t1, t2, rho), PI_FLOOR)
    dens = _density_grid(t1, t2, rho)
    padded = np.zeros(dens.shape[:2] + (dens.shape[2] + 2, dens.shape[3] + 2))
    padded[:, :, 1:-1, 1:-1] = dens
    dpi = padded[:, :, 1:, 1:] - padded[:, :, :-1, 1:] - padded[:, :, 1:, :-1] + padded[:, :, :-1, :-1]
    ok = pi > PI_FLOOR
    inv = 1.0 / pi
    v = np.where(ok, tables, 0.0) * inv
    q = dpi[0] * inv
    vq = v * q
    grad = _rowdot(v, dpi[0])
    hess = _rowdot(v, dpi[1]) - _rowdot(vq, dpi[0])
    third = _rowdot(v, dpi[2]) - 3.0 * _rowdot(vq, dpi[1]) + 2.0 * _rowdot(vq * q, dpi[0])
    return _PairTerms(pi, ok, dpi, _rowdot(tables, np.log(pi)), grad, hess, third)


def _step(terms: _PairTerms, rho: np.ndarray) -> np.ndarray:
    """Halley step near the maximum, Newton further away, a fixed ascent step where not concave.

    Halley's step ``-2 g h / (2 h^2 - g t)`` (``g, h, t`` the first three
    derivatives of the log-likelihood) converges cubically, so from a start
    within about 1e-3 two evaluations reach 1e-9 and the step from the
    second is below the stopping tolerance. Kept inside ``[-0.999, 0.999]``.
    """
    concave = terms.hess < 0
    safe_h = np.where(concave, terms.hess, -1.0)
    newton = -terms.grad / safe_h
    denom = 2.0 * safe_h * safe_h - terms.grad * terms.third
    halley = -2.0 * terms.grad * safe_h / np.where(denom > 0, denom, 1.0)
    use_halley = (np.abs(newton) < 0.05) & (denom > 0)
    step = np.where(concave, np.where(use_halley, halley, newton), 0.05 * np.sign(terms.grad))
    step = np.clip(step, -0.5, 0.5)
    return np.clip(rho + step, -RHO_BOUND, RHO_BOUND) - rho


@dataclass(frozen=True)
class _NewtonResult:
    rho: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    pi: np.ndarray  # cell probabilities at the returned rho, for Gamma
    dpi: np.ndarray  # their first rho-derivative
    ok: np.ndarray


def _taylor(terms: _PairTerms, sel: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pi`` and ``d pi / d rho`` moved by a last step below the tolerance (third-order Taylor)."""
    d = step[:, None, None]
    d1, d2, d3 = terms.dpi[0][sel], terms.dpi[1][sel], terms.dpi[2][sel]
    pi = terms.pi[sel] + d * (d1 + d * (d2 / 2.0 + d * d3 / 6.0))
    return np.maximum(pi, PI_FLOOR), d1 + d * (d2 + d * d3 / 2.0)


def _newton(tables: np.ndarray, t1: np.ndarray, t2: np.ndarray, start: np.ndarray,
            tol: float = 1e-5, max_iter: int = 50) -> _NewtonResult:
    """Maximise every pair's log-likelihood in rho at once (:func:`_step`, with step halving).

    A point whose log-likelihood fell below the previous accepted point's is
    replaced by the midpoint towards it. A pair stops when its step is below
    ``tol``; the step is then taken (the cubic/quadratic convergence puts the
    result within about ``tol^3`` of the maximiser, 1e-13 in practice) and the cell
    probabilities are moved with it by Taylor's formula. Thresholds may be
    infinite.
    """
    t1, t2 = _finite(t1), _finite(t2)
    m = start.shape[0]
    rho = np.clip(np.asarray(start, dtype=float), -RHO_BOUND, RHO_BOUND).copy()
    prev_rho, prev_logl = rho.copy(), np.full(m, -np.inf)
    iterations = np.zeros(m, dtype=np.int64)
    pi, dpi, ok = np.empty(tables.shape), np.empty(tables.shape), np.empty(tables.shape, dtype=bool)
    active = np.arange(m)
    for _ in range(max_iter):
        if active.size == 0:
            break
        r = rho[active]
        terms = _pair_terms(tables[active], t1[active], t2[active], r)
        iterations[active] += 1
        worse = terms.logl < prev_logl[active] - 1e-12 * np.abs(prev_logl[active])
        step = _step(terms, r)
        done = ~worse & (np.abs(step) < tol)
        prev_rho[active[~worse]], prev_logl[active[~worse]] = r[~worse], terms.logl[~worse]
        rho[active] = np.where(worse, 0.5 * (r + prev_rho[active]), r + step)
        fin = active[done]
        pi[fin], dpi[fin] = _taylor(terms, done, step[done])
        ok[fin] = pi[fin] > PI_FLOOR
        active = active[~done]
    converged = np.ones(m, dtype=bool)
    converged[active] = False
    if active.size:
        terms = _pair_terms(tables[active], t1[active], t2[active], rho[active])
        pi[active], dpi[active], ok[active] = terms.pi, terms.dpi[0], terms.ok
    return _NewtonResult(rho, iterations, converged, pi, dpi, ok)


# ---------------------------------------------------------------------------
def thresholds_from_counts(counts: np.ndarray) -> np.ndarray:
    """Thresholds ``tau_k = Phi^-1(F_k)``, ``k = 0..K-2``, from category counts ``(..., K)``.

    ``F_k`` is the cumulative share of categories ``0..k`` (lavaan
    ``lav_uvord_th``; the ML estimate of the probit thresholds). An empty
    category repeats its neighbour's threshold; empty end categories give
    ``-inf`` (first) or ``+inf`` (last).
    """
    c = np.asarray(counts, dtype=float)
    cum = np.cumsum(c, axis=-1)
    share = cum[..., :-1] / cum[..., -1:]
    share = np.clip(share, 0.0, 1.0)
    return ndtri(share)


def bivariate_table(codes_i: np.ndarray, codes_j: np.ndarray, k_i: int, k_j: int,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """``(k_i, k_j)`` table of (weighted) counts of the category pairs of two coded items."""
    w = None if weights is None else np.asarray(weights, dtype=float)
    flat = np.bincount(codes_i * k_j + codes_j, weights=w, minlength=k_i * k_j)
    return flat.reshape(k_i, k_j).astype(float)


def pair_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``i`` and columns ``j`` (``i > j``) of the correlations in lavaan's order (column by column)."""
    rows = [i for j in range(p - 1) for i in range(j + 1, p)]
    cols = [j for j in range(p - 1) for _ in range(j + 1, p)]
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


def polychoric_loglik(rho: float, table: np.ndarray, tau_i: np.ndarray, tau_j: np.ndarray) -> tuple[float, float, float]:
    """Two-step log-likelihood of one pair at ``rho`` with its analytic first and second derivative.

    ``l(rho) = sum_ab n_ab log pi_ab(rho)`` with ``pi_ab`` the bivariate normal
    probability of the rectangle of thresholds ``a`` x ``b`` (Olsson 1979,
    eq. 6; ``d pi / d rho`` is the rectangle difference of ``phi_2``).
    """
    terms = _pair_terms(np.asarray(table, dtype=float)[None], _finite(np.asarray(tau_i, dtype=float))[None],
                        _finite(np.asarray(tau_j, dtype=float))[None], np.array([float(rho)]))
    return float(terms.logl[0]), float(terms.grad[0]), float(terms.hess[0])


def _pearson_start(table: np.ndarray) -> float:
    """Pearson correlation of the category codes of a table (lavaan's start for the polychoric)."""
    n = table.sum()
    a = np.arange(table.shape[0], dtype=float)
    b = np.arange(table.shape[1], dtype=float)
    pa, pb = table.sum(axis=1) / n, table.sum(axis=0) / n
    ma, mb = pa @ a, pb @ b
    va, vb = pa @ (a - ma) ** 2, pb @ (b - mb) ** 2
    if va <= 0 or vb <= 0:
        return 0.0
    cov = (a - ma) @ (table / n) @ (b - mb)
    r = cov / np.sqrt(va * vb)
    return float(r) if abs(r) < 1.0 else 0.0


def polychoric(table: np.ndarray, tau_i: np.ndarray, tau_j: np.ndarray, start: float | None = None) -> float:
    """Polychoric correlation of one table by two-step ML (Olsson 1979), thresholds held fixed.

    Newton's method on :func:`polychoric_loglik` from the Pearson correlation
    of the codes (lavaan's start), inside lavaan's bounds ``[-0.999, 0.999]``.
    """
    table = np.asarray(table, dtype=float)
    rho0 = _pearson_start(table) if start is None else float(start)
    res = _newton(table[None], np.asarray(tau_i, dtype=float)[None], np.asarray(tau_j, dtype=float)[None],
                  np.array([rho0]))
    if not res.converged[0]:
        log.warning("polychoric correlation did not converge in %d iterations", res.iterations[0])
    return float(res.rho[0])


# ---------------------------------------------------------------------------
# Gamma (NACOV) of thresholds and polychorics
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _GammaParts:
    """Per-pair pieces of lavaan's ``muthen1984`` weight matrix, from the pair's table."""

    score: np.ndarray  # (M, K1, K2) d log pi_ab / d rho (0 in cells below the floor)
    a21_1: np.ndarray  # (M, K1-1) sum_n s_rho,n d log pi / d tau1_k (lavaan A21, first item)
    a21_2: np.ndarray  # (M, K2-1) the same for the second item
    a22: np.ndarray  # (M,) sum_n s_rho,n^2 (lavaan A22)


def _tau_derivative_grid(t1: np.ndarray, t2: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``d Phi_2(tau1_k, upper_b) / d tau1_k`` minus the same at ``lower_b``: ``(M, K1-1, K2)``.

    ``d Phi_2(h, k; r) / d h = phi(h) Phi((k - r h) / sqrt(1 - r^2))``
    (lavaan ``lav_bvord_cor_scores_cache``: ``y1.Z1``). Finite thresholds.
    """
    m = t1.shape[0]
    e2 = np.concatenate([np.full((m, 1), -np.inf), t2, np.full((m, 1), np.inf)], axis=1)
    r = rho[:, None, None]
    cond = ndtr((e2[:, None, :] - r * t1[:, :, None]) / np.sqrt(1.0 - r * r))
    return _normal_pdf(t1)[:, :, None] * np.diff(cond, axis=-1)


def _gamma_parts(tables: np.ndarray, t1: np.ndarray, t2: np.ndarray, at: _NewtonResult) -> _GammaParts:
    """Scores of rho per cell and lavaan's ``A21``, ``A22`` for a batch of pairs (sums over cells).

    ``at`` holds rho and the cell probabilities there; thresholds finite.
    """
    score = np.where(at.ok, at.dpi / at.pi, 0.0)
    q = tables * score / at.pi
    d1 = _tau_derivative_grid(t1, t2, at.rho)
    d2 = np.swapaxes(_tau_derivative_grid(t2, t1, at.rho), 1, 2)
    a21_1 = np.einsum("mkb,mkb->mk", q[:, :-1, :] - q[:, 1:, :], d1)
    a21_2 = np.einsum("mal,mal->ml", q[:, :, :-1] - q[:, :, 1:], d2)
    a22 = np.einsum("mab,mab->m", tables, score * score)
    return _GammaParts(score, a21_1, a21_2, a22)


def _at(tables: np.ndarray, t1: np.ndarray, t2: np.ndarray, rho: np.ndarray) -> _NewtonResult:
    """Cell probabilities of a batch of pairs at given ``rho`` (finite thresholds), as a Newton result."""
    terms = _pair_terms(tables, t1, t2, rho)
    one = np.ones(rho.shape, dtype=bool)
    return _NewtonResult(rho, np.zeros(rho.shape, dtype=np.int64), one, terms.pi, terms.dpi[0], terms.ok)


def _threshold_influence(t: np.ndarray) -> np.ndarray:
    """Influence of every category on every threshold, ``(M, K, K-1)``: ``([a <= k] - F_k) / phi(tau_k)``.

    ``A11^-1 s_a = IF_a / n`` for the saturated threshold model, so this is
    lavaan's ``A11^-1`` applied to the univariate scores; an infinite
    threshold (an empty end category) has none.
    """
    k = t.shape[1]
    below = (np.arange(k + 1)[:, None] <= np.arange(k)[None, :]).astype(float)
    fin = np.isfinite(t)
    tf = np.where(fin, t, 0.0)
    inv = np.where(fin, np.sqrt(_TWO_PI) * np.exp(0.5 * tf * tf), 0.0)
    return (below[None] - ndtr(tf)[:, None, :]) * inv[:, None, :]


def _correlation_gamma_diag(tables: np.ndarray, t1: np.ndarray, t2: np.ndarray, at: _NewtonResult) -> np.ndarray:
    """Diagonal of Gamma for the polychorics of a batch of pairs, from their tables alone.

    Row ``r`` of ``B^-1`` applied to respondent ``n``'s scores is
    ``(s_rho,n - A21 A11^-1 s_tau,n) / A22``; with :func:`_threshold_influence`
    this is ``g_ab = (s_rho,ab - (c1_a + c2_b) / n) / A22``, ``c1_a = sum_k A21_k
    IF_k(a)``, and ``Gamma_rr = n sum_ab n_ab g_ab^2``. Thresholds may be
    infinite (merged or padded categories).
    """
    parts = _gamma_parts(tables, _finite(t1), _finite(t2), at)
    n = tables.sum(axis=(1, 2))
    c1 = np.einsum("mak,mk->ma", _threshold_influence(t1), parts.a21_1)
    c2 = np.einsum("mbl,ml->mb", _threshold_influence(t2), parts.a21_2)
    g = parts.score - (c1[:, :, None] + c2[:, None, :]) / n[:, None, None]
    return n * np.einsum("mab,mab->m", tables, g * g) / parts.a22**2


def _univariate_scores(codes: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``(N, K-1)`` scores ``d log P_a / d tau_k`` of each respondent's category (lavaan ``lav_uvord_scores``)."""
    e = np.concatenate([[-np.inf], tau, [np.inf]])
    dens = _normal_pdf(tau)
    prob = ndtr(e[1:]) - ndtr(e[:-1])
    k = tau.size
    upper = (codes[:, None] == np.arange(k)[None, :]).astype(float)
    lower = (codes[:, None] == np.arange(k)[None, :] + 1).astype(float)
    return (upper - lower) * dens[None, :] / prob[codes][:, None]


def two_step_gamma(codes: np.ndarray, thresholds: list[np.ndarray], rho: np.ndarray,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gamma (NACOV) of thresholds and polychorics as lavaan's ``muthen1984()`` computes it.

    ``Gamma = n B^-1 (sum_i w_i s_i s_i') B^-T`` with ``s_i`` respondent
    ``i``'s scores (univariate threshold scores, then the polychorics' rho
    scores), ``B = [[A11, 0], [A21, A22]]``: ``A11`` the block-diagonal
    (per item) part of ``sum w s s'``, ``A21`` the cross-products of the rho
    scores with the bivariate threshold scores, ``A22`` diagonal (Muthen 1984;
    lavaan ``lav_muthen1984.R``; ``gamma.n.minus.one = FALSE``).

    Parameters
    ----------
    codes : (N, p) int
        Categories ``0 .. K_j-1``, every category used (as after
        :func:`prepare_ordinal` or a recoding without empty categories).
    thresholds : list of (K_j-1,) arrays
    rho : (p*(p-1)/2,) polychorics in :func:`pair_index` order.
    weights : (N,) frequency weights, default 1.

    Returns
    -------
    gamma : (nth + pstar, nth + pstar)
    influence : (N, nth + pstar)
        ``B^-1 s_i``, so that ``gamma = n sum_i w_i influence_i influence_i'``
        and ``sum_i (w_i - 1) influence_i`` is the first-order change of the
        estimates under reweighting.
    """
    n_obs, p = codes.shape
    w = np.ones(n_obs) if weights is None else np.asarray(weights, dtype=float)
    n = w.sum()
    uni = [_univariate_scores(codes[:, j], thresholds[j]) for j in range(p)]
    sizes = np.array([t.size for t in thresholds])
    start = np.concatenate([[0], np.cumsum(sizes)])
    nth = int(start[-1])
    rows, cols = pair_index(p)
    sc_cor = np.empty((n_obs, rows.size))
    a21 = np.zeros((rows.size, nth))
    a22 = np.empty(rows.size)
    for r, (i, j) in enumerate(zip(rows, cols, strict=True)):
        k_j, k_i = sizes[j] + 1, sizes[i] + 1
        table = bivariate_table(codes[:, j], codes[:, i], k_j, k_i, w)
        tj, ti = _finite(thresholds[j])[None], _finite(thresholds[i])[None]
        parts = _gamma_parts(table[None], tj, ti, _at(table[None], tj, ti, np.array([rho[r]])))
        sc_cor[:, r] = parts.score[0][codes[:, j], codes[:, i]]
        a21[r, start[j]:start[j + 1]] = parts.a21_1[0]
        a21[r, start[i]:start[i + 1]] = parts.a21_2[0]
        a22[r] = parts.a22[0]
    sc = np.hstack(uni + [sc_cor])
    inner = sc.T @ (sc * w[:, None])
    a11_inv = np.zeros((nth, nth))
    for j in range(p):
        blk = slice(start[j], start[j + 1])
        a11_inv[blk, blk] = np.linalg.inv(inner[blk, blk])
    b_inv = np.zeros_like(inner)
    b_inv[:nth, :nth] = a11_inv
    b_inv[nth:, :nth] = -(a21 @ a11_inv) / a22[:, None]
    b_inv[nth:, nth:] = np.diag(1.0 / a22)
    gamma = n * (b_inv @ inner @ b_inv.T)
    return gamma, sc @ b_inv.T


# ---------------------------------------------------------------------------
# data, one sample, and batches of resamples
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OrdinalData:
    """Ordinal items after listwise deletion, coded ``0 .. K_j-1`` by the categories used.

    Attributes
    ----------
    names : tuple of str
    codes : (N, p) int64
    levels : tuple of tuple of float
        The answer values that are categories of each item (used by someone).
    n_rows_read : int
        Rows before listwise deletion.
    unused : tuple of tuple of float
        Scale points (of the ``scale`` given to :func:`prepare_ordinal`) no
        remaining respondent used: not categories, as in lavaan.
    """

    names: tuple[str, ...]
    codes: np.ndarray
    levels: tuple[tuple[float, ...], ...]
    n_rows_read: int
    unused: tuple[tuple[float, ...], ...] = field(default=())

    @property
    def n(self) -> int:
        """Respondents analysed (complete rows)."""
        return int(self.codes.shape[0])

    @property
    def n_listwise_deleted(self) -> int:
        """Rows dropped for a missing answer."""
        return self.n_rows_read - self.n

    @cached_property
    def n_categories(self) -> np.ndarray:
        """``(p,)`` categories per item."""
        return np.array([len(lv) for lv in self.levels], dtype=np.intp)

    @property
    def n_unused_categories(self) -> int:
        """Scale points unused, summed over items."""
        return sum(len(u) for u in self.unused)

    @cached_property
    def threshold_names(self) -> tuple[str, ...]:
        """lavaan's names ``item|t1 ...`` in order."""
        return tuple(f"{nm}|t{k + 1}" for nm, kk in zip(self.names, self.n_categories, strict=True)
                     for k in range(kk - 1))

    @cached_property
    def correlation_names(self) -> tuple[str, ...]:
        """lavaan's names ``col~~row`` of the polychorics, in :func:`pair_index` order."""
        rows, cols = pair_index(len(self.names))
        return tuple(f"{self.names[j]}~~{self.names[i]}" for i, j in zip(rows, cols, strict=True))


def prepare_ordinal(values: np.ndarray, names: list[str] | tuple[str, ...],
                    scale: list[float] | tuple[float, ...] | None = None) -> OrdinalData:
    """Listwise deletion and category coding of ``(N, p)`` answers (``NaN`` = missing).

    An item's categories are the values its complete-row answers use; with a
    ``scale`` (all admissible answers, e.g. ``1..7``) every answer must be one
    of them and the unused scale points are recorded.

    Raises
    ------
    DataError
        Shape or name mismatch, answers off the scale, no complete row, or an
        item with fewer than two categories (no threshold, no polychoric).
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise DataError(f"answers must be (N, {len(names)}), got shape {x.shape}")
    complete = ~np.isnan(x).any(axis=1)
    if not complete.any():
        raise DataError("no respondent answered every item (listwise deletion leaves nothing)")
    xc = x[complete]
    if scale is not None:
        off = ~np.isin(xc, np.asarray(scale, dtype=float))
        if off.any():
            raise DataError(f"answers off the scale {list(scale)}: {sorted(set(xc[off].tolist()))[:5]}")
    levels = tuple(tuple(np.unique(xc[:, j]).tolist()) for j in range(xc.shape[1]))
    few = [nm for nm, lv in zip(names, levels, strict=True) if len(lv) < 2]
    if few:
        raise DataError(f"items with fewer than two categories after listwise deletion: {few}")
    codes = np.column_stack([np.searchsorted(np.array(lv), xc[:, j]) for j, lv in enumerate(levels)])
    unused = () if scale is None else tuple(
        tuple(v for v in scale if float(v) not in lv) for lv in levels)
    return OrdinalData(tuple(names), codes.astype(np.int64), levels, int(x.shape[0]), unused)


@dataclass(frozen=True)
class OrdinalStats:
    """Thresholds, polychorics and Gamma of one (possibly reweighted) sample.

    ``thresholds`` are in the full sample's slots (``data.threshold_names``);
    a category the weights leave empty is merged (module docstring), its
    slots repeat a neighbour's threshold or are infinite, and their rows of
    ``gamma`` are ``NaN`` where the threshold is infinite.
    """

    thresholds: np.ndarray
    polychoric: np.ndarray
    n: float
    iterations: np.ndarray
    gamma: np.ndarray | None = None
    influence: np.ndarray | None = None

    @property
    def correlations(self) -> np.ndarray:
        """Polychorics as a vector in :func:`pair_index` order."""
        rows, cols = pair_index(self.polychoric.shape[0])
        return self.polychoric[rows, cols]

    @property
    def n_at_bound(self) -> int:
        """Polychorics at lavaan's bound ``|rho| = 0.999``."""
        return int(np.sum(np.isclose(np.abs(self.correlations), RHO_BOUND, rtol=0, atol=1e-12)))


def _merge_map(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recode of the categories with positive count and the reduced threshold of every slot.

    Returns ``new_code`` per old category (-1 if empty) and, per old
    threshold slot, the index of the reduced threshold it equals (-1 if the
    slot lies below the first or above the last used category: infinite).
    """
    used = counts > 0
    new_code = np.where(used, np.cumsum(used) - 1, -1)
    below = np.cumsum(used)[:-1]  # used categories at or below each slot
    slot = np.where((below >= 1) & (below < used.sum()), below - 1, -1)
    return new_code, slot


def _expand_gamma(gamma: np.ndarray, slot_maps: list[np.ndarray], sizes: list[int], n_pairs: int) -> np.ndarray:
    """Gamma of the merged thresholds written into the full sample's slots (``NaN`` for infinite slots)."""
    starts = np.concatenate([[0], np.cumsum(sizes)])
    index = np.concatenate([np.where(m >= 0, s + m, -1) for m, s in zip(slot_maps, starts[:-1], strict=True)])
    index = np.concatenate([index, starts[-1] + np.arange(n_pairs)])
    out = gamma[np.ix_(np.maximum(index, 0), np.maximum(index, 0))]
    bad = index < 0
    out[bad, :] = np.nan
    out[:, bad] = np.nan
    return out


def ordinal_statistics(data: OrdinalData, weights: np.ndarray | None = None, *,
                       gamma: bool = True) -> OrdinalStats:
    """Thresholds, polychorics (one pair at a time, as lavaan) and Gamma of the data or a reweighting.

    ``weights`` (``(N,)`` non-negative frequency weights, e.g. one row of a
    bootstrap count matrix) reweight the respondents; categories they leave
    empty are merged with a neighbour. The reference path for
    :func:`batched_ordinal_statistics`.
    """
    w = np.ones(data.n) if weights is None else np.asarray(weights, dtype=float)
    keep = w > 0
    codes, w = data.codes[keep], w[keep]
    p = codes.shape[1]
    margins = [np.bincount(codes[:, j], weights=w, minlength=k) for j, k in enumerate(data.n_categories)]
    slot_thresholds = np.concatenate([thresholds_from_counts(m) for m in margins])
    maps = [_merge_map(m) for m in margins]
    if any((m[0] >= 0).sum() < 2 for m in maps):
        raise DataError("an item has fewer than two categories in this reweighting")
    recoded = np.column_stack([maps[j][0][codes[:, j]] for j in range(p)])
    reduced = [thresholds_from_counts(m[m > 0]) for m in margins]
    rows, cols = pair_index(p)
    rho = np.empty(rows.size)
    iterations = np.empty(rows.size, dtype=np.int64)
    for r, (i, j) in enumerate(zip(rows, cols, strict=True)):
        table = bivariate_table(recoded[:, j], recoded[:, i], reduced[j].size + 1, reduced[i].size + 1, w)
        start = _pearson_start(table)
        res = _newton(table[None], reduced[j][None], reduced[i][None], np.array([start]))
        rho[r], iterations[r] = res.rho[0], res.iterations[0]
    poly = np.eye(p)
    poly[rows, cols] = poly[cols, rows] = rho
    if not gamma:
        return OrdinalStats(slot_thresholds, poly, float(w.sum()), iterations)
    g, influence = two_step_gamma(recoded, reduced, rho, w)
    if any((m == 0).any() for m in margins):
        g = _expand_gamma(g, [m[1] for m in maps], [t.size for t in reduced], rows.size)
    return OrdinalStats(slot_thresholds, poly, float(w.sum()), iterations, g,
                        influence if weights is None else None)


@dataclass(frozen=True)
class BatchedOrdinal:
    """Thresholds, polychorics and the diagonal of Gamma of ``B`` resamples.

    Attributes
    ----------
    thresholds : (B, nth)
        In the full sample's slots (``OrdinalData.threshold_names``).
    polychoric : (B, pstar)
        In :func:`pair_index` order; ``NaN`` for pairs of a degenerate resample.
    gamma_diag : (B, nth + pstar)
        Diagonal of each resample's Gamma (the DWLS weights are its inverse);
        ``NaN`` for infinite thresholds.
    empty_categories : (B, p) int
        Categories of the full sample each resample does not draw (merged).
    degenerate : (B,) bool
        Some item kept fewer than two categories.
    iterations : int
        Most Newton evaluations any polychoric needed.
    """

    thresholds: np.ndarray
    polychoric: np.ndarray
    gamma_diag: np.ndarray
    empty_categories: np.ndarray
    degenerate: np.ndarray
    iterations: int

    @property
    def n_merge_events(self) -> int:
        """(resample, item) pairs in which at least one category was merged."""
        return int(np.count_nonzero(self.empty_categories))

    @property
    def n_resamples_merged(self) -> int:
        """Resamples with at least one merged category."""
        return int(np.count_nonzero(self.empty_categories.any(axis=1)))


@dataclass(frozen=True)
class _Design:
    """One-hot codes of the items and of the item pairs, padded to ``kmax`` categories."""

    kmax: int
    items: np.ndarray  # (N, p * kmax)
    pairs: np.ndarray  # (N, pstar * kmax * kmax)
    rows: np.ndarray
    cols: np.ndarray
    slots: np.ndarray  # (nth,) positions of the real threshold slots in the (p, kmax - 1) layout


def _design(data: OrdinalData) -> _Design:
    """The one-hot matrices whose products with a count matrix give all margins and tables."""
    n, p = data.codes.shape
    kmax = int(data.n_categories.max())
    items = np.zeros((n, p * kmax))
    items[np.arange(n)[:, None], np.arange(p) * kmax + data.codes] = 1.0
    rows, cols = pair_index(p)
    cell = (np.arange(rows.size) * kmax * kmax)[None, :] + data.codes[:, cols] * kmax + data.codes[:, rows]
    pairs = np.zeros((n, rows.size * kmax * kmax))
    pairs[np.arange(n)[:, None], cell] = 1.0
    slots = np.concatenate([j * (kmax - 1) + np.arange(k - 1) for j, k in enumerate(data.n_categories)])
    return _Design(kmax, items, pairs, rows, cols, slots)


def _threshold_gamma_diag(t: np.ndarray) -> np.ndarray:
    """``F (1 - F) / phi(tau)^2``: Gamma's diagonal for thresholds (``NaN`` where infinite)."""
    f = ndtr(t)
    dens = _normal_pdf(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(t), f * (1.0 - f) / dens**2, np.nan)


def _chunk(design: _Design, counts: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, ...]:
    """Thresholds, polychorics, Gamma diagonal, empty categories, degeneracy and iterations of one chunk."""
    b, p, k = counts.shape[0], design.items.shape[1] // design.kmax, design.kmax
    margins = (counts @ design.items).reshape(b, p, k)
    tau = thresholds_from_counts(margins)  # (b, p, k-1); padding slots are +inf
    n_cat = np.count_nonzero(design.items.reshape(-1, p, k).any(axis=0), axis=1)
    used = margins > 0
    empty = (~used).sum(axis=2) - (k - n_cat)[None, :]
    degenerate = (used.sum(axis=2) < 2).any(axis=1)
    tables = (counts @ design.pairs).reshape(b * design.rows.size, k, k)
    t1 = tau[:, design.cols, :].reshape(-1, k - 1)
    t2 = tau[:, design.rows, :].reshape(-1, k - 1)
    ok = np.repeat(~degenerate, design.rows.size)
    rho = np.full(ok.size, np.nan)
    gdiag = np.full(ok.size, np.nan)
    iterations = 0
    if ok.any():
        res = _newton(tables[ok], t1[ok], t2[ok], start.reshape(-1)[ok])
        rho[ok] = res.rho
        gdiag[ok] = _correlation_gamma_diag(tables[ok], t1[ok], t2[ok], res)
        iterations = int(res.iterations.max())
    th = tau.reshape(b, -1)[:, design.slots]
    diag = np.hstack([_threshold_gamma_diag(th), gdiag.reshape(b, -1)])
    return th, rho.reshape(b, -1), diag, empty, degenerate, iterations


def batched_ordinal_statistics(data: OrdinalData, counts: np.ndarray, full: OrdinalStats | None = None,
                               chunk_size: int = 128) -> BatchedOrdinal:
    """:func:`ordinal_statistics` of every row of a count matrix at once (bootstrap resamples).

    Margins and bivariate tables of a chunk of resamples are two matrix
    products of the counts ``(B, N)`` with one-hot codes; every polychoric of
    the chunk is found by one vectorised Newton iteration, started from the
    full-sample polychoric moved by the resample's first-order change
    ``counts @ influence`` (:func:`two_step_gamma`); the diagonal of each
    resample's Gamma comes from its tables alone
    (:func:`_correlation_gamma_diag`). Empty categories are merged (module
    docstring). Equal to :func:`ordinal_statistics` row by row up to the
    Newton tolerance (1e-12).
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim != 2 or c.shape[1] != data.n:
        raise DataError(f"counts must be (B, {data.n}), got shape {c.shape}")
    if np.any(c < 0):
        raise DataError("counts must be non-negative")
    full = ordinal_statistics(data) if full is None or full.influence is None else full
    design = _design(data)
    nth = design.slots.size
    start_all = np.clip(full.correlations[None, :] + c @ full.influence[:, nth:], -0.99, 0.99)
    parts = [_chunk(design, c[s:s + chunk_size], start_all[s:s + chunk_size])
             for s in range(0, c.shape[0], chunk_size)]
    return BatchedOrdinal(
        thresholds=np.vstack([q[0] for q in parts]),
        polychoric=np.vstack([q[1] for q in parts]),
        gamma_diag=np.vstack([q[2] for q in parts]),
        empty_categories=np.vstack([q[3] for q in parts]).astype(np.int64),
        degenerate=np.concatenate([q[4] for q in parts]),
        iterations=max(q[5] for q in parts),
    )
