"""Run a pipeline from its config file, in this process, and return the final step's output.

Shared by ``liftlab run``, ``liftlab demo`` and scheduled retraining, so all three check the
config strictly first (``liftlab.config.registry``) and read results the same way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from liftlab.config.registry import check_run_config, load_pipeline, pipeline_for_config
from liftlab.ops.doctor import process_tags
from strategies.errors import ConfigError, LiftlabError


class PipelineRunFailed(LiftlabError):
    """A step failed; the message names the step and the error it raised."""


#: pipeline source → (last step, its summary output)
SUMMARY_OUTPUTS: dict[str, tuple[str, str]] = {
    "pipelines.ab_testing.ab_test_pipeline": ("publish_ab_results", "run_summary"),
    "pipelines.training.training_pipeline": ("register_and_promote", "registration"),
    "pipelines.batch_inference.batch_inference_pipeline": ("publish_predictions", "run_summary"),
    "pipelines.campaign_uplift.campaign_uplift_pipeline": (
        "publish_campaign_results",
        "run_summary",
    ),
    "pipelines.uplift_model.uplift_model_pipeline": ("register_uplift_models", "registration"),
    "pipelines.marketing_mix.marketing_mix_pipeline": (
        "register_marketing_mix_model",
        "registration",
    ),
    "pipelines.growth_analytics.growth_analytics_pipeline": (
        "register_persona_model",
        "registration",
    ),
}


def run_config(config: str | Path) -> dict[str, Any]:
    """Check ``config``, run its pipeline and return the summary dict of its last step
    (``{}`` for orchestrators that return no run to inspect). Raises ConfigError for a bad
    config and RuntimeError when a step fails."""
    config = Path(config)
    content = check_run_config(config)
    entry = pipeline_for_config(config)
    pipeline_obj = load_pipeline(entry.source)
    try:
        # PID and host on the MLflow run, so `liftlab doctor` can tell a live run from an orphan.
        settings = {"experiment_tracker": {"tags": process_tags()}}
        run_response = pipeline_obj.with_options(
            config_path=str(config),
            settings=settings,
            run_name=content.get("run_name") or run_name_template(entry.source, config, content),
        )()
    except RuntimeError as exc:
        if "failure in step" not in str(exc):
            raise
        raise PipelineRunFailed(failed_step_message(pipeline_obj.name) or str(exc)) from exc
    except ValueError as exc:
        if "does not support scheduling" not in str(exc):
            raise
        raise ConfigError(
            f"{config.name} has a 'schedule:' block, but the active stack's orchestrator cannot "
            "schedule (the local one never can). Locally, use `liftlab schedule install "
            "<config> --cron ...` (crontab) or `liftlab schedule run <config> --every 1d`; or "
            "run this file on a stack whose orchestrator schedules (Airflow, Kubernetes, "
            "Kubeflow, Vertex AI, SageMaker, AzureML, Databricks)."
        ) from None
    if run_response is None:  # scheduled or remote orchestrators return no run to inspect
        return {}
    step_name, output = SUMMARY_OUTPUTS.get(entry.source, ("", ""))
    step = run_response.steps.get(step_name)
    summary = dict(step.outputs[output][0].load()) if step else {}
    summary.setdefault("pipeline", entry.source.rsplit(".", 1)[-1])
    return summary


def run_name_template(source: str, config: Path, content: dict[str, Any]) -> str:
    """``<pipeline> · <config stem> · <data> · {date} {time}``: the ZenML run name, which the
    MLflow tracker also gives the MLflow run, so runs of one experiment (the demo's and the KAG
    training, say) can be told apart at a glance. ZenML fills in ``{date}``/``{time}`` (run
    names must be unique). A ``run_name:`` in the config wins."""
    pipeline = source.rsplit(".", 1)[-1].removesuffix("_pipeline")
    return f"{pipeline} · {config.stem} · {data_label(content.get('parameters') or {})} · " + (
        "{date} {time}"
    )


def data_label(parameters: dict[str, Any]) -> str:
    """A short name for the data a run reads: the stem of ``data_path``, the folder of
    ``data_dir``, the ``table``, or ``sql`` for a query over ``allowed_paths``."""
    for key in ("data_path", "data_dir"):
        if parameters.get(key):
            return Path(str(parameters[key])).stem or str(parameters[key])
    if parameters.get("table"):
        return str(parameters["table"])
    return "sql" if parameters.get("sql") else "data"


def failed_step_message(pipeline_name: str) -> str | None:
    """``step 'x' failed: <ErrorType>: <message>`` for the latest run of ``pipeline_name``, from
    the exception ZenML recorded (the local orchestrator only raises a generic RuntimeError)."""
    from zenml.client import Client

    try:
        runs = Client().list_pipeline_runs(pipeline=pipeline_name, sort_by="desc:created", size=1)
    except Exception:  # noqa: BLE001 - a diagnostic must never hide the original failure
        return None
    for run in runs.items:
        for name, step in run.steps.items():
            info = getattr(step, "exception_info", None)
            status = getattr(step.status, "value", step.status)
            if status == "failed" and info is not None:
                return f"step {name!r} failed: {_exception_text(str(info.traceback))}"
    return None


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failed|Interrupt)\w*: ")


def _exception_text(traceback: str) -> str:
    """The exception line of a traceback and the message lines after it (messages of
    validation errors span several lines), without the module path of the exception type."""
    lines = [ln for ln in traceback.splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if _EXCEPTION_LINE.match(lines[i]):
            head = lines[i].split(": ", 1)
            kind = head[0].rsplit(".", 1)[-1]
            return "\n".join([f"{kind}: {head[1]}", *lines[i + 1 :]])
    return lines[-1].strip() if lines else "unknown error"


def use_stack_mlflow() -> str:
    """Point MLflow (tracking and registry) at the active ZenML stack's MLflow, for code that
    runs outside a tracked step (the CLI, the scheduler). Returns the tracking URI."""
    import mlflow
    from zenml.client import Client

    from strategies.errors import ConfigError

    tracker = Client().active_stack.experiment_tracker
    if tracker is None or not hasattr(tracker, "get_tracking_uri"):
        raise ConfigError(
            "the active ZenML stack has no MLflow experiment tracker; run `liftlab init` first"
        )
    uri = tracker.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri
