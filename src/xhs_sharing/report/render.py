"""The replication report: one self-contained HTML file.

:func:`build_context` reads every result file of a run, checks that they
agree with each other and with the study spec, formats every number the way
an APA table does (``0.23``, ``[0.12, 0.34]``, ``p = .023``, ``p < .001``) and
draws the figures as inline SVG (:mod:`xhs_sharing.report.figures`). The context is
plain data: strings, numbers, lists and dicts, plus the sanitized SVG wrapped
in :class:`markupsafe.Markup`. :func:`render_report` renders it with Jinja2,
autoescape on, so any text from the spec or the result files (labels, claim
statements, file names) is escaped; the only unescaped content is the SVG
that :func:`xhs_sharing.report.figures.sanitize_svg` has reduced to inert markup.

The page fetches nothing: CSS is inline, figures are inline SVG, there is no
script, and a Content-Security-Policy ``default-src 'none'`` forbids any
request a future edit might add. Nothing in the output depends on the clock or
the machine except what ``run_info`` says, so the same inputs give the same
bytes.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from xhs_sharing.analysis.claims import improper_problems
from xhs_sharing.errors import XhsError
from xhs_sharing.io import sha256_file, write_text
from xhs_sharing.report.format import (
    DASH,
    _finite,
    arrow,
    cell,
    claim_anchors,
    col,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_p_eq,
    fmt_threshold,
    num,
    passes,
    stars,
    status_badge,
)
from xhs_sharing.study.spec import Study

from . import figures

TEMPLATE_DIR: Path | None = None
"""Default template directory: None reads ``xhs_sharing/report/templates`` (package data)."""


TEMPLATE_NAME = "report.html.j2"


REPORT_PACKAGES = (
    "xhs-sharing", "numpy", "scipy", "pandas", "semopy", "pingouin", "matplotlib",
    "jinja2", "pyyaml", "jsonschema", "snakemake",
)
"""Packages whose versions the provenance section lists by default."""


RESULT_FILES = {
    "item_descriptives": "measurement/item_descriptives.csv",
    "reliability": "measurement/reliability.csv",
    "fornell_larcker": "measurement/fornell_larcker.csv",
    "htmt": "measurement/htmt.csv",
    "loadings": "measurement/loadings.csv",
    "cfa_fit": "measurement/cfa_fit.json",
    "checks": "measurement/checks.json",
    "paths": "structural/paths.csv",
    "r2": "structural/r2.csv",
    "fit": "structural/fit.json",
    "indirect": "structural/indirect_effects.csv",
    "bootstrap": "structural/bootstrap.json",
    "equivalence": "structural/equivalence.csv",
    "model_syntax": "structural/model_syntax.txt",
    "claims": "claims.json",
}
"""Every file the report reads under the results directory."""


MONTECARLO_FILES = {
    "claim_reproduction": "claim_reproduction.csv",
    "joint_reproduction": "joint_reproduction.csv",
    "power": "power.json",
}
"""Files read under the Monte Carlo directory, when one is given."""


SECTIONS = (
    ("summary", "Summary"),
    ("claims", "Claims"),
    ("measurement", "Measurement model"),
    ("structural", "Structural model"),
    ("mediation", "Mediation"),
    ("qualitative", "Qualitative evidence"),
    ("provenance", "Provenance"),
    ("limitations", "Limitations"),
)
"""Section ids and headings, in page order (``montecarlo`` is added before
``provenance`` when Monte Carlo results are given)."""


FIT_DEFAULTS = {
    "cfi": (">=", 0.95, "Hu & Bentler (1999)"),
    "tli": (">=", 0.95, "Hu & Bentler (1999)"),
    "rmsea": ("<=", 0.06, "Hu & Bentler (1999)"),
    "srmr": ("<=", 0.08, "Hu & Bentler (1999)"),
    "chi2_df": ("<=", 3.0, "Kline (2016)"),
}
"""Fit thresholds used when ``checks.json`` has no check for an index."""


HTMT_DEFAULT = 0.85


LOADING_DEFAULT = 0.70


EXPECTED_TEXT = {
    "positive_significant": "positive, significant",
    "negative_significant": "negative, significant",
    "not_significant": "not significant",
}


MEDIATION_TYPES = {
    "complementary": "complementary (partial) mediation",
    "competitive": "competitive (partial) mediation",
    "indirect_only": "indirect-only (full) mediation",
    "direct_only": "direct-only (no mediation)",
    "no_effect": "no effect (no mediation)",
}
"""Zhao, Lynch & Chen (2010) mediation types, as written in the report."""


class ReportError(XhsError):
    """The result files of a run are missing, malformed or disagree with each other."""


def package_versions(names: Iterable[str] = REPORT_PACKAGES) -> dict[str, str]:
    """Installed version of each named distribution (``"not installed"`` when absent)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ReportError(f"result file {path} not found: run the stages that produce it before the report")
    return path


def _csv(path: Path, columns: Iterable[str], **kw: Any) -> pd.DataFrame:
    try:
        frame = pd.read_csv(_need(path), **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a readable CSV table: {exc}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def _json(path: Path, keys: Iterable[str] = ()) -> Any:
    try:
        doc = json.loads(_need(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON: {exc}") from None
    missing = [k for k in keys if k not in doc]
    if missing:
        raise ReportError(f"{path}: missing key(s) {missing}")
    return doc


FIT_KEYS = ("chi2", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_low", "rmsea_ci_high", "srmr", "n")


def read_results(results_dir: Path) -> dict[str, Any]:
    """Read and shape-check every result file of :data:`RESULT_FILES`."""
    r = Path(results_dir)
    p = {key: r / rel for key, rel in RESULT_FILES.items()}
    text_cols = {"construct": str, "item": str, "x": str, "mediator": str, "y": str, "effect": str,
                 "mediation_type": str, "lhs": str, "rhs": str, "op": str, "variable": str, "id": str,
                 "kind": str, "verdict": str}
    out: dict[str, Any] = {}
    desc = _csv(p["item_descriptives"], ("construct", "item", "n", "mean", "sd", "skewness", "kurtosis", "citc"),
                dtype=text_cols)
    out["item_descriptives"] = desc
    out["reliability"] = _csv(p["reliability"], ("construct", "alpha", "alpha_ci_low", "alpha_ci_high", "cr", "ave", "sqrt_ave"),
                              dtype=text_cols)
    for key in ("fornell_larcker", "htmt"):
        frame = _csv(p[key], ("construct",), dtype={"construct": str}).set_index("construct")
        frame.index = frame.index.astype(str)
        if sorted(frame.index) != sorted(frame.columns):
            raise ReportError(f"{p[key]}: not a square matrix (rows {list(frame.index)}, columns {list(frame.columns)})")
        out[key] = frame.loc[list(frame.columns)].astype(float)
    out["loadings"] = _csv(p["loadings"], ("construct", "item", "est", "se", "z", "pvalue", "std_all"), dtype=text_cols)
    out["cfa_fit"] = _json(p["cfa_fit"], FIT_KEYS)
    out["checks"] = _json(p["checks"], ("checks",))
    out["paths"] = _csv(p["paths"], ("lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all", "ci_low", "ci_high"),
                        dtype=text_cols)
    out["r2"] = _csv(p["r2"], ("variable", "r2"), dtype=text_cols)
    out["fit"] = _json(p["fit"], FIT_KEYS)
    ind = _csv(p["indirect"], ("x", "mediator", "y", "effect", "est", "std_est", "boot_ci_low", "boot_ci_high",
                               "mc_ci_low", "mc_ci_high", "mediation_type"), dtype=text_cols)
    for c in ("mediator", "mediation_type"):
        ind[c] = ind[c].fillna("").astype(str)
    out["indirect"] = ind
    out["bootstrap"] = _json(p["bootstrap"], ("requested", "converged", "failed"))
    out["equivalence"] = _csv(p["equivalence"], ("id", "kind", "estimate", "ci90_low", "ci90_high", "sesoi", "pvalue", "verdict"),
                              dtype=text_cols)
    out["model_syntax"] = _need(p["model_syntax"]).read_text(encoding="utf-8")
    out["claims"] = _json(p["claims"], ("claims", "reproduced", "total"))
    out["hashes"] = {rel: sha256_file(p[key]) for key, rel in RESULT_FILES.items()}
    return out


def read_montecarlo(mc_dir: Path) -> dict[str, Any]:
    """Read the Monte Carlo result files of :data:`MONTECARLO_FILES`."""
    d = Path(mc_dir)
    return {
        "claim_reproduction": _csv(d / MONTECARLO_FILES["claim_reproduction"],
                                   ("claim_id", "n", "replications", "converged", "reproduction_rate", "ci_low", "ci_high"),
                                   dtype={"claim_id": str}),
        "joint_reproduction": _csv(d / MONTECARLO_FILES["joint_reproduction"],
                                   ("n", "replications", "joint_rate", "ci_low", "ci_high")),
        "power": _json(d / MONTECARLO_FILES["power"]),
        "hashes": {f"montecarlo/{rel}": sha256_file(d / rel) for rel in MONTECARLO_FILES.values()},
    }


def _check_index(checks: list[dict[str, Any]]) -> dict[tuple[str | None, str], dict[str, Any]]:
    """(construct, statistic) -> check (the first of each pair)."""
    index: dict[tuple[str | None, str], dict[str, Any]] = {}
    for c in checks:
        index.setdefault((c.get("construct"), str(c.get("statistic", "")).lower()), c)
    return index


def _check_cell(value: Any, check: dict[str, Any] | None, digits: int = 2) -> dict[str, Any]:
    """A number cell marked with the status of its check (text marker + colour class)."""
    c = num(value, digits)
    if check is not None:
        badge = status_badge(check.get("status"))
        c["cls"] += f" st-{badge['cls']}"
        c["mark"] = {"pass": "\u2713", "fail": "\u2717", "failed": "\u2717", "warning": "!"}.get(str(check.get("status")), "")
        c["title"] = f"{check.get('check', '')}: {badge['text']} ({fmt_threshold(check.get('comparison'), check.get('threshold'))})"
    return c


def _fit_table(fit: Mapping[str, Any], caption: str, checks_index: Mapping[tuple[str | None, str], dict[str, Any]] | None) -> dict[str, Any]:
    """Fit indices with their thresholds and a pass/fail status."""
    chi2_df = float(fit["chi2"]) / float(fit["df"]) if _finite(fit.get("chi2")) and _finite(fit.get("df")) and float(fit["df"]) > 0 else float("nan")
    values = {"cfi": fit.get("cfi"), "tli": fit.get("tli"), "rmsea": fit.get("rmsea"), "srmr": fit.get("srmr"), "chi2_df": chi2_df}
    shown = {
        "chi2_df": ("\u03c7\u00b2/df", fmt_num(chi2_df, 2)),
        "cfi": ("CFI", fmt_num(fit.get("cfi"), 3)),
        "tli": ("TLI", fmt_num(fit.get("tli"), 3)),
        "rmsea": ("RMSEA [90% CI]", f"{fmt_num(fit.get('rmsea'), 3)} {fmt_ci(fit.get('rmsea_ci_low'), fit.get('rmsea_ci_high'), 3)}"),
        "srmr": ("SRMR", fmt_num(fit.get("srmr"), 3)),
    }
    rows = [{"cells": [cell(f"\u03c7\u00b2({fmt_int(fit.get('df'))})", header=True),
                       cell(f"{fmt_num(fit.get('chi2'), 2)}, {fmt_p_eq(fit.get('pvalue'))}", "num"),
                       cell("not significant (exact fit; sensitive to n)"), cell(DASH)]}]
    problems = []
    for key in ("chi2_df", "cfi", "tli", "rmsea", "srmr"):
        check = (checks_index or {}).get((None, key))
        if check is not None and _finite(check.get("threshold")):
            comp, thr, ref = str(check.get("comparison")), float(check["threshold"]), str(check.get("reference") or "")
            status = str(check.get("status"))
        else:
            comp, thr, ref = FIT_DEFAULTS[key]
            ok = passes(values[key], comp, thr)
            status = "warning" if ok is None else ("pass" if ok else "fail")
        label, text = shown[key]
        badge = status_badge(status)
        if badge["cls"] != "ok":
            problems.append(f"{label}: {badge['text']}")
        rows.append({"cells": [cell(label, header=True), cell(text, "num"),
                               cell(f"{fmt_threshold(comp, thr, 3 if key != 'chi2_df' else 1)} ({ref})" if ref else fmt_threshold(comp, thr)),
                               cell(badge["text"], "badge-cell", badge=badge)]})
    rows.append({"cells": [cell("n", header=True), cell(fmt_int(fit.get("n")), "num"), cell(DASH), cell(DASH)]})
    if _finite(fit.get("baseline_chi2")):
        rows.append({"cells": [cell(f"Baseline \u03c7\u00b2({fmt_int(fit.get('baseline_df'))})", header=True),
                               cell(fmt_num(fit.get("baseline_chi2"), 2), "num"), cell(DASH), cell(DASH)]})
    return {
        "caption": caption,
        "columns": [col("Index"), col("Value", "num"), col("Threshold"), col("Status")],
        "rows": rows,
        "problems": problems,
        "note": "Thresholds from checks.json where it has a check for the index, else the conventional cut-offs named. "
                "The 90% interval of RMSEA is shown in brackets.",
    }


def _matrix_table(matrix: pd.DataFrame, caption: str, flag: Any, digits: int = 2, diag_bold: bool = True, note: str = "") -> dict[str, Any]:
    """Lower-triangular matrix table; ``flag(i, j, value)`` returns a status or None."""
    ids = list(matrix.columns)
    rows = []
    for i, a in enumerate(ids):
        cells = [cell(a, header=True)]
        for j, b in enumerate(ids):
            if j > i:
                cells.append(cell("", "num"))
                continue
            v = float(matrix.loc[a, b])
            c = num(v, digits)
            if i == j and diag_bold:
                c["cls"] += " diag"
            status = flag(i, j, v)
            if status:
                badge = status_badge(status)
                c["cls"] += f" st-{badge['cls']}"
                c["mark"] = "\u2717" if badge["cls"] == "bad" else "!"
            cells.append(c)
        rows.append({"cells": cells})
    return {"caption": caption, "columns": [col("")] + [col(c, "num") for c in ids], "rows": rows, "note": note}


def _measurement(res: dict[str, Any], study: Study) -> dict[str, Any]:
    checks = list(res["checks"].get("checks", []))
    cindex = _check_index(checks)

    constructs = {
        "caption": "Constructs of the study specification",
        "columns": [col("Construct"), col("Label"), col("Role"), col("Paper section"), col("Items", "num"), col("Definition")],
        "rows": [{"cells": [cell(c.id, header=True), cell(c.label), cell(c.role), cell(c.section, "num"),
                            cell(len(c.items), "num"), cell(c.definition, "text")]} for c in study.constructs],
        "note": "Item wordings and population values were written for this package after the paper's construct descriptions; "
                "they are not the paper's questionnaire.",
    }

    desc = res["item_descriptives"]
    pcols = sorted((c for c in desc.columns if re.fullmatch(r"p\d+", c)), key=lambda c: int(c[1:]))
    wording = {it.id: (it.text + (" (reverse-coded)" if it.reverse else "")) for it in study.items}
    rows = []
    for r in desc.itertuples(index=False):
        d = r._asdict()
        props = [float(d[c]) if _finite(d[c]) else float("nan") for c in pcols]
        total = sum(v for v in props if math.isfinite(v))
        if pcols and abs(total - 1.0) < 0.02:
            pct = [v * 100 for v in props]
        elif pcols and _finite(d["n"]) and float(d["n"]) > 0 and abs(total - float(d["n"])) < 0.5:
            pct = [100 * v / float(d["n"]) for v in props]
        else:
            pct = props
        rows.append({"cells": [cell(d["construct"]), cell(d["item"], header=True), cell(wording.get(str(d["item"]), DASH), "text"),
                               cell(fmt_int(d["n"]), "num"), num(d["mean"]), num(d["sd"]), num(d["skewness"]), num(d["kurtosis"])]
                     + [num(v, 0) for v in pct] + [num(d["citc"])]})
    descriptives = {
        "caption": "Item descriptives",
        "columns": [col("Construct"), col("Item"), col("Wording"), col("n", "num"), col("M", "num"), col("SD", "num"),
                    col("Skew", "num"), col("Kurt.", "num")] + [col(f"% {c[1:]}", "num") for c in pcols] + [col("CITC", "num")],
        "rows": rows,
        "note": "% k: share of answers at scale point k. Kurt.: excess kurtosis. CITC: corrected item-total correlation. "
                "Reverse-coded items are described after recoding.",
    }

    rel_rows = []
    for r in res["reliability"].itertuples(index=False):
        d = r._asdict()
        cid = str(d["construct"])
        rel_rows.append({"cells": [
            cell(cid, header=True),
            _check_cell(d["alpha"], cindex.get((cid, "alpha"))),
            cell(fmt_ci(d["alpha_ci_low"], d["alpha_ci_high"]), "num"),
            _check_cell(d["cr"], cindex.get((cid, "cr"))),
            _check_cell(d["ave"], cindex.get((cid, "ave"))),
            _check_cell(d["sqrt_ave"], cindex.get((cid, "sqrt_ave"))),
        ]})
    thresholds = []
    for stat, label in (("alpha", "\u03b1"), ("cr", "CR"), ("ave", "AVE")):
        c = next((c for c in checks if str(c.get("statistic", "")).lower() == stat and _finite(c.get("threshold"))), None)
        if c is not None:
            thresholds.append(f"{label} {fmt_threshold(c.get('comparison'), c.get('threshold'))}"
                              + (f" ({c.get('reference')})" if c.get("reference") else ""))
    reliability = {
        "caption": "Reliability and convergent validity",
        "columns": [col("Construct"), col("Cronbach's \u03b1", "num"), col("\u03b1 95% CI", "num"), col("CR", "num"),
                    col("AVE", "num"), col("\u221aAVE", "num")],
        "rows": rel_rows,
        "note": ("Thresholds from checks.json: " + "; ".join(thresholds) + ". " if thresholds else "")
                + "\u2713 passes its check, \u2717 fails it, ! warning. CR: composite reliability; AVE: average variance extracted.",
    }

    fl = res["fornell_larcker"]
    diag = {c: float(fl.loc[c, c]) for c in fl.columns}
    ids = list(fl.columns)

    def fl_flag(i: int, j: int, v: float) -> str | None:
        if i == j:
            return None
        return "fail" if abs(v) >= min(diag[ids[i]], diag[ids[j]]) else None

    fornell = _matrix_table(fl, "Fornell\u2013Larcker criterion", fl_flag,
                            note="Diagonal (bold): \u221aAVE; below it: correlations between constructs. "
                                 "\u2717 marks a correlation not below the \u221aAVE of both constructs.")

    htmt_check = next((c for c in checks if str(c.get("statistic", "")).lower() == "htmt" and _finite(c.get("threshold"))), None)
    htmt_thr = float(htmt_check["threshold"]) if htmt_check else HTMT_DEFAULT
    hm = res["htmt"]

    def htmt_flag(i: int, j: int, v: float) -> str | None:
        return "fail" if i != j and v > htmt_thr else None

    htmt = _matrix_table(hm, "Heterotrait\u2013monotrait ratios (HTMT)", htmt_flag, diag_bold=False,
                         note=f"\u2717 marks a ratio above {fmt_num(htmt_thr)}"
                              + (f" ({htmt_check.get('reference')})" if htmt_check and htmt_check.get("reference") else " (Henseler et al., 2015)")
                              + ": discriminant validity in doubt.")

    load_check = next((c for c in checks if "loading" in str(c.get("statistic", "")).lower() and _finite(c.get("threshold"))), None)
    load_thr = float(load_check["threshold"]) if load_check else LOADING_DEFAULT
    lrows = []
    for r in res["loadings"].itertuples(index=False):
        d = r._asdict()
        std_cell = num(d["std_all"])
        if _finite(d["std_all"]) and float(d["std_all"]) < load_thr:
            std_cell["cls"] += " st-warn"
            std_cell["mark"] = "!"
        lrows.append({"cells": [cell(d["construct"]), cell(d["item"], header=True), num(d["est"], 3), num(d["se"], 3),
                                num(d["z"], 2), cell(fmt_p(d["pvalue"]), "num"), std_cell]})
    loadings = {
        "caption": "Factor loadings (confirmatory factor analysis)",
        "columns": [col("Construct"), col("Item"), col("B", "num"), col("SE", "num"), col("z", "num"), col("p", "num"),
                    col("\u03bb (std.)", "num")],
        "rows": lrows,
        "note": f"B: unstandardized loading (the first item of each construct is fixed to 1, so it has no SE). "
                f"\u03bb: completely standardized loading; ! marks \u03bb below {fmt_num(load_thr)}.",
    }

    check_rows = []
    order = {"fail": 0, "failed": 0, "warning": 1}
    for c in sorted(checks, key=lambda c: order.get(str(c.get("status")), 2)):
        badge = status_badge(c.get("status"))
        check_rows.append({"cls": f"row-{badge['cls']}", "cells": [
            cell(c.get("check"), header=True), cell(c.get("construct") if c.get("construct") is not None else DASH),
            cell(c.get("item") or DASH), cell(c.get("statistic")), num(c.get("value"), 3),
            cell(fmt_threshold(c.get("comparison"), c.get("threshold"))),
            cell(badge["text"], "badge-cell", badge=badge), cell(c.get("reference") or DASH, "text")]})

    def where(c: Mapping[str, Any]) -> str:
        parts = [str(c["construct"])] if c.get("construct") else []
        parts += [f"item {c['item']}"] if c.get("item") else []
        return f" ({', '.join(parts)})" if parts else ""

    def heywood(c: Mapping[str, Any]) -> str:
        if str(c.get("statistic")) == "resid_var" and str(c.get("status")) in ("fail", "failed"):
            return " (a Heywood case: a negative residual variance, the CFA solution is improper)"
        return ""

    problems = [{"badge": status_badge(c.get("status")),
                 "text": f"{c.get('check')}" + where(c)
                         + (f": {fmt_num(c.get('value'), 3)} vs {fmt_threshold(c.get('comparison'), c.get('threshold'))}"
                            if _finite(c.get("value")) else ": value not available")
                         + heywood(c)
                         + (f". {c.get('reference')}" if c.get("reference") else "")}
                for c in checks if str(c.get("status")) != "pass"]
    passed = res["checks"].get("passed", sum(1 for c in checks if c.get("passed")))
    total = res["checks"].get("total", len(checks))
    return {
        "constructs": constructs,
        "descriptives": descriptives,
        "reliability": reliability,
        "fornell_larcker": fornell,
        "htmt": htmt,
        "htmt_threshold": fmt_num(htmt_thr),
        "loadings": loadings,
        "fit": _fit_table(res["cfa_fit"], "Fit of the confirmatory factor analysis"
                          + (f" ({res['cfa_fit']['estimator']})" if res["cfa_fit"].get("estimator") else ""), cindex),
        "checks": {"caption": "Every measurement check", "rows": check_rows,
                   "columns": [col("Check"), col("Construct"), col("Item"), col("Statistic"), col("Value", "num"), col("Threshold"),
                               col("Status"), col("Reference")],
                   "note": "Failed checks first, then warnings, then passed checks."},
        "problems": problems,
        "passed": passed,
        "total": total,
    }


def _structural(res: dict[str, Any], study: Study) -> dict[str, Any]:
    paths = res["paths"]
    prows = []
    for r in paths[paths["op"] == "~"].itertuples(index=False):
        d = r._asdict()
        p = d["pvalue"]
        sig = _finite(p) and float(p) < 0.05
        prows.append({"cls": "" if sig else "nonsig", "cells": [
            cell(arrow(d["rhs"], d["lhs"]), header=True), num(d["est"], 3), num(d["se"], 3), num(d["z"], 2),
            cell(fmt_p(p), "num"), cell(fmt_num(d["std_all"], 2) + stars(p), "num"), cell(fmt_ci(d["ci_low"], d["ci_high"], 3), "num")]})
    r2 = {str(r.variable): float(r.r2) for r in res["r2"].itertuples(index=False)}
    return {
        "paths": {"caption": "Structural paths", "rows": prows,
                  "columns": [col("Path"), col("B", "num"), col("SE", "num"), col("z", "num"), col("p", "num"),
                              col("\u03b2", "num"), col("B 95% CI", "num")],
                  "note": "B: unstandardized coefficient with its Wald 95% interval; \u03b2: completely standardized coefficient. "
                          "* p < .05, ** p < .01, *** p < .001."},
        "r2": {"caption": "Explained variance of the endogenous constructs", "columns": [col("Construct"), col("R\u00b2", "num")],
               "rows": [{"cells": [cell(k, header=True), num(v, 2)]} for k, v in r2.items()], "note": ""},
        "fit": _fit_table(res["fit"], "Fit of the structural model"
                          + (f" ({res['fit']['estimator']})" if res["fit"].get("estimator") else ""), None),
        "syntax": res["model_syntax"],
        "r2_values": r2,
        "proper": not improper_problems(res["fit"]),
        "improper": improper_problems(res["fit"]),
    }


def _mediation(res: dict[str, Any]) -> dict[str, Any]:
    ind = res["indirect"]
    order = {"indirect": 0, "total_indirect": 1, "direct": 2, "total": 3}
    effect_label = {"total_indirect": "Total indirect", "direct": "Direct", "total": "Total"}
    rows = []
    types = []
    groups = list(dict.fromkeys(zip(ind["x"].astype(str), ind["y"].astype(str))))
    for x, y in groups:
        sub = ind[(ind["x"].astype(str) == x) & (ind["y"].astype(str) == y)].copy()
        sub["_o"] = sub["effect"].map(order).fillna(9)
        sub = sub.sort_values("_o", kind="stable")
        mtype = next((t for t in sub["mediation_type"] if t), "")
        mtext = MEDIATION_TYPES.get(mtype, mtype.replace("_", " ") if mtype else "not classified")
        types.append({"x": x, "y": y, "type": mtext})
        rows.append({"cls": "group", "cells": [cell(f"{arrow(x, y)}: {mtext}", header=True, colspan=7)]})
        for r in sub.itertuples(index=False):
            d = r._asdict()
            label = arrow(d["x"], d["mediator"], d["y"]) if d["effect"] == "indirect" else effect_label.get(d["effect"], d["effect"])

            def sig_ci(lo: Any, hi: Any) -> dict[str, Any]:
                c = cell(fmt_ci(lo, hi, 3), "num")
                if _finite(lo) and _finite(hi) and (float(lo) > 0 or float(hi) < 0):
                    c["cls"] += " excl"
                    c["mark"] = "\u2020"
                return c

            rows.append({"cells": [cell(label, "indent" if d["effect"] != "indirect" else ""), cell(d["effect"].replace("_", " ")),
                                   num(d["est"], 3), num(d["std_est"], 3), sig_ci(d["boot_ci_low"], d["boot_ci_high"]),
                                   sig_ci(d["mc_ci_low"], d["mc_ci_high"]), cell(mtext if d["effect"] != "indirect" else "")]})
    boot = res["bootstrap"]
    failed = boot.get("failed")
    return {
        "table": {"caption": "Total, direct and indirect effects", "rows": rows,
                  "columns": [col("Effect"), col("Kind"), col("B", "num"), col("\u03b2", "num"),
                              col("Bootstrap 95% CI", "num"), col("Monte Carlo 95% CI", "num"), col("Mediation type")],
                  "note": "B: unstandardized effect; \u03b2: standardized. Intervals are for B: percentile bootstrap and Monte Carlo "
                          "(parametric draws of the estimates). \u2020 the interval excludes zero. Mediation types after "
                          "Zhao, Lynch & Chen (2010)."},
        "types": types,
        "bootstrap_text": f"{fmt_int(boot.get('converged'))} of {fmt_int(boot.get('requested'))} bootstrap resamples converged "
                          f"({fmt_int(boot.get('failed'))} failed)"
                          + (f"; estimator {boot['estimator']}" if boot.get("estimator") else "")
                          + (f", refitted {boot['engine']}" if boot.get("engine") else "")
                          + (f"; bootstrap seed {boot.get('seed')}" if boot.get("seed") is not None else "") + ".",
        "bootstrap_incomplete": _finite(failed) and float(failed) > 0,
    }


def _equivalence_view(eq: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not eq:
        return None
    raw = str(eq.get("verdict", "")).strip().lower().replace("_", " ").replace("-", " ")
    cls = {"equivalent": "ok", "inconclusive": "warn", "not equivalent": "bad"}.get(raw, "neutral")
    detail = []
    if _finite(eq.get("ci90_low")) or _finite(eq.get("ci90_high")):
        detail.append(f"90% CI {fmt_ci(eq.get('ci90_low'), eq.get('ci90_high'), 3)}")
    if _finite(eq.get("sesoi")):
        detail.append(f"bounds \u00b1{fmt_num(eq.get('sesoi'), 2)}")
    if _finite(eq.get("pvalue")):
        detail.append(f"TOST {fmt_p_eq(eq.get('pvalue'))}")
    return {"cls": cls, "text": raw or DASH, "detail": ", ".join(detail)}


def _claims(res: dict[str, Any], study: Study) -> dict[str, Any]:
    doc = res["claims"]
    items = list(doc["claims"])
    ids = [str(c["id"]) for c in items]
    spec_ids = [c.id for c in study.claims]
    if sorted(ids) != sorted(spec_ids):
        missing = sorted(set(spec_ids) - set(ids))
        extra = sorted(set(ids) - set(spec_ids))
        raise ReportError(f"claims.json does not match the study spec (missing {missing}, not in the spec {extra}): "
                          "the claims stage ran on another spec; rerun it")
    k = sum(1 for c in items if c.get("verdict") == "reproduced")
    if k != doc.get("reproduced") or len(items) != doc.get("total"):
        raise ReportError(f"claims.json tally ({doc.get('reproduced')} of {doc.get('total')}) disagrees with its verdicts ({k} of {len(items)})")
    eq_table = {str(r.id): r._asdict() for r in res["equivalence"].itertuples(index=False)}
    anchors = claim_anchors(ids)
    rows = []
    for c in items:
        cid = str(c["id"])
        reproduced = c.get("verdict") == "reproduced"
        eq = None
        if c.get("expected") == "not_significant":
            eq = _equivalence_view(c.get("equivalence") or eq_table.get(cid))
        rows.append({
            "id": cid,
            "anchor": anchors[cid],
            "statement": c.get("statement", ""),
            "section": c.get("section", ""),
            "kind": c.get("kind", ""),
            "expected": EXPECTED_TEXT.get(str(c.get("expected")), str(c.get("expected"))),
            "null": c.get("expected") == "not_significant",
            "b": fmt_num(c.get("estimate"), 3),
            "beta": fmt_num(c.get("std_estimate"), 3),
            "ci": fmt_ci(c.get("ci_low"), c.get("ci_high"), 3),
            "interval": {"wald": "Wald"}.get(str(c.get("interval", "")), str(c.get("interval", ""))),
            "p": fmt_p(c.get("pvalue")) if c.get("kind") == "path" else DASH,
            "stars": stars(c.get("pvalue")) if c.get("kind") == "path" else "",
            "reproduced": reproduced,
            "verdict": {"cls": "ok" if reproduced else "bad", "text": "\u2713 reproduced" if reproduced else "\u2717 not reproduced"},
            "reason": c.get("reason", ""),
            "equivalence": eq,
        })
    summary = [r for r in rows if not r["reproduced"]] + [r for r in rows if r["reproduced"]]
    return {"rows": rows, "summary": summary, "reproduced": k, "total": len(items),
            "not_reproduced": len(items) - k,
            "tally": f"{k} of {len(items)} claims reproduced"}


def _limitations(study: Study, claims: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each claim: what the data would have to show to contradict it."""
    final = [c for c in study.endogenous if not any(p.source == c for p in study.paths)]
    feeds = {t: [p.source for p in study.paths if p.target == t] for t in study.endogenous}
    spec = {c.id: c for c in study.claims}
    out = []
    for row in claims:
        claim = spec[row["id"]]
        nodes = claim.path
        if claim.kind == "path":
            x, y = nodes
            if claim.expected == "not_significant":
                cond = f"a significant {x}\u2192{y} path (its 95% interval excluding zero)"
            else:
                word = "negative" if claim.expected == "positive_significant" else "positive"
                cond = f"a non-significant {x}\u2192{y} path (its 95% interval including zero), or a {word} one"
                mediators = [m for m in feeds.get(y, []) if m in study.endogenous and m != x]
                if x in study.exogenous and y in final and mediators:
                    cond += (f"; for example {x} acting on {y} only through {', '.join(mediators)}, "
                             f"which this model would show as a non-significant direct path")
        else:
            x, m, y = nodes
            if claim.expected == "not_significant":
                cond = f"a significant {m} mediation of {x} ({x}\u2192{m}\u2192{y} interval excluding zero)"
            else:
                cond = (f"no significant {m} mediation of {x} ({x}\u2192{m}\u2192{y} interval including zero), "
                        f"e.g. a non-significant {x}\u2192{m} or {m}\u2192{y} path")
        out.append({"id": row["id"], "anchor": row["anchor"], "statement": claim.statement, "condition": cond,
                    "null": claim.expected == "not_significant"})
    return out


def _limitations_view(study: Study, claims: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    rows = _limitations(study, claims)
    return {"synthetic": not data["observed"],
            "null": [r for r in rows if r["null"]],
            "effect": [r for r in rows if not r["null"]]}


def _montecarlo(mc: dict[str, Any], study: Study) -> dict[str, Any]:
    cr = mc["claim_reproduction"]
    joint = mc["joint_reproduction"]
    power = mc["power"]
    nulls = [c.id for c in study.claims if c.expected == "not_significant"]
    sizes = sorted({int(n) for n in cr["n"]})
    wide = []
    for cid in dict.fromkeys(cr["claim_id"].astype(str)):
        sub = cr[cr["claim_id"].astype(str) == cid].set_index("n")
        wide.append({"cells": [cell(cid, header=True)] + [num(sub.loc[n, "reproduction_rate"], 2) if n in sub.index else cell(DASH, "num") for n in sizes]})
    jrows = [{"cells": [cell(fmt_int(r.n), "num", header=True), cell(fmt_int(r.replications), "num"), num(r.joint_rate, 3),
                        cell(fmt_ci(r.ci_low, r.ci_high, 3), "num")]} for r in joint.sort_values("n").itertuples(index=False)]
    largest = max([int(n) for n in joint["n"]] + sizes) if len(joint) or sizes else None
    readings = []
    for key in sorted(k for k in power if re.fullmatch(r"joint_\d+", str(k))):
        level = int(str(key).split("_")[1])
        value = power[key]
        if value is None:
            readings.append(f"Every claim reproduced at once in at least {level}% of replications: not reached at any simulated "
                            f"sample size" + (f" (largest n = {fmt_int(largest)})." if largest else "."))
        else:
            readings.append(f"Every claim reproduced at once in at least {level}% of replications from n = {fmt_int(value)}.")
    if isinstance(power.get("reading"), str):
        readings.append(power["reading"])
    detect = power.get("min_detectable_80") or {}
    drows = [{"cells": [cell(cid, header=True), num(v, 2) if v is not None else cell("not reached", "num")]}
             for cid, v in sorted(detect.items())]
    shown = {"reading", "min_detectable_80"}
    other = [{"cells": [cell(str(k), header=True), cell(json.dumps(power[k], sort_keys=True) if not isinstance(power[k], str) else power[k])]}
             for k in sorted(power) if not re.fullmatch(r"joint_\d+", str(k)) and k not in shown]
    return {
        "figure": Markup(figures.reproduction_curves(cr, joint, nulls)),
        "readings": readings,
        "per_claim": {"caption": "Reproduction rate of each claim by sample size", "rows": wide,
                      "columns": [col("Claim")] + [col(f"n = {fmt_int(n)}", "num") for n in sizes],
                      "note": "Share of replications in which the claim's decision rule gives \u201creproduced\u201d "
                              "(a replication whose fit failed counts as not reproduced)."},
        "joint": {"caption": "Joint reproduction (all claims in the same replication)", "rows": jrows,
                  "columns": [col("n", "num"), col("Replications", "num"), col("Joint rate", "num"), col("95% CI", "num")],
                  "note": ""},
        "sensitivity": {"caption": "Smallest true effect a claim of no effect would miss less than 20% of the time "
                                   f"(n = {fmt_int(power.get('sensitivity_n'))})",
                        "rows": drows, "columns": [col("Claim of no effect"), col("Effect on its null path", "num")],
                        "note": "Standardized population value of the null path (for a chain, its null link) at which the "
                                "claim fails in at least 80% of replications: what \u201cnot significant\u201d can hide."},
        "power": {"caption": "Settings and fit counts of the study (power.json)", "rows": other,
                  "columns": [col("Key"), col("Value")], "note": ""},
    }


def _data_view(source: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(source.get("kind", "synthetic"))
    path = source.get("path")
    name = Path(str(path)).name if path else DASH
    n_rows = fmt_int(source.get("n_rows"))
    if kind == "observed":
        dropped = source.get("dropped_rows")
        text = (f"observed data: the user's file \u201c{name}\u201d, {n_rows} respondents analysed"
                + (f", {fmt_int(dropped)} row{'s' if dropped != 1 else ''} dropped" if _finite(dropped) else "") + ".")
    else:
        text = (f"synthetic data: {n_rows} respondents drawn from the population model of the study specification "
                f"(built from the paper's hypotheses), file \u201c{name}\u201d.")
    return {"kind": kind, "name": name, "path": str(path) if path else DASH, "sha256": source.get("sha256") or DASH,
            "n_rows": n_rows, "dropped_rows": fmt_int(source.get("dropped_rows")), "text": text,
            "observed": kind == "observed"}


def _run_time(info: Mapping[str, Any]) -> str:
    secs = info.get("run_time_s")
    if _finite(secs):
        s = float(secs)
        minutes, rest = divmod(int(round(s)), 60)
        return f"{s:.1f} s" + (f" ({minutes} min {rest} s)" if minutes else "")
    return DASH


def _provenance(run_info: Mapping[str, Any], config_text: str, study_text: str, data: dict[str, Any],
                result_hashes: Mapping[str, str]) -> dict[str, Any]:
    def hash_rows(mapping: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [{"cells": [cell(k, header=True), cell(v, "hash")]} for k, v in sorted((mapping or {}).items())]

    packages = run_info.get("packages") or {}
    hashes_cols = [col("File"), col("SHA-256")]
    return {
        "seed": run_info.get("seed", DASH),
        "python": run_info.get("python", DASH),
        "started": run_info.get("started", DASH),
        "finished": run_info.get("finished", DASH),
        "run_time": _run_time(run_info),
        "command": run_info.get("command", DASH),
        "packages": {"caption": "Package versions", "columns": [col("Package"), col("Version")],
                     "rows": [{"cells": [cell(k, header=True), cell(v)]} for k, v in sorted(packages.items())], "note": ""},
        "inputs": {"caption": "Inputs of the run", "columns": hashes_cols, "rows": hash_rows(run_info.get("inputs")), "note": ""},
        "outputs": {"caption": "Outputs of the run", "columns": hashes_cols, "rows": hash_rows(run_info.get("outputs")), "note": ""},
        "results": {"caption": "Result files this report was built from", "columns": hashes_cols,
                    "rows": hash_rows(result_hashes), "note": "Paths relative to the results directory."},
        "config_text": config_text,
        "study_text": study_text,
        "data": data,
    }


def build_context(
    results_dir: Path,
    study: Study,
    config_text: str,
    study_text: str,
    data_source: dict[str, Any],
    run_info: dict[str, Any],
    montecarlo_dir: Path | None = None,
) -> dict[str, Any]:
    """Everything the report template needs, read from the result files and formatted.

    Parameters
    ----------
    results_dir : Path
        Directory holding the files of :data:`RESULT_FILES`.
    study : Study
        The study spec the run used.
    config_text, study_text : str
        Raw text of ``config.yaml`` and ``study.yaml`` (shown in full in the provenance section).
    data_source : dict
        ``kind`` ("synthetic" | "observed"), ``path``, ``sha256``, ``n_rows``, ``dropped_rows``.
    run_info : dict
        ``seed, python, packages, started, finished, run_time_s, command, inputs, outputs``.
    montecarlo_dir : Path, optional
        Directory holding the files of :data:`MONTECARLO_FILES`; the Monte Carlo section is rendered only when given.

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
    claims = _claims(res, study)
    improper = improper_problems(res["fit"])
    if improper and claims["reproduced"]:
        raise ReportError(f"fit.json says the structural solution is improper ({'; '.join(improper)}) but "
                          f"claims.json counts {claims['reproduced']} claim(s) reproduced: the claims stage ran "
                          "on other results; rerun it")
    measurement = _measurement(res, study)
    structural = _structural(res, study)
    mediation = _mediation(res)
    data = _data_view(data_source)
    mc = read_montecarlo(Path(montecarlo_dir)) if montecarlo_dir is not None else None
    hashes = dict(res["hashes"], **(mc["hashes"] if mc else {}))
    sections = list(SECTIONS)
    if mc is not None:
        sections.insert(sections.index(("provenance", "Provenance")), ("montecarlo", "Monte Carlo study"))
    figs = {
        "htmt": Markup(figures.htmt_heatmap(res["htmt"], float(measurement["htmt_threshold"]))),
        "paths": Markup(figures.path_diagram(study, res["paths"], structural["r2_values"])),
        "forest": Markup(figures.forest_plot(res["indirect"])),
    }
    return {
        "title": study.title,
        "citation": study.citation,
        "sections": [{"id": s, "title": t} for s, t in sections],
        "data": data,
        "claims": claims,
        "model": {"n_constructs": len(study.constructs), "n_items": len(study.items), "n_paths": len(study.paths),
                  "n_claims": len(study.claims)},
        "measurement": measurement,
        "structural": structural,
        "mediation": mediation,
        "qualitative": [{"section": q.get("section", ""), "hypotheses": q.get("hypotheses", ""),
                         "evidence": q.get("evidence", "")} for q in study.qualitative],
        "limitations": _limitations_view(study, claims["rows"], data),
        "montecarlo": _montecarlo(mc, study) if mc is not None else None,
        "provenance": _provenance(run_info, config_text, study_text, data, hashes),
        "generated": run_info.get("finished") or run_info.get("started") or DASH,
        "figures": figs,
    }


def _environment(template_dir: Path | None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=(jinja2.PackageLoader("xhs_sharing.report", "templates") if template_dir is None
                else jinja2.FileSystemLoader(str(template_dir))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(context: dict[str, Any], template_dir: Path | None = TEMPLATE_DIR) -> str:
    """Render ``report.html.j2`` from ``template_dir`` with autoescape on.

    Raises
    ------
    ReportError
        The template is missing or refers to a context key that does not exist.
    """
    try:
        template = _environment(template_dir).get_template(TEMPLATE_NAME)
        return template.render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ReportError(f"report template {exc.name} not found in {template_dir}") from None
    except jinja2.UndefinedError as exc:
        raise ReportError(f"report template uses a value the context does not have: {exc}") from None


def write_report(context: dict[str, Any], target: str | Path, template_dir: Path | None = TEMPLATE_DIR) -> str:
    """Render the report and write it atomically to ``target``; returns the HTML."""
    html = render_report(context, template_dir)
    write_text(html, target)
    return html
