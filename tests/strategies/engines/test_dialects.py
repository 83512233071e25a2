# ruff: noqa: E501  (golden SQL strings are compared whole, one per line)
"""Transpilation of liftlab's DuckDB SQL to PostgreSQL and Spark: golden strings for each
construct (their execution is checked in test_same_results.py), overrides, helpers, errors."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from strategies.engines.dialects import (
    check_read_only,
    hash_bucket,
    literal,
    quote_ident,
    to_dialect,
)
from strategies.errors import ConfigError

GOLDEN = {
    "quantile_cont": (
        "SELECT quantile_cont(x, 0.5) AS q FROM t",
        'SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY "x") AS "q" FROM "t"',
        "SELECT PERCENTILE(`x`, 0.5) AS `q` FROM `t`",
    ),
    "count_filter": (
        "SELECT COUNT(*) FILTER (WHERE x > 1) AS n FROM t",
        'SELECT COUNT(*) FILTER(WHERE "x" > 1) AS "n" FROM "t"',
        "SELECT COUNT(*) FILTER(WHERE `x` > 1) AS `n` FROM `t`",
    ),
    "grouping_sets": (
        "SELECT a, GROUPING(a) AS g, SUM(x) AS s FROM t GROUP BY GROUPING SETS ((a), ())",
        'SELECT "a", GROUPING("a") AS "g", SUM("x") AS "s" FROM "t" GROUP BY GROUPING SETS (("a"), ())',
        "SELECT `a`, GROUPING(`a`) AS `g`, SUM(`x`) AS `s` FROM `t` GROUP BY GROUPING SETS ((`a`), ())",
    ),
    "window": (
        "SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY x) AS rn, RANK() OVER (PARTITION BY a ORDER BY x DESC) AS r, SUM(x) OVER (PARTITION BY a ORDER BY x) AS s FROM t",
        'SELECT ROW_NUMBER() OVER (PARTITION BY "a" ORDER BY "x") AS "rn", RANK() OVER (PARTITION BY "a" ORDER BY "x" DESC NULLS LAST) AS "r", SUM("x") OVER (PARTITION BY "a" ORDER BY "x") AS "s" FROM "t"',
        "SELECT ROW_NUMBER() OVER (PARTITION BY `a` ORDER BY `x` NULLS LAST) AS `rn`, RANK() OVER (PARTITION BY `a` ORDER BY `x` DESC) AS `r`, SUM(`x`) OVER (PARTITION BY `a` ORDER BY `x` NULLS LAST) AS `s` FROM `t`",
    ),
    "md5": (
        "SELECT md5(CAST(x AS VARCHAR)) AS h FROM t",
        'SELECT MD5(CAST("x" AS TEXT)) AS "h" FROM "t"',
        "SELECT MD5(CAST(`x` AS STRING)) AS `h` FROM `t`",
    ),
    "casts_and_text": (
        "SELECT CAST(x AS DOUBLE) AS d, CAST(x AS BIGINT) AS b, TRIM(s) AS t, LOWER(s) AS l, COALESCE(x, 0) AS c FROM t",
        'SELECT CAST("x" AS DOUBLE PRECISION) AS "d", CAST("x" AS BIGINT) AS "b", TRIM("s") AS "t", LOWER("s") AS "l", COALESCE("x", 0) AS "c" FROM "t"',
        "SELECT CAST(`x` AS DOUBLE) AS `d`, CAST(`x` AS BIGINT) AS `b`, TRIM(`s`) AS `t`, LOWER(`s`) AS `l`, COALESCE(`x`, 0) AS `c` FROM `t`",
    ),
    "date_trunc": (
        "SELECT date_trunc('day', ts) AS d, date_trunc('week', ts) AS w FROM t",
        'SELECT DATE_TRUNC(\'DAY\', "ts") AS "d", DATE_TRUNC(\'WEEK\', "ts") AS "w" FROM "t"',
        "SELECT DATE_TRUNC('DAY', `ts`) AS `d`, DATE_TRUNC('WEEK', `ts`) AS `w` FROM `t`",
    ),
    "count_distinct": (
        "SELECT COUNT(DISTINCT a) AS n FROM t",
        'SELECT COUNT(DISTINCT "a") AS "n" FROM "t"',
        "SELECT COUNT(DISTINCT `a`) AS `n` FROM `t`",
    ),
    "quoted_identifiers": (
        'SELECT "Revenue (EUR)" AS "Total Rev" FROM t',
        'SELECT "Revenue (EUR)" AS "Total Rev" FROM "t"',
        "SELECT `Revenue (EUR)` AS `Total Rev` FROM `t`",
    ),
    "distinct_star": (
        "SELECT DISTINCT * FROM t",
        'SELECT DISTINCT * FROM "t"',
        "SELECT DISTINCT * FROM `t`",
    ),
    "string_literals": (
        "SELECT 'it''s' AS s, 'back\\slash' AS b",
        "SELECT 'it''s' AS \"s\", 'back\\slash' AS \"b\"",
        "SELECT 'it\\'s' AS `s`, 'back\\\\slash' AS `b`",
    ),
    "hex_to_int": (
        "SELECT CAST(('0x' || substr(h, 1, 7)) AS BIGINT) AS v FROM t",
        'SELECT CAST(CAST((\'x\' || LPAD(SUBSTRING("h" FROM 1 FOR 7), 16, \'0\')) AS BIT(64)) AS BIGINT) AS "v" FROM "t"',
        "SELECT CAST(CONV(SUBSTRING(`h`, 1, 7), 16, 10) AS BIGINT) AS `v` FROM `t`",
    ),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_translations(name: str) -> None:
    duck, postgres, spark = GOLDEN[name]
    assert to_dialect(duck, "postgres") == postgres
    assert to_dialect(duck, "spark") == spark


def test_duckdb_is_identity_without_round_trip() -> None:
    sql = "SELECT  quantile_cont(x, 0.5)  FROM t -- kept exactly"
    assert to_dialect(sql, "duckdb") is sql


def test_overrides_fix_what_sqlglot_gets_wrong() -> None:
    # Without the override SQLGlot writes PERCENTILE_CONT(x, q), which Spark refuses.
    assert "PERCENTILE(`x`, 0.25)" in to_dialect("SELECT quantile_cont(x, 0.25) FROM t", "spark")
    # CAST('0x…' AS BIGINT) raises on PostgreSQL and is NULL on Spark: both are rewritten.
    sql = "SELECT CAST(('0x' || 'ff') AS BIGINT)"
    assert "BIT(64)" in to_dialect(sql, "postgres") and "'0x'" not in to_dialect(sql, "postgres")
    assert "CONV('ff', 16, 10)" in to_dialect(sql, "spark")
    # A cast of other text is left alone.
    assert to_dialect("SELECT CAST(('1' || '2') AS BIGINT)", "spark").startswith("SELECT CAST(")
    assert "CONV" not in to_dialect("SELECT CAST(('1' || '2') AS BIGINT)", "spark")


@pytest.mark.parametrize(
    ("sql", "dialect", "message"),
    [
        ("SELECT 1; SELECT 2", "postgres", "exactly one SQL statement, found 2"),
        ("SELECT FROM WHERE (", "spark", "could not parse"),
        ("SELECT 1", "mysql", "unknown SQL dialect 'mysql'"),
        ("   ", "postgres", "empty SQL"),
    ],
)
def test_to_dialect_errors(sql: str, dialect: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        to_dialect(sql, dialect)


def test_quote_ident() -> None:
    assert quote_ident("Revenue (EUR)") == '"Revenue (EUR)"'
    assert quote_ident('a"b') == '"a""b"'
    assert to_dialect(f"SELECT {quote_ident('a`b')} FROM t", "spark") == "SELECT `a``b` FROM `t`"
    with pytest.raises(ConfigError, match="non-empty"):
        quote_ident("")


def test_quote_ident_cannot_inject() -> None:
    evil = 'x" FROM t; DROP TABLE t; --'
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({quote_ident(evil)} INTEGER)")
    con.execute("INSERT INTO t VALUES (1)")
    assert con.execute(f"SELECT {quote_ident(evil)} FROM t").fetchall() == [(1,)]


def test_literal_forms() -> None:
    assert literal("it's") == "'it''s'"
    assert literal(None) == "NULL"
    assert literal(True) == "TRUE" and literal(False) == "FALSE"
    assert literal(42) == "42"
    assert literal(0.1) == "CAST('0.1' AS DOUBLE)"
    assert literal(float("nan")) == "CAST('NaN' AS DOUBLE)"
    with pytest.raises(ConfigError, match="cannot write a dict value"):
        literal({"a": 1})
    with pytest.raises(ConfigError, match="NUL"):
        literal("a\x00b")


def test_literal_values_survive_duckdb_exactly() -> None:
    values = ["it's", "'; DROP TABLE t; --", 0.1, 1 / 3, 5e-324, -(2**63) + 1, True, None]
    row = duckdb.sql("SELECT " + ", ".join(literal(v) for v in values)).fetchall()[0]
    assert list(row) == values


def test_hash_bucket_sql_equals_python_on_duckdb() -> None:
    rows = duckdb.sql(
        f"SELECT s, {hash_bucket('s', 'seed', 13)} FROM (VALUES ('a'), ('it''s'), ('日本')) v(s)"
    ).fetchall()
    for text, bucket in rows:
        assert bucket == int(hashlib.md5(f"seed:{text}".encode()).hexdigest()[:7], 16) % 13


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x", "s", 0), "positive integer"),
        (("x", "s", True), "positive integer"),
        (("x", "s", 1 << 29), "at most"),
        (("x", 1.5, 2), "seed"),
        (("  ", "s", 2), "SQL text"),
    ],
)
def test_hash_bucket_bad_arguments(args: tuple, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        hash_bucket(*args)


@pytest.mark.parametrize("dialect", ["postgres", "spark"])
@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("DELETE FROM t", "DELETE"),
        ("UPDATE t SET a = 1", "UPDATE"),
        ("INSERT INTO t SELECT 1", "INSERT"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE"),
        ("CREATE TABLE x AS SELECT 1", "CREATE"),
        ("DROP TABLE t", "DROP"),
        ("ALTER TABLE t ADD COLUMN b INT", "ALTER"),
        ("SELECT 1; DROP TABLE t", "2 statements"),
        ("SET search_path = x", "SET"),
    ],
)
def test_check_read_only_refuses_writes(dialect: str, sql: str, found: str) -> None:
    with pytest.raises(ConfigError, match=found):
        check_read_only(sql, dialect)


@pytest.mark.parametrize("dialect", ["postgres", "spark"])
def test_check_read_only_accepts_queries(dialect: str) -> None:
    check_read_only("WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT 2", dialect)


def test_int_hash_bucket_is_uniform_seeded_and_matches_python() -> None:
    """100 000 consecutive ids into 20 buckets: equal frequencies (chi-square), another seed
    gives another partition, and the SQL equals the formula in Python."""
    import numpy as np
    from scipy import stats

    from strategies.engines.dialects import int_hash_bucket, int_hash_params
    from strategies.engines.duckdb_engine import DuckDBEngine

    with DuckDBEngine() as eng:
        got = eng.fetch(
            f"SELECT i, {int_hash_bucket('i', 0, 20)} AS b, {int_hash_bucket('i', 1, 20)} AS c "
            "FROM range(100000) AS t(i) ORDER BY i"
        )
    counts = np.bincount(got["b"].to_numpy(), minlength=20)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert (got["b"] != got["c"]).mean() > 0.9  # about 19/20 differ
    a, b = int_hash_params(0)
    p = 2**31 - 1
    assert got["b"].tolist() == [((a * i + b) % p) % 20 for i in got["i"]]
    with pytest.raises(ConfigError, match="positive integer"):
        int_hash_bucket("i", 0, 0)
