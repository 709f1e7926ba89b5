"""The shell command that reproduces a run, as the report shows it.

Kept apart from :mod:`xhs_sharing.pipeline.provenance` on purpose: the
Snakefile imports it while it parses the workflow, so it imports nothing but
the standard library (the scientific stack would configure logging in the
Snakemake process, and every log line would appear twice).
"""

from __future__ import annotations

import shlex


def reproduce_command(data: str, missing: str) -> str:
    """The shell command that reproduces a run, every user-given value quoted (:func:`shlex.quote`).

    ``data`` is the survey file (empty for the synthetic survey). A file name
    such as ``x $(touch PWNED).csv`` is shown quoted, so pasting the command
    never runs it as shell code.
    """
    cmd = "pip install -e . && snakemake --cores 2"
    if data:
        cmd += " --config " + shlex.quote(f"data={data}") + " " + shlex.quote(f"missing={missing}")
    return cmd
