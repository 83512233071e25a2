"""The engine contract: where liftlab's SQL runs (DuckDB, PostgreSQL, Spark).

Heavy work over raw rows (cleaning, validation checks, sufficient statistics) is SQL run *in*
the engine that holds the data; only small tables (statistics, audits, check counts) come back
as pandas frames (DESIGN.md §5). liftlab writes each query **once**, in DuckDB's dialect (the
embedded default), and every engine transpiles it to its own dialect with SQLGlot
(:func:`strategies.engines.dialects.to_dialect`), so a query has one source and each dialect's
small overrides live in one place.

Names used by every engine:

* ``source`` — the relation holding the configured input (a file, a table or a user query),
  registered by :meth:`SqlEngine.register_source`. A job reading several inputs (the campaign
  warehouse's five tables) registers each under its own name (``register_source(spec, name)``).
* temp tables made by :meth:`SqlEngine.create_temp_table` — session-scoped intermediate
  relations (e.g. the cleaned table) that later queries of the same session read. On DuckDB
  they spill to the engine's spill folder under its memory limit; on Spark they are temp views
  persisted in memory and on disk; on PostgreSQL they are ``TEMP`` tables.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import pandas as pd

from strategies.errors import ConfigError, InputDataError

EngineName = Literal["duckdb", "postgres", "spark"]
ENGINE_NAMES: tuple[str, ...] = ("duckdb", "postgres", "spark")

#: Name of the relation holding the configured input, in every engine.
SOURCE = "source"


@dataclass(frozen=True)
class SourceSpec:
    """What the engine reads: exactly one of a data file, a table name or a read-only query.

    ``path`` — a CSV (plain or gzipped) or Parquet file (DuckDB and Spark);
    ``table`` — a table (optionally ``schema.table``) already in the engine (PostgreSQL, Spark);
    ``sql`` — one read-only SELECT/WITH query in the *engine's own* dialect (it is the user's
    SQL, not liftlab's, so it is not transpiled). ``allowed_paths`` are the extra files/folders
    a DuckDB query may read (DESIGN.md §7).
    """

    path: str | None = None
    table: str | None = None
    sql: str | None = None
    allowed_paths: tuple[str, ...] = field(default_factory=tuple)
    all_text: bool = False
    """Read every column of a CSV file as text (no type inference), for jobs that parse values
    themselves (bronze layers): inference would turn an id ``007`` into ``7``. Parquet files
    and tables keep their types."""


@dataclass(frozen=True)
class EngineSettings:
    """Which engine to open and how; built from the config's ``engine:`` block.

    ``duckdb``: embedded, in memory; ``memory_limit`` (DuckDB syntax, e.g. ``"2GB"``) caps its
    memory and ``spill_dir`` is where it spills beyond that (the caller passes a folder under
    the project, e.g. ``.liftlab/duckdb-spill``); ``threads`` defaults to DuckDB's own choice.
    ``postgres``: the connection URL is read from the environment variable ``url_env`` —
    never from YAML (DESIGN.md §7). ``spark``: ``spark_master`` (``local[*]`` by default, a
    cluster URL otherwise) and extra ``spark_conf`` key/value pairs.
    """

    name: EngineName = "duckdb"
    memory_limit: str | None = None
    spill_dir: str | None = None
    threads: int | None = None
    url_env: str = "LIFTLAB_POSTGRES_URL"
    spark_master: str = "local[*]"
    spark_conf: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Column:
    """A column of a relation as the engine types it, reduced to what checks need."""

    name: str
    kind: Literal["numeric", "boolean", "text", "temporal", "other"]
    engine_type: str


class SqlEngine(ABC):
    """One session on one engine. Use as a context manager; nothing outlives ``close``.

    All SQL passed to :meth:`fetch` and :meth:`create_temp_table` is liftlab's own, written in
    DuckDB's dialect; the engine transpiles it. User SQL only ever reaches
    :meth:`register_source`, which checks it is a single read-only query first.
    """

    name: ClassVar[str]
    dialect: ClassVar[str]
    """SQLGlot dialect name (``duckdb``, ``postgres``, ``spark``)."""

    @abstractmethod
    def register_source(self, source: SourceSpec, name: str = SOURCE) -> None:
        """Make the input readable as the relation ``name`` (``source`` unless a job reads
        several inputs); raise ConfigError/InputDataError naming the file, table or query when
        it cannot be read."""

    def set_time_zone(self, zone: str) -> None:
        """Make ``zone`` (an IANA name such as ``Europe/Paris``) the session time zone: text
        timestamps without an offset are read in it (PostgreSQL and Spark sessions start in
        UTC, DuckDB in the machine's zone). ConfigError for an
        unknown zone, or when the engine cannot change it now."""
        raise ConfigError(f"engine {self.name} cannot change its session time zone")

    @abstractmethod
    def fetch(self, sql: str) -> pd.DataFrame:
        """Run one query (DuckDB dialect, transpiled here) and return its result as a pandas
        frame with plain numpy dtypes (int64/float64/bool/object str; see
        :func:`strategies.ingest.plain_dtypes`). Only for small results."""

    @abstractmethod
    def create_temp_table(self, name: str, sql: str) -> None:
        """``CREATE TEMP TABLE name AS <sql>`` (replacing one of that name) in this session."""

    @abstractmethod
    def create_temp_view(self, name: str, sql: str) -> None:
        """``CREATE TEMP VIEW name AS <sql>`` (replacing one of that name) in this session:
        nothing is computed or stored until a query reads it."""

    @abstractmethod
    def columns(self, relation: str) -> list[Column]:
        """The columns of ``relation`` (``source`` or a temp table) in order."""

    @abstractmethod
    def close(self) -> None:
        """End the session and free what it holds (temp tables, spill files)."""

    def __enter__(self) -> SqlEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- shared helpers for the engine implementations ------------------------------------------


class QueryError(InputDataError):
    """The engine failed one of liftlab's queries (a missing column, a value that does not
    convert, a relation that does not exist). The message names the engine and keeps the
    engine's own error text and the SQL it ran. It is an :class:`InputDataError` because the
    queries are liftlab's own: what makes them fail is the data or the names in the config."""


def query_error(engine: str, sql: str, exc: BaseException) -> QueryError:
    """A :class:`QueryError` for ``sql`` (shortened) that failed on ``engine`` with ``exc``."""
    flat = " ".join(sql.split())
    if len(flat) > 300:
        flat = flat[:297] + "..."
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return QueryError(f"{engine} query failed: {first_line} — SQL: {flat}")


_NUMERIC_WORDS = (
    "INT",
    "SERIAL",
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "NUMERIC",
    "NUMBER",
    "BYTE",
    "SHORT",
    "LONG",
)
_TEXT_WORDS = ("CHAR", "TEXT", "STRING", "VARCHAR", "NAME", "UUID")
_TEMPORAL_WORDS = ("DATE", "TIME", "INTERVAL")


def column_kind(engine_type: str) -> Literal["numeric", "boolean", "text", "temporal", "other"]:
    """Reduce an engine's type name (DuckDB ``DECIMAL(10,2)``, PostgreSQL ``double precision``,
    Spark ``bigint``/``DecimalType(10,2)``) to the kind checks need. Lists, structs and maps
    are ``other`` whatever they hold."""
    upper = engine_type.strip().upper()
    if upper.endswith("[]") or upper.startswith(("ARRAY", "STRUCT", "MAP", "UNION", "LIST")):
        return "other"
    if upper.startswith("BOOL"):
        return "boolean"
    if any(word in upper for word in _TEMPORAL_WORDS):
        return "temporal"
    if any(word in upper for word in _TEXT_WORDS):
        return "text"
    if any(word in upper for word in _NUMERIC_WORDS):
        return "numeric"
    return "other"


_INTEGER_TYPE = re.compile(
    r"(u?(tiny|small|big|huge)?int(eger)?\d*|int[248]|long|short|byte|"
    r"(integer|long|short|byte)type)",
    re.IGNORECASE,
)


def is_integer_column(column: Column | None) -> bool:
    """Whether ``column`` has an integer type on its engine (DuckDB ``BIGINT``/``UBIGINT``/
    ``HUGEINT``…, PostgreSQL ``int4``/``bigint``…, Spark ``LongType``…)."""
    if column is None or column.kind != "numeric":
        return False
    return bool(_INTEGER_TYPE.fullmatch(column.engine_type.strip()))


def is_signed_int64_column(column: Column | None) -> bool:
    """An integer type whose every value fits a signed 64-bit BIGINT (not unsigned, not
    128-bit)."""
    if not is_integer_column(column):
        return False
    t = column.engine_type.strip().lower()  # type: ignore[union-attr]
    return not (t.startswith("u") or "huge" in t)


def finish_frame(df: pd.DataFrame, db_types: list[str] | None = None) -> pd.DataFrame:
    """The common result shape of :meth:`SqlEngine.fetch` on every engine.

    :func:`strategies.ingest.plain_dtypes` first (int64/float64/bool/object ``str``), then
    temporal columns — which each engine hands over differently (DuckDB ``datetime64[us]``,
    Spark ``datetime64[ns]``, PostgreSQL ``datetime``/``date`` objects, time zones or not) —
    become time-zone-naive ``datetime64[us]`` in UTC, so the same query gives equal frames
    on all three engines.
    """
    from strategies.ingest import plain_dtypes

    frame = plain_dtypes(df, db_types)
    if db_types is not None and len(db_types) != frame.shape[1]:
        db_types = None
    columns = []
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        db_type = db_types[i].strip().upper() if db_types is not None else ""
        date_like = column_kind(db_type) == "temporal" and not (
            "INTERVAL" in db_type or db_type == "TIME" or db_type.startswith("TIME ")
        )
        if pd.api.types.is_datetime64_any_dtype(col.dtype) or (date_like and col.dtype == object):
            values = pd.to_datetime(col, utc=True)
            col = values.dt.tz_localize(None).astype("datetime64[us]")
        columns.append(col.reset_index(drop=True))
    if not columns:
        return frame
    result = pd.concat(columns, axis=1)
    result.columns = frame.columns
    return result
