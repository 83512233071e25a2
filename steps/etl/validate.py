"""Validation steps: Great Expectations suites over the cleaned tables; a failure stops the run
before anything is analysed or written."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.ab_testing import load_ab_config
from liftlab.config.training import load_training_config
from liftlab.config.uplift import load_uplift_config
from strategies.validation import ValidationRules, build_ab_rules, validate


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


@step
def validate_uplift_data(
    raw_data: pd.DataFrame, config: dict[str, Any]
) -> Annotated[dict, "validation"]:
    """Features, treatment and outcomes present and not null; treatment labels declared;
    outcomes non-negative numbers, binary ones 0/1."""
    cfg = load_uplift_config(config)
    outcome_columns = [o.column for o in cfg.outcomes]
    required = [cfg.treatment_column, *cfg.feature_columns, *outcome_columns]
    allowed: dict[str, tuple] = {cfg.treatment_column: (cfg.control, *cfg.arms)}
    for outcome in cfg.outcomes:
        if outcome.type == "binary":
            allowed[outcome.column] = (0, 1)
    rules = ValidationRules(
        required_columns=tuple(dict.fromkeys(required)),
        numeric_columns=tuple(dict.fromkeys([*outcome_columns, *cfg.numeric])),
        non_negative_columns=tuple(dict.fromkeys(outcome_columns)),
        allowed_values=allowed,
        not_null_columns=tuple(dict.fromkeys(required)),
        unique_columns=(cfg.id_column,) if cfg.id_column else (),
    )
    report = validate(raw_data, rules)
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()
