"""Load a CSV/Parquet file into a PostgreSQL table — the first step of trying liftlab on
PostgreSQL (``liftlab load-table``), and how the tests fill their server.

The file is read by DuckDB and streamed to PostgreSQL's ``COPY … FROM STDIN`` as CSV in chunks:
no row passes through pandas and memory stays flat whatever the file size. Column types follow
the file's (integers → BIGINT, floats and decimals → DOUBLE PRECISION, booleans, text,
timestamps with and without time zone, dates; anything else as TEXT). Everything — dropping an
old table with ``replace``, creating the new one, copying every row — happens in one
transaction, so a failure leaves the database as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from strategies.engines.base import EngineSettings
from strategies.engines.dialects import quote_ident
from strategies.engines.postgres_engine import mask_url
from strategies.errors import ConfigError, InputDataError
from strategies.ingest import check_data_file, check_file_header, read_data_file

_CHUNK = 1 << 20

_TYPES = {
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "BIGINT",
    "SMALLINT": "BIGINT",
    "INTEGER": "BIGINT",
    "BIGINT": "BIGINT",
    "UTINYINT": "BIGINT",
    "USMALLINT": "BIGINT",
    "UINTEGER": "BIGINT",
    "FLOAT": "DOUBLE PRECISION",
    "DOUBLE": "DOUBLE PRECISION",
    "VARCHAR": "TEXT",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP_MS": "TIMESTAMP",
    "TIMESTAMP_S": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
}


def postgres_type(duckdb_type: str) -> str:
    """PostgreSQL column type for a DuckDB type name (DECIMAL(p,s) → DOUBLE PRECISION)."""
    if duckdb_type.startswith("DECIMAL"):
        return "DOUBLE PRECISION"
    return _TYPES.get(duckdb_type, "TEXT")


def copy_file_to_postgres(
    path: str | Path, table: str, settings: EngineSettings, *, replace: bool = False
) -> int:
    """Create ``table`` (``schema.table``; the schema must exist) from the file and return the
    number of rows copied. Refuses an existing table unless ``replace``."""
    import psycopg

    file = Path(path)
    reader = check_data_file(file)
    url = os.environ.get(settings.url_env, "").strip()
    if not url:
        raise ConfigError(
            f"the PostgreSQL URL is read from the environment variable {settings.url_env}, "
            f"which is not set (export {settings.url_env}=postgresql://user:password@host/db)"
        )
    target = ".".join(quote_ident(part) for part in table.split("."))
    with tempfile.TemporaryDirectory(prefix="liftlab-load-") as tmp:
        csv_path = Path(tmp) / "rows.csv"
        with duckdb.connect(":memory:") as con:
            try:
                check_file_header(con, file, reader)
                rel = read_data_file(con, file, reader)
                names, types = rel.columns, [str(t) for t in rel.types]
                casts = ", ".join(
                    f"CAST({quote_ident(n)} AS VARCHAR) AS {quote_ident(n)}"
                    if postgres_type(t) == "TEXT" and t != "VARCHAR"
                    else quote_ident(n)
                    for n, t in zip(names, types, strict=True)
                )
                rel.project(casts).write_csv(str(csv_path), header=True)
                rows = int(rel.count("*").fetchall()[0][0])
            except duckdb.Error as exc:
                raise InputDataError(f"could not read data file {file}: {exc}") from exc
        columns = ", ".join(
            f"{quote_ident(n)} {postgres_type(t)}" for n, t in zip(names, types, strict=True)
        )
        try:
            with psycopg.connect(url) as pg, pg.transaction():
                exists = pg.execute("SELECT to_regclass(%s)", [target]).fetchone()[0]
                if exists is not None and not replace:
                    raise ConfigError(
                        f"table {table} already exists; pass --replace to drop and reload it"
                    )
                pg.execute(f"DROP TABLE IF EXISTS {target}")
                pg.execute(f"CREATE TABLE {target} ({columns})")
                copy_sql = f"COPY {target} FROM STDIN WITH (FORMAT csv, HEADER true)"
                with pg.cursor() as cur, cur.copy(copy_sql) as copy, csv_path.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(_CHUNK), b""):
                        copy.write(chunk)
        except psycopg.Error as exc:
            raise InputDataError(
                f"loading {file} into {table} failed: {mask_url(str(exc))}"
            ) from exc
    return rows
