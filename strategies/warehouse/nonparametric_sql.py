"""Mann–Whitney and the bucketed bootstrap from small tables computed in the warehouse.

:mod:`strategies.stats.nonparametric` needs unit-level values, so on a warehouse it would have
to pull every row. Both tests only need small tables (DESIGN.md §5), which the engine computes
with one query per grouping level (overall, then each segment column):

* **Mann–Whitney** — per comparison (experiment × segment × treatment vs control): the arm
  sizes, the treatment's rank sum in the pooled control ∪ treatment sample with average ranks
  for ties, and the tie term Σ(t³ − t). The pooled sample is grouped by value (one row per
  distinct value: its count t and its treatment count), a running ``SUM(t) OVER (ORDER BY
  value)`` gives each value's last rank, and its average rank is that minus (t − 1)/2. These
  are exact integers / half-integers, so the U statistic, p-value and probability of
  superiority computed from them by :func:`~strategies.stats.nonparametric.
  mann_whitney_from_rank_sums` equal :func:`~strategies.stats.nonparametric.mann_whitney`
  on the same rows.
* **Bootstrap** — per arm, units are put into buckets: an arm with at most ``n_buckets``
  units gets one bucket per unit (numbered by ``ROW_NUMBER()`` in unit-id order: the exact
  unit bootstrap), a larger arm buckets each unit by a deterministic hash of its id (integer
  ids: :func:`~strategies.engines.dialects.int_hash_bucket`, a universal hash in BIGINT
  arithmetic; other ids: the md5 of their text, :func:`~strategies.engines.dialects.
  hash_bucket`); the engine returns (level cell, arm,
  bucket, n, Σy, Σx) and
  :func:`~strategies.stats.nonparametric.bootstrap_from_buckets` resamples them. The pandas
  path buckets large arms by a random draw per row instead, so the two differ there by
  bucketing noise only (same distribution of intervals); with arms ≤ ``n_buckets`` and rows
  in unit-id order, their tables — and so their intervals — are identical.

SQL is written once in DuckDB's dialect with quoted identifiers and values as literals, using
only constructs PostgreSQL and Spark also have (window functions, GROUP BY, CASE, md5); the
engine transpiles it (:mod:`strategies.engines.base`). Labels come back as raw values and are
ordered here exactly as the pandas path orders them (by original value, so 2 < 10; NULL
segment values last as ``<NA>``). Input problems raise InputDataError / ConfigError naming the
column before the heavy queries run; per-comparison problems come back as ``status`` data.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.engines.base import Column, SqlEngine, is_signed_int64_column
from strategies.engines.dialects import hash_bucket, int_hash_bucket, literal, quote_ident
from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import encode_labels
from strategies.stats.layers.nonparametric import NonparametricOptions, assemble_nonparametric
from strategies.stats.metrics import MetricSpec
from strategies.stats.nonparametric import (
    BUCKET_SUM_COLUMNS,
    DEFAULT_BUCKETS,
    RANK_SUM_COLUMNS,
    bootstrap_from_buckets,
    check_bootstrap_options,
    check_variants,
    mann_whitney_from_rank_sums,
)
from strategies.stats.schema import OVERALL_SEGMENT

__all__ = [
    "bootstrap_in_engine",
    "bucket_sum_tables",
    "mann_whitney_in_engine",
    "nonparametric_in_engine",
    "rank_sum_tables",
]

# Largest finite double: ``NOT ABS(v) <= MAX`` is true for ±inf and NaN on DuckDB, PostgreSQL
# and Spark alike (all three order NaN above every number), and NULL for NULL.
_MAX_DOUBLE = literal(sys.float_info.max)
#: Rows per rank-sum query on DuckDB (see ``_experiment_batches``).
_ROWS_PER_BATCH = 8_000_000
# The label column (and subquery alias) added when the rows are one unnamed experiment.
_EXPERIMENT_LABEL = "ll_experiment"
_SINGLE_EXPERIMENT = "ll_single_experiment"


# --------------------------------------------------------------------------------------------
# SQL text helpers (quoting, literals and hash_bucket live in strategies.engines.dialects)


def _label_literal(value: object) -> str:
    """The control label as a literal of its own type, for ``variant = <label>``.

    Only labels that can equal a stored value qualify: a NULL or NaN label would make the
    comparison never true (every unit silently "treatment"), so it is a ConfigError here rather
    than ``NULL`` / ``'NaN'`` as :func:`~strategies.engines.dialects.literal` would write it.
    """
    if isinstance(value, np.generic):
        value = value.item()
    plain = isinstance(value, bool | int | str) or (
        isinstance(value, float) and math.isfinite(value)
    )
    if not plain or (isinstance(value, str) and "\x00" in value):
        raise ConfigError(f"cannot write the label {value!r} ({type(value).__name__}) as SQL")
    return literal(value)


# --------------------------------------------------------------------------------------------
# public API


def mann_whitney_in_engine(
    engine: SqlEngine,
    relation: str,
    *,
    value_column: str,
    variant_column: str,
    control: str,
    experiment_column: str | None,
    experiment_name: str = "experiment",
    segment_columns: Sequence[str] = (),
    metric_name: str | None = None,
) -> pd.DataFrame:
    """:func:`strategies.stats.nonparametric.mann_whitney` on ``relation`` inside ``engine``:
    the same :data:`MANN_WHITNEY_COLUMNS` table, from rank sums computed in SQL."""
    design = _design(
        engine,
        relation,
        value_column=value_column,
        denominator_column=None,
        unit_column=None,
        variant_column=variant_column,
        control=control,
        experiment_column=experiment_column,
        experiment_name=experiment_name,
        segment_columns=segment_columns,
        metric_name=metric_name,
    )
    return mann_whitney_from_rank_sums(
        _rank_sum_tables(engine, design), control=control, metric=design.metric
    )


def rank_sum_tables(
    engine: SqlEngine,
    relation: str,
    *,
    value_column: str,
    variant_column: str,
    control: str,
    experiment_column: str | None,
    experiment_name: str = "experiment",
    segment_columns: Sequence[str] = (),
) -> list[pd.DataFrame]:
    """The per-level :data:`RANK_SUM_COLUMNS` tables of Mann–Whitney, computed in the engine
    (what :func:`strategies.stats.nonparametric.mann_whitney_rank_sums` computes in pandas)."""
    design = _design(
        engine,
        relation,
        value_column=value_column,
        denominator_column=None,
        unit_column=None,
        variant_column=variant_column,
        control=control,
        experiment_column=experiment_column,
        experiment_name=experiment_name,
        segment_columns=segment_columns,
        metric_name=None,
    )
    return _rank_sum_tables(engine, design)


def bootstrap_in_engine(
    engine: SqlEngine,
    relation: str,
    *,
    value_column: str,
    variant_column: str,
    control: str,
    experiment_column: str | None,
    experiment_name: str = "experiment",
    unit_column: str,
    segment_columns: Sequence[str] = (),
    metric_name: str | None = None,
    denominator_column: str | None = None,
    n_resamples: int = 2000,
    ci_level: float = 0.95,
    seed: int = 0,
    n_buckets: int = DEFAULT_BUCKETS,
) -> pd.DataFrame:
    """:func:`strategies.stats.nonparametric.bootstrap_ci` on ``relation`` inside ``engine``:
    the same :data:`BOOTSTRAP_COLUMNS` table, resampling bucket sums computed in SQL.

    Buckets of arms larger than ``n_buckets`` come from a hash of ``unit_column`` seeded by
    ``seed`` (see the module docstring), so results are deterministic for the same data,
    options and seed, whatever the row order or engine.
    """
    n_resamples, ci_level, seed, n_buckets = check_bootstrap_options(
        n_resamples, ci_level, seed, n_buckets
    )
    design = _design(
        engine,
        relation,
        value_column=value_column,
        denominator_column=denominator_column,
        unit_column=unit_column,
        variant_column=variant_column,
        control=control,
        experiment_column=experiment_column,
        experiment_name=experiment_name,
        segment_columns=segment_columns,
        metric_name=metric_name,
    )
    return bootstrap_from_buckets(
        _bucket_sum_tables(engine, design, n_buckets, seed),
        control=control,
        metric=design.metric,
        n_resamples=n_resamples,
        ci_level=ci_level,
        seed=seed,
    )


def bucket_sum_tables(
    engine: SqlEngine,
    relation: str,
    *,
    value_column: str,
    variant_column: str,
    control: str,
    experiment_column: str | None,
    experiment_name: str = "experiment",
    unit_column: str,
    segment_columns: Sequence[str] = (),
    denominator_column: str | None = None,
    n_buckets: int = DEFAULT_BUCKETS,
    seed: int = 0,
) -> list[pd.DataFrame]:
    """The per-level :data:`BUCKET_SUM_COLUMNS` tables of the bootstrap, computed in the engine
    (what :func:`strategies.stats.nonparametric.bootstrap_bucket_sums` computes in pandas)."""
    _, _, seed, n_buckets = check_bootstrap_options(2, 0.5, seed, n_buckets)
    design = _design(
        engine,
        relation,
        value_column=value_column,
        denominator_column=denominator_column,
        unit_column=unit_column,
        variant_column=variant_column,
        control=control,
        experiment_column=experiment_column,
        experiment_name=experiment_name,
        segment_columns=segment_columns,
        metric_name=None,
    )
    return _bucket_sum_tables(engine, design, n_buckets, seed)


def nonparametric_in_engine(
    engine: SqlEngine,
    relation: str,
    *,
    experiment_column: str | None,
    experiment_name: str = "experiment",
    variant_column: str,
    control: str,
    segment_columns: Sequence[str],
    unit_column: str,
    metrics: Sequence[MetricSpec],
    options: NonparametricOptions,
) -> pd.DataFrame:
    """The non-parametric layer's table (RESULT_KEYS + NONPARAMETRIC_COLUMNS, as
    :func:`strategies.stats.layers.nonparametric.nonparametric_columns`) computed from small
    tables the engine builds over ``relation``; only those tables leave the engine."""
    common = {
        "variant_column": variant_column,
        "control": control,
        "experiment_column": experiment_column,
        "experiment_name": experiment_name,
        "segment_columns": tuple(segment_columns),
    }

    def run_mann_whitney(spec: MetricSpec, value_column: str, _: str | None) -> pd.DataFrame:
        return mann_whitney_in_engine(
            engine, relation, value_column=value_column, metric_name=spec.name, **common
        )

    def run_bootstrap(spec: MetricSpec, value_column: str, denominator: str | None) -> pd.DataFrame:
        return bootstrap_in_engine(
            engine,
            relation,
            value_column=value_column,
            denominator_column=denominator,
            unit_column=unit_column,
            metric_name=spec.name,
            n_resamples=options.n_resamples,
            seed=options.seed,
            **common,
        )

    return assemble_nonparametric(metrics, options, run_mann_whitney, run_bootstrap)


# --------------------------------------------------------------------------------------------
# validation and label order


@dataclass(frozen=True)
class _Design:
    """Validated roles, as SQL expressions, plus the label order of experiments and variants."""

    relation: str  # quoted
    exp: str  # quoted column expressions
    var: str
    unit: str | None
    unit_is_int64: bool  # integer ids: the cheaper integer hash buckets them
    y: str  # DOUBLE expressions
    x: str | None
    segments: tuple[str, ...]  # segment column names (unquoted)
    control_sql: str  # the control's raw value as a literal
    exp_code: dict[object, int]  # raw experiment value → label-order code
    exp_labels: np.ndarray
    var_code: dict[object, int]
    var_labels: np.ndarray
    treatments: dict[int, np.ndarray]  # experiment code → its treatment variant codes
    metric: str
    exp_rows: dict[object, int]  # raw experiment value → its rows
    arm_rows: tuple[int, ...]  # rows per (experiment, variant) arm


def _design(
    engine: SqlEngine,
    relation: str,
    *,
    value_column: str,
    denominator_column: str | None,
    unit_column: str | None,
    variant_column: str,
    control: str,
    experiment_column: str | None,
    experiment_name: str = "experiment",
    segment_columns: Sequence[str],
    metric_name: str | None,
) -> _Design:
    """Check the roles against the relation's columns and the arms' labels (one small query).

    Without ``experiment_column`` the rows are one experiment called ``experiment_name`` (as
    in the pandas path): the queries then read a subquery that adds that label as a column."""
    if not isinstance(relation, str) or not relation:
        raise ConfigError(f"relation must name a table or view, got {relation!r}")
    if experiment_column is None and (not isinstance(experiment_name, str) or not experiment_name):
        raise ConfigError(f"experiment_name must be a non-empty string, got {experiment_name!r}")
    if not isinstance(control, str) or not control:
        raise ConfigError(
            f"control must be the (string) label of the control variant, got {control!r}"
        )
    if metric_name is not None and (not isinstance(metric_name, str) or not metric_name):
        raise ConfigError(f"metric_name must be a non-empty string, got {metric_name!r}")
    segments = [segment_columns] if isinstance(segment_columns, str) else list(segment_columns)
    roles: dict[str, list[str]] = {
        "value_column": [value_column],
        "variant_column": [variant_column],
    }
    if experiment_column is not None:
        roles["experiment_column"] = [experiment_column]
    if denominator_column is not None:
        roles["denominator_column"] = [denominator_column]
    if unit_column is not None:
        roles["unit_column"] = [unit_column]
    if segments:
        roles["segment_columns"] = segments
    for role, names in roles.items():
        bad = [c for c in names if not isinstance(c, str) or not c]
        if bad:
            raise ConfigError(f"{role} must name column(s) by string, got {bad[0]!r}")
    columns = {c.name: c for c in engine.columns(relation)}
    needed = list(dict.fromkeys(c for names in roles.values() for c in names))
    missing = [c for c in needed if c not in columns]
    if missing:
        detail = ", ".join(
            f"{c!r} (needed by {', '.join(r for r, names in roles.items() if c in names)})"
            for c in missing
        )
        raise InputDataError(
            f"missing column(s) in {relation!r}: {detail}; available columns: {', '.join(columns)}"
        )
    values = [value_column] + ([denominator_column] if denominator_column else [])
    non_numeric = [
        f"{c!r} ({columns[c].engine_type})"
        for c in values
        if columns[c].kind not in ("numeric", "boolean")
    ]
    if non_numeric:
        raise InputDataError(f"value column(s) must be numeric: {', '.join(non_numeric)}")

    rel = quote_ident(relation)
    if experiment_column is None:
        experiment_column = _EXPERIMENT_LABEL
        if experiment_column in columns:
            raise InputDataError(
                f"column {experiment_column!r} is reserved for the experiment label; "
                "rename it or set experiment_column"
            )
        rel = (
            f"(SELECT {rel}.*, {literal(experiment_name)} AS {quote_ident(experiment_column)} "
            f"FROM {rel}) AS {quote_ident(_SINGLE_EXPERIMENT)}"
        )
    exp, var = quote_ident(experiment_column), quote_ident(variant_column)
    unit = None if unit_column is None else quote_ident(unit_column)
    y = _as_double(columns[value_column])
    x = None if denominator_column is None else _as_double(columns[denominator_column])
    checks = {"_n": "COUNT(*)"}
    for i, (name, expr) in enumerate(((value_column, y), (denominator_column, x))):
        if name is not None and expr is not None:
            checks[f"_null{i}"] = f"SUM(CASE WHEN {quote_ident(name)} IS NULL THEN 1 ELSE 0 END)"
            checks[f"_bad{i}"] = (
                f"SUM(CASE WHEN NOT ABS({expr}) <= {_MAX_DOUBLE} THEN 1 ELSE 0 END)"
            )
    if unit is not None:
        checks["_null_unit"] = f"SUM(CASE WHEN {unit} IS NULL THEN 1 ELSE 0 END)"
    select = ", ".join(f"{expr} AS {name}" for name, expr in checks.items())
    arms = engine.fetch(f"SELECT {exp} AS e, {var} AS v, {select} FROM {rel} GROUP BY {exp}, {var}")
    _check_arms(
        arms,
        relation,
        experiment_column,
        variant_column,
        value_column,
        denominator_column,
        unit_column,
    )

    exp_codes, exp_labels = encode_labels(arms, "e")
    var_codes, var_labels = encode_labels(arms, "v")
    n_exp, n_var = len(exp_labels), len(var_labels)
    present = np.zeros((n_exp, n_var), dtype=bool)
    present[exp_codes, var_codes] = True
    check_variants(present, exp_labels, var_labels, control)
    control_code = int(np.flatnonzero(var_labels == control)[0])
    control_raw = arms["v"].to_numpy(dtype=object)[np.flatnonzero(var_codes == control_code)[0]]
    treatments = present.copy()
    treatments[:, control_code] = False
    return _Design(
        relation=rel,
        exp=exp,
        var=var,
        unit=unit,
        unit_is_int64=unit_column is not None and is_signed_int64_column(columns[unit_column]),
        y=y,
        x=x,
        segments=tuple(segments),
        control_sql=_label_literal(control_raw),
        exp_code=dict(zip(arms["e"].to_numpy(dtype=object), exp_codes.tolist(), strict=True)),
        exp_labels=exp_labels,
        var_code=dict(zip(arms["v"].to_numpy(dtype=object), var_codes.tolist(), strict=True)),
        var_labels=var_labels,
        treatments={e: np.flatnonzero(treatments[e]) for e in range(n_exp)},
        arm_rows=tuple(int(n) for n in arms["_n"]),
        exp_rows={
            e: int(n) for e, n in arms.groupby("e", sort=False, dropna=False)["_n"].sum().items()
        },
        metric=value_column if metric_name is None else metric_name,
    )


def _as_double(column: Column) -> str:
    """A numeric or boolean column as a DOUBLE expression (PostgreSQL cannot cast a boolean
    to a float directly, hence the CASE)."""
    name = quote_ident(column.name)
    if column.kind == "boolean":
        return f"CASE WHEN {name} THEN CAST(1 AS DOUBLE) WHEN NOT {name} THEN CAST(0 AS DOUBLE) END"
    return f"CAST({name} AS DOUBLE)"


def _check_arms(
    arms: pd.DataFrame,
    relation: str,
    experiment_column: str,
    variant_column: str,
    value_column: str,
    denominator_column: str | None,
    unit_column: str | None,
) -> None:
    """The pandas path's input errors, from the per-arm counts: no rows, missing labels,
    missing or non-finite values, missing unit ids."""
    if arms.empty or int(arms["_n"].sum()) == 0:
        raise InputDataError(f"the input table {relation!r} has no rows")
    for key, column in (("e", experiment_column), ("v", variant_column)):
        n_missing = int(arms.loc[arms[key].isna(), "_n"].sum())
        if n_missing:
            raise InputDataError(
                f"column {column!r} has {n_missing} missing value(s); every unit needs a label"
            )
    problems = []
    for i, name in enumerate((value_column, denominator_column)):
        if name is None or f"_null{i}" not in arms:
            continue
        n_null = int(arms[f"_null{i}"].fillna(0).sum())
        n_bad = int(arms[f"_bad{i}"].fillna(0).sum())
        kinds = [f"{n_null} missing"] * bool(n_null) + [f"{n_bad} NaN or infinite"] * bool(n_bad)
        if kinds:
            problems.append(f"{name!r} ({', '.join(kinds)})")
    if problems:
        raise InputDataError(
            f"value column(s) with missing or infinite values: {', '.join(problems)}; "
            "clean or impute them before the analysis"
        )
    if unit_column is not None:
        n_missing = int(arms["_null_unit"].fillna(0).sum())
        if n_missing:
            raise InputDataError(
                f"unit column {unit_column!r} has {n_missing} missing value(s); the bootstrap "
                "buckets units by their id"
            )


def _level_codes(
    frame: pd.DataFrame, design: _Design, level: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Label-order codes of a fetched level table: experiment, segment, variant, and the
    segment labels (``"all"`` or ``"<column>=<value>"``)."""
    exp = frame["e"].map(design.exp_code).to_numpy()
    var = frame["v"].map(design.var_code).to_numpy()
    if pd.isna(exp).any() or pd.isna(var).any():
        raise InputDataError(  # the data changed between the queries of one analysis
            f"{design.relation} returned experiment/variant labels that were not there before"
        )
    if level is None:
        seg = np.zeros(len(frame), dtype=np.int64)
        labels = np.array([OVERALL_SEGMENT], dtype=object)
    else:
        seg, values = encode_labels(frame, "s")
        labels = np.array([f"{level}={v}" for v in values], dtype=object)
    return exp.astype(np.int64), seg, var.astype(np.int64), labels


def _segment_sql(level: str | None) -> str:
    return "0" if level is None else quote_ident(level)


# --------------------------------------------------------------------------------------------
# Mann–Whitney: rank sums


#: The temp table of value counts every level's rank sums are computed from.
_HISTOGRAM = "ll_rank_histogram"


def _histogram_sql(design: _Design, experiments: Sequence[object] = ()) -> str:
    """Rows counted per experiment × every segment column × arm × value: ONE scan of the rows
    for all levels (a level's counts are sums over the other segment columns). Values repeat
    in A/B metrics (zeros, prices in cents), so this is small; ``-0.0`` counts as ``0``."""
    zero = "CAST(0 AS DOUBLE)"
    only = ""
    if experiments:
        only = f"WHERE {design.exp} IN ({', '.join(_label_literal(e) for e in experiments)})"
    segments = "".join(f"{quote_ident(s)} AS s{i}, " for i, s in enumerate(design.segments))
    group = "".join(f"s{i}, " for i in range(len(design.segments)))
    return (
        f"SELECT e, {group}v, y, COUNT(*) AS c FROM (SELECT {design.exp} AS e, {segments}"
        f"{design.var} AS v, CASE WHEN {design.y} = 0 THEN {zero} ELSE {design.y} END AS y "
        f"FROM {design.relation} {only}) AS rows GROUP BY e, {group}v, y"
    )


def _rank_sum_sql(design: _Design, level: str | None) -> str:
    """One level's rank sums from the value counts (:func:`_histogram_sql`). Control counts
    are repeated once per treatment of their experiment (A/B/n tests rank each pair
    separately, as scipy would); ties are grouped by value, so the running sum over the
    ordered values is free of ties and gives last ranks."""
    c = design.control_sql
    s = "0" if level is None else f"s{list(design.segments).index(level)}"
    group = "" if level is None else f"{s}, "  # a constant is no GROUP BY term
    return f"""
WITH base AS (
    SELECT e, {s} AS s, v, y, SUM(c) AS c FROM {_HISTOGRAM} GROUP BY e, {group}v, y
),
treat AS (SELECT DISTINCT e, v FROM base WHERE v <> {c}),
pooled AS (
    SELECT e, s, v, y, c, c AS c_t FROM base WHERE v <> {c}
    UNION ALL
    SELECT b.e, b.s, treat.v, b.y, b.c, 0 AS c_t
    FROM base AS b JOIN treat ON b.e = treat.e
    WHERE b.v = {c}
),
tied AS (
    SELECT e, s, v, y, CAST(SUM(c) AS DOUBLE) AS c, CAST(SUM(c_t) AS DOUBLE) AS c_t
    FROM pooled GROUP BY e, s, v, y
),
ranked AS (
    SELECT e, s, v, c, c_t,
           SUM(c) OVER (PARTITION BY e, s, v ORDER BY y
                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_rank
    FROM tied
)
SELECT e, s, v,
       SUM(c - c_t) AS n_control,
       SUM(c_t) AS n_variant,
       SUM(c_t * (last_rank - (c - 1) / 2)) AS rank_sum,
       SUM(c * c * c - c) AS tie_term
FROM ranked
GROUP BY e, s, v
"""


def _rank_sum_tables(engine: SqlEngine, design: _Design) -> list[pd.DataFrame]:
    levels: list[str | None] = [None, *design.segments]
    parts: dict[str | None, list[pd.DataFrame]] = {level: [] for level in levels}
    for batch in _experiment_batches(engine, design):
        engine.create_temp_table(_HISTOGRAM, _histogram_sql(design, batch))
        for level in levels:
            parts[level].append(engine.fetch(_rank_sum_sql(design, level)))
    return [
        _complete_rank_sums(pd.concat(parts[level], ignore_index=True), design, level)
        for level in levels
    ]


def _experiment_batches(engine: SqlEngine, design: _Design) -> list[list[object]]:
    """Experiments ranked together per query: all at once, but on DuckDB with many rows in
    batches of about ``_ROWS_PER_BATCH`` rows (whole experiments; ranks never cross one), as
    the GROUP BY over distinct values and its window would outgrow the memory limit (100M
    rows under 1 GB). ``[[]]`` means one query without a filter."""
    total = sum(design.exp_rows.values())
    plain = all(isinstance(e, str | int) and not isinstance(e, bool) for e in design.exp_rows)
    if engine.name != "duckdb" or total <= _ROWS_PER_BATCH or not plain:
        return [[]]
    batches: list[list[object]] = [[]]
    rows = 0
    for e, n in design.exp_rows.items():
        if batches[-1] and rows + n > _ROWS_PER_BATCH:
            batches.append([])
            rows = 0
        batches[-1].append(e)
        rows += n
    return batches


def _complete_rank_sums(frame: pd.DataFrame, design: _Design, level: str | None) -> pd.DataFrame:
    """Every cell × treatment of its experiment (a comparison whose arm has no units in the
    cell is missing from the SQL result: zeros), sorted in label order."""
    exp, seg, var, seg_labels = _level_codes(frame, design, level)
    n_seg, n_var = len(seg_labels), len(design.var_labels)
    cells = np.unique(exp * n_seg + seg)
    cell_exp, cell_seg = cells // n_seg, cells % n_seg
    reps = np.array([len(design.treatments[e]) for e in cell_exp], dtype=np.int64)
    grid_exp, grid_seg = np.repeat(cell_exp, reps), np.repeat(cell_seg, reps)
    grid_var = (
        np.concatenate([design.treatments[e] for e in cell_exp])
        if len(cell_exp)
        else np.zeros(0, dtype=np.int64)
    )
    key = (exp * n_seg + seg) * n_var + var
    where = pd.Index(key).get_indexer((grid_exp * n_seg + grid_seg) * n_var + grid_var)
    found = where >= 0

    def column(name: str) -> np.ndarray:
        values = frame[name].to_numpy(dtype=np.float64)
        return np.where(found, values[np.maximum(where, 0)] if len(values) else 0.0, 0.0)

    out = pd.DataFrame(
        {
            "experiment": design.exp_labels[grid_exp],
            "segment": seg_labels[grid_seg],
            "variant": design.var_labels[grid_var],
            "n_control": column("n_control").round().astype(np.int64),
            "n_variant": column("n_variant").round().astype(np.int64),
            "rank_sum": column("rank_sum"),
            "tie_term": column("tie_term"),
        }
    )
    return out.loc[:, list(RANK_SUM_COLUMNS)]


# --------------------------------------------------------------------------------------------
# bootstrap: bucket sums


def _bucket_sum_sql(design: _Design, level: str | None, n_buckets: int, seed: int) -> str:
    """One level's bucket sums: small arms one bucket per unit in unit-id order (ties broken
    by the values, so the numbering is deterministic), large arms by the hash of the unit.

    Arm sizes come from a GROUP BY joined back on equality keys (a NULL segment matched by
    its flag, so every engine can hash the join), not from ``COUNT(*) OVER``: a window over
    every row would hold the whole table; only the small arms' rows get a window."""
    assert design.unit is not None
    x = "CAST(1 AS DOUBLE)" if design.x is None else design.x
    segment = _segment_sql(level)
    hashed = int_hash_bucket if design.unit_is_int64 else hash_bucket
    bucket = hashed("u", seed, n_buckets)
    return f"""
WITH base AS (
    SELECT {design.exp} AS e, {segment} AS s, CASE WHEN {segment} IS NULL THEN 1 ELSE 0 END AS sn,
           {design.var} AS v, {design.unit} AS u, {design.y} AS y, {x} AS x
    FROM {design.relation}
),
arms AS (SELECT e, s, sn, v, COUNT(*) AS arm_n FROM base GROUP BY e, s, sn, v),
sized AS (
    SELECT b.e AS e, b.s AS s, b.v AS v, b.u AS u, b.y AS y, b.x AS x, arms.arm_n AS arm_n
    FROM base AS b
    JOIN arms ON b.e = arms.e AND b.v = arms.v AND b.sn = arms.sn AND (b.sn = 1 OR b.s = arms.s)
),
bucketed AS (
    SELECT e, s, v, ROW_NUMBER() OVER (PARTITION BY e, s, v ORDER BY u, y, x) - 1 AS bucket,
           y, x
    FROM sized WHERE arm_n <= {n_buckets}
    UNION ALL
    SELECT e, s, v, {bucket} AS bucket, y, x
    FROM sized WHERE arm_n > {n_buckets}
)
SELECT e, s, v, bucket, COUNT(*) AS n, SUM(y) AS sum_y, SUM(x) AS sum_x
FROM bucketed
GROUP BY e, s, v, bucket
"""


def _has_small_arm(engine: SqlEngine, design: _Design, level: str | None, n_buckets: int) -> bool:
    """Whether some arm of ``level`` has at most ``n_buckets`` units (then the exact unit
    bootstrap numbers its units). Overall arm sizes are known from the design's first query;
    a segment level costs one narrow GROUP BY."""
    if level is None:
        return any(n <= n_buckets for n in design.arm_rows)
    sizes = engine.fetch(
        f"SELECT COUNT(*) AS n FROM (SELECT COUNT(*) AS arm_n FROM {design.relation} "
        f"GROUP BY {design.exp}, {quote_ident(level)}, {design.var}) AS a "
        f"WHERE arm_n <= {n_buckets}"
    )
    return int(sizes["n"].iloc[0]) > 0


def _hashed_bucket_sum_sql(design: _Design, level: str | None, n_buckets: int, seed: int) -> str:
    """:func:`_bucket_sum_sql` when every arm is larger than ``n_buckets``: one scan, no
    window, no join."""
    assert design.unit is not None
    x = "CAST(1 AS DOUBLE)" if design.x is None else design.x
    hashed = int_hash_bucket if design.unit_is_int64 else hash_bucket
    return f"""
SELECT e, s, v, bucket, COUNT(*) AS n, SUM(y) AS sum_y, SUM(x) AS sum_x
FROM (
    SELECT {design.exp} AS e, {_segment_sql(level)} AS s, {design.var} AS v,
           {hashed(design.unit, seed, n_buckets)} AS bucket, {design.y} AS y, {x} AS x
    FROM {design.relation}
) AS b
GROUP BY e, s, v, bucket
"""


def _bucket_sum_tables(
    engine: SqlEngine, design: _Design, n_buckets: int, seed: int
) -> list[pd.DataFrame]:
    tables = []
    for level in (None, *design.segments):
        if _has_small_arm(engine, design, level, n_buckets):
            frame = engine.fetch(_bucket_sum_sql(design, level, n_buckets, seed))
        else:
            frame = engine.fetch(_hashed_bucket_sum_sql(design, level, n_buckets, seed))
        exp, seg, var, seg_labels = _level_codes(frame, design, level)
        bucket = frame["bucket"].to_numpy(dtype=np.int64)
        order = np.lexsort((bucket, var, seg, exp))
        tables.append(
            pd.DataFrame(
                {
                    "experiment": design.exp_labels[exp[order]],
                    "segment": seg_labels[seg[order]],
                    "variant": design.var_labels[var[order]],
                    "bucket": bucket[order],
                    "n": frame["n"].to_numpy(dtype=np.int64)[order],
                    "sum_y": frame["sum_y"].to_numpy(dtype=np.float64)[order],
                    "sum_x": frame["sum_x"].to_numpy(dtype=np.float64)[order],
                }
            ).loc[:, list(BUCKET_SUM_COLUMNS)]
        )
    return tables
