"""The result tables against independent computations of the data.py definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.mmm.bootstrap import block_bootstrap
from strategies.mmm.data import MMMData
from strategies.mmm.fit import MMMSpec, fit_mmm
from strategies.mmm.outputs import (
    contribution_table,
    parameter_table,
    response_curve_table,
    roi_table,
)
from strategies.mmm.result import (
    CONTRIBUTION_COLUMNS,
    PARAMETER_COLUMNS,
    RESPONSE_CURVE_COLUMNS,
    ROI_COLUMNS,
)
from tests.strategies.mmm.test_fit import SIX, confounded_data, simulate

CHANNELS = SIX[1:4]  # radio (geometric+hill), search (logistic), social (hill)


@pytest.fixture(scope="module")
def fitted():
    data, _ = simulate(CHANNELS, n=120, noise=25.0, seed=3)
    spec = MMMSpec(
        saturation={c.name: c.saturation[0] for c in CHANNELS}, fourier_order=1, n_starts=3
    )
    point = fit_mmm(data, spec)
    draws = block_bootstrap(data, spec, point, n_draws=12, seed=2).draws
    return data, point, draws


def _off(data: MMMData, c: int) -> MMMData:
    spend = data.spend.copy()
    spend[:, c] = 0.0
    return MMMData(data.dates, data.y, spend, data.controls, data.channels, data.control_names)


def test_roi_contribution_is_prediction_minus_prediction_with_the_channel_off(fitted) -> None:
    data, point, draws = fitted
    roi = roi_table(point, draws, data)
    assert list(roi.columns) == list(ROI_COLUMNS)
    for c in range(len(CHANNELS)):
        expected = (point.predict(data) - point.predict(_off(data, c))).sum()
        assert roi["contribution"][c] == pytest.approx(expected, rel=1e-10)
        assert roi["roas"][c] == pytest.approx(expected / data.spend[:, c].sum(), rel=1e-10)
    assert roi["share"].sum() == pytest.approx(1.0)
    assert np.all(roi["contribution_ci_low"] <= roi["contribution_ci_high"])
    assert roi["roas_uncalibrated"].isna().all()
    assert roi["adstock"].tolist() == ["geometric"] * 3


def test_mroas_matches_the_hill_closed_form(fitted) -> None:
    data, point, draws = fitted
    roi = roi_table(point, draws, data)
    for c, channel in enumerate(point.channels):
        p = point.params[channel]
        if "slope" not in p:
            continue
        x = data.spend[:, c]
        # adstocked spend by the loop, then d/dh sum hill(a (1+h)) at h=0 = sum hill'(a) a
        w = p["alpha"] ** np.arange(8)
        w /= w.sum()
        a = np.array([sum(w[k] * x[t - k] for k in range(8) if t - k >= 0) for t in range(len(x))])
        s, k = p["slope"], p["half_saturation"]
        hill_prime = s * k**s * a ** (s - 1) / (a**s + k**s) ** 2
        expected = point.beta[c] * (hill_prime * a).sum() / x.sum()
        assert roi["mroas"][c] == pytest.approx(expected, rel=1e-6)


def test_roi_reports_the_calibration_shift() -> None:
    data, _, tests, _ = confounded_data()
    cal = fit_mmm(data, MMMSpec(fourier_order=1), tests, n_starts=3)
    roi = roi_table(cal, [], data)
    uncal_roas = cal.uncalibrated.channel_contributions(data.spend).sum(0) / data.spend.sum(0)
    np.testing.assert_allclose(roi["roas_uncalibrated"], uncal_roas)
    np.testing.assert_allclose(roi["roas_calibration_shift"], roi["roas"] - uncal_roas)
    assert roi["roas_ci_low"].isna().all()  # no draws, no interval


def test_contribution_table_adds_up_to_the_prediction(fitted) -> None:
    data, point, draws = fitted
    table = contribution_table(point, draws, data)
    assert list(table.columns) == list(CONTRIBUTION_COLUMNS)
    total = table.groupby("date")["contribution"].sum().to_numpy()
    np.testing.assert_allclose(total, point.predict(data), rtol=1e-10)
    channels = table[table["kind"] == "channel"]
    assert channels["ci_low"].notna().all()
    assert table[table["kind"] != "channel"]["ci_low"].isna().all()
    assert set(table["kind"]) == {"channel", "baseline", "seasonality"}
    roi = roi_table(point, draws, data).set_index("channel")
    per_channel = channels.groupby("component")["contribution"].sum()
    np.testing.assert_allclose(per_channel[roi.index], roi["contribution"])


def test_parameter_table_has_bounds_and_flags(fitted) -> None:
    data, point, draws = fitted
    table = parameter_table(point, draws)
    assert list(table.columns) == list(PARAMETER_COLUMNS)
    radio = table[(table["channel"] == "radio") & (table["parameter"] == "half_saturation")]
    assert radio["lower_bound"].iloc[0] == pytest.approx(0.05 * point.spend_scale[0])
    base = table[table["channel"] == ""]
    assert set(base["parameter"]) == {"intercept", "trend", "sin_1", "cos_1"}
    assert np.isinf(base["lower_bound"]).all() and not base["at_bound"].any()
    est, low, high = table["estimate"], table["ci_low"], table["ci_high"]
    assert (low <= high).all()
    inside = ((low - 1e-9 <= est) & (est <= high + 1e-9)).mean()
    assert inside > 0.6
    at = table.apply(
        lambda r: (
            min(r.estimate - r.lower_bound, r.upper_bound - r.estimate)
            <= 1e-3 * (r.upper_bound - r.lower_bound)
            if np.isfinite(r.upper_bound)
            else None
        ),
        axis=1,
    )
    finite = at.notna()
    assert (table.loc[finite, "at_bound"] == at[finite].astype(bool)).all()


def test_response_curves_are_plan_response_per_period(fitted) -> None:
    data, point, draws = fitted
    table = response_curve_table(point, draws, horizon=13, n_points=20)
    assert list(table.columns) == list(RESPONSE_CURVE_COLUMNS)
    for c, channel in enumerate(point.channels):
        rows = table[table["channel"] == channel]
        assert len(rows) == 20
        assert rows["spend_per_period"].iloc[0] == 0.0
        assert rows["response"].iloc[0] == pytest.approx(0.0, abs=1e-9)
        top = rows["spend_per_period"].iloc[-1]
        assert top == pytest.approx(2.0 * data.spend[-13:, c].mean())
        levels = np.zeros((1, len(point.channels)))
        levels[0, c] = top
        assert rows["response"].iloc[-1] == pytest.approx(
            point.plan_response(levels, 13)[0, c] / 13
        )
        assert np.all(np.diff(rows["response"]) >= -1e-12)
    assert isinstance(table, pd.DataFrame)
