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
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

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
from xhs_sharing.results import with_estimator
from xhs_sharing.study.spec import Study, config_defaults

logger = logging.getLogger(__name__)

__all__ = ["MeasurementOutputs", "check_summary", "run_measurement"]

_CONFIG: Final = config_defaults()


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
    return MeasurementOutputs(
        item_descriptives=item_descriptives(items, ibc, scale_points),
        reliability=reliability,
        fornell_larcker=fl,
        htmt=ht,
        loadings=with_estimator(cfa.loadings, cfa.method),
        cfa_fit=cfa.fit,
        checks=check_summary(checks),
        syntax=cfa.syntax,
    )
