"""E-commerce growth analytics: users, experiments, sessions, exposures and orders → bronze →
the analysis-ready table (one row per experiment × user, in SQL, inside the configured engine)
→ lift per experiment → personas from pre-period features → lift per persona and
recommendations → report → files, DuckDB gold tables and MLflow → the persona model registered
(last).

Run it with ``zenml pipeline run pipelines.growth_analytics.growth_analytics_pipeline
-c configs/growth_analytics.yaml``. Parameters mirror
:class:`liftlab.config.growth_analytics.GrowthAnalyticsConfig`; the typed config is built once
when the pipeline compiles.
"""

from __future__ import annotations

from typing import Any

from liftlab.config.growth_analytics import load_growth_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, file_cache_options
from liftlab.mlops.staging import new_staging_dir, remove_staging_on_failure
from steps.analysis import analyse_growth_experiments, analyse_persona_lift, find_personas
from steps.etl import build_growth_warehouse
from steps.promotion import register_persona_model
from steps.reporting import build_growth_report_step, publish_growth_results
from strategies.stats.corrections import Correction


@strict_pipeline(cache_policy=cache_policy(), on_failure=remove_staging_on_failure)
def growth_analytics_pipeline(
    source: str | None = None,
    data_path: str | None = None,
    data_dir: str | None = None,
    tables: dict[str, str] | None = None,
    engine: dict[str, Any] | None = None,
    naive_timezone: str | None = None,
    pre_period_days: int | None = None,
    alpha: float | None = None,
    correction: Correction | None = None,
    personas: dict[str, Any] | None = None,
    persona_truth: str | None = None,
    model_name: str | None = None,
    duckdb_path: str | None = None,
    output_dir: str | None = None,
) -> None:
    cfg = load_growth_config({k: v for k, v in locals().items() if v is not None})
    files = list(cfg.table_paths().values())
    if cfg.stage_rows or len(files) < len(cfg.sources()):
        # staged rows are consumed by this run's publish; engine tables change unseen
        options: dict = {"enable_cache": False}
    else:
        options = file_cache_options(files)
    staging = new_staging_dir(cfg.output_dir) if cfg.stage_rows else ""
    analysis, features, experiments, audits, validation, bronze_audit, staged = (
        build_growth_warehouse.with_options(**options)(config=cfg, staging_dir=staging)
    )
    model, assignments, k_table, profiles, persona_summary = find_personas(
        persona_features=features, config=cfg
    )
    results, funnel = analyse_growth_experiments(
        growth_analysis_table=analysis, growth_experiments=experiments, config=cfg
    )
    persona_results, heterogeneity, recommendations = analyse_persona_lift(
        growth_analysis_table=analysis,
        persona_assignments=assignments,
        growth_experiments=experiments,
        growth_experiment_results=results,
        config=cfg,
    )
    report = build_growth_report_step(
        growth_experiment_results=results,
        growth_funnel=funnel,
        growth_experiments=experiments,
        persona_lift=persona_results,
        persona_heterogeneity=heterogeneity,
        growth_recommendations=recommendations,
        persona_k_table=k_table,
        persona_profiles=profiles,
        persona_summary=persona_summary,
        growth_audits=audits,
        growth_validation=validation,
        growth_bronze_audit=bronze_audit,
        config=cfg,
    )
    summary = publish_growth_results(
        growth_analysis_table=analysis,
        persona_assignments=assignments,
        growth_experiment_results=results,
        growth_funnel=funnel,
        persona_lift=persona_results,
        persona_heterogeneity=heterogeneity,
        growth_recommendations=recommendations,
        persona_profiles=profiles,
        persona_summary=persona_summary,
        growth_audits=audits,
        growth_report=report,
        staged_rows=staged,
        config=cfg,
    )
    register_persona_model(
        persona_model=model,
        persona_features=features,
        persona_summary=persona_summary,
        run_summary=summary,
        config=cfg,
    )
