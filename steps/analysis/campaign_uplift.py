"""Campaign gold step: incremental spend, ROI and decisions per campaign × category."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import step

from liftlab.config.campaign_uplift import load_campaign_config
from strategies.campaign_uplift import summarise_campaigns


@step
def summarise_campaign_uplift(
    campaign_customers: pd.DataFrame,
    campaigns: pd.DataFrame,
    silver_audit: dict,
    config: dict[str, Any],
) -> tuple[
    Annotated[pd.DataFrame, "campaign_summary"],
    Annotated[pd.DataFrame, "campaign_funnel"],
    Annotated[pd.DataFrame, "campaign_tests"],
]:
    """Gold: incremental spend and conversion with CIs, revenue, ROI and decisions; funnel."""
    cfg = load_campaign_config(config)
    summary, funnel, tests = summarise_campaigns(
        campaign_customers, campaigns, list(silver_audit["categories"]), cfg.options()
    )
    return summary, funnel, tests
