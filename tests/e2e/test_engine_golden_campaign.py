"""Golden cross-engine test for the campaign warehouse (issue #13 item 3): the shipped
``configs/campaign_uplift.yaml`` on simulated CRM/POS data gives the same bronze audits,
validation outcomes, silver audit, gold summary and funnel (to 1e-9) on DuckDB (files),
PostgreSQL (tables loaded with ``load_postgres_table``) and Spark (files) — and DuckDB equals
today's pandas path (``build_bronze`` → ``validate`` → ``build_silver`` → ``summarise_campaigns``).
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from liftlab.config.campaign_uplift import load_campaign_config
from liftlab.simulate.campaigns import (
    CampaignSimulationConfig,
    simulate_campaigns,
    write_campaigns,
)
from strategies.campaign_sql import BRONZE_COLUMNS
from strategies.campaign_uplift import (
    bronze_rules,
    build_bronze,
    build_silver,
    summarise_campaign_statistics,
    summarise_campaigns,
)
from strategies.engines.base import EngineSettings
from strategies.errors import InputDataError
from strategies.validation import validate
from strategies.warehouse.campaign_engine import summarise_campaign_data
from tests.conftest import REPO_ROOT
from tests.services import load_postgres_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaigns")
    files = write_campaigns(
        simulate_campaigns(CampaignSimulationConfig(n_customers=3000, seed=11)), folder
    )
    parameters = yaml.safe_load((REPO_ROOT / "configs" / "campaign_uplift.yaml").read_text())
    parameters = {**parameters["parameters"], "data_dir": str(folder)}
    return files, parameters


def _outcomes(report):
    return [(o.expectation, o.column, o.success, o.unexpected_count) for o in report.outcomes]


def _engine_run(parameters, settings):
    cfg = load_campaign_config(parameters)
    result = summarise_campaign_data(
        settings, cfg.sources(), cfg.options(), naive_timezone=cfg.naive_timezone
    )
    summary, funnel, _ = summarise_campaign_statistics(
        result.spend, result.conversion, result.campaigns,
        result.silver_audit["categories"], cfg.options(),
    )  # fmt: skip
    audits = [{k: v for k, v in a.items() if k != "file"} for a in result.bronze_audit]
    validation = {t: _outcomes(r) for t, r in result.validation.items()}
    return audits, validation, result.silver_audit, summary, funnel


@pytest.fixture(scope="module")
def reference(shipped):
    """Today's pandas path, computed independently of the engines."""
    files, parameters = shipped
    cfg = load_campaign_config(parameters)
    tables, audit = build_bronze({t: files[t] for t in BRONZE_COLUMNS})
    validation = {t: _outcomes(validate(tables[t], bronze_rules(t))) for t in BRONZE_COLUMNS}
    silver = build_silver(tables, window_days=cfg.window_days, pre_window_days=cfg.pre_window_days)
    summary, funnel, _ = summarise_campaigns(
        silver.outcomes, tables["campaigns"], silver.categories, cfg.options()
    )
    audits = [{k: v for k, v in a.items() if k != "file"} for a in audit]
    return audits, validation, silver.audit, summary, funnel, tables


def _assert_same(got, want) -> None:
    assert got[0] == want[0]
    assert got[1] == want[1]
    assert got[2] == want[2]
    for left, right in zip(got[3:5], want[3:5], strict=True):
        pd.testing.assert_frame_equal(left, right, rtol=1e-9, atol=1e-12)


def test_duckdb_equals_the_pandas_path(shipped, reference) -> None:
    _, parameters = shipped
    _assert_same(_engine_run(parameters, EngineSettings()), reference)


def test_spark_equals_the_pandas_path(shipped, reference, spark_settings) -> None:
    _, parameters = shipped
    got = _engine_run({**parameters, "engine": {"name": "spark", "master": "local[2]"}},
                      spark_settings)  # fmt: skip
    _assert_same(got, reference)


def test_postgres_equals_the_pandas_path(shipped, reference, postgres_url, monkeypatch) -> None:
    files, parameters = shipped
    monkeypatch.setenv("LIFTLAB_POSTGRES_URL", postgres_url)
    for table in BRONZE_COLUMNS:
        raw = pd.read_csv(files[table], dtype=str, keep_default_na=False)
        load_postgres_table(postgres_url, f"crm.{table}", raw)
    tables = {t: f"crm.{t}" for t in BRONZE_COLUMNS}
    got = _engine_run(
        {**parameters, "data_dir": None, "tables": tables, "engine": {"name": "postgres"}},
        EngineSettings(name="postgres"),
    )
    _assert_same(got, reference)


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "spark"])
def test_a_value_that_does_not_parse_names_table_and_column(
    engine, tmp_path, request, monkeypatch
) -> None:
    """A bad amount stops bronze on every engine with the table, the column and the value —
    PostgreSQL has no TRY_CAST, so there each typed column is cast alone to find it."""
    files = write_campaigns(
        simulate_campaigns(CampaignSimulationConfig(n_customers=300, seed=2)), tmp_path
    )
    tx = pd.read_csv(files["transactions"], dtype=str, keep_default_na=False)
    tx.loc[3, "amount"] = "12,50 EUR"
    tx.to_csv(files["transactions"], index=False)
    parameters = {"data_dir": str(tmp_path)}
    settings = EngineSettings()
    if engine == "spark":
        settings = request.getfixturevalue("spark_settings")
        parameters["engine"] = {"name": "spark", "master": "local[2]"}
    elif engine == "postgres":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("LIFTLAB_POSTGRES_URL", url)
        for table in BRONZE_COLUMNS:
            raw = pd.read_csv(files[table], dtype=str, keep_default_na=False)
            load_postgres_table(url, f"bad.{table}", raw)
        parameters = {"tables": {t: f"bad.{t}" for t in BRONZE_COLUMNS}}
        parameters["engine"] = {"name": "postgres"}
        settings = EngineSettings(name="postgres")
    cfg = load_campaign_config(parameters)
    with pytest.raises(InputDataError, match=r"transactions\.amount: .*12,50 EUR"):
        summarise_campaign_data(settings, cfg.sources(), cfg.options())
