"""Training steps: splits and candidate models, each candidate a nested MLflow run."""

from steps.training.regressors import train_candidate_models
from steps.training.split import plan_ads_split
from steps.training.uplift import train_uplift_models

__all__ = ["plan_ads_split", "train_candidate_models", "train_uplift_models"]
