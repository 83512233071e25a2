"""Strict run configs under ``zenml pipeline run`` too: :func:`strict_pipeline` is ZenML's
``@pipeline`` whose pipelines check their run config with liftlab's checker while compiling.

ZenML (0.98) is lenient with a run config file: it drops unknown top-level keys
(``paramters:``), only *warns* about settings for a step name that does not exist, and reports an
unknown parameter with a generic pydantic error. ``liftlab run`` and ``liftlab check-config``
check the file first (:func:`liftlab.config.registry.check_run_config`); this module makes the
same check happen whichever entry point compiles the pipeline.

How: ``zenml pipeline run SOURCE -c FILE`` does ``pipeline.with_options(config_path=FILE)()``,
which calls :meth:`Pipeline.prepare` (merge the file's parameters, validate them against the
signature, call the pipeline function to collect its steps) and then compiles and runs.
:class:`StrictPipeline` overrides the public ``prepare`` and, before ZenML does anything with the
file, validates it with liftlab's checker: unknown top-level keys, unknown step names, unknown
step settings, unknown, missing or invalid parameters, each named in one ConfigError. Keyword
arguments given in code are checked against the signature the same way. ZenML exposes the
config path only as the pipeline's run arguments (``_run_args["config_path"]``, set by
``with_options``; there is no public accessor in 0.98): :func:`config_path_of` is the one
place that reads it, and a test fails if a ZenML upgrade moves it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from zenml.pipelines.pipeline_definition import Pipeline

from liftlab.config.registry import check_run_config
from strategies.errors import ConfigError

__all__ = ["StrictPipeline", "config_path_of", "strict_pipeline"]

F = TypeVar("F", bound=Callable[..., Any])


def config_path_of(pipeline: Pipeline) -> str | None:
    """The run config file ZenML was given (``with_options(config_path=...)``, which is what
    ``zenml pipeline run -c`` does), or None."""
    run_args = getattr(pipeline, "_run_args", None)
    if not isinstance(run_args, Mapping):  # pragma: no cover - guards a ZenML upgrade
        raise RuntimeError(
            "this ZenML version keeps no run arguments on the pipeline; liftlab cannot find the "
            "config file to check (see liftlab/config/zenml_run.py)"
        )
    path = run_args.get("config_path")
    return str(path) if path else None


def _check_code_kwargs(pipeline: Pipeline, kwargs: Mapping[str, Any]) -> None:
    parameters = inspect.signature(pipeline.entrypoint).parameters
    unknown = [k for k in kwargs if k not in parameters]
    if unknown:
        raise ConfigError(
            f"pipeline {pipeline.name!r}: "
            + "; ".join(f"unknown parameter {k!r}" for k in unknown)
            + f" (valid: {', '.join(parameters)})"
        )


class StrictPipeline(Pipeline):
    """A ZenML pipeline that refuses a run config with unknown keys, step names or parameters
    (liftlab's messages) before ZenML merges, validates or drops anything."""

    def prepare(self, *args: Any, **kwargs: Any) -> None:
        path = config_path_of(self)
        if path is not None:
            entrypoint = self.entrypoint
            check_run_config(path, f"{entrypoint.__module__}.{entrypoint.__name__}")
        _check_code_kwargs(self, kwargs)
        super().prepare(*args, **kwargs)


def strict_pipeline(**options: Any) -> Callable[[F], StrictPipeline]:
    """``@strict_pipeline(cache_policy=...)``: ZenML's ``@pipeline(...)`` (static pipelines;
    same options) building a :class:`StrictPipeline`."""

    def wrap(func: F) -> StrictPipeline:
        rest = {k: v for k, v in options.items() if k != "name"}
        return StrictPipeline(name=options.get("name") or func.__name__, entrypoint=func, **rest)

    return wrap
