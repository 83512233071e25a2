"""One query using every construct liftlab relies on gives the same frame on DuckDB, PostgreSQL
and Spark, and that frame equals an independent pandas/numpy computation on the same rows."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from strategies.engines import SqlEngine, hash_bucket, literal
from tests.strategies.engines.conftest import awkward_frame

ENRICHED = """
WITH base AS (
    SELECT DISTINCT * FROM source
), enriched AS (
    SELECT
        "User ID" AS uid,
        "Group" AS grp,
        segment,
        CAST("Revenue (EUR)" AS DOUBLE) AS rev,
        CAST(clicks AS BIGINT) AS clicks,
        COALESCE("Revenue (EUR)", 0) AS rev0,
        LOWER(TRIM(label)) AS lab,
        LOWER("Group") AS grp_lower,
        md5(CAST("User ID" AS VARCHAR)) AS h,
        date_trunc('day', ts) AS "Day",
        date_trunc('week', ts) AS "Week",
        ROW_NUMBER() OVER (PARTITION BY "Group" ORDER BY "Revenue (EUR)", "User ID") AS rn,
        RANK() OVER (PARTITION BY "Group" ORDER BY "Revenue (EUR)") AS rk,
        RANK() OVER (PARTITION BY "Group" ORDER BY "Revenue (EUR)" DESC) AS rk_desc,
        SUM(clicks) OVER (PARTITION BY "Group" ORDER BY "User ID") AS "cumClicks"
    FROM base
)
"""

ROWS = ENRICHED + "SELECT * FROM enriched ORDER BY uid"

AGGREGATE = (
    ENRICHED
    + """
SELECT
    grp AS "Group",
    segment AS "Seg",
    GROUPING(segment) AS "gSeg",
    COUNT(*) AS n,
    COUNT(*) FILTER (WHERE lab = 'yes') AS "nYes",
    COUNT(*) FILTER (WHERE lab = 'it''s') AS n_quote,
    COUNT(DISTINCT lab) AS n_labels,
    SUM(rev) AS "Revenue Sum",
    quantile_cont(rev, 0.3) AS q30
FROM enriched
GROUP BY GROUPING SETS ((grp, segment), (grp))
"""
)


def _expected_rows() -> pd.DataFrame:
    df = awkward_frame().drop_duplicates().reset_index(drop=True)
    out = pd.DataFrame(
        {
            "uid": df["User ID"],
            "grp": df["Group"],
            "segment": df["segment"],
            "rev": df["Revenue (EUR)"].astype(float),
            "clicks": df["clicks"],
            "rev0": df["Revenue (EUR)"].fillna(0.0),
            "lab": df["label"].map(lambda v: v.strip().lower() if isinstance(v, str) else np.nan),
            "grp_lower": df["Group"].str.lower(),
            "h": df["User ID"].map(lambda v: hashlib.md5(str(v).encode()).hexdigest()),
            "Day": df["ts"].dt.floor("D"),
            "Week": df["ts"].dt.to_period("W-SUN").dt.start_time,
        }
    )
    by_rev = df.sort_values(["Revenue (EUR)", "User ID"], na_position="last")
    out["rn"] = (by_rev.groupby("Group").cumcount() + 1).reindex(df.index).astype(np.int64)
    out["rk"] = (
        df.groupby("Group")["Revenue (EUR)"].rank(method="min", na_option="bottom").astype(np.int64)
    )
    # DuckDB's default puts NULLs last whatever the direction; the engines must agree.
    out["rk_desc"] = (
        df.groupby("Group")["Revenue (EUR)"]
        .rank(method="min", ascending=False, na_option="bottom")
        .astype(np.int64)
    )
    by_uid = df.sort_values("User ID")
    out["cumClicks"] = by_uid.groupby("Group")["clicks"].cumsum().reindex(df.index)
    for col in ("grp", "segment", "lab", "grp_lower", "h"):
        out[col] = pd.Series(out[col].to_numpy(dtype=object, na_value=np.nan), dtype=object)
    out["Day"] = out["Day"].astype("datetime64[us]")
    out["Week"] = out["Week"].astype("datetime64[us]")
    return out.sort_values("uid").reset_index(drop=True)


def _expected_aggregate() -> pd.DataFrame:
    rows = _expected_rows()
    records = []
    keyed = rows.assign(seg_key=rows["segment"].fillna("\x00null"))
    for with_segment in (True, False):
        keys = ["grp", "seg_key"] if with_segment else ["grp"]
        for key, part in keyed.groupby(keys, sort=True):
            grp = key[0]
            seg = part["segment"].iloc[0] if with_segment else np.nan
            rev = part["rev"].dropna()
            records.append(
                {
                    "Group": grp,
                    "Seg": seg if isinstance(seg, str) else np.nan,
                    "gSeg": 0 if with_segment else 1,
                    "n": len(part),
                    "nYes": int((part["lab"] == "yes").sum()),
                    "n_quote": int((part["lab"] == "it's").sum()),
                    "n_labels": int(part["lab"].nunique()),
                    "Revenue Sum": float(np.sum(rev)) if len(rev) else np.nan,
                    "q30": float(np.quantile(rev, 0.3)) if len(rev) else np.nan,
                }
            )
    frame = pd.DataFrame(records)
    for col in ("Group", "Seg"):
        frame[col] = pd.Series(frame[col].to_numpy(dtype=object, na_value=np.nan), dtype=object)
    return _sorted(frame)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Order aggregate rows by their keys (engines return GROUPING SETS rows in any order)."""
    key = frame["Seg"].map(lambda v: v if isinstance(v, str) else "\uffff")
    return (
        frame.assign(_k=key)
        .sort_values(["Group", "gSeg", "_k"])
        .drop(columns="_k")
        .reset_index(drop=True)
    )


def _assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        actual, expected, check_exact=False, rtol=1e-12, atol=0.0, check_dtype=True
    )


def test_rows_match_pandas(engine: SqlEngine) -> None:
    got = engine.fetch(ROWS)
    expected = _expected_rows()
    assert list(got.columns) == list(expected.columns)  # case and spelling kept as written
    _assert_same(got, expected)


def test_aggregate_matches_pandas(engine: SqlEngine) -> None:
    got = _sorted(engine.fetch(AGGREGATE))
    expected = _expected_aggregate()
    assert len(expected) == 2 * 4 + 2  # 2 groups x 4 segments (NULL one too) + 2 group totals
    _assert_same(got, expected)


def test_temp_table_round_trip(engine: SqlEngine) -> None:
    engine.create_temp_table("Enriched Rows", ROWS)
    engine.create_temp_table("Enriched Rows", ROWS)  # replacing an existing one works
    names = [c.name for c in engine.columns("Enriched Rows")]
    assert names == list(_expected_rows().columns)
    kinds = {c.name: c.kind for c in engine.columns("Enriched Rows")}
    assert kinds["uid"] == "numeric" and kinds["lab"] == "text" and kinds["Day"] == "temporal"
    got = engine.fetch('SELECT * FROM "Enriched Rows" ORDER BY uid')
    _assert_same(got, _expected_rows())


def test_source_columns(engine: SqlEngine) -> None:
    cols = engine.columns("source")
    assert [c.name for c in cols] == list(awkward_frame().columns)
    kinds = [c.kind for c in cols]
    assert kinds == ["numeric", "text", "text", "numeric", "numeric", "text", "temporal"]


def test_hash_bucket_matches_python(engine: SqlEngine) -> None:
    sql = (
        f'SELECT "User ID" AS uid, label, {hash_bucket(chr(34) + "User ID" + chr(34), "exp-1", 10)}'
        f" AS b, {hash_bucket('label', 7, 3)} AS c FROM source ORDER BY uid, label"
    )
    got = engine.fetch(sql)
    uid_bucket = [
        int(hashlib.md5(f"exp-1:{u}".encode()).hexdigest()[:7], 16) % 10 for u in got["uid"]
    ]
    assert got["b"].tolist() == uid_bucket
    assert got["b"].dtype == np.int64
    labels = got["label"]
    want = [
        int(hashlib.md5(f"7:{v}".encode()).hexdigest()[:7], 16) % 3 if isinstance(v, str) else None
        for v in labels
    ]
    assert [None if pd.isna(v) else int(v) for v in got["c"]] == want  # NULL in, NULL out


AWKWARD_VALUES = [
    "it's",
    "back\\slash",
    'double "quote"',
    "ünïcødé 日本",
    "",
    0,
    -(2**62),
    0.1,
    1 / 3,
    -2.5e-300,
    5e-324,
    1.7976931348623157e308,
    True,
    False,
]


def test_literals_round_trip(engine: SqlEngine) -> None:
    select = ", ".join(f"{literal(v)} AS c{i}" for i, v in enumerate(AWKWARD_VALUES))
    got = engine.fetch(f"SELECT {select}, {literal(None)} AS n")
    dtypes = {str: "object", int: "int64", float: "float64", bool: "bool"}
    for i, value in enumerate(AWKWARD_VALUES):
        column = got[f"c{i}"]
        assert column.iloc[0] == value, (i, value, column.iloc[0])
        assert str(column.dtype) == dtypes[type(value)], (value, column.dtype)
    assert pd.isna(got["n"].iloc[0])


def test_non_finite_float_literals(engine: SqlEngine) -> None:
    got = engine.fetch(
        f"SELECT {literal(float('inf'))} AS a, {literal(float('-inf'))} AS b, "
        f"{literal(float('nan'))} AS c"
    )
    a, b, c = got.iloc[0].tolist()
    assert a == np.inf and b == -np.inf and np.isnan(c)


def test_bad_query_names_engine_and_column(engine: SqlEngine) -> None:
    from strategies.engines import QueryError

    with pytest.raises(QueryError, match=rf"{engine.name} query failed.*no_such_col"):
        engine.fetch("SELECT no_such_col FROM source")
