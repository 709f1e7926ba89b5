"""Snakemake entry point: the measurement diagnostics, which gate the measurement and structural steps."""

from xhs_sharing.analysis.diagnostics import DiagnosticsStop, diagnose
from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.io import run_step, write_json
from xhs_sharing.results import check_document
from xhs_sharing.study.spec import load_study


def main(logger):
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    items = read_analysis_table(snakemake.input.table)  # noqa: F821
    out = diagnose(items, study, dict(snakemake.params.settings), missing=snakemake.params.missing)  # noqa: F821
    logger.info("diagnostics: %d respondents, %d free parameters; %d finding(s), verdict %s",
                out.n, out.n_parameters, len(out.findings), out.verdict)
    for finding in out.weakens:
        logger.warning("weakens the model: %s", finding.message)
    if out.stops:
        raise DiagnosticsStop(out.stop_message())
    write_json(check_document("diagnostics", out.document()), snakemake.output.diagnostics)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
