"""Render a growth-analytics run (experiments × personas) as one HTML page.

The sibling of :mod:`liftlab.reports.campaign_uplift` and :mod:`liftlab.reports.ab_testing`,
built the same way: one self-contained page (inline CSS, charts as inline SVG from
:mod:`liftlab.plots.growth_analytics`, no JavaScript, no network resources), Jinja2 with
autoescaping forced on so every experiment name, persona name, recommendation and validation
example is escaped; the only unescaped markup is the SVG matplotlib produced.

It answers two readers in page order: the marketer (what to do — the recommendations, then
which experiments moved purchases, per experiment and per persona) and the data scientist (how
k was chosen, heterogeneity tests, the data-quality audit and the method).

**A decision never contradicts the interval printed beside it** (DESIGN.md §2.7). The page
shows a ``win`` or ``loss`` only when the relative-lift interval beside it excludes 0
(:func:`shown_decision`); a producer row that says otherwise is shown as inconclusive and
flagged. Headlines are worded from those shown decisions and their intervals ("not shown to
change …"). A persona cell is marked significant only when its corrected p-value is below α
*and* its interval excludes 0 (:func:`significant_cells`), and the charts draw those flags
instead of deciding for themselves.

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN
estimates, an empty funnel, no personas or a partial audit degrade to "—" and a note rather
than an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from liftlab import __version__
from liftlab.plots.growth_analytics import (
    METRIC_LABELS,
    funnel_chart,
    k_selection_chart,
    lift_forest_chart,
    metric_label,
    persona_lift_heatmap,
)
from liftlab.reports.format import (
    DASH,
    DECISIONS,
    as_mapping,
    fmt_ci,
    fmt_conf_label,
    fmt_decision,
    fmt_estimate,
    fmt_instant,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_pval,
    fmt_text,
    metric_unit,
    num_or_inf,
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
from strategies.growth.personas import (
    CLUSTER_COLUMNS,
    K_TABLE_COLUMNS,
    TRAIT_WORDS,
    TRAIT_Z,
    PersonaOptions,
)
from strategies.stats.schema import FUNNEL_COLUMNS, HETEROGENEITY_COLUMNS, RESULT_COLUMNS

__all__ = [
    "PRIMARY_METRIC",
    "RECOMMENDATION_COLUMNS",
    "SECTION_TITLES",
    "render_growth_report",
    "shown_decision",
    "significant_cells",
]

SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "recommendations": "Recommendations",
    "experiments": "Experiments",
    "funnel": "Funnel",
    "personas": "Personas",
    "persona_lift": "Lift by persona",
    "heterogeneity": "Differences by persona",
    "data": "Data quality",
    "method": "Method",
    "config": "Configuration",
}
"""Section id -> heading, in page order (public so tests and links share one source)."""

PRIMARY_METRIC = "purchase_conversion"
"""The metric the headline counts wins and losses on (the growth team's goal: purchases)."""

RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "experiment_id",
    "experiment_name",
    "metric",
    "action",
    "personas",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "text",
)
"""The columns of the recommendation table the persona-lift step writes."""

EXPERIMENT_COLUMNS: tuple[str, ...] = (
    "experiment_id",
    "name",
    "description",
    "surface",
    "start_at",
    "end_at",
    "control",
    "treatment",
)
_PERSONA_PREFIX = "persona="
_PERCENT_METRICS = frozenset({"ctr", "add_to_cart_rate", "purchase_conversion"})
_PERSONA_SECTIONS = ("personas", "persona")
"""Config sections a persona setting may sit under (the YAML's ``personas:``)."""
_FEATURE_LABELS = {
    "recency_days": "Recency",
    "frequency": "Orders",
    "monetary": "Avg. order",
    "discount_share": "Discount share",
    "tenure_days": "Tenure",
    "has_history": "Has ordered",
    # Hillstrom (strategies.growth.hillstrom): the twelve months before the send
    "recency_months": "Months since purchase",
    "history": "Spend, past year",
    "mens": "Bought men's",
    "womens": "Bought women's",
    "newbie": "New customer",
}
_SHARE_FEATURES = frozenset({"discount_share", "has_history", "mens", "womens", "newbie"})
_ONE_HOT_PREFIXES = ("device_", "zip_", "channel_")
_DAY_FEATURES = frozenset({"recency_days", "tenure_days"})
_MAX_TRAITS = 4
_PER_EXPERIMENT_AUDITS: dict[str, tuple[str, str]] = {
    "users_in_both_arms": (
        "Both arms",
        "users exposed to both variants: excluded from the experiment",
    ),
    "duplicate_exposure_rows": ("Duplicate exposures", "exact duplicate rows collapsed to one"),
    "exposures_outside_window": (
        "Outside window",
        "exposures outside [start_at, end_at): they do not count",
    ),
    "exposures_without_session": (
        "Without session",
        "exposures whose session is unknown: no user to assign",
    ),
    "sessions_before_exposure": (
        "Sessions before exposure",
        "sessions in the window before the user's first exposure: not attributed",
    ),
}
_GLOBAL_AUDITS: dict[str, str] = {
    "orders_without_session": "Orders without a session",
    "sessions_unknown_user": "Sessions of an unknown user",
    "orders_unknown_user": "Orders of an unknown user",
}
_SKIP_AUDITS = frozenset(
    {"rows", "feature_cutoff", "pre_period_days", "assigned_users", "null_flags"}
)
_CORRECTIONS = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "bh": "Benjamini–Hochberg",
    "bonferroni": "Bonferroni",
    "none": "no correction",
}


# --- decisions the page may show --------------------------------------------------------------


def _excludes_zero(low: Any, high: Any) -> bool:
    lo, hi = num_or_inf(low), num_or_inf(high)
    return (not math.isnan(lo) and lo > 0) or (not math.isnan(hi) and hi < 0)


def _status_ok(status: Any) -> bool:
    text = fmt_text(status).strip().lower()
    return text in ("", "ok")


def shown_decision(decision: Any, status: Any, low: Any, high: Any) -> tuple[str, bool]:
    """The decision the page prints beside the interval ``[low, high]``, and whether it had to
    be changed from the producer's.

    A ``win`` or ``loss`` needs an interval that excludes 0; a row whose status is not ok is
    ``inconclusive`` whatever it says. Everything else passes through (``neutral`` and
    ``inconclusive`` cannot contradict an interval; unknown labels become ''). The rule is
    direction-free: a win on a metric that should go down has an interval below 0.
    """
    d = fmt_decision(decision)
    if not _status_ok(status):
        return "inconclusive", d in ("win", "loss")
    if d in ("win", "loss") and not _excludes_zero(low, high):
        return "inconclusive", True
    return d, False


def significant_cells(frame: pd.DataFrame, alpha: float) -> pd.Series:
    """Per row: significant after the family's correction (``p_value_adjusted < alpha``, or a
    win/loss decision when no adjusted p is given), status ok, *and* the relative interval
    excludes 0 — the only cells the heatmap may mark."""
    if frame.empty:
        return pd.Series(False, index=frame.index, dtype=bool)

    def column(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series(np.nan, index=frame.index)

    p_adj = pd.to_numeric(column("p_value_adjusted"), errors="coerce")
    decided = column("decision").map(fmt_decision)
    corrected = (p_adj < alpha).where(p_adj.notna(), decided.isin(["win", "loss"]))
    ok = column("status").map(_status_ok)
    excludes = [
        _excludes_zero(lo, hi)
        for lo, hi in zip(column("rel_ci_low"), column("rel_ci_high"), strict=True)
    ]
    return (
        corrected.astype(bool) & ok.astype(bool) & pd.Series(excludes, index=frame.index)
    ).astype(bool)


# --- small helpers ----------------------------------------------------------------------------


def _frame(df: Any, columns: Sequence[str]) -> pd.DataFrame:
    """A copy with every expected column present (NaN where missing), index reset."""
    out = df.copy() if isinstance(df, pd.DataFrame) else pd.DataFrame()
    for col in columns:
        if col not in out.columns:
            out[col] = np.nan
    return out.reset_index(drop=True)


def _metric_order(metrics: Sequence[str], primary: str) -> list[str]:
    """Primary metric first, then the known growth metrics in funnel order, then the rest."""
    present = list(dict.fromkeys(metrics))
    known = [m for m in METRIC_LABELS if m in present and m != primary]
    rest = [m for m in present if m not in METRIC_LABELS and m != primary]
    return ([primary] if primary in present else []) + known + rest


def _unit(metric: str, metric_type: Any) -> str:
    """Rates read in percent even when they are ratio metrics (clicks / sessions)."""
    return "%" if metric in _PERCENT_METRICS else metric_unit(metric_type)


def _date(value: Any) -> str:
    """An instant as 'YYYY-MM-DD' in UTC ('' when unknown)."""
    return fmt_instant(value, "%Y-%m-%d")


def _persona_of(segment: Any) -> str:
    text = fmt_text(segment)
    return text[len(_PERSONA_PREFIX) :] if text.startswith(_PERSONA_PREFIX) else text


# --- experiments ------------------------------------------------------------------------------


def _experiment_index(experiments: pd.DataFrame, results: pd.DataFrame) -> list[dict[str, Any]]:
    """Every experiment once, in id order: from the definitions, plus any id only in results."""
    rows: dict[str, dict[str, Any]] = {}
    for r in experiments.to_dict("records"):
        eid = fmt_text(r.get("experiment_id")).strip()
        if not eid:
            continue
        start, end = _date(r.get("start_at")), _date(r.get("end_at"))
        rows[eid] = {
            "id": eid,
            "name": fmt_text(r.get("name")),
            "description": fmt_text(r.get("description")),
            "surface": fmt_text(r.get("surface")),
            "window": f"{start} → {end}" if start or end else "",
            "control": fmt_text(r.get("control")),
        }
    for eid in results["experiment"].map(fmt_text):
        if eid and eid not in rows:
            rows[eid] = {
                "id": eid,
                "name": "",
                "description": "",
                "surface": "",
                "window": "",
                "control": "",
            }
    return [rows[k] for k in sorted(rows)]


def _label(exp: Mapping[str, Any]) -> str:
    return f"{exp['id']} · {exp['name']}" if exp.get("name") else exp["id"]


def _cell(r: Mapping[str, Any]) -> dict[str, Any]:
    """One experiment × metric comparison as the overview shows it."""
    metric = fmt_text(r.get("metric"))
    unit = _unit(metric, r.get("metric_type"))
    decision, changed = shown_decision(
        r.get("decision"), r.get("status"), r.get("rel_ci_low"), r.get("rel_ci_high")
    )
    ci_clear = _excludes_zero(r.get("rel_ci_low"), r.get("rel_ci_high"))
    status = fmt_text(r.get("status")).strip()
    return {
        "metric": metric,
        "lift": fmt_pct(r.get("rel_lift")),
        "ci": fmt_ci(r.get("rel_ci_low"), r.get("rel_ci_high")),
        "decision": decision,
        "changed": changed,
        # the unadjusted interval clears 0 but the corrected test does not: say so, the
        # reader would otherwise see a contradiction that is not one
        "not_after_correction": ci_clear
        and decision in ("inconclusive", "neutral")
        and not changed
        and _status_ok(status),
        "control": fmt_estimate(r.get("estimate_control"), unit),
        "variant": fmt_estimate(r.get("estimate_variant"), unit),
        "p_adj": fmt_pval(r.get("p_value_adjusted")),
        "status": status if status and status != "ok" else "",
        # a shown win or loss has an interval clear of 0: its side says raise or lower
        "up": num_or_inf(r.get("rel_ci_low")) > 0,
    }


def _experiment_rows(
    index: list[dict[str, Any]], overall: pd.DataFrame, metrics: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for exp in index:
        sub = overall[overall["experiment"].map(fmt_text) == exp["id"]]
        by_metric = {fmt_text(r["metric"]): r for r in sub.to_dict("records")}
        n_c = pd.to_numeric(sub["n_control"], errors="coerce").max()
        n_v = pd.to_numeric(sub["n_variant"], errors="coerce").max()
        srm = bool(sub["status"].map(lambda s: fmt_text(s).strip() == "srm").any())
        srm_p = pd.to_numeric(sub["srm_p_value"], errors="coerce").min()
        rows.append(
            {
                **exp,
                "label": _label(exp),
                "n_control": fmt_int(n_c),
                "n_variant": fmt_int(n_v),
                "srm": srm,
                "srm_p": fmt_pval(srm_p) if srm else "",
                "cells": [_cell(by_metric[m]) if m in by_metric else None for m in metrics],
            }
        )
    return rows


def _headline(
    rows: list[dict[str, Any]], metrics: list[str], primary: str, conf: str
) -> dict[str, Any]:
    """The summary sentences, worded from the shown decisions and their intervals: "raise" and
    "lower" come from the side of 0 the interval lies on, the rest is "not shown to change"."""
    if not rows or not metrics:
        return {"present": False}
    primary = primary if primary in metrics else metrics[0]
    j = metrics.index(primary)
    label = metric_label(primary).lower()
    wins, losses, neutral, open_, missing = [], [], [], [], []
    for r in rows:
        c = r["cells"][j]
        if c is None or c["lift"] == DASH:
            missing.append(r["label"])
            continue
        item = {"label": r["label"], "detail": f"{c['lift']} ({conf} {c['ci'] or DASH})"}
        if c["decision"] in ("win", "loss"):
            (wins if c["up"] else losses).append(item)
        else:
            (neutral if c["decision"] == "neutral" else open_).append(item)
    n = len(rows)
    lines = []
    if wins:
        lines.append(
            {"tone": "win", "lead": f"{len(wins)} of {n} experiments raise {label}:", "items": wins}
        )
    if losses:
        lines.append(
            {
                "tone": "loss",
                "lead": f"{len(losses)} of {n} experiments lower {label}:",
                "items": losses,
            }
        )
    rest = len(neutral) + len(open_)
    if rest:
        bits = []
        if open_:
            bits.append(f"{len(open_)} inconclusive")
        if neutral:
            bits.append(f"{len(neutral)} with no practically relevant effect")
        lead = (
            f"No experiment is shown to change {label}"
            if rest == n
            else f"{rest} of {n} experiments are not shown to change {label}"
        )
        lines.append({"tone": "inconclusive", "lead": f"{lead} ({', '.join(bits)}).", "items": []})
    if missing:
        lines.append(
            {
                "tone": "neutral",
                "lead": f"{len(missing)} without an estimate on {label}.",
                "items": [],
            }
        )
    others = []
    for r in rows:
        for m, c in zip(metrics, r["cells"], strict=True):
            if m == primary or c is None or c["decision"] not in ("win", "loss"):
                continue
            verb = "raises" if c["up"] else "lowers"
            others.append(
                {
                    "tone": c["decision"],
                    "text": f"{r['label']} {verb} {metric_label(m).lower()} {c['lift']} "
                    f"({conf} {c['ci'] or DASH})",
                }
            )
    return {
        "present": True,
        "metric": metric_label(primary),
        "lines": lines,
        "others": others,
        "counts": {
            "win": len(wins),
            "loss": len(losses),
            "neutral": len(neutral),
            "inconclusive": len(open_),
            "n": n,
        },
    }


# --- recommendations --------------------------------------------------------------------------


def _personas_text(value: Any) -> str:
    if isinstance(value, list | tuple | set | np.ndarray):
        return ", ".join(fmt_text(v) for v in value if fmt_text(v))
    return fmt_text(value)


def _recommendation_rows(
    recommendations: pd.DataFrame, names: Mapping[str, str], conf: str
) -> list[dict[str, Any]]:
    rows = []
    for r in recommendations.to_dict("records"):
        eid = fmt_text(r.get("experiment_id"))
        lo, hi = r.get("rel_ci_low"), r.get("rel_ci_high")
        # The colour comes from the interval printed beside it, never from the action's word.
        tone = (
            "win"
            if num_or_inf(lo) > 0
            else "loss"
            if num_or_inf(hi) < 0
            else "inconclusive"
            if fmt_ci(lo, hi)
            else "neutral"
        )
        rows.append(
            {
                "experiment_id": eid or DASH,
                "experiment_name": fmt_text(r.get("experiment_name")) or names.get(eid, ""),
                "metric": metric_label(fmt_text(r.get("metric")))
                if fmt_text(r.get("metric"))
                else DASH,
                "action": fmt_text(r.get("action")),
                "personas": _personas_text(r.get("personas")),
                "lift": fmt_pct(r.get("rel_lift")),
                "ci": fmt_ci(lo, hi),
                "tone": tone,
                "text": fmt_text(r.get("text")),
                "conf": conf,
            }
        )
    # actions first (ship, ship to some, do not ship), then the rest, each in experiment order
    priority = {"ship to all": 0, "ship to personas only": 1, "do not ship": 2}
    return sorted(rows, key=lambda r: priority.get(r["action"], 3))


# --- funnel -----------------------------------------------------------------------------------


def _funnel_view(funnel: pd.DataFrame, labels: Mapping[str, str]) -> dict[str, Any]:
    """Totals and per-user values behind the funnel chart, one block per experiment."""
    if funnel.empty:
        return {"stages": [], "groups": []}
    f = funnel.assign(_order=pd.to_numeric(funnel["stage_order"], errors="coerce"))
    stages = list(
        f.groupby(f["stage"].map(fmt_text), sort=False)["_order"]
        .min()
        .sort_values(kind="stable")
        .index
    )
    groups = []
    for exp, sub in f.groupby(f["experiment"].map(fmt_text), sort=True):
        rows = []
        for variant, vsub in sub.groupby(sub["variant"].map(fmt_text), sort=True):
            n_units = num_or_nan(pd.to_numeric(vsub["n_units"], errors="coerce").max())
            totals = dict(zip(vsub["stage"].map(fmt_text), vsub["total"], strict=True))
            cells = []
            for st in stages:
                t = num_or_nan(totals.get(st))
                per = t / n_units if n_units and not math.isnan(n_units) else math.nan
                cells.append(
                    {
                        "total": fmt_int(t),
                        "per_user": "" if math.isnan(per) or st == "users" else fmt_num(per),
                    }
                )
            rows.append({"variant": variant or DASH, "n_units": fmt_int(n_units), "cells": cells})
        groups.append({"experiment": labels.get(exp, exp) or DASH, "rows": rows})
    shown = [s.replace("_", " ") for s in stages if s != "users"]
    steps = ", ".join(f"{b} per {_singular(a)}" for a, b in zip(shown, shown[1:], strict=False))
    return {"stages": [s.replace("_", " ") for s in stages], "groups": groups, "steps": steps}


def _singular(stage: str) -> str:
    """'add to carts' → 'add to cart', 'sessions' → 'session' (funnel stage names)."""
    return stage[:-1] if stage.endswith("s") and not stage.endswith("ss") else stage


# --- personas ---------------------------------------------------------------------------------


def _k_rows(k_table: pd.DataFrame, min_jaccard: float, min_share: float) -> list[dict[str, Any]]:
    rows = []
    df = k_table.assign(_k=pd.to_numeric(k_table["k"], errors="coerce")).sort_values("_k")
    for r in df.to_dict("records"):
        admissible = truthy(r.get("admissible"))
        reasons = []
        mj, ms = num_or_nan(r.get("min_jaccard")), num_or_nan(r.get("min_share"))
        if not admissible:
            if not math.isnan(mj) and mj < min_jaccard:
                reasons.append(f"a persona's Jaccard {mj:.2f} < {min_jaccard:g}")
            if not math.isnan(ms) and ms < min_share:
                reasons.append(
                    f"smallest persona {fmt_pct(ms, signed=False)} < "
                    f"{fmt_pct(min_share, signed=False, digits=0)}"
                )
        rows.append(
            {
                "k": fmt_int(r.get("k")),
                "silhouette": _score(r.get("silhouette")),
                "min_jaccard": _score(r.get("min_jaccard")),
                "mean_jaccard": _score(r.get("mean_jaccard")),
                "min_share": fmt_pct(ms, signed=False),
                "admissible": admissible,
                "chosen": truthy(r.get("chosen")),
                "reasons": "; ".join(reasons),
            }
        )
    return rows


def _score(value: Any) -> str:
    x = num_or_nan(value)
    return DASH if math.isnan(x) else f"{x:.3f}".replace("-", "\u2212")


def feature_value(feature: str, value: Any) -> str:
    """A persona feature mean as the report prints it (shares in %, days, orders, amounts)."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if feature in _SHARE_FEATURES or feature.startswith(_ONE_HOT_PREFIXES):
        return fmt_pct(x, signed=False, digits=0)
    if feature in _DAY_FEATURES:
        return f"{x:,.0f} d"
    if feature == "recency_months":
        return f"{x:.1f} mo"
    if feature == "frequency":
        return f"{x:.1f}"
    return fmt_num(x)


def feature_label(feature: str) -> str:
    """A persona feature's name for people ('monetary' → 'Avg. order')."""
    if feature.startswith(_ONE_HOT_PREFIXES):
        return feature.split("_", 1)[1].capitalize()
    return _FEATURE_LABELS.get(feature, feature.replace("_", " ").capitalize())


def _is_trait(feature: str, z: float) -> bool:
    """A distinguishing trait as the persona namer reads one: far enough from the average and
    in a direction that means something ("not mobile" or "has ordered" is not a trait)."""
    if math.isnan(z) or abs(z) < TRAIT_Z:
        return False
    if feature in TRAIT_WORDS:
        return TRAIT_WORDS[feature][0 if z > 0 else 1] is not None
    return z > 0 or not feature.startswith("device_")


def _z_class(z: float) -> str:
    if math.isnan(z):
        return "gz-na"
    if z >= 1:
        return "gz-p2"
    if z >= TRAIT_Z:
        return "gz-p1"
    if z <= -1:
        return "gz-n2"
    if z <= -TRAIT_Z:
        return "gz-n1"
    return ""


def persona_features(profiles: pd.DataFrame) -> list[str]:
    """The feature columns of a persona profile table (its means; not ids, sizes or z-scores),
    in the table's order — what the report and the dashboard show per persona."""
    skip = {"persona_id", "persona", "size", "share", "jaccard"}
    return [c for c in profiles.columns if c not in skip and not str(c).startswith("z_")]


def _profiles_view(profiles: pd.DataFrame, clusters: pd.DataFrame) -> dict[str, Any]:
    """Personas (largest first) with their distinguishing traits and the feature means."""
    features = persona_features(profiles)
    jaccard = {
        fmt_text(r.get("persona")): num_or_nan(r.get("jaccard"))
        for r in clusters.to_dict("records")
    }
    source = profiles if not profiles.empty else clusters
    rows = []
    for r in source.to_dict("records"):
        name = fmt_text(r.get("persona"))
        zs = {f: num_or_nan(r.get(f"z_{f}")) for f in features}
        ranked = sorted((f for f in features if _is_trait(f, zs[f])), key=lambda f: -abs(zs[f]))
        traits = [
            {
                "text": f"{feature_label(f)} {feature_value(f, r.get(f))}",
                "z": f"{zs[f]:+.1f} SD".replace("-", "\u2212"),
                "up": zs[f] > 0,
            }
            for f in ranked[:_MAX_TRAITS]
        ]
        jac = jaccard.get(name, num_or_nan(r.get("jaccard")))
        rows.append(
            {
                "id": fmt_int(r.get("persona_id")),
                "name": name or DASH,
                "size": fmt_int(r.get("size")),
                "share": fmt_pct(r.get("share"), signed=False),
                "share_width": _bar_width(r.get("share")),
                "jaccard": _score(jac),
                "traits": traits,
                "features": [
                    {
                        "value": feature_value(f, r.get(f)),
                        "cls": _z_class(zs[f]),
                        "z": "" if math.isnan(zs[f]) else f"{zs[f]:+.2f} SD".replace("-", "\u2212"),
                    }
                    for f in features
                ],
            }
        )
    return {
        "rows": rows,
        "features": [feature_label(f) for f in features],
        "has_features": bool(features) and not profiles.empty,
    }


def _bar_width(share: Any) -> float:
    """A share as the width (0–100) of its little bar; 0 when unknown."""
    x = num_or_nan(share)
    return 0.0 if math.isnan(x) else max(0.0, min(100.0, x * 100))


def _persona_order(clusters: pd.DataFrame, profiles: pd.DataFrame) -> list[str]:
    for df in (clusters, profiles):
        if not df.empty and "persona" in df.columns:
            ordered = df.assign(_id=pd.to_numeric(df["persona_id"], errors="coerce"))
            return [fmt_text(p) for p in ordered.sort_values("_id", kind="stable")["persona"]]
    return []


def _persona_lift_view(
    persona_lift: pd.DataFrame,
    metrics: list[str],
    labels: Mapping[str, str],
    personas: list[str],
    alpha: float,
    conf: str,
) -> list[dict[str, Any]]:
    """One block per metric (primary first): the heatmap and the numbers behind it."""
    if persona_lift.empty:
        return []
    df = persona_lift.assign(
        persona=persona_lift["segment"].map(_persona_of),
        experiment=persona_lift["experiment"].map(fmt_text),
        significant=significant_cells(persona_lift, alpha),
    )
    present = [fmt_text(m) for m in df["metric"]]
    order = [m for m in metrics if m in present] + _metric_order(
        [m for m in present if m not in metrics], ""
    )
    blocks = []
    for k, metric in enumerate(order):
        sub = df[df["metric"].map(fmt_text) == metric].sort_values(["experiment"], kind="stable")
        if sub.empty:
            continue
        svg = None
        if pd.to_numeric(sub["rel_lift"], errors="coerce").notna().any():
            svg = inline_svg(
                persona_lift_heatmap(
                    sub,
                    experiment_labels=labels,
                    personas=personas,
                )
            )
        rows = []
        for r in sub.to_dict("records"):
            decision, changed = shown_decision(
                r.get("decision"), r.get("status"), r.get("rel_ci_low"), r.get("rel_ci_high")
            )
            rows.append(
                {
                    "experiment": labels.get(r["experiment"], r["experiment"]),
                    "persona": r["persona"] or DASH,
                    "n": f"{fmt_int(r.get('n_control'))} / {fmt_int(r.get('n_variant'))}",
                    "lift": fmt_pct(r.get("rel_lift")),
                    "ci": fmt_ci(r.get("rel_ci_low"), r.get("rel_ci_high")),
                    "p": fmt_pval(r.get("p_value")),
                    "p_adj": fmt_pval(r.get("p_value_adjusted")),
                    "significant": bool(r["significant"]),
                    "decision": decision,
                    "changed": changed,
                }
            )
        n_sig = int(sub["significant"].sum())
        blocks.append(
            {
                "metric": metric,
                "label": metric_label(metric),
                "svg": svg,
                "rows": rows,
                "n_significant": n_sig,
                "n": len(rows),
                "open": k == 0,
                "conf": conf,
            }
        )
    return blocks


# --- heterogeneity ----------------------------------------------------------------------------


def _heterogeneity_rows(het: pd.DataFrame, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """Cochran's Q per experiment × metric × segment column; what differs first."""
    rows = []
    for r in het.to_dict("records"):
        p = num_or_nan(r.get("p_value"))
        dof = num_or_nan(r.get("df"))
        eid = fmt_text(r.get("experiment"))
        rows.append(
            {
                "experiment": labels.get(eid, eid) or DASH,
                "metric": metric_label(fmt_text(r.get("metric"))),
                "segment_column": fmt_text(r.get("segment_column")) or DASH,
                "n": fmt_int(r.get("n_segments")),
                "q": fmt_num(r.get("q")),
                "df": DASH if math.isnan(dof) else f"{dof:g}",
                "p": fmt_pval(p),
                "p_adj": fmt_pval(r.get("p_value_adjusted")),
                "i2": fmt_pct(r.get("i2"), signed=False, digits=0),
                "testable": not math.isnan(p),
                "heterogeneous": truthy(r.get("heterogeneous")) and not math.isnan(p),
            }
        )
    rows.sort(key=lambda r: not r["heterogeneous"])
    return rows


# --- data quality -----------------------------------------------------------------------------


def _audit_value(value: Any) -> str:
    """An extra audit entry: a count as a number, anything else as compact text."""
    x = num_or_nan(value)
    return fmt_text(value) if math.isnan(x) else fmt_num(x)


def _audit_view(audits: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """The SQL step's audit counts: facts, one row per experiment, the table-wide counts."""
    if not audits:
        return {"present": False}
    assigned = as_mapping(audits.get("assigned_users"))
    per_keys = [k for k in _PER_EXPERIMENT_AUDITS if isinstance(audits.get(k), Mapping)]
    per_keys += [
        k
        for k, v in audits.items()
        if isinstance(v, Mapping) and k not in per_keys and k not in _SKIP_AUDITS
    ]
    columns = []
    for k in per_keys:
        label, title = _PER_EXPERIMENT_AUDITS.get(k, (k.replace("_", " ").capitalize(), ""))
        columns.append({"key": k, "label": label, "title": title})
    exps = sorted(
        {fmt_text(e) for k in ["assigned_users", *per_keys] for e in as_mapping(audits.get(k))}
    )
    rows = []
    for e in exps:
        arms = as_mapping(assigned.get(e))
        cells = []
        for k in per_keys:
            n = num_or_nan(as_mapping(audits.get(k)).get(e))
            cells.append({"text": fmt_int(n), "any": not math.isnan(n) and n > 0})
        rows.append(
            {
                "experiment": labels.get(e, e),
                "assigned": " / ".join(f"{fmt_text(a)} {fmt_int(n)}" for a, n in arms.items())
                or DASH,
                "cells": cells,
            }
        )
    totals = []
    for k in per_keys:
        values = [num_or_nan(v) for v in as_mapping(audits.get(k)).values()]
        totals.append(fmt_int(sum(v for v in values if not math.isnan(v))))
    null_flags = as_mapping(audits.get("null_flags"))
    global_items = [
        {"label": label, "value": fmt_int(audits.get(k)), "any": num_or_nan(audits.get(k)) > 0}
        for k, label in _GLOBAL_AUDITS.items()
        if k in audits
    ]
    global_items += [
        {"label": k.replace("_", " ").capitalize(), "value": _audit_value(v), "any": False}
        for k, v in audits.items()
        if k not in _GLOBAL_AUDITS and k not in _SKIP_AUDITS and not isinstance(v, Mapping)
    ]
    return {
        "present": True,
        "rows_count": fmt_int(audits.get("rows")),
        "feature_cutoff": fmt_text(audits.get("feature_cutoff")),
        "pre_period_days": fmt_int(audits.get("pre_period_days")),
        "columns": columns,
        "experiments": rows,
        "totals": totals,
        "null_flags": [(fmt_text(k), fmt_int(v)) for k, v in null_flags.items()],
        "null_total": fmt_int(
            sum(num_or_nan(v) for v in null_flags.values() if not math.isnan(num_or_nan(v)))
        ),
        "global": global_items,
    }


# --- KPIs -------------------------------------------------------------------------------------


def _kpis(
    headline: Mapping[str, Any],
    n_experiments: int,
    users: float,
    n_personas: int,
    structure_found: bool,
    n_recommendations: int,
) -> list[dict[str, str]]:
    def card(key: str, label: str, value: str, sub: str, tone: str = "accent") -> dict[str, str]:
        return {"key": key, "label": label, "value": value, "sub": sub, "tone": tone}

    cards = [
        card(
            "experiments",
            "Experiments analysed",
            f"{n_experiments:,}",
            f"{fmt_int(users)} assigned users" if not math.isnan(users) else "no group sizes",
        )
    ]
    if headline.get("present"):
        c, metric = headline["counts"], headline["metric"].lower()
        n = c["n"]
        cards.append(
            card(
                "wins",
                f"Raise {metric}",
                f"{c['win']} of {n}",
                "interval above 0, significant after correction",
                "win" if c["win"] else "neutral",
            )
        )
        cards.append(
            card(
                "losses",
                f"Lower {metric}",
                f"{c['loss']} of {n}",
                "interval below 0, significant after correction",
                "loss" if c["loss"] else "neutral",
            )
        )
        rest = c["neutral"] + c["inconclusive"]
        cards.append(
            card(
                "unclear",
                "Not shown to change it",
                f"{rest} of {n}",
                f"{c['inconclusive']} inconclusive · {c['neutral']} neutral",
                "inconclusive" if c["inconclusive"] else "neutral",
            )
        )
    cards.append(
        card(
            "personas",
            "Personas",
            f"{n_personas}" if n_personas else DASH,
            "stable groups found" if structure_found else "no clear structure: read with care",
            "ok" if structure_found and n_personas else "inconclusive",
        )
    )
    cards.append(
        card(
            "recommendations",
            "Recommendations",
            f"{n_recommendations}",
            "experiment × persona actions: first section below",
        )
    )
    return cards


# --- rendering --------------------------------------------------------------------------------


def _ci_label(frame: pd.DataFrame | None, default: str) -> str:
    """The CI label of a table whose rows carry their interval level (``ci_level``, e.g.
    0.9884 for the false-coverage-rate intervals of a BH family), else ``default``."""
    if frame is None or "ci_level" not in frame.columns:
        return default
    levels = pd.to_numeric(frame["ci_level"], errors="coerce").dropna().unique()
    if len(levels) != 1 or not 0 < levels[0] < 1:
        return default
    return f"{levels[0] * 100:.3g} % CI"


def render_growth_report(
    *,
    results: pd.DataFrame,
    experiments: pd.DataFrame,
    funnel: pd.DataFrame,
    persona_lift: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    recommendations: pd.DataFrame,
    k_table: pd.DataFrame,
    clusters: pd.DataFrame,
    profiles: pd.DataFrame,
    structure_found: bool,
    warnings: Sequence[str] = (),
    ari: float | None = None,
    audits: Mapping[str, Any] | None = None,
    validation: Mapping[str, Any] | None = None,
    run_info: Mapping[str, Any] | None = None,
    alpha: float = 0.05,
    primary_metric: str = PRIMARY_METRIC,
    config: BaseModel | Mapping[str, Any] | None = None,
) -> str:
    """Build the growth-analytics report as one HTML string (UTF-8, no external references).

    ``results`` and ``persona_lift`` are results tables (``RESULT_COLUMNS``; persona rows have
    ``segment == "persona=<name>"`` and a Benjamini–Hochberg ``p_value_adjusted``);
    ``experiments`` maps ids to ``name``, ``description``, ``surface``, ``start_at``,
    ``end_at``; ``funnel`` has ``FUNNEL_COLUMNS`` (stages users → … → purchases);
    ``heterogeneity`` has ``HETEROGENEITY_COLUMNS``; ``recommendations`` has
    :data:`RECOMMENDATION_COLUMNS`; ``k_table``, ``clusters``, ``profiles``,
    ``structure_found``, ``warnings`` come from the persona fit and ``ari`` (simulated data
    only) compares it with the truth; ``audits`` is the SQL step's audit dict, ``validation``
    maps each table to ``ValidationReport.to_dict()``; ``run_info`` fills the header and
    footer. ``primary_metric`` is the metric the headline counts on; ``config`` (optional) is
    shown as YAML and may carry ``min_jaccard``/``min_share``/``correction``. Any input may be
    empty or partial: the page then says what is missing.
    """
    if isinstance(config, BaseModel):
        config = config.model_dump(mode="json")
    config = as_mapping(config)
    run_info = as_mapping(run_info)
    alpha = num_or_nan(alpha)
    alpha = alpha if 0 < alpha < 1 else 0.05
    conf = fmt_conf_label(alpha)
    defaults = PersonaOptions()
    min_jaccard = num_or_nan(
        config_setting(
            config, "min_jaccard", sections=_PERSONA_SECTIONS, default=defaults.min_jaccard
        )
    )
    min_share = num_or_nan(
        config_setting(config, "min_share", sections=_PERSONA_SECTIONS, default=defaults.min_share)
    )
    correction = (
        fmt_text(config_setting(config, "correction", sections=_PERSONA_SECTIONS, default=""))
        .strip()
        .lower()
    )

    res = _frame(results, RESULT_COLUMNS)
    seg = res["segment"].map(lambda s: fmt_text(s) or "all")
    overall = res[seg == "all"].reset_index(drop=True)
    exp_df = _frame(experiments, EXPERIMENT_COLUMNS)
    index = _experiment_index(exp_df, overall)
    labels = {e["id"]: _label(e) for e in index}
    names = {e["id"]: e["name"] for e in index}
    metrics = _metric_order([fmt_text(m) for m in overall["metric"] if fmt_text(m)], primary_metric)
    rows = _experiment_rows(index, overall, metrics)
    headline = _headline(rows, metrics, primary_metric, conf)

    # The forest plot is coloured by the decision the table shows, never the raw one.
    forest_svg = None
    if not overall.empty and pd.to_numeric(overall["rel_lift"], errors="coerce").notna().any():
        shown = [
            shown_decision(d, s, lo, hi)[0]
            for d, s, lo, hi in zip(
                overall["decision"],
                overall["status"],
                overall["rel_ci_low"],
                overall["rel_ci_high"],
                strict=True,
            )
        ]
        forest_svg = inline_svg(
            lift_forest_chart(
                overall.assign(decision=shown), experiment_labels=labels, metrics=metrics
            )
        )

    fun = _frame(funnel, FUNNEL_COLUMNS)
    fun = fun[fun["experiment"].map(fmt_text) != ""]
    funnel_view = _funnel_view(fun, labels)
    funnel_svg = None
    if funnel_view["groups"]:
        controls = {e["id"]: e["control"] for e in index if e["control"]}
        funnel_svg = inline_svg(funnel_chart(fun, experiment_labels=labels, controls=controls))

    kt = _frame(k_table, K_TABLE_COLUMNS)
    cl = _frame(clusters, CLUSTER_COLUMNS)
    pr = (
        profiles.copy().reset_index(drop=True)
        if isinstance(profiles, pd.DataFrame)
        else pd.DataFrame()
    )
    if not pr.empty:
        pr = _frame(pr, ("persona_id", "persona", "size", "share"))
    personas = _persona_order(cl, pr)
    k_rows = _k_rows(kt, min_jaccard, min_share) if not kt.empty else []
    chosen = [r["k"] for r in k_rows if r["chosen"]]
    ari_value = num_or_nan(ari)
    persona_view = {
        "k_rows": k_rows,
        "chosen_k": chosen[0] if chosen else "",
        "any_admissible": any(r["admissible"] for r in k_rows),
        "k_svg": inline_svg(k_selection_chart(kt, min_jaccard=min_jaccard, min_share=min_share))
        if k_rows
        else None,
        "profiles": _profiles_view(pr, cl),
        "structure_found": bool(structure_found),
        "warnings": [fmt_text(w) for w in (warnings or ()) if fmt_text(w)],
        "ari": f"{ari_value:.2f}" if not math.isnan(ari_value) else "",
        "min_jaccard": f"{min_jaccard:g}",
        "min_share": fmt_pct(min_share, signed=False, digits=0),
        "n": len(personas) or len(pr),
    }

    pl = _frame(persona_lift, RESULT_COLUMNS)
    # persona intervals are printed at the level that matches the BH decisions (ci_level)
    persona_conf = _ci_label(persona_lift, conf)
    lift_blocks = _persona_lift_view(pl, metrics, labels, personas, alpha, persona_conf)
    het_rows = _heterogeneity_rows(_frame(heterogeneity, HETEROGENEITY_COLUMNS), labels)
    recs = _recommendation_rows(
        _frame(recommendations, RECOMMENDATION_COLUMNS), names, persona_conf
    )
    audit_view = _audit_view(as_mapping(audits), labels)
    validation_summary = validation_tables(validation)

    n_c = pd.to_numeric(
        overall.groupby(overall["experiment"].map(fmt_text))["n_control"].max(), errors="coerce"
    )
    n_v = pd.to_numeric(
        overall.groupby(overall["experiment"].map(fmt_text))["n_variant"].max(), errors="coerce"
    )
    users = float(n_c.sum() + n_v.sum()) if n_c.notna().any() or n_v.notna().any() else math.nan
    decisions = {d: 0 for d in DECISIONS}
    for r in rows:
        for c in r["cells"]:
            if c is not None and c["decision"] in decisions:
                decisions[c["decision"]] += 1

    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        **header_context(run_info),
        "kpis": _kpis(
            headline, len(rows), users, persona_view["n"], bool(structure_found), len(recs)
        )
        if rows
        else [],
        "conf": conf,
        "persona_conf": persona_conf,
        "alpha": f"{alpha:g}",
        "headline": headline,
        "recommendations": recs,
        "metrics": [{"name": m, "label": metric_label(m)} for m in metrics],
        "rows": rows,
        "any_changed": any(c and c["changed"] for r in rows for c in r["cells"]),
        "any_not_after_correction": any(
            c and c["not_after_correction"] for r in rows for c in r["cells"]
        ),
        "srm_experiments": [r["label"] for r in rows if r["srm"]],
        "decisions": decisions,
        "forest_svg": forest_svg,
        "funnel_svg": funnel_svg,
        "funnel": funnel_view,
        "p": persona_view,
        "lift_blocks": lift_blocks,
        "het_rows": het_rows,
        "n_het": sum(r["heterogeneous"] for r in het_rows),
        "audit": audit_view,
        "validation": validation_summary,
        "correction": _CORRECTIONS.get(correction, correction) if correction else "",
        "config_yaml": to_yaml(config),
        "run_items": run_items(run_info),
    }
    return load_template(_TEMPLATE_NAME).render(**context)


_TEMPLATE_NAME = "growth_report.html.j2"
