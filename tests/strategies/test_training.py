"""Fast checks of the conversion-prediction building blocks that the pipelines wire together:
config models, split plans, permutation importance, the promotion rule, the input-schema check,
the ad-table expectation suite and the gold-table writers."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from liftlab.config.inference import load_inference_config
from liftlab.config.training import load_training_config
from liftlab.mlops.publishing import write_duckdb_table, write_outputs
from liftlab.simulate.ads import AdSimulationConfig, simulate_ads
from strategies.errors import ConfigError, InputDataError
from strategies.model_inputs import check_input_schema, score_table
from strategies.promotion import decide_promotion
from strategies.regressors import make_pipeline
from strategies.training import (
    SplitPlan,
    feature_frame,
    permutation_importance_table,
    plan_split,
    run_training_round,
    train_candidates,
)
from strategies.validation import ValidationRules, validate
from tests.conftest import REPO_ROOT

REPO = REPO_ROOT


@pytest.fixture(scope="module")
def ads() -> pd.DataFrame:
    return simulate_ads(AdSimulationConfig(n_ads=500, seed=3)).data


# -- configs ---------------------------------------------------------------------------------


def test_shipped_training_configs_exist_and_parse() -> None:
    for name in ("training.yaml", "training_kag.yaml", "training_schedule.yaml", "inference.yaml"):
        content = yaml.safe_load((REPO / "configs" / name).read_text())
        loader = load_inference_config if name.startswith("inference") else load_training_config
        loader(content["parameters"])
    schedule = yaml.safe_load((REPO / "configs" / "training_schedule.yaml").read_text())
    assert schedule["schedule"]["cron_expression"] == "0 3 * * 1"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"candidates": [{"name": "xgboostt"}]}, "xgboostt"),
        ({"features": [{"name": "ctr"}], "numeric": ["Approved_Conversion"]}, "leak"),
        ({"cleaning": [{"name": "drop_multi_variant_units"}]}, "do not apply to an ad table"),
        ({"promotion": {"metric": "accuracy"}}, "accuracy"),
        ({"promotion": {"margin": -0.1}}, "promotion.margin"),
        ({"rank_by": "auc"}, "auc"),
        ({"split": {"name": "grouped", "colum": "x"}}, "colum"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"targt": "x"}, "unknown key"),
        ({"data_path": None}, "data_path"),
        (
            {"candidates": [{"name": "ridge"}, {"name": "ridge"}]},
            "repeated",
        ),
    ],
)
def test_bad_training_config_names_the_problem(change: dict, needle: str) -> None:
    values = {"data_path": "ads.csv", **change}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ConfigError, match=needle):
        load_training_config(values)


def test_inference_config_pins_a_version_or_follows_the_alias() -> None:
    assert load_inference_config({"data_path": "x.csv"}).model_uri == (
        "models:/liftlab-conversion@champion"
    )
    pinned = load_inference_config({"data_path": "x.csv", "model_version": 3})
    assert pinned.model_uri == "models:/liftlab-conversion/3"
    with pytest.raises(ConfigError, match="duckdb_table"):
        load_inference_config({"data_path": "x.csv", "duckdb_table": "drop table; --"})


def test_scoring_rules_only_mention_what_new_data_has() -> None:
    cfg = load_training_config({"data_path": "x.csv"})
    rules = cfg.scoring_rules()
    mentioned = set(rules.required_columns) | set(rules.non_negative_columns)
    assert mentioned == {"ad_id", *cfg.input_columns()}
    assert ("Clicks", "Impressions") in rules.ordered_pairs
    assert ValidationRules.from_dict(rules.to_dict()) == rules


# -- split plan and training -------------------------------------------------------------------


def test_grouped_plan_keeps_ad_sets_together_and_folds_inside_train(ads) -> None:
    plan = plan_split(ads, {"name": "grouped", "column": "fb_campaign_id"}, n_folds=4)
    groups = ads["fb_campaign_id"].to_numpy()
    assert not set(groups[plan.train]) & set(groups[plan.test])
    assert len(plan.folds) == 4
    test_rows = set(plan.test.tolist())
    for train, test in plan.folds:
        assert not (set(train.tolist()) | set(test.tolist())) & test_rows
        assert not set(groups[train]) & set(groups[test])
    again = SplitPlan.from_dict(plan.to_dict())
    assert np.array_equal(again.test, plan.test) and len(again.folds) == 4


def test_plan_on_empty_table_is_an_input_error() -> None:
    with pytest.raises(InputDataError, match="empty"):
        plan_split(pd.DataFrame({"fb_campaign_id": []}), {"name": "grouped"}, 3)


def test_feature_frame_rejects_missing_columns_and_bad_target(ads) -> None:
    with pytest.raises(InputDataError, match="Clicks"):
        feature_frame(ads.drop(columns=["Clicks"]), ["Clicks"], "Approved_Conversion")
    broken = ads.assign(Approved_Conversion=ads["Approved_Conversion"].astype(object))
    broken.loc[0, "Approved_Conversion"] = "n/a"
    with pytest.raises(InputDataError, match="non-numeric"):
        feature_frame(broken, ["Clicks"], "Approved_Conversion")


def test_permutation_importance_finds_the_driving_feature(ads) -> None:
    cfg = load_training_config({"data_path": "x.csv", "candidates": [{"name": "poisson"}]})
    plan = plan_split(ads, cfg.split, 3)
    comparison = train_candidates(
        ads,
        target=cfg.target,
        input_columns=cfg.input_columns(),
        candidates=cfg.candidates,
        preprocessor_factory=cfg.preprocessor,
        plan=plan,
        seed=0,
        rank_by="poisson_deviance",
    )
    X, y = feature_frame(ads.iloc[plan.test], cfg.input_columns(), cfg.target)
    table = permutation_importance_table(
        comparison.fitted["poisson"], X, y, metric="poisson_deviance", seed=0, n_repeats=3
    )
    assert list(table.columns) == ["feature", "importance_mean", "importance_std"]
    assert np.isfinite(table["importance_mean"]).all()
    # delivery volume drives expected conversions in the simulator's generating model (spend and
    # clicks are proportional to impressions, so any of the three may rank first)
    assert table.iloc[0]["feature"] in {"log1p_Impressions", "log1p_Spent", "log1p_Clicks"}
    assert table.iloc[0]["importance_mean"] > 10 * table["importance_mean"].abs().median()


def test_training_round_has_diagnostics_for_every_candidate(ads) -> None:
    cfg = load_training_config(
        {
            "data_path": "x.csv",
            "candidates": [{"name": "baseline_mean"}, {"name": "poisson"}],
            "cv_folds": 2,
            "importance_repeats": 2,
        }
    )
    plan = plan_split(ads, cfg.split, cfg.cv_folds)
    result = run_training_round(ads, plan, **cfg.training_arguments())
    best = result.table.loc[result.table["is_best"]].iloc[0]
    assert result.best == best["candidate"] and result.best_model == best["model"]
    assert result.baseline == "baseline_mean"
    assert list(result.diagnostics) == list(result.table["candidate"])
    predictions, importance = result.diagnostics["poisson"]
    assert len(predictions) == len(plan.test) and predictions.columns[0] == "ad_id"
    assert not importance.empty
    assert list(result.input_example.columns) == cfg.input_columns() == result.input_columns
    assert len(result.input_example) == 5
    meta = cfg.model_metadata()
    assert meta["target"] == "Approved_Conversion" and meta["input_columns"] == cfg.input_columns()
    assert ValidationRules.from_dict(meta["scoring_rules"]) == cfg.scoring_rules()


# -- promotion rule ----------------------------------------------------------------------------

GOOD = {"r2": 0.4, "rmse": 2.0, "mae": 1.0, "poisson_deviance": 1.5}
BASE = {"r2": 0.0, "rmse": 3.0, "mae": 1.6, "poisson_deviance": 3.0}


def _decide(**kwargs):
    args = {
        "model_name": "m",
        "challenger_label": "gbm",
        "challenger_model": "gradient_boosting",
        "challenger_scores": GOOD,
        "baseline_scores": BASE,
        "metric": "poisson_deviance",
        "margin": 0.01,
    }
    args.update(kwargs)
    return decide_promotion(**args)


def test_first_model_is_promoted_only_if_it_beats_the_baseline() -> None:
    assert _decide().promote
    assert not _decide(challenger_scores={**GOOD, "poisson_deviance": 2.99}).promote
    baseline_best = _decide(challenger_model="baseline_mean", challenger_scores=BASE)
    assert not baseline_best.promote and "baseline" in baseline_best.summary


def test_challenger_must_beat_the_champion_by_the_margin() -> None:
    champion = {"version": "3", "model_id": "m-1", "scores": {**GOOD, "poisson_deviance": 1.6}}
    better = _decide(champion=champion)  # 1.5 vs 1.6: 6.25 % better
    assert better.promote and "version 3" in better.summary
    worse = _decide(champion={**champion, "scores": {**GOOD, "poisson_deviance": 1.4}})
    assert not worse.promote and "stays champion" in worse.summary
    tie = _decide(champion={**champion, "scores": dict(GOOD)})
    assert not tie.promote
    within_margin = _decide(margin=0.1, champion=champion)
    assert not within_margin.promote
    assert len(better.to_dict()["reasons"]) == 2


def test_unscorable_champion_is_kept() -> None:
    decision = _decide(champion={"version": "2", "model_id": "m-0", "error": "KeyError: Spent"})
    assert not decision.promote
    assert "could not be scored" in decision.summary


# -- input schema ------------------------------------------------------------------------------

EXPECTED = [("age", "string"), ("interest", "long"), ("Clicks", "long"), ("Spent", "double")]


def test_schema_check_casts_compatible_columns() -> None:
    frame = pd.DataFrame(
        {"age": ["30-34"], "interest": [15.0], "Clicks": [3], "Spent": [2], "extra": [1]}
    )
    out = check_input_schema(frame, EXPECTED)
    assert list(out.columns) == ["age", "interest", "Clicks", "Spent"]
    assert out["interest"].dtype == np.int64 and out["Spent"].dtype == np.float64


@pytest.mark.parametrize(
    ("frame", "needles"),
    [
        (pd.DataFrame({"age": ["a"], "interest": [1]}), ["missing column(s): Clicks, Spent"]),
        (
            pd.DataFrame({"age": [30], "interest": ["x"], "Clicks": [1.5], "Spent": ["1"]}),
            ["age: expected text", "interest: expected integers", "Clicks", "Spent"],
        ),
    ],
)
def test_schema_check_names_every_problem(frame, needles) -> None:
    with pytest.raises(InputDataError) as excinfo:
        check_input_schema(frame, EXPECTED)
    for needle in needles:
        assert needle in str(excinfo.value)


class _Doubler:
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return 2.0 * X["Clicks"].to_numpy()


def test_score_table_keeps_identifiers_and_names_missing_ones() -> None:
    frame = pd.DataFrame(
        {"ad_id": [7, 8], "age": ["30-34", "35-39"], "interest": [1, 2], "Clicks": [3, 4],
         "Spent": [1.0, 2.0]}
    )  # fmt: skip
    out = score_table(
        _Doubler(), frame, inputs=EXPECTED, keep_columns=["ad_id"], prediction_column="pred"
    )
    assert list(out.columns) == ["ad_id", "pred"] and out["pred"].tolist() == [6.0, 8.0]
    with pytest.raises(InputDataError, match=r"keep_columns \['campaign'\]"):
        score_table(
            _Doubler(), frame, inputs=EXPECTED, keep_columns=["campaign"], prediction_column="p"
        )
    with pytest.raises(InputDataError, match="missing column"):
        score_table(
            _Doubler(), frame.drop(columns="Spent"), inputs=EXPECTED, keep_columns=[],
            prediction_column="p",
        )  # fmt: skip


# -- expectation suite -------------------------------------------------------------------------


def test_ads_suite_passes_simulated_data_and_names_bad_rows(ads) -> None:
    rules = load_training_config({"data_path": "x.csv"}).validation_rules()
    assert validate(ads, rules).success
    bad = ads.copy()
    bad.loc[0, "Clicks"] = bad.loc[0, "Impressions"] + 1
    bad.loc[1, "ad_id"] = bad.loc[2, "ad_id"]
    bad.loc[3, "Approved_Conversion"] = bad.loc[3, "Total_Conversion"] + 1
    report = validate(bad, rules)
    failed = {o.column: o.unexpected_count for o in report.outcomes if not o.success}
    assert failed["Clicks <= Impressions"] == 1
    assert failed["ad_id"] == 2
    assert failed["Approved_Conversion <= Total_Conversion"] == 1


def test_ads_suite_passes_the_real_kag_file() -> None:
    from tests.conftest import shared_file

    kag = pd.read_csv(shared_file("KAG_conversion_data.csv"))
    rules = load_training_config({"data_path": "x.csv"}).validation_rules()
    report = validate(kag, rules)
    assert report.success, [o.description for o in report.outcomes if not o.success]


# -- gold writers ------------------------------------------------------------------------------


def test_duckdb_gold_table_replace_and_append(tmp_path) -> None:
    db = tmp_path / "gold.duckdb"
    first = pd.DataFrame({"ad_id": [1, 2], "predicted": [0.5, 1.5]})
    write_duckdb_table(db, "gold", first)
    write_duckdb_table(db, "gold", first.assign(ad_id=[3, 4]), mode="append")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM gold").fetchall()[0][0] == 4
    write_duckdb_table(db, "gold", first)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM gold").fetchall()[0][0] == 2
    with pytest.raises(Exception):  # noqa: B017 - duckdb's own binder error
        write_duckdb_table(db, "gold", pd.DataFrame({"other": [1]}), mode="append")
    with duckdb.connect(str(db), read_only=True) as con:  # the failed append changed nothing
        assert con.sql("SELECT count(*) FROM gold").fetchall()[0][0] == 2


def test_write_outputs_is_all_or_nothing(tmp_path) -> None:
    table = pd.DataFrame({"a": [1]})
    files = write_outputs(
        tmp_path / "out", tables={"t": table}, texts={"r.json": "{}"}, formats=("parquet", "csv")
    )
    assert set(files) == {"t", "t_csv", "r.json"}
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError):
        write_outputs(blocker, tables={"t": table})
    assert not list(tmp_path.glob(".liftlab-staging-*"))


def test_missing_demo_data_says_which_command_makes_it(tmp_path) -> None:
    from liftlab.config.base import DataSource
    from liftlab.mlops.caching import file_cache_options, ingest_cache_options

    with pytest.raises(InputDataError, match="liftlab simulate-ads --new"):
        ingest_cache_options(DataSource(data_path=str(tmp_path / "data" / "demo" / "ads_new.csv")))
    missing = [tmp_path / "data" / "demo" / "campaigns" / "campaigns.csv"]
    with pytest.raises(InputDataError, match="liftlab simulate-campaigns"):
        file_cache_options(missing)
    with pytest.raises(InputDataError) as excinfo:
        ingest_cache_options(DataSource(data_path=str(tmp_path / "mine.csv")))
    assert "simulate" not in str(excinfo.value)


# -- degenerate targets (issue #11 item 9) -------------------------------------------------------


def _round(frame: pd.DataFrame):
    cfg = load_training_config(
        {"data_path": "x.csv", "candidates": [{"name": "poisson"}], "cv_folds": 2}
    )
    plan = plan_split(frame, cfg.split, cfg.cv_folds)
    return run_training_round(frame, plan, **{**cfg.training_arguments(), "importance_repeats": 1})


def test_an_all_zero_target_is_refused_before_training(ads) -> None:
    with pytest.raises(InputDataError) as info:
        _round(ads.assign(Approved_Conversion=0))
    message = str(info.value)
    assert "'Approved_Conversion'" in message and "constant" in message
    assert "every value is 0" in message


def test_a_target_constant_on_the_holdout_is_refused(ads) -> None:
    cfg = load_training_config({"data_path": "x.csv", "cv_folds": 2})
    plan = plan_split(ads, cfg.split, cfg.cv_folds)
    frame = ads.copy()
    frame.loc[frame.index[plan.test], "Approved_Conversion"] = 1
    with pytest.raises(InputDataError, match=r"'Approved_Conversion'.*holdout.*every value is 1"):
        run_training_round(frame, plan, **cfg.training_arguments())


def test_too_few_training_rows_are_refused(ads) -> None:
    with pytest.raises(InputDataError, match=r"'Approved_Conversion'.*training rows.*at least"):
        _round(ads.head(12))


def test_promotion_refuses_a_degenerate_fit() -> None:
    with pytest.raises(InputDataError, match=r"'Approved_Conversion'.*constant.*holdout"):
        _decide(holdout_target=np.zeros(40), target="Approved_Conversion")
    with pytest.raises(InputDataError, match=r"challenger's holdout r2 is undefined"):
        _decide(challenger_scores={**GOOD, "r2": float("nan")})
    assert _decide(holdout_target=np.arange(40.0), target="Approved_Conversion").promote


# -- categories never seen in training (issue #11 item 11) ---------------------------------------


@pytest.fixture(scope="module")
def fitted(ads):
    cfg = load_training_config({"data_path": "x.csv", "candidates": [{"name": "poisson"}]})
    model = make_pipeline(cfg.preprocessor(), {"name": "poisson"}, seed=0)
    X, y = feature_frame(ads, cfg.input_columns(), cfg.target)
    model.fit(X, y)
    inputs = [
        (c, "long" if X[c].dtype.kind == "i" else "double" if X[c].dtype.kind == "f" else "string")
        for c in X.columns
    ]
    return model, inputs


def test_scoring_counts_and_flags_unseen_categories(ads, fitted, caplog) -> None:
    model, inputs = fitted
    new = ads.head(6).copy()
    new.loc[new.index[:2], "age"] = "70-74"
    new.loc[new.index[1], "interest"] = 999
    with caplog.at_level("WARNING"):
        out = score_table(
            model, new, inputs=inputs, keep_columns=["ad_id"], prediction_column="pred"
        )
    assert out["unknown_categories"].tolist()[:3] == ["age=70-74", "age=70-74; interest=999", ""]
    assert np.isfinite(out["pred"]).all()
    assert "2 row(s) have categories never seen in training" in caplog.text
    assert "age: 2 row(s) ('70-74')" in caplog.text and "interest: 1 row(s) ('999')" in caplog.text
    with pytest.raises(
        InputDataError, match=r"never seen in training.*age: 2 row\(s\) \('70-74'\)"
    ):
        score_table(
            model, new, inputs=inputs, keep_columns=["ad_id"], prediction_column="pred",
            unknown_categories="error",
        )  # fmt: skip
    clean = score_table(
        model, ads.head(6), inputs=inputs, keep_columns=["ad_id"], prediction_column="pred",
        unknown_categories="error",
    )  # fmt: skip
    assert (clean["unknown_categories"] == "").all()


def test_inference_config_unknown_categories_defaults_to_warn() -> None:
    assert load_inference_config({"data_path": "x.csv"}).unknown_categories == "warn"
    assert (
        load_inference_config({"data_path": "x.csv", "unknown_categories": "error"})
        .unknown_categories == "error"
    )  # fmt: skip
    with pytest.raises(ConfigError, match="unknown_categories"):
        load_inference_config({"data_path": "x.csv", "unknown_categories": "ignore"})


def test_unknown_category_counts_per_column_for_the_run_summary():
    import pandas as pd

    from strategies.model_inputs import unknown_category_counts

    scored = pd.DataFrame(
        {"unknown_categories": ["interest=999", "", "interest=65; age=70-74", None]}
    )
    assert unknown_category_counts(scored) == {"interest": 2, "age": 1}
    assert unknown_category_counts(pd.DataFrame({"ad_id": [1]})) == {}
