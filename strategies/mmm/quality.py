"""Data-quality checks of a marketing-mix table, run by Great Expectations before any fit.

Why a separate suite: a marketing mix model reads a time series, so besides the usual column
checks (present, numeric, not null, spend >= 0) two properties decide whether a fit means
anything:

* **Regular dates.** Adstock carries spend from one period to the next; a missing week silently
  shifts every later carry-over by one period. GE has no "regular time series" expectation, so
  we derive one column per row, ``<date>_gap_days`` (days since the previous date, in date
  order; empty for the first row), and expect it in ``{7}`` for weekly or ``{1}`` for daily
  data. The period is inferred from the median gap, so a few irregular rows cannot change it;
  a failure lists the offending rows and their dates (a gap of 14 is a missing week, 0 a
  repeated date).
* **Enough periods per parameter.** Each channel costs 3-5 parameters (adstock, saturation, β)
  and the base several more; with fewer than ``5 x n_parameters`` periods the fit chases noise.
  This is GE's table row-count expectation with a message saying how many periods are needed.

Bad data never raises here: :func:`validate_mmm` returns the
:class:`~strategies.validation.ValidationReport` (``raise_for_failures`` gates a pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from strategies.errors import ConfigError
from strategies.validation import ValidationReport, ValidationRules, validate

__all__ = [
    "PERIODS_PER_PARAMETER",
    "build_mmm_rules",
    "count_mmm_parameters",
    "date_gaps",
    "gap_column",
    "infer_period_days",
    "validate_mmm",
]

#: Minimum periods per model parameter below which the run stops: the fit is still defined but
#: chases noise. Between this and 5 per parameter the report warns instead
#: (:data:`strategies.mmm.diagnostics.PERIODS_PER_PARAMETER`), so two years of weekly data for
#: six channels (104 weeks, 31 parameters) runs, with a warning.
PERIODS_PER_PARAMETER = 3

_ADSTOCK_PARAMETERS = {"geometric": 1, "weibull": 2}  # alpha; shape, scale
_SATURATION_PARAMETERS = {"hill": 2, "logistic": 1}  # slope, half_saturation; lam


def gap_column(date_column: str) -> str:
    """Name of the derived column holding the days since the previous date."""
    return f"{date_column}_gap_days"


def count_mmm_parameters(
    adstocks: Sequence[str],
    saturations: Sequence[str],
    *,
    n_controls: int,
    trend: bool = True,
    fourier_order: int = 2,
) -> int:
    """Parameters a fit estimates: per channel its adstock and saturation parameters and β,
    plus intercept, trend, ``2 x fourier_order`` seasonal terms and one per control."""
    if len(adstocks) != len(saturations):
        raise ConfigError(
            f"one adstock and one saturation per channel: got {len(adstocks)} adstock(s) and "
            f"{len(saturations)} saturation(s)"
        )
    total = 1 + int(bool(trend)) + 2 * int(fourier_order) + int(n_controls)
    for adstock, saturation in zip(adstocks, saturations, strict=True):
        if adstock not in _ADSTOCK_PARAMETERS:
            raise ConfigError(
                f"unknown adstock {adstock!r}; choose one of {sorted(_ADSTOCK_PARAMETERS)}"
            )
        if saturation not in _SATURATION_PARAMETERS:
            raise ConfigError(
                f"unknown saturation {saturation!r}; choose one of {sorted(_SATURATION_PARAMETERS)}"
            )
        total += _ADSTOCK_PARAMETERS[adstock] + _SATURATION_PARAMETERS[saturation] + 1
    return total


def date_gaps(dates: pd.Series) -> pd.Series:
    """Days since the previous date in date order, aligned with ``dates`` (NaN for the first
    date and for values that are not dates). Time zones are dropped (local wall time), so a
    daylight-saving change does not make a week 6.96 days long."""
    parsed = pd.to_datetime(dates, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    order = np.argsort(parsed.to_numpy(), kind="stable")
    ordered = parsed.iloc[order]
    gaps = ordered.diff() / pd.Timedelta(days=1)
    out = pd.Series(np.nan, index=dates.index, dtype=float)
    out.iloc[order] = gaps.to_numpy(dtype=float)
    return out


def infer_period_days(dates: pd.Series) -> int:
    """The period length in whole days: the median positive gap between consecutive dates
    (7 for weekly, 1 for daily data); 7 when there are too few dates to tell."""
    gaps = date_gaps(dates)
    positive = gaps[gaps > 0]
    if positive.empty:
        return 7
    return max(1, int(round(float(positive.median()))))


def build_mmm_rules(
    date_column: str,
    outcome_column: str,
    channel_columns: Sequence[str],
    control_columns: Sequence[str],
    n_parameters: int,
    *,
    period_days: int = 7,
    periods_per_parameter: int = PERIODS_PER_PARAMETER,
) -> ValidationRules:
    """The marketing-mix suite (module docstring). The regular-dates rule runs on the derived
    :func:`gap_column`, which :func:`validate_mmm` adds before validating."""
    if not channel_columns:
        raise ConfigError("the marketing-mix config names no channel (spend) column")
    if isinstance(n_parameters, bool) or not isinstance(n_parameters, int) or n_parameters < 1:
        raise ConfigError(f"n_parameters must be a whole number >= 1, got {n_parameters!r}")
    if not isinstance(period_days, int) or period_days < 1:
        raise ConfigError(f"period_days must be a whole number >= 1, got {period_days!r}")
    channels, controls = list(channel_columns), list(control_columns)
    label = {7: "weekly", 1: "daily"}.get(period_days, f"every {period_days} days")
    gap = gap_column(date_column)
    needed = periods_per_parameter * n_parameters
    return ValidationRules(
        required_columns=_dedupe([date_column, outcome_column, *channels, *controls]),
        numeric_columns=_dedupe([outcome_column, *channels, *controls]),
        non_negative_columns=_dedupe(channels),
        not_null_columns=_dedupe([date_column, outcome_column, *channels, *controls]),
        unique_columns=(date_column,),
        row_values_in_set={gap: (period_days,)},
        row_values_notes={
            gap: (
                f"dates in '{date_column}' must be regular: {period_days} day(s) after the "
                f"previous date ({label}, inferred from the median gap); the rows listed "
                f"break it (a longer gap is a missing period, 0 a repeated date)"
            )
        },
        min_rows=needed,
        min_rows_reason=(
            f"{needed} periods = {periods_per_parameter} per model parameter x {n_parameters} "
            f"parameters (adstock, saturation and beta per channel plus the base terms); with "
            f"fewer the fit chases noise (use more periods, or fewer channels, controls or "
            f"Fourier terms)"
        ),
    )


def validate_mmm(
    frame: pd.DataFrame,
    *,
    date_column: str,
    outcome_column: str,
    channel_columns: Sequence[str],
    control_columns: Sequence[str] = (),
    n_parameters: int,
    periods_per_parameter: int = PERIODS_PER_PARAMETER,
) -> ValidationReport:
    """Run the marketing-mix suite on ``frame``. Rows are numbered 0.. in table order; a failed
    regular-dates rule lists each offending row with its date and gap."""
    table = frame.reset_index(drop=True)
    has_dates = date_column in table.columns
    period = infer_period_days(table[date_column]) if has_dates else 7
    rules = build_mmm_rules(
        date_column,
        outcome_column,
        channel_columns,
        control_columns,
        n_parameters,
        period_days=period,
        periods_per_parameter=periods_per_parameter,
    )
    gap = gap_column(date_column)
    if has_dates:
        if gap in table.columns:
            raise ConfigError(f"column {gap!r} is reserved for the derived gap between dates")
        table = table.assign(**{gap: date_gaps(table[date_column])})
    else:  # the missing date column is reported by its own rule
        rules = rules.without_columns([gap])
    report = validate(table, rules)
    for outcome in report.outcomes:
        if outcome.column == gap and outcome.unexpected_examples:
            outcome.unexpected_examples = [
                {"row": ex["row"], date_column: _date_text(table[date_column].iloc[ex["row"]]),
                 "days_after_previous": ex[gap]}
                for ex in outcome.unexpected_examples
            ]  # fmt: skip
    return report


def _date_text(value: object) -> str:
    stamp = pd.to_datetime(value, errors="coerce")
    return str(value) if pd.isna(stamp) else stamp.isoformat().removesuffix("T00:00:00")


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
