"""Ingest: read the configured data source (file or read-only DuckDB SQL) into a frame."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.base import DataSource
from liftlab.mlops.materializers import ZstdPandasMaterializer
from strategies.ingest import file_fingerprint, load_source


@step(output_materializers={"raw_data": ZstdPandasMaterializer})
def ingest_data(
    source: DataSource,
) -> tuple[Annotated[pd.DataFrame, "raw_data"], Annotated[dict, "data_info"]]:
    """Load the analysis table and fingerprint the source file (for the MLflow data tag).

    Caching: the pipeline declares the data file as a cache dependency, so a changed file is
    read again instead of being served from a stale cache.
    """
    path, sql = source.resolved_data_path, source.sql or None
    frame = load_source(path, sql=sql, allowed_paths=source.resolved_allowed_paths)
    info = {
        "source": str(path) if path else "sql",
        "sql": sql,
        "allowed_paths": [str(p) for p in source.resolved_allowed_paths],
        "sha256": file_fingerprint(path) if path else None,
        "rows": int(len(frame)),
        "columns": [str(c) for c in frame.columns],
    }
    return frame, info
