"""Tests for strategies.validation: GE 1.x expectations on hand-built good and bad frames.

All tests share the module's lazily created ephemeral GE context, so GE's import and context
setup are paid once per test process.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from strategies import validation
from strategies.errors import DataValidationError, InputDataError
from strategies.validation import (
    DEFAULT_FUNNEL,
    ExpectationOutcome,
    ValidationReport,
    ValidationRules,
    build_ab_rules,
    validate,
)

PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
BETWEEN = "expect_column_values_to_be_between"


def _frame(n: int = 10) -> pd.DataFrame:
    """A clean campaign table: every funnel stage no wider than the one before."""
    rng = np.random.default_rng(7)
    impressions = rng.integers(10, 100, n)
    opens = impressions // 2
    clicks = opens // 2
    conversions = clicks // 2
    return pd.DataFrame(
        {
            "experiment": ["exp1"] * n,
            "user_id": [f"u{i}" for i in range(n)],
            "variant": ["control", "treatment"] * (n // 2),
            "country": ["DE", "US"] * (n // 2),
            "impressions": impressions,
            "opens": opens,
            "clicks": clicks,
            "conversions": conversions,
            "revenue": rng.random(n) * 10,
        }
    )


def _rules(df: pd.DataFrame) -> ValidationRules:
    return build_ab_rules(
        df.columns,
        unit_column="user_id",
        variant_column="variant",
        variants=("control", "treatment"),
        experiment_column="experiment",
        segment_columns=("country",),
        metric_columns=("revenue",),
        count_columns=("clicks", "conversions"),
    )


def _only_failure(report: ValidationReport) -> ExpectationOutcome:
    failures = report.failures()
    assert len(failures) == 1, [f.to_dict() for f in failures]
    return failures[0]


def _message(report: ValidationReport) -> str:
    with pytest.raises(DataValidationError) as info:
        report.raise_for_failures()
    return str(info.value)


# --- build_ab_rules -------------------------------------------------------------------------


def test_build_ab_rules_full_funnel() -> None:
    rules = _rules(_frame())
    assert rules.required_columns == ("user_id", "variant", "experiment", "country", "revenue")
    assert rules.numeric_columns == ("revenue", "clicks", "conversions")
    assert rules.non_negative_columns == ("clicks", "conversions", "impressions", "opens")
    assert rules.ordered_pairs == (
        ("opens", "impressions"),
        ("clicks", "opens"),
        ("conversions", "clicks"),
    )
    assert rules.allowed_values == {"variant": ("control", "treatment")}
    assert rules.not_null_columns == ("user_id", "variant", "experiment")


def test_build_ab_rules_partial_funnel_pairs_adjacent_present_stages() -> None:
    rules = build_ab_rules(
        ["user_id", "variant", "impressions", "clicks", "conversions"],
        unit_column="user_id",
        variant_column="variant",
        variants=(),
    )
    # opens is absent: clicks is compared with impressions directly.
    assert rules.ordered_pairs == (("clicks", "impressions"), ("conversions", "clicks"))
    assert rules.non_negative_columns == ("impressions", "clicks", "conversions")
    assert rules.allowed_values == {}  # unknown variants: no set check
    assert rules.required_columns == ("user_id", "variant")
    assert rules.not_null_columns == ("user_id", "variant")


def test_build_ab_rules_custom_funnel_and_no_funnel_columns() -> None:
    rules = build_ab_rules(
        ["uid", "arm", "sends", "replies"],
        unit_column="uid",
        variant_column="arm",
        variants=("a", "b"),
        funnel=("sends", "replies"),
    )
    assert rules.ordered_pairs == (("replies", "sends"),)
    none = build_ab_rules(["uid", "arm"], unit_column="uid", variant_column="arm", variants=())
    assert none.ordered_pairs == ()
    assert none.non_negative_columns == ()
    assert DEFAULT_FUNNEL == ("impressions", "opens", "clicks", "conversions")


# --- passing data ---------------------------------------------------------------------------


def test_clean_data_passes_and_is_not_mutated(capfd: pytest.CaptureFixture[str]) -> None:
    df = _frame()
    before = df.copy(deep=True)
    report = validate(df, _rules(df))
    assert report.success, report.failure_message()
    assert report.failures() == []
    assert report.skipped() == []
    assert report.n_rows == len(df)
    report.raise_for_failures()  # no-op
    pd.testing.assert_frame_equal(df, before)

    kinds = {o.expectation for o in report.outcomes}
    assert kinds == {
        "expect_column_to_exist",
        "expect_column_values_to_be_in_type_list",
        BETWEEN,
        PAIR,
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
    }
    payload = report.to_dict()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["n_failed"] == 0

    # GE is silenced: no progress bars or log lines on the terminal.
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""
    assert logging.getLogger("great_expectations").level == logging.WARNING


def test_nullable_and_object_dtypes_are_accepted() -> None:
    df = _frame(4)
    df["clicks"] = pd.array([1, None, 2, 3], dtype="Int64")
    df["conversions"] = pd.array([0, 0, 1, None], dtype="Int64")
    df["user_id"] = df["user_id"].astype(object)  # what strategies.ingest returns for text
    df["revenue"] = df["revenue"] > 5  # a boolean metric is numeric (0/1)
    report = validate(df, _rules(df))
    # Rows with a missing count are not ordering violations (imputation's business).
    assert report.success, report.failure_message()


def test_empty_rules_pass() -> None:
    report = validate(pd.DataFrame({"a": [1]}), ValidationRules())
    assert report.success
    assert report.outcomes == []


# --- each rule failing ----------------------------------------------------------------------


def test_negative_counts() -> None:
    df = _frame()
    df.loc[[2, 5], "conversions"] = [-1, -3]
    df.loc[[2, 5], "clicks"] = [0, 0]
    report = validate(df, _rules(df))
    outcome = _only_failure(report)
    assert outcome.expectation == BETWEEN
    assert outcome.column == "conversions"
    assert outcome.unexpected_count == 2
    assert outcome.unexpected_examples == [-1, -3]
    assert outcome.description == "conversions must not be negative"
    message = _message(report)
    assert (
        "expect_column_values_to_be_between failed on 'conversions': 2 of 10 rows "
        "(examples: -1; -3)" in message
    )


def test_clicks_exceeding_impressions_without_opens() -> None:
    df = _frame(200).drop(columns=["opens"])
    bad = [3, 50, 120]
    df.loc[bad, "clicks"] = df.loc[bad, "impressions"] + 5
    df.loc[bad, "conversions"] = 0
    report = validate(df, _rules(df))
    outcome = _only_failure(report)
    assert outcome.expectation == PAIR
    assert outcome.column == "clicks <= impressions"
    assert outcome.unexpected_count == 3
    first = bad[0]
    assert outcome.unexpected_examples[0] == {
        "clicks": int(df.loc[first, "clicks"]),
        "impressions": int(df.loc[first, "impressions"]),
    }
    assert outcome.description == "clicks must not exceed impressions"
    message = _message(report)
    expected = (
        f"{PAIR} failed on 'clicks <= impressions': 3 of 200 rows (examples: "
        f"clicks={df.loc[first, 'clicks']}, impressions={df.loc[first, 'impressions']}; "
    )
    assert expected in message


def test_conversions_exceeding_clicks() -> None:
    df = _frame()
    df.loc[4, "conversions"] = df.loc[4, "clicks"] + 1
    report = validate(df, _rules(df))
    outcome = _only_failure(report)
    assert outcome.column == "conversions <= clicks"
    assert outcome.unexpected_count == 1
    assert list(outcome.unexpected_examples[0]) == ["conversions", "clicks"]
    assert "failed on 'conversions <= clicks': 1 of 10 rows" in _message(report)


def test_variant_not_in_declared_set() -> None:
    df = _frame()
    df.loc[[1, 7, 8], "variant"] = ["Treatment ", "holdout", "holdout"]
    report = validate(df, _rules(df))
    outcome = _only_failure(report)
    assert outcome.expectation == "expect_column_values_to_be_in_set"
    assert outcome.column == "variant"
    assert outcome.unexpected_count == 3
    assert outcome.unexpected_examples == ["Treatment ", "holdout", "holdout"]
    assert outcome.description == "variant must be one of 'control', 'treatment'"
    assert "3 of 10 rows (examples: 'Treatment '; 'holdout'; 'holdout')" in _message(report)


def test_null_unit_id() -> None:
    df = _frame()
    df.loc[6, "user_id"] = None
    report = validate(df, _rules(df))
    outcome = _only_failure(report)
    assert outcome.expectation == "expect_column_values_to_not_be_null"
    assert outcome.column == "user_id"
    assert outcome.unexpected_count == 1
    assert outcome.unexpected_examples == [{"row": 6}]
    assert "failed on 'user_id': 1 of 10 rows (examples: row=6)" in _message(report)


def test_missing_column_skips_its_value_rules() -> None:
    full = _frame()
    rules = _rules(full)  # built while "clicks" was present
    df = full.drop(columns=["clicks"])
    report = validate(df, rules)
    outcome = _only_failure(report)
    assert outcome.expectation == "expect_column_to_exist"
    assert outcome.column == "clicks"
    skipped = {(o.expectation, o.column) for o in report.skipped()}
    assert skipped == {
        ("expect_column_values_to_be_in_type_list", "clicks"),
        (BETWEEN, "clicks"),
        (PAIR, "clicks <= opens"),
        (PAIR, "conversions <= clicks"),
    }
    assert all("not run: column 'clicks' is missing" in o.description for o in report.skipped())
    assert not report.success
    message = _message(report)
    assert "expect_column_to_exist failed on 'clicks': column 'clicks' is missing" in message
    assert "not run because a column is missing or not numeric" in message
    assert report.to_dict()["n_skipped"] == 4


@pytest.mark.parametrize("as_object", [False, True], ids=["str-dtype", "object-dtype"])
def test_string_in_numeric_column(as_object: bool) -> None:
    df = _frame(6)
    values = ["3", "x", "1", "2", "0", "1"] if not as_object else [3, "x", 1, "lots", 0, 1]
    df["clicks"] = pd.Series(values, dtype=object if as_object else "str")
    report = validate(df, _rules(df))
    outcome = _only_failure(report)
    assert outcome.expectation == "expect_column_values_to_be_in_type_list"
    assert outcome.column == "clicks"
    assert outcome.description == "column 'clicks' must be numeric, found type str"
    if as_object:
        # GE checks object columns value by value: only the two strings are bad.
        assert outcome.unexpected_count == 2
        assert outcome.unexpected_examples == ["x", "lots"]
    else:
        assert outcome.unexpected_count == 6
        assert outcome.unexpected_examples == ["3", "x", "1", "2", "0"]
    # Value rules on the wrongly typed column are skipped, not crashed.
    assert {o.column for o in report.skipped()} == {
        "clicks",
        "clicks <= opens",
        "conversions <= clicks",
    }
    message = _message(report)
    assert "column 'clicks' must be numeric, found type str" in message


def test_several_failures_all_listed() -> None:
    df = _frame()
    df.loc[0, "impressions"] = -5
    df.loc[1, "variant"] = "B"
    df.loc[2, "experiment"] = None
    report = validate(df, _rules(df))
    failed = {(o.expectation, o.column) for o in report.failures()}
    assert (BETWEEN, "impressions") in failed
    assert (PAIR, "opens <= impressions") in failed
    assert ("expect_column_values_to_be_in_set", "variant") in failed
    assert ("expect_column_values_to_not_be_null", "experiment") in failed
    message = _message(report)
    assert message.startswith(f"data validation failed: {len(failed)} of ")
    assert message.count("\n- ") == len(failed)


def test_examples_are_capped_at_five_and_json_safe() -> None:
    df = _frame(20)
    df["conversions"] = -1
    df["conversions"] = df["conversions"].astype(np.int64)
    report = validate(df, _rules(df))
    outcome = next(o for o in report.failures() if o.column == "conversions")
    assert outcome.unexpected_count == 20
    assert outcome.unexpected_examples == [-1] * 5
    assert all(type(v) is int for v in outcome.unexpected_examples)
    json.dumps(report.to_dict())


def test_duplicate_column_names_rejected() -> None:
    df = pd.DataFrame([[1, 2]], columns=["clicks", "clicks"])
    with pytest.raises(InputDataError, match="duplicate column names: clicks"):
        validate(df, ValidationRules(required_columns=("clicks",)))


def test_ge_context_is_shared_and_left_clean() -> None:
    context, batch_definition = validation._ge()
    assert validation._ge()[0] is context
    validate(_frame(4), _rules(_frame(4)))
    # Suites and validation definitions are removed after each call.
    assert list(context.suites.all()) == []
    assert list(context.validation_definitions.all()) == []
    assert context.validation_results_store.list_keys() == []
    assert context.progress_bars["globally"] is False
