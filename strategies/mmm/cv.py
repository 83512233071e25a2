"""Rolling (expanding-window) time-series cross-validation of a marketing mix model.

Why: in-sample fit says little about an MMM — flexible adstock/saturation curves can explain the
past with implausible decompositions. Refitting on expanding windows and forecasting the next
block tells us (1) whether the model forecasts better than naive baselines and (2) whether the
channel shares it attributes stay put when the data grow; a share that swings from fold to fold
is not a finding.

Folds: the last ``n_folds * test_periods`` periods are cut into ``n_folds`` consecutive test
windows; each fold trains on **every** period before its test window and forecasts the window
directly after it, so the training spend is passed as ``carry_in`` (the adstock of the first test
periods includes spend from the end of training). Test windows never overlap their training data.

Baselines on the same folds, fitted on the same training window:

* **seasonal naive**: the value one season earlier (season = ``round(365.25 / period_days)``
  periods, 52 for weekly data); for test periods more than a season past the training end, the
  last observed season is repeated, so no test value is ever used; the last training value when
  the training window is shorter than a season;
* **linear trend**: OLS of the outcome on the period index over the training window.

Errors: **MAPE** in percent, over periods with a non-zero outcome; **NRMSE** = RMSE divided by
the range (max - min) of the observed outcome over the **whole series** (Robyn's convention, so
NRMSE is comparable across folds whose test windows have different ranges).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.mmm.data import MMMData
from strategies.mmm.result import CV_COLUMNS, CV_SHARE_COLUMNS

__all__ = [
    "CVResult",
    "Forecaster",
    "cv_windows",
    "mape",
    "nrmse",
    "rolling_cv",
    "seasonal_naive_forecast",
    "season_length",
    "trend_forecast",
]

#: A channel whose share moves by more than this (max - min across folds) is called unstable.
SHARE_UNSTABLE = 0.2


@runtime_checkable
class Forecaster(Protocol):
    """What the CV needs from a fitted model (``FittedMMM`` satisfies it)."""

    def predict(self, data: MMMData, carry_in: np.ndarray | None = None) -> np.ndarray:
        """Predicted outcome per period of ``data``; ``carry_in`` = spend rows just before."""
        ...

    def channel_contributions(
        self, spend: np.ndarray, carry_in: np.ndarray | None = None
    ) -> np.ndarray:
        """(T, C) contribution of each channel per period for the spend matrix."""
        ...


@dataclass
class CVResult:
    """``folds`` (:data:`CV_COLUMNS`), ``shares`` (:data:`CV_SHARE_COLUMNS`) and summaries."""

    folds: pd.DataFrame
    shares: pd.DataFrame
    summary: dict[str, float]  # mean mape/nrmse of the model and of each baseline over folds
    share_stability: dict[str, float]  # channel -> max - min share across folds
    messages: list[str] = field(default_factory=list)


# ---- metrics and baselines --------------------------------------------------------------------
def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error in %, over periods with a non-zero outcome (NaN if none)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    keep = actual != 0
    if not keep.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(actual[keep] - forecast[keep]) / np.abs(actual[keep])))


def nrmse(actual: np.ndarray, forecast: np.ndarray, outcome_range: float) -> float:
    """RMSE / ``outcome_range`` (max - min of the whole observed series; NaN if it is 0)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    rmse = float(np.sqrt(np.mean((actual - forecast) ** 2)))
    return rmse / outcome_range if outcome_range > 0 else float("nan")


def season_length(period_days: float) -> int:
    """Periods per year: 52 for weekly data, 365 for daily."""
    return max(int(round(365.25 / period_days)), 1)


def seasonal_naive_forecast(train_y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Forecast of the ``horizon`` periods after ``train_y`` by the value one season earlier
    (the last observed season repeated); the last value when history is shorter than a season."""
    train_y = np.asarray(train_y, float)
    n = len(train_y)
    steps = np.arange(1, horizon + 1)
    source = n - 1 + steps - season * np.ceil(steps / season).astype(int)
    return np.where(source >= 0, train_y[np.maximum(source, 0)], train_y[-1])


def trend_forecast(train_y: np.ndarray, horizon: int) -> np.ndarray:
    """OLS line through the training window, extended ``horizon`` periods."""
    train_y = np.asarray(train_y, float)
    t = np.arange(len(train_y), dtype=float)
    design = np.column_stack([np.ones_like(t), t])
    coef, *_ = np.linalg.lstsq(design, train_y, rcond=None)
    future = np.arange(len(train_y), len(train_y) + horizon, dtype=float)
    return coef[0] + coef[1] * future


# ---- folds ------------------------------------------------------------------------------------
def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def cv_windows(
    n_periods: int, n_folds: int, test_periods: int, min_train_periods: int | None = None
) -> list[tuple[int, int]]:
    """``(train_stop, test_stop)`` per fold: train on ``[0, train_stop)``, test on
    ``[train_stop, test_stop)``. By default the first training window is at least as long as
    all test windows together, so every fold's model has seen at least half the data."""
    n_folds = _positive_int(n_folds, "n_folds")
    test_periods = _positive_int(test_periods, "test_periods")
    if min_train_periods is None:
        min_train_periods = max(n_folds * test_periods, 2)
    min_train_periods = _positive_int(min_train_periods, "min_train_periods", minimum=2)
    span = n_folds * test_periods
    needed = min_train_periods + span
    if n_periods < needed:
        raise InputDataError(
            f"rolling cross-validation needs at least {needed} periods ({min_train_periods} to "
            f"train the first fold + {n_folds} folds x {test_periods} test periods); the data "
            f"have {n_periods}"
        )
    first = n_periods - span
    return [(first + k * test_periods, first + (k + 1) * test_periods) for k in range(n_folds)]


def _date(dates: np.ndarray, i: int) -> pd.Timestamp:
    return pd.Timestamp(dates[i])


def rolling_cv(
    data: MMMData,
    fit: Callable[[MMMData], Forecaster],
    *,
    n_folds: int = 4,
    test_periods: int = 13,
    min_train_periods: int | None = None,
) -> CVResult:
    """Refit with ``fit`` on expanding windows and score the forecasts of the next window
    against the seasonal-naive and linear-trend baselines (see the module docstring)."""
    windows = cv_windows(data.n_periods, n_folds, test_periods, min_train_periods)
    y = np.asarray(data.y, float)
    outcome_range = float(y.max() - y.min())
    season = season_length(data.period_days())
    rows, share_rows, nrmse_base = [], [], {"seasonal_naive": [], "trend": []}
    for fold, (train_stop, test_stop) in enumerate(windows, start=1):
        train, test = data.slice(0, train_stop), data.slice(train_stop, test_stop)
        model = fit(train)
        forecast = np.asarray(model.predict(test, carry_in=train.spend), dtype=float).reshape(-1)
        if forecast.shape != (test.n_periods,) or not np.all(np.isfinite(forecast)):
            raise ValueError(
                f"fold {fold}: the model returned {forecast.shape} forecasts (finite: "
                f"{bool(np.all(np.isfinite(forecast)))}) for {test.n_periods} test periods"
            )
        naive = seasonal_naive_forecast(train.y, test.n_periods, season)
        trend = trend_forecast(train.y, test.n_periods)
        nrmse_base["seasonal_naive"].append(nrmse(test.y, naive, outcome_range))
        nrmse_base["trend"].append(nrmse(test.y, trend, outcome_range))
        rows.append(
            {
                "fold": fold,
                "train_start": _date(data.dates, 0),
                "train_end": _date(data.dates, train_stop - 1),
                "test_start": _date(data.dates, train_stop),
                "test_end": _date(data.dates, test_stop - 1),
                "mape": mape(test.y, forecast),
                "nrmse": nrmse(test.y, forecast, outcome_range),
                "mape_seasonal_naive": mape(test.y, naive),
                "mape_trend": mape(test.y, trend),
            }
        )
        contribution = np.asarray(model.channel_contributions(train.spend), float).sum(axis=0)
        total = contribution.sum()
        for c, name in enumerate(data.channels):
            share = contribution[c] / total if total > 0 else float("nan")
            share_rows.append({"fold": fold, "channel": name, "share": float(share)})
    folds = pd.DataFrame(rows, columns=list(CV_COLUMNS))
    shares = pd.DataFrame(share_rows, columns=list(CV_SHARE_COLUMNS))
    summary = {
        "mape": _mean(folds["mape"]),
        "nrmse": _mean(folds["nrmse"]),
        "mape_seasonal_naive": _mean(folds["mape_seasonal_naive"]),
        "nrmse_seasonal_naive": _mean(nrmse_base["seasonal_naive"]),
        "mape_trend": _mean(folds["mape_trend"]),
        "nrmse_trend": _mean(nrmse_base["trend"]),
        "n_folds": float(len(windows)),
        "test_periods": float(test_periods),
        "season_periods": float(season),
    }
    by_channel = shares.groupby("channel", sort=False)["share"]
    stability = {str(k): float(v) for k, v in (by_channel.max() - by_channel.min()).items()}
    return CVResult(folds, shares, summary, stability, _messages(summary, stability))


def _mean(values) -> float:
    values = np.asarray(values, float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _messages(summary: dict[str, float], stability: dict[str, float]) -> list[str]:
    """Plain sentences for what a reader should not miss in the CV numbers."""
    messages = []
    for key, label in (("seasonal_naive", "the seasonal naive forecast"), ("trend", "a trend")):
        if summary["nrmse"] > summary[f"nrmse_{key}"]:
            messages.append(
                f"Out of sample the model forecasts worse than {label} (NRMSE "
                f"{summary['nrmse']:.3f} vs {summary[f'nrmse_{key}']:.3f}); its decomposition "
                "should not be trusted without other evidence (lift tests)."
            )
    for channel, spread in stability.items():
        if spread > SHARE_UNSTABLE:
            messages.append(
                f"{channel}'s contribution share moves by {100 * spread:.0f} percentage "
                "points across the CV folds: the data do not pin it down."
            )
    return messages
