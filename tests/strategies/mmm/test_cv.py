"""Rolling CV on synthetic series whose right answers are known in closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.errors import InputDataError
from strategies.mmm.cv import (
    Forecaster,
    cv_windows,
    rolling_cv,
    seasonal_naive_forecast,
)
from strategies.mmm.data import MMMData
from strategies.mmm.result import CV_COLUMNS, CV_SHARE_COLUMNS

CHANNELS = ("tv", "search")


def _data(y, spend=None, freq="7D") -> MMMData:
    y = np.asarray(y, float)
    n = len(y)
    spend = np.ones((n, 2)) if spend is None else np.asarray(spend, float)
    return MMMData(
        dates=pd.date_range("2022-01-03", periods=n, freq=freq).to_numpy(),
        y=y,
        spend=spend,
        controls=np.zeros((n, 0)),
        channels=CHANNELS,
        control_names=(),
    )


class Truth:
    """The data-generating process itself, with geometric adstock (so carry-over matters)."""

    alpha = np.array([0.7, 0.3])
    beta = np.array([2.0, 3.0])
    lags = 6

    def __init__(self, first_date):
        self.first_date = np.datetime64(first_date, "ns")

    def channel_contributions(self, spend, carry_in=None):
        spend = np.asarray(spend, float)
        history = np.zeros((self.lags - 1, 2)) if carry_in is None else carry_in[-(self.lags - 1) :]
        full = np.vstack([history, spend])
        weights = self.alpha[None, :] ** np.arange(self.lags)[:, None]
        weights = weights / weights.sum(axis=0)
        n = len(spend)
        adstock = sum(
            weights[lag] * full[self.lags - 1 - lag : self.lags - 1 - lag + n]
            for lag in range(self.lags)
        )
        return self.beta * adstock

    def base(self, dates):
        weeks = (dates - self.first_date).astype("timedelta64[D]").astype(float) / 7
        return 50 + 0.2 * weeks + 5 * np.sin(2 * np.pi * weeks / 52)

    def predict(self, data, carry_in=None):
        return self.base(data.dates) + self.channel_contributions(data.spend, carry_in).sum(axis=1)


def _truth_data(n=120, seed=3):
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2.0, 5.0, size=(n, 2))
    data = _data(np.zeros(n), spend)
    truth = Truth(data.dates[0])
    return data.with_outcome(truth.predict(data)), truth


class OLSOnSpend:
    """Fake fit: OLS of y on [1, spend]; contributions = coefficient x spend."""

    def __init__(self, data: MMMData):
        design = np.column_stack([np.ones(data.n_periods), data.spend])
        self.coef = np.linalg.lstsq(design, data.y, rcond=None)[0]

    def predict(self, data, carry_in=None):
        return self.coef[0] + data.spend @ self.coef[1:]

    def channel_contributions(self, spend, carry_in=None):
        return np.asarray(spend) * self.coef[1:]


def test_perfect_forecaster_scores_zero_and_needs_the_carry_in():
    data, truth = _truth_data()
    seen = []

    def fit(train):
        seen.append(train.n_periods)
        return truth

    result = rolling_cv(data, fit, n_folds=4, test_periods=13)
    assert seen == [68, 81, 94, 107]
    np.testing.assert_allclose(result.folds["mape"], 0, atol=1e-10)
    np.testing.assert_allclose(result.folds["nrmse"], 0, atol=1e-12)
    assert isinstance(truth, Forecaster)

    # without carry-in the first test periods would miss the adstocked tail of training spend
    test = data.slice(68, 81)
    assert np.abs(truth.predict(test) - test.y).max() > 1e-3


def test_folds_expand_and_never_overlap_their_training_data():
    data, truth = _truth_data(n=100)
    result = rolling_cv(data, lambda d: truth, n_folds=3, test_periods=10, min_train_periods=40)
    folds = result.folds
    assert tuple(folds.columns) == CV_COLUMNS
    dates = pd.to_datetime(data.dates)
    assert list(folds["fold"]) == [1, 2, 3]
    assert (folds["train_start"] == dates[0]).all()
    assert list(folds["test_start"]) == [dates[70], dates[80], dates[90]]
    assert list(folds["train_end"]) == [dates[69], dates[79], dates[89]]
    assert list(folds["test_end"]) == [dates[79], dates[89], dates[99]]
    assert (folds["test_start"] > folds["train_end"]).all()
    assert cv_windows(100, 3, 10, 40) == [(70, 80), (80, 90), (90, 100)]


def test_seasonal_naive_is_exact_on_a_pure_seasonal_series_and_trend_on_a_line():
    rng = np.random.default_rng(11)
    pattern = rng.uniform(50, 150, 52)
    seasonal = _data(np.tile(pattern, 4))  # 208 weeks
    result = rolling_cv(seasonal, OLSOnSpend, n_folds=4, test_periods=13)
    assert result.summary["season_periods"] == 52
    np.testing.assert_allclose(result.folds["mape_seasonal_naive"], 0, atol=1e-12)
    assert result.summary["nrmse_seasonal_naive"] == pytest.approx(0, abs=1e-12)
    # more than a season ahead: the last observed season repeats (no test value is used)
    long = rolling_cv(seasonal, OLSOnSpend, n_folds=1, test_periods=60, min_train_periods=60)
    assert long.folds["mape_seasonal_naive"].iloc[0] == pytest.approx(0, abs=1e-12)

    line = _data(3.0 + 0.5 * np.arange(80))
    result = rolling_cv(line, OLSOnSpend, n_folds=2, test_periods=10)
    np.testing.assert_allclose(result.folds["mape_trend"], 0, atol=1e-9)


def test_seasonal_naive_by_hand():
    y = np.arange(10.0)
    # season 4: forecasts of periods 10..15 come from 6, 7, 8, 9, 6, 7 (last season repeated)
    np.testing.assert_array_equal(seasonal_naive_forecast(y, 6, 4), [6, 7, 8, 9, 6, 7])
    # history shorter than a season: the last value
    np.testing.assert_array_equal(seasonal_naive_forecast(y[:3], 2, 52), [2, 2])
    daily = _data(np.ones(800), freq="D")
    assert rolling_cv(daily, OLSOnSpend, n_folds=1, test_periods=5).summary["season_periods"] == 365


def test_errors_follow_the_documented_conventions():
    # a forecaster off by a constant d: MAPE = mean(d / |y|) in %, NRMSE = d / (max - min of y)
    rng = np.random.default_rng(5)
    y = rng.uniform(20, 80, 60)
    data = _data(y)
    d = 4.0

    class Offset:
        def __init__(self, train):
            pass

        def predict(self, data, carry_in=None):
            return data.y + d

        def channel_contributions(self, spend, carry_in=None):
            return np.ones_like(spend)

    result = rolling_cv(data, Offset, n_folds=2, test_periods=10)
    test = y[40:50]
    assert result.folds["mape"].iloc[0] == pytest.approx(100 * np.mean(d / test))
    assert result.folds["nrmse"].iloc[0] == pytest.approx(d / (y.max() - y.min()))
    trend_fit = np.polyfit(np.arange(40), y[:40], 1)
    trend = np.polyval(trend_fit, np.arange(40, 50))
    assert result.folds["mape_trend"].iloc[0] == pytest.approx(
        100 * np.mean(np.abs(test - trend) / test)
    )


def test_shares_frame_and_stability():
    rng = np.random.default_rng(9)
    n = 90
    spend = rng.uniform(1, 10, size=(n, 2))
    spend[60:, 0] *= 3  # tv spends more later: its share of the training windows grows
    data = _data(5 + spend @ np.array([2.0, 3.0]), spend)
    result = rolling_cv(data, OLSOnSpend, n_folds=3, test_periods=10)
    shares = result.shares
    assert tuple(shares.columns) == CV_SHARE_COLUMNS
    assert len(shares) == 3 * 2
    expected = {}
    for fold, stop in zip((1, 2, 3), (60, 70, 80), strict=True):
        contrib = (spend[:stop] * [2.0, 3.0]).sum(axis=0)
        expected[fold] = contrib / contrib.sum()
        got = shares[shares["fold"] == fold].set_index("channel")["share"]
        np.testing.assert_allclose(got[list(CHANNELS)], expected[fold], rtol=1e-9)
    tv = [expected[f][0] for f in (1, 2, 3)]
    assert result.share_stability["tv"] == pytest.approx(max(tv) - min(tv), rel=1e-9)
    np.testing.assert_allclose(result.folds["mape"], 0, atol=1e-9)
    assert result.summary["mape"] == pytest.approx(0, abs=1e-9)
    assert result.summary["mape_trend"] == pytest.approx(result.folds["mape_trend"].mean())


def test_too_few_periods_names_the_numbers():
    data = _data(np.ones(60))
    with pytest.raises(InputDataError, match=r"at least 104 periods .*52 to train.*have 60"):
        rolling_cv(data, OLSOnSpend)
    with pytest.raises(InputDataError, match=r"at least 70 periods .*have 60"):
        rolling_cv(data, OLSOnSpend, n_folds=2, test_periods=10, min_train_periods=50)


def test_a_model_worse_than_the_baselines_is_said():
    pattern = np.random.default_rng(2).uniform(50, 150, 52)
    data = _data(np.tile(pattern, 3))

    class Zero(OLSOnSpend):
        def predict(self, data, carry_in=None):
            return np.zeros(data.n_periods)

    result = rolling_cv(data, Zero, n_folds=2, test_periods=13)
    assert any("worse than the seasonal naive" in m for m in result.messages)
    assert result.summary["nrmse"] > result.summary["nrmse_seasonal_naive"] == 0
