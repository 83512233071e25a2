"""Sufficient statistics computed *in* the engine that holds the rows (DESIGN.md §2.2, §5).

The A/B analysis only needs small tables: per experiment × segment × variant × metric the
sums ``n, Σy, Σy², Σx, Σx², Σxy`` (+ CUPED ``Σz, Σz², Σyz, Σxz``), per experiment × variant
the funnel stage totals, and, for the sequential layer, the same sums per day or week. This
module computes them with one SQL statement each on a :class:`~strategies.engines.base.SqlEngine`
(DuckDB, PostgreSQL, Spark), so raw rows never leave the warehouse; the frames returned are
*identical* (columns, dtypes, labels, row order; sums to rounding) to those the pandas
functions build from rows:

* :func:`aggregate_in_engine` == :func:`strategies.stats.aggregate.aggregate`;
* :func:`funnel_in_engine` == :func:`strategies.stats.aggregate.funnel_totals`;
* :func:`period_stats_in_engine` ==
  :func:`strategies.stats.layers.sequential.period_stats_from_data`.

How
---
SQL is written once in DuckDB's dialect (the engine transpiles it) with only constructs
PostgreSQL and Spark share: ``GROUP BY``, ``GROUPING SETS`` + ``GROUPING()``, ``CASE``,
``CAST``, ``SUM``/``COUNT``, ``date_trunc``. Identifiers are quoted; the only values in the SQL
are liftlab's own literals. The statistics query first sums over the finest cells (experiment
× [period ×] variant × every segment column) and then rolls the cells up with ``GROUPING
SETS``: one set for the overall level and one per segment column. Every key is first
re-projected under a private alias, so a segment column that is also the variant column (or
repeated) is still a distinct grouping set, told apart by its ``GROUPING()`` flag.

Labels are *not* formatted in SQL (``CAST(x AS VARCHAR)`` prints floats and booleans
differently per dialect): the few distinct key values come back typed and are labelled in
Python by :func:`strategies.stats.aggregate.encode_values`, the function ``aggregate`` itself
uses, so labels and their order (2 < 10, NULL last as ``<NA>``) are the same by construction:

* integer columns (engine type with INT/LONG/SHORT/BYTE) → ``"2"``, also when they hold NULLs
  (pandas would store such a column as float64 and print ``"2.0"`` unless it is nullable
  ``Int64``; the warehouse type is the truth here);
* text → the text; booleans → ``"True"``/``"False"`` (pandas ``str``); floats → Python's
  ``str`` of the float64 (``"1.5"``, ``"2.0"``), as pandas does for a float64 column;
* NULL → ``"<NA>"``; a pandas categorical with a non-alphabetical category order has no SQL
  equivalent: warehouse text sorts as strings.

Input checks are SQL counts (one scan) raising the same errors, with the same messages, as the
pandas checks (``check_ab_input``, ``aggregate``, ``funnel_totals``, the sequential layer);
only the engine's type name replaces the pandas dtype in "must be numeric" messages, and the
"e.g." examples of a bad proportion column are its smallest bad values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from strategies.engines.base import Column, SqlEngine, is_integer_column
from strategies.engines.dialects import literal, quote_ident
from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import (
    DEFAULT_EXPERIMENT,
    as_column_list,
    check_variants_per_experiment,
    encode_values,
    expand_metrics,
    summed_products,
)
from strategies.stats.metrics import MetricSpec, check_metric_specs, metric_columns
from strategies.stats.schema import FUNNEL_COLUMNS, LABEL_COLUMNS, OVERALL_SEGMENT

__all__ = [
    "PERIOD_COLUMN",
    "RowCounts",
    "StatisticsScan",
    "aggregate_in_engine",
    "check_ab_relation",
    "check_aggregate_relation",
    "funnel_in_engine",
    "period_stats_in_engine",
    "relation_columns",
    "row_counts",
    "scan_statistics",
]

#: The period column of :func:`period_stats_in_engine` (as in the sequential layer).
PERIOD_COLUMN = "_period"

Period = Literal["day", "week"]


# --------------------------------------------------------------------------------------------
# SQL helpers


def _relation_sql(relation: str) -> str:
    """``source`` or a temp table, optionally ``schema.table``: each part quoted."""
    return ".".join(quote_ident(part) for part in relation.split("."))


def relation_columns(engine: SqlEngine, relation: str) -> dict[str, Column]:
    """The relation's columns by name, in order (metadata only, no scan)."""
    return {c.name: c for c in engine.columns(relation)}


def _is_numeric(column: Column) -> bool:
    # pandas counts booleans as numeric (is_numeric_dtype(bool) is True), so do we.
    return column.kind in ("numeric", "boolean")


def _as_double(column: Column) -> str:
    """The column as DOUBLE; booleans go through INTEGER (PostgreSQL has no bool → float8)."""
    if column.kind == "boolean":
        return f"CAST(CAST({quote_ident(column.name)} AS INTEGER) AS DOUBLE)"
    return f"CAST({quote_ident(column.name)} AS DOUBLE)"


def _count_if(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _typed_labels(values: pd.Series, column: Column | None) -> pd.Series:
    """Fetched key values in the type pandas would label them with (see the module doc)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if is_integer_column(column):
        return pd.Series(
            pd.array([None if pd.isna(v) else int(v) for v in values], dtype="Int64"),
            index=values.index,
        )
    return values


# --------------------------------------------------------------------------------------------
# input checks as SQL counts


@dataclass(frozen=True)
class RowCounts:
    """Counts of one scan: rows, NULL labels, missing/infinite metric values, non-0/1
    proportion values (each by column)."""

    n_rows: int
    null_labels: dict[str, int]
    missing: dict[str, int]
    infinite: dict[str, int]
    not_binary: dict[str, int]


def row_counts(
    engine: SqlEngine,
    relation: str,
    columns: dict[str, Column],
    *,
    label_columns: Sequence[str] = (),
    numeric_columns: Sequence[str] = (),
    binary_columns: Sequence[str] = (),
) -> RowCounts:
    """One scan counting what the pandas checks look for. ``numeric_columns`` must already be
    known numeric; "missing" is NULL or NaN (pandas' NaN), "infinite" is ±Infinity."""
    label_columns = list(dict.fromkeys(label_columns))
    numeric_columns = list(dict.fromkeys(numeric_columns))
    binary_columns = [
        c for c in dict.fromkeys(binary_columns) if columns[c].kind != "boolean"
    ]  # booleans are 0/1 by type
    select = ["COUNT(*) AS n_rows"]
    for i, c in enumerate(label_columns):
        select.append(f"{_count_if(f'{quote_ident(c)} IS NULL')} AS l{i}")
    for i, c in enumerate(numeric_columns):
        x = _as_double(columns[c])
        # NaN = NaN is true in DuckDB, PostgreSQL and Spark (all three order NaN as one value),
        # unlike IEEE; that is what makes this comparison a portable NaN test.
        select.append(f"{_count_if(f'{x} IS NULL OR {x} = {literal(math.nan)}')} AS m{i}")
        select.append(
            f"{_count_if(f'{x} = {literal(math.inf)} OR {x} = {literal(-math.inf)}')} AS i{i}"
        )
    for i, c in enumerate(binary_columns):
        x = _as_double(columns[c])
        select.append(f"{_count_if(f'{x} IS NULL OR ({x} <> 0 AND {x} <> 1)')} AS b{i}")
    frame = engine.fetch(f"SELECT {', '.join(select)} FROM {_relation_sql(relation)}")
    row = frame.iloc[0]

    def count(name: str) -> int:
        value = row[name]
        return 0 if pd.isna(value) else int(value)  # SUM over no rows is NULL

    return RowCounts(
        n_rows=count("n_rows"),
        null_labels={c: count(f"l{i}") for i, c in enumerate(label_columns)},
        missing={c: count(f"m{i}") for i, c in enumerate(numeric_columns)},
        infinite={c: count(f"i{i}") for i, c in enumerate(numeric_columns)},
        not_binary={c: count(f"b{i}") for i, c in enumerate(binary_columns)},
    )


_NO_ROWS_TO_ANALYSE = "the input table has no rows; nothing to analyse"


def _n_rows(engine: SqlEngine, relation: str) -> int:
    return int(engine.fetch(f"SELECT COUNT(*) AS n FROM {_relation_sql(relation)}")["n"].iloc[0])


def _missing_columns_message(
    columns: dict[str, Column], roles: dict[str, list[str]], tail: str
) -> str | None:
    """aggregate's message: each missing column with every role that needs it."""
    needed = [c for cols in roles.values() for c in cols]
    missing = [c for c in dict.fromkeys(needed) if c not in columns]
    if not missing:
        return None
    detail = ", ".join(
        f"{c!r} (needed by {', '.join(r for r, cols in roles.items() if c in cols)})"
        for c in missing
    )
    return f"missing column(s): {detail}; {tail}: {', '.join(columns)}"


def _check_numeric_kinds(columns: dict[str, Column], names: Sequence[str], purpose: str) -> None:
    bad = [f"{c!r} ({columns[c].engine_type})" for c in names if not _is_numeric(columns[c])]
    if bad:
        raise InputDataError(f"{purpose} column(s) must be numeric: {', '.join(bad)}")


def _raise_label_nulls(counts: RowCounts, names: Sequence[str]) -> None:
    for c in names:
        n = counts.null_labels.get(c, 0)
        if n:
            raise InputDataError(f"column {c!r} has {n} missing value(s); every unit needs a label")


def _raise_bad_values(counts: RowCounts, names: Sequence[str], purpose: str) -> None:
    problems = []
    for c in dict.fromkeys(names):
        n_nan, n_inf = counts.missing.get(c, 0), counts.infinite.get(c, 0)
        if n_nan or n_inf:
            kinds = [f"{n_nan} missing"] * bool(n_nan) + [f"{n_inf} infinite"] * bool(n_inf)
            problems.append(f"{c!r} ({', '.join(kinds)})")
    if problems:
        raise InputDataError(
            f"{purpose} column(s) with missing or infinite values: {', '.join(problems)}; "
            "clean or impute them before the analysis"
        )


def _raise_not_binary(
    engine: SqlEngine, relation: str, columns: dict[str, Column], counts: RowCounts
) -> None:
    for c, n in counts.not_binary.items():
        if not n:
            continue
        x = _as_double(columns[c])
        fetched = engine.fetch(
            f"SELECT DISTINCT {quote_ident(c)} AS v FROM {_relation_sql(relation)} "
            f"WHERE {x} <> 0 AND {x} <> 1 ORDER BY v LIMIT 3"
        )["v"]
        examples = _typed_labels(fetched, columns[c]).tolist()
        raise InputDataError(
            f"proportion column {c!r} must hold only 0/1 values; "
            f"{n} row(s) do not (e.g. {', '.join(map(repr, examples))})"
        )


def _aggregate_roles(
    specs: Sequence[MetricSpec],
    variant_column: str,
    experiment_column: str | None,
    segment_columns: Sequence[str],
) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {"variant_column": [variant_column]}
    if experiment_column is not None:
        roles["experiment_column"] = [experiment_column]
    if segment_columns:
        roles["segment_columns"] = list(segment_columns)
    for m in specs:
        roles[f"metric {m.name!r}"] = list(m.columns())
    return roles


def check_aggregate_relation(
    engine: SqlEngine,
    relation: str,
    columns: dict[str, Column],
    specs: Sequence[MetricSpec],
    variant_column: str,
    experiment_column: str | None,
    segment_columns: Sequence[str],
    counts: RowCounts | None = None,
) -> RowCounts:
    """aggregate's input checks (same order, same messages) as one counting scan; returns the
    counts (``n_rows`` among them). ``counts`` taken already (:meth:`StatisticsScan.row_counts`)
    save the scan."""
    roles = _aggregate_roles(specs, variant_column, experiment_column, segment_columns)
    message = _missing_columns_message(columns, roles, "available columns")
    if message:
        raise InputDataError(message)
    values = list(metric_columns(specs))
    _check_numeric_kinds(columns, values, "metric")
    labels = [variant_column] + ([experiment_column] if experiment_column is not None else [])
    if counts is None:
        counts = row_counts(
            engine,
            relation,
            columns,
            label_columns=labels,
            numeric_columns=values,
            binary_columns=[m.y_column for m in specs if m.type == "proportion"],
        )
    _raise_aggregate_counts(engine, relation, columns, counts, specs, labels)
    return counts


def _raise_aggregate_counts(
    engine: SqlEngine,
    relation: str,
    columns: dict[str, Column],
    counts: RowCounts,
    specs: Sequence[MetricSpec],
    labels: Sequence[str],
) -> None:
    if counts.n_rows == 0:
        raise InputDataError("the input table has no rows")
    _raise_label_nulls(counts, labels)
    _raise_bad_values(counts, metric_columns(specs), "metric")
    _raise_not_binary(engine, relation, columns, counts)


def check_ab_relation(
    engine: SqlEngine,
    relation: str,
    columns: dict[str, Column],
    *,
    unit_column: str,
    variant_column: str,
    control: str,
    variants: Sequence[str],
    experiment_column: str | None,
    experiment_name: str,
    segment_columns: Sequence[str],
    metrics: Sequence[MetricSpec],
    pairs: pd.DataFrame | None = None,
) -> None:
    """:func:`strategies.stats.run.check_ab_input` on a relation: missing columns, non-numeric
    metric columns, then per experiment (sorted) a missing control or no declared treatment,
    with the same messages. Variant labels are compared as the strings ``aggregate`` makes.
    ``pairs`` (columns ``e``, ``v``: :meth:`StatisticsScan.pairs`) saves the scan for them."""
    needed: dict[str, str] = {unit_column: "unit_column", variant_column: "variant_column"}
    if experiment_column:
        needed[experiment_column] = "experiment_column"
    for column in segment_columns:
        needed[column] = "segment_columns"
    for spec in metrics:
        for column in spec.columns():
            needed.setdefault(column, f"metric {spec.name!r}")
    missing = [f"{c!r} (needed by {why})" for c, why in needed.items() if c not in columns]
    if missing and _n_rows(engine, relation) == 0:
        raise InputDataError(_NO_ROWS_TO_ANALYSE)
    if missing:
        raise InputDataError(
            f"missing column(s): {', '.join(missing)}; the data has: {', '.join(columns)}"
        )
    # check_ab_input looks for rows first; with every column present, the variant labels
    # query below doubles as the row count (GROUP BY over no rows returns no rows)
    v = quote_ident(variant_column)
    if pairs is None and experiment_column:
        e = quote_ident(experiment_column)
        pairs = engine.fetch(
            f"SELECT {e} AS e, {v} AS v FROM {_relation_sql(relation)} GROUP BY {e}, {v}"
        )
    elif pairs is None:
        pairs = engine.fetch(f"SELECT {v} AS v FROM {_relation_sql(relation)} GROUP BY {v}")
    if pairs.empty:
        raise InputDataError(_NO_ROWS_TO_ANALYSE)
    for spec in metrics:
        for column in spec.columns():
            if not _is_numeric(columns[column]):
                raise InputDataError(
                    f"column {column!r} (metric {spec.name!r}) must be numeric, "
                    f"found {columns[column].engine_type}"
                )
    if experiment_column:
        pairs = pairs.assign(
            e=_typed_labels(pairs["e"], columns[experiment_column]),
            v=_typed_labels(pairs["v"], columns[variant_column]),
        )
        pairs = pairs[pairs["e"].notna() & pairs["v"].notna()]
        groups = [(experiment, part["v"]) for experiment, part in _sorted_groups(pairs["e"], pairs)]
    else:
        labels = _typed_labels(pairs["v"], columns[variant_column])
        groups = [(experiment_name, labels[labels.notna()])]
    for experiment, labels in groups:
        present = {str(x) for x in labels}
        if control not in present:
            raise InputDataError(
                f"experiment {experiment!r} has no rows for the control variant "
                f"{control!r} (variants found: {sorted(present)})"
            )
        if not present & set(variants):
            raise InputDataError(
                f"experiment {experiment!r} has only one variant ({control!r}); "
                f"an A/B test needs the control and at least one of {list(variants)}"
            )


def _sorted_groups(keys: pd.Series, frame: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
    """(key, rows) in sorted key order, keys as Python values (as pandas' groupby yields)."""
    codes, uniques = pd.factorize(keys, sort=True)
    return [(uniques[i], frame[codes == i]) for i in range(len(uniques))]


# --------------------------------------------------------------------------------------------
# the statistics query


@dataclass(frozen=True)
class _Key:
    """A grouping key: its alias in the query, its SQL expression and its column (None for the
    constant experiment or a computed period)."""

    alias: str
    expr: str
    column: Column | None


def _statistics_sql(
    relation: str,
    keys: Sequence[_Key],
    segments: Sequence[Column],
    values: Sequence[Column],
    products: Sequence[tuple[str, ...]],
    facts: _FactColumns | None = None,
) -> str:
    """Finest cells first, then GROUPING SETS: the overall level and one set per segment.
    With ``facts``, the same scan also counts rows per condition and non-NULL values per
    column, and sums the value columns no product sums alone (see :func:`scan_statistics`)."""
    facts = facts or _FactColumns()
    value_alias = {c.name: f"ll_c{i}" for i, c in enumerate(values)}
    rows_x = [i for i in range(len(facts.conditions)) if i not in facts.on_keys]
    rows_o = [i for i in range(len(facts.present)) if i not in facts.present_on_keys]
    units = (
        [f"{k.expr} AS {quote_ident(k.alias)}" for k in keys]
        + [f"{quote_ident(c.name)} AS {quote_ident(f'll_s{i}')}" for i, c in enumerate(segments)]
        + [f"{_as_double(c)} AS {quote_ident(value_alias[c.name])}" for c in values]
        + [f"CASE WHEN {facts.conditions[i]} THEN 1 ELSE 0 END AS ll_x{i}" for i in rows_x]
        + [f"{quote_ident(facts.present[i])} AS ll_o{i}" for i in rows_o]
    )
    cell_keys = [quote_ident(k.alias) for k in keys] + [
        quote_ident(f"ll_s{i}") for i in range(len(segments))
    ]
    fine = ["COUNT(*) AS ll_p0"] + [
        f"SUM({' * '.join(quote_ident(value_alias[c]) for c in product)}) AS ll_p{j}"
        for j, product in enumerate(products, start=1)
    ]
    extra = (
        [f"ll_x{i}" for i in rows_x]
        + [f"ll_o{i}" for i in rows_o]
        + [f"ll_k{i}" for i in range(len(values) if facts.count_values else 0)]
        + [f"ll_t{i}" for i in range(len(facts.sums))]
    )
    fine += [f"SUM(ll_x{i}) AS ll_x{i}" for i in rows_x]
    fine += [f"COUNT(ll_o{i}) AS ll_o{i}" for i in rows_o]
    fine += [f"MIN({quote_ident(value_alias[c])}) AS ll_min{i}" for i, c in enumerate(facts.ranges)]
    fine += [f"MAX({quote_ident(value_alias[c])}) AS ll_max{i}" for i, c in enumerate(facts.ranges)]
    if facts.count_values:
        fine += [
            f"COUNT({quote_ident(value_alias[c.name])}) AS ll_k{i}" for i, c in enumerate(values)
        ]
    fine += [f"SUM({quote_ident(value_alias[c])}) AS ll_t{i}" for i, c in enumerate(facts.sums)]
    key_list = ", ".join(quote_ident(k.alias) for k in keys)
    sets = [f"({key_list})"] + [
        f"({key_list}, {quote_ident(f'll_s{i}')})" for i in range(len(segments))
    ]
    flags = [f"GROUPING({quote_ident(f'll_s{i}')}) AS ll_g{i}" for i in range(len(segments))]
    rollup = (
        ["CAST(SUM(ll_p0) AS BIGINT) AS ll_p0"]
        + [f"SUM(ll_p{j}) AS ll_p{j}" for j in range(1, len(products) + 1)]
        + [f"SUM({x}) AS {x}" for x in extra]
        + [f"MIN(ll_min{i}) AS ll_min{i}" for i in range(len(facts.ranges))]
        + [f"MAX(ll_max{i}) AS ll_max{i}" for i in range(len(facts.ranges))]
        + [
            f"SUM(CASE WHEN {facts.conditions[i]} THEN ll_p0 ELSE 0 END) AS ll_x{i}"
            for i in sorted(facts.on_keys)
        ]
        + [
            f"SUM(CASE WHEN {quote_ident(facts.present[i])} IS NOT NULL THEN ll_p0 ELSE 0 END)"
            f" AS ll_o{i}"
            for i in sorted(facts.present_on_keys)
        ]
    )
    cells = "ll_cells"
    if facts.key_names:  # the key columns under their own names, for conditions on them
        renamed = ", ".join(
            f"{quote_ident(alias)} AS {quote_ident(name)}"
            for name, alias in facts.key_names.items()
        )
        cells = f"(SELECT *, {renamed} FROM ll_cells) AS ll_cells"
    return (
        f"WITH ll_units AS (SELECT {', '.join(units)} FROM {_relation_sql(relation)}), "
        f"ll_cells AS (SELECT {', '.join(cell_keys)}, {', '.join(fine)} FROM ll_units "
        f"GROUP BY {', '.join(cell_keys)}) "
        f"SELECT {', '.join([*cell_keys, *flags, *rollup])} FROM {cells} "
        f"GROUP BY GROUPING SETS ({', '.join(sets)})"
    )


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return encode_values(values.reset_index(drop=True))


def _statistics_frame(
    result: pd.DataFrame,
    *,
    specs: Sequence[MetricSpec],
    products: Sequence[tuple[str, ...]],
    product_index: dict[tuple[str, ...], int],
    experiment: _Key | None,
    experiment_name: str,
    variant: _Key,
    period: _Key | None,
    segments: Sequence[Column],
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The fetched GROUPING SETS rows → aggregate's long frame (and each row's period)."""
    n = len(result)
    matrix = np.column_stack(
        [result[f"ll_p{j}"].to_numpy(dtype=np.float64) for j in range(len(products) + 1)]
    )
    if experiment is None:
        exp_code = np.zeros(n, dtype=np.int64)
        exp_labels = np.array([experiment_name], dtype=object)
    else:
        exp_code, exp_labels = _codes(_typed_labels(result[experiment.alias], experiment.column))
    var_code, var_labels = _codes(_typed_labels(result[variant.alias], variant.column))
    periods: np.ndarray | None = None
    period_code = np.zeros(n, dtype=np.int64)
    if period is not None:
        period_code, periods = _period_codes(result[period.alias])

    level = np.zeros(n, dtype=np.int64)
    for i in range(len(segments)):
        level[result[f"ll_g{i}"].to_numpy() == 0] = i + 1
    seg_code = np.zeros(n, dtype=np.int64)
    seg_label = np.full(n, OVERALL_SEGMENT, dtype=object)
    for i, column in enumerate(segments):
        rows = level == i + 1
        codes, values = _codes(_typed_labels(result.loc[rows, f"ll_s{i}"], column))
        seg_code[rows] = codes
        seg_label[rows] = np.array([f"{column.name}={v}" for v in values], dtype=object)[codes]

    overall = level == 0
    check_variants_per_experiment(exp_code[overall], var_code[overall], exp_labels, var_labels)
    order = np.lexsort((var_code, seg_code, level, period_code, exp_code))
    frame = expand_metrics(
        exp_labels[exp_code[order]],
        seg_label[order],
        var_labels[var_code[order]],
        matrix[order],
        specs,
        product_index,
    )
    # one row per group × metric, metrics fastest (as expand_metrics lays them out)
    row_periods = None if periods is None else np.repeat(periods[period_code[order]], len(specs))
    return frame, row_periods


def _period_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted codes of the fetched period starts, as naive UTC datetime64[us]."""
    stamps = pd.to_datetime(values.reset_index(drop=True))
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    codes, uniques = pd.factorize(stamps.astype("datetime64[us]"), sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype="datetime64[us]")


def _keys(
    columns: dict[str, Column], variant_column: str, experiment_column: str | None
) -> tuple[_Key | None, _Key]:
    experiment = (
        None
        if experiment_column is None
        else _Key("ll_e", quote_ident(experiment_column), columns[experiment_column])
    )
    return experiment, _Key("ll_v", quote_ident(variant_column), columns[variant_column])


def _value_columns(columns: dict[str, Column], products) -> list[Column]:
    return [columns[c] for c in dict.fromkeys(c for p in products for c in p)]


def aggregate_in_engine(
    engine: SqlEngine,
    relation: str,
    metrics: Sequence[MetricSpec],
    *,
    variant_column: str,
    experiment_column: str | None,
    experiment_name: str = DEFAULT_EXPERIMENT,
    segment_columns: Sequence[str] = (),
    checked: bool = False,
) -> pd.DataFrame:
    """:func:`strategies.stats.aggregate.aggregate` of ``relation``'s rows, computed in the
    engine: the identical frame (``STATS_COLUMNS``, dtypes, string labels, row order), sums
    equal to ~1e-13 relative (DOUBLE sums are not compensated).

    Without ``experiment_column`` every row belongs to one experiment labelled
    ``experiment_name`` (``aggregate`` labels it ``"experiment"``, the default here; the A/B run
    names it after ``ABDesign.experiment_name``). Raises InputDataError with ``aggregate``'s
    messages; ``checked=True`` skips the checks (the caller ran them on this relation).
    """
    specs = check_metric_specs(metrics)
    segment_columns = as_column_list(segment_columns)
    columns = relation_columns(engine, relation)
    if not checked:
        check_aggregate_relation(
            engine, relation, columns, specs, variant_column, experiment_column, segment_columns
        )
    return scan_statistics(
        engine,
        relation,
        specs,
        variant_column=variant_column,
        experiment_column=experiment_column,
        experiment_name=experiment_name,
        segment_columns=segment_columns,
        facts=False,
    ).frame()


# --------------------------------------------------------------------------------------------
# one scan: statistics, the input checks' counts, validation counts and funnel totals


@dataclass(frozen=True)
class _FactColumns:
    """What a statistics scan counts besides the sums (see :func:`scan_statistics`)."""

    conditions: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    count_values: bool = False
    sums: tuple[str, ...] = ()
    condition_keys: tuple[str, ...] = ()
    ranges: tuple[str, ...] = ()
    key_names: dict[str, str] = field(default_factory=dict)
    """Key column → its alias, for conditions and NULL counts on key columns only: those are
    evaluated once per cell (weighted by its rows) instead of once per row."""
    on_keys: frozenset[int] = frozenset()
    """Indexes of ``conditions`` over key columns only."""
    present_on_keys: frozenset[int] = frozenset()


@dataclass
class StatisticsScan:
    """The statistics query's fetched rows with the facts counted in the same scan.

    The input checks of :func:`check_ab_relation`, :func:`check_aggregate_relation` and
    :func:`funnel_in_engine` need only counts the statistics scan can take per cell on the
    way: the (experiment, variant) pairs are its cells, NULL labels its cells with a NULL
    key, missing metric values ``n`` minus ``COUNT(x)``, and a value column is free of NaN and
    ±Infinity exactly when its sum is finite (both poison a sum). Three scans become one.
    Only a non-finite sum is inconclusive (a NaN, an infinity or an overflow): then
    :meth:`row_counts` returns None and the caller counts exactly with :func:`row_counts`.
    """

    result: pd.DataFrame
    specs: Sequence[MetricSpec]
    products: list[tuple[str, ...]]
    product_index: dict[tuple[str, ...], int]
    experiment: _Key | None
    variant: _Key
    segments: list[Column]
    experiment_name: str
    values: list[Column]
    facts: _FactColumns

    @cached_property
    def overall(self) -> pd.DataFrame:
        """One row per (experiment, variant) cell: the overall grouping set (every count
        and check reads it; selected once)."""
        rows = np.ones(len(self.result), dtype=bool)
        for i in range(len(self.segments)):
            rows &= self.result[f"ll_g{i}"].to_numpy() == 1
        return self.result[rows]

    def _total(self, column: str) -> float:
        values = self.overall[column].to_numpy(dtype=np.float64)
        return float(np.nansum(values)) if len(values) else 0.0

    @property
    def n_rows(self) -> int:
        return int(self._total("ll_p0"))

    def condition_counts(self) -> dict[str, int]:
        """Rows where each of ``conditions`` holds, by its key."""
        return {k: int(self._total(f"ll_x{i}")) for i, k in enumerate(self.facts.condition_keys)}

    def present_counts(self) -> dict[str, int]:
        """Non-NULL values of each of ``present``."""
        return {c: int(self._total(f"ll_o{i}")) for i, c in enumerate(self.facts.present)}

    def value_range(self, column: str) -> tuple[float, float]:
        """The least and greatest non-NULL value of a ``ranges`` column (NaN when none)."""
        i = self.facts.ranges.index(column)
        overall = self.overall
        low = overall[f"ll_min{i}"].to_numpy(dtype=np.float64)
        high = overall[f"ll_max{i}"].to_numpy(dtype=np.float64)
        if np.isnan(low).all():
            return math.nan, math.nan
        return float(np.nanmin(low)), float(np.nanmax(high))

    def non_null(self, column: str) -> int:
        """Non-NULL values of a value column (metric column or summed stage)."""
        i = [c.name for c in self.values].index(column)
        return int(self._total(f"ll_k{i}"))

    def pairs(self) -> pd.DataFrame:
        """The (experiment, variant) pairs with rows, as ``check_ab_relation``'s GROUP BY."""
        keys = {"v": self.variant.alias}
        if self.experiment is not None:
            keys = {"e": self.experiment.alias, **keys}
        return pd.DataFrame({k: self.overall[a].to_numpy() for k, a in keys.items()})

    def sums(self, column: str) -> str | None:
        """The result column holding ``column``'s sum, if this scan summed it."""
        j = self.product_index.get((column,))
        if j is not None:
            return f"ll_p{j}"
        if column in self.facts.sums:
            return f"ll_t{self.facts.sums.index(column)}"
        return None

    def row_counts(
        self,
        label_columns: Sequence[str],
        numeric_columns: Sequence[str],
        not_binary: dict[str, int] | None = None,
    ) -> RowCounts | None:
        """:func:`row_counts`'s answer from this scan, or None when a sum is not finite."""
        overall = self.overall
        n = self.n_rows
        keys = {self.variant.column.name: self.variant.alias} if self.variant.column else {}
        if self.experiment is not None and self.experiment.column is not None:
            keys[self.experiment.column.name] = self.experiment.alias
        null_labels = {}
        for c in dict.fromkeys(label_columns):
            if c not in keys:
                return None
            nulls = overall[keys[c]].isna().to_numpy()
            null_labels[c] = int(overall["ll_p0"].to_numpy()[nulls].sum())
        value_index = {c.name: i for i, c in enumerate(self.values)}
        missing: dict[str, int] = {}
        for c in dict.fromkeys(numeric_columns):
            total = self.sums(c)
            if total is None or c not in value_index or not self.facts.count_values:
                return None
            counted = f"ll_k{value_index[c]}"
            sums = overall[total].to_numpy(dtype=np.float64)
            # a cell with values has a finite sum unless one is NaN/±Infinity or it overflowed
            # (a cell with none has a NULL sum, read as NaN: not a bad value)
            if not np.isfinite(sums[overall[counted].to_numpy(dtype=np.float64) > 0]).all():
                return None
            missing[c] = n - int(self._total(counted))
        return RowCounts(
            n_rows=n,
            null_labels=null_labels,
            missing=missing,
            infinite={c: 0 for c in missing},
            not_binary=dict(not_binary or {}),
        )

    def frame(self) -> pd.DataFrame:
        """aggregate's frame, as :func:`aggregate_in_engine` returns it."""
        frame, _ = _statistics_frame(
            self.result,
            specs=self.specs,
            products=self.products,
            product_index=self.product_index,
            experiment=self.experiment,
            experiment_name=self.experiment_name,
            variant=self.variant,
            period=None,
            segments=self.segments,
        )
        return frame

    def funnel(self, stages: Sequence[str]) -> pd.DataFrame:
        """``funnel_totals``'s frame of ``stages`` (each summed by this scan)."""
        overall = self.overall
        totals = {}
        for stage in stages:
            column = self.sums(stage)
            if column is None:
                raise ConfigError(f"the statistics scan did not sum the funnel stage {stage!r}")
            totals[stage] = overall[column]
        return _funnel_frame(
            overall, self.experiment, self.variant, self.experiment_name, "ll_p0", totals
        )


def scan_statistics(
    engine: SqlEngine,
    relation: str,
    metrics: Sequence[MetricSpec],
    *,
    variant_column: str,
    experiment_column: str | None,
    experiment_name: str = DEFAULT_EXPERIMENT,
    segment_columns: Sequence[str] = (),
    conditions: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    present: Sequence[str] = (),
    sums: Sequence[str] = (),
    ranges: Sequence[str] = (),
    facts: bool = True,
) -> StatisticsScan:
    """The statistics query (sums per finest cell, rolled up by GROUPING SETS) counting on
    the way: rows where each SQL condition of ``conditions`` holds (key → (condition, the
    columns it reads)), non-NULL values of ``present`` and of every value column, the sum of
    each numeric column of ``sums`` (funnel stages) and the least and greatest value of each
    metric column of ``ranges``. Conditions and NULL counts on the experiment and variant
    columns alone are evaluated per cell, weighted by its rows (a key is constant within a
    cell). ``facts=False`` takes the sums alone. Checks nothing: every column must exist and
    the value columns be numeric (the caller checked the schema); what the checks count comes
    back in the :class:`StatisticsScan`."""
    specs = check_metric_specs(metrics)
    segment_columns = as_column_list(segment_columns)
    columns = relation_columns(engine, relation)
    products, product_index = summed_products(specs)
    experiment, variant = _keys(columns, variant_column, experiment_column)
    keys = [k for k in (experiment, variant) if k is not None]
    segments = [columns[c] for c in segment_columns]
    values = _value_columns(columns, products)
    named = {c.name for c in values}
    values += [columns[c] for c in dict.fromkeys(sums) if c not in named]
    counted = _fact_columns(keys, values, products, conditions, present, ranges) if facts else None
    return StatisticsScan(
        result=engine.fetch(_statistics_sql(relation, keys, segments, values, products, counted)),
        specs=specs,
        products=products,
        product_index=product_index,
        experiment=experiment,
        variant=variant,
        segments=segments,
        experiment_name=experiment_name,
        values=values,
        facts=counted or _FactColumns(),
    )


def _fact_columns(
    keys: Sequence[_Key],
    values: Sequence[Column],
    products: Sequence[tuple[str, ...]],
    conditions: Mapping[str, tuple[str, Sequence[str]]] | None,
    present: Sequence[str],
    ranges: Sequence[str],
) -> _FactColumns:
    """What :func:`scan_statistics` counts, and which counts are taken per cell."""
    conditions = dict(conditions or {})
    present = tuple(dict.fromkeys(present))
    key_names = {k.column.name: k.alias for k in keys if k.column is not None}
    if any(name.lower().startswith("ll_") for name in key_names):
        key_names = {}  # would shadow the query's own ll_ names: evaluate per row
    on_keys = frozenset(
        i for i, (_, cols) in enumerate(conditions.values()) if set(cols) <= set(key_names)
    )
    present_on_keys = frozenset(i for i, c in enumerate(present) if c in key_names)
    own = {p[0] for p in products if len(p) == 1}
    return _FactColumns(
        conditions=tuple(sql for sql, _ in conditions.values()),
        condition_keys=tuple(conditions),
        present=present,
        count_values=True,
        sums=tuple(c.name for c in values if c.name not in own),
        ranges=tuple(dict.fromkeys(ranges)),
        key_names=key_names if on_keys or present_on_keys else {},
        on_keys=on_keys,
        present_on_keys=present_on_keys,
    )


# --------------------------------------------------------------------------------------------
# funnel


def funnel_in_engine(
    engine: SqlEngine,
    relation: str,
    stages: Sequence[str],
    *,
    variant_column: str,
    experiment_column: str | None,
    experiment_name: str = DEFAULT_EXPERIMENT,
    scan: StatisticsScan | None = None,
) -> pd.DataFrame:
    """:func:`strategies.stats.aggregate.funnel_totals` of ``relation``'s rows: stage totals
    per experiment × variant (``FUNNEL_COLUMNS``), only the stages the relation has, in the
    given order; an empty frame when it has none. Same checks and messages. A ``scan`` of
    the same relation that summed every numeric stage (``sums``) gives them without a scan."""
    stages = as_column_list(stages)
    columns = relation_columns(engine, relation)
    roles = {"variant_column": [variant_column]}
    if experiment_column is not None:
        roles["experiment_column"] = [experiment_column]
    message = _missing_columns_message(columns, roles, "available columns")
    present = [s for s in stages if s in columns]
    # funnel_totals checks for rows before columns; only a scan can tell
    if (message or not present) and (
        scan.n_rows if scan is not None else _n_rows(engine, relation)
    ) == 0:
        raise InputDataError("the input table has no rows")
    if message:
        raise InputDataError(message)
    if not present:
        return pd.DataFrame({c: pd.Series(dtype=_funnel_dtype(c)) for c in FUNNEL_COLUMNS})
    labels = [variant_column] + ([experiment_column] if experiment_column is not None else [])
    stage_columns = [columns[s] for s in present]
    non_numeric = [s for s in present if not _is_numeric(columns[s])]
    numeric = [s for s in present if _is_numeric(columns[s])]
    if scan is not None and not all(scan.sums(s) for s in numeric):
        scan = None
    counts = scan.row_counts(labels, numeric) if scan is not None else None
    if counts is None:
        counts = row_counts(
            engine, relation, columns, label_columns=labels, numeric_columns=numeric
        )
    if counts.n_rows == 0:
        raise InputDataError("the input table has no rows")
    _raise_label_nulls(counts, labels)
    if non_numeric:
        _check_numeric_kinds(columns, present, "funnel stage")
    _raise_bad_values(counts, present, "funnel stage")
    if scan is not None:
        return scan.funnel(present)

    experiment, variant = _keys(columns, variant_column, experiment_column)
    keys = [k for k in (experiment, variant) if k is not None]
    select = [f"{k.expr} AS {quote_ident(k.alias)}" for k in keys] + ["COUNT(*) AS ll_n"]
    select += [f"SUM({_as_double(c)}) AS ll_t{i}" for i, c in enumerate(stage_columns)]
    group = ", ".join(k.expr for k in keys)
    result = engine.fetch(
        f"SELECT {', '.join(select)} FROM {_relation_sql(relation)} GROUP BY {group}"
    )
    totals = {stage: result[f"ll_t{i}"] for i, stage in enumerate(present)}
    return _funnel_frame(result, experiment, variant, experiment_name, "ll_n", totals)


def _funnel_frame(
    result: pd.DataFrame,
    experiment: _Key | None,
    variant: _Key,
    experiment_name: str,
    n_column: str,
    totals: dict[str, pd.Series],
) -> pd.DataFrame:
    """Fetched (experiment, variant) rows with unit counts and stage totals → the funnel."""
    present = list(totals)
    if experiment is None:
        exp_code = np.zeros(len(result), dtype=np.int64)
        exp_labels = np.array([experiment_name], dtype=object)
    else:
        exp_code, exp_labels = _codes(_typed_labels(result[experiment.alias], experiment.column))
    var_code, var_labels = _codes(_typed_labels(result[variant.alias], variant.column))
    order = np.lexsort((var_code, exp_code))
    n_groups, n_stages = len(result), len(present)
    matrix = np.column_stack([totals[s].to_numpy(dtype=np.float64) for s in present])[order]
    return pd.DataFrame(
        {
            "experiment": np.repeat(exp_labels[exp_code[order]], n_stages),
            "variant": np.repeat(var_labels[var_code[order]], n_stages),
            "n_units": np.repeat(result[n_column].to_numpy(dtype=np.int64)[order], n_stages),
            "stage": np.tile(np.array(present, dtype=object), n_groups),
            "stage_order": np.tile(np.arange(1, n_stages + 1), n_groups),
            "total": matrix.reshape(-1),
        }
    )


def _funnel_dtype(column: str) -> str:
    return {"n_units": "int64", "stage_order": "int64", "total": "float64"}.get(column, "object")


# --------------------------------------------------------------------------------------------
# per-period statistics for the sequential layer


def _time_expr(column: Column) -> str:
    """The column as a naive UTC TIMESTAMP (NULL when text does not parse)."""
    name = quote_ident(column.name)
    if column.kind == "temporal":
        t = column.engine_type.upper()
        if "WITH TIME ZONE" in t or "TIMESTAMPTZ" in t or t == "TIMESTAMP_TZ":
            return f"CAST({name} AT TIME ZONE 'UTC' AS TIMESTAMP)"
        return f"CAST({name} AS TIMESTAMP)"
    if column.kind == "text":
        return f"TRY_CAST({name} AS TIMESTAMP)"
    raise InputDataError(
        f"column {column.name!r} must hold timestamps, dates or text to define sequential "
        f"looks, found {column.engine_type}"
    )


def period_stats_in_engine(
    engine: SqlEngine,
    relation: str,
    metrics: Sequence[MetricSpec],
    *,
    period_column: str,
    period: Period,
    variant_column: str,
    experiment_column: str | None,
    experiment_name: str = DEFAULT_EXPERIMENT,
    segment_columns: Sequence[str] = (),
    checked: bool = False,
) -> pd.DataFrame:
    """The per-period statistics the sequential layer cumulates into looks
    (:func:`strategies.stats.layers.sequential.period_stats_from_data`), computed in the engine.

    ``period_column`` is a timestamp, date or text column; ``_period`` is the start of the
    unit's day or week in UTC (``date_trunc``: weeks start on Monday, as pandas'
    ``to_period("W")``), a naive ``datetime64[us]``. Rows are ordered by experiment, period,
    then ``aggregate``'s order, as :func:`strategies.stats.sequential.stats_by_period`.

    Text is parsed by the engine's ``TRY_CAST(... AS TIMESTAMP)`` (ISO 8601; pandas'
    ``to_datetime`` accepts more formats; text with a UTC offset is not normalised); on
    PostgreSQL, which has no TRY_CAST, an unparsable text fails in the engine instead of being
    counted. Raises InputDataError like the sequential layer for a missing column and missing
    or unparsable times, and ``aggregate``'s errors unless ``checked``.
    """
    if period not in ("day", "week"):
        raise ConfigError(f"unknown sequential period {period!r}; use day or week")
    specs = check_metric_specs(metrics)
    segment_columns = as_column_list(segment_columns)
    columns = relation_columns(engine, relation)
    if period_column not in columns:
        raise InputDataError(
            f"sequential testing needs the time column {period_column!r}, "
            f"which is not in the data (set sequential.time_column)"
        )
    time = _time_expr(columns[period_column])
    bad = engine.fetch(
        f"SELECT {_count_if(f'{time} IS NULL')} AS n FROM {_relation_sql(relation)}"
    )["n"][0]
    if not pd.isna(bad) and int(bad):
        raise InputDataError(
            f"column {period_column!r} has {int(bad)} missing or unparsable "
            "timestamps; sequential looks need a time for every unit"
        )
    if not checked:
        check_aggregate_relation(
            engine, relation, columns, specs, variant_column, experiment_column, segment_columns
        )
    products, product_index = summed_products(specs)
    experiment, variant = _keys(columns, variant_column, experiment_column)
    period_key = _Key("ll_t", f"date_trunc('{period}', {time})", None)
    keys = [k for k in (experiment, period_key, variant) if k is not None]
    segments = [columns[c] for c in segment_columns]
    sql = _statistics_sql(relation, keys, segments, _value_columns(columns, products), products)
    frame, periods = _statistics_frame(
        engine.fetch(sql),
        specs=specs,
        products=products,
        product_index=product_index,
        experiment=experiment,
        experiment_name=experiment_name,
        variant=variant,
        period=period_key,
        segments=segments,
    )
    frame.insert(len(LABEL_COLUMNS), PERIOD_COLUMN, pd.Series(periods, dtype="datetime64[us]"))
    return frame
