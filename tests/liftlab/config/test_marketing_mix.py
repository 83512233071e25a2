"""The marketing-mix config: its defaults, the derived views the pipeline reads, and one
readable error per kind of mistake (each naming the key, and the channel when one is wrong)."""

from __future__ import annotations

import pytest

from liftlab.config.base import DataSourceConfig, StrictModel
from liftlab.config.marketing_mix import (
    ADSTOCK_NAMES,
    SATURATION_NAMES,
    MarketingMixConfig,
    load_marketing_mix_config,
)
from strategies.errors import ConfigError

CHANNELS = {"tv": "tv_spend", "search": "search_spend", "email": "email_spend"}
BASE = {"data_path": "data/demo/mmm/mmm_weekly.csv", "channels": CHANNELS}


def _load(**overrides) -> MarketingMixConfig:
    return load_marketing_mix_config({**BASE, **overrides})


def test_is_strict_and_reads_one_table() -> None:
    assert issubclass(MarketingMixConfig, StrictModel)
    assert issubclass(MarketingMixConfig, DataSourceConfig)


def test_defaults() -> None:
    cfg = _load()
    assert (cfg.date_column, cfg.outcome_column, cfg.outcome_label) == ("date", "sales", "sales")
    assert (cfg.adstock, cfg.saturation) == ("geometric", "hill")
    assert (cfg.max_lag, cfg.trend, cfg.fourier_order, cfg.n_starts, cfg.seed) == (8, True, 2, 8, 0)
    assert cfg.bootstrap.model_dump() == {
        "n_draws": 200,
        "block_length": None,
        "interval_level": 0.9,
    }
    assert cfg.calibration is None
    assert (cfg.cv.n_folds, cfg.cv.test_periods) == (4, 13)
    assert cfg.budget.horizon == 13
    assert cfg.budget.total_per_period is None and cfg.budget.target_mroas is None
    assert cfg.budget.mode == "fixed_total"
    assert cfg.budget.default_bounds_relative == (0.5, 1.5)
    assert cfg.budget.bounds == {}
    assert (cfg.currency, cfg.model_name) == ("$", "liftlab-marketing-mix")
    assert cfg.duckdb_path == "outputs/liftlab.duckdb"
    assert cfg.output_dir == "outputs/marketing_mix"
    assert cfg.controls == []
    assert set(ADSTOCK_NAMES) == {"geometric", "weibull"}
    assert set(SATURATION_NAMES) == {"hill", "logistic"}


def test_channels_keep_the_config_order_and_resolve_their_transforms() -> None:
    cfg = _load(
        saturation="logistic",
        channel_transforms={"tv": {"adstock": "weibull"}, "email": {"saturation": "hill"}},
        calibration={"lift_tests": "lifts.csv", "weight": 2.0},
    )
    assert cfg.channel_names == ["tv", "search", "email"]
    assert cfg.spend_columns == ["tv_spend", "search_spend", "email_spend"]
    spec = cfg.spec_values(n_periods=156)
    assert spec["adstock"] == {"tv": "weibull", "search": "geometric", "email": "geometric"}
    assert spec["saturation"] == {"tv": "logistic", "search": "logistic", "email": "hill"}
    assert spec["calibration_weight"] == 2.0
    assert spec["max_lag"] == 8 and spec["n_starts"] == 8


def test_budget_bounds_and_modes() -> None:
    cfg = _load(
        budget={
            "bounds": {
                "tv": {"min_relative": 0.8, "max_relative": 1.2},
                "email": {"min": 100, "max": 5000},
            },
            "target_mroas": 1.5,
            "default_bounds_relative": [0.7, 1.3],
        }
    )
    assert cfg.budget.mode == "target_mroas"
    assert cfg.budget.bounds_mapping() == {
        "tv": {"min_relative": 0.8, "max_relative": 1.2},
        "email": {"min": 100.0, "max": 5000.0},
    }
    assert cfg.budget.default_bounds_relative == (0.7, 1.3)


def test_calibration_from_the_campaign_pipeline() -> None:
    cfg = _load(calibration={"campaign_summary": {"channel_map": {"e-mail": "email"}}})
    source = cfg.calibration.campaign_summary
    assert (source.duckdb_path, source.table, source.ci_level) == (
        "outputs/liftlab.duckdb",
        "gold_campaign_summary",
        0.95,
    )
    assert cfg.calibration.lift_tests is None and cfg.calibration.weight == "auto"
    assert cfg.spec_values(156)["calibration_weight"] == 156.0


def test_json_round_trip_of_the_step_parameter() -> None:
    cfg = _load(budget={"bounds": {"tv": {"min": 1, "max": 2}}}, controls=["price"])
    assert MarketingMixConfig.model_validate_json(cfg.model_dump_json()) == cfg


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"adstok": "geometric"}, "adstok: unknown key"),
        ({"adstock": "exponential"}, "adstock: unknown adstock 'exponential'; use one of"),
        ({"saturation": "tanh"}, "saturation: unknown saturation 'tanh'"),
        (
            {"channel_transforms": {"tv": {"adstock": "delayed"}}},
            "channel_transforms.tv.adstock: unknown adstock 'delayed'",
        ),
        (
            {"channel_transforms": {"tvv": {"adstock": "weibull"}}},
            "channel_transforms names channel 'tvv' \\(did you mean 'tv'\\?\\)",
        ),
        (
            {"budget": {"bounds": {"serach": {"min": 1, "max": 2}}}},
            "budget.bounds names channel 'serach' \\(did you mean 'search'\\?\\)",
        ),
        (
            {"budget": {"bounds": {"radio": {"min": 1, "max": 2}}}},
            "budget.bounds names channel 'radio', which is not in 'channels'",
        ),
        (
            {"calibration": {"campaign_summary": {"channel_map": {"email": "mail"}}}},
            "channel_map\\['email'\\] names channel 'mail'",
        ),
        (
            {"budget": {"total_per_period": 1000, "target_mroas": 1.2}},
            "budget: set 'total_per_period' .* not both",
        ),
        (
            {"budget": {"bounds": {"tv": {"min": 1, "max_relative": 2}}}},
            "budget.bounds.tv: give min_relative/max_relative or min/max, not both kinds",
        ),
        (
            {"budget": {"bounds": {"tv": {"min_relative": 1.5, "max_relative": 1.2}}}},
            "min_relative \\(1.5\\) is above max_relative \\(1.2\\)",
        ),
        ({"budget": {"bounds": {"tv": {"max": 2}}}}, "give both min and max"),
        ({"budget": {"bounds": {"tv": {}}}}, "give both min and max"),
        ({"budget": {"default_bounds_relative": [1.5, 0.5]}}, "must be 0 <= min <= max"),
        ({"budget": {"horizon": 0}}, "budget.horizon"),
        ({"calibration": {}}, "calibration needs 'lift_tests'"),
        ({"calibration": {"lift_tests": "x.csv", "weight": 0}}, "calibration.weight"),
        ({"bootstrap": {"interval_level": 1.2}}, "bootstrap.interval_level"),
        ({"bootstrap": {"n_draws": 5}}, "bootstrap.n_draws"),
        ({"cv": {"n_folds": 0}}, "cv.n_folds"),
        ({"max_lag": 0}, "max_lag"),
        ({"channels": {}}, "channels"),
        ({"channels": {"tv": "spend", "radio": "spend"}}, "spend column 'spend' is given to more"),
        ({"controls": ["tv_spend"]}, "column 'tv_spend' has two roles"),
        ({"outcome_column": "date"}, "column 'date' has two roles"),
        ({"data_path": None}, "set 'data_path'"),
        ({"currency": "12"}, "currency"),
        ({"output_dir": "../elsewhere"}, "leaves the project folder"),
    ],
)
def test_bad_values_name_the_problem(overrides: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=f"invalid marketing mix config:(.|\\n)*{needle}"):
        _load(**overrides)


def test_channels_are_required() -> None:
    with pytest.raises(ConfigError, match="channels: Field required"):
        load_marketing_mix_config({"data_path": "x.csv"})
