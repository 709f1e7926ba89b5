"""Snakemake entry point: the codebook a user's own survey file is checked against."""

from xhs_sharing.io import run_step, write_json
from xhs_sharing.results import check_document
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.synthetic import codebook


def main(logger):
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    book = codebook(study, snakemake.params.scale_points)  # noqa: F821
    logger.info("codebook: %d items on a %d-point scale", len(book["items"]), book["scale_points"])
    write_json(check_document("codebook", book), snakemake.output.codebook)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
