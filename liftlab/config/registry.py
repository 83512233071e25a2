"""Strict checks of ZenML run-config YAML files against the pipeline they configure.

ZenML ignores unknown top-level keys and only *warns* about settings for a step name that does
not exist, so ``paramters:`` or a misspelt step name would silently run with defaults. liftlab
treats every such slip as an error: this module is used by ``liftlab check-config``, by
``liftlab run`` before a run, and by a test over every file in ``configs/``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from strategies.errors import ConfigError


@dataclass(frozen=True)
class PipelineEntry:
    source: str  # importable "module.attribute" as `zenml pipeline run` takes it
    validate: Callable[[dict[str, Any]], Any]  # raises ConfigError for bad parameters


def _ab_validate(parameters: dict[str, Any]) -> Any:
    from liftlab.mlops.caching import validated_config

    return validated_config(parameters)


def _training_validate(parameters: dict[str, Any]) -> Any:
    from liftlab.config.base import validated_parameters
    from liftlab.config.training import load_training_config

    return validated_parameters(load_training_config, parameters)


def _inference_validate(parameters: dict[str, Any]) -> Any:
    from liftlab.config.base import validated_parameters
    from liftlab.config.inference import load_inference_config

    return validated_parameters(load_inference_config, parameters)


def _campaign_validate(parameters: dict[str, Any]) -> Any:
    from liftlab.config.base import validated_parameters
    from liftlab.config.campaign_uplift import load_campaign_config

    return validated_parameters(load_campaign_config, parameters)


def _uplift_validate(parameters: dict[str, Any]) -> Any:
    from liftlab.config.base import validated_parameters
    from liftlab.config.uplift import load_uplift_config

    return validated_parameters(load_uplift_config, parameters)


#: config-file prefix → pipeline. ``configs/ab_test_hillstrom.yaml`` belongs to ``ab_test``.
PIPELINES: dict[str, PipelineEntry] = {
    "ab_test": PipelineEntry("pipelines.ab_testing.ab_test_pipeline", _ab_validate),
    "training": PipelineEntry("pipelines.training.training_pipeline", _training_validate),
    "campaign_uplift": PipelineEntry(
        "pipelines.campaign_uplift.campaign_uplift_pipeline", _campaign_validate
    ),
    "uplift": PipelineEntry("pipelines.uplift_model.uplift_model_pipeline", _uplift_validate),
    "inference": PipelineEntry(
        "pipelines.batch_inference.batch_inference_pipeline", _inference_validate
    ),
}


def pipeline_for_config(path: Path) -> PipelineEntry:
    """The pipeline a config file belongs to, from its file name."""
    for prefix in sorted(PIPELINES, key=len, reverse=True):
        if path.stem == prefix or path.stem.startswith(prefix + "_"):
            return PIPELINES[prefix]
    raise ConfigError(
        f"cannot tell which pipeline {path.name} configures; name it after one of: "
        + ", ".join(f"{p}*.yaml" for p in PIPELINES)
    )


def load_pipeline(source: str) -> Any:
    module_name, _, attribute = source.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def check_run_config(path: str | Path, pipeline_source: str | None = None) -> dict[str, Any]:
    """Validate a run config file; return its parsed content or raise ConfigError listing every
    problem found (unknown keys, unknown step names, bad or missing parameters)."""
    from zenml.config.pipeline_run_configuration import PipelineRunConfiguration
    from zenml.config.step_configurations import StepConfigurationUpdate
    from zenml.steps import BaseStep

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")

    entry = (
        PipelineEntry(pipeline_source, lambda p: None)
        if pipeline_source
        else pipeline_for_config(path)
    )
    pipeline_obj = load_pipeline(entry.source)
    problems: list[str] = []

    allowed_top = set(PipelineRunConfiguration.model_fields)
    problems += [f"unknown top-level key {k!r}" for k in content if k not in allowed_top]

    module = importlib.import_module(pipeline_obj.entrypoint.__module__)
    step_names = {obj.name for obj in vars(module).values() if isinstance(obj, BaseStep)}
    allowed_step_keys = set(StepConfigurationUpdate.model_fields)
    for step_name, step_conf in (content.get("steps") or {}).items():
        if step_name not in step_names:
            problems.append(
                f"unknown step {step_name!r} under 'steps' (steps: {', '.join(sorted(step_names))})"
            )
        for key in step_conf or {}:
            if key not in allowed_step_keys:
                problems.append(f"unknown key {key!r} in the settings of step {step_name!r}")

    parameters = content.get("parameters") or {}
    signature = inspect.signature(pipeline_obj.entrypoint)
    for key in parameters:
        if key not in signature.parameters:
            problems.append(f"unknown parameter {key!r} (valid: {', '.join(signature.parameters)})")
    for name, param in signature.parameters.items():
        if param.default is inspect.Parameter.empty and name not in parameters:
            problems.append(f"missing required parameter {name!r}")
    if problems:
        raise ConfigError(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))

    try:
        entry.validate(dict(parameters))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return content
