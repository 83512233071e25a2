"""The A/B analysis from statistics computed in SQL equals the analysis of the rows.

Reference: :func:`strategies.stats.run.run_ab_analysis` on the raw rows (pandas aggregation).
Under test: :func:`statistics_in_engine` (SQL on a local DuckDB engine) followed by
:func:`analyse_statistics`; the results, SRM, funnel, heterogeneity and sequential looks must
agree to 1e-9 relative, and bad input must fail with the same error and message.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from liftlab.simulate.experiments import ExperimentSpec, SimulationConfig, simulate
from strategies.errors import ConfigError, InputDataError
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.inputs import ABStatistics
from strategies.stats.layers import BayesianOptions, NonparametricOptions, SequentialOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import (
    ABDesign,
    analyse_statistics,
    run_ab_analysis,
    statistics_from_rows,
)
from strategies.warehouse.ab_inputs import statistics_in_engine
from tests.strategies.warehouse.conftest import LocalDuckDB

RTOL = 1e-9

METRICS = [
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="impressions"),
    MetricSpec("conversion_rate", "proportion", column="converted"),
    MetricSpec("revenue_per_user", "mean", column="revenue", covariate="pre_revenue"),
    MetricSpec("opens", "mean", column="opens", role="guardrail", non_inferiority_margin=0.05),
]
FUNNEL = ("impressions", "opens", "clicks", "conversions", "missing_stage")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    sim = simulate(
        SimulationConfig(
            experiments=(
                ExperimentSpec("up", n_users=8_000, click_lift=0.3, conversion_lift=0.3),
                ExperimentSpec("flat", n_users=6_000),
                ExperimentSpec("srm", n_users=6_000, actual_split=(0.56, 0.44), click_lift=0.4),
            ),
            seed=7,
        )
    ).data
    rng = np.random.default_rng(1)
    region = rng.choice(np.array(["north", "south"], dtype=object), size=len(sim))
    region[rng.random(len(sim)) < 0.05] = None
    sim["region"] = pd.Series(region, dtype=object)
    sim["arm"] = np.where(sim["variant"] == "A", 0, 1).astype(np.int64)
    return sim


def _assert_same_outcome(got, expected) -> None:
    for name in (
        "results",
        "srm",
        "funnel",
        "sufficient_stats",
        "heterogeneity",
        "sequential_looks",
    ):
        assert_frame_equal(
            getattr(got, name),
            getattr(expected, name),
            check_exact=False,
            rtol=RTOL,
            obj=name,
        )


DESIGNS = {
    "experiments_segments": ABDesign(
        "user_id", "variant", "A", ("B",), "experiment", segment_columns=("device", "region")
    ),
    "integer_arms": ABDesign(
        "user_id", "arm", "0", ("1",), "experiment", segment_columns=("country",)
    ),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
@pytest.mark.parametrize("method", ["msprt", "group_sequential"])
def test_sql_statistics_give_the_rows_analysis(data, name, method) -> None:
    design = DESIGNS[name]
    options = AnalysisOptions(control=design.control)
    sequential = SequentialOptions(
        method=method, period="day", planned_sample_size=20_000 if method != "msprt" else None
    )
    layers = dict(bayesian=BayesianOptions(), sequential=sequential)
    expected = run_ab_analysis(data, design, METRICS, options, FUNNEL, **layers)
    with LocalDuckDB(data) as engine:
        inputs = statistics_in_engine(engine, "source", design, METRICS, FUNNEL, sequential)
    got = analyse_statistics(inputs, design, METRICS, options, **layers)
    _assert_same_outcome(got, expected)
    assert inputs.n_rows == len(data)
    # the comparison is not vacuous: layers ran, decisions and looks exist
    assert {"prob_variant_better", "seq_decision_look"} <= set(got.results.columns)
    assert len(got.sequential_looks) > 10
    assert got.results["decision"].notna().all()
    assert set(got.funnel["stage"]) == {"impressions", "opens", "clicks", "conversions"}


def test_single_unnamed_experiment(data) -> None:
    rows = data[data["experiment"] == "up"].drop(columns="experiment").reset_index(drop=True)
    design = ABDesign(
        "user_id", "variant", "A", ("B",), experiment_name="launch", segment_columns=("region",)
    )
    options = AnalysisOptions(control="A", correction="bonferroni")
    sequential = SequentialOptions(period="week")
    expected = run_ab_analysis(rows, design, METRICS, options, FUNNEL, sequential=sequential)
    with LocalDuckDB(rows) as engine:
        inputs = statistics_in_engine(engine, "source", design, METRICS, FUNNEL, sequential)
    got = analyse_statistics(inputs, design, METRICS, options, sequential=sequential)
    _assert_same_outcome(got, expected)
    assert set(got.results["experiment"]) == {"launch"}


def test_nonparametric_columns_are_carried(data) -> None:
    design = DESIGNS["experiments_segments"]
    options = AnalysisOptions(control="A")
    nonparametric = NonparametricOptions(metrics=("revenue_per_user",), seed=3, n_resamples=200)
    expected = run_ab_analysis(data, design, METRICS, options, nonparametric=nonparametric)
    from_rows = statistics_from_rows(data, design, METRICS, nonparametric=nonparametric)
    with LocalDuckDB(data) as engine:
        inputs = statistics_in_engine(engine, "source", design, METRICS)
    assert inputs.nonparametric is None and inputs.period_stats is None
    got = analyse_statistics(
        inputs, design, METRICS, options, nonparametric_columns=from_rows.nonparametric
    )
    _assert_same_outcome(got, expected)
    assert got.results["mw_p_value"].notna().any()
    # carried inside the inputs as well
    inputs.nonparametric = from_rows.nonparametric
    _assert_same_outcome(analyse_statistics(inputs, design, METRICS, options), expected)


def test_sequential_needs_period_stats(data) -> None:
    design = DESIGNS["experiments_segments"]
    inputs = statistics_from_rows(data, design, METRICS)
    with pytest.raises(ConfigError, match="per-period statistics"):
        analyse_statistics(
            inputs,
            design,
            METRICS,
            AnalysisOptions(control="A"),
            sequential=SequentialOptions(),
        )


def test_to_dict_round_trips_through_json(data) -> None:
    design = DESIGNS["experiments_segments"]
    inputs = statistics_from_rows(
        data,
        design,
        METRICS,
        FUNNEL,
        sequential=SequentialOptions(),
        nonparametric=NonparametricOptions(metrics=("revenue_per_user",), n_resamples=100),
    )
    inputs.stats.loc[0, "sum_z"] = np.inf  # ±inf and NaN survive too
    inputs.nonparametric.loc[0, "mw_p_value"] = np.nan
    text = json.dumps(inputs.to_dict(), allow_nan=False)
    back = ABStatistics.from_dict(json.loads(text))
    for name in ("stats", "funnel", "period_stats", "nonparametric"):
        assert_frame_equal(getattr(back, name), getattr(inputs, name), check_exact=True)
    assert back.n_rows == inputs.n_rows == len(data)
    empty = ABStatistics(stats=inputs.stats, funnel=inputs.funnel.iloc[:0])
    again = ABStatistics.from_dict(json.loads(json.dumps(empty.to_dict())))
    assert again.period_stats is None and again.nonparametric is None
    assert_frame_equal(again.funnel, empty.funnel.reset_index(drop=True))
    with pytest.raises(InputDataError, match="format_version"):
        ABStatistics.from_dict({**inputs.to_dict(), "format_version": 99})


# -- input checks: same error and message as run_ab_analysis ---------------------------------


def _bad_cases() -> dict[str, tuple[pd.DataFrame, ABDesign]]:
    base = pd.DataFrame(
        {
            "uid": range(6),
            "e": ["x", "x", "x", "y", "y", "y"],
            "v": ["A", "B", "A", "A", "B", "B"],
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "p": [0, 1, 1, 0, 0, 1],
            "t": pd.to_datetime(["2026-01-05"] * 6, utc=True),
        }
    )
    design = ABDesign("uid", "v", "A", ("B",), "e")
    return {
        "no rows": (base.iloc[:0], design),
        "missing unit": (base.drop(columns="uid"), design),
        "text metric": (base.assign(y=[str(i) for i in range(6)]), design),
        "no control": (base.assign(v=["C", "B", "C", "A", "B", "B"]), design),
        "only control": (base.assign(v=["A", "A", "A", "A", "B", "B"]), design),
        "unknown arm only": (base.assign(v=["A", "C", "A", "A", "B", "B"]), design),
        "nan metric": (base.assign(y=[1.0, np.nan, 3.0, 4.0, 5.0, 6.0]), design),
        "infinite metric": (base.assign(y=[1.0, 2.0, np.inf, 4.0, 5.0, -np.inf]), design),
        "proportion null": (base.assign(p=pd.array([0, 1, None, 0, 0, 1], dtype="Int64")), design),
        "proportion": (base.assign(p=[0, 1, 5, 0, 0, 1]), design),
        "null variant": (base.assign(v=["A", "B", None, "A", "B", "B"]), design),
        "experiment column unset": (
            base.rename(columns={"e": "experiment"}),
            ABDesign("uid", "v", "A", ("B",)),
        ),
        "bad times": (base.assign(t=[pd.NaT, *base["t"][1:]]), design),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
def test_bad_input_same_error_as_rows(case) -> None:
    frame, design = _bad_cases()[case]
    metrics = [MetricSpec("m", "mean", column="y"), MetricSpec("q", "proportion", column="p")]
    sequential = SequentialOptions(time_column="t")
    with pytest.raises(InputDataError) as rows_error:
        run_ab_analysis(frame, design, metrics, AnalysisOptions(control="A"), sequential=sequential)
    with pytest.raises(InputDataError) as sql_error, LocalDuckDB(frame) as engine:
        statistics_in_engine(engine, "source", design, metrics, (), sequential)
    expected = str(rows_error.value)
    if case == "text metric":  # the engine's type name stands for the pandas dtype
        expected = expected.replace("found str", "found VARCHAR")
    assert str(sql_error.value) == expected


def test_statistics_checks_and_funnel_take_one_scan(data) -> None:
    """With a sound schema the input checks' counts, the statistics and the funnel come from
    one scan (each check used to scan on its own: three more scans of every row)."""
    design = DESIGNS["experiments_segments"]
    with LocalDuckDB(data) as engine:
        statistics_in_engine(engine, "source", design, METRICS, FUNNEL)
        assert len(engine.queries) == 1, engine.queries
    expected = run_ab_analysis(
        data, design, METRICS, AnalysisOptions(control="A"), funnel_stages=FUNNEL
    )
    with LocalDuckDB(data) as engine:
        inputs = statistics_in_engine(engine, "source", design, METRICS, FUNNEL)
    assert inputs.n_rows == len(data)
    assert_frame_equal(
        analyse_statistics(inputs, design, METRICS, AnalysisOptions(control="A")).funnel,
        expected.funnel,
        check_exact=False,
        rtol=RTOL,
    )


def test_a_sum_overflowing_is_counted_exactly() -> None:
    """Finite values whose sum overflows leave the scan's finiteness proof open: the checks
    then count exactly instead, and pass (nothing is missing or infinite)."""
    frame = pd.DataFrame(
        {"uid": range(4), "v": ["A", "A", "B", "B"], "y": [1e308, 1e308, 3.0, 4.0]}
    )
    design = ABDesign("uid", "v", "A", ("B",))
    with LocalDuckDB(frame) as engine:
        metrics = [MetricSpec("m", "mean", column="y")]
        inputs = statistics_in_engine(engine, "source", design, metrics)
        assert len(engine.queries) == 2  # the scan, then the exact count
    assert inputs.n_rows == 4
    assert np.isinf(inputs.stats["sum_y"]).any()
