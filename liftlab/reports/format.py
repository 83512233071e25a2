"""Display formatting every liftlab report shares: numbers, percentages, intervals, p-values,
decisions and config values as text.

Every helper accepts anything (None, NaN, strings, numpy scalars) and returns display text, so a
template never has to think about missing values; one home, so the four reports write a number,
a dash or a minus sign the same way.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import yaml

DECISIONS = ("win", "loss", "neutral", "inconclusive")


DASH = "—"


MINUS = "\u2212"


MAX_DETAIL_CHARS = 240


def num_or_nan(value: Any) -> float:
    """A finite float, or NaN for anything else (None, text, ±inf, and booleans: a flag is not a
    number to print)."""
    if isinstance(value, bool | np.bool_):
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def num_or_inf(value: Any) -> float:
    """Like :func:`num_or_nan` but keeps ±inf (an unbounded CI end is information)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def fmt_text(value: Any) -> str:
    """A string cell: '' for None/NaN so 'nan' never leaks into the page."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def fmt_signed(text: str) -> str:
    """Typographic minus, and no sign on a value that rounds to zero ('−0.00' reads as a loss)."""
    stripped = text.lstrip("+-")
    digits = "".join(ch for ch in stripped if ch.isdigit())
    if digits and set(digits) == {"0"}:
        text = stripped
    return text.replace("-", MINUS)


def fmt_pct(value: Any, *, signed: bool = True, digits: int | None = None) -> str:
    """0.182 -> '+18.2 %'. Small values get more decimals so +0.04 % does not read as +0.0 %."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if digits is None:
        digits = 1 if abs(x) >= 0.01 or x == 0 else 2
    sign = "+" if signed else ""
    return fmt_signed(f"{x * 100:{sign}.{digits}f} %")


def fmt_pct_bound(value: Any) -> str:
    """A CI end in percent; ±inf reads '−∞' / '+∞' (never 'inf'), NaN '—'."""
    x = num_or_inf(value)
    if math.isinf(x):
        return f"{MINUS}∞" if x < 0 else "+∞"
    return fmt_pct(x)


def fmt_ci(low: Any, high: Any) -> str:
    """'−1.2 % … +3.4 %' ('' when both ends are unknown), with ∞ for unbounded ends."""
    lo, hi = num_or_inf(low), num_or_inf(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{fmt_pct_bound(lo)} … {fmt_pct_bound(hi)}"


def fmt_num(value: Any, *, signed: bool = False) -> str:
    """Human-scale number: thousands separators for big values, 3 significant digits for small
    ones — always in fixed-point ('0.0000671', never '6.71e−05', which marketers misread)."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    sign = "+" if signed else ""
    ax = abs(x)
    if ax >= 1000:
        s = f"{x:{sign},.0f}"
    elif ax >= 1 or x == 0:
        s = f"{x:{sign},.2f}"
    elif ax < 5e-9:
        return "≈ 0"
    else:
        decimals = 2 - math.floor(math.log10(ax))
        s = f"{x:{sign}.{decimals}f}".rstrip("0")  # 3 significant digits, as '.3g' without 'e'
    return fmt_signed(s)


def fmt_int(value: Any) -> str:
    x = num_or_nan(value)
    return DASH if math.isnan(x) else f"{round(x):,}"


def fmt_pval(value: Any) -> str:
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if x < 1e-4:
        return "<0.0001"
    if x < 1e-3:
        return f"{x:.4f}"
    return f"{x:.3f}"


PERCENT_UNIT = "%"


def metric_unit(metric_type: Any, unit: Any = None) -> str:
    """The unit a metric's values are shown in: the configured ``unit`` when given, else '%'
    for proportions and '' (a plain number) for means and ratios."""
    text = fmt_text(unit).strip()
    if unit is not None and text.lower() != "nan":
        return text
    return PERCENT_UNIT if fmt_text(metric_type) == "proportion" else ""


def _is_percent(kind: Any) -> bool:
    return fmt_text(kind) in ("proportion", PERCENT_UNIT)


def _currency(kind: Any) -> str:
    """A currency symbol or code ('$', 'EUR'), or '' for plain numbers and metric types."""
    text = fmt_text(kind).strip()
    if text in ("", "proportion", "mean", "ratio", PERCENT_UNIT):
        return ""
    return text


def with_currency(number: str, symbol: str) -> str:
    """'+3.26' → '+$3.26' (a one-character symbol leads), '+3.26 EUR' (a code follows)."""
    if not symbol or number in (DASH, "≈ 0"):
        return number
    sign = number[0] if number[0] in ("+", MINUS) else ""
    body = number[len(sign) :]
    return f"{sign}{symbol}{body}" if len(symbol) == 1 else f"{sign}{body} {symbol}"


def fmt_money(value: Any, *, signed: bool = False, currency: str = "") -> str:
    """An amount as the money reports print it: whole units from 100 up ('$8,469', '−208 EUR'),
    cents below ('$10.77', '+$0.80', not '$0.8'), the number format under a cent ('—' when
    unknown), the ``currency`` placed by :func:`with_currency`; never scientific notation."""
    x = num_or_nan(value)
    sign = "+" if signed else ""
    if not math.isnan(x) and abs(x) >= 100:
        return with_currency(fmt_signed(f"{x:{sign},.0f}"), currency)
    if not math.isnan(x) and abs(x) >= 0.01:
        return with_currency(fmt_signed(f"{x:{sign},.2f}"), currency)
    return with_currency(fmt_num(value, signed=signed), currency)


def fmt_estimate(value: Any, kind: Any) -> str:
    """A metric value in its unit. ``kind`` is a unit from :func:`metric_unit` ('%', '$',
    'EUR', '') or a metric type: rates read as '4.56 %', money as '$3.26', the rest plainly."""
    if _is_percent(kind):
        return fmt_pct(value, signed=False, digits=2)
    return with_currency(fmt_num(value), _currency(kind))


def fmt_abs_diff(value: Any, kind: Any) -> str:
    """A difference in the metric's unit: percentage points for rates ('+0.49 pp')."""
    if _is_percent(kind):
        x = num_or_nan(value)
        if math.isnan(x):
            return DASH
        pp = x * 100
        decimals = 2 if abs(pp) >= 0.01 or pp == 0 else min(6, 1 - math.floor(math.log10(abs(pp))))
        return fmt_signed(f"{pp:+.{decimals}f} pp")
    return with_currency(fmt_num(value, signed=True), _currency(kind))


def fmt_abs_bound(value: Any, kind: Any) -> str:
    """An absolute-scale interval end ('+0.12 pp', '−3.41'); ±inf as '−∞' / '+∞'."""
    x = num_or_inf(value)
    if math.isinf(x):
        return f"{MINUS}∞" if x < 0 else "+∞"
    return fmt_abs_diff(x, kind)


def fmt_abs_ci(low: Any, high: Any, kind: Any) -> str:
    if math.isnan(num_or_inf(low)) and math.isnan(num_or_inf(high)):
        return ""
    return f"{fmt_abs_bound(low, kind)} … {fmt_abs_bound(high, kind)}"


def fmt_conf_label(alpha: Any) -> str:
    a = num_or_nan(alpha)
    if math.isnan(a) or not 0 < a < 1:
        return "CI"
    return f"{(1 - a) * 100:g} % CI"


def truncate(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact(value: Any) -> str:
    """One-line rendering of an audit detail or validation example (lists, dicts, numbers)."""
    value = plain_value(value)
    if isinstance(value, str):
        return truncate(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, bool | int):
        return str(value)
    try:
        return truncate(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return truncate(str(value))


def example_values(value: Any) -> str:
    """A validation example, quoted if it is a string so stray whitespace ('b ') is visible."""
    if isinstance(value, str):
        return truncate(json.dumps(value, ensure_ascii=False), 80)
    return truncate(compact(value), 80)


def plain_value(value: Any) -> Any:
    """Convert numpy/pandas/pathlib values to plain Python so YAML/JSON can serialise them."""
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date | pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def to_yaml(config: Mapping[str, Any] | None) -> str:
    if not config:
        return ""
    try:
        return yaml.safe_dump(
            plain_value(dict(config)), sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    except yaml.YAMLError:  # pragma: no cover - plain_value already made everything dumpable
        return json.dumps(plain_value(dict(config)), indent=2, default=str)


def truthy(value: Any) -> bool:
    """True for True/1/"true"; False for False, NaN, None (a NaN flag must not raise an alarm)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    try:
        return bool(value)
    except (TypeError, ValueError):
        return False


def fmt_decision(value: Any) -> str:
    text = fmt_text(value).strip().lower()
    return text if text in DECISIONS else ""


def audit_rows(audits: list[dict] | None) -> list[dict[str, Any]]:
    rows = []
    for audit in audits or []:
        a = dict(audit)
        rin, rout = num_or_nan(a.get("rows_in")), num_or_nan(a.get("rows_out"))
        removed = rin - rout if not (math.isnan(rin) or math.isnan(rout)) else math.nan
        details = a.get("details") or {}
        if isinstance(details, Mapping):
            items = [(str(k), compact(v)) for k, v in details.items()]
        else:
            items = [("", compact(details))]
        changed = num_or_nan(a.get("values_changed"))
        rows.append(
            {
                "strategy": fmt_text(a.get("strategy")),
                "description": fmt_text(a.get("description")),
                "rows_in": fmt_int(rin),
                "rows_out": fmt_int(rout),
                "removed": fmt_int(removed) if not math.isnan(removed) else DASH,
                "removed_any": not math.isnan(removed) and removed != 0,
                "changed": fmt_int(changed),
                "changed_any": not math.isnan(changed) and changed != 0,
                "details": items,
            }
        )
    return rows


MODEL_METRIC_LABELS: dict[str, str] = {
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "MAE",
    "mape": "MAPE",
    "poisson_deviance": "Poisson deviance",
}
"""Readable names of the model metrics the training pipeline scores and ranks by
(``strategies.evaluation.METRIC_DIRECTIONS``): one home for the reports, charts and dashboard."""


def model_metric_label(metric: Any) -> str:
    """'poisson_deviance' → 'Poisson deviance', 'r2' → 'R²'; an unknown key reads with its
    underscores as spaces ('n_negative_predictions' → 'n negative predictions')."""
    key = str(metric)
    return MODEL_METRIC_LABELS.get(key, key.replace("_", " "))


def fmt_score(value: Any, metric: str = "") -> str:
    """A metric value: R² with 3 decimals ('0.155', '−0.057'), others with 4 significant
    digits, trailing zeros kept so a column lines up ('2.801', '4.150'); NaN is '—'."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if metric == "r2":
        text = f"{x:.3f}"
        if float(text) == 0:  # no '−0.000': a sign on a rounded zero is noise
            text = f"{0:.3f}"
    elif abs(x) >= 1e4:
        text = f"{x:,.0f}"
    elif x != 0 and abs(x) < 1e-3:
        text = f"{x:.2e}"
    else:
        text = f"{x:#.4g}".rstrip(".")
    return text.replace("-", MINUS)


def as_mapping(value: Any) -> dict[str, Any]:
    """A plain dict of ``value``, or ``{}`` when it is not a mapping (a missing section)."""
    return dict(value) if isinstance(value, Mapping) else {}


def fmt_instant(value: Any, pattern: str = "%Y-%m-%d %H:%M UTC") -> str:
    """An instant written in UTC with ``pattern`` ('' when unknown; text that is no instant is
    shown as it is). Naive values are taken as UTC, as the pipelines store UTC instants."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return fmt_text(value)
    if ts is pd.NaT:
        return ""
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime(pattern)
