"""``liftlab doctor``: find runs a killed process left "running" forever and mark them failed.

After ``kill -9`` (or a power cut) during a run, nothing is left to end it: the MLflow run stays
``RUNNING`` and the ZenML pipeline run stays ``running``, and both look like work in progress
for ever. The rules, applied by :func:`find_orphans` and decided by the two pure functions
:func:`mlflow_orphan_reason` and :func:`zenml_orphan_reason`:

- **MLflow run** with status ``RUNNING``. ``liftlab run`` (and ``demo`` and scheduled runs)
  tags every run it starts with the process id and host (:data:`PID_TAG`, :data:`HOST_TAG`).
  Tagged on this host: orphaned exactly when that process is gone. Untagged (started another
  way, e.g. ``zenml pipeline run``) or tagged on another host (we cannot look at its
  processes): orphaned when it started more than ``max_age`` ago.
- **ZenML pipeline run** with status ``initializing``, ``provisioning``, ``queued`` or
  ``running``. The local orchestrator records no process id, so: orphaned when the MLflow run of
  the same name was found orphaned by its PID (same run, same process), or when nothing has
  happened in it for more than ``max_age`` -- the latest of its start, any step's start or end
  and any step heartbeat (the local orchestrator sends none) is older than ``max_age``.

An orphan is marked ``FAILED``: the MLflow run gets ``liftlab.status=failed`` and
``liftlab.failure=<why>`` tags, the ZenML run (and its steps still "running") the status
``failed`` with the reason. Live runs -- a process that is still there, or recent activity --
are never touched; a recycled PID only makes the check more cautious.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from liftlab.mlops.tracking import RUN_FAILURE_TAG, RUN_STATUS_TAG

PID_TAG = "liftlab.pid"
HOST_TAG = "liftlab.host"
DEFAULT_MAX_AGE = timedelta(hours=24)
"""How long a run without a process to check may go without activity before it is orphaned."""
ZENML_ACTIVE = ("initializing", "provisioning", "queued", "running")


@dataclass(frozen=True)
class Orphan:
    """A run left running by a process that is gone, and why we think so."""

    kind: str  # "mlflow" or "zenml"
    run_id: str
    name: str
    reason: str
    process_gone: bool = False
    """Orphaned because its recorded process is gone (not merely old)."""


def process_tags() -> dict[str, str]:
    """The tags that tie an MLflow run to this process: its PID and host."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def mlflow_orphan_reason(
    *,
    status: str,
    tags: Mapping[str, str],
    start_time: datetime,
    now: datetime,
    host: str,
    max_age: timedelta = DEFAULT_MAX_AGE,
    alive: Callable[[int], bool] = pid_alive,
) -> str | None:
    """Why this MLflow run is orphaned, or None when it is finished or may still be alive."""
    if status != "RUNNING":
        return None
    pid, run_host = tags.get(PID_TAG, ""), tags.get(HOST_TAG)
    if pid.isdigit() and run_host == host:
        if alive(int(pid)):
            return None
        return f"orphaned: process {pid} on {host} that ran it is gone"
    if now - start_time > max_age:
        where = f"process {pid} on {run_host}" if pid else "no liftlab.pid tag"
        return f"orphaned: RUNNING since {start_time:%Y-%m-%d %H:%M} UTC ({where}), over {max_age}"
    return None


def zenml_orphan_reason(
    *,
    status: str,
    name: str,
    start_time: datetime,
    step_times: Iterable[datetime | None],
    now: datetime,
    dead_mlflow_runs: Iterable[str] = (),
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> str | None:
    """Why this ZenML pipeline run is orphaned, or None when finished or possibly alive.
    ``step_times``: every step's start, end and latest heartbeat (None where unknown);
    ``dead_mlflow_runs``: names of MLflow runs whose recorded process is gone."""
    if status not in ZENML_ACTIVE:
        return None
    if name in set(dead_mlflow_runs):
        return "orphaned: the process running it is gone (see its MLflow run)"
    latest = max([start_time, *(t for t in step_times if t is not None)])
    if now - latest > max_age:
        return f"orphaned: {status} with no step activity since {latest:%Y-%m-%d %H:%M} UTC"
    return None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def find_mlflow_orphans(
    tracking_uri: str, *, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE
) -> list[Orphan]:
    """RUNNING runs of every experiment in liftlab's MLflow store that are orphaned."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    if not experiments:
        return []
    host = socket.gethostname()
    found = []
    for run in client.search_runs(
        experiments, filter_string="attributes.status = 'RUNNING'", max_results=5000
    ):
        started = datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC)
        reason = mlflow_orphan_reason(
            status=run.info.status,
            tags=run.data.tags,
            start_time=started,
            now=now,
            host=host,
            max_age=max_age,
        )
        if reason:
            tags = run.data.tags
            gone = tags.get(HOST_TAG) == host and tags.get(PID_TAG, "").isdigit()
            found.append(Orphan("mlflow", run.info.run_id, run.info.run_name or "", reason, gone))
    return found


def mark_mlflow_failed(tracking_uri: str, orphan: Orphan) -> None:
    """Tag the run ``liftlab.status=failed`` with the reason and end it ``FAILED``."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    client.set_tag(orphan.run_id, RUN_STATUS_TAG, "failed")
    client.set_tag(orphan.run_id, RUN_FAILURE_TAG, orphan.reason)
    client.set_terminated(orphan.run_id, status="FAILED")


def find_zenml_orphans(
    *, now: datetime, dead_mlflow_runs: Iterable[str], max_age: timedelta = DEFAULT_MAX_AGE
) -> list[Orphan]:
    """Pipeline runs of the active ZenML store that are orphaned."""
    from zenml.client import Client

    dead = set(dead_mlflow_runs)
    found = []
    for status in ZENML_ACTIVE:
        for run in Client().list_pipeline_runs(status=status, size=1000, hydrate=True).items:
            times = []
            for step in run.steps.values():
                times += [_utc(step.start_time), _utc(step.end_time)]
                times.append(_utc(getattr(step, "latest_heartbeat", None)))
            reason = zenml_orphan_reason(
                status=str(getattr(run.status, "value", run.status)),
                name=run.name,
                start_time=_utc(run.start_time or run.created),
                step_times=times,
                now=now,
                dead_mlflow_runs=dead,
                max_age=max_age,
            )
            if reason:
                found.append(Orphan("zenml", str(run.id), run.name, reason))
    return found


def mark_zenml_failed(orphan: Orphan) -> None:
    """Set the pipeline run, and each of its steps still running, to ``failed``."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate, StepRunUpdate

    client = Client()
    run = client.get_pipeline_run(orphan.run_id)
    for step in run.steps.values():
        if str(getattr(step.status, "value", step.status)) in ZENML_ACTIVE:
            client.zen_store.update_run_step(
                step.id,
                StepRunUpdate(status=ExecutionStatus.FAILED, end_time=datetime.now(UTC)),
            )
    client.zen_store.update_run(
        run.id, PipelineRunUpdate(status=ExecutionStatus.FAILED, status_reason=orphan.reason)
    )


def doctor(
    root: Path | None = None,
    *,
    fix: bool = True,
    max_age: timedelta = DEFAULT_MAX_AGE,
    zenml: bool = True,
    now: datetime | None = None,
) -> list[Orphan]:
    """Find the orphaned MLflow and ZenML runs of the project at ``root`` and (with ``fix``)
    mark them failed; return them. A run is never marked twice: marked runs are finished."""
    from liftlab.mlops.paths import ProjectPaths

    now = now or datetime.now(UTC)
    paths = ProjectPaths.from_root(root)
    orphans: list[Orphan] = []
    if paths.mlflow_db.is_file():
        orphans += find_mlflow_orphans(paths.mlflow_tracking_uri, now=now, max_age=max_age)
    dead = [o.name for o in orphans if o.process_gone]
    if zenml:
        orphans += find_zenml_orphans(now=now, dead_mlflow_runs=dead, max_age=max_age)
    if fix:
        for orphan in orphans:
            if orphan.kind == "mlflow":
                mark_mlflow_failed(paths.mlflow_tracking_uri, orphan)
            else:
                mark_zenml_failed(orphan)
    return orphans
