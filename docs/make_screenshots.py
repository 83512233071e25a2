"""Refresh the README's dashboard screenshots (``docs/dashboard/*.png``): runs the browser tests
with ``LIFTLAB_SCREENSHOTS=docs`` (they also keep their own copies in ``test-artifacts/``).

Needs Debian's chromium and the dev extra: ``python docs/make_screenshots.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    env = {**os.environ, "LIFTLAB_SCREENSHOTS": "docs"}
    test = "tests/e2e/test_dashboard_browser.py"
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", test, "-q"], cwd=REPO, env=env))
