"""Every kind of bad input named in the foundation issue gets its own specific error, raised by
the same functions the pipeline steps call."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from liftlab.config.ab_testing import load_ab_config
from strategies.errors import ConfigError, DataValidationError, InputDataError
from strategies.ingest import load_source
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis
from strategies.validation import build_ab_rules, validate

DESIGN = ABDesign(
    unit_column="user_id", variant_column="variant", control="A", variants=("B",),
    experiment_column="experiment",
)  # fmt: skip
METRICS = [
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="impressions"),
    MetricSpec("conversion_rate", "proportion", column="converted"),
]


def _frame(**changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "experiment": ["e1"] * 8,
            "user_id": range(8),
            "variant": ["A", "B"] * 4,
            "impressions": [5, 4, 6, 3, 5, 5, 2, 7],
            "clicks": [1, 2, 0, 1, 3, 0, 1, 2],
            "converted": [0, 1, 0, 0, 1, 0, 0, 1],
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def _analyse(frame: pd.DataFrame) -> None:
    run_ab_analysis(frame, DESIGN, METRICS, AnalysisOptions(control="A"))


def _validate(frame: pd.DataFrame) -> None:
    rules = build_ab_rules(
        list(frame.columns), unit_column="user_id", variant_column="variant",
        variants=["A", "B"], experiment_column="experiment", metric_columns=["clicks", "converted"],
    )  # fmt: skip
    validate(frame, rules).raise_for_failures()


def test_missing_column_names_column_and_metric() -> None:
    with pytest.raises(InputDataError, match=r"'clicks' \(needed by metric 'ctr'\)"):
        _analyse(_frame().drop(columns="clicks"))


def test_wrong_type_names_column() -> None:
    with pytest.raises(InputDataError, match="'converted'.*must be numeric"):
        _analyse(_frame(converted=["no", "yes"] * 4))
    with pytest.raises(DataValidationError, match="clicks"):
        _validate(_frame(clicks=["x"] * 8))


def test_negative_counts_fail_validation_with_count_and_example() -> None:
    with pytest.raises(DataValidationError, match=r"'clicks'.*1 of 8 rows.*-1"):
        _validate(_frame(clicks=[1, 2, 0, 1, 3, 0, -1, 2]))


def test_clicks_above_impressions_fail_validation() -> None:
    with pytest.raises(DataValidationError, match=r"clicks <= impressions': 1 of 8 rows"):
        _validate(_frame(clicks=[1, 2, 0, 1, 3, 0, 9, 2]))


def test_experiment_with_one_variant() -> None:
    frame = pd.concat([_frame(), _frame(experiment=["e2"] * 8, variant=["A"] * 8)])
    with pytest.raises(InputDataError, match="experiment 'e2' has only one variant"):
        _analyse(frame)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("experiment,user_id,variant\n")
    with pytest.raises(InputDataError, match="no rows"):
        load_source(empty)


def test_unknown_metric_type() -> None:
    with pytest.raises(ConfigError, match="unknown metric type 'median'"):
        load_ab_config({"data_path": "x.csv", "metrics": [{"name": "m", "type": "median"}]})


def test_unknown_config_key() -> None:
    with pytest.raises(ConfigError, match="alpah: unknown key"):
        load_ab_config(
            {"data_path": "x.csv", "alpah": 0.1, "metrics": [{"name": "m", "type": "mean",
                                                              "column": "x"}]}
        )  # fmt: skip
