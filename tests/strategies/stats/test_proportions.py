"""Two-proportion tests vs statsmodels, scipy's 2×2 χ² and published R prop.test output."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion as smp

from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_support import stats_frame

PROP = [MetricSpec("cr", "proportion", column="converted")]

# (successes, units) for control and treatment; includes unequal sizes and small counts.
CASES = [
    ((100, 1000), (130, 1000)),
    ((45, 800), (31, 1200)),
    ((3, 40), (9, 35)),
    ((5120, 50_000), (5350, 49_800)),
]


def _row(control, treatment, **options):
    (k_c, n_c), (k_v, n_v) = control, treatment
    k = np.array([k_c, k_v], dtype=float)
    stats_ = stats_frame(["e", "e"], ["control", "treatment"], "cr", [n_c, n_v], k, k)
    split = {"control": n_c, "treatment": n_v}
    opts = AnalysisOptions(control="control", expected_split=split, **options)
    return analyse(stats_, PROP, opts).results.iloc[0]


def _table(control, treatment):
    (k_c, n_c), (k_v, n_v) = control, treatment
    return np.array([[k_v, n_v - k_v], [k_c, n_c - k_c]])


@pytest.mark.parametrize(("control", "treatment"), CASES)
def test_pooled_z_matches_statsmodels(control, treatment):
    (k_c, n_c), (k_v, n_v) = control, treatment
    row = _row(control, treatment)
    z, p = smp.proportions_ztest([k_v, k_c], [n_v, n_c])
    assert row["test"] == "two_proportion_z"
    assert row["statistic"] == pytest.approx(z, rel=1e-10)
    assert row["p_value"] == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize(("control", "treatment"), CASES)
def test_unpooled_z_and_wald_ci_match_statsmodels(control, treatment):
    (k_c, n_c), (k_v, n_v) = control, treatment
    row = _row(control, treatment, pooled_se=False)
    ref = smp.test_proportions_2indep(k_v, n_v, k_c, n_c, method="wald", compare="diff")
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    for alpha in (0.05, 0.2):
        # the unpooled test is inverted by the Wald interval
        row = _row(control, treatment, alpha=alpha, pooled_se=False)
        low, high = smp.confint_proportions_2indep(
            k_v, n_v, k_c, n_c, method="wald", compare="diff", alpha=alpha
        )
        assert row["abs_ci_low"] == pytest.approx(low, rel=1e-10)
        assert row["abs_ci_high"] == pytest.approx(high, rel=1e-10)


@pytest.mark.parametrize(("control", "treatment"), CASES)
@pytest.mark.parametrize("yates", [False, True])
def test_chi2_matches_scipy_contingency(control, treatment, yates):
    ref = stats.chi2_contingency(_table(control, treatment), correction=yates)
    row = _row(control, treatment, proportion_test="chi2", continuity_correction=yates)
    assert row["test"] == "chi2"
    assert row["df"] == 1
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    # The pooled z-test is the same test: z² = χ², same p-value.
    z_row = _row(control, treatment, continuity_correction=yates)
    assert z_row["statistic"] ** 2 == pytest.approx(ref.statistic, rel=1e-10)
    assert z_row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_matches_published_r_prop_test_with_yates():
    """R: prop.test(x = c(490, 400), n = c(500, 500)) — 2-sample test for equality of
    proportions with continuity correction: X-squared = 80.909, df = 1, p-value < 2.2e-16,
    95 percent confidence interval: 0.1408536 0.2191464 (prop 1 − prop 2)."""
    row = _row((400, 500), (490, 500), proportion_test="chi2", continuity_correction=True)
    assert round(row["statistic"], 3) == 80.909
    assert row["p_value"] < 2.2e-16
    # R pairs the pooled χ² with a Wald interval; liftlab's interval for the unpooled test
    # (which that Wald interval inverts) is R's interval.
    row = _row((400, 500), (490, 500), pooled_se=False, continuity_correction=True)
    assert round(row["abs_ci_low"], 7) == 0.1408536
    assert round(row["abs_ci_high"], 7) == 0.2191464


def test_matches_published_r_prop_test_without_yates():
    """R: prop.test(c(40, 200), c(200, 800), correct = FALSE): X-squared = 2.193, df = 1,
    p-value = 0.1386, 95 percent confidence interval: -0.11303578 0.01303578."""
    row = _row((200, 800), (40, 200), proportion_test="chi2")
    assert round(row["statistic"], 3) == 2.193
    assert round(row["p_value"], 4) == 0.1386
    row = _row((200, 800), (40, 200), pooled_se=False)
    assert round(row["abs_ci_low"], 8) == -0.11303578
    assert round(row["abs_ci_high"], 8) == 0.01303578


def test_yates_ci_is_clipped_like_prop_test():
    # Tiny arms with extreme proportions: the corrected interval would pass ±1.
    row = _row((0, 3), (3, 3), continuity_correction=True)
    assert row["abs_ci_high"] == 1.0
    assert row["abs_ci_low"] > -1.0
