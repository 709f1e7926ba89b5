"""PLS path modelling and consistent PLS (PLSc): the reference engine, one fit at a time.

Partial least squares path modelling (Wold 1982; Lohmöller 1989, *Latent
Variable Path Modeling with Partial Least Squares*) estimates each construct
as a weighted composite of its standardized indicators. Everything it needs
is the ``p x p`` item correlation matrix ``S``: the composite ``Y_j = X w_j``
has variance ``w_j' S_jj w_j`` and covariance ``(S W)_kj`` with item ``k``,
so this module works on ``S`` alone (and :mod:`xhs_sharing.sem.pls_batched`
does the same for a stack of resampled correlation matrices at once).

Algorithm (as seminr's ``simplePLS``, Ray, Danks & Calero Valdez 2021, and
Hair et al. 2021, ch. 3):

1. start from unit outer weights, scaled so every composite has unit variance;
2. inner weights ``E`` from the composite correlations ``C = W' S W``
   (:func:`inner_weights`: path weighting, factorial or centroid scheme);
3. mode A outer weights ``w_j ∝ (S W E)_{block j, j}``, the covariances of the
   items with their inner proxy ``Z_j = Y E_j``, rescaled to unit composite
   variance;
4. repeat 2-3 until ``sum |w_new - w_old| < tol`` (seminr's criterion,
   ``tol = 1e-7``) or ``max_iter`` (300) updates.

After convergence the path coefficients are the OLS regressions of each
endogenous composite on its predecessors, from ``C``. Consistent PLS
(Dijkstra & Henseler 2015, *MIS Quarterly* 39(2), 297-316) divides ``C`` by
``sqrt(rho_A,i rho_A,j)`` (the attenuation of composites of reflective
blocks), and re-runs the OLS on the corrected correlations; the consistent
loadings are ``lambda_j = w_j sqrt(rho_A,j) / (w_j' w_j)``.

Reported quantities (Hair et al. 2021, ch. 4 and 6): outer weights and
loadings, path coefficients, R-squared and adjusted R-squared, f-squared,
inner VIF, Cronbach's alpha, rho_A, composite reliability rho_C, AVE, HTMT
(Henseler, Ringle & Sarstedt 2015) and specific/total indirect effects. Only
reflective (mode A) blocks are supported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import pandas as pd

from xhs_sharing.errors import DataError, EstimationError, SpecError

__all__ = [
    "MAX_ITER",
    "SCHEMES",
    "TOL",
    "PlsFit",
    "PlsSpec",
    "adjusted_r_squared",
    "admissible",
    "composite_reliability",
    "consistent_correlations",
    "consistent_loadings",
    "cronbach_alpha",
    "effects_table",
    "f_squared",
    "fit_pls",
    "htmt",
    "htmt_table",
    "indirect_chains",
    "inner_vif",
    "inner_weights",
    "item_correlations",
    "outer_table",
    "outer_weights",
    "path_coefficients",
    "path_table",
    "pls_spec",
    "quality_table",
    "rho_a",
    "specific_indirect",
    "total_effects",
]

#: seminr's convergence criterion: the summed absolute change of the outer weights.
TOL: Final = 1e-7

#: seminr's cap on the outer iterations.
MAX_ITER: Final = 300

#: Inner weighting schemes (Lohmöller 1989, sec. 2.3).
SCHEMES: Final = ("path", "factorial", "centroid")


@dataclass(frozen=True)
class PlsSpec:
    """A PLS path model: reflective blocks and directed paths between constructs.

    Attributes
    ----------
    constructs : tuple of str
        Construct names, in block order.
    blocks : tuple of tuple of str
        Items of each construct (same order as ``constructs``).
    paths : tuple of (str, str)
        ``(source, target)`` structural paths.
    """

    constructs: tuple[str, ...]
    blocks: tuple[tuple[str, ...], ...]
    paths: tuple[tuple[str, str], ...]

    @property
    def items(self) -> tuple[str, ...]:
        """All items, block after block: the row/column order of every correlation matrix."""
        return tuple(item for block in self.blocks for item in block)

    @cached_property
    def membership(self) -> np.ndarray:
        """``(p, K)`` 0/1 matrix: item ``k`` belongs to construct ``j``."""
        m = np.zeros((len(self.items), len(self.constructs)))
        row = 0
        for j, block in enumerate(self.blocks):
            m[row:row + len(block), j] = 1.0
            row += len(block)
        return m

    @cached_property
    def path_mask(self) -> np.ndarray:
        """``(K, K)`` 0/1 matrix with 1 at ``[source, target]``."""
        idx = {c: j for j, c in enumerate(self.constructs)}
        m = np.zeros((len(self.constructs),) * 2)
        for s, t in self.paths:
            m[idx[s], idx[t]] = 1.0
        return m

    def predecessors(self, j: int) -> list[int]:
        """Indices of the constructs with a path into construct ``j`` (in construct order)."""
        return [int(i) for i in np.flatnonzero(self.path_mask[:, j])]

    @cached_property
    def endogenous(self) -> list[int]:
        """Indices of the constructs with at least one predecessor."""
        return [j for j in range(len(self.constructs)) if self.predecessors(j)]


def _check_acyclic(constructs: Sequence[str], paths: Sequence[tuple[str, str]]) -> None:
    """Raise :class:`SpecError` if the paths contain a cycle (Kahn's algorithm)."""
    indegree = {c: 0 for c in constructs}
    for _, t in paths:
        indegree[t] += 1
    ready = [c for c, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        c = ready.pop()
        seen += 1
        for s, t in paths:
            if s == c:
                indegree[t] -= 1
                if indegree[t] == 0:
                    ready.append(t)
    if seen != len(indegree):
        cyc = sorted(c for c, d in indegree.items() if d > 0)
        raise SpecError(f"PLS paths must be recursive (no cycles); the cycle involves {cyc}")


def pls_spec(blocks: Mapping[str, Sequence[str]], paths: Sequence[tuple[str, str]]) -> PlsSpec:
    """Build and check a :class:`PlsSpec` from ``{construct: items}`` and ``(source, target)`` paths.

    Raises
    ------
    SpecError
        An empty block, an item in two blocks, a path naming an unknown
        construct, a self-loop, a repeated path or a cycle.
    """
    constructs = tuple(blocks)
    seen: dict[str, str] = {}
    for c, items in blocks.items():
        if len(items) == 0:
            raise SpecError(f"PLS block {c!r} has no items")
        for item in items:
            if item in seen:
                raise SpecError(f"item {item!r} is in two PLS blocks: {seen[item]!r} and {c!r}")
            seen[item] = c
    pairs = tuple((str(s), str(t)) for s, t in paths)
    for s, t in pairs:
        unknown = [x for x in (s, t) if x not in blocks]
        if unknown:
            raise SpecError(f"PLS path {s} -> {t} names unknown construct(s) {unknown}")
        if s == t:
            raise SpecError(f"PLS path {s} -> {t} is a self-loop")
    if len(set(pairs)) != len(pairs):
        raise SpecError("a PLS path is listed twice")
    _check_acyclic(constructs, pairs)
    return PlsSpec(constructs, tuple(tuple(blocks[c]) for c in constructs), pairs)


def item_correlations(data: pd.DataFrame, spec: PlsSpec) -> np.ndarray:
    """Pearson correlations of ``spec.items`` in ``data`` (complete data required).

    Raises
    ------
    DataError
        A missing item column, missing values (naming the columns and row
        count) or an item without variance.
    """
    missing = [i for i in spec.items if i not in data.columns]
    if missing:
        raise DataError(f"PLS items not in the data: {missing}")
    x = data.loc[:, list(spec.items)].to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        cols = [spec.items[k] for k in np.flatnonzero(bad.any(axis=0))]
        raise DataError(
            f"PLS needs complete data: {int(bad.any(axis=1).sum())} row(s) have missing values "
            f"in columns {cols}"
        )
    sd = x.std(axis=0)
    if np.any(sd == 0):
        raise DataError(f"PLS items without variance: {[spec.items[k] for k in np.flatnonzero(sd == 0)]}")
    return np.corrcoef(x, rowvar=False)


def _scale_weights(corr: np.ndarray, spec: PlsSpec, w: np.ndarray) -> np.ndarray:
    """Rescale each block of ``w`` so its composite has unit variance, ``w_j' S_jj w_j = 1``."""
    out = np.empty_like(w)
    start = 0
    for block in spec.blocks:
        sl = slice(start, start + len(block))
        out[sl] = w[sl] / np.sqrt(w[sl] @ corr[sl, sl] @ w[sl])
        start += len(block)
    return out


def _weight_matrix(spec: PlsSpec, w: np.ndarray) -> np.ndarray:
    """``(p, K)`` block-diagonal weight matrix ``W`` from the stacked weight vector ``w``."""
    return spec.membership * w[:, None]


def _ols(c: np.ndarray, predictors: Sequence[int], target: int) -> np.ndarray:
    """Standardized OLS coefficients of ``target`` on ``predictors`` from a correlation matrix ``c``.

    ``beta = C_PP^{-1} C_Pt``.
    """
    p = list(predictors)
    return np.linalg.solve(c[np.ix_(p, p)], c[p, target])


def adjacent_weights(c: np.ndarray, spec: PlsSpec, scheme: str) -> np.ndarray | None:
    """Inner weights of the factorial and centroid schemes, None for the path scheme.

    Works on one construct correlation matrix ``(K, K)`` or a stack ``(B, K, K)``;
    :class:`SpecError` for an unknown scheme.
    """
    adjacent = spec.path_mask + spec.path_mask.T
    if scheme == "factorial":
        return c * adjacent
    if scheme == "centroid":
        return np.sign(c) * adjacent
    if scheme != "path":
        raise SpecError(f"unknown PLS inner weighting scheme {scheme!r}; use one of {SCHEMES}")
    return None


def inner_weights(c: np.ndarray, spec: PlsSpec, scheme: str = "path") -> np.ndarray:
    """Inner weights ``E`` (K x K); the inner proxy of construct ``j`` is ``Z_j = sum_i Y_i E_ij``.

    * ``path`` (Lohmöller 1989): ``E_ij = beta_ij`` (OLS coefficient of ``i``
      in the regression of ``j`` on its predecessors) when ``i -> j``, and
      ``E_ij = C_ij`` when ``j -> i`` (``i`` a successor of ``j``);
    * ``factorial``: ``E_ij = C_ij`` for adjacent ``i, j``;
    * ``centroid``: ``E_ij = sign(C_ij)`` for adjacent ``i, j``.
    """
    adjacent = adjacent_weights(c, spec, scheme)
    if adjacent is not None:
        return adjacent
    e = c * spec.path_mask.T
    for j in spec.endogenous:
        pred = spec.predecessors(j)
        e[pred, j] = _ols(c, pred, j)
    return e


def outer_weights(
    corr: np.ndarray, spec: PlsSpec, scheme: str = "path", tol: float = TOL, max_iter: int = MAX_ITER
) -> tuple[np.ndarray, int, bool]:
    """Mode A outer weights by the PLS iterations (steps 1-4 of the module docstring).

    Returns
    -------
    w : np.ndarray, shape (p,)
        Stacked outer weights (each block scaled to a unit-variance composite).
    n_iter : int
        Weight updates made.
    converged : bool
        ``sum |w_new - w_old| < tol`` was reached within ``max_iter`` updates.
    """
    m = spec.membership
    w = _scale_weights(corr, spec, np.ones(len(spec.items)))
    for it in range(1, max_iter + 1):
        wm = m * w[:, None]
        e = inner_weights(wm.T @ corr @ wm, spec, scheme)
        new = _scale_weights(corr, spec, ((corr @ wm @ e) * m).sum(axis=1))
        diff = float(np.abs(new - w).sum())
        w = new
        if diff < tol:
            return w, it, True
    return w, max_iter, False


def rho_a(corr: np.ndarray, spec: PlsSpec, w: np.ndarray) -> np.ndarray:
    """Dijkstra-Henseler reliability ``rho_A`` of every block, shape (K,).

    ``rho_A = (w'w)^2 * w'(S - diag S)w / w'(ww' - diag(ww'))w`` (Dijkstra &
    Henseler 2015, eq. 20); 1 for a single-item block.
    """
    out = np.ones(len(spec.constructs))
    start = 0
    for j, block in enumerate(spec.blocks):
        sl = slice(start, start + len(block))
        start += len(block)
        if len(block) == 1:
            continue
        wj, s = w[sl], corr[sl, sl]
        wtw = wj @ wj
        out[j] = wtw**2 * (wj @ s @ wj - wj**2 @ np.diag(s)) / (wtw**2 - np.sum(wj**4))
    return out


def consistent_loadings(spec: PlsSpec, w: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """PLSc loadings ``lambda_j = w_j sqrt(rho_A,j) / (w_j' w_j)`` (Dijkstra & Henseler 2015, eq. 21)."""
    out = np.empty_like(w)
    start = 0
    for j, block in enumerate(spec.blocks):
        sl = slice(start, start + len(block))
        start += len(block)
        out[sl] = w[sl] * np.sqrt(rho[j]) / (w[sl] @ w[sl])
    return out


def path_coefficients(c: np.ndarray, spec: PlsSpec) -> np.ndarray:
    """``(K, K)`` path coefficients ``B[source, target]``: OLS of each endogenous construct on its predecessors."""
    b = np.zeros_like(c)
    for j in spec.endogenous:
        pred = spec.predecessors(j)
        b[pred, j] = _ols(c, pred, j)
    return b


def _r2(c: np.ndarray, predictors: Sequence[int], target: int) -> float:
    """``R^2 = r' C_PP^{-1} r`` of ``target`` on ``predictors`` (0 without predictors)."""
    if not predictors:
        return 0.0
    return float(c[list(predictors), target] @ _ols(c, predictors, target))


def adjusted_r_squared(r2: np.ndarray, n_obs: int, n_predictors: np.ndarray) -> np.ndarray:
    """``1 - (1 - R^2)(n - 1)/(n - k - 1)`` (Hair et al. 2021, ch. 6)."""
    return 1.0 - (1.0 - r2) * (n_obs - 1) / (n_obs - n_predictors - 1)


def f_squared(c: np.ndarray, spec: PlsSpec) -> np.ndarray:
    """Cohen's effect size of every path, ``(K, K)``: ``f^2 = (R^2_incl - R^2_excl)/(1 - R^2_incl)``.

    ``R^2_excl`` is computed from the same composites (construct
    correlations ``c``); seminr instead re-estimates the whole model without
    the path, which changes the outer weights a little (corporate reputation
    model: CUSA -> CUSL 0.410 here, 0.401 in seminr; tests/test_pls.py).
    """
    out = np.full_like(c, np.nan)
    for j in spec.endogenous:
        pred = spec.predecessors(j)
        full = _r2(c, pred, j)
        for i in pred:
            out[i, j] = (full - _r2(c, [k for k in pred if k != i], j)) / (1.0 - full)
    return out


def inner_vif(c: np.ndarray, spec: PlsSpec) -> np.ndarray:
    """Collinearity of the predictors of every endogenous construct, ``(K, K)``: ``VIF = diag(C_PP^{-1})``."""
    out = np.full_like(c, np.nan)
    for j in spec.endogenous:
        pred = spec.predecessors(j)
        out[pred, j] = np.diag(np.linalg.inv(c[np.ix_(pred, pred)]))
    return out


def cronbach_alpha(corr: np.ndarray, spec: PlsSpec) -> np.ndarray:
    """Standardized Cronbach's alpha of every block: ``k/(k-1) (1 - k / sum(S_jj))``; 1 for one item."""
    m = spec.membership
    k = m.sum(axis=0)
    total = np.einsum("pj,pq,qj->j", m, corr, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = k / (k - 1) * (1 - k / total)
    return np.where(k > 1, alpha, 1.0)


def composite_reliability(spec: PlsSpec, loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rho_C = (sum l)^2 / ((sum l)^2 + sum(1 - l^2))`` and ``AVE = mean(l^2)`` per block (Hair et al. 2021, ch. 4)."""
    m = spec.membership
    s = loadings @ m
    sq = (loadings**2) @ m
    rho_c = s**2 / (s**2 + m.sum(axis=0) - sq)
    return rho_c, sq / m.sum(axis=0)


def htmt(corr: np.ndarray, spec: PlsSpec) -> np.ndarray:
    """Heterotrait-monotrait ratios (Henseler, Ringle & Sarstedt 2015, eq. 6), ``(K, K)``, diagonal NaN.

    ``HTMT_ij = mean|r_hetero(i, j)| / sqrt(mean|r_mono(i)| mean|r_mono(j)|)``,
    absolute correlations as in seminr; the monotrait mean of a single-item
    block is 1.
    """
    m = spec.membership
    k = m.sum(axis=0)
    sums = m.T @ np.abs(corr) @ m
    hetero = sums / np.outer(k, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = np.where(k > 1, (np.diag(sums) - k) / (k * (k - 1)), 1.0)
    out = hetero / np.sqrt(np.outer(mono, mono))
    np.fill_diagonal(out, np.nan)
    return out


def indirect_chains(spec: PlsSpec) -> list[tuple[int, ...]]:
    """Every directed chain of two or more paths, as construct indices ``(source, ..., target)``.

    Depth-first from every construct, in construct order; its specific
    indirect effect is the product of the path coefficients along it.
    """
    mask = spec.path_mask
    chains: list[tuple[int, ...]] = []

    def walk(chain: tuple[int, ...]) -> None:
        for nxt in np.flatnonzero(mask[chain[-1]]):
            longer = (*chain, int(nxt))
            if len(longer) >= 3:
                chains.append(longer)
            walk(longer)

    for start in range(len(spec.constructs)):
        walk((start,))
    return chains


def specific_indirect(b: np.ndarray, chains: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Specific indirect effects: ``prod_k B[c_k, c_{k+1}]`` along every chain, shape (n_chains,)."""
    return np.array([np.prod([b[s, t] for s, t in zip(ch[:-1], ch[1:], strict=False)]) for ch in chains])


def total_effects(b: np.ndarray) -> np.ndarray:
    """Total effects ``T = (I - B)^{-1} - I = B + B^2 + ...`` of a recursive model (``[source, target]``).

    The total indirect effects are ``T - B``.
    """
    eye = np.eye(b.shape[0])
    return np.linalg.inv(eye - b) - eye


def consistent_correlations(c: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Construct correlations corrected for attenuation: ``C_ij / sqrt(rho_A,i rho_A,j)``, unit diagonal.

    Dijkstra & Henseler (2015, eq. 22).
    """
    out = c / np.sqrt(np.outer(rho, rho))
    np.fill_diagonal(out, 1.0)
    return out


def admissible(rho: np.ndarray, construct_corr: np.ndarray, loadings: np.ndarray) -> bool:
    """A PLSc solution is admissible when every ``0 < rho_A <= 1``, every ``|loading| <= 1`` and the
    corrected construct correlation matrix is positive definite (cSEM's checks, Rademaker & Schuberth 2020).
    """
    if not (np.all(rho > 0) and np.all(rho <= 1 + 1e-12) and np.all(np.abs(loadings) <= 1 + 1e-12)):
        return False
    return bool(np.linalg.eigvalsh(construct_corr).min() > 0)


@dataclass(frozen=True, eq=False)
class PlsFit:
    """One PLS or PLSc fit (arrays in ``spec`` order; ``[source, target]`` for construct pairs).

    Attributes
    ----------
    spec : PlsSpec
    n_obs : int
    consistent : bool
        PLSc (True) or PLS (False).
    weights, loadings : np.ndarray, shape (p,)
        Outer weights; outer loadings (PLSc: consistent loadings).
    construct_corr : np.ndarray, shape (K, K)
        Composite correlations (PLSc: corrected for attenuation).
    paths : np.ndarray, shape (K, K)
    r2, rho_a : np.ndarray, shape (K,)
    n_iter : int
    converged, proper : bool
        ``proper`` is :func:`admissible` for PLSc and always True for PLS.
    """

    spec: PlsSpec
    n_obs: int
    consistent: bool
    weights: np.ndarray
    loadings: np.ndarray
    construct_corr: np.ndarray
    paths: np.ndarray
    r2: np.ndarray
    rho_a: np.ndarray
    n_iter: int
    converged: bool
    proper: bool


def fit_pls(
    corr: np.ndarray,
    spec: PlsSpec,
    n_obs: int,
    consistent: bool = True,
    scheme: str = "path",
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> PlsFit:
    """Fit PLS (``consistent=False``) or PLSc to the item correlation matrix ``corr`` (``spec.items`` order).

    Raises
    ------
    DataError
        ``corr`` is not a ``p x p`` correlation matrix of the spec's items.
    EstimationError
        A singular construct correlation matrix (e.g. two identical composites).
    """
    corr = np.asarray(corr, dtype=float)
    p = len(spec.items)
    if corr.shape != (p, p) or not np.allclose(np.diag(corr), 1.0):
        raise DataError(f"fit_pls needs the {p}x{p} item correlation matrix, got shape {corr.shape}")
    w, n_iter, converged = outer_weights(corr, spec, scheme, tol, max_iter)
    wm = _weight_matrix(spec, w)
    c = wm.T @ corr @ wm
    rho = rho_a(corr, spec, w)
    if consistent:
        c = consistent_correlations(c, rho)
        loadings = consistent_loadings(spec, w, rho)
    else:
        loadings = ((corr @ wm) * spec.membership).sum(axis=1)
    try:
        paths = path_coefficients(c, spec)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"PLS construct correlations are singular: {exc}") from exc
    r2 = np.array([_r2(c, spec.predecessors(j), j) for j in range(len(spec.constructs))])
    proper = admissible(rho, c, loadings) if consistent else True
    return PlsFit(spec, int(n_obs), consistent, w, loadings, c, paths, r2, rho, n_iter, converged, proper)


def outer_table(fit: PlsFit) -> pd.DataFrame:
    """Outer model: one row per item with ``construct, item, weight, loading``."""
    spec = fit.spec
    return pd.DataFrame({
        "construct": [c for c, b in zip(spec.constructs, spec.blocks, strict=True) for _ in b],
        "item": list(spec.items),
        "weight": fit.weights,
        "loading": fit.loadings,
    })


def path_table(fit: PlsFit) -> pd.DataFrame:
    """Structural paths: ``source, target, estimate, f2, vif`` (inner VIF), in ``spec.paths`` order."""
    spec = fit.spec
    idx = {c: j for j, c in enumerate(spec.constructs)}
    f2 = f_squared(fit.construct_corr, spec)
    vif = inner_vif(fit.construct_corr, spec)
    rows = [
        (s, t, fit.paths[idx[s], idx[t]], f2[idx[s], idx[t]], vif[idx[s], idx[t]])
        for s, t in spec.paths
    ]
    return pd.DataFrame(rows, columns=["source", "target", "estimate", "f2", "vif"])


def quality_table(fit: PlsFit, corr: np.ndarray) -> pd.DataFrame:
    """Construct quality: ``construct, n_items, r2, adj_r2, alpha, rho_a, rho_c, ave``.

    ``r2``/``adj_r2`` are NaN for exogenous constructs; ``rho_c`` and ``AVE``
    use the fit's loadings (PLS loadings for PLS, consistent ones for PLSc,
    as seminr does).
    """
    spec = fit.spec
    k_pred = fit.spec.path_mask.sum(axis=0)
    endo = k_pred > 0
    rho_c, ave = composite_reliability(spec, fit.loadings)
    return pd.DataFrame({
        "construct": list(spec.constructs),
        "n_items": [len(b) for b in spec.blocks],
        "r2": np.where(endo, fit.r2, np.nan),
        "adj_r2": np.where(endo, adjusted_r_squared(fit.r2, fit.n_obs, k_pred), np.nan),
        "alpha": cronbach_alpha(corr, spec),
        "rho_a": fit.rho_a,
        "rho_c": rho_c,
        "ave": ave,
    })


def htmt_table(corr: np.ndarray, spec: PlsSpec) -> pd.DataFrame:
    """HTMT of every construct pair ``i < j`` (spec order): ``construct_a, construct_b, htmt``."""
    h = htmt(corr, spec)
    k = len(spec.constructs)
    rows = [(spec.constructs[i], spec.constructs[j], h[i, j]) for i in range(k) for j in range(i + 1, k)]
    return pd.DataFrame(rows, columns=["construct_a", "construct_b", "htmt"])


def effects_table(fit: PlsFit) -> pd.DataFrame:
    """Specific indirect effects, then total indirect and total effects of every connected pair.

    Columns ``effect`` (``specific``, ``total_indirect`` or ``total``),
    ``source, target, chain`` (``"A -> M -> B"``; empty for totals) and ``estimate``.
    """
    spec = fit.spec
    names = spec.constructs
    chains = indirect_chains(spec)
    spec_eff = specific_indirect(fit.paths, chains)
    rows = [("specific", names[ch[0]], names[ch[-1]], " -> ".join(names[i] for i in ch), e)
            for ch, e in zip(chains, spec_eff, strict=True)]
    tot = total_effects(fit.paths)
    pairs = sorted({(ch[0], ch[-1]) for ch in chains})
    rows += [("total_indirect", names[i], names[j], "", tot[i, j] - fit.paths[i, j]) for i, j in pairs]
    reach = sorted({(i, j) for i, j in zip(*np.nonzero(spec.path_mask), strict=True)} | set(pairs))
    rows += [("total", names[i], names[j], "", tot[i, j]) for i, j in reach]
    return pd.DataFrame(rows, columns=["effect", "source", "target", "chain", "estimate"])
