"""``bryta multiscalar``: segregation profiles over the scale of bespoke neighbourhoods."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import err_console, index_names, split_list, user_errors
from bryta.errors import InputError


def multiscalar(
    input: Annotated[
        Path, typer.Argument(help="Cells: coordinates and counts (.csv, .xlsx, .parquet).")
    ],
    x: Annotated[str, typer.Option(help="Column with the x coordinate (projected, metres).")],
    y: Annotated[str, typer.Option(help="Column with the y coordinate (projected, metres).")],
    groups: Annotated[str, typer.Option(help="Count columns, comma-separated.")],
    k: Annotated[str, typer.Option(help="Numbers of nearest people, comma-separated.")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv, .xlsx, .parquet or .json")],
    by: Annotated[str | None, typer.Option(help="Region column(s): one profile each.")] = None,
    index: Annotated[
        list[str] | None, typer.Option("--index", help="Index (repeatable); all when omitted.")
    ] = None,
    focal: Annotated[str | None, typer.Option(help="Focal group(s) for two-group indices.")] = None,
    weight: Annotated[
        str, typer.Option(help="population (cells weighted by residents) or context.")
    ] = "population",
    plot: Annotated[
        Path | None,
        typer.Option(help="Also write an HTML plot of one index (offline): a .html file."),
    ] = None,
    plot_index: Annotated[
        str | None, typer.Option(help="The index to plot (default: the first computed).")
    ] = None,
) -> None:
    """Every index over k-nearest-neighbour contexts, for each k: a profile over scale.

    Output: <by…>, k, index, group, value. Example: bryta multiscalar grid.csv --x x --y y
    --groups born_sweden,born_abroad --k 200,800,3200,12800 --by kommun --index dissimilarity
    --focal born_abroad -o profile.csv --plot profile.html
    """
    from bryta.app.tables import check_writable, read_table, write_table
    from bryta.compute.spatial.multiscalar import multiscalar_profile, profile_figure

    with user_errors(str(input)):
        check_writable(output, [input])
        if plot is not None:
            _check_plot(plot, output, input)
        try:
            ks = [int(item) for item in split_list(k) or []]
        except ValueError:
            raise InputError(f"--k must be whole numbers, not {k!r}") from None
        result = multiscalar_profile(
            read_table(input),
            x=x,
            y=y,
            groups=split_list(groups) or [],
            k=ks,
            by=split_list(by),
            indices=index_names(index),
            focal=split_list(focal),
            weight=weight,  # type: ignore[arg-type]
        )
        write_table(result, output, [input])
        if plot is not None:
            chosen = plot_index or result.get_column("index")[0]
            rows = result.filter(index=chosen)
            group = rows.get_column("group")[0] if rows.height else None
            fig = profile_figure(result, index=chosen, group=group)
            plot.parent.mkdir(parents=True, exist_ok=True)
            tmp = plot.with_name(f".{plot.stem}.partial{plot.suffix}")
            try:
                fig.write_html(tmp, include_plotlyjs=True, full_html=True)
                tmp.replace(plot)
            finally:
                tmp.unlink(missing_ok=True)
    err_console.print(f"wrote {result.height} values to {output}", highlight=False)


def _check_plot(plot: Path, output: Path, input: Path) -> None:
    """The plot is an HTML page: refuse another suffix before any work is done."""
    if plot.suffix.lower() not in (".html", ".htm"):
        raise InputError(
            f"--plot {plot}: the plot is an interactive HTML page; name a .html file "
            f"(e.g. {plot.with_suffix('.html')}), or save a PNG from the page in a browser"
        )
    if plot.is_dir():
        raise InputError(f"--plot {plot}: is a folder; give a file name such as plot.html")
    if plot.resolve() in (output.resolve(), input.resolve()):
        raise InputError(f"--plot {plot}: is also the input or the -o file; name another file")


def register(app: typer.Typer) -> None:
    app.command()(multiscalar)
