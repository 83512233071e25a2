"""A/B reporting steps: the HTML report, then publishing to MLflow and files (last)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.ab_testing import load_ab_config
from liftlab.mlops.publishing import write_ab_outputs
from liftlab.mlops.run_info import step_run_info
from liftlab.mlops.tracking import log_ab_run
from liftlab.reports.ab_testing import render_ab_report


@step(enable_cache=False)
def build_ab_report(
    ab_results: pd.DataFrame,
    srm_checks: pd.DataFrame,
    funnel: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    sequential_looks: pd.DataFrame,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    config: dict[str, Any],
) -> Annotated[HTMLString, "ab_report"]:
    """Uncached: the report names the run it belongs to."""
    run_info = step_run_info(data_info)
    html = render_ab_report(
        results=ab_results,
        srm=srm_checks,
        funnel=funnel,
        heterogeneity=heterogeneity,
        sequential_looks=sequential_looks,
        audits=cleaning_audit,
        validation=validation,
        config=config,
        run_info=run_info,
    )
    return HTMLString(html)


@step(experiment_tracker=True, enable_cache=False)
def publish_ab_results(
    ab_results: pd.DataFrame,
    srm_checks: pd.DataFrame,
    heterogeneity: pd.DataFrame,
    sequential_looks: pd.DataFrame,
    cleaning_audit: list[dict],
    validation: dict,
    data_info: dict,
    ab_report: HTMLString,
    config: dict[str, Any],
) -> Annotated[dict, "run_summary"]:
    """Uncached so every run appears in MLflow. Outputs are written only here, after every
    earlier step succeeded: a failed run leaves no results file and no report behind."""
    cfg = load_ab_config(config)
    extra_tables = {"heterogeneity": heterogeneity, "sequential_looks": sequential_looks}
    info = dict(data_info)
    info["rows_clean"] = validation.get("n_rows")
    run_id = log_ab_run(
        config=config,
        results=ab_results,
        srm=srm_checks,
        extra_tables=extra_tables,
        audits=cleaning_audit,
        validation=validation,
        report_html=str(ab_report),
        data_info=info,
    )
    overall = ab_results[ab_results["segment"] == "all"]
    summary = {
        "pipeline_run": get_step_context().pipeline_run.name,
        "mlflow_run_id": run_id,
        "output_dir": str(Path(cfg.output_dir).resolve()),
        "comparisons": int(len(overall)),
        "decisions": {k: int(v) for k, v in overall["decision"].value_counts().items()},
        "srm_alerts": sorted(srm_checks.loc[srm_checks["srm_detected"], "experiment"].unique()),
        "data_sha256": data_info.get("sha256"),
    }
    files = write_ab_outputs(
        cfg.output_dir,
        results=ab_results,
        srm=srm_checks,
        report_html=str(ab_report),
        summary=summary,
        extra_tables=extra_tables,
    )
    summary["files"] = {k: str(v) for k, v in files.items()}
    return summary
