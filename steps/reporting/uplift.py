"""Uplift reporting steps: the HTML report, then the targeting table, files and MLflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import get_step_context, step
from zenml.types import HTMLString

from liftlab.config.uplift import load_uplift_config
from liftlab.mlops.publishing import write_duckdb_table, write_outputs
from liftlab.mlops.run_info import step_run_info
from liftlab.reports.uplift import render_uplift_report


@step(enable_cache=False)
def build_uplift_report(
    average_effects: pd.DataFrame,
    learner_comparison: pd.DataFrame,
    qini_curves: pd.DataFrame,
    policy_comparison: pd.DataFrame,
    profit_curves: pd.DataFrame,
    targeting_summary: pd.DataFrame,
    uplift_decisions: dict,
    uplift_info: dict,
    validation: dict,
    data_info: dict,
    config: dict[str, Any],
) -> Annotated[HTMLString, "uplift_report"]:
    """Uncached: the report names the run it belongs to."""
    run_info = step_run_info(data_info, mlflow_run_id=uplift_info.get("mlflow_run_id"))
    cfg = load_uplift_config(config)
    full_config = {**config, "policy_outcome": cfg.policy().name}
    return HTMLString(
        render_uplift_report(
            effects=average_effects,
            comparison=learner_comparison,
            qini_curves=qini_curves,
            policy=policy_comparison,
            profit_curves=profit_curves,
            targeting_summary=targeting_summary,
            decisions=uplift_decisions,
            validation=validation,
            config=full_config,
            run_info=run_info,
        )
    )


@step(experiment_tracker=True, enable_cache=False)
def publish_uplift_results(
    average_effects: pd.DataFrame,
    learner_comparison: pd.DataFrame,
    policy_comparison: pd.DataFrame,
    profit_curves: pd.DataFrame,
    uplift_targeting: pd.DataFrame,
    targeting_summary: pd.DataFrame,
    uplift_decisions: dict,
    uplift_info: dict,
    uplift_report: HTMLString,
    config: dict[str, Any],
) -> Annotated[dict, "run_summary"]:
    """Files (all or nothing), the ``gold_uplift_targeting`` DuckDB table, MLflow artifacts."""
    import mlflow

    cfg = load_uplift_config(config)
    policy = cfg.policy().name
    model_row = policy_comparison[
        (policy_comparison["outcome"] == policy) & (policy_comparison["policy"] == "model")
    ]
    summary = {
        "pipeline_run": get_step_context().pipeline_run.name,
        "mlflow_run_id": uplift_info.get("mlflow_run_id"),
        "best_learners": {k: v["learner"] for k, v in uplift_info["models"].items()},
        "holdout_scores": uplift_info["holdout_scores"],
        "policy_outcome": policy,
        "share_to_email": float(uplift_targeting["best_arm"].notna().mean()),
        "policy_incremental_profit_per_customer": (
            float(model_row["incremental_profit_per_customer"].iloc[0])
            if not model_row.empty
            else None
        ),
        "decisions": {k: v["summary"] for k, v in uplift_decisions.items()},
        "output_dir": str(Path(cfg.output_dir).resolve()),
    }
    files = write_outputs(
        cfg.output_dir,
        tables={
            "average_effects": average_effects,
            "learner_comparison": learner_comparison,
            "policy_comparison": policy_comparison,
            "profit_curves": profit_curves,
            "uplift_targeting": uplift_targeting,
            "targeting_summary": targeting_summary,
        },
        texts={
            "uplift_report.html": str(uplift_report),
            "run_summary.json": json.dumps(summary, indent=2, default=str),
        },
    )
    database = None
    if cfg.duckdb_path:
        database = write_duckdb_table(cfg.duckdb_path, "gold_uplift_targeting", uplift_targeting)
    with tempfile.TemporaryDirectory() as tmp:
        for name in (
            "uplift_report.html",
            "learner_comparison",
            "policy_comparison",
            "average_effects",
        ):
            path = files[name]
            target = Path(tmp) / path.name
            target.write_bytes(path.read_bytes())
            mlflow.log_artifact(str(target))
    summary["files"] = {k: str(v) for k, v in files.items()}
    summary["duckdb"] = str(database) if database else None
    return summary
