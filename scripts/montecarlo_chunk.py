"""Snakemake entry point of the Monte Carlo study's simulation jobs.

* rule ``montecarlo_chunk``: one chunk of replications at one sample size
  (wildcards ``n``, ``chunk``) -> its per-replication claim table;
* rule ``montecarlo_sensitivity``: the detection rate of every null claim over
  the grid of population effects, at the default survey size.
"""

from xhs_sharing.analysis.montecarlo import run_chunk, run_sensitivity
from xhs_sharing.io import run_step, write_csv
from xhs_sharing.results import check_table
from xhs_sharing.study.spec import load_study


def chunk(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    study = load_study(sm.input.study)
    n = int(sm.wildcards.n)
    first, stop = sm.params.replications
    table = run_chunk(study, n, range(first, stop), master_seed=sm.params.seed, mc_draws=sm.params.mc_draws,
                      **sm.params.likert)
    per_rep = table.drop_duplicates("replication")
    logger.info("n=%d, replications %d-%d: %d converged, %d failed, %d refitted one by one",
                n, first, stop - 1, per_rep["converged"].sum(), (~per_rep["converged"]).sum(), per_rep["refitted"].sum())
    write_csv(check_table("montecarlo_chunk", table), sm.output.table)


def sensitivity(logger):
    sm = snakemake  # noqa: F821
    study = load_study(sm.input.study)
    table = run_sensitivity(study, n=sm.params.n, effects=sm.params.effects, replications=sm.params.replications,
                            master_seed=sm.params.seed, mc_draws=sm.params.mc_draws, **sm.params.likert)
    logger.info("sensitivity at n=%d: %d claims x %d effects, %d replications each",
                sm.params.n, table["claim_id"].nunique(), len(sm.params.effects), sm.params.replications)
    write_csv(check_table("sensitivity", table), sm.output.table)


run_step(snakemake.log[0], sensitivity if snakemake.rule == "montecarlo_sensitivity" else chunk)  # noqa: F821
