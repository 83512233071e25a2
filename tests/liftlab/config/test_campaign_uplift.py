"""The campaign config: its own folder/tables source with paths expanded like every other
config's, what the report names as its data source, and readable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from liftlab.config.base import StrictModel, expand_path
from liftlab.config.campaign_uplift import TABLES, CampaignUpliftConfig, load_campaign_config
from strategies.errors import ConfigError


def test_is_strict() -> None:
    assert issubclass(CampaignUpliftConfig, StrictModel)


def test_table_paths_expand_user_and_variables(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIFTLAB_TEST_DATA", str(tmp_path))
    (tmp_path / "profiles.parquet").write_text("")  # only Parquet there: Parquet is used
    cfg = load_campaign_config(
        {"data_dir": "$LIFTLAB_TEST_DATA", "tables": {"campaigns": "~/c.csv"}}
    )
    paths = cfg.table_paths()
    assert set(paths) == set(TABLES)
    assert paths["campaigns"] == expand_path("~/c.csv") == Path.home() / "c.csv"
    assert paths["profiles"] == tmp_path / "profiles.parquet"
    assert paths["transactions"] == tmp_path / "transactions.csv"


def test_data_source_names_the_folder_or_the_files() -> None:
    assert CampaignUpliftConfig(data_dir="d").data_source == "d"
    tables = {t: f"{t}.csv" for t in TABLES}
    assert CampaignUpliftConfig(data_dir=None, tables=tables).data_source == ", ".join(
        tables.values()
    )


def test_json_round_trip_of_the_step_parameter() -> None:
    cfg = load_campaign_config({"control_shares": {"C01": 0.3}, "window_days": 7})
    assert CampaignUpliftConfig.model_validate_json(cfg.model_dump_json()) == cfg


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"windw_days": 3}, "windw_days: unknown key"),
        ({"tables": {"orders": "o.csv"}}, "unknown table"),
        ({"data_dir": None}, "missing"),
        ({"control_shares": {"C01": 1.5}}, "control share of C01"),
    ],
)
def test_bad_values_name_the_problem(values: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=f"invalid campaign uplift config:(.|\\n)*{needle}"):
        load_campaign_config(values)
