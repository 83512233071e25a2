"""The servers liftlab starts bind 127.0.0.1 unless the user deliberately passes ``--host``
(DESIGN.md §7); the command lines are checked, no server is started."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.ops.serving import exposure_warning, mlflow_ui_argv, model_serve_argv

runner = CliRunner()


def _host(argv: list[str]) -> str:
    assert argv.count("--host") == 1, argv
    return argv[argv.index("--host") + 1]


def test_mlflow_ui_binds_localhost_by_default() -> None:
    argv = mlflow_ui_argv("sqlite:///x/mlflow.db")
    assert argv[:2] == ["mlflow", "ui"] and _host(argv) == "127.0.0.1"
    assert _host(mlflow_ui_argv("sqlite:///x/mlflow.db", host="0.0.0.0")) == "0.0.0.0"


def test_model_serving_binds_localhost_by_default() -> None:
    argv = model_serve_argv("/p/.liftlab/serving/m-v3", port=5002)
    assert argv[:3] == ["mlflow", "models", "serve"] and _host(argv) == "127.0.0.1"
    assert argv[argv.index("-m") + 1] == "/p/.liftlab/serving/m-v3"
    assert argv[argv.index("--port") + 1] == "5002"
    assert _host(model_serve_argv("/m", host="10.0.0.5")) == "10.0.0.5"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_hosts_need_no_warning(host: str) -> None:
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "myhost.example"])
def test_other_hosts_are_warned_about(host: str) -> None:
    assert "without logging in" in exposure_warning(host)


def test_liftlab_ui_prints_a_localhost_command_and_takes_host() -> None:
    result = runner.invoke(app, ["ui", "--print-only"])
    assert result.exit_code == 0, result.output
    assert "--host 127.0.0.1 --port 5000" in result.output
    exposed = runner.invoke(app, ["ui", "--print-only", "--host", "0.0.0.0", "--port", "8080"])
    assert exposed.exit_code == 0 and "--host 0.0.0.0 --port 8080" in exposed.output


def test_liftlab_serve_has_a_host_option_defaulting_to_localhost() -> None:
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert "--host" in result.output and "127.0.0.1" in result.output
