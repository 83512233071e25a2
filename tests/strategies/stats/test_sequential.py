"""Sequential testing: mSPRT, exact group-sequential boundaries, looks from data, calibration.

Reference values: Lan–DeMets O'Brien–Fleming and Pocock boundaries for five equally spaced
looks at two-sided α = 0.05 (Jennison & Turnbull 2000; R gsDesign ``sfLDOF``/``sfLDPocock``),
and Jennison & Turnbull's Table 2.3 for the *classical* O'Brien–Fleming test (constant C_B and
inflation factors R_B), which checks the recursive integration independently of the spending
function. Everything random uses fixed seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import aggregate
from strategies.stats.estimate import arm_estimates, difference
from strategies.stats.metrics import SUFFICIENT_STATISTICS, MetricSpec
from strategies.stats.sequential import (
    alpha_spending,
    cumulative_stats,
    default_tau2,
    group_sequential,
    gst_boundaries,
    gst_crossing_probabilities,
    gst_inflation_factor,
    look_arrays,
    msprt,
    stats_by_period,
)

ALPHA = 0.05
FIVE = np.arange(1, 6) / 5
LD_OBF_FIVE = [4.877, 3.357, 2.680, 2.290, 2.031]
LD_POCOCK_FIVE = [2.438, 2.427, 2.410, 2.397, 2.386]


def _brownian_z(fractions: np.ndarray, n_paths: int, seed: int, drift: float = 0.0) -> np.ndarray:
    """z_k = S(t_k)/√t_k for a Brownian motion S with drift — the canonical joint law of
    sequentially computed z statistics, simulated directly (looks × paths)."""
    rng = np.random.default_rng(seed)
    steps = np.diff(fractions, prepend=0.0)[:, None]
    s = np.cumsum(
        drift * steps + np.sqrt(steps) * rng.standard_normal((len(fractions), n_paths)), 0
    )
    return s / np.sqrt(fractions)[:, None]


def _first_crossing_rates(z: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    hit = np.abs(z) >= bounds[:, None]
    first = np.where(hit.any(0), hit.argmax(0), -1)
    return np.bincount(first[first >= 0], minlength=len(bounds)) / z.shape[1]


# --------------------------------------------------------------------------------------------
# group-sequential boundaries


def test_lan_demets_obrien_fleming_matches_published_values():
    bounds = gst_boundaries(FIVE, ALPHA)
    np.testing.assert_allclose(bounds, LD_OBF_FIVE, atol=1e-3)


def test_lan_demets_pocock_matches_published_values():
    bounds = gst_boundaries(FIVE, ALPHA, spending="pocock")
    np.testing.assert_allclose(bounds, LD_POCOCK_FIVE, atol=1e-3)


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
def test_crossing_probabilities_under_h0_spend_exactly_alpha(spending):
    fractions = np.array([0.1, 0.25, 0.3, 0.55, 0.8, 1.0])  # unequal spacing
    bounds = gst_boundaries(fractions, ALPHA, spending=spending)
    upper, lower = gst_crossing_probabilities(bounds, fractions)
    np.testing.assert_allclose(upper, lower, rtol=1e-9)  # symmetric
    spent = alpha_spending(fractions, ALPHA, spending=spending)
    np.testing.assert_allclose(np.cumsum(upper + lower), spent, atol=1e-9)
    assert abs((upper + lower).sum() - ALPHA) < 1e-6


def test_integration_grid_has_converged():
    coarse = gst_boundaries(FIVE, ALPHA)
    fine = gst_boundaries(FIVE, ALPHA, grid_density=64)
    np.testing.assert_allclose(coarse, fine, atol=1e-6)


def test_classical_obrien_fleming_reproduces_jennison_turnbull_table_2_3():
    # Classical OBF: b_k = C·sqrt(K/k); J&T Table 2.3 (α = 0.05 two-sided) gives C_B(5) = 2.040
    # and R_B = 1.028 (power 0.8) / 1.026 (power 0.9). Reproducing them with our crossing
    # probabilities validates the integration independently of the spending function.
    def crossing(c: float, drift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        return gst_crossing_probabilities(c / np.sqrt(FIVE), FIVE, drift=drift)

    c = optimize.brentq(lambda c: sum(map(np.sum, crossing(c))) - ALPHA, 1.5, 4.0, xtol=1e-10)
    assert c == pytest.approx(2.040, abs=5e-4)
    for power, published in [(0.8, 1.028), (0.9, 1.026)]:
        fixed = stats.norm.isf(ALPHA / 2) + stats.norm.isf(1 - power)
        eta = optimize.brentq(lambda e, p=power: crossing(c, e)[0].sum() - p, 1.0, 6.0)
        assert (eta / fixed) ** 2 == pytest.approx(published, abs=5e-4)


def test_boundaries_match_monte_carlo_of_correlated_z():
    fractions = np.array([0.2, 0.35, 0.6, 0.8, 1.0])
    bounds = gst_boundaries(fractions, ALPHA)
    n_paths = 400_000
    rates = _first_crossing_rates(_brownian_z(fractions, n_paths, seed=11), bounds)
    expected = np.diff(alpha_spending(fractions, ALPHA), prepend=0.0)
    se = np.sqrt(expected * (1 - expected) / n_paths)
    assert (np.abs(rates - expected) <= 4 * se + 1e-6).all(), (rates, expected)
    assert abs(rates.sum() - ALPHA) < 4 * np.sqrt(ALPHA * (1 - ALPHA) / n_paths)


def test_last_look_before_planned_end():
    early = np.array([0.25, 0.5, 0.75])
    conservative = gst_boundaries(early, ALPHA)
    upper, lower = gst_crossing_probabilities(conservative, early)
    assert (upper + lower).sum() == pytest.approx(alpha_spending(0.75, ALPHA), abs=1e-9)
    assert (upper + lower).sum() < ALPHA
    final = gst_boundaries(early, ALPHA, final=True)
    np.testing.assert_allclose(final[:2], conservative[:2])
    assert final[2] < conservative[2]
    upper, lower = gst_crossing_probabilities(final, early)
    assert (upper + lower).sum() == pytest.approx(ALPHA, abs=1e-9)


def test_information_beyond_the_plan_spends_the_rest_once():
    fractions = np.array([0.5, 1.1, 1.3])
    bounds = gst_boundaries(fractions, ALPHA)
    assert np.isfinite(bounds[:2]).all() and bounds[2] == np.inf
    upper, lower = gst_crossing_probabilities(bounds, fractions)
    assert (upper + lower).sum() == pytest.approx(ALPHA, abs=1e-9)


def test_tiny_first_fraction_gives_infinite_or_huge_boundary():
    bounds = gst_boundaries([1e-4, 0.5, 1.0], ALPHA)
    assert bounds[0] > 30
    upper, lower = gst_crossing_probabilities(bounds, [1e-4, 0.5, 1.0])
    assert (upper + lower).sum() == pytest.approx(ALPHA, abs=1e-8)


def test_group_sequential_decisions():
    z = np.array([[5.0, 1.0, np.nan, -3.4, 0.0], [0.0, 3.0, 2.5, 0.0, 0.0], [0, 2.1, 0, 0, -2.0]])
    fractions = [0.2, 0.4, 1.0]
    res = group_sequential(z, fractions, ALPHA)
    b = gst_boundaries(fractions, ALPHA)
    np.testing.assert_allclose(res.boundary, b)
    expected_first = [
        next((k for k in range(3) if abs(z[k, j]) >= b[k]), -1) for j in range(z.shape[1])
    ]
    assert res.first_crossing_look.tolist() == expected_first
    assert res.crossed.tolist() == [f >= 0 for f in expected_first]
    assert res.alpha_spent[-1] == pytest.approx(ALPHA)
    # One comparison as a 1-D array.
    single = group_sequential(z[:, 1], fractions, ALPHA)
    assert single.crossed == res.crossed[1] and single.first_crossing_look.ndim == 0


def test_group_sequential_with_fractions_per_comparison():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(3, 4)) * 2
    shared = np.array([0.3, 0.6, 1.0])
    other = np.array([0.5, 0.7, 0.9])
    per_comparison = np.column_stack([shared, other, shared, other])
    res = group_sequential(z, per_comparison, ALPHA)
    np.testing.assert_allclose(res.boundary[:, 0], gst_boundaries(shared, ALPHA))
    np.testing.assert_allclose(res.boundary[:, 1], gst_boundaries(other, ALPHA))
    np.testing.assert_allclose(res.boundary[:, 2], res.boundary[:, 0])
    ref = group_sequential(z[:, [0, 2]], shared, ALPHA)
    assert res.crossed[[0, 2]].tolist() == ref.crossed.tolist()


# --------------------------------------------------------------------------------------------
# inflation factor


def test_inflation_factor_lan_demets_obrien_fleming():
    # LD-OBF spends a little alpha early, so its final boundary (2.031) is lower than the
    # classical OBF's (2.040) and it inflates slightly less than J&T's R_B = 1.028 / 1.026.
    f80 = gst_inflation_factor(5, ALPHA, 0.8)
    f90 = gst_inflation_factor(5, ALPHA, 0.9)
    assert f80 == pytest.approx(1.0247, abs=2e-4)
    assert f90 == pytest.approx(1.0231, abs=2e-4)
    assert gst_inflation_factor(1, ALPHA, 0.8) == pytest.approx(1.0, abs=1e-9)
    assert 1.0 < gst_inflation_factor(2, ALPHA, 0.8) < f80
    # Pocock spends early and pays for it in maximum sample size (J&T Table 2.2: ~1.2).
    assert 1.15 < gst_inflation_factor(5, ALPHA, 0.8, spending="pocock") < 1.25


def test_inflation_factor_achieves_power_by_monte_carlo():
    power = 0.8
    factor = gst_inflation_factor(5, ALPHA, power)
    drift = (stats.norm.isf(ALPHA / 2) + stats.norm.isf(1 - power)) * np.sqrt(factor)
    bounds = gst_boundaries(FIVE, ALPHA)
    n_paths = 200_000
    z = _brownian_z(FIVE, n_paths, seed=12, drift=drift)
    # power counts paths whose first crossing is the upper one
    hit = np.abs(z) >= bounds[:, None]
    first = np.where(hit.any(0), hit.argmax(0), -1)
    upper = (first >= 0) & (z[np.maximum(first, 0), np.arange(n_paths)] > 0)
    assert abs(upper.mean() - power) < 4 * np.sqrt(power * (1 - power) / n_paths)


# --------------------------------------------------------------------------------------------
# mSPRT


def test_msprt_matches_the_formulas_look_by_look():
    theta = np.array([[0.1, -0.5], [0.4, 0.2], [0.35, 0.0]])
    var = np.array([[0.04, 0.09], [0.02, 0.05], [0.01, 0.03]])
    tau2 = np.array([0.1, 0.2])
    res = msprt(theta, var, alpha=ALPHA, tau2=tau2)
    p_prev = np.ones(2)
    low_prev, high_prev = np.full(2, -np.inf), np.full(2, np.inf)
    for k in range(3):
        v, th = var[k], theta[k]
        lam = np.sqrt(v / (v + tau2)) * np.exp(tau2 * th**2 / (2 * v * (v + tau2)))
        p_prev = np.minimum(p_prev, 1 / lam)
        half = np.sqrt(v * (v + tau2) / tau2 * (np.log((v + tau2) / v) - 2 * np.log(ALPHA)))
        low_prev, high_prev = np.maximum(low_prev, th - half), np.minimum(high_prev, th + half)
        np.testing.assert_allclose(res.p_value[k], p_prev, rtol=1e-12)
        np.testing.assert_allclose(res.cs_low[k], low_prev, rtol=1e-12)
        np.testing.assert_allclose(res.cs_high[k], high_prev, rtol=1e-12)


def test_msprt_p_value_and_confidence_sequence_agree():
    rng = np.random.default_rng(2)
    var = np.linspace(1.0, 0.05, 10)[:, None] * np.ones((1, 500))
    theta = rng.normal(0.3, np.sqrt(var))
    res = msprt(theta, var, alpha=ALPHA, tau2=0.25)
    assert (np.diff(res.p_value, axis=0) <= 0).all()
    assert (np.diff(res.cs_low, axis=0) >= 0).all() and (np.diff(res.cs_high, axis=0) <= 0).all()
    excludes_zero = (res.cs_low > 0) | (res.cs_high < 0)
    np.testing.assert_array_equal(excludes_zero, res.p_value <= ALPHA)
    rejected = res.p_value <= ALPHA
    assert res.crossed.tolist() == rejected.any(0).tolist()
    first = np.where(rejected.any(0), rejected.argmax(0), -1)
    np.testing.assert_array_equal(res.first_crossing_look, first)


def test_msprt_undefined_looks_change_nothing():
    theta = np.array([[np.nan, 0.2], [0.5, np.nan], [0.1, 0.3]])
    var = np.array([[0.1, 0.0], [0.01, 0.02], [np.nan, 0.01]])
    res = msprt(theta, var, alpha=ALPHA, tau2=0.1)
    assert res.p_value[0, 0] == 1.0 and res.p_value[0, 1] == 1.0  # NaN and zero variance
    assert res.cs_low[0, 0] == -np.inf and res.cs_high[0, 1] == np.inf
    assert res.p_value[2, 0] == res.p_value[1, 0] and res.cs_low[2, 0] == res.cs_low[1, 0]
    single = msprt(theta[:, 1], var[:, 1], alpha=ALPHA, tau2=0.1)
    np.testing.assert_allclose(single.p_value, res.p_value[:, 1])
    assert single.crossed.ndim == 0


def test_default_tau2_rules():
    v, mde = 1e-4, 0.03
    assert default_tau2(v, mde) == pytest.approx(mde**2)
    assert default_tau2(v, mde, rule="evidence") == pytest.approx(mde**2 - v)
    width = default_tau2(v, None, rule="width")
    r = width / v
    assert r == pytest.approx(np.log1p(r) - 2 * np.log(ALPHA))
    assert 8.0 < r < 8.4

    # "width" minimises the confidence-sequence half-width at the planned sample size.
    def half(t2: float) -> float:
        return np.sqrt(v * (v + t2) / t2 * (np.log((v + t2) / v) - 2 * np.log(ALPHA)))

    assert half(width) < min(half(width * 0.9), half(width * 1.1))
    np.testing.assert_allclose(default_tau2(np.array([1.0, 4.0]), 2.0), [4.0, 4.0])


# --------------------------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gst_boundaries([0.5, 0.4, 1.0], ALPHA), "strictly increasing"),
        (lambda: gst_boundaries([0.0, 1.0], ALPHA), "> 0"),
        (lambda: gst_boundaries([], ALPHA), "non-empty"),
        (lambda: gst_boundaries(FIVE, 1.5), "alpha"),
        (lambda: gst_boundaries(FIVE, ALPHA, spending="haybittle"), "spending"),
        (lambda: group_sequential(np.zeros((3, 2)), FIVE, ALPHA), "one value per look"),
        (lambda: gst_inflation_factor(0, ALPHA, 0.8), "looks"),
        (lambda: gst_inflation_factor(5, ALPHA, 1.0), "power"),
        (lambda: msprt(np.zeros((3, 2)), np.ones((3, 2)), alpha=ALPHA, tau2=0.0), "tau2"),
        (lambda: msprt(np.zeros((3, 2)), np.ones((3, 2)), alpha=ALPHA, tau2=np.ones(3)), "tau2"),
        (lambda: msprt(np.zeros((3, 2)), np.ones((2, 2)), alpha=ALPHA, tau2=1.0), "same shape"),
        (lambda: msprt(np.zeros((3, 2)), np.ones((3, 2)), alpha=True, tau2=1.0), "alpha"),
        (lambda: default_tau2(-1.0, 0.1), "variance_at_planned_n"),
        (lambda: default_tau2(1.0, None), "mde"),
        (lambda: default_tau2(1.0, 0.1, rule="magic"), "rule"),
    ],
)
def test_bad_arguments_raise_config_error(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


# --------------------------------------------------------------------------------------------
# looks from data

METRICS = [
    MetricSpec("conv", "proportion", column="converted"),
    MetricSpec("rev", "mean", column="revenue"),
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions"),
]
STAT_COLS = ["n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy"]
KEYS = ["experiment", "segment", "variant", "metric"]


@pytest.fixture
def units() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 6000
    df = pd.DataFrame(
        {
            "exp": rng.choice(["checkout", "banner"], n),
            "variant": rng.choice(["control", "b"], n),
            "device": rng.choice(["mobile", "desktop", None], n),
            "day": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 6, n), unit="D"),
            "converted": rng.integers(0, 2, n),
            "revenue": rng.exponential(20.0, n),
            "clicks": rng.poisson(3.0, n),
            "sessions": 1 + rng.poisson(2.0, n),
        }
    )
    # banner starts two days later; day 3 of checkout has only control units.
    df = df[~((df["exp"] == "banner") & (df["day"] < pd.Timestamp("2024-03-03")))]
    return df[~((df["exp"] == "checkout") & (df["day"] == "2024-03-04") & (df["variant"] == "b"))]


def test_stats_by_period_matches_aggregate_per_day(units):
    got = stats_by_period(
        units,
        METRICS,
        period_column="day",
        variant_column="variant",
        experiment_column="exp",
        segment_columns=["device"],
    )
    assert list(got.columns) == [*KEYS, "day", *SUFFICIENT_STATISTICS]
    order = got[["experiment", "day"]]
    pd.testing.assert_frame_equal(order, order.sort_values(["experiment", "day"], kind="stable"))
    for (exp, day), part in got.groupby(["experiment", "day"]):
        rows = units[(units["exp"] == exp) & (units["day"] == day)]
        if rows["variant"].nunique() == 1:
            # aggregate() refuses a one-variant experiment; a one-variant *day* is fine here.
            assert set(part["variant"]) == {"control"}
            continue
        ref = aggregate(
            rows,
            METRICS,
            variant_column="variant",
            experiment_column="exp",
            segment_columns=["device"],
        )
        merged = ref.merge(part, on=KEYS, suffixes=("", "_got"), how="outer", indicator=True)
        assert (merged["_merge"] == "both").all()
        for c in STAT_COLS:
            np.testing.assert_allclose(merged[c], merged[c + "_got"], rtol=1e-12)
    assert set(got.loc[got["experiment"] == "checkout", "variant"]) == {"control", "b"}


def test_stats_by_period_duckdb_engine_agrees(units):
    kwargs = dict(
        period_column="day",
        variant_column="variant",
        experiment_column="exp",
        segment_columns=["device"],
    )
    by_pandas = stats_by_period(units, METRICS, engine="pandas", **kwargs)
    by_duckdb = stats_by_period(units, METRICS, engine="duckdb", **kwargs)
    pd.testing.assert_frame_equal(by_pandas, by_duckdb, rtol=1e-9)


def test_cumulative_stats_equals_aggregate_of_all_units_so_far(units):
    per_day = stats_by_period(
        units,
        METRICS,
        period_column="day",
        variant_column="variant",
        experiment_column="exp",
        segment_columns=["device"],
    )
    cum = cumulative_stats(per_day, "day")
    days = sorted(units["day"].unique())
    for exp in ["checkout", "banner"]:
        exp_days = sorted(units.loc[units["exp"] == exp, "day"].unique())
        assert sorted(cum.loc[cum["experiment"] == exp, "day"].unique()) == exp_days
        n_keys = len(per_day.loc[per_day["experiment"] == exp, KEYS].drop_duplicates())
        assert (cum.loc[cum["experiment"] == exp].groupby("day").size() == n_keys).all()
    for day in days[2:]:
        ref = aggregate(
            units[units["day"] <= day],
            METRICS,
            variant_column="variant",
            experiment_column="exp",
            segment_columns=["device"],
        )
        look = cum[cum["day"] == day]
        merged = ref.merge(look, on=KEYS, suffixes=("", "_cum"), how="outer", indicator=True)
        assert (merged["_merge"] == "both").all()
        for c in STAT_COLS:
            np.testing.assert_allclose(merged[c], merged[c + "_cum"], rtol=1e-12, atol=1e-9)
    assert cum["n"].dtype == np.int64


def test_cumulative_stats_fills_gaps_and_late_starts():
    rows = [
        # experiment, segment, variant, metric, period, n, sums...
        ("e", "all", "control", "m", 1, 10, 5.0),
        ("e", "all", "control", "m", 3, 4, 1.0),
        ("e", "all", "b", "m", 2, 7, 2.0),
        ("e", "all", "b", "m", 2, 1, 1.0),  # repeated key × period: summed
        ("f", "all", "control", "m", 5, 3, 3.0),
        ("f", "all", "b", "m", 5, 2, 0.0),
    ]
    frame = pd.DataFrame(rows, columns=[*KEYS, "period", "n", "sum_y"])
    for c in ["sum_y2", "sum_x", "sum_x2", "sum_xy"]:
        frame[c] = frame["sum_y"]
    cum = cumulative_stats(frame, "period")
    e = cum[cum["experiment"] == "e"]
    assert e["period"].tolist() == [1, 1, 2, 2, 3, 3]
    assert e["variant"].tolist() == ["control", "b"] * 3
    assert e["n"].tolist() == [10, 0, 10, 8, 14, 8]
    assert e["sum_y"].tolist() == [5.0, 0.0, 5.0, 3.0, 6.0, 3.0]
    f = cum[cum["experiment"] == "f"]
    assert f["period"].tolist() == [5, 5] and f["n"].tolist() == [3, 2]  # not e's periods


def test_look_inputs_errors(units):
    with pytest.raises(InputDataError, match="day"):
        stats_by_period(
            units.drop(columns="day"),
            METRICS,
            period_column="day",
            variant_column="variant",
            experiment_column="exp",
        )
    with pytest.raises(InputDataError, match="missing value"):
        stats_by_period(
            units.assign(day=units["day"].where(units.index % 7 > 0)),
            METRICS,
            period_column="day",
            variant_column="variant",
            experiment_column="exp",
        )
    with pytest.raises(ConfigError, match="clashes"):
        stats_by_period(units, METRICS, period_column="n", variant_column="variant")
    with pytest.raises(InputDataError, match="sum_xy"):
        cumulative_stats(pd.DataFrame(columns=[*KEYS, "day", *STAT_COLS[:-1]]), "day")
    with pytest.raises(InputDataError, match="duplicated"):
        look_arrays(
            pd.DataFrame({"k": [1, 1], "day": [1, 1], "v": [0.0, 1.0]}),
            period_column="day",
            value_columns=["v"],
            key_columns=["k"],
        )


def test_look_arrays_pivots_long_frame():
    frame = pd.DataFrame(
        {"k": ["a", "b", "a", "b", "a"], "day": [2, 2, 1, 1, 3], "v": [1.0, 2.0, 3.0, 4.0, 5.0]}
    )
    looks = look_arrays(frame, period_column="day", value_columns=["v"], key_columns=["k"])
    assert looks.periods.tolist() == [1, 2, 3]
    assert looks.keys["k"].tolist() == ["a", "b"]
    np.testing.assert_array_equal(looks.values["v"], [[3.0, 4.0], [1.0, 2.0], [5.0, np.nan]])


# --------------------------------------------------------------------------------------------
# calibration: daily peeking at A/A and A/B experiments, from sufficient statistics

LOOKS, N_DAY, P_BASE, N_SIM = 14, 400, 0.10, 5000
V_PLANNED = 2 * P_BASE * (1 - P_BASE) / (N_DAY * LOOKS)
MDE = (stats.norm.isf(ALPHA / 2) + stats.norm.isf(0.2)) * np.sqrt(V_PLANNED)  # 80 % power


def _simulate_looks(effect: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative difference and its variance at 14 daily looks for N_SIM conversion
    experiments: per-day conversions are binomial, i.e. exactly the sufficient statistics."""
    rng = np.random.default_rng(seed)
    n = N_DAY * np.arange(1, LOOKS + 1)[:, None] * np.ones((1, N_SIM))
    conv_c = np.cumsum(rng.binomial(N_DAY, P_BASE, (LOOKS, N_SIM)), 0).astype(float)
    conv_v = np.cumsum(rng.binomial(N_DAY, P_BASE + effect, (LOOKS, N_SIM)), 0).astype(float)
    control = arm_estimates(n, conv_c, conv_c, n, n, conv_c, ddof=0)
    variant = arm_estimates(n, conv_v, conv_v, n, n, conv_v, ddof=0)
    diff = difference(control, variant)
    return diff.abs_diff, diff.abs_se2


@pytest.fixture(scope="module")
def aa_looks() -> tuple[np.ndarray, np.ndarray]:
    return _simulate_looks(0.0, seed=2024)


@pytest.fixture(scope="module")
def ab_looks() -> tuple[np.ndarray, np.ndarray]:
    return _simulate_looks(MDE, seed=2025)


FRACTIONS = np.arange(1, LOOKS + 1) / LOOKS


def test_naive_peeking_inflates_false_positives(aa_looks):
    theta, var = aa_looks
    z = theta / np.sqrt(var)
    naive = (np.abs(z) >= stats.norm.isf(ALPHA / 2)).any(axis=0).mean()
    fixed_horizon = (np.abs(z[-1]) >= stats.norm.isf(ALPHA / 2)).mean()
    assert naive > 0.15  # ~0.22 for 14 looks
    assert abs(fixed_horizon - ALPHA) < 0.01  # looking once is fine


def test_sequential_tests_control_false_positives_under_peeking(aa_looks):
    theta, var = aa_looks
    m = msprt(theta, var, alpha=ALPHA, tau2=default_tau2(V_PLANNED, MDE))
    g = group_sequential(theta / np.sqrt(var), FRACTIONS, ALPHA)
    assert m.crossed.mean() <= ALPHA + 0.01
    assert g.crossed.mean() <= ALPHA + 0.01
    assert g.crossed.mean() > ALPHA - 0.01  # spends (about) all of α, unlike the mSPRT
    covered = ((m.cs_low <= 0) & (m.cs_high >= 0)).all(axis=0).mean()
    assert covered >= 1 - ALPHA - 0.01


def test_sequential_tests_detect_a_real_effect(ab_looks):
    theta, var = ab_looks
    m = msprt(theta, var, alpha=ALPHA, tau2=default_tau2(V_PLANNED, MDE))
    g = group_sequential(theta / np.sqrt(var), FRACTIONS, ALPHA)
    fixed = (np.abs(theta[-1] / np.sqrt(var[-1])) >= stats.norm.isf(ALPHA / 2)).mean()
    assert 0.75 < fixed < 0.85  # the design's 80 % power
    assert g.crossed.mean() > fixed - 0.04  # OBF costs almost nothing
    assert m.crossed.mean() > 0.35  # always-valid costs power at the planned n
    assert (g.first_crossing_look[g.crossed] < LOOKS - 1).mean() > 0.3  # some stop early
    covered = ((m.cs_low <= MDE) & (m.cs_high >= MDE)).all(axis=0).mean()
    assert covered >= 1 - ALPHA - 0.01


def test_calibration_through_the_frame_path():
    """Same A/A check, but through per-period frames → cumulative_stats → look_arrays."""
    n_exp = 4000
    rng = np.random.default_rng(77)
    conv = rng.binomial(N_DAY, P_BASE, (LOOKS, n_exp, 2)).astype(float)
    frame = pd.DataFrame(
        {
            "experiment": np.tile(np.repeat(np.arange(n_exp).astype(str), 2), LOOKS),
            "segment": "all",
            "variant": np.tile(["control", "b"], LOOKS * n_exp),
            "metric": "conv",
            "day": np.repeat(np.arange(LOOKS), 2 * n_exp),
            "n": N_DAY,
            "sum_y": conv.reshape(-1),
        }
    )
    frame = frame.assign(
        sum_y2=frame["sum_y"], sum_x=N_DAY * 1.0, sum_x2=N_DAY * 1.0, sum_xy=frame["sum_y"]
    )
    cum = cumulative_stats(frame, "day")
    looks = look_arrays(
        cum,
        period_column="day",
        value_columns=["n", "sum_y"],
        key_columns=["experiment", "variant"],
    )
    assert looks.values["n"].shape == (LOOKS, 2 * n_exp)
    n, s = looks.values["n"], looks.values["sum_y"]
    is_control = (looks.keys["variant"] == "control").to_numpy()
    arms = [
        arm_estimates(n[:, m], s[:, m], s[:, m], n[:, m], n[:, m], s[:, m], ddof=0)
        for m in (is_control, ~is_control)
    ]
    diff = difference(*arms)
    np.testing.assert_allclose(n[-1], N_DAY * LOOKS)
    m = msprt(diff.abs_diff, diff.abs_se2, alpha=ALPHA, tau2=default_tau2(V_PLANNED, MDE))
    g = group_sequential(diff.abs_diff / np.sqrt(diff.abs_se2), FRACTIONS, ALPHA)
    assert m.crossed.mean() <= ALPHA + 0.01
    assert g.crossed.mean() <= ALPHA + 0.01
