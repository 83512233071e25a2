"""The one test engine of the warehouse tests: the real DuckDB engine over a pandas frame.

:class:`LocalDuckDB` is :class:`strategies.engines.duckdb_engine.DuckDBEngine` (its fetch, temp
tables, column kinds and result dtypes are what production runs) with two test-only additions:

* a pandas frame is copied into the table ``source`` (the real engine reads files or SQL only),
  so a test states its data inline and runs in milliseconds;
* every query it receives is also transpiled by SQLGlot to PostgreSQL and Spark with
  unsupported constructs raising, so SQL that only DuckDB understands fails here rather than on
  a warehouse later; the queries are recorded in :attr:`LocalDuckDB.queries`.

The cross-engine runs on PostgreSQL and Spark live in tests/strategies/engines and
tests/e2e/test_engine_golden.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from strategies.engines.dialects import quote_ident
from strategies.engines.duckdb_engine import DuckDBEngine


def check_portable(sql: str) -> None:
    """Fail if SQLGlot cannot write ``sql`` (DuckDB dialect) for PostgreSQL and Spark."""
    for dialect in ("postgres", "spark"):
        sqlglot.transpile(sql, read="duckdb", write=dialect, unsupported_level=ErrorLevel.RAISE)


class LocalDuckDB(DuckDBEngine):
    """The real DuckDB engine with a pandas frame copied into the table ``source``."""

    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        super().__init__()
        self.queries: list[str] = []
        if frame is not None:
            self.load(frame)

    def load(self, frame: pd.DataFrame, name: str = "source") -> None:
        """Copy ``frame`` into the table ``name`` (replacing it)."""
        self._con.register("__liftlab_frame", frame)
        try:
            self._con.execute(
                f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT * FROM __liftlab_frame"
            )
        finally:
            self._con.unregister("__liftlab_frame")

    def fetch(self, sql: str) -> pd.DataFrame:
        check_portable(sql)
        self.queries.append(sql)
        return super().fetch(sql)

    def create_temp_table(self, name: str, sql: str) -> None:
        check_portable(sql)
        self.queries.append(sql)
        super().create_temp_table(name, sql)


@pytest.fixture
def engine_for() -> Iterator[Callable[[pd.DataFrame], LocalDuckDB]]:
    """Build LocalDuckDB engines over frames; all are closed after the test."""
    made: list[LocalDuckDB] = []

    def make(frame: pd.DataFrame) -> LocalDuckDB:
        engine = LocalDuckDB(frame)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()
