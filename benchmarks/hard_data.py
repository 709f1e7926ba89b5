"""Hard data end to end (issue 19 points 1-2): seconds to finish or stop, and the verdict.

Every case of ``tests/hard_data.py`` runs through the workflow with the default
config (5,000 bootstrap resamples; the Monte Carlo study left out, it never
reads the survey) in a scratch copy of the repository, on ``--cores 2``.
Prints one line per case: seconds from start to finish-or-stop, whether that
is within the 60 s bound, and the verdict (the stopping rule's message, or
"finished" with the diagnostics' verdict).

    PYTHONPATH=src python benchmarks/hard_data.py [case ...]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hard_data  # noqa: E402

BOUND_S = 60.0
COPY = ("Snakefile", "environment.yml", "workflow", "config", "scripts")


def scratch(dest: Path) -> Path:
    """Copy what the workflow needs into ``dest``."""
    for name in COPY:
        src, target = ROOT / name, dest / name
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target)
    return dest


def error_line(work: Path) -> str:
    """The ERROR line of the first log that has one (the rule that stopped the run)."""
    for log in sorted((work / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime):
        for line in log.read_text(encoding="utf-8").splitlines():
            if " ERROR " in line or line.startswith("ERROR"):
                return f"{log.relative_to(work / 'logs')}: {line.split('ERROR', 1)[1].strip(' :-')}"
    return "failed without a diagnosed error (see the Snakemake output)"


def job_times(work: Path) -> str:
    """Wall and CPU seconds of every job that wrote a benchmark file: ``prepare_data 3.2/2.1``."""
    out = []
    for tsv in sorted((work / "logs" / "benchmarks").glob("*.tsv"), key=lambda p: p.stat().st_mtime):
        head, *rows = tsv.read_text(encoding="utf-8").splitlines()
        cols = head.split("\t")
        for row in rows:
            vals = dict(zip(cols, row.split("\t"), strict=False))
            out.append(f"{tsv.stem} {float(vals['s']):.1f}/{float(vals.get('cpu_time') or 'nan'):.1f}")
    return "jobs (wall/cpu s): " + ", ".join(out)


def run_case(name: str) -> tuple[float, str]:
    """Seconds to finish or stop, and the verdict, of case ``name``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = scratch(Path(tmp))
        survey = hard_data.write_case(name, work)
        (work / "case.yaml").write_text(f"data: {{path: '{survey}'}}\nmontecarlo: {{in_report: false}}\n",
                                        encoding="utf-8")
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "case.yaml", "-q"],
                              cwd=work, env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        print(f"  {name}: {job_times(work)}", flush=True)
        if proc.returncode == 0:
            diag = json.loads((work / "results" / "measurement" / "diagnostics.json").read_text(encoding="utf-8"))
            boot = json.loads((work / "results" / "structural" / "bootstrap.json").read_text(encoding="utf-8"))
            return seconds, (f"finished (diagnostics {diag['verdict']}; bootstrap {boot['failed']} of "
                             f"{boot['requested']} failed {boot['failures']})")
        return seconds, "stopped: " + error_line(work)


def main(names: list[str]) -> int:
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(wall times are only comparable to the 60 s bound on an otherwise idle 2-core machine)", flush=True)
    worst = 0.0
    for name in names or list(hard_data.CASES):
        seconds, verdict = run_case(name)
        worst = max(worst, seconds)
        print(f"{name:18s} {seconds:6.1f} s  {'ok ' if seconds <= BOUND_S else 'SLOW'}  {verdict[:400]}", flush=True)
    print(f"slowest: {worst:.1f} s (bound {BOUND_S:.0f} s)")
    return 0 if worst <= BOUND_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
