"""Registration of the persona model, the growth pipeline's last step."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step

from liftlab.config.growth_analytics import GrowthAnalyticsConfig
from liftlab.mlops.persona_model import log_persona_model
from liftlab.mlops.registry import model_description, register_and_alias
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
    noise without the user choosing it."""
    pipeline_run = get_step_context().pipeline_run.name
    # floats: an integer schema would refuse a missing value at assignment time
    example = persona_features[list(persona_model["features"])].head(5).astype(float)
    logged = log_persona_model(persona_model, example, {"liftlab.pipeline_run": pipeline_run})
    recovery = persona_summary.get("recovery") or {}
    tags = {
        "liftlab.pipeline_run": pipeline_run,
        "personas": persona_summary["k"],
        "structure_found": persona_summary["structure_found"],
        "names": ", ".join(persona_model["names"]),
        "adjusted_rand_index": recovery.get("ari", ""),
    }
    promote = bool(persona_summary["structure_found"])
    registration = register_and_alias(
        model_id=logged["model_id"],
        name=config.model_name,
        tags=tags,
        promote=promote,
        description=model_description("personas"),
    )
    log_registration(registration)
    return log_run_summary({**registration, "promoted": promote, **run_summary})
