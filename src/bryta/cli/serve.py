"""``bryta serve``: the web app on embedded defaults (bundled data, a SQLite registry created
and seeded with the real programmes on first start)."""

from __future__ import annotations

import typer

from bryta.cli._common import user_errors
from bryta.cli.options import Database, DataDir


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Start the web app: the barometer's pages and the JSON API (docs at /api/docs).

    On first start it creates the registry (a SQLite file in the data folder unless
    --database names another) and adds the real programmes against segregation; later starts
    bring its schema up to date and leave its records alone.

    Example: bryta serve, then open http://127.0.0.1:8000/ in a browser.
    """
    import uvicorn

    from bryta.app.context import Settings
    from bryta.web.app import create_app

    with user_errors("serve"):
        app = create_app(Settings(data_dir=data_dir, database=database), warm=True, seed=True)
    typer.echo(f"bryta on http://{host}:{port}/ (stop with Ctrl+C)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command()(serve)
