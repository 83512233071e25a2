"""MLflow logging for the training pipeline: one nested run per candidate, the comparison on the
parent run, the best model as an MLflow 3 logged model with signature and input example.

Called from ZenML steps that run with the stack's MLflow experiment tracker, so the parent run
(one per pipeline run, shared by every tracked step) is already active.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from liftlab.mlops.tracking import flatten_params, git_commit
from liftlab.plots.style import figure_to_png

MODEL_ARTIFACT_NAME = "model"


def _active_run():  # noqa: ANN202
    import mlflow

    return mlflow.active_run() or mlflow.start_run()


def _log_figure(fig: Any, name: str) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        figure_to_png(fig, path)
        mlflow.log_artifact(str(path), artifact_path="plots")


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number == number and abs(number) != float("inf"):
            out[key] = number
    return out


def log_candidate_run(
    *,
    row: Mapping[str, Any],
    holdout: pd.DataFrame,
    importance: pd.DataFrame,
    config_params: Mapping[str, str],
) -> str:
    """One nested run for one candidate: its parameters, CV and holdout metrics, and the three
    diagnostic plots (predicted vs actual, residuals, feature importance) on the holdout."""
    import mlflow

    from liftlab.plots import training as model_plots

    label = str(row["candidate"])
    with mlflow.start_run(run_name=label, nested=True) as child:
        params = {"candidate": label, "model": str(row["model"])}
        try:
            model_params = json.loads(str(row.get("params") or "{}"))
        except json.JSONDecodeError:
            model_params = {}
        params.update({f"model.{k}": str(v)[:500] for k, v in model_params.items()})
        params.update({k: v for k, v in config_params.items() if k in ("target", "split", "seed")})
        mlflow.log_params(params)
        metric_names = [c for c in row if str(c).startswith(("cv_", "holdout_"))]
        metrics = _finite({c: row[c] for c in metric_names})
        metrics.update(_finite({"rank": row.get("rank"), "fit_seconds": row.get("fit_seconds")}))
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"liftlab.candidate": label, "liftlab.is_best": str(bool(row["is_best"]))})
        _log_figure(
            model_plots.predicted_vs_actual(
                holdout["actual"], holdout["predicted"], title=f"{label}: holdout"
            ),
            "predicted_vs_actual.png",
        )
        _log_figure(
            model_plots.residuals_plot(
                holdout["actual"], holdout["predicted"], title=f"{label}: residuals"
            ),
            "residuals.png",
        )
        _log_figure(
            model_plots.feature_importance_chart(importance, title=f"{label}: importance"),
            "feature_importance.png",
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "feature_importance.csv"
            importance.to_csv(path, index=False)
            mlflow.log_artifact(str(path))
        return child.info.run_id


def log_training_parent(
    *,
    config: Mapping[str, Any],
    comparison: pd.DataFrame,
    data_info: Mapping[str, Any],
    split_summary: Mapping[str, Any],
) -> str:
    """Parameters, tags, the comparison table (CSV + chart) and the best scores on the parent."""
    import mlflow

    from liftlab.plots import training as model_plots

    run = _active_run()
    mlflow.log_params(flatten_params(config))
    best = comparison.loc[comparison["is_best"]].iloc[0]
    baseline = comparison.loc[comparison["model"] == "baseline_mean"]
    metrics = {
        f"best.{c}": best[c] for c in comparison.columns if str(c).startswith(("cv_", "holdout_"))
    }
    if not baseline.empty:
        metrics.update(
            {
                f"baseline.{c}": baseline.iloc[0][c]
                for c in comparison.columns
                if str(c).startswith("holdout_")
            }
        )
    metrics.update({f"split.{k}": v for k, v in split_summary.items() if k != "strategy"})
    metrics["rows_trained"] = data_info.get("rows_clean", data_info.get("rows", 0))
    mlflow.log_metrics(_finite(metrics))
    mlflow.set_tags(
        {
            "liftlab.pipeline": "training",
            "liftlab.best_candidate": str(best["candidate"]),
            "liftlab.data_source": str(data_info.get("source", "")),
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
            "liftlab.git_commit": git_commit(),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_comparison.csv"
        comparison.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
    rank_by = str(best.get("rank_by", "poisson_deviance"))
    _log_figure(model_plots.comparison_chart(comparison, rank_by), "model_comparison.png")
    return run.info.run_id


TRUSTED_MODULES = ("sklearn.", "strategies.", "numpy.", "builtins.")


def trusted_types(model: Any) -> list[str]:
    """Types to trust when MLflow saves (and later loads) the model with skops, MLflow 3's safe
    default format. We built the model, so scikit-learn's and liftlab's own transformer types
    are trusted by name; any other type stays untrusted and logging fails with its name,
    instead of silently falling back to pickle."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return sorted(t for t in untrusted if t.startswith(TRUSTED_MODULES))


def log_best_model(
    *,
    model: Any,
    input_example: pd.DataFrame,
    metadata: Mapping[str, Any],
    metrics: Mapping[str, float],
    name: str = MODEL_ARTIFACT_NAME,
) -> dict[str, str]:
    """Log the fitted sklearn pipeline as an MLflow logged model with an inferred signature and
    an input example; link its holdout metrics to it. Returns ``model_id`` and ``model_uri``."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # "integer columns cannot hold missing values": liftlab checks inputs itself before
        # scoring (strategies.model_inputs) and names such columns in a clear error.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(input_example, model.predict(input_example))
    info = mlflow.sklearn.log_model(
        model,
        name=name,
        signature=signature,
        input_example=input_example,
        metadata=dict(metadata),
        serialization_format="skops",
        skops_trusted_types=trusted_types(model),
    )
    mlflow.log_metrics(_finite(metrics), model_id=info.model_id)
    return {"model_id": info.model_id, "model_uri": info.model_uri}
