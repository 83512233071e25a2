"""Tests for strategies.ingest: DuckDB-backed loading into plain numpy-backed frames."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from strategies.errors import ConfigError, InputDataError
from strategies.ingest import file_fingerprint, load_source, load_table

CSV_TEXT = (
    "user_id,variant,clicks,revenue,converted\nu1,A,1,2.5,true\nu2, b,,3,false\nu3,,3,,true\n"
)


def _assert_plain_dtypes(df: pd.DataFrame) -> None:
    """Every column is numpy-backed (no pyarrow-backed or nullable extension dtypes)."""
    for name, dtype in df.dtypes.items():
        assert isinstance(dtype, np.dtype), f"{name} has extension dtype {dtype!r}"


def _assert_text(series: pd.Series) -> None:
    """Text columns are object dtype holding Python str (pandas 3 would default to `str`)."""
    assert series.dtype == object
    assert all(type(v) is str for v in series.dropna())


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(CSV_TEXT)
    return path


def test_load_csv_types_and_values(csv_file: Path) -> None:
    df = load_table(csv_file)
    _assert_plain_dtypes(df)
    assert list(df.columns) == ["user_id", "variant", "clicks", "revenue", "converted"]
    _assert_text(df["user_id"])
    _assert_text(df["variant"])
    # A missing value in an integer column makes it float64 with NaN, not nullable Int64.
    assert df["clicks"].dtype == np.float64
    assert np.isnan(df.loc[1, "clicks"])
    assert df["revenue"].dtype == np.float64
    assert df["converted"].dtype == bool
    # Whitespace is kept: normalising labels is a cleaning strategy's audited job.
    assert df["variant"].tolist()[:2] == ["A", " b"]
    assert pd.isna(df.loc[2, "variant"])
    assert isinstance(df.loc[0, "user_id"], str)


def test_load_csv_complete_int_column_is_int64(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,n\n1,10\n2,20\n")
    df = load_table(str(path))
    assert df["n"].dtype == np.int64
    assert df["n"].tolist() == [10, 20]


def test_csv_type_inference_scans_whole_file(tmp_path: Path) -> None:
    # DuckDB's default sniffer samples ~20k rows; a late text value must not break the read.
    path = tmp_path / "late.csv"
    lines = ["id,code"] + [f"{i},{i}" for i in range(30_000)] + ["30000,abc"]
    path.write_text("\n".join(lines) + "\n")
    df = load_table(path)
    assert len(df) == 30_001
    assert df["id"].dtype == np.int64
    _assert_text(df["code"])
    assert df["code"].iloc[-1] == "abc"


def test_load_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "events.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(CSV_TEXT)
    df = load_table(path)
    assert len(df) == 3
    assert df["user_id"].tolist() == ["u1", "u2", "u3"]


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_load_parquet(tmp_path: Path, suffix: str) -> None:
    source = pd.DataFrame(
        {
            "user_id": ["u1", "u2", None],
            "impressions": pd.array([10, 20, 30], dtype="Int64"),
            "clicks": pd.array([1, None, 3], dtype="Int32"),
            "revenue": [1.5, np.nan, 2.0],
        }
    )
    path = tmp_path / f"events{suffix}"
    source.to_parquet(path)
    df = load_table(path)
    _assert_plain_dtypes(df)
    assert df["impressions"].dtype == np.int64
    assert df["clicks"].dtype == np.float64
    _assert_text(df["user_id"])
    assert df["user_id"].tolist()[:2] == ["u1", "u2"]
    assert pd.isna(df["user_id"].iloc[2])
    assert df["revenue"].iloc[0] == 1.5


def test_load_sql_over_parquet(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pd.DataFrame({"variant": ["A", "B", "A"], "clicks": [1, 2, 3]}).to_parquet(path)
    df = load_table(
        sql=f"SELECT variant, SUM(clicks) AS clicks, COUNT(*) AS n FROM read_parquet('{path}') "
        "WHERE clicks > 0 GROUP BY variant ORDER BY variant",
        allowed_paths=[path],
    )
    _assert_plain_dtypes(df)
    assert df["variant"].tolist() == ["A", "B"]
    # SUM of BIGINT is a 128-bit HUGEINT in DuckDB; it must come back as int64, not float64.
    assert df["clicks"].dtype == np.int64
    assert df["clicks"].tolist() == [4, 2]
    assert df["n"].dtype == np.int64


def test_load_sql_nullable_result_types() -> None:
    df = load_table(
        sql="SELECT * FROM (VALUES (1, 'x', true, 1.5), (NULL, NULL, NULL, NULL)) t(a, b, c, d)"
    )
    _assert_plain_dtypes(df)
    _assert_text(df["b"])
    assert df["a"].dtype == np.float64
    assert df["d"].dtype == np.float64
    # A boolean column with a missing value is object so the gap is not read as False.
    assert df["c"].dtype == object
    assert df["c"].iloc[0] is True
    assert pd.isna(df["c"].iloc[1])


def test_empty_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputDataError, match="returned no rows"):
        load_table(path)


def test_header_only_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("user_id,variant,clicks\n")
    with pytest.raises(InputDataError, match="returned no rows"):
        load_table(path)


def test_empty_parquet_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(path)
    with pytest.raises(InputDataError, match="returned no rows"):
        load_table(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputDataError, match="data file not found: .*nope.csv"):
        load_table(path)


def test_unsupported_suffix_raises(tmp_path: Path) -> None:
    path = tmp_path / "events.xlsx"
    path.write_text("irrelevant")
    with pytest.raises(ConfigError, match=r"unsupported data file type .*\.csv, \.csv\.gz"):
        load_table(path)


def test_corrupt_parquet_raises_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_text("this is not parquet")
    with pytest.raises(InputDataError, match="could not read data file"):
        load_table(path)


def test_bad_sql_raises_config_error_with_duckdb_message() -> None:
    with pytest.raises(ConfigError, match="SQL query failed: Parser Error") as info:
        load_table(sql="SELEC 1")
    assert isinstance(info.value.__cause__, duckdb.Error)


def test_sql_referencing_missing_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SQL query failed"):
        load_table(
            sql=f"SELECT * FROM read_parquet('{tmp_path / 'missing.parquet'}')",
            allowed_paths=[tmp_path],
        )


def test_sql_with_no_rows_raises() -> None:
    with pytest.raises(InputDataError, match="SQL query returned no rows"):
        load_table(sql="SELECT * FROM range(0)")


@pytest.mark.parametrize(
    "kwargs", [{}, {"path": "x.csv", "sql": "SELECT 1"}], ids=["neither", "both"]
)
def test_exactly_one_source_required(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="exactly one of 'path' or 'sql'"):
        load_table(**kwargs)


def test_load_source_query_over_file_as_view(csv_file: Path) -> None:
    df = load_source(csv_file, sql="SELECT user_id, clicks FROM source WHERE clicks IS NOT NULL")
    _assert_plain_dtypes(df)
    assert df["user_id"].tolist() == ["u1", "u3"]
    assert df["clicks"].dtype == np.int64


def test_load_source_single_sources_behave_like_load_table(csv_file: Path) -> None:
    pd.testing.assert_frame_equal(load_source(csv_file), load_table(csv_file))
    pd.testing.assert_frame_equal(load_source(sql="SELECT 1 AS a"), load_table(sql="SELECT 1 AS a"))


def test_load_source_errors(csv_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no data source"):
        load_source()
    with pytest.raises(ConfigError, match="Binder Error"):
        load_source(csv_file, sql="SELECT nope FROM source")
    with pytest.raises(InputDataError, match="returned no rows"):
        load_source(csv_file, sql="SELECT * FROM source WHERE false")
    with pytest.raises(InputDataError, match="data file not found"):
        load_source(tmp_path / "missing.parquet", sql="SELECT * FROM source")


def test_file_fingerprint_matches_sha256(csv_file: Path) -> None:
    expected = hashlib.sha256(csv_file.read_bytes()).hexdigest()
    assert file_fingerprint(csv_file) == expected
    assert file_fingerprint(str(csv_file)) == expected


def test_file_fingerprint_streams_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 20_000  # ~5 MB, several chunks
    path.write_bytes(data)
    assert file_fingerprint(path) == hashlib.sha256(data).hexdigest()


def test_file_fingerprint_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="data file not found"):
        file_fingerprint(tmp_path / "nope.csv")
