"""``bryta registry org|user``: organisations and users, managed by admins.

The commands act as the registry's ``system`` administrator (whoever may open the database
file is its administrator), or as a registered user with ``--as USER_ID`` — then the service's
rules apply and only admins may change people. Every change is audited.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bryta.cli._common import err_console, user_errors
from bryta.cli.options import Database

ActAs = Annotated[
    int | None,
    typer.Option("--as", help="Act as this user id (default: the system administrator)."),
]

org_app = typer.Typer(name="org", help="Organisations (admins).", no_args_is_help=True)
user_app = typer.Typer(name="user", help="Users and their roles (admins).", no_args_is_help=True)


def _service(database: str | None, act_as: int | None) -> Any:
    """A service on the database, acting as ``act_as`` (a user id) or as ``system``."""
    from bryta.app import registry
    from bryta.app.context import Context, Settings

    ctx = Context(Settings(database=database))
    return ctx.registry(registry.actor(ctx, act_as))


def _show(rows: list[Any], title: str) -> None:
    table = Table(title=title, title_justify="left")
    if not rows:
        err_console.print(f"{title}: none")
        return
    fields = [f.name for f in dataclasses.fields(rows[0])]
    names = ["id", *[f for f in fields if f != "id"]]
    for name in names:
        table.add_column(name, justify="right" if name.endswith("id") else "left")
    for row in rows:
        values = dataclasses.asdict(row)
        table.add_row(*("" if values[n] is None else str(values[n]) for n in names))
    Console().print(table)


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="The organisation's name.")],
    sector: Annotated[
        str,
        typer.Option(
            help="state_agency, municipality, region, civil_society, business, "
            "housing_company or academia."
        ),
    ],
    level: Annotated[str, typer.Option("--org-level", help="national, regional or local.")],
    org_number: Annotated[str | None, typer.Option(help="Organisationsnummer.")] = None,
    database: Database = None,
    act_as: ActAs = None,
) -> None:
    """Add an organisation."""
    with user_errors("registry"):
        out = _service(database, act_as).create_organisation(
            {"name": name, "sector": sector, "level": level, "org_number": org_number}
        )
    err_console.print(f"organisation {out.id} added: {out.name}", highlight=False)


@org_app.command("list")
def org_list(database: Database = None) -> None:
    """List the organisations."""
    with user_errors("registry"):
        _show(_service(database, None).list_organisations(), "Organisations")


@org_app.command("update")
def org_update(
    id: Annotated[int, typer.Argument(help="Organisation id.")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    sector: Annotated[str | None, typer.Option(help="New sector.")] = None,
    level: Annotated[
        str | None, typer.Option("--org-level", help="New level: national, regional or local.")
    ] = None,
    org_number: Annotated[str | None, typer.Option(help="New organisationsnummer.")] = None,
    database: Database = None,
    act_as: ActAs = None,
) -> None:
    """Change an organisation's name, sector, level or number."""
    changes = {"name": name, "sector": sector, "level": level, "org_number": org_number}
    changes = {k: v for k, v in changes.items() if v is not None}
    with user_errors("registry"):
        if not changes:
            raise typer.BadParameter("nothing to change: give --name, --sector, --level or …")
        out = _service(database, act_as).update_organisation(id, changes)
    err_console.print(f"organisation {out.id} updated", highlight=False)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The user's name (or login).")],
    role: Annotated[str, typer.Option(help="admin, editor or viewer.")],
    organisation: Annotated[
        int | None, typer.Option(help="Organisation id (required for editors).")
    ] = None,
    database: Database = None,
    act_as: ActAs = None,
) -> None:
    """Add a user with a role; an editor belongs to an organisation."""
    with user_errors("registry"):
        out = _service(database, act_as).create_user(
            {"name": name, "role": role, "organisation_id": organisation}
        )
    err_console.print(f"user {out.id} added: {out.name} ({out.role})", highlight=False)


@user_app.command("list")
def user_list(database: Database = None, act_as: ActAs = None) -> None:
    """List the users and their roles."""
    with user_errors("registry"):
        _show(_service(database, act_as).list_users(), "Users")


@user_app.command("set")
def user_set(
    id: Annotated[int, typer.Argument(help="User id.")],
    role: Annotated[str | None, typer.Option(help="New role: admin, editor or viewer.")] = None,
    organisation: Annotated[int | None, typer.Option(help="New organisation id.")] = None,
    database: Database = None,
    act_as: ActAs = None,
) -> None:
    """Change a user's role or organisation."""
    with user_errors("registry"):
        if role is None and organisation is None:
            raise typer.BadParameter("nothing to change: give --role or --organisation")
        out = _service(database, act_as).update_user(id, role=role, organisation_id=organisation)
    err_console.print(f"user {out.id} is now {out.role}", highlight=False)


def register(registry_app: typer.Typer) -> None:
    registry_app.add_typer(org_app)
    registry_app.add_typer(user_app)
