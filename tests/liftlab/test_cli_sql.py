"""``liftlab sql``: read-only queries on the warehouse without a DuckDB CLI (liftlab.ops.sql)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from liftlab.cli import app

runner = CliRunner()


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "liftlab.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE gold_x AS "
            "SELECT * FROM (VALUES (1, 'a', 2.5), (2, 'bb', NULL)) t(id, name, value)"
        )
    return path


def test_prints_an_aligned_table_with_a_row_count(warehouse: Path) -> None:
    result = runner.invoke(app, ["sql", "--db", str(warehouse), "SELECT * FROM gold_x ORDER BY id"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "name", "value"]
    assert lines[1].split() == ["1", "a", "2.5"] and lines[2].split() == ["2", "bb", "NULL"]
    assert len({len(line) for line in lines[:3]}) == 1  # aligned columns
    assert lines[3] == "(2 rows)"


def test_csv_prints_every_row(warehouse: Path) -> None:
    result = runner.invoke(
        app, ["sql", "--db", str(warehouse), "--csv", "--max-rows", "1", "FROM gold_x ORDER BY id"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "id,name,value\n1,a,2.5\n2,bb,\n"


def test_max_rows_says_what_is_not_shown(warehouse: Path) -> None:
    result = runner.invoke(app, ["sql", "--db", str(warehouse), "--max-rows", "1", "FROM gold_x"])
    assert result.exit_code == 0
    assert "(2 rows; 1 not shown, --max-rows or --csv for all)" in result.output


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM gold_x",
        "DROP TABLE gold_x",
        "SELECT 1; DROP TABLE gold_x",
        "CREATE TABLE y AS SELECT 1",
        "ATTACH 'other.duckdb'",
    ],
)
def test_refuses_writes_and_leaves_the_warehouse_as_it_was(warehouse: Path, query: str) -> None:
    result = runner.invoke(app, ["sql", "--db", str(warehouse), query])
    assert result.exit_code == 2
    assert "liftlab sql is read-only" in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM gold_x").fetchone() == (2,)


def test_a_missing_warehouse_says_what_creates_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sql", "--db", str(tmp_path / "none.duckdb"), "SELECT 1"])
    assert result.exit_code == 2
    assert "make demo" in result.output
    assert not (tmp_path / "none.duckdb").exists()  # read-only: nothing created
