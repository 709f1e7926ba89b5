"""Synthetic Likert survey drawn from the study's population model.

Latent item responses are multivariate normal with the population covariance
of :mod:`xhs_sharing.study.population` (reverse-worded items load negatively, as a
respondent would answer them) and are cut into ``K`` scale points at fixed
thresholds. Every draw comes from one :class:`numpy.random.Generator` seeded
from the config, so the same config gives byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xhs_sharing.errors import SpecError
from xhs_sharing.study.population import population_model
from xhs_sharing.study.spec import ID_COLUMN as ID_COLUMN  # the respondent id column, named in the spec module
from xhs_sharing.study.spec import Study, config_defaults

_DEFAULTS = config_defaults()
_SYNTHETIC = _DEFAULTS["synthetic"]
#: Defaults of the Likert settings: the survey's scale (the config schema's ``data.scale_points``) and the cut
#: points of the ``synthetic`` block.
SCALE_POINTS: int = _DEFAULTS["data"]["scale_points"]
THRESHOLDS: str = _SYNTHETIC["thresholds"]
SKEW_SHIFT: float = _SYNTHETIC["skew_shift"]


def likert_thresholds(scale_points: int, kind: str = THRESHOLDS, skew_shift: float = SKEW_SHIFT) -> np.ndarray:
    """Cut points on the standard normal scale that turn a latent response into 1..K.

    ``symmetric``: ``K - 1`` equally spaced cut points centred on 0, spaced
    ``6 / K`` apart (so the outer cut points sit near +-3 SD * (K-2)/K and
    every category is used). ``skewed``: the same cut points moved down by
    ``skew_shift`` SD, so answers pile up towards the top of the scale.

    Examples
    --------
    >>> likert_thresholds(5).round(2).tolist()
    [-1.8, -0.6, 0.6, 1.8]
    """
    if scale_points < 2:
        raise SpecError(f"data.scale_points must be at least 2, got {scale_points}")
    k = np.arange(1, scale_points)
    cuts = (k - scale_points / 2) * (6.0 / scale_points)
    if kind == "symmetric":
        return cuts
    if kind == "skewed":
        return cuts - skew_shift
    raise SpecError(f"synthetic.thresholds must be 'symmetric' or 'skewed', got {kind!r}")


def draw_latent_responses(study: Study, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` rows of latent (continuous) item responses, as answered.

    Uses ``Z @ chol(Sigma).T`` with standard normal ``Z``, which keeps the
    stream of draws independent of the covariance values.
    """
    if n < 1:
        raise SpecError(f"synthetic.n must be positive, got {n}")
    return _latent_draws(_answered_cholesky(study), n, rng)


def _answered_cholesky(study: Study) -> np.ndarray:
    return np.linalg.cholesky(population_model(study, recoded=False).item_covariance)


def _latent_draws(chol: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((n, chol.shape[0])) @ chol.T


def to_likert(latent: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Cut latent responses into scale points ``1 .. len(thresholds) + 1``."""
    return np.searchsorted(thresholds, latent, side="right").astype(np.int64) + 1


@dataclass(frozen=True, eq=False)
class LikertSurvey:
    """The study's survey design, prepared once: population Cholesky factor, cut points, reverse items.

    :meth:`answers` is the draw of :func:`simulate_survey` (the same numbers
    from the same generator) without the data frame, so the Monte Carlo
    study can simulate thousands of surveys cheaply; :meth:`recoded` turns
    the reverse-worded items round as
    :func:`xhs_sharing.data.survey.recode_reverse_items` does.
    """

    items: tuple[str, ...]
    chol: np.ndarray
    cuts: np.ndarray
    reverse: np.ndarray
    scale_points: int

    @classmethod
    def from_study(cls, study: Study, scale_points: int = SCALE_POINTS, thresholds: str = THRESHOLDS,
                   skew_shift: float = SKEW_SHIFT) -> LikertSurvey:
        return cls(tuple(study.item_ids), _answered_cholesky(study),
                   likert_thresholds(scale_points, thresholds, skew_shift),
                   np.array([it.reverse for it in study.items], dtype=bool), int(scale_points))

    def answers(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, items)`` int64 answers ``1..K`` as a respondent gives them."""
        if n < 1:
            raise SpecError(f"synthetic.n must be positive, got {n}")
        return to_likert(_latent_draws(self.chol, n, rng), self.cuts)

    def recoded(self, answers: np.ndarray) -> np.ndarray:
        """The answers with every reverse-worded item recoded as ``K + 1 - x``."""
        out = answers.copy()
        out[:, self.reverse] = (self.scale_points + 1) - out[:, self.reverse]
        return out


def simulate_survey(
    study: Study,
    n: int,
    seed: int | np.random.SeedSequence,
    scale_points: int = SCALE_POINTS,
    thresholds: str = THRESHOLDS,
    skew_shift: float = SKEW_SHIFT,
) -> pd.DataFrame:
    """Simulate one survey: a ``respondent_id`` column and one integer column per item.

    Reverse-coded items are stored as answered (high = disagree with the construct);
    :func:`xhs_sharing.data.survey.recode_reverse_items` turns them round before analysis.
    """
    design = LikertSurvey.from_study(study, scale_points, thresholds, skew_shift)
    answers = design.answers(n, np.random.default_rng(seed))
    width = max(4, len(str(n)))
    frame = pd.DataFrame(answers, columns=study.item_ids)
    frame.insert(0, ID_COLUMN, [f"R{i:0{width}d}" for i in range(1, n + 1)])
    return frame


def codebook(study: Study, scale_points: int) -> dict[str, Any]:
    """The codebook written beside the survey: constructs and items with their wording and coding."""
    return {
        "title": study.title,
        "id_column": ID_COLUMN,
        "scale_points": scale_points,
        "scale_labels": {"1": "strongly disagree", str(scale_points): "strongly agree"},
        "constructs": [
            {"id": c.id, "label": c.label, "definition": c.definition, "section": c.section}
            for c in study.constructs
        ],
        "items": [
            {
                "id": it.id,
                "construct": it.construct,
                "text": it.text,
                "scale_points": scale_points,
                "reverse_coded": it.reverse,
            }
            for it in study.items
        ],
    }
