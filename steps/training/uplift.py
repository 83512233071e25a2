"""Uplift training step: S/T/X learners compared on a randomised holdout, nested MLflow runs."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.uplift import UpliftModelConfig
from liftlab.mlops.tracking import flatten_params, log_uplift_round
from strategies.uplift.workflow import run_uplift_modelling


@step(experiment_tracker=True, enable_cache=False)
def train_uplift_models(
    raw_data: pd.DataFrame, validation: dict, data_info: dict, config: UpliftModelConfig
) -> tuple[
    Annotated[pd.DataFrame, "learner_comparison"],
    Annotated[pd.DataFrame, "qini_curves"],
    Annotated[pd.DataFrame, "policy_comparison"],
    Annotated[pd.DataFrame, "profit_curves"],
    Annotated[pd.DataFrame, "uplift_targeting"],
    Annotated[pd.DataFrame, "targeting_summary"],
    Annotated[dict, "uplift_info"],
]:
    """Uncached, so every run appears in MLflow: one nested run per outcome × learner with its
    holdout metrics per arm; the best learner per outcome logged as an MLflow model (registered
    by the last step)."""
    run = run_uplift_modelling(raw_data, **config.modelling_arguments())
    info = log_uplift_round(
        run,
        params=flatten_params(config),
        input_example=raw_data[config.feature_columns].reset_index(drop=True).head(5),
        control=config.control,
        arms=config.arms,
        rank_by=config.rank_by,
        data_info=data_info,
    )
    return (
        run.comparison,
        run.qini_curves,
        run.policy,
        run.profit_curves,
        run.targeting,
        run.targeting_summary,
        info,
    )
