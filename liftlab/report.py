"""Render the A/B test results as one self-contained HTML page.

The page is opened offline inside the ZenML dashboard, as an MLflow artifact, or as a file
someone forwarded, so it carries everything inline: CSS in a ``<style>`` block, charts as inline
SVG, no JavaScript, no fonts or images from the network. Interaction is limited to what HTML
gives for free (anchor links, ``<details>``).

All user-controlled text (experiment, metric and variant names, messages, config values, audit
details) goes through Jinja2 autoescaping; the only markup inserted unescaped is the SVG that
``liftlab.plots`` produced from matplotlib, which escapes its own text.

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN values,
empty frames and odd types degrade to "—" and a note rather than an exception.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.resources
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import yaml
from markupsafe import Markup

from liftlab import __version__
from liftlab.plots import figure_to_svg, forest_plot, funnel_plot
from strategies.stats.aggregate import FUNNEL_COLUMNS
from strategies.stats.analysis import RESULT_COLUMNS
from strategies.stats.srm import SRM_COLUMNS

__all__ = ["SECTION_TITLES", "render_ab_report"]

# Section id -> heading. Public so tests (and anyone linking into the report) share one source.
SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "headline": "Headline",
    "forest": "Relative lift by metric",
    "funnel": "Funnel",
    "results": "Results",
    "segments": "Segments",
    "srm": "Sample ratio mismatch",
    "cleaning": "Data cleaning audit",
    "validation": "Data validation",
    "run": "Run details",
}

DECISIONS = ("win", "loss", "neutral", "inconclusive")


_DASH = "—"
_MINUS = "\u2212"
_MAX_DETAIL_CHARS = 240


# --- small formatting helpers -------------------------------------------------------------
# Every helper accepts anything (None, NaN, strings, numpy scalars) and returns display text,
# so the template never has to think about missing values.


def _num_or_nan(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _ok(value: Any) -> bool:
    return not math.isnan(_num_or_nan(value))


def _text(value: Any) -> str:
    """A string cell: '' for None/NaN so 'nan' never leaks into the page."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def _signed(text: str) -> str:
    """Typographic minus, and no sign on a value that rounds to zero ('−0.00' reads as a loss)."""
    stripped = text.lstrip("+-")
    digits = "".join(ch for ch in stripped if ch.isdigit())
    if digits and set(digits) == {"0"}:
        text = stripped
    return text.replace("-", _MINUS)


def _pct(value: Any, *, signed: bool = True, digits: int | None = None) -> str:
    """0.182 -> '+18.2 %'. Small values get more decimals so +0.04 % does not read as +0.0 %."""
    x = _num_or_nan(value)
    if math.isnan(x):
        return _DASH
    if digits is None:
        digits = 1 if abs(x) >= 0.01 or x == 0 else 2
    sign = "+" if signed else ""
    return _signed(f"{x * 100:{sign}.{digits}f} %")


def _num(value: Any, *, signed: bool = False) -> str:
    """Human-scale number: thousands separators for big values, 4 significant digits for small."""
    x = _num_or_nan(value)
    if math.isnan(x):
        return _DASH
    sign = "+" if signed else ""
    ax = abs(x)
    if ax >= 1000:
        s = f"{x:{sign},.0f}"
    elif ax >= 1 or x == 0:
        s = f"{x:{sign},.2f}"
    else:
        s = f"{x:{sign}.3g}"
    return _signed(s)


def _int(value: Any) -> str:
    x = _num_or_nan(value)
    return _DASH if math.isnan(x) else f"{round(x):,}"


def _pval(value: Any) -> str:
    x = _num_or_nan(value)
    if math.isnan(x):
        return _DASH
    if x < 1e-4:
        return "<0.0001"
    if x < 1e-3:
        return f"{x:.4f}"
    return f"{x:.3f}"


def _p_phrase(value: Any) -> str:
    """'p = 0.012' or 'p < 0.0001' for running text ('' when unknown)."""
    text = _pval(value)
    if text == _DASH:
        return ""
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def _estimate(value: Any, metric_type: Any) -> str:
    """Proportions read naturally as percentages; means and ratios as plain numbers."""
    if metric_type == "proportion":
        return _pct(value, signed=False, digits=2)
    return _num(value)


def _abs_diff(value: Any, metric_type: Any) -> str:
    if metric_type == "proportion":
        x = _num_or_nan(value)
        return _DASH if math.isnan(x) else _signed(f"{x * 100:+.2f} pp")
    return _num(value, signed=True)


def _conf_label(alpha: Any) -> str:
    a = _num_or_nan(alpha)
    if math.isnan(a) or not 0 < a < 1:
        return "CI"
    return f"{(1 - a) * 100:g} % CI"


def _truncate(text: str, limit: int = _MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compact(value: Any) -> str:
    """One-line rendering of an audit detail or validation example (lists, dicts, numbers)."""
    value = _plain(value)
    if isinstance(value, str):
        return _truncate(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, bool | int):
        return str(value)
    try:
        return _truncate(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return _truncate(str(value))


def _example(value: Any) -> str:
    """A validation example, quoted if it is a string so stray whitespace ('b ') is visible."""
    if isinstance(value, str):
        return _truncate(json.dumps(value, ensure_ascii=False), 80)
    return _truncate(_compact(value), 80)


def _plain(value: Any) -> Any:
    """Convert numpy/pandas/pathlib values to plain Python so YAML/JSON can serialise them."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date | pd.Timestamp):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _to_yaml(config: Mapping[str, Any] | None) -> str:
    if not config:
        return ""
    try:
        return yaml.safe_dump(
            _plain(dict(config)), sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    except yaml.YAMLError:  # pragma: no cover - _plain already made everything dumpable
        return json.dumps(_plain(dict(config)), indent=2, default=str)


def _frame(df: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    """A copy with every expected column present, so a missing one is '—' rather than a crash."""
    out = pd.DataFrame() if df is None else df.copy()
    for col in columns:
        if col not in out.columns:
            out[col] = np.nan
    return out.reset_index(drop=True)


def _truthy(value: Any) -> bool:
    """True for True/1/"true"; False for False, NaN, None (a NaN flag must not raise an alarm)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    try:
        return bool(value)
    except (TypeError, ValueError):
        return False


def _decision(value: Any) -> str:
    text = _text(value).strip().lower()
    return text if text in DECISIONS else ""


def _order(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Sort by first appearance of each key: the upstream order is meaningful, alphabet isn't."""
    if df.empty:
        return df
    keys = []
    for col in cols:
        ranks = {v: i for i, v in enumerate(pd.unique(df[col].astype(str)))}
        name = f"_ord_{col}"
        df[name] = df[col].astype(str).map(ranks)
        keys.append(name)
    return df.sort_values(keys, kind="stable").drop(columns=keys)


# --- view model ---------------------------------------------------------------------------


def _srm_experiments(srm: pd.DataFrame, results: pd.DataFrame) -> dict[str, float]:
    """Experiments whose overall traffic split is off, with the SRM p-value (NaN if unknown).

    Both sources count: the SRM table (overall segment) and result rows the analysis already
    marked with status "srm".
    """
    flagged: dict[str, float] = {}
    if not srm.empty:
        overall = srm[srm["segment"].isna() | (srm["segment"].astype(str) == "all")]
        for row in overall.itertuples(index=False):
            if _truthy(row.srm_detected):
                p = _num_or_nan(row.p_value)
                prev = flagged.get(str(row.experiment), math.nan)
                flagged[str(row.experiment)] = p if math.isnan(prev) else min(prev, p)
    if not results.empty:
        bad = results[results["status"].astype(str) == "srm"]
        for row in bad.itertuples(index=False):
            flagged.setdefault(str(row.experiment), _num_or_nan(row.srm_p_value))
    return flagged


def _mini_bar(row: Any, scale: float) -> dict[str, float] | None:
    """Positions (0-100 %) of a tiny in-table CI bar on a symmetric, per-metric scale.

    The same metric shares one scale within a table, so bars can be compared down a column
    the way the forest plot compares them, without leaving the table.
    """
    lift, lo, hi = (_num_or_nan(v) for v in (row.rel_lift, row.rel_ci_low, row.rel_ci_high))
    if math.isnan(lift) or not scale > 0:
        return None

    def pos(x: float) -> float:
        return round(min(100.0, max(0.0, 50.0 + 50.0 * x / scale)), 2)

    lo = lift if math.isnan(lo) else lo
    hi = lift if math.isnan(hi) else hi
    return {"left": pos(lo), "width": round(max(pos(hi) - pos(lo), 0.6), 2), "dot": pos(lift)}


def _result_row(row: Any, scale: float = math.nan) -> dict[str, Any]:
    mtype = _text(row.metric_type)
    decision = _decision(row.decision)
    status = _text(row.status) or "ok"
    lift_ok = _ok(row.rel_lift)
    ci = ""
    if _ok(row.rel_ci_low) or _ok(row.rel_ci_high):
        ci = f"{_pct(row.rel_ci_low)} … {_pct(row.rel_ci_high)}"
    alpha = _num_or_nan(row.alpha)
    p_adj = _num_or_nan(row.p_value_adjusted)
    return {
        "segment": _text(row.segment),
        "metric": _text(row.metric),
        "metric_type": mtype,
        "variant": _text(row.variant),
        "control": _text(row.control),
        "est_control": _estimate(row.estimate_control, mtype),
        "est_variant": _estimate(row.estimate_variant, mtype),
        "abs_diff": _abs_diff(row.abs_diff, mtype),
        "lift": _pct(row.rel_lift) if lift_ok else _DASH,
        "lift_ci": ci,
        "bar": _mini_bar(row, scale),
        "p": _pval(row.p_value),
        "p_adj": _pval(row.p_value_adjusted),
        "significant": not math.isnan(p_adj) and not math.isnan(alpha) and p_adj < alpha,
        "n_control": _int(row.n_control),
        "n_variant": _int(row.n_variant),
        "test": _text(row.test),
        "decision": decision,
        "status": status,
        "message": _text(row.message),
    }


def _metric_scales(df: pd.DataFrame) -> dict[str, float]:
    """Largest |lift or CI end| per metric: the half-width of that metric's mini-bar scale."""
    scales: dict[str, float] = {}
    for metric, sub in df.groupby(df["metric"].astype(str), sort=False):
        vals = pd.to_numeric(
            pd.concat([sub["rel_lift"], sub["rel_ci_low"], sub["rel_ci_high"]]), errors="coerce"
        )
        vals = vals[np.isfinite(vals)].abs()
        scales[metric] = float(vals.max()) * 1.05 if len(vals) else math.nan
    return scales


def _grouped(df: pd.DataFrame, srm_flags: Mapping[str, float]) -> list[dict[str, Any]]:
    if df.empty:
        return []
    scales = _metric_scales(df)
    groups = []
    for exp, sub in df.groupby(df["experiment"].astype(str), sort=False):
        rows = [_result_row(r, scales.get(str(r.metric), math.nan)) for r in sub.itertuples()]
        groups.append({"experiment": exp, "srm": exp in srm_flags, "rows": rows})
    return groups


def _headline(exp: str, sub: pd.DataFrame, srm_p: float | None) -> dict[str, Any]:
    """One sentence per experiment: the wins and losses that matter, then the rest in brief."""
    parts: list[dict[str, str]] = []
    counts = dict.fromkeys(DECISIONS, 0)
    not_estimable: list[str] = []
    for row in sub.itertuples(index=False):
        decision = _decision(row.decision)
        if not _ok(row.rel_lift):
            not_estimable.append(_text(row.status) or "no estimate")
            continue
        if decision:
            counts[decision] += 1
        if decision in ("win", "loss"):
            verb = "wins" if decision == "win" else "loses"
            ci = f"{_conf_label(row.alpha)} {_pct(row.rel_ci_low)} … {_pct(row.rel_ci_high)}"
            parts.append(
                {
                    "tone": decision,
                    "lead": f"{_text(row.variant)} {verb} on {_text(row.metric)}",
                    "detail": f"({_pct(row.rel_lift)}, {ci})",
                }
            )
    parts.sort(key=lambda p: 0 if p["tone"] == "win" else 1)

    rest = []
    if parts:
        for d in ("neutral", "inconclusive"):
            if counts[d]:
                rest.append(f"{counts[d]} {d}")
    summary = ""
    if not parts:
        n = counts["neutral"] + counts["inconclusive"]
        if n and counts["neutral"] == n:
            summary = f"No practically relevant effect on any of the {n} comparisons."
        elif n:
            bits = [f"{counts[d]} {d}" for d in ("inconclusive", "neutral") if counts[d]]
            summary = f"No significant difference yet ({', '.join(bits)})."
        else:
            summary = "No comparison could be estimated."
    if not_estimable:
        kinds = ", ".join(sorted(set(not_estimable)))
        rest.append(f"{len(not_estimable)} not estimable ({kinds})")

    tone = "neutral"
    if any(p["tone"] == "loss" for p in parts):
        tone = "loss"
    elif parts:
        tone = "win"
    elif counts["inconclusive"]:
        tone = "inconclusive"
    srm = srm_p is not None
    return {
        "experiment": exp,
        "tone": "srm" if srm else tone,
        "parts": parts,
        "summary": summary,
        "rest": "; ".join(rest),
        "srm": srm,
        "srm_p": _p_phrase(srm_p) if srm else "",
    }


def _kpis(
    overall: pd.DataFrame,
    srm_flags: Mapping[str, float],
    srm: pd.DataFrame,
    audits: list[dict],
    validation: Mapping[str, Any],
) -> list[dict[str, str]]:
    decisions = overall["decision"].map(_decision)
    n_exp = overall["experiment"].astype(str).nunique()
    checked = srm["experiment"].astype(str).nunique() if not srm.empty else 0

    rows_after = validation.get("n_rows") if validation else None
    if rows_after is None and audits:
        rows_after = audits[-1].get("rows_out")
    raw = audits[0].get("rows_in") if audits else None
    rows_sub = f"from {_int(raw)} raw rows" if _ok(raw) else "after cleaning"

    def card(key: str, label: str, value: Any, sub: str, tone: str) -> dict[str, str]:
        return {"key": key, "label": label, "value": value, "sub": sub, "tone": tone}

    n_srm = len(srm_flags)
    return [
        card("experiments", "Experiments", str(n_exp), "analysed", "accent"),
        card(
            "comparisons", "Comparisons", str(len(overall)), "variant × metric, overall", "accent"
        ),
        card("wins", "Wins", str(int((decisions == "win").sum())), "significant, good way", "win"),
        card(
            "losses",
            "Losses",
            str(int((decisions == "loss").sum())),
            "significant, bad way",
            "loss",
        ),
        card(
            "neutral",
            "Neutral",
            str(int((decisions == "neutral").sum())),
            "no relevant effect",
            "neutral",
        ),
        card(
            "inconclusive",
            "Inconclusive",
            str(int((decisions == "inconclusive").sum())),
            "need more data",
            "inconclusive",
        ),
        card(
            "srm",
            "SRM alerts",
            str(n_srm),
            f"of {checked} experiment{'' if checked == 1 else 's'} checked"
            if checked
            else "no SRM check in this run",
            "loss" if n_srm else "ok",
        ),
        card(
            "rows",
            "Rows analysed",
            _int(rows_after) if _ok(rows_after) else _DASH,
            rows_sub,
            "accent",
        ),
    ]


def _srm_rows(srm: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per variant, with experiment-level cells spanning the variants of a check."""
    out: list[dict[str, Any]] = []
    if srm.empty:
        return out
    srm = srm.assign(_seg=srm["segment"].map(lambda s: _text(s) or "all"))
    for (exp, seg), sub in srm.groupby([srm["experiment"].astype(str), "_seg"], sort=False):
        detected = any(_truthy(v) for v in sub["srm_detected"])
        for i, row in enumerate(sub.itertuples(index=False)):
            exp_share = _num_or_nan(row.expected_share)
            obs_share = _num_or_nan(row.observed_share)
            off = (
                not math.isnan(exp_share)
                and not math.isnan(obs_share)
                and abs(obs_share - exp_share) >= 0.005
            )
            out.append(
                {
                    "first": i == 0,
                    "last": i == len(sub) - 1,
                    "final_group": False,
                    "span": len(sub),
                    "experiment": exp,
                    "segment": seg,
                    "variant": _text(row.variant),
                    "n_units": _int(row.n_units),
                    "expected": _pct(exp_share, signed=False),
                    "observed": _pct(obs_share, signed=False),
                    "off": detected and off,
                    "chi2": _num(sub["chi2"].iloc[0]),
                    "p": _pval(sub["p_value"].min()),
                    "detected": detected,
                }
            )
    if out:  # the table's own border closes the last check; no double line under it
        last_first = max(i for i, r in enumerate(out) if r["first"])
        out[last_first]["final_group"] = True
    return out


def _funnel_table(funnel: pd.DataFrame) -> dict[str, Any]:
    """Totals and per-unit rates behind the funnel chart, for readers who want the numbers."""
    if funnel.empty:
        return {"stages": [], "groups": []}
    f = funnel.copy()
    f["_order"] = pd.to_numeric(f["stage_order"], errors="coerce")
    stages = (
        f.groupby(f["stage"].astype(str), sort=False)["_order"].min().sort_values(kind="stable")
    )
    stage_names = list(stages.index)
    groups = []
    for exp, sub in f.groupby(f["experiment"].astype(str), sort=False):
        rows = []
        for variant, vsub in sub.groupby(sub["variant"].astype(str), sort=False):
            n_units = _num_or_nan(vsub["n_units"].iloc[0])
            totals = dict(zip(vsub["stage"].astype(str), vsub["total"], strict=True))
            cells = []
            for st in stage_names:
                t = _num_or_nan(totals.get(st))
                per_unit = t / n_units if n_units and not math.isnan(n_units) else math.nan
                cells.append(
                    {"total": _int(t), "per_unit": "" if math.isnan(per_unit) else _num(per_unit)}
                )
            rows.append({"variant": variant, "n_units": _int(n_units), "cells": cells})
        groups.append({"experiment": exp, "rows": rows})
    return {"stages": stage_names, "groups": groups}


def _audit_rows(audits: list[dict] | None) -> list[dict[str, Any]]:
    rows = []
    for audit in audits or []:
        a = dict(audit)
        rin, rout = _num_or_nan(a.get("rows_in")), _num_or_nan(a.get("rows_out"))
        removed = rin - rout if not (math.isnan(rin) or math.isnan(rout)) else math.nan
        details = a.get("details") or {}
        if isinstance(details, Mapping):
            items = [(str(k), _compact(v)) for k, v in details.items()]
        else:
            items = [("", _compact(details))]
        changed = _num_or_nan(a.get("values_changed"))
        rows.append(
            {
                "strategy": _text(a.get("strategy")),
                "description": _text(a.get("description")),
                "rows_in": _int(rin),
                "rows_out": _int(rout),
                "removed": _int(removed) if not math.isnan(removed) else _DASH,
                "removed_any": not math.isnan(removed) and removed != 0,
                "changed": _int(changed),
                "changed_any": not math.isnan(changed) and changed != 0,
                "details": items,
            }
        )
    return rows


def _validation_view(validation: Mapping[str, Any] | None) -> dict[str, Any]:
    if not validation:
        return {"present": False}
    outcomes = []
    for o in validation.get("outcomes") or []:
        examples = o.get("unexpected_examples") or []
        if not isinstance(examples, list | tuple):
            examples = [examples]
        outcomes.append(
            {
                "expectation": _text(o.get("expectation")),
                "column": _text(o.get("column")),
                "success": bool(o.get("success")),
                "unexpected": _int(o.get("unexpected_count")),
                "examples": [_example(e) for e in list(examples)[:8]],
                "more": max(0, len(examples) - 8),
                "description": _text(o.get("description")),
            }
        )
    outcomes.sort(key=lambda o: o["success"])  # failures first: that is what people look for
    n_failed = sum(not o["success"] for o in outcomes)
    success = validation.get("success")
    success = (n_failed == 0) if success is None else bool(success)
    return {
        "present": True,
        "success": success,
        "n_rows": _int(validation.get("n_rows")),
        "n": len(outcomes),
        "n_failed": n_failed,
        "outcomes": outcomes,
    }


def _run_items(run_info: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    labels = {
        "pipeline": "Pipeline",
        "run_name": "Run",
        "generated_at": "Generated at",
        "data_source": "Data source",
        "data_sha256": "Data SHA-256",
        "git_commit": "Git commit",
        "mlflow_run_id": "MLflow run id",
        "mlflow_tracking_uri": "MLflow tracking URI",
    }
    mono = {"data_sha256", "git_commit", "mlflow_run_id", "mlflow_tracking_uri", "data_source"}
    items = []
    for key, value in (run_info or {}).items():
        text = _compact(value) if not isinstance(value, str) else value
        if text in ("", "None", _DASH):
            continue
        label = labels.get(key, str(key).replace("_", " ").capitalize())
        items.append({"label": label, "value": text, "mono": key in mono})
    return items


# --- rendering ----------------------------------------------------------------------------


def render_ab_report(
    *,
    results: pd.DataFrame,
    srm: pd.DataFrame,
    funnel: pd.DataFrame,
    audits: list[dict],
    validation: dict,
    config: dict,
    run_info: dict,
) -> str:
    """Build the full A/B report as one HTML string (UTF-8, no external references).

    Inputs follow the schemas of the analysis steps (see module docs); columns that are missing
    are treated as empty so an older or partial frame still yields a readable report.
    """
    res = _order(_frame(results, RESULT_COLUMNS), "experiment", "segment", "metric", "variant")
    srm_df = _frame(srm, SRM_COLUMNS) if srm is not None and not srm.empty else pd.DataFrame()
    if srm_df.empty:
        srm_df = pd.DataFrame(columns=list(SRM_COLUMNS))
    fun = _frame(funnel, FUNNEL_COLUMNS) if funnel is not None and not funnel.empty else None
    fun = fun if fun is not None else pd.DataFrame(columns=list(FUNNEL_COLUMNS))
    audits = list(audits or [])
    validation = dict(validation or {})
    run_info = dict(run_info or {})

    seg = res["segment"].map(lambda s: _text(s) or "all")
    overall = res[seg == "all"]
    # Segments: metric before segment, so mobile and desktop of one metric sit side by side.
    segments = _order(res[seg != "all"].copy(), "experiment", "metric", "variant", "segment")
    # Within an experiment: metric order first, then variant, as analysts read "per metric".
    overall = _order(overall.copy(), "experiment", "metric", "variant")

    srm_flags = _srm_experiments(srm_df, res)
    headlines = [
        _headline(exp, sub, srm_flags.get(exp) if exp in srm_flags else None)
        for exp, sub in overall.groupby(overall["experiment"].astype(str), sort=False)
    ]

    forest_svg = None
    if not overall.empty:
        forest_svg = Markup(figure_to_svg(forest_plot(overall, srm_experiments=list(srm_flags))))
    funnel_svg = None
    if not fun.empty:
        controls = {
            str(e): _text(c)
            for e, c in overall.groupby(overall["experiment"].astype(str), sort=False)["control"]
            .first()
            .items()
            if _text(c)
        }
        funnel_svg = Markup(figure_to_svg(funnel_plot(fun, controls=controls)))

    alphas = pd.to_numeric(overall["alpha"], errors="coerce").dropna().unique()
    conf = _conf_label(alphas[0]) if len(alphas) == 1 else "CI"

    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        "data_source": _text(run_info.get("data_source")),
        "git_commit": _text(run_info.get("git_commit")),
        "run_name": _text(run_info.get("run_name")),
        "pipeline": _text(run_info.get("pipeline")),
        "generated_at": _text(run_info.get("generated_at")),
        "kpis": _kpis(overall, srm_flags, srm_df, audits, validation),
        "headlines": headlines,
        "forest_svg": forest_svg,
        "conf": conf,
        "funnel_svg": funnel_svg,
        "funnel_table": _funnel_table(fun),
        "results": _grouped(overall, srm_flags),
        "segments": _grouped(segments, srm_flags),
        "srm_rows": _srm_rows(srm_df),
        "audits": _audit_rows(audits),
        "validation": _validation_view(validation),
        "run_items": _run_items(run_info),
        "config_yaml": _to_yaml(config),
    }
    return _template().render(**context)


_TEMPLATE_NAME = "ab_report.html.j2"


@functools.cache
def _template() -> jinja2.Template:
    """Load the template from package data (importlib.resources works from a wheel or a zip,
    not only from a source checkout). Autoescape is forced on: the template is HTML whatever
    its file extension, and every name in it can come from user data."""
    source = (
        importlib.resources.files("liftlab")
        .joinpath("templates", _TEMPLATE_NAME)
        .read_text(encoding="utf-8")
    )
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.from_string(source)
