"""The local servers liftlab starts (the MLflow UI and MLflow's model scoring server): their
command lines, bound to 127.0.0.1 unless the user deliberately asks for another interface
(DESIGN.md §7), and the model the scoring server may serve.

``mlflow models serve`` loads the model with MLflow's own loader, which trusts the artifact's
``MLmodel`` file (its format and skops trusted types). So :func:`stage_model_for_serving` copies
the pinned version into a local folder and checks that copy with
:func:`liftlab.mlops.model_files.check_model_dir` (skops only, liftlab's trusted types, no code
folder); the server is then started on that checked copy, never on the registry URI.
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path
from typing import Any

__all__ = [
    "LOCALHOST",
    "exposure_warning",
    "mlflow_ui_argv",
    "model_serve_argv",
    "stage_model_for_serving",
]

LOCALHOST = "127.0.0.1"


def mlflow_ui_argv(tracking_uri: str, *, host: str = LOCALHOST, port: int = 5000) -> list[str]:
    """``mlflow ui`` on the project's tracking database, bound to ``host`` explicitly."""
    return [
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking_uri,
        "--host",
        host,
        "--port",
        str(port),
    ]


def model_serve_argv(
    model_dir: str | Path, *, host: str = LOCALHOST, port: int = 5001
) -> list[str]:
    """``mlflow models serve`` of a local (checked) model folder in the current environment,
    bound to ``host`` explicitly."""
    return [
        "mlflow",
        "models",
        "serve",
        "-m",
        str(model_dir),
        "--env-manager",
        "local",
        "--host",
        host,
        "--port",
        str(port),
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """What binding ``host`` exposes, or ``None`` for a loopback address."""
    if _is_loopback(host):
        return None
    return (
        f"binding {host}: anyone who can reach this machine on that interface can use the "
        "server without logging in (the MLflow UI shows and can change every run and model; "
        "the scoring server runs the model on any input). Put it behind an authenticating "
        "proxy or a firewall."
    )


def stage_model_for_serving(
    name: str, *, alias: str, version: int | None, dest_root: Path
) -> dict[str, Any]:
    """Pin ``name`` (``alias`` or ``version``) to one version, copy it to
    ``dest_root/<name>-v<version>`` (replacing an older copy) and check the copy is a liftlab
    model. Returns the version, the registry URI and the local ``path`` to serve."""
    import mlflow.artifacts

    from liftlab.mlops.model_files import check_mmm_model_dir, check_model_dir, is_mmm_model_dir
    from liftlab.mlops.registry import model_uri, resolve_version

    found = resolve_version(name, alias=alias, version=version)
    uri = model_uri(name, version=found["version"])
    dest = Path(dest_root) / f"{name}-v{found['version']}"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
    if is_mmm_model_dir(local):
        check_mmm_model_dir(local, uri)
    else:
        check_model_dir(local, uri)
    return {"version": found["version"], "uri": uri, "path": str(local)}
