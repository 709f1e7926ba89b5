"""Snakemake entry point: gather the robustness specifications into the stage's four tables."""

import json
from pathlib import Path

from xhs_sharing.io import run_step, write_csv
from xhs_sharing.pipeline.robustness import gather
from xhs_sharing.results import check_table
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    docs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in sm.input.docs]
    out = gather(docs, sm.params.excluded, load_study(sm.input.study), estimator=sm.params.estimator,
                 missing=sm.params.missing)
    for row in out["summary"].itertuples(index=False):
        logger.info("claim %s: %s (%s)", row.claim, row.sentence, row.label)
    for key in ("specifications", "summary", "excluded", "nested"):
        write_csv(check_table(f"robustness_{key}", out[key]), sm.output[key])


if __name__ == "__main__":
    run_step(snakemake.log[0], main)  # noqa: F821
