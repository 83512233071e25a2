"""The growth pipeline's heavy half, in one engine session: five raw tables → bronze →
validated → the analysis-ready table, its audits and the persona features.

Everything that touches raw rows (sessions, exposures, orders) runs inside the engine that
holds them — DuckDB (default), PostgreSQL or Spark — with the SQL of
:mod:`strategies.growth.analysis_sql` written once and transpiled. What comes back:

* the bronze audit (rows, columns, exact duplicates per table) and one validation report per
  input table and for the result;
* the audit counts of the rules (users in both arms, duplicate and out-of-window exposures,
  sessions before exposure, NULL flags, orders without a session, assigned users per arm);
* the experiments table (one row per experiment);
* the analysis-ready table (one row per experiment × user) and the persona features (one row
  per user) as pandas frames. Both are *per user*, not per event: at the issue's typical size
  (8,000 users × 8 experiments) that is at most 64,000 short rows — small enough to travel
  (DESIGN.md §5), and the lift and persona steps need them in Python anyway. Raw sessions,
  exposures and orders never leave the engine.

Validation is Great Expectations with the rules of
:func:`~strategies.growth.analysis_sql.input_rules`, run the way the campaign warehouse runs
its bronze suites (:mod:`strategies.warehouse.campaign_engine`): GE on PostgreSQL (a
self-contained query on its own connection) and Spark (the DataFrame), liftlab's SQL
rendering of the same expectations on DuckDB (GE cannot reach DuckDB); the result table is
validated by GE on the pandas frame. When an input suite fails, nothing else is computed.

Row tables for the local DuckDB warehouse: on DuckDB only, and only with a ``staging_dir``,
the bronze tables and the analysis table are written there as zstd Parquet by DuckDB's own
``COPY`` (never through Python); the publish step loads them in one transaction. The folder is
removed when anything fails, so a failed run leaves nothing half-written (DESIGN.md §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from strategies.engines.base import EngineSettings, SourceSpec, SqlEngine
from strategies.engines.dialects import quote_ident, to_dialect
from strategies.errors import ConfigError
from strategies.growth.analysis_sql import (
    ANALYSIS_COLUMNS,
    BRONZE_COLUMNS,
    CHECK_OK,
    COUNT_COLUMNS,
    DEVICES,
    EXPERIMENT_AUDIT_SQL,
    FLAGS,
    GLOBAL_AUDIT_SQL,
    RESULT_KEY,
    RESULT_VARIANT_CHECK,
    TABLES,
    analysis_sql,
    check_select,
    feature_columns,
    features_sql,
    input_rules,
    result_rules,
)
from strategies.validation import ValidationReport, validate
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
    "ANALYSIS_TABLE",
    "RESULT_SUITE",
    "GrowthWarehouse",
    "build_growth_tables",
    "with_result_checks",
    "warehouse_files",
]

#: The analysis-ready table's name in the engine and in the staging folder.
ANALYSIS_TABLE = "silver_growth_analysis"
#: The key of the result table's report in :attr:`GrowthWarehouse.validation`.
RESULT_SUITE = "analysis"
_INT_FEATURES = ("frequency", "has_history")


@dataclass
class GrowthWarehouse:
    """What leaves the engine. ``analysis``/``features``/``experiments`` are None and
    ``audits`` is empty when an input suite failed (see :attr:`success`).

    ``audits``: ``rows``, ``feature_cutoff`` (ISO UTC), ``pre_period_days``; per experiment
    ``assigned_users`` (``{experiment: {label: users}}``), ``users_in_both_arms``,
    ``duplicate_exposure_rows``, ``exposures_outside_window``, ``exposures_without_session``,
    ``sessions_before_exposure``; table-wide ``null_flags`` (``{flag: rows}``),
    ``orders_without_session``, ``sessions_unknown_user``, ``orders_unknown_user``.
    """

    bronze_audit: list[dict[str, Any]]
    validation: dict[str, ValidationReport]
    audits: dict[str, Any] = field(default_factory=dict)
    experiments: pd.DataFrame | None = None
    analysis: pd.DataFrame | None = None
    """One row per experiment × user: ``ANALYSIS_COLUMNS`` (``first_exposure_at`` in UTC)."""
    features: pd.DataFrame | None = None
    """One row per user: ``feature_columns()``."""
    staged: dict[str, str] = field(default_factory=dict)
    """Warehouse table → Parquet file in ``staging_dir`` (DuckDB with a staging folder)."""

    @property
    def success(self) -> bool:
        return all(r.success for r in self.validation.values())


def warehouse_files(staging_dir: str | Path) -> dict[str, Path]:
    """The row tables written to a staging folder and their Parquet files."""
    folder = Path(staging_dir)
    names = [f"bronze_{t}" for t in TABLES] + [ANALYSIS_TABLE]
    return {name: folder / f"{name}.parquet" for name in names}


def build_growth_tables(
    settings: EngineSettings,
    sources: Mapping[str, SourceSpec],
    *,
    staging_dir: str | Path | None = None,
    pre_period_days: int = 180,
    naive_timezone: str = "UTC",
) -> GrowthWarehouse:
    """Open the engine; bronze, validate, build the analysis-ready table, audits and persona
    features; return only per-user and smaller tables.

    ``sources`` maps each of :data:`~strategies.growth.analysis_sql.TABLES` to a file (DuckDB,
    Spark) or an engine table/query. ``pre_period_days`` is the length of the order history
    before the experiments (users without orders get ``pre_period_days + 1`` as recency).
    Timestamps without an offset are read in ``naive_timezone``. With ``staging_dir`` (DuckDB
    only) the row tables are written there; on any error, or when validation fails, the folder
    is removed.
    """
    if isinstance(pre_period_days, bool) or not isinstance(pre_period_days, int):
        raise ConfigError(f"pre_period_days must be a whole number, got {pre_period_days!r}")
    if pre_period_days < 1:
        raise ConfigError(f"pre_period_days must be at least 1, got {pre_period_days}")
    return run_with_staging(
        settings,
        staging_dir,
        lambda engine, staging: _run(engine, sources, staging, pre_period_days, naive_timezone),
    )


def _run(
    engine: SqlEngine,
    sources: Mapping[str, SourceSpec],
    staging: Path | None,
    pre_period_days: int,
    naive_timezone: str,
) -> GrowthWarehouse:
    specs = readable_sources("growth", sources, TABLES, staging)
    engine.set_time_zone(naive_timezone)
    audits = [load_bronze(engine, t, specs[t], BRONZE_COLUMNS[t]) for t in TABLES]
    if engine.name != "duckdb":
        # Timestamps are instants from here on; UTC keeps fetched values comparable.
        engine.set_time_zone("UTC")
    result = GrowthWarehouse(
        bronze_audit=audits, validation={t: _validate(engine, t) for t in TABLES}
    )
    if not result.success:
        return result

    engine.create_temp_table(ANALYSIS_TABLE, analysis_sql())
    experiments = engine.fetch("SELECT * FROM experiments ORDER BY experiment_id")
    for column in ("start_at", "end_at"):
        experiments[column] = _utc(experiments[column])
    result.experiments = experiments.sort_values("experiment_id").reset_index(drop=True)
    result.analysis = _analysis_frame(engine.fetch(f"SELECT * FROM {ANALYSIS_TABLE}"))
    result.validation[RESULT_SUITE] = validate(
        with_result_checks(result.analysis, result.experiments), result_rules()
    )
    result.audits = _audits(engine, len(result.analysis), pre_period_days)
    result.features = _features_frame(
        engine.fetch(features_sql(pre_period_days=pre_period_days, devices=DEVICES))
    )
    if staging is not None and result.success:
        result.staged = stage_rows(
            engine,
            {
                name: (name if name == ANALYSIS_TABLE else name.removeprefix("bronze_"), path)
                for name, path in warehouse_files(staging).items()
            },
        )
    return result


# --------------------------------------------------------------------------------------------
# Bronze and validation
# --------------------------------------------------------------------------------------------


def _validate(engine: SqlEngine, table: str) -> ValidationReport:
    """The input suite of ``table`` on :func:`check_select`'s relation: GE on PostgreSQL (a
    self-contained query on GE's own connection, which cannot see this session's temp
    tables) and Spark (the DataFrame of a temp view), liftlab's SQL checks on DuckDB."""
    rules = input_rules(table)
    view = f"check_{table}"
    if engine.name == "postgres":
        return validate_with_ge(
            rules=rules,
            postgres_url=engine.url,  # type: ignore[attr-defined]
            query=_postgres_check_query(engine, table),
        )
    engine.create_temp_view(view, check_select(table))
    if engine.name == "spark":
        return validate_with_ge(rules=rules, spark_frame=engine.spark.table(view))  # type: ignore[attr-defined]
    return validate_in_engine(engine, view, rules)


def _postgres_check_query(engine: SqlEngine, table: str) -> str:
    """One SELECT that rebuilds the bronze rows the check needs from the sources' own queries
    (``raw_<t>`` → ``bronze_<t>`` CTEs) and selects the check relation from them."""
    needed = ("exposures", "experiments") if table == "exposures" else (table,)
    ctes = []
    for t in needed:
        raw = f"raw_{t}"
        raw_sql = engine.source_sqls[raw]  # type: ignore[attr-defined]
        columns = [c.name for c in engine.columns(raw)]
        select = ", ".join(quote_ident(c) for c in columns)
        typed = bronze_select(BRONZE_COLUMNS[t], columns, text_relation(raw, columns))
        body = to_dialect(f"SELECT {select} FROM ({typed}) AS b", "postgres")
        ctes += [f"{quote_ident(raw)} AS ({raw_sql})", f"{quote_ident('bronze_' + t)} AS ({body})"]
    check = to_dialect(check_select(table, {t: f"bronze_{t}" for t in needed}), "postgres")
    # GE's query assets must start with SELECT: the CTEs go inside a derived table.
    return f'SELECT * FROM (WITH {", ".join(ctes)} {check}) AS "check_{table}"'


def with_result_checks(analysis: pd.DataFrame, experiments: pd.DataFrame) -> pd.DataFrame:
    """The result frame plus its derived check columns: the composite key (``|`` joins the
    two ids; the ids of the contract hold none) and whether the variant is one of the
    experiment's labels."""
    frame = analysis.copy()
    frame[RESULT_KEY] = frame["experiment_id"].astype(str) + "|" + frame["user_id"].astype(str)
    labels = experiments.set_index("experiment_id")[["control", "treatment"]]
    control = frame["experiment_id"].map(labels["control"])
    treatment = frame["experiment_id"].map(labels["treatment"])
    ok = (frame["variant"] == control) | (frame["variant"] == treatment)
    shown = frame["experiment_id"].astype(str) + ": " + frame["variant"].astype(str)
    frame[RESULT_VARIANT_CHECK] = shown.where(~ok, CHECK_OK)
    return frame


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


def _utc(values: pd.Series) -> pd.Series:
    """Fetched timestamps (naive UTC on every engine) as time-zone-aware UTC."""
    return pd.to_datetime(values).dt.tz_localize("UTC")


def _analysis_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in contract order, one dtype per column on every engine, sorted by key."""
    frame = frame[list(ANALYSIS_COLUMNS)].copy()
    for column in (*COUNT_COLUMNS, *FLAGS):
        frame[column] = frame[column].astype("int64")
    frame["revenue"] = frame["revenue"].astype("float64")
    frame["first_exposure_at"] = _utc(frame["first_exposure_at"])
    frame = frame.sort_values(["experiment_id", "user_id"], kind="stable")
    return frame.reset_index(drop=True)


def _features_frame(frame: pd.DataFrame) -> pd.DataFrame:
    columns = list(feature_columns(DEVICES))
    frame = frame[columns].copy()
    for column in columns[1:]:
        integer = column in _INT_FEATURES or column.startswith("device_")
        frame[column] = frame[column].astype("int64" if integer else "float64")
    return frame.sort_values("user_id", kind="stable").reset_index(drop=True)


def _audits(engine: SqlEngine, rows: int, pre_period_days: int) -> dict[str, Any]:
    """The audit counts of the analysis rules (see the module docstring of analysis_sql)."""
    per_experiment = engine.fetch(EXPERIMENT_AUDIT_SQL).sort_values("experiment_id")
    table_wide = engine.fetch(GLOBAL_AUDIT_SQL)
    cutoff = _utc(table_wide["feature_cutoff"]).iloc[0]
    table_wide = table_wide.iloc[0]

    def by_experiment(column: str) -> dict[str, int]:
        return {
            str(e): int(n)
            for e, n in zip(per_experiment["experiment_id"], per_experiment[column], strict=True)
        }

    assigned = {
        str(row.experiment_id): {
            str(row.control): int(row.assigned_control),
            str(row.treatment): int(row.assigned_treatment),
        }
        for row in per_experiment.itertuples(index=False)
    }
    return {
        "rows": int(rows),
        "feature_cutoff": cutoff.isoformat(),
        "pre_period_days": int(pre_period_days),
        "assigned_users": assigned,
        "users_in_both_arms": by_experiment("users_in_both_arms"),
        "duplicate_exposure_rows": by_experiment("duplicate_exposure_rows"),
        "exposures_outside_window": by_experiment("exposures_outside_window"),
        "exposures_without_session": by_experiment("exposures_without_session"),
        "sessions_before_exposure": by_experiment("sessions_before_exposure"),
        "null_flags": {flag: int(table_wide[f"null_{flag}"]) for flag in FLAGS},
        "orders_without_session": int(table_wide["orders_without_session"]),
        "sessions_unknown_user": int(table_wide["sessions_unknown_user"]),
        "orders_unknown_user": int(table_wide["orders_unknown_user"]),
    }
