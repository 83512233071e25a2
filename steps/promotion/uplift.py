"""Promotion steps of the uplift models: the registration decision per outcome, then
registration and alias moves as the very last step."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step

from liftlab.config.uplift import UpliftModelConfig
from liftlab.mlops.model_hash import model_hash
from liftlab.mlops.registry import (
    model_description,
    register_and_alias,
    score_uplift_champion,
    uplift_version_tags,
)
from liftlab.ops.summary import log_run_summary
from strategies.promotion import decide_uplift_promotion
from strategies.uplift.workflow import holdout_rows


@step(experiment_tracker=True, enable_cache=False)
def decide_uplift_registration(
    raw_data: pd.DataFrame, uplift_info: dict, config: UpliftModelConfig
) -> Annotated[dict, "uplift_decisions"]:
    """Per outcome: score the current champion on this run's holdout with the same metric; the
    new best learner replaces it only if it ranks customers better (higher mean over arms)."""
    holdout = holdout_rows(
        raw_data, config.treatment_column, [config.control, *config.arms], uplift_info["test_idx"]
    )
    decisions: dict[str, dict] = {}
    for outcome in config.modelled_outcomes():
        name, best = config.registered_name(outcome), uplift_info["models"][outcome.name]
        champion = score_uplift_champion(
            name,
            holdout,
            features=config.feature_columns,
            treatment_column=config.treatment_column,
            outcome_column=outcome.column,
            control=config.control,
            metric=config.rank_by,
        )
        decisions[outcome.name] = decide_uplift_promotion(
            model_name=name,
            learner=best["learner"],
            model=best["model"],
            score=uplift_info["holdout_scores"][outcome.name],
            metric=config.rank_by,
            champion=champion,
        ).to_dict()
    return decisions


@step(experiment_tracker=True, enable_cache=False)
def register_uplift_models(
    uplift_info: dict, uplift_decisions: dict, run_summary: dict
) -> Annotated[dict, "registration"]:
    """The last step: register each outcome's best learner (alias ``challenger``) and move
    ``champion`` when the decision says so; a learner equal to the latest version (a re-run on
    unchanged data) is not registered again."""
    pipeline_run = get_step_context().pipeline_run.name
    registered = {}
    for outcome, decision in uplift_decisions.items():
        model = uplift_info["models"][outcome]
        tags = uplift_version_tags(
            outcome=outcome, learner=model["learner"], decision=decision, pipeline_run=pipeline_run
        )
        registered[outcome] = register_and_alias(
            model_id=model["model_id"],
            name=decision["model_name"],
            tags=tags,
            promote=bool(decision["promote"]),
            description=model_description("uplift", outcome=outcome),
            content_hash=model_hash(model["model"]),
        )
    return log_run_summary({**run_summary, "registered": registered})
