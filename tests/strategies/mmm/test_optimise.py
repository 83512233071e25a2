"""Budget optimiser against closed forms, KKT conditions and brute-force grid search.

The responses are closed-form steady-state curves (Hill, exponential) over a horizon ``H``:
``f_c(s) = H * beta_c * sat_c(s)``, so marginal ROAS is ``beta_c * sat_c'(s)`` — derivatives
below are analytic, never the optimiser's finite differences.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from strategies.errors import ConfigError
from strategies.mmm.optimise import (
    BudgetPlanPoint,
    budget_tables,
    optimise_budget,
    optimise_over_draws,
    resolve_bounds,
)
from strategies.mmm.result import BUDGET_PLAN_COLUMNS, BudgetSummary

H = 13


class Hill:
    """``f(s) = H * beta * s**k / (s**k + h**k)`` per channel, vectorised over (N, C)."""

    def __init__(self, beta, half, slope):
        self.beta, self.half, self.slope = (np.asarray(v, float) for v in (beta, half, slope))

    def __call__(self, levels):
        x = np.asarray(levels, float) ** self.slope
        return H * self.beta * x / (x + self.half**self.slope)

    def mroas(self, s):
        s = np.asarray(s, float)
        k, h = self.slope, self.half
        return self.beta * k * h**k * s ** (k - 1) / (s**k + h**k) ** 2


class Exponential:
    """``f(s) = H * beta * (1 - exp(-s / kappa))``."""

    def __init__(self, beta, kappa):
        self.beta, self.kappa = np.asarray(beta, float), np.asarray(kappa, float)

    def __call__(self, levels):
        return H * self.beta * (1 - np.exp(-np.asarray(levels, float) / self.kappa))

    def mroas(self, s):
        return self.beta / self.kappa * np.exp(-np.asarray(s, float) / self.kappa)


def _plan(response, current, channels=("a", "b", "c"), bounds=None, **kwargs) -> BudgetPlanPoint:
    lower, upper = resolve_bounds(channels, current, bounds)
    return optimise_budget(
        response, current, channels, lower=lower, upper=upper, horizon=H, **kwargs
    )


# ---- fixed total ------------------------------------------------------------------------------
def test_fixed_total_matches_the_closed_form_for_exponential_curves():
    # equal mROAS lam: s_c = kappa_c * log(beta_c / (kappa_c * lam)); sum s_c = T gives lam
    beta, kappa = np.array([40.0, 25.0, 60.0]), np.array([80.0, 50.0, 120.0])
    current = np.array([100.0, 100.0, 100.0])
    total = current.sum()
    log_lam = (np.sum(kappa * np.log(beta / kappa)) - total) / kappa.sum()
    expected = kappa * (np.log(beta / kappa) - log_lam)
    assert np.all(expected > 50) and np.all(expected < 150)  # interior for 0.5-1.5 x current
    plan = _plan(Exponential(beta, kappa), current)
    np.testing.assert_allclose(plan.optimal, expected, rtol=1e-6)
    np.testing.assert_allclose(plan.mroas, np.exp(log_lam), rtol=1e-5)
    assert abs(plan.optimal.sum() - total) < 1e-6
    assert plan.bound_active == ("", "", "") and plan.converged and not plan.flat


def test_kkt_holds_with_bounds_active_on_the_right_side():
    channels = ("tv", "search", "email", "social", "radio", "print")
    curves = Hill(
        beta=[50, 30, 20, 40, 10, 25], half=[100, 80, 50, 150, 30, 60], slope=[1, 2, 3, 1.5, 1, 2.5]
    )
    current = np.array([100.0, 80, 60, 120, 40, 50])
    plan = _plan(curves, current, channels)
    assert abs(plan.optimal.sum() - current.sum()) < 1e-6
    true_mroas = curves.mroas(plan.optimal)
    np.testing.assert_allclose(plan.mroas, true_mroas, rtol=1e-5)
    interior = np.array([b == "" for b in plan.bound_active])
    assert interior.sum() >= 2
    lam = true_mroas[interior].mean()
    np.testing.assert_allclose(true_mroas[interior], lam, rtol=1e-5)
    for i, side in enumerate(plan.bound_active):
        if side == "upper":
            assert true_mroas[i] >= lam * (1 - 1e-6)
            assert plan.optimal[i] == pytest.approx(1.5 * current[i])
        elif side == "lower":
            assert true_mroas[i] <= lam * (1 + 1e-6)
            assert plan.optimal[i] == pytest.approx(0.5 * current[i])
    # this set-up binds radio low and print high; the messages say so in words
    assert plan.bound_active[4] == "lower" and plan.bound_active[5] == "upper"
    text = " ".join(plan.messages)
    assert "print is held at its upper bound" in text and "loosening the bound would pay" in text
    assert "radio is held at its lower bound" in text


def _brute_force_three(response, lower, upper, total, n=1201):
    """Best split on a fine grid of (s_a, s_b) with s_c = total - s_a - s_b."""
    sa = np.linspace(lower[0], upper[0], n)
    sb = np.linspace(lower[1], upper[1], n)
    a, b = np.meshgrid(sa, sb, indexing="ij")
    c = total - a - b
    ok = (c >= lower[2]) & (c <= upper[2])
    levels = np.column_stack([a.ravel(), b.ravel(), np.clip(c.ravel(), lower[2], upper[2])])
    value = response(levels).sum(axis=1)
    value[~ok.ravel()] = -np.inf
    best = int(np.argmax(value))
    return levels[best], value[best], (sa[1] - sa[0], sb[1] - sb[0])


@pytest.mark.parametrize("slopes", [(1.0, 1.0, 1.0), (3.0, 1.0, 2.5), (4.0, 4.0, 1.0)])
def test_fixed_total_matches_brute_force_grid_search_including_s_shaped_curves(slopes):
    curves = Hill(beta=[30, 20, 45], half=[120, 40, 200], slope=slopes)
    current = np.array([100.0, 100.0, 100.0])
    lower, upper = np.zeros(3), np.full(3, 300.0)  # wide: S-shapes may want a channel off
    plan = optimise_budget(curves, current, "abc", lower=lower, upper=upper, horizon=H)
    best, best_value, steps = _brute_force_three(curves, lower, upper, 300.0)
    value = curves(plan.optimal[None, :]).sum()
    assert value >= best_value - 1e-9 * abs(best_value)
    np.testing.assert_allclose(plan.optimal, best, atol=2 * max(steps))
    assert abs(plan.optimal.sum() - 300.0) < 1e-6


def test_s_shaped_curve_below_its_threshold_is_not_a_local_trap():
    # channel a has a steep S-shape: a little spend earns nothing, enough earns a lot; a local
    # method started at the current plan (a starved) keeps it starved
    curves = Hill(beta=[100, 10, 10], half=[150, 30, 30], slope=[4, 1, 1])
    current = np.array([20.0, 140.0, 140.0])
    lower, upper = np.zeros(3), np.full(3, 300.0)
    plan = optimise_budget(curves, current, "abc", lower=lower, upper=upper, horizon=H)
    best, best_value, _ = _brute_force_three(curves, lower, upper, 300.0)
    assert plan.optimal[0] > 150
    assert curves(plan.optimal[None, :]).sum() >= best_value - 1e-9 * best_value


def test_channel_order_never_matters():
    by_name = {
        "tv": (60.0, 150.0, 2.0, 120.0),  # beta, half, slope, current
        "search": (30.0, 40.0, 1.0, 80.0),
        "email": (10.0, 20.0, 1.0, 30.0),
    }
    bounds = {"tv": {"min": 100.0, "max": 130.0}, "email": {"max_relative": 1.1}}
    plans = {}
    for order in (("tv", "search", "email"), ("email", "tv", "search"), ("search", "email", "tv")):
        beta, half, slope, cur = (np.array([by_name[c][k] for c in order]) for k in range(4))
        lower, upper = resolve_bounds(order, cur, bounds)
        assert lower[order.index("tv")] == 100.0 and upper[order.index("tv")] == 130.0
        assert upper[order.index("email")] == pytest.approx(33.0)
        assert lower[order.index("search")] == pytest.approx(40.0)  # default 0.5 x current
        plan = optimise_budget(
            Hill(beta, half, slope), cur, order, lower=lower, upper=upper, horizon=H
        )
        plans[order] = {c: (plan.optimal[i], plan.bound_active[i]) for i, c in enumerate(order)}
    reference = plans[("tv", "search", "email")]
    for plan in plans.values():
        for name, (spend, side) in plan.items():
            assert spend == pytest.approx(reference[name][0], rel=1e-7)
            assert side == reference[name][1]
    assert reference["tv"][1] == "upper"  # tv has the highest mROAS at 130: its bound binds


# ---- target marginal ROAS ---------------------------------------------------------------------
def test_target_mroas_matches_closed_forms():
    target = 0.08
    hill = Hill(beta=[30.0, 20.0, 5.0], half=[100.0, 60.0, 50.0], slope=[1.0, 1.0, 1.0])
    expected = np.sqrt(hill.beta * hill.half / target) - hill.half  # beta*h/(s+h)**2 = target
    current = np.array([100.0, 60.0, 150.0])
    # channel c's unbounded optimum (5.9) is below its lower bound 75 -> held at the bound
    plan = _plan(hill, current, target_mroas=target)
    np.testing.assert_allclose(plan.optimal[:2], expected[:2], rtol=1e-7)
    assert plan.optimal[2] == pytest.approx(75.0) and plan.bound_active[2] == "lower"
    np.testing.assert_allclose(plan.mroas[:2], target, rtol=1e-5)
    assert plan.mode == "target_mroas"

    expo = Exponential(beta=[40.0, 25.0, 60.0], kappa=[80.0, 50.0, 120.0])
    expected = expo.kappa * np.log(expo.beta / (expo.kappa * target))
    plan = _plan(expo, expected * 1.1, target_mroas=target)  # interior at 0.5-1.5 x current
    np.testing.assert_allclose(plan.optimal, expected, rtol=1e-7)
    assert plan.bound_active == ("", "", "")


def test_target_mroas_on_an_s_shaped_curve_takes_the_profitable_root():
    # mROAS equals the target twice on an S-curve (rising and falling side); the profitable
    # spend is the falling-side root, or zero when even that loses money
    curve = Hill(beta=[50.0], half=[100.0], slope=[3.0])
    target = 0.2
    grid = np.linspace(0, 400, 400_001)
    profit = curve(grid[:, None])[:, 0] - target * H * grid
    best = grid[np.argmax(profit)]
    plan = optimise_budget(
        curve,
        np.array([200.0]),
        ("tv",),
        lower=np.zeros(1),
        upper=np.full(1, 400.0),
        horizon=H,
        target_mroas=target,
    )
    assert plan.optimal[0] == pytest.approx(best, abs=2e-3)
    assert curve.mroas(plan.optimal)[0] == pytest.approx(target, rel=1e-5)


# ---- problems said in words --------------------------------------------------------------------
@pytest.mark.parametrize("level", [0.0, 7.5])
def test_flat_curves_give_the_vanishing_gradient_message_not_an_equal_split(level):
    def flat(levels):
        return np.full(np.shape(levels), level)

    current = np.array([300.0, 100.0, 50.0])
    plan = _plan(flat, current)
    assert plan.flat
    np.testing.assert_allclose(plan.optimal, current)  # the current split, not 150/150/150
    assert any("flat" in m and "marginal ROAS" in m for m in plan.messages)
    assert plan.expected_gain == 0.0
    target = _plan(flat, current, target_mroas=0.1)
    assert target.flat and any("flat" in m for m in target.messages)


def test_optimum_equal_to_the_current_plan_is_said():
    kappa, current, lam = np.array([50.0, 90.0, 70.0]), np.array([80.0, 120.0, 60.0]), 0.1
    beta = lam * kappa * np.exp(current / kappa)  # equal mROAS lam at the current plan
    plan = _plan(Exponential(beta, kappa), current)
    np.testing.assert_allclose(plan.optimal, current, rtol=1e-6)
    assert any("already optimal" in m for m in plan.messages)
    assert abs(plan.expected_gain) < 1e-9 * np.abs(plan.outcome_current).sum()


def test_infeasible_total_names_the_numbers():
    curves = Exponential([1.0, 1.0], [10.0, 10.0])
    current = np.array([10.0, 10.0])
    lower, upper = resolve_bounds("ab", current)
    with pytest.raises(ConfigError, match=r"total of 50 .*upper bounds .* 30"):
        optimise_budget(curves, current, "ab", lower=lower, upper=upper, total=50.0, horizon=H)
    with pytest.raises(ConfigError, match=r"total of 5 .*lower bounds sum to 10"):
        optimise_budget(curves, current, "ab", lower=lower, upper=upper, total=5.0, horizon=H)
    with pytest.raises(ConfigError, match="not both"):
        optimise_budget(
            curves, current, "ab", lower=lower, upper=upper, total=20, target_mroas=1, horizon=H
        )


def test_resolve_bounds_errors_name_the_channel():
    current = np.array([100.0, 50.0])
    with pytest.raises(ConfigError, match=r"'radio'.*\['tv', 'search'\]"):
        resolve_bounds(["tv", "search"], current, {"radio": {"max": 10}})
    with pytest.raises(ConfigError, match=r"'tv'.*minimum 200 .*maximum 150"):
        resolve_bounds(["tv", "search"], current, {"tv": {"min": 200}})
    with pytest.raises(ConfigError, match="'tv'.*'max_rel'"):
        resolve_bounds(["tv", "search"], current, {"tv": {"max_rel": 2}})
    with pytest.raises(ConfigError, match="both 'min' and 'min_relative'"):
        resolve_bounds(["tv", "search"], current, {"tv": {"min": 1, "min_relative": 0.5}})
    lower, upper = resolve_bounds(["tv", "search"], current, {"search": {"min_relative": 0.9}})
    np.testing.assert_allclose(lower, [50.0, 45.0])
    np.testing.assert_allclose(upper, [150.0, 75.0])


# ---- bootstrap draws and tables ----------------------------------------------------------------
def test_draws_gain_by_each_draws_own_response_and_tables():
    rng = np.random.default_rng(7)
    channels = ("tv", "search", "email", "social", "radio", "print")
    base = dict(half=np.array([100.0, 80, 50, 150, 30, 60]), slope=np.array([1, 2, 3, 1.5, 1, 2.5]))
    beta = np.array([50.0, 30, 20, 40, 10, 25])
    current = np.array([100.0, 80, 60, 120, 40, 50])
    lower, upper = resolve_bounds(channels, current)
    draws = [Hill(beta * rng.lognormal(0, 0.2, 6), **base) for _ in range(200)]
    start = time.perf_counter()
    point = optimise_budget(
        Hill(beta, **base), current, channels, lower=lower, upper=upper, horizon=H
    )
    one = time.perf_counter() - start
    start = time.perf_counter()
    summary = optimise_over_draws(
        draws, current, channels, lower=lower, upper=upper, horizon=H, level=0.8
    )
    many = time.perf_counter() - start
    print(f"\none 6-channel optimisation: {one * 1e3:.1f} ms; 200 draws: {many:.2f} s")

    # gains recomputed independently from each draw's closed form
    own = np.array(
        [d(summary.optimal[i][None]).sum() - d(current[None]).sum() for i, d in enumerate(draws)]
    )
    np.testing.assert_allclose(summary.gains, own, rtol=1e-9, atol=1e-9)
    assert np.all(own >= -1e-9)  # an optimum never loses to the current plan (which is feasible)
    assert summary.prob_gain_positive == pytest.approx(np.mean(own > 1e-9 * 1e3))
    np.testing.assert_allclose(summary.optimal.sum(axis=1), current.sum(), atol=1e-6)
    np.testing.assert_allclose(
        summary.optimal_ci_low, np.percentile(summary.optimal, 10, axis=0), rtol=1e-12
    )
    assert summary.gain_ci_low == pytest.approx(np.percentile(own, 10), rel=1e-6)

    frame, headline = budget_tables(point, summary, channels[::-1], lower[::-1], upper[::-1])
    assert tuple(frame.columns) == BUDGET_PLAN_COLUMNS
    assert list(frame["channel"]) == list(channels[::-1])
    row = frame.set_index("channel").loc["print"]
    assert row["current_spend"] == 50.0 and row["upper_bound"] == 75.0
    assert row["change"] == pytest.approx(row["optimal_spend"] - 50.0)
    assert row["change_pct"] == pytest.approx(row["change"] / 50.0)
    assert row["expected_outcome_optimal"] == pytest.approx(
        Hill(beta, **base)(point.optimal[None])[0, 5]
    )
    assert (frame["optimal_spend_ci_low"] <= frame["optimal_spend_ci_high"] + 1e-12).all()
    assert isinstance(headline, BudgetSummary) and headline.mode == "fixed_total"
    assert headline.expected_gain == pytest.approx(
        Hill(beta, **base)(point.optimal[None]).sum() - Hill(beta, **base)(current[None]).sum()
    )
    assert headline.total_per_period == pytest.approx(current.sum())
    assert headline.gain_ci_low <= headline.gain_ci_high
    assert headline.messages[: len(point.messages)] == point.messages


def test_tables_without_draws_have_nan_intervals():
    current = np.array([100.0, 100.0])
    plan = _plan(Exponential([40.0, 25.0], [80.0, 50.0]), current, channels=("a", "b"))
    frame, headline = budget_tables(plan)
    assert frame["optimal_spend_ci_low"].isna().all() and np.isnan(headline.prob_gain_positive)
    with pytest.raises(ConfigError, match="lower bounds"):
        budget_tables(plan, None, ("a", "b"), np.array([1.0, 1.0]))


def test_share_of_draws_with_a_gain_counts_draws_where_the_current_plan_is_optimal_as_no_gain():
    kappa, current = np.array([50.0, 90.0, 70.0]), np.array([80.0, 120.0, 60.0])
    at_current = Exponential(0.1 * kappa * np.exp(current / kappa), kappa)  # optimal as is
    elsewhere = Exponential([40.0, 25.0, 60.0], kappa)
    draws = [at_current, elsewhere, at_current, at_current]
    lower, upper = resolve_bounds("abc", current)
    summary = optimise_over_draws(draws, current, "abc", lower=lower, upper=upper, horizon=H)
    assert summary.prob_gain_positive == pytest.approx(0.25)
    assert summary.gains[1] > 1.0 and np.all(np.abs(summary.gains[[0, 2, 3]]) < 1e-6)
