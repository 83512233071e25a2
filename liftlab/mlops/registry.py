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

Champion scoring lives here too: the current champion is loaded from the registry and scored on
this run's holdout with the same domain functions that scored the challenger
(:func:`score_regression_champion`, :func:`score_uplift_champion`); the decision itself is
:mod:`strategies.promotion`.

Functions use the tracking/registry URI that is active (inside a ZenML step, the stack's MLflow).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from liftlab.mlops.model_hash import MODEL_HASH_TAG, model_hash

if TYPE_CHECKING:
    import pandas as pd

    from strategies.mmm.data import MMMData

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


def model_uri(name: str, *, alias: str = CHAMPION, version: int | str | None = None) -> str:
    """``models:/<name>/<version>`` when a version is pinned, else ``models:/<name>@<alias>``."""
    if version is not None:
        return f"models:/{name}/{version}"
    return f"models:/{name}@{alias}"


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
    """Load a liftlab model (``models:/name@alias``, ``models:/name/3``, ``models:/<id>`` or a
    local model directory) the way liftlab wrote it: skops only, with liftlab's own trusted
    types (:func:`liftlab.mlops.model_files.load_model_dir`). MLflow's loader is not used: it
    takes the format and the trusted types from the artifact's own ``MLmodel`` file. Raises
    :class:`~liftlab.mlops.model_files.UntrustedModelError` naming ``uri`` for anything else."""
    import tempfile
    from pathlib import Path

    import mlflow.artifacts

    from liftlab.mlops.model_files import load_model_dir

    if "://" not in uri and ":/" not in uri and Path(uri).is_dir():
        return load_model_dir(uri, uri)  # a local model directory: nothing to download
    with tempfile.TemporaryDirectory(prefix="liftlab-model-") as folder:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=folder)
        return load_model_dir(local, uri)


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


def pinned_model_ref(
    name: str, *, alias: str = CHAMPION, version: int | None = None
) -> dict[str, Any]:
    """The model to score with, pinned to one version number (so a promotion while a batch
    scores cannot mix two models in one table), with its signature inputs and the liftlab
    metadata it was logged with (target, scoring suite, training data hash)."""
    found = resolve_version(name, alias=alias, version=version)
    uri = model_uri(name, version=found["version"])
    info = model_info(uri)
    liftlab_meta = info["metadata"].get("liftlab", {})
    return {
        "model_name": name,
        "requested": model_uri(name, alias=alias, version=version),
        "version": found["version"],
        "model_id": found["model_id"],
        "uri": uri,
        "inputs": [list(pair) for pair in info["inputs"]],
        "target": liftlab_meta.get("target"),
        "scoring_rules": liftlab_meta.get("scoring_rules", {}),
        "trained_on_sha256": liftlab_meta.get("data_sha256"),
    }


def champion_record(
    name: str, score: Callable[[str], Mapping[str, float]]
) -> dict[str, Any] | None:
    """The champion of ``name`` (``version``, ``model_id``, ``run_id``) with ``scores`` =
    ``score(<champion uri>)``, or ``error`` saying why it could not be scored; ``None`` when no
    version holds the alias yet. Any scoring failure means "cannot compare", never a crash:
    the promotion rule then keeps the champion."""
    champion = alias_version(name, CHAMPION)
    if champion is None:
        return None
    out: dict[str, Any] = {k: champion[k] for k in ("version", "model_id", "run_id")}
    try:
        out["scores"] = dict(score(model_uri(name, alias=CHAMPION)))
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot compare", not a crash
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def score_regression_champion(name: str, rows: pd.DataFrame, target: str) -> dict | None:
    """The conversion model's champion scored on ``rows`` (this run's holdout): its inputs are
    checked against its own signature first, so a champion whose columns are gone says so."""
    from strategies.evaluation import holdout_scores
    from strategies.model_inputs import check_input_schema

    def score(uri: str) -> dict[str, float]:
        X = check_input_schema(rows, model_info(uri)["inputs"])
        return holdout_scores(rows[target].to_numpy(float), load_sklearn(uri).predict(X))

    return champion_record(name, score)


def score_uplift_champion(
    name: str,
    holdout: pd.DataFrame,
    *,
    features: Sequence[str],
    treatment_column: str,
    outcome_column: str,
    control: str,
    metric: str,
) -> dict | None:
    """An uplift model's champion scored on this run's holdout with ``metric`` (mean over
    arms), exactly as the challenger was ranked."""
    from strategies.uplift.evaluation import holdout_score

    def score(uri: str) -> dict[str, float]:
        value = holdout_score(
            load_sklearn(uri),
            holdout,
            features=features,
            treatment_column=treatment_column,
            outcome_column=outcome_column,
            control=control,
            metric=metric,
        )
        return {metric: value}

    return champion_record(name, score)


def score_mmm_champion(
    name: str,
    data: MMMData,
    *,
    lift_tests: pd.DataFrame | None,
    n_folds: int,
    test_periods: int,
) -> dict | None:
    """The marketing-mix champion's specification refitted on this run's data and CV folds
    (only its ``model.json`` is read, :func:`liftlab.mlops.mmm_model.load_mmm_payload`)."""
    from liftlab.mlops.mmm_model import load_mmm_payload
    from strategies.mmm.promotion import champion_cv_scores

    def score(uri: str) -> dict[str, float]:
        return champion_cv_scores(
            load_mmm_payload(uri),
            data,
            lift_tests=lift_tests,
            n_folds=n_folds,
            test_periods=test_periods,
        )

    return champion_record(name, score)


def mmm_version_tags(
    *,
    result_stats: Mapping[str, float],
    decision: Mapping[str, Any],
    data_info: Mapping[str, Any],
    pipeline_run: str,
) -> dict[str, str]:
    """Tags of a marketing-mix version: data hash, run, the promotion verdict and CV errors."""
    return {
        DATA_HASH_TAG: data_info.get("sha256") or "",
        "liftlab.data_source": data_info.get("source") or "",
        "liftlab.pipeline_run": pipeline_run,
        "liftlab.promotion": "promoted" if decision["promote"] else "not promoted",
        "liftlab.promotion_summary": str(decision["summary"])[:5000],
        **{
            k: f"{v:.6g}"
            for k, v in result_stats.items()
            if k in ("cv_mape", "cv_nrmse", "r2", "mape", "nrmse")
        },
    }


def training_version_tags(
    *,
    training_info: Mapping[str, Any],
    decision: Mapping[str, Any],
    data_info: Mapping[str, Any],
    target: str,
    pipeline_run: str,
) -> dict[str, str]:
    """Tags of a conversion-model version: data hash (read back by scheduled retraining),
    source, runs, candidate, target, the promotion verdict and the holdout scores."""
    return {
        DATA_HASH_TAG: data_info.get("sha256") or "",
        "liftlab.data_source": data_info.get("source") or "",
        "liftlab.pipeline_run": pipeline_run,
        "liftlab.mlflow_run_id": training_info["mlflow_run_id"],
        "liftlab.candidate": training_info["best_candidate"],
        "liftlab.target": target,
        "liftlab.promotion": "promoted" if decision["promote"] else "not promoted",
        "liftlab.promotion_summary": decision["summary"][:5000],
        **{f"holdout_{k}": f"{v:.6g}" for k, v in training_info["holdout_scores"].items()},
    }


def persona_version_tags(
    *, model: Mapping[str, Any], summary: Mapping[str, Any], pipeline_run: str
) -> dict[str, str]:
    """Tags of a persona-model version: run, number and names of personas, whether structure
    was found and, on simulated data, the recovery of the true personas."""
    recovery = summary.get("recovery") or {}
    return {
        "liftlab.pipeline_run": pipeline_run,
        "personas": str(summary["k"]),
        "structure_found": str(summary["structure_found"]),
        "names": ", ".join(model["names"]),
        "adjusted_rand_index": str(recovery.get("ari", "")),
    }


def uplift_version_tags(
    *, outcome: str, learner: str, decision: Mapping[str, Any], pipeline_run: str
) -> dict[str, str]:
    """Tags of an uplift-model version: outcome, learner, run and the promotion verdict."""
    return {
        "liftlab.outcome": outcome,
        "liftlab.learner": learner,
        "liftlab.pipeline_run": pipeline_run,
        "liftlab.promotion": "promoted" if decision["promote"] else "not promoted",
    }


MODEL_DESCRIPTIONS: dict[str, str] = {
    "conversion": "Predicts {target} per ad (scikit-learn pipeline saved with skops). Registered "
    "by training_pipeline; the `champion` alias is the version batch inference and `liftlab "
    "serve` load, `challenger` the latest best model.",
    "uplift": "Uplift model for {outcome}: the predicted effect of each arm against control, per "
    "customer. Registered by uplift_model_pipeline; `champion` is the version targeting uses.",
    "marketing_mix": "Marketing mix model: sales explained by spend per channel (adstock and "
    "saturation) and controls. Registered by marketing_mix_pipeline; `champion` is the model "
    "the budget plan uses.",
    "personas": "Assigns website users to behavioural personas. Registered by "
    "growth_analytics_pipeline; `champion` moves only when clear persona structure is found.",
}
"""What each kind of registered model is, shown on MLflow's Models page."""


def model_description(kind: str, **values: str) -> str:
    """The description of a registered model of ``kind`` (:data:`MODEL_DESCRIPTIONS`)."""
    return MODEL_DESCRIPTIONS[kind].format(**values)


def unchanged_registration(name: str, content_hash: str) -> dict[str, Any] | None:
    """What :func:`register_and_alias` returns for a model equal to the latest registered
    version of ``name`` (same :data:`MODEL_HASH_TAG`): that version, no alias moved,
    ``unchanged: True``. ``None`` when there is no such version (register it). Re-running a
    pipeline on unchanged data therefore adds no identical version to the registry."""
    latest = latest_version(name) if content_hash else None
    if latest is None or latest["tags"].get(MODEL_HASH_TAG) != content_hash:
        return None
    return {
        "model_name": name,
        "version": latest["version"],
        "model_id": latest["source"].removeprefix("models:/"),
        "aliases_moved": [],
        "uri": f"models:/{name}/{latest['version']}",
        "unchanged": True,
    }


def registration_line(registration: Mapping[str, Any]) -> str:
    """One sentence on what a registration did, for run summaries."""
    name, version = registration.get("model_name"), registration.get("version")
    if registration.get("unchanged"):
        return (
            f"nothing new: the model equals {name} version {version} (same data, settings and "
            "code), aliases unchanged"
        )
    moved = ", ".join(registration.get("aliases_moved", [])) or "none"
    return f"{name} version {version} (aliases moved: {moved})"


def register_new_model(
    *,
    model: Any,
    log_model: Callable[[], Mapping[str, str]],
    name: str,
    tags: Mapping[str, Any],
    promote: bool,
    description: str = "",
) -> dict[str, Any]:
    """Log ``model`` (``log_model()`` returns its ``model_id``) and register it as
    :func:`register_and_alias` does — unless it equals the latest version of ``name``: then
    nothing is logged or registered and that version comes back with ``unchanged: True``."""
    content_hash = model_hash(model)
    same = unchanged_registration(name, content_hash)
    if same is not None:
        return same
    return _register_version(
        model_id=log_model()["model_id"],
        name=name,
        tags=tags,
        promote=promote,
        description=description,
        content_hash=content_hash,
    )


def register_and_alias(
    *,
    model_id: str,
    name: str,
    tags: Mapping[str, Any],
    promote: bool,
    description: str = "",
    content_hash: str = "",
) -> dict[str, Any]:
    """Register ``models:/<model_id>`` as a new version of ``name``, point ``challenger`` at it
    and, only when ``promote``, ``champion`` too; ``description`` (what the model predicts,
    which pipeline registers it) is set on the registered model when it differs, so the
    Models page says what each model is. Returns the version and the aliases moved.

    With ``content_hash`` (:func:`model_hash`), a model equal to the latest version is not
    registered again (:func:`unchanged_registration`); the hash is tagged on new versions."""
    same = unchanged_registration(name, content_hash)
    if same is not None:
        return same
    return _register_version(
        model_id=model_id,
        name=name,
        tags=tags,
        promote=promote,
        description=description,
        content_hash=content_hash,
    )


def _register_version(
    *,
    model_id: str,
    name: str,
    tags: Mapping[str, Any],
    promote: bool,
    description: str,
    content_hash: str,
) -> dict[str, Any]:
    """The registration itself (no check for an unchanged model): version, tags, description,
    aliases."""
    import mlflow

    text_tags = {str(k): str(v) for k, v in tags.items()}
    if content_hash:
        text_tags[MODEL_HASH_TAG] = content_hash
    version = mlflow.register_model(f"models:/{model_id}", name, tags=text_tags)
    client = _client()
    if description and (client.get_registered_model(name).description or "") != description:
        client.update_registered_model(name, description=description)
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
