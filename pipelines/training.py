"""Conversion-prediction training pipeline: ingest → clean → validate → split → train and compare
candidates (MLflow) → decide promotion → report → publish → register and promote.

Run it with ``zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml``.
The parameters mirror :class:`liftlab.config.training.TrainingConfig` and are validated once, when
the pipeline is compiled, so a bad config fails before any step runs; each step then receives the
typed config or only the values it needs (an unrelated edit keeps a cached step cached).
Registration and the alias moves are the last step: a run that fails anywhere earlier registers
and promotes nothing.
"""

from __future__ import annotations

from typing import Any

from liftlab.config.training import load_training_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, ingest_cache_options
from steps.etl import clean_ads, ingest_data, validate_ads
from steps.promotion import decide_promotion_step, register_and_promote
from steps.reporting import build_training_report, publish_training_results
from steps.training import plan_ads_split, train_candidate_models


@strict_pipeline(cache_policy=cache_policy())
def training_pipeline(
    data_path: str | None = None,
    sql: str | None = None,
    table: str | None = None,
    allowed_paths: list[str] | None = None,
    engine: dict[str, Any] | None = None,
    target: str | None = None,
    id_column: str | None = None,
    group_column: str | None = None,
    categorical: list[str] | None = None,
    numeric: list[str] | None = None,
    features: list[dict[str, Any]] | None = None,
    split: dict[str, Any] | None = None,
    cv_folds: int | None = None,
    candidates: list[dict[str, Any]] | None = None,
    rank_by: str | None = None,
    promotion: dict[str, Any] | None = None,
    model_name: str | None = None,
    count_columns: list[str] | None = None,
    not_greater_than: dict[str, str] | None = None,
    cleaning: list[dict[str, Any]] | None = None,
    importance_repeats: int | None = None,
    skip_unchanged_data: bool | None = None,
    seed: int | None = None,
    output_dir: str | None = None,
) -> None:
    cfg = load_training_config({k: v for k, v in locals().items() if v is not None})
    source = cfg.source
    raw_data, data_info = ingest_data.with_options(**ingest_cache_options(source))(source=source)
    cleaned, audit = clean_ads(raw_data=raw_data, cleaning=cfg.cleaning, id_column=cfg.id_column)
    validation = validate_ads(clean_ads=cleaned, rules=cfg.validation_rules().to_dict())
    plan = plan_ads_split(
        clean_ads=cleaned, split=cfg.split, cv_folds=cfg.cv_folds, after="validate_ads"
    )
    comparison, holdout, importance, training_info, _ = train_candidate_models(
        clean_ads=cleaned,
        split_plan=plan,
        data_info=data_info,
        validation=validation,
        config=cfg,
    )
    decision = decide_promotion_step(
        clean_ads=cleaned,
        split_plan=plan,
        training_info=training_info,
        model_name=cfg.model_name,
        target=cfg.target,
        promotion=cfg.promotion,
    )
    report = build_training_report(
        model_comparison=comparison,
        holdout_predictions=holdout,
        feature_importance=importance,
        promotion_decision=decision,
        training_info=training_info,
        cleaning_audit=audit,
        validation=validation,
        data_info=data_info,
        config=cfg,
    )
    summary = publish_training_results(
        model_comparison=comparison,
        holdout_predictions=holdout,
        feature_importance=importance,
        promotion_decision=decision,
        training_info=training_info,
        cleaning_audit=audit,
        validation=validation,
        data_info=data_info,
        training_report=report,
        model_name=cfg.model_name,
        output_dir=cfg.output_dir,
    )
    register_and_promote(
        training_info=training_info,
        promotion_decision=decision,
        data_info=data_info,
        run_summary=summary,
        model_name=cfg.model_name,
        target=cfg.target,
    )
