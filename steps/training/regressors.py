"""Training step: every candidate regressor as a nested MLflow run, the best one logged."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step
from zenml.types import HTMLString

from liftlab.config.training import TrainingConfig
from liftlab.mlops.tracking import flatten_params, log_training_round
from liftlab.reports.training import comparison_table_html
from strategies.training import SplitPlan, run_training_round


@step(experiment_tracker=True, enable_cache=False)
def train_candidate_models(
    clean_ads: pd.DataFrame,
    split_plan: dict,
    data_info: dict,
    validation: dict,
    config: TrainingConfig,
) -> tuple[
    Annotated[pd.DataFrame, "model_comparison"],
    Annotated[pd.DataFrame, "holdout_predictions"],
    Annotated[pd.DataFrame, "feature_importance"],
    Annotated[dict, "training_info"],
    Annotated[HTMLString, "model_comparison_view"],
]:
    """Uncached so every retrain appears in MLflow: one nested run per candidate (parameters,
    CV and holdout metrics, diagnostic plots), the comparison on the parent run, and the best
    model logged with its signature and an input example (registered at the end of the run)."""
    plan = SplitPlan.from_dict(split_plan)
    result = run_training_round(clean_ads, plan, **config.training_arguments())
    training_info = log_training_round(
        result,
        params=flatten_params(config),
        data_info={**data_info, "rows_clean": validation.get("n_rows")},
        split_summary=plan.summary(),
        model_metadata=config.model_metadata(),
    )
    predictions, importance = result.diagnostics[result.best]
    view = HTMLString(comparison_table_html(result.table, config.rank_by))
    return result.table, predictions, importance, training_info, view
