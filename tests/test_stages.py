"""Stages on the synthetic survey, where the population values are known."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from xhs_sharing.analysis.measurement import average_variance_extracted, composite_reliability, htmt, htmt_from_corr
from xhs_sharing.data.survey import analysis_frame
from xhs_sharing.pipeline.measurement import run_measurement
from xhs_sharing.pipeline.structural import run_structural
from xhs_sharing.seeds import stream_seed
from xhs_sharing.study.population import population_model
from xhs_sharing.study.spec import load_schema, read_yaml, validate_against_schema
from xhs_sharing.study.synthetic import codebook, simulate_survey


@pytest.fixture(scope="module")
def large(study):
    # 5,000 respondents: sampling error of CR/AVE is ~.005, so the tolerances below
    # mostly cover the attenuation of cutting normal responses into 7 points.
    return run_measurement(analysis_frame(simulate_survey(study, 5000, seed=4242), codebook(study, 7)), study, 7)


def test_reliability_lands_near_the_population_values(study, large):
    rel = large.reliability.set_index("construct")
    for c in study.constructs:
        lam = [it.loading for it in c.items]
        assert rel.loc[c.id, "cr"] == pytest.approx(composite_reliability(lam), abs=0.03), c.id
        assert rel.loc[c.id, "ave"] == pytest.approx(average_variance_extracted(lam), abs=0.05), c.id
        # Likert cutting attenuates, never inflates, the loadings
        assert rel.loc[c.id, "ave"] < average_variance_extracted(lam) + 0.01, c.id


def test_htmt_lands_near_the_population_value(study):
    # HTMT is the maximum-sensitive statistic here (28 pairs): at n = 20,000 the
    # sd of one pair is about .008, so .04 is about 5 sd for the worst pair.
    items = analysis_frame(simulate_survey(study, 20_000, seed=4242), codebook(study, 7))
    sample = htmt(items, study.items_by_construct)
    pop = population_model(study).item_covariance
    pop_htmt = htmt_from_corr(pd.DataFrame(pop, index=study.item_ids, columns=study.item_ids),
                              study.items_by_construct)
    np.testing.assert_allclose(sample.to_numpy(), pop_htmt.to_numpy(), atol=0.04)


@pytest.mark.slow
def test_every_default_check_passes_on_the_default_survey(study):
    """The population model is built so the measurement holds; at the default N it does."""
    items = analysis_frame(simulate_survey(study, 500, seed=20261127), codebook(study, 7))
    out = run_measurement(items, study, 7)
    failed = [c for c in out.checks["checks"] if c["status"] != "pass"]
    assert failed == []
    assert out.checks["total"] == 8 * 3 + 28 + 8 + 4 + 25 + 25  # alpha/cr/ave, htmt pairs, FL, fit, loadings, residuals


@pytest.mark.slow
def test_structural_estimates_land_near_the_population_and_intervals_agree(study):
    """At n = 5,000 the standardized paths sit near the spec's values (sd about .015-.02,
    so .06 is about 3-4 sd for the worst of 15 paths), and the bootstrap and Monte Carlo
    intervals of every indirect effect agree to within a fifth of their width."""
    items = analysis_frame(simulate_survey(study, 5000, seed=5150), codebook(study, 7))
    out = run_structural(items, study, n_boot=400, boot_seed=5151, mc_seed=5152, chunk_size=200, mc_draws=20_000)
    paths = out.paths.set_index(["rhs", "lhs"])["std_all"]
    for p in study.paths:
        assert paths[(p.source, p.target)] == pytest.approx(p.std, abs=0.06), f"{p.source}->{p.target}"
    ind = out.indirect_effects
    width = (ind["mc_ci_high"] - ind["mc_ci_low"]).to_numpy()
    for side in ("low", "high"):
        gap = (ind[f"boot_ci_{side}"] - ind[f"mc_ci_{side}"]).abs().to_numpy()
        assert (gap < 0.2 * width).all(), side
    assert out.bootstrap["converged"] == 400


@pytest.fixture(scope="module")
def default_config() -> dict:
    """config/config.yaml with the schema's defaults filled in, as Snakemake's ``validate`` gives it to the rules."""
    return validate_against_schema(read_yaml(ROOT / "config" / "config.yaml"), load_schema("config.schema.yaml"),
                                   "config/config.yaml")


@pytest.mark.slow
def test_run_structural_defaults_give_the_pipeline_numbers(study, default_config):
    """A Python caller using run_structural's defaults gets the numbers of the pipeline with the default config.

    scripts/structural.py passes the config's ``structural`` settings and the missing-data setting; the same call
    without them must give identical outputs. Both runs draw more resamples than one chunk, and a third run with
    the chunk size the package used to default to (100) shows that the chunk size moves the bootstrap intervals,
    so a disagreeing default would fail here.
    """
    cfg, syn = default_config["structural"], default_config["synthetic"]
    items = analysis_frame(simulate_survey(study, syn["n"], seed=syn["seed"]), codebook(study, default_config["data"]["scale_points"]))
    seeds = dict(boot_seed=stream_seed(syn["seed"], "bootstrap"), mc_seed=stream_seed(syn["seed"], "mc_intervals"))
    n_boot = cfg["chunk_size"] + 30  # two chunks: 250 + 30 under the default config
    pipeline = run_structural(items, study, n_boot=n_boot, chunk_size=cfg["chunk_size"], mc_draws=cfg["mc_draws"],
                              sesoi=cfg["sesoi"], engine=cfg["engine"], missing=default_config["data"]["missing"], **seeds)
    python = run_structural(items, study, n_boot=n_boot, **seeds)
    assert python.bootstrap == pipeline.bootstrap
    assert python.bootstrap["chunk_size"] == 250 and python.bootstrap["converged"] == n_boot
    for name in ("paths", "r2", "indirect_effects", "equivalence"):
        pd.testing.assert_frame_equal(getattr(python, name), getattr(pipeline, name), check_exact=True)
    assert python.fit == pipeline.fit
    # every structural setting defaults to the config's value (n_boot to the config's bootstrap count)
    defaults = {k: v.default for k, v in inspect.signature(run_structural).parameters.items()}
    assert {k: defaults[k] for k in ("chunk_size", "mc_draws", "sesoi", "engine")} == \
        {k: cfg[k] for k in ("chunk_size", "mc_draws", "sesoi", "engine")}
    assert (defaults["n_boot"], defaults["missing"]) == (cfg["bootstrap"], default_config["data"]["missing"])
    # the chunk size fixes the random streams: another one gives other bootstrap intervals
    other = run_structural(items, study, n_boot=n_boot, chunk_size=100, **seeds)
    boot_cols = ["boot_ci_low", "boot_ci_high"]
    assert not np.allclose(other.indirect_effects[boot_cols], python.indirect_effects[boot_cols], rtol=0, atol=1e-6)
    pd.testing.assert_frame_equal(other.paths, python.paths)
