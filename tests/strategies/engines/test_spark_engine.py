"""Spark engine: file/table/SQL sources, write refusal, close drops only its own views."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from strategies.engines import EngineSettings, SourceSpec
from strategies.engines.spark_engine import SparkEngine
from strategies.errors import ConfigError, InputDataError


@pytest.fixture()
def spark(spark_settings: EngineSettings) -> SparkEngine:
    eng = SparkEngine(spark_settings)
    yield eng
    eng.close()


def test_csv_gz_source_with_header_and_types(spark: SparkEngine, tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt") as fh:
        pd.DataFrame({"Unit ID": [1, 2, 3], "rev": [0.5, 1.5, None]}).to_csv(fh, index=False)
    spark.register_source(SourceSpec(path=str(path)))
    assert [(c.name, c.kind) for c in spark.columns("source")] == [
        ("Unit ID", "numeric"),
        ("rev", "numeric"),
    ]
    got = spark.fetch('SELECT SUM("Unit ID") AS s, SUM(rev) AS r, COUNT(rev) AS n FROM source')
    assert got.iloc[0].tolist() == [6, 2.0, 2]


def test_sql_and_table_sources(spark: SparkEngine) -> None:
    spark.register_source(SourceSpec(sql="SELECT id AS x FROM range(5)"))
    spark.create_temp_table("Five", "SELECT x FROM source")
    spark.register_source(SourceSpec(table="Five"))
    assert spark.fetch("SELECT MAX(x) AS m FROM source")["m"].tolist() == [4]


@pytest.mark.parametrize("sql", ["INSERT INTO t SELECT 1", "DROP TABLE t", "SET x = 1"])
def test_write_query_refused(spark: SparkEngine, sql: str) -> None:
    with pytest.raises(ConfigError, match="read-only SELECT/WITH"):
        spark.register_source(SourceSpec(sql=sql))


def test_missing_file_and_bad_suffix(spark: SparkEngine, tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="not found"):
        spark.register_source(SourceSpec(path=str(tmp_path / "nope.parquet")))
    with pytest.raises(ConfigError, match="unsupported data file type"):
        spark.register_source(SourceSpec(path=str(tmp_path / "x.xlsx")))


def test_close_drops_own_views_keeps_session(spark_settings: EngineSettings) -> None:
    eng = SparkEngine(spark_settings)
    eng.register_source(SourceSpec(sql="SELECT 1 AS a"))
    eng.create_temp_table("Mine Only", "SELECT a FROM source")
    session = eng.spark
    eng.close()
    names = {t.name for t in session.catalog.listTables()}
    assert "source" not in names and "Mine Only" not in names
    assert session.sql("SELECT 1 AS a").collect()[0]["a"] == 1  # session still usable


def test_missing_java_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from strategies.engines import spark_engine

    monkeypatch.setattr(spark_engine, "_java_available", lambda: False)
    with pytest.raises(ConfigError, match="openjdk-17-jre-headless"):
        spark_engine.spark_session(EngineSettings(name="spark"))


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from strategies.engines import spark_engine

    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'liftlab\[spark\]'"):
        spark_engine.spark_session(EngineSettings(name="spark"))


def test_spark_query_reads_only_declared_files(tmp_path) -> None:
    """Spark SQL reads files by path (``parquet.`…```); only declared paths pass, and table
    functions are refused — checked before Spark runs anything."""
    from strategies.engines.dialects import check_spark_paths

    data = tmp_path / "data"
    data.mkdir()
    inside = data / "events.parquet"
    check_spark_paths(f"SELECT * FROM parquet.`{inside}`", [str(data)])
    check_spark_paths("SELECT * FROM sales.orders", [])
    with pytest.raises(ConfigError, match="allowed_paths .*reads parquet.`/etc/passwd`"):
        check_spark_paths("SELECT * FROM parquet.`/etc/passwd`", [str(data)])
    with pytest.raises(ConfigError, match="reads csv"):
        check_spark_paths(f"SELECT * FROM csv.`{data}/../other.csv`", [str(data)])
    with pytest.raises(ConfigError, match="table functions"):
        check_spark_paths("SELECT * FROM read_files('/tmp')", [])


def test_spark_range_is_not_a_file_reader() -> None:
    from strategies.engines.dialects import check_spark_paths

    check_spark_paths("SELECT id FROM range(5)", [])
