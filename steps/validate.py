"""Validation step: Great Expectations 1.x suite built from the config; stops bad data."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from liftlab.config import load_ab_config
from strategies.validation import build_ab_rules, validate


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
