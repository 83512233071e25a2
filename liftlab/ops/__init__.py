"""Running pipelines from outside ZenML's CLI: the runner, schedules and scheduled retraining."""
