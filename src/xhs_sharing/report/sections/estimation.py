"""The estimation and diagnostics section (issue 17, points 10 and 11).

Estimation: free parameters, degrees of freedom, identification (t-rule and
how each latent variable is scaled), the estimator and why, Mardia's
multivariate skewness and kurtosis, the optimizer and its convergence,
software versions and the package's git commit. Fit: log-likelihoods,
AIC, BIC, sample-size adjusted BIC and the RMSEA test of close fit; the
largest residual correlations and modification indices, for the CFA and
the structural model. Everything is read from ``cfa_fit.json``,
``fit.json`` and the four tables of :data:`xhs_sharing.results.FILES`
(``*_residual_correlations``, ``*_modindices``); a fit document written
before issue 17 gives dashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from xhs_sharing.report.format import DASH, cell, col, fmt_int, fmt_num, fmt_p, fmt_p_eq

__all__ = ["ESTIMATOR_REASONS", "estimation_view"]

ESTIMATOR_REASONS: Final = {
    "ML": ("maximum likelihood treats the 7-point answers as continuous and normal; with five or more "
           "categories and roughly symmetric answers its estimates are little biased (Rhemtulla, Brosseau-Liard "
           "& Savalei 2012), but its standard errors and chi-square assume multivariate normality, which "
           "Mardia's statistics below test"),
    "MLR": ("ML estimates with Huber-White standard errors and the Yuan-Bentler scaled chi-square, which stay "
            "valid when the answers are not multivariate normal (Mardia's statistics below)"),
    "WLSMV": ("the 7-point answers are treated as ordered categories: polychoric correlations fitted by "
              "diagonally weighted least squares with mean- and variance-adjusted tests (Muthen, du Toit & "
              "Spisic 1997); no likelihood"),
}
"""Why each estimator suits (or not) seven-point items, shown next to the configured one."""

TOP_MI: Final = 10
"""Modification indices shown per model."""


def _scaling_text(scaling: Mapping[str, str]) -> str:
    markers = [k for k, v in scaling.items() if str(v).startswith("marker")]
    if scaling and len(markers) == len(scaling):
        return f"marker variable (first loading fixed at 1) for all {len(scaling)} latent variables"
    return "; ".join(f"{k}: {v}" for k, v in scaling.items()) or DASH


def _gradient(x: Any) -> str:
    return DASH if x is None else f"{float(x):.1e}"


def estimation_table(cfa_fit: Mapping[str, Any], fit: Mapping[str, Any]) -> dict[str, Any]:
    """Free parameters, df, identification and convergence of the CFA and the SEM, side by side."""
    docs = (cfa_fit.get("estimation") or {}, fit.get("estimation") or {})
    rows_spec = (
        ("Estimator", lambda e, d: str(d.get("estimator", DASH))),
        ("Observed variables", lambda e, d: fmt_int(e.get("n_observed"))),
        ("Sample moments (unique (co)variances; + means under FIML; polychoric correlations under WLSMV)", lambda e, d: fmt_int(e.get("moments"))),
        ("Free parameters", lambda e, d: fmt_int(e.get("n_free"))),
        ("Degrees of freedom", lambda e, d: fmt_int(e.get("df"))),
        ("t-rule (free parameters \u2264 moments)", lambda e, d: str(e.get("t_rule", DASH))),
        ("Scaling of the latent variables", lambda e, d: _scaling_text(e.get("scaling") or {})),
        ("Optimizer", lambda e, d: str(e.get("optimizer", DASH))),
        ("Iterations", lambda e, d: fmt_int(e.get("iterations"))),
        ("Largest |gradient| at the solution", lambda e, d: _gradient(e.get("max_abs_gradient"))),
    )
    rows = [{"cells": [cell(label, header=True), *(cell(f(e, d)) for e, d in zip(docs, (cfa_fit, fit), strict=True))]}
            for label, f in rows_spec]
    return {"caption": "Estimation and identification", "columns": [col(""), col("CFA"), col("Structural model")],
            "rows": rows, "note": ("Converged when every step of the iterations is below 1e-10 (1 + |estimate|); "
                                   "the gradient is that of the ML fitting function F = chi-square / N.")}


def likelihood_table(cfa_fit: Mapping[str, Any], fit: Mapping[str, Any]) -> dict[str, Any]:
    """lavaan's logl, unrestricted.logl, npar, aic, bic, bic2 and rmsea.pvalue of both models."""
    spec = (("Log-likelihood, model (H0)", "logl", 3), ("Log-likelihood, saturated (H1)", "unrestricted_logl", 3),
            ("Free parameters (npar)", "npar", 0), ("AIC", "aic", 3), ("BIC", "bic", 3),
            ("Sample-size adjusted BIC", "bic2", 3))
    rows = [{"cells": [cell(label, header=True),
                       *(cell(fmt_int(d.get(key)) if digits == 0 else fmt_num(d.get(key), digits), "num")
                         for d in (cfa_fit, fit))]} for label, key, digits in spec]
    rows.append({"cells": [cell("RMSEA test of close fit, p (H0: RMSEA \u2264 .05)", header=True),
                           *(cell(fmt_p(d.get("rmsea_pvalue")), "num") for d in (cfa_fit, fit))]})
    notes = {v for d in (cfa_fit, fit) for v in (d.get("notes") or {}).values()}
    return {"caption": "Likelihood and information criteria", "columns": [col(""), col("CFA", "num"),
                                                                          col("Structural model", "num")],
            "rows": rows,
            "note": ("lavaan's fitMeasures logl, unrestricted.logl, npar, aic, bic, bic2 (N* = (N + 2) / 24) and "
                     "rmsea.pvalue; under MLR the ML log-likelihood, as lavaan. " + " ".join(sorted(notes))).strip()}


def mardia_text(cfa_fit: Mapping[str, Any]) -> str:
    """One paragraph on Mardia's multivariate skewness and kurtosis of the items."""
    m = cfa_fit.get("mardia")
    if not m:
        return "Mardia's statistics were not recorded for this run."
    if not m.get("available"):
        return f"Mardia's statistics could not be computed: {m.get('reason', DASH)}."
    return (f"Mardia's (1970) multivariate skewness of the {fmt_int(m['d'])} items is b1 = {fmt_num(m['skew_b1d'], 2)} "
            f"(chi-square = {fmt_num(m['skew_chi2'], 1)} on {fmt_int(m['skew_df'])} df, {fmt_p_eq(m['skew_pvalue'])}); "
            f"the kurtosis is b2 = {fmt_num(m['kurt_b2d'], 1)} against {fmt_int(m['kurt_expected'])} under "
            f"multivariate normality (z = {fmt_num(m['kurt_z'], 2)}, {fmt_p_eq(m['kurt_pvalue'])}); "
            f"{fmt_int(m['n'])} respondents with every answer (semTools' mardiaSkew and mardiaKurtosis).")


def mi_table(mi: pd.DataFrame, model: str, note: str | None) -> dict[str, Any]:
    """The ``TOP_MI`` largest modification indices with their expected parameter changes."""
    top = mi.head(TOP_MI)
    rows = [{"cells": [cell(f"{r.lhs} {r.op} {r.rhs}", header=True), cell(fmt_num(r.mi, 2), "num"),
                       cell(fmt_num(r.epc, 3), "num"), cell(fmt_num(r.sepc_all, 3), "num")]} for r in top.itertuples()]
    base = ("Modification index: the expected drop of the chi-square (1 df) if the parameter were freed; EPC its "
            "expected value, standardized EPC on the completely standardized scale (lavaan's modindices, mi, epc, "
            "sepc.all). Freeing parameters because of large indices capitalizes on chance (MacCallum, Roznowski "
            "& Necowitz 1992).")
    return {"caption": f"Largest modification indices, {model}", "rows": rows,
            "columns": [col("Parameter"), col("MI", "num"), col("EPC", "num"), col("Standardized EPC", "num")],
            "note": (f"{note[0].upper()}{note[1:]}. " if note and not rows else "") + base}


def _largest(resid: pd.DataFrame) -> str:
    if resid.empty:
        return DASH
    r = resid.reindex(resid["residual"].abs().sort_values(ascending=False).index).iloc[0]
    big = int((resid["residual"].abs() > 0.10).sum())
    sign = "+" if float(r.residual) > 0 else ""
    return f"{r.lhs} with {r.rhs}: {sign}{fmt_num(r.residual, 3)}; {big} of {len(resid)} pairs beyond \u00b1.10"


def estimation_view(res: Mapping[str, Any], run_info: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the estimation section shows (``res`` from :func:`xhs_sharing.report.read.read_results`)."""
    cfa_fit, fit = res["cfa_fit"], res["fit"]
    method = str(fit.get("estimator", "ML"))
    return {
        "estimator": method,
        "reason": ESTIMATOR_REASONS.get(method, ""),
        "table": estimation_table(cfa_fit, fit),
        "likelihood": likelihood_table(cfa_fit, fit),
        "mardia": mardia_text(cfa_fit),
        "largest_cfa": _largest(res["cfa_residual_correlations"]),
        "largest_sem": _largest(res["sem_residual_correlations"]),
        "has_residuals": not res["sem_residual_correlations"].empty,
        "mi_cfa": mi_table(res["cfa_modindices"], "CFA", (cfa_fit.get("notes") or {}).get("modindices")),
        "mi_sem": mi_table(res["sem_modindices"], "structural model", (fit.get("notes") or {}).get("modindices")),
        "git_commit": str(run_info.get("git_commit") or "not recorded"),
    }
