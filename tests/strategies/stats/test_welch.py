"""Welch t-test for mean metrics vs scipy and vs R's published t.test on the sleep data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import analyse_raw, raw_frame

MEAN = [MetricSpec("m", "mean", column="y")]


@pytest.mark.parametrize(
    ("n_c", "n_v", "mu_v", "sd_c", "sd_v", "seed"),
    [(40, 55, 0.3, 1.0, 2.5, 1), (7, 300, -1.0, 3.0, 0.5, 2), (1000, 900, 0.05, 1.0, 1.0, 3)],
)
def test_welch_matches_scipy(n_c, n_v, mu_v, sd_c, sd_v, seed):
    rng = np.random.default_rng(seed)
    control = rng.normal(10.0, sd_c, n_c)
    variant = rng.normal(10.0 + mu_v, sd_v, n_v)
    df = raw_frame({"control": control, "treatment": variant})
    # Declare the planned split, or the unequal arms would (rightly) be flagged as an SRM.
    split = {"control": n_c, "treatment": n_v}
    row = analyse_raw(df, MEAN, expected_split=split).results.iloc[0]

    ref = stats.ttest_ind(variant, control, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert row["test"] == "welch_t"
    assert row["status"] == "ok"
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-9)
    assert row["df"] == pytest.approx(ref.df, rel=1e-9)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert row["abs_ci_low"] == pytest.approx(ci.low, rel=1e-9)
    assert row["abs_ci_high"] == pytest.approx(ci.high, rel=1e-9)
    assert row["estimate_control"] == pytest.approx(control.mean(), rel=1e-12)
    assert row["abs_diff"] == pytest.approx(variant.mean() - control.mean(), rel=1e-9)


def test_welch_alpha_sets_ci_level():
    rng = np.random.default_rng(4)
    control, variant = rng.normal(0, 1, 30), rng.normal(0.5, 2, 40)
    row = analyse_raw(
        raw_frame({"control": control, "treatment": variant}), MEAN, alpha=0.1
    ).results.iloc[0]
    ci = stats.ttest_ind(variant, control, equal_var=False).confidence_interval(0.9)
    assert (row["abs_ci_low"], row["abs_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_welch_matches_published_r_sleep():
    """R: t.test(extra ~ group, data = sleep) — Welch Two Sample t-test, group1 − group2:
    t = -1.8608, df = 17.776, p-value = 0.07939, 95 % CI -3.3654832 0.2054832."""
    group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    group2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    # R reports group1 − group2, our difference is variant − control.
    df = raw_frame({"g2": np.array(group2), "g1": np.array(group1)})
    row = analyse_raw(df, MEAN, control="g2").results.iloc[0]
    assert row["variant"] == "g1"
    assert round(row["statistic"], 4) == -1.8608
    assert round(row["df"], 3) == 17.776
    assert round(row["p_value"], 5) == 0.07939
    assert round(row["abs_ci_low"], 7) == -3.3654832
    assert round(row["abs_ci_high"], 7) == 0.2054832
