"""Small helpers every simulator shares: checking option values, seeded random streams, UTC
timestamps as ISO text and JSON-safe truth files. One home, so the simulators check and write
the same way."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from strategies.errors import ConfigError

__all__ = [
    "iso_utc",
    "is_int",
    "is_number",
    "json_safe",
    "parse_instant",
    "rng_stream",
    "write_files",
]


def parse_instant(name: str, value: Any) -> datetime:
    """A UTC ``datetime`` (whole seconds) from a datetime, Timestamp or ISO string (naive means
    UTC); anything else is a ConfigError naming the option."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT or not isinstance(ts, pd.Timestamp):
        raise ConfigError(
            f"{name} must be a datetime or an ISO-8601 string like '2026-03-02T09:00:00+00:00', "
            f"got {value!r}"
        )
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.floor("s").to_pydatetime()


def is_int(value: Any) -> bool:
    """A whole number that is not a bool (``True`` is an int in Python, never an option value)."""
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def is_number(value: Any) -> bool:
    """A finite real number that is not a bool."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float | np.integer | np.floating)
        and math.isfinite(float(value))
    )


def rng_stream(seed: int, *stream: int) -> np.random.Generator:
    """An independent random stream per purpose: changing how one table is drawn never shifts
    the draws of another (same seed, same data)."""
    return np.random.default_rng([seed, *stream])


def iso_utc(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds → ``2026-03-02T09:00:00+00:00`` strings (object array)."""
    text = np.datetime_as_string(np.asarray(seconds, dtype=np.int64).astype("datetime64[s]"))
    return np.char.add(text, "+00:00").astype(object)


def json_safe(obj: Any) -> Any:
    """Mappings, sequences, datetimes and numpy scalars as plain JSON values (truth files)."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def write_files(folder: str | Path, contents: Mapping[str, str]) -> dict[str, Path]:
    """Write ``{file name: text}`` into ``folder``, all or nothing: every file goes to a
    temporary folder beside them first and is moved in only when all are complete, so a failure
    leaves no half-written data (or data without its truth) behind (DESIGN §7). Returns the
    written paths keyed by file name."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"cannot write the simulated data into {str(folder)!r}: not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".simulated-", dir=folder))
    try:
        for name, text in contents.items():
            with open(staging / name, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        written = {}
        for name in contents:
            os.replace(staging / name, folder / name)
            written[name] = folder / name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
