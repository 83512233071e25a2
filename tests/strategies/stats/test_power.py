"""Experiment planning (sample size, MDE, power) cross-checked against statsmodels.

statsmodels' ``NormalIndPower`` solves numerically, so sample sizes are compared after ``ceil``
(to one unit) and powers to 1e-6; our own round trips (MDE → power, n → power) are exact.
"""

from __future__ import annotations

import itertools
import math

import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from strategies.errors import ConfigError
from strategies.stats.power import (
    PlanResult,
    mde_mean,
    mde_proportion,
    plan,
    power_mean,
    power_proportion,
    sample_size_mean,
    sample_size_proportion,
)

Z = NormalIndPower()


def _alternative(two_sided: bool) -> str:
    return "two-sided" if two_sided else "larger"


# --------------------------------------------------------------------------- proportions

PROPORTION_GRID = list(
    itertools.product(
        [0.01, 0.05, 0.1, 0.3, 0.5],  # baseline
        [0.05, 0.2, -0.1],  # relative mde (a decrease too)
        [(0.05, 0.8, 1.0, True), (0.01, 0.9, 2.0, True), (0.1, 0.8, 0.5, False)],
    )
)


@pytest.mark.parametrize(("baseline", "mde", "design"), PROPORTION_GRID)
def test_sample_size_proportion_matches_statsmodels(baseline, mde, design):
    alpha, power, ratio, two_sided = design
    plan = sample_size_proportion(
        baseline, mde, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided
    )
    p2 = baseline * (1 + mde)
    h = abs(proportion_effectsize(p2, baseline))
    ref = Z.solve_power(
        effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative=_alternative(two_sided)
    )
    assert abs(plan.n_control - math.ceil(ref)) <= 1
    assert abs(plan.n_variant - math.ceil(ref * ratio)) <= 1
    assert plan.n_total == plan.n_control + plan.n_variant
    assert plan.mde_abs == pytest.approx(p2 - baseline, rel=1e-12)
    assert plan.mde_rel == pytest.approx(mde, rel=1e-12)
    assert (plan.alpha, plan.power, plan.two_sided) == (alpha, power, two_sided)
    assert plan.inflation == 1.0 and plan.sequential_looks is None

    # Powers agree to far better than 1e-6, and the rounded-up n is the smallest that works.
    got = power_proportion(baseline, mde, plan.n_control, alpha=alpha, ratio=ratio,
                           two_sided=two_sided)  # fmt: skip
    want = Z.power(h, plan.n_control, alpha, ratio=ratio, alternative=_alternative(two_sided))
    assert got == pytest.approx(want, abs=1e-9)
    assert got >= power
    below = power_proportion(baseline, mde, plan.n_control - 1, alpha=alpha, ratio=ratio,
                             two_sided=two_sided)  # fmt: skip
    assert below < power


def test_absolute_and_relative_mde_are_the_same_plan():
    rel = sample_size_proportion(0.08, 0.125)
    ab = sample_size_proportion(0.08, 0.01, relative=False)
    assert (rel.n_control, rel.n_variant) == (ab.n_control, ab.n_variant)
    assert ab.mde_rel == pytest.approx(0.125)


@pytest.mark.parametrize(
    ("baseline", "n", "ratio", "alpha", "power", "two_sided"),
    [
        (0.05, 10_000, 1.0, 0.05, 0.8, True),
        (0.2, 2_500, 3.0, 0.01, 0.9, True),
        (0.5, 400, 0.5, 0.1, 0.8, False),
        (0.001, 1_000_000, 1.0, 0.05, 0.95, True),
    ],
)
def test_mde_proportion_matches_statsmodels_and_round_trips(
    baseline, n, ratio, alpha, power, two_sided
):
    plan = mde_proportion(baseline, n, ratio=ratio, alpha=alpha, power=power, two_sided=two_sided)
    p2 = baseline + plan.mde_abs
    assert plan.mde_abs > 0
    assert plan.mde_rel == pytest.approx(plan.mde_abs / baseline, rel=1e-12)
    assert (plan.n_control, plan.n_variant) == (n, math.ceil(n * ratio))
    h_ref = Z.solve_power(
        effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=ratio,
        alternative=_alternative(two_sided),
    )  # fmt: skip
    # statsmodels' effect-size solver stops early (its power is off by ~5e-5), so the tight
    # check is its power at our MDE; the solved h agrees loosely.
    h = proportion_effectsize(p2, baseline)
    assert h == pytest.approx(h_ref, rel=1e-4)
    sm_power = Z.power(h, n, alpha, ratio=ratio, alternative=_alternative(two_sided))
    assert sm_power == pytest.approx(power, abs=1e-9)
    # Exact round trip, both parametrisations of the same effect.
    kw = {"alpha": alpha, "ratio": ratio, "two_sided": two_sided}
    assert power_proportion(baseline, plan.mde_rel, n, **kw) == pytest.approx(power, abs=1e-9)
    assert power_proportion(baseline, plan.mde_abs, n, relative=False, **kw) == pytest.approx(
        power, abs=1e-9
    )
    # And back to the sample size: the MDE needs exactly n (give or take the ceil).
    back = sample_size_proportion(baseline, plan.mde_rel, alpha=alpha, power=power,
                                  ratio=ratio, two_sided=two_sided)  # fmt: skip
    assert back.n_control in (n, n + 1)


def test_textbook_proportion_10pct_plus_20pct():
    """Baseline 10 %, +20 % relative (→ 12 %), α = 0.05 two-sided, 80 % power.

    The classic pooled-under-H0 / unpooled-under-H1 z formula gives 3,841 per arm; the arcsine
    convention this module uses gives 3,835 (statsmodels agrees). Both are "about 3,840".
    """
    p1, p2 = 0.10, 0.12
    za, zb = stats.norm.isf(0.025), stats.norm.ppf(0.8)
    pbar = (p1 + p2) / 2
    pooled_unpooled = (
        za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2 / (p2 - p1) ** 2
    assert math.ceil(pooled_unpooled) == 3841

    plan = sample_size_proportion(0.10, 0.20)
    assert plan.n_control == plan.n_variant == 3835
    assert plan.n_total == 7670
    assert abs(plan.n_control - pooled_unpooled) / pooled_unpooled < 0.005
    assert "arcsine" in plan.notes and "fixed horizon" in plan.notes


def test_power_proportion_matches_statsmodels_and_is_symmetric_two_sided():
    h = proportion_effectsize(0.055, 0.05)
    for n, ratio, alpha in [(5_000, 1.0, 0.05), (20_000, 2.0, 0.01), (31_218, 0.7, 0.1)]:
        got = power_proportion(0.05, 0.1, n, ratio=ratio, alpha=alpha)
        assert got == pytest.approx(Z.power(h, n, alpha, ratio=ratio), abs=1e-9)
    # One-sided power is for the planned direction, so a decrease is not "powerless".
    down = power_proportion(0.05, -0.1, 20_000, two_sided=False)
    h_down = abs(proportion_effectsize(0.045, 0.05))
    assert down == pytest.approx(Z.power(h_down, 20_000, 0.05, alternative="larger"), abs=1e-9)


# --------------------------------------------------------------------------- means


@pytest.mark.parametrize(
    ("std", "mde", "alpha", "power", "ratio", "two_sided"),
    [
        (10.0, 1.0, 0.05, 0.8, 1.0, True),
        (3.2, 0.05, 0.01, 0.9, 1.5, True),
        (120.0, -15.0, 0.05, 0.8, 0.25, False),
        (1.0, 0.3, 0.05, 0.95, 1.0, True),
    ],
)
def test_sample_size_mean_matches_statsmodels(std, mde, alpha, power, ratio, two_sided):
    plan = sample_size_mean(std, mde, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided)
    d = abs(mde) / std
    ref = Z.solve_power(
        effect_size=d, alpha=alpha, power=power, ratio=ratio, alternative=_alternative(two_sided)
    )
    assert abs(plan.n_control - math.ceil(ref)) <= 1
    assert abs(plan.n_variant - math.ceil(ref * ratio)) <= 1
    assert plan.mde_abs == mde and plan.mde_rel is None
    kw = {"alpha": alpha, "ratio": ratio, "two_sided": two_sided}
    got = power_mean(std, mde, plan.n_control, **kw)
    want = Z.power(d, plan.n_control, alpha, ratio=ratio, alternative=_alternative(two_sided))
    assert got == pytest.approx(want, abs=1e-9)
    assert got >= power > power_mean(std, mde, plan.n_control - 1, **kw)


@pytest.mark.parametrize("d", [0.05, 0.1, 0.2, 0.3, 0.39])
def test_t_test_needs_less_than_one_more_unit_when_n_above_100(d):
    """The normal approximation vs the t-test: at α = 0.05 two-sided the gap is < 1 unit."""
    plan = sample_size_mean(1.0, d)
    z_n = Z.solve_power(effect_size=d, alpha=0.05, power=0.8)
    t_n = TTestIndPower().solve_power(effect_size=d, alpha=0.05, power=0.8)
    assert z_n > 100
    assert 0 < t_n - z_n < 1
    assert 0 <= math.ceil(t_n) - plan.n_control <= 1


def test_textbook_mean_half_sd():
    """σ = 1, δ = 0.5, α = 0.05 two-sided, 80 %: 2·(1.96 + 0.84)²/0.25 = 62.8 → 63 per arm."""
    plan = sample_size_mean(1.0, 0.5)
    assert (plan.n_control, plan.n_total) == (63, 126)


def test_relative_mean_mde_needs_and_uses_baseline():
    rel = sample_size_mean(20.0, 0.05, baseline_mean=40.0, relative=True)
    ab = sample_size_mean(20.0, 2.0, baseline_mean=40.0)
    assert rel.n_control == ab.n_control
    assert rel.mde_abs == pytest.approx(2.0) and rel.mde_rel == pytest.approx(0.05)
    assert ab.mde_rel == pytest.approx(0.05)
    with pytest.raises(ConfigError, match="baseline_mean"):
        sample_size_mean(20.0, 0.05, relative=True)
    with pytest.raises(ConfigError, match="baseline_mean"):
        mde_mean(20.0, 1000, relative=True)


@pytest.mark.parametrize(
    ("n", "ratio", "alpha", "power", "two_sided"),
    [(1000, 1.0, 0.05, 0.8, True), (250, 2.0, 0.01, 0.9, True), (40_000, 0.5, 0.1, 0.8, False)],
)
def test_mde_mean_matches_statsmodels_and_round_trips(n, ratio, alpha, power, two_sided):
    plan = mde_mean(
        7.5, n, baseline_mean=30.0, ratio=ratio, alpha=alpha, power=power, two_sided=two_sided
    )
    d_ref = Z.solve_power(
        effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=ratio,
        alternative=_alternative(two_sided),
    )  # fmt: skip
    assert plan.mde_abs / 7.5 == pytest.approx(d_ref, rel=1e-4)
    sm_power = Z.power(
        plan.mde_abs / 7.5, n, alpha, ratio=ratio, alternative=_alternative(two_sided)
    )
    assert sm_power == pytest.approx(power, abs=1e-9)
    assert plan.mde_rel == pytest.approx(plan.mde_abs / 30.0)
    kw = {"alpha": alpha, "ratio": ratio, "two_sided": two_sided}
    assert power_mean(7.5, plan.mde_abs, n, **kw) == pytest.approx(power, abs=1e-9)
    assert sample_size_mean(7.5, plan.mde_abs, power=power, **kw).n_control in (n, n + 1)


# --------------------------------------------------------------------------- sequential


def _inflation(looks: int, alpha: float, power: float) -> float:
    from strategies.stats.sequential import gst_inflation_factor

    return gst_inflation_factor(looks, alpha, power)


@pytest.mark.parametrize("looks", [2, 3, 5, 10])
def test_sequential_sample_size_is_fixed_horizon_times_inflation(looks):
    fixed = sample_size_proportion(0.05, 0.1)
    seq = sample_size_proportion(0.05, 0.1, sequential_looks=looks)
    factor = _inflation(looks, 0.05, 0.8)
    assert factor > 1.0
    assert seq.inflation == pytest.approx(factor)
    assert seq.sequential_looks == looks
    # Inflation multiplies the exact (pre-ceil) fixed-horizon size.
    ref = Z.solve_power(effect_size=proportion_effectsize(0.055, 0.05), alpha=0.05, power=0.8)
    assert abs(seq.n_control - math.ceil(ref * factor)) <= 1
    assert abs(seq.n_control - fixed.n_control * factor) < factor + 1
    assert seq.n_control > fixed.n_control
    assert "O'Brien-Fleming" in seq.notes and str(looks) in seq.notes

    means_fixed = sample_size_mean(10.0, 0.5, alpha=0.01, power=0.9)
    means_seq = sample_size_mean(10.0, 0.5, alpha=0.01, power=0.9, sequential_looks=looks)
    factor = _inflation(looks, 0.01, 0.9)
    assert means_seq.inflation == pytest.approx(factor)
    assert abs(means_seq.n_control - means_fixed.n_control * factor) < factor + 1


@pytest.mark.parametrize("looks", [2, 4])
def test_sequential_mde_is_the_fixed_mde_at_n_over_inflation(looks):
    n = 50_000
    factor = _inflation(looks, 0.05, 0.8)
    seq = mde_proportion(0.05, n, sequential_looks=looks)
    # The MDE of n/I units with a fixed horizon (solved directly on the z-test scale).
    h = proportion_effectsize(0.05 + seq.mde_abs, 0.05)
    assert Z.power(h, n / factor, 0.05) == pytest.approx(0.8, abs=1e-9)
    assert seq.mde_abs > mde_proportion(0.05, n).mde_abs
    assert (seq.n_control, seq.inflation) == (n, pytest.approx(factor))

    seq_mean = mde_mean(4.0, 2_000, sequential_looks=looks)
    assert Z.power(seq_mean.mde_abs / 4.0, 2_000 / factor, 0.05) == pytest.approx(0.8, abs=1e-9)


@pytest.mark.parametrize("looks", [3, 5])
def test_sequential_power_round_trips_the_plan(looks):
    """power(max n) of a k-look design is the target the max n was sized for."""
    plan = mde_proportion(0.1, 20_000, sequential_looks=looks)
    got = power_proportion(0.1, plan.mde_rel, 20_000, sequential_looks=looks)
    assert got == pytest.approx(0.8, abs=1e-6)
    fixed = power_proportion(0.1, plan.mde_rel, 20_000)
    assert fixed > got  # the same units buy less power when you may stop early
    plan_mean = mde_mean(2.0, 3_000, power=0.9, sequential_looks=looks)
    got_mean = power_mean(2.0, plan_mean.mde_abs, 3_000, sequential_looks=looks)
    assert got_mean == pytest.approx(0.9, abs=1e-6)


@pytest.mark.parametrize(("looks", "mde", "n"), [(3, 0.05, 50_000), (5, 0.1, 20_000)])
def test_sequential_power_is_the_boundary_crossing_probability(looks, mde, n):
    """Away from the sized-for power the fixed-point rule still gives the design's power:
    the probability that the O'Brien-Fleming z-path crosses a boundary (exact integration),
    up to the far-tail term that gst_inflation_factor leaves out (< 1e-4 here)."""
    from strategies.stats.sequential import gst_boundaries, gst_crossing_probabilities

    t = [(k + 1) / looks for k in range(looks)]
    drift = proportion_effectsize(0.05 * (1 + mde), 0.05) * math.sqrt(n / 2)
    upper, lower = gst_crossing_probabilities(gst_boundaries(t, 0.05), t, drift=drift)
    got = power_proportion(0.05, mde, n, sequential_looks=looks)
    assert 0.3 < got < 0.7  # well away from the 0.8 the factor is usually quoted at
    assert got == pytest.approx(upper.sum() + lower.sum(), abs=1e-4)


def test_one_sided_sequential_uses_the_two_sided_design_at_twice_alpha():
    plan = sample_size_mean(5.0, 0.4, alpha=0.025, two_sided=False, sequential_looks=4)
    assert plan.inflation == pytest.approx(_inflation(4, 0.05, 0.8))
    with pytest.raises(ConfigError, match="alpha < 0.5"):
        sample_size_mean(5.0, 0.4, alpha=0.6, power=0.9, two_sided=False, sequential_looks=4)


def test_sequential_power_at_the_extremes():
    """No effect → power α; a huge effect → power ~1 (not an error from the integration)."""
    assert power_proportion(0.05, 0.001, 1000, sequential_looks=5) == pytest.approx(0.05, abs=1e-4)
    assert power_proportion(0.05, 0.5, 1_000_000, sequential_looks=5) == pytest.approx(1.0)
    one_sided = power_mean(1.0, 1e-6, 100, two_sided=False, sequential_looks=3)
    assert one_sided == pytest.approx(0.05, abs=1e-4)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2])
def test_one_sided_sizes_at_the_bracket_edge_match_statsmodels(alpha):
    # One-sided, the root of the power equation is the closed form z_{1-α} + z_{power}; at
    # power 0.9 rounding used to put it just outside the solver's bracket (ValueError).
    plan = sample_size_mean(10.0, 1.0, alpha=alpha, power=0.9, two_sided=False)
    ref = Z.solve_power(effect_size=0.1, alpha=alpha, power=0.9, alternative="larger")
    assert abs(plan.n_control - math.ceil(ref)) <= 1
    assert power_mean(10.0, 1.0, plan.n_control, alpha=alpha, two_sided=False) >= 0.9


def test_one_look_is_a_fixed_horizon():
    one = sample_size_proportion(0.05, 0.1, sequential_looks=1)
    assert one.inflation == 1.0 and one.n_control == sample_size_proportion(0.05, 0.1).n_control


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size_proportion(1.5, 0.1), "baseline must be strictly between 0 and 1"),
        (lambda: sample_size_proportion(0.0, 0.1), "baseline"),
        (lambda: sample_size_proportion(0.05, 0.0), "mde must be non-zero"),
        (lambda: sample_size_proportion(0.6, 0.8), "variant rate of 1.08"),
        (lambda: sample_size_proportion(0.05, 0.1, alpha=1.2), "alpha"),
        (lambda: sample_size_proportion(0.05, 0.1, power=0.04), "power must be greater"),
        (lambda: sample_size_proportion(0.05, 0.1, ratio=0), "ratio must be > 0"),
        (lambda: sample_size_proportion(0.05, float("nan")), "mde must be finite"),
        (lambda: sample_size_proportion(0.05, "0.1"), "mde must be a number"),
        (lambda: sample_size_proportion(0.05, 0.1, sequential_looks=0), "sequential_looks"),
        (lambda: sample_size_proportion(0.05, 0.1, sequential_looks=2.5), "sequential_looks"),
        (lambda: sample_size_mean(0.0, 1.0), "std must be > 0"),
        (lambda: mde_mean(1.0, 1), "n_per_arm must be at least 2"),
        (lambda: mde_proportion(0.05, 100.5), "n_per_arm must be an integer"),
        (lambda: mde_proportion(0.05, True), "n_per_arm must be an integer"),
        (lambda: mde_proportion(0.9, 3), "too small"),
        (lambda: power_proportion(0.05, 0.1, 0), "n_per_arm"),
        (lambda: power_mean(1.0, 0.1, 100, alpha=0), "alpha"),
    ],
)
def test_bad_arguments_raise_config_error_naming_the_problem(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_plan_result_is_frozen_and_serialisable():
    plan = sample_size_proportion(0.05, 0.1)
    assert isinstance(plan, PlanResult)
    with pytest.raises(AttributeError):
        plan.n_control = 1  # type: ignore[misc]
    d = plan.to_dict()
    assert d["n_control"] == plan.n_control and d["mde_rel"] == plan.mde_rel
    assert set(d) == {
        "n_control", "n_variant", "n_total", "mde_abs", "mde_rel", "alpha", "power",
        "two_sided", "sequential_looks", "inflation", "notes",
    }  # fmt: skip


# --------------------------------------------------------------------------- plan(), the entry

# (looks, two_sided, ratio, alpha): fixed horizon both ways, one sequential design.
PLAN_DESIGNS = [(None, True, 1.0, 0.05), (None, False, 2.0, 0.1), (3, True, 0.5, 0.05)]


@pytest.mark.parametrize(("looks", "two_sided", "ratio", "alpha"), PLAN_DESIGNS)
def test_plan_dispatches_proportions_to_the_same_numbers(looks, two_sided, ratio, alpha):
    design = {"alpha": alpha, "ratio": ratio, "two_sided": two_sided, "sequential_looks": looks}
    assert plan("proportion", baseline=0.05, mde=0.1, **design) == sample_size_proportion(
        0.05, 0.1, **design
    )
    assert plan(
        "proportion", baseline=0.05, mde=0.004, relative=False, power=0.9, **design
    ) == sample_size_proportion(0.05, 0.004, relative=False, power=0.9, **design)
    assert plan("proportion", baseline=0.05, n_per_arm=20_000, **design) == mde_proportion(
        0.05, 20_000, **design
    )
    assert plan(
        "proportion", baseline=0.05, n_per_arm=20_000, power=0.9, relative=False, **design
    ) == mde_proportion(0.05, 20_000, power=0.9, relative=False, **design)

    solved = plan("proportion", baseline=0.05, mde=0.1, n_per_arm=20_000, **design)
    assert solved.power == power_proportion(0.05, 0.1, 20_000, **design)
    assert (solved.n_control, solved.n_variant) == (20_000, math.ceil(20_000 * ratio))
    assert solved.mde_abs == pytest.approx(0.005, rel=1e-12)
    assert solved.mde_rel == pytest.approx(0.1, rel=1e-12)
    assert (solved.alpha, solved.two_sided, solved.sequential_looks) == (alpha, two_sided, looks)
    assert "power solved for" in solved.notes
    # the solved power is a plan: sizing the same effect at that power gives the same n back,
    # with the same inflation
    back = plan("proportion", baseline=0.05, mde=0.1, power=solved.power, **design)
    assert back.n_control == 20_000
    assert back.inflation == pytest.approx(solved.inflation, abs=1e-9)


@pytest.mark.parametrize(("looks", "two_sided", "ratio", "alpha"), PLAN_DESIGNS)
def test_plan_dispatches_means_to_the_same_numbers(looks, two_sided, ratio, alpha):
    design = {"alpha": alpha, "ratio": ratio, "two_sided": two_sided, "sequential_looks": looks}
    assert plan("mean", std=10.0, mde=1.0, **design) == sample_size_mean(10.0, 1.0, **design)
    assert plan(
        "mean", std=10.0, baseline_mean=50.0, mde=0.02, relative=True, power=0.9, **design
    ) == sample_size_mean(10.0, 0.02, baseline_mean=50.0, relative=True, power=0.9, **design)
    assert plan("mean", std=10.0, n_per_arm=500, **design) == mde_mean(10.0, 500, **design)
    assert plan(
        "mean", std=10.0, baseline_mean=50.0, n_per_arm=500, relative=True, **design
    ) == mde_mean(10.0, 500, baseline_mean=50.0, relative=True, **design)

    solved = plan("mean", std=10.0, baseline_mean=50.0, mde=1.0, n_per_arm=1_500, **design)
    assert solved.power == power_mean(10.0, 1.0, 1_500, baseline_mean=50.0, **design)
    assert solved.n_control == 1_500
    assert (solved.mde_abs, solved.mde_rel) == (1.0, pytest.approx(0.02, rel=1e-12))
    back = plan("mean", std=10.0, mde=1.0, power=solved.power, **design)
    assert back.n_control == 1_500
    relative = plan("mean", std=10.0, baseline_mean=50.0, mde=0.02, relative=True,
                    n_per_arm=1_500, **design)  # fmt: skip
    assert relative.power == pytest.approx(solved.power, abs=1e-12)


def test_plan_keeps_each_metrics_default_reading_of_mde():
    # proportions read mde as relative, means as absolute, like their solvers
    assert plan("proportion", baseline=0.08, mde=0.125).mde_rel == pytest.approx(0.125)
    assert plan("mean", std=2.0, mde=0.5).mde_abs == 0.5
    assert plan("mean", std=2.0, mde=0.5).mde_rel is None


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"metric": "ratio", "baseline": 0.05, "mde": 0.1}, ["metric"]),
        ({"metric": "proportion", "mde": 0.1}, ["baseline"]),
        ({"metric": "proportion", "baseline": 0.05, "std": 1.0, "mde": 0.1}, ["std"]),
        (
            {"metric": "proportion", "baseline": 0.05, "baseline_mean": 3.0, "mde": 0.1},
            ["baseline_mean"],
        ),
        ({"metric": "mean", "mde": 1.0}, ["std"]),
        (
            {"metric": "mean", "std": 1.0, "baseline": 0.05, "mde": 1.0},
            ["baseline", "baseline_mean"],
        ),
        ({"metric": "proportion", "baseline": 0.05}, ["mde", "n_per_arm"]),
        ({"metric": "mean", "std": 1.0, "power": 0.8}, ["mde", "n_per_arm"]),
        (
            {"metric": "proportion", "baseline": 0.05, "mde": 0.1, "n_per_arm": 100, "power": 0.8},
            ["mde", "n_per_arm", "power"],
        ),
        ({"metric": "mean", "std": 1.0, "mde": 0.1, "relative": True}, ["baseline_mean"]),
        ({"metric": "mean", "std": 1.0, "n_per_arm": 100, "relative": True}, ["baseline_mean"]),
        (
            {"metric": "proportion", "baseline": 0.05, "mde": 0.1, "sequential_looks": 0},
            ["sequential_looks"],
        ),  # fmt: skip
        ({"metric": "proportion", "baseline": 0.05, "mde": 0.1, "n_per_arm": 1}, ["n_per_arm"]),
        ({"metric": "mean", "std": -1.0, "mde": 0.1, "n_per_arm": 100}, ["std"]),
    ],
)
def test_plan_bad_combinations_raise_config_error_naming_the_arguments(kwargs, names):
    with pytest.raises(ConfigError) as info:
        plan(**kwargs)
    for name in names:
        assert name in str(info.value)
