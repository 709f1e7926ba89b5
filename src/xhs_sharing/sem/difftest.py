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

Model 0 is the restricted (nested) model: more degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from xhs_sharing.errors import SpecError

__all__ = ["DifferenceTest", "chi2_difference", "satorra_bentler_2001"]


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
