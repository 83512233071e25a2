"""MLflow logging for every liftlab pipeline, in one module: what is logged and under which
names, so runs are comparable in the MLflow UI.

Called from inside ZenML steps that run with the stack's MLflow experiment tracker, so an MLflow
run (one per pipeline run, shared by every tracked step) is already active; outside such a step
a run of our own is opened. Artifacts go straight from memory to the run (``mlflow.log_text``,
``log_dict``, ``log_figure``): no temporary files.

- names and parameters: :func:`metric_key`, :func:`flatten_params`, :func:`git_commit`
- A/B tests: :func:`log_ab_run`
- models: :func:`log_best_model` (an MLflow 3 logged model saved with skops; its types must be
  in :data:`liftlab.mlops.model_files.TRUSTED_TYPES`, see :func:`trusted_types`),
  :func:`log_candidate_run`, :func:`log_training_parent`, :func:`log_training_round`,
  :func:`log_uplift_round`
- decisions and publishing: :func:`log_promotion_decision`, :func:`log_registration`,
  :func:`log_training_outputs`, :func:`log_files`, :func:`log_inference_run`
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel

if TYPE_CHECKING:
    from strategies.training import TrainingRound
    from strategies.uplift.workflow import UpliftRun

__all__ = [
    "JSON_MODEL_PACKAGES",
    "MODEL_ARTIFACT_NAME",
    "RUN_FAILURE_TAG",
    "RUN_STATUS_TAG",
    "SKLEARN_MODEL_PACKAGES",
    "active_run_id",
    "describe_experiment",
    "failed_run_on_error",
    "flatten_params",
    "git_commit",
    "log_ab_run",
    "log_best_model",
    "log_candidate_run",
    "log_files",
    "log_inference_run",
    "log_promotion_decision",
    "log_registration",
    "log_training_outputs",
    "log_training_parent",
    "log_training_round",
    "log_uplift_round",
    "metric_key",
    "pinned_requirements",
    "result_metrics",
    "set_pipeline_tags",
    "trusted_types",
]

_METRIC_KEY_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. /]")
_MAX_PARAM_LENGTH = 6000  # MLflow's limit on one parameter value
_PNG = {"format": "png", "dpi": 110, "facecolor": "white"}
"""How plots are saved: the same rendering as :func:`liftlab.plots.style.figure_to_png`."""

MODEL_ARTIFACT_NAME = "model"
UPLIFT_LEARNER_METRICS = (
    "qini_coefficient",
    "qini_normalized",
    "auuc",
    "auuc_normalized",
    "uplift_at_10",
    "uplift_at_30",
)
"""Holdout metrics of each uplift learner's nested run, one per arm."""


# --- names and parameters -------------------------------------------------------------------


def metric_key(*parts: str) -> str:
    """An MLflow metric name from free-text parts (experiment names may hold any character)."""
    return ".".join(_METRIC_KEY_UNSAFE.sub("_", str(p)).strip() or "_" for p in parts)


def flatten_params(config: Mapping[str, Any] | BaseModel) -> dict[str, str]:
    """Config → MLflow params: scalars as they are, lists/dicts as compact JSON (truncated to
    MLflow's length limit, which never happens for sane configs). A typed config is taken in
    its JSON form, so the params are the YAML values with every default filled in."""
    if isinstance(config, BaseModel):
        config = config.model_dump(mode="json")
    params: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, list | dict):
            text = json.dumps(value, sort_keys=True, default=str)
        else:
            text = str(value)
        params[key] = text[:_MAX_PARAM_LENGTH]
    return params


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


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _active_run():  # noqa: ANN202
    """The active MLflow run, or a new one when called outside a tracked step."""
    import mlflow

    return mlflow.active_run() or mlflow.start_run()


def _log_table(table: pd.DataFrame, artifact_file: str) -> None:
    """A table as the CSV file a BI tool reads (``mlflow.log_table`` would write JSON)."""
    import mlflow

    mlflow.log_text(table.to_csv(index=False), artifact_file)


def _log_plot(fig: Any, name: str) -> None:
    import mlflow

    mlflow.log_figure(fig, f"plots/{name}", save_kwargs=_PNG)


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


# --- experiments: classic ML, described --------------------------------------------------

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
"""MLflow 3's experiment-type tag: ``custom_model_development`` makes the UI open an experiment
as classic ML (runs, metrics, models) instead of its GenAI traces view."""
CLASSIC_ML_KIND = "custom_model_development"
DESCRIPTION_TAG = "mlflow.note.content"
"""Where MLflow keeps the description of an experiment, a run or a registered model."""

EXPERIMENT_DESCRIPTIONS: dict[str, str] = {
    "ab_test": "A/B tests: one run per pipeline run with its config as parameters, one metric "
    "per comparison (`<experiment>.<variant>.<metric>.rel_lift`, `.p_value_adjusted`), the "
    "results table, the HTML report, the cleaning audit and the validation result.",
    "training": "Conversion-prediction training: one run per training round with one nested "
    "run per candidate model, the comparison table, the best model as a logged model and the "
    "promotion decision. Registered models: see Models.",
    "batch_inference": "Batch scoring with a registered model: which version scored which "
    "data, prediction totals and the predictions table.",
    "campaign_uplift": "Campaign spend uplift: target vs control spend in an attribution "
    "window, incremental revenue and ROI per campaign.",
    "uplift_model": "Uplift modelling: one nested run per outcome x learner, the best learner "
    "per outcome as a logged model, targeting policy.",
    "marketing_mix": "Marketing mix model: channel contributions, ROAS, the budget plan and "
    "the model registered for the next quarter.",
    "growth_analytics": "Website experiments, personas and who responds: per-experiment "
    "results, persona model and recommendations.",
}
"""One description per job (the ``liftlab.pipeline`` tag), shown on its experiment's page."""


def set_pipeline_tags(job: str, tags: Mapping[str, str] | None = None) -> None:
    """Tag the active run as a run of ``job`` (``liftlab.pipeline``, the git commit and
    ``tags``) and make sure its experiment is a described, classic-ML experiment.

    ZenML's MLflow tracker creates the experiment (named after the pipeline) without tags, so
    every run sets them on its own experiment: the first run of a pipeline in a fresh store
    fixes the view for every later one, whichever entry point started it."""
    import mlflow

    mlflow.set_tags({"liftlab.pipeline": job, "liftlab.git_commit": git_commit(), **(tags or {})})
    describe_experiment(mlflow.active_run().info.experiment_id, job)


def describe_experiment(experiment_id: str, job: str) -> None:
    """Set the classic-ML kind and ``job``'s description on an experiment (a tag only when it
    is missing or different, so the experiment's history is not rewritten on every run)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    wanted = {EXPERIMENT_KIND_TAG: CLASSIC_ML_KIND}
    if job in EXPERIMENT_DESCRIPTIONS:
        wanted[DESCRIPTION_TAG] = EXPERIMENT_DESCRIPTIONS[job]
    current = client.get_experiment(experiment_id).tags
    for key, value in wanted.items():
        if current.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)


# --- run status: a run that failed says so ---------------------------------------------------

RUN_STATUS_TAG = "liftlab.status"
"""``failed`` on a run that must not be used (a publish that failed, an orphan ``doctor``
found); the run's MLflow status is ``FAILED`` as well."""
RUN_FAILURE_TAG = "liftlab.failure"
"""Why the run failed, in one line."""


def active_run_id() -> str | None:
    """The id of the active MLflow run, without opening one."""
    import mlflow

    run = mlflow.active_run()
    return run.info.run_id if run else None


@contextlib.contextmanager
def failed_run_on_error() -> Iterator[None]:
    """On any error in the block: tag the active run ``liftlab.status=failed`` with the error
    as ``liftlab.failure``, end it (and every run it nests in) with status ``FAILED``, and
    re-raise. Publish functions log to MLflow last, inside this block, so a publish that fails
    leaves a run clearly marked unusable rather than one that looks complete."""
    try:
        yield
    except BaseException as exc:
        _fail_active_runs(f"{type(exc).__name__}: {exc}")
        raise


def _fail_active_runs(reason: str) -> None:
    import mlflow

    # Marking the run must never hide the error that caused it.
    with contextlib.suppress(Exception):
        if mlflow.active_run() is not None:
            mlflow.set_tags({RUN_STATUS_TAG: "failed", RUN_FAILURE_TAG: reason[:5000]})
        while mlflow.active_run() is not None:
            mlflow.end_run(status="FAILED")


# --- A/B tests ------------------------------------------------------------------------------


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


def log_ab_run(
    *,
    config: Mapping[str, Any] | BaseModel,
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

    run = _active_run()
    mlflow.log_params(flatten_params(config))
    metrics = result_metrics(results)
    metrics["srm_alerts"] = float(srm.loc[srm["srm_detected"], "experiment"].nunique())
    metrics["rows_analysed"] = float(data_info.get("rows_clean", data_info.get("rows", 0)))
    metrics.update(extra_metrics or {})
    mlflow.log_metrics(metrics)
    set_pipeline_tags(
        "ab_test",
        {
            "liftlab.engine": str(data_info.get("engine", "duckdb")),
            "liftlab.data_source": str(data_info.get("source", "")),
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
        },
    )
    _log_table(results, "ab_results.csv")
    _log_table(srm, "srm.csv")
    for name, table in (extra_tables or {}).items():
        if table is not None and not table.empty:
            _log_table(table, f"{name}.csv")
    mlflow.log_text(report_html, "ab_report.html")
    mlflow.log_text(_json(audits), "cleaning_audit.json")
    mlflow.log_dict(validation, "validation.json")
    return run.info.run_id


# --- models ---------------------------------------------------------------------------------


def trusted_types(model: Any) -> list[str]:
    """The types beyond skops' defaults that ``model`` contains, written into its ``MLmodel``
    (MLflow's own loader and ``mlflow models serve`` need them). Each must be in liftlab's
    :data:`~liftlab.mlops.model_files.TRUSTED_TYPES` (the list liftlab loads with; the
    artifact's list is never read back): a model with any other type fails here, at logging
    time, with the type's name, instead of being logged and then refused by every loader."""
    import skops.io

    from liftlab.mlops.model_files import checked_trusted_types

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return checked_trusted_types(untrusted, what=f"the {type(model).__name__} to log")


SKLEARN_MODEL_PACKAGES = ("liftlab", "numpy", "pandas", "scipy", "scikit-learn", "skops")
"""What a logged sklearn pipeline needs to load and predict (skops format, liftlab's own
transformers and learners)."""
JSON_MODEL_PACKAGES = ("liftlab", "cloudpickle", "numpy", "pandas", "scipy")
"""What liftlab's JSON pyfunc models (marketing mix, personas) need."""


def pinned_requirements(packages: Iterable[str]) -> list[str]:
    """``name==installed version`` for each package: the pip requirements MLflow would infer,
    without its inference (which imports the model in a subprocess: ~4 s per logged model)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in packages]


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
        pip_requirements=pinned_requirements(SKLEARN_MODEL_PACKAGES),
    )
    mlflow.log_metrics(_finite(metrics), model_id=info.model_id)
    return {"model_id": info.model_id, "model_uri": info.model_uri}


# --- conversion-prediction training ---------------------------------------------------------


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
        _log_plot(
            model_plots.predicted_vs_actual(
                holdout["actual"], holdout["predicted"], title=f"{label}: holdout"
            ),
            "predicted_vs_actual.png",
        )
        _log_plot(
            model_plots.residuals_plot(
                holdout["actual"], holdout["predicted"], title=f"{label}: residuals"
            ),
            "residuals.png",
        )
        _log_plot(
            model_plots.feature_importance_chart(importance, title=f"{label}: importance"),
            "feature_importance.png",
        )
        _log_table(importance, "feature_importance.csv")
        return child.info.run_id


def log_training_parent(
    *,
    params: Mapping[str, str],
    comparison: pd.DataFrame,
    data_info: Mapping[str, Any],
    split_summary: Mapping[str, Any],
) -> str:
    """Parameters, tags, the comparison table (CSV + chart) and the best scores on the parent."""
    import mlflow

    from liftlab.plots import training as model_plots

    run = _active_run()
    mlflow.log_params(dict(params))
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
    set_pipeline_tags(
        "training",
        {
            "liftlab.best_candidate": str(best["candidate"]),
            "liftlab.data_source": str(data_info.get("source", "")),
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
        },
    )
    _log_table(comparison, "model_comparison.csv")
    rank_by = str(best.get("rank_by", "poisson_deviance"))
    _log_plot(model_plots.comparison_chart(comparison, rank_by), "model_comparison.png")
    return run.info.run_id


def log_training_round(
    result: TrainingRound,
    *,
    params: Mapping[str, str],
    data_info: Mapping[str, Any],
    split_summary: Mapping[str, Any],
    model_metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """Log a whole training round: one nested run per candidate, the comparison on the parent
    run, and the best model (``model_metadata`` plus its candidate, data hash and holdout
    scores; registered only by the pipeline's last step). Returns the ``training_info`` the
    promotion and registration steps read."""
    for row in result.table.to_dict("records"):
        predictions, importance = result.diagnostics[row["candidate"]]
        log_candidate_run(row=row, holdout=predictions, importance=importance, config_params=params)
    from liftlab.mlops.model_hash import model_hash

    parent_run_id = log_training_parent(
        params=params, comparison=result.table, data_info=data_info, split_summary=split_summary
    )
    best, baseline = result.best, result.baseline
    scores = {k: float(v) for k, v in result.comparison.holdout[best].items()}
    logged = log_best_model(
        model=result.comparison.fitted[best],
        input_example=result.input_example,
        metadata={
            "liftlab": {
                **model_metadata,
                "candidate": best,
                "data_sha256": data_info.get("sha256"),
                "holdout": scores,
            }
        },
        metrics={f"holdout_{k}": v for k, v in result.comparison.holdout[best].items()},
    )
    return {
        "mlflow_run_id": parent_run_id,
        "best_candidate": best,
        "best_model": result.best_model,
        "baseline_candidate": baseline,
        "holdout_scores": scores,
        "baseline_scores": {k: float(v) for k, v in result.comparison.holdout[baseline].items()},
        "input_columns": list(result.input_columns),
        "split": dict(split_summary),
        "model_hash": model_hash(result.comparison.fitted[best]),
        **logged,
    }


def log_promotion_decision(decision: Mapping[str, Any]) -> None:
    """The decision on the training run: a 0/1 metric, the champion's holdout scores (when it
    could be scored), the verdict and summary as tags and the full record as JSON."""
    import mlflow

    metrics = {"promotion.promote": float(decision["promote"])}
    champion = decision.get("champion")
    if champion and "scores" in champion:
        metrics.update({f"champion.holdout_{k}": v for k, v in champion["scores"].items()})
    mlflow.log_metrics(metrics)
    mlflow.set_tags(
        {
            "liftlab.promotion": "promote" if decision["promote"] else "keep",
            "liftlab.promotion_summary": decision["summary"][:5000],
        }
    )
    mlflow.log_dict(dict(decision), "promotion_decision.json")


def log_registration(registration: Mapping[str, Any]) -> None:
    """Which version the run registered and which aliases it moved, as run tags."""
    import mlflow

    mlflow.set_tags(
        {
            "liftlab.registered_version": registration["version"],
            "liftlab.aliases_moved": ",".join(registration["aliases_moved"]),
        }
    )


def log_training_outputs(
    *, report_html: str, holdout_predictions: pd.DataFrame, feature_importance: pd.DataFrame
) -> None:
    """The HTML report and the best model's holdout tables on the training run."""
    import mlflow

    mlflow.log_text(report_html, "training_report.html")
    _log_table(holdout_predictions, "holdout_predictions.csv")
    _log_table(feature_importance, "feature_importance.csv")


# --- uplift modelling -----------------------------------------------------------------------


def _log_learner_run(outcome: str, learner: str, rows: pd.DataFrame) -> None:
    """One nested run per outcome × learner: its holdout metrics per arm."""
    import mlflow

    with mlflow.start_run(run_name=f"{outcome}:{learner}", nested=True):
        mlflow.set_tags({"liftlab.outcome": outcome, "liftlab.learner": learner})
        mlflow.log_params({"outcome": outcome, "learner": learner, "model": rows["model"].iloc[0]})
        metrics = {}
        for row in rows.itertuples(index=False):
            for stat in UPLIFT_LEARNER_METRICS:
                value = getattr(row, stat)
                if pd.notna(value):
                    metrics[metric_key(row.arm, stat)] = float(value)
        mlflow.log_metrics(metrics)


def log_uplift_round(
    result: UpliftRun,
    *,
    params: Mapping[str, str],
    input_example: pd.DataFrame,
    control: str,
    arms: Sequence[str],
    rank_by: str,
    data_info: Mapping[str, Any],
) -> dict[str, Any]:
    """Log an uplift-modelling round: parameters, one nested run per outcome × learner, the best
    learner per outcome as an MLflow logged model (``uplift_<outcome>``; registered only by the
    pipeline's last step), the best holdout scores and tags. Returns the ``uplift_info`` the
    registration steps read (``test_idx`` lets them score the champion on the same holdout)."""
    import mlflow

    parent = _active_run()
    mlflow.log_params(dict(params))
    for (outcome, learner), rows in result.comparison.groupby(["outcome", "learner"], sort=False):
        _log_learner_run(str(outcome), str(learner), rows)
    logged: dict[str, dict] = {}
    for outcome, model in result.models.items():
        learner = result.best[outcome]
        info = log_best_model(
            model=model,
            input_example=input_example,
            metadata={
                "liftlab": {
                    "outcome": outcome,
                    "learner": learner,
                    "control": control,
                    "arms": arms,
                }
            },
            metrics={f"holdout_{rank_by}": result.holdout_scores[outcome]},
            name=f"uplift_{outcome}",
        )
        kind = result.comparison.loc[
            (result.comparison["outcome"] == outcome) & (result.comparison["learner"] == learner),
            "model",
        ].iloc[0]
        logged[outcome] = {**info, "learner": learner, "model": str(kind)}
    mlflow.log_metrics({f"{o}.best.{rank_by}": v for o, v in result.holdout_scores.items()})
    set_pipeline_tags("uplift_model", {"liftlab.data_sha256": str(data_info.get("sha256", ""))})
    return {
        "mlflow_run_id": parent.info.run_id,
        "models": logged,
        "holdout_scores": result.holdout_scores,
        "test_idx": result.test_idx.tolist(),
    }


def log_campaign_run(
    config: BaseModel, metrics: Mapping[str, float], files: Iterable[Path]
) -> None:
    """A campaign-uplift run: the config as params, the metrics, the tags and the published
    files (summary, funnel, report) as artifacts of the active run."""
    log_job_run("campaign_uplift", config, metrics, files)


def log_job_run(
    job: str, config: BaseModel, metrics: Mapping[str, float], files: Iterable[Path]
) -> None:
    """One run of ``job``: the config as params, the metrics, the pipeline and commit tags and
    the published files as artifacts of the active run."""
    import mlflow

    mlflow.log_params(flatten_params(config))
    mlflow.log_metrics(dict(metrics))
    set_pipeline_tags(job)
    log_files(files)


def log_files(paths: Iterable[str | Path]) -> None:
    """Attach already published files to the run under their own names."""
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path))


# --- batch inference ------------------------------------------------------------------------


def log_inference_run(
    predictions: pd.DataFrame,
    *,
    prediction_column: str,
    model_ref: Mapping[str, Any],
    data_info: Mapping[str, Any],
) -> str:
    """A scoring run: which model version scored which data, prediction totals (negative
    predictions are impossible counts, so they are counted), and the predictions as CSV.
    Returns the run id."""
    import mlflow

    values = predictions[prediction_column]
    mlflow.log_params(
        {
            "model_name": model_ref["model_name"],
            "model_version": model_ref["version"],
            "model_id": model_ref["model_id"],
            "data_source": str(data_info.get("source")),
        }
    )
    mlflow.log_metrics(
        {
            "rows_scored": float(len(predictions)),
            "prediction_mean": float(values.mean()) if len(values) else 0.0,
            "prediction_sum": float(values.sum()),
            "negative_predictions": float((values < 0).sum()),
        }
    )
    set_pipeline_tags(
        "batch_inference",
        {
            "liftlab.model_uri": model_ref["uri"],
            "liftlab.data_sha256": str(data_info.get("sha256", "")),
        },
    )
    _log_table(predictions, "predictions.csv")
    return mlflow.active_run().info.run_id
