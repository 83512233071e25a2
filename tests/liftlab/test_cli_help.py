"""``--help`` follows the conventions of Click, dbt and ZenML (liftlab.cli_style): no Typer type
labels (``<bool>``, ``<list[Path]>``), plain upper-case arguments in the usage line, examples
in the epilogs, a ``--version``, no source-file paths."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from liftlab.cli import app

runner = CliRunner()


def _help(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


def _all_commands() -> list[tuple[str, ...]]:
    names = re.findall(r"^│ ([a-z][a-z-]+) ", _help(), flags=re.MULTILINE)
    commands = [(name,) for name in names]
    for sub in re.findall(r"^│ ([a-z][a-z-]+) ", _help("schedule"), flags=re.MULTILINE):
        commands.append(("schedule", sub))
    return commands


def test_the_command_list_is_found() -> None:
    commands = _all_commands()
    assert ("run",) in commands and ("check-config",) in commands
    assert ("schedule", "run") in commands


@pytest.mark.parametrize("command", _all_commands(), ids=" ".join)
def test_help_shows_no_typer_type_labels_and_plain_usage(command: tuple[str, ...]) -> None:
    text = _help(*command)
    assert not re.search(r"<(bool|int|float|str|Path|list\[[^\]]*\])>", text), text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage
    assert "strategies/" not in text and ".py" not in text, text


def test_flags_show_no_value_and_options_a_click_metavar() -> None:
    text = _help("plan")
    assert re.search(r"--absolute\s+Read --mde", text)
    assert re.search(r"--alpha\s+FLOAT\s", text)
    assert re.search(r"--n-per-arm\s+INTEGER\s", text)
    assert re.search(r"Usage: \S+ check-config \[OPTIONS\] CONFIGS\.\.\.", _help("check-config"))
    assert re.search(r"--every\s+INTERVAL\s", _help("schedule", "run"))


@pytest.mark.parametrize("command", [("run",), ("check-config",), ("plan",), ("demo",)])
def test_main_commands_show_examples(command: tuple[str, ...]) -> None:
    text = _help(*command)
    assert "Examples:" in text
    assert f"$ liftlab {' '.join(command)}" in text


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"liftlab {version('liftlab')} (zenml ")
