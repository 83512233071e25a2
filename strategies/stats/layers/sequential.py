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

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Real
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
    gst_boundaries,
    information_fractions,
    look_arrays,
    msprt,
    repeated_confidence_interval,
    stats_by_period,
)

log = logging.getLogger(__name__)

__all__ = [
    "PER_LOOK_COLUMNS",
    "SequentialOptions",
    "SequentialOutcome",
    "PERIOD_COLUMN",
    "keys_of",
    "looks_from_data",
    "looks_from_period_stats",
    "period_stats_from_data",
    "sequential_analysis",
    "sequential_decisions",
    "sequential_from_looks",
]


@dataclass(frozen=True)
class SequentialOptions:
    """How the run is monitored over time.

    Looks are the ``period`` buckets (day or week) of ``time_column`` since each experiment's
    first assignment.

    ``msprt``: always-valid p-values and confidence sequences (mixture SPRT) — look as often as
    you like, no plan needed. The normal mixture N(0, τ²) is tuned to a relative effect of
    ``mde``: τ² = (mde · baseline)², where the baseline is ``baselines[metric]`` (the control
    value from the plan, absolute scale) when given, else the control estimate at the first
    look at which the comparison is defined. Either way τ² is fixed once per comparison and is
    the same when the analysis is re-run on more data (``seq_tau2`` records it).

    ``group_sequential``: Lan–DeMets O'Brien–Fleming alpha spending by *observed information*:
    look k spends α(t_k) with t_k = units in the experiment so far / ``planned_sample_size``
    (the planned maximum number of units of an experiment, all arms together; one number for
    every experiment or a mapping experiment → number). It is required: spending by the look's
    index (k / planned_looks) inflates false positives when traffic is uneven (a ramp-up puts
    few units in the first days), and spending relative to the last look's sample size uses
    the future. ``planned_looks`` (optional) declares look K the final analysis: it spends
    all the remaining alpha even when fewer units than planned arrived, and later looks spend
    nothing.
    """

    method: Literal["msprt", "group_sequential"] = "msprt"
    time_column: str = "assigned_at"
    period: Literal["day", "week"] = "day"
    planned_looks: int | None = None
    mde: float = 0.1
    planned_sample_size: int | Mapping[str, int] | None = None
    baselines: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if self.method not in ("msprt", "group_sequential"):
            raise ConfigError(
                f"unknown sequential method {self.method!r}; use msprt or group_sequential"
            )
        if self.method == "group_sequential" and self.planned_sample_size is None:
            raise ConfigError(
                "sequential.method group_sequential needs planned_sample_size: the planned "
                "maximum number of units per experiment, all arms together (the sum of the "
                "'n per arm' that `liftlab plan --looks K` prints); alpha is spent by the "
                "share of it observed at each look"
            )
        if self.planned_looks is not None and self.planned_looks < 1:
            raise ConfigError(f"planned_looks must be at least 1, got {self.planned_looks}")
        if not self.mde > 0:
            raise ConfigError(f"sequential.mde must be a positive relative effect, got {self.mde}")
        sizes = (
            dict(self.planned_sample_size)
            if isinstance(self.planned_sample_size, Mapping)
            else {"": self.planned_sample_size}
        )
        for name, size in sizes.items():
            if size is None:
                continue
            if isinstance(size, bool) or not isinstance(size, Real) or not size > 0:
                where = f" of experiment {name!r}" if name else ""
                raise ConfigError(
                    f"sequential.planned_sample_size{where} must be a positive number of "
                    f"units, got {size!r}"
                )
        for metric, value in dict(self.baselines or {}).items():
            if (
                isinstance(value, bool)
                or not isinstance(value, Real)
                or not (np.isfinite(value) and value != 0)
            ):
                raise ConfigError(
                    f"sequential.baselines[{metric!r}] must be a finite, non-zero control "
                    f"value, got {value!r}"
                )

    def sample_size_of(self, experiments: np.ndarray) -> np.ndarray:
        """The planned maximum units per experiment (NaN when none is planned)."""
        plan = self.planned_sample_size
        if plan is None:
            return np.full(len(experiments), np.nan)
        if isinstance(plan, Mapping):
            missing = sorted({str(e) for e in experiments} - {str(k) for k in plan})
            if missing:
                raise ConfigError(
                    "sequential.planned_sample_size has no entry for experiment(s) "
                    f"{', '.join(map(repr, missing))}"
                )
            table = {str(k): float(v) for k, v in plan.items()}
            return np.array([table[str(e)] for e in experiments], dtype=float)
        return np.full(len(experiments), float(plan))


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


#: The per-look frame :func:`sequential_from_looks` takes: one row per overall comparison ×
#: look with the analysis of the cumulative data at that look and ``n_units``, the units of
#: the whole experiment (all arms) seen so far.
PER_LOOK_COLUMNS: tuple[str, ...] = (
    *RESULT_KEYS,
    "look",
    "period",
    "abs_diff",
    "abs_se",
    "rel_lift",
    "estimate_control",
    "status",
    "n_units",
)


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
    per_look = looks_from_data(
        df,
        experiment_column=experiment_column,
        variant_column=variant_column,
        metrics=metrics,
        analysis_options=analysis_options,
        options=options,
    )
    return sequential_from_looks(per_look, analysis_options=analysis_options, options=options)


def looks_from_data(
    df: pd.DataFrame,
    *,
    experiment_column: str,
    variant_column: str,
    metrics: Sequence[MetricSpec],
    analysis_options: AnalysisOptions,
    options: SequentialOptions,
) -> pd.DataFrame:
    """The :data:`PER_LOOK_COLUMNS` frame: cumulative sufficient statistics per look, each
    look analysed like a fixed-horizon run (overall rows, no multiple-testing correction)."""
    per_period = period_stats_from_data(
        df,
        experiment_column=experiment_column,
        variant_column=variant_column,
        metrics=metrics,
        options=options,
    )
    return looks_from_period_stats(
        per_period, metrics=metrics, analysis_options=analysis_options, options=options
    )


#: The period column of the per-period statistics frame (the start of the day or week).
PERIOD_COLUMN = "_period"


def period_stats_from_data(
    df: pd.DataFrame,
    *,
    experiment_column: str,
    variant_column: str,
    metrics: Sequence[MetricSpec],
    options: SequentialOptions,
) -> pd.DataFrame:
    """Sufficient statistics per experiment × variant × metric × period (overall segment only)
    from unit rows: the :func:`~strategies.stats.sequential.stats_by_period` frame with
    :data:`PERIOD_COLUMN` = the start of the unit's day or week (UTC; weeks start on Monday, as
    pandas' ``to_period("W")``). A small table: this is all the sequential layer needs from the
    rows, so a warehouse can compute it in SQL instead
    (:func:`strategies.warehouse.stats_sql.period_stats_in_engine`)."""
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
    frame = df.assign(**{PERIOD_COLUMN: period})
    return stats_by_period(
        frame,
        metrics,
        period_column=PERIOD_COLUMN,
        variant_column=variant_column,
        experiment_column=experiment_column,
    )


def looks_from_period_stats(
    per_period: pd.DataFrame,
    *,
    metrics: Sequence[MetricSpec],
    analysis_options: AnalysisOptions,
    options: SequentialOptions,
) -> pd.DataFrame:
    """The :data:`PER_LOOK_COLUMNS` frame from per-period statistics (the frame of
    :func:`period_stats_from_data`, however it was computed): cumulate them over periods and
    analyse each look like a fixed-horizon run (overall rows, no multiple-testing correction).
    ``options`` is accepted for symmetry with the other entry points (the period is already in
    the frame)."""
    if PERIOD_COLUMN not in per_period.columns:
        raise InputDataError(
            f"per-period statistics need the period column {PERIOD_COLUMN!r}; "
            f"the frame has: {', '.join(map(str, per_period.columns))}"
        )
    cumulative = cumulative_stats(per_period, PERIOD_COLUMN)
    cumulative["_look"] = (
        cumulative.groupby("experiment")[PERIOD_COLUMN].rank(method="dense").astype(int)
    )
    # units of the experiment so far: all arms, the metric that counts the most units
    units = (
        cumulative[cumulative["segment"] == OVERALL_SEGMENT]
        .groupby(["experiment", "_look", "metric"])["n"]
        .sum()
        .groupby(level=["experiment", "_look"])
        .max()
        .rename("n_units")
    )
    plain = replace(analysis_options, correction="none")
    rows: list[pd.DataFrame] = []
    for look, part in cumulative.groupby("_look", sort=True):
        result = analyse(part.drop(columns=["_look", PERIOD_COLUMN]), metrics, plain).results
        result = result[result["segment"] == OVERALL_SEGMENT]
        periods = part.groupby("experiment")[PERIOD_COLUMN].first()
        rows.append(
            result[
                [*RESULT_KEYS, "abs_diff", "abs_se", "rel_lift", "estimate_control", "status"]
            ].assign(look=int(look), period=result["experiment"].map(periods).astype(str))
        )
    per_look = pd.concat(rows, ignore_index=True)
    per_look = per_look.merge(
        units.reset_index().rename(columns={"_look": "look"}),
        on=["experiment", "look"],
        how="left",
    )
    return per_look[list(PER_LOOK_COLUMNS)]


def _at(values: np.ndarray, look: np.ndarray) -> np.ndarray:
    """values[look_j, j] per comparison j; NaN where look_j < 0."""
    col = np.arange(values.shape[1])
    out = values[np.clip(look, 0, None), col].astype(float)
    return np.where(look >= 0, out, np.nan)


def _mixing_variance(
    keys: pd.DataFrame, control: np.ndarray, defined: np.ndarray, options: SequentialOptions
) -> np.ndarray:
    """τ² per comparison, fixed once: (mde · baseline)² with the planned baseline of the
    metric, else the control estimate at the comparison's first defined look (the earliest
    data, identical on every re-run with more looks). NaN while no baseline is known."""
    usable = defined & np.isfinite(control) & (control != 0)
    first = np.where(usable.any(axis=0), np.argmax(usable, axis=0), -1)
    baseline = np.abs(_at(control, first))
    planned = dict(options.baselines or {})
    if planned:
        from_plan = keys["metric"].map(lambda m: planned.get(str(m), np.nan)).to_numpy(float)
        baseline = np.where(np.isfinite(from_plan), np.abs(from_plan), baseline)
    return (options.mde * baseline) ** 2


def _gst_boundaries(
    fractions: np.ndarray,
    level: np.ndarray,
    planned_looks: int | None,
) -> np.ndarray:
    """|z| boundaries (looks, comparisons) from each comparison's own observed information
    fractions and α; one computation per distinct (fractions, α) — in practice one per
    experiment and family size. Looks after an experiment's last look stay NaN; looks after
    ``planned_looks`` spend nothing (+inf), the planned final look spends all that is left."""
    n_looks, n_comp = fractions.shape
    bounds = np.full((n_looks, n_comp), np.nan)
    cache: dict[tuple[bytes, float], np.ndarray] = {}
    for j in range(n_comp):
        t = fractions[:, j]
        m = int(np.isfinite(t).sum())
        if m == 0:
            continue
        use = m if planned_looks is None else min(m, planned_looks)
        final = planned_looks is not None and m >= planned_looks
        key = (t[:use].tobytes() + bytes([final]), float(level[j]))
        if key not in cache:
            cache[key] = gst_boundaries(t[:use], float(level[j]), final=final)
        bounds[:use, j] = cache[key]
        bounds[use:m, j] = np.inf
    return bounds


def sequential_from_looks(
    per_look: pd.DataFrame,
    *,
    analysis_options: AnalysisOptions,
    options: SequentialOptions,
) -> SequentialOutcome:
    """The sequential test over the looks of :data:`PER_LOOK_COLUMNS` (vectorised over
    comparisons, a loop over looks only to correct the mSPRT p-values look by look).

    Every ``seq_*`` number of a comparison is taken at one look, ``seq_decision_look``: the
    first look at which the test crossed (where it stopped), else the latest look. So the
    decision is printed beside the estimate and the sequential interval that made it — the
    always-valid confidence sequence (mSPRT) or the repeated confidence interval
    ``abs_diff ± boundary · se`` (group-sequential) — never beside numbers of a later look.
    """
    missing = [c for c in PER_LOOK_COLUMNS if c not in per_look.columns]
    if missing:
        raise InputDataError(f"per-look frame is missing column(s): {', '.join(missing)}")
    frame = per_look.copy()
    usable = frame["status"].isin(["ok", "srm"])
    frame.loc[~usable, ["abs_diff", "abs_se"]] = np.nan
    arrays = look_arrays(
        frame,
        period_column="look",
        value_columns=["abs_diff", "abs_se", "rel_lift", "estimate_control", "n_units"],
    )
    keys = keys_of(arrays)
    diff = arrays.values["abs_diff"]
    se = arrays.values["abs_se"]
    n_units = arrays.values["n_units"]
    n_looks, n_comp = diff.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        z = diff / se
    defined = np.isfinite(z)
    current = np.where(defined.any(axis=0), n_looks - 1 - np.argmax(defined[::-1], axis=0), -1)
    alpha = analysis_options.alpha

    look_boundary = np.full((n_looks, n_comp), np.nan)
    look_p = np.full((n_looks, n_comp), np.nan)
    look_p_adj = np.full((n_looks, n_comp), np.nan)
    look_fraction = np.full((n_looks, n_comp), np.nan)
    tau2 = np.full(n_comp, np.nan)
    if options.method == "msprt":
        tau2 = _mixing_variance(keys, arrays.values["estimate_control"], defined, options)
        known = np.isfinite(tau2) & (tau2 > 0)
        # no baseline yet (no defined look): the comparison's looks stay undefined
        result = msprt(
            np.where(known, diff, np.nan), se**2, alpha=alpha, tau2=np.where(known, tau2, 1.0)
        )
        look_p = np.where(known, result.p_value, np.nan)
        look_low, look_high = result.cs_low, result.cs_high
        # the run's correction, look by look: a comparison stops at the first look where its
        # adjusted always-valid p-value is below α. The corrections are monotone in the
        # p-values, which only fall, so whatever is rejected at a look stays rejected.
        families = correction_families(
            keys["experiment"].to_numpy(),
            keys["metric"].to_numpy(),
            np.ones(n_comp, dtype=bool),
            analysis_options.correction_scope,
        )
        for k in range(n_looks):
            look_p_adj[k] = adjust_by_family(look_p[k], families, analysis_options.correction)
        with np.errstate(invalid="ignore"):
            rejected = look_p_adj < alpha
        look_boundary = np.full((n_looks, n_comp), np.nan)
        planned = options.planned_looks
        for j in range(n_comp):
            log.info(
                "mSPRT mixing variance for %s / %s / %s: tau2 = %.6g",
                keys["experiment"].iloc[j],
                keys["metric"].iloc[j],
                keys["variant"].iloc[j],
                tau2[j],
            )
    else:
        planned = options.planned_looks
        n_max = options.sample_size_of(keys["experiment"].to_numpy())
        look_fraction = information_fractions(n_units, n_max[None, :])
        level = _bonferroni_alpha(keys, analysis_options)
        look_boundary = _gst_boundaries(look_fraction, level, planned)
        look_low, look_high = repeated_confidence_interval(diff, se, look_boundary)
        with np.errstate(invalid="ignore"):
            rejected = np.abs(z) >= look_boundary
    crossed = rejected.any(axis=0)
    first = np.where(crossed, np.argmax(rejected, axis=0), -1)
    decide = np.where(crossed, first, current)  # the look whose numbers decide
    valid = current >= 0

    columns = keys.assign(
        seq_method=options.method,
        seq_look=np.where(valid, current + 1, 0),
        seq_planned_looks=planned if planned is not None else np.nan,
        seq_planned_sample_size=(
            options.sample_size_of(keys["experiment"].to_numpy())
            if options.planned_sample_size is not None
            else np.nan
        ),
        seq_decision_look=np.where(decide >= 0, decide + 1, np.nan),
        seq_information_fraction=_at(look_fraction, decide),
        seq_tau2=tau2,
        seq_estimate=_at(diff, decide),
        seq_rel_estimate=_at(arrays.values["rel_lift"], decide),
        seq_statistic=_at(z, decide),
        seq_boundary=_at(look_boundary, decide),
        seq_p_value=_at(look_p, decide),
        seq_p_value_adjusted=_at(look_p_adj, decide),
        seq_ci_low=_at(look_low, decide),
        seq_ci_high=_at(look_high, decide),
        seq_crossed=crossed & valid,
        seq_crossed_look=np.where(first >= 0, first + 1, np.nan),
        seq_crossed_statistic=_at(z, first),
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
            "n_units": n_units.reshape(-1),
            "information_fraction": look_fraction.reshape(-1),
            "tau2": tau2[comp_index],
            "estimate": diff.reshape(-1),
            "statistic": z.reshape(-1),
            "boundary": look_boundary.reshape(-1),
            "p_value": look_p.reshape(-1),
            "p_value_adjusted": look_p_adj.reshape(-1),
            "ci_low": look_low.reshape(-1),
            "ci_high": look_high.reshape(-1),
        }
    )
    looks = looks[defined.reshape(-1)].reset_index(drop=True)
    periods = frame[[*RESULT_KEYS, "look", "period"]]
    looks = looks.merge(periods, on=[*RESULT_KEYS, "look"], how="left")
    looks["period"] = looks["period"].fillna("")
    return SequentialOutcome(columns=columns, looks=looks[list(LOOK_COLUMNS)])


def sequential_decisions(
    results: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    options: AnalysisOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Decisions of the overall rows from the sequential columns (other rows unchanged).

    A comparison whose test crossed (``seq_crossed``: the adjusted always-valid p-value fell
    below α for mSPRT, |z| reached the boundary for group-sequential) is a win or a loss by
    the direction of its sequential interval at the crossing look — which then excludes 0 —
    never by a later estimate. Otherwise it is ``neutral`` when that interval lies inside
    ±``min_effect`` of the control, else ``inconclusive`` (keep running). Group-sequential
    boundaries split α over the correction family (Bonferroni); mSPRT p-values are corrected
    with the run's method and scope look by look. A row held back by SRM or a guardrail is
    never promoted to a win.
    """
    decision = results["decision"].to_numpy(dtype=object).copy()
    message = results["message"].fillna("").to_numpy(dtype=object).copy()
    overall = (results["segment"] == OVERALL_SEGMENT).to_numpy() & results["seq_method"].notna()
    ok = overall & (results["status"] == "ok").to_numpy()
    blocked = results["message"].fillna("").str.contains("guardrail").to_numpy()
    direction = results["metric"].map({m.name: m.direction for m in metrics}).to_numpy()
    min_effect = results["metric"].map({m.name: m.min_effect for m in metrics}).to_numpy(float)
    method = results["seq_method"].to_numpy(dtype=object)
    low = results["seq_ci_low"].to_numpy(float)
    high = results["seq_ci_high"].to_numpy(float)
    estimate = results["seq_estimate"].to_numpy(float)
    crossed = results["seq_crossed"].fillna(False).to_numpy(bool)
    with np.errstate(invalid="ignore"):
        # the side of 0 the sequential interval lies on (the estimate if the running
        # intersection of an mSPRT confidence sequence has become empty)
        sign = np.where(low > 0, 1.0, np.where(high < 0, -1.0, np.sign(estimate)))
        good = np.where(direction == "decrease", sign < 0, sign > 0)
        control = np.abs(results["estimate_control"].to_numpy(float))
        inside = (low > -min_effect * control) & (high < min_effect * control)
    new = np.select([crossed & good, crossed, inside], ["win", "loss", "neutral"], "inconclusive")
    decision[ok] = new[ok]
    demote = overall & (decision == "win") & (blocked | (results["status"] != "ok").to_numpy())
    decision[demote] = "inconclusive"
    seq_rows = overall & ok
    message[seq_rows] = [
        (f"{m}; " if m else "") + f"decision from the sequential test ({meth})"
        for m, meth in zip(message[seq_rows], method[seq_rows], strict=True)
    ]
    return decision, message
