"""Load experiment tables from files or SQL through an embedded DuckDB.

DuckDB is used rather than ``pandas.read_csv`` because it reads CSV (plain or gzipped) and
Parquet with one code path, lets a config express a filter or a join as SQL over those same
files, and scans the whole CSV when inferring types, so a column whose first ten thousand
values look numeric but later holds text is read as text instead of failing half-way.

Whatever DuckDB hands back is normalised to plain numpy-backed dtypes (``int64``/``float64``
for numbers, ``object`` holding Python ``str`` for text). pandas 3 and DuckDB 2 otherwise
produce nullable ``Int64``/``boolean`` and pyarrow-backed ``str`` columns, whose ``pd.NA``
semantics differ from NaN in ways that surprise numpy/scipy code downstream.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError

__all__ = ["SOURCE_VIEW", "SUPPORTED_SUFFIXES", "file_fingerprint", "load_source", "load_table"]

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


def load_table(path: str | Path | None = None, *, sql: str | None = None) -> pd.DataFrame:
    """Read one table from a data file or from a DuckDB SQL query.

    Exactly one of ``path`` or ``sql`` is given. A query runs on a fresh in-memory DuckDB
    connection, so it can read files itself (``SELECT * FROM read_parquet('x.parquet')``) but
    cannot see any state from an earlier call.

    Raises:
        ConfigError: both or neither of path/sql given, an unsupported file suffix, or a query
            DuckDB rejects (the DuckDB message is kept).
        InputDataError: the file is missing, empty, unreadable, or the table has no rows.
    """
    if (path is None) == (sql is None):
        raise ConfigError(
            "load_table needs exactly one of 'path' or 'sql', got " + _given(path, sql)
        )
    if sql is not None:
        return _load_sql(sql)
    assert path is not None
    return _load_file(Path(path))


def load_source(path: str | Path | None = None, *, sql: str | None = None) -> pd.DataFrame:
    """Load a config's data source: a file, a query, or a query over the file.

    Like :func:`load_table`, but both may be given: the file is then exposed to the query as a
    view named ``source`` (``SELECT * FROM source WHERE country = 'DE'``), so a config can
    filter or aggregate its data file without repeating the path inside the SQL.

    Raises:
        ConfigError: neither given, an unsupported suffix, or a query DuckDB rejects.
        InputDataError: the file is missing, empty or unreadable, or the result has no rows.
    """
    if path is None and sql is None:
        raise ConfigError("no data source: set a data file path, a SQL query, or both")
    if path is None or sql is None:
        return load_table(path, sql=sql)
    _check_sql(sql)
    file = Path(path)
    reader = _check_file(file)
    con = duckdb.connect(":memory:")
    try:
        try:
            _read_file(con, file, reader).create_view(SOURCE_VIEW)
        except duckdb.Error as exc:
            raise InputDataError(f"could not read data file {file}: {exc}") from exc
        df, db_types = _run_query(con, sql)
    finally:
        con.close()
    if len(df) == 0:
        raise InputDataError(f"SQL query over {file} returned no rows: {_shorten(sql)}")
    return _to_plain_dtypes(df, db_types)


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
        rel = _read_file(con, path, reader)
        df = rel.df()
        db_types = [str(t) for t in rel.types]
    except duckdb.Error as exc:
        raise InputDataError(f"could not read data file {path}: {exc}") from exc
    finally:
        con.close()

    if len(df) == 0:
        raise InputDataError(f"data file {path} returned no rows (only a header or empty table)")
    return _to_plain_dtypes(df, db_types)


def _check_sql(sql: str) -> None:
    if not isinstance(sql, str) or not sql.strip():
        raise ConfigError("load_table got an empty SQL query")


def _run_query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[pd.DataFrame, list[str]]:
    """Run ``sql`` on ``con``; DuckDB's own error text is kept in the ConfigError."""
    try:
        rel = con.sql(sql)
        if rel is None:
            raise ConfigError(
                "SQL query returned no result set (it must end in a SELECT-like statement): "
                + _shorten(sql)
            )
        return rel.df(), [str(t) for t in rel.types]
    except duckdb.Error as exc:
        raise ConfigError(f"SQL query failed: {exc}") from exc


def _load_sql(sql: str) -> pd.DataFrame:
    _check_sql(sql)
    con = duckdb.connect(":memory:")
    try:
        df, db_types = _run_query(con, sql)
    finally:
        con.close()

    if len(df) == 0:
        raise InputDataError(f"SQL query returned no rows: {_shorten(sql)}")
    return _to_plain_dtypes(df, db_types)


def _shorten(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _to_plain_dtypes(df: pd.DataFrame, db_types: list[str] | None = None) -> pd.DataFrame:
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
