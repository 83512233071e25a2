"""Publishing a marketing-mix run: files, ``gold_mmm_*`` DuckDB tables and MLflow, all or
nothing (a failure midway leaves no new table, no new file and a FAILED MLflow run), as the
campaign publish does."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import mlflow
import pandas as pd
import pytest
from matplotlib.figure import Figure

from liftlab.config.marketing_mix import load_marketing_mix_config
from liftlab.mlops.publishing import (
    marketing_mix_metrics,
    marketing_mix_run_summary,
    marketing_mix_warehouse_tables,
    publish_marketing_mix_run,
)
from strategies.mmm.result import (
    BUDGET_PLAN_COLUMNS,
    CONTRIBUTION_COLUMNS,
    RESPONSE_CURVE_COLUMNS,
    ROI_COLUMNS,
)
from tests.liftlab.mmm_fixtures import CHANNELS, make_mmm_result, mmm_config_values

_REAL_CONNECT = duckdb.connect
FRAMES = (
    "contributions",
    "roi",
    "parameters",
    "response_curves",
    "budget_plan",
    "cv_folds",
    "cv_shares",
    "calibration",
    "budget_scenarios",
)
TABLE_COLUMNS = {
    "gold_mmm_contributions": CONTRIBUTION_COLUMNS,
    "gold_mmm_roi": ROI_COLUMNS,
    "gold_mmm_response_curves": RESPONSE_CURVE_COLUMNS,
    "gold_mmm_budget_plan": BUDGET_PLAN_COLUMNS,
}


@pytest.fixture(scope="module")
def result():
    return make_mmm_result()


def _tiny_figures() -> dict[str, Figure]:
    """Stand-in charts: the publish writes whatever figures it is given (fast)."""
    figure = Figure(figsize=(1, 1))
    figure.add_subplot().plot([0, 1], [0, 1])
    return {"mmm_roas": figure}


@pytest.fixture
def mlflow_experiment(tmp_path: Path):
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        yield mlflow.create_experiment("mmm", artifact_location=(tmp_path / "a").as_uri())
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(previous)


def _tables(database: Path) -> dict[str, list[str]]:
    if not database.exists():
        return {}
    with _REAL_CONNECT(str(database), read_only=True) as con:
        names = [row[0] for row in con.sql("SHOW TABLES").fetchall()]
        return {n: list(con.sql(f'SELECT * FROM "{n}"').columns) for n in names}


def _snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {p.name: (p.read_bytes() if p.is_file() else b"<dir>") for p in folder.iterdir()}


def test_summary_and_metrics(result) -> None:
    summary = marketing_mix_run_summary(
        result, pipeline_run="r", mlflow_run_id=None, output_dir="out"
    )
    roi = result.roi.set_index("channel")
    assert summary["shares"] == {c: pytest.approx(roi.at[c, "share"]) for c in CHANNELS}
    assert sum(summary["shares"].values()) == pytest.approx(1.0)
    assert summary["roas"]["tv"] == pytest.approx(
        roi.at["tv", "contribution"] / roi.at["tv", "spend"]
    )
    plan = result.budget_plan.set_index("channel")
    assert summary["recommended_change_pct"]["email"] == pytest.approx(
        plan.at["email", "optimal_spend"] / plan.at["email", "current_spend"] - 1
    )
    assert summary["bound_active"] == {"email": "upper"}
    assert summary["expected_gain"] == pytest.approx(result.budget.expected_gain)
    assert summary["gain_ci"] == [
        pytest.approx(result.budget.gain_ci_low),
        pytest.approx(result.budget.gain_ci_high),
    ]
    assert summary["calibrated"] is True and len(summary["warnings"]) == 2
    json.dumps(summary, allow_nan=False)  # JSON-safe

    metrics = marketing_mix_metrics(result)
    assert metrics["fit.r2"] == pytest.approx(0.947)
    assert metrics["cv.mean_mape"] == pytest.approx(result.cv_folds["mape"].mean())
    assert metrics["budget.expected_gain"] == pytest.approx(result.budget.expected_gain)
    for channel in CHANNELS:
        for stat in ("share", "roas", "mroas"):
            assert metrics[f"{channel}.{stat}"] == pytest.approx(roi.at[channel, stat])
    uncalibrated = make_mmm_result(calibrated=False)
    odd = uncalibrated.roi.assign(channel=uncalibrated.roi["channel"].replace("tv", "TV (brand)#1"))
    uncalibrated.roi = odd.assign(mroas=odd["mroas"].where(odd["channel"] != "radio"))
    metrics = marketing_mix_metrics(uncalibrated)
    assert "TV _brand__1.share" in metrics  # sanitised name
    assert "radio.mroas" not in metrics  # NaN left out
    assert set(marketing_mix_warehouse_tables(result)) == set(TABLE_COLUMNS)


def test_publish_writes_files_tables_and_mlflow(
    tmp_path: Path, result, mlflow_experiment: str
) -> None:
    config = load_marketing_mix_config(mmm_config_values(tmp_path))
    with mlflow.start_run(experiment_id=mlflow_experiment) as run:
        summary = publish_marketing_mix_run(
            config,
            result=result,
            report_html="<p>mmm</p>",
            pipeline_run="run-3",
            mlflow_run_id=run.info.run_id,
        )
    out = tmp_path / "out"
    pngs = {"mmm_roas", "mmm_contributions", "mmm_response_curves", "mmm_budget"}
    assert {p.name for p in out.iterdir()} == {
        *(f"{name}.csv" for name in FRAMES),
        *(f"{name}.png" for name in pngs),
        "marketing_mix_report.html",
        "model.json",
        "model_draws.json",
        "run_summary.json",
    }
    assert json.loads((out / "model.json").read_text()) == result.model
    assert json.loads((out / "model_draws.json").read_text()) == result.draw_models
    assert json.loads((out / "run_summary.json").read_text())["pipeline_run"] == "run-3"
    plan = pd.read_csv(out / "budget_plan.csv")
    assert list(plan.columns) == list(BUDGET_PLAN_COLUMNS)
    assert plan["channel"].tolist() == list(CHANNELS)
    assert (out / "mmm_roas.png").read_bytes()[:4] == b"\x89PNG"

    assert summary["duckdb"] == str((tmp_path / "wh.duckdb").resolve())
    tables = _tables(tmp_path / "wh.duckdb")
    assert tables == {name: list(columns) for name, columns in TABLE_COLUMNS.items()}
    with _REAL_CONNECT(summary["duckdb"], read_only=True) as con:
        n = con.sql("SELECT count(*) FROM gold_mmm_contributions").fetchall()[0][0]
        shares = con.sql("SELECT sum(share) FROM gold_mmm_roi").fetchall()[0][0]
    assert n == len(result.contributions) and shares == pytest.approx(1.0)

    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.params["currency"] == "$"
    assert json.loads(logged.data.params["channels"])["tv"] == "tv_spend"
    assert logged.data.metrics["search.roas"] == pytest.approx(
        result.roi.set_index("channel").at["search", "roas"]
    )
    assert logged.data.tags["liftlab.pipeline"] == "marketing_mix"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"marketing_mix_report.html", "roi.csv", "budget_plan.csv", "mmm_roas.png"} <= artifacts


def test_republish_replaces_the_tables(tmp_path: Path, result, mlflow_experiment: str) -> None:
    config = load_marketing_mix_config(mmm_config_values(tmp_path))
    for rows in (len(result.budget_plan), 2):
        smaller = make_mmm_result()
        smaller.budget_plan = result.budget_plan.head(rows)
        with mlflow.start_run(experiment_id=mlflow_experiment):
            publish_marketing_mix_run(
                config,
                result=smaller,
                report_html="",
                pipeline_run="r",
                mlflow_run_id=None,
                figures=_tiny_figures(),
            )
    with _REAL_CONNECT(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM gold_mmm_budget_plan").fetchall()[0][0] == 2


class _FailingConnection:
    """A real DuckDB connection that raises on the first statement containing ``trigger``."""

    def __init__(self, con, trigger: str) -> None:
        self._con, self._trigger = con, trigger

    def execute(self, sql: str, *args, **kwargs):
        if self._trigger in sql:
            raise duckdb.IOException(f"injected failure on: {sql[:60]}")
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_a_failure_midway_leaves_nothing_half_written(
    tmp_path: Path, result, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    config = load_marketing_mix_config(mmm_config_values(tmp_path))
    monkeypatch.setattr(
        duckdb,
        "connect",
        lambda *a, **k: _FailingConnection(_REAL_CONNECT(*a, **k), '"gold_mmm_response_curves"'),
    )
    run = mlflow.start_run(experiment_id=mlflow_experiment)
    with pytest.raises(duckdb.IOException, match="injected failure"):
        publish_marketing_mix_run(
            config,
            result=result,
            report_html="<p>x</p>",
            pipeline_run="r",
            mlflow_run_id=run.info.run_id,
            figures=_tiny_figures(),
        )
    assert not (tmp_path / "out").exists()  # no file, not even the folder
    assert _tables(tmp_path / "wh.duckdb") == {}  # the tables before it were rolled back
    logged = mlflow.get_run(run.info.run_id)
    assert logged.info.status == "FAILED"
    assert logged.data.tags["liftlab.status"] == "failed"
    assert logged.data.metrics == {} and logged.data.params == {}
    assert mlflow.MlflowClient().list_artifacts(run.info.run_id) == []


def test_a_failed_republish_keeps_the_previous_run(
    tmp_path: Path, result, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    config = load_marketing_mix_config(mmm_config_values(tmp_path))
    with mlflow.start_run(experiment_id=mlflow_experiment):
        publish_marketing_mix_run(
            config, result=result, report_html="<p>1</p>", pipeline_run="r1",
            mlflow_run_id=None, figures=_tiny_figures(),
        )  # fmt: skip
    before = _snapshot(tmp_path / "out")
    monkeypatch.setattr(
        duckdb,
        "connect",
        lambda *a, **k: _FailingConnection(_REAL_CONNECT(*a, **k), '"gold_mmm_budget_plan"'),
    )
    with mlflow.start_run(experiment_id=mlflow_experiment), pytest.raises(duckdb.IOException):
        publish_marketing_mix_run(
            config, result=result, report_html="<p>2</p>", pipeline_run="r2",
            mlflow_run_id=None, figures=_tiny_figures(),
        )  # fmt: skip
    assert _snapshot(tmp_path / "out") == before
    assert set(_tables(tmp_path / "wh.duckdb")) == set(TABLE_COLUMNS)
    assert not list(tmp_path.rglob(".liftlab-staging-*"))


def test_publish_without_warehouse(tmp_path: Path, result, mlflow_experiment: str) -> None:
    values = {**mmm_config_values(tmp_path), "duckdb_path": ""}
    with mlflow.start_run(experiment_id=mlflow_experiment):
        summary = publish_marketing_mix_run(
            load_marketing_mix_config(values),
            result=result,
            report_html="",
            pipeline_run="r",
            mlflow_run_id=None,
            figures=_tiny_figures(),
        )
    assert summary["duckdb"] is None
    assert not list(tmp_path.glob("*.duckdb"))
    assert summary["files"]["budget_plan"].endswith("budget_plan.csv")
