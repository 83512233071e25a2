"""MLflow logging (liftlab.mlops.tracking) and the registry glue (liftlab.mlops.registry) against
a throw-away SQLite MLflow, without ZenML: run and artifact names, the logged models, champion
scoring and registration tags."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from liftlab.config.training import load_training_config
from liftlab.mlops import registry, tracking
from liftlab.simulate.ads import AdSimulationConfig, simulate_ads
from strategies.promotion import decide_promotion
from strategies.training import plan_split, run_training_round
from strategies.uplift.workflow import OutcomeSpec, holdout_rows, run_uplift_modelling


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A private tracking + registry database and artifact folder for this module."""
    folder = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment("unit", artifact_location=(folder / "art").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    yield mlflow.MlflowClient()
    mlflow.end_run()
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def _text(client, run_id: str, path: str) -> str:
    return Path(client.download_artifacts(run_id, path)).read_text(encoding="utf-8")


def _artifacts(client, run_id: str, folder: str | None = None) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id, folder)}


# -- training ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def training(store):
    ads = simulate_ads(AdSimulationConfig(n_ads=300, seed=5)).data
    cfg = load_training_config(
        {
            "data_path": "ads.csv",
            "candidates": [{"name": "baseline_mean"}, {"name": "poisson"}],
            "cv_folds": 2,
            "importance_repeats": 1,
            "model_name": "unit-conversion",
        }
    )
    plan = plan_split(ads, cfg.split, cfg.cv_folds)
    result = run_training_round(ads, plan, **cfg.training_arguments())
    data_info = {"source": "ads.csv", "sha256": "ab" * 32, "rows": len(ads)}
    with mlflow.start_run() as run:
        info = tracking.log_training_round(
            result,
            params=tracking.flatten_params(cfg),
            data_info={**data_info, "rows_clean": len(ads)},
            split_summary=plan.summary(),
            model_metadata=cfg.model_metadata(),
        )
    return {"ads": ads, "cfg": cfg, "plan": plan, "result": result, "info": info, "run": run}


def test_training_round_logs_a_parent_and_one_nested_run_per_candidate(store, training) -> None:
    info, result, run = training["info"], training["result"], training["run"]
    assert info["mlflow_run_id"] == run.info.run_id
    assert info["best_candidate"] == result.best and info["baseline_candidate"] == "baseline_mean"
    assert info["input_columns"] == training["cfg"].input_columns()
    assert info["split"] == training["plan"].summary()
    parent = store.get_run(run.info.run_id)
    assert parent.data.tags["liftlab.pipeline"] == "training"
    assert parent.data.params["target"] == "Approved_Conversion"
    assert {"model_comparison.csv", "plots"} <= _artifacts(store, run.info.run_id)
    assert _artifacts(store, run.info.run_id, "plots") == {"plots/model_comparison.png"}
    logged = pd.read_csv(store.download_artifacts(run.info.run_id, "model_comparison.csv"))
    assert logged["candidate"].tolist() == result.table["candidate"].tolist()
    children = store.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'",
    )
    assert {c.data.tags["liftlab.candidate"] for c in children} == {"baseline_mean", "poisson"}
    for child in children:
        assert "feature_importance.csv" in _artifacts(store, child.info.run_id)
        assert _artifacts(store, child.info.run_id, "plots") == {
            "plots/predicted_vs_actual.png",
            "plots/residuals.png",
            "plots/feature_importance.png",
        }
        png = Path(store.download_artifacts(child.info.run_id, "plots/residuals.png"))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_model_carries_what_inference_needs(store, training) -> None:
    info, cfg = training["info"], training["cfg"]
    model_info = mlflow.models.get_model_info(info["model_uri"])
    meta = model_info.metadata["liftlab"]
    assert meta["candidate"] == info["best_candidate"] and meta["data_sha256"] == "ab" * 32
    assert meta["scoring_rules"] == cfg.scoring_rules().to_dict()
    assert meta["holdout"] == info["holdout_scores"]
    inputs = [c["name"] for c in model_info.signature.inputs.to_dict()]
    assert inputs == cfg.input_columns()
    # pip requirements pinned to what is installed (MLflow's inference is skipped, not lost)
    from importlib.metadata import version

    folder = Path(mlflow.artifacts.download_artifacts(info["model_uri"]))
    lines = (folder / "requirements.txt").read_text().split()
    for package in ("liftlab", "scikit-learn", "skops", "numpy", "pandas", "scipy"):
        assert f"{package}=={version(package)}" in lines, lines
    assert any(line.startswith("mlflow==") for line in lines), lines


def test_promotion_decision_and_registration_are_logged(store, training) -> None:
    decision = {
        "promote": True,
        "summary": "Promoted: first.",
        "champion": {"version": "1", "scores": {"r2": 0.5}},
        "reasons": ["x"],
    }
    with mlflow.start_run() as run:
        tracking.log_promotion_decision(decision)
        tracking.log_registration({"version": "3", "aliases_moved": ["challenger", "champion"]})
    logged = store.get_run(run.info.run_id).data
    assert logged.metrics == {"promotion.promote": 1.0, "champion.holdout_r2": 0.5}
    assert logged.tags["liftlab.promotion"] == "promote"
    assert logged.tags["liftlab.aliases_moved"] == "challenger,champion"
    text = _text(store, run.info.run_id, "promotion_decision.json")
    assert text == json.dumps(decision, indent=2, default=str)


def test_training_outputs_are_logged_from_memory(store, training) -> None:
    predictions, importance = training["result"].diagnostics[training["result"].best]
    with mlflow.start_run() as run:
        tracking.log_training_outputs(
            report_html="<html>é</html>",
            holdout_predictions=predictions,
            feature_importance=importance,
        )
    assert _artifacts(store, run.info.run_id) == {
        "training_report.html",
        "holdout_predictions.csv",
        "feature_importance.csv",
    }
    assert _text(store, run.info.run_id, "training_report.html") == "<html>é</html>"
    csv = _text(store, run.info.run_id, "holdout_predictions.csv")
    assert csv == predictions.to_csv(index=False)


# -- registry glue -----------------------------------------------------------------------------


def test_champion_scoring_registration_and_pinning(store, training) -> None:
    name, info = "unit-conversion", training["info"]
    ads, plan = training["ads"], training["plan"]
    holdout = ads.iloc[plan.test].reset_index(drop=True)
    assert registry.score_regression_champion(name, holdout, "Approved_Conversion") is None

    tags = registry.training_version_tags(
        training_info=info,
        decision={"promote": True, "summary": "Promoted."},
        data_info={"sha256": "ab" * 32, "source": "ads.csv"},
        target="Approved_Conversion",
        pipeline_run="run-1",
    )
    assert tags[registry.DATA_HASH_TAG] == "ab" * 32 and tags["liftlab.promotion"] == "promoted"
    assert tags["holdout_poisson_deviance"] == f"{info['holdout_scores']['poisson_deviance']:.6g}"
    registered = registry.register_and_alias(
        model_id=info["model_id"], name=name, tags=tags, promote=True, description="Predicts x."
    )
    assert registered["aliases_moved"] == ["challenger", "champion"]
    assert store.get_registered_model(name).description == "Predicts x."

    champion = registry.score_regression_champion(name, holdout, "Approved_Conversion")
    assert champion["version"] == registered["version"] and "error" not in champion
    for metric, value in champion["scores"].items():  # the same rows score the same
        assert value == pytest.approx(info["holdout_scores"][metric])
    broken = registry.score_regression_champion(
        name, holdout.drop(columns=["Clicks"]), "Approved_Conversion"
    )
    assert "scores" not in broken and "missing column(s): Clicks" in broken["error"]
    decision = decide_promotion(
        model_name=name,
        challenger_label="x",
        challenger_model="poisson",
        challenger_scores=info["holdout_scores"],
        baseline_scores={k: v * 10 for k, v in info["holdout_scores"].items()},
        metric="poisson_deviance",
        margin=0.01,
        champion=broken,
    )
    assert not decision.promote and "could not be scored" in decision.summary

    ref = registry.pinned_model_ref(name)
    assert ref["requested"] == f"models:/{name}@champion"
    assert ref["uri"] == f"models:/{name}/{registered['version']}"
    assert [c for c, _ in ref["inputs"]] == training["cfg"].input_columns()
    assert ref["trained_on_sha256"] == "ab" * 32 and ref["target"] == "Approved_Conversion"
    assert registry.model_uri(name, version=4) == f"models:/{name}/4"


# -- uplift ------------------------------------------------------------------------------------


def _email(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "channel": rng.choice(["Web", "Phone"], n),
            "recency": rng.integers(1, 13, n),
            "arm": rng.choice(["ctl", "B"], n),
        }
    )
    web = (frame["channel"] == "Web").to_numpy()
    frame["y"] = (rng.random(n) < 0.2 + 0.3 * web * (frame["arm"] == "B")).astype(int)
    return frame


def test_uplift_round_logs_learner_runs_and_models_then_scores_the_champion(store) -> None:
    frame = _email()
    spec = {
        "name": "t_learner",
        "base": {"name": "logistic"},
        "preprocessor": {"categorical": ["channel"], "numeric": ["recency"]},
    }
    run = run_uplift_modelling(
        frame, treatment_column="arm", control="ctl", arms=["B"],
        features=["channel", "recency"], outcomes=[OutcomeSpec("y", "y", 1.0, [spec])],
        policy_outcome="y", cost_per_contact=0.1, test_size=0.3, seed=0, n_bootstrap=20,
    )  # fmt: skip
    with mlflow.start_run() as parent:
        info = tracking.log_uplift_round(
            run,
            params={"seed": "0"},
            input_example=frame[["channel", "recency"]].head(5),
            control="ctl",
            arms=["B"],
            rank_by="qini_coefficient",
            data_info={"sha256": None},
        )
    assert info["mlflow_run_id"] == parent.info.run_id
    assert info["models"]["y"]["learner"] == info["models"]["y"]["model"] == "t_learner"
    assert info["test_idx"] == run.test_idx.tolist()
    logged = store.get_run(parent.info.run_id).data
    assert logged.metrics["y.best.qini_coefficient"] == pytest.approx(run.holdout_scores["y"])
    assert logged.tags["liftlab.data_sha256"] == "None"  # as before: str() of the SQL source's
    children = store.search_runs(
        [store.get_run(parent.info.run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert [c.info.run_name for c in children] == ["y:t_learner"]
    assert "B.qini_coefficient" in children[0].data.metrics

    name = "unit-uplift-y"
    holdout = holdout_rows(frame, "arm", ["ctl", "B"], info["test_idx"])
    scoring = {
        "features": ["channel", "recency"],
        "treatment_column": "arm",
        "outcome_column": "y",
        "control": "ctl",
        "metric": "qini_coefficient",
    }
    assert registry.score_uplift_champion(name, holdout, **scoring) is None
    tags = registry.uplift_version_tags(
        outcome="y", learner="t_learner", decision={"promote": True}, pipeline_run="r"
    )
    registry.register_and_alias(
        model_id=info["models"]["y"]["model_id"], name=name, tags=tags, promote=True
    )
    champion = registry.score_uplift_champion(name, holdout, **scoring)
    assert champion["scores"]["qini_coefficient"] == pytest.approx(run.holdout_scores["y"])
    broken = registry.score_uplift_champion(name, holdout.drop(columns=["channel"]), **scoring)
    assert "channel" in broken["error"]


# -- A/B and batch inference -------------------------------------------------------------------


def test_ab_run_artifacts_keep_their_names(store) -> None:
    results = pd.DataFrame(
        {"experiment": ["e"], "variant": ["B"], "metric": ["ctr"], "segment": ["all"],
         "rel_lift": [0.1], "abs_diff": [0.01], "p_value": [0.02], "p_value_adjusted": [0.04],
         "decision": ["win"]}
    )  # fmt: skip
    srm = pd.DataFrame({"experiment": ["e"], "srm_detected": [False]})
    run_id = tracking.log_ab_run(
        config={"alpha": 0.05, "metrics": [{"name": "ctr"}]},
        results=results,
        srm=srm,
        audits=[{"strategy": "x", "rows_in": np.int64(3)}],
        validation={"success": True},
        report_html="<html/>",
        data_info={"source": "f.csv", "sha256": "cd", "rows": 3},
        extra_tables={"heterogeneity": results, "sequential_looks": pd.DataFrame()},
    )
    mlflow.end_run()
    assert _artifacts(store, run_id) == {
        "ab_results.csv",
        "srm.csv",
        "heterogeneity.csv",
        "ab_report.html",
        "cleaning_audit.json",
        "validation.json",
    }
    audit = _text(store, run_id, "cleaning_audit.json")
    assert json.loads(audit) == [{"strategy": "x", "rows_in": "3"}]  # default=str, as before
    logged = store.get_run(run_id).data
    assert logged.metrics["e.B.ctr.rel_lift"] == pytest.approx(0.1)
    assert logged.params["metrics"] == '[{"name": "ctr"}]'


def test_inference_run_logs_totals_and_the_predictions(store) -> None:
    predictions = pd.DataFrame({"ad_id": [1, 2, 3], "pred": [0.5, -0.1, 2.0]})
    model_ref = {"model_name": "m", "version": "2", "model_id": "m-1", "uri": "models:/m/2"}
    with mlflow.start_run() as run:
        run_id = tracking.log_inference_run(
            predictions, prediction_column="pred", model_ref=model_ref, data_info={"source": "x"}
        )
    assert run_id == run.info.run_id
    logged = store.get_run(run_id).data
    assert logged.metrics["negative_predictions"] == 1.0
    assert logged.metrics["prediction_sum"] == pytest.approx(2.4)
    assert logged.tags["liftlab.model_uri"] == "models:/m/2"
    assert _text(store, run_id, "predictions.csv") == predictions.to_csv(index=False)


def test_flatten_params_takes_a_typed_config() -> None:
    cfg = load_training_config({"data_path": "ads.csv"})
    assert tracking.flatten_params(cfg) == tracking.flatten_params(cfg.model_dump(mode="json"))
    assert (
        tracking.flatten_params(cfg)["promotion"]
        == '{"margin": 0.01, "metric": "poisson_deviance"}'
    )


# -- experiments: classic ML, described ---------------------------------------------------------


def test_pipeline_tags_make_the_experiment_classic_ml_and_described(store):
    """MLflow 3 opens an untagged experiment in its GenAI (traces) view; every liftlab run tags
    its experiment as classic ML and gives it its job's description."""
    experiment = store.create_experiment("described", artifact_location=None)
    with mlflow.start_run(experiment_id=experiment, run_name="r1"):
        tracking.set_pipeline_tags("training", {"liftlab.data_source": "ads.csv"})
        run_id = mlflow.active_run().info.run_id
    tags = store.get_experiment(experiment).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags["mlflow.note.content"] == tracking.EXPERIMENT_DESCRIPTIONS["training"]
    run_tags = store.get_run(run_id).data.tags
    assert run_tags["liftlab.pipeline"] == "training"
    assert run_tags["liftlab.data_source"] == "ads.csv"


def test_every_job_has_an_experiment_description():
    from liftlab.config.registry import PIPELINES

    jobs = {e.source.rsplit(".", 1)[-1].removesuffix("_pipeline") for e in PIPELINES}
    assert jobs == set(tracking.EXPERIMENT_DESCRIPTIONS)
