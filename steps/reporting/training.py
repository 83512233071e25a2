"""Training reporting steps: the HTML report, then publishing files and MLflow."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.training import TrainingConfig
from liftlab.mlops.publishing import publish_training_run
from liftlab.mlops.run_info import step_run_info
from liftlab.reports.training import render_training_report


@step(enable_cache=False)
def build_training_report(
    model_comparison: pd.DataFrame,
    holdout_predictions: pd.DataFrame,
    feature_importance: pd.DataFrame,
    promotion_decision: dict,
    training_info: dict,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    config: TrainingConfig,
) -> Annotated[HTMLString, "training_report"]:
    """Uncached: the report names the run it belongs to."""
    run_info = step_run_info(
        data_info, mlflow_run_id=training_info.get("mlflow_run_id"), model_name=config.model_name
    )
    html = render_training_report(
        comparison=model_comparison,
        holdout_predictions=holdout_predictions,
        feature_importance=feature_importance,
        decision=promotion_decision,
        audits=cleaning_audit,
        validation=validation,
        config=config,
        run_info=run_info,
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_training_results(
    model_comparison: pd.DataFrame,
    holdout_predictions: pd.DataFrame,
    feature_importance: pd.DataFrame,
    promotion_decision: dict,
    training_info: dict,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    training_report: HTMLString,
    model_name: str,
    output_dir: str,
) -> Annotated[dict, "run_summary"]:
    """Write the run's files (all or nothing), then attach the report to the MLflow run. A
    failure here marks the MLflow run failed, and registration (the next step) never runs."""
    return publish_training_run(
        pipeline_run=get_step_context().pipeline_run.name,
        model_name=model_name,
        output_dir=output_dir,
        model_comparison=model_comparison,
        holdout_predictions=holdout_predictions,
        feature_importance=feature_importance,
        report_html=str(training_report),
        promotion_decision=promotion_decision,
        training_info=training_info,
        cleaning_audit=cleaning_audit,
        validation=validation,
        data_info=data_info,
    )
