"""Benchmark: bootstrap refits of the default model, semopy one by one vs batched.

Run from the repository root (not a test; takes ~30 s):

    python benchmarks/bootstrap.py [--resamples 5000] [--loop 50] [--chunk-size 128] [--threads 2]

For the default study model on a synthetic survey of N = 500 it prints

* the one-by-one semopy loop: resamples per second over ``--loop``
  resamples, twice: the naive loop (a fresh ``semopy.Model(syntax).fit`` of
  each resampled data frame, semopy's defaults) and a warm-started loop (one
  model refitted to each resample's covariance matrix from the full-sample
  estimates);
* the batched estimator (:mod:`xhs_sharing.sem.batched`) on ``--resamples``
  resamples: wall and CPU time of the whole job (counts, covariances, fits,
  semopy refits), resamples per second, converged / failed / refitted
  counts and Fisher-scoring iterations;
* the speed-up over both loops;
* peak memory: the process's peak resident set (getrusage) after the batched
  run, and the peak of memory allocated by Python and numpy during a second,
  untimed batched run traced with tracemalloc;
* the targets (<= 4 s wall for 5,000, >= 50x the loop, < 2 GiB) and whether
  this run met them.

The resampling counts come from the package's master seed (config.yaml);
the loop times its first ``--loop`` resamples.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import semopy

from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.resample import bootstrap_counts, resample_covariances
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.syntax import structural_syntax
from xhs_sharing.study.synthetic import codebook, simulate_survey

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261127  # config/config.yaml: synthetic.seed
N = 500
GIB = 1024**3


def _quiet_semopy() -> None:
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # semopy warns through the root logger
    warnings.filterwarnings("ignore")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resamples", type=int, default=5000)
    ap.add_argument("--loop", type=int, default=50, help="resamples timed in the one-by-one semopy loop")
    ap.add_argument("--chunk-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None, help="threads of the batched fit (default: up to 2)")
    args = ap.parse_args(argv)
    _quiet_semopy()

    study = load_study(ROOT / "config" / "study.yaml")
    syntax = structural_syntax(study)
    raw = simulate_survey(study, n=N, seed=SEED)
    data = analysis_frame(raw, codebook(study, 7))

    t0 = time.perf_counter()
    bm = BatchedModel.from_syntax(syntax, data)  # semopy full-sample fit, polished
    t_full = time.perf_counter() - t0
    x = bm.data_matrix(data)
    counts = bootstrap_counts(N, args.resamples, np.random.default_rng(np.random.SeedSequence(SEED)))

    print(f"python {platform.python_version()}, numpy {np.__version__}, semopy {semopy.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"model: {len(bm.observed)} items, {len(bm.inner)} latent/inner variables, {bm.q} free parameters; "
          f"N = {N}; full-sample fit {t_full:.2f} s")

    # ---- one by one with semopy
    n_loop = min(args.loop, args.resamples)
    t0 = time.perf_counter()
    for b in range(n_loop):
        rows = np.repeat(np.arange(N), counts[b])
        semopy.Model(syntax).fit(data.iloc[rows].reset_index(drop=True))
    t_naive = time.perf_counter() - t0
    covs_loop = resample_covariances(x, counts[:n_loop])
    obs = list(bm.observed)
    warm = semopy.Model(syntax)
    warm.load(data)
    t0 = time.perf_counter()
    for b in range(n_loop):
        warm.param_vals = bm.start.copy()
        warm.fit(cov=pd.DataFrame(covs_loop[b], index=obs, columns=obs), n_samples=N)
    t_warm = time.perf_counter() - t0
    rate_naive = n_loop / t_naive
    rate_warm = n_loop / t_warm
    print(f"\nsemopy one by one ({n_loop} resamples):")
    print(f"  naive loop (fresh Model(syntax).fit(resampled frame)): {t_naive:6.2f} s  {rate_naive:7.1f} resamples/s")
    print(f"  warm loop (one model, fit(cov=S_b) from full-sample estimates): {t_warm:6.2f} s  {rate_warm:7.1f} resamples/s")

    # ---- batched
    t0 = time.perf_counter()
    c0 = time.process_time()
    covs = resample_covariances(x, counts)
    fit = bm.fit_batch(covs, n=N, chunk_size=args.chunk_size, n_threads=args.threads)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    rate = args.resamples / wall
    iters = np.bincount(fit.n_iter[~fit.refitted]) if (~fit.refitted).any() else np.array([])
    print(f"\nbatched ({args.resamples} resamples, chunk {args.chunk_size}, threads {args.threads or 'auto'}):")
    print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s, {rate:.0f} resamples/s")
    print(f"  converged {fit.n_converged}, failed {fit.n_failed}, refitted with semopy {fit.refit_count}")
    print(f"  Fisher-scoring steps: median {np.median(fit.n_iter):.0f}, max {fit.n_iter.max()}; "
          f"histogram {dict(enumerate(iters.tolist())) if iters.size else {}}")
    print(f"  max |gradient| at the solutions: {np.nanmax(fit.max_abs_grad):.2e} (tol 1e-6)")

    # ---- memory of the batched job, traced (second, untimed run)
    tracemalloc.start()
    covs2 = resample_covariances(x, counts)
    bm.fit_batch(covs2, n=N, chunk_size=args.chunk_size, n_threads=args.threads)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del covs2
    print(f"  peak memory: process RSS {peak_rss / GIB:.2f} GiB (whole process, incl. imports); "
          f"traced allocations of the batched job {traced_peak / GIB:.3f} GiB")

    speed_naive = rate / rate_naive
    speed_warm = rate / rate_warm
    print(f"\nspeed-up: {speed_naive:.0f}x the naive loop, {speed_warm:.0f}x the warm-started loop")
    wall_5000 = wall * 5000 / args.resamples
    print("\ntargets (2-core machine):")
    print(f"  5,000 resamples <= 4 s wall: {wall_5000:.2f} s{' (scaled)' if args.resamples != 5000 else ''} "
          f"-> {'met' if wall_5000 <= 4 else 'NOT met'}")
    print(f"  >= 50x the one-by-one loop: {speed_naive:.0f}x naive, {speed_warm:.0f}x warm "
          f"-> {'met' if min(speed_naive, speed_warm) >= 50 else 'met vs naive only' if speed_naive >= 50 else 'NOT met'}")
    print(f"  peak memory < 2 GiB: {peak_rss / GIB:.2f} GiB -> {'met' if peak_rss < 2 * GIB else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
