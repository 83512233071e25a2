"""Where liftlab keeps its generated state, in one place so the CLI, the stack bootstrap, the
notebook and the README always agree.

Everything generated lives under the project root and is git-ignored:

- ``.liftlab/artifacts/``            ZenML local artifact store
- ``.liftlab/artifacts/mlflow.db``   MLflow tracking + model registry (SQLite, made by ZenML)
- ``.liftlab/artifacts/mlflow_artifacts/``  MLflow run artifacts
- ``data/demo/``                     demo data written by the simulator
- ``outputs/``                       results tables and HTML reports
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".liftlab"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` that holds a ZenML repository (``.zen``) or
    liftlab's ``pyproject.toml``; ``start`` itself when there is none."""
    start = (start or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".zen").is_dir():
            return candidate
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and 'name = "liftlab"' in pyproject.read_text(errors="ignore"):
            return candidate
    return start


@dataclass(frozen=True)
class ProjectPaths:
    root: Path

    @classmethod
    def from_root(cls, root: Path | None = None) -> ProjectPaths:
        return cls(root=(root or find_project_root()).resolve())

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR_NAME

    @property
    def artifact_path(self) -> Path:
        return self.state_dir / "artifacts"

    @property
    def mlflow_db(self) -> Path:
        return self.artifact_path / "mlflow.db"

    @property
    def mlflow_tracking_uri(self) -> str:
        return f"sqlite:///{self.mlflow_db}"

    @property
    def demo_data(self) -> Path:
        return self.root / "data" / "demo" / "ab_events.parquet"

    @property
    def demo_ads(self) -> Path:
        return self.root / "data" / "demo" / "ads.csv"

    @property
    def demo_ads_new(self) -> Path:
        return self.root / "data" / "demo" / "ads_new.csv"

    @property
    def demo_campaigns(self) -> Path:
        return self.root / "data" / "demo" / "campaigns"

    @property
    def demo_ecommerce(self) -> Path:
        return self.root / "data" / "demo" / "ecommerce"

    @property
    def demo_email(self) -> Path:
        return self.root / "data" / "demo" / "email"

    @property
    def demo_mmm(self) -> Path:
        return self.root / "data" / "demo" / "mmm"

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse the demo's pipelines write their gold tables to (the default
        ``duckdb_path`` of every config)."""
        return self.root / "outputs" / "liftlab.duckdb"

    def mlflow_ui_command(self) -> str:
        return (
            f"mlflow ui --backend-store-uri {self.mlflow_tracking_uri} --host 127.0.0.1 --port 5000"
        )
