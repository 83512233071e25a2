"""Campaign spend uplift: raw CRM/POS tables → bronze → silver (attribution window) → the
statistics, all inside the configured engine (DuckDB, PostgreSQL or Spark) → gold (incremental
spend, ROI, decisions) → report → files, DuckDB warehouse and MLflow.

Run it with ``zenml pipeline run pipelines.campaign_uplift.campaign_uplift_pipeline
-c configs/campaign_uplift.yaml``. Parameters mirror
:class:`liftlab.config.campaign_uplift.CampaignUpliftConfig`; the typed config is built once when
the pipeline compiles, and the bronze and silver steps get only the values they read.
"""

from __future__ import annotations

from typing import Any

from liftlab.config.campaign_uplift import load_campaign_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, file_cache_options
from liftlab.mlops.staging import new_staging_dir, remove_staging_on_failure
from steps.analysis import summarise_campaign_uplift
from steps.etl import summarise_campaign_warehouse
from steps.reporting import build_campaign_report, publish_campaign_results
from strategies.stats.corrections import Correction


@strict_pipeline(cache_policy=cache_policy(), on_failure=remove_staging_on_failure)
def campaign_uplift_pipeline(
    data_dir: str | None = None,
    tables: dict[str, str] | None = None,
    engine: dict[str, Any] | None = None,
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
    spec = cfg.warehouse_spec()
    staging = new_staging_dir(cfg.output_dir)
    if spec.stage_rows or len(cfg.table_paths()) < len(cfg.sources()):
        # staged rows are consumed by this run's publish; engine tables change unseen
        options: dict = {"enable_cache": False}
    else:
        options = file_cache_options(list(cfg.table_paths().values()))
    engine_step = summarise_campaign_warehouse.with_options(**options)
    campaigns, bronze_audit, validation, silver_audit, spend, conversion, staged = engine_step(
        spec=spec, staging_dir=staging if spec.stage_rows else ""
    )
    summary, funnel, tests = summarise_campaign_uplift(
        spend_statistics=spend,
        conversion_statistics=conversion,
        campaigns=campaigns,
        silver_audit=silver_audit,
        config=cfg,
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
        staged_rows=staged,
        bronze_audit=bronze_audit,
        silver_audit=silver_audit,
        campaign_report=report,
        config=cfg,
    )
