"""The typed uplift config gives each step exactly what it needs (validation suite, effect
outcomes, modelling arguments, report parameters), so steps never see a raw dict."""

from __future__ import annotations

import inspect

import yaml

from liftlab.config.uplift import load_uplift_config
from strategies.uplift.workflow import OutcomeSpec, run_uplift_modelling
from strategies.validation import ValidationRules
from tests.conftest import REPO_ROOT


def _hillstrom():
    content = yaml.safe_load((REPO_ROOT / "configs" / "uplift_hillstrom.yaml").read_text())
    return load_uplift_config(content["parameters"])


def test_validation_rules_cover_treatment_features_and_outcomes() -> None:
    cfg = _hillstrom()
    rules = cfg.validation_rules()
    assert rules.required_columns[0] == "segment"
    assert set(rules.required_columns) == {
        "segment", "zip_code", "channel", "recency", "history", "mens", "womens", "newbie",
        "visit", "conversion", "spend",
    }  # fmt: skip
    assert rules.non_negative_columns == ("visit", "conversion", "spend")
    assert rules.allowed_values == {
        "segment": ("No E-Mail", "Mens E-Mail", "Womens E-Mail"),
        "visit": (0, 1),
        "conversion": (0, 1),
    }
    assert rules.unique_columns == ()  # Hillstrom has no customer id
    assert ValidationRules.from_dict(rules.to_dict()) == rules  # what the step receives
    with_id = load_uplift_config({**cfg.model_dump(), "id_column": "customer"})
    assert with_id.validation_rules().unique_columns == ("customer",)


def test_effect_outcomes_name_only_what_the_estimate_needs() -> None:
    assert _hillstrom().effect_outcomes() == [
        {"name": "visit", "type": "binary", "column": "visit"},
        {"name": "conversion", "type": "binary", "column": "conversion"},
        {"name": "spend", "type": "continuous", "column": "spend"},
    ]


def test_modelling_arguments_fit_the_workflow() -> None:
    cfg = _hillstrom()
    arguments = cfg.modelling_arguments()
    inspect.signature(run_uplift_modelling).bind(None, **arguments)
    outcomes = arguments["outcomes"]
    assert [o.name for o in outcomes] == ["visit", "spend"]  # conversion is effect-only
    assert all(isinstance(o, OutcomeSpec) for o in outcomes)
    assert outcomes[0].learners[0]["preprocessor"]["categorical"] == ["zip_code", "channel"]
    assert arguments["policy_outcome"] == "spend"
    assert cfg.registered_name(cfg.outcomes[0]) == "liftlab-uplift-hillstrom-visit"


def test_report_parameters_fill_in_the_default_policy_outcome() -> None:
    cfg = load_uplift_config(
        {**_hillstrom().model_dump(exclude={"policy_outcome"}), "policy_outcome": None}
    )
    shown = cfg.report_parameters()
    assert shown["policy_outcome"] == "spend"  # the last modelled outcome
    assert shown["outcomes"][0] == cfg.outcomes[0].model_dump(mode="json")
