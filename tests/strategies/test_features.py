"""Feature strategies: hand-checked values, no division by zero, a picklable sklearn Pipeline."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from liftlab.simulate.ads import AdSimulationConfig, simulate_ads
from strategies.errors import ConfigError, InputDataError
from strategies.features import (
    FEATURE_STRATEGIES,
    RatioTransformer,
    build_feature_strategies,
    build_preprocessor,
)
from tests.conftest import shared_file

ALL_RATIOS = [{"name": "ctr"}, {"name": "cpc"}, {"name": "cpm"}, {"name": "spend_per_impression"}]


@pytest.fixture
def ads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ad_id": [1, 2, 3, 4],
            "age": ["30-34", "35-39", "30-34", "45-49"],
            "gender": ["M", "F", "F", "M"],
            "interest": [15, 16, 15, 100],
            "Impressions": [1000, 500, 0, 2000],
            "Clicks": [10, 0, 0, 4],
            "Spent": [5.0, 0.0, 0.0, 2.0],
            "Total_Conversion": [2, 1, 0, 3],
        }
    )


def _frame(pre, df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(pre.transform(df), columns=pre.get_feature_names_out())


def test_registry_names() -> None:
    assert set(FEATURE_STRATEGIES) >= {
        "ctr",
        "cpc",
        "cpm",
        "spend_per_impression",
        "log1p",
        "one_hot",
        "passthrough",
    }


def test_ratio_values_match_hand_computation(ads: pd.DataFrame) -> None:
    pre = build_preprocessor(ALL_RATIOS, categorical=()).fit(ads)
    out = _frame(pre, ads)
    np.testing.assert_allclose(out["ctr"], [0.01, 0.0, 0.0, 0.002])
    np.testing.assert_allclose(out["ctr_undefined"], [0, 0, 1, 0])
    np.testing.assert_allclose(out["cpc"], [0.5, 0.0, 0.0, 0.5])
    np.testing.assert_allclose(out["cpc_undefined"], [0, 1, 1, 0])
    np.testing.assert_allclose(out["cpm"], [5.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(out["cpm_undefined"], [0, 0, 1, 0])
    np.testing.assert_allclose(out["spend_per_impression"], [0.005, 0.0, 0.0, 0.001])


def test_log1p_and_passthrough(ads: pd.DataFrame) -> None:
    pre = build_preprocessor(
        [{"name": "log1p", "columns": ["Impressions", "Spent"]}],
        categorical=(),
        numeric=("Clicks",),
    ).fit(ads)
    out = _frame(pre, ads)
    assert list(out.columns) == ["Clicks", "log1p_Impressions", "log1p_Spent"]
    np.testing.assert_allclose(out["log1p_Impressions"], np.log1p([1000, 500, 0, 2000]))
    np.testing.assert_allclose(out["Clicks"], [10, 0, 0, 4])


def test_one_hot_treats_interest_as_a_category(ads: pd.DataFrame) -> None:
    pre = build_preprocessor([]).fit(ads)
    names = list(pre.get_feature_names_out())
    assert {"interest_15", "interest_16", "interest_100", "gender_F", "age_45-49"} <= set(names)
    out = _frame(pre, ads)
    assert out.loc[0, "interest_15"] == 1 and out.loc[0, "interest_16"] == 0
    assert out.shape[1] == 3 + 2 + 3  # 3 ages, 2 genders, 3 interests


def test_unseen_categories_are_ignored(ads: pd.DataFrame) -> None:
    pre = build_preprocessor([{"name": "ctr"}]).fit(ads)
    new = ads.head(1).assign(age="60-64", gender="U", interest=999)
    out = _frame(pre, new)
    one_hot = [c for c in out.columns if c.startswith(("age_", "gender_", "interest_"))]
    assert (out[one_hot].to_numpy() == 0).all()
    assert out.loc[0, "ctr"] == pytest.approx(0.01)


def test_no_nan_or_inf_even_with_missing_values(ads: pd.DataFrame) -> None:
    dirty = ads.astype({"Clicks": float, "Spent": float})
    dirty.loc[0, "Clicks"] = np.nan
    dirty.loc[3, "Spent"] = np.inf
    dirty.loc[1, "gender"] = None
    specs = [*ALL_RATIOS, {"name": "log1p"}]
    out = build_preprocessor(specs, numeric=("Spent",)).fit_transform(dirty)
    assert np.isfinite(out).all()


def test_pipeline_round_trip_and_pickle() -> None:
    data = simulate_ads(AdSimulationConfig(n_ads=600, seed=5)).data
    pipe = Pipeline(
        [
            ("features", build_preprocessor([*ALL_RATIOS, {"name": "log1p"}])),
            ("model", LinearRegression()),
        ]
    )
    train, test = data.iloc[:500], data.iloc[500:]
    pipe.fit(train, train["Total_Conversion"])
    pred = pipe.predict(test)
    assert pred.shape == (len(test),) and np.isfinite(pred).all()
    clone = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_allclose(clone.predict(test), pred)
    assert "Total_Conversion" not in pipe[0].get_feature_names_out()


def test_real_file_transforms_cleanly() -> None:
    real = pd.read_csv(shared_file("KAG_conversion_data.csv"))
    pre = build_preprocessor([*ALL_RATIOS, {"name": "log1p"}]).fit(real)
    out = _frame(pre, real)
    assert np.isfinite(out.to_numpy()).all()
    assert out["cpc_undefined"].sum() == (real["Clicks"] == 0).sum()


@pytest.mark.parametrize(
    ("specs", "match"),
    [
        ([{"name": "ctrr"}], "unknown"),
        ([{}], "no 'name'"),
        ([{"name": "ctr", "scael": 2}], "unknown parameter"),
        ([{"name": "log1p", "columns": "Spent"}], "list of column"),
        ([{"name": "log1p", "columns": []}], "non-empty"),
        ([{"name": "one_hot", "min_frequency": 0}], "min_frequency"),
        ([{"name": "cpm", "scale": "big"}], "number"),
        ({"name": "ctr"}, "must be a list"),
        (["ctr"], "mapping"),
    ],
)
def test_bad_specs_are_config_errors(specs, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_feature_strategies(specs)


def test_empty_preprocessor_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no features"):
        build_preprocessor([], categorical=())


def test_missing_column_is_an_input_error(ads: pd.DataFrame) -> None:
    with pytest.raises(InputDataError, match="Clicks"):
        RatioTransformer().fit(ads.drop(columns=["Clicks"]))
