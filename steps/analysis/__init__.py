"""Analysis steps: the statistics of each job, computed from validated tables."""

from steps.analysis.ab_testing import analyse_experiments
from steps.analysis.campaign_uplift import summarise_campaign_uplift
from steps.analysis.growth_analytics import (
    analyse_growth_experiments,
    analyse_persona_lift,
    find_personas,
)
from steps.analysis.marketing_mix import analyse_marketing_mix_step
from steps.analysis.uplift import estimate_average_effects

__all__ = [
    "analyse_experiments",
    "analyse_growth_experiments",
    "analyse_persona_lift",
    "analyse_marketing_mix_step",
    "estimate_average_effects",
    "find_personas",
    "summarise_campaign_uplift",
]
