"""Sufficient statistics computed by SQL in an engine equal the pandas reference.

The pandas functions in ``strategies.stats`` are the reference (independent of the SQL: they
group with numpy/pandas over the rows). The engine is the real DuckDB engine holding a pandas
frame as ``source`` (tests/strategies/warehouse/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from liftlab.simulate.experiments import ExperimentSpec, SimulationConfig, simulate
from strategies.errors import InputDataError
from strategies.stats.aggregate import aggregate, funnel_totals
from strategies.stats.layers.sequential import SequentialOptions, period_stats_from_data
from strategies.stats.metrics import MetricSpec
from strategies.warehouse.stats_sql import (
    aggregate_in_engine,
    funnel_in_engine,
    period_stats_in_engine,
)
from tests.strategies.warehouse.conftest import LocalDuckDB

RTOL = 1e-9


METRICS = [
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="impressions"),
    MetricSpec("conversion_rate", "proportion", column="converted"),
    MetricSpec("revenue_per_user", "mean", column="revenue", covariate="pre_revenue"),
    MetricSpec(
        "opens_per_session",
        "ratio",
        numerator="opens",
        denominator="impressions",
        covariate="pre_revenue",
    ),
]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    sim = simulate(
        SimulationConfig(
            experiments=(
                ExperimentSpec("up", n_users=6_000, click_lift=0.3, conversion_lift=0.3),
                ExperimentSpec("flat", n_users=5_000),
                ExperimentSpec("srm", n_users=4_000, actual_split=(0.56, 0.44)),
            ),
            seed=5,
        )
    ).data
    rng = np.random.default_rng(0)
    n = len(sim)
    # extra label columns: integer arms (2 < 10), an integer segment with NULLs (nullable
    # Int64), a text segment with NULLs, integer experiment ids
    sim["arm"] = np.where(sim["variant"] == "A", 2, 10).astype(np.int64)
    sim["tier"] = pd.array(rng.choice([1, 2, 10, None], size=n), dtype="Int64")
    region = rng.choice(np.array(["north", "south", "east"], dtype=object), size=n)
    region[rng.random(n) < 0.05] = None
    sim["region"] = pd.Series(region, dtype=object)
    sim["exp_id"] = sim["experiment"].cat.codes.astype(np.int64) * 7 + 3
    return sim


@pytest.fixture(scope="module")
def engine(data):
    eng = LocalDuckDB(data)
    yield eng
    eng.close()


CASES = {
    "segments": dict(
        variant_column="variant",
        experiment_column="experiment",
        segment_columns=["device", "tier", "region"],
    ),
    "integer_labels": dict(
        variant_column="arm", experiment_column="exp_id", segment_columns=["tier"]
    ),
    "no_experiment_column": dict(
        variant_column="variant", experiment_column=None, segment_columns=["region"]
    ),
    "segment_is_variant": dict(
        variant_column="variant",
        experiment_column="experiment",
        segment_columns=["variant", "country", "country"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_aggregate_in_engine_equals_aggregate(engine, data, case, engine_for) -> None:
    roles = CASES[case]
    frame = data[data["experiment"] == "up"] if roles["experiment_column"] is None else data
    eng = engine_for(frame.reset_index(drop=True)) if frame is not data else engine
    expected = aggregate(frame, METRICS, engine="pandas", **roles)
    got = aggregate_in_engine(eng, "source", METRICS, **roles)
    assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)
    # the comparison could fail: labels really are those aggregate makes
    if case == "integer_labels":
        assert list(got["variant"].unique()) == ["2", "10"]
        assert "tier=<NA>" in set(got["segment"])
        assert got["segment"].drop_duplicates().tolist()[1:4] == ["tier=1", "tier=2", "tier=10"]
    if case == "segments":
        assert "region=<NA>" in set(got["segment"])


def test_experiment_name_labels_single_experiment(data, engine_for) -> None:
    frame = data[data["experiment"] == "flat"].drop(columns="experiment").reset_index(drop=True)
    eng = engine_for(frame)
    got = aggregate_in_engine(
        eng,
        "source",
        METRICS,
        variant_column="variant",
        experiment_column=None,
        experiment_name="launch",
    )
    expected = aggregate(
        frame.assign(experiment="launch"),
        METRICS,
        variant_column="variant",
        experiment_column="experiment",
    )
    assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)


def test_proportion_square_is_sum(engine) -> None:
    got = aggregate_in_engine(
        engine, "source", METRICS, variant_column="variant", experiment_column="experiment"
    )
    rows = got[got["metric"] == "conversion_rate"]
    assert (rows["sum_y2"] == rows["sum_y"]).all()
    assert (rows["sum_y"] > 0).all()


def test_float_and_bool_labels_match_pandas(engine_for) -> None:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "v": rng.choice([0.5, 2.0, 10.0], size=n),
            "flag": rng.choice([True, False], size=n),
            "y": rng.normal(size=n),
            "b": rng.integers(0, 2, size=n).astype(bool),
        }
    )
    metrics = [MetricSpec("m", "mean", column="y"), MetricSpec("p", "proportion", column="b")]
    roles = dict(variant_column="v", experiment_column=None, segment_columns=["flag"])
    got = aggregate_in_engine(engine_for(frame), "source", metrics, **roles)
    expected = aggregate(frame, metrics, **roles)
    assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)
    assert got["variant"].unique().tolist() == ["0.5", "2.0", "10.0"]
    assert "flag=True" in set(got["segment"])


def test_funnel_in_engine_equals_funnel_totals(engine, data) -> None:
    stages = ["impressions", "opens", "clicks", "not_a_column", "conversions"]
    for roles in (
        dict(variant_column="variant", experiment_column="experiment"),
        dict(variant_column="arm", experiment_column="exp_id"),
    ):
        expected = funnel_totals(data, [s for s in stages if s in data.columns], **roles)
        got = funnel_in_engine(engine, "source", stages, **roles)
        assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)
    empty = funnel_in_engine(
        engine, "source", ["nope"], variant_column="variant", experiment_column="experiment"
    )
    assert_frame_equal(
        empty,
        funnel_totals(data, [], variant_column="variant", experiment_column="experiment"),
    )


@pytest.mark.parametrize("period", ["day", "week"])
def test_period_stats_equal_sequential_layer(engine, data, period) -> None:
    options = SequentialOptions(time_column="assigned_at", period=period)
    expected = period_stats_from_data(
        data,
        experiment_column="experiment",
        variant_column="variant",
        metrics=METRICS,
        options=options,
    )
    got = period_stats_in_engine(
        engine,
        "source",
        METRICS,
        period_column="assigned_at",
        period=period,
        variant_column="variant",
        experiment_column="experiment",
    )
    assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)
    assert got["_period"].nunique() > 1
    if period == "week":
        assert (got["_period"].dt.dayofweek == 0).all()  # weeks start on Monday


def test_period_stats_from_text_and_naive_times(engine_for) -> None:
    # one Sunday late in the day and a Monday: the week boundary is where pandas puts it
    times = [
        "2026-01-04 23:30:00",
        "2026-01-05 00:10:00",
        "2026-01-11 12:00:00",
        "2026-01-12 08:00:00",
    ] * 5
    frame = pd.DataFrame(
        {
            "v": ["A", "B"] * 10,
            "y": np.arange(20, dtype=float),
            "t_text": pd.Series(times, dtype=object),
            "t_naive": pd.to_datetime(pd.Series(times)),
        }
    )
    metrics = [MetricSpec("m", "mean", column="y")]
    eng = engine_for(frame)
    for column in ("t_text", "t_naive"):
        for period in ("day", "week"):
            options = SequentialOptions(time_column=column, period=period)
            expected = period_stats_from_data(
                frame.assign(experiment="experiment"),
                experiment_column="experiment",
                variant_column="v",
                metrics=metrics,
                options=options,
            )
            got = period_stats_in_engine(
                eng,
                "source",
                metrics,
                period_column=column,
                period=period,
                variant_column="v",
                experiment_column=None,
            )
            assert_frame_equal(got, expected, check_exact=False, rtol=RTOL)


def test_period_stats_bad_times(engine_for) -> None:
    frame = pd.DataFrame(
        {
            "v": ["A", "B", "A", "B"],
            "y": [1.0, 2.0, 3.0, 4.0],
            "t": pd.Series(["2026-01-05", "not a time", None, "2026-01-06"], dtype=object),
            "n": [1, 2, 3, 4],
        }
    )
    eng = engine_for(frame)
    metrics = [MetricSpec("m", "mean", column="y")]
    kw = dict(period="day", variant_column="v", experiment_column=None)
    with pytest.raises(InputDataError) as sql_error:
        period_stats_in_engine(eng, "source", metrics, period_column="t", **kw)
    with pytest.raises(InputDataError) as pandas_error:
        period_stats_from_data(
            frame.assign(experiment="experiment"),
            experiment_column="experiment",
            variant_column="v",
            metrics=metrics,
            options=SequentialOptions(time_column="t"),
        )
    assert str(sql_error.value) == str(pandas_error.value)
    assert "2 missing or unparsable" in str(sql_error.value)
    with pytest.raises(InputDataError, match="time column 'nope'"):
        period_stats_in_engine(eng, "source", metrics, period_column="nope", **kw)
    with pytest.raises(InputDataError, match="'n' must hold timestamps"):
        period_stats_in_engine(eng, "source", metrics, period_column="n", **kw)


# -- input checks: the same error, the same message -------------------------------------------


def _bad_frames() -> dict[str, tuple[pd.DataFrame, dict]]:
    base = pd.DataFrame(
        {
            "e": ["x", "x", "x", "y", "y", "y"],
            "v": ["A", "B", "A", "A", "B", "B"],
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "p": [0, 1, 1, 0, 0, 1],
            "s": ["a", "b", "a", "b", "a", "b"],
        }
    )
    roles = dict(variant_column="v", experiment_column="e", segment_columns=["s"])
    return {
        "missing column": (base.drop(columns="s"), roles),
        "text metric": (base.assign(y=["1", "2", "3", "4", "5", "6"]), roles),
        "nan metric": (base.assign(y=[1.0, np.nan, 3.0, np.nan, 5.0, np.inf]), roles),
        "proportion not 0/1": (base.assign(p=[0, 1, 2, 0, 3, 1]), roles),
        "null variant": (base.assign(v=["A", None, "A", "A", "B", "B"]), roles),
        "null experiment": (base.assign(e=["x", None, "x", "y", "y", "y"]), roles),
        "single variant": (base.assign(v=["A", "A", "A", "A", "B", "B"]), roles),
        "no rows": (base.iloc[:0], roles),
    }


@pytest.mark.parametrize("case", sorted(_bad_frames()))
def test_bad_input_same_error_as_aggregate(case, engine_for) -> None:
    frame, roles = _bad_frames()[case]
    metrics = [MetricSpec("m", "mean", column="y"), MetricSpec("q", "proportion", column="p")]
    with pytest.raises(InputDataError) as pandas_error:
        aggregate(frame, metrics, **roles)
    with pytest.raises(InputDataError) as sql_error:
        aggregate_in_engine(engine_for(frame), "source", metrics, **roles)
    expected = str(pandas_error.value)
    got = str(sql_error.value)
    if case == "text metric":  # the engine's type name stands for the pandas dtype
        expected = expected.replace("(str)", "(VARCHAR)").replace("(object)", "(VARCHAR)")
    assert got == expected


def test_funnel_bad_input_same_error(engine_for) -> None:
    frame = pd.DataFrame({"v": ["A", "B", None], "s1": [1.0, np.nan, 2.0], "s2": ["a", "b", "c"]})
    for f, stages in (
        (frame, ["s1"]),
        (frame.assign(v=["A", "B", "B"]), ["s1"]),
        (frame.assign(v=["A", "B", "B"]), ["s2"]),
        (frame.iloc[:0], ["s1"]),
    ):
        with pytest.raises(InputDataError) as pandas_error:
            funnel_totals(f, stages, variant_column="v")
        with pytest.raises(InputDataError) as sql_error:
            funnel_in_engine(
                engine_for(f), "source", stages, variant_column="v", experiment_column=None
            )
        expected = str(pandas_error.value).replace("(str)", "(VARCHAR)")
        assert str(sql_error.value) == expected.replace("(object)", "(VARCHAR)")
