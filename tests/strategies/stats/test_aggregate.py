"""The aggregation pass vs an independent DuckDB SQL GROUP BY, the pandas and DuckDB engines
against each other, plus the input checks."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

import strategies.stats.aggregate as aggregate_module
from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import aggregate, funnel_totals
from strategies.stats.metrics import MetricSpec

METRICS = [
    MetricSpec("cr", "proportion", column="converted"),
    MetricSpec("rev", "mean", column="revenue", covariate="pre_revenue"),
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions", covariate="pre_clicks"),
    MetricSpec("rev_per_session", "ratio", numerator="revenue", denominator="sessions"),
]
STATS = ["n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_z", "sum_z2", "sum_yz", "sum_xz"]


@pytest.fixture
def units() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 5000
    return pd.DataFrame(
        {
            "exp": rng.choice(["checkout", "banner"], n),
            "variant": rng.choice(["control", "b", "c"], n),
            "device": rng.choice(["mobile", "desktop", None], n),
            "country": rng.choice([3, 10, 20], n),
            "converted": rng.integers(0, 2, n).astype(bool),
            "revenue": rng.exponential(20.0, n),
            "clicks": rng.poisson(3.0, n),
            "sessions": 1 + rng.poisson(2.0, n),
            "pre_revenue": rng.exponential(15.0, n),
            "pre_clicks": rng.poisson(2.0, n),
        }
    )


def _sql_reference(units: pd.DataFrame, segment_sql: str) -> pd.DataFrame:
    """Sufficient statistics per metric computed by DuckDB, one SELECT per metric."""
    parts = []
    for m in METRICS:
        y = f"CAST({m.y_column} AS DOUBLE)"
        x = f"CAST({m.x_column} AS DOUBLE)" if m.x_column else "1.0"
        z = f"CAST({m.covariate} AS DOUBLE)" if m.covariate else "0.0"
        parts.append(
            f"""SELECT exp AS experiment, {segment_sql} AS segment, variant, '{m.name}' AS metric,
                   COUNT(*) AS n, SUM({y}) AS sum_y, SUM({y} * {y}) AS sum_y2,
                   SUM({x}) AS sum_x, SUM({x} * {x}) AS sum_x2, SUM({x} * {y}) AS sum_xy,
                   SUM({z}) AS sum_z, SUM({z} * {z}) AS sum_z2, SUM({y} * {z}) AS sum_yz,
                   SUM({x} * {z}) AS sum_xz
                FROM units GROUP BY ALL"""
        )
    return duckdb.query_df(units, "units", " UNION ALL ".join(parts)).df()


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_matches_duckdb_group_by(units, engine):
    got = aggregate(
        units,
        METRICS,
        variant_column="variant",
        experiment_column="exp",
        segment_columns=["device", "country"],
        engine=engine,
    )
    expected = pd.concat(
        [
            _sql_reference(units, "'all'"),
            _sql_reference(units, "'device=' || COALESCE(device, '<NA>')"),
            _sql_reference(units, "'country=' || CAST(country AS VARCHAR)"),
        ],
        ignore_index=True,
    )
    keys = ["experiment", "segment", "variant", "metric"]
    assert list(got.columns) == [*keys, *STATS]
    assert len(got) == len(expected)
    merged = got.merge(expected, on=keys, suffixes=("", "_sql"), validate="one_to_one")
    assert len(merged) == len(expected)
    for col in STATS:
        np.testing.assert_allclose(merged[col], merged[f"{col}_sql"], rtol=1e-12, err_msg=col)
    # covariate sums are zero for metrics without a covariate
    no_z = merged["metric"].isin(["cr", "rev_per_session"])
    assert (merged.loc[no_z, ["sum_z", "sum_z2", "sum_yz", "sum_xz"]] == 0).all().all()


def test_layout_and_order(units):
    got = aggregate(units, METRICS[:2], variant_column="variant", segment_columns=["country"])
    assert set(got["experiment"]) == {"experiment"}  # no experiment column → one experiment
    # overall first, then segment values in their natural (numeric) order
    assert list(pd.unique(got["segment"])) == ["all", "country=3", "country=10", "country=20"]
    assert list(pd.unique(got["variant"])) == ["b", "c", "control"]
    assert got["metric"].tolist()[:2] == ["cr", "rev"]
    # x ≡ 1 for mean/proportion
    assert (got["sum_x"] == got["n"]).all() and (got["sum_xy"] == got["sum_y"]).all()


def test_funnel_totals(units):
    out = funnel_totals(
        units,
        ["impressions", "sessions", "clicks", "converted"],
        variant_column="variant",
        experiment_column="exp",
    )
    columns = ["experiment", "variant", "n_units", "stage", "stage_order", "total"]
    assert list(out.columns) == columns
    first = out[(out["experiment"] == "banner") & (out["variant"] == "b")]
    assert first["stage"].tolist() == ["sessions", "clicks", "converted"]  # absent stage skipped
    assert first["stage_order"].tolist() == [1, 2, 3]
    rows = units[(units["exp"] == "banner") & (units["variant"] == "b")]
    assert (first["n_units"] == len(rows)).all()
    expected = [rows["sessions"].sum(), rows["clicks"].sum(), rows["converted"].sum()]
    assert first["total"].tolist() == pytest.approx(expected)
    assert funnel_totals(units, ["opens"], variant_column="variant").empty


@pytest.mark.parametrize(
    ("mutate", "kwargs", "match"),
    [
        (lambda d: d.drop(columns="clicks"), {}, r"missing column.*'clicks'.*metric 'ctr'"),
        (lambda d: d, {"variant_column": "arm"}, r"missing column.*'arm'.*variant_column"),
        (lambda d: d, {"segment_columns": ["region"]}, r"'region'.*segment_columns"),
        (
            lambda d: d.assign(revenue=d["revenue"].map("{:.2f}".format)),
            {},
            r"must be numeric: 'revenue'",
        ),
        (
            lambda d: d.assign(revenue=d["revenue"].where(d.index % 7 > 0)),
            {},
            r"'revenue' \(715 missing\)",
        ),
        (lambda d: d.assign(clicks=np.inf), {}, r"'clicks' \(5000 infinite\)"),
        (lambda d: d.assign(converted=2 * d["converted"]), {}, r"proportion column 'converted'"),
        (lambda d: d.assign(variant=d["variant"].where(d.index > 0)), {}, r"'variant'.*missing"),
        (
            lambda d: d.assign(variant=np.where(d["exp"] == "banner", "b", d["variant"])),
            {},
            r"single variant.*'banner' has only variant 'b'",
        ),
        (lambda d: d.iloc[:0], {}, "no rows"),
    ],
)
def test_input_errors_name_the_problem(units, mutate, kwargs, match):
    options = {"variant_column": "variant", "experiment_column": "exp", **kwargs}
    with pytest.raises(InputDataError, match=match):
        aggregate(mutate(units), METRICS, **options)


def test_funnel_input_errors(units):
    with pytest.raises(InputDataError, match="'clicks'"):
        funnel_totals(units.assign(clicks="x"), ["clicks"], variant_column="variant")
    with pytest.raises(InputDataError, match="'arm'"):
        funnel_totals(units, ["clicks"], variant_column="arm")


# ---------------------------------------------------------------------------------------------
# the two engines


def _mixed_units(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Label columns of every dtype the engines must label and order identically."""
    return pd.DataFrame(
        {
            "exp": rng.choice(["e2", "e10", "e1"], n),
            "variant": rng.choice([0, 1, 2], n),  # integers: labels "0", "1", "2"
            "device": pd.array(rng.choice(["mobile", "desktop", None], n), dtype="str"),
            "tier": rng.choice([2, 10, 1], n),  # numeric order 1 < 2 < 10, not string order
            "score": rng.choice([1.5, np.nan, 0.25, -3.0], n),
            "flag": rng.integers(0, 2, n).astype(bool),
            "plan": pd.Categorical(rng.choice(["pro", "free"], n), categories=["pro", "free"]),
            "mixed": pd.Series(rng.choice(np.array([7, "x", None], dtype=object), n)),
            "nullable": pd.array(rng.choice([3, 4, None], n), dtype="Int64"),
            "converted": rng.integers(0, 2, n),
            "revenue": rng.gamma(1.5, 20.0, n),
            "clicks": rng.poisson(3.0, n),
            "sessions": 1 + rng.poisson(2.0, n),
            "pre_revenue": rng.normal(5.0, 3.0, n),
            "pre_clicks": rng.poisson(2.0, n),
        }
    )


def test_engines_produce_the_identical_frame():
    rng = np.random.default_rng(17)
    units = _mixed_units(rng, 20_000)
    kwargs = {
        "variant_column": "variant",
        "experiment_column": "exp",
        "segment_columns": ["device", "tier", "score", "flag", "plan", "mixed", "nullable"],
    }
    by_pandas = aggregate(units, METRICS, engine="pandas", **kwargs)
    by_duckdb = aggregate(units, METRICS, engine="duckdb", **kwargs)
    labels = ["experiment", "segment", "variant", "metric"]
    pd.testing.assert_frame_equal(by_pandas[labels], by_duckdb[labels])  # labels, order, dtypes
    pd.testing.assert_frame_equal(by_pandas["n"].to_frame(), by_duckdb["n"].to_frame())
    np.testing.assert_allclose(by_duckdb[STATS], by_pandas[STATS], rtol=1e-9, atol=0)
    segments = list(pd.unique(by_pandas["segment"]))
    assert segments[:4] == ["all", "device=desktop", "device=mobile", "device=<NA>"]
    assert [s for s in segments if s.startswith("tier=")] == ["tier=1", "tier=2", "tier=10"]
    assert [s for s in segments if s.startswith("score=")][-1] == "score=<NA>"
    assert [s for s in segments if s.startswith("plan=")] == ["plan=pro", "plan=free"]


def test_categorical_labels_use_category_order_and_drop_unobserved_categories():
    """Categorical experiment/variant/segment columns are grouped by their own codes: labels in
    category order (NA last), unobserved categories absent, identical in both engines and equal
    to the same data given as strings up to that order."""
    rng = np.random.default_rng(19)
    n = 6_000
    units = _mixed_units(rng, n).assign(
        exp=pd.Categorical(rng.choice(["e2", "e10"], n), categories=["e10", "unused", "e2"]),
        variant=pd.Categorical(rng.choice(["b", "a"], n), categories=["b", "a", "never"]),
        plan=pd.Categorical(rng.choice(["pro", "free", None], n), categories=["pro", "x", "free"]),
    )
    kwargs = {"variant_column": "variant", "experiment_column": "exp", "segment_columns": ["plan"]}
    by_pandas = aggregate(units, METRICS, engine="pandas", **kwargs)
    by_duckdb = aggregate(units, METRICS, engine="duckdb", **kwargs)
    labels = ["experiment", "segment", "variant", "metric"]
    pd.testing.assert_frame_equal(by_pandas[labels], by_duckdb[labels])
    np.testing.assert_allclose(by_duckdb[STATS], by_pandas[STATS], rtol=1e-9, atol=0)
    assert list(pd.unique(by_pandas["experiment"])) == ["e10", "e2"]
    assert list(pd.unique(by_pandas["variant"])) == ["b", "a"]
    assert list(pd.unique(by_pandas["segment"])) == ["all", "plan=pro", "plan=free", "plan=<NA>"]

    as_str = units.astype({"exp": object, "variant": object, "plan": object})
    by_str = aggregate(as_str, METRICS, engine="pandas", **kwargs)
    key = labels
    pd.testing.assert_frame_equal(
        by_pandas.sort_values(key).reset_index(drop=True),
        by_str.sort_values(key).reset_index(drop=True),
    )


def test_engines_agree_without_experiment_or_segments():
    rng = np.random.default_rng(18)
    units = _mixed_units(rng, 3_000)
    a = aggregate(units, METRICS, variant_column="variant", engine="pandas")
    b = aggregate(units, METRICS, variant_column="variant", engine="duckdb")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_segment_column_that_is_also_a_key_falls_back_to_pandas(units):
    kwargs = {"variant_column": "variant", "segment_columns": ["variant", "device"]}
    a = aggregate(units, METRICS, engine="pandas", **kwargs)
    b = aggregate(units, METRICS, engine="duckdb", **kwargs)
    pd.testing.assert_frame_equal(a, b)


def test_auto_picks_duckdb_for_large_frames(units, monkeypatch):
    calls = []
    real = aggregate_module._levels_duckdb

    def spy(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(aggregate_module, "_levels_duckdb", spy)
    aggregate(units, METRICS, variant_column="variant")
    assert calls == []  # 5,000 rows: pandas
    monkeypatch.setattr(aggregate_module, "DUCKDB_MIN_ROWS", 1_000)
    aggregate(units, METRICS, variant_column="variant")
    assert calls == [len(units)]


def test_duckdb_engine_raises_the_same_input_errors(units):
    single = units.assign(variant=np.where(units["exp"] == "banner", "b", units["variant"]))
    with pytest.raises(InputDataError, match=r"single variant.*'banner' has only variant 'b'"):
        aggregate(
            single, METRICS, variant_column="variant", experiment_column="exp", engine="duckdb"
        )
    with pytest.raises(ConfigError, match=r"unknown aggregation engine 'spark'.*auto, pandas"):
        aggregate(units, METRICS, variant_column="variant", engine="spark")
