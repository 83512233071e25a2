"""Does the marketing-mix model recover effects we planted? Fits on
:mod:`liftlab.simulate.mmm` worlds, checked against the simulator's truth (computed there by its
own plain-loop transforms, independently of :mod:`strategies.mmm.transforms`).

1. The easy world (no confounder): contribution shares and bootstrap ROAS intervals.
2. The confounded world (a hidden demand shock drives sales and search spend): the time series
   alone over-credits search, the go-dark lift test at weight = number of periods (the config's
   ``auto``) pulls it back, weight 1 does not; the analysis says so in its warnings.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from liftlab.config.marketing_mix import CalibrationConfig
from liftlab.simulate.mmm import (
    LiftTestSpec,
    MMMSimulation,
    confounded_mmm_config,
    default_mmm_config,
    simulate_mmm,
)
from strategies.mmm.analysis import MMMSettings, analyse_marketing_mix
from strategies.mmm.bootstrap import block_bootstrap
from strategies.mmm.data import MMMData, mmm_data_from_frame
from strategies.mmm.fit import FittedMMM, MMMSpec, fit_mmm
from strategies.mmm.lift_tests import small_test_warnings
from strategies.mmm.outputs import roi_table

LEVEL = 0.9


# ---- helpers (the simulator's truth names everything the fit needs) --------------------------
def sim_data(sim: MMMSimulation) -> MMMData:
    """The simulated table as model arrays, channels in the simulator's (unsorted) order."""
    truth = sim.truth
    channels = truth["channel_order"]
    return mmm_data_from_frame(
        sim.frame,
        date_column=truth["date_column"],
        outcome_column=truth["outcome_column"],
        channel_columns=[truth["channels"][c]["spend_column"] for c in channels],
        control_columns=truth["control_columns"],
        channel_names=channels,
    )


def true_spec(sim: MMMSimulation, **changes) -> MMMSpec:
    """The spec with the true transform names per channel (parameters are still fitted)."""
    truth = sim.truth
    channels = truth["channels"]
    return MMMSpec(
        adstock={c: v["adstock"] for c, v in channels.items()},
        saturation={c: v["saturation"] for c, v in channels.items()},
        max_lag=sim.config.max_lag,
        **changes,
    )


def truth_of(sim: MMMSimulation, key: str, channels: tuple[str, ...]) -> np.ndarray:
    return np.array([sim.truth["channels"][c][key] for c in channels], dtype=float)


def fitted_shares(fit: FittedMMM, data: MMMData) -> np.ndarray:
    contribution = fit.channel_contributions(data.spend).sum(axis=0)
    return contribution / contribution.sum()


def fitted_roas(fit: FittedMMM, data: MMMData, channel: str) -> float:
    c = data.channels.index(channel)
    return float(fit.channel_contributions(data.spend)[:, c].sum() / data.spend[:, c].sum())


# ---- 1. the easy world ---------------------------------------------------------------------------
def test_contribution_shares_within_5_points_of_the_truth() -> None:
    """The default simulator world (seed 42), true transform names: every channel's share of the
    channel total within 5 percentage points.

    Not a property of every seed: over seeds 0-9 and 40-59 the largest share error exceeded
    5 points on 4 of 30 (at most 7.9, display on seed 8, where 8 and 32 starts reach the same
    objective: sampling noise in a low-spend channel, not a search failure). The mean error over
    seeds is checked in the coverage test below."""
    sim = simulate_mmm(default_mmm_config())
    data = sim_data(sim)
    fit = fit_mmm(data, true_spec(sim))
    error = fitted_shares(fit, data) - truth_of(sim, "share", data.channels)
    assert np.all(np.abs(error) < 0.05), dict(zip(data.channels, error.round(3), strict=True))
    assert fit.r2 > 0.95


@pytest.mark.slow
def test_bootstrap_roas_intervals_cover_the_truth() -> None:
    """Ten seeds x six channels, 200-draw moving-block bootstrap, 90 % percentile intervals.

    Threshold, pooled coverage >= 80 % (48 of 60): with independent intervals at the nominal
    90 %, Binomial(60, 0.9) falls below 48 with probability 0.6 %; at a true coverage of 85 %
    (percentile intervals of a nonlinear fit often run a little short) still only 11 %. The
    channels of one seed share a fit, so the spread is somewhat wider than binomial; a per-seed
    "5 of 6" rule would fail by chance (seeds 0 and 5 have 4 of 6). Measured: 53 of 60."""
    covered, total, share_errors = 0, 0, []
    for seed in range(10):
        sim = simulate_mmm(default_mmm_config(seed=seed))
        data = sim_data(sim)
        spec = true_spec(sim, seed=seed)
        point = fit_mmm(data, spec)
        boot = block_bootstrap(data, spec, point, n_draws=200, seed=seed)
        assert boot.n_failed == 0 and len(boot.draws) == 200
        roi = roi_table(point, boot.draws, data, LEVEL).set_index("channel")
        roi = roi.loc[list(data.channels)]
        truth = truth_of(sim, "roas", data.channels)
        low, high = roi["roas_ci_low"].to_numpy(), roi["roas_ci_high"].to_numpy()
        inside = (low <= truth) & (truth <= high)
        covered += int(inside.sum())
        total += len(truth)
        share_errors.append(fitted_shares(point, data) - truth_of(sim, "share", data.channels))
    assert covered / total >= 0.8, f"{covered} of {total} intervals cover the true ROAS"
    # Shares are unbiased on average: mean |error| over 60 channel-seeds well under 5 points.
    assert float(np.mean(np.abs(share_errors))) < 0.02


# ---- 2. confounding and calibration --------------------------------------------------------------
def _search_bias(sim: MMMSimulation, data: MMMData, fit: FittedMMM) -> float:
    """Relative error of the fitted search ROAS against the true one."""
    return fitted_roas(fit, data, "search") / sim.truth["channels"]["search"]["roas"] - 1.0


@pytest.mark.slow
def test_confounded_search_is_over_credited_and_calibration_at_auto_weight_fixes_it() -> None:
    """Seeds 0-5: uncalibrated bias > 100 % on every seed; the go-dark test at the config's
    ``auto`` weight (= number of periods) brings the mean |bias| under 25 %; at weight 1 the
    test counts like one period among 156 and the bias stays far larger (measured: 228-286 %
    uncalibrated, mean 17 % at auto, mean 121 % at weight 1)."""
    uncalibrated, auto, one = [], [], []
    for seed in range(6):
        sim = simulate_mmm(confounded_mmm_config(seed=seed))
        data = sim_data(sim)
        assert list(sim.lift_tests["channel"]) == ["search"]
        spec = true_spec(sim, seed=seed)
        weight = CalibrationConfig(lift_tests="tests.csv").resolved_weight(data.n_periods)
        assert weight == data.n_periods == 156
        uncalibrated.append(_search_bias(sim, data, fit_mmm(data, spec)))
        calibrated = fit_mmm(data, replace(spec, calibration_weight=weight), sim.lift_tests)
        auto.append(_search_bias(sim, data, calibrated))
        weak = fit_mmm(data, replace(spec, calibration_weight=1.0), sim.lift_tests)
        one.append(_search_bias(sim, data, weak))
    uncalibrated, auto, one = map(np.array, (uncalibrated, auto, one))
    assert np.all(uncalibrated > 1.0), uncalibrated.round(2)
    assert np.mean(np.abs(auto)) < 0.25, auto.round(2)
    assert np.mean(np.abs(one)) > 0.5, one.round(2)
    assert np.mean(np.abs(one)) > 3 * np.mean(np.abs(auto))
    assert np.all(np.abs(auto) < np.abs(uncalibrated))


def test_analysis_warns_that_the_search_test_conflicts_with_the_time_series() -> None:
    sim = simulate_mmm(confounded_mmm_config(seed=0))
    data = sim_data(sim)
    settings = MMMSettings(
        spec=true_spec(sim, calibration_weight=float(data.n_periods)),
        n_draws=20,
        cv_folds=1,
    )
    result = analyse_marketing_mix(data, settings, sim.lift_tests)
    conflict = [w for w in result.warnings if w.startswith("Without calibration")]
    assert len(conflict) == 1
    assert "search" in conflict[0] and "standard errors more than the experiment" in conflict[0]
    # The number of standard errors the sentence states, recomputed from the calibration table.
    row = result.calibration.iloc[0]
    z = (row["model_uncalibrated"] - row["measured"]) / row["se"]
    assert z > 3 and f"{z:.0f} standard errors" in conflict[0]
    assert not any("only small lift tests" in w for w in result.warnings)  # a go-dark test


def test_a_small_spend_change_test_alone_gets_the_small_test_warning() -> None:
    base = confounded_mmm_config(seed=0)
    test = base.lift_tests[0]
    config = replace(base, lift_tests=(LiftTestSpec("search", test.start_index, 10, 0.1),))
    sim = simulate_mmm(config)
    data = sim_data(sim)
    tests = sim.lift_tests
    window = (data.dates >= np.datetime64(pd.Timestamp(tests["start"][0]))) & (
        data.dates <= np.datetime64(pd.Timestamp(tests["end"][0]))
    )
    share = tests["spend_change"][0] / data.spend[window, data.channels.index("search")].sum()
    assert share == pytest.approx(0.1)
    warnings = small_test_warnings(tests, data)
    assert len(warnings) == 1
    assert "'search' has only small lift tests" in warnings[0] and "10%" in warnings[0]
    # The go-dark test of the same channel and window is not small.
    assert small_test_warnings(simulate_mmm(base).lift_tests, data) == []
