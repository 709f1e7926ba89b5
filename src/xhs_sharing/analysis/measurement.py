"""Measurement-model validation statistics (the tables reviewers ask for).

Inputs are plain pandas/numpy objects:

* ``data``: respondents x items, numeric, already recoded so that all items of
  a construct point the same way;
* ``items_by_construct``: ``{construct id: [item column, ...]}``. Each item
  belongs to exactly one construct.

Output names follow what lavaan / semTools / SmartPLS users know (``alpha``,
``cr``, ``ave``, ``htmt``, ``std_all``, ...).

Missing values: item descriptives use every available response of an item,
and the corrected item-total correlation the rows complete on its construct
(the rows where both the item and its rest score exist). With
``missing="listwise"`` (the default) every other multi-item statistic uses
the rows complete on *all* items of ``items_by_construct`` (lavaan's
default), so that alpha, HTMT and the CFA describe the same respondents.
With ``missing="fiml"`` no respondent is dropped: the CFA is estimated by
full-information ML (CR and AVE come from its loadings), HTMT uses
pairwise-complete correlations, and Cronbach's alpha the rows complete on
each construct's items (pingouin's ``nan_policy="listwise"`` per
construct), since alpha has no full-information version.

Degenerate input never yields a silent NaN:

* an item with zero variance, or an unknown / non-numeric item, raises
  :class:`~xhs_sharing.errors.DataError` naming the construct and item;
* a construct with a single item gets NaN for alpha and for HTMT (both are
  undefined), and :func:`measurement_checks` turns every statistic of that
  construct into an entry with ``status == "warning"``;
* a CFA that does not converge or is not identified raises
  :class:`~xhs_sharing.errors.EstimationError`;
* a negative residual variance (Heywood case) is kept in the solution (as
  lavaan does) and :func:`measurement_checks` reports a failed
  ``residual_variance`` check naming the item.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pingouin as pg
from scipy import stats

from xhs_sharing.analysis.structural import (
    ESTIMATOR_DEFAULT,
    check_estimator,
    estimate,
    missing_label,
    require_covariance_based,
)
from xhs_sharing.errors import DataError, EstimationError, SpecError
from xhs_sharing.sem.checks import check_solutions, solution_problems
from xhs_sharing.sem.estimation import MAX_ITER, XTOL, ModelFit
from xhs_sharing.sem.fit import ESTIMATOR_KEY, fiml_fit_measures, fit_measures, robust_fit_measures
from xhs_sharing.sem.frames import observed_matrix
from xhs_sharing.sem.model import LAMBDA, PSI, THETA, load_model
from xhs_sharing.sem.standardize import cov_to_cor, std_all_matrices, wald
from xhs_sharing.study.cutoffs import default_thresholds, references
from xhs_sharing.study.spec import MISSING_DEFAULT

logger = logging.getLogger(__name__)

__all__ = [
    "CfaResult",
    "average_variance_extracted",
    "cfa_syntax",
    "composite_reliability",
    "cronbach_alpha_ci",
    "fit_cfa",
    "fornell_larcker",
    "htmt",
    "model_based_reliability",
    "htmt_from_corr",
    "item_descriptives",
    "measurement_checks",
    "reliability_table",
    "semtools_ave",
    "semtools_composite_reliability",
]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _validate_spec(items_by_construct: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Check the construct -> items mapping; return it as a plain dict of lists."""
    if not isinstance(items_by_construct, Mapping) or not items_by_construct:
        raise SpecError("items_by_construct must be a non-empty mapping construct -> items")
    spec: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for construct, items in items_by_construct.items():
        if not isinstance(construct, str) or not construct:
            raise SpecError(f"construct ids must be non-empty strings, got {construct!r}")
        if isinstance(items, str) or not isinstance(items, Iterable):
            raise SpecError(f"construct {construct!r}: items must be a list of column names")
        items = list(items)
        if not items:
            raise SpecError(f"construct {construct!r} has no items")
        for item in items:
            if not isinstance(item, str) or not item:
                raise SpecError(f"construct {construct!r}: item names must be strings, got {item!r}")
            if item in owner:
                raise SpecError(
                    f"item {item!r} is listed under both {owner[item]!r} and {construct!r}"
                )
            owner[item] = construct
        spec[construct] = items
    return spec


def _require_numeric_items(data: pd.DataFrame, spec: Mapping[str, Sequence[str]]) -> None:
    """DataError naming the construct and item for an absent or non-numeric item column."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for construct, items in spec.items():
        for item in items:
            if item not in data.columns:
                raise DataError(f"construct {construct!r}: item {item!r} is not a column of data")
            col = data[item]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                raise DataError(f"construct {construct!r}: item {item!r} is not numeric")


def _require_informative_items(frame: pd.DataFrame, spec: Mapping[str, Sequence[str]], complete: bool) -> None:
    """DataError for an item with no response, an infinite value or zero variance."""
    for construct, items in spec.items():
        for item in items:
            col = frame[item].dropna()
            if col.empty:
                raise DataError(f"construct {construct!r}: item {item!r} has no responses")
            if not np.all(np.isfinite(col.to_numpy())):
                raise DataError(f"construct {construct!r}: item {item!r} has infinite values")
            if col.nunique() < 2:
                raise DataError(
                    f"construct {construct!r}: item {item!r} has zero variance "
                    f"(every response is {col.iloc[0]:g})"
                    + (" among complete rows" if complete else "")
                )


def _item_frame(
    data: pd.DataFrame, spec: Mapping[str, Sequence[str]], *, complete: bool
) -> pd.DataFrame:
    """Numeric item columns of ``data`` (listwise complete if ``complete``).

    Raises DataError naming the construct and item for an absent,
    non-numeric, empty or constant item.
    """
    _require_numeric_items(data, spec)
    all_items = [i for items in spec.values() for i in items]
    frame = data.loc[:, all_items].astype(float)
    if complete:
        frame = frame.dropna(how="any")
        if len(frame) < 3:
            raise DataError(
                f"only {len(frame)} respondents answered every item; at least 3 are needed"
            )
    _require_informative_items(frame, spec, complete)
    return frame


def _as_loading_vector(loadings: Any) -> np.ndarray:
    a = np.asarray(loadings, dtype=float).ravel()
    if a.size == 0:
        raise DataError("at least one loading is needed")
    if not np.all(np.isfinite(a)):
        raise DataError(f"loadings must be finite, got {a.tolist()}")
    return a


def _py(value: Any) -> Any:
    """Plain Python scalar for JSON; NaN becomes None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    v = float(value)
    return None if math.isnan(v) else v


def composite_reliability(loadings: Sequence[float] | np.ndarray) -> float:
    """Composite reliability (omega) from standardized loadings.

    .. math:: CR = \\frac{(\\sum_i \\lambda_i)^2}{(\\sum_i \\lambda_i)^2 + \\sum_i (1 - \\lambda_i^2)}

    (Joreskog 1971; Fornell & Larcker 1981, eq. 10; McDonald's omega for a
    congeneric model with uncorrelated errors, computed from the completely
    standardized solution).

    Parameters
    ----------
    loadings : array_like of float
        Standardized (``std.all``) loadings of one construct's items.

    Returns
    -------
    float
        CR. With a Heywood case (``|lambda| > 1``) the error term is negative
        and CR may exceed 1: such a solution is flagged by
        :func:`measurement_checks`, not here.
    """
    lam = _as_loading_vector(loadings)
    num = lam.sum() ** 2
    den = num + np.sum(1.0 - lam**2)
    if den == 0:
        raise DataError("composite reliability is undefined: zero denominator")
    return float(num / den)


def average_variance_extracted(loadings: Sequence[float] | np.ndarray) -> float:
    """Average variance extracted: mean squared standardized loading.

    .. math:: AVE = \\frac{1}{k}\\sum_i \\lambda_i^2

    (Fornell & Larcker 1981, eq. 11, with standardized indicators, whose
    error variances are ``1 - lambda_i^2``).

    Parameters
    ----------
    loadings : array_like of float
        Standardized loadings of one construct's items.
    """
    lam = _as_loading_vector(loadings)
    return float(np.mean(lam**2))


def semtools_composite_reliability(loadings: Sequence[float] | np.ndarray, factor_variance: float,
                                   sample_cov: np.ndarray) -> float:
    """Composite reliability as semTools' ``compRelSEM()`` computes it (its defaults).

    .. math:: \\omega = \\frac{(\\sum_i \\lambda_i)^2 \\phi}{\\mathbf{1}' S \\mathbf{1}}

    with the *unstandardized* loadings ``lambda``, the factor variance
    ``phi`` and the observed covariance matrix ``S`` of the construct's items
    (``obs.var = TRUE``: the variance of the unit-weighted sum score;
    Bentler 2009, Psychometrika 74:137-143; semTools 0.5-6). It differs
    from :func:`composite_reliability` (standardized loadings, model-implied
    variances; Fornell & Larcker 1981) in the item weights and in using the
    observed, not the implied, variance of the composite.
    """
    lam = _as_loading_vector(loadings)
    cov = np.asarray(sample_cov, dtype=float)
    if cov.shape != (lam.size, lam.size):
        raise DataError(f"sample_cov has shape {cov.shape}, expected ({lam.size}, {lam.size})")
    return float(lam.sum() ** 2 * factor_variance / cov.sum())


def semtools_ave(loadings: Sequence[float] | np.ndarray, factor_variance: float,
                 item_variances: Sequence[float] | np.ndarray) -> float:
    """Average variance extracted as semTools' ``AVE()`` computes it (its defaults).

    .. math:: AVE = \\frac{\\phi \\sum_i \\lambda_i^2}{\\sum_i s_{ii}}

    unstandardized loadings, factor variance ``phi`` and the observed item
    variances ``s_ii`` (``obs.var = TRUE``; semTools 0.5-6): the share of
    the items' total observed variance that the factor explains. Equals
    :func:`average_variance_extracted` only when every item has the same
    variance and the implied variances equal the observed ones.
    """
    lam = _as_loading_vector(loadings)
    var = np.asarray(item_variances, dtype=float).ravel()
    if var.shape != lam.shape:
        raise DataError(f"{var.size} item variances for {lam.size} loadings")
    return float(factor_variance * np.sum(lam**2) / var.sum())


def model_based_reliability(cfa: CfaResult, items_by_construct: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """semTools' ``compRelSEM()`` and ``AVE()`` of every construct of a fitted CFA.

    Unstandardized loadings and factor variances of ``cfa`` with its
    ``sample_cov`` (:func:`semtools_composite_reliability`,
    :func:`semtools_ave`). A single-item construct gets NaN (semTools drops
    it: ``dropSingle = TRUE``).

    Returns
    -------
    pandas.DataFrame
        Columns ``construct, cr_semtools, ave_semtools``.
    """
    if cfa.sample_cov is None:
        raise SpecError("the CFA result carries no sample covariance matrix")
    st, theta = cfa.estimates.structure, cfa.estimates.theta
    mats = st.matrices(theta)
    lam, psi = mats[LAMBDA], mats[PSI]
    obs = {v: i for i, v in enumerate(st.observed)}
    rows = []
    for construct, items in _validate_spec(items_by_construct).items():
        j = st.inner_index(construct)
        loadings = [float(lam[obs[i], j]) for i in items]
        block = cfa.sample_cov.loc[list(items), list(items)].to_numpy()
        single = len(items) < 2
        rows.append({
            "construct": construct,
            "cr_semtools": float("nan") if single else semtools_composite_reliability(loadings, psi[j, j], block),
            "ave_semtools": float("nan") if single else semtools_ave(loadings, psi[j, j], np.diag(block)),
        })
    return pd.DataFrame(rows, columns=["construct", "cr_semtools", "ave_semtools"])


def cronbach_alpha_ci(items: pd.DataFrame, level: float = 0.95) -> tuple[float, float, float]:
    """Cronbach's alpha with Feldt's confidence interval.

    Alpha comes from :func:`pingouin.cronbach_alpha` (on complete rows);
    the interval is Feldt, Woodruff & Salih (1987),
    ``1 - (1 - alpha) F_{q}(n - 1, (n - 1)(k - 1))`` for ``q`` the upper and
    lower ``(1 - level)/2`` quantiles. It is the interval pingouin reports,
    recomputed here because pingouin rounds it to 3 decimals.

    Parameters
    ----------
    items : pandas.DataFrame
        Respondents x items of one construct, at least 2 items, no missing
        values.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    (alpha, low, high)
    """
    if items.shape[1] < 2:
        raise DataError("Cronbach's alpha needs at least 2 items")
    if items.isna().any().any():
        raise DataError("cronbach_alpha_ci expects complete rows")
    if not (0.0 < level < 1.0):
        raise DataError(f"level must be in (0, 1), got {level}")
    n, k = items.shape
    alpha = float(pg.cronbach_alpha(data=items, ci=level)[0])
    df1 = n - 1
    df2 = df1 * (k - 1)
    tail = (1.0 - level) / 2.0
    low = 1.0 - (1.0 - alpha) * float(stats.f.isf(tail, df1, df2))
    high = 1.0 - (1.0 - alpha) * float(stats.f.isf(1.0 - tail, df1, df2))
    return alpha, low, high


def item_descriptives(
    data: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    scale_points: int | None = None,
) -> pd.DataFrame:
    """Per-item descriptive statistics.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents x items.
    items_by_construct : mapping
        Construct id -> item columns.
    scale_points : int, optional
        Number K of response categories, coded 1..K. If given, the table gets
        the shares ``p1 .. pK`` of the non-missing responses at each point,
        and a response outside 1..K raises DataError. If None, no share
        columns.

    Returns
    -------
    pandas.DataFrame
        One row per item, columns ``construct, item, n, mean, sd, skewness,
        kurtosis, [p1..pK,] citc``. ``sd`` uses N - 1; ``skewness`` and
        ``kurtosis`` are the bias-adjusted G1 / G2 of SPSS and
        :meth:`pandas.Series.skew` / :meth:`~pandas.Series.kurt`, the
        kurtosis being *excess* kurtosis (0 for a normal distribution); ``citc``
        is the corrected item-total correlation, the Pearson correlation of
        the item with the sum of the *other* items of its construct, on the
        rows complete on that construct (NaN for a single-item construct, for
        which it is undefined).

    Raises
    ------
    SpecError, DataError
        Bad mapping; absent, non-numeric or constant item; fewer than 4
        responses; a response outside 1..K.
    """
    spec = _validate_spec(items_by_construct)
    if scale_points is not None and (
        not isinstance(scale_points, (int, np.integer)) or scale_points < 2
    ):
        raise SpecError(f"scale_points must be an integer >= 2, got {scale_points!r}")
    frame = _item_frame(data, spec, complete=False)
    rows = []
    for construct, items in spec.items():
        block = frame[items].dropna(how="any")
        for item in items:
            col = frame[item].dropna()
            if len(col) < 4:
                raise DataError(
                    f"construct {construct!r}: item {item!r} has {len(col)} responses; "
                    "skewness and kurtosis need at least 4"
                )
            row: dict[str, Any] = {
                "construct": construct,
                "item": item,
                "n": int(len(col)),
                "mean": float(col.mean()),
                "sd": float(col.std(ddof=1)),
                "skewness": float(col.skew()),
                "kurtosis": float(col.kurt()),  # excess (normal = 0)
            }
            if scale_points is not None:
                points = np.arange(1, scale_points + 1, dtype=float)
                outside = sorted(set(col.to_numpy()) - set(points))
                if outside:
                    raise DataError(
                        f"construct {construct!r}: item {item!r} has responses outside "
                        f"1..{scale_points}: {outside[:5]}"
                    )
                for k in range(1, scale_points + 1):
                    row[f"p{k}"] = float((col == k).mean())
            if len(items) > 1:
                rest = block[[i for i in items if i != item]].sum(axis=1)
                if rest.nunique() < 2:
                    raise DataError(
                        f"construct {construct!r}: the other items of {item!r} sum to a constant"
                    )
                row["citc"] = float(np.corrcoef(block[item], rest)[0, 1])
            else:
                row["citc"] = float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def _loading_lookup(std_loadings: Any) -> dict[str, float]:
    if isinstance(std_loadings, pd.DataFrame):
        if not {"item", "std_all"} <= set(std_loadings.columns):
            raise DataError("a loadings DataFrame needs the columns 'item' and 'std_all'")
        return {str(i): float(v) for i, v in zip(std_loadings["item"], std_loadings["std_all"])}
    if isinstance(std_loadings, pd.Series):
        return {str(i): float(v) for i, v in std_loadings.items()}
    if isinstance(std_loadings, Mapping):
        return {str(i): float(v) for i, v in std_loadings.items()}
    raise DataError(
        "std_loadings must be a mapping item -> loading, a Series, or the loadings "
        "DataFrame of fit_cfa"
    )


def reliability_table(
    data: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    std_loadings: Mapping[str, float] | pd.Series | pd.DataFrame,
    *,
    missing: str = MISSING_DEFAULT,
    cfa: CfaResult | None = None,
) -> pd.DataFrame:
    """Reliability and convergent validity per construct.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents x items (rows complete on all items are used, or with
        ``missing="fiml"`` the rows complete on each construct).
    items_by_construct : mapping
        Construct id -> item columns.
    std_loadings : mapping, Series or DataFrame
        Standardized CFA loadings per item: a mapping / Series item -> value,
        or the ``loadings`` DataFrame of :class:`CfaResult` (columns ``item``,
        ``std_all``).
    missing : {"listwise", "fiml"}, default "listwise"
        ``"listwise"``: alpha on the rows complete on *all* items (the rows
        of a listwise CFA). ``"fiml"``: alpha of each construct on the rows
        complete on *that construct's* items (pingouin's
        ``nan_policy="listwise"`` per construct); CR and AVE come from
        ``std_loadings`` either way (the FIML loadings under FIML).
    cfa : CfaResult, optional
        The fitted CFA, for semTools' definitions
        (:func:`model_based_reliability`); without it those columns are NaN.

    Returns
    -------
    pandas.DataFrame
        Columns ``construct, n_items, n, alpha, alpha_ci_low, alpha_ci_high,
        cr, ave, sqrt_ave, cr_semtools, ave_semtools``: Cronbach's alpha with
        Feldt's 95 % CI (:func:`cronbach_alpha_ci`), CR and AVE from the
        standardized loadings (Fornell & Larcker 1981;
        :func:`composite_reliability`, :func:`average_variance_extracted`),
        the square root of AVE (the diagonal of the Fornell-Larcker table),
        and semTools' ``compRelSEM()`` and ``AVE()`` (unstandardized loadings
        over observed variances, :func:`model_based_reliability`); the two
        definitions differ most on weak scales with unequal item variances. For a single-item construct alpha and
        its CI are NaN (undefined); :func:`measurement_checks` flags it.
        ``n`` is the number of rows alpha was computed on.
    """
    spec = _validate_spec(items_by_construct)
    if missing not in ("listwise", "fiml"):
        raise SpecError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    frame = _item_frame(data, spec, complete=missing == "listwise")
    lookup = _loading_lookup(std_loadings)
    rows = []
    for construct, items in spec.items():
        absent = [i for i in items if i not in lookup]
        if absent:
            raise DataError(
                f"construct {construct!r}: no standardized loading for item(s) {', '.join(absent)}"
            )
        lam = [lookup[i] for i in items]
        block = frame[items].dropna(how="any")
        if len(items) >= 2:
            if len(block) < 3:
                raise DataError(
                    f"construct {construct!r}: only {len(block)} respondents answered all its items; "
                    "Cronbach's alpha needs at least 3"
                )
            alpha, low, high = cronbach_alpha_ci(block, level=0.95)
        else:
            alpha = low = high = float("nan")
        ave = average_variance_extracted(lam)
        rows.append(
            {
                "construct": construct,
                "n_items": len(items),
                "n": int(len(block)),
                "alpha": alpha,
                "alpha_ci_low": low,
                "alpha_ci_high": high,
                "cr": composite_reliability(lam),
                "ave": ave,
                "sqrt_ave": math.sqrt(ave),
            }
        )
    table = pd.DataFrame(rows)
    if cfa is None:
        return table.assign(cr_semtools=float("nan"), ave_semtools=float("nan"))
    return table.merge(model_based_reliability(cfa, spec), on="construct", how="left", validate="1:1")


def fornell_larcker(
    latent_corr: pd.DataFrame, ave: Mapping[str, float] | pd.Series
) -> pd.DataFrame:
    """Fornell-Larcker table: sqrt(AVE) on the diagonal, latent correlations off it.

    Discriminant validity holds for a construct when its sqrt(AVE) exceeds
    the absolute value of each of its correlations with the other constructs
    (Fornell & Larcker 1981).

    Parameters
    ----------
    latent_corr : pandas.DataFrame
        Square latent correlation matrix, index == columns == construct ids
        (e.g. :attr:`CfaResult.latent_corr`).
    ave : mapping or Series
        Construct id -> AVE (e.g. ``reliability_table(...).set_index(
        "construct")["ave"]``).

    Returns
    -------
    pandas.DataFrame
        Same labels and order as ``latent_corr``.
    """
    if not isinstance(latent_corr, pd.DataFrame):
        raise DataError("latent_corr must be a DataFrame")
    if list(latent_corr.index) != list(latent_corr.columns):
        raise DataError("latent_corr must have the same constructs, in the same order, as rows and columns")
    values = latent_corr.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or not np.allclose(values, values.T, atol=1e-10):
        raise DataError("latent_corr must be a finite symmetric matrix")
    ave_map = dict(ave.items()) if isinstance(ave, (pd.Series, Mapping)) else None
    if ave_map is None:
        raise DataError("ave must be a mapping or Series construct -> AVE")
    out = latent_corr.astype(float).copy()
    for construct in latent_corr.index:
        if construct not in ave_map:
            raise DataError(f"no AVE for construct {construct!r}")
        a = float(ave_map[construct])
        if not math.isfinite(a) or a < 0:
            raise DataError(f"construct {construct!r}: AVE must be a finite number >= 0, got {a}")
        out.loc[construct, construct] = math.sqrt(a)
    return out


def htmt_from_corr(
    corr: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    *,
    absolute: bool = True,
) -> pd.DataFrame:
    """Heterotrait-monotrait ratio of correlations from an item correlation matrix.

    Henseler, Ringle & Sarstedt (2015, eq. 6): for constructs i and j,

    .. math:: HTMT_{ij} = \\frac{\\bar r_{ij}}{\\sqrt{\\bar r_{ii}\\,\\bar r_{jj}}}

    where ``r_ij`` (heterotrait-heteromethod) is the mean correlation between
    the items of i and the items of j, and ``r_ii`` (monotrait-heteromethod)
    the mean correlation among the *distinct* items of i.

    Parameters
    ----------
    corr : pandas.DataFrame
        Item correlation matrix, labelled by item.
    items_by_construct : mapping
        Construct id -> items.
    absolute : bool, default True
        Use absolute correlations, as ``semTools::htmt`` does by default (its
        recommendation), so that a negatively related pair of constructs is
        measured by the strength of the relation. With ``False`` the raw
        correlations are used (Henseler et al.'s text, which assumes
        same-direction items); a non-positive mean monotrait correlation then
        raises DataError.

    Returns
    -------
    pandas.DataFrame
        Square, labelled by construct, symmetric. The diagonal is 1.0 (a
        construct compared with itself; finite so that the table serialises to
        JSON/CSV). Entries involving a single-item construct are NaN: its
        monotrait correlation is undefined. :func:`measurement_checks` turns
        those into warning entries.
    """
    spec = _validate_spec(items_by_construct)
    if not isinstance(corr, pd.DataFrame):
        raise DataError("corr must be a DataFrame labelled by item")
    for construct, items in spec.items():
        for item in items:
            if item not in corr.index or item not in corr.columns:
                raise DataError(f"construct {construct!r}: item {item!r} is not in the correlation matrix")
    all_items = [i for items in spec.values() for i in items]
    r = corr.loc[all_items, all_items].to_numpy(dtype=float)
    if not np.all(np.isfinite(r)):
        raise DataError("the item correlation matrix has non-finite entries")
    if absolute:
        r = np.abs(r)
    pos = {item: k for k, item in enumerate(all_items)}
    mono: dict[str, float] = {}
    for construct, items in spec.items():
        idx = [pos[i] for i in items]
        if len(idx) < 2:
            mono[construct] = float("nan")
            continue
        block = r[np.ix_(idx, idx)]
        m = float(block[np.triu_indices(len(idx), 1)].mean())
        if m <= 0:
            raise DataError(
                f"construct {construct!r}: mean monotrait correlation is {m:.3f} <= 0; "
                "HTMT is undefined (are its items coded in the same direction?)"
            )
        mono[construct] = m
    names = list(spec)
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for a_pos, a in enumerate(names):
        for b in names[a_pos + 1 :]:
            hetero = float(r[np.ix_([pos[i] for i in spec[a]], [pos[i] for i in spec[b]])].mean())
            value = hetero / math.sqrt(mono[a] * mono[b]) if not (
                math.isnan(mono[a]) or math.isnan(mono[b])
            ) else float("nan")
            out.loc[a, b] = out.loc[b, a] = value
    return out


def htmt(
    data: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    *,
    absolute: bool = True,
    missing: str = MISSING_DEFAULT,
) -> pd.DataFrame:
    """HTMT matrix from raw item data (Pearson correlations).

    With ``missing="listwise"`` (default) the correlations use the rows
    complete on all items; with ``missing="fiml"`` every respondent is kept
    and each correlation uses the rows where both of its items were
    answered (pairwise-complete; :meth:`pandas.DataFrame.corr`).

    See :func:`htmt_from_corr` for the formula, the diagonal (1.0) and the
    single-item convention (NaN + warning in :func:`measurement_checks`).
    """
    spec = _validate_spec(items_by_construct)
    if missing not in ("listwise", "fiml"):
        raise SpecError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    frame = _item_frame(data, spec, complete=missing == "listwise")
    return htmt_from_corr(frame.corr(method="pearson"), spec, absolute=absolute)


@dataclass
class CfaResult:
    """Result of :func:`fit_cfa`.

    Attributes
    ----------
    estimates : ModelFit
        The converged fit (structure, ``theta``, asymptotic covariance).
    syntax : str
        The lavaan syntax that was fitted.
    loadings : pandas.DataFrame
        One row per item: ``construct, item, est, se, z, pvalue, std_all,
        resid_var``. ``est`` is the unstandardized loading (the first item of
        each construct is fixed to 1, so its ``se``, ``z`` and ``pvalue`` are
        NaN, as lavaan leaves them blank); ``se`` uses the expected
        information (lavaan's default for ML); ``std_all`` is the completely
        standardized loading ``lambda sqrt(psi) / sqrt(sigma_ii)``;
        ``resid_var`` is the unstandardized residual variance (negative for a
        Heywood case; fixed to 0 for a single-item construct).
    latent_corr : pandas.DataFrame
        Correlations among the latent constructs (unit diagonal).
    fit : dict
        :func:`xhs_sharing.sem.fit.fit_measures` of the model (or
        :func:`~xhs_sharing.sem.fit.fiml_fit_measures` under FIML), plus
        ``"estimator"``.
    n : int
        Number of rows used: the complete rows, or every row under FIML.
    estimator : str
        ``"ML"`` or ``"FIML"``. Under FIML ``se`` comes from the observed
        information (lavaan's default for ``missing = "ml"``).
    problems : tuple of str
        Improper-solution diagnoses (:func:`xhs_sharing.sem.checks.solution_problems`),
        e.g. a negative residual variance (a Heywood case); empty for a
        proper solution. Problems that make the standardized loadings
        impossible raise instead.
    sample_cov : pandas.DataFrame or None
        The covariance matrix the model was fitted to, items as labels:
        the sample covariance of the rows used (divisor N) under ML, the EM
        estimate of the saturated model under FIML (lavaan's ``sampstat``).
    method : str
        The configured estimator (``"ML"``, ``"MLR"``, ``"WLSMV"``), written
        as ``fit["estimator"]``; ``estimator`` stays the likelihood
        (``fit["missing"]``), as in
        :class:`~xhs_sharing.analysis.structural.StructuralResult`.
    """

    estimates: ModelFit
    syntax: str
    loadings: pd.DataFrame
    latent_corr: pd.DataFrame
    fit: dict[str, Any] = field(default_factory=dict)
    n: int = 0
    estimator: str = "ML"
    problems: tuple[str, ...] = ()
    sample_cov: pd.DataFrame | None = None
    method: str = "ML"


def fit_cfa_wlsmv(data: pd.DataFrame, items_by_construct: Mapping[str, Sequence[str]], *,
                  missing: str = MISSING_DEFAULT) -> CfaResult:
    """The correlated-factors CFA by WLSMV (ordered items): :func:`xhs_sharing.analysis.ordinal.fit_cfa_wlsmv`.

    ``method`` and ``fit["estimator"]`` ``"WLSMV"``, ``fit["missing"]``
    ``"listwise"``; ``sample_cov`` is the polychoric correlation matrix.
    """
    from xhs_sharing.analysis.ordinal import fit_cfa_wlsmv as fit_ordinal  # it imports this module

    return fit_ordinal(data, items_by_construct, missing=missing)


def cfa_syntax(items_by_construct: Mapping[str, Sequence[str]]) -> str:
    """lavaan/semopy syntax of the correlated-factors CFA.

    One ``construct =~ item1 + item2 + ...`` line per construct (semopy, like
    lavaan's ``cfa()``, fixes the first loading to 1 and frees all factor
    covariances). A single-item construct gets its residual variance fixed
    to 0 (``item ~~ 0*item``), the usual single-indicator specification: the
    construct *is* the item.

    Raises
    ------
    SpecError
        If a construct or item name is not a valid identifier
        (``[A-Za-z_][A-Za-z0-9_.]*``) or a construct shares a name with an
        item.
    """
    spec = _validate_spec(items_by_construct)
    items = {i for its in spec.values() for i in its}
    lines = []
    for construct, its in spec.items():
        for name in [construct, *its]:
            if not _IDENT.match(name):
                raise SpecError(
                    f"{name!r} is not a valid model identifier (letters, digits, '_' and '.', "
                    "not starting with a digit)"
                )
        if construct in items:
            raise SpecError(f"construct {construct!r} has the same name as an item")
        lines.append(f"{construct} =~ {' + '.join(its)}")
        if len(its) == 1:
            lines.append(f"{its[0]} ~~ 0*{its[0]}")
    return "\n".join(lines)


def fit_cfa(
    data: pd.DataFrame,
    items_by_construct: Mapping[str, Sequence[str]],
    *,
    tol: float = XTOL,
    max_iter: int = MAX_ITER,
    missing: str = MISSING_DEFAULT,
    estimator: str = ESTIMATOR_DEFAULT,
) -> CfaResult:
    """Fit the correlated-factors CFA by ML (or FIML; MLR, WLSMV on request) and collect its measurement tables.

    The model of :func:`cfa_syntax` is fitted with the package's one
    estimator, :func:`xhs_sharing.sem.estimation.fit_model` (semopy's SLSQP, then
    Fisher scoring to full convergence, variances unbounded as in lavaan), on
    the rows complete on all items; standard errors from the expected
    information (lavaan's default for ML).

    With ``missing="fiml"`` and missing answers in ``data``, every respondent
    is kept and the CFA is estimated by full-information ML with free
    intercepts (the same ``fit_model``, lavaan's ``missing = "ml"``):
    standard errors from the observed information (lavaan's default there)
    and the fit measures of :func:`xhs_sharing.sem.fit.fiml_fit_measures`
    (chi-square against the EM saturated model). With complete data
    ``"fiml"`` gives exactly the ML result.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents x items.
    items_by_construct : mapping
        Construct id -> item columns.
    tol, max_iter
        Convergence tolerance and iteration cap, :func:`~xhs_sharing.sem.estimation.fit_model`'s
        ``xtol`` and ``max_iter``.
    missing : {"listwise", "fiml"}, default "listwise"
    estimator : {"ML", "MLR", "WLSMV"}
        The config's ``estimator`` (default from its schema). ``"MLR"``: the
        same estimates, sandwich standard errors and the scaled test and
        robust fit measures in ``fit``
        (:func:`xhs_sharing.analysis.structural.estimate`); ``"WLSMV"``:
        :func:`fit_cfa_wlsmv`.

    Returns
    -------
    CfaResult
        ``fit`` carries ``"estimator"`` (the configured one) and
        ``"missing"`` (``"fiml"`` when the FIML likelihood was used, else
        ``"listwise"``).

    Raises
    ------
    SpecError
        Bad mapping or names, unknown ``missing``.
    DataError
        Absent, non-numeric or constant item; too few complete rows (too few
        rows under FIML).
    EstimationError
        Non-convergence, non-identification, or a latent variance <= 0
        (standardization impossible).
    """
    spec = _validate_spec(items_by_construct)
    if missing not in ("listwise", "fiml"):
        raise SpecError(f"missing must be 'listwise' or 'fiml', got {missing!r}")
    check_estimator(estimator)
    require_covariance_based(estimator, "fit_cfa")
    if estimator == "WLSMV":
        return fit_cfa_wlsmv(data, spec, missing=missing)
    syntax = cfa_syntax(spec)
    frame = _item_frame(data, spec, complete=missing == "listwise")
    all_items = list(frame.columns)
    fiml = bool(frame.isna().to_numpy().any())
    if len(frame) <= len(all_items):
        raise DataError(
            f"{len(frame)} {'rows' if fiml else 'complete rows'} for {len(all_items)} items: "
            "too few for a CFA"
        )
    parsed = load_model(syntax, lavaan_defaults=False)
    x = observed_matrix(frame, parsed.observed, allow_missing=True)
    estimates = estimate(parsed, x, estimator, xtol=tol, max_iter=max_iter)
    estimates.require_identified()
    problems = _standardizable(estimates, list(spec))
    loadings, latent_corr = _cfa_tables(estimates, spec)
    if estimates.estimator == "FIML":
        # x, Sigma, the means and the EM moments are all in structure.observed order
        sigma = estimates.structure.implied_covariance(estimates.theta)
        fit: dict[str, Any] = dict(fiml_fit_measures(
            x, sigma, estimates.structure.n_params, mean=estimates.means, em=estimates.em,
        ))
    else:
        fit = dict(fit_measures(estimates, frame))
    fit[ESTIMATOR_KEY] = estimator
    fit["missing"] = missing_label(estimates.estimator)
    if estimates.mlr is not None:
        fit.update(robust_fit_measures(estimates.mlr))
    observed = list(estimates.structure.observed)
    cov = estimates.em.cov if estimates.em is not None else np.cov(x, rowvar=False, bias=True)
    return CfaResult(
        sample_cov=pd.DataFrame(cov, index=observed, columns=observed),
        estimates=estimates,
        syntax=syntax,
        loadings=loadings,
        latent_corr=latent_corr,
        fit=fit,
        n=estimates.n_obs,
        estimator=estimates.estimator,
        problems=tuple(problems),
        method=estimator,
    )


def _standardizable(estimates: ModelFit, constructs: list[str]) -> list[str]:
    """The improper-solution diagnoses of a CFA (:mod:`xhs_sharing.sem.checks`), logged.

    Raises
    ------
    EstimationError
        A negative latent variance, or a negative implied variance of an item
        (``Sigma`` not positive definite there): no standardized solution exists.
    """
    st, theta = estimates.structure, estimates.theta
    chk = check_solutions(st, theta)
    bad = [c for c in constructs if chk.negative_latent[0, st.inner_index(c)]]
    if bad:
        raise EstimationError(
            f"improper solution: non-positive latent variance for construct(s) {', '.join(bad)}"
        )
    if chk.sigma_not_pd[0]:
        sigma = np.diag(st.implied_covariance(theta))
        items = [v for v, s2 in zip(st.observed, sigma, strict=True) if not s2 > 0]
        if items:
            raise EstimationError(f"improper solution: implied variance of item {items[0]!r} is not positive")
    problems = solution_problems(st, theta)
    for msg in problems:
        logger.warning("CFA: improper solution: %s", msg)
    return problems


def _cfa_tables(estimates: ModelFit, spec: Mapping[str, Sequence[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The loadings table and the latent correlations of a converged, standardizable CFA.

    ``std_all`` of a loading is lavaan's ``lambda sd(eta) / sd(y)``
    (:func:`~xhs_sharing.sem.standardize.std_all_matrices`); SEs, ``z`` and
    p-values are the Wald ones (:func:`~xhs_sharing.sem.standardize.wald`).
    """
    st, theta = estimates.structure, estimates.theta
    mats = st.matrices(theta)
    lam, psi, th = mats[LAMBDA], mats[PSI], mats[THETA]
    std_lam = std_all_matrices(*mats)[LAMBDA]
    constructs = list(spec)
    lat = np.array([st.inner_index(c) for c in constructs], dtype=np.intp)
    cov_lat = psi[np.ix_(lat, lat)]
    latent_corr = pd.DataFrame(cov_to_cor(cov_lat), index=constructs, columns=constructs)

    # expected (ML) or observed (FIML) information, as lavaan's defaults
    all_se = np.sqrt(np.clip(np.diag(estimates.acov), 0.0, None))
    free = {(r.rhs, r.lhs): r.free for r in st.rows if r.op == "=~" and r.free >= 0}
    obs = {v: i for i, v in enumerate(st.observed)}
    rows = []
    for construct, its in spec.items():
        j = st.inner_index(construct)
        for item in its:
            i = obs[item]
            k = free.get((item, construct))
            rows.append({"construct": construct, "item": item, "est": float(lam[i, j]),
                         "se": float(all_se[k]) if k is not None else float("nan"),
                         "std_all": float(std_lam[i, j]), "resid_var": float(th[i, i])})
    loadings = pd.DataFrame(rows)
    w = wald(loadings["est"].to_numpy(), loadings["se"].to_numpy())
    loadings.insert(4, "z", w["z"])
    loadings.insert(5, "pvalue", w["pvalue"])
    return loadings, latent_corr


_COMPARE = {
    "ge": lambda v, t: v >= t,
    "gt": lambda v, t: v > t,
    "le": lambda v, t: v <= t,
    "lt": lambda v, t: v < t,
}


def _entry(
    check: str,
    *,
    construct: str | None,
    item: str | None = None,
    statistic: str,
    threshold: float | None,
    comparison: str,
    value: float | None,
    reference_key: str,
    warning: str | None = None,
) -> dict[str, Any]:
    """One check record; a warning when ``warning`` is given or value is missing."""
    value = _py(value)
    threshold = _py(threshold)
    note = warning
    if note is None and value is None:
        note = f"{statistic} is undefined"
    if note is not None:
        passed, status = None, "warning"
    else:
        passed = bool(_COMPARE[comparison](value, threshold))
        status = "pass" if passed else "fail"
    return {
        "check": check,
        "construct": construct,
        "item": item,
        "statistic": statistic,
        "threshold": threshold,
        "comparison": comparison,
        "value": value,
        "passed": passed,
        "status": status,
        "reference": references()[reference_key],
        "note": note,
    }


def _merged_thresholds(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """The schema's default cut-offs (:func:`~xhs_sharing.study.cutoffs.default_thresholds`) with ``thresholds`` over them."""
    merged = default_thresholds()
    if thresholds is None:
        return merged
    if not isinstance(thresholds, Mapping):
        raise SpecError("thresholds must be a mapping name -> cut-off")
    for key, val in thresholds.items():
        if key not in merged:
            raise SpecError(
                f"unknown threshold {key!r}; known: {', '.join(sorted(merged))}"
            )
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
            raise SpecError(f"threshold {key!r} must be a finite number, got {val!r}")
        merged[key] = float(val)
    return merged


def _require_columns(name: str, frame: Any, cols: Iterable[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name} must be a DataFrame")
    absent = [c for c in cols if c not in frame.columns]
    if absent:
        raise DataError(f"{name} lacks column(s) {', '.join(absent)}")


SINGLE_NOTE = "single-item construct: {stat} is undefined or trivially 1"


def _construct_checks(reliability: pd.DataFrame, fornell_larcker: pd.DataFrame, th: Mapping[str, float],
                      n_items: Mapping[str, int]) -> list[dict[str, Any]]:
    """Alpha, CR, AVE and Fornell-Larcker of every construct."""
    out: list[dict[str, Any]] = []
    for row in reliability.itertuples(index=False):
        c = str(row.construct)
        single = n_items[c] < 2
        for check, stat in (("cronbach_alpha", "alpha"), ("composite_reliability", "cr"), ("ave", "ave")):
            out.append(_entry(check, construct=c, statistic=stat, threshold=th[stat], comparison="ge",
                              value=getattr(row, stat), reference_key=stat,
                              warning=SINGLE_NOTE.format(stat=stat) if single else None))
        if c in fornell_larcker.index and len(fornell_larcker.index) > 1:
            others = [o for o in fornell_larcker.columns if o != c]
            max_r = float(np.max(np.abs(fornell_larcker.loc[c, others].to_numpy(dtype=float))))
            out.append(_entry("fornell_larcker", construct=c, statistic="max_abs_latent_corr",
                              threshold=float(fornell_larcker.loc[c, c]), comparison="lt", value=max_r,
                              reference_key="fornell_larcker",
                              warning=SINGLE_NOTE.format(stat="sqrt(AVE)") if single else None))
    return out


def _htmt_checks(htmt: pd.DataFrame, th: Mapping[str, float], n_items: Mapping[str, int]) -> list[dict[str, Any]]:
    """HTMT of every pair of constructs (``construct`` is ``"A|B"``)."""
    out: list[dict[str, Any]] = []
    names = list(htmt.index)
    for a_pos, a in enumerate(names):
        for b in names[a_pos + 1 :]:
            single = n_items.get(str(a), 2) < 2 or n_items.get(str(b), 2) < 2
            out.append(_entry("htmt", construct=f"{a}|{b}", statistic="htmt", threshold=th["htmt"], comparison="lt",
                              value=htmt.loc[a, b], reference_key="htmt",
                              warning="HTMT is undefined for a single-item construct" if single else None))
    return out


_JUDGED_SUFFIX = {"WLSMV": "_scaled", "MLR": "_robust"}
"""Which version of CFI, TLI and RMSEA the checks judge, by estimator (plain ML: the standard ones)."""


def _fit_checks(fit: Mapping[str, Any], th: Mapping[str, float]) -> list[dict[str, Any]]:
    """CFI, TLI (at least), RMSEA, SRMR (at most); warnings for a just-identified model.

    Under WLSMV CFI, TLI and RMSEA are judged by their scaled versions: the
    DWLS statistic ``T`` is not chi-square distributed, its mean-and-variance
    adjusted ``T3`` is (Asparouhov & Muthen 2010; the values Mplus reports).
    Under MLR they are judged by lavaan's ``.robust`` versions (Brosseau-Liard
    & Savalei 2014; Savalei 2018), for the same reason: with non-normal items
    the ML statistic is not chi-square distributed.
    """
    suffix = _JUDGED_SUFFIX.get(str(fit.get(ESTIMATOR_KEY)), "")
    df = fit.get("df")
    just_identified = df is not None and int(df) == 0
    out: list[dict[str, Any]] = []
    for key, comparison in (("cfi", "ge"), ("tli", "ge"), ("rmsea", "le"), ("srmr", "le")):
        if key not in fit:
            raise DataError(f"fit lacks {key!r}")
        out.append(_entry(key, construct=None, statistic=key, threshold=th[key], comparison=comparison,
                          value=fit[f"{key}{suffix}"] if suffix and key != "srmr" else fit[key], reference_key=key,
                          warning="just-identified model (df = 0): global fit is not testable"
                          if just_identified else None))
    return out


def _item_checks(loadings: pd.DataFrame, th: Mapping[str, float]) -> list[dict[str, Any]]:
    """Standardized loading and residual variance of every item (the latter not for a single-item construct)."""
    per_construct = loadings.groupby("construct", sort=False)["item"].count().to_dict()
    has_resid = "resid_var" in loadings.columns
    out: list[dict[str, Any]] = []
    for row in loadings.itertuples(index=False):
        c, item = str(row.construct), str(row.item)
        single = per_construct.get(row.construct, 0) < 2
        out.append(_entry("std_loading", construct=c, item=item, statistic="std_loading",
                          threshold=th["std_loading"], comparison="ge", value=row.std_all,
                          reference_key="std_loading",
                          warning="single-item construct: the loading is fixed" if single else None))
        if single:
            continue
        if has_resid:
            value, stat = row.resid_var, "resid_var"
        else:  # 1 - std_all^2 is the standardized residual variance
            value, stat = 1.0 - float(row.std_all) ** 2, "std_resid_var"
        out.append(_entry("residual_variance", construct=c, item=item, statistic=stat, threshold=0.0,
                          comparison="gt", value=value, reference_key="residual_variance"))
    return out


def measurement_checks(
    reliability: pd.DataFrame,
    fornell_larcker: pd.DataFrame,
    htmt: pd.DataFrame,
    fit: Mapping[str, Any],
    loadings: pd.DataFrame,
    thresholds: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Compare the measurement statistics with their cut-offs.

    Parameters
    ----------
    reliability : pandas.DataFrame
        :func:`reliability_table` output (``construct, n_items, alpha, cr,
        ave``).
    fornell_larcker : pandas.DataFrame
        :func:`fornell_larcker` output.
    htmt : pandas.DataFrame
        :func:`htmt` output.
    fit : mapping
        :func:`~xhs_sharing.sem.fit.fit_measures` output (``cfi, tli,
        rmsea, srmr, df``).
    loadings : pandas.DataFrame
        :attr:`CfaResult.loadings` (``construct, item, std_all`` and, if
        present, ``resid_var``; without it a Heywood case is detected as
        ``|std_all| > 1``).
    thresholds : mapping, optional
        Cut-offs by name (``alpha, cr, ave, htmt, cfi, tli, rmsea, srmr,
        std_loading``), e.g. the run's ``measurement.thresholds``; a name not
        given takes the config schema's default
        (:func:`xhs_sharing.study.cutoffs.default_thresholds`, the only copy
        of the defaults and of their references).

    Returns
    -------
    list of dict
        One record per check, every record with the keys ``check, construct,
        item, statistic, threshold, comparison, value, passed, status,
        reference, note``:

        * ``cronbach_alpha`` / ``composite_reliability`` / ``ave`` per
          construct (``ge`` the ``alpha`` / ``cr`` / ``ave`` cut-off);
        * ``fornell_larcker`` per construct: ``value`` is the largest absolute
          correlation of the construct, ``threshold`` its sqrt(AVE),
          comparison ``lt``;
        * ``htmt`` per pair (``construct`` is ``"A|B"``), ``lt`` the cut-off;
        * ``cfi``, ``tli`` (``ge``), ``rmsea``, ``srmr`` (``le``),
          ``construct`` null;
        * ``std_loading`` per item (``ge``; the value is ``std_all``) and
          ``residual_variance`` per item with an estimated residual variance
          (``gt`` 0: a negative value is a Heywood case).

        ``reference`` is the source of the convention (the schema's
        ``x-reference``). ``status`` is ``"pass"``, ``"fail"`` or
        ``"warning"``; ``passed`` is True/False, or None for a warning.
        Warnings (with a ``note``) are given for every statistic of a
        single-item construct (alpha and HTMT undefined; CR, AVE,
        Fornell-Larcker and the fixed loading trivially 1), for an undefined
        value, and for the global fit indices of a just-identified model
        (``df == 0``). Values are plain Python numbers (NaN becomes None).
    """
    th = _merged_thresholds(thresholds)
    _require_columns("reliability", reliability, ["construct", "n_items", "alpha", "cr", "ave"])
    _require_columns("loadings", loadings, ["construct", "item", "std_all"])
    if not isinstance(fornell_larcker, pd.DataFrame) or not isinstance(htmt, pd.DataFrame):
        raise DataError("fornell_larcker and htmt must be DataFrames")
    if not isinstance(fit, Mapping):
        raise DataError("fit must be the dict of fit_measures")
    n_items = {str(c): int(k) for c, k in zip(reliability["construct"], reliability["n_items"])}
    return (_construct_checks(reliability, fornell_larcker, th, n_items) + _htmt_checks(htmt, th, n_items)
            + _fit_checks(fit, th) + _item_checks(loadings, th))
