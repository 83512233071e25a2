"""The MLOps glue: ZenML stack, MLflow tracking and registry, materializers, publishing files."""
