"""The docs are tested: generated references stay current, every public name is documented."""

from __future__ import annotations

from pathlib import Path

import typer

import bryta
from bryta.cli import app
from bryta.cli.docs import HEAD, command_names, reference
from bryta.cli.measure import indices_markdown

ROOT = Path(__file__).resolve().parents[1]


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_cli_reference_is_current():
    want = HEAD.read_text(encoding="utf-8").rstrip() + "\n\n" + reference() + "\n"
    assert read("docs/cli.md") == want, "regenerate: uv run python -m bryta.cli.docs > docs/cli.md"


def test_every_command_is_documented():
    cli = read("docs/cli.md")
    for name in command_names(app):
        assert f"## `bryta {name}`" in cli


def test_command_names_are_the_names_typer_gives():
    # An unnamed command is called by its function name with dashes, the way typer calls it;
    # nested groups are walked.
    demo, outer, inner = typer.Typer(), typer.Typer(), typer.Typer()

    def show_all() -> None: ...

    def list_them() -> None: ...

    outer.command()(show_all)
    inner.command(name="list")(list_them)
    inner.command()(show_all)
    outer.add_typer(inner, name="inner")
    demo.command()(list_them)
    demo.add_typer(outer, name="outer")
    want = ["list-them", "outer show-all", "outer inner list", "outer inner show-all"]
    assert command_names(demo) == want


def test_index_table_is_current():
    assert indices_markdown() in read("docs/indices.md"), (
        "regenerate the table in docs/indices.md from: uv run bryta indices --markdown"
    )


def test_every_index_has_formula_reference_and_worked_value():
    for spec in bryta.INDICES.values():
        assert spec.formula and spec.reference and spec.worked, spec.name
        assert ">>>" in (spec.func.__doc__ or ""), f"{spec.name} has no doctest"


def test_every_public_name_is_documented():
    pages = (
        "indices.md",
        "data.md",
        "inference.md",
        "rank_order.md",
        "change.md",
        "area_types.md",
        "profile.md",
        "transitions.md",
        "inequality.md",
        "spatial.md",
        "neighbourhoods.md",
    )
    docs = "".join(read(f"docs/{name}") for name in pages)
    docs += read("README.md")
    for name in bryta.__all__:
        assert name in docs, f"{name} is public but not in the docs"


def test_readme_shows_setup():
    readme = read("README.md")
    for text in ("pip install uv", "uv run bryta demo", "uv run pytest"):
        assert text in readme
