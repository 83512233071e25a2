"""Promotion steps: champion/challenger decisions and registry moves (always last)."""

from steps.promotion.regressors import decide_promotion_step, register_and_promote
from steps.promotion.uplift import decide_uplift_registration, register_uplift_models

__all__ = [
    "decide_promotion_step",
    "decide_uplift_registration",
    "register_and_promote",
    "register_uplift_models",
]
