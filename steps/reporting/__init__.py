"""Reporting steps: HTML reports, then publishing to MLflow, files and the warehouse."""

from steps.reporting.ab_testing import build_ab_report, publish_ab_results
from steps.reporting.campaign_uplift import build_campaign_report, publish_campaign_results
from steps.reporting.growth_analytics import build_growth_report_step, publish_growth_results
from steps.reporting.marketing_mix import (
    build_marketing_mix_report_step,
    publish_marketing_mix_results,
)
from steps.reporting.training import build_training_report, publish_training_results
from steps.reporting.uplift import build_uplift_report, publish_uplift_results

__all__ = [
    "build_ab_report",
    "build_campaign_report",
    "build_growth_report_step",
    "build_marketing_mix_report_step",
    "build_training_report",
    "build_uplift_report",
    "publish_ab_results",
    "publish_campaign_results",
    "publish_growth_results",
    "publish_marketing_mix_results",
    "publish_training_results",
    "publish_uplift_results",
]
