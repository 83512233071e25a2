"""Marketing-mix simulator: weekly (or daily) sales, spend per channel and controls with a *known*
true media effect, plus lift tests whose true answer is known.

Why this exists: a marketing mix model is only trustworthy if it recovers effects we planted.
This module draws such a table together with the truth (per-channel adstock and saturation
parameters, β, contribution, share, ROAS, marginal ROAS), computed with the definitions of
:mod:`strategies.mmm.data`. The transforms are re-implemented here with plain loops on purpose,
independently of ``strategies.mmm.transforms``: the fit is tested against this truth, so the two
must not share code (a shared bug would be invisible).

Generating model (one seeded numpy stream per purpose, so changing one channel's β changes no
random draw)
-------------------------------------------------------------------------------------------------
Periods ``t = 0..T-1`` start at ``start`` (a Monday for weekly data) and are ``period_days``
apart (7 for ``frequency="W"``, 1 for ``"D"``); a period's ``date`` is its first day.

Spend of channel ``c`` (spend units per period, rounded to cents, never negative). The channel
runs in *flights*: consecutive blocks of ``2 + Poisson(2)`` periods, each on with probability
``on_share`` (1.0 = always on); periods covered by a lift test of the channel are forced on (one
goes dark on a running channel). In an "on" period::

    spend_c,t = mean_spend / on_share * LogNormal(-variability**2 / 2, variability)

so the mean spend per period is about ``mean_spend``; "off" periods spend 0. With a confounder
the confounded channel's spend is then multiplied by ``1 + confounder_spend * d_t`` (below).

Sales::

    sales_t = base_t + sum_c beta_c * sat_c(adstock_c(spend_c)_t)
              + confounder_effect * d_t + Normal(0, noise_sd)
    base_t  = intercept + trend * t / (T - 1)
              + sum_k (sin_k * sin(2 pi k t / P) + cos_k * cos(2 pi k t / P))
              + gamma_price * price_index_t + gamma_promotion * promotion_t
              + sum_h gamma_h * holiday_h,t         (P = 365.25 / period_days)

* Adstock and saturation exactly as in :mod:`strategies.mmm.data`: weights over ``max_lag``
  periods summing to 1 (``geometric``: ``w_l ∝ alpha**l``; ``weibull``: ``w_l ∝ ((l+1)/scale)**
  (shape-1) * exp(-((l+1)/scale)**shape)``), no spend before the first period; ``hill``:
  ``x**slope / (x**slope + half_saturation**slope)``; ``logistic``: ``(1 - exp(-lam x)) /
  (1 + exp(-lam x))``. ``beta`` is the contribution per period at full saturation.
* ``price_index_t = 1 + 0.03 * AR(1)`` (coefficient 0.8, unit-variance innovations scaled so the
  index moves a few percent), rounded to 4 decimals; ``promotion_t ~ Bernoulli(promotion_share)``
  (0/1); holiday columns are 0/1: ``holiday_black_friday`` marks the period containing the day
  after the fourth Thursday of November, ``holiday_christmas`` the period containing 25 December.
* Confounder (not written to the data): ``d_t >= 0`` is a sum of ``confounder_bursts`` smooth
  bursts ``a * sin(pi * (t - t0 + 1) / (L + 1))**2`` of ``L`` periods (``L`` uniform in
  ``confounder_burst_periods``, ``a`` uniform in [0.6, 1], non-overlapping starts). It raises
  sales by ``confounder_effect * d_t`` and the confounded channel's spend by the factor
  ``1 + confounder_spend * d_t``: a demand shock the channel reacts to, so a regression credits
  the channel with the shock's sales unless a lift test pins its effect down.

Truth (``mmm_truth.json``), over the whole window: per channel the contribution
``sum_t beta * sat(adstock(spend)_t)`` (= sales with the observed spend minus sales with that
channel's spend set to 0, noise and confounder unchanged), its share of the channel total,
``roas = contribution / spend`` and ``mroas = d contribution / d h`` for spend scaled by
``(1 + h)``, per unit spend ``= sum_t beta * sat'(a_t) * a_t / sum_t spend_t`` (adstock is
linear, so ``d a_t / d h = a_t``).

Lift tests (``mmm_lift_tests.csv``, columns :data:`~strategies.mmm.data.LIFT_TEST_COLUMNS`). A
test of channel ``c`` over periods ``[i, i + n)`` switched off a ``share`` of the channel's spend
(1.0 = go dark): ``spend_change = share * sum spend_c`` over those periods and the true lift is
the data.py model-implied lift, ``sum_{t in window} beta * (sat(adstock(spend)_t) -
sat(adstock(spend with the window's spend scaled by 1 - share)_t))`` (noise-free, confounder-
free). The data keep the observed spend (the test measured what that spend caused).
``incremental_outcome = true lift + Normal(0, se)`` with ``se = max(se_share * |true lift|,
se_min)``; ``start``/``end`` are the first and last period dates of the window (inclusive).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liftlab.simulate.common import is_int, is_number, rng_stream, write_files
from strategies.errors import ConfigError
from strategies.mmm.data import LIFT_TEST_COLUMNS

__all__ = [
    "ADSTOCK_PARAMS",
    "HOLIDAYS",
    "SATURATION_PARAMS",
    "ChannelTruth",
    "LiftTestSpec",
    "MMMSimulation",
    "MMMSimulationConfig",
    "confounded_mmm_config",
    "default_channels",
    "default_mmm_config",
    "simulate_mmm",
    "write_mmm",
]

#: Parameters each transform needs (names as in strategies/mmm/data.py).
ADSTOCK_PARAMS: dict[str, tuple[str, ...]] = {
    "geometric": ("alpha",),
    "weibull": ("shape", "scale"),
}
SATURATION_PARAMS: dict[str, tuple[str, ...]] = {
    "hill": ("slope", "half_saturation"),
    "logistic": ("lam",),
}
#: Holiday control columns, in frame order.
HOLIDAYS: tuple[str, ...] = ("holiday_black_friday", "holiday_christmas")

FILES = {"data": "mmm_weekly.csv", "lift_tests": "mmm_lift_tests.csv", "truth": "mmm_truth.json"}

_STREAM_FLIGHTS = 1
_STREAM_SPEND = 2
_STREAM_CONTROLS = 3
_STREAM_CONFOUNDER = 4
_STREAM_NOISE = 5
_STREAM_LIFT = 6


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelTruth:
    """One channel: its true transforms, β and how its spend is drawn.

    ``mean_spend`` is the mean spend per period (per week for weekly data); ``variability`` the
    log-normal SD of spend in "on" periods; ``on_share`` the share of flights that run (1.0 =
    always on). Parameter ranges are those of :mod:`strategies.mmm.data`.
    """

    name: str
    adstock: str
    adstock_params: Mapping[str, float]
    saturation: str
    saturation_params: Mapping[str, float]
    beta: float
    mean_spend: float
    variability: float = 0.4
    on_share: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"channel name must be a non-empty string, got {self.name!r}")
        owner = f"channel {self.name!r}"
        if self.adstock not in ADSTOCK_PARAMS:
            raise ConfigError(
                f"{owner}: adstock must be one of {sorted(ADSTOCK_PARAMS)}, got {self.adstock!r}"
            )
        if self.saturation not in SATURATION_PARAMS:
            raise ConfigError(
                f"{owner}: saturation must be one of {sorted(SATURATION_PARAMS)}, "
                f"got {self.saturation!r}"
            )
        for kind, names, params in (
            ("adstock_params", ADSTOCK_PARAMS[self.adstock], self.adstock_params),
            ("saturation_params", SATURATION_PARAMS[self.saturation], self.saturation_params),
        ):
            if not isinstance(params, Mapping) or set(params) != set(names):
                got = sorted(params) if isinstance(params, Mapping) else params
                raise ConfigError(f"{owner}: {kind} must have exactly {list(names)}, got {got!r}")
            for key in names:
                if not is_number(params[key]):
                    raise ConfigError(
                        f"{owner}: {kind}[{key!r}] must be a number, got {params[key]!r}"
                    )
            object.__setattr__(self, kind, {k: float(params[k]) for k in names})
        ad, sat = self.adstock_params, self.saturation_params
        checks = {
            "alpha": (0.0, 0.95),
            "shape": (0.5, 5.0),
            "scale": (0.5, math.inf),  # upper bound max_lag is checked by the config
            "slope": (0.5, 4.0),
        }
        for key, value in {**ad, **sat}.items():
            if key in checks:
                low, high = checks[key]
                if not low <= value <= high:
                    raise ConfigError(f"{owner}: {key} must be in [{low}, {high}], got {value}")
            elif value <= 0:
                raise ConfigError(f"{owner}: {key} must be positive, got {value}")
        for key in ("beta", "mean_spend", "variability", "on_share"):
            value = getattr(self, key)
            if not is_number(value):
                raise ConfigError(f"{owner}: {key} must be a number, got {value!r}")
            object.__setattr__(self, key, float(value))
        if self.beta < 0:
            raise ConfigError(f"{owner}: beta must be >= 0, got {self.beta}")
        if self.mean_spend <= 0:
            raise ConfigError(f"{owner}: mean_spend must be positive, got {self.mean_spend}")
        if self.variability < 0:
            raise ConfigError(f"{owner}: variability must be >= 0, got {self.variability}")
        if not 0.0 < self.on_share <= 1.0:
            raise ConfigError(f"{owner}: on_share must be in (0, 1], got {self.on_share}")

    @property
    def spend_column(self) -> str:
        return f"{self.name}_spend"


@dataclass(frozen=True)
class LiftTestSpec:
    """A lift test to emit: ``share`` of ``channel``'s spend switched off during periods
    ``[start_index, start_index + n_periods)`` (1.0 = go dark; 0.1 = a small spend change)."""

    channel: str
    start_index: int
    n_periods: int
    share: float = 1.0

    def __post_init__(self) -> None:
        owner = f"lift test of {self.channel!r}"
        if not is_int(self.start_index) or self.start_index < 0:
            raise ConfigError(f"{owner}: start_index must be an integer >= 0")
        if not is_int(self.n_periods) or self.n_periods < 1:
            raise ConfigError(f"{owner}: n_periods must be an integer >= 1")
        if not is_number(self.share) or not 0.0 < self.share <= 1.0:
            raise ConfigError(f"{owner}: share must be in (0, 1], got {self.share!r}")


def default_channels() -> tuple[ChannelTruth, ...]:
    """Six channels whose truths a fit can recover: spend varies (flighting or ±40-50 %), the
    half-saturation points lie inside the observed spend range, a mix of geometric/Weibull and
    Hill/logistic. Deliberately not in sorted order, to catch code that sorts channel names.

    Parameter count for a fit with these transforms, trend, Fourier order 2 and the four
    controls: 21 channel + 10 base = 31, so 156 weekly periods give 5 periods per parameter.
    """
    return (
        ChannelTruth(
            "tv", "weibull", {"shape": 2.0, "scale": 2.5}, "logistic", {"lam": 1 / 30_000},
            beta=90_000.0, mean_spend=20_000.0, variability=0.35, on_share=0.6,
        ),
        ChannelTruth(
            "search", "geometric", {"alpha": 0.15}, "logistic", {"lam": 1 / 12_000},
            beta=60_000.0, mean_spend=12_000.0, variability=0.45,
        ),
        ChannelTruth(
            "social", "geometric", {"alpha": 0.45}, "hill",
            {"slope": 2.0, "half_saturation": 8_000.0},
            beta=28_000.0, mean_spend=8_000.0, variability=0.5, on_share=0.85,
        ),
        ChannelTruth(
            "display", "geometric", {"alpha": 0.3}, "logistic", {"lam": 1 / 6_000},
            beta=14_000.0, mean_spend=5_000.0, variability=0.5,
        ),
        ChannelTruth(
            "email", "geometric", {"alpha": 0.1}, "logistic", {"lam": 1 / 2_000},
            beta=8_000.0, mean_spend=1_500.0, variability=0.4, on_share=0.7,
        ),
        ChannelTruth(
            "radio", "geometric", {"alpha": 0.6}, "hill",
            {"slope": 1.5, "half_saturation": 6_000.0},
            beta=16_000.0, mean_spend=6_000.0, variability=0.45, on_share=0.6,
        ),
    )  # fmt: skip


@dataclass(frozen=True)
class MMMSimulationConfig:
    """What to simulate (see the module docstring); validated on construction."""

    start: date | str = "2022-01-03"
    n_periods: int = 156
    frequency: str = "W"
    channels: tuple[ChannelTruth, ...] = field(default_factory=default_channels)
    max_lag: int = 8
    intercept: float = 150_000.0
    trend: float = 20_000.0
    fourier: Mapping[str, float] = field(
        default_factory=lambda: {"sin_1": 12_000.0, "cos_1": 8_000.0, "sin_2": -3_000.0,
                                 "cos_2": 2_000.0}
    )  # fmt: skip
    gamma_price: float = -60_000.0
    gamma_promotion: float = 15_000.0
    gamma_holidays: Mapping[str, float] = field(
        default_factory=lambda: {"holiday_black_friday": 25_000.0, "holiday_christmas": 20_000.0}
    )
    promotion_share: float = 0.12
    noise_sd: float = 3_000.0
    confounded_channel: str | None = None
    confounder_effect: float = 0.0
    confounder_spend: float = 0.0
    confounder_bursts: int = 0
    confounder_burst_periods: tuple[int, int] = (6, 10)
    lift_tests: tuple[LiftTestSpec, ...] = ()
    se_share: float = 0.1
    se_min: float = 1.0
    seed: int = 42

    def __post_init__(self) -> None:
        try:
            start = pd.Timestamp(self.start)
        except (TypeError, ValueError):
            start = pd.NaT
        if start is pd.NaT or not isinstance(start, pd.Timestamp):
            raise ConfigError(f"start must be a date like '2022-01-03', got {self.start!r}")
        start = start.tz_localize(None) if start.tzinfo else start
        if start != start.normalize():
            raise ConfigError(f"start must be a date (midnight), got {self.start!r}")
        if self.frequency not in ("W", "D"):
            raise ConfigError(
                f"frequency must be 'W' (weekly) or 'D' (daily), got {self.frequency!r}"
            )
        if self.frequency == "W" and start.dayofweek != 0:
            raise ConfigError(
                f"start must be a Monday for weekly data, got {start.date()} ({start.day_name()})"
            )
        object.__setattr__(self, "start", start.date())
        if not is_int(self.n_periods) or self.n_periods < 2:
            raise ConfigError(f"n_periods must be an integer >= 2, got {self.n_periods!r}")
        if not is_int(self.max_lag) or self.max_lag < 1:
            raise ConfigError(f"max_lag must be an integer >= 1, got {self.max_lag!r}")
        if not is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        channels = tuple(self.channels)
        if not channels or not all(isinstance(c, ChannelTruth) for c in channels):
            raise ConfigError("channels must be a non-empty tuple of ChannelTruth")
        names = [c.name for c in channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"channel names must be unique; repeated: {dupes}")
        for c in channels:
            scale = c.adstock_params.get("scale")
            if scale is not None and scale > self.max_lag:
                raise ConfigError(
                    f"channel {c.name!r}: Weibull scale {scale} exceeds max_lag={self.max_lag}"
                )
        object.__setattr__(self, "channels", channels)
        for key in ("intercept", "trend", "gamma_price", "gamma_promotion", "noise_sd",
                    "confounder_effect", "confounder_spend", "promotion_share", "se_share",
                    "se_min"):  # fmt: skip
            if not is_number(getattr(self, key)):
                raise ConfigError(f"{key} must be a finite number, got {getattr(self, key)!r}")
            object.__setattr__(self, key, float(getattr(self, key)))
        if self.noise_sd < 0 or self.se_share < 0 or self.se_min <= 0:
            raise ConfigError("noise_sd and se_share must be >= 0 and se_min > 0")
        if not 0.0 <= self.promotion_share <= 1.0:
            raise ConfigError(f"promotion_share must be in [0, 1], got {self.promotion_share}")
        fourier: dict[str, float] = {}
        for key, value in dict(self.fourier).items():
            kind, _, order = str(key).partition("_")
            if kind not in ("sin", "cos") or not order.isdigit() or int(order) < 1:
                raise ConfigError(f"fourier keys are 'sin_k'/'cos_k' with k >= 1, got {key!r}")
            if not is_number(value):
                raise ConfigError(f"fourier[{key!r}] must be a number, got {value!r}")
            fourier[str(key)] = float(value)
        object.__setattr__(self, "fourier", fourier)
        unknown = sorted(set(self.gamma_holidays) - set(HOLIDAYS))
        if unknown:
            raise ConfigError(f"gamma_holidays has unknown holidays {unknown}; known: {HOLIDAYS}")
        object.__setattr__(
            self,
            "gamma_holidays",
            {h: float(self.gamma_holidays.get(h, 0.0)) for h in HOLIDAYS},
        )
        confounded = self.confounder_effect != 0 or self.confounder_spend != 0
        if confounded:
            if self.confounded_channel not in names:
                raise ConfigError(
                    f"confounded_channel must be one of {names} when the confounder is on, "
                    f"got {self.confounded_channel!r}"
                )
            if self.confounder_spend < 0:
                raise ConfigError(f"confounder_spend must be >= 0, got {self.confounder_spend}")
            if not is_int(self.confounder_bursts) or self.confounder_bursts < 1:
                raise ConfigError("confounder_bursts must be an integer >= 1 with a confounder")
        low, high = self.confounder_burst_periods
        if not (is_int(low) and is_int(high) and 1 <= low <= high):
            raise ConfigError(
                f"confounder_burst_periods must be (low, high) with 1 <= low <= high, "
                f"got {self.confounder_burst_periods!r}"
            )
        if confounded and self.confounder_bursts * high > self.n_periods:
            raise ConfigError(
                f"{self.confounder_bursts} bursts of up to {high} periods do not fit into "
                f"{self.n_periods} periods"
            )
        tests = tuple(self.lift_tests)
        for test in tests:
            if not isinstance(test, LiftTestSpec):
                raise ConfigError(f"lift_tests must contain LiftTestSpec objects, got {test!r}")
            if test.channel not in names:
                raise ConfigError(f"lift test channel {test.channel!r} is not one of {names}")
            if test.start_index + test.n_periods > self.n_periods:
                raise ConfigError(
                    f"lift test of {test.channel!r}: periods [{test.start_index}, "
                    f"{test.start_index + test.n_periods}) exceed n_periods={self.n_periods}"
                )
        object.__setattr__(self, "lift_tests", tests)

    @property
    def period_days(self) -> int:
        return 7 if self.frequency == "W" else 1

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    @property
    def control_names(self) -> tuple[str, ...]:
        return ("price_index", "promotion", *HOLIDAYS)


def default_mmm_config(seed: int = 42, n_periods: int = 156) -> MMMSimulationConfig:
    """The easy case: no confounder, six recoverable channels, a go-dark test of tv (8 weeks)
    and a small (10 %) spend-change test of social."""
    start = max(0, n_periods // 2 - 4)
    return MMMSimulationConfig(
        n_periods=n_periods,
        seed=seed,
        lift_tests=(
            LiftTestSpec("tv", start, min(8, n_periods - start), 1.0),
            LiftTestSpec("social", max(0, n_periods - 20), min(6, n_periods), 0.1),
        ),
    )


def confounded_mmm_config(seed: int = 42, n_periods: int = 156) -> MMMSimulationConfig:
    """A confounded case: an unobserved demand shock drives both sales and search spend.

    Search is always on with little exogenous variation (variability 0.12), so the shock
    (search spend up to 1 + 2.5 = 3.5 times its base during 5 bursts) is most of its spend
    variation, while its true effect is modest (β 15,000; about 0.6 per unit spend). Each unit
    of shock adds 45,000 to sales, roughly 1.5 per unit of the extra search spend it causes, so
    a fit without calibration credits search with a multiple of its true contribution (a fit
    with the true transforms fixed over-credits by several hundred percent; see the tests). One
    go-dark test of search over 10 weeks pins the true effect down.
    """
    channels = tuple(
        replace(c, beta=15_000.0, variability=0.12) if c.name == "search" else c
        for c in default_channels()
    )
    start = max(0, int(n_periods * 0.6))
    return MMMSimulationConfig(
        n_periods=n_periods,
        seed=seed,
        channels=channels,
        confounded_channel="search",
        confounder_effect=45_000.0,
        confounder_spend=2.5,
        confounder_bursts=max(1, min(5, n_periods // 20)),
        confounder_burst_periods=(6, 10),
        lift_tests=(LiftTestSpec("search", start, min(10, n_periods - start), 1.0),),
    )


# --------------------------------------------------------------------------------------------
# The transforms, plain and independent of strategies.mmm.transforms (see module docstring)
# --------------------------------------------------------------------------------------------


def adstock_weights(kind: str, params: Mapping[str, float], max_lag: int) -> list[float]:
    """Lag weights ``w_0..w_{max_lag-1}`` summing to 1 (data.py definitions)."""
    raw: list[float] = []
    for lag in range(max_lag):
        if kind == "geometric":
            raw.append(params["alpha"] ** lag)
        else:
            u = (lag + 1) / params["scale"]
            raw.append(u ** (params["shape"] - 1.0) * math.exp(-(u ** params["shape"])))
    total = sum(raw)
    return [w / total for w in raw]


def adstock_series(spend: Sequence[float], weights: Sequence[float]) -> list[float]:
    """``a_t = sum_l w_l * spend_{t-l}`` with no spend before the first period."""
    out = []
    for t in range(len(spend)):
        value = 0.0
        for lag, w in enumerate(weights):
            if t - lag >= 0:
                value += w * spend[t - lag]
        out.append(value)
    return out


def saturate(kind: str, params: Mapping[str, float], x: float) -> float:
    """Hill or logistic saturation of an adstocked spend ``x >= 0`` into [0, 1)."""
    if kind == "hill":
        if x <= 0:
            return 0.0
        r = (x / params["half_saturation"]) ** params["slope"]
        return r / (1.0 + r)
    e = math.exp(-params["lam"] * x)
    return (1.0 - e) / (1.0 + e)


def saturation_elasticity(kind: str, params: Mapping[str, float], x: float) -> float:
    """``x * sat'(x)``: the change in saturation when ``x`` is scaled by ``(1 + h)``, per h."""
    if x <= 0:
        return 0.0
    if kind == "hill":
        r = (x / params["half_saturation"]) ** params["slope"]
        return params["slope"] * r / (1.0 + r) ** 2
    e = math.exp(-params["lam"] * x)
    return x * 2.0 * params["lam"] * e / (1.0 + e) ** 2


def channel_contribution_series(
    channel: ChannelTruth, spend: Sequence[float], max_lag: int
) -> list[float]:
    """``beta * sat(adstock(spend)_t)`` per period."""
    weights = adstock_weights(channel.adstock, channel.adstock_params, max_lag)
    return [
        channel.beta * saturate(channel.saturation, channel.saturation_params, a)
        for a in adstock_series(spend, weights)
    ]


def true_lift(
    channel: ChannelTruth, spend: Sequence[float], start: int, stop: int, share: float, max_lag: int
) -> float:
    """data.py model-implied lift of switching off ``share`` of the spend in ``[start, stop)``,
    summed over the test periods."""
    reduced = [s * (1.0 - share) if start <= t < stop else s for t, s in enumerate(spend)]
    full = channel_contribution_series(channel, spend, max_lag)
    less = channel_contribution_series(channel, reduced, max_lag)
    return sum(full[t] - less[t] for t in range(start, stop))


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MMMSimulation:
    """The data table, the lift tests, the truth (JSON-ready) and, for tests, the unobserved
    confounder ``d_t`` and each channel's contribution per period."""

    frame: pd.DataFrame
    lift_tests: pd.DataFrame
    truth: dict[str, Any]
    confounder: np.ndarray
    contributions: pd.DataFrame
    config: MMMSimulationConfig


def _holiday_flags(dates: pd.DatetimeIndex, period_days: int) -> dict[str, np.ndarray]:
    """1 where the period ``[date, date + period_days)`` contains the holiday."""
    years = range(dates[0].year - 1, dates[-1].year + 2)
    days: dict[str, list[pd.Timestamp]] = {h: [] for h in HOLIDAYS}
    for year in years:
        november = pd.Timestamp(year=year, month=11, day=1)
        thursday = november + pd.Timedelta(days=(3 - november.dayofweek) % 7 + 21)
        days["holiday_black_friday"].append(thursday + pd.Timedelta(days=1))
        days["holiday_christmas"].append(pd.Timestamp(year=year, month=12, day=25))
    span = pd.Timedelta(days=period_days)
    flags = {}
    for name, holidays in days.items():
        hit = np.zeros(len(dates), dtype=np.int64)
        for day in holidays:
            hit |= ((dates <= day) & (day < dates + span)).astype(np.int64)
        flags[name] = hit
    return flags


def _confounder(cfg: MMMSimulationConfig) -> np.ndarray:
    """Non-overlapping smooth bursts (module docstring); zeros without a confounder."""
    d = np.zeros(cfg.n_periods)
    if cfg.confounder_effect == 0 and cfg.confounder_spend == 0:
        return d
    rng = rng_stream(cfg.seed, _STREAM_CONFOUNDER)
    low, high = cfg.confounder_burst_periods
    lengths = rng.integers(low, high + 1, size=cfg.confounder_bursts)
    amplitudes = rng.uniform(0.6, 1.0, size=cfg.confounder_bursts)
    # Random gaps that keep every burst inside the window and apart from the others.
    slack = cfg.n_periods - int(lengths.sum())
    cuts = np.sort(rng.integers(0, slack + 1, size=cfg.confounder_bursts))
    position = 0
    previous_cut = 0
    for length, amplitude, cut in zip(lengths, amplitudes, cuts, strict=True):
        position += int(cut - previous_cut)
        previous_cut = int(cut)
        for k in range(int(length)):
            d[position + k] = amplitude * math.sin(math.pi * (k + 1) / (length + 1)) ** 2
        position += int(length)
    return d


def _spend(cfg: MMMSimulationConfig, d: np.ndarray) -> np.ndarray:
    """Spend (T, C): flights, log-normal levels, confounder factor, cents."""
    T = cfg.n_periods
    spend = np.zeros((T, len(cfg.channels)))
    for j, channel in enumerate(cfg.channels):
        forced = np.zeros(T, dtype=bool)
        for test in cfg.lift_tests:
            if test.channel == channel.name:
                forced[test.start_index : test.start_index + test.n_periods] = True
        rng = rng_stream(cfg.seed, _STREAM_FLIGHTS, j)
        on = np.zeros(T, dtype=bool)
        t = 0
        while t < T:
            length = 2 + int(rng.poisson(2.0))
            on[t : t + length] = rng.random() < channel.on_share
            t += length
        on |= forced
        sigma = channel.variability
        rng = rng_stream(cfg.seed, _STREAM_SPEND, j)
        level = rng.lognormal(-(sigma**2) / 2.0, sigma, size=T) if sigma > 0 else np.ones(T)
        values = np.where(on, channel.mean_spend / channel.on_share * level, 0.0)
        if channel.name == cfg.confounded_channel:
            values = values * (1.0 + cfg.confounder_spend * d)
        spend[:, j] = np.round(np.maximum(values, 0.0), 2)
    return spend


def simulate_mmm(config: MMMSimulationConfig | None = None) -> MMMSimulation:
    """Draw one marketing-mix table, its lift tests and its truth (module docstring)."""
    cfg = config if config is not None else default_mmm_config()
    T = cfg.n_periods
    period_days = cfg.period_days
    dates = pd.date_range(pd.Timestamp(cfg.start), periods=T, freq=f"{period_days}D")

    d = _confounder(cfg)
    spend = _spend(cfg, d)

    rng = rng_stream(cfg.seed, _STREAM_CONTROLS)
    ar = np.zeros(T)
    innovations = rng.normal(0.0, math.sqrt(1 - 0.8**2), size=T)
    ar[0] = rng.normal()
    for t in range(1, T):
        ar[t] = 0.8 * ar[t - 1] + innovations[t]
    price_index = np.round(1.0 + 0.03 * ar, 4)
    promotion = (rng.random(T) < cfg.promotion_share).astype(np.int64)
    holidays = _holiday_flags(dates, period_days)

    period = 365.25 / period_days
    base = [cfg.intercept + cfg.trend * t / (T - 1) for t in range(T)]
    for key, coef in cfg.fourier.items():
        kind, _, order = key.partition("_")
        fn = math.sin if kind == "sin" else math.cos
        for t in range(T):
            base[t] += coef * fn(2.0 * math.pi * int(order) * t / period)
    for t in range(T):
        base[t] += cfg.gamma_price * price_index[t] + cfg.gamma_promotion * promotion[t]
        for name in HOLIDAYS:
            base[t] += cfg.gamma_holidays[name] * holidays[name][t]

    contributions = {
        c.name: channel_contribution_series(c, spend[:, j].tolist(), cfg.max_lag)
        for j, c in enumerate(cfg.channels)
    }
    noise = rng_stream(cfg.seed, _STREAM_NOISE).normal(0.0, cfg.noise_sd, size=T)
    sales = [
        base[t]
        + sum(contributions[c][t] for c in cfg.channel_names)
        + cfg.confounder_effect * d[t]
        + noise[t]
        for t in range(T)
    ]

    frame = pd.DataFrame({"date": dates, "sales": np.asarray(sales, dtype=float)})
    for j, c in enumerate(cfg.channels):
        frame[c.spend_column] = spend[:, j]
    frame["price_index"] = price_index
    frame["promotion"] = promotion
    for name in HOLIDAYS:
        frame[name] = holidays[name]

    lift_rows, lift_truth = _lift_tests(cfg, dates, spend)
    truth = _truth(cfg, dates, spend, contributions, d, base, lift_truth)
    return MMMSimulation(
        frame=frame,
        lift_tests=pd.DataFrame(lift_rows, columns=list(LIFT_TEST_COLUMNS)),
        truth=truth,
        confounder=d,
        contributions=pd.DataFrame(contributions, index=dates),
        config=cfg,
    )


def _lift_tests(
    cfg: MMMSimulationConfig, dates: pd.DatetimeIndex, spend: np.ndarray
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = rng_stream(cfg.seed, _STREAM_LIFT)
    rows, truth = [], []
    for test in cfg.lift_tests:
        j = cfg.channel_names.index(test.channel)
        channel = cfg.channels[j]
        stop = test.start_index + test.n_periods
        window_spend = float(spend[test.start_index : stop, j].sum())
        spend_change = test.share * window_spend
        if spend_change <= 0:
            raise ConfigError(  # pragma: no cover - lift-test periods are forced on
                f"lift test of {test.channel!r} has no spend in its periods"
            )
        lift = true_lift(
            channel, spend[:, j].tolist(), test.start_index, stop, test.share, cfg.max_lag
        )
        se = max(cfg.se_share * abs(lift), cfg.se_min)
        measured = lift + float(rng.normal(0.0, se))
        start, end = dates[test.start_index].date(), dates[stop - 1].date()
        rows.append(
            {
                "channel": test.channel,
                "start": start,
                "end": end,
                "spend_change": spend_change,
                "incremental_outcome": measured,
                "se": se,
            }
        )
        truth.append(
            {
                "channel": test.channel,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "start_index": test.start_index,
                "n_periods": test.n_periods,
                "share_switched_off": test.share,
                "spend_in_window": window_spend,
                "spend_change": spend_change,
                "true_lift": lift,
                "incremental_outcome": measured,
                "se": se,
            }
        )
    return rows, truth


def _truth(
    cfg: MMMSimulationConfig,
    dates: pd.DatetimeIndex,
    spend: np.ndarray,
    contributions: dict[str, list[float]],
    d: np.ndarray,
    base: list[float],
    lift_truth: list[dict[str, Any]],
) -> dict[str, Any]:
    totals = {name: float(sum(values)) for name, values in contributions.items()}
    channel_total = sum(totals.values())
    channels: dict[str, Any] = {}
    for j, c in enumerate(cfg.channels):
        s = spend[:, j].tolist()
        weights = adstock_weights(c.adstock, c.adstock_params, cfg.max_lag)
        adstocked = adstock_series(s, weights)
        marginal = sum(
            c.beta * saturation_elasticity(c.saturation, c.saturation_params, a) for a in adstocked
        )
        total_spend = float(sum(s))
        channels[c.name] = {
            "spend_column": c.spend_column,
            "adstock": c.adstock,
            "adstock_params": dict(c.adstock_params),
            "max_lag": cfg.max_lag,
            "adstock_weights": weights,
            "saturation": c.saturation,
            "saturation_params": dict(c.saturation_params),
            "beta": c.beta,
            "mean_spend": c.mean_spend,
            "variability": c.variability,
            "on_share": c.on_share,
            "spend": total_spend,
            "contribution": totals[c.name],
            "share": totals[c.name] / channel_total if channel_total > 0 else float("nan"),
            "roas": totals[c.name] / total_spend if total_spend > 0 else float("nan"),
            "mroas": marginal / total_spend if total_spend > 0 else float("nan"),
        }
    confounded = cfg.confounder_effect != 0 or cfg.confounder_spend != 0
    return {
        "generator": "liftlab.simulate.mmm",
        "seed": cfg.seed,
        "frequency": cfg.frequency,
        "period_days": cfg.period_days,
        "n_periods": cfg.n_periods,
        "window": {"start": dates[0].date().isoformat(), "end": dates[-1].date().isoformat()},
        "conventions": "strategies.mmm.data (contribution, ROAS and marginal ROAS over the window)",
        "outcome_column": "sales",
        "date_column": "date",
        "channel_order": list(cfg.channel_names),
        "control_columns": list(cfg.control_names),
        "channels": channels,
        "base": {
            "intercept": cfg.intercept,
            "trend": cfg.trend,
            "trend_convention": "trend * t / (T - 1), t = 0..T-1",
            "fourier_period_periods": 365.25 / cfg.period_days,
            "fourier": dict(cfg.fourier),
            "controls": {
                "price_index": cfg.gamma_price,
                "promotion": cfg.gamma_promotion,
                **dict(cfg.gamma_holidays),
            },
            "noise_sd": cfg.noise_sd,
            "base_total": float(sum(base)),
        },
        "confounder": (
            {
                "channel": cfg.confounded_channel,
                "effect": cfg.confounder_effect,
                "spend_factor": cfg.confounder_spend,
                "bursts": cfg.confounder_bursts,
                "total_effect_on_sales": float(cfg.confounder_effect * d.sum()),
                "observed": False,
            }
            if confounded
            else None
        ),
        "lift_tests": lift_truth,
    }


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_mmm(sim: MMMSimulation, directory: str | Path) -> list[Path]:
    """Write ``mmm_weekly.csv``, ``mmm_lift_tests.csv`` and ``mmm_truth.json`` into
    ``directory`` (each to a temporary file first, then moved, so a failure leaves no
    half-written file). Dates are ISO ``YYYY-MM-DD``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    data = sim.frame.copy()
    data["date"] = pd.to_datetime(data["date"]).dt.strftime("%Y-%m-%d")
    tests = sim.lift_tests.copy()
    for column in ("start", "end"):
        tests[column] = [pd.Timestamp(v).strftime("%Y-%m-%d") for v in tests[column]]
    contents = {
        FILES["data"]: data.to_csv(index=False),
        FILES["lift_tests"]: tests.to_csv(index=False),
        FILES["truth"]: json.dumps(sim.truth, indent=2, allow_nan=True) + "\n",
    }
    return list(write_files(folder, contents).values())
