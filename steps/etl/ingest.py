"""Ingest: read the configured data source (a file, a read-only query or an engine's table,
through DuckDB, PostgreSQL or Spark) into a frame."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.base import DataSource
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.ingest import file_fingerprint
from strategies.warehouse.read import read_source


@step(output_materializers={"raw_data": ZstdPandasMaterializer})
def ingest_data(
    source: DataSource,
) -> tuple[Annotated[pd.DataFrame, "raw_data"], Annotated[dict, "data_info"]]:
    """Load the analysis table and fingerprint the source file (for the MLflow data tag).

    Caching: the pipeline declares the data file as a cache dependency, so a changed file is
    read again instead of being served from a stale cache.
    """
    path, sql = source.resolved_data_path, source.sql or None
    frame = read_source(source.engine.settings(), source.source_spec())
    info = {
        "engine": source.engine.name,
        "source": str(path) if path else (f"table {source.table}" if source.table else "sql"),
        "sql": sql,
        "allowed_paths": [str(p) for p in source.resolved_allowed_paths],
        "sha256": file_fingerprint(path) if path else None,
        "rows": int(len(frame)),
        "columns": [str(c) for c in frame.columns],
    }
    return frame, info
