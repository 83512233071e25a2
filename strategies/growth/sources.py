"""The kinds of input the growth pipeline reads, and what each implies for the analysis.

Why: the shop export (users, experiments, sessions, exposures, orders → SQL) and Hillstrom's
one-row-per-customer e-mail test measure different outcomes, so the metrics, the headline
metric, the funnel and the default persona features follow the source. The config names the
source (``source: shop | hillstrom``); every step reads its profile from here, never from a
hard-coded metric name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from strategies.growth.hillstrom import (
    HILLSTROM_DEFAULT_FEATURES,
    HILLSTROM_FUNNEL_STAGES,
    HILLSTROM_LOG1P,
    HILLSTROM_METRICS,
)
from strategies.growth.lift import FUNNEL_STAGES, GROWTH_METRICS
from strategies.growth.personas import DEFAULT_FEATURES, DEFAULT_LOG1P
from strategies.stats.metrics import MetricSpec

__all__ = ["SOURCES", "SOURCE_NAMES", "GrowthSource", "SourceName"]

SourceName = Literal["shop", "hillstrom"]
SOURCE_NAMES: tuple[str, ...] = get_args(SourceName)


@dataclass(frozen=True)
class GrowthSource:
    """What one kind of input measures: its metrics (unit = user/customer), the metric the
    headline and the run summary count on, the funnel stages summed per arm, and the persona
    features used when the config does not list its own."""

    name: str
    metrics: tuple[MetricSpec, ...]
    primary_metric: str
    funnel_stages: tuple[str, ...]
    features: tuple[str, ...]
    log1p: tuple[str, ...]


SOURCES: dict[str, GrowthSource] = {
    "shop": GrowthSource(
        name="shop",
        metrics=GROWTH_METRICS,
        primary_metric="purchase_conversion",
        funnel_stages=FUNNEL_STAGES,
        features=DEFAULT_FEATURES,
        log1p=DEFAULT_LOG1P,
    ),
    "hillstrom": GrowthSource(
        name="hillstrom",
        metrics=HILLSTROM_METRICS,
        primary_metric="conversion",
        funnel_stages=HILLSTROM_FUNNEL_STAGES,
        features=HILLSTROM_DEFAULT_FEATURES,
        log1p=HILLSTROM_LOG1P,
    ),
}
