"""Chi-square difference tests of nested models (lavaan's ``lavTestLRT``).

* :func:`chi2_difference` -- the likelihood-ratio test of two nested ML (or
  FIML) fits: ``T0 - T1`` on ``df0 - df1`` degrees of freedom.
* :func:`satorra_bentler_2001` -- the scaled difference test for fits whose
  test statistic is mean-scaled (MLR's Yuan-Bentler statistic, MLM's
  Satorra-Bentler statistic): Satorra & Bentler (2001, eq. 8),
  ``cd = (df0 c0 - df1 c1) / (df0 - df1)`` and ``T = (T0 - T1) / cd``, where
  ``T0, T1`` are the unscaled statistics and ``c0, c1`` the scaling factors.
  This is lavaan's ``method = "satorra.bentler.2001"``, its default for
  MLR. The factor ``cd`` can be negative in small samples; then there is no
  test (lavaan warns and returns a negative statistic; here the p value is
  NaN and ``note`` says why).
* :func:`satorra_2000_traces` and :func:`satorra_2000` -- the scaled-shifted
  difference test of nested DWLS (WLSMV) fits (Satorra 2000; Asparouhov &
  Muthen 2010): from the unrestricted fit's Jacobian ``D``, weights ``W`` and
  ``Gamma``, and the restriction matrix ``A`` (by the delta method, from both
  fits' Jacobians), ``P = D'WD``,
  ``U = W D P^-1 A' (A P^-1 A')^-1 A P^-1 D' W``; with ``m = df0 - df1``,
  ``a = sqrt(m / tr(UG UG))``, ``b = m - a tr(UG)`` the test is
  ``a (T0 - T1) + b`` on ``m`` degrees of freedom. This is lavaan's
  ``lavTestLRT`` default for WLSMV (``method = "satorra.2000"``,
  ``scaled.shifted = TRUE``, ``A.method = "delta"``).

Model 0 is the restricted (nested) model: more degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.linalg import null_space

from xhs_sharing.errors import SpecError

__all__ = ["DifferenceTest", "chi2_difference", "satorra_2000", "satorra_2000_traces", "satorra_bentler_2001"]


@dataclass(frozen=True)
class DifferenceTest:
    """A chi-square difference test: statistic, degrees of freedom, p value, method, scaling ``cd``."""

    chi2: float
    df: int
    pvalue: float
    method: str
    scaling: float = 1.0
    note: str = ""


def _check_nested(df0: int, df1: int) -> int:
    if df0 <= df1:
        raise SpecError(f"the restricted model needs more degrees of freedom than the other (got {df0} and {df1})")
    return int(df0 - df1)


def chi2_difference(chi2_0: float, df0: int, chi2_1: float, df1: int) -> DifferenceTest:
    """Likelihood-ratio test of nested ML fits: ``T0 - T1`` on ``df0 - df1`` (lavaan ``method = "standard"``)."""
    ddf = _check_nested(df0, df1)
    diff = float(chi2_0 - chi2_1)
    return DifferenceTest(diff, ddf, float(stats.chi2.sf(max(diff, 0.0), ddf)), "standard")


def satorra_bentler_2001(
    chi2_0: float, df0: int, c0: float, chi2_1: float, df1: int, c1: float
) -> DifferenceTest:
    """Satorra-Bentler (2001) scaled difference test of nested mean-scaled fits.

    ``chi2_*`` are the unscaled (ML) statistics, ``c*`` the scaling factors
    (unscaled / scaled). ``cd = (df0 c0 - df1 c1) / (df0 - df1)``; the test
    is ``(chi2_0 - chi2_1) / cd`` on ``df0 - df1`` degrees of freedom
    (Satorra & Bentler 2001, eq. 8; lavaan ``lav_test_diff_SatorraBentler2001``).
    """
    ddf = _check_nested(df0, df1)
    cd = (df0 * c0 - df1 * c1) / ddf
    stat = float((chi2_0 - chi2_1) / cd)
    if cd <= 0:
        return DifferenceTest(stat, ddf, float("nan"), "satorra.bentler.2001", float(cd),
                              note=f"the scaling factor of the difference is not positive (cd = {cd:.3f}): "
                                   "no test (Satorra & Bentler 2010 propose a correction)")
    return DifferenceTest(stat, ddf, float(stats.chi2.sf(max(stat, 0.0), ddf)), "satorra.bentler.2001", float(cd))


def satorra_2000_traces(jac1: np.ndarray, jac0: np.ndarray, w: np.ndarray, gamma: np.ndarray) -> tuple[float, float]:
    """``tr(UG)`` and ``tr(UG UG)`` of the difference between a DWLS fit (1) and its restriction (0).

    ``jac1``, ``w`` (the diagonal DWLS weights) and ``gamma`` (asymptotic
    covariance of the moments) of the unrestricted fit, ``jac0`` the
    restricted model's Jacobian at its own estimates (moments in the same
    order). ``A`` by the delta method, as lavaan's ``A.method = "delta"``:
    ``H = D1^+ D0`` and ``A`` the orthogonal complement of ``H`` (``A H = 0``);
    then ``U = W D1 P^-1 A' (A P^-1 A')^+ A P^-1 D1' W`` with ``P = D1' W D1``.
    The thresholds are saturated in both models and drop out (their rows of
    ``U`` are 0), so the moments are the correlations.
    """
    h = np.linalg.pinv(jac1) @ jac0
    a = null_space(h.T).T
    if a.shape[0] == 0:
        raise SpecError("the restricted model fixes no parameter of the unrestricted one")
    wd = jac1 * w[:, None]
    p_inv = np.linalg.inv(jac1.T @ wd)
    pa = p_inv @ a.T
    left = wd @ pa  # W D1 P^-1 A'
    u = left @ np.linalg.pinv(a @ pa) @ left.T
    ug = u @ gamma
    return float(np.trace(ug)), float(np.sum(ug * ug.T))


def satorra_2000(chi2_0: float, df0: int, chi2_1: float, df1: int, trace_ug: float, trace_ug2: float) -> DifferenceTest:
    """The scaled-shifted difference test ``a (T0 - T1) + b`` from :func:`satorra_2000_traces` (lavaan ``satorra.2000``)."""
    ddf = _check_nested(df0, df1)
    a = float(np.sqrt(ddf / trace_ug2))
    b = ddf - a * trace_ug
    stat = a * float(chi2_0 - chi2_1) + b
    return DifferenceTest(stat, ddf, float(stats.chi2.sf(max(stat, 0.0), ddf)), "satorra.2000", 1.0 / a,
                          note=f"scaled and shifted: a = {a:.4f}, b = {b:.4f}")
