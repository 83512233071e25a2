"""liftlab's domain layer: cleaning, validation rules, statistics, models.

Plain Python/pandas/numpy/scipy/DuckDB. Nothing here imports ZenML or MLflow, so every
strategy can be unit-tested in milliseconds and reused outside pipelines.
"""
