"""Publishing a finished A/B or campaign run (summaries, gold files, warehouse tables, MLflow),
without ZenML: the publish steps only call these functions."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest

from liftlab.config.campaign_uplift import CampaignUpliftConfig
from liftlab.mlops.publishing import (
    ab_run_summary,
    campaign_metrics,
    campaign_run_summary,
    campaign_warehouse_tables,
    publish_ab_outputs,
    publish_campaign_run,
)

# -- A/B -------------------------------------------------------------------------------------


def _ab_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    results = pd.DataFrame(
        {
            "experiment": ["e1", "e1", "e1", "e2"],
            "segment": ["all", "all", "device=mobile", "all"],
            "metric": ["ctr", "cr", "ctr", "ctr"],
            "decision": ["win", "inconclusive", "win", "win"],
        }
    )
    srm = pd.DataFrame({"experiment": ["e1", "e2", "e2"], "srm_detected": [False, True, True]})
    return results, srm


def test_ab_summary_counts_overall_rows_only(tmp_path: Path) -> None:
    results, srm = _ab_tables()
    summary = ab_run_summary(
        results,
        srm,
        pipeline_run="run-1",
        mlflow_run_id="abc",
        output_dir=tmp_path / "out",
        data_sha256="f00",
    )
    assert summary == {
        "pipeline_run": "run-1",
        "mlflow_run_id": "abc",
        "output_dir": str((tmp_path / "out").resolve()),
        "comparisons": 3,
        "decisions": {"win": 2, "inconclusive": 1},
        "srm_alerts": ["e2"],
        "data_sha256": "f00",
    }


def test_publish_ab_outputs_writes_every_file_and_lists_them(tmp_path: Path) -> None:
    results, srm = _ab_tables()
    out = tmp_path / "out"
    summary = publish_ab_outputs(
        out,
        results=results,
        srm=srm,
        report_html="<html>report</html>",
        extra_tables={"heterogeneity": pd.DataFrame(), "sequential_looks": results.head(1)},
        pipeline_run="run-1",
        mlflow_run_id=None,
        data_sha256=None,
    )
    names = {p.name for p in out.iterdir()}
    assert names == {
        "ab_results.csv",
        "ab_results.parquet",
        "srm.csv",
        "ab_report.html",
        "run_summary.json",
        "sequential_looks.csv",  # the empty heterogeneity table writes no file
    }
    assert set(summary["files"]) == {
        "ab_results",
        "ab_results_parquet",
        "srm",
        "ab_report",
        "run_summary",
        "sequential_looks",
    }
    on_disk = json.loads((out / "run_summary.json").read_text())
    assert on_disk == {k: v for k, v in summary.items() if k != "files"}
    assert (out / "ab_report.html").read_text() == "<html>report</html>"
    assert not list(tmp_path.glob(".liftlab-staging-*"))


# -- campaign uplift -------------------------------------------------------------------------


def _gold() -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame(
        {
            "campaign_id": ["C01", "C01", "C02"],
            "category": ["all", "tickets", "all"],
            "decision": ["win", "win", "inconclusive"],
            "roi_decision": ["profitable", "profitable", "unprofitable"],
            "incremental_spend_per_customer": [2.5, 1.0, np.nan],
            "p_value_adjusted": [0.001, 0.01, 0.4],
            "roi": [1.5, np.nan, -0.2],
            "incremental_revenue": [1000.0, 400.0, -50.0],
            "campaign_cost": [400.0, np.nan, 60.0],
        }
    )
    funnel = pd.DataFrame({"campaign_id": ["C01"], "stage": ["sent"], "n": [10]})
    tests = pd.DataFrame({"campaign_id": ["C01"], "metric": ["spend"], "p_value": [0.001]})
    return {"campaign_summary": summary, "campaign_funnel": funnel, "campaign_tests": tests}


def test_campaign_summary_and_metrics() -> None:
    gold = _gold()["campaign_summary"]
    summary = campaign_run_summary(gold, pipeline_run="r", mlflow_run_id=None, output_dir="o")
    assert summary["campaigns"] == 2
    assert summary["decisions"] == {"win": 1, "inconclusive": 1}
    assert summary["roi_decisions"] == {"profitable": 1, "unprofitable": 1}
    assert summary["incremental_revenue"] == 950.0  # category rows are not counted twice
    assert summary["campaign_cost"] == 460.0
    metrics = campaign_metrics(gold, summary)
    assert metrics["C01.all.roi"] == 1.5
    assert metrics["C01.tickets.incremental_spend_per_customer"] == 1.0
    assert "C01.tickets.roi" not in metrics  # NaN is not logged
    assert "C02.all.incremental_spend_per_customer" not in metrics
    assert metrics["total_incremental_revenue"] == 950.0
    assert metrics["total_campaign_cost"] == 460.0


def test_campaign_warehouse_tables_keep_the_test_table_a_file() -> None:
    gold = _gold()
    bronze = {"campaigns": pd.DataFrame({"a": [1]}), "profiles": pd.DataFrame({"b": [2]})}
    tables = campaign_warehouse_tables(bronze, pd.DataFrame({"c": [3]}), gold)
    assert list(tables) == [
        "bronze_campaigns",
        "bronze_profiles",
        "silver_campaign_customers",
        "gold_campaign_summary",
        "gold_campaign_funnel",
    ]


@pytest.fixture
def local_mlflow(tmp_path: Path):
    """An MLflow run in a throw-away store, as the tracked publish step has one. The run names
    its own experiment: an experiment made active by an earlier test (an end-to-end run) does
    not exist in this store."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.create_experiment(
            "publishing", artifact_location=(tmp_path / "artifacts").as_uri()
        )
        with mlflow.start_run(experiment_id=experiment) as run:
            yield run
    finally:
        mlflow.set_tracking_uri(previous)


def test_publish_campaign_run_writes_files_warehouse_and_mlflow(
    tmp_path: Path, local_mlflow
) -> None:
    config = CampaignUpliftConfig(
        data_dir=str(tmp_path / "data"),
        output_dir=str(tmp_path / "out"),
        duckdb_path=str(tmp_path / "wh.duckdb"),
    )
    bronze = {
        name: pd.DataFrame({"id": [1, 2]})
        for name in ("campaigns", "profiles", "assignments", "interactions", "transactions")
    }
    summary = publish_campaign_run(
        config,
        gold=_gold(),
        bronze=bronze,
        campaign_customers=pd.DataFrame({"customer_id": [1]}),
        report_html="<p>campaigns</p>",
        bronze_audit=[{"table": "campaigns", "rows": 2}],
        silver_audit={"categories": ["tickets"]},
        pipeline_run="run-7",
        mlflow_run_id=local_mlflow.info.run_id,
    )
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {
        *(f"{t}.{f}" for t in _gold() for f in ("csv", "parquet")),
        "campaign_report.html",
        "bronze_audit.json",
        "silver_audit.json",
        "run_summary.json",
    }
    assert json.loads((out / "run_summary.json").read_text())["pipeline_run"] == "run-7"
    assert summary["duckdb"] == str((tmp_path / "wh.duckdb").resolve())
    assert summary["files"]["campaign_summary"].endswith("campaign_summary.csv")
    with duckdb.connect(summary["duckdb"], read_only=True) as con:
        tables = {row[0] for row in con.sql("SHOW TABLES").fetchall()}
    assert tables == {
        *(f"bronze_{name}" for name in bronze),
        "silver_campaign_customers",
        "gold_campaign_summary",
        "gold_campaign_funnel",
    }

    logged = mlflow.get_run(local_mlflow.info.run_id)
    assert logged.data.params["window_days"] == "10"
    assert logged.data.params["tables"] == "{}"
    assert logged.data.metrics["C01.all.roi"] == 1.5
    assert logged.data.tags["liftlab.pipeline"] == "campaign_uplift"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(local_mlflow.info.run_id)}
    assert artifacts == {"campaign_summary.csv", "campaign_funnel.csv", "campaign_report.html"}


def test_publish_campaign_run_without_warehouse(tmp_path: Path, local_mlflow) -> None:
    config = CampaignUpliftConfig(output_dir=str(tmp_path / "out"), duckdb_path="")
    summary = publish_campaign_run(
        config,
        gold=_gold(),
        bronze={},
        campaign_customers=pd.DataFrame(),
        report_html="",
        bronze_audit=[],
        silver_audit={},
        pipeline_run="r",
        mlflow_run_id=None,
    )
    assert summary["duckdb"] is None
    assert not list(tmp_path.glob("*.duckdb"))
