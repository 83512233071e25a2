"""PostgreSQL engine: URL from the environment (masked in errors), sources, write refusal."""

from __future__ import annotations

import pandas as pd
import pytest

from strategies.engines import EngineSettings, SourceSpec
from strategies.engines.postgres_engine import PostgresEngine, mask_url
from strategies.errors import ConfigError, InputDataError
from tests.services import load_postgres_table

ENV = "LIFTLAB_TEST_PG_ENGINE_URL"


@pytest.fixture()
def pg(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> PostgresEngine:
    monkeypatch.setenv(ENV, postgres_url)
    eng = PostgresEngine(EngineSettings(name="postgres", url_env=ENV))
    yield eng
    eng.close()


def test_missing_env_var_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFTLAB_NO_SUCH_URL", raising=False)
    with pytest.raises(ConfigError, match="environment variable LIFTLAB_NO_SUCH_URL.*not set"):
        PostgresEngine(EngineSettings(name="postgres", url_env="LIFTLAB_NO_SUCH_URL"))


def test_password_never_shown(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port = postgres_url.rsplit(":", 1)[1].split("/")[0]
    url = f"postgresql://nobody:s3cr3t-pw@127.0.0.1:{port}/liftlab"
    monkeypatch.setenv(ENV, url)
    with pytest.raises(ConfigError) as err:
        PostgresEngine(EngineSettings(name="postgres", url_env=ENV))
    assert "s3cr3t-pw" not in str(err.value)
    assert "nobody:***@127.0.0.1" in str(err.value) and ENV in str(err.value)


def test_mask_url() -> None:
    assert mask_url("postgresql://u:p%40ss@h:5/d") == "postgresql://u:***@h:5/d"
    assert mask_url("host=h password='x y' user=u") == "host=h password=*** user=u"
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"


def test_qualified_table_and_capitalised_columns(pg: PostgresEngine, postgres_url: str) -> None:
    frame = pd.DataFrame({"Unit ID": [1, 2], "Revenue": [1.25, None], "ok": [True, False]})
    load_postgres_table(postgres_url, "Sales Schema.Orders 2024", frame)
    pg.register_source(SourceSpec(table="Sales Schema.Orders 2024"))
    got = pg.fetch('SELECT "Unit ID", Revenue AS "Rev", ok, COUNT(*) OVER () AS nAll FROM source')
    assert list(got.columns) == ["Unit ID", "Rev", "ok", "nAll"]
    assert got["Unit ID"].dtype == "int64" and got["ok"].dtype == bool
    assert [c.kind for c in pg.columns("source")] == ["numeric", "numeric", "boolean"]


def test_sql_source_and_numeric_types(pg: PostgresEngine) -> None:
    pg.register_source(
        SourceSpec(sql="SELECT g AS x, g::numeric(10, 2) / 4 AS frac FROM generate_series(1, 4) g")
    )
    got = pg.fetch("SELECT SUM(x) AS s, AVG(x) AS m, SUM(frac) AS f FROM source")
    assert got.dtypes.astype(str).tolist() == ["int64", "float64", "float64"]
    assert got.iloc[0].tolist() == [10, 2.5, 2.5]


@pytest.mark.parametrize(
    "sql", ["DELETE FROM pg_class", "SELECT 1; DROP TABLE x", "CREATE TABLE x AS SELECT 1"]
)
def test_write_query_refused(pg: PostgresEngine, sql: str) -> None:
    with pytest.raises(ConfigError, match="read-only SELECT/WITH"):
        pg.register_source(SourceSpec(sql=sql))


def test_path_refused(pg: PostgresEngine) -> None:
    with pytest.raises(ConfigError, match="not files.*COPY"):
        pg.register_source(SourceSpec(path="data.csv"))


def test_missing_table_names_it(pg: PostgresEngine) -> None:
    with pytest.raises(InputDataError, match="table 'no_such_table'"):
        pg.register_source(SourceSpec(table="no_such_table"))
