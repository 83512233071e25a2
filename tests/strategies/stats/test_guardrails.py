"""Guardrail metrics: non-inferiority status on hand-built cases, and how a guardrail that does
not pass holds back a win of the same experiment × segment × variant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.errors import ConfigError
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.decisions import guardrail_status
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import stats_frame

#  status  rel_lo  rel_hi  direction  margin  expected
CASES = [
    ("ok", -0.015, 0.030, "increase", 0.02, "pass"),  # harm > 2 % ruled out
    ("ok", -0.025, 0.030, "increase", 0.02, "inconclusive"),  # −2.5 % still possible
    ("ok", -0.020, 0.030, "increase", 0.02, "inconclusive"),  # bound exactly on the margin
    ("ok", 0.010, 0.030, "increase", 0.0, "pass"),  # margin 0: must be significantly better
    ("ok", -0.010, 0.030, "increase", 0.0, "inconclusive"),
    ("ok", -0.050, -0.030, "increase", 0.02, "fail"),  # significant drop beyond the margin
    ("ok", -0.050, -0.010, "increase", 0.02, "inconclusive"),  # harm, but maybe within margin
    ("ok", -0.015, -0.001, "increase", 0.02, "pass"),  # significant harm inside the margin
    ("ok", -0.050, -0.010, "increase", 0.0, "fail"),  # margin 0: any significant harm fails
    ("ok", -0.030, 0.015, "decrease", 0.02, "pass"),  # e.g. latency: +2 % ruled out
    ("ok", -0.030, 0.025, "decrease", 0.02, "inconclusive"),
    ("ok", 0.025, 0.040, "decrease", 0.02, "fail"),  # latency significantly up by > 2 %
    ("ok", 0.005, 0.040, "decrease", 0.02, "inconclusive"),  # up, maybe within the margin
    ("srm", -0.001, 0.001, "increase", 0.02, "inconclusive"),  # broken split: never pass
    ("empty_arm", np.nan, np.nan, "increase", 0.02, "inconclusive"),
    ("ok", np.nan, np.nan, "increase", 0.02, "inconclusive"),  # relative lift undefined
    ("ok", -np.inf, np.inf, "increase", 0.02, "inconclusive"),  # unbounded Fieller interval
]


def test_guardrail_status_hand_built_cases():
    cols = list(zip(*CASES, strict=True))
    out = guardrail_status(
        status=np.array(cols[0], dtype=object),
        rel_ci_low=np.array(cols[1]),
        rel_ci_high=np.array(cols[2]),
        direction=np.array(cols[3], dtype=object),
        margin=np.array(cols[4]),
    )
    assert out.tolist() == list(cols[5])


PRIMARY = MetricSpec("cr", "proportion", column="c")
LATENCY = MetricSpec(
    "latency", "mean", column="ms", direction="decrease", role="guardrail",
    non_inferiority_margin=0.02,
)  # fmt: skip
ERRORS = MetricSpec(
    "errors", "proportion", column="e", direction="decrease", role="guardrail",
    non_inferiority_margin=0.10,
)  # fmt: skip
SECONDARY = MetricSpec("aov", "mean", column="v", role="secondary")


def _latency(n: np.ndarray, mean: np.ndarray, sd: float = 50.0) -> dict:
    return {"sum_y": n * mean, "sum_y2": (n - 1) * sd**2 + n * mean**2}


def _frame() -> pd.DataFrame:
    """Experiment "slow": conversion wins, latency up 5 % (significant) → held back.
    Experiment "fast": conversion wins, latency flat and tightly measured → the win stands."""
    exp = ["slow", "slow", "fast", "fast"]
    var = ["a", "b"] * 2
    n = np.full(4, 20_000)
    conv = np.array([2000.0, 2300.0, 2000.0, 2300.0])
    frames = [
        stats_frame(exp, var, "cr", n, conv, conv),
        stats_frame(exp, var, "latency", n, **_latency(n, np.array([400.0, 420, 400, 400.5]))),
        stats_frame(exp, var, "errors", n, *(np.array([200.0, 201, 200, 199]),) * 2),
        stats_frame(exp, var, "aov", n, **_latency(n, np.array([50.0, 52, 50, 52]), sd=20)),
    ]
    return pd.concat(frames, ignore_index=True)


def test_a_failing_guardrail_holds_back_the_win():
    metrics = [PRIMARY, LATENCY, ERRORS, SECONDARY]
    res = analyse(_frame(), metrics, AnalysisOptions(control="a")).results
    res = res.set_index(["experiment", "metric"])
    assert res["role"].xs("cr", level="metric").tolist() == ["primary", "primary"]
    assert res.loc[("slow", "aov"), "role"] == "secondary"
    assert pd.isna(res.loc[("slow", "cr"), "guardrail_status"])

    # slow: latency is significantly worse; the error rate's CI still allows +10 %
    assert res.loc[("slow", "latency"), "guardrail_status"] == "fail"
    assert res.loc[("slow", "errors"), "guardrail_status"] == "inconclusive"
    for metric in ("cr", "aov"):
        row = res.loc[("slow", metric)]
        assert row["p_value_adjusted"] < 0.05 and row["decision"] == "inconclusive"
        assert "guardrail(s) not passed (latency=fail, errors=inconclusive)" in row["message"]
    # the guardrail's own decision is the ordinary one: significantly worse = loss
    assert res.loc[("slow", "latency"), "decision"] == "loss"

    # fast: latency passes, but errors (few events) cannot rule out +10 %: still held back
    assert res.loc[("fast", "latency"), "guardrail_status"] == "pass"
    assert res.loc[("fast", "cr"), "decision"] == "inconclusive"
    assert "errors=inconclusive" in res.loc[("fast", "cr"), "message"]
    assert "latency" not in res.loc[("fast", "cr"), "message"]


def test_wins_stand_when_every_guardrail_passes():
    res = analyse(_frame(), [PRIMARY, LATENCY, SECONDARY], AnalysisOptions(control="a"))
    res = res.results.set_index(["experiment", "metric"])
    assert res.loc[("fast", "cr"), "decision"] == "win"
    assert res.loc[("fast", "aov"), "decision"] == "win"
    assert "guardrail" not in res.loc[("fast", "cr"), "message"]
    assert res.loc[("slow", "cr"), "decision"] == "inconclusive"  # latency failed there


def test_guardrails_act_per_segment():
    base = _frame()
    seg = base.assign(segment="device=mobile")
    seg.loc[seg["metric"] == "latency", ["sum_y", "sum_y2"]] = pd.DataFrame(
        _latency(np.full(4, 20_000), np.array([400.0, 400.5, 400, 400.5]))
    ).to_numpy()
    res = analyse(pd.concat([base, seg]), [PRIMARY, LATENCY], AnalysisOptions(control="a"))
    res = res.results.set_index(["experiment", "segment", "metric"])
    assert res.loc[("slow", "all", "cr"), "decision"] == "inconclusive"
    assert res.loc[("slow", "device=mobile", "latency"), "guardrail_status"] == "pass"
    assert res.loc[("slow", "device=mobile", "cr"), "decision"] == "win"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"role": "kpi"}, "unknown role 'kpi'.*primary, secondary, guardrail"),
        ({"non_inferiority_margin": -0.01}, "non_inferiority_margin"),
        ({"non_inferiority_margin": float("inf")}, "non_inferiority_margin"),
        ({"non_inferiority_margin": "2%"}, "non_inferiority_margin"),
    ],
)
def test_spec_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        MetricSpec("m", "mean", column="y", **kwargs)
