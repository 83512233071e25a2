"""Test isolation: every test session gets a throw-away ZenML store and repository.

The environment variables are set at import time, before anything imports zenml, so no test
ever touches the user's ~/.config/zenml (DESIGN.md §4).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="liftlab-tests-"))
_PROJECT_DIR = _SESSION_DIR / "project"
_PROJECT_DIR.mkdir()
os.environ["ZENML_CONFIG_PATH"] = str(_SESSION_DIR / "zenml-config")
os.environ["ZENML_REPOSITORY_PATH"] = str(_PROJECT_DIR)
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
os.environ.setdefault("AUTO_OPEN_DASHBOARD", "false")
atexit.register(shutil.rmtree, _SESSION_DIR, True)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def project_dir() -> Path:
    """Root of the throw-away liftlab project the end-to-end tests run in."""
    return _PROJECT_DIR


@pytest.fixture(scope="session")
def zenml_stack(project_dir: Path):
    """The local liftlab stack (ZenML repo, artifact store, MLflow tracker and registry)."""
    from liftlab.mlops.stack import init_stack

    return init_stack(project_dir)


def shared_file(name: str) -> Path:
    """A file from ../shared/data, or skip the test when the folder is absent."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not available (../shared is absent)")
    return path


# Real services (PostgreSQL server, local Spark) for the engine tests; see tests/services.py.
from tests.services import postgres_url, spark_settings  # noqa: E402, F401
