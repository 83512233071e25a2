"""Promotion steps of the conversion model: champion vs challenger on the same holdout, then
registration and alias moves as the very last step."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step

from liftlab.config.training import PromotionConfig
from liftlab.mlops.registry import (
    model_description,
    register_and_alias,
    score_regression_champion,
    training_version_tags,
)
from liftlab.mlops.tracking import log_promotion_decision, log_registration
from liftlab.ops.summary import log_run_summary
from strategies.promotion import decide_promotion
from strategies.training import SplitPlan


@step(experiment_tracker=True, enable_cache=False)
def decide_promotion_step(
    clean_ads: pd.DataFrame,
    split_plan: dict,
    training_info: dict,
    model_name: str,
    target: str,
    promotion: PromotionConfig,
) -> Annotated[dict, "promotion_decision"]:
    """Score the current champion on this run's holdout rows and apply the promotion rule.
    Nothing is moved here; :func:`register_and_promote` applies the decision at the very end."""
    holdout_rows = clean_ads.iloc[SplitPlan.from_dict(split_plan).test].reset_index(drop=True)
    decision = decide_promotion(
        model_name=model_name,
        challenger_label=training_info["best_candidate"],
        challenger_model=training_info["best_model"],
        challenger_scores=training_info["holdout_scores"],
        baseline_scores=training_info["baseline_scores"],
        metric=promotion.metric,
        margin=promotion.margin,
        champion=score_regression_champion(model_name, holdout_rows, target),
        holdout_target=holdout_rows[target],
        target=target,
    ).to_dict()
    log_promotion_decision(decision)
    return decision


@step(experiment_tracker=True, enable_cache=False)
def register_and_promote(
    training_info: dict,
    promotion_decision: dict,
    data_info: dict,
    run_summary: dict,
    model_name: str,
    target: str,
) -> Annotated[dict, "registration"]:
    """The last step: only a run whose every earlier step succeeded registers a version
    (alias ``challenger``) and, when the decision says so, moves ``champion`` to it. A model
    equal to the latest version (same data, settings and code) is not registered again."""
    promote = bool(promotion_decision["promote"])
    tags = training_version_tags(
        training_info=training_info,
        decision=promotion_decision,
        data_info=data_info,
        target=target,
        pipeline_run=get_step_context().pipeline_run.name,
    )
    registration = register_and_alias(
        model_id=training_info["model_id"],
        name=model_name,
        tags=tags,
        promote=promote,
        description=model_description("conversion", target=target),
        content_hash=training_info.get("model_hash", ""),
    )
    log_registration(registration)
    promoted = promote and not registration.get("unchanged")
    return log_run_summary({**registration, "promoted": promoted, **run_summary})
