"""An identical model is not registered twice: the content hash decides, on a real (sqlite)
MLflow registry."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from liftlab.mlops import registry


@pytest.fixture
def store(tmp_path):
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # this store's own experiment (another module may have left its experiment active)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("registry-unit"))
    yield mlflow.MlflowClient()
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def _register(model: dict, calls: list) -> dict:
    def log() -> dict[str, str]:
        """A stand-in for the model loggers: one new logged model per call."""
        calls.append(1)
        return {"model_id": mlflow.initialize_logged_model(name="model").model_id}

    return registry.register_new_model(
        model=model, log_model=log, name="m", tags={"run": "x"}, promote=True
    )


def test_model_hash_is_by_value() -> None:
    a = {"coef": np.array([1.0, 2.0]), "names": ["x", "y"]}
    b = {"coef": np.array([1.0, 2.0]), "names": ["x", "y"]}
    assert registry.model_hash(a) == registry.model_hash(b)
    assert registry.model_hash(a) != registry.model_hash({**a, "coef": np.array([1.0, 2.5])})


def test_same_model_is_registered_once_and_a_changed_one_again(store) -> None:
    calls: list = []
    model = {"coef": np.array([1.0, 2.0])}
    first = _register(model, calls)
    assert first["version"] == "1" and first["aliases_moved"] == ["challenger", "champion"]
    assert store.get_model_version("m", "1").tags[registry.MODEL_HASH_TAG] == registry.model_hash(
        model
    )

    again = _register({"coef": np.array([1.0, 2.0])}, calls)
    assert again["unchanged"] is True and again["version"] == "1" and again["aliases_moved"] == []
    assert len(calls) == 1  # not even logged again
    assert [str(v.version) for v in store.search_model_versions("name = 'm'")] == ["1"]
    assert "nothing new" in registry.registration_line(again)
    assert "version 1" in registry.registration_line(again)

    changed = _register({"coef": np.array([1.0, 3.0])}, calls)
    assert changed["version"] == "2" and len(calls) == 2
    # back to the first model: it differs from the *latest* version, so it is registered
    back = _register(model, calls)
    assert back["version"] == "3"
    assert registry.registration_line(back) == "m version 3 (aliases moved: challenger, champion)"
