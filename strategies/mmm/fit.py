"""Fitting the marketing-mix model by variable projection, with lift-test calibration.

Why variable projection: for fixed curve parameters θ (adstock + saturation per channel) the model
is linear in the media coefficients β (>= 0) and the base coefficients, so those are solved exactly
for each θ and the nonlinear search (``scipy.optimize.least_squares``, bounded "trf", multi-start)
only moves θ — a dozen parameters instead of thirty, and no β/θ trade-off for the optimiser to
wander along. The Jacobian is Kaufman's variable-projection Jacobian (its gradient is exact), with
each column's derivative taken by a finite difference of that single channel's curve, which is
far cheaper than differencing the whole profiled residual.

The linear step: the base columns are projected out with one QR computed once per fit; the
remaining non-negative least squares in β (C unknowns) is compressed by a QR of ``[A | y]`` to a
(C+1)-square problem and solved exactly by Lawson–Hanson active-set NNLS (``scipy.optimize.nnls``).
That is the same minimiser ``scipy.optimize.lsq_linear(bounds=(0, inf))`` returns (a test checks
it) at a twentieth of the cost, which matters for 200 bootstrap refits.

Calibration: a lift test adds one residual ``(model_lift - measured) / se * σ`` (σ = residual SD of
the uncalibrated fit, so a test counts like one period measured with its own precision). The
model-implied lift is linear in that channel's β for fixed θ, so it is one more row of the linear
system and the projection stays exact. ``calibration_weight`` multiplies the squared lift rows.

The fit works on scaled data (outcome / mean |outcome|, spend / mean positive spend per channel,
controls / max |control|) for conditioning; :class:`FittedMMM` holds everything in original units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, lsq_linear, nnls
from scipy.stats import qmc

from strategies.errors import ConfigError, InputDataError
from strategies.mmm.data import LIFT_TEST_COLUMNS, MMMData
from strategies.mmm.design import BaseDesign, base_design_for
from strategies.mmm.transforms import (
    Adstock,
    Saturation,
    convolve_weights,
    get_adstock,
    get_saturation,
)

_FD_STEP = 1e-6
_RECENT_DAYS = 91.3  # "recent" spend = the last quarter of the training data


# --------------------------------------------------------------------------------------------
# Specification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MMMSpec:
    """The model choices. ``adstock``/``saturation``: one name for all channels, or a mapping
    channel → name (every channel must be named)."""

    adstock: str | Mapping[str, str] = "geometric"
    saturation: str | Mapping[str, str] = "hill"
    max_lag: int = 8
    trend: bool = True
    fourier_order: int = 2
    n_starts: int = 8
    seed: int = 0
    calibration_weight: float = 1.0

    def __post_init__(self) -> None:
        for key, names, lookup in (
            ("adstock", self.adstock, get_adstock),
            ("saturation", self.saturation, get_saturation),
        ):
            values = [names] if isinstance(names, str) else list(dict(names).values())
            if not values:
                raise ConfigError(f"MMM spec {key!r} names no curve")
            for name in values:
                lookup(name)
        if int(self.max_lag) < 1:
            raise ConfigError(f"MMM spec 'max_lag' must be >= 1, got {self.max_lag}")
        if int(self.fourier_order) < 0:
            raise ConfigError(f"MMM spec 'fourier_order' must be >= 0, got {self.fourier_order}")
        if int(self.n_starts) < 1:
            raise ConfigError(f"MMM spec 'n_starts' must be >= 1, got {self.n_starts}")
        if not (float(self.calibration_weight) >= 0):
            raise ConfigError(
                f"MMM spec 'calibration_weight' must be >= 0, got {self.calibration_weight}"
            )

    def _per_channel(self, key: str, channels: tuple[str, ...]) -> tuple[str, ...]:
        names = getattr(self, key)
        if isinstance(names, str):
            return tuple(names for _ in channels)
        names = dict(names)
        unknown = sorted(set(names) - set(channels))
        if unknown:
            raise ConfigError(f"MMM spec {key!r} names {unknown[0]!r}, which is not a channel")
        missing = [c for c in channels if c not in names]
        if missing:
            raise ConfigError(f"MMM spec {key!r} gives no curve for channel {missing[0]!r}")
        return tuple(names[c] for c in channels)

    def adstocks_for(self, channels: tuple[str, ...]) -> tuple[str, ...]:
        return self._per_channel("adstock", channels)

    def saturations_for(self, channels: tuple[str, ...]) -> tuple[str, ...]:
        return self._per_channel("saturation", channels)

    def to_dict(self) -> dict[str, Any]:
        def names(value: str | Mapping[str, str]) -> str | dict[str, str]:
            return value if isinstance(value, str) else {str(k): str(v) for k, v in value.items()}

        return {
            "adstock": names(self.adstock),
            "saturation": names(self.saturation),
            "max_lag": int(self.max_lag),
            "trend": bool(self.trend),
            "fourier_order": int(self.fourier_order),
            "n_starts": int(self.n_starts),
            "seed": int(self.seed),
            "calibration_weight": float(self.calibration_weight),
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> MMMSpec:
        unknown = sorted(set(payload) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown MMM spec key {unknown[0]!r}")
        return cls(**dict(payload))


# --------------------------------------------------------------------------------------------
# Lift tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiftTest:
    """One lift test resolved against the data: periods ``start_idx..end_idx`` inclusive."""

    channel: str
    channel_index: int
    start_idx: int
    end_idx: int
    spend_change: float
    measured: float
    se: float


def parse_lift_tests(lift_tests: pd.DataFrame | None, data: MMMData) -> list[LiftTest]:
    """Resolve a lift-test table (:data:`LIFT_TEST_COLUMNS`) to period indices of ``data``.

    Errors name the test (row number) and the offending value: unknown channel, a window
    outside the data or containing no period, a non-positive ``se`` or ``spend_change``, or a
    ``spend_change`` larger than the channel's spend in the window.
    """
    if lift_tests is None or len(lift_tests) == 0:
        return []
    missing = [c for c in LIFT_TEST_COLUMNS if c not in lift_tests.columns]
    if missing:
        raise InputDataError(
            f"the lift-test table has no column {missing[0]!r}; needs {list(LIFT_TEST_COLUMNS)}"
        )
    dates = np.asarray(data.dates, dtype="datetime64[ns]")
    first, last = dates[0], dates[-1]
    tests = []
    for row_no, row in enumerate(lift_tests.itertuples(index=False), start=1):
        rec = row._asdict()
        channel = str(rec["channel"])
        if channel not in data.channels:
            raise InputDataError(
                f"lift test {row_no} names channel {channel!r}, which is not a channel of the "
                f"data {list(data.channels)}"
            )
        try:
            start = np.datetime64(pd.Timestamp(rec["start"]), "ns")
            end = np.datetime64(pd.Timestamp(rec["end"]), "ns")
        except (ValueError, TypeError) as exc:
            raise InputDataError(f"lift test {row_no} ({channel}) has a bad date: {exc}") from exc
        if start > end:
            raise InputDataError(f"lift test {row_no} ({channel}) starts after it ends")
        if start < first or end > last:
            raise InputDataError(
                f"lift test {row_no} ({channel}) runs {pd.Timestamp(start).date()} to "
                f"{pd.Timestamp(end).date()}, outside the data "
                f"({pd.Timestamp(first).date()} to {pd.Timestamp(last).date()})"
            )
        inside = np.flatnonzero((dates >= start) & (dates <= end))
        if len(inside) == 0:
            raise InputDataError(f"lift test {row_no} ({channel}) contains no period of the data")
        c = data.channels.index(channel)
        keys = ("spend_change", "incremental_outcome", "se")
        change, measured, se = (float(rec[k]) for k in keys)
        if not (se > 0 and math.isfinite(se)):
            raise InputDataError(f"lift test {row_no} ({channel}) needs se > 0, got {se}")
        if not (change > 0 and math.isfinite(change)):
            raise InputDataError(
                f"lift test {row_no} ({channel}) needs spend_change > 0, got {change}"
            )
        if not math.isfinite(measured):
            raise InputDataError(f"lift test {row_no} ({channel}) has no incremental_outcome")
        window_spend = float(data.spend[inside[0] : inside[-1] + 1, c].sum())
        if change > window_spend * (1 + 1e-9):
            raise InputDataError(
                f"lift test {row_no} ({channel}) has spend_change {change:g}, more than the "
                f"channel's spend in its window ({window_spend:g})"
            )
        tests.append(LiftTest(channel, c, int(inside[0]), int(inside[-1]), change, measured, se))
    return tests


def reduced_spend(x: np.ndarray, start_idx: int, end_idx: int, spend_change: float) -> np.ndarray:
    """The channel's spend with ``spend_change`` removed from the window in proportion to the
    observed spend (the lift-test counterfactual of :mod:`strategies.mmm.data`)."""
    x = np.array(x, dtype=float)
    window = slice(start_idx, end_idx + 1)
    total = x[window].sum()
    if total <= 0:
        raise InputDataError("a lift test's window has no spend to reduce")
    x[window] *= max(1.0 - spend_change / total, 0.0)
    return x


# --------------------------------------------------------------------------------------------
# The fitted model
# --------------------------------------------------------------------------------------------


def _jsonable(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.ravel(values)], dtype=float)


@dataclass
class FittedMMM:
    """A fitted marketing-mix model, everything in original units (outcome, spend, dates)."""

    spec: MMMSpec
    channels: tuple[str, ...]
    adstocks: tuple[str, ...]
    saturations: tuple[str, ...]
    params: dict[str, dict[str, float]]  # channel -> parameter -> value (original units)
    beta: np.ndarray  # (C,) outcome per period at full saturation
    base_coefficients: dict[str, float]  # intercept, trend, sin_k, cos_k, controls
    control_names: tuple[str, ...]
    sigma: float  # residual SD (outcome units, degrees of freedom corrected)
    r2: float
    start_date: np.datetime64
    period_days: float
    n_train: int
    carry_in: np.ndarray  # (max_lag - 1, C): the last training spend rows
    spend_scale: np.ndarray  # (C,) mean positive spend per period (sets the search bounds)
    recent_spend: np.ndarray  # (C,) mean spend per period over the last quarter of training
    objective: float  # ½‖r‖² of the scaled problem at the optimum
    start_objectives: np.ndarray  # (S,) the same at the end of each start (NaN = failed)
    start_params: np.ndarray  # (S, P) θ at the end of each start, original units
    lift_tests: pd.DataFrame | None = None  # LIFT_TEST_COLUMNS + model_lift(_uncalibrated)
    sigma_uncalibrated: float | None = None  # σ the calibration weights used
    success: bool = True
    uncalibrated: FittedMMM | None = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # ---- structure --------------------------------------------------------------------------
    @property
    def max_lag(self) -> int:
        return int(self.spec.max_lag)

    @property
    def design(self) -> BaseDesign:
        return BaseDesign(
            start=np.datetime64(self.start_date, "ns"),
            period_days=self.period_days,
            n_train=self.n_train,
            trend=self.spec.trend,
            fourier_order=self.spec.fourier_order,
            control_names=self.control_names,
        )

    def curves(self) -> list[tuple[Adstock, Saturation]]:
        if "curves" not in self._cache:
            self._cache["curves"] = [
                (get_adstock(a), get_saturation(s))
                for a, s in zip(self.adstocks, self.saturations, strict=True)
            ]
        return self._cache["curves"]

    def channel_index(self, channel: str) -> int:
        if channel not in self.channels:
            raise InputDataError(f"unknown channel {channel!r}; channels are {list(self.channels)}")
        return self.channels.index(channel)

    def theta_names(self) -> list[tuple[str, str]]:
        """(channel, parameter) of every curve parameter, in the order of ``start_params``."""
        names = []
        for channel, (ad, sat) in zip(self.channels, self.curves(), strict=True):
            names += [(channel, p) for p in (*ad.param_names, *sat.param_names)]
        return names

    def parameter_bounds(self) -> dict[str, dict[str, tuple[float, float]]]:
        """The search bounds of every curve parameter, original units."""
        out = {}
        for c, (channel, (ad, sat)) in enumerate(zip(self.channels, self.curves(), strict=True)):
            bounds = ad.bounds(self.max_lag) + sat.bounds(float(self.spend_scale[c]))
            names = (*ad.param_names, *sat.param_names)
            out[channel] = dict(zip(names, bounds, strict=True))
        return out

    def curve_params(self, c: int) -> tuple[list[float], list[float]]:
        """(adstock parameters, saturation parameters) of channel ``c`` in curve order."""
        ad, sat = self.curves()[c]
        values = self.params[self.channels[c]]
        return [values[p] for p in ad.param_names], [values[p] for p in sat.param_names]

    # ---- predictions -----------------------------------------------------------------------
    def channel_curve(self, c: int, x: np.ndarray, carry_in: np.ndarray | None = None):
        """sat(adstock(x)) of channel ``c`` for its spend series ``x`` (no β)."""
        ad, sat = self.curves()[c]
        p_ad, p_sat = self.curve_params(c)
        return sat.apply(ad.apply(x, p_ad, self.max_lag, carry_in), p_sat)

    def channel_contributions(
        self, spend: np.ndarray, carry_in: np.ndarray | None = None
    ) -> np.ndarray:
        """(T, C) contribution of each channel per period for the spend matrix ``spend``."""
        spend = np.asarray(spend, dtype=float)
        out = np.empty_like(spend)
        for c in range(len(self.channels)):
            carry = None if carry_in is None else np.asarray(carry_in, float)[:, c]
            out[:, c] = self.beta[c] * self.channel_curve(c, spend[:, c], carry)
        return out

    def base_components(self, data: MMMData) -> dict[str, np.ndarray]:
        """ "baseline" (intercept + trend), "seasonality" and each control, per period."""
        design = self.design
        matrix = design.matrix(data.dates, data.controls)
        coef = np.array([self.base_coefficients[n] for n in design.names])
        return {name: matrix[:, idx] @ coef[idx] for name, idx in design.groups().items()}

    def predict(self, data: MMMData, carry_in: np.ndarray | None = None) -> np.ndarray:
        """Predicted outcome. ``carry_in``: spend rows before ``data`` (None = no earlier spend;
        pass ``self.carry_in`` for the periods right after training)."""
        base = sum(self.base_components(data).values())
        return base + self.channel_contributions(data.spend, carry_in).sum(axis=1)

    def lift(
        self, channel: str, start_idx: int, end_idx: int, spend_change: float, spend: np.ndarray
    ) -> float:
        """Model-implied lift of a test (data.py): contribution over the window with the observed
        spend minus with ``spend_change`` removed in proportion to the observed spend."""
        c = self.channel_index(channel)
        x = np.asarray(spend, dtype=float)[:, c]
        window = slice(start_idx, end_idx + 1)
        x_off = reduced_spend(x, start_idx, end_idx, spend_change)
        on = self.channel_curve(c, x)[window].sum()
        off = self.channel_curve(c, x_off)[window].sum()
        return float(self.beta[c] * (on - off))

    def _plan_terms(self, horizon: int):
        key = ("plan", int(horizon))
        if key not in self._cache:
            n_lags, n_ch = self.max_lag, len(self.channels)
            n = horizon + n_lags - 1
            on = np.zeros(n)
            on[:horizon] = 1.0
            unit = np.empty((n, n_ch))
            carry = np.empty((n, n_ch))
            for c, (ad, _) in enumerate(self.curves()):
                w = ad.weights(self.curve_params(c)[0], n_lags)
                unit[:, c] = convolve_weights(on, w)
                carry[:, c] = convolve_weights(np.zeros(n), w, self.carry_in[:, c])
            groups = []
            for name in sorted(set(self.saturations)):
                idx = np.array([c for c, s in enumerate(self.saturations) if s == name])
                sat = get_saturation(name)
                params = [
                    np.array([self.curve_params(c)[1][k] for c in idx])
                    for k in range(len(sat.param_names))
                ]
                baseline = sat.apply(carry[:, idx], params).sum(axis=0)
                groups.append((idx, sat, params, baseline))
            self._cache[key] = (unit, carry, groups)
        return self._cache[key]

    def plan_response(self, levels: np.ndarray, horizon: int) -> np.ndarray:
        """(N, C) incremental contribution per channel of spending ``levels[n, c]`` per period for
        ``horizon`` periods after training (carry-in = training tail), summed over the horizon
        plus ``max_lag - 1`` carry-over periods, minus the same with zero new spend."""
        levels = np.asarray(levels, dtype=float)
        single = levels.ndim == 1
        levels = np.atleast_2d(levels)
        unit, carry, groups = self._plan_terms(int(horizon))
        out = np.empty(levels.shape)
        for idx, sat, params, baseline in groups:
            adstocked = levels[:, None, idx] * unit[None, :, idx] + carry[None, :, idx]
            out[:, idx] = (sat.apply(adstocked, params).sum(axis=1) - baseline) * self.beta[idx]
        return out[0] if single else out

    # ---- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (plain floats, lists, strings; NaN as None): what the registry stores."""
        lifts = None
        if self.lift_tests is not None:
            lifts = []
            for rec in self.lift_tests.to_dict("records"):
                lifts.append(
                    {
                        k: (
                            str(pd.Timestamp(v).date())
                            if k in ("start", "end")
                            else str(v)
                            if k == "channel"
                            else _jsonable(v)
                        )
                        for k, v in rec.items()
                    }
                )
        return {
            "format": "liftlab.mmm/1",
            "spec": self.spec.to_dict(),
            "channels": list(self.channels),
            "adstocks": list(self.adstocks),
            "saturations": list(self.saturations),
            "params": {
                ch: {k: float(v) for k, v in values.items()} for ch, values in self.params.items()
            },
            "beta": [float(b) for b in self.beta],
            "base_coefficients": {k: float(v) for k, v in self.base_coefficients.items()},
            "control_names": list(self.control_names),
            "sigma": float(self.sigma),
            "r2": float(self.r2),
            "start_date": str(np.datetime_as_string(np.datetime64(self.start_date, "s"))),
            "period_days": float(self.period_days),
            "n_train": int(self.n_train),
            "carry_in": np.asarray(self.carry_in, float).tolist(),
            "spend_scale": [float(v) for v in self.spend_scale],
            "recent_spend": [float(v) for v in self.recent_spend],
            "objective": float(self.objective),
            "start_objectives": [_jsonable(v) for v in self.start_objectives],
            "start_params": [[_jsonable(v) for v in row] for row in self.start_params],
            "lift_tests": lifts,
            "sigma_uncalibrated": (
                None if self.sigma_uncalibrated is None else float(self.sigma_uncalibrated)
            ),
            "success": bool(self.success),
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> FittedMMM:
        """Rebuild from :meth:`to_dict`; curve names are checked against the registries and the
        parameter names against each curve (a stored model is data, never code)."""
        try:
            spec = MMMSpec.from_dict(payload["spec"])
            channels = tuple(str(c) for c in payload["channels"])
            adstocks = tuple(str(a) for a in payload["adstocks"])
            saturations = tuple(str(s) for s in payload["saturations"])
            n_ch = len(channels)
            if len(adstocks) != n_ch or len(saturations) != n_ch:
                raise ConfigError("stored MMM has a curve list that does not match its channels")
            params: dict[str, dict[str, float]] = {}
            for ch, a, s in zip(channels, adstocks, saturations, strict=True):
                expected = (*get_adstock(a).param_names, *get_saturation(s).param_names)
                stored = payload["params"][ch]
                if set(stored) != set(expected):
                    raise ConfigError(
                        f"stored MMM parameters of channel {ch!r} are {sorted(stored)}, "
                        f"expected {sorted(expected)}"
                    )
                params[ch] = {k: float(stored[k]) for k in expected}
            beta = np.array(payload["beta"], dtype=float)
            if beta.shape != (n_ch,):
                raise ConfigError("stored MMM has a beta vector that does not match its channels")
            carry = np.array(payload["carry_in"], dtype=float).reshape(-1, n_ch)
            lifts = payload.get("lift_tests")
            lift_frame = None
            if lifts is not None:
                lift_frame = pd.DataFrame(lifts)
                for col in ("start", "end"):
                    if col in lift_frame:
                        lift_frame[col] = pd.to_datetime(lift_frame[col])
                for col in lift_frame.columns.difference(["channel", "start", "end"]):
                    lift_frame[col] = _floats(lift_frame[col].to_numpy(object))
            start_params = np.array(
                [_floats(row) for row in payload["start_params"]], dtype=float
            ).reshape(len(payload["start_params"]), -1)
            return cls(
                spec=spec,
                channels=channels,
                adstocks=adstocks,
                saturations=saturations,
                params=params,
                beta=beta,
                base_coefficients={
                    str(k): float(v) for k, v in payload["base_coefficients"].items()
                },
                control_names=tuple(str(c) for c in payload["control_names"]),
                sigma=float(payload["sigma"]),
                r2=float(payload["r2"]),
                start_date=np.datetime64(payload["start_date"], "ns"),
                period_days=float(payload["period_days"]),
                n_train=int(payload["n_train"]),
                carry_in=carry,
                spend_scale=np.array(payload["spend_scale"], dtype=float),
                recent_spend=np.array(payload["recent_spend"], dtype=float),
                objective=float(payload["objective"]),
                start_objectives=_floats(payload["start_objectives"]),
                start_params=start_params,
                lift_tests=lift_frame,
                sigma_uncalibrated=(
                    None
                    if payload.get("sigma_uncalibrated") is None
                    else float(payload["sigma_uncalibrated"])
                ),
                success=bool(payload.get("success", True)),
            )
        except KeyError as exc:
            raise ConfigError(f"stored MMM has no key {exc.args[0]!r}") from exc


# --------------------------------------------------------------------------------------------
# The variable-projection problem (scaled units)
# --------------------------------------------------------------------------------------------


def nonnegative_lstsq(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """argmin ‖a β − y‖ subject to β >= 0, exactly (QR-compress, then Lawson–Hanson NNLS)."""
    n_col = a.shape[1]
    r = np.linalg.qr(np.column_stack([a, y]), mode="r")
    k = min(r.shape[0], n_col)
    try:
        beta, _ = nnls(r[:k, :n_col], r[:k, n_col])
    except RuntimeError:  # iteration limit: fall back to the bounded-variable solver
        beta = lsq_linear(a, y, bounds=(0.0, np.inf), method="bvls").x
    return beta


@dataclass(frozen=True)
class _Layout:
    """Where each channel's curve parameters live in θ, with the (scaled) search bounds."""

    adstocks: list[Adstock]
    saturations: list[Saturation]
    ad_slices: list[slice]
    sat_slices: list[slice]
    lower: np.ndarray
    upper: np.ndarray
    owner: np.ndarray  # channel of each θ entry


def _layout(adstock_names, saturation_names, max_lag: int) -> _Layout:
    ads, sats, ad_sl, sat_sl, lower, upper, owner = [], [], [], [], [], [], []
    pos = 0
    for c, (a_name, s_name) in enumerate(zip(adstock_names, saturation_names, strict=True)):
        ad, sat = get_adstock(a_name), get_saturation(s_name)
        ads.append(ad)
        sats.append(sat)
        for part, bounds, slices in (
            (ad, ad.bounds(max_lag), ad_sl),
            (sat, sat.bounds(1.0), sat_sl),
        ):
            n = len(part.param_names)
            slices.append(slice(pos, pos + n))
            lower += [b[0] for b in bounds]
            upper += [b[1] for b in bounds]
            owner += [c] * n
            pos += n
    return _Layout(
        ads, sats, ad_sl, sat_sl, np.array(lower), np.array(upper), np.array(owner, dtype=int)
    )


class _Problem:
    """Profiled residual r(θ) = A(θ) β̂(θ) + B γ̂(θ) − y and its Kaufman Jacobian, scaled units.

    Rows: T data periods, then one row per lift test (weighted). Base columns are projected out
    once (QR of B); everything per θ is numpy on (T + n_tests) × C arrays.
    """

    def __init__(self, xs, ys, base, layout: _Layout, max_lag: int, lifts=None):
        self.xs, self.ys, self.layout, self.max_lag = xs, ys, layout, max_lag
        self.n_periods, self.n_channels = xs.shape
        self.q_base, self.r_base = np.linalg.qr(base)
        lifts = lifts or []
        self.lifts = lifts  # list of (c, w0, w1, seg_lo, reduced_segment, weight, target)
        self.n_lift = len(lifts)
        self.tests_of = [
            np.array([i for i, lt in enumerate(lifts) if lt[0] == c], dtype=int)
            for c in range(self.n_channels)
        ]
        self.lift_channel = np.array([lt[0] for lt in lifts], dtype=int)
        self.lift_weight = np.array([lt[5] for lt in lifts], dtype=float)
        target = np.array([lt[6] for lt in lifts], dtype=float)
        self.y_tilde = np.concatenate([ys - self.q_base @ (self.q_base.T @ ys), target])
        self._key: bytes | None = None
        self._state = None
        self._adstocked: dict[int, tuple] = {}

    def channel(self, c: int, theta: np.ndarray, store: bool = False):
        """sat(adstock(x_c)) (T,) and the lift features of channel c's tests.

        The adstocked series of the current θ is kept (``store``), so the Jacobian's
        saturation-parameter steps only re-run the saturation."""
        ly = self.layout
        sat = ly.saturations[c]
        p_ad = theta[ly.ad_slices[c]]
        key = p_ad.tobytes()
        cached = self._adstocked.get(c)
        if cached is not None and cached[0] == key:
            adstocked, segments = cached[1], cached[2]
        else:
            weights = ly.adstocks[c].weights(p_ad, self.max_lag)
            adstocked = convolve_weights(self.xs[:, c], weights)
            segments = [
                convolve_weights(self.lifts[i][4], weights)[self.lifts[i][1] - self.lifts[i][3] :]
                for i in self.tests_of[c]
            ]
            if store:
                self._adstocked[c] = (key, adstocked, segments)
        p_sat = theta[ly.sat_slices[c]]
        f = sat.apply(adstocked, p_sat)
        lf = np.empty(len(segments))
        for k, (i, segment) in enumerate(zip(self.tests_of[c], segments, strict=True)):
            w0, w1 = self.lifts[i][1], self.lifts[i][2]
            lf[k] = f[w0 : w1 + 1].sum() - sat.apply(segment, p_sat).sum()
        return f, lf

    def evaluate(self, theta: np.ndarray):
        key = theta.tobytes()
        if key == self._key:
            return self._state
        n_t, n_c = self.n_periods, self.n_channels
        feats = np.empty((n_t, n_c))
        lift_feats = np.zeros(self.n_lift)
        for c in range(n_c):
            feats[:, c], lf = self.channel(c, theta, store=True)
            lift_feats[self.tests_of[c]] = lf
        a = np.zeros((n_t + self.n_lift, n_c))
        a[:n_t] = feats - self.q_base @ (self.q_base.T @ feats)
        if self.n_lift:
            a[n_t + np.arange(self.n_lift), self.lift_channel] = self.lift_weight * lift_feats
        beta = nonnegative_lstsq(a, self.y_tilde)
        resid = a @ beta - self.y_tilde
        self._key, self._state = key, (feats, lift_feats, a, beta, resid)
        return self._state

    def residual(self, theta: np.ndarray) -> np.ndarray:
        return self.evaluate(theta)[4]

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        feats, lift_feats, a, beta, _ = self.evaluate(theta)
        n_t, ly = self.n_periods, self.layout
        jac = np.zeros((n_t + self.n_lift, len(theta)))
        free = beta > 0
        if not free.any():
            return jac
        for j in range(len(theta)):
            c = ly.owner[j]
            if not free[c]:
                continue  # an inactive channel's curve does not move the residual
            step = _FD_STEP * max(1.0, abs(theta[j]))
            if theta[j] + step > ly.upper[j]:
                step = -step
            moved = theta.copy()
            moved[j] += step
            f2, lf2 = self.channel(c, moved)
            jac[:n_t, j] = (f2 - feats[:, c]) * (beta[c] / step)
            tests = self.tests_of[c]
            if len(tests):
                jac[n_t + tests, j] = (
                    self.lift_weight[tests] * (lf2 - lift_feats[tests]) * (beta[c] / step)
                )
        jac[:n_t] -= self.q_base @ (self.q_base.T @ jac[:n_t])
        q_free, _ = np.linalg.qr(a[:, free])
        jac -= q_free @ (q_free.T @ jac)
        return jac

    def base_coefficients(self, theta: np.ndarray) -> np.ndarray:
        feats, _, _, beta, _ = self.evaluate(theta)
        rhs = self.q_base.T @ (self.ys - feats @ beta)
        return np.linalg.solve(self.r_base, rhs)


def _starts(layout: _Layout, n: int, seed: int, first: list[np.ndarray]) -> list[np.ndarray]:
    """``first`` (warm starts) then Latin-hypercube points inside the bounds, log-uniform for
    wide positive ranges (half-saturation, lam) so small and large scales are both tried."""
    starts = [np.clip(x, layout.lower, layout.upper) for x in first][:n]
    n_more = n - len(starts)
    if n_more > 0:
        u = qmc.LatinHypercube(d=len(layout.lower), seed=seed).random(n_more)
        lo, hi = layout.lower, layout.upper
        safe_lo = np.where(lo > 0, lo, 1.0)
        log = (lo > 0) & (hi / safe_lo > 20)
        lin = lo + u * (hi - lo)
        ratio = np.where(log, hi / safe_lo, 1.0)
        geo = np.exp(np.log(np.where(log, lo, 1.0)) + u * np.log(ratio))
        starts += list(np.where(log, geo, lin))
    return starts


def _run(problem: _Problem, x0: np.ndarray, max_nfev: int, tol: float):
    layout = problem.layout
    return least_squares(
        problem.residual,
        x0,
        jac=problem.jacobian,
        bounds=(layout.lower, layout.upper),
        method="trf",
        ftol=tol,
        xtol=tol,
        gtol=tol,
        max_nfev=max_nfev,
        x_scale="jac",
    )


def _solve(problem: _Problem, starts: list[np.ndarray], budget: tuple[int, int, float]):
    """least_squares from every start with a small budget (a slow crawl along a flat valley is
    stopped early), then the best one polished to tight tolerance. Returns (best θ,
    objectives, final θs, converged)."""
    explore_nfev, polish_nfev, tol = budget
    objectives, thetas = [], []
    for x0 in starts:
        try:
            res = _run(problem, x0, explore_nfev, tol)
        except (ValueError, np.linalg.LinAlgError):
            objectives.append(np.nan)
            thetas.append(np.full(len(x0), np.nan))
            continue
        objectives.append(float(res.cost))
        thetas.append(res.x)
    objectives_arr = np.array(objectives)
    if np.all(np.isnan(objectives_arr)):
        raise InputDataError("the marketing-mix fit failed from every start")
    best = int(np.nanargmin(objectives_arr))
    theta, converged = thetas[best], True
    if polish_nfev <= 0:
        return theta, objectives_arr, np.array(thetas), True
    try:
        res = _run(problem, theta, polish_nfev, tol)
        if res.cost <= objectives_arr[best]:
            theta, converged = res.x, bool(res.status > 0)
            objectives_arr[best] = float(res.cost)
            thetas[best] = res.x
    except (ValueError, np.linalg.LinAlgError):
        converged = False
    return theta, objectives_arr, np.array(thetas), converged


# --------------------------------------------------------------------------------------------
# fit_mmm
# --------------------------------------------------------------------------------------------


def _check_data(data: MMMData, n_params: int) -> None:
    if data.n_periods < n_params + 2:
        raise InputDataError(
            f"the marketing-mix data has {data.n_periods} periods for {n_params} parameters; "
            "it needs more periods (or fewer channels, Fourier terms or controls)"
        )
    if not np.all(np.isfinite(data.y)):
        raise InputDataError("the marketing-mix outcome has missing or infinite values")
    if not np.all(np.isfinite(data.spend)) or np.any(data.spend < 0):
        bad = np.flatnonzero(~np.all(np.isfinite(data.spend) & (data.spend >= 0), axis=0))
        raise InputDataError(
            f"spend of channel {data.channels[bad[0]]!r} has negative or missing values"
        )


def _scales(data: MMMData):
    spend_scale = np.ones(data.spend.shape[1])
    for c in range(data.spend.shape[1]):
        positive = data.spend[:, c][data.spend[:, c] > 0]
        if len(positive):
            spend_scale[c] = positive.mean()
    y_scale = float(np.mean(np.abs(data.y))) or 1.0
    ctrl_scale = np.max(np.abs(data.controls), axis=0) if data.controls.shape[1] else np.ones(0)
    ctrl_scale = np.where(ctrl_scale > 0, ctrl_scale, 1.0)
    return spend_scale, y_scale, ctrl_scale


def _theta_from_fit(fitted: FittedMMM, layout: _Layout, spend_scale: np.ndarray) -> np.ndarray:
    theta = np.empty(len(layout.lower))
    for c, channel in enumerate(fitted.channels):
        ad, sat = layout.adstocks[c], layout.saturations[c]
        values = fitted.params[channel]
        theta[layout.ad_slices[c]] = [values[p] for p in ad.param_names]
        theta[layout.sat_slices[c]] = sat.rescale(
            [values[p] for p in sat.param_names], float(spend_scale[c])
        )
    return theta


def _original_params(theta: np.ndarray, layout: _Layout, spend_scale: np.ndarray):
    """θ (scaled) → per-channel dicts and a flat row, original units."""
    params, flat = [], []
    for c in range(len(layout.adstocks)):
        ad, sat = layout.adstocks[c], layout.saturations[c]
        p_ad = [float(v) for v in theta[layout.ad_slices[c]]]
        p_sat = sat.rescale(list(theta[layout.sat_slices[c]]), 1.0 / float(spend_scale[c]))
        params.append(dict(zip((*ad.param_names, *sat.param_names), p_ad + p_sat, strict=True)))
        flat += p_ad + p_sat
    return params, np.array(flat)


def fit_mmm(
    data: MMMData,
    spec: MMMSpec,
    lift_tests: pd.DataFrame | None = None,
    *,
    init: FittedMMM | None = None,
    n_starts: int | None = None,
) -> FittedMMM:
    """Fit the MMM by variable projection (see the module docstring).

    ``init``: a fitted model whose θ is the first start (bootstrap draws and CV folds warm-start
    from the point fit); with lift tests, its ``sigma_uncalibrated`` is reused so a warm refit
    skips the uncalibrated pass. ``n_starts``: starts in total (``init`` counts as one).
    """
    adstock_names = spec.adstocks_for(data.channels)
    saturation_names = spec.saturations_for(data.channels)
    layout = _layout(adstock_names, saturation_names, int(spec.max_lag))
    period_days = data.period_days()
    design = base_design_for(
        data.dates,
        period_days,
        trend=spec.trend,
        fourier_order=int(spec.fourier_order),
        control_names=data.control_names,
    )
    n_params = len(design.names) + len(data.channels) + len(layout.lower)
    _check_data(data, n_params)
    tests = parse_lift_tests(lift_tests, data)
    n_starts = int(spec.n_starts if n_starts is None else n_starts)

    spend_scale, y_scale, ctrl_scale = _scales(data)
    xs = data.spend / spend_scale
    ys = data.y / y_scale
    base = design.matrix(data.dates, data.controls)
    n_controls = len(data.control_names)
    if n_controls:
        base[:, -n_controls:] /= ctrl_scale
    n_theta = len(layout.lower)
    # A warm refit (bootstrap draw, CV fold) starts next to its optimum: a looser tolerance and
    # no separate polish keep 200 draws to seconds; the point fit is polished to 1e-10.
    budget = (
        (8 * n_theta, 40 * n_theta, 1e-10)
        if init is None or n_starts > 2
        else (6 * n_theta, 0, 1e-6)
    )

    warm = [] if init is None else [_theta_from_fit(init, layout, spend_scale)]
    starts = _starts(layout, n_starts, int(spec.seed), warm)

    def build(problem: _Problem, theta, objectives, thetas, ok) -> FittedMMM:
        feats, _, _, beta_s, resid = problem.evaluate(theta)
        gamma_s = problem.base_coefficients(theta)
        params, _ = _original_params(theta, layout, spend_scale)
        ssr = float(resid[: data.n_periods] @ resid[: data.n_periods])
        sst = float(((ys - ys.mean()) ** 2).sum())
        gamma = gamma_s * y_scale
        if n_controls:
            gamma[-n_controls:] /= ctrl_scale
        n_recent = int(np.clip(round(_RECENT_DAYS / period_days), 1, data.n_periods))
        return FittedMMM(
            spec=spec,
            channels=data.channels,
            adstocks=adstock_names,
            saturations=saturation_names,
            params=dict(zip(data.channels, params, strict=True)),
            beta=beta_s * y_scale,
            base_coefficients=dict(zip(design.names, map(float, gamma), strict=True)),
            control_names=data.control_names,
            sigma=math.sqrt(ssr / max(data.n_periods - n_params, 1)) * y_scale,
            r2=1.0 - ssr / sst if sst > 0 else float("nan"),
            start_date=np.datetime64(data.dates[0], "ns"),
            period_days=period_days,
            n_train=data.n_periods,
            carry_in=data.spend[data.n_periods - (int(spec.max_lag) - 1) :].copy()
            if spec.max_lag > 1
            else np.zeros((0, len(data.channels))),
            spend_scale=spend_scale,
            recent_spend=data.spend[-n_recent:].mean(axis=0),
            objective=0.5 * float(resid @ resid),
            start_objectives=objectives,
            start_params=np.array(
                [_original_params(t, layout, spend_scale)[1] for t in thetas]
            ).reshape(len(thetas), -1),
            success=ok,
        )

    def lift_frame(fit: FittedMMM, uncal: FittedMMM | None) -> pd.DataFrame:
        frame = lift_tests.loc[:, list(LIFT_TEST_COLUMNS)].reset_index(drop=True).copy()
        frame["start"] = pd.to_datetime(frame["start"])
        frame["end"] = pd.to_datetime(frame["end"])
        for name, model in (("model_lift", fit), ("model_lift_uncalibrated", uncal)):
            frame[name] = [
                np.nan
                if model is None
                else model.lift(t.channel, t.start_idx, t.end_idx, t.spend_change, data.spend)
                for t in tests
            ]
        return frame

    uncal_fit = None
    if tests and init is not None and init.sigma_uncalibrated is not None:
        sigma_s = init.sigma_uncalibrated / y_scale
    else:
        plain = _Problem(xs, ys, base, layout, int(spec.max_lag))
        result = _solve(plain, starts, budget)
        uncal_fit = build(plain, *result)
        if not tests:
            return uncal_fit
        sigma_s = uncal_fit.sigma / y_scale
        starts = [result[0], *starts]

    weight = math.sqrt(float(spec.calibration_weight)) * sigma_s
    rows = []
    n_lags = int(spec.max_lag)
    for t in tests:
        c = t.channel_index
        x_off = reduced_spend(xs[:, c], t.start_idx, t.end_idx, t.spend_change / spend_scale[c])
        seg_lo = max(0, t.start_idx - n_lags + 1)
        rows.append(
            (
                c,
                t.start_idx,
                t.end_idx,
                seg_lo,
                x_off[seg_lo : t.end_idx + 1],
                weight * y_scale / t.se,
                weight * t.measured / t.se,
            )
        )
    calibrated = _Problem(xs, ys, base, layout, n_lags, rows)
    fit = build(calibrated, *_solve(calibrated, starts, budget))
    fit.sigma_uncalibrated = sigma_s * y_scale
    fit.uncalibrated = uncal_fit
    fit.lift_tests = lift_frame(fit, uncal_fit)
    return fit
