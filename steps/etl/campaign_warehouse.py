"""Campaign warehouse steps: bronze (typed raw tables) → validation → silver (one row per
campaign × customer) on DuckDB."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import save_artifact, step

from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.campaign_uplift import bronze_rules, build_bronze, build_silver
from strategies.errors import DataValidationError
from strategies.validation import validate

_FRAMES = ("campaigns", "profiles", "assignments", "interactions", "transactions")


@step(output_materializers={name: ZstdPandasMaterializer for name in _FRAMES})
def load_bronze(
    table_paths: dict[str, str],
    naive_timezone: str,
) -> tuple[
    Annotated[pd.DataFrame, "campaigns"],
    Annotated[pd.DataFrame, "profiles"],
    Annotated[pd.DataFrame, "assignments"],
    Annotated[pd.DataFrame, "interactions"],
    Annotated[pd.DataFrame, "transactions"],
    Annotated[list[dict], "bronze_audit"],
]:
    """Raw CRM/POS files → typed bronze tables (timestamps as UTC instants) + audit.

    ``table_paths`` (table → file) is resolved from the config when the pipeline compiles; the
    files are cache dependencies, so edited exports are read again."""
    tables, audit = build_bronze(table_paths, naive_timezone=naive_timezone)
    return (
        tables["campaigns"],
        tables["profiles"],
        tables["assignments"],
        tables["interactions"],
        tables["transactions"],
        audit,
    )


@step
def validate_bronze(
    campaigns: pd.DataFrame,
    profiles: pd.DataFrame,
    assignments: pd.DataFrame,
    interactions: pd.DataFrame,
    transactions: pd.DataFrame,
) -> Annotated[dict, "validation"]:
    """One Great Expectations suite per table; every failure of every table is reported
    together (and kept as the ``validation_failure`` artifact) before the run stops."""
    frames = dict(
        zip(_FRAMES, (campaigns, profiles, assignments, interactions, transactions), strict=True)
    )
    reports = {name: validate(frame, bronze_rules(name)) for name, frame in frames.items()}
    if not all(r.success for r in reports.values()):
        save_artifact({k: r.to_dict() for k, r in reports.items()}, name="validation_failure")
        messages = []
        for name, report in reports.items():
            if not report.success:
                try:
                    report.raise_for_failures()
                except DataValidationError as exc:
                    messages.append(f"{name}: {exc}")
        raise DataValidationError("\n".join(messages))
    return {name: report.to_dict() for name, report in reports.items()}


@step(output_materializers={"campaign_customers": ZstdPandasMaterializer})
def build_silver_table(
    campaigns: pd.DataFrame,
    assignments: pd.DataFrame,
    interactions: pd.DataFrame,
    transactions: pd.DataFrame,
    validation: dict,
    window_days: int,
    pre_window_days: int,
) -> tuple[Annotated[pd.DataFrame, "campaign_customers"], Annotated[dict, "silver_audit"]]:
    """One row per campaign × customer: unique engagement, window and pre-period spend.
    ``validation`` is unused but orders this step after the bronze checks."""
    tables = {
        "campaigns": campaigns,
        "assignments": assignments,
        "interactions": interactions,
        "transactions": transactions,
    }
    silver = build_silver(tables, window_days=window_days, pre_window_days=pre_window_days)
    return silver.outcomes, silver.audit
