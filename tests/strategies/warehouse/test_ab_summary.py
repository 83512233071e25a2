"""``summarise_ab``: one DuckDB session cleans, validates and aggregates a file; a failed suite
returns no statistics; the result says who checked the data."""

from __future__ import annotations

import pandas as pd
import pytest

from liftlab.reports.parts import validation_view
from strategies.cleaning import ColumnRoles, build_cleaning_strategies
from strategies.engines.base import EngineSettings, SourceSpec
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign
from strategies.validation import build_ab_rules
from strategies.warehouse.ab_summary import CHECKED_BY, ABPlan, summarise_ab

ROLES = ColumnRoles(unit_column="user_id", variant_column="variant", variants=("A", "B"))


def _plan() -> ABPlan:
    return ABPlan(
        cleaning=build_cleaning_strategies(
            [{"name": "normalize_variant_labels"}, {"name": "drop_duplicate_rows"}]
        ),
        roles=ROLES,
        rules_for=lambda columns: build_ab_rules(
            columns, unit_column="user_id", variant_column="variant", variants=["A", "B"]
        ),
        design=ABDesign(
            unit_column="user_id", variant_column="variant", control="A", variants=("B",)
        ),
        metrics=[MetricSpec(name="conv", type="proportion", column="converted")],
    )


def _write(tmp_path, frame: pd.DataFrame) -> SourceSpec:
    path = tmp_path / "events.parquet"
    frame.to_parquet(path)
    return SourceSpec(path=str(path))


def test_clean_file_gives_statistics_audits_and_its_validator(tmp_path) -> None:
    frame = pd.DataFrame(
        {
            "user_id": [1, 2, 3, 4, 4],
            "variant": ["A", " b", "A", "B", "B"],
            "converted": [0, 1, 1, 1, 1],
        }
    )
    summary = summarise_ab(EngineSettings(), _write(tmp_path, frame), _plan())
    assert summary.validation.success
    assert summary.checked_by == CHECKED_BY["duckdb"]
    assert [a.rows_out for a in summary.audits] == [5, 4]  # one exact duplicate dropped
    assert summary.data_info["rows"] == 5 and summary.data_info["rows_clean"] == 4
    assert summary.data_info["engine"] == "duckdb" and len(summary.data_info["sha256"]) == 64
    overall = summary.statistics.stats.set_index(["segment", "variant"]).loc["all"]
    assert overall.loc["A", "n"] == 2 and overall.loc["B", "n"] == 2
    assert overall.loc["B", "sum_y"] == 2.0
    view = validation_view(summary.validation.to_dict() | {"checked_by": summary.checked_by})
    assert view["checked_by"].startswith("liftlab's SQL version")


def test_failed_suite_returns_no_statistics(tmp_path) -> None:
    frame = pd.DataFrame({"user_id": [1, 2, 3], "variant": ["A", "B", "C"], "converted": [0, 1, 1]})
    summary = summarise_ab(EngineSettings(), _write(tmp_path, frame), _plan())
    assert not summary.validation.success
    assert summary.statistics is None
    failed = [o for o in summary.validation.outcomes if not o.success]
    assert [(o.column, o.unexpected_count) for o in failed] == [("variant", 1)]
    with pytest.raises(Exception, match="variant"):
        summary.validation.raise_for_failures()
