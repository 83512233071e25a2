"""Marketing-mix inputs: the weekly table's Great Expectations suite and the lift tests that
calibrate the model (a user's CSV or liftlab's own ``gold_campaign_summary``)."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import save_artifact, step

from liftlab.config.marketing_mix import MarketingMixConfig
from strategies.ingest import load_table, read_warehouse_table
from strategies.mmm.data import LIFT_TEST_COLUMNS
from strategies.mmm.lift_tests import (
    keep_model_channels,
    lift_tests_from_campaign_summary,
    read_lift_tests,
)
from strategies.mmm.quality import validate_mmm


@step
def validate_marketing_mix_data(
    raw_data: pd.DataFrame, config: MarketingMixConfig
) -> Annotated[dict, "validation"]:
    """Dates regular and unique, spend >= 0, no gaps, enough periods per parameter; a failure
    is kept as the ``validation_failure`` artifact and stops the run before any fit."""
    report = validate_mmm(
        raw_data,
        date_column=config.date_column,
        outcome_column=config.outcome_column,
        channel_columns=config.spend_columns,
        control_columns=config.controls,
        n_parameters=config.n_parameters,
    )
    if not report.success:
        save_artifact(report.to_dict(), name="validation_failure")
        report.raise_for_failures()
    return report.to_dict()


@step(enable_cache=False)
def load_lift_tests(
    config: MarketingMixConfig,
) -> tuple[Annotated[pd.DataFrame, "lift_tests"], Annotated[list, "calibration_notes"]]:
    """Uncached: the warehouse table changes whenever the campaign pipeline runs."""
    calibration = config.calibration
    if calibration is None:
        return pd.DataFrame(columns=list(LIFT_TEST_COLUMNS)), []
    if calibration.resolved_lift_tests is not None:
        tests = load_table(calibration.resolved_lift_tests)
        return read_lift_tests(tests, config.channel_names), []
    source = calibration.campaign_summary
    summary = read_warehouse_table(source.duckdb_path, source.table)
    tests, notes = lift_tests_from_campaign_summary(
        summary, channel_map=source.channel_map, ci_level=source.ci_level
    )
    tests, skipped = keep_model_channels(tests, config.channel_names)
    return read_lift_tests(tests, config.channel_names), [*notes, *skipped]
