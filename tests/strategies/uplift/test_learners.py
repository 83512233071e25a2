"""S/T/X meta-learners: recovery of known effects, several arms, config and input errors, and
the scikit-learn estimator contract (params, clone, fit checks, refits, skops round trip)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from strategies.errors import ConfigError, InputDataError
from strategies.uplift.learners import (
    CLASSIFIERS,
    UPLIFT_LEARNERS,
    SLearner,
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


# --------------------------------------------------------------------------------------------
# the scikit-learn estimator contract
# --------------------------------------------------------------------------------------------

LEARNER_CLASSES = [SLearner, TLearner, XLearner]


def _three_arms(n: int = 300, seed: int = 11):
    """Two treatment arms plus control, numeric features only (no preprocessor needed)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(size=n)})
    t = np.array(["none", "mail", "sms"])[rng.integers(0, 3, n)]
    y = X["x1"].to_numpy() + (t == "mail") * (1 + X["x2"].to_numpy()) + rng.normal(0, 0.5, n)
    return X, t, y


def _comparable(value):
    """``value`` with every estimator replaced by (type, its own params), recursively, so a
    clone's parameters (new but equal estimator objects) compare equal to the original's."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value), _comparable(value.get_params(deep=False))
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_comparable(v) for v in value)
    return value


@pytest.mark.parametrize("cls", LEARNER_CLASSES, ids=lambda c: c.name)
def test_sklearn_estimator_checks(cls):
    for learner in (cls(), cls(control="none", base=Ridge(alpha=2.0), preprocessor=dict(PRE))):
        check_get_params_invariance(cls.name, learner)
        check_parameters_default_constructible(cls.name, learner)
        check_no_attributes_set_in_init(cls.name, learner)


@pytest.mark.parametrize("cls", LEARNER_CLASSES, ids=lambda c: c.name)
def test_init_stores_arguments_verbatim_and_derives_nothing(cls):
    pre = {"categorical": ["segment"], "numeric": ["x1", "x2"]}
    base = RandomForestRegressor(n_estimators=5)
    learner = cls(control="none", base=base, preprocessor=pre, seed=3)
    assert learner.preprocessor is pre
    assert learner.base is base
    assert vars(learner) == learner.get_params(deep=False)  # nothing but the parameters
    X, t, y, _ = make_data(200, 12)
    learner.fit(X, t, y)
    # fitting neither replaces nor mutates the parameters (the seed goes to a copy of base)
    assert learner.preprocessor is pre
    assert pre == {"categorical": ["segment"], "numeric": ["x1", "x2"]}
    assert learner.base is base
    assert base.random_state is None
    assert not hasattr(base, "estimators_")


def test_builder_returns_an_unfitted_learner_with_only_its_parameters():
    learner = build_uplift_learner(
        {"name": "x_learner", "base": FAST_GB, "preprocessor": PRE}, seed=4, control="none"
    )
    assert vars(learner) == learner.get_params(deep=False)
    assert learner.base is not None and learner.seed == 4 and learner.control == "none"


@pytest.mark.parametrize("cls", LEARNER_CLASSES, ids=lambda c: c.name)
def test_clone_has_equal_params_and_is_unfitted(cls):
    X, t, y = _three_arms()
    learner = cls(control="none", base=Ridge(alpha=3.0), seed=2).fit(X, t, y)
    copy = clone(learner)
    assert type(copy) is cls
    assert _comparable(copy.get_params(deep=False)) == _comparable(learner.get_params(deep=False))
    assert copy.base is not learner.base
    assert vars(copy) == copy.get_params(deep=False)
    with pytest.raises(NotFittedError):
        copy.predict_uplift(X)
    pd.testing.assert_frame_equal(copy.fit(X, t, y).predict_uplift(X), learner.predict_uplift(X))


def test_get_params_set_params_round_trip_including_nested():
    learner = XLearner(
        control="none",
        base=GradientBoostingRegressor(n_estimators=30, max_depth=2),
        propensity_base=LogisticRegression(C=0.5),
    )
    params = learner.get_params(deep=True)
    assert params["base__max_depth"] == 2
    assert params["propensity_base__C"] == 0.5
    assert params["propensity_clip"] == 0.01
    same = XLearner().set_params(**learner.get_params(deep=False))
    assert _comparable(same.get_params(deep=False)) == _comparable(learner.get_params(deep=False))

    assert learner.set_params(base__max_depth=4, propensity="model", seed=9) is learner
    assert learner.base.max_depth == 4
    assert learner.get_params()["base__max_depth"] == 4
    assert (learner.propensity, learner.seed) == ("model", 9)
    X, t, y = _three_arms()
    learner.fit(X, t, y)
    assert all(tau0.max_depth == 4 for tau0, _ in learner.effect_models_.values())
    assert learner.models_["none"].max_depth == 4
    with pytest.raises(ValueError, match="Invalid parameter 'bse'"):
        learner.set_params(bse={"name": "ridge"})


def test_spec_and_estimator_bases_give_the_same_numbers():
    X, t, y, _ = make_data(400, 13)
    Xn = X[["x1", "x2"]]
    # a None random_state gets the run seed, as a spec's would
    from_spec = TLearner(
        control="none", base={"name": "random_forest", "params": {"n_estimators": 10}}, seed=5
    )
    from_estimator = TLearner(control="none", base=RandomForestRegressor(n_estimators=10), seed=5)
    pd.testing.assert_frame_equal(
        from_spec.fit(Xn, t, y).predict_uplift(Xn), from_estimator.fit(Xn, t, y).predict_uplift(Xn)
    )
    # a classifier base: the X-learner's second stage is the classifier's counterpart regressor
    yb = (y > 1).astype(int)
    spec = XLearner(control="none", base={"name": "logistic"}).fit(Xn, t, yb)
    estimator = XLearner(control="none", base=LogisticRegression(max_iter=1000)).fit(Xn, t, yb)
    pd.testing.assert_frame_equal(spec.predict_uplift(Xn), estimator.predict_uplift(Xn))


@pytest.mark.parametrize("cls", LEARNER_CLASSES, ids=lambda c: c.name)
def test_predict_before_fit_raises_not_fitted(cls):
    X, _, _ = _three_arms(20)
    learner = cls(control="none", base={"name": "ridge"})
    for method in ("predict_uplift", "predict"):
        with pytest.raises(NotFittedError, match="not fitted"):
            getattr(learner, method)(X)
    if cls is XLearner:
        with pytest.raises(NotFittedError):
            learner.propensity_scores(X)


@pytest.mark.parametrize(
    ("cls", "params", "match"),
    [
        (TLearner, {"seed": -1}, r"seed must be an integer.*got -1"),
        (TLearner, {"seed": 1.5}, r"seed must be an integer.*got 1.5"),
        (SLearner, {"outcome": "count"}, r"outcome must be one of.*got 'count'"),
        (TLearner, {"base": {"name": "xgb"}}, r"parameter 'base'.*unknown model 'xgb'"),
        (
            SLearner,
            {"base": {"name": "ridge", "params": {"alpah": 1}}},
            r"parameter 'base'.*unknown param.*'alpah'",
        ),
        (TLearner, {"base": Ridge}, r"parameter 'base'.*or an unfitted sklearn estimator"),
        (
            TLearner,
            {"base": LogisticRegression(), "outcome": "continuous"},
            r"parameter 'base'.*LogisticRegression is a classifier",
        ),
        (TLearner, {"preprocessor": {"numerc": ["x1"]}}, r"parameter 'preprocessor'.*'numerc'"),
        (TLearner, {"control": None}, r"needs a 'control' arm label"),
        (XLearner, {"propensity": "learned"}, r"propensity must be .*got 'learned'"),
        (XLearner, {"propensity_clip": -0.1}, r"propensity_clip must be in .*got -0.1"),
        (XLearner, {"propensity_clip": 0.5}, r"propensity_clip must be in .*got 0.5"),
        (
            XLearner,
            {"effect_base": LogisticRegression()},
            r"parameter 'effect_base'.*must be a regressor",
        ),
        (XLearner, {"effect_base": {"name": "logistic"}}, r"'effect_base'.*must be a regressor"),
        (XLearner, {"propensity_base": Ridge()}, r"'propensity_base'.*Ridge is not a classifier"),
    ],
)
def test_invalid_parameter_fails_at_fit_naming_it(cls, params, match):
    X, t, y = _three_arms(40)
    learner = cls(**{"control": "none", **params})  # constructing never validates
    with pytest.raises(ConfigError, match=match):
        learner.fit(X, t, y)
    assert not hasattr(learner, "arms_")
    # the same error when a valid learner is made invalid through set_params
    fresh = cls(control="none").set_params(**params)
    with pytest.raises(ConfigError, match=match):
        fresh.fit(X, t, y)


def test_builder_still_rejects_bad_values_before_any_fit():
    with pytest.raises(ConfigError, match=r"seed must be an integer.*got -3"):
        build_uplift_learner({"name": "t_learner"}, seed=-3, control="none")
    with pytest.raises(ConfigError, match=r"propensity_clip must be in .*got 0.9"):
        build_uplift_learner({"name": "x_learner", "propensity_clip": 0.9}, seed=0, control="none")


@pytest.mark.parametrize("cls", LEARNER_CLASSES, ids=lambda c: c.name)
def test_refit_on_other_data_equals_a_fresh_fit(cls):
    first = _three_arms(300, 14)  # arms mail and sms
    X, t, y, _ = make_data(300, 15)  # one arm (mail), other columns
    params = {"control": "none", "base": {"name": "random_forest", "params": {"n_estimators": 8}}}
    if cls is XLearner:
        params["propensity"] = "model"
    reused = cls(**params).fit(*first).fit(X[["x1", "x2"]].rename(columns={"x2": "z"}), t, y)
    fresh = cls(**params).fit(X[["x1", "x2"]].rename(columns={"x2": "z"}), t, y)
    assert reused.arms_ == fresh.arms_ == ["mail"]
    assert set(vars(reused)) == set(vars(fresh))
    assert list(reused.feature_names_in_) == ["x1", "z"]
    Xp = X[["x1", "x2"]].rename(columns={"x2": "z"})
    pd.testing.assert_frame_equal(reused.predict_uplift(Xp), fresh.predict_uplift(Xp))
    if cls is XLearner:
        pd.testing.assert_frame_equal(reused.propensity_scores(Xp), fresh.propensity_scores(Xp))


def test_a_failed_refit_leaves_an_unfitted_learner_not_the_old_models():
    X, t, y = _three_arms(60)
    learner = TLearner(control="none", base={"name": "ridge"}).fit(X, t, y)
    with pytest.raises(InputDataError):
        learner.fit(X, t[:-1], y)
    with pytest.raises(NotFittedError):
        learner.predict_uplift(X)


def _skops_cases():
    X, t, y, _ = make_data(300, 16)
    yb = (y > 1).astype(int)
    return [
        ("s_spec_pre", SLearner(control="none", base=FAST_GB, preprocessor=PRE), X, t, y),
        (
            "t_classifier_pre",
            TLearner(control="none", base={"name": "logistic"}, preprocessor=PRE),
            X,
            t,
            yb,
        ),
        (
            "x_model_propensity",
            XLearner(
                control="none",
                base=GradientBoostingClassifier(n_estimators=10),
                propensity="model",
                propensity_base=LogisticRegression(),
                preprocessor=make_uplift_preprocessor(categorical=["segment"], numeric=["x1"]),
            ),
            X,
            t,
            yb,
        ),
        (
            "t_int_labels_constant_arm",
            TLearner(control=0, base={"name": "logistic"}),
            X[["x1", "x2"]],
            (t == "mail").astype(int),
            np.where(t == "mail", 1, yb),  # one arm always converts: a constant model
        ),
        ("x_three_arms", XLearner(control="none", base=Ridge()), *_three_arms(200)),
    ]


@pytest.mark.parametrize("case", range(5))
def test_skops_round_trip_with_trusted_types_only(case):
    import skops.io

    from liftlab.mlops.model_files import TRUSTED_TYPES
    from liftlab.mlops.tracking import trusted_types

    _, learner, X, t, y = _skops_cases()[case]
    learner.fit(X, t, y)
    data = skops.io.dumps(learner)
    untrusted = skops.io.get_untrusted_types(data=data)
    assert set(untrusted) <= TRUSTED_TYPES, untrusted
    assert sorted(untrusted) == trusted_types(learner)  # what MLflow is told to trust
    loaded = skops.io.loads(data, trusted=sorted(TRUSTED_TYPES))
    assert type(loaded) is type(learner)
    assert _comparable(loaded.get_params(deep=False)) == _comparable(learner.get_params(deep=False))
    pd.testing.assert_frame_equal(loaded.predict_uplift(X), learner.predict_uplift(X))
    pd.testing.assert_frame_equal(loaded.predict(X), learner.predict(X))
    if isinstance(learner, XLearner):
        pd.testing.assert_frame_equal(loaded.propensity_scores(X), learner.propensity_scores(X))
