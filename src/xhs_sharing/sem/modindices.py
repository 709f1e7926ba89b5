"""Modification indices and expected parameter changes, as lavaan's ``modindices()`` (ML, expected information).

lavaan 0.6.14 (``lav_mi.R``; Sorbom 1989; Saris, Satorra & Sorbom 1987)
frees, one at a time, every parameter of the full parameter table that the
model does not estimate (``lav_partable_full``): every loading
``latent =~ item``, every covariance (and variance) among the indicators'
residuals and among the latent variables, and every regression among the
variables of the structural equations; fixed parameters of the model
(the marker loadings, a covariance fixed at 0) are freed too. With the unit
expected information ``I`` of the extended model (per respondent,
``I_kl = 1/2 tr(K dSigma_k K dSigma_l)``, ``K = Sigma^-1``) partitioned into
the model's free parameters (2) and the candidates (1), and the gradient of
the log-likelihood per respondent at the estimates,
``g_k = 1/2 tr(K (S - Sigma) K dSigma_k)`` (zero for the free ones):

.. math::

    V = I_{11} - I_{12} I_{22}^{-1} I_{21}, \\qquad
    MI_k = N g_k^2 / V_{kk}, \\qquad EPC_k = g_k / V_{kk}.

``MI`` is the score (Lagrange multiplier) statistic on one df: the expected
drop of the chi-square when the parameter is freed; ``EPC`` its expected
value when freed. A candidate with ``V_kk < eps^(1/3)`` (not identified when
freed, e.g. a marker loading) gets no index and is left out, as lavaan's
``na.remove``. ``sepc_all`` is the EPC on the completely standardized scale
(lavaan's ``sepc.all`` with ``cov.std = TRUE``): a loading times
``sd(latent) / sd(item)``, a regression times ``sd(rhs) / sd(lhs)``, a
covariance divided by the square root of the product of the two (residual)
variances of the model. The same numbers hold under MLR (lavaan's
``modindices`` uses the expected information whatever the standard errors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from xhs_sharing.errors import SpecError
from xhs_sharing.sem.frames import as_covariance
from xhs_sharing.sem.model import BETA, LAMBDA, PSI, THETA, ModelStructure
from xhs_sharing.sem.standardize import inverse_i_minus_b

__all__ = ["MI_COLUMNS", "Candidate", "candidates", "modification_indices"]

#: Columns of :func:`modification_indices` (lavaan: lhs, op, rhs, mi, epc, sepc.all).
MI_COLUMNS: Final = ("lhs", "op", "rhs", "mi", "epc", "sepc_all")

_V_TOL: Final = np.finfo(float).eps ** (1.0 / 3.0)  # lavaan: .Machine$double.eps^(1/3)
_SMALL: Final = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class Candidate:
    """A parameter the model does not estimate: its lavaan row and its place in ``(B, Lambda, Psi, Theta)``."""

    lhs: str
    op: str
    rhs: str
    matrix: int
    row: int
    col: int


def _free_locations(structure: ModelStructure) -> set[tuple[int, int, int]]:
    out = set()
    for m, i, j in zip(structure.loc_matrix, structure.loc_row, structure.loc_col, strict=True):
        if m in (PSI, THETA):
            i, j = max(i, j), min(i, j)
        out.add((int(m), int(i), int(j)))
    return out


def candidates(structure: ModelStructure) -> list[Candidate]:
    """The parameters ``modindices`` tries, lavaan's ``lav_partable_full`` less the free ones.

    Loadings of every item on every latent variable, covariances and
    variances among the items' residuals and among the latent variables,
    and regressions among the variables of the structural equations (those
    in a ``~`` row), self-regressions aside.

    Raises
    ------
    SpecError
        An observed variable takes part in a regression (not supported here).
    """
    inner, obs = structure.inner, structure.observed
    if any(v not in structure.latent for v in inner):
        raise SpecError("modification indices need a model whose regressions are among latent variables; "
                        f"{[v for v in inner if v not in structure.latent]} are observed")
    free = _free_locations(structure)
    out: list[Candidate] = []
    for j, lv in enumerate(inner):
        out += [Candidate(lv, "=~", ov, LAMBDA, i, j) for i, ov in enumerate(obs) if (LAMBDA, i, j) not in free]
    for names, m in ((obs, THETA), (inner, PSI)):
        for j in range(len(names)):
            out += [Candidate(names[j], "~~", names[i], m, i, j)
                    for i in range(j, len(names)) if (m, i, j) not in free]
    eqs = [k for k, v in enumerate(inner) if any(r.op == "~" and v in (r.lhs, r.rhs) for r in structure.rows)]
    out += [Candidate(inner[i], "~", inner[j], BETA, i, j)
            for i in eqs for j in eqs if i != j and (BETA, i, j) not in free]
    return out


def _candidate_derivatives(structure: ModelStructure, theta: np.ndarray, cands: list[Candidate]) -> np.ndarray:
    """``dSigma / d(candidate)`` at ``theta``, shape ``(len(cands), p, p)``.

    The same outer-product rules as
    :meth:`~xhs_sharing.sem.model.ModelStructure.sigma_derivatives`
    (``M = Lambda C``, ``D = C Psi M'``): a loading ``Lambda_ij`` gives
    ``e_i D_j. + (.)'``, a regression ``B_ij`` ``M_.i D_j. + (.)'``, a
    covariance ``Psi_ij`` ``M_.i M_.j' + (.)'`` and ``Theta_ij``
    ``e_i e_j' + (.)'``, halved on the diagonal.
    """
    b, lam, psi, _ = structure.matrices(theta)
    mm = lam @ inverse_i_minus_b(b)
    d = inverse_i_minus_b(b) @ psi @ mm.T
    eye = np.eye(mm.shape[0])
    sources = {BETA: (mm.T, d), LAMBDA: (eye, d), PSI: (mm.T, mm.T), THETA: (eye, eye)}
    out = np.empty((len(cands), mm.shape[0], mm.shape[0]))
    for k, c in enumerate(cands):
        u_src, v_src = sources[c.matrix]
        outer = np.outer(u_src[c.row], v_src[c.col])
        f = 0.5 if c.matrix in (PSI, THETA) and c.row == c.col else 1.0
        out[k] = f * (outer + outer.T)
    return out


def _standardizer(structure: ModelStructure, theta: np.ndarray, c: Candidate) -> float:
    """Factor turning an EPC into lavaan's ``sepc.all`` (``cov.std = TRUE``); NaN where undefined."""
    b, lam, psi, th = structure.matrices(theta)
    eta_var, _ = structure.inner_covariance(theta)
    sd_eta = np.sqrt(np.where(np.diag(eta_var) > 0, np.diag(eta_var), np.nan))
    sigma = structure.implied_covariance(theta)
    sd_ov = np.sqrt(np.where(np.diag(sigma) > 0, np.diag(sigma), np.nan))
    if c.matrix == LAMBDA:
        return float(sd_eta[c.col] / sd_ov[c.row])
    if c.matrix == BETA:
        return float(sd_eta[c.col] / sd_eta[c.row])
    resid = psi if c.matrix == PSI else th
    scale = math.sqrt(abs(resid[c.row, c.row]) * abs(resid[c.col, c.col]))
    return float(1.0 / scale) if scale > 0 else float("nan")  # a variance fixed at 0 (single-item construct)


def _sepc_all(structure: ModelStructure, theta: np.ndarray, c: Candidate, epc: float) -> float:
    if c.row == c.col and c.matrix in (PSI, THETA):  # a variance: lavaan standardizes the model's value
        b, lam, psi, th = structure.matrices(theta)
        est = (psi if c.matrix == PSI else th)[c.row, c.row]
        if abs(est) < _SMALL:
            return 0.0
        total = structure.inner_covariance(theta)[0] if c.matrix == PSI else structure.implied_covariance(theta)
        return float(math.copysign(abs(est) / total[c.row, c.row], epc))
    return float(epc * _standardizer(structure, theta, c))


def modification_indices(structure: ModelStructure, theta: np.ndarray, S: np.ndarray, n: int) -> pd.DataFrame:
    """lavaan's ``modindices(fit, sort = TRUE)`` of an ML fit: ``lhs, op, rhs, mi, epc, sepc_all``.

    Parameters
    ----------
    structure : ModelStructure
    theta : np.ndarray
        ML estimates of the free parameters.
    S : array_like, shape (p, p)
        Sample covariance (divisor N) the model was fitted to.
    n : int
        Sample size N.

    Returns
    -------
    pandas.DataFrame
        One row per candidate (:func:`candidates`) with an index, largest
        ``mi`` first; candidates not identified when freed are left out.
    """
    theta = np.asarray(theta, dtype=float)
    S = as_covariance("S", S)
    cands = candidates(structure)
    if not cands:
        return pd.DataFrame(columns=list(MI_COLUMNS))
    sigma, d_free = structure.sigma_derivatives(theta)
    d_all = np.concatenate([_candidate_derivatives(structure, theta, cands), d_free])
    k = np.linalg.inv(sigma)
    a = k @ d_all  # tr(A_k A_l) = sum_ij A_k[i, j] A_l[j, i]
    info = 0.5 * (a.reshape(a.shape[0], -1) @ np.swapaxes(a, 1, 2).reshape(a.shape[0], -1).T)
    g = 0.5 * np.einsum("kij,ji->k", a, k @ (S - sigma))  # tr(K dSigma_k K (S - Sigma))
    m = len(cands)
    i11, i12, i22 = info[:m, :m], info[:m, m:], info[m:, m:]
    v = np.diag(i11) - np.einsum("ij,ji->i", i12, np.linalg.solve(i22, i12.T))
    ok = v >= _V_TOL
    gc = g[:m]
    rows = []
    for idx in np.flatnonzero(ok):
        c, vk = cands[idx], v[idx]
        epc = float(gc[idx] / vk)
        rows.append((c.lhs, c.op, c.rhs, float(n * gc[idx] ** 2 / vk), epc,
                     _sepc_all(structure, theta, c, epc)))
    frame = pd.DataFrame(rows, columns=list(MI_COLUMNS))
    return frame.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
