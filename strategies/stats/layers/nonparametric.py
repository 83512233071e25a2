"""The non-parametric layer: rank and bootstrap columns for the metrics a user selects.

Mann–Whitney U and the bucketed percentile bootstrap need unit-level values, not sums, so this
layer reads the raw frame (only for the metrics named in :class:`NonparametricOptions`) and
returns :data:`~strategies.stats.schema.NONPARAMETRIC_COLUMNS` keyed by
:data:`~strategies.stats.schema.RESULT_KEYS`; the other metrics' rows get NaN when
:func:`strategies.stats.run.run_ab_analysis` joins it. It never changes ``decision``. The tests
themselves are :mod:`strategies.stats.nonparametric`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategies.errors import ConfigError
from strategies.stats.metrics import MetricSpec
from strategies.stats.nonparametric import bootstrap_ci, mann_whitney
from strategies.stats.schema import NONPARAMETRIC_COLUMNS, RESULT_KEYS

__all__ = ["NonparametricOptions", "nonparametric_columns"]


@dataclass(frozen=True)
class NonparametricOptions:
    """Mann–Whitney U and a bucketed bootstrap CI for the named (mean or ratio) metrics."""

    metrics: tuple[str, ...]
    mann_whitney: bool = True
    bootstrap: bool = True
    n_resamples: int = 2000
    seed: int = 0


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
    by_name = {m.name: m for m in metrics}
    unknown = [name for name in options.metrics if name not in by_name]
    if unknown:
        raise ConfigError(
            f"nonparametric.metrics names unknown metric(s) {unknown}; metrics: {list(by_name)}"
        )
    parts: list[pd.DataFrame] = []
    common = {
        "variant_column": variant_column,
        "control": control,
        "experiment_column": experiment_column,
        "segment_columns": tuple(segment_columns),
    }
    for name in options.metrics:
        spec = by_name[name]
        value_column = spec.numerator if spec.type == "ratio" else spec.column
        frames: list[pd.DataFrame] = []
        if options.mann_whitney and spec.type != "ratio":
            mw = mann_whitney(df, value_column=value_column, metric_name=name, **common)
            frames.append(
                mw[[*RESULT_KEYS, "p_value", "prob_superiority"]].rename(
                    columns={"p_value": "mw_p_value"}
                )
            )
        if options.bootstrap:
            boot = bootstrap_ci(
                df,
                value_column=value_column,
                denominator_column=spec.denominator if spec.type == "ratio" else None,
                metric_name=name,
                n_resamples=options.n_resamples,
                seed=options.seed,
                **common,
            )
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
