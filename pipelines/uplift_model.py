"""Uplift modelling: whom to contact next. Average effects per arm → S/T/X learners compared on a
randomised holdout (Qini, AUUC, uplift@k) → targeting policy vs send-to-all / send-to-nobody →
report → files, DuckDB and MLflow → best learner per outcome registered (last step).

Run it with ``zenml pipeline run pipelines.uplift_model.uplift_model_pipeline
-c configs/uplift_hillstrom.yaml``. Parameters mirror
:class:`liftlab.config.uplift.UpliftModelConfig`, validated once when the pipeline is compiled;
steps receive the typed config or only the values they need.
"""

from __future__ import annotations

from typing import Any, Literal

from liftlab.config.uplift import load_uplift_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, ingest_cache_options
from steps.analysis import estimate_average_effects
from steps.etl import ingest_data, validate_uplift_data
from steps.promotion import decide_uplift_registration, register_uplift_models
from steps.reporting import build_uplift_report, publish_uplift_results
from steps.training import train_uplift_models
from strategies.stats.corrections import Correction


@strict_pipeline(cache_policy=cache_policy())
def uplift_model_pipeline(
    outcomes: list[dict[str, Any]],
    data_path: str | None = None,
    sql: str | None = None,
    table: str | None = None,
    allowed_paths: list[str] | None = None,
    engine: dict[str, Any] | None = None,
    id_column: str | None = None,
    treatment_column: str | None = None,
    control: str | None = None,
    arms: list[str] | None = None,
    categorical: list[str] | None = None,
    numeric: list[str] | None = None,
    learners: list[dict[str, Any]] | None = None,
    rank_by: Literal["qini_coefficient", "auuc", "uplift_at_30"] | None = None,
    test_size: float | None = None,
    policy_outcome: str | None = None,
    cost_per_contact: float | None = None,
    top_fraction: float | None = None,
    n_bootstrap: int | None = None,
    alpha: float | None = None,
    correction: Correction | None = None,
    model_name: str | None = None,
    duckdb_path: str | None = None,
    seed: int | None = None,
    output_dir: str | None = None,
) -> None:
    cfg = load_uplift_config({k: v for k, v in locals().items() if v is not None})
    source = cfg.source
    raw_data, data_info = ingest_data.with_options(**ingest_cache_options(source))(source=source)
    validation = validate_uplift_data(raw_data=raw_data, rules=cfg.validation_rules().to_dict())
    effects = estimate_average_effects(
        raw_data=raw_data,
        validation=validation,
        treatment_column=cfg.treatment_column,
        control=cfg.control,
        arms=cfg.arms,
        outcomes=cfg.effect_outcomes(),
        alpha=cfg.alpha,
        correction=cfg.correction,
        id_column=cfg.id_column,
    )
    comparison, curves, policy, profits, targeting, summary, info = train_uplift_models(
        raw_data=raw_data, validation=validation, data_info=data_info, config=cfg
    )
    decisions = decide_uplift_registration(raw_data=raw_data, uplift_info=info, config=cfg)
    report = build_uplift_report(
        average_effects=effects,
        learner_comparison=comparison,
        qini_curves=curves,
        policy_comparison=policy,
        profit_curves=profits,
        targeting_summary=summary,
        uplift_decisions=decisions,
        uplift_info=info,
        validation=validation,
        data_info=data_info,
        config=cfg,
    )
    run_summary = publish_uplift_results(
        average_effects=effects,
        learner_comparison=comparison,
        policy_comparison=policy,
        profit_curves=profits,
        uplift_targeting=targeting,
        targeting_summary=summary,
        uplift_decisions=decisions,
        uplift_info=info,
        uplift_report=report,
        policy_outcome=cfg.policy().name,
        output_dir=cfg.output_dir,
        duckdb_path=cfg.duckdb_path,
    )
    register_uplift_models(uplift_info=info, uplift_decisions=decisions, run_summary=run_summary)
