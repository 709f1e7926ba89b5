"""A complete, internally consistent set of fake result files for the report tests.

:func:`write_fixture_results` writes every file the report reads, in the exact
formats of the pipeline, from the study spec: paths take the spec's
population values (plus optional perturbations that make some claims fail),
indirect effects are products of the written paths, and ``claims.json`` is
produced by the package's own :func:`xhs_sharing.analysis.claims.evaluate_claims` on
the written tables, so verdicts, estimates and intervals agree across files.
Everything is arithmetic on the spec: the same call gives the same bytes.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from scipy import stats

from xhs_sharing.analysis.claims import claims_document, evaluate_claims
from xhs_sharing.io import write_csv, write_json, write_text
from xhs_sharing.study.spec import Study, read_yaml, study_from_dict

ROOT = Path(__file__).resolve().parents[1]
STUDY_YAML = ROOT / "config" / "study.yaml"
CONFIG_YAML = ROOT / "config" / "config.yaml"

HOSTILE = "<script>alert(1)</script>"
HOSTILE_LABEL = f"Information support {HOSTILE} & co"
HOSTILE_STATEMENT = f"Information support {HOSTILE} raises subjective norms & more."

DEFAULT_PERTURB: dict[tuple[str, str], float] = {("IS", "CN"): 0.16, ("ES", "SN"): 0.03}
"""Standardized path values that replace the spec's, so that some claims are not reproduced:
IS->CN becomes significant (and with it IS->CN->WSI), ES->SN vanishes (and ES->SN->WSI)."""

NOT_REPRODUCED = ("ES->SN", "IS->CN", "ES->SN->WSI", "IS->CN->WSI")
"""The claims :data:`DEFAULT_PERTURB` makes fail."""

SE = 0.05
SCALE = 0.9  # unstandardized = SCALE * standardized
N = 500
SEED = 20261127
SCALE_POINTS = 7


def hostile_study() -> tuple[Study, str]:
    """The repository's study spec with a construct label, a claim statement and
    a qualitative entry that contain markup and ampersands; returns (study, yaml text)."""
    data = copy.deepcopy(read_yaml(STUDY_YAML))
    data["constructs"][0]["label"] = HOSTILE_LABEL
    data["claims"][0]["statement"] = HOSTILE_STATEMENT
    data["qualitative"][0]["evidence"] = "Self-presentation & altruism <b>bold?</b> " + HOSTILE
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return study_from_dict(data, "hostile study"), text


def repo_study() -> tuple[Study, str]:
    """The repository's study spec and its raw text."""
    text = STUDY_YAML.read_text(encoding="utf-8")
    return study_from_dict(yaml.safe_load(text), str(STUDY_YAML)), text


def fixed_inputs(kind: str = "synthetic") -> dict[str, Any]:
    """config text, data_source and run_info with fixed values (no clock, no machine)."""
    if kind == "synthetic":
        source = {"kind": "synthetic", "path": "data/synthetic/survey.csv", "sha256": "ab" * 32,
                  "n_rows": N, "dropped_rows": 0}
    else:
        source = {"kind": "observed", "path": "/home/user/my survey & co.csv", "sha256": "cd" * 32,
                  "n_rows": 412, "dropped_rows": 7}
    run_info = {
        "seed": SEED,
        "python": "3.11.7 (fixture)",
        "packages": {"numpy": "2.0.0", "pandas": "2.2.0", "semopy": "2.3.11", "xhs-sharing": "0.1.0"},
        "started": "2026-11-27T10:00:00+00:00",
        "finished": "2026-11-27T10:03:20+00:00",
        "run_time_s": 200.0,
        "command": "snakemake --cores 4 --profile workflow/profiles/default",
        "inputs": {"config/config.yaml": "11" * 32, "config/study.yaml": "22" * 32},
        "outputs": {"results/claims.json": "33" * 32},
    }
    return {"config_text": CONFIG_YAML.read_text(encoding="utf-8"), "data_source": source, "run_info": run_info}


def _p(z: float) -> float:
    return float(2 * stats.norm.sf(abs(z)))


def _zhao(direct_sig: bool, indirect_sig: bool, direct: float, indirect: float) -> str:
    """Mediation type after Zhao, Lynch & Chen (2010)."""
    if indirect_sig and direct_sig:
        return "complementary" if direct * indirect > 0 else "competitive"
    if indirect_sig:
        return "indirect_only"
    if direct_sig:
        return "direct_only"
    return "no_effect"


def write_fixture_results(
    root: Path,
    study: Study,
    perturb: dict[tuple[str, str], float] | None = None,
    with_montecarlo: bool = True,
) -> dict[str, Path]:
    """Write every result file of the report under ``root``.

    Returns
    -------
    dict
        ``{"results": root / "results", "montecarlo": root / "results" / "montecarlo"}``
        (the montecarlo dir exists only when ``with_montecarlo``).
    """
    perturb = DEFAULT_PERTURB if perturb is None else perturb
    res = Path(root) / "results"
    cids = study.construct_ids
    k = SCALE_POINTS

    # ---- measurement
    rows = []
    for ci, c in enumerate(study.constructs):
        for ii, it in enumerate(c.items):
            base = [0.03, 0.06, 0.12, 0.22, 0.27, 0.19, 0.11]
            props = [round(v + 0.01 * ((ii + ci) % 2) * (1 if j == 3 else (-1 if j == 4 else 0)), 4) for j, v in enumerate(base)]
            rows.append({"construct": c.id, "item": it.id, "n": N, "mean": 4.6 + 0.05 * ci - 0.03 * ii,
                         "sd": 1.35 + 0.02 * ii, "skewness": -0.31 + 0.02 * ci, "kurtosis": -0.42 + 0.03 * ii,
                         **{f"p{j + 1}": props[j] for j in range(k)}, "citc": round(0.58 + 0.02 * ii + 0.01 * ci, 4)})
    write_csv(pd.DataFrame(rows), res / "measurement" / "item_descriptives.csv")

    rel = []
    for ci, c in enumerate(study.constructs):
        ave = 0.60 + 0.01 * ci
        alpha = 0.80 + 0.005 * ci
        rel.append({"construct": c.id, "alpha": alpha, "alpha_ci_low": alpha - 0.03, "alpha_ci_high": alpha + 0.02,
                    "cr": 0.82 + 0.005 * ci, "ave": ave, "sqrt_ave": math.sqrt(ave)})
    rel_df = pd.DataFrame(rel)
    write_csv(rel_df, res / "measurement" / "reliability.csv")

    def corr(i: int, j: int) -> float:
        return round(0.25 + 0.03 * ((i * 3 + j * 5) % 7), 4)

    fl = pd.DataFrame(index=pd.Index(cids, name="construct"), columns=cids, dtype=float)
    ht = fl.copy()
    for i, a in enumerate(cids):
        for j, b in enumerate(cids):
            if i == j:
                fl.loc[a, b] = math.sqrt(rel[i]["ave"])
                ht.loc[a, b] = 1.0
            else:
                r = corr(min(i, j), max(i, j))
                fl.loc[a, b] = r
                ht.loc[a, b] = round(r * 1.12, 4)
    if "SN" in cids and "CN" in cids:  # one HTMT above .85: a failed check to show
        ht.loc["SN", "CN"] = ht.loc["CN", "SN"] = 0.87
    write_csv(fl, res / "measurement" / "fornell_larcker.csv", index=True)
    write_csv(ht, res / "measurement" / "htmt.csv", index=True)

    load = []
    for c in study.constructs:
        first = c.items[0].loading
        for ii, it in enumerate(c.items):
            est = 1.0 if ii == 0 else it.loading / first
            se = float("nan") if ii == 0 else 0.06
            z = float("nan") if ii == 0 else est / se
            load.append({"construct": c.id, "item": it.id, "est": est, "se": se, "z": z,
                         "pvalue": float("nan") if ii == 0 else _p(z), "std_all": it.loading - 0.01})
    write_csv(pd.DataFrame(load), res / "measurement" / "loadings.csv")

    cfa_fit = {"chi2": 301.52, "df": 224, "pvalue": 0.00043, "cfi": 0.981, "tli": 0.977, "rmsea": 0.0264,
               "rmsea_ci_low": 0.0181, "rmsea_ci_high": 0.0338, "srmr": 0.0312, "n": N,
               "baseline_chi2": 5123.4, "baseline_df": 276}
    write_json(cfa_fit, res / "measurement" / "cfa_fit.json")

    checks: list[dict[str, Any]] = []
    for r in rel:
        for stat, thr in (("alpha", 0.70), ("cr", 0.70), ("ave", 0.50)):
            checks.append({"check": f"{stat} of {r['construct']}", "construct": r["construct"], "statistic": stat,
                           "threshold": thr, "comparison": ">=", "value": r[stat], "passed": True,
                           "status": "pass", "reference": "Hair et al. (2019)"})
    for i, a in enumerate(cids):
        for j in range(i):
            b = cids[j]
            v = float(ht.loc[a, b])
            ok = v < 0.85
            checks.append({"check": f"HTMT {a}-{b}", "construct": f"{a}-{b}", "statistic": "htmt", "threshold": 0.85,
                           "comparison": "<", "value": v, "passed": ok, "status": "pass" if ok else "fail",
                           "reference": "Henseler, Ringle & Sarstedt (2015)"})
    for stat, thr, comp in (("cfi", 0.95, ">="), ("tli", 0.95, ">="), ("rmsea", 0.06, "<="), ("srmr", 0.08, "<=")):
        v = cfa_fit[stat]
        checks.append({"check": f"CFA {stat.upper()}", "construct": None, "statistic": stat, "threshold": thr,
                       "comparison": comp, "value": v, "passed": True, "status": "pass",
                       "reference": "Hu & Bentler (1999)"})
    checks.append({"check": "multivariate normality", "construct": None, "statistic": "mardia_kurtosis",
                   "threshold": None, "comparison": None, "value": None, "passed": False, "status": "warning",
                   "reference": "Mardia (1970): not computed, ML standard errors assume normality"})
    write_json({"checks": checks, "passed": sum(c["passed"] for c in checks), "total": len(checks)},
               res / "measurement" / "checks.json")

    # ---- structural
    std = {(p.source, p.target): perturb.get((p.source, p.target), p.std) for p in study.paths}
    prows = []
    for (src, dst), b in std.items():
        est = SCALE * b
        z = est / SE
        prows.append({"lhs": dst, "op": "~", "rhs": src, "est": est, "se": SE, "z": z, "pvalue": _p(z),
                      "std_all": b, "ci_low": est - 1.959964 * SE, "ci_high": est + 1.959964 * SE})
    paths_df = pd.DataFrame(prows)
    write_csv(paths_df, res / "structural" / "paths.csv")
    r2 = []
    for c in study.endogenous:
        r2.append({"variable": c, "r2": round(sum(v * v for (s, t), v in std.items() if t == c) + 0.05, 4)})
    write_csv(pd.DataFrame(r2), res / "structural" / "r2.csv")
    fit = dict(cfa_fit, chi2=318.9, df=229, pvalue=0.00009, cfi=0.978, tli=0.973, rmsea=0.0281,
               rmsea_ci_low=0.0201, rmsea_ci_high=0.0352, srmr=0.0405)
    write_json(fit, res / "structural" / "fit.json")

    targets = {p.target for p in study.paths}
    final = [c for c in study.endogenous if not any(p.source == c for p in study.paths)]
    irows = []
    for y in final:
        for x in study.exogenous:
            specific = []
            for m in study.endogenous:
                if (x, m) in std and (m, y) in std:
                    a, b = SCALE * std[(x, m)], SCALE * std[(m, y)]
                    est = a * b
                    se = math.sqrt(b * b * SE * SE + a * a * SE * SE)
                    specific.append((m, est, std[(x, m)] * std[(m, y)], se))
            if not specific and (x, y) not in std:
                continue
            for m, est, sest, se in specific:
                irows.append({"x": x, "mediator": m, "y": y, "effect": "indirect", "est": est, "std_est": sest,
                              "boot_ci_low": est - 1.90 * se, "boot_ci_high": est + 2.05 * se,
                              "mc_ci_low": est - 1.96 * se, "mc_ci_high": est + 1.96 * se, "mediation_type": ""})
            ti = sum(s[1] for s in specific)
            tis = sum(s[2] for s in specific)
            tse = math.sqrt(sum(s[3] ** 2 for s in specific)) if specific else 0.0
            d = SCALE * std.get((x, y), 0.0)
            ds = std.get((x, y), 0.0)
            ind_sig = bool(specific) and (ti - 1.96 * tse > 0 or ti + 1.96 * tse < 0)
            dir_sig = abs(d / SE) > 1.96
            mtype = _zhao(dir_sig, ind_sig, d, ti)
            for effect, est, sest, se in (("total_indirect", ti, tis, tse), ("direct", d, ds, SE),
                                          ("total", ti + d, tis + ds, math.sqrt(tse ** 2 + SE ** 2))):
                irows.append({"x": x, "mediator": "", "y": y, "effect": effect, "est": est, "std_est": sest,
                              "boot_ci_low": est - 1.90 * se, "boot_ci_high": est + 2.05 * se,
                              "mc_ci_low": est - 1.96 * se, "mc_ci_high": est + 1.96 * se, "mediation_type": mtype})
    ind_df = pd.DataFrame(irows)
    write_csv(ind_df, res / "structural" / "indirect_effects.csv")
    write_json({"requested": 2000, "converged": 1994, "failed": 6, "seed": SEED}, res / "structural" / "bootstrap.json")

    eq_rows = []
    for cl in study.claims:
        if cl.expected != "not_significant":
            continue
        if cl.kind == "path":
            est = SCALE * std[(cl.path[0], cl.path[1])]
            se = SE
        else:
            r = ind_df[(ind_df["x"] == cl.path[0]) & (ind_df["mediator"] == cl.path[1]) & (ind_df["effect"] == "indirect")].iloc[0]
            est = float(r["est"])
            se = (float(r["mc_ci_high"]) - float(r["mc_ci_low"])) / (2 * 1.96)
        sesoi = 0.10
        lo, hi = est - 1.645 * se, est + 1.645 * se
        p_tost = max(float(stats.norm.sf((est + sesoi) / se)), float(stats.norm.cdf((est - sesoi) / se)))
        if -sesoi < lo and hi < sesoi:
            verdict = "equivalent"
        elif lo > sesoi or hi < -sesoi:
            verdict = "not_equivalent"
        else:
            verdict = "inconclusive"
        eq_rows.append({"id": cl.id, "kind": cl.kind, "estimate": est, "ci90_low": lo, "ci90_high": hi,
                        "sesoi": sesoi, "pvalue": p_tost, "verdict": verdict})
    eq_df = pd.DataFrame(eq_rows)
    write_csv(eq_df, res / "structural" / "equivalence.csv")

    lines = ["# measurement model"]
    for c in study.constructs:
        lines.append(f"{c.id} =~ " + " + ".join(it.id for it in c.items))
    lines.append("# structural model")
    for t in study.endogenous:
        lines.append(f"{t} ~ " + " + ".join(p.source for p in study.paths if p.target == t))
    write_text("\n".join(lines) + "\n", res / "structural" / "model_syntax.txt")

    equivalence = {r["id"]: r for r in eq_rows}
    results = evaluate_claims(study.claims, paths_df, ind_df, "boot", equivalence)
    write_json(claims_document(results), res / "claims.json")
    assert targets  # the spec has a structural model

    out = {"results": res}
    if with_montecarlo:
        mc = res / "montecarlo"
        sizes = [100, 200, 300, 500, 800]
        crow, jrow = [], []
        for i, cl in enumerate(study.claims):
            for n in sizes:
                if cl.expected == "not_significant":
                    rate = 0.975 - 0.001 * i
                else:
                    rate = 1.0 - math.exp(-n / (50.0 + 6 * i))
                reps = 200
                conv = 198
                half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-4) / conv)
                crow.append({"claim_id": cl.id, "n": n, "replications": reps, "converged": conv,
                             "reproduction_rate": round(rate, 4), "ci_low": round(max(rate - half, 0.0), 4),
                             "ci_high": round(min(rate + half, 1.0), 4)})
        for n in sizes:
            rate = float(pd.DataFrame(crow).query("n == @n")["reproduction_rate"].prod())
            half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-4) / 198)
            jrow.append({"n": n, "replications": 200, "joint_rate": round(rate, 4),
                         "ci_low": round(max(rate - half, 0.0), 4), "ci_high": round(min(rate + half, 1.0), 4)})
        write_csv(pd.DataFrame(crow), mc / "claim_reproduction.csv")
        write_csv(pd.DataFrame(jrow), mc / "joint_reproduction.csv")
        j = pd.DataFrame(jrow)
        first = lambda level: next((int(r.n) for r in j.itertuples() if r.joint_rate >= level), None)  # noqa: E731
        write_json({"joint_80": first(0.8), "joint_95": first(0.95), "replications": 200, "sizes": sizes,
                    "interval": "mc"}, mc / "power.json")
        out["montecarlo"] = mc
    return out
