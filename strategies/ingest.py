"""Load experiment tables from files or SQL through an embedded DuckDB.

DuckDB is used rather than ``pandas.read_csv`` because it reads CSV (plain or gzipped) and
Parquet with one code path, lets a config express a filter or a join as SQL over those same
files, and scans the whole CSV when inferring types, so a column whose first ten thousand
values look numeric but later holds text is read as text instead of failing half-way.

Whatever DuckDB hands back is normalised to plain numpy-backed dtypes (``int64``/``float64``
for numbers, ``object`` holding Python ``str`` for text). pandas 3 and DuckDB 2 otherwise
produce nullable ``Int64``/``boolean`` and pyarrow-backed ``str`` columns, whose ``pd.NA``
semantics differ from NaN in ways that surprise numpy/scipy code downstream.

SQL from a config is untrusted (DESIGN.md §7). It must be exactly one read-only query (DuckDB's
parser classifies it as a ``SELECT``: ``SELECT``, ``WITH … SELECT``, ``FROM …``, ``VALUES``), and
it runs on a fresh in-memory connection whose file access is limited to the declared paths: the
data file (also the view ``source``) and the config's ``allowed_paths`` (files, or folders and
everything under them). DuckDB enforces that through ``allowed_paths``/``allowed_directories``,
then ``enable_external_access = false`` (no other files, no network, no extension loading, no
pandas replacement scans) and ``lock_configuration = true`` so the query cannot undo it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strategies.errors import ConfigError, InputDataError

__all__ = [
    "SOURCE_VIEW",
    "SUPPORTED_SUFFIXES",
    "check_query",
    "check_data_file",
    "check_file_header",
    "declared_paths",
    "file_fingerprint",
    "load_source",
    "load_table",
    "lock_down",
    "plain_dtypes",
    "read_data_file",
]

#: Name under which load_source exposes the data file to a SQL query.
SOURCE_VIEW = "source"

#: File name endings load_table understands, mapped to the DuckDB reader used for them.
SUPPORTED_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_INT64_MIN = np.iinfo(np.int64).min
_INT64_MAX = np.iinfo(np.int64).max
_FINGERPRINT_CHUNK = 1 << 20
# DuckDB result types that pandas receives as float64 although they are integers.
_WIDE_INTEGER_TYPES = frozenset({"HUGEINT", "UHUGEINT"})


def load_table(
    path: str | Path | None = None,
    *,
    sql: str | None = None,
    allowed_paths: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Read one table from a data file or from a DuckDB SQL query.

    Exactly one of ``path`` or ``sql`` is given. A query must be one read-only ``SELECT`` (see
    :func:`check_query`) and runs on a fresh in-memory DuckDB connection that may read only the
    files and folders in ``allowed_paths`` (``SELECT * FROM read_parquet('x.parquet')`` needs
    ``x.parquet`` or its folder there); it cannot see any state from an earlier call.

    Raises:
        ConfigError: both or neither of path/sql given, an unsupported file suffix, a query that
            is not one read-only SELECT, reads an undeclared file, or that DuckDB rejects (the
            DuckDB message is kept), or an allowed path that does not exist.
        InputDataError: the file is missing, empty, unreadable, has duplicate column names, or
            the table has no rows.
    """
    if (path is None) == (sql is None):
        raise ConfigError(
            "load_table needs exactly one of 'path' or 'sql', got " + _given(path, sql)
        )
    if sql is not None:
        return _load_sql(sql, _declared(allowed_paths))
    assert path is not None
    return _load_file(Path(path))


def load_source(
    path: str | Path | None = None,
    *,
    sql: str | None = None,
    allowed_paths: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Load a config's data source: a file, a query, or a query over the file.

    Like :func:`load_table`, but both may be given: the file is then exposed to the query as a
    view named ``source`` (``SELECT * FROM source WHERE country = 'DE'``), so a config can
    filter or aggregate its data file without repeating the path inside the SQL. The query may
    read that file and ``allowed_paths``, nothing else.

    Raises:
        ConfigError: neither given, an unsupported suffix, or a query that is refused (see
            :func:`load_table`).
        InputDataError: the file is missing, empty or unreadable, has duplicate column names,
            or the result has no rows.
    """
    if path is None and sql is None:
        raise ConfigError("no data source: set a data file path, a SQL query, or both")
    if sql is None:
        return load_table(path)
    if path is None:
        return load_table(sql=sql, allowed_paths=allowed_paths)
    check_query(sql)
    file = Path(path)
    reader = _check_file(file)
    declared = _declared([file, *allowed_paths])
    with _sandboxed_connection(declared) as con:
        try:
            check_file_header(con, file, reader)
            _read_file(con, file, reader).create_view(SOURCE_VIEW)
        except duckdb.Error as exc:
            raise InputDataError(f"could not read data file {file}: {exc}") from exc
        df, db_types = _run_query(con, sql, declared)
    if len(df) == 0:
        raise InputDataError(f"SQL query over {file} returned no rows: {_shorten(sql)}")
    return plain_dtypes(df, db_types)


def check_query(sql: str) -> None:
    """Refuse anything but exactly one read-only query, naming what was found instead.

    DuckDB's own parser decides: the statement must be of type ``SELECT`` (which covers
    ``WITH … SELECT``, ``FROM``-first queries, ``VALUES``, ``DESCRIBE``/``SUMMARIZE``). Several
    statements, ``COPY``, ``ATTACH``, ``INSTALL``/``LOAD``, ``CREATE``, ``INSERT``, ``PRAGMA``,
    ``SET``, ``CALL``, ``EXPORT`` and the rest are a :class:`ConfigError`.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError("load_table got an empty SQL query")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ConfigError(f"SQL query failed: {exc}") from exc
    if not statements:
        raise ConfigError(f"SQL query holds no statement: {_shorten(sql)}")
    if len(statements) > 1:
        kinds = ", ".join(_statement_kind(st) for st in statements)
        raise ConfigError(
            f"config SQL must be exactly one read-only SELECT/WITH query; found "
            f"{len(statements)} statements ({kinds}): {_shorten(sql)}"
        )
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise ConfigError(
            "config SQL must be one read-only SELECT/WITH query (it may not write, attach, "
            f"install, load, create or change settings); found {_statement_kind(statement)}: "
            f"{_shorten(sql)}"
        )


def file_fingerprint(path: str | Path) -> str:
    """Return the sha256 hex digest of a file's bytes.

    Streamed in 1 MiB chunks so fingerprinting a multi-gigabyte export (to record exactly which
    data a run analysed) does not load it into memory.
    """
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"data file not found: {p}")
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_FINGERPRINT_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _given(path: str | Path | None, sql: str | None) -> str:
    if path is None and sql is None:
        return "neither"
    return "both"


def _suffix_of(path: Path) -> str | None:
    name = path.name.lower()
    # Longest suffix first so "x.csv.gz" is not mistaken for an unknown ".gz".
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def _check_file(path: Path) -> str:
    """Validate a data file path; return the DuckDB reader ("csv" or "parquet") for it."""
    suffix = _suffix_of(path)
    if suffix is None:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise ConfigError(f"unsupported data file type for {path}: expected one of {supported}")
    if not path.exists():
        raise InputDataError(f"data file not found: {path}")
    if not path.is_file():
        raise InputDataError(f"data path is not a file: {path}")
    if path.stat().st_size == 0:
        # DuckDB's CSV sniffer fails on 0 bytes with a confusing header message; say what it is.
        raise InputDataError(f"data file {path} is empty (0 bytes): it returned no rows")
    return SUPPORTED_SUFFIXES[suffix]


def _read_file(con: duckdb.DuckDBPyConnection, path: Path, reader: str) -> duckdb.DuckDBPyRelation:
    if reader == "csv":
        # sample_size=-1: infer types from every row, not the first 20k, so a late text value
        # makes the column VARCHAR instead of aborting the read with a conversion error.
        return con.read_csv(str(path), header=True, sample_size=-1)
    return con.read_parquet(str(path))


def _load_file(path: Path) -> pd.DataFrame:
    reader = _check_file(path)
    con = duckdb.connect(":memory:")
    try:
        check_file_header(con, path, reader)
        rel = _read_file(con, path, reader)
        df = rel.df()
        db_types = [str(t) for t in rel.types]
    except duckdb.Error as exc:
        raise InputDataError(f"could not read data file {path}: {exc}") from exc
    finally:
        con.close()

    if len(df) == 0:
        raise InputDataError(f"data file {path} returned no rows (only a header or empty table)")
    return plain_dtypes(df, db_types)


def check_file_header(con: duckdb.DuckDBPyConnection, path: Path, reader: str) -> None:
    """Refuse a file whose header names a column twice.

    DuckDB renames the second ``revenue`` to ``revenue_1`` (pandas to ``revenue.1``) and the
    analysis would silently use the first, so the raw header is read before any renaming: the
    first CSV row as text (same dialect sniffing as the real read), the Parquet schema's
    top-level field names.
    """
    if reader == "csv":
        rows = con.read_csv(str(path), header=False, all_varchar=True).limit(1).fetchall()
        names = [str(v) for v in rows[0] if v is not None] if rows else []
    else:
        try:
            names = list(pq.read_schema(path).names)
        except (OSError, pa.ArrowException) as exc:
            raise InputDataError(f"could not read data file {path}: {exc}") from exc
    _check_unique_columns(names, f"data file {path}")


def _check_unique_columns(
    names: Sequence[str], where: str, error: type[Exception] = InputDataError
) -> None:
    """Refuse names that repeat; DuckDB compares column names case-insensitively (it renames
    ``Revenue`` next to ``revenue`` to ``Revenue_1``), so spellings differing in case repeat."""
    spellings: dict[str, list[str]] = {}
    for name in names:
        spellings.setdefault(name.lower(), []).append(name)
    duplicated = [group for group in spellings.values() if len(group) > 1]
    if duplicated:
        found = "; ".join(" / ".join(map(repr, dict.fromkeys(group))) for group in duplicated)
        raise error(
            f"{where} has duplicate column name(s): {found}; rename them so each column has "
            "one name (DuckDB and pandas would silently rename the copies, e.g. to revenue_1, "
            "and the analysis would use only the first)"
        )


_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)


def _statement_kind(statement: duckdb.Statement) -> str:
    """DuckDB's statement type, with the first keyword when that says more (``INSTALL (LOAD)``)."""
    kind = statement.type.name
    word = re.match(r"[A-Za-z_]+", _LEADING_COMMENTS.sub("", statement.query))
    keyword = word.group(0).upper() if word else kind
    if keyword in (kind, "WITH") or kind == "SELECT":
        return kind
    return f"{keyword} ({kind})"


def _declared(paths: Iterable[str | Path]) -> list[Path]:
    """The declared files/folders a query may read, each of which must exist."""
    declared = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ConfigError(
                f"allowed_paths entry not found: {p} (list existing files or folders)"
            )
        declared.append(p)
    return declared


def lock_down(con: duckdb.DuckDBPyConnection, declared: Sequence[Path]) -> None:
    """Apply the config-SQL sandbox to an open connection: it may read only ``declared`` files
    and folders (as written and symlink-resolved), no network, no extensions, no pandas
    replacement scans, and its configuration is locked. Set anything else (memory limit,
    temp directory, threads) *before* calling this — afterwards nothing can change."""
    files, folders = _split_declared(declared)
    _apply_lock_down(con, files, folders)


def _split_declared(declared: Sequence[Path]) -> tuple[list[str], list[str]]:
    files: set[str] = set()
    folders: set[str] = set()
    for p in declared:
        # The path as written (made absolute, ``..`` folded) and with symlinks resolved, so
        # a query may name it either way.
        for variant in {os.path.abspath(p), str(p.resolve())}:
            if p.is_dir():
                folders.add(variant.rstrip(os.sep) + os.sep)
            else:
                files.add(variant)
    return sorted(files), sorted(folders)


def _apply_lock_down(
    con: duckdb.DuckDBPyConnection, files: Sequence[str], folders: Sequence[str]
) -> None:
    con.execute("SET allowed_directories = ?", [list(folders)])
    con.execute("SET allowed_paths = ?", [list(files)])
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


class _sandboxed_connection:  # noqa: N801 - used like a function in a with-statement
    """A fresh in-memory DuckDB connection that may read only ``declared`` files and folders.

    The order matters: the allowed files/folders are set first, then external access is turned
    off (which from then on refuses every other file, URL, extension and pandas replacement
    scan), then the configuration is locked so the query cannot ``SET``/``RESET`` its way out.
    DuckDB adds its temp directory to the allowed folders; that is a private empty folder here,
    not ``./.tmp`` in the working directory.
    """

    def __init__(self, declared: Sequence[Path]) -> None:
        self.files, self.folders = _split_declared(declared)

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self._temp = tempfile.mkdtemp(prefix="liftlab-duckdb-")
        self._con = duckdb.connect(":memory:")
        try:
            self._con.execute("SET temp_directory = ?", [self._temp])
            _apply_lock_down(self._con, self.files, self.folders)
        except BaseException:
            self.__exit__()
            raise
        return self._con

    def __exit__(self, *exc_info: object) -> None:
        self._con.close()
        shutil.rmtree(self._temp, ignore_errors=True)


def _run_query(
    con: duckdb.DuckDBPyConnection, sql: str, declared: Sequence[Path]
) -> tuple[pd.DataFrame, list[str]]:
    """Run ``sql`` on ``con``; DuckDB's own error text is kept in the ConfigError."""
    try:
        rel = con.sql(sql)
        if rel is None:
            raise ConfigError(
                "SQL query returned no result set (it must be a SELECT-like statement): "
                + _shorten(sql)
            )
        _check_unique_columns(rel.columns, "the SQL query's result", ConfigError)
        return rel.df(), [str(t) for t in rel.types]
    except duckdb.PermissionException as exc:
        readable = ", ".join(str(p) for p in declared) or "no files"
        raise ConfigError(
            f"SQL query may read only the declared data file and allowed_paths ({readable}); "
            f"DuckDB refused: {exc}"
        ) from exc
    except duckdb.Error as exc:
        raise ConfigError(f"SQL query failed: {exc}") from exc


def _load_sql(sql: str, declared: Sequence[Path]) -> pd.DataFrame:
    check_query(sql)
    with _sandboxed_connection(declared) as con:
        df, db_types = _run_query(con, sql, declared)
    if len(df) == 0:
        raise InputDataError(f"SQL query returned no rows: {_shorten(sql)}")
    return plain_dtypes(df, db_types)


def _shorten(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def plain_dtypes(df: pd.DataFrame, db_types: list[str] | None = None) -> pd.DataFrame:
    """Convert nullable / pyarrow-backed columns to numpy-backed ones.

    - integers of any width or signedness -> int64 when there are no missing values and they fit,
      else float64 (NaN for missing), which is what numpy/scipy statistics expect;
    - nullable floats/decimals/HUGEINT results -> float64;
    - strings (pandas 3 ``str`` dtype) -> object holding Python ``str``, NaN for missing;
    - nullable booleans -> bool when complete, else object (True/False/NaN) so a missing value
      is not silently read as False.
    - DuckDB's 128-bit integers (``SUM`` of a BIGINT is a HUGEINT) arrive as float64; they are
      turned back into int64 when every value is whole and fits, so summed counts stay counts.
    Datetimes and anything else DuckDB already returns as numpy dtypes are left alone.
    """
    types = db_types if db_types is not None and len(db_types) == df.shape[1] else None
    columns = [
        _plain_series(df.iloc[:, i], types[i] if types else None) for i in range(df.shape[1])
    ]
    result = pd.concat(columns, axis=1) if columns else pd.DataFrame(index=df.index)
    result.columns = df.columns
    return result.reset_index(drop=True)


#: Former private name, kept for existing callers.
_to_plain_dtypes = plain_dtypes

# Public names for the SQL engines (strategies/engines), which read data files and sandbox
# config SQL exactly as load_table/load_source do.
#: Validate a data file path; returns the DuckDB reader ("csv" or "parquet") for it.
check_data_file = _check_file
#: A lazy DuckDB relation over a data file (CSV types inferred from every row).
read_data_file = _read_file
#: The declared files/folders a query may read, each of which must exist (else ConfigError).
declared_paths = _declared


def _plain_series(s: pd.Series, db_type: str | None) -> pd.Series:
    s = s.reset_index(drop=True)
    dtype = s.dtype
    if db_type in _WIDE_INTEGER_TYPES and pd.api.types.is_float_dtype(dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.isfinite(values).all() and (np.mod(values, 1) == 0).all()
        if whole and (len(values) == 0 or (values.min() >= -(2.0**63) and values.max() < 2.0**63)):
            return pd.Series(values.astype(np.int64), name=s.name)
        return pd.Series(values, name=s.name)
    if pd.api.types.is_bool_dtype(dtype):
        if s.isna().any():
            return pd.Series(
                [bool(v) if not pd.isna(v) else np.nan for v in s], dtype=object, name=s.name
            )
        return s.astype(bool)
    if pd.api.types.is_integer_dtype(dtype):
        if not s.isna().any():
            values = s.to_numpy()
            if len(values) == 0 or (values.min() >= _INT64_MIN and values.max() <= _INT64_MAX):
                return s.astype(np.int64)
        return pd.Series(s.to_numpy(dtype=np.float64, na_value=np.nan), name=s.name)
    if pd.api.types.is_float_dtype(dtype):
        return pd.Series(s.to_numpy(dtype=np.float64, na_value=np.nan), name=s.name)
    if pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, np.dtype):
        values = s.to_numpy(dtype=object, na_value=np.nan)
        return pd.Series(values, dtype=object, name=s.name)
    return s


def read_warehouse_table(duckdb_path: str | Path, table: str) -> pd.DataFrame:
    """Read one whole table of liftlab's DuckDB warehouse, read-only (another job's gold table,
    e.g. ``gold_campaign_summary`` for marketing-mix calibration).

    The table name is quoted as an identifier, never pasted into SQL. Raises InputDataError
    naming the file or the table when either is missing, with the tables that do exist.
    """
    path = Path(duckdb_path)
    if not path.is_file():
        raise InputDataError(
            f"warehouse {str(path)!r} does not exist; run the pipeline that writes {table!r} first"
        )
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        if table not in tables:
            raise InputDataError(
                f"warehouse {str(path)!r} has no table {table!r}; it has {sorted(tables)}"
            )
        quoted = '"' + table.replace('"', '""') + '"'
        return con.execute(f"SELECT * FROM {quoted}").df()
