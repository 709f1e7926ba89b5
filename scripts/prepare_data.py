"""Snakemake entry point: validate the survey against its codebook and write the analysis table."""

from xhs_sharing.data.careless import CarelessSettings
from xhs_sharing.data.stale import remove_downstream
from xhs_sharing.data.survey import load_survey, read_codebook
from xhs_sharing.io import run_step, write_csv, write_json
from xhs_sharing.results import check_document, check_table
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.syntax import n_free_parameters


def main(logger):
    # First, before the survey is checked: results of the previous survey must not outlive a failed data stage.
    if removed := remove_downstream():
        logger.info("removed %d result(s) of the previous run, stale once the data change: %s",
                    len(removed), ", ".join(removed))
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    book = read_codebook(snakemake.input.codebook)  # noqa: F821
    survey = load_survey(snakemake.input.survey, book, min_rows=n_free_parameters(study),  # noqa: F821
                         missing=snakemake.params.missing,  # noqa: F821
                         careless=CarelessSettings.from_config(snakemake.params.screen,  # noqa: F821
                                                               snakemake.params.careless))  # noqa: F821
    doc = {"kind": snakemake.params.kind, **survey.summary()}  # noqa: F821
    md = doc["missing_data"]
    logger.info("%s: %d rows in the file, %d respondents analysed, %d dropped (%d answered no item, %d flagged as "
                "careless, %d by listwise deletion); %d with a missing answer, %d missing-data pattern(s); sha256 %s",
                survey.path, doc["n_rows"], doc["n_analysed"], doc["dropped_rows"], doc["no_answer_rows"],
                doc["careless_rows"], doc["listwise_rows"], md["n_incomplete"], md["n_patterns"], survey.sha256)
    write_json(check_document("source", doc), snakemake.output.source)  # noqa: F821
    write_csv(check_table("careless", survey.careless_table), snakemake.output.careless, index=False)  # noqa: F821
    write_csv(check_table("coverage", survey.coverage.reset_index()), snakemake.output.coverage)  # noqa: F821
    table = survey.items.copy()
    table.insert(0, book["id_column"], survey.raw[book["id_column"]].to_numpy())
    write_csv(check_table("items", table), snakemake.output.table)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
