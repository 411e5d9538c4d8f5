"""Generate the command-line reference (docs/cli.md) from the commands' ``--help``."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

HEAD = Path(__file__).resolve().parents[3] / "docs" / "cli.md.head"


def command_names(app: typer.Typer) -> list[str]:
    """Every command, sub-commands as ``group command`` (e.g. ``data list``), named the way
    typer names them (a function ``area_types`` without a name becomes ``area-types``)."""
    root = typer.main.get_command(app)
    return _names(root) if isinstance(root, TyperGroup) else []


def _names(group: TyperGroup) -> list[str]:
    names: list[str] = []
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            names += [f"{name} {sub}" for sub in _names(command)]
        else:
            names.append(name)
    return names


def reference() -> str:
    """The help text of ``bryta`` and of every command, as Markdown."""
    from bryta.cli import app

    runner = CliRunner()
    env = {"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    parts = []
    for name in [None, *command_names(app)]:
        args = [*name.split(), "--help"] if name else ["--help"]
        out = runner.invoke(app, args, env=env, prog_name="bryta").output
        text = "\n".join(line.rstrip() for line in out.strip("\n").splitlines())
        title = f"bryta {name}" if name else "bryta"
        parts.append(f"## `{title}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(HEAD.read_text(encoding="utf-8").rstrip() + "\n\n" + reference())
