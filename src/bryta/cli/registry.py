"""``bryta registry``: the intervention and collaboration registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import err_console, user_errors
from bryta.cli._io import check_writable, write_table

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (default: the SQLite file registry.sqlite in the data directory).",
    ),
]
registry_app = typer.Typer(
    name="registry",
    help="Interventions: who does what, where, for whom, with whom.",
    no_args_is_help=True,
)


@registry_app.command("init")
def init(database: Database = None) -> None:
    """Create the registry database, or bring it up to the newest schema."""
    from bryta.store.registry import db

    url = database or db.default_url()
    with user_errors("registry"):
        db.init(url)
    err_console.print(f"registry ready at {url}", highlight=False)


@registry_app.command("diagnose")
def diagnose(
    by: Annotated[str, typer.Option(help="kommun, area_type or year.")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv, .parquet or .json")],
    database: Database = None,
    as_of: Annotated[
        str | None, typer.Option(help="Reference date YYYY-MM-DD for open-ended work (today).")
    ] = None,
    public: Annotated[bool, typer.Option("--public", help="Only published interventions.")] = False,
) -> None:
    """Short-termism, earliness and collaboration per kommun, area type or year.

    Long output: <by>, family, metric, value, label. Formulas: docs/diagnostics.md.
    """
    from bryta.compute.diagnostics import diagnose as run_diagnose
    from bryta.store.registry import db
    from bryta.store.registry.portfolio import portfolio_frames

    with user_errors("registry"):
        check_writable(output)
        ref = dt.date.fromisoformat(as_of) if as_of else None
        engine = db.connect(database or db.default_url())
        try:
            frames = portfolio_frames(engine, published_only=public)
        finally:
            engine.dispose()
        result = run_diagnose(
            frames["interventions"],
            frames["participations"],
            frames["area_links"],
            frames["successions"],
            by=by,
            as_of=ref,
        )
        write_table(result, output)
    err_console.print(f"wrote {result.height} figures to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
