"""Installing liftlab prints nothing alarming (issue #16): the editable wheel `make install`
builds comes without setuptools' warning banners (licence deprecation, "Editable
installation"), and the regular wheel carries every package and the report templates."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO_ROOT


def _build(hook: str, out: Path) -> tuple[str, Path]:
    """Run setuptools' PEP 517/660 ``hook`` in the project (what pip runs on install; its
    scratch files go to the ignored ``build/`` folder)."""
    code = f"import sys; from setuptools import build_meta as b; print(b.{hook}(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code, str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stderr, out / done.stdout.strip().splitlines()[-1]


def test_editable_install_prints_no_setuptools_banner(tmp_path) -> None:
    stderr, wheel = _build("build_editable", tmp_path)
    assert "!!" not in stderr and "Warning" not in stderr, stderr
    assert wheel.name.endswith(".whl")


def test_wheel_carries_the_packages_and_the_report_templates(tmp_path) -> None:
    stderr, wheel = _build("build_wheel", tmp_path)
    assert "!!" not in stderr, stderr
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("liftlab", "strategies", "steps", "pipelines"):
        assert f"{package}/__init__.py" in names, package
    assert "liftlab/reports/templates/uplift_report.html.j2" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
