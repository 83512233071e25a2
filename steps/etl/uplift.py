"""ETL step of the uplift-modelling pipeline: the validation suite for randomised e-mail data."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.uplift import load_uplift_config
from strategies.validation import ValidationRules, validate


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
