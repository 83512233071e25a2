"""The growth-analytics config: the source decides what is read, the metrics and the default
persona features; wrong combinations are errors that say what to change."""

from __future__ import annotations

import pytest

from liftlab.config.growth_analytics import load_growth_config
from strategies.errors import ConfigError
from strategies.growth.hillstrom import HILLSTROM_DEFAULT_FEATURES
from strategies.growth.personas import DEFAULT_FEATURES

HILLSTROM = {"source": "hillstrom", "data_path": "hillstrom.csv"}


def test_shop_is_the_default_source_with_the_shop_metrics_and_features() -> None:
    cfg = load_growth_config({})
    assert cfg.source == "shop" and cfg.primary_metric == "purchase_conversion"
    assert tuple(cfg.personas.features) == DEFAULT_FEATURES
    assert len(cfg.sources()) == 5 and cfg.stage_rows


def test_hillstrom_source_takes_its_own_metrics_features_and_no_shop_tables() -> None:
    cfg = load_growth_config(HILLSTROM)
    assert cfg.primary_metric == "conversion"
    assert [m.name for m in cfg.metrics] == ["conversion", "visit", "spend"]
    assert tuple(cfg.personas.features) == HILLSTROM_DEFAULT_FEATURES
    assert cfg.personas.log1p == ["recency_months", "history"]
    assert cfg.data_dir is None and cfg.sources() == {} and not cfg.stage_rows
    assert list(cfg.table_paths()) == ["hillstrom"] and cfg.data_source == "hillstrom.csv"
    # listed features are kept; log1p defaults to the source's among them
    cfg = load_growth_config({**HILLSTROM, "personas": {"features": ["history", "zip_urban"]}})
    assert cfg.personas.features == ["history", "zip_urban"] and cfg.personas.log1p == ["history"]
    # the model dump validates again into the same config (ZenML re-validates step inputs)
    assert load_growth_config(cfg.model_dump(mode="json")) == cfg


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"source": "hillstrom"}, "needs data_path"),
        ({**HILLSTROM, "data_dir": "data/demo/ecommerce"}, "remove data_dir and tables"),
        ({**HILLSTROM, "tables": {"users": "u.csv"}}, "remove data_dir and tables"),
        ({**HILLSTROM, "engine": {"name": "spark"}}, "engine 'spark' is not used"),
        ({**HILLSTROM, "persona_truth": "t.csv"}, "no known personas"),
        ({"data_path": "hillstrom.csv"}, "source: hillstrom only"),
        ({"source": "crm"}, "source"),
    ],
)
def test_wrong_source_combinations_name_what_to_change(values, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_growth_config(values)


def test_shop_config_keeps_its_defaults_after_a_dump() -> None:
    cfg = load_growth_config({"personas": {"k_max": 5}})
    assert tuple(cfg.personas.features) == DEFAULT_FEATURES
    assert load_growth_config(cfg.model_dump(mode="json")) == cfg
    assert DEFAULT_FEATURES != HILLSTROM_DEFAULT_FEATURES
