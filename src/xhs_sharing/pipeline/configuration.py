"""The run configuration as the user types it: text from ``--config`` coerced, ``data=path`` expanded.

Snakemake reads ``--config`` values with YAML's base loader, so the numbers
and booleans of a nested value arrive as text (``--config 'synthetic={n: 300}'``
gives ``{"n": "300"}``), and a plain ``--config data=survey.csv`` replaces the
whole ``data`` block of the config file by a string. The Snakefile calls
:func:`data_block` and :func:`coerce_config` before validating the config
against its JSON Schema, so both forms mean what the user meant.

Imported by the Snakefile while it parses the workflow: standard library only
(see :mod:`xhs_sharing.pipeline.command`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from xhs_sharing.errors import SpecError

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def data_block(layers: Sequence[Any]) -> dict[str, Any]:
    """The ``data`` block of the run: the ``data`` values of every config source, merged in order.

    Parameters
    ----------
    layers : sequence
        The ``data`` value of each source in the order Snakemake merges them
        (the Snakefile's config file, each ``--configfile``, ``--config``);
        ``None`` where a source does not set it.

    Returns
    -------
    dict
        Later keys win; a string ``s`` stands for ``{"path": s}``, so
        ``--config data=survey.csv`` changes the path and keeps the other keys.
        A nested block (``careless``) is merged the same way, key by key.

    Examples
    --------
    >>> data_block([{"path": "", "scale_points": 6}, None, "survey.csv"])
    {'path': 'survey.csv', 'scale_points': 6}
    >>> data_block([{"careless": {"irv": 0.5}}, {"careless": {"warn_share": 0.2}}])
    {'careless': {'irv': 0.5, 'warn_share': 0.2}}
    """
    out: dict[str, Any] = {}
    for layer in layers:
        if layer is None:
            continue
        if isinstance(layer, str):
            layer = {"path": layer}
        if not isinstance(layer, Mapping):
            raise SpecError(f"config key data: expected a file path or a mapping {{path, scale_points, missing}}, "
                            f"got {layer!r}")
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                value = {**out[key], **value}
            out[key] = value
    return out


def _coerce_scalar(value: str, kind: str, where: str) -> Any:
    """``value`` (text) as a JSON Schema ``integer``, ``number`` or ``boolean``."""
    text = value.strip()
    if kind == "boolean" and text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    try:
        number = float(text)
        if kind == "number":
            return number
        if kind == "integer" and number == int(number):
            return int(number)
    except (ValueError, OverflowError):
        pass
    raise SpecError(f"config key {where}: expected {'an' if kind == 'integer' else 'a'} {kind}, got {value!r}")


def coerce_config(value: Any, schema: Mapping[str, Any], where: str = "") -> Any:
    """A copy of ``value`` with every text where ``schema`` wants a number or boolean converted.

    Walks objects (``properties``) and arrays (``items``) of the JSON Schema;
    a string whose schema ``type`` is ``integer``, ``number`` or ``boolean``
    becomes one (``"6"`` -> 6, ``"0.08"`` -> 0.08, ``"true"`` -> True).
    Anything else is left for the schema validation to judge.

    Raises
    ------
    SpecError
        A text that cannot be read as the type its key needs, naming the key
        (``data.scale_points``) and the type.

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"synthetic": {"type": "object",
    ...           "properties": {"n": {"type": "integer"}}}}}
    >>> coerce_config({"synthetic": {"n": "300"}}, schema)
    {'synthetic': {'n': 300}}
    """
    kind = schema.get("type")
    if isinstance(value, str) and kind in ("integer", "number", "boolean"):
        return _coerce_scalar(value, kind, where or "(top level)")
    if isinstance(value, Mapping):
        props = schema.get("properties", {})
        return {k: coerce_config(v, props[k], f"{where}.{k}" if where else str(k)) if k in props else copy.deepcopy(v)
                for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [coerce_config(v, schema["items"], f"{where}[{i}]") for i, v in enumerate(value)]
    return copy.deepcopy(value)


PLS_ESTIMATORS = ("PLS", "PLSc")
"""Estimators fitted by partial least squares (as :data:`xhs_sharing.analysis.structural.PLS_ESTIMATORS`)."""


def check_cross_fields(config: Mapping[str, Any], source: str = "the config") -> None:
    """Raise :class:`SpecError` for settings that validate one by one but not together.

    PLS and PLSc work on the item correlations of complete answers: they
    have no likelihood, so ``data.missing: fiml`` cannot go with them.
    Called by the Snakefile after the schema validation, before any job.

    >>> check_cross_fields({"estimator": "PLSc", "data": {"missing": "listwise"}})
    >>> check_cross_fields({"estimator": "PLSc", "data": {"missing": "fiml"}})
    Traceback (most recent call last):
    ...
    xhs_sharing.errors.SpecError: the config: estimator PLSc cannot go with data.missing fiml: PLS has no likelihood, so no full-information ML; set data.missing: listwise (respondents with a missing answer are then dropped and counted) or choose estimator ML or MLR for FIML
    """
    estimator = str(config.get("estimator", ""))
    missing = str((config.get("data") or {}).get("missing", ""))
    if estimator in PLS_ESTIMATORS and missing == "fiml":
        raise SpecError(f"{source}: estimator {estimator} cannot go with data.missing fiml: PLS has no likelihood, "
                        "so no full-information ML; set data.missing: listwise (respondents with a missing answer "
                        "are then dropped and counted) or choose estimator ML or MLR for FIML")
