"""Benchmark: the structural step's bootstrap, ML, FIML and WLSMV, before/after and side by side with lavaan.

Run from the repository root (not a test; a few minutes on 2 cores, most of
it lavaan):

    PYTHONPATH=src python benchmarks/bootstrap.py [--resamples 5000] [--rounds 3] [--lavaan-r 1000]
        [--fiml-resamples 500] [--fiml-loop 20] [--lavaan-fiml-r 40]
        [--wlsmv-resamples 1000] [--lavaan-wlsmv-r 40] [--no-lavaan]

Data: the default survey as analysed (tests/reference/data/default_items.csv,
the file the default run writes as results/data/items.csv; N = 500, 25
items) and the exported default model (tests/reference/data/structural_model.lav).
Everything below is measured in this one invocation, so the ratios compare
like with like on a shared machine:

* ML: the structural step's engine (:func:`~xhs_sharing.sem.bootstrap.bootstrap_refits`,
  chunks of 250, the package seed) with the batched chunk fitter as it is
  now (limited-memory BFGS on the full-sample information) in one process
  and on the structural step's two worker processes (forked,
  :func:`~xhs_sharing.sem.bootstrap.fast_start_method`: the setting the
  ratio to lavaan uses, as lavaan gets two cores), and with the solver of
  before issue 14 (Fisher scoring, information refreshed at each member's
  first iterate; on the current algebra of :mod:`xhs_sharing.sem.batched`,
  so this isolates the solver); ``--rounds`` runs of each, alternated, the
  median kept; wall and CPU time (workers included), resamples per second,
  the largest difference of the estimates, whether the statuses agree and
  whether two workers give the same bytes as one process; peak resident
  memory (``getrusage``: this process plus its largest worker, imports,
  data and all solvers included);
* FIML: the same survey with 10% of the answers removed completely at
  random (cells drawn without replacement from the package seed, so the data
  are the same every run): the one-by-one FIML refits (the path before this
  issue, :class:`~xhs_sharing.sem.bootstrap.FimlChunkFitter`) on the first
  ``--fiml-loop`` resamples in one process and on twice as many resamples
  on the structural step's two workers, and the batched ones
  (:class:`~xhs_sharing.sem.fiml_batched.BatchedFimlChunkFitter`,
  ``--fiml-resamples``, one thread per process) in one process and on the
  two workers; the first ``--fiml-loop`` resamples are the same draws in
  both one-process runs, and their estimates are compared. The target
  compares the two paths as the structural step runs them, both on two
  workers;
* WLSMV (issue 13): every item ordered, the batched bootstrap
  (:func:`~xhs_sharing.sem.wls.bootstrap_wlsmv`: thresholds, polychorics,
  weights and a DWLS refit of ``--wlsmv-resamples`` resamples);
* lavaan 0.6.x's ``bootstrapLavaan(fit, R, parallel = "multicore", ncpus = 2)``
  on the same data and model through Rscript (benchmarks/lavaan_bootstrap.R),
  R = 1000 for ML; for FIML R = 40 by default (lavaan takes about a second
  per FIML resample, and its per-resample time varies little between
  resamples, so 40 pin the mean to a few per cent), for WLSMV R = 40 (about
  0.6 s each); "lavaan not installed"
  when Rscript or lavaan is missing;
* the ratios ours/lavaan per resample (wall and CPU time) and the targets of
  issues 13 and 14.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.sem.batched import BatchedChunkFitter, BatchedModel
from xhs_sharing.sem.bootstrap import BootstrapRefits, FimlChunkFitter, bootstrap_refits, fast_start_method
from xhs_sharing.sem.fiml_batched import BatchedFimlChunkFitter
from xhs_sharing.sem.ordinal import ordinal_statistics, prepare_ordinal
from xhs_sharing.sem.resample import bootstrap_counts
from xhs_sharing.sem.wls import bootstrap_wlsmv, fit_wlsmv, ordinal_model

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ROOT / "tests" / "reference" / "data" / "default_items.csv"
MODEL = ROOT / "tests" / "reference" / "data" / "structural_model.lav"
R_SCRIPT = ROOT / "benchmarks" / "lavaan_bootstrap.R"
SEED = 20261127  # config/config.yaml: seed
CHUNK = 250  # config/config.yaml: structural.chunk_size
MISSING_SHARE = 0.10
WORKERS = 2  # workflow/rules/structural.smk: threads of the structural step
QUIET_LOAD = 0.5  # 1-minute load average before the runs below which the machine counts as quiet
GIB = 1024**3


def remove_mcar(items: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """``items`` with ``round(share * cells)`` answers set missing, cells drawn without replacement."""
    values = items.to_numpy(dtype=float).copy()
    cells = np.random.default_rng(seed).choice(values.size, size=round(share * values.size), replace=False)
    values.flat[cells] = np.nan
    return pd.DataFrame(values, columns=items.columns, index=items.index)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_bootstrap(fit, x: np.ndarray, fitter, n: int, n_jobs: int = 1,
                    chunk: int = CHUNK) -> tuple[BootstrapRefits, float, float]:
    """The structural step's engine on ``n`` resamples and ``n_jobs`` workers: ``(refits, wall s, CPU s)``.

    CPU time includes the workers' (they have ended when the call returns).
    """
    t0, c0 = time.perf_counter(), cpu_seconds()
    refits = bootstrap_refits(fit.structure, x, fit.theta, n_resamples=n, seed=SEED, chunk_size=chunk,
                              chunk_fitter=fitter, n_jobs=n_jobs, mp_context=fast_start_method())
    return refits, time.perf_counter() - t0, cpu_seconds() - c0


def compare(a: BootstrapRefits, b: BootstrapRefits, n: int) -> str:
    """Largest difference of the estimates of the first ``n`` resamples and whether the statuses agree."""
    both = a.converged[:n] & b.converged[:n]
    diff = np.abs(a.thetas[:n][both] - b.thetas[:n][both]).max() if both.any() else float("nan")
    same = list(a.status[:n]) == list(b.status[:n])
    return f"max |difference| {diff:.1e} over {int(both.sum())} resamples, statuses {'equal' if same else 'DIFFER'}"


def ml_section(items: pd.DataFrame, syntax: str, n: int, rounds: int) -> tuple[float, float, float]:
    """The batched ML bootstrap: before/after issue 14, in one process and on the step's two workers.

    Each setting runs ``rounds`` times, alternated; the median wall time is
    kept. Returns the structural step's setting (two forked workers): median
    wall and CPU seconds, and the peak memory (this process plus its largest
    worker).
    """
    fit = fit_structural(syntax, items)
    x = items[list(fit.structure.observed)].to_numpy(dtype=float)
    model = BatchedModel.from_fit(fit)
    settings = {"Fisher scoring (the solver before issue 14), 1 process": (BatchedChunkFitter(model, memory=0,
                                                                                              info_refresh=2), 1),
                "L-BFGS on the full-sample information, 1 process": (BatchedChunkFitter(model), 1),
                f"the same, {WORKERS} forked workers (the structural step)": (BatchedChunkFitter(model), WORKERS)}
    for f, _ in settings.values():  # warm-up: first-touch allocations
        timed_bootstrap(fit, x, f, CHUNK)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
    runs: dict[str, BootstrapRefits] = {}
    for _ in range(rounds):
        for name, (f, jobs) in settings.items():
            refits, wall, cpu = timed_bootstrap(fit, x, f, n, jobs)
            runs[name] = refits
            times[name].append((wall, cpu))
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
    print(f"\nML bootstrap, {n} resamples, the structural step's engine (chunks of {CHUNK}); "
          f"median of {rounds} runs each (min-max):")
    med: dict[str, tuple[float, float]] = {}
    for name, tt in times.items():
        walls = sorted(w for w, _ in tt)
        med[name] = (float(np.median(walls)), float(np.median([c for _, c in tt])))
        r = runs[name]
        print(f"  {name:58s} {med[name][0]:5.2f} s wall ({walls[0]:.2f}-{walls[-1]:.2f}) {med[name][1]:5.2f} s CPU"
              f"  {n / med[name][0]:6.0f} resamples/s  converged {int(r.converged.sum())}, failures {r.failures or 0}")
    (before, one, two) = runs.values()
    (w_before, _), (w_one, _), (w_two, c_two) = med.values()
    print(f"  L-BFGS vs Fisher scoring, 1 process: {w_before / w_one:.2f}x wall; {compare(one, before, n)}")
    print(f"  {WORKERS} workers vs 1 process: {w_one / w_two:.2f}x wall; identical bytes: "
          f"{one.thetas.tobytes() == two.thetas.tobytes() and list(one.status) == list(two.status)}")
    print(f"  peak memory (RSS of this process + its largest worker, incl. imports and all solvers): {peak / GIB:.2f} GiB")
    return w_two, c_two, peak


def fiml_section(items_missing: pd.DataFrame, syntax: str, n: int, n_loop: int) -> tuple[float, float, float, float]:
    """One-by-one vs batched FIML bootstrap, in one process and on the structural step's workers.

    Returns seconds per resample: one by one and batched on the step's
    workers (wall; the comparison of the target), batched on the workers
    (CPU), and batched in one process (wall).
    """
    t0 = time.perf_counter()
    fit = fit_structural(syntax, items_missing, missing="fiml")
    x = items_missing[list(fit.structure.observed)].to_numpy(dtype=float)
    print(f"\nFIML bootstrap: {MISSING_SHARE:.0%} of the answers removed MCAR, {fit.n_patterns} missing-data "
          f"patterns; full-sample FIML fit {time.perf_counter() - t0:.1f} s")
    one, w_one, c_one = timed_bootstrap(fit, x, FimlChunkFitter.from_fit(fit), n_loop)
    _, w_one2, c_one2 = timed_bootstrap(fit, x, FimlChunkFitter.from_fit(fit), 2 * n_loop, WORKERS,
                                        chunk=max(1, n_loop // 2))
    batched, w_b, c_b = timed_bootstrap(fit, x, BatchedFimlChunkFitter.from_fit(fit, n_threads=1), n)
    two, w_2, c_2 = timed_bootstrap(fit, x, BatchedFimlChunkFitter.from_fit(fit, n_threads=1), n, WORKERS)
    rows = [(f"one by one, 1 process ({n_loop} resamples)", w_one / n_loop, c_one / n_loop),
            (f"one by one, {WORKERS} forked workers ({2 * n_loop} resamples; the path before issue 14)",
             w_one2 / (2 * n_loop), c_one2 / (2 * n_loop)),
            (f"batched, 1 process, 1 thread ({n} resamples)", w_b / n, c_b / n),
            (f"batched, {WORKERS} forked workers, 1 thread each ({n} resamples; the structural step)", w_2 / n, c_2 / n)]
    for label, wall, cpu in rows:
        print(f"  {label:80s} {wall * 1e3:6.1f} ms wall {cpu * 1e3:6.1f} ms CPU per resample")
    print(f"  batched: converged {int(two.converged.sum())}, failures {two.failures or 0}; identical bytes on "
          f"{WORKERS} workers and in 1 process: {batched.thetas.tobytes() == two.thetas.tobytes()}")
    print(f"  batched vs one by one: {w_one / n_loop / (w_b / n):.1f}x wall in 1 process, "
          f"{w_one2 / (2 * n_loop) / (w_2 / n):.1f}x wall on {WORKERS} workers, "
          f"{c_one2 / (2 * n_loop) / (c_2 / n):.1f}x CPU; {compare(batched, one, n_loop)}")
    return w_one2 / (2 * n_loop), w_2 / n, c_2 / n, w_b / n


def lavaan_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "quit(status = !requireNamespace('lavaan', quietly = TRUE))"],
                           capture_output=True, text=True)
    return probe.returncode == 0


def run_lavaan(items_csv: Path, n_boot: int, missing: str) -> dict[str, str]:
    """Time ``bootstrapLavaan`` through benchmarks/lavaan_bootstrap.R; its ``key=value`` lines."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(["Rscript", str(R_SCRIPT), str(items_csv), str(MODEL), str(n_boot), str(WORKERS), missing],
                          capture_output=True, text=True, check=False)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"lavaan_bootstrap.R failed:\n{proc.stderr[-2000:]}")
    out = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    out["rusage_cpu_seconds"] = str(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    return out


def lavaan_rate(out: dict[str, str], label: str) -> tuple[float, float]:
    """Wall and CPU seconds (the forked workers included) per resample of a lavaan run, printed."""
    per = float(out["wall_seconds"]) / int(out["R"])
    # CPU of the whole Rscript run by getrusage: R's proc.time misses part of its forked workers' time
    # (measured 20 s against 44 s on the same run); the run's start-up and full-sample fit (~1 s) are included
    cpu = float(out["rusage_cpu_seconds"]) / int(out["R"])
    print(f"  lavaan {out['lavaan_version']} {label}: R = {out['R']}, ncpus = {out['ncpus']}: "
          f"{float(out['wall_seconds']):.1f} s wall, {per * 1e3:.1f} ms per resample ({1 / per:.1f}/s), "
          f"failed {out['failed']}")
    print(f"    CPU of the bootstrap (R's proc.time, its workers included): {float(out['cpu_seconds']):.1f} s, "
          f"{cpu * 1e3:.1f} ms per resample; CPU of the whole Rscript run (R start-up and the full-sample fit "
          f"included, getrusage): {float(out['rusage_cpu_seconds']):.1f} s")
    return per, cpu


def wlsmv_section(items: pd.DataFrame, syntax: str, n: int) -> tuple[float, float]:
    """The batched WLSMV bootstrap (issue 13): wall and CPU seconds per resample, merged categories printed."""
    data = prepare_ordinal(items.to_numpy(float), list(items.columns), scale=tuple(range(1, 8)))
    model = ordinal_model(syntax, data.names)
    stats = ordinal_statistics(data)
    full = fit_wlsmv(model, stats, data.threshold_names)
    counts = bootstrap_counts(data.n, n, np.random.default_rng(np.random.SeedSequence(SEED)))
    t0, c0 = time.perf_counter(), time.process_time()
    boot = bootstrap_wlsmv(model, data, counts, full, 128)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"\nWLSMV bootstrap, batched ({n} resamples: thresholds, polychorics, weights, DWLS refit):")
    print(f"  {wall:.1f} s wall, {cpu:.1f} s CPU: {wall / n * 1e3:.1f} ms wall, {cpu / n * 1e3:.1f} ms CPU per resample;"
          f" failed {int(boot.failed.sum())}")
    return wall / n, cpu / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resamples", type=int, default=5000, help="ML resamples")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each ML setting (median kept)")
    ap.add_argument("--lavaan-r", type=int, default=1000, help="lavaan ML resamples")
    ap.add_argument("--fiml-resamples", type=int, default=1000, help="batched FIML resamples")
    ap.add_argument("--fiml-loop", type=int, default=20, help="one-by-one FIML resamples")
    ap.add_argument("--lavaan-fiml-r", type=int, default=40, help="lavaan FIML resamples")
    ap.add_argument("--wlsmv-resamples", type=int, default=1000, help="batched WLSMV resamples")
    ap.add_argument("--lavaan-wlsmv-r", type=int, default=40, help="lavaan WLSMV resamples")
    ap.add_argument("--no-lavaan", action="store_true", help="skip lavaan")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    items = pd.read_csv(ITEMS).drop(columns="respondent_id")
    syntax = MODEL.read_text(encoding="utf-8")
    missing = remove_mcar(items, MISSING_SHARE, SEED)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {load_before:.2f} before the runs; N = {len(items)}, {items.shape[1]} items")

    w_ml, c_ml, peak = ml_section(items, syntax, args.resamples, args.rounds)
    per_one, per_fiml, cpu_fiml, _ = fiml_section(missing, syntax, args.fiml_resamples, args.fiml_loop)
    per_ml, cpu_ml = w_ml / args.resamples, c_ml / args.resamples
    per_wlsmv, cpu_wlsmv = wlsmv_section(items, syntax, args.wlsmv_resamples)

    print("\nlavaan bootstrapLavaan, side by side (parallel = \"multicore\", ncpus = 2):")
    ratio_ml = ratio_fiml = ratio_wlsmv = None
    if args.no_lavaan or not lavaan_available():
        print("  lavaan not installed" if not args.no_lavaan else "  skipped (--no-lavaan)")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            miss_csv = Path(tmp) / "items_mcar.csv"
            missing.to_csv(miss_csv, index=False, na_rep="NA")
            lav_ml, lav_ml_cpu = lavaan_rate(run_lavaan(ITEMS, args.lavaan_r, "listwise"), "ML")
            lav_fiml, lav_fiml_cpu = lavaan_rate(run_lavaan(miss_csv, args.lavaan_fiml_r, "ml"), "FIML")
            lav_wlsmv, lav_wlsmv_cpu = lavaan_rate(run_lavaan(ITEMS, args.lavaan_wlsmv_r, "wlsmv"), "WLSMV")
        ratio_ml, ratio_fiml, ratio_wlsmv = lav_ml / per_ml, lav_fiml / per_fiml, lav_wlsmv / per_wlsmv
        print(f"  ratio ours/lavaan per resample, WLSMV: {ratio_wlsmv:.1f}x wall, "
              f"{lav_wlsmv_cpu / cpu_wlsmv:.1f}x CPU")
        print(f"  ratio ours/lavaan per resample, wall time: ML {ratio_ml:.1f}x, FIML {ratio_fiml:.1f}x")
        print(f"  ratio ours/lavaan per resample, CPU time (lavaan's from getrusage): ML {lav_ml_cpu / cpu_ml:.1f}x, "
              f"FIML {lav_fiml_cpu / cpu_fiml:.1f}x")
    print(f"\nload average now {os.getloadavg()[0]:.2f}")
    print("targets of issue 14:")
    if ratio_ml is not None:
        if load_before > QUIET_LOAD:
            print(f"  (load average {load_before:.2f} before the runs, above {QUIET_LOAD}: other work shared the cores,"
                  " so the ratios below are not quiet-machine figures)")
        print(f"  ML >= 40x lavaan: {ratio_ml:.1f}x -> {'met' if ratio_ml >= 40 else 'NOT met'}")
        print(f"  FIML >= 100x lavaan: {ratio_fiml:.1f}x -> {'met' if ratio_fiml >= 100 else 'NOT met'}")
        print(f"  WLSMV >= 20x lavaan (issue 13): {ratio_wlsmv:.1f}x -> {'met' if ratio_wlsmv >= 20 else 'NOT met'}")
    speed = per_one / per_fiml
    print(f"  FIML >= 10x the one-by-one path (both on {WORKERS} workers): {speed:.1f}x -> "
          f"{'met' if speed >= 10 else 'NOT met'}")
    print(f"  peak memory < 1 GiB: {peak / GIB:.2f} GiB -> {'met' if peak < GIB else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
