"""The A/B analysis inputs (:class:`strategies.stats.inputs.ABStatistics`) computed in an engine.

:func:`statistics_in_engine` builds them with SQL on a
:class:`~strategies.engines.base.SqlEngine`, running the same input checks, in the same order
and with the same messages, as :func:`strategies.stats.run.run_ab_analysis` does on rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from strategies.engines.base import SqlEngine
from strategies.errors import InputDataError
from strategies.stats.inputs import ABStatistics
from strategies.stats.layers.sequential import SequentialOptions
from strategies.stats.metrics import MetricSpec, check_metric_specs
from strategies.stats.run import ABDesign
from strategies.warehouse.stats_sql import (
    aggregate_in_engine,
    check_ab_relation,
    check_aggregate_relation,
    funnel_in_engine,
    period_stats_in_engine,
    relation_columns,
)

__all__ = ["statistics_in_engine"]

#: Column added when the data holds a single experiment and names none (as in run.py).
_EXPERIMENT_COLUMN = "experiment"


def statistics_in_engine(
    engine: SqlEngine,
    relation: str,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    funnel_stages: Sequence[str] = (),
    sequential: SequentialOptions | None = None,
) -> ABStatistics:
    """The :class:`ABStatistics` of ``relation``'s rows, computed by SQL in ``engine``:
    what :func:`strategies.stats.run.run_ab_analysis` builds from rows with pandas, checked
    the same way first (``check_ab_input``, then ``aggregate``'s checks, then — with
    ``sequential`` — the time column). ``nonparametric`` is left None (it needs rows)."""
    specs = check_metric_specs(metrics)
    columns = relation_columns(engine, relation)
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
    )
    common = {
        "variant_column": design.variant_column,
        "experiment_column": experiment_column,
        "experiment_name": design.experiment_name,
    }
    stats = aggregate_in_engine(
        engine,
        relation,
        specs,
        segment_columns=design.segment_columns,
        checked=True,
        **common,
    )
    funnel = funnel_in_engine(
        engine, relation, [s for s in funnel_stages if s in columns], **common
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
