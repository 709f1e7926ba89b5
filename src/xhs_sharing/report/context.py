"""The context of the report template: every result file read, cross-checked and formatted.

:func:`build_context` reads every result file of a run
(:mod:`xhs_sharing.report.read`), checks that they agree with each other and
with the study spec, formats every number the way an APA table does
(``0.23``, ``[0.12, 0.34]``, ``p = .023``, ``p < .001``) and draws the figures
as inline SVG (:mod:`xhs_sharing.report.figures`). The context is plain data:
strings, numbers, lists and dicts, plus the sanitized SVG wrapped in
:class:`markupsafe.Markup`. Nothing in it depends on the clock or the machine
except what ``run_info`` says, so the same inputs give the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from xhs_sharing.analysis.claims import improper_problems
from xhs_sharing.report import figures
from xhs_sharing.report.format import DASH
from xhs_sharing.report.read import (
    ReportError,
    read_diagnostics,
    read_montecarlo,
    read_pls,
    read_results,
    read_robustness,
)
from xhs_sharing.report.sections.claims import claims_view
from xhs_sharing.report.sections.estimation import estimation_view
from xhs_sharing.report.sections.limitations import limitations_view
from xhs_sharing.report.sections.measurement import fit_by_construction, measurement_view
from xhs_sharing.report.sections.method_bias import method_bias_view
from xhs_sharing.report.sections.montecarlo import montecarlo_section
from xhs_sharing.report.sections.pls import pls_view
from xhs_sharing.report.sections.provenance import data_view, provenance_view
from xhs_sharing.report.sections.robustness import robustness_section
from xhs_sharing.report.sections.source import source_view
from xhs_sharing.report.sections.structural import bootstrap_failure_text, mediation_view, structural_view
from xhs_sharing.report.tables import fit_cutoffs
from xhs_sharing.study.spec import Study

SECTIONS = (
    ("summary", "Summary"),
    ("claims", "Claims"),
    ("measurement", "Measurement model"),
    ("structural", "Structural model"),
    ("estimation", "Estimation and diagnostics"),
    ("mediation", "Mediation"),
    ("method-bias", "Common-method bias"),
    ("qualitative", "Qualitative evidence"),
    ("provenance", "Provenance"),
    ("limitations", "Limitations"),
)
"""Section ids and headings, in page order (``montecarlo`` is added before
``provenance`` when Monte Carlo results are given or the study was skipped;
``qualitative`` is left out when the spec lists no qualitative evidence)."""


def _sections(with_montecarlo: bool, with_qualitative: bool = True,
              with_robustness: bool = False) -> list[dict[str, str]]:
    sections = [s for s in SECTIONS if with_qualitative or s[0] != "qualitative"]
    if with_robustness:
        sections.insert(sections.index(("claims", "Claims")) + 1, ("robustness", "Robustness"))
    if with_montecarlo:
        sections.insert(sections.index(("provenance", "Provenance")), ("montecarlo", "Monte Carlo study"))
    return [{"id": s, "title": t} for s, t in sections]


def _check_improper(res: dict[str, Any], claims: dict[str, Any]) -> None:
    """An improper structural solution reproduces no claim; claims.json saying otherwise ran on other results."""
    improper = improper_problems(res["fit"])
    if improper and claims["reproduced"]:
        raise ReportError(f"fit.json says the structural solution is improper ({'; '.join(improper)}) but "
                          f"claims.json counts {claims['reproduced']} claim(s) reproduced: the claims stage ran "
                          "on other results; rerun it")


def _figures(res: dict[str, Any], study: Study, measurement: dict[str, Any], structural: dict[str, Any]) -> dict[str, Markup]:
    return {
        "htmt": Markup(figures.htmt_heatmap(res["htmt"], float(measurement["htmt_threshold"]))),
        "paths": Markup(figures.path_diagram(study, res["paths"], structural["r2_values"])),
        "forest": Markup(figures.forest_plot(res["indirect"])),
        "residuals": Markup(figures.residual_heatmap(res["sem_residual_correlations"], list(study.item_ids))
                            if not res["sem_residual_correlations"].empty else ""),
    }


def _captions(res: dict[str, Any], study: Study) -> dict[str, str]:
    """Figure captions generated from the fitted model (the path diagram's says what is estimated and fixed)."""
    return {"paths": figures.path_diagram_caption(study, str(res["model_syntax"]))}


TOP_FAILURE_SHARE = 0.01
"""Share of failed bootstrap resamples from which the top of the report says so (the mediation section always
does): below it, even if every failure came from one tail, a 95% interval's end moves by under one percentile."""


def weakened_view(diagnostics: dict[str, Any] | None, bootstrap: dict[str, Any]) -> list[str]:
    """What weakens the model, for the callout at the top of the report.

    The diagnostics' findings that weaken the model (and the likely cause),
    and the failed bootstrap resamples with the bias caveat from
    :data:`TOP_FAILURE_SHARE` on.
    """
    found = [f["message"] for f in (diagnostics or {}).get("findings", []) if f.get("severity") == "weakens"]
    if (diagnostics or {}).get("likely_cause") and found:
        found.append(diagnostics["likely_cause"])
    failed, requested = bootstrap.get("failed") or 0, bootstrap.get("requested") or 0
    if requested and failed >= TOP_FAILURE_SHARE * requested:
        found.append(bootstrap_failure_text(bootstrap))
    return found


def build_context(
    results_dir: Path,
    study: Study,
    config_text: str,
    study_text: str,
    data_source: dict[str, Any],
    run_info: dict[str, Any],
    montecarlo_dir: Path | None = None,
    robustness_dir: Path | None = None,
) -> dict[str, Any]:
    """Everything the report template needs, read from the result files and formatted.

    Parameters
    ----------
    results_dir : Path
        Directory holding the files of :data:`xhs_sharing.results.REPORT_RESULTS`.
    study : Study
        The study spec the run used.
    config_text, study_text : str
        Raw text of ``config.yaml`` and ``study.yaml`` (shown in full in the provenance section).
    data_source : dict
        ``kind`` ("synthetic" | "observed"), ``path``, ``sha256``, ``n_rows``, ``dropped_rows``.
    run_info : dict
        ``seed, python, packages, started, finished, run_time_s, command, inputs, outputs``.
    montecarlo_dir : Path, optional
        Directory holding the files of :data:`xhs_sharing.results.MONTECARLO_RESULTS`; the Monte
        Carlo section is rendered only when given.
    robustness_dir : Path, optional
        Directory holding the files of :data:`xhs_sharing.results.ROBUSTNESS_RESULTS`; the
        robustness section (after the claims) is rendered only when given.

    Raises
    ------
    ReportError
        A result file is missing or malformed, or the files disagree (claims vs. spec, tallies,
        claims reproduced on a structural solution ``fit.json`` marks improper).

    Notes
    -----
    ``structural.improper`` lists the problems of an improper structural
    solution (``"proper": false`` in ``fit.json``; a file without the key
    counts as proper); the template shows them in a warning banner at the top
    of the summary and of the structural section.
    """
    res = read_results(Path(results_dir))
    data = data_view(data_source)
    claims = claims_view(res, study, synthetic=not data["observed"])
    _check_improper(res, claims)
    measurement = measurement_view(res, study)
    structural = structural_view(res, fit_cutoffs(res["checks"].get("checks", [])), study)
    mc = read_montecarlo(Path(montecarlo_dir)) if montecarlo_dir is not None else None
    rob = read_robustness(Path(robustness_dir)) if robustness_dir is not None else None
    hashes = dict(res["hashes"], **(mc["hashes"] if mc else {}), **(rob["hashes"] if rob else {}))
    montecarlo = montecarlo_section(mc, study, data["n"])
    return {
        "title": study.title,
        "citation": study.citation,
        "source": source_view(study),
        "sections": _sections(montecarlo is not None, bool(study.qualitative), rob is not None),
        "data": data,
        "claims": claims,
        "model": {"n_constructs": len(study.constructs), "n_items": len(study.items), "n_paths": len(study.paths),
                  "n_claims": len(study.claims)},
        "measurement": measurement,
        "structural": structural,
        "mediation": mediation_view(res),
        "weakened": weakened_view(read_diagnostics(Path(results_dir)), res["bootstrap"]),
        "estimation": estimation_view(res, run_info),
        "method_bias": method_bias_view(res),
        "qualitative": [{"section": q.get("section", ""), "hypotheses": q.get("hypotheses", ""),
                         "evidence": q.get("evidence", "")} for q in study.qualitative],
        "limitations": limitations_view(study, claims["rows"], data),
        "montecarlo": montecarlo,
        "robustness": robustness_section(rob, study),
        "pls": pls_view(read_pls(Path(results_dir))),
        "provenance": provenance_view(run_info, config_text, study_text, data, hashes),
        "generated": run_info.get("finished") or run_info.get("started") or DASH,
        "figures": _figures(res, study, measurement, structural),
        "captions": _captions(res, study),
        "fit_caveat": fit_by_construction(study, not data["observed"], data_source.get("scale_points")),
    }
