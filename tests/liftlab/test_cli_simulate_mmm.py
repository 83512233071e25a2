"""`liftlab simulate-mmm` writes the marketing-mix demo data, its lift tests and its truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from liftlab.cli import app
from strategies.mmm.data import LIFT_TEST_COLUMNS

runner = CliRunner()


def test_simulate_mmm_writes_data_lift_tests_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "mmm"
    result = runner.invoke(app, ["simulate-mmm", "--out", str(out), "--periods", "60"])
    assert result.exit_code == 0, result.output
    for name in ("mmm_weekly.csv", "mmm_lift_tests.csv", "mmm_truth.json"):
        assert str(out / name) in result.output
    data = pd.read_csv(out / "mmm_weekly.csv")
    assert len(data) == 60
    assert list(pd.read_csv(out / "mmm_lift_tests.csv").columns) == list(LIFT_TEST_COLUMNS)
    truth = json.loads((out / "mmm_truth.json").read_text())
    assert truth["n_periods"] == 60 and truth["confounder"] is None
    assert truth["seed"] == 42


def test_simulate_mmm_confounded_and_seeded(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        result = runner.invoke(
            app, ["simulate-mmm", "--out", str(out), "--confounded", "--seed", "3"]
        )
        assert result.exit_code == 0, result.output
    truth = json.loads((a / "mmm_truth.json").read_text())
    assert truth["confounder"]["channel"] == "search" and truth["seed"] == 3
    tests = pd.read_csv(a / "mmm_lift_tests.csv")
    assert (tests["channel"] == "search").any()
    assert (a / "mmm_weekly.csv").read_bytes() == (b / "mmm_weekly.csv").read_bytes()


def test_simulate_mmm_rejects_too_few_periods(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate-mmm", "--out", str(tmp_path), "--periods", "5"])
    assert result.exit_code != 0
    assert "periods" in result.output.lower()
