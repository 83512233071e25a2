"""Run configuration of the e-commerce growth-analytics pipeline
(``configs/growth_analytics*.yaml``).

The YAML puts these fields under ``parameters:``; the pipeline signature mirrors them one to one
(a test keeps the two in step). Unknown keys are errors. The input is five tables (users,
experiments, sessions, exposures, orders) read as the campaign pipeline reads its exports
(:mod:`liftlab.config.table_sets`), or, with ``source: hillstrom``, Hillstrom's e-mail test
file (:mod:`strategies.growth.hillstrom`); the source decides the metrics and the default
persona features (:mod:`strategies.growth.sources`).
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
from strategies.growth.sources import SOURCES, GrowthSource, SourceName
from strategies.stats.corrections import Correction
from strategies.stats.metrics import MetricSpec


class PersonaSettings(StrictModel):
    """How personas are found (README, "Growth analytics"): k-means on the scaled pre-period
    features for every k in ``[k_min, k_max]``, k chosen by bootstrap stability, then
    silhouette."""

    features: list[str] = Field(default_factory=lambda: list(DEFAULT_FEATURES))
    """Pre-period feature columns (default: the source's, see README)."""
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

    source: SourceName = "shop"
    """``shop``: the five-table export below, analysis table built in SQL. ``hillstrom``:
    Hillstrom's e-mail test file (``data_path``), personas from its pre-send covariates and
    the e-mail effect per persona."""
    data_path: str | None = None
    """``source: hillstrom`` only: the Hillstrom CSV (environment variables expanded)."""
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

    @model_validator(mode="before")
    @classmethod
    def _source_defaults(cls, values: Any) -> Any:
        """Persona features and log1p columns default to the source's when not listed; a
        Hillstrom run has no shop folder (``data_dir`` defaults to none)."""
        if not isinstance(values, Mapping) or values.get("source") not in SOURCES:
            return values
        source = SOURCES[values["source"]]
        if source.name == "hillstrom" and "data_dir" not in values:
            values = {**values, "data_dir": None}
        personas = values.get("personas")
        if personas is None or isinstance(personas, Mapping):
            personas = dict(personas or {})
            personas.setdefault("features", list(source.features))
            personas.setdefault("log1p", [f for f in source.log1p if f in personas["features"]])
            values = {**values, "personas": personas}
        return values

    @model_validator(mode="after")
    def _check(self) -> GrowthAnalyticsConfig:
        if self.source == "hillstrom":
            self._check_hillstrom()
        else:
            if self.data_path:
                raise ValueError(
                    "data_path is read with source: hillstrom only; the shop export is read "
                    "from data_dir or tables"
                )
            check_table_set(TABLES, self.data_dir, self.tables, self.engine.name)
        return self

    def _check_hillstrom(self) -> None:
        problems = []
        if not self.data_path:
            problems.append("source hillstrom needs data_path (the Hillstrom CSV)")
        if self.tables or self.data_dir:
            problems.append("source hillstrom reads data_path; remove data_dir and tables")
        if self.engine.name != "duckdb":
            problems.append(
                f"source hillstrom is one file read in-process; engine {self.engine.name!r} "
                "is not used (remove the engine key)"
            )
        if self.persona_truth:
            problems.append("persona_truth: Hillstrom has no known personas (remove the key)")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def profile(self) -> GrowthSource:
        """What the source measures: metrics, headline metric, funnel stages."""
        return SOURCES[self.source]

    @property
    def metrics(self) -> tuple[MetricSpec, ...]:
        return self.profile.metrics

    @property
    def primary_metric(self) -> str:
        return self.profile.primary_metric

    def table_paths(self) -> dict[str, Path]:
        """The file of each table read from a file (engine tables are left out)."""
        if self.source == "hillstrom":
            return {"hillstrom": expand_path(str(self.data_path))}
        return table_paths(TABLES, self.data_dir, self.tables)

    def sources(self) -> dict[str, SourceSpec]:
        """What the engine reads per table: a file or an engine table (none for Hillstrom,
        which is read in-process)."""
        if self.source == "hillstrom":
            return {}
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
        return bool(self.duckdb_path) and self.engine.name == "duckdb" and self.source == "shop"

    @property
    def data_source(self) -> str:
        """The input as a report names it: the folder, else the files named one by one."""
        if self.source == "hillstrom":
            return str(self.data_path)
        return str(self.data_dir or ", ".join(self.tables.values()))


def load_growth_config(values: Mapping[str, Any]) -> GrowthAnalyticsConfig:
    """Validate raw parameters, or raise a ConfigError naming each bad key."""
    return load_config(GrowthAnalyticsConfig, values, "growth analytics config")
