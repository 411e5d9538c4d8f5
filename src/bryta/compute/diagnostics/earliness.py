"""Late interventions: which life stages and prevention levels the portfolio reaches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from bryta.compute.diagnostics import _portfolio as P
from bryta.compute.diagnostics._reaction_lag import REACTION_LAG_METRICS, reaction_lag
from bryta.vocabulary import PreventionLevel

EARLINESS_METRICS = (
    *(f"life_stage_share[{band}]" for band in P.AGE_BANDS),
    *(f"life_stage_share_sek[{band}]" for band in P.AGE_BANDS),
    *(f"life_stage_share_participants[{band}]" for band in P.AGE_BANDS),
    "early_share",
    *(f"prevention_share[{level}]" for level in P.PREVENTION_LEVELS),
    "upstream_ratio",
    *(f"setting_share[{setting}]" for setting in P.SETTINGS),
    "life_course_gaps",
    *REACTION_LAG_METRICS,
)


def _mix(
    rows: pl.DataFrame, key: pl.DataFrame, by: str, values: tuple[str, ...], metric: str
) -> pl.DataFrame:
    """Long rows ``metric[v]`` = Σ weight of the group's interventions with value v / Σ weight
    of all its interventions (``rows``: ``by``, ``id``, ``_v`` list of values, ``_w`` weight;
    a null weight leaves the intervention out of both sums)."""
    num = (
        rows.explode("_v")
        .filter(pl.col("_v").is_in(values))
        .unique([by, "id", "_v"])
        .group_by(by, "_v")
        .agg(_k=pl.col("_w").sum())
    )
    den = rows.group_by(by).agg(_t=pl.col("_w").sum(), _known=pl.col("_w").is_not_null().sum())
    grid = key.join(pl.DataFrame({"_v": values}), how="cross")
    return (
        grid.join(num, on=[by, "_v"], how="left")
        .join(den, on=by, how="left")
        .select(
            by,
            metric=pl.format(metric + "[{}]", "_v"),
            value=pl.when(pl.col("_known") > 0).then(P.ratio(pl.col("_k").fill_null(0), "_t")),
            label=pl.lit(None, dtype=pl.String),
        )
    )


def _participants(
    prepared: pl.DataFrame, area_links: pl.DataFrame, member: pl.DataFrame, by: str
) -> pl.DataFrame:
    """``by``, ``id``, ``participants``: the participants an intervention reaches in the
    group's areas (every area for ``by="year"``); null when no link of it gives a number."""
    reach = pl.when(pl.col("participants").is_not_null().any()).then(pl.col("participants").sum())
    if by == "year":
        per_id = P.links(area_links, prepared, "kommun").group_by("id").agg(participants=reach)
        return member.join(per_id, on="id", how="left")
    per_group = (
        P.links(area_links, prepared, by).drop_nulls(by).group_by(by, "id").agg(participants=reach)
    )
    return member.join(per_group, on=[by, "id"], how="left")


def earliness(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence[str | int] | None = None,
    area_types: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Life-stage and prevention diagnostics per ``by`` group (kommun, area_type or year).

    Over the interventions ``i`` of a group ``g``:

    * ``life_stage_share[b]`` = #{i targeting age band b} / |g| for each band b of prenatal,
      0-5, 6-15, 16-19, 20-64, 65+ (an intervention may target several bands, so the shares
      can sum to more than 1);
    * ``life_stage_share_sek[b]`` = Σ SEK of the i targeting b / Σ SEK (interventions with a
      known amount; each counts with its whole amount in every band it targets);
    * ``life_stage_share_participants[b]`` = Σ participants of the i targeting b / Σ
      participants, an intervention's participants being the sum of ``participants`` over its
      area links in the group's areas (all its links for ``by="year"``; interventions with no
      number are left out);
    * ``early_share`` = #{i targeting prenatal or 0-5} / |g|;
    * ``prevention_share[l]`` = #{i at prevention level l} / |g| for universal, selective,
      indicated, reactive;
    * ``upstream_ratio`` = #{universal or selective} / #{indicated or reactive} (null when no
      intervention is indicated or reactive);
    * ``setting_share[s]`` = #{i working in setting s} / |g| for each of the eleven settings
      (``settings`` list, else the single ``setting``; may sum to more than 1);
    * ``life_course_gaps`` = number of the six age bands that no *active* intervention of the
      group targets. Active means running on ``as_of`` (start ≤ ``as_of`` ≤ end) for
      ``by="kommun"``/``"area_type"`` and running in the year for ``by="year"``. A group with
      no active intervention has all 6 bands uncovered: 6 is the right value, not a null;
    * ``reaction_lag_years`` = mean over the group's areas that entered type 1–2 and were then
      served of (first year ≥ entry with an active early-years intervention linked to the
      area) − (first year the area is type 1 or 2 in ``area_types``); 0 when early-years work
      is already running in the entry year. Only years up to year(``as_of``) count;
    * ``reaction_lag_censored`` = number of areas that entered type 1–2 but had no early-years
      intervention by year(``as_of``): their lag is still running (right-censored), so they
      are counted here instead of being given a lag. Read the two together: a low mean lag
      with many censored areas is not a quick reaction.

    The reaction lag needs ``area_types`` (``area``, ``year``, ``area_type``, optional
    ``kommun``, else the first four characters of the code); without it both are null. An
    area's group is its kommun, its type in the entry year, or (``by="year"``) its entry year;
    groups with an entering area but no intervention are reported too.

    Shares and ratios are null for a group with no interventions.

    Worked example: a kommun with a universal 0-5 intervention, a selective 6-15 one and a
    reactive 16-19 + 20-64 one, all running on ``as_of``, has life_stage_share[0-5] = 1/3,
    early_share = 1/3, upstream_ratio = 2/1 = 2 and life_course_gaps = 6 − 4 = 2 (prenatal and
    65+ are uncovered). With 1 000, 3 000 and unknown SEK, life_stage_share_sek[0-5] = 1 000 /
    4 000 = 1/4. If one of its areas turned type 2 in 2019 and the 0-5 work there started in
    2021, and another turned type 1 in 2020 and has had no early-years work since,
    reaction_lag_years = 2 and reaction_lag_censored = 1.

    Returns:
        ``by``, ``metric``, ``value``, ``label`` (always null here), one row per group × metric.
    """
    by = P.check_by(by)
    ref = as_of if as_of is not None else dt.date.today()
    prepared = P.prepare(interventions, ref)
    member = P.membership(prepared, area_links, by)
    if area_types is None:
        lag = pl.DataFrame(
            schema={by: P.KEY_DTYPES[by], **dict.fromkeys(REACTION_LAG_METRICS, pl.Float64)}
        )
    else:
        lag = reaction_lag(prepared, area_links, area_types, by, ref)
    key = P.keys(by, member, lag, groups=groups)
    if key.is_empty():
        return P.empty_long(by)
    rows = member.join(prepared, on="id")
    level = pl.col("prevention_level")
    wide = rows.group_by(by).agg(
        early_share=P.ratio(P.is_early().sum(), pl.len()),
        upstream_ratio=P.ratio(
            level.is_in([PreventionLevel.UNIVERSAL.value, PreventionLevel.SELECTIVE.value]).sum(),
            level.is_in([PreventionLevel.INDICATED.value, PreventionLevel.REACTIVE.value]).sum(),
        ),
    )
    reach = _participants(prepared, area_links, member, by).join(
        prepared.select("id", "age_bands"), on="id"
    )
    settings = pl.coalesce("settings", pl.concat_list("setting"))
    one = pl.lit(1)
    mixes = [
        _mix(
            rows.select(by, "id", _v="age_bands", _w=one), key, by, P.AGE_BANDS, "life_stage_share"
        ),
        _mix(
            rows.select(by, "id", _v="age_bands", _w="amount_sek"),
            key,
            by,
            P.AGE_BANDS,
            "life_stage_share_sek",
        ),
        _mix(
            reach.select(by, "id", _v="age_bands", _w="participants"),
            key,
            by,
            P.AGE_BANDS,
            "life_stage_share_participants",
        ),
        _mix(
            rows.select(by, "id", _v=pl.concat_list("prevention_level"), _w=one),
            key,
            by,
            P.PREVENTION_LEVELS,
            "prevention_share",
        ),
        _mix(rows.select(by, "id", _v=settings, _w=one), key, by, P.SETTINGS, "setting_share"),
    ]
    bands = rows.select(by, "id", band="age_bands").explode("band").drop_nulls("band")
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
        .join(lag, on=by, how="left")
        .with_columns(life_course_gaps=len(P.AGE_BANDS) - pl.col("_covered").fill_null(0))
    )
    if area_types is not None:  # a group with no area entering type 1–2 has none waiting
        wide = wide.with_columns(pl.col("reaction_lag_censored").fill_null(0))
    scalars = P.to_long(
        wide, by, ["early_share", "upstream_ratio", "life_course_gaps", *REACTION_LAG_METRICS]
    )
    return P.order(pl.concat([*mixes, scalars]), by, EARLINESS_METRICS)
