"""Render a campaign-uplift run (bronze → silver → gold) as one HTML page.

The sibling of :mod:`liftlab.reports.ab_testing` (A/B) and :mod:`liftlab.reports.training`,
built the same way: one self-contained page (inline CSS, charts as inline SVG from
:mod:`liftlab.plots.campaign_uplift`, no JavaScript, no network resources), Jinja2 with
autoescaping forced on so every campaign name, category, file path, config value and validation
example is escaped; the only unescaped markup is the SVG matplotlib produced.

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN
estimates, an empty funnel, no validation or a partial audit degrade to "—" and a note rather
than an exception."""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from liftlab import __version__
from liftlab.config.campaign_uplift import CampaignUpliftConfig
from liftlab.plots.campaign_uplift import (
    ALL_CATEGORIES,
    category_spend_chart,
    funnel_chart,
    roi_chart,
    spend_chart,
)
from liftlab.reports.format import (
    DASH,
    DECISIONS,
    as_mapping,
    fmt_conf_label,
    fmt_decision,
    fmt_instant,
    fmt_int,
    fmt_money,
    fmt_pct,
    fmt_pval,
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
    validation_tables,
)
from strategies.campaign_uplift import SUMMARY_COLUMNS

__all__ = [
    "ROI_DECISIONS",
    "SECTION_TITLES",
    "combined_revenue_ci",
    "render_campaign_report",
]

SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "campaigns": "Campaigns",
    "spend": "Target vs control",
    "roi": "ROI with confidence intervals",
    "funnel": "Funnel",
    "categories": "Categories",
    "data": "Data",
    "method": "Method",
    "config": "Configuration",
}
"""Section id -> heading, in page order (public so tests and links share one source)."""

ROI_DECISIONS: tuple[str, ...] = ("profitable", "unprofitable", "inconclusive", "no cost")
"""The ``roi_decision`` values of the gold table, in badge order."""

_SUMMARY_COLUMNS = SUMMARY_COLUMNS
_FUNNEL_STAGES = ("assigned", "sent", "opened", "clicked", "purchased")
_CORRECTIONS = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "bh": "Benjamini–Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni",
    "none": "no correction",
}
_TESTS = {
    "welch_t": "Welch t-test",
    "welch_t_cuped": "Welch t-test with CUPED",
}


# --- formatting helpers: accept anything, return display text -------------------------------


_money = fmt_money


def _money_ci(low: Any, high: Any, currency: str = "") -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return " … ".join(_money(x, signed=True, currency=currency) for x in (lo, hi))


def _roi(value: Any) -> str:
    """ROI as a signed percentage: 1.5 -> '+150 %', 131.32 -> '+13,132 %', −0.38 -> '−37.9 %'."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    pct = x * 100
    text = f"{pct:+,.0f} %" if abs(pct) >= 100 else f"{pct:+.1f} %"
    return fmt_signed(text)


def _roi_ci(low: Any, high: Any) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{_roi(lo).removesuffix(' %')} … {_roi(hi)}"


def _pp(value: Any) -> str:
    x = num_or_nan(value)
    return DASH if math.isnan(x) else fmt_signed(f"{x * 100:+.1f} pp")


def _pp_ci(low: Any, high: Any) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{_pp(lo).removesuffix(' pp')} … {_pp(hi)}"


def _rate(value: Any) -> str:
    return fmt_pct(value, signed=False)


def _timestamp(value: Any) -> str:
    """A send time as 'YYYY-MM-DD HH:MM UTC' (the pipeline stores UTC instants)."""
    return fmt_instant(value, "%Y-%m-%d %H:%M UTC")


def _roi_decision(value: Any) -> str:
    text = fmt_text(value).strip().lower()
    return text if text in ROI_DECISIONS else ""


def _alpha(config: Mapping[str, Any]) -> float:
    a = num_or_nan(config_setting(config, "alpha", default=0.05))
    return a if 0 < a < 1 else 0.05


# --- statistics -------------------------------------------------------------------------------


def combined_revenue_ci(
    estimates: Any, ci_low: Any, ci_high: Any, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Sum of independent estimates with its two-sided (1 − alpha) normal CI.

    Each estimate's standard error is recovered from its symmetric CI as
    ``se = (high − low) / (2 · z)`` with ``z`` the (1 − alpha/2) normal quantile, and the sum's
    SE is ``sqrt(Σ se²)``: adding CI bounds instead would assume every campaign is at its
    worst (or best) at once, a far too wide interval. Returns ``(total, low, high)``; the bounds
    are NaN unless every estimate has finite bounds (the total alone is still returned).
    """
    est = pd.to_numeric(pd.Series(estimates, dtype=object), errors="coerce").to_numpy(float)
    lo = pd.to_numeric(pd.Series(ci_low, dtype=object), errors="coerce").to_numpy(float)
    hi = pd.to_numeric(pd.Series(ci_high, dtype=object), errors="coerce").to_numpy(float)
    keep = np.isfinite(est)
    if not keep.any():
        return math.nan, math.nan, math.nan
    total = float(est[keep].sum())
    if not (0 < alpha < 1) or lo.size != est.size or hi.size != est.size:
        return total, math.nan, math.nan
    lo, hi = lo[keep], hi[keep]
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or (hi < lo).any():
        return total, math.nan, math.nan
    z = NormalDist().inv_cdf(1 - alpha / 2)
    se = (hi - lo) / (2 * z)
    half = z * float(np.sqrt(np.sum(se**2)))
    return total, total - half, total + half


# --- view models ------------------------------------------------------------------------------


def _summary_frame(summary: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(campaign total rows, category rows), each with every summary column present."""
    df = summary.copy() if isinstance(summary, pd.DataFrame) else pd.DataFrame()
    has_category = "category" in df.columns
    for col in _SUMMARY_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    df = df.reset_index(drop=True)
    if df.empty:
        return df, df
    cat = df["category"].map(lambda v: fmt_text(v).strip().lower())
    is_all = cat.eq(ALL_CATEGORIES) | cat.eq("") if has_category else pd.Series(True, df.index)
    return df[is_all].reset_index(drop=True), df[~is_all].reset_index(drop=True)


def _row_view(r: Mapping[str, Any], currency: str = "") -> dict[str, Any]:
    decision = fmt_decision(r.get("decision"))
    roi_decision = _roi_decision(r.get("roi_decision"))
    status = fmt_text(r.get("status")).strip()
    test = fmt_text(r.get("test")).strip()
    vr = num_or_nan(r.get("variance_reduction"))
    srm_p = num_or_nan(r.get("srm_p_value"))
    return {
        "campaign_id": fmt_text(r.get("campaign_id")) or DASH,
        "campaign_name": fmt_text(r.get("campaign_name")),
        "channel": fmt_text(r.get("channel")),
        "send_at": _timestamp(r.get("send_at")),
        "category": fmt_text(r.get("category")) or DASH,
        "n_target": fmt_int(r.get("n_target")),
        "n_control": fmt_int(r.get("n_control")),
        "open_rate": _rate(r.get("open_rate")),
        "ctr": _rate(r.get("click_through_rate")),
        "cto": _rate(r.get("click_to_open_rate")),
        "conv_target": _rate(r.get("conversion_rate_target")),
        "conv_control": _rate(r.get("conversion_rate_control")),
        "conv_uplift": _pp(r.get("conversion_uplift")),
        "conv_ci": _pp_ci(r.get("conversion_uplift_ci_low"), r.get("conversion_uplift_ci_high")),
        "conv_p": fmt_pval(r.get("conversion_p_value")),
        "spend_target": _money(r.get("spend_per_customer_target"), currency=currency),
        "spend_control": _money(r.get("spend_per_customer_control"), currency=currency),
        "incremental": _money(
            r.get("incremental_spend_per_customer"), signed=True, currency=currency
        ),
        "incremental_ci": _money_ci(
            r.get("incremental_spend_ci_low"), r.get("incremental_spend_ci_high"), currency
        ),
        "p": fmt_pval(r.get("p_value")),
        "p_adj": fmt_pval(r.get("p_value_adjusted")),
        "test": _TESTS.get(test, test),
        "variance_reduction": fmt_pct(vr, signed=False) if not math.isnan(vr) else DASH,
        "cuped": test.endswith("cuped"),
        "revenue": _money(r.get("incremental_revenue"), signed=True, currency=currency),
        "revenue_ci": _money_ci(
            r.get("incremental_revenue_ci_low"), r.get("incremental_revenue_ci_high"), currency
        ),
        "cost_per_contact": _money(r.get("cost_per_contact"), currency=currency),
        "cost": _money(r.get("campaign_cost"), currency=currency),
        "roi": _roi(r.get("roi")),
        "roi_ci": _roi_ci(r.get("roi_ci_low"), r.get("roi_ci_high")),
        "decision": decision,
        "decision_raw": fmt_text(r.get("decision")),
        "roi_decision": roi_decision,
        "roi_decision_raw": fmt_text(r.get("roi_decision")),
        "roi_class": roi_decision.replace(" ", "-") if roi_decision else "none",
        "srm": truthy(r.get("srm_detected")),
        "srm_p": fmt_pval(srm_p) if not math.isnan(srm_p) else "",
        "status": status if status and status != "ok" else "",
    }


def _kpis(total: pd.DataFrame, config: Mapping[str, Any]) -> list[dict[str, str]]:
    def card(key: str, label: str, value: str, sub: str, tone: str = "accent") -> dict[str, str]:
        return {"key": key, "label": label, "value": value, "sub": sub, "tone": tone}

    alpha = _alpha(config)
    currency = fmt_text(config_setting(config, "currency", default="")).strip()
    conf = fmt_conf_label(alpha)
    ids = [c for c in total["campaign_id"].map(fmt_text).tolist() if c]
    n = len(dict.fromkeys(ids)) if ids else len(total)
    n_target = pd.to_numeric(total["n_target"], errors="coerce")
    n_control = pd.to_numeric(total["n_control"], errors="coerce")
    customers = (
        f"{int(n_target.sum()):,} target · {int(n_control.sum()):,} control customers"
        if n_target.notna().any() or n_control.notna().any()
        else "no group sizes recorded"
    )
    cards = [card("campaigns", "Campaigns analysed", f"{n:,}", customers)]

    revenue = pd.to_numeric(total["incremental_revenue"], errors="coerce")
    rev, rev_lo, rev_hi = combined_revenue_ci(
        total["incremental_revenue"],
        total["incremental_revenue_ci_low"],
        total["incremental_revenue_ci_high"],
        alpha=alpha,
    )
    if math.isnan(rev):
        cards.append(card("revenue", "Incremental revenue", DASH, "no estimates", "neutral"))
    else:
        missing = int(revenue.isna().sum())
        if not math.isnan(rev_lo):
            sub = f"{conf} {_money_ci(rev_lo, rev_hi, currency)} (campaigns assumed independent)"
        else:
            sub = "sum of point estimates; CIs are per campaign"
        if missing:
            sub += f"; {missing} campaign{'' if missing == 1 else 's'} without an estimate"
        tone = (
            "win"
            if rev_lo > 0
            else "loss"
            if rev_hi < 0
            else "inconclusive"
            if not math.isnan(rev_lo)
            else "accent"
        )
        revenue_text = _money(rev, signed=True, currency=currency)
        cards.append(card("revenue", "Incremental revenue", revenue_text, sub, tone))

    cost_s = pd.to_numeric(total["campaign_cost"], errors="coerce")
    cost = float(cost_s.sum()) if cost_s.notna().any() else math.nan
    contacts = int(n_target[cost_s.notna()].sum()) if n_target.notna().any() else 0
    cards.append(
        card(
            "cost",
            "Total cost",
            _money(cost, currency=currency),
            f"{contacts:,} contacted target customers" if contacts else "cost per contact × target",
            "neutral",
        )
    )

    # Overall ROI over the campaigns with both a revenue estimate and a cost.
    both = revenue.notna() & cost_s.notna() & (cost_s > 0)
    if both.any():
        c = float(cost_s[both].sum())
        r, r_lo, r_hi = combined_revenue_ci(
            total.loc[both, "incremental_revenue"],
            total.loc[both, "incremental_revenue_ci_low"],
            total.loc[both, "incremental_revenue_ci_high"],
            alpha=alpha,
        )
        roi, roi_lo, roi_hi = (r - c) / c, (r_lo - c) / c, (r_hi - c) / c
        sub = (
            f"{conf} {_roi_ci(roi_lo, roi_hi)}"
            if not math.isnan(roi_lo)
            else "(incremental revenue − cost) / cost"
        )
        tone = (
            "win"
            if roi_lo > 0
            else "loss"
            if roi_hi < 0
            else "inconclusive"
            if not math.isnan(roi_lo)
            else ("win" if roi > 0 else "loss")
        )
        cards.append(card("roi", "Overall ROI", _roi(roi), sub, tone))
    else:
        cards.append(
            card("roi", "Overall ROI", DASH, "no campaign with revenue and cost", "neutral")
        )

    roi_dec = total["roi_decision"].map(_roi_decision)
    profitable = int((roi_dec == "profitable").sum())
    unprofitable = int((roi_dec == "unprofitable").sum())
    sub = "ROI CI entirely above 0"
    if unprofitable:
        sub += f"; {unprofitable} unprofitable"
    cards.append(
        card(
            "profitable",
            "Profitable campaigns",
            f"{profitable} of {n}",
            sub,
            "win" if profitable else ("loss" if unprofitable else "neutral"),
        )
    )
    wins = int((total["decision"].map(fmt_decision) == "win").sum())
    cards.append(
        card(
            "wins",
            "Spend wins",
            f"{wins} of {n}",
            "significant incremental spend (adjusted p)",
            "win" if wins else "neutral",
        )
    )
    return cards


def _funnel_view(funnel: Any) -> list[dict[str, Any]]:
    """Counts and rates behind the funnel chart, one block per campaign."""
    df = funnel if isinstance(funnel, pd.DataFrame) else pd.DataFrame()
    if df.empty or not {"campaign_id", "group", "stage"}.issubset(df.columns):
        return []
    out = []
    for cid, sub in df.groupby(df["campaign_id"].map(fmt_text), sort=True):
        groups = []
        for group in ("target", "control"):
            g = sub[sub["group"].map(lambda v: fmt_text(v).strip().lower()) == group]
            if g.empty:
                continue
            cells = {}
            for r in g.to_dict("records"):
                stage = fmt_text(r.get("stage")).strip().lower()
                rate = num_or_nan(r.get("rate"))
                customers, assigned = (
                    num_or_nan(r.get("customers")),
                    num_or_nan(r.get("assigned")),
                )
                if math.isnan(rate) and assigned > 0:
                    rate = customers / assigned
                cells[stage] = {"customers": fmt_int(customers), "rate": _rate(rate)}
            groups.append(
                {
                    "group": group,
                    "cells": [cells.get(s, {"customers": "", "rate": ""}) for s in _FUNNEL_STAGES],
                }
            )
        if groups:
            out.append({"campaign_id": cid or DASH, "groups": groups})
    return out


def _bronze_view(bronze_audit: Any) -> list[dict[str, Any]]:
    rows = []
    for a in bronze_audit if isinstance(bronze_audit, list | tuple) else []:
        if not isinstance(a, Mapping):
            continue
        columns = a.get("columns")
        columns = list(columns) if isinstance(columns, list | tuple) else []
        dup = num_or_nan(a.get("exact_duplicate_rows"))
        rows.append(
            {
                "table": fmt_text(a.get("table")) or DASH,
                "file": fmt_text(a.get("file")),
                "rows": fmt_int(a.get("rows")),
                "n_columns": f"{len(columns)}" if columns else DASH,
                "columns": ", ".join(fmt_text(c) for c in columns),
                "duplicates": fmt_int(dup),
                "duplicates_any": not math.isnan(dup) and dup > 0,
            }
        )
    return rows


def _per_campaign(value: Any) -> tuple[list[tuple[str, str]], int]:
    """{campaign: n} as display pairs (non-zero first) and the total."""
    if not isinstance(value, Mapping):
        return [], 0
    items = []
    total = 0
    for k, v in value.items():
        n = num_or_nan(v)
        if not math.isnan(n):
            total += int(n)
        items.append((fmt_text(k) or DASH, fmt_int(n), 0 if math.isnan(n) else n))
    items.sort(key=lambda t: (-t[2], t[0]))
    return [(k, text) for k, text, _ in items], total


def _silver_view(silver_audit: Any) -> dict[str, Any]:
    s = as_mapping(silver_audit)
    if not s:
        return {"present": False}
    ambiguous, n_ambiguous = _per_campaign(s.get("ambiguous_assignments_excluded"))
    contaminated, n_contaminated = _per_campaign(s.get("contaminated_controls"))
    categories = s.get("categories")
    categories = [fmt_text(c) for c in categories] if isinstance(categories, list | tuple) else []
    return {
        "present": True,
        "window_days": fmt_int(s.get("window_days")),
        "pre_window_days": fmt_int(s.get("pre_window_days")),
        "rows": fmt_int(s.get("rows")),
        "categories": categories,
        "ambiguous": ambiguous,
        "n_ambiguous": n_ambiguous,
        "contaminated": contaminated,
        "n_contaminated": n_contaminated,
    }


def _method_view(
    config: Mapping[str, Any], silver: Mapping[str, Any], total: pd.DataFrame
) -> dict[str, Any]:
    window = num_or_nan(config_setting(config, "window_days"))
    if math.isnan(window):
        window = num_or_nan(silver.get("window_days"))
    if math.isnan(window):
        values = pd.to_numeric(total["window_days"], errors="coerce").dropna()
        window = float(values.iloc[0]) if not values.empty else math.nan
    pre = num_or_nan(config_setting(config, "pre_window_days"))
    if math.isnan(pre):
        pre = num_or_nan(silver.get("pre_window_days"))
    tests = {fmt_text(t).strip() for t in total["test"]} - {""}
    cuped_setting = config_setting(config, "cuped")
    cuped = (
        truthy(cuped_setting)
        if cuped_setting is not None
        else any(t.endswith("cuped") for t in tests)
    )
    correction = (
        fmt_text(config_setting(config, "correction", default="holm")).strip().lower() or "holm"
    )
    min_effect = num_or_nan(config_setting(config, "min_effect", default=0.02))
    alpha = _alpha(config)
    return {
        "window": fmt_int(window) if not math.isnan(window) else "window_days",
        "pre_window": fmt_int(pre) if not math.isnan(pre) else "pre_window_days",
        "cuped": cuped,
        "correction": _CORRECTIONS.get(correction, correction),
        "no_correction": correction == "none",
        "alpha": f"{alpha:g}",
        "conf": fmt_conf_label(alpha),
        "min_effect": fmt_pct(min_effect, signed=False) if not math.isnan(min_effect) else DASH,
        "timezone": fmt_text(config_setting(config, "naive_timezone", default="UTC")) or "UTC",
    }


def _has(df: pd.DataFrame, *columns: str) -> bool:
    return any(pd.to_numeric(df[c], errors="coerce").notna().any() for c in columns)


# --- rendering ----------------------------------------------------------------------------


def render_campaign_report(
    *,
    summary: pd.DataFrame,
    funnel: pd.DataFrame,
    bronze_audit: list[dict],
    silver_audit: dict,
    validation: dict,
    config: CampaignUpliftConfig | Mapping[str, Any] | None,
    run_info: dict,
) -> str:
    """Build the campaign-uplift report as one HTML string (UTF-8, no external references).

    ``summary`` and ``funnel`` are the gold tables of
    :func:`strategies.campaign_uplift.summarise_campaigns` (``category == "all"`` rows are the
    campaigns, the others their categories); ``bronze_audit`` is the list returned by
    :func:`~strategies.campaign_uplift.build_bronze`; ``silver_audit`` is
    :attr:`SilverResult.audit`; ``validation`` maps each table to
    :meth:`strategies.validation.ValidationReport.to_dict`; ``config`` is the run's typed config
    or a mapping (``alpha``, ``correction``, ``window_days``… at the top level or under
    ``parameters``);
    ``run_info`` has ``pipeline``, ``run_name``, ``generated_at``, ``data_source``,
    ``git_commit``, ``mlflow_run_id``. Any of them may be empty or partial: the page then says
    what is missing.
    """
    if isinstance(config, BaseModel):  # the run's typed config: shown as the values it holds
        config = config.model_dump(mode="json")
    config = as_mapping(config)
    run_info = as_mapping(run_info)
    silver = as_mapping(silver_audit)
    total, categories = _summary_frame(summary)
    funnel_df = funnel if isinstance(funnel, pd.DataFrame) else pd.DataFrame()

    spend_ok = not total.empty and _has(
        total, "spend_per_customer_target", "spend_per_customer_control"
    )
    cat_spend_ok = not categories.empty and _has(
        categories, "spend_per_customer_target", "spend_per_customer_control"
    )
    all_rows = pd.concat([total, categories], ignore_index=True)
    roi_ok = not all_rows.empty and _has(all_rows, "roi")
    funnel_rows = _funnel_view(funnel_df)

    currency = fmt_text(config_setting(config, "currency", default="")).strip()
    rows = [_row_view(r, currency) for r in total.to_dict("records")]
    validation_summary = validation_tables(validation)
    srm_campaigns = [r["campaign_id"] for r in rows if r["srm"]]
    decisions = {d: sum(r["decision"] == d for r in rows) for d in DECISIONS}

    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        **header_context(run_info),
        "kpis": _kpis(total, config) if not total.empty else [],
        "conf": fmt_conf_label(_alpha(config)),
        "rows": rows,
        "category_rows": [_row_view(r, currency) for r in categories.to_dict("records")],
        "decisions": decisions,
        "srm_campaigns": srm_campaigns,
        "spend_svg": inline_svg(spend_chart(total)) if spend_ok else None,
        "category_spend_svg": inline_svg(category_spend_chart(categories))
        if cat_spend_ok
        else None,
        "roi_svg": inline_svg(roi_chart(all_rows)) if roi_ok else None,
        "funnel_svg": inline_svg(funnel_chart(funnel_df)) if funnel_rows else None,
        "funnel_rows": funnel_rows,
        "funnel_stages": list(_FUNNEL_STAGES),
        "bronze": _bronze_view(bronze_audit),
        "silver": _silver_view(silver),
        "validation": validation_summary,
        "method": _method_view(config, silver, total),
        "config_yaml": to_yaml(config),
        "run_items": run_items(run_info),
    }
    return load_template(_TEMPLATE_NAME).render(**context)


_TEMPLATE_NAME = "campaign_report.html.j2"
