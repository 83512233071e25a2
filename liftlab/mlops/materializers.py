"""ZenML materializers tuned for liftlab's artifacts.

ZenML's stock pandas materializer writes Parquet with gzip, which costs ~6 s per 400k-row frame
(minutes at 10M rows) — more than the whole analysis. This one writes zstd-compressed Parquet
(about 30× faster, similar size) and reads exactly like the stock one, so artifacts stay loadable
with ``artifact.load()`` everywhere.
"""

from __future__ import annotations

import pandas as pd
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer


class ZstdPandasMaterializer(PandasMaterializer):
    """Pandas DataFrame/Series materializer that writes zstd Parquet."""

    def save(self, df: pd.DataFrame | pd.Series) -> None:
        if isinstance(df, pd.Series):
            df = df.to_frame(name="series")
        with self.artifact_store.open(self.parquet_path, mode="wb") as f:
            df.to_parquet(f, compression="zstd")
