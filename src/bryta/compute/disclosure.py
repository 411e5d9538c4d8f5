"""Small-count protection for exported and published counts.

Counts below a threshold (default 5) can identify people, so every export path suppresses
them and says so:

* **primary** suppression: a count with 0 < value < threshold becomes null (zeros are kept
  unless ``zero=True``: an empty cell discloses nothing about a person);
* **secondary** suppression: where cells add up to a published total (the rows sharing the
  ``within`` columns, e.g. one area's groups), a single suppressed cell could be recovered by
  subtraction, so the smallest other published cell of that total is suppressed too.

The result has a ``suppressed`` column naming, per row, the columns suppressed and why
(``value:primary``), and :class:`Suppression` counts them — output is never silently changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from bryta.errors import InputError

DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class Suppression:
    """What was suppressed: counts per column and kind."""

    threshold: int
    primary: dict[str, int]
    secondary: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.primary.values()) + sum(self.secondary.values())

    def describe(self) -> str:
        if not self.total:
            return f"no counts below {self.threshold}: nothing suppressed"
        parts = [
            f"{col}: {self.primary.get(col, 0)} primary, {self.secondary.get(col, 0)} secondary"
            for col in self.primary
            if self.primary.get(col, 0) or self.secondary.get(col, 0)
        ]
        return f"suppressed {self.total} counts below {self.threshold} ({'; '.join(parts)})"


def suppress_small(
    frame: pl.DataFrame,
    *,
    values: Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    within: Sequence[str] | None = None,
    zero: bool = False,
) -> tuple[pl.DataFrame, Suppression]:
    """Suppress small counts in ``values`` (and secondarily within ``within`` totals).

    >>> df = pl.DataFrame({"area": ["a", "a", "a", "b", "b"], "group": list("xyzxy"),
    ...                    "n": [2, 40, 30, 50, 60]})
    >>> out, report = suppress_small(df, values=["n"], within=["area"])
    >>> out["n"].to_list(), out["suppressed"].to_list()
    ([None, 40, None, 50, 60], ['n:primary', None, 'n:secondary', None, None])
    >>> report.describe()
    'suppressed 2 counts below 5 (n: 1 primary, 1 secondary)'
    """
    if threshold < 1:
        raise InputError(f"threshold must be at least 1, got {threshold}")
    within = list(within or [])
    out = frame.with_row_index("__row")
    flags = []
    primary, secondary = {}, {}
    for col in values:
        v = pl.col(col)
        small = (v < threshold) & ((v > 0) | pl.lit(zero)) & v.is_not_null()
        out = out.with_columns(small.fill_null(False).alias("__p"))
        if within:
            n_small = pl.col("__p").sum().over(within)
            candidate = ~pl.col("__p") & v.is_not_null()
            # rank the published cells of each total; the smallest one hides the lone cell
            order = pl.when(candidate).then(v).otherwise(None).rank("ordinal").over(within)
            out = out.with_columns(((n_small == 1) & candidate & (order == 1)).alias("__s"))
        else:
            out = out.with_columns(pl.lit(False).alias("__s"))
        primary[col] = int(out["__p"].sum())
        secondary[col] = int(out["__s"].sum())
        flags.append(
            pl.when(pl.col("__p"))
            .then(pl.lit(f"{col}:primary"))
            .when(pl.col("__s"))
            .then(pl.lit(f"{col}:secondary"))
            .otherwise(None)
            .alias(f"__flag_{col}")
        )
        out = out.with_columns(
            pl.when(pl.col("__p") | pl.col("__s")).then(None).otherwise(v).alias(col), *flags[-1:]
        ).drop("__p", "__s")
    flag_cols = [f"__flag_{c}" for c in values]
    out = out.with_columns(
        pl.concat_str(flag_cols, separator=",", ignore_nulls=True).alias("suppressed")
    ).with_columns(
        pl.when(pl.col("suppressed") == "")
        .then(None)
        .otherwise(pl.col("suppressed"))
        .alias("suppressed")
    )
    out = out.sort("__row").drop("__row", *flag_cols)
    return out, Suppression(threshold, primary, secondary)
