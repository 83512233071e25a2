"""Run configuration of the campaign-uplift pipeline (``configs/campaign_uplift*.yaml``).

The YAML puts these fields under ``parameters:``; the pipeline signature mirrors them one to one
(a test keeps the two in step). Unknown keys are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from liftlab.config.base import EngineConfig, OutputDir, StrictModel, load_config
from liftlab.config.table_sets import check_table_set, table_paths, table_sources
from strategies.campaign_sql import BRONZE_COLUMNS
from strategies.campaign_uplift import CampaignOptions
from strategies.engines.base import SourceSpec
from strategies.errors import ConfigError
from strategies.stats.corrections import Correction

TABLES = tuple(BRONZE_COLUMNS)


class CampaignUpliftConfig(StrictModel):
    """Everything one campaign-uplift run needs. Field docs are the user-facing reference.

    Not a :class:`~liftlab.config.base.DataSourceConfig`: the input is five tables, read from
    one folder or named one by one, not a single file or query."""

    data_dir: str | None = "data/demo/campaigns"
    """Folder holding ``campaigns``, ``profiles``, ``assignments``, ``interactions`` and
    ``transactions`` as ``.csv`` (or ``.parquet``) files named after the table (engines
    duckdb and spark; set ``data_dir: null`` for postgres)."""
    tables: dict[str, str] = Field(default_factory=dict)
    """Per table: a file (a value ending in .csv, .csv.gz, .parquet or .pq) or an engine table
    (any other value, e.g. ``crm.campaigns``; engines postgres and spark). Overrides
    ``data_dir`` for the tables it names."""
    engine: EngineConfig = EngineConfig()
    """Where bronze, validation, silver and the statistics run (README, "Engines")."""
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
        check_table_set(TABLES, self.data_dir, self.tables, self.engine.name)
        self.options()  # raises for bad shares
        return self

    def table_paths(self) -> dict[str, Path]:
        """The file of each table read from a file (engine tables are left out)."""
        return table_paths(TABLES, self.data_dir, self.tables)

    def sources(self) -> dict[str, SourceSpec]:
        """What the engine reads per table: a file or an engine table."""
        return table_sources(TABLES, self.data_dir, self.tables)

    def warehouse_spec(self) -> CampaignWarehouseSpec:
        return CampaignWarehouseSpec(
            **{name: getattr(self, name) for name in _ENGINE_STEP_FIELDS},
            stage_rows=bool(self.duckdb_path) and self.engine.name == "duckdb",
        )

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


#: The config fields the engine step reads (the fields of :class:`CampaignWarehouseSpec` but
#: ``stage_rows``, which the spec derives).
_ENGINE_STEP_FIELDS = (
    "data_dir",
    "tables",
    "engine",
    "naive_timezone",
    "window_days",
    "pre_window_days",
    "cuped",
    "min_effect",
)


class CampaignWarehouseSpec(StrictModel):
    """What the engine step needs — sources, engine, time zone, windows and the metric
    options — and nothing only the gold step or the report reads (``alpha``, shares,
    ``currency``, ``output_dir``), so changing those keeps the engine step's cache."""

    data_dir: str | None = None
    tables: dict[str, str] = Field(default_factory=dict)
    engine: EngineConfig = EngineConfig()
    naive_timezone: str = "UTC"
    window_days: int = 10
    pre_window_days: int = 30
    cuped: bool = True
    min_effect: float = 0.02
    stage_rows: bool = False
    """Write bronze/silver rows to Parquet for the DuckDB warehouse (engine duckdb only)."""

    def config(self) -> CampaignUpliftConfig:
        return CampaignUpliftConfig(**{name: getattr(self, name) for name in _ENGINE_STEP_FIELDS})

    def options(self) -> CampaignOptions:
        return self.config().options()


def load_campaign_config(values: Mapping[str, Any]) -> CampaignUpliftConfig:
    """Validate raw parameters, or raise a ConfigError naming each bad key."""
    return load_config(CampaignUpliftConfig, values, "campaign uplift config")
