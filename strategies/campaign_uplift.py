"""Campaign spend uplift: bronze → silver → gold for target-vs-control campaigns.

- **Bronze** (:func:`build_bronze`): each raw CRM/POS table read as text, required columns
  checked, values standardised (trimmed ids, lower-case labels, timestamps → UTC instants,
  numbers → floats); text that does not parse is an error naming the table, column and examples.
- **Silver** (:func:`build_silver`): the SQL in :mod:`strategies.campaign_sql` — one row per
  campaign × customer with unique engagement and window/pre-period spend per category.
- **Gold** (:func:`summarise_campaigns`): per campaign and category, group sizes, engagement,
  conversion and spend per customer in each group, the incremental spend per customer with a
  Welch CI and p-value (CUPED on pre-campaign spend when enabled), total incremental revenue,
  cost, ROI uplift with a CI and a decision; plus the open → click → purchase funnel.

The statistics reuse the A/B engine (:func:`strategies.stats.run.run_ab_analysis`): a campaign is an
experiment, the group is the variant (control ``control``, treatment ``target``), spend and
conversion per category are metrics, so intervals, CUPED, SRM checks and multiple-testing
corrections follow exactly the conventions documented for A/B tests.

ROI uplift = (incremental revenue − campaign cost) / campaign cost, with incremental revenue =
incremental spend per target customer × number of target customers and cost = cost per contact ×
number of target customers. The campaign cost is fixed, so the ROI CI is the incremental-revenue
CI mapped through the same formula. Category rows use the *whole* campaign cost: their ROI answers
"would this category's extra revenue alone pay for the campaign?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from strategies.campaign_sql import (
    AMBIGUOUS_SQL,
    BRONZE_COLUMNS,
    CATEGORIES_SQL,
    CONTAMINATION_SQL,
    GROUPS_SQL,
    UNKNOWN_CAMPAIGNS_SQL,
    category_suffix,
    check_categories,
    check_groups,
    quote_identifier,
    quote_literal,
    silver_sql,
)
from strategies.errors import ConfigError, InputDataError
from strategies.ingest import check_file_header
from strategies.stats.analysis import AnalysisOptions
from strategies.stats.inputs import ABStatistics
from strategies.stats.metrics import MetricSpec
from strategies.stats.run import ABDesign, analyse_statistics, statistics_from_rows
from strategies.stats.schema import OVERALL_SEGMENT
from strategies.validation import ValidationRules
from strategies.warehouse.bronze import bronze_select, typed_columns, unparsable_values_sql

__all__ = [
    "ALL_CATEGORIES",
    "SUMMARY_COLUMNS",
    "FUNNEL_STAGES",
    "CampaignOptions",
    "bronze_rules",
    "build_bronze",
    "build_silver",
    "campaign_design",
    "campaign_metric_specs",
    "summarise_campaign_statistics",
    "summarise_campaigns",
]

ALL_CATEGORIES = "all"
_MAX_EXAMPLES = 5

SUMMARY_COLUMNS: tuple[str, ...] = (
    "campaign_id", "campaign_name", "channel", "send_at", "category", "window_days",
    "n_target", "n_control", "open_rate", "click_through_rate", "click_to_open_rate",
    "conversion_rate_target", "conversion_rate_control", "conversion_uplift",
    "conversion_uplift_ci_low", "conversion_uplift_ci_high", "conversion_p_value",
    "spend_per_customer_target", "spend_per_customer_control",
    "incremental_spend_per_customer", "incremental_spend_ci_low", "incremental_spend_ci_high",
    "p_value", "p_value_adjusted", "test", "variance_reduction",
    "incremental_revenue", "incremental_revenue_ci_low", "incremental_revenue_ci_high",
    "cost_per_contact", "campaign_cost", "roi", "roi_ci_low", "roi_ci_high",
    "decision", "roi_decision", "srm_p_value", "srm_detected", "status",
)  # fmt: skip


@dataclass(frozen=True)
class CampaignOptions:
    """How the gold table is computed (see the module docstring)."""

    window_days: int = 10
    pre_window_days: int = 30
    alpha: float = 0.05
    correction: str = "holm"
    cuped: bool = True
    control_share: float = 0.2
    control_shares: Mapping[str, float] = field(default_factory=dict)
    min_effect: float = 0.02

    def __post_init__(self) -> None:
        if not isinstance(self.window_days, int) or self.window_days < 1:
            raise ConfigError(f"window_days must be a whole number >= 1, got {self.window_days!r}")
        if not isinstance(self.pre_window_days, int) or self.pre_window_days < 1:
            raise ConfigError(
                f"pre_window_days must be a whole number >= 1, got {self.pre_window_days!r}"
            )
        for name, share in {"(default)": self.control_share, **self.control_shares}.items():
            if not 0.0 < share < 1.0:
                raise ConfigError(f"control share of {name} must be in (0, 1), got {share!r}")

    def planned_shares(self, campaigns: pd.DataFrame) -> dict[str, float]:
        """Planned control share per campaign: ``control_shares`` from the config, else the
        campaigns table's optional ``control_share`` column, else ``control_share``."""
        shares: dict[str, float] = {}
        column = campaigns["control_share"] if "control_share" in campaigns.columns else None
        for i, campaign_id in enumerate(campaigns["campaign_id"].astype(str)):
            value = self.control_share
            if column is not None:
                raw = pd.to_numeric(pd.Series([column.iloc[i]]), errors="coerce").iloc[0]
                if pd.notna(raw):
                    if not 0.0 < float(raw) < 1.0:
                        raise InputDataError(
                            f"campaigns.control_share of {campaign_id!r} must be in (0, 1), "
                            f"got {column.iloc[i]!r}"
                        )
                    value = float(raw)
            shares[campaign_id] = float(self.control_shares.get(campaign_id, value))
        return shares


# --------------------------------------------------------------------------------------------
# Bronze
# --------------------------------------------------------------------------------------------


def _frame(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """A query result as pandas through Arrow (3-4x faster than ``.df()`` for text columns;
    same dtypes)."""
    return relation.to_arrow_table().to_pandas()


def _source(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> list[str]:
    """Load the file once into table ``raw_<table>`` with every column as text; return its
    columns (every later check reads memory, not the file again)."""
    if not path.is_file():
        raise InputDataError(f"{table}: file not found: {path}")
    suffix = path.suffix.lower()
    file = quote_literal(str(path))
    if suffix == ".csv":
        reader = f"read_csv({file}, all_varchar = true, header = true)"
    elif suffix in (".parquet", ".pq"):
        reader = f"read_parquet({file})"
    else:
        raise ConfigError(f"{table}: unsupported file type {path.suffix!r} (use .csv or .parquet)")
    # a column named twice would be renamed (amount_1) and silently ignored: refuse it
    try:
        check_file_header(con, path, "csv" if suffix == ".csv" else "parquet")
    except InputDataError as exc:
        raise InputDataError(f"{table}: {exc}") from None
    try:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
    except duckdb.Error as exc:
        raise InputDataError(f"{table}: could not read {path}: {exc}") from None
    as_text = ", ".join(
        f"CAST({quote_identifier(c)} AS VARCHAR) AS {quote_identifier(c)}" for c in columns
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{table} AS SELECT {as_text} FROM {reader}")
    except duckdb.Error as exc:
        raise InputDataError(f"{table}: could not read {path}: {exc}") from None
    return columns


def build_bronze(
    paths: Mapping[str, str | Path], *, naive_timezone: str = "UTC"
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Typed bronze tables from the raw files and one audit record per table.

    ``paths`` maps each of ``campaigns``, ``profiles``, ``assignments``, ``interactions``,
    ``transactions`` to a CSV or Parquet file. Timestamps without an offset are read in
    ``naive_timezone``; all timestamps come back as UTC.
    """
    missing_tables = [t for t in BRONZE_COLUMNS if t not in paths]
    if missing_tables:
        raise ConfigError(f"no file given for table(s): {', '.join(missing_tables)}")
    unknown = sorted(set(paths) - set(BRONZE_COLUMNS))
    if unknown:
        raise ConfigError(f"unknown table(s) {unknown}; expected: {', '.join(BRONZE_COLUMNS)}")
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"SET TimeZone = {quote_literal(naive_timezone)}")
        except duckdb.Error:
            raise ConfigError(f"unknown time zone {naive_timezone!r}") from None
        tables: dict[str, pd.DataFrame] = {}
        selects: dict[str, str] = {}
        audits: list[dict[str, Any]] = []
        for table in BRONZE_COLUMNS:
            path = Path(paths[table])
            columns = _source(con, table, path)
            required = list(BRONZE_COLUMNS[table])
            absent = [c for c in required if c not in columns]
            if absent:
                raise InputDataError(
                    f"{table} ({path.name}) lacks required column(s): {', '.join(absent)} "
                    f"(has: {', '.join(columns)})"
                )
            con.execute(
                f"CREATE TABLE staged_{table} AS "
                + bronze_select(BRONZE_COLUMNS[table], columns, f"raw_{table}")
            )
            con.execute(f"DROP TABLE raw_{table}")
            for column in typed_columns(BRONZE_COLUMNS[table], required):
                bad = [
                    row[0]
                    for row in con.execute(
                        unparsable_values_sql(column, f"staged_{table}")
                    ).fetchall()
                ]
                if bad:
                    kind = BRONZE_COLUMNS[table][column]
                    raise InputDataError(
                        f"{table}.{column}: {len(bad)} value(s) are not valid {kind}s "
                        f"(examples: {', '.join(map(repr, bad[:_MAX_EXAMPLES]))})"
                    )
            select = ", ".join(quote_identifier(c) for c in columns)
            rows, distinct = con.execute(
                f"SELECT (SELECT COUNT(*) FROM staged_{table}), "
                f"(SELECT COUNT(*) FROM (SELECT DISTINCT {select} FROM staged_{table}) d)"
            ).fetchall()[0]
            selects[table] = f"SELECT {select} FROM staged_{table}"
            audits.append(
                {
                    "table": table,
                    "file": str(path),
                    "rows": int(rows),
                    "columns": columns,
                    "exact_duplicate_rows": int(rows - distinct),
                }
            )
        con.execute("SET TimeZone = 'UTC'")
        for table in BRONZE_COLUMNS:
            tables[table] = _frame(con.sql(selects[table]))
        return tables, audits
    finally:
        con.close()


def bronze_rules(table: str) -> ValidationRules:
    """The Great Expectations suite of one bronze table."""
    required = tuple(BRONZE_COLUMNS[table])
    rules: dict[str, Any] = {"required_columns": required, "not_null_columns": required}
    if table == "campaigns":
        rules.update(
            numeric_columns=("cost_per_contact",),
            non_negative_columns=("cost_per_contact",),
            unique_columns=("campaign_id",),
        )
    elif table == "assignments":
        rules["allowed_values"] = {"group": ("target", "control")}
    elif table == "interactions":
        rules["allowed_values"] = {"event": ("sent", "opened", "clicked")}
    elif table == "transactions":
        rules.update(
            numeric_columns=("amount",),
            non_negative_columns=("amount",),
            unique_columns=("transaction_id",),
        )
    elif table == "profiles":
        rules["unique_columns"] = ("customer_id",)
    return ValidationRules(**rules)


# --------------------------------------------------------------------------------------------
# Silver
# --------------------------------------------------------------------------------------------


@dataclass
class SilverResult:
    outcomes: pd.DataFrame
    categories: list[str]
    audit: dict[str, Any] = field(default_factory=dict)


def build_silver(
    tables: Mapping[str, pd.DataFrame], *, window_days: int, pre_window_days: int
) -> SilverResult:
    """Run the silver SQL (:func:`strategies.campaign_sql.silver_sql`) over bronze tables."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name in ("campaigns", "assignments", "interactions", "transactions"):
            con.register(name, tables[name])
        unknown = sorted(str(row[0]) for row in con.execute(UNKNOWN_CAMPAIGNS_SQL).fetchall())
        if unknown:
            raise InputDataError(
                f"assignments reference campaign(s) missing from campaigns: "
                f"{', '.join(unknown[:_MAX_EXAMPLES])}"
            )
        check_groups({row[0] for row in con.execute(GROUPS_SQL).fetchall()})
        categories = sorted(row[0] for row in con.execute(CATEGORIES_SQL).fetchall())
        check_categories(categories)
        outcomes = _frame(
            con.sql(
                silver_sql(categories, window_days=window_days, pre_window_days=pre_window_days)
            )
        )
        ambiguous = dict(con.execute(AMBIGUOUS_SQL).fetchall())
        contaminated = dict(con.execute(CONTAMINATION_SQL).fetchall())
    finally:
        con.close()
    audit = {
        "window_days": window_days,
        "pre_window_days": pre_window_days,
        "rows": int(len(outcomes)),
        "categories": categories,
        "ambiguous_assignments_excluded": {str(k): int(v) for k, v in ambiguous.items()},
        "contaminated_controls": {str(k): int(v) for k, v in contaminated.items()},
    }
    return SilverResult(outcomes=outcomes, categories=categories, audit=audit)


# --------------------------------------------------------------------------------------------
# Gold
# --------------------------------------------------------------------------------------------


def _metrics(categories: list[str], options: CampaignOptions) -> list[MetricSpec]:
    specs: list[MetricSpec] = []
    for suffix in [ALL_CATEGORIES, *(category_suffix(c) for c in categories)]:
        specs.append(
            MetricSpec(
                name=f"spend__{suffix}",
                type="mean",
                column=f"spend__{suffix}",
                covariate=f"pre_spend__{suffix}" if options.cuped else None,
                min_effect=options.min_effect,
            )
        )
        specs.append(
            MetricSpec(
                name=f"converted__{suffix}",
                type="proportion",
                column=f"converted__{suffix}",
                min_effect=options.min_effect,
            )
        )
    return specs


FUNNEL_STAGES: tuple[str, ...] = ("sent", "opened", "clicked", "converted__all")
"""Silver columns summed per campaign × group for the funnel and the engagement rates."""


def campaign_design() -> ABDesign:
    """A campaign is an experiment, the group its variant (control ``control``)."""
    return ABDesign(
        unit_column="customer_id",
        variant_column="group",
        control="control",
        variants=("target",),
        experiment_column="campaign_id",
    )


def campaign_metric_specs(
    categories: list[str], options: CampaignOptions
) -> tuple[list[MetricSpec], list[MetricSpec]]:
    """``(spend, conversion)`` metrics: two families, so the correction covers spend only."""
    specs = _metrics(categories, options)
    return [s for s in specs if s.type == "mean"], [s for s in specs if s.type == "proportion"]


def summarise_campaigns(
    outcomes: pd.DataFrame,
    campaigns: pd.DataFrame,
    categories: list[str],
    options: CampaignOptions,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(campaign_summary, funnel, ab_results)`` from silver rows — see the module docstring.

    The rows entry point (tests, notebooks): the rows are reduced to sufficient statistics
    with pandas and :func:`summarise_campaign_statistics` does the rest, exactly as it does
    for statistics computed in an engine."""
    if outcomes.empty:
        raise InputDataError("no assigned customers: the silver table is empty")
    design = campaign_design()
    spend_specs, conversion_specs = campaign_metric_specs(categories, options)
    spend = statistics_from_rows(outcomes, design, spend_specs, FUNNEL_STAGES)
    conversion = statistics_from_rows(outcomes, design, conversion_specs)
    return summarise_campaign_statistics(spend, conversion, campaigns, categories, options)


def summarise_campaign_statistics(
    spend_statistics: ABStatistics,
    conversion_statistics: ABStatistics,
    campaigns: pd.DataFrame,
    categories: list[str],
    options: CampaignOptions,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(campaign_summary, funnel, ab_results)`` from small tables only: the sufficient
    statistics of the spend metrics (with the funnel totals of :data:`FUNNEL_STAGES`) and of
    the conversion metrics, plus the bronze campaigns table (one row per campaign).

    Spend metrics are the family for the multiple-testing correction (conversion metrics are
    reported but do not take α away from the spend decision): the A/B engine runs twice, once
    per metric kind, so ``p_value_adjusted`` on the gold table is corrected across campaigns ×
    categories for spend only. Group means are Σy / n of the same statistics.
    """
    design = campaign_design()
    analysis = AnalysisOptions(
        control="control",
        alpha=options.alpha,
        correction=options.correction,  # type: ignore[arg-type]
        experiment_splits={
            campaign: {"control": share, "target": 1.0 - share}
            for campaign, share in options.planned_shares(campaigns).items()
        },
    )
    spend_specs, conversion_specs = campaign_metric_specs(categories, options)
    spend = analyse_statistics(spend_statistics, design, spend_specs, analysis)
    converted = analyse_statistics(conversion_statistics, design, conversion_specs, analysis)
    results = pd.concat([spend.results, converted.results], ignore_index=True)
    srm = spend.srm.set_index("experiment") if not spend.srm.empty else pd.DataFrame()
    counts = _stage_counts(spend_statistics.funnel)
    means = _group_means(pd.concat([spend_statistics.stats, conversion_statistics.stats]))

    meta = campaigns.set_index("campaign_id")
    labels = [ALL_CATEGORIES, *categories]
    rows: list[dict[str, Any]] = []
    res = results.set_index(["experiment", "metric"])
    for campaign_id in sorted(counts["campaign_id"].unique()):
        stage = counts[counts["campaign_id"] == campaign_id].set_index("group")
        n_t = int(stage["assigned"].get("target", 0))
        n_c = int(stage["assigned"].get("control", 0))
        sent = stage["sent"].get("target", 0)
        opened = stage["opened"].get("target", 0)
        clicked = stage["clicked"].get("target", 0)
        info = meta.loc[campaign_id] if campaign_id in meta.index else None
        cpc = float(info["cost_per_contact"]) if info is not None else np.nan
        cost = cpc * n_t
        for label in labels:
            suffix = category_suffix(label) if label != ALL_CATEGORIES else ALL_CATEGORIES
            s = res.loc[(campaign_id, f"spend__{suffix}")]
            c = res.loc[(campaign_id, f"converted__{suffix}")]
            incremental = float(s["abs_diff"])
            low, high = float(s["abs_ci_low"]), float(s["abs_ci_high"])
            revenue = incremental * n_t
            rev_low, rev_high = low * n_t, high * n_t
            roi = (revenue - cost) / cost if cost > 0 else np.nan
            roi_low = (rev_low - cost) / cost if cost > 0 else np.nan
            roi_high = (rev_high - cost) / cost if cost > 0 else np.nan
            if not np.isfinite(roi_low):
                roi_decision = "no cost"
            elif roi_low > 0:
                roi_decision = "profitable"
            elif roi_high < 0:
                roi_decision = "unprofitable"
            else:
                roi_decision = "inconclusive"

            def mean(metric: str, group: str, _campaign: str = campaign_id) -> float:
                return means.get((_campaign, group, metric), np.nan)

            rows.append(
                {
                    "campaign_id": campaign_id,
                    "campaign_name": info["campaign_name"] if info is not None else None,
                    "channel": info["channel"] if info is not None else None,
                    "send_at": info["send_at"] if info is not None else pd.NaT,
                    "category": label,
                    "window_days": options.window_days,
                    "n_target": n_t,
                    "n_control": n_c,
                    "open_rate": opened / sent if sent else np.nan,
                    "click_through_rate": clicked / sent if sent else np.nan,
                    "click_to_open_rate": clicked / opened if opened else np.nan,
                    "conversion_rate_target": mean(f"converted__{suffix}", "target"),
                    "conversion_rate_control": mean(f"converted__{suffix}", "control"),
                    "conversion_uplift": float(c["abs_diff"]),
                    "conversion_uplift_ci_low": float(c["abs_ci_low"]),
                    "conversion_uplift_ci_high": float(c["abs_ci_high"]),
                    "conversion_p_value": float(c["p_value"]),
                    "spend_per_customer_target": mean(f"spend__{suffix}", "target"),
                    "spend_per_customer_control": mean(f"spend__{suffix}", "control"),
                    "incremental_spend_per_customer": incremental,
                    "incremental_spend_ci_low": low,
                    "incremental_spend_ci_high": high,
                    "p_value": float(s["p_value"]),
                    "p_value_adjusted": float(s["p_value_adjusted"]),
                    "test": s["test"],
                    "variance_reduction": float(s["variance_reduction"]),
                    "incremental_revenue": revenue,
                    "incremental_revenue_ci_low": rev_low,
                    "incremental_revenue_ci_high": rev_high,
                    "cost_per_contact": cpc,
                    "campaign_cost": cost,
                    "roi": roi,
                    "roi_ci_low": roi_low,
                    "roi_ci_high": roi_high,
                    "decision": s["decision"],
                    "roi_decision": roi_decision,
                    "srm_p_value": _srm_value(srm, campaign_id, "p_value"),
                    "srm_detected": bool(_srm_value(srm, campaign_id, "srm_detected") or False),
                    "status": s["status"],
                }
            )
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return summary, _funnel(counts), results


def _stage_counts(funnel: pd.DataFrame) -> pd.DataFrame:
    """Funnel totals (long, per experiment × variant × stage) → one row per campaign × group
    with ``assigned`` and an integer count per stage of :data:`FUNNEL_STAGES`."""
    if funnel.empty:
        raise InputDataError("no assigned customers: the silver table is empty")
    wide = funnel.pivot_table(
        index=["experiment", "variant", "n_units"], columns="stage", values="total", aggfunc="sum"
    ).reset_index()
    counts = pd.DataFrame(
        {
            "campaign_id": wide["experiment"].astype(str),
            "group": wide["variant"].astype(str),
            **{
                stage: np.rint(wide[stage].to_numpy(dtype=float)).astype(np.int64)
                for stage in FUNNEL_STAGES
            },
            "assigned": wide["n_units"].astype(np.int64),
        }
    )
    return counts.sort_values(["campaign_id", "group"]).reset_index(drop=True)


def _group_means(stats: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    """``(campaign, group, metric) → Σy / n`` over the whole campaign (segment ``all``)."""
    overall = stats[stats["segment"] == OVERALL_SEGMENT]
    return {
        (str(e), str(v), str(m)): (float(y) / float(n) if n else np.nan)
        for e, v, m, y, n in zip(
            overall["experiment"],
            overall["variant"],
            overall["metric"],
            overall["sum_y"],
            overall["n"],
            strict=True,
        )
    }


def _srm_value(srm: pd.DataFrame, campaign_id: str, column: str) -> Any:
    if srm.empty or campaign_id not in srm.index or column not in srm.columns:
        return np.nan
    value = srm.loc[campaign_id, column]
    return value.iloc[0] if isinstance(value, pd.Series) else value


def _funnel(counts: pd.DataFrame) -> pd.DataFrame:
    """Customers reaching each stage per campaign and group: assigned → sent → opened → clicked
    → purchased (in the window). Control customers are never contacted, so their funnel is
    assigned → purchased; ``rate`` is the share of assigned customers."""
    long = counts.melt(
        id_vars=["campaign_id", "group", "assigned"],
        value_vars=list(FUNNEL_STAGES),
        var_name="stage",
        value_name="customers",
    )
    assigned = counts[["campaign_id", "group", "assigned"]].assign(
        stage="assigned", customers=counts["assigned"]
    )
    long = pd.concat([assigned, long], ignore_index=True)
    long["customers"] = long["customers"].astype(np.int64)
    long["stage"] = long["stage"].replace({"converted__all": "purchased"})
    order = {"assigned": 0, "sent": 1, "opened": 2, "clicked": 3, "purchased": 4}
    long = long[~((long["group"] == "control") & long["stage"].isin(["sent", "opened", "clicked"]))]
    long["rate"] = long["customers"] / long["assigned"]
    long["stage_order"] = long["stage"].map(order)
    long = long.sort_values(["campaign_id", "group", "stage_order"]).reset_index(drop=True)
    return long[["campaign_id", "group", "stage", "stage_order", "customers", "assigned", "rate"]]
