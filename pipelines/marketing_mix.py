"""Marketing mix: weekly sales and spend per channel → Great Expectations suite → lift tests
(a CSV or liftlab's own campaign experiments) → calibrated fit, moving-block bootstrap, rolling
CV, budget optimiser → report → files, DuckDB gold tables and MLflow → champion/challenger and
registration (last).

Run it with ``zenml pipeline run pipelines.marketing_mix.marketing_mix_pipeline
-c configs/marketing_mix.yaml``. Parameters mirror
:class:`liftlab.config.marketing_mix.MarketingMixConfig`; the typed config is built once when the
pipeline compiles.
"""

from __future__ import annotations

from typing import Any

from liftlab.config.marketing_mix import load_marketing_mix_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, ingest_cache_options
from steps.analysis import analyse_marketing_mix_step
from steps.etl import ingest_data, load_lift_tests, validate_marketing_mix_data
from steps.promotion import decide_marketing_mix_promotion, register_marketing_mix_model
from steps.reporting import build_marketing_mix_report_step, publish_marketing_mix_results


@strict_pipeline(cache_policy=cache_policy())
def marketing_mix_pipeline(
    channels: dict[str, str],
    data_path: str | None = None,
    sql: str | None = None,
    table: str | None = None,
    allowed_paths: list[str] | None = None,
    engine: dict[str, Any] | None = None,
    date_column: str | None = None,
    outcome_column: str | None = None,
    outcome_label: str | None = None,
    controls: list[str] | None = None,
    adstock: str | None = None,
    saturation: str | None = None,
    channel_transforms: dict[str, Any] | None = None,
    max_lag: int | None = None,
    trend: bool | None = None,
    fourier_order: int | None = None,
    n_starts: int | None = None,
    seed: int | None = None,
    bootstrap: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
    cv: dict[str, Any] | None = None,
    budget: dict[str, Any] | None = None,
    currency: str | None = None,
    model_name: str | None = None,
    duckdb_path: str | None = None,
    output_dir: str | None = None,
) -> None:
    cfg = load_marketing_mix_config({k: v for k, v in locals().items() if v is not None})
    source = cfg.source
    raw_data, data_info = ingest_data.with_options(**ingest_cache_options(source))(source=source)
    validation = validate_marketing_mix_data(raw_data=raw_data, config=cfg)
    lift_tests, notes = load_lift_tests(config=cfg)
    result = analyse_marketing_mix_step(
        raw_data=raw_data,
        lift_tests=lift_tests,
        calibration_notes=notes,
        validation=validation,
        config=cfg,
    )
    decision = decide_marketing_mix_promotion(
        raw_data=raw_data, lift_tests=lift_tests, mmm_result=result, config=cfg
    )
    report = build_marketing_mix_report_step(mmm_result=result, validation=validation, config=cfg)
    summary = publish_marketing_mix_results(
        mmm_result=result, marketing_mix_report=report, config=cfg
    )
    register_marketing_mix_model(
        mmm_result=result,
        promotion_decision=decision,
        data_info=data_info,
        run_summary=summary,
        config=cfg,
    )
