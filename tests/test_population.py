"""Population algebra: hand-computed small models, the shipped spec, and a large draw."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import tiny_spec, without_population
from xhs_sharing.errors import SpecError
from xhs_sharing.study.population import (
    claim_population_value,
    holds_in_population,
    implied_standardized_paths,
    population_document,
    population_model,
    population_summary,
    r_squared,
    structural_matrices,
)
from xhs_sharing.study.spec import study_from_dict
from xhs_sharing.study.synthetic import draw_latent_responses


def test_hand_computed_single_path(tiny):
    # X -> Y with b = .5, loadings .8: psi_Y = 1 - .25; cov(x_i, x_j) = .8 * .8;
    # cov(x_i, y_j) = .8 * .5 * .8; residual item variance 1 - .64.
    model = population_model(tiny)
    expected = np.array([
        [1.00, 0.64, 0.32, 0.32],
        [0.64, 1.00, 0.32, 0.32],
        [0.32, 0.32, 1.00, 0.64],
        [0.32, 0.32, 0.64, 1.00],
    ])
    np.testing.assert_allclose(model.item_covariance, expected, atol=1e-12)
    assert model.items == ["x1", "x2", "y1", "y2"]
    assert model.residual_variances["Y"] == pytest.approx(0.75)
    assert model.residual_variances["x1"] == pytest.approx(0.36)


def test_hand_computed_two_correlated_predictors():
    # Y = .3 X + .4 Z with corr(X, Z) = .5: R2 = .09 + .16 + 2 * .3 * .4 * .5 = .37.
    st = study_from_dict(tiny_spec(b=0.3, b2=0.4, r=0.5), "two")
    B, Psi = structural_matrices(st)
    assert Psi[2, 2] == pytest.approx(1 - 0.37)
    assert r_squared(st)["Y"] == pytest.approx(0.37)
    lat = population_model(st).latent_covariance
    np.testing.assert_allclose(np.diag(lat), 1.0, atol=1e-12)
    assert lat[0, 2] == pytest.approx(0.3 + 0.4 * 0.5)  # cov(X, Y)


def test_shipped_spec_has_unit_variances_and_recovers_its_paths(study):
    model = population_model(study)
    np.testing.assert_allclose(np.diag(model.latent_covariance), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.diag(model.item_covariance), 1.0, atol=1e-12)
    implied = implied_standardized_paths(study, model)
    for p in study.paths:
        assert implied[f"{p.source}->{p.target}"] == pytest.approx(p.std, abs=1e-12)
    # SN: 4 paths of .2 among predictors correlated .3: .16 + 12 * .04 * .3 = .304
    assert r_squared(study)["SN"] == pytest.approx(0.304)
    assert r_squared(study)["CN"] == pytest.approx(0.09 + 0.09 + 2 * 0.09 * 0.3)


def test_reverse_items_load_negatively_as_answered(study):
    raw = population_model(study, recoded=False).item_covariance
    rec = population_model(study, recoded=True).item_covariance
    ids = study.item_ids
    es1, es3 = ids.index("es1"), ids.index("es3")
    assert raw[es1, es3] == pytest.approx(-rec[es1, es3])
    assert rec[es1, es3] == pytest.approx(0.81 * 0.79)


def test_large_draw_matches_population_covariance(study):
    rng = np.random.default_rng(12345)
    draws = draw_latent_responses(study, 200_000, rng)
    sample = np.cov(draws, rowvar=False)
    raw = population_model(study, recoded=False).item_covariance
    # sd of a sample covariance near .6 at n = 2e5 is about .003: 0.02 is > 6 sd
    assert np.abs(sample - raw).max() < 0.02


def test_explained_variance_of_one_is_rejected_naming_the_construct():
    with pytest.raises(SpecError, match="construct Y: its paths explain 1.152"):
        # .36 + .36 + 2 * .6 * .6 * .6 = 1.152
        structural_matrices(study_from_dict(tiny_spec(b=0.6, b2=0.6, r=0.6), "bad"))


def test_non_positive_definite_exogenous_correlations_rejected():
    spec = tiny_spec(b=0.1, b2=0.1, r=-0.99)
    spec["constructs"].insert(1, {**spec["constructs"][0], "id": "W",
                                  "items": [{"id": "w1", "loading": 0.8, "text": "t"}]})
    spec["paths"].append({"from": "W", "to": "Y", "std": 0.1})
    with pytest.raises(SpecError, match="positive definite"):
        structural_matrices(study_from_dict(spec, "bad"))


def test_summary_is_complete(study):
    s = population_summary(study)
    assert set(s["r2"]) == {"SN", "CN", "WSI"}
    assert s["latent_correlation"]["IS"]["ES"] == pytest.approx(0.30)
    assert s["latent_correlation"]["IS"]["CN"] == pytest.approx(0.30 * 0.30 * 2)  # via PR and PA


def test_population_document_records_whether_values_are_declared(study, study_dict):
    doc = population_document(study)
    assert doc["declared"] is True and doc["paths"]["IS->SN"] == 0.20 and set(doc) - {"declared"} == set(
        population_summary(study))
    own = study_from_dict(without_population(study_dict), "own.yaml")
    assert population_document(own) == {
        "declared": False,
        "missing": "loading of every item (25); std of every path (15); exogenous_correlation",
        "note": "the study spec declares no population values (item loading, path std, exogenous_correlation): "
                "no synthetic survey can be drawn and the Monte Carlo study and its sensitivity analysis are skipped",
    }
    with pytest.raises(SpecError, match=r"^own\.yaml: the population model needs the population values"):
        population_model(own)


def test_claim_population_values_are_products_of_the_links(study):
    by_id = {c.id: c for c in study.claims}
    assert claim_population_value(study, by_id["PR->CN"]) == 0.30
    assert claim_population_value(study, by_id["PR->CN->WSI"]) == pytest.approx(0.30 * 0.30)
    assert claim_population_value(study, by_id["IS->CN->WSI"]) == 0.0
    assert [holds_in_population(e, v) for e, v in (("positive_significant", 0.1), ("positive_significant", -0.1),
                                                   ("negative_significant", -0.1), ("not_significant", 0.0),
                                                   ("not_significant", 1e-9))] == [True, False, True, True, False]
