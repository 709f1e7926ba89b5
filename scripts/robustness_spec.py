"""Snakemake entry point: one specification of the robustness grid, every claim judged under it."""

from xhs_sharing.analysis.robustness import Specification
from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.io import run_step, write_json
from xhs_sharing.pipeline.robustness import run_specification
from xhs_sharing.results import check_document
from xhs_sharing.seeds import stream_seed
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    spec = Specification.from_name(sm.wildcards.spec)
    logger.info("specification %s: %s", spec.name, spec.describe())
    doc = run_specification(
        read_analysis_table(sm.input.table), load_study(sm.input.study), spec,
        boot_seed=stream_seed(sm.params.seed, "bootstrap"), mc_seed=stream_seed(sm.params.seed, "mc_intervals"),
        settings=sm.params.settings, intervals=sm.params.intervals, n_jobs=sm.threads,
    )
    if doc["status"] == "run":
        judged = sum(r["reproduced"] for r in doc["rows"])
        logger.info("%d respondents; %d of %d claim judgements reproduced", doc["n"], judged, len(doc["rows"]))
    else:
        logger.warning("specification %s %s: %s", spec.name, doc["status"].replace("_", " "), doc["reason"])
    write_json(check_document("robustness_spec", doc), sm.output.doc)


if __name__ == "__main__":
    run_step(snakemake.log[0], main)  # noqa: F821
