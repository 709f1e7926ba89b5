"""The package's one representation of a latent SEM, and the only use of semopy.

A model is written in lavaan syntax (``=~`` loadings, ``~`` regressions,
``~~`` (co)variances, ``a*x`` labels). semopy 2.3.11 parses it (in this
module and nowhere else) into the LISREL "all-y" notation (Joreskog 1973;
Bollen 1989, ch. 9), which :class:`ModelStructure` holds as plain NumPy::

    Sigma(theta) = Lambda C Psi C' Lambda' + Theta,      C = (I - B)^-1,

with ``B`` the regressions among the inner variables (latent variables and
observed variables taking part in regressions), ``Lambda`` the loadings,
``Psi`` the (residual) covariances of the inner variables and ``Theta`` the
residual covariances of the indicators. The free-parameter vector ``theta``
is semopy's (the active parameters in the order of the syntax), and every
estimator, check and table of the package indexes it the same way: the
single-sample solver (:mod:`xhs_sharing.sem.estimation`), the batched one
(:mod:`xhs_sharing.sem.batched`), the bootstrap, the Monte Carlo study.

:func:`load_model` parses the syntax, adding the residual covariances that
lavaan's ``sem()`` frees by default (``auto.cov.y``,
:func:`lavaan_default_lines`); the :class:`ParsedModel` it returns gives

* :meth:`ParsedModel.initial_estimates`: semopy's SLSQP fit of a data set,
  only the start of the package's own Fisher scoring, with the structure;
* :meth:`ParsedModel.structure_for`: the structure at semopy's starting
  values for a covariance matrix (no fit).

lavaan conventions this follows: the first loading of each factor fixed at 1,
exogenous latent variables covary, variances unbounded (a Heywood case is
an estimate, diagnosed by :mod:`xhs_sharing.sem.checks`). semopy fixes the
(co)variances of *observed* exogenous covariates at their sample values
(lavaan's ``fixed.x = TRUE``); the structure records where
(:attr:`ModelStructure.sample_fixed`) so an estimator can set them from each
sample (:meth:`ModelStructure.with_sample_moments`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Final

import numpy as np
import pandas as pd
import semopy

from xhs_sharing.errors import EstimationError, SpecError
from xhs_sharing.sem.standardize import inverse_i_minus_b, latent_covariance

logger = logging.getLogger(__name__)

__all__ = [
    "BETA",
    "LAMBDA",
    "PSI",
    "THETA",
    "ModelStructure",
    "ParameterRow",
    "ParsedModel",
    "check_syntax",
    "lavaan_default_lines",
    "load_model",
]


#: Position of each matrix in :meth:`ModelStructure.matrices` (semopy's ``Model.matrices`` order).
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

    @property
    def key(self) -> tuple[str, str, str]:
        """``(lhs, op, rhs)``, with the two names of a ``~~`` row sorted (it is symmetric)."""
        if self.op == "~~":
            a, b = sorted((self.lhs, self.rhs))
            return (a, self.op, b)
        return (self.lhs, self.op, self.rhs)


def _nilpotency_depth(pattern: np.ndarray) -> int | None:
    """Longest path of a directed graph's adjacency pattern, None when it has a cycle.

    For an acyclic pattern of ``B``, ``B^(d+1) = 0`` and ``(I - B)^-1 = I + B + ... + B^d``.
    """
    m = pattern.shape[0]
    step = pattern.astype(np.int64)
    power = np.eye(m, dtype=bool)
    for depth in range(m + 1):
        power = (power.astype(np.int64) @ step) > 0
        if not power.any():
            return depth
    return None


@dataclass(frozen=True, eq=False)
class ModelStructure:
    """Pure-NumPy LISREL representation of a model (see the module docstring).

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
        locations are listed once; ``loc_sym`` flags them), in parameter order.
    loc_sym : np.ndarray of bool
    param_names : tuple of str
        semopy's names of the free parameters (``_b3``, ``_c1``, labels).
    rows : tuple of ParameterRow
        Every parameter, free and fixed, in lavaan notation.
    data_dependent_fixed : tuple of str
        Fixed parameters whose value semopy took from the data (variances of
        observed exogenous covariates); a resample would need new values.
    start : np.ndarray or None
        semopy's starting values of the free parameters for the data the
        model was loaded with (a fallback start of the estimators).
    sample_fixed : tuple of (int, int, int, int)
        ``(i, j, k, l)``: the fixed ``Psi_ij`` (and ``Psi_ji``) is the sample
        covariance ``S_kl`` of two observed variables (the locations of
        ``data_dependent_fixed``).
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
    start: np.ndarray | None = None
    sample_fixed: tuple[tuple[int, int, int, int], ...] = ()

    # -- basic sizes -------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of free parameters ``q``."""
        return len(self.param_names)

    @property
    def n_observed(self) -> int:
        """Number of observed variables ``p``."""
        return len(self.observed)

    @property
    def n_inner(self) -> int:
        """Number of inner variables ``m`` (rows of ``B`` and ``Psi``)."""
        return len(self.inner)

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

    def param_index(self, lhs: str, op: str, rhs: str) -> int:
        """Index in ``theta`` of the free parameter ``lhs op rhs`` (lavaan notation).

        ``param_index("WSI", "~", "SN")`` (regression), ``("SN", "=~", "sn2")``
        (loading), ``("IS", "~~", "ES")`` (covariance, either order).

        Raises
        ------
        SpecError
            No such row, or the parameter is fixed.
        """
        key = ParameterRow(lhs, op, rhs, "", -1, 0, 0, 0).key
        for r in self.rows:
            if r.key == key:
                if r.free < 0:
                    raise SpecError(f"{lhs} {op} {rhs} is a fixed parameter")
                return r.free
        raise SpecError(f"the model has no parameter {lhs} {op} {rhs}")

    @cached_property
    def param_labels(self) -> tuple[str, ...]:
        """lavaan spelling of each free parameter (its first row): ``"SN =~ sn2"``, ``"WSI ~ SN"``."""
        first: dict[int, str] = {}
        for r in self.rows:
            if r.free >= 0:
                first.setdefault(r.free, f"{r.lhs} {r.op} {r.rhs}")
        return tuple(first[k] for k in range(self.n_params))

    @cached_property
    def row_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(matrix, row, col)`` of every entry of :attr:`rows`, as arrays."""
        return (np.array([r.matrix for r in self.rows], dtype=np.intp),
                np.array([r.row for r in self.rows], dtype=np.intp),
                np.array([r.col for r in self.rows], dtype=np.intp))

    @cached_property
    def scatter(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
        """Per matrix, ``(rows, cols, params)`` of every free entry, both halves of a symmetric one."""
        out = []
        for m in range(len(self.templates)):
            sel = self.loc_matrix == m
            r, c, k, sym = self.loc_row[sel], self.loc_col[sel], self.loc_param[sel], self.loc_sym[sel]
            out.append((np.concatenate([r, c[sym]]), np.concatenate([c, r[sym]]),
                        np.concatenate([k, k[sym]])))
        return tuple(out)

    @cached_property
    def beta_depth(self) -> int | None:
        """Longest path of ``B``'s pattern (free or fixed non-zero), None when it has a cycle."""
        pattern = self.templates[BETA] != 0
        r, c, _ = self.scatter[BETA]
        pattern[r, c] = True
        return _nilpotency_depth(pattern)

    def with_sample_moments(self, s: np.ndarray) -> ModelStructure:
        """The structure with the :attr:`sample_fixed` entries of ``Psi`` set from ``s``.

        What a fresh semopy fit of that sample would fix them at; ``self``
        when there are none.
        """
        if not self.sample_fixed:
            return self
        psi = self.templates[PSI].copy()
        for i, j, k, l in self.sample_fixed:
            psi[i, j] = psi[j, i] = s[k, l]
        psi.setflags(write=False)
        b, lam, _, th = self.templates
        return dataclasses.replace(self, templates=(b, lam, psi, th))

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
        for tmpl, (rows, cols, params) in zip(self.templates, self.scatter, strict=True):
            mx = np.broadcast_to(tmpl, lead + tmpl.shape).astype(
                np.result_type(tmpl, theta), copy=True
            )
            mx[..., rows, cols] = theta[..., params]
            out.append(mx)
        return out[0], out[1], out[2], out[3]

    def inner_covariance(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model-implied covariance of the inner variables and ``C``.

        ``Var(eta) = C Psi C'`` with ``C = (I - B)^{-1}``
        (:func:`~xhs_sharing.sem.standardize.latent_covariance`).  Works
        batched like :meth:`matrices`.
        """
        b, _, psi, _ = self.matrices(theta)
        return latent_covariance(b, psi)

    def implied_covariance(self, theta: np.ndarray) -> np.ndarray:
        """Model-implied covariance of the observed variables, ``Sigma = M Psi M' + Theta``, ``M = Lambda C``."""
        b, lam, psi, th = self.matrices(theta)
        mm = lam @ inverse_i_minus_b(b)
        return mm @ psi @ np.swapaxes(mm, -1, -2) + th

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
        c = inverse_i_minus_b(b)
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


# ---------------------------------------------------------------- semopy


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


def _sample_fixed(model: semopy.Model, names: list[str]) -> tuple[tuple[int, int, int, int], ...]:
    """Locations in ``Psi`` of fixed parameters that semopy set from the sample moments."""
    inner, obs = model.vars["inner"], list(model.vars["observed"])
    out = []
    for name in names:
        for loc in model.parameters[name].locations:
            if loc.matrix is not model.mx_psi:
                continue
            i, j = (int(x) for x in loc.indices)
            if inner[i] in obs and inner[j] in obs:
                out.append((i, j, obs.index(inner[i]), obs.index(inner[j])))
    return tuple(out)


def _structure_from_model(model: semopy.Model) -> ModelStructure:
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
                if m in (PSI, THETA) and i != j and not loc.symmetric:
                    raise SpecError(f"non-symmetric covariance parameter {name} is not supported")
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
    start = np.array([model.parameters[name].start for name in active], dtype=float)
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
        start=start,
        sample_fixed=_sample_fixed(model, data_fixed),
    )


def _require_syntax(syntax: str) -> None:
    if not isinstance(syntax, str) or not syntax.strip():
        raise SpecError("model syntax must be a non-empty string")


def check_syntax(syntax: str) -> None:
    """:class:`SpecError` unless ``syntax`` is a non-empty string with a measurement part (``=~``)."""
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


def _lavaan_default_covariances(model: semopy.Model) -> list[str]:
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


def lavaan_default_lines(syntax: str) -> list[str]:
    """The ``~~`` lines lavaan's ``sem()`` would add to ``syntax`` (``auto.cov.y``), in order."""
    _require_syntax(syntax)
    return _lavaan_default_covariances(_build_model(syntax))


@dataclass(frozen=True, eq=False)
class ParsedModel:
    """A model parsed from lavaan syntax (:func:`load_model`).

    Attributes
    ----------
    syntax : str
        The syntax held, with lavaan's default covariances when they were added.
    observed : tuple of str
        The observed variables, in the column order every estimator expects.
    """

    syntax: str
    observed: tuple[str, ...]
    _model: semopy.Model = field(repr=False)

    def _fresh(self) -> semopy.Model:
        return copy.deepcopy(self._model)

    def initial_estimates(
        self, x: np.ndarray, cov: np.ndarray | None = None
    ) -> tuple[ModelStructure, np.ndarray]:
        """semopy's default SLSQP fit (Wishart ML), used only as a start; and the structure.

        Parameters
        ----------
        x : np.ndarray, shape (n, p)
            Complete data, columns in :attr:`observed` order (semopy takes
            its starting values and, without ``cov``, the covariance from them).
        cov : np.ndarray, optional
            Covariance matrix to fit instead of the data's (e.g. the EM one).

        Raises
        ------
        EstimationError
            semopy raises.
        """
        model = self._fresh()
        cols = list(self.observed)
        frame = pd.DataFrame(x, columns=cols)
        cov_df = None if cov is None else pd.DataFrame(cov, index=cols, columns=cols)
        try:
            res = model.fit(frame, cov=cov_df, obj="MLW", solver="SLSQP")
        except Exception as exc:
            raise EstimationError(f"semopy's SLSQP fit failed: {exc}") from exc
        if not res.success:
            logger.info("semopy SLSQP did not report success (%s); polishing anyway", res.message)
        return _structure_from_model(model), np.asarray(model.param_vals, dtype=float)

    def structure_for(self, cov: np.ndarray, n_obs: int) -> ModelStructure:
        """The structure with semopy's starting values for a covariance matrix (no fit).

        ``cov`` in :attr:`observed` order; ``structure.start`` holds the
        starting values, the :attr:`~ModelStructure.sample_fixed` entries
        come from ``cov``.
        """
        model = self._fresh()
        cols = list(self.observed)
        model.load(cov=pd.DataFrame(cov, index=cols, columns=cols), n_samples=n_obs)
        return _structure_from_model(model)


def load_model(syntax: str, *, lavaan_defaults: bool = True) -> ParsedModel:
    """Parse lavaan syntax (by semopy) into a :class:`ParsedModel`.

    With ``lavaan_defaults`` the residual covariances that lavaan's ``sem()``
    frees among pure-dependent latents (:func:`lavaan_default_lines`) are
    added to the syntax when it does not state them.

    Raises
    ------
    SpecError
        Empty or unparsable syntax, explicit (in)equality constraints.
    """
    _require_syntax(syntax)
    model = _build_model(syntax)
    if lavaan_defaults:
        extra = _lavaan_default_covariances(model)
        if extra:
            logger.info("adding lavaan sem() default covariances: %s", "; ".join(extra))
            syntax = syntax.rstrip() + "\n# lavaan auto.cov.y defaults\n" + "\n".join(extra) + "\n"
            model = _build_model(syntax)
    return ParsedModel(syntax=syntax, observed=tuple(model.vars["observed"]), _model=model)
