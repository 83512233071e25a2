"""liftlab loads only models in the format it wrote (DESIGN.md §7): skops, with the trusted
types named in liftlab's code, never those the artifact names itself.

A tampered artifact (its MLmodel switched to pickle/cloudpickle, or a skops file holding a
dangerous function that the MLmodel declares trusted) is refused with its URI and the offending
format or type named, before anything in it is deserialised: the payloads here would create a
marker file, and the tests check it was never created. Every model liftlab can train round-trips
through the save path of ``log_best_model`` and this loader.
"""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import skops.io
import yaml
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from liftlab.mlops import registry, tracking
from liftlab.mlops.model_files import TRUSTED_TYPES, UntrustedModelError, check_model_dir
from liftlab.ops.serving import stage_model_for_serving
from strategies.features import build_preprocessor
from strategies.regressors import REGRESSORS, make_pipeline
from strategies.uplift.learners import CLASSIFIERS, build_uplift_learner

LEGACY = Path(__file__).resolve().parents[2] / "fixtures" / "legacy_models"


class _Payload:
    """Unpickling this object creates ``marker``: stands in for any code a pickle can run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.marker, "w"))


def _tamper(tmp_path: Path, **sklearn_conf) -> Path:
    """A copy of a genuine liftlab model directory with its sklearn flavor edited."""
    model_dir = tmp_path / "model"
    shutil.copytree(LEGACY / "conversion_regressor", model_dir)
    spec = yaml.safe_load((model_dir / "MLmodel").read_text())
    spec["flavors"]["sklearn"].update(sklearn_conf)
    if "pickled_model" in sklearn_conf:
        spec["flavors"]["python_function"]["model_path"] = sklearn_conf["pickled_model"]
    (model_dir / "MLmodel").write_text(yaml.safe_dump(spec))
    return model_dir


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_a_model_switched_to_pickle_is_refused_before_unpickling(tmp_path, fmt) -> None:
    marker = tmp_path / "pwned"
    model_dir = _tamper(tmp_path, serialization_format=fmt, pickled_model="model.pkl")
    (model_dir / "model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(UntrustedModelError, match=rf"{model_dir}.*'{fmt}' format"):
        registry.load_sklearn(str(model_dir))
    assert not marker.exists()


def _eval_pipeline() -> Pipeline:
    return Pipeline([("evil", FunctionTransformer(eval))])


@pytest.mark.parametrize("evil", [eval, shutil.rmtree], ids=["builtins.eval", "shutil.rmtree"])
def test_a_skops_file_with_an_untrusted_type_is_refused_even_if_mlmodel_trusts_it(
    tmp_path, evil
) -> None:
    evil_model = Pipeline([("evil", FunctionTransformer(evil))])
    names = skops.io.get_untrusted_types(data=skops.io.dumps(evil_model))
    model_dir = _tamper(tmp_path, skops_trusted_types=names)
    skops.io.dump(evil_model, model_dir / "model.skops")
    with pytest.raises(UntrustedModelError) as caught:
        registry.load_sklearn(str(model_dir))
    assert str(model_dir) in str(caught.value)
    assert all(name in str(caught.value) for name in names)


@pytest.mark.parametrize(
    "flavor_edit",
    [
        {"code": "code"},
        {"pickled_model": "../conversion_regressor/model.skops"},
    ],
    ids=["code-folder", "file-outside"],
)
def test_other_departures_from_what_liftlab_writes_are_refused(tmp_path, flavor_edit) -> None:
    model_dir = _tamper(tmp_path, **flavor_edit)
    shutil.copytree(model_dir, tmp_path / "conversion_regressor")  # a real file outside
    with pytest.raises(UntrustedModelError, match=str(model_dir)):
        registry.load_sklearn(str(model_dir))


def test_a_foreign_pyfunc_loader_is_refused(tmp_path) -> None:
    model_dir = _tamper(tmp_path)
    spec = yaml.safe_load((model_dir / "MLmodel").read_text())
    spec["flavors"]["python_function"]["loader_module"] = "os"
    (model_dir / "MLmodel").write_text(yaml.safe_dump(spec))
    with pytest.raises(UntrustedModelError, match="'os'"):
        check_model_dir(model_dir, str(model_dir))


def test_builtins_are_not_trusted_wholesale() -> None:
    assert not any(
        t.startswith(("builtins.", "os.", "posix.", "subprocess.")) for t in TRUSTED_TYPES
    )
    with pytest.raises(UntrustedModelError, match="builtins.eval"):
        tracking.trusted_types(_eval_pipeline())


# -- the registry: a registered version switched to pickle ------------------------------------


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "mlflow"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = mlflow.create_experiment("unit", artifact_location=(folder / "art").as_uri())
    mlflow.set_experiment(experiment_id=experiment)
    yield mlflow.MlflowClient()
    mlflow.end_run()
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def test_a_registered_pickle_champion_is_neither_loaded_nor_scored(store, tmp_path) -> None:
    marker = tmp_path / "pwned"
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            _Payload(marker), name="model", serialization_format="pickle", pip_requirements=[]
        )
    assert not marker.exists()
    registry.register_and_alias(model_id=info.model_id, name="tampered", tags={}, promote=True)
    with pytest.raises(UntrustedModelError, match=r"models:/tampered/1.*'pickle' format"):
        registry.load_sklearn("models:/tampered/1")
    rows = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]})
    champion = registry.score_regression_champion("tampered", rows, "y")  # promotion comparison
    assert "UntrustedModelError" in champion["error"] and "scores" not in champion
    with pytest.raises(UntrustedModelError, match="'pickle' format"):  # liftlab serve
        stage_model_for_serving("tampered", alias="champion", version=None, dest_root=tmp_path)
    assert not marker.exists()


def test_serving_stages_a_checked_copy_of_a_liftlab_model(store, tmp_path) -> None:
    X, y = _ads(60)
    model = make_pipeline(
        build_preprocessor(FEATURES, categorical=["age"], numeric=["Clicks"]),
        _spec("ridge"),
        seed=0,
    )
    model.fit(X, y)
    with mlflow.start_run():
        info = tracking.log_best_model(
            model=model, input_example=X.head(3), metadata={}, metrics={}
        )
    registry.register_and_alias(model_id=info["model_id"], name="good", tags={}, promote=True)
    staged = stage_model_for_serving("good", alias="champion", version=None, dest_root=tmp_path)
    assert staged["uri"] == "models:/good/1"
    assert Path(staged["path"]).is_relative_to(tmp_path / "good-v1")
    np.testing.assert_allclose(registry.load_sklearn(staged["path"]).predict(X), model.predict(X))


# -- every model liftlab trains round-trips with TRUSTED_TYPES --------------------------------

FAST = {
    "gradient_boosting": {"n_estimators": 3},
    "hist_gradient_boosting": {"max_iter": 3},
    "hist_gradient_boosting_poisson": {"max_iter": 3},
    "random_forest": {"n_estimators": 3},
    "adaboost": {"n_estimators": 3},
    "gradient_boosting_classifier": {"n_estimators": 3},
    "random_forest_classifier": {"n_estimators": 3},
    "hist_gradient_boosting_classifier": {"max_iter": 3},
}
FEATURES = [
    {"name": "ctr"},
    {"name": "cpc"},
    {"name": "cpm"},
    {"name": "spend_per_impression"},
    {"name": "log1p", "columns": ["Spent"]},
]


def _spec(name: str) -> dict:
    return {"name": name, "params": FAST.get(name, {})}


def _ads(n: int = 120) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "age": rng.choice(["30-34", "35-39"], n),
            "interest": rng.integers(1, 30, n),
            "Clicks": rng.integers(0, 50, n),
            "Impressions": rng.integers(1, 10_000, n),
            "Spent": rng.gamma(2.0, 10.0, n),
        }
    )
    return X, rng.poisson(2.0, n).astype(float)


def _trainable_models():
    """(label, fitted model, rows, predict method) for every regressor behind the feature
    pipeline and every uplift learner with regressor, classifier and propensity models."""
    X, y = _ads()
    pre = build_preprocessor(FEATURES, categorical=["age", "interest"], numeric=["Clicks"])
    for name in REGRESSORS:
        yield name, make_pipeline(pre, _spec(name), seed=0).fit(X, y), X, "predict"
    rng = np.random.default_rng(1)
    arms = rng.choice(["control", "a", "b"], len(X))
    converted = (rng.random(len(X)) < 0.3).astype(int)
    preprocessor = {"categorical": ["age"], "numeric": ["Clicks"], "features": FEATURES}
    # the base models' own types are those of the regressors above and the classifiers (each
    # once, in a T-learner); every learner class with a regressor and a classifier base
    cases = [("t_learner", c, {}) for c in CLASSIFIERS] + [
        (learner, base, {})
        for learner in ("s_learner", "t_learner", "x_learner")
        for base in ("hist_gradient_boosting", "logistic")
    ]
    cases.append(
        ("x_learner", "logistic", {"propensity": "model", "propensity_base": _spec("logistic")})
    )
    for learner, base, extra in cases:
        binary = base in CLASSIFIERS
        spec = {
            "name": learner,
            "base": _spec(base),
            "outcome": "binary" if binary else "continuous",
            "preprocessor": preprocessor,
            **extra,
        }
        model = build_uplift_learner(spec, seed=0, control="control")
        model.fit(X, arms, converted if binary else y)
        yield f"{learner}/{base}/{extra.get('propensity', '-')}", model, X, "predict_uplift"
    # an arm whose outcome never varies gets a constant model
    constant = build_uplift_learner(
        {"name": "t_learner", "base": {"name": "logistic"}, "outcome": "binary"},
        seed=0,
        control="control",
    )
    constant.fit(X[["Clicks"]], arms, np.where(arms == "a", 1, converted))
    yield "t_learner/constant-arm", constant, X[["Clicks"]], "predict_uplift"


def test_every_model_liftlab_trains_round_trips_with_liftlabs_trusted_types(tmp_path) -> None:
    used: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (label, model, X, method) in enumerate(_trainable_models()):
            names = tracking.trusted_types(model)  # raises if a type is not trusted
            used.update(names)
            path = tmp_path / str(i)
            mlflow.sklearn.save_model(  # as log_best_model saves it
                model,
                str(path),
                serialization_format="skops",
                skops_trusted_types=names,
                pip_requirements=[],
            )
            loaded = registry.load_sklearn(str(path))
            expected, got = getattr(model, method)(X), getattr(loaded, method)(X)
            np.testing.assert_allclose(np.asarray(got), np.asarray(expected), err_msg=label)
    assert used == TRUSTED_TYPES, f"not needed by any model: {sorted(TRUSTED_TYPES - used)}"
