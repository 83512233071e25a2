"""The tables the statistics engine writes: their columns and the values their labels take.

One home for the output contracts (DESIGN.md §3), so the engine that fills a table, the report
that reads it, the steps that publish it and the tests that pin it all import the same tuple
and cannot drift apart. A BI tool reading ``ab_results.csv`` needs nothing but this module's
documentation.

Every tuple lists the columns *in order*. The engine modules (``aggregate``, ``analysis``,
``srm``, ``heterogeneity``, ``nonparametric``, ``layers``) import their table's tuple from
here and select exactly those columns before returning, so adding a column means changing it
here (and the test that pins it) first.

Labels shared by every table:

* ``experiment`` — the experiment's name (a constant column is added when the data holds one
  unnamed experiment);
* ``segment`` — :data:`OVERALL_SEGMENT` for the whole experiment, ``"<column>=<value>"`` for a
  segment-breakdown row;
* ``metric`` — the metric's configured name; ``variant`` — a treatment arm (never the
  control); ``control`` — the control arm it is compared with.
"""

from __future__ import annotations

from strategies.stats.metrics import SUFFICIENT_STATISTICS

OVERALL_SEGMENT = "all"
"""The ``segment`` label of the rows that cover the whole experiment (no breakdown)."""

# --------------------------------------------------------------------------------------------
# Sufficient statistics and funnel (the aggregation pass)

LABEL_COLUMNS: tuple[str, ...] = ("experiment", "segment", "variant", "metric")
"""The labels of one arm's sufficient statistics: experiment × segment × variant × metric
(``variant`` here is any arm, the control included)."""

STATS_COLUMNS: tuple[str, ...] = LABEL_COLUMNS + SUFFICIENT_STATISTICS
"""The long sufficient-statistics table (``sufficient_stats``): one row per experiment ×
segment × arm × metric with the counts and sums every estimate is computed from (n, Σy, Σy²,
Σx, Σx², Σxy and the CUPED covariate sums, 0 for metrics without a covariate). Raw rows never
travel further than this table (DESIGN.md §2)."""

FUNNEL_COLUMNS: tuple[str, ...] = (
    "experiment",
    "variant",
    "n_units",
    "stage",
    "stage_order",
    "total",
)
"""Funnel stage totals per experiment × arm, long format (one row per stage present in the
data, ``stage_order`` 1 for the first), drawn by the report's funnel chart."""

# --------------------------------------------------------------------------------------------
# The results table (``ab_results.csv``)

RESULT_KEYS: tuple[str, ...] = ("experiment", "segment", "metric", "variant")
"""The columns that identify one row of the results table; the optional inference layers'
columns (:data:`BAYES_COLUMNS`, :data:`SEQUENTIAL_COLUMNS`, :data:`NONPARAMETRIC_COLUMNS`)
are keyed by them and joined on them."""

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
    "role",
    "guardrail_status",
    "variance_reduction",
    "cuped_theta",
    "rel_ci_method",
)
"""The fixed-horizon results table: one row per experiment × segment × treatment variant ×
metric, every treatment compared with the control (DESIGN.md §3, plus ``role``,
``guardrail_status``, ``variance_reduction``/``cuped_theta`` for CUPED and ``rel_ci_method``;
see :mod:`strategies.stats.analysis`). ``ab_results.csv`` starts with these columns; the
optional layers append theirs after them. ``status`` takes the values of :data:`STATUSES`,
``decision`` those of :data:`DECISIONS`, ``guardrail_status`` those of
:data:`GUARDRAIL_STATUSES` (empty on non-guardrail rows)."""

STATUSES: tuple[str, ...] = ("ok", "empty_arm", "zero_variance", "srm")
"""Values of ``status``: a problem of one comparison comes back as data in its row
(DESIGN.md §2.5), explained in ``message``."""

DECISIONS: tuple[str, ...] = ("win", "loss", "neutral", "inconclusive")
"""Values of ``decision`` (rules in :mod:`strategies.stats.decisions`)."""

GUARDRAIL_STATUSES: tuple[str, ...] = ("pass", "fail", "inconclusive")
"""Values of ``guardrail_status`` on guardrail rows (non-inferiority check)."""

# --------------------------------------------------------------------------------------------
# Companion tables of the fixed-horizon analysis

SRM_COLUMNS: tuple[str, ...] = (
    "experiment",
    "segment",
    "variant",
    "n_units",
    "expected_share",
    "observed_share",
    "chi2",
    "p_value",
    "srm_detected",
)
"""The sample-ratio-mismatch table: one row per experiment × segment × arm (control
included) with its unit count and shares; ``chi2``/``p_value``/``srm_detected`` repeat the
χ² test of that experiment × segment on each of its rows. Only the overall rows drive the
``srm`` status of results (see :mod:`strategies.stats.srm`)."""

HETEROGENEITY_COLUMNS: tuple[str, ...] = (
    "experiment",
    "variant",
    "metric",
    "segment_column",
    "n_segments",
    "q",
    "df",
    "p_value",
    "p_value_adjusted",
    "i2",
    "heterogeneous",
)
"""Cochran's Q across the values of one segment column: one row per experiment × variant ×
metric × segment column (empty without segment columns; see
:mod:`strategies.stats.heterogeneity`). ``p_value_adjusted`` is corrected over the run's Q
tests (the run's correction and scope, Holm by default) and ``heterogeneous`` is
``p_value_adjusted < alpha``."""

# --------------------------------------------------------------------------------------------
# Optional inference layers: extra columns of the results table, keyed by RESULT_KEYS

BAYES_COLUMNS: tuple[str, ...] = (
    "prob_variant_better",
    "expected_loss_control",
    "expected_loss_variant",
    "bayes_abs_cri_low",
    "bayes_abs_cri_high",
    "bayes_rel_cri_low",
    "bayes_rel_cri_high",
    "bayes_cri_level",
    "bayes_decision",
)
"""Columns the Bayesian layer adds to every results row: P(variant better) (better in the
metric's good direction), the expected loss of shipping either arm, equal-tailed credible
intervals of the absolute and relative difference at the level ``bayes_cri_level`` (``1 −
α/m``, Bonferroni over the row's correction family of ``m`` comparisons; ``1 − α`` without a
correction), and the Bayesian call (``win``, ``loss`` or ``inconclusive``), which requires
both intervals to exclude 0 (see :mod:`strategies.stats.layers.bayesian`)."""

SEQUENTIAL_COLUMNS: tuple[str, ...] = (
    "seq_method",
    "seq_look",
    "seq_planned_looks",
    "seq_planned_sample_size",
    "seq_decision_look",
    "seq_information_fraction",
    "seq_tau2",
    "seq_estimate",
    "seq_rel_estimate",
    "seq_statistic",
    "seq_boundary",
    "seq_p_value",
    "seq_p_value_adjusted",
    "seq_ci_low",
    "seq_ci_high",
    "seq_crossed",
    "seq_crossed_look",
    "seq_crossed_statistic",
)
"""Columns the sequential layer adds to the overall results rows (segment rows get NaN).
With this layer, ``decision`` comes from these columns, and every number among them is taken
at one look, ``seq_decision_look``: the look where the test crossed (and stopped) when it did,
else the latest look ``seq_look``. The fixed-horizon columns of the row (``abs_diff``,
``abs_ci_*``, ``p_value`` …) stay those of all the data, for reference only.

* ``seq_method`` (``msprt`` or ``group_sequential``), ``seq_look`` (latest look),
  ``seq_planned_looks`` and ``seq_planned_sample_size`` (the plan: final look, maximum units
  of the experiment, all arms);
* ``seq_information_fraction`` — units so far / planned maximum (group-sequential alpha is
  spent by it); ``seq_tau2`` — the mSPRT mixing variance, fixed once per comparison;
* ``seq_estimate``/``seq_rel_estimate`` — absolute difference and relative lift at the
  decision look; ``seq_statistic`` — its z; ``seq_boundary`` — the |z| boundary
  (group-sequential); ``seq_p_value``/``seq_p_value_adjusted`` — the always-valid p-value
  and its multiple-testing adjustment (mSPRT);
* ``seq_ci_low``/``seq_ci_high`` — the sequential interval of the absolute difference at the
  decision look: the always-valid confidence sequence (mSPRT) or the repeated confidence
  interval ``seq_estimate ± seq_boundary · SE`` (group-sequential). A crossed test's interval
  excludes 0 on the side of its decision;
* ``seq_crossed``/``seq_crossed_look``/``seq_crossed_statistic`` — whether, at which look and
  with which z the test first crossed."""

LOOK_COLUMNS: tuple[str, ...] = (
    "experiment",
    "metric",
    "variant",
    "look",
    "period",
    "n_units",
    "information_fraction",
    "tau2",
    "estimate",
    "statistic",
    "boundary",
    "p_value",
    "p_value_adjusted",
    "ci_low",
    "ci_high",
)
"""The per-look table of the sequential layer (``sequential_looks``): one row per overall
comparison × look with data, ``period`` the start of the day or week of that look, behind the
report's per-look charts. ``n_units`` are the experiment's units so far (all arms),
``estimate`` the absolute difference and ``statistic`` its z at that look; ``ci_low``/
``ci_high`` the sequential interval (mSPRT confidence sequence or group-sequential repeated
confidence interval). Group-sequential rows fill ``information_fraction`` and ``boundary``
(NaN ``p_value``: the boundary decides); mSPRT rows fill ``tau2``, ``p_value`` and
``p_value_adjusted`` (NaN ``boundary`` and ``information_fraction``)."""

NONPARAMETRIC_COLUMNS: tuple[str, ...] = (
    "mw_p_value",
    "prob_superiority",
    "boot_abs_ci_low",
    "boot_abs_ci_high",
    "boot_rel_ci_low",
    "boot_rel_ci_high",
)
"""Columns the non-parametric layer adds to the rows of the metrics it is asked for (NaN on
the others): the Mann–Whitney p-value and probability of superiority, and percentile-bootstrap
intervals of the absolute and relative difference."""

MANN_WHITNEY_COLUMNS: tuple[str, ...] = (
    "experiment",
    "segment",
    "metric",
    "control",
    "variant",
    "n_control",
    "n_variant",
    "u_statistic",
    "p_value",
    "prob_superiority",
    "status",
    "message",
)
"""The table of :func:`strategies.stats.nonparametric.mann_whitney`: one row per experiment ×
segment × treatment variant of one metric (the layer keeps ``p_value`` as ``mw_p_value`` and
``prob_superiority``)."""

BOOTSTRAP_COLUMNS: tuple[str, ...] = (
    "experiment",
    "segment",
    "metric",
    "control",
    "variant",
    "boot_abs_ci_low",
    "boot_abs_ci_high",
    "boot_rel_ci_low",
    "boot_rel_ci_high",
    "n_resamples",
    "status",
    "message",
)
"""The table of :func:`strategies.stats.nonparametric.bootstrap_ci`: one row per experiment ×
segment × treatment variant of one metric, ``n_resamples`` the resamples behind the absolute
interval."""
