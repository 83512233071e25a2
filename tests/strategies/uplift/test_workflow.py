"""The uplift round the pipeline runs: stratified holdout, per-arm scoring, learner comparison,
targeting table and summary — on synthetic data with a known heterogeneous effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.errors import InputDataError
from strategies.uplift.evaluation import (
    compare_uplift_learners,
    holdout_score,
    score_uplift,
    stratified_split,
)
from strategies.uplift.metrics import auuc, qini_coefficient
from strategies.uplift.workflow import (
    OutcomeSpec,
    holdout_rows,
    run_uplift_modelling,
    targeting_summary,
)

PRE = {"categorical": ["channel"], "numeric": ["recency"]}


def _data(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Arm B lifts the outcome by 0.3 for Web customers only; arm A does nothing."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "channel": rng.choice(["Web", "Phone"], n),
            "recency": rng.integers(1, 13, n),
            "arm": rng.choice(["ctl", "A", "B"], n),
        }
    )
    web = (frame["channel"] == "Web").to_numpy()
    p = 0.2 + 0.3 * web * (frame["arm"] == "B").to_numpy()
    frame["y"] = (rng.random(n) < p).astype(int)
    return frame


def test_stratified_split_keeps_arm_shares_and_is_seeded() -> None:
    labels = np.array(["a"] * 100 + ["b"] * 300)
    train, test = stratified_split(labels, test_size=0.25, seed=1)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 400
    assert (labels[test] == "a").sum() == 25 and (labels[test] == "b").sum() == 75
    again = stratified_split(labels, test_size=0.25, seed=1)
    assert np.array_equal(again[1], test)
    with pytest.raises(InputDataError, match="too few"):
        stratified_split(np.array(["a", "b", "b", "b"]), test_size=0.3, seed=0)


def test_score_uplift_matches_the_metric_functions_per_arm() -> None:
    frame = _data(600, 3)
    score = pd.DataFrame(
        {"A": np.linspace(0, 1, 600), "B": (frame["channel"] == "Web").astype(float)}
    )
    table = score_uplift(score, frame["arm"], frame["y"], control="ctl").set_index("arm")
    rows = frame["arm"].isin(["B", "ctl"]).to_numpy()
    expected = qini_coefficient(frame["y"][rows], (frame["arm"][rows] == "B"), score["B"][rows])
    assert table.loc["B", "qini_coefficient"] == pytest.approx(expected)
    assert table.loc["B", "n_holdout"] == rows.sum()
    args = (frame["y"][rows], (frame["arm"][rows] == "B"), score["B"][rows])
    assert table.loc["B", "auuc_normalized"] == pytest.approx(auuc(*args, normalize=True))
    assert table.loc["B", "qini_normalized"] == pytest.approx(
        qini_coefficient(*args, normalize=True)
    )
    b = frame[rows]
    assert table.loc["B", "observed_ate"] == pytest.approx(
        b.loc[b["arm"] == "B", "y"].mean() - b.loc[b["arm"] == "ctl", "y"].mean()
    )


def test_compare_learners_ranks_and_finds_the_segment_effect() -> None:
    frame = _data()
    train, test = stratified_split(frame["arm"], test_size=0.3, seed=0)
    specs = [
        {"name": "t_learner", "base": {"name": "logistic"}, "preprocessor": PRE},
        {"name": "s_learner", "label": "s", "base": {"name": "ridge"}, "preprocessor": PRE},
    ]
    result = compare_uplift_learners(
        specs, frame[["channel", "recency"]], frame["arm"], frame["y"], control="ctl",
        train_idx=train, test_idx=test, seed=0,
    )  # fmt: skip
    table = result.table
    assert set(table["learner"]) == {"t_learner", "s"}
    assert table["rank"].min() == 1 and table.loc[table["is_best"], "learner"].nunique() == 1
    best = result.fitted[result.best]
    uplift = best.predict_uplift(pd.DataFrame({"channel": ["Web", "Phone"], "recency": [5, 5]}))
    assert uplift.loc[0, "B"] - uplift.loc[1, "B"] > 0.15  # Web gains, Phone does not
    assert abs(uplift.loc[0, "A"]) < 0.1
    with pytest.raises(InputDataError, match="twice"):
        compare_uplift_learners(
            [specs[0], specs[0]], frame[["channel", "recency"]], frame["arm"], frame["y"],
            control="ctl", train_idx=train, test_idx=test, seed=0,
        )  # fmt: skip


def test_run_uplift_modelling_targets_web_customers_with_arm_b() -> None:
    frame = _data()
    run = run_uplift_modelling(
        frame,
        treatment_column="arm",
        control="ctl",
        arms=["A", "B"],
        features=["channel", "recency"],
        outcomes=[
            OutcomeSpec(
                "y",
                "y",
                1.0,
                [{"name": "t_learner", "base": {"name": "logistic"}, "preprocessor": PRE}],
            )
        ],  # fmt: skip
        policy_outcome="y",
        cost_per_contact=0.1,
        test_size=0.3,
        seed=0,
        n_bootstrap=30,
    )
    summary = run.targeting_summary.set_index(["feature", "value"])
    assert summary.loc[("channel", "Web"), "share_B"] > 0.9
    assert summary.loc[("channel", "Phone"), "share_to_email"] < 0.2
    assert len(run.targeting) == len(frame) and run.targeting["in_holdout"].sum() == len(
        run.test_idx
    )
    policy = run.policy.set_index(["policy", "arm"], drop=False)
    model = run.policy[run.policy["policy"] == "model"].iloc[0]
    everyone_a = run.policy[(run.policy["policy"] == "send_all") & (run.policy["arm"] == "A")]
    assert model["profit_per_customer"] > everyone_a["profit_per_customer"].iloc[0]
    assert len(policy) == 4
    assert set(run.qini_curves["arm"]) == {"A", "B"}
    with pytest.raises(InputDataError, match="lacks"):
        run_uplift_modelling(
            frame.drop(columns=["recency"]), treatment_column="arm", control="ctl", arms=["A"],
            features=["channel", "recency"], outcomes=[], policy_outcome="y",
            cost_per_contact=0.0, test_size=0.3, seed=0,
        )  # fmt: skip


def test_targeting_summary_buckets_numeric_features() -> None:
    targeting = pd.DataFrame(
        {"best_arm": ["A", None, "B", "A"], "expected_incremental_profit": [1.0, 0.0, 2.0, 3.0]}
    )
    features = pd.DataFrame({"channel": ["W", "P", "W", "W"], "history": [1, 2, 3, 4]})
    table = targeting_summary(targeting, features, ["channel", "history"], ["A", "B"])
    web = table[(table["feature"] == "channel") & (table["value"] == "W")].iloc[0]
    assert web["customers"] == 3 and web["share_to_email"] == 1.0
    assert web["share_A"] == pytest.approx(2 / 3) and web["mean_expected_profit"] == 2.0
    assert (table["feature"] == "history").sum() == 4  # few values: kept as they are


def test_targeting_summary_labels_are_readable_and_in_bin_order() -> None:
    """Quartiles read 'low–high' with the customers' own smallest and largest value (rounded),
    in bin order; 0/1 flags read 'no'/'yes'; few-valued numbers in numeric order."""
    rng = np.random.default_rng(0)
    n = 400
    history = np.round(29.99 + rng.gamma(1.2, 200.0, n), 2)
    history[0] = 29.99  # the Hillstrom minimum: pandas would print its bin as (29.989, …]
    features = pd.DataFrame(
        {
            "history": history,
            "mens": rng.integers(0, 2, n),
            "recency": rng.choice([10, 2, 3], n),
            "channel": rng.choice(["Web", "Phone"], n),
        }
    )
    targeting = pd.DataFrame(
        {"best_arm": np.where(rng.random(n) < 0.5, "A", None), "expected_incremental_profit": 0.0}
    )
    table = targeting_summary(targeting, features, list(features.columns), ["A"])
    hist = table[table["feature"] == "history"]
    edges = np.quantile(history, [0, 0.25, 0.5, 0.75, 1])
    assert len(hist) == 4
    for label, lo, hi in zip(hist["value"], edges[:-1], edges[1:], strict=True):
        assert "(" not in label and "]" not in label and "999" not in label
        low_text, high_text = label.split("–")
        assert float(low_text) == pytest.approx(lo, rel=0.03, abs=0.5)
        assert float(high_text) == pytest.approx(hi, rel=0.03, abs=0.5)
    assert hist["value"].iloc[0].startswith("30")
    assert hist["customers"].sum() == n
    assert table.loc[table["feature"] == "mens", "value"].tolist() == ["no", "yes"]
    assert table.loc[table["feature"] == "recency", "value"].tolist() == ["2", "3", "10"]
    assert table.loc[table["feature"] == "channel", "value"].tolist() == ["Phone", "Web"]
    assert table["feature"].drop_duplicates().tolist() == list(features.columns)


def test_holdout_rows_and_score_reproduce_the_challengers_holdout_score() -> None:
    """A registered champion is scored on a later run's holdout from the raw table: the rows
    and the number must be the ones the run ranked its learners by."""
    frame = _data(3000, 5)
    extra = frame.head(50).assign(arm="other")  # an arm outside the test: dropped first
    raw = pd.concat([extra, frame], ignore_index=True)
    spec = {"name": "t_learner", "base": {"name": "logistic"}, "preprocessor": PRE}
    run = run_uplift_modelling(
        raw, treatment_column="arm", control="ctl", arms=["A", "B"],
        features=["channel", "recency"], outcomes=[OutcomeSpec("y", "y", 1.0, [spec])],
        policy_outcome="y", cost_per_contact=0.1, test_size=0.3, seed=0, n_bootstrap=20,
    )  # fmt: skip
    holdout = holdout_rows(raw, "arm", ["ctl", "A", "B"], run.test_idx)
    assert len(holdout) == len(run.test_idx) and set(holdout["arm"]) == {"ctl", "A", "B"}
    score = holdout_score(
        run.models["y"], holdout, features=["channel", "recency"], treatment_column="arm",
        outcome_column="y", control="ctl", metric="qini_coefficient",
    )  # fmt: skip
    assert score == pytest.approx(run.holdout_scores["y"])
    with pytest.raises(InputDataError, match="metric"):
        holdout_score(
            run.models["y"], holdout, features=["channel", "recency"], treatment_column="arm",
            outcome_column="y", control="ctl", metric="accuracy",
        )  # fmt: skip


def _run(frame: pd.DataFrame, arms: list[str], control: str = "ctl") -> None:
    run_uplift_modelling(
        frame, treatment_column="arm", control=control, arms=arms,
        features=["channel", "recency"],
        outcomes=[OutcomeSpec("y", "y", 1.0, [{"name": "s_learner", "base": {"name": "logistic"},
                                                "preprocessor": PRE}])],
        policy_outcome="y", cost_per_contact=0.1, test_size=0.3, seed=0, n_bootstrap=20,
    )  # fmt: skip


def test_a_declared_arm_absent_from_the_data_is_refused_before_training() -> None:
    frame = _data(600)
    frame = frame[frame["arm"] != "B"]
    with pytest.raises(InputDataError) as info:
        _run(frame, arms=["A", "B"])
    message = str(info.value)
    assert "'B'" in message and "'arm'" in message
    assert "found: 'A', 'ctl'" in message
    with pytest.raises(InputDataError, match="control 'nobody'"):
        _run(_data(600), arms=["A", "B"], control="nobody")


def test_average_effects_refuse_an_absent_arm_too() -> None:
    from strategies.uplift.effects import average_effects

    frame = _data(600)
    with pytest.raises(InputDataError, match="'C'.*found: 'A', 'B', 'ctl'"):
        average_effects(
            frame, treatment_column="arm", control="ctl", arms=["A", "C"],
            outcomes=[{"name": "y", "type": "binary", "column": "y"}],
            alpha=0.05, correction="holm",
        )  # fmt: skip


def test_an_outcome_constant_in_every_arm_is_refused_before_training() -> None:
    frame = _data(600).assign(y=0)
    with pytest.raises(InputDataError, match=r"outcome 'y'.*constant.*\(every value is 0\)"):
        _run(frame, arms=["A", "B"])
