"""Write the reference data sets that the lavaan fixtures of tests/reference/ are fitted to.

Run from the repository root (no Snakemake needed)::

    PYTHONPATH=src python tests/reference/make_data.py

It writes, under ``tests/reference/data/``:

``default_items.csv``
    The default synthetic survey exactly as the default run analyses it
    (``results/data/items.csv``): N = 500, master seed 20261127, 7-point
    items cut at symmetric thresholds, drawn by
    :func:`xhs_sharing.study.synthetic.simulate_survey` from the stream
    ``synthetic`` (as ``scripts/simulate.py``), then validated and
    reverse-coded by :func:`xhs_sharing.data.survey.load_survey` with the
    codebook (as ``scripts/prepare_data.py``). The script checks that its
    bytes hash to the value pinned in ``tests/golden/default_run.sha256.json``.

``skewed_items.csv``
    A second survey that breaks the normal-theory assumptions on purpose
    (the recipe, every step seeded):

    1. ``simulate_survey`` with N = 500, seed ``SeedSequence([20261127, 13])``,
       ``thresholds="skewed"``, ``skew_shift=1.0`` (every cut point one SD
       lower: answers pile up at "agree", the items are skewed to the left);
    2. reverse-coded items recoded (``K + 1 - x``) with the codebook, as the
       data stage does;
    3. MCAR missingness: every answer is removed independently with
       probability 0.08 (``SeedSequence([20261127, 13, 1])``), so about 8% of
       the cells are empty and no respondent loses every answer;
    4. a sparse category, which the skewed cut points produce by themselves:
       the reverse-worded items (es3, pc4, cn3) pile up at "disagree" once
       recoded, so their top category 7 is rare. The script checks that on
       ``SPARSE_ITEM`` (pc4) between 1 and 3 respondents use it after step 3
       (with these seeds: 1), and that the other categories of the positively
       worded items are sparse only at the bottom (category 1: 0-4 answers).

    Missing answers are empty cells; answers are whole numbers ``1..7``.

``structural_model.lav``
    The default structural model as the default run writes it to
    ``results/structural/model_syntax.txt`` (lavaan syntax,
    :func:`xhs_sharing.study.syntax.structural_syntax`); lavaan's ``sem()``
    defaults complete it.

Both CSV files have the id column ``respondent_id`` first and the 25 items
in codebook order; they are shared by the MLR fixtures
(``lavaan_mlr.R``) and the ordinal (WLSMV) fixtures.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from xhs_sharing.data.survey import load_survey
from xhs_sharing.io import write_csv, write_json, write_text
from xhs_sharing.seeds import stream
from xhs_sharing.study.spec import load_study
from xhs_sharing.study.syntax import n_free_parameters, structural_syntax
from xhs_sharing.study.synthetic import ID_COLUMN, codebook, simulate_survey

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "data"

N = 500
MASTER_SEED = 20261127
SCALE_POINTS = 7

SKEWED_STREAM = 13
"""Second entry of the skewed survey's ``SeedSequence`` (not a stream of the pipeline)."""
SKEW_SHIFT = 1.0
MISSING_RATE = 0.08
SPARSE_ITEM = "pc4"
SPARSE_RANGE = (1, 3)


def analysis_table(survey: pd.DataFrame, book: dict, missing: str) -> pd.DataFrame:
    """The data stage's analysis table of ``survey``: validated, reverse items recoded, id first."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "survey.csv"
        write_csv(survey, path)
        study_items = [it["id"] for it in book["items"]]
        loaded = load_survey(path, book, min_rows=len(study_items), missing=missing)
    table = loaded.items.copy()
    table.insert(0, book["id_column"], loaded.raw[book["id_column"]].to_numpy())
    return table


def default_items(study, book: dict) -> pd.DataFrame:
    """The default survey as ``results/data/items.csv`` of a default run."""
    survey = simulate_survey(study, n=N, seed=stream(MASTER_SEED, "synthetic"),
                             scale_points=SCALE_POINTS, thresholds="symmetric", skew_shift=0.5)
    return analysis_table(survey, book, "listwise")


def skewed_items(study, book: dict) -> pd.DataFrame:
    """The skewed survey with MCAR missing answers and a sparse top category (module docstring)."""
    seed = np.random.SeedSequence([MASTER_SEED, SKEWED_STREAM])
    survey = simulate_survey(study, n=N, seed=seed, scale_points=SCALE_POINTS,
                             thresholds="skewed", skew_shift=SKEW_SHIFT)
    table = analysis_table(survey, book, "listwise")
    items = [it["id"] for it in book["items"]]
    values = table[items].to_numpy(dtype=float, copy=True)
    rng_missing = np.random.default_rng(np.random.SeedSequence([MASTER_SEED, SKEWED_STREAM, 1]))
    values[rng_missing.random(values.shape) < MISSING_RATE] = np.nan
    if np.isnan(values).all(axis=1).any():
        raise SystemExit("a respondent lost every answer; change the recipe")
    top = int((values[:, items.index(SPARSE_ITEM)] == SCALE_POINTS).sum())
    if not SPARSE_RANGE[0] <= top <= SPARSE_RANGE[1]:
        raise SystemExit(f"{SPARSE_ITEM}: {top} answers {SCALE_POINTS}, not {SPARSE_RANGE}; change the recipe")
    out = pd.DataFrame(values, columns=items).astype("Int64")
    out.insert(0, ID_COLUMN, table[ID_COLUMN].to_numpy())
    return out


def check_default_hash(path: Path) -> None:
    """Stop unless ``path`` has the bytes of the default run's ``results/data/items.csv``."""
    golden = json.loads((ROOT / "tests/golden/default_run.sha256.json").read_text())
    want = golden.get("results/data/items.csv")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if want is not None and got != want:
        raise SystemExit(f"{path}: sha256 {got} differs from the default run's items.csv ({want})")


def main() -> None:
    study = load_study(ROOT / "config/study.yaml")
    book = json.loads(json.dumps(codebook(study, SCALE_POINTS)))
    OUT.mkdir(parents=True, exist_ok=True)
    default = default_items(study, book)
    write_csv(default, OUT / "default_items.csv")
    check_default_hash(OUT / "default_items.csv")
    skewed = skewed_items(study, book)
    write_csv(skewed, OUT / "skewed_items.csv")
    write_text(structural_syntax(study), OUT / "structural_model.lav")
    items = [it["id"] for it in book["items"]]
    summary = {
        "n_free_parameters": n_free_parameters(study),
        "skewed_missing_share": float(skewed[items].isna().to_numpy().mean()),
        "skewed_complete_rows": int(skewed[items].notna().all(axis=1).sum()),
        "sparse_item": SPARSE_ITEM,
        "sparse_top_count": int((skewed[SPARSE_ITEM] == SCALE_POINTS).sum()),
    }
    write_json(summary, OUT / "recipe_summary.json")
    json.dump(summary, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
