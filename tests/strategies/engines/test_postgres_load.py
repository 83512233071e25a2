"""``copy_file_to_postgres`` (``liftlab load-table``): a file lands in PostgreSQL with its types
and values, an existing table is refused unless replaced, and a failure changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategies.engines.base import EngineSettings, SourceSpec
from strategies.engines.postgres_engine import PostgresEngine
from strategies.engines.postgres_load import copy_file_to_postgres, postgres_type
from strategies.errors import ConfigError, InputDataError


@pytest.fixture
def settings(postgres_url, monkeypatch) -> EngineSettings:
    monkeypatch.setenv("LIFTLAB_LOAD_TEST_PG", postgres_url)
    return EngineSettings(name="postgres", url_env="LIFTLAB_LOAD_TEST_PG")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": np.arange(5, dtype=np.int64),
            "Variant Label": ["A", "B", "A", None, "B"],
            "revenue": [0.0, 12.5, np.nan, 3.25, 1e-7],
            "converted": [True, False, True, False, True],
            "note": ["", 'say "hi"', "a,b", "ünï", "line"],
            "assigned_at": pd.to_datetime(["2026-01-05 10:00"] * 5),
        }
    )


def _read(settings: EngineSettings, table: str) -> pd.DataFrame:
    with PostgresEngine(settings) as engine:
        engine.register_source(SourceSpec(table=table))
        return engine.fetch('SELECT * FROM "source" ORDER BY "user_id"')


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_file_round_trips_with_types_and_awkward_values(settings, tmp_path, suffix) -> None:
    frame = _frame()
    path = tmp_path / f"events{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    table = f"events_{suffix[1:]}"
    assert copy_file_to_postgres(path, table, settings) == 5
    back = _read(settings, table)
    assert list(back.columns) == list(frame.columns)
    assert back["user_id"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(back["revenue"].to_numpy(), frame["revenue"].to_numpy())
    assert back["converted"].tolist() == frame["converted"].tolist()
    assert back["Variant Label"].isna().tolist() == [False, False, False, True, False]
    if suffix == ".parquet":  # CSV cannot tell an empty string from a missing one
        assert back["note"].tolist() == frame["note"].tolist()
    assert (pd.to_datetime(back["assigned_at"]) == pd.Timestamp("2026-01-05 10:00")).all()


def test_existing_table_is_refused_unless_replaced(settings, tmp_path) -> None:
    path = tmp_path / "events.parquet"
    _frame().to_parquet(path)
    copy_file_to_postgres(path, "events_twice", settings)
    with pytest.raises(ConfigError, match="already exists; pass --replace"):
        copy_file_to_postgres(path, "events_twice", settings)
    _frame().head(2).to_parquet(path)
    assert copy_file_to_postgres(path, "events_twice", settings, replace=True) == 2
    assert len(_read(settings, "events_twice")) == 2


def test_failed_load_leaves_the_old_table(settings, tmp_path) -> None:
    path = tmp_path / "events.parquet"
    _frame().to_parquet(path)
    copy_file_to_postgres(path, "events_kept", settings)
    with pytest.raises(InputDataError, match="loading .* into no_such_schema.t failed"):
        copy_file_to_postgres(path, "no_such_schema.t", settings, replace=True)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(InputDataError, match="could not read data file"):
        copy_file_to_postgres(bad, "events_kept", settings, replace=True)
    assert len(_read(settings, "events_kept")) == 5


def test_missing_url_names_the_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("LIFTLAB_NOT_SET_PG", raising=False)
    path = tmp_path / "events.parquet"
    _frame().to_parquet(path)
    with pytest.raises(ConfigError, match="LIFTLAB_NOT_SET_PG"):
        copy_file_to_postgres(
            path, "t", EngineSettings(name="postgres", url_env="LIFTLAB_NOT_SET_PG")
        )


def test_types_map_to_postgres() -> None:
    assert postgres_type("INTEGER") == "BIGINT"
    assert postgres_type("DECIMAL(18,3)") == "DOUBLE PRECISION"
    assert postgres_type("TIMESTAMP WITH TIME ZONE") == "TIMESTAMPTZ"
    assert postgres_type("STRUCT(a INTEGER)") == "TEXT"
