"""Extract, clean and validate: steps that turn a data source into validated tables."""

from steps.etl.ab_testing import summarise_experiment_data
from steps.etl.ads import clean_ads, validate_ads
from steps.etl.campaign_warehouse import summarise_campaign_warehouse
from steps.etl.growth_analytics import build_growth_warehouse
from steps.etl.ingest import ingest_data
from steps.etl.marketing_mix import load_lift_tests, validate_marketing_mix_data
from steps.etl.uplift import validate_uplift_data

__all__ = [
    "build_growth_warehouse",
    "clean_ads",
    "ingest_data",
    "load_lift_tests",
    "summarise_campaign_warehouse",
    "summarise_experiment_data",
    "validate_ads",
    "validate_marketing_mix_data",
    "validate_uplift_data",
]
