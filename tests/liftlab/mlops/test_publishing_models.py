"""What the model pipelines publish (liftlab.mlops.publishing): run summaries and output files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from liftlab.mlops.publishing import (
    UPLIFT_MLFLOW_FILES,
    inference_run_summary,
    publish_uplift_outputs,
    training_run_summary,
    uplift_run_summary,
    write_training_outputs,
)

TRAINING_INFO = {
    "mlflow_run_id": "r1",
    "best_candidate": "gbm",
    "holdout_scores": {"r2": 0.4},
    "baseline_scores": {"r2": 0.0},
}
DECISION = {"promote": False, "summary": "Not promoted: x.", "champion": None}


def test_training_summary_and_files(tmp_path: Path) -> None:
    summary = training_run_summary(
        pipeline_run="run-7",
        model_name="m",
        output_dir=str(tmp_path / "out"),
        training_info=TRAINING_INFO,
        promotion_decision=DECISION,
        data_info={"sha256": "ab", "source": "x.csv"},
    )
    assert list(summary) == [
        "pipeline_run", "mlflow_run_id", "model_name", "best_candidate", "holdout_scores",
        "baseline_scores", "promote", "promotion_summary", "data_sha256", "output_dir",
    ]  # fmt: skip
    assert summary["promote"] is False and summary["promotion_summary"] == "Not promoted: x."
    assert summary["output_dir"] == str((tmp_path / "out").resolve())
    table = pd.DataFrame({"a": [1]})
    files = write_training_outputs(
        str(tmp_path / "out"),
        model_comparison=table,
        holdout_predictions=table,
        feature_importance=table,
        report_html="<html/>",
        promotion_decision=DECISION,
        cleaning_audit=[{"rows_in": 3}],
        validation={"success": True},
        summary=summary,
    )
    assert set(files) == {
        "model_comparison", "holdout_predictions", "feature_importance", "training_report.html",
        "promotion_decision.json", "cleaning_audit.json", "validation.json", "run_summary.json",
    }  # fmt: skip
    assert files["promotion_decision.json"].read_text() == json.dumps(DECISION, indent=2)
    assert json.loads(files["run_summary.json"].read_text()) == summary


def _policy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["spend", "spend", "visit"],
            "policy": ["model", "send_nobody", "model"],
            "incremental_profit_per_customer": [0.25, 0.0, 9.0],
            "incremental_ci_low": [-0.1, 0.0, 1.0],
            "incremental_ci_high": [0.6, 0.0, 12.0],
        }
    )


def test_uplift_summary_reads_the_policy_outcome() -> None:
    summary = uplift_run_summary(
        pipeline_run="run-1",
        output_dir="out",
        policy_outcome="spend",
        uplift_info={
            "mlflow_run_id": "r",
            "models": {"spend": {"learner": "t"}},
            "holdout_scores": {"spend": 0.1},
        },
        uplift_decisions={"spend": {"summary": "Promoted: first champion of 'm-spend'."}},
        policy_comparison=_policy(),
        uplift_targeting=pd.DataFrame({"best_arm": ["A", None, None, "B"]}),
    )
    assert summary["share_to_email"] == 0.5
    assert summary["policy_incremental_profit_per_customer"] == 0.25
    assert summary["policy_incremental_ci"] == [-0.1, 0.6]
    assert summary["best_learners"] == {"spend": "t"}
    assert summary["decisions"] == {"spend": "Promoted: first champion of 'm-spend'."}
    missing = uplift_run_summary(
        pipeline_run="run-1",
        output_dir="out",
        policy_outcome="conversion",
        uplift_info={"models": {}, "holdout_scores": {}},
        uplift_decisions={},
        policy_comparison=_policy(),
        uplift_targeting=pd.DataFrame({"best_arm": [None]}),
    )
    assert missing["policy_incremental_profit_per_customer"] is None
    assert missing["policy_incremental_ci"] is None
    assert missing["mlflow_run_id"] is None


def test_uplift_outputs_files_and_gold_table(tmp_path: Path) -> None:
    targeting = pd.DataFrame({"customer_id": [1, 2], "best_arm": ["A", None]})
    tables = {
        name: pd.DataFrame({"x": [1]})
        for name in ("average_effects", "learner_comparison", "policy_comparison")
    }
    tables["uplift_targeting"] = targeting
    db = tmp_path / "w.duckdb"
    published = publish_uplift_outputs(
        str(tmp_path / "out"), str(db), tables, "<html/>", {"pipeline_run": "r"}
    )
    assert published["duckdb"] == str(db.resolve())
    assert all(name in published["files"] for name in UPLIFT_MLFLOW_FILES)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM gold_uplift_targeting").fetchall()[0][0] == 2
    without = publish_uplift_outputs(str(tmp_path / "o2"), "", tables, "<html/>", {})
    assert without["duckdb"] is None


def test_inference_summary() -> None:
    summary = inference_run_summary(
        pipeline_run="r",
        mlflow_run_id="m",
        model_ref={"uri": "models:/m/2", "version": "2"},
        rows_scored=3,
        files={"predictions": Path("/tmp/p.parquet")},
        database=None,
        table="gold",
    )
    assert summary["duckdb"] is None and summary["files"] == {"predictions": "/tmp/p.parquet"}
    with_db = inference_run_summary(
        pipeline_run="r",
        mlflow_run_id="m",
        model_ref={"uri": "u", "version": "2"},
        rows_scored=3,
        files={},
        database=Path("/tmp/w.duckdb"),
        table="gold",
    )
    assert with_db["duckdb"] == {"database": "/tmp/w.duckdb", "table": "gold"}


def _summary_text(summary: dict, pipeline: str) -> str:
    from liftlab.ops.summary import summary_lines

    return "\n".join(text for text, _ in summary_lines({**summary, "pipeline": pipeline}))


def test_cli_uplift_summary_words_the_profit_from_its_interval() -> None:
    base = {"share_to_email": 0.92, "policy_outcome": "spend"}
    out = _summary_text(
        {
            **base,
            "policy_incremental_profit_per_customer": 0.061,
            "policy_incremental_ci": [-0.083, 0.2],
        },
        "uplift_model_pipeline",
    )
    assert "not shown to beat contacting nobody" in out and "95 % CI -0.083 … +0.200" in out
    out = _summary_text(
        {
            **base,
            "policy_incremental_profit_per_customer": 0.12,
            "policy_incremental_ci": [0.05, 0.2],
        },
        "uplift_model_pipeline",
    )
    assert "not shown" not in out and "95 % CI +0.050 … +0.200" in out


def test_cli_marketing_mix_summary_words_the_gain_from_its_interval() -> None:
    base = {
        "shares": {"tv": 0.3, "search": 0.7},
        "roas": {"tv": 1.4, "search": 2.1},
        "recommended_change_pct": {"tv": -0.2, "search": 0.1},
        "horizon": 13,
        "interval_level": 0.9,
        "prob_gain_positive": 0.97,
        "expected_gain": 31_654.0,
    }
    out = _summary_text({**base, "gain_ci": [18_036.0, 61_717.0]}, "marketing_mix_pipeline")
    assert "search 70% (ROAS 2.10), tv 30% (ROAS 1.40)" in out
    assert "tv -20%, search +10%" in out
    assert "expected gain 31,654 over 13 periods (90% CI 18,036 to 61,717" in out
    out = _summary_text({**base, "gain_ci": [-1_000.0, 61_717.0]}, "marketing_mix_pipeline")
    assert "not shown to gain over 13 periods (90% CI -1,000 to 61,717" in out
    assert "expected gain" not in out
