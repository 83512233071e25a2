"""The CLI a user touches first: help, simulate, check-config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from liftlab.cli import app
from tests.conftest import REPO_ROOT

runner = CliRunner()
CONFIGS = REPO_ROOT / "configs"


def test_every_command_has_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "simulate", "check-config", "run", "demo", "ui", "serve"):
        assert command in result.output
        sub = runner.invoke(app, [command, "--help"])
        assert sub.exit_code == 0, command
        assert "Usage" in sub.output


def test_simulate_writes_data_truth_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    result = runner.invoke(
        app, ["simulate", "--out", str(out), "--users-per-experiment", "500", "--experiments", "2"]
    )
    assert result.exit_code == 0, result.output
    data = pd.read_parquet(out)
    assert data["experiment"].nunique() == 2
    assert (tmp_path / "events_truth.csv").is_file()
    assert (tmp_path / "events_manifest.json").is_file()


def test_simulate_rejects_unknown_suffix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2
    assert "xlsx" in result.output


def test_check_config_accepts_shipped_and_rejects_typos(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["check-config", str(CONFIGS / "ab_test.yaml")])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "ab_test_typo.yaml"
    bad.write_text((CONFIGS / "ab_test.yaml").read_text().replace("alpha:", "alpah:"))
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 2
    assert "alpah" in result.output


def test_ui_print_only_names_the_project_database() -> None:
    result = runner.invoke(app, ["ui", "--print-only"])
    assert result.exit_code == 0
    assert "mlflow ui --backend-store-uri sqlite:///" in result.output
    assert ".liftlab/artifacts/mlflow.db" in result.output
