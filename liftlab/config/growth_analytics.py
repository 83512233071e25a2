"""Run configuration of the e-commerce growth-analytics pipeline
(``configs/growth_analytics*.yaml``).

The YAML puts these fields under ``parameters:``; the pipeline signature mirrors them one to one
(a test keeps the two in step). Unknown keys are errors. The input is five tables (users,
experiments, sessions, exposures, orders) read as the campaign pipeline reads its exports
(:mod:`liftlab.config.table_sets`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, model_validator

from liftlab.config.base import EngineConfig, OutputDir, StrictModel, expand_path, load_config
from liftlab.config.table_sets import check_table_set, table_paths, table_sources
from strategies.engines.base import SourceSpec
from strategies.errors import ConfigError
from strategies.growth.analysis_sql import TABLES
from strategies.growth.personas import DEFAULT_FEATURES, DEFAULT_LOG1P, PersonaOptions
from strategies.stats.corrections import Correction


class PersonaSettings(StrictModel):
    """How personas are found (README, "Growth analytics"): k-means on the scaled pre-period
    features for every k in ``[k_min, k_max]``, k chosen by bootstrap stability, then
    silhouette."""

    features: list[str] = Field(default_factory=lambda: list(DEFAULT_FEATURES))
    log1p: list[str] = Field(default_factory=lambda: list(DEFAULT_LOG1P))
    """Features taken as log(1 + x) before scaling (skewed counts and amounts)."""
    k_min: int = Field(default=2, ge=2, le=20)
    k_max: int = Field(default=8, ge=2, le=20)
    n_init: int = Field(default=20, ge=1, le=200)
    """k-means starts per k (the best is kept)."""
    n_bootstrap: int = Field(default=50, ge=10, le=1000)
    """Bootstrap resamples for each cluster's Jaccard stability."""
    min_jaccard: float = Field(default=0.75, gt=0.0, le=1.0)
    """Every cluster of an admissible k is at least this stable (Hennig: ≥ 0.75 = stable)."""
    min_share: float = Field(default=0.05, gt=0.0, lt=0.5)
    """Every cluster of an admissible k holds at least this share of customers."""
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> PersonaSettings:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) is larger than k_max ({self.k_max})")
        self.options()
        return self

    def options(self) -> PersonaOptions:
        try:
            return PersonaOptions(
                features=tuple(self.features),
                log1p=tuple(self.log1p),
                k_range=tuple(range(self.k_min, self.k_max + 1)),
                n_init=self.n_init,
                n_bootstrap=self.n_bootstrap,
                min_jaccard=self.min_jaccard,
                min_share=self.min_share,
                seed=self.seed,
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from None


class GrowthAnalyticsConfig(StrictModel):
    """Everything one growth-analytics run needs. Field docs are the user-facing reference."""

    data_dir: str | None = "data/demo/ecommerce"
    """Folder holding ``users``, ``experiments``, ``sessions``, ``exposures`` and ``orders``
    as ``.csv`` (or ``.parquet``) files named after the table (``liftlab simulate-ecommerce``
    writes them; set ``data_dir: null`` for postgres)."""
    tables: dict[str, str] = Field(default_factory=dict)
    """Per table: a file or an engine table (e.g. ``shop.sessions``); overrides ``data_dir``."""
    engine: EngineConfig = EngineConfig()
    """Where bronze, validation, the analysis-ready table and the features run."""
    naive_timezone: str = "UTC"
    """Time zone of timestamps written without an offset (those with one keep it)."""
    pre_period_days: int = Field(default=180, ge=1, le=3650)
    """Order history length for the persona features (recency of customers without orders)."""
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    correction: Correction = "holm"
    """Correction of the experiment-level decisions (all experiments × metrics of the run).
    Persona-level comparisons are one Benjamini–Hochberg family (every experiment × persona ×
    metric) with intervals at the matching false-coverage-rate level (README)."""
    personas: PersonaSettings = PersonaSettings()
    persona_truth: str | None = None
    """Simulated data only: a CSV of the true personas (``user_id``, ``persona``; the
    simulator writes ``truth_personas.csv``) — the report then shows how well the personas
    recover them (adjusted Rand index)."""
    model_name: str = Field(default="liftlab-personas", min_length=1, max_length=100)
    """Registered MLflow model of the persona assignment (feature definitions included)."""
    duckdb_path: str = "outputs/liftlab.duckdb"
    """DuckDB database receiving the bronze, silver and gold tables ("" for none)."""
    output_dir: OutputDir = "outputs/growth_analytics"

    @model_validator(mode="after")
    def _check(self) -> GrowthAnalyticsConfig:
        check_table_set(TABLES, self.data_dir, self.tables, self.engine.name)
        return self

    def table_paths(self) -> dict[str, Path]:
        """The file of each table read from a file (engine tables are left out)."""
        return table_paths(TABLES, self.data_dir, self.tables)

    def sources(self) -> dict[str, SourceSpec]:
        """What the engine reads per table: a file or an engine table."""
        return table_sources(TABLES, self.data_dir, self.tables)

    def persona_truth_frame(self) -> pd.DataFrame | None:
        """The true personas to compare with (``persona_truth``), or None."""
        if not self.persona_truth:
            return None
        path = expand_path(self.persona_truth)
        if not path.is_file():
            raise ConfigError(f"persona_truth: no such file {str(path)!r}")
        return pd.read_csv(path, dtype={"user_id": str})

    @property
    def stage_rows(self) -> bool:
        """Bronze/silver rows go to the DuckDB warehouse (engine duckdb with a database)."""
        return bool(self.duckdb_path) and self.engine.name == "duckdb"

    @property
    def data_source(self) -> str:
        """The input as a report names it: the folder, else the files named one by one."""
        return str(self.data_dir or ", ".join(self.tables.values()))


def load_growth_config(values: Mapping[str, Any]) -> GrowthAnalyticsConfig:
    """Validate raw parameters, or raise a ConfigError naming each bad key."""
    return load_config(GrowthAnalyticsConfig, values, "growth analytics config")
