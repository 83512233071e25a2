"""Frequentist guarantees by simulation, from sufficient statistics drawn directly.

Each test analyses tens of thousands of simulated experiments in a single ``analyse`` call
(which also exercises the vectorised path at scale): A/A tests must reject at the nominal 5 %
(4–6 %), and 95 % CIs must cover the true absolute difference and the true relative lift
94–96 % of the time. With 20,000 experiments the binomial SE of a rate near 5 % is 0.15 pp,
so the bands are > 6 SE wide — a failure is a bug, not bad luck. Seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import (
    simulate_binomial_arm,
    simulate_normal_arm,
    two_arm_stats,
)

N_EXP = 20_000


def _run(sums: pd.DataFrame, metric: MetricSpec, **options) -> pd.DataFrame:
    opts = AnalysisOptions(control="control", correction="none", **options)
    results = analyse(sums, [metric], opts).results
    assert len(results) == N_EXP
    assert (results["status"] == "ok").all()
    return results


def _coverage(results: pd.DataFrame, true_diff: float, true_rel: float) -> tuple[float, float]:
    abs_cov = (results["abs_ci_low"] <= true_diff) & (true_diff <= results["abs_ci_high"])
    rel_cov = (results["rel_ci_low"] <= true_rel) & (true_rel <= results["rel_ci_high"])
    return abs_cov.mean(), rel_cov.mean()


PROP = MetricSpec("cr", "proportion", column="converted")
MEAN = MetricSpec("revenue", "mean", column="revenue")


@pytest.mark.parametrize(
    ("options", "n", "p"),
    [({}, 2000, 0.1), ({"pooled_se": False}, 2000, 0.1), ({"proportion_test": "chi2"}, 500, 0.3)],
)
def test_proportion_aa_rejects_at_nominal_rate(options, n, p):
    rng = np.random.default_rng(101)
    sums = two_arm_stats(
        "cr",
        simulate_binomial_arm(rng, n, p, N_EXP),
        simulate_binomial_arm(rng, n, p, N_EXP),
    )
    results = _run(sums, PROP, **options)
    assert 0.04 <= (results["p_value"] < 0.05).mean() <= 0.06


def test_proportion_ci_coverage_with_real_effect():
    rng = np.random.default_rng(102)
    p_c, p_v, n = 0.10, 0.11, 5000
    sums = two_arm_stats(
        "cr",
        simulate_binomial_arm(rng, n, p_c, N_EXP),
        simulate_binomial_arm(rng, n, p_v, N_EXP),
    )
    results = _run(sums, PROP)
    abs_cov, rel_cov = _coverage(results, p_v - p_c, p_v / p_c - 1)
    assert 0.94 <= abs_cov <= 0.96
    assert 0.94 <= rel_cov <= 0.96
    # Power agrees with the normal-approximation power computed here from the true rates.
    se = np.sqrt(p_c * (1 - p_c) / n + p_v * (1 - p_v) / n)
    shift, q = (p_v - p_c) / se, stats.norm.ppf(0.975)
    power = stats.norm.sf(q - shift) + stats.norm.cdf(-q - shift)
    assert (results["p_value"] < 0.05).mean() == pytest.approx(power, abs=0.02)


def test_welch_aa_with_unequal_sizes_and_variances():
    """Where Student's pooled t would be badly miscalibrated (small arm, small variance vs
    large arm, large variance), Welch stays at the nominal rate."""
    rng = np.random.default_rng(103)
    sums = two_arm_stats(
        "revenue",
        simulate_normal_arm(rng, 30, 5.0, 1.0, N_EXP),
        simulate_normal_arm(rng, 120, 5.0, 4.0, N_EXP),
    )
    results = _run(sums, MEAN, expected_split={"control": 1, "treatment": 4})
    assert 0.04 <= (results["p_value"] < 0.05).mean() <= 0.06


def test_mean_ci_coverage_with_real_effect():
    rng = np.random.default_rng(104)
    mu_c, mu_v, n = 10.0, 10.8, 200
    sums = two_arm_stats(
        "revenue",
        simulate_normal_arm(rng, n, mu_c, 5.0, N_EXP),
        simulate_normal_arm(rng, n, mu_v, 7.0, N_EXP),
    )
    results = _run(sums, MEAN)
    abs_cov, rel_cov = _coverage(results, mu_v - mu_c, mu_v / mu_c - 1)
    assert 0.94 <= abs_cov <= 0.96
    assert 0.94 <= rel_cov <= 0.96
