"""List/struct columns (from Parquet) must not crash cleaning: an unused nested column used to
raise ``TypeError: unhashable type`` in ``drop_duplicate_rows``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from strategies.cleaning import (
    CLEANING_STRATEGIES,
    ColumnRoles,
    DropDuplicateRows,
    build_cleaning_strategies,
    run_cleaning,
)
from strategies.ingest import load_table
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis
from strategies.validation import build_ab_rules, validate

ROLES = ColumnRoles("user_id", "variant", "experiment", ("A", "B"))


def _nested_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [1, 1, 2, 3],
            "variant": ["A", "A", "B", "B"],
            "tags": [np.array([1, 2]), np.array([1, 2]), np.array([3]), None],
            "meta": [{"k": 1}, {"k": 1}, {"k": 2}, {"k": 3}],
            "items": [[{"sku": "x"}], [{"sku": "x"}], [], [{"sku": "y"}]],
        }
    )


def test_drop_duplicate_rows_compares_nested_columns_by_content() -> None:
    out, audit = DropDuplicateRows().apply(_nested_frame(), ROLES)
    assert out["user_id"].tolist() == [1, 2, 3]
    assert audit.rows_dropped == 1
    assert audit.details["nested_columns"] == ["tags", "meta", "items"]
    assert "'tags', 'meta', 'items' were compared by content" in audit.description
    audit.to_dict()  # still JSON-serialisable


def test_rows_differing_only_in_a_nested_column_are_not_duplicates() -> None:
    frame = _nested_frame()
    frame.at[1, "tags"] = np.array([1, 2, 3])
    out, audit = DropDuplicateRows().apply(frame, ROLES)
    assert audit.rows_dropped == 0
    frame = _nested_frame()
    frame.at[1, "meta"] = {"k": 1, "extra": None}
    assert DropDuplicateRows().apply(frame, ROLES)[1].rows_dropped == 0


def test_flat_frames_keep_plain_audit() -> None:
    frame = pd.DataFrame({"user_id": [1, 1], "variant": ["A", "A"]})
    out, audit = DropDuplicateRows().apply(frame, ROLES)
    assert len(out) == 1
    assert audit.details["nested_columns"] == []


@pytest.fixture
def nested_parquet(tmp_path: Path) -> Path:
    n = 8
    table = pa.table(
        {
            "experiment": ["e1"] * n,
            "user_id": list(range(n)) + [],
            "variant": ["A", "B"] * 4,
            "impressions": [5, 4, 6, 3, 5, 5, 2, 7],
            "clicks": [1, 2, 0, 1, 3, 0, 1, 2],
            "converted": [0, 1, 0, 0, 1, 0, 0, 1],
            "tags": [[1, 2], [3], [], None, [1], [2], [3], [4]],
            "meta": [{"k": i, "s": "x"} for i in range(n)],
        }
    )
    path = tmp_path / "events.parquet"
    pq.write_table(pa.concat_tables([table, table.slice(0, 2)]), path)  # two exact copies
    return path


def test_parquet_with_nested_columns_runs_through_the_ab_domain_path(
    nested_parquet: Path,
) -> None:
    frame = load_table(nested_parquet)
    specs = [
        {"name": "normalize_variant_labels"},
        {"name": "drop_duplicate_rows"},
        {"name": "drop_multi_variant_units"},
        {"name": "impute_missing_counts", "columns": ["clicks"]},
        {"name": "cap_outliers", "column": "clicks"},
    ]
    assert {s["name"] for s in specs} == set(CLEANING_STRATEGIES)
    cleaned, audits = run_cleaning(frame, build_cleaning_strategies(specs), ROLES)
    assert len(cleaned) == 8
    dedup = next(a for a in audits if a.strategy == "drop_duplicate_rows")
    assert dedup.rows_dropped == 2
    assert dedup.details["nested_columns"] == ["tags", "meta"]

    rules = build_ab_rules(
        list(cleaned.columns), unit_column="user_id", variant_column="variant",
        variants=["A", "B"], experiment_column="experiment", metric_columns=["clicks", "converted"],
    )  # fmt: skip
    validate(cleaned, rules).raise_for_failures()
    design = ABDesign(
        unit_column="user_id", variant_column="variant", control="A", variants=("B",),
        experiment_column="experiment",
    )  # fmt: skip
    metrics = [
        MetricSpec("ctr", "ratio", numerator="clicks", denominator="impressions"),
        MetricSpec("conversion_rate", "proportion", column="converted"),
    ]
    outcome = run_ab_analysis(cleaned, design, metrics, AnalysisOptions(control="A"))
    assert set(outcome.results["metric"]) == {"ctr", "conversion_rate"}
