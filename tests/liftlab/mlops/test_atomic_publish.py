"""A failed publish leaves nothing half-written (issue #11, items 5 and 6): no new file, the
previous run's files untouched, no new or partial DuckDB table, and an MLflow run that is
marked FAILED (``liftlab.status=failed``) instead of looking complete.

Failures are injected into DuckDB itself: ``duckdb.connect`` returns a connection whose
``execute`` raises on a chosen statement, whatever function of liftlab issues it.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest

from liftlab.config.campaign_uplift import CampaignUpliftConfig
from liftlab.config.inference import InferenceConfig
from liftlab.mlops.publishing import publish_campaign_run, publish_uplift_outputs, staged_publish

_REAL_CONNECT = duckdb.connect


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

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._con.close()


def _fail_duckdb_on(monkeypatch: pytest.MonkeyPatch, trigger: str) -> None:
    monkeypatch.setattr(
        duckdb, "connect", lambda *a, **k: _FailingConnection(_REAL_CONNECT(*a, **k), trigger)
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones too) with its bytes."""
    if not folder.exists():
        return {}
    return {p.name: (p.read_bytes() if p.is_file() else b"<dir>") for p in folder.iterdir()}


def _tables(database: Path) -> dict[str, int]:
    if not database.exists():
        return {}
    with _REAL_CONNECT(str(database), read_only=True) as con:
        names = [row[0] for row in con.sql("SHOW TABLES").fetchall()]
        return {n: con.sql(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}


@pytest.fixture
def mlflow_experiment(tmp_path: Path):
    """A throw-away MLflow store and experiment; tests start their runs with its id (an
    end-to-end test may have left another experiment active)."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        yield mlflow.create_experiment("atomic", artifact_location=(tmp_path / "a").as_uri())
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(previous)


def _assert_run_failed(run_id: str) -> None:
    run = mlflow.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["liftlab.status"] == "failed"
    assert "injected failure" in run.data.tags["liftlab.failure"]
    assert run.data.metrics == {}
    assert mlflow.MlflowClient().list_artifacts(run_id) == []
    assert mlflow.active_run() is None


# -- campaign uplift: 8 tables -----------------------------------------------------------------


def _campaign_inputs(rows: int) -> dict:
    summary = pd.DataFrame(
        {
            "campaign_id": ["C01"] * rows,
            "category": ["all"] + ["tickets"] * (rows - 1),
            "decision": ["win"] * rows,
            "roi_decision": ["profitable"] * rows,
            "incremental_spend_per_customer": [2.5] * rows,
            "p_value_adjusted": [0.01] * rows,
            "roi": [1.5] * rows,
            "incremental_revenue": [100.0] * rows,
            "campaign_cost": [40.0] * rows,
        }
    )
    frame = pd.DataFrame({"id": np.arange(rows)})
    return {
        "gold": {"campaign_summary": summary, "campaign_funnel": frame, "campaign_tests": frame},
        "bronze": {n: frame for n in ("campaigns", "profiles", "assignments", "interactions")},
        "campaign_customers": frame,
        "report_html": f"<p>{rows}</p>",
        "bronze_audit": [],
        "silver_audit": {},
        "pipeline_run": f"run-{rows}",
    }


def test_campaign_publish_failing_in_the_warehouse_leaves_the_previous_run_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    config = CampaignUpliftConfig(
        output_dir=str(tmp_path / "out"), duckdb_path=str(tmp_path / "wh.duckdb")
    )
    with mlflow.start_run(experiment_id=mlflow_experiment) as first:
        publish_campaign_run(config, mlflow_run_id=first.info.run_id, **_campaign_inputs(2))
    before_files, before_tables = _snapshot(tmp_path / "out"), _tables(tmp_path / "wh.duckdb")
    assert before_tables["bronze_campaigns"] == 2 and len(before_tables) == 7

    _fail_duckdb_on(monkeypatch, '"gold_campaign_summary"')  # the 6th of the 7 tables
    run = mlflow.start_run(experiment_id=mlflow_experiment)
    with pytest.raises(duckdb.IOException, match="injected failure"):
        publish_campaign_run(config, mlflow_run_id=run.info.run_id, **_campaign_inputs(3))

    assert _snapshot(tmp_path / "out") == before_files  # no new file, none overwritten
    assert _tables(tmp_path / "wh.duckdb") == before_tables  # no table half-replaced
    assert not list(tmp_path.rglob(".liftlab-staging-*"))
    _assert_run_failed(run.info.run_id)


def test_a_failed_first_publish_leaves_no_output_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    config = CampaignUpliftConfig(
        output_dir=str(tmp_path / "new" / "out"), duckdb_path=str(tmp_path / "wh.duckdb")
    )
    _fail_duckdb_on(monkeypatch, '"bronze_profiles"')
    run = mlflow.start_run(experiment_id=mlflow_experiment)
    with pytest.raises(duckdb.IOException):
        publish_campaign_run(config, mlflow_run_id=run.info.run_id, **_campaign_inputs(2))
    assert not (tmp_path / "new" / "out").exists()
    assert _tables(tmp_path / "wh.duckdb") == {}


# -- uplift ------------------------------------------------------------------------------------


def test_uplift_publish_failing_in_the_warehouse_keeps_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = tmp_path / "w.duckdb", tmp_path / "out"
    tables = {"average_effects": pd.DataFrame({"x": [1]})}
    tables["uplift_targeting"] = pd.DataFrame({"customer_id": [1, 2], "best_arm": ["A", None]})
    publish_uplift_outputs(str(out), str(db), tables, "<p>old</p>", {"pipeline_run": "old"})
    before = _snapshot(out)

    _fail_duckdb_on(monkeypatch, "gold_uplift_targeting")
    tables["uplift_targeting"] = pd.DataFrame({"customer_id": [3], "best_arm": ["B"]})
    with pytest.raises(duckdb.IOException):
        publish_uplift_outputs(str(out), str(db), tables, "<p>new</p>", {"pipeline_run": "new"})
    assert _snapshot(out) == before
    assert json.loads((out / "run_summary.json").read_text()) == {"pipeline_run": "old"}
    assert _tables(db) == {"gold_uplift_targeting": 2}


# -- batch inference ---------------------------------------------------------------------------


def _predictions(n: int) -> pd.DataFrame:
    return pd.DataFrame({"ad_id": range(n), "predicted_conversions": [0.5] * n})


MODEL_REF = {"model_name": "m", "version": "3", "model_id": "m-1", "uri": "models:/m/3"}


def test_batch_scoring_failing_in_the_warehouse_writes_no_predictions_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    from liftlab.mlops.publishing import publish_inference_run

    config = InferenceConfig(
        data_path="ads.csv",
        output_dir=str(tmp_path / "out"),
        duckdb_path=str(tmp_path / "w.duckdb"),
        write_mode="append",
    )
    with mlflow.start_run(experiment_id=mlflow_experiment):
        summary = publish_inference_run(
            _predictions(2), model_ref=MODEL_REF, data_info={}, config=config, pipeline_run="r1"
        )
    assert summary["rows_scored"] == 2
    assert _tables(tmp_path / "w.duckdb") == {"gold_conversion_predictions": 2}
    before = _snapshot(tmp_path / "out")
    assert set(before) == {"predictions.parquet", "predictions.csv"}

    _fail_duckdb_on(monkeypatch, "INSERT INTO")
    run = mlflow.start_run(experiment_id=mlflow_experiment)
    with pytest.raises(duckdb.IOException):
        publish_inference_run(
            _predictions(5), model_ref=MODEL_REF, data_info={}, config=config, pipeline_run="r2"
        )
    assert _snapshot(tmp_path / "out") == before
    assert _tables(tmp_path / "w.duckdb") == {"gold_conversion_predictions": 2}
    _assert_run_failed(run.info.run_id)
    assert mlflow.get_run(run.info.run_id).data.params == {}


# -- A/B: a failure while writing files logs nothing -------------------------------------------


def test_ab_publish_failing_on_a_file_leaves_an_mlflow_run_marked_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    from liftlab.config.ab_testing import ABTestConfig
    from liftlab.mlops.publishing import publish_ab_run

    results = pd.DataFrame(
        {"experiment": ["e1"], "variant": ["B"], "segment": ["all"], "metric": ["ctr"]}
        | {"decision": ["win"], "rel_lift": [0.1]}
    )
    srm = pd.DataFrame({"experiment": ["e1"], "srm_detected": [False]})

    def broken_parquet(self, *args, **kwargs):
        raise OSError("injected failure: disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken_parquet)
    run = mlflow.start_run(experiment_id=mlflow_experiment)
    with pytest.raises(OSError, match="injected failure"):
        publish_ab_run(
            ABTestConfig(
                data_path="x.csv",
                output_dir=str(tmp_path / "out"),
                metrics=[{"name": "ctr", "type": "proportion", "column": "clicked"}],
            ),
            results=results,
            srm=srm,
            extra_tables={},
            audits=[],
            validation={"n_rows": 1},
            report_html="<p/>",
            data_info={},
            pipeline_run="r",
        )
    assert not (tmp_path / "out").exists()
    _assert_run_failed(run.info.run_id)
    assert mlflow.get_run(run.info.run_id).data.params == {}


# -- the mechanism -----------------------------------------------------------------------------


def test_staged_publish_restores_the_old_files_when_the_commit_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, db = tmp_path / "out", tmp_path / "w.duckdb"
    with staged_publish(out) as stage:
        stage.text("a.txt", "old a")
        stage.duckdb_table(db, "t", pd.DataFrame({"x": [1]}))
    assert (out / "a.txt").read_text() == "old a"

    _fail_duckdb_on(monkeypatch, "COMMIT")
    with pytest.raises(duckdb.IOException), staged_publish(out) as stage:
        stage.text("a.txt", "new a")
        stage.text("b.txt", "new b")
        stage.duckdb_table(db, "t", pd.DataFrame({"x": [1, 2, 3]}))
        stage.duckdb_table(db, "u", pd.DataFrame({"y": [1]}))
    assert _snapshot(out) == {"a.txt": b"old a"}
    assert _tables(db) == {"t": 1}


def test_staged_publish_writes_nothing_when_the_body_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.csv").write_text("old")
    with pytest.raises(RuntimeError), staged_publish(out) as stage:
        stage.table("keep", pd.DataFrame({"x": [1]}))
        stage.duckdb_table(tmp_path / "w.duckdb", "t", pd.DataFrame({"x": [1]}))
        raise RuntimeError("the report failed to render")
    assert _snapshot(out) == {"keep.csv": b"old"}
    assert not (tmp_path / "w.duckdb").exists()


def test_staged_publish_takes_one_database(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one DuckDB database"), staged_publish(tmp_path) as s:
        s.duckdb_table(tmp_path / "a.duckdb", "t", pd.DataFrame({"x": [1]}))
        s.duckdb_table(tmp_path / "b.duckdb", "t", pd.DataFrame({"x": [1]}))


def test_training_publish_failing_on_a_file_logs_no_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_experiment: str
) -> None:
    """Registration is the step after this one: the failure stops the run before it."""
    from liftlab.mlops.publishing import publish_training_run

    out = tmp_path / "out"
    out.mkdir()
    (out / "training_report.html").write_text("previous")
    table = pd.DataFrame({"x": [1]})
    real_to_csv = pd.DataFrame.to_csv

    def to_csv(self, path=None, *args, **kwargs):
        if path is not None and str(path).endswith("feature_importance.csv"):
            raise OSError("injected failure: disk full")
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    run = mlflow.start_run(experiment_id=mlflow_experiment)
    with pytest.raises(OSError, match="injected failure"):
        publish_training_run(
            pipeline_run="r",
            model_name="m",
            output_dir=str(out),
            model_comparison=table,
            holdout_predictions=table,
            feature_importance=table,
            report_html="<p>new</p>",
            promotion_decision={"promote": True, "summary": "s"},
            training_info={
                "mlflow_run_id": run.info.run_id,
                "best_candidate": "gbm",
                "holdout_scores": {},
                "baseline_scores": {},
            },
            cleaning_audit=[],
            validation={},
            data_info={},
        )
    assert _snapshot(out) == {"training_report.html": b"previous"}
    _assert_run_failed(run.info.run_id)
