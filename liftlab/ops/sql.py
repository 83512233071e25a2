"""``liftlab sql``: one read-only query on the DuckDB warehouse, without a DuckDB CLI.

The venv has DuckDB's Python package, not its command-line client, so the README's
``duckdb outputs/liftlab.duckdb "SELECT …"`` fails on a fresh install. This opens the database
**read-only** (``read_only=True``: DuckDB itself refuses any change) and accepts exactly one
query statement (:func:`strategies.ingest.check_query`, the rule for SQL in configs), so a
mistyped command can never alter the gold tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.ingest import check_query

__all__ = ["format_table", "query_warehouse"]


def query_warehouse(database: Path, sql: str) -> pd.DataFrame:
    """The result of one read-only query on ``database`` (a DuckDB file)."""
    try:
        check_query(sql)
    except ConfigError as exc:
        text = str(exc)
        if "; found " not in text:  # not parsed: DuckDB's own message says where
            raise
        raise ConfigError(
            "liftlab sql is read-only: it runs one query (SELECT, WITH, DESCRIBE, SHOW, "
            f"SUMMARIZE); found {text.split('; found ', 1)[1]}"
        ) from None
    if not database.is_file():
        raise InputDataError(
            f"no warehouse at {database}: `make demo` (or any pipeline with a duckdb_path) "
            "creates it; --db names another DuckDB file"
        )
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            return con.execute(sql).fetchdf()
    except duckdb.Error as exc:
        raise ConfigError(f"query failed on {database}: {exc}") from None


def format_table(frame: pd.DataFrame, max_rows: int) -> str:
    """An aligned text table (the first ``max_rows`` rows) and a line saying how many rows
    there are, as a SQL shell prints it."""
    if frame.columns.empty:
        return "(no columns)"
    shown = frame.head(max_rows)
    text = shown.to_string(index=False, na_rep="NULL") if len(shown) else "  ".join(frame.columns)
    more = len(frame) - len(shown)
    count = f"({len(frame):,} row{'s' if len(frame) != 1 else ''}"
    count += f"; {more:,} not shown, --max-rows or --csv for all)" if more else ")"
    return f"{text}\n{count}"
