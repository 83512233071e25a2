"""Render a marketing-mix run (:class:`strategies.mmm.result.MMMResult`) as one HTML page.

The sibling of :mod:`liftlab.reports.campaign_uplift`, built the same way: one self-contained
page (inline CSS from ``base.html.j2``, charts as inline SVG from
:mod:`liftlab.plots.marketing_mix`, no JavaScript, no network resources), Jinja2 with
autoescaping forced on, so every channel name, warning and config value is escaped.

The sections follow the order a marketer reads them: the headline (which channels drove the
outcome, what the recommended budget change is expected to add), contributions with intervals,
ROAS vs marginal ROAS, the decomposition over time, response curves, the budget plan,
calibration against experiments, validation, diagnostics and the definitions. Headlines are
worded from the intervals (DESIGN §2.7): a gain whose interval includes 0 is "not shown to gain".

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN
estimates or empty tables degrade to "—" and a note rather than an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from liftlab import __version__
from liftlab.config.marketing_mix import MarketingMixConfig
from liftlab.plots.marketing_mix import (
    budget_chart,
    channel_order,
    contribution_time_chart,
    response_curves_chart,
    roas_chart,
)
from liftlab.reports.format import (
    DASH,
    MINUS,
    as_mapping,
    fmt_int,
    fmt_money,
    fmt_num,
    fmt_pct,
    fmt_signed,
    fmt_text,
    num_or_nan,
    to_yaml,
    truthy,
)
from liftlab.reports.parts import (
    config_setting,
    header_context,
    inline_svg,
    load_template,
    run_items,
    validation_view,
)
from strategies.mmm.result import (
    BUDGET_PLAN_COLUMNS,
    CALIBRATION_COLUMNS,
    CV_COLUMNS,
    PARAMETER_COLUMNS,
    ROI_COLUMNS,
    MMMResult,
)

__all__ = ["SECTION_TITLES", "build_marketing_mix_report", "period_word"]

SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "channels": "Channel contributions",
    "returns": "ROAS vs marginal ROAS",
    "over_time": "Contribution over time",
    "curves": "Response curves",
    "budget": "Budget plan",
    "calibration": "Calibration",
    "validation": "Validation",
    "diagnostics": "Diagnostics",
    "method": "How to read this",
    "config": "Configuration",
}
"""Section id -> heading, in page order (public so tests and links share one source)."""

_TEMPLATE_NAME = "marketing_mix_report.html.j2"
_MIN_CHANGE = 0.05  # a channel moved by less than 5 % is "about the same" in the headline
_KIND_LABELS = {
    "baseline": "baseline (intercept + trend)",
    "seasonality": "seasonality",
    "control": "control",
    "channel": "media",
}


# --- formatting helpers: accept anything, return display text -------------------------------


_money = fmt_money


def _money_ci(low: Any, high: Any, currency: str = "", *, signed: bool = False) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return " … ".join(_money(x, signed=signed, currency=currency) for x in (lo, hi))


def _amount(value: Any, *, signed: bool = False) -> str:
    """An outcome amount: '12,345', '+4,555', '87.5' (whole units from 100 up)."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if abs(x) >= 100:
        return fmt_signed(f"{x:{'+' if signed else ''},.0f}")
    return fmt_num(x, signed=signed)


def _amount_ci(low: Any, high: Any, *, signed: bool = False) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{_amount(lo, signed=signed)} … {_amount(hi, signed=signed)}"


def _share(value: Any) -> str:
    return fmt_pct(value, signed=False)


def _share_ci(low: Any, high: Any) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{_share(lo).removesuffix(' %')} … {_share(hi)}"


def _ratio(value: Any, *, signed: bool = False) -> str:
    """ROAS-like ratios: '2.27', '0.086', '+0.08' (fixed point, 2 decimals or 3 digits)."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if abs(x) >= 0.1 or x == 0:
        return fmt_signed(f"{x:{'+' if signed else ''},.2f}")
    return fmt_num(x, signed=signed)


def _shift(shift: Any, before: Any) -> str:
    """A ROAS shift at the ROAS's own precision, with its relative size: '+0.41 (+24 %)'."""
    x, b = num_or_nan(shift), num_or_nan(before)
    if math.isnan(x):
        return DASH
    text = fmt_signed(f"{x:+,.2f}")
    if not math.isnan(b) and b > 0:
        text += f" ({fmt_signed(f'{x / b:+.0%}').replace('%', ' %')})"
    return text


def _ratio_ci(low: Any, high: Any) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{_ratio(lo)} … {_ratio(hi)}"


def _percent_value(value: Any) -> str:
    """A value already in percent (MAPE 4.1 -> '4.1 %')."""
    x = num_or_nan(value)
    return DASH if math.isnan(x) else f"{x:.1f} %"


def _date(value: Any) -> str:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return fmt_text(value)
    return "" if ts is pd.NaT else ts.strftime("%Y-%m-%d")


def _conf(level: float) -> str:
    return f"{level * 100:g} % CI"


def _frame(df: Any, columns: Sequence[str]) -> pd.DataFrame:
    """A copy with every expected column present (NaN when missing)."""
    out = df.copy() if isinstance(df, pd.DataFrame) else pd.DataFrame()
    for col in columns:
        if col not in out.columns:
            out[col] = np.nan
    return out.reset_index(drop=True)


def period_word(dates: Any) -> str:
    """'week' for weekly data, 'day' for daily, 'period' otherwise (from the median gap)."""
    values = pd.to_datetime(pd.Series(dates), errors="coerce").dropna().drop_duplicates()
    if len(values) < 2:
        return "period"
    days = float(np.median(np.diff(values.sort_values().to_numpy()).astype("timedelta64[s]")
                           .astype(float))) / 86400  # fmt: skip
    if round(days) == 7:
        return "week"
    if round(days) == 1:
        return "day"
    return "period"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- view models ------------------------------------------------------------------------------


def _roi_rows(roi: pd.DataFrame, order: list[str], currency: str) -> list[dict[str, Any]]:
    rows = []
    by_channel = {fmt_text(r["channel"]): r for r in roi.to_dict("records")}
    for channel in order:
        r = by_channel[channel]
        rows.append(
            {
                "channel": channel,
                "spend": _money(r["spend"], currency=currency),
                "contribution": _amount(r["contribution"]),
                "contribution_ci": _amount_ci(r["contribution_ci_low"], r["contribution_ci_high"]),
                "share": _share(r["share"]),
                "share_ci": _share_ci(r["share_ci_low"], r["share_ci_high"]),
                "share_width": max(0.0, min(100.0, num_or_nan(r["share"]) * 100))
                if not math.isnan(num_or_nan(r["share"]))
                else 0.0,
                "roas": _ratio(r["roas"]),
                "roas_ci": _ratio_ci(r["roas_ci_low"], r["roas_ci_high"]),
                "mroas": _ratio(r["mroas"]),
                "mroas_ci": _ratio_ci(r["mroas_ci_low"], r["mroas_ci_high"]),
                "mroas_raw": num_or_nan(r["mroas"]),
                "transform": " · ".join(
                    t for t in (fmt_text(r["adstock"]), fmt_text(r["saturation"])) if t
                ),
                "roas_uncalibrated": _ratio(r["roas_uncalibrated"]),
                "shift": _shift(r["roas_calibration_shift"], r["roas_uncalibrated"]),
                "shift_raw": num_or_nan(r["roas_calibration_shift"]),
            }
        )
    return rows


def _roi_total(roi: pd.DataFrame, currency: str) -> dict[str, str]:
    spend = pd.to_numeric(roi["spend"], errors="coerce")
    contribution = pd.to_numeric(roi["contribution"], errors="coerce")
    total_spend, total = float(spend.sum()), float(contribution.sum())
    return {
        "spend": _money(total_spend, currency=currency) if spend.notna().any() else DASH,
        "contribution": _amount(total) if contribution.notna().any() else DASH,
        "roas": _ratio(total / total_spend) if total_spend > 0 else DASH,
    }


def _share_sentence(roi: pd.DataFrame, order: list[str], conf: str) -> str:
    by_channel = {fmt_text(r["channel"]): r for r in roi.to_dict("records")}
    top = [c for c in order if not math.isnan(num_or_nan(by_channel[c]["share"]))][:3]
    if not top:
        return ""
    parts = []
    for i, channel in enumerate(top):
        r = by_channel[channel]
        ci = _share_ci(r["share_ci_low"], r["share_ci_high"])
        label = f"{conf} {ci}" if i == 0 and ci else ci
        parts.append(f"{channel} {_share(r['share'])}" + (f" ({label})" if label else ""))
    together = sum(num_or_nan(by_channel[c]["share"]) for c in top)
    lead = (
        f"{_and(top)} drove {_share(together)} of the media contribution: "
        if len(top) > 1
        else "The largest channel: "
    )
    return lead + "; ".join(parts) + "."


def _moves(plan: pd.DataFrame) -> tuple[list[str], list[str]]:
    """('email (+50 %)', …) increases and decreases of at least 5 %, largest first."""
    ups, downs = [], []
    for r in plan.to_dict("records"):
        pct = num_or_nan(r["change_pct"])
        if math.isnan(pct) or abs(pct) < _MIN_CHANGE:
            continue
        text = (fmt_text(r["channel"]), pct)
        (ups if pct > 0 else downs).append(text)
    ups.sort(key=lambda t: -t[1])
    downs.sort(key=lambda t: t[1])
    fmt = lambda t: f"{t[0]} ({fmt_pct(t[1])})"  # noqa: E731
    return [fmt(t) for t in ups[:3]], [fmt(t) for t in downs[:3]]


def _budget_view(
    result: MMMResult, plan: pd.DataFrame, currency: str, label: str, conf: str, period: str
) -> dict[str, Any]:
    budget = result.budget
    gain = num_or_nan(getattr(budget, "expected_gain", None))
    lo = num_or_nan(getattr(budget, "gain_ci_low", None))
    hi = num_or_nan(getattr(budget, "gain_ci_high", None))
    prob = num_or_nan(getattr(budget, "prob_gain_positive", None))
    horizon = int(num_or_nan(getattr(budget, "horizon", None)) or 0) if budget else 0
    mode = fmt_text(getattr(budget, "mode", ""))
    total = num_or_nan(getattr(budget, "total_per_period", None))
    current_total = float(pd.to_numeric(plan["current_spend"], errors="coerce").sum())
    optimal_total = float(pd.to_numeric(plan["optimal_spend"], errors="coerce").sum())
    horizon_text = f"the next {_plural(horizon, period)}" if horizon else "the planning horizon"

    if math.isnan(lo) or math.isnan(hi):
        verdict, tone = "unknown", "neutral"
    elif lo > 0:
        verdict, tone = "gain", "win"
    elif hi < 0:
        verdict, tone = "loss", "loss"
    else:
        verdict, tone = "not shown", "inconclusive"

    ups, downs = _moves(plan)
    if plan.empty or math.isnan(gain):
        sentence = "No budget recommendation in this run."
    else:
        if ups or downs:
            move = "Moving budget"
            if downs:
                move += f" away from {_and(downs)}"
            if ups:
                move += f" to {_and(ups)}"
        else:
            move = "Keeping the current split (no channel moves by 5 % or more)"
        if mode == "target_mroas":
            move += (
                f", spending each channel until its marginal ROAS reaches the target "
                f"({_money(current_total, currency=currency)} → "
                f"{_money(optimal_total, currency=currency)} per {period} in total),"
            )
        else:
            shown_total = total if not math.isnan(total) else current_total
            move += f", at the same total of {_money(shown_total, currency=currency)} per {period},"
        ci = f"{conf} {_amount_ci(lo, hi, signed=True)}"
        draws = f"{prob * 100:.0f} % of bootstrap draws gain" if not math.isnan(prob) else ""
        detail = "; ".join(x for x in (ci, draws) if x)
        amount = f"{_amount(gain, signed=True)} {label}"
        if verdict == "gain":
            sentence = (
                f"{move} is expected to add {_amount(gain)} {label} over {horizon_text} ({detail})."
            )
        elif verdict == "loss":
            sentence = (
                f"{move} is expected to lose {_amount(-gain)} {label} over {horizon_text} "
                f"({detail})."
            )
        elif verdict == "not shown":
            sentence = (
                f"{move} is not shown to gain: expected {amount} over {horizon_text} ({detail}). "
                "The interval includes no gain; keep the current plan or test the change first."
            )
        else:
            sentence = f"{move} is expected to change the outcome by {amount} over {horizon_text}."

    rows = []
    for r in plan.to_dict("records"):
        flag = fmt_text(r["bound_active"]).strip().lower()
        rows.append(
            {
                "channel": fmt_text(r["channel"]) or DASH,
                "current": _money(r["current_spend"], currency=currency),
                "optimal": _money(r["optimal_spend"], currency=currency),
                "optimal_ci": _money_ci(
                    r["optimal_spend_ci_low"], r["optimal_spend_ci_high"], currency
                ),
                "change": _money(r["change"], signed=True, currency=currency),
                "change_pct": fmt_pct(r["change_pct"]),
                "direction": "up"
                if num_or_nan(r["change_pct"]) >= _MIN_CHANGE
                else ("down" if num_or_nan(r["change_pct"]) <= -_MIN_CHANGE else "same"),
                "bounds": _money_ci(r["lower_bound"], r["upper_bound"], currency).replace(
                    " … ", " – "
                ),
                "bound_active": flag if flag in ("lower", "upper") else "",
                "mroas": _ratio(r["mroas_at_optimum"]),
                "mroas_ci": _ratio_ci(r["mroas_at_optimum_ci_low"], r["mroas_at_optimum_ci_high"]),
                "outcome_current": _amount(r["expected_outcome_current"]),
                "outcome_optimal": _amount(r["expected_outcome_optimal"]),
            }
        )
    out_cur = pd.to_numeric(plan["expected_outcome_current"], errors="coerce")
    out_opt = pd.to_numeric(plan["expected_outcome_optimal"], errors="coerce")
    return {
        "present": not plan.empty,
        "sentence": sentence,
        "verdict": verdict,
        "tone": tone,
        "gain": _amount(gain, signed=True),
        "gain_ci": _amount_ci(lo, hi, signed=True),
        "prob": f"{prob * 100:.0f} %" if not math.isnan(prob) else DASH,
        "horizon": horizon_text,
        "mode": "target marginal ROAS" if mode == "target_mroas" else "fixed total",
        "rows": rows,
        "total_current": _money(current_total, currency=currency) if not plan.empty else DASH,
        "total_optimal": _money(optimal_total, currency=currency) if not plan.empty else DASH,
        "total_outcome_current": _amount(out_cur.sum()) if out_cur.notna().any() else DASH,
        "total_outcome_optimal": _amount(out_opt.sum()) if out_opt.notna().any() else DASH,
        "messages": [fmt_text(m) for m in (getattr(budget, "messages", None) or []) if m],
        "n_bound": sum(bool(r["bound_active"]) for r in rows),
        "scenarios": _scenario_rows(result, currency),
    }


def _scenario_rows(result: MMMResult, currency: str) -> list[dict[str, str]]:
    """The budget-scenario table: the best split at other totals (point estimates)."""
    frame = getattr(result, "budget_scenarios", None)
    if frame is None or frame.empty:
        return []
    return [
        {
            "scenario": "recommended plan"
            if r["scenario"] == "plan"
            else f"total {fmt_signed(str(r['scenario'])).replace('%', ' %')}",
            "is_plan": r["scenario"] == "plan",
            "total": _money(r["total_per_period"], currency=currency),
            "outcome": _amount(r["expected_outcome"]),
            "gain": _amount(r["gain_vs_current"], signed=True),
            "extra": _money(r["extra_spend_vs_plan"], signed=True, currency=currency)
            if r["scenario"] != "plan"
            else DASH,
            "return": _ratio(r["return_on_extra_spend"]),
            "mroas": _ratio(r["marginal_roas"]),
            "bounds": str(int(r["channels_at_bounds"])),
        }
        for r in frame.to_dict("records")
    ]


def _decomposition(contributions: Any, label: str) -> dict[str, Any]:
    df = _frame(contributions, ("date", "component", "kind", "contribution"))
    if df.empty:
        return {"rows": [], "window": ""}
    values = pd.to_numeric(df["contribution"], errors="coerce")
    df = df.assign(_v=values, _c=df["component"].map(fmt_text), _k=df["kind"].map(fmt_text))
    totals = df.groupby(["_c", "_k"], sort=False)["_v"].sum().reset_index()
    grand = float(totals["_v"].sum())
    rank = {"baseline": 0, "seasonality": 1, "control": 2, "channel": 3}
    totals = totals.assign(_r=totals["_k"].map(lambda k: rank.get(k, 4)))
    totals = totals.sort_values(["_r", "_v"], ascending=[True, False])
    rows = [
        {
            "component": r["_c"] or DASH,
            "kind": _KIND_LABELS.get(r["_k"], r["_k"]),
            "total": _amount(r["_v"], signed=r["_k"] in ("seasonality", "control")),
            "share": fmt_pct(r["_v"] / grand, signed=r["_k"] in ("seasonality", "control"))
            if grand
            else DASH,
        }
        for r in totals.to_dict("records")
    ]
    dates = pd.to_datetime(df["date"], errors="coerce").dropna()
    window = f"{_date(dates.min())} to {_date(dates.max())}" if not dates.empty else ""
    media = float(totals.loc[totals["_k"] == "channel", "_v"].sum())
    return {
        "rows": rows,
        "window": window,
        "total": _amount(grand),
        "media": _amount(media),
        "media_share": _share(media / grand) if grand else DASH,
        "label": label,
    }


def _calibration_view(
    calibration: Any, roi_rows: list[dict[str, Any]], currency: str
) -> dict[str, Any]:
    df = _frame(calibration, CALIBRATION_COLUMNS)
    if df.empty:
        return {"present": False, "tests": [], "shifts": []}
    tests = []
    for r in df.to_dict("records"):
        measured, se = num_or_nan(r["measured"]), num_or_nan(r["se"])
        before, after = num_or_nan(r["model_uncalibrated"]), num_or_nan(r["model_calibrated"])

        def gap(model: float, measured: float = measured, se: float = se) -> str:
            if math.isnan(model) or math.isnan(measured) or not se > 0:
                return ""
            return f"{(model - measured) / se:+.1f} SE".replace("-", MINUS)

        tests.append(
            {
                "channel": fmt_text(r["channel"]) or DASH,
                "period": f"{_date(r['start'])} to {_date(r['end'])}",
                "spend_change": _money(r["spend_change"], currency=currency),
                "measured": _amount(measured),
                "se": _amount(se),
                "before": _amount(before),
                "before_gap": gap(before),
                "after": _amount(after),
                "after_gap": gap(after),
            }
        )
    tested = {t["channel"] for t in tests}
    shifts = [
        {**r, "tested": r["channel"] in tested}
        for r in roi_rows
        if not math.isnan(r["shift_raw"]) or r["channel"] in tested
    ]
    shifts.sort(key=lambda r: -abs(r["shift_raw"]) if not math.isnan(r["shift_raw"]) else 0)
    return {"present": True, "tests": tests, "shifts": shifts, "channels": sorted(tested)}


def _validation_view(result: MMMResult) -> dict[str, Any]:
    folds = _frame(result.cv_folds, CV_COLUMNS)
    rows = []
    for r in folds.to_dict("records"):
        mape, naive, trend = (
            num_or_nan(r[c]) for c in ("mape", "mape_seasonal_naive", "mape_trend")
        )
        rows.append(
            {
                "fold": fmt_int(r["fold"]),
                "train": f"{_date(r['train_start'])} to {_date(r['train_end'])}",
                "test": f"{_date(r['test_start'])} to {_date(r['test_end'])}",
                "mape": _percent_value(mape),
                "nrmse": fmt_pct(r["nrmse"], signed=False),
                "naive": _percent_value(naive),
                "trend": _percent_value(trend),
                "beats": not math.isnan(mape)
                and all(math.isnan(b) or mape < b for b in (naive, trend))
                and not (math.isnan(naive) and math.isnan(trend)),
            }
        )
    means = {
        c: float(pd.to_numeric(folds[c], errors="coerce").mean()) if not folds.empty else math.nan
        for c in ("mape", "nrmse", "mape_seasonal_naive", "mape_trend")
    }
    n_beats = sum(r["beats"] for r in rows)
    shares = result.cv_shares if isinstance(result.cv_shares, pd.DataFrame) else pd.DataFrame()
    stability: list[dict[str, Any]] = []
    fold_ids: list[str] = []
    if not shares.empty and {"fold", "channel", "share"} <= set(shares.columns):
        wide = shares.assign(share=pd.to_numeric(shares["share"], errors="coerce")).pivot_table(
            index="channel", columns="fold", values="share", aggfunc="first"
        )
        fold_ids = [fmt_int(f) for f in wide.columns]
        order = channel_order(result.roi) or list(wide.index)
        for channel in [c for c in order if c in wide.index] + [
            c for c in wide.index if c not in order
        ]:
            values = wide.loc[channel].to_numpy(float)
            spread = (
                float(np.nanmax(values) - np.nanmin(values))
                if np.isfinite(values).any()
                else math.nan
            )
            stability.append(
                {
                    "channel": fmt_text(channel),
                    "shares": [_share(v) for v in values],
                    "range": f"{spread * 100:.1f} pp" if not math.isnan(spread) else DASH,
                    "unstable": not math.isnan(spread) and spread > 0.1,
                }
            )
    return {
        "present": bool(rows),
        "rows": rows,
        "mean_mape": _percent_value(means["mape"]),
        "mean_nrmse": fmt_pct(means["nrmse"], signed=False),
        "mean_naive": _percent_value(means["mape_seasonal_naive"]),
        "mean_trend": _percent_value(means["mape_trend"]),
        "n_beats": n_beats,
        "n_folds": len(rows),
        "fold_ids": fold_ids,
        "stability": stability,
        "n_unstable": sum(s["unstable"] for s in stability),
    }


def _fit_stats_view(stats: Mapping[str, Any]) -> list[tuple[str, str]]:
    labels = {
        "r2": ("R² (in sample)", lambda v: f"{num_or_nan(v):.3f}"),
        "mape": ("MAPE (in sample)", _percent_value),
        "nrmse": ("NRMSE (RMSE / range of the outcome)", lambda v: fmt_pct(v, signed=False)),
        "sigma": ("Residual SD", _amount),
        "n_periods": ("Periods", fmt_int),
        "n_parameters": ("Parameters", fmt_int),
        "n_draws": ("Bootstrap draws", fmt_int),
        "n_failed_draws": ("Failed draws", fmt_int),
        "seconds": ("Fit time", lambda v: f"{num_or_nan(v):.1f} s"),
    }
    out = []
    for key, (label, fmt) in labels.items():
        if key in stats and not math.isnan(num_or_nan(stats[key])):
            out.append((label, fmt(stats[key])))
    for key, value in stats.items():
        if key not in labels and key != "interval_level" and not math.isnan(num_or_nan(value)):
            out.append((key.replace("_", " "), fmt_num(value)))
    return out


def _parameter_rows(parameters: Any) -> list[dict[str, Any]]:
    df = _frame(parameters, PARAMETER_COLUMNS)
    rows = []
    for r in df.to_dict("records"):
        lower, upper = num_or_nan(r["lower_bound"]), num_or_nan(r["upper_bound"])
        bounds = ""
        if not (math.isnan(lower) and math.isnan(upper)):
            bounds = f"{fmt_num(lower) if not math.isnan(lower) else '−∞'} – " + (
                fmt_num(upper) if not math.isnan(upper) else "∞"
            )
        rows.append(
            {
                "channel": fmt_text(r["channel"]) or "base",
                "parameter": fmt_text(r["parameter"]) or DASH,
                "estimate": fmt_num(r["estimate"]),
                "ci": " … ".join(fmt_num(r[c]) for c in ("ci_low", "ci_high"))
                if not (
                    math.isnan(num_or_nan(r["ci_low"])) and math.isnan(num_or_nan(r["ci_high"]))
                )
                else "",
                "bounds": bounds,
                "at_bound": truthy(r["at_bound"]),
            }
        )
    return rows


def _kpis(
    result: MMMResult,
    roi_rows: list[dict[str, Any]],
    decomposition: Mapping[str, Any],
    budget: Mapping[str, Any],
    validation: Mapping[str, Any],
    conf: str,
    label: str,
) -> list[dict[str, str]]:
    def card(key: str, title: str, value: str, sub: str, tone: str = "accent") -> dict[str, str]:
        return {"key": key, "label": title, "value": value, "sub": sub, "tone": tone}

    cards = []
    if roi_rows:
        top = roi_rows[0]
        sub = f"{top['share']} of the media contribution"
        if top["share_ci"]:
            sub += f" ({conf} {top['share_ci']})"
        cards.append(card("top_channel", "Largest channel", top["channel"], sub))
    if decomposition.get("rows"):
        cards.append(
            card(
                "media",
                f"Media-driven {label}",
                decomposition["media"],
                f"{decomposition['media_share']} of all {label} in the window",
                "neutral",
            )
        )
    if budget["present"]:
        sub = f"over {budget['horizon']}"
        if budget["gain_ci"]:
            sub += f"; {conf} {budget['gain_ci']}"
        if budget["prob"] != DASH:
            sub += f"; {budget['prob']} of draws gain"
        title = "Recommended plan" + (
            "" if budget["verdict"] != "not shown" else ": not shown to gain"
        )
        cards.append(card("gain", title, f"{budget['gain']} {label}", sub, budget["tone"]))
    stats = result.fit_stats or {}
    r2 = num_or_nan(stats.get("r2"))
    if not math.isnan(r2):
        sub = f"MAPE {_percent_value(stats.get('mape'))} in sample"
        cards.append(card("fit", "Model fit (R²)", f"{r2:.3f}", sub, "neutral"))
    if validation["present"]:
        tone = "ok" if validation["n_beats"] == validation["n_folds"] else "inconclusive"
        sub = (
            f"vs {validation['mean_naive']} seasonal naive, {validation['mean_trend']} trend; "
            f"better in {validation['n_beats']} of {validation['n_folds']} folds"
        )
        cards.append(card("cv", "Forecast MAPE (CV)", validation["mean_mape"], sub, tone))
    if result.warnings:
        n = len(result.warnings)
        cards.append(card("warnings", "Warnings", f"{n}", "read them before acting", "loss"))
    return cards


def _config_mapping(config: Any) -> dict[str, Any]:
    """The config as the values the run used: a typed config as it is, a complete mapping with
    the defaults filled in (so ``currency`` is '$' when the YAML does not say), anything else
    as given."""
    if isinstance(config, BaseModel):
        return config.model_dump(mode="json")
    raw = as_mapping(config)
    try:
        return MarketingMixConfig.model_validate(raw).model_dump(mode="json")
    except ValidationError:
        return raw


def _interval_level(config: Mapping[str, Any], stats: Mapping[str, Any]) -> float:
    boot = as_mapping(config_setting(config, "bootstrap", default={}))
    for value in (boot.get("interval_level"), stats.get("interval_level")):
        x = num_or_nan(value)
        if 0 < x < 1:
            return x
    return 0.9


# --- rendering ----------------------------------------------------------------------------


def build_marketing_mix_report(
    result: MMMResult,
    *,
    config: Any,
    validation: Mapping[str, Any] | None = None,
    run_info: Mapping[str, Any] | None = None,
) -> str:
    """The marketing-mix report as one HTML string (UTF-8, no external references).

    ``config`` is the run's :class:`~liftlab.config.marketing_mix.MarketingMixConfig` or a
    mapping of its values (``currency``, ``outcome_label``, ``bootstrap.interval_level`` are
    read; the rest is shown as the configuration); ``validation`` is the data table's
    ``ValidationReport.to_dict()``; ``run_info`` has ``pipeline``, ``run_name``,
    ``generated_at``, ``data_source``, ``git_commit``, ``mlflow_run_id``…
    """
    config_map = _config_mapping(config)
    run_info = as_mapping(run_info)
    stats = as_mapping(result.fit_stats)
    currency = fmt_text(config_setting(config_map, "currency", default="")).strip()
    label = fmt_text(config_setting(config_map, "outcome_label", default="")).strip() or "outcome"
    level = _interval_level(config_map, stats)
    conf = _conf(level)

    roi = _frame(result.roi, ROI_COLUMNS)
    roi = roi[roi["channel"].map(fmt_text) != ""]
    order = channel_order(roi)
    roi_rows = _roi_rows(roi, order, currency)
    plan = _frame(result.budget_plan, BUDGET_PLAN_COLUMNS)
    dates = (
        result.contributions["date"]
        if "date" in getattr(result.contributions, "columns", [])
        else []
    )
    period = period_word(dates)
    decomposition = _decomposition(result.contributions, label)
    budget = _budget_view(result, plan, currency, label, conf, period)
    validation_cv = _validation_view(result)
    warnings = [fmt_text(w) for w in (result.warnings or []) if fmt_text(w)]

    curves_ok = (
        isinstance(result.response_curves, pd.DataFrame) and not result.response_curves.empty
    )
    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        **header_context(run_info),
        "conf": conf,
        "level": f"{level * 100:g} %",
        "label": label,
        "period": period,
        "currency": currency or "spend units",
        "kpis": _kpis(result, roi_rows, decomposition, budget, validation_cv, conf, label),
        "share_sentence": _share_sentence(roi, order, conf),
        "roi_rows": roi_rows,
        "roi_total": _roi_total(roi, currency),
        "returns_notes": _returns_notes(roi_rows),
        "roas_svg": inline_svg(roas_chart(roi, interval_level=level)) if roi_rows else None,
        "decomposition": decomposition,
        "time_svg": inline_svg(
            contribution_time_chart(result.contributions, channels=order, outcome_label=label)
        )
        if decomposition["rows"]
        else None,
        "curves_svg": inline_svg(
            response_curves_chart(
                result.response_curves,
                plan,
                channels=order,
                currency=currency,
                outcome_label=label,
                interval_level=level,
            )
        )
        if curves_ok
        else None,
        "budget": budget,
        "budget_svg": inline_svg(budget_chart(plan, channels=order, currency=currency))
        if budget["present"]
        else None,
        "calibration": _calibration_view(result.calibration, roi_rows, currency),
        "cv": validation_cv,
        "validation": validation_view(validation),
        "warnings": warnings,
        "fit_stats": _fit_stats_view(stats),
        "parameters": _parameter_rows(result.parameters),
        "config_yaml": to_yaml(config_map),
        "run_items": run_items(run_info),
    }
    return load_template(_TEMPLATE_NAME).render(**context)


def _returns_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Which channel's next unit of spend earns most and least (by marginal ROAS)."""
    ranked = sorted(
        (r for r in rows if not math.isnan(r["mroas_raw"])), key=lambda r: -r["mroas_raw"]
    )
    if len(ranked) < 2:
        return []
    best, worst = ranked[0], ranked[-1]
    return [
        f"The next unit of spend earns most in {best['channel']} (marginal ROAS {best['mroas']}"
        + (f", {best['mroas_ci']}" if best["mroas_ci"] else "")
        + f") and least in {worst['channel']} ({worst['mroas']}"
        + (f", {worst['mroas_ci']}" if worst["mroas_ci"] else "")
        + ")."
    ]
