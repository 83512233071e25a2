"""SQL checks equal Great Expectations on pandas: same outcomes on clean and broken tables.

The reference is :func:`strategies.validation.validate` (GE 1.x on pandas) on the frame the
engine holds, as ``engine.fetch`` returns it. Outcomes must agree on expectation, column,
success, skipped, unexpected count and description. Examples are compared under the SQL rule
("the smallest offending values"): as multisets when GE shows them all (≤ 5), by the rule
itself otherwise; rows have no position in SQL, so not-null examples are empty and
row-value examples carry no ``row`` (documented in checks_sql).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.errors import InputDataError
from strategies.validation import (
    ValidationReport,
    ValidationRules,
    build_ab_rules,
    build_ads_rules,
    validate,
)
from strategies.warehouse.checks_sql import validate_in_engine
from tests.strategies.warehouse.conftest import LocalDuckDB

NOT_NULL = "expect_column_values_to_not_be_null"


def _frame(n: int = 12) -> pd.DataFrame:
    """A clean campaign table: every funnel stage no wider than the one before."""
    rng = np.random.default_rng(7)
    impressions = rng.integers(10, 100, n)
    opens = impressions // 2
    clicks = opens // 2
    conversions = clicks // 2
    return pd.DataFrame(
        {
            "experiment": pd.Series(["exp1"] * n, dtype=object),
            "user_id": pd.Series([f"u{i:02d}" for i in range(n)], dtype=object),
            "variant": pd.Series(["control", "treatment"] * (n // 2), dtype=object),
            "country": pd.Series(["DE", "US"] * (n // 2), dtype=object),
            "impressions": impressions,
            "opens": opens,
            "clicks": clicks,
            "conversions": conversions,
            "revenue": rng.random(n) * 10,
        }
    )


def _rules(columns) -> ValidationRules:
    return build_ab_rules(
        columns,
        unit_column="user_id",
        variant_column="variant",
        variants=("control", "treatment"),
        experiment_column="experiment",
        segment_columns=("country",),
        metric_columns=("revenue",),
        count_columns=("clicks", "conversions"),
    )


def _sort_key(value):
    return repr(sorted(value.items())) if isinstance(value, dict) else repr(value)


def _assert_same_report(got: ValidationReport, expected: ValidationReport) -> None:
    assert (got.success, got.n_rows) == (expected.success, expected.n_rows)
    assert len(got.outcomes) == len(expected.outcomes)
    for g, e in zip(got.outcomes, expected.outcomes, strict=True):
        fields = ("expectation", "column", "success", "skipped", "unexpected_count")
        assert [getattr(g, f) for f in fields] == [getattr(e, f) for f in fields], e
        assert g.description == e.description
        assert g.show_description == e.show_description
        want = e.unexpected_examples
        if e.expectation == NOT_NULL:
            want = []  # no row positions in SQL
        elif e.show_description:
            want = [{k: v for k, v in ex.items() if k != "row"} for ex in want]
        if e.unexpected_count <= 5:
            assert sorted(g.unexpected_examples, key=_sort_key) == sorted(want, key=_sort_key), e
        else:
            assert len(g.unexpected_examples) == 5, e
            assert g.unexpected_examples == sorted(g.unexpected_examples, key=_example_order)


def _example_order(value):
    return tuple(value.values()) if isinstance(value, dict) else value


def _check(engine_for, frame: pd.DataFrame, rules: ValidationRules) -> ValidationReport:
    engine = engine_for(frame)
    expected = validate(engine.fetch('SELECT * FROM "source"'), rules)
    got = validate_in_engine(engine, "source", rules)
    _assert_same_report(got, expected)
    return got


def test_clean_table_passes(engine_for) -> None:
    report = _check(engine_for, _frame(), _rules(_frame().columns))
    assert report.success and len(report.outcomes) > 10


def test_negative_counts(engine_for) -> None:
    df = _frame()
    df.loc[[1, 4], "clicks"] = [-1, -3]
    df["conversions"] = np.minimum(df["conversions"], df["clicks"])  # only the sign is broken
    report = _check(engine_for, df, _rules(df.columns))
    failed = {(o.expectation, o.column) for o in report.failures()}
    assert ("expect_column_values_to_be_between", "clicks") in failed


def test_clicks_above_impressions_with_nulls_ignored(engine_for) -> None:
    df = _frame().astype({"clicks": float, "opens": float})
    df.loc[[0, 2, 3], "clicks"] = df.loc[[0, 2, 3], "opens"] + 5
    df.loc[5, "opens"] = np.nan  # a missing value is not an ordering violation
    report = _check(engine_for, df, _rules(df.columns))
    pair = [o for o in report.failures() if o.column == "clicks <= opens"]
    assert pair and pair[0].unexpected_count == 3


def test_unknown_label_and_null_ids(engine_for) -> None:
    df = _frame()
    df.loc[3, "variant"] = "Treatment "
    df.loc[[6, 7], "variant"] = None
    df.loc[[2, 9], "user_id"] = None
    report = _check(engine_for, df, _rules(df.columns))
    counts = {(o.expectation, o.column): o.unexpected_count for o in report.failures()}
    assert counts[("expect_column_values_to_be_in_set", "variant")] == 1
    assert counts[(NOT_NULL, "user_id")] == 2 and counts[(NOT_NULL, "variant")] == 2


def test_missing_column_skips_its_rules(engine_for) -> None:
    df = _frame().drop(columns=["clicks"])
    rules = _rules(_frame().columns)  # planned with clicks present, as a stale config would be
    report = _check(engine_for, df, rules)
    assert report.skipped() and not report.success


def test_text_in_a_numeric_column(engine_for) -> None:
    df = _frame()
    df["revenue"] = pd.Series([f"{v:.2f}" for v in df["revenue"]], dtype=object)
    df.loc[0, "revenue"] = None
    df["clicks"] = pd.Series([str(v) for v in df["clicks"]], dtype=object)
    report = _check(engine_for, df, _rules(df.columns))
    types = {o.column: o for o in report.failures() if "type_list" in o.expectation}
    assert types["revenue"].unexpected_count == 11
    assert types["revenue"].description.endswith("found type str")
    assert any(o.column == "clicks <= opens" for o in report.skipped())


def test_unique_ids_row_values_and_min_rows(engine_for) -> None:
    df = pd.DataFrame(
        {
            "ad_id": [1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 7],
            "Impressions": [10, 20, 30, 5, 5, 5, 9, 9, 9, 9, 9, 9],
            "Clicks": [1, 25, 3, 1, 6, 1, 0, 0, 10, 1, 1, 1],
            "gap": [7, 7, 7, 14, 7, 7, 7, 0, 7, 7, 7, 21],
        }
    )
    rules = build_ads_rules(
        id_column="ad_id",
        input_columns=("Impressions",),
        count_columns=("Impressions", "Clicks"),
        not_greater_than={"Clicks": "Impressions"},
    )
    rules = ValidationRules(
        **{
            **rules.__dict__,
            "row_values_in_set": {"gap": (7,)},
            "row_values_notes": {"gap": "weeks must be consecutive"},
            "min_rows": 20,
            "min_rows_reason": "two folds",
        }
    )
    report = _check(engine_for, df, rules)
    by_kind = {(o.expectation, o.column): o for o in report.failures()}
    unique = by_kind[("expect_column_values_to_be_unique", "ad_id")]
    # Nine rows share an id; the SQL examples are the five smallest of them, found by hand.
    assert unique.unexpected_count == 9 and unique.unexpected_examples == [2, 2, 3, 3, 3]
    gap = by_kind[("expect_column_values_to_be_in_set", "gap")]
    assert gap.unexpected_examples == [{"gap": 0}, {"gap": 14}, {"gap": 21}]
    assert "at least 20" in by_kind[("expect_table_row_count_to_be_between", "(table)")].description


def test_examples_are_the_smallest_offending_values(engine_for) -> None:
    values = [5, -9, 3, -1, -7, -2, -8, 4, -3, -6]
    df = pd.DataFrame({"n": values, "s": [v + 1 for v in values], "l": [0] * 10})
    rules = ValidationRules(non_negative_columns=("n",), ordered_pairs=(("s", "l"),))
    report = _check(engine_for, df, rules)
    between, pair = report.failures()
    assert between.unexpected_examples == sorted(v for v in values if v < 0)[:5]
    bad_pairs = sorted(v + 1 for v in values if v + 1 > 0)
    assert [e["s"] for e in pair.unexpected_examples] == bad_pairs[:5]


def test_set_membership_uses_python_equality(engine_for) -> None:
    """1 is not "1" (pandas isin), and quotes in labels and names are data, not SQL."""
    df = pd.DataFrame(
        {
            "arm": [0, 1, 1, 2],
            "it's": pd.Series(["a'b", "c", None, "a'b"], dtype=object),
            "flag": [True, False, True, True],
        }
    )
    rules = ValidationRules(
        allowed_values={"arm": ("0", "1"), "it's": ("a'b",), "flag": (True,)},
        row_values_in_set={"arm": (0, 1.0)},
    )
    report = _check(engine_for, df, rules)
    counts = [o.unexpected_count for o in report.outcomes if o.expectation.endswith("in_set")]
    assert counts == [4, 1, 1, 1]


def test_no_rules_and_empty_table(engine_for) -> None:
    assert _check(engine_for, _frame(), ValidationRules()).outcomes == []
    empty = _frame().iloc[:0]
    report = _check(engine_for, empty, _rules(empty.columns))
    assert report.success and report.n_rows == 0


def test_duplicate_column_names_are_refused() -> None:
    class Doubled(LocalDuckDB):
        def columns(self, relation):
            cols = super().columns(relation)
            return [*cols, cols[0]]

    engine = Doubled(_frame())
    try:
        with pytest.raises(InputDataError, match="duplicate column names: experiment"):
            validate_in_engine(engine, "source", _rules(_frame().columns))
    finally:
        engine.close()


def test_a_rule_the_engine_cannot_run_fails_with_its_message() -> None:
    class Refusing(LocalDuckDB):
        def fetch(self, sql):
            if "HAVING" in sql:
                raise RuntimeError("boom: no GROUP BY here")
            return super().fetch(sql)

    engine = Refusing(_frame())
    try:
        report = validate_in_engine(engine, "source", ValidationRules(unique_columns=("user_id",)))
    finally:
        engine.close()
    (failure,) = report.failures()
    assert failure.description.endswith("(could not be evaluated: boom: no GROUP BY here)")
