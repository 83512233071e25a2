"""Promotion steps: champion/challenger decisions and registry moves (always last)."""

from steps.promotion.growth_analytics import register_persona_model
from steps.promotion.marketing_mix import (
    decide_marketing_mix_promotion,
    register_marketing_mix_model,
)
from steps.promotion.regressors import decide_promotion_step, register_and_promote
from steps.promotion.uplift import decide_uplift_registration, register_uplift_models

__all__ = [
    "decide_marketing_mix_promotion",
    "decide_promotion_step",
    "decide_uplift_registration",
    "register_and_promote",
    "register_marketing_mix_model",
    "register_persona_model",
    "register_uplift_models",
]
