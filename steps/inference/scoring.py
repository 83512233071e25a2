"""Batch inference steps: resolve the champion, check the scoring data, score, publish."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import pandas as pd
from zenml import get_step_context, save_artifact, step

from liftlab.config.inference import InferenceConfig
from liftlab.mlops.materializers import ZstdPandasMaterializer
from liftlab.mlops.publishing import publish_inference_run
from liftlab.mlops.registry import load_sklearn, pinned_model_ref
from liftlab.ops.summary import log_run_summary
from strategies.model_inputs import check_input_schema, score_table
from strategies.validation import ValidationRules, validate


@step(experiment_tracker=True, enable_cache=False)
def resolve_model(
    model_name: str, model_alias: str, model_version: int | None = None
) -> Annotated[dict, "model_ref"]:
    """Pin ``models:/<name>@champion`` (or the configured version) to one version number, so a
    promotion while this run scores cannot mix two models in one table."""
    return pinned_model_ref(model_name, alias=model_alias, version=model_version)


@step
def validate_scoring_data(raw_data: pd.DataFrame, model_ref: dict) -> Annotated[dict, "validation"]:
    """The model's input schema (missing columns, wrong types) and the training suite restricted
    to what new data has (stored with the model). Fails with every problem named."""
    check_input_schema(raw_data, [tuple(pair) for pair in model_ref["inputs"]])
    report = validate(raw_data, ValidationRules.from_dict(model_ref["scoring_rules"]))
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()


@step(
    experiment_tracker=True,
    enable_cache=False,
    output_materializers={"predictions": ZstdPandasMaterializer},
)
def score_data(
    raw_data: pd.DataFrame,
    model_ref: dict,
    validation: dict,
    keep_columns: list[str],
    prediction_column: str,
    unknown_categories: Literal["warn", "error"] = "warn",
) -> Annotated[pd.DataFrame, "predictions"]:
    """Predictions with the columns to keep and the model version that made them; categories
    never seen in training are warned about (and flagged per row) or refused."""
    scored = score_table(
        load_sklearn(model_ref["uri"]),
        raw_data,
        inputs=[tuple(pair) for pair in model_ref["inputs"]],
        keep_columns=keep_columns,
        prediction_column=prediction_column,
        unknown_categories=unknown_categories,
    )
    return scored.assign(
        model_name=model_ref["model_name"],
        model_version=int(model_ref["version"]),
        model_id=model_ref["model_id"],
        scored_at=pd.Timestamp(datetime.now(UTC)).floor("s"),
        pipeline_run=get_step_context().pipeline_run.name,
    )


@step(experiment_tracker=True, enable_cache=False)
def publish_predictions(
    predictions: pd.DataFrame, model_ref: dict, data_info: dict, config: InferenceConfig
) -> Annotated[dict, "run_summary"]:
    """The files and the DuckDB gold table together (all or nothing), then MLflow: a failed
    table write leaves no ``predictions`` file and the MLflow run marked failed."""
    return log_run_summary(
        publish_inference_run(
            predictions,
            model_ref=model_ref,
            data_info=data_info,
            config=config,
            pipeline_run=get_step_context().pipeline_run.name,
        )
    )
