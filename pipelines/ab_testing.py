"""A/B testing pipeline: summarise in the engine → analyse → report → publish (MLflow + files).

Run it with ``zenml pipeline run pipelines.ab_testing.ab_test_pipeline -c configs/ab_test.yaml``.
The parameters mirror :class:`liftlab.config.ab_testing.ABTestConfig`; they are validated when
the pipeline is compiled, so a bad config fails before any step runs. Each step gets the typed
config or only its part of it: the engine step (clean, validate, aggregate where the data lives;
only small tables come back) gets the engine-side spec, so a change to ``alpha`` or
``output_dir`` keeps its cache.
"""

from __future__ import annotations

from typing import Any

from liftlab.config.ab_testing import load_ab_config
from liftlab.config.zenml_run import strict_pipeline
from liftlab.mlops.caching import cache_policy, ingest_cache_options
from steps.analysis import analyse_experiments
from steps.etl import summarise_experiment_data
from steps.reporting import build_ab_report, publish_ab_results


@strict_pipeline(cache_policy=cache_policy())
def ab_test_pipeline(
    metrics: list[dict[str, Any]],
    data_path: str | None = None,
    sql: str | None = None,
    table: str | None = None,
    allowed_paths: list[str] | None = None,
    engine: dict[str, Any] | None = None,
    unit_column: str = "user_id",
    variant_column: str = "variant",
    control: str = "A",
    variants: list[str] | None = None,
    experiment_column: str | None = None,
    experiment_name: str = "experiment",
    segment_columns: list[str] | None = None,
    count_columns: list[str] | None = None,
    funnel: list[str] | None = None,
    expected_split: dict[str, float] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    correction_scope: str = "run",
    rel_ci_method: str = "fieller",
    proportion_test: str = "z",
    pooled_se: bool = True,
    continuity_correction: bool = False,
    srm_alpha: float = 0.001,
    bayesian: dict[str, Any] | None = None,
    sequential: dict[str, Any] | None = None,
    nonparametric: dict[str, Any] | None = None,
    cleaning: list[dict[str, Any]] | None = None,
    output_dir: str = "outputs/ab_test",
) -> None:
    cfg = load_ab_config({k: v for k, v in locals().items() if v is not None})
    summarise = summarise_experiment_data.with_options(**ingest_cache_options(cfg.source))
    statistics, audit, validation, data_info = summarise(spec=cfg.warehouse_spec())
    results, srm, funnel_table, heterogeneity, looks = analyse_experiments(
        ab_statistics=statistics, config=cfg
    )
    report = build_ab_report(
        ab_results=results,
        srm_checks=srm,
        funnel=funnel_table,
        heterogeneity=heterogeneity,
        sequential_looks=looks,
        cleaning_audit=audit,
        validation=validation,
        data_info=data_info,
        config=cfg,
    )
    publish_ab_results(
        ab_results=results,
        srm_checks=srm,
        funnel=funnel_table,
        heterogeneity=heterogeneity,
        sequential_looks=looks,
        cleaning_audit=audit,
        validation=validation,
        data_info=data_info,
        ab_report=report,
        config=cfg,
    )
