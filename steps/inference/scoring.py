"""Batch inference steps: resolve the champion, check the scoring data, score, publish."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from zenml import get_step_context, save_artifact, step

from liftlab.config.inference import load_inference_config
from liftlab.mlops.materializers import ZstdPandasMaterializer
from liftlab.mlops.publishing import write_duckdb_table, write_outputs
from liftlab.mlops.registry import load_sklearn, model_info, resolve_version
from strategies.errors import InputDataError
from strategies.model_inputs import check_input_schema
from strategies.validation import ValidationRules, validate


@step(experiment_tracker=True, enable_cache=False)
def resolve_model(config: dict[str, Any]) -> Annotated[dict, "model_ref"]:
    """Pin ``models:/<name>@champion`` (or the configured version) to one version number, so a
    promotion while this run scores cannot mix two models in one table."""
    cfg = load_inference_config(config)
    version = resolve_version(cfg.model_name, alias=cfg.model_alias, version=cfg.model_version)
    uri = f"models:/{cfg.model_name}/{version['version']}"
    info = model_info(uri)
    liftlab_meta = info["metadata"].get("liftlab", {})
    return {
        "model_name": cfg.model_name,
        "requested": cfg.model_uri,
        "version": version["version"],
        "model_id": version["model_id"],
        "uri": uri,
        "inputs": [list(pair) for pair in info["inputs"]],
        "target": liftlab_meta.get("target"),
        "scoring_rules": liftlab_meta.get("scoring_rules", {}),
        "trained_on_sha256": liftlab_meta.get("data_sha256"),
    }


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
    raw_data: pd.DataFrame, model_ref: dict, validation: dict, config: dict[str, Any]
) -> Annotated[pd.DataFrame, "predictions"]:
    """Predictions with the columns to keep and the model version that made them."""
    cfg = load_inference_config(config)
    missing = [c for c in cfg.keep_columns if c not in raw_data.columns]
    if missing:
        raise InputDataError(
            f"keep_columns {missing} are not in the data (columns: {', '.join(raw_data.columns)})"
        )
    X = check_input_schema(raw_data, [tuple(pair) for pair in model_ref["inputs"]])
    model = load_sklearn(model_ref["uri"])
    predicted = np.asarray(model.predict(X), dtype=np.float64)
    out = raw_data[cfg.keep_columns].reset_index(drop=True).copy()
    out[cfg.prediction_column] = predicted
    out["model_name"] = model_ref["model_name"]
    out["model_version"] = int(model_ref["version"])
    out["model_id"] = model_ref["model_id"]
    out["scored_at"] = pd.Timestamp(datetime.now(UTC)).floor("s")
    out["pipeline_run"] = get_step_context().pipeline_run.name
    return out


@step(experiment_tracker=True, enable_cache=False)
def publish_predictions(
    predictions: pd.DataFrame,
    model_ref: dict,
    data_info: dict,
    config: dict[str, Any],
) -> Annotated[dict, "run_summary"]:
    """Files first (all or nothing), then the DuckDB gold table, then MLflow."""
    import mlflow

    cfg = load_inference_config(config)
    files = write_outputs(
        cfg.output_dir, tables={"predictions": predictions}, formats=tuple(cfg.formats)
    )
    database = None
    if cfg.duckdb_path:
        database = write_duckdb_table(
            cfg.duckdb_path, cfg.duckdb_table, predictions, mode=cfg.write_mode
        )
    values = predictions[cfg.prediction_column]
    mlflow.log_params(
        {
            "model_name": model_ref["model_name"],
            "model_version": model_ref["version"],
            "model_id": model_ref["model_id"],
            "data_source": str(data_info.get("source")),
        }
    )
    mlflow.log_metrics(
        {
            "rows_scored": float(len(predictions)),
            "prediction_mean": float(values.mean()) if len(values) else 0.0,
            "prediction_sum": float(values.sum()),
            "negative_predictions": float((values < 0).sum()),
        }
    )
    mlflow.set_tags(
        {
            "liftlab.pipeline": "batch_inference",
            "liftlab.model_uri": model_ref["uri"],
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.csv"
        predictions.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
    return {
        "pipeline_run": get_step_context().pipeline_run.name,
        "mlflow_run_id": mlflow.active_run().info.run_id,
        "model_uri": model_ref["uri"],
        "model_version": model_ref["version"],
        "rows_scored": int(len(predictions)),
        "files": {k: str(v) for k, v in files.items()},
        "duckdb": {"database": str(database), "table": cfg.duckdb_table} if database else None,
    }
