"""What the kommun page shows beyond the barometer's indices: how its RegSO moved between
area types, the public interventions in it, its portfolio diagnostics in brief, and every
table of the page as data for downloads.

* :func:`type_transitions` — the area types of the kommun's RegSO per year, and the areas and
  people moving between types from the first year to the last. Official area types (SCB)
  exist for one year only (2022); movement over the years is read from bryta's **proxy**
  types of the bundled panel (the RegSO ranked by the share born abroad and of rental
  dwellings, cut into five types per year, see :mod:`bryta.app.profiles`), and every row says
  which source it comes from.
* :func:`interventions_in` — the published interventions linked to the kommun or to an area in
  it, read through the registry service for the public.
* :func:`portfolio_brief` — :func:`bryta.app.registry.diagnose` of what the public sees, the
  kommun's row, reduced to a few figures with their rules.
* :func:`download_tables` — the page's tables as frames (the spatial indices from
  :func:`bryta.app.spatial_pattern.spatial_table`), counts of people protected by
  :func:`bryta.compute.disclosure.suppress_small`, for CSV and Excel.

Functions take a :class:`~bryta.app.context.Context` where they read the registry and return
plain data; the web layer renders it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from bryta.app import barometer
from bryta.app import registry as registry_use_cases

if TYPE_CHECKING:
    from bryta.app.context import Context
    from bryta.registry.records import InterventionRecord

#: The roles whose organisations the page names for an intervention, in this order.
LEAD_ROLES = ("accountable", "implementing")
#: The kommun page's download tables (``/kommun/{code}/{table}.csv``), in the Excel file's order.
TABLES = (
    "indices",
    "regso",
    "spatial",
    "comparison",
    "area_types",
    "transitions",
    "interventions",
    "diagnostics",
)
SOURCE_TEXT = (
    "Källa: SCB, öppna data (RegSO 2020–2023: folkmängd efter födelseregion, lägenheter efter "
    "upplåtelseform; områdestyper 2022; RegSO-gränser), licens CC0. Insatser: bryta:s register "
    "(programmes.csv och det som registrerats), publicerade uppgifter. Beräknat med bryta."
)
SOURCE_TEXT_EN = (
    "Source: Statistics Sweden (SCB), open data (RegSO 2020–2023: population by birth region, "
    "dwellings by tenure; area types 2022; RegSO boundaries), licence CC0. Interventions: "
    "bryta's registry (programmes.csv and what has been registered), published records. "
    "Computed with bryta."
)


# ---- transitions between area types ----------------------------------------------------------


@dataclass(frozen=True)
class Transitions:
    """The kommun's RegSO by area type and year, and from the first proxy year to the last.

    ``by_year``: ``source`` (``official``/``proxy``), ``year``, ``area_type``, ``areas``,
    ``population``, ``share`` (of the kommun's population in that source and year), every
    type 1–5 present (zeros included); ``matrix``: ``from_type``, ``to_type``, ``areas``,
    ``population_first``, ``population_second`` from ``first`` to ``second`` (proxy types),
    all 25 cells.
    """

    first: int
    second: int
    by_year: pl.DataFrame
    matrix: pl.DataFrame


def _kommun_types(code: str) -> pl.DataFrame:
    from bryta.app.profiles import _all_types

    return _all_types().filter(pl.col("regso").str.starts_with(code))


def type_transitions(code: str) -> Transitions:
    """Area types of kommun ``code``'s RegSO per year and the moves between the first and the
    last year of the proxy types (see the module)."""
    from bryta.compute.conditions.transitions import transition_matrix

    barometer.kommun_name(code)
    types = _kommun_types(code)
    grid = (
        types.select("source", "year")
        .unique()
        .join(
            pl.DataFrame({"area_type": list(range(1, 6))}, schema={"area_type": pl.Int64}),
            how="cross",
        )
    )
    counted = (
        types.filter(pl.col("area_type").is_not_null())
        .with_columns(pl.col("area_type").cast(pl.Int64), pl.col("year").cast(pl.Int64))
        .group_by("source", "year", "area_type")
        .agg(pl.len().cast(pl.Int64).alias("areas"), pl.col("population").sum())
    )
    by_year = (
        grid.with_columns(pl.col("year").cast(pl.Int64))
        .join(counted, on=["source", "year", "area_type"], how="left")
        .with_columns(pl.col("areas", "population").fill_null(0))
        .with_columns(
            (pl.col("population") / pl.col("population").sum().over("source", "year")).alias(
                "share"
            )
        )
        .sort(pl.col("source") == "official", "year", "area_type")
    )
    proxy = types.filter(pl.col("source") == "proxy")
    years = sorted(proxy.get_column("year").unique().to_list())
    first, second = int(years[0]), int(years[-1])
    matrix = transition_matrix(
        proxy.drop("source"), first=first, second=second, population="population"
    )
    matrix = matrix.filter(pl.col("from_type").is_not_null() & pl.col("to_type").is_not_null())
    return Transitions(first=first, second=second, by_year=by_year, matrix=matrix)


# ---- public interventions --------------------------------------------------------------------


def _period(record: InterventionRecord) -> tuple[dt.date | None, dt.date | None]:
    return (record.actual_start or record.planned_start, record.actual_end or record.planned_end)


def _link(record: InterventionRecord) -> str | None:
    if record.evaluation_report_url:
        return record.evaluation_report_url
    return next(
        (r for r in record.evidence_references if r.startswith(("http://", "https://"))), None
    )


def interventions_in(ctx: Context, code: str | None) -> list[dict[str, Any]] | None:
    """The published interventions linked to kommun ``code`` or an area in it (every
    published one when ``code`` is None), as the public sees them; None when the app has no
    registry. An unknown kommun code is :class:`~bryta.errors.NotFound`.

    Each: ``key``, ``title``, ``organisations`` (those accountable or implementing, else any),
    ``form``, ``status``, ``start``, ``end`` (actual, else planned; ISO dates or None),
    ``areas`` (the codes linked within the kommun — the kommun itself or its RegSO/DeSO; all
    linked codes when ``code`` is None), ``other_areas`` (how many linked areas lie outside
    it), ``link`` (the evaluation report, else the first web reference). Sorted by start,
    then title.
    """
    from bryta.app.registry import has_registry, interventions

    if code is not None:
        barometer.kommun_name(code)
    if not has_registry(ctx):
        return None
    records = interventions(ctx, None, kommun=code, exclude_synthetic=True)
    rows = []
    for record in records:
        lead = [p.organisation for p in record.participations if p.role in LEAD_ROLES]
        named = lead or [p.organisation for p in record.participations]
        organisations = list(dict.fromkeys(o for o in named if o))
        inside = [
            a.area_code for a in record.area_links if code is None or a.area_code.startswith(code)
        ]
        start, end = _period(record)
        rows.append(
            {
                "key": record.key,
                "title": record.title,
                "organisations": organisations,
                "form": str(record.form),
                "status": str(record.status),
                "start": start.isoformat() if start else None,
                "end": end.isoformat() if end else None,
                "areas": sorted(dict.fromkeys(inside)),
                "other_areas": len(record.area_links) - len(inside),
                "link": _link(record),
            }
        )
    return sorted(rows, key=lambda r: (r["start"] or "9999", r["title"]))


# ---- portfolio diagnostics in brief ----------------------------------------------------------

#: The figures of the brief: metric of :func:`bryta.compute.diagnostics.diagnose` → its kind
#: (``count``, ``share``, ``months``, ``ratio``), in the order shown.
BRIEF = {
    "short_termism": (
        ("n_interventions", "count"),
        ("project_share_count", "share"),
        ("median_planned_months", "months"),
        ("share_under_12_months", "share"),
        ("share_36_months_or_more", "share"),
        ("institutionalisation_rate", "share"),
    ),
    "earliness": (
        ("early_share", "share"),
        ("upstream_ratio", "ratio"),
    ),
    "collaboration": (
        ("share_2_or_more_sectors", "share"),
        ("network_organisations", "count"),
        ("network_isolates", "count"),
    ),
    "need_coverage": (
        ("high_need_areas", "count"),
        ("unserved_high_need_areas", "count"),
    ),
}


def portfolio_brief(ctx: Context, code: str, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """The kommun's portfolio as the diagnostics see it, in brief: the figures of
    :data:`BRIEF` from :func:`bryta.app.registry.diagnose` (``by="kommun"``, what the public
    sees, invented records left out), and the interventions linked to its RegSO or DeSO per
    official area type.

    ``available`` is False when the app has no registry; ``figures`` is a list of
    ``family``, ``metric``, ``kind``, ``value`` (None where undefined); ``by_area_type`` a list
    of ``area_type`` (1–5) and ``interventions``; ``kommun_wide`` the interventions linked to
    the kommun as a whole.
    """
    barometer.kommun_name(code)
    if not registry_use_cases.has_registry(ctx):
        return {"available": False, "figures": [], "by_area_type": [], "kommun_wide": 0}
    diagnosed = registry_use_cases.diagnose(
        ctx, None, by="kommun", as_of=as_of, exclude_synthetic=True
    ).filter(pl.col("kommun") == code)
    values = {row["metric"]: row["value"] for row in diagnosed.iter_rows(named=True)}
    figures = []
    for family, metrics in BRIEF.items():
        for metric, kind in metrics:
            value = values.get(metric)
            if value is not None and value != value:  # NaN: undefined
                value = None
            if family == "short_termism" and metric == "n_interventions" and value is None:
                value = 0.0
            figures.append({"family": family, "metric": metric, "kind": kind, "value": value})
    records = registry_use_cases.published_in_kommun(ctx, code) or []
    kommun_wide = sum(any(a.area_code == code for a in r.area_links) for r in records)
    from bryta.geography.areas import load_regso_key

    types = barometer.kommun_regso(code).select("code", "area_type")
    type_of = dict(types.iter_rows())
    regso_of = dict(load_regso_key().select("deso", "regso").iter_rows())
    per_type = {t: 0 for t in range(1, 6)}
    for record in records:
        linked = {
            type_of.get(regso_of.get(a.area_code, a.area_code))
            for a in record.area_links
            if a.area_code.startswith(code) and a.area_code != code
        }
        for t in linked:
            if t is not None:
                per_type[int(t)] += 1
    return {
        "available": True,
        "figures": figures,
        "by_area_type": [{"area_type": t, "interventions": n} for t, n in per_type.items()],
        "kommun_wide": kommun_wide,
    }


# ---- the page's tables for downloads ---------------------------------------------------------


def protect(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` with the counts of people in ``columns`` below 5 suppressed (null; zeros
    kept) and a ``suppressed`` column naming them (:func:`suppress_small`)."""
    from bryta.compute.disclosure import suppress_small

    present = [c for c in columns if c in frame.columns]
    if not present or frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("suppressed"))
    out, _ = suppress_small(frame, values=present)
    return out


def download_tables(
    ctx: Context, code: str, *, as_of: dt.date | None = None
) -> dict[str, pl.DataFrame]:
    """Every table of kommun ``code``'s page (:data:`TABLES`), as frames with plain column
    names; counts of people (population columns) pass :func:`protect`. Areas, interventions
    and organisations are not people and are not suppressed."""
    intervals = barometer.kommun_intervals(code).sort("grouping", "index", "year")
    regso = barometer.kommun_regso(code)
    latest: int = intervals.get_column("year").max()  # type: ignore[assignment]
    seg = barometer.segregation("kommun", year=latest).filter(pl.col("grouping") == "birth_region")
    riket = barometer.segregation("riket", year=latest).filter(pl.col("grouping") == "birth_region")
    measures = (("dissimilarity", "born_abroad"), ("theil_h", None), ("mutual_information", None))

    def wide(table: pl.DataFrame) -> pl.DataFrame:
        parts = []
        for index, group in measures:
            keep = pl.col("group").is_null() if group is None else pl.col("group") == group
            parts.append(
                table.filter((pl.col("index") == index) & keep).select(
                    "code", pl.col("value").alias(index)
                )
            )
        out = parts[0]
        for part in parts[1:]:
            out = out.join(part, on="code", how="left")
        return out

    mix = barometer.kommun_mix()
    similar = barometer.similar_kommuner(code)
    compared = pl.concat(
        [
            mix.filter(pl.col("code") == code).with_columns(
                pl.lit("kommun").alias("row"), pl.lit(None, dtype=pl.Float64).alias("distance")
            ),
            pl.DataFrame(
                {"code": ["00"], "name": ["Sverige"], "row": ["riket"]},
            ),
            similar.with_columns(pl.lit("similar").alias("row")),
        ],
        how="diagonal_relaxed",
    )
    values = pl.concat([wide(seg), wide(riket)])
    comparison = compared.join(values, on="code", how="left").select(
        "row",
        "code",
        "name",
        "population",
        "share_types_1_2",
        "distance",
        *(index for index, _ in measures),
    )
    moves = type_transitions(code)
    listed = interventions_in(ctx, code) or []
    interventions = pl.DataFrame(
        [
            {
                **row,
                "organisations": "; ".join(row["organisations"]),
                "areas": "; ".join(row["areas"]),
            }
            for row in listed
        ],
        schema={
            "key": pl.String,
            "title": pl.String,
            "organisations": pl.String,
            "form": pl.String,
            "status": pl.String,
            "start": pl.String,
            "end": pl.String,
            "areas": pl.String,
            "other_areas": pl.Int64,
            "link": pl.String,
        },
    )
    brief = portfolio_brief(ctx, code, as_of=as_of)
    from bryta.app.spatial_pattern import spatial_table

    diagnostics = pl.DataFrame(
        brief["figures"],
        schema={"family": pl.String, "metric": pl.String, "kind": pl.String, "value": pl.Float64},
    )
    return {
        "indices": intervals.select(
            "grouping", "index", "group", "year", "value", "ci_low", "ci_high", "se"
        ),
        "regso": protect(regso, ["population"]),
        "spatial": spatial_table(ctx, code),
        "comparison": protect(comparison, ["population"]),
        "area_types": protect(moves.by_year, ["population"]),
        "transitions": protect(
            moves.matrix.with_columns(
                pl.lit(moves.first).alias("first_year"), pl.lit(moves.second).alias("second_year")
            ).select(
                "first_year",
                "second_year",
                "from_type",
                "to_type",
                "areas",
                "population_first",
                "population_second",
            ),
            ["population_first", "population_second"],
        ),
        "interventions": interventions,
        "diagnostics": diagnostics,
    }


def source_table(code: str, name: str) -> pl.DataFrame:
    """The Excel file's last sheet: what the tables are, their source and licence."""
    rows = [
        ("kommun", f"{code} {name}"),
        ("källa", SOURCE_TEXT),
        ("source", SOURCE_TEXT_EN),
        ("licens / licence", "CC0 1.0 (SCB:s öppna data); bryta: MIT"),
        (
            "röjandeskydd / disclosure control",
            "Antal personer under 5 är borttagna (tomma) och markerade i kolumnen suppressed. "
            "/ Counts of people below 5 are removed (empty) and marked in the column suppressed.",
        ),
        ("tabeller / tables", ", ".join(TABLES)),
    ]
    return pl.DataFrame(rows, schema=["what", "text"], orient="row")
