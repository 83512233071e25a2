"""Cleaning step: run the configured cleaning strategies in order and keep their audit."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from liftlab.config import load_ab_config
from liftlab.materializers import ZstdPandasMaterializer
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
