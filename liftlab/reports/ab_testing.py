"""Render the A/B test results as one self-contained HTML page.

The page is opened offline inside the ZenML dashboard, as an MLflow artifact, or as a file
someone forwarded, so it carries everything inline: CSS in a ``<style>`` block, charts as inline
SVG, no JavaScript, no fonts or images from the network. Interaction is limited to what HTML
gives for free (anchor links, ``<details>``).

All user-controlled text (experiment, metric and variant names, messages, config values, audit
details) goes through Jinja2 autoescaping; the only markup inserted unescaped is the SVG that
``liftlab.plots.ab_testing`` produced from matplotlib, which escapes its own text.

Design rule: the report must never be the reason a pipeline fails. Missing columns, NaN values,
empty frames and odd types degrade to "—" and a note rather than an exception.

Optional layers show up only when their data is there, so results frames written before a layer
existed still render: CUPED notes (``variance_reduction``/``cuped_theta``), the relative-CI
method (``rel_ci_method``, Fieller bounds may be ±inf and read "−∞ … +∞"), guardrails
(``role``/``guardrail_status``), a segment heatmap and Cochran's Q table (``heterogeneity``),
per-segment SRM, and the "Bayesian view", "Sequential monitoring" and "Robustness checks"
sections (the columns in :data:`BAYES_COLUMNS`, :data:`SEQUENTIAL_COLUMNS` and
:data:`NONPARAMETRIC_COLUMNS`; ``sequential_looks`` adds the per-look charts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup
from pydantic import BaseModel

from liftlab import __version__
from liftlab.config.ab_testing import ABTestConfig
from liftlab.plots.ab_testing import (
    forest_plot,
    funnel_plot,
    segment_heatmap,
    sequential_plot,
)
from liftlab.plots.style import figure_to_svg
from liftlab.reports.format import (
    DASH,
    DECISIONS,
    audit_rows,
    fmt_abs_ci,
    fmt_abs_diff,
    fmt_ci,
    fmt_conf_label,
    fmt_decision,
    fmt_estimate,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_pval,
    fmt_signed,
    fmt_text,
    metric_unit,
    num_or_inf,
    num_or_nan,
    to_yaml,
    truthy,
)
from strategies.stats.schema import (
    BAYES_COLUMNS,
    FUNNEL_COLUMNS,
    HETEROGENEITY_COLUMNS,
    LOOK_COLUMNS,
    NONPARAMETRIC_COLUMNS,
    RESULT_COLUMNS,
    SEQUENTIAL_COLUMNS,
    SRM_COLUMNS,
)

__all__ = [
    "BAYES_COLUMNS",
    "LOOK_COLUMNS",
    "NONPARAMETRIC_COLUMNS",
    "OPTIONAL_SECTIONS",
    "SECTION_TITLES",
    "SEQUENTIAL_COLUMNS",
    "render_ab_report",
]

# Section id -> heading, in page order. Public so tests (and anyone linking into the report)
# share one source. The ids in OPTIONAL_SECTIONS appear only when their data is present.
SECTION_TITLES: dict[str, str] = {
    "summary": "At a glance",
    "headline": "Headline",
    "forest": "Relative lift by metric",
    "funnel": "Funnel",
    "results": "Results",
    "guardrails": "Guardrails",
    "bayesian": "Bayesian view",
    "sequential": "Sequential monitoring",
    "robustness": "Robustness checks",
    "segments": "Segments",
    "srm": "Sample ratio mismatch",
    "cleaning": "Data cleaning audit",
    "validation": "Data validation",
    "run": "Run details",
}
OPTIONAL_SECTIONS: frozenset[str] = frozenset(
    {"guardrails", "bayesian", "sequential", "robustness"}
)


_GUARD_STATUSES = ("pass", "fail", "inconclusive")
_ROLES = ("primary", "secondary", "guardrail")
_SEQ_METHODS = {"msprt": "mSPRT", "group_sequential": "Group sequential"}
# "... significant result held back: guardrail(s) not passed (open_rate=inconclusive, ...)"
_HELD_BACK = re.compile(r"guardrail\(s\) not passed \((?P<items>.*?)\)\s*(?:;|$)")


# --- small formatting helpers -------------------------------------------------------------
# Every helper accepts anything (None, NaN, strings, numpy scalars) and returns display text,
# so the template never has to think about missing values.


def _ok(value: Any) -> bool:
    return not math.isnan(num_or_nan(value))


def _unbounded(low: Any, high: Any) -> bool:
    return math.isinf(num_or_inf(low)) or math.isinf(num_or_inf(high))


def _prob(value: Any) -> str:
    """A probability as a percentage that never claims certainty: '>99.9 %', '<0.1 %'."""
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH
    if x > 0.999:
        return ">99.9 %"
    if x < 0.001:
        return "<0.1 %"
    return f"{x * 100:.1f} %"


def _p_phrase(value: Any) -> str:
    """'p = 0.012' or 'p < 0.0001' for running text ('' when unknown)."""
    text = fmt_pval(value)
    if text == DASH:
        return ""
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def _loss(value: Any, unit: Any, control: float = math.nan) -> tuple[str, str]:
    """An expected loss (>= 0) in the metric's units and relative to the control estimate.

    Losses span many orders of magnitude (1e-30 when one arm is clearly better); below
    0.005 % of the control value they read "≈ 0" rather than '4.2e−34'.
    """
    x = num_or_nan(value)
    if math.isnan(x):
        return DASH, ""
    ratio = x / control if control > 0 else math.nan
    if not math.isnan(ratio) and ratio < 5e-5:
        return "≈ 0", "<0.01 % of control"
    rel = "" if math.isnan(ratio) else f"{fmt_pct(ratio, signed=False, digits=2)} of control"
    # in the metric's unit, without a sign: a loss is a size, never a direction
    return fmt_abs_diff(x, unit).lstrip("+"), rel


def _frame(df: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    """A copy with every expected column present, so a missing one is '—' rather than a crash."""
    out = pd.DataFrame() if df is None else df.copy()
    for col in columns:
        if col not in out.columns:
            out[col] = np.nan
    return out.reset_index(drop=True)


def _guard_status(value: Any) -> str:
    text = fmt_text(value).strip().lower()
    return text if text in _GUARD_STATUSES else ""


def _role(value: Any) -> str:
    text = fmt_text(value).strip().lower()
    return text if text in _ROLES else ""


def _has_values(df: pd.DataFrame, columns: Iterable[str], original: pd.DataFrame | None) -> bool:
    """True when the caller's frame has any of ``columns`` with at least one real value.

    Checked on the original frame: ``_frame`` adds missing columns as NaN, and a column that
    exists but is all NaN (a layer that ran on no metric) must not conjure an empty section.
    """
    if original is None or df.empty:
        return False
    for col in columns:
        if col in original.columns and col in df.columns:
            values = df[col]
            if values.map(lambda v: fmt_text(v) != "" and not _is_nan(v)).any():
                return True
    return False


def _is_nan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _cuped(row: Any) -> dict[str, str] | None:
    """The 'CUPED −30 % variance' note of a row that used a covariate, else None."""
    if not fmt_text(row.test).endswith("_cuped"):
        return None
    vr = num_or_nan(row.variance_reduction)
    theta = num_or_nan(row.cuped_theta)
    if math.isnan(vr):
        text, title = "CUPED", "CUPED-adjusted with a pre-period covariate"
    else:
        text = "CUPED " + fmt_signed(f"{-vr * 100:+.0f} %") + " variance"
        title = (
            f"CUPED: the variance of the difference is {abs(vr) * 100:.0f} % "
            f"{'smaller' if vr >= 0 else 'larger'} than without the covariate"
        )
    if not math.isnan(theta):
        title += f" (θ = {theta:.3g})"
    return {"text": text, "title": title}


def _held_back(message: Any) -> list[tuple[str, str]] | None:
    """Guardrails named in a 'significant result held back' message as (metric, status)."""
    match = _HELD_BACK.search(fmt_text(message))
    if not match:
        return None
    items = []
    for item in match.group("items").split(", "):
        metric, sep, status = item.rpartition("=")
        items.append((metric, status) if sep else (item, ""))
    return items


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
            if truthy(row.srm_detected):
                p = num_or_nan(row.p_value)
                prev = flagged.get(str(row.experiment), math.nan)
                flagged[str(row.experiment)] = p if math.isnan(prev) else min(prev, p)
    if not results.empty:
        bad = results[results["status"].astype(str) == "srm"]
        for row in bad.itertuples(index=False):
            flagged.setdefault(str(row.experiment), num_or_nan(row.srm_p_value))
    return flagged


_SRM_NOTE_START = "sample ratio mismatch in experiment"


_CORRECTED_AWAY = re.compile(
    r"is significant before correction but not after the (\w+) correction over (\d+) comparisons"
)


def _without_srm_note(message: Any) -> str:
    """A row's message for the narrow decision column: minus the experiment-level SRM note
    (shown once under the experiment's header), and the correction note in brief (the raw and
    adjusted p-values stand beside it)."""
    notes = []
    for note in fmt_text(message).split("; "):
        if not note or note.startswith(_SRM_NOTE_START) or note == "the intervals are unadjusted":
            continue
        found = _CORRECTED_AWAY.search(note)
        if found:
            method, size = found.groups()
            note = f"significant only before the {method} correction over {size} comparisons"
        notes.append(note)
    return "; ".join(notes)


def _srm_note(srm_p: float) -> str:
    """The one line shown under an experiment with a sample ratio mismatch."""
    p = f" ({_p_phrase(srm_p)})" if not math.isnan(srm_p) else ""
    return (
        f"Sample ratio mismatch{p}: the traffic split is broken, so no comparison of this "
        "experiment can be trusted — every decision below is held at inconclusive."
    )


def _mini_bar(
    lift: Any, low: Any, high: Any, scale: float, *, marker: float = math.nan
) -> dict[str, Any] | None:
    """Positions (0-100 %) of a tiny in-table CI bar on a symmetric, per-metric scale.

    The same metric shares one scale within a table, so bars can be compared down a column
    the way the forest plot compares them, without leaving the table. An end beyond the scale
    (±inf from an unbounded Fieller interval) is clipped and gets an arrowhead (``open_lo`` /
    ``open_hi``). ``marker`` (e.g. a guardrail's margin) is drawn as a tick when finite.
    """
    lift = num_or_nan(lift)
    lo, hi = num_or_inf(low), num_or_inf(high)
    if math.isnan(lift) or not scale > 0:
        return None

    def pos(x: float) -> float:
        return round(min(100.0, max(0.0, 50.0 + 50.0 * x / scale)), 2)

    lo = lift if math.isnan(lo) else lo
    hi = lift if math.isnan(hi) else hi
    return {
        "left": pos(lo),
        "width": round(max(pos(hi) - pos(lo), 0.6), 2),
        "dot": pos(lift),
        "open_lo": lo < -scale,
        "open_hi": hi > scale,
        "marker": None if math.isnan(marker) else pos(marker),
    }


def _result_row(row: Any, scale: float = math.nan) -> dict[str, Any]:
    mtype = fmt_text(row.metric_type)
    decision = fmt_decision(row.decision)
    status = fmt_text(row.status) or "ok"
    lift_ok = _ok(row.rel_lift)
    alpha = num_or_nan(row.alpha)
    p_adj = num_or_nan(row.p_value_adjusted)
    method = fmt_text(row.rel_ci_method).strip().lower()
    unbounded = _unbounded(row.rel_ci_low, row.rel_ci_high)
    return {
        "segment": fmt_text(row.segment),
        "metric": fmt_text(row.metric),
        "metric_type": mtype,
        "variant": fmt_text(row.variant),
        "control": fmt_text(row.control),
        "est_control": fmt_estimate(row.estimate_control, row.display_unit),
        "est_variant": fmt_estimate(row.estimate_variant, row.display_unit),
        "abs_diff": fmt_abs_diff(row.abs_diff, row.display_unit),
        "lift": fmt_pct(row.rel_lift) if lift_ok else DASH,
        "lift_ci": fmt_ci(row.rel_ci_low, row.rel_ci_high),
        "unbounded": unbounded,
        "ci_method": method,
        "bar": _mini_bar(row.rel_lift, row.rel_ci_low, row.rel_ci_high, scale),
        "p": fmt_pval(row.p_value),
        "p_adj": fmt_pval(row.p_value_adjusted),
        "significant": not math.isnan(p_adj) and not math.isnan(alpha) and p_adj < alpha,
        "n_control": fmt_int(row.n_control),
        "n_variant": fmt_int(row.n_variant),
        "test": fmt_text(row.test),
        "decision": decision,
        "status": status,
        "message": _without_srm_note(row.message),
        "seq_decided": _seq_decided(row),
        "role": _role(row.role),
        "guardrail": _guard_status(row.guardrail_status),
        "cuped": _cuped(row),
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
        srm_note = _srm_note(srm_flags[exp]) if exp in srm_flags else ""
        groups.append(
            {"experiment": exp, "srm": exp in srm_flags, "srm_note": srm_note, "rows": rows}
        )
    return groups


def _show_roles(df: pd.DataFrame) -> bool:
    """Role tags only help when some metric is not primary (the default needs no label)."""
    return bool({_role(v) for v in df["role"]} - {"", "primary"})


def _seq_note(row: Any) -> str:
    """'stopped at look 3 of 14' when a sequential test crossed its boundary, else ''."""
    method = fmt_text(row.seq_method).strip()
    if not method or not truthy(row.seq_crossed):
        return ""
    look = num_or_nan(row.seq_crossed_look)
    planned = num_or_nan(row.seq_planned_looks)
    name = _SEQ_METHODS.get(method, method)
    if math.isnan(look):
        return f"{name}: boundary crossed"
    of = f" of {planned:g}" if not math.isnan(planned) else ""
    at_stop = num_or_nan(getattr(row, "seq_decision_look", math.nan)) == look
    tail = "; lift and interval of that look" if at_stop and _seq_detail(row, "") else ""
    return f"{name}: stopped at look {look:g}{of}{tail}"


_SEQ_INTERVALS = {"msprt": "always-valid", "group_sequential": "repeated"}


def _seq_decided(row: Any) -> str:
    """Under a decision the sequential test made, the interval it made it with — the table's
    fixed-horizon interval beside it is for reference ('sequential test decides, at look 8 of
    14: +0.13 pp … +2.87 pp')."""
    method = fmt_text(getattr(row, "seq_method", "")).strip()
    if not method or fmt_text(row.status) not in ("", "ok"):
        return ""
    look = num_or_nan(getattr(row, "seq_decision_look", math.nan))
    planned = num_or_nan(getattr(row, "seq_planned_looks", math.nan))
    ci = fmt_abs_ci(row.seq_ci_low, row.seq_ci_high, getattr(row, "display_unit", ""))
    at = f", at look {look:g}" if not math.isnan(look) else ""
    of = f" of {planned:g}" if at and not math.isnan(planned) else ""
    kind = _SEQ_INTERVALS.get(method, "sequential")
    return f"decided by the sequential test{at}{of}" + (f"; {kind} CI {ci}" if ci else "")


def _seq_detail(row: Any, conf: str) -> str:
    """The headline numbers of a decision the sequential test made: its estimate and
    sequential interval *at the look where it stopped* (DESIGN.md §2.7; :func:`_seq_note`
    names the look), e.g. '(+15.0 %, repeated 95 % CI of the difference +0.13 pp … +2.87 pp)'.
    '' when the row carries no such numbers (the caller then prints the fixed-horizon ones)."""
    method = fmt_text(getattr(row, "seq_method", "")).strip()
    estimate = num_or_nan(getattr(row, "seq_estimate", math.nan))
    if not method or math.isnan(estimate) or fmt_text(row.status) not in ("", "ok"):
        return ""
    rel = num_or_nan(getattr(row, "seq_rel_estimate", math.nan))
    unit = getattr(row, "display_unit", row.metric_type)
    lead = fmt_pct(rel) if not math.isnan(rel) else fmt_abs_diff(estimate, unit)
    ci = fmt_abs_ci(row.seq_ci_low, row.seq_ci_high, unit)
    kind = _SEQ_INTERVALS.get(method, "sequential")
    interval = f", {kind} {conf} of the difference {ci}" if ci else ""
    return f"({lead}{interval})"


def _cuped_summary(df: pd.DataFrame) -> list[tuple[str, float]]:
    """(metric, mean variance reduction) for the metrics analysed with CUPED, in order."""
    found: dict[str, list[float]] = {}
    for row in df.itertuples(index=False):
        if fmt_text(row.test).endswith("_cuped") and (fmt_text(row.status) or "ok") == "ok":
            found.setdefault(fmt_text(row.metric), []).append(num_or_nan(row.variance_reduction))
    out = []
    for metric, values in found.items():
        finite = [v for v in values if not math.isnan(v)]
        out.append((metric, sum(finite) / len(finite) if finite else math.nan))
    return out


def _headline(exp: str, sub: pd.DataFrame, srm_p: float | None) -> dict[str, Any]:
    """One sentence per experiment: the wins and losses that matter, then the rest in brief.

    A win held back by a guardrail is spelled out ("B wins on ctr … but guardrail open_rate
    is not passed → not a win") instead of being counted as one more "inconclusive".
    """
    parts: list[dict[str, str]] = []
    counts = dict.fromkeys(DECISIONS, 0)
    not_estimable: list[str] = []
    for row in sub.itertuples(index=False):
        decision = fmt_decision(row.decision)
        if not _ok(row.rel_lift):
            not_estimable.append(fmt_text(row.status) or "no estimate")
            continue
        ci = f"{fmt_conf_label(row.alpha)} {fmt_ci(row.rel_ci_low, row.rel_ci_high) or DASH}"
        guards = _held_back(row.message) if decision != "win" else None
        if guards:
            names = ", ".join(f"{m} ({st})" if st else m for m, st in guards)
            one = len(guards) == 1
            parts.append(
                {
                    "tone": "held",
                    "lead": f"{fmt_text(row.variant)} wins on {fmt_text(row.metric)}",
                    "detail": f"({fmt_pct(row.rel_lift)}, {ci})",
                    "but": f"but guardrail{'' if one else 's'} {names} "
                    f"{'is' if one else 'are'} not passed → not a win",
                    "seq": "",
                }
            )
            continue
        if decision:
            counts[decision] += 1
        if decision in ("win", "loss"):
            verb = "wins" if decision == "win" else "loses"
            parts.append(
                {
                    "tone": decision,
                    "lead": f"{fmt_text(row.variant)} {verb} on {fmt_text(row.metric)}",
                    "detail": _seq_detail(row, fmt_conf_label(row.alpha))
                    or f"({fmt_pct(row.rel_lift)}, {ci})",
                    "but": "",
                    "seq": _seq_note(row),
                }
            )
    parts.sort(key=lambda p: {"win": 0, "held": 1, "loss": 2}[p["tone"]])

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
            variants = ", ".join(dict.fromkeys(fmt_text(v) for v in sub["variant"]))
            control = fmt_text(sub["control"].iloc[0]) or "the control"
            summary = (
                f"{variants} not shown to differ from {control} on any metric ({', '.join(bits)})."
            )
        else:
            summary = "No comparison could be estimated."
    if not_estimable:
        kinds = ", ".join(sorted(set(not_estimable)))
        rest.append(f"{len(not_estimable)} not estimable ({kinds})")

    tones = {p["tone"] for p in parts}
    tone = "neutral"
    for candidate in ("loss", "held", "win"):
        if candidate in tones:
            tone = candidate
            break
    else:
        if counts["inconclusive"]:
            tone = "inconclusive"
    notes = []
    cuped = _cuped_summary(sub)
    if cuped:
        bits = [
            f"{m} ({fmt_signed(f'{-vr * 100:+.0f} %')} variance)" if not math.isnan(vr) else m
            for m, vr in cuped
        ]
        notes.append("CUPED on " + ", ".join(bits))
    srm = srm_p is not None
    return {
        "experiment": exp,
        "tone": "srm" if srm else tone,
        "parts": parts,
        "summary": summary,
        "rest": "; ".join(rest),
        "notes": notes,
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
    decisions = overall["decision"].map(fmt_decision)
    n_exp = overall["experiment"].astype(str).nunique()
    checked = srm["experiment"].astype(str).nunique() if not srm.empty else 0

    rows_after = validation.get("n_rows") if validation else None
    if rows_after is None and audits:
        rows_after = audits[-1].get("rows_out")
    raw = audits[0].get("rows_in") if audits else None
    rows_sub = f"from {fmt_int(raw)} raw rows" if _ok(raw) else "after cleaning"

    def card(key: str, label: str, value: Any, sub: str, tone: str) -> dict[str, str]:
        return {"key": key, "label": label, "value": value, "sub": sub, "tone": tone}

    n_srm = len(srm_flags)
    cards = [
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
            fmt_int(rows_after) if _ok(rows_after) else DASH,
            rows_sub,
            "accent",
        ),
    ]
    pairs = zip(overall["guardrail_status"], overall["role"], strict=True)
    guards = [_guard_status(v) for v, r in pairs if _role(r) == "guardrail" or _guard_status(v)]
    if guards:
        not_passed = sum(g != "pass" for g in guards)
        tone = "loss" if "fail" in guards else ("inconclusive" if not_passed else "ok")
        n = len(guards)
        cards.insert(
            7,
            card(
                "guardrails",
                "Guardrail alerts",
                str(not_passed),
                f"not passed, of {n} check{'' if n == 1 else 's'}",
                tone,
            ),
        )
    cuped = _cuped_summary(overall)
    if cuped:
        n_rows = sum(fmt_text(t).endswith("_cuped") for t in overall["test"])
        finite = [vr for _, vr in cuped if not math.isnan(vr)]
        value = fmt_signed(f"{-sum(finite) / len(finite) * 100:+.0f} %") if finite else "on"
        cards.append(
            card(
                "cuped",
                "CUPED",
                value,
                f"avg. variance, {n_rows} comparison{'' if n_rows == 1 else 's'}",
                "accent",
            )
        )
    return cards


def _srm_rows(srm: pd.DataFrame, *, flagged_first: bool = False) -> list[dict[str, Any]]:
    """One row per variant, with experiment-level cells spanning the variants of a check.

    ``flagged_first`` lists the checks that detected SRM before the rest (for the long
    per-segment table, where a flagged segment would otherwise hide among dozens).
    """
    out: list[dict[str, Any]] = []
    if srm.empty:
        return out
    srm = srm.assign(_seg=srm["segment"].map(lambda s: fmt_text(s) or "all"))
    checks = list(srm.groupby([srm["experiment"].astype(str), "_seg"], sort=False))
    if flagged_first:
        checks.sort(key=lambda c: not any(truthy(v) for v in c[1]["srm_detected"]))
    for (exp, seg), sub in checks:
        detected = any(truthy(v) for v in sub["srm_detected"])
        for i, row in enumerate(sub.itertuples(index=False)):
            exp_share = num_or_nan(row.expected_share)
            obs_share = num_or_nan(row.observed_share)
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
                    "variant": fmt_text(row.variant),
                    "n_units": fmt_int(row.n_units),
                    "expected": fmt_pct(exp_share, signed=False),
                    "observed": fmt_pct(obs_share, signed=False),
                    "off": detected and off,
                    "chi2": fmt_num(sub["chi2"].iloc[0]),
                    "p": fmt_pval(sub["p_value"].min()),
                    "detected": detected,
                }
            )
    if out:  # the table's own border closes the last check; no double line under it
        last_first = max(i for i, r in enumerate(out) if r["first"])
        out[last_first]["final_group"] = True
    return out


def _srm_segment_summary(srm: pd.DataFrame) -> dict[str, int]:
    """How many experiment × segment-value checks there are and how many flagged SRM."""
    if srm.empty:
        return {"checks": 0, "flagged": 0}
    keys = srm["experiment"].astype(str) + "\x00" + srm["segment"].astype(str)
    flagged = srm["srm_detected"].map(truthy).groupby(keys, sort=False).any()
    return {"checks": int(len(flagged)), "flagged": int(flagged.sum())}


# --- optional layers ----------------------------------------------------------------------


def _metric_specs(config: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Metric name -> {"margin", "direction", "unit"} from any ``metrics`` list in the config.

    The pipeline config nests metric declarations in different places (top level, under
    ``parameters`` or ``analysis``), as dicts or MetricSpec-like objects; entries without a
    ``name`` (a plain list of metric names) are ignored. The margin is NaN unless declared.
    """
    found: dict[str, dict[str, Any]] = {}

    def field(spec: Any, key: str) -> Any:
        return spec.get(key) if isinstance(spec, Mapping) else getattr(spec, key, None)

    def visit(node: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "metrics" and isinstance(value, list | tuple):
                    for spec in value:
                        name = field(spec, "name")
                        if name is None or isinstance(spec, str):
                            continue
                        found.setdefault(
                            str(name),
                            {
                                "margin": num_or_nan(field(spec, "non_inferiority_margin")),
                                "direction": fmt_text(field(spec, "direction")) or "increase",
                                "unit": field(spec, "unit"),
                            },
                        )
                else:
                    visit(value, depth + 1)
        elif isinstance(node, list | tuple):
            for value in node:
                visit(value, depth + 1)

    try:
        visit(config or {}, 0)
    except Exception:  # noqa: BLE001 - a strange config must not break the report
        return found
    return found


def _scale(*series: Iterable[Any]) -> float:
    """Half-width of a symmetric mini-bar scale: the largest finite |value|, plus 5 %."""
    vals = [abs(num_or_nan(v)) for ser in series for v in ser]
    vals = [v for v in vals if not math.isnan(v)]
    return max(vals) * 1.05 if vals and max(vals) > 0 else math.nan


def _is_guardrail(df: pd.DataFrame) -> pd.Series:
    return (df["role"].map(_role) == "guardrail") | (
        df["guardrail_status"].map(_guard_status) != ""
    )


def _guardrail_groups(
    overall: pd.DataFrame, specs: Mapping[str, Mapping[str, Any]], srm_flags: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Guardrail checks per experiment × variant, with the wins each group holds back."""
    if overall.empty:
        return []
    guards = overall[_is_guardrail(overall)]
    if guards.empty:
        return []
    held: dict[tuple[str, str], list[str]] = {}
    for row in overall.itertuples(index=False):
        if _held_back(row.message) and fmt_decision(row.decision) != "win":
            key = (str(row.experiment), str(row.variant))
            held.setdefault(key, []).append(fmt_text(row.metric))

    def margin_of(metric: str) -> tuple[float, str]:
        spec = specs.get(metric) or {}
        m = num_or_nan(spec.get("margin"))
        return m, str(spec.get("direction") or "increase")

    scales: dict[str, float] = {}
    for metric, sub in guards.groupby(guards["metric"].astype(str), sort=False):
        m, _ = margin_of(metric)
        scales[metric] = _scale(sub["rel_lift"], sub["rel_ci_low"], sub["rel_ci_high"], [m])
    groups = []
    keys = [guards["experiment"].astype(str), guards["variant"].astype(str)]
    for (exp, variant), sub in guards.groupby(keys, sort=False):
        rows = []
        for row in sub.itertuples(index=False):
            metric = fmt_text(row.metric)
            m, direction = margin_of(metric)
            bad_side = -m if direction != "decrease" else m
            margin = DASH
            if not math.isnan(m):
                margin = fmt_pct(bad_side) if m else "0 %"
            rows.append(
                {
                    "metric": metric,
                    "metric_type": fmt_text(row.metric_type),
                    "direction": direction,
                    "margin": margin,
                    "margin_known": not math.isnan(m),
                    "lift": fmt_pct(row.rel_lift),
                    "lift_ci": fmt_ci(row.rel_ci_low, row.rel_ci_high),
                    "unbounded": _unbounded(row.rel_ci_low, row.rel_ci_high),
                    "bar": _mini_bar(
                        row.rel_lift,
                        row.rel_ci_low,
                        row.rel_ci_high,
                        scales.get(metric, math.nan),
                        marker=bad_side,
                    ),
                    "status": _guard_status(row.guardrail_status) or "inconclusive",
                    "row_status": fmt_text(row.status) or "ok",
                    "message": _without_srm_note(row.message),
                }
            )
        statuses = {r["status"] for r in rows}
        verdict = "fail" if "fail" in statuses else ("pass" if statuses == {"pass"} else "inc")
        groups.append(
            {
                "experiment": exp,
                "variant": variant,
                "control": fmt_text(sub["control"].iloc[0]),
                "srm": exp in srm_flags,
                "srm_note": _srm_note(srm_flags[exp]) if exp in srm_flags else "",
                "rows": rows,
                "held": held.get((exp, variant), []),
                "verdict": verdict,
            }
        )
    return groups


def _bayes_groups(overall: pd.DataFrame) -> list[dict[str, Any]]:
    """The Bayesian view: P(better), expected losses and credible interval per comparison."""
    cols = [c for c in BAYES_COLUMNS if c not in ("bayes_decision", "bayes_cri_level")]
    if overall.empty:
        return []
    has = overall[cols].apply(lambda c: c.map(_ok)).any(axis=1)
    df = overall[has | (overall["bayes_decision"].map(fmt_decision) != "")]
    groups = []
    for exp, sub in df.groupby(df["experiment"].astype(str), sort=False):
        rows = []
        for row in sub.itertuples(index=False):
            mtype = fmt_text(row.metric_type)
            prob = num_or_nan(row.prob_variant_better)
            control = abs(num_or_nan(row.estimate_control))
            bayes = fmt_decision(row.bayes_decision)
            # The bar is coloured by the call itself, never by a threshold of its own, so a
            # green bar always sits beside a "win" (DESIGN.md §2.7).
            tone = bayes if bayes in ("win", "loss") else "neutral"
            rows.append(
                {
                    "metric": fmt_text(row.metric),
                    "metric_type": mtype,
                    "variant": fmt_text(row.variant),
                    "control": fmt_text(row.control),
                    "prob": _prob(prob),
                    "prob_width": None if math.isnan(prob) else round(prob * 100, 1),
                    "prob_tone": tone,
                    "loss_variant": _loss(row.expected_loss_variant, row.display_unit, control),
                    "loss_control": _loss(row.expected_loss_control, row.display_unit, control),
                    "cri": fmt_ci(row.bayes_rel_cri_low, row.bayes_rel_cri_high),
                    "cri_abs": fmt_abs_ci(
                        row.bayes_abs_cri_low, row.bayes_abs_cri_high, row.display_unit
                    ),
                    "level": _level(row.bayes_cri_level),
                    "bayes_decision": bayes,
                    "decision": fmt_decision(row.decision),
                    "status": fmt_text(row.status) or "ok",
                }
            )
        groups.append({"experiment": exp, "rows": rows})
    return groups


def _level(value: Any) -> str:
    """A credible level as '95 %' or '99.84 %' ('' when unknown)."""
    x = num_or_nan(value)
    return "" if math.isnan(x) or not 0 < x < 1 else f"{x * 100:.4g} %"


_CORRECTION_NAMES = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "bh": "Benjamini–Hochberg",
    "bonferroni": "Bonferroni",
    "none": "",
}


def _config_value(config: Mapping[str, Any] | None, key: str) -> Any:
    """The first scalar ``key`` anywhere in a (nested) config mapping, else None."""
    stack: list[tuple[Any, int]] = [(config or {}, 0)]
    while stack:
        node, depth = stack.pop(0)
        if isinstance(node, Mapping) and depth <= 4:
            if key in node and not isinstance(node[key], Mapping | list | tuple):
                return node[key]
            stack.extend((v, depth + 1) for v in node.values())
    return None


def _correction_name(config: Mapping[str, Any] | None) -> str:
    """'Holm', 'Benjamini–Hochberg', ... for the run's correction; '' for none/unknown."""
    value = fmt_text(_config_value(config, "correction")).strip().lower()
    return _CORRECTION_NAMES.get(value or "holm", "")


def _bayes_view(
    overall: pd.DataFrame, groups: list[dict[str, Any]], config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What the Bayesian section says about itself: its credible level(s), the multiplicity
    correction behind them, which view decides the headline, and where the two views differ."""
    levels = pd.to_numeric(overall.get("bayes_cri_level"), errors="coerce")
    alphas = pd.to_numeric(overall.get("alpha"), errors="coerce")
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (alphas / (1.0 - levels)).round()
    sizes = sorted({int(x) for x in m.dropna() if x >= 1})
    sequential = bool(overall.get("seq_method", pd.Series(dtype=object)).map(fmt_text).any())
    rows = [r for g in groups for r in g["rows"]]
    calls = ("win", "loss")
    differ = [
        r
        for r in rows
        if (r["bayes_decision"] in calls or r["decision"] in calls)
        and r["bayes_decision"] != r["decision"]
    ]
    unique_levels = sorted({r["level"] for r in rows if r["level"]})
    alpha = alphas.dropna().unique()
    return {
        "alpha": f"{alpha[0] * 100:g} %" if len(alpha) == 1 else "α",
        "level": unique_levels[0] if len(unique_levels) == 1 else "",
        "per_row_level": len(unique_levels) > 1,
        "family_sizes": sizes,
        "corrected": any(n > 1 for n in sizes),
        "correction": _correction_name(config),
        "decider": "the sequential test" if sequential else "the frequentist test",
        "n_differ": len(differ),
    }


def _seq_groups(overall: pd.DataFrame) -> list[dict[str, Any]]:
    """Sequential monitoring per overall comparison: where the test stands, did it stop, and
    the numbers it decided with — all at the decision look (the look where it stopped, else
    the latest) — beside the fixed-horizon numbers of all the data, for reference."""
    if overall.empty:
        return []
    df = overall[overall["seq_method"].map(lambda v: fmt_text(v).strip() != "")]
    groups = []
    for exp, sub in df.groupby(df["experiment"].astype(str), sort=False):
        rows = []
        for row in sub.itertuples(index=False):
            mtype = fmt_text(row.metric_type)
            method = fmt_text(row.seq_method).strip()
            look = num_or_nan(row.seq_look)
            planned = num_or_nan(row.seq_planned_looks)
            crossed = truthy(row.seq_crossed)
            crossed_look = num_or_nan(row.seq_crossed_look)
            look_text = DASH if math.isnan(look) else f"{look:g}"
            if not math.isnan(look) and not math.isnan(planned):
                look_text = f"{look:g} of {planned:g}"
            at = num_or_nan(getattr(row, "seq_decision_look", math.nan))
            if math.isnan(at):
                at = crossed_look if crossed else look
            z = num_or_nan(row.seq_statistic)
            b = num_or_inf(row.seq_boundary)
            if crossed:
                state = "stopped"
                state_text = (
                    f"stopped at look {crossed_look:g}"
                    if not math.isnan(crossed_look)
                    else "boundary crossed"
                )
            elif not math.isnan(look) and not math.isnan(planned) and look >= planned:
                state, state_text = "final", "final look, not crossed"
            else:
                state, state_text = "running", "keep running"
            estimate = num_or_nan(getattr(row, "seq_estimate", math.nan))
            rel = num_or_nan(getattr(row, "seq_rel_estimate", math.nan))
            fixed_ci = fmt_ci(row.rel_ci_low, row.rel_ci_high)
            rows.append(
                {
                    "metric": fmt_text(row.metric),
                    "metric_type": mtype,
                    "variant": fmt_text(row.variant),
                    "control": fmt_text(row.control),
                    "method": method,
                    "method_name": _SEQ_METHODS.get(method, method),
                    "look": look_text,
                    "at": DASH if math.isnan(at) else f"{at:g}",
                    "at_text": (
                        DASH
                        if math.isnan(at)
                        else (f"{at:g} of {planned:g}" if not math.isnan(planned) else f"{at:g}")
                    ),
                    "estimate": DASH if math.isnan(rel) else fmt_pct(rel),
                    "estimate_abs": "" if math.isnan(estimate) else fmt_abs_diff(estimate, mtype),
                    "z": DASH if math.isnan(z) else fmt_signed(f"{z:+.2f}"),
                    "boundary": (
                        "±∞" if math.isinf(b) else (DASH if math.isnan(b) else f"±{b:.2f}")
                    ),
                    "p": fmt_pval(row.seq_p_value),
                    "cs": fmt_abs_ci(row.seq_ci_low, row.seq_ci_high, row.display_unit),
                    "fixed": fmt_pct(row.rel_lift) if _ok(row.rel_lift) else DASH,
                    "fixed_ci": fixed_ci,
                    "state": state,
                    "state_text": state_text,
                    "decision": fmt_decision(row.decision),
                }
            )
        groups.append({"experiment": exp, "rows": rows})
    return groups


def _ci_sign(low: Any, high: Any) -> str:
    """'+' if a CI lies above 0, '-' below, '0' across it, '' when unknown."""
    lo, hi = num_or_inf(low), num_or_inf(high)
    if math.isnan(lo) or math.isnan(hi):
        return ""
    return "+" if lo > 0 else ("-" if hi < 0 else "0")


def _robust_groups(overall: pd.DataFrame) -> list[dict[str, Any]]:
    """Non-parametric checks next to the parametric relative CI, per comparison."""
    if overall.empty:
        return []
    has = overall[list(NONPARAMETRIC_COLUMNS)].apply(lambda c: c.map(_ok)).any(axis=1)
    df = overall[has]
    scales = {
        str(m): _scale(
            sub["rel_lift"],
            sub["rel_ci_low"],
            sub["rel_ci_high"],
            sub["boot_rel_ci_low"],
            sub["boot_rel_ci_high"],
        )
        for m, sub in df.groupby(df["metric"].astype(str), sort=False)
    }
    groups = []
    for exp, sub in df.groupby(df["experiment"].astype(str), sort=False):
        rows = []
        for row in sub.itertuples(index=False):
            scale = scales.get(fmt_text(row.metric), math.nan)
            param = _ci_sign(row.rel_ci_low, row.rel_ci_high)
            boot = _ci_sign(row.boot_rel_ci_low, row.boot_rel_ci_high)
            agree = "" if not (param and boot) else ("yes" if param == boot else "no")
            boot_mid = num_or_nan(row.rel_lift)
            rows.append(
                {
                    "metric": fmt_text(row.metric),
                    "metric_type": fmt_text(row.metric_type),
                    "variant": fmt_text(row.variant),
                    "control": fmt_text(row.control),
                    "test": fmt_text(row.test),
                    "lift": fmt_pct(row.rel_lift),
                    "param_ci": fmt_ci(row.rel_ci_low, row.rel_ci_high) or DASH,
                    "boot_ci": fmt_ci(row.boot_rel_ci_low, row.boot_rel_ci_high) or DASH,
                    "param_bar": _mini_bar(row.rel_lift, row.rel_ci_low, row.rel_ci_high, scale),
                    "boot_bar": _mini_bar(
                        boot_mid, row.boot_rel_ci_low, row.boot_rel_ci_high, scale
                    ),
                    "mw_p": fmt_pval(row.mw_p_value),
                    "ps": _prob(row.prob_superiority),
                    "agree": agree,
                    "decision": fmt_decision(row.decision),
                }
            )
        groups.append({"experiment": exp, "rows": rows})
    return groups


def _heterogeneity_rows(het: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Cochran's Q per experiment × variant × metric × segment column (flag: adjusted p)."""
    if het is None or het.empty:
        return []
    df = _frame(het, HETEROGENEITY_COLUMNS)
    rows = []
    for row in df.itertuples(index=False):
        dof = num_or_nan(row.df)
        # A frame written before the correction has no adjusted p: its flag is uncorrected.
        adjusted = _ok(row.p_value_adjusted)
        rows.append(
            {
                "experiment": fmt_text(row.experiment),
                "variant": fmt_text(row.variant),
                "metric": fmt_text(row.metric),
                "segment_column": fmt_text(row.segment_column),
                "n": fmt_int(row.n_segments),
                "q": fmt_num(row.q),
                "df": DASH if math.isnan(dof) else f"{dof:g}",
                "p": fmt_pval(row.p_value),
                "p_adj": fmt_pval(row.p_value_adjusted) if adjusted else DASH,
                "i2": fmt_pct(row.i2, signed=False, digits=0),
                "heterogeneous": truthy(row.heterogeneous) and _ok(row.p_value),
                "testable": _ok(row.p_value),
                "adjusted": adjusted,
            }
        )
    rows.sort(key=lambda r: not r["heterogeneous"])  # stable: what differs first
    return rows


def _het_view(rows: list[dict[str, Any]], config: Mapping[str, Any] | None) -> dict[str, Any]:
    """How the heterogeneity flag was corrected, for the caption."""
    tested = [r for r in rows if r["testable"]]
    return {
        "n_tests": len(tested),
        "corrected": bool(tested) and all(r["adjusted"] for r in tested),
        "correction": _correction_name(config),
        "scope": fmt_text(_config_value(config, "correction_scope")) or "run",
    }


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
            n_units = num_or_nan(vsub["n_units"].iloc[0])
            totals = dict(zip(vsub["stage"].astype(str), vsub["total"], strict=True))
            cells = []
            for st in stage_names:
                t = num_or_nan(totals.get(st))
                per_unit = t / n_units if n_units and not math.isnan(n_units) else math.nan
                cells.append(
                    {
                        "total": fmt_int(t),
                        "per_unit": "" if math.isnan(per_unit) else fmt_num(per_unit),
                    }
                )
            rows.append({"variant": variant, "n_units": fmt_int(n_units), "cells": cells})
        groups.append({"experiment": exp, "rows": rows})
    return {"stages": stage_names, "groups": groups}


# --- rendering ----------------------------------------------------------------------------


def render_ab_report(
    *,
    results: pd.DataFrame,
    srm: pd.DataFrame,
    funnel: pd.DataFrame,
    audits: list[dict],
    validation: dict,
    config: ABTestConfig | Mapping[str, Any] | None,
    run_info: dict,
    heterogeneity: pd.DataFrame | None = None,
    sequential_looks: pd.DataFrame | None = None,
) -> str:
    """Build the full A/B report as one HTML string (UTF-8, no external references).

    Inputs follow the schemas of the analysis steps (see module docs); columns that are missing
    are treated as empty so an older or partial frame still yields a readable report.
    ``heterogeneity`` is the Cochran's Q frame (``HETEROGENEITY_COLUMNS``) shown under
    Segments; ``sequential_looks`` is the long per-look frame (:data:`LOOK_COLUMNS`) behind the
    sequential charts. Both are optional; so are the Bayesian, sequential and non-parametric
    columns of ``results``: each optional section appears only when its data is present.
    ``config`` is the run's typed config (a plain mapping also works, e.g. in tests); the page
    shows its values as YAML and reads the guardrail margins from its metrics.
    """
    from liftlab.reports.parts import load_template, run_items, validation_view

    if isinstance(config, BaseModel):
        config = config.model_dump(mode="json")

    extra = (*BAYES_COLUMNS, *SEQUENTIAL_COLUMNS, *NONPARAMETRIC_COLUMNS)
    res = _order(
        _frame(results, (*RESULT_COLUMNS, *extra)), "experiment", "segment", "metric", "variant"
    )
    srm_df = _frame(srm, SRM_COLUMNS) if srm is not None and not srm.empty else pd.DataFrame()
    if srm_df.empty:
        srm_df = pd.DataFrame(columns=list(SRM_COLUMNS))
    fun = _frame(funnel, FUNNEL_COLUMNS) if funnel is not None and not funnel.empty else None
    fun = fun if fun is not None else pd.DataFrame(columns=list(FUNNEL_COLUMNS))
    audits = list(audits or [])
    validation = dict(validation or {})
    run_info = dict(run_info or {})

    specs = _metric_specs(config)
    res["display_unit"] = [
        metric_unit(t, specs.get(str(m), {}).get("unit"))
        for m, t in zip(res["metric"], res["metric_type"], strict=True)
    ]
    seg = res["segment"].map(lambda s: fmt_text(s) or "all")
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
            str(e): fmt_text(c)
            for e, c in overall.groupby(overall["experiment"].astype(str), sort=False)["control"]
            .first()
            .items()
            if fmt_text(c)
        }
        funnel_svg = Markup(figure_to_svg(funnel_plot(fun, controls=controls)))
    heatmap_svg = None
    if not segments.empty and segments["rel_lift"].map(_ok).any():
        heatmap_svg = Markup(figure_to_svg(segment_heatmap(segments)))

    alphas = pd.to_numeric(overall["alpha"], errors="coerce").dropna().unique()
    conf = fmt_conf_label(alphas[0]) if len(alphas) == 1 else "CI"
    alpha = float(alphas[0]) if len(alphas) == 1 else 0.05

    srm_seg_mask = srm_df["segment"].map(lambda s: fmt_text(s) or "all") != "all"
    srm_segments = srm_df[srm_seg_mask]

    guardrails = _guardrail_groups(overall, specs, srm_flags)
    bayes = _bayes_groups(overall) if _has_values(overall, BAYES_COLUMNS, results) else []
    seq = _seq_groups(overall) if _has_values(overall, ("seq_method",), results) else []
    robust = _robust_groups(overall) if _has_values(overall, NONPARAMETRIC_COLUMNS, results) else []
    seq_svg = None
    if seq and sequential_looks is not None and not sequential_looks.empty:
        # The results decide whether a comparison stopped: every one with a sequential verdict
        # gets an entry (NaN when it did not cross), so the chart never contradicts the table.
        crossed = {
            (str(r.experiment), str(r.metric), str(r.variant)): (
                num_or_nan(r.seq_crossed_look) if truthy(r.seq_crossed) else math.nan
            )
            for r in overall.itertuples(index=False)
            if fmt_text(r.seq_method).strip()
        }
        seq_svg = Markup(
            figure_to_svg(sequential_plot(sequential_looks, alpha=alpha, crossed_looks=crossed))
        )
    seq_methods = sorted({r["method"] for g in seq for r in g["rows"]})
    ci_methods = sorted({fmt_text(m).strip().lower() for m in overall["rel_ci_method"]} - {""})
    unbounded = any(
        _unbounded(lo, hi)
        for lo, hi in zip(overall["rel_ci_low"], overall["rel_ci_high"], strict=True)
    )

    present = {
        "guardrails": bool(guardrails),
        "bayesian": bool(bayes),
        "sequential": bool(seq),
        "robustness": bool(robust),
    }
    sections = [k for k in SECTION_TITLES if k not in OPTIONAL_SECTIONS or present[k]]

    context = {
        "version": __version__,
        "titles": SECTION_TITLES,
        "sections": sections,
        "data_source": fmt_text(run_info.get("data_source")),
        "git_commit": fmt_text(run_info.get("git_commit")),
        "run_name": fmt_text(run_info.get("run_name")),
        "pipeline": fmt_text(run_info.get("pipeline")),
        "generated_at": fmt_text(run_info.get("generated_at")),
        "kpis": _kpis(overall, srm_flags, srm_df, audits, validation),
        "headlines": headlines,
        "forest_svg": forest_svg,
        "conf": conf,
        "cred": conf.replace("CI", "CrI"),
        "ci_methods": ci_methods,
        "unbounded": unbounded,
        "show_roles": _show_roles(overall),
        "funnel_svg": funnel_svg,
        "funnel_table": _funnel_table(fun),
        "results": _grouped(overall, srm_flags),
        "guardrails": guardrails,
        "bayes": bayes,
        "bayes_view": _bayes_view(overall, bayes, config),
        "seq": seq,
        "seq_methods": seq_methods,
        "seq_show_z": any(r["boundary"] != DASH for g in seq for r in g["rows"]),
        "seq_show_p": any(r["p"] != DASH for g in seq for r in g["rows"]),
        "seq_show_ci": any(r["cs"] for g in seq for r in g["rows"]),
        "seq_show_estimate": any(r["estimate"] != DASH for g in seq for r in g["rows"]),
        "seq_svg": seq_svg,
        "robust": robust,
        "segments": _grouped(segments, srm_flags),
        "heatmap_svg": heatmap_svg,
        "het_rows": (het_rows := _heterogeneity_rows(heterogeneity)),
        "het_view": _het_view(het_rows, config),
        "srm_rows": _srm_rows(srm_df[~srm_seg_mask]),
        "srm_seg_rows": _srm_rows(srm_segments, flagged_first=True),
        "srm_seg": _srm_segment_summary(srm_segments),
        "audits": audit_rows(audits),
        "validation": validation_view(validation),
        "run_items": run_items(run_info),
        "config_yaml": to_yaml(config),
    }
    return load_template(_TEMPLATE_NAME).render(**context)


_TEMPLATE_NAME = "ab_report.html.j2"
