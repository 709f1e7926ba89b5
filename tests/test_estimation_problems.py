"""Estimation problems are reported as such, never as numbers that look fine.

* no numbers to show (the ML iterations do not converge, the sample
  covariance matrix is not positive definite): the stage stops with an
  :class:`EstimationError` whose message names the problem, and
  :func:`run_step` writes it to the rule's log;
* an improper but converged structural solution (here a Heywood case: an item
  with a negative residual variance): every output is written, ``fit.json``
  says ``"proper": false`` with the problems, every claim is not reproduced
  with the reason, and the report opens with a warning banner.

The data are drawn with a sample covariance matrix *equal* to a population
matrix (:func:`exact_sample`) and then rounded to a 1..9 answer scale
(:func:`likert`), so the ML solution sits next to the population one: in the
improper data item x1 of construct X has the standardized loading
sqrt(1.125), i.e. the residual variance 1 - 1.125 = -0.125 before rounding.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from report_fixtures import fixed_inputs, repo_study, write_fixture_results
from xhs_sharing.analysis import structural
from xhs_sharing.analysis.claims import IMPROPER_REASON, claims_document, evaluate_claims, improper_problems
from xhs_sharing.analysis.mediation import monte_carlo_indirect
from xhs_sharing.errors import EstimationError
from xhs_sharing.io import run_step, write_csv, write_json, write_text
from xhs_sharing.pipeline import measurement as pipeline_measurement
from xhs_sharing.pipeline import structural as stages
from xhs_sharing.pipeline.measurement import run_measurement
from xhs_sharing.pipeline.method_bias import run_method_bias
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.report.render import ReportError, build_context, render_report
from xhs_sharing.sem.objectives import sample_covariance
from xhs_sharing.study.spec import Study, study_from_dict
from xhs_sharing.study.syntax import mediation_triples

N = 300
SCALE_POINTS = 9
HEYWOOD = "negative residual variance of x1"
BANNER = "Warning: improper solution."
RUN = dict(n_boot=40, boot_seed=11, mc_seed=12, chunk_size=20, mc_draws=2000)


def _construct(cid: str, role: str) -> dict[str, Any]:
    return {"id": cid, "label": f"Construct {cid}", "definition": cid, "section": "0", "role": role,
            "items": [{"id": f"{cid.lower()}{k}", "loading": 0.8, "text": f"item {cid.lower()}{k}"} for k in (1, 2, 3)]}


def _claim(cid: str, kind: str, expected: str) -> dict[str, Any]:
    return {"id": cid, "kind": kind, "path": cid.split("->"), "expected": expected, "section": "0",
            "statement": f"claim {cid}"}


SPEC = {
    "title": "three constructs, one mediator",
    "constructs": [_construct("X", "exogenous"), _construct("M", "endogenous"), _construct("Y", "endogenous")],
    "exogenous_correlation": 0.0,
    "paths": [{"from": "X", "to": "M", "std": 0.5}, {"from": "M", "to": "Y", "std": 0.5},
              {"from": "X", "to": "Y", "std": 0.0}],
    "claims": [_claim("X->M", "path", "positive_significant"), _claim("M->Y", "path", "positive_significant"),
               _claim("X->Y", "path", "not_significant"), _claim("X->M->Y", "indirect", "positive_significant")],
}


def exact_sample(cov: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Data whose N-divisor sample covariance equals ``cov`` exactly."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, cov.shape[0]))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(sample_covariance(z))).T
    return z @ np.linalg.cholesky(cov).T


def likert(x: np.ndarray) -> np.ndarray:
    """Answers on a 1..9 scale: 5 + 1.5 x, rounded (the measurement stage takes scale points only).

    Rounding adds about 1/12 to each item's variance of 2.25: x1's residual
    variance stays clearly negative (about -0.28 + 0.08).
    """
    return np.clip(np.round(5.0 + 1.5 * x), 1, SCALE_POINTS)


def population_cov(x_loadings: tuple[float, float, float]) -> np.ndarray:
    """Unit-variance items; X -> M -> Y with standardized paths .5, .5 and 0 (latent correlations .5, .5, .25).

    ``x_loadings`` are the standardized loadings of x1-x3; every other item loads .8.
    The residual variance of an item is 1 - loading^2, negative above 1.
    """
    phi = np.array([[1.0, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 1.0]])
    lam = np.zeros((9, 3))
    lam[0:3, 0] = x_loadings
    lam[3:6, 1] = 0.8
    lam[6:9, 2] = 0.8
    cov = lam @ phi @ lam.T
    np.fill_diagonal(cov, 1.0)
    return cov


# x1 correlates .9 with x2 and x3, which correlate .72: lambda1^2 = .9 * .9 / .72 = 1.125,
# a residual variance of -0.125 (the matrix itself is positive definite).
HEYWOOD_LOADINGS = (math.sqrt(1.125), 0.9 / math.sqrt(1.125), 0.9 / math.sqrt(1.125))


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run_logged(items: pd.DataFrame, study: Study) -> tuple[stages.StructuralOutputs, list[logging.LogRecord]]:
    handler = ListHandler()
    logger = logging.getLogger("xhs_sharing")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        return run_structural(items, study, **RUN), handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@pytest.fixture(scope="module")
def study() -> Study:
    return study_from_dict(SPEC, "estimation-problems spec")


@pytest.fixture(scope="module")
def improper_items(study) -> pd.DataFrame:
    return pd.DataFrame(likert(exact_sample(population_cov(HEYWOOD_LOADINGS), N, seed=3)), columns=study.item_ids)


@pytest.fixture(scope="module")
def proper_items(study) -> pd.DataFrame:
    return pd.DataFrame(likert(exact_sample(population_cov((0.8, 0.8, 0.8)), N, seed=4)), columns=study.item_ids)


@pytest.fixture(scope="module")
def improper_run(improper_items, study):
    return run_logged(improper_items, study)


# --------------------------------------------------------------------------- improper: structural stage


def test_improper_solution_is_written_and_marked(improper_run, study, tmp_path):
    out, records = improper_run
    assert out.fit["proper"] is False
    assert out.fit["problems"] == [HEYWOOD]
    # every problem is a WARNING in the log, naming the item
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any("improper" in w.lower() and HEYWOOD in w for w in warnings), warnings
    # every output is there, with the usual shape and numbers
    assert len(out.paths) == 3 and out.paths["est"].map(math.isfinite).all()
    assert set(out.indirect_effects["effect"]) >= {"indirect", "direct", "total"}
    assert out.indirect_effects["mc_ci_low"].map(math.isfinite).all()
    assert list(out.equivalence["id"]) == ["X->Y"]
    assert out.bootstrap["requested"] == RUN["n_boot"]
    assert out.bootstrap["converged"] + out.bootstrap["failed"] == RUN["n_boot"]
    assert out.fit["estimator"] == "ML" and out.fit["n"] == N
    # and fit.json says so
    write_json(out.fit, tmp_path / "fit.json")
    doc = json.loads((tmp_path / "fit.json").read_text(encoding="utf-8"))
    assert doc["proper"] is False and doc["problems"] == [HEYWOOD]
    assert improper_problems(doc) == [HEYWOOD]


def test_improper_bootstrap_resamples_are_judged_on_their_own(improper_run, improper_items, study):
    out, records = improper_run
    b = out.bootstrap
    # x1's residual variance (about -0.16) is negative in every resample too: each is screened
    # out as improper, and the bootstrap intervals are left empty, saying why
    assert (b["converged"], b["failed"]) == (0, RUN["n_boot"])
    assert b["error"] == f"none of {RUN['n_boot']} bootstrap resamples converged (improper {RUN['n_boot']})"
    assert b["failures"] == {"improper": RUN["n_boot"]}  # issue 19: counted by reason, no longer {}
    assert any("bootstrap" in r.getMessage() and r.levelno == logging.WARNING for r in records)
    assert out.indirect_effects[["boot_ci_low", "boot_ci_high"]].isna().all().all()
    # the equivalence test of a null indirect effect then uses the Monte Carlo draws
    fit = structural.fit_structural(out.syntax, improper_items, allow_improper=True)
    mc = monte_carlo_indirect(fit, mediation_triples(study), seed=RUN["mc_seed"], n_draws=RUN["mc_draws"])
    null = study_from_dict(dict(SPEC, claims=[_claim("X->M->Y", "indirect", "not_significant")]), "null")
    eq = stages.equivalence_table(null, fit, None, 0.1, mc=mc)
    assert list(eq["kind"]) == ["indirect"] and math.isfinite(eq["ci90_low"][0]) and math.isfinite(eq["ci90_high"][0])


def test_proper_solution_records_proper_true(proper_items, study):
    out = run_structural(proper_items, study, **RUN)
    assert out.fit["proper"] is True and out.fit["problems"] == []
    assert out.bootstrap["converged"] == RUN["n_boot"] and "error" not in out.bootstrap


# --------------------------------------------------------------------------- improper: claims


def test_every_claim_is_not_reproduced_on_an_improper_solution(improper_run, study):
    out, _ = improper_run
    eq = {r["id"]: r for r in out.equivalence.to_dict("records")}
    plain = evaluate_claims(study.claims, out.paths, out.indirect_effects, equivalence=eq)
    flagged = evaluate_claims(study.claims, out.paths, out.indirect_effects, equivalence=eq,
                              improper=out.fit["problems"])
    # the interval rule alone would pass the two strong paths: the flag is what fails them
    assert {r.id for r in plain if r.reproduced} >= {"X->M", "M->Y"}
    assert [r.verdict for r in flagged] == ["not_reproduced"] * len(study.claims)
    for before, after in zip(plain, flagged):
        assert after.reason.startswith(f"{IMPROPER_REASON}: {HEYWOOD}")
        assert after.reason.startswith("the structural solution is improper: ")
        # the numbers are still reported, and the interval rule's reading kept for the record
        np.testing.assert_equal((after.estimate, after.ci_low, after.ci_high),
                                (before.estimate, before.ci_low, before.ci_high))
        assert before.reason in after.reason
    doc = claims_document(flagged)
    assert doc["reproduced"] == 0 and doc["total"] == 4


def test_improper_argument_forms(improper_run, study):
    out, _ = improper_run
    proper = [asdict(r) for r in evaluate_claims(study.claims, out.paths, out.indirect_effects)]
    for none in (None, (), [], ""):
        got = evaluate_claims(study.claims, out.paths, out.indirect_effects, improper=none)
        np.testing.assert_equal([asdict(r) for r in got], proper)
    one = evaluate_claims(study.claims, out.paths, out.indirect_effects, improper=HEYWOOD)
    assert all(r.reason.startswith(f"{IMPROPER_REASON}: {HEYWOOD};") for r in one)


def test_improper_problems_of_fit_json_documents():
    assert improper_problems({"chi2": 1.0}) == []  # written before the key existed: proper
    assert improper_problems({"proper": True, "problems": []}) == []
    assert improper_problems({"proper": False, "problems": ["a", "b"]}) == ["a", "b"]
    assert improper_problems({"proper": False}) == ["no detail recorded"]


# --------------------------------------------------------------------------- improper: report


def _write_run(root: Path, items: pd.DataFrame, study: Study, out: stages.StructuralOutputs,
               claims_improper: Any) -> Path:
    """Every result file of a run, written the way the workflow's scripts write them."""
    res = root / "results"
    m = run_measurement(items, study, SCALE_POINTS)
    write_csv(m.item_descriptives, res / "measurement" / "item_descriptives.csv")
    write_csv(m.reliability, res / "measurement" / "reliability.csv")
    write_csv(m.fornell_larcker.rename_axis("construct"), res / "measurement" / "fornell_larcker.csv", index=True)
    write_csv(m.htmt.rename_axis("construct"), res / "measurement" / "htmt.csv", index=True)
    write_csv(m.loadings, res / "measurement" / "loadings.csv")
    write_json(m.cfa_fit, res / "measurement" / "cfa_fit.json")
    write_json(m.checks, res / "measurement" / "checks.json")
    write_csv(m.residual_correlations, res / "measurement" / "residual_correlations.csv")
    write_csv(m.modindices, res / "measurement" / "modindices.csv")
    s = res / "structural"
    write_text(out.syntax, s / "model_syntax.txt")
    write_csv(out.paths, s / "paths.csv")
    write_csv(out.r2, s / "r2.csv")
    write_json(out.fit, s / "fit.json")
    write_csv(out.indirect_effects, s / "indirect_effects.csv")
    write_json(out.bootstrap, s / "bootstrap.json")
    write_csv(out.equivalence, s / "equivalence.csv")
    write_csv(out.residual_correlations, s / "residual_correlations.csv")
    write_csv(out.modindices, s / "modindices.csv")
    mb = run_method_bias(items, study, seed=1, mc_draws=200)
    write_json(mb.document, res / "measurement" / "method_bias.json")
    write_csv(mb.paths, res / "measurement" / "method_bias.csv")
    # as scripts/claims.py: the files, not the objects
    eq = pd.read_csv(s / "equivalence.csv").set_index("id")
    eq_map = {cid: row.dropna().to_dict() for cid, row in eq.iterrows()}
    results = evaluate_claims(study.claims, pd.read_csv(s / "paths.csv"), pd.read_csv(s / "indirect_effects.csv"),
                              equivalence=eq_map, improper=claims_improper)
    write_json(claims_document(results), res / "claims.json")
    return res


def _context(res: Path, study: Study) -> dict[str, Any]:
    fx = fixed_inputs()
    return build_context(res, study, fx["config_text"], yaml.safe_dump(SPEC), fx["data_source"], fx["run_info"])


def section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', html, re.S)
    assert m, sid
    return m.group(1)


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


@pytest.fixture(scope="module")
def improper_results(tmp_path_factory, improper_run, improper_items, study) -> Path:
    out, _ = improper_run
    fit = json.loads(json.dumps(out.fit))
    return _write_run(tmp_path_factory.mktemp("improper"), improper_items, study, out, improper_problems(fit))


def test_report_opens_with_the_improper_banner(improper_results, study):
    html = render_report(_context(improper_results, study))
    summary, structural_ = section(html, "summary"), section(html, "structural")
    for part, anchor in ((summary, "summary-improper"), (structural_, "structural-improper")):
        assert f'id="{anchor}"' in part and 'role="alert"' in part
        text = text_of(part)
        assert BANNER in text and HEYWOOD in text  # words, not colour only
        assert "every claim is marked not reproduced" in text
    # at the top: the banner comes before anything else of the section
    assert summary.index(BANNER) < summary.index("This report runs the analysis of the study specification")
    assert structural_.index(BANNER) < structural_.index("<figure")
    # the claims carry the verdict and the reason
    claims = text_of(section(html, "claims"))
    assert claims.count("the structural solution is improper: " + HEYWOOD) == 4
    tally = re.search(r"0 of 4 claims [^.]*", text_of(summary)).group(0)
    assert tally == "0 of 4 claims consistent with the hypotheses (synthetic data, by design)"  # not "reproduced"
    # the measurement stage flags the same Heywood case as a failed check, and the report shows it
    measurement = section(html, "measurement")
    problems = text_of(re.search(r'<div class="callout warn" id="measurement-problems">(.*?)</div>', measurement,
                                 re.S).group(1))
    assert "\u2717 fail residual_variance (X, item x1)" in problems
    assert "Heywood case" in problems


def test_measurement_heywood_case_is_a_failed_check(improper_items, study):
    checks = run_measurement(improper_items, study, SCALE_POINTS).checks
    failed = [c for c in checks["checks"] if c["status"] == "fail"]
    assert [(c["check"], c["item"]) for c in failed] == [("residual_variance", "x1")]
    assert failed[0]["value"] < -0.02
    assert checks["failed"] == 1


def test_report_refuses_claims_reproduced_on_an_improper_solution(tmp_path, improper_run, improper_items, study):
    out, _ = improper_run
    res = _write_run(tmp_path, improper_items, study, out, claims_improper=None)  # claims stage blind to it
    with pytest.raises(ReportError, match="improper .* claims.json counts"):
        _context(res, study)


def test_report_without_the_key_is_proper(tmp_path):
    # fit.json written before "proper" existed (the report fixtures write none): no banner
    rstudy, text = repo_study()
    out = write_fixture_results(tmp_path, rstudy, with_montecarlo=False)
    assert "proper" not in json.loads((out["results"] / "structural" / "fit.json").read_text(encoding="utf-8"))
    fx = fixed_inputs()
    ctx = build_context(out["results"], rstudy, fx["config_text"], text, fx["data_source"], fx["run_info"])
    assert ctx["structural"]["proper"] is True and ctx["structural"]["improper"] == []
    assert BANNER not in render_report(ctx)


# --------------------------------------------------------------------------- no numbers: the stage stops


def _run_step_error(tmp_path: Path, step, capsys) -> str:
    """Run ``step`` as a workflow script does; return the ERROR line of its log (which stderr repeats)."""
    log = tmp_path / "logs" / "structural.log"
    logger = logging.getLogger("xhs_sharing")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        with pytest.raises(SystemExit) as exit_:
            run_step(log, step)
    finally:  # run_step points the package logger at the log file only: undo that for the other tests
        for h in list(logger.handlers):
            logger.removeHandler(h)
            if h not in saved[0]:
                h.close()
        for h in saved[0]:
            logger.addHandler(h)
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    text = log.read_text(encoding="utf-8")
    assert re.search(r" ERROR .+", text) and "Traceback" not in text
    message = re.search(r" ERROR (.+)", text).group(1)
    assert f"error: {message}" in err
    return message


def test_non_convergence_of_the_structural_fit_stops_the_stage(proper_items, study, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(stages, "fit_structural", functools.partial(structural.fit_structural, max_iter=1))
    with pytest.raises(EstimationError, match=r"ML estimation did not converge in 1 iterations"):
        run_structural(proper_items, study, **RUN)
    message = _run_step_error(tmp_path, lambda logger: run_structural(proper_items, study, **RUN), capsys)
    assert "did not converge" in message


def test_non_pd_sample_covariance_stops_the_stage(proper_items, study, tmp_path, capsys):
    items = proper_items.copy()
    items["m3"] = items["m2"]  # the same answers twice: the sample covariance matrix is singular
    pattern = r"sample covariance matrix of the 9 indicators is not positive definite"
    with pytest.raises(EstimationError, match=pattern) as exc:
        run_structural(items, study, **RUN)
    assert "items involved: m2, m3" in str(exc.value) or "items involved: m3, m2" in str(exc.value)
    message = _run_step_error(tmp_path, lambda logger: run_structural(items, study, **RUN), capsys)
    assert re.search(pattern, message)
    # a constant item too
    items = proper_items.assign(y2=3.0)  # everyone answers 3
    with pytest.raises(EstimationError, match=r"not positive definite .*items involved: y2\)"):
        run_structural(items, study, **RUN)


def test_unidentified_structural_model_stops_the_stage(tmp_path, capsys):
    # X has two items and correlates with nothing: empirically not identified
    spec = dict(SPEC, constructs=[dict(_construct("X", "exogenous"), items=_construct("X", "exogenous")["items"][:2]),
                                  _construct("M", "endogenous"), _construct("Y", "endogenous")])
    study = study_from_dict(spec, "unidentified")
    phi = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.5, 1.0]])
    lam = np.zeros((8, 3))
    lam[0:2, 0] = lam[2:5, 1] = lam[5:8, 2] = 0.8
    cov = lam @ phi @ lam.T
    np.fill_diagonal(cov, 1.0)
    items = pd.DataFrame(exact_sample(cov, N, seed=5), columns=study.item_ids)
    pattern = r"the structural model cannot be estimated: information matrix .*identified"
    with pytest.raises(EstimationError, match=pattern):
        run_structural(items, study, **RUN)
    assert re.search(pattern, _run_step_error(tmp_path, lambda logger: run_structural(items, study, **RUN), capsys))


def test_non_convergence_of_the_cfa_stops_the_measurement_stage(proper_items, study, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(pipeline_measurement, "fit_cfa", functools.partial(pipeline_measurement.fit_cfa, max_iter=1))
    with pytest.raises(EstimationError, match="did not converge"):
        run_measurement(proper_items, study, SCALE_POINTS)
    message = _run_step_error(tmp_path, lambda logger: run_measurement(proper_items, study, SCALE_POINTS), capsys)
    assert "did not converge" in message


def test_singular_sample_covariance_stops_the_measurement_stage(proper_items, study, tmp_path, capsys):
    # the CFA has no check of its own for a singular sample covariance matrix: the ML
    # start fails ("start has non-PD Sigma") and the stage stops with that EstimationError
    items = proper_items.copy()
    items["m3"] = items["m2"]
    with pytest.raises(EstimationError, match="non-PD Sigma|not positive definite|singular|identified"):
        run_measurement(items, study, SCALE_POINTS)
    _run_step_error(tmp_path, lambda logger: run_measurement(items, study, SCALE_POINTS), capsys)

