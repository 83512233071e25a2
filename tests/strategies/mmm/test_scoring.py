"""``predict_plan`` (what the served model answers) against an independent computation: the
fitted parameters pushed through the simulator's plain-loop transforms
(:mod:`liftlab.simulate.mmm`, no code shared with :mod:`strategies.mmm.transforms`) and the
base written out from :mod:`strategies.mmm.data`'s formula."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from liftlab.simulate.mmm import (
    adstock_series,
    adstock_weights,
    default_mmm_config,
    saturate,
    simulate_mmm,
)
from strategies.errors import InputDataError
from strategies.mmm.fit import FittedMMM, fit_mmm
from strategies.mmm.scoring import predict_plan
from tests.strategies.mmm.test_recovery import sim_data, true_spec

N_TRAIN = 140


@pytest.fixture(scope="module")
def world() -> tuple[FittedMMM, pd.DataFrame, np.ndarray]:
    """A model fitted on the first 140 weeks of the default world, the 16 weeks after them as a
    plan (spend columns named as channels, the controls as observed) and the training spend."""
    sim = simulate_mmm(default_mmm_config())
    data = sim_data(sim)
    model = fit_mmm(data.slice(0, N_TRAIN), true_spec(sim))
    plan = pd.DataFrame({"date": pd.to_datetime(data.dates[N_TRAIN:])})
    for c, channel in enumerate(data.channels):
        plan[channel] = data.spend[N_TRAIN:, c]
    for k, control in enumerate(data.control_names):
        plan[control] = data.controls[N_TRAIN:, k]
    return model, plan, data.spend[:N_TRAIN]


def independent_prediction(
    model: FittedMMM, plan: pd.DataFrame, history: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(predicted outcome, (T, C) contributions) for ``plan`` (sorted by date); ``history`` =
    spend rows before the plan (None: none). Channels: the concatenated spend series through
    plain-loop adstock and saturation, the plan's tail kept."""
    n = len(plan)
    contributions = np.zeros((n, len(model.channels)))
    for c, channel in enumerate(model.channels):
        params = model.params[channel]
        before = [] if history is None else list(history[:, c])
        series = before + list(plan[channel].astype(float))
        weights = adstock_weights(model.adstocks[c], params, model.max_lag)
        adstocked = adstock_series(series, weights)[len(before) :]
        contributions[:, c] = [
            model.beta[c] * saturate(model.saturations[c], params, a) for a in adstocked
        ]
    coef = model.base_coefficients
    days = (plan["date"] - pd.Timestamp(model.start_date)).dt.days.to_numpy(float)
    t = days / model.period_days
    year = 365.25 / model.period_days
    base = coef["intercept"] + coef["trend"] * t / (model.n_train - 1)
    for k in (1, 2):
        base = base + coef[f"sin_{k}"] * np.sin(2 * math.pi * k * t / year)
        base = base + coef[f"cos_{k}"] * np.cos(2 * math.pi * k * t / year)
    for control in model.control_names:
        base = base + coef[control] * plan[control].to_numpy(float)
    return base + contributions.sum(axis=1), contributions


def _check(out: pd.DataFrame, model: FittedMMM, expected: tuple[np.ndarray, np.ndarray]) -> None:
    predicted, contributions = expected
    assert list(out.columns) == ["date", "predicted", *model.channels]
    np.testing.assert_allclose(out["predicted"], predicted, rtol=1e-9)
    np.testing.assert_allclose(out[list(model.channels)], contributions, rtol=1e-9, atol=1e-6)


def test_a_plan_right_after_training_continues_the_carry_over(world) -> None:
    model, plan, history = world
    out = predict_plan(model, plan)
    _check(out, model, independent_prediction(model, plan, history))
    pd.testing.assert_series_equal(out["date"], plan["date"], check_names=False)
    # Not vacuous: without the training tail the first weeks would be lower.
    no_carry, _ = independent_prediction(model, plan, None)
    assert np.all(out["predicted"].to_numpy()[:3] - no_carry[:3] > 1_000)
    np.testing.assert_allclose(out["predicted"].to_numpy()[-5:], no_carry[-5:], rtol=1e-9)


def test_a_plan_elsewhere_assumes_no_earlier_spend(world) -> None:
    model, plan, _ = world
    later = plan.assign(date=plan["date"] + pd.Timedelta(weeks=5))
    out = predict_plan(model, later)
    _check(out, model, independent_prediction(model, later, None))
    # One period too early is "elsewhere" too.
    earlier = plan.assign(date=plan["date"] - pd.Timedelta(weeks=1))
    _check(predict_plan(model, earlier), model, independent_prediction(model, earlier, None))


@pytest.mark.parametrize("column", ["radio", "tv", "promotion", "holiday_christmas", "date"])
def test_a_missing_column_is_named(world, column) -> None:
    model, plan, _ = world
    with pytest.raises(InputDataError, match=f"no column '{column}'"):
        predict_plan(model, plan.drop(columns=column))


def test_unsorted_rows_are_predicted_in_date_order(world) -> None:
    model, plan, _ = world
    shuffled = plan.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert not shuffled["date"].is_monotonic_increasing
    shuffled["date"] = shuffled["date"].dt.strftime("%Y-%m-%d")  # dates as text, too
    out = predict_plan(model, shuffled)
    pd.testing.assert_frame_equal(out, predict_plan(model, plan))
    assert out["date"].is_monotonic_increasing
