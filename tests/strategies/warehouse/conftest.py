"""A tiny local DuckDB implementation of the engine contract, for the warehouse tests.

The real engines (strategies/engines/, written in parallel) will replace it; until then this
keeps the warehouse SQL testable in milliseconds. Every query it receives is also transpiled by
SQLGlot to PostgreSQL and Spark with unsupported constructs raising, so SQL that only DuckDB
understands fails here rather than on a warehouse later.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from strategies.engines.base import Column, SourceSpec, SqlEngine

_KINDS = {
    "numeric": (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "DOUBLE",
        "DECIMAL",
    ),
    "boolean": ("BOOLEAN",),
    "text": ("VARCHAR",),
    "temporal": ("DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "INTERVAL"),
}


def _kind(engine_type: str) -> str:
    base = engine_type.split("(")[0].strip().upper()
    for kind, names in _KINDS.items():
        if base in names or (kind == "temporal" and base.startswith("TIMESTAMP")):
            return kind
    return "other"


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Numpy-backed dtypes as the contract promises (ints with NULLs -> float64, str -> object)."""
    out = {}
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[name] = s.astype(object).where(s.notna(), np.nan) if s.isna().any() else s
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[name] = s.astype(np.int64) if not s.isna().any() else s.astype(np.float64)
        elif pd.api.types.is_float_dtype(s.dtype):
            out[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        elif pd.api.types.is_string_dtype(s.dtype) and not isinstance(s.dtype, np.dtype):
            out[name] = pd.Series(s.to_numpy(dtype=object, na_value=np.nan), dtype=object)
        else:
            out[name] = s
    return pd.DataFrame(out, columns=list(df.columns)).reset_index(drop=True)


def check_portable(sql: str) -> None:
    """Fail if SQLGlot cannot write ``sql`` (DuckDB dialect) for PostgreSQL and Spark."""
    for dialect in ("postgres", "spark"):
        sqlglot.transpile(sql, read="duckdb", write=dialect, unsupported_level=ErrorLevel.RAISE)


class LocalDuckDB(SqlEngine):
    """In-memory DuckDB with a pandas frame copied into the table ``source``."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        self.con = duckdb.connect(":memory:")
        self.queries: list[str] = []
        if frame is not None:
            self.load(frame)

    def load(self, frame: pd.DataFrame, name: str = "source") -> None:
        self.con.register("__frame", frame)
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "__frame"')
        self.con.unregister("__frame")

    def register_source(self, source: SourceSpec) -> None:  # pragma: no cover - not needed
        raise NotImplementedError

    def fetch(self, sql: str) -> pd.DataFrame:
        check_portable(sql)
        self.queries.append(sql)
        return _plain(self.con.execute(sql).df())

    def create_temp_table(self, name: str, sql: str) -> None:
        check_portable(sql)
        self.queries.append(sql)
        self.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS {sql}')

    def columns(self, relation: str) -> list[Column]:
        rows = self.con.execute(f'DESCRIBE SELECT * FROM "{relation}"').fetchall()
        return [Column(name=r[0], kind=_kind(r[1]), engine_type=r[1]) for r in rows]

    def close(self) -> None:
        self.con.close()


@pytest.fixture
def engine_for():
    """Build LocalDuckDB engines over frames; all are closed after the test."""
    made: list[LocalDuckDB] = []

    def make(frame: pd.DataFrame) -> LocalDuckDB:
        engine = LocalDuckDB(frame)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()
