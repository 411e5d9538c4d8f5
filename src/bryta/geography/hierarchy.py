"""Moving counts through the hierarchy (DeSO → RegSO → kommun → län → riket) and between
divisions (e.g. RegSO 2020 → RegSO 2025) with a crosswalk key."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from bryta.errors import ImportFormatError, InputError
from bryta.geography.areas import areas
from bryta.geography.codes import LEVELS, code_at, validate_codes


def aggregate(
    counts: pl.DataFrame,
    *,
    code: str,
    level: str,
    to: str,
    values: Sequence[str],
    key: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Sum ``values`` from ``level`` up to ``to``, keeping every other column as a key.

    DeSO → RegSO goes through the bundled key (or ``key`` with columns ``deso``, ``regso``);
    every other step reads the parent from the code. The result's code column is named ``to``.

    >>> df = pl.DataFrame({"regso": ["0114R001", "0114R002", "0180R001"], "n": [1, 2, 4]})
    >>> aggregate(df, code="regso", level="regso", to="kommun", values=["n"]).sort("kommun").rows()
    [('0114', 3), ('0180', 4)]
    """
    if LEVELS.index(to) >= LEVELS.index(level):
        raise InputError(f"cannot aggregate from {level!r} up to {to!r}")
    validate_codes(counts.get_column(code), level)
    others = [c for c in counts.columns if c not in (code, *values)]
    frame = counts
    if level == "deso" and to != "deso":
        mapping = (
            key if key is not None else areas("deso").select(pl.col("code").alias("deso"), "regso")
        )
        frame = frame.join(
            mapping.select("deso", "regso"), left_on=code, right_on="deso", how="left"
        )
        missing = frame.filter(pl.col("regso").is_null()).get_column(code).unique()
        if missing.len():
            raise ImportFormatError(
                f"{missing.len()} DeSO codes are not in the key: {missing.head(10).to_list()}"
            )
        frame = frame.drop(code).rename({"regso": code})
        level = "regso"
    target = pl.col(code) if to == level else code_at(pl.col(code), to)
    return (
        frame.with_columns(target.alias(to))
        .group_by([*others, to], maintain_order=True)
        .agg(pl.col(list(values)).sum())
    )


def crosswalk(
    counts: pl.DataFrame,
    key: pl.DataFrame,
    *,
    code: str,
    values: Sequence[str],
    source: str = "from",
    target: str = "to",
    weight: str | None = None,
) -> pl.DataFrame:
    """Move counts from one division to another with a key of (source, target[, weight]).

    Without ``weight`` each source code must map to exactly one target; with it, a source's
    counts are split by the weights (which must sum to 1 per source). Codes missing from the
    key are an error that lists them. The result's code column keeps the name ``code``.
    """
    needed = [source, target] + ([weight] if weight else [])
    missing_cols = [c for c in needed if c not in key.columns]
    if missing_cols:
        raise ImportFormatError(f"crosswalk key lacks column(s) {missing_cols}")
    if weight is None:
        dup = key.filter(pl.col(source).is_duplicated()).get_column(source).unique()
        if dup.len():
            raise ImportFormatError(
                f"crosswalk key maps {dup.len()} codes to several targets without a weight: "
                f"{dup.head(10).to_list()}"
            )
    else:
        sums = key.group_by(source).agg(pl.col(weight).sum())
        off = sums.filter((pl.col(weight) - 1).abs() > 1e-9)
        if off.height:
            raise ImportFormatError(
                f"crosswalk weights do not sum to 1 for {off.height} codes: "
                f"{off.get_column(source).head(10).to_list()}"
            )
    unknown = counts.join(key, left_on=code, right_on=source, how="anti").get_column(code)
    if unknown.len():
        raise ImportFormatError(
            f"{unknown.n_unique()} codes are not in the crosswalk key: "
            f"{unknown.unique().head(10).to_list()}"
        )
    others = [c for c in counts.columns if c not in (code, *values)]
    joined = counts.join(key.select(needed), left_on=code, right_on=source, how="inner")
    scaled = [(pl.col(v) * pl.col(weight)).alias(v) if weight else pl.col(v) for v in values]
    return (
        joined.with_columns(scaled)
        .drop(code)
        .rename({target: code})
        .group_by([*others, code], maintain_order=True)
        .agg(pl.col(list(values)).sum())
    )
