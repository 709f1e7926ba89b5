"""Common-method bias: Harman's single-factor test, the one-factor CFA and an unmeasured latent method factor.

Three checks reviewers of survey SEM studies ask for (issue 17, point 15),
all on the analysis table of the run:

1. **Harman's single-factor test** as it is usually reported (Podsakoff &
   Organ 1986; Podsakoff, MacKenzie, Lee & Podsakoff 2003, J. Appl. Psychol.
   88:879-903): an unrotated principal-component analysis of the
   correlations of *all* items (SPSS's "Extraction: principal components",
   one factor); the share of the total variance of the first component,
   ``lambda_1 / p``, is compared with the convention of < 50%.
   :func:`harman_test` also gives the share of an unrotated one-factor ML
   factor analysis (R's ``factanal``: the sum of the squared standardized
   loadings of the one-factor CFA over ``p``). Its limits, which the report
   states: a single factor emerges only when method variance dominates
   everything else, so the test is insensitive (Podsakoff et al. 2003,
   p. 889: it "does nothing to statistically control for" method effects),
   and a share below 50% is not evidence of no bias.
2. **One-factor CFA** against the measurement model: all items on one
   factor, its fit indices, and the chi-square difference test against the
   CFA of the study's constructs (the one-factor model is the CFA with every
   latent correlation fixed at 1).
3. **Unmeasured latent method construct** (ULMC; Podsakoff et al. 2003,
   Table 4; Williams, Cote & Buckley 1989; Liang, Saraf, Hu & Xue 2007, MIS
   Q. 31:59-87): the structural model plus a method factor ``CMV`` loading
   on every item, orthogonal to every substantive construct (``CMV ~~ 0*F``
   for each construct ``F``; for an endogenous ``F`` that is its
   disturbance), fitted by ML with the structural model
   (:func:`method_factor_syntax`). Identification: the first item's method
   loading is fixed at 1 and the method variance is free (lavaan's marker
   scaling of every factor); this is the same model, with the same fit and
   the same standardized solution, as the fixed variance 1 with all loadings
   free of Williams et al. and Podsakoff et al. -- not the equal-loadings
   variant. As Liang et al. (2007, Appendix E) do, every item's squared
   standardized substantive and method loadings are reported (the variance
   each explains) with their averages, and every structural path is compared
   with the model without the method factor: estimate, standardized
   estimate, p-value and whether its 95% interval still excludes zero; every
   claim of the study is judged by the decision rule of
   :func:`xhs_sharing.analysis.claims.judge` in both models (paths: Wald
   interval; indirect effects: Monte Carlo interval in both, Selig &
   Preacher 2008, as a bootstrap of the method model would cost 5,000
   refits).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from xhs_sharing.analysis.claims import judge
from xhs_sharing.analysis.mediation import monte_carlo_indirect
from xhs_sharing.analysis.structural import StructuralResult, fit_structural
from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.fit import fit_measures
from xhs_sharing.sem.model import ModelStructure, ParsedModel, load_model
from xhs_sharing.study.spec import Study
from xhs_sharing.study.syntax import measurement_syntax, mediation_chains, mediator_label, structural_syntax

logger = logging.getLogger(__name__)

__all__ = [
    "HARMAN_CUTOFF",
    "METHOD_FACTOR",
    "PATH_COLUMNS",
    "HarmanResult",
    "chi2_difference",
    "claim_changes",
    "harman_test",
    "method_factor_syntax",
    "method_loadings",
    "method_bias_summary",
    "one_factor_syntax",
    "path_changes",
]

METHOD_FACTOR: Final = "CMV"
"""Name of the method factor in the syntax and the tables."""

HARMAN_CUTOFF: Final = 0.50
"""Harman's convention: method bias is suspected when the first factor explains 50% or more of the variance."""

PATH_COLUMNS: Final = (
    "lhs", "op", "rhs", "est", "std_all", "pvalue", "ci_low", "ci_high", "est_method", "std_all_method",
    "pvalue_method", "ci_low_method", "ci_high_method", "delta_std", "significant", "significant_method", "changed",
)
"""Columns of :func:`path_changes` (``results/measurement/method_bias.csv`` before ``estimator``)."""

IDENTIFICATION: Final = (
    "first method loading fixed at 1, method variance free (lavaan's marker scaling); the same model and "
    "standardized solution as variance 1 with all loadings free (Williams et al. 1989; Podsakoff et al. 2003)"
)
"""How the method factor is identified (``method_bias.json``)."""

HARMAN_LIMITS: Final = (
    "Harman's test only detects method variance that dominates every other source: it is insensitive and does not "
    "control for method effects (Podsakoff et al. 2003, p. 889); a first factor below 50% is not evidence of no bias"
)


@dataclass(frozen=True)
class HarmanResult:
    """Harman's single-factor test (:func:`harman_test`).

    Attributes
    ----------
    first_share : float
        ``lambda_1 / p``: share of the total variance of the first unrotated
        principal component of the item correlations.
    first_eigenvalue : float
    n_above_one : int
        Components with an eigenvalue above 1 (Kaiser's criterion).
    factor_share : float
        Share of an unrotated one-factor ML factor analysis: ``sum(l_i^2) / p``
        with ``l_i`` the standardized loadings of the one-factor CFA; NaN when
        not given.
    n_items, n : int
        Items and respondents (complete rows) analysed.
    """

    first_share: float
    first_eigenvalue: float
    n_above_one: int
    factor_share: float
    n_items: int
    n: int

    @property
    def below_cutoff(self) -> bool:
        """True when the first component explains less than :data:`HARMAN_CUTOFF` of the variance."""
        return self.first_share < HARMAN_CUTOFF

    def document(self) -> dict[str, Any]:
        """The ``harman`` block of ``method_bias.json``."""
        return dict(first_share=self.first_share, first_eigenvalue=self.first_eigenvalue,
                    n_components_above_1=self.n_above_one, factor_share=self.factor_share,
                    n_items=self.n_items, n=self.n, cutoff=HARMAN_CUTOFF, below_cutoff=self.below_cutoff,
                    method="unrotated principal components of the item correlations (first component)",
                    limits=HARMAN_LIMITS)


def _complete_items(items: pd.DataFrame, item_ids: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in item_ids if c not in items.columns]
    if missing:
        raise DataError(f"the analysis table lacks item column(s) {missing}")
    frame = items[list(item_ids)].dropna()
    if len(frame) <= len(item_ids):
        raise DataError(f"Harman's test needs more complete rows than items: {len(frame)} rows, "
                        f"{len(item_ids)} items")
    return frame


def harman_test(items: pd.DataFrame, item_ids: Sequence[str], one_factor: StructuralResult | None = None) -> HarmanResult:
    """Harman's single-factor test: the first unrotated principal component of the item correlations.

    ``lambda_1 / p`` with ``lambda_1`` the largest eigenvalue of the ``p x p``
    correlation matrix of the complete rows of ``item_ids`` (R's
    ``prcomp(scale. = TRUE)``; SPSS's principal-components extraction). With
    ``one_factor`` (the one-factor CFA of the same items) also the ML factor
    share ``sum(std loadings^2) / p`` (R's ``factanal(factors = 1)``).
    """
    frame = _complete_items(items, item_ids)
    corr = np.corrcoef(frame.to_numpy(dtype=float), rowvar=False)
    eig = np.linalg.eigvalsh(corr)[::-1]
    p = len(item_ids)
    share = float("nan")
    if one_factor is not None:
        loads = one_factor.params.loc[one_factor.params["op"] == "=~", "std_all"].to_numpy(float)
        share = float(np.sum(loads**2) / p)
    return HarmanResult(float(eig[0] / p), float(eig[0]), int(np.sum(eig > 1.0)), share, p, len(frame))


def one_factor_syntax(item_ids: Sequence[str]) -> str:
    """``G =~ i1 + i2 + ...``: every item on one factor (Harman's model as a CFA)."""
    if not item_ids:
        raise SpecError("the one-factor model needs at least one item")
    return f"G =~ {' + '.join(item_ids)}\n"


def method_factor_syntax(syntax: str, item_ids: Sequence[str], constructs: Sequence[str],
                         name: str = METHOD_FACTOR) -> str:
    """``syntax`` plus a method factor on every item, orthogonal to every construct.

    Adds ``name =~ i1 + ... + ip`` (first loading fixed at 1, variance free)
    and ``name ~~ 0*F`` for every construct ``F``.
    """
    if name in constructs:
        raise SpecError(f"the method factor's name {name!r} is a construct of the study")
    lines = ["# unmeasured latent method factor (Podsakoff et al. 2003)",
             f"{name} =~ {' + '.join(item_ids)}", *(f"{name} ~~ 0*{f}" for f in constructs)]
    return syntax.rstrip() + "\n" + "\n".join(lines) + "\n"


def chi2_difference(restricted: StructuralResult, general: StructuralResult) -> dict[str, float]:
    """Likelihood-ratio (chi-square difference) test of nested ML models.

    ``chi2 = chi2_r - chi2_g`` on ``df_r - df_g`` degrees of freedom, upper
    tail (lavaan's ``anova()`` of two ML fits).
    """
    ddf = restricted.df - general.df
    if ddf <= 0:
        raise SpecError(f"the restricted model must have more degrees of freedom ({restricted.df} vs {general.df})")
    d = float(restricted.chi2 - general.chi2)
    return dict(chi2=d, df=int(ddf), pvalue=float(stats.chi2.sf(d, ddf)))


def method_loadings(fit: StructuralResult, items_by_construct: dict[str, list[str]],
                    name: str = METHOD_FACTOR) -> pd.DataFrame:
    """Per item: standardized substantive and method loadings and the variance each explains (Liang et al. 2007).

    Columns ``construct, item, substantive, substantive_var, method,
    method_var, method_pvalue`` (``*_var`` the squared standardized loading;
    ``method_pvalue`` NaN for the fixed marker loading).
    """
    p = fit.params[fit.params["op"] == "=~"]
    rows = []
    for construct, items in items_by_construct.items():
        for item in items:
            sub = p[(p["lhs"] == construct) & (p["rhs"] == item)].iloc[0]
            met = p[(p["lhs"] == name) & (p["rhs"] == item)].iloc[0]
            rows.append(dict(construct=construct, item=item, substantive=float(sub["std_all"]),
                             substantive_var=float(sub["std_all"]) ** 2, method=float(met["std_all"]),
                             method_var=float(met["std_all"]) ** 2, method_pvalue=float(met["pvalue"])))
    return pd.DataFrame(rows)


def path_changes(base: StructuralResult, method: StructuralResult | None) -> pd.DataFrame:
    """Every structural path without and with the method factor (:data:`PATH_COLUMNS`; NaN without ``method``).

    ``significant``: the 95% Wald interval excludes zero; ``changed``: that
    differs between the two models; ``delta_std = std_all_method - std_all``.
    """
    keep = ["lhs", "op", "rhs", "est", "std_all", "pvalue", "ci_low", "ci_high"]
    other = method.paths[keep] if method is not None else base.paths[keep[:3]]
    merged = base.paths[keep].merge(other, on=["lhs", "op", "rhs"], suffixes=("", "_method"),
                                    how="left", validate="one_to_one")
    for c in keep[3:]:
        if f"{c}_method" not in merged:
            merged[f"{c}_method"] = np.nan
    sig = (merged["ci_low"] > 0) | (merged["ci_high"] < 0)
    sig_m = (merged["ci_low_method"] > 0) | (merged["ci_high_method"] < 0)
    if method is None:
        sig_m = pd.Series(np.nan, index=merged.index, dtype=object)
        return merged.assign(delta_std=np.nan, significant=sig, significant_method=sig_m,
                             changed=False)[list(PATH_COLUMNS)]
    return merged.assign(delta_std=merged["std_all_method"] - merged["std_all"], significant=sig,
                         significant_method=sig_m, changed=sig != sig_m)[list(PATH_COLUMNS)]


def _claim_interval(fit: StructuralResult, claim: Any, mc: Any) -> tuple[float, float, float, float]:
    """Estimate, standardized estimate and the 95% interval of the estimate the claim is judged on.

    Paths: the Wald interval; indirect effects: the Monte Carlo percentile interval of ``mc``.
    """
    if claim.kind == "path":
        row = fit.path(claim.path[1], claim.path[0])
        return float(row["est"]), float(row["std_all"]), float(row["ci_low"]), float(row["ci_high"])
    x, *mediators, y = claim.path
    k = mc.index(x, y, "indirect", mediator_label(mediators))
    lo, hi = np.percentile(mc.draws_est[:, k], [2.5, 97.5])
    return float(mc.est[k]), float(mc.std_est[k]), float(lo), float(hi)


def claim_changes(study: Study, base: StructuralResult, method: StructuralResult | None, *, seed: int,
                  n_draws: int) -> list[dict[str, Any]]:
    """Every claim judged (:func:`~xhs_sharing.analysis.claims.judge`) without and with the method factor.

    Paths: the 95% Wald interval of the unstandardized path; indirect
    effects: the 95% Monte Carlo interval (``n_draws`` draws, the same
    ``seed`` in both models). ``ci_low, ci_high`` are on the scale of
    ``est`` (unstandardized); ``changed`` is True when the verdict differs.
    Without ``method`` (it did not converge) ``verdict_method`` is
    ``"not_estimated"`` and nothing changes.
    """
    chains = mediation_chains(study)
    fits = (base, method) if method is not None else (base,)
    mcs = [monte_carlo_indirect(f, chains, seed=seed, n_draws=n_draws) if chains else None for f in fits]
    nan4 = (float("nan"),) * 4
    out = []
    for claim in study.claims:
        e0, s0, lo0, hi0 = _claim_interval(base, claim, mcs[0])
        e1, s1, lo1, hi1 = _claim_interval(method, claim, mcs[1]) if method is not None else nan4
        v0 = judge(claim.expected, e0, lo0, hi0)[0]
        v1 = judge(claim.expected, e1, lo1, hi1)[0] if method is not None else "not_estimated"
        out.append(dict(id=claim.id, kind=claim.kind, expected=claim.expected, est=e0, std_est=s0, ci_low=lo0,
                        ci_high=hi0, verdict=v0, est_method=e1, std_est_method=s1, ci_low_method=lo1,
                        ci_high_method=hi1, verdict_method=v1, changed=method is not None and v0 != v1))
    return out


def _fit_doc(fit: StructuralResult, items: pd.DataFrame, missing: str) -> dict[str, Any]:
    m = fit_measures(fit, items, missing=missing)
    keys = ("chi2", "df", "pvalue", "cfi", "tli", "rmsea", "srmr")
    return {k: m[k] for k in keys} | dict(npar=int(fit.structure.n_params), proper=fit.proper,
                                          problems=list(fit.problems))


METHOD_START: Final = (1.0, 0.3)
"""Start of every method loading and of the method variance (the other parameters start at the structural fit)."""


@dataclass(frozen=True, eq=False)
class WarmStartModel(ParsedModel):
    """A parsed model whose iterations start at given values (by ``(lhs, op, rhs)`` key), not at semopy's SLSQP fit.

    The method-factor model is nearly flat along its method loadings: from
    semopy's start Fisher scoring needs more than 500 iterations, from the
    structural model's estimates (method loadings 1, method variance 0.3) about
    200. Parameters without a start keep semopy's starting values.
    """

    start: Mapping[tuple[str, str, str], float] = field(default_factory=dict)

    def initial_estimates(self, x: np.ndarray, cov: np.ndarray | None = None) -> tuple[ModelStructure, np.ndarray]:
        """The structure for the covariance of ``x`` (or ``cov``) and the start ``theta``."""
        s = np.cov(np.asarray(x, dtype=float), rowvar=False, bias=True) if cov is None else cov
        structure = self.structure_for(s, int(np.asarray(x).shape[0]))
        theta = np.array(structure.start, dtype=float)
        for row in structure.rows:
            if row.free >= 0 and row.key in self.start:
                theta[row.free] = self.start[row.key]
        return structure, theta


def warm_start_model(syntax: str, base: StructuralResult, name: str = METHOD_FACTOR) -> WarmStartModel:
    """``syntax`` parsed, starting at ``base``'s estimates and :data:`METHOD_START` for the method factor."""
    start = {r.key: float(base.theta[r.free]) for r in base.structure.rows if r.free >= 0}
    parsed = load_model(syntax)
    fields = {f.name: getattr(parsed, f.name) for f in dataclasses.fields(ParsedModel)}
    model = WarmStartModel(**fields, start=start)
    loading, variance = METHOD_START
    extra = {r.key: loading for r in model.structure_for(np.eye(len(parsed.observed)), 2).rows
             if r.op == "=~" and r.lhs == name}
    return dataclasses.replace(model, start={**start, **extra, (name, "~~", name): variance})


@dataclass(frozen=True)
class MethodBiasFits:
    """The four ML fits of :func:`fit_method_bias_models`."""

    cfa: StructuralResult
    one_factor: StructuralResult
    structural: StructuralResult
    method: StructuralResult | None
    method_error: str = ""


def fit_method_bias_models(items: pd.DataFrame, study: Study, missing: str = "listwise") -> MethodBiasFits:
    """Fit the measurement CFA, the one-factor CFA, the structural model and the method-factor model by ML.

    Improper solutions are kept (``problems`` say why); FIML with
    ``missing="fiml"`` and missing answers. A method-factor model that does
    not converge leaves ``method`` None and ``method_error`` saying why.
    """
    def fit(syntax: str) -> StructuralResult:
        return fit_structural(syntax, items, missing=missing, allow_improper=True)

    syntax = structural_syntax(study)
    structural = fit(syntax)
    method_syntax = method_factor_syntax(syntax, study.item_ids, study.construct_ids)
    method: StructuralResult | None = None
    error = ""
    try:
        method = fit_structural(method_syntax, items, missing=missing, allow_improper=True,
                                parsed=warm_start_model(method_syntax, structural))
    except EstimationError as exc:  # reported in method_bias.json; the other checks stand
        error = str(exc)
        logger.warning("the method-factor model cannot be estimated: %s", exc)
    return MethodBiasFits(cfa=fit(measurement_syntax(study)), one_factor=fit(one_factor_syntax(study.item_ids)),
                          structural=structural, method=method, method_error=error)


def method_factor_summary(fits: MethodBiasFits, loadings: pd.DataFrame | None) -> dict[str, Any]:
    """The ``method_factor`` block: identification, fit, chi-square difference and Liang et al.'s averages.

    Without a method-factor fit: ``proper`` False and ``error`` saying why.
    """
    m, s = fits.method, fits.structural
    if m is None:
        return dict(name=METHOD_FACTOR, identification=IDENTIFICATION, proper=False, error=fits.method_error,
                    problems=[fits.method_error], loadings=[])
    out: dict[str, Any] = dict(
        name=METHOD_FACTOR, identification=IDENTIFICATION, chi2=m.chi2, df=int(m.df),
        npar=int(m.structure.n_params), proper=m.proper, problems=list(m.problems),
        mean_substantive_variance=float(loadings["substantive_var"].mean()),
        mean_method_variance=float(loadings["method_var"].mean()),
        significant_method_loadings=int((loadings["method_pvalue"] < 0.05).sum()),
    )
    out["variance_ratio"] = out["mean_substantive_variance"] / out["mean_method_variance"]
    out["versus_structural"] = chi2_difference(s, m)
    out["loadings"] = loadings.to_dict(orient="records") if loadings is not None else []
    return out


def method_bias_summary(items: pd.DataFrame, study: Study, fits: MethodBiasFits, *, seed: int, n_draws: int,
                        missing: str = "listwise") -> tuple[dict[str, Any], pd.DataFrame]:
    """``method_bias.json`` (Harman, one-factor CFA, method factor, claims) and the path table.

    Returns
    -------
    document : dict
        Keys ``harman``, ``one_factor``, ``measurement``, ``one_factor_vs_measurement``, ``method_factor``,
        ``claims``, ``claims_changed``, ``paths_changed``.
    paths : pd.DataFrame
        :func:`path_changes`.
    """
    harman = harman_test(items, study.item_ids, fits.one_factor)
    loadings = method_loadings(fits.method, study.items_by_construct) if fits.method is not None else None
    paths = path_changes(fits.structural, fits.method)
    claims = claim_changes(study, fits.structural, fits.method, seed=seed, n_draws=n_draws)
    doc = dict(
        harman=harman.document(),
        one_factor=_fit_doc(fits.one_factor, items, missing),
        measurement=_fit_doc(fits.cfa, items, missing),
        one_factor_vs_measurement=chi2_difference(fits.one_factor, fits.cfa),
        method_factor=method_factor_summary(fits, loadings),
        claims=claims,
        claims_changed=[c["id"] for c in claims if c["changed"]],
        paths_changed=[f"{r.lhs} ~ {r.rhs}" for r in paths.itertuples() if r.changed],
    )
    return doc, paths
