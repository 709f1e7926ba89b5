"""Snakemake entry point: check the paper's claims against the structural results."""

import json
from pathlib import Path

import pandas as pd

from xhs_sharing.analysis.claims import claims_document, evaluate_claims, improper_problems
from xhs_sharing.errors import XhsError
from xhs_sharing.io import run_step, write_json
from xhs_sharing.results import check_document
from xhs_sharing.study.spec import load_study


class ClaimsNotReproduced(XhsError):
    """Raised in strict mode when a claim is not reproduced."""


def main(logger):
    sm = snakemake  # noqa: F821 (provided by Snakemake)
    study = load_study(sm.input.study)
    equivalence = pd.read_csv(sm.input.equivalence).set_index("id")
    eq = {cid: row.dropna().to_dict() for cid, row in equivalence.iterrows()}
    improper = improper_problems(json.loads(Path(sm.input.fit).read_text(encoding="utf-8")))
    if improper:
        logger.warning("the structural solution is improper (%s): every claim is not reproduced",
                       "; ".join(improper))
    results = evaluate_claims(study.claims, pd.read_csv(sm.input.paths), pd.read_csv(sm.input.indirect),
                              interval="boot", equivalence=eq, improper=improper)
    doc = claims_document(results)
    logger.info("%d of %d claims reproduced", doc["reproduced"], doc["total"])
    failed = [r for r in results if not r.reproduced]
    for r in failed:
        logger.warning("claim %s not reproduced: %s", r.id, r.reason)
    if sm.params.strict and failed:
        raise ClaimsNotReproduced(
            f"strict mode: {len(failed)} of {len(results)} claims not reproduced: "
            + ", ".join(r.id for r in failed) + " (see " + sm.log[0] + ")"
        )
    write_json(check_document("claims", doc), sm.output.claims)


run_step(snakemake.log[0], main)  # noqa: F821
