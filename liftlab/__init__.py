"""liftlab: experimentation and campaign analytics as ZenML pipelines tracked in MLflow."""

__version__ = "0.1.0"
