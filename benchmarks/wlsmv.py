"""Benchmark: ordinal WLSMV bootstrap of the default model, batched vs one by one vs lavaan.

Run from the repository root (not a test; a few minutes on 2 cores):

    PYTHONPATH=src python benchmarks/wlsmv.py [--resamples 5000] [--loop 20] [--chunk-size 128]

On the default synthetic survey as analysed (tests/reference/data/default_items.csv,
N = 500, 25 seven-point items) and the default structural model it prints

* thresholds, polychorics and the DWLS weights (the diagonal of Gamma) of
  ``--resamples`` bootstrap resamples computed batched
  (:func:`xhs_sharing.sem.ordinal.batched_ordinal_statistics`), wall and CPU
  time per resample, and the same for the one-by-one path
  (:func:`~xhs_sharing.sem.ordinal.ordinal_statistics` per resample, one
  polychoric at a time as lavaan) timed on the first ``--loop`` resamples,
  with their ratio;
* the whole WLSMV bootstrap (the above plus a DWLS refit of each resample,
  :func:`xhs_sharing.sem.wls.bootstrap_wlsmv`) per resample, side by side
  with lavaan's ``bootstrapLavaan`` per resample as *measured by
  tests/reference/lavaan_wlsmv.R* (R = 50, in its own run, not in this one;
  read from tests/reference/fixtures/wlsmv_meta.csv), and with the figure of
  issue 13 (lavaan 0.6.14: 0.62 s per resample);
* the resamples with a category merged (a category of the full sample not
  drawn) and the failed resamples, which lavaan's bootstrap loses.

The counts come from the package's master seed (config.yaml: 20261127).
CPU time is the figure to compare on a shared machine; wall time is what a
user waits.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xhs_sharing.sem.ordinal import batched_ordinal_statistics, ordinal_statistics, prepare_ordinal
from xhs_sharing.sem.resample import bootstrap_counts
from xhs_sharing.sem.wls import bootstrap_wlsmv, fit_wlsmv, ordinal_model

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
SEED = 20261127  # config/config.yaml: synthetic.seed
ISSUE_LAVAAN_SECONDS = 0.62  # issue 13: bootstrapLavaan per resample, lavaan 0.6.14
TARGET = 20.0


def _timed(fn, *args, **kwargs):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, time.process_time() - c0


def _lavaan_meta() -> dict[str, str]:
    path = REFERENCE / "fixtures" / "wlsmv_meta.csv"
    if not path.is_file():
        return {}
    meta = pd.read_csv(path, dtype=str)
    return dict(zip(meta.key, meta.value, strict=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resamples", type=int, default=5000)
    ap.add_argument("--loop", type=int, default=20, help="resamples timed on the one-by-one path")
    ap.add_argument("--chunk-size", type=int, default=128)
    args = ap.parse_args(argv)

    frame = pd.read_csv(REFERENCE / "data" / "default_items.csv").drop(columns="respondent_id")
    data = prepare_ordinal(frame.to_numpy(float), list(frame.columns), scale=tuple(range(1, 8)))
    model = ordinal_model((REFERENCE / "data" / "structural_model.lav").read_text(encoding="utf-8"), data.names)
    counts = bootstrap_counts(data.n, args.resamples, np.random.default_rng(np.random.SeedSequence(SEED)))
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")

    stats, w_full, c_full = _timed(ordinal_statistics, data)
    fit, w_fit, c_fit = _timed(fit_wlsmv, model, stats, data.threshold_names)
    print(f"data: N = {data.n}, {len(data.names)} items, {len(data.threshold_names)} thresholds, "
          f"{stats.correlations.size} polychorics; model: {model.n_free} free parameters + thresholds")
    print(f"full sample: statistics + Gamma {w_full:.2f} s wall / {c_full:.2f} s CPU, "
          f"DWLS fit {w_fit:.2f} s / {c_fit:.2f} s")

    # ---- thresholds + polychorics (+ DWLS weights): one by one vs batched
    n_loop = min(args.loop, args.resamples)
    _, w_loop, c_loop = _timed(lambda: [ordinal_statistics(data, counts[b], gamma=False) for b in range(n_loop)])
    batch, w_batch, c_batch = _timed(batched_ordinal_statistics, data, counts, stats, args.chunk_size)
    per_loop_w, per_loop_c = w_loop / n_loop, c_loop / n_loop
    per_b_w, per_b_c = w_batch / args.resamples, c_batch / args.resamples
    print("\nthresholds + polychorics per resample (batched also computes the diagonal of Gamma):")
    print(f"  one by one ({n_loop} resamples, no Gamma): {per_loop_w * 1e3:8.1f} ms wall  {per_loop_c * 1e3:8.1f} ms CPU")
    print(f"  batched ({args.resamples} resamples):            {per_b_w * 1e3:8.1f} ms wall  {per_b_c * 1e3:8.1f} ms CPU"
          f"   ({w_batch:.1f} s wall for all)")
    print(f"  ratio one-by-one / batched: {per_loop_w / per_b_w:.1f}x wall, {per_loop_c / per_b_c:.1f}x CPU")
    print(f"  resamples with a merged (undrawn) category: {batch.n_resamples_merged} "
          f"({batch.n_merge_events} resample-item pairs); degenerate: {int(batch.degenerate.sum())}; "
          f"most Newton/Halley evaluations: {batch.iterations}")

    # ---- the whole WLSMV bootstrap
    boot, w_boot, c_boot = _timed(bootstrap_wlsmv, model, data, counts, fit, args.chunk_size)
    per_w, per_c = w_boot / args.resamples, c_boot / args.resamples
    print(f"\nWLSMV bootstrap ({args.resamples} resamples: statistics, weights and DWLS refit of each):")
    print(f"  {w_boot:.1f} s wall, {c_boot:.1f} s CPU: {per_w * 1e3:.1f} ms wall, {per_c * 1e3:.1f} ms CPU per resample")
    print(f"  failed {int(boot.failed.sum())}, most DWLS iterations {boot.iterations}")

    meta = _lavaan_meta()
    print("\nlavaan bootstrapLavaan(fit, R = 50), measured by tests/reference/lavaan_wlsmv.R in its own run:")
    if meta:
        lav_w = float(meta["bootstrap.wall_seconds_per_resample"])
        lav_c = float(meta["bootstrap.cpu_seconds_per_resample"])
        print(f"  lavaan {meta['lavaan.version']}: {lav_w:.2f} s wall, {lav_c:.2f} s CPU per resample; "
              f"{meta['bootstrap.failed']} of {meta['bootstrap.R']} resamples failed")
        print(f"  speed-up of the batched bootstrap: {lav_w / per_w:.0f}x wall, {lav_c / per_c:.0f}x CPU")
    ratio_w, ratio_c = ISSUE_LAVAAN_SECONDS / per_w, ISSUE_LAVAAN_SECONDS / per_c
    print(f"  against issue 13's lavaan figure ({ISSUE_LAVAAN_SECONDS} s per resample, an unloaded machine): "
          f"{ratio_w:.0f}x wall, {ratio_c:.0f}x CPU (target >= {TARGET:.0f}x): "
          f"{'met' if min(ratio_w, ratio_c) >= TARGET else 'met in CPU time only' if ratio_c >= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
