"""Benchmark: the default Monte Carlo study, batched, against one-by-one fits.

Run from the repository root (not a test; about 20 s):

    python benchmarks/montecarlo.py [--replications 500] [--loop 5] [--workers 2] [--profile]

With the settings of ``config/config.yaml`` (R = 500 replications at each of
n = 150, 250, 400, 600, 1000, chunks of ``montecarlo.chunk_size``,
``mc_draws`` Monte Carlo draws per replication) it prints

* the compute of the whole study with the batched path, as the chunk jobs do
  it (simulate, fit, Monte Carlo intervals, verdicts), once in one process
  (``--cores 1``) and once spread over ``--workers`` processes (the compute
  of ``snakemake --cores 2``, without Snakemake's per-job start-up): wall
  time, replications per second, converged / failed / refitted counts, and the
  time of the gather step;
* the sensitivity analysis of the null claims (its own job in the DAG);
* peak memory: the peak resident set of this process and of the workers;
* the one-by-one path on ``--loop`` replications: ``fit_structural`` (semopy's
  SLSQP start, Fisher scoring), Monte Carlo intervals with ``mediation.monte_carlo_indirect``
  and ``claims.evaluate_claims`` per replication, its time per replication,
  the ratio to the batched path, and whether the verdicts agree;
* the target (study compute <= 15 s on a 2-core machine) and whether it was met.

``--profile`` prints the top of a cProfile of one sample size.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from threadpoolctl import threadpool_limits

from xhs_sharing.analysis.montecarlo import (
    ReplicationModel,
    chunk_replications,
    claims_frame,
    gather_outputs,
    n_chunks,
    replication_seed,
    run_sensitivity,
)
from xhs_sharing.study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 15.0
MIB = 1024**2

_MODEL: ReplicationModel | None = None


def _quiet() -> None:
    logging.getLogger().setLevel(logging.ERROR)  # semopy warns through the root logger
    warnings.filterwarnings("ignore")


def _settings() -> tuple[dict, dict]:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    return cfg["montecarlo"], {**cfg["synthetic"], "scale_points": cfg["data"]["scale_points"]}


def _likert(syn: dict) -> dict:
    return {k: syn[k] for k in ("scale_points", "thresholds", "skew_shift")}


def _init_worker(likert: dict) -> None:
    global _MODEL
    _quiet()
    threadpool_limits(limits=1)
    _MODEL = ReplicationModel(load_study(ROOT / "config" / "study.yaml"), **likert)


def _chunk(job: tuple[int, int, int, int, int, int]) -> tuple[pd.DataFrame, float, int]:
    n, first, stop, seed, mc_draws, _ = job
    t0 = time.perf_counter()
    assert _MODEL is not None
    table = claims_frame(_MODEL.fit(n, range(first, stop), seed, mc_draws), _MODEL.study)
    return table, time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _jobs(mc: dict, syn: dict, replications: int) -> list[tuple[int, int, int, int, int, int]]:
    size = mc["chunk_size"]
    out = []
    for n in mc["sample_sizes"]:
        for c in range(n_chunks(replications, size)):
            reps = chunk_replications(c, size, replications)
            out.append((n, reps.start, reps.stop, syn["seed"], mc["mc_draws"], c))
    # the largest chunks first, as a scheduler that knows the costs would
    return sorted(out, key=lambda j: -j[0])


def _fits(tables: list[pd.DataFrame]) -> tuple[int, int, int]:
    per_rep = pd.concat(tables).drop_duplicates(["n", "replication"])
    return int(per_rep["converged"].sum()), int((~per_rep["converged"]).sum()), int(per_rep["refitted"].sum())


def one_by_one(study, mc: dict, syn: dict, loop: int, batched: pd.DataFrame) -> tuple[float, int, int]:
    """``fit_structural`` + Monte Carlo intervals + ``evaluate_claims`` per replication."""
    from xhs_sharing.analysis.claims import evaluate_claims
    from xhs_sharing.analysis.mediation import indirect_effects_table
    from xhs_sharing.analysis.structural import fit_structural
    from xhs_sharing.data.survey import analysis_frame
    from xhs_sharing.study.syntax import mediation_triples, structural_syntax
    from xhs_sharing.study.synthetic import codebook, simulate_survey

    syntax = structural_syntax(study)
    triples = mediation_triples(study)
    book = codebook(study, syn["scale_points"])
    sizes = mc["sample_sizes"]
    picks = [(sizes[k % len(sizes)], k) for k in range(loop)]  # replication k at the k-th size, cycling
    agree = total = 0
    t0 = time.perf_counter()
    for n, r in picks:
        ss = replication_seed(syn["seed"], n, r)
        data = analysis_frame(simulate_survey(study, n, ss, **_likert(syn)), book)
        fit = fit_structural(syntax, data, allow_improper=True)
        mc_seed = int(ss.spawn(1)[0].generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        table = indirect_effects_table(fit, triples, seed=mc_seed, n_draws=mc["mc_draws"])
        res = evaluate_claims(study.claims, fit.paths, table, interval="mc")
        ref = batched[(batched["n"] == n) & (batched["replication"] == r)]
        agree += int(sum(a.verdict == b for a, b in zip(res, ref["verdict"])))
        total += len(res)
    return (time.perf_counter() - t0) / max(loop, 1), agree, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replications", type=int, default=None, help="R per sample size (default: config.yaml)")
    ap.add_argument("--loop", type=int, default=5, help="replications fitted one by one with fit_structural")
    ap.add_argument("--workers", type=int, default=2, help="processes of the parallel run (snakemake --cores)")
    ap.add_argument("--profile", action="store_true", help="cProfile one sample size and print the top")
    args = ap.parse_args(argv)
    _quiet()
    threadpool_limits(limits=1)  # as run_step does in every Snakemake job

    mc, syn = _settings()
    R = args.replications or mc["replications"]
    study = load_study(ROOT / "config" / "study.yaml")
    jobs = _jobs(mc, syn, R)
    total = R * len(mc["sample_sizes"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"study: R = {R} x n = {mc['sample_sizes']} = {total} replications, {len(jobs)} chunks of "
          f"{mc['chunk_size']}, {mc['mc_draws']} MC draws each; BLAS 1 thread per process")

    # ---- batched, one process (as --cores 1)
    t0 = time.perf_counter()
    _init_worker(_likert(syn))
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = [_chunk(j) for j in jobs]
    t_one = time.perf_counter() - t0
    tables = [r[0] for r in results]
    conv, failed, refit = _fits(tables)
    per_n = {}
    for (n, *_), (_, dt, _) in zip(jobs, results):
        per_n[n] = per_n.get(n, 0.0) + dt
    print("\nbatched path, one process")
    print(f"  model set-up (semopy parse, population start): {t_model:.3f} s")
    print(f"  compute: {t_one:.2f} s wall, {total / t_one:.0f} replications/s "
          f"({1000 * t_one / total:.2f} ms per replication incl. {mc['mc_draws']} MC draws)")
    print("  by n: " + ", ".join(f"n={n}: {dt:.2f} s" for n, dt in sorted(per_n.items())))
    print(f"  fits: {conv} converged, {failed} failed, {refit} refitted one by one")
    t0 = time.perf_counter()
    out = gather_outputs(tables, study, sample_sizes=mc["sample_sizes"], replications=R)
    t_gather = time.perf_counter() - t0
    print(f"  gather (tables, Wilson intervals, power.json): {t_gather:.2f} s")
    print(f"  joint_80 = {out.power['joint_80']}, joint_95 = {out.power['joint_95']}")
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # ---- batched, worker processes (the compute of snakemake --cores N)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers, initializer=_init_worker,
                             initargs=(_likert(syn),)) as pool:
        par = list(pool.map(_chunk, jobs))
    t_par = time.perf_counter() - t0
    same = all(a[0].equals(b[0]) for a, b in zip(results, par))
    rss_workers = max(r[2] for r in par) / 1024
    print(f"\nbatched path, {args.workers} worker processes (start-up and imports included)")
    print(f"  compute: {t_par:.2f} s wall, {total / t_par:.0f} replications/s; same rows as one process: {same}")

    # ---- sensitivity
    sens = mc["sensitivity"]
    t0 = time.perf_counter()
    st = run_sensitivity(study, n=syn["n"], effects=sens["effects"], replications=sens["replications"],
                         master_seed=syn["seed"], mc_draws=mc["mc_draws"], **_likert(syn))
    t_sens = time.perf_counter() - t0
    n_sens = len(sens["effects"]) * st["path"].nunique() * sens["replications"]
    print(f"\nsensitivity: {len(sens['effects'])} effects x {st['path'].nunique()} null paths x "
          f"{sens['replications']} replications at n = {syn['n']} = {n_sens} fits: {t_sens:.2f} s (one process)")

    print("\npeak memory (max resident set)")
    print(f"  this process: {rss_self:.0f} MiB; largest worker: {rss_workers:.0f} MiB")

    # ---- one by one
    batched = pd.concat(tables)
    t_loop, agree, n_claims = one_by_one(study, mc, syn, args.loop, batched)
    per_batched = t_one / total
    print(f"\none by one (fit_structural + monte_carlo_indirect + evaluate_claims), {args.loop} replications")
    print(f"  {t_loop:.2f} s per replication vs {1000 * per_batched:.2f} ms batched: "
          f"{t_loop / per_batched:.0f}x; the study one by one would take ~{t_loop * total / 60:.0f} min on one core")
    print(f"  verdicts agree with the batched path on {agree} of {n_claims} claims "
          "(the Monte Carlo draws differ, so a bound near zero may flip)")

    print("\ntarget")
    ok = t_par <= TARGET_S
    print(f"  study compute <= {TARGET_S:.0f} s on {args.workers} processes: {t_par:.2f} s -> {'met' if ok else 'NOT met'}"
          f" (one process: {t_one:.2f} s; + sensitivity {t_sens:.2f} s)")

    if args.profile:
        import cProfile
        import pstats

        n = mc["sample_sizes"][len(mc["sample_sizes"]) // 2]
        prof = cProfile.Profile()
        prof.enable()
        claims_frame(_MODEL.fit(n, range(R), syn["seed"], mc["mc_draws"]), study)
        prof.disable()
        print(f"\nprofile of n = {n}, {R} replications")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
