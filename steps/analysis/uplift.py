"""Uplift analysis step: average treatment effects per arm and outcome (the A/B engine)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from zenml import step

from liftlab.config.uplift import load_uplift_config
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis


@step
def estimate_average_effects(
    raw_data: pd.DataFrame, validation: dict, config: dict[str, Any]
) -> Annotated[pd.DataFrame, "average_effects"]:
    """Each arm vs control on every outcome, with CIs and corrected p-values (the A/B engine)."""
    cfg = load_uplift_config(config)
    frame = raw_data.reset_index(drop=True)
    unit = cfg.id_column or "_row"
    if cfg.id_column is None:
        frame = frame.assign(_row=np.arange(len(frame)))
    metrics = [
        MetricSpec(
            name=o.name,
            type="proportion" if o.type == "binary" else "mean",
            column=o.column,
        )
        for o in cfg.outcomes
    ]
    design = ABDesign(
        unit_column=unit,
        variant_column=cfg.treatment_column,
        control=cfg.control,
        variants=tuple(cfg.arms),
        experiment_name="uplift",
    )
    options = AnalysisOptions(control=cfg.control, alpha=cfg.alpha, correction=cfg.correction)
    return run_ab_analysis(frame, design, metrics, options).results
