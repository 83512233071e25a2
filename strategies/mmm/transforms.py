"""Adstock and saturation curves: one small interface each, concrete curves chosen by name.

The parameterisation is the contract in :mod:`strategies.mmm.data` (adstock weights sum to 1 so an
adstocked series stays in spend units; saturation maps spend units to [0, 1)). Every method is
vectorised over time (and over extra trailing axes), because the fit evaluates them thousands of
times and the budget optimiser tens of thousands of times.

Saturation parameters broadcast: ``params`` may hold arrays (one value per column of ``x``), which
lets :meth:`FittedMMM.plan_response` evaluate every channel sharing a curve in one call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from strategies.errors import ConfigError

Bounds = list[tuple[float, float]]


def convolve_weights(x: np.ndarray, weights: np.ndarray, carry_in: np.ndarray | None = None):
    """``out[t] = sum_l weights[l] * x[t - l]`` along axis 0; earlier spend from ``carry_in``.

    ``carry_in`` holds the periods just before ``x`` (last row = the period right before); only
    its last ``len(weights) - 1`` rows matter. Without it, spend before ``x`` is 0. The loop runs
    over the (few) lags, never over time.
    """
    x = np.asarray(x, dtype=float)
    n_lags = len(weights)
    n = x.shape[0]
    if x.ndim == 1 and carry_in is None:  # the fit's hot path: one compiled convolution
        return np.convolve(x, weights)[:n]
    history = np.zeros((n_lags - 1, *x.shape[1:]))
    if carry_in is not None and n_lags > 1:
        carry = np.asarray(carry_in, dtype=float).reshape((-1, *x.shape[1:]))[-(n_lags - 1) :]
        if len(carry):
            history[n_lags - 1 - len(carry) :] = carry
    full = np.concatenate([history, x], axis=0)
    out = weights[0] * x
    for lag in range(1, n_lags):
        start = n_lags - 1 - lag
        out = out + weights[lag] * full[start : start + n]
    return out


class Adstock(ABC):
    """Spreads spend over ``max_lag`` periods with normalised weights (they sum to 1)."""

    name: str
    param_names: tuple[str, ...]

    @abstractmethod
    def bounds(self, max_lag: int) -> Bounds:
        """Search bounds per parameter (unit-free, so they do not depend on spend scale)."""

    @abstractmethod
    def raw_weights(self, params: Sequence[float], max_lag: int) -> np.ndarray:
        """Unnormalised weights for lags ``0..max_lag-1``."""

    def weights(self, params: Sequence[float], max_lag: int) -> np.ndarray:
        raw = self.raw_weights(params, max_lag)
        total = raw.sum()
        if not np.isfinite(total) or total <= 0:
            raw = np.zeros(max_lag)
            raw[0] = 1.0
            return raw
        return raw / total

    def apply(
        self,
        x: np.ndarray,
        params: Sequence[float],
        max_lag: int,
        carry_in: np.ndarray | None = None,
    ) -> np.ndarray:
        """Adstocked spend along axis 0 (spend units); ``carry_in`` = rows of earlier spend."""
        return convolve_weights(x, self.weights(params, max_lag), carry_in)


class GeometricAdstock(Adstock):
    """``w_l ∝ alpha**l``: the effect decays at once (the classic carry-over)."""

    name = "geometric"
    param_names = ("alpha",)

    def bounds(self, max_lag: int) -> Bounds:
        return [(0.0, 0.95)]

    def raw_weights(self, params: Sequence[float], max_lag: int) -> np.ndarray:
        (alpha,) = params
        return float(alpha) ** np.arange(max_lag, dtype=float)


class WeibullAdstock(Adstock):
    """Weibull-density weights: the effect may peak some periods after the spend (e.g. TV)."""

    name = "weibull"
    param_names = ("shape", "scale")

    def bounds(self, max_lag: int) -> Bounds:
        return [(0.5, 5.0), (0.5, float(max(max_lag, 1)))]

    def raw_weights(self, params: Sequence[float], max_lag: int) -> np.ndarray:
        shape, scale = (float(p) for p in params)
        z = np.arange(1, max_lag + 1, dtype=float) / scale
        return z ** (shape - 1.0) * np.exp(-(z**shape))


class Saturation(ABC):
    """Maps adstocked spend (spend units, >= 0) to [0, 1): diminishing returns."""

    name: str
    param_names: tuple[str, ...]

    @abstractmethod
    def bounds(self, scale: float) -> Bounds:
        """Search bounds given the channel's spend scale (its mean positive spend per period)."""

    @abstractmethod
    def apply(self, x: np.ndarray, params: Sequence) -> np.ndarray:
        """The curve at ``x``; params may be arrays broadcasting against ``x``."""

    @abstractmethod
    def derivative(self, x: np.ndarray, params: Sequence) -> np.ndarray:
        """d apply / d x."""

    @abstractmethod
    def rescale(self, params: Sequence[float], factor: float) -> list[float]:
        """Parameters for inputs divided by ``factor``: ``apply(x / f, rescale(p, f)) ==
        apply(x, p)``. The fit works on spend divided by its scale and reports original units."""


class HillSaturation(Saturation):
    """``x**slope / (x**slope + half_saturation**slope)``: S-shaped for slope > 1."""

    name = "hill"
    param_names = ("slope", "half_saturation")

    def bounds(self, scale: float) -> Bounds:
        return [(0.5, 4.0), (0.05 * scale, 5.0 * scale)]

    def apply(self, x: np.ndarray, params: Sequence) -> np.ndarray:
        slope, half = params
        xs = np.asarray(x, dtype=float) ** slope  # x >= 0 and half > 0: no 0/0
        return xs / (xs + np.asarray(half, dtype=float) ** slope)

    def derivative(self, x: np.ndarray, params: Sequence) -> np.ndarray:
        slope, half = params
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            xs = x**slope
            ks = np.asarray(half, dtype=float) ** slope
            out = slope * ks * x ** (slope - 1.0) / (xs + ks) ** 2
        return np.where(np.isnan(out), 0.0, out)

    def rescale(self, params: Sequence[float], factor: float) -> list[float]:
        slope, half = params
        return [float(slope), float(half) / factor]


class LogisticSaturation(Saturation):
    """``(1 - exp(-lam x)) / (1 + exp(-lam x)) = tanh(lam x / 2)``: concave from the first unit."""

    name = "logistic"
    param_names = ("lam",)

    def bounds(self, scale: float) -> Bounds:
        return [(0.05 / scale, 10.0 / scale)]

    def apply(self, x: np.ndarray, params: Sequence) -> np.ndarray:
        (lam,) = params
        return np.tanh(0.5 * np.asarray(lam, dtype=float) * np.asarray(x, dtype=float))

    def derivative(self, x: np.ndarray, params: Sequence) -> np.ndarray:
        (lam,) = params
        lam = np.asarray(lam, dtype=float)
        t = np.tanh(0.5 * lam * np.asarray(x, dtype=float))
        return 0.5 * lam * (1.0 - t * t)

    def rescale(self, params: Sequence[float], factor: float) -> list[float]:
        (lam,) = params
        return [float(lam) * factor]


ADSTOCKS: dict[str, type[Adstock]] = {"geometric": GeometricAdstock, "weibull": WeibullAdstock}
SATURATIONS: dict[str, type[Saturation]] = {
    "hill": HillSaturation,
    "logistic": LogisticSaturation,
}


def get_adstock(name: str) -> Adstock:
    """The adstock curve called ``name``; an unknown name is a config error listing the choices."""
    if name not in ADSTOCKS:
        raise ConfigError(f"unknown adstock {name!r}; choose one of {sorted(ADSTOCKS)}")
    return ADSTOCKS[name]()


def get_saturation(name: str) -> Saturation:
    """The saturation curve called ``name``; an unknown name is a config error."""
    if name not in SATURATIONS:
        raise ConfigError(f"unknown saturation {name!r}; choose one of {sorted(SATURATIONS)}")
    return SATURATIONS[name]()
