"""Fixed-horizon, two-sided frequentist inference on top of the estimate layer.

Thin on purpose: each test turns :class:`ArmEstimates`/:class:`Difference` arrays into a test
statistic, p-value and (1 − α) confidence intervals for the absolute and the relative
difference, all vectorised. Which test a metric type gets is decided by the analysis layer.

Conventions (documented defaults, all two-sided):

* proportions — z-test with the *pooled* SE under H0 (``pooled_se=False`` uses the unpooled
  SE); or Pearson's χ² on the 2×2 table (always pooled expected counts, identical p-value to
  the pooled z-test). The CI for p_v − p_c is Wald with the *unpooled* SE. With
  ``continuity_correction`` both the statistic and the CI get Yates' correction exactly as
  R's ``prop.test(correct = TRUE)``: the correction is ``min(½·(1/n_c + 1/n_v), |p_v − p_c|)``
  and the CI is clipped to [−1, 1].
* means — Welch's t-test with Welch–Satterthwaite df; CIs use the t quantile with that df.
* ratios — z-test on the delta-method SE; normal CIs.
* relative lift — delta-method CI ``r ± q·SE(r)`` with the same quantile as the absolute CI
  (t for means, normal otherwise). Fieller intervals are a later, separate layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from strategies.stats.estimate import ArmEstimates, Difference, pooled_proportion_se2, welch_df


@dataclass(frozen=True)
class TestResult:
    """Per-comparison inference arrays. ``test_se`` is the SE in the statistic's denominator
    (0 or NaN means the test is undefined — the analysis layer turns that into a status)."""

    statistic: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    abs_ci_low: np.ndarray
    abs_ci_high: np.ndarray
    rel_ci_low: np.ndarray
    rel_ci_high: np.ndarray
    test_se: np.ndarray


def _two_sided_normal_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * stats.norm.sf(np.abs(z))


def _relative_ci(diff: Difference, q: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    half = q * np.sqrt(diff.rel_se2)
    return diff.rel_lift - half, diff.rel_lift + half


def two_proportion_test(
    control: ArmEstimates,
    variant: ArmEstimates,
    diff: Difference,
    *,
    alpha: float,
    method: str = "z",
    pooled_se: bool = True,
    continuity_correction: bool = False,
) -> TestResult:
    """Two-proportion z-test (``method="z"``) or 2×2 Pearson χ² (``method="chi2"``)."""
    if method not in ("z", "chi2"):
        raise ValueError(f"unknown proportion test {method!r}")
    q = stats.norm.ppf(1.0 - alpha / 2.0)
    abs_se = np.sqrt(diff.abs_se2)
    use_pooled = pooled_se or method == "chi2"
    test_se = np.sqrt(pooled_proportion_se2(control, variant)) if use_pooled else abs_se
    d = diff.abs_diff
    if continuity_correction:
        with np.errstate(divide="ignore", invalid="ignore"):
            cc = np.minimum(0.5 * (1.0 / control.n + 1.0 / variant.n), np.abs(d))
    else:
        cc = np.zeros_like(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.sign(d) * (np.abs(d) - cc) / test_se
    if method == "chi2":
        statistic = z**2
        df = np.ones_like(d)
        p_value = stats.chi2.sf(statistic, 1)
    else:
        statistic = z
        df = np.full_like(d, np.nan)
        p_value = _two_sided_normal_p(z)
    half = cc + q * abs_se
    low, high = d - half, d + half
    if continuity_correction:  # as prop.test: a difference of proportions lies in [-1, 1]
        low, high = np.maximum(low, -1.0), np.minimum(high, 1.0)
    rel_low, rel_high = _relative_ci(diff, q)
    return TestResult(statistic, df, p_value, low, high, rel_low, rel_high, test_se)


def welch_t_test(
    control: ArmEstimates, variant: ArmEstimates, diff: Difference, *, alpha: float
) -> TestResult:
    """Welch's unequal-variance t-test for a difference of means."""
    se = np.sqrt(diff.abs_se2)
    df = welch_df(control, variant)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff.abs_diff / se
        p_value = 2.0 * stats.t.sf(np.abs(t), df)
        q = stats.t.ppf(1.0 - alpha / 2.0, df)
    low, high = diff.abs_diff - q * se, diff.abs_diff + q * se
    rel_low, rel_high = _relative_ci(diff, q)
    return TestResult(t, df, p_value, low, high, rel_low, rel_high, se)


def delta_method_z_test(
    control: ArmEstimates, variant: ArmEstimates, diff: Difference, *, alpha: float
) -> TestResult:
    """z-test for a difference of ratio metrics with delta-method standard errors."""
    se = np.sqrt(diff.abs_se2)
    q = stats.norm.ppf(1.0 - alpha / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff.abs_diff / se
    low, high = diff.abs_diff - q * se, diff.abs_diff + q * se
    rel_low, rel_high = _relative_ci(diff, q)
    df = np.full_like(z, np.nan)
    return TestResult(z, df, _two_sided_normal_p(z), low, high, rel_low, rel_high, se)
