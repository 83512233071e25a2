"""Render a model-training run (candidate comparison + promotion decision) as one HTML page.

The sibling of :mod:`liftlab.reports.ab_testing` (the A/B report) and built the same way: one
self-contained page (inline CSS, charts as inline SVG from :mod:`liftlab.plots.training`, no
JavaScript, no network resources), Jinja2 with autoescaping forced on so every candidate
label, reason, config value and audit detail is escaped; the only unescaped markup is the SVG
matplotlib produced.

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN scores,
an empty feature-importance frame, a champion that could not be scored (or no champion at all)
degrade to "—" and a note rather than an exception.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liftlab import __version__
from liftlab.config.training import TrainingConfig
from liftlab.plots.training import (
    METRIC_LABELS,
    comparison_chart,
    feature_importance_chart,
    predicted_vs_actual,
    residuals_plot,
)
from liftlab.reports.format import (
    DASH,
    MINUS,
    as_mapping,
    audit_rows,
    compact,
    fmt_int,
    fmt_score,
    fmt_text,
    num_or_nan,
    to_yaml,
    truncate,
    truthy,
)
from liftlab.reports.parts import (
    header_context,
    inline_svg,
    load_template,
    run_items,
    validation_view,
)
from strategies.evaluation import METRIC_DIRECTIONS

__all__ = ["METRICS", "SECTION_TITLES", "comparison_table_html", "render_training_report"]

METRICS: tuple[str, ...] = ("r2", "rmse", "mae", "poisson_deviance")
"""The regression metrics shown for every candidate, in table order."""

SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "decision": "Promotion decision",
    "comparison": "Model comparison",
    "diagnostics": "Best model diagnostics",
    "data": "Data",
    "config": "Configuration",
}
"""Section id -> heading, in page order (public so tests and links share one source)."""

_BASELINE = "baseline_mean"
_DEFAULT_METRIC = "poisson_deviance"
_PARAMS_CHARS = 90
_TOP_RESIDUALS = 10


# --- formatting helpers: accept anything, return display text -------------------------------


def _sd(value: Any, metric: str = "") -> str:
    """'± 0.546' (3 significant digits; 3 decimals for R²), '' when unknown."""
    x = num_or_nan(value)
    if math.isnan(x):
        return ""
    text = f"{x:.3f}" if metric == "r2" else f"{x:#.3g}".rstrip(".")
    return f"± {text}"


def _score_sd(mean: Any, sd: Any, metric: str = "") -> str:
    m = fmt_score(mean, metric)
    if m == DASH:
        return DASH
    s = _sd(sd, metric)
    return f"{m} {s}" if s else m


def _pct(value: Any, *, signed: bool = True) -> str:
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    digits = 1 if abs(x) >= 0.01 or x == 0 else 2
    text = f"{x * 100:{'+' if signed else ''}.{digits}f} %"
    return text.replace("-", MINUS)


def _ok(value: Any) -> bool:
    return not math.isnan(num_or_nan(value))


def _seconds(value: Any) -> str:
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    return f"{x:.2f} s" if x < 10 else f"{x:,.0f} s"


def _improvement(new: Any, old: Any, metric: str) -> float:
    """Relative improvement of ``new`` over ``old`` in the metric's good direction (as in
    :func:`strategies.evaluation.beats`); NaN when unknown or the reference is 0."""
    a, b = num_or_nan(new), num_or_nan(old)
    if math.isnan(a) or math.isnan(b) or b == 0 or metric not in METRIC_DIRECTIONS:
        return math.nan
    gain = b - a if METRIC_DIRECTIONS[metric] == "lower" else a - b
    return gain / abs(b)


def _better_phrase(rel: float, against: str) -> str:
    if math.isnan(rel):
        return ""
    if rel == 0:
        return f"same as {against}"
    word = "better" if rel > 0 else "worse"
    return f"{_pct(abs(rel), signed=False)} {word} than {against}"


def _direction(metric: str) -> str:
    d = METRIC_DIRECTIONS.get(metric)
    return f"{d} is better" if d else ""


def _metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def _params(value: Any) -> tuple[str, str]:
    """(short, full) display of a candidate's params JSON: compact one line, '' when empty."""
    text = fmt_text(value).strip()
    if not text:
        return "", ""
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        return truncate(text, _PARAMS_CHARS), text
    if parsed in ({}, [], None):
        return "", ""
    full = json.dumps(parsed, sort_keys=True, ensure_ascii=False, default=str)
    short = full.strip("{}") if isinstance(parsed, dict) else full
    return truncate(short, _PARAMS_CHARS), full


# --- view models ------------------------------------------------------------------------------

_TARGET_WORDS = {
    "Approved_Conversion": "approved conversions",
    "Total_Conversion": "total conversions",
}
"""How the KAG targets read in a sentence; any other target is its name in lower case."""


def _target_words(params: Mapping[str, Any]) -> tuple[str, str]:
    """(what is predicted, per what): ('approved conversions', 'per ad') for the KAG data."""
    target = fmt_text(params.get("target")).strip()
    words = _TARGET_WORDS.get(target) or target.replace("_", " ").lower() or "the target"
    id_column = fmt_text(params.get("id_column")).strip()
    unit = id_column[:-3] if id_column.lower().endswith("_id") else id_column
    return words, f"per {unit.replace('_', ' ')}" if unit else "per row"


def _sig3(value: Any) -> str:
    """A count-scale number with 3 significant digits ('1.31', '0.872', '1,204')."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _predicts_view(
    df: pd.DataFrame, best: int | None, params: Mapping[str, Any], diag: Mapping[str, Any]
) -> dict[str, Any]:
    """The lead sentence: what the model predicts and its holdout error in those units (MAE),
    before any modelling score."""
    what, per = _target_words(params)
    row = df.iloc[best].to_dict() if best is not None else {}
    base = _baseline_row(df) or {}
    mae, base_mae = num_or_nan(row.get("holdout_mae")), num_or_nan(base.get("holdout_mae"))
    return {
        "present": best is not None,
        "what": what,
        "per": per,
        "target": fmt_text(params.get("target")),
        "candidate": fmt_text(row.get("candidate")),
        "mae": _sig3(mae),
        "has_mae": not math.isnan(mae),
        "baseline_mae": _sig3(base_mae) if not math.isnan(base_mae) else "",
        "mean_actual": diag.get("mean_actual", "") if diag.get("present") else "",
    }


def _cv_spread(df: pd.DataFrame, best: int | None, metric: str) -> dict[str, Any]:
    """Candidates whose holdout score lies outside their CV mean ± 1 SD (the whiskers of the
    comparison chart) on the ranking metric; {} when none does, so the page says nothing."""
    mean = pd.to_numeric(df[f"cv_{metric}_mean"], errors="coerce")
    sd = pd.to_numeric(df[f"cv_{metric}_std"], errors="coerce")
    holdout = pd.to_numeric(df[f"holdout_{metric}"], errors="coerce")
    outside = ((holdout - mean).abs() > sd) & mean.notna() & sd.notna() & holdout.notna()
    if not outside.any():
        return {}
    names = [fmt_text(c) or DASH for c in df.loc[outside, "candidate"]]
    i = best if best is not None and bool(outside.iloc[best]) else int(np.flatnonzero(outside)[0])
    higher = bool(holdout.iloc[i] > mean.iloc[i])
    worse = higher == (METRIC_DIRECTIONS.get(metric) == "lower")
    return {
        "n": int(outside.sum()),
        "of": len(df),
        "names": ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else ""),
        "example": fmt_text(df.at[i, "candidate"]) or DASH,
        "holdout": fmt_score(holdout.iloc[i], metric),
        "cv": _score_sd(mean.iloc[i], sd.iloc[i], metric),
        "word": "worse" if worse else "better",
    }


def _comparison_frame(comparison: pd.DataFrame | None) -> pd.DataFrame:
    df = comparison.copy() if isinstance(comparison, pd.DataFrame) else pd.DataFrame()
    columns = [
        "rank",
        "candidate",
        "model",
        *(f"cv_{m}_{s}" for m in METRICS for s in ("mean", "std")),
        *(f"holdout_{m}" for m in METRICS),
        "holdout_negative_predictions",
        "fit_seconds",
        "search_settings_tried",
        "params",
        "is_best",
        "rank_by",
    ]
    for col in columns:
        if col not in df.columns:
            df[col] = np.nan
    return df.reset_index(drop=True)


def _rank_metric(df: pd.DataFrame, decision: Mapping[str, Any]) -> str:
    for value in (*df["rank_by"].tolist()[:1], decision.get("metric")):
        text = fmt_text(value).strip()
        if text in METRIC_DIRECTIONS:
            return text
    return _DEFAULT_METRIC


def _best_index(df: pd.DataFrame) -> int | None:
    if df.empty:
        return None
    flags = df["is_best"].map(truthy)
    if flags.any():
        return int(np.flatnonzero(flags.to_numpy())[0])
    ranks = pd.to_numeric(df["rank"], errors="coerce")
    if (ranks == 1).any():
        return int(np.flatnonzero((ranks == 1).to_numpy())[0])
    return 0


def _comparison_rows(df: pd.DataFrame, best: int | None) -> list[dict[str, Any]]:
    rows = []
    for i, r in enumerate(df.to_dict("records")):
        short, full = _params(r.get("params"))
        rank = num_or_nan(r.get("rank"))
        rows.append(
            {
                "rank": DASH if math.isnan(rank) else f"{rank:g}",
                "candidate": fmt_text(r.get("candidate")) or DASH,
                "model": fmt_text(r.get("model")),
                "best": i == best,
                "baseline": fmt_text(r.get("model")) == _BASELINE,
                "cv": {m: fmt_score(r.get(f"cv_{m}_mean"), m) for m in METRICS},
                "cv_sd": {
                    m: _sd(r.get(f"cv_{m}_std"), m) if _ok(r.get(f"cv_{m}_mean")) else ""
                    for m in METRICS
                },
                "holdout": {m: fmt_score(r.get(f"holdout_{m}"), m) for m in METRICS},
                "negative": fmt_int(r.get("holdout_negative_predictions")),
                "negative_any": num_or_nan(r.get("holdout_negative_predictions")) > 0,
                "fit": _seconds(r.get("fit_seconds")),
                "tried": fmt_int(r.get("search_settings_tried")),
                "params": short,
                "params_full": full,
            }
        )
    return rows


def _baseline_row(df: pd.DataFrame) -> dict[str, Any] | None:
    match = df[df["model"].map(fmt_text) == _BASELINE]
    if match.empty:
        match = df[df["candidate"].map(fmt_text) == _BASELINE]
    return None if match.empty else match.iloc[0].to_dict()


def _decision_view(decision: Mapping[str, Any], rank_metric: str) -> dict[str, Any]:
    present = bool(decision)
    metric = fmt_text(decision.get("metric")).strip() or rank_metric
    promote = truthy(decision.get("promote"))
    challenger = as_mapping(decision.get("challenger"))
    baseline = as_mapping(decision.get("baseline"))
    champion_raw = decision.get("champion")
    champion = as_mapping(champion_raw) if champion_raw is not None else None

    ch_scores = as_mapping(challenger.get("scores"))
    base_scores = as_mapping(baseline.get("scores"))
    champ_scores = as_mapping(champion.get("scores")) if champion is not None else {}

    columns = [
        {
            "key": "challenger",
            "title": "Challenger",
            "name": fmt_text(challenger.get("candidate")) or "best candidate",
            "note": "",
            "scores": ch_scores,
        },
        {
            "key": "baseline",
            "title": "Baseline",
            "name": fmt_text(baseline.get("candidate")) or _BASELINE,
            "note": "",
            "scores": base_scores,
        },
    ]
    if champion is not None:
        version = fmt_text(champion.get("version"))
        model_id = fmt_text(champion.get("model_id"))
        columns.append(
            {
                "key": "champion",
                "title": "Current champion",
                "name": f"version {version}" if version else "current champion",
                "note": model_id,
                "scores": champ_scores,
            }
        )

    table = []
    for m in METRICS:
        values = [num_or_nan(c["scores"].get(m)) for c in columns]
        finite = [v for v in values if not math.isnan(v)]
        best_value = math.nan
        if finite and m in METRIC_DIRECTIONS:
            best_value = max(finite) if METRIC_DIRECTIONS[m] == "higher" else min(finite)
        table.append(
            {
                "metric": m,
                "label": _metric_label(m),
                "direction": _direction(m),
                "decides": m == metric,
                "cells": [
                    {
                        "value": fmt_score(v, m),
                        "best": len(finite) > 1 and not math.isnan(v) and v == best_value,
                    }
                    for v in values
                ],
            }
        )

    ch_value = ch_scores.get(metric)
    vs_baseline = _improvement(ch_value, base_scores.get(metric), metric)
    vs_champion = (
        _improvement(ch_value, champ_scores.get(metric), metric)
        if champion is not None
        else math.nan
    )
    reasons = decision.get("reasons") or []
    if isinstance(reasons, str):
        reasons = [reasons]
    margin = num_or_nan(decision.get("margin"))
    return {
        "present": present,
        "promote": promote,
        "metric": metric,
        "metric_label": _metric_label(metric),
        "direction": _direction(metric),
        "margin": _pct(margin, signed=False) if not math.isnan(margin) else DASH,
        "model_name": fmt_text(decision.get("model_name")),
        "summary": fmt_text(decision.get("summary")),
        "reasons": [fmt_text(r) for r in reasons if fmt_text(r)],
        "columns": [{k: c[k] for k in ("key", "title", "name", "note")} for c in columns],
        "table": table,
        "first_model": champion is None,
        "champion_error": fmt_text(champion.get("error")) if champion is not None else "",
        "champion_version": fmt_text(champion.get("version")) if champion is not None else "",
        "vs_baseline": _better_phrase(vs_baseline, "baseline"),
        "vs_champion": _better_phrase(vs_champion, "champion"),
    }


def _kpis(
    df: pd.DataFrame,
    best: int | None,
    metric: str,
    decision: dict[str, Any],
    params: Mapping[str, Any],
) -> list[dict[str, str]]:
    def card(key: str, label: str, value: str, sub: str, tone: str = "accent") -> dict[str, str]:
        return {"key": key, "label": label, "value": value, "sub": sub, "tone": tone}

    label = _metric_label(metric)
    direction = _direction(metric)
    row = df.iloc[best].to_dict() if best is not None else {}
    base = _baseline_row(df) or {}
    best_holdout = row.get(f"holdout_{metric}")
    base_holdout = base.get(f"holdout_{metric}")
    rel = _improvement(best_holdout, base_holdout, metric)
    n = len(df)
    what, per = _target_words(params)
    base_mae = base.get("holdout_mae")
    cards = [
        card(
            "mae",
            f"Average error {per} (MAE)",
            _sig3(row.get("holdout_mae")),
            f"{what} {per}, holdout"
            + (f"; always-average baseline {_sig3(base_mae)}" if _ok(base_mae) else ""),
        ),
        card(
            "best",
            "Best candidate",
            fmt_text(row.get("candidate")) or DASH,
            (
                f"{fmt_text(row.get('model'))} · "
                if fmt_text(row.get("model")) not in ("", fmt_text(row.get("candidate")))
                else ""
            )
            + f"of {n} candidate{'' if n == 1 else 's'}",
        ),
        card(
            "cv",
            f"CV {label}",
            _score_sd(row.get(f"cv_{metric}_mean"), row.get(f"cv_{metric}_std"), metric),
            f"best candidate, mean ± SD; {direction}",
        ),
        card(
            "holdout",
            f"Holdout {label}",
            fmt_score(best_holdout, metric),
            "best candidate, never seen in selection",
        ),
        card(
            "baseline",
            f"Baseline holdout {label}",
            fmt_score(base_holdout, metric),
            (
                f"best model is {_pct(abs(rel), signed=False)} "
                f"{'better' if rel > 0 else 'worse' if rel < 0 else 'different'}"
            )
            if not math.isnan(rel)
            else "predicts the training mean",
            "win" if rel > 0 else ("loss" if rel < 0 else "neutral"),
        ),
    ]
    if decision["present"]:
        if decision["promote"]:
            sub = (
                "first model: becomes champion"
                if decision["first_model"]
                else f"replaces champion version {decision['champion_version']}"
                if decision["champion_version"]
                else "replaces the champion"
            )
            cards.append(card("verdict", "Promotion", "Promoted", sub, "win"))
        else:
            sub = (
                "champion version " + decision["champion_version"] + " stays"
                if decision["champion_version"]
                else "champion unchanged"
            )
            if decision["first_model"]:
                sub = "no champion registered"
            cards.append(card("verdict", "Promotion", "Not promoted", sub, "inconclusive"))
    else:
        cards.append(card("verdict", "Promotion", DASH, "no decision recorded", "neutral"))
    return cards


def _diagnostics(predictions: pd.DataFrame | None) -> dict[str, Any]:
    df = predictions if isinstance(predictions, pd.DataFrame) else pd.DataFrame()
    if df.empty or not {"actual", "predicted"}.issubset(df.columns):
        return {"present": False, "n": 0, "top": []}
    actual = pd.to_numeric(df["actual"], errors="coerce")
    predicted = pd.to_numeric(df["predicted"], errors="coerce")
    ok = actual.notna() & predicted.notna() & np.isfinite(actual) & np.isfinite(predicted)
    if not ok.any():
        return {"present": False, "n": 0, "top": []}
    residual = actual - predicted
    order = residual[ok].abs().sort_values(ascending=False, kind="stable").index
    has_id = "ad_id" in df.columns
    top = [
        {
            "ad_id": compact(df.at[i, "ad_id"]) if has_id else "",
            "actual": fmt_score(actual[i]),
            "predicted": fmt_score(predicted[i]),
            "residual": fmt_score(residual[i]),
        }
        for i in order[:_TOP_RESIDUALS]
    ]
    a, p = actual[ok].to_numpy(float), predicted[ok].to_numpy(float)
    return {
        "present": True,
        "n": f"{int(ok.sum()):,}",
        "dropped": int((~ok).sum()),
        "has_id": has_id,
        "top": top,
        "negative": int((p < 0).sum()),
        "mean_actual": fmt_score(a.mean()),
        "mean_predicted": fmt_score(p.mean()),
    }


# --- rendering ----------------------------------------------------------------------------


def render_training_report(
    *,
    comparison: pd.DataFrame,
    holdout_predictions: pd.DataFrame,
    feature_importance: pd.DataFrame,
    decision: dict,
    audits: list[dict],
    validation: dict,
    config: TrainingConfig | Mapping[str, Any],
    run_info: dict,
) -> str:
    """Build the training report as one HTML string (UTF-8, no external references).

    ``config`` is the run's :class:`~liftlab.config.training.TrainingConfig` (shown as the YAML
    parameters with every default filled in) or already such a mapping.

    ``comparison`` is :attr:`strategies.evaluation.CandidateComparison.table` (best first);
    ``holdout_predictions`` has ``actual``, ``predicted`` (and optionally ``ad_id``,
    ``residual``) for the best candidate on the holdout; ``feature_importance`` has
    ``feature``, ``importance_mean``, ``importance_std`` (may be empty); ``decision`` is the
    promotion record (``champion`` None for a first model; a champion without ``scores`` may
    carry an ``error``); ``audits`` and ``validation`` have the shapes the A/B report uses.
    Any of them may be empty or partial: the page then says what is missing.
    """
    if isinstance(config, TrainingConfig):
        config = config.model_dump(mode="json")
    config_map = as_mapping(config)
    params = as_mapping(config_map.get("parameters")) or config_map
    df = _comparison_frame(comparison)
    decision = as_mapping(decision)
    run_info = as_mapping(run_info)
    metric = _rank_metric(df, decision)
    best = _best_index(df)
    decision_view = _decision_view(decision, metric)

    best_name = fmt_text(df.at[best, "candidate"]) if best is not None else ""
    comparison_svg = (
        inline_svg(comparison_chart(df, metric))
        if not df.empty and pd.to_numeric(df[f"cv_{metric}_mean"], errors="coerce").notna().any()
        else None
    )
    diag = _diagnostics(holdout_predictions)
    pva_svg = res_svg = None
    if diag["present"]:
        hp = holdout_predictions
        pva_svg = inline_svg(predicted_vs_actual(hp["actual"], hp["predicted"]))
        res_svg = inline_svg(residuals_plot(hp["actual"], hp["predicted"]))
    fi = feature_importance if isinstance(feature_importance, pd.DataFrame) else pd.DataFrame()
    fi_ok = (
        not fi.empty
        and "importance_mean" in fi.columns
        and pd.to_numeric(fi["importance_mean"], errors="coerce").notna().any()
    )
    fi_svg = inline_svg(feature_importance_chart(fi)) if fi_ok else None

    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        **header_context(run_info),
        "model_name": decision_view["model_name"] or fmt_text(run_info.get("model_name")),
        "metric": metric,
        "metric_label": _metric_label(metric),
        "direction": _direction(metric),
        "metrics": [{"key": m, "label": _metric_label(m)} for m in METRICS],
        "kpis": _kpis(df, best, metric, decision_view, params),
        "predicts": _predicts_view(df, best, params, diag),
        "cv_spread": _cv_spread(df, best, metric),
        "decision": decision_view,
        "rows": _comparison_rows(df, best),
        "comparison_svg": comparison_svg,
        "best_name": best_name,
        "diag": diag,
        "pva_svg": pva_svg,
        "res_svg": res_svg,
        "fi_svg": fi_svg,
        "audits": audit_rows(list(audits or [])),
        "validation": validation_view(validation),
        "config_yaml": to_yaml(config if isinstance(config, Mapping) else None),
        "run_items": run_items(run_info),
    }
    return load_template(_TEMPLATE_NAME).render(**context)


_TEMPLATE_NAME = "training_report.html.j2"


def comparison_table_html(comparison: pd.DataFrame, rank_by: str) -> str:
    """The candidate comparison as a plain HTML table for the ZenML dashboard (the full report
    has the charts): rank, candidate, model and each metric's CV mean and holdout value."""
    columns = ["rank", "candidate", "model"]
    for m in METRICS:
        columns += [f"cv_{m}_mean", f"holdout_{m}"]
    table = comparison[[c for c in columns if c in comparison.columns]]
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
    return (
        "<html><body style='font-family:sans-serif'>"
        f"<h3>Model comparison (ranked by cross-validated {html.escape(rank_by)})</h3>"
        f"{body}</body></html>"
    )
