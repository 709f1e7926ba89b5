"""Hard survey data of issue 19 points 1-2, drawn with the package's own generator.

Every case is a survey file as a respondent answers it (reverse-worded items
not recoded), made from ``config/study.yaml``'s population model by
:mod:`xhs_sharing.study.synthetic` (its Cholesky draw and Likert cut points);
the item correlation matrix is changed first where the case needs it:

* ``near_collinear``: IS and ES correlate .96 in the population (HTMT about .96);
* ``extreme_collinear``: IS and ES correlate .995 (one construct in two names);
* ``heywood``: PR's items imply a loading of 1.14 for pr1 (r(pr1, pr2) =
  r(pr1, pr3) = .88, r(pr2, pr3) = .60): a negative residual variance;
* ``item_copy``: pa2 is pa1's answer for 97% of the respondents;
* ``small_n``: the default model with n = 80 (the minimum is 75);
* ``straight_lining``: 30% of the respondents give one random code to every item.

Used by ``tests/test_hard_data.py`` and ``benchmarks/hard_data.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from xhs_sharing.study.population import population_model
from xhs_sharing.study.spec import Study, load_study
from xhs_sharing.study.synthetic import ID_COLUMN, SCALE_POINTS, likert_thresholds, to_likert

ROOT = Path(__file__).resolve().parents[1]
STUDY_YAML = ROOT / "config" / "study.yaml"
SEED = 19


def _items_of(study: Study, construct: str) -> list[int]:
    return [k for k, it in enumerate(study.items) if it.construct == construct]


def _set_construct_correlation(study: Study, cov: np.ndarray, a: str, b: str, rho: float) -> None:
    """Item covariances between constructs ``a`` and ``b`` as if their latent correlation were ``rho``."""
    lam = np.array([it.loading * (-1.0 if it.reverse else 1.0) for it in study.items], dtype=float)
    for i in _items_of(study, a):
        for j in _items_of(study, b):
            cov[i, j] = cov[j, i] = lam[i] * lam[j] * rho


def _draw(cov: np.ndarray, study: Study, n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` respondents from item covariance ``cov`` (answered scale), cut at the default Likert points."""
    chol = np.linalg.cholesky(cov)  # raises if a case made the matrix non-positive-definite
    latent = np.random.default_rng(seed).standard_normal((n, cov.shape[0])) @ chol.T
    frame = pd.DataFrame(to_likert(latent, likert_thresholds(SCALE_POINTS)), columns=study.item_ids)
    frame.insert(0, ID_COLUMN, [f"R{i:04d}" for i in range(1, n + 1)])
    return frame


def _answered_cov(study: Study) -> np.ndarray:
    return population_model(study, recoded=False).item_covariance.copy()


def near_collinear(study: Study, rho: float = 0.96, n: int = 500) -> pd.DataFrame:
    cov = _answered_cov(study)
    _set_construct_correlation(study, cov, "IS", "ES", rho)
    return _draw(cov, study, n)


def extreme_collinear(study: Study) -> pd.DataFrame:
    return near_collinear(study, rho=0.995)


def heywood(study: Study, n: int = 500) -> pd.DataFrame:
    cov = _answered_cov(study)
    pr1, pr2, pr3 = _items_of(study, "PR")
    for (i, j), r in {(pr1, pr2): 0.88, (pr1, pr3): 0.88, (pr2, pr3): 0.60}.items():
        cov[i, j] = cov[j, i] = r
    return _draw(cov, study, n)


def item_copy(study: Study, n: int = 500, share: float = 0.97) -> pd.DataFrame:
    frame = _draw(_answered_cov(study), study, n)
    rows = np.random.default_rng(SEED + 1).random(n) < share
    frame.loc[rows, "pa2"] = frame.loc[rows, "pa1"]
    return frame


def small_n(study: Study, n: int = 80) -> pd.DataFrame:
    return _draw(_answered_cov(study), study, n)


def straight_lining(study: Study, n: int = 500, share: float = 0.30) -> pd.DataFrame:
    frame = _draw(_answered_cov(study), study, n)
    rng = np.random.default_rng(SEED + 2)
    liners = rng.choice(n, size=round(share * n), replace=False)
    constants = rng.integers(1, SCALE_POINTS + 1, size=len(liners))
    frame.loc[frame.index[liners], study.item_ids] = np.repeat(constants[:, None], len(study.item_ids), axis=1)
    return frame


CASES: dict[str, Callable[[Study], pd.DataFrame]] = {
    "near_collinear": near_collinear,
    "extreme_collinear": extreme_collinear,
    "heywood": heywood,
    "item_copy": item_copy,
    "small_n": small_n,
    "straight_lining": straight_lining,
}
"""Case name -> builder of its survey (as answered)."""


def write_case(name: str, directory: Path, study: Study | None = None) -> Path:
    """Write case ``name``'s survey to ``directory/<name>.csv`` and return the path."""
    frame = CASES[name](study or load_study(STUDY_YAML))
    path = Path(directory) / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path
