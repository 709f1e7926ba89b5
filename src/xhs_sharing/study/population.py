"""Population model of the study: the covariance of every latent variable and item.

The spec gives standardized values (loadings, structural coefficients,
exogenous correlations). Residual variances are derived so that every latent
variable and every latent item response has unit variance, and the implied
covariance follows from the RAM formulation (McArdle & McDonald 1984):

.. math:: \\Sigma = F (I - A)^{-1} S (I - A)^{-\\top} F^\\top

with ``A`` the directed paths (structural coefficients and loadings), ``S``
the variances and covariances of exogenous variables and residuals, and ``F``
the filter that keeps the observed items.

A spec may declare no population values at all (a study of observed data);
every function here that needs them raises a :class:`SpecError` naming the
spec file and the missing fields (:func:`xhs_sharing.study.spec.require_population`),
and :func:`population_document` records that none were declared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xhs_sharing.errors import SpecError
from xhs_sharing.study.spec import POPULATION_FIELDS, Claim, Study, require_population, topological_order


@dataclass(frozen=True)
class PopulationModel:
    """Population matrices in RAM form, all in standardized units.

    Attributes
    ----------
    latents, items : list of str
        Variable names in matrix order (latents first in ``A`` and ``S``).
    A : ndarray, shape (k + p, k + p)
        Directed effects, ``A[i, j]`` = effect of variable j on variable i.
    S : ndarray, shape (k + p, k + p)
        Exogenous (co)variances and residual variances.
    F : ndarray, shape (p, k + p)
        Filter keeping the items.
    """

    latents: list[str]
    items: list[str]
    A: np.ndarray
    S: np.ndarray
    F: np.ndarray

    @property
    def full_covariance(self) -> np.ndarray:
        """Covariance of all latent variables and items, ``(I-A)^-1 S (I-A)^-T``."""
        inv = np.linalg.inv(np.eye(self.A.shape[0]) - self.A)
        return inv @ self.S @ inv.T

    @property
    def latent_covariance(self) -> np.ndarray:
        """Covariance (here: correlation) matrix of the latent variables."""
        k = len(self.latents)
        return self.full_covariance[:k, :k]

    @property
    def item_covariance(self) -> np.ndarray:
        """Covariance of the latent item responses, ``F Sigma_full F'``."""
        return self.F @ self.full_covariance @ self.F.T

    @property
    def residual_variances(self) -> dict[str, float]:
        """Residual (disturbance) variance of every endogenous latent and every item."""
        names = self.latents + self.items
        diag = np.diag(self.S)
        return {n: float(diag[i]) for i, n in enumerate(names) if n in self.items or self.A[i].any()}


def _value(x: float | None) -> float:
    """A population value of a spec that declares them (:func:`require_population` ran); 0 for an unused one."""
    return 0.0 if x is None else float(x)


def structural_matrices(study: Study) -> tuple[np.ndarray, np.ndarray]:
    """Standardized structural coefficients ``B`` and latent residual covariance ``Psi``.

    Endogenous residual variances are solved in topological order:
    :math:`\\psi_j = 1 - b_j^\\top \\Sigma_{PP} b_j`, where :math:`\\Sigma_{PP}`
    is the (already final) covariance of the predictors of j.

    Raises
    ------
    SpecError
        When the exogenous correlation matrix is not positive definite, or when a
        construct's explained variance reaches 1 (naming the construct).
    """
    require_population(study, "the population model")
    names = study.construct_ids
    idx = {c: i for i, c in enumerate(names)}
    k = len(names)
    B = np.zeros((k, k))
    for p in study.paths:
        B[idx[p.target], idx[p.source]] = _value(p.std)
    Psi = np.zeros((k, k))
    exo = [idx[c] for c in study.exogenous]
    r = _value(study.exogenous_correlation)  # None only with fewer than two exogenous constructs
    for i in exo:
        for j in exo:
            Psi[i, j] = 1.0 if i == j else r
    if exo and np.linalg.eigvalsh(Psi[np.ix_(exo, exo)]).min() <= 0:
        raise SpecError(
            f"{study.spec_file}: field exogenous_correlation: {study.exogenous_correlation} does not give a positive definite "
            f"correlation matrix for the {len(exo)} exogenous constructs"
        )
    inv = np.linalg.inv(np.eye(k) - B)
    for c in topological_order(study):
        j = idx[c]
        # Predictors of j precede it in topological order, so their covariance is final
        # and does not depend on psi_j or later residual variances.
        cov = inv @ Psi @ inv.T
        explained = float(B[j] @ cov @ B[j])
        if explained >= 1.0:
            raise SpecError(
                f"{study.spec_file}: field paths (the std of the paths into {c}): construct {c}: its paths explain {explained:.3f} of its variance (must be below 1); "
                "lower the standardized coefficients of the paths into it or the correlations among its predictors"
            )
        Psi[j, j] = 1.0 - explained
    return B, Psi


def population_model(study: Study, recoded: bool = True) -> PopulationModel:
    """Build the RAM matrices of the study's population model.

    Parameters
    ----------
    study : Study
        The validated specification.
    recoded : bool, default True
        If True, every item loads positively (the items as analysed, after the
        package recodes reverse-worded items). If False, reverse-coded items
        load negatively (the items as a respondent answers them).
    """
    B, Psi = structural_matrices(study)
    latents = study.construct_ids
    items = study.items
    k, p = len(latents), len(items)
    idx = {c: i for i, c in enumerate(latents)}
    A = np.zeros((k + p, k + p))
    S = np.zeros((k + p, k + p))
    A[:k, :k] = B
    S[:k, :k] = Psi
    for r, it in enumerate(items):
        sign = -1.0 if (it.reverse and not recoded) else 1.0
        loading = _value(it.loading)
        A[k + r, idx[it.construct]] = sign * loading
        S[k + r, k + r] = 1.0 - loading**2
    F = np.zeros((p, k + p))
    F[:, k:] = np.eye(p)
    return PopulationModel(latents=latents, items=[it.id for it in items], A=A, S=S, F=F)


def implied_standardized_paths(study: Study, model: PopulationModel) -> dict[str, float]:
    """Standardized regression coefficients recovered from the implied latent covariance.

    For each endogenous construct j with predictors P, :math:`\\beta = \\Sigma_{PP}^{-1}\\Sigma_{Pj}`
    divided through by the standard deviations. Equals the spec's values when the
    residual variances were derived correctly, which the tests check.
    """
    cov = model.latent_covariance
    sd = np.sqrt(np.diag(cov))
    idx = {c: i for i, c in enumerate(model.latents)}
    out: dict[str, float] = {}
    for target in topological_order(study):
        preds = [p.source for p in study.paths if p.target == target]
        P = [idx[c] for c in preds]
        beta = np.linalg.solve(cov[np.ix_(P, P)], cov[P, idx[target]])
        for c, b in zip(preds, beta):
            out[f"{c}->{target}"] = float(b * sd[idx[c]] / sd[idx[target]])
    return out


def r_squared(study: Study) -> dict[str, float]:
    """Population R-squared of every endogenous construct (1 - residual variance)."""
    _, Psi = structural_matrices(study)
    idx = {c: i for i, c in enumerate(study.construct_ids)}
    return {c: float(1.0 - Psi[idx[c], idx[c]]) for c in topological_order(study)}


def population_summary(study: Study) -> dict[str, object]:
    """The population model's numbers ``results/calibration/population.json`` records (a spec that declares them)."""
    model = population_model(study)
    lat = model.latent_covariance
    return {
        "paths": {f"{p.source}->{p.target}": p.std for p in study.paths},
        "implied_standardized_paths": implied_standardized_paths(study, model),
        "r2": r_squared(study),
        "exogenous_correlation": study.exogenous_correlation,
        "latent_correlation": {
            a: {b: float(lat[i, j]) for j, b in enumerate(model.latents)} for i, a in enumerate(model.latents)
        },
        "loadings": {it.id: it.loading for it in study.items},
        "residual_variances": model.residual_variances,
        "latent_variances": {c: float(lat[i, i]) for i, c in enumerate(model.latents)},
    }


NO_POPULATION = (f"the study spec declares no population values ({POPULATION_FIELDS}): no synthetic survey can be "
                 "drawn and the Monte Carlo study and its sensitivity analysis are skipped")
"""What ``population.json`` and the log say when the spec declares no population values."""


def population_document(study: Study) -> dict[str, object]:
    """``results/calibration/population.json``: ``declared`` and the population model, or why there is none.

    With population values: ``declared: true`` and :func:`population_summary`.
    Without: ``declared: false``, ``missing`` (the fields, as
    :meth:`~xhs_sharing.study.spec.PopulationStatus.describe` names them) and
    ``note`` (:data:`NO_POPULATION`).
    """
    if study.has_population:
        return {"declared": True, **population_summary(study)}
    return {"declared": False, "missing": study.population.describe(), "note": NO_POPULATION}


def claim_population_value(study: Study, claim: Claim) -> float:
    """The standardized population value of a claim's effect: its path, or the product of its chain's links.

    Every latent variable has unit variance in the population model, so the
    standardized indirect effect of a chain is the product of its standardized
    coefficients (the claims' paths are declared paths, :func:`~xhs_sharing.study.spec.check_study`).

    Raises
    ------
    SpecError
        When the spec declares no population values.
    """
    require_population(study, f"the population value of claim {claim.id}")
    pop = {(p.source, p.target): _value(p.std) for p in study.paths}
    return float(np.prod([pop[link] for link in zip(claim.path[:-1], claim.path[1:])]))


def holds_in_population(expected: str, value: float) -> bool:
    """Whether a claim is true of a population where its effect has standardized value ``value``.

    ``positive_significant`` holds for a positive value, ``negative_significant``
    for a negative one, ``not_significant`` for exactly 0.

    >>> holds_in_population("not_significant", 0.0), holds_in_population("not_significant", 0.25)
    (True, False)
    """
    if expected == "positive_significant":
        return value > 0
    if expected == "negative_significant":
        return value < 0
    return value == 0
