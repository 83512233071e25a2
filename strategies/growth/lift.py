"""Lift per website experiment and per persona, with recommendations worded from the intervals
(issue #14, items 3 and 5).

Why this module exists: the growth team asks two questions of one analysis-ready table (one
row per experiment × user, :mod:`strategies.warehouse.growth_engine`) — *does the change
work?* and *for whom?* Both are answered by the A/B engine (:mod:`strategies.stats`); nothing
here re-implements a test. This module only declares the growth metrics, lays the table out
for the engine (personas as a segment column), picks the multiple-testing families, makes the
printed intervals agree with the corrected decisions, and turns the result into plain
recommendations.

Metrics (:data:`GROWTH_METRICS`; the unit is the user, the randomisation unit)
------------------------------------------------------------------------------
* ``ctr`` — ratio Σclicks / Σsessions (share of sessions with a click);
* ``add_to_cart_rate`` — ratio Σadd_to_carts / Σsessions (unconditional, per session);
* ``purchase_conversion`` — proportion of users with ``purchased`` = 1;
* ``revenue_per_user`` — mean of ``revenue`` (net of discounts, 0 for non-buyers);
* ``orders_per_user`` — mean of ``orders``.

The two ratios are per-session rates analysed per *user* with the delta method: the engine
sums numerator and denominator over the users of an arm (``Σy/Σx``) and takes the variance of
that ratio of means over users, so sessions of one user are never treated as independent. A
user with 0 sessions adds 0 to both sums — the point estimate ignores them — but counts in
``n`` and in the variances of ``x̄`` and ``ȳ``: the number of sessions is itself an outcome of
the randomised user, and dropping those users would condition on a post-treatment quantity.
(Under the contract every assigned user was exposed in a session that counts, so the SQL
table has none; hand-made tables may.) An arm whose sessions sum to 0 comes back as
``status = "empty_arm"``, never as a crash.

Experiment lift (:func:`experiment_lift`)
-----------------------------------------
Exactly the A/B pipeline: one run over all experiments × metrics, the run's correction (Holm
by default) over the overall comparisons, and the funnel and SRM tables of the engine. By
default the intervals are, as in the A/B pipeline, the unadjusted (1 − α) intervals; a row
whose p-value is significant before but not after the correction says so in ``message``.
``intervals="matched"`` (with ``bh``, ``bonferroni`` or ``none``) prints the intervals that
agree with the corrected decision instead, as :func:`persona_lift` always does.

Persona lift (:func:`persona_lift`) and the decision/interval agreement
-----------------------------------------------------------------------
Every experiment × metric × persona is one comparison, and all of them form **one
Benjamini–Hochberg family** (``p_value_adjusted``): a growth team scanning 8 × 5 × 4 = 160
cells wants to control the share of false claims, not to be told that nothing can ever be
significant. Printing unadjusted 95 % intervals beside BH decisions would break DESIGN.md §2.7
in both directions (a "significant" cell whose interval crosses 0 is impossible, but a
"not significant" cell whose 95 % interval excludes 0 is common). So the printed intervals
are the **false-coverage-rate adjusted intervals of Benjamini & Yekutieli (2005)** that match
BH: with m tested comparisons in the family and R of them significant after BH, every
interval of the family is the engine's interval at level ``1 − max(R, 1)·α/m``. Why they agree
by construction: BH rejects exactly the p-values below ``R·α/m`` (the R-th smallest p-value is
below ``R·α/m``; every larger one is at least ``(R + 1)·α/m``), and the engine's intervals
invert the very test that produced the p-value (score intervals for the pooled proportion
test, Welch's t interval, the delta-method z interval, Fieller's interval for the relative
lift, see :mod:`strategies.stats.frequentist`), so an interval at level ``1 − α′`` excludes 0
exactly when ``p < α′``. When R = 0 the level ``1 − α/m`` is used (the widest BY interval):
every p-value is then at least ``α/m``, so no interval excludes 0 — as no decision claims an
effect. BY (2005) prove that the selected intervals built this way miss their parameter in at
most a fraction α of the selections on average (FCR ≤ α, under independence or positive
dependence); the test suite checks this by Monte Carlo. The level is in the extra column
``ci_level`` (after ``RESULT_COLUMNS``) and in each row's ``message``; ``alpha`` stays the
threshold that ``p_value_adjusted`` is compared with. The overall rows of the persona run are
their own BH family (DESIGN: segment rows never dilute the headline), matched the same way.

Decisions are the engine's rules (:func:`strategies.stats.decisions.decide`) applied to the
BH-adjusted p-value and the matched interval: ``win``/``loss`` when ``p_value_adjusted < α``,
``neutral`` when the matched relative interval lies inside ``±min_effect``. A row whose
experiment fails the sample-ratio-mismatch check keeps its numbers but is ``inconclusive``
(the engine's rule: a broken split is never a result), and says so in ``message``.

Heterogeneity: Cochran's Q across the personas of each experiment × metric
(:func:`strategies.stats.heterogeneity.heterogeneity`); the Q tests are a family of their own,
corrected by ``heterogeneity_correction`` (Holm by default).

Recommendations (:data:`RECOMMENDATION_COLUMNS`, one row per experiment × metric)
-------------------------------------------------------------------------------
``action`` is one of :data:`ACTIONS`, decided only from significant cells (decision win/loss
*and* a relative interval that excludes 0 on the same side):

* ``ship to all`` — the overall comparison is a win and no persona is harmed;
* ``ship to personas only`` — some personas are helped (``personas`` names them) and either
  another persona is harmed or the overall comparison is not a win;
* ``do not ship`` — a persona is harmed and none is helped, or the overall comparison is a
  loss (``personas`` names the harmed ones);
* ``no evidence`` — nothing is significant: keep testing.

``rel_lift``/``rel_ci_low``/``rel_ci_high`` are the numbers the action rests on: the overall
row for ``ship to all`` and ``no evidence``; the helped persona with the smallest p-value for
``ship to personas only``; the harmed persona with the smallest p-value (else the overall row)
for ``do not ship``. ``text`` quotes every significant persona with its interval and level,
never claims an effect whose interval crosses 0, and mentions that the effect differs by
persona only when the heterogeneity test (after its correction) says so.

Hillstrom's e-mail test is analysed with the same functions:
:mod:`strategies.growth.hillstrom` lays it out as this module expects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

import numpy as np
import pandas as pd

from strategies.errors import ConfigError, InputDataError
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.corrections import (
    Correction,
    CorrectionScope,
    check_correction,
    correction_families,
)
from strategies.stats.decisions import apply_guardrails, decide, guardrail_status
from strategies.stats.heterogeneity import heterogeneity
from strategies.stats.inputs import ABStatistics
from strategies.stats.metrics import MetricSpec, check_metric_specs
from strategies.stats.run import ABDesign, analyse_statistics, statistics_from_rows
from strategies.stats.schema import (
    FUNNEL_COLUMNS,
    HETEROGENEITY_COLUMNS,
    OVERALL_SEGMENT,
    RESULT_COLUMNS,
    RESULT_KEYS,
    SRM_COLUMNS,
)

__all__ = [
    "ACTIONS",
    "CI_LEVEL_COLUMN",
    "FUNNEL_STAGES",
    "GROWTH_METRICS",
    "LIFT_RESULT_COLUMNS",
    "MATCHED_CORRECTIONS",
    "PERSONA_PREFIX",
    "RECOMMENDATION_COLUMNS",
    "ExperimentLift",
    "PersonaLift",
    "experiment_lift",
    "matched_alpha",
    "persona_lift",
]

GROWTH_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("ctr", "ratio", numerator="clicks", denominator="sessions"),
    MetricSpec("add_to_cart_rate", "ratio", numerator="add_to_carts", denominator="sessions"),
    MetricSpec("purchase_conversion", "proportion", column="purchased"),
    MetricSpec("revenue_per_user", "mean", column="revenue"),
    MetricSpec("orders_per_user", "mean", column="orders"),
)
"""The issue's five metrics on the analysis table, unit = user (module docstring)."""

FUNNEL_STAGES: tuple[str, ...] = ("sessions", "clicks", "add_to_carts", "purchases")
"""Funnel stages after ``n_units`` (users): users → sessions → clicks → add-to-carts →
purchases, summed per experiment × variant by the engine (``FUNNEL_COLUMNS``)."""

UNIT_COLUMN = "user_id"
VARIANT_COLUMN = "variant"
EXPERIMENT_COLUMN = "experiment_id"
PERSONA_COLUMN = "persona"
PERSONA_PREFIX = f"{PERSONA_COLUMN}="
"""Persona rows have ``segment = "persona=<name>"`` (the engine's segment label)."""

CI_LEVEL_COLUMN = "ci_level"
LIFT_RESULT_COLUMNS: tuple[str, ...] = (*RESULT_COLUMNS, CI_LEVEL_COLUMN)
"""``RESULT_COLUMNS`` plus ``ci_level``, the confidence level of the printed intervals
(``1 − α`` for unadjusted intervals, ``1 − max(R, 1)·α/m`` for BH-matched ones)."""

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
"""One row per experiment × metric: the action, the personas it names (comma-separated text),
the relative lift and interval it rests on, and a sentence worded from the intervals."""

Action = Literal["ship to all", "ship to personas only", "do not ship", "no evidence"]
ACTIONS: tuple[str, ...] = get_args(Action)

Intervals = Literal["unadjusted", "matched"]
INTERVALS: tuple[str, ...] = get_args(Intervals)
MATCHED_CORRECTIONS: tuple[str, ...] = ("bh", "bonferroni", "none")
"""Corrections whose decisions have intervals that match them with a coverage guarantee:
Benjamini–Yekutieli FCR intervals for BH, simultaneous intervals for Bonferroni."""

_INTERVAL_COLUMNS = ("abs_ci_low", "abs_ci_high", "rel_ci_low", "rel_ci_high")
_EXPERIMENT_COLUMNS = ("experiment_id", "name", "control", "treatment")

_METRIC_WORDS = {
    "ctr": "click-through rate",
    "add_to_cart_rate": "add-to-cart rate",
    "purchase_conversion": "purchase conversion",
    "revenue_per_user": "revenue per user",
    "orders_per_user": "orders per user",
    "visit": "site visits",
    "conversion": "conversion",
    "spend": "spend per customer",
}


# --------------------------------------------------------------------------------------------
# Result containers
# --------------------------------------------------------------------------------------------


@dataclass
class ExperimentLift:
    """The lift of every experiment overall.

    ``results``: one row per experiment × metric (× treatment), ``LIFT_RESULT_COLUMNS``,
    ``segment = "all"``; ``funnel``: ``FUNNEL_COLUMNS`` (``n_units`` = users, stages
    :data:`FUNNEL_STAGES`); ``srm``: ``SRM_COLUMNS`` (one χ² test per experiment, repeated on
    each arm's row).
    """

    results: pd.DataFrame
    funnel: pd.DataFrame
    srm: pd.DataFrame


@dataclass
class PersonaLift:
    """The lift of every experiment per persona.

    ``results``: one row per experiment × persona × metric (× treatment),
    ``LIFT_RESULT_COLUMNS``, ``segment = "persona=<name>"``, ``p_value_adjusted`` by BH over
    all of them, intervals at ``ci_level`` (module docstring); ``heterogeneity``:
    ``HETEROGENEITY_COLUMNS`` (``segment_column = "persona"``); ``recommendations``:
    ``RECOMMENDATION_COLUMNS``; ``overall``: the overall rows the recommendations used
    (``LIFT_RESULT_COLUMNS``); ``srm``: ``SRM_COLUMNS`` overall and per persona (the persona
    blocks are informational). ``n_tests``/``n_discoveries`` are m and R of the persona
    family and ``ci_level`` its interval level.
    """

    results: pd.DataFrame
    heterogeneity: pd.DataFrame
    recommendations: pd.DataFrame
    overall: pd.DataFrame
    srm: pd.DataFrame
    n_tests: int = 0
    n_discoveries: int = 0
    ci_level: float = float("nan")
    personas: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# Matching intervals to corrected decisions
# --------------------------------------------------------------------------------------------


def matched_alpha(
    p_value: np.ndarray, p_value_adjusted: np.ndarray, alpha: float, correction: str
) -> float:
    """The α′ whose (1 − α′) intervals agree with the corrected decisions of one family.

    ``bh``: ``max(R, 1)·α/m`` (Benjamini–Yekutieli 2005 FCR-adjusted intervals; R = number
    of adjusted p-values below α, m = number of tested comparisons, NaN p-values excluded);
    ``bonferroni``: ``α/m`` (simultaneous intervals); ``none``: α. Other corrections
    (Holm, Hochberg) have no matching interval with a coverage guarantee of this simple form:
    ConfigError.
    """
    check_correction(correction)
    if correction not in MATCHED_CORRECTIONS:
        raise ConfigError(
            f"intervals matched to the {correction!r} correction are not available; "
            f"use one of {', '.join(MATCHED_CORRECTIONS)} or intervals='unadjusted'"
        )
    p = np.asarray(p_value, dtype=np.float64)
    p_adj = np.asarray(p_value_adjusted, dtype=np.float64)
    tested = np.isfinite(p)
    m = int(tested.sum())
    if correction == "none" or m == 0:
        return float(alpha)
    if correction == "bonferroni":
        return float(alpha) / m
    discoveries = int((p_adj[tested] < alpha).sum())
    return max(discoveries, 1) * float(alpha) / m


def _analyse_matched(
    inputs: ABStatistics,
    design: ABDesign,
    metrics: Sequence[MetricSpec],
    options: AnalysisOptions,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[bool, tuple[int, int, float]]]:
    """Run the engine once for the p-values and their correction, then once per matched level
    for the intervals; recompute decisions from the adjusted p-values and matched intervals.

    Returns the results (``LIFT_RESULT_COLUMNS``), the SRM table and, for the overall (True)
    and segment (False) rows, ``(m, R, ci_level)`` of their family when the scope is ``run``.
    """
    base = analyse_statistics(inputs, design, metrics, options)
    results = base.results.reset_index(drop=True)
    alpha = float(options.alpha)
    p = results["p_value"].to_numpy(dtype=np.float64)
    p_adj = results["p_value_adjusted"].to_numpy(dtype=np.float64)
    is_overall = (results["segment"] == OVERALL_SEGMENT).to_numpy()
    family = correction_families(
        results["experiment"].to_numpy(dtype=object),
        results["metric"].to_numpy(dtype=object),
        is_overall,
        options.correction_scope,
    )
    level_alpha = np.full(len(results), alpha)
    sizes = np.zeros(len(results), dtype=np.int64)
    found = np.zeros(len(results), dtype=np.int64)
    for code in np.unique(family):
        members = family == code
        level_alpha[members] = matched_alpha(p[members], p_adj[members], alpha, options.correction)
        sizes[members] = int(np.isfinite(p[members]).sum())
        found[members] = int((p_adj[members] < alpha).sum())

    status = results["status"].to_numpy(dtype=object).copy()
    message = results["message"].to_numpy(dtype=object).copy()
    for level in np.unique(level_alpha):
        rows = level_alpha == level
        # The same statistics in the same order: only α differs, and no correction, so the
        # rerun's messages carry no stale "significant before correction" note.
        rerun = analyse_statistics(
            inputs, design, metrics, replace(options, alpha=float(level), correction="none")
        ).results.reset_index(drop=True)
        same = all(
            np.array_equal(rerun[k].to_numpy(dtype=object), results[k].to_numpy(dtype=object))
            for k in RESULT_KEYS
        )
        if not same:  # pragma: no cover - the engine is deterministic; guard the assumption
            raise RuntimeError("the engine returned the comparisons in a different order")
        for column in _INTERVAL_COLUMNS:
            results.loc[rows, column] = rerun.loc[rows, column].to_numpy()
        status[rows] = rerun["status"].to_numpy(dtype=object)[rows]
        message[rows] = rerun["message"].to_numpy(dtype=object)[rows]

    spec_of = {m.name: m for m in metrics}
    metric = results["metric"].to_numpy(dtype=object)
    direction = np.array([spec_of[m].direction for m in metric], dtype=object)
    decision = decide(
        status=status,
        p_value_adjusted=p_adj,
        abs_diff=results["abs_diff"].to_numpy(dtype=np.float64),
        rel_ci_low=results["rel_ci_low"].to_numpy(dtype=np.float64),
        rel_ci_high=results["rel_ci_high"].to_numpy(dtype=np.float64),
        direction=direction,
        min_effect=np.array([spec_of[m].min_effect for m in metric], dtype=np.float64),
        alpha=alpha,
    )
    role = results["role"].to_numpy(dtype=object)
    guard = results["guardrail_status"].to_numpy(dtype=object).copy()
    is_guardrail = role == "guardrail"
    if is_guardrail.any():
        guard[is_guardrail] = guardrail_status(
            status=status[is_guardrail],
            rel_ci_low=results["rel_ci_low"].to_numpy(dtype=np.float64)[is_guardrail],
            rel_ci_high=results["rel_ci_high"].to_numpy(dtype=np.float64)[is_guardrail],
            direction=direction[is_guardrail],
            margin=np.array(
                [spec_of[m].non_inferiority_margin for m in metric[is_guardrail]], dtype=float
            ),
        )
        group = (
            results["experiment"].astype(str)
            + "\x1f"
            + results["segment"].astype(str)
            + "\x1f"
            + results["variant"].astype(str)
        ).to_numpy(dtype=object)
        decision, message = apply_guardrails(
            decision=decision,
            message=message,
            role=role,
            guardrail=guard,
            group=group,
            metric=metric,
        )
    ci_level = 1.0 - level_alpha
    with_ci = np.isfinite(results["abs_ci_low"].to_numpy(dtype=np.float64))
    for code in np.unique(family):  # one note per family, not per comparison
        rows = with_ci & (family == code)
        if not rows.any():
            continue
        i = int(np.flatnonzero(rows)[0])
        note = _level_note(ci_level[i], options.correction, int(sizes[i]), int(found[i]), alpha)
        message[rows] = np.where(message[rows] == "", note, message[rows] + "; " + note)
    results = results.assign(
        status=status,
        message=message,
        decision=decision,
        guardrail_status=guard,
        alpha=alpha,
        **{CI_LEVEL_COLUMN: ci_level},
    )
    summary: dict[bool, tuple[int, int, float]] = {}
    if options.correction_scope == "run":
        for overall in (True, False):
            rows = is_overall == overall
            if rows.any():
                i = int(np.flatnonzero(rows)[0])
                summary[overall] = (int(sizes[i]), int(found[i]), float(ci_level[i]))
    return results.loc[:, list(LIFT_RESULT_COLUMNS)], base.srm, summary


def _level_note(level: float, correction: str, m: int, r: int, alpha: float) -> str:
    """Why the interval of a row is printed at its level (matched intervals only)."""
    shown = _level_text(level)
    if correction == "bh":
        return (
            f"interval at the {shown} level = 1 - max(R, 1)·α/m with R = {r} of m = {m} "
            "comparisons significant after Benjamini-Hochberg (FCR-adjusted interval, "
            "Benjamini & Yekutieli 2005): it excludes 0 exactly when p_value_adjusted < "
            f"{alpha:g}"
        )
    if correction == "bonferroni":
        return (
            f"interval at the {shown} level = 1 - α/m, m = {m} (simultaneous Bonferroni "
            f"interval): it excludes 0 exactly when p_value_adjusted < {alpha:g}"
        )
    return f"interval at the {shown} level (no correction)"


# --------------------------------------------------------------------------------------------
# Input checks and layout
# --------------------------------------------------------------------------------------------


def _check_analysis(analysis: pd.DataFrame, metrics: Sequence[MetricSpec]) -> None:
    """Fail fast, naming every missing column and what needs it."""
    if not isinstance(analysis, pd.DataFrame):
        raise InputDataError(
            f"the analysis table must be a pandas DataFrame, got {type(analysis).__name__}"
        )
    needed = {
        EXPERIMENT_COLUMN: "the experiment id",
        UNIT_COLUMN: "the unit (user)",
        VARIANT_COLUMN: "the arm",
    }
    for spec in metrics:
        for column in spec.columns():
            needed.setdefault(column, f"metric {spec.name!r}")
    missing = [f"{c!r} ({why})" for c, why in needed.items() if c not in analysis.columns]
    if missing:
        raise InputDataError(
            f"the analysis table is missing column(s): {', '.join(missing)}; "
            f"it has: {', '.join(map(str, analysis.columns))}"
        )
    if analysis.empty:
        raise InputDataError("the analysis table has no rows; nothing to analyse")
    keys = analysis[EXPERIMENT_COLUMN].astype(str) + "\x1f" + analysis[UNIT_COLUMN].astype(str)
    duplicated = keys.duplicated()
    if duplicated.any():
        row = analysis.loc[duplicated.idxmax()]
        raise InputDataError(
            f"the analysis table must have one row per experiment × user; "
            f"{int(duplicated.sum())} duplicate(s), e.g. experiment "
            f"{row[EXPERIMENT_COLUMN]!r}, user {row[UNIT_COLUMN]!r}"
        )


@dataclass(frozen=True)
class _Arms:
    control: str
    variants: tuple[str, ...]
    names: dict[str, str]
    order: tuple[str, ...]


def _arms(analysis: pd.DataFrame, experiments: pd.DataFrame | None, control: str | None) -> _Arms:
    """Control and treatment labels and experiment names, checked against the data.

    The engine compares every treatment with one control label per run, so all experiments
    must share their control; an experiment of the data missing from ``experiments`` or an arm
    label nobody declared is an error (a typo there would silently drop or mislabel users).
    """
    present = pd.unique(analysis[EXPERIMENT_COLUMN].astype(str))
    labels = sorted(set(analysis[VARIANT_COLUMN].dropna().astype(str)))
    if experiments is None:
        control = "A" if control is None else str(control)
        variants = tuple(v for v in labels if v != control)
        return _Arms(control, variants, {e: e for e in present}, tuple(present))
    if not isinstance(experiments, pd.DataFrame):
        raise InputDataError(
            f"experiments must be a pandas DataFrame, got {type(experiments).__name__}"
        )
    missing = [c for c in _EXPERIMENT_COLUMNS if c not in experiments.columns]
    if missing:
        raise InputDataError(
            f"the experiments table is missing column(s): {', '.join(map(repr, missing))}; "
            f"it has: {', '.join(map(str, experiments.columns))}"
        )
    table = experiments.astype({"experiment_id": str})
    unknown = [e for e in present if e not in set(table["experiment_id"])]
    if unknown:
        raise InputDataError(
            f"experiment(s) {unknown} of the analysis table are not in the experiments table "
            f"(it lists {sorted(table['experiment_id'])})"
        )
    table = table[table["experiment_id"].isin(present)]
    controls = sorted(set(table["control"].astype(str)))
    if len(controls) != 1:
        raise InputDataError(
            f"the experiments must share one control label to be analysed in one run; "
            f"found {controls}"
        )
    if control is not None and str(control) != controls[0]:
        raise ConfigError(
            f"control {control!r} differs from the experiments table's control {controls[0]!r}"
        )
    declared = [t.strip() for v in table["treatment"].astype(str) for t in v.split(",")]
    variants = tuple(dict.fromkeys(declared))
    stray = [v for v in labels if v != controls[0] and v not in variants]
    if stray:
        raise InputDataError(
            f"variant label(s) {stray} in the analysis table are neither the control "
            f"{controls[0]!r} nor a declared treatment {list(variants)}"
        )
    names = dict(zip(table["experiment_id"], table["name"].astype(str), strict=True))
    order = tuple(e for e in table["experiment_id"] if e in set(present))
    return _Arms(controls[0], variants, names, order)


def _with_personas(
    analysis: pd.DataFrame,
    assignments: pd.DataFrame,
    personas: Sequence[str] | None,
    persona_column: str,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The analysis rows with a ``persona`` column from ``assignments``; every analysed user
    needs exactly one known persona (a user without one would silently leave the family)."""
    if not isinstance(assignments, pd.DataFrame):
        raise InputDataError(
            f"persona assignments must be a pandas DataFrame, got {type(assignments).__name__}"
        )
    missing = [c for c in (UNIT_COLUMN, persona_column) if c not in assignments.columns]
    if missing:
        raise InputDataError(
            f"the persona assignments are missing column(s): {', '.join(map(repr, missing))}; "
            f"they have: {', '.join(map(str, assignments.columns))}"
        )
    if PERSONA_COLUMN in analysis.columns:
        raise InputDataError(
            f"the analysis table already has a {PERSONA_COLUMN!r} column; pass the personas "
            "only through the assignments table so there is one source of truth"
        )
    table = pd.DataFrame(
        {
            UNIT_COLUMN: assignments[UNIT_COLUMN].astype(str),
            PERSONA_COLUMN: assignments[persona_column],
        }
    )
    if table[PERSONA_COLUMN].isna().any():
        users = table.loc[table[PERSONA_COLUMN].isna(), UNIT_COLUMN].head(5).tolist()
        raise InputDataError(f"persona assignments with an empty persona, e.g. users {users}")
    table[PERSONA_COLUMN] = table[PERSONA_COLUMN].astype(str)
    table = table.drop_duplicates()
    clash = table[UNIT_COLUMN].duplicated()
    if clash.any():
        users = table.loc[clash, UNIT_COLUMN].head(5).tolist()
        raise InputDataError(f"users with more than one persona in the assignments: {users}")
    found = sorted(set(table[PERSONA_COLUMN]))
    if personas is not None:
        order = tuple(str(p) for p in personas)
        unknown = [p for p in found if p not in order]
        if unknown:
            raise InputDataError(
                f"unknown persona(s) {unknown} in the assignments; expected one of {list(order)}"
            )
    else:
        order = tuple(found)
    frame = analysis.assign(**{UNIT_COLUMN: analysis[UNIT_COLUMN].astype(str)}).merge(
        table, on=UNIT_COLUMN, how="left", validate="many_to_one"
    )
    unassigned = frame[PERSONA_COLUMN].isna()
    if unassigned.any():
        users = pd.unique(frame.loc[unassigned, UNIT_COLUMN])
        raise InputDataError(
            f"{len(users)} user(s) of the analysis table have no persona assignment, e.g. "
            f"{users[:5].tolist()}; every analysed user needs a persona"
        )
    return frame, order


def _sorted(
    frame: pd.DataFrame,
    experiments: Sequence[str],
    metrics: Sequence[str],
    personas: Sequence[str] = (),
) -> pd.DataFrame:
    """Experiment (table order) → metric (declaration order) → persona (given order)."""
    keys = {
        "_e": frame["experiment"].map({e: i for i, e in enumerate(experiments)}),
        "_m": frame["metric"].map({m: i for i, m in enumerate(metrics)}),
    }
    if "segment" in frame.columns and personas:
        seg = {f"{PERSONA_PREFIX}{p}": i for i, p in enumerate(personas)}
        keys["_p"] = frame["segment"].map(seg).fillna(-1)
    out = frame.assign(**keys).sort_values([*keys, "variant"], kind="stable")
    return out.drop(columns=list(keys)).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Lift per experiment
# --------------------------------------------------------------------------------------------


def experiment_lift(
    analysis: pd.DataFrame,
    experiments: pd.DataFrame | None,
    *,
    metrics: Sequence[MetricSpec] = GROWTH_METRICS,
    alpha: float = 0.05,
    correction: Correction = "holm",
    correction_scope: CorrectionScope = "run",
    intervals: Intervals = "unadjusted",
    srm_alpha: float = 0.001,
    control: str | None = None,
    funnel_stages: Sequence[str] = FUNNEL_STAGES,
) -> ExperimentLift:
    """The lift of every experiment on every metric, as the A/B pipeline computes it.

    ``analysis`` is the analysis-ready table (one row per experiment × user); ``experiments``
    the experiment definitions (``experiment_id``, ``name``, ``control``, ``treatment``; None
    means control ``control`` or "A" and every other label a treatment). The run's
    ``correction`` over ``correction_scope`` sets ``p_value_adjusted`` and the decisions;
    ``intervals="unadjusted"`` prints (1 − α) intervals like the A/B pipeline (rows whose
    significance the correction removes say so in ``message``), ``"matched"`` prints the
    intervals that agree with the corrected decisions (module docstring; ``bh``,
    ``bonferroni`` or ``none`` only). Input problems raise InputDataError naming the column,
    experiment or label; problems of one comparison come back in its ``status``.
    ``funnel_stages`` are the 0/1 or count columns summed per arm for the funnel (those
    present in ``analysis``).
    """
    specs = check_metric_specs(metrics)
    if intervals not in INTERVALS:
        raise ConfigError(f"unknown intervals {intervals!r}; valid: {', '.join(INTERVALS)}")
    check_correction(correction)
    if intervals == "matched" and correction not in MATCHED_CORRECTIONS:
        raise ConfigError(
            f"intervals='matched' needs a correction in {list(MATCHED_CORRECTIONS)}, "
            f"got {correction!r}"
        )
    _check_analysis(analysis, specs)
    arms = _arms(analysis, experiments, control)
    design = ABDesign(
        unit_column=UNIT_COLUMN,
        variant_column=VARIANT_COLUMN,
        control=arms.control,
        variants=arms.variants,
        experiment_column=EXPERIMENT_COLUMN,
    )
    options = AnalysisOptions(
        control=arms.control,
        alpha=alpha,
        correction=correction,
        correction_scope=correction_scope,
        srm_alpha=srm_alpha,
    )
    frame = analysis.assign(
        **{
            EXPERIMENT_COLUMN: analysis[EXPERIMENT_COLUMN].astype(str),
            VARIANT_COLUMN: analysis[VARIANT_COLUMN].astype(str),
        }
    )
    stages = [s for s in funnel_stages if s in frame.columns]
    inputs = statistics_from_rows(frame, design, specs, stages)
    names = [m.name for m in specs]
    if intervals == "matched":
        results, srm, _ = _analyse_matched(inputs, design, specs, options)
    else:
        outcome = analyse_statistics(inputs, design, specs, options)
        results = outcome.results.assign(**{CI_LEVEL_COLUMN: 1.0 - float(alpha)})
        srm = outcome.srm
    results = _sorted(results.loc[:, list(LIFT_RESULT_COLUMNS)], arms.order, names)
    funnel = inputs.funnel.loc[:, list(FUNNEL_COLUMNS)].reset_index(drop=True)
    return ExperimentLift(
        results=results, funnel=funnel, srm=srm.loc[:, list(SRM_COLUMNS)].reset_index(drop=True)
    )


# --------------------------------------------------------------------------------------------
# Lift per persona
# --------------------------------------------------------------------------------------------


def persona_lift(
    analysis: pd.DataFrame,
    assignments: pd.DataFrame,
    experiments: pd.DataFrame | None = None,
    *,
    metrics: Sequence[MetricSpec] = GROWTH_METRICS,
    alpha: float = 0.05,
    personas: Sequence[str] | None = None,
    persona_column: str = PERSONA_COLUMN,
    heterogeneity_correction: Correction = "holm",
    overall: pd.DataFrame | None = None,
    recommendation_metrics: Sequence[str] | None = None,
    srm_alpha: float = 0.001,
    control: str | None = None,
) -> PersonaLift:
    """Every experiment × metric per persona, BH across the whole persona family of the run,
    intervals matched to the BH decisions, Cochran's Q per experiment × metric, and
    recommendations (module docstring).

    ``assignments`` maps ``user_id`` to a persona (column ``persona_column``, e.g. the
    ``assignments`` of :func:`strategies.growth.personas.fit_personas`); every user of
    ``analysis`` needs one. ``personas`` (optional) lists the known personas in display order;
    an assignment outside it is an error. ``overall`` (optional) are the overall results of
    :func:`experiment_lift`, so a recommendation quotes the same overall numbers as the
    experiment table; without it the overall rows of this run are used (their own BH family,
    matched intervals). ``recommendation_metrics`` limits the recommendation rows (default:
    every metric).
    """
    specs = check_metric_specs(metrics)
    check_correction(heterogeneity_correction)
    names = [m.name for m in specs]
    rec_metrics = names if recommendation_metrics is None else list(recommendation_metrics)
    unknown = [m for m in rec_metrics if m not in names]
    if unknown:
        raise ConfigError(f"recommendation_metrics {unknown} are not metrics of the run {names}")
    _check_analysis(analysis, specs)
    arms = _arms(analysis, experiments, control)
    frame, order = _with_personas(analysis, assignments, personas, persona_column)
    frame = frame.assign(
        **{
            EXPERIMENT_COLUMN: frame[EXPERIMENT_COLUMN].astype(str),
            VARIANT_COLUMN: frame[VARIANT_COLUMN].astype(str),
        }
    )
    design = ABDesign(
        unit_column=UNIT_COLUMN,
        variant_column=VARIANT_COLUMN,
        control=arms.control,
        variants=arms.variants,
        experiment_column=EXPERIMENT_COLUMN,
        segment_columns=(PERSONA_COLUMN,),
    )
    options = AnalysisOptions(
        control=arms.control,
        alpha=alpha,
        correction="bh",
        correction_scope="run",
        srm_alpha=srm_alpha,
    )
    inputs = statistics_from_rows(frame, design, specs)
    results, srm, summary = _analyse_matched(inputs, design, specs, options)
    is_overall = results["segment"] == OVERALL_SEGMENT
    persona_rows = _sorted(results[~is_overall], arms.order, names, order)
    own_overall = _sorted(results[is_overall], arms.order, names)
    het = heterogeneity(
        persona_rows,
        alpha,
        correction=heterogeneity_correction,
        correction_scope="run",
    )
    het = _sorted(het, arms.order, names).loc[:, list(HETEROGENEITY_COLUMNS)]
    used_overall = own_overall if overall is None else _checked_overall(overall, own_overall)
    recommendations = _recommendations(
        persona_rows, used_overall, het, arms, rec_metrics, len(arms.variants) > 1
    )
    m, r, level = summary.get(False, (0, 0, float("nan")))
    return PersonaLift(
        results=persona_rows,
        heterogeneity=het,
        recommendations=recommendations,
        overall=used_overall.reset_index(drop=True),
        srm=srm.loc[:, list(SRM_COLUMNS)].reset_index(drop=True),
        n_tests=m,
        n_discoveries=r,
        ci_level=level,
        personas=order,
    )


def _checked_overall(overall: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
    """The caller's overall rows, restricted to segment "all", covering every comparison."""
    needed = ["experiment", "segment", "metric", "variant", "decision", "rel_lift", "abs_diff"]
    needed += ["rel_ci_low", "rel_ci_high", "status"]
    missing = [c for c in needed if c not in overall.columns]
    if missing:
        raise InputDataError(f"the overall results are missing column(s): {missing}")
    rows = overall[overall["segment"].astype(str) == OVERALL_SEGMENT]
    have = set(zip(rows["experiment"].astype(str), rows["metric"], rows["variant"], strict=True))
    want = set(zip(own["experiment"], own["metric"], own["variant"], strict=True))
    lacking = sorted(want - have)
    if lacking:
        raise InputDataError(
            f"the overall results lack {len(lacking)} comparison(s), e.g. {lacking[:3]}"
        )
    if CI_LEVEL_COLUMN not in rows.columns:
        level = 1.0 - pd.to_numeric(rows.get("alpha", 0.05), errors="coerce")
        rows = rows.assign(**{CI_LEVEL_COLUMN: level})
    return rows.assign(experiment=rows["experiment"].astype(str))


# --------------------------------------------------------------------------------------------
# Recommendations
# --------------------------------------------------------------------------------------------


def _claims(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row: (helped, harmed). A claim needs the decision (win/loss) *and* a relative
    interval that excludes 0 on the side of the estimated difference."""
    ok = (rows["status"] == "ok").to_numpy()
    low = rows["rel_ci_low"].to_numpy(dtype=np.float64)
    high = rows["rel_ci_high"].to_numpy(dtype=np.float64)
    diff = rows["abs_diff"].to_numpy(dtype=np.float64)
    sided = ((diff > 0) & (low > 0)) | ((diff < 0) & (high < 0))
    decision = rows["decision"].to_numpy(dtype=object)
    return ok & sided & (decision == "win"), ok & sided & (decision == "loss")


def _recommendations(
    persona_rows: pd.DataFrame,
    overall: pd.DataFrame,
    het: pd.DataFrame,
    arms: _Arms,
    metrics: Sequence[str],
    name_variant: bool,
) -> pd.DataFrame:
    """One recommendation per experiment × treatment × metric (rules in the module docstring);
    ``persona_rows`` come sorted by persona, so every list below is in persona order."""
    keys = ["experiment", "variant", "metric"]
    helped, harmed = _claims(persona_rows)
    cells = persona_rows.assign(
        _persona=persona_rows["segment"].str.slice(len(PERSONA_PREFIX)),
        _helped=helped,
        _harmed=harmed,
    )
    by_cell = {k: g for k, g in cells.groupby(keys, sort=False)}
    win, loss = _claims(overall)
    totals = overall.assign(_win=win, _loss=loss)
    by_total = {
        k: r
        for k, (_, r) in zip(map(tuple, totals[keys].to_numpy()), totals.iterrows(), strict=True)
    }
    het_index = {
        (str(r.experiment), str(r.variant), str(r.metric)): r for r in het.itertuples(index=False)
    }
    records = []
    for experiment in arms.order:
        for variant in arms.variants:
            for metric in metrics:
                key = (experiment, variant, metric)
                if key not in by_cell or key not in by_total:
                    continue
                name = arms.names.get(experiment, experiment)
                if name_variant:
                    name = f"{name} ({variant})"
                records.append(
                    _recommend(
                        experiment, name, metric, by_cell[key], by_total[key], het_index.get(key)
                    )
                )
    frame = pd.DataFrame.from_records(records, columns=list(RECOMMENDATION_COLUMNS))
    for column in ("rel_lift", "rel_ci_low", "rel_ci_high"):
        frame[column] = frame[column].astype(np.float64)
    return frame


def _recommend(
    experiment: str,
    name: str,
    metric: str,
    cells: pd.DataFrame,
    total: pd.Series,
    het: object | None,
) -> dict[str, object]:
    """One recommendation row (rules in the module docstring)."""
    helped = cells[cells["_helped"]]
    harmed = cells[cells["_harmed"]]
    overall_win, overall_loss = bool(total["_win"]), bool(total["_loss"])
    words = _METRIC_WORDS.get(metric, metric.replace("_", " "))
    het_flag = het is not None and bool(het.heterogeneous)

    def persona_list(rows: pd.DataFrame) -> str:
        return ", ".join(rows["_persona"])

    def gains(rows: pd.DataFrame) -> str:
        # one persona: "+18 % (…)"; several: "+18 % (…) for a, +9 % (…) for b"
        if len(rows) == 1:
            return _lift_and_ci(rows.iloc[0])
        return ", ".join(
            f"{_lift_and_ci(r)} for {_persona_words(r['_persona'])}" for _, r in rows.iterrows()
        )

    def losses(rows: pd.DataFrame) -> str:
        return "; ".join(
            f"{_group(pd.Series([r['_persona']]))} ({_lift_and_ci(r, comma=True)})"
            for _, r in rows.iterrows()
        )

    def lead(rows: pd.DataFrame) -> pd.Series:
        return rows.sort_values("p_value", kind="stable").iloc[0]

    if overall_win and harmed.empty:
        action, names, basis = "ship to all", "", total
        text = f"Ship {name} to all users: {words} {_lift_and_ci(total)} overall"
        if not helped.empty:
            # the strongest few, so the sentence stays readable; the table has every persona
            top = helped.sort_values("p_value", kind="stable").head(_MAX_QUOTED)
            text += f"; clearest for {_group(top['_persona'])}: {gains(top)}"
            if len(helped) == len(cells):
                text += f" (significant in all {len(cells)} personas)"
            elif len(helped) > len(top):
                text += f" ({len(helped)} of {len(cells)} personas significant)"
    elif not helped.empty:
        action, names, basis = "ship to personas only", persona_list(helped), lead(helped)
        text = f"Show {name} to {_group(helped['_persona'])} only: {words} {gains(helped)}"
        if not harmed.empty:
            text += f"; it {_verb(harmed)} {words} of {losses(harmed)}"
        else:
            text += "; not shown to help the other personas"
            if not overall_win:
                text += f" (overall {_lift_and_ci(total, comma=True)})"
    elif not harmed.empty or overall_loss:
        action, names = "do not ship", persona_list(harmed)
        basis = lead(harmed) if not harmed.empty else total
        if not harmed.empty:
            text = f"Do not ship {name}: it {_verb(harmed)} {words} of {losses(harmed)}"
            if overall_win:
                text += f", although it {_verb(total)} {words} overall {_lift_and_ci(total)}"
        else:
            text = f"Do not ship {name}: it {_verb(total)} {words} overall {_lift_and_ci(total)}"
    else:
        action, names, basis = "no evidence", "", total
        text = (
            f"No evidence that {name} changes {words}: {_lift_and_ci(total)} overall, "
            "and no persona shows a significant change; keep testing"
        )
        if total["decision"] == "neutral":
            text += " or stop, since the interval rules out any effect that matters"
    if het_flag:
        text += (
            f". The effect differs by persona (Cochran's Q, adjusted p "
            f"{_p_text(float(het.p_value_adjusted))})"
        )
    return {
        "experiment_id": experiment,
        "experiment_name": name,
        "metric": metric,
        "action": action,
        "personas": names,
        "rel_lift": float(basis["rel_lift"]),
        "rel_ci_low": float(basis["rel_ci_low"]),
        "rel_ci_high": float(basis["rel_ci_high"]),
        "text": text + ".",
    }


_MAX_QUOTED = 2
"""Helped personas quoted in a "ship to all" sentence (smallest p-values first)."""


def _verb(rows: pd.DataFrame | pd.Series) -> str:
    """'raises' or 'lowers', from the sign of the (first) estimate: the words follow the
    numbers, whichever direction of the metric is good."""
    lift = rows["rel_lift"] if isinstance(rows, pd.Series) else rows["rel_lift"].iloc[0]
    return "lowers" if float(lift) < 0 else "raises"


def _persona_words(persona: str) -> str:
    """A persona as a sentence names it: quoted when its name is a list of traits
    ("“no men's, new customers”"), so a list of personas stays readable."""
    words = str(persona).replace("_", " ")
    return f"“{words}”" if "," in words else words


def _group(personas: pd.Series) -> str:
    """'the bargain hunter persona', 'the browser and new visitor personas'."""
    words = [_persona_words(p) for p in personas]
    if len(words) == 1:
        return f"the {words[0]} persona"
    return "the " + ", ".join(words[:-1]) + " and " + words[-1] + " personas"


def _pct(value: float) -> str:
    """A relative change as signed percent text: +31 %, −4.2 %, +0.04 %, +∞ (never a
    rounded "0.0 %" for a bound that is not 0, so a printed interval keeps its side of 0)."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    percent = value * 100.0
    if percent == 0:
        return "0 %"
    size = abs(percent)
    text = f"{size:.0f}" if size >= 10 else f"{size:.1f}" if size >= 1 else f"{size:.2g}"
    return f"{'+' if percent > 0 else '−'}{text} %"


def _level_text(level: float) -> str:
    """95 %, 99.4 %, 99.97 %: whole percent when exact, else as few decimals (at least one) as
    keep the level below 100 %."""
    percent = level * 100.0
    if abs(percent - round(percent)) < 1e-9 and round(percent) < 100:
        return f"{round(percent)} %"
    for digits in range(1, 7):
        text = f"{percent:.{digits}f}"
        if float(text) < 100.0:
            return f"{text} %"
    return f"{percent:.8g} %"


def _lift_and_ci(row: pd.Series, *, comma: bool = False) -> str:
    """'+18 % (98.8 % CI +11 % to +26 %)', or with ``comma`` '+18 %, 98.8 % CI +11 % to
    +26 %' (inside brackets); the level is the row's ``ci_level``."""
    level = float(row.get(CI_LEVEL_COLUMN, float("nan")))
    label = f"{_level_text(level)} CI" if math.isfinite(level) else "CI"
    ci = f"{label} {_pct(float(row['rel_ci_low']))} to {_pct(float(row['rel_ci_high']))}"
    lift = _pct(float(row["rel_lift"]))
    return f"{lift}, {ci}" if comma else f"{lift} ({ci})"


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
