"""A/B analysis step: sufficient statistics → tests, intervals, SRM, corrections, decisions."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.ab_testing import ABTestConfig
from strategies.stats.run import run_ab_analysis


@step
def analyse_experiments(
    clean_data: pd.DataFrame, config: ABTestConfig
) -> tuple[
    Annotated[pd.DataFrame, "ab_results"],
    Annotated[pd.DataFrame, "srm_checks"],
    Annotated[pd.DataFrame, "funnel"],
    Annotated[pd.DataFrame, "heterogeneity"],
    Annotated[pd.DataFrame, "sequential_looks"],
]:
    """Fixed-horizon analysis plus the Bayesian, sequential and non-parametric layers the config
    asks for; ``heterogeneity`` tests whether effects differ across segment values."""
    outcome = run_ab_analysis(
        clean_data,
        config.design(),
        config.metric_specs(),
        config.analysis_options(),
        funnel_stages=config.funnel,
        **config.layer_options(),
    )
    return (
        outcome.results,
        outcome.srm,
        outcome.funnel,
        outcome.heterogeneity,
        outcome.sequential_looks,
    )
