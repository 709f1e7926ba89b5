"""Results made stale by a new data stage, removed before the survey is checked.

When the data stage runs, the survey, the study spec or the data settings
have changed, and every result computed from the previous survey (the
measurement and structural results, the claims, the report, the strict
check) no longer matches it. They are removed *first*, by the data stage's
own job, so a run whose survey then fails its checks leaves no previous
report or claims beside it (issue 19 point 4): a results folder never mixes
two data sets. The job does it itself, not a Snakemake ``onerror`` handler,
so it happens wherever the job runs (a SLURM node shares the working
directory) and even when the run is killed afterwards.

Kept: the data stage's inputs (the population model, the synthetic survey
and its codebook, the observed survey's codebook), its own outputs (which
Snakemake replaces or removes) and the Monte Carlo study, which depends on
the study spec and the config only, never on the survey.
"""

from __future__ import annotations

import re
from pathlib import Path

from xhs_sharing.results import FILES, MONTECARLO_DIR

DATA_STAGE: tuple[str, ...] = (
    "population", "synthetic_survey", "synthetic_codebook", "codebook", "items", "source", "coverage", "careless",
)
"""Result keys written by the data stage or before it: never stale because of a new survey."""


def downstream_of_data() -> list[str]:
    """Paths of every result computed from the survey: the contract's files outside the data stage and the Monte Carlo study.

    New result files are downstream by default: a file added to the
    contract is removed with the others unless it is listed in :data:`DATA_STAGE`
    or lives under :data:`~xhs_sharing.results.MONTECARLO_DIR`.
    """
    return [f.path for f in FILES
            if f.key not in DATA_STAGE and not f.path.startswith(MONTECARLO_DIR + "/")]


def remove_downstream(root: str | Path = ".") -> list[str]:
    """Delete every existing file of :func:`downstream_of_data` under ``root``; return the paths removed."""
    removed = []
    for pattern in downstream_of_data():
        # a path with wildcards (one file per robustness specification) stands for every file it matches
        targets = sorted(Path(root).glob(re.sub(r"\{[^}]*\}", "*", pattern))) if "{" in pattern \
            else [Path(root) / pattern]
        for target in targets:
            if target.is_file() or target.is_symlink():
                target.unlink()
                removed.append(target.relative_to(root).as_posix())
    return removed
