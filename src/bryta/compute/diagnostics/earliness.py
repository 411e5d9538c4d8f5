"""Late interventions: which life stages and prevention levels the portfolio reaches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from bryta.compute.diagnostics import _portfolio as P

EARLINESS_METRICS = (
    *(f"life_stage_share[{band}]" for band in P.AGE_BANDS),
    "early_share",
    "upstream_ratio",
    "life_course_gaps",
)


def earliness(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence | None = None,
) -> pl.DataFrame:
    """Life-stage and prevention diagnostics per ``by`` group (kommun, area_type or year).

    Over the interventions ``i`` of a group ``g``:

    * ``life_stage_share[b]`` = #{i targeting age band b} / |g| for each band b of prenatal,
      0-5, 6-15, 16-19, 20-64, 65+ (an intervention may target several bands, so the shares
      can sum to more than 1);
    * ``early_share`` = #{i targeting prenatal or 0-5} / |g|;
    * ``upstream_ratio`` = #{universal or selective} / #{indicated or reactive} (null when no
      intervention is indicated or reactive);
    * ``life_course_gaps`` = number of the six age bands that no *active* intervention of the
      group targets. Active means running on ``as_of`` (start ≤ ``as_of`` ≤ end) for
      ``by="kommun"``/``"area_type"`` and running in the year for ``by="year"``. A group with
      no active intervention has all 6 bands uncovered: 6 is the right value, not a null.

    Shares and ratios are null for a group with no interventions.

    Worked example: a kommun with a universal 0-5 intervention, a selective 6-15 one and a
    reactive 16-19 + 20-64 one, all running on ``as_of``, has life_stage_share[0-5] = 1/3,
    early_share = 1/3, upstream_ratio = 2/1 = 2 and life_course_gaps = 6 − 4 = 2 (prenatal and
    65+ are uncovered).

    Returns:
        ``by``, ``metric``, ``value``, ``label`` (always null here), one row per group × metric.
    """
    by = P.check_by(by)
    ref = as_of if as_of is not None else dt.date.today()
    prepared = P.prepare(interventions, ref)
    member = P.membership(prepared, area_links, by)
    key = P.keys(by, member, groups=groups)
    if key.is_empty():
        return P.empty_long(by)
    rows = member.join(prepared, on="id")
    level = pl.col("prevention_level")
    early = pl.col("age_bands").list.eval(pl.element().is_in(P.EARLY_BANDS)).list.any()
    wide = rows.group_by(by).agg(
        _n=pl.len(),
        early_share=P.ratio(early.fill_null(False).sum(), pl.len()),
        upstream_ratio=P.ratio(
            level.is_in(["universal", "selective"]).sum(),
            level.is_in(["indicated", "reactive"]).sum(),
        ),
    )
    bands = rows.select(by, "id", band="age_bands").explode("band").drop_nulls("band")
    band_counts = (
        bands.filter(pl.col("band").is_in(P.AGE_BANDS))
        .group_by(by, "band")
        .agg(_k=pl.col("id").n_unique())
    )
    band_grid = key.join(pl.DataFrame({"band": P.AGE_BANDS}), how="cross")
    shares = (
        band_grid.join(band_counts, on=[by, "band"], how="left")
        .join(wide.select(by, "_n"), on=by, how="left")
        .select(
            by,
            metric=pl.format("life_stage_share[{}]", "band"),
            value=P.ratio(pl.col("_k").fill_null(0), "_n"),
            label=pl.lit(None, dtype=pl.String),
        )
    )
    if by == "year":
        active = bands
    else:
        running = prepared.filter(
            (pl.col("start") <= pl.lit(ref)) & (pl.col("end") >= pl.lit(ref))
        ).select("id")
        active = bands.join(running, on="id", how="semi")
    covered = (
        active.filter(pl.col("band").is_in(P.AGE_BANDS))
        .group_by(by)
        .agg(_covered=pl.col("band").n_unique())
    )
    wide = (
        key.join(wide, on=by, how="left")
        .join(covered, on=by, how="left")
        .with_columns(life_course_gaps=len(P.AGE_BANDS) - pl.col("_covered").fill_null(0))
    )
    scalars = P.to_long(wide, by, ["early_share", "upstream_ratio", "life_course_gaps"])
    return P.order(pl.concat([shares, scalars]), by, EARLINESS_METRICS)
