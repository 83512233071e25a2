"""``summarise_ab``: one DuckDB session cleans, validates and aggregates a file; a failed suite
returns no statistics; the result says who checked the data."""

from __future__ import annotations

import pandas as pd
import pytest

from liftlab.reports.parts import validation_view
from strategies.cleaning import ColumnRoles, build_cleaning_strategies
from strategies.engines.base import EngineSettings, SourceSpec
from strategies.engines.duckdb_engine import DuckDBEngine
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign
from strategies.validation import build_ab_rules
from strategies.warehouse.ab_summary import CHECKED_BY, ABPlan, summarise_ab
from strategies.warehouse.cleaning_sql import clean_in_engine

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


def _suite_report_alone(tmp_path, frame: pd.DataFrame, rules_for) -> dict:
    """The suite run on its own scan (validate_in_engine) over the same cleaned rows."""
    from strategies.engines import open_engine
    from strategies.warehouse.checks_sql import validate_in_engine

    plan = _plan()
    with open_engine(EngineSettings()) as engine:
        engine.register_source(_write(tmp_path, frame))
        clean_in_engine(engine, plan.cleaning, plan.roles, source="source", target="cleaned")
        columns = [c.name for c in engine.columns("cleaned")]
        return validate_in_engine(engine, "cleaned", rules_for(columns)).to_dict()


def _funnel_rules(columns):
    return build_ab_rules(
        columns,
        unit_column="user_id",
        variant_column="variant",
        variants=["A", "B"],
        count_columns=["views", "clicks"],
        funnel=["views", "clicks"],
    )


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(  # passes
            {
                "user_id": [1, 2, 3, 4],
                "variant": ["A", "B", "a ", "B"],
                "views": [3, 2, 5, 1],
                "clicks": [1, 0, 2, 1],
                "converted": [0, 1, 1, 0],
            }
        ),
        pd.DataFrame(  # fails: unknown arm, NULL unit, negative count, clicks above views
            {
                "user_id": [1, None, 3, 4, 5],
                "variant": ["A", "B", "C", "B", None],
                "views": [3, 2, -5, 1, 1],
                "clicks": [1, 0, 2, 4, 0],
                "converted": [0, 1, 1, 0, 0],
            }
        ),
    ],
    ids=["passes", "fails"],
)
def test_suite_counted_in_the_statistics_scan_reports_as_alone(tmp_path, frame) -> None:
    """On DuckDB the suite's counts ride on the statistics scan: the report is the one the
    suite gives on its own scan (outcome by outcome, counts and examples), and a passing
    run reads the cleaned rows once for the suite, the input checks and the statistics."""
    plan = ABPlan(**{**_plan().__dict__, "rules_for": _funnel_rules})
    scans: list[str] = []
    original = DuckDBEngine.fetch

    def fetch(self, sql):
        if '"cleaned"' in sql:
            scans.append(sql)
        return original(self, sql)

    DuckDBEngine.fetch = fetch
    try:
        summary = summarise_ab(EngineSettings(), _write(tmp_path, frame), plan)
    finally:
        DuckDBEngine.fetch = original
    alone = _suite_report_alone(tmp_path, frame, _funnel_rules)
    assert summary.validation.to_dict() == alone
    if summary.validation.success:
        assert len(scans) == 1, scans
        assert summary.statistics.n_rows == len(frame)
    else:
        failed = sorted(
            (o.column, o.unexpected_count) for o in summary.validation.outcomes if not o.success
        )
        expected = [("clicks <= views", 2), ("user_id", 1), ("variant", 1), ("variant", 1)]
        assert failed == sorted([*expected, ("views", 1)])
        assert summary.statistics is None
