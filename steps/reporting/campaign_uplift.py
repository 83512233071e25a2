"""Campaign reporting steps: the HTML report, then gold files, warehouse tables and MLflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.campaign_uplift import load_campaign_config
from liftlab.mlops.publishing import write_duckdb_table, write_outputs
from liftlab.mlops.run_info import step_run_info
from liftlab.mlops.tracking import flatten_params, git_commit, metric_key
from liftlab.reports.campaign_uplift import render_campaign_report


@step(enable_cache=False)
def build_campaign_report(
    campaign_summary: pd.DataFrame,
    campaign_funnel: pd.DataFrame,
    bronze_audit: list[dict],
    silver_audit: dict,
    validation: dict,
    config: dict[str, Any],
) -> Annotated[HTMLString, "campaign_report"]:
    """Uncached: the report names the run it belongs to."""
    cfg = load_campaign_config(config)
    run_info = step_run_info(data_source=str(cfg.data_dir or ", ".join(cfg.tables.values())))
    html = render_campaign_report(
        summary=campaign_summary,
        funnel=campaign_funnel,
        bronze_audit=bronze_audit,
        silver_audit=silver_audit,
        validation=validation,
        config=config,
        run_info=run_info,
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_campaign_results(
    campaign_summary: pd.DataFrame,
    campaign_funnel: pd.DataFrame,
    campaign_tests: pd.DataFrame,
    campaign_customers: pd.DataFrame,
    campaigns: pd.DataFrame,
    profiles: pd.DataFrame,
    assignments: pd.DataFrame,
    interactions: pd.DataFrame,
    transactions: pd.DataFrame,
    bronze_audit: list[dict],
    silver_audit: dict,
    campaign_report: HTMLString,
    config: dict[str, Any],
) -> Annotated[dict, "run_summary"]:
    """Gold files (all or nothing), then the DuckDB warehouse (bronze, silver, gold tables),
    then MLflow: one metric per campaign × category and statistic, the gold table, the report."""
    import mlflow

    cfg = load_campaign_config(config)
    overall = campaign_summary[campaign_summary["category"] == "all"]
    run = mlflow.active_run()
    summary = {
        "pipeline_run": get_step_context().pipeline_run.name,
        "mlflow_run_id": run.info.run_id if run else None,
        "campaigns": int(len(overall)),
        "decisions": {k: int(v) for k, v in overall["decision"].value_counts().items()},
        "roi_decisions": {k: int(v) for k, v in overall["roi_decision"].value_counts().items()},
        "incremental_revenue": float(overall["incremental_revenue"].sum()),
        "campaign_cost": float(overall["campaign_cost"].sum()),
        "output_dir": str(Path(cfg.output_dir).resolve()),
    }
    files = write_outputs(
        cfg.output_dir,
        tables={
            "campaign_summary": campaign_summary,
            "campaign_funnel": campaign_funnel,
            "campaign_tests": campaign_tests,
        },
        texts={
            "campaign_report.html": str(campaign_report),
            "bronze_audit.json": json.dumps(bronze_audit, indent=2, default=str),
            "silver_audit.json": json.dumps(silver_audit, indent=2, default=str),
            "run_summary.json": json.dumps(summary, indent=2, default=str),
        },
        formats=("csv", "parquet"),
    )
    database = None
    if cfg.duckdb_path:
        warehouse = {
            "bronze_campaigns": campaigns,
            "bronze_profiles": profiles,
            "bronze_assignments": assignments,
            "bronze_interactions": interactions,
            "bronze_transactions": transactions,
            "silver_campaign_customers": campaign_customers,
            "gold_campaign_summary": campaign_summary,
            "gold_campaign_funnel": campaign_funnel,
        }
        for table, frame in warehouse.items():
            database = write_duckdb_table(cfg.duckdb_path, table, frame)
    mlflow.log_params(flatten_params(config))
    metrics: dict[str, float] = {}
    for row in campaign_summary.itertuples(index=False):
        for stat in (
            "incremental_spend_per_customer",
            "p_value_adjusted",
            "roi",
            "incremental_revenue",
        ):
            value = getattr(row, stat)
            if pd.notna(value):
                metrics[metric_key(row.campaign_id, row.category, stat)] = float(value)
    metrics["total_incremental_revenue"] = summary["incremental_revenue"]
    metrics["total_campaign_cost"] = summary["campaign_cost"]
    mlflow.log_metrics(metrics)
    mlflow.set_tags({"liftlab.pipeline": "campaign_uplift", "liftlab.git_commit": git_commit()})
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in files.items():
            if name in ("campaign_summary", "campaign_funnel", "campaign_report.html"):
                target = Path(tmp) / path.name
                target.write_bytes(path.read_bytes())
                mlflow.log_artifact(str(target))
    summary["files"] = {k: str(v) for k, v in files.items()}
    summary["duckdb"] = str(database) if database else None
    return summary
