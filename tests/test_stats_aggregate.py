"""The aggregation pass vs an independent DuckDB SQL GROUP BY, plus its input checks."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from strategies.errors import InputDataError
from strategies.stats.aggregate import aggregate, funnel_totals
from strategies.stats.metrics import MetricSpec

METRICS = [
    MetricSpec("cr", "proportion", column="converted"),
    MetricSpec("rev", "mean", column="revenue"),
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions"),
    MetricSpec("rev_per_session", "ratio", numerator="revenue", denominator="sessions"),
]


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
        }
    )


def _sql_reference(units: pd.DataFrame, segment_sql: str) -> pd.DataFrame:
    """Sufficient statistics per metric computed by DuckDB, one SELECT per metric."""
    parts = []
    for m in METRICS:
        y = f"CAST({m.y_column} AS DOUBLE)"
        x = f"CAST({m.x_column} AS DOUBLE)" if m.x_column else "1.0"
        parts.append(
            f"""SELECT exp AS experiment, {segment_sql} AS segment, variant, '{m.name}' AS metric,
                   COUNT(*) AS n, SUM({y}) AS sum_y, SUM({y} * {y}) AS sum_y2,
                   SUM({x}) AS sum_x, SUM({x} * {x}) AS sum_x2, SUM({x} * {y}) AS sum_xy
                FROM units GROUP BY ALL"""
        )
    return duckdb.query_df(units, "units", " UNION ALL ".join(parts)).df()


def test_matches_duckdb_group_by(units):
    got = aggregate(
        units,
        METRICS,
        variant_column="variant",
        experiment_column="exp",
        segment_columns=["device", "country"],
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
    assert list(got.columns) == [*keys, "n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy"]
    assert len(got) == len(expected)
    merged = got.merge(expected, on=keys, suffixes=("", "_sql"), validate="one_to_one")
    assert len(merged) == len(expected)
    for col in ["n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy"]:
        np.testing.assert_allclose(merged[col], merged[f"{col}_sql"], rtol=1e-12, err_msg=col)


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
