"""The campaign pipeline's heavy half, in one engine session: five raw tables → bronze →
validated → silver → the sufficient statistics the gold layer needs.

Everything that touches raw rows runs inside the engine that holds them (DuckDB, PostgreSQL or
Spark), with the SQL of :mod:`strategies.campaign_sql` written once and transpiled. What comes
back is small (DESIGN.md §5): the bronze audits, one validation report per bronze table, the
silver audit, the campaigns table (one row per campaign) and two
:class:`~strategies.stats.inputs.ABStatistics` (spend with the funnel totals, conversion), from
which :func:`strategies.campaign_uplift.summarise_campaign_statistics` builds the gold tables.

Row tables for the local DuckDB warehouse: on DuckDB only, and only when a ``staging_dir`` is
given, the bronze and silver tables are written as zstd Parquet files there (``COPY`` inside
the engine, never through Python); the publish step loads them in its one transaction. On
PostgreSQL and Spark the row tables stay in the engine.

Time zones: the session reads text timestamps without an offset in ``naive_timezone``. DuckDB's
sandbox locks its configuration, so it keeps that zone for the whole session; PostgreSQL and
Spark go back to UTC after bronze. Nothing later depends on the zone: timestamps are instants,
windows are counted in 24-hour steps.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from strategies.campaign_sql import (
    AMBIGUOUS_SQL,
    BRONZE_COLUMNS,
    CATEGORIES_SQL,
    CONTAMINATION_SQL,
    GROUPS_SQL,
    UNKNOWN_CAMPAIGNS_SQL,
    bronze_select,
    check_categories,
    check_groups,
    parsed_value_sql,
    silver_sql,
    typed_columns,
    unparsable_values_sql,
)
from strategies.campaign_uplift import (
    FUNNEL_STAGES,
    CampaignOptions,
    bronze_rules,
    campaign_design,
    campaign_metric_specs,
)
from strategies.engines import open_engine
from strategies.engines.base import EngineSettings, QueryError, SourceSpec, SqlEngine
from strategies.engines.dialects import quote_ident, to_dialect
from strategies.errors import ConfigError, DataValidationError, InputDataError
from strategies.stats.inputs import ABStatistics
from strategies.validation import ValidationReport
from strategies.warehouse.ab_inputs import statistics_in_engine
from strategies.warehouse.checks_sql import validate_in_engine
from strategies.warehouse.ge_engine import validate_with_ge

__all__ = [
    "SILVER",
    "CampaignWarehouse",
    "raise_for_failures",
    "summarise_campaign_data",
    "warehouse_files",
]

SILVER = "silver_campaign_customers"
_MAX_EXAMPLES = 5


@dataclass
class CampaignWarehouse:
    """What leaves the engine. ``spend``/``conversion`` are None when validation failed."""

    bronze_audit: list[dict[str, Any]]
    validation: dict[str, ValidationReport]
    campaigns: pd.DataFrame | None = None
    silver_audit: dict[str, Any] = field(default_factory=dict)
    spend: ABStatistics | None = None
    conversion: ABStatistics | None = None
    staged: dict[str, str] = field(default_factory=dict)
    """Warehouse table → Parquet file in ``staging_dir`` (DuckDB with a staging folder)."""

    @property
    def success(self) -> bool:
        return all(r.success for r in self.validation.values())


def warehouse_files(staging_dir: str | Path) -> dict[str, Path]:
    """The warehouse row tables and their Parquet files in a staging folder."""
    folder = Path(staging_dir)
    names = [f"bronze_{t}" for t in BRONZE_COLUMNS] + [SILVER]
    return {name: folder / f"{name}.parquet" for name in names}


def summarise_campaign_data(
    settings: EngineSettings,
    sources: Mapping[str, SourceSpec],
    options: CampaignOptions,
    *,
    naive_timezone: str = "UTC",
    staging_dir: str | Path | None = None,
) -> CampaignWarehouse:
    """Open the engine; bronze, validate, silver and aggregate; return only small tables.

    ``sources`` maps each of the five tables to a file or an engine table. With
    ``staging_dir`` (DuckDB only) the row tables are written there; on any error the folder
    is removed, so a failed run leaves nothing."""
    missing = [t for t in BRONZE_COLUMNS if t not in sources]
    unknown = sorted(set(sources) - set(BRONZE_COLUMNS))
    if missing or unknown:
        raise ConfigError(
            f"campaign sources: missing table(s) {missing}, unknown table(s) {unknown}; "
            f"expected: {', '.join(BRONZE_COLUMNS)}"
        )
    staging = Path(staging_dir) if staging_dir is not None else None
    if staging is not None and settings.name != "duckdb":
        raise ConfigError("staging_dir is for engine duckdb (other engines keep the row tables)")
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    try:
        with open_engine(settings) as engine:
            result = _run(engine, sources, options, naive_timezone, staging)
        if staging is not None and not result.success:
            shutil.rmtree(staging, ignore_errors=True)
        return result
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def _run(
    engine: SqlEngine,
    sources: Mapping[str, SourceSpec],
    options: CampaignOptions,
    naive_timezone: str,
    staging: Path | None,
) -> CampaignWarehouse:
    engine.set_time_zone(naive_timezone)
    declared = tuple(s.path for s in sources.values() if s.path is not None)
    if staging is not None:
        declared += (str(staging),)
    audits: list[dict[str, Any]] = []
    reports: dict[str, ValidationReport] = {}
    for table in BRONZE_COLUMNS:
        spec = sources[table]
        spec = SourceSpec(
            path=spec.path, table=spec.table, sql=spec.sql, allowed_paths=declared, all_text=True
        )
        audits.append(_bronze(engine, table, spec))
    if engine.name != "duckdb":
        engine.set_time_zone("UTC")
    for table in BRONZE_COLUMNS:
        reports[table] = _validate(engine, table)
    result = CampaignWarehouse(bronze_audit=audits, validation=reports)
    if not result.success:
        return result
    categories = _check_silver_inputs(engine)
    engine.create_temp_table(
        SILVER,
        silver_sql(
            categories, window_days=options.window_days, pre_window_days=options.pre_window_days
        ),
    )
    result.silver_audit = _silver_audit(engine, categories, options)
    if result.silver_audit["rows"] == 0:
        raise InputDataError("no assigned customers: the silver table is empty")
    design = campaign_design()
    spend_specs, conversion_specs = campaign_metric_specs(categories, options)
    result.spend = statistics_in_engine(engine, SILVER, design, spend_specs, FUNNEL_STAGES)
    result.conversion = statistics_in_engine(engine, SILVER, design, conversion_specs)
    campaigns = engine.fetch("SELECT * FROM campaigns")
    campaigns["send_at"] = pd.to_datetime(campaigns["send_at"]).dt.tz_localize("UTC")
    result.campaigns = campaigns.sort_values("campaign_id").reset_index(drop=True)
    if staging is not None:
        result.staged = _stage_rows(engine, staging)
    return result


def _bronze(engine: SqlEngine, table: str, spec: SourceSpec) -> dict[str, Any]:
    """Register the raw table, stage it as text, parse it into the bronze temp table named
    after the table; the audit record is the one :func:`build_bronze` writes."""
    raw, staged = f"raw_{table}", f"staged_{table}"
    label = spec.path or (f"table {spec.table}" if spec.table else "sql")
    engine.register_source(spec, raw)
    columns = [c.name for c in engine.columns(raw)]
    required = list(BRONZE_COLUMNS[table])
    absent = [c for c in required if c not in columns]
    if absent:
        shown = Path(spec.path).name if spec.path else f"table {spec.table}"
        raise InputDataError(
            f"{table} ({shown}) lacks required column(s): {', '.join(absent)} "
            f"(has: {', '.join(columns)})"
        )
    text = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in columns)
    inner = f"(SELECT {text} FROM {quote_ident(raw)}) AS {quote_ident(raw)}"
    try:
        engine.create_temp_table(staged, bronze_select(table, columns, inner))
    except QueryError as exc:
        # PostgreSQL has no TRY_CAST: a value that does not parse fails the whole query.
        raise _unparsable_column_error(engine, table, required, inner, exc) from exc
    for column in typed_columns(table, required):
        bad_sql = unparsable_values_sql(column, staged)
        n_bad = int(engine.fetch(f"SELECT COUNT(*) AS n FROM ({bad_sql}) AS b")["n"].iloc[0])
        if n_bad:
            examples = engine.fetch(f"{bad_sql} LIMIT {_MAX_EXAMPLES}").iloc[:, 0].tolist()
            kind = BRONZE_COLUMNS[table][column]
            raise InputDataError(
                f"{table}.{column}: {n_bad} value(s) are not valid {kind}s "
                f"(examples: {', '.join(map(repr, examples))})"
            )
    select = ", ".join(quote_ident(c) for c in columns)
    engine.create_temp_table(table, f"SELECT {select} FROM {staged}")
    counts = engine.fetch(
        f"SELECT (SELECT COUNT(*) FROM {table}) AS n_rows, "
        f"(SELECT COUNT(*) FROM (SELECT DISTINCT {select} FROM {table}) d) AS n_distinct"
    ).iloc[0]
    return {
        "table": table,
        "file": label,
        "rows": int(counts["n_rows"]),
        "columns": columns,
        "exact_duplicate_rows": int(counts["n_rows"] - counts["n_distinct"]),
    }


def _unparsable_column_error(
    engine: SqlEngine, table: str, columns: list[str], inner: str, exc: QueryError
) -> InputDataError:
    """Name the column(s) whose values do not parse when the engine cannot say per value
    (no TRY_CAST): each typed column is cast alone; the engine's message names the value."""
    found = []
    for column in typed_columns(table, columns):
        kind = BRONZE_COLUMNS[table][column]
        probe = f"SELECT COUNT({parsed_value_sql(column, kind)}) AS n FROM {inner}"
        try:
            engine.fetch(probe)
        except QueryError as column_exc:
            found.append(f"{table}.{column}: values are not valid {kind}s ({column_exc})")
    if not found:
        return InputDataError(f"{table}: values that do not parse ({exc})")
    return InputDataError("; ".join(found))


def _validate(engine: SqlEngine, table: str) -> ValidationReport:
    """The bronze suite of ``table``: Great Expectations on PostgreSQL (a self-contained query
    on its own connection) and Spark (the DataFrame), liftlab's SQL checks on DuckDB."""
    rules = bronze_rules(table)
    if engine.name == "spark":
        return validate_with_ge(rules=rules, spark_frame=engine.spark.table(table))  # type: ignore[attr-defined]
    if engine.name == "postgres":
        columns = ", ".join(quote_ident(c.name) for c in engine.columns(table))
        raw_sql = engine.source_sqls[f"raw_{table}"]  # type: ignore[attr-defined]
        typed = [c.name for c in engine.columns(f"raw_{table}")]
        text = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in typed)
        inner = f"(SELECT {text} FROM {quote_ident('raw_' + table)}) AS r"
        body = to_dialect(
            f"SELECT {columns} FROM ({bronze_select(table, typed, inner)}) AS b", "postgres"
        )
        # GE's query assets must start with SELECT: the CTE goes inside a derived table.
        query = (
            f'SELECT * FROM (WITH "raw_{table}" AS ({raw_sql}) '
            f'SELECT * FROM ({body}) AS "b") AS "{table}"'
        )
        return validate_with_ge(rules=rules, postgres_url=engine.url, query=query)  # type: ignore[attr-defined]
    return validate_in_engine(engine, table, rules)


def _check_silver_inputs(engine: SqlEngine) -> list[str]:
    """The checks :func:`build_silver` runs before its SQL; returns the categories (sorted in
    code-point order on every engine, whatever the database's collation)."""
    unknown = sorted(str(v) for v in engine.fetch(UNKNOWN_CAMPAIGNS_SQL).iloc[:, 0])
    if unknown:
        raise InputDataError(
            f"assignments reference campaign(s) missing from campaigns: "
            f"{', '.join(unknown[:_MAX_EXAMPLES])}"
        )
    check_groups(set(engine.fetch(GROUPS_SQL).iloc[:, 0]))
    categories = sorted(str(v) for v in engine.fetch(CATEGORIES_SQL).iloc[:, 0])
    check_categories(categories)
    return categories


def _silver_audit(
    engine: SqlEngine, categories: list[str], options: CampaignOptions
) -> dict[str, Any]:
    rows = int(engine.fetch(f"SELECT COUNT(*) AS n FROM {SILVER}")["n"].iloc[0])
    ambiguous = engine.fetch(AMBIGUOUS_SQL)
    contaminated = engine.fetch(CONTAMINATION_SQL)
    return {
        "window_days": options.window_days,
        "pre_window_days": options.pre_window_days,
        "rows": rows,
        "categories": categories,
        "ambiguous_assignments_excluded": _counts(ambiguous),
        "contaminated_controls": _counts(contaminated),
    }


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    pairs = sorted(
        (str(k), int(v)) for k, v in zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True)
    )
    return dict(pairs)


def _stage_rows(engine: SqlEngine, staging: Path) -> dict[str, str]:
    """Bronze and silver rows → zstd Parquet in ``staging`` (DuckDB's own COPY)."""
    staged: dict[str, str] = {}
    for name, path in warehouse_files(staging).items():
        relation = SILVER if name == SILVER else name.removeprefix("bronze_")
        engine.copy_to_parquet(f"SELECT * FROM {quote_ident(relation)}", path)  # type: ignore[attr-defined]
        staged[name] = str(path)
    return staged


def raise_for_failures(reports: Mapping[str, ValidationReport]) -> None:
    """One DataValidationError listing every failure of every table (as the pandas path
    did), so one run shows all that is wrong."""
    messages = []
    for name, report in reports.items():
        if not report.success:
            try:
                report.raise_for_failures()
            except DataValidationError as exc:
                messages.append(f"{name}: {exc}")
    if messages:
        raise DataValidationError("\n".join(messages))
