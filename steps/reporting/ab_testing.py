"""A/B reporting steps: the HTML report, then publishing files and MLflow (last)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.ab_testing import ABTestConfig
from liftlab.mlops.publishing import publish_ab_run
from liftlab.mlops.run_info import step_run_info
from liftlab.ops.summary import log_run_summary
from liftlab.reports.ab_testing import render_ab_report


@step(enable_cache=False)
def build_ab_report(
    ab_results: pd.DataFrame,
    srm_checks: pd.DataFrame,
    funnel: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    sequential_looks: pd.DataFrame,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    config: ABTestConfig,
) -> Annotated[HTMLString, "ab_report"]:
    """Uncached: the report names the run it belongs to."""
    html = render_ab_report(
        results=ab_results,
        srm=srm_checks,
        funnel=funnel,
        heterogeneity=heterogeneity,
        sequential_looks=sequential_looks,
        audits=cleaning_audit,
        validation=validation,
        config=config,
        run_info=step_run_info(data_info),
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_ab_results(
    ab_results: pd.DataFrame,
    srm_checks: pd.DataFrame,
    funnel: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    sequential_looks: pd.DataFrame,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    ab_report: HTMLString,
    config: ABTestConfig,
) -> Annotated[dict, "run_summary"]:
    """Uncached so every run appears in MLflow. Outputs are written only here, after every
    earlier step succeeded, all or nothing, and MLflow is logged after them: a failed run leaves
    no results file, no report and an MLflow run marked failed."""
    return log_run_summary(
        publish_ab_run(
            config,
            results=ab_results,
            srm=srm_checks,
            extra_tables={
                "funnel": funnel,  # stage totals per arm, for the dashboard and BI tools
                "heterogeneity": heterogeneity,
                "sequential_looks": sequential_looks,
            },
            audits=cleaning_audit,
            validation=validation,
            report_html=str(ab_report),
            data_info=data_info,
            pipeline_run=get_step_context().pipeline_run.name,
        )
    )
