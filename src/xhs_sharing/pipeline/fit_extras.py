"""The fit extras of issue 17 (points 10 and 11) for the CFA and the structural model.

Glue between the fits of the measurement and structural steps and
:func:`xhs_sharing.sem.fit_extras.fit_extras`: which covariance matrix each
fit was fitted to (the sample covariance, divisor N; the EM estimate under
FIML; none under WLSMV), its log-likelihoods under FIML, and Mardia's
statistics of the items (:func:`xhs_sharing.sem.mardia.mardia`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from xhs_sharing.analysis.measurement import CfaResult
from xhs_sharing.analysis.structural import StructuralResult
from xhs_sharing.errors import DataError
from xhs_sharing.sem.fit_extras import FitExtras, fit_extras
from xhs_sharing.sem.mardia import mardia
from xhs_sharing.sem.mvnorm_missing import MissingData, em_moments

__all__ = ["cfa_extras", "items_mardia", "structural_extras"]


def items_mardia(items: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Mardia's skewness and kurtosis of the items on the respondents who answered every one.

    ``{"available": False, "reason": ...}`` when they cannot be computed
    (too few complete rows, a singular covariance matrix).
    """
    complete = items[columns].dropna()
    try:
        return {"available": True, **mardia(complete.to_numpy(dtype=float))}
    except DataError as exc:
        return {"available": False, "reason": str(exc)}


def cfa_extras(cfa: CfaResult) -> FitExtras:
    """:func:`~xhs_sharing.sem.fit_extras.fit_extras` of the CFA (its ``sample_cov`` is the matrix it was fitted to)."""
    est = cfa.estimates
    wlsmv = cfa.method == "WLSMV"
    cov = None if wlsmv or cfa.sample_cov is None else cfa.sample_cov.loc[list(est.structure.observed),
                                                                          list(est.structure.observed)].to_numpy()
    loglik = (est.solution.loglik, est.em.loglik) if est.solution is not None and est.em is not None else None
    return fit_extras(est.structure, est.theta, cov, cfa.fit, method=cfa.method, n_iter=est.n_iter, loglik=loglik)


def structural_extras(fit: StructuralResult, items: pd.DataFrame, fit_doc: dict[str, Any]) -> FitExtras:
    """:func:`~xhs_sharing.sem.fit_extras.fit_extras` of the structural model.

    ``S`` is the covariance (divisor N) of the complete rows under ML and
    MLR, the EM estimate of the saturated model under FIML (as lavaan's
    ``residuals`` uses ``h1``); none under WLSMV.
    """
    observed = list(fit.structure.observed)
    if fit.method == "WLSMV":
        return fit_extras(fit.structure, fit.theta, None, fit_doc, method=fit.method, n_iter=fit.n_iter)
    if fit.estimator == "FIML":
        cov = em_moments(MissingData(items[observed].to_numpy(dtype=float))).cov
        return fit_extras(fit.structure, fit.theta, cov, fit_doc, method=fit.method, n_iter=fit.n_iter,
                          loglik=(fit.loglik, fit.loglik_h1))
    x = items[observed].dropna().to_numpy(dtype=float)
    cov = np.atleast_2d(np.cov(x, rowvar=False, bias=True))
    return fit_extras(fit.structure, fit.theta, cov, fit_doc, method=fit.method, n_iter=fit.n_iter)
