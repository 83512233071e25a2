"""Publish a finished run of any pipeline: its summary, its gold files in ``output_dir`` (all or
nothing) and its DuckDB warehouse tables (MLflow logging itself lives in ``tracking``).

Files are written to a temporary folder next to ``output_dir`` and moved into place only when all
of them were written, so a run that fails half-way never leaves a results table without its
report (or a stale mix of two runs) for a BI tool to pick up. The publish steps of the pipelines
call these functions and nothing else, so all of it runs (and is tested) without ZenML.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from liftlab.config.campaign_uplift import CampaignUpliftConfig
from liftlab.mlops.tracking import log_campaign_run, metric_key


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
    """Write the A/B gold files with their ``run_summary.json``; return that summary plus the
    written ``files`` (which the file itself cannot list before they exist)."""
    summary = ab_run_summary(
        results,
        srm,
        pipeline_run=pipeline_run,
        mlflow_run_id=mlflow_run_id,
        output_dir=output_dir,
        data_sha256=data_sha256,
    )
    files = write_ab_outputs(
        output_dir,
        results=results,
        srm=srm,
        report_html=report_html,
        summary=summary,
        extra_tables=extra_tables,
    )
    summary["files"] = {k: str(v) for k, v in files.items()}
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
    bronze: Mapping[str, pd.DataFrame],
    campaign_customers: pd.DataFrame,
    report_html: str,
    bronze_audit: list[dict],
    silver_audit: dict,
    pipeline_run: str,
    mlflow_run_id: str | None,
) -> dict[str, Any]:
    """Gold files (all or nothing), then the DuckDB warehouse (bronze, silver, gold tables,
    when ``duckdb_path`` is set), then MLflow; return the run summary with what was written.

    ``gold`` holds ``campaign_summary``, ``campaign_funnel`` and ``campaign_tests``; ``bronze``
    the typed raw tables by name (``campaigns``, ``profiles``, …)."""
    summary = campaign_run_summary(
        gold["campaign_summary"],
        pipeline_run=pipeline_run,
        mlflow_run_id=mlflow_run_id,
        output_dir=config.output_dir,
    )
    files = write_outputs(
        config.output_dir,
        tables=dict(gold),
        texts={
            "campaign_report.html": report_html,
            "bronze_audit.json": json.dumps(bronze_audit, indent=2, default=str),
            "silver_audit.json": json.dumps(silver_audit, indent=2, default=str),
            "run_summary.json": json.dumps(summary, indent=2, default=str),
        },
        formats=("csv", "parquet"),
    )
    database = None
    if config.duckdb_path:
        tables = campaign_warehouse_tables(bronze, campaign_customers, gold)
        for table, frame in tables.items():
            database = write_duckdb_table(config.duckdb_path, table, frame)
    log_campaign_run(
        config,
        campaign_metrics(gold["campaign_summary"], summary),
        [files[name] for name in CAMPAIGN_MLFLOW_FILES if name in files],
    )
    summary["files"] = {k: str(v) for k, v in files.items()}
    summary["duckdb"] = str(database) if database else None
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


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


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
    """Every table as CSV, the report and the run summary (all or nothing), then the
    ``gold_uplift_targeting`` table in DuckDB when ``duckdb_path`` is set. Returns what the run
    summary adds: ``files`` (``{key: path}``) and ``duckdb`` (the database path or ``None``)."""
    files = write_outputs(
        output_dir,
        tables=tables,
        texts={"uplift_report.html": report_html, "run_summary.json": _json_text(summary)},
    )
    database = None
    if duckdb_path:
        database = write_duckdb_table(duckdb_path, UPLIFT_GOLD_TABLE, tables["uplift_targeting"])
    return {
        "files": {k: str(v) for k, v in files.items()},
        "duckdb": str(database) if database else None,
    }


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
) -> dict[str, Any]:
    """The scoring run in one dict: which model version scored how many rows, and where the
    predictions went (files, and the DuckDB gold table when there is one)."""
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "model_uri": model_ref["uri"],
        "model_version": model_ref["version"],
        "rows_scored": int(rows_scored),
        "files": {k: str(v) for k, v in files.items()},
        "duckdb": {"database": str(database), "table": table} if database else None,
    }
