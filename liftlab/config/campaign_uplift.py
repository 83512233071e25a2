"""Run configuration of the campaign-uplift pipeline (``configs/campaign_uplift*.yaml``).

The YAML puts these fields under ``parameters:``; the pipeline signature mirrors them one to one
(a test keeps the two in step). Unknown keys are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from liftlab.config.base import OutputDir, StrictModel, expand_path, load_config
from strategies.campaign_sql import BRONZE_COLUMNS
from strategies.campaign_uplift import CampaignOptions
from strategies.errors import ConfigError
from strategies.stats.corrections import Correction

TABLES = tuple(BRONZE_COLUMNS)


class CampaignUpliftConfig(StrictModel):
    """Everything one campaign-uplift run needs. Field docs are the user-facing reference.

    Not a :class:`~liftlab.config.base.DataSourceConfig`: the input is five tables, read from
    one folder or named one by one, not a single file or query."""

    data_dir: str | None = "data/demo/campaigns"
    """Folder holding ``campaigns``, ``profiles``, ``assignments``, ``interactions`` and
    ``transactions`` as ``.csv`` (or ``.parquet``) files named after the table."""
    tables: dict[str, str] = Field(default_factory=dict)
    """Explicit file per table; overrides ``data_dir`` for the tables it names."""
    naive_timezone: str = "UTC"
    """Time zone of timestamps written without an offset (those with one keep it)."""
    window_days: int = Field(default=10, ge=1, le=365)
    """Attribution window: transactions in [send_at, send_at + window_days) count."""
    pre_window_days: int = Field(default=30, ge=1, le=730)
    """Pre-campaign spend period for CUPED: [send_at − pre_window_days, send_at)."""
    cuped: bool = True
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    correction: Correction = "holm"
    control_share: float = Field(default=0.2, gt=0.0, lt=1.0)
    """Planned control share (SRM check) unless the campaigns table has ``control_share``."""
    control_shares: dict[str, float] = Field(default_factory=dict)
    """Per-campaign planned control shares; win over the table and ``control_share``."""
    min_effect: float = Field(default=0.02, ge=0.0)
    """Relative effect below which a conclusive result is called neutral."""
    currency: str = Field(default="", max_length=5, pattern=r"^[^0-9]*$")
    """How the report shows money: a symbol ('$', '€') or code ('EUR'); '' for plain numbers."""
    duckdb_path: str = "outputs/liftlab.duckdb"
    """DuckDB database receiving the bronze, silver and gold tables ("" for none)."""
    output_dir: OutputDir = "outputs/campaign_uplift"

    @model_validator(mode="after")
    def _check(self) -> CampaignUpliftConfig:
        unknown = sorted(set(self.tables) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) in 'tables': {unknown}; valid: {list(TABLES)}")
        if not self.data_dir and set(self.tables) != set(TABLES):
            missing = sorted(set(TABLES) - set(self.tables))
            raise ValueError(f"set 'data_dir' or give a file for every table (missing: {missing})")
        self.options()  # raises for bad shares
        return self

    def table_paths(self) -> dict[str, Path]:
        """The file of each table: ``tables`` entries, else ``<data_dir>/<table>.csv`` (or
        ``.parquet`` when only that exists)."""
        paths: dict[str, Path] = {}
        for table in TABLES:
            if table in self.tables:
                paths[table] = expand_path(self.tables[table])
                continue
            folder = expand_path(self.data_dir or ".")
            csv, parquet = folder / f"{table}.csv", folder / f"{table}.parquet"
            paths[table] = parquet if parquet.is_file() and not csv.is_file() else csv
        return paths

    @property
    def data_source(self) -> str:
        """The input as a report names it: the folder, else the files named one by one."""
        return str(self.data_dir or ", ".join(self.tables.values()))

    def options(self) -> CampaignOptions:
        try:
            return CampaignOptions(
                window_days=self.window_days,
                pre_window_days=self.pre_window_days,
                alpha=self.alpha,
                correction=self.correction,
                cuped=self.cuped,
                control_share=self.control_share,
                control_shares=dict(self.control_shares),
                min_effect=self.min_effect,
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from None


def load_campaign_config(values: Mapping[str, Any]) -> CampaignUpliftConfig:
    """Validate raw parameters, or raise a ConfigError naming each bad key."""
    return load_config(CampaignUpliftConfig, values, "campaign uplift config")
