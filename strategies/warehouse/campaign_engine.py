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
    check_categories,
    check_groups,
    silver_sql,
)
from strategies.campaign_uplift import (
    FUNNEL_STAGES,
    CampaignOptions,
    bronze_rules,
    campaign_design,
    campaign_metric_specs,
)
from strategies.engines.base import EngineSettings, SourceSpec, SqlEngine
from strategies.engines.dialects import quote_ident, to_dialect
from strategies.errors import InputDataError
from strategies.stats.inputs import ABStatistics
from strategies.validation import ValidationReport
from strategies.warehouse.ab_inputs import statistics_in_engine
from strategies.warehouse.bronze import (
    bronze_select,
    load_bronze,
    readable_sources,
    run_with_staging,
    stage_rows,
    text_relation,
)
from strategies.warehouse.checks_sql import validate_in_engine
from strategies.warehouse.ge_engine import validate_with_ge

__all__ = [
    "SILVER",
    "CampaignWarehouse",
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
    return run_with_staging(
        settings,
        staging_dir,
        lambda engine, staging: _run(engine, sources, options, naive_timezone, staging),
    )


def _run(
    engine: SqlEngine,
    sources: Mapping[str, SourceSpec],
    options: CampaignOptions,
    naive_timezone: str,
    staging: Path | None,
) -> CampaignWarehouse:
    specs = readable_sources("campaign", sources, list(BRONZE_COLUMNS), staging)
    engine.set_time_zone(naive_timezone)
    audits = [load_bronze(engine, t, specs[t], BRONZE_COLUMNS[t]) for t in BRONZE_COLUMNS]
    reports: dict[str, ValidationReport] = {}
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
        result.staged = stage_rows(
            engine,
            {
                name: (SILVER if name == SILVER else name.removeprefix("bronze_"), path)
                for name, path in warehouse_files(staging).items()
            },
        )
    return result


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
        inner = text_relation(f"raw_{table}", typed)
        body = to_dialect(
            f"SELECT {columns} FROM ({bronze_select(BRONZE_COLUMNS[table], typed, inner)}) AS b",
            "postgres",
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
