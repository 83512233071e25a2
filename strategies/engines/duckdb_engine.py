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
from strategies.engines.dialects import literal, quote_ident, to_dialect
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
        self._registered: list[str] = []
        self._declared: list[Path] = []
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

    def register_source(self, source: SourceSpec, name: str = SOURCE) -> None:
        """``path`` → a lazy scan view; ``sql`` → a view over the user's query, sandboxed to
        ``allowed_paths``; both → the query, in which ``source`` names the file (as in
        :func:`strategies.ingest.load_source`); ``table`` → ConfigError. The sandbox is locked by
        the first call, so a job reading several files declares all of them in the first
        source's ``allowed_paths``; a later source reading anything else is a ConfigError."""
        given = [k for k in ("path", "table", "sql") if getattr(source, k) is not None]
        file_query = given == ["path", "sql"]
        if len(given) != 1 and not file_query:
            raise ConfigError(
                f"a source needs exactly one of path, table or sql; got {given or 'none'}"
            )
        if source.table is not None:
            raise ConfigError(
                f"engine duckdb reads files or SQL; table= needs postgres or spark "
                f"(got table={source.table!r})"
            )
        if name in self._registered:
            raise ConfigError(f"engine duckdb already has a source {name!r}")
        files = [Path(source.path)] if source.path is not None else []
        for file in files:
            check_data_file(file)  # a missing file is an InputDataError naming it
        wanted = declared_paths([*files, *(Path(p) for p in source.allowed_paths)])
        if self._registered:
            undeclared = [str(p) for p in wanted if not _covered(p, self._declared)]
            if undeclared:
                raise ConfigError(
                    f"engine duckdb's sandbox was locked by its first source; declare "
                    f"{', '.join(undeclared)} in that source's allowed_paths"
                )
        else:
            lock_down(self._con, wanted)
            self._declared = list(wanted)
        if file_query:
            # The file is a view of its own, shadowed inside the query by a CTE named source.
            self._register_file(Path(source.path), _FILE_VIEW, source.all_text)
            self._register_sql(
                f"WITH {quote_ident(SOURCE)} AS (SELECT * FROM {quote_ident(_FILE_VIEW)}) "
                f"SELECT * FROM ({_checked(source.sql)}) AS {quote_ident('user_query')}",
                name,
            )
        elif source.path is not None:
            self._register_file(Path(source.path), name, source.all_text)
        else:
            assert source.sql is not None
            self._register_sql(source.sql, name)
        self._registered.append(name)

    def set_time_zone(self, zone: str) -> None:
        """Only before the first source: the sandbox locks DuckDB's configuration."""
        if self._registered:
            if self.setting("TimeZone") == zone:
                return
            raise ConfigError(
                "engine duckdb: set the time zone before registering a source (the sandbox "
                "locks the configuration)"
            )
        try:
            self._con.execute("SET TimeZone = ?", [zone])
        except duckdb.Error:
            raise ConfigError(f"unknown time zone {zone!r}") from None

    def copy_to_parquet(self, sql: str, path: str | Path) -> None:
        """Write a query's rows to a zstd Parquet file inside a declared folder (DuckDB only:
        the way rows leave the engine without passing through Python)."""
        query = to_dialect(sql, self.dialect)
        target = literal(str(Path(path)))
        try:
            self._con.execute(f"COPY ({query}) TO {target} (FORMAT parquet, COMPRESSION zstd)")
        except duckdb.Error as exc:
            raise query_error(self.name, f"COPY ({query}) TO {target}", exc) from exc

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

    def create_temp_view(self, name: str, sql: str) -> None:
        query = to_dialect(sql, self.dialect)
        ident = quote_ident(name)
        statement = f"CREATE OR REPLACE TEMP VIEW {ident} AS {query}"
        try:
            self._con.execute(statement)
        except duckdb.Error as exc:
            raise query_error(self.name, statement, exc) from exc

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

    def _register_file(self, path: Path, name: str, all_text: bool) -> None:
        reader = check_data_file(path)
        try:
            check_file_header(self._con, path, reader)
            if all_text and reader == "csv":
                relation = self._con.read_csv(str(path), header=True, all_varchar=True)
            else:
                relation = read_data_file(self._con, path, reader)
            relation.create_view(name, replace=True)
        except duckdb.Error as exc:
            raise InputDataError(f"could not read data file {path}: {exc}") from exc

    def _register_sql(self, sql: str, name: str) -> None:
        check_query(sql)
        try:
            self._con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS {sql}")
            # Binding the view does not read the files; describing it makes DuckDB resolve
            # every table function now, so an undeclared file is refused here, not later.
            self._con.execute(f"DESCRIBE SELECT * FROM {quote_ident(name)}").fetchall()
        except duckdb.PermissionException as exc:
            readable = ", ".join(str(p) for p in self._declared) or "no files"
            raise ConfigError(
                f"source SQL may read only the declared allowed_paths ({readable}); "
                f"DuckDB refused: {exc}"
            ) from exc
        except duckdb.Error as exc:
            raise ConfigError(f"source SQL failed on duckdb: {exc}") from exc


def _checked(sql: str) -> str:
    """The user's query, checked to be one read-only statement, without a trailing ``;``."""
    check_query(sql)
    return sql.strip().rstrip(";")


def _covered(path: Path, declared: list[Path]) -> bool:
    """Whether ``path`` is one of the declared files or inside a declared folder."""
    resolved = path.resolve()
    for item in declared:
        target = item.resolve()
        if resolved == target or (item.is_dir() and target in resolved.parents):
            return True
    return False
