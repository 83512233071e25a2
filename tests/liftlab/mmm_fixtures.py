"""A realistic synthetic :class:`~strategies.mmm.result.MMMResult` for the report, publishing
and pipeline tests, built without the fit (which lives elsewhere and is slow).

Internally consistent on purpose, so tests can check the outputs against independent numbers:
156 weekly periods; 6 channels listed in a deliberately unsorted order; channel contributions are
``beta · hill(spend)`` per period (no carry-over, so a contribution is a closed form); shares sum
to 1; ROAS = contribution / spend; marginal ROAS is the closed-form Hill derivative; the budget
plan keeps the total and holds ``search`` at its upper bound; 4 CV folds; lift tests for ``tv``
only; two warnings. Intervals are symmetric multiplicative bands (not a real bootstrap) — only
their presence and formatting matter here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategies.mmm.result import (
    BUDGET_PLAN_COLUMNS,
    CALIBRATION_COLUMNS,
    CONTRIBUTION_COLUMNS,
    CV_COLUMNS,
    CV_SHARE_COLUMNS,
    PARAMETER_COLUMNS,
    RESPONSE_CURVE_COLUMNS,
    ROI_COLUMNS,
    BudgetSummary,
    MMMResult,
)

#: Channel order of the fixture: NOT sorted, so code that sorts by name somewhere shows.
CHANNELS: tuple[str, ...] = ("tv", "search", "social", "display", "email", "radio")
CONTROLS: tuple[str, ...] = ("price_index", "promotion")
N_PERIODS = 156
HORIZON = 13
START = "2022-01-03"  # a Monday
#: (mean weekly spend, beta = weekly contribution at full saturation, half_saturation, slope)
TRUTH: dict[str, tuple[float, float, float, float]] = {
    "tv": (42_000.0, 100_000.0, 45_000.0, 1.6),
    "search": (18_000.0, 70_000.0, 12_000.0, 1.1),
    "social": (12_000.0, 45_000.0, 14_000.0, 1.3),
    "display": (8_000.0, 32_000.0, 10_000.0, 1.0),
    "email": (1_500.0, 9_500.0, 2_500.0, 0.9),
    "radio": (6_000.0, 24_000.0, 9_000.0, 1.2),
}
WARNINGS: list[str] = [
    "display and radio spend move together (correlation 0.93): the split of their contribution "
    "between them is not identified by the data.",
    "radio's half_saturation is at its upper bound: its response is almost linear over the "
    "observed spend, so its marginal ROAS is uncertain.",
]
LIFT_TEST_CHANNEL = "tv"
BOUND_ACTIVE_CHANNEL = "email"


def hill(x: np.ndarray | float, half: float, slope: float) -> np.ndarray:
    x = np.asarray(x, float)
    return x**slope / (x**slope + half**slope)


def hill_derivative(x: np.ndarray | float, half: float, slope: float) -> np.ndarray:
    x = np.asarray(x, float)
    return slope * half**slope * x ** (slope - 1) / (x**slope + half**slope) ** 2


def _band(values: np.ndarray, rel: float) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, float)
    return values * (1 - rel), values * (1 + rel)


def _optimal_split(current: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Brute force: per channel the grid spend maximising ``f_c(s) - lam * s``, with ``lam``
    bisected until the total equals the current total (the Lagrangian of the fixed-total plan)."""
    grids = [np.linspace(lo, hi, 4001) for lo, hi in zip(lower, upper, strict=True)]
    values = [TRUTH[c][1] * hill(g, *TRUTH[c][2:]) for c, g in zip(CHANNELS, grids, strict=True)]

    def split(lam: float) -> np.ndarray:
        return np.array([g[np.argmax(v - lam * g)] for g, v in zip(grids, values, strict=True)])

    low, high = 0.0, 50.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if split(mid).sum() > current.sum() else (low, mid)
    return split(high)


def make_spend(seed: int = 0) -> pd.DataFrame:
    """Weekly spend per channel (columns = channel names), on/off flighting for some."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=N_PERIODS, freq="7D")
    spend = {}
    for i, channel in enumerate(CHANNELS):
        mean = TRUTH[channel][0]
        values = mean * rng.lognormal(-0.08, 0.4, N_PERIODS)
        if channel in ("tv", "radio"):  # flighting: some weeks dark
            values[rng.random(N_PERIODS) < 0.2] = 0.0
        values *= 1 + 0.2 * np.sin(2 * np.pi * (np.arange(N_PERIODS) / 52 + i / 6))
        spend[channel] = np.round(values, 2)
    return pd.DataFrame(spend, index=dates)


def make_mmm_result(*, calibrated: bool = True, seed: int = 0) -> MMMResult:
    """The fixture result. ``calibrated=False`` gives a run without lift tests (empty
    ``calibration``, NaN ``roas_uncalibrated``)."""
    rng = np.random.default_rng(seed + 1)
    spend = make_spend(seed)
    dates = spend.index
    t = np.arange(N_PERIODS)

    # -- contributions over time ---------------------------------------------------------------
    channel_contrib = {
        c: TRUTH[c][1] * hill(spend[c].to_numpy(), TRUTH[c][2], TRUTH[c][3]) for c in CHANNELS
    }
    base = {
        "baseline": 620_000.0 + 60_000.0 * t / (N_PERIODS - 1),
        "seasonality": 70_000.0 * np.sin(2 * np.pi * t / 52.18)
        + 25_000.0 * np.cos(4 * np.pi * t / 52.18),
        "price_index": -18_000.0 * np.sin(2 * np.pi * t / 26.0),
        "promotion": 40_000.0 * (rng.random(N_PERIODS) < 0.15),
    }
    kinds = {"baseline": "baseline", "seasonality": "seasonality"}
    rows = []
    for name, values in base.items():
        kind = kinds.get(name, "control")
        rows.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "component": name,
                    "kind": kind,
                    "contribution": values,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                }
            )
        )
    for c in CHANNELS:
        low, high = _band(channel_contrib[c], 0.25)
        rows.append(
            pd.DataFrame(
                {
                    "date": dates,
                    "component": c,
                    "kind": "channel",
                    "contribution": channel_contrib[c],
                    "ci_low": low,
                    "ci_high": high,
                }
            )
        )
    contributions = pd.concat(rows, ignore_index=True)[list(CONTRIBUTION_COLUMNS)]

    # -- ROI -----------------------------------------------------------------------------------
    total_spend = spend.sum().to_numpy()
    total_contrib = np.array([channel_contrib[c].sum() for c in CHANNELS])
    share = total_contrib / total_contrib.sum()
    roas = total_contrib / total_spend
    # mROAS: d contribution / d(scale) per unit spend = Σ beta·hill'(s_t)·s_t / Σ s_t
    mroas = np.array(
        [
            (
                TRUTH[c][1]
                * hill_derivative(spend[c].to_numpy(), TRUTH[c][2], TRUTH[c][3])
                * spend[c].to_numpy()
            ).sum()
            / spend[c].sum()
            for c in CHANNELS
        ]
    )
    c_lo, c_hi = _band(total_contrib, 0.2)
    s_lo, s_hi = _band(share, 0.18)
    r_lo, r_hi = _band(roas, 0.2)
    m_lo, m_hi = _band(mroas, 0.35)
    if calibrated:
        shift = np.where(np.array(CHANNELS) == LIFT_TEST_CHANNEL, -1.05, 0.08)
        uncal = roas - shift
    else:
        uncal = np.full(len(CHANNELS), np.nan)
        shift = np.full(len(CHANNELS), np.nan)
    roi = pd.DataFrame(
        {
            "channel": CHANNELS,
            "spend": total_spend,
            "contribution": total_contrib,
            "contribution_ci_low": c_lo,
            "contribution_ci_high": c_hi,
            "share": share,
            "share_ci_low": s_lo,
            "share_ci_high": s_hi,
            "roas": roas,
            "roas_ci_low": r_lo,
            "roas_ci_high": r_hi,
            "mroas": mroas,
            "mroas_ci_low": m_lo,
            "mroas_ci_high": m_hi,
            "roas_uncalibrated": uncal,
            "roas_calibration_shift": shift,
            "adstock": ["weibull", "geometric", "geometric", "geometric", "geometric", "geometric"],
            "saturation": ["hill"] * len(CHANNELS),
        }
    )[list(ROI_COLUMNS)]

    # -- parameters ----------------------------------------------------------------------------
    prow = []
    for c in CHANNELS:
        mean, beta, half, slope = TRUTH[c]
        half_upper = 5 * mean
        if c == "radio":
            half = half_upper
        values = {
            "alpha": (0.45, 0.0, 0.95),
            "half_saturation": (half, 0.05 * mean, half_upper),
            "slope": (slope, 0.5, 4.0),
            "beta": (beta, 0.0, np.inf),
        }
        if c == "tv":
            values = {"shape": (2.1, 0.5, 5.0), "scale": (3.2, 0.5, 8.0), **values}
            del values["alpha"]
        for name, (est, lower, upper) in values.items():
            lo, hi = est * 0.8, est * 1.2
            at = bool(np.isfinite(upper) and abs(est - upper) <= 1e-3 * (upper - lower))
            prow.append((c, name, est, lo, hi, lower, upper, at))
    for name, est in (
        ("intercept", 620_000.0),
        ("trend", 60_000.0),
        ("sin_1", 70_000.0),
        ("cos_2", 25_000.0),
        ("price_index", -18_000.0),
        ("promotion", 40_000.0),
    ):
        prow.append(
            ("", name, est, est - abs(est) * 0.1, est + abs(est) * 0.1, -np.inf, np.inf, False)
        )
    parameters = pd.DataFrame(prow, columns=list(PARAMETER_COLUMNS))

    # -- response curves -----------------------------------------------------------------------
    recent = spend.iloc[-HORIZON:].mean()
    curve_rows = []
    for c in CHANNELS:
        grid = np.linspace(0.0, 2.0 * float(spend[c].iloc[-HORIZON:].max()), 50)
        resp = TRUTH[c][1] * hill(grid, TRUTH[c][2], TRUTH[c][3])
        lo, hi = _band(resp, 0.22)
        curve_rows.append(
            pd.DataFrame(
                {
                    "channel": c,
                    "spend_per_period": grid,
                    "response": resp,
                    "response_ci_low": lo,
                    "response_ci_high": hi,
                }
            )
        )
    response_curves = pd.concat(curve_rows, ignore_index=True)[list(RESPONSE_CURVE_COLUMNS)]

    # -- budget plan: the optimum of the closed-form curves (fixed total, 0.5-1.5 x current) ---
    current = recent.to_numpy()
    lower, upper = current * 0.5, current * 1.5
    optimal = _optimal_split(current, lower, upper)
    optimal[CHANNELS.index("tv")] += current.sum() - optimal.sum()  # the grid's rounding
    bound_active = [
        "upper" if np.isclose(o, u) else ("lower" if np.isclose(o, lo_) else "")
        for o, lo_, u in zip(optimal, lower, upper, strict=True)
    ]
    mroas_opt = np.array(
        [
            TRUTH[c][1] * float(hill_derivative(optimal[i], TRUTH[c][2], TRUTH[c][3]))
            for i, c in enumerate(CHANNELS)
        ]
    )
    out_cur = np.array(
        [
            HORIZON * TRUTH[c][1] * float(hill(current[i], *TRUTH[c][2:]))
            for i, c in enumerate(CHANNELS)
        ]
    )
    out_opt = np.array(
        [
            HORIZON * TRUTH[c][1] * float(hill(optimal[i], *TRUTH[c][2:]))
            for i, c in enumerate(CHANNELS)
        ]
    )
    o_lo, o_hi = optimal * 0.85, np.minimum(optimal * 1.15, np.maximum(upper, optimal))
    mo_lo, mo_hi = _band(mroas_opt, 0.3)
    budget_plan = pd.DataFrame(
        {
            "channel": CHANNELS,
            "current_spend": current,
            "optimal_spend": optimal,
            "optimal_spend_ci_low": o_lo,
            "optimal_spend_ci_high": o_hi,
            "change": optimal - current,
            "change_pct": optimal / current - 1,
            "lower_bound": lower,
            "upper_bound": upper,
            "bound_active": bound_active,
            "mroas_at_optimum": mroas_opt,
            "mroas_at_optimum_ci_low": mo_lo,
            "mroas_at_optimum_ci_high": mo_hi,
            "expected_outcome_current": out_cur,
            "expected_outcome_optimal": out_opt,
        }
    )[list(BUDGET_PLAN_COLUMNS)]
    gain = float(out_opt.sum() - out_cur.sum())
    budget = BudgetSummary(
        horizon=HORIZON,
        total_per_period=float(current.sum()),
        expected_gain=gain,
        gain_ci_low=gain * 0.35,
        gain_ci_high=gain * 1.7,
        prob_gain_positive=0.97,
        mode="fixed_total",
        messages=[
            "email is held at its upper bound (1.5 × current); its marginal ROAS there is "
            f"{mroas_opt[CHANNELS.index('email')]:.2f}, above the others — loosening the bound "
            "would pay.",
        ],
    )

    # -- cross-validation ----------------------------------------------------------------------
    folds = []
    for k in range(4):
        test_start = N_PERIODS - (4 - k) * HORIZON
        folds.append(
            (
                k + 1,
                dates[0],
                dates[test_start - 1],
                dates[test_start],
                dates[test_start + HORIZON - 1],
                4.1 + 0.6 * k,
                0.062 + 0.005 * k,
                9.8 - 0.3 * k,
                7.4 + 0.2 * k,
            )
        )
    cv_folds = pd.DataFrame(folds, columns=list(CV_COLUMNS))
    cv_shares = pd.DataFrame(
        [
            (k + 1, c, share[i] * (1 + 0.04 * (k - 1.5) * (1 if i % 2 else -1)))
            for k in range(4)
            for i, c in enumerate(CHANNELS)
        ],
        columns=list(CV_SHARE_COLUMNS),
    )

    # -- calibration ---------------------------------------------------------------------------
    if calibrated:
        calibration = pd.DataFrame(
            [
                (LIFT_TEST_CHANNEL, dates[60], dates[67], 336_000.0, 412_000.0, 41_000.0,
                 780_000.0, 455_000.0),
                (LIFT_TEST_CHANNEL, dates[120], dates[123], 16_800.0, 23_500.0, 6_000.0,
                 41_000.0, 26_000.0),
            ],
            columns=list(CALIBRATION_COLUMNS),
        )  # fmt: skip
    else:
        calibration = pd.DataFrame(columns=list(CALIBRATION_COLUMNS))

    fit_stats = {
        "r2": 0.947,
        "mape": 3.8,
        "nrmse": 0.058,
        "sigma": 21_500.0,
        "n_periods": float(N_PERIODS),
        "n_parameters": 35.0,
        "seconds": 0.84,
        "n_draws": 200.0,
        "n_failed_draws": 1.0,
        "interval_level": 0.9,
    }
    model = {
        "channels": list(CHANNELS),
        "controls": list(CONTROLS),
        "params": {c: {"half_saturation": TRUTH[c][2], "slope": TRUTH[c][3]} for c in CHANNELS},
        "beta": [TRUTH[c][1] for c in CHANNELS],
        "start_date": START,
        "period_days": 7.0,
    }
    return MMMResult(
        contributions=contributions,
        roi=roi,
        parameters=parameters,
        response_curves=response_curves,
        budget_plan=budget_plan,
        budget=budget,
        cv_folds=cv_folds,
        cv_shares=cv_shares,
        calibration=calibration,
        fit_stats=fit_stats,
        warnings=list(WARNINGS),
        model=model,
        draw_models=[model, model],  # stand-ins for bootstrap draws (same payload format)
    )


def mmm_config_values(tmp_path=None) -> dict:
    """Parameters of a marketing-mix config matching the fixture (``output_dir`` and
    ``duckdb_path`` inside ``tmp_path`` when given)."""
    values: dict = {
        "data_path": "data/demo/mmm/mmm_weekly.csv",
        "channels": {c: f"{c}_spend" for c in CHANNELS},
        "controls": list(CONTROLS),
        "channel_transforms": {"tv": {"adstock": "weibull"}},
        "calibration": {"lift_tests": "data/demo/mmm/mmm_lift_tests.csv"},
        "budget": {"bounds": {"search": {"min_relative": 0.5, "max_relative": 1.5}}},
    }
    if tmp_path is not None:
        values["output_dir"] = str(tmp_path / "out")
        values["duckdb_path"] = str(tmp_path / "wh.duckdb")
    return values
