"""Each identifiability warning fires on the situation it describes, and names the channel."""

from __future__ import annotations

import numpy as np
import pytest

from strategies.mmm.data import MMMData
from strategies.mmm.diagnostics import identifiability_warnings
from strategies.mmm.fit import FittedMMM, MMMSpec, fit_mmm
from tests.strategies.mmm.test_fit import Channel, simulate

CLEAN = [
    Channel("tv", ("geometric", 0.4), ("hill", 1.5, 120.0), 300.0),
    Channel("radio", ("geometric", 0.3), ("hill", 1.2, 80.0), 250.0),
]


@pytest.fixture(scope="module")
def clean():
    data, _ = simulate(CLEAN, n=156, noise=10.0, seed=11)
    fitted = fit_mmm(data, MMMSpec(fourier_order=1, n_starts=4))
    return data, fitted


def _with(fitted: FittedMMM, **changes) -> FittedMMM:
    return FittedMMM.from_dict({**fitted.to_dict(), **changes})


def _with_spend(data: MMMData, spend: np.ndarray) -> MMMData:
    return MMMData(data.dates, data.y, spend, data.controls, data.channels, data.control_names)


def test_a_well_identified_fit_has_no_warning(clean) -> None:
    data, fitted = clean
    assert identifiability_warnings(data, fitted) == []


def test_constant_and_absent_spend(clean) -> None:
    data, fitted = clean
    spend = data.spend.copy()
    spend[:, 0] = 100.0
    spend[:, 1] = 0.0
    warnings = identifiability_warnings(_with_spend(data, spend), fitted)
    assert any("'tv' spend barely varies" in w for w in warnings)
    assert any("'radio' has no spend" in w for w in warnings)


def test_channels_moving_together(clean) -> None:
    data, fitted = clean
    spend = data.spend.copy()
    spend[:, 1] = spend[:, 0] * 0.5 + np.random.default_rng(0).normal(0, 1, len(spend))
    warnings = identifiability_warnings(_with_spend(data, spend), fitted)
    assert any("'tv' and 'radio'" in w and "not identified" in w for w in warnings)


def test_flat_and_saturated_curves(clean) -> None:
    data, fitted = clean
    top = float(data.spend.max())
    params = fitted.to_dict()["params"]
    params["tv"] = {**params["tv"], "slope": 1.0, "half_saturation": 20 * top}
    params["radio"] = {**params["radio"], "slope": 2.0, "half_saturation": 1e-3 * top}
    warnings = identifiability_warnings(data, _with(fitted, params=params))
    assert any("'tv'" in w and "far from saturating" in w for w in warnings)
    assert any("'radio'" in w and "already saturated" in w for w in warnings)


def test_parameter_and_beta_at_bounds(clean) -> None:
    data, fitted = clean
    params = fitted.to_dict()["params"]
    params["tv"] = {**params["tv"], "alpha": 0.95}
    warnings = identifiability_warnings(data, _with(fitted, params=params, beta=[300.0, 0.0]))
    assert any("'tv': alpha" in w and "search bound" in w for w in warnings)
    assert any("'radio' gets no effect" in w for w in warnings)


def test_starts_with_equal_fit_and_different_parameters(clean) -> None:
    data, fitted = clean
    best = list(fitted.start_params[int(np.nanargmin(fitted.start_objectives))])
    other = list(best)
    other[0] = 0.05 if best[0] > 0.5 else 0.9  # tv alpha, far away
    payload = {
        "start_objectives": [fitted.objective, fitted.objective * 1.0005, fitted.objective * 2],
        "start_params": [best, other, other],
    }
    warnings = identifiability_warnings(data, _with(fitted, **payload))
    assert any("'tv'" in w and "different starts" in w and "alpha" in w for w in warnings)
    payload["start_objectives"][1] = fitted.objective * 1.01  # clearly worse: no warning
    assert not any(
        "different starts" in w for w in identifiability_warnings(data, _with(fitted, **payload))
    )


def test_too_few_periods_per_parameter() -> None:
    data, _ = simulate(CLEAN, n=40, noise=10.0, seed=2)
    fitted = fit_mmm(data, MMMSpec(fourier_order=2, n_starts=2))
    warnings = identifiability_warnings(data, fitted)
    assert any("periods per parameter (40 periods, 14 parameters)" in w for w in warnings)


def test_draws_without_effect(clean) -> None:
    data, fitted = clean
    zero = _with(fitted, beta=[0.0, float(fitted.beta[1])])
    warnings = identifiability_warnings(data, fitted, draws=[fitted, zero, zero])
    assert any("'tv' has no effect in 67% of bootstrap draws" in w for w in warnings)
