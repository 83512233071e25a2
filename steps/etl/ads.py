"""ETL steps of the conversion-prediction training: ad-table cleaning and its validation suite."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import save_artifact, step

from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.cleaning import ColumnRoles, build_cleaning_strategies, run_cleaning
from strategies.validation import ValidationRules, validate


@step(output_materializers={"clean_ads": ZstdPandasMaterializer})
def clean_ads(
    raw_data: pd.DataFrame, cleaning: list[dict[str, Any]], id_column: str
) -> tuple[Annotated[pd.DataFrame, "clean_ads"], Annotated[list[dict], "cleaning_audit"]]:
    """Configured cleaning strategies, each with its audit record (report + MLflow). Only the
    cleaning specs and the ad id are parameters, so other config edits keep the cache."""
    strategies = build_cleaning_strategies(cleaning)
    roles = ColumnRoles(unit_column=id_column, variant_column="")
    cleaned, audits = run_cleaning(raw_data, strategies, roles)
    return cleaned.reset_index(drop=True), [a.to_dict() for a in audits]


@step
def validate_ads(clean_ads: pd.DataFrame, rules: dict[str, Any]) -> Annotated[dict, "validation"]:
    """The ad table's Great Expectations suite (``TrainingConfig.validation_rules()``). On
    failure the result is kept as the ``validation_failure`` artifact and the run stops before
    any model is trained."""
    report = validate(clean_ads, ValidationRules.from_dict(rules))
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()
