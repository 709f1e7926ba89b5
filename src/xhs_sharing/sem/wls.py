"""Ordinal SEM by DWLS on polychoric correlations: lavaan's ``estimator = "WLSMV"``.

The third stage of Muthen's (1984) estimator, after the thresholds and
polychorics of :mod:`xhs_sharing.sem.ordinal`, as lavaan 0.6 computes it for
``ordered = <all items>, estimator = "WLSMV"`` (single group, no covariates):

* **Delta parameterization** (:class:`DeltaModel`): the model-implied matrix
  of the latent responses is a correlation matrix, ``Sigma* = Lambda
  Var(eta) Lambda' + Theta`` with the residual variances fixed at ``theta_jj
  = 1 - [Lambda Var(eta) Lambda']_jj`` (not free; lavaan reports them as
  fixed), every scale factor 1, latent means and intercepts 0. The thresholds
  are free parameters that no other parameter touches, so their estimates are
  the sample thresholds and they drop out of the fit of the correlations.
* **DWLS** (:func:`fit_dwls`): minimise ``F = sum_r w_r (r_r - sigma_r)^2``
  over the polychorics ``r`` with ``w_r = 1 / Gamma_rr`` (lavaan's
  ``WLS.VD``), by Gauss-Newton with Levenberg-Marquardt damping.
* **Robust standard errors** (:func:`robust_vcov`, lavaan ``se =
  "robust.sem"``): ``V = E^-1 D'W Gamma W D E^-1 / (N - 1)`` with ``E = D'WD``,
  ``D = d sigma / d x``; thresholds ``se = sqrt(Gamma_kk / (N - 1))``.
* **Tests** (:func:`scaled_shifted`): ``T = (N - 1) F`` (lavaan: ``fmin =
  F (N - 1) / (2N)``, ``chisq = 2 N fmin``) and the mean-and-variance adjusted
  (scaled-shifted) ``T3 = a T + b`` with ``a = sqrt(df / tr((U Gamma)^2))``,
  ``b = df - a tr(U Gamma)``, ``U = W - W D E^-1 D' W`` (Asparouhov & Muthen
  2010, "Simple second order chi-square correction"; lavaan
  ``lav_test_satorra_bentler.R``, ``test = "scaled.shifted"``); lavaan's
  scaling factor is ``1 / a``, its shift parameter ``b``.
* **Fit measures** (:func:`fit_measures`) as lavaan defines them for DWLS:
  the baseline is the independence model (thresholds free, correlations 0),
  CFI and TLI from ``(T, df)`` and the baseline's (``lav_fit_cfi.R``), the
  ``.scaled`` versions from the scaled-shifted statistics; RMSEA
  ``sqrt(max(T / (N - 1) / df - 1 / (N - 1), 0))`` (lavaan uses ``N - 1`` for
  DWLS, ``lav_fit_rmsea.R``), ``.scaled`` with ``T3``; SRMR over the
  correlation residuals with ``p(p+1)/2`` elements (the zero diagonal
  included; lavaan's ``srmr_bentler_nomean``). lavaan's ``.robust`` indices
  (the catML route of Savalei 2021) are not computed.

:func:`bootstrap_wlsmv` refits a whole batch of bootstrap resamples at once:
thresholds, polychorics and the diagonal of Gamma from
:func:`~xhs_sharing.sem.ordinal.batched_ordinal_statistics`, then
Gauss-Newton for all resamples together with a batched Jacobian.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.stats import chi2

from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.fit import cfi, rmsea, tli
from xhs_sharing.sem.model import ModelStructure, load_model
from xhs_sharing.sem.ordinal import (
    BatchedOrdinal,
    OrdinalData,
    OrdinalStats,
    batched_ordinal_statistics,
    pair_index,
)

log = logging.getLogger(__name__)

__all__ = [
    "DeltaModel",
    "WLSMVBootstrap",
    "WLSMVFit",
    "bootstrap_wlsmv",
    "fit_dwls",
    "fit_measures",
    "fit_wlsmv",
    "ordinal_model",
    "robust_vcov",
    "scaled_shifted",
]

#: Positions of ``B``, ``Lambda``, ``Psi``, ``Theta`` in ``ModelStructure.templates``
#: (and the ``matrix`` field of its ``ParameterRow``).
_BETA, _LAMBDA, _PSI, _THETA = range(4)


# ---------------------------------------------------------------------------
# the model in the delta parameterization
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DeltaModel:
    """A :class:`ModelStructure` whose observed variables are ordinal (lavaan's delta parameterization).

    The free parameters ``x`` are the structure's free parameters except the
    residual variances of the observed variables, which follow from the
    others (``theta_jj = 1 - [Lambda Var(eta) Lambda']_jj``).

    Attributes
    ----------
    structure : ModelStructure
    items : tuple of str
        The data's item order; moments follow it (not the structure's).
    free : (n_free,) int
        Positions of ``x`` in the structure's parameter vector.
    """

    structure: ModelStructure
    items: tuple[str, ...]
    free: np.ndarray

    @classmethod
    def from_structure(cls, structure: ModelStructure, items: tuple[str, ...] | list[str]) -> DeltaModel:
        """Wrap ``structure`` for data with columns ``items``; :class:`SpecError` if they differ."""
        if sorted(items) != sorted(structure.observed):
            raise SpecError(f"model indicators {sorted(structure.observed)} differ from the items {sorted(items)}")
        residual = {r.free for r in structure.rows
                    if r.matrix == _THETA and r.row == r.col and r.free >= 0}
        shared = [r for r in structure.rows if r.free in residual and not (r.matrix == _THETA and r.row == r.col)]
        if shared:
            raise SpecError("a residual variance of an ordinal item shares its label with another parameter")
        free = np.array([k for k in range(structure.n_params) if k not in residual], dtype=np.intp)
        return cls(structure, tuple(items), free)

    @property
    def n_free(self) -> int:
        """Free parameters of the correlation structure."""
        return int(self.free.size)

    @cached_property
    def order(self) -> np.ndarray:
        """Position of each item (data order) among the structure's observed variables."""
        obs = list(self.structure.observed)
        return np.array([obs.index(it) for it in self.items], dtype=np.intp)

    @cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns (structure order) of the correlations in the data's pair order."""
        rows, cols = pair_index(len(self.items))
        return self.order[rows], self.order[cols]

    @cached_property
    def free_rows(self) -> tuple:
        """Rows of the structure that locate a free parameter of ``x`` (one per location)."""
        keep = set(self.free.tolist())
        return tuple(r for r in self.structure.rows if r.free in keep)

    def full(self, x: np.ndarray) -> np.ndarray:
        """The structure's parameter vector for ``x`` (``(..., n_free)``); residual variances 0."""
        x = np.asarray(x, dtype=float)
        out = np.zeros(x.shape[:-1] + (self.structure.n_params,))
        out[..., self.free] = x
        return out

    def implied(self, x: np.ndarray) -> np.ndarray:
        """Model-implied correlation matrix (data order), unit diagonal."""
        sigma = self.structure.implied_covariance(self.full(x))
        sigma = sigma[..., self.order[:, None], self.order[None, :]]
        p = len(self.items)
        sigma[..., np.arange(p), np.arange(p)] = 1.0
        return sigma

    def moments(self, x: np.ndarray) -> np.ndarray:
        """Implied correlations in pair order, ``(..., pstar)``."""
        rows, cols = self.pairs
        return self.structure.implied_covariance(self.full(x))[..., rows, cols]

    def residual_variances(self, x: np.ndarray) -> np.ndarray:
        """``1 - [Lambda Var(eta) Lambda' + offdiag Theta]_jj`` per item (data order)."""
        sigma = self.structure.implied_covariance(self.full(x))
        return 1.0 - np.diagonal(sigma, axis1=-2, axis2=-1)[..., self.order]

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """``d sigma_r / d x``, ``(pstar, n_free)``, from the structure's analytic derivatives."""
        _, dsigma = self.structure.sigma_derivatives(self.full(x))
        rows, cols = self.pairs
        return dsigma[self.free][:, rows, cols].T

    @cached_property
    def _locations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per location of a free parameter: source rows of ``u`` and ``v``, factor, column of ``x``.

        Sources are stacked as ``[I_p; M'; D]`` (see :meth:`batched_jacobian`).
        """
        p, m = len(self.items), len(self.structure.inner)
        eye0, mt0, d0 = 0, p, p + m
        column = {k: i for i, k in enumerate(self.free.tolist())}
        u_src = {_BETA: mt0, _LAMBDA: eye0, _PSI: mt0, _THETA: eye0}
        v_src = {_BETA: d0, _LAMBDA: d0, _PSI: mt0, _THETA: eye0}
        rows = self.free_rows
        u = np.array([u_src[r.matrix] + r.row for r in rows], dtype=np.intp)
        v = np.array([v_src[r.matrix] + r.col for r in rows], dtype=np.intp)
        f = np.array([0.5 if r.matrix in (_PSI, _THETA) and r.row == r.col else 1.0 for r in rows])
        incidence = np.zeros((len(rows), self.n_free))
        incidence[np.arange(len(rows)), [column[r.free] for r in rows]] = f
        return u, v, f, incidence

    def batched_jacobian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Implied correlations ``(B, pstar)`` and Jacobians ``(B, pstar, n_free)`` of ``B`` parameter vectors.

        The formula of ``ModelStructure.sigma_derivatives`` (Neudecker &
        Satorra 1991) evaluated for a batch: with ``C = (I - B)^-1``, ``M =
        Lambda C``, ``D = C Psi M'``, a location of ``Lambda_ij`` contributes
        ``u v' + v u'`` with ``u = e_i, v = D_j.``, of ``B_ij`` with ``u =
        M_.i``, of ``Psi_ij`` with ``u = M_.i, v = M_.j``, of ``Theta_ij`` with
        ``u = e_i, v = e_j`` (half on the diagonal of ``Psi`` and ``Theta``).
        """
        full = self.full(x)
        bm, lam, psi, th = self.structure.matrices(full)
        c = np.linalg.inv(np.eye(bm.shape[-1]) - bm)
        mm = lam @ c
        mt = np.swapaxes(mm, -1, -2)
        d = c @ psi @ mt
        sigma = mm @ psi @ mt + th
        b, p = full.shape[0], lam.shape[-2]
        stack = np.concatenate([np.broadcast_to(np.eye(p), (b, p, p)), mt, d], axis=1)
        rows, cols = self.pairs
        u_idx, v_idx, _, incidence = self._locations
        u, v = stack[:, u_idx, :], stack[:, v_idx, :]
        per_loc = u[:, :, rows] * v[:, :, cols] + v[:, :, rows] * u[:, :, cols]
        return sigma[:, rows, cols], np.swapaxes(per_loc, 1, 2) @ incidence

    def batched_gradient(self, x: np.ndarray, r: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """DWLS discrepancy ``F`` ``(B,)`` and ``J' W (r - sigma)`` ``(B, n_free)`` without forming ``J``.

        With ``E`` the symmetric matrix holding ``w_r (r_r - sigma_r)`` at both
        positions of each pair (zero diagonal), a location with vectors
        ``u, v`` (:meth:`batched_jacobian`) contributes ``f u' E v``; ``dF/dx =
        -2 J' W (r - sigma)``.
        """
        full = self.full(x)
        bm, lam, psi, th = self.structure.matrices(full)
        c = np.linalg.inv(np.eye(bm.shape[-1]) - bm)
        mm = lam @ c
        mt = np.swapaxes(mm, -1, -2)
        sigma = mm @ psi @ mt + th
        rows, cols = self.pairs
        resid = r - sigma[:, rows, cols]
        b, p = full.shape[0], lam.shape[-2]
        e = np.zeros((b, p, p))
        e[:, rows, cols] = e[:, cols, rows] = w * resid
        stack = np.concatenate([np.broadcast_to(np.eye(p), (b, p, p)), mt, c @ psi @ mt], axis=1)
        u_idx, v_idx, _, incidence = self._locations
        ev = e @ np.swapaxes(stack[:, v_idx, :], 1, 2)
        per_loc = np.einsum("blp,bpl->bl", stack[:, u_idx, :], ev)
        return np.sum(w * resid * resid, axis=1), per_loc @ incidence

    def start(self, r: np.ndarray) -> np.ndarray:
        """Simple starting values from the polychorics (pair order).

        Free loadings 1 (the marker's metric), a latent variance the mean
        correlation among its indicators (at least .05), covariances between
        latents the mean correlation between their indicators, regressions 0.
        """
        p = len(self.items)
        rmat = np.eye(p)
        rows, cols = pair_index(p)
        rmat[rows, cols] = rmat[cols, rows] = r
        ind = self._indicators()
        x = np.zeros(self.n_free)
        column = {k: i for i, k in enumerate(self.free.tolist())}
        for row in self.free_rows:
            k = column[row.free]
            if row.matrix == _LAMBDA:
                x[k] = 1.0
            elif row.matrix == _PSI:
                a, b = self.structure.inner[row.row], self.structure.inner[row.col]
                block = rmat[np.ix_(ind.get(a, []), ind.get(b, []))]
                vals = block[~np.eye(*block.shape, dtype=bool)] if a == b else block.ravel()
                mean = float(vals.mean()) if vals.size else 0.0
                x[k] = max(mean, 0.05) if a == b else mean
        return x

    def _indicators(self) -> dict[str, list[int]]:
        """Positions (data order) of each latent's indicators."""
        out: dict[str, list[int]] = {}
        for r in self.structure.rows:
            if r.op == "=~" and r.rhs in self.items:
                out.setdefault(r.lhs, []).append(self.items.index(r.rhs))
        return out


def _structure(syntax: str) -> ModelStructure:
    """The :class:`ModelStructure` of lavaan ``syntax`` with its fixed values in place, nothing estimated.

    The fixed values (the marker loadings) are written when a covariance is
    loaded; an identity correlation matrix does that without estimating
    anything (:meth:`~xhs_sharing.sem.model.ParsedModel.structure_for`).
    """
    parsed = load_model(syntax)
    p = len(parsed.observed)
    return parsed.structure_for(np.eye(p), p + 1)


def ordinal_model(syntax: str, items: tuple[str, ...] | list[str]) -> DeltaModel:
    """:class:`DeltaModel` of lavaan ``syntax`` (completed by lavaan's ``sem()`` defaults) for ``items``."""
    return DeltaModel.from_structure(_structure(syntax), items)


# ---------------------------------------------------------------------------
# estimation
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DWLSResult:
    """Minimiser of the DWLS discrepancy of one sample."""

    x: np.ndarray
    fmin: float  # F = sum_r w_r (r_r - sigma_r)^2 at x
    iterations: int
    converged: bool


def _lm_step(jac: np.ndarray, w: np.ndarray, resid: np.ndarray, damping: np.ndarray) -> np.ndarray:
    """Levenberg-Marquardt steps ``(J'WJ + lambda diag(J'WJ))^-1 J'W e`` for a batch ``(B, pstar, q)``."""
    jw = jac * w[..., None]
    info = np.swapaxes(jw, -1, -2) @ jac
    grad = np.einsum("...rq,...r->...q", jw, resid)
    diag = np.diagonal(info, axis1=-2, axis2=-1)
    info = info + damping[..., None, None] * (diag[..., None, :] * np.eye(info.shape[-1]))
    return np.linalg.solve(info, grad[..., None])[..., 0]


def fit_dwls(model: DeltaModel, r: np.ndarray, w: np.ndarray, start: np.ndarray | None = None,
             tol: float = 1e-10, max_iter: int = 200) -> DWLSResult:
    """DWLS estimate of the correlation structure: minimise ``sum_r w_r (r_r - sigma_r(x))^2``.

    Gauss-Newton with Levenberg-Marquardt damping (halved after a decrease,
    multiplied by 10 after an increase) from :meth:`DeltaModel.start`;
    converged when the largest step is below ``tol``.
    """
    x = model.start(r) if start is None else np.asarray(start, dtype=float).copy()
    f = float(np.sum(w * (r - model.moments(x)) ** 2))
    damping = 1e-3
    for it in range(1, max_iter + 1):
        jac = model.batched_jacobian(x[None])[1][0]  # = jacobian(x), without the (n_params, p, p) stack
        step = _lm_step(jac, w, r - model.moments(x), np.array(damping))
        f_new = float(np.sum(w * (r - model.moments(x + step)) ** 2))
        if f_new <= f:
            x, f, damping = x + step, f_new, max(damping / 2.0, 1e-12)
            if np.max(np.abs(step)) < tol:
                return DWLSResult(x, f, it, True)
        else:
            damping *= 10.0
            if damping > 1e12:
                break
    log.warning("DWLS did not converge in %d iterations", max_iter)
    return DWLSResult(x, f, max_iter, False)


def robust_vcov(jac: np.ndarray, w: np.ndarray, gamma: np.ndarray, n: float) -> np.ndarray:
    """Sandwich covariance of the DWLS estimates (lavaan ``se = "robust.sem"``).

    ``V = E^-1 (D'W Gamma W D) E^-1 / (N - 1)`` with ``E = D'WD`` (lavaan
    ``lav_model_nvcov_robust_sem``; Muthen, du Toit & Spisic 1997); lavaan
    divides by ``N - 1`` (``ntotal - ngroups``) for every estimator but ML.
    """
    wd = jac * w[:, None]
    e_inv = np.linalg.inv(jac.T @ wd)
    meat = wd.T @ gamma @ wd
    return e_inv @ meat @ e_inv / (n - 1.0)


@dataclass(frozen=True)
class ScaledShifted:
    """Standard and scaled-shifted test statistic of a DWLS fit."""

    chisq: float
    df: int
    chisq_scaled: float
    scaling_factor: float  # lavaan's chisq.scaling.factor = 1 / a
    shift: float  # lavaan's chisq.shift.parameters = b
    trace_ug: float
    trace_ug2: float


def scaled_shifted(chisq: float, df: int, w: np.ndarray, gamma: np.ndarray, jac: np.ndarray | None) -> ScaledShifted:
    """Mean-and-variance adjusted test ``T3 = a T + b`` (Asparouhov & Muthen 2010; lavaan ``scaled.shifted``).

    ``U = W - W D (D'WD)^-1 D'W`` over the correlations (``jac = None``: no
    structure parameters, the independence model, ``U = W``); ``a =
    sqrt(df / tr(U Gamma U Gamma))``, ``b = df - a tr(U Gamma)``. With ``df = 0``
    ``T3 = T`` and the scaling factor and shift are NaN (lavaan: NA).
    """
    u = np.diag(w)
    if jac is not None and jac.shape[1]:
        wd = jac * w[:, None]
        u = u - wd @ np.linalg.solve(jac.T @ wd, wd.T)
    ug = u @ gamma
    tr1, tr2 = float(np.trace(ug)), float(np.sum(ug * ug.T))
    if df == 0:  # a saturated model: nothing to scale (lavaan: NA scaling factor and shift)
        return ScaledShifted(float(chisq), 0, float(chisq), float("nan"), float("nan"), tr1, tr2)
    a = float(np.sqrt(df / tr2))
    shift = df - a * tr1
    return ScaledShifted(float(chisq), int(df), float(a * chisq + shift), 1.0 / a, float(shift), tr1, tr2)


def fit_measures(test: ScaledShifted, baseline: ScaledShifted, n: float, resid: np.ndarray, p: int) -> dict[str, float]:
    """lavaan's DWLS fit measures from the model's and the independence model's tests.

    CFI and TLI as ``lav_fit_cfi``/``lav_fit_tli`` (standard from ``T``,
    ``.scaled`` from ``T3`` of both models), RMSEA with ``N - 1``
    (``lav_utils_get_ntotal`` for DWLS), SRMR ``sqrt(sum resid^2 / (p(p+1)/2))``.
    The indices are :func:`xhs_sharing.sem.fit.cfi`, :func:`~xhs_sharing.sem.fit.tli`
    and :func:`~xhs_sharing.sem.fit.rmsea` (the same formulas as for ML; only
    the ``N`` and the statistics differ). ``T3 >= 0`` always: ``a tr(U Gamma)
    <= df`` by Cauchy-Schwarz over the ``df`` non-zero eigenvalues of ``U
    Gamma``, so the shift ``b`` is non-negative.
    """
    m = n - 1.0
    out = {
        "chisq": test.chisq, "df": float(test.df), "pvalue": float(chi2.sf(test.chisq, test.df)),
        "chisq.scaled": test.chisq_scaled, "df.scaled": float(test.df),
        "pvalue.scaled": float(chi2.sf(test.chisq_scaled, test.df)),
        "chisq.scaling.factor": test.scaling_factor, "chisq.shift.parameters": test.shift,
        "baseline.chisq": baseline.chisq, "baseline.df": float(baseline.df),
        "baseline.chisq.scaled": baseline.chisq_scaled,
        "baseline.chisq.scaling.factor": baseline.scaling_factor,
        "cfi": cfi(test.chisq, test.df, baseline.chisq, baseline.df),
        "tli": tli(test.chisq, test.df, baseline.chisq, baseline.df),
        "cfi.scaled": cfi(test.chisq_scaled, test.df, baseline.chisq_scaled, baseline.df),
        "tli.scaled": tli(test.chisq_scaled, test.df, baseline.chisq_scaled, baseline.df),
        "rmsea": rmsea(test.chisq, test.df, m),
        "rmsea.scaled": rmsea(test.chisq_scaled, test.df, m),
        "srmr": float(np.sqrt(np.sum(resid**2) / (p * (p + 1) / 2))),
    }
    return out


# ---------------------------------------------------------------------------
# one sample
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ParameterEstimate:
    """One row of the parameter table, in lavaan's notation (``op`` ``|`` for thresholds)."""

    lhs: str
    op: str
    rhs: str
    free: bool
    est: float
    se: float


@dataclass(frozen=True, eq=False)
class WLSMVFit:
    """A WLSMV fit: estimates, robust covariance, tests and fit measures.

    ``measures`` uses lavaan's ``fitMeasures()`` names (``chisq.scaled``,
    ``cfi.scaled``, ...); ``fmin`` is lavaan's (``F (N - 1) / (2N)``).
    """

    model: DeltaModel
    stats: OrdinalStats
    threshold_names: tuple[str, ...]
    x: np.ndarray
    vcov: np.ndarray
    fmin: float
    test: ScaledShifted
    baseline: ScaledShifted
    measures: dict[str, float]
    iterations: int
    converged: bool

    @property
    def se(self) -> np.ndarray:
        """Robust standard errors of ``x``."""
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))

    def parameters(self) -> list[ParameterEstimate]:
        """Every row of the model (free, fixed, and the implied residual variances), then the thresholds."""
        st = self.model.structure
        mats = st.matrices(self.model.full(self.x))
        resid = dict(zip(self.model.items, self.model.residual_variances(self.x), strict=True))
        column = {k: i for i, k in enumerate(self.model.free.tolist())}
        out = []
        for r in st.rows:
            if r.matrix == _THETA and r.row == r.col:
                out.append(ParameterEstimate(r.lhs, r.op, r.rhs, False, float(resid[r.lhs]), 0.0))
            elif r.free in column:
                k = column[r.free]
                out.append(ParameterEstimate(r.lhs, r.op, r.rhs, True, float(self.x[k]), float(self.se[k])))
            else:
                out.append(ParameterEstimate(r.lhs, r.op, r.rhs, False, float(mats[r.matrix][r.row, r.col]), 0.0))
        nth = len(self.threshold_names)
        th_se = np.sqrt(np.diag(self.stats.gamma)[:nth] / (self.stats.n - 1.0))
        for name, est, se in zip(self.threshold_names, self.stats.thresholds, th_se, strict=True):
            item, t = name.split("|")
            out.append(ParameterEstimate(item, "|", t, True, float(est), float(se)))
        return out


def fit_wlsmv(model: DeltaModel, stats: OrdinalStats, threshold_names: tuple[str, ...],
              start: np.ndarray | None = None) -> WLSMVFit:
    """WLSMV fit of ``model`` to one sample's :class:`~xhs_sharing.sem.ordinal.OrdinalStats` (with Gamma).

    Raises
    ------
    EstimationError
        No Gamma, a zero or non-finite Gamma diagonal, or no convergence.
    """
    if stats.gamma is None:
        raise EstimationError("WLSMV needs the Gamma of the sample statistics (ordinal_statistics(gamma=True))")
    nth = len(threshold_names)
    gamma = stats.gamma[nth:, nth:]
    gdiag = np.diag(gamma)
    if not np.all(np.isfinite(gdiag)) or np.any(gdiag <= 0):
        raise EstimationError("the diagonal of Gamma has zero or non-finite entries; DWLS weights undefined")
    w, r, n = 1.0 / gdiag, stats.correlations, stats.n
    res = fit_dwls(model, r, w, start)
    if not res.converged:
        raise EstimationError("DWLS did not converge")
    jac = model.jacobian(res.x)
    df = r.size - model.n_free
    test = scaled_shifted((n - 1.0) * res.fmin, df, w, gamma, jac)
    baseline = scaled_shifted((n - 1.0) * float(np.sum(w * r * r)), r.size, w, gamma, None)
    measures = fit_measures(test, baseline, n, r - model.moments(res.x), len(model.items))
    fmin = res.fmin * (n - 1.0) / (2.0 * n)
    measures.update({"ntotal": n, "npar": float(model.n_free + nth), "fmin": fmin})
    return WLSMVFit(model, stats, tuple(threshold_names), res.x, robust_vcov(jac, w, gamma, n), fmin,
                    test, baseline, measures, res.iterations, res.converged)


# ---------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WLSMVBootstrap:
    """WLSMV refits of ``B`` bootstrap resamples.

    Attributes
    ----------
    estimates : (B, n_free)
        ``NaN`` rows for failed resamples.
    converged : (B,) bool
    ordinal : BatchedOrdinal
        The resamples' thresholds, polychorics, Gamma diagonals and merged
        (empty) categories.
    iterations : int
        Most Gauss-Newton iterations any resample needed.
    """

    estimates: np.ndarray
    converged: np.ndarray
    ordinal: BatchedOrdinal
    iterations: int

    @property
    def failed(self) -> np.ndarray:
        """Resamples without estimates: degenerate (an item down to one category) or not converged."""
        return ~self.converged


def _gn_inverse(jac: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(J' W J)^-1`` for a batch: ``jac`` ``(pstar, q)`` shared or ``(B, pstar, q)``, ``w`` ``(B, pstar)``."""
    if jac.ndim == 2:
        return np.linalg.inv((jac.T[None] * w[:, None, :]) @ jac)
    return np.linalg.inv(np.swapaxes(jac * w[..., None], 1, 2) @ jac)


def _dwls_batch(model: DeltaModel, r: np.ndarray, w: np.ndarray, x0: np.ndarray,
                tol: float, max_iter: int, refresh: int = 3) -> tuple[np.ndarray, np.ndarray, int]:
    """DWLS for a batch of resamples at once, started from the full-sample estimates ``x0``.

    Gauss-Newton for the first ``refresh`` iterations (the first Jacobian,
    at ``x0``, is the same for every resample), then quasi-Newton with the
    last Gauss-Newton matrix ``(J' W_b J)^-1`` frozen and the exact gradient
    ``J(x)' W_b e_b(x)`` at every iterate (:meth:`DeltaModel.batched_gradient`,
    no Jacobian); a step that does not lower ``F`` is halved. The fixed point
    is the DWLS minimiser; near it the convergence rate is Gauss-Newton's.
    """
    b = r.shape[0]
    x = np.broadcast_to(x0, (b, x0.size)).copy()
    h_inv = _gn_inverse(model.jacobian(x0), w)
    f, g = model.batched_gradient(x, r, w)
    scale = np.ones(b)
    done = np.zeros(b, dtype=bool)
    failed = np.zeros(b, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        if 1 < it <= refresh:
            h_inv[act] = _gn_inverse(model.batched_jacobian(x[act])[1], w[act])
        step = scale[act, None] * (h_inv[act] @ g[act, :, None])[..., 0]
        f_new, g_new = model.batched_gradient(x[act] + step, r[act], w[act])
        better = f_new <= f[act] * (1.0 + 1e-13)
        good, bad = act[better], act[~better]
        x[good] += step[better]
        f[good], g[good] = f_new[better], g_new[better]
        scale[good] = np.minimum(2.0 * scale[good], 1.0)
        scale[bad] *= 0.5
        done[good[np.max(np.abs(step[better]), axis=1) < tol]] = True
        failed[bad[scale[bad] < 1e-10]] = True
        done |= failed
    return x, done & ~failed, it


def bootstrap_wlsmv(model: DeltaModel, data: OrdinalData, counts: np.ndarray, full: WLSMVFit,
                    chunk_size: int = 128, tol: float = 1e-10, max_iter: int = 100) -> WLSMVBootstrap:
    """WLSMV estimates of every resample of a count matrix ``(B, N)`` (rows: how often each respondent is drawn).

    Each resample gets its own thresholds, polychorics and DWLS weights
    (:func:`~xhs_sharing.sem.ordinal.batched_ordinal_statistics`: categories
    a resample does not draw are merged with a neighbour and counted), then
    the DWLS fit of all resamples of a chunk runs as one batched
    Levenberg-Marquardt iteration from the full-sample estimates. Resamples
    in which an item keeps a single category cannot be fitted (``failed``).
    """
    counts = np.asarray(counts, dtype=float)
    ordinal = batched_ordinal_statistics(data, counts, full.stats, chunk_size=chunk_size)
    nth = len(data.threshold_names)
    b = counts.shape[0]
    estimates = np.full((b, model.n_free), np.nan)
    converged = np.zeros(b, dtype=bool)
    usable = np.flatnonzero(~ordinal.degenerate)
    most = 0
    for s in range(0, usable.size, chunk_size):
        idx = usable[s:s + chunk_size]
        w = 1.0 / ordinal.gamma_diag[idx, nth:]
        x, ok, it = _dwls_batch(model, ordinal.polychoric[idx], w, full.x, tol, max_iter)
        estimates[idx[ok]] = x[ok]
        converged[idx] = ok
        most = max(most, it)
    if (~converged).any():
        log.info("%d of %d WLSMV resamples failed (%d degenerate)", int((~converged).sum()), b,
                 int(ordinal.degenerate.sum()))
    return WLSMVBootstrap(estimates, converged, ordinal, most)
