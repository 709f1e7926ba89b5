"""Snakemake entry point: draw the synthetic survey and write it with its codebook."""

from xhs_sharing.io import run_step, write_csv, write_json
from xhs_sharing.results import check_document, check_table
from xhs_sharing.seeds import stream
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.synthetic import codebook, simulate_survey


def main(logger):
    cfg = snakemake.params.synthetic  # noqa: F821 (provided by Snakemake)
    k = snakemake.params.scale_points  # noqa: F821 (the survey's scale, config data.scale_points)
    study = load_study(snakemake.input.study)  # noqa: F821
    survey = simulate_survey(
        study,
        n=cfg["n"],
        seed=stream(cfg["seed"], "synthetic"),
        scale_points=k,
        thresholds=cfg["thresholds"],
        skew_shift=cfg["skew_shift"],
    )
    logger.info("drew %d respondents x %d items (seed %d, %d-point scale, %s thresholds)",
                len(survey), survey.shape[1] - 1, cfg["seed"], k, cfg["thresholds"])
    write_csv(check_table("synthetic_survey", survey), snakemake.output.survey)  # noqa: F821
    write_json(check_document("synthetic_codebook", codebook(study, k)), snakemake.output.codebook)  # noqa: F821


run_step(snakemake.log[0], main)  # noqa: F821
