"""The claims step: every claim of the study judged on the structural results.

Reads nothing itself: the script passes the structural tables and ``fit.json``
as values, and gets back the claims document (``results/claims.json``) and the
claims that were not reproduced (which ``strict`` mode turns into a failed run).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from xhs_sharing.analysis.claims import ClaimResult, claims_document, evaluate_claims, improper_problems
from xhs_sharing.errors import XhsError
from xhs_sharing.results import ESTIMATOR_COLUMN
from xhs_sharing.study.spec import Study

logger = logging.getLogger(__name__)


def equivalence_by_claim(equivalence: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``equivalence.csv`` as ``{claim id: {column: value}}``, empty cells left out.

    The ``estimator`` column is left out too: ``claims.json`` names the estimator once, at its top.
    """
    table = equivalence.drop(columns=[ESTIMATOR_COLUMN], errors="ignore").set_index("id")
    return {str(cid): row.dropna().to_dict() for cid, row in table.iterrows()}


def run_claims(
    study: Study,
    paths: pd.DataFrame,
    indirect: pd.DataFrame,
    equivalence: pd.DataFrame,
    fit: Mapping[str, Any],
) -> tuple[dict[str, Any], list[ClaimResult]]:
    """Judge every claim with the percentile-bootstrap intervals.

    An improper structural solution (``fit["proper"]`` false) makes every claim
    not reproduced, with the problems as the reason
    (:func:`~xhs_sharing.analysis.claims.evaluate_claims`).

    Returns
    -------
    document : dict
        The content of ``results/claims.json``; ``"estimator"`` is
        ``fit.json``'s (paths are judged by their Wald intervals, robust
        under MLR, percentile bootstrap under PLS and PLSc; indirect effects
        by the percentile bootstrap).
    failed : list of ClaimResult
        The claims not reproduced, in the study's order.
    """
    improper = improper_problems(fit)
    if improper:
        logger.warning("the structural solution is improper (%s): every claim is not reproduced",
                       "; ".join(improper))
    results = evaluate_claims(study.claims, paths, indirect, interval="boot",
                              equivalence=equivalence_by_claim(equivalence), improper=improper,
                              source=_source_name(study))
    doc = claims_document(results)
    doc["estimator"] = fit.get("estimator", "ML")
    logger.info("%d of %d claims reproduced", doc["reproduced"], doc["total"])
    failed = [r for r in results if not r.reproduced]
    for r in failed:
        logger.warning("claim %s not reproduced: %s", r.id, r.reason)
    return doc, failed


def _source_name(study: Any) -> str | None:
    """Where the claims come from (``"the paper"``), from the spec's ``source`` block; None without one."""
    source = getattr(study, "source", None)
    return source.name if source is not None else None


class ClaimsNotReproduced(XhsError):
    """Strict mode: a claim is not reproduced."""


def strict_check(doc: Mapping[str, Any], claims_file: str) -> dict[str, int]:
    """The last step of a strict run: fail, naming every claim not reproduced.

    Runs after ``results/claims.json`` and the report are written, so a CI job
    that fails on it still has both to show which claims failed.

    Raises
    ------
    ClaimsNotReproduced
        Some claim of ``doc`` (the claims document) is not reproduced.
    """
    failed = [c["id"] for c in doc["claims"] if c["verdict"] != "reproduced"]
    if failed:
        raise ClaimsNotReproduced(
            f"strict mode: {len(failed)} of {doc['total']} claims not reproduced: {', '.join(failed)} "
            f"(reasons in {claims_file} and the report)"
        )
    return {"reproduced": int(doc["reproduced"]), "total": int(doc["total"])}
