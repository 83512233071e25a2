"""Tests for strategies.cleaning: each strategy's output, its audit numbers, and config errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from strategies.cleaning import (
    CLEANING_STRATEGIES,
    CleaningAudit,
    ColumnRoles,
    DropDuplicateRows,
    DropMultiVariantUnits,
    ImputeMissingCounts,
    NormalizeLabels,
    WinsorizeOutliers,
    build_cleaning_strategies,
    run_cleaning,
)
from strategies.errors import ConfigError, InputDataError

ROLES = ColumnRoles(
    unit_column="user_id",
    variant_column="variant",
    experiment_column="experiment",
    variants=("Control", "Treatment"),
)


def _apply(strategy, df: pd.DataFrame, roles: ColumnRoles = ROLES):
    """Apply a strategy and check the universal contract: input untouched, audit consistent."""
    before = df.copy(deep=True)
    out, audit = strategy.apply(df, roles)
    pd.testing.assert_frame_equal(df, before)  # never mutates its input
    assert out is not df
    assert isinstance(audit, CleaningAudit)
    assert audit.strategy == strategy.name
    assert audit.rows_in == len(df)
    assert audit.rows_out == len(out)
    assert audit.description.endswith(".")
    json.dumps(audit.to_dict())  # JSON-serialisable for MLflow
    return out, audit


def test_registry_names() -> None:
    expected = {
        "normalize_variant_labels": NormalizeLabels,
        "drop_duplicate_rows": DropDuplicateRows,
        "drop_multi_variant_units": DropMultiVariantUnits,
        "impute_missing_counts": ImputeMissingCounts,
        "cap_outliers": WinsorizeOutliers,
    }
    assert dict(CLEANING_STRATEGIES) == expected


# --- normalize_variant_labels ---------------------------------------------------------------


def test_normalize_labels_maps_to_declared_spelling() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4", "u5", "u6"],
            "experiment": ["exp1 ", "exp1", "exp1", " exp1", "exp1", "exp1"],
            "variant": ["control ", "TREATMENT", "Control", "treatment", "C", None],
        }
    )
    out, audit = _apply(NormalizeLabels(), df)
    assert out["variant"].tolist()[:5] == ["Control", "Treatment", "Control", "Treatment", "C"]
    assert pd.isna(out["variant"].iloc[5])
    assert out["experiment"].tolist() == ["exp1"] * 6
    # 3 variant cells + 2 experiment cells rewritten; "Control" and the null untouched.
    assert audit.values_changed == 5
    assert audit.details["values_changed_per_column"] == {"variant": 3, "experiment": 2}
    assert audit.details["unmatched_labels"] == ["C"]
    assert {"column": "variant", "from": "control ", "to": "Control", "rows": 1} in (
        audit.details["changes"]
    )
    assert audit.rows_out == audit.rows_in == 6
    assert "1 label(s) match no declared variant" in audit.description


def test_normalize_labels_without_declared_variants_only_strips() -> None:
    roles = ColumnRoles("user_id", "variant")
    df = pd.DataFrame({"user_id": ["u1", "u2"], "variant": [" a", "B"]})
    out, audit = _apply(NormalizeLabels(), df, roles)
    assert out["variant"].tolist() == ["a", "B"]
    assert audit.values_changed == 1
    assert audit.details["unmatched_labels"] == []


def test_normalize_labels_noop_keeps_frame_equal() -> None:
    df = pd.DataFrame({"user_id": ["u1"], "experiment": ["e"], "variant": ["Control"]})
    out, audit = _apply(NormalizeLabels(), df)
    pd.testing.assert_frame_equal(out, df)
    assert audit.values_changed == 0


def test_normalize_labels_ambiguous_declared_variants() -> None:
    roles = ColumnRoles("user_id", "variant", variants=("a", "A"))
    df = pd.DataFrame({"user_id": ["u1"], "variant": ["a"]})
    with pytest.raises(ConfigError, match="differ only in case"):
        NormalizeLabels().apply(df, roles)


def test_normalize_labels_missing_column() -> None:
    df = pd.DataFrame({"user_id": ["u1"], "variant": ["A"]})
    with pytest.raises(InputDataError, match="needs column.*'experiment'"):
        NormalizeLabels().apply(df, ROLES)


# --- drop_duplicate_rows --------------------------------------------------------------------


def test_drop_duplicate_rows_counts_exact_duplicates() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u1", "u3", "u3", "u3"],
            "variant": ["A", "A", "B", "A", "A", "A", "B"],
            "clicks": [1, 1, 2, 1, 0, 0, 0],
        }
    )
    out, audit = _apply(DropDuplicateRows(), df)
    # u1 appears 3x identically (2 duplicates), u3/A twice (1 duplicate); u3/B differs.
    assert audit.rows_out == audit.rows_in - 3
    assert audit.details == {"duplicate_rows_dropped": 3, "nested_columns": []}
    assert audit.values_changed == 0
    assert out["user_id"].tolist() == ["u1", "u2", "u3", "u3"]
    assert list(out.index) == [0, 1, 2, 3]


# --- drop_multi_variant_units ---------------------------------------------------------------


def test_drop_multi_variant_units_scoped_to_experiment() -> None:
    df = pd.DataFrame(
        {
            "experiment": ["e1", "e1", "e1", "e1", "e1", "e2", "e2", "e1"],
            "user_id": ["u1", "u1", "u1", "u2", "u3", "u3", "u3", None],
            "variant": [
                "Control",
                "Treatment",
                "Control",
                "Control",
                "Control",
                "Control",
                "Treatment",
                "Control",
            ],
        }
    )
    out, audit = _apply(DropMultiVariantUnits(), df)
    # u1 saw both arms in e1 (3 rows); u3 saw both arms in e2 (2 rows) but only one in e1.
    assert audit.details["units_dropped"] == 2
    assert audit.details["rows_dropped"] == 5
    assert audit.rows_out == audit.rows_in - 5 == 3
    assert sorted(audit.details["example_units"]) == ["u1", "u3"]
    assert out["user_id"].tolist()[:2] == ["u2", "u3"]
    assert out["experiment"].tolist() == ["e1", "e1", "e1"]
    # A null unit id is not a unit; validation rejects it, cleaning does not guess.
    assert pd.isna(out["user_id"].iloc[2])


def test_drop_multi_variant_units_without_experiment_and_null_variant() -> None:
    roles = ColumnRoles("user_id", "variant")
    df = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3],
            "variant": ["A", None, "A", "B", "B"],
        }
    )
    out, audit = _apply(DropMultiVariantUnits(), df, roles)
    # A missing variant label is not a second variant: only unit 2 is dropped.
    assert out["user_id"].tolist() == [1, 1, 3]
    assert audit.details["units_dropped"] == 1
    assert audit.details["rows_dropped"] == 2
    assert audit.details["example_units"] == [2]


# --- impute_missing_counts ------------------------------------------------------------------


def test_impute_missing_counts_fills_and_casts() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "clicks": [1.0, np.nan, 3.0, np.nan],
            "opens": [np.nan, 2.0, 2.0, 1.0],
            "revenue": [1.5, np.nan, 2.0, 3.0],
        }
    )
    strategy = ImputeMissingCounts(columns=["clicks", "opens"])
    out, audit = _apply(strategy, df)
    assert out["clicks"].tolist() == [1, 0, 3, 0]
    assert out["clicks"].dtype == np.int64
    assert out["opens"].dtype == np.int64
    assert audit.values_changed == 3
    assert audit.details["filled"] == {"clicks": 2, "opens": 1}
    assert audit.details["cast_to_int64"] == ["clicks", "opens"]
    # Columns not named are untouched, NaN and all.
    assert np.isnan(out["revenue"].iloc[1])


def test_impute_missing_counts_keeps_float_when_fractional() -> None:
    df = pd.DataFrame({"user_id": ["u1", "u2"], "clicks": [0.5, np.nan]})
    out, audit = _apply(ImputeMissingCounts(columns=("clicks",)), df)
    assert out["clicks"].dtype == np.float64
    assert out["clicks"].tolist() == [0.5, 0.0]
    assert audit.details["cast_to_int64"] == []
    assert audit.values_changed == 1


def test_impute_missing_counts_missing_column() -> None:
    df = pd.DataFrame({"user_id": ["u1"], "clicks": [1]})
    with pytest.raises(InputDataError, match="'opens'"):
        ImputeMissingCounts(columns=["clicks", "opens"]).apply(df, ROLES)


def test_impute_missing_counts_text_column() -> None:
    df = pd.DataFrame({"user_id": ["u1"], "clicks": ["many"]})
    with pytest.raises(InputDataError, match="column 'clicks' must be numeric, found type str"):
        ImputeMissingCounts(columns=["clicks"]).apply(df, ROLES)


# --- cap_outliers ---------------------------------------------------------------------------


def test_cap_outliers_upper_only() -> None:
    revenue = [float(v) for v in range(1, 100)] + [10_000.0]  # 100 values, one huge
    df = pd.DataFrame({"user_id": range(100), "revenue": revenue})
    out, audit = _apply(WinsorizeOutliers(column="revenue", upper_quantile=0.95), df)
    cap = float(np.quantile(revenue, 0.95))
    assert audit.details["cap"] == pytest.approx(cap)
    n_above = sum(v > cap for v in revenue)
    assert audit.values_changed == audit.details["capped_above"] == n_above == 5
    assert out["revenue"].max() == pytest.approx(cap)
    assert audit.details["lower_cap"] is None
    assert audit.rows_out == audit.rows_in


def test_cap_outliers_both_sides_pooled_across_variants() -> None:
    df = pd.DataFrame(
        {
            "variant": ["A"] * 5 + ["B"] * 5,
            "spend": [-50.0, 1, 2, 3, 4, 5, 6, 7, 8, 500],
        }
    )
    out, audit = _apply(
        WinsorizeOutliers(column="spend", upper_quantile=0.9, lower_quantile=0.1), df
    )
    pooled = df["spend"].to_numpy()
    low, high = np.quantile(pooled, 0.1), np.quantile(pooled, 0.9)
    assert audit.details["cap"] == pytest.approx(high)
    assert audit.details["lower_cap"] == pytest.approx(low)
    assert audit.details["capped_above"] == 1
    assert audit.details["capped_below"] == 1
    assert audit.values_changed == 2
    assert out["spend"].iloc[0] == pytest.approx(low)
    assert out["spend"].iloc[-1] == pytest.approx(high)
    assert out["spend"].iloc[1:-1].tolist() == df["spend"].iloc[1:-1].tolist()


def test_cap_outliers_ignores_missing_values() -> None:
    df = pd.DataFrame({"revenue": [1.0, 2.0, np.nan, 3.0, 100.0]})
    out, audit = _apply(WinsorizeOutliers(column="revenue", upper_quantile=0.5), df)
    assert audit.details["cap"] == pytest.approx(2.5)  # median of the four present values
    assert audit.values_changed == 2
    assert np.isnan(out["revenue"].iloc[2])


@pytest.mark.parametrize("q", [0, 1, 1.5, -0.1, "0.9", True])
def test_cap_outliers_rejects_bad_quantile(q) -> None:
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        WinsorizeOutliers(column="revenue", upper_quantile=q)


def test_cap_outliers_lower_must_be_below_upper() -> None:
    with pytest.raises(ConfigError, match="must be below upper_quantile"):
        WinsorizeOutliers(column="revenue", upper_quantile=0.5, lower_quantile=0.6)


def test_cap_outliers_missing_column() -> None:
    with pytest.raises(InputDataError, match="'revenue'"):
        WinsorizeOutliers(column="revenue").apply(pd.DataFrame({"x": [1]}), ROLES)


# --- building and running -------------------------------------------------------------------


def test_build_and_run_pipeline_of_strategies() -> None:
    df = pd.DataFrame(
        {
            "experiment": ["e1"] * 7,
            "user_id": ["u1", "u1", "u2", "u3", "u3", "u4", "u5"],
            "variant": [
                "Control",
                "Control",
                "treatment ",
                "Control",
                "Treatment",
                "Control",
                "Treatment",
            ],
            "clicks": [1.0, 1.0, np.nan, 2.0, 3.0, 4.0, 5.0],
            "revenue": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1000.0],
        }
    )
    before = df.copy(deep=True)
    strategies = build_cleaning_strategies(
        [
            {"name": "normalize_variant_labels"},
            {"name": "drop_duplicate_rows"},
            {"name": "drop_multi_variant_units"},
            {"name": "impute_missing_counts", "columns": ["clicks"]},
            {"name": "cap_outliers", "column": "revenue", "upper_quantile": 0.9},
        ]
    )
    out, audits = run_cleaning(df, strategies, ROLES)
    pd.testing.assert_frame_equal(df, before)
    assert [a.strategy for a in audits] == [
        "normalize_variant_labels",
        "drop_duplicate_rows",
        "drop_multi_variant_units",
        "impute_missing_counts",
        "cap_outliers",
    ]
    assert [(a.rows_in, a.rows_out) for a in audits] == [(7, 7), (7, 6), (6, 4), (4, 4), (4, 4)]
    assert out["user_id"].tolist() == ["u1", "u2", "u4", "u5"]
    assert out["variant"].tolist() == ["Control", "Treatment", "Control", "Treatment"]
    assert out["clicks"].tolist() == [1, 0, 4, 5]
    assert audits[4].values_changed == 1
    json.dumps([a.to_dict() for a in audits])


def test_run_cleaning_with_no_strategies_returns_copy() -> None:
    df = pd.DataFrame({"user_id": ["u1"], "variant": ["A"]})
    out, audits = run_cleaning(df, [], ROLES)
    assert audits == []
    assert out is not df
    pd.testing.assert_frame_equal(out, df)


def test_unknown_strategy_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match="unknown cleaning strategy 'dedupe'") as info:
        build_cleaning_strategies([{"name": "dedupe"}])
    for name in CLEANING_STRATEGIES:
        assert name in str(info.value)


def test_unknown_parameter_names_strategy_and_parameter() -> None:
    with pytest.raises(
        ConfigError, match="'cap_outliers' got unknown parameter.*'quantile'.*valid parameters"
    ):
        build_cleaning_strategies([{"name": "cap_outliers", "column": "x", "quantile": 0.9}])


def test_parameter_on_parameterless_strategy() -> None:
    with pytest.raises(ConfigError, match="'drop_duplicate_rows' got unknown parameter.*'subset'"):
        build_cleaning_strategies([{"name": "drop_duplicate_rows", "subset": ["a"]}])


def test_missing_required_parameter() -> None:
    with pytest.raises(
        ConfigError, match="'impute_missing_counts' is missing required parameter.*'columns'"
    ):
        build_cleaning_strategies([{"name": "impute_missing_counts"}])


@pytest.mark.parametrize(
    "specs, message",
    [
        ([{"columns": ["x"]}], "has no 'name'"),
        (["drop_duplicate_rows"], "must be a mapping"),
        ({"name": "drop_duplicate_rows"}, "must be a list"),
        ([{"name": "impute_missing_counts", "columns": "clicks"}], "must be a list of column"),
    ],
)
def test_malformed_specs(specs, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_cleaning_strategies(specs)
