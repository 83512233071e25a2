"""End-to-end tests: whole ZenML pipelines in a throw-away store and MLflow. Every test here is
``slow`` (deselect with ``-m "not slow"``; CI runs them all)."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.slow)
