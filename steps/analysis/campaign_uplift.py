"""Campaign gold step: incremental spend, ROI and decisions per campaign × category."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.campaign_uplift import CampaignUpliftConfig
from strategies.campaign_uplift import summarise_campaign_statistics
from strategies.stats.inputs import ABStatistics


@step
def summarise_campaign_uplift(
    spend_statistics: ABStatistics,
    conversion_statistics: ABStatistics,
    campaigns: pd.DataFrame,
    silver_audit: dict,
    config: CampaignUpliftConfig,
) -> tuple[
    Annotated[pd.DataFrame, "campaign_summary"],
    Annotated[pd.DataFrame, "campaign_funnel"],
    Annotated[pd.DataFrame, "campaign_tests"],
]:
    """Gold from the engine's statistics: incremental spend and conversion with CIs,
    revenue, ROI and decisions; funnel."""
    summary, funnel, tests = summarise_campaign_statistics(
        spend_statistics,
        conversion_statistics,
        campaigns,
        list(silver_audit["categories"]),
        config.options(),
    )
    return summary, funnel, tests
