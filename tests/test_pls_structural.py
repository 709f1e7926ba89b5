"""The PLS(c) structural analysis of the default study (xhs_sharing.analysis.pls_structural).

Its tables carry the columns of the structural step's result files, and
their numbers are the engine's: estimates from :func:`xhs_sharing.sem.pls.fit_pls`,
SEs and intervals from the kept bootstrap draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xhs_sharing import results
from xhs_sharing.analysis.pls_structural import pls_spec_for, run_pls_structural
from xhs_sharing.errors import DataError
from xhs_sharing.sem import pls
from xhs_sharing.study.spec import load_study

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261127


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "config" / "study.yaml")


@pytest.fixture(scope="module")
def items():
    return pd.read_csv(ROOT / "tests" / "reference" / "data" / "default_items.csv")


@pytest.fixture(scope="module")
def out(study, items):
    return run_pls_structural(items, study, n_resamples=300, seed=SEED, chunk_size=100)


def test_tables_meet_the_result_contract(out):
    for key, frame in (("paths", out.paths), ("r2", out.r2), ("indirect", out.indirect_effects)):
        results.check_table(key, frame)
        assert list(frame.columns) == list(results.BY_KEY[key].columns)
    assert set(out.paths.estimator) == set(out.r2.estimator) == set(out.indirect_effects.estimator) == {"PLSc"}
    assert out.bootstrap["requested"] == 300
    assert out.bootstrap["converged"] + out.bootstrap["failed"] == 300
    assert out.bootstrap["failures"] == ({"improper": out.bootstrap["failed"]} if out.bootstrap["failed"] else {})


def test_paths_are_the_engines(out, study, items):
    spec = pls_spec_for(study)
    fit = pls.fit_pls(pls.item_correlations(items, spec), spec, len(items), consistent=True)
    idx = {c: j for j, c in enumerate(spec.constructs)}
    assert len(out.paths) == 15
    for row in out.paths.itertuples():
        assert row.est == row.std_all == pytest.approx(fit.paths[idx[row.rhs], idx[row.lhs]], abs=1e-12)
        assert row.z == pytest.approx(row.est / row.se, rel=1e-12)
        assert row.pvalue == pytest.approx(2 * stats.norm.sf(abs(row.z)), rel=1e-12)
        assert row.ci_low < row.est < row.ci_high
    sn_pr = out.paths.set_index(["lhs", "rhs"]).loc[("SN", "PR")]
    assert round(sn_pr.est, 3) == 0.250


def test_effects_add_up(out):
    eff = out.indirect_effects
    assert sorted(eff.effect.value_counts().items()) == [
        ("direct", 4), ("indirect", 8), ("total", 4), ("total_indirect", 4)]
    for x, group in eff.groupby("x"):
        by = group.set_index("effect")
        assert group[group.effect == "indirect"].est.sum() == pytest.approx(by.loc["total_indirect", "est"], abs=1e-12)
        assert by.loc["total", "est"] == pytest.approx(by.loc["direct", "est"] + by.loc["total_indirect", "est"],
                                                       abs=1e-12)
    assert np.isnan(eff.mc_ci_low).all() and np.isnan(eff.mc_ci_high).all()
    # the mediator cell holds the mediators only, as indirect_effects.csv under ML ("CN", "M1->M2")
    assert sorted(set(eff.mediator[eff.effect == "indirect"])) == ["CN", "SN"]
    row = eff[(eff.x == "PR") & (eff.mediator == "CN") & (eff.y == "WSI")].iloc[0]
    assert row.boot_ci_low > 0 and row.mediation_type == "indirect-only"


def test_htmt_bounds(out):
    assert len(out.htmt) == 28
    assert (out.htmt.below_085 == (out.htmt.ci_upper < 0.85)).all()
    assert out.htmt.below_090.all()  # the synthetic constructs are distinct: every upper bound < .90


def test_missing_answers_are_refused(study, items):
    holed = items.copy()
    holed.loc[[3, 7], "cn2"] = np.nan
    with pytest.raises(DataError, match=r"2 row\(s\) have missing values in columns \['cn2'\]"):
        run_pls_structural(holed, study, n_resamples=10, seed=SEED)
