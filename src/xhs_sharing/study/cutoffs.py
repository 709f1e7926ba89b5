"""The cut-offs of the measurement checks and their sources, read from the config schema.

``xhs_sharing/schemas/config.schema.yaml`` is the only copy of them: the
default of each ``measurement.thresholds`` property is the cut-off a run
uses unless ``config.yaml`` overrides it, and its ``x-reference`` names the
source of the convention (Hu & Bentler 1999 and so on). The checks without a
configurable cut-off (Fornell-Larcker, residual variances) and the
chi-square/df cut-off the report shows beside the fit indices are described
under ``$defs/measurement_conventions`` of the same file.

:func:`xhs_sharing.analysis.measurement.measurement_checks` fills the
thresholds it is not given from :func:`default_thresholds` and records every
cut-off with its reference in ``checks.json``; the report reads them there.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from xhs_sharing.study.spec import load_schema

CONFIG_SCHEMA = "config.schema.yaml"


class Cutoff(NamedTuple):
    """A cut-off as a check or the report applies it: ``value comparison threshold``."""

    comparison: str
    threshold: float
    reference: str


@functools.cache
def _schema() -> dict[str, Any]:
    return load_schema(CONFIG_SCHEMA)


def _threshold_properties() -> dict[str, Any]:
    return _schema()["properties"]["measurement"]["properties"]["thresholds"]["properties"]


def _conventions() -> dict[str, Any]:
    return _schema()["$defs"]["measurement_conventions"]["properties"]


def default_thresholds() -> dict[str, float]:
    """Threshold name -> its default cut-off (the schema's ``default``), a fresh dict.

    >>> default_thresholds()["std_loading"], default_thresholds()["htmt"]
    (0.5, 0.85)
    """
    return {key: float(prop["default"]) for key, prop in _threshold_properties().items()}


def references() -> dict[str, str]:
    """Check name -> the source of its convention (``x-reference``), for every threshold and convention.

    >>> references()["rmsea"]
    'Hu & Bentler (1999), Struct. Equ. Modeling 6:1-55'
    """
    props = {**_threshold_properties(), **_conventions()}
    return {key: str(prop["x-reference"]) for key, prop in props.items()}


def chi2_df_cutoff() -> Cutoff:
    """The chi-square/df cut-off the report shows beside the fit indices (no check applies it).

    The ratio cut-off is Carmines & McIver's (1981, p. 80: "ratios in the range of 2 to 1 or 3 to 1 are
    indicative of an acceptable fit"); Kline (2016), once credited here, argues against the index.

    >>> chi2_df_cutoff()  # doctest: +NORMALIZE_WHITESPACE
    Cutoff(comparison='le', threshold=3.0,
           reference='Carmines & McIver (1981), in Bohrnstedt & Borgatta (eds.), Social Measurement: Current Issues, p. 80')
    """
    prop = _conventions()["chi2_df"]
    return Cutoff(str(prop["x-comparison"]), float(prop["default"]), str(prop["x-reference"]))
