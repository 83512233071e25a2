"""Campaign spend uplift: raw CRM/POS tables → bronze → silver (attribution window, DuckDB SQL)
→ gold (incremental spend, ROI, decisions) → report → files, DuckDB warehouse and MLflow.

Run it with ``zenml pipeline run pipelines.campaign_uplift.campaign_uplift_pipeline
-c configs/campaign_uplift.yaml``. Parameters mirror
:class:`liftlab.config.campaign_uplift.CampaignUpliftConfig`; the typed config is built once when
the pipeline compiles, and the bronze and silver steps get only the values they read.
"""

from __future__ import annotations

from liftlab.config.campaign_uplift import load_campaign_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, file_cache_options
from steps.analysis import summarise_campaign_uplift
from steps.etl import build_silver_table, load_bronze, validate_bronze
from steps.reporting import build_campaign_report, publish_campaign_results
from strategies.stats.corrections import Correction


@strict_pipeline(cache_policy=cache_policy())
def campaign_uplift_pipeline(
    data_dir: str | None = None,
    tables: dict[str, str] | None = None,
    naive_timezone: str | None = None,
    window_days: int | None = None,
    pre_window_days: int | None = None,
    cuped: bool | None = None,
    alpha: float | None = None,
    correction: Correction | None = None,
    control_share: float | None = None,
    control_shares: dict[str, float] | None = None,
    min_effect: float | None = None,
    currency: str | None = None,
    duckdb_path: str | None = None,
    output_dir: str | None = None,
) -> None:
    cfg = load_campaign_config({k: v for k, v in locals().items() if v is not None})
    paths = cfg.table_paths()
    load = load_bronze.with_options(**file_cache_options(list(paths.values())))
    campaigns, profiles, assignments, interactions, transactions, bronze_audit = load(
        table_paths={table: str(path) for table, path in paths.items()},
        naive_timezone=cfg.naive_timezone,
    )
    validation = validate_bronze(
        campaigns=campaigns,
        profiles=profiles,
        assignments=assignments,
        interactions=interactions,
        transactions=transactions,
    )
    customers, silver_audit = build_silver_table(
        campaigns=campaigns,
        assignments=assignments,
        interactions=interactions,
        transactions=transactions,
        validation=validation,
        window_days=cfg.window_days,
        pre_window_days=cfg.pre_window_days,
    )
    summary, funnel, tests = summarise_campaign_uplift(
        campaign_customers=customers, campaigns=campaigns, silver_audit=silver_audit, config=cfg
    )
    report = build_campaign_report(
        campaign_summary=summary,
        campaign_funnel=funnel,
        bronze_audit=bronze_audit,
        silver_audit=silver_audit,
        validation=validation,
        config=cfg,
    )
    publish_campaign_results(
        campaign_summary=summary,
        campaign_funnel=funnel,
        campaign_tests=tests,
        campaign_customers=customers,
        campaigns=campaigns,
        profiles=profiles,
        assignments=assignments,
        interactions=interactions,
        transactions=transactions,
        bronze_audit=bronze_audit,
        silver_audit=silver_audit,
        campaign_report=report,
        config=cfg,
    )
