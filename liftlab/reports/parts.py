"""Building blocks every liftlab HTML report shares: the template loader, the footer's run
items and the view of a Great Expectations result.

One place for them, so the A/B, training, campaign and uplift reports escape, label and order
things the same way. Value formatting helpers stay in :mod:`liftlab.reports.ab_testing`.
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.resources.abc
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from markupsafe import Markup

from liftlab.plots.style import figure_to_svg
from liftlab.reports.format import (
    DASH,
    as_mapping,
    compact,
    example_values,
    fmt_int,
    fmt_text,
    num_or_nan,
    truthy,
)

__all__ = [
    "TEMPLATE_LOCATION",
    "header_context",
    "load_template",
    "run_items",
    "template_dir",
    "validation_view",
]

RUN_LABELS = {
    "pipeline": "Pipeline",
    "run_name": "Run",
    "generated_at": "Generated at",
    "data_source": "Data source",
    "data_sha256": "Data SHA-256",
    "rows_raw": "Raw rows",
    "git_commit": "Git commit",
    "mlflow_run_id": "MLflow run id",
    "mlflow_tracking_uri": "MLflow tracking URI",
    "model_name": "Registered model",
}
_RUN_MONO = {"data_sha256", "git_commit", "mlflow_run_id", "mlflow_tracking_uri", "data_source"}
_MAX_EXAMPLES = 8


# Where the report templates live: (package, folder inside it). The one place to change when the
# folder moves; pyproject.toml's package-data must follow it.
TEMPLATE_LOCATION = ("liftlab.reports", "templates")


def template_dir() -> importlib.resources.abc.Traversable:
    """The templates folder as package data: a real folder in a checkout or an editable
    install, a folder inside the wheel's install or a zip entry otherwise."""
    package, folder = TEMPLATE_LOCATION
    return importlib.resources.files(package).joinpath(folder)


def _template_source(name: str) -> tuple[str, str | None, Callable[[], bool]] | None:
    """``jinja2.FunctionLoader`` callback: one template (or partial) by its name relative to
    the templates folder; ``None`` (template not found) for a missing file. Package data does
    not change while the process runs, so a loaded template is always up to date."""
    resource = template_dir().joinpath(*split_template_path(name))
    if not resource.is_file():
        return None
    filename = str(resource) if isinstance(resource, Path) else None
    return resource.read_text(encoding="utf-8"), filename, lambda: True


@functools.cache
def _environment() -> jinja2.Environment:
    """The one Jinja environment of the reports. Its loader reads package data, so a template
    can ``{% extends "base.html.j2" %}`` and import partials. Autoescape is forced on: the
    templates are HTML whatever their file extension, and every name in them can come from
    user data."""
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@functools.cache
def load_template(name: str) -> jinja2.Template:
    """A report template from package data (``importlib.resources`` works from a wheel or a
    zip, not only from a checkout), with the templates it extends and imports."""
    return _environment().get_template(name)


def header_context(run_info: Mapping[str, Any] | None) -> dict[str, str]:
    """The page header's facts: pipeline, run name, generation time, data source, commit."""
    info = run_info or {}
    keys = ("pipeline", "run_name", "generated_at", "data_source", "git_commit")
    return {key: fmt_text(info.get(key)) for key in keys}


def run_items(run_info: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Footer rows ``{label, value, mono}``; empty values are left out, unknown keys get a
    label made from the key."""
    items = []
    for key, value in (run_info or {}).items():
        if key == "rows_raw":
            text = fmt_int(value)
        else:
            text = value if isinstance(value, str) else compact(value)
        if text in ("", "None", "null", "nan", DASH):
            continue
        label = RUN_LABELS.get(key, str(key).replace("_", " ").capitalize())
        items.append({"label": label, "value": text, "mono": key in _RUN_MONO})
    return items


def validation_view(validation: Mapping[str, Any] | None) -> dict[str, Any]:
    """One ``ValidationReport.to_dict()`` for a template: failures first, then expectations that
    could not run (a column was missing), then passes; counts of each."""
    if not validation or not isinstance(validation, Mapping):
        return {"present": False}
    outcomes = []
    for o in validation.get("outcomes") or []:
        if not isinstance(o, Mapping):
            continue
        examples = o.get("unexpected_examples") or []
        if not isinstance(examples, list | tuple):
            examples = [examples]
        outcomes.append(
            {
                "expectation": fmt_text(o.get("expectation")),
                "column": fmt_text(o.get("column")),
                "success": truthy(o.get("success")),
                "skipped": truthy(o.get("skipped")),
                "unexpected": fmt_int(o.get("unexpected_count")),
                "examples": [example_values(e) for e in list(examples)[:_MAX_EXAMPLES]],
                "more": max(0, len(examples) - _MAX_EXAMPLES),
                "description": fmt_text(o.get("description")),
            }
        )
    outcomes.sort(key=lambda o: (o["success"], not o["skipped"]))
    n_failed = sum(not o["success"] and not o["skipped"] for o in outcomes)
    n_skipped = sum(o["skipped"] for o in outcomes)
    success = validation.get("success")
    success = (n_failed == 0) if success is None else truthy(success)
    return {
        "present": True,
        "success": success,
        "checked_by": str(validation.get("checked_by") or ""),
        "n_rows": fmt_int(validation.get("n_rows")),
        "n": len(outcomes) - n_skipped,
        "n_failed": n_failed,
        "n_skipped": n_skipped,
        "outcomes": outcomes,
    }


def validation_tables(validation: Any) -> dict[str, Any]:
    """Several tables' reports ({table: ``ValidationReport.to_dict()``}) for a template: one
    summary row per table plus its outcomes and problems, and whether every table passed. A
    report without outcomes falls back on its own counts (``n_failed``, ``n_skipped``,
    ``n_expectations``)."""
    tables = []
    for name, report in as_mapping(validation).items():
        if not isinstance(report, Mapping):
            continue
        view = validation_view(report)
        outcomes = view["outcomes"]
        failed_n, skipped_n, run_n = view["n_failed"], view["n_skipped"], len(outcomes)
        if not outcomes:
            counts = {}
            for key in ("n_failed", "n_skipped", "n_expectations"):
                value = num_or_nan(report.get(key))
                counts[key] = 0 if math.isnan(value) else value
            failed_n, skipped_n, run_n = (
                counts["n_failed"], counts["n_skipped"], counts["n_expectations"]
            )  # fmt: skip
        success = report.get("success")
        success = (failed_n == 0) if success is None else truthy(success)
        tables.append(
            {
                "table": fmt_text(name) or DASH,
                "success": success,
                "n_rows": fmt_int(report.get("n_rows")),
                "n": fmt_int(run_n - skipped_n),
                "n_failed": int(failed_n),
                "n_skipped": int(skipped_n),
                "outcomes": outcomes,
                "problems": [o for o in outcomes if not o["success"]],
            }
        )
    return {
        "present": bool(tables),
        "success": all(t["success"] for t in tables),
        "n_failed_tables": sum(not t["success"] for t in tables),
        "tables": tables,
    }


def config_setting(
    config: Mapping[str, Any], *keys: str, sections: Sequence[str] = (), default: Any = None
) -> Any:
    """A config value as a report reads it: by key, at the top level, under ``parameters:``
    (the YAML layout) or under one of ``sections`` (e.g. ``personas:``); the first key found
    wins."""
    scopes: list[Mapping[str, Any]] = [config]
    params = config.get("parameters")
    if isinstance(params, Mapping):
        scopes.append(params)
    for scope in list(scopes):
        for section in sections:
            if isinstance(scope.get(section), Mapping):
                scopes.append(scope[section])
    for key in keys:
        for scope in scopes:
            if key in scope:
                return scope[key]
    return default


def inline_svg(fig: Any) -> Markup:
    """A chart as inline SVG markup: the only unescaped HTML a report inserts (matplotlib's)."""
    return Markup(figure_to_svg(fig))
