"""Campaign uplift and uplift modelling end to end in a throw-away ZenML store and MLflow (slow)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from liftlab.config.uplift import load_uplift_config
from liftlab.mlops.registry import load_sklearn
from liftlab.simulate.campaigns import CampaignSimulationConfig, simulate_campaigns, write_campaigns
from liftlab.simulate.email import (
    EmailSimulationConfig,
    simulate_email_test,
    truth_column,
    write_email_test,
)
from strategies.errors import ConfigError
from tests.conftest import REPO_ROOT

REPO = REPO_ROOT


def _config(folder: Path, name: str, parameters: dict) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"parameters": parameters}))
    return path


def test_campaign_pipeline_recovers_the_truth(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import run_config

    result = simulate_campaigns(CampaignSimulationConfig(n_customers=8000, seed=9))
    write_campaigns(result, tmp_path / "data")
    out = tmp_path / "out"
    config = _config(
        tmp_path,
        "campaign_uplift_test",
        {
            "data_dir": str(tmp_path / "data"),
            "output_dir": str(out),
            "duckdb_path": str(tmp_path / "warehouse.duckdb"),
        },
    )
    summary = run_config(config)
    assert summary["campaigns"] == 4
    gold = pd.read_csv(out / "campaign_summary.csv")
    merged = gold.merge(result.truth, on=["campaign_id", "category"])
    assert len(merged) == len(result.truth)
    truth = merged["true_incremental_spend_per_customer"]
    covered = (merged["incremental_spend_ci_low"] <= truth) & (
        truth <= merged["incremental_spend_ci_high"]
    )
    assert covered.mean() >= 0.75
    overall = gold[gold["category"] == "all"].set_index("campaign_id")
    assert overall.loc["C02", "decision"] in {"inconclusive", "neutral"}  # no true uplift
    assert overall.loc["C01", "roi_decision"] == "profitable"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        tables = {row[0] for row in con.sql("SHOW TABLES").fetchall()}
        assert {"bronze_transactions", "silver_campaign_customers", "gold_campaign_summary"} <= (
            tables
        )
        n = con.sql("SELECT count(*) FROM gold_campaign_summary").fetchall()[0][0]
    assert n == len(gold)
    report = (out / "campaign_report.html").read_text()
    assert "C01" in report and "<svg" in report
    client = mlflow.MlflowClient(tracking_uri=zenml_stack.mlflow_tracking_uri)
    run = client.get_run(summary["mlflow_run_id"])
    assert "C01.all.roi" in run.data.metrics
    # `liftlab doctor` tells a live run from an orphan by these tags
    assert run.data.tags.get("liftlab.pid") and run.data.tags.get("liftlab.host")
    assert run.data.metrics["C01.tickets.incremental_spend_per_customer"] == pytest.approx(
        gold.set_index(["campaign_id", "category"]).loc[
            ("C01", "tickets"), "incremental_spend_per_customer"
        ]
    )


def test_campaign_pipeline_refuses_bad_exports_and_writes_nothing(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    write_campaigns(
        simulate_campaigns(CampaignSimulationConfig(n_customers=2000, seed=3)), tmp_path / "d"
    )
    tx = pd.read_csv(tmp_path / "d" / "transactions.csv")
    tx.loc[5, "amount"] = -20.0
    tx.to_csv(tmp_path / "d" / "transactions.csv", index=False)
    out = tmp_path / "out"
    config = _config(
        tmp_path,
        "campaign_uplift_bad",
        {"data_dir": str(tmp_path / "d"), "output_dir": str(out), "duckdb_path": ""},
    )
    with pytest.raises(PipelineRunFailed, match="transactions"):
        run_config(config)
    assert not out.exists()


def test_campaign_failure_after_the_engine_step_removes_the_staged_rows(
    zenml_stack, tmp_path, monkeypatch
) -> None:
    """The engine step stages bronze/silver rows for publish; when a step in between fails,
    the pipeline's failure hook removes them (nothing half-written is left in output_dir)."""
    import steps.reporting.campaign_uplift as reporting
    from liftlab.ops.runner import PipelineRunFailed, run_config

    def broken_report(**_: object) -> str:
        raise RuntimeError("report renderer broke")

    monkeypatch.setattr(reporting, "render_campaign_report", broken_report)
    write_campaigns(
        simulate_campaigns(CampaignSimulationConfig(n_customers=1500, seed=4)), tmp_path / "d"
    )
    out = tmp_path / "out"
    config = _config(
        tmp_path,
        "campaign_uplift_report_fails",
        {
            "data_dir": str(tmp_path / "d"),
            "output_dir": str(out),
            "duckdb_path": str(tmp_path / "warehouse.duckdb"),
        },
    )
    with pytest.raises(PipelineRunFailed, match="report renderer broke"):
        run_config(config)
    assert not out.exists() or not list(out.rglob("*")), list(out.rglob("*"))
    assert not (tmp_path / "warehouse.duckdb").exists()


def _assert_targeting_recovers_the_truth(out: Path, sim, *, value: float, cost: float) -> None:
    """Judge the published targeting by the simulator's truth (each customer's own effect),
    which the pipeline never saw: the predicted uplift tracks the true one, the average effects
    lie within 3.3 standard errors of the true averages (a 99.9 % check each: six 95 %
    intervals would miss one in four seeds), and the policy earns more, in truth, than
    e-mailing everybody the better e-mail or nobody."""
    targeting = pd.read_csv(out / "uplift_targeting.csv").merge(sim.truth, on="customer_id")
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        truth = targeting[truth_column("visit", arm)]
        assert targeting[f"uplift_{arm}"].corr(truth) > 0.5, arm
    effects = pd.read_csv(out / "average_effects.csv")
    for row in effects.itertuples():
        true = sim.summary["average_effect"][row.metric][row.variant]
        assert abs(row.abs_diff - true) < 3.3 * row.abs_se, (row.metric, row.variant, true)
    chosen = np.where(
        targeting["best_arm"] == "Mens E-Mail",
        targeting[truth_column("visit", "Mens E-Mail")],
        targeting[truth_column("visit", "Womens E-Mail")],
    )
    contacted = targeting["expected_incremental_profit"] > 0
    policy = float(np.mean(np.where(contacted, chosen * value - cost, 0.0)))
    everybody = max(
        float(np.mean(targeting[truth_column("visit", arm)] * value - cost))
        for arm in ("Mens E-Mail", "Womens E-Mail")
    )
    assert policy > everybody > 0, (policy, everybody)


def test_uplift_pipeline_ranks_targets_and_registers(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import run_config

    sim = simulate_email_test(EmailSimulationConfig(n_customers=6000, seed=1))
    data = write_email_test(sim, tmp_path / "email")["email_test.csv"]
    out = tmp_path / "out"
    parameters = {
        "data_path": str(data),
        "id_column": "customer_id",
        "outcomes": [
            {"name": "visit", "column": "visit", "type": "binary", "value_per_unit": 1.0},
            {"name": "spend", "column": "spend", "type": "continuous", "model": False},
        ],
        "learners": [
            {"name": "t_learner", "base": {"name": "logistic"}},
            {"name": "s_learner", "base": {"name": "hist_gradient_boosting"}},
        ],
        "policy_outcome": "visit",
        "cost_per_contact": 0.05,
        "n_bootstrap": 50,
        "model_name": "test-uplift",
        "duckdb_path": str(tmp_path / "w.duckdb"),
        "output_dir": str(out),
    }
    summary = run_config(_config(tmp_path, "uplift_test", parameters))
    comparison = pd.read_csv(out / "learner_comparison.csv")
    womens = comparison[(comparison["arm"] == "Womens E-Mail") & comparison["is_best"]]
    assert womens["qini_coefficient"].iloc[0] > 0  # better than random targeting
    effects = pd.read_csv(out / "average_effects.csv")
    visit = effects[(effects["metric"] == "visit") & (effects["variant"] == "Womens E-Mail")]
    assert visit["abs_ci_low"].iloc[0] > 0
    summary_table = pd.read_csv(out / "targeting_summary.csv")
    web = summary_table[(summary_table["feature"] == "channel") & (summary_table["value"] == "Web")]
    phone = summary_table[
        (summary_table["feature"] == "channel") & (summary_table["value"] == "Phone")
    ]
    assert web["share_Womens E-Mail"].iloc[0] > phone["share_Womens E-Mail"].iloc[0]
    policy = pd.read_csv(out / "policy_comparison.csv")
    model_row = policy[(policy["outcome"] == "visit") & (policy["policy"] == "model")].iloc[0]
    nobody = policy[(policy["outcome"] == "visit") & (policy["policy"] == "send_nobody")].iloc[0]
    assert model_row["profit_per_customer"] > nobody["profit_per_customer"]
    _assert_targeting_recovers_the_truth(out, sim, value=1.0, cost=0.05)
    assert summary["registered"]["visit"]["aliases_moved"] == ["challenger", "champion"]
    mlflow.set_tracking_uri(zenml_stack.mlflow_tracking_uri)
    model = load_sklearn("models:/test-uplift-visit@champion")
    frame = pd.read_csv(data).head(3)
    predicted = model.predict(frame[["zip_code", "channel", "recency", "history", "mens",
                                     "womens", "newbie"]])  # fmt: skip
    assert list(predicted.columns) == ["Mens E-Mail", "Womens E-Mail"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM gold_uplift_targeting").fetchall()[0][0] == 6000
    assert "Womens E-Mail" in (out / "uplift_report.html").read_text()

    # the same data again: the new learner ties the champion on the same holdout (not
    # promoted) and, being the same model, is not registered again
    again = run_config(_config(tmp_path, "uplift_test_again", parameters))
    assert again["decisions"]["visit"].startswith("Not promoted")
    assert again["registered"]["visit"]["unchanged"] is True
    assert again["registered"]["visit"]["aliases_moved"] == []
    client = mlflow.MlflowClient(tracking_uri=zenml_stack.mlflow_tracking_uri)
    versions = client.search_model_versions("name = 'test-uplift-visit'")
    assert [str(v.version) for v in versions] == ["1"]
    # another learner set: a different model, registered as challenger; the champion stays
    other = parameters | {"learners": [{"name": "s_learner", "base": {"name": "logistic"}}]}
    third = run_config(_config(tmp_path, "uplift_test_other", other))
    assert third["registered"]["visit"]["aliases_moved"] in (
        ["challenger"],
        ["challenger", "champion"],
    )
    assert str(client.get_model_version_by_alias("test-uplift-visit", "challenger").version) == "2"


def test_uplift_on_hillstrom(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import run_config
    from tests.conftest import shared_file

    path = shared_file("hillstrom.csv")
    content = yaml.safe_load((REPO / "configs" / "uplift_hillstrom.yaml").read_text())
    parameters = content["parameters"]
    parameters.update(
        data_path=str(path),
        output_dir=str(tmp_path / "out"),
        duckdb_path="",
        model_name="test-hillstrom",
        n_bootstrap=50,
    )
    summary = run_config(_config(tmp_path, "uplift_hillstrom_test", parameters))
    effects = pd.read_csv(tmp_path / "out" / "average_effects.csv").set_index(["metric", "variant"])
    # the published Hillstrom result: both e-mails raise visits and spend; Mens more than Womens
    assert effects.loc[("visit", "Mens E-Mail"), "abs_ci_low"] > 0
    assert effects.loc[("visit", "Womens E-Mail"), "abs_ci_low"] > 0
    assert (
        effects.loc[("visit", "Mens E-Mail"), "abs_diff"]
        > effects.loc[("visit", "Womens E-Mail"), "abs_diff"]
    )
    assert summary["policy_outcome"] == "spend"
    assert 0 < summary["share_to_email"] <= 1


def test_bad_uplift_configs_name_the_problem() -> None:
    base = {"data_path": "x.csv", "outcomes": [{"name": "v", "column": "v", "type": "binary"}]}
    with pytest.raises(ConfigError, match="policy_outcome"):
        load_uplift_config({**base, "policy_outcome": "spend"})
    with pytest.raises(ConfigError, match="z_learner"):
        load_uplift_config({**base, "learners": [{"name": "z_learner"}]})
    with pytest.raises(ConfigError, match="also listed"):
        load_uplift_config({**base, "arms": ["No E-Mail"]})
    with pytest.raises(ConfigError, match="model: true"):
        load_uplift_config(
            {**base, "outcomes": [{"name": "v", "column": "v", "type": "binary", "model": False}]}
        )
