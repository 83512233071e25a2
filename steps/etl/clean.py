"""Cleaning steps: run the configured cleaning strategies, each with its audit record."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from liftlab.config.ab_testing import load_ab_config
from liftlab.config.training import load_training_config
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.cleaning import build_cleaning_strategies, run_cleaning


@step(output_materializers={"clean_data": ZstdPandasMaterializer})
def clean_data(
    raw_data: pd.DataFrame, config: dict[str, Any]
) -> tuple[Annotated[pd.DataFrame, "clean_data"], Annotated[list[dict], "cleaning_audit"]]:
    """Every change a strategy makes is counted in its audit record (report + MLflow)."""
    cfg = load_ab_config(config)
    strategies = build_cleaning_strategies(cfg.cleaning)
    cleaned, audits = run_cleaning(raw_data, strategies, cfg.column_roles())
    return cleaned, [a.to_dict() for a in audits]


@step(output_materializers={"clean_ads": ZstdPandasMaterializer})
def clean_ads(
    raw_data: pd.DataFrame, config: dict[str, Any]
) -> tuple[Annotated[pd.DataFrame, "clean_ads"], Annotated[list[dict], "cleaning_audit"]]:
    """Configured cleaning strategies, each with its audit record (report + MLflow)."""
    cfg = load_training_config(config)
    strategies = build_cleaning_strategies(cfg.cleaning)
    cleaned, audits = run_cleaning(raw_data, strategies, cfg.column_roles())
    return cleaned.reset_index(drop=True), [a.to_dict() for a in audits]
