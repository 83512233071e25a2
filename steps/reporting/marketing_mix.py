"""Marketing-mix reporting steps: the HTML report, then files, gold tables and MLflow."""

from __future__ import annotations

from typing import Annotated

from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.marketing_mix import MarketingMixConfig
from liftlab.mlops.publishing import publish_marketing_mix_run
from liftlab.mlops.run_info import step_run_info
from liftlab.mlops.tracking import active_run_id
from liftlab.reports.marketing_mix import build_marketing_mix_report
from strategies.mmm.result import MMMResult


@step(enable_cache=False)
def build_marketing_mix_report_step(
    mmm_result: MMMResult, validation: dict, config: MarketingMixConfig
) -> Annotated[HTMLString, "marketing_mix_report"]:
    """Uncached: the report names the run it belongs to."""
    html = build_marketing_mix_report(
        mmm_result,
        config=config,
        validation=validation,
        run_info=step_run_info(data_source=config.data_source),
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_marketing_mix_results(
    mmm_result: MMMResult, marketing_mix_report: HTMLString, config: MarketingMixConfig
) -> Annotated[dict, "run_summary"]:
    """Files and the ``gold_mmm_*`` tables together, all or nothing, then MLflow; a failure
    leaves the previous run's outputs and marks the MLflow run failed."""
    return publish_marketing_mix_run(
        config,
        result=mmm_result,
        report_html=str(marketing_mix_report),
        pipeline_run=get_step_context().pipeline_run.name,
        mlflow_run_id=active_run_id(),
    )
