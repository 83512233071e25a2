"""Run configuration of the marketing-mix pipeline (``configs/marketing_mix*.yaml``).

The YAML puts these fields under ``parameters:``; the pipeline signature mirrors them one to one
(a test keeps the two in step). Unknown keys are errors, and every key that names a channel
(``channel_transforms``, ``budget.bounds``, ``calibration.campaign_summary.channel_map``) is
checked against ``channels`` here, so a typo fails before any data is read instead of silently
falling back to a default.

Keys (the field docs below are the user-facing reference):

* data: ``data_path`` (CSV/Parquet) or ``sql`` (one read-only DuckDB query) + ``allowed_paths``,
  exactly as every single-table pipeline (:class:`~liftlab.config.base.DataSourceConfig`);
* columns: ``date_column``, ``outcome_column`` (+ ``outcome_label``, how the report names it),
  ``channels`` (channel name → its spend column), ``controls``;
* model: ``adstock``, ``saturation``, ``channel_transforms`` (per-channel overrides),
  ``max_lag``, ``trend``, ``fourier_order``, ``n_starts``, ``seed``;
* uncertainty: ``bootstrap`` (moving-block bootstrap: ``n_draws``, ``block_length``,
  ``interval_level``);
* experiments: ``calibration`` (lift tests from a CSV and/or liftlab's own campaign results);
* checks and plan: ``cv`` (rolling time-slice CV), ``budget`` (horizon, total or target marginal
  ROAS, bounds);
* outputs: ``currency``, ``model_name``, ``duckdb_path``, ``output_dir``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from liftlab.config.base import DataSourceConfig, OutputDir, StrictModel, expand_path, load_config
from strategies.mmm.analysis import MMMSettings
from strategies.mmm.data import MMMData, mmm_data_from_frame
from strategies.mmm.fit import MMMSpec
from strategies.mmm.quality import count_mmm_parameters

__all__ = [
    "ADSTOCK_NAMES",
    "SATURATION_NAMES",
    "BootstrapConfig",
    "BudgetConfig",
    "CVConfig",
    "CalibrationConfig",
    "CampaignLiftSource",
    "ChannelBounds",
    "ChannelTransform",
    "MarketingMixConfig",
    "load_marketing_mix_config",
]

ADSTOCK_NAMES: tuple[str, ...] = ("geometric", "weibull")
"""Adstock curves a config may name (the keys of ``strategies.mmm.transforms.ADSTOCKS``)."""
SATURATION_NAMES: tuple[str, ...] = ("hill", "logistic")
"""Saturation curves a config may name (the keys of ``strategies.mmm.transforms.SATURATIONS``)."""


def _known(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(choices)}")
    return value


def _unknown_channel(name: str, where: str, channels: list[str]) -> str:
    """The error for a key naming a channel that ``channels`` does not define."""
    close = difflib.get_close_matches(name, channels, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where} names channel {name!r}{hint}, which is not in 'channels' ({channels})"


class ChannelTransform(StrictModel):
    """Per-channel override of the global ``adstock`` / ``saturation`` (either or both)."""

    adstock: str | None = None
    saturation: str | None = None

    @field_validator("adstock")
    @classmethod
    def _adstock(cls, value: str | None) -> str | None:
        return value if value is None else _known(value, ADSTOCK_NAMES, "adstock")

    @field_validator("saturation")
    @classmethod
    def _saturation(cls, value: str | None) -> str | None:
        return value if value is None else _known(value, SATURATION_NAMES, "saturation")


class BootstrapConfig(StrictModel):
    """Moving-block bootstrap of the residuals: every interval in the report comes from it."""

    n_draws: int = Field(default=200, ge=20, le=5000)
    """Refits on resampled outcomes; 200 gives stable 90 % percentile intervals."""
    block_length: int | None = Field(default=None, ge=1)
    """Periods per resampled block (keeps autocorrelation); None = about T^(1/3)."""
    interval_level: float = Field(default=0.9, gt=0.5, lt=1.0)
    """Coverage of every interval (percentiles (1 − level)/2 and (1 + level)/2 of the draws)."""


class CampaignLiftSource(StrictModel):
    """liftlab's own campaign-uplift results (``gold_campaign_summary``) used as lift tests:
    each campaign's target-vs-control revenue estimate measures what its cost bought."""

    duckdb_path: str = "outputs/liftlab.duckdb"
    """DuckDB database the campaign-uplift pipeline wrote."""
    table: str = Field(default="gold_campaign_summary", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    channel_map: dict[str, str] = Field(default_factory=dict)
    """Campaign channel → MMM channel (``{email: email}``); unmapped names are used as they are."""
    ci_level: float = Field(default=0.95, gt=0.5, lt=1.0)
    """Level of the campaign intervals, to recover each estimate's standard error."""


class CalibrationConfig(StrictModel):
    """Experiments that pin down what the observational data cannot (confounded channels)."""

    lift_tests: str | None = None
    """CSV of lift tests: channel, start, end, spend_change, incremental_outcome, se."""
    campaign_summary: CampaignLiftSource | None = None
    weight: float | Literal["auto"] = "auto"
    """How much a lift test's squared, SE-scaled residual counts against the time-series fit.
    ``auto`` = the number of periods: an experiment is weighted like the whole series, because
    observational data cannot tell a channel from a hidden driver that moves its spend, and an
    experiment can (on the confounded simulation, weight 1 leaves > 50 % bias, ``auto`` < 25 %).
    ``1`` treats the test as one more observation of the same weight as one period."""

    @field_validator("weight")
    @classmethod
    def _positive_weight(cls, value: float | str) -> float | str:
        if value != "auto" and not 0.0 < float(value) <= 1e6:
            raise ValueError(f"calibration.weight must be 'auto' or in (0, 1e6], got {value!r}")
        return value

    def resolved_weight(self, n_periods: int) -> float:
        """The number the fit uses (``auto`` → ``n_periods``)."""
        return float(n_periods) if self.weight == "auto" else float(self.weight)

    @model_validator(mode="after")
    def _some_source(self) -> CalibrationConfig:
        if not self.lift_tests and self.campaign_summary is None:
            raise ValueError(
                "calibration needs 'lift_tests' (a CSV file) or 'campaign_summary' (the campaign "
                "pipeline's DuckDB table), or remove the 'calibration' block"
            )
        return self

    @property
    def resolved_lift_tests(self) -> Path | None:
        return expand_path(self.lift_tests) if self.lift_tests else None


class CVConfig(StrictModel):
    """Rolling time-slice cross-validation: expanding training windows, each followed by a test
    window the model has not seen."""

    n_folds: int = Field(default=4, ge=1, le=20)
    test_periods: int = Field(default=13, ge=1, le=104)
    """Periods per test window (13 weeks = one quarter)."""


class ChannelBounds(StrictModel):
    """Spend bounds of one channel per period: relative to its current spend
    (``min_relative``/``max_relative``) or absolute (``min``/``max``), both ends of one kind."""

    min_relative: float | None = Field(default=None, ge=0.0)
    max_relative: float | None = Field(default=None, ge=0.0)
    min: float | None = Field(default=None, ge=0.0)
    max: float | None = Field(default=None, ge=0.0)

    @model_validator(mode="after")
    def _one_kind(self) -> ChannelBounds:
        relative = (self.min_relative, self.max_relative)
        absolute = (self.min, self.max)
        if any(v is not None for v in relative) and any(v is not None for v in absolute):
            raise ValueError("give min_relative/max_relative or min/max, not both kinds")
        pair = relative if any(v is not None for v in relative) else absolute
        names = ("min_relative", "max_relative") if pair is relative else ("min", "max")
        if pair[0] is None or pair[1] is None:
            raise ValueError(f"give both {names[0]} and {names[1]}")
        if pair[0] > pair[1]:
            raise ValueError(f"{names[0]} ({pair[0]:g}) is above {names[1]} ({pair[1]:g})")
        return self

    def as_mapping(self) -> dict[str, float]:
        """The keys that are set, as the optimiser's ``resolve_bounds`` reads them."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class BudgetConfig(StrictModel):
    """The plan: how to split spend over the next ``horizon`` periods."""

    horizon: int = Field(default=13, ge=1, le=104)
    """Planning horizon in periods; the expected gain counts the carry-over after it too."""
    total_per_period: float | None = Field(default=None, gt=0.0)
    """Total spend per period to split; None = the current total (the recent average)."""
    target_mroas: float | None = Field(default=None, gt=0.0)
    """Instead of a fixed total: spend each channel until its marginal ROAS falls to this."""
    bounds: dict[str, ChannelBounds] = Field(default_factory=dict)
    """Per-channel spend bounds; channels not named use ``default_bounds_relative``."""
    default_bounds_relative: tuple[float, float] = (0.5, 1.5)
    """[min, max] × current spend for every channel without its own bounds."""

    @field_validator("default_bounds_relative")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if low < 0 or low > high:
            raise ValueError(f"default_bounds_relative [{low:g}, {high:g}] must be 0 <= min <= max")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> BudgetConfig:
        if self.total_per_period is not None and self.target_mroas is not None:
            raise ValueError(
                "set 'total_per_period' (split a fixed total) or 'target_mroas' (spend to a "
                "marginal ROAS), not both"
            )
        return self

    @property
    def mode(self) -> str:
        """``fixed_total`` or ``target_mroas`` (the values of ``BudgetSummary.mode``)."""
        return "target_mroas" if self.target_mroas is not None else "fixed_total"

    def bounds_mapping(self) -> dict[str, dict[str, float]]:
        """``{channel: {min_relative: .., max_relative: ..}}`` (or ``min``/``max``)."""
        return {channel: b.as_mapping() for channel, b in self.bounds.items()}


class MarketingMixConfig(DataSourceConfig):
    """Everything one marketing-mix run needs. Field docs are the user-facing reference."""

    date_column: str = "date"
    """One row per period (weekly or daily, regular, no gaps)."""
    outcome_column: str = "sales"
    """What the media drives (revenue, orders, sign-ups), per period."""
    outcome_label: str = Field(default="sales", min_length=1, max_length=40)
    """How the report names the outcome in sentences ("adds 1,200 sales")."""
    channels: dict[str, str] = Field(min_length=1)
    """Channel name → its spend column, e.g. ``{tv: tv_spend, search: search_spend}``. The
    names are what the report, the tables and the bounds use; order does not matter."""
    controls: list[str] = Field(default_factory=list)
    """Non-media columns that move the outcome (price index, promotions, holidays)."""
    adstock: str = "geometric"
    """Carry-over curve of every channel: geometric or weibull (delayed peak)."""
    saturation: str = "hill"
    """Diminishing-returns curve of every channel: hill or logistic."""
    channel_transforms: dict[str, ChannelTransform] = Field(default_factory=dict)
    """Per-channel overrides, e.g. ``{tv: {adstock: weibull}}``."""
    max_lag: int = Field(default=8, ge=1, le=52)
    """Periods a period's spend can still act (the adstock window)."""
    trend: bool = True
    """Fit a linear trend in the baseline."""
    fourier_order: int = Field(default=2, ge=0, le=10)
    """Yearly seasonality: sine/cosine pairs (0 = none)."""
    n_starts: int = Field(default=8, ge=1, le=200)
    """Starting points of the nonlinear fit (more = safer against local optima, slower)."""
    seed: int = Field(default=0, ge=0)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    calibration: CalibrationConfig | None = None
    """Lift tests that calibrate the model; None = an observational fit only."""
    cv: CVConfig = Field(default_factory=CVConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    currency: str = Field(default="$", max_length=5, pattern=r"^[^0-9]*$")
    """How the report shows spend: a symbol ('$', '€') or code ('EUR'); '' for plain numbers."""
    model_name: str = Field(default="liftlab-marketing-mix", min_length=1, max_length=180)
    """Registered model name of the fitted MMM."""
    duckdb_path: str = "outputs/liftlab.duckdb"
    """DuckDB database receiving the ``gold_mmm_*`` tables ("" for none)."""
    output_dir: OutputDir = "outputs/marketing_mix"

    @field_validator("adstock")
    @classmethod
    def _adstock(cls, value: str) -> str:
        return _known(value, ADSTOCK_NAMES, "adstock")

    @field_validator("saturation")
    @classmethod
    def _saturation(cls, value: str) -> str:
        return _known(value, SATURATION_NAMES, "saturation")

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, column in value.items():
            if not name.strip() or not column.strip():
                raise ValueError(f"channel {name!r}: names and spend columns must not be empty")
        columns = list(value.values())
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise ValueError(f"spend column {twice[0]!r} is given to more than one channel")
        return value

    @model_validator(mode="after")
    def _check(self) -> MarketingMixConfig:
        roles = [self.date_column, self.outcome_column, *self.channels.values(), *self.controls]
        twice = sorted({c for c in roles if roles.count(c) > 1})
        if twice:
            raise ValueError(
                f"column {twice[0]!r} has two roles (date, outcome, a channel's spend, controls)"
            )
        names = list(self.channels)
        for channel in self.channel_transforms:
            if channel not in self.channels:
                raise ValueError(_unknown_channel(channel, "channel_transforms", names))
        for channel in self.budget.bounds:
            if channel not in self.channels:
                raise ValueError(_unknown_channel(channel, "budget.bounds", names))
        source = self.calibration.campaign_summary if self.calibration else None
        for campaign_channel, channel in (source.channel_map if source else {}).items():
            if channel not in self.channels:
                where = f"calibration.campaign_summary.channel_map[{campaign_channel!r}]"
                raise ValueError(_unknown_channel(channel, where, names))
        return self

    # -- derived views -------------------------------------------------------------------------
    @property
    def channel_names(self) -> list[str]:
        """Channel names in the order the config lists them."""
        return list(self.channels)

    @property
    def spend_columns(self) -> list[str]:
        """Spend columns in the order of :attr:`channel_names`."""
        return list(self.channels.values())

    @property
    def data_source(self) -> str:
        """The input as a report names it."""
        return str(self.data_path or "SQL query")

    def adstock_for(self, channel: str) -> str:
        override = self.channel_transforms.get(channel)
        return (override.adstock if override else None) or self.adstock

    def saturation_for(self, channel: str) -> str:
        override = self.channel_transforms.get(channel)
        return (override.saturation if override else None) or self.saturation

    def spec_values(self, n_periods: int) -> dict[str, Any]:
        """What the model specification needs (``strategies.mmm.fit.MMMSpec``'s fields), with
        the per-channel transform names resolved."""
        return {
            "adstock": {c: self.adstock_for(c) for c in self.channels},
            "saturation": {c: self.saturation_for(c) for c in self.channels},
            "max_lag": self.max_lag,
            "trend": self.trend,
            "fourier_order": self.fourier_order,
            "n_starts": self.n_starts,
            "seed": self.seed,
            "calibration_weight": (
                self.calibration.resolved_weight(n_periods) if self.calibration else 1.0
            ),
        }

    def mmm_data(self, frame: pd.DataFrame) -> MMMData:
        """The validated table as the model's arrays, channels named as in ``channels``."""
        return mmm_data_from_frame(
            frame,
            date_column=self.date_column,
            outcome_column=self.outcome_column,
            channel_columns=self.spend_columns,
            control_columns=self.controls,
            channel_names=self.channel_names,
        )

    def analysis_settings(self, n_periods: int) -> MMMSettings:
        """The typed settings of :func:`strategies.mmm.analysis.analyse_marketing_mix`."""
        return MMMSettings(
            spec=MMMSpec(**self.spec_values(n_periods)),
            n_draws=self.bootstrap.n_draws,
            block_length=self.bootstrap.block_length,
            interval_level=self.bootstrap.interval_level,
            cv_folds=self.cv.n_folds,
            cv_test_periods=self.cv.test_periods,
            horizon=self.budget.horizon,
            total_per_period=self.budget.total_per_period,
            target_mroas=self.budget.target_mroas,
            bounds=self.budget.bounds_mapping(),
            default_bounds_relative=tuple(self.budget.default_bounds_relative),
        )

    @property
    def n_parameters(self) -> int:
        """Parameters one fit estimates (the data check wants enough periods for each)."""
        return count_mmm_parameters(
            [self.adstock_for(c) for c in self.channels],
            [self.saturation_for(c) for c in self.channels],
            n_controls=len(self.controls),
            trend=self.trend,
            fourier_order=self.fourier_order,
        )


def load_marketing_mix_config(values: Mapping[str, Any]) -> MarketingMixConfig:
    """Validate raw parameters, or raise a ConfigError naming each bad key."""
    return load_config(MarketingMixConfig, values, "marketing mix config")
