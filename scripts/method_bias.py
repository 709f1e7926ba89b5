"""Snakemake entry point: the common-method-bias checks (Harman, one-factor CFA, method factor)."""

from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.io import run_step, write_csv, write_json
from xhs_sharing.pipeline.method_bias import run_method_bias
from xhs_sharing.results import check_document, check_table
from xhs_sharing.seeds import stream_seed
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    study = load_study(sm.input.study)
    items = read_analysis_table(sm.input.table)
    logger.info("method-bias models (measurement CFA, one-factor CFA, structural model with and without a method "
                "factor) on %d respondents", len(items))
    out = run_method_bias(items, study, seed=stream_seed(sm.params.seed, "method_bias"),
                          mc_draws=sm.params.mc_draws, missing=sm.params.missing, estimator=sm.params.estimator)
    doc = out.document
    logger.info("Harman: first component %.1f%% of the variance; method factor: proper %s, %d claim(s) change",
                100 * doc["harman"]["first_share"], doc["method_factor"]["proper"], len(doc["claims_changed"]))
    write_json(check_document("method_bias", doc), sm.output.document)
    write_csv(check_table("method_bias_paths", out.paths), sm.output.paths)


if __name__ == "__main__":
    run_step(snakemake.log[0], main)  # noqa: F821
