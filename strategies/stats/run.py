"""The A/B analysis as one domain call: input checks → sufficient statistics → inference.

:func:`run_ab_analysis` is the entry point on rows: it runs the fixed-horizon analysis
(:mod:`strategies.stats.analysis`) and then whichever optional layers the caller asks for
(:mod:`strategies.stats.layers`: Bayesian, sequential, non-parametric). The tables it returns
have the columns listed in :mod:`strategies.stats.schema`.

It is two halves with one small table between them (:class:`ABStatistics`):
:func:`statistics_from_rows` reduces the rows with pandas (a warehouse does the same in SQL:
:func:`strategies.warehouse.ab_inputs.statistics_in_engine`), and :func:`analyse_statistics`
runs everything from those statistics — so both paths share one analysis.

Pipeline steps call these functions and nothing else, so the same analysis runs in a notebook or
a test without ZenML. Input problems fail fast here with an error that names the column, the
metric or the experiment — before any statistic is computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.stats import layers
from strategies.stats.aggregate import aggregate, funnel_totals
from strategies.stats.analysis import AnalysisOptions, AnalysisResult, analyse
from strategies.stats.inputs import ABStatistics
from strategies.stats.layers import BayesianOptions, NonparametricOptions, SequentialOptions
from strategies.stats.layers.sequential import (
    looks_from_period_stats,
    period_stats_from_data,
    sequential_from_looks,
)
from strategies.stats.metrics import MetricSpec
from strategies.stats.schema import RESULT_KEYS

#: Column added when the data holds a single experiment and names none.
EXPERIMENT_COLUMN = "experiment"


@dataclass(frozen=True)
class ABDesign:
    """Column roles and declared arms of one A/B run."""

    unit_column: str
    variant_column: str
    control: str
    variants: tuple[str, ...]
    experiment_column: str | None = None
    experiment_name: str = "experiment"
    segment_columns: tuple[str, ...] = ()


@dataclass
class ABOutcome:
    """The tables of one run, each with its contract in :mod:`strategies.stats.schema`:
    ``results`` (RESULT_COLUMNS, then any layer's BAYES_, NONPARAMETRIC_ and
    SEQUENTIAL_COLUMNS), ``srm`` (SRM_COLUMNS), ``funnel`` (FUNNEL_COLUMNS),
    ``sufficient_stats`` (STATS_COLUMNS), ``heterogeneity`` (HETEROGENEITY_COLUMNS) and
    ``sequential_looks`` (LOOK_COLUMNS; empty without the sequential layer)."""

    results: pd.DataFrame
    srm: pd.DataFrame
    funnel: pd.DataFrame
    sufficient_stats: pd.DataFrame
    heterogeneity: pd.DataFrame = field(default_factory=pd.DataFrame)
    sequential_looks: pd.DataFrame = field(default_factory=pd.DataFrame)


def with_experiment_column(df: pd.DataFrame, design: ABDesign) -> tuple[pd.DataFrame, str]:
    """Return the frame and the name of its experiment column, adding a constant one (named
    after ``design.experiment_name``) when the data holds a single, unnamed experiment."""
    if design.experiment_column:
        return df, design.experiment_column
    if EXPERIMENT_COLUMN in df.columns:
        raise InputDataError(
            f"the data has a column {EXPERIMENT_COLUMN!r} but 'experiment_column' is not set; "
            f"set experiment_column: {EXPERIMENT_COLUMN} to analyse it per experiment"
        )
    return df.assign(**{EXPERIMENT_COLUMN: design.experiment_name}), EXPERIMENT_COLUMN


def check_ab_input(df: pd.DataFrame, design: ABDesign, metrics: Sequence[MetricSpec]) -> None:
    """Reject input the analysis cannot use, with a message naming the problem."""
    if df.empty:
        raise InputDataError("the input table has no rows; nothing to analyse")
    needed: dict[str, str] = {
        design.unit_column: "unit_column",
        design.variant_column: "variant_column",
    }
    if design.experiment_column:
        needed[design.experiment_column] = "experiment_column"
    for column in design.segment_columns:
        needed[column] = "segment_columns"
    for spec in metrics:
        for column in spec.columns():
            needed.setdefault(column, f"metric {spec.name!r}")
    missing = [f"{col!r} (needed by {why})" for col, why in needed.items() if col not in df.columns]
    if missing:
        available = ", ".join(map(str, df.columns))
        raise InputDataError(f"missing column(s): {', '.join(missing)}; the data has: {available}")
    for spec in metrics:
        for column in spec.columns():
            if not pd.api.types.is_numeric_dtype(df[column]):
                raise InputDataError(
                    f"column {column!r} (metric {spec.name!r}) must be numeric, "
                    f"found {df[column].dtype}"
                )

    experiment_column = design.experiment_column
    groups = (
        df.groupby(experiment_column, sort=True)[design.variant_column]
        if experiment_column
        else [(design.experiment_name, df[design.variant_column])]
    )
    for experiment, labels in groups:
        # as the strings aggregate labels arms with, so control "0" matches an integer 0
        present = {str(label) for label in labels.dropna().unique()}
        if design.control not in present:
            raise InputDataError(
                f"experiment {experiment!r} has no rows for the control variant "
                f"{design.control!r} (variants found: {sorted(present)})"
            )
        if not present & set(design.variants):
            raise InputDataError(
                f"experiment {experiment!r} has only one variant ({design.control!r}); "
                f"an A/B test needs the control and at least one of {list(design.variants)}"
            )


def run_ab_analysis(
    df: pd.DataFrame,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    options: AnalysisOptions,
    funnel_stages: Sequence[str] = (),
    *,
    bayesian: BayesianOptions | None = None,
    sequential: SequentialOptions | None = None,
    nonparametric: NonparametricOptions | None = None,
) -> ABOutcome:
    """Check the input, aggregate sufficient statistics in one pass and run the inference,
    plus the optional Bayesian, sequential and non-parametric layers.

    The rows are reduced to :class:`~strategies.warehouse.ab_inputs.ABStatistics` here with
    pandas (:func:`statistics_from_rows`) and analysed by :func:`analyse_statistics` — the
    same analysis a warehouse run feeds with statistics computed in SQL."""
    inputs = statistics_from_rows(
        df,
        design,
        metrics,
        funnel_stages,
        sequential=sequential,
        nonparametric=nonparametric,
    )
    return analyse_statistics(
        inputs, design, metrics, options, bayesian=bayesian, sequential=sequential
    )


def statistics_from_rows(
    df: pd.DataFrame,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    funnel_stages: Sequence[str] = (),
    *,
    sequential: SequentialOptions | None = None,
    nonparametric: NonparametricOptions | None = None,
) -> ABStatistics:
    """Every small table the analysis needs, from unit rows with pandas: sufficient
    statistics, funnel totals, per-period statistics (with ``sequential``) and the
    non-parametric columns (with ``nonparametric``; they need the rows themselves)."""
    check_ab_input(df, design, metrics)
    frame, experiment_column = with_experiment_column(df, design)
    stats = aggregate(
        frame,
        metrics,
        variant_column=design.variant_column,
        experiment_column=experiment_column,
        segment_columns=design.segment_columns,
    )
    extra = None
    if nonparametric is not None:
        extra = layers.nonparametric_columns(
            frame,
            experiment_column=experiment_column,
            variant_column=design.variant_column,
            control=design.control,
            segment_columns=design.segment_columns,
            metrics=metrics,
            options=nonparametric,
        )
    period_stats = None
    if sequential is not None:
        period_stats = period_stats_from_data(
            frame,
            experiment_column=experiment_column,
            variant_column=design.variant_column,
            metrics=metrics,
            options=sequential,
        )
    funnel = funnel_totals(
        frame,
        [s for s in funnel_stages if s in frame.columns],
        variant_column=design.variant_column,
        experiment_column=experiment_column,
    )
    return ABStatistics(
        stats=stats,
        funnel=funnel,
        period_stats=period_stats,
        nonparametric=extra,
        n_rows=len(df),
    )


def analyse_statistics(
    inputs: ABStatistics,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    options: AnalysisOptions,
    *,
    bayesian: BayesianOptions | None = None,
    sequential: SequentialOptions | None = None,
    nonparametric_columns: pd.DataFrame | None = None,
) -> ABOutcome:
    """The whole analysis from the small tables alone (no rows): fixed-horizon inference on
    ``inputs.stats``, then the optional layers — Bayesian (from the same statistics),
    non-parametric (merges ``nonparametric_columns``, or ``inputs.nonparametric`` when that
    is None: they are computed where the rows are) and sequential (from
    ``inputs.period_stats``; ConfigError when they are missing). ``design`` is accepted so
    every entry point takes the run's column roles; the statistics already carry them."""
    stats = inputs.stats
    result: AnalysisResult = analyse(stats, metrics, options)
    results = result.results
    looks = pd.DataFrame()
    if bayesian is not None:
        results = pd.concat(
            [
                results,
                layers.bayesian_columns(
                    results,
                    stats,
                    metrics,
                    bayesian,
                    alpha=options.alpha,
                    correction=options.correction,
                    correction_scope=options.correction_scope,
                ),
            ],
            axis=1,
        )
    extra = nonparametric_columns if nonparametric_columns is not None else inputs.nonparametric
    if extra is not None:
        results = _merge_keyed(results, extra)
    if sequential is not None:
        if inputs.period_stats is None:
            raise ConfigError(
                "the sequential layer needs per-period statistics, and these inputs have none; "
                "build them with the sequential options (statistics_in_engine(..., "
                "sequential=...) or statistics_from_rows(..., sequential=...))"
            )
        per_look = looks_from_period_stats(
            inputs.period_stats,
            metrics=metrics,
            analysis_options=options,
            options=sequential,
        )
        outcome = sequential_from_looks(per_look, analysis_options=options, options=sequential)
        results = _merge_keyed(results, outcome.columns)
        decision, message = layers.sequential_decisions(results, metrics, options)
        results = results.assign(decision=decision, message=message)
        looks = outcome.looks
    return ABOutcome(
        results=results,
        srm=result.srm,
        funnel=inputs.funnel,
        sufficient_stats=stats,
        heterogeneity=result.heterogeneity,
        sequential_looks=looks,
    )


def _merge_keyed(results: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Left-join layer columns on experiment × segment × metric × variant, keeping row order."""
    merged = results.merge(extra, on=list(RESULT_KEYS), how="left", validate="one_to_one")
    return merged.set_index(results.index)
