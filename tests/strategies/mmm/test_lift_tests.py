"""Lift-test inputs: a user's table is checked row by row, liftlab's campaign summary becomes
lift tests with the right window and standard error, and small tests are flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from liftlab.simulate.mmm import default_mmm_config, simulate_mmm
from strategies.errors import InputDataError
from strategies.mmm.data import LIFT_TEST_COLUMNS, MMMData, mmm_data_from_frame
from strategies.mmm.lift_tests import (
    keep_model_channels,
    lift_tests_from_campaign_summary,
    read_lift_tests,
    small_test_warnings,
)

CHANNELS = ("tv", "search", "email")


def _table(**changes) -> pd.DataFrame:
    rows = {
        "channel": ["tv", "search"],
        "start": ["2024-03-04", "2024-05-06"],
        "end": ["2024-04-22", "2024-05-27"],
        "spend_change": [120_000, "8000.5"],
        "incremental_outcome": [150_000.0, -200.0],
        "se": [15_000.0, 900.0],
        "note": ["geo holdout", "budget test"],
    }
    rows.update(changes)
    return pd.DataFrame(rows)


def test_read_normalises_types_and_keeps_extra_columns() -> None:
    tests = read_lift_tests(_table(), CHANNELS)
    assert list(tests.columns) == [*LIFT_TEST_COLUMNS, "note"]
    assert tests["start"].tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-05-06")]
    assert tests["spend_change"].tolist() == [120_000.0, 8000.5]
    assert tests["incremental_outcome"].dtype == float
    assert tests["note"].tolist() == ["geo holdout", "budget test"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channel": ["tv", "radio"]}, r"row 1: column 'channel' is not a channel of the model"),
        ({"channel": ["tv", None]}, r"row 1: column 'channel' is empty"),
        ({"start": ["2024-03-04", "soon"]}, r"row 1: column 'start' is not a date"),
        ({"end": ["2024-03-01", "2024-05-27"]}, r"row 0: column 'end' is before start"),
        ({"spend_change": [0, 10]}, r"row 0: column 'spend_change' must be > 0"),
        ({"se": [1.0, -2.0]}, r"row 1: column 'se' must be > 0"),
        ({"incremental_outcome": [1.0, "n/a"]}, r"row 1: column 'incremental_outcome' is missing"),
    ],
)
def test_read_errors_name_row_and_column(change, message) -> None:
    with pytest.raises(InputDataError, match=message):
        read_lift_tests(_table(**change), CHANNELS)


def test_read_requires_every_column() -> None:
    with pytest.raises(InputDataError, match="no column 'se'"):
        read_lift_tests(_table().drop(columns="se"))


# gold_campaign_summary ------------------------------------------------------------------------


def _summary() -> pd.DataFrame:
    """A realistic gold_campaign_summary: per campaign an 'all' row and category rows."""
    rows = []
    campaigns = [
        # id, channel, send_at (UTC), cost, revenue, low, high, status
        ("C01", "email", "2026-02-10T09:00:00+00:00", 1_200.0, 9_000.0, 5_080.0, 12_920.0, "ok"),
        ("C02", "sms", "2026-04-14T23:30:00+00:00", 2_500.0, 4_000.0, -1_880.0, 9_880.0, "ok"),
        ("C03", "email", "2026-06-02T09:00:00+00:00", 900.0, 1_000.0, 0.0, 2_000.0, "srm"),
        ("C04", "email", "2026-08-18T09:00:00+00:00", 0.0, 500.0, 100.0, 900.0, "ok"),
    ]
    for cid, channel, send, cost, revenue, low, high, status in campaigns:
        for category, factor in (("all", 1.0), ("tickets", 0.7), ("concessions", 0.3)):
            rows.append(
                {
                    "campaign_id": cid,
                    "campaign_name": f"Campaign {cid}",
                    "channel": channel,
                    "send_at": pd.Timestamp(send),
                    "category": category,
                    "window_days": 10,
                    "n_target": 4_000,
                    "n_control": 1_000,
                    "incremental_spend_per_customer": revenue * factor / 4_000,
                    "incremental_revenue": revenue * factor,
                    "incremental_revenue_ci_low": low * factor,
                    "incremental_revenue_ci_high": high * factor,
                    "cost_per_contact": cost / 4_000,
                    "campaign_cost": cost,
                    "roi": (revenue - cost) / cost if cost else np.nan,
                    "decision": "ship",
                    "status": status,
                }
            )
    return pd.DataFrame(rows)


def test_campaign_summary_becomes_lift_tests() -> None:
    tests, notes = lift_tests_from_campaign_summary(_summary(), channel_map={"email": "crm_email"})
    assert tests["campaign_id"].tolist() == ["C01", "C02"]
    assert tests["channel"].tolist() == ["crm_email", "sms"]
    assert tests["start"].tolist() == [pd.Timestamp("2026-02-10"), pd.Timestamp("2026-04-14")]
    # window_days = 10: the last day of the window is start + 9 days.
    assert tests["end"].tolist() == [pd.Timestamp("2026-02-19"), pd.Timestamp("2026-04-23")]
    assert tests["spend_change"].tolist() == [1_200.0, 2_500.0]
    assert tests["incremental_outcome"].tolist() == [9_000.0, 4_000.0]  # the 'all' rows only
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(tests["se"], [(12_920 - 5_080) / (2 * z), 11_760 / (2 * z)])
    assert tests["se"].iloc[0] == pytest.approx(2_000.0, rel=1e-3)  # a 95 % CI is ±1.96 se
    assert any("'C03'" in n and "'srm'" in n for n in notes)
    assert any("'C04'" in n and "no campaign cost" in n for n in notes)
    assert len(notes) == 2
    # The result is a valid lift-test table.
    read_lift_tests(tests, ["crm_email", "sms"])


def test_campaign_summary_ci_level_and_short_windows() -> None:
    summary = _summary().assign(window_days=3)
    tests, notes = lift_tests_from_campaign_summary(summary, ci_level=0.9, period_days=7)
    z90 = stats.norm.ppf(0.95)
    assert tests["se"].iloc[0] == pytest.approx(7_840 / (2 * z90))
    assert tests["end"].iloc[0] == pd.Timestamp("2026-02-12")
    assert sum("shorter than one period" in n for n in notes) == 2
    with pytest.raises(InputDataError, match="no column 'campaign_cost'"):
        lift_tests_from_campaign_summary(summary.drop(columns="campaign_cost"))


# Small tests --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> MMMData:
    sim = simulate_mmm(default_mmm_config(seed=4, n_periods=60))
    cfg = sim.config
    return mmm_data_from_frame(
        sim.frame,
        date_column="date",
        outcome_column="sales",
        channel_columns=[c.spend_column for c in cfg.channels],
        control_columns=list(cfg.control_names),
    )


def _test(data: MMMData, channel: str, first: int, last: int, share: float) -> dict:
    j = data.channels.index(f"{channel}_spend")
    return {
        "channel": f"{channel}_spend",
        "start": pd.Timestamp(data.dates[first]),
        "end": pd.Timestamp(data.dates[last]),
        "spend_change": share * float(data.spend[first : last + 1, j].sum()),
        "incremental_outcome": 1.0,
        "se": 1.0,
    }


def test_small_test_warnings_name_the_channel(data) -> None:
    tests = pd.DataFrame(
        [
            _test(data, "search", 10, 13, 0.10),
            _test(data, "search", 30, 35, 0.45),
            _test(data, "display", 10, 17, 0.2),
            _test(data, "display", 40, 47, 1.0),  # a go-dark test: display is fine
        ]
    )
    warnings = small_test_warnings(tests, data)
    assert len(warnings) == 1
    assert "'search_spend' has only small lift tests" in warnings[0]
    assert "45%" in warnings[0] and "confounding" in warnings[0]


def test_small_test_warnings_for_tests_outside_the_data(data) -> None:
    late = _test(data, "tv", 50, 55, 1.0)
    late["start"] = late["end"] = pd.Timestamp(data.dates[-1]) + pd.Timedelta(days=30)
    unknown = {**_test(data, "tv", 5, 8, 1.0), "channel": "podcast", "spend_change": 1_000.0}
    warnings = small_test_warnings(pd.DataFrame([late, unknown]), data)
    assert any("covers no period" in w for w in warnings)
    assert any("'podcast'" in w for w in warnings)


def test_keep_model_channels_drops_unknown_channels_with_one_note() -> None:
    tests = pd.DataFrame(
        {
            "channel": ["sms", "email", "push", "tv", "sms"],
            "start": pd.to_datetime(["2024-01-01"] * 5),
            "end": pd.to_datetime(["2024-01-07"] * 5),
            "spend_change": [1.0, 2.0, 3.0, 4.0, 5.0],
            "incremental_outcome": [10.0, 20.0, 30.0, 40.0, 50.0],
            "se": [1.0] * 5,
            "campaign_id": ["c1", "c2", "c3", "c4", "c5"],
        },
        index=[10, 11, 12, 13, 14],
    )
    kept, notes = keep_model_channels(tests, ["tv", "email", "search"])
    assert list(kept["campaign_id"]) == ["c2", "c4"]  # table order, every column kept
    assert list(kept.columns) == list(tests.columns) and list(kept.index) == [0, 1]
    assert len(notes) == 1
    assert notes[0].startswith("3 campaign test(s) of channel(s) push, sms not used")
    assert "calibration.campaign_summary.channel_map" in notes[0]
    # Nothing to drop: the same table back, no note.
    same, none = keep_model_channels(kept, ["tv", "email"])
    assert same is kept and none == []
    # Every test unknown: an empty table (with its columns), still one note.
    empty, notes = keep_model_channels(tests, ["radio"])
    assert empty.empty and list(empty.columns) == list(tests.columns)
    assert notes[0].startswith("5 campaign test(s) of channel(s) email, push, sms, tv")
