"""S/T/X meta-learners: recovery of known effects, several arms, config and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import OneHotEncoder

from strategies.errors import ConfigError, InputDataError
from strategies.uplift.learners import (
    CLASSIFIERS,
    UPLIFT_LEARNERS,
    TLearner,
    XLearner,
    build_classifier,
    build_uplift_learner,
    make_uplift_preprocessor,
)
from strategies.uplift.metrics import qini_coefficient, uplift_at_k

FAST_GB = {"name": "gradient_boosting", "params": {"n_estimators": 60, "max_depth": 2}}
PRE = {"categorical": ["segment"], "numeric": ["x1", "x2"]}


def make_data(n: int, seed: int, *, effect: str = "hetero", outcome: str = "continuous"):
    """Randomised 50/50 test. Heterogeneous effect: +tau for segment "a", -tau for "b";
    constant effect: the same tau for everyone. Returns X, treatment labels, y, true effect."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(size=n),
            "segment": rng.choice(["a", "b"], n),
        }
    )
    treated = rng.random(n) < 0.5
    is_a = (X["segment"] == "a").to_numpy()
    if outcome == "continuous":
        tau = np.where(is_a, 1.0, -1.0) if effect == "hetero" else np.full(n, 1.0)
        y = 1.0 + X["x1"] + 0.5 * X["x2"] + treated * tau + rng.normal(0, 1.0, n)
    else:
        tau = np.where(is_a, 0.15, -0.10) if effect == "hetero" else np.full(n, 0.1)
        base = 0.25 + 0.05 * np.clip(X["x1"], -2, 2)
        y = (rng.random(n) < base + treated * tau).astype(int)
    labels = np.where(treated, "mail", "none")
    return X, labels, np.asarray(y), tau


@pytest.fixture(scope="module")
def hetero():
    train = make_data(3000, 0)
    test = make_data(3000, 1)
    return train, test


def test_registry_has_three_learners():
    assert set(UPLIFT_LEARNERS) == {"s_learner", "t_learner", "x_learner"}
    assert set(CLASSIFIERS) == {
        "logistic",
        "gradient_boosting_classifier",
        "random_forest_classifier",
        "hist_gradient_boosting_classifier",
    }


@pytest.mark.parametrize("name", ["t_learner", "x_learner"])
def test_learners_rank_heterogeneous_effects(hetero, name):
    (X, t, y, _), (Xt, tt, yt, tau_t) = hetero
    learner = build_uplift_learner(
        {"name": name, "base": FAST_GB, "preprocessor": PRE}, seed=0, control="none"
    )
    uplift = learner.fit(X, t, y).predict_uplift(Xt)
    assert list(uplift.columns) == ["mail"]
    score = uplift["mail"].to_numpy()
    treated = tt == "mail"
    assert qini_coefficient(yt, treated, score) > 0
    assert qini_coefficient(yt, treated, -score) < 0
    # the top 30 % are (almost) all segment "a", whose true effect is +1
    top = score >= np.quantile(score, 0.7)
    true_top = tau_t[top].mean()
    assert true_top > 0.9
    assert uplift_at_k(yt, treated, score, 0.3) == pytest.approx(true_top, abs=0.25)
    # per-segment predictions close to the truth
    by_segment = uplift["mail"].groupby(Xt["segment"].to_numpy()).mean()
    assert by_segment["a"] == pytest.approx(1.0, abs=0.2)
    assert by_segment["b"] == pytest.approx(-1.0, abs=0.2)


def test_s_learner_learns_interactions_with_trees(hetero):
    (X, t, y, _), (Xt, _, _, _) = hetero
    learner = build_uplift_learner(
        {"name": "s_learner", "base": FAST_GB, "preprocessor": PRE}, seed=0, control="none"
    )
    by_segment = learner.fit(X, t, y).predict_uplift(Xt)["mail"].groupby(Xt["segment"]).mean()
    assert by_segment["a"] > 0.5
    assert by_segment["b"] < -0.5


@pytest.mark.parametrize("name", ["s_learner", "t_learner", "x_learner"])
def test_constant_effect_is_recovered(name):
    X, t, y, _ = make_data(3000, 2, effect="constant")
    learner = build_uplift_learner(
        {"name": name, "base": FAST_GB, "preprocessor": PRE}, seed=0, control="none"
    )
    uplift = learner.fit(X, t, y).predict_uplift(X)["mail"]
    assert uplift.mean() == pytest.approx(1.0, abs=0.1)
    assert (uplift - 1.0).abs().median() < 0.35


@pytest.mark.parametrize("name", ["s_learner", "t_learner", "x_learner"])
def test_binary_outcome_with_classifier_base(name):
    X, t, y, _ = make_data(3000, 3, outcome="binary")
    Xt, _, _, tau_t = make_data(2000, 4, outcome="binary")
    learner = build_uplift_learner(
        {
            "name": name,
            "base": {"name": "gradient_boosting_classifier", "params": {"n_estimators": 40}},
            "preprocessor": PRE,
        },
        seed=0,
        control="none",
    )
    uplift = learner.fit(X, t, y).predict_uplift(Xt)["mail"]
    assert learner.outcome_ == "binary"  # inferred: y in {0, 1}
    assert uplift.between(-1, 1).all()
    by_segment = uplift.groupby(Xt["segment"]).mean()
    assert by_segment["a"] > by_segment["b"]
    if name != "s_learner":
        assert by_segment["a"] == pytest.approx(0.15, abs=0.07)
        assert by_segment["b"] == pytest.approx(-0.10, abs=0.07)


def test_multi_arm_one_column_per_arm():
    rng = np.random.default_rng(5)
    n = 3000
    X = pd.DataFrame({"x1": rng.normal(size=n), "segment": rng.choice(["a", "b"], n)})
    arms = np.array(["No E-Mail", "Mens E-Mail", "Womens E-Mail"])
    t = arms[rng.integers(0, 3, n)]
    is_a = (X["segment"] == "a").to_numpy()
    effect = np.select(
        [t == "Mens E-Mail", t == "Womens E-Mail"], [np.where(is_a, 2.0, 0.0), 1.0], 0.0
    )
    y = X["x1"].to_numpy() + effect + rng.normal(0, 0.5, n)
    X.index = pd.RangeIndex(100, 100 + n)  # index is preserved in the output
    pre = make_uplift_preprocessor(categorical=["segment"], numeric=["x1"])
    for name in ("s_learner", "t_learner", "x_learner"):
        # a deeper, longer boosting so the S-learner can learn the arm x segment interaction
        base = {"name": "gradient_boosting", "params": {"n_estimators": 150, "max_depth": 3}}
        learner = UPLIFT_LEARNERS[name](control="No E-Mail", base=base, preprocessor=pre)
        uplift = learner.fit(X, t, y).predict_uplift(X)
        assert list(uplift.columns) == ["Mens E-Mail", "Womens E-Mail"]
        assert uplift.index.equals(X.index)
        means = uplift.groupby(X["segment"].to_numpy()).mean()
        assert means.loc["a", "Mens E-Mail"] == pytest.approx(2.0, abs=0.3)
        assert means.loc["b", "Mens E-Mail"] == pytest.approx(0.0, abs=0.3)
        assert uplift["Womens E-Mail"].mean() == pytest.approx(1.0, abs=0.3)


def test_x_learner_propensity_model_and_custom_preprocessor():
    X, t, y, _ = make_data(1500, 6)
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["segment"])],
        remainder="passthrough",
    )
    learner = XLearner(
        control="none",
        base={"name": "linear"},
        propensity="model",
        propensity_base={"name": "logistic", "params": {"C": 1.0}},
        preprocessor=pre,
        seed=1,
    )
    uplift = learner.fit(X, t, y).predict_uplift(X)["mail"]
    g = learner.propensity_scores(X)["mail"]
    assert g.between(0.01, 0.99).all()
    assert g.mean() == pytest.approx((t == "mail").mean(), abs=0.05)
    # linear T/X-learner on [segment one-hot, x]: effect per segment recovered
    by_segment = uplift.groupby(X["segment"]).mean()
    assert by_segment["a"] == pytest.approx(1.0, abs=0.2)
    assert by_segment["b"] == pytest.approx(-1.0, abs=0.2)


def test_seeded_and_reproducible():
    X, t, y, _ = make_data(600, 7)
    spec = {
        "name": "x_learner",
        "base": {"name": "random_forest", "params": {"n_estimators": 15}},
        "preprocessor": PRE,
    }
    a = build_uplift_learner(spec, seed=3, control="none").fit(X, t, y).predict_uplift(X)
    b = build_uplift_learner(spec, seed=3, control="none").fit(X, t, y).predict_uplift(X)
    c = build_uplift_learner(spec, seed=4, control="none").fit(X, t, y).predict_uplift(X)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_numeric_features_need_no_preprocessor_and_integer_labels_work():
    X, t, y, _ = make_data(800, 8)
    Xn = X[["x1", "x2"]]
    labels = (t == "mail").astype(int)
    learner = TLearner(control=0, base={"name": "ridge"}).fit(Xn, labels, y)
    uplift = learner.predict_uplift(Xn)
    assert list(uplift.columns) == [1]
    assert learner.outcome_ == "continuous"


def test_arm_with_a_single_class_outcome_falls_back_to_a_constant():
    X, t, _, _ = make_data(400, 9)
    y = np.where(t == "mail", 1, (np.arange(len(t)) % 3 == 0).astype(int))
    learner = build_uplift_learner(
        {"name": "t_learner", "base": {"name": "logistic"}, "preprocessor": PRE},
        seed=0,
        control="none",
    )
    uplift = learner.fit(X, t, y).predict_uplift(X)["mail"]
    # treated arm: every y is 1 -> constant model 1; control: about 1/3 convert
    assert uplift.mean() == pytest.approx(2 / 3, abs=0.05)
    assert np.all(learner.models_["mail"].predict(np.zeros((3, 4))) == 1.0)


def test_build_classifier_seeds_and_checks_params():
    assert build_classifier({"name": "random_forest_classifier"}, seed=11).random_state == 11
    with pytest.raises(ConfigError, match="unknown parameter"):
        build_classifier({"name": "logistic", "params": {"depth": 3}}, seed=0)
    with pytest.raises(ConfigError, match="not a classifier"):
        build_classifier({"name": "ridge"}, seed=0)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"name": "z_learner"}, "unknown uplift learner 'z_learner'.*valid names"),
        ({"name": "t_learner", "bse": {}}, "unknown parameter"),
        ({"name": "t_learner", "base": {"name": "xgb"}}, "unknown model 'xgb'"),
        (
            {"name": "t_learner", "base": {"name": "ridge", "params": {"alpah": 1}}},
            "unknown param",
        ),
        ({"name": "t_learner", "base": {"name": "ridge", "search": {}}}, "unknown key"),
        ({"name": "t_learner", "outcome": "count"}, "outcome must be one of"),
        ({"name": "t_learner", "outcome": "continuous", "base": {"name": "logistic"}}, "binary"),
        ({"name": "x_learner", "propensity": "learned"}, "constant' or 'model'"),
        ({"name": "x_learner", "effect_base": {"name": "logistic"}}, "must be a regressor"),
        ({"name": "x_learner", "propensity_base": {"name": "ridge"}}, "not a classifier"),
        ({"name": "t_learner", "preprocessor": {"categoricals": ["a"]}}, "unknown key"),
        ({"name": "t_learner", "seed": 3}, "run config"),
        ({"name": "t_learner", "control": "x"}, "run config"),
    ],
)
def test_config_errors(spec, match):
    with pytest.raises(ConfigError, match=match):
        build_uplift_learner(spec, seed=0, control="none")


def _small():
    X, t, y, _ = make_data(40, 10)
    return X[["x1", "x2"]], t, y


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda X, t, y: (X, t[:-1], y), "same length"),
        (lambda X, t, y: (X, t, np.r_[y[:-1], np.nan]), "1 missing value"),
        (lambda X, t, y: (X, np.where(t == "none", "ctl", t), y), "control label 'none'"),
        (lambda X, t, y: (X, np.append(t[:-1], "sms"), y), "at least 2 rows.*'sms': 1"),
        (lambda X, t, y: (X, np.full(len(t), "none"), y), "only the control"),
        (lambda X, t, y: (X, np.append(t[:-1].astype(object), None), y), "missing label"),
        (lambda X, t, y: (X.assign(x3="text"), t, y), "not numeric; give a preprocessor"),
    ],
)
def test_input_errors(mutate, match):
    X, t, y = mutate(*_small())
    with pytest.raises(InputDataError, match=match):
        TLearner(control="none", base={"name": "ridge"}).fit(X, t, y)


def test_binary_outcome_must_be_zero_one():
    X, t, y = _small()
    with pytest.raises(InputDataError, match="declared binary"):
        TLearner(control="none", base={"name": "logistic"}, outcome="binary").fit(X, t, y)


def test_classifier_on_inferred_continuous_outcome_fails_clearly():
    X, t, y = _small()
    with pytest.raises(ConfigError, match="classifier and needs a binary outcome"):
        TLearner(control="none", base={"name": "logistic"}).fit(X, t, y)


def test_predict_before_fit_and_missing_columns():
    X, t, y = _small()
    learner = TLearner(control="none", base={"name": "ridge"})
    with pytest.raises(NotFittedError):
        learner.predict_uplift(X)
    learner.fit(X, t, y)
    with pytest.raises(InputDataError, match="'x2'"):
        learner.predict_uplift(X[["x1"]])
