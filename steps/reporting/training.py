"""Training reporting steps: the HTML report, then publishing to MLflow and files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.training import load_training_config
from liftlab.mlops.publishing import write_outputs
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
    config: dict[str, Any],
) -> Annotated[HTMLString, "training_report"]:
    """Uncached: the report names the run it belongs to."""
    cfg = load_training_config(config)
    run_info = step_run_info(
        data_info,
        mlflow_run_id=training_info.get("mlflow_run_id"),
        model_name=cfg.model_name,
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
    config: dict[str, Any],
) -> Annotated[dict, "run_summary"]:
    """Write the run's files (all or nothing) and attach the report to the MLflow run."""
    import mlflow

    cfg = load_training_config(config)
    summary = {
        "pipeline_run": get_step_context().pipeline_run.name,
        "mlflow_run_id": training_info["mlflow_run_id"],
        "model_name": cfg.model_name,
        "best_candidate": training_info["best_candidate"],
        "holdout_scores": training_info["holdout_scores"],
        "baseline_scores": training_info["baseline_scores"],
        "promote": promotion_decision["promote"],
        "promotion_summary": promotion_decision["summary"],
        "data_sha256": data_info.get("sha256"),
        "output_dir": str(Path(cfg.output_dir).resolve()),
    }
    files = write_outputs(
        cfg.output_dir,
        tables={
            "model_comparison": model_comparison,
            "holdout_predictions": holdout_predictions,
            "feature_importance": feature_importance,
        },
        texts={
            "training_report.html": str(training_report),
            "promotion_decision.json": json.dumps(promotion_decision, indent=2, default=str),
            "cleaning_audit.json": json.dumps(cleaning_audit, indent=2, default=str),
            "validation.json": json.dumps(validation, indent=2, default=str),
            "run_summary.json": json.dumps(summary, indent=2, default=str),
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "training_report.html"
        path.write_text(str(training_report), encoding="utf-8")
        mlflow.log_artifact(str(path))
        for name in ("holdout_predictions", "feature_importance"):
            table_path = Path(tmp) / f"{name}.csv"
            (holdout_predictions if name == "holdout_predictions" else feature_importance).to_csv(
                table_path, index=False
            )
            mlflow.log_artifact(str(table_path))
    summary["files"] = {k: str(v) for k, v in files.items()}
    return summary
