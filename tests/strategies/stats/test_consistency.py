"""A decision never contradicts the intervals printed beside it (issue #10, DESIGN.md §2.7).

The intervals are checked against independent computations (a numerically maximised
restricted likelihood with scipy, statsmodels' score interval for the ratio, a textbook
Fieller), the agreement of test and intervals over many random comparisons of every metric
type, and their coverage by simulation at low base rates and with small skewed samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import confint_proportions_2indep

from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.intervals import proportion_difference_interval, proportion_ratio_interval
from strategies.stats.metrics import MetricSpec
from tests.strategies.stats.test_fieller import textbook_fieller
from tests.strategies.stats.test_support import (
    simulate_binomial_arm,
    stats_frame,
    two_arm_stats,
)

Q = stats.norm.ppf(0.975)
PROP = [MetricSpec("cr", "proportion", column="c")]
NO_SRM = {"srm_alpha": 1e-300, "correction": "none"}


def _analyse(frame: pd.DataFrame, metrics, **options) -> pd.DataFrame:
    opts = {"control": "control", **NO_SRM, **options}
    return analyse(frame, metrics, AnalysisOptions(**opts)).results


def _two_proportions(control, treatment, **options) -> pd.Series:
    (k_c, n_c), (k_v, n_v) = control, treatment
    k = np.array([k_c, k_v], dtype=float)
    frame = stats_frame(["e", "e"], ["control", "treatment"], "cr", [n_c, n_v], k, k)
    split = {"control": n_c, "treatment": n_v}
    return _analyse(frame, PROP, expected_split=split, **options).iloc[0]


def _score_z(x_v: int, n_v: int, x_c: int, n_c: int, delta: float) -> float:
    """Farrington–Manning z at ``p_v − p_c = δ`` with the restricted MLE found numerically."""

    def nll(pc: float) -> float:
        pv = pc + delta
        return -(
            x_v * np.log(pv)
            + (n_v - x_v) * np.log1p(-pv)
            + x_c * np.log(pc)
            + (n_c - x_c) * np.log1p(-pc)
        )

    lo, hi = max(1e-12, -delta + 1e-12), min(1 - 1e-12, 1 - delta - 1e-12)
    pc = optimize.minimize_scalar(
        nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-14}
    ).x
    pv = pc + delta
    se = np.sqrt(pv * (1 - pv) / n_v + pc * (1 - pc) / n_c)
    return (x_v / n_v - x_c / n_c - delta) / se


def test_score_interval_for_the_difference_inverts_the_score_test():
    rng = np.random.default_rng(3)
    for _ in range(40):
        n_c, n_v = (int(v) for v in rng.integers(20, 5000, 2))
        x_c, x_v = int(rng.integers(1, n_c)), int(rng.integers(1, n_v))
        low, high = proportion_difference_interval(x_c, n_c, x_v, n_v, q=Q)
        assert _score_z(x_v, n_v, x_c, n_c, float(low)) == pytest.approx(Q, abs=1e-5)
        assert _score_z(x_v, n_v, x_c, n_c, float(high)) == pytest.approx(-Q, abs=1e-5)


def test_score_interval_for_the_ratio_matches_statsmodels():
    rng = np.random.default_rng(4)
    for _ in range(40):
        n_c, n_v = (int(v) for v in rng.integers(20, 5000, 2))
        x_c, x_v = int(rng.integers(1, n_c)), int(rng.integers(1, n_v))
        ref = confint_proportions_2indep(
            x_v, n_v, x_c, n_c, method="score", compare="ratio", correction=False
        )
        low, high = proportion_ratio_interval(x_c, n_c, x_v, n_v, q=Q)
        assert float(low) == pytest.approx(ref[0], rel=1e-6)
        assert float(high) == pytest.approx(ref[1], rel=1e-6)


def test_unpooled_intervals_are_wald_and_fieller():
    x_c, n_c, x_v, n_v = 45, 800, 31, 1200
    pc, pv = x_c / n_c, x_v / n_v
    vc, vv = pc * (1 - pc) / n_c, pv * (1 - pv) / n_v
    low, high = proportion_difference_interval(x_c, n_c, x_v, n_v, q=Q, pooled=False)
    assert (float(low), float(high)) == pytest.approx(
        (pv - pc - Q * np.sqrt(vc + vv), pv - pc + Q * np.sqrt(vc + vv)), rel=1e-9
    )
    low, high = proportion_ratio_interval(x_c, n_c, x_v, n_v, q=Q, pooled=False)
    assert (float(low), float(high)) == pytest.approx(
        textbook_fieller(pv, pc, vv, vc, 0.0, Q), rel=1e-9
    )


def test_ratio_interval_edges():
    # no variant conversions: the ratio can be 0; no control conversions: undefined
    low, high = proportion_ratio_interval(10, 1000, 0, 1000, q=Q)
    assert float(low) == 0.0 and 0 < float(high) < 1
    low, high = proportion_ratio_interval(0, 1000, 5, 1000, q=Q)
    assert np.isnan(low) and np.isnan(high)


def test_a_win_never_shows_a_relative_interval_that_includes_zero():
    """Defect 1: 10 % vs 11 %, n = 1,000 per arm. With the delta method ~45 % of the
    significant results showed a relative CI containing 0; by default none does."""
    rng = np.random.default_rng(11)
    frame = two_arm_stats(
        "cr",
        simulate_binomial_arm(rng, 1000, 0.10, 4000),
        simulate_binomial_arm(rng, 1000, 0.11, 4000),
    )
    default = _analyse(frame, PROP)
    assert (default["rel_ci_method"] == "fieller").all()
    wins = default[default["decision"] == "win"]
    assert len(wins) > 300
    assert (wins["rel_ci_low"] > 0).all() and (wins["abs_ci_low"] > 0).all()

    delta = _analyse(frame, PROP, rel_ci_method="delta")
    delta_wins = delta[delta["decision"] == "win"]
    contradicted = delta_wins["rel_ci_low"] <= 0
    assert contradicted.mean() > 0.3  # the defect, kept as an option …
    # … and such rows say why
    assert delta_wins.loc[contradicted, "message"].str.contains("delta-method relative CI").all()


def test_relative_interval_stays_above_minus_100_percent():
    # 2/300 vs 9/300: the delta interval was [−336 %, +1036 %]
    row = _two_proportions((9, 300), (2, 300))
    assert row["rel_ci_low"] >= -1.0
    assert row["rel_ci_low"] < row["rel_lift"] < row["rel_ci_high"]


@pytest.mark.parametrize("options", [{}, {"proportion_test": "chi2"}, {"pooled_se": False}])
def test_pooled_and_unpooled_pairs_agree_with_unequal_arms(options):
    """Defect 2: 247/500 vs 22,500/50,000 — pooled p = 0.049 ("loss") beside the Wald CI
    [−0.088, +0.00004]. Each test now comes with the intervals that invert it."""
    row = _two_proportions((247, 500), (22_500, 50_000), **options)
    significant = row["p_value"] < 0.05
    assert (row["abs_ci_high"] < 0) == significant
    assert (row["rel_ci_high"] < 0) == significant
    if not options:
        assert row["p_value"] == pytest.approx(0.0491, abs=1e-4)
        assert row["decision"] == "loss"


def _random_frames(rng: np.random.Generator, size: int) -> list[tuple[pd.DataFrame, list]]:
    n_c = rng.integers(30, 3000, size)
    n_v = rng.integers(30, 3000, size)
    base = rng.uniform(0.01, 0.5, size)
    lift = rng.normal(0, 0.15, size)

    def arm(n, p):
        k = rng.binomial(n, np.clip(p, 0.001, 0.999)).astype(float)
        return {"n": n, "sum_y": k, "sum_y2": k}

    props = two_arm_stats("cr", arm(n_c, base), arm(n_v, base * (1 + lift)))

    def mean_arm(n, mu, sd):
        mean = rng.normal(mu, sd / np.sqrt(n))
        ss = sd**2 * rng.chisquare(n - 1)
        return {"n": n, "sum_y": n * mean, "sum_y2": ss + n * mean**2}

    sd = rng.uniform(0.5, 5, size)
    means = two_arm_stats("m", mean_arm(n_c, 1.0, sd), mean_arm(n_v, 1.0 + lift, sd))

    def ratio_arm(n, rate):
        x = rng.poisson(3.0, (int(n.max()), size)) + 1.0
        mask = np.arange(x.shape[0])[:, None] < n[None, :]
        y = rng.binomial(x.astype(int), np.clip(rate, 0.01, 0.99)) * mask
        x = x * mask
        return {
            "n": n,
            "sum_y": y.sum(0),
            "sum_y2": (y**2).sum(0),
            "sum_x": x.sum(0),
            "sum_x2": (x**2).sum(0),
            "sum_xy": (x * y).sum(0),
        }

    ratios = two_arm_stats("r", ratio_arm(n_c, base), ratio_arm(n_v, base * (1 + lift)))
    return [
        (props, PROP),
        (means, [MetricSpec("m", "mean", column="y")]),
        (ratios, [MetricSpec("r", "ratio", numerator="y", denominator="x")]),
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"pooled_se": False},
        {"proportion_test": "chi2"},
        {"continuity_correction": True},
        {"continuity_correction": True, "pooled_se": False},
        {"alpha": 0.1},
    ],
)
def test_test_and_both_intervals_always_agree(options):
    """p < α exactly when the absolute CI excludes 0 and exactly when the relative CI
    excludes 0, for every metric type (rows within 1e-7 of the threshold are skipped).

    Where the control estimate is not significantly different from 0 the relative lift is not
    estimable: its interval is unbounded, the row says so, and the absolute interval (which
    still agrees with the test) is the one to read."""
    rng = np.random.default_rng(2024)
    alpha = options.get("alpha", 0.05)
    for frame, metrics in _random_frames(rng, 400):
        res = _analyse(frame, metrics, **options)
        res = res[(res["status"] == "ok") & ((res["p_value"] - alpha).abs() > 1e-7)]
        assert len(res) > 300
        significant = res["p_value"] < alpha
        abs_excludes = (res["abs_ci_low"] > 0) | (res["abs_ci_high"] < 0)
        assert (abs_excludes == significant).all(), metrics[0].name
        bounded = np.isfinite(res["rel_ci_high"])
        assert res.loc[~bounded, "message"].str.contains("unbounded").all()
        rel_excludes = (res["rel_ci_low"] > 0) | (res["rel_ci_high"] < 0)
        assert (rel_excludes == significant)[bounded].all(), metrics[0].name
        assert significant.any() and (~significant).any()


def test_cuped_rows_agree_too():
    rng = np.random.default_rng(5)
    n = 400
    rows = []
    for e in range(200):
        z = rng.normal(0, 1, 2 * n)
        y = (
            10
            + 0.8 * z
            + rng.normal(0, 1, 2 * n)
            + np.r_[np.zeros(n), np.full(n, rng.normal(0, 0.12))]
        )
        rows.append(
            pd.DataFrame(
                {
                    "experiment": f"e{e}",
                    "variant": ["control"] * n + ["treatment"] * n,
                    "y": y,
                    "z": z,
                }
            )
        )
    from strategies.stats.aggregate import aggregate

    metric = [MetricSpec("m", "mean", column="y", covariate="z")]
    frame = aggregate(
        pd.concat(rows), metric, variant_column="variant", experiment_column="experiment"
    )
    res = _analyse(frame, metric)
    assert (res["test"] == "welch_t_cuped").all()
    significant = res["p_value"] < 0.05
    assert ((res["abs_ci_low"] > 0) | (res["abs_ci_high"] < 0)).eq(significant).all()
    assert ((res["rel_ci_low"] > 0) | (res["rel_ci_high"] < 0)).eq(significant).all()


@pytest.mark.parametrize(
    ("p", "n", "lift"), [(0.005, 2000, 0.0), (0.005, 2000, 0.3), (0.10, 1000, 0.1)]
)
def test_coverage_at_low_base_rates(p, n, lift):
    rng = np.random.default_rng(int(p * 1e4) + n)
    frame = two_arm_stats(
        "cr",
        simulate_binomial_arm(rng, n, p, 4000),
        simulate_binomial_arm(rng, n, p * (1 + lift), 4000),
    )
    res = _analyse(frame, PROP)
    truth = p * lift
    abs_cover = ((res["abs_ci_low"] <= truth) & (truth <= res["abs_ci_high"])).mean()
    rel_cover = ((res["rel_ci_low"] <= lift) & (lift <= res["rel_ci_high"])).mean()
    assert 0.94 <= abs_cover <= 0.96
    assert 0.94 <= rel_cover <= 0.96


@pytest.mark.parametrize(
    ("n", "sigma", "lift"), [(100, 1.0, 0.0), (200, 1.0, 0.2), (100, 0.75, 0.1)]
)
def test_coverage_with_small_skewed_samples(n, sigma, lift):
    """Log-normal revenue (skewness ~6 at σ = 1), 100–200 units per arm."""
    rng = np.random.default_rng(n + int(10 * sigma))
    reps = 4000

    def arm(mu: float) -> dict:
        y = rng.lognormal(mu, sigma, (reps, n))
        return {"n": np.full(reps, n), "sum_y": y.sum(1), "sum_y2": (y**2).sum(1)}

    frame = two_arm_stats("rev", arm(0.0), arm(np.log1p(lift)))
    res = _analyse(frame, [MetricSpec("rev", "mean", column="y")])
    truth = np.exp(sigma**2 / 2) * lift
    abs_cover = ((res["abs_ci_low"] <= truth) & (truth <= res["abs_ci_high"])).mean()
    rel_cover = ((res["rel_ci_low"] <= lift) & (lift <= res["rel_ci_high"])).mean()
    assert 0.94 <= abs_cover <= 0.96
    assert 0.94 <= rel_cover <= 0.96


def test_guardrail_fail_is_exactly_a_significant_harm_at_margin_zero():
    rng = np.random.default_rng(9)
    frame = two_arm_stats(
        "cr",
        simulate_binomial_arm(rng, 1500, 0.10, 2000),
        simulate_binomial_arm(rng, 1500, 0.095, 2000),
    )
    guard = [
        MetricSpec("cr", "proportion", column="c", role="guardrail", non_inferiority_margin=0.0)
    ]
    res = _analyse(frame, guard)
    harmed = (res["p_value"] < 0.05) & (res["abs_diff"] < 0)
    assert (res["guardrail_status"] == "fail").eq(harmed).all()


def test_a_result_lost_to_the_correction_says_so():
    # two comparisons in one family: p ≈ 0.03 and p ≈ 0.9 → Holm keeps the first at 0.06
    frames = [
        stats_frame(["e1", "e1"], ["control", "treatment"], "cr", [2000, 2000], k, k)
        for k in (np.array([200.0, 240.0]),)
    ]
    k2 = np.array([200.0, 201.0])
    frames.append(stats_frame(["e2", "e2"], ["control", "treatment"], "cr", [2000, 2000], k2, k2))
    res = _analyse(pd.concat(frames, ignore_index=True), PROP, correction="holm")
    first = res.iloc[0]
    assert first["p_value"] < 0.05 <= first["p_value_adjusted"]
    assert first["abs_ci_low"] > 0  # the unadjusted interval excludes 0 …
    assert first["decision"] == "inconclusive"
    # … and the row explains the apparent contradiction
    assert "not after the holm correction over 2 comparisons" in first["message"]
    assert "not after" not in res.iloc[1]["message"]
