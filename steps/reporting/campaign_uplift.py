"""Campaign reporting steps: the HTML report, then gold files and warehouse tables (together),
then MLflow."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.campaign_uplift import CampaignUpliftConfig
from liftlab.mlops.publishing import publish_campaign_run
from liftlab.mlops.run_info import step_run_info
from liftlab.mlops.tracking import active_run_id
from liftlab.ops.summary import log_run_summary
from liftlab.reports.campaign_uplift import render_campaign_report


@step(enable_cache=False)
def build_campaign_report(
    campaign_summary: pd.DataFrame,
    campaign_funnel: pd.DataFrame,
    bronze_audit: list[dict],
    silver_audit: dict,
    validation: dict,
    config: CampaignUpliftConfig,
) -> Annotated[HTMLString, "campaign_report"]:
    """Uncached: the report names the run it belongs to."""
    html = render_campaign_report(
        summary=campaign_summary,
        funnel=campaign_funnel,
        bronze_audit=bronze_audit,
        silver_audit=silver_audit,
        validation=validation,
        config=config,
        run_info=step_run_info(data_source=config.data_source),
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_campaign_results(
    campaign_summary: pd.DataFrame,
    campaign_funnel: pd.DataFrame,
    campaign_tests: pd.DataFrame,
    staged_rows: dict,
    bronze_audit: list[dict],
    silver_audit: dict,
    campaign_report: HTMLString,
    config: CampaignUpliftConfig,
) -> Annotated[dict, "run_summary"]:
    """Gold files and the DuckDB warehouse (gold tables; bronze and silver loaded from the
    engine step's Parquet files with engine duckdb) together, all or nothing, then MLflow: one
    metric per campaign × category and statistic, the gold table, the report. A failure leaves
    the previous run's outputs and marks the MLflow run failed."""
    return log_run_summary(
        publish_campaign_run(
            config,
            gold={
                "campaign_summary": campaign_summary,
                "campaign_funnel": campaign_funnel,
                "campaign_tests": campaign_tests,
            },
            staged_rows=staged_rows,
            report_html=str(campaign_report),
            bronze_audit=bronze_audit,
            silver_audit=silver_audit,
            pipeline_run=get_step_context().pipeline_run.name,
            mlflow_run_id=active_run_id(),
        )
    )
