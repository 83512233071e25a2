"""Compile-time cache options for pipelines.

A pipeline function runs once when ZenML compiles it, with the user's parameters. Declaring the
input files there means a missing file fails before any step runs and an edited one is read again
instead of being served from a stale cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liftlab.config.base import DataSource
from strategies.errors import InputDataError


def ingest_cache_options(source: DataSource) -> dict[str, Any]:
    """Step options for the ingest step.

    A file source is declared as a cache file dependency (its content is part of the cache key),
    so an edited file is read again. A SQL source may read any file, so it is never cached.
    """
    from zenml.config.cache_policy import CachePolicy

    path, sql = source.resolved_data_path, source.sql or None
    if path is not None and not path.is_file():
        raise InputDataError(
            f"data file not found: {path} (set 'data_path' in the config){_demo_hint([path])}"
        )
    if path is None or sql:
        return {"enable_cache": False}
    return {"cache_policy": CachePolicy(file_dependencies=[str(path.resolve())])}


def file_cache_options(paths: list[Path]) -> dict[str, Any]:
    """Step options for a step that reads several files: each is a cache file dependency; a
    missing file is an error naming it (before any step runs)."""
    from zenml.config.cache_policy import CachePolicy

    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise InputDataError(f"data file(s) not found: {', '.join(missing)}{_demo_hint(paths)}")
    return {"cache_policy": CachePolicy(file_dependencies=[str(Path(p).resolve()) for p in paths])}


_DEMO_MAKERS = {
    "ab_events": "liftlab simulate",
    "ads": "liftlab simulate-ads",
    "ads_new": "liftlab simulate-ads --new",
    "campaigns": "liftlab simulate-campaigns",
}


def _demo_hint(paths: list[Path]) -> str:
    """For missing demo data, the command that writes it."""
    for path in paths:
        parts = Path(path).parts
        if "demo" in parts and "data" in parts:
            key = (
                Path(path).parent.name if Path(path).parent.name == "campaigns" else Path(path).stem
            )
            command = _DEMO_MAKERS.get(key)
            if command:
                return f"; the demo data is made by `{command}` (or `liftlab demo`)"
    return ""
