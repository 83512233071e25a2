"""A/B analysis step: sufficient statistics → tests, intervals, SRM, corrections, decisions."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.ab_testing import ABTestConfig
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.stats.inputs import ABStatistics
from strategies.stats.run import analyse_statistics


# Frames that are empty when a layer is off (no sequential looks, no segments): the zstd
# materializer skips ZenML's describe() view that fails on a frame without columns.
@step(
    output_materializers={
        "sequential_looks": ZstdPandasMaterializer,
        "heterogeneity": ZstdPandasMaterializer,
    }
)
def analyse_experiments(
    ab_statistics: ABStatistics, config: ABTestConfig
) -> tuple[
    Annotated[pd.DataFrame, "ab_results"],
    Annotated[pd.DataFrame, "srm_checks"],
    Annotated[pd.DataFrame, "funnel"],
    Annotated[pd.DataFrame, "heterogeneity"],
    Annotated[pd.DataFrame, "sequential_looks"],
]:
    """Fixed-horizon analysis plus the Bayesian, sequential and non-parametric layers the config
    asks for, from the engine's sufficient statistics (no raw rows); ``heterogeneity`` tests
    whether effects differ across segment values."""
    layers = config.layer_options()
    outcome = analyse_statistics(
        ab_statistics,
        config.design(),
        config.metric_specs(),
        config.analysis_options(),
        bayesian=layers["bayesian"],
        sequential=layers["sequential"],
        nonparametric_columns=ab_statistics.nonparametric,
    )
    return (
        outcome.results,
        outcome.srm,
        outcome.funnel,
        outcome.heterogeneity,
        outcome.sequential_looks,
    )
