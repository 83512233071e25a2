"""How liftlab's ``--help`` looks: the conventions of Click, dbt and ZenML, on Typer's rich help.

Typer (≥ 0.2x) prints a type after every parameter (``--fresh <bool>``, ``CONFIG
<list[Path]>``) and wraps required arguments in braces in the usage line (``{config}``).
liftlab follows the older, widespread convention instead:

- a flag shows no value (``--fresh``), an option its metavar (``--port PORT``) or, when none is
  given, Click's type name (``INTEGER``, ``FLOAT``, ``TEXT``, ``PATH``);
- the command list shows each command's first paragraph as one re-flowed line;
- an argument is its upper-case name (``CONFIG``), ``[CONFIG]`` when optional, with ``...``
  when it takes several; the type is not repeated beside it.

:class:`PlainHelpGroup` applies this to every command and sub-command of the app it is the
``cls`` of, including commands added later, without touching each parameter.
"""

from __future__ import annotations

from typing import Any

import click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["PlainHelpGroup"]


_CLICK_NAMES = {
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "FLOAT",
    "float range": "FLOAT",
    "str": "TEXT",
    "Path": "PATH",
}
"""Typer's type labels → the names Click prints (``int range`` etc. fall back to upper case)."""


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: click.Context) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        label = self.display_type(ctx).strip("<>")
        if "|" in label:  # a choice: show the choices, as Click does
            return f"[{label}]"
        name = _CLICK_NAMES.get(label.removeprefix("list[").removesuffix("]"), label.upper())
        return f"{name}..." if self.nargs != 1 or label.startswith("list[") else name


class _PlainArgument(TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else str(self.name).upper()

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        if self.nargs != 1 and not name.endswith("..."):
            name += "..."
        return name


def _plain_params(params: list[click.Parameter]) -> list[click.Parameter]:
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _PlainOption
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument
    return params


class _PlainHelpCommand(TyperCommand):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _plain_params(super().get_params(ctx))


class PlainHelpGroup(TyperGroup):
    """A Typer group whose commands (and sub-groups) print plain metavars in help and usage."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _plain_params(super().get_params(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        # The subclasses add no state, so re-classing the objects Typer built is safe.
        if type(command) is TyperCommand:
            command.__class__ = _PlainHelpCommand
        elif type(command) is TyperGroup:
            command.__class__ = PlainHelpGroup
        if command is not None and not command.short_help and command.help:
            # The command list shows the first paragraph of the docstring, re-flowed: the line
            # breaks of the source are not the reader's.
            command.short_help = " ".join(command.help.split("\n\n", 1)[0].split())
        return command
