"""The same query gives equal frames on DuckDB, PostgreSQL and Spark (needs all three)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy import stats

from strategies.engines import SqlEngine, hash_bucket, int_hash_bucket
from strategies.engines.dialects import int_hash_params
from strategies.engines.duckdb_engine import DuckDBEngine
from tests.strategies.engines.test_same_results import AGGREGATE, ROWS, _sorted


def test_all_engines_return_equal_frames(all_engines: dict[str, SqlEngine]) -> None:
    rows = {name: eng.fetch(ROWS) for name, eng in all_engines.items()}
    aggs = {name: _sorted(eng.fetch(AGGREGATE)) for name, eng in all_engines.items()}
    for name in ("postgres", "spark"):
        pd.testing.assert_frame_equal(rows[name], rows["duckdb"], check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(aggs[name], aggs["duckdb"], check_exact=False, rtol=1e-12)


def test_hash_bucket_identical_across_engines(all_engines: dict[str, SqlEngine]) -> None:
    expr = hash_bucket('"User ID"', "salt", 97)
    sql = f'SELECT "User ID" AS uid, {expr} AS b FROM source ORDER BY uid'
    frames = [eng.fetch(sql) for eng in all_engines.values()]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0], check_exact=True)
    assert frames[0]["b"].nunique() > 20  # 40 ids into 97 buckets: not a constant


def test_hash_bucket_roughly_uniform() -> None:
    """20 000 ids into 10 buckets: the counts pass a chi-square test of equal frequencies, and
    the engine's buckets equal Python's md5 computation for every id."""
    with DuckDBEngine() as eng:
        got = eng.fetch(
            f"SELECT i, {hash_bucket('i', 'exp-42', 10)} AS b FROM range(20000) AS t(i) ORDER BY i"
        )
    counts = np.bincount(got["b"].to_numpy(), minlength=10)
    assert counts.min() > 0 and len(counts) == 10
    assert stats.chisquare(counts).pvalue > 1e-3
    python = [int(hashlib.md5(f"exp-42:{i}".encode()).hexdigest()[:7], 16) % 10 for i in got["i"]]
    assert got["b"].tolist() == python


def test_int_hash_bucket_identical_across_engines(all_engines: dict[str, SqlEngine]) -> None:
    """Integer ids (negative and beyond 2**31 included) get the same bucket on every engine,
    equal to the Carter–Wegman formula computed in Python."""
    ids = [-(2**62), -7, -1, 0, 1, 2, 3, 41, 2**31 - 1, 2**31, 2**40 + 5, 2**62]
    values = ", ".join(f"({i})" for i in ids)
    bucket = int_hash_bucket("i", "salt", 97)
    sql = f"SELECT i, {bucket} AS b FROM (VALUES {values}) AS t(i) ORDER BY i"
    frames = [eng.fetch(sql) for eng in all_engines.values()]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0], check_exact=True)
    a, b = int_hash_params("salt")
    p = 2**31 - 1
    assert frames[0]["b"].tolist() == [((a * (i % p) + b) % p) % 97 for i in ids]


def test_temp_views_are_replaceable_and_equal_across_engines(
    all_engines: dict[str, SqlEngine],
) -> None:
    """``create_temp_view`` stores a query, not rows: replacing it changes what reads see, on
    every engine alike."""
    frames = {}
    for name, eng in all_engines.items():
        eng.create_temp_view("v", 'SELECT "User ID" AS uid FROM source')
        eng.create_temp_view("v", 'SELECT "User ID" AS uid, 1 AS one FROM source')
        assert [c.name for c in eng.columns("v")] == ["uid", "one"], name
        frames[name] = eng.fetch('SELECT uid, one FROM "v" ORDER BY uid')
    for name in ("postgres", "spark"):
        pd.testing.assert_frame_equal(frames[name], frames["duckdb"], check_dtype=False)
