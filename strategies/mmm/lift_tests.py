"""Lift tests that calibrate a marketing mix model: read a user's table, turn liftlab's own
campaign experiments into lift tests, and warn when the tests are too small to help.

Why calibrate: a regression on observational spend credits a channel with whatever moves with
its spend (a demand shock that also raises search budgets). A lift test measured the outcome
caused by a known change of spend, so it pins the channel's effect down. Semantics (columns
:data:`~strategies.mmm.data.LIFT_TEST_COLUMNS`, inclusive dates, ``spend_change`` > 0 is part
of the observed spend) are those of :mod:`strategies.mmm.data`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from strategies.errors import ConfigError, InputDataError
from strategies.mmm.data import LIFT_TEST_COLUMNS, MMMData

__all__ = [
    "SMALL_TEST_SHARE",
    "lift_tests_from_campaign_summary",
    "read_lift_tests",
    "small_test_warnings",
]

#: A test whose spend change is below this share of the channel's spend in the test period is
#: "small": it measures a local slope, not the channel's whole effect.
SMALL_TEST_SHARE = 0.5

_ALL = "all"  # the whole-campaign row of gold_campaign_summary


def _dates(values: pd.Series) -> pd.Series:
    """Calendar dates (midnight, tz-naive; aware values keep their local date)."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize()


def read_lift_tests(frame: pd.DataFrame, channels: Sequence[str] | None = None) -> pd.DataFrame:
    """Check and normalise a user-supplied lift-test table.

    Columns :data:`LIFT_TEST_COLUMNS` are required (others are kept after them); ``start`` and
    ``end`` become dates (``start <= end``), numbers become floats, ``spend_change`` and ``se``
    must be > 0, ``incremental_outcome`` finite, and ``channel`` one of ``channels`` when given.
    Errors name the row (0-based, in table order) and the column.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputDataError(f"lift tests must be a table, got {type(frame).__name__}")
    missing = [c for c in LIFT_TEST_COLUMNS if c not in frame.columns]
    if missing:
        raise InputDataError(
            f"the lift-test table has no column {missing[0]!r}; needed: {list(LIFT_TEST_COLUMNS)}"
            f", found: {list(map(str, frame.columns))}"
        )
    table = frame.reset_index(drop=True)
    out = pd.DataFrame(index=table.index)

    channel = table["channel"]
    blank = channel.isna() | (channel.astype(str).str.strip() == "")
    _fail_first(blank, "channel", "is empty", table)
    out["channel"] = channel.astype(str).str.strip()
    if channels is not None:
        known = [str(c) for c in channels]
        _fail_first(
            ~out["channel"].isin(known),
            "channel",
            f"is not a channel of the model (channels: {known})",
            out,
        )

    for column in ("start", "end"):
        out[column] = _dates(table[column])
        _fail_first(out[column].isna(), column, "is not a date", table)
    _fail_first(out["start"] > out["end"], "end", "is before start", table)

    for column in ("spend_change", "incremental_outcome", "se"):
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        _fail_first(~np.isfinite(values), column, "is missing or not a finite number", table)
        out[column] = values
    _fail_first(out["spend_change"] <= 0, "spend_change", "must be > 0 (spend units)", table)
    _fail_first(out["se"] <= 0, "se", "must be > 0", table)

    extra = [c for c in table.columns if c not in LIFT_TEST_COLUMNS]
    return pd.concat([out[list(LIFT_TEST_COLUMNS)], table[extra]], axis=1)


def _fail_first(bad: pd.Series, column: str, problem: str, table: pd.DataFrame) -> None:
    if bad.any():
        rows = list(np.flatnonzero(bad.to_numpy()))
        value = table[column].iloc[rows[0]] if column in table.columns else None
        value = value.item() if isinstance(value, np.generic) else value
        more = f" (and {len(rows) - 1} more row(s): {rows[1:6]})" if len(rows) > 1 else ""
        raise InputDataError(
            f"lift test row {rows[0]}: column {column!r} {problem}, got {value!r}{more}"
        )


def lift_tests_from_campaign_summary(
    summary: pd.DataFrame,
    *,
    channel_map: Mapping[str, str] | None = None,
    ci_level: float = 0.95,
    period_days: int = 7,
) -> tuple[pd.DataFrame, list[str]]:
    """Turn liftlab's ``gold_campaign_summary`` into lift tests, plus notes on skipped rows.

    Only whole-campaign rows (``category == 'all'``) are used. Each becomes: ``channel`` =
    ``channel_map.get(channel, channel)``, ``start`` = the date of ``send_at`` (in its own time
    zone), ``end`` = ``start + window_days - 1`` days, ``spend_change`` = ``campaign_cost`` (the
    spend whose effect the target-vs-control test measured), ``incremental_outcome`` =
    ``incremental_revenue`` and ``se = (ci_high - ci_low) / (2 z)`` with ``z`` the normal
    quantile of ``ci_level``. Rows with a status other than ``ok``, no cost or no finite
    interval are skipped, each with a note; a window shorter than one period (``period_days``)
    is kept with a note, because it may contain no period date of the marketing-mix data.
    The result has the columns :data:`LIFT_TEST_COLUMNS` plus ``campaign_id``.
    """
    if not 0.0 < ci_level < 1.0:
        raise ConfigError(f"ci_level must be in (0, 1), got {ci_level!r}")
    if period_days <= 0:
        raise ConfigError(f"period_days must be > 0, got {period_days!r}")
    needed = (
        "campaign_id", "channel", "send_at", "window_days", "category", "incremental_revenue",
        "incremental_revenue_ci_low", "incremental_revenue_ci_high", "campaign_cost", "status",
    )  # fmt: skip
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise InputDataError(
            f"the campaign summary has no column {missing[0]!r}; needed: {list(needed)}"
        )
    mapping = dict(channel_map or {})
    z = float(stats.norm.ppf(0.5 + ci_level / 2.0))
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    whole = summary[summary["category"].astype(str) == _ALL]
    for _, r in whole.iterrows():
        cid = str(r["campaign_id"])
        status = str(r["status"])
        cost = pd.to_numeric(pd.Series([r["campaign_cost"]]), errors="coerce").iloc[0]
        low = pd.to_numeric(pd.Series([r["incremental_revenue_ci_low"]]), errors="coerce").iloc[0]
        high = pd.to_numeric(pd.Series([r["incremental_revenue_ci_high"]]), errors="coerce").iloc[0]
        revenue = pd.to_numeric(pd.Series([r["incremental_revenue"]]), errors="coerce").iloc[0]
        if status != "ok":
            notes.append(f"campaign {cid!r} skipped: status is {status!r}, not 'ok'")
            continue
        if not np.isfinite(cost) or cost <= 0:
            notes.append(f"campaign {cid!r} skipped: no campaign cost (spend change {cost!r})")
            continue
        if not (np.isfinite(low) and np.isfinite(high) and np.isfinite(revenue)) or high <= low:
            notes.append(
                f"campaign {cid!r} skipped: incremental revenue or its interval is missing "
                f"({low!r} .. {high!r})"
            )
            continue
        sent = pd.to_datetime(pd.Series([r["send_at"]]), errors="coerce", format="mixed")
        if sent.isna().iloc[0]:
            notes.append(f"campaign {cid!r} skipped: send_at {r['send_at']!r} is not a date")
            continue
        start = _dates(sent).iloc[0]
        window = int(r["window_days"])
        if window < period_days:
            notes.append(
                f"campaign {cid!r}: its {window}-day window is shorter than one period "
                f"({period_days:g} days), so it may cover no period date of the data"
            )
        channel = str(r["channel"])
        rows.append(
            {
                "channel": mapping.get(channel, channel),
                "start": start,
                "end": start + pd.Timedelta(days=window - 1),
                "spend_change": float(cost),
                "incremental_outcome": float(revenue),
                "se": float((high - low) / (2.0 * z)),
                "campaign_id": cid,
            }
        )
    tests = pd.DataFrame(rows, columns=[*LIFT_TEST_COLUMNS, "campaign_id"])
    tests["start"] = pd.to_datetime(tests["start"])
    tests["end"] = pd.to_datetime(tests["end"])
    return tests, notes


def small_test_warnings(lift_tests: pd.DataFrame, data: MMMData) -> list[str]:
    """Plain-sentence warnings for channels whose lift tests all changed spend by less than
    :data:`SMALL_TEST_SHARE` of the channel's spend over the test period (a small test measures
    a local slope and barely corrects a confounded channel), and for tests that fall outside
    the data or name an unknown channel."""
    tests = read_lift_tests(lift_tests)
    dates = pd.DatetimeIndex(data.dates).normalize()
    warnings: list[str] = []
    shares: dict[str, list[float]] = {}
    for row in tests.itertuples(index=False):
        if row.channel not in data.channels:
            warnings.append(
                f"The lift test of {row.channel!r} names a channel the data does not have "
                f"(channels: {list(data.channels)})."
            )
            continue
        inside = (dates >= row.start) & (dates <= row.end)
        if not inside.any():
            warnings.append(
                f"The lift test of {row.channel!r} from {row.start.date()} to {row.end.date()} "
                f"covers no period of the data."
            )
            continue
        spend = float(data.spend[inside, data.channels.index(row.channel)].sum())
        shares.setdefault(row.channel, []).append(row.spend_change / spend if spend > 0 else np.inf)
    for channel, values in shares.items():
        largest = max(values)
        if largest < SMALL_TEST_SHARE:
            warnings.append(
                f"Channel {channel!r} has only small lift tests (the largest changed "
                f"{largest:.0%} of its spend over the test period): a small spend change "
                f"measures the response near current spend and barely fixes confounding; a "
                f"go-dark or large holdout test of {channel!r} would."
            )
    return warnings


def keep_model_channels(
    tests: pd.DataFrame, channels: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Campaign-derived tests of channels the model does not have (an SMS campaign when the
    model has no SMS spend) are dropped with a note saying how to map them, not an error: the
    campaign warehouse holds every channel the CRM sends on."""
    unknown = sorted(set(tests["channel"]) - set(channels))
    if not unknown:
        return tests, []
    kept = tests[tests["channel"].isin(list(channels))].reset_index(drop=True)
    n = int(len(tests) - len(kept))
    note = (
        f"{n} campaign test(s) of channel(s) {', '.join(unknown)} not used: the model has no "
        "such channel (map a campaign channel to a model channel with "
        "calibration.campaign_summary.channel_map)"
    )
    return kept, [note]
