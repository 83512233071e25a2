"""``liftlab doctor`` (issue #11 item 7): runs a killed process left running are marked failed,
live ones are not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from liftlab.mlops.paths import ProjectPaths
from liftlab.ops.doctor import (
    HOST_TAG,
    PID_TAG,
    doctor,
    mlflow_orphan_reason,
    pid_alive,
    process_tags,
    zenml_orphan_reason,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HOST = "box"


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# -- the decision rules ------------------------------------------------------------------------


def test_mlflow_rule_uses_the_recorded_process_on_this_host() -> None:
    def reason(status="RUNNING", tags=None, age=timedelta(minutes=5), alive=lambda pid: False):
        return mlflow_orphan_reason(
            status=status, tags=tags or {}, start_time=NOW - age, now=NOW, host=HOST, alive=alive
        )

    dead = {PID_TAG: "4242", HOST_TAG: HOST}
    assert "process 4242 on box" in reason(tags=dead)
    assert reason(tags=dead, alive=lambda pid: True) is None  # live: never touched
    assert reason(tags=dead, alive=lambda pid: True, age=timedelta(days=30)) is None
    assert reason(status="FINISHED", tags=dead) is None
    # no PID tag, or another host's PID: only age can tell
    assert reason() is None
    assert "no liftlab.pid tag" in reason(age=timedelta(hours=25))
    assert reason(tags={PID_TAG: "1", HOST_TAG: "elsewhere"}) is None
    assert reason(tags={PID_TAG: "1", HOST_TAG: "elsewhere"}, age=timedelta(days=2))


def test_zenml_rule_uses_the_mlflow_verdict_then_step_activity() -> None:
    def reason(status="running", steps=(), dead=(), started=timedelta(days=2)):
        return zenml_orphan_reason(
            status=status,
            name="run-1",
            start_time=NOW - started,
            step_times=steps,
            now=NOW,
            dead_mlflow_runs=dead,
        )

    assert "no step activity" in reason()
    assert "no step activity" in reason(status="initializing", steps=[None])
    assert reason(steps=[NOW - timedelta(hours=1)]) is None  # a step started an hour ago
    assert reason(started=timedelta(minutes=1)) is None
    assert "process running it is gone" in reason(started=timedelta(minutes=1), dead=["run-1"])
    assert reason(status="completed") is None
    assert reason(status="failed", dead=["run-1"]) is None


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)
    assert process_tags() == {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


# -- on a real MLflow store --------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path):
    """A project root whose MLflow store holds one experiment (runs are created through the
    client with its id, never through an active experiment)."""
    paths = ProjectPaths.from_root(tmp_path)
    paths.artifact_path.mkdir(parents=True)
    client = MlflowClient(tracking_uri=paths.mlflow_tracking_uri)
    experiment = client.create_experiment("ab_test_pipeline", (tmp_path / "a").as_uri())
    return paths, client, experiment


def test_doctor_marks_orphaned_mlflow_runs_failed_and_leaves_live_ones(project) -> None:
    paths, client, experiment = project
    host = socket.gethostname()
    old_ms = int((datetime.now(UTC) - timedelta(days=3)).timestamp() * 1000)
    killed = client.create_run(experiment, tags={PID_TAG: str(_dead_pid()), HOST_TAG: host})
    live = client.create_run(experiment, tags=process_tags(), start_time=old_ms)
    untagged_old = client.create_run(experiment, start_time=old_ms)
    untagged_new = client.create_run(experiment)
    finished = client.create_run(experiment, tags={PID_TAG: str(_dead_pid()), HOST_TAG: host})
    client.set_terminated(finished.info.run_id, status="FINISHED")

    preview = doctor(paths.root, fix=False, zenml=False)
    assert {o.run_id for o in preview} == {killed.info.run_id, untagged_old.info.run_id}
    assert client.get_run(killed.info.run_id).info.status == "RUNNING"  # dry run

    orphans = doctor(paths.root, zenml=False)
    assert {o.run_id for o in orphans} == {killed.info.run_id, untagged_old.info.run_id}
    for run_id in (killed.info.run_id, untagged_old.info.run_id):
        run = client.get_run(run_id)
        assert run.info.status == "FAILED"
        assert run.data.tags["liftlab.status"] == "failed"
        assert run.data.tags["liftlab.failure"].startswith("orphaned:")
    assert "is gone" in client.get_run(killed.info.run_id).data.tags["liftlab.failure"]
    for run_id in (live.info.run_id, untagged_new.info.run_id):
        assert client.get_run(run_id).info.status == "RUNNING"
        assert "liftlab.status" not in client.get_run(run_id).data.tags
    assert client.get_run(finished.info.run_id).info.status == "FINISHED"
    assert doctor(paths.root, zenml=False) == []  # marked runs are finished: never twice


def test_doctor_command_lists_then_marks(project, monkeypatch: pytest.MonkeyPatch) -> None:
    from liftlab.cli import app

    paths, client, experiment = project
    killed = client.create_run(
        experiment, tags={PID_TAG: str(_dead_pid()), HOST_TAG: socket.gethostname()}
    )
    monkeypatch.chdir(paths.root)
    monkeypatch.setattr("liftlab.ops.doctor.find_zenml_orphans", lambda **kwargs: [])
    runner = CliRunner()
    listed = runner.invoke(app, ["doctor", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert f"mlflow run {killed.info.run_name}: orphaned" in listed.output
    marked = runner.invoke(app, ["doctor"])
    assert "marked failed" in marked.output
    assert client.get_run(killed.info.run_id).info.status == "FAILED"
    assert "No orphaned runs." in runner.invoke(app, ["doctor"]).output
    assert mlflow.active_run() is None


def test_the_zenml_check_reads_the_store(zenml_stack) -> None:
    """The query runs against the throw-away store (nothing there is left running)."""
    from liftlab.ops.doctor import find_zenml_orphans

    assert find_zenml_orphans(now=datetime.now(UTC), dead_mlflow_runs=[]) == []
