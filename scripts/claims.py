"""Snakemake entry point: check the paper's claims against the structural results."""

import json
from pathlib import Path

import pandas as pd

from xhs_sharing.io import run_step, write_json
from xhs_sharing.pipeline.claims import run_claims
from xhs_sharing.results import check_document
from xhs_sharing.study.spec import load_study


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    doc, _ = run_claims(
        load_study(sm.input.study), pd.read_csv(sm.input.paths), pd.read_csv(sm.input.indirect),
        pd.read_csv(sm.input.equivalence), json.loads(Path(sm.input.fit).read_text(encoding="utf-8")),
    )
    write_json(check_document("claims", doc), sm.output.claims)


run_step(snakemake.log[0], main)  # noqa: F821
