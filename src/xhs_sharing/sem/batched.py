"""Fit one latent SEM to many covariance matrices at once.

Bootstrap resamples and Monte Carlo replications refit the *same* model
thousands of times; only the sample covariance matrix changes. This module
takes the model exactly as semopy parses it (its matrices ``Beta``,
``Lambda``, ``Psi``, ``Theta`` and its vector of free parameters, in
``model.param_vals`` order) and minimises semopy's Wishart ML discrepancy

    F(theta; S) = log|Sigma| + tr(S Sigma^-1) - log|S| - p,
    Sigma = Lambda C Psi C' Lambda' + Theta,   C = (I - Beta)^-1,

for a whole stack of sample covariances ``S`` (N divisor, as
``semopy.utils.cov``) with array operations.

The method is Fisher scoring with step halving. Every derivative of Sigma
with respect to one matrix entry is a symmetric rank-two matrix
``s (u v' + v u')`` whose vectors ``u, v`` are columns of ``I_p``,
``M = Lambda C`` or ``G = Lambda C Psi C'`` (``s = 1/2`` for a diagonal
entry of Psi or Theta). With ``K = Sigma^-1`` and the pool ``P = [I | M | G]``
the expected information and the gradient reduce to entries of the two small
matrices ``P'KP`` and ``P'(K - KSK)P``:

    H_ij = tr(K Sigma_i K Sigma_j) = 2 s_i s_j [(u_i'Ku_j)(v_i'Kv_j) + (u_i'Kv_j)(v_i'Ku_j)]
    g_i  = tr((K - KSK) Sigma_i)   = 2 s_i v_i'(K - KSK)u_i

so no ``q x p x p`` derivative array is ever formed. ``H`` is the unit
information of ``F`` (the Fisher information of a sample of ``n`` rows is
``n/2 H``, semopy's ``calc_fim``), so ``theta - H^-1 g`` is a Fisher-scoring
step for ``F``.

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
``max_iter`` steps, whose start is inadmissible, or whose solution leaves the
admissible region (a parameter outside semopy's bounds, e.g. a negative
variance) are refitted one at a time with semopy, warm-started, with semopy's
bounds; if that fails too they are reported as failed (``params`` NaN).
"""

from __future__ import annotations

import copy
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import semopy

from xhs_sharing.errors import DataError, EstimationError
from xhs_sharing.sem.bootstrap import CONVERGED, IMPROPER, refit_resample
from xhs_sharing.sem.checks import solution_problems
from xhs_sharing.sem.resample import counts_from_indices, resample_covariances

log = logging.getLogger(__name__)

__all__ = [
    "BatchFit",
    "BatchedModel",
]


_MATRICES = ("beta", "lambda", "psi", "theta")


@dataclass
class BatchFit:
    """Result of :meth:`BatchedModel.fit_batch` for a stack of ``B`` covariances.

    ``params`` is ``(B, q)`` in the model's parameter order
    (:attr:`BatchedModel.names`), NaN for failed members. ``converged`` is
    True when the member converged, by the batched Fisher scoring or by the
    semopy refit; ``failed`` is its complement. ``refitted`` marks members
    that went to semopy. ``fmin`` is semopy's MLW value at the solution
    (``chi2 = n * fmin``); ``n_iter`` the number of Fisher-scoring steps
    (for refitted members, semopy's iteration count). ``se`` (``(B, q)``,
    only when requested) are expected-information standard errors for a
    sample of ``n`` rows.
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

    @property
    def refit_count(self) -> int:
        """How many members were refitted one by one with semopy."""
        return int(self.refitted.sum())

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    @property
    def n_converged(self) -> int:
        return int(self.converged.sum())

    @property
    def chi2(self) -> np.ndarray:
        """Likelihood-ratio statistics ``n * fmin`` (semopy's ``calc_chi2``)."""
        return self.n * self.fmin

    def frame(self) -> pd.DataFrame:
        """The estimates as a ``(B, q)`` DataFrame with parameter names as columns."""
        return pd.DataFrame(self.params, columns=list(self.names))


@dataclass(frozen=True)
class _Label:
    matrix: str
    row: str
    col: str


def _safe_cholesky(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack ``(B, k, k)`` that tolerates failures.

    Returns ``(L, ok)``: ``ok[b]`` is False where ``a[b]`` is not (numerically)
    positive definite or not finite, and ``L[b]`` is then the identity. The
    whole stack is factored in one call; only when that fails are the
    members tried one by one to find the culprits.
    """
    nb, k = a.shape[0], a.shape[-1]
    ok = np.all(np.isfinite(a.reshape(nb, -1)), axis=1)
    if ok.all():
        try:
            return np.linalg.cholesky(a), ok
        except np.linalg.LinAlgError:
            pass
    for b in np.flatnonzero(ok):
        try:
            np.linalg.cholesky(a[b])
        except np.linalg.LinAlgError:
            ok[b] = False
    a = a.copy()
    a[~ok] = np.eye(k)
    return np.linalg.cholesky(a), ok


def _tri_inv(L: np.ndarray) -> np.ndarray:
    """Inverses of a stack of lower-triangular matrices, ``(B, k, k)``.

    numpy has no batched triangular solve, and ``np.linalg.inv`` (LU) is ~3x
    slower: forward substitution with one vectorised row update per matrix
    row over the whole stack, split into 2x2 blocks
    ``[[A, 0], [C, D]]^-1 = [[A^-1, 0], [-D^-1 C A^-1, D^-1]]`` when large.
    """
    nb, k, _ = L.shape
    if k > 24:
        h = k // 2
        X = np.zeros_like(L)
        a_inv = _tri_inv(L[:, :h, :h])
        d_inv = _tri_inv(L[:, h:, h:])
        X[:, :h, :h] = a_inv
        X[:, h:, h:] = d_inv
        X[:, h:, :h] = -(d_inv @ (L[:, h:, :h] @ a_inv))
        return X
    X = np.zeros_like(L)
    d = 1.0 / np.diagonal(L, axis1=1, axis2=2)
    X[:, 0, 0] = d[:, 0]
    for i in range(1, k):
        t = np.matmul(L[:, i : i + 1, :i], X[:, :i, :i])[:, 0, :]
        X[:, i, :i] = t * -d[:, i : i + 1]
        X[:, i, i] = d[:, i]
    return X


def _nilpotency_depth(beta0: np.ndarray, scatter: tuple[np.ndarray, np.ndarray, np.ndarray]) -> int | None:
    """Longest path of Beta's structural pattern, or None when it has a cycle.

    For an acyclic pattern ``Beta^(d+1) = 0`` and ``(I - Beta)^-1 = I + Beta + ... + Beta^d``.
    """
    pattern = beta0 != 0
    r, c, _ = scatter
    pattern[r, c] = True
    m = pattern.shape[0]
    power = np.eye(m, dtype=bool)
    for depth in range(m + 1):
        power = (power.astype(np.int64) @ pattern.astype(np.int64)) > 0
        if not power.any():
            return depth
    return None


def _inv_chol_factor(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X = L^-1`` for ``h = L L'`` (so ``h^-1 = X' X``); NaN where ``h`` is not PD."""
    L, ok = _safe_cholesky(h)
    X = _tri_inv(L)
    X[~ok] = np.nan
    return X, ok


def _available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _Outputs:
    """Result arrays shared by the chunks (each chunk writes its own rows)."""

    def __init__(self, nb: int, q: int, want_se: bool) -> None:
        self.params = np.full((nb, q), np.nan)
        self.fmin = np.full(nb, np.nan)
        self.n_iter = np.zeros(nb, dtype=np.int64)
        self.converged = np.zeros(nb, dtype=bool)
        self.gmax = np.full(nb, np.nan)
        self.se = np.full((nb, q), np.nan) if want_se else None
        self.n_all = np.zeros(nb)
        self.to_refit: list[tuple[int, np.ndarray | None]] = []  # list.append is atomic


class BatchedModel:
    """A semopy model prepared for batched ML estimation.

    Build it with :meth:`from_semopy` (a semopy ``Model`` with data or a
    covariance loaded, ideally fitted: its ``param_vals`` become the default
    start) or :meth:`from_syntax`. The parameter vector has semopy's layout:
    ``names[i]`` is the semopy name of column ``i`` of every ``params`` array
    and :meth:`index` finds it from a lavaan-style ``(lval, op, rval)``.
    """

    def __init__(self, model: semopy.Model, start: np.ndarray | None = None) -> None:
        if not isinstance(model, semopy.Model) or tuple(getattr(model, "matrices_names", ())) != _MATRICES:
            raise EstimationError("BatchedModel needs a plain semopy.Model (no mean structure or random effects)")
        if getattr(model, "constraints", None):
            raise EstimationError("BatchedModel does not support semopy CONSTRAINT operations")
        if not hasattr(model, "param_vals"):
            raise EstimationError("load data or a covariance matrix into the semopy model first (model.load / model.fit)")
        self._semopy = copy.deepcopy(model)
        sm = self._semopy
        self.observed: tuple[str, ...] = tuple(sm.vars["observed"])
        self._latent = frozenset(sm.vars["latent"])
        self.inner: tuple[str, ...] = tuple(sm.vars["inner"])
        self.p = len(self.observed)
        self.m = len(self.inner)
        mats = {k: getattr(sm, f"mx_{k}") for k in _MATRICES}
        matnames = {k: getattr(sm, f"names_{k}") for k in _MATRICES}

        active = [(name, prm) for name, prm in sm.parameters.items() if prm.active]
        self.names: tuple[str, ...] = tuple(name for name, _ in active)
        self.q = len(active)
        if self.q != len(sm.param_vals):
            raise EstimationError("semopy model's parameter vector does not match its active parameters")
        lower = np.full(self.q, -np.inf)
        upper = np.full(self.q, np.inf)

        # template matrices: fixed values in place, free entries zero
        self._tmpl = {k: np.array(mats[k], dtype=np.float64, copy=True) for k in _MATRICES}
        scatter: dict[str, tuple[list[int], list[int], list[int]]] = {k: ([], [], []) for k in _MATRICES}
        terms: list[tuple[int, int, int, float]] = []  # (param, u pool col, v pool col, scale)
        labels: list[list[_Label]] = []
        p, m = self.p, self.m

        def pool_e(k: int) -> int:
            return k

        def pool_m(a: int) -> int:
            return p + a

        def pool_g(a: int) -> int:
            return p + m + a

        for i, (name, prm) in enumerate(active):
            lo, hi = prm.bound
            lower[i] = -np.inf if lo is None else float(lo)
            upper[i] = np.inf if hi is None else float(hi)
            labs = []
            for loc in prm.locations:
                kind = next((k for k in _MATRICES if loc.matrix is mats[k]), None)
                if kind is None:
                    raise EstimationError(f"parameter {name} lives in a matrix BatchedModel does not know")
                r, c = (int(v) for v in loc.indices)
                rows, cols = matnames[kind]
                labs.append(_Label(kind, rows[r], cols[c]))
                sr, sc, sp = scatter[kind]
                sr.append(r)
                sc.append(c)
                sp.append(i)
                self._tmpl[kind][r, c] = 0.0
                if loc.symmetric and r != c:
                    sr.append(c)
                    sc.append(r)
                    sp.append(i)
                    self._tmpl[kind][c, r] = 0.0
                if kind == "beta":
                    terms.append((i, pool_m(r), pool_g(c), 1.0))
                elif kind == "lambda":
                    terms.append((i, pool_e(r), pool_g(c), 1.0))
                else:
                    pool = pool_m if kind == "psi" else pool_e
                    if r == c:
                        terms.append((i, pool(r), pool(r), 0.5))
                    elif loc.symmetric:
                        terms.append((i, pool(r), pool(c), 1.0))
                    else:
                        raise EstimationError(f"non-symmetric covariance parameter {name} is not supported")
            labels.append(labs)
        # fixed (co)variances of observed exogenous variables: semopy sets them to
        # the sample moments of the data it is given, so they follow each member's S
        obs_pos = {v: k for k, v in enumerate(self.observed)}
        from_s: list[tuple[int, int, int, int]] = []
        self._fixed_from_s: list[tuple[str, int, int]] = []
        to_start = set(getattr(sm, "params_to_start", ()))
        for name, prm in sm.parameters.items():
            if prm.active or name not in to_start:
                continue
            for loc in prm.locations:
                if loc.matrix is not mats["psi"]:
                    continue
                r, c = (int(v) for v in loc.indices)
                a, b = self.inner[r], self.inner[c]
                if a in obs_pos and b in obs_pos:
                    from_s.append((r, c, obs_pos[a], obs_pos[b]))
                    from_s.append((c, r, obs_pos[b], obs_pos[a]))
                    self._fixed_from_s.append((name, obs_pos[a], obs_pos[b]))
        self._psi_from_s = tuple(np.array([t[k] for t in from_s], dtype=np.intp) for k in range(4))
        self.lower = lower
        self.upper = upper
        self._labels = labels
        self._scatter = {
            k: (np.array(v[0], dtype=np.intp), np.array(v[1], dtype=np.intp), np.array(v[2], dtype=np.intp))
            for k, v in scatter.items()
        }
        t_par = np.array([t[0] for t in terms], dtype=np.intp)
        iu = np.array([t[1] for t in terms], dtype=np.intp)
        iv = np.array([t[2] for t in terms], dtype=np.intp)
        sc = np.array([t[3] for t in terms])
        self._n_pool = p + 2 * m
        T = len(terms)
        self._iu = iu
        self._iv = iv
        self._sc = sc
        self._idx_g = iv * self._n_pool + iu
        self._scale_g = 2.0 * sc
        # parameters that occupy several locations: sum their terms
        if T == self.q and np.array_equal(t_par, np.arange(self.q)):
            self._agg = None
        else:
            agg = np.zeros((T, self.q))
            agg[np.arange(T), t_par] = 1.0
            self._agg = agg
        self._eye_m = np.eye(m)
        self._beta_depth = _nilpotency_depth(self._tmpl["beta"], self._scatter["beta"])

        sv = np.asarray(sm.param_vals, dtype=np.float64)
        self.start = np.array(sv if start is None else start, dtype=np.float64, copy=True)
        if self.start.shape != (self.q,):
            raise EstimationError(f"start must have {self.q} values, got shape {self.start.shape}")
        # semopy's own starting values: fallback start for the one-by-one refits
        self._semopy_start = np.array([prm.start for _, prm in active], dtype=np.float64)

    # ------------------------------------------------------------------ build

    @classmethod
    def from_semopy(cls, model: semopy.Model, start: np.ndarray | None = None) -> BatchedModel:
        """Wrap a semopy ``Model`` that has data loaded (fitted or not).

        The default start of :meth:`fit_batch` is ``model.param_vals``: the
        full-sample estimates for a fitted model, semopy's starting values for
        a model that was only loaded.
        """
        return cls(model, start=start)

    @classmethod
    def from_syntax(cls, syntax: str, data: pd.DataFrame, fit: bool = True, **fit_kwargs: Any) -> BatchedModel:
        """Parse ``syntax`` with semopy, load ``data`` and (by default) fit it.

        With ``fit=True`` the start is the full-sample ML estimate (semopy's
        fit, polished by one batched fit of the full-sample covariance).
        """
        model = semopy.Model(syntax)
        if fit:
            model.fit(data, **fit_kwargs)
        else:
            model.load(data)
        bm = cls(model)
        if fit:
            full = bm.fit_batch(np.asarray(model.mx_cov)[None], n=model.n_samples, refit=False)
            if full.converged[0]:
                bm.start = full.params[0].copy()
        return bm

    # ------------------------------------------------------------ labelling

    def _key(self, lab: _Label) -> str:
        if lab.matrix == "beta":
            return f"{lab.row} ~ {lab.col}"
        if lab.matrix == "lambda":
            if lab.col in self._latent:
                return f"{lab.col} =~ {lab.row}"
            return f"{lab.row} ~ {lab.col}"
        return f"{lab.row} ~~ {lab.col}"

    def labels(self) -> pd.DataFrame:
        """One row per free parameter, in ``params`` column order.

        Columns: ``name`` (semopy's), ``matrix``, ``lval, op, rval`` as in
        semopy's ``inspect`` (``~`` for Beta and Lambda entries with the
        dependent / indicator as ``lval``, ``~~`` for Psi and Theta) and
        ``key``, the lavaan spelling (``"SN =~ sn2"``, ``"WSI ~ SN"``,
        ``"IS ~~ ES"``). A parameter shared by several entries (an equality
        label) is listed with its first entry.
        """
        rows = []
        for name, labs in zip(self.names, self._labels):
            lab = labs[0]
            op = "~" if lab.matrix in ("beta", "lambda") else "~~"
            rows.append({"name": name, "matrix": lab.matrix, "lval": lab.row, "op": op, "rval": lab.col,
                         "key": self._key(lab)})
        return pd.DataFrame(rows)

    def frame(self, params: np.ndarray) -> pd.DataFrame:
        """``params`` (``(q,)`` or ``(B, q)``) as a DataFrame with lavaan-style column names."""
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        return pd.DataFrame(th, columns=list(self.labels()["key"]))

    def index(self, lval: str, op: str, rval: str) -> int:
        """Column of ``params`` holding a free parameter, named lavaan-style.

        ``index("WSI", "~", "SN")`` (regression), ``index("SN", "=~", "sn2")``
        (loading), ``index("IS", "~~", "ES")`` (covariance; either order).
        Raises ``KeyError`` for a fixed or unknown parameter.
        """
        if op == "=~":
            lval, rval, op = rval, lval, "~"
        if op not in ("~", "~~"):
            raise KeyError(f"unknown operator {op!r}")
        for i, labs in enumerate(self._labels):
            for lab in labs:
                if op == "~" and lab.matrix in ("beta", "lambda") and (lab.row, lab.col) == (lval, rval):
                    return i
                if op == "~~" and lab.matrix in ("psi", "theta") and (lab.row, lab.col) in ((lval, rval), (rval, lval)):
                    return i
        raise KeyError(f"no free parameter {lval} {op} {rval}")

    def data_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The observed columns of ``data`` as a float array, in :attr:`observed` order."""
        missing = [v for v in self.observed if v not in data.columns]
        if missing:
            raise DataError(f"data lack the model's observed variables {missing}")
        return data[list(self.observed)].to_numpy(dtype=np.float64)

    def path_product(self, params: np.ndarray, path: list[str] | tuple[str, ...]) -> np.ndarray:
        """Product of the Beta coefficients along ``path`` (``[x, m1, ..., y]``), ``(B,)``.

        ``path_product(params, ["IS", "SN", "WSI"])`` is the specific indirect
        effect ``Beta[SN, IS] * Beta[WSI, SN]`` of every member; a two-node
        path is the direct effect. Fixed coefficients enter with their values.
        """
        if len(path) < 2:
            raise KeyError("a path needs at least two variables")
        try:
            pos = [self.inner.index(v) for v in path]
        except ValueError as exc:
            raise KeyError(f"path {path} has a variable that is not in Beta ({self.inner})") from exc
        beta = self.matrices(params)["beta"]
        out = np.ones(beta.shape[0])
        for a, b in zip(pos[:-1], pos[1:]):
            out = out * beta[:, b, a]
        return out

    # -------------------------------------------------------------- algebra

    def matrices(self, params: np.ndarray, covs: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Batched model matrices ``beta (B,m,m), lambda (B,p,m), psi (B,m,m), theta (B,p,p)``.

        Rows/columns are :attr:`inner` (Beta, Psi, columns of Lambda) and
        :attr:`observed` (rows of Lambda, Theta). Fixed entries keep semopy's
        values, except the (co)variances of observed exogenous variables,
        which semopy fixes at their sample values: with ``covs`` they are
        taken from each member's covariance matrix (as a fresh semopy fit of
        that sample would), otherwise from the data the model was built on.
        """
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        nb = th.shape[0]
        out = {}
        for k in _MATRICES:
            t = self._tmpl[k]
            mx = np.empty((nb, *t.shape))
            mx[:] = t
            r, c, i = self._scatter[k]
            if len(i):
                mx[:, r, c] = th[:, i]
            out[k] = mx
        if covs is not None and len(self._psi_from_s[0]):
            r, c, i, j = self._psi_from_s
            out["psi"][:, r, c] = np.broadcast_to(covs, (nb, self.p, self.p))[:, i, j]
        return out

    def total_effects(self, params: np.ndarray) -> np.ndarray:
        """Total effects among inner variables, ``(I - Beta)^-1 - I``, ``(B, m, m)``.

        Entry ``[b, y, x]`` is the total effect of ``x`` on ``y``; the
        indirect effect is the total minus ``Beta[b, y, x]``.
        """
        beta = self.matrices(params)["beta"]
        return np.linalg.inv(self._eye_m - beta) - self._eye_m

    def _inv_i_minus_beta(self, beta: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """``C = (I - Beta)^-1``; a finite power series when Beta's pattern is acyclic."""
        eye = self._eye_m
        if self._beta_depth is not None:
            C = np.broadcast_to(eye, beta.shape).copy()
            for _ in range(self._beta_depth):
                C = eye + beta @ C
            return C
        ib = eye - beta
        try:
            return np.linalg.inv(ib)
        except np.linalg.LinAlgError:
            C = np.empty_like(ib)
            for b in range(ib.shape[0]):
                try:
                    C[b] = np.linalg.inv(ib[b])
                except np.linalg.LinAlgError:
                    C[b] = np.nan
                    ok[b] = False
            return C

    def _core(self, th: np.ndarray, S: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Sigma's building blocks, ``K = Sigma^-1`` and ``log|Sigma|``; ``ok`` false where Sigma is not PD."""
        mx = self.matrices(th, S)
        beta, lam, psi, theta = mx["beta"], mx["lambda"], mx["psi"], mx["theta"]
        th.shape[0]
        ok = np.all(np.isfinite(th), axis=1)
        if self._beta_depth == 0:
            M = lam
            G = lam @ psi
        else:
            C = self._inv_i_minus_beta(beta, ok)
            M = lam @ C
            G = M @ (psi @ np.swapaxes(C, 1, 2))
        sigma = G @ np.swapaxes(lam, 1, 2)
        sigma += np.swapaxes(sigma, 1, 2)
        sigma *= 0.5
        sigma += theta
        L, pd_ok = _safe_cholesky(sigma)
        ok &= pd_ok
        logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        X = _tri_inv(L)
        K = np.swapaxes(X, 1, 2) @ X
        return {"M": M, "G": G, "K": K, "logdet": logdet, "ok": ok}

    def _fval(self, core: dict[str, np.ndarray], S: np.ndarray, logdet_s: np.ndarray) -> np.ndarray:
        tr = np.einsum("bij,bij->b", S, core["K"])
        f = core["logdet"] + tr - logdet_s - self.p
        f[~core["ok"]] = np.inf
        return f

    def _pool(self, core: dict[str, np.ndarray]) -> np.ndarray:
        """The pool ``P = [I | M | G]``, ``(B, p, p + 2m)``."""
        nb, p = core["K"].shape[0], self.p
        P = np.empty((nb, p, self._n_pool))
        P[:, :, :p] = np.eye(p)
        P[:, :, p : p + self.m] = core["M"]
        P[:, :, p + self.m :] = core["G"]
        return P

    def _gradient_from_core(self, core: dict[str, np.ndarray], S: np.ndarray) -> np.ndarray:
        """``g_t = 2 s_t v_t' (K - KSK) u_t``: entries of ``P'(K - KSK)P``."""
        K = core["K"]
        R = K - K @ S @ K
        P = self._pool(core)
        Q = (np.swapaxes(P, 1, 2) @ (R @ P)).reshape(K.shape[0], -1)
        g = np.take(Q, self._idx_g, axis=1)
        g *= self._scale_g
        if self._agg is not None:
            g = g @ self._agg
        return g

    def _info_from_core(self, core: dict[str, np.ndarray]) -> np.ndarray:
        """``H = 2 [(U'KU) o (V'KV) + (U'KV) o (U'KV)']`` (``v`` scaled by ``s``)."""
        P = self._pool(core)
        KP = core["K"] @ P
        U = np.take(P, self._iu, axis=2)
        V = np.take(P, self._iv, axis=2) * self._sc
        KU = np.take(KP, self._iu, axis=2)
        KV = np.take(KP, self._iv, axis=2) * self._sc
        Ut = np.swapaxes(U, 1, 2)
        H = Ut @ KU
        H *= np.swapaxes(V, 1, 2) @ KV
        C = Ut @ KV
        C *= np.swapaxes(C, 1, 2)
        H += C
        H *= 2.0
        if self._agg is not None:
            H = self._agg.T @ H @ self._agg
        return H

    # ------------------------------------------------------ public algebra

    def implied_cov(self, params: np.ndarray, covs: np.ndarray | None = None) -> np.ndarray:
        """Model-implied covariance matrices ``(B, p, p)`` (observed order)."""
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        mx = self.matrices(th, covs)
        C = np.linalg.inv(self._eye_m - mx["beta"])
        M = mx["lambda"] @ C
        return M @ mx["psi"] @ np.swapaxes(M, 1, 2) + mx["theta"]

    def objective(self, params: np.ndarray, covs: np.ndarray) -> np.ndarray:
        """semopy's MLW discrepancy for every member: ``inf`` where Sigma is not PD, NaN where S is not."""
        th, S = self._broadcast(params, covs)
        Ls, s_ok = _safe_cholesky(S)
        logdet_s = 2.0 * np.log(np.diagonal(Ls, axis1=1, axis2=2)).sum(axis=1)
        f = self._fval(self._core(th, S), S, logdet_s)
        f[~s_ok] = np.nan
        return f

    def gradient(self, params: np.ndarray, covs: np.ndarray) -> np.ndarray:
        """Analytic gradient of the MLW discrepancy, ``(B, q)``."""
        th, S = self._broadcast(params, covs)
        core = self._core(th, S)
        g = self._gradient_from_core(core, S)
        g[~core["ok"]] = np.nan
        return g

    def information(self, params: np.ndarray, covs: np.ndarray | None = None) -> np.ndarray:
        """Unit expected information ``H_ij = tr(K Sigma_i K Sigma_j)``, ``(B, q, q)``.

        The Fisher information of ``n`` rows is ``n / 2 * H``; ``H`` is also
        the expected Hessian of the MLW discrepancy.
        """
        th = np.atleast_2d(np.asarray(params, dtype=np.float64))
        if covs is not None:
            th, covs = self._broadcast(th, covs)
        core = self._core(th, covs)
        H = self._info_from_core(core)
        H[~core["ok"]] = np.nan
        return H

    def standard_errors(
        self, params: np.ndarray, n: float | np.ndarray, covs: np.ndarray | None = None
    ) -> np.ndarray:
        """Expected-information standard errors, ``sqrt(diag((n/2 H)^-1))``, ``(B, q)``."""
        H = self.information(params, covs)
        return self._se_from_info(H, np.broadcast_to(np.asarray(n, dtype=np.float64), H.shape[:1]))

    @staticmethod
    def _se_from_info(H: np.ndarray, n: np.ndarray) -> np.ndarray:
        X, good = _inv_chol_factor(H)
        var = (X * X).sum(axis=1) / (n[:, None] / 2.0)  # diag(H^-1) = column sums of X^2
        var[~good] = np.nan
        return np.sqrt(var)

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
        refit_gtol: float = 1e-4,
        info_refresh: int = 2,
        max_halvings: int = 30,
        n_threads: int | None = None,
    ) -> BatchFit:
        """ML estimates for every covariance matrix of a stack.

        Parameters
        ----------
        covs : (B, p, p) sample covariances, N divisor, rows/columns in
            :attr:`observed` order.
        n : sample size of each member (scalar or (B,)): used for the standard
            errors, ``chi2 = n * fmin`` and the semopy refits.
        start : (q,) or (B, q) starting values; default :attr:`start` (the
            full-sample estimates for a model built from a fitted semopy model).
        tol : a member has converged when ``max |dF/dtheta| < tol``.
        max_iter : Fisher-scoring steps per member before it is handed to semopy.
        chunk_size : members processed together; memory is about
            ``chunk_size * 6 * q^2 * 8`` bytes per thread at the peak.
        se : also return expected-information standard errors (for a sample of
            ``n`` rows; meaningful for independent data sets, e.g. Monte Carlo
            replications, not for bootstrap resamples).
        refit : refit non-converged / inadmissible members one by one with
            semopy (otherwise they are only reported as failed).
        refit_gtol : a semopy refit counts as converged when its max |projected
            gradient| is below this (semopy's SLSQP is less precise than the
            batched scoring).
        info_refresh : the expected information is recomputed (and inverted)
            at each member's first ``info_refresh`` iterates, after a step that
            needed halving; otherwise the last inverse is reused, which leaves the
            linear rate of Fisher scoring unchanged once the iterates have
            settled. ``info_refresh >= max_iter`` gives textbook Fisher
            scoring (information at every iterate).
        max_halvings : step halvings before a member is handed to semopy.
        n_threads : chunks fitted in parallel threads (numpy releases the GIL
            in its array kernels); default: the CPUs available, at most 2.
        """
        S_all = self._check_covs(covs)
        nb = S_all.shape[0]
        n_arr = np.broadcast_to(np.asarray(n, dtype=np.float64), (nb,)).copy()
        if start is None:
            start = self.start
        st = np.asarray(start, dtype=np.float64)
        common_start = st.ndim == 1
        if st.shape not in ((self.q,), (nb, self.q)):
            raise DataError(f"start must be ({self.q},) or ({nb}, {self.q}), got shape {st.shape}")
        if common_start:
            st = np.broadcast_to(st, (nb, self.q))
        if chunk_size < 1 or max_iter < 0 or tol <= 0:
            raise DataError("fit_batch needs chunk_size >= 1, max_iter >= 0 and tol > 0")

        out = _Outputs(nb, self.q, se)
        out.n_all = n_arr
        # with one start for all members the information at the start is shared
        h0x = None
        if common_start and nb:
            h0x, h_ok = _inv_chol_factor(self.information(st[0]))
            h0x = h0x[0] if h_ok[0] else None
        opts = dict(tol=tol, max_iter=max_iter, max_halvings=max_halvings, want_se=se,
                    info_refresh=info_refresh, h0x=h0x)
        chunks = [(lo, min(nb, lo + chunk_size)) for lo in range(0, nb, chunk_size)]
        if n_threads is None:
            n_threads = min(2, _available_cpus())
        n_threads = max(1, min(int(n_threads), len(chunks)))

        def run(bounds: tuple[int, int]) -> None:
            lo, hi = bounds
            self._fit_chunk(S_all[lo:hi], n_arr[lo:hi], st[lo:hi], lo, out, **opts)

        if n_threads == 1:
            for c in chunks:
                run(c)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(run, chunks))

        # admissibility of the converged members: semopy's bounds (e.g. variances >= 0)
        conv = out.converged
        outside = conv & np.any((out.params < self.lower) | (out.params > self.upper), axis=1)
        for b in np.flatnonzero(outside):
            out.to_refit.append((int(b), out.params[b].copy()))
            conv[b] = False

        refitted = np.zeros(nb, dtype=bool)
        for b, x0 in sorted(out.to_refit, key=lambda t: t[0]):
            refitted[b] = True
            if not refit:
                continue
            res = self._refit_one(S_all[b], n_arr[b], x0, refit_gtol)
            if res is None:
                log.warning("member %d: semopy refit failed too; counted as failed", b)
                continue
            x, f, nit, g = res
            out.params[b], out.fmin[b], out.n_iter[b], conv[b], out.gmax[b] = x, f, nit, True, g
            if se:
                out.se[b] = self.standard_errors(x, n_arr[b], S_all[b])[0]
        failed = ~conv
        out.params[failed] = np.nan
        out.fmin[failed] = np.nan
        if se:
            out.se[failed] = np.nan
        return BatchFit(
            params=out.params, converged=conv, failed=failed, fmin=out.fmin, n_iter=out.n_iter,
            refitted=refitted, names=self.names, n=n_arr, se=out.se, max_abs_grad=out.gmax,
        )

    def _fit_chunk(self, S, n_arr, st, offset, out, *, tol, max_iter, max_halvings, want_se,
                   info_refresh, h0x) -> None:
        """Fisher scoring with step halving for one chunk; results go into ``out``."""
        S.shape[0]
        # log|S|; a member whose S is not PD has no ML discrepancy at all
        Ls, s_ok = _safe_cholesky(S)
        logdet_s = 2.0 * np.log(np.diagonal(Ls, axis1=1, axis2=2)).sum(axis=1)
        for b in np.flatnonzero(~s_ok):
            log.warning("member %d: sample covariance is not positive definite; counted as failed", offset + b)

        idx = np.flatnonzero(s_ok)  # chunk-local ids of the working set
        th = np.array(st[idx], dtype=np.float64)
        Sw = S[idx]
        lds = logdet_s[idx]
        core = self._core(th, Sw)
        f = self._fval(core, Sw, lds)
        bad = ~np.isfinite(f)
        for b in idx[bad]:  # inadmissible start: straight to semopy
            out.to_refit.append((offset + int(b), None))
        keep = ~bad
        idx, th, Sw, lds, f = idx[keep], th[keep], Sw[keep], lds[keep], f[keep]
        core = {k: v[keep] for k, v in core.items()}
        nw = len(idx)
        it = np.zeros(nw, dtype=np.int64)
        # hx: inverse Cholesky factor of the information in use, H^-1 = hx' hx
        hx = np.empty((nw, self.q, self.q))
        have_hx = np.zeros(nw, dtype=bool)
        if h0x is not None:
            hx[:] = h0x
            have_hx[:] = True
        refresh = np.zeros(nw, dtype=bool)

        while len(idx):
            g = self._gradient_from_core(core, Sw)
            gm = np.max(np.abs(g), axis=1)
            done = gm < tol
            stuck = ~done & ((it >= max_iter) | ~np.isfinite(gm))
            if done.any():
                gl = offset + idx[done]
                out.params[gl] = th[done]
                out.fmin[gl] = f[done]
                out.n_iter[gl] = it[done]
                out.converged[gl] = True
                out.gmax[gl] = gm[done]
                if want_se:
                    sub = {k: v[done] for k, v in core.items()}
                    out.se[gl] = self._se_from_info(self._info_from_core(sub), out.n_all[gl])
            for j in np.flatnonzero(stuck):
                out.to_refit.append((offset + int(idx[j]), th[j].copy()))
            keep = ~(done | stuck)
            if not keep.all():
                idx, th, Sw, lds, f, g, gm, it = idx[keep], th[keep], Sw[keep], lds[keep], f[keep], g[keep], gm[keep], it[keep]
                hx, have_hx, refresh = hx[keep], have_hx[keep], refresh[keep]
                core = {k: v[keep] for k, v in core.items()}
            if not len(idx):
                break

            # expected information: fresh at the first iterates and after a step needed halving
            shared = (it == 0) & have_hx
            upd = ~have_hx | refresh | ((it < info_refresh) & ~shared)
            if upd.any():
                sub = {k: v[upd] for k, v in core.items()}
                hx[upd] = _inv_chol_factor(self._info_from_core(sub))[0]
                have_hx |= upd
            step = -(np.swapaxes(hx, 1, 2) @ (hx @ g[:, :, None]))[:, :, 0]
            slope = np.einsum("bi,bi->b", g, step)
            # a non-finite step or no descent (singular information): give up on it
            hopeless = ~np.isfinite(slope) | (slope >= 0)

            # step halving until the discrepancy decreases (Armijo, with room for rounding)
            nw = len(idx)
            t = np.ones(nw)
            pending = np.flatnonzero(~hopeless)
            halved = np.zeros(nw, dtype=bool)
            new_th = new_f = new_core = None
            for n_halv in range(max_halvings + 1):
                if not len(pending):
                    break
                trial = th[pending] + t[pending, None] * step[pending]
                c_tr = self._core(trial, Sw[pending])
                f_tr = self._fval(c_tr, Sw[pending], lds[pending])
                slack = 1e-12 * (1.0 + np.abs(f[pending]))
                acc = np.isfinite(f_tr) & (f_tr <= f[pending] + 1e-4 * t[pending] * slope[pending] + slack)
                if n_halv == 0 and len(pending) == nw and acc.all():  # the usual case: full steps for all
                    new_th, new_f, new_core = trial, f_tr, c_tr
                    pending = pending[:0]
                    break
                if new_core is None:
                    new_th = th.copy()
                    new_f = np.full(nw, np.inf)
                    new_core = {k: np.empty((nw, *v.shape[1:]), dtype=v.dtype) for k, v in c_tr.items()}
                a = pending[acc]
                new_th[a] = trial[acc]
                new_f[a] = f_tr[acc]
                for k in new_core:
                    new_core[k][a] = c_tr[k][acc]
                pending = pending[~acc]
                t[pending] *= 0.5
                halved[pending] = True
            lost = hopeless.copy()
            lost[pending] = True
            for j in np.flatnonzero(lost):
                out.to_refit.append((offset + int(idx[j]), th[j].copy()))
            if new_core is None:  # every member lost
                break
            th, f, core, it, refresh = new_th, new_f, new_core, it + 1, halved
            if lost.any():
                keep = ~lost
                idx, th, Sw, lds, f, it = idx[keep], th[keep], Sw[keep], lds[keep], f[keep], it[keep]
                hx, have_hx, refresh = hx[keep], have_hx[keep], refresh[keep]
                core = {k: v[keep] for k, v in core.items()}

    # --------------------------------------------------------------- refits

    def _refit_one(
        self, S: np.ndarray, n: float, x0: np.ndarray | None, refit_gtol: float
    ) -> tuple[np.ndarray, float, int, float] | None:
        """One member with semopy (SLSQP, ``ftol=1e-12``, semopy's bounds), warm-started.

        Tries the member's last admissible iterate, then the batch start, then
        semopy's own starting values. Returns ``(params, fmin, n_iter, max
        |projected gradient|)``, or None when no attempt ends admissible with a
        projected gradient (components pushing against an active bound
        dropped) below ``refit_gtol``.
        """
        lo = np.where(np.isfinite(self.lower), self.lower, -np.inf)
        hi = np.where(np.isfinite(self.upper), self.upper, np.inf)
        starts = []
        if x0 is not None and np.all(np.isfinite(x0)):
            starts.append(np.clip(x0, lo, hi))
        starts.append(np.clip(self.start, lo, hi))
        starts.append(self._semopy_start)
        cov_df = pd.DataFrame(S, index=list(self.observed), columns=list(self.observed))
        sm = self._semopy
        for name, i, j in self._fixed_from_s:  # as a fresh semopy fit of this sample would
            sm.parameters[name].start = float(S[i, j])
        for x_start in starts:
            f0 = self.objective(x_start, S)[0]
            if not np.isfinite(f0):
                continue
            sm.param_vals = x_start.copy()
            try:
                res = sm.fit(cov=cov_df, n_samples=n, solver="SLSQP", options={"ftol": 1e-12, "maxiter": 2000})
            except Exception as exc:  # noqa: BLE001 - semopy raises plain exceptions
                log.info("semopy refit raised %r", exc)
                continue
            x = np.asarray(res.x, dtype=np.float64)
            f = self.objective(x, S)[0]
            if not (np.all(np.isfinite(x)) and np.isfinite(f)):
                continue
            if np.any(x < self.lower - 1e-8) or np.any(x > self.upper + 1e-8):
                continue
            x = np.clip(x, self.lower, self.upper)
            g = self.gradient(x, S)[0]
            # projected gradient: at an active bound only the inward component counts
            at_lo = (x <= self.lower + 1e-10) & (g > 0)
            at_hi = (x >= self.upper - 1e-10) & (g < 0)
            pg = np.where(at_lo | at_hi, 0.0, g)
            gm = float(np.max(np.abs(pg)))
            if gm > refit_gtol:
                log.info("semopy refit stopped at max |projected gradient| %.3g", gm)
                continue
            nit = res.n_it if isinstance(res.n_it, (int, np.integer)) else -1
            return x, float(f), int(nit), gm
        return None


def _row_key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
    """A parameter's identity in lavaan notation; ``~~`` is symmetric."""
    if op == "~~":
        a, b = sorted((lhs, rhs))
        return (a, op, b)
    return (lhs, op, rhs)


class BatchedChunkFitter:
    """Refit a chunk of bootstrap resamples at once (the ``chunk_fitter`` of
    :func:`xhs_sharing.analysis.mediation.bootstrap_indirect`).

    The resamples' covariance matrices come from their counts in two matrix
    products, all members are fitted together by Fisher scoring, and the
    estimates are returned in the parameter order of the one-by-one path's
    :class:`~xhs_sharing.sem.model.ModelStructure`. A member that does not
    converge in the batch is refitted one by one by
    :func:`~xhs_sharing.sem.bootstrap.refit_resample` (the same solver as the
    one-by-one bootstrap), so both paths judge convergence and proper
    solutions (:func:`~xhs_sharing.sem.checks.solution_problems`) alike.

    Parameters
    ----------
    model : BatchedModel
        Built from the full-sample fit (``BatchedModel.from_semopy(fit.model)``).
    structure : ModelStructure
        The full-sample fit's structure (``fit.structure``).
    tol : float
        Gradient tolerance of the batched scoring.
    """

    def __init__(self, model: BatchedModel, structure: Any, tol: float = 1e-8) -> None:
        self.model = model
        self.tol = tol
        free = sorted({(r.free, _row_key(r.lhs, r.op, r.rhs)) for r in structure.rows if r.free >= 0})
        try:
            self.to_batched = np.array([model.index(*key) for _, key in free])
        except (KeyError, ValueError) as exc:
            raise EstimationError(f"batched model and structure disagree on a parameter: {exc}") from None
        if len(self.to_batched) != model.q or len(set(self.to_batched.tolist())) != model.q:
            raise EstimationError("batched model and structure have different free parameters")
        self.columns = np.array([list(structure.observed).index(v) for v in model.observed])

    def proper(self, params: np.ndarray) -> np.ndarray:
        """Screen a batch for proper solutions, as
        :func:`~xhs_sharing.sem.checks.solution_problems` would: no negative
        variance in ``Theta`` or ``Psi``, and positive definite ``Theta``,
        latent covariance ``C Psi C'`` and implied ``Sigma``.
        """
        mx = self.model.matrices(params)
        ok = (np.diagonal(mx["theta"], axis1=1, axis2=2) >= 0).all(axis=1)
        ok &= (np.diagonal(mx["psi"], axis1=1, axis2=2) >= 0).all(axis=1)
        c = np.linalg.inv(np.eye(mx["beta"].shape[1]) - mx["beta"])
        latent = c @ mx["psi"] @ np.swapaxes(c, 1, 2)
        sigma = mx["lambda"] @ latent @ np.swapaxes(mx["lambda"], 1, 2) + mx["theta"]
        for m in (mx["theta"], latent, sigma):
            ok &= np.linalg.eigvalsh(m)[:, 0] > 0
        return ok

    def __call__(self, structure: Any, data: np.ndarray, indices: np.ndarray,
                 theta0: np.ndarray) -> tuple[np.ndarray, list[str]]:
        n_obs = data.shape[0]
        covs = resample_covariances(data[:, self.columns], counts_from_indices(indices, n_obs))
        start = np.empty(self.model.q)
        start[self.to_batched] = theta0
        fit = self.model.fit_batch(covs, n_obs, start=start, tol=self.tol, refit=False, n_threads=1)
        thetas = fit.params[:, self.to_batched]
        ok = fit.converged & np.isfinite(fit.params).all(axis=1)
        proper = np.zeros(len(ok), dtype=bool)
        proper[ok] = self.proper(fit.params[ok])
        status: list[str] = []
        for j in range(indices.shape[0]):
            if proper[j]:
                status.append(CONVERGED)
            elif ok[j]:
                # the batch's quick screen flagged it: let the one-by-one check decide
                status.append(IMPROPER if solution_problems(structure, thetas[j]) else CONVERGED)
            else:
                out = refit_resample(structure, data[indices[j]], theta0)
                thetas[j] = out.theta
                status.append(out.status)
        return thetas, status
