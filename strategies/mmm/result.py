"""What a marketing-mix run produces: the tables the report, the DuckDB gold tables, MLflow and the
dashboard read. One definition of each number (see :mod:`strategies.mmm.data`), so no two outputs
disagree.

Intervals are percentile intervals over the moving-block bootstrap draws at ``interval_level``
(default 0.9); point estimates come from the fit on the observed data. All money columns are in
spend units, all outcome columns in outcome units. ``window`` is the fitted data's whole period
range unless the column says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: ``contributions``: decomposition over time, long form. ``component`` is a channel name,
#: ``"baseline"`` (intercept + trend), ``"seasonality"`` or a control name; ``kind`` is
#: ``channel``/``baseline``/``seasonality``/``control``. CIs only for channels (else NaN).
CONTRIBUTION_COLUMNS = ("date", "component", "kind", "contribution", "ci_low", "ci_high")

#: ``roi``: one row per channel over the window.
ROI_COLUMNS = (
    "channel",
    "spend",
    "contribution",
    "contribution_ci_low",
    "contribution_ci_high",
    "share",  # contribution / sum of channel contributions
    "share_ci_low",
    "share_ci_high",
    "roas",
    "roas_ci_low",
    "roas_ci_high",
    "mroas",
    "mroas_ci_low",
    "mroas_ci_high",
    "roas_uncalibrated",  # NaN when the run has no lift tests
    "roas_calibration_shift",  # roas - roas_uncalibrated
    "adstock",
    "saturation",
)

#: ``parameters``: every fitted parameter with its bootstrap interval and bounds.
PARAMETER_COLUMNS = (
    "channel",  # "" for base coefficients
    "parameter",  # alpha, shape, scale, slope, half_saturation, lam, beta, intercept, trend, ...
    "estimate",
    "ci_low",
    "ci_high",
    "lower_bound",
    "upper_bound",
    "at_bound",  # bool: estimate within 1e-3 (relative to the range) of a bound
)

#: ``response_curves``: expected incremental outcome per period (over the planning horizon
#: including carry-over, divided by the horizon) for a constant spend per period.
RESPONSE_CURVE_COLUMNS = (
    "channel",
    "spend_per_period",
    "response",
    "response_ci_low",
    "response_ci_high",
)

#: ``budget_plan``: one row per channel; spend columns are per period.
BUDGET_PLAN_COLUMNS = (
    "channel",
    "current_spend",
    "optimal_spend",
    "optimal_spend_ci_low",
    "optimal_spend_ci_high",
    "change",
    "change_pct",  # relative change as a fraction (0.25 = +25 %)
    "lower_bound",
    "upper_bound",
    "bound_active",  # "lower", "upper" or ""
    "mroas_at_optimum",
    "mroas_at_optimum_ci_low",
    "mroas_at_optimum_ci_high",
    "expected_outcome_current",  # channel's incremental outcome over the horizon
    "expected_outcome_optimal",
)

#: ``budget_scenarios``: the fixed-total optimum at other total budgets (point estimates from
#: the point fit): what a smaller or larger budget would buy, and what its extra spend returns.
BUDGET_SCENARIO_COLUMNS = (
    "scenario",  # e.g. "−20 %", "plan", "+20 %"
    "total_per_period",
    "expected_outcome",  # incremental outcome of all channels over the horizon (incl. carry-over)
    "gain_vs_current",  # expected_outcome minus the current plan's, over the horizon
    "extra_spend_vs_plan",  # (total_per_period - the plan's total) * horizon
    "return_on_extra_spend",  # outcome change vs the plan / extra_spend_vs_plan (NaN at the plan)
    "marginal_roas",  # marginal ROAS at the optimum (channels not held by a bound)
    "channels_at_bounds",  # how many channels a bound holds
)

#: ``cv_folds``: rolling time-slice cross-validation, one row per fold.
CV_COLUMNS = (
    "fold",
    "train_start",
    "train_end",
    "test_start",
    "test_end",
    "mape",
    "nrmse",
    "mape_seasonal_naive",
    "mape_trend",
)

#: ``cv_shares``: each channel's contribution share fitted on each fold's training window.
CV_SHARE_COLUMNS = ("fold", "channel", "share")

#: ``calibration``: one row per lift test.
CALIBRATION_COLUMNS = (
    "channel",
    "start",
    "end",
    "spend_change",
    "measured",
    "se",
    "model_uncalibrated",
    "model_calibrated",
)


@dataclass
class BudgetSummary:
    """The plan's headline: what the recommended split is expected to add over the current one."""

    horizon: int  # periods
    total_per_period: float
    expected_gain: float  # outcome units over the horizon (incl. carry-over), optimal - current
    gain_ci_low: float
    gain_ci_high: float
    prob_gain_positive: float  # share of bootstrap draws whose own optimum beats current plan
    mode: str  # "fixed_total" or "target_mroas"
    messages: list[str] = field(default_factory=list)  # bound-active, vanishing gradients, ...


@dataclass
class MMMResult:
    """Everything one run computed. Frames follow the ``*_COLUMNS`` tuples above."""

    contributions: pd.DataFrame
    roi: pd.DataFrame
    parameters: pd.DataFrame
    response_curves: pd.DataFrame
    budget_plan: pd.DataFrame
    budget: BudgetSummary
    cv_folds: pd.DataFrame
    cv_shares: pd.DataFrame
    calibration: pd.DataFrame
    fit_stats: dict[str, float]  # r2, mape, nrmse, sigma, n_periods, n_parameters, seconds, ...
    warnings: list[str]  # identifiability and data warnings, plain sentences
    model: dict[str, Any]  # FittedMMM.to_dict(): JSON-safe, what the registry stores
    budget_scenarios: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(BUDGET_SCENARIO_COLUMNS))
    )
    #: The bootstrap draws as ``FittedMMM.to_dict()``: a later budget scenario (the dashboard)
    #: gets its interval from the same draws as the plan, without refitting.
    draw_models: list[dict[str, Any]] = field(default_factory=list)
