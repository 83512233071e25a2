"""ETL steps of the conversion-prediction training: ad-table cleaning and its validation suite."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.training import load_training_config
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.cleaning import build_cleaning_strategies, run_cleaning
from strategies.validation import validate


@step(output_materializers={"clean_ads": ZstdPandasMaterializer})
def clean_ads(
    raw_data: pd.DataFrame, config: dict[str, Any]
) -> tuple[Annotated[pd.DataFrame, "clean_ads"], Annotated[list[dict], "cleaning_audit"]]:
    """Configured cleaning strategies, each with its audit record (report + MLflow)."""
    cfg = load_training_config(config)
    strategies = build_cleaning_strategies(cfg.cleaning)
    cleaned, audits = run_cleaning(raw_data, strategies, cfg.column_roles())
    return cleaned.reset_index(drop=True), [a.to_dict() for a in audits]


@step
def validate_ads(clean_ads: pd.DataFrame, config: dict[str, Any]) -> Annotated[dict, "validation"]:
    """The ad table's Great Expectations suite. On failure the result is kept as the
    ``validation_failure`` artifact and the run stops before any model is trained."""
    cfg = load_training_config(config)
    report = validate(clean_ads, cfg.validation_rules())
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()
