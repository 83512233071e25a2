"""Campaign warehouse step: bronze → validation → silver → statistics inside the configured
engine (DuckDB, PostgreSQL or Spark); only small tables leave it (DESIGN.md §5)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.campaign_uplift import CampaignWarehouseSpec
from liftlab.mlops.materializers import ABStatisticsMaterializer
from strategies.stats.inputs import ABStatistics
from strategies.warehouse.bronze import raise_for_failures
from strategies.warehouse.campaign_engine import summarise_campaign_data

_STATS = ("spend_statistics", "conversion_statistics")


@step(output_materializers={name: ABStatisticsMaterializer for name in _STATS})
def summarise_campaign_warehouse(
    spec: CampaignWarehouseSpec, staging_dir: str
) -> tuple[
    Annotated[pd.DataFrame, "campaigns"],
    Annotated[list[dict], "bronze_audit"],
    Annotated[dict, "validation"],
    Annotated[dict, "silver_audit"],
    Annotated[ABStatistics, "spend_statistics"],
    Annotated[ABStatistics, "conversion_statistics"],
    Annotated[dict, "staged_rows"],
]:
    """Five raw tables → audits, one validation report per bronze table (all failures saved
    as ``validation_failure`` and raised together), the silver audit and the statistics;
    with engine duckdb the bronze/silver rows go to Parquet in ``staging_dir`` for publish."""
    staging = staging_dir if spec.stage_rows else None
    result = summarise_campaign_data(
        spec.engine.settings(), spec.config().sources(), spec.options(),
        naive_timezone=spec.naive_timezone, staging_dir=staging,
    )  # fmt: skip
    validation = {name: report.to_dict() for name, report in result.validation.items()}
    if not result.success:
        save_artifact(validation, name="validation_failure")
        raise_for_failures(result.validation)
    return (
        result.campaigns, result.bronze_audit, validation, result.silver_audit,
        result.spend, result.conversion, result.staged,
    )  # fmt: skip
