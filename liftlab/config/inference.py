"""Run configuration of the batch-inference pipeline: which registered model scores which data,
and where the predictions go. Validated before anything is read or loaded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from liftlab.config.base import DataSourceConfig, OutputDir, load_config
from liftlab.mlops.registry import model_uri


class InferenceConfig(DataSourceConfig):
    """Batch scoring with the registered champion (or a pinned version)."""

    model_name: str = "liftlab-conversion"
    model_alias: str = "champion"
    model_version: int | None = Field(default=None, ge=1)
    """Pin one version instead of following the alias."""
    keep_columns: list[str] = Field(
        default_factory=lambda: ["ad_id", "xyz_campaign_id", "fb_campaign_id"]
    )
    """Columns copied from the input into the predictions table (identifiers for joins)."""
    prediction_column: str = "predicted_conversions"
    unknown_categories: Literal["warn", "error"] = "warn"
    """Categories the model never saw in training (a new ``age`` band, an ``interest`` code):
    ``warn`` scores them (as if the category were absent), logs a count per column and names
    them per row in the ``unknown_categories`` column; ``error`` refuses to score the table."""
    formats: list[Literal["parquet", "csv"]] = Field(
        default_factory=lambda: ["parquet", "csv"], min_length=1
    )
    duckdb_path: str | None = "outputs/liftlab.duckdb"
    """DuckDB database that receives the gold table (null: no database)."""
    duckdb_table: str = Field(default="gold_conversion_predictions", pattern=r"^[A-Za-z_]\w*$")
    write_mode: Literal["replace", "append"] = "replace"
    output_dir: OutputDir = "outputs/inference"

    @model_validator(mode="after")
    def _check(self) -> InferenceConfig:
        if self.prediction_column in self.keep_columns:
            raise ValueError(
                f"prediction_column {self.prediction_column!r} is also in keep_columns"
            )
        reserved = {"unknown_categories"} & {self.prediction_column, *self.keep_columns}
        if reserved:
            raise ValueError(
                "'unknown_categories' is the column flagging unseen categories; rename it in "
                "keep_columns/prediction_column"
            )
        return self

    @property
    def model_uri(self) -> str:
        """The registry URI this config asks for (the pinned version, else the alias)."""
        return model_uri(self.model_name, alias=self.model_alias, version=self.model_version)


def load_inference_config(values: Mapping[str, Any]) -> InferenceConfig:
    """Validate raw parameters into an :class:`InferenceConfig`, or raise a readable error."""
    return load_config(InferenceConfig, values, "inference config")
