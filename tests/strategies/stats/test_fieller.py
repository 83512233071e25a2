"""Fieller intervals for the relative lift: against the textbook formula written out here, and
by simulation where the control mean is close to 0 (there the delta method under-covers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from strategies.errors import ConfigError
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.frequentist import fieller_interval
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import (
    analyse_raw,
    simulate_normal_arm,
    stats_frame,
    two_arm_stats,
)


def textbook_fieller(a, b, v11, v22, v12, t) -> tuple[float, float]:
    """Fieller (1954) in the form of e.g. Franz (2007), "Ratios: a short guide to confidence
    limits and proper use", eq. 2: with g = t²·v22/b² < 1 the limits for a/b are

        [ q̂ − g·v12/v22 ± (t/b)·sqrt(v11 − 2q̂·v12 + q̂²·v22 − g·(v11 − v12²/v22)) ] / (1 − g)
    """
    q = a / b
    g = t**2 * v22 / b**2
    assert g < 1
    root = (t / b) * np.sqrt(v11 - 2 * q * v12 + q**2 * v22 - g * (v11 - v12**2 / v22))
    ends = [(q - g * v12 / v22 + s * root) / (1 - g) for s in (-1.0, 1.0)]
    return min(ends), max(ends)


@pytest.mark.parametrize(
    ("a", "b", "v11", "v22", "v12", "t"),
    [
        (12.0, 10.0, 0.4, 0.5, 0.0, 1.96),
        (0.031, 0.025, 1.1e-6, 0.9e-6, 0.0, 1.959964),
        (5.0, 2.0, 0.3, 0.6, 0.2, 2.1),  # correlated estimates (e.g. CUPED's shared θ·z̄)
        (-3.0, -4.0, 0.8, 0.5, -0.1, 1.7),  # negative denominator
        (1.0, 0.9, 0.04, 0.2, 0.05, 1.96),  # g close to 1: a very wide, asymmetric interval
    ],
)
def test_matches_the_textbook_formula(a, b, v11, v22, v12, t):
    low, high, bounded = fieller_interval(
        np.array([a]), np.array([b]), np.array([v11]), np.array([v22]), v12, t
    )
    ref = textbook_fieller(a, b, v11, v22, v12, t)
    assert bounded[0]
    assert low[0] == pytest.approx(ref[0], rel=1e-9)
    assert high[0] == pytest.approx(ref[1], rel=1e-9)
    # the ends solve the defining equation (a − ρb)² = t²(v11 − 2ρ v12 + ρ² v22)
    for rho in (low[0], high[0]):
        lhs = (a - rho * b) ** 2
        assert lhs == pytest.approx(t**2 * (v11 - 2 * rho * v12 + rho**2 * v22), rel=1e-9)


def test_unbounded_when_the_denominator_is_not_significant():
    low, high, bounded = fieller_interval(
        np.array([1.0, 1.0, np.nan]),
        np.array([0.5, 0.0, 1.0]),
        np.array([0.1, 0.1, 0.1]),
        np.array([0.1, 0.1, 0.1]),
        0.0,
        1.96,
    )
    # 0.5² < 1.96²·0.1: not significantly ≠ 0, the set is unbounded
    assert bounded.tolist() == [False, False, False]
    assert low[:2].tolist() == [-np.inf, -np.inf] and high[:2].tolist() == [np.inf, np.inf]
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_through_analyse_for_means_and_proportions():
    rng = np.random.default_rng(41)
    c, v = rng.normal(2.0, 4.0, 400), rng.normal(2.6, 5.0, 450)
    df = pd.DataFrame(
        {
            "variant": ["control"] * 400 + ["treatment"] * 450,
            "y": np.concatenate([c, v]),
            "conv": (rng.uniform(size=850) < np.repeat([0.05, 0.065], [400, 450])).astype(int),
        }
    )
    metrics = [MetricSpec("m", "mean", column="y"), MetricSpec("cr", "proportion", column="conv")]
    split = {"control": 400, "treatment": 450}
    res = analyse_raw(df, metrics, rel_ci_method="fieller", expected_split=split).results
    res = res.set_index("metric")
    assert (res["rel_ci_method"] == "fieller").all()

    # mean: t quantile with Welch df, independent arms
    welch_df = res.loc["m", "df"]
    t = stats.t.ppf(0.975, welch_df)
    ref = textbook_fieller(v.mean(), c.mean(), v.var(ddof=1) / 450, c.var(ddof=1) / 400, 0.0, t)
    assert res.loc["m", "rel_ci_low"] == pytest.approx(ref[0] - 1, rel=1e-9)
    assert res.loc["m", "rel_ci_high"] == pytest.approx(ref[1] - 1, rel=1e-9)

    # proportion, unpooled test: Fieller with the normal quantile and p(1 − p)/n variances
    conv = df.groupby("variant")["conv"].agg(["sum", "mean"])
    pc, pv = conv.loc["control", "mean"], conv.loc["treatment", "mean"]
    unpooled = analyse_raw(df, metrics, pooled_se=False, expected_split=split).results
    unpooled = unpooled.set_index("metric")
    ref = textbook_fieller(pv, pc, pv * (1 - pv) / 450, pc * (1 - pc) / 400, 0.0, 1.959963984540054)
    assert unpooled.loc["cr", "rel_ci_low"] == pytest.approx(ref[0] - 1, rel=1e-9)
    assert unpooled.loc["cr", "rel_ci_high"] == pytest.approx(ref[1] - 1, rel=1e-9)

    # proportion, pooled (default) test: the score interval that inverts it, as statsmodels
    xc, xv = int(conv.loc["control", "sum"]), int(conv.loc["treatment", "sum"])
    ref = confint_proportions_2indep(
        xv, 450, xc, 400, method="score", compare="ratio", correction=False
    )
    assert res.loc["cr", "rel_ci_low"] == pytest.approx(ref[0] - 1, rel=1e-6)
    assert res.loc["cr", "rel_ci_high"] == pytest.approx(ref[1] - 1, rel=1e-6)

    # Fieller is the default; the delta method changes only the relative CI
    assert (
        analyse_raw(df, metrics, expected_split=split).results["rel_ci_method"] == "fieller"
    ).all()
    delta = analyse_raw(df, metrics, rel_ci_method="delta", expected_split=split).results
    delta = delta.set_index("metric")
    assert (delta["rel_ci_method"] == "delta").all()
    same = ["abs_diff", "abs_ci_low", "abs_ci_high", "rel_lift", "p_value"]
    pd.testing.assert_frame_equal(delta[same], res[same])


def test_control_near_zero_gives_infinite_bounds_and_a_message():
    n = np.array([200, 200])
    mean = np.array([0.1, 1.0])
    y2 = 199 * 9.0 + n * mean**2  # sd 3: the control mean is 0.47 SE from 0
    frame = stats_frame(["e", "e"], ["a", "b"], "m", n, n * mean, y2)
    metric = MetricSpec("m", "mean", column="y")
    row = analyse(frame, [metric], AnalysisOptions(control="a", rel_ci_method="fieller"))
    row = row.results.iloc[0]
    assert row["status"] == "ok"
    assert row["rel_ci_low"] == -np.inf and row["rel_ci_high"] == np.inf
    assert "Fieller interval for the relative lift is unbounded" in row["message"]
    # the absolute test is unaffected and still decides: 0.1 → 1.0 is a significant increase
    assert np.isfinite(row["abs_ci_low"]) and row["p_value"] < 0.01
    assert row["decision"] == "win"


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown rel_ci_method 'bootstrap'.*delta, fieller"):
        AnalysisOptions(control="a", rel_ci_method="bootstrap")


def test_fieller_keeps_coverage_where_the_delta_method_does_not():
    """Control mean 4.5 SE from 0 and a +100 % lift: the delta interval is symmetric around a
    skewed estimate and misses the truth almost only on one side; Fieller stays near 95 %
    with balanced tails. (An unbounded Fieller set, ~1 % of draws here, covers everything;
    that makes Fieller conservative, never liberal.)"""
    rng = np.random.default_rng(42)
    n_exp, n, sd = 20_000, 200, 3.0
    mu_c = 4.5 * sd / np.sqrt(n)
    mu_v, lift = 2.0 * mu_c, 1.0
    sums = two_arm_stats(
        "m",
        simulate_normal_arm(rng, n, mu_c, sd, n_exp),
        simulate_normal_arm(rng, n, mu_v, sd, n_exp),
    )
    metric = MetricSpec("m", "mean", column="y")
    coverage, below, above = {}, {}, {}
    for method in ("delta", "fieller"):
        opts = AnalysisOptions(control="control", correction="none", rel_ci_method=method)
        res = analyse(sums, [metric], opts).results
        below[method] = (lift < res["rel_ci_low"]).mean()
        above[method] = (lift > res["rel_ci_high"]).mean()
        coverage[method] = 1 - below[method] - above[method]
    assert coverage["delta"] < 0.94
    assert above["delta"] > 0.05 and below["delta"] < 0.005  # lopsided misses
    assert 0.945 <= coverage["fieller"] <= 0.965
    assert 0.01 <= below["fieller"] <= 0.035 and 0.01 <= above["fieller"] <= 0.035
