"""WSGI entry for gunicorn: ``gunicorn --bind 127.0.0.1:8050 liftlab.dashboard.wsgi:server``.

The project is the one around the current folder (``LIFTLAB_ROOT`` overrides it)."""

from __future__ import annotations

import os
from pathlib import Path

from liftlab.dashboard.app import create_app
from liftlab.mlops.paths import find_project_root

_root = os.environ.get("LIFTLAB_ROOT")
app = create_app(Path(_root) if _root else find_project_root())
server = app.server
