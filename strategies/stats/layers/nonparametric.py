"""The non-parametric layer: rank and bootstrap columns for the metrics a user selects.

Mann–Whitney U and the bucketed percentile bootstrap need unit-level values, not sums, so this
layer reads the raw frame (only for the metrics named in :class:`NonparametricOptions`) and
returns :data:`~strategies.stats.schema.NONPARAMETRIC_COLUMNS` keyed by
:data:`~strategies.stats.schema.RESULT_KEYS`; the other metrics' rows get NaN when
:func:`strategies.stats.run.run_ab_analysis` joins it. It never changes ``decision``. The tests
themselves are :mod:`strategies.stats.nonparametric`; :func:`assemble_nonparametric` is the part
shared with the in-engine path (:mod:`strategies.warehouse.nonparametric_sql`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.errors import ConfigError
from strategies.stats.metrics import MetricSpec
from strategies.stats.nonparametric import bootstrap_ci, mann_whitney
from strategies.stats.schema import NONPARAMETRIC_COLUMNS, RESULT_KEYS

__all__ = ["NonparametricOptions", "assemble_nonparametric", "nonparametric_columns"]


@dataclass(frozen=True)
class NonparametricOptions:
    """Mann–Whitney U and a bucketed bootstrap CI for the named (mean or ratio) metrics."""

    metrics: tuple[str, ...]
    mann_whitney: bool = True
    bootstrap: bool = True
    n_resamples: int = 2000
    seed: int = 0


#: Computes one metric's Mann–Whitney table (:data:`MANN_WHITNEY_COLUMNS`) or bootstrap table
#: (:data:`BOOTSTRAP_COLUMNS`) from (spec, value column, denominator column or None).
MetricTest = Callable[[MetricSpec, str, str | None], pd.DataFrame]


def nonparametric_columns(
    df: pd.DataFrame,
    *,
    experiment_column: str,
    variant_column: str,
    control: str,
    segment_columns: Sequence[str],
    metrics: Sequence[MetricSpec],
    options: NonparametricOptions,
) -> pd.DataFrame:
    """Mann–Whitney and bootstrap columns keyed by experiment × segment × metric × variant."""
    common = {
        "variant_column": variant_column,
        "control": control,
        "experiment_column": experiment_column,
        "segment_columns": tuple(segment_columns),
    }

    def run_mann_whitney(spec: MetricSpec, value_column: str, _: str | None) -> pd.DataFrame:
        return mann_whitney(df, value_column=value_column, metric_name=spec.name, **common)

    def run_bootstrap(spec: MetricSpec, value_column: str, denominator: str | None) -> pd.DataFrame:
        return bootstrap_ci(
            df,
            value_column=value_column,
            denominator_column=denominator,
            metric_name=spec.name,
            n_resamples=options.n_resamples,
            seed=options.seed,
            **common,
        )

    return assemble_nonparametric(metrics, options, run_mann_whitney, run_bootstrap)


def assemble_nonparametric(
    metrics: Sequence[MetricSpec],
    options: NonparametricOptions,
    run_mann_whitney: MetricTest,
    run_bootstrap: MetricTest,
) -> pd.DataFrame:
    """The layer's table from per-metric test tables, whoever computes them.

    Shared by the pandas path (:func:`nonparametric_columns`) and the in-engine path
    (:func:`strategies.warehouse.nonparametric_sql.nonparametric_in_engine`), so which metrics
    run which test (Mann–Whitney is skipped for ratios: it ranks units, and a ratio of sums is
    no per-unit value) and how the columns are named and merged live in one place.
    """
    by_name = {m.name: m for m in metrics}
    unknown = [name for name in options.metrics if name not in by_name]
    if unknown:
        raise ConfigError(
            f"nonparametric.metrics names unknown metric(s) {unknown}; metrics: {list(by_name)}"
        )
    parts: list[pd.DataFrame] = []
    for name in options.metrics:
        spec = by_name[name]
        value_column = spec.numerator if spec.type == "ratio" else spec.column
        denominator = spec.denominator if spec.type == "ratio" else None
        frames: list[pd.DataFrame] = []
        if options.mann_whitney and spec.type != "ratio":
            mw = run_mann_whitney(spec, value_column, None)
            frames.append(
                mw[[*RESULT_KEYS, "p_value", "prob_superiority"]].rename(
                    columns={"p_value": "mw_p_value"}
                )
            )
        if options.bootstrap:
            boot = run_bootstrap(spec, value_column, denominator)
            frames.append(
                boot[
                    [
                        *RESULT_KEYS,
                        "boot_abs_ci_low",
                        "boot_abs_ci_high",
                        "boot_rel_ci_low",
                        "boot_rel_ci_high",
                    ]
                ]
            )
        if frames:
            merged = frames[0]
            for extra in frames[1:]:
                merged = merged.merge(extra, on=list(RESULT_KEYS), how="outer")
            parts.append(merged)
    if not parts:
        return pd.DataFrame(columns=[*RESULT_KEYS, *NONPARAMETRIC_COLUMNS])
    combined = pd.concat(parts, ignore_index=True)
    for column in NONPARAMETRIC_COLUMNS:
        if column not in combined.columns:
            combined[column] = np.nan
    return combined[[*RESULT_KEYS, *NONPARAMETRIC_COLUMNS]]
