"""The growth warehouse in SQL: bronze (typed raw tables), the analysis-ready table (one row per
experiment × user), its audit counts and the per-user persona features.

Why SQL: a growth team's sessions, exposures and orders live in a warehouse, and the
analysis-ready table is the join a data engineer would write there. Every query here is standard
SQL in CTEs written in DuckDB's dialect — ``COALESCE``, flag counting with
``COUNT(*) FILTER (WHERE …)``, ``ROW_NUMBER() OVER`` for exact duplicates, ``MIN``/``COUNT
(DISTINCT …)`` for first exposure and assignment, ``INTERVAL`` arithmetic — and is transpiled by
:func:`strategies.engines.dialects.to_dialect` for PostgreSQL and Spark, so the same text runs
on all three engines (:mod:`strategies.warehouse.growth_engine`).

The rules, stated once (the growth data contract):

- **Time.** Every timestamp is parsed to ``TIMESTAMPTZ`` (an instant). Strings with an offset
  keep it; strings without one are read in the session's zone (UTC unless told otherwise).
- **Assignment.** A user's variant in an experiment is the variant of their exposures in it
  (an exposure belongs to the user of its session). Exact duplicate exposure rows collapse to
  one; a user exposed to both arms of one experiment is excluded from it and counted
  (``users_in_both_arms``).
- **Exposure.** Only exposures inside the experiment's half-open window
  ``[start_at, end_at)`` count, for assignment too; the first exposure is the earliest of them.
- **Attribution after first exposure.** A session counts when
  ``first_exposure_at <= started_at < end_at``; an order counts when
  ``first_exposure_at <= ordered_at < end_at``, matched by ``user_id`` (an order without a
  session counts too). Sessions of an assigned user that started inside the window but before
  the first exposure are excluded and counted (``sessions_before_exposure``).
- **NULL flags count as 0** (``COALESCE``) and are counted (``null_flags``); a NULL
  ``discount`` is no discount. Revenue is net: ``amount - discount``.
- **Zero, not missing.** Every assigned user has a row; no session or order means 0.
- **Features** use only orders strictly before the feature cutoff — the earliest ``start_at``
  of all experiments — so no feature can see an exposure or its consequences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from strategies.engines.dialects import literal, quote_ident
from strategies.errors import ConfigError
from strategies.validation import ValidationRules

__all__ = [
    "ANALYSIS_COLUMNS",
    "BRONZE_COLUMNS",
    "CHECK_OK",
    "COUNT_COLUMNS",
    "DEVICES",
    "EXPERIMENT_AUDIT_SQL",
    "FEATURE_CUTOFF_SQL",
    "FLAGS",
    "GLOBAL_AUDIT_SQL",
    "RESULT_KEY",
    "RESULT_VARIANT_CHECK",
    "TABLES",
    "analysis_sql",
    "check_select",
    "device_column",
    "feature_columns",
    "features_sql",
    "input_rules",
    "result_rules",
]

TABLES: tuple[str, ...] = ("users", "experiments", "sessions", "exposures", "orders")

BRONZE_COLUMNS: dict[str, dict[str, str]] = {
    "users": {"user_id": "id", "signup_at": "timestamp", "country": "text", "device": "label"},
    "experiments": {
        "experiment_id": "id",
        "name": "text",
        "description": "text",
        "surface": "text",
        "start_at": "timestamp",
        "end_at": "timestamp",
        "control": "id",
        "treatment": "id",
    },
    "sessions": {
        "session_id": "id",
        "user_id": "id",
        "started_at": "timestamp",
        "device": "label",
        "clicked": "flag",
        "added_to_cart": "flag",
        "purchased": "flag",
    },
    "exposures": {
        "session_id": "id",
        "experiment_id": "id",
        "variant": "id",
        "exposed_at": "timestamp",
    },
    "orders": {
        "order_id": "id",
        "user_id": "id",
        "session_id": "id",
        "ordered_at": "timestamp",
        "amount": "number",
        "discount": "number",
    },
}
"""Required columns of each raw table and how bronze types them: ``id`` and ``text`` are
trimmed text (variant labels are ids: ``A`` stays ``A``), ``label`` is trimmed and lower-cased
(devices), ``timestamp`` → TIMESTAMPTZ, ``number`` → DOUBLE, ``flag`` → INTEGER (a whole number;
``1.0`` as pandas writes a float column is 1). An empty cell is NULL. Extra columns are kept
as trimmed text."""

FLAGS: tuple[str, ...] = ("clicked", "added_to_cart", "purchased")
#: Main devices of the contract; the persona features one-hot exactly these.
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")

ANALYSIS_COLUMNS: tuple[str, ...] = (
    "experiment_id",
    "user_id",
    "variant",
    "first_exposure_at",
    "sessions",
    "clicks",
    "add_to_carts",
    "purchases",
    "orders",
    "revenue",
    "clicked",
    "added_to_cart",
    "purchased",
)
"""The analysis-ready table, one row per experiment × user (the randomisation unit)."""

COUNT_COLUMNS: tuple[str, ...] = ("sessions", "clicks", "add_to_carts", "purchases", "orders")
#: The value a derived check column holds for a row that passes its rule (see check_select).
CHECK_OK = "ok"
#: Key column added to the result for its uniqueness rule (one row per experiment × user).
RESULT_KEY = "experiment_user"
#: Derived result column: the row's variant is one of its experiment's labels.
RESULT_VARIANT_CHECK = "variant_of_experiment"


# --------------------------------------------------------------------------------------------
# Validation of the inputs and of the result (Great Expectations rules)
# --------------------------------------------------------------------------------------------

_CHECK_NOTES: dict[str, dict[str, str]] = {
    "experiments": {
        "start_before_end": "start_at must be before end_at (the window is [start_at, end_at)); "
        "the examples are experiment ids",
        "arms_differ": "control and treatment must be different labels; the examples are "
        "experiment ids",
    },
    "exposures": {
        "variant_of_experiment": "variant must be the control or treatment label of its "
        "experiment in experiments (an unknown experiment fails too); the examples are "
        "'experiment_id: variant'",
    },
    "orders": {
        "amount_positive": "amount (the gross order value) must be > 0; the examples are order ids",
    },
}


def check_select(table: str, relations: Mapping[str, str] | None = None) -> str:
    """The relation the input suite of ``table`` validates: the bronze table plus one derived
    check column per rule that spans columns or tables (GE's ``row_values_in_set`` on a derived
    column, as the rules of :class:`~strategies.validation.ValidationRules` compare single
    columns, pairs with ``<=`` and no strict inequality). A check column is ``'ok'`` when the
    row passes, the offending ids when it fails, and NULL when a value it needs is missing (the
    not-null rules report that).

    ``relations`` maps table names to the relations holding their bronze rows (default: the
    table's own name; PostgreSQL's self-contained GE query names CTEs instead).
    """
    names = {t: quote_ident((relations or {}).get(t, t)) for t in TABLES}
    ok = literal(CHECK_OK)
    if table == "experiments":
        return f"""
SELECT b.*,
       CASE WHEN b.start_at IS NULL OR b.end_at IS NULL THEN NULL
            WHEN b.start_at < b.end_at THEN {ok}
            ELSE COALESCE(b.experiment_id, '(no id)') END AS start_before_end,
       CASE WHEN b.control IS NULL OR b.treatment IS NULL THEN NULL
            WHEN b.control <> b.treatment THEN {ok}
            ELSE COALESCE(b.experiment_id, '(no id)') END AS arms_differ
FROM {names["experiments"]} b
"""
    if table == "exposures":
        return f"""
SELECT b.*,
       CASE WHEN b.variant IS NULL THEN NULL
            WHEN b.variant = l.control OR b.variant = l.treatment THEN {ok}
            ELSE COALESCE(b.experiment_id, '(no id)') || ': ' || b.variant
       END AS variant_of_experiment
FROM {names["exposures"]} b
LEFT JOIN (
    SELECT experiment_id, MIN(control) AS control, MIN(treatment) AS treatment
    FROM {names["experiments"]}
    GROUP BY experiment_id
) l ON l.experiment_id = b.experiment_id
"""
    if table == "orders":
        return f"""
SELECT b.*,
       CASE WHEN b.amount IS NULL THEN NULL
            WHEN b.amount > 0 THEN {ok}
            ELSE COALESCE(b.order_id, '(no id)') END AS amount_positive
FROM {names["orders"]} b
"""
    return f"SELECT b.* FROM {names[table]} b"


def input_rules(table: str) -> ValidationRules:
    """The Great Expectations suite of one input table (on :func:`check_select`'s relation).

    Ids and timestamps are not null (a session without a start cannot be attributed); keys are
    unique; flags are 0/1 (NULL allowed: it counts as 0); ``amount > 0``,
    ``0 <= discount <= amount``, ``start_at < end_at``, a variant is one of its experiment's
    labels; devices are the contract's three.
    """
    required = tuple(BRONZE_COLUMNS[table])
    notes = _CHECK_NOTES.get(table, {})
    rules: dict = {
        "required_columns": required,
        "row_values_in_set": {c: (CHECK_OK,) for c in notes},
        "row_values_notes": dict(notes),
    }
    if table == "users":
        rules.update(
            not_null_columns=("user_id", "signup_at"),
            unique_columns=("user_id",),
            allowed_values={"device": DEVICES},
        )
    elif table == "experiments":
        rules.update(
            not_null_columns=("experiment_id", "start_at", "end_at", "control", "treatment"),
            unique_columns=("experiment_id",),
            min_rows=1,
            min_rows_reason="an analysis needs at least one experiment",
        )
    elif table == "sessions":
        rules.update(
            not_null_columns=("session_id", "user_id", "started_at"),
            unique_columns=("session_id",),
            allowed_values={flag: (0, 1) for flag in FLAGS},
        )
    elif table == "exposures":
        rules["not_null_columns"] = ("session_id", "experiment_id", "variant", "exposed_at")
    elif table == "orders":
        rules.update(
            not_null_columns=("order_id", "user_id", "ordered_at", "amount"),
            unique_columns=("order_id",),
            numeric_columns=("amount", "discount"),
            non_negative_columns=("discount",),
            ordered_pairs=(("discount", "amount"),),
        )
    return ValidationRules(**rules)


def result_rules() -> ValidationRules:
    """The suite of the analysis-ready table, validated as a pandas frame that carries two
    derived columns (:data:`RESULT_KEY` for the composite key, :data:`RESULT_VARIANT_CHECK`
    for the variant labels), added by the engine before validating."""
    return ValidationRules(
        required_columns=ANALYSIS_COLUMNS,
        not_null_columns=("experiment_id", "user_id", "variant", "first_exposure_at"),
        unique_columns=(RESULT_KEY,),
        numeric_columns=(*COUNT_COLUMNS, "revenue", *FLAGS),
        non_negative_columns=(*COUNT_COLUMNS, "revenue"),
        ordered_pairs=(
            ("clicks", "sessions"),
            ("add_to_carts", "sessions"),
            ("purchases", "sessions"),
        ),
        allowed_values={flag: (0, 1) for flag in FLAGS},
        row_values_in_set={RESULT_VARIANT_CHECK: (CHECK_OK,)},
        row_values_notes={
            RESULT_VARIANT_CHECK: "variant must be the control or treatment label of its "
            "experiment; the examples are 'experiment_id: variant'"
        },
        min_rows=1,
        min_rows_reason="no user was assigned to any experiment: check the exposures and the "
        "experiment windows",
    )


# --------------------------------------------------------------------------------------------
# The analysis-ready table and its audits
# --------------------------------------------------------------------------------------------

#: Shared CTEs: exposure rows numbered within exact duplicates, the distinct exposures with
#: their user and window, in-window assignment per experiment × user, and the population
#: (users in exactly one arm). Reads the bronze tables experiments, sessions, exposures.
_ASSIGNMENT_CTES = """
exposure_rows AS (
    SELECT x.session_id, x.experiment_id, x.variant, x.exposed_at,
           ROW_NUMBER() OVER (
               PARTITION BY x.session_id, x.experiment_id, x.variant, x.exposed_at
               ORDER BY x.exposed_at
           ) AS copy_number
    FROM exposures x
),
distinct_exposures AS (
    SELECT r.session_id, r.experiment_id, r.variant, r.exposed_at, s.user_id,
           e.start_at, e.end_at,
           (r.exposed_at >= e.start_at AND r.exposed_at < e.end_at) AS in_window
    FROM exposure_rows r
    JOIN experiments e ON e.experiment_id = r.experiment_id
    LEFT JOIN sessions s ON s.session_id = r.session_id
    WHERE r.copy_number = 1
),
assignment AS (
    SELECT experiment_id, user_id,
           MIN(variant) AS variant,
           COUNT(DISTINCT variant) AS n_variants,
           MIN(exposed_at) AS first_exposure_at,
           MIN(start_at) AS start_at,
           MIN(end_at) AS end_at
    FROM distinct_exposures
    WHERE in_window AND user_id IS NOT NULL
    GROUP BY experiment_id, user_id
),
population AS (
    SELECT experiment_id, user_id, variant, first_exposure_at, start_at, end_at
    FROM assignment
    WHERE n_variants = 1
)"""


def analysis_sql() -> str:
    """One row per experiment × assigned user with :data:`ANALYSIS_COLUMNS` (sorted by
    experiment and user). Reads the bronze tables experiments, sessions, exposures, orders."""
    flag_counts = ",\n           ".join(
        f"COUNT(*) FILTER (WHERE COALESCE(s.{flag}, 0) = 1) AS {name}"
        for flag, name in zip(FLAGS, ("clicks", "add_to_carts", "purchases"), strict=True)
    )
    return f"""
WITH {_ASSIGNMENT_CTES},
session_counts AS (
    SELECT p.experiment_id, p.user_id,
           COUNT(*) AS sessions,
           {flag_counts}
    FROM population p
    JOIN sessions s
      ON s.user_id = p.user_id
     AND s.started_at >= p.first_exposure_at AND s.started_at < p.end_at
    GROUP BY p.experiment_id, p.user_id
),
order_counts AS (
    SELECT p.experiment_id, p.user_id,
           COUNT(*) AS orders,
           SUM(o.amount - COALESCE(o.discount, 0)) AS revenue
    FROM population p
    JOIN orders o
      ON o.user_id = p.user_id
     AND o.ordered_at >= p.first_exposure_at AND o.ordered_at < p.end_at
    GROUP BY p.experiment_id, p.user_id
)
SELECT p.experiment_id, p.user_id, p.variant, p.first_exposure_at,
       COALESCE(sc.sessions, 0) AS sessions,
       COALESCE(sc.clicks, 0) AS clicks,
       COALESCE(sc.add_to_carts, 0) AS add_to_carts,
       COALESCE(sc.purchases, 0) AS purchases,
       COALESCE(oc.orders, 0) AS orders,
       COALESCE(oc.revenue, CAST(0 AS DOUBLE)) AS revenue,
       CASE WHEN COALESCE(sc.clicks, 0) > 0 THEN 1 ELSE 0 END AS clicked,
       CASE WHEN COALESCE(sc.add_to_carts, 0) > 0 THEN 1 ELSE 0 END AS added_to_cart,
       CASE WHEN COALESCE(sc.purchases, 0) > 0 THEN 1 ELSE 0 END AS purchased
FROM population p
LEFT JOIN session_counts sc ON sc.experiment_id = p.experiment_id AND sc.user_id = p.user_id
LEFT JOIN order_counts oc ON oc.experiment_id = p.experiment_id AND oc.user_id = p.user_id
ORDER BY p.experiment_id, p.user_id
"""


EXPERIMENT_AUDIT_SQL = f"""
WITH {_ASSIGNMENT_CTES},
duplicates AS (
    SELECT experiment_id, COUNT(*) AS n FROM exposure_rows WHERE copy_number > 1
    GROUP BY experiment_id
),
outside AS (
    SELECT experiment_id, COUNT(*) AS n FROM distinct_exposures WHERE NOT in_window
    GROUP BY experiment_id
),
sessionless AS (
    SELECT experiment_id, COUNT(*) AS n FROM distinct_exposures WHERE user_id IS NULL
    GROUP BY experiment_id
),
both_arms AS (
    SELECT experiment_id, COUNT(*) AS n FROM assignment WHERE n_variants > 1
    GROUP BY experiment_id
),
early_sessions AS (
    SELECT p.experiment_id, COUNT(*) AS n
    FROM population p
    JOIN sessions s
      ON s.user_id = p.user_id
     AND s.started_at >= p.start_at AND s.started_at < p.first_exposure_at
    GROUP BY p.experiment_id
),
arms AS (
    SELECT e.experiment_id,
           COUNT(*) FILTER (WHERE p.variant = e.control) AS assigned_control,
           COUNT(*) FILTER (WHERE p.variant = e.treatment) AS assigned_treatment
    FROM experiments e
    JOIN population p ON p.experiment_id = e.experiment_id
    GROUP BY e.experiment_id
)
SELECT e.experiment_id, e.control, e.treatment,
       COALESCE(d.n, 0) AS duplicate_exposure_rows,
       COALESCE(o.n, 0) AS exposures_outside_window,
       COALESCE(sl.n, 0) AS exposures_without_session,
       COALESCE(b.n, 0) AS users_in_both_arms,
       COALESCE(es.n, 0) AS sessions_before_exposure,
       COALESCE(a.assigned_control, 0) AS assigned_control,
       COALESCE(a.assigned_treatment, 0) AS assigned_treatment
FROM experiments e
LEFT JOIN duplicates d ON d.experiment_id = e.experiment_id
LEFT JOIN outside o ON o.experiment_id = e.experiment_id
LEFT JOIN sessionless sl ON sl.experiment_id = e.experiment_id
LEFT JOIN both_arms b ON b.experiment_id = e.experiment_id
LEFT JOIN early_sessions es ON es.experiment_id = e.experiment_id
LEFT JOIN arms a ON a.experiment_id = e.experiment_id
ORDER BY e.experiment_id
"""
"""Per experiment (every one, zeros included): exact duplicate exposure rows, distinct
exposures outside the window, distinct exposures whose session is not in sessions (they have
no user and are dropped), users in both arms (excluded), sessions of assigned users inside the
window but before their first exposure (excluded), and assigned users per arm."""

FEATURE_CUTOFF_SQL = "SELECT MIN(start_at) AS feature_cutoff FROM experiments"

GLOBAL_AUDIT_SQL = f"""
WITH cutoff AS ({FEATURE_CUTOFF_SQL}),
session_counts AS (
    SELECT COUNT(*) FILTER (WHERE s.clicked IS NULL) AS null_clicked,
           COUNT(*) FILTER (WHERE s.added_to_cart IS NULL) AS null_added_to_cart,
           COUNT(*) FILTER (WHERE s.purchased IS NULL) AS null_purchased,
           COUNT(*) FILTER (WHERE u.user_id IS NULL) AS sessions_unknown_user
    FROM sessions s
    LEFT JOIN (SELECT DISTINCT user_id FROM users) u ON u.user_id = s.user_id
),
order_counts AS (
    SELECT COUNT(*) FILTER (
               WHERE o.session_id IS NULL AND o.ordered_at >= c.feature_cutoff
           ) AS orders_without_session,
           COUNT(*) FILTER (WHERE u.user_id IS NULL) AS orders_unknown_user
    FROM orders o
    CROSS JOIN cutoff c
    LEFT JOIN (SELECT DISTINCT user_id FROM users) u ON u.user_id = o.user_id
)
SELECT c.feature_cutoff, sc.null_clicked, sc.null_added_to_cart, sc.null_purchased,
       oc.orders_without_session, sc.sessions_unknown_user, oc.orders_unknown_user
FROM cutoff c
CROSS JOIN session_counts sc
CROSS JOIN order_counts oc
"""
"""The feature cutoff and table-wide counts: NULL flags per flag column (counted as 0),
orders without a session from the feature cutoff on (the pre-period's order histories have no
sessions by design, so only experiment-period ones are mess), and sessions/orders whose user
is not in users (they are analysed, but get no persona features)."""


# --------------------------------------------------------------------------------------------
# Persona features
# --------------------------------------------------------------------------------------------


def device_column(device: str) -> str:
    """The one-hot column of a device label (``mobile`` → ``device_mobile``)."""
    return "device_" + (re.sub(r"[^0-9a-z]+", "_", device.lower()).strip("_") or "blank")


def feature_columns(devices: Sequence[str] = DEVICES) -> tuple[str, ...]:
    """The columns of :func:`features_sql`'s result, in order."""
    return (
        "user_id",
        "recency_days",
        "frequency",
        "monetary",
        "discount_share",
        "tenure_days",
        *(device_column(d) for d in devices),
        "has_history",
    )


def features_sql(*, pre_period_days: int, devices: Sequence[str] = DEVICES) -> str:
    """One row per user of users: the persona features of the contract from orders strictly
    before the feature cutoff (the earliest experiment start).

    ``recency_days``: days (fractional, from the instants) from the last such order to the
    cutoff; ``pre_period_days + 1`` without one. ``frequency``: their count. ``monetary``: the
    mean net value (``amount - discount``), 0 without orders. ``discount_share``: the share
    with a discount > 0, 0 without orders. ``tenure_days``: cutoff − ``signup_at`` in days,
    floored at 0 (a signup after the cutoff is not a pre-period fact). One 0/1 column per
    device, and ``has_history`` (0/1: at least one order before the cutoff).
    """
    if isinstance(pre_period_days, bool) or not isinstance(pre_period_days, int):
        raise ConfigError(f"pre_period_days must be a whole number, got {pre_period_days!r}")
    if pre_period_days < 1:
        raise ConfigError(f"pre_period_days must be at least 1, got {pre_period_days}")
    columns = [device_column(d) for d in devices]
    clash = sorted({c for c in columns if columns.count(c) > 1})
    if clash:
        raise ConfigError(f"devices {list(devices)} collide as column names ({clash})")
    one_hot = "".join(
        f"\n       CASE WHEN u.device = {literal(d)} THEN 1 ELSE 0 END AS {quote_ident(c)},"
        for d, c in zip(devices, columns, strict=True)
    )
    day = "CAST(86400 AS DOUBLE)"
    return f"""
WITH cutoff AS ({FEATURE_CUTOFF_SQL}),
pre_orders AS (
    SELECT o.user_id, o.ordered_at,
           o.amount - COALESCE(o.discount, 0) AS net,
           COALESCE(o.discount, 0) AS discount
    FROM orders o
    CROSS JOIN cutoff c
    WHERE o.ordered_at < c.feature_cutoff
),
history AS (
    SELECT user_id,
           COUNT(*) AS frequency,
           AVG(net) AS monetary,
           CAST(COUNT(*) FILTER (WHERE discount > 0) AS DOUBLE) / COUNT(*) AS discount_share,
           MAX(ordered_at) AS last_order_at
    FROM pre_orders
    GROUP BY user_id
)
SELECT u.user_id,
       CASE WHEN h.last_order_at IS NULL THEN CAST({pre_period_days + 1} AS DOUBLE)
            ELSE CAST(EPOCH(c.feature_cutoff) - EPOCH(h.last_order_at) AS DOUBLE) / {day}
       END AS recency_days,
       COALESCE(h.frequency, 0) AS frequency,
       COALESCE(h.monetary, CAST(0 AS DOUBLE)) AS monetary,
       COALESCE(h.discount_share, CAST(0 AS DOUBLE)) AS discount_share,
       GREATEST(
           CAST(EPOCH(c.feature_cutoff) - EPOCH(u.signup_at) AS DOUBLE) / {day},
           CAST(0 AS DOUBLE)
       ) AS tenure_days,{one_hot}
       CASE WHEN h.user_id IS NULL THEN 0 ELSE 1 END AS has_history
FROM users u
CROSS JOIN cutoff c
LEFT JOIN history h ON h.user_id = u.user_id
ORDER BY u.user_id
"""
