"""strategies.stats.schema is the one home of the output tables' columns: every producer returns
exactly its tuple, in order, and every tuple says what its table is."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pandas as pd
import pytest

from strategies.stats import layers, schema
from strategies.stats.aggregate import aggregate, funnel_totals
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.layers import BayesianOptions, NonparametricOptions, SequentialOptions
from strategies.stats.metrics import SUFFICIENT_STATISTICS, MetricSpec
from strategies.stats.nonparametric import bootstrap_ci, mann_whitney
from strategies.stats.run import ABDesign, run_ab_analysis

#: The results-table columns DESIGN.md §3 promises to a BI tool.
DESIGN_RESULT_COLUMNS = (
    "experiment",
    "segment",
    "metric",
    "control",
    "variant",
    "n_control",
    "n_variant",
    "estimate_control",
    "estimate_variant",
    "abs_diff",
    "abs_ci_low",
    "abs_ci_high",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_value_adjusted",
    "test",
    "decision",
    "status",
    "variance_reduction",
)

METRICS = [
    MetricSpec("conversion", "proportion", column="converted"),
    MetricSpec("revenue", "mean", column="revenue", covariate="pre_revenue"),
    MetricSpec("aov", "ratio", numerator="revenue", denominator="orders", role="guardrail"),
]
DESIGN = ABDesign("user_id", "variant", "A", ("B",), "experiment", segment_columns=("device",))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """Two small experiments over five days, two devices, every metric type."""
    rng = np.random.default_rng(3)
    n = 4_000
    variant = rng.choice(["A", "B"], n)
    orders = rng.poisson(1.0, n) + 1
    revenue = rng.gamma(2.0, 10.0, n) * (1 + 0.1 * (variant == "B"))
    return pd.DataFrame(
        {
            "user_id": np.arange(n),
            "experiment": rng.choice(["e1", "e2"], n),
            "variant": variant,
            "device": rng.choice(["mobile", "desktop"], n),
            "converted": (rng.random(n) < np.where(variant == "B", 0.12, 0.10)).astype(int),
            "revenue": revenue,
            "pre_revenue": revenue * 0.5 + rng.normal(0, 5, n),
            "orders": orders,
            "opens": rng.poisson(3, n),
            "clicks": rng.poisson(1, n),
            "assigned_at": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 5, n), unit="D"),
        }
    )


@pytest.fixture(scope="module")
def outcome(data):
    return run_ab_analysis(
        data,
        DESIGN,
        METRICS,
        AnalysisOptions(control="A"),
        funnel_stages=("opens", "clicks"),
        bayesian=BayesianOptions(),
        sequential=SequentialOptions(),
        nonparametric=NonparametricOptions(metrics=("revenue",), n_resamples=200),
    )


def test_results_table_keeps_the_design_contract() -> None:
    assert set(DESIGN_RESULT_COLUMNS) <= set(schema.RESULT_COLUMNS)
    assert set(schema.RESULT_KEYS) <= set(schema.RESULT_COLUMNS)
    assert set(schema.LABEL_COLUMNS) == set(schema.RESULT_KEYS)
    assert schema.STATS_COLUMNS == schema.LABEL_COLUMNS + SUFFICIENT_STATISTICS


def test_layer_columns_never_collide_with_the_results_table() -> None:
    extra = (*schema.BAYES_COLUMNS, *schema.SEQUENTIAL_COLUMNS, *schema.NONPARAMETRIC_COLUMNS)
    assert len(set(extra)) == len(extra)
    assert not set(extra) & set(schema.RESULT_COLUMNS)


def test_every_producer_returns_exactly_its_schema(outcome) -> None:
    layered = (
        *schema.RESULT_COLUMNS,
        *schema.BAYES_COLUMNS,
        *schema.NONPARAMETRIC_COLUMNS,
        *schema.SEQUENTIAL_COLUMNS,
    )
    assert tuple(outcome.results.columns) == layered
    assert tuple(outcome.srm.columns) == schema.SRM_COLUMNS
    assert tuple(outcome.funnel.columns) == schema.FUNNEL_COLUMNS
    assert tuple(outcome.sufficient_stats.columns) == schema.STATS_COLUMNS
    assert tuple(outcome.heterogeneity.columns) == schema.HETEROGENEITY_COLUMNS
    assert tuple(outcome.sequential_looks.columns) == schema.LOOK_COLUMNS
    assert not outcome.results.duplicated(list(schema.RESULT_KEYS)).any()
    for frame in (outcome.srm, outcome.funnel, outcome.heterogeneity, outcome.sequential_looks):
        assert len(frame) > 0


def test_label_values_are_the_documented_vocabularies(outcome) -> None:
    results = outcome.results
    assert set(results["status"]) <= set(schema.STATUSES)
    assert set(results["decision"]) <= set(schema.DECISIONS)
    assert set(results["bayes_decision"]) <= set(schema.DECISIONS)
    guard = results["role"] == "guardrail"
    assert set(results.loc[guard, "guardrail_status"]) <= set(schema.GUARDRAIL_STATUSES)
    assert schema.OVERALL_SEGMENT in set(results["segment"])
    assert set(outcome.srm["segment"]) >= {schema.OVERALL_SEGMENT}


def test_empty_funnel_has_the_funnel_columns(data) -> None:
    empty = funnel_totals(data, ["no_such_stage"], variant_column="variant")
    assert tuple(empty.columns) == schema.FUNNEL_COLUMNS and empty.empty


def test_unit_level_tables_have_their_columns(data) -> None:
    common = {"variant_column": "variant", "control": "A", "experiment_column": "experiment"}
    mw = mann_whitney(data, value_column="revenue", **common)
    boot = bootstrap_ci(data, value_column="revenue", n_resamples=50, **common)
    assert tuple(mw.columns) == schema.MANN_WHITNEY_COLUMNS
    assert tuple(boot.columns) == schema.BOOTSTRAP_COLUMNS
    stats = aggregate(data, METRICS, variant_column="variant", experiment_column="experiment")
    assert tuple(stats.columns) == schema.STATS_COLUMNS


def test_every_contract_is_documented() -> None:
    """Each public constant of schema.py is followed by a docstring saying what it is."""
    body = ast.parse(inspect.getsource(schema)).body
    names = []
    for node, following in zip(body, [*body[1:], None], strict=True):
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                names.append(target.id)
                documented = (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                )
                assert documented, f"schema.{target.id} has no docstring"
    assert {"RESULT_COLUMNS", "SRM_COLUMNS", "LOOK_COLUMNS", "BAYES_COLUMNS"} <= set(names)


def test_each_layer_lives_in_its_own_module() -> None:
    assert layers.bayesian_columns.__module__ == "strategies.stats.layers.bayesian"
    assert layers.sequential_analysis.__module__ == "strategies.stats.layers.sequential"
    assert layers.nonparametric_columns.__module__ == "strategies.stats.layers.nonparametric"
    for name in layers.__all__:
        assert hasattr(layers, name)
