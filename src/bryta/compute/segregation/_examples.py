"""The three-unit example every index docstring works by hand.

unit   a    b
u1    30   10
u2    10   30
u3    20   20
"""

from __future__ import annotations

import polars as pl


def example_counts() -> pl.DataFrame:
    """The worked example as a wide counts table."""
    return pl.DataFrame({"unit": ["u1", "u2", "u3"], "a": [30, 10, 20], "b": [10, 30, 20]})


def example_value(index: str, focal: str | None = None) -> float:
    """The value of ``index`` on the worked example (focal group for two-group indices)."""
    from bryta.compute.segregation.engine import measure

    out = measure(example_counts(), unit="unit", groups=["a", "b"], indices=[index], focal=focal)
    return float(out.get_column("value")[0])
