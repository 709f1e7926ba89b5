"""Write the survey of the own-study end-to-end test (tests/test_own_study.py).

Draws 400 respondents on a 6-point scale from population.yaml with the
package's own generator, then makes the file look like an export from a
survey tool: item columns in upper case (PQ_1 against the spec's pq_1), about
3% of answers missing completely at random, and two respondents who answered
no item at all. Deterministic: every draw comes from one SeedSequence.

Usage: python make_survey.py OUT.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from xhs_sharing.study.spec import load_study
from xhs_sharing.study.synthetic import simulate_survey

HERE = Path(__file__).resolve().parent
N = 400
SCALE_POINTS = 6
MISSING_SHARE = 0.03
EMPTY_ROWS = (17, 230)
"""0-based rows whose every answer is removed."""


def make_survey(out: Path, seed: int = 20261130) -> Path:
    """Draw the survey and write it to ``out`` (CSV, empty cell = missing answer)."""
    streams = np.random.SeedSequence(seed).spawn(2)
    study = load_study(HERE / "population.yaml")
    frame = simulate_survey(study, N, seed=streams[0], scale_points=SCALE_POINTS).astype(object)
    items = list(study.item_ids)
    holes = np.random.default_rng(streams[1]).random((N, len(items))) < MISSING_SHARE
    holes[list(EMPTY_ROWS), :] = True
    frame[items] = frame[items].mask(holes)
    frame = frame.rename(columns={item: item.upper() for item in items})
    frame.to_csv(out, index=False)
    return out


if __name__ == "__main__":
    make_survey(Path(sys.argv[1]))
