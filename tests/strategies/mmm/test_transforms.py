"""Adstock and saturation curves against their closed forms and brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest

from strategies.errors import ConfigError
from strategies.mmm.transforms import (
    ADSTOCKS,
    SATURATIONS,
    GeometricAdstock,
    HillSaturation,
    LogisticSaturation,
    WeibullAdstock,
    get_adstock,
    get_saturation,
)

RNG = np.random.default_rng(7)


def _loop_adstock(x: np.ndarray, w: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
    full = np.concatenate([history if history is not None else np.zeros(0), x])
    offset = len(full) - len(x)
    out = np.zeros(len(x))
    for t in range(len(x)):
        for lag in range(len(w)):
            if offset + t - lag >= 0:
                out[t] += w[lag] * full[offset + t - lag]
    return out


def test_geometric_weights_match_closed_form() -> None:
    w = GeometricAdstock().weights([0.6], 5)
    expected = np.array([0.6**k for k in range(5)])
    np.testing.assert_allclose(w, expected / expected.sum())
    assert GeometricAdstock().weights([0.0], 4).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_weibull_weights_match_closed_form_and_can_peak_late() -> None:
    shape, scale = 2.5, 3.0
    w = WeibullAdstock().weights([shape, scale], 8)
    z = np.arange(1, 9) / scale
    expected = z ** (shape - 1) * np.exp(-(z**shape))
    np.testing.assert_allclose(w, expected / expected.sum())
    assert w.sum() == pytest.approx(1.0)
    assert np.argmax(w) > 0


@pytest.mark.parametrize(
    ("adstock", "params"), [(GeometricAdstock(), [0.7]), (WeibullAdstock(), [1.8, 2.5])]
)
def test_adstock_matches_loop_and_constant_spend_reaches_itself(adstock, params) -> None:
    x = RNG.gamma(2.0, 10.0, size=40)
    w = adstock.weights(params, 6)
    np.testing.assert_allclose(adstock.apply(x, params, 6), _loop_adstock(x, w))
    steady = adstock.apply(np.full(30, 12.5), params, 6)
    np.testing.assert_allclose(steady[5:], 12.5)
    assert steady[0] < 12.5


def test_carry_in_equals_prepending_history() -> None:
    ad = GeometricAdstock()
    history = RNG.gamma(2.0, 10.0, size=9)
    x = RNG.gamma(2.0, 10.0, size=20)
    full = ad.apply(np.concatenate([history, x]), [0.5], 6)[len(history) :]
    np.testing.assert_allclose(ad.apply(x, [0.5], 6, carry_in=history), full)
    np.testing.assert_allclose(ad.apply(x, [0.5], 6, carry_in=history[-5:]), full)
    w = ad.weights([0.5], 6)
    np.testing.assert_allclose(full, _loop_adstock(x, w, history))


def test_adstock_is_vectorised_over_columns() -> None:
    x = RNG.gamma(2.0, 10.0, size=(25, 3))
    out = WeibullAdstock().apply(x, [2.0, 2.0], 5)
    for j in range(3):
        np.testing.assert_allclose(out[:, j], WeibullAdstock().apply(x[:, j], [2.0, 2.0], 5))


def test_hill_and_logistic_match_closed_forms() -> None:
    x = np.linspace(0, 50, 11)
    hill = HillSaturation().apply(x, [2.0, 10.0])
    np.testing.assert_allclose(hill, x**2 / (x**2 + 100.0))
    assert HillSaturation().apply(np.array([10.0]), [3.0, 10.0])[0] == pytest.approx(0.5)
    logistic = LogisticSaturation().apply(x, [0.1])
    np.testing.assert_allclose(logistic, (1 - np.exp(-0.1 * x)) / (1 + np.exp(-0.1 * x)))


@pytest.mark.parametrize(
    ("sat", "params"),
    [
        (HillSaturation(), [0.7, 8.0]),
        (HillSaturation(), [2.5, 8.0]),
        (LogisticSaturation(), [0.2]),
    ],
)
def test_saturation_derivative_matches_finite_differences(sat, params) -> None:
    x = np.linspace(0.5, 40, 30)
    h = 1e-5
    numeric = (sat.apply(x + h, params) - sat.apply(x - h, params)) / (2 * h)
    np.testing.assert_allclose(sat.derivative(x, params), numeric, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    ("sat", "params"), [(HillSaturation(), [1.7, 8.0]), (LogisticSaturation(), [0.2])]
)
def test_rescale_keeps_the_curve(sat, params) -> None:
    x = np.linspace(0, 40, 9)
    np.testing.assert_allclose(sat.apply(x / 4.0, sat.rescale(params, 4.0)), sat.apply(x, params))


def test_saturation_params_broadcast_per_column() -> None:
    x = RNG.gamma(2.0, 10.0, size=(7, 2))
    out = HillSaturation().apply(x, [np.array([1.0, 2.0]), np.array([5.0, 20.0])])
    np.testing.assert_allclose(out[:, 1], HillSaturation().apply(x[:, 1], [2.0, 20.0]))


def test_bounds_scale_with_spend() -> None:
    assert HillSaturation().bounds(100.0) == [(0.5, 4.0), (5.0, 500.0)]
    (lam,) = LogisticSaturation().bounds(100.0)
    assert lam == pytest.approx((0.0005, 0.1))
    assert WeibullAdstock().bounds(8)[1] == (0.5, 8.0)


def test_registries_and_unknown_names() -> None:
    assert set(ADSTOCKS) == {"geometric", "weibull"}
    assert set(SATURATIONS) == {"hill", "logistic"}
    assert isinstance(get_adstock("weibull"), WeibullAdstock)
    with pytest.raises(ConfigError, match="geometric"):
        get_adstock("exponential")
    with pytest.raises(ConfigError, match="'hill', 'logistic'"):
        get_saturation("tanh")
