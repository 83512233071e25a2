"""Growth-analytics analysis steps: personas from the pre-period features, then the lift of
every experiment overall and per persona."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import step

from liftlab.config.growth_analytics import GrowthAnalyticsConfig
from strategies.growth.lift import experiment_lift, persona_lift
from strategies.growth.personas import fit_personas, persona_recovery


@step
def find_personas(
    persona_features: pd.DataFrame, config: GrowthAnalyticsConfig
) -> tuple[
    Annotated[dict, "persona_model"],
    Annotated[pd.DataFrame, "persona_assignments"],
    Annotated[pd.DataFrame, "persona_k_table"],
    Annotated[pd.DataFrame, "persona_profiles"],
    Annotated[dict, "persona_summary"],
]:
    """k-means personas, k chosen by bootstrap stability then silhouette; with known truth
    (simulated data) also their recovery (adjusted Rand index)."""
    result = fit_personas(persona_features, config.personas.options())
    truth = config.persona_truth_frame()
    summary = {
        "k": result.k,
        "structure_found": result.structure_found,
        "null_p_value": result.null_p_value,
        "warnings": list(result.warnings),
        "clusters": result.clusters.to_dict("records"),
        "recovery": persona_recovery(result.assignments, truth) if truth is not None else None,
    }
    return result.model.to_dict(), result.assignments, result.k_table, result.profiles, summary


@step
def analyse_growth_experiments(
    growth_analysis_table: pd.DataFrame,
    growth_experiments: pd.DataFrame,
    config: GrowthAnalyticsConfig,
) -> tuple[
    Annotated[pd.DataFrame, "growth_experiment_results"],
    Annotated[pd.DataFrame, "growth_funnel"],
]:
    """Every experiment × metric with the A/B engine (unit = user), decisions corrected
    across the run; the click → cart → purchase funnel per variant."""
    lift = experiment_lift(
        growth_analysis_table, growth_experiments, metrics=config.metrics,
        alpha=config.alpha, correction=config.correction,
        funnel_stages=config.profile.funnel_stages,
    )  # fmt: skip
    return lift.results, lift.funnel


@step
def analyse_persona_lift(
    growth_analysis_table: pd.DataFrame,
    persona_assignments: pd.DataFrame,
    growth_experiments: pd.DataFrame,
    growth_experiment_results: pd.DataFrame,
    config: GrowthAnalyticsConfig,
) -> tuple[
    Annotated[pd.DataFrame, "persona_lift"],
    Annotated[pd.DataFrame, "persona_heterogeneity"],
    Annotated[pd.DataFrame, "growth_recommendations"],
]:
    """Every experiment × persona × metric (one Benjamini–Hochberg family, intervals at the
    matching level), Cochran's Q per experiment × metric, and the recommendations worded
    from the intervals."""
    lift = persona_lift(
        growth_analysis_table, persona_assignments, growth_experiments,
        metrics=config.metrics, alpha=config.alpha, overall=growth_experiment_results,
    )  # fmt: skip
    return lift.results, lift.heterogeneity, lift.recommendations
