"""Snakemake entry point: the structural model and mediation stage."""

import json
from pathlib import Path

from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.io import run_step, write_csv, write_json, write_text
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.results import check_document, check_table
from xhs_sharing.seeds import stream_seed
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    cfg = sm.params.settings
    study = load_study(sm.input.study)
    items = read_analysis_table(sm.input.table)
    weakened = json.loads(Path(sm.input.diagnostics).read_text(encoding="utf-8"))["findings"]
    hint = "".join(f" Likely cause: {f['message']}." for f in weakened if f["severity"] == "weakens")
    logger.info("fitting the structural model on %d respondents; %d bootstrap resamples on %d thread(s)",
                len(items), cfg["bootstrap"], sm.threads)
    out = run_structural(
        items, study,
        n_boot=cfg["bootstrap"], boot_seed=stream_seed(sm.params.seed, "bootstrap"),
        mc_seed=stream_seed(sm.params.seed, "mc_intervals"), chunk_size=cfg["chunk_size"],
        mc_draws=cfg["mc_draws"], sesoi=cfg["sesoi"], n_jobs=sm.threads, engine=cfg["engine"],
        missing=sm.params.missing, estimator=sm.params.estimator,
        max_failure_rate=cfg["max_failure_rate"], hint=hint,
    )
    b = out.bootstrap
    logger.info("estimator %s (missing answers: %s); bootstrap (%s): %d requested, %d converged, %d failed",
                out.fit["estimator"], out.fit["missing"], b["engine"], b["requested"], b["converged"], b["failed"])
    if out.fit["proper"]:  # an improper one has been logged as a WARNING by run_structural
        logger.info("the structural solution is proper")
    o = sm.output
    write_text(out.syntax, o.syntax)
    write_csv(check_table("paths", out.paths), o.paths)
    write_csv(check_table("r2", out.r2), o.r2)
    write_json(check_document("fit", out.fit), o.fit)
    write_csv(check_table("indirect", out.indirect_effects), o.indirect)
    write_json(check_document("bootstrap", out.bootstrap), o.bootstrap)
    write_csv(check_table("equivalence", out.equivalence), o.equivalence)
    write_csv(check_table("std_paths", out.std_paths), o.std_paths)
    write_csv(check_table("latent_covariances", out.latent_covariances), o.latent_covariances)
    write_csv(check_table("r2_intervals", out.r2_intervals), o.r2_intervals)
    write_csv(check_table("f2", out.f2), o.f2)
    write_csv(check_table("sem_residual_correlations", out.residual_correlations), o.residual_correlations)
    write_csv(check_table("sem_modindices", out.modindices), o.modindices)
    write_csv(check_table("indirect_contrasts", out.indirect_contrasts), o.contrasts)
    for key, table in out.pls.items():  # the PLS tables: outputs of the rule only under PLS/PLSc
        write_csv(check_table(key, table), o[key])


if __name__ == "__main__":
    run_step(snakemake.log[0], main)  # noqa: F821
