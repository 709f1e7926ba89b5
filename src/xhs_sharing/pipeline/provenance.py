"""Provenance of a run, recorded in the report: seed, versions, step times, file hashes.

:func:`run_info` gathers what another person needs to check that a rerun is
the same run (the master seed, the Python and package versions, the command,
and the SHA-256 of every input and output file) and how long each workflow
step took (:func:`step_times`, from the TSV files of Snakemake's
``benchmark:`` directive).
"""

from __future__ import annotations

import csv
import datetime
import logging
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from xhs_sharing.io import sha256_file
from xhs_sharing.report.render import package_versions

logger = logging.getLogger(__name__)


TIME_FORMAT = "%Y-%m-%d %H:%M UTC"
"""How the report writes the start and end of a run."""


def _step_name(path: str) -> str:
    """``measurement`` for ``logs/benchmarks/measurement.tsv``, ``montecarlo/n150_c0`` one directory down."""
    p = Path(path)
    return p.stem if p.parent.name == "benchmarks" else f"{p.parent.name}/{p.stem}"


def _benchmark_rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def step_times(benchmark_files: list[str]) -> dict[str, float]:
    """Wall time (s) of every workflow job, from the TSV files of Snakemake's ``benchmark:`` directive.

    The job is the file's stem (``montecarlo/n150_c0`` for a file one
    directory below ``logs/benchmarks/``); a file with several rows (repeated
    benchmarks) gives the sum of their ``s`` column.
    """
    out: dict[str, float] = {}
    for path in benchmark_files:
        rows = _benchmark_rows(path)
        if rows:
            out[_step_name(path)] = sum(float(r["s"]) for r in rows)
    return out


def earliest_start(benchmark_files: list[str]) -> float | None:
    """When the first job of the run started (seconds since the epoch), or None without benchmarks.

    Snakemake writes a job's benchmark file when the job ends, so a job
    started at the file's modification time minus its wall time (the ``s``
    column); the run started at the earliest of these.
    """
    starts = [os.path.getmtime(path) - sum(float(r["s"]) for r in rows)
              for path in benchmark_files if (rows := _benchmark_rows(path))]
    return min(starts) if starts else None


def utc_stamp(epoch: float) -> str:
    """``2026-11-27 10:00 UTC`` for a time in seconds since the epoch."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime(TIME_FORMAT)


TIMING_NOTE = ("Run time is the sum of the wall times of the run's jobs (Snakemake benchmark files, the Monte Carlo "
               "jobs included; jobs that ran in parallel count in full). Started is the earliest start of those jobs: "
               "each job's benchmark file is written when it ends, so it started at the file's time minus its wall "
               "time.")
"""How the report's Started and Run time are defined."""


NOT_A_CHECKOUT = "not a git checkout (an installed copy of the package): no commit to report"
"""What :func:`git_commit` says when the package's source is not in a git working tree."""


def git_commit(where: Path | None = None) -> str:
    """The git commit of the package's source: ``<40-hex hash>``, plus `` (uncommitted changes)`` when the tree is dirty.

    Asks ``git`` in the directory of the package (``where``, default this
    file's); :data:`NOT_A_CHECKOUT` when that is not a git working tree or
    git is not installed.
    """
    cwd = Path(where) if where is not None else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=20)
        if head.returncode != 0:
            return NOT_A_CHECKOUT
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return NOT_A_CHECKOUT
    return head.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else "")


def run_info(
    *,
    seed: int,
    command: str,
    inputs: list[str],
    outputs: list[str],
    benchmark_files: list[str],
    finished: str,
) -> dict[str, Any]:
    """Provenance of a run: seed, Python and package versions, job times, file hashes, the command.

    Parameters
    ----------
    seed : int
        The master seed of the run (config ``synthetic.seed``).
    command : str
        The command line that reproduces the run.
    inputs, outputs : list of str
        Files whose SHA-256 is recorded (the inputs: the survey, the study
        spec and every config file of the run).
    benchmark_files : list of str
        Snakemake benchmark TSV files, one per job (Monte Carlo jobs included).
    finished : str
        Time stamp of the end of the run.

    Returns
    -------
    dict
        ``started`` (:func:`earliest_start`, or empty), ``finished``,
        ``run_time_s`` (sum of :func:`step_times`), ``timing_note``
        (:data:`TIMING_NOTE`) and the rest as named.
    """
    times = step_times(benchmark_files)
    start = earliest_start(benchmark_files)
    return {
        "seed": seed,
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {platform.system()} {platform.machine()})",
        "packages": package_versions(),
        "git_commit": git_commit(),
        "started": utc_stamp(start) if start is not None else "",
        "finished": finished,
        "run_time_s": round(sum(times.values()), 1),
        "step_times_s": {k: round(v, 2) for k, v in sorted(times.items())},
        "timing_note": TIMING_NOTE,
        "command": command,
        "inputs": {p: sha256_file(p) for p in dict.fromkeys(inputs)},
        "outputs": {p: sha256_file(p) for p in outputs},
    }
