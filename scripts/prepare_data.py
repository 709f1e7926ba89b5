"""Snakemake entry point: validate the survey against its codebook and write the analysis table."""

from xhs_sharing.data.survey import load_survey, read_codebook
from xhs_sharing.io import run_step, write_csv, write_json
from xhs_sharing.results import check_document, check_table
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.syntax import n_free_parameters


def main(logger):
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    book = read_codebook(snakemake.input.codebook)  # noqa: F821
    survey = load_survey(snakemake.input.survey, book, min_rows=n_free_parameters(study),  # noqa: F821
                         missing=snakemake.params.missing)  # noqa: F821
    logger.info("%s: %d rows, %d analysed (%s), sha256 %s", survey.path, survey.n_rows,
                len(survey.items), survey.missing, survey.sha256)
    table = survey.items.copy()
    table.insert(0, book["id_column"], survey.raw[book["id_column"]].to_numpy())
    write_json(check_document("source", {"kind": snakemake.params.kind, **survey.summary()}),  # noqa: F821
               snakemake.output.source)  # noqa: F821  # noqa: F821
    write_csv(check_table("items", table), snakemake.output.table)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
