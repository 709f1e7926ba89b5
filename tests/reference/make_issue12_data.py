"""Write the two small reference data sets of ``lavaan_issue12.R`` (issue 12, points 11 and 14).

Run from the repository root (numpy only; the files are committed)::

    PYTHONPATH=src python tests/reference/make_issue12_data.py

It writes, under ``tests/reference/data/``:

``chain_items.csv``
    N = 400 continuous answers to 15 items of five latent variables, drawn
    from a model with a serial two-mediator chain and a parallel mediator::

        M1 = .5 X + e            (X -> M1)
        M2 = .4 M1 + .2 X + e    (M1 -> M2, X -> M2)
        M3 = .4 X + e            (X -> M3, the parallel path)
        Y  = .4 M2 + .2 M1 + .3 M3 + .1 X + e

    Indicators ``x1-x3`` (X), ``p1-p3`` (M1), ``q1-q3`` (M2), ``r1-r3``
    (M3), ``y1-y3`` (Y) with loadings 1, .8, .7 and residual SD .6; values
    rounded to 6 decimals (R reads the same numbers).

``weak_items.csv``
    N = 300 seven-point answers to 12 items of three correlated constructs
    ``A``, ``B``, ``C`` (``a1-a4``, ``b1-b4``, ``c1-c4``) with weak
    standardized loadings (.35-.65) and item SDs that differ (cut points
    scaled per item), so that the standardized-loading CR and AVE
    (Fornell & Larcker 1981) and semTools' ``compRelSEM`` / ``AVE``
    (unstandardized loadings over observed variances) differ visibly.

Seeds: ``np.random.SeedSequence([20261127, 12, k])`` with ``k = 1`` (chain)
and ``k = 2`` (weak scales); 12 is the issue number, not a pipeline stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"
MASTER_SEED = 20261127
ISSUE = 12


def _rng(k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([MASTER_SEED, ISSUE, k]))


def chain_items(n: int = 400) -> pd.DataFrame:
    """The serial-chain survey (see the module docstring)."""
    rng = _rng(1)
    x = rng.normal(size=n)
    m1 = 0.5 * x + rng.normal(size=n)
    m2 = 0.4 * m1 + 0.2 * x + rng.normal(size=n)
    m3 = 0.4 * x + rng.normal(size=n)
    y = 0.4 * m2 + 0.2 * m1 + 0.3 * m3 + 0.1 * x + rng.normal(size=n)
    cols = {}
    for prefix, lat in (("x", x), ("p", m1), ("q", m2), ("r", m3), ("y", y)):
        for j, lam in enumerate((1.0, 0.8, 0.7)):
            cols[f"{prefix}{j + 1}"] = np.round(lam * lat + rng.normal(scale=0.6, size=n), 6)
    return pd.DataFrame(cols)


WEAK_LOADINGS = {"A": (0.65, 0.55, 0.45, 0.35), "B": (0.6, 0.5, 0.4, 0.4), "C": (0.65, 0.6, 0.45, 0.35)}
ITEM_SPREAD = (0.6, 1.0, 1.4, 1.0)
"""Cut-point spacing per item position: items of one scale use the 7 points unevenly."""


def weak_items(n: int = 300) -> pd.DataFrame:
    """The weak-scale 7-point survey (see the module docstring)."""
    rng = _rng(2)
    corr = np.array([[1.0, 0.3, 0.2], [0.3, 1.0, 0.25], [0.2, 0.25, 1.0]])
    eta = rng.multivariate_normal(np.zeros(3), corr, size=n)
    cols = {}
    for k, (name, lams) in enumerate(WEAK_LOADINGS.items()):
        for j, lam in enumerate(lams):
            latent = lam * eta[:, k] + rng.normal(scale=np.sqrt(1 - lam**2), size=n)
            cuts = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]) * 0.5 * ITEM_SPREAD[j]
            cols[f"{name.lower()}{j + 1}"] = 1 + np.searchsorted(cuts, latent)
    return pd.DataFrame(cols)


def main() -> None:
    """Write both files."""
    OUT.mkdir(exist_ok=True)
    chain_items().to_csv(OUT / "chain_items.csv", index=False, float_format="%.6f", lineterminator="\n")
    weak_items().to_csv(OUT / "weak_items.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
