"""The Monte Carlo reproducibility study (xhs_sharing.analysis.montecarlo).

* The replication data are the synthetic survey of the main pipeline, bit for
  bit, and the batched fit is the main model (fit_structural) to 1e-4.
* The fast claim verdicts are those of claims.evaluate_claims(interval="mc").
* Statistical behaviour at small R: a path that is exactly zero in the
  population is "not significant" at about 1 - alpha = .95 at every n; a weak
  positive path reproduces more often as n grows.
* Gathering does not depend on the chunking (byte-identical CSV).
* Wilson intervals, joint rates and power.json on hand-made tables.

Every random draw comes from the package's seed (20261127, README
"Controlled randomness"); none was chosen by looking at the results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xhs_sharing.analysis.claims import evaluate_claims
from xhs_sharing.analysis.montecarlo import (
    ReplicationModel,
    chunk_replications,
    claim_reproduction,
    claims_frame,
    gather,
    gather_outputs,
    joint_reproduction,
    min_detectable,
    n_chunks,
    power_summary,
    replication_seed,
    run_chunk,
    run_sensitivity,
    smallest_reaching,
    wilson_interval,
)
from xhs_sharing.analysis.structural import fit_structural
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.errors import DataError
from xhs_sharing.io import write_csv
from xhs_sharing.seeds import STREAMS
from xhs_sharing.study.syntax import mediation_triples
from xhs_sharing.study.synthetic import codebook, simulate_survey

SEED = 20261127  # config.yaml synthetic.seed; never tuned
SIZES = (150, 250, 400, 600, 1000)  # the config's default sample sizes
R_SMALL = 100  # replications per n in the statistical tests
MC_DRAWS = 1000


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """One BLAS thread, as in every Snakemake job (run_step): semopy's SLSQP is ~50x slower oversubscribed."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def model(study):
    return ReplicationModel(study)


@pytest.fixture(scope="module")
def small_study(study, model):
    """R_SMALL replications at every default n, as one claims table."""
    return pd.concat([claims_frame(model.fit(n, range(R_SMALL), SEED, MC_DRAWS), study) for n in SIZES],
                     ignore_index=True)


def z999() -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.9995))


# ------------------------------------------------------------------ streams and data


def test_replication_streams_and_chunks():
    ss = replication_seed(SEED, 250, 7)
    assert ss.entropy == [SEED, STREAMS["montecarlo"], 250, 7]
    assert replication_seed(SEED, 250, 7, 1).entropy == [SEED, STREAMS["montecarlo"], 250, 7, 1]
    assert n_chunks(500, 125) == 4 and n_chunks(501, 125) == 5
    assert list(chunk_replications(4, 125, 501)) == [500]
    covered = [r for c in range(n_chunks(23, 5)) for r in chunk_replications(c, 5, 23)]
    assert covered == list(range(23))


@pytest.mark.parametrize("settings", [dict(scale_points=7, thresholds="symmetric", skew_shift=0.5),
                                      dict(scale_points=5, thresholds="skewed", skew_shift=0.8)])
def test_replication_data_are_simulate_survey_then_analysis_frame(study, settings):
    m = ReplicationModel(study, **settings)
    for n, r in ((150, 0), (400, 3)):
        raw = simulate_survey(study, n, replication_seed(SEED, n, r), **settings)
        expect = analysis_frame(raw, codebook(study, settings["scale_points"])).to_numpy()
        got = m.simulate(n, replication_seed(SEED, n, r))
        assert got.dtype == expect.dtype and np.array_equal(got, expect)


def test_batched_replication_fit_agrees_with_fit_structural(study, model):
    n, r = 250, 0
    batch = model.fit(n, [r], SEED, MC_DRAWS)
    assert batch.converged.all()
    data = analysis_frame(simulate_survey(study, n, replication_seed(SEED, n, r)), codebook(study, 7))
    ref = fit_structural(model.syntax, data)
    assert ref.structure.param_names == model.bm.names
    np.testing.assert_allclose(batch.params[0], ref.theta, rtol=0, atol=1e-4)
    ours = batch.paths_table(0)
    theirs = ref.paths.set_index(["lhs", "rhs"]).loc[list(zip(ours["lhs"], ours["rhs"]))].reset_index()
    np.testing.assert_allclose(ours["est"], theirs["est"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours["se"], theirs["se"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(ours["std_all"], theirs["std_all"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours["ci_low"], theirs["ci_low"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(ours["pvalue"], theirs["pvalue"], rtol=0, atol=1e-3)
    # indirect effects and their standardized values: the main table's definitions
    from xhs_sharing.analysis.mediation import compute_effects, effect_specs

    specs = [s for s in effect_specs(mediation_triples(study)) if s.effect == "indirect"]
    est, std = compute_effects(ref.structure, ref.theta, specs)
    ind = batch.indirect_table(0)
    assert list(zip(ind["x"], ind["mediator"], ind["y"])) == [(s.x, s.mediator, s.y) for s in specs]
    np.testing.assert_allclose(ind["est"], est, rtol=0, atol=1e-4)
    np.testing.assert_allclose(ind["std_est"], std, rtol=0, atol=1e-4)
    # the Monte Carlo interval brackets the estimate and has a plausible width (2 x 1.96 x delta SE)
    assert np.all((ind["mc_ci_low"] < ind["est"]) & (ind["est"] < ind["mc_ci_high"]))


def test_verdicts_are_those_of_evaluate_claims(study, model):
    batch = model.fit(150, range(40), SEED, MC_DRAWS)
    fast = claims_frame(batch, study)
    assert (fast["verdict"] == "not_reproduced").any() and (fast["verdict"] == "reproduced").any()
    for i, r in enumerate(batch.replications):
        ref = evaluate_claims(study.claims, batch.paths_table(i), batch.indirect_table(i), interval="mc")
        rows = fast[fast["replication"] == r]
        assert rows["claim_id"].tolist() == [c.id for c in ref]
        assert rows["verdict"].tolist() == [c.verdict for c in ref]
        for col, attr in (("estimate", "estimate"), ("std_estimate", "std_estimate"), ("ci_low", "ci_low"),
                          ("ci_high", "ci_high")):
            np.testing.assert_array_equal(rows[col].to_numpy(), [getattr(c, attr) for c in ref])


def test_a_failed_fit_is_kept_as_not_reproduced(study, monkeypatch):
    m = ReplicationModel(study)
    real = m.bm.fit_batch
    doomed = m.covariances(150, [replication_seed(SEED, 150, 1)])[0]  # replication 1 never converges

    def failing(covs, *args, **kwargs):
        fit = real(covs, *args, **kwargs)
        for b in range(len(covs)):
            if np.array_equal(covs[b], doomed):
                fit.converged[b], fit.failed[b], fit.params[b] = False, True, np.nan
        return fit

    monkeypatch.setattr(m.bm, "fit_batch", failing)
    table = claims_frame(m.fit(150, range(3), SEED, MC_DRAWS), study)
    bad = table[table["replication"] == 1]
    assert len(bad) == len(study.claims)
    assert (~bad["converged"]).all() and (bad["verdict"] == "not_reproduced").all()
    assert bad[["estimate", "ci_low", "ci_high"]].isna().all().all()
    assert table.loc[table["replication"] != 1, "converged"].all()
    rates = claim_reproduction(table, study)
    assert (rates["replications"] == 3).all() and (rates["converged"] == 2).all()
    assert (rates["reproduction_rate"] <= 2 / 3).all()  # the failed fit stays in the denominator
    assert joint_reproduction(table)["joint_rate"].iloc[0] <= 2 / 3


# ------------------------------------------------------------------ statistical behaviour


@pytest.mark.parametrize("claim_id", ["IS->CN", "ES->CN"])
def test_zero_path_is_not_significant_at_about_95_percent_at_every_n(study, small_study, claim_id):
    pop = {f"{p.source}->{p.target}": p.std for p in study.paths}
    assert pop[claim_id] == 0.0
    rows = small_study[small_study["claim_id"] == claim_id]
    for n, grp in rows.groupby("n"):
        assert grp["converged"].all()
        x = int((grp["verdict"] == "reproduced").sum())  # reproduced = interval includes zero
        lo, hi = wilson_interval(x, len(grp), level=0.999)
        assert lo <= 0.95 <= hi, f"{claim_id} at n={n}: {x}/{len(grp)} not significant"


def test_weak_positive_path_reproduces_more_often_as_n_grows(study, small_study):
    claim_id = "IS->SN"  # a .20 path, the weakest positive path of the spec
    assert min(p.std for p in study.paths if p.std > 0) == 0.20
    rates = claim_reproduction(small_study, study)
    sub = rates[rates["claim_id"] == claim_id].sort_values("n")
    r = sub["reproduction_rate"].to_numpy()
    # monotone within noise: no drop larger than 3 binomial SEs between neighbouring sizes
    se = np.sqrt(r[:-1] * (1 - r[:-1]) / R_SMALL + r[1:] * (1 - r[1:]) / R_SMALL)
    assert np.all(np.diff(r) > -3 * se - 1e-12), r
    # and a clear rise overall
    assert r[-1] - r[0] > 0.3, r
    assert r[0] < 0.8 and r[-1] > 0.9, r


def test_sensitivity_detects_a_real_effect_and_reports_its_size(study):
    table = run_sensitivity(study, n=500, effects=[0.3], replications=20, master_seed=SEED, mc_draws=MC_DRAWS)
    assert table["claim_id"].tolist() == ["IS->CN", "ES->CN", "IS->CN->WSI", "ES->CN->WSI"]
    assert table["path"].tolist() == ["IS->CN", "ES->CN", "IS->CN", "ES->CN"]
    np.testing.assert_allclose(table["population_effect"], [0.3, 0.3, 0.3 * 0.3, 0.3 * 0.3])
    assert (table["detection_rate"] >= 0.8).all()  # power of a .30 path at n = 500 is near 1
    assert min_detectable(table) == {"IS->CN": 0.3, "ES->CN": 0.3, "IS->CN->WSI": 0.3, "ES->CN->WSI": 0.3}


# ------------------------------------------------------------------ gather


def test_gather_does_not_depend_on_chunking(study, model, tmp_path):
    R, sizes = 15, (150, 250)
    written = []
    for size in (3, 5):
        frames = [run_chunk(study, n, chunk_replications(c, size, R), master_seed=SEED, mc_draws=MC_DRAWS,
                            model=model)
                  for n in reversed(sizes) for c in reversed(range(n_chunks(R, size)))]  # any order
        out = gather_outputs(frames, study, sample_sizes=sizes, replications=R)
        paths = []
        for name in ("replications", "claim_reproduction", "joint_reproduction"):
            path = tmp_path / f"{name}_{size}.csv"
            write_csv(getattr(out, name), path)
            paths.append(path)
        written.append((paths, out.power))
    for a, b in zip(written[0][0], written[1][0]):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert written[0][1] == written[1][1]
    rows = pd.read_csv(written[0][0][0])
    assert list(rows.columns) == ["n", "replication", "claim_id", "converged", "refitted", "estimate",
                                  "std_estimate", "ci_low", "ci_high", "verdict"]
    assert len(rows) == len(sizes) * R * len(study.claims)


def test_gather_rejects_missing_and_duplicated_replications(study, model):
    a = run_chunk(study, 150, range(0, 3), master_seed=SEED, mc_draws=MC_DRAWS, model=model)
    b = run_chunk(study, 150, range(3, 5), master_seed=SEED, mc_draws=MC_DRAWS, model=model)
    assert len(gather([a, b], study, [150], 5)) == 5 * len(study.claims)
    with pytest.raises(DataError, match="exactly 5 replications"):
        gather([a], study, [150], 5)
    with pytest.raises(DataError, match="more than one chunk"):
        gather([a, a, b], study, [150], 5)


# ------------------------------------------------------------------ summaries


def test_wilson_interval_known_values():
    # Newcombe (1998, Stat. Med. 17:857, Table I): 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605
    lo, hi = wilson_interval(np.array([81, 15]), np.array([263, 148]))
    np.testing.assert_allclose(lo, [0.2553, 0.0624], atol=5e-5)
    np.testing.assert_allclose(hi, [0.3662, 0.1605], atol=5e-5)
    # by hand, x = 0: upper = z^2 / (n + z^2)
    z2 = 1.959963984540054**2
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(z2 / (10 + z2), rel=1e-12)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(10 / (10 + z2), rel=1e-12)
    lo, hi = wilson_interval(5, 10, level=0.999)
    assert lo + hi == pytest.approx(1.0)  # symmetric around 1/2
    assert np.isnan(wilson_interval(0, 0)[0])


def _constructed_table(study, rates_by_n: dict[int, float], R: int = 20) -> pd.DataFrame:
    """Every claim reproduced in every replication, except that the first ``(1 - rate) R``
    replications at each n fail the first claim: the joint rate is exactly ``rate``."""
    rows = []
    for n, rate in rates_by_n.items():
        bad = round((1 - rate) * R)
        for r in range(R):
            for k, c in enumerate(study.claims):
                ok = not (k == 0 and r < bad)
                rows.append({"n": n, "replication": r, "claim_id": c.id, "converged": True, "refitted": False,
                             "estimate": 0.1, "std_estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2,
                             "verdict": "reproduced" if ok else "not_reproduced"})
    return pd.DataFrame(rows)


def test_joint_rate_and_power_json_on_a_constructed_table(study):
    table = gather([_constructed_table(study, {100: 0.5, 200: 0.85, 300: 0.9})], study, [100, 200, 300], 20)
    joint = joint_reproduction(table)
    assert joint["n"].tolist() == [100, 200, 300]
    np.testing.assert_allclose(joint["joint_rate"], [0.5, 0.85, 0.9])
    lo, hi = wilson_interval(np.array([10, 17, 18]), 20)
    np.testing.assert_allclose(joint["ci_low"], lo)
    np.testing.assert_allclose(joint["ci_high"], hi)
    assert power_summary(joint) == {"joint_80": 200, "joint_95": None}
    claims = claim_reproduction(table, study)
    first = claims[claims["claim_id"] == study.claims[0].id]
    np.testing.assert_allclose(first["reproduction_rate"], [0.5, 0.85, 0.9])
    assert (claims.loc[claims["claim_id"] != study.claims[0].id, "reproduction_rate"] == 1).all()

    out = gather_outputs([table], study, sample_sizes=[100, 200, 300], replications=20)
    assert out.power["joint_80"] == 200 and out.power["joint_95"] is None
    assert out.power["fits"] == {"replications": 60, "converged": 60, "failed": 0, "refitted": 0}
    assert "reading" not in out.power  # numbers only: the words are the report's (tests/test_report_montecarlo.py)

    # reached at the 95% level too; and a lucky early point does not count (not sustained)
    full = joint_reproduction(gather([_constructed_table(study, {100: 0.85, 200: 0.75, 300: 0.95})],
                                     study, [100, 200, 300], 20))
    assert power_summary(full) == {"joint_80": 300, "joint_95": 300}


def test_smallest_reaching_requires_every_larger_value():
    assert smallest_reaching([1, 2, 3], [0.9, 0.95, 0.99], 0.8) == 1
    assert smallest_reaching([3, 1, 2], [0.99, 0.9, 0.5], 0.8) == 3  # order of the input does not matter
    assert smallest_reaching([1, 2], [0.5, float("nan")], 0.8) is None
    assert smallest_reaching([], [], 0.8) is None
