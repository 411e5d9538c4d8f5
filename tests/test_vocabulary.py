"""One vocabulary in the Python API: the same argument names everywhere, one progress callback."""

from __future__ import annotations

import inspect
import threading

import polars as pl
import pytest

import bryta

# Names the public functions used before they took the shared ones (unit, indices, within,
# n_bootstrap, first/second, by, progress). ``period`` stays only where it is the time axis of
# a transition, not a partition.
FORMER = {
    "data1",
    "data2",
    "id",
    "index",
    "levels",
    "n_simulations",
    "on_index",
    "on_progress",
    "on_tile",
    "period",
}
PERIOD_AXIS = {
    "transition_matrix",
    "changed_areas",
    "persistence",
    "trajectories",
    "transition_risk",
    "watch_list",
    "backtest_watch",
}


def _public_functions():
    for name in bryta.__all__:
        value = getattr(bryta, name)
        if inspect.isfunction(value):
            yield name, inspect.signature(value)


@pytest.mark.parametrize(("name", "signature"), list(_public_functions()))
def test_public_functions_use_the_shared_names(name, signature):
    allowed = {"period"} if name in PERIOD_AXIS else set()
    assert not (set(signature.parameters) & FORMER) - allowed
    params = signature.parameters
    for periods in ("first", "second"):
        if periods in params and name not in ("mutual_difference", "decompose_difference"):
            # there the two samples
            assert params[periods].kind is inspect.Parameter.KEYWORD_ONLY, (name, periods)
    if "by" in params and name != "population_by_type":  # "year" there, like its siblings
        assert params["by"].default is None, name
    callbacks = [
        p
        for p, v in params.items()
        if any(t in str(v.annotation) for t in ("Callable", "Progress"))
    ]
    assert callbacks in ([], ["progress"]), (name, callbacks)
    if callbacks:
        assert params["progress"].annotation == "Progress | None", name


def test_the_two_samples_of_a_change_are_first_and_second():
    first = pl.DataFrame({"u": ["a", "b"], "x": [3, 1], "y": [1, 3]})
    second = pl.DataFrame({"u": ["a", "b"], "x": [4, 0], "y": [0, 4]})
    out = bryta.mutual_difference(first=first, second=second, unit="u", groups=["x", "y"])
    assert out.filter(stat="M2")["value"][0] > out.filter(stat="M1")["value"][0]


class Steps:
    """Collects the steps a progress callback is given (from any thread)."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, steps: int) -> None:
        with self.lock:
            self.steps.append(steps)


COUNTS = pl.DataFrame(
    {
        "unit": [f"u{i}" for i in range(8)],
        "a": [5, 9, 2, 7, 1, 4, 8, 3],
        "b": [6, 1, 9, 2, 8, 3, 2, 7],
    }
)


def test_measure_reports_one_step_per_index():
    steps = Steps()
    names = ["dissimilarity", "theil_h", "gini"]
    bryta.measure(COUNTS, unit="unit", groups=["a", "b"], indices=names, progress=steps)
    assert steps.steps == [1, 1, 1]


@pytest.mark.parametrize("function", ["bootstrap", "expected"])
@pytest.mark.parametrize("threads", [1, 4])
def test_replicates_add_up_to_n_bootstrap(function, threads):
    steps = Steps()
    getattr(bryta, function)(
        COUNTS,
        unit="unit",
        groups=["a", "b"],
        indices="dissimilarity",
        n_bootstrap=37,
        seed=1,
        threads=threads,
        progress=steps,
    )
    assert sum(steps.steps) == 37
    assert all(isinstance(s, int) and s > 0 for s in steps.steps)


@pytest.mark.parametrize("method", ["bootstrap", "permutation"])
def test_compare_reports_its_draws(method):
    steps = Steps()
    two_years = pl.concat([COUNTS.with_columns(year=pl.lit(y)) for y in (1, 2)])
    bryta.compare(
        two_years,
        unit="unit",
        groups=["a", "b"],
        between="year",
        first=1,
        second=2,
        indices="dissimilarity",
        focal="a",
        method=method,
        n_bootstrap=23,
        seed=2,
        progress=steps,
    )
    assert sum(steps.steps) == 23


@pytest.mark.parametrize("ks", [[3, 10], [3, 1_000], [1_000]])
def test_tiles_report_every_cell_once(ks):
    cells = pl.DataFrame(
        {
            "x": [0, 100, 200, 300, 400, 500],
            "y": 0,
            "a": [2, 1, 0, 4, 1, 3],
            "b": [0, 1, 3, 0, 2, 1],
        }
    )
    steps = Steps()
    bryta.tiled_knn_contexts(
        cells, x="x", y="y", groups=["a", "b"], k=ks, tile_size=150, progress=steps
    )
    assert sum(steps.steps) == cells.height
    assert all(s > 0 for s in steps.steps)
