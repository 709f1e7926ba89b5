"""The whole study spec, checked while the workflow builds its DAG, before any job starts.

:func:`check_spec_for_run` runs every check a job would otherwise meet
later: the JSON Schema and the cross-field rules (:func:`~xhs_sharing.study.spec.load_study`),
population values given for all or none (and present when the run needs
them), and, when they are declared, the population model itself (exogenous
correlations that give a positive definite matrix, explained variance below
1: :func:`~xhs_sharing.study.population.structural_matrices`). Every error is
a :class:`~xhs_sharing.errors.SpecError` naming the spec file and the field.

Imported by ``workflow/rules/common.smk`` while Snakemake parses the
workflow: this module and everything it imports configure no logging.
"""

from __future__ import annotations

from pathlib import Path

from xhs_sharing.errors import SpecError
from xhs_sharing.study.population import structural_matrices
from xhs_sharing.study.spec import (
    PopulationStatus,
    Study,
    load_study,
    missing_population_message,
)


def check_spec_for_run(spec_file: str | Path, needed_by: str = "") -> tuple[Study, PopulationStatus]:
    """Validate the spec at ``spec_file`` completely, as the jobs of a run will use it.

    Parameters
    ----------
    spec_file : str or Path
        The study spec named by the config's ``study`` key.
    needed_by : str, optional
        What in this run needs population values (``"the synthetic survey"``
        for a run without a survey file); empty when nothing does.

    Returns
    -------
    (Study, PopulationStatus)
        The validated spec and which population values it declares.

    Raises
    ------
    SpecError
        Naming ``spec_file`` and the field at fault.
    """
    study = load_study(spec_file)  # schema, cross-field rules, population values all or none
    status = study.population
    if needed_by and not status.declared:
        raise SpecError(missing_population_message(str(spec_file), status, needed_by))
    if status.declared:
        structural_matrices(study)  # positive definite exogenous correlations, R-squared below 1
    return study, status
