"""Decision rules on hand-built cases, directly and through analyse."""

from __future__ import annotations

import numpy as np
import pytest

from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.decisions import decide
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import stats_frame

#          status  p_adj  abs_diff rel_lo rel_hi  direction   expected
CASES = [
    ("ok", 0.001, 0.5, 0.05, 0.20, "increase", "win"),
    ("ok", 0.001, -0.5, -0.20, -0.05, "increase", "loss"),
    ("ok", 0.001, -0.5, -0.20, -0.05, "decrease", "win"),  # e.g. churn went down
    ("ok", 0.001, 0.5, 0.05, 0.20, "decrease", "loss"),
    ("ok", 0.049, 0.5, 0.05, 0.20, "increase", "win"),
    ("ok", 0.05, 0.5, 0.05, 0.20, "increase", "inconclusive"),  # p must be < alpha
    ("ok", 0.40, 0.01, -0.015, 0.018, "increase", "neutral"),  # CI inside ±2 %
    ("ok", 0.40, 0.01, -0.015, 0.018, "decrease", "neutral"),
    ("ok", 0.40, 0.01, -0.025, 0.018, "increase", "inconclusive"),  # −2.5 % still possible
    ("ok", 0.40, 0.01, -0.015, 0.020, "increase", "inconclusive"),  # open interval
    ("ok", 0.40, 0.01, np.nan, np.nan, "increase", "inconclusive"),  # rel lift undefined
    ("srm", 1e-9, 0.5, 0.05, 0.20, "increase", "inconclusive"),  # SRM never wins
    ("srm", 0.40, 0.01, -0.015, 0.018, "increase", "inconclusive"),
    ("empty_arm", np.nan, np.nan, np.nan, np.nan, "increase", "inconclusive"),
    ("zero_variance", np.nan, 0.0, np.nan, np.nan, "increase", "inconclusive"),
]


def test_decide_hand_built_cases():
    cols = list(zip(*CASES, strict=True))
    out = decide(
        status=np.array(cols[0], dtype=object),
        p_value_adjusted=np.array(cols[1]),
        abs_diff=np.array(cols[2]),
        rel_ci_low=np.array(cols[3]),
        rel_ci_high=np.array(cols[4]),
        direction=np.array(cols[5], dtype=object),
        min_effect=0.02,
        alpha=0.05,
    )
    assert out.tolist() == list(cols[6])


def test_min_effect_is_per_metric():
    common = dict(
        status=np.array(["ok", "ok"]),
        p_value_adjusted=np.array([0.5, 0.5]),
        abs_diff=np.array([0.0, 0.0]),
        rel_ci_low=np.array([-0.04, -0.04]),
        rel_ci_high=np.array([0.04, 0.04]),
        direction=np.array(["increase", "increase"]),
        alpha=0.05,
    )
    assert decide(**common, min_effect=np.array([0.02, 0.05])).tolist() == [
        "inconclusive",
        "neutral",
    ]


@pytest.mark.parametrize(
    ("direction", "k_variant", "expected"),
    [("increase", 1300, "win"), ("decrease", 1300, "loss"), ("decrease", 700, "win")],
)
def test_decisions_through_analyse(direction, k_variant, expected):
    metric = MetricSpec("m", "proportion", column="c", direction=direction)
    k = np.array([1000.0, k_variant])
    stats = stats_frame(["e", "e"], ["a", "b"], "m", [10_000, 10_000], k, k)
    row = analyse(stats, [metric], AnalysisOptions(control="a")).results.iloc[0]
    assert row["decision"] == expected


def test_neutral_through_analyse():
    """Huge, equal arms: the relative CI is far inside ±2 %, so the change is neutral."""
    metric = MetricSpec("m", "proportion", column="c", min_effect=0.02)
    k = np.array([200_000.0, 200_100.0])
    stats = stats_frame(["e", "e"], ["a", "b"], "m", [1_000_000] * 2, k, k)
    row = analyse(stats, [metric], AnalysisOptions(control="a")).results.iloc[0]
    assert -0.02 < row["rel_ci_low"] < row["rel_ci_high"] < 0.02
    assert row["decision"] == "neutral"
