"""``analyse_marketing_mix`` end to end on a small run (the repository's demo config, 30 draws):
the tables have exactly the columns :mod:`strategies.mmm.result` promises, their numbers agree
with each other and with the input table, CV folds never see their test window (nor a lift test
that ran after their training data), and the budget headline's interval agrees with its
probability (DESIGN.md §2.7: a decision never contradicts a number printed beside it)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import strategies.mmm.analysis as analysis_module
from liftlab.config.marketing_mix import MarketingMixConfig, load_marketing_mix_config
from liftlab.simulate.mmm import LiftTestSpec, MMMSimulation, default_mmm_config, simulate_mmm
from strategies.mmm.analysis import analyse_marketing_mix
from strategies.mmm.data import LIFT_TEST_COLUMNS
from strategies.mmm.result import (
    BUDGET_PLAN_COLUMNS,
    BUDGET_SCENARIO_COLUMNS,
    CALIBRATION_COLUMNS,
    CONTRIBUTION_COLUMNS,
    CV_COLUMNS,
    CV_SHARE_COLUMNS,
    PARAMETER_COLUMNS,
    RESPONSE_CURVE_COLUMNS,
    ROI_COLUMNS,
    MMMResult,
)

REPO = Path(__file__).resolve().parents[3]
# ``tests_within`` is used as ``analysis_module.tests_within``: imported by name, pytest would
# collect it as a test.
N_DRAWS = 30
#: A go-dark test of search in the last quarter: inside the data, after every CV fold's training
#: window (the last fold trains on periods 0-142 of 156).
LATE_TEST = LiftTestSpec("search", 146, 4, 1.0)


def small_config(**overrides) -> MarketingMixConfig:
    """``configs/marketing_mix.yaml`` (true transforms of the demo data, calibration weight
    auto, tv bounds 0.8-1.2) with ``overrides``; data are passed in memory."""
    values = yaml.safe_load((REPO / "configs" / "marketing_mix.yaml").read_text())["parameters"]
    return load_marketing_mix_config({**values, **overrides})


@pytest.fixture(scope="module")
def run() -> tuple[MMMSimulation, MarketingMixConfig, MMMResult, list]:
    """One analysis of the default world plus a late search test; every ``fit_mmm`` call the
    analysis makes itself (point fit, CV folds) is recorded with the lift tests it got."""
    base = default_mmm_config()
    sim = simulate_mmm(replace(base, lift_tests=(*base.lift_tests, LATE_TEST)))
    config = small_config(bootstrap={"n_draws": N_DRAWS})
    data = config.mmm_data(sim.frame)
    calls = []
    real = analysis_module.fit_mmm

    def recording(train, spec, tests=None, **kwargs):
        calls.append((train.n_periods, None if tests is None else tests.reset_index(drop=True)))
        return real(train, spec, tests, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis_module, "fit_mmm", recording)
        result = analyse_marketing_mix(
            data, config.analysis_settings(data.n_periods), sim.lift_tests
        )
    return sim, config, result, calls


def test_every_table_has_exactly_the_documented_columns(run) -> None:
    _, _, result, _ = run
    expected = {
        "contributions": CONTRIBUTION_COLUMNS,
        "roi": ROI_COLUMNS,
        "parameters": PARAMETER_COLUMNS,
        "response_curves": RESPONSE_CURVE_COLUMNS,
        "budget_plan": BUDGET_PLAN_COLUMNS,
        "cv_folds": CV_COLUMNS,
        "cv_shares": CV_SHARE_COLUMNS,
        "calibration": CALIBRATION_COLUMNS,
        "budget_scenarios": BUDGET_SCENARIO_COLUMNS,
    }
    for name, columns in expected.items():
        assert list(getattr(result, name).columns) == list(columns), name
    assert result.fit_stats["n_draws"] == N_DRAWS
    assert result.fit_stats["n_lift_tests"] == 3
    assert result.fit_stats["calibration_weight"] == 156  # auto = number of periods


def test_roi_shares_sum_to_one_and_follow_the_contributions(run) -> None:
    sim, config, result, _ = run
    roi = result.roi
    assert list(roi["channel"]) == config.channel_names  # config order, not sorted
    assert roi["share"].sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(roi["share"], roi["contribution"] / roi["contribution"].sum())
    spend = [sim.frame[column].sum() for column in config.spend_columns]
    np.testing.assert_allclose(roi["spend"], spend)
    np.testing.assert_allclose(roi["roas"], roi["contribution"] / roi["spend"])
    # The contribution table over time adds up to the ROI table's window totals.
    channels = result.contributions[result.contributions["kind"] == "channel"]
    totals = channels.groupby("component")["contribution"].sum()
    np.testing.assert_allclose(totals[config.channel_names], roi["contribution"], rtol=1e-9)


def test_the_budget_plan_keeps_the_current_total(run) -> None:
    sim, config, result, _ = run
    plan = result.budget_plan
    horizon = config.budget.horizon
    current = sim.frame[config.spend_columns].tail(horizon).mean().to_numpy()
    np.testing.assert_allclose(plan["current_spend"], current)
    assert plan["optimal_spend"].sum() == pytest.approx(current.sum(), rel=1e-9)
    assert result.budget.total_per_period == pytest.approx(current.sum(), rel=1e-9)
    assert result.budget.mode == "fixed_total"
    assert np.all(plan["optimal_spend"] >= plan["lower_bound"] - 1e-6)
    assert np.all(plan["optimal_spend"] <= plan["upper_bound"] + 1e-6)
    tv = plan.set_index("channel").loc["tv"]  # the config's own bounds: 0.8-1.2 x current
    assert (tv["lower_bound"], tv["upper_bound"]) == pytest.approx(
        (0.8 * tv["current_spend"], 1.2 * tv["current_spend"])
    )


def test_each_cv_fold_tests_after_its_training_window(run) -> None:
    sim, config, result, _ = run
    folds = result.cv_folds
    dates = pd.to_datetime(sim.frame["date"])
    week = pd.Timedelta(days=7)
    assert len(folds) == config.cv.n_folds
    assert (folds["train_start"] == dates.min()).all()
    assert (folds["test_start"] > folds["train_end"]).all()
    assert (folds["test_start"] == folds["train_end"] + week).all()
    lengths = (folds["test_end"] - folds["test_start"]) / week + 1
    assert (lengths == config.cv.test_periods).all()
    assert folds["test_end"].iloc[-1] == dates.max()
    assert (folds["test_start"].iloc[1:].to_numpy() == (folds["test_end"].iloc[:-1] + week)).all()


def test_tests_within_keeps_only_tests_inside_the_window(run) -> None:
    sim, config, _, _ = run
    data = config.mmm_data(sim.frame).slice(10, 30)  # 2022-03-14 .. 2022-07-25
    first, last = pd.Timestamp(data.dates[0]), pd.Timestamp(data.dates[-1])
    day = pd.Timedelta(days=1)
    windows = {
        "inside": (first, last),
        "starts before": (first - day, last),
        "ends after": (first, last + day),
        "before": (first - 30 * day, first - day),
        "after": (last + day, last + 30 * day),
        "one period": (first + 14 * day, first + 14 * day),
    }
    tests = pd.DataFrame(
        [
            {"channel": name, "start": s, "end": e, "spend_change": 1.0}
            | {"incremental_outcome": 1.0, "se": 1.0}
            for name, (s, e) in windows.items()
        ],
        columns=list(LIFT_TEST_COLUMNS),
    )
    kept = analysis_module.tests_within(tests, data)
    assert list(kept["channel"]) == ["inside", "one period"]
    assert (
        analysis_module.tests_within(tests.iloc[3:5], data) is None
    )  # none inside: None, as "no tests"
    assert analysis_module.tests_within(None, data) is None


def test_a_test_after_every_training_window_calibrates_the_fit_but_no_cv_fold(run) -> None:
    sim, _, result, calls = run
    late_start = pd.Timestamp(sim.frame["date"].iloc[LATE_TEST.start_index])
    point_calls = [tests for n, tests in calls if n == len(sim.frame)]
    cv_calls = [(n, tests) for n, tests in calls if n < len(sim.frame)]
    assert len(point_calls) == 1 and len(cv_calls) == 4
    assert list(point_calls[0]["channel"]) == ["tv", "social", "search"]
    assert "search" in set(result.calibration["channel"])
    assert (
        pd.Timestamp(result.calibration.set_index("channel").loc["search", "start"]) == late_start
    )
    for n_train, tests in cv_calls:
        assert tests is not None and "search" not in set(tests["channel"])
        train_end = pd.Timestamp(sim.frame["date"].iloc[n_train - 1])
        assert (pd.to_datetime(tests["end"]) <= train_end).all()
    # The social test (periods 136-141) reaches only the last fold (training periods 0-142).
    assert [list(t["channel"]) for _, t in cv_calls] == [["tv"]] * 3 + [["tv", "social"]]


def _interval_agrees_with_probability(low: float, prob: float, level: float, n: int) -> None:
    """The gain interval's lower end is the ``(1 - level) / 2`` percentile of the draws' gains
    (numpy's linear interpolation at position ``h = q (n - 1)``); ``prob`` is the share of
    draws with a positive gain. Then, exactly:

    * ``low > 0`` => at most ``ceil(h)`` draws are <= 0, so ``prob >= 1 - ceil(h) / n``;
    * at most ``floor(h)`` draws not positive => ``low > 0``.

    (A draw counts as positive above 1e-9 x its outcome, a negligible difference.)"""
    h = (1 - level) / 2 * (n - 1)
    not_positive = round((1 - prob) * n)
    if low > 0:
        assert prob >= 1 - math.ceil(h) / n - 1e-12
    if not_positive <= math.floor(h):
        assert low > 0
    if prob < 0.5:  # most draws see no gain: the interval cannot be above zero
        assert low <= 0


def test_the_budget_decision_agrees_with_its_interval(run) -> None:
    _, config, result, _ = run
    budget = result.budget
    n = int(result.fit_stats["n_draws"])
    level = config.bootstrap.interval_level
    assert 0 <= budget.prob_gain_positive <= 1
    assert round(budget.prob_gain_positive * n) == pytest.approx(budget.prob_gain_positive * n)
    assert budget.gain_ci_low <= budget.gain_ci_high
    _interval_agrees_with_probability(budget.gain_ci_low, budget.prob_gain_positive, level, n)
    # With a fixed total today's split is a feasible plan, so no optimum (point or draw) loses.
    assert budget.expected_gain >= 0 and budget.gain_ci_low >= 0
    gain = result.budget_plan["expected_outcome_optimal"].sum()
    gain -= result.budget_plan["expected_outcome_current"].sum()
    assert budget.expected_gain == pytest.approx(gain)
    # This world's plan is a clear gain: the interval is above zero, so nearly all draws agree.
    assert budget.gain_ci_low > 0 and budget.prob_gain_positive >= 0.9


@pytest.mark.parametrize("seed", range(20))
def test_the_interval_check_itself_holds_for_any_draws(seed) -> None:
    """The two implications above, on random gains (some with many zeros or negatives)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    gains = rng.normal(rng.uniform(-1, 3), 1.0, n) * (rng.random(n) > rng.uniform(0, 0.3))
    low = float(np.percentile(gains, 5.0))
    _interval_agrees_with_probability(low, float(np.mean(gains > 0)), 0.9, n)
