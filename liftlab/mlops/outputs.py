"""What the model pipelines publish when a run succeeded: the run summary each returns (and
writes as ``run_summary.json``) and the set of files it writes to ``output_dir``, all or nothing
(:func:`liftlab.mlops.publishing.write_outputs`).

Plain functions of the run's artifacts, so the publishing steps stay thin and these contracts
(file names, summary keys the CLI and scheduled retraining read) are tested without ZenML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from liftlab.mlops.publishing import write_duckdb_table, write_outputs

__all__ = [
    "UPLIFT_GOLD_TABLE",
    "UPLIFT_MLFLOW_FILES",
    "inference_run_summary",
    "training_run_summary",
    "uplift_run_summary",
    "publish_uplift_outputs",
    "write_training_outputs",
]

UPLIFT_MLFLOW_FILES = (
    "uplift_report.html",
    "learner_comparison",
    "policy_comparison",
    "average_effects",
)
"""Published uplift files also attached to the MLflow run (keys of ``files``)."""
UPLIFT_GOLD_TABLE = "gold_uplift_targeting"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


# --- training -------------------------------------------------------------------------------


def training_run_summary(
    *,
    pipeline_run: str,
    model_name: str,
    output_dir: str,
    training_info: Mapping[str, Any],
    promotion_decision: Mapping[str, Any],
    data_info: Mapping[str, Any],
) -> dict[str, Any]:
    """The training run in one dict: best candidate, its and the baseline's holdout scores,
    the promotion verdict, the data hash and where the files went."""
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": training_info["mlflow_run_id"],
        "model_name": model_name,
        "best_candidate": training_info["best_candidate"],
        "holdout_scores": training_info["holdout_scores"],
        "baseline_scores": training_info["baseline_scores"],
        "promote": promotion_decision["promote"],
        "promotion_summary": promotion_decision["summary"],
        "data_sha256": data_info.get("sha256"),
        "output_dir": str(Path(output_dir).resolve()),
    }


def write_training_outputs(
    output_dir: str,
    *,
    model_comparison: pd.DataFrame,
    holdout_predictions: pd.DataFrame,
    feature_importance: pd.DataFrame,
    report_html: str,
    promotion_decision: Mapping[str, Any],
    cleaning_audit: list[dict],
    validation: Mapping[str, Any],
    summary: Mapping[str, Any],
) -> dict[str, Path]:
    """The three tables as CSV, the report, the decision, the audit, the validation result and
    the run summary; returns ``{key: final path}``."""
    return write_outputs(
        output_dir,
        tables={
            "model_comparison": model_comparison,
            "holdout_predictions": holdout_predictions,
            "feature_importance": feature_importance,
        },
        texts={
            "training_report.html": report_html,
            "promotion_decision.json": _json(promotion_decision),
            "cleaning_audit.json": _json(cleaning_audit),
            "validation.json": _json(validation),
            "run_summary.json": _json(summary),
        },
    )


# --- uplift ---------------------------------------------------------------------------------


def uplift_run_summary(
    *,
    pipeline_run: str,
    output_dir: str,
    policy_outcome: str,
    uplift_info: Mapping[str, Any],
    uplift_decisions: Mapping[str, Mapping[str, Any]],
    policy_comparison: pd.DataFrame,
    uplift_targeting: pd.DataFrame,
) -> dict[str, Any]:
    """The uplift run in one dict: best learner and holdout score per outcome, how many
    customers the policy e-mails and what that earns per customer (holdout estimate of the
    model policy on ``policy_outcome``), and each registry decision."""
    model_row = policy_comparison[
        (policy_comparison["outcome"] == policy_outcome) & (policy_comparison["policy"] == "model")
    ]
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": uplift_info.get("mlflow_run_id"),
        "best_learners": {k: v["learner"] for k, v in uplift_info["models"].items()},
        "holdout_scores": uplift_info["holdout_scores"],
        "policy_outcome": policy_outcome,
        "share_to_email": float(uplift_targeting["best_arm"].notna().mean()),
        "policy_incremental_profit_per_customer": (
            float(model_row["incremental_profit_per_customer"].iloc[0])
            if not model_row.empty
            else None
        ),
        "decisions": {k: v["summary"] for k, v in uplift_decisions.items()},
        "output_dir": str(Path(output_dir).resolve()),
    }


def publish_uplift_outputs(
    output_dir: str,
    duckdb_path: str,
    tables: Mapping[str, pd.DataFrame],
    report_html: str,
    summary: Mapping[str, Any],
) -> dict[str, Any]:
    """Every table as CSV, the report and the run summary (all or nothing), then the
    ``gold_uplift_targeting`` table in DuckDB when ``duckdb_path`` is set. Returns what the run
    summary adds: ``files`` (``{key: path}``) and ``duckdb`` (the database path or ``None``)."""
    files = write_outputs(
        output_dir,
        tables=tables,
        texts={"uplift_report.html": report_html, "run_summary.json": _json(summary)},
    )
    database = None
    if duckdb_path:
        database = write_duckdb_table(duckdb_path, UPLIFT_GOLD_TABLE, tables["uplift_targeting"])
    return {
        "files": {k: str(v) for k, v in files.items()},
        "duckdb": str(database) if database else None,
    }


# --- batch inference ------------------------------------------------------------------------


def inference_run_summary(
    *,
    pipeline_run: str,
    mlflow_run_id: str,
    model_ref: Mapping[str, Any],
    rows_scored: int,
    files: Mapping[str, Path],
    database: Path | None,
    table: str,
) -> dict[str, Any]:
    """The scoring run in one dict: which model version scored how many rows, and where the
    predictions went (files, and the DuckDB gold table when there is one)."""
    return {
        "pipeline_run": pipeline_run,
        "mlflow_run_id": mlflow_run_id,
        "model_uri": model_ref["uri"],
        "model_version": model_ref["version"],
        "rows_scored": int(rows_scored),
        "files": {k: str(v) for k, v in files.items()},
        "duckdb": {"database": str(database), "table": table} if database else None,
    }
