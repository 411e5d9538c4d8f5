"""The demo: the full suite on the bundled SCB RegSO panel, offline, in seconds.

:func:`run_demo` measures every index for birth region and tenure per kommun × year and for
Sweden, writes the results, and returns the tables the command line shows: the trend in the
dissimilarity of the foreign-born for Sweden and the largest kommuner, the most segregated
kommuner, and the population by official area type.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bryta.app.tables import write_table
from bryta.errors import InputError

BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
MIN_UNITS = 5  # kommuner with fewer RegSO are left out of the ranking (small-unit bias)
LARGEST = 5


@dataclass
class DemoResult:
    """The results and the tables shown from them; ``files`` are what was written."""

    results: pl.DataFrame
    sizes: pl.DataFrame
    trend: pl.DataFrame
    most_segregated: pl.DataFrame
    area_types: pl.DataFrame
    largest: list[str]
    files: list[Path]
    seconds: float


def run_demo(out_dir: Path) -> DemoResult:
    """Measure the bundled panel per kommun × year and nationally; write the results to
    ``out_dir`` (created if needed; an existing file there is an error)."""
    from bryta.compute.segregation.engine import measure
    from bryta.datasets import load_demo_panel
    from bryta.geography.areas import kommun_names

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out-dir {out_dir}: is a file, not a folder")
    started = time.perf_counter()
    panel = load_demo_panel()
    results = []
    for grouping, groups in (("birth_region", BIRTH), ("tenure", TENURE)):
        for scope, by in (("kommun", ["kommun", "year"]), ("riket", ["year"])):
            out = measure(panel, unit="regso", groups=groups, by=by)
            if scope == "riket":
                out = out.with_columns(pl.lit("riket").alias("kommun"))
            results.append(out.with_columns(pl.lit(grouping).alias("grouping")))
    columns = ["grouping", "kommun", "year", "index", "group", "value"]
    full = pl.concat([r.select(columns) for r in results])
    known = kommun_names()
    names = pl.DataFrame({"kommun": [*known, "riket"], "kommun_name": [*known.values(), "Sweden"]})
    full = full.join(names, on="kommun", how="left").select(
        "grouping", "kommun", "kommun_name", "year", "index", "group", "value"
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out-dir {out_dir}: cannot create the folder ({exc.strerror})") from exc
    files = [out_dir / "demo_results.parquet", out_dir / "demo_results.csv"]
    for path in files:
        write_table(full, path)
    sizes = (
        panel.group_by("kommun")
        .agg(
            pl.len().alias("n_regso") // panel["year"].n_unique(),
            pl.col(BIRTH).filter(pl.col("year") == pl.col("year").max()).sum(),
        )
        .with_columns((pl.col("born_sweden") + pl.col("born_abroad")).alias("population"))
    )
    d = full.filter(
        (pl.col("grouping") == "birth_region")
        & (pl.col("index") == "dissimilarity")
        & (pl.col("group") == "born_abroad")
    )
    largest = sizes.sort("population", descending=True).head(LARGEST)["kommun"].to_list()
    order = {k: i for i, k in enumerate(["riket", *largest])}
    trend = d.filter(pl.col("kommun").is_in(list(order))).with_columns(
        pl.col("kommun").replace_strict(order, return_dtype=pl.Int64).alias("order")
    )
    last = d["year"].max()
    ranked = (
        d.filter((pl.col("year") == last) & (pl.col("kommun") != "riket"))
        .join(sizes.select("kommun", "n_regso"), on="kommun")
        .filter(pl.col("n_regso") >= MIN_UNITS)
        .sort("value", descending=True)
        .head(10)
    )
    types = _area_types(out_dir)
    files.append(out_dir / "area_types_2022.csv")
    return DemoResult(
        results=full,
        sizes=sizes,
        trend=trend,
        most_segregated=ranked,
        area_types=types,
        largest=largest,
        files=files,
        seconds=time.perf_counter() - started,
    )


def _area_types(out_dir: Path) -> pl.DataFrame:
    """Population by official area type 2022, per kommun and for Sweden (``kommun`` 00)."""
    from bryta.compute.conditions.transitions import population_by_type
    from bryta.datasets import load_demo_shares, official_area_types

    population = load_demo_shares().filter(year=2022).select("regso", "population")
    types = official_area_types().join(population, on="regso", how="left")
    per_kommun = population_by_type(types, "population", "kommun")
    national = population_by_type(types, "population", "riket").rename({"riket": "kommun"})
    both = pl.concat([national, per_kommun])
    write_table(both, out_dir / "area_types_2022.csv")
    return both
