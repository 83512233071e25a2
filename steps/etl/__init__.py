"""Extract, clean and validate: steps that turn a data source into validated tables."""

from steps.etl.campaign_warehouse import build_silver_table, load_bronze, validate_bronze
from steps.etl.clean import clean_ads, clean_data
from steps.etl.ingest import ingest_data
from steps.etl.validate import validate_ads, validate_data, validate_uplift_data

__all__ = [
    "build_silver_table",
    "clean_ads",
    "clean_data",
    "ingest_data",
    "load_bronze",
    "validate_ads",
    "validate_bronze",
    "validate_data",
    "validate_uplift_data",
]
