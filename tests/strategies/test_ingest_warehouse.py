"""Reading another job's gold table from the warehouse: read-only, specific errors."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from strategies.errors import InputDataError
from strategies.ingest import read_warehouse_table


def test_reads_a_table_and_names_missing_ones(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE \"gold x\" AS SELECT 1 AS a, 'b' AS b")
    frame = read_warehouse_table(path, "gold x")
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"a": [1], "b": ["b"]}), check_dtype=False)
    with pytest.raises(InputDataError, match=r"no table 'gold_campaign_summary'.*\['gold x'\]"):
        read_warehouse_table(path, "gold_campaign_summary")
    with pytest.raises(InputDataError, match="does not exist"):
        read_warehouse_table(tmp_path / "none.duckdb", "t")
