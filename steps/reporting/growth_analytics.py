"""Growth-analytics reporting steps: the HTML report, then files, gold tables and MLflow."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.growth_analytics import GrowthAnalyticsConfig
from liftlab.mlops.publishing import publish_growth_run
from liftlab.mlops.run_info import step_run_info
from liftlab.mlops.tracking import active_run_id
from liftlab.reports.growth_analytics import render_growth_report
from strategies.growth.personas import with_personas


@step(enable_cache=False)
def build_growth_report_step(
    growth_experiment_results: pd.DataFrame,
    growth_funnel: pd.DataFrame,
    growth_experiments: pd.DataFrame,
    persona_lift: pd.DataFrame,
    persona_heterogeneity: pd.DataFrame,
    growth_recommendations: pd.DataFrame,
    persona_k_table: pd.DataFrame,
    persona_profiles: pd.DataFrame,
    persona_summary: dict,
    growth_audits: dict,
    growth_validation: dict,
    growth_bronze_audit: list[dict],
    config: GrowthAnalyticsConfig,
) -> Annotated[HTMLString, "growth_report"]:
    """Uncached: the report names the run it belongs to."""
    recovery = persona_summary.get("recovery") or {}
    html = render_growth_report(
        results=growth_experiment_results,
        funnel=growth_funnel,
        experiments=growth_experiments,
        persona_lift=persona_lift,
        heterogeneity=persona_heterogeneity,
        recommendations=growth_recommendations,
        k_table=persona_k_table,
        clusters=pd.DataFrame(persona_summary["clusters"]),
        profiles=persona_profiles,
        structure_found=persona_summary["structure_found"],
        warnings=persona_summary["warnings"],
        ari=recovery.get("ari"),
        audits={**growth_audits, "bronze": growth_bronze_audit},
        validation=growth_validation,
        alpha=config.alpha,
        primary_metric=config.primary_metric,
        config=config,
        run_info=step_run_info(data_source=config.data_source),
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_growth_results(
    growth_analysis_table: pd.DataFrame,
    persona_assignments: pd.DataFrame,
    growth_experiment_results: pd.DataFrame,
    growth_funnel: pd.DataFrame,
    persona_lift: pd.DataFrame,
    persona_heterogeneity: pd.DataFrame,
    growth_recommendations: pd.DataFrame,
    persona_profiles: pd.DataFrame,
    persona_summary: dict,
    growth_audits: dict,
    growth_report: HTMLString,
    staged_rows: dict,
    config: GrowthAnalyticsConfig,
) -> Annotated[dict, "run_summary"]:
    """Files and the ``gold_growth_*``/``gold_person*`` tables together, all or nothing, then
    MLflow; a failure leaves the previous run's outputs and marks the MLflow run failed."""
    tables = {
        "growth_analysis_table": with_personas(growth_analysis_table, persona_assignments),
        "growth_experiment_results": growth_experiment_results,
        "growth_funnel": growth_funnel,
        "personas": persona_profiles,
        "persona_assignments": persona_assignments,
        "persona_lift": persona_lift,
        "persona_heterogeneity": persona_heterogeneity,
        "growth_recommendations": growth_recommendations,
    }
    return publish_growth_run(
        config,
        tables=tables,
        persona_summary=persona_summary,
        audits=growth_audits,
        report_html=str(growth_report),
        pipeline_run=get_step_context().pipeline_run.name,
        mlflow_run_id=active_run_id(),
        staged_rows=staged_rows,
    )
