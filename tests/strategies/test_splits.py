"""Split strategies: disjoint, deterministic, leak-free by group, and ordered in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liftlab.simulate.ads import simulate_ads
from strategies.errors import ConfigError, InputDataError
from strategies.splits import SPLIT_STRATEGIES, GroupedSplit, TimeSplit, make_split
from tests.conftest import shared_file


@pytest.fixture(scope="module")
def ads() -> pd.DataFrame:
    # A non-default index proves the indices are positional.
    data = simulate_ads().data
    return data.set_index(data["ad_id"])


@pytest.fixture
def dated() -> pd.DataFrame:
    days = pd.date_range("2026-01-01", periods=20, freq="D")
    rng = np.random.default_rng(0)
    return pd.DataFrame({"date": rng.choice(days, size=200), "y": rng.normal(size=200)})


def _assert_partition(train: np.ndarray, test: np.ndarray, n: int) -> None:
    assert len(np.intersect1d(train, test)) == 0
    assert len(train) > 0 and len(test) > 0
    assert set(train) | set(test) == set(range(n))


def test_registry() -> None:
    assert set(SPLIT_STRATEGIES) == {"random", "grouped", "time"}


@pytest.mark.parametrize("spec", [{"name": "random"}, {"name": "grouped"}])
def test_holdout_is_a_disjoint_partition(ads: pd.DataFrame, spec: dict) -> None:
    train, test = make_split(spec).holdout(ads)
    _assert_partition(train, test, len(ads))
    assert 0.1 < len(test) / len(ads) < 0.3


def test_random_is_deterministic_per_seed(ads: pd.DataFrame) -> None:
    a = make_split({"name": "random", "seed": 1}).holdout(ads)
    b = make_split({"name": "random", "seed": 1}).holdout(ads)
    c = make_split({"name": "random", "seed": 2}).holdout(ads)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    folds_a = list(make_split({"name": "random", "seed": 1}).cv_folds(ads, 4))
    folds_b = list(make_split({"name": "random", "seed": 1}).cv_folds(ads, 4))
    for (tr_a, te_a), (tr_b, te_b) in zip(folds_a, folds_b, strict=True):
        np.testing.assert_array_equal(tr_a, tr_b)
        np.testing.assert_array_equal(te_a, te_b)


@pytest.mark.parametrize("name", ["random", "grouped"])
def test_cv_folds_cover_every_row_once(ads: pd.DataFrame, name: str) -> None:
    folds = list(make_split({"name": name}).cv_folds(ads, n_splits=5))
    assert len(folds) == 5
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests) == list(range(len(ads)))
    for train, test in folds:
        _assert_partition(train, test, len(ads))


def test_grouped_never_leaks_a_group(ads: pd.DataFrame) -> None:
    split = make_split({"name": "grouped"})
    groups = ads["fb_campaign_id"].to_numpy()
    train, test = split.holdout(ads)
    assert not set(groups[train]) & set(groups[test])
    np.testing.assert_array_equal(GroupedSplit(seed=42).holdout(ads)[1], test)  # deterministic
    for fold_train, fold_test in split.cv_folds(ads, 5):
        assert not set(groups[fold_train]) & set(groups[fold_test])


def test_grouped_by_another_column(ads: pd.DataFrame) -> None:
    split = make_split({"name": "grouped", "column": "interest", "test_size": 0.3, "seed": 3})
    train, test = split.holdout(ads)
    assert not set(ads["interest"].iloc[train]) & set(ads["interest"].iloc[test])


def test_time_split_trains_on_the_past(dated: pd.DataFrame) -> None:
    train, test = TimeSplit(test_size=0.25).holdout(dated)
    _assert_partition(train, test, len(dated))
    assert dated["date"].iloc[train].max() < dated["date"].iloc[test].min()
    assert 0.15 < len(test) / len(dated) <= 0.25


def test_time_cv_folds_are_expanding_windows(dated: pd.DataFrame) -> None:
    folds = list(make_split({"name": "time"}).cv_folds(dated, n_splits=4))
    assert len(folds) == 4
    previous = 0
    for train, test in folds:
        assert dated["date"].iloc[train].max() < dated["date"].iloc[test].min()
        assert len(train) > previous
        previous = len(train)


def test_time_split_parses_text_dates(dated: pd.DataFrame) -> None:
    text = dated.assign(date=dated["date"].dt.strftime("%Y-%m-%d"))
    a = TimeSplit().holdout(text)
    b = TimeSplit().holdout(dated)
    np.testing.assert_array_equal(a[1], b[1])


def test_time_split_without_the_column_fails(ads: pd.DataFrame) -> None:
    with pytest.raises(InputDataError, match="date"):
        make_split({"name": "time"}).holdout(ads)


def test_time_split_needs_two_times() -> None:
    df = pd.DataFrame({"date": pd.to_datetime(["2026-01-01"] * 5)})
    with pytest.raises(InputDataError, match="single distinct"):
        TimeSplit().holdout(df)


def test_grouped_split_on_the_real_file() -> None:
    real = pd.read_csv(shared_file("KAG_conversion_data.csv"))
    split = make_split({"name": "grouped", "column": "fb_campaign_id"})
    train, test = split.holdout(real)
    _assert_partition(train, test, len(real))
    assert not set(real["fb_campaign_id"].iloc[train]) & set(real["fb_campaign_id"].iloc[test])
    for train, test in split.cv_folds(real, 5):
        ids_train = set(real["fb_campaign_id"].iloc[train])
        assert not ids_train & set(real["fb_campaign_id"].iloc[test])


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"name": "stratified"}, "unknown"),
        ({}, "no 'name'"),
        ({"name": "random", "test_szie": 0.2}, "unknown parameter"),
        ({"name": "random", "test_size": 1.5}, "test_size"),
        ({"name": "random", "seed": -1}, "seed"),
        ({"name": "grouped", "column": ""}, "column"),
        ("random", "mapping"),
    ],
)
def test_bad_specs_are_config_errors(spec, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_split(spec)


def test_too_many_folds(ads: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="n_splits"):
        next(make_split({"name": "random"}).cv_folds(ads, 1))
    small = ads.head(3)
    with pytest.raises(InputDataError, match="at least"):
        next(make_split({"name": "grouped"}).cv_folds(small, 10))


def test_missing_group_values_fail_fast(ads: pd.DataFrame) -> None:
    broken = ads.astype({"fb_campaign_id": float}).reset_index(drop=True)
    broken.loc[0, "fb_campaign_id"] = np.nan
    with pytest.raises(InputDataError, match="missing"):
        make_split({"name": "grouped"}).holdout(broken)
