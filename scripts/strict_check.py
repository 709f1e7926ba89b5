"""Snakemake entry point of strict mode: fail the run, naming the claims not reproduced."""

import json
from pathlib import Path

from xhs_sharing.io import run_step, write_json
from xhs_sharing.pipeline.claims import strict_check
from xhs_sharing.results import check_document


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    doc = json.loads(Path(sm.input.claims).read_text(encoding="utf-8"))
    summary = strict_check(doc, sm.input.claims)
    logger.info("strict mode: all %d claims reproduced", summary["total"])
    write_json(check_document("strict_check", summary), sm.output.ok)


run_step(snakemake.log[0], main)  # noqa: F821
