"""``bryta registry``: the intervention and collaboration registry (parse → call → render)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import err_console, user_errors
from bryta.cli.options import Database

if TYPE_CHECKING:
    from bryta.app.context import Context
    from bryta.registry.exchange import ImportResult

ExcludeSynthetic = Annotated[
    bool,
    typer.Option(
        "--exclude-synthetic", help="Leave out synthetic (invented, demonstration) interventions."
    ),
]
Public = Annotated[
    bool, typer.Option("--public", help="Read as the public: published interventions only.")
]
ActAs = Annotated[
    int | None,
    typer.Option("--as", help="Read as this user id (default: the system administrator)."),
]
registry_app = typer.Typer(
    name="registry",
    help="Interventions: who does what, where, for whom, with whom.",
    no_args_is_help=True,
)


@contextmanager
def _context(database: str | None) -> Iterator[Context]:
    from bryta.app.context import Context, Settings

    ctx = Context(Settings(database=database))
    try:
        yield ctx
    finally:
        ctx.close()


def _as_of(text: str | None) -> dt.date | None:
    """``--as-of``, a date YYYY-MM-DD, or a one-line error naming the option and the value."""
    from bryta.errors import InputError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise InputError(f"--as-of {text}: not a date YYYY-MM-DD ({error})") from None


def _summary(result: ImportResult) -> str:
    return f"{result.added} new, {result.updated} updated, {result.unchanged} unchanged"


@registry_app.command("init")
def init(database: Database = None) -> None:
    """Create the registry database, or bring it up to the newest schema."""
    from bryta.app import registry

    with user_errors("registry"), _context(database) as ctx:
        url = registry.init_registry(ctx)
    err_console.print(f"registry ready at {url}", highlight=False, soft_wrap=True)


@registry_app.command("diagnose")
def diagnose(
    per: Annotated[str, typer.Option("--per", help="One row group per kommun, area_type or year.")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv, .parquet or .json")],
    database: Database = None,
    as_of: Annotated[
        str | None, typer.Option(help="Reference date YYYY-MM-DD for open-ended work (today).")
    ] = None,
    public: Public = False,
    exclude_synthetic: ExcludeSynthetic = False,
    act_as: ActAs = None,
    area_types: Annotated[
        Path | None,
        typer.Option(
            "--area-types",
            help="Area types by year (the output of 'bryta area-types': regso, year, index, "
            "area_type) for the reaction lag and the concentration index.",
        ),
    ] = None,
) -> None:
    """Short-termism, earliness, collaboration and need coverage per kommun, area type or year.

    Area types and population are the bundled official 2022 types and RegSO population (need
    coverage counts links to RegSO). Long output: <per>, family, metric, value, label.
    Formulas: docs/diagnostics.md.
    """
    from bryta.app import registry
    from bryta.app.tables import check_writable, write_table

    with user_errors("registry"), _context(database) as ctx:
        check_writable(output)
        reference = _as_of(as_of)
        who = registry.actor(ctx, act_as, public=public)
        result = registry.diagnose(
            ctx,
            who,
            by=per,
            as_of=reference,
            area_types=area_types,
            exclude_synthetic=exclude_synthetic,
        )
        write_table(result, output)
    err_console.print(f"wrote {result.height} figures to {output}", highlight=False)


@registry_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="Registry .csv or .json, or programmes.csv.")],
    database: Database = None,
) -> None:
    """Import interventions, validated record by record; all or nothing.

    An intervention whose key is stored already is updated to the file's (or left alone when
    it is the same), so importing a file again adds nothing. Reads the registry's own CSV and
    JSON formats (docs/registry_exchange.md) and the layout of the bundled programmes.csv.
    """
    from bryta.app import registry

    with user_errors(str(file)), _context(database) as ctx:
        result = registry.import_file(ctx, file)
    err_console.print(
        f"imported {len(result.ids)} interventions from {file} ({_summary(result)})",
        highlight=False,
        soft_wrap=True,
    )


@registry_app.command("export")
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv or .json")],
    database: Database = None,
    public: Public = False,
    exclude_synthetic: ExcludeSynthetic = False,
    act_as: ActAs = None,
) -> None:
    """Write every intervention with its links as the registry's CSV or JSON.

    Keys are the interventions' stable keys: ``registry import`` of the file updates the
    interventions it names instead of adding copies (docs/registry_exchange.md).
    """
    from bryta.app import registry

    with user_errors("registry"), _context(database) as ctx:
        n = registry.export(
            ctx,
            output,
            registry.actor(ctx, act_as, public=public),
            exclude_synthetic=exclude_synthetic,
        )
    err_console.print(f"wrote {n} interventions to {output}", highlight=False, soft_wrap=True)


@registry_app.command("list")
def list_interventions(
    database: Database = None,
    kommun: Annotated[str | None, typer.Option(help="Kommun code (four digits).")] = None,
    text: Annotated[str | None, typer.Option(help="Words in title or description.")] = None,
    public: Public = False,
    exclude_synthetic: ExcludeSynthetic = False,
    act_as: ActAs = None,
) -> None:
    """List the interventions (key, title, form, status, published, synthetic)."""
    from rich.console import Console
    from rich.table import Table

    from bryta.app import registry

    with user_errors("registry"), _context(database) as ctx:
        found = registry.interventions(
            ctx,
            registry.actor(ctx, act_as, public=public),
            kommun=kommun,
            text=text,
            exclude_synthetic=exclude_synthetic,
        )
    if not found:
        err_console.print("no interventions")
        return
    table = Table(title=f"{len(found)} interventions", title_justify="left")
    for name in ("id", "key", "title", "form", "status", "published", "synthetic"):
        table.add_column(name, justify="right" if name == "id" else "left")
    for r in found:
        table.add_row(
            str(r.id), r.key, r.title, r.form, r.status, str(r.published), str(r.synthetic)
        )
    Console().print(table)


@registry_app.command("audit")
def audit(
    database: Database = None,
    intervention: Annotated[
        int | None, typer.Option(help="Only the entries of this intervention id.")
    ] = None,
    act_as: ActAs = None,
) -> None:
    """Show the audit trail: who changed what, when."""
    from rich.console import Console
    from rich.table import Table

    from bryta.app import registry

    with user_errors("registry"), _context(database) as ctx:
        who = registry.actor(ctx, act_as)
        entries = registry.audit_trail(
            ctx, who, "interventions" if intervention is not None else None, intervention
        )
    table = Table(title=f"{len(entries)} changes", title_justify="left")
    for name in ("at", "who", "action", "entity", "id"):
        table.add_column(name)
    for e in entries:
        table.add_row(
            e.at.isoformat(timespec="seconds"), e.who, e.action, e.entity, str(e.entity_id)
        )
    Console().print(table)


@registry_app.command("add-programmes")
def add_programmes(
    database: Database = None,
    synthetic: Annotated[
        int,
        typer.Option(
            help="Also add this many synthetic interventions (marked synthetic, unpublished)."
        ),
    ] = 0,
    seed_value: Annotated[int, typer.Option("--seed", help="Seed of the synthetic ones.")] = 0,
) -> None:
    """Add the real Swedish programmes 1975–2024 (and optionally a synthetic portfolio).

    Adding them again adds nothing: the programmes are matched by their keys. Synthetic
    interventions are marked synthetic and not published.
    """
    from bryta.app import registry

    with user_errors("registry"), _context(database) as ctx:
        result = registry.add_programmes(ctx, synthetic, seed_value)
    err_console.print(
        f"{len(result.ids) - synthetic} real programmes"
        + (f" and {synthetic} synthetic interventions" if synthetic else "")
        + f": {_summary(result)}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    from bryta.cli import registry_people

    registry_people.register(registry_app)
    app.add_typer(registry_app, name="registry")
