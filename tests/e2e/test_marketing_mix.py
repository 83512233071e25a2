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
    report = (out / "marketing_mix_report.html").read_text()
    assert 'data-chart="roas"' in report and "<svg" in report
    assert all(channel in report for channel in channels)
    assert (out / "mmm_budget.png").is_file()

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


def test_a_rerun_ties_and_registers_nothing_new(zenml_stack, first_run) -> None:
    """Same data, same specification: the champion refitted on this run's folds scores exactly
    what the challenger scores, a tie never promotes, and the identical model is not
    registered again (the registry keeps one version per distinct model)."""
    from liftlab.ops.runner import run_config

    root, parameters = first_run["root"], first_run["parameters"]
    again = run_config(_config(root, "e2e_again", parameters))
    assert again["promoted"] is False
    assert again["promotion"].startswith("Not promoted")
    assert again["unchanged"] is True and again["version"] == "1"
    assert again["aliases_moved"] == []
    client = _client(zenml_stack)
    name = parameters["model_name"]
    assert [str(v.version) for v in client.search_model_versions(f"name = '{name}'")] == ["1"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert client.get_model_version(name, "1").tags["liftlab.model_hash"]


def test_the_registered_model_serves_a_spend_plan(zenml_stack, first_run, tmp_path) -> None:
    _client(zenml_stack)
    uri = f"models:/{first_run['parameters']['model_name']}@champion"
    payload = load_mmm_payload(uri)
    served = mlflow.pyfunc.load_model(uri)
    plan = plan_example(payload)
    expected = predict_plan(FittedMMM.from_dict(payload), plan)
    pd.testing.assert_frame_equal(
        served.predict(plan).reset_index(drop=True), expected.reset_index(drop=True)
    )
    assert len(expected) == len(plan) and (expected["predicted"] > 0).all()

    # the served model is the fitted one: replayed over the first year of its training data
    # (no spend before it, as in training) it predicts the observed sales
    data = pd.read_csv(first_run["root"] / "data" / "mmm_weekly.csv").head(52)
    channels = first_run["parameters"]["channels"]
    history = data.rename(columns={column: name for name, column in channels.items()})
    predicted = served.predict(history[["date", *channels, *CONTROLS]])
    mape = np.mean(np.abs(predicted["predicted"].to_numpy() / data["sales"].to_numpy() - 1))
    assert mape < 0.03

    # liftlab reads only its own marketing-mix model.json, from nothing else
    copy = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path)))
    (copy / "artifacts" / "model.json").unlink()
    with pytest.raises(UntrustedModelError):
        load_mmm_payload(str(copy))
    from sklearn.linear_model import LinearRegression

    other = tmp_path / "sklearn_model"
    mlflow.sklearn.save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), str(other))
    with pytest.raises(UntrustedModelError, match="flavors"):
        load_mmm_payload(str(other))


def _email_window(spend: np.ndarray, n_periods: int = 4, near: int = 100) -> int:
    """The first start at or after ``near`` whose ``n_periods`` weeks all have email spend."""
    for start in range(near, len(spend) - n_periods):
        if (spend[start : start + n_periods] > 0).all():
            return start
    raise AssertionError("no email flight of 4 weeks in the simulated data")


def test_calibration_from_the_campaign_warehouse(zenml_stack, first_run, tmp_path) -> None:
    """An e-mail campaign whose measured incremental revenue is the simulator's true lift of its
    cost, and an SMS campaign the model has no channel for."""
    from liftlab.ops.runner import run_config

    truth = first_run["truth"]
    data_dir = first_run["root"] / "data"
    frame = pd.read_csv(data_dir / "mmm_weekly.csv")
    spec = truth["channels"]["email"]
    email = ChannelTruth(
        "email",
        spec["adstock"],
        spec["adstock_params"],
        spec["saturation"],
        spec["saturation_params"],
        beta=spec["beta"],
        mean_spend=spec["mean_spend"],
    )
    spend = frame[spec["spend_column"]].to_numpy(float)
    start, weeks, share = _email_window(spend), 4, 0.5
    cost = share * float(spend[start : start + weeks].sum())
    lift = true_lift(email, spend.tolist(), start, start + weeks, share, spec["max_lag"])
    z = float(stats.norm.ppf(0.975))
    se = 0.1 * lift
    send_at = pd.Timestamp(frame["date"].iloc[start], tz="Europe/Berlin") + pd.Timedelta(hours=9)
    rows = [
        {"campaign_id": "E1", "channel": "email", "incremental_revenue": lift,
         "ci_low": lift - z * se, "ci_high": lift + z * se, "campaign_cost": cost},
        {"campaign_id": "S1", "channel": "sms", "incremental_revenue": 5_000.0,
         "ci_low": 1_000.0, "ci_high": 9_000.0, "campaign_cost": 2_000.0},
    ]  # fmt: skip
    summary_table = pd.DataFrame(
        [
            {
                **dict.fromkeys(SUMMARY_COLUMNS, np.nan),
                "campaign_id": r["campaign_id"],
                "campaign_name": r["campaign_id"],
                "channel": r["channel"],
                "send_at": send_at,
                "category": "all",
                "window_days": 7 * weeks,
                "incremental_revenue": r["incremental_revenue"],
                "incremental_revenue_ci_low": r["ci_low"],
                "incremental_revenue_ci_high": r["ci_high"],
                "campaign_cost": r["campaign_cost"],
                "status": "ok",
            }
            for r in rows
        ],
        columns=list(SUMMARY_COLUMNS),
    )
    campaigns_db = tmp_path / "campaigns.duckdb"
    with duckdb.connect(str(campaigns_db)) as con:
        con.register("summary_frame", summary_table)
        con.execute("CREATE TABLE gold_campaign_summary AS SELECT * FROM summary_frame")
    parameters = _parameters(
        data_dir,
        truth,
        tmp_path,
        calibration={
            "campaign_summary": {
                "duckdb_path": str(campaigns_db),
                "channel_map": {"email": "email"},
            }
        },
        model_name="test-mmm-e2e-campaigns",
    )
    summary = run_config(_config(tmp_path, "campaigns", parameters))

    calibration = pd.read_csv(tmp_path / "out" / "calibration.csv")
    assert list(calibration["channel"]) == ["email"]
    test = calibration.iloc[0]
    assert test["measured"] == pytest.approx(lift)
    assert test["spend_change"] == pytest.approx(cost)
    assert test["se"] == pytest.approx(se, rel=1e-6)
    first_week = pd.Timestamp(frame["date"].iloc[start])
    assert pd.Timestamp(test["start"]) == first_week
    assert pd.Timestamp(test["end"]) == first_week + pd.Timedelta(days=7 * weeks - 1)
    assert any("sms" in warning for warning in summary["warnings"])
    assert summary["calibrated"] is True

    # the model's lift of that test, recomputed by the simulator's own transforms with the
    # fitted e-mail parameters, is the calibrated model lift the run reports
    model = json.loads((tmp_path / "out" / "model.json").read_text())
    k = model["channels"].index("email")
    fitted = replace(
        email,
        adstock_params={p: model["params"]["email"][p] for p in spec["adstock_params"]},
        saturation_params={p: model["params"]["email"][p] for p in spec["saturation_params"]},
        beta=model["beta"][k],
    )
    refit_lift = true_lift(fitted, spend.tolist(), start, start + weeks, share, spec["max_lag"])
    assert test["model_calibrated"] == pytest.approx(refit_lift, rel=1e-6)
    # and a test this precise (weight auto) pulls the model's lift close to what it measured
    assert abs(test["model_calibrated"] - lift) < 0.5 * se


def test_a_gap_in_the_weeks_fails_the_run_and_writes_nothing(
    zenml_stack, first_run, tmp_path
) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    frame = pd.read_csv(first_run["root"] / "data" / "mmm_weekly.csv")
    missing = frame["date"].iloc[80]
    after = frame["date"].iloc[81]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    frame.drop(index=80).to_csv(data_dir / "mmm_weekly.csv", index=False)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:  # another job's table, which must stay
        con.execute("CREATE TABLE gold_campaign_summary AS SELECT 1 AS campaign_id")
    parameters = _parameters(data_dir, first_run["truth"], tmp_path, model_name="test-mmm-gap")
    with pytest.raises(PipelineRunFailed, match="DataValidationError") as failure:
        run_config(_config(tmp_path, "gap", parameters))
    message = str(failure.value)
    assert after in message and missing not in message
    assert "validate_marketing_mix_data" in message
    assert not Path(parameters["output_dir"]).exists()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {row[0] for row in con.sql("SHOW TABLES").fetchall()}
    assert tables == {"gold_campaign_summary"}
    client = _client(zenml_stack)
    assert client.search_model_versions("name='test-mmm-gap'") == []
