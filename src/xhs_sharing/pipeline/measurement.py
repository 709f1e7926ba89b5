"""The measurement step of the workflow: validation of the measurement model.

:func:`run_measurement` computes every table of ``results/measurement/``
from the analysis table of the survey; ``scripts/measurement.py`` only reads
the inputs and writes the outputs.  The correlated-factors CFA
(:func:`xhs_sharing.analysis.measurement.fit_cfa`), reliability (Cronbach's
alpha, composite reliability, AVE from standardized loadings; Fornell &
Larcker 1981; semTools' compRelSEM and AVE alongside), discriminant
validity (Fornell-Larcker criterion; HTMT, Henseler, Ringle & Sarstedt 2015),
item descriptives, and the checks of every statistic against its
conventional cut-off.

Every setting defaults to the value of the config JSON Schema
(:func:`xhs_sharing.study.spec.config_defaults`), so a Python caller using the
defaults gets the numbers of the pipeline run with the default configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

from xhs_sharing.analysis.htmt import htmt2_from_corr, htmt_bootstrap, htmt_long_table
from xhs_sharing.analysis.item_validity import cross_loadings, item_vif
from xhs_sharing.analysis.measurement import (
    fit_cfa,
    fornell_larcker,
    htmt,
    htmt_from_corr,
    item_descriptives,
    measurement_checks,
    reliability_table,
)
from xhs_sharing.analysis.structural import cfa_estimator, require_positive_definite_covariance
from xhs_sharing.pipeline.fit_extras import cfa_extras, items_mardia
from xhs_sharing.results import with_estimator
from xhs_sharing.seeds import stream_seed
from xhs_sharing.study.spec import Study, config_defaults

logger = logging.getLogger(__name__)

__all__ = ["MeasurementOutputs", "check_summary", "run_measurement"]

_CONFIG: Final = config_defaults()

_BOOT_SEED: Final = stream_seed(_CONFIG["synthetic"]["seed"], "bootstrap")
"""The default run's bootstrap seed (``stream_seed(seed, "bootstrap")``, as the structural step)."""


@dataclass
class MeasurementOutputs:
    """Every table of ``results/measurement/``."""

    item_descriptives: pd.DataFrame
    reliability: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    loadings: pd.DataFrame
    cfa_fit: dict[str, Any]
    checks: dict[str, Any]
    syntax: str
    htmt2: pd.DataFrame = field(default_factory=pd.DataFrame)
    htmt_intervals: pd.DataFrame = field(default_factory=pd.DataFrame)
    cross_loadings: pd.DataFrame = field(default_factory=pd.DataFrame)
    item_vif: pd.DataFrame = field(default_factory=pd.DataFrame)
    residual_correlations: pd.DataFrame = field(default_factory=pd.DataFrame)
    modindices: pd.DataFrame = field(default_factory=pd.DataFrame)


def check_summary(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """``checks.json``: every check, and how many passed, failed and warned."""
    return {
        "checks": checks,
        "passed": sum(c["status"] == "pass" for c in checks),
        "failed": sum(c["status"] == "fail" for c in checks),
        "warnings": sum(c["status"] == "warning" for c in checks),
        "total": len(checks),
    }


def run_measurement(
    items: pd.DataFrame,
    study: Study,
    scale_points: int = _CONFIG["data"]["scale_points"],
    thresholds: Mapping[str, float] | None = None,
    *,
    missing: str = _CONFIG["data"]["missing"],
    estimator: str = _CONFIG["estimator"],
    n_boot: int = _CONFIG["structural"]["bootstrap"],
    boot_seed: int = _BOOT_SEED,
    chunk_size: int = _CONFIG["structural"]["chunk_size"],
) -> MeasurementOutputs:
    """Validate the measurement model on a survey (items recoded, one column per item).

    Fits the correlated-factors CFA, then computes reliability (alpha, CR,
    AVE), discriminant validity (Fornell-Larcker, HTMT), item descriptives and
    the checks against ``thresholds``.

    ``scale_points`` is the number of answer options (the config's
    ``data.scale_points``); ``thresholds`` the config's
    ``measurement.thresholds`` (None: the schema's defaults).

    ``missing`` is the run's missing-data setting. Under ``"listwise"`` the
    data stage has dropped incomplete respondents and everything uses the
    complete rows. Under ``"fiml"`` respondents with missing answers are
    kept (NaN): the CFA is estimated by FIML (its ``cfa_fit`` says
    ``"estimator": "FIML"``) and CR, AVE and Fornell-Larcker come from the
    FIML solution; HTMT uses pairwise-complete correlations; item
    descriptives use each item's available answers (the corrected
    item-total correlation the rows complete on the construct); Cronbach's
    alpha the rows complete on each construct (``n`` in the reliability
    table). With no missing value both settings give identical outputs.

    ``estimator`` is the run's estimator (the config's ``estimator``: ML,
    MLR or WLSMV; default from the schema), passed to
    :func:`~xhs_sharing.analysis.measurement.fit_cfa`, the one place the
    CFA's estimator is chosen; ``cfa_fit["estimator"]`` records it and
    ``cfa_fit["missing"]`` how missing answers were handled. Under PLS and
    PLSc the CFA stays ML, the validation of the reflective measurement
    model (:func:`~xhs_sharing.analysis.structural.cfa_estimator`).

    ``n_boot``, ``boot_seed`` and ``chunk_size`` are the structural
    bootstrap's (the config's ``structural.bootstrap`` and
    ``structural.chunk_size``, the seed ``stream_seed(seed, "bootstrap")``):
    the HTMT and HTMT2 intervals are percentiles over the same resamples
    (:func:`htmt_extras`). Cross-loadings and item VIF:
    :mod:`xhs_sharing.analysis.item_validity`.
    """
    if thresholds is None:
        thresholds = _CONFIG["measurement"]["thresholds"]
    ibc = study.items_by_construct
    require_positive_definite_covariance(items, study.item_ids)
    cfa = fit_cfa(items, ibc, missing=missing, estimator=cfa_estimator(estimator))
    reliability = reliability_table(items, ibc, cfa.loadings, missing=missing, cfa=cfa)
    fl = fornell_larcker(cfa.latent_corr, reliability.set_index("construct")["ave"])
    # under WLSMV the HTMT of the polychoric correlations the CFA was fitted to (semTools' htmt(ordered =))
    ht = htmt_from_corr(cfa.sample_cov, ibc) if cfa.method == "WLSMV" else htmt(items, ibc, missing=missing)
    checks = measurement_checks(reliability, fl, ht, cfa.fit, cfa.loadings, thresholds)
    extras = cfa_extras(cfa)  # issue 17: logl, AIC, BIC, RMSEA p-close, estimation; residuals, MIs
    return MeasurementOutputs(
        item_descriptives=item_descriptives(items, ibc, scale_points),
        reliability=reliability,
        fornell_larcker=fl,
        htmt=ht,
        loadings=with_estimator(cfa.loadings, cfa.method),
        cfa_fit={**cfa.fit, **extras.measures, "mardia": items_mardia(items, list(study.item_ids))},
        checks=check_summary(checks),
        syntax=cfa.syntax,
        **htmt_extras(items, ibc, ht, cfa.sample_cov if cfa.method == "WLSMV" else None, missing=missing,
                      n_boot=n_boot, boot_seed=boot_seed, chunk_size=chunk_size),
        cross_loadings=cross_loadings(items, ibc, missing=missing),
        item_vif=item_vif(items, ibc, missing=missing),
        residual_correlations=with_estimator(extras.residual_correlations, cfa.method),
        modindices=with_estimator(extras.modindices, cfa.method),
    )


def htmt_extras(
    items: pd.DataFrame, ibc: Mapping[str, list[str]], ht: pd.DataFrame, polychoric: pd.DataFrame | None, *,
    missing: str, n_boot: int, boot_seed: int, chunk_size: int,
) -> dict[str, pd.DataFrame]:
    """``htmt2`` (matrix) and ``htmt_intervals`` (one row per pair) next to the HTMT ``ht``.

    HTMT2 of the same correlations as ``ht`` (the ``polychoric`` matrix
    under WLSMV, else Pearson of the rows ``missing`` keeps). The intervals
    are percentile-bootstrap intervals over the structural bootstrap's
    resamples (:func:`~xhs_sharing.analysis.htmt.htmt_bootstrap`) for
    Pearson correlations of complete rows; under WLSMV (polychorics) or with
    missing answers they are left NaN and ``method`` says why.
    """
    if polychoric is not None:
        return dict(htmt2=htmt2_from_corr(polychoric, ibc),
                    htmt_intervals=htmt_long_table(ht, htmt2_from_corr(polychoric, ibc), None, n_boot=0,
                                                   method=HTMT_NOT_BOOTSTRAPPED["WLSMV"]))
    frame = items[[i for its in ibc.values() for i in its]]
    if missing == "listwise":
        frame = frame.dropna()
    h2 = htmt2_from_corr(frame.corr(method="pearson"), ibc)
    if frame.isna().to_numpy().any():
        return dict(htmt2=h2, htmt_intervals=htmt_long_table(ht, h2, None, n_boot=0,
                                                             method=HTMT_NOT_BOOTSTRAPPED["missing"]))
    ci = htmt_bootstrap(frame, ibc, n_boot=n_boot, seed=boot_seed, chunk_size=chunk_size)
    return dict(htmt2=h2, htmt_intervals=htmt_long_table(ht, h2, ci, n_boot=n_boot, method=HTMT_BOOTSTRAPPED))


HTMT_BOOTSTRAPPED: Final = "percentile bootstrap over the structural bootstrap's resamples"
"""``htmt_intervals.csv``'s ``method`` when the intervals were bootstrapped."""

HTMT_NOT_BOOTSTRAPPED: Final = {
    "WLSMV": "not bootstrapped: the ratios are of polychoric correlations (WLSMV)",
    "missing": "not bootstrapped: missing answers (pairwise-complete correlations)",
}
"""``method`` when the interval columns are left empty, and why."""
