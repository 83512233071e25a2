"""The A/B analysis inputs (:class:`strategies.stats.inputs.ABStatistics`) computed in an engine.

:func:`statistics_in_engine` builds them with SQL on a
:class:`~strategies.engines.base.SqlEngine`, running the same input checks, in the same order
and with the same messages, as :func:`strategies.stats.run.run_ab_analysis` does on rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from strategies.engines.base import Column, SqlEngine, is_integer_column
from strategies.engines.dialects import quote_ident
from strategies.errors import InputDataError
from strategies.stats.inputs import ABStatistics
from strategies.stats.layers.sequential import SequentialOptions
from strategies.stats.metrics import MetricSpec, check_metric_specs, metric_columns
from strategies.stats.run import ABDesign
from strategies.warehouse.stats_sql import (
    RowCounts,
    StatisticsScan,
    aggregate_in_engine,
    check_ab_relation,
    check_aggregate_relation,
    funnel_in_engine,
    period_stats_in_engine,
    relation_columns,
    scan_statistics,
)

__all__ = ["scan_ab_statistics", "statistics_in_engine"]

#: Column added when the data holds a single experiment and names none (as in run.py).
_EXPERIMENT_COLUMN = "experiment"


def statistics_in_engine(
    engine: SqlEngine,
    relation: str,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    funnel_stages: Sequence[str] = (),
    sequential: SequentialOptions | None = None,
    *,
    scan: StatisticsScan | None = None,
) -> ABStatistics:
    """The :class:`ABStatistics` of ``relation``'s rows, computed by SQL in ``engine``:
    what :func:`strategies.stats.run.run_ab_analysis` builds from rows with pandas, checked
    the same way first (``check_ab_input``, then ``aggregate``'s checks, then — with
    ``sequential`` — the time column). ``nonparametric`` is left None (it needs rows).

    When the schema allows (every column present, metric columns numeric) the checks' counts,
    the statistics and the funnel totals come from ONE scan (:func:`scan_ab_statistics`; or
    ``scan``, taken already by the caller with more counts on board); else each check scans
    on its own, as the checks must then fail in their own order with their own messages."""
    specs = check_metric_specs(metrics)
    columns = relation_columns(engine, relation)
    if scan is None:
        scan = scan_ab_statistics(engine, relation, design, specs, funnel_stages)
    check_ab_relation(
        engine,
        relation,
        columns,
        unit_column=design.unit_column,
        variant_column=design.variant_column,
        control=design.control,
        variants=design.variants,
        experiment_column=design.experiment_column,
        experiment_name=design.experiment_name,
        segment_columns=design.segment_columns,
        metrics=specs,
        pairs=None if scan is None else scan.pairs(),
    )
    experiment_column = design.experiment_column or None
    if experiment_column is None and _EXPERIMENT_COLUMN in columns:
        raise InputDataError(
            f"the data has a column {_EXPERIMENT_COLUMN!r} but 'experiment_column' is not set; "
            f"set experiment_column: {_EXPERIMENT_COLUMN} to analyse it per experiment"
        )
    counts = check_aggregate_relation(
        engine,
        relation,
        columns,
        specs,
        design.variant_column,
        experiment_column,
        list(design.segment_columns),
        counts=None if scan is None else _scan_row_counts(scan, specs, design),
    )
    common = {
        "variant_column": design.variant_column,
        "experiment_column": experiment_column,
        "experiment_name": design.experiment_name,
    }
    if scan is not None:
        stats = scan.frame()
    else:
        stats = aggregate_in_engine(
            engine,
            relation,
            specs,
            segment_columns=design.segment_columns,
            checked=True,
            **common,
        )
    funnel = funnel_in_engine(
        engine, relation, [s for s in funnel_stages if s in columns], scan=scan, **common
    )
    period_stats = None
    if sequential is not None:
        period_stats = period_stats_in_engine(
            engine,
            relation,
            specs,
            period_column=sequential.time_column,
            period=sequential.period,
            checked=True,
            **common,
        )
    return ABStatistics(stats=stats, funnel=funnel, period_stats=period_stats, n_rows=counts.n_rows)


def scan_ab_statistics(
    engine: SqlEngine,
    relation: str,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    funnel_stages: Sequence[str] = (),
    *,
    conditions: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    present: Sequence[str] = (),
) -> StatisticsScan | None:
    """One scan of ``relation`` for :func:`statistics_in_engine`: the statistics, the funnel
    stage totals, the counts its input checks need, and — for a caller fusing more checks
    into the same scan (the validation suite) — rows per extra condition and non-NULL values
    per ``present`` column. None when the schema fails a check (a missing column, a
    non-numeric metric column, an ``experiment`` column not declared): the checks then run
    one by one to fail as they always have."""
    specs = check_metric_specs(metrics)
    columns = relation_columns(engine, relation)
    needed = [design.unit_column, design.variant_column, *design.segment_columns]
    needed += [design.experiment_column] if design.experiment_column else []
    values = list(metric_columns(specs))
    if (
        any(c not in columns for c in [*needed, *values, *present])
        or not all(columns[c].kind in ("numeric", "boolean") for c in values)
        or (not design.experiment_column and _EXPERIMENT_COLUMN in columns)
    ):
        return None
    proportions = [m.y_column for m in specs if m.type == "proportion"]
    proportions = [c for c in dict.fromkeys(proportions) if columns[c].kind != "boolean"]
    # an integer column is 0/1 exactly when its least value is ≥ 0 and greatest ≤ 1 (two
    # cheap aggregates); other types are tested row by row
    ranged = [c for c in proportions if is_integer_column(columns[c])]
    binary = {
        f"{_BINARY}{c}": (_not_binary_sql(columns[c]), [c]) for c in proportions if c not in ranged
    }
    stages = [s for s in funnel_stages if s in columns and columns[s].kind in ("numeric",)]
    return scan_statistics(
        engine,
        relation,
        specs,
        variant_column=design.variant_column,
        experiment_column=design.experiment_column or None,
        experiment_name=design.experiment_name,
        segment_columns=design.segment_columns,
        conditions={**(conditions or {}), **binary},
        present=present,
        sums=stages,
        ranges=ranged,
    )


#: Key prefix of the scan's 0/1 checks of proportion columns.
_BINARY = "ll_binary:"


def _not_binary_sql(column: Column) -> str:
    """A row whose proportion value is missing or not 0/1 (as :func:`row_counts` counts)."""
    x = f"CAST({quote_ident(column.name)} AS DOUBLE)"
    return f"{x} IS NULL OR ({x} <> 0 AND {x} <> 1)"


def _scan_row_counts(
    scan: StatisticsScan, specs: Sequence[MetricSpec], design: ABDesign
) -> RowCounts | None:
    """aggregate's check counts from ``scan`` (None when a sum leaves them open)."""
    labels = [design.variant_column] + (
        [design.experiment_column] if design.experiment_column else []
    )
    counted = scan.condition_counts()
    not_binary = {key[len(_BINARY) :]: n for key, n in counted.items() if key.startswith(_BINARY)}
    for column in scan.facts.ranges:
        low, high = scan.value_range(column)
        if low < 0 or high > 1:
            return None  # some value is not 0/1: count them exactly
        not_binary[column] = scan.n_rows - scan.non_null(column)  # NULLs are not 0/1 either
    return scan.row_counts(labels, list(metric_columns(specs)), not_binary)
