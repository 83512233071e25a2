"""Run configuration of the conversion-prediction training pipeline (batch inference has
:mod:`liftlab.config.inference`).

The YAML a user writes (``configs/training*.yaml``, ``configs/inference*.yaml``) puts these
fields under ``parameters:``; the pipelines' signatures mirror them one to one (a test keeps the
two in step). Every strategy spec (cleaning, features, split, candidates) is resolved here, so a
typo in a model name or a parameter fails before any data is read or any model is trained.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from liftlab.config.base import DataSourceConfig, OutputDir, StrictModel, load_config
from strategies.cleaning import build_cleaning_strategies
from strategies.errors import ConfigError
from strategies.evaluation import METRIC_DIRECTIONS
from strategies.features import build_feature_strategies, build_preprocessor
from strategies.regressors import parse_regressor_spec
from strategies.splits import make_split
from strategies.validation import ValidationRules, build_ads_rules

DEFAULT_FEATURES: list[dict[str, Any]] = [
    {"name": "ctr"},
    {"name": "cpc"},
    {"name": "cpm"},
    {"name": "spend_per_impression"},
    {"name": "log1p", "columns": ["Impressions", "Clicks", "Spent"]},
]

DEFAULT_CANDIDATES: list[dict[str, Any]] = [
    {"name": "baseline_mean"},
    {"name": "linear"},
    {"name": "ridge"},
    {"name": "poisson"},
    {"name": "gradient_boosting"},
    {"name": "hist_gradient_boosting_poisson"},
    {"name": "random_forest"},
    {"name": "adaboost"},
]

DEFAULT_COUNT_COLUMNS = [
    "Impressions",
    "Clicks",
    "Spent",
    "Total_Conversion",
    "Approved_Conversion",
]
DEFAULT_NOT_GREATER_THAN = {"Clicks": "Impressions", "Approved_Conversion": "Total_Conversion"}
TRAINING_CLEANING_STRATEGIES = ("drop_duplicate_rows", "impute_missing_counts", "cap_outliers")
"""Cleaning strategies that make sense for an ad table (the others need an A/B variant column)."""


class PromotionConfig(StrictModel):
    """When the new best model (the challenger) replaces the current champion."""

    metric: str = "poisson_deviance"
    """Holdout metric both models are compared on."""
    margin: float = Field(default=0.01, ge=0.0, le=1.0)
    """Relative improvement required (0.01 = the challenger must be at least 1 % better)."""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRIC_DIRECTIONS:
            raise ValueError(
                f"unknown metric {value!r}; use one of {', '.join(sorted(METRIC_DIRECTIONS))}"
            )
        return value


class TrainingConfig(DataSourceConfig):
    """Everything one training run needs. Field docs are the user-facing reference."""

    target: str = "Approved_Conversion"
    """Count to predict: ``Approved_Conversion`` (purchases) or ``Total_Conversion``."""
    id_column: str = "ad_id"
    group_column: str | None = "fb_campaign_id"
    """Ad set: ads in one set are near-duplicates (checked not null; the grouped split uses it)."""
    categorical: list[str] = Field(default_factory=lambda: ["age", "gender", "interest"])
    """One-hot encoded (``interest`` is a category code, not a number)."""
    numeric: list[str] = Field(default_factory=list)
    """Raw numeric columns passed to the model unchanged."""
    features: list[dict[str, Any]] = Field(default_factory=lambda: list(DEFAULT_FEATURES))
    """Feature-engineering strategies (see README)."""
    split: dict[str, Any] = Field(
        default_factory=lambda: {"name": "grouped", "column": "fb_campaign_id", "test_size": 0.2}
    )
    cv_folds: int = Field(default=5, ge=2, le=20)
    candidates: list[dict[str, Any]] = Field(default_factory=lambda: list(DEFAULT_CANDIDATES))
    """Regressor strategies; ``baseline_mean`` is added when missing."""
    rank_by: str = "poisson_deviance"
    """Cross-validated metric that picks the best candidate."""
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    model_name: str = Field(default="liftlab-conversion", min_length=1, max_length=200)
    """Registered model name in the MLflow model registry."""
    count_columns: list[str] = Field(default_factory=lambda: list(DEFAULT_COUNT_COLUMNS))
    """Columns that must be non-negative numbers (validated)."""
    not_greater_than: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_NOT_GREATER_THAN))
    """``{a: b}``: every row must have a <= b (validated)."""
    cleaning: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"name": "drop_duplicate_rows"}]
    )
    importance_repeats: int = Field(default=5, ge=1, le=50)
    """Permutation-importance repeats for the best model's diagnostics."""
    skip_unchanged_data: bool = True
    """Scheduled retraining (``liftlab schedule``) skips a run when the data file's hash equals
    the one the latest registered model was trained on."""
    seed: int = Field(default=42, ge=0)
    output_dir: OutputDir = "outputs/training"

    @field_validator("rank_by")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        return PromotionConfig._known_metric(value)

    @model_validator(mode="after")
    def _check(self) -> TrainingConfig:
        try:
            build_feature_strategies(self.features)
            make_split(self.split)
            labels = [parse_regressor_spec(c).label for c in self.candidates]
            build_cleaning_strategies(self.cleaning)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if not labels:
            raise ValueError("'candidates' must list at least one regressor")
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(
                f"candidate labels must be unique; repeated: {', '.join(repeated)} "
                "(give each a distinct 'label')"
            )
        unsupported = [
            c["name"] for c in self.cleaning if c.get("name") not in TRAINING_CLEANING_STRATEGIES
        ]
        if unsupported:
            raise ValueError(
                f"cleaning strategies {unsupported} do not apply to an ad table; use "
                + ", ".join(TRAINING_CLEANING_STRATEGIES)
            )
        leaking = [c for c in self.input_columns() if c == self.target]
        if leaking:
            raise ValueError(
                f"the target {self.target!r} is also used as a feature input; that would leak "
                "the answer into the model"
            )
        if self.cv_folds < 2:
            raise ValueError("cv_folds must be at least 2")
        return self

    # -- derived views -------------------------------------------------------------------------
    def preprocessor(self):  # noqa: ANN201 - sklearn ColumnTransformer
        return build_preprocessor(self.features, categorical=self.categorical, numeric=self.numeric)

    def input_columns(self) -> list[str]:
        """Raw columns the model reads, in a stable order: what the signature records."""
        columns: list[str] = [*self.categorical, *self.numeric]
        for strategy in build_feature_strategies(self.features):
            columns.extend(strategy.step()[2])
        return list(dict.fromkeys(columns))

    def validation_rules(self) -> ValidationRules:
        """The training table's expectation suite (Great Expectations)."""
        return build_ads_rules(
            id_column=self.id_column,
            group_column=self.group_column,
            input_columns=self.input_columns(),
            count_columns=self.count_columns,
            not_greater_than=self.not_greater_than,
            target=self.target,
        )

    def training_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`strategies.training.run_training_round` for this config:
        the one place that maps config fields onto the training round."""
        return {
            "target": self.target,
            "input_columns": self.input_columns(),
            "candidates": self.candidates,
            "preprocessor_factory": self.preprocessor,
            "seed": self.seed,
            "rank_by": self.rank_by,
            "importance_metric": self.promotion.metric,
            "importance_repeats": self.importance_repeats,
            "id_column": self.id_column,
        }

    def model_metadata(self) -> dict[str, Any]:
        """What the logged model carries about its inputs, so batch inference can check new data
        without this config: target, id column, input columns and the scoring suite."""
        return {
            "target": self.target,
            "id_column": self.id_column,
            "input_columns": self.input_columns(),
            "scoring_rules": self.scoring_rules().to_dict(),
        }

    def scoring_rules(self) -> ValidationRules:
        """The same suite restricted to what new data to score has: the id and the model's
        inputs (no target, no ad set, no other outcome columns). Stored with the model."""
        keep = {self.id_column, *self.input_columns()}
        rules = self.validation_rules()
        mentioned = {
            *rules.required_columns,
            *rules.numeric_columns,
            *rules.non_negative_columns,
            *(c for pair in rules.ordered_pairs for c in pair),
            *rules.not_null_columns,
        }
        return rules.without_columns(sorted(mentioned - keep))


def load_training_config(values: Mapping[str, Any]) -> TrainingConfig:
    """Validate raw parameters into a :class:`TrainingConfig`, or raise a readable ConfigError."""
    return load_config(TrainingConfig, values, "training config")
