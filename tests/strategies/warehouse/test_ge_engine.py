"""Great Expectations on PostgreSQL query batches and Spark frames agrees with the pandas path.

The reference is :func:`strategies.validation.validate` on the same rows as a pandas frame:
for every clean and broken table below, each outcome's (expectation, column, success, skipped,
unexpected_count) on PostgreSQL and on Spark equals the pandas one. The PostgreSQL server and
Spark session are real (DESIGN.md §8); both skip, naming what to install, when absent.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import pytest

from strategies.engines.base import EngineSettings
from strategies.engines.spark_engine import spark_session
from strategies.errors import ConfigError, InputDataError
from strategies.validation import ValidationReport, ValidationRules, build_ab_rules, validate
from strategies.warehouse.ge_engine import validate_with_ge
from tests.services import free_port, load_postgres_table

# --------------------------------------------------------------------------------------------
# Fixtures: the shared PostgreSQL server (``postgres_url``) and Spark settings from
# tests/services.py; the session is the engines' own (one per process)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spark(spark_settings: EngineSettings):
    return spark_session(spark_settings)


def _cell(value: object) -> object:
    """A frame cell as a warehouse value: pandas' missing markers (NaN, NA, None) are NULL."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _spark_frame(spark, df: pd.DataFrame):
    from pyspark.sql import types as T

    def spark_type(series: pd.Series):
        if pd.api.types.is_bool_dtype(series):
            return T.BooleanType()
        if pd.api.types.is_integer_dtype(series):
            return T.LongType()
        if pd.api.types.is_float_dtype(series):
            return T.DoubleType()
        return T.StringType()

    schema = T.StructType([T.StructField(c, spark_type(df[c]), True) for c in df.columns])
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False)]
    return spark.createDataFrame(rows, schema)


# --------------------------------------------------------------------------------------------
# Tables: one clean campaign table and one broken copy per kind of problem
# --------------------------------------------------------------------------------------------


def _clean() -> pd.DataFrame:
    n = 40
    return pd.DataFrame(
        {
            "user_id": list(range(1, n + 1)),
            "variant": ["control", "treatment"] * (n // 2),
            "impressions": [10 + i % 7 for i in range(n)],
            "clicks": [i % 5 for i in range(n)],
            "conversions": [min(i % 2, i % 5) for i in range(n)],
            "revenue": [round(1.5 * (i % 9), 2) for i in range(n)],
            "converted": [bool(i % 2) for i in range(n)],
        }
    )


def _broken(kind: str) -> pd.DataFrame:
    df = _clean()
    if kind == "negative_counts":
        df.loc[[3, 8, 11], "impressions"] = [-1, -5, -2]
        df.loc[5, "clicks"] = -3
    elif kind == "clicks_over_impressions":
        df.loc[[0, 7], "clicks"] = [50, 99]
    elif kind == "unknown_variant":
        df.loc[[2, 4, 6], "variant"] = ["C", "holdout", "C"]
    elif kind == "null_ids":
        df["user_id"] = df["user_id"].astype("float64")
        df.loc[[1, 9], "user_id"] = float("nan")
        df.loc[12, "variant"] = None
    elif kind == "missing_column":
        df = df.drop(columns=["clicks"])
    elif kind == "text_number":
        df["revenue"] = df["revenue"].map(lambda v: f"{v:.2f}").astype(object)
        df.loc[[0, 3], "revenue"] = None
    elif kind == "duplicate_ids":
        df.loc[[4, 5, 6], "user_id"] = [1, 1, 2]
    else:  # pragma: no cover - test table typo
        raise AssertionError(kind)
    return df


KINDS = (
    "clean",
    "negative_counts",
    "clicks_over_impressions",
    "unknown_variant",
    "null_ids",
    "missing_column",
    "text_number",
    "duplicate_ids",
)


def _table(kind: str) -> pd.DataFrame:
    return _clean() if kind == "clean" else _broken(kind)


def _rules(df: pd.DataFrame) -> ValidationRules:
    """Campaign rules (funnel pairs, variants, non-negative counts, numeric revenue) plus a
    unique id, so every kind of rule runs."""
    rules = build_ab_rules(
        [*df.columns, "clicks"],  # the funnel always includes clicks: its absence must show
        unit_column="user_id",
        variant_column="variant",
        variants=["control", "treatment"],
        metric_columns=["revenue", "converted"],
        count_columns=["impressions", "clicks", "conversions"],
    )
    return ValidationRules(**{**rules.__dict__, "unique_columns": ("user_id",), "min_rows": 5})


def _key(report: ValidationReport) -> list[tuple]:
    return sorted(
        (o.expectation, o.column, o.success, o.skipped, o.unexpected_count) for o in report.outcomes
    )


# --------------------------------------------------------------------------------------------
# Agreement with pandas
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_tables(postgres_url: str) -> str:
    for kind in KINDS:
        load_postgres_table(postgres_url, kind, _table(kind))
    return postgres_url


@pytest.mark.parametrize("kind", KINDS)
def test_postgres_outcomes_equal_pandas(pg_tables: str, kind: str) -> None:
    df = _table(kind)
    rules = _rules(df)
    expected = validate(df, rules)
    got = validate_with_ge(rules=rules, postgres_url=pg_tables, query=f'SELECT * FROM "{kind}"')
    assert _key(got) == _key(expected)
    assert (got.success, got.n_rows) == (expected.success, expected.n_rows)
    assert (kind == "clean") == got.success


@pytest.mark.parametrize("kind", KINDS)
def test_spark_outcomes_equal_pandas(spark, kind: str) -> None:
    df = _table(kind)
    rules = _rules(df)
    expected = validate(df, rules)
    got = validate_with_ge(rules=rules, spark_frame=_spark_frame(spark, df))
    assert _key(got) == _key(expected)
    assert (got.success, got.n_rows) == (expected.success, expected.n_rows)


def test_each_broken_table_fails_the_rule_it_breaks(pg_tables: str) -> None:
    """Guard against agreeing by both being blind: each broken table fails where expected."""
    expected_failure = {
        "negative_counts": ("expect_column_values_to_be_between", "impressions", 3),
        "clicks_over_impressions": (
            "expect_column_pair_values_a_to_be_greater_than_b",
            "clicks <= impressions",
            2,
        ),
        "unknown_variant": ("expect_column_values_to_be_in_set", "variant", 3),
        "null_ids": ("expect_column_values_to_not_be_null", "user_id", 2),
        "missing_column": ("expect_column_to_exist", "clicks", 0),
        "text_number": ("expect_column_values_to_be_in_type_list", "revenue", 38),
        "duplicate_ids": ("expect_column_values_to_be_unique", "user_id", 5),
    }
    for kind, (expectation, column, count) in expected_failure.items():
        df = _table(kind)
        got = validate_with_ge(
            rules=_rules(df), postgres_url=pg_tables, query=f'SELECT * FROM "{kind}"'
        )
        failed = {(o.expectation, o.column): o.unexpected_count for o in got.failures()}
        assert failed.get((expectation, column)) == count, (kind, failed)


def test_text_column_skips_its_value_rules_and_shows_values(pg_tables: str, spark) -> None:
    df = _broken("text_number")
    rules = ValidationRules(
        required_columns=("revenue",),
        numeric_columns=("revenue",),
        non_negative_columns=("revenue",),
    )
    for report, found in (
        (
            validate_with_ge(
                rules=rules, postgres_url=pg_tables, query='SELECT * FROM "text_number"'
            ),
            "TEXT",
        ),
        (validate_with_ge(rules=rules, spark_frame=_spark_frame(spark, df)), "StringType"),
    ):
        (type_rule,) = [o for o in report.outcomes if o.expectation.endswith("in_type_list")]
        assert not type_rule.success and type_rule.unexpected_count == 38
        assert f"found type {found}" in type_rule.description
        assert type_rule.unexpected_examples == list(df["revenue"].dropna().head(5))
        assert [o.expectation for o in report.skipped()] == ["expect_column_values_to_be_between"]


def test_postgres_numeric_types_with_modifiers_count_as_numeric(pg_tables: str) -> None:
    """GE spells NUMERIC(10, 2) in full; it is numeric, a date is not."""
    rules = ValidationRules(numeric_columns=("price", "n", "small", "real", "day"))
    query = (
        "SELECT revenue::numeric(10, 2) AS price, impressions::numeric AS n, "
        "clicks::smallint AS small, revenue::real AS real, DATE '2024-01-01' AS day "
        'FROM "clean"'
    )
    report = validate_with_ge(rules=rules, postgres_url=pg_tables, query=query)
    verdict = {o.column: o.success for o in report.outcomes if o.expectation.endswith("type_list")}
    assert verdict == {"price": True, "n": True, "small": True, "real": True, "day": False}
    (day,) = report.failures()
    assert day.unexpected_count == 40 and "found type DATE" in day.description


def test_postgres_query_leaves_no_temp_table_behind(pg_tables: str) -> None:
    import psycopg

    validate_with_ge(rules=_rules(_clean()), postgres_url=pg_tables, query='SELECT * FROM "clean"')
    with psycopg.connect(pg_tables) as conn:
        deadline = time.monotonic() + 5
        while True:
            (left,) = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relpersistence = 't'"
            ).fetchone()
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert left == 0


def test_postgres_query_with_a_where_clause_and_percent_sign(pg_tables: str) -> None:
    """A cleaning-chain style query: filtered rows are what GE sees."""
    query = (
        'SELECT user_id, variant, impressions, clicks FROM "unknown_variant" '
        "WHERE variant NOT LIKE 'hold%'"
    )
    rules = ValidationRules(allowed_values={"variant": ("control", "treatment")})
    report = validate_with_ge(rules=rules, postgres_url=pg_tables, query=query)
    assert report.n_rows == 39
    (fail,) = report.failures()
    assert fail.unexpected_count == 2 and fail.unexpected_examples == ["C", "C"]


# --------------------------------------------------------------------------------------------
# Bad input: specific errors naming the argument, query or column
# --------------------------------------------------------------------------------------------


def test_bad_arguments_raise_config_errors(spark) -> None:
    rules = ValidationRules(required_columns=("a",))
    with pytest.raises(ConfigError, match="query is missing"):
        validate_with_ge(rules=rules, postgres_url="postgresql://x@127.0.0.1/db")
    with pytest.raises(ConfigError, match="not both"):
        validate_with_ge(rules=rules, query="SELECT 1", spark_frame=spark.range(1))
    with pytest.raises(ConfigError, match="exactly one SELECT"):
        validate_with_ge(
            rules=rules, postgres_url="postgresql://x@127.0.0.1/db", query="SELECT 1; DROP TABLE t"
        )
    with pytest.raises(ConfigError, match="exactly one SELECT"):
        validate_with_ge(
            rules=rules, postgres_url="postgresql://x@127.0.0.1/db", query="DELETE FROM t"
        )
    with pytest.raises(ConfigError, match="mysql://"):
        validate_with_ge(rules=rules, postgres_url="mysql://x@h/db", query="SELECT 1")
    with pytest.raises(ConfigError, match="pyspark DataFrame"):
        validate_with_ge(rules=rules, spark_frame=pd.DataFrame({"a": [1]}))


def test_unreachable_server_names_the_url_without_password() -> None:
    port = free_port()
    url = f"postgresql://liftlab:s3cret@127.0.0.1:{port}/db"
    with pytest.raises(ConfigError, match=f"127.0.0.1:{port}") as info:
        validate_with_ge(
            rules=ValidationRules(required_columns=("a",)), postgres_url=url, query="SELECT 1 AS a"
        )
    assert "s3cret" not in str(info.value)


def test_failing_query_and_duplicate_columns_raise_input_errors(pg_tables: str, spark) -> None:
    rules = ValidationRules(required_columns=("user_id",))
    with pytest.raises(InputDataError, match="no_such_table"):
        validate_with_ge(rules=rules, postgres_url=pg_tables, query="SELECT * FROM no_such_table")
    with pytest.raises(InputDataError, match="user_id"):
        validate_with_ge(
            rules=rules, postgres_url=pg_tables, query='SELECT user_id, user_id FROM "clean"'
        )
    frame = spark.createDataFrame([(1, 2)], "a long, b long").toDF("a", "a")
    with pytest.raises(InputDataError, match="duplicate column names: a"):
        validate_with_ge(rules=rules, spark_frame=frame)
