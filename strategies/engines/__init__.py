"""Where liftlab's SQL runs: DuckDB (embedded default), PostgreSQL or Spark, chosen in config.

:func:`open_engine` turns the config's ``engine:`` settings into one :class:`SqlEngine` session.
Each engine module is imported only when asked for, so a DuckDB-only installation never needs
psycopg, pyspark or Java.
"""

from __future__ import annotations

import warnings

from strategies.engines.base import (
    ENGINE_NAMES,
    SOURCE,
    Column,
    EngineName,
    EngineSettings,
    QueryError,
    SourceSpec,
    SqlEngine,
)
from strategies.engines.dialects import (
    hash_bucket,
    int_hash_bucket,
    literal,
    quote_ident,
    to_dialect,
)
from strategies.errors import ConfigError

# pyspark 4.x warns on import that it "does not yet fully support pandas >= 3.0.0"; it is
# imported by the Spark engine and by Great Expectations' Spark datasource. liftlab's use (small
# ``toPandas`` results) is checked against DuckDB and PostgreSQL by the golden cross-engine test,
# so the warning is noise to a user and is not shown.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)

__all__ = [
    "ENGINE_NAMES",
    "SOURCE",
    "Column",
    "EngineName",
    "EngineSettings",
    "QueryError",
    "SourceSpec",
    "SqlEngine",
    "hash_bucket",
    "int_hash_bucket",
    "literal",
    "open_engine",
    "quote_ident",
    "to_dialect",
]


def open_engine(settings: EngineSettings) -> SqlEngine:
    """Open a session on the engine ``settings.name`` names (use it as a context manager).

    Raises:
        ConfigError: unknown engine name, or what the engine needs is missing (the environment
            variable holding the PostgreSQL URL, pyspark, Java).
    """
    if settings.name == "duckdb":
        from strategies.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(settings)
    if settings.name == "postgres":
        from strategies.engines.postgres_engine import PostgresEngine

        return PostgresEngine(settings)
    if settings.name == "spark":
        from strategies.engines.spark_engine import SparkEngine

        return SparkEngine(settings)
    raise ConfigError(f"unknown engine {settings.name!r}; expected one of {list(ENGINE_NAMES)}")
