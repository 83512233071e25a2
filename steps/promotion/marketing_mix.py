"""Promotion steps of the marketing-mix model: champion vs challenger on this run's CV folds,
then registration and alias moves as the very last step."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step

from liftlab.config.marketing_mix import MarketingMixConfig
from liftlab.mlops.mmm_model import log_mmm_model
from liftlab.mlops.registry import (
    mmm_version_tags,
    model_description,
    register_new_model,
    score_mmm_champion,
)
from liftlab.mlops.tracking import log_promotion_decision, log_registration
from liftlab.ops.summary import log_run_summary
from strategies.mmm.promotion import decide_mmm_promotion
from strategies.mmm.result import MMMResult


@step(experiment_tracker=True, enable_cache=False)
def decide_marketing_mix_promotion(
    raw_data: pd.DataFrame,
    lift_tests: pd.DataFrame,
    mmm_result: MMMResult,
    config: MarketingMixConfig,
) -> Annotated[dict, "promotion_decision"]:
    """Refit the champion's specification on this run's folds and compare CV errors."""
    champion = score_mmm_champion(
        config.model_name,
        config.mmm_data(raw_data),
        lift_tests=lift_tests if len(lift_tests) else None,
        n_folds=config.cv.n_folds,
        test_periods=config.cv.test_periods,
    )
    stats = mmm_result.fit_stats
    decision = decide_mmm_promotion(
        model_name=config.model_name,
        challenger_scores={"cv_mape": stats["cv_mape"], "cv_nrmse": stats["cv_nrmse"]},
        champion=champion,
    ).to_dict()
    log_promotion_decision(decision)
    return decision


@step(experiment_tracker=True, enable_cache=False)
def register_marketing_mix_model(
    mmm_result: MMMResult,
    promotion_decision: dict,
    data_info: dict,
    run_summary: dict,
    config: MarketingMixConfig,
) -> Annotated[dict, "registration"]:
    """The last step: only a run whose every earlier step succeeded registers a version
    (alias ``challenger``) and, when the decision says so, moves ``champion`` to it. A model
    equal to the latest version (a re-run on unchanged data) is neither logged nor registered
    again."""
    pipeline_run = get_step_context().pipeline_run.name
    tags = mmm_version_tags(
        result_stats=mmm_result.fit_stats,
        decision=promotion_decision,
        data_info=data_info,
        pipeline_run=pipeline_run,
    )
    registration = register_new_model(
        model=mmm_result.model,
        log_model=lambda: log_mmm_model(
            mmm_result.model, metadata={"liftlab.pipeline_run": pipeline_run}
        ),
        name=config.model_name,
        tags=tags,
        promote=bool(promotion_decision["promote"]),
        description=model_description("marketing_mix"),
    )
    log_registration(registration)
    promoted = bool(promotion_decision["promote"]) and not registration.get("unchanged")
    promotion = {"promoted": promoted, "promotion": promotion_decision["summary"]}
    return log_run_summary({**registration, **promotion, **run_summary})
