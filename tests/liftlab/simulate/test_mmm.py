"""The marketing-mix simulator's truth must match the data.py definitions, recomputed here
independently: closed-form adstock weights and numpy convolution (not the simulator's loops),
and "sales with minus sales without the channel" from the generator itself."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import lsq_linear

from liftlab.simulate.mmm import (
    HOLIDAYS,
    ChannelTruth,
    LiftTestSpec,
    MMMSimulationConfig,
    confounded_mmm_config,
    default_mmm_config,
    simulate_mmm,
    write_mmm,
)
from strategies.errors import ConfigError
from strategies.mmm.data import LIFT_TEST_COLUMNS, mmm_data_from_frame


@pytest.fixture(scope="module")
def sim():
    return simulate_mmm(default_mmm_config(seed=11))


@pytest.fixture(scope="module")
def confounded():
    return simulate_mmm(confounded_mmm_config(seed=11))


# Independent reference implementation (vectorised, closed forms) ------------------------------


def _weights(channel: ChannelTruth, max_lag: int) -> np.ndarray:
    lags = np.arange(max_lag, dtype=float)
    if channel.adstock == "geometric":
        alpha = channel.adstock_params["alpha"]
        # Closed form of the normaliser: sum_l alpha**l = (1 - alpha**L) / (1 - alpha).
        return alpha**lags * (1 - alpha) / (1 - alpha**max_lag)
    shape, scale = channel.adstock_params["shape"], channel.adstock_params["scale"]
    u = (lags + 1) / scale
    raw = u ** (shape - 1) * np.exp(-(u**shape))
    return raw / raw.sum()


def _saturate(channel: ChannelTruth, x: np.ndarray) -> np.ndarray:
    p = channel.saturation_params
    if channel.saturation == "hill":
        return x ** p["slope"] / (x ** p["slope"] + p["half_saturation"] ** p["slope"])
    return np.tanh(p["lam"] * x / 2)  # (1 - e^-z) / (1 + e^-z) = tanh(z / 2)


def _contribution(channel: ChannelTruth, spend: np.ndarray, max_lag: int) -> np.ndarray:
    adstocked = np.convolve(spend, _weights(channel, max_lag))[: len(spend)]
    return channel.beta * _saturate(channel, adstocked)


# Truth ---------------------------------------------------------------------------------------


def test_contribution_is_sales_with_minus_sales_without_the_channel(sim) -> None:
    cfg = sim.config
    for channel in cfg.channels:
        muted = tuple(replace(c, beta=0.0) if c is channel else c for c in cfg.channels)
        without = simulate_mmm(replace(cfg, channels=muted))
        diff = sim.frame["sales"] - without.frame["sales"]
        assert diff.sum() == pytest.approx(sim.truth["channels"][channel.name]["contribution"])
        np.testing.assert_allclose(diff, sim.contributions[channel.name].to_numpy(), atol=1e-6)
        # Same draws otherwise: spend and controls do not depend on beta.
        pd.testing.assert_frame_equal(
            sim.frame.drop(columns="sales"), without.frame.drop(columns="sales")
        )


def test_contributions_match_an_independent_closed_form_recomputation(sim) -> None:
    cfg = sim.config
    for channel in cfg.channels:
        spend = sim.frame[channel.spend_column].to_numpy()
        expected = _contribution(channel, spend, cfg.max_lag)
        truth = sim.truth["channels"][channel.name]
        assert truth["contribution"] == pytest.approx(expected.sum(), rel=1e-10)
        np.testing.assert_allclose(truth["adstock_weights"], _weights(channel, cfg.max_lag))
        assert truth["spend"] == pytest.approx(spend.sum())


def test_shares_roas_and_marginal_roas_follow_the_definitions(sim) -> None:
    cfg = sim.config
    channels = sim.truth["channels"]
    assert sum(c["share"] for c in channels.values()) == pytest.approx(1.0)
    total = sum(c["contribution"] for c in channels.values())
    h = 1e-5
    for channel in cfg.channels:
        truth = channels[channel.name]
        spend = sim.frame[channel.spend_column].to_numpy()
        assert truth["share"] == pytest.approx(truth["contribution"] / total)
        assert truth["roas"] == pytest.approx(truth["contribution"] / spend.sum())
        up = _contribution(channel, spend * (1 + h), cfg.max_lag).sum()
        down = _contribution(channel, spend * (1 - h), cfg.max_lag).sum()
        assert truth["mroas"] == pytest.approx((up - down) / (2 * h) / spend.sum(), rel=1e-6)
        # Concave response in spend: the marginal return is below the average return.
        assert truth["mroas"] < truth["roas"]


def test_lift_test_truth_equals_the_data_py_definition(sim, confounded) -> None:
    for s in (sim, confounded):
        cfg = s.config
        assert list(s.lift_tests.columns) == list(LIFT_TEST_COLUMNS)
        for spec, row, truth in zip(
            cfg.lift_tests, s.lift_tests.itertuples(), s.truth["lift_tests"], strict=True
        ):
            channel = next(c for c in cfg.channels if c.name == spec.channel)
            spend = s.frame[channel.spend_column].to_numpy()
            window = slice(spec.start_index, spec.start_index + spec.n_periods)
            reduced = spend.copy()
            reduced[window] *= 1 - spec.share
            lift = (
                _contribution(channel, spend, cfg.max_lag)[window]
                - _contribution(channel, reduced, cfg.max_lag)[window]
            ).sum()
            assert truth["true_lift"] == pytest.approx(lift, rel=1e-10)
            assert row.spend_change == pytest.approx(spec.share * spend[window].sum())
            assert row.se == pytest.approx(max(0.1 * lift, 1.0))
            assert abs(row.incremental_outcome - lift) < 5 * row.se
            dates = s.frame["date"].to_numpy()
            assert pd.Timestamp(row.start) == dates[window][0]
            assert pd.Timestamp(row.end) == dates[window][-1]


def test_lift_test_measurement_noise_has_the_stated_se() -> None:
    z = []
    for seed in range(40):
        s = simulate_mmm(default_mmm_config(seed=seed, n_periods=60))
        for row, truth in zip(s.lift_tests.itertuples(), s.truth["lift_tests"], strict=True):
            z.append((row.incremental_outcome - truth["true_lift"]) / row.se)
    z = np.asarray(z)
    assert abs(z.mean()) < 4 / np.sqrt(len(z))
    assert 0.7 < z.std() < 1.3


# Data shape ----------------------------------------------------------------------------------


def test_frame_columns_dates_and_spend(sim) -> None:
    cfg = sim.config
    names = [c.name for c in cfg.channels]
    assert len(names) == 6 and names != sorted(names)
    assert list(sim.frame.columns) == [
        "date",
        "sales",
        *(f"{n}_spend" for n in names),
        "price_index",
        "promotion",
        *HOLIDAYS,
    ]
    dates = pd.DatetimeIndex(sim.frame["date"])
    assert len(dates) == 156 and dates[0].dayofweek == 0
    assert set(dates.to_series().diff().dropna().dt.days) == {7}
    spend = sim.frame[[f"{n}_spend" for n in names]].to_numpy()
    assert np.isfinite(spend).all() and (spend >= 0).all()
    assert set(sim.frame["promotion"]) <= {0, 1}
    # Black Friday 2022 is 25 November: the week starting Monday 21 November.
    flagged = dates[sim.frame["holiday_black_friday"].to_numpy() == 1]
    assert pd.Timestamp("2022-11-21") in flagged and len(flagged) == 3
    # The table passes the shared contract's structural checks.
    data = mmm_data_from_frame(
        sim.frame,
        date_column="date",
        outcome_column="sales",
        channel_columns=[f"{n}_spend" for n in names],
        control_columns=list(cfg.control_names),
    )
    assert data.period_days() == 7.0


def test_daily_frequency_has_daily_dates() -> None:
    cfg = MMMSimulationConfig(start="2023-03-01", frequency="D", n_periods=90, seed=3)
    s = simulate_mmm(cfg)
    assert set(s.frame["date"].diff().dropna().dt.days) == {1}
    assert s.truth["period_days"] == 1


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = simulate_mmm(default_mmm_config(seed=5, n_periods=80))
    b = simulate_mmm(default_mmm_config(seed=5, n_periods=80))
    c = simulate_mmm(default_mmm_config(seed=6, n_periods=80))
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.lift_tests, b.lift_tests)
    assert json.dumps(a.truth) == json.dumps(b.truth)
    assert not np.allclose(a.frame["sales"], c.frame["sales"])


def test_files_round_trip(sim, tmp_path) -> None:
    paths = write_mmm(sim, tmp_path / "mmm")
    assert [p.name for p in paths] == ["mmm_weekly.csv", "mmm_lift_tests.csv", "mmm_truth.json"]
    data = pd.read_csv(paths[0], parse_dates=["date"])
    pd.testing.assert_frame_equal(data, sim.frame, check_dtype=False, check_exact=False, rtol=0)
    tests = pd.read_csv(paths[1])
    assert list(tests.columns) == list(LIFT_TEST_COLUMNS)
    assert tests["start"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    np.testing.assert_array_equal(
        tests["incremental_outcome"], sim.lift_tests["incremental_outcome"]
    )
    assert json.loads(paths[2].read_text()) == sim.truth
    assert sorted(p.name for p in (tmp_path / "mmm").iterdir()) == sorted(p.name for p in paths)


# Presets are what they claim -------------------------------------------------------------------


def _fit_with_true_transforms(s) -> np.ndarray:
    """Per-channel contributions of a non-negative least-squares fit of sales on the base terms
    and the channels' *true* transformed spend (only β and the base are estimated)."""
    cfg, frame = s.config, s.frame
    T = len(frame)
    t = np.arange(T)
    period = 365.25 / cfg.period_days
    base = [np.ones(T), t / (T - 1)]
    base += [f(2 * np.pi * k * t / period) for k in (1, 2) for f in (np.sin, np.cos)]
    base += [frame[c].to_numpy(float) for c in cfg.control_names]
    media = np.column_stack(
        [
            _contribution(replace(c, beta=1.0), frame[c.spend_column].to_numpy(), cfg.max_lag)
            for c in cfg.channels
        ]
    )
    X = np.column_stack([*base, media])
    lower = np.r_[np.full(len(base), -np.inf), np.zeros(media.shape[1])]
    fit = lsq_linear(X, frame["sales"].to_numpy(), bounds=(lower, np.inf))
    return (media * fit.x[len(base) :]).sum(axis=0)


def test_default_truth_is_recoverable(sim) -> None:
    fitted = _fit_with_true_transforms(sim)
    for channel, value in zip(sim.config.channels, fitted, strict=True):
        truth = sim.truth["channels"][channel.name]["contribution"]
        assert value == pytest.approx(truth, rel=0.15), channel.name
        spend = sim.frame[channel.spend_column].to_numpy()
        on = spend[spend > 0]
        # The curve bends inside the observed spend range (not a straight line, not flat).
        half = channel.saturation_params.get("half_saturation")
        if half is None:  # logistic reaches half its maximum at ln(3) / lam
            half = np.log(3) / channel.saturation_params["lam"]
        assert np.quantile(on, 0.05) < half < on.max(), channel.name


def test_confounded_preset_over_credits_the_confounded_channel(confounded) -> None:
    cfg = confounded.config
    name = cfg.confounded_channel
    j = cfg.channel_names.index(name)
    truth = confounded.truth["channels"][name]["contribution"]
    fitted = _fit_with_true_transforms(confounded)[j]
    assert fitted > 2.0 * truth  # over-credited by more than 100 %
    spend = confounded.frame[f"{name}_spend"].to_numpy()
    assert np.corrcoef(spend, confounded.confounder)[0, 1] > 0.7
    go_dark = [t for t in cfg.lift_tests if t.channel == name and t.share == 1.0]
    assert go_dark and go_dark[0].n_periods >= 8
    assert confounded.truth["confounder"]["observed"] is False
    assert "confounder" not in " ".join(confounded.frame.columns)


def test_config_errors_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="Monday"):
        MMMSimulationConfig(start="2022-01-04")
    with pytest.raises(ConfigError, match="adstock must be one of"):
        ChannelTruth("x", "exponential", {"alpha": 0.5}, "hill", {}, beta=1, mean_spend=1)
    with pytest.raises(ConfigError, match="alpha must be in"):
        ChannelTruth("x", "geometric", {"alpha": 0.99}, "logistic", {"lam": 1.0}, 1.0, 1.0)
    tv = default_mmm_config().channels[0]
    with pytest.raises(ConfigError, match="repeated"):
        MMMSimulationConfig(channels=(tv, tv))
    with pytest.raises(ConfigError, match="exceed n_periods"):
        MMMSimulationConfig(n_periods=20, lift_tests=(LiftTestSpec("tv", 15, 8),))
    with pytest.raises(ConfigError, match="confounded_channel"):
        MMMSimulationConfig(confounder_effect=1.0, confounder_bursts=1)
