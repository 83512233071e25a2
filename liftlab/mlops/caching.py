"""Compile-time cache options for pipelines.

A pipeline function runs once when ZenML compiles it, with the user's parameters. Declaring the
input files there means a missing file fails before any step runs and an edited one is read again
instead of being served from a stale cache.

ZenML's cache key covers a step function's own source, not the code it calls; liftlab's steps
are thin and the statistics live in ``strategies/``, so after an upgrade a cached step would
serve numbers computed by the old engine. :func:`code_fingerprint` (a hash of liftlab's domain
and glue code) is therefore part of every cache key (:func:`cache_policy`, used by every
pipeline and by the per-step file-dependency options).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from liftlab.config.base import DataSource
from strategies.errors import InputDataError

_CODE_PACKAGES = ("strategies", "liftlab")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 over the Python sources of liftlab's packages (path and bytes, in sorted order)."""
    import importlib

    roots = [Path(importlib.import_module(name).__file__).parent for name in _CODE_PACKAGES]
    return fingerprint_of(roots)


def fingerprint_of(roots: list[Path]) -> str:
    """sha256 over every ``*.py`` file under ``roots`` (relative path and content)."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(str(path.relative_to(Path(root).parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_policy(file_dependencies: list[str] | None = None) -> Any:
    """ZenML's default cache policy plus liftlab's code fingerprint (and input files)."""
    from zenml.config.cache_policy import CachePolicy

    return CachePolicy(
        file_dependencies=file_dependencies,
        cache_func="liftlab.mlops.caching.code_fingerprint",
    )


def ingest_cache_options(source: DataSource) -> dict[str, Any]:
    """Step options for the ingest step.

    A file source is declared as a cache file dependency (its content is part of the cache key),
    so an edited file is read again. A SQL query may read any file and an engine's table can
    change behind liftlab's back, so those are never cached.
    """
    path, sql = source.resolved_data_path, source.sql or None
    if path is not None and not path.is_file():
        raise InputDataError(
            f"data file not found: {path} (set 'data_path' in the config){demo_data_hint([path])}"
        )
    if path is None or sql or source.table:
        return {"enable_cache": False}
    return {"cache_policy": cache_policy([str(path.resolve())])}


def file_cache_options(paths: list[Path]) -> dict[str, Any]:
    """Step options for a step that reads several files: each is a cache file dependency; a
    missing file is an error naming it (before any step runs)."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise InputDataError(f"data file(s) not found: {', '.join(missing)}{demo_data_hint(paths)}")
    return {"cache_policy": cache_policy([str(Path(p).resolve()) for p in paths])}


_DEMO_MAKERS = {
    "ab_events": "liftlab simulate",
    "ads": "liftlab simulate-ads",
    "ads_new": "liftlab simulate-ads --new",
    "campaigns": "liftlab simulate-campaigns",
    "ecommerce": "liftlab simulate-ecommerce",
    "mmm": "liftlab simulate-mmm",
    "mmm_confounded": "liftlab simulate-mmm --confounded --out data/demo/mmm_confounded",
}
_DEMO_FOLDERS = {"campaigns", "ecommerce", "mmm", "mmm_confounded"}
"""Demo data sets written as a folder of files: the folder names the command."""


def demo_data_hint(paths: list[Path]) -> str:
    """For missing demo data, ``; the demo data is made by `<command>` …`` (else ``""``)."""
    for path in paths:
        parts = Path(path).parts
        if "demo" in parts and "data" in parts:
            folder = Path(path).parent.name
            key = folder if folder in _DEMO_FOLDERS else Path(path).stem
            command = _DEMO_MAKERS.get(key)
            if command:
                also = "" if key == "mmm_confounded" else " (or `liftlab demo`)"
                return f"; the demo data is made by `{command}`{also}"
    return ""
