"""A/B/n analysis from sufficient statistics: estimate → inference → post-processing.

:func:`analyse` takes the long frame from :func:`strategies.stats.aggregate.aggregate` (or the
same columns from SQL) and returns one row per experiment × segment × treatment variant ×
metric, every treatment compared with the control. All comparisons of a run are computed
together on numpy arrays; the only Python loops run over metric *types* and correction
*families* (a handful), never over comparisons.

Input problems raise before anything is computed (InputDataError / ConfigError naming the
experiment, column or metric). Problems of a single comparison come back as data: ``status``
is one of

* ``ok``            — tested normally;
* ``empty_arm``     — an arm has no units in this segment, too few units to estimate a variance
  (n < 2 for means and ratios), or a ratio denominator summing to 0;
* ``zero_variance`` — the SE of the test statistic is 0 (both arms constant): no test possible;
* ``srm``           — the experiment failed the sample-ratio-mismatch check. p-values are still
  reported (and take part in the correction) but the decision is always "inconclusive".

``message`` explains any non-ok status and notes an undefined relative lift (control
estimate 0), which leaves the status "ok" when the absolute test is fine.

Multiple testing: the overall (segment "all") comparisons of the whole run — every
experiment, treatment and metric — form one family; the segment-breakdown comparisons form a
second, separate family, so exploring segments never dilutes the headline results. Rows with a
NaN p-value (empty arm, zero variance) are not in any family; "srm" rows keep their p-value and
stay in the family — their tests were run and are reported, and counting them is conservative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.stats.aggregate import OVERALL_SEGMENT, STATS_COLUMNS
from strategies.stats.corrections import adjust_by_family, check_correction
from strategies.stats.decisions import decide
from strategies.stats.estimate import ArmEstimates, Difference, arm_estimates, difference
from strategies.stats.frequentist import (
    delta_method_z_test,
    two_proportion_test,
    welch_t_test,
)
from strategies.stats.metrics import SUFFICIENT_STATISTICS, MetricSpec, check_metric_specs
from strategies.stats.srm import SRM_COLUMNS, check_expected_split, srm_check

RESULT_COLUMNS: tuple[str, ...] = (
    "experiment",
    "segment",
    "metric",
    "metric_type",
    "control",
    "variant",
    "n_control",
    "n_variant",
    "estimate_control",
    "estimate_variant",
    "abs_diff",
    "abs_se",
    "abs_ci_low",
    "abs_ci_high",
    "rel_lift",
    "rel_ci_low",
    "rel_ci_high",
    "statistic",
    "df",
    "p_value",
    "p_value_adjusted",
    "test",
    "alpha",
    "decision",
    "status",
    "message",
    "srm_p_value",
)
STATUSES: tuple[str, ...] = ("ok", "empty_arm", "zero_variance", "srm")
_KEYS = ["experiment", "segment", "variant", "metric"]


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: control label, α, correction and the documented test conventions.

    ``pooled_se`` only affects the proportion z statistic (the χ² test is pooled by
    construction); confidence intervals always use the unpooled SE. ``expected_split`` maps
    variant → weight, normalised within each experiment; None means an equal split.
    """

    control: str
    alpha: float = 0.05
    correction: Literal["holm", "hochberg", "bh", "bonferroni", "none"] = "holm"
    proportion_test: Literal["z", "chi2"] = "z"
    pooled_se: bool = True
    continuity_correction: bool = False
    expected_split: Mapping[str, float] | None = None
    srm_alpha: float = 0.001

    def __post_init__(self) -> None:
        if not isinstance(self.control, str) or not self.control:
            raise ConfigError(
                f"control must be the (string) label of the control variant, got {self.control!r}"
            )
        for name in ("alpha", "srm_alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, Real) and 0 < value < 1):
                raise ConfigError(
                    f"{name} must be a number strictly between 0 and 1, got {value!r}"
                )
        check_correction(self.correction)
        if self.proportion_test not in ("z", "chi2"):
            raise ConfigError(
                f"unknown proportion_test {self.proportion_test!r}; valid tests are z, chi2"
            )
        check_expected_split(self.expected_split)


@dataclass
class AnalysisResult:
    """``results``: one row per comparison (columns :data:`RESULT_COLUMNS`); ``srm``: the
    sample-ratio-mismatch check per experiment × variant (columns ``SRM_COLUMNS``)."""

    results: pd.DataFrame
    srm: pd.DataFrame


def analyse(
    stats: pd.DataFrame, metrics: Sequence[MetricSpec], options: AnalysisOptions
) -> AnalysisResult:
    """Compare every treatment variant with the control, for every experiment, segment and
    metric in ``stats`` (metrics not listed in ``metrics`` are ignored)."""
    specs = check_metric_specs(metrics)
    if not isinstance(options, AnalysisOptions):
        raise ConfigError(f"options must be AnalysisOptions, got {type(options).__name__}")
    stats = _validate_stats(stats, specs, options)
    grid = _complete_grid(stats, specs)

    counts = grid.loc[
        (grid["segment"] == OVERALL_SEGMENT) & (grid["metric"] == specs[0].name),
        ["experiment", "variant", "n"],
    ].rename(columns={"n": "n_units"})
    srm = srm_check(counts, expected_split=options.expected_split, srm_alpha=options.srm_alpha)
    srm = srm.loc[:, list(SRM_COLUMNS)]

    pairs = _pair_with_control(grid, options.control)
    results = _compare(pairs, specs, options, srm)
    return AnalysisResult(results=results, srm=srm.reset_index(drop=True))


# --------------------------------------------------------------------------------------------
# input validation and shaping


def _validate_stats(
    stats: pd.DataFrame, specs: Sequence[MetricSpec], options: AnalysisOptions
) -> pd.DataFrame:
    if not isinstance(stats, pd.DataFrame):
        raise InputDataError(f"stats must be a pandas DataFrame, got {type(stats).__name__}")
    missing = [c for c in STATS_COLUMNS if c not in stats.columns]
    if missing:
        raise InputDataError(
            f"sufficient-statistics frame is missing column(s): {', '.join(missing)} "
            "(produce it with strategies.stats.aggregate.aggregate)"
        )
    non_numeric = [c for c in SUFFICIENT_STATISTICS if not pd.api.types.is_numeric_dtype(stats[c])]
    if non_numeric:
        raise InputDataError(
            f"sufficient-statistics column(s) must be numeric: {', '.join(non_numeric)}"
        )
    null_labels = [c for c in _KEYS if stats[c].isna().any()]
    if null_labels:
        raise InputDataError(
            f"sufficient-statistics label column(s) with missing values: {', '.join(null_labels)}"
        )
    names = [m.name for m in specs]
    stats = stats.loc[stats["metric"].astype(str).isin(names), list(STATS_COLUMNS)].copy()
    for col in _KEYS:
        stats[col] = stats[col].astype(str).astype(object)
    absent = [n for n in names if n not in set(stats["metric"])]
    if absent:
        raise InputDataError(f"no sufficient statistics for metric(s): {', '.join(absent)}")
    values = stats[list(SUFFICIENT_STATISTICS)].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        finite = np.isfinite(values).all(axis=0)
        bad = [c for c, ok in zip(SUFFICIENT_STATISTICS, finite, strict=True) if not ok]
        raise InputDataError(
            f"sufficient-statistics column(s) with missing or infinite values: {', '.join(bad)}"
        )
    if (stats["n"] < 0).any():
        raise InputDataError("sufficient statistics with negative unit counts n")
    dupes = stats.duplicated(_KEYS)
    if dupes.any():
        first = stats.loc[dupes, _KEYS].iloc[0].to_dict()
        raise InputDataError(f"{int(dupes.sum())} duplicated statistics row(s), e.g. {first}")

    overall = stats[stats["segment"] == OVERALL_SEGMENT]
    experiments = pd.unique(stats["experiment"])
    without_overall = sorted(set(experiments) - set(overall["experiment"]))
    if without_overall:
        raise InputDataError(
            f"experiment(s) without overall (segment 'all') statistics: {without_overall}"
        )
    by_experiment = overall.groupby("experiment", sort=False)
    n_variants = by_experiment["variant"].nunique()
    has_control = (overall["variant"] == options.control).groupby(overall["experiment"]).any()

    def variants_of(experiments: pd.Index) -> str:
        # Only the first few offenders are spelled out; the message must stay readable.
        shown = overall[overall["experiment"].isin(experiments[:5])]
        listed = shown.groupby("experiment", sort=False)["variant"].unique()
        return "; ".join(
            f"{e!r} has only variant {v[0]!r}" if len(v) == 1 else f"{e!r} has variants {sorted(v)}"
            for e, v in listed.items()
        )

    single = n_variants.index[n_variants < 2]
    if len(single):
        raise InputDataError(
            f"{len(single)} experiment(s) with a single variant, nothing to compare: "
            f"{variants_of(single)}"
        )
    no_control = has_control.index[~has_control]
    if len(no_control):
        raise InputDataError(
            f"control variant {options.control!r} not found in {len(no_control)} "
            f"experiment(s): {variants_of(no_control)}"
        )
    known = overall[["experiment", "variant"]].drop_duplicates()
    stray = stats.merge(known, how="left", on=["experiment", "variant"], indicator=True)
    stray = stray[stray["_merge"] == "left_only"]
    if len(stray):
        e, v = stray[["experiment", "variant"]].iloc[0]
        raise InputDataError(
            f"variant {v!r} of experiment {e!r} appears in a segment but not overall"
        )
    n_per_group = stats.groupby(["experiment", "segment", "variant"], sort=False)["n"]
    inconsistent = n_per_group.nunique() > 1
    if inconsistent.any():
        e, s, v = inconsistent[inconsistent].index[0]
        raise InputDataError(
            f"unit count n differs between metrics for experiment {e!r}, segment {s!r}, "
            f"variant {v!r}; units are rows, so every metric must count the same units"
        )
    if options.expected_split is not None:
        named = {str(k) for k in options.expected_split}
        unnamed = sorted(set(known["variant"]) - named)
        if unnamed:
            raise ConfigError(
                f"expected_split has no weight for variant(s) {unnamed}; it names {sorted(named)}"
            )
    return stats


def _complete_grid(stats: pd.DataFrame, specs: Sequence[MetricSpec]) -> pd.DataFrame:
    """Every experiment × segment × (overall) variant × metric, missing cells as n = 0.

    Aggregation only emits cells that have units; a segment where one arm has none must still
    produce a comparison row (status ``empty_arm``), not silently vanish.
    """
    exp_order = {e: i for i, e in enumerate(pd.unique(stats["experiment"]))}
    seg = stats[["experiment", "segment"]].drop_duplicates()
    seg["_seg"] = np.arange(len(seg))
    var = stats.loc[stats["segment"] == OVERALL_SEGMENT, ["experiment", "variant"]]
    var = var.drop_duplicates()
    var["_var"] = np.arange(len(var))
    met = pd.DataFrame({"metric": [m.name for m in specs], "_met": np.arange(len(specs))})
    grid = seg.merge(var, on="experiment").merge(met, how="cross")
    grid = grid.merge(stats, how="left", on=_KEYS)
    grid[list(SUFFICIENT_STATISTICS)] = grid[list(SUFFICIENT_STATISTICS)].fillna(0.0)
    grid["n"] = grid["n"].astype(np.int64)
    grid["_exp"] = grid["experiment"].map(exp_order)
    # Overall first, then segments as they appear; metrics in declaration order.
    grid["_overall"] = grid["segment"] != OVERALL_SEGMENT
    return grid.sort_values(["_exp", "_overall", "_seg", "_met", "_var"], ignore_index=True)


def _pair_with_control(grid: pd.DataFrame, control: str) -> pd.DataFrame:
    """Treatment rows side by side with their control row (suffixes _v and _c)."""
    stat_cols = list(SUFFICIENT_STATISTICS)
    is_control = grid["variant"] == control
    ctrl = grid.loc[is_control, ["experiment", "segment", "metric", *stat_cols]]
    treat = grid.loc[~is_control]
    return treat.merge(
        ctrl, how="left", on=["experiment", "segment", "metric"], suffixes=("_v", "_c")
    )


# --------------------------------------------------------------------------------------------
# estimate → inference → post-processing


def _arm(pairs: pd.DataFrame, suffix: str, ddof: np.ndarray) -> ArmEstimates:
    cols = [f"{c}{suffix}" for c in SUFFICIENT_STATISTICS]
    return arm_estimates(*(pairs[c].to_numpy(dtype=np.float64) for c in cols), ddof=ddof)


_INFERENCE_FIELDS: tuple[str, ...] = (
    "statistic",
    "df",
    "p_value",
    "abs_ci_low",
    "abs_ci_high",
    "rel_ci_low",
    "rel_ci_high",
)


def _compare(
    pairs: pd.DataFrame,
    specs: Sequence[MetricSpec],
    options: AnalysisOptions,
    srm: pd.DataFrame,
) -> pd.DataFrame:
    spec_of = {m.name: m for m in specs}
    metric = pairs["metric"].to_numpy(dtype=object)
    metric_codes, metric_names = pd.factorize(metric)

    def per_row(attribute: str, dtype: type = object) -> np.ndarray:
        # Spec attributes are looked up once per metric, then broadcast by integer code.
        values = [getattr(spec_of[m], attribute) for m in metric_names]
        return np.array(values, dtype=dtype)[metric_codes]

    mtype = per_row("type")

    # 1. estimate: per-arm estimates and SEs, then the difference (one pass over all rows).
    ddof = np.where(mtype == "proportion", 0, 1)
    control = _arm(pairs, "_c", ddof)
    variant = _arm(pairs, "_v", ddof)
    diff = difference(control, variant)

    # 2. inference: one vectorised call per metric type.
    out, test_se, test = _infer(mtype, control, variant, diff, options)

    # 3. per-row problems, then the experiment-level SRM verdict.
    status, message = _statuses(pairs, specs, mtype, control, variant, test_se, options)
    status, message, srm_p = _apply_srm(pairs, status, message, srm, options)
    testable = (status == "ok") | (status == "srm")
    out = {f: np.where(testable, v, np.nan) for f, v in out.items()}
    message = _append(
        message,
        testable & (control.estimate == 0),
        "control estimate is 0: relative lift undefined",
    )
    message = _append(
        message,
        testable & (diff.abs_se2 == 0),
        "both arms are constant: the Wald CI has zero width",
    )

    # 4. post-processing: correction within each family, then decisions.
    family = np.where(pairs["segment"].to_numpy() == OVERALL_SEGMENT, "overall", "segments")
    p_adj = adjust_by_family(out["p_value"], family, options.correction)
    decision = decide(
        status=status,
        p_value_adjusted=p_adj,
        abs_diff=diff.abs_diff,
        rel_ci_low=out["rel_ci_low"],
        rel_ci_high=out["rel_ci_high"],
        direction=per_row("direction"),
        min_effect=per_row("min_effect", np.float64),
        alpha=options.alpha,
    )

    results = pd.DataFrame(
        {
            "experiment": pairs["experiment"].to_numpy(dtype=object),
            "segment": pairs["segment"].to_numpy(dtype=object),
            "metric": metric,
            "metric_type": mtype,
            "control": options.control,
            "variant": pairs["variant"].to_numpy(dtype=object),
            "n_control": pairs["n_c"].to_numpy(dtype=np.int64),
            "n_variant": pairs["n_v"].to_numpy(dtype=np.int64),
            "estimate_control": control.estimate,
            "estimate_variant": variant.estimate,
            "abs_diff": diff.abs_diff,
            "abs_se": np.sqrt(diff.abs_se2),
            **{f: out[f] for f in ("abs_ci_low", "abs_ci_high")},
            "rel_lift": diff.rel_lift,
            **{f: out[f] for f in ("rel_ci_low", "rel_ci_high", "statistic", "df", "p_value")},
            "p_value_adjusted": p_adj,
            "test": test,
            "alpha": float(options.alpha),
            "decision": decision,
            "status": status,
            "message": message,
            "srm_p_value": srm_p,
        }
    )
    return results.loc[:, list(RESULT_COLUMNS)]


def _infer(
    mtype: np.ndarray,
    control: ArmEstimates,
    variant: ArmEstimates,
    diff: Difference,
    options: AnalysisOptions,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Run each metric type's test on its rows; returns inference arrays, test SE, test name."""
    n_rows = len(mtype)
    out = {f: np.full(n_rows, np.nan) for f in _INFERENCE_FIELDS}
    test_se = np.full(n_rows, np.nan)
    test = np.empty(n_rows, dtype=object)
    for kind in ("proportion", "mean", "ratio"):
        mask = mtype == kind
        if not mask.any():
            continue
        c, v, d = (_subset(obj, mask) for obj in (control, variant, diff))
        if kind == "proportion":
            res = two_proportion_test(
                c,
                v,
                d,
                alpha=options.alpha,
                method=options.proportion_test,
                pooled_se=options.pooled_se,
                continuity_correction=options.continuity_correction,
            )
            test[mask] = "two_proportion_z" if options.proportion_test == "z" else "chi2"
        elif kind == "mean":
            res = welch_t_test(c, v, d, alpha=options.alpha)
            test[mask] = "welch_t"
        else:
            res = delta_method_z_test(c, v, d, alpha=options.alpha)
            test[mask] = "delta_method_z"
        for f in _INFERENCE_FIELDS:
            out[f][mask] = getattr(res, f)
        test_se[mask] = res.test_se
    return out, test_se, test


def _apply_srm(
    pairs: pd.DataFrame,
    status: np.ndarray,
    message: np.ndarray,
    srm: pd.DataFrame,
    options: AnalysisOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Experiment-level SRM verdict onto every row of that experiment (status, message, p)."""
    per_experiment = srm.drop_duplicates("experiment").set_index("experiment")
    srm_p = pairs["experiment"].map(per_experiment["p_value"]).to_numpy(dtype=np.float64)
    hit = pairs["experiment"].map(per_experiment["srm_detected"]).fillna(False).to_numpy(bool)
    if hit.any():  # spelled out only for the (few) affected rows
        text = np.full(len(pairs), "", dtype=object)
        experiments = pairs.loc[hit, "experiment"].astype(str).to_numpy(dtype=object)
        p_text = np.array([f"{p:.2g}" for p in srm_p[hit]], dtype=object)
        text[hit] = (
            "sample ratio mismatch in experiment '"
            + experiments
            + "' (SRM p = "
            + p_text
            + f" < {options.srm_alpha:g}): the split is broken, do not trust this comparison"
        )
        message = _append(message, hit, text)
    status = np.where(hit & (status == "ok"), "srm", status).astype(object)
    return status, message, srm_p


def _statuses(
    pairs: pd.DataFrame,
    specs: Sequence[MetricSpec],
    mtype: np.ndarray,
    control: ArmEstimates,
    variant: ArmEstimates,
    test_se: np.ndarray,
    options: AnalysisOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row status and message for problems of a single comparison (vectorised)."""
    n_rows = len(pairs)
    message = np.full(n_rows, "", dtype=object)
    needs_variance = mtype != "proportion"
    denominators = pairs["metric"].map({m.name: m.x_column or "" for m in specs})
    arm_names = {
        "control": pd.Series(f"control arm '{options.control}'", index=pairs.index),
        "variant": "variant arm '" + pairs["variant"].astype(str) + "'",
    }
    empty = np.zeros(n_rows, dtype=bool)
    for arm, est in (("control", control), ("variant", variant)):
        name = arm_names[arm]
        no_units = est.n == 0
        message = _append(message, no_units, (name + " has no units").to_numpy(object))
        too_few = needs_variance & (est.n == 1)
        message = _append(
            message,
            too_few,
            (name + " has 1 unit; a variance needs at least 2").to_numpy(object),
        )
        zero_den = (mtype == "ratio") & (est.n > 0) & (est.sum_x == 0)
        message = _append(
            message,
            zero_den,
            (name + ": denominator '" + denominators + "' sums to 0, ratio undefined").to_numpy(
                object
            ),
        )
        empty |= no_units | too_few | zero_den
    zero_var = ~empty & ~(test_se > 0)
    message = _append(
        message,
        zero_var,
        "zero variance: every unit in both arms has the same value, so the test is undefined",
    )
    status = np.select([empty, zero_var], ["empty_arm", "zero_variance"], default="ok")
    return status.astype(object), message


def _append(message: np.ndarray, where: np.ndarray, text: np.ndarray | str) -> np.ndarray:
    """Append ``text`` to ``message`` where ``where`` holds, separating notes with '; '."""
    text = np.broadcast_to(np.asarray(text, dtype=object), message.shape)
    joined = np.where(message == "", text, message + "; " + text)
    return np.where(where, joined, message).astype(object)


def _subset(obj, mask: np.ndarray):
    """The same dataclass with every array field restricted to ``mask``."""
    return type(obj)(**{k: v[mask] for k, v in vars(obj).items()})
