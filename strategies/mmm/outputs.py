"""From a point fit and its bootstrap draws to the tables of :mod:`strategies.mmm.result`.

Pure functions: every number is computed here once, by the definitions of
:mod:`strategies.mmm.data` (contribution = prediction with observed spend minus with the channel
off over the window; ROAS = contribution / spend; marginal ROAS = the derivative when the
channel's spend in every period of the window is scaled by ``1 + h``, by a central difference).
Point estimates come from the point fit, intervals are percentiles over the draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from strategies.mmm.data import MMMData
from strategies.mmm.fit import FittedMMM
from strategies.mmm.result import (
    CONTRIBUTION_COLUMNS,
    PARAMETER_COLUMNS,
    RESPONSE_CURVE_COLUMNS,
    ROI_COLUMNS,
)

MROAS_STEP = 1e-4  # relative spend change of the central difference


def _interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0 (NaN when there are no draws)."""
    if len(samples) == 0:
        nan = np.full(np.shape(samples)[1:], np.nan)
        return nan, nan.copy()
    tail = 50.0 * (1.0 - level)
    low, high = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
    return low, high


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def channel_summary(model: FittedMMM, spend: np.ndarray) -> dict[str, np.ndarray]:
    """Contribution, share, ROAS and marginal ROAS per channel over the window ``spend``."""
    contribution = model.channel_contributions(spend).sum(axis=0)
    total_spend = spend.sum(axis=0)
    # channels are additive: scaling every column at once moves each channel alone
    up = model.channel_contributions(spend * (1 + MROAS_STEP)).sum(axis=0)
    down = model.channel_contributions(spend * (1 - MROAS_STEP)).sum(axis=0)
    total = contribution.sum()
    return {
        "contribution": contribution,
        "share": contribution / total if total > 0 else np.full_like(contribution, np.nan),
        "roas": _ratio(contribution, total_spend),
        "mroas": _ratio(up - down, 2 * MROAS_STEP * total_spend),
    }


def roi_table(
    point: FittedMMM,
    draws: Sequence[FittedMMM],
    data: MMMData,
    level: float = 0.9,
    uncalibrated: FittedMMM | None = None,
) -> pd.DataFrame:
    """One row per channel over the data's whole window (:data:`ROI_COLUMNS`).

    ``uncalibrated``: the fit without lift tests (default: the one the calibrated fit kept);
    without it the uncalibrated columns are NaN.
    """
    spend = np.asarray(data.spend, dtype=float)
    est = channel_summary(point, spend)
    sampled = [channel_summary(d, spend) for d in draws]
    frame = pd.DataFrame({"channel": list(point.channels), "spend": spend.sum(axis=0)})
    for key in ("contribution", "share", "roas", "mroas"):
        values = np.array([s[key] for s in sampled]).reshape(len(sampled), len(point.channels))
        low, high = _interval(values, level)
        frame[key] = est[key]
        frame[f"{key}_ci_low"] = low
        frame[f"{key}_ci_high"] = high
    uncalibrated = uncalibrated if uncalibrated is not None else point.uncalibrated
    if uncalibrated is not None:
        frame["roas_uncalibrated"] = channel_summary(uncalibrated, spend)["roas"]
    else:
        frame["roas_uncalibrated"] = np.nan
    frame["roas_calibration_shift"] = frame["roas"] - frame["roas_uncalibrated"]
    frame["adstock"] = list(point.adstocks)
    frame["saturation"] = list(point.saturations)
    return frame.loc[:, list(ROI_COLUMNS)]


def contribution_table(
    point: FittedMMM, draws: Sequence[FittedMMM], data: MMMData, level: float = 0.9
) -> pd.DataFrame:
    """Decomposition per period, long form (:data:`CONTRIBUTION_COLUMNS`); channel rows carry
    percentile intervals over the draws, base rows do not."""
    dates = pd.to_datetime(data.dates)
    per_period = point.channel_contributions(data.spend)
    sampled = np.array([d.channel_contributions(data.spend) for d in draws]).reshape(
        len(draws), *per_period.shape
    )
    low, high = _interval(sampled, level)
    parts = []
    for c, channel in enumerate(point.channels):
        parts.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "component": channel,
                    "kind": "channel",
                    "contribution": per_period[:, c],
                    "ci_low": low[:, c],
                    "ci_high": high[:, c],
                }
            )
        )
    for name, values in point.base_components(data).items():
        kind = name if name in ("baseline", "seasonality") else "control"
        parts.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "component": name,
                    "kind": kind,
                    "contribution": values,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                }
            )
        )
    return pd.concat(parts, ignore_index=True).loc[:, list(CONTRIBUTION_COLUMNS)]


def _near_bound(estimate: float, lower: float, upper: float) -> bool:
    if np.isfinite(lower) and np.isfinite(upper):
        tol = 1e-3 * (upper - lower)
        return bool(estimate - lower <= tol or upper - estimate <= tol)
    return False


def parameter_table(
    point: FittedMMM, draws: Sequence[FittedMMM], level: float = 0.9
) -> pd.DataFrame:
    """Every fitted parameter with interval and search bounds (:data:`PARAMETER_COLUMNS`).

    ``at_bound`` for a curve parameter: within 1e-3 of its range from a bound; for ``beta``:
    exactly 0 up to rounding (the non-negativity constraint is active)."""
    rows = []
    bounds = point.parameter_bounds()
    beta_tol = 1e-9 * max(1.0, float(np.max(np.abs(point.beta), initial=0.0)))
    for c, channel in enumerate(point.channels):
        for name, value in point.params[channel].items():
            lower, upper = bounds[channel][name]
            samples = np.array([d.params[channel][name] for d in draws])
            rows.append(
                (channel, name, value, samples, lower, upper, _near_bound(value, lower, upper))
            )
        samples = np.array([d.beta[c] for d in draws])
        beta = float(point.beta[c])
        rows.append((channel, "beta", beta, samples, 0.0, np.inf, beta <= beta_tol))
    for name, value in point.base_coefficients.items():
        samples = np.array([d.base_coefficients.get(name, np.nan) for d in draws])
        rows.append(("", name, value, samples, -np.inf, np.inf, False))
    records = []
    for channel, name, value, samples, lower, upper, at_bound in rows:
        low, high = _interval(samples.reshape(-1, 1), level)
        records.append(
            {
                "channel": channel,
                "parameter": name,
                "estimate": float(value),
                "ci_low": float(low[0]),
                "ci_high": float(high[0]),
                "lower_bound": float(lower),
                "upper_bound": float(upper),
                "at_bound": bool(at_bound),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(PARAMETER_COLUMNS))


def response_grid(point: FittedMMM, n_points: int = 50, max_multiple: float = 2.0) -> np.ndarray:
    """(n_points, C) spend levels per period: 0 to ``max_multiple`` × each channel's recent
    average spend (its mean positive spend if it has been dark recently)."""
    reference = np.where(point.recent_spend > 0, point.recent_spend, point.spend_scale)
    return np.linspace(0.0, 1.0, n_points)[:, None] * (max_multiple * reference)[None, :]


def response_curve_table(
    point: FittedMMM,
    draws: Sequence[FittedMMM],
    horizon: int,
    n_points: int = 50,
    max_multiple: float = 2.0,
    level: float = 0.9,
) -> pd.DataFrame:
    """Expected incremental outcome per period for a constant spend per period, over the
    planning horizon including carry-over, divided by the horizon
    (:data:`RESPONSE_CURVE_COLUMNS`)."""
    grid = response_grid(point, n_points, max_multiple)
    response = point.plan_response(grid, horizon) / horizon
    sampled = np.array([d.plan_response(grid, horizon) / horizon for d in draws]).reshape(
        len(draws), *grid.shape
    )
    low, high = _interval(sampled, level)
    parts = [
        pd.DataFrame(
            {
                "channel": channel,
                "spend_per_period": grid[:, c],
                "response": response[:, c],
                "response_ci_low": low[:, c],
                "response_ci_high": high[:, c],
            }
        )
        for c, channel in enumerate(point.channels)
    ]
    return pd.concat(parts, ignore_index=True).loc[:, list(RESPONSE_CURVE_COLUMNS)]
