"""Independent random streams derived from the one master seed of the config.

Each use of randomness (the synthetic survey, the bootstrap, the Monte Carlo
intervals, the Monte Carlo replication study) gets its own stream,
``SeedSequence([master, stream_id])``, so changing how many draws one stage
makes never shifts the numbers of another (O'Neill 2014; numpy's
``SeedSequence`` documentation).
"""

from __future__ import annotations

import numpy as np

STREAMS: dict[str, int] = {"synthetic": 0, "bootstrap": 1, "mc_intervals": 2, "montecarlo": 3,
                           "method_bias": 15}
"""Stream ids. Never renumber: that would change every derived result. ``method_bias`` (15, issue 17 point 15):
the Monte Carlo intervals of the indirect-effect claims with and without the method factor."""


def stream(master: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` under ``master``."""
    if name not in STREAMS:
        raise KeyError(f"unknown random stream {name!r}; known: {sorted(STREAMS)}")
    return np.random.SeedSequence([int(master), STREAMS[name]])


def stream_seed(master: int, name: str) -> int:
    """A 63-bit integer seed for APIs that take an int, drawn from :func:`stream`."""
    return int(stream(master, name).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
