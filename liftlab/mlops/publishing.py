"""Publish a finished run of any pipeline: its summary, its gold files in ``output_dir`` and its
DuckDB warehouse tables, all or nothing, and only then its MLflow record (the logging functions
themselves live in ``tracking``).

Every publish goes through :func:`staged_publish`: files are written to a hidden staging folder
inside ``output_dir``, every DuckDB table of the publish is written in ONE transaction, and the
files are ``os.replace``-d into place just before that transaction commits (and put back if it
does not). A run that fails half-way therefore never leaves a results table without its report,
a predictions file without its gold table, or a stale mix of two runs for a BI tool to pick up;
the previous run's files stay as they were. MLflow is written after that, inside
:func:`~liftlab.mlops.tracking.failed_run_on_error`, so a publish that fails leaves an MLflow
run marked ``FAILED`` (tag ``liftlab.status=failed``) instead of one that looks complete.

The publish steps of the pipelines call one function here each (``publish_*_run``), so all of
it runs (and is tested) without ZenML.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liftlab.config.campaign_uplift import CampaignUpliftConfig
from liftlab.config.growth_analytics import GrowthAnalyticsConfig
from liftlab.config.marketing_mix import MarketingMixConfig
from liftlab.mlops.staging import remove_staging_dir
from liftlab.mlops.tracking import (
    active_run_id,
    failed_run_on_error,
    flatten_params,
    log_ab_run,
    log_campaign_run,
    log_files,
    log_inference_run,
    log_job_run,
    log_training_outputs,
    metric_key,
    set_pipeline_tags,
)
from strategies.mmm.result import MMMResult
from strategies.model_inputs import unknown_category_counts

if TYPE_CHECKING:
    from liftlab.config.ab_testing import ABTestConfig
    from liftlab.config.inference import InferenceConfig


class StagedPublish:
    """What one publish writes, collected by :func:`staged_publish` and committed together:
    files staged in a hidden folder inside ``output_dir`` and DuckDB tables written to one
    database (at most one per publish, so one transaction covers every table)."""

    def __init__(self, target: Path, staging: Path) -> None:
        self.target = target
        self.staging = staging
        self.files: dict[str, Path] = {}
        """``{key: final path}`` of every staged file (the path it has once committed)."""
        self.database: Path | None = None
        self._writes: list[tuple[str, pd.DataFrame, str]] = []

    def table(self, name: str, frame: pd.DataFrame, formats: Sequence[str] = ("csv",)) -> None:
        """Stage ``<name>.<format>`` per format; key ``name`` (``<name>_<fmt>`` after the first)."""
        for fmt in formats:
            file = self.staging / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(file, index=False)
            elif fmt == "csv":
                frame.to_csv(file, index=False)
            else:
                raise ValueError(f"unknown output format {fmt!r} (use csv or parquet)")
            self.files[name if fmt == formats[0] else f"{name}_{fmt}"] = self.target / file.name

    def text(self, file_name: str, text: str, key: str | None = None) -> None:
        """Stage a text file (key: ``key`` or the file name)."""
        (self.staging / file_name).write_text(text, encoding="utf-8")
        self.files[key or file_name] = self.target / file_name

    def duckdb_table(
        self, database: str | Path, table: str, frame: pd.DataFrame, *, mode: str = "replace"
    ) -> Path:
        """Queue ``frame`` for ``table``: ``replace`` swaps the whole table, ``append`` adds rows
        (the columns must match the existing table). Returns the database path."""
        if mode not in ("replace", "append"):
            raise ValueError(f"unknown write mode {mode!r} (use replace or append)")
        path = Path(database).resolve()
        if self.database not in (None, path):
            raise ValueError(
                f"a publish writes to one DuckDB database ({self.database}), not also {path}"
            )
        self.database = path
        self._writes.append((table, frame, mode))
        return path

    def commit(self) -> None:
        """Every table in one DuckDB transaction, the files moved into place before it commits
        and moved back if it does not: all of it lands, or none of it."""
        if not self._writes:
            self._replace_files()
            return
        _write_tables(self.database, self._writes, before_commit=self._replace_files)

    def _replace_files(self) -> Callable[[], None]:
        """``os.replace`` each staged file over its destination, keeping a hard link (or copy)
        of the file it replaces; returns the function that puts the old files back."""
        backups = self.staging.parent / f"{self.staging.name}-old"
        backups.mkdir()
        moved: list[tuple[Path, Path | None]] = []

        def undo() -> None:
            for destination, backup in reversed(moved):
                if backup is None:
                    destination.unlink(missing_ok=True)
                else:
                    os.replace(backup, destination)
            shutil.rmtree(backups, ignore_errors=True)

        try:
            for file in sorted(p for p in self.staging.iterdir() if p.is_file()):
                destination = self.target / file.name
                backup = None
                if destination.exists():
                    backup = backups / file.name
                    try:
                        os.link(destination, backup)
                    except OSError:
                        shutil.copy2(destination, backup)
                os.replace(file, destination)
                moved.append((destination, backup))
        except BaseException:
            undo()
            raise
        return undo


@contextlib.contextmanager
def staged_publish(output_dir: str | Path) -> Iterator[StagedPublish]:
    """Publish files to ``output_dir`` and tables to DuckDB together, or not at all.

    Inside the block, :meth:`StagedPublish.table` / :meth:`~StagedPublish.text` write files to a
    hidden staging folder in ``output_dir`` and :meth:`~StagedPublish.duckdb_table` queues
    tables. When the block ends without an error, every table is written in ONE DuckDB
    transaction, the files are ``os.replace``-d into place and the transaction commits; if any
    of that fails the transaction is rolled back and the previous files are put back. An error
    anywhere leaves no new file, no new or partial table, the previous run's files untouched
    and (when this publish created it) no ``output_dir``.
    """
    target = Path(output_dir).resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"output_dir {target} exists and is not a folder")
    created = not target.exists()
    target.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".liftlab-staging-", dir=target))
        try:
            stage = StagedPublish(target, staging)
            yield stage
            stage.commit()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(f"{staging}-old", ignore_errors=True)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                target.rmdir()  # only if empty: never deletes anything but our own folder
        raise


def write_duckdb_table(
    database: str | Path, table: str, frame: pd.DataFrame, *, mode: str = "replace"
) -> Path:
    """Write one table in its own transaction (``replace`` or ``append``), outside a publish;
    the publish functions write theirs through :func:`staged_publish`."""
    if mode not in ("replace", "append"):
        raise ValueError(f"unknown write mode {mode!r} (use replace or append)")
    path = Path(database).resolve()
    _write_tables(path, [(table, frame, mode)])
    return path


def _write_tables(
    database: Path,
    writes: Sequence[tuple[str, pd.DataFrame, str]],
    before_commit: Callable[[], Callable[[], None]] | None = None,
) -> None:
    """Every ``(table, frame, mode)`` in ONE transaction; ``before_commit`` runs last inside it
    and returns its undo, called if the commit fails. Any error rolls the transaction back."""
    import duckdb

    database.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(database))
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for table, frame, mode in writes:
                _write_frame(con, table, frame, mode)
            undo = before_commit() if before_commit else None
            try:
                con.execute("COMMIT")
            except BaseException:
                if undo:
                    undo()
                raise
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise
    finally:
        con.close()


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _write_frame(con: Any, table: str, frame: pd.DataFrame | Path, mode: str) -> None:
    """One table inside the caller's transaction. A :class:`~pathlib.Path` is a Parquet file
    DuckDB reads itself (row tables staged by an engine never pass through pandas)."""
    quoted = '"' + table.replace('"', '""') + '"'
    if isinstance(frame, Path):
        if mode != "replace":
            raise ValueError("a Parquet file replaces its table (mode='replace')")
        con.execute(
            f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM read_parquet(?)", [str(frame)]
        )
        return
    con.register("frame_to_write", frame)
    try:
        if mode == "replace":
            con.execute(f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM frame_to_write")
        else:
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {quoted} AS SELECT * FROM frame_to_write WHERE false"
            )
            con.execute(f"INSERT INTO {quoted} BY NAME SELECT * FROM frame_to_write")
    finally:
        con.unregister("frame_to_write")


def write_outputs(
    output_dir: str | Path,
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    texts: Mapping[str, str] | None = None,
    formats: tuple[str, ...] = ("csv",),
) -> dict[str, Path]:
    """Write ``<name>.<format>`` for each table and each text file as named, all or nothing
    (:func:`staged_publish`); return ``{key: final path}`` where the key is the table name
    (``<name>_<format>`` for the formats after the first) or the file name."""
    with staged_publish(output_dir) as stage:
        _stage_outputs(stage, tables, texts, formats)
    return stage.files


def _stage_outputs(
    stage: StagedPublish,
    tables: Mapping[str, pd.DataFrame] | None,
    texts: Mapping[str, str] | None,
    formats: Sequence[str] = ("csv",),
) -> None:
    for name, table in (tables or {}).items():
        stage.table(name, table, formats)
    for file_name, text in (texts or {}).items():
        stage.text(file_name, text)


# --------------------------------------------------------------------------------------------
# A/B testing
# --------------------------------------------------------------------------------------------


def ab_run_summary(
    results: pd.DataFrame,
    srm: pd.DataFrame,
    *,
    pipeline_run: str,
    mlflow_run_id: str | None,
    output_dir: str | Path,
    data_sha256: str | None,
) -> dict[str, Any]:
    """What one A/B run concluded, in ``run_summary.json`` and the CLI: comparisons and
    decisions of the overall (not per-segment) rows, experiments with an SRM alert."""
    overall = results[results["segment"] == "all"]
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "output_dir": str(Path(output_dir).resolve()),
        "comparisons": int(len(overall)),
        "decisions": {k: int(v) for k, v in overall["decision"].value_counts().items()},
        "srm_alerts": sorted(srm.loc[srm["srm_detected"], "experiment"].unique()),
        "data_sha256": data_sha256,
    }


def publish_ab_outputs(
    output_dir: str | Path,
    *,
    results: pd.DataFrame,
    srm: pd.DataFrame,
    report_html: str,
    extra_tables: Mapping[str, pd.DataFrame],
    pipeline_run: str,
    mlflow_run_id: str | None,
    data_sha256: str | None,
) -> dict[str, Any]:
    """Write the A/B gold files (all or nothing): ``ab_results.csv`` and ``.parquet``,
    ``srm.csv``, ``ab_report.html``, ``run_summary.json`` and one ``<name>.csv`` per non-empty
    extra table (heterogeneity, sequential looks). Return the summary plus the written
    ``files`` (which the file itself cannot list before they exist)."""
    summary = ab_run_summary(
        results,
        srm,
        pipeline_run=pipeline_run,
        mlflow_run_id=mlflow_run_id,
        output_dir=output_dir,
        data_sha256=data_sha256,
    )
    with staged_publish(output_dir) as stage:
        stage.table("ab_results", results, ("csv", "parquet"))
        stage.table("srm", srm)
        stage.text("ab_report.html", report_html, key="ab_report")
        stage.text("run_summary.json", _json_text(summary), key="run_summary")
        for name, table in extra_tables.items():
            if table is not None and not table.empty:
                stage.table(name, table)
    summary["files"] = {k: str(v) for k, v in stage.files.items()}
    return summary


def publish_ab_run(
    config: ABTestConfig,
    *,
    results: pd.DataFrame,
    srm: pd.DataFrame,
    extra_tables: Mapping[str, pd.DataFrame],
    audits: list[dict],
    validation: dict,
    report_html: str,
    data_info: Mapping[str, Any],
    pipeline_run: str,
) -> dict[str, Any]:
    """Files first (all or nothing), then MLflow: a run whose files could not be written logs
    no results and is marked failed (:func:`~liftlab.mlops.tracking.failed_run_on_error`)."""
    with failed_run_on_error():
        summary = publish_ab_outputs(
            config.output_dir,
            results=results,
            srm=srm,
            report_html=report_html,
            extra_tables=extra_tables,
            pipeline_run=pipeline_run,
            mlflow_run_id=active_run_id(),
            data_sha256=data_info.get("sha256"),
        )
        log_ab_run(
            config=config.model_dump(mode="json"),
            results=results,
            srm=srm,
            extra_tables=extra_tables,
            audits=audits,
            validation=validation,
            report_html=report_html,
            data_info={**data_info, "rows_clean": validation.get("n_rows")},
        )
    return summary


# --------------------------------------------------------------------------------------------
# Campaign uplift
# --------------------------------------------------------------------------------------------

CAMPAIGN_METRIC_STATS = (
    "incremental_spend_per_customer",
    "p_value_adjusted",
    "roi",
    "incremental_revenue",
)
"""Gold-table columns logged to MLflow, one metric per campaign × category and column."""
CAMPAIGN_MLFLOW_FILES = ("campaign_summary", "campaign_funnel", "campaign_report.html")
"""Written files that are also MLflow artifacts of the run."""


def campaign_run_summary(
    campaign_summary: pd.DataFrame,
    *,
    pipeline_run: str,
    mlflow_run_id: str | None,
    output_dir: str | Path,
) -> dict[str, Any]:
    """What one campaign run concluded: decisions and money over the campaigns (the
    ``category == "all"`` rows; category rows would count each campaign twice)."""
    overall = campaign_summary[campaign_summary["category"] == "all"]
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "campaigns": int(len(overall)),
        "decisions": {k: int(v) for k, v in overall["decision"].value_counts().items()},
        "roi_decisions": {k: int(v) for k, v in overall["roi_decision"].value_counts().items()},
        "incremental_revenue": float(overall["incremental_revenue"].sum()),
        "campaign_cost": float(overall["campaign_cost"].sum()),
        "output_dir": str(Path(output_dir).resolve()),
    }


def campaign_metrics(
    campaign_summary: pd.DataFrame, run_summary: Mapping[str, Any]
) -> dict[str, float]:
    """MLflow metrics of a campaign run: ``<campaign>.<category>.<stat>`` for every known value
    of :data:`CAMPAIGN_METRIC_STATS`, plus the run totals."""
    metrics: dict[str, float] = {}
    for row in campaign_summary.itertuples(index=False):
        for stat in CAMPAIGN_METRIC_STATS:
            value = getattr(row, stat)
            if pd.notna(value):
                metrics[metric_key(row.campaign_id, row.category, stat)] = float(value)
    metrics["total_incremental_revenue"] = run_summary["incremental_revenue"]
    metrics["total_campaign_cost"] = run_summary["campaign_cost"]
    return metrics


def campaign_warehouse_tables(
    bronze: Mapping[str, pd.DataFrame],
    campaign_customers: pd.DataFrame,
    gold: Mapping[str, pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    """DuckDB table name → frame: every bronze table, the silver campaign × customer table and
    the gold summary and funnel (the per-test table stays a file)."""
    return {
        **{f"bronze_{name}": frame for name, frame in bronze.items()},
        "silver_campaign_customers": campaign_customers,
        "gold_campaign_summary": gold["campaign_summary"],
        "gold_campaign_funnel": gold["campaign_funnel"],
    }


def publish_campaign_run(
    config: CampaignUpliftConfig,
    *,
    gold: Mapping[str, pd.DataFrame],
    report_html: str,
    bronze_audit: list[dict],
    silver_audit: dict,
    pipeline_run: str,
    mlflow_run_id: str | None,
    bronze: Mapping[str, pd.DataFrame] | None = None,
    campaign_customers: pd.DataFrame | None = None,
    staged_rows: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Gold files and the DuckDB warehouse (bronze, silver, gold tables, when ``duckdb_path`` is
    set) in one :func:`staged_publish` (all or nothing), then MLflow; return the run summary
    with what was written. A failure anywhere marks the MLflow run failed.

    ``gold`` holds ``campaign_summary``, ``campaign_funnel`` and ``campaign_tests``. The row
    tables come either as frames (``bronze`` by table name and ``campaign_customers``) or, from
    the engine step, as ``staged_rows`` — warehouse table → Parquet file in a run-scoped
    staging folder, loaded by DuckDB inside the same transaction; that folder is removed
    afterwards, whether the publish succeeds or not."""
    try:
        return _publish_campaign(
            config,
            gold=gold,
            report_html=report_html,
            bronze_audit=bronze_audit,
            silver_audit=silver_audit,
            pipeline_run=pipeline_run,
            mlflow_run_id=mlflow_run_id,
            bronze=bronze or {},
            campaign_customers=campaign_customers,
            staged_rows=staged_rows or {},
        )
    finally:
        for folder in {Path(f).parent for f in (staged_rows or {}).values()}:
            remove_staging_dir(folder)


def _publish_campaign(
    config: CampaignUpliftConfig,
    *,
    gold: Mapping[str, pd.DataFrame],
    report_html: str,
    bronze_audit: list[dict],
    silver_audit: dict,
    pipeline_run: str,
    mlflow_run_id: str | None,
    bronze: Mapping[str, pd.DataFrame],
    campaign_customers: pd.DataFrame | None,
    staged_rows: Mapping[str, str],
) -> dict[str, Any]:
    summary = campaign_run_summary(
        gold["campaign_summary"],
        pipeline_run=pipeline_run,
        mlflow_run_id=mlflow_run_id,
        output_dir=config.output_dir,
    )
    with failed_run_on_error():
        with staged_publish(config.output_dir) as stage:
            _stage_outputs(
                stage,
                tables=gold,
                texts={
                    "campaign_report.html": report_html,
                    "bronze_audit.json": _json_text(bronze_audit),
                    "silver_audit.json": _json_text(silver_audit),
                    "run_summary.json": _json_text(summary),
                },
                formats=("csv", "parquet"),
            )
            if config.duckdb_path:
                rows: dict[str, pd.DataFrame | Path] = {
                    f"bronze_{name}": frame for name, frame in bronze.items()
                }
                if campaign_customers is not None:
                    rows["silver_campaign_customers"] = campaign_customers
                rows.update({table: Path(file) for table, file in staged_rows.items()})
                rows["gold_campaign_summary"] = gold["campaign_summary"]
                rows["gold_campaign_funnel"] = gold["campaign_funnel"]
                for table, frame in rows.items():
                    stage.duckdb_table(config.duckdb_path, table, frame)  # type: ignore[arg-type]
        log_campaign_run(
            config,
            campaign_metrics(gold["campaign_summary"], summary),
            [stage.files[name] for name in CAMPAIGN_MLFLOW_FILES if name in stage.files],
        )
    summary["files"] = {k: str(v) for k, v in stage.files.items()}
    summary["duckdb"] = str(stage.database) if stage.database else None
    return summary


# --- growth analytics -----------------------------------------------------------------------

GROWTH_GOLD_TABLES = {
    "growth_analysis_table": "gold_growth_analysis_table",
    "growth_experiment_results": "gold_growth_experiment_results",
    "personas": "gold_personas",
    "persona_lift": "gold_persona_lift",
}
"""Published growth tables that are also DuckDB gold tables (file key → table name)."""
GROWTH_MLFLOW_FILES = (
    "growth_report.html",
    "growth_experiment_results",
    "persona_lift",
    "personas",
    "growth_recommendations",
)
"""Published growth files also attached to the MLflow run (keys of ``files``)."""


def growth_run_summary(
    tables: Mapping[str, pd.DataFrame],
    persona_summary: Mapping[str, Any],
    *,
    pipeline_run: str,
    mlflow_run_id: str | None,
    output_dir: str | Path,
    primary_metric: str,
) -> dict[str, Any]:
    """What one growth run concluded: the decisions on the source's headline metric, the
    personas (k, structure, recovery) and the recommended actions."""
    results = tables["growth_experiment_results"]
    primary = results[results["metric"] == primary_metric]
    recovery = persona_summary.get("recovery") or {}
    actions = tables["growth_recommendations"]
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "experiments": int(results["experiment"].nunique()),
        "primary_metric": primary_metric,
        "decisions": {k: int(v) for k, v in primary["decision"].value_counts().items()},
        "personas": int(persona_summary["k"]),
        "persona_structure_found": bool(persona_summary["structure_found"]),
        "persona_ari": recovery.get("ari"),
        "recommendations": {k: int(v) for k, v in actions["action"].value_counts().items()},
        "output_dir": str(Path(output_dir).resolve()),
    }


def growth_metrics(
    tables: Mapping[str, pd.DataFrame], persona_summary: Mapping[str, Any]
) -> dict[str, float]:
    """MLflow metrics of a growth run: ``<experiment>.<metric>.rel_lift`` and
    ``.p_value_adjusted`` per experiment, ``persona.<persona>.<experiment>.<metric>.rel_lift``,
    and the persona fit (k, recovery)."""
    metrics: dict[str, float] = {}
    for row in tables["growth_experiment_results"].itertuples(index=False):
        for stat in ("rel_lift", "p_value_adjusted"):
            value = getattr(row, stat)
            if pd.notna(value) and np.isfinite(value):
                metrics[metric_key(row.experiment, row.metric, stat)] = float(value)
    for row in tables["persona_lift"].itertuples(index=False):
        if pd.notna(row.rel_lift) and np.isfinite(row.rel_lift):
            persona = str(row.segment).removeprefix("persona=")
            metrics[metric_key("persona", persona, row.experiment, row.metric, "rel_lift")] = float(
                row.rel_lift
            )
    metrics["personas.k"] = float(persona_summary["k"])
    recovery = persona_summary.get("recovery") or {}
    if recovery.get("ari") is not None:
        metrics["personas.adjusted_rand_index"] = float(recovery["ari"])
    return metrics


def publish_growth_run(
    config: GrowthAnalyticsConfig,
    *,
    tables: Mapping[str, pd.DataFrame],
    persona_summary: Mapping[str, Any],
    audits: Mapping[str, Any],
    report_html: str,
    pipeline_run: str,
    mlflow_run_id: str | None,
    staged_rows: Mapping[str, str],
) -> dict[str, Any]:
    """Growth files and DuckDB tables (staged bronze/silver rows, the gold tables of
    :data:`GROWTH_GOLD_TABLES`) in one :func:`staged_publish` (all or nothing), then MLflow;
    the staging folder of the rows is removed whether the publish succeeds or not."""
    try:
        summary = growth_run_summary(
            tables,
            persona_summary,
            pipeline_run=pipeline_run,
            mlflow_run_id=mlflow_run_id,
            output_dir=config.output_dir,
            primary_metric=config.primary_metric,
        )
        with failed_run_on_error():
            with staged_publish(config.output_dir) as stage:
                _stage_outputs(
                    stage,
                    tables=tables,
                    texts={
                        "growth_report.html": report_html,
                        "growth_audits.json": _json_text(audits),
                        "persona_summary.json": _json_text(persona_summary),
                        "run_summary.json": _json_text(summary),
                    },
                    formats=("csv", "parquet"),
                )
                if config.duckdb_path:
                    rows: dict[str, pd.DataFrame | Path] = {
                        table: Path(file) for table, file in staged_rows.items()
                    }
                    for key, table in GROWTH_GOLD_TABLES.items():
                        rows[table] = tables[key]
                    for table, frame in rows.items():
                        stage.duckdb_table(config.duckdb_path, table, frame)  # type: ignore[arg-type]
            log_job_run(
                "growth_analytics",
                config,
                growth_metrics(tables, persona_summary),
                [stage.files[name] for name in GROWTH_MLFLOW_FILES if name in stage.files],
            )
    finally:
        for folder in {Path(f).parent for f in staged_rows.values()}:
            remove_staging_dir(folder)
    summary["files"] = {k: str(v) for k, v in stage.files.items()}
    summary["duckdb"] = str(stage.database) if stage.database else None
    return summary


# --- the model pipelines: training, uplift modelling, batch inference -------------------------


UPLIFT_MLFLOW_FILES = (
    "uplift_report.html",
    "learner_comparison",
    "policy_comparison",
    "average_effects",
)
"""Published uplift files also attached to the MLflow run (keys of ``files``)."""
UPLIFT_GOLD_TABLE = "gold_uplift_targeting"


# --- training -------------------------------------------------------------------------------


def training_run_summary(
    *,
    pipeline_run: str,
    model_name: str,
    output_dir: str,
    training_info: Mapping[str, Any],
    promotion_decision: Mapping[str, Any],
    data_info: Mapping[str, Any],
) -> dict[str, Any]:
    """The training run in one dict: best candidate, its and the baseline's holdout scores,
    the promotion verdict, the data hash and where the files went."""
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": training_info["mlflow_run_id"],
        "model_name": model_name,
        "best_candidate": training_info["best_candidate"],
        "holdout_scores": training_info["holdout_scores"],
        "baseline_scores": training_info["baseline_scores"],
        "promote": promotion_decision["promote"],
        "promotion_summary": promotion_decision["summary"],
        "data_sha256": data_info.get("sha256"),
        "output_dir": str(Path(output_dir).resolve()),
    }


def write_training_outputs(
    output_dir: str,
    *,
    model_comparison: pd.DataFrame,
    holdout_predictions: pd.DataFrame,
    feature_importance: pd.DataFrame,
    report_html: str,
    promotion_decision: Mapping[str, Any],
    cleaning_audit: list[dict],
    validation: Mapping[str, Any],
    summary: Mapping[str, Any],
) -> dict[str, Path]:
    """The three tables as CSV, the report, the decision, the audit, the validation result and
    the run summary; returns ``{key: final path}``."""
    return write_outputs(
        output_dir,
        tables={
            "model_comparison": model_comparison,
            "holdout_predictions": holdout_predictions,
            "feature_importance": feature_importance,
        },
        texts={
            "training_report.html": report_html,
            "promotion_decision.json": _json_text(promotion_decision),
            "cleaning_audit.json": _json_text(cleaning_audit),
            "validation.json": _json_text(validation),
            "run_summary.json": _json_text(summary),
        },
    )


def publish_training_run(
    *,
    pipeline_run: str,
    model_name: str,
    output_dir: str,
    model_comparison: pd.DataFrame,
    holdout_predictions: pd.DataFrame,
    feature_importance: pd.DataFrame,
    report_html: str,
    promotion_decision: Mapping[str, Any],
    training_info: Mapping[str, Any],
    cleaning_audit: list[dict],
    validation: Mapping[str, Any],
    data_info: Mapping[str, Any],
) -> dict[str, Any]:
    """The training run's files (all or nothing), then the report and holdout tables on the
    MLflow run; a failure marks the run failed. Registration is the pipeline's next (last)
    step, so a run whose files could not be written registers no version and moves no alias."""
    summary = training_run_summary(
        pipeline_run=pipeline_run,
        model_name=model_name,
        output_dir=output_dir,
        training_info=training_info,
        promotion_decision=promotion_decision,
        data_info=data_info,
    )
    with failed_run_on_error():
        files = write_training_outputs(
            output_dir,
            model_comparison=model_comparison,
            holdout_predictions=holdout_predictions,
            feature_importance=feature_importance,
            report_html=report_html,
            promotion_decision=promotion_decision,
            cleaning_audit=cleaning_audit,
            validation=validation,
            summary=summary,
        )
        log_training_outputs(
            report_html=report_html,
            holdout_predictions=holdout_predictions,
            feature_importance=feature_importance,
        )
    return {**summary, "files": {k: str(v) for k, v in files.items()}}


# --- uplift ---------------------------------------------------------------------------------


def uplift_run_summary(
    *,
    pipeline_run: str,
    output_dir: str,
    policy_outcome: str,
    uplift_info: Mapping[str, Any],
    uplift_decisions: Mapping[str, Mapping[str, Any]],
    policy_comparison: pd.DataFrame,
    uplift_targeting: pd.DataFrame,
) -> dict[str, Any]:
    """The uplift run in one dict: best learner and holdout score per outcome, how many
    customers the policy e-mails and what that earns per customer (holdout estimate of the
    model policy on ``policy_outcome``, with its 95 % CI vs sending nobody as
    ``policy_incremental_ci``), and each registry decision."""
    model_row = policy_comparison[
        (policy_comparison["outcome"] == policy_outcome) & (policy_comparison["policy"] == "model")
    ]
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": uplift_info.get("mlflow_run_id"),
        "best_learners": {k: v["learner"] for k, v in uplift_info["models"].items()},
        "holdout_scores": uplift_info["holdout_scores"],
        "policy_outcome": policy_outcome,
        "share_to_email": float(uplift_targeting["best_arm"].notna().mean()),
        "policy_incremental_profit_per_customer": (
            float(model_row["incremental_profit_per_customer"].iloc[0])
            if not model_row.empty
            else None
        ),
        "policy_incremental_ci": _interval(model_row, "incremental"),
        "decisions": {k: v["summary"] for k, v in uplift_decisions.items()},
        "output_dir": str(Path(output_dir).resolve()),
    }


def _interval(row: pd.DataFrame, prefix: str) -> list[float] | None:
    """``[low, high]`` of the first row's ``<prefix>_ci_low`` / ``_high``, or None."""
    columns = [f"{prefix}_ci_low", f"{prefix}_ci_high"]
    if row.empty or not set(columns) <= set(row.columns):
        return None
    values = [float(row[c].iloc[0]) for c in columns]
    return values if all(math.isfinite(v) for v in values) else None


def publish_uplift_outputs(
    output_dir: str,
    duckdb_path: str,
    tables: Mapping[str, pd.DataFrame],
    report_html: str,
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """Every table as CSV, the report, the run summary and (when ``duckdb_path`` is set) the
    ``gold_uplift_targeting`` DuckDB table, all or nothing. Returns what the run summary adds:
    ``files`` (``{key: path}``) and ``duckdb`` (the database path or ``None``)."""
    with staged_publish(output_dir) as stage:
        _stage_outputs(
            stage,
            tables,
            {"uplift_report.html": report_html, "run_summary.json": _json_text(summary)},
        )
        if duckdb_path:
            stage.duckdb_table(duckdb_path, UPLIFT_GOLD_TABLE, tables["uplift_targeting"])
    return {
        "files": {k: str(v) for k, v in stage.files.items()},
        "duckdb": str(stage.database) if stage.database else None,
    }


def publish_uplift_run(
    output_dir: str,
    duckdb_path: str,
    tables: Mapping[str, pd.DataFrame],
    report_html: str,
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """:func:`publish_uplift_outputs`, then the report and comparison tables as artifacts of
    the MLflow run; a failure marks the run failed. Returns the summary with what was written."""
    with failed_run_on_error():
        published = publish_uplift_outputs(output_dir, duckdb_path, tables, report_html, summary)
        log_files(published["files"][name] for name in UPLIFT_MLFLOW_FILES)
    return {**summary, **published}


# --- batch inference ------------------------------------------------------------------------


def inference_run_summary(
    *,
    pipeline_run: str,
    mlflow_run_id: str,
    model_ref: Mapping[str, Any],
    rows_scored: int,
    files: Mapping[str, Path],
    database: Path | None,
    table: str,
    unknown_categories: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The scoring run in one dict: which model version scored how many rows, how many rows
    per column had a category never seen in training, and where the predictions went (files,
    and the DuckDB gold table when there is one)."""
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "model_uri": model_ref["uri"],
        "model_version": model_ref["version"],
        "rows_scored": int(rows_scored),
        "unknown_categories": dict(unknown_categories or {}),
        "files": {k: str(v) for k, v in files.items()},
        "duckdb": {"database": str(database), "table": table} if database else None,
    }


def publish_inference_run(
    predictions: pd.DataFrame,
    *,
    model_ref: Mapping[str, Any],
    data_info: Mapping[str, Any],
    config: InferenceConfig,
    pipeline_run: str,
) -> dict[str, Any]:
    """The predictions files and (when ``duckdb_path`` is set) the gold table, all or nothing,
    then the MLflow run; a failure marks the run failed. Returns the run summary."""
    with failed_run_on_error():
        with staged_publish(config.output_dir) as stage:
            stage.table("predictions", predictions, tuple(config.formats))
            if config.duckdb_path:
                stage.duckdb_table(
                    config.duckdb_path, config.duckdb_table, predictions, mode=config.write_mode
                )
        run_id = log_inference_run(
            predictions,
            prediction_column=config.prediction_column,
            model_ref=model_ref,
            data_info=data_info,
        )
    return inference_run_summary(
        pipeline_run=pipeline_run,
        mlflow_run_id=run_id,
        model_ref=model_ref,
        rows_scored=len(predictions),
        files=stage.files,
        database=stage.database,
        table=config.duckdb_table,
        unknown_categories=unknown_category_counts(predictions),
    )


# --- marketing mix --------------------------------------------------------------------------

MARKETING_MIX_FRAMES = (
    "contributions",
    "roi",
    "parameters",
    "response_curves",
    "budget_plan",
    "cv_folds",
    "cv_shares",
    "calibration",
    "budget_scenarios",
)
"""The result frames written as ``<name>.csv`` (``budget_plan.csv`` among them)."""
MARKETING_MIX_TABLES = {
    "gold_mmm_contributions": "contributions",
    "gold_mmm_roi": "roi",
    "gold_mmm_response_curves": "response_curves",
    "gold_mmm_budget_plan": "budget_plan",
}
"""DuckDB table → result frame; every table is replaced by each run."""
MARKETING_MIX_REPORT = "marketing_mix_report.html"
MARKETING_MIX_DRAWS = "model_draws.json"
"""The bootstrap draws of the fitted model (a JSON list of ``model.json`` payloads): what a
budget scenario outside the pipeline (the dashboard) needs for its interval."""
MARKETING_MIX_CHANNEL_STATS = ("share", "roas", "mroas")
"""``roi`` columns logged to MLflow, one metric per channel and column."""


def _finite_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def marketing_mix_run_summary(
    result: MMMResult,
    *,
    pipeline_run: str,
    mlflow_run_id: str | None,
    output_dir: str | Path,
) -> dict[str, Any]:
    """What one marketing-mix run concluded, JSON-safe (NaN → None), for ``run_summary.json``
    and ``liftlab run``: shares, ROAS and marginal ROAS per channel, the recommended change per
    channel (relative) and its expected gain with interval and probability, fit quality and the
    warnings."""
    roi = result.roi
    per_channel = {
        stat: {str(c): _finite_or_none(v) for c, v in zip(roi["channel"], roi[stat], strict=True)}
        for stat in MARKETING_MIX_CHANNEL_STATS
    }
    plan = result.budget_plan
    budget = result.budget
    cv_mape = pd.to_numeric(result.cv_folds.get("mape", pd.Series(dtype=float)), errors="coerce")
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "channels": int(len(roi)),
        "shares": per_channel["share"],
        "roas": per_channel["roas"],
        "mroas": per_channel["mroas"],
        "recommended_change_pct": {
            str(c): _finite_or_none(v)
            for c, v in zip(plan["channel"], plan["change_pct"], strict=True)
        },
        "bound_active": {
            str(c): str(v) for c, v in zip(plan["channel"], plan["bound_active"], strict=True) if v
        },
        "budget_mode": budget.mode,
        "horizon": int(budget.horizon),
        "total_per_period": _finite_or_none(budget.total_per_period),
        "expected_gain": _finite_or_none(budget.expected_gain),
        "gain_ci": [_finite_or_none(budget.gain_ci_low), _finite_or_none(budget.gain_ci_high)],
        "prob_gain_positive": _finite_or_none(budget.prob_gain_positive),
        "interval_level": _finite_or_none(result.fit_stats.get("interval_level", 0.9)),
        "r2": _finite_or_none(result.fit_stats.get("r2")),
        "cv_mean_mape": _finite_or_none(cv_mape.mean()) if cv_mape.notna().any() else None,
        "calibrated": not result.calibration.empty,
        "warnings": list(result.warnings),
        "output_dir": str(Path(output_dir).resolve()),
    }


def marketing_mix_metrics(result: MMMResult) -> dict[str, float]:
    """MLflow metrics of a marketing-mix run: ``fit.<stat>`` (r2, mape, nrmse), the CV means
    (``cv.mean_mape`` and the baselines'), the plan (``budget.expected_gain`` with its interval
    and probability) and ``<channel>.<share|roas|mroas>`` with the channel name sanitised.
    Unknown (NaN) values are left out."""
    metrics: dict[str, Any] = {
        f"fit.{k}": result.fit_stats.get(k) for k in ("r2", "mape", "nrmse", "sigma")
    }
    for column, name in (
        ("mape", "cv.mean_mape"),
        ("nrmse", "cv.mean_nrmse"),
        ("mape_seasonal_naive", "cv.mean_mape_seasonal_naive"),
        ("mape_trend", "cv.mean_mape_trend"),
    ):
        if column in result.cv_folds.columns:
            metrics[name] = pd.to_numeric(result.cv_folds[column], errors="coerce").mean()
    budget = result.budget
    metrics.update(
        {
            "budget.expected_gain": budget.expected_gain,
            "budget.gain_ci_low": budget.gain_ci_low,
            "budget.gain_ci_high": budget.gain_ci_high,
            "budget.prob_gain_positive": budget.prob_gain_positive,
            "n_warnings": len(result.warnings),
        }
    )
    for row in result.roi.to_dict("records"):
        for stat in MARKETING_MIX_CHANNEL_STATS:
            metrics[metric_key(row["channel"], stat)] = row.get(stat)
    return {k: v for k, v in ((k, _finite_or_none(v)) for k, v in metrics.items()) if v is not None}


def marketing_mix_warehouse_tables(result: MMMResult) -> dict[str, pd.DataFrame]:
    """DuckDB table name → frame: the four ``gold_mmm_*`` tables of :data:`MARKETING_MIX_TABLES`
    (the other frames stay files)."""
    return {table: getattr(result, frame) for table, frame in MARKETING_MIX_TABLES.items()}


def publish_marketing_mix_run(
    config: MarketingMixConfig,
    *,
    result: MMMResult,
    report_html: str,
    pipeline_run: str,
    mlflow_run_id: str | None,
    figures: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Files in ``output_dir`` (the report, one CSV per result frame, ``model.json`` = the
    fitted model, ``run_summary.json``, the charts as PNG) and the ``gold_mmm_*`` DuckDB tables
    (when ``duckdb_path`` is set) in one :func:`staged_publish` (all or nothing), then MLflow
    (config as params, :func:`marketing_mix_metrics`, the files as artifacts); return the run
    summary with what was written. A failure anywhere marks the MLflow run failed.

    ``figures`` (file stem → matplotlib figure) default to
    :func:`liftlab.plots.marketing_mix.marketing_mix_figures` of the result."""
    from liftlab.plots.marketing_mix import marketing_mix_figures
    from liftlab.plots.style import figure_to_png

    summary = marketing_mix_run_summary(
        result, pipeline_run=pipeline_run, mlflow_run_id=mlflow_run_id, output_dir=config.output_dir
    )
    with failed_run_on_error():
        if figures is None:
            figures = marketing_mix_figures(
                result,
                currency=config.currency,
                outcome_label=config.outcome_label,
                interval_level=config.bootstrap.interval_level,
            )
        with staged_publish(config.output_dir) as stage:
            _stage_outputs(
                stage,
                tables={name: getattr(result, name) for name in MARKETING_MIX_FRAMES},
                texts={
                    MARKETING_MIX_REPORT: report_html,
                    "model.json": _json_text(result.model),
                    MARKETING_MIX_DRAWS: json.dumps(result.draw_models),
                    "run_summary.json": _json_text(summary),
                },
            )
            for stem, figure in figures.items():
                figure_to_png(figure, stage.staging / f"{stem}.png")
                stage.files[stem] = stage.target / f"{stem}.png"
            if config.duckdb_path:
                for table, frame in marketing_mix_warehouse_tables(result).items():
                    stage.duckdb_table(config.duckdb_path, table, frame)
        _log_marketing_mix_run(config, marketing_mix_metrics(result), stage.files.values())
    summary["files"] = {k: str(v) for k, v in stage.files.items()}
    summary["duckdb"] = str(stage.database) if stage.database else None
    return summary


def _log_marketing_mix_run(
    config: MarketingMixConfig, metrics: Mapping[str, float], files: Iterable[Path]
) -> None:
    """The config as params, the metrics, the tags and every published file as artifacts of
    the active run (as :func:`~liftlab.mlops.tracking.log_campaign_run` does for campaigns)."""
    import mlflow

    mlflow.log_params(flatten_params(config))
    mlflow.log_metrics(dict(metrics))
    set_pipeline_tags("marketing_mix")
    log_files(files)
