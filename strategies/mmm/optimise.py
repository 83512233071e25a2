"""Budget optimiser: how to split spend across channels, given a fitted response.

The fitted model enters only through a vectorised callable ``response(levels) -> outcome``:
``levels[n, c]`` is a constant spend per period of channel ``c`` over the planning horizon and the
result ``[n, c]`` is that channel's incremental outcome over the horizon, carry-over included
(``FittedMMM.plan_response(levels, horizon)``). Channels are additive, so the objective is
separable, ``sum_c f_c(s_c)``, and one call evaluates every channel at its own level. That is what
makes the optimiser fast: a whole grid, or one probe per channel, is one call.

Why not just SLSQP from the current plan: Hill curves with ``slope > 1`` are S-shaped, so the
objective is not concave and a local method can stop in the wrong basin (a channel kept below its
threshold because a small step there gains nothing). We therefore solve the problem **globally on
a grid** first and only then polish locally:

* **fixed total** (``sum_c s_c = total`` per period): an exact dynamic programme over the grid of
  budget steps (resource allocation, ``O(C * K**2)`` vectorised) finds the best grid allocation
  for any curve shape; SLSQP then polishes it inside a small box around it, so the result meets
  the KKT conditions (equal marginal ROAS across interior channels) to solver precision.
* **target marginal ROAS** (total free): each channel independently maximises its outcome minus
  ``target`` times its spend over the horizon, i.e. spends where its marginal ROAS equals the
  target (or sits at a bound): a grid argmax per channel, then a vectorised golden-section polish.

Marginal ROAS follows :mod:`strategies.mmm.data`: outcome per unit of spend for a small change of
the spend in every period, here ``f_c'(s) / horizon`` (spending ``s`` per period for ``horizon``
periods costs ``s * horizon``). Problems the numbers cannot show are said in plain sentences in
``messages``: bounds that bind, flat curves (vanishing gradients; we never return an arbitrary
equal split), an optimum equal to the current plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from strategies.errors import ConfigError, InputDataError
from strategies.mmm.result import BUDGET_PLAN_COLUMNS, BudgetSummary

__all__ = [
    "BudgetDrawSummary",
    "BudgetPlanPoint",
    "Response",
    "budget_tables",
    "optimise_budget",
    "optimise_over_draws",
    "resolve_bounds",
]

#: ``response(levels (N, C)) -> (N, C)`` incremental outcome per channel over the horizon.
Response = Callable[[np.ndarray], np.ndarray]

GRID_STEPS = 200  # budget steps of the dynamic programme (grid points - 1 in target mode)
FLAT_RTOL = 1e-6  # curves whose outcome varies less than this (relative) over the bounds are flat
SAME_PLAN_RTOL = 1e-3  # an optimum within 0.1 % of the budget of the current plan "is" the plan
_DIFF_STEP = 1e-6  # relative step of the finite-difference derivative
_BOUND_KEYS = ("min", "max", "min_relative", "max_relative")


# ---- bounds -----------------------------------------------------------------------------------
def _vector(values, channels: tuple[str, ...], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.shape != (len(channels),):
        raise ConfigError(
            f"{what} has {array.size} value(s) but there are {len(channels)} channels "
            f"{list(channels)}"
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        bad = channels[int(np.flatnonzero(~np.isfinite(array) | (array < 0))[0])]
        raise ConfigError(f"{what} for channel {bad!r} must be a finite number >= 0")
    return array


def _channels(channels: Sequence[str]) -> tuple[str, ...]:
    names = tuple(str(c) for c in channels)
    if not names:
        raise ConfigError("the budget plan needs at least one channel")
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        raise ConfigError(f"channel {duplicated[0]!r} appears twice in the budget plan")
    return names


def _bound_value(channel: str, key: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not np.isfinite(number) or number < 0:
        raise ConfigError(f"budget bound {key!r} of channel {channel!r} must be a number >= 0")
    return number


def resolve_bounds(
    channels: Sequence[str],
    current: np.ndarray,
    bounds: Mapping[str, Mapping] | None = None,
    default_relative: tuple[float, float] = (0.5, 1.5),
) -> tuple[np.ndarray, np.ndarray]:
    """Per-period spend bounds ``(lower, upper)`` aligned with ``channels``.

    ``bounds`` maps a channel **name** to ``{"min_relative": 0.8, "max_relative": 1.2}``
    (multiples of the current spend) and/or ``{"min": 100, "max": 5000}`` (spend per period); a
    side not given uses ``default_relative``. Lookup is by name, so the order of ``channels``
    never matters. Unknown channels, unknown keys, both forms for one side and ``min > max`` are
    :class:`ConfigError` naming the channel.
    """
    channels = _channels(channels)
    current = _vector(current, channels, "current spend")
    low_rel, high_rel = (float(v) for v in default_relative)
    if not (0 <= low_rel <= high_rel) or not np.isfinite(high_rel):
        raise ConfigError(
            f"default relative bounds must satisfy 0 <= min <= max, got {default_relative}"
        )
    lower, upper = current * low_rel, current * high_rel
    source = {c: [f"{low_rel:g} x current", f"{high_rel:g} x current"] for c in channels}
    for name, spec in (bounds or {}).items():
        if name not in channels:
            raise ConfigError(
                f"budget bounds name channel {name!r}, which the model does not have; "
                f"channels are {list(channels)}"
            )
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"budget bounds of channel {name!r} must be a mapping with keys {list(_BOUND_KEYS)}"
            )
        unknown = [key for key in spec if key not in _BOUND_KEYS]
        if unknown:
            raise ConfigError(
                f"budget bounds of channel {name!r} have unknown key {unknown[0]!r}; "
                f"allowed keys are {list(_BOUND_KEYS)}"
            )
        i = channels.index(name)
        for side, (absolute, relative) in enumerate(
            (("min", "min_relative"), ("max", "max_relative"))
        ):
            if absolute in spec and relative in spec:
                raise ConfigError(
                    f"budget bounds of channel {name!r} give both {absolute!r} and {relative!r}"
                )
            target = lower if side == 0 else upper
            if absolute in spec:
                target[i] = _bound_value(name, absolute, spec[absolute])
                source[name][side] = "absolute"
            elif relative in spec:
                factor = _bound_value(name, relative, spec[relative])
                target[i] = factor * current[i]
                source[name][side] = f"{factor:g} x current"
    for i, name in enumerate(channels):
        if lower[i] > upper[i]:
            raise ConfigError(
                f"budget bounds of channel {name!r}: the minimum {lower[i]:.6g} per period "
                f"({source[name][0]}) is above the maximum {upper[i]:.6g} ({source[name][1]}; "
                f"current spend {current[i]:.6g})"
            )
    return lower, upper


# ---- results ----------------------------------------------------------------------------------
@dataclass
class BudgetPlanPoint:
    """The optimal plan for one response (the point fit or one bootstrap draw).

    Spend is per period; outcomes are per channel over the horizon (carry-over included).
    """

    channels: tuple[str, ...]
    mode: str  # "fixed_total" or "target_mroas"
    horizon: int
    current: np.ndarray
    optimal: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    outcome_current: np.ndarray
    outcome_optimal: np.ndarray
    mroas: np.ndarray  # f_c'(optimal_c) / horizon
    bound_active: tuple[str, ...]  # "lower", "upper" or ""
    messages: list[str] = field(default_factory=list)
    converged: bool = True
    flat: bool = False  # vanishing gradients: no recommendation, the current split is kept
    target_mroas: float | None = None

    @property
    def total(self) -> float:
        return float(self.optimal.sum())

    @property
    def expected_gain(self) -> float:
        """Optimal minus current outcome over the horizon, by this plan's own response."""
        return float(self.outcome_optimal.sum() - self.outcome_current.sum())


@dataclass
class BudgetDrawSummary:
    """The optimiser run on every bootstrap draw, each with its own response."""

    channels: tuple[str, ...]
    level: float
    optimal: np.ndarray  # (D, C) each draw's optimal spend per period
    mroas: np.ndarray  # (D, C) each draw's marginal ROAS at its own optimum
    gains: np.ndarray  # (D,) each draw's optimum minus current plan, by its own response
    optimal_ci_low: np.ndarray
    optimal_ci_high: np.ndarray
    mroas_ci_low: np.ndarray
    mroas_ci_high: np.ndarray
    gain_ci_low: float
    gain_ci_high: float
    prob_gain_positive: float
    bound_share: np.ndarray  # (C,) share of draws with the channel at a bound
    n_flat: int
    n_not_converged: int
    messages: list[str] = field(default_factory=list)


# ---- numerics ---------------------------------------------------------------------------------
def _evaluate(response: Response, levels: np.ndarray) -> np.ndarray:
    levels = np.atleast_2d(np.asarray(levels, dtype=float))
    values = np.asarray(response(levels), dtype=float)
    if values.shape != levels.shape:
        raise ValueError(
            f"the response returned shape {values.shape} for levels of shape {levels.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("the response returned non-finite values for finite spend levels")
    return values


def _derivative(response: Response, spend: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``f_c'(spend_c)`` for every channel at once (central difference; one-sided at 0)."""
    low = np.maximum(spend - step, 0.0)
    high = spend + step
    values = _evaluate(response, np.vstack([low, high]))
    return (values[1] - values[0]) / (high - low)


def _fill_to_total(spend, lower, upper, total) -> np.ndarray:
    """The plan ``clip(spend + mu, lower, upper)`` whose sum is ``total`` (Euclidean projection
    onto the feasible set): repairs a grid plan, or moves the current plan into the bounds."""
    # sum(clip(spend + mu)) is piecewise linear in mu with kinks at lower - spend and
    # upper - spend: evaluate it at every kink and interpolate (exact, no iteration)
    kinks = np.unique(np.concatenate([lower - spend, upper - spend]))
    sums = np.clip(spend[None, :] + kinks[:, None], lower, upper).sum(axis=1)
    mu = float(np.interp(total, sums, kinks)) if len(kinks) > 1 else float(kinks[0])
    out = np.clip(spend + mu, lower, upper)
    rest = total - out.sum()  # rounding: put it where there is room
    room = (upper - out) if rest > 0 else (out - lower)
    if rest != 0 and room.max() > 0:
        i = int(np.argmax(room))
        out[i] = np.clip(out[i] + rest, lower[i], upper[i])
    return out


def _is_flat(values: np.ndarray) -> bool:
    """Vanishing gradients: no channel's outcome changes (relative to the outcome level) over
    its allowed range, so the model cannot tell one split from another."""
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    if scale == 0.0:
        return True
    spread = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
    return bool(np.max(spread) <= FLAT_RTOL * scale)


def _grid_allocation(values: np.ndarray, caps: np.ndarray, n_steps: int) -> np.ndarray:
    """Exact dynamic programme: steps per channel (``<= caps``, summing to ``n_steps``) that
    maximise ``sum_c values[steps_c, c]``; works for any curve shape."""
    steps = np.arange(n_steps + 1)
    prev = steps[:, None] - steps[None, :]  # budget left for the earlier channels
    invalid = prev < 0
    prev = np.where(invalid, 0, prev)
    best = np.where(steps <= caps[0], values[:, 0], -np.inf)
    choices = []
    for c in range(1, values.shape[1]):
        own = np.where(steps <= caps[c], values[:, c], -np.inf)
        table = np.where(invalid, -np.inf, best[prev] + own[None, :])
        pick = np.argmax(table, axis=1)
        best = table[steps, pick]
        choices.append(pick)
    alloc = np.zeros(values.shape[1], dtype=int)
    left = n_steps
    for c in range(values.shape[1] - 1, 0, -1):
        alloc[c] = choices[c - 1][left]
        left -= alloc[c]
    alloc[0] = left
    return alloc


def _polish_total(response, start, lower, upper, total, width, step) -> tuple[np.ndarray, bool]:
    """SLSQP inside a box of ``width`` around the grid plan ``start`` (same basin), recentred
    while the box edge (not a real bound) binds. Returns the plan and whether it converged."""
    objective_scale = max(float(np.abs(_evaluate(response, start)).sum()), 1e-300)
    norm = max(total, 1e-300)
    unit = np.full_like(start, max(width, 1e-300))
    plan, converged = start, False
    for _ in range(4):
        box_lo = np.maximum(lower, plan - width)
        box_hi = np.minimum(upper, plan + width)

        def spend_at(x, centre=plan, lo=box_lo, hi=box_hi):
            return np.clip(centre + x * unit, lo, hi)

        def fun(x, spend_at=spend_at):
            return -_evaluate(response, spend_at(x))[0].sum() / objective_scale

        def jac(x, spend_at=spend_at):
            return -_derivative(response, spend_at(x), step) * unit / objective_scale

        def gap(x, centre=plan):
            return ((centre + x * unit).sum() - total) / norm

        result = minimize(
            fun,
            np.zeros_like(plan),
            jac=jac,
            method="SLSQP",
            bounds=list(zip((box_lo - plan) / unit, (box_hi - plan) / unit, strict=True)),
            constraints=[{"type": "eq", "fun": gap, "jac": lambda x: unit / norm}],
            options={"ftol": 1e-14, "maxiter": 200},
        )
        candidate = _fill_to_total(spend_at(result.x), lower, upper, total)
        if _evaluate(response, candidate)[0].sum() >= _evaluate(response, plan)[0].sum():
            plan = candidate
        tol = 1e-7 * width
        at_box = ((plan - box_lo < tol) & (box_lo > lower)) | (
            (box_hi - plan < tol) & (box_hi < upper)
        )
        converged = bool(result.success) and not at_box.any()
        if not at_box.any():
            break
    return plan, converged


def _golden_max(score: Callable[[np.ndarray], np.ndarray], low, high, iterations=80):
    """Vectorised golden-section maximisation, one probe per channel per call."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = low.copy(), high.copy()
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = score(c), score(d)
    for _ in range(iterations):
        left = fc >= fd
        a = np.where(left, a, c)
        b = np.where(left, d, b)
        new_c, new_d = b - ratio * (b - a), a + ratio * (b - a)
        probe = np.where(left, new_c, new_d)
        fp = score(probe)
        c, d = np.where(left, new_c, d), np.where(left, c, new_d)
        fc, fd = np.where(left, fp, fd), np.where(left, fc, fp)
    return 0.5 * (a + b)


# ---- the optimiser ----------------------------------------------------------------------------
def _fmt(x: float) -> str:
    """Three significant digits, never scientific (a marketer reads 10,750, not 1.075e+04)."""
    if not np.isfinite(x) or x == 0:
        return f"{x:g}"
    digits = max(0, 2 - int(np.floor(np.log10(abs(x)))))
    return f"{round(x, digits):,.{digits}f}"


def _bound_text(side: str, i: int, current, lower, upper) -> str:
    value = lower[i] if side == "lower" else upper[i]
    if current[i] > 0:
        return f"{side} bound ({value / current[i]:.3g} × current, {_fmt(value)} per period)"
    return f"{side} bound ({_fmt(value)} per period)"


def _plan_messages(plan: BudgetPlanPoint, reference: float | None) -> list[str]:
    """Plain sentences about what the numbers alone do not say."""
    messages: list[str] = []
    others = "the target" if plan.mode == "target_mroas" else "the others"
    for i, name in enumerate(plan.channels):
        side = plan.bound_active[i]
        if not side:
            continue
        text = f"{name} is held at its {_bound_text(side, i, plan.current, plan.lower, plan.upper)}"
        m = plan.mroas[i]
        if reference is not None and side == "upper" and m > reference:
            text += (
                f"; its marginal ROAS there is {_fmt(m)}, above {others} ({_fmt(reference)}) "
                "— loosening the bound would pay"
            )
        elif reference is not None and side == "lower" and m < reference:
            text += (
                f"; its marginal ROAS there is {_fmt(m)}, below {others} ({_fmt(reference)}) "
                "— the plan would spend less on it if the bound allowed"
            )
        else:
            text += f"; its marginal ROAS there is {_fmt(m)}"
        messages.append(text + ".")
    if plan.mode == "fixed_total" and all(plan.bound_active):
        messages.append(
            "Every channel sits at a bound, so the bounds rather than the response curves "
            "decide the split."
        )
    budget = max(float(plan.current.sum()), plan.total, 1e-300)
    if np.max(np.abs(plan.optimal - plan.current)) <= SAME_PLAN_RTOL * budget:
        messages.append(
            "The current plan is already optimal within the bounds: no channel moves by more "
            f"than {SAME_PLAN_RTOL:.1%} of the budget."
        )
    if plan.mode == "target_mroas":
        messages.append(
            f"At a target marginal ROAS of {_fmt(plan.target_mroas)} the plan spends "
            f"{_fmt(plan.total)} per period (current {_fmt(plan.current.sum())})."
        )
    if not plan.converged:
        messages.append(
            "The local polish of the budget plan did not converge; the plan is the best grid "
            "allocation, accurate to one grid step."
        )
    return messages


def _flat_message(mode: str) -> str:
    keep = (
        "the current split, moved into the bounds"
        if mode == "fixed_total"
        else "the current spend, moved into the bounds"
    )
    return (
        "The response curves are flat over the allowed spend ranges (every marginal ROAS is "
        "about 0), so the model cannot tell one split from another; no reallocation is "
        f"recommended and the plan keeps {keep}. Check the fit's saturation parameters."
    )


def optimise_budget(
    response: Response,
    current: np.ndarray,
    channels: Sequence[str],
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    total: float | None = None,
    target_mroas: float | None = None,
    horizon: int,
    grid_steps: int = GRID_STEPS,
) -> BudgetPlanPoint:
    """Optimal spend per period and channel for one ``response``.

    Fixed-total mode (default; ``total`` per period, default the current total) maximises the
    summed outcome with ``sum(spend) == total``; target mode (``target_mroas``) lets every
    channel spend until its marginal ROAS falls to the target, within its bounds. ``lower``,
    ``upper`` and ``current`` are aligned with ``channels`` (see :func:`resolve_bounds`).
    """
    channels = _channels(channels)
    current = _vector(current, channels, "current spend")
    lower = _vector(lower, channels, "lower bound")
    upper = _vector(upper, channels, "upper bound")
    bad = np.flatnonzero(lower > upper)
    if bad.size:
        i = int(bad[0])
        raise ConfigError(
            f"channel {channels[i]!r}: lower bound {lower[i]:.6g} is above "
            f"upper bound {upper[i]:.6g}"
        )
    if isinstance(horizon, bool) or not float(horizon).is_integer() or horizon < 1:
        raise ConfigError(f"the planning horizon must be an integer >= 1 period, got {horizon!r}")
    horizon = int(horizon)
    if total is not None and target_mroas is not None:
        raise ConfigError("give either a total budget or a target marginal ROAS, not both")
    step = _DIFF_STEP * np.maximum(np.maximum(upper, current), max(float(upper.mean()), 1e-12))
    if target_mroas is None:
        mode = "fixed_total"
        total = float(current.sum()) if total is None else float(total)
        if not np.isfinite(total) or total < 0:
            raise ConfigError(f"the total budget must be a number >= 0 per period, got {total!r}")
        slack = 1e-9 * max(total, 1.0)
        if lower.sum() > total + slack or upper.sum() < total - slack:
            raise ConfigError(
                f"the bounds cannot meet a total of {total:.6g} per period: the lower bounds sum "
                f"to {lower.sum():.6g} and the upper bounds to {upper.sum():.6g}"
            )
        spend, flat, converged = _fixed_total(
            response, current, lower, upper, total, step, grid_steps
        )
    else:
        mode = "target_mroas"
        target = float(target_mroas)
        if not np.isfinite(target) or target <= 0:
            raise ConfigError(
                f"the target marginal ROAS must be a number > 0, got {target_mroas!r}"
            )
        spend, flat = _target(response, current, lower, upper, target * horizon, grid_steps)
        converged = True
    outcomes = _evaluate(response, np.vstack([current, spend]))
    mroas = _derivative(response, spend, step) / horizon
    tol = 1e-7 * np.maximum(upper - lower, step)
    at_lower, at_upper = spend - lower <= tol, upper - spend <= tol
    interior = ~(at_lower | at_upper)
    if mode == "target_mroas":
        reference = float(target_mroas)
    elif interior.any():
        reference = float(np.mean(mroas[interior]))
    else:
        reference = None
    active = []
    for i in range(len(channels)):
        if at_lower[i] and at_upper[i]:  # a fixed channel: name the side that binds
            binds_upper = reference is not None and mroas[i] > reference
            active.append("upper" if binds_upper else "lower")
        else:
            active.append("lower" if at_lower[i] else "upper" if at_upper[i] else "")
    plan = BudgetPlanPoint(
        channels=channels,
        mode=mode,
        horizon=horizon,
        current=current,
        optimal=spend,
        lower=lower,
        upper=upper,
        outcome_current=outcomes[0],
        outcome_optimal=outcomes[1],
        mroas=mroas,
        bound_active=tuple(active),
        converged=converged,
        flat=flat,
        target_mroas=None if target_mroas is None else float(target_mroas),
    )
    plan.messages = [_flat_message(mode)] if flat else _plan_messages(plan, reference)
    return plan


def _fixed_total(response, current, lower, upper, total, step, n_steps):
    free = total - lower.sum()
    if free <= 1e-12 * max(total, 1.0) or np.all(upper - lower <= 0):
        spend = _fill_to_total(lower.copy(), lower, upper, total)
        values = _evaluate(response, np.vstack([lower, upper]))
        return spend, _is_flat(values), True
    delta = free / n_steps
    steps = np.arange(n_steps + 1)[:, None]
    levels = np.minimum(lower + steps * delta, upper)
    values = _evaluate(response, levels)
    caps = np.ceil((upper - lower) / delta - 1e-9).astype(int)
    if _is_flat(values):
        return _fill_to_total(current.copy(), lower, upper, total), True, True
    alloc = _grid_allocation(values, caps, n_steps)
    start = _fill_to_total(np.minimum(lower + alloc * delta, upper), lower, upper, total)
    spend, converged = _polish_total(response, start, lower, upper, total, 3 * delta, step)
    return spend, False, converged


def _target(response, current, lower, upper, price, n_steps):
    """Each channel maximises ``f_c(s) - price * s`` (price = target mROAS x horizon)."""
    grid = np.linspace(0.0, 1.0, n_steps + 1)[:, None]
    levels = lower + grid * (upper - lower)
    values = _evaluate(response, levels)
    if _is_flat(values):
        return np.clip(current, lower, upper), True
    net = values - price * levels
    best = np.argmax(net, axis=0)
    cols = np.arange(levels.shape[1])
    low = levels[np.maximum(best - 1, 0), cols]
    high = levels[np.minimum(best + 1, n_steps), cols]

    def score(s):
        return _evaluate(response, s)[0] - price * s

    polished = _golden_max(score, low, high)
    grid_best = levels[best, cols]
    candidates = np.vstack([grid_best, polished, lower, upper])
    scores = _evaluate(response, candidates) - price * candidates
    spend = candidates[np.argmax(scores, axis=0), cols]
    snap = 1e-9 * np.maximum(upper - lower, 1e-300)
    spend = np.where(spend - lower <= snap, lower, np.where(upper - spend <= snap, upper, spend))
    return spend, False


# ---- bootstrap draws --------------------------------------------------------------------------
def _interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = 50.0 * (1.0 - level)
    low, high = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
    return low, high


def optimise_over_draws(
    responses: Sequence[Response],
    current: np.ndarray,
    channels: Sequence[str],
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    total: float | None = None,
    target_mroas: float | None = None,
    horizon: int,
    level: float = 0.9,
    grid_steps: int = GRID_STEPS,
) -> BudgetDrawSummary:
    """The optimiser on every bootstrap draw (each with its own response): the spread of the
    optimal allocation, and of the gain over the current plan as **each draw's own** response
    sees it, so the interval answers "how sure are we that re-planning pays"."""
    if not 0 < level < 1:
        raise ConfigError(f"the interval level must be between 0 and 1, got {level!r}")
    if len(responses) == 0:
        raise InputDataError("there are no bootstrap draws to optimise the budget over")
    channels = _channels(channels)
    plans = [
        optimise_budget(
            r,
            current,
            channels,
            lower=lower,
            upper=upper,
            total=total,
            target_mroas=target_mroas,
            horizon=horizon,
            grid_steps=grid_steps,
        )
        for r in responses
    ]
    optimal = np.array([p.optimal for p in plans])
    mroas = np.array([p.mroas for p in plans])
    gains = np.array([p.expected_gain for p in plans])
    scale = np.array([np.abs(p.outcome_current).sum() for p in plans])
    positive = gains > 1e-9 * np.maximum(scale, 1e-300)
    bound_share = np.array([[bool(b) for b in p.bound_active] for p in plans]).mean(axis=0)
    opt_low, opt_high = _interval(optimal, level)
    m_low, m_high = _interval(mroas, level)
    g_low, g_high = _interval(gains, level)
    n_flat = sum(p.flat for p in plans)
    n_bad = sum(not p.converged for p in plans)
    messages = []
    if n_flat:
        messages.append(
            f"{n_flat} of {len(plans)} bootstrap draws have flat response curves over the bounds "
            "(no reallocation recommended in those draws)."
        )
    if n_bad:
        messages.append(
            f"In {n_bad} of {len(plans)} bootstrap draws the local polish did not converge "
            "(those plans are accurate to one grid step)."
        )
    partly = [
        (name, bound_share[i]) for i, name in enumerate(channels) if 0.2 <= bound_share[i] < 1
    ]
    if partly:
        listed = ", ".join(f"{name} {share:.0%}" for name, share in partly)
        messages.append(
            f"Share of bootstrap draws whose optimum holds the channel at a bound: {listed}. "
            "For those channels the bounds set the recommended spend as much as the data do."
        )
    return BudgetDrawSummary(
        channels=channels,
        level=float(level),
        optimal=optimal,
        mroas=mroas,
        gains=gains,
        optimal_ci_low=opt_low,
        optimal_ci_high=opt_high,
        mroas_ci_low=m_low,
        mroas_ci_high=m_high,
        gain_ci_low=float(g_low),
        gain_ci_high=float(g_high),
        prob_gain_positive=float(positive.mean()),
        bound_share=bound_share,
        n_flat=int(n_flat),
        n_not_converged=int(n_bad),
        messages=messages,
    )


# ---- tables -----------------------------------------------------------------------------------
def budget_tables(
    point_plan: BudgetPlanPoint,
    draw_summary: BudgetDrawSummary | None = None,
    channels: Sequence[str] | None = None,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> tuple[pd.DataFrame, BudgetSummary]:
    """The ``budget_plan`` table (:data:`BUDGET_PLAN_COLUMNS`, rows in the order of
    ``channels``) and the :class:`BudgetSummary` headline.

    Point values come from ``point_plan``; intervals and the probability of a gain from
    ``draw_summary`` (NaN without draws). ``lower``/``upper``, when given, are aligned with
    ``channels`` and must be the bounds the plan was optimised under (a guard against mixing
    up plans).
    """
    order = _channels(channels if channels is not None else point_plan.channels)
    if sorted(order) != sorted(point_plan.channels):
        raise ConfigError(
            f"budget table channels {list(order)} differ from the plan's "
            f"{list(point_plan.channels)}"
        )
    idx = np.array([point_plan.channels.index(c) for c in order])
    for given, own, what in (
        (lower, point_plan.lower, "lower"),
        (upper, point_plan.upper, "upper"),
    ):
        if given is not None and not np.allclose(_vector(given, order, f"{what} bound"), own[idx]):
            raise ConfigError(
                f"the {what} bounds given differ from those the plan was optimised under"
            )
    nan = np.full(len(order), np.nan)
    if draw_summary is not None:
        if sorted(draw_summary.channels) != sorted(order):
            raise ConfigError("the bootstrap budget summary has other channels than the plan")
        didx = np.array([draw_summary.channels.index(c) for c in order])
        opt_low, opt_high = draw_summary.optimal_ci_low[didx], draw_summary.optimal_ci_high[didx]
        m_low, m_high = draw_summary.mroas_ci_low[didx], draw_summary.mroas_ci_high[didx]
    else:
        opt_low = opt_high = m_low = m_high = nan
    current, optimal = point_plan.current[idx], point_plan.optimal[idx]
    change = optimal - current
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = np.where(current > 0, change / np.where(current > 0, current, 1), np.nan)
    frame = pd.DataFrame(
        {
            "channel": list(order),
            "current_spend": current,
            "optimal_spend": optimal,
            "optimal_spend_ci_low": opt_low,
            "optimal_spend_ci_high": opt_high,
            "change": change,
            "change_pct": change_pct,
            "lower_bound": point_plan.lower[idx],
            "upper_bound": point_plan.upper[idx],
            "bound_active": [point_plan.bound_active[i] for i in idx],
            "mroas_at_optimum": point_plan.mroas[idx],
            "mroas_at_optimum_ci_low": m_low,
            "mroas_at_optimum_ci_high": m_high,
            "expected_outcome_current": point_plan.outcome_current[idx],
            "expected_outcome_optimal": point_plan.outcome_optimal[idx],
        },
        columns=list(BUDGET_PLAN_COLUMNS),
    )
    messages = list(point_plan.messages)
    if draw_summary is not None:
        messages += draw_summary.messages
    summary = BudgetSummary(
        horizon=point_plan.horizon,
        total_per_period=point_plan.total,
        expected_gain=point_plan.expected_gain,
        gain_ci_low=draw_summary.gain_ci_low if draw_summary is not None else float("nan"),
        gain_ci_high=draw_summary.gain_ci_high if draw_summary is not None else float("nan"),
        prob_gain_positive=(
            draw_summary.prob_gain_positive if draw_summary is not None else float("nan")
        ),
        mode=point_plan.mode,
        messages=messages,
    )
    return frame, summary
