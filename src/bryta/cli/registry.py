"""``bryta registry``: the intervention and collaboration registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from bryta.app.tables import check_writable, write_table
from bryta.cli._common import err_console, user_errors

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (default: the SQLite file registry.sqlite in the data directory).",
    ),
]
ExcludeSynthetic = Annotated[
    bool,
    typer.Option(
        "--exclude-synthetic", help="Leave out synthetic (invented, demonstration) interventions."
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
    from bryta.registry import db

    url = db.normalise_url(database)
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
    exclude_synthetic: ExcludeSynthetic = False,
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
    coverage counts links to RegSO). Long output: <by>, family, metric, value, label.
    Formulas: docs/diagnostics.md.
    """
    from bryta.compute.diagnostics import diagnose as run_diagnose
    from bryta.registry import db
    from bryta.registry.portfolio import portfolio_frames

    with user_errors("registry"):
        check_writable(output)
        ref = _as_of(as_of)
        engine = db.connect(database)
        try:
            frames = portfolio_frames(
                engine, published_only=public, exclude_synthetic=exclude_synthetic
            )
        finally:
            engine.dispose()
        links, population = _with_area_types(frames["area_links"])
        history = None
        if area_types is not None:
            history, population = _type_history(area_types, population)
        result = run_diagnose(
            frames["interventions"],
            frames["participations"],
            links,
            frames["successions"],
            population,
            by=by,
            as_of=ref,
            fundings=frames["fundings"],
            area_types=history,
        )
        write_table(result, output)
    err_console.print(f"wrote {result.height} figures to {output}", highlight=False)


def _as_of(text: str | None) -> dt.date | None:
    """``--as-of``, a date YYYY-MM-DD, or a one-line error naming the option and the value."""
    from bryta.errors import InputError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise InputError(f"--as-of {text}: not a date YYYY-MM-DD ({error})") from None


def _with_area_types(area_links):
    """Area links with the official 2022 area type of their RegSO (a DeSO through its RegSO),
    and the bundled RegSO population 2022 with its type, for need coverage."""
    import polars as pl

    from bryta.datasets import load_demo_shares, official_area_types
    from bryta.geography.areas import load_regso_key

    types = official_area_types().select("regso", "area_type")
    deso = load_regso_key().select("deso", "regso")
    links = (
        area_links.join(deso, left_on="area", right_on="deso", how="left")
        .with_columns(pl.coalesce("regso", "area").alias("regso"))
        .join(types, on="regso", how="left")
        .drop("regso")
    )
    population = (
        load_demo_shares()
        .filter(year=2022)
        .join(types, on="regso")
        .select(pl.col("regso").alias("area"), "population", "area_type", "kommun")
    )
    return links, population


def _type_history(path: Path, population):
    """Area types by year from ``path`` (reaction lag) and the latest year's index joined to
    the population (concentration index)."""
    import polars as pl

    from bryta.app.tables import read_table
    from bryta.errors import BrytaError

    frame = read_table(path)
    unit = next((c for c in ("area", "regso", "deso") if c in frame.columns), None)
    missing = [c for c in ("year", "area_type") if c not in frame.columns]
    if unit is None or missing:
        raise BrytaError(
            f"{path}: needs an area column (area, regso or deso), year and area_type; "
            f"it has {', '.join(frame.columns)}"
        )
    try:
        history = frame.select(
            pl.col(unit).cast(pl.String).alias("area"),
            pl.col("year").cast(pl.Int64),
            pl.col("area_type").cast(pl.Int64),
            pl.col(unit).cast(pl.String).str.slice(0, 4).alias("kommun"),
            *([pl.col("index").cast(pl.Float64)] if "index" in frame.columns else []),
        ).drop_nulls(["area", "year", "area_type"])
    except pl.exceptions.InvalidOperationError as exc:
        raise BrytaError(f"{path}: year, area_type and index must be numbers ({exc})") from exc
    if "index" in history.columns:
        latest = history.filter(pl.col("year") == pl.col("year").max()).select("area", "index")
        population = population.join(latest, on="area", how="left")
        history = history.drop("index")
    return history, population


def _read_records(file: Path):
    """The registry's CSV or JSON, or the programmes layout (recognised by its header)."""
    from bryta.registry import exchange

    suffix = file.suffix.lower()
    if suffix == ".json":
        return exchange.read_registry_json(file)
    if suffix != ".csv":
        raise typer.BadParameter(f"{file}: import reads .csv or .json")
    with file.open(encoding="utf-8-sig") as fh:
        header = fh.readline()
    if header.startswith("id,name_sv,"):
        return exchange.read_programmes_csv(file)
    return exchange.read_registry_csv(file)


def _load(records, database: str | None):
    """Add or update ``records`` through the registry service as ``system``, in one
    transaction; returns the :class:`~bryta.registry.exchange.ImportResult`."""
    from bryta.registry import db
    from bryta.registry.exchange import import_records

    engine = db.connect(database)
    try:
        with db.session(engine) as s:  # one transaction: all or nothing
            return import_records(s, engine, records)
    finally:
        engine.dispose()


def _summary(result) -> str:
    return f"{result.added} new, {result.updated} updated, {result.unchanged} unchanged"


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
    with user_errors(str(file)):
        if not file.exists():
            raise typer.BadParameter(f"{file}: no such file")
        result = _load(_read_records(file), database)
    err_console.print(
        f"imported {len(result.ids)} interventions from {file} ({_summary(result)})",
        highlight=False,
        soft_wrap=True,
    )


@registry_app.command("export")
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv or .json")],
    database: Database = None,
    public: Annotated[bool, typer.Option("--public", help="Only published interventions.")] = False,
    exclude_synthetic: ExcludeSynthetic = False,
) -> None:
    """Write every intervention with its links as the registry's CSV or JSON.

    Keys are the interventions' stable keys: ``registry import`` of the file updates the
    interventions it names instead of adding copies (docs/registry_exchange.md).
    """
    from bryta.errors import BrytaError
    from bryta.registry import db, exchange

    with user_errors("registry"):
        suffix = output.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise BrytaError(f"{output}: output must be .csv or .json")
        engine = db.connect(database)
        try:
            records = exchange.records_from_database(
                engine, published_only=public, exclude_synthetic=exclude_synthetic
            )
        finally:
            engine.dispose()
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(f".{output.name}.partial")
        write = exchange.write_registry_csv if suffix == ".csv" else exchange.write_registry_json
        try:
            write(records, tmp)
            tmp.replace(output)
        finally:
            tmp.unlink(missing_ok=True)
    err_console.print(f"wrote {len(records)} interventions to {output}", highlight=False)


@registry_app.command("seed")
def seed(
    database: Database = None,
    synthetic: Annotated[
        int, typer.Option(help="Also add this many synthetic interventions (marked synthetic).")
    ] = 0,
    seed_value: Annotated[int, typer.Option("--seed", help="Seed of the synthetic ones.")] = 0,
) -> None:
    """Add the real Swedish programmes 1975–2024 (and optionally a synthetic portfolio).

    Seeding again adds nothing: the programmes are matched by their keys. Synthetic
    interventions are marked synthetic and not published.
    """
    from bryta.registry.exchange import read_programmes_csv, synthetic_portfolio

    with user_errors("registry"):
        records = read_programmes_csv()
        if synthetic:
            records = [*records, *synthetic_portfolio(synthetic, seed=seed_value)]
        result = _load(records, database)
    err_console.print(
        f"seeded {len(result.ids)} interventions ({synthetic} synthetic): {_summary(result)}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    from bryta.cli import registry_people

    registry_people.register(registry_app)
    app.add_typer(registry_app, name="registry")
