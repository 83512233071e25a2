"""The liftlab dashboard: one Dash web app over every job's published gold tables and files
(read-only). ``liftlab dashboard`` serves it on 127.0.0.1; ``liftlab.dashboard.wsgi:server`` is
the WSGI app for gunicorn. Modules: ``data`` (read-only loaders), ``callbacks`` (plain functions
behind the interactive parts), ``pages/`` (one per page), ``style`` (the reports' palette and
number formats), ``app`` (``create_app``)."""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(project_root=".", **kwargs):
    from liftlab.dashboard.app import create_app as _create_app

    return _create_app(project_root, **kwargs)
