"""The optional inference layers wired into run_ab_analysis, checked against independent
computations on the raw data (scipy) rather than against the layers' own building blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from liftlab.simulate.experiments import ExperimentSpec, SimulationConfig, simulate
from strategies.errors import ConfigError, InputDataError
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.layers import BayesianOptions, NonparametricOptions, SequentialOptions
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, run_ab_analysis

METRICS = [
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="impressions"),
    MetricSpec("conversion_rate", "proportion", column="converted"),
    MetricSpec("revenue_per_user", "mean", column="revenue", covariate="pre_revenue"),
]
DESIGN = ABDesign("user_id", "variant", "A", ("B",), "experiment", segment_columns=("device",))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    sim = simulate(
        SimulationConfig(
            experiments=(
                ExperimentSpec("up", n_users=40_000, click_lift=0.3, conversion_lift=0.3),
                ExperimentSpec("flat", n_users=40_000),
                ExperimentSpec("srm", n_users=40_000, actual_split=(0.56, 0.44), click_lift=0.4),
            ),
            seed=11,
        )
    )
    return sim.data


def _run(data: pd.DataFrame, **layers):
    return run_ab_analysis(data, DESIGN, METRICS, AnalysisOptions(control="A"), **layers)


def test_bayesian_matches_independent_posteriors(data) -> None:
    out = _run(data, bayesian=BayesianOptions())
    rows = out.results[out.results["segment"] == "all"].set_index(["experiment", "metric"])
    # proportions: P(p_B > p_A) under Beta(1+s, 1+n-s) posteriors, by numerical integration
    arm = data[data["experiment"] == "up"].groupby("variant")["converted"].agg(["sum", "count"])
    a = stats.beta(1 + arm.loc["A", "sum"], 1 + arm.loc["A", "count"] - arm.loc["A", "sum"])
    b = stats.beta(1 + arm.loc["B", "sum"], 1 + arm.loc["B", "count"] - arm.loc["B", "sum"])
    grid = np.linspace(a.ppf(1e-9), a.ppf(1 - 1e-9), 20_001)
    expected = np.trapezoid(a.pdf(grid) * b.sf(grid), grid)
    assert rows.loc[("up", "conversion_rate"), "prob_variant_better"] == pytest.approx(
        expected, abs=1e-6
    )
    # means (flat prior, normal posterior): P(better) = Phi(diff / se)
    row = rows.loc[("flat", "revenue_per_user")]
    assert row["prob_variant_better"] == pytest.approx(
        stats.norm.cdf(row["abs_diff"] / row["abs_se"]), abs=1e-9
    )
    assert rows.loc[("up", "ctr"), "bayes_decision"] == "win"
    assert (rows.loc["srm", "bayes_decision"] == "inconclusive").all()


def test_nonparametric_matches_scipy(data) -> None:
    out = _run(data, nonparametric=NonparametricOptions(metrics=("revenue_per_user",), seed=1))
    row = out.results.query(
        "experiment == 'up' and segment == 'all' and metric == 'revenue_per_user'"
    )
    part = data[data["experiment"] == "up"]
    reference = stats.mannwhitneyu(
        part.loc[part["variant"] == "B", "revenue"],
        part.loc[part["variant"] == "A", "revenue"],
        method="asymptotic",
        use_continuity=True,
    )
    assert row["mw_p_value"].item() == pytest.approx(reference.pvalue, rel=1e-9)
    assert row["boot_rel_ci_low"].item() < row["rel_lift"].item() < row["boot_rel_ci_high"].item()
    assert out.results.query("metric == 'ctr'")["mw_p_value"].isna().all()


@pytest.mark.parametrize("method", ["msprt", "group_sequential"])
def test_sequential_layer(data, method: str) -> None:
    options = SequentialOptions(method=method, planned_looks=14, planned_sample_size=40_000)
    out = _run(data, sequential=options)
    overall = out.results[out.results["segment"] == "all"].set_index(["experiment", "metric"])
    days = data.assign(day=data["assigned_at"].dt.floor("D")).groupby("experiment")["day"].nunique()
    for experiment, n_days in days.items():
        assert (overall.loc[experiment, "seq_look"] == n_days).all()
    # the last look sees all the data: its z equals the fixed-horizon statistic, and a test
    # that has not crossed reports that look
    z_fixed = overall["abs_diff"] / overall["abs_se"]
    running = ~overall["seq_crossed"].astype(bool)
    assert (overall.loc[running, "seq_decision_look"] == overall.loc[running, "seq_look"]).all()
    assert np.allclose(overall.loc[running, "seq_statistic"], z_fixed[running], rtol=1e-9)
    # a large effect is detected, SRM is never a win, and the per-look path is kept
    assert overall.loc[("up", "ctr"), "decision"] == "win"
    assert not (overall.loc["srm", "decision"] == "win").any()
    looks = out.sequential_looks
    assert set(looks["experiment"]) == {"up", "flat", "srm"}
    assert looks.groupby(["experiment", "metric"])["look"].max().min() >= 10
    first = looks.query("experiment == 'up' and look == 1")["period"].iloc[0]
    assert first == str(data.loc[data["experiment"] == "up", "assigned_at"].min().date())
    if method == "group_sequential":
        crossed = overall[overall["seq_crossed"]]
        assert (crossed["seq_crossed_statistic"].abs() >= 2.0).all()
        path = looks.query("experiment == 'up' and metric == 'ctr'").sort_values("look")
        # O'Brien-Fleming boundaries fall over the looks
        assert path["boundary"].is_monotonic_decreasing
    else:
        path = looks.query("experiment == 'flat' and metric == 'ctr'").sort_values("look")
        # always-valid p-values never go up, confidence sequences only shrink
        assert path["p_value"].is_monotonic_decreasing
        assert (np.diff(path["ci_high"] - path["ci_low"]) <= 1e-12).all()


def test_cuped_and_heterogeneity_flow_through(data) -> None:
    out = _run(data)
    revenue = out.results.query("segment == 'all' and metric == 'revenue_per_user'")
    assert (revenue["variance_reduction"] > 0.05).all()
    assert set(out.heterogeneity["segment_column"]) == {"device"}


def test_layer_input_errors(data) -> None:
    with pytest.raises(InputDataError, match="time column 'sent_at'"):
        _run(data, sequential=SequentialOptions(time_column="sent_at"))
    with pytest.raises(ConfigError, match="planned_sample_size"):
        SequentialOptions(method="group_sequential", planned_looks=14)
    with pytest.raises(ConfigError, match="unknown metric"):
        _run(data, nonparametric=NonparametricOptions(metrics=("aov",)))
