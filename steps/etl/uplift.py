"""ETL step of the uplift-modelling pipeline: the validation suite for randomised e-mail data."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from strategies.validation import ValidationRules, validate


@step
def validate_uplift_data(
    raw_data: pd.DataFrame, rules: dict[str, Any]
) -> Annotated[dict, "validation"]:
    """The e-mail table's suite (``UpliftModelConfig.validation_rules()``): features, treatment
    and outcomes present and not null; treatment labels declared; outcomes non-negative
    numbers, binary ones 0/1. On failure the result is kept as ``validation_failure``."""
    report = validate(raw_data, ValidationRules.from_dict(rules))
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()
