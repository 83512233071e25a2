"""Run configuration of the uplift-modelling pipeline (``configs/uplift*.yaml``).

The YAML puts these fields under ``parameters:``; the pipeline signature mirrors them (a test
keeps the two in step). Every learner spec is resolved here, so a typo in a learner or base-model
name fails before any data is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from liftlab.config.base import DataSourceConfig, OutputDir, StrictModel, load_config
from strategies.errors import ConfigError
from strategies.stats.corrections import Correction
from strategies.uplift.evaluation import RANK_METRICS
from strategies.uplift.learners import build_uplift_learner
from strategies.uplift.workflow import OutcomeSpec
from strategies.validation import ValidationRules

DEFAULT_LEARNERS: list[dict[str, Any]] = [
    {"name": "s_learner", "base": {"name": "hist_gradient_boosting"}},
    {"name": "t_learner", "base": {"name": "hist_gradient_boosting"}},
    {"name": "x_learner", "base": {"name": "hist_gradient_boosting"}},
    {"name": "t_learner", "label": "t_learner_ridge", "base": {"name": "ridge"}},
]


class OutcomeConfig(StrictModel):
    """One outcome: its average effect is always estimated; ``model: true`` also fits uplift
    learners for it. ``value_per_unit`` turns one unit of outcome into money (value of a visit
    or a conversion, or the margin on one unit of spend) for the targeting policy."""

    name: str = Field(pattern=r"^[A-Za-z_][\w]*$")
    column: str
    type: Literal["binary", "continuous"]
    value_per_unit: float = Field(default=1.0, ge=0.0)
    model: bool = True
    learners: list[dict[str, Any]] | None = None
    """Overrides the global ``learners`` for this outcome."""


class UpliftModelConfig(DataSourceConfig):
    """Everything one uplift-modelling run needs. Field docs are the user-facing reference."""

    id_column: str | None = None
    """Customer id; the row number when the data has none (Hillstrom)."""
    treatment_column: str = "segment"
    control: str = "No E-Mail"
    arms: list[str] = Field(default_factory=lambda: ["Mens E-Mail", "Womens E-Mail"], min_length=1)
    categorical: list[str] = Field(default_factory=lambda: ["zip_code", "channel"])
    numeric: list[str] = Field(
        default_factory=lambda: ["recency", "history", "mens", "womens", "newbie"]
    )
    outcomes: list[OutcomeConfig] = Field(min_length=1)
    learners: list[dict[str, Any]] = Field(default_factory=lambda: list(DEFAULT_LEARNERS))
    rank_by: Literal["qini_coefficient", "auuc", "uplift_at_30"] = "qini_coefficient"
    test_size: float = Field(default=0.3, gt=0.05, lt=0.9)
    policy_outcome: str | None = None
    """Outcome whose value drives "whom to e-mail" (default: the last modelled outcome)."""
    cost_per_contact: float = Field(default=0.1, ge=0.0)
    top_fraction: float | None = Field(default=None, gt=0.0, le=1.0)
    """Contact exactly this share (best expected profit first) instead of all with profit > 0."""
    n_bootstrap: int = Field(default=200, ge=20, le=5000)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    correction: Correction = "holm"
    model_name: str = Field(default="liftlab-uplift", min_length=1, max_length=180)
    """Registered model name prefix: one model per outcome, ``<model_name>-<outcome>``."""
    duckdb_path: str = "outputs/liftlab.duckdb"
    """DuckDB database receiving ``gold_uplift_targeting`` ("" for none)."""
    seed: int = Field(default=42, ge=0)
    output_dir: OutputDir = "outputs/uplift"

    @model_validator(mode="after")
    def _check(self) -> UpliftModelConfig:
        if self.control in self.arms:
            raise ValueError(f"control {self.control!r} is also listed in 'arms'")
        names = [o.name for o in self.outcomes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"outcome names must be unique; repeated: {repeated}")
        modelled = [o for o in self.outcomes if o.model]
        if not modelled:
            raise ValueError("at least one outcome needs 'model: true'")
        if self.policy_outcome is not None and self.policy_outcome not in {
            o.name for o in modelled
        }:
            raise ValueError(
                f"policy_outcome {self.policy_outcome!r} is not a modelled outcome "
                f"({[o.name for o in modelled]})"
            )
        for outcome in modelled:
            labels = []
            for spec in self.learner_specs(outcome):
                try:
                    build_uplift_learner(
                        {k: v for k, v in spec.items() if k != "label"},
                        seed=0,
                        control=self.control,
                    )
                except ConfigError as exc:
                    raise ValueError(f"outcome {outcome.name!r}: {exc}") from None
                labels.append(str(spec.get("label") or spec.get("name")))
            twice = sorted({x for x in labels if labels.count(x) > 1})
            if twice:
                raise ValueError(
                    f"outcome {outcome.name!r}: learner labels repeat ({twice}); set 'label'"
                )
        if self.rank_by not in RANK_METRICS:  # pragma: no cover - Literal guards it
            raise ValueError(f"rank_by must be one of {RANK_METRICS}")
        return self

    @property
    def feature_columns(self) -> list[str]:
        return list(dict.fromkeys([*self.categorical, *self.numeric]))

    def modelled_outcomes(self) -> list[OutcomeConfig]:
        return [o for o in self.outcomes if o.model]

    def policy(self) -> OutcomeConfig:
        modelled = self.modelled_outcomes()
        if self.policy_outcome is None:
            return modelled[-1]
        return next(o for o in modelled if o.name == self.policy_outcome)

    def learner_specs(self, outcome: OutcomeConfig) -> list[dict[str, Any]]:
        """Learner specs for ``outcome`` with the preprocessor (one-hot ``categorical``, raw
        ``numeric``) filled in unless a spec brings its own."""
        preprocessor = {"categorical": self.categorical, "numeric": self.numeric}
        specs = outcome.learners if outcome.learners is not None else self.learners
        return [{"preprocessor": preprocessor, **spec} for spec in specs]

    def registered_name(self, outcome: OutcomeConfig) -> str:
        """Registered model of one outcome: ``<model_name>-<outcome>``."""
        return f"{self.model_name}-{outcome.name}"

    def validation_rules(self) -> ValidationRules:
        """The input table's suite: features, treatment and outcomes present and not null;
        treatment labels declared; outcomes non-negative numbers, binary ones 0/1; the
        customer id (when there is one) unique."""
        outcome_columns = [o.column for o in self.outcomes]
        required = [self.treatment_column, *self.feature_columns, *outcome_columns]
        allowed: dict[str, tuple] = {self.treatment_column: (self.control, *self.arms)}
        for outcome in self.outcomes:
            if outcome.type == "binary":
                allowed[outcome.column] = (0, 1)
        return ValidationRules(
            required_columns=tuple(dict.fromkeys(required)),
            numeric_columns=tuple(dict.fromkeys([*outcome_columns, *self.numeric])),
            non_negative_columns=tuple(dict.fromkeys(outcome_columns)),
            allowed_values=allowed,
            not_null_columns=tuple(dict.fromkeys(required)),
            unique_columns=(self.id_column,) if self.id_column else (),
        )

    def effect_outcomes(self) -> list[dict[str, str]]:
        """``name``, ``type`` and ``column`` of every outcome: all the average-effects step
        needs (so editing learners or values does not invalidate its cache)."""
        return [{"name": o.name, "type": o.type, "column": o.column} for o in self.outcomes]

    def modelling_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`strategies.uplift.workflow.run_uplift_modelling` for this
        config: the one place that maps config fields onto the modelling round."""
        return {
            "treatment_column": self.treatment_column,
            "control": self.control,
            "arms": self.arms,
            "features": self.feature_columns,
            "outcomes": [
                OutcomeSpec(o.name, o.column, o.value_per_unit, self.learner_specs(o))
                for o in self.modelled_outcomes()
            ],
            "policy_outcome": self.policy().name,
            "cost_per_contact": self.cost_per_contact,
            "test_size": self.test_size,
            "seed": self.seed,
            "rank_by": self.rank_by,
            "top_fraction": self.top_fraction,
            "n_bootstrap": self.n_bootstrap,
            "id_column": self.id_column,
        }

    def report_parameters(self) -> dict[str, Any]:
        """The parameters as the report shows them: JSON-ready, with the policy outcome filled
        in when the user left it to the default."""
        return {**self.model_dump(mode="json"), "policy_outcome": self.policy().name}


def load_uplift_config(values: Mapping[str, Any]) -> UpliftModelConfig:
    """Validate raw parameters, or raise a ConfigError naming each bad key."""
    return load_config(UpliftModelConfig, values, "uplift model config")
