"""Snakemake entry point: gather the Monte Carlo chunks into the study's tables and power.json."""

import pandas as pd

from xhs_sharing.analysis.montecarlo import gather_outputs
from xhs_sharing.io import run_step, write_csv, write_json
from xhs_sharing.results import check_document, check_table
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    study = load_study(sm.input.study)
    frames = [pd.read_csv(path, dtype={"claim_id": str}) for path in sm.input.chunks]
    sensitivity = pd.read_csv(sm.input.sensitivity, dtype={"claim_id": str})
    out = gather_outputs(frames, study, sample_sizes=sm.params.sample_sizes, replications=sm.params.replications,
                         sensitivity=sensitivity, settings=sm.params.settings)
    fits = out.power["fits"]
    logger.info("%d chunk tables, %d replications: %d converged, %d failed, %d refitted",
                len(frames), fits["replications"], fits["converged"], fits["failed"], fits["refitted"])
    for row in out.joint_reproduction.itertuples(index=False):
        logger.info("n = %d: every claim reproduced in %.3f of %d replications", row.n, row.joint_rate,
                    row.replications)
    logger.info("smallest n with a joint rate >= .80: %s; >= .95: %s", out.power["joint_80"], out.power["joint_95"])
    for claim, effect in out.power.get("min_detectable_80", {}).items():
        logger.info("claim %s: smallest effect detected in >= 80%% of replications: %s", claim, effect)
    write_csv(check_table("replications", out.replications), sm.output.replications)
    write_csv(check_table("claim_reproduction", out.claim_reproduction), sm.output.claim_reproduction)
    write_csv(check_table("joint_reproduction", out.joint_reproduction), sm.output.joint_reproduction)
    write_json(check_document("power", out.power), sm.output.power)


run_step(snakemake.log[0], main)  # noqa: F821
