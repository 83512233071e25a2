"""The ad simulator must look like the real KAG file and let a GLM recover its planted truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from liftlab.simulate.ads import (
    AGE_BUCKETS,
    COLUMNS,
    INTEREST_CODES,
    AdSimulationConfig,
    simulate_ads,
    write_ads,
)
from strategies.errors import ConfigError
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def default_result():
    return simulate_ads()


def test_deterministic_for_a_seed(default_result) -> None:
    again = simulate_ads(AdSimulationConfig(seed=42))
    pd.testing.assert_frame_equal(default_result.data, again.data)
    pd.testing.assert_frame_equal(default_result.expected, again.expected)
    other = simulate_ads(AdSimulationConfig(seed=7))
    assert not other.data["Total_Conversion"].equals(default_result.data["Total_Conversion"])


def test_schema_and_shape(default_result) -> None:
    data = default_result.data
    assert tuple(data.columns) == COLUMNS
    assert len(data) == 1143
    assert data["ad_id"].is_unique
    assert data["xyz_campaign_id"].nunique() == 3
    assert set(data["age"]) <= set(AGE_BUCKETS)
    assert set(data["gender"]) == {"M", "F"}
    assert set(data["interest"]) <= set(INTEREST_CODES)
    for column in ("Impressions", "Clicks", "Total_Conversion", "Approved_Conversion"):
        assert data[column].dtype == np.int64
        assert (data[column] >= 0).all()
    assert data["Spent"].dtype == np.float64
    assert (data["Approved_Conversion"] <= data["Total_Conversion"]).all()
    expected = default_result.expected
    assert len(expected) == len(data)
    assert (expected["ad_id"].to_numpy() == data["ad_id"].to_numpy()).all()
    assert (expected["expected_total_conversion"] > 0).all()


def test_schema_matches_the_real_file(default_result) -> None:
    real = pd.read_csv(shared_file("KAG_conversion_data.csv"))
    sim = default_result.data
    assert list(sim.columns) == list(real.columns)
    assert sim.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict()


def test_quirks_present(default_result) -> None:
    data = default_result.data
    zero = (data["Clicks"] == 0) & (data["Spent"] == 0)
    assert zero.sum() > 50
    assert ((data["Clicks"] == 0) == (data["Spent"] == 0)).all()  # pay per click
    assert (zero & (data["Total_Conversion"] > 0)).sum() > 20  # view-through conversions
    assert (data["Total_Conversion"] > data["Clicks"]).sum() > 50
    sizes = data.groupby("fb_campaign_id").size()
    assert sizes.max() >= 3 and (sizes > 1).sum() > 100
    audience = data.groupby("fb_campaign_id")[["age", "gender", "interest", "xyz_campaign_id"]]
    assert (audience.nunique() == 1).all().all()  # ads of one ad set share their audience
    share_zero = (data["Approved_Conversion"] == 0).mean()
    assert 0.35 < share_zero < 0.65
    assert data["Approved_Conversion"].max() >= 10  # long tail


def test_truth_is_json_serialisable(default_result) -> None:
    truth = default_result.truth
    json.dumps(truth)
    assert set(truth["interest_effects"]) == {str(c) for c in INTEREST_CODES}
    assert truth["age_effects"]["30-34"] == 0.0


def test_expected_follows_the_model(default_result) -> None:
    data, truth, expected = default_result.data, default_result.truth, default_result.expected
    ctr = 1000.0 * data["Clicks"] / data["Impressions"]
    log_mu = (
        truth["intercept"]
        + truth["coefficients"]["log_impressions"] * np.log(data["Impressions"])
        + truth["coefficients"]["log1p_ctr_per_mille"] * np.log1p(ctr)
        + data["age"].map(truth["age_effects"]).astype(float)
        + data["gender"].map(truth["gender_effects"]).astype(float)
        + data["interest"].astype(str).map(truth["interest_effects"]).astype(float)
        + expected["adset_effect"]
    )
    np.testing.assert_allclose(np.exp(log_mu), expected["expected_total_conversion"], rtol=1e-9)


def test_poisson_glm_recovers_the_coefficients() -> None:
    result = simulate_ads(AdSimulationConfig(n_ads=50_000, seed=3))
    data, truth = result.data, result.truth
    numeric = pd.DataFrame(
        {
            "log_impressions": np.log(data["Impressions"]),
            "log1p_ctr": np.log1p(1000.0 * data["Clicks"] / data["Impressions"]),
        }
    )
    dummies = pd.get_dummies(
        data[["age", "gender"]].assign(interest=data["interest"].astype(str)), dtype=float
    ).drop(columns=["age_30-34", "gender_M"])
    # Drop one interest level as the reference and compare differences to it.
    reference = data["interest"].astype(str).value_counts().index[0]
    dummies = dummies.drop(columns=[f"interest_{reference}"])
    x = pd.concat([numeric, dummies], axis=1)
    # IRLS (statsmodels) converges in a few iterations; sklearn's lbfgs needs ~20 s here.
    model = sm.GLM(data["Total_Conversion"], sm.add_constant(x), family=sm.families.Poisson())
    coef = model.fit().params.to_dict()

    assert coef["log_impressions"] == pytest.approx(
        truth["coefficients"]["log_impressions"], abs=0.03
    )
    assert coef["log1p_ctr"] == pytest.approx(
        truth["coefficients"]["log1p_ctr_per_mille"], abs=0.06
    )
    for bucket in AGE_BUCKETS[1:]:
        assert coef[f"age_{bucket}"] == pytest.approx(truth["age_effects"][bucket], abs=0.08)
    assert coef["gender_F"] == pytest.approx(truth["gender_effects"]["F"], abs=0.06)
    ref_effect = truth["interest_effects"][reference]
    top = data["interest"].astype(str).value_counts().index[1:4]
    for code in top:
        want = truth["interest_effects"][code] - ref_effect
        assert coef[f"interest_{code}"] == pytest.approx(want, abs=0.1)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_ads_round_trip(tmp_path, default_result, suffix: str) -> None:
    paths = write_ads(default_result, tmp_path / f"ads{suffix}")
    reader = pd.read_csv if suffix == ".csv" else pd.read_parquet
    back = reader(paths["data"])
    assert list(back.columns) == list(COLUMNS)
    assert len(back) == len(default_result.data)
    assert json.loads(paths["truth"].read_text())["p_approve"] == default_result.truth["p_approve"]
    assert "expected_total_conversion" in pd.read_csv(paths["expected"]).columns


def test_write_ads_rejects_unknown_suffix(tmp_path, default_result) -> None:
    with pytest.raises(ConfigError, match=r"\.csv or \.parquet"):
        write_ads(default_result, tmp_path / "ads.xlsx")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_ads": 0},
        {"n_campaigns": 0},
        {"n_campaigns": 4},  # default shares hold 3 entries
        {"p_approve": 1.5},
        {"ads_per_adset": 0.5},
        {"age_effects": (0.0, 0.1)},
        {"seed": -1},
    ],
)
def test_bad_config_is_a_config_error(kwargs) -> None:
    with pytest.raises(ConfigError):
        AdSimulationConfig(**kwargs)


def test_equal_shares_when_none() -> None:
    result = simulate_ads(AdSimulationConfig(n_ads=300, n_campaigns=5, campaign_shares=None))
    assert result.data["xyz_campaign_id"].nunique() == 5
