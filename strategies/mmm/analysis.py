"""One marketing-mix analysis, end to end: fit (calibrated when lift tests exist), moving-block
bootstrap, rolling cross-validation, the budget optimiser on the point fit and on every draw, and
the tables of :mod:`strategies.mmm.result`.

Why one function: every number the report, the gold tables and MLflow show must come from the
same fit and the same draws (one contribution definition, one interval method), and the pipeline
step that calls this stays a thin adapter.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategies.mmm.bootstrap import block_bootstrap
from strategies.mmm.cv import rolling_cv
from strategies.mmm.data import MMMData
from strategies.mmm.diagnostics import identifiability_warnings
from strategies.mmm.fit import FittedMMM, MMMSpec, fit_mmm
from strategies.mmm.lift_tests import small_test_warnings
from strategies.mmm.optimise import (
    budget_tables,
    optimise_budget,
    optimise_over_draws,
    resolve_bounds,
)
from strategies.mmm.outputs import (
    contribution_table,
    parameter_table,
    response_curve_table,
    roi_table,
)
from strategies.mmm.result import BUDGET_SCENARIO_COLUMNS, CALIBRATION_COLUMNS, MMMResult

#: A channel whose ROAS calibration moves by more than this share (relative) although it has no
#: lift test of its own gets a warning: a hidden driver the tests exposed moved to it instead.
SPILLOVER_SHIFT = 0.5
#: A lift test this many standard errors away from the uncalibrated model's lift is a conflict
#: worth saying out loud (the time series and the experiment disagree about the channel).
CONFLICT_Z = 3.0


@dataclass(frozen=True)
class MMMSettings:
    """Everything one analysis needs besides the data (built from the run config)."""

    spec: MMMSpec
    n_draws: int = 200
    block_length: int | None = None
    interval_level: float = 0.9
    cv_folds: int = 4
    cv_test_periods: int = 13
    horizon: int = 13
    total_per_period: float | None = None
    target_mroas: float | None = None
    bounds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    default_bounds_relative: tuple[float, float] = (0.5, 1.5)


def analyse_marketing_mix(
    data: MMMData,
    settings: MMMSettings,
    lift_tests: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
) -> MMMResult:
    """Fit, bootstrap, cross-validate and plan; ``notes`` (e.g. skipped campaign tests) are
    carried into the result's warnings."""
    started = time.perf_counter()
    tests = lift_tests if lift_tests is not None and len(lift_tests) else None
    spec, level = settings.spec, settings.interval_level
    point = fit_mmm(data, spec, tests)
    fitted_at = time.perf_counter()
    boot = block_bootstrap(
        data,
        spec,
        point,
        n_draws=settings.n_draws,
        block_length=settings.block_length,
        seed=spec.seed,
        lift_tests=tests,
    )
    draws = boot.draws
    cv = rolling_cv(
        data,
        lambda train: fit_mmm(train, spec, tests_within(tests, train)),
        n_folds=settings.cv_folds,
        test_periods=settings.cv_test_periods,
    )
    budget_plan, budget, scenarios = _plan_budget(point, draws, data, settings)
    roi = roi_table(point, draws, data, level, uncalibrated=point.uncalibrated)
    warnings = [  # what changes a decision first: experiments vs the time series, then data
        *notes,
        *_calibration_warnings(point, roi),
        *(small_test_warnings(tests, data) if tests is not None else []),
        *cv.messages,
        *identifiability_warnings(data, point, draws),
    ]
    residual = data.y - point.predict(data)
    y_range = float(np.ptp(data.y)) or 1.0
    fit_stats = {
        "r2": float(point.r2),
        "mape": float(np.mean(np.abs(residual / np.where(data.y != 0, data.y, np.nan))) * 100),
        "nrmse": float(np.sqrt(np.mean(residual**2)) / y_range),
        "sigma": float(point.sigma),
        "n_periods": float(data.n_periods),
        "n_channels": float(len(data.channels)),
        "n_lift_tests": float(0 if tests is None else len(tests)),
        "calibration_weight": float(spec.calibration_weight) if tests is not None else 0.0,
        "n_draws": float(len(draws)),
        "interval_level": float(level),
        "n_draws_failed": float(boot.n_failed),
        "block_length": float(boot.block_length),
        "fit_seconds": fitted_at - started,
        **{f"cv_{k}": float(v) for k, v in cv.summary.items()},
    }
    result = MMMResult(
        contributions=contribution_table(point, draws, data, level),
        roi=roi,
        parameters=parameter_table(point, draws, level),
        response_curves=response_curve_table(point, draws, settings.horizon, level=level),
        budget_plan=budget_plan,
        budget=budget,
        cv_folds=cv.folds,
        cv_shares=cv.shares,
        calibration=_calibration_table(point),
        fit_stats=fit_stats,
        warnings=list(dict.fromkeys(warnings)),
        model=point.to_dict(),
        budget_scenarios=scenarios,
        draw_models=[draw.to_dict() for draw in draws],
    )
    result.fit_stats["seconds"] = time.perf_counter() - started
    return result


def current_spend(data: MMMData, horizon: int) -> np.ndarray:
    """The current plan: average spend per period over the last ``horizon`` periods (the
    optimiser moves this split; a channel that went dark stays at 0 unless bounds say else)."""
    return data.spend[-min(horizon, data.n_periods) :].mean(axis=0)


def _plan_budget(
    point: FittedMMM, draws: Sequence[FittedMMM], data: MMMData, settings: MMMSettings
):
    horizon = settings.horizon
    current = current_spend(data, horizon)
    lower, upper = resolve_bounds(
        data.channels, current, settings.bounds, settings.default_bounds_relative
    )
    options = dict(
        lower=lower,
        upper=upper,
        total=settings.total_per_period,
        target_mroas=settings.target_mroas,
        horizon=horizon,
    )
    plan = optimise_budget(
        lambda levels: point.plan_response(levels, horizon), current, data.channels, **options
    )
    over_draws = optimise_over_draws(
        [_response(d, horizon) for d in draws],
        current,
        data.channels,
        level=settings.interval_level,
        **options,
    )
    plan_table, summary = budget_tables(plan, over_draws, data.channels, lower, upper)
    scenarios = budget_scenarios(
        lambda levels: point.plan_response(levels, horizon),
        current,
        data.channels,
        lower=lower,
        upper=upper,
        horizon=horizon,
        plan_total=plan.total,
    )
    return plan_table, summary, scenarios


#: Total budgets the scenario table shows, relative to the plan's total.
SCENARIO_FACTORS = (0.8, 0.9, 1.0, 1.1, 1.2)


def budget_scenarios(
    response,
    current: np.ndarray,
    channels: Sequence[str],
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    horizon: int,
    plan_total: float,
    factors: Sequence[float] = SCENARIO_FACTORS,
) -> pd.DataFrame:
    """The fixed-total optimum at ``factors`` × the plan's total (point estimates), skipping
    totals the bounds cannot reach. ``gain_vs_current`` compares with today's split, so the
    row at 1.0 × a plan that keeps today's total is the recommended plan's gain."""
    current_outcome = float(np.asarray(response(current[None, :]))[0].sum())
    plans = {}
    for factor in sorted({1.0, *factors}):
        total = plan_total * factor
        if lower.sum() - 1e-9 <= total <= upper.sum() + 1e-9:
            plans[factor] = optimise_budget(
                response, current, channels, lower=lower, upper=upper, total=total, horizon=horizon
            )
    plan_outcome = float(plans[1.0].outcome_optimal.sum()) if 1.0 in plans else np.nan
    rows = []
    for factor in factors:
        if factor not in plans:
            continue
        best = plans[factor]
        interior = [m for m, side in zip(best.mroas, best.bound_active, strict=True) if not side]
        outcome = float(best.outcome_optimal.sum())
        extra = (best.total - plan_total) * horizon
        rows.append(
            {
                "scenario": "plan" if factor == 1.0 else f"{factor - 1:+.0%}",
                "total_per_period": best.total,
                "expected_outcome": outcome,
                "gain_vs_current": outcome - current_outcome,
                "extra_spend_vs_plan": extra,
                "return_on_extra_spend": (outcome - plan_outcome) / extra
                if abs(extra) > 1e-9
                else np.nan,
                "marginal_roas": float(np.mean(interior)) if interior else np.nan,
                "channels_at_bounds": int(sum(bool(side) for side in best.bound_active)),
            }
        )
    return pd.DataFrame(rows, columns=list(BUDGET_SCENARIO_COLUMNS))


def _response(model: FittedMMM, horizon: int):
    return lambda levels: model.plan_response(levels, horizon)


def tests_within(tests: pd.DataFrame | None, data: MMMData) -> pd.DataFrame | None:
    """The lift tests that ended inside ``data``'s window (a CV fold must not see a test that
    ran during its test periods)."""
    if tests is None:
        return None
    first, last = pd.Timestamp(data.dates[0]), pd.Timestamp(data.dates[-1])
    inside = (pd.to_datetime(tests["start"]) >= first) & (pd.to_datetime(tests["end"]) <= last)
    kept = tests[inside]
    return kept if len(kept) else None


def _calibration_table(point: FittedMMM) -> pd.DataFrame:
    tests = point.lift_tests
    if tests is None or not len(tests):
        return pd.DataFrame(columns=list(CALIBRATION_COLUMNS))
    return pd.DataFrame(
        {
            "channel": tests["channel"].astype(str),
            "start": pd.to_datetime(tests["start"]),
            "end": pd.to_datetime(tests["end"]),
            "spend_change": tests["spend_change"].astype(float),
            "measured": tests["incremental_outcome"].astype(float),
            "se": tests["se"].astype(float),
            "model_uncalibrated": tests["model_lift_uncalibrated"].astype(float),
            "model_calibrated": tests["model_lift"].astype(float),
        }
    )[list(CALIBRATION_COLUMNS)]


def _calibration_warnings(point: FittedMMM, roi: pd.DataFrame) -> list[str]:
    """Say when the time series and an experiment disagree, and when calibrating one channel
    moved another channel's ROAS a lot (the hidden driver the test exposed went elsewhere)."""
    tests = point.lift_tests
    if tests is None or not len(tests):
        return []
    out = []
    for row in tests.itertuples(index=False):
        z = (row.model_lift_uncalibrated - row.incremental_outcome) / row.se
        if np.isfinite(z) and abs(z) > CONFLICT_Z:
            side = "more" if z > 0 else "less"
            out.append(
                f"Without calibration the model credits {row.channel} with "
                f"{_num(row.model_lift_uncalibrated)} for the test from {_day(row.start)} to "
                f"{_day(row.end)}, {abs(z):.0f} standard errors {side} than the experiment "
                f"measured ({_num(row.incremental_outcome)} ± {_num(row.se)}): the time series "
                f"alone mistakes something that moves with {row.channel}'s spend (demand, "
                "seasonality, another campaign) for its effect; the calibrated numbers follow "
                "the experiment."
            )
    tested = set(tests["channel"])
    for row in roi.itertuples(index=False):
        if (
            row.channel in tested
            or not np.isfinite(row.roas_uncalibrated)
            or row.roas_uncalibrated <= 0
        ):
            continue
        shift = row.roas / row.roas_uncalibrated - 1.0
        if abs(shift) > SPILLOVER_SHIFT:
            out.append(
                f"Calibration moved {row.channel}'s ROAS by {shift:+.0%} although "
                f"{row.channel} has no lift test: what the experiments took away from the "
                f"tested channel(s) went partly to {row.channel}. Treat its ROAS with care, or "
                "give it a test of its own."
            )
    return out


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")
