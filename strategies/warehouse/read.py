"""Read a whole source table through its engine, for jobs that need every row.

Model training, batch scoring, uplift models and the weekly marketing-mix table work on rows (a
model is fitted to them), so unlike the A/B statistics these tables come back whole. They are
small next to an event log (one row per ad, customer or week); what the engine setting changes
is *where they are read from*: a file through DuckDB's sandbox (unchanged), a PostgreSQL table or
query, or a Spark table, file or query.
"""

from __future__ import annotations

import pandas as pd

from strategies.engines import open_engine
from strategies.engines.base import SOURCE, EngineSettings, SourceSpec
from strategies.engines.dialects import quote_ident
from strategies.errors import InputDataError
from strategies.ingest import load_source


def read_source(settings: EngineSettings, source: SourceSpec) -> pd.DataFrame:
    """The source as a frame with plain numpy dtypes. DuckDB: :func:`strategies.ingest.load_source`
    (files and sandboxed SQL, exactly as before engines existed); PostgreSQL and Spark: the
    engine registers the table/file/query as ``source`` and returns ``SELECT *`` of it."""
    if settings.name == "duckdb":
        return load_source(source.path, sql=source.sql, allowed_paths=list(source.allowed_paths))
    with open_engine(settings) as engine:
        engine.register_source(source)
        frame = engine.fetch(f"SELECT * FROM {quote_ident(SOURCE)}")
    if frame.empty:
        what = source.table or source.path or "the SQL query"
        raise InputDataError(f"engine {settings.name}: {what} returned no rows")
    return frame
