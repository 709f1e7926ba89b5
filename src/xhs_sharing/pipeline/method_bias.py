"""The common-method-bias step of the workflow (``results/measurement/method_bias.{json,csv}``).

:func:`run_method_bias` fits the four ML models of
:func:`xhs_sharing.analysis.method_bias.fit_method_bias_models` (measurement
CFA, one-factor CFA, structural model, structural model with an unmeasured
latent method factor) and summarizes them
(:func:`~xhs_sharing.analysis.method_bias.method_bias_summary`);
``scripts/method_bias.py`` only reads the inputs and writes the outputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from xhs_sharing.analysis.method_bias import fit_method_bias_models, method_bias_summary
from xhs_sharing.analysis.structural import check_estimator, missing_label
from xhs_sharing.results import with_estimator
from xhs_sharing.study.spec import Study, config_defaults

logger = logging.getLogger(__name__)

__all__ = ["MethodBiasOutputs", "run_method_bias"]

_CONFIG: Final = config_defaults()

ESTIMATOR_NOTE: Final = (
    "the method-bias models are fitted by ML (FIML with missing answers) whatever the run's estimator, so the "
    "paths with and without the method factor are compared on one footing; the run's estimator is {estimator}"
)


@dataclass(frozen=True)
class MethodBiasOutputs:
    """``method_bias.json`` and ``method_bias.csv``."""

    document: dict[str, Any]
    paths: pd.DataFrame


def run_method_bias(
    items: pd.DataFrame,
    study: Study,
    *,
    seed: int,
    mc_draws: int = _CONFIG["structural"]["mc_draws"],
    missing: str = _CONFIG["data"]["missing"],
    estimator: str = _CONFIG["estimator"],
) -> MethodBiasOutputs:
    """Harman's test, the one-factor CFA and the method-factor model of ``study`` on ``items``.

    Parameters
    ----------
    items : pd.DataFrame
        The analysis table.
    study : Study
    seed : int
        Seed of the Monte Carlo intervals of the indirect-effect claims (the
        pipeline passes ``stream_seed(seed, "method_bias")``), the same in
        both models.
    mc_draws : int
        Monte Carlo draws (the config's ``structural.mc_draws``).
    missing : {"listwise", "fiml"}
    estimator : str
        The run's estimator; recorded, the models here are ML (FIML) fits
        (``note`` says so when it is not ML).

    Returns
    -------
    MethodBiasOutputs
        The document adds ``estimator`` (``"ML"``), ``missing`` and
        ``seed``, ``mc_draws``; the table ends with the column ``estimator``.
    """
    check_estimator(estimator)
    fits = fit_method_bias_models(items, study, missing=missing)
    doc, paths = method_bias_summary(items, study, fits, seed=seed, n_draws=mc_draws, missing=missing)
    doc.update(estimator="ML", missing=missing_label(fits.structural.estimator), seed=seed, mc_draws=mc_draws)
    if estimator != "ML":
        doc["note"] = ESTIMATOR_NOTE.format(estimator=estimator)
    return MethodBiasOutputs(doc, with_estimator(paths, "ML"))
