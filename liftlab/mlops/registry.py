"""The MLflow model registry as liftlab uses it: champion lookup, registration, aliases.

Conventions (DESIGN.md §4):

- A model is logged once, in the training run, as an MLflow 3 *logged model*; a version is
  registered from ``models:/<logged_model_id>`` (``runs:/`` URIs of ZenML's registry step cannot be
  loaded back under MLflow 3).
- Aliases, not stages: ``challenger`` is the latest registered best model, ``champion`` the one
  batch inference and serving load. Only :func:`register_and_alias` moves them, and the training
  pipeline calls it as its very last step, so a failed or interrupted run moves nothing.
- Every version carries tags: data hash, pipeline run, holdout scores, decision. The scheduled
  retraining reads the data hash back to skip runs on unchanged data.

Functions use the tracking/registry URI that is active (inside a ZenML step, the stack's MLflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHAMPION = "champion"
CHALLENGER = "challenger"
DATA_HASH_TAG = "liftlab.data_sha256"


def _client():  # noqa: ANN202
    from mlflow import MlflowClient

    return MlflowClient()


def _not_found(exc: Exception) -> bool:
    text = str(exc).lower()
    return "not found" in text or "resource_does_not_exist" in text or "does not exist" in text


def alias_version(name: str, alias: str = CHAMPION) -> dict[str, Any] | None:
    """The version holding ``alias`` (``version``, ``model_id``, ``source``, ``run_id``,
    ``tags``), or ``None`` when the model or the alias does not exist yet."""
    from mlflow.exceptions import MlflowException

    try:
        mv = _client().get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise
    source = str(mv.source or "")
    return {
        "version": str(mv.version),
        "model_id": getattr(mv, "model_id", None) or source.removeprefix("models:/"),
        "source": source,
        "run_id": mv.run_id,
        "tags": dict(mv.tags or {}),
        "uri": f"models:/{name}/{mv.version}",
    }


def resolve_version(name: str, *, alias: str = CHAMPION, version: int | None = None) -> dict:
    """The version to use: ``version`` when pinned, else the one holding ``alias``. Raises a
    ConfigError that says what to do when it does not exist."""
    from mlflow.exceptions import MlflowException

    from strategies.errors import ConfigError

    if version is None:
        found = alias_version(name, alias)
        if found is None:
            raise ConfigError(
                f"no version of model {name!r} holds the alias {alias!r} in the MLflow registry; "
                "run the training pipeline first (or pin 'model_version')"
            )
        return found
    try:
        mv = _client().get_model_version(name, str(version))
    except MlflowException as exc:
        if _not_found(exc):
            raise ConfigError(f"model {name!r} has no version {version}") from None
        raise
    return {
        "version": str(mv.version),
        "model_id": getattr(mv, "model_id", None) or str(mv.source).removeprefix("models:/"),
        "source": mv.source,
        "run_id": mv.run_id,
        "tags": dict(mv.tags or {}),
    }


def latest_version(name: str) -> dict[str, Any] | None:
    """The most recently registered version of ``name`` (any alias), or ``None``."""
    from mlflow.exceptions import MlflowException

    try:
        versions = _client().search_model_versions(f"name = '{_quote(name)}'")
    except MlflowException as exc:
        if _not_found(exc):
            return None
        raise
    if not versions:
        return None
    mv = max(versions, key=lambda v: int(v.version))
    return {"version": str(mv.version), "tags": dict(mv.tags or {}), "source": mv.source}


def load_sklearn(uri: str) -> Any:
    """Load a registered sklearn pipeline (``models:/name@alias`` or ``models:/name/3``)."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(uri)


def model_info(uri: str) -> dict[str, Any]:
    """Signature inputs as ``[(column, type)]``, liftlab metadata, model id and the resolved
    version of a registry URI."""
    import mlflow

    info = mlflow.models.get_model_info(uri)
    inputs = info.signature.inputs.to_dict() if info.signature is not None else []
    return {
        "inputs": [(col["name"], col["type"]) for col in inputs],
        "metadata": dict(info.metadata or {}),
        "model_id": getattr(info, "model_id", None),
        "registered_model_version": getattr(info, "registered_model_version", None),
    }


def register_and_alias(
    *,
    model_id: str,
    name: str,
    tags: Mapping[str, Any],
    promote: bool,
) -> dict[str, Any]:
    """Register ``models:/<model_id>`` as a new version of ``name``, point ``challenger`` at it
    and, only when ``promote``, ``champion`` too. Returns the version and the aliases moved."""
    import mlflow

    text_tags = {str(k): str(v) for k, v in tags.items()}
    version = mlflow.register_model(f"models:/{model_id}", name, tags=text_tags)
    client = _client()
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    moved = [CHALLENGER]
    if promote:
        client.set_registered_model_alias(name, CHAMPION, version.version)
        moved.append(CHAMPION)
    return {
        "model_name": name,
        "version": str(version.version),
        "model_id": model_id,
        "aliases_moved": moved,
        "uri": f"models:/{name}/{version.version}",
    }


def _quote(text: str) -> str:
    return text.replace("'", "\\'")
