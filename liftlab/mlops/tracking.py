"""MLflow logging for liftlab runs: parameters, one metric per result, artifacts and tags.

Called from inside a ZenML step that runs with the stack's MLflow experiment tracker, so an MLflow
run is already active; this module only decides *what* is logged and under which names, so that
runs are comparable in the MLflow UI.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

_METRIC_KEY_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. /]")
_MAX_PARAM_LENGTH = 6000  # MLflow's limit on one parameter value


def metric_key(*parts: str) -> str:
    """An MLflow metric name from free-text parts (experiment names may hold any character)."""
    return ".".join(_METRIC_KEY_UNSAFE.sub("_", str(p)).strip() or "_" for p in parts)


def flatten_params(config: Mapping[str, Any]) -> dict[str, str]:
    """Config → MLflow params: scalars as they are, lists/dicts as compact JSON (truncated to
    MLflow's length limit, which never happens for sane configs)."""
    params: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, list | dict):
            text = json.dumps(value, sort_keys=True, default=str)
        else:
            text = str(value)
        params[key] = text[:_MAX_PARAM_LENGTH]
    return params


def result_metrics(results: pd.DataFrame) -> dict[str, float]:
    """One metric per overall comparison and statistic, e.g.
    ``exp01_subject_line.B.ctr.rel_lift``, plus run-level decision counts."""
    metrics: dict[str, float] = {}
    overall = results[results["segment"] == "all"]
    for row in overall.itertuples(index=False):
        for stat in (
            "rel_lift",
            "abs_diff",
            "p_value",
            "p_value_adjusted",
            "variance_reduction",
            "prob_variant_better",
            "seq_p_value",
        ):
            if stat not in results.columns:
                continue
            value = getattr(row, stat)
            if pd.notna(value):
                metrics[metric_key(row.experiment, row.variant, row.metric, stat)] = float(value)
    for decision in ("win", "loss", "neutral", "inconclusive"):
        metrics[f"n_{decision}"] = float((overall["decision"] == decision).sum())
    metrics["n_comparisons"] = float(len(overall))
    return metrics


def git_commit(root: Path | None = None) -> str:
    """The checked-out commit of the project, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def log_ab_run(
    *,
    config: Mapping[str, Any],
    results: pd.DataFrame,
    srm: pd.DataFrame,
    audits: list[dict],
    validation: dict,
    report_html: str,
    data_info: Mapping[str, Any],
    extra_metrics: Mapping[str, float] | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """Log one A/B run to the active MLflow run and return its run id."""
    import mlflow

    run = mlflow.active_run()
    if run is None:  # called outside a tracked step: open a run of our own
        run = mlflow.start_run()
    mlflow.log_params(flatten_params(config))
    metrics = result_metrics(results)
    metrics["srm_alerts"] = float(srm.loc[srm["srm_detected"], "experiment"].nunique())
    metrics["rows_analysed"] = float(data_info.get("rows_clean", data_info.get("rows", 0)))
    metrics.update(extra_metrics or {})
    mlflow.log_metrics(metrics)
    mlflow.set_tags(
        {
            "liftlab.pipeline": "ab_test",
            "liftlab.data_source": str(data_info.get("source", "")),
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
            "liftlab.git_commit": git_commit(),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results.to_csv(folder / "ab_results.csv", index=False)
        srm.to_csv(folder / "srm.csv", index=False)
        for name, table in (extra_tables or {}).items():
            if table is not None and not table.empty:
                table.to_csv(folder / f"{name}.csv", index=False)
        (folder / "ab_report.html").write_text(report_html, encoding="utf-8")
        (folder / "cleaning_audit.json").write_text(json.dumps(audits, indent=2, default=str))
        (folder / "validation.json").write_text(json.dumps(validation, indent=2, default=str))
        mlflow.log_artifacts(str(folder))
    return run.info.run_id
