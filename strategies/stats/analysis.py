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

Pipeline of one call (each step vectorised over all comparisons):

1. **estimate** — per-arm estimates and delta-method variances (:mod:`.estimate`); for metrics
   with a ``covariate``, CUPED adjustment with θ pooled over the comparison's two arms
   (:mod:`.cuped`); ``estimate_control``/``estimate_variant`` are then the adjusted means.
2. **inference** — one test per metric type (:mod:`.frequentist`); relative-lift CI by the
   delta method or Fieller (``rel_ci_method``; an unbounded Fieller interval is ±inf with a
   message).
3. **post-processing** — multiple-testing correction within families set by
   ``correction_scope`` (:mod:`.corrections`; segment rows never share a family with overall
   rows), decisions (:mod:`.decisions`), guardrail checks that can hold back a win, SRM per
   experiment and per segment (:mod:`.srm`), and Cochran's Q heterogeneity across segment
   values (:mod:`.heterogeneity`).

Multiple testing: with the default scope ``run``, the overall (segment "all") comparisons of
the whole run — every experiment, treatment and metric — form one family; the
segment-breakdown comparisons form a second, separate family, so exploring segments never
dilutes the headline results. Rows with a NaN p-value (empty arm, zero variance) are not in any
family; "srm" rows keep their p-value and stay in the family — their tests were run and are
reported, and counting them is conservative.

SRM: only the overall SRM of an experiment sets the ``srm`` status of its rows. The ``srm``
frame also has one block per experiment × segment value; those are informational (see
:mod:`.srm`).

Result columns (:data:`strategies.stats.schema.RESULT_COLUMNS`, the single source of truth;
``status`` values in :data:`~strategies.stats.schema.STATUSES`) beyond DESIGN.md §3:
``role`` (the metric's role), ``guardrail_status`` (pass/fail/inconclusive on guardrail rows,
empty elsewhere), ``variance_reduction`` (1 − Var_cuped/Var_plain of the difference) and
``cuped_theta`` (both NaN without a covariate and on rows that could not be tested),
``rel_ci_method`` (delta or fieller). With a covariate, ``estimate_control``/``estimate_variant``
are the CUPED-adjusted estimates (each arm moved to the pooled pre-period mean), ``abs_diff`` is
their difference and ``abs_se`` its adjusted SE; ``test`` gets a ``_cuped`` suffix.

Speed: input checks and the comparison layout work on integer codes (no merges, no row-wise
Python), so 1,000 segments × 4 metrics analyse in a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats as sps

from strategies.errors import ConfigError, InputDataError
from strategies.stats.corrections import (
    Correction,
    CorrectionScope,
    adjust_by_family,
    check_correction,
    check_correction_scope,
    correction_families,
)
from strategies.stats.cuped import CovariateSums, cuped_adjust, difference_with_covariance
from strategies.stats.decisions import apply_guardrails, decide, guardrail_status
from strategies.stats.estimate import ArmEstimates, Difference, arm_estimates
from strategies.stats.frequentist import (
    delta_method_z_test,
    fieller_interval,
    normal_quantile,
    two_proportion_test,
    welch_t_test,
)
from strategies.stats.heterogeneity import empty_heterogeneity, heterogeneity
from strategies.stats.metrics import (
    BASE_STATISTICS,
    COVARIATE_STATISTICS,
    SUFFICIENT_STATISTICS,
    MetricSpec,
    check_metric_specs,
)
from strategies.stats.schema import (
    LABEL_COLUMNS,
    OVERALL_SEGMENT,
    RESULT_COLUMNS,
    SRM_COLUMNS,
)
from strategies.stats.srm import check_expected_split, srm_check

RelCiMethod = Literal["delta", "fieller"]
REL_CI_METHODS: tuple[str, ...] = get_args(RelCiMethod)
_KEYS = ["experiment", "segment", "variant", "metric"]
#: The comparisons as named column arrays (labels as object arrays, statistics with suffixes
#: ``_c``/``_v``). Plain arrays rather than a DataFrame: no string-dtype conversions.
Pairs = dict[str, np.ndarray]


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: control label, α, correction and the documented test conventions.

    ``pooled_se`` picks the proportion test — pooled (score) z by default, unpooled with
    False; the χ² test is pooled by construction — and the intervals follow the test that
    decides (they invert it, see :mod:`strategies.stats.frequentist`). ``expected_split`` maps
    variant → weight, normalised within each experiment; None means an equal split.
    ``rel_ci_method`` picks the relative-lift CI: ``fieller`` (default: the interval that
    inverts the deciding test on the ratio scale — Fieller's for means, ratios and CUPED rows,
    the score interval for the pooled proportion test; +inf when the control estimate is not
    significantly different from 0) or ``delta`` (first-order, symmetric, approximate: it can
    disagree with the test, and such rows say so in ``message``). ``correction_scope`` sets the
    multiple-testing families: ``run``, ``experiment`` or ``metric`` (= experiment × metric);
    segment rows always form their own families (see :mod:`strategies.stats.corrections`).
    """

    control: str
    alpha: float = 0.05
    correction: Correction = "holm"
    proportion_test: Literal["z", "chi2"] = "z"
    pooled_se: bool = True
    continuity_correction: bool = False
    expected_split: Mapping[str, float] | None = None
    srm_alpha: float = 0.001
    experiment_splits: Mapping[str, Mapping[str, float]] | None = None
    rel_ci_method: RelCiMethod = "fieller"
    correction_scope: CorrectionScope = "run"

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
        if self.rel_ci_method not in REL_CI_METHODS:
            raise ConfigError(
                f"unknown rel_ci_method {self.rel_ci_method!r}; "
                f"valid methods are {', '.join(REL_CI_METHODS)}"
            )
        check_correction_scope(self.correction_scope)


@dataclass
class AnalysisResult:
    """``results``: one row per comparison (columns :data:`RESULT_COLUMNS`); ``srm``: the
    sample-ratio-mismatch check per experiment × (segment ×) variant (columns ``SRM_COLUMNS``;
    overall rows first within each experiment); ``heterogeneity``: Cochran's Q per experiment ×
    variant × metric × segment column (columns ``HETEROGENEITY_COLUMNS``; empty without
    segments, and by default, so results built by older code still construct)."""

    results: pd.DataFrame
    srm: pd.DataFrame
    heterogeneity: pd.DataFrame = field(default_factory=empty_heterogeneity)


def analyse(
    stats: pd.DataFrame, metrics: Sequence[MetricSpec], options: AnalysisOptions
) -> AnalysisResult:
    """Compare every treatment variant with the control, for every experiment, segment and
    metric in ``stats`` (metrics not listed in ``metrics`` are ignored)."""
    specs = check_metric_specs(metrics)
    if not isinstance(options, AnalysisOptions):
        raise ConfigError(f"options must be AnalysisOptions, got {type(options).__name__}")
    stats = _validate_stats(stats, specs, options)
    layout = _layout(stats, specs, options)
    # SRM per experiment (overall) and per experiment × segment value, overall rows first
    # within each experiment; only the overall verdict feeds the result rows.
    srm = srm_check(
        layout.counts,
        expected_split=options.expected_split,
        srm_alpha=options.srm_alpha,
        experiment_splits=options.experiment_splits,
    )
    srm = srm.loc[:, list(SRM_COLUMNS)].reset_index(drop=True)
    pairs = layout.pairs
    results = _compare(pairs, specs, options, srm[srm["segment"] == OVERALL_SEGMENT])
    # Cochran's Q flags are one more family of tests: corrected like the run's comparisons.
    het = heterogeneity(
        results, correction=options.correction, correction_scope=options.correction_scope
    )
    return AnalysisResult(results=results, srm=srm, heterogeneity=het)


# --------------------------------------------------------------------------------------------
# input validation and shaping


def _validate_stats(
    stats: pd.DataFrame, specs: Sequence[MetricSpec], options: AnalysisOptions
) -> pd.DataFrame:
    if not isinstance(stats, pd.DataFrame):
        raise InputDataError(f"stats must be a pandas DataFrame, got {type(stats).__name__}")
    required = [*LABEL_COLUMNS, *BASE_STATISTICS]
    missing = [c for c in required if c not in stats.columns]
    if missing:
        raise InputDataError(
            f"sufficient-statistics frame is missing column(s): {', '.join(missing)} "
            "(produce it with strategies.stats.aggregate.aggregate)"
        )
    # Covariate sums are optional: absent means no metric uses a covariate.
    absent_z = [c for c in COVARIATE_STATISTICS if c not in stats.columns]
    with_covariate = [m.name for m in specs if m.covariate is not None]
    if absent_z and with_covariate:
        raise InputDataError(
            f"metric(s) {', '.join(with_covariate)} declare a CUPED covariate but the "
            f"sufficient-statistics frame has no {', '.join(absent_z)} column(s); "
            "aggregate with the same metric specs"
        )
    present = [c for c in SUFFICIENT_STATISTICS if c in stats.columns]
    non_numeric = [c for c in present if not pd.api.types.is_numeric_dtype(stats[c])]
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
    stats = stats.loc[stats["metric"].astype(str).isin(names), [*_KEYS, *present]].copy()
    for col in absent_z:
        stats[col] = 0.0
    stats = stats.loc[:, [*LABEL_COLUMNS, *SUFFICIENT_STATISTICS]]
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
    return stats.reset_index(drop=True)


@dataclass(frozen=True)
class _Layout:
    """The comparisons to run and the unit counts to check, built from the stats frame.

    ``pairs``: one row per experiment × segment × metric × treatment, with the control's and
    the treatment's sufficient statistics side by side (suffixes ``_c`` and ``_v``); a cell the
    aggregation did not emit (no units) is all zeros, so it becomes an ``empty_arm`` row rather
    than silently vanishing. Order: experiment (first appearance), overall segment first, then
    segments as they appear, metrics in declaration order, treatments as they appear.
    ``counts``: ``experiment, segment, variant, n_units`` for every experiment × segment ×
    variant (zeros included), in the same experiment/segment order.
    """

    pairs: Pairs
    counts: pd.DataFrame


def _layout(stats: pd.DataFrame, specs: Sequence[MetricSpec], options: AnalysisOptions) -> _Layout:
    """Cross-row checks, then the comparison layout — on integer codes, without merges, so a
    run with thousands of segments shapes in milliseconds."""
    exp_code, exp_names = pd.factorize(stats["experiment"].to_numpy(dtype=object))
    seg_raw, seg_names = pd.factorize(stats["segment"].to_numpy(dtype=object))
    var_raw, var_names = pd.factorize(stats["variant"].to_numpy(dtype=object))
    names = [m.name for m in specs]
    met_code = pd.Index(names).get_indexer(stats["metric"].to_numpy(dtype=object))
    n_exp, n_seg, n_var, n_met = len(exp_names), len(seg_names), len(var_names), len(names)
    exp_names = np.asarray(exp_names, dtype=object)
    seg_names = np.asarray(seg_names, dtype=object)
    var_names = np.asarray(var_names, dtype=object)

    raw_key = ((exp_code * n_seg + seg_raw) * n_var + var_raw) * n_met + met_code
    uniq, first, counts = np.unique(raw_key, return_index=True, return_counts=True)
    if (counts > 1).any():
        dupes = int((counts - 1).sum())
        row = stats.iloc[first[np.argmax(counts > 1)]]
        example = {k: row[k] for k in _KEYS}
        raise InputDataError(f"{dupes} duplicated statistics row(s), e.g. {example}")

    is_overall = seg_names[seg_raw] == OVERALL_SEGMENT
    # (experiment, variant) pairs known from the overall rows, in order of appearance.
    ev = exp_code * n_var + var_raw
    known_ev = pd.unique(ev[is_overall])
    known_exp, known_var = known_ev // n_var, known_ev % n_var
    with_overall = np.zeros(n_exp, dtype=bool)
    with_overall[known_exp] = True
    if not with_overall.all():
        raise InputDataError(
            "experiment(s) without overall (segment 'all') statistics: "
            f"{sorted(exp_names[~with_overall].tolist())}"
        )
    n_variants = np.bincount(known_exp, minlength=n_exp)
    is_control_var = var_names[known_var] == options.control
    has_control = np.zeros(n_exp, dtype=bool)
    has_control[known_exp[is_control_var]] = True

    def variants_of(experiments: np.ndarray) -> str:
        # Only the first few offenders are spelled out; the message must stay readable.
        parts = []
        for e in experiments[:5]:
            v = var_names[known_var[known_exp == e]].tolist()
            name = exp_names[e]
            parts.append(
                f"{name!r} has only variant {v[0]!r}"
                if len(v) == 1
                else f"{name!r} has variants {sorted(v)}"
            )
        return "; ".join(parts)

    single = np.flatnonzero(n_variants < 2)
    if len(single):
        raise InputDataError(
            f"{len(single)} experiment(s) with a single variant, nothing to compare: "
            f"{variants_of(single)}"
        )
    no_control = np.flatnonzero(~has_control)
    if len(no_control):
        raise InputDataError(
            f"control variant {options.control!r} not found in {len(no_control)} "
            f"experiment(s): {variants_of(no_control)}"
        )
    var_id = pd.Index(known_ev).get_indexer(ev)  # position among the known pairs, -1 = stray
    if (var_id < 0).any():
        i = int(np.argmax(var_id < 0))
        raise InputDataError(
            f"variant {var_names[var_raw[i]]!r} of experiment {exp_names[exp_code[i]]!r} "
            "appears in a segment but not overall"
        )
    # every metric must count the same units per experiment × segment × variant
    cell = (exp_code * n_seg + seg_raw) * len(known_ev) + var_id
    n = stats["n"].to_numpy(dtype=np.float64)
    cell_id, cells = pd.factorize(cell)
    n_min = np.full(len(cells), np.inf)
    n_max = np.full(len(cells), -np.inf)
    np.minimum.at(n_min, cell_id, n)
    np.maximum.at(n_max, cell_id, n)
    if (n_min != n_max).any():
        i = int(np.flatnonzero(n_min[cell_id] != n_max[cell_id])[0])
        raise InputDataError(
            f"unit count n differs between metrics for experiment {exp_names[exp_code[i]]!r}, "
            f"segment {seg_names[seg_raw[i]]!r}, variant {var_names[var_raw[i]]!r}; units are "
            "rows, so every metric must count the same units"
        )
    if options.expected_split is not None:
        named = {str(k) for k in options.expected_split}
        unnamed = sorted(set(var_names[known_var].tolist()) - named)
        if unnamed:
            raise ConfigError(
                f"expected_split has no weight for variant(s) {unnamed}; it names {sorted(named)}"
            )

    # -- the layout -------------------------------------------------------------------------
    # (experiment, segment) blocks: experiment order, overall first, then order of appearance
    es = exp_code * n_seg + seg_raw
    es_uniq = pd.unique(es)
    es_exp, es_seg = es_uniq // n_seg, es_uniq % n_seg
    blocks = es_uniq[np.lexsort((seg_names[es_seg] != OVERALL_SEGMENT, es_exp))]  # stable
    block_exp, block_seg = blocks // n_seg, blocks % n_seg

    # lookup of a stats row by (experiment-segment, known variant, metric); -1 = absent
    row_key = (es * len(known_ev) + var_id) * n_met + met_code
    order = np.argsort(row_key, kind="stable")
    sorted_keys = row_key[order]

    def rows_of(block: np.ndarray, var: np.ndarray, metric: np.ndarray) -> np.ndarray:
        key = (block * len(known_ev) + var) * n_met + metric
        pos = np.minimum(np.searchsorted(sorted_keys, key), len(sorted_keys) - 1)
        return np.where(sorted_keys[pos] == key, order[pos], -1)

    values = np.vstack(
        [
            stats[list(SUFFICIENT_STATISTICS)].to_numpy(dtype=np.float64),
            np.zeros(len(SUFFICIENT_STATISTICS)),
        ]
    )
    control_of = np.full(n_exp, -1)
    control_of[known_exp[is_control_var]] = np.flatnonzero(is_control_var)
    treat = np.flatnonzero(~is_control_var)  # known-pair positions, appearance order
    treat = treat[np.argsort(known_exp[treat], kind="stable")]
    k = np.bincount(known_exp[treat], minlength=n_exp)
    treat_start = np.r_[0, np.cumsum(k)[:-1]]

    # comparisons: block × metric × treatment
    per_block = n_met * k[block_exp]
    b = np.repeat(np.arange(len(blocks)), per_block)
    j = np.arange(len(b)) - np.repeat(np.cumsum(per_block) - per_block, per_block)
    kb = k[block_exp[b]]
    metric = j // kb
    t_var = treat[treat_start[block_exp[b]] + j % kb]
    c_var = control_of[block_exp[b]]
    rows_v = rows_of(blocks[b], t_var, metric)
    rows_c = rows_of(blocks[b], c_var, metric)
    stats_v, stats_c = values[rows_v], values[rows_c]  # -1 picks the zero row

    columns: dict[str, np.ndarray] = {
        "experiment": exp_names[block_exp[b]],
        "segment": seg_names[block_seg[b]],
        "variant": var_names[known_var[t_var]],
        "metric": np.asarray(names, dtype=object)[metric],
    }
    for i, stat in enumerate(SUFFICIENT_STATISTICS):
        columns[f"{stat}_v"] = stats_v[:, i]
        columns[f"{stat}_c"] = stats_c[:, i]
    pairs: Pairs = columns
    pairs["n_v"] = pairs["n_v"].astype(np.int64)
    pairs["n_c"] = pairs["n_c"].astype(np.int64)

    # unit counts: block × every known variant of the block's experiment (first metric's n)
    all_vars = np.argsort(known_exp, kind="stable")
    kv = np.bincount(known_exp, minlength=n_exp)
    v_start = np.r_[0, np.cumsum(kv)[:-1]]
    per = kv[block_exp]
    cb = np.repeat(np.arange(len(blocks)), per)
    cj = np.arange(len(cb)) - np.repeat(np.cumsum(per) - per, per)
    c_vars = all_vars[v_start[block_exp[cb]] + cj]
    n_rows = rows_of(blocks[cb], c_vars, np.zeros(len(cb), dtype=np.int64))
    unit_counts = pd.DataFrame(
        {
            "experiment": exp_names[block_exp[cb]],
            "segment": seg_names[block_seg[cb]],
            "variant": var_names[known_var[c_vars]],
            "n_units": values[n_rows, 0].astype(np.int64),
        }
    )
    return _Layout(pairs=pairs, counts=unit_counts)


# --------------------------------------------------------------------------------------------
# estimate → inference → post-processing


def _arm(pairs: Pairs, suffix: str, ddof: np.ndarray) -> ArmEstimates:
    cols = [f"{c}{suffix}" for c in BASE_STATISTICS]
    return arm_estimates(*(pairs[c] for c in cols), ddof=ddof)


def _covariate_sums(pairs: Pairs, suffix: str) -> CovariateSums:
    return CovariateSums(*(pairs[f"{c}{suffix}"] for c in COVARIATE_STATISTICS))


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
    pairs: Pairs,
    specs: Sequence[MetricSpec],
    options: AnalysisOptions,
    srm: pd.DataFrame,
) -> pd.DataFrame:
    spec_of = {m.name: m for m in specs}
    metric = pairs["metric"]
    metric_codes, metric_names = pd.factorize(metric)

    def per_row(attribute: str, dtype: type = object) -> np.ndarray:
        # Spec attributes are looked up once per metric, then broadcast by integer code.
        values = [getattr(spec_of[m], attribute) for m in metric_names]
        return np.array(values, dtype=dtype)[metric_codes]

    mtype = per_row("type")
    has_covariate = np.array([spec_of[m].covariate is not None for m in metric_names])[metric_codes]
    role = per_row("role")
    direction = per_row("direction")

    # 1. estimate: per-arm estimates and SEs, CUPED where declared, then the difference.
    ddof = np.where(mtype == "proportion", 0, 1)
    plain_control = _arm(pairs, "_c", ddof)
    plain_variant = _arm(pairs, "_v", ddof)
    cuped = cuped_adjust(
        plain_control,
        plain_variant,
        _covariate_sums(pairs, "_c"),
        _covariate_sums(pairs, "_v"),
        ddof=ddof,
        applied=has_covariate,
    )
    control, variant = cuped.control, cuped.variant
    diff = difference_with_covariance(control, variant, cuped.shared_var)

    # 2. inference: one vectorised call per metric type (× CUPED or not).
    out, test_se, test, q = _infer(mtype, has_covariate, control, variant, diff, options)
    # Plain proportion rows already carry the interval that inverts their test.
    swap = ~((mtype == "proportion") & ~has_covariate)
    fieller_unbounded = ~swap & np.isinf(out["rel_ci_high"])
    if options.rel_ci_method == "fieller" and swap.any():
        low, high, bounded = fieller_interval(
            variant.estimate,
            control.estimate,
            variant.se2 + cuped.shared_var,
            control.se2 + cuped.shared_var,
            cuped.shared_var,
            q,
        )
        out["rel_ci_low"] = np.where(swap, low - 1.0, out["rel_ci_low"])
        out["rel_ci_high"] = np.where(swap, high - 1.0, out["rel_ci_high"])
        fieller_unbounded |= swap & ~bounded & np.isfinite(q)

    # 3. per-row problems, then the experiment-level SRM verdict.
    status, message = _statuses(
        pairs, specs, mtype, plain_control, plain_variant, test_se, has_covariate, options
    )
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
        testable & fieller_unbounded & (control.estimate != 0),
        "Fieller interval for the relative lift is unbounded: the control estimate is not "
        "significantly different from 0",
    )
    message = _append(
        message,
        testable & (diff.abs_se2 == 0),
        "both arms are constant: the Wald CI has zero width",
    )
    covariates = per_row("covariate")
    message = _append(
        message,
        testable & cuped.constant_covariate,
        lambda i: "covariate '" + covariates[i] + "' is constant: no CUPED adjustment",
    )

    # 4. post-processing: correction within each family, decisions, guardrails.
    is_overall = pairs["segment"] == OVERALL_SEGMENT
    family = correction_families(pairs["experiment"], metric, is_overall, options.correction_scope)
    p_adj = adjust_by_family(out["p_value"], family, options.correction)
    message = _consistency_notes(message, out, p_adj, family, diff, options)
    decision = decide(
        status=status,
        p_value_adjusted=p_adj,
        abs_diff=diff.abs_diff,
        rel_ci_low=out["rel_ci_low"],
        rel_ci_high=out["rel_ci_high"],
        direction=direction,
        min_effect=per_row("min_effect", np.float64),
        alpha=options.alpha,
    )
    is_guardrail = role == "guardrail"
    guardrail = np.full(len(metric), None, dtype=object)
    if is_guardrail.any():
        guardrail[is_guardrail] = guardrail_status(
            status=status[is_guardrail],
            rel_ci_low=out["rel_ci_low"][is_guardrail],
            rel_ci_high=out["rel_ci_high"][is_guardrail],
            direction=direction[is_guardrail],
            margin=per_row("non_inferiority_margin", np.float64)[is_guardrail],
        )
        decision, message = apply_guardrails(
            decision=decision,
            message=message,
            role=role,
            guardrail=guardrail,
            group=_group_codes(pairs, ["experiment", "segment", "variant"]),
            metric=metric,
        )

    results = pd.DataFrame(
        {
            "experiment": pairs["experiment"],
            "segment": pairs["segment"],
            "metric": metric,
            "metric_type": mtype,
            "control": options.control,
            "variant": pairs["variant"],
            "n_control": pairs["n_c"],
            "n_variant": pairs["n_v"],
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
            "role": role,
            "guardrail_status": guardrail,
            "variance_reduction": np.where(testable, cuped.variance_reduction, np.nan),
            "cuped_theta": np.where(testable, cuped.theta, np.nan),
            "rel_ci_method": options.rel_ci_method,
        }
    )
    return results.loc[:, list(RESULT_COLUMNS)]


def _consistency_notes(
    message: np.ndarray,
    out: dict[str, np.ndarray],
    p_adj: np.ndarray,
    family: np.ndarray,
    diff: Difference,
    options: AnalysisOptions,
) -> np.ndarray:
    """Say why a decision may look at odds with the (unadjusted) intervals beside it.

    Two honest reasons exist: the multiple-testing correction (the intervals are the
    unadjusted (1 − α) intervals, so a row can exclude 0 yet not be significant after the
    correction), and the approximate delta-method relative interval, which — unlike the
    default — does not invert the test.
    """
    p = out["p_value"]
    with np.errstate(invalid="ignore"):
        corrected_away = (p < options.alpha) & ~(p_adj < options.alpha)
    if corrected_away.any():
        tested = np.isfinite(p)
        size = np.bincount(family[tested], minlength=family.max() + 1)[family]

        def text(idx: np.ndarray) -> np.ndarray:
            return np.array(
                [
                    f"p = {p[i]:.2g} is significant before correction but not after the "
                    f"{options.correction} correction over {size[i]} comparisons "
                    f"(adjusted p = {p_adj[i]:.2g}); the intervals are unadjusted"
                    for i in idx
                ],
                dtype=object,
            )

        message = _append(message, corrected_away, text)
    if options.rel_ci_method == "delta":
        with np.errstate(invalid="ignore"):
            low, high = out["rel_ci_low"], out["rel_ci_high"]
            excludes = (low > 0) | (high < 0)
            significant = p < options.alpha
        disagree = np.isfinite(low + high + p) & (excludes != significant)
        message = _append(
            message,
            disagree,
            "the delta-method relative CI disagrees with the test (it is an approximation); "
            "rel_ci_method: fieller gives the interval that matches the test",
        )
    return message


def _group_codes(pairs: Pairs, columns: Sequence[str]) -> np.ndarray:
    """One integer per distinct combination of ``columns`` (mixed-radix of factorized codes)."""
    codes = np.zeros(len(pairs[columns[0]]), dtype=np.int64)
    for column in columns:
        col_codes, uniques = pd.factorize(pairs[column])
        codes = codes * len(uniques) + col_codes
    return codes


_TEST_NAMES = {
    ("proportion", False): None,  # z or chi2, set from the options
    ("mean", False): "welch_t",
    ("ratio", False): "delta_method_z",
    ("proportion", True): "z_cuped",
    ("mean", True): "welch_t_cuped",
    ("ratio", True): "delta_method_z_cuped",
}


def _infer(
    mtype: np.ndarray,
    has_covariate: np.ndarray,
    control: ArmEstimates,
    variant: ArmEstimates,
    diff: Difference,
    options: AnalysisOptions,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Run each metric type's test on its rows.

    Returns the inference arrays, the test SE, the test name and the CI quantile q of each row
    (t for means, normal otherwise) that the relative-lift CI must reuse.
    """
    n_rows = len(mtype)
    out = {f: np.full(n_rows, np.nan) for f in _INFERENCE_FIELDS}
    test_se = np.full(n_rows, np.nan)
    q = np.full(n_rows, normal_quantile(options.alpha))
    test = np.empty(n_rows, dtype=object)
    for (kind, cuped), name in _TEST_NAMES.items():
        mask = (mtype == kind) & (has_covariate == cuped)
        if not mask.any():
            continue
        c, v, d = (_subset(obj, mask) for obj in (control, variant, diff))
        if kind == "proportion" and not cuped:
            res = two_proportion_test(
                c,
                v,
                d,
                alpha=options.alpha,
                method=options.proportion_test,
                pooled_se=options.pooled_se,
                continuity_correction=options.continuity_correction,
                rel_ci_method=options.rel_ci_method,
            )
            name = "two_proportion_z" if options.proportion_test == "z" else "chi2"
        elif kind == "mean":
            res = welch_t_test(c, v, d, alpha=options.alpha)
            with np.errstate(invalid="ignore"):
                q[mask] = sps.t.ppf(1.0 - options.alpha / 2.0, res.df)
        else:  # ratios, and CUPED proportions: z on the (adjusted) unpooled SE
            res = delta_method_z_test(c, v, d, alpha=options.alpha)
        test[mask] = name
        for f in _INFERENCE_FIELDS:
            out[f][mask] = getattr(res, f)
        test_se[mask] = res.test_se
    return out, test_se, test, q


def _apply_srm(
    pairs: Pairs,
    status: np.ndarray,
    message: np.ndarray,
    srm: pd.DataFrame,
    options: AnalysisOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Experiment-level SRM verdict onto every row of that experiment (status, message, p)."""
    per_experiment = srm.drop_duplicates("experiment")  # overall rows: one verdict each
    where = pd.Index(per_experiment["experiment"].to_numpy(dtype=object)).get_indexer(
        pairs["experiment"]
    )
    found = where >= 0
    srm_p = np.where(found, per_experiment["p_value"].to_numpy(dtype=np.float64)[where], np.nan)
    hit = found & per_experiment["srm_detected"].to_numpy(dtype=bool)[where]

    def text(idx: np.ndarray) -> np.ndarray:  # spelled out only for the affected rows
        p_text = np.array([f"{p:.2g}" for p in srm_p[idx]], dtype=object)
        return (
            "sample ratio mismatch in experiment '"
            + pairs["experiment"][idx].astype(str).astype(object)
            + "' (SRM p = "
            + p_text
            + f" < {options.srm_alpha:g}): the split is broken, do not trust this comparison"
        )

    message = _append(message, hit, text)
    status = np.where(hit & (status == "ok"), "srm", status).astype(object)
    return status, message, srm_p


def _statuses(
    pairs: Pairs,
    specs: Sequence[MetricSpec],
    mtype: np.ndarray,
    control: ArmEstimates,
    variant: ArmEstimates,
    test_se: np.ndarray,
    has_covariate: np.ndarray,
    options: AnalysisOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row status and message for problems of a single comparison (vectorised; message
    text is only built for the rows it applies to)."""
    n_rows = len(mtype)
    message = np.full(n_rows, "", dtype=object)
    needs_variance = mtype != "proportion"
    denominator_of = {m.name: m.x_column or "" for m in specs}
    metric = pairs["metric"]

    def arm_name(arm: str, idx: np.ndarray) -> np.ndarray | str:
        if arm == "control":
            return f"control arm '{options.control}'"
        return "variant arm '" + pairs["variant"][idx].astype(str).astype(object) + "'"

    def denominator(idx: np.ndarray) -> np.ndarray:
        return np.array([denominator_of[m] for m in metric[idx]], dtype=object)

    empty = np.zeros(n_rows, dtype=bool)
    for arm, est in (("control", control), ("variant", variant)):
        no_units = est.n == 0
        message = _append(message, no_units, lambda i, a=arm: arm_name(a, i) + " has no units")
        too_few = needs_variance & (est.n == 1)
        message = _append(
            message,
            too_few,
            lambda i, a=arm: arm_name(a, i) + " has 1 unit; a variance needs at least 2",
        )
        zero_den = (mtype == "ratio") & (est.n > 0) & (est.sum_x == 0)
        message = _append(
            message,
            zero_den,
            lambda i, a=arm: (
                arm_name(a, i) + ": denominator '" + denominator(i) + "' sums to 0, ratio undefined"
            ),
        )
        empty |= no_units | too_few | zero_den
    zero_var = ~empty & ~(test_se > 0)
    message = _append(
        message,
        zero_var & ~has_covariate,
        "zero variance: every unit in both arms has the same value, so the test is undefined",
    )
    message = _append(
        message,
        zero_var & has_covariate,
        "zero variance after the CUPED adjustment: the covariate predicts every unit exactly "
        "(or the metric is constant), so the test is undefined",
    )
    status = np.select([empty, zero_var], ["empty_arm", "zero_variance"], default="ok")
    return status.astype(object), message


def _append(
    message: np.ndarray,
    where: np.ndarray,
    text: str | np.ndarray | Callable[[np.ndarray], np.ndarray | str],
) -> np.ndarray:
    """Append ``text`` to ``message`` where ``where`` holds, separating notes with '; '.

    ``text`` is a string, a full-length array, or a function of the affected row indices (so
    per-row text is only formatted for the rows that need it).
    """
    idx = np.flatnonzero(where)
    if idx.size == 0:
        return message
    if callable(text):
        note = text(idx)
    elif isinstance(text, str):
        note = text
    else:
        note = np.asarray(text, dtype=object)[idx]
    note = np.broadcast_to(np.asarray(note, dtype=object), idx.shape)
    out = message.copy()
    current = out[idx]
    out[idx] = np.where(current == "", note, current + "; " + note)
    return out


def _subset(obj, mask: np.ndarray):
    """The same dataclass with every array field restricted to ``mask``."""
    return type(obj)(**{k: v[mask] for k, v in vars(obj).items()})
