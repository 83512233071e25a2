"""ETL steps of the A/B pipeline: cleaning strategies with audits, then the Great Expectations
suite for experiment tables.

Each step receives only its part of the config (:class:`ABCleaningSpec`,
:class:`ABValidationSpec`), so changing ``alpha`` or ``output_dir`` keeps their cache.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.ab_testing import ABCleaningSpec, ABValidationSpec
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.cleaning import run_cleaning
from strategies.validation import validate


@step(output_materializers={"clean_data": ZstdPandasMaterializer})
def clean_data(
    raw_data: pd.DataFrame, cleaning: ABCleaningSpec
) -> tuple[Annotated[pd.DataFrame, "clean_data"], Annotated[list[dict], "cleaning_audit"]]:
    """Every change a strategy makes is counted in its audit record (report + MLflow)."""
    cleaned, audits = run_cleaning(raw_data, cleaning.build(), cleaning.column_roles())
    return cleaned, [a.to_dict() for a in audits]


@step
def validate_data(
    clean_data: pd.DataFrame, checks: ABValidationSpec
) -> Annotated[dict, "validation"]:
    """Run the expectation suite. On failure the validation result is still saved as an
    artifact (``validation_failure``) and the step raises a DataValidationError that names the
    expectation, the column, the number of bad rows and a few examples."""
    report = validate(clean_data, checks.rules(list(clean_data.columns)))
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()
