"""The campaign-uplift warehouse in SQL: bronze (typed raw tables) and silver (one row per
campaign × customer with window spend) on DuckDB.

Why SQL: CRM and POS exports are joined and windowed in a warehouse in real life. The queries
here use only standard SQL that DuckDB and PostgreSQL both run (``CAST``, ``COALESCE``,
aggregate ``FILTER``, ``INTERVAL`` arithmetic, explicit ``GROUP BY``), written in DuckDB's dialect
and transpiled by :func:`strategies.engines.dialects.to_dialect` for PostgreSQL and Spark
(identifier quoting, interval literals), so the same queries run in every engine
(:mod:`strategies.warehouse.campaign_engine`).

Conventions, stated once:

- **Time.** Every timestamp is parsed to ``TIMESTAMPTZ`` (an instant). Strings carrying an offset
  (``2026-03-02T10:00:00+01:00``) keep it; strings without one are read in the configured
  ``naive_timezone`` (default UTC) — the session time zone is set before casting.
- **Attribution window.** A transaction counts for a campaign when
  ``send_at <= transaction_at < send_at + window_days × 24 h`` (half-open: a purchase exactly
  at, or one
  second after, the end of the window is out; one exactly at the send is in).
- **Pre-period** for CUPED: ``send_at - pre_window_days <= transaction_at < send_at``.
- **Unique engagement.** A customer counts once per campaign and event however often the CRM
  logged it (duplicates, re-opens); only events at or after the send count.
- **Zero, not missing.** Every assigned customer gets a row; no transaction in the window means
  spend 0 and converted 0 (``COALESCE``), never NULL.
- **Ambiguous assignments.** A customer assigned to both groups of one campaign is excluded from
  that campaign (counted in the audit); exact duplicate assignment rows collapse to one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from strategies.errors import InputDataError

BRONZE_COLUMNS: dict[str, dict[str, str]] = {
    "campaigns": {
        "campaign_id": "id",
        "campaign_name": "text",
        "channel": "label",
        "send_at": "timestamp",
        "cost_per_contact": "number",
    },
    "profiles": {"customer_id": "id"},
    "assignments": {"customer_id": "id", "campaign_id": "id", "group": "label"},
    "interactions": {
        "customer_id": "id",
        "campaign_id": "id",
        "event": "label",
        "event_at": "timestamp",
    },
    "transactions": {
        "transaction_id": "id",
        "customer_id": "id",
        "transaction_at": "timestamp",
        "amount": "number",
        "category": "label",
    },
}
"""Required columns of each raw table and how bronze standardises them: ``id`` and ``text`` are
trimmed, ``label`` trimmed and lower-cased, ``timestamp`` → TIMESTAMPTZ, ``number`` → DOUBLE.
Extra columns (e.g. profile attributes) are kept as trimmed text."""

GROUPS = ("target", "control")
EVENTS = ("sent", "opened", "clicked")


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def category_suffix(category: str) -> str:
    """A column-name-safe suffix for a category label (``"Food & drink"`` → ``food_drink``)."""
    slug = re.sub(r"[^0-9a-z]+", "_", category.lower()).strip("_")
    return slug or "blank"


def silver_sql(categories: Sequence[str], *, window_days: int, pre_window_days: int) -> str:
    """One row per campaign × customer: group, unique engagement flags, and per category (and in
    total) window spend, pre-period spend, transaction count and a converted flag.

    Reads the bronze tables ``campaigns``, ``assignments``, ``interactions``, ``transactions``.
    """
    # Days as 24-hour steps: an instant plus N * 24 h is the same on every engine whatever the
    # session time zone ('1 day' on a TIMESTAMPTZ follows the session zone's calendar).
    window = f"({int(window_days) * 24} * INTERVAL '1 hour')"
    pre = f"({int(pre_window_days) * 24} * INTERVAL '1 hour')"
    per_category: list[str] = []
    for category in categories:
        lit, suffix = quote_literal(category), category_suffix(category)
        per_category += [
            f"COALESCE(SUM(t.amount) FILTER (WHERE t.in_window AND t.category = {lit}), 0) "
            f"AS spend__{suffix}",
            f"COALESCE(SUM(t.amount) FILTER (WHERE t.in_pre AND t.category = {lit}), 0) "
            f"AS pre_spend__{suffix}",
            f"CAST(COUNT(t.amount) FILTER (WHERE t.in_window AND t.category = {lit}) > 0 AS INT) "
            f"AS converted__{suffix}",
        ]
    category_columns = ",\n       ".join(per_category)
    if category_columns:
        category_columns = ",\n       " + category_columns
    return f"""
WITH assigned AS (
    SELECT DISTINCT a.campaign_id, a.customer_id, a."group"
    FROM assignments a
),
ambiguous AS (
    SELECT campaign_id, customer_id
    FROM assigned
    GROUP BY campaign_id, customer_id
    HAVING COUNT(*) > 1
),
population AS (
    SELECT s.campaign_id, s.customer_id, s."group", c.send_at,
           c.send_at + {window} AS window_end,
           c.send_at - {pre} AS pre_start
    FROM assigned s
    JOIN campaigns c ON c.campaign_id = s.campaign_id
    WHERE NOT EXISTS (
        SELECT 1 FROM ambiguous x
        WHERE x.campaign_id = s.campaign_id AND x.customer_id = s.customer_id
    )
),
engagement AS (
    SELECT p.campaign_id, p.customer_id,
           CAST(COUNT(*) FILTER (WHERE i.event = 'sent') > 0 AS INT) AS sent,
           CAST(COUNT(*) FILTER (WHERE i.event = 'opened') > 0 AS INT) AS opened,
           CAST(COUNT(*) FILTER (WHERE i.event = 'clicked') > 0 AS INT) AS clicked
    FROM population p
    JOIN interactions i
      ON i.campaign_id = p.campaign_id AND i.customer_id = p.customer_id
     AND i.event_at >= p.send_at
    GROUP BY p.campaign_id, p.customer_id
),
scoped AS (
    SELECT p.campaign_id, p.customer_id, tr.category, tr.amount,
           (tr.transaction_at >= p.send_at AND tr.transaction_at < p.window_end) AS in_window,
           (tr.transaction_at >= p.pre_start AND tr.transaction_at < p.send_at) AS in_pre
    FROM population p
    JOIN transactions tr
      ON tr.customer_id = p.customer_id
     AND tr.transaction_at >= p.pre_start AND tr.transaction_at < p.window_end
)
SELECT p.campaign_id, p.customer_id, p."group", p.send_at,
       COALESCE(e.sent, 0) AS sent,
       COALESCE(e.opened, 0) AS opened,
       COALESCE(e.clicked, 0) AS clicked,
       COALESCE(SUM(t.amount) FILTER (WHERE t.in_window), 0) AS spend__all,
       COALESCE(SUM(t.amount) FILTER (WHERE t.in_pre), 0) AS pre_spend__all,
       CAST(COUNT(t.amount) FILTER (WHERE t.in_window) > 0 AS INT) AS converted__all,
       COUNT(t.amount) FILTER (WHERE t.in_window) AS transactions__all{category_columns}
FROM population p
LEFT JOIN engagement e ON e.campaign_id = p.campaign_id AND e.customer_id = p.customer_id
LEFT JOIN scoped t ON t.campaign_id = p.campaign_id AND t.customer_id = p.customer_id
GROUP BY p.campaign_id, p.customer_id, p."group", p.send_at, e.sent, e.opened, e.clicked
ORDER BY p.campaign_id, p.customer_id
"""


AMBIGUOUS_SQL = """
SELECT campaign_id, COUNT(*) AS customers
FROM (
    SELECT campaign_id, customer_id FROM (SELECT DISTINCT * FROM assignments) d
    GROUP BY campaign_id, customer_id HAVING COUNT(DISTINCT "group") > 1
) x
GROUP BY campaign_id
"""

CONTAMINATION_SQL = """
SELECT a.campaign_id, COUNT(DISTINCT a.customer_id) AS customers
FROM assignments a
JOIN interactions i ON i.campaign_id = a.campaign_id AND i.customer_id = a.customer_id
WHERE a."group" = 'control' AND i.event IN ('sent', 'opened', 'clicked')
  AND NOT EXISTS (
      SELECT 1 FROM assignments b
      WHERE b.campaign_id = a.campaign_id AND b.customer_id = a.customer_id
        AND b."group" <> 'control'
  )
GROUP BY a.campaign_id
"""
"""Control customers (unambiguously assigned) the CRM says were contacted: the comparison is
contaminated. Reported, not fixed: dropping them would bias the control group."""


UNKNOWN_CAMPAIGNS_SQL = """
SELECT DISTINCT a.campaign_id
FROM assignments a
LEFT JOIN campaigns c ON c.campaign_id = a.campaign_id
WHERE c.campaign_id IS NULL
"""
"""Campaigns the assignments name that the campaigns table lacks (silver refuses them)."""

GROUPS_SQL = 'SELECT DISTINCT "group" FROM assignments'
CATEGORIES_SQL = "SELECT DISTINCT category FROM transactions"


def check_categories(categories: Sequence[str]) -> None:
    """Refuse categories whose column suffixes collide (``Food & drink`` / ``food-drink``) or
    take the total's name ``all``: silver would get two columns of one name."""
    suffixes = [category_suffix(c) for c in categories]
    clash = sorted({s for s in suffixes if suffixes.count(s) > 1} | ({"all"} & set(suffixes)))
    if clash:
        raise InputDataError(
            f"transaction categories {list(categories)} collide as column names ({clash}); "
            "rename them in the source"
        )


def check_groups(groups: set[str]) -> None:
    """Both arms must be present: a campaign comparison needs targets and controls."""
    if groups != set(GROUPS):
        raise InputDataError(
            f"assignments must hold both groups 'target' and 'control'; found {sorted(groups)}"
        )
