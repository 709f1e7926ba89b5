"""The shell command that reproduces a run, as the report shows it.

Kept apart from :mod:`xhs_sharing.pipeline.provenance` on purpose: the
Snakefile imports it while it parses the workflow, so it imports nothing but
the standard library (the scientific stack would configure logging in the
Snakemake process, and every log line would appear twice).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

PREFIX = "pip install -e . && snakemake --cores 2"
"""Installs the package and runs the default target; the run's config files and overrides follow."""

_PLAIN = re.compile(r"[A-Za-z0-9_./+-]+")
_NUMBER_LIKE = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|true|false|yes|no|on|off|null|~", re.IGNORECASE)


def _flow(value: Any) -> str:
    """``value`` in YAML flow style, as Snakemake's ``--config`` parser reads a nested value back.

    Strings that YAML would read as something else, or that hold a flow
    indicator (``,:{}[]``, spaces, quotes), are written as JSON strings, which
    are YAML double-quoted scalars.
    """
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and not _NUMBER_LIKE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def config_argument(key: str, value: Any) -> str:
    """One ``--config`` word, ``key=value``, that Snakemake parses back to ``value``.

    A top-level string is written as it is (Snakemake strips quotes around
    it); a mapping or list in YAML flow style (:func:`_flow`); ``None`` as
    ``key=`` (Snakemake reads an empty value as ``None``).

    Examples
    --------
    >>> config_argument("data", {"path": "my survey.csv", "scale_points": 6})
    'data={path: "my survey.csv", scale_points: 6}'
    """
    if value is None:
        return f"{key}="
    if isinstance(value, str):
        return f"{key}={value}"
    return f"{key}={_flow(value)}"


def reproduce_command(configfiles: Sequence[str] = (), overrides: Mapping[str, Any] | None = None) -> str:
    """The shell command that reproduces a run, every user-given word quoted (:func:`shlex.quote`).

    Parameters
    ----------
    configfiles : sequence of str
        The ``--configfile`` files of the run, in order (the Snakefile's own
        ``config/config.yaml`` is read anyway and is not repeated).
    overrides : mapping
        The run's ``--config`` values as Snakemake parsed them, in order.

    Returns
    -------
    str
        ``pip install -e . && snakemake --cores 2 [--configfile F ...] [--config K=V ...]``.
        A file name such as ``x $(touch PWNED).csv`` is shown quoted, so pasting
        the command never runs it as shell code.

    Examples
    --------
    >>> reproduce_command(["my run.yaml"], {"data": "s.csv", "synthetic": {"n": 300}})
    "pip install -e . && snakemake --cores 2 --configfile 'my run.yaml' --config data=s.csv 'synthetic={n: 300}'"
    """
    cmd = PREFIX
    if configfiles:
        cmd += " --configfile " + " ".join(shlex.quote(str(f)) for f in configfiles)
    if overrides:
        cmd += " --config " + " ".join(shlex.quote(config_argument(k, v)) for k, v in overrides.items())
    return cmd
