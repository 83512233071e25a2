"""The A/B config and the parts of it each step receives (cleaning spec, validation spec):
they hold what the old dict plumbing computed, survive ZenML's JSON round trip, and stay equal
when an unrelated key changes (so the step keeps its cache)."""

from __future__ import annotations

import pytest
import yaml

from liftlab.config.ab_testing import (
    ABCleaningSpec,
    ABTestConfig,
    ABValidationSpec,
    load_ab_config,
)
from liftlab.config.base import StrictModel
from strategies.cleaning import ColumnRoles, build_cleaning_strategies
from strategies.errors import ConfigError
from strategies.validation import build_ab_rules
from tests.conftest import REPO_ROOT


@pytest.fixture
def cfg() -> ABTestConfig:
    content = yaml.safe_load((REPO_ROOT / "configs" / "ab_test.yaml").read_text())
    return load_ab_config(content["parameters"])


def test_every_part_is_strict() -> None:
    for model in (ABTestConfig, ABCleaningSpec, ABValidationSpec):
        assert issubclass(model, StrictModel)
    with pytest.raises(ValueError, match="extra"):
        ABCleaningSpec(unit_column="u", variant_column="v", typo=1)


def test_cleaning_spec_has_the_strategies_and_roles(cfg: ABTestConfig) -> None:
    spec = cfg.cleaning_spec()
    assert spec.column_roles() == ColumnRoles(
        unit_column="user_id", variant_column="variant", experiment_column="experiment",
        variants=("A", "B"),
    )  # fmt: skip
    assert cfg.column_roles() == spec.column_roles()
    assert [type(s) for s in spec.build()] == [
        type(s) for s in build_cleaning_strategies(cfg.cleaning)
    ]


def test_validation_spec_builds_the_same_rules(cfg: ABTestConfig) -> None:
    columns = ["experiment", "user_id", "variant", "device", "impressions", "clicks", "opens"]
    expected = build_ab_rules(
        columns,
        unit_column=cfg.unit_column,
        variant_column=cfg.variant_column,
        variants=cfg.all_variants,
        experiment_column=cfg.experiment_column,
        segment_columns=cfg.segment_columns,
        metric_columns=cfg.metric_columns(),
        count_columns=cfg.count_columns,
        funnel=cfg.funnel,
    )
    assert cfg.validation_spec().rules(columns) == expected


@pytest.mark.parametrize("model", ["config", "cleaning_spec", "validation_spec"])
def test_parts_survive_the_json_round_trip_of_step_parameters(
    cfg: ABTestConfig, model: str
) -> None:
    value = cfg if model == "config" else getattr(cfg, model)()
    assert type(value).model_validate_json(value.model_dump_json()) == value


def test_unrelated_keys_leave_the_step_parts_unchanged(cfg: ABTestConfig) -> None:
    changed = cfg.model_copy(update={"alpha": 0.1, "output_dir": "elsewhere"})
    assert changed.cleaning_spec() == cfg.cleaning_spec()
    assert changed.validation_spec() == cfg.validation_spec()
    recleaned = cfg.model_copy(update={"cleaning": []})
    assert recleaned.validation_spec() == cfg.validation_spec()
    assert recleaned.cleaning_spec() != cfg.cleaning_spec()


def test_load_names_the_bad_key() -> None:
    metrics = [{"name": "c", "type": "proportion", "column": "c"}]
    with pytest.raises(ConfigError, match=r"invalid A/B test config:\n  - alpah: unknown key"):
        load_ab_config({"data_path": "x.csv", "metrics": metrics, "alpah": 0.1})
