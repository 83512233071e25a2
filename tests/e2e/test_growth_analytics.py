"""The growth-analytics pipeline end to end in a throw-away ZenML store and MLflow (slow).

Checks are against the simulator's planted truth (``liftlab.simulate.ecommerce``: latent
personas and persona-dependent effects), the published tables and what the registry holds.
One run is shared by the tests that read its outputs.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from liftlab.mlops.persona_model import load_persona_model
from liftlab.simulate.ecommerce import (
    EcommerceSimulationConfig,
    simulate_ecommerce,
    write_ecommerce,
)
from strategies.stats.schema import RESULT_COLUMNS

#: Fewer resamples and starts than the shipped config: same rules, a faster run.
FAST_PERSONAS = {"k_min": 2, "k_max": 6, "n_init": 10, "n_bootstrap": 20}


def _config(folder: Path, name: str, parameters: dict) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"parameters": parameters}))
    return path


@pytest.fixture(scope="module")
def growth_run(zenml_stack, tmp_path_factory):
    from liftlab.ops.runner import run_config

    folder = tmp_path_factory.mktemp("growth")
    files = write_ecommerce(simulate_ecommerce(EcommerceSimulationConfig(seed=5)), folder / "d")
    out = folder / "out"
    config = _config(
        folder,
        "growth_analytics_test",
        {
            "data_dir": str(folder / "d"),
            "personas": FAST_PERSONAS,
            "persona_truth": str(files["truth_personas"]),
            "model_name": "test-personas",
            "duckdb_path": str(folder / "warehouse.duckdb"),
            "output_dir": str(out),
        },
    )
    return run_config(config), files, out, folder / "warehouse.duckdb", zenml_stack


def test_growth_pipeline_publishes_the_gold_tables_and_report(growth_run) -> None:
    summary, _, out, warehouse, _ = growth_run
    assert summary["experiments"] == 8
    assert (out / "growth_report.html").read_text().count("E01") > 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {row[0] for row in con.sql("SHOW TABLES").fetchall()}
        analysis_rows = con.sql("SELECT COUNT(*) FROM gold_growth_analysis_table").fetchall()[0][0]
        results = con.sql("SELECT * FROM gold_growth_experiment_results").df()
    assert {
        "gold_growth_analysis_table",
        "gold_growth_experiment_results",
        "gold_personas",
        "gold_persona_lift",
        "bronze_sessions",
        "silver_growth_analysis",
    } <= tables
    assert analysis_rows == len(pd.read_csv(out / "growth_analysis_table.csv"))
    assert list(results.columns)[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    assert not list(out.glob(".liftlab-rows-*"))  # staged rows consumed and removed


def test_personas_recover_the_latent_ones_and_the_registered_model_assigns_them(
    growth_run,
) -> None:
    summary, files, out, _, stack = growth_run
    # 0.55: the simulator's ceiling is ~0.7 (users whose history contradicts their persona
    # cannot be told apart from these features); chance is 0
    assert summary["persona_ari"] >= 0.55
    assert summary["version"] and "challenger" in summary["aliases_moved"]
    import mlflow

    mlflow.set_tracking_uri(stack.mlflow_tracking_uri)
    model = load_persona_model(f"models:/test-personas/{summary['version']}")
    features = pd.read_csv(out / "growth_analysis_table.csv")[["user_id", "persona"]]
    assigned = pd.read_csv(out / "persona_assignments.csv")
    assert set(features["persona"].dropna()) <= set(model.names)
    assert len(assigned) > 0


def test_the_persona_helped_by_the_discount_label_is_the_bargain_hunters(growth_run) -> None:
    """E01 raises purchases of bargain hunters only (planted): the recommendation targets the
    persona that holds most of the true bargain hunters."""
    _, files, out, _, _ = growth_run
    recs = pd.read_csv(out / "growth_recommendations.csv")
    e01 = recs[(recs["experiment_id"] == "E01") & (recs["metric"] == "purchase_conversion")]
    assert e01["action"].tolist() == ["ship to personas only"]
    truth = pd.read_csv(files["truth_personas"], dtype={"user_id": str})
    assigned = pd.read_csv(out / "persona_assignments.csv", dtype={"user_id": str})
    merged = assigned.merge(truth, on="user_id", suffixes=("", "_true"))
    hunters = merged[merged["persona_true"] == "bargain_hunter"]["persona"].value_counts()
    assert e01["personas"].iloc[0] == hunters.index[0]


def test_bad_orders_stop_the_run_and_leave_nothing(zenml_stack, tmp_path) -> None:
    from liftlab.ops.runner import PipelineRunFailed, run_config

    write_ecommerce(simulate_ecommerce(EcommerceSimulationConfig(n_users=400, seed=1)), tmp_path)
    orders = pd.read_csv(tmp_path / "orders.csv", dtype=str, keep_default_na=False)
    orders.loc[2, "amount"] = "-5"
    orders.to_csv(tmp_path / "orders.csv", index=False)
    out = tmp_path / "out"
    config = _config(
        tmp_path,
        "growth_analytics_bad",
        {
            "data_dir": str(tmp_path),
            "personas": FAST_PERSONAS,
            "duckdb_path": str(tmp_path / "w.duckdb"),
            "output_dir": str(out),
        },
    )
    with pytest.raises(PipelineRunFailed, match="orders"):
        run_config(config)
    assert not out.exists() or not list(out.rglob("*"))
    assert not (tmp_path / "w.duckdb").exists()


def _hillstrom_like(path: Path, n: int = 3_000, seed: int = 3) -> Path:
    """A file shaped like Hillstrom's, with a planted effect: the e-mails raise visits and
    conversion of returning customers only (new customers: no effect)."""
    rng = np.random.default_rng(seed)
    newbie = rng.integers(0, 2, n)
    segment = rng.choice(["No E-Mail", "Mens E-Mail", "Womens E-Mail"], n)
    mailed = segment != "No E-Mail"
    returning_mailed = mailed & (newbie == 0)
    visit = rng.random(n) < np.where(returning_mailed, 0.35, 0.12)
    conversion = visit & (rng.random(n) < np.where(returning_mailed, 0.30, 0.10))
    mens = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "recency": np.where(newbie == 1, rng.integers(1, 4, n), rng.integers(4, 13, n)),
            "history": np.round(np.where(newbie == 1, 40, 400) * rng.lognormal(0, 0.3, n), 2),
            "mens": mens,
            "womens": np.where(mens == 1, rng.integers(0, 2, n), 1),
            "zip_code": rng.choice(["Urban", "Surburban", "Rural"], n),
            "newbie": newbie,
            "channel": rng.choice(["Phone", "Web", "Multichannel"], n),
            "segment": segment,
            "visit": visit.astype(int),
            "conversion": conversion.astype(int),
            "spend": np.round(np.where(conversion, rng.uniform(30, 300, n), 0.0), 2),
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_hillstrom_source_finds_personas_and_the_email_effect_per_persona(
    zenml_stack, tmp_path
) -> None:
    """``source: hillstrom``: personas from the pre-send columns, lift per persona on the
    source's metrics, the gold tables and a registered persona model; the planted effect (the
    e-mails help returning customers, not new ones) comes back in the recommendations."""
    from liftlab.ops.runner import run_config

    data = _hillstrom_like(tmp_path / "hillstrom_like.csv")
    out = tmp_path / "out"
    config = _config(
        tmp_path,
        "growth_analytics_hillstrom_test",
        {
            "source": "hillstrom",
            "data_path": str(data),
            "personas": FAST_PERSONAS,
            "model_name": "test-personas-hillstrom",
            "duckdb_path": str(tmp_path / "w.duckdb"),
            "output_dir": str(out),
        },
    )
    summary = run_config(config)
    assert summary["experiments"] == 2 and summary["primary_metric"] == "conversion"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        lift = con.sql("SELECT * FROM gold_persona_lift").df()
        personas = con.sql("SELECT * FROM gold_personas").df()
        tables = {row[0] for row in con.sql("SHOW TABLES").fetchall()}
    assert not any(t.startswith("bronze_") for t in tables)  # nothing staged for a file source
    assert set(lift["metric"]) == {"conversion", "visit", "spend"}
    assert "z_newbie" in personas.columns and "z_recency_months" in personas.columns
    recs = pd.read_csv(out / "growth_recommendations.csv")
    conv = recs[recs["metric"] == "conversion"]
    assert set(conv["experiment_id"]) == {"mens_email", "womens_email"}
    # the planted effect: where a persona is named as helped, it is a returning one
    assigned = pd.read_csv(out / "persona_assignments.csv", dtype={"user_id": str})
    newbie = pd.read_csv(data)["newbie"].to_numpy()
    assigned["newbie"] = newbie[assigned["user_id"].str[1:].astype(int).to_numpy() - 1]
    share_new = assigned.groupby("persona")["newbie"].mean()
    helped = lift[(lift["metric"] == "visit") & (lift["decision"] == "win")]
    assert len(helped) > 0
    assert all(share_new[s.removeprefix("persona=")] < 0.5 for s in helped["segment"])
    report = (out / "growth_report.html").read_text()
    assert "Men's e-mail" in report and "Conversion" in report
