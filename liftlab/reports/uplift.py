"""Render an uplift-modelling run (average effects → learners → targeting policy) as one HTML page.

The sibling of :mod:`liftlab.reports.ab_testing` (A/B) and :mod:`liftlab.reports.training`,
built the same way: one self-contained page (inline CSS, charts as inline SVG from
:mod:`liftlab.plots.uplift`, no JavaScript, no network resources), Jinja2 with autoescaping
forced on so every arm, learner, feature value, config value and validation example is escaped;
the only unescaped markup is the SVG matplotlib produced.

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN
estimates, an empty policy table, no champion or no validation degrade to "—" and a note rather
than an exception."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from liftlab import __version__
from liftlab.config.uplift import UpliftModelConfig
from liftlab.plots.uplift import (
    POLICY_LABELS,
    effects_chart,
    group_label,
    policy_chart,
    profit_curve_chart,
    qini_chart,
    targeting_chart,
)
from liftlab.reports.format import (
    DASH,
    as_mapping,
    fmt_abs_ci,
    fmt_abs_diff,
    fmt_ci,
    fmt_decision,
    fmt_estimate,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_pval,
    fmt_score,
    fmt_signed,
    fmt_text,
    num_or_nan,
    to_yaml,
    truthy,
)
from liftlab.reports.parts import (
    header_context,
    inline_svg,
    load_template,
    run_items,
    validation_view,
)
from strategies.uplift.policy import CALIBRATION_RATIO, calibration_flag

__all__ = ["SECTION_TITLES", "policy_summary", "render_uplift_report"]

SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "effects": "Average effects",
    "comparison": "Learner comparison",
    "qini": "Qini curves",
    "policy": "Targeting policy",
    "targeting": "Whom to e-mail",
    "registry": "Model registry decisions",
    "validation": "Data validation",
    "config": "Configuration",
}
"""Section id -> heading, in page order (public so tests and links share one source)."""

_SHARE_PREFIX = "share_"
_SHARE_TOTAL = "share_to_email"
_OVERALL_FEATURES = ("", "all", "overall", "total")
_TARGETING_ROWS = 60


# --- small helpers --------------------------------------------------------------------------


def _df(value: Any) -> pd.DataFrame:
    return value.reset_index(drop=True) if isinstance(value, pd.DataFrame) else pd.DataFrame()


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(np.nan, index=df.index, dtype=float)


def _strs(df: pd.DataFrame, name: str) -> list[str]:
    return [fmt_text(v) for v in _col(df, name)]


def _share(value: Any) -> str:
    """A share as '38 %' (one decimal under 10 %), '—' when unknown."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    return f"{x * 100:.1f} %" if abs(x) < 0.1 and x != 0 else f"{x * 100:.0f} %"


def _uplift(value: Any, binary: bool) -> str:
    """An uplift in outcome units: percentage points for a binary outcome, signed number else."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    return fmt_signed(f"{x * 100:+.2f} pp") if binary else fmt_num(x, signed=True)


def _money(value: Any, *, signed: bool = True) -> str:
    return fmt_num(value, signed=signed)


def _money_ci(low: Any, high: Any, *, signed: bool = True) -> str:
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) and math.isnan(hi):
        return ""
    return f"{_money(lo, signed=signed)} … {_money(hi, signed=signed)}"


def _tone(estimate: Any, low: Any, high: Any) -> str:
    """'win' when the CI is above 0, 'loss' below, 'inconclusive' across, 'neutral' unknown."""
    e, lo, hi = num_or_nan(estimate), num_or_nan(low), num_or_nan(high)
    if math.isnan(e):
        return "neutral"
    if math.isnan(lo) or math.isnan(hi):
        return "win" if e > 0 else ("loss" if e < 0 else "neutral")
    if lo > 0:
        return "win"
    if hi < 0:
        return "loss"
    return "inconclusive"


def _parameters(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run parameters, whether given flat or under ``parameters:`` (the YAML layout)."""
    params = config.get("parameters")
    return as_mapping(params) if isinstance(params, Mapping) else dict(config)


def _outcome_specs(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for o in params.get("outcomes") or []:
        if isinstance(o, Mapping) and fmt_text(o.get("name")):
            specs[fmt_text(o.get("name"))] = dict(o)
    return specs


def _ordered(values: Sequence[str], order: Sequence[str] = ()) -> list[str]:
    seen = [v for v in dict.fromkeys(values) if v]
    first = [o for o in order if o in seen]
    return first + [v for v in seen if v not in first]


def _is_binary(outcome: str, specs: Mapping[str, Mapping[str, Any]], comparison: pd.DataFrame):
    spec = specs.get(outcome)
    if spec is not None and fmt_text(spec.get("type")) in ("binary", "continuous"):
        return fmt_text(spec.get("type")) == "binary"
    rows = comparison[[o == outcome for o in _strs(comparison, "outcome")]]
    return bool(pd.to_numeric(_col(rows, "qini_normalized"), errors="coerce").notna().any())


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


# --- average effects ------------------------------------------------------------------------


def _effects_view(effects: pd.DataFrame, metric_order: Sequence[str], arms: Sequence[str]):
    df = effects
    if not df.empty and "segment" in df.columns:
        df = df[[s in ("all", "") for s in _strs(df, "segment")]].reset_index(drop=True)
    groups = []
    for metric in _ordered(_strs(df, "metric"), metric_order):
        sub = df[[m == metric for m in _strs(df, "metric")]]
        rank = {a: i for i, a in enumerate(arms)}
        sub = sub.assign(_o=[rank.get(v, len(rank)) for v in _strs(sub, "variant")])
        sub = sub.sort_values("_o", kind="stable")
        rows = []
        for r in sub.to_dict("records"):
            mtype = fmt_text(r.get("metric_type"))
            rows.append(
                {
                    "arm": fmt_text(r.get("variant")) or DASH,
                    "control": fmt_text(r.get("control")),
                    "n": f"{fmt_int(r.get('n_variant'))} vs {fmt_int(r.get('n_control'))}",
                    "est_control": fmt_estimate(r.get("estimate_control"), mtype),
                    "est_variant": fmt_estimate(r.get("estimate_variant"), mtype),
                    "abs_diff": fmt_abs_diff(r.get("abs_diff"), mtype),
                    "abs_ci": fmt_abs_ci(r.get("abs_ci_low"), r.get("abs_ci_high"), mtype),
                    "rel": fmt_pct(r.get("rel_lift")),
                    "rel_ci": fmt_ci(r.get("rel_ci_low"), r.get("rel_ci_high")),
                    "p": fmt_pval(r.get("p_value")),
                    "p_adj": fmt_pval(r.get("p_value_adjusted")),
                    "test": fmt_text(r.get("test")),
                    "decision": fmt_decision(r.get("decision")),
                    "status": fmt_text(r.get("status")),
                }
            )
        groups.append({"metric": metric, "rows": rows})
    return df, groups


# --- learner comparison ---------------------------------------------------------------------


def _comparison_view(
    comparison: pd.DataFrame, outcomes: Sequence[str], specs: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    groups = []
    for outcome in outcomes:
        sub = comparison[[o == outcome for o in _strs(comparison, "outcome")]]
        if sub.empty:
            continue
        binary = _is_binary(outcome, specs, comparison)
        flags = [truthy(v) for v in _col(sub, "is_best")]
        best = next(
            (fmt_text(v) for v, f in zip(_col(sub, "learner"), flags, strict=True) if f), ""
        )
        if not best:
            ranks = pd.to_numeric(_col(sub, "rank"), errors="coerce")
            best = (
                fmt_text(sub["learner"].iloc[int(ranks.fillna(np.inf).argmin())])
                if len(sub)
                else ""
            )
        rows = []
        for r in sub.to_dict("records"):
            learner = fmt_text(r.get("learner"))
            rank = num_or_nan(r.get("rank"))
            rows.append(
                {
                    "rank": DASH if math.isnan(rank) else f"{rank:g}",
                    "learner": learner or DASH,
                    "model": fmt_text(r.get("model")),
                    "arm": fmt_text(r.get("arm")) or DASH,
                    "best": bool(best) and learner == best,
                    "qini": fmt_score(r.get("qini_coefficient")),
                    "qini_norm": fmt_score(r.get("qini_normalized"), "r2"),
                    "auuc": fmt_score(r.get("auuc")),
                    "auuc_norm": fmt_score(r.get("auuc_normalized"), "r2"),
                    "at10": _uplift(r.get("uplift_at_10"), binary),
                    "at30": _uplift(r.get("uplift_at_30"), binary),
                    "predicted": _uplift(r.get("mean_predicted_uplift"), binary),
                    "observed": _uplift(r.get("observed_ate"), binary),
                    "n": fmt_int(r.get("n_holdout")),
                }
            )
        rank_by = next((t for t in _strs(sub, "rank_by") if t), "")
        groups.append(
            {
                "outcome": outcome,
                "binary": binary,
                "best": best,
                "rank_by": rank_by,
                "rows": rows,
                "n_learners": len(dict.fromkeys(_strs(sub, "learner"))),
            }
        )
    return groups


# --- policy ---------------------------------------------------------------------------------


def _policy_view(policy: pd.DataFrame, outcomes: Sequence[str], policy_outcome: str):
    groups = []
    for outcome in outcomes:
        sub = policy[[o == outcome for o in _strs(policy, "outcome")]]
        if sub.empty:
            continue
        rows = []
        for r in sub.to_dict("records"):
            kind = fmt_text(r.get("policy"))
            arm = fmt_text(r.get("arm"))
            label = POLICY_LABELS.get(kind, kind or DASH)
            rows.append(
                {
                    "kind": kind,
                    "label": label,
                    "arm": arm,
                    "share": _share(r.get("share_contacted")),
                    "matched": fmt_int(r.get("n_matched")),
                    "profit": _money(r.get("profit_per_customer"), signed=False),
                    "profit_ci": _money_ci(
                        r.get("profit_ci_low"), r.get("profit_ci_high"), signed=False
                    ),
                    "incremental": _money(r.get("incremental_profit_per_customer")),
                    "incremental_ci": _money_ci(
                        r.get("incremental_ci_low"), r.get("incremental_ci_high")
                    ),
                    "tone": (
                        _tone(
                            r.get("incremental_profit_per_customer"),
                            r.get("incremental_ci_low"),
                            r.get("incremental_ci_high"),
                        )
                        if kind != "send_nobody"
                        else "neutral"
                    ),
                    "vs_all": _money(r.get("vs_send_all_profit_per_customer"))
                    if kind != "send_all" or arm != fmt_text(r.get("vs_send_all_arm"))
                    else "",
                    "vs_all_ci": _money_ci(
                        r.get("vs_send_all_ci_low"), r.get("vs_send_all_ci_high")
                    )
                    if kind != "send_all" or arm != fmt_text(r.get("vs_send_all_arm"))
                    else "",
                    "vs_all_tone": _tone(
                        r.get("vs_send_all_profit_per_customer"),
                        r.get("vs_send_all_ci_low"),
                        r.get("vs_send_all_ci_high"),
                    ),
                    "predicted": _money(r.get("predicted_incremental_profit_per_customer")),
                    "calibration": _calibration(r) if kind == "model" else {},
                }
            )
        reference = next((fmt_text(v) for v in _col(sub, "vs_send_all_arm") if fmt_text(v)), "")
        groups.append(
            {
                "outcome": outcome,
                "is_policy": outcome == policy_outcome,
                "rows": rows,
                "reference": reference,
            }
        )
    return groups


def _chosen_shares(policy: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in policy.to_dict("records"):
        if fmt_text(r.get("policy")) == "model":
            share = num_or_nan(r.get("share_contacted"))
            if not math.isnan(share):
                out[fmt_text(r.get("outcome"))] = share
    return out


# --- whom to e-mail -------------------------------------------------------------------------


def _share_columns(targeting: pd.DataFrame, arms: Sequence[str]) -> list[tuple[str, str]]:
    """(column suffix, arm display name) for every ``share_<arm>`` column, config order first."""
    by_slug = {_slug(a): a for a in arms}
    found = []
    for col in targeting.columns:
        name = str(col)
        if name.startswith(_SHARE_PREFIX) and name != _SHARE_TOTAL:
            suffix = name[len(_SHARE_PREFIX) :]
            found.append((suffix, by_slug.get(_slug(suffix), suffix)))
    rank = {a: i for i, a in enumerate(arms)}
    return sorted(found, key=lambda sa: rank.get(sa[1], len(rank)))


def _targeting_view(
    targeting: pd.DataFrame, share_cols: list[tuple[str, str]], *, firm: bool = True
):
    """Rows of the whom-to-e-mail table. ``firm=False`` (the policy is not shown to pay on the
    holdout) words each group as what the model *would* do, never as an instruction."""
    rows = []
    for r in targeting.head(_TARGETING_ROWS).to_dict("records"):
        total = num_or_nan(r.get(_SHARE_TOTAL))
        shares = [(name, num_or_nan(r.get(f"{_SHARE_PREFIX}{s}"))) for s, name in share_cols]
        if math.isnan(total) and shares and any(not math.isnan(v) for _, v in shares):
            total = float(np.nansum([v for _, v in shares]))
        known = [(n, v) for n, v in shares if not math.isnan(v) and v > 0]
        top = max(known, key=lambda nv: nv[1])[0] if known else ""
        feature, value = fmt_text(r.get("feature")), fmt_text(r.get("value"))
        group = f"{value} customers" if value else "customers"
        if feature and feature.lower() not in _OVERALL_FEATURES and value:
            label = group_label(feature, value)
            categorical = label == f"{feature}: {value}" and value.lower() not in ("yes", "no")
            group = f"{value} customers" if categorical else f"customers with {label}"
        if math.isnan(total):
            sentence = ""
        elif total <= 0:
            sentence = f"Do not e-mail {group}." if firm else f"The model would skip {group}."
        else:
            verb = "E-mail" if firm else "The model would e-mail"
            sentence = f"{verb} {_share(total)} of {group}" + (
                f", mostly {top}." if top and len(known) > 1 else f", all {top}." if top else "."
            )
        rows.append(
            {
                "feature": feature,
                "value": value or DASH,
                "customers": fmt_int(r.get("customers")),
                "total": _share(total),
                "total_raw": 0.0 if math.isnan(total) else max(0.0, min(1.0, total)),
                "shares": [
                    {"arm": n, "value": _share(v), "top": n == top and bool(top)} for n, v in shares
                ],
                "profit": _money(r.get("mean_expected_profit")),
                "sentence": sentence,
            }
        )
    return rows


def _overall_mix(
    targeting: pd.DataFrame, share_cols: list[tuple[str, str]]
) -> tuple[float, dict[str, float]]:
    """Overall share to e-mail and per-arm shares: an overall row if there is one, else the
    customer-weighted mean over the first feature's groups (each feature partitions the same
    customers). NaN / {} when the summary cannot tell."""
    if targeting.empty:
        return math.nan, {}
    features = [f.lower() for f in _strs(targeting, "feature")]
    overall = [i for i, f in enumerate(features) if f in _OVERALL_FEATURES]
    if overall:
        sub = targeting.iloc[[overall[0]]]
    else:
        first = next((f for f in _strs(targeting, "feature") if f), "")
        sub = targeting[[f == first for f in _strs(targeting, "feature")]]
    weights = pd.to_numeric(_col(sub, "customers"), errors="coerce").to_numpy(float)
    if not np.isfinite(weights).any() or np.nansum(weights) <= 0:
        weights = np.ones(len(sub))
    weights = np.where(np.isfinite(weights), weights, 0.0)

    def mean(col: str) -> float:
        v = pd.to_numeric(_col(sub, col), errors="coerce").to_numpy(float)
        ok = np.isfinite(v) & (weights > 0)
        return float(np.sum(v[ok] * weights[ok]) / np.sum(weights[ok])) if ok.any() else math.nan

    mix = {name: mean(f"{_SHARE_PREFIX}{s}") for s, name in share_cols}
    mix = {k: v for k, v in mix.items() if not math.isnan(v)}
    total = mean(_SHARE_TOTAL)
    if math.isnan(total) and mix:
        total = float(sum(mix.values()))
    return total, mix


# --- headline and KPIs ----------------------------------------------------------------------


def _policy_rows(policy: pd.DataFrame, outcome: str) -> dict[str, Any]:
    sub = policy[[o == outcome for o in _strs(policy, "outcome")]] if not policy.empty else policy
    if sub.empty and not policy.empty and "outcome" not in policy.columns:
        sub = policy
    records = sub.to_dict("records")
    model = next((r for r in records if fmt_text(r.get("policy")) == "model"), None)
    nobody = next((r for r in records if fmt_text(r.get("policy")) == "send_nobody"), None)
    send_all = [r for r in records if fmt_text(r.get("policy")) == "send_all"]
    best_all = None
    for r in send_all:
        v = num_or_nan(r.get("profit_per_customer"))
        if not math.isnan(v) and (
            best_all is None or v > num_or_nan(best_all.get("profit_per_customer"))
        ):
            best_all = r
    return {"model": model, "nobody": nobody, "best_all": best_all}


def _verdict(low: Any, high: Any) -> str:
    """Where a CI of a difference lies: 'above' 0, 'below' 0, 'across' 0 or 'unknown'."""
    lo, hi = num_or_nan(low), num_or_nan(high)
    if math.isnan(lo) or math.isnan(hi):
        return "unknown"
    if lo > 0:
        return "above"
    if hi < 0:
        return "below"
    return "across"


def _vs_all(model: Mapping[str, Any], best_all: Mapping[str, Any] | None) -> dict[str, Any]:
    """The model policy's gain over e-mailing everyone: the ``vs_send_all_*`` columns of
    :func:`strategies.uplift.policy.policy_comparison`, or (older tables) the difference of the
    point estimates without an interval."""
    arm = fmt_text(model.get("vs_send_all_arm"))
    diff = num_or_nan(model.get("vs_send_all_profit_per_customer"))
    low, high = model.get("vs_send_all_ci_low"), model.get("vs_send_all_ci_high")
    if math.isnan(diff) and best_all is not None:
        diff = num_or_nan(model.get("profit_per_customer")) - num_or_nan(
            best_all.get("profit_per_customer")
        )
        arm, low, high = fmt_text(best_all.get("arm")), math.nan, math.nan
    return {"arm": arm, "diff": diff, "low": low, "high": high}


def _calibration(model: Mapping[str, Any]) -> dict[str, str]:
    """The model's own expected incremental profit vs the holdout estimate (vs sending
    nobody), judged by :func:`strategies.uplift.policy.calibration_flag`; {} when they agree
    or a number is missing."""
    predicted = num_or_nan(model.get("predicted_incremental_profit_per_customer"))
    estimate = num_or_nan(model.get("incremental_profit_per_customer"))
    low, high = model.get("incremental_ci_low"), model.get("incremental_ci_high")
    flag = calibration_flag(predicted, estimate, low, high)
    if flag not in ("overstated", "understated"):
        return {}
    ci = _money_ci(low, high)
    where = ""
    if ci and not num_or_nan(low) <= predicted <= num_or_nan(high):
        where = f", outside its 95 % CI ({ci})"
    if estimate > 0 and predicted > 0:
        ratio = predicted / estimate
        compare = f"{ratio:.1f}× the holdout estimate of {_money(estimate)}{where}"
        short = f"{ratio:.1f}× holdout"
    else:
        compare = f"while the holdout estimate is {_money(estimate)}{where}"
        short = flag
    if flag == "overstated":
        text = (
            f"The model expects {_money(predicted)} per customer from its policy, {compare}. "
            "Its own forecasts (the “predicted” column, the dashed profit curve and the expected "
            "profit in “Whom to e-mail”) are over-optimistic: plan with the holdout estimate."
        )
    else:
        text = (
            f"The model expects only {_money(predicted)} per customer from its policy, "
            f"{compare}: its own forecasts understate what the holdout shows."
        )
    return {"flag": flag, "text": text, "short": short, "ratio": f"{CALIBRATION_RATIO:g}"}


def _n_customers(targeting: pd.DataFrame) -> float:
    """Customers the targeting summary covers (one feature's groups partition them)."""
    if targeting.empty:
        return math.nan
    first = next((f for f in _strs(targeting, "feature") if f), "")
    sub = targeting[[f == first for f in _strs(targeting, "feature")]]
    counts = pd.to_numeric(_col(sub, "customers"), errors="coerce")
    return float(counts.sum()) if counts.notna().any() else math.nan


def _total(per_customer: Any, n_customers: float) -> str:
    x = num_or_nan(per_customer)
    if math.isnan(x) or math.isnan(n_customers) or n_customers <= 0:
        return ""
    return f"≈ {_money(x * n_customers)} in total over {fmt_int(n_customers)} customers"


def _headline(
    policy_outcome: str,
    total: float,
    mix: dict[str, float],
    rows: dict[str, Any],
    n_customers: float = math.nan,
) -> dict[str, Any]:
    """The recommendation, worded from the intervals (DESIGN §2.7): "E-mail …" only when the
    model policy's 95 % CI against sending nobody lies above 0 (and it is not shown to lose
    against e-mailing everyone); otherwise "not shown to beat …" / "loses money …"."""
    model, best_all = rows["model"], rows["best_all"]
    if math.isnan(total) and model is not None:
        total = num_or_nan(model.get("share_contacted"))
    outcome = policy_outcome or "the policy outcome"
    ranked = sorted(((v, a) for a, v in mix.items() if v > 0), reverse=True)
    mix_text = ""
    if len(ranked) > 1:
        parts_mix = ", ".join(f"{a} {_share(v)}" for v, a in ranked)
        mix_text = f", mostly {ranked[0][1]} ({parts_mix} of all customers)"
    elif ranked:
        mix_text = f", all with {ranked[0][1]}"
    label = "Finding"
    parts: list[str] = []
    if not math.isnan(total) and total <= 0:
        parts.append("E-mail nobody: no arm is expected to pay for its contact cost.")
        label = "Recommendation"
    elif model is not None:
        share = _share(total) if not math.isnan(total) else "share chosen by the model"
        inc = num_or_nan(model.get("incremental_profit_per_customer"))
        lo, hi = model.get("incremental_ci_low"), model.get("incremental_ci_high")
        ci = _money_ci(lo, hi)
        total_text = _total(inc, n_customers)
        amount = f"{_money(inc)} per customer (profit from {outcome}"
        amount += f"; {total_text})" if total_text else ")"
        verdict = _verdict(lo, hi)
        if math.isnan(inc):
            parts.append(f"Targeting the top {share} of customers was not valued on the holdout.")
        elif verdict == "above":
            label = "Recommendation"
            parts.append(
                f"E-mail the top {share} of customers by expected profit{mix_text}: it beats "
                f"sending nobody by {amount}, 95 % CI {ci}."
            )
        elif verdict == "below":
            parts.append(
                f"Targeting the top {share} of customers{mix_text} loses money against sending "
                f"nobody: {amount}, 95 % CI {ci}."
            )
        elif verdict == "across":
            parts.append(
                f"Targeting the top {share} of customers{mix_text} is not shown to beat sending "
                f"nobody: {amount}, but the 95 % CI {ci} includes 0."
            )
        else:
            parts.append(
                f"Targeting the top {share} of customers{mix_text}: {amount} vs sending nobody "
                "(holdout estimate, no interval computed)."
            )
        vs = _vs_all(model, best_all)
        if not math.isnan(vs["diff"]):
            everyone = f"e-mailing everyone with {vs['arm']}" if vs["arm"] else "e-mailing everyone"
            vs_ci = _money_ci(vs["low"], vs["high"])
            vs_verdict = _verdict(vs["low"], vs["high"])
            diff = f"{_money(vs['diff'])} per customer"
            if vs_verdict == "above":
                parts.append(f"It beats {everyone} by {diff}, 95 % CI {vs_ci}.")
            elif vs_verdict == "below":
                label = "Finding"
                parts.append(f"It does worse than {everyone}: {diff}, 95 % CI {vs_ci}.")
            elif vs_verdict == "across":
                parts.append(
                    f"It is not shown to beat {everyone}: {diff}, 95 % CI {vs_ci} includes 0."
                )
            else:
                parts.append(f"Against {everyone}: {diff} (no interval computed).")
    return {"present": bool(parts), "label": label, "text": " ".join(parts)}


def _units(
    cost: float, value_per_unit: Mapping[str, float], n_customers: float, has_policy: bool
) -> str:
    """One sentence on the money units: liftlab knows no currency, so amounts are in the
    currency ``value_per_unit`` and ``cost_per_contact`` were given in."""
    if not has_policy:
        return ""
    facts = []
    if not math.isnan(cost):
        facts.append(f"contact cost {cost:,.2f} per e-mail")
    values = [f"{o} {v:,.2f}" for o, v in value_per_unit.items() if not math.isnan(v)]
    if values:
        facts.append("value per unit of outcome: " + ", ".join(values))
    text = "Amounts are in the currency of value_per_unit and cost_per_contact"
    text += f" ({'; '.join(facts)})." if facts else "."
    text += " Amounts per customer are averaged over every customer, e-mailed or not"
    if not math.isnan(n_customers) and n_customers > 0:
        text += f"; the total is that times the {fmt_int(n_customers)} customers scored"
    return text + "."


def _kpis(
    *,
    policy_outcome: str,
    total: float,
    mix: dict[str, float],
    rows: dict[str, Any],
    comparison_groups: list[dict[str, Any]],
    decisions: Mapping[str, Any],
) -> list[dict[str, str]]:
    def card(key: str, label: str, value: str, sub: str, tone: str = "accent") -> dict[str, str]:
        return {"key": key, "label": label, "value": value, "sub": sub, "tone": tone}

    model, nobody, best_all = rows["model"], rows["nobody"], rows["best_all"]
    if math.isnan(total) and model is not None:
        total = num_or_nan(model.get("share_contacted"))
    share_sub = f"model policy on {policy_outcome}" if policy_outcome else "model policy"
    share_tone = "accent"
    if model is not None and total > 0:
        verdict = _verdict(model.get("incremental_ci_low"), model.get("incremental_ci_high"))
        if verdict == "across":
            share_sub, share_tone = f"{share_sub}; not shown to pay", "inconclusive"
        elif verdict == "below":
            share_sub, share_tone = f"{share_sub}; loses money", "loss"
    cards = [card("share", "Customers to e-mail", _share(total), share_sub, share_tone)]
    positive = {a: v for a, v in mix.items() if v > 0}
    if positive and total > 0:
        top = max(positive, key=lambda a: positive[a])
        cards.append(card("mix", "Mostly", top, f"{_share(positive[top] / total)} of e-mails"))
    else:
        cards.append(card("mix", "Arm mix", DASH, "no arm recommended", "neutral"))
    if model is not None:
        inc = model.get("incremental_profit_per_customer")
        lo, hi = model.get("incremental_ci_low"), model.get("incremental_ci_high")
        ci = _money_ci(lo, hi)
        cards.append(
            card(
                "vs_nobody",
                "Profit vs sending nobody",
                _money(inc),
                f"per customer; CI {ci}" if ci else "per customer",
                _tone(inc, lo, hi),
            )
        )
        vs = _vs_all(model, best_all)
        vs_ci = _money_ci(vs["low"], vs["high"])
        sub = f"per customer, vs all {vs['arm']}" if vs["arm"] else "per customer"
        cards.append(
            card(
                "vs_all",
                "Profit vs e-mailing everyone",
                _money(vs["diff"]),
                f"{sub}; CI {vs_ci}" if vs_ci else sub,
                _tone(vs["diff"], vs["low"], vs["high"]),
            )
        )
    else:
        sub = "no model policy row" if nobody is None else "model policy not evaluated"
        cards.append(card("vs_nobody", "Profit vs sending nobody", DASH, sub, "neutral"))
        cards.append(card("vs_all", "Profit vs e-mailing everyone", DASH, sub, "neutral"))
    best = [g for g in comparison_groups if g["best"]]
    if best:
        first = next((g for g in best if g["outcome"] == policy_outcome), best[0])
        others = ", ".join(f"{g['outcome']}: {g['best']}" for g in best if g is not first)
        cards.append(
            card(
                "learner",
                f"Best learner ({first['outcome']})",
                first["best"],
                others or f"of {first['n_learners']} learners",
            )
        )
    else:
        cards.append(card("learner", "Best learner", DASH, "no learners compared", "neutral"))
    n = len(decisions)
    promoted = sum(truthy(as_mapping(d).get("promote")) for d in decisions.values())
    cards.append(
        card(
            "registry",
            "Promoted models",
            f"{promoted} of {n}" if n else DASH,
            "registry decisions" if n else "no registry decision recorded",
            "win" if promoted else "neutral",
        )
    )
    return cards


# --- registry -------------------------------------------------------------------------------


def _decision_scores(d: Mapping[str, Any]) -> tuple[Any, Any]:
    """(challenger, champion) holdout scores of a decision: the shared promotion record
    (:class:`strategies.promotion.PromotionDecision`, ``scores[metric]``) or the older uplift
    record (``challenger_qini``, ``champion.qini``)."""
    champion = as_mapping(d.get("champion"))
    if "challenger_qini" in d or "qini" in champion:
        return d.get("challenger_qini"), champion.get("qini")
    metric = d.get("metric")
    challenger = as_mapping(as_mapping(d.get("challenger")).get("scores"))
    return challenger.get(metric), as_mapping(champion.get("scores")).get(metric)


def _decision_learner(d: Mapping[str, Any]) -> Any:
    return d.get("best_learner") or as_mapping(d.get("challenger")).get("candidate")


def _decision_rows(decisions: Mapping[str, Any], outcomes: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for outcome in _ordered([str(k) for k in decisions], outcomes):
        d = as_mapping(decisions.get(outcome))
        champion_raw = d.get("champion")
        champion = as_mapping(champion_raw) if champion_raw is not None else None
        challenger_score, champion_score = _decision_scores(d)
        rows.append(
            {
                "outcome": outcome,
                "model_name": fmt_text(d.get("model_name")) or DASH,
                "learner": fmt_text(_decision_learner(d)) or DASH,
                "promote": truthy(d.get("promote")),
                "present": bool(d),
                "challenger": fmt_score(challenger_score),
                "champion": champion is not None,
                "champion_version": fmt_text(champion.get("version")) if champion else "",
                "champion_qini": fmt_score(champion_score) if champion else DASH,
                "summary": fmt_text(d.get("summary")),
            }
        )
    return rows


# --- rendering ------------------------------------------------------------------------------


def render_uplift_report(
    *,
    effects: pd.DataFrame,
    comparison: pd.DataFrame,
    qini_curves: pd.DataFrame,
    policy: pd.DataFrame,
    profit_curves: pd.DataFrame,
    targeting_summary: pd.DataFrame,
    decisions: dict,
    validation: dict,
    config: UpliftModelConfig | Mapping[str, Any],
    run_info: dict,
) -> str:
    """Build the uplift report as one HTML string (UTF-8, no external references).

    ``config`` is the run's :class:`~liftlab.config.uplift.UpliftModelConfig` (shown as the YAML
    parameters with every default and the policy outcome filled in) or already such a mapping.

    ``effects`` has :data:`strategies.stats.analysis.RESULT_COLUMNS` (overall rows are shown);
    ``comparison`` is :attr:`strategies.uplift.evaluation.UpliftComparison.table` with an
    ``outcome`` column; ``qini_curves`` are :func:`strategies.uplift.metrics.qini_curve` frames
    with ``outcome``, ``learner`` and ``arm``; ``policy`` / ``profit_curves`` are
    :func:`~strategies.uplift.policy.policy_comparison` / :func:`~strategies.uplift.policy.
    profit_curve` frames with ``outcome``; ``targeting_summary`` has ``feature``, ``value``,
    ``customers``, ``share_to_email``, ``share_<arm>`` and ``mean_expected_profit``;
    ``decisions`` maps outcome → registry decision
    (:class:`strategies.promotion.PromotionDecision` as a dict). Any of them may be empty or
    partial: the page then says what is missing.
    """
    effects_df = _df(effects)
    comparison_df = _df(comparison)
    qini_df = _df(qini_curves)
    policy_df = _df(policy)
    curves_df = _df(profit_curves)
    targeting_df = _df(targeting_summary)
    decisions = {str(k): v for k, v in as_mapping(decisions).items()}
    run_info = as_mapping(run_info)
    if isinstance(config, UpliftModelConfig):
        config = config.report_parameters()
    config = as_mapping(config)
    params = _parameters(config)
    specs = _outcome_specs(params)

    arms = _ordered(
        [
            *[fmt_text(a) for a in _as_list(params.get("arms"))],
            *_strs(comparison_df, "arm"),
            *_strs(effects_df, "variant"),
            *_strs(policy_df, "arm"),
            *_strs(qini_df, "arm"),
        ]
    )
    outcomes = _ordered(
        [
            *specs,
            *_strs(comparison_df, "outcome"),
            *_strs(policy_df, "outcome"),
            *_strs(qini_df, "outcome"),
            *_strs(curves_df, "outcome"),
            *decisions,
        ]
    )
    modelled = [n for n, s in specs.items() if s.get("model", True) is not False]
    policy_outcome = fmt_text(params.get("policy_outcome"))
    if not policy_outcome:
        in_policy = _ordered(_strs(policy_df, "outcome"), outcomes)
        policy_outcome = (modelled or in_policy or [""])[-1]

    effects_rows, effect_groups = _effects_view(effects_df, outcomes, arms)
    effects_svg = (
        inline_svg(effects_chart(effects_rows, metric_order=outcomes, arm_order=arms))
        if effect_groups
        else None
    )
    comparison_groups = _comparison_view(comparison_df, outcomes, specs)
    qini_ok = (
        not qini_df.empty
        and pd.to_numeric(_col(qini_df, "qini"), errors="coerce").notna().any()
        and "fraction" in qini_df.columns
    )
    qini_svg = (
        inline_svg(qini_chart(qini_df, outcome_order=outcomes, arm_order=arms)) if qini_ok else None
    )
    qini_learners = [
        {"outcome": o, "learner": ", ".join(_ordered(_strs(sub, "learner")))}
        for o in _ordered(_strs(qini_df, "outcome"), outcomes)
        for sub in [qini_df[[x == o for x in _strs(qini_df, "outcome")]]]
    ]

    policy_groups = _policy_view(policy_df, outcomes, policy_outcome)
    policy_ok = pd.to_numeric(_col(policy_df, "profit_per_customer"), errors="coerce").notna()
    policy_svg = (
        inline_svg(policy_chart(policy_df, outcome_order=outcomes, arm_order=arms))
        if policy_ok.any()
        else None
    )
    curves_ok = pd.to_numeric(
        _col(curves_df, "incremental_profit_per_customer"), errors="coerce"
    ).notna()
    curve_svg = (
        inline_svg(
            profit_curve_chart(curves_df, outcome_order=outcomes, chosen=_chosen_shares(policy_df))
        )
        if curves_ok.any() and "fraction" in curves_df.columns
        else None
    )

    summary = policy_summary(policy_df, targeting_df, arms=arms, policy_outcome=policy_outcome)
    share_cols, total, mix = summary["share_columns"], summary["total"], summary["mix"]
    p_rows, n_customers = summary["rows"], summary["n_customers"]
    headline, calibration = summary["headline"], summary["calibration"]
    firm, targeting_rows = summary["firm"], summary["targeting"]
    has_shares = bool(share_cols) or _SHARE_TOTAL in targeting_df.columns
    targeting_svg = (
        inline_svg(targeting_chart(targeting_df, arms=[s for s, _ in share_cols]))
        if targeting_rows and has_shares
        else None
    )
    validation_summary = validation_view(validation)

    cost = num_or_nan(params.get("cost_per_contact"))
    value_per_unit = {
        n: num_or_nan(s.get("value_per_unit")) for n, s in specs.items() if n in outcomes
    }
    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        **header_context(run_info),
        "control": fmt_text(params.get("control")),
        "arms": arms,
        "outcomes": outcomes,
        "policy_outcome": policy_outcome,
        "cost_per_contact": fmt_num(cost) if not math.isnan(cost) else "",
        "value_per_unit": [
            {"outcome": n, "value": fmt_num(v)}
            for n, v in value_per_unit.items()
            if not math.isnan(v)
        ],
        "headline": headline,
        "calibration": calibration,
        "units": _units(cost, value_per_unit, n_customers, bool(p_rows["model"] is not None)),
        "kpis": _kpis(
            policy_outcome=policy_outcome,
            total=total,
            mix=mix,
            rows=p_rows,
            comparison_groups=comparison_groups,
            decisions=decisions,
        ),
        "effect_groups": effect_groups,
        "effects_svg": effects_svg,
        "comparison_groups": comparison_groups,
        "qini_svg": qini_svg,
        "qini_learners": qini_learners,
        "policy_groups": policy_groups,
        "policy_svg": policy_svg,
        "curve_svg": curve_svg,
        "share_arms": [name for _, name in share_cols],
        "targeting_rows": targeting_rows,
        "targeting_firm": firm,
        "targeting_more": max(0, len(targeting_df) - _TARGETING_ROWS),
        "targeting_svg": targeting_svg,
        "decision_rows": _decision_rows(decisions, outcomes),
        "validation": validation_summary,
        "config_yaml": to_yaml(config or None),
        "run_items": run_items(run_info),
    }
    return load_template(_TEMPLATE_NAME).render(**context)


_TEMPLATE_NAME = "uplift_report.html.j2"


def policy_summary(
    policy: pd.DataFrame,
    targeting_summary: pd.DataFrame,
    *,
    arms: Sequence[str],
    policy_outcome: str,
) -> dict[str, Any]:
    """The targeting policy as the report words it, for every page that shows it (the report
    and the dashboard say the same sentences): ``headline`` (``label`` Recommendation/Finding,
    ``text`` worded from the intervals), ``calibration`` (a warning when the model's own
    expected profit disagrees with the holdout, else {}), ``targeting`` (whom-to-e-mail rows
    with a sentence each, worded as an instruction only when ``firm``), the overall share
    e-mailed (``total``) and per arm (``mix``), ``share_columns``, ``rows`` (model, nobody,
    best send-to-all rows of the policy table) and ``n_customers``."""
    policy_df, targeting_df = _df(policy), _df(targeting_summary)
    share_cols = _share_columns(targeting_df, arms)
    total, mix = _overall_mix(targeting_df, share_cols)
    rows = _policy_rows(policy_df, policy_outcome)
    n_customers = _n_customers(targeting_df)
    headline = _headline(policy_outcome, total, mix, rows, n_customers)
    firm = headline["label"] == "Recommendation" or rows["model"] is None
    return {
        "headline": headline,
        "calibration": _calibration(rows["model"]) if rows["model"] is not None else {},
        "targeting": _targeting_view(targeting_df, share_cols, firm=firm),
        "firm": firm,
        "total": total,
        "mix": mix,
        "share_columns": share_cols,
        "rows": rows,
        "n_customers": n_customers,
    }
