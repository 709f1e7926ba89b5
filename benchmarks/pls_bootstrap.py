"""Benchmark: the batched PLSc bootstrap (issue 15), side by side with the Python port of seminr.

Run from the repository root (not a test):

    PYTHONPATH=src python benchmarks/pls_bootstrap.py [--resamples 5000] [--seminr-resamples 200]

and, for the side-by-side column, with the seminr port importable from a
directory outside the project environment (it is GPL-3 and test-only here):

    pip install --no-deps --target /tmp/plsdeps seminr==0.2.1
    PYTHONPATH=src:/tmp/plsdeps python benchmarks/pls_bootstrap.py

Data and model: the default survey as analysed
(tests/reference/data/default_items.csv, N = 500, 25 items) and the default
structural model (tests/reference/data/structural_model.lav: 8 reflective
constructs, 15 paths). Measured in this one invocation:

* ours: :func:`xhs_sharing.sem.pls_batched.bootstrap_pls`, PLSc, path
  weighting, chunks of 250, the package seed, in one process (``n_jobs=1``)
  and in two worker processes (``n_jobs=2``, spawned and forked, start-up
  included): wall and CPU seconds, resamples per second, failures per
  reason; the target of issue 15 is 5,000 PLSc resamples in under 5 s on 2
  cores (the machine's load average is printed: on a shared machine the
  in-process CPU time is the better guide);
* seminr (Python port): ``bootstrap_model(estimate_pls(...reflective...),
  nboot=--seminr-resamples)`` on the same data, sequential, and the ratio of
  the two per resample (seminr's time is per resample times 5,000, stated as
  an extrapolation); "not installed" when ``import seminr`` fails.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from xhs_sharing.sem import pls
from xhs_sharing.sem.pls_batched import bootstrap_pls

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "reference" / "data"
SEED = 20261127


def default_model() -> tuple[dict[str, list[str]], list[tuple[str, str]], pd.DataFrame]:
    """Blocks, paths and data of the default model, from the exported lavaan syntax."""
    lav = (DATA / "structural_model.lav").read_text()
    blocks = {m[1]: m[2].split(" + ") for m in re.finditer(r"^(\w+) =~ (.+)$", lav, re.M)}
    paths = [(s, m[1]) for m in re.finditer(r"^(\w+) ~ (.+)$", lav, re.M) for s in m[2].split(" + ")]
    return blocks, paths, pd.read_csv(DATA / "default_items.csv")


def time_ours(spec: pls.PlsSpec, x: np.ndarray, n: int, n_jobs: int,
              mp_context: str) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU seconds of our PLSc bootstrap of ``n`` resamples, and its failures."""
    wall, cpu = time.perf_counter(), time.process_time()
    boot = bootstrap_pls(x, spec, n, SEED, chunk_size=250, consistent=True, n_jobs=n_jobs,
                         mp_context=mp_context)
    return time.perf_counter() - wall, time.process_time() - cpu, boot.failures


def time_seminr(blocks: dict[str, list[str]], paths: list[tuple[str, str]], data: pd.DataFrame,
                n: int) -> float | None:
    """Wall seconds of seminr-py's PLSc bootstrap of ``n`` resamples (None when not installed)."""
    try:
        import seminr as sm
    except ImportError:
        return None
    mm = sm.constructs(*[sm.reflective(c, items) for c, items in blocks.items()])
    st = sm.relationships(*[sm.paths(s, t) for s, t in paths])
    model = sm.estimate_pls(data[[i for b in blocks.values() for i in b]], mm, st)
    wall = time.perf_counter()
    sm.bootstrap_model(model, nboot=n, seed=SEED)
    return time.perf_counter() - wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=5000)
    ap.add_argument("--seminr-resamples", type=int, default=200)
    args = ap.parse_args()
    blocks, paths, data = default_model()
    spec = pls.pls_spec(blocks, paths)
    x = data[list(spec.items)].to_numpy(float)
    print(f"PLSc bootstrap, default model (N = {len(x)}, {len(spec.items)} items, "
          f"{len(spec.constructs)} constructs, {len(spec.paths)} paths), {args.resamples} resamples")
    print(f"  load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = {}
    for n_jobs, ctx in ((1, "spawn"), (2, "spawn"), (2, "fork")):
        wall, cpu, failures = time_ours(spec, x, args.resamples, n_jobs, ctx)
        rows[(n_jobs, ctx)] = (wall, cpu)
        print(f"  ours n_jobs={n_jobs} ({ctx if n_jobs > 1 else 'in process'}): {wall:6.2f} s wall, "
              f"{cpu:6.2f} s CPU (this process), {args.resamples / wall:8.0f} resamples/s, failures {failures}")
    best = min(w for w, _ in rows.values())
    per5k = best * 5000 / args.resamples
    cpu5k = rows[(1, "spawn")][1] * 5000 / args.resamples
    print(f"  target (issue 15): 5,000 in < 5 s -> {'met' if per5k < 5 else 'NOT met'} on wall time "
          f"({per5k:.2f} s per 5,000; in-process CPU {cpu5k:.2f} s, the wall time of an idle machine)")
    seminr = time_seminr(blocks, paths, data, args.seminr_resamples)
    if seminr is None:
        print("  seminr (Python port): not installed")
        return
    per = seminr / args.seminr_resamples
    print(f"  seminr-py 0.2.1 bootstrap_model: {seminr:6.2f} s for {args.seminr_resamples} resamples "
          f"= {per * 1000:.1f} ms each, {per * 5000:.0f} s per 5,000 (extrapolated)")
    print(f"  ratio seminr/ours per resample (wall): {per / (best / args.resamples):.0f}x")


if __name__ == "__main__":
    main()
