"""A column named twice must not be silently renamed (DuckDB: ``revenue_1``, pandas:
``revenue.1``) with the analysis reading only the first: it is refused, naming file and column."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from strategies.errors import ConfigError, InputDataError
from strategies.ingest import load_source, load_table


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("user_id,revenue,revenue\nu1,1,2\n", "'revenue'"),
        ("user_id;revenue;clicks;revenue;clicks\nu1;1;2;3;4\n", "'revenue'; 'clicks'"),
        ("user_id,revenue,Revenue\nu1,1,2\n", "'revenue' / 'Revenue'"),
        ('"user_id","a,b","a,b"\nu1,1,2\n', "'a,b'"),
    ],
    ids=["comma", "semicolon-two-names", "case-only", "quoted"],
)
def test_csv_with_duplicate_header_is_refused(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text(text)
    with pytest.raises(
        InputDataError, match=rf"events\.csv has duplicate column name\(s\): {names};"
    ):
        load_table(path)


def test_gzipped_csv_with_duplicate_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("user_id,revenue,revenue\nu1,1,2\n")
    with pytest.raises(InputDataError, match="events.csv.gz has duplicate column name.*'revenue'"):
        load_table(path)


def test_parquet_with_duplicate_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    table = pa.Table.from_arrays(
        [pa.array(["u1", "u2"]), pa.array([1, 2]), pa.array([3, 4])],
        names=["user_id", "revenue", "revenue"],
    )
    pq.write_table(table, path)
    with pytest.raises(InputDataError, match=r"events\.parquet has duplicate column.*'revenue'"):
        load_table(path)


def test_duplicate_header_refused_when_file_is_the_sql_source(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,revenue,revenue\nu1,1,2\n")
    with pytest.raises(InputDataError, match="duplicate column name.*'revenue'"):
        load_source(path, sql="SELECT user_id, revenue FROM source")


def test_query_result_with_duplicate_names_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,revenue\nu1,1\n")
    with pytest.raises(ConfigError, match=r"result has duplicate column name\(s\): 'user_id'"):
        load_source(path, sql="SELECT s.*, t.* FROM source s JOIN source t USING (revenue)")


def test_similar_but_distinct_names_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("revenue,revenue_1,revenue.1,Revenue2\n1,2,3,4\n")
    assert list(load_table(path).columns) == ["revenue", "revenue_1", "revenue.1", "Revenue2"]
