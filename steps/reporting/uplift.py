"""Uplift reporting steps: the HTML report, then the targeting table and files (together), then
MLflow."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.uplift import UpliftModelConfig
from liftlab.mlops.publishing import publish_uplift_run, uplift_run_summary
from liftlab.mlops.run_info import step_run_info
from liftlab.reports.uplift import render_uplift_report


@step(enable_cache=False)
def build_uplift_report(
    average_effects: pd.DataFrame,
    learner_comparison: pd.DataFrame,
    qini_curves: pd.DataFrame,
    policy_comparison: pd.DataFrame,
    profit_curves: pd.DataFrame,
    targeting_summary: pd.DataFrame,
    uplift_decisions: dict,
    uplift_info: dict,
    validation: dict,
    data_info: dict,
    config: UpliftModelConfig,
) -> Annotated[HTMLString, "uplift_report"]:
    """Uncached: the report names the run it belongs to."""
    run_info = step_run_info(data_info, mlflow_run_id=uplift_info.get("mlflow_run_id"))
    return HTMLString(
        render_uplift_report(
            effects=average_effects,
            comparison=learner_comparison,
            qini_curves=qini_curves,
            policy=policy_comparison,
            profit_curves=profit_curves,
            targeting_summary=targeting_summary,
            decisions=uplift_decisions,
            validation=validation,
            config=config,
            run_info=run_info,
        )
    )


@step(experiment_tracker=True, enable_cache=False)
def publish_uplift_results(
    average_effects: pd.DataFrame,
    learner_comparison: pd.DataFrame,
    policy_comparison: pd.DataFrame,
    profit_curves: pd.DataFrame,
    uplift_targeting: pd.DataFrame,
    targeting_summary: pd.DataFrame,
    uplift_decisions: dict,
    uplift_info: dict,
    uplift_report: HTMLString,
    policy_outcome: str,
    output_dir: str,
    duckdb_path: str,
) -> Annotated[dict, "run_summary"]:
    """Files and the ``gold_uplift_targeting`` DuckDB table (together, all or nothing), then
    the MLflow artifacts; a failure marks the MLflow run failed."""
    summary = uplift_run_summary(
        pipeline_run=get_step_context().pipeline_run.name,
        output_dir=output_dir,
        policy_outcome=policy_outcome,
        uplift_info=uplift_info,
        uplift_decisions=uplift_decisions,
        policy_comparison=policy_comparison,
        uplift_targeting=uplift_targeting,
    )
    tables = {
        "average_effects": average_effects,
        "learner_comparison": learner_comparison,
        "policy_comparison": policy_comparison,
        "profit_curves": profit_curves,
        "uplift_targeting": uplift_targeting,
        "targeting_summary": targeting_summary,
    }
    return publish_uplift_run(output_dir, duckdb_path, tables, str(uplift_report), summary)
