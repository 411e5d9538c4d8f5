"""Lack of collaboration: sector mix per intervention, the co-delivery network, overlaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import networkx as nx
import polars as pl

from bryta.compute.diagnostics import _portfolio as P

COLLABORATION_METRICS = (
    "share_2_or_more_sectors",
    "share_3_or_more_sectors",
    "network_organisations",
    "network_density",
    "network_centralisation",
    "network_components",
    "network_isolates",
    "top_broker_betweenness",
    "ei_index",
    "uncoordinated_overlaps",
    "organisations_per_area",
    "sectors_per_area",
    "shared_indicator_share",
)


def _participants(participations: pl.DataFrame) -> pl.DataFrame:
    frame = P.conform(participations, P.PARTICIPATIONS_SCHEMA, "participations")
    return frame.rename({"intervention_id": "id", "organisation_id": "org"}).drop_nulls("org")


def _pairs(frame: pl.DataFrame, cell: Sequence[str]) -> pl.DataFrame:
    """Distinct organisation pairs ``a < b`` that are both present in the same ``cell``."""
    left = frame.select(*cell, a="org")
    right = frame.select(*cell, b="org")
    return left.join(right, on=list(cell)).filter(pl.col("a") < pl.col("b")).unique()


def _graph_metrics(nodes: pl.DataFrame, edges: pl.DataFrame, by: str) -> pl.DataFrame:
    """Components and the top broker of each group's network.

    Connected components and betweenness are graph traversals with no columnar form, so this
    is the one place with a loop over groups; networkx does the work inside it.
    """
    node_lists = nodes.group_by(by).agg("org")
    edge_lists = edges.group_by(by).agg("a", "b")
    table = node_lists.join(edge_lists, on=by, how="left")
    out: dict[str, list[Any]] = {
        by: [],
        "network_components": [],
        "top_broker_betweenness": [],
        "_broker": [],
    }
    for group, orgs, a, b in table.select(by, "org", "a", "b").iter_rows():
        graph = nx.Graph()
        graph.add_nodes_from(orgs)
        graph.add_edges_from(zip(a or [], b or [], strict=True))
        betweenness = nx.betweenness_centrality(graph, normalized=True)
        # highest betweenness; ties go to the smallest organisation id, so results are stable
        broker, score = min(betweenness.items(), key=lambda kv: (-kv[1], kv[0]))
        out[by].append(group)
        out["network_components"].append(nx.number_connected_components(graph))
        out["top_broker_betweenness"].append(score)
        out["_broker"].append(broker if score > 0 else None)
    return pl.DataFrame(
        out,
        schema={
            by: P.KEY_DTYPES[by],
            "network_components": pl.Int64,
            "top_broker_betweenness": pl.Float64,
            "_broker": pl.String,
        },
    )


def collaboration(
    interventions: pl.DataFrame,
    participations: pl.DataFrame,
    area_links: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence[str | int] | None = None,
) -> pl.DataFrame:
    """Collaboration diagnostics per ``by`` group (kommun, area_type or year).

    Over the interventions ``i`` of a group ``g`` and their participants (any role):

    * ``share_2_or_more_sectors`` / ``share_3_or_more_sectors`` = #{i whose participants come
      from ≥ 2 / ≥ 3 distinct sectors} / |g| (an intervention without participants has 0);
    * the *co-delivery network* of ``g``: nodes are the N organisations taking part in the
      group's interventions, an edge joins two organisations that share one of them (E edges);
      ``network_organisations`` = N;
    * ``network_density`` = 2E / (N (N − 1)) (null when N < 2);
    * ``network_centralisation`` = Freeman degree centralisation Σ_v (d_max − d_v) /
      ((N − 1)(N − 2)), d_v the degree of v: 1 for a star, 0 when all degrees are equal (null
      when N < 3) (Freeman 1978);
    * ``network_components`` = number of connected components; ``network_isolates`` = nodes
      with no edge;
    * ``top_broker_betweenness`` = the largest normalised betweenness centrality (networkx),
      with the organisation in ``label`` (null label when no organisation lies on any shortest
      path, i.e. the maximum is 0; ties go to the smallest organisation id);
    * ``ei_index`` = (X − I) / (X + I) over the edges, X = edges joining organisations of
      different sectors, I = edges within one sector (Krackhardt & Stern 1988); −1 all ties
      within sectors, +1 all across (null when E = 0). An organisation's sector is the
      alphabetically first one it is listed with;
    * ``uncoordinated_overlaps`` = number of (area, age band, outcome domain, organisation pair)
      where both organisations take part in interventions of the group linked to that area
      with that band and domain, yet share no intervention anywhere in the portfolio. For
      ``by="year"`` the interventions must be active in the year;
    * ``organisations_per_area`` / ``sectors_per_area`` = mean over the group's areas (those
      linked to at least one of its interventions; an area must lie in the group for
      ``by="kommun"``/``"area_type"``) of the number of distinct organisations / sectors taking
      part in the interventions linked to the area;
    * ``shared_indicator_share`` = #{i with a shared indicator (an indicator link with both a
      baseline and a target)} / #{i where this is recorded}.

    Network metrics are null for a group with no participating organisation; shares are null
    for a group with no interventions; ``uncoordinated_overlaps`` is 0 for such a group.

    Worked example: one intervention with a municipality M and a civil-society C, another with
    M and a region R: sector shares 2/2 = 1 for ≥ 2 and 0 for ≥ 3; the network is the path
    C–M–R: density 2·2/(3·2) = 2/3, 1 component, 0 isolates, top broker M with betweenness
    1 (it lies on the one C–R shortest path, normalised by (3−1)(3−2)/2 = 1); both edges are
    cross-sector so E–I = (2 − 0)/2 = 1; degrees C 1, M 2, R 1 give centralisation
    ((2 − 1) + 0 + (2 − 1)) / (2 · 1) = 1 (a star). With both interventions in one area, that
    area has 3 organisations and 3 sectors.

    Returns:
        ``by``, ``metric``, ``value``, ``label`` (the broker's organisation id on the
        ``top_broker_betweenness`` rows, otherwise null), one row per group × metric.
    """
    by = P.check_by(by)
    prepared = P.prepare(interventions, as_of)
    member = P.membership(prepared, area_links, by)
    key = P.keys(by, member, groups=groups)
    if key.is_empty():
        return P.empty_long(by)
    parts = _participants(participations).join(prepared.select("id"), on="id", how="semi")

    sectors = parts.group_by("id").agg(_sectors=pl.col("sector").drop_nulls().n_unique())
    shares = (
        member.join(sectors, on="id", how="left")
        .with_columns(pl.col("_sectors").fill_null(0))
        .group_by(by)
        .agg(
            share_2_or_more_sectors=P.ratio((pl.col("_sectors") >= 2).sum(), pl.len()),
            share_3_or_more_sectors=P.ratio((pl.col("_sectors") >= 3).sum(), pl.len()),
        )
    )

    present = member.join(parts.select("id", "org"), on="id").unique([by, "id", "org"])
    nodes = present.select(by, "org").unique()
    edges = _pairs(present, [by, "id"]).drop("id").unique()
    sector_of = parts.group_by("org").agg(sector=pl.col("sector").drop_nulls().min())
    edge_sectors = edges.join(sector_of.rename({"org": "a", "sector": "sa"}), on="a").join(
        sector_of.rename({"org": "b", "sector": "sb"}), on="b"
    )
    ei = edge_sectors.group_by(by).agg(
        _external=(pl.col("sa") != pl.col("sb")).sum(), _edges=pl.len()
    )
    in_edges = pl.concat([edges.select(by, org="a"), edges.select(by, org="b")]).unique()
    n_nodes = nodes.group_by(by).agg(network_organisations=pl.len())
    isolates = (
        nodes.join(in_edges, on=[by, "org"], how="anti").group_by(by).agg(network_isolates=pl.len())
    )
    graph = _graph_metrics(nodes, edges, by)
    degree = nodes.join(
        pl.concat([edges.select(by, org="a"), edges.select(by, org="b")])
        .group_by(by, "org")
        .agg(_degree=pl.len()),
        on=[by, "org"],
        how="left",
    ).with_columns(pl.col("_degree").fill_null(0))
    centralisation = degree.group_by(by).agg(
        network_centralisation=P.ratio(
            (pl.col("_degree").max() - pl.col("_degree")).sum(),
            pl.when(pl.len() >= 3).then((pl.len() - 1) * (pl.len() - 2)),
        )
    )
    diversity = _diversity(prepared, parts, area_links, member, by)
    shared = (
        member.join(prepared.select("id", "shared_indicator"), on="id")
        .group_by(by)
        .agg(
            shared_indicator_share=P.ratio(
                pl.col("shared_indicator").sum(), pl.col("shared_indicator").count()
            )
        )
    )

    overlaps = _uncoordinated(prepared, parts, area_links, member, by)

    wide = (
        key.join(shares, on=by, how="left")
        .join(n_nodes, on=by, how="left")
        .join(ei, on=by, how="left")
        .join(isolates, on=by, how="left")
        .join(graph, on=by, how="left")
        .join(overlaps, on=by, how="left")
        .join(centralisation, on=by, how="left")
        .join(diversity, on=by, how="left")
        .join(shared, on=by, how="left")
        .with_columns(
            pl.col("_edges").fill_null(0),
            pl.col("_external").fill_null(0),
            pl.col("network_isolates").fill_null(0),
            pl.col("uncoordinated_overlaps").fill_null(0),
        )
        .with_columns(
            network_density=P.ratio(
                2 * pl.col("_edges"),
                pl.col("network_organisations") * (pl.col("network_organisations") - 1),
            ),
            ei_index=P.ratio(2 * pl.col("_external") - pl.col("_edges"), "_edges"),
            network_isolates=pl.when(pl.col("network_organisations") > 0).then("network_isolates"),
        )
    )
    long = P.to_long(wide, by, COLLABORATION_METRICS)
    brokers = wide.select(by, _broker="_broker", metric=pl.lit("top_broker_betweenness"))
    return long.join(brokers, on=[by, "metric"], how="left", maintain_order="left").select(
        by, "metric", "value", label=pl.coalesce("label", "_broker")
    )


def _diversity(
    prepared: pl.DataFrame,
    parts: pl.DataFrame,
    area_links: pl.DataFrame,
    member: pl.DataFrame,
    by: str,
) -> pl.DataFrame:
    """``by``, ``organisations_per_area``, ``sectors_per_area`` (see :func:`collaboration`)."""
    if by == "year":
        areas = member.join(P.links(area_links, prepared, "kommun").select("id", "area"), on="id")
    else:
        areas = P.links(area_links, prepared, by).drop_nulls(by).select(by, "id", "area")
    return (
        areas.join(parts.select("id", "org", "sector"), on="id", how="left")
        .group_by(by, "area")
        .agg(
            _orgs=pl.col("org").drop_nulls().n_unique(),
            _sectors=pl.col("sector").drop_nulls().n_unique(),
        )
        .group_by(by)
        .agg(
            organisations_per_area=pl.col("_orgs").mean(),
            sectors_per_area=pl.col("_sectors").mean(),
        )
    )


def _uncoordinated(
    prepared: pl.DataFrame,
    parts: pl.DataFrame,
    area_links: pl.DataFrame,
    member: pl.DataFrame,
    by: str,
) -> pl.DataFrame:
    """``by``, ``uncoordinated_overlaps`` (see :func:`collaboration`)."""
    area = P.links(area_links, prepared, "kommun").select("id", "area")
    cells = (
        member.join(area, on="id")
        .join(prepared.select("id", band="age_bands", domain="outcome_domains"), on="id")
        .explode("band")
        .explode("domain")
        .drop_nulls(["band", "domain"])
    )
    if by != "year":
        # the area must itself lie in the group (an intervention may span several kommuner)
        in_group = P.links(area_links, prepared, by).select("id", "area", by).drop_nulls(by)
        cells = cells.join(in_group, on=["id", "area", by], how="semi")
    cell = [by, "area", "band", "domain"]
    present = cells.join(parts.select("id", "org"), on="id").select(*cell, "org").unique()
    co_delivering = _pairs(parts.select("id", "org").unique(), ["id"]).select("a", "b").unique()
    return (
        _pairs(present, cell)
        .join(co_delivering, on=["a", "b"], how="anti")
        .group_by(by)
        .agg(uncoordinated_overlaps=pl.len())
    )
