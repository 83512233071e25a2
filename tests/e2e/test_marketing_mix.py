"""The marketing-mix pipeline end to end in a throw-away ZenML store and MLflow (slow).

Every check is against the simulator's known truth (``liftlab.simulate.mmm``, whose transforms
are re-implemented independently of the fit), against the published column contracts of
``strategies.mmm.result``, or against what the registry must hold after each run. The first run
is shared (module fixture) by the tests that need a registered model, to keep the file fast.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from liftlab.mlops.mmm_model import load_mmm_payload, plan_example
from liftlab.mlops.model_files import UntrustedModelError
from liftlab.simulate.mmm import (
    ChannelTruth,
    MMMSimulation,
    default_mmm_config,
    simulate_mmm,
    true_lift,
    write_mmm,
)
from strategies.campaign_uplift import SUMMARY_COLUMNS
from strategies.mmm.fit import FittedMMM
from strategies.mmm.result import (
    BUDGET_PLAN_COLUMNS,
    CONTRIBUTION_COLUMNS,
    RESPONSE_CURVE_COLUMNS,
    ROI_COLUMNS,
)
from strategies.mmm.scoring import predict_plan

CONTROLS = ["price_index", "promotion", "holiday_black_friday", "holiday_christmas"]
GOLD_TABLES = {
    "gold_mmm_contributions": CONTRIBUTION_COLUMNS,
    "gold_mmm_roi": ROI_COLUMNS,
    "gold_mmm_response_curves": RESPONSE_CURVE_COLUMNS,
    "gold_mmm_budget_plan": BUDGET_PLAN_COLUMNS,
}
#: Settings that keep one run to a few seconds (the shipped configs use more draws and folds).
FAST = {"bootstrap": {"n_draws": 40}, "n_starts": 4, "cv": {"n_folds": 2, "test_periods": 13}}


def _parameters(data_dir: Path, truth: dict[str, Any], out: Path, **extra: Any) -> dict:
    """A run config on the simulated data with each channel's true adstock/saturation kinds
    (read from ``mmm_truth.json``; the parameters themselves are left to the fit)."""
    channels = truth["channels"]
    return {
        "data_path": str(data_dir / "mmm_weekly.csv"),
        "date_column": "date",
        "outcome_column": "sales",
        "channels": {name: spec["spend_column"] for name, spec in channels.items()},
        "controls": CONTROLS,
        "channel_transforms": {
            name: {"adstock": spec["adstock"], "saturation": spec["saturation"]}
            for name, spec in channels.items()
        },
        "max_lag": truth["channels"]["tv"]["max_lag"],
        "seed": 0,
        "output_dir": str(out / "out"),
        "duckdb_path": str(out / "warehouse.duckdb"),
        **FAST,
        **extra,
    }


def _config(folder: Path, name: str, parameters: dict) -> Path:
    path = folder / f"marketing_mix_{name}.yaml"
    path.write_text(yaml.safe_dump({"parameters": parameters}))
    return path


def _client(stack) -> mlflow.MlflowClient:
    mlflow.set_tracking_uri(stack.mlflow_tracking_uri)
    mlflow.set_registry_uri(stack.mlflow_tracking_uri)
    return mlflow.MlflowClient(tracking_uri=stack.mlflow_tracking_uri)


@pytest.fixture(scope="module")
def first_run(zenml_stack, tmp_path_factory) -> dict[str, Any]:
    """The default simulated world, fitted once with the true transform kinds and calibrated
    with its own lift tests (as ``configs/marketing_mix.yaml`` is)."""
    from liftlab.ops.runner import run_config

    root = tmp_path_factory.mktemp("mmm")
    write_mmm(simulate_mmm(default_mmm_config()), root / "data")
    truth = json.loads((root / "data" / "mmm_truth.json").read_text())
    parameters = _parameters(
        root / "data",
        truth,
        root,
        calibration={"lift_tests": str(root / "data" / "mmm_lift_tests.csv")},
        model_name="test-mmm-e2e",
    )
    summary = run_config(_config(root, "e2e", parameters))
    return {"root": root, "truth": truth, "parameters": parameters, "summary": summary}


def test_pipeline_recovers_the_truth_and_publishes_everything(first_run) -> None:
    summary, truth, root = first_run["summary"], first_run["truth"], first_run["root"]
    channels = list(truth["channels"])
    assert summary["promoted"] is True
    assert summary["version"] == "1"
    assert summary["aliases_moved"] == ["challenger", "champion"]
    assert set(summary["shares"]) == set(summary["roas"]) == set(channels)
    assert sum(summary["shares"].values()) == pytest.approx(1.0)
    assert np.isfinite(summary["expected_gain"])
    for channel in channels:
        true_share = truth["channels"][channel]["share"]
        assert abs(summary["shares"][channel] - true_share) < 0.05, channel

    out = root / "out"
    roi = pd.read_csv(out / "roi.csv").set_index("channel")
    for channel in channels:  # the CSV says what the summary says; ROAS = contribution / spend
        assert roi.loc[channel, "share"] == pytest.approx(summary["shares"][channel])
        assert roi.loc[channel, "roas"] == pytest.approx(
            roi.loc[channel, "contribution"] / roi.loc[channel, "spend"]
        )
        assert roi.loc[channel, "spend"] == pytest.approx(truth["channels"][channel]["spend"])
    for name in ("marketing_mix_report.html", "model.json", "budget_plan.csv", "roi.csv",
                 "contributions.csv", "response_curves.csv", "calibration.csv"):  # fmt: skip
        assert (out / name).is_file(), name
    assert "<svg" in (out / "marketing_mix_report.html").read_text() or list(out.glob("*.png"))

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        tables = {row[0] for row in con.sql("SHOW TABLES").fetchall()}
        assert set(GOLD_TABLES) <= tables
        for table, columns in GOLD_TABLES.items():
            assert tuple(con.table(table).columns) == columns, table
        plan = con.table("gold_mmm_budget_plan").df()
        n_roi = con.sql("SELECT count(*) FROM gold_mmm_roi").fetchall()[0][0]
    assert n_roi == len(channels)
    assert set(plan["channel"]) == set(channels)
    assert summary["budget_mode"] == "fixed_total"
    # fixed-total mode: the plan moves spend between channels, the total stays today's
    assert plan["optimal_spend"].sum() == pytest.approx(plan["current_spend"].sum(), rel=1e-6)
    assert plan["optimal_spend"].sum() == pytest.approx(summary["total_per_period"], rel=1e-6)
    assert (plan["optimal_spend"] >= plan["lower_bound"] - 1e-6).all()
    assert (plan["optimal_spend"] <= plan["upper_bound"] + 1e-6).all()
