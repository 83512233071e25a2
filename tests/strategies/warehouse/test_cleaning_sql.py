"""Cleaning in SQL equals cleaning in pandas: same rows, same audits, same errors.

The reference is :func:`strategies.cleaning.run_cleaning` on the frame the engine holds (as
``engine.fetch("SELECT * FROM source")`` returns it, i.e. what the pandas pipeline would load).
Audits are compared field by field; the only normalisation is for lists whose pandas order is
"first appearance" (label changes, unmatched labels, example units), which SQL lists in value
order — those are compared as sorted lists, and the "5 smallest" rule is checked on its own.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategies.cleaning import (
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
from strategies.warehouse import cleaning_sql
from strategies.warehouse.cleaning_sql import clean_in_engine, cleaning_query

ROLES = ColumnRoles(
    unit_column="user_id",
    variant_column="variant",
    experiment_column="experiment",
    variants=("Control", "Treatment"),
)

ALL_SPECS = [
    {"name": "normalize_variant_labels"},
    {"name": "drop_duplicate_rows"},
    {"name": "drop_multi_variant_units"},
    {"name": "impute_missing_counts", "columns": ["clicks", "orders"]},
    {"name": "cap_outliers", "column": "revenue", "upper_quantile": 0.9, "lower_quantile": 0.05},
    {"name": "cap_outliers", "column": "orders", "upper_quantile": 0.8},
]


def _messy() -> pd.DataFrame:
    """Every problem the strategies fix, with integer and float columns and NULLs."""
    obj = dict(dtype=object)
    return pd.DataFrame(
        {
            "experiment": pd.Series(
                ["e1", " e1", "e1", "e1", "e2", "e2", "e2", None, "e1", "e1", "e1", "e2", None],
                **obj,
            ),
            "user_id": pd.Series(
                ["u1", "u1", "u2", None, "u1", "u3", "u3", "u9", "u4", "u4", "u5", "u6", None],
                **obj,
            ),
            "variant": pd.Series(
                [
                    "control ",
                    "Treatment",
                    "CONTROL",
                    "treatment",
                    "control",
                    "x",
                    "x",
                    None,
                    "control",
                    "control",
                    " treatment",
                    "Control",
                    "Control",
                ],
                **obj,
            ),
            "clicks": [1.0, np.nan, 3, 4, np.nan, 6, 6, 8, 2, 2, np.nan, 5, 1],
            "orders": [0, 1, 2, 0, 1, 7, 7, 1, 0, 0, 3, 40, 2],
            "revenue": [1.5, 2.5, 1000.0, np.nan, 3.0, 4.0, 4.0, 0.1, 2, 2, -50.0, 7.25, 1.0],
        }
    )


def _reference(engine) -> pd.DataFrame:
    return engine.fetch('SELECT * FROM "source"')


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = df.astype(str)  # NULLs sort as text too, so mixed NULL/str columns sort stably
    order = keys.sort_values(list(df.columns), kind="mergesort").index
    return df.loc[order].reset_index(drop=True)


def _assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(expected), check_dtype=True, rtol=1e-9)


def _normalised(d: dict) -> dict:
    """Audit dict with first-appearance lists put in value order (see module docstring)."""
    d = {**d, "details": dict(d["details"])}
    details = d["details"]
    if "changes" in details:
        details["changes"] = sorted(
            details["changes"], key=lambda c: (c["column"], repr(c["from"]))
        )
    if "unmatched_labels" in details:
        details["unmatched_labels"] = sorted(details["unmatched_labels"], key=repr)
    if "example_units" in details and details["units_dropped"] <= 5:
        details["example_units"] = sorted(details["example_units"], key=repr)
    return d


def _assert_close(got: Any, expected: Any, where: str = "audit") -> None:
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for key in expected:
            _assert_close(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), (where, got, expected)
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _assert_close(g, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert isinstance(got, float) and math.isclose(got, expected, rel_tol=1e-9), where
    else:
        assert type(got) is type(expected) and got == expected, (where, got, expected)


def _assert_same_audits(got: list, expected: list) -> None:
    assert [a.strategy for a in got] == [a.strategy for a in expected]
    for g, e in zip(got, expected, strict=True):
        _assert_close(_normalised(g.to_dict()), _normalised(e.to_dict()), e.strategy)


def _smallest_contaminated_units(df: pd.DataFrame, roles: ColumnRoles) -> list:
    """The five smallest contaminated units (by unit, then experiment), computed in pandas
    independently of both implementations."""
    keys = [k for k in (roles.experiment_column, roles.unit_column) if k is not None]
    rows = df[df[roles.unit_column].notna()]
    n = rows.groupby(keys, dropna=False)[roles.variant_column].nunique()
    bad = n[n > 1].reset_index()[keys]
    bad = bad.sort_values(keys[::-1], na_position="last", kind="mergesort")
    return bad[roles.unit_column].head(5).tolist()


def _with_smallest_examples(reference, strategies, roles, audits) -> list:
    """Pandas audits with example units replaced by the 5 smallest where more than 5 units
    were dropped (pandas shows the first 5 it met; SQL, having no row order, the smallest)."""
    for k, (strategy, audit) in enumerate(zip(strategies, audits, strict=True)):
        if isinstance(strategy, DropMultiVariantUnits) and audit.details["units_dropped"] > 5:
            before, _ = run_cleaning(reference, strategies[:k], roles)
            audit.details["example_units"] = _smallest_contaminated_units(before, roles)
    return audits


def _check_both_paths(engine, strategies, roles=ROLES) -> list:
    """Run SQL (temp tables and single query) and pandas; assert equal rows and audits."""
    reference = _reference(engine)
    expected, expected_audits = run_cleaning(reference, strategies, roles)
    expected_audits = _with_smallest_examples(reference, strategies, roles, expected_audits)
    audits = clean_in_engine(engine, strategies, roles)
    _assert_same_rows(engine.fetch('SELECT * FROM "cleaned"'), expected)
    _assert_same_audits(audits, expected_audits)
    sql, query_audits = cleaning_query(engine, strategies, roles)
    _assert_same_rows(engine.fetch(sql), expected)
    _assert_same_audits(query_audits, expected_audits)
    # steps as views over the source; then with the key GROUP BYs split in hash partitions
    # (as DuckDB does for large tables) — same rows and audits
    for rows_per_partition in (cleaning_sql._ROWS_PER_PARTITION, 7):
        before = cleaning_sql._ROWS_PER_PARTITION
        cleaning_sql._ROWS_PER_PARTITION = rows_per_partition
        try:
            view_audits = clean_in_engine(engine, strategies, roles, target="v", steps="views")
        finally:
            cleaning_sql._ROWS_PER_PARTITION = before
        _assert_same_rows(engine.fetch('SELECT * FROM "v"'), expected)
        _assert_same_audits(view_audits, expected_audits)
    return audits


# --- the whole chain and each strategy alone ------------------------------------------------


def test_whole_chain_equals_pandas(engine_for) -> None:
    engine = engine_for(_messy())
    audits = _check_both_paths(engine, build_cleaning_strategies(ALL_SPECS))
    # The messy frame really exercises every strategy (a test that cannot fail is no test).
    by_name = {a.strategy: a for a in audits}
    assert by_name["normalize_variant_labels"].values_changed > 0
    assert by_name["drop_duplicate_rows"].rows_dropped > 0
    assert by_name["drop_multi_variant_units"].rows_dropped > 0
    assert by_name["impute_missing_counts"].values_changed > 0
    assert audits[4].details["capped_above"] > 0 and audits[4].details["capped_below"] > 0
    assert audits[5].values_changed > 0


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s["name"])
def test_each_strategy_alone_equals_pandas(engine_for, spec: dict) -> None:
    _check_both_paths(engine_for(_messy()), build_cleaning_strategies([spec]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_frames_equal_pandas(engine_for, seed: int) -> None:
    """Larger random frames: caps from quantile_cont and every count agree with numpy/pandas."""
    rng = np.random.default_rng(seed)
    n = 3000
    labels = np.array(["control", "Control ", "treatment", " TREATMENT", "holdout"], dtype=object)
    clicks = rng.poisson(3, n).astype(float)
    clicks[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame(
        {
            "experiment": pd.Series(rng.choice(["a", "b", " a"], n), dtype=object),
            "user_id": pd.Series([f"u{i}" for i in rng.integers(0, 1500, n)], dtype=object),
            "variant": pd.Series(rng.choice(labels, n), dtype=object),
            "clicks": clicks,
            "orders": rng.integers(0, 50, n),
            "revenue": rng.lognormal(2, 1.5, n),
        }
    )
    frame = pd.concat([frame, frame.iloc[:200]], ignore_index=True)  # exact duplicates
    audits = _check_both_paths(engine_for(frame), build_cleaning_strategies(ALL_SPECS))
    assert audits[2].details["units_dropped"] > 5  # examples are then the 5 smallest units


# --- labels -----------------------------------------------------------------------------------


def test_numeric_variant_column_matched_to_text_labels(engine_for) -> None:
    """Integer arm ids matched to declared "0"/"1" become text, as pandas makes them str."""
    frame = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "variant": [0, 1, 1, 0]})
    roles = ColumnRoles("user_id", "variant", variants=("0", "1"))
    audits = _check_both_paths(engine_for(frame), [NormalizeLabels()], roles)
    assert audits[0].values_changed == 4


def test_numeric_variant_column_unmatched_label_becomes_text(engine_for) -> None:
    """Documented difference: SQL has one type per column, so the unmatched 2 is text '2'."""
    frame = pd.DataFrame({"user_id": ["a", "b", "c"], "variant": [0, 1, 2]})
    roles = ColumnRoles("user_id", "variant", variants=("0", "1"))
    engine = engine_for(frame)
    expected, expected_audits = run_cleaning(_reference(engine), [NormalizeLabels()], roles)
    audits = clean_in_engine(engine, [NormalizeLabels()], roles)
    _assert_same_audits(audits, expected_audits)
    assert audits[0].details["unmatched_labels"] == [2]
    got = engine.fetch('SELECT * FROM "cleaned" ORDER BY "user_id"')
    assert got["variant"].tolist() == ["0", "1", "2"]
    assert expected["variant"].tolist() == ["0", "1", 2]


def test_numeric_labels_untouched_without_a_match_keep_their_type(engine_for) -> None:
    frame = pd.DataFrame({"user_id": ["a", "b"], "variant": [1, 2], "experiment": [7, 7]})
    roles = ColumnRoles("user_id", "variant", "experiment", variants=("A", "B"))
    engine = engine_for(frame)
    _check_both_paths(engine, [NormalizeLabels()], roles)
    kinds = {c.name: c.kind for c in engine.columns("cleaned")}
    assert kinds["variant"] == "numeric" and kinds["experiment"] == "numeric"


def test_no_declared_variants_only_strips(engine_for) -> None:
    roles = ColumnRoles("user_id", "variant", "experiment")
    audits = _check_both_paths(engine_for(_messy()), [NormalizeLabels()], roles)
    assert audits[0].details["unmatched_labels"] == []


def test_quotes_in_labels_and_column_names(engine_for) -> None:
    """Untrusted names and values travel as identifiers and literals, never as SQL."""
    frame = pd.DataFrame(
        {
            'user "id"': pd.Series(["a", "b", "b", "c"], dtype=object),
            "arm; DROP": pd.Series(["it's ", "IT'S", "other", "o'k"], dtype=object),
            "n'": [1.0, np.nan, 2.0, 3.0],
        }
    )
    roles = ColumnRoles('user "id"', "arm; DROP", variants=("It's", "Other"))
    specs = [
        NormalizeLabels(),
        DropMultiVariantUnits(),
        ImputeMissingCounts(columns=("n'",)),
        WinsorizeOutliers(column="n'", upper_quantile=0.5),
    ]
    audits = _check_both_paths(engine_for(frame), specs, roles)
    assert audits[0].details["unmatched_labels"] == ["o'k"]


def test_duckdb_relabels_by_a_map_lookup_unless_labels_are_many(engine_for, monkeypatch) -> None:
    """On DuckDB a text label column is relabelled by ``MAP {…}[column]`` over every distinct
    label (DuckDB evaluates it once per dictionary entry, a CASE once per row); past the
    label limit, and in the transpiled CTE chain, it is the portable CASE. Same rows either
    way, NULL labels staying NULL."""
    frame = pd.DataFrame(
        {
            "user_id": pd.Series(list("abcdef"), dtype=object),
            "variant": pd.Series(["a ", "B", None, "b", "A", "it's"], dtype=object),
        }
    )
    roles = ColumnRoles("user_id", "variant", variants=("A", "B"))
    engine = engine_for(frame)
    expected, _ = run_cleaning(_reference(engine), [NormalizeLabels()], roles)

    def step_sql() -> str:
        clean_in_engine(engine, [NormalizeLabels()], roles, target="v", steps="views")
        _assert_same_rows(engine.fetch('SELECT * FROM "v"'), expected)
        view = engine.fetch("SELECT sql FROM duckdb_views() WHERE view_name = 'v'")
        return str(view["sql"].iloc[0])

    assert "map" in step_sql().lower() and "CASE" not in step_sql()
    monkeypatch.setattr(cleaning_sql, "_MAX_MAPPED_LABELS", 4)  # 5 distinct labels
    assert "CASE" in step_sql() and "map" not in step_sql().lower()
    sql, _ = cleaning_query(engine, [NormalizeLabels()], roles)
    assert "MAP" not in sql


def test_conflicting_declared_variants(engine_for) -> None:
    roles = ColumnRoles("user_id", "variant", variants=("A", "a "))
    with pytest.raises(ConfigError, match="differ only in case"):
        clean_in_engine(engine_for(_messy()), [NormalizeLabels()], roles)


# --- duplicates, units ------------------------------------------------------------------------


def test_duplicates_with_nulls_are_duplicates(engine_for) -> None:
    frame = pd.DataFrame(
        {
            "user_id": pd.Series(["a", "a", None, None, "b"], dtype=object),
            "variant": pd.Series(["A", "A", "B", "B", None], dtype=object),
            "x": [np.nan, np.nan, 1.0, 1.0, 2.0],
        }
    )
    audits = _check_both_paths(engine_for(frame), [DropDuplicateRows()], ROLES)
    assert audits[0].rows_dropped == 2


def test_multi_variant_examples_are_the_smallest_units(engine_for) -> None:
    """Seven contaminated units: the audit shows the five smallest ids, computed here by hand."""
    units = [f"u{i}" for i in (9, 3, 7, 1, 8, 2, 5)]
    frame = pd.DataFrame(
        {
            "user_id": units * 2 + ["z"],
            "variant": ["A"] * len(units) + ["B"] * len(units) + ["A"],
        }
    )
    roles = ColumnRoles("user_id", "variant")
    engine = engine_for(frame)
    (audit,) = clean_in_engine(engine, [DropMultiVariantUnits()], roles)
    assert audit.details["example_units"] == sorted(units)[:5]
    assert audit.details["units_dropped"] == 7 and audit.rows_out == 1
    (expected,) = DropMultiVariantUnits().apply(_reference(engine), roles)[1:]
    assert expected.details["units_dropped"] == 7  # pandas agrees on the counts
    assert set(audit.details["example_units"]) <= set(units)


def test_multi_variant_after_dedupe_counts_rows_left_by_dedupe(engine_for) -> None:
    """The contaminated units are found on the rows before de-duplication (same labels); the
    rows the step drops are counted after it: unit "a" has 3 rows, 1 of them a duplicate."""
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "b", "c"],
            "variant": ["A", "A", "B", "A", "A", "B"],
            "x": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    roles = ColumnRoles("user_id", "variant")
    audits = _check_both_paths(
        engine_for(frame), [DropDuplicateRows(), DropMultiVariantUnits()], roles
    )
    assert audits[0].rows_dropped == 1
    assert audits[1].rows_dropped == 2 and audits[1].details["units_dropped"] == 1


def test_null_units_and_null_variants_are_not_judged(engine_for) -> None:
    frame = pd.DataFrame(
        {
            "user_id": pd.Series([None, None, "a", "a", "b", "b"], dtype=object),
            "variant": pd.Series(["A", "B", "A", None, "A", "B"], dtype=object),
        }
    )
    roles = ColumnRoles("user_id", "variant")
    audits = _check_both_paths(engine_for(frame), [DropMultiVariantUnits()], roles)
    assert audits[0].details["units_dropped"] == 1 and audits[0].rows_out == 4


# --- counts and caps --------------------------------------------------------------------------


def test_impute_types(engine_for) -> None:
    """int without NULLs untouched; whole floats -> BIGINT; fractional floats stay DOUBLE;
    a nullable integer column (BIGINT with NULLs in the engine) is filled and stays integer."""
    frame = pd.DataFrame(
        {
            "ints": [1, 2, 3, 4],
            "whole": [1.0, np.nan, 3.0, np.nan],
            "frac": [1.5, np.nan, 3.0, 4.0],
            "nullable": pd.array([1, None, 3, None], dtype="Int64"),
            "complete": [1.5, 2.5, 3.5, 4.5],
        }
    )
    strategy = ImputeMissingCounts(columns=("ints", "whole", "frac", "nullable", "complete"))
    engine = engine_for(frame)
    (audit,) = _check_both_paths(engine, [strategy])
    assert audit.details["cast_to_int64"] == ["whole", "nullable"]
    types = {c.name: c.engine_type for c in engine.columns("cleaned")}
    assert types["ints"] == "BIGINT" and types["whole"] == "BIGINT"
    assert types["nullable"] == "BIGINT" and types["frac"] == "DOUBLE"


def test_impute_on_empty_table(engine_for) -> None:
    frame = pd.DataFrame({"c": pd.Series([], dtype=float)})
    (audit,) = _check_both_paths(engine_for(frame), [ImputeMissingCounts(columns=("c",))])
    assert audit.details["cast_to_int64"] == ["c"]


@pytest.mark.parametrize(
    ("values", "upper", "lower", "integer_out"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 0.5, None, False),  # cap 5.5: int -> DOUBLE
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 8 / 9, None, True),  # cap 9: stays integer
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 0.99, 0.5, False),  # lower 5.5 applied
        ([1.0, np.nan, 3.0, 1e6], 0.5, None, False),
        ([-5.0, 0.0, 0.5, 2.0, 8.0], 0.9, 0.1, False),
    ],
)
def test_cap_types_and_values(engine_for, values, upper, lower, integer_out) -> None:
    frame = pd.DataFrame({"m": values, "k": range(len(values))})
    strategy = WinsorizeOutliers(column="m", upper_quantile=upper, lower_quantile=lower)
    engine = engine_for(frame)
    (audit,) = _check_both_paths(engine, [strategy])
    assert audit.values_changed > 0
    kind = {c.name: c.engine_type for c in engine.columns("cleaned")}["m"]
    assert (kind == "BIGINT") is integer_out


def test_cap_literal_is_in_the_step_sql(engine_for) -> None:
    """The cap is written into the capping statement, so the step is auditable on its own."""
    frame = pd.DataFrame({"m": [1.0, 2.0, 3.0, 4.0, 50.0]})
    sql, (audit,) = cleaning_query(
        engine_for(frame), [WinsorizeOutliers(column="m", upper_quantile=0.75)], ROLES
    )
    assert audit.details["cap"] == pytest.approx(np.quantile(frame["m"], 0.75), rel=1e-12)
    assert f"THEN CAST('{audit.details['cap']!r}' AS DOUBLE)" in sql


def test_cap_on_an_all_null_column(engine_for) -> None:
    frame = pd.DataFrame({"m": [np.nan, np.nan], "k": [1, 2]})
    (audit,) = _check_both_paths(engine_for(frame), [WinsorizeOutliers(column="m")])
    assert audit.details["cap"] is None and audit.values_changed == 0


# --- errors and plumbing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "strategy",
    [
        NormalizeLabels(),
        DropMultiVariantUnits(),
        ImputeMissingCounts(columns=("clicks", "nope")),
        WinsorizeOutliers(column="nope"),
        ImputeMissingCounts(columns=("variant",)),
        WinsorizeOutliers(column="flag"),
    ],
)
def test_errors_have_the_pandas_text(engine_for, strategy) -> None:
    frame = _messy().drop(columns=["experiment"]).assign(flag=True)
    roles = ColumnRoles("user_id", "variant", "experiment", ("Control", "Treatment"))
    engine = engine_for(frame)
    with pytest.raises(InputDataError) as expected:
        strategy.apply(_reference(engine), roles)
    with pytest.raises(InputDataError) as got:
        clean_in_engine(engine, [strategy], roles)
    assert str(got.value) == str(expected.value)
    with pytest.raises(InputDataError, match=re.escape(str(expected.value))):
        cleaning_query(engine, [strategy], roles)


def test_steps_are_temp_tables_named_after_target(engine_for) -> None:
    engine = engine_for(_messy())
    strategies = build_cleaning_strategies(ALL_SPECS[:3])
    clean_in_engine(engine, strategies, ROLES, target="clean")
    for name in ("clean_1", "clean_2", "clean"):
        assert [c.name for c in engine.columns(name)] == list(_messy().columns)


def test_no_strategies_copies_source(engine_for) -> None:
    engine = engine_for(_messy())
    assert clean_in_engine(engine, [], ROLES) == []
    _assert_same_rows(engine.fetch('SELECT * FROM "cleaned"'), _reference(engine))
    assert cleaning_query(engine, [], ROLES) == ('SELECT * FROM "source"', [])


def test_bad_relation_names_and_unknown_strategy(engine_for) -> None:
    engine = engine_for(_messy())
    with pytest.raises(ConfigError, match="target relation name"):
        clean_in_engine(engine, [], ROLES, target='x"; DROP TABLE source; --')
    with pytest.raises(ConfigError, match="source relation name"):
        cleaning_query(engine, [], ROLES, source="Source")

    class Custom(DropDuplicateRows.__mro__[1]):  # a CleaningStrategy without SQL
        name = "custom"

        def apply(self, df, roles):  # pragma: no cover - never called
            return df, None

    with pytest.raises(ConfigError, match="'custom' has no SQL version"):
        clean_in_engine(engine, [Custom()], ROLES)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 1001])
def test_cap_quantile_from_order_statistics_equals_numpy(engine_for, n: int) -> None:
    """The cap is read from two order statistics (top-N, not an all-rows quantile aggregate):
    it equals numpy.quantile exactly, at both ends and in the middle, NULLs ignored."""
    rng = np.random.default_rng(n)
    values = np.round(rng.lognormal(2, 1.5, n), 3)
    values[rng.random(n) < 0.1] = 0.0  # ties
    column = pd.Series(np.append(values, np.nan))  # one NULL, ignored
    frame = pd.DataFrame({"user_id": range(n + 1), "variant": "A", "revenue": column})
    engine = engine_for(frame)
    for lower, upper in ((0.01, 0.999), (0.25, 0.5), (0.4999, 0.77), (0.001, 0.99)):
        strategy = WinsorizeOutliers(column="revenue", upper_quantile=upper, lower_quantile=lower)
        (audit,) = clean_in_engine(engine, [strategy], ROLES)
        assert audit.details["cap"] == float(np.quantile(values, upper)), upper
        assert audit.details["lower_cap"] == float(np.quantile(values, lower)), lower
