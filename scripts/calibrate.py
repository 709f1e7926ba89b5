"""Snakemake entry point: validate the study spec and record its population model (or that it declares none)."""

from xhs_sharing.io import run_step, write_json
from xhs_sharing.results import check_document
from xhs_sharing.study.population import population_document
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.syntax import identification_notes


def main(logger):
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    doc = population_document(study)
    logger.info("study spec %s is valid: %d constructs, %d items, %d paths, %d claims",
                snakemake.input.study, len(study.constructs), len(study.items),  # noqa: F821
                len(study.paths), len(study.claims))
    for note in identification_notes(study):
        logger.warning("%s", note)
    if doc["declared"]:
        for c, r2 in doc["r2"].items():
            logger.info("population R2 of %s = %.3f", c, r2)
    else:
        logger.warning("%s (missing: %s); post-hoc power from the fitted model is not computed: it is a function "
                       "of the p-values (Hoenig & Heisey 2001)", doc["note"], doc["missing"])
    write_json(check_document("population", doc), snakemake.output.population)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
