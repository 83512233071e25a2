"""The marketing-mix input every MMM module shares, and the conventions they all follow.

Why one module: the simulator, the fit, the calibration, the optimiser and the report must agree
on what a number means. These conventions are the contract (README "Marketing mix" repeats them).

Model
-----
For periods ``t = 0..T-1`` (weekly or daily, regular) and channels ``c``::

    y_t = base_t + sum_c beta_c * sat_c(adstock_c(spend_c)_t) + noise_t
    base_t = intercept + trend * (t / (T - 1)) + Fourier(t; order, period) + controls_t @ gamma

* **Adstock** spreads spend over ``max_lag`` periods with weights that **sum to 1**, so an adstocked
  series is still in spend units (a constant spend ``s`` has adstock ``s`` in steady state). Spend
  before the first period is 0 unless a carry-in is given.

  - ``geometric``: ``w_l ∝ alpha**l`` for ``l = 0..max_lag-1``; ``alpha`` in [0, 0.95].
  - ``weibull`` (delayed peak): ``w_l ∝ ((l+1)/scale)**(shape-1) * exp(-((l+1)/scale)**shape)``;
    ``shape`` in [0.5, 5], ``scale`` (periods) in [0.5, max_lag].

* **Saturation** maps adstocked spend (spend units) to [0, 1):

  - ``hill``: ``x**slope / (x**slope + half_saturation**slope)``; ``slope`` in [0.5, 4];
    ``half_saturation`` in spend units per period (the adstocked spend giving half the maximum).
  - ``logistic``: ``(1 - exp(-lam * x)) / (1 + exp(-lam * x))``; ``lam`` per spend unit.

* ``beta_c >= 0`` is the channel's contribution per period at full saturation (outcome units).

**Contribution** (the one definition every output uses): the channel's contribution over a window
is the outcome the model predicts with the observed spend minus the outcome it predicts with that
channel's spend set to 0 over the window (all else unchanged), in outcome units. With additive
channels this equals ``sum_t beta_c * sat_c(adstock_c(spend_c)_t)`` over the window.
**ROAS** = contribution / spend over the window. **Marginal ROAS** = d(contribution)/d(spend)
when the channel's spend in every period of the window is scaled by ``(1 + h)``, per unit spend.

Lift tests (calibration)
------------------------
A lift test measured the outcome caused by ``spend_change`` (> 0, spend units) of one channel's
spend during ``[start, end]`` (inclusive dates; that spend is part of the observed spend in those
periods). The model-implied lift is ``sum_{t in [start, end]} (contribution_c with observed spend -
contribution_c with the period's spend reduced by spend_change, spread in proportion to the
observed spend)``. A go-dark test of the whole channel has ``spend_change`` = the channel's spend
in the period. Columns: :data:`LIFT_TEST_COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.errors import InputDataError

LIFT_TEST_COLUMNS: tuple[str, ...] = (
    "channel",
    "start",
    "end",
    "spend_change",
    "incremental_outcome",
    "se",
)


@dataclass(frozen=True)
class MMMData:
    """A regular time series of outcome, spend per channel and controls (numpy arrays)."""

    dates: np.ndarray  # datetime64[ns], shape (T,), strictly increasing, regular
    y: np.ndarray  # float, shape (T,)
    spend: np.ndarray  # float, shape (T, C), >= 0
    controls: np.ndarray  # float, shape (T, K) (K may be 0)
    channels: tuple[str, ...]
    control_names: tuple[str, ...]

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[0])

    def slice(self, start: int, stop: int) -> MMMData:
        """Periods ``start:stop`` (a contiguous window, e.g. a CV fold)."""
        return MMMData(
            dates=self.dates[start:stop],
            y=self.y[start:stop],
            spend=self.spend[start:stop],
            controls=self.controls[start:stop],
            channels=self.channels,
            control_names=self.control_names,
        )

    def with_outcome(self, y: np.ndarray) -> MMMData:
        """The same periods, spend and controls with another outcome (a bootstrap draw)."""
        return MMMData(
            self.dates,
            np.asarray(y, float),
            self.spend,
            self.controls,
            self.channels,
            self.control_names,
        )

    def period_days(self) -> float:
        """Length of one period in days (7 for weekly data, 1 for daily)."""
        if self.n_periods < 2:
            return 7.0
        return float(np.median(np.diff(self.dates).astype("timedelta64[s]").astype(float)) / 86400)


def mmm_data_from_frame(
    frame: pd.DataFrame,
    *,
    date_column: str,
    outcome_column: str,
    channel_columns: list[str] | tuple[str, ...],
    control_columns: list[str] | tuple[str, ...] = (),
    channel_names: list[str] | tuple[str, ...] | None = None,
) -> MMMData:
    """Build :class:`MMMData` from a table, sorted by date; errors name the column.

    Structural problems (a missing column, non-numeric values, missing values) fail here; data
    quality (regular, unique dates; spend >= 0; enough periods per parameter) is the Great
    Expectations suite's job, which runs before this. ``channel_names`` name the channels (in
    the order of ``channel_columns``); by default the spend columns name them.
    """
    if channel_names is not None and len(channel_names) != len(channel_columns):
        raise InputDataError(
            f"{len(channel_names)} channel names for {len(channel_columns)} spend columns"
        )
    names = [date_column, outcome_column, *channel_columns, *control_columns]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InputDataError(
            f"the marketing-mix table has no column {missing[0]!r}; "
            f"columns are {list(map(str, frame.columns))}"
        )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InputDataError(
            f"column {duplicated[0]!r} is given two roles in the marketing-mix config"
        )
    if not channel_columns:
        raise InputDataError("the marketing-mix config names no channel (spend) column")
    dates = pd.to_datetime(frame[date_column], errors="coerce")
    if dates.isna().any():
        raise InputDataError(
            f"column {date_column!r} has {int(dates.isna().sum())} value(s) that are not dates"
        )
    numeric = {}
    for name in [outcome_column, *channel_columns, *control_columns]:
        values = pd.to_numeric(frame[name], errors="coerce")
        bad = int(values.isna().sum())
        if bad:
            raise InputDataError(f"column {name!r} has {bad} missing or non-numeric value(s)")
        numeric[name] = values.to_numpy(float)
    order = np.argsort(dates.to_numpy(), kind="stable")
    spend = np.column_stack([numeric[c][order] for c in channel_columns])
    controls = (
        np.column_stack([numeric[c][order] for c in control_columns])
        if control_columns
        else np.zeros((len(frame), 0))
    )
    return MMMData(
        dates=dates.to_numpy()[order].astype("datetime64[ns]"),
        y=numeric[outcome_column][order],
        spend=spend,
        controls=controls,
        channels=tuple(str(c) for c in (channel_names or channel_columns)),
        control_names=tuple(str(c) for c in control_columns),
    )
