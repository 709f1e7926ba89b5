"""Snakemake entry point: validate the study spec and record its population model."""

from xhs_sharing.io import run_step, write_json
from xhs_sharing.results import check_document
from xhs_sharing.study.population import population_summary
from xhs_sharing.study.spec import load_study


def main(logger):
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    summary = population_summary(study)
    logger.info("study spec %s is valid: %d constructs, %d items, %d paths, %d claims",
                snakemake.input.study, len(study.constructs), len(study.items),  # noqa: F821
                len(study.paths), len(study.claims))
    for c, r2 in summary["r2"].items():
        logger.info("population R2 of %s = %.3f", c, r2)
    write_json(check_document("population", summary), snakemake.output.population)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
