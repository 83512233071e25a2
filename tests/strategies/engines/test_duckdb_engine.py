"""DuckDB engine: files read in place, the config-SQL sandbox, memory limit and spill folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from strategies.engines import EngineSettings, SourceSpec, open_engine
from strategies.engines.duckdb_engine import DuckDBEngine
from strategies.errors import ConfigError, InputDataError


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    frame = pd.DataFrame({"unit": [1, 2, 3], "Revenue (EUR)": [1.5, None, 3.0]})
    paths = {
        "parquet": tmp_path / "data.parquet",
        "csv": tmp_path / "data.csv",
        "gz": tmp_path / "data.csv.gz",
        "other": tmp_path / "secret.csv",
    }
    frame.to_parquet(paths["parquet"], index=False)
    frame.to_csv(paths["csv"], index=False)
    with gzip.open(paths["gz"], "wt") as fh:
        frame.to_csv(fh, index=False)
    pd.DataFrame({"password": ["hunter2"]}).to_csv(paths["other"], index=False)
    return paths


@pytest.mark.parametrize("kind", ["parquet", "csv", "gz"])
def test_file_source_is_a_lazy_view(files: dict[str, Path], kind: str) -> None:
    with DuckDBEngine() as eng:
        eng.register_source(SourceSpec(path=str(files[kind])))
        kinds = eng._con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = 'source'"
        ).fetchall()
        assert kinds == [("VIEW",)]  # a scan of the file, not a copy in memory
        got = eng.fetch('SELECT SUM("Revenue (EUR)") AS s, COUNT(*) AS n FROM source')
    assert got.to_dict("records") == [{"s": 4.5, "n": 3}]


def test_duplicate_header_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("unit,Revenue,revenue\n1,2,3\n")
    with DuckDBEngine() as eng, pytest.raises(InputDataError, match="duplicate column"):
        eng.register_source(SourceSpec(path=str(path)))


def test_table_source_refused() -> None:
    with DuckDBEngine() as eng, pytest.raises(ConfigError, match="table= needs postgres or spark"):
        eng.register_source(SourceSpec(table="sales"))


def test_sql_source_reads_declared_file(files: dict[str, Path]) -> None:
    sql = f"SELECT * FROM read_parquet('{files['parquet']}') WHERE unit > 1"
    with DuckDBEngine() as eng:
        eng.register_source(SourceSpec(sql=sql, allowed_paths=(str(files["parquet"]),)))
        assert eng.fetch("SELECT COUNT(*) AS n FROM source")["n"].tolist() == [2]


@pytest.mark.parametrize(
    ("make_sql", "error"),
    [
        (lambda f: f"SELECT * FROM read_csv('{f['other']}')", "may read only the declared"),
        (lambda f: f"COPY (SELECT 1) TO '{f['other'].parent / 'out.csv'}'", "found COPY"),
        (lambda f: f"ATTACH '{f['other'].parent / 'x.duckdb'}'", "found ATTACH"),
        (lambda f: "SET enable_external_access = true", "found SET"),
        (lambda f: "SELECT 1; SELECT 2", "2 statements"),
    ],
)
def test_sandbox_refusals(files: dict[str, Path], make_sql, error: str) -> None:
    sql = make_sql(files)
    with DuckDBEngine() as eng, pytest.raises(ConfigError, match=error):
        eng.register_source(SourceSpec(sql=sql, allowed_paths=(str(files["parquet"]),)))
    assert not (files["other"].parent / "out.csv").exists()


def test_sandbox_stays_locked_after_registration(files: dict[str, Path]) -> None:
    with DuckDBEngine() as eng:
        eng.register_source(SourceSpec(path=str(files["parquet"])))
        with pytest.raises(InputDataError, match="Permission|disabled"):
            eng.fetch(f"SELECT * FROM read_csv('{files['other']}')")
        with pytest.raises(InputDataError, match="lock"):
            eng.fetch("SET enable_external_access = true")
        with pytest.raises(ConfigError, match="already has a source"):
            eng.register_source(SourceSpec(path=str(files["csv"])))


def test_memory_limit_threads_and_spill_dir_applied(tmp_path: Path, files) -> None:
    spill = tmp_path / "nested" / "spill"
    settings = EngineSettings(memory_limit="64MB", spill_dir=str(spill), threads=1)
    with DuckDBEngine(settings) as eng:
        eng.register_source(SourceSpec(path=str(files["parquet"])))  # locked after settings
        assert spill.is_dir()
        assert eng.setting("memory_limit") in {"61.0 MiB", "64.0 MB", "61.0MiB"}
        assert Path(eng.setting("temp_directory")) == spill
        assert eng.setting("threads") == "1"
        # A temp table bigger than the memory limit spills to the folder instead of failing.
        eng.create_temp_table(
            "big", "SELECT i, md5(CAST(i AS VARCHAR)) AS h FROM range(3000000) t(i) ORDER BY h"
        )
        assert eng.fetch("SELECT COUNT(*) AS n FROM big")["n"].tolist() == [3000000]
        spilled = eng.fetch("SELECT COUNT(*) AS n, MIN(path) AS p FROM duckdb_temporary_files()")
        assert spilled["n"].iloc[0] > 0 and Path(spilled["p"].iloc[0]).parent == spill
    assert spill.is_dir()  # the caller's folder is kept


def test_private_spill_dir_removed_at_close() -> None:
    eng = DuckDBEngine()
    private = eng.spill_dir
    assert private.is_dir()
    eng.close()
    assert not private.exists()


def test_bad_memory_limit_is_config_error() -> None:
    with pytest.raises(ConfigError, match="memory_limit='lots'"):
        DuckDBEngine(EngineSettings(memory_limit="lots"))


def test_open_engine_unknown_name() -> None:
    with pytest.raises(ConfigError, match="unknown engine 'oracle'"):
        open_engine(EngineSettings(name="oracle"))  # type: ignore[arg-type]


def test_file_and_query_together_the_query_reads_the_file_as_source(tmp_path) -> None:
    """``data_path`` + ``sql`` (as :func:`strategies.ingest.load_source` takes them): the
    query is the source and names the file ``source``; other files stay out of reach."""
    path = tmp_path / "events.parquet"
    pd.DataFrame({"user_id": [1, 2, 3], "revenue": [1.0, 5.0, 9.0]}).to_parquet(path)
    with DuckDBEngine() as engine:
        engine.register_source(
            SourceSpec(path=str(path), sql="SELECT user_id, revenue FROM source WHERE revenue > 2")
        )
        got = engine.fetch('SELECT * FROM "source" ORDER BY user_id')
    assert got["user_id"].tolist() == [2, 3]
    other = tmp_path / "other.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(other)
    with DuckDBEngine() as engine, pytest.raises(ConfigError, match="allowed_paths"):
        engine.register_source(SourceSpec(path=str(path), sql=f"SELECT * FROM '{other}'"))
