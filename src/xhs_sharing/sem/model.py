"""model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from typing import Final

import numpy as np
import pandas as pd
import semopy

from xhs_sharing.errors import EstimationError, SpecError

logger = logging.getLogger(__name__)

__all__ = [
    "ModelStructure",
    "ParameterRow",
    "load_model",
]


#: Matrix order of semopy's ``Model.matrices`` (``Model.matrices_names``).
BETA: Final = 0


LAMBDA: Final = 1


PSI: Final = 2


THETA: Final = 3


_MATRIX_NAMES: Final = ("beta", "lambda", "psi", "theta")


@dataclass(frozen=True)
class ParameterRow:
    """One row of the lavaan-style parameter table.

    Attributes
    ----------
    lhs, op, rhs : str
        lavaan names (``=~`` rows have the latent on the left).
    label : str
        User label from the syntax (``a*x``), ``""`` if none.
    free : int
        Index into the free-parameter vector, ``-1`` for a fixed parameter.
    matrix : int
        ``BETA``, ``LAMBDA``, ``PSI`` or ``THETA``.
    row, col : int
        Position in that matrix.
    """

    lhs: str
    op: str
    rhs: str
    label: str
    free: int
    matrix: int
    row: int
    col: int


@dataclass(frozen=True, eq=False)
class ModelStructure:
    """Pure-NumPy LISREL representation of a semopy model.

    Attributes
    ----------
    inner : tuple of str
        Names of ``B``/``Psi`` rows (latent variables, then observed variables
        that take part in the structural model).
    observed : tuple of str
        Names of ``Lambda``/``Theta`` rows (indicators, data column order).
    latent : frozenset of str
        Latent variables among ``inner``.
    templates : tuple of np.ndarray
        ``(B, Lambda, Psi, Theta)`` with fixed values and zeros where free.
    loc_matrix, loc_row, loc_col, loc_param : np.ndarray
        One entry per location of a free parameter (symmetric off-diagonal
        locations are listed once; ``loc_sym`` flags them).
    loc_sym : np.ndarray of bool
    param_names : tuple of str
        semopy's names of the free parameters (``_b3``, ``_c1``, labels).
    rows : tuple of ParameterRow
        Every parameter, free and fixed, in lavaan notation.
    data_dependent_fixed : tuple of str
        Fixed parameters whose value semopy took from the data (variances of
        observed exogenous covariates); a resample would need new values.
    """

    inner: tuple[str, ...]
    observed: tuple[str, ...]
    latent: frozenset[str]
    templates: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    loc_matrix: np.ndarray
    loc_row: np.ndarray
    loc_col: np.ndarray
    loc_param: np.ndarray
    loc_sym: np.ndarray
    param_names: tuple[str, ...]
    rows: tuple[ParameterRow, ...]
    data_dependent_fixed: tuple[str, ...] = ()

    # -- basic sizes -------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of free parameters ``q``."""
        return len(self.param_names)

    @property
    def n_observed(self) -> int:
        """Number of observed variables ``p``."""
        return len(self.observed)

    def inner_index(self, name: str) -> int:
        """Row of ``name`` in ``B``/``Psi``; :class:`SpecError` if absent."""
        try:
            return self.inner.index(name)
        except ValueError:
            raise SpecError(
                f"{name!r} is not a latent (structural) variable of the model; "
                f"known: {', '.join(self.inner)}"
            ) from None

    def has_path(self, lhs: str, rhs: str) -> bool:
        """Whether the model contains the regression ``lhs ~ rhs``."""
        return any(
            r.op == "~" and r.lhs == lhs and r.rhs == rhs for r in self.rows
        )

    # -- matrices ----------------------------------------------------------
    def matrices(
        self, theta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(B, Lambda, Psi, Theta)`` at the free-parameter vector ``theta``.

        ``theta`` may be real or complex (complex-step derivatives), shape
        ``(q,)``; with shape ``(n, q)`` every matrix gets a leading axis ``n``.
        """
        theta = np.asarray(theta)
        if theta.shape[-1] != self.n_params:
            raise SpecError(
                f"parameter vector has {theta.shape[-1]} entries, "
                f"the model has {self.n_params} free parameters"
            )
        lead = theta.shape[:-1]
        out = []
        for m, tmpl in enumerate(self.templates):
            mx = np.broadcast_to(tmpl, lead + tmpl.shape).astype(
                np.result_type(tmpl, theta), copy=True
            )
            sel = self.loc_matrix == m
            rows, cols = self.loc_row[sel], self.loc_col[sel]
            vals = theta[..., self.loc_param[sel]]
            mx[..., rows, cols] = vals
            sym = self.loc_sym[sel]
            mx[..., cols[sym], rows[sym]] = vals[..., sym]
            out.append(mx)
        return out[0], out[1], out[2], out[3]

    def inner_covariance(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model-implied covariance of the inner variables and ``C``.

        ``Var(eta) = C Psi C'`` with ``C = (I - B)^{-1}`` (Bollen 1989,
        Structural Equations with Latent Variables, ch. 8; lavaan
        ``lav_model_veta``).  Works batched like :meth:`matrices`.
        """
        b, _, psi, _ = self.matrices(theta)
        eye = np.eye(b.shape[-1])
        c = np.linalg.inv(eye - b)
        return c @ psi @ np.swapaxes(c, -1, -2), c

    def implied_covariance(self, theta: np.ndarray) -> np.ndarray:
        """Model-implied covariance of the observed variables ``Sigma``."""
        _, lam, _, th = self.matrices(theta)
        veta, _ = self.inner_covariance(theta)
        return lam @ veta @ np.swapaxes(lam, -1, -2) + th

    # -- derivatives -------------------------------------------------------
    @cached_property
    def incidence(self) -> np.ndarray:
        """``(q, n_loc)`` 0/1 matrix mapping locations to free parameters."""
        out = np.zeros((self.n_params, self.loc_param.size))
        out[self.loc_param, np.arange(self.loc_param.size)] = 1.0
        return out

    def sigma_derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Sigma`` and ``dSigma/dtheta_k`` for every free parameter.

        Every location contributes ``f (u v' + v u')`` (Neudecker & Satorra
        1991; semopy ``calc_sigma_grad``): with ``M = Lambda C`` and
        ``D = C Psi M'``, a loading ``Lambda_ij`` has ``u = e_i, v = D_j.``, a
        regression ``B_ij`` has ``u = M_.i, v = D_j.``, a covariance
        ``Psi_ij`` has ``u = M_.i, v = M_.j`` and ``Theta_ij`` has
        ``u = e_i, v = e_j``; ``f = 1/2`` on the diagonal of ``Psi``/``Theta``.

        Returns
        -------
        sigma : np.ndarray, shape (p, p)
        dsigma : np.ndarray, shape (q, p, p)
        """
        b, lam, psi, th = self.matrices(theta)
        c = np.linalg.inv(np.eye(b.shape[0]) - b)
        mm = lam @ c
        d = c @ psi @ mm.T
        sigma = mm @ psi @ mm.T + th
        p = sigma.shape[0]
        eye = np.eye(p)
        kind, i, j = self.loc_matrix, self.loc_row, self.loc_col
        u = np.empty((kind.size, p))
        v = np.empty((kind.size, p))
        for m, u_src, v_src in ((BETA, mm.T, d), (LAMBDA, eye, d),
                                (PSI, mm.T, mm.T), (THETA, eye, eye)):
            sel = kind == m
            u[sel] = u_src[i[sel]]
            v[sel] = v_src[j[sel]]
        diag = ((kind == PSI) | (kind == THETA)) & (i == j)
        f = np.where(diag, 0.5, 1.0)
        outer = u[:, :, None] * v[:, None, :]
        dloc = f[:, None, None] * (outer + np.swapaxes(outer, 1, 2))
        dsigma = (self.incidence @ dloc.reshape(dloc.shape[0], -1)).reshape(-1, p, p)
        return sigma, dsigma


def _matrix_index(model: semopy.Model, mx: np.ndarray) -> int:
    for i, candidate in enumerate(model.matrices[:4]):
        if candidate is mx:
            return i
    raise SpecError("semopy placed a parameter outside B, Lambda, Psi, Theta")


def _lavaan_names(
    model: semopy.Model, m: int, i: int, j: int
) -> tuple[str, str, str]:
    inner, obs = model.vars["inner"], model.vars["observed"]
    if m == BETA:
        return inner[i], "~", inner[j]
    if m == LAMBDA:
        return inner[j], "=~", obs[i]
    if m == PSI:
        return inner[i], "~~", inner[j]
    return obs[i], "~~", obs[j]


def structure_from_model(model: semopy.Model) -> ModelStructure:
    """Extract the :class:`ModelStructure` of a loaded semopy ``Model``.

    The free-parameter order is semopy's (``Model.param_vals``): the active
    entries of ``Model.parameters`` in insertion order.
    """
    if list(model.matrices_names) != list(_MATRIX_NAMES):
        raise SpecError(f"unsupported semopy model class {type(model).__name__}")
    active = [name for name, p in model.parameters.items() if p.active]
    free_of = {name: k for k, name in enumerate(active)}
    templates = [np.array(mx, dtype=float, copy=True) for mx in model.matrices[:4]]
    loc_m, loc_r, loc_c, loc_p, loc_s = [], [], [], [], []
    rows: list[ParameterRow] = []
    data_fixed: list[str] = []
    to_start = set(getattr(model, "params_to_start", ()))
    for name, param in model.parameters.items():
        label = "" if name.startswith("_") else name
        k = free_of.get(name, -1)
        if k < 0 and name in to_start:
            data_fixed.append(name)
        for loc in param.locations:
            m = _matrix_index(model, loc.matrix)
            i, j = (int(x) for x in loc.indices)
            lhs, op, rhs = _lavaan_names(model, m, i, j)
            rows.append(ParameterRow(lhs, op, rhs, label, k, m, i, j))
            if k >= 0:
                templates[m][i, j] = 0.0
                if loc.symmetric:
                    templates[m][j, i] = 0.0
                loc_m.append(m)
                loc_r.append(i)
                loc_c.append(j)
                loc_p.append(k)
                loc_s.append(bool(loc.symmetric) and i != j)
    for t in templates:
        t.setflags(write=False)
    return ModelStructure(
        inner=tuple(model.vars["inner"]),
        observed=tuple(model.vars["observed"]),
        latent=frozenset(model.vars["latent"]),
        templates=(templates[0], templates[1], templates[2], templates[3]),
        loc_matrix=np.array(loc_m, dtype=np.intp),
        loc_row=np.array(loc_r, dtype=np.intp),
        loc_col=np.array(loc_c, dtype=np.intp),
        loc_param=np.array(loc_p, dtype=np.intp),
        loc_sym=np.array(loc_s, dtype=bool),
        param_names=tuple(active),
        rows=tuple(rows),
        data_dependent_fixed=tuple(data_fixed),
    )


def _require_syntax(syntax: str) -> None:
    if not isinstance(syntax, str) or not syntax.strip():
        raise SpecError("model syntax must be a non-empty string")


def _validate_syntax(syntax: str) -> None:
    _require_syntax(syntax)
    if "=~" not in syntax:
        raise SpecError("model syntax has no measurement part ('=~')")


def _build_model(syntax: str) -> semopy.Model:
    try:
        model = semopy.Model(syntax)
    except Exception as exc:  # semopy raises bare Exceptions/KeyErrors
        raise SpecError(f"semopy could not parse the model syntax: {exc}") from exc
    if model.constraints:
        raise SpecError("explicit (in)equality constraints are not supported")
    return model


def lavaan_default_covariances(model: semopy.Model) -> list[str]:
    """``~~`` lines lavaan's ``sem()`` adds but semopy does not.

    lavaan frees the residual covariances among *pure dependent* latent
    variables (``auto.cov.y = TRUE``; ``lv.y`` in ``lav_partable_vnames``:
    on the left of ``~``, never on its right, not an indicator).
    """
    rows, cols = model.names_beta
    regs = [
        (rows[loc.indices[0]], cols[loc.indices[1]])
        for p in model.parameters.values()
        for loc in p.locations
        if loc.matrix is model.mx_beta
    ]
    eqs_y = {lhs for lhs, _ in regs}
    eqs_x = {rhs for _, rhs in regs}
    ind = set(model.vars["indicator"])
    lv_y = sorted(
        v for v in eqs_y if v in model.vars["latent"] and v not in eqs_x | ind
    )
    psi = model.mx_psi
    inner = model.vars["inner"]
    existing = {
        frozenset((inner[loc.indices[0]], inner[loc.indices[1]]))
        for p in model.parameters.values()
        for loc in p.locations
        if loc.matrix is psi
    }
    return [
        f"{a} ~~ {b}" for a, b in combinations(lv_y, 2)
        if frozenset((a, b)) not in existing
    ]


def load_model(syntax: str, *, lavaan_defaults: bool = True) -> tuple[semopy.Model, str]:
    """Parse lavaan syntax into a semopy ``Model``; returns it and the syntax it holds.

    With ``lavaan_defaults`` the residual covariances that lavaan's ``sem()``
    frees among pure-dependent latents (:func:`lavaan_default_covariances`)
    are added to the syntax when it does not state them.

    Raises
    ------
    SpecError
        Empty or unparsable syntax, explicit (in)equality constraints.
    """
    _require_syntax(syntax)
    model = _build_model(syntax)
    if lavaan_defaults:
        extra = lavaan_default_covariances(model)
        if extra:
            logger.info("adding lavaan sem() default covariances: %s", "; ".join(extra))
            syntax = syntax.rstrip() + "\n# lavaan auto.cov.y defaults\n" + "\n".join(extra) + "\n"
            model = _build_model(syntax)
    return model, syntax


def _initial_fit(model: semopy.Model, data: pd.DataFrame, cov: pd.DataFrame | None = None) -> np.ndarray:
    """semopy's default SLSQP fit, used only as a start for the polish."""
    try:
        res = model.fit(data, cov=cov, obj="MLW", solver="SLSQP")
    except Exception as exc:
        raise EstimationError(f"semopy's SLSQP fit failed: {exc}") from exc
    if not res.success:
        logger.info("semopy SLSQP did not report success (%s); polishing anyway", res.message)
    return np.asarray(model.param_vals, dtype=float)


def _sync_semopy(model: semopy.Model, theta: np.ndarray, fmin: float, converged: bool) -> None:
    """Write the polished solution back into semopy's model object."""
    model.param_vals = np.array(theta, copy=True)
    model.update_matrices(model.param_vals)
    res = model.last_result
    res.x = model.param_vals
    res.fun = fmin
    res.success = converged
    res.message = "polished by xhs_sharing.sem.estimation.solve_ml (Fisher scoring)"
