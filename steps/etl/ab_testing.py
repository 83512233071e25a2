"""ETL steps of the A/B pipeline: cleaning strategies with audits, then the Great Expectations
suite for experiment tables."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.ab_testing import load_ab_config
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.cleaning import build_cleaning_strategies, run_cleaning
from strategies.validation import build_ab_rules, validate


@step(output_materializers={"clean_data": ZstdPandasMaterializer})
def clean_data(
    raw_data: pd.DataFrame, config: dict[str, Any]
) -> tuple[Annotated[pd.DataFrame, "clean_data"], Annotated[list[dict], "cleaning_audit"]]:
    """Every change a strategy makes is counted in its audit record (report + MLflow)."""
    cfg = load_ab_config(config)
    strategies = build_cleaning_strategies(cfg.cleaning)
    cleaned, audits = run_cleaning(raw_data, strategies, cfg.column_roles())
    return cleaned, [a.to_dict() for a in audits]


@step
def validate_data(
    clean_data: pd.DataFrame, config: dict[str, Any]
) -> Annotated[dict, "validation"]:
    """Run the expectation suite. On failure the validation result is still saved as an
    artifact (``validation_failure``) and the step raises a DataValidationError that names the
    expectation, the column, the number of bad rows and a few examples."""
    cfg = load_ab_config(config)
    rules = build_ab_rules(
        list(clean_data.columns),
        unit_column=cfg.unit_column,
        variant_column=cfg.variant_column,
        variants=cfg.all_variants,
        experiment_column=cfg.experiment_column,
        segment_columns=cfg.segment_columns,
        metric_columns=cfg.metric_columns(),
        count_columns=cfg.count_columns,
        funnel=cfg.funnel,
    )
    report = validate(clean_data, rules)
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()
