"""Inference steps: batch scoring with the registered champion."""

from steps.inference.scoring import (
    publish_predictions,
    resolve_model,
    score_data,
    validate_scoring_data,
)

__all__ = ["publish_predictions", "resolve_model", "score_data", "validate_scoring_data"]
