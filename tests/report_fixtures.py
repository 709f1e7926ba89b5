"""A complete, internally consistent set of fake result files for the report tests.

:func:`write_fixture_results` writes every file the report reads, at the
paths and with every column of the result-file contract
(:mod:`xhs_sharing.results`), from the study spec: paths take the spec's
population values (plus optional perturbations that make some claims fail),
indirect effects are products of the written paths, and ``claims.json`` is
produced by the package's own :func:`xhs_sharing.analysis.claims.evaluate_claims` on
the written tables, so verdicts, estimates and intervals agree across files.
The Monte Carlo tables are derived from a constructed ``replications.csv`` by
the package's own summaries. Everything is arithmetic on the spec: the same
call gives the same bytes.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from xhs_sharing.analysis.claims import claims_document, evaluate_claims
from xhs_sharing.analysis.montecarlo import (
    claim_reproduction,
    joint_reproduction,
    min_detectable,
    power_summary,
    wilson_interval,
)
from xhs_sharing.io import write_csv, write_json, write_text
from xhs_sharing.results import BY_KEY, RESULTS_DIR, path
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
                  "n_rows": 412, "n_analysed": 405, "dropped_rows": 7, "listwise_rows": 7, "no_answer_rows": 0,
                  "missing": "listwise"}
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
    """Mediation type after Zhao, Lynch & Chen (2010), spelt as indirect_effects.csv spells it."""
    if indirect_sig and direct_sig:
        return "complementary" if direct * indirect > 0 else "competitive"
    if indirect_sig:
        return "indirect-only"
    if direct_sig:
        return "direct-only"
    return "no-effect"


def _file(res: Path, key: str, **wildcards: Any) -> Path:
    """Where the contract puts result ``key``, under the fixture's results directory."""
    return res / Path(path(key, **wildcards)).relative_to(RESULTS_DIR)


def _descriptives(study: Study) -> pd.DataFrame:
    rows = []
    for ci, c in enumerate(study.constructs):
        for ii, it in enumerate(c.items):
            base = [0.03, 0.06, 0.12, 0.22, 0.27, 0.19, 0.11]
            props = [round(v + 0.01 * ((ii + ci) % 2) * (1 if j == 3 else (-1 if j == 4 else 0)), 4) for j, v in enumerate(base)]
            rows.append({"construct": c.id, "item": it.id, "n": N, "mean": 4.6 + 0.05 * ci - 0.03 * ii,
                         "sd": 1.35 + 0.02 * ii, "skewness": -0.31 + 0.02 * ci, "kurtosis": -0.42 + 0.03 * ii,
                         **{f"p{j + 1}": props[j] for j in range(SCALE_POINTS)}, "citc": round(0.58 + 0.02 * ii + 0.01 * ci, 4)})
    return pd.DataFrame(rows)


def _reliability(study: Study) -> list[dict[str, Any]]:
    rel = []
    for ci, c in enumerate(study.constructs):
        ave = 0.60 + 0.01 * ci
        alpha = 0.80 + 0.005 * ci
        rel.append({"construct": c.id, "n_items": len(c.items), "n": N, "alpha": alpha, "alpha_ci_low": alpha - 0.03,
                    "alpha_ci_high": alpha + 0.02, "cr": 0.82 + 0.005 * ci, "ave": ave, "sqrt_ave": math.sqrt(ave),
                    "cr_semtools": 0.81 + 0.005 * ci, "ave_semtools": ave - 0.01})
    return rel


def _matrices(cids: list[str], rel: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fornell-Larcker matrix (sqrt(AVE) on the diagonal) and HTMT, with one HTMT above .85 (SN-CN)."""
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
    return fl, ht


def _loadings(study: Study) -> pd.DataFrame:
    load = []
    for c in study.constructs:
        first = c.items[0].loading
        for ii, it in enumerate(c.items):
            est = 1.0 if ii == 0 else it.loading / first
            se = float("nan") if ii == 0 else 0.06
            z = float("nan") if ii == 0 else est / se
            std = it.loading - 0.01
            load.append({"construct": c.id, "item": it.id, "est": est, "se": se, "z": z,
                         "pvalue": float("nan") if ii == 0 else _p(z), "std_all": std, "resid_var": round(1 - std * std, 4)})
    return pd.DataFrame(load)


CFA_FIT = {"chi2": 301.52, "df": 224, "pvalue": 0.00043, "cfi": 0.981, "tli": 0.977, "rmsea": 0.0264,
           "rmsea_ci_low": 0.0181, "rmsea_ci_high": 0.0338, "srmr": 0.0312, "n": N,
           "baseline_chi2": 5123.4, "baseline_df": 276, "estimator": "ML"}


def _checks(rel: list[dict[str, Any]], ht: pd.DataFrame, cids: list[str]) -> list[dict[str, Any]]:
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
        v = CFA_FIT[stat]
        checks.append({"check": f"CFA {stat.upper()}", "construct": None, "statistic": stat, "threshold": thr,
                       "comparison": comp, "value": v, "passed": True, "status": "pass",
                       "reference": "Hu & Bentler (1999)"})
    checks.append({"check": "multivariate normality", "construct": None, "statistic": "mardia_kurtosis",
                   "threshold": None, "comparison": None, "value": None, "passed": False, "status": "warning",
                   "reference": "Mardia (1970): not computed, ML standard errors assume normality"})
    return checks


def _write_measurement(res: Path, study: Study) -> None:
    """item_descriptives, reliability, fornell_larcker, htmt, loadings, cfa_fit, checks, cfa_syntax."""
    cids = study.construct_ids
    write_csv(_descriptives(study), _file(res, "item_descriptives"))
    rel = _reliability(study)
    write_csv(pd.DataFrame(rel), _file(res, "reliability"))
    fl, ht = _matrices(cids, rel)
    write_csv(fl, _file(res, "fornell_larcker"), index=True)
    write_csv(ht, _file(res, "htmt"), index=True)
    write_csv(_loadings(study), _file(res, "loadings"))
    write_json(CFA_FIT, _file(res, "cfa_fit"))
    checks = _checks(rel, ht, cids)
    write_json({"checks": checks, "passed": sum(c["status"] == "pass" for c in checks),
                "failed": sum(c["status"] == "fail" for c in checks),
                "warnings": sum(c["status"] == "warning" for c in checks), "total": len(checks)},
               _file(res, "checks"))
    write_text("\n".join(f"{c.id} =~ " + " + ".join(it.id for it in c.items) for c in study.constructs) + "\n",
               _file(res, "cfa_syntax"))
    _write_fit_extras(res, study, "cfa")


def _write_fit_extras(res: Path, study: Study, prefix: str) -> None:
    """Residual correlations and modification indices (issue 17), a few plausible rows."""
    items = [it.id for c in study.constructs for it in c.items]
    pairs = [(items[i], items[j]) for i in range(1, len(items)) for j in range(i)]
    resid = pd.DataFrame([{"lhs": a, "rhs": b, "residual": round(0.06 * ((k * 7) % 11 - 5) / 5, 4)}
                          for k, (a, b) in enumerate(pairs)]).assign(estimator="ML")
    write_csv(resid.reindex(resid.residual.abs().sort_values(ascending=False, kind="stable").index),
              _file(res, f"{prefix}_residual_correlations"))
    c0 = study.constructs[0].id
    mi = pd.DataFrame([{"lhs": items[1], "op": "~~", "rhs": items[-1], "mi": 8.75, "epc": -0.101, "sepc_all": -0.17},
                       {"lhs": c0, "op": "=~", "rhs": items[-2], "mi": 6.63, "epc": 0.148, "sepc_all": 0.112}])
    write_csv(mi.assign(estimator="ML"), _file(res, f"{prefix}_modindices"))


def _paths_table(std: dict[tuple[str, str], float]) -> pd.DataFrame:
    prows = []
    for (src, dst), b in std.items():
        est = SCALE * b
        z = est / SE
        prows.append({"lhs": dst, "op": "~", "rhs": src, "est": est, "se": SE, "z": z, "pvalue": _p(z),
                      "std_all": b, "ci_low": est - 1.959964 * SE, "ci_high": est + 1.959964 * SE})
    return pd.DataFrame(prows)


def _effect_rows(x: str, y: str, study: Study, std: dict[tuple[str, str], float]) -> list[dict[str, Any]]:
    """Specific indirect effects of x on y through each mediator, then total indirect, direct and total."""
    specific = []
    for m in study.endogenous:
        if (x, m) in std and (m, y) in std:
            a, b = SCALE * std[(x, m)], SCALE * std[(m, y)]
            specific.append((m, a * b, std[(x, m)] * std[(m, y)], math.sqrt(b * b * SE * SE + a * a * SE * SE)))
    if not specific and (x, y) not in std:
        return []
    d = SCALE * std.get((x, y), 0.0)
    rows = [{"x": x, "mediator": m, "y": y, "effect": "indirect", "est": est, "se": se, "std_est": sest, "std_se": se,
             "boot_ci_low": est - 1.90 * se, "boot_ci_high": est + 2.05 * se,
             "mc_ci_low": est - 1.96 * se, "mc_ci_high": est + 1.96 * se,
             "mediation_type": _zhao(abs(d / SE) > 1.96, abs(est / se) > 1.96, d, est)}
            for m, est, sest, se in specific]
    ti = sum(s[1] for s in specific)
    tis = sum(s[2] for s in specific)
    tse = math.sqrt(sum(s[3] ** 2 for s in specific)) if specific else 0.0
    ds = std.get((x, y), 0.0)
    ind_sig = bool(specific) and (ti - 1.96 * tse > 0 or ti + 1.96 * tse < 0)
    mtype = _zhao(abs(d / SE) > 1.96, ind_sig, d, ti)
    for effect, est, sest, se in (("total_indirect", ti, tis, tse), ("direct", d, ds, SE),
                                  ("total", ti + d, tis + ds, math.sqrt(tse ** 2 + SE ** 2))):
        rows.append({"x": x, "mediator": "", "y": y, "effect": effect, "est": est, "se": se, "std_est": sest, "std_se": se,
                     "boot_ci_low": est - 1.90 * se, "boot_ci_high": est + 2.05 * se,
                     "mc_ci_low": est - 1.96 * se, "mc_ci_high": est + 1.96 * se, "mediation_type": mtype})
    return rows


def _equivalence(study: Study, std: dict[tuple[str, str], float], ind_df: pd.DataFrame) -> list[dict[str, Any]]:
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
        eq_rows.append({"id": cl.id, "kind": cl.kind, "estimate": est, "se": se, "ci90_low": lo, "ci90_high": hi,
                        "sesoi": sesoi, "pvalue": p_tost, "verdict": verdict})
    return eq_rows


BOOTSTRAP = {"requested": 2000, "converged": 1994, "failed": 6, "seed": SEED, "failures": {"not converged": 6},
             "chunk_size": 250, "engine": "batched", "estimator": "ML", "mc_draws": 20000, "mc_seed": 12345,
             "mc_information": "expected"}


def _write_structural(res: Path, study: Study, perturb: dict[tuple[str, str], float]) -> None:
    """model_syntax, paths, r2, fit, indirect_effects, bootstrap, equivalence; then claims.json from them."""
    std = {(p.source, p.target): perturb.get((p.source, p.target), p.std) for p in study.paths}
    paths_df = _paths_table(std)
    write_csv(paths_df, _file(res, "paths"))
    r2 = [{"variable": c, "r2": round(sum(v * v for (s, t), v in std.items() if t == c) + 0.05, 4)}
          for c in study.endogenous]
    write_csv(pd.DataFrame(r2), _file(res, "r2"))
    fit = dict(CFA_FIT, chi2=318.9, df=229, pvalue=0.00009, cfi=0.978, tli=0.973, rmsea=0.0281,
               rmsea_ci_low=0.0201, rmsea_ci_high=0.0352, srmr=0.0405)
    write_json(fit, _file(res, "fit"))  # without "proper": written before the key existed
    final = [c for c in study.endogenous if not any(p.source == c for p in study.paths)]
    ind_df = pd.DataFrame([row for y in final for x in study.exogenous for row in _effect_rows(x, y, study, std)])
    write_csv(ind_df, _file(res, "indirect"))
    write_json(BOOTSTRAP, _file(res, "bootstrap"))
    eq_rows = _equivalence(study, std, ind_df)
    write_csv(pd.DataFrame(eq_rows), _file(res, "equivalence"))
    lines = ["# measurement model"]
    lines += [f"{c.id} =~ " + " + ".join(it.id for it in c.items) for c in study.constructs]
    lines.append("# structural model")
    lines += [f"{t} ~ " + " + ".join(p.source for p in study.paths if p.target == t) for t in study.endogenous]
    write_text("\n".join(lines) + "\n", _file(res, "model_syntax"))
    results = evaluate_claims(study.claims, paths_df, ind_df, "boot", {r["id"]: r for r in eq_rows})
    write_json(claims_document(results), _file(res, "claims"))
    _write_fit_extras(res, study, "sem")
    _write_method_bias(res, paths_df, results)


def _write_method_bias(res: Path, paths_df: pd.DataFrame, results: list[Any]) -> None:
    """method_bias.json and .csv: every path 10% smaller with the method factor, no claim changes (issue 17)."""
    m = paths_df.assign(est_method=0.9 * paths_df["est"], std_all_method=0.9 * paths_df["std_all"],
                        pvalue_method=paths_df["pvalue"], ci_low_method=paths_df["ci_low"],
                        ci_high_method=paths_df["ci_high"], delta_std=-0.1 * paths_df["std_all"])
    sig = (m["ci_low"] > 0) | (m["ci_high"] < 0)
    m = m.assign(significant=sig, significant_method=sig, changed=False, estimator="ML")
    write_csv(m.drop(columns=["se", "z"]), _file(res, "method_bias_paths"))
    claims = [dict(id=r.id, kind=r.kind, expected=r.expected, est=r.estimate, std_est=r.std_estimate,
                   ci_low=r.ci_low, ci_high=r.ci_high, verdict=r.verdict, est_method=r.estimate,
                   std_est_method=r.std_estimate, ci_low_method=r.ci_low, ci_high_method=r.ci_high,
                   verdict_method=r.verdict, changed=False) for r in results]
    fit = dict(chi2=3152.97, df=275, pvalue=0.0, cfi=0.436, tli=0.384, rmsea=0.145, srmr=0.120, npar=50,
               proper=True, problems=[])
    write_json(dict(
        harman=dict(first_share=0.262, first_eigenvalue=6.55, n_components_above_1=7, factor_share=0.231,
                    n_items=25, n=500, cutoff=0.5, below_cutoff=True, method="unrotated principal components",
                    limits="the test is insensitive (Podsakoff et al. 2003)"),
        one_factor=fit, measurement=dict(fit, chi2=243.25, df=247, pvalue=0.56, cfi=1.0, tli=1.0, rmsea=0.0,
                                         srmr=0.026, npar=78),
        one_factor_vs_measurement=dict(chi2=2909.7, df=28, pvalue=0.0),
        method_factor=dict(name="CMV", identification="first method loading fixed at 1", chi2=200.09, df=225,
                           npar=100, proper=True, problems=[], mean_substantive_variance=0.535,
                           mean_method_variance=0.067, significant_method_loadings=12, variance_ratio=8.0,
                           versus_structural=dict(chi2=43.56, df=25, pvalue=0.012), loadings=[{}] * 25),
        claims=claims, claims_changed=[], paths_changed=[], estimator="ML", missing="listwise", seed=1,
        mc_draws=20000,
    ), _file(res, "method_bias"))


MC_SIZES = (100, 200, 300, 500, 800)
MC_REPLICATIONS = 200
MC_FAILED_FITS = 2
"""Replications per sample size whose fit fails (the last ones): they reproduce no claim."""
MC_EFFECTS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30)


def _mc_rate(study: Study, i: int, n: int) -> float:
    """Reproduction rate of claim ``i`` at ``n``: about .975 for a claim of no effect, rising with n otherwise."""
    if study.claims[i].expected == "not_significant":
        return 0.975 - 0.001 * i
    return 1.0 - math.exp(-n / (50.0 + 6 * i))


def _replications(study: Study) -> pd.DataFrame:
    """replications.csv: claim i fails in round((1 - rate) R) consecutive replications starting at 7 i (mod R)."""
    rows = []
    usable = MC_REPLICATIONS - MC_FAILED_FITS
    for n in MC_SIZES:
        fails = {i: round((1 - _mc_rate(study, i, n)) * usable) for i in range(len(study.claims))}
        for r in range(MC_REPLICATIONS):
            converged = r < usable
            for i, cl in enumerate(study.claims):
                ok = converged and (r - 7 * i) % usable >= fails[i]
                rows.append({"n": n, "replication": r, "claim_id": cl.id, "converged": converged, "refitted": False,
                             "estimate": 0.1, "std_estimate": 0.1, "ci_low": 0.01 if ok else -0.02, "ci_high": 0.2,
                             "verdict": "reproduced" if ok else "not_reproduced"})
    return pd.DataFrame(rows)


def _sensitivity(study: Study) -> pd.DataFrame:
    """sensitivity.csv: detection rate 1 - exp(-(effect / .12)^2) of each claim of no effect at n = N."""
    pop = {(p.source, p.target): p.std for p in study.paths}
    rows = []
    for cl in study.claims:
        if cl.expected != "not_significant":
            continue
        link = (cl.path[0], cl.path[1])
        for effect in MC_EFFECTS:
            rate = round(1.0 - math.exp(-((effect / 0.12) ** 2)), 3)
            lo, hi = wilson_interval(round(rate * MC_REPLICATIONS), MC_REPLICATIONS)
            later = [pop[lk] for lk in zip(cl.path[1:-1], cl.path[2:])]
            rows.append({"claim_id": cl.id, "path": "->".join(link), "effect": effect,
                         "population_effect": effect * math.prod(later), "n": N, "replications": MC_REPLICATIONS,
                         "converged": MC_REPLICATIONS, "detection_rate": rate, "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(rows)


def _write_montecarlo(res: Path, study: Study) -> None:
    """replications, claim_reproduction, joint_reproduction, sensitivity and power.json, as the gather rule derives them."""
    table = _replications(study)
    joint = joint_reproduction(table)
    sensitivity = _sensitivity(study)
    per_rep = table.drop_duplicates(["n", "replication"])
    power: dict[str, Any] = dict(power_summary(joint))
    power["fits"] = {"replications": len(per_rep), "converged": int(per_rep["converged"].sum()),
                     "failed": int((~per_rep["converged"]).sum()), "refitted": 0}
    power["min_detectable_80"] = min_detectable(sensitivity)
    power["sensitivity_n"] = N
    power["settings"] = {"replications": MC_REPLICATIONS, "sample_sizes": list(MC_SIZES), "mc_draws": 2000,
                         "seed": SEED, "sensitivity_replications": MC_REPLICATIONS}
    write_csv(table, _file(res, "replications"))
    write_csv(claim_reproduction(table, study), _file(res, "claim_reproduction"))
    write_csv(joint, _file(res, "joint_reproduction"))
    write_csv(sensitivity, _file(res, "sensitivity"))
    write_json(power, _file(res, "power"))


def _write_contrasts(res: Path) -> None:
    """indirect_contrasts.csv: every pair of specific indirect effects of one x on one y, first minus second."""
    ind = pd.read_csv(_file(res, "indirect"), dtype={"mediator": str})
    ind = ind[ind["effect"] == "indirect"]
    rows = []
    for (x, y), g in ind.groupby(["x", "y"], sort=False):
        g = g.reset_index(drop=True)
        for i in range(len(g)):
            for j in range(i + 1, len(g)):
                d = float(g.loc[i, "est"] - g.loc[j, "est"])
                rows.append(dict(x=x, y=y, mediator_1=g.loc[i, "mediator"], mediator_2=g.loc[j, "mediator"], est=d,
                                 se=0.03, std_est=1.1 * d, std_se=0.033, boot_se=0.031, boot_ci_low=d - 0.06,
                                 boot_ci_high=d + 0.06, std_ci_low=1.1 * d - 0.066, std_ci_high=1.1 * d + 0.066,
                                 mc_ci_low=d - 0.058, mc_ci_high=d + 0.058, estimator="ML"))
    write_csv(pd.DataFrame(rows, columns=list(BY_KEY["indirect_contrasts"].columns)), _file(res, "indirect_contrasts"))


def _write_issue17(res: Path, study: Study) -> None:
    """htmt2, htmt_intervals, cross_loadings, item_vif (from the written HTMT); std_paths, latent_covariances,
    r2_intervals, f2 (from the written paths and R-squared). Plausible values, every contract column."""
    _write_contrasts(res)
    ht = pd.read_csv(_file(res, "htmt"), index_col=0)
    cids = list(ht.columns)
    write_csv((ht * 0.97).where(~np.eye(len(cids), dtype=bool), 1.0).round(4), _file(res, "htmt2"), index=True)
    pairs = [(a, b) for i, a in enumerate(cids) for b in cids[i + 1:]]
    write_csv(pd.DataFrame([{
        "construct_a": a, "construct_b": b, "htmt": ht.loc[a, b], "htmt_ci_low": ht.loc[a, b] - 0.1,
        "htmt_ci_high": ht.loc[a, b] + 0.1, "htmt2": round(ht.loc[a, b] * 0.97, 4),
        "htmt2_ci_low": ht.loc[a, b] * 0.97 - 0.1, "htmt2_ci_high": ht.loc[a, b] * 0.97 + 0.1, "n_boot": 5000,
        "method": "percentile bootstrap over the structural bootstrap's resamples"} for a, b in pairs]),
        _file(res, "htmt_intervals"))
    cl, vif = [], []
    for c in study.constructs:
        for it in c.items:
            row = {k: (0.85 if k == c.id else 0.25) for k in cids}
            cl.append({"construct": c.id, "item": it.id, "own": 0.85, "max_cross": 0.25,
                       "max_cross_construct": next(k for k in cids if k != c.id), "own_highest": True, **row})
            vif.append({"construct": c.id, "item": it.id, "vif_block": 1.8, "vif_all": 2.0})
    write_csv(pd.DataFrame(cl), _file(res, "cross_loadings"))
    write_csv(pd.DataFrame(vif), _file(res, "item_vif"))
    paths = pd.read_csv(_file(res, "paths"))
    write_csv(paths.assign(se=0.045)[["lhs", "op", "rhs", "std_all", "se", "z", "pvalue", "ci_low", "ci_high"]]
              .assign(ci_low=paths["std_all"] - 0.09, ci_high=paths["std_all"] + 0.09, estimator="ML"),
              _file(res, "std_paths"))
    r2 = pd.read_csv(_file(res, "r2"))
    write_csv(r2.assign(se=0.04, ci_low=r2["r2"] - 0.08, ci_high=r2["r2"] + 0.08, boot_ci_low=r2["r2"] - 0.07,
                        boot_ci_high=r2["r2"] + 0.09, boot_n=4998, estimator="ML"), _file(res, "r2_intervals"))
    lat = [{"lhs": x, "op": "~~", "rhs": x, "kind": "variance", "free": True, "est": 1.1, "se": 0.08, "z": 13.75,
            "pvalue": 0.0, "ci_low": 0.94, "ci_high": 1.26, "std_all": 1.0, "std_se": 0.0, "std_ci_low": 1.0,
            "std_ci_high": 1.0, "estimator": "ML"} for x in study.exogenous]
    lat += [{"lhs": y, "op": "~~", "rhs": y, "kind": "disturbance variance", "free": True, "est": 0.7, "se": 0.06,
             "z": 11.7, "pvalue": 0.0, "ci_low": 0.58, "ci_high": 0.82, "std_all": 0.69, "std_se": 0.04,
             "std_ci_low": 0.61, "std_ci_high": 0.77, "estimator": "ML"} for y in study.endogenous]
    write_csv(pd.DataFrame(lat), _file(res, "latent_covariances"))
    write_csv(pd.DataFrame([{"lhs": d["lhs"], "rhs": d["rhs"], "r2_included": 0.4, "r2_excluded": 0.35,
                             "f2": round(0.05 / 0.6, 4), "size": "small", "estimator": "ML"}
                            for d in paths[paths["op"] == "~"].to_dict("records")]), _file(res, "f2"))


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
    res = Path(root) / RESULTS_DIR
    _write_measurement(res, study)
    _write_structural(res, study, DEFAULT_PERTURB if perturb is None else perturb)
    _write_issue17(res, study)
    out = {"results": res}
    if with_montecarlo:
        _write_montecarlo(res, study)
        out["montecarlo"] = _file(res, "power").parent
    return out
