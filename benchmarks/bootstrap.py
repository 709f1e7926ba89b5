"""Benchmark: bootstrap refits of the default model, semopy one by one vs batched.

Run from the repository root (not a test; takes ~30 s):

    python benchmarks/bootstrap.py [--resamples 5000] [--loop 50] [--chunk-size 128] [--threads 2]

For the default study model on a synthetic survey of N = 500 it prints

* the one-by-one semopy loop, the reference (semopy is used here only): resamples per second over ``--loop``
  resamples, twice: the naive loop (a fresh ``semopy.Model(syntax).fit`` of
  each resampled data frame, semopy's defaults) and a warm-started loop (one
  model refitted to each resample's covariance matrix from the full-sample
  estimates);
* the package's own one-by-one loop (``solve_ml`` per resample covariance,
  the ``one-by-one`` engine's solver) on the same resamples;
* the batched estimator (:mod:`xhs_sharing.sem.batched`) on ``--resamples``
  resamples: wall and CPU time of the whole job (counts, covariances, fits,
  one-by-one refits), resamples per second, converged / improper / failed /
  refitted counts and Fisher-scoring iterations;
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

from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.sem.batched import BatchedModel
from xhs_sharing.sem.estimation import solve_ml
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


def semopy_loops(syntax: str, data: pd.DataFrame, covs: np.ndarray, start: np.ndarray,
                 observed: tuple[str, ...]) -> tuple[float, float]:
    """Resamples per second of the naive and the warm-started semopy loops (the reference)."""
    n_loop = len(covs)
    counts = bootstrap_counts(N, n_loop, np.random.default_rng(np.random.SeedSequence(SEED)))
    t0 = time.perf_counter()
    for b in range(n_loop):
        rows = np.repeat(np.arange(N), counts[b])
        semopy.Model(syntax).fit(data.iloc[rows].reset_index(drop=True))
    t_naive = time.perf_counter() - t0
    obs = list(observed)
    warm = semopy.Model(syntax)
    warm.load(data)
    t0 = time.perf_counter()
    for b in range(n_loop):
        warm.param_vals = start.copy()
        warm.fit(cov=pd.DataFrame(covs[b], index=obs, columns=obs), n_samples=N)
    t_warm = time.perf_counter() - t0
    print(f"\nsemopy one by one ({n_loop} resamples; the reference):")
    print(f"  naive loop (fresh Model(syntax).fit(resampled frame)): {t_naive:6.2f} s  "
          f"{n_loop / t_naive:7.1f} resamples/s")
    print(f"  warm loop (one model, fit(cov=S_b) from full-sample estimates): {t_warm:6.2f} s  "
          f"{n_loop / t_warm:7.1f} resamples/s")
    return n_loop / t_naive, n_loop / t_warm


def own_loop(bm: BatchedModel, covs: np.ndarray) -> float:
    """Resamples per second of the package's one-by-one Fisher scoring (``solve_ml``)."""
    t0 = time.perf_counter()
    for S in covs:
        solve_ml(bm.structure, S, bm.start)
    rate = len(covs) / (time.perf_counter() - t0)
    print(f"  package one by one (solve_ml from the full-sample estimates): {rate:7.1f} resamples/s")
    return rate


def batched_run(bm: BatchedModel, x: np.ndarray, counts: np.ndarray, chunk_size: int,
                threads: int | None) -> tuple[float, int]:
    """Time the batched job (covariances and fits); returns the wall time and the peak RSS."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    covs = resample_covariances(x, counts)
    fit = bm.fit_batch(covs, n=N, chunk_size=chunk_size, n_threads=threads)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    iters = np.bincount(fit.n_iter[~fit.refitted]) if (~fit.refitted).any() else np.array([])
    n_improper = int((fit.converged & ~fit.proper).sum())
    print(f"\nbatched ({len(counts)} resamples, chunk {chunk_size}, threads {threads or 'auto'}):")
    print(f"  wall {wall:.2f} s, CPU {cpu:.2f} s, {len(counts) / wall:.0f} resamples/s")
    print(f"  converged {fit.n_converged} (improper {n_improper}), failed {fit.n_failed}, "
          f"refitted one by one {fit.refit_count}")
    print(f"  Fisher-scoring steps: median {np.median(fit.n_iter):.0f}, max {fit.n_iter.max()}; "
          f"histogram {dict(enumerate(iters.tolist())) if iters.size else {}}")
    print(f"  max |gradient| at the solutions: {np.nanmax(fit.max_abs_grad):.2e} (tol 1e-6)")
    return wall, peak_rss


def traced_memory(bm: BatchedModel, x: np.ndarray, counts: np.ndarray, chunk_size: int,
                  threads: int | None) -> int:
    """Peak of Python/numpy allocations during a second, untimed batched run."""
    tracemalloc.start()
    bm.fit_batch(resample_covariances(x, counts), n=N, chunk_size=chunk_size, n_threads=threads)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def report_targets(wall: float, resamples: int, rate: float, rate_naive: float, rate_warm: float,
                   peak_rss: int) -> None:
    speed_naive, speed_warm = rate / rate_naive, rate / rate_warm
    print(f"\nspeed-up: {speed_naive:.0f}x the naive loop, {speed_warm:.0f}x the warm-started loop")
    wall_5000 = wall * 5000 / resamples
    print("\ntargets (2-core machine):")
    print(f"  5,000 resamples <= 4 s wall: {wall_5000:.2f} s{' (scaled)' if resamples != 5000 else ''} "
          f"-> {'met' if wall_5000 <= 4 else 'NOT met'}")
    verdict = ("met" if min(speed_naive, speed_warm) >= 50 else
               "met vs naive only" if speed_naive >= 50 else "NOT met")
    print(f"  >= 50x the one-by-one loop: {speed_naive:.0f}x naive, {speed_warm:.0f}x warm -> {verdict}")
    print(f"  peak memory < 2 GiB: {peak_rss / GIB:.2f} GiB -> {'met' if peak_rss < 2 * GIB else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resamples", type=int, default=5000)
    ap.add_argument("--loop", type=int, default=50, help="resamples timed in the one-by-one semopy loop")
    ap.add_argument("--chunk-size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None, help="threads of the batched fit (default: up to 2)")
    args = ap.parse_args(argv)
    _quiet_semopy()

    study = load_study(ROOT / "config" / "study.yaml")
    data = analysis_frame(simulate_survey(study, n=N, seed=SEED), codebook(study, 7))
    t0 = time.perf_counter()
    fit = fit_structural(structural_syntax(study), data)  # the main analysis's full-sample fit
    bm = BatchedModel.from_fit(fit)
    t_full = time.perf_counter() - t0
    x = data[list(bm.observed)].to_numpy(dtype=float)
    counts = bootstrap_counts(N, args.resamples, np.random.default_rng(np.random.SeedSequence(SEED)))
    print(f"python {platform.python_version()}, numpy {np.__version__}, semopy {semopy.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"model: {len(bm.observed)} items, {len(bm.inner)} latent/inner variables, {bm.q} free parameters; "
          f"N = {N}; full-sample fit {t_full:.2f} s")

    covs_loop = resample_covariances(x, counts[: min(args.loop, args.resamples)])
    rate_naive, rate_warm = semopy_loops(fit.syntax, data, covs_loop, bm.start, bm.observed)
    own_loop(bm, covs_loop)
    # one untimed call first (thread pool, first-touch allocations), as the
    # benchmark before the redesign had in its batched full-sample polish
    bm.fit_batch(covs_loop, n=N, chunk_size=args.chunk_size, n_threads=args.threads)
    wall, peak_rss = batched_run(bm, x, counts, args.chunk_size, args.threads)
    traced = traced_memory(bm, x, counts, args.chunk_size, args.threads)
    print(f"  peak memory: process RSS {peak_rss / GIB:.2f} GiB (whole process, incl. imports); "
          f"traced allocations of the batched job {traced / GIB:.3f} GiB")
    report_targets(wall, args.resamples, args.resamples / wall, rate_naive, rate_warm, peak_rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
