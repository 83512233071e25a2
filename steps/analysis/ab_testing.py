"""A/B analysis step: sufficient statistics → tests, intervals, SRM, corrections, decisions."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from liftlab.config.ab_testing import load_ab_config
from strategies.stats.run import run_ab_analysis


@step
def analyse_experiments(
    clean_data: pd.DataFrame, config: dict[str, Any]
) -> tuple[
    Annotated[pd.DataFrame, "ab_results"],
    Annotated[pd.DataFrame, "srm_checks"],
    Annotated[pd.DataFrame, "funnel"],
    Annotated[pd.DataFrame, "heterogeneity"],
    Annotated[pd.DataFrame, "sequential_looks"],
]:
    """Fixed-horizon analysis plus the Bayesian, sequential and non-parametric layers the config
    asks for; ``heterogeneity`` tests whether effects differ across segment values."""
    cfg = load_ab_config(config)
    outcome = run_ab_analysis(
        clean_data,
        cfg.design(),
        cfg.metric_specs(),
        cfg.analysis_options(),
        funnel_stages=cfg.funnel,
        **cfg.layer_options(),
    )
    return (
        outcome.results,
        outcome.srm,
        outcome.funnel,
        outcome.heterogeneity,
        outcome.sequential_looks,
    )
