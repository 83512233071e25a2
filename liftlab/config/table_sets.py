"""Configs whose input is a *set* of named tables (campaign uplift: five CRM/POS exports;
growth analytics: users, experiments, sessions, exposures, orders), read from one folder or
named one by one, as files or engine tables.

One home for the rules so every multi-table job reads its inputs the same way:

* ``data_dir`` holds ``<table>.csv`` (or ``<table>.parquet`` when only that exists);
* ``tables`` overrides single tables: a value ending in a data-file suffix is a file, anything
  else an engine table (``crm.campaigns``);
* engine ``duckdb`` reads files only, ``postgres`` tables only (every table named), ``spark``
  both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from liftlab.config.base import expand_path
from strategies.engines.base import SourceSpec
from strategies.ingest import SUPPORTED_SUFFIXES


def is_file_name(value: str) -> bool:
    """The rule for ``tables`` values: a known data-file ending means a file, anything else
    an engine table."""
    return value.strip().lower().endswith(tuple(SUPPORTED_SUFFIXES))


def check_table_set(
    names: Sequence[str], data_dir: str | None, tables: Mapping[str, str], engine: str
) -> None:
    """Raise ValueError (pydantic turns it into a config error naming the key) when ``tables``
    names an unknown table, a table has no source, or a source does not suit ``engine``."""
    unknown = sorted(set(tables) - set(names))
    if unknown:
        raise ValueError(f"unknown table(s) in 'tables': {unknown}; valid: {list(names)}")
    if not data_dir and set(tables) != set(names):
        missing = sorted(set(names) - set(tables))
        raise ValueError(
            f"set 'data_dir' or give a file or table for every table (missing: {missing})"
        )
    for table, value in tables.items():
        if not value.strip():
            raise ValueError(f"tables.{table} is empty; give a file or an engine table")
        if is_file_name(value) and engine == "postgres":
            raise ValueError(
                f"tables.{table}: engine postgres reads tables, not files ({value!r}); load "
                "the file into PostgreSQL first (COPY) or use engine duckdb or spark"
            )
        if not is_file_name(value) and engine == "duckdb":
            raise ValueError(
                f"tables.{table}: {value!r} is not a .csv/.csv.gz/.parquet/.pq file; engine "
                "duckdb reads files (engine tables need engine postgres or spark)"
            )
    if engine == "postgres" and set(tables) != set(names):
        missing = sorted(set(names) - set(tables))
        raise ValueError(
            f"engine postgres reads tables: name one for every table in 'tables' and set "
            f"data_dir: null (missing: {missing})"
        )


def table_paths(
    names: Sequence[str], data_dir: str | None, tables: Mapping[str, str]
) -> dict[str, Path]:
    """The file of each table read from a file: ``tables`` entries, else
    ``<data_dir>/<table>.csv`` (or ``.parquet`` when only that exists). Engine tables are
    left out."""
    paths: dict[str, Path] = {}
    for table in names:
        if table in tables and not is_file_name(tables[table]):
            continue
        if table in tables:
            paths[table] = expand_path(tables[table])
            continue
        folder = expand_path(data_dir or ".")
        csv, parquet = folder / f"{table}.csv", folder / f"{table}.parquet"
        paths[table] = parquet if parquet.is_file() and not csv.is_file() else csv
    return paths


def table_sources(
    names: Sequence[str], data_dir: str | None, tables: Mapping[str, str]
) -> dict[str, SourceSpec]:
    """What the engine reads per table: a file or an engine table."""
    paths = table_paths(names, data_dir, tables)
    return {
        table: SourceSpec(path=str(paths[table]))
        if table in paths
        else SourceSpec(table=tables[table].strip())
        for table in names
    }
