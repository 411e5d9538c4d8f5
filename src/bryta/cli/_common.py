"""What every command shares: option parsing and turning bryta errors into clean exits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, overload

import typer
from rich.console import Console

from bryta.app.context import Context, Settings
from bryta.errors import BrytaError, SourceError

if TYPE_CHECKING:
    import polars as pl

err_console = Console(stderr=True)


def make_context(ctx: typer.Context | None = None, **settings: object) -> Context:
    """The use cases' context for this call: the options given (``data_dir``, ``database``,
    ``cache_dir``, ``scheduler``) over the context a caller passed as ``obj`` (tests pass one
    with fake HTTP transports), else over the defaults."""
    base = ctx.find_root().obj if ctx is not None else None
    if not isinstance(base, Context):
        base = Context(Settings())
    return Context(base.settings.with_(**settings), transport=base.transport, sleep=base.sleep)


def say(lines: list[str]) -> None:
    """Print what a use case reports, one line each, on stderr."""
    for line in lines:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)


@overload
def split_list(text: str) -> list[str]: ...
@overload
def split_list(text: None) -> None: ...
@overload
def split_list(text: str | None) -> list[str] | None: ...
def split_list(text: str | None) -> list[str] | None:
    """``"a,b, c"`` → ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    items = [part.strip() for part in text.split(",")]
    return [part for part in items if part]


def index_names(index: list[str] | None) -> list[str] | None:
    """Repeatable ``--index`` values, each possibly comma-separated; None means all."""
    return [n for item in index or [] for n in split_list(item) or []] or None


@contextmanager
def user_errors(context: str = "") -> Iterator[None]:
    """Print a bryta error as one line on stderr and exit, without a traceback: status 3 when
    an outside source failed (SCB, Kolada, a database server, a warehouse held too long),
    else 2. Other exceptions are bugs and keep their traceback."""
    try:
        yield
    except BrytaError as exc:
        prefix = f"{context}: " if context and context not in str(exc) else ""
        err_console.print(f"[bold red]error:[/] {prefix}{exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(3 if isinstance(exc, SourceError) else 2) from None


#: Rows printed when no -o is given; longer results are cut with a note.
SCREEN_ROWS = 40


def check_output(output: Path | None, inputs: Sequence[Path] = ()) -> None:
    """Fail before any work if ``output`` cannot be written (nothing to check for the screen)."""
    if output is not None:
        from bryta.app.tables import check_writable

        check_writable(output, list(inputs))


def emit(
    frame: pl.DataFrame,
    output: Path | None,
    inputs: Sequence[Path] = (),
    *,
    what: str = "rows",
    note: str = "",
) -> None:
    """Write ``frame`` to ``output``, or print it as a readable table when there is none;
    kommun, län and RegSO codes get their names beside them."""
    from bryta.geography.areas import with_area_names

    frame = with_area_names(frame)
    if output is not None:
        from bryta.app.tables import write_table

        write_table(frame, output, list(inputs))
        err_console.print(f"wrote {frame.height} {what} to {output}{note}", highlight=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    numeric = {c for c, t in frame.schema.items() if t.is_numeric()}
    for column in frame.columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in frame.head(SCREEN_ROWS).iter_rows():
        table.add_row(*(_cell(v) for v in row))
    Console().print(table)
    more = frame.height - SCREEN_ROWS
    if more > 0:
        err_console.print(
            f"… {more} more {what} ({frame.height} in all): -o FILE writes them all "
            "(.csv, .xlsx, .parquet, .json)",
            highlight=False,
        )
    if note:
        err_console.print(note.strip(" ()"), highlight=False)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if value != value else f"{value:.6g}"
    return str(value)
