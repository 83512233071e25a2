"""Bronze in the engine, shared by the multi-table warehouses (campaign uplift, growth
analytics): raw tables read as text → typed bronze tables, with the same audit and the same
errors on DuckDB, PostgreSQL and Spark; plus the run-scoped staging folder of their row tables.

Why one module: both warehouses take exports whose columns must be parsed the same way (ids
and text trimmed, labels lower-cased, timestamps to instants, numbers to DOUBLE, 0/1 flags to
integers), name the same problems the same way (a missing column, a value that does not parse,
with examples) and leave nothing behind when a run fails. Each warehouse declares only its
*kinds*: ``{table: {column: kind}}`` (``campaign_sql.BRONZE_COLUMNS``,
``growth.analysis_sql.BRONZE_COLUMNS``).

Kinds: ``id`` and ``text`` are trimmed (empty → NULL); ``label`` trimmed and lower-cased;
``timestamp`` → TIMESTAMPTZ; ``number`` → DOUBLE; ``flag`` → INTEGER when the value is a whole
number (``1.5`` never reaches the cast: DuckDB and PostgreSQL round it, Spark truncates it).
Columns the contract does not name are kept as trimmed text.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from strategies.engines import open_engine
from strategies.engines.base import EngineSettings, QueryError, SourceSpec, SqlEngine
from strategies.engines.dialects import quote_ident
from strategies.errors import ConfigError, DataValidationError, InputDataError
from strategies.validation import ValidationReport

__all__ = [
    "PARSED_KINDS",
    "bronze_counts_sql",
    "bronze_select",
    "load_bronze",
    "parsed_value_sql",
    "raise_for_failures",
    "raw_column",
    "readable_sources",
    "run_with_staging",
    "stage_rows",
    "text_relation",
    "typed_columns",
    "unparsable_values_sql",
]

Kinds = Mapping[str, str]
PARSED_KINDS: tuple[str, ...] = ("timestamp", "number", "flag")
"""Kinds whose values can fail to parse (the rest are text)."""
_MAX_EXAMPLES = 5


# --------------------------------------------------------------------------------------------
# SQL (DuckDB dialect, transpiled by the engines)
# --------------------------------------------------------------------------------------------


def raw_column(column: str) -> str:
    """Name of the kept raw text of a parsed column in the bronze staging table."""
    return f"__raw__{column}"


def typed_columns(kinds: Kinds, columns: Sequence[str]) -> list[str]:
    """The columns among ``columns`` that bronze parses (see :data:`PARSED_KINDS`)."""
    return [c for c in columns if kinds.get(c, "text") in PARSED_KINDS]


def parsed_value_sql(column: str, kind: str) -> str:
    """The bronze expression of one raw text column of ``kind`` (module docstring).

    Timestamps, numbers and flags use ``TRY_CAST`` (NULL when a value does not parse, found
    later by :func:`unparsable_values_sql`); PostgreSQL has no TRY_CAST and gets a plain
    ``CAST``, which fails on a bad value (:func:`load_bronze` then probes column by column).
    """
    q = quote_ident(column)
    if kind == "label":
        return f"NULLIF(LOWER(TRIM({q})), '')"
    if kind == "timestamp":
        return f"TRY_CAST(NULLIF(TRIM({q}), '') AS TIMESTAMPTZ)"
    if kind == "number":
        return f"TRY_CAST(NULLIF(TRIM({q}), '') AS DOUBLE)"
    if kind == "flag":
        number = f"TRY_CAST(NULLIF(TRIM({q}), '') AS DOUBLE)"
        return (
            f"CASE WHEN {number} = FLOOR({number}) AND ABS({number}) < 1000000000 "
            f"THEN CAST({number} AS INTEGER) END"
        )
    return f"NULLIF(TRIM({q}), '')"


def bronze_select(kinds: Kinds, columns: Sequence[str], source: str) -> str:
    """``SELECT`` that types one raw table (every column read as text) from ``source``.

    Each parsed column also keeps its trimmed raw text as ``__raw__<column>``, so the values
    that did not parse are found in the same table without casting twice; the bronze table
    itself selects the typed columns only.
    """
    parts = [f"{parsed_value_sql(c, kinds.get(c, 'text'))} AS {quote_ident(c)}" for c in columns]
    for column in typed_columns(kinds, columns):
        q = quote_ident(column)
        parts.append(f"NULLIF(TRIM({q}), '') AS {quote_ident(raw_column(column))}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def unparsable_values_sql(column: str, staged: str) -> str:
    """Raw values of ``column`` that are present but did not parse, in a table made by
    :func:`bronze_select` (the error message's examples)."""
    q, raw = quote_ident(column), quote_ident(raw_column(column))
    return f"SELECT {raw} FROM {quote_ident(staged)} WHERE {raw} IS NOT NULL AND {q} IS NULL"


def bronze_counts_sql(kinds: Kinds, columns: Sequence[str], staged: str) -> str:
    """One row from a table made by :func:`bronze_select`: ``n_rows``, ``n_distinct`` (rows
    that differ in some column; the rest are exact duplicates) and, per parsed column,
    ``bad__<column>`` — values present that did not parse. One query, because every query is
    a job on Spark."""
    rel = quote_ident(staged)
    listed = ", ".join(quote_ident(c) for c in columns)
    bad = "".join(
        f", COUNT(*) FILTER (WHERE {quote_ident(raw_column(c))} IS NOT NULL "
        f"AND {quote_ident(c)} IS NULL) AS {quote_ident('bad__' + c)}"
        for c in typed_columns(kinds, columns)
    )
    # Two one-row aggregates side by side (one row even for an empty table).
    return (
        f"SELECT a.*, d.n_distinct FROM (SELECT COUNT(*) AS n_rows{bad} FROM {rel}) AS a "
        f"CROSS JOIN (SELECT COUNT(*) AS n_distinct FROM (SELECT DISTINCT {listed} FROM {rel}) "
        "AS x) AS d"
    )


def text_relation(raw: str, columns: Sequence[str]) -> str:
    """The registered raw relation with every column as text (Parquet and tables keep their
    types; bronze parses text, so an id ``007`` stays ``007`` only if it was text)."""
    text = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in columns)
    return f"(SELECT {text} FROM {quote_ident(raw)}) AS {quote_ident(raw)}"


# --------------------------------------------------------------------------------------------
# In the engine
# --------------------------------------------------------------------------------------------


def readable_sources(
    what: str,
    sources: Mapping[str, SourceSpec],
    tables: Sequence[str],
    staging: Path | None,
) -> dict[str, SourceSpec]:
    """``sources`` checked against the expected ``tables`` (an error names the missing and
    the unknown ones), each read as text and allowed to see the other sources' files and the
    staging folder only (DESIGN §7: config SQL reaches no other path)."""
    missing = [t for t in tables if t not in sources]
    unknown = sorted(set(sources) - set(tables))
    if missing or unknown:
        raise ConfigError(
            f"{what} sources: missing table(s) {missing}, unknown table(s) {unknown}; "
            f"expected: {', '.join(tables)}"
        )
    declared = tuple(s.path for s in sources.values() if s.path is not None)
    if staging is not None:
        declared += (str(staging),)
    return {
        t: SourceSpec(
            path=sources[t].path,
            table=sources[t].table,
            sql=sources[t].sql,
            allowed_paths=declared,
            all_text=True,
        )
        for t in tables
    }


def load_bronze(engine: SqlEngine, table: str, spec: SourceSpec, kinds: Kinds) -> dict[str, Any]:
    """Register the raw table, stage it as text, parse it into the bronze temp table named
    ``table``. A missing required column or a value that does not parse stops the run naming
    table, column and examples (on every engine). Returns the bronze audit record: table,
    file, rows, columns, exact duplicate rows."""
    raw, staged = f"raw_{table}", f"staged_{table}"
    label = spec.path or (f"table {spec.table}" if spec.table else "sql")
    engine.register_source(spec, raw)
    columns = [c.name for c in engine.columns(raw)]
    required = list(kinds)
    absent = [c for c in required if c not in columns]
    if absent:
        shown = Path(spec.path).name if spec.path else f"table {spec.table}"
        raise InputDataError(
            f"{table} ({shown}) lacks required column(s): {', '.join(absent)} "
            f"(has: {', '.join(columns)})"
        )
    inner = text_relation(raw, columns)
    try:
        engine.create_temp_table(staged, bronze_select(kinds, columns, inner))
    except QueryError as exc:
        # PostgreSQL has no TRY_CAST: a value that does not parse fails the whole query.
        raise _unparsable_column_error(engine, table, kinds, required, inner, exc) from exc
    counts = engine.fetch(bronze_counts_sql(kinds, columns, staged)).iloc[0]
    for column in typed_columns(kinds, required):
        n_bad = int(counts[f"bad__{column}"])
        if n_bad:
            bad_sql = unparsable_values_sql(column, staged)
            examples = engine.fetch(
                f"SELECT DISTINCT * FROM ({bad_sql}) AS b ORDER BY 1 LIMIT {_MAX_EXAMPLES}"
            ).iloc[:, 0]
            raise InputDataError(
                f"{table}.{column}: {n_bad} value(s) are not valid {kinds[column]}s "
                f"(examples: {', '.join(repr(str(v)) for v in examples)})"
            )
    select = ", ".join(quote_ident(c) for c in columns)
    engine.create_temp_table(table, f"SELECT {select} FROM {quote_ident(staged)}")
    return {
        "table": table,
        "file": label,
        "rows": int(counts["n_rows"]),
        "columns": columns,
        "exact_duplicate_rows": int(counts["n_rows"] - counts["n_distinct"]),
    }


def _unparsable_column_error(
    engine: SqlEngine, table: str, kinds: Kinds, columns: list[str], inner: str, exc: QueryError
) -> InputDataError:
    """Name the column(s) whose values do not parse when the engine cannot say per value (no
    TRY_CAST): each parsed column is cast alone; the engine's message names the value."""
    found = []
    for column in typed_columns(kinds, columns):
        kind = kinds[column]
        try:
            engine.fetch(f"SELECT COUNT({parsed_value_sql(column, kind)}) AS n FROM {inner}")
        except QueryError as column_exc:
            found.append(f"{table}.{column}: values are not valid {kind}s ({column_exc})")
    if not found:
        return InputDataError(f"{table}: values that do not parse ({exc})")
    return InputDataError("; ".join(found))


class _StagedResult(Protocol):
    staged: dict[str, str]

    @property
    def success(self) -> bool: ...


R = TypeVar("R", bound=_StagedResult)


def run_with_staging(
    settings: EngineSettings,
    staging_dir: str | Path | None,
    run: Callable[[SqlEngine, Path | None], R],
) -> R:
    """Open the engine and call ``run(engine, staging)``. With ``staging_dir`` (DuckDB only)
    the run writes its row tables there; on any error, or when the result's validation
    failed, the folder is removed, so a failed run leaves nothing (DESIGN §7)."""
    staging = Path(staging_dir) if staging_dir is not None else None
    if staging is not None and settings.name != "duckdb":
        raise ConfigError("staging_dir is for engine duckdb (other engines keep the row tables)")
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    try:
        with open_engine(settings) as engine:
            result = run(engine, staging)
        if staging is not None and not result.success:
            shutil.rmtree(staging, ignore_errors=True)
            result.staged = {}
        return result
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def stage_rows(engine: SqlEngine, relations: Mapping[str, tuple[str, Path]]) -> dict[str, str]:
    """Row tables → zstd Parquet (DuckDB's own COPY, never through Python): warehouse table
    name → (engine relation, file). Returns warehouse table → file."""
    staged: dict[str, str] = {}
    for name, (relation, path) in relations.items():
        engine.copy_to_parquet(f"SELECT * FROM {quote_ident(relation)}", path)  # type: ignore[attr-defined]
        staged[name] = str(path)
    return staged


def raise_for_failures(reports: Mapping[str, ValidationReport]) -> None:
    """One DataValidationError listing every failure of every table, so one run shows all
    that is wrong."""
    messages = []
    for name, report in reports.items():
        if not report.success:
            try:
                report.raise_for_failures()
            except DataValidationError as exc:
                messages.append(f"{name}: {exc}")
    if messages:
        raise DataValidationError("\n".join(messages))
