"""Run configuration of the A/B testing pipeline, validated before anything runs.

The YAML a user writes (``configs/ab_test.yaml``) puts these fields under ``parameters:``; the
pipeline's signature mirrors them one to one (a test keeps the two in step). Unknown keys, unknown
metric types and impossible values are rejected here with a message that names the key, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from liftlab.config.base import (
    DataSource,
    DataSourceConfig,
    EngineConfig,
    OutputDir,
    StrictModel,
    load_config,
)
from strategies.cleaning import CleaningStrategy, ColumnRoles, build_cleaning_strategies
from strategies.stats.analysis import AnalysisOptions, RelCiMethod
from strategies.stats.corrections import Correction, CorrectionScope
from strategies.stats.layers import BayesianOptions, NonparametricOptions, SequentialOptions
from strategies.stats.metrics import METRIC_TYPES, Direction, MetricSpec, Role
from strategies.stats.run import ABDesign
from strategies.validation import DEFAULT_FUNNEL, ValidationRules, build_ab_rules
from strategies.warehouse.ab_summary import ABPlan

DEFAULT_CLEANING: list[dict[str, Any]] = [
    {"name": "normalize_variant_labels"},
    {"name": "drop_duplicate_rows"},
    {"name": "drop_multi_variant_units"},
]


class MetricConfig(StrictModel):
    """One metric as written in YAML: ``name`` + ``type`` + the column(s) it reads."""

    name: str
    type: str
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    direction: Direction = "increase"
    min_effect: float = Field(default=0.02, ge=0.0)
    covariate: str | None = None
    """Pre-period column for CUPED variance reduction (e.g. pre_revenue)."""
    role: Role = "primary"
    non_inferiority_margin: float = Field(default=0.0, ge=0.0)
    """For guardrails: the relative deterioration still tolerated (0.02 = 2 %)."""
    unit: str | None = None
    """How the report shows values: '%' for rates (values in %, differences in pp), a currency
    symbol or code ('$', '€', 'EUR') for money, '' for plain numbers. Default: '%' for
    proportions, plain numbers otherwise."""

    @field_validator("unit")
    @classmethod
    def _short_unit(cls, value: str | None) -> str | None:
        if value is not None and (len(value.strip()) > 5 or any(c.isdigit() for c in value)):
            raise ValueError(
                f"unit {value!r} must be '%', a currency symbol or code such as '$' or 'EUR', "
                "or '' for plain numbers"
            )
        return value if value is None else value.strip()

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in METRIC_TYPES:
            raise ValueError(f"unknown metric type {value!r}; use one of {', '.join(METRIC_TYPES)}")
        return value

    @model_validator(mode="after")
    def _columns_match_type(self) -> MetricConfig:
        if self.type == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError(f"ratio metric {self.name!r} needs 'numerator' and 'denominator'")
            if self.column:
                raise ValueError(
                    f"ratio metric {self.name!r} takes numerator/denominator, not column"
                )
        else:
            if not self.column:
                raise ValueError(f"{self.type} metric {self.name!r} needs 'column'")
            if self.numerator or self.denominator:
                raise ValueError(
                    f"{self.type} metric {self.name!r} takes 'column', not numerator/denominator"
                )
        return self

    def to_spec(self) -> MetricSpec:
        return MetricSpec(
            name=self.name,
            type=self.type,  # type: ignore[arg-type]
            column=self.column,
            numerator=self.numerator,
            denominator=self.denominator,
            direction=self.direction,
            min_effect=self.min_effect,
            covariate=self.covariate,
            role=self.role,
            non_inferiority_margin=self.non_inferiority_margin,
        )


class BayesianConfig(StrictModel):
    """Bayesian view: beta-binomial for proportions, Gaussian for means and ratios."""

    prior_alpha: float = Field(default=1.0, gt=0.0)
    prior_beta: float = Field(default=1.0, gt=0.0)
    prob_threshold: float = Field(default=0.95, gt=0.5, le=1.0)
    loss_threshold: float = Field(default=0.001, gt=0.0)
    """Expected loss one accepts, relative to the control estimate (0.001 = 0.1 %)."""

    def to_options(self) -> BayesianOptions:
        return BayesianOptions(**self.model_dump())


class SequentialConfig(StrictModel):
    """Sequential monitoring: look every day without inflating false positives.

    ``group_sequential`` needs ``planned_sample_size``: the planned maximum number of units
    per experiment, all arms together (one number, or a mapping experiment → number); alpha
    is spent by the share of it observed at each look. ``planned_looks`` (optional) makes that
    look the final analysis. ``msprt`` tunes its mixture to a relative effect of ``mde``
    around ``baselines[metric]`` (the control value from the plan) or, without one, around the
    control estimate at the first look.
    """

    method: Literal["msprt", "group_sequential"] = "msprt"
    time_column: str = "assigned_at"
    period: Literal["day", "week"] = "day"
    planned_looks: int | None = Field(default=None, ge=1)
    planned_sample_size: int | dict[str, int] | None = None
    mde: float = Field(default=0.1, gt=0.0)
    baselines: dict[str, float] | None = None

    @model_validator(mode="after")
    def _plan(self) -> SequentialConfig:
        if self.method == "group_sequential" and self.planned_sample_size is None:
            raise ValueError(
                "method group_sequential needs planned_sample_size (the planned maximum units "
                "per experiment, all arms; e.g. 50000)"
            )
        sizes = (
            self.planned_sample_size.values()
            if isinstance(self.planned_sample_size, dict)
            else [self.planned_sample_size]
        )
        if any(size is not None and size < 1 for size in sizes):
            raise ValueError("planned_sample_size must be a positive number of units")
        return self

    def to_options(self) -> SequentialOptions:
        return SequentialOptions(**self.model_dump())


class NonparametricConfig(StrictModel):
    """Robustness checks for heavy-tailed metrics: Mann–Whitney U and bootstrap CIs."""

    metrics: list[str] = Field(min_length=1)
    mann_whitney: bool = True
    bootstrap: bool = True
    n_resamples: int = Field(default=2000, ge=100, le=100_000)
    seed: int = 0

    def to_options(self) -> NonparametricOptions:
        values = self.model_dump()
        values["metrics"] = tuple(values["metrics"])
        return NonparametricOptions(**values)


class ABCleaningSpec(StrictModel):
    """What the A/B cleaning step needs, and nothing more: the strategy specs in order and the
    column roles they act on. A step given only this part keeps its cache when an unrelated
    key (``alpha``, ``output_dir``, …) changes."""

    strategies: list[dict[str, Any]] = Field(default_factory=list)
    unit_column: str
    variant_column: str
    experiment_column: str | None = None
    variants: list[str] = Field(default_factory=list)
    """Declared labels, control first (label normalisation maps onto these)."""

    def build(self) -> list[CleaningStrategy]:
        return build_cleaning_strategies(self.strategies)

    def column_roles(self) -> ColumnRoles:
        return ColumnRoles(
            unit_column=self.unit_column,
            variant_column=self.variant_column,
            experiment_column=self.experiment_column,
            variants=tuple(self.variants),
        )


class ABValidationSpec(StrictModel):
    """What builds the A/B expectation suite. The rules depend on which funnel columns the
    cleaned table has, so the validation step builds them from this part and the table."""

    unit_column: str
    variant_column: str
    variants: list[str]
    """Every allowed label, control first."""
    experiment_column: str | None = None
    segment_columns: list[str] = Field(default_factory=list)
    metric_columns: list[str] = Field(default_factory=list)
    count_columns: list[str] = Field(default_factory=list)
    funnel: list[str] = Field(default_factory=lambda: list(DEFAULT_FUNNEL))

    def rules(self, columns_present: Sequence[str]) -> ValidationRules:
        return build_ab_rules(
            list(columns_present),
            unit_column=self.unit_column,
            variant_column=self.variant_column,
            variants=self.variants,
            experiment_column=self.experiment_column,
            segment_columns=self.segment_columns,
            metric_columns=self.metric_columns,
            count_columns=self.count_columns,
            funnel=self.funnel,
        )


class ABTestConfig(DataSourceConfig):
    """Everything one A/B analysis run needs. Field docs are the user-facing reference."""

    unit_column: str = "user_id"
    variant_column: str = "variant"
    control: str = "A"
    variants: list[str] = Field(default_factory=lambda: ["B"], min_length=1)
    """Treatment labels compared with ``control``; any other label in the data is an error."""
    experiment_column: str | None = None
    experiment_name: str = "experiment"
    """Name used for the single experiment when there is no ``experiment_column``."""
    segment_columns: list[str] = Field(default_factory=list)
    metrics: list[MetricConfig] = Field(min_length=1)
    count_columns: list[str] = Field(default_factory=list)
    """Extra event-count columns that must be non-negative numbers."""
    funnel: list[str] = Field(default_factory=lambda: list(DEFAULT_FUNNEL))
    """Funnel stages in order; each stage present in the data must not exceed the one before."""
    expected_split: dict[str, float] | None = None
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    correction: Correction = "holm"
    correction_scope: CorrectionScope = "run"
    rel_ci_method: RelCiMethod = "fieller"
    """Relative-lift CI: ``fieller`` inverts the deciding test (never contradicts it);
    ``delta`` is the approximate delta-method interval, for comparison with other tools."""
    proportion_test: Literal["z", "chi2"] = "z"
    pooled_se: bool = True
    """Proportion test: pooled (score) z-test with score intervals, or unpooled z with Wald
    and Fieller intervals; either way the intervals invert the test."""
    continuity_correction: bool = False
    srm_alpha: float = Field(default=0.001, gt=0.0, lt=0.5)
    bayesian: BayesianConfig | None = None
    sequential: SequentialConfig | None = None
    nonparametric: NonparametricConfig | None = None
    cleaning: list[dict[str, Any]] = Field(default_factory=lambda: list(DEFAULT_CLEANING))
    output_dir: OutputDir = "outputs/ab_test"

    @model_validator(mode="after")
    def _check(self) -> ABTestConfig:
        names = [m.name for m in self.metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"metric names must be unique; repeated: {', '.join(duplicates)}")
        if self.control in self.variants:
            raise ValueError(f"control {self.control!r} is also listed in 'variants'")
        if self.expected_split is not None:
            labels = {self.control, *self.variants}
            unknown = set(self.expected_split) - labels
            missing = labels - set(self.expected_split)
            if unknown or missing:
                raise ValueError(
                    "expected_split must give a weight for exactly the control and the variants "
                    f"(unknown: {sorted(unknown)}, missing: {sorted(missing)})"
                )
            if any(w <= 0 for w in self.expected_split.values()):
                raise ValueError("expected_split weights must be positive")
        if self.nonparametric is not None:
            unknown = [m for m in self.nonparametric.metrics if m not in names]
            if unknown:
                raise ValueError(f"nonparametric.metrics names unknown metric(s): {unknown}")
        for entry in self.cleaning:
            if "name" not in entry:
                raise ValueError(f"every cleaning entry needs a 'name'; got {entry}")
        return self

    # -- derived views -------------------------------------------------------------------------
    @property
    def all_variants(self) -> list[str]:
        return [self.control, *self.variants]

    def design(self) -> ABDesign:
        return ABDesign(
            unit_column=self.unit_column,
            variant_column=self.variant_column,
            control=self.control,
            variants=tuple(self.variants),
            experiment_column=self.experiment_column,
            experiment_name=self.experiment_name,
            segment_columns=tuple(self.segment_columns),
        )

    def cleaning_spec(self) -> ABCleaningSpec:
        return ABCleaningSpec(
            strategies=self.cleaning,
            unit_column=self.unit_column,
            variant_column=self.variant_column,
            experiment_column=self.experiment_column,
            variants=self.all_variants,
        )

    def column_roles(self) -> ColumnRoles:
        return self.cleaning_spec().column_roles()

    def validation_spec(self) -> ABValidationSpec:
        return ABValidationSpec(
            unit_column=self.unit_column,
            variant_column=self.variant_column,
            variants=self.all_variants,
            experiment_column=self.experiment_column,
            segment_columns=self.segment_columns,
            metric_columns=self.metric_columns(),
            count_columns=self.count_columns,
            funnel=self.funnel,
        )

    def metric_specs(self) -> list[MetricSpec]:
        return [m.to_spec() for m in self.metrics]

    def metric_columns(self) -> list[str]:
        columns: list[str] = []
        for spec in self.metric_specs():
            columns.extend(c for c in spec.columns() if c not in columns)
        return columns

    def analysis_options(self) -> AnalysisOptions:
        return AnalysisOptions(
            control=self.control,
            alpha=self.alpha,
            correction=self.correction,
            proportion_test=self.proportion_test,
            pooled_se=self.pooled_se,
            continuity_correction=self.continuity_correction,
            expected_split=self.expected_split,
            srm_alpha=self.srm_alpha,
            correction_scope=self.correction_scope,
            rel_ci_method=self.rel_ci_method,
        )

    def warehouse_spec(self) -> ABWarehouseSpec:
        return ABWarehouseSpec(
            data_path=self.data_path,
            sql=self.sql,
            table=self.table,
            allowed_paths=list(self.allowed_paths),
            engine=self.engine,
            cleaning=self.cleaning_spec(),
            validation=self.validation_spec(),
            experiment_name=self.experiment_name,
            segment_columns=self.segment_columns,
            control=self.control,
            metrics=self.metrics,
            funnel=self.funnel,
            sequential=self.sequential,
            nonparametric=self.nonparametric,
        )

    def layer_options(self) -> dict[str, Any]:
        """Keyword arguments for the optional inference layers of ``run_ab_analysis``."""
        return {
            "bayesian": self.bayesian.to_options() if self.bayesian else None,
            "sequential": self.sequential.to_options() if self.sequential else None,
            "nonparametric": self.nonparametric.to_options() if self.nonparametric else None,
        }


class ABWarehouseSpec(StrictModel):
    """What the engine step needs — the source, the engine, cleaning, validation and the
    statistics to compute — and nothing the analysis alone uses (``alpha``, corrections, the
    Bayesian prior, ``output_dir``), so changing those keeps the engine step's cache."""

    data_path: str | None = None
    sql: str | None = None
    table: str | None = None
    allowed_paths: list[str] = Field(default_factory=list)
    engine: EngineConfig = EngineConfig()
    cleaning: ABCleaningSpec
    validation: ABValidationSpec
    experiment_name: str = "experiment"
    segment_columns: list[str] = Field(default_factory=list)
    control: str
    metrics: list[MetricConfig]
    funnel: list[str] = Field(default_factory=list)
    sequential: SequentialConfig | None = None
    nonparametric: NonparametricConfig | None = None

    def source_config(self) -> DataSource:
        return DataSource(
            data_path=self.data_path,
            sql=self.sql,
            table=self.table,
            allowed_paths=self.allowed_paths,
            engine=self.engine,
        )

    def design(self) -> ABDesign:
        return ABDesign(
            unit_column=self.cleaning.unit_column,
            variant_column=self.cleaning.variant_column,
            control=self.control,
            variants=tuple(v for v in self.cleaning.variants if v != self.control),
            experiment_column=self.cleaning.experiment_column,
            experiment_name=self.experiment_name,
            segment_columns=tuple(self.segment_columns),
        )

    def metric_specs(self) -> list[MetricSpec]:
        return [m.to_spec() for m in self.metrics]

    def plan(self) -> ABPlan:
        """The domain view of this spec (for ``summarise_ab``)."""
        return ABPlan(
            cleaning=self.cleaning.build(),
            roles=self.cleaning.column_roles(),
            rules_for=self.validation.rules,
            design=self.design(),
            metrics=self.metric_specs(),
            funnel=tuple(self.funnel),
            sequential=self.sequential.to_options() if self.sequential else None,
            nonparametric=self.nonparametric.to_options() if self.nonparametric else None,
        )


def load_ab_config(values: Mapping[str, Any]) -> ABTestConfig:
    """Validate raw parameters into an :class:`ABTestConfig`, or raise a readable ConfigError."""
    return load_config(ABTestConfig, values, "A/B test config")
