"""Fixed-horizon, two-sided frequentist inference on top of the estimate layer.

Thin on purpose: each test turns :class:`ArmEstimates`/:class:`Difference` arrays into a test
statistic, p-value and (1 − α) confidence intervals for the absolute and the relative
difference, all vectorised. Which test a metric type gets is decided by the analysis layer.

The rule every pairing below follows: **the intervals invert the test that decides**, so a
significant result never sits beside an interval that includes 0 (absolute) or 0 % (relative),
and a non-significant one never beside an interval that excludes it (DESIGN.md §2.7).

Conventions (documented defaults, all two-sided):

* proportions — z-test with the *pooled* SE under H0 (the score test; ``pooled_se=False``
  uses the unpooled SE); or Pearson's χ² on the 2×2 table (pooled by construction, identical
  p-value to the pooled z-test). The intervals invert the same test
  (:mod:`strategies.stats.intervals`): pooled → the score intervals for the difference
  (Farrington–Manning) and for the ratio (Miettinen–Nurminen); unpooled → the Wald interval
  for the difference and Fieller's for the ratio. With ``continuity_correction`` the statistic
  gets Yates' correction exactly as R's ``prop.test(correct = TRUE)``
  (``min(½·(1/n_c + 1/n_v), |p_v − p_c|)``) and the intervals invert the corrected test;
  unpooled + corrected reproduces prop.test's interval.
* means — Welch's t-test with Welch–Satterthwaite df; the absolute CI uses the t quantile with
  that df (it inverts Welch's test exactly).
* ratios — z-test on the delta-method SE; normal absolute CI.
* relative lift — by default (``rel_ci_method="fieller"``) the interval that inverts the
  deciding test on the ratio scale: the score/Fieller interval above for proportions, and
  Fieller's interval (:func:`fieller_interval`, the same quantile as the absolute CI) for
  means, ratios and CUPED rows, which the analysis layer swaps in. ``"delta"`` keeps the
  first-order delta-method interval ``r ± q·SE(r)`` for comparison with other tools; it is
  approximate and can disagree with the test (the analysis layer says so on such rows).
* CUPED rows (a metric with a covariate) — the regression-adjusted difference has no pooled
  null variance, so proportions get an unpooled z-test (no continuity correction, no χ²), means
  Welch's t on the adjusted variances, ratios the delta-method z-test; the test name gets a
  ``_cuped`` suffix (``z_cuped``, ``welch_t_cuped``, ``delta_method_z_cuped``).

Fieller's interval for a ratio
------------------------------
For independent-or-correlated normal estimates a (variant) and b (control) with variances
v_aa, v_bb and covariance v_ab, the (1 − α) Fieller set for ρ = E[a]/E[b] is every ρ with
``(a − ρb)² ≤ q²·(v_aa − 2ρ·v_ab + ρ²·v_bb)`` — it inverts the exact test of ``a − ρb = 0``
instead of linearising a/b, so it stays calibrated when b is noisy (the delta method
under-covers there). It is a finite interval exactly when ``b² > q²·v_bb``, i.e. when the
control estimate is significantly different from 0; otherwise the set is unbounded (the whole
line or the complement of an interval) and reported as ``(−inf, +inf)``. The relative lift's
interval is the ratio's interval minus 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from strategies.stats.estimate import ArmEstimates, Difference, pooled_proportion_se2, welch_df
from strategies.stats.intervals import proportion_difference_interval, proportion_ratio_interval


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


def normal_quantile(alpha: float) -> float:
    """The two-sided (1 − α) standard-normal quantile."""
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def fieller_interval(
    num: np.ndarray,
    den: np.ndarray,
    var_num: np.ndarray,
    var_den: np.ndarray,
    cov: np.ndarray | float,
    q: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fieller's confidence interval for ``E[num]/E[den]`` (vectorised).

    Returns ``(low, high, bounded)``: where the set is unbounded (``den`` not significantly
    different from 0 at quantile q) low/high are −inf/+inf and ``bounded`` is False; where an
    input is NaN both bounds are NaN. The quadratic ``A·ρ² − 2B·ρ + C ≤ 0`` has
    ``A = den² − q²·var_den``, ``B = num·den − q²·cov``, ``C = num² − q²·var_num``; its
    discriminant ``B² − AC`` is computed in the cancellation-free form
    ``q²·(num²·var_den − 2·num·den·cov + den²·var_num − q²·(var_num·var_den − cov²))``.
    """
    num, den, var_num, var_den = (
        np.asarray(a, dtype=np.float64) for a in (num, den, var_num, var_den)
    )
    cov = np.broadcast_to(np.asarray(cov, dtype=np.float64), num.shape)
    q2 = np.broadcast_to(np.asarray(q, dtype=np.float64) ** 2, num.shape)
    a = den**2 - q2 * var_den
    b = num * den - q2 * cov
    disc = q2 * (
        num**2 * var_den
        - 2.0 * num * den * cov
        + den**2 * var_num
        - q2 * (var_num * var_den - cov**2)
    )
    valid = np.isfinite(num + den + var_num + var_den + cov + q2)
    bounded = valid & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        low = np.where(bounded, (b - root) / a, -np.inf)
        high = np.where(bounded, (b + root) / a, np.inf)
    low = np.where(valid, low, np.nan)
    high = np.where(valid, high, np.nan)
    return low, high, bounded


def two_proportion_test(
    control: ArmEstimates,
    variant: ArmEstimates,
    diff: Difference,
    *,
    alpha: float,
    method: str = "z",
    pooled_se: bool = True,
    continuity_correction: bool = False,
    rel_ci_method: str = "fieller",
) -> TestResult:
    """Two-proportion z-test (``method="z"``) or 2×2 Pearson χ² (``method="chi2"``), with the
    intervals that invert it (``rel_ci_method="delta"``: the delta-method relative CI)."""
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
    counts = (control.sum_y, control.n, variant.sum_y, variant.n)
    options = {"q": q, "pooled": use_pooled, "continuity_correction": continuity_correction}
    low, high = proportion_difference_interval(*counts, **options)
    if rel_ci_method == "delta":
        rel_low, rel_high = _relative_ci(diff, q)
    else:
        ratio_low, ratio_high = proportion_ratio_interval(*counts, **options)
        rel_low, rel_high = ratio_low - 1.0, ratio_high - 1.0
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
