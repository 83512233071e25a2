"""The marketing-mix data suite: a clean simulated table passes, and every planted problem
fails with a message naming the column and the rows."""

from __future__ import annotations

import pandas as pd
import pytest

from liftlab.simulate.mmm import default_mmm_config, simulate_mmm
from strategies.errors import ConfigError
from strategies.mmm.quality import (
    build_mmm_rules,
    count_mmm_parameters,
    date_gaps,
    gap_column,
    infer_period_days,
    validate_mmm,
)
from strategies.validation import TABLE, ValidationRules


@pytest.fixture(scope="module")
def sim():
    return simulate_mmm(default_mmm_config(seed=2))


def _columns(sim) -> dict:
    cfg = sim.config
    return {
        "date_column": "date",
        "outcome_column": "sales",
        "channel_columns": [c.spend_column for c in cfg.channels],
        "control_columns": list(cfg.control_names),
    }


def _failed(report, column: str, expectation: str | None = None):
    hits = [
        o
        for o in report.failures()
        if o.column == column and (expectation is None or o.expectation == expectation)
    ]
    assert hits, report.failure_message()
    return hits[0]


def test_count_parameters_of_the_default_simulation(sim) -> None:
    cfg = sim.config
    n = count_mmm_parameters(
        [c.adstock for c in cfg.channels],
        [c.saturation for c in cfg.channels],
        n_controls=len(cfg.control_names),
    )
    # tv 2+1+1, search 1+1+1, social 1+2+1, display 1+1+1, email 1+1+1, radio 1+2+1 = 21;
    # intercept, trend, 4 Fourier terms, 4 controls = 10.
    assert n == 31
    with pytest.raises(ConfigError, match="unknown adstock 'delayed'"):
        count_mmm_parameters(["delayed"], ["hill"], n_controls=0)


def test_clean_simulated_table_passes(sim) -> None:
    cfg = sim.config
    n = count_mmm_parameters(
        [c.adstock for c in cfg.channels],
        [c.saturation for c in cfg.channels],
        n_controls=len(cfg.control_names),
    )
    report = validate_mmm(sim.frame, **_columns(sim), n_parameters=n)
    assert report.success, report.failure_message()
    # The row-count and regular-dates expectations ran (not skipped).
    kinds = {o.expectation for o in report.outcomes if not o.skipped}
    assert "expect_table_row_count_to_be_between" in kinds
    assert any(o.column == gap_column("date") for o in report.outcomes)


def test_every_planted_problem_is_named(sim) -> None:
    bad = sim.frame.drop(index=[40, 41]).reset_index(drop=True)  # two missing weeks
    bad.loc[5, "tv_spend"] = -3.0
    bad.loc[7, "sales"] = None
    bad["price_index"] = bad["price_index"].astype(object)
    bad.loc[9, "price_index"] = "n/a"
    bad.loc[11, "promotion"] = None
    bad = pd.concat([bad, bad.iloc[[10]]], ignore_index=True)  # a repeated date
    report = validate_mmm(bad, **_columns(sim), n_parameters=31)
    message = report.failure_message()

    spend = _failed(report, "tv_spend", "expect_column_values_to_be_between")
    assert spend.unexpected_examples == [-3.0]
    assert _failed(report, "sales", "expect_column_values_to_not_be_null").unexpected_examples == [
        {"row": 7}
    ]
    assert _failed(report, "promotion").unexpected_examples == [{"row": 11}]
    price = _failed(report, "price_index", "expect_column_values_to_be_in_type_list")
    assert "must be numeric, found type str" in price.description
    assert _failed(report, "date", "expect_column_values_to_be_unique").unexpected_count == 2

    gaps = _failed(report, gap_column("date"))
    missing = pd.Timestamp(sim.frame["date"].iloc[42]).date().isoformat()
    repeated = pd.Timestamp(sim.frame["date"].iloc[10]).date().isoformat()
    assert {"row": 40, "date": missing, "days_after_previous": 21.0} in gaps.unexpected_examples
    assert {"row": 154, "date": repeated, "days_after_previous": 0.0} in gaps.unexpected_examples
    assert "7 day(s) after the previous date (weekly" in message
    assert f"row=40, date='{missing}', days_after_previous=21.0" in message


def test_too_few_periods_says_how_many_are_needed_and_why(sim) -> None:
    report = validate_mmm(sim.frame.head(90), **_columns(sim), n_parameters=31)
    outcome = _failed(report, TABLE, "expect_table_row_count_to_be_between")
    assert "the table has 90 rows; at least 93 are needed" in outcome.description
    assert "3 per model parameter x 31 parameters" in outcome.description
    assert [o.column for o in report.failures()] == [TABLE]


def test_missing_and_text_columns(sim) -> None:
    bad = sim.frame.drop(columns=["email_spend"]).assign(
        radio_spend=sim.frame["radio_spend"].astype(str)
    )
    report = validate_mmm(bad, **_columns(sim), n_parameters=10)
    assert "email_spend" in _failed(report, "email_spend", "expect_column_to_exist").description
    radio = _failed(report, "radio_spend", "expect_column_values_to_be_in_type_list")
    assert "must be numeric" in radio.description
    # Value rules on the missing/non-numeric columns are reported as not run, not as failures.
    assert {o.column for o in report.skipped()} == {"email_spend", "radio_spend"}


def test_missing_date_column_is_one_clear_failure(sim) -> None:
    report = validate_mmm(sim.frame.drop(columns=["date"]), **_columns(sim), n_parameters=10)
    assert _failed(report, "date", "expect_column_to_exist")
    assert not any(o.column == gap_column("date") for o in report.outcomes)


def test_daily_period_is_inferred_from_the_median_gap() -> None:
    dates = pd.Series(pd.date_range("2024-03-01", periods=30, freq="D"))
    irregular = pd.concat([dates.iloc[:10], dates.iloc[12:]], ignore_index=True)
    assert infer_period_days(irregular) == 1
    frame = pd.DataFrame(
        {"day": irregular.dt.strftime("%Y-%m-%d"), "y": 1.0, "a_spend": 2.0, "b_spend": 0.0}
    )
    report = validate_mmm(
        frame,
        date_column="day",
        outcome_column="y",
        channel_columns=["a_spend", "b_spend"],
        n_parameters=2,
    )
    gaps = _failed(report, "day_gap_days")
    assert gaps.unexpected_examples == [
        {"row": 10, "day": "2024-03-13", "days_after_previous": 3.0}
    ]
    assert "1 day(s) after the previous date (daily" in gaps.description


def test_gaps_follow_date_order_and_ignore_time_zones() -> None:
    dates = pd.Series(
        pd.to_datetime(["2024-03-25", "2024-03-18", "2024-04-01"]).tz_localize("Europe/Berlin")
    )
    # 31 March 2024 is a daylight-saving change in Berlin: the week is still 7 days. Row 1 is
    # the earliest date, so it has no previous date.
    gaps = date_gaps(dates)
    assert gaps.iloc[0] == 7.0 and pd.isna(gaps.iloc[1]) and gaps.iloc[2] == 7.0


def test_rules_round_trip_and_reject_bad_arguments() -> None:
    rules = build_mmm_rules("date", "sales", ["tv_spend"], ["price"], 8, period_days=1)
    assert rules.min_rows == 24 and rules.row_values_in_set == {"date_gap_days": (1,)}
    assert ValidationRules.from_dict(rules.to_dict()) == rules
    assert "date_gap_days" not in rules.without_columns(["date_gap_days"]).row_values_in_set
    with pytest.raises(ConfigError, match="n_parameters"):
        build_mmm_rules("date", "sales", ["tv_spend"], [], 0)
    with pytest.raises(ConfigError, match="no channel"):
        build_mmm_rules("date", "sales", [], [], 3)


def test_row_count_rule_runs_alone() -> None:
    from strategies.validation import validate

    report = validate(pd.DataFrame({"x": [1, 2]}), ValidationRules(min_rows=3))
    assert not report.success
    assert report.failures()[0].description == "the table has 2 rows; at least 3 are needed"
    assert validate(pd.DataFrame({"x": [1, 2, 3]}), ValidationRules(min_rows=3)).success
