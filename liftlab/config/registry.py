"""Every pipeline with its config (:data:`PIPELINES`), and strict checks of ZenML run-config YAML
files against the pipeline they configure.

:data:`PIPELINES` is the one table a reader needs: config-file prefix, typed config class, its
load function and the pipeline's source, for each job.

ZenML ignores unknown top-level keys and only *warns* about settings for a step name that does
not exist, so ``paramters:`` or a misspelt step name would silently run with defaults. liftlab
treats every such slip as an error: this module is used by ``liftlab check-config``, by
``liftlab run`` before a run, and by a test over every registered pipeline and shipped config.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from liftlab.config.ab_testing import ABTestConfig, load_ab_config
from liftlab.config.base import StrictModel, did_you_mean, owning_prefix
from liftlab.config.campaign_uplift import CampaignUpliftConfig, load_campaign_config
from liftlab.config.growth_analytics import GrowthAnalyticsConfig, load_growth_config
from liftlab.config.inference import InferenceConfig, load_inference_config
from liftlab.config.marketing_mix import MarketingMixConfig, load_marketing_mix_config
from liftlab.config.training import TrainingConfig, load_training_config
from liftlab.config.uplift import UpliftModelConfig, load_uplift_config
from strategies.errors import ConfigError


@dataclass(frozen=True)
class PipelineEntry:
    """One pipeline: the config files it reads, its typed config and where its code is."""

    prefix: str
    """Config-file prefix: ``configs/<prefix>.yaml`` and ``configs/<prefix>_*.yaml``."""
    config_class: type[StrictModel]
    """The typed config whose fields are the pipeline's parameters, one to one."""
    load: Callable[[Mapping[str, Any]], StrictModel]
    """Validates raw parameters into ``config_class`` or raises a ConfigError naming each bad
    key (a ``load_xxx_config`` over :func:`liftlab.config.base.load_config`)."""
    source: str
    """The pipeline as importable ``module.attribute``, as ``zenml pipeline run`` takes it (a
    string: liftlab never imports pipelines)."""

    def config(self, parameters: Mapping[str, Any]) -> StrictModel:
        """The typed config of a run with these parameters. Unset (None) parameters are left
        out, as the pipeline function does, so the model's defaults apply."""
        return self.load({k: v for k, v in parameters.items() if v is not None})


#: Every pipeline, in one place: (config-file prefix, config class, load function, pipeline).
#: ``configs/ab_test_hillstrom.yaml`` belongs to ``ab_test``.
PIPELINES: tuple[PipelineEntry, ...] = (
    PipelineEntry("ab_test", ABTestConfig, load_ab_config, "pipelines.ab_testing.ab_test_pipeline"),
    PipelineEntry(
        "training", TrainingConfig, load_training_config, "pipelines.training.training_pipeline"
    ),
    PipelineEntry(
        "campaign_uplift",
        CampaignUpliftConfig,
        load_campaign_config,
        "pipelines.campaign_uplift.campaign_uplift_pipeline",
    ),
    PipelineEntry(
        "uplift",
        UpliftModelConfig,
        load_uplift_config,
        "pipelines.uplift_model.uplift_model_pipeline",
    ),
    PipelineEntry(
        "inference",
        InferenceConfig,
        load_inference_config,
        "pipelines.batch_inference.batch_inference_pipeline",
    ),
    PipelineEntry(
        "marketing_mix",
        MarketingMixConfig,
        load_marketing_mix_config,
        "pipelines.marketing_mix.marketing_mix_pipeline",
    ),
    PipelineEntry(
        "growth_analytics",
        GrowthAnalyticsConfig,
        load_growth_config,
        "pipelines.growth_analytics.growth_analytics_pipeline",
    ),
)


def pipeline_for_config(path: Path) -> PipelineEntry:
    """The pipeline a config file belongs to, from its file name (the longest matching prefix
    wins: ``campaign_uplift_x.yaml`` is a campaign config, not an ``uplift`` one)."""
    prefix = owning_prefix(path.stem, (e.prefix for e in PIPELINES))
    for entry in PIPELINES:
        if entry.prefix == prefix:
            return entry
    raise ConfigError(
        f"cannot tell which pipeline {path.name} configures; name it after one of: "
        + ", ".join(f"{e.prefix}*.yaml" for e in PIPELINES)
    )


def pipeline_for_source(source: str) -> PipelineEntry | None:
    """The registered pipeline at ``source`` (``module.attribute``), or None."""
    return next((e for e in PIPELINES if e.source == source), None)


def load_pipeline(source: str) -> Any:
    module_name, _, attribute = source.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def check_run_config(
    path: str | Path, pipeline_source: str | None = None, *, check_files: bool = False
) -> dict[str, Any]:
    """Validate a run config file; return its parsed content or raise ConfigError listing every
    problem found, all in one report: unknown keys and step names (with the closest valid name),
    bad or missing parameters and, with ``check_files``, input files that do not exist (which
    the pipeline would refuse at once; ``liftlab run`` leaves that check to the pipeline)."""
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

    entry = pipeline_for_source(pipeline_source) if pipeline_source else pipeline_for_config(path)
    pipeline_obj = load_pipeline(pipeline_source or entry.source)
    problems: list[str] = []

    allowed_top = set(PipelineRunConfiguration.model_fields)
    problems += [
        f"unknown top-level key {k!r}{did_you_mean(k, allowed_top)}"
        for k in content
        if k not in allowed_top
    ]

    module = importlib.import_module(pipeline_obj.entrypoint.__module__)
    step_names = {obj.name for obj in vars(module).values() if isinstance(obj, BaseStep)}
    allowed_step_keys = set(StepConfigurationUpdate.model_fields)
    for step_name, step_conf in (content.get("steps") or {}).items():
        if step_name not in step_names:
            hint = did_you_mean(step_name, step_names)
            problems.append(
                f"unknown step {step_name!r} under 'steps'{hint}"
                + ("" if hint else f" (steps: {', '.join(sorted(step_names))})")
            )
        for key in step_conf or {}:
            if key not in allowed_step_keys:
                problems.append(
                    f"unknown key {key!r}{did_you_mean(key, allowed_step_keys)} in the settings "
                    f"of step {step_name!r}"
                )

    parameters = content.get("parameters") or {}
    signature = inspect.signature(pipeline_obj.entrypoint)
    for key in parameters:
        if key not in signature.parameters:
            hint = did_you_mean(key, signature.parameters)
            problems.append(
                f"unknown parameter {key!r}{hint}"
                + ("" if hint else f" (valid: {', '.join(signature.parameters)})")
            )
    missing = [
        name
        for name, param in signature.parameters.items()
        if param.default is inspect.Parameter.empty and name not in parameters
    ]
    problems += [f"missing required parameter {name!r}" for name in missing]

    if entry is not None:  # liftlab's own pipeline: its typed config and its input files too
        known = {k: v for k, v in parameters.items() if k in signature.parameters}
        try:
            typed = entry.config(known)
        except ConfigError as exc:
            problems += _typed_problems(str(exc), skip_required=missing)
            # the files can still be checked on the raw values (defaults filled, unvalidated)
            typed = entry.config_class.model_construct(**known)
        if check_files:
            problems += _missing_files(typed)
    if problems:
        raise ConfigError(f"{path}:\n" + "\n".join(f"  - {p}" for p in problems))
    return content


def _typed_problems(message: str, skip_required: list[str]) -> list[str]:
    """The problem lines of a typed config's error (its ``  - key: message`` lines), without
    the "Field required" lines of parameters already reported missing."""
    lines = [ln.strip().removeprefix("- ") for ln in message.splitlines()[1:] if ln.strip()]
    if not lines:
        return [message]
    return [
        ln for ln in lines if not any(ln == f"{name}: Field required" for name in skip_required)
    ]


def _missing_files(config: StrictModel) -> list[str]:
    from liftlab.mlops.caching import demo_data_hint

    try:
        files = input_files(config)
    except Exception:  # noqa: BLE001 - values too broken to name files; reported above
        return []
    missing = [p for p in files if not p.is_file()]
    where = f" (relative paths are read from {Path.cwd()})"
    return [f"data file not found: {p}{where}{demo_data_hint([p])}" for p in missing]


def input_files(config: StrictModel) -> list[Path]:
    """The files a run of ``config`` reads, as its pipeline resolves them (relative to the
    working directory): every table of a table set, or the ``data_path`` of a one-table
    source, and a marketing mix's ``lift_tests``. The pipeline itself refuses to start when
    one is missing (:mod:`liftlab.mlops.caching`); ``check-config`` reports them up front."""
    files: list[Path] = []
    if hasattr(config, "table_paths"):
        files += list(config.table_paths().values())
    elif getattr(config, "resolved_data_path", None) is not None:
        files.append(config.resolved_data_path)
    lift_tests = getattr(config, "resolved_lift_tests", None)
    if lift_tests is not None and lift_tests() is not None:
        files.append(lift_tests())
    return files


def entry_for_pipeline(name: str) -> PipelineEntry:
    """The pipeline named by a user: its config prefix (``ab_test``), its ZenML name
    (``ab_test_pipeline``) or its source (``pipelines.ab_testing.ab_test_pipeline``)."""
    for entry in PIPELINES:
        short = entry.source.rsplit(".", 1)[-1]
        if name in (entry.prefix, short, short.removesuffix("_pipeline"), entry.source):
            return entry
    prefixes = [e.prefix for e in PIPELINES]
    raise ConfigError(
        f"unknown pipeline {name!r}{did_you_mean(name, prefixes)}; one of: {', '.join(prefixes)}"
    )
