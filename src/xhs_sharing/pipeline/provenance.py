"""Provenance of a run, recorded in the report: seed, versions, step times, file hashes.

:func:`run_info` gathers what another person needs to check that a rerun is
the same run (the master seed, the Python and package versions, the command,
and the SHA-256 of every input and output file) and how long each workflow
step took (:func:`step_times`, from the TSV files of Snakemake's
``benchmark:`` directive).
"""

from __future__ import annotations

import csv
import logging
import platform
from pathlib import Path
from typing import Any

from xhs_sharing.io import sha256_file
from xhs_sharing.report.render import package_versions

logger = logging.getLogger(__name__)


def step_times(benchmark_files: list[str]) -> dict[str, float]:
    """Wall time (s) of every workflow step, from the TSV files of Snakemake's ``benchmark:`` directive.

    The step is the file's stem; a file with several rows (repeated
    benchmarks) gives the sum of their ``s`` column.
    """
    out: dict[str, float] = {}
    for path in benchmark_files:
        with open(path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if rows:
            out[Path(path).stem] = sum(float(r["s"]) for r in rows)
    return out


def run_info(
    *,
    seed: int,
    command: str,
    inputs: list[str],
    outputs: list[str],
    benchmark_files: list[str],
    finished: str,
) -> dict[str, Any]:
    """Provenance of a run: seed, Python and package versions, step times, file hashes, the command.

    Parameters
    ----------
    seed : int
        The master seed of the run (config ``synthetic.seed``).
    command : str
        The command line that ran the workflow.
    inputs, outputs : list of str
        Files whose SHA-256 is recorded.
    benchmark_files : list of str
        Snakemake benchmark TSV files, one per step.
    finished : str
        Time stamp of the end of the run.
    """
    times = step_times(benchmark_files)
    return {
        "seed": seed,
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {platform.system()} {platform.machine()})",
        "packages": package_versions(),
        "finished": finished,
        "run_time_s": round(sum(times.values()), 1),
        "step_times_s": {k: round(v, 2) for k, v in sorted(times.items())},
        "command": command,
        "inputs": {p: sha256_file(p) for p in inputs},
        "outputs": {p: sha256_file(p) for p in outputs},
    }

