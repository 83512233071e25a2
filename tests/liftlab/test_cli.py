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


def _demo_data_in(folder: Path, monkeypatch) -> None:
    """Work in ``folder`` with the A/B demo data file present (check-config only checks that
    input files exist; their content is the pipeline's business)."""
    monkeypatch.chdir(folder)
    (folder / "data" / "demo").mkdir(parents=True)
    (folder / "data" / "demo" / "ab_events.parquet").write_bytes(b"")


def test_check_config_accepts_shipped_and_rejects_typos(tmp_path: Path, monkeypatch) -> None:
    _demo_data_in(tmp_path, monkeypatch)
    ok = runner.invoke(app, ["check-config", str(CONFIGS / "ab_test.yaml")])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "ab_test_typo.yaml"
    bad.write_text((CONFIGS / "ab_test.yaml").read_text().replace("alpha:", "alpah:"))
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 2
    assert "unknown parameter 'alpah' (did you mean 'alpha'?)" in result.output


def test_check_config_rejects_a_missing_data_file(tmp_path: Path, monkeypatch) -> None:
    """`liftlab run` refuses a config whose data file does not exist; check-config says so too
    (it used to say "ok")."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check-config", str(CONFIGS / "ab_test.yaml")])
    assert result.exit_code == 2
    assert "data file not found: data/demo/ab_events.parquet" in result.output
    assert "liftlab simulate" in result.output  # the command that makes the demo data


def test_check_config_reports_every_problem_at_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = (CONFIGS / "ab_test.yaml").read_text().replace("alpha:", "alpah:")
    text = text.replace("output_dir:", "output_dri:") + "\nstep:\n  x: {}\n"
    text = text.replace("  metrics:", "  metrics:", 1)
    bad = tmp_path / "ab_test_many.yaml"
    bad.write_text(text)
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 2
    for needle in (
        "unknown top-level key 'step' (did you mean 'steps'?)",
        "unknown parameter 'alpah' (did you mean 'alpha'?)",
        "unknown parameter 'output_dri' (did you mean 'output_dir'?)",
        "data file not found: data/demo/ab_events.parquet",
    ):
        assert needle in result.output, result.output


def test_check_config_suggests_nested_keys(tmp_path: Path, monkeypatch) -> None:
    _demo_data_in(tmp_path, monkeypatch)
    text = (CONFIGS / "ab_test.yaml").read_text().replace("numerator:", "numerater:", 1)
    bad = tmp_path / "ab_test_nested.yaml"
    bad.write_text(text)
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 2
    assert "unknown key (did you mean 'numerator'?)" in result.output, result.output


def test_check_config_takes_the_pipeline_when_the_file_name_does_not_say(
    tmp_path: Path, monkeypatch
) -> None:
    _demo_data_in(tmp_path, monkeypatch)
    odd = tmp_path / "my_experiment.yaml"
    odd.write_text((CONFIGS / "ab_test.yaml").read_text())
    unnamed = runner.invoke(app, ["check-config", str(odd)])
    assert unnamed.exit_code == 2 and "--pipeline" in unnamed.output
    named = runner.invoke(app, ["check-config", str(odd), "--pipeline", "ab_test"])
    assert named.exit_code == 0, named.output
    typo = runner.invoke(app, ["check-config", str(odd), "--pipeline", "ab_tset"])
    assert typo.exit_code == 2 and "did you mean 'ab_test'?" in typo.output


def test_ui_print_only_names_the_project_database() -> None:
    result = runner.invoke(app, ["ui", "--print-only"])
    assert result.exit_code == 0
    assert "mlflow ui --backend-store-uri sqlite:///" in result.output
    assert ".liftlab/artifacts/mlflow.db" in result.output
