"""Bootstrap the local ZenML stack liftlab runs on: one idempotent call, safe to repeat.

The stack is the embedded default of DESIGN.md §4: the local orchestrator, a local artifact store
inside the project (``.liftlab/artifacts``), an MLflow experiment tracker and an MLflow model
registry. The tracker is registered *without* a tracking URI on purpose: ZenML then keeps MLflow's
SQLite database and artifacts inside the artifact store, so every run of every pipeline lands in
one stable place that ``mlflow ui --backend-store-uri sqlite:///.liftlab/artifacts/mlflow.db``
shows. Component names carry a short hash of the project path, so two clones registered in the
same ZenML store never overwrite each other's components.

ZenML is imported inside functions only: importing this module must not touch any ZenML store
(tests point ZenML at a throw-away store before the first import).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from liftlab.mlops.paths import ProjectPaths


@dataclass(frozen=True)
class StackInfo:
    """What ``liftlab init`` set up, for printing and for tests."""

    stack_name: str
    artifact_store: str
    experiment_tracker: str
    model_registry: str
    artifact_path: Path
    mlflow_tracking_uri: str
    created: tuple[str, ...]


def stack_names(root: Path) -> dict[str, str]:
    """Deterministic component names for the project at ``root``."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:6]
    base = f"liftlab-{digest}"
    return {
        "stack": base,
        "artifact_store": f"{base}-artifacts",
        "experiment_tracker": f"{base}-mlflow",
        "model_registry": f"{base}-registry",
    }


def init_stack(root: Path | None = None, *, activate: bool = True) -> StackInfo:
    """Create (or reuse) the ZenML repository, components and stack for ``root``.

    Idempotent: components that already exist with the same name are reused, never duplicated,
    and the stack is (re)activated for this repository only.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType

    paths = ProjectPaths.from_root(root)
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    paths.artifact_path.mkdir(parents=True, exist_ok=True)

    created: list[str] = []
    if not Client.is_repository_directory(paths.root):
        Client.initialize(root=paths.root)
        created.append("zenml repository")
    # Point the process-wide client at this project so that a pipeline run later in the same
    # process (``liftlab demo``, tests) uses the stack activated here.
    client = Client()
    client.activate_root(paths.root)
    names = stack_names(paths.root)

    wanted = [
        (names["experiment_tracker"], "mlflow", StackComponentType.EXPERIMENT_TRACKER, {}),
        (names["model_registry"], "mlflow", StackComponentType.MODEL_REGISTRY, {}),
    ]
    for name, flavor, ctype, configuration in wanted:
        try:
            client.get_stack_component(ctype, name, allow_name_prefix_match=False)
        except KeyError:
            client.create_stack_component(
                name=name, flavor=flavor, component_type=ctype, configuration=configuration
            )
            created.append(name)

    try:
        stack = client.get_stack(names["stack"], allow_name_prefix_match=False)
    except KeyError:
        stack = None
    if stack is None:
        store_name, store_id = _artifact_store(client, names["artifact_store"], paths, created)
        orchestrator = _default_orchestrator_name(client)
        client.create_stack(
            name=names["stack"],
            components={
                StackComponentType.ORCHESTRATOR: orchestrator,
                StackComponentType.ARTIFACT_STORE: store_name,
                StackComponentType.EXPERIMENT_TRACKER: names["experiment_tracker"],
                StackComponentType.MODEL_REGISTRY: names["model_registry"],
            },
        )
        created.append(names["stack"])
    else:
        current = stack.components[StackComponentType.ARTIFACT_STORE][0]
        store_name, store_id = current.name, str(current.id)
        if _store_marker(paths) != store_id:
            # The store's files are gone (``make clean``, a new clone at the same path) while
            # ZenML still remembers it: cached steps would point at missing artifacts. A new
            # store component has a new id, and the id is part of every cache key.
            store_name, store_id = _artifact_store(
                client, f"{names['artifact_store']}-{uuid.uuid4().hex[:6]}", paths, created
            )
            # The old component stays registered: runs recorded with it still reference it.
            client.update_stack(
                stack.id, component_updates={StackComponentType.ARTIFACT_STORE: [store_id]}
            )
    _write_store_marker(paths, store_id)
    if activate:
        client.activate_stack(names["stack"])

    return StackInfo(
        stack_name=names["stack"],
        artifact_store=store_name,
        experiment_tracker=names["experiment_tracker"],
        model_registry=names["model_registry"],
        artifact_path=paths.artifact_path,
        mlflow_tracking_uri=paths.mlflow_tracking_uri,
        created=tuple(created),
    )


_STORE_MARKER = ".zenml-artifact-store-id"


def _store_marker(paths: ProjectPaths) -> str | None:
    marker = paths.artifact_path / _STORE_MARKER
    return marker.read_text().strip() if marker.is_file() else None


def _write_store_marker(paths: ProjectPaths, store_id: str) -> None:
    """Record which ZenML component owns the files in the artifact folder."""
    (paths.artifact_path / _STORE_MARKER).write_text(store_id + "\n")


def _artifact_store(client, name: str, paths: ProjectPaths, created: list[str]) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The local artifact store component ``name`` (created if missing): ``(name, id)``."""
    from zenml.enums import StackComponentType

    try:
        component = client.get_stack_component(
            StackComponentType.ARTIFACT_STORE, name, allow_name_prefix_match=False
        )
    except KeyError:
        component = client.create_stack_component(
            name=name,
            flavor="local",
            component_type=StackComponentType.ARTIFACT_STORE,
            configuration={"path": str(paths.artifact_path)},
        )
        created.append(name)
    return component.name, str(component.id)


def _default_orchestrator_name(client) -> str:  # type: ignore[no-untyped-def]
    """The local orchestrator every ZenML store ships with (named ``default``)."""
    from zenml.enums import StackComponentType

    page = client.list_stack_components(type=StackComponentType.ORCHESTRATOR, flavor="local")
    if page.items:
        return str(page.items[0].id)
    component = client.create_stack_component(
        name="liftlab-local-orchestrator",
        flavor="local",
        component_type=StackComponentType.ORCHESTRATOR,
        configuration={},
    )
    return str(component.id)
