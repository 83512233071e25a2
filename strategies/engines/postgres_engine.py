"""PostgreSQL: liftlab's SQL runs inside the database that holds the rows (psycopg 3).

The connection URL comes from the environment variable named by ``settings.url_env`` — never from
YAML — and is never printed with its password (errors show ``user:***@host``). The session runs
in autocommit mode with its time zone set to UTC: each liftlab query stands alone (a failed one
cannot poison the next as it would inside an aborted transaction), and timestamps come back in
the same zone as on DuckDB and Spark. ``source`` and temp tables are session-scoped ``TEMP``
objects, gone when the connection closes.

The user's source SQL is checked to be one read-only SELECT/WITH query before it becomes the
view ``source``; that guards against mistakes, while the real boundary is a database role that
may only read (DESIGN.md §7).
"""

from __future__ import annotations

import decimal
import os
import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from strategies.engines.base import (
    SOURCE,
    Column,
    EngineSettings,
    SourceSpec,
    SqlEngine,
    column_kind,
    finish_frame,
    query_error,
)
from strategies.engines.dialects import check_read_only, quote_ident, to_dialect
from strategies.errors import ConfigError, InputDataError

__all__ = ["PostgresEngine", "mask_url"]

_URL_PASSWORD = re.compile(r"(?P<head>://[^:/@?#]*:)(?P<password>[^@/?#]*)@")
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<password>'[^']*'|\S+)", re.I)
_INT_TYPES = frozenset({"int2", "int4", "int8", "oid"})
_FLOAT_TYPES = frozenset({"float4", "float8"})
_TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "name", "char", "citext", "uuid"})
#: psycopg type names → the names column_kind/finish_frame understand.
_TYPE_NAMES = {"time": "TIME", "timetz": "TIME", "interval": "INTERVAL"}


def mask_url(text: str) -> str:
    """``text`` with any password in a connection URL or ``password=`` keyword replaced by
    ``***``, so errors and logs never show it."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + "***", text)


class PostgresEngine(SqlEngine):
    """One PostgreSQL session (see the module docstring)."""

    name: ClassVar[str] = "postgres"
    dialect: ClassVar[str] = "postgres"

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings(name="postgres")
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is in the dev environment
            raise ConfigError(
                "engine postgres needs psycopg: pip install 'liftlab[postgres]'"
            ) from exc
        self._psycopg = psycopg
        var = self.settings.url_env
        url = os.environ.get(var, "").strip()
        if not url:
            raise ConfigError(
                f"engine postgres reads its connection URL from the environment variable {var}, "
                f"which is not set (export {var}=postgresql://user:password@host:5432/db)"
            )
        self._password = _password_of(url)
        self.url = url
        self.source_sql: str | None = None
        self.source_sqls: dict[str, str] = {}
        """The query behind each registered source by name (PostgreSQL dialect)."""
        try:
            self._con = psycopg.connect(url, autocommit=True, application_name="liftlab")
            self._con.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            raise ConfigError(
                f"engine postgres could not connect to {mask_url(url)} (from {var}): "
                f"{self._mask(str(exc))}"
            ) from exc

    # -- SqlEngine ----------------------------------------------------------------------------

    def register_source(self, source: SourceSpec, name: str = SOURCE) -> None:
        """``table`` (``schema.table``, each part quoted) or ``sql`` (one read-only query in
        PostgreSQL's dialect) → the TEMP VIEW ``name``; ``path`` → ConfigError."""
        given = [k for k in ("path", "table", "sql") if getattr(source, k) is not None]
        if len(given) != 1:
            raise ConfigError(
                f"a source needs exactly one of path, table or sql; got {given or 'none'}"
            )
        if source.path is not None:
            raise ConfigError(
                f"engine postgres reads tables or SQL, not files (got path={source.path!r}); "
                "load the file into a table first (COPY / \\copy) or use engine duckdb"
            )
        if source.table is not None:
            body = f"SELECT * FROM {_qualified(source.table)}"
            what = f"table {source.table!r}"
        else:
            assert source.sql is not None
            check_read_only(source.sql, self.dialect)
            body = source.sql.strip().rstrip(";")
            what = "source SQL"
        try:
            self._con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS {body}")
            self.source_sqls[name] = body
            if name == SOURCE:
                self.source_sql = body
                """The query behind ``source`` (PostgreSQL dialect), for clients on their own
                connection (Great Expectations), to whom this session's temp view is
                invisible."""
        except self._psycopg.Error as exc:
            raise InputDataError(
                f"engine postgres could not read {what}: {self._mask(str(exc)).strip()}"
            ) from exc

    def set_time_zone(self, zone: str) -> None:
        try:
            self._con.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        except self._psycopg.Error:
            raise ConfigError(f"unknown time zone {zone!r}") from None

    def fetch(self, sql: str) -> pd.DataFrame:
        query = to_dialect(sql, self.dialect)
        try:
            with self._con.cursor() as cur:
                cur.execute(query)
                if cur.description is None:
                    raise ConfigError(f"query returned no result set: {query}")
                names = [d.name for d in cur.description]
                type_names = [self._type_name(d.type_code) for d in cur.description]
                rows = cur.fetchall()
        except self._psycopg.Error as exc:
            raise query_error(self.name, query, _Masked(self._mask(str(exc)))) from exc
        columns = [
            _column_values([row[i] for row in rows], type_names[i]) for i in range(len(names))
        ]
        df = pd.DataFrame(dict(zip(range(len(names)), columns, strict=True)))
        df.columns = names
        return finish_frame(df, [_TYPE_NAMES.get(t, t) for t in type_names])

    def create_temp_table(self, name: str, sql: str) -> None:
        self._create_temp("TABLE", name, sql)

    def create_temp_view(self, name: str, sql: str) -> None:
        self._create_temp("VIEW", name, sql)

    def _create_temp(self, kind: str, name: str, sql: str) -> None:
        """Replace the temp ``kind`` (TABLE or VIEW) ``name`` in one transaction."""
        query = to_dialect(sql, self.dialect)
        ident = quote_ident(name)
        statement = f"CREATE TEMP {kind} {ident} AS {query}"
        try:
            with self._con.transaction():
                self._con.execute(f"DROP {kind} IF EXISTS pg_temp.{ident}")
                self._con.execute(statement)
        except self._psycopg.Error as exc:
            raise query_error(self.name, statement, _Masked(self._mask(str(exc)))) from exc

    def columns(self, relation: str) -> list[Column]:
        try:
            with self._con.cursor() as cur:
                cur.execute(f"SELECT * FROM {quote_ident(relation)} LIMIT 0")
                description = cur.description or []
                oids = [d.type_code for d in description]
                cur.execute("SELECT format_type(o, NULL) FROM unnest(%s::oid[]) AS o", [oids])
                formatted = [str(r[0]) for r in cur.fetchall()]
        except self._psycopg.Error as exc:
            raise InputDataError(
                f"engine postgres has no relation {relation!r}: {self._mask(str(exc)).strip()}"
            ) from exc
        return [
            Column(d.name, column_kind(_TYPE_NAMES.get(t, t)), f)
            for d, t, f in zip(
                description, [self._type_name(o) for o in oids], formatted, strict=True
            )
        ]

    def close(self) -> None:
        con = getattr(self, "_con", None)
        if con is not None:
            con.close()
            self._con = None

    # -- helpers ------------------------------------------------------------------------------

    def _type_name(self, oid: int) -> str:
        info = self._con.adapters.types.get(oid)
        return info.name if info is not None else f"oid {oid}"

    def _mask(self, text: str) -> str:
        text = mask_url(text)
        if self._password:
            text = text.replace(self._password, "***")
        return text


class _Masked(Exception):
    """Carries a psycopg message with the password masked into :func:`query_error`."""


def _password_of(url: str) -> str:
    match = _URL_PASSWORD.search(url) or _KEYWORD_PASSWORD.search(url)
    if match is None:
        return ""
    return match.group("password").strip("'")


def _qualified(table: str) -> str:
    """``schema.table`` with every part quoted (``"sales"."Orders 2024"``)."""
    parts = table.split(".")
    if not all(part.strip() for part in parts):
        raise ConfigError(f"table name {table!r} has an empty part; write schema.table")
    return ".".join(quote_ident(part) for part in parts)


def _column_values(values: list[Any], type_name: str) -> Any:
    """One result column as an array pandas/plain_dtypes turn into a plain numpy dtype."""
    if type_name == "bool":
        return pd.array(values, dtype="boolean")
    if type_name in _INT_TYPES:
        return pd.array(values, dtype="Int64")
    if type_name in _FLOAT_TYPES:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if type_name == "numeric":
        return _numeric_values(values)
    if type_name in _TEXT_TYPES:
        return np.array([np.nan if v is None else str(v) for v in values], dtype=object)
    return np.array(values, dtype=object)


def _numeric_values(values: list[decimal.Decimal | None]) -> Any:
    """``numeric`` → int64 when every value is a whole number written without a fraction
    (``SUM`` of integers), else float64 (``AVG``, money) — the types DuckDB and Spark give."""
    present = [v for v in values if v is not None]
    whole = all(
        v.is_finite() and v.as_tuple().exponent >= 0 and -(2**63) <= v < 2**63 for v in present
    )  # type: ignore[operator]
    if whole:
        return pd.array([None if v is None else int(v) for v in values], dtype="Int64")
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
