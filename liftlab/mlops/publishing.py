"""Write a finished run's gold outputs to ``output_dir``, all or nothing.

Files are written to a temporary folder next to ``output_dir`` and moved into place only when all
of them were written, so a run that fails half-way never leaves a results table without its
report (or a stale mix of two runs) for a BI tool to pick up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd


def write_ab_outputs(
    output_dir: str | Path,
    *,
    results: pd.DataFrame,
    srm: pd.DataFrame,
    report_html: str,
    summary: Mapping[str, Any],
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Path]:
    """Write ``ab_results.csv``, ``ab_results.parquet``, ``srm.csv``, ``ab_report.html``,
    ``run_summary.json`` and one ``<name>.csv`` per non-empty extra table (heterogeneity,
    sequential looks); return their final paths."""
    target = Path(output_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".liftlab-staging-", dir=target.parent))
    try:
        results.to_csv(staging / "ab_results.csv", index=False)
        results.to_parquet(staging / "ab_results.parquet", index=False)
        srm.to_csv(staging / "srm.csv", index=False)
        (staging / "ab_report.html").write_text(report_html, encoding="utf-8")
        (staging / "run_summary.json").write_text(json.dumps(summary, indent=2, default=str))
        for name, table in (extra_tables or {}).items():
            if table is not None and not table.empty:
                table.to_csv(staging / f"{name}.csv", index=False)
        target.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for file in staging.iterdir():
            destination = target / file.name
            os.replace(file, destination)
            written[file.stem if file.suffix != ".parquet" else "ab_results_parquet"] = destination
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_outputs(
    output_dir: str | Path,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    texts: Mapping[str, str] | None = None,
    formats: tuple[str, ...] = ("csv",),
) -> dict[str, Path]:
    """Write ``<name>.<format>`` for each table and each text file as named, all or nothing
    (staged next to ``output_dir``, then moved in); return ``{key: final path}`` where the key is
    the table name (``<name>_parquet`` for Parquet when CSV is written too) or the file name."""
    target = Path(output_dir).resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"output_dir {target} exists and is not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".liftlab-staging-", dir=target.parent))
    keys: dict[str, str] = {}
    try:
        for name, table in (tables or {}).items():
            for fmt in formats:
                file = staging / f"{name}.{fmt}"
                if fmt == "parquet":
                    table.to_parquet(file, index=False)
                elif fmt == "csv":
                    table.to_csv(file, index=False)
                else:
                    raise ValueError(f"unknown output format {fmt!r} (use csv or parquet)")
                keys[file.name] = name if fmt == formats[0] else f"{name}_{fmt}"
        for file_name, text in (texts or {}).items():
            (staging / file_name).write_text(text, encoding="utf-8")
            keys[file_name] = file_name
        target.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for file in staging.iterdir():
            destination = target / file.name
            os.replace(file, destination)
            written[keys[file.name]] = destination
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_duckdb_table(
    database: str | Path, table: str, frame: pd.DataFrame, *, mode: str = "replace"
) -> Path:
    """Write ``frame`` to ``table`` in a DuckDB database file (created if needed), in one
    transaction: ``replace`` swaps the whole table, ``append`` adds rows (the columns must
    match the existing table). A BI tool reads it with any DuckDB client."""
    import duckdb

    if mode not in ("replace", "append"):
        raise ValueError(f"unknown write mode {mode!r} (use replace or append)")
    path = Path(database).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    quoted = '"' + table.replace('"', '""') + '"'
    con = duckdb.connect(str(path))
    try:
        con.register("frame_to_write", frame)
        con.execute("BEGIN TRANSACTION")
        try:
            if mode == "replace":
                con.execute(f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM frame_to_write")
            else:
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {quoted} AS "
                    "SELECT * FROM frame_to_write WHERE false"
                )
                con.execute(f"INSERT INTO {quoted} BY NAME SELECT * FROM frame_to_write")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.close()
    return path
