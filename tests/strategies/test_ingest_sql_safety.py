"""Config SQL is untrusted (DESIGN.md §7): one read-only query that may read only the declared
data file and ``allowed_paths``; everything else is refused with an error naming what was found."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from liftlab.config.base import DataSource, DataSourceConfig, load_config
from strategies.errors import ConfigError
from strategies.ingest import load_source, load_table


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "events.csv").write_text("user_id,variant,clicks\nu1,A,1\nu2,B,2\n")
    (folder / "users.csv").write_text("user_id,country\nu1,DE\nu2,FR\n")
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.csv").write_text("token\nhunter2\n")
    return folder


# --- statement kinds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("COPY (SELECT 1 AS a) TO '{out}'", "COPY"),
        ("ATTACH '{out}.db' AS other", "ATTACH"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("CREATE TABLE t AS SELECT 1 AS a", "CREATE"),
        ("CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE"),
        ("PRAGMA version", "PRAGMA"),
        ("SET enable_external_access = true", "SET"),
        ("EXPORT DATABASE '{out}'", "EXPORT"),
        ("CALL pragma_version()", "CALL"),
        ("WITH t AS (SELECT 1 AS a) INSERT INTO x SELECT * FROM t", "INSERT"),
    ],
)
def test_non_select_statements_are_refused(tmp_path: Path, sql: str, found: str) -> None:
    out = tmp_path / "written.csv"
    with pytest.raises(ConfigError, match=rf"one read-only SELECT.*found {found}\b"):
        load_table(sql=sql.format(out=out))
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_copy_over_declared_source_is_refused_and_writes_nothing(data_dir: Path) -> None:
    out = data_dir / "copy.csv"
    with pytest.raises(ConfigError, match="found COPY"):
        load_source(data_dir / "events.csv", sql=f"COPY source TO '{out}'")
    assert not out.exists()


def test_several_statements_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"exactly one.*found 2 statements \(SELECT, SELECT\)"):
        load_table(sql="SELECT 1 AS a; SELECT 2 AS b")
    with pytest.raises(ConfigError, match=r"found 2 statements \(SET, SELECT\)"):
        load_table(sql="SET threads = 1; SELECT 1 AS a")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 AS a",
        "SELECT 1 AS a;",
        "  -- a comment\nWITH t AS (SELECT 1 AS a) SELECT * FROM t",
        "FROM (VALUES (1)) t(a)",
        "VALUES (1)",
        "SELECT 1 AS a UNION ALL SELECT 2",
    ],
)
def test_read_only_query_forms_are_accepted(sql: str) -> None:
    assert len(load_table(sql=sql)) >= 1


# --- what a query may read ---------------------------------------------------------------------


def test_system_files_are_refused() -> None:
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
    ):
        with pytest.raises(ConfigError, match="may read only"):
            load_table(sql=sql)


def test_source_query_cannot_read_files_next_to_or_outside_the_data_file(
    data_dir: Path, outside: Path
) -> None:
    events = data_dir / "events.csv"
    with pytest.raises(ConfigError, match=r"may read only .*events\.csv.*Permission"):
        load_source(events, sql=f"SELECT * FROM read_csv('{outside / 'secret.csv'}')")
    # A sibling of the data file is not declared, and ``..`` does not escape a folder either.
    with pytest.raises(ConfigError, match="may read only"):
        load_source(events, sql=f"SELECT * FROM read_csv('{data_dir / 'users.csv'}')")
    with pytest.raises(ConfigError, match="may read only"):
        load_source(
            events,
            sql=f"SELECT * FROM read_csv('{data_dir}/../elsewhere/secret.csv')",
            allowed_paths=[data_dir],
        )


def test_declared_source_data_file_and_allowed_folder_are_readable(
    data_dir: Path, outside: Path
) -> None:
    events = data_dir / "events.csv"
    df = load_source(events, sql="SELECT * FROM source WHERE clicks > 1")
    assert df["user_id"].tolist() == ["u2"]
    # The data file by its own path works too.
    assert len(load_source(events, sql=f"SELECT * FROM read_csv('{events}')")) == 2
    joined = load_source(
        events,
        sql=f"SELECT s.user_id, u.country FROM source s JOIN read_csv('{data_dir}/users.csv') u "
        "USING (user_id) ORDER BY 1",
        allowed_paths=[data_dir],
    )
    assert joined["country"].tolist() == ["DE", "FR"]
    # An allowed folder does not open the folder next to it.
    with pytest.raises(ConfigError, match="may read only"):
        load_source(
            events,
            sql=f"SELECT * FROM read_csv('{outside}/secret.csv')",
            allowed_paths=[data_dir],
        )


def test_sql_only_source_reads_only_allowed_paths(data_dir: Path, outside: Path) -> None:
    users = data_dir / "users.csv"
    with pytest.raises(ConfigError, match=r"may read only .*no files"):
        load_table(sql=f"SELECT * FROM read_csv('{users}')")
    assert len(load_table(sql=f"SELECT * FROM read_csv('{users}')", allowed_paths=[users])) == 2
    with pytest.raises(ConfigError, match="may read only"):
        load_table(sql=f"SELECT * FROM read_csv('{outside / 'secret.csv'}')", allowed_paths=[users])


def test_allowed_path_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"allowed_paths.*not found.*nope"):
        load_table(sql="SELECT 1 AS a", allowed_paths=[tmp_path / "nope"])


def test_query_cannot_see_python_variables() -> None:
    secret_frame = pd.DataFrame({"token": ["hunter2"]})  # noqa: F841 - the query must not see it
    with pytest.raises(ConfigError, match="secret_frame"):
        load_table(sql="SELECT * FROM secret_frame")


def test_query_cannot_reopen_its_sandbox() -> None:
    with pytest.raises(ConfigError, match="found SET"):
        load_table(sql="SET lock_configuration = false")
    with pytest.raises(ConfigError, match="may read only"):
        load_table(
            sql="SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')",
        )


# --- config -------------------------------------------------------------------------------------


def test_config_allowed_paths_expand_and_travel_with_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFTLAB_TEST_DATA", str(tmp_path))
    cfg = load_config(
        DataSourceConfig,
        {"sql": "SELECT 1 AS a", "allowed_paths": ["${LIFTLAB_TEST_DATA}/x.csv"]},
        "config",
    )
    assert cfg.resolved_allowed_paths == [tmp_path / "x.csv"]
    assert cfg.source == DataSource(
        sql="SELECT 1 AS a", allowed_paths=["${LIFTLAB_TEST_DATA}/x.csv"]
    )
    assert cfg.source.allowed_paths == cfg.allowed_paths


def test_config_refuses_allowed_paths_without_sql() -> None:
    with pytest.raises(ConfigError, match="allowed_paths.*only.*sql"):
        load_config(DataSourceConfig, {"data_path": "x.csv", "allowed_paths": ["y"]}, "config")
