"""The embedded engine: an in-memory DuckDB connection with a memory cap and a spill folder.

It reads CSV (plain or gzipped) and Parquet files in place — the ``source`` view is a
``read_csv``/``read_parquet`` scan, so registering a 50 GB file loads nothing — and temp tables
beyond ``memory_limit`` spill to ``spill_dir``. A source given as SQL is the user's query and
runs under the same sandbox as :func:`strategies.ingest.load_table` (DESIGN.md §7): only the
declared files may be read, no network or extensions, configuration locked. The memory limit,
spill folder and thread count are set *before* the lock, since nothing can change afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import duckdb
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
from strategies.engines.dialects import quote_ident, to_dialect
from strategies.errors import ConfigError, InputDataError
from strategies.ingest import (
    check_data_file,
    check_file_header,
    check_query,
    declared_paths,
    lock_down,
    read_data_file,
)

__all__ = ["DuckDBEngine"]

#: The data file's own view when a query over it is the source (``data_path`` + ``sql``).
_FILE_VIEW = "liftlab_source_file"


class DuckDBEngine(SqlEngine):
    """One in-memory DuckDB session (see the module docstring)."""

    name: ClassVar[str] = "duckdb"
    dialect: ClassVar[str] = "duckdb"

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._private_spill: str | None = None
        if self.settings.spill_dir is None:
            self._private_spill = tempfile.mkdtemp(prefix="liftlab-duckdb-spill-")
            self.spill_dir = Path(self._private_spill)
        else:
            self.spill_dir = Path(self.settings.spill_dir)
            self.spill_dir.mkdir(parents=True, exist_ok=True)
        self._registered = False
        self._temp_tables: list[str] = []
        self._con = duckdb.connect(":memory:")
        try:
            self._con.execute("SET temp_directory = ?", [str(self.spill_dir)])
            if self.settings.memory_limit is not None:
                self._con.execute("SET memory_limit = ?", [self.settings.memory_limit])
            if self.settings.threads is not None:
                self._con.execute("SET threads = ?", [int(self.settings.threads)])
            # Liftlab's own queries never need a Python variable as a table; refuse the lookup
            # so a typo cannot silently scan a pandas frame that happens to share the name.
            self._con.execute("SET python_enable_replacements = false")
        except duckdb.Error as exc:
            self.close()
            raise ConfigError(
                f"engine duckdb refused its settings (memory_limit="
                f"{self.settings.memory_limit!r}, threads={self.settings.threads!r}): {exc}"
            ) from exc
        except BaseException:
            self.close()
            raise

    # -- SqlEngine ----------------------------------------------------------------------------

    def register_source(self, source: SourceSpec) -> None:
        """``path`` → a lazy scan view; ``sql`` → a view over the user's query, sandboxed to
        ``allowed_paths``; both → the query, in which ``source`` names the file (as in
        :func:`strategies.ingest.load_source`); ``table`` → ConfigError. Once per engine: the
        sandbox is locked by the first call, so a second source could not get its own allowed
        paths."""
        given = [k for k in ("path", "table", "sql") if getattr(source, k) is not None]
        if given == ["path", "sql"]:
            self._register_file_query(Path(source.path), source.sql, source.allowed_paths)
            self._registered = True
            return
        if len(given) != 1:
            raise ConfigError(
                f"a source needs exactly one of path, table or sql; got {given or 'none'}"
            )
        if source.table is not None:
            raise ConfigError(
                f"engine duckdb reads files or SQL; table= needs postgres or spark "
                f"(got table={source.table!r})"
            )
        if self._registered:
            raise ConfigError("engine duckdb already has a source; open a new engine for another")
        if source.path is not None:
            self._register_file(Path(source.path), source.allowed_paths)
        else:
            assert source.sql is not None
            self._register_sql(source.sql, source.allowed_paths)
        self._registered = True

    def fetch(self, sql: str) -> pd.DataFrame:
        query = to_dialect(sql, self.dialect)
        try:
            rel = self._con.sql(query)
            if rel is None:
                raise ConfigError(f"query returned no result set: {query}")
            df = rel.df()
            types = [str(t) for t in rel.types]
        except duckdb.Error as exc:
            raise query_error(self.name, query, exc) from exc
        return finish_frame(df, types)

    def create_temp_table(self, name: str, sql: str) -> None:
        query = to_dialect(sql, self.dialect)
        ident = quote_ident(name)
        try:
            self._con.execute(f"CREATE OR REPLACE TEMP TABLE {ident} AS {query}")
        except duckdb.Error as exc:
            raise query_error(self.name, f"CREATE TEMP TABLE {ident} AS {query}", exc) from exc
        if name not in self._temp_tables:
            self._temp_tables.append(name)

    def columns(self, relation: str) -> list[Column]:
        try:
            rows = self._con.execute(f"DESCRIBE SELECT * FROM {quote_ident(relation)}").fetchall()
        except duckdb.Error as exc:
            raise InputDataError(f"engine duckdb has no relation {relation!r}: {exc}") from exc
        return [Column(str(r[0]), column_kind(str(r[1])), str(r[1])) for r in rows]

    def close(self) -> None:
        con = getattr(self, "_con", None)
        if con is not None:
            con.close()
            self._con = None  # type: ignore[assignment]
        if self._private_spill is not None:
            shutil.rmtree(self._private_spill, ignore_errors=True)
            self._private_spill = None

    # -- helpers ------------------------------------------------------------------------------

    def setting(self, name: str) -> str:
        """The current value of a DuckDB setting (``memory_limit``, ``temp_directory``, …), for
        logs and tests."""
        rows = self._con.execute("SELECT current_setting(?)", [name]).fetchall()
        return str(rows[0][0]) if rows else ""

    def _register_file(self, path: Path, allowed: tuple[str, ...], view: str = SOURCE) -> None:
        reader = check_data_file(path)
        lock_down(self._con, declared_paths([path, *allowed]))
        try:
            check_file_header(self._con, path, reader)
            read_data_file(self._con, path, reader).create_view(view, replace=True)
        except duckdb.Error as exc:
            raise InputDataError(f"could not read data file {path}: {exc}") from exc

    def _register_file_query(self, path: Path, sql: str, allowed: tuple[str, ...]) -> None:
        """The query as ``source``, reading the file under the same name: the file is a view
        of its own, shadowed inside the query by a CTE called ``source``."""
        check_query(sql)
        self._register_file(path, allowed, view=_FILE_VIEW)
        body = (
            f"WITH {quote_ident(SOURCE)} AS (SELECT * FROM {quote_ident(_FILE_VIEW)}) "
            f"SELECT * FROM ({sql.strip().rstrip(';')}) AS {quote_ident('user_query')}"
        )
        self._define_source(body, declared_paths([path, *allowed]))

    def _register_sql(self, sql: str, allowed: tuple[str, ...]) -> None:
        check_query(sql)
        declared = declared_paths(allowed)
        lock_down(self._con, declared)
        self._define_source(sql, declared)

    def _define_source(self, sql: str, declared: list[Path]) -> None:
        try:
            self._con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(SOURCE)} AS {sql}")
            # Binding the view does not read the files; describing it makes DuckDB resolve
            # every table function now, so an undeclared file is refused here, not later.
            self._con.execute(f"DESCRIBE SELECT * FROM {quote_ident(SOURCE)}").fetchall()
        except duckdb.PermissionException as exc:
            readable = ", ".join(str(p) for p in declared) or "no files"
            raise ConfigError(
                f"source SQL may read only the declared allowed_paths ({readable}); "
                f"DuckDB refused: {exc}"
            ) from exc
        except duckdb.Error as exc:
            raise ConfigError(f"source SQL failed on duckdb: {exc}") from exc
