"""The A/B pipeline's heavy half, in one engine session: source → cleaned → checked → statistics.

Everything that touches raw rows happens here, inside the engine that holds them (DuckDB,
PostgreSQL or Spark): the cleaning strategies (a chain of temp tables, each with its audit counts),
the validation suite on the cleaned table, and the aggregation to sufficient statistics (plus the
per-look statistics of a sequential design and the rank sums / bucket sums of the non-parametric
layer). What comes back is small — audits, a validation report, statistics — and is all the
later steps see (DESIGN.md §5). One session, because the cleaned table is a temp table of that
session: no copy of the rows is written outside the engine, nothing half-written is left behind.

Where the validation suite runs: Great Expectations on PostgreSQL (its SQL datasource, on the
cleaning query) and on Spark (its Spark datasource, on the cleaned DataFrame); on DuckDB, whose
SQLAlchemy driver Great Expectations cannot use, liftlab's SQL version of the same expectations
(:mod:`strategies.warehouse.checks_sql`, tested to give GE's outcomes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from strategies.cleaning import CleaningAudit, CleaningStrategy, ColumnRoles
from strategies.engines import open_engine
from strategies.engines.base import SOURCE, EngineSettings, SourceSpec, SqlEngine
from strategies.engines.dialects import to_dialect
from strategies.ingest import file_fingerprint
from strategies.stats.inputs import ABStatistics
from strategies.stats.layers import NonparametricOptions, SequentialOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign
from strategies.validation import ValidationReport, ValidationRules
from strategies.warehouse.ab_inputs import scan_ab_statistics, statistics_in_engine
from strategies.warehouse.checks_sql import ValidationPlan, plan_validation
from strategies.warehouse.cleaning_sql import clean_in_engine, cleaning_query
from strategies.warehouse.ge_engine import validate_with_ge
from strategies.warehouse.nonparametric_sql import nonparametric_in_engine
from strategies.warehouse.stats_sql import StatisticsScan

CLEANED = "cleaned"
CHECKED_BY = {
    "duckdb": "liftlab's SQL version of the Great Expectations suite, in DuckDB",
    "postgres": "Great Expectations on its PostgreSQL datasource",
    "spark": "Great Expectations on its Spark datasource",
}


@dataclass(frozen=True)
class ABPlan:
    """Everything the engine session computes, as domain objects."""

    cleaning: Sequence[CleaningStrategy]
    roles: ColumnRoles
    rules_for: Callable[[list[str]], ValidationRules]
    """The validation suite for the cleaned table's columns (rules depend on which funnel
    columns exist)."""
    design: ABDesign
    metrics: Sequence[MetricSpec]
    funnel: Sequence[str] = ()
    sequential: SequentialOptions | None = None
    nonparametric: NonparametricOptions | None = None


@dataclass
class ABSummary:
    """What leaves the engine. ``statistics`` is None when validation failed (nothing is
    aggregated from data that broke the suite)."""

    statistics: ABStatistics | None
    audits: list[CleaningAudit]
    validation: ValidationReport
    data_info: dict[str, Any] = field(default_factory=dict)
    checked_by: str = ""
    """Who ran the expectation suite, and where (shown beside the validation result)."""


def summarise_ab(settings: EngineSettings, source: SourceSpec, plan: ABPlan) -> ABSummary:
    """Open the engine, clean, validate and aggregate; return only small tables."""
    with open_engine(settings) as engine:
        engine.register_source(source)
        columns = [c.name for c in engine.columns(SOURCE)]
        n_rows = _count(engine, SOURCE)
        audits, report, scan = _clean_and_validate(engine, plan)
        info = _data_info(settings, source, n_rows, columns)
        info["rows_clean"] = scan.n_rows if scan is not None else _count(engine, CLEANED)
        checked_by = CHECKED_BY[settings.name]
        if not report.success:
            return ABSummary(None, audits, report, info, checked_by)
        statistics = statistics_in_engine(
            engine, CLEANED, plan.design, plan.metrics, plan.funnel, plan.sequential, scan=scan
        )
        if plan.nonparametric is not None:
            statistics.nonparametric = nonparametric_in_engine(
                engine,
                CLEANED,
                experiment_column=plan.design.experiment_column or None,
                experiment_name=plan.design.experiment_name,
                variant_column=plan.design.variant_column,
                control=plan.design.control,
                segment_columns=plan.design.segment_columns,
                unit_column=plan.design.unit_column,
                metrics=plan.metrics,
                options=plan.nonparametric,
            )
        return ABSummary(statistics, audits, report, info, checked_by)


def _clean_and_validate(
    engine: SqlEngine, plan: ABPlan
) -> tuple[list[CleaningAudit], ValidationReport, StatisticsScan | None]:
    """Clean into the temp table ``cleaned``, then run the suite on it — with Great
    Expectations where it has a datasource for the engine (PostgreSQL, Spark), with liftlab's
    SQL version of the same expectations on DuckDB. There the suite's counts ride on the
    statistics scan, which is returned for :func:`statistics_in_engine` (the statistics are
    used only if the suite passes)."""
    if engine.name == "postgres":
        # GE validates on its own connection, where this session's temp tables do not exist:
        # it gets the whole cleaning chain as one query (source included).
        query, audits = cleaning_query(engine, plan.cleaning, plan.roles, source=SOURCE)
        engine.create_temp_table(CLEANED, query)
        rules = plan.rules_for([c.name for c in engine.columns(CLEANED)])
        standalone = _with_source(to_dialect(query, "postgres"), engine.source_sql)
        report = validate_with_ge(rules=rules, postgres_url=engine.url, query=standalone)
        return audits, report, None
    # DuckDB reads its columnar source again per query rather than holding a copy of every
    # row per cleaning step under its memory limit; Spark keeps steps as persisted tables.
    steps = "views" if engine.name == "duckdb" else "tables"
    audits = clean_in_engine(
        engine, plan.cleaning, plan.roles, source=SOURCE, target=CLEANED, steps=steps
    )
    rules = plan.rules_for([c.name for c in engine.columns(CLEANED)])
    if engine.name == "spark":
        report = validate_with_ge(rules=rules, spark_frame=engine.spark.table(CLEANED))
        return audits, report, None
    suite = plan_validation(engine, CLEANED, rules)
    scan = _scan_with_suite(engine, plan, suite)
    if scan is None:
        return audits, suite.finish(engine), None
    report = suite.finish(
        engine,
        n_rows=scan.n_rows,
        conditions=scan.condition_counts(),
        present=scan.present_counts(),
    )
    return audits, report, scan


def _scan_with_suite(
    engine: SqlEngine, plan: ABPlan, suite: ValidationPlan
) -> StatisticsScan | None:
    """The statistics scan of ``cleaned`` counting the suite's value rules on the way (one
    scan instead of two, plus the input checks' three), or None where it cannot be shared:
    a schema the statistics checks refuse, or a rule the engine cannot evaluate — the suite
    and the checks then scan on their own and report exactly as before."""
    if suite.trivial:
        return None
    try:
        return scan_ab_statistics(
            engine,
            CLEANED,
            plan.design,
            plan.metrics,
            plan.funnel,
            conditions=suite.conditions(),
            present=suite.present(),
        )
    except Exception:  # noqa: BLE001 - the separate scans report the engine's error per rule
        return None


def _with_source(query: str, source_sql: str) -> str:
    """``query`` (PostgreSQL, reading the relation ``source``) as one self-contained SELECT —
    ``source`` defined as its first CTE — so it runs on any connection (GE's query assets must
    start with SELECT)."""
    cte = f'"{SOURCE}" AS ({source_sql})'
    head = query.lstrip()
    body = f"WITH {cte}, {head[5:]}" if head[:5].upper() == "WITH " else f"WITH {cte} {head}"
    return f'SELECT * FROM ({body}) AS "{CLEANED}"'


def _count(engine: SqlEngine, relation: str) -> int:
    return int(engine.fetch(f'SELECT COUNT(*) AS "n" FROM "{relation}"')["n"].iloc[0])


def _data_info(
    settings: EngineSettings, source: SourceSpec, n_rows: int, columns: list[str]
) -> dict[str, Any]:
    """The run's data tag: what was read, where, and (for a file) its fingerprint."""
    return {
        "engine": settings.name,
        "source": source.path or (f"table {source.table}" if source.table else "sql"),
        "table": source.table,
        "sql": source.sql,
        "allowed_paths": list(source.allowed_paths),
        "sha256": file_fingerprint(source.path) if source.path else None,
        "rows": n_rows,
        "columns": columns,
    }
