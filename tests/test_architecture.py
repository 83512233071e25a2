"""The layout rules of DESIGN §1, checked on the source: imports point down, no module imports
another's private name, no import cycle, the domain never imports ZenML or MLflow, steps are thin
and take no raw config dict.

Hidden (function-level) imports count: a cycle hidden inside a function is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGES = ("liftlab", "strategies", "steps", "pipelines")
MAX_STEP_LINES = 25


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def _imports(tree: ast.AST) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every absolute import of a project module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno


def _target(module: str, name: str | None) -> str | None:
    if name and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module if module in MODULES else None


def test_no_module_imports_a_private_name_of_another() -> None:
    offenders = [
        f"{importer}:{line} imports {name} from {module}"
        for importer, tree in TREES.items()
        for module, name, line in _imports(tree)
        if module.split(".")[0] in PACKAGES
        and module != importer
        and name
        and name.startswith("_")
        and not name.startswith("__")
    ]
    assert not offenders, "\n".join(offenders)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for importer, tree in TREES.items():
        for module, name, _ in _imports(tree):
            target = _target(module, name)
            if target and target != importer and not importer.startswith(target + "."):
                graph[importer].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_hidden_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("strategies", ("zenml", "mlflow", "liftlab", "steps", "pipelines")),
        ("liftlab", ("steps", "pipelines")),
        ("steps", ("pipelines",)),
    ],
)
def test_imports_point_down(layer: str, forbidden: tuple[str, ...]) -> None:
    offenders = [
        f"{name}:{line} imports {module}"
        for name, tree in TREES.items()
        if name.split(".")[0] == layer
        for module, _, line in _imports(tree)
        if module.split(".")[0] in forbidden
    ]
    assert not offenders, "\n".join(offenders)


def _steps() -> Iterator[tuple[str, ast.FunctionDef]]:
    for name, tree in TREES.items():
        if not name.startswith("steps."):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                (d.func if isinstance(d, ast.Call) else d).id == "step"
                for d in node.decorator_list
                if isinstance(d.func if isinstance(d, ast.Call) else d, ast.Name)
            ):
                yield name, node


def _body_lines(node: ast.FunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


def test_there_are_steps_to_check() -> None:
    assert len(list(_steps())) >= 25


def test_steps_are_thin() -> None:
    fat = [
        f"{module}.{node.name}: {_body_lines(node)} lines"
        for module, node in _steps()
        if _body_lines(node) > MAX_STEP_LINES
    ]
    assert not fat, f"step bodies over {MAX_STEP_LINES} lines (move the logic out):\n" + "\n".join(
        fat
    )


def test_steps_take_no_raw_config_dict() -> None:
    raw = [
        f"{module}.{node.name}({arg.arg})"
        for module, node in _steps()
        for arg in node.args.args + node.args.kwonlyargs
        if arg.arg == "config"
        and arg.annotation is not None
        and ast.unparse(arg.annotation).startswith("dict")
    ]
    assert not raw, "steps must receive the typed config or the values they need:\n" + "\n".join(
        raw
    )
