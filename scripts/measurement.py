"""Snakemake entry point: the measurement-validation stage."""

from xhs_sharing.data.survey import read_analysis_table
from xhs_sharing.io import run_step, write_csv, write_json, write_text
from xhs_sharing.pipeline.measurement import run_measurement
from xhs_sharing.results import check_document, check_table
from xhs_sharing.seeds import stream_seed
from xhs_sharing.study.spec import load_study


def main(logger):
    study = load_study(snakemake.input.study)  # noqa: F821 (provided by Snakemake)
    items = read_analysis_table(snakemake.input.table)  # noqa: F821
    logger.info("fitting the %d-construct CFA on %d respondents", len(study.constructs), len(items))
    missing = snakemake.params.missing  # noqa: F821
    n_incomplete = int(items.isna().any(axis=1).sum())
    if n_incomplete:
        logger.info("%d respondents have missing answers; missing = %s", n_incomplete, missing)
    out = run_measurement(items, study, snakemake.params.scale_points,  # noqa: F821
                          dict(snakemake.params.thresholds), missing=missing,  # noqa: F821
                          estimator=snakemake.params.estimator,  # noqa: F821
                          n_boot=snakemake.params.bootstrap, chunk_size=snakemake.params.chunk_size,  # noqa: F821
                          boot_seed=stream_seed(snakemake.params.seed, "bootstrap"))  # noqa: F821
    fit = out.cfa_fit
    logger.info("CFA (%s, missing answers: %s): chi2 = %.3f on %d df, CFI = %.3f, TLI = %.3f, RMSEA = %.3f, SRMR = %.3f",
                fit["estimator"], fit["missing"], fit["chi2"], fit["df"], fit["cfi"], fit["tli"], fit["rmsea"], fit["srmr"])
    logger.info("checks: %d passed, %d failed, %d warnings", out.checks["passed"],
                out.checks["failed"], out.checks["warnings"])
    o = snakemake.output  # noqa: F821
    write_csv(check_table("item_descriptives", out.item_descriptives), o.descriptives)
    write_csv(check_table("reliability", out.reliability), o.reliability)
    write_csv(check_table("fornell_larcker", out.fornell_larcker.rename_axis("construct")), o.fornell_larcker, index=True)
    write_csv(check_table("htmt", out.htmt.rename_axis("construct")), o.htmt, index=True)
    write_csv(check_table("loadings", out.loadings), o.loadings)
    write_json(check_document("cfa_fit", fit), o.fit)
    write_json(check_document("checks", out.checks), o.checks)
    write_text(out.syntax, o.syntax)
    write_csv(check_table("htmt2", out.htmt2.rename_axis("construct")), o.htmt2, index=True)
    write_csv(check_table("htmt_intervals", out.htmt_intervals), o.htmt_intervals)
    write_csv(check_table("cross_loadings", out.cross_loadings), o.cross_loadings)
    write_csv(check_table("item_vif", out.item_vif), o.item_vif)
    write_csv(check_table("cfa_residual_correlations", out.residual_correlations), o.residual_correlations)
    write_csv(check_table("cfa_modindices", out.modindices), o.modindices)


run_step(snakemake.log[0], main)  # noqa: F821
