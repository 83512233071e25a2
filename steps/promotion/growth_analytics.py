"""Registration of the persona model, the growth pipeline's last step."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step

from liftlab.config.growth_analytics import GrowthAnalyticsConfig
from liftlab.mlops.persona_model import log_persona_model
from liftlab.mlops.registry import model_description, persona_version_tags, register_new_model
from liftlab.mlops.tracking import log_registration
from liftlab.ops.summary import log_run_summary


@step(experiment_tracker=True, enable_cache=False)
def register_persona_model(
    persona_model: dict,
    persona_features: pd.DataFrame,
    persona_summary: dict,
    run_summary: dict,
    config: GrowthAnalyticsConfig,
) -> Annotated[dict, "registration"]:
    """Only a run whose every earlier step succeeded registers a version (alias
    ``challenger``); ``champion`` moves to it when the personas are real structure (stable
    and tighter than in structureless data), so batch assignment never uses a partition of
    noise without the user choosing it. A model equal to the latest version (a re-run on
    unchanged data) is neither logged nor registered again."""
    pipeline_run = get_step_context().pipeline_run.name
    # floats: an integer schema would refuse a missing value at assignment time
    example = persona_features[list(persona_model["features"])].head(5).astype(float)
    registration = register_new_model(
        model=persona_model,
        log_model=lambda: log_persona_model(
            persona_model, example, {"liftlab.pipeline_run": pipeline_run}
        ),
        name=config.model_name,
        tags=persona_version_tags(
            model=persona_model, summary=persona_summary, pipeline_run=pipeline_run
        ),
        promote=bool(persona_summary["structure_found"]),
        description=model_description("personas"),
    )
    log_registration(registration)
    promote = bool(persona_summary["structure_found"]) and not registration.get("unchanged")
    return log_run_summary({**registration, "promoted": promote, **run_summary})
