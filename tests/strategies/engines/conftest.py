"""Shared engine fixtures: the same awkward data on DuckDB (Parquet), PostgreSQL (a table loaded
with COPY) and Spark (the same Parquet file), one session per engine per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategies.engines import EngineSettings, SourceSpec, SqlEngine, open_engine
from tests.services import load_postgres_table

PG_URL_ENV = "LIFTLAB_TEST_POSTGRES_URL"


def awkward_frame() -> pd.DataFrame:
    """40 rows + one exact duplicate: NULLs, ties, quotes, capitals, spaces and unicode."""
    rng = np.random.default_rng(7)
    n = 40
    revenue = np.round(rng.gamma(2.0, 10.0, n), 1)
    revenue[[3, 11, 25]] = np.nan  # missing values
    revenue[[5, 6, 30]] = 12.5  # ties
    frame = pd.DataFrame(
        {
            "User ID": np.arange(1000, 1000 + n, dtype=np.int64),
            "Group": np.where(np.arange(n) % 2 == 0, "Control", "Tréatment 'B'"),
            # Both groups get every segment, the NULL one included.
            "segment": pd.Series(
                [["EU", "US", None, "日本"][(i // 2) % 4] for i in range(n)], dtype=object
            ),
            "Revenue (EUR)": revenue,
            "clicks": rng.integers(0, 5, n).astype(np.int64),
            "label": pd.Series(["  Yes ", "yes", "NO", None, "it's"] * (n // 5), dtype=object),
            "ts": pd.Timestamp("2024-03-01 05:00") + pd.to_timedelta(np.arange(n) * 17, unit="h"),
        }
    )
    return pd.concat([frame, frame.iloc[[7]]], ignore_index=True)


@pytest.fixture(scope="session")
def awkward_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engine-data") / "awkward.parquet"
    awkward_frame().to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def awkward_postgres(postgres_url: str) -> str:
    """The test server's URL, its table ``public."Awkward Data"`` holding the awkward frame."""
    load_postgres_table(postgres_url, "public.Awkward Data", awkward_frame())
    return postgres_url


def _open(name: str, request: pytest.FixtureRequest, parquet: Path) -> SqlEngine:
    if name == "duckdb":
        engine = open_engine(EngineSettings(name="duckdb"))
        engine.register_source(SourceSpec(path=str(parquet)))
    elif name == "postgres":
        url = request.getfixturevalue("awkward_postgres")
        os.environ[PG_URL_ENV] = url
        engine = open_engine(EngineSettings(name="postgres", url_env=PG_URL_ENV))
        engine.register_source(SourceSpec(table="public.Awkward Data"))
    else:
        engine = open_engine(request.getfixturevalue("spark_settings"))
        engine.register_source(SourceSpec(path=str(parquet)))
    return engine


@pytest.fixture(scope="module", params=["duckdb", "postgres", "spark"])
def engine(request: pytest.FixtureRequest, awkward_parquet: Path) -> Iterator[SqlEngine]:
    """Each engine in turn, its ``source`` holding :func:`awkward_frame`."""
    eng = _open(request.param, request, awkward_parquet)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def all_engines(
    request: pytest.FixtureRequest, awkward_parquet: Path
) -> Iterator[dict[str, SqlEngine]]:
    """All three engines at once (skips when PostgreSQL or Spark is unavailable)."""
    engines: dict[str, SqlEngine] = {}
    try:
        for name in ("duckdb", "postgres", "spark"):
            engines[name] = _open(name, request, awkward_parquet)
        yield engines
    finally:
        for eng in engines.values():
            eng.close()
