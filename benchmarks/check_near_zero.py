"""Who is right where bryta and PySAL differ by more than 1e-10 relative?

``bench_pysal.py`` finds a few values of the RegSO birth-region panel where bryta and PySAL
differ by ~2e-10 relative (but < 1e-13 absolute). They are indices of ~1e-6: kommuner whose
RegSO have almost the same share born abroad. This script recomputes those values exactly
(the correlation ratio in rational arithmetic, the log-based indices in 60-digit decimals)
and prints the relative error of each side::

    uv run --group bench python benchmarks/check_near_zero.py
"""

from __future__ import annotations

import warnings
from decimal import Decimal, getcontext
from fractions import Fraction

import polars as pl
from bench_pysal import BIRTH, Pysal

import bryta

getcontext().prec = 60
BY = ["kommun", "year"]
CASES = [("2417", 2022), ("1439", 2020)]  # the partitions with the largest relative gaps


def dec(q: Fraction) -> Decimal:
    return Decimal(q.numerator) / Decimal(q.denominator)


def binary_entropy(q: Fraction) -> Decimal:
    out = Decimal(0)
    for r in (dec(q), 1 - dec(q)):
        if r > 0:
            out -= r * r.ln()
    return out


def exact_values(x: list[int], y: list[int]) -> dict[tuple[str, str], Decimal]:
    """Exact (or 60-digit) values with focal group x = born_sweden."""
    t = [a + b for a, b in zip(x, y, strict=True)]
    X, T = sum(x), sum(t)
    P = Fraction(X, T)
    V = sum(ti * (Fraction(xi, ti) - P) ** 2 for xi, ti in zip(x, t, strict=True)) / (
        T * P * (1 - P)
    )
    E = binary_entropy(P)
    H = sum(
        Decimal(ti) * (E - binary_entropy(Fraction(xi, ti))) for xi, ti in zip(x, t, strict=True)
    ) / (E * Decimal(T))
    inner = sum(
        Decimal(ti) * ((1 - Decimal(xi) / ti) * (Decimal(xi) / ti)).sqrt()
        for xi, ti in zip(x, t, strict=True)
    )
    A = 1 - dec(P) / (1 - dec(P)) * (inner / (dec(P) * T)) ** 2
    return {
        ("correlation_ratio", "born_sweden"): dec(V),
        ("entropy", "born_sweden"): H,
        ("entropy", "born_abroad"): H,
        ("atkinson", "born_sweden"): A,
        ("mutual_information", ""): H * E,
        ("theil_h", ""): H,
    }


def main() -> None:
    warnings.simplefilter("ignore")
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel()
    pysal = Pysal()
    for kommun, year in CASES:
        sub = panel.filter((pl.col("kommun") == kommun) & (pl.col("year") == year))
        x = sub.get_column("born_sweden").to_list()
        y = sub.get_column("born_abroad").to_list()
        print(f"kommun {kommun}, {year}: {sub.height} RegSO, born in Sweden {x}, abroad {y}")
        ours = bryta.measure(sub, unit="regso", groups=BIRTH, by=BY)
        ours = ours.with_columns(pl.col("group").fill_null(""))
        _, theirs = pysal.run(sub, BY, BIRTH)
        joined = theirs.join(ours, on=[*BY, "index", "group"])
        for (index, group), exact in exact_values(x, y).items():
            row = joined.filter((pl.col("index") == index) & (pl.col("group") == group)).row(
                0, named=True
            )
            err_b = abs(Decimal(row["value"]) - exact) / exact
            err_p = abs(Decimal(row["pysal"]) - exact) / exact
            print(
                f"  {index:20s} {group:12s} exact {float(exact):.12e}   relative error: "
                f"bryta {float(err_b):.1e}, PySAL {float(err_p):.1e}"
            )


if __name__ == "__main__":
    main()
