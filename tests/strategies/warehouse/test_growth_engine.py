"""The growth warehouse in one engine session (issue #14 item 2): bronze → Great Expectations
suites → the analysis-ready table, audits and persona features, on DuckDB (files), PostgreSQL
(tables loaded with ``load_postgres_table``) and Spark (files), with the same result on all
three, equal to an independent pandas implementation; bad values named by table, column and
value; failed suites and errors leave no staged files.

The PostgreSQL and Spark tests use the shared fixtures of tests/services.py and skip, saying
what to install, when the server binaries, Java or pyspark are missing.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from strategies.engines.base import EngineSettings, SourceSpec
from strategies.errors import ConfigError, InputDataError
from strategies.growth.analysis_sql import ANALYSIS_COLUMNS, TABLES, feature_columns, result_rules
from strategies.validation import validate
from strategies.warehouse.growth_engine import (
    ANALYSIS_TABLE,
    RESULT_SUITE,
    GrowthWarehouse,
    build_growth_tables,
    warehouse_files,
    with_result_checks,
)
from tests.services import load_postgres_table
from tests.strategies.growth.test_analysis_sql import (
    assert_frames_match,
    hand_made_tables,
    pandas_analysis,
    pandas_features,
    random_tables,
)


def _write(folder: Path, frames: dict[str, pd.DataFrame]) -> dict[str, SourceSpec]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = {}
    for table, frame in frames.items():
        path = folder / f"{table}.csv"
        frame.to_csv(path, index=False)
        sources[table] = SourceSpec(path=str(path))
    return sources


def _run(
    engine: str, frames: dict[str, pd.DataFrame], folder: Path, request, **kwargs
) -> GrowthWarehouse:
    """Run the warehouse on ``engine``: CSV files for DuckDB and Spark, text tables in a
    schema of their own for PostgreSQL."""
    if engine == "postgres":
        url = request.getfixturevalue("postgres_url")
        request.getfixturevalue("monkeypatch").setenv("LIFTLAB_POSTGRES_URL", url)
        schema = f"growth_{folder.name.lower().replace('-', '_')}"
        for table, frame in frames.items():
            load_postgres_table(url, f"{schema}.{table}", frame.fillna("").astype(str))
        sources = {t: SourceSpec(table=f"{schema}.{t}") for t in frames}
        return build_growth_tables(EngineSettings(name="postgres"), sources, **kwargs)
    settings = request.getfixturevalue("spark_settings") if engine == "spark" else EngineSettings()
    return build_growth_tables(settings, _write(folder, frames), **kwargs)


def _outcomes(result: GrowthWarehouse) -> dict[str, list[tuple]]:
    return {
        table: [(o.expectation, o.column, o.success, o.unexpected_count) for o in r.outcomes]
        for table, r in result.validation.items()
    }


def _bronze(result: GrowthWarehouse) -> list[dict]:
    return [{k: v for k, v in a.items() if k != "file"} for a in result.bronze_audit]


def _failures(result: GrowthWarehouse) -> set[tuple[str, str, str, int]]:
    return {
        (table, o.expectation, o.column, o.unexpected_count)
        for table, report in result.validation.items()
        for o in report.failures()
    }


# --------------------------------------------------------------------------------------------
# DuckDB end to end on the hand-made tables
# --------------------------------------------------------------------------------------------

HAND_MADE_AUDITS = {
    "rows": 4,
    "feature_cutoff": "2026-03-02T00:00:00+00:00",
    "pre_period_days": 180,
    "assigned_users": {"E01": {"A": 2, "B": 1}, "E02": {"A": 1, "B": 0}},
    "users_in_both_arms": {"E01": 1, "E02": 0},
    "duplicate_exposure_rows": {"E01": 1, "E02": 0},
    "exposures_outside_window": {"E01": 1, "E02": 2},
    "exposures_without_session": {"E01": 0, "E02": 1},
    "sessions_before_exposure": {"E01": 2, "E02": 0},
    "null_flags": {"clicked": 1, "added_to_cart": 0, "purchased": 1},
    "orders_without_session": 5,
    "sessions_unknown_user": 0,
    "orders_unknown_user": 0,
}
"""Worked out by hand in tests/strategies/growth/test_analysis_sql.py (one rule per row)."""


def test_duckdb_builds_validates_audits_and_stages(tmp_path) -> None:
    frames = hand_made_tables()
    staging = tmp_path / "staging"
    result = build_growth_tables(
        EngineSettings(), _write(tmp_path / "raw", frames), staging_dir=staging
    )
    assert result.success
    assert set(result.validation) == {*TABLES, RESULT_SUITE}
    assert result.audits == HAND_MADE_AUDITS
    assert list(result.analysis.columns) == list(ANALYSIS_COLUMNS)
    assert_frames_match(result.analysis, pandas_analysis(frames))
    assert list(result.features.columns) == list(feature_columns())
    assert_frames_match(result.features, pandas_features(frames))
    assert str(result.analysis["first_exposure_at"].dt.tz) == "UTC"
    assert result.experiments["experiment_id"].tolist() == ["E01", "E02"]
    exposures = next(a for a in result.bronze_audit if a["table"] == "exposures")
    assert (exposures["rows"], exposures["exact_duplicate_rows"]) == (12, 1)
    # The row tables are staged as Parquet by DuckDB; the analysis file holds the frame's rows.
    files = warehouse_files(staging)
    assert result.staged == {name: str(path) for name, path in files.items()}
    assert all(path.is_file() for path in files.values())
    staged = duckdb.sql(f"SELECT * FROM '{files[ANALYSIS_TABLE]}' ORDER BY ALL").df()
    assert staged["user_id"].tolist() == result.analysis["user_id"].tolist()
    assert staged["revenue"].tolist() == result.analysis["revenue"].tolist()


# --------------------------------------------------------------------------------------------
# The same answer on every engine
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_frames() -> dict[str, pd.DataFrame]:
    return random_tables(seed=3, n_users=80, n_experiments=3)


@pytest.fixture(scope="module")
def duckdb_result(random_frames, tmp_path_factory) -> GrowthWarehouse:
    return build_growth_tables(
        EngineSettings(), _write(tmp_path_factory.mktemp("r"), random_frames)
    )


def test_duckdb_equals_the_pandas_implementation(random_frames, duckdb_result) -> None:
    assert duckdb_result.success
    assert_frames_match(duckdb_result.analysis, pandas_analysis(random_frames))
    assert_frames_match(duckdb_result.features, pandas_features(random_frames))
    assert sum(duckdb_result.audits["users_in_both_arms"].values()) > 0


@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_engines_agree_with_duckdb(engine, random_frames, duckdb_result, tmp_path, request) -> None:
    got = _run(engine, random_frames, tmp_path, request)
    assert got.success
    assert got.audits == duckdb_result.audits
    assert _outcomes(got) == _outcomes(duckdb_result)
    assert _bronze(got) == _bronze(duckdb_result)
    assert_frames_match(got.analysis, duckdb_result.analysis)
    assert_frames_match(got.features, duckdb_result.features)
    assert_frames_match(got.experiments, duckdb_result.experiments)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "table", "column", "value"),
    [
        ("duckdb", "orders", "amount", "12,50 EUR"),
        ("postgres", "orders", "amount", "12,50 EUR"),
        ("duckdb", "sessions", "clicked", "yes"),
        ("postgres", "sessions", "clicked", "yes"),
        # Spark parses like DuckDB (TRY_CAST); the first bronze table keeps its run short.
        ("spark", "users", "signup_at", "next week"),
    ],
)
def test_a_value_that_does_not_parse_names_table_column_and_value(
    engine, table, column, value, tmp_path, request
) -> None:
    """PostgreSQL has no TRY_CAST: there each parsed column is cast alone to find it."""
    frames = hand_made_tables()
    frames[table].loc[2, column] = value
    with pytest.raises(InputDataError, match=rf"{table}\.{column}: .*{value}"):
        _run(engine, frames, tmp_path, request)


def _broken_tables() -> dict[str, pd.DataFrame]:
    """The hand-made tables with one break per input rule."""
    frames = hand_made_tables()
    frames["users"].loc[5, "user_id"] = "u1"  # duplicate key
    frames["users"].loc[4, "device"] = "watch"  # not a contract device
    frames["experiments"].loc[1, "end_at"] = "2026-03-08T00:00:00+00:00"  # before start
    frames["experiments"].loc[0, "treatment"] = "A"  # = control (E01's "B" is no label now)
    frames["sessions"].loc[4, "clicked"] = "2"  # not a flag
    frames["sessions"].loc[5, "started_at"] = ""  # a session without a start
    frames["exposures"].loc[6, "variant"] = "C"  # no label of E01
    frames["orders"].loc[0, "amount"] = "0"  # not > 0
    frames["orders"].loc[1, "discount"] = "25"  # > amount 20
    frames["orders"].loc[3, "discount"] = "-1"  # negative
    return frames


BROKEN_FAILURES = {
    ("users", "expect_column_values_to_be_unique", "user_id", 2),
    ("users", "expect_column_values_to_be_in_set", "device", 1),
    ("experiments", "expect_column_values_to_be_in_set", "start_before_end", 1),
    ("experiments", "expect_column_values_to_be_in_set", "arms_differ", 1),
    ("sessions", "expect_column_values_to_be_in_set", "clicked", 1),
    ("sessions", "expect_column_values_to_not_be_null", "started_at", 1),
    # four B exposures of E01 (s4, s5, s8) plus the C one
    ("exposures", "expect_column_values_to_be_in_set", "variant_of_experiment", 4),
    ("orders", "expect_column_values_to_be_in_set", "amount_positive", 1),  # o1: 0
    ("orders", "expect_column_values_to_be_between", "discount", 1),
    ("orders", "expect_column_pair_values_a_to_be_greater_than_b", "discount <= amount", 2),
}


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_every_input_rule_is_enforced(engine, tmp_path, request) -> None:
    """DuckDB's SQL checks and GE on PostgreSQL find the same failures. (Spark runs the same
    check SQL through GE; its outcomes equal DuckDB's in test_engines_agree_with_duckdb, and a
    failing run is left out here only for time: GE on Spark costs seconds per table.)"""
    staging = tmp_path / "staging" if engine == "duckdb" else None
    result = _run(engine, _broken_tables(), tmp_path, request, staging_dir=staging)
    assert not result.success
    assert _failures(result) == BROKEN_FAILURES
    # Nothing is built from inputs that failed their suites, and nothing is left staged.
    assert (result.analysis, result.features, result.audits) == (None, None, {})
    assert staging is None or not staging.exists()


def test_failure_messages_name_column_and_examples(tmp_path) -> None:
    result = build_growth_tables(EngineSettings(), _write(tmp_path, _broken_tables()))
    exposures = result.validation["exposures"].failure_message()
    assert "variant_of_experiment" in exposures and "'E01: C'" in exposures
    orders = result.validation["orders"].failure_message()
    assert "must be > 0" in orders and "'o1'" in orders


def test_the_result_suite_catches_a_broken_table() -> None:
    """The analysis table's own suite (GE on the pandas frame): a duplicated key, a variant
    that is no label of its experiment, more clicks than sessions, a flag outside 0/1."""
    frames = hand_made_tables()
    analysis = pandas_analysis(frames)
    analysis["first_exposure_at"] = pd.to_datetime(analysis["first_exposure_at"], utc=True)
    analysis = pd.concat([analysis, analysis.iloc[[0]]], ignore_index=True)
    analysis.loc[1, "variant"] = "C"
    analysis.loc[2, "clicks"] = 3
    analysis.loc[3, "clicked"] = 2
    experiments = frames["experiments"][["experiment_id", "control", "treatment"]]
    report = validate(with_result_checks(analysis, experiments), result_rules())
    failed = {(o.column, o.unexpected_count) for o in report.failures()}
    assert failed == {
        ("experiment_user", 2),
        ("variant_of_experiment", 1),
        ("clicks <= sessions", 1),
        ("clicked", 1),
    }


def test_empty_orders_give_zeros_not_errors(tmp_path) -> None:
    frames = hand_made_tables()
    frames["orders"] = frames["orders"].iloc[0:0]
    result = build_growth_tables(EngineSettings(), _write(tmp_path, frames))
    assert result.success
    assert result.analysis["orders"].sum() == 0 and result.analysis["revenue"].sum() == 0
    assert result.analysis["sessions"].tolist() == [2, 1, 0, 1]
    assert result.features["has_history"].sum() == 0
    assert (result.features["recency_days"] == 181).all()
    assert next(a for a in result.bronze_audit if a["table"] == "orders")["rows"] == 0


def test_no_assigned_user_fails_the_result_suite_and_stages_nothing(tmp_path) -> None:
    frames = hand_made_tables()
    frames["exposures"]["exposed_at"] = "2026-04-30T00:00:00+00:00"  # after every window
    staging = tmp_path / "staging"
    result = build_growth_tables(EngineSettings(), _write(tmp_path, frames), staging_dir=staging)
    assert not result.success and len(result.analysis) == 0
    assert "no user was assigned" in result.validation[RESULT_SUITE].failure_message()
    # distinct exposures: E01's eight rows hold one exact duplicate
    assert result.audits["exposures_outside_window"] == {"E01": 7, "E02": 4}
    assert not staging.exists() and result.staged == {}


def test_missing_tables_columns_and_misplaced_staging_are_refused(tmp_path) -> None:
    frames = hand_made_tables()
    sources = _write(tmp_path / "raw", frames)
    with pytest.raises(ConfigError, match=r"missing table\(s\) \['orders'\]"):
        build_growth_tables(EngineSettings(), {t: s for t, s in sources.items() if t != "orders"})
    with pytest.raises(ConfigError, match="pre_period_days"):
        build_growth_tables(EngineSettings(), sources, pre_period_days=0)
    with pytest.raises(ConfigError, match="staging_dir is for engine duckdb"):
        build_growth_tables(EngineSettings(name="spark"), sources, staging_dir=tmp_path / "s")
    frames["exposures"] = frames["exposures"].drop(columns="variant")
    staging = tmp_path / "staging"
    with pytest.raises(InputDataError, match=r"exposures \(exposures\.csv\) lacks .*variant"):
        build_growth_tables(EngineSettings(), _write(tmp_path / "bad", frames), staging_dir=staging)
    assert not staging.exists()
