"""Batch inference: score new ads with the champion model and publish a gold predictions table.

Run it with ``zenml pipeline run pipelines.batch_inference.batch_inference_pipeline
-c configs/inference.yaml``. Parameters mirror :class:`liftlab.config.inference.InferenceConfig`,
validated once when the pipeline is compiled; steps receive the typed config or its values.
"""

from __future__ import annotations

from typing import Any, Literal

from liftlab.config.inference import load_inference_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, ingest_cache_options
from steps.etl import ingest_data
from steps.inference import publish_predictions, resolve_model, score_data, validate_scoring_data


@strict_pipeline(cache_policy=cache_policy())
def batch_inference_pipeline(
    data_path: str | None = None,
    sql: str | None = None,
    table: str | None = None,
    allowed_paths: list[str] | None = None,
    engine: dict[str, Any] | None = None,
    model_name: str | None = None,
    model_alias: str | None = None,
    model_version: int | None = None,
    keep_columns: list[str] | None = None,
    prediction_column: str | None = None,
    unknown_categories: Literal["warn", "error"] | None = None,
    formats: list[Literal["parquet", "csv"]] | None = None,
    duckdb_path: str | None = None,
    duckdb_table: str | None = None,
    write_mode: Literal["replace", "append"] | None = None,
    output_dir: str | None = None,
) -> None:
    cfg = load_inference_config({k: v for k, v in locals().items() if v is not None})
    source = cfg.source
    raw_data, data_info = ingest_data.with_options(**ingest_cache_options(source))(source=source)
    model_ref = resolve_model(
        model_name=cfg.model_name, model_alias=cfg.model_alias, model_version=cfg.model_version
    )
    validation = validate_scoring_data(raw_data=raw_data, model_ref=model_ref)
    predictions = score_data(
        raw_data=raw_data,
        model_ref=model_ref,
        validation=validation,
        keep_columns=cfg.keep_columns,
        prediction_column=cfg.prediction_column,
        unknown_categories=cfg.unknown_categories,
    )
    publish_predictions(
        predictions=predictions, model_ref=model_ref, data_info=data_info, config=cfg
    )
