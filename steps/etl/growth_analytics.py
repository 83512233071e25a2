"""Growth-analytics warehouse step: five raw tables → bronze → validation → the
analysis-ready table, its audits and the persona features, inside the configured engine."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.base import expand_path
from liftlab.config.growth_analytics import GrowthAnalyticsConfig
from strategies.growth.hillstrom import load_hillstrom
from strategies.warehouse.bronze import raise_for_failures
from strategies.warehouse.growth_engine import build_growth_tables


@step
def build_growth_warehouse(
    config: GrowthAnalyticsConfig, staging_dir: str
) -> tuple[
    Annotated[pd.DataFrame, "growth_analysis_table"],
    Annotated[pd.DataFrame, "persona_features"],
    Annotated[pd.DataFrame, "growth_experiments"],
    Annotated[dict, "growth_audits"],
    Annotated[dict, "growth_validation"],
    Annotated[list[dict], "growth_bronze_audit"],
    Annotated[dict, "staged_rows"],
]:
    """Per-user tables and small audits leave the engine; raw sessions, exposures and orders
    stay in it. A failed suite is saved as ``validation_failure`` and stops the run, all
    tables' failures listed together. Hillstrom (``source: hillstrom``) is one file read and
    validated in-process into the same frames."""
    if config.source == "hillstrom":
        result = load_hillstrom(expand_path(str(config.data_path)))
    else:
        result = build_growth_tables(
            config.engine.settings(), config.sources(),
            staging_dir=staging_dir or None, pre_period_days=config.pre_period_days,
            naive_timezone=config.naive_timezone,
        )  # fmt: skip
    validation = {name: report.to_dict() for name, report in result.validation.items()}
    if not result.success:
        save_artifact(validation, name="validation_failure")
        raise_for_failures(result.validation)
    return (
        result.analysis, result.features, result.experiments, result.audits, validation,
        result.bronze_audit, result.staged,
    )  # fmt: skip
