"""The one registration mechanism behind every strategy family chosen by name from YAML
(cleaning, features, splits, …): a class decorator that files the class under its ``name``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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
