"""The one registration mechanism behind every strategy family chosen by name from YAML
(cleaning, features, splits, …): a class decorator that files the class under its ``name``."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from strategies.errors import ConfigError

_C = TypeVar("_C", bound=type)


def registrar(registry: dict[str, Any], kind: str) -> Callable[[_C], _C]:
    """A decorator that adds a strategy class to ``registry`` under its ``name`` attribute;
    registering a name twice is a programming error and fails at import time."""

    def register(cls: _C) -> _C:
        name = cls.name  # type: ignore[attr-defined]
        if name in registry:
            raise RuntimeError(f"{kind} {name!r} registered twice")
        registry[name] = cls
        return cls

    return register


def resolve_spec(
    registry: Mapping[str, type],
    spec: object,
    *,
    kind: str,
    position: int | None = None,
) -> tuple[type, dict[str, Any]]:
    """Check one config entry ``{"name": ..., **params}`` against ``registry`` and return the
    strategy class and its parameters.

    Every strategy family resolves its YAML the same way, so a typo gets the same kind of
    message everywhere: unknown names list the valid ones, unknown parameters list the valid
    parameters (the class's dataclass fields, or its ``__init__`` arguments for a strategy that
    is an sklearn estimator), and missing required parameters are named.
    """
    where = f"{kind} #{position + 1}" if position is not None else kind
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping with a 'name', got {spec!r}")
    params = dict(spec)
    name = params.pop("name", None)
    valid = ", ".join(sorted(registry))
    if name is None:
        raise ConfigError(f"{where} has no 'name' (valid names: {valid})")
    if name not in registry:
        raise ConfigError(f"unknown {kind} {name!r} (valid names: {valid})")
    cls = registry[name]
    fields = _parameters(cls)
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ConfigError(
            f"{kind} {name!r} got unknown parameter(s) {', '.join(map(repr, unknown))} "
            f"(valid parameters: {', '.join(sorted(fields)) or 'none'})"
        )
    missing = [field for field, required in fields.items() if required and field not in params]
    if missing:
        raise ConfigError(
            f"{kind} {name!r} is missing required parameter(s) {', '.join(map(repr, missing))}"
        )
    return cls, params


def _parameters(cls: type) -> dict[str, bool]:
    """Parameter name -> required, for a dataclass strategy or an sklearn-style one (whose
    ``__init__`` arguments are its parameters, by sklearn's estimator contract)."""
    if dataclasses.is_dataclass(cls):
        return {
            f.name: f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for f in dataclasses.fields(cls)
        }
    arguments = list(inspect.signature(cls.__init__).parameters.values())[1:]  # drop self
    return {
        a.name: a.default is inspect.Parameter.empty
        for a in arguments
        if a.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }
