"""Golden run: the default configuration gives the same bytes as when recorded.

``tests/golden/default_run.sha256.json`` holds the SHA-256 of every file the
default run writes under ``data/`` and ``results/`` (the report and the logs
carry timings and are left out). It was recorded before the package was
reorganised into layers (issue 11) and guards every refactoring: a change
of any number, however small, changes a digest.

A change that is *meant* to move numbers (a new statistic, a different
estimator default) re-records the file, and its commit says why::

    XHS_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from test_e2e import digests, run, scratch_copy

GOLDEN = Path(__file__).resolve().parent / "golden" / "default_run.sha256.json"

pytestmark = pytest.mark.slow


def test_default_run_matches_golden_digests(tmp_path):
    work = scratch_copy(tmp_path)
    run(work, "--cores", "2", "-q")
    got = digests(work)
    if os.environ.get("XHS_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"re-recorded {GOLDEN.name} ({len(got)} files)")
    want = json.loads(GOLDEN.read_text())
    assert sorted(got) == sorted(want), "the default run writes a different set of files"
    changed = sorted(k for k in want if got[k] != want[k])
    assert not changed, f"files whose bytes changed: {changed}"
