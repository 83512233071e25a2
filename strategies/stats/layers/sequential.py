"""The sequential layer: re-analyse the cumulative data at every look and decide from it.

It is the only layer that changes ``decision``: once a team looks at results every day the
fixed-horizon p-value no longer controls false positives, so the always-valid (mSPRT) or
group-sequential test must decide (:func:`sequential_decisions`). :func:`sequential_analysis`
returns :data:`~strategies.stats.schema.SEQUENTIAL_COLUMNS` for the overall rows, keyed by
:data:`~strategies.stats.schema.RESULT_KEYS`, and the per-look table
(:data:`~strategies.stats.schema.LOOK_COLUMNS`). The boundaries, mixture SPRT and cumulative
statistics are :mod:`strategies.stats.sequential`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.stats.analysis import AnalysisOptions, analyse
from strategies.stats.corrections import adjust_by_family, correction_families
from strategies.stats.metrics import MetricSpec
from strategies.stats.schema import LOOK_COLUMNS, OVERALL_SEGMENT, RESULT_KEYS
from strategies.stats.sequential import (
    cumulative_stats,
    group_sequential,
    look_arrays,
    msprt,
    stats_by_period,
)

__all__ = [
    "SequentialOptions",
    "SequentialOutcome",
    "keys_of",
    "sequential_analysis",
    "sequential_decisions",
]


@dataclass(frozen=True)
class SequentialOptions:
    """How the run is monitored over time.

    ``msprt``: always-valid p-values and confidence sequences (mixture SPRT) — look as often as
    you like, no plan needed; the mixture is tuned to a relative effect of ``mde``.
    ``group_sequential``: O'Brien–Fleming (Lan–DeMets) boundaries for ``planned_looks`` equally
    spaced looks; look k has information fraction k / planned_looks.
    Looks are the ``period`` buckets (day or week) of ``time_column`` since each experiment's
    first assignment.
    """

    method: Literal["msprt", "group_sequential"] = "msprt"
    time_column: str = "assigned_at"
    period: Literal["day", "week"] = "day"
    planned_looks: int | None = None
    mde: float = 0.1

    def __post_init__(self) -> None:
        if self.method not in ("msprt", "group_sequential"):
            raise ConfigError(
                f"unknown sequential method {self.method!r}; use msprt or group_sequential"
            )
        if self.method == "group_sequential" and not self.planned_looks:
            raise ConfigError("sequential.method group_sequential needs planned_looks (e.g. 14)")
        if self.planned_looks is not None and self.planned_looks < 1:
            raise ConfigError(f"planned_looks must be at least 1, got {self.planned_looks}")
        if not self.mde > 0:
            raise ConfigError(f"sequential.mde must be a positive relative effect, got {self.mde}")


def keys_of(arrays) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return arrays.keys.reset_index(drop=True)


def _bonferroni_alpha(keys: pd.DataFrame, options: AnalysisOptions) -> np.ndarray:
    """Per-comparison α for group-sequential boundaries: α split evenly (Bonferroni) over the
    comparisons of its correction family, so many monitored comparisons do not inflate the
    family-wise error; α itself when the run asks for no correction."""
    if options.correction == "none":
        return np.full(len(keys), options.alpha)
    families = correction_families(
        keys["experiment"].to_numpy(),
        keys["metric"].to_numpy(),
        np.ones(len(keys), dtype=bool),
        options.correction_scope,
    )
    sizes = pd.Series(families).map(pd.Series(families).value_counts()).to_numpy()
    return options.alpha / sizes


@dataclass
class SequentialOutcome:
    columns: pd.DataFrame  # keyed by RESULT_KEYS (overall rows only), SEQUENTIAL_COLUMNS
    looks: pd.DataFrame  # LOOK_COLUMNS, one row per comparison × look


def sequential_analysis(
    df: pd.DataFrame,
    *,
    experiment_column: str,
    variant_column: str,
    metrics: Sequence[MetricSpec],
    analysis_options: AnalysisOptions,
    options: SequentialOptions,
) -> SequentialOutcome:
    """Re-analyse the cumulative data at every look and run the sequential test over looks."""
    if options.time_column not in df.columns:
        raise InputDataError(
            f"sequential testing needs the time column {options.time_column!r}, "
            f"which is not in the data (set sequential.time_column)"
        )
    time = pd.to_datetime(df[options.time_column], utc=True, errors="coerce")
    if time.isna().any():
        raise InputDataError(
            f"column {options.time_column!r} has {int(time.isna().sum())} missing or unparsable "
            "timestamps; sequential looks need a time for every unit"
        )
    freq = "D" if options.period == "day" else "W"
    period = time.dt.tz_localize(None).dt.to_period(freq).dt.start_time
    frame = df.assign(_period=period)
    per_period = stats_by_period(
        frame,
        metrics,
        period_column="_period",
        variant_column=variant_column,
        experiment_column=experiment_column,
    )
    cumulative = cumulative_stats(per_period, "_period")
    cumulative["_look"] = (
        cumulative.groupby("experiment")["_period"].rank(method="dense").astype(int)
    )
    plain = replace(analysis_options, correction="none")
    rows: list[pd.DataFrame] = []
    for look, part in cumulative.groupby("_look", sort=True):
        result = analyse(part.drop(columns=["_look", "_period"]), metrics, plain).results
        result = result[result["segment"] == OVERALL_SEGMENT]
        periods = part.groupby("experiment")["_period"].first()
        rows.append(
            result[[*RESULT_KEYS, "abs_diff", "abs_se", "estimate_control", "status"]].assign(
                _look=int(look), period=result["experiment"].map(periods).astype(str)
            )
        )
    per_look = pd.concat(rows, ignore_index=True)
    usable = per_look["status"].isin(["ok", "srm"])
    per_look.loc[~usable, ["abs_diff", "abs_se"]] = np.nan

    arrays = look_arrays(
        per_look,
        period_column="_look",
        value_columns=["abs_diff", "abs_se", "estimate_control"],
    )
    diff = arrays.values["abs_diff"]
    se = arrays.values["abs_se"]
    n_looks, n_comp = diff.shape
    has = ~np.isnan(diff)
    current = np.where(has.any(axis=0), n_looks - 1 - np.argmax(has[::-1], axis=0), -1)
    col = np.arange(n_comp)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = diff / se
    pick = np.clip(current, 0, None)

    boundary_now = np.full(n_comp, np.nan)
    p_now = np.full(n_comp, np.nan)
    cs_low = np.full(n_comp, np.nan)
    cs_high = np.full(n_comp, np.nan)
    look_boundary = np.full((n_looks, n_comp), np.nan)
    look_p = np.full((n_looks, n_comp), np.nan)
    look_low = np.full((n_looks, n_comp), np.nan)
    look_high = np.full((n_looks, n_comp), np.nan)
    if options.method == "msprt":
        control_now = np.abs(arrays.values["estimate_control"][pick, col])
        tau2 = (options.mde * np.where(control_now > 0, control_now, np.nan)) ** 2
        tau2 = np.where(np.isfinite(tau2) & (tau2 > 0), tau2, 1.0)
        result = msprt(diff, se**2, alpha=analysis_options.alpha, tau2=tau2)
        look_p, look_low, look_high = result.p_value, result.cs_low, result.cs_high
        p_now, cs_low, cs_high = look_p[pick, col], look_low[pick, col], look_high[pick, col]
        crossed = result.crossed
        first = result.first_crossing_look
        planned = options.planned_looks
    else:
        planned = int(options.planned_looks or n_looks)
        fractions = np.arange(1, n_looks + 1) / planned
        family_alpha = _bonferroni_alpha(keys_of(arrays), analysis_options)
        look_boundary = np.full((n_looks, n_comp), np.nan)
        crossed = np.zeros(n_comp, dtype=bool)
        first = np.full(n_comp, -1)
        for level in np.unique(family_alpha):  # one boundary set per family size (a handful)
            cols = family_alpha == level
            result = group_sequential(z[:, cols], fractions, float(level))
            look_boundary[:, cols] = np.asarray(result.boundary, dtype=float).reshape(n_looks, -1)
            crossed[cols] = result.crossed
            first[cols] = result.first_crossing_look
        boundary_now = look_boundary[pick, col]
    valid = current >= 0
    keys = keys_of(arrays)
    columns = keys.assign(
        seq_method=options.method,
        seq_look=np.where(valid, current + 1, 0),
        seq_planned_looks=planned if planned is not None else np.nan,
        seq_statistic=np.where(valid, z[pick, col], np.nan),
        seq_boundary=boundary_now,
        seq_p_value=p_now,
        seq_ci_low=cs_low,
        seq_ci_high=cs_high,
        seq_crossed=np.asarray(crossed, dtype=bool) & valid,
        seq_crossed_look=np.where(np.asarray(first) >= 0, np.asarray(first) + 1, np.nan),
        seq_crossed_statistic=np.where(
            np.asarray(first) >= 0, z[np.clip(np.asarray(first), 0, None), col], np.nan
        ),
    )
    look_index = np.repeat(np.arange(n_looks), n_comp)
    comp_index = np.tile(np.arange(n_comp), n_looks)
    looks = pd.DataFrame(
        {
            "experiment": keys["experiment"].to_numpy()[comp_index],
            "segment": keys["segment"].to_numpy()[comp_index],
            "metric": keys["metric"].to_numpy()[comp_index],
            "variant": keys["variant"].to_numpy()[comp_index],
            "look": look_index + 1,
            "statistic": z.reshape(-1),
            "boundary": look_boundary.reshape(-1),
            "p_value": look_p.reshape(-1),
            "ci_low": look_low.reshape(-1),
            "ci_high": look_high.reshape(-1),
        }
    )
    looks = looks[~np.isnan(diff.reshape(-1))].reset_index(drop=True)
    periods = per_look[[*RESULT_KEYS, "_look", "period"]].rename(columns={"_look": "look"})
    looks = looks.merge(periods, on=[*RESULT_KEYS, "look"], how="left")
    looks["period"] = looks["period"].fillna("")
    return SequentialOutcome(columns=columns, looks=looks[list(LOOK_COLUMNS)])


def sequential_decisions(
    results: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    options: AnalysisOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Decisions of the overall rows from the sequential columns (other rows unchanged).

    mSPRT: always-valid p-values are corrected with the run's method and scope, then the usual
    rule applies with the confidence sequence in place of the CI. Group-sequential: a crossed
    boundary decides win/loss by the direction of the effect; otherwise the test keeps running
    ("inconclusive"), or at/after the planned last look falls back to "neutral"/"inconclusive".
    Group-sequential boundaries already split α over the correction family (Bonferroni).
    A row held back by SRM or a guardrail is never promoted to a win.
    """
    decision = results["decision"].to_numpy(dtype=object).copy()
    message = results["message"].fillna("").to_numpy(dtype=object).copy()
    overall = (results["segment"] == OVERALL_SEGMENT).to_numpy() & results["seq_method"].notna()
    ok = overall & (results["status"] == "ok").to_numpy()
    blocked = results["message"].fillna("").str.contains("guardrail").to_numpy()
    direction = results["metric"].map({m.name: m.direction for m in metrics}).to_numpy()
    min_effect = results["metric"].map({m.name: m.min_effect for m in metrics}).to_numpy(float)
    diff = results["abs_diff"].to_numpy(float)
    good = np.where(direction == "decrease", diff < 0, diff > 0)
    method = results["seq_method"].to_numpy(dtype=object)

    if (method == "msprt").any():
        p = np.where(ok, results["seq_p_value"].to_numpy(float), np.nan)
        families = correction_families(
            results["experiment"].to_numpy(),
            results["metric"].to_numpy(),
            overall,
            options.correction_scope,
        )
        p_adj = adjust_by_family(p, families, options.correction)
        control = np.abs(results["estimate_control"].to_numpy(float))
        with np.errstate(invalid="ignore"):
            inside = (results["seq_ci_low"].to_numpy(float) > -min_effect * control) & (
                results["seq_ci_high"].to_numpy(float) < min_effect * control
            )
            significant = p_adj < options.alpha
        new = np.select(
            [significant & good, significant, inside], ["win", "loss", "neutral"], "inconclusive"
        )
        rows = ok & (method == "msprt")
        decision[rows] = new[rows]
    gst = ok & (method == "group_sequential")
    if gst.any():
        crossed = results["seq_crossed"].fillna(False).to_numpy(bool)
        finished = results["seq_look"].to_numpy(float) >= results["seq_planned_looks"].to_numpy(
            float
        )
        fixed = results["decision"].to_numpy(dtype=object)
        # the test stopped at the first crossing: its direction decides, not today's estimate
        at_crossing = results["seq_crossed_statistic"].to_numpy(float)
        good_at_crossing = np.where(direction == "decrease", at_crossing < 0, at_crossing > 0)
        new = np.where(
            crossed,
            np.where(good_at_crossing, "win", "loss"),
            np.where(finished & (fixed == "neutral"), "neutral", "inconclusive"),
        )
        decision[gst] = new[gst]
    demote = overall & (decision == "win") & (blocked | (results["status"] != "ok").to_numpy())
    decision[demote] = "inconclusive"
    seq_rows = overall & ok
    message[seq_rows] = [
        (f"{m}; " if m else "") + f"decision from the sequential test ({meth})"
        for m, meth in zip(message[seq_rows], method[seq_rows], strict=True)
    ]
    return decision, message
