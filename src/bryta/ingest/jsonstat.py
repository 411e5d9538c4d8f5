"""Read JSON-stat 2.0 datasets, such as SCB's PxWebApi 2 responses, into tidy tables.

JSON-stat (https://json-stat.org/format/) describes a data cube: a ``dataset`` has an ordered
list of dimensions (``id``) with their number of categories (``size``), a ``dimension`` object
that names and orders the categories of each, and the cells in ``value``, flattened in
row-major order: the last dimension in ``id`` varies fastest. SCB's PxWebApi 2 returns this
format for ``POST /api/v2/tables/{id}/data?outputFormat=json-stat2``; trimmed::

    {
      "version": "2.0", "class": "dataset", "label": "Folkmängd efter region, kön och år",
      "source": "Statistiska centralbyrån", "updated": "2024-02-22T07:00:00Z",
      "id": ["Region", "Kon", "ContentsCode", "Tid"], "size": [2, 2, 1, 2],
      "role": {"geo": ["Region"], "metric": ["ContentsCode"], "time": ["Tid"]},
      "dimension": {
        "Region": {"label": "region", "category": {
          "index": {"0114": 0, "0180": 1},
          "label": {"0114": "Upplands Väsby", "0180": "Stockholm"}}},
        "Kon": {"label": "kön", "category": {"index": {"1": 0, "2": 1}, ...}},
        "ContentsCode": {"label": "tabellinnehåll", "category": {..., "unit": {
          "BE0101N1": {"base": "antal", "decimals": 0}}}},
        "Tid": {"label": "år", "category": {"index": {"2022": 0, "2023": 1}, ...}}
      },
      "value": [24031, 24512, 23950, 24380, null, 505112, 492311, 497045],
      "status": {"4": ".."}
    }

:func:`read_jsonstat` turns a dataset into one row per cell, in the order of ``value``: a text
column of category codes per dimension (named by the dimension id), a ``<id>_label`` column
per dimension, ``value`` (Float64, null where missing) and ``status`` (the cell's status
symbol, such as SCB's ``..``; null where there is none). :func:`jsonstat_metadata` returns
the rest: labels, source, update time, roles, units, notes and extensions.

Both forms of ``value`` (an array, or an object keyed by cell position for sparse cubes), all
three forms of ``status`` (a string for every cell, an array, an object keyed by position),
``category.index`` as an array or as an object of positions, and categories given only by
``category.label`` are read. A file holding several datasets (a JSON-stat 1.x bundle, or a
collection with embedded datasets) is read one dataset at a time (``dataset=``).

Every error is an :class:`~bryta.errors.ImportFormatError` naming the file and the JSON
path of the problem, e.g. ``population.json: at dimension.Region.category.index: ...``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bryta.errors import ImportFormatError
from bryta.ingest.provenance import Provenance

__all__ = [
    "MAX_CELLS",
    "ROLES",
    "Source",
    "jsonstat_metadata",
    "jsonstat_provenance",
    "read_jsonstat",
]

#: What :func:`read_jsonstat` reads: a path, the raw bytes of a response, or parsed JSON.
Source = str | os.PathLike[str] | bytes | dict[str, Any]

#: The dimension roles JSON-stat 2.0 defines.
ROLES: tuple[str, ...] = ("time", "geo", "metric")

#: The largest cube :func:`read_jsonstat` expands into rows (a sparse ``value`` object can
#: describe a huge cube in a few bytes).
MAX_CELLS = 100_000_000

_NUMBERS: frozenset[type] = frozenset({int, float, type(None)})
_TEXTS: frozenset[type] = frozenset({str, type(None)})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_LISTED = 5

JsonPath = tuple[str | int, ...]
_Fail = Callable[[JsonPath, str], ImportFormatError]


# --------------------------------------------------------------------------------------------
# Public functions


def read_jsonstat(
    source: Source, *, dataset: str | int | None = None, name: str | None = None
) -> pl.DataFrame:
    """Read a JSON-stat 2.0 dataset into a tidy table, one row per cell of the cube.

    ``source`` is a path to a ``.json`` file, the bytes of a response (e.g.
    ``httpx.post(...).content``) or the parsed JSON (``response.json()``). ``name`` is the
    name used for it in error messages (default: the path, ``<bytes>`` or ``<dict>``).
    ``dataset`` picks one dataset from a file holding several: the key of a JSON-stat 1.x
    bundle, or the label or position (from 0) of an embedded dataset in a collection.

    Columns, in this order: one per dimension, named by its id and holding the category codes
    as text (``0114`` keeps its zero); one ``<id>_label`` per dimension with the category
    labels (the code where a category has no label); ``value`` (Float64, null where the
    cell is missing); ``status`` (String, the cell's status symbol such as ``..``, null where
    there is none). Rows are in row-major order, the order of ``value``: the last dimension in
    ``id`` varies fastest.

    Raises :class:`~bryta.errors.ImportFormatError` naming the file and the JSON path when
    the file is not a JSON-stat dataset, when ``size`` does not match ``id``, the categories
    or the number of values, when a dimension in ``id`` has no ``dimension`` entry, when a
    sparse key is not a cell position, or when a value is not a number.

    >>> cube = {
    ...     "version": "2.0", "class": "dataset",
    ...     "id": ["Region", "Tid"], "size": [2, 2],
    ...     "dimension": {
    ...         "Region": {"category": {"index": ["0114", "0180"],
    ...                                 "label": {"0114": "Upplands Väsby", "0180": "Stockholm"}}},
    ...         "Tid": {"category": {"index": {"2022": 0, "2023": 1}}},
    ...     },
    ...     "value": [48002, None, 984748, 988943],
    ...     "status": {"1": ".."},
    ... }
    >>> df = read_jsonstat(cube)
    >>> df.columns
    ['Region', 'Tid', 'Region_label', 'Tid_label', 'value', 'status']
    >>> df.rows()[:2]
    [('0114', '2022', 'Upplands Väsby', '2022', 48002.0, None), \
('0114', '2023', 'Upplands Väsby', '2023', None, '..')]
    """
    cube = _load_cube(source, dataset=dataset, name=name)
    return _tidy(cube)


def jsonstat_metadata(
    source: Source, *, dataset: str | int | None = None, name: str | None = None
) -> dict[str, Any]:
    """The metadata of a JSON-stat 2.0 dataset: everything but the values, as a dict.

    Arguments as for :func:`read_jsonstat`. Keys:

    * ``class``, ``version``, ``label``, ``source``, ``updated`` (strings or None);
    * ``id`` and ``size``: the dimensions in order and their number of categories;
    * ``roles``: ``{"time": [...], "geo": [...], "metric": [...]}``, dimension ids per role
      (empty lists when the dataset assigns none);
    * ``dimensions``: per dimension id its ``label``, ``size``, ``roles``, ``categories``
      (code -> label, in order), ``note`` (list), ``category_note`` (code -> list) and
      ``extension`` (dict; SCB puts ``elimination`` and ``show`` there);
    * ``units``: per dimension with ``category.unit`` (the metric dimensions), per category
      code the unit's ``label``, ``symbol``, ``decimals`` and ``position`` (``"end"`` unless
      given), followed by any other keys it has (SCB writes ``base``, e.g. ``"antal"``);
    * ``notes``: the dataset's notes; ``extension``: the dataset's extension (SCB: ``px``
      with ``tableid``, ``decimals``, ...; ``contact``).

    >>> meta = jsonstat_metadata({
    ...     "version": "2.0", "class": "dataset", "label": "Folkmängd",
    ...     "id": ["ContentsCode"], "size": [1], "role": {"metric": ["ContentsCode"]},
    ...     "dimension": {"ContentsCode": {"category": {
    ...         "label": {"BE0101N1": "Folkmängd"},
    ...         "unit": {"BE0101N1": {"base": "antal", "decimals": 0}}}}},
    ...     "value": [10551707],
    ... })
    >>> meta["roles"]
    {'time': [], 'geo': [], 'metric': ['ContentsCode']}
    >>> meta["units"]
    {'ContentsCode': {'BE0101N1': {'label': None, 'symbol': None, 'decimals': 0, \
'position': 'end', 'base': 'antal'}}}
    """
    cube = _load_cube(source, dataset=dataset, name=name)
    return _metadata(cube)


def jsonstat_provenance(
    path: str | os.PathLike[str],
    *,
    data: bytes | None = None,
    source: str | None = None,
    licence: str = "",
    table_id: str | None = None,
    query: str = "",
) -> Provenance:
    """The provenance of a JSON-stat file: its name and SHA-256, with the source, table id
    (SCB: ``extension.px.tableid``) and update time the file states unless given.

    ``data`` are the file's bytes when already read (they are hashed as they are).
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    meta = jsonstat_metadata(raw, name=str(path))
    px = meta["extension"].get("px") if isinstance(meta["extension"].get("px"), dict) else {}
    return Provenance.of_file(
        path,
        data=raw,
        source=source or str(meta["source"] or "JSON-stat file"),
        licence=licence,
        table_id=table_id if table_id is not None else str(px.get("tableid") or ""),
        query=query,
        table_updated=str(meta["updated"] or ""),
    )


# --------------------------------------------------------------------------------------------
# The parsed cube


@dataclass(frozen=True)
class _Dimension:
    id: str
    label: str | None
    codes: list[str]
    labels: list[str]
    node: dict[str, Any]


@dataclass(frozen=True)
class _Cube:
    where: str  # the file (or <bytes>, <dict>) for messages
    prefix: JsonPath  # JSON path of the dataset inside the file (empty for a plain dataset)
    node: dict[str, Any]
    dimensions: list[_Dimension]
    roles: dict[str, list[str]]

    @property
    def sizes(self) -> list[int]:
        return [len(d.codes) for d in self.dimensions]

    @property
    def n_cells(self) -> int:
        return math.prod(self.sizes)

    def error(self, path: JsonPath, message: str) -> ImportFormatError:
        return _error(self.where, self.prefix + path, message)

    def cells_text(self) -> str:
        sizes = self.sizes
        product = " × ".join(str(s) for s in sizes) if len(sizes) > 1 else str(self.n_cells)
        equals = f" = {self.n_cells}" if len(sizes) > 1 else ""
        return f"size {sizes} gives {product}{equals} cells"


def _error(where: str, path: JsonPath, message: str) -> ImportFormatError:
    at = f" at {_json_path(path)}:" if path else ""
    return ImportFormatError(f"{where}:{at} {message}")


def _json_path(path: JsonPath) -> str:
    """``("dimension", "Region", "category", "index")`` -> ``dimension.Region.category.index``.

    Positions in arrays are written ``[3]``, keys that are not identifiers ``["24"]``.

    >>> _json_path(("value", "24"))
    'value["24"]'
    >>> _json_path(("link", "item", 0, "dimension", "Kön och ålder"))
    'link.item[0].dimension["Kön och ålder"]'
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def _kind(node: Any) -> str:
    """How a JSON value is called in messages: ``an array``, ``a string``, ..."""
    if node is None:
        return "null"
    if isinstance(node, bool):
        return f"a boolean ({json.dumps(node)})"
    if isinstance(node, dict):
        return "an object"
    if isinstance(node, list):
        return "an array"
    if isinstance(node, str):
        return f"a string ({node!r})"
    return f"a number ({node!r})"


# --------------------------------------------------------------------------------------------
# Reading the file and finding the dataset


def _load_cube(source: Source, *, dataset: str | int | None, name: str | None) -> _Cube:
    document, where = _read_json(source, name)
    node, prefix = _select_dataset(document, where, dataset)
    return _parse_dataset(node, where, prefix)


def _read_json(source: Source, name: str | None) -> tuple[Any, str]:
    if isinstance(source, dict):
        return source, name or "<dict>"
    if isinstance(source, bytes | bytearray | memoryview):
        data, where = bytes(source), name or "<bytes>"
    elif isinstance(source, str | os.PathLike):
        data, where = Path(source).read_bytes(), name or os.fspath(source)
    else:
        raise TypeError(f"read_jsonstat takes a path, bytes or a dict, not {type(source).__name__}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start}); JSON is UTF-8"
        ) from None
    try:
        return json.loads(text), where
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _select_dataset(
    document: Any, where: str, dataset: str | int | None
) -> tuple[dict[str, Any], JsonPath]:
    """The dataset object in ``document`` and its JSON path."""
    if not isinstance(document, dict):
        raise _error(where, (), f"not a JSON-stat dataset: the JSON is {_kind(document)}")
    cls = document.get("class")
    if cls == "dataset" or (cls is None and "dimension" in document and "value" in document):
        if dataset is not None:
            raise _error(
                where,
                (),
                f"holds a single dataset; dataset={dataset!r} is for bundles and collections",
            )
        return document, ()
    if cls == "collection":
        candidates = _collection_items(document, where)
    elif cls is None:
        candidates = [
            (key, node, (key,))
            for key, node in document.items()
            if isinstance(node, dict) and "dimension" in node
        ]
        if not candidates:
            raise _error(where, (), _not_jsonstat(document))
    else:
        raise _error(
            where,
            ("class",),
            f"class {cls!r} is not supported: only datasets (class 'dataset'), JSON-stat 1.x "
            "bundles and collections with embedded datasets can be read as a table",
        )
    return _choose(candidates, where, dataset)


def _collection_items(
    document: dict[str, Any], where: str
) -> list[tuple[str, dict[str, Any], JsonPath]]:
    link = document.get("link")
    items = link.get("item") if isinstance(link, dict) else None
    if not isinstance(items, list) or not items:
        raise _error(where, ("link", "item"), "a collection needs a non-empty array of items")
    candidates = []
    for position, item in enumerate(items):
        path: JsonPath = ("link", "item", position)
        if not isinstance(item, dict) or item.get("class", "dataset") != "dataset":
            continue
        if "value" not in item or "dimension" not in item:
            raise _error(
                where,
                path,
                f"the collection item {item.get('label') or position!r} only refers to a "
                f"dataset ({item.get('href', 'no href')}); download it and read that file",
            )
        candidates.append((str(item.get("label") or position), item, path))
    if not candidates:
        raise _error(where, ("link", "item"), "the collection holds no dataset")
    return candidates


def _choose(
    candidates: list[tuple[str, dict[str, Any], JsonPath]], where: str, dataset: str | int | None
) -> tuple[dict[str, Any], JsonPath]:
    names = [name for name, _, _ in candidates]
    if dataset is None:
        if len(candidates) == 1:
            return candidates[0][1], candidates[0][2]
        raise _error(
            where,
            (),
            f"holds {len(candidates)} datasets {names}; choose one with dataset= "
            "(a name or a position from 0)",
        )
    for name, node, path in candidates:
        if name == str(dataset):
            return node, path
    position = dataset if isinstance(dataset, int) else None
    if isinstance(dataset, str) and dataset.isdigit():
        position = int(dataset)
    if position is not None and 0 <= position < len(candidates):
        return candidates[position][1], candidates[position][2]
    raise _error(where, (), f"no dataset {dataset!r}; the datasets are {names}")


def _not_jsonstat(document: dict[str, Any]) -> str:
    """Why ``document`` is not JSON-stat, quoting an API error message when it is one."""
    detail = [str(document[k]) for k in ("title", "detail", "message") if document.get(k)]
    if detail:
        return f"not a JSON-stat dataset but an error response: {' — '.join(detail)}"
    keys = list(document)[:_MAX_LISTED]
    return (
        f"not a JSON-stat dataset: no class 'dataset' and no id/size/dimension/value "
        f"(top-level keys: {keys})"
    )


# --------------------------------------------------------------------------------------------
# Structure: id, size, dimension, role


def _parse_dataset(node: dict[str, Any], where: str, prefix: JsonPath) -> _Cube:
    def fail(path: JsonPath, message: str) -> ImportFormatError:
        return _error(where, prefix + path, message)

    dimension = node.get("dimension")
    if not isinstance(dimension, dict):
        what = "missing" if dimension is None else f"{_kind(dimension)}, not an object"
        raise fail(("dimension",), f"{what}: a dataset describes its dimensions in 'dimension'")
    # JSON-stat 1.x kept id, size and role inside "dimension"; 2.0 has them at the top.
    ids, ids_path = _legacy_or_root(node, dimension, "id")
    sizes, sizes_path = _legacy_or_root(node, dimension, "size")
    if ids is None:
        raise fail(("id",), "missing: a dataset lists its dimension ids in 'id'")
    if sizes is None:
        raise fail(("size",), "missing: a dataset gives the number of categories in 'size'")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise fail(ids_path, f"must be an array of dimension ids (strings), not {ids!r}")
    if not isinstance(sizes, list) or not all(_is_count(s) for s in sizes):
        raise fail(sizes_path, f"must be an array of whole numbers ≥ 0, not {sizes!r}")
    if len(ids) != len(sizes):
        raise fail(
            sizes_path,
            f"has {len(sizes)} entries but id has {len(ids)} ({ids}); they must match one to one",
        )
    repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
    if repeated:
        raise fail(ids_path, f"repeats the dimension ids {repeated}")
    cells = math.prod(sizes)
    if cells > MAX_CELLS:
        raise fail(
            sizes_path,
            f"{sizes} gives {cells:,} cells; bryta reads at most {MAX_CELLS:,} cells into a "
            "table (one row per cell): ask for fewer categories",
        )

    dimensions = []
    for position, (dim_id, size) in enumerate(zip(ids, sizes, strict=True)):
        dim = _parse_dimension(dimension.get(dim_id), dim_id, fail)
        if len(dim.codes) != size:
            where_codes = "index" if "index" in dim.node["category"] else "label"
            raise fail(
                ("dimension", dim_id, "category", where_codes),
                f"has {len(dim.codes)} categories, but {_json_path(sizes_path)}[{position}] "
                f"says {size}",
            )
        dimensions.append(dim)

    roles = _parse_roles(node, dimension, ids, fail)
    _check_column_names(ids, ids_path, fail)
    return _Cube(where, prefix, node, dimensions, roles)


def _legacy_or_root(
    node: dict[str, Any], dimension: dict[str, Any], key: str
) -> tuple[Any, JsonPath]:
    if key in node:
        return node[key], (key,)
    legacy = dimension.get(key)
    if isinstance(legacy, list | dict) and not (isinstance(legacy, dict) and "category" in legacy):
        return legacy, ("dimension", key)
    return None, (key,)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse_dimension(node: Any, dim_id: str, fail: _Fail) -> _Dimension:
    path: JsonPath = ("dimension", dim_id)
    if node is None:
        raise fail(path, f"missing: dimension {dim_id!r} is listed in id but not described")
    if not isinstance(node, dict):
        raise fail(path, f"must be an object, not {_kind(node)}")
    category = node.get("category")
    if not isinstance(category, dict):
        what = "missing" if category is None else f"{_kind(category)}, not an object"
        raise fail((*path, "category"), f"{what}: every dimension needs its categories")
    index, labels = category.get("index"), category.get("label")
    if labels is not None and not isinstance(labels, dict):
        raise fail((*path, "category", "label"), f"must be an object, not {_kind(labels)}")
    if index is None:
        if labels is None:
            raise fail(
                (*path, "category"), "has neither index nor label: one must name the categories"
            )
        codes = list(labels)  # the order of the label object (allowed for one category)
    elif isinstance(index, list):
        codes = _index_array(index, (*path, "category", "index"), fail)
    elif isinstance(index, dict):
        codes = _index_object(index, (*path, "category", "index"), fail)
    else:
        raise fail(
            (*path, "category", "index"), f"must be an array or an object, not {_kind(index)}"
        )
    labels = labels or {}
    names = []
    for code in codes:
        text = labels.get(code)
        if text is not None and not isinstance(text, str):
            raise fail((*path, "category", "label", code), f"must be a string, not {_kind(text)}")
        names.append(code if text is None else text)  # the spec: ids stand in for labels
    label = node.get("label")
    return _Dimension(dim_id, label if isinstance(label, str) else None, codes, names, node)


def _index_array(index: list[Any], path: JsonPath, fail: _Fail) -> list[str]:
    for position, code in enumerate(index):
        if not isinstance(code, str):
            raise fail((*path, position), f"must be a category id (a string), not {_kind(code)}")
    repeated = sorted(code for code, count in Counter(index).items() if count > 1)
    if repeated:
        raise fail(path, f"repeats the category ids {repeated[:_MAX_LISTED]}")
    return list(index)


def _index_object(index: dict[str, Any], path: JsonPath, fail: _Fail) -> list[str]:
    for code, position in index.items():
        if not _is_count(position):
            raise fail(
                (*path, code), f"must be a position (a whole number ≥ 0), not {_kind(position)}"
            )
    n = len(index)
    order = sorted(index, key=index.__getitem__)
    positions = [index[c] for c in order]
    if positions != list(range(n)):
        seen = set(positions)
        repeated = sorted({p for p in positions if positions.count(p) > 1})
        absent = [p for p in range(n) if p not in seen]
        problems = []
        if repeated:
            problems.append(f"repeated {repeated[:_MAX_LISTED]}")
        if absent:
            problems.append(f"missing {absent[:_MAX_LISTED]}")
        raise fail(
            path,
            f"the positions of the {n} categories must be 0–{n - 1}, each once; "
            + ", ".join(problems),
        )
    return order


def _parse_roles(
    node: dict[str, Any], dimension: dict[str, Any], ids: list[str], fail: _Fail
) -> dict[str, list[str]]:
    role, path = _legacy_or_root(node, dimension, "role")
    roles: dict[str, list[str]] = {r: [] for r in ROLES}
    if role is None:
        return roles
    if not isinstance(role, dict):
        raise fail(path, f"must be an object, not {_kind(role)}")
    for name, members in role.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise fail((*path, name), f"must be an array of dimension ids, not {members!r}")
        unknown = [m for m in members if m not in ids]
        if unknown:
            raise fail((*path, name), f"names {unknown}, which are not dimensions in id {ids}")
        roles[name] = list(members)
    return roles


def _check_column_names(ids: list[str], ids_path: JsonPath, fail: _Fail) -> None:
    """The output columns (ids, ``<id>_label``, value, status) must all differ."""
    columns = [*ids, *(f"{i}_label" for i in ids), "value", "status"]
    clashes = sorted({c for c in columns if columns.count(c) > 1})
    if clashes:
        raise fail(
            ids_path,
            f"dimension ids {ids} give the output column(s) {clashes} twice (the table has a "
            "column per id, one per <id>_label, value and status)",
        )


# --------------------------------------------------------------------------------------------
# The table


def _tidy(cube: _Cube) -> pl.DataFrame:
    sizes = cube.sizes
    codes, labels = [], []
    for axis, dim in enumerate(cube.dimensions):
        inner = math.prod(sizes[axis + 1 :])  # cells per step of this dimension
        outer = math.prod(sizes[:axis])  # how often its categories cycle
        take = np.tile(np.repeat(np.arange(sizes[axis], dtype=np.int64), inner), outer)
        codes.append(pl.Series(dim.id, dim.codes, dtype=pl.String).gather(take))
        labels.append(pl.Series(f"{dim.id}_label", dim.labels, dtype=pl.String).gather(take))
    value = pl.Series("value", _values(cube), dtype=pl.Float64, nan_to_null=True)
    status = _status(cube)
    return pl.DataFrame([*codes, *labels, value, status])


def _values(cube: _Cube) -> np.ndarray:
    """The cell values in row-major order; NaN where a cell has no value."""
    raw = cube.node.get("value")
    n = cube.n_cells
    if isinstance(raw, list):
        if len(raw) != n:
            raise cube.error(("value",), f"has {len(raw)} values, but {cube.cells_text()}")
        _check_types(raw, _NUMBERS, cube, lambda j: ("value", j), "a number or null")
        return np.array(raw, dtype=np.float64) if raw else np.empty(0, dtype=np.float64)
    if isinstance(raw, dict):
        keys = list(raw)
        positions = _positions(keys, cube, "value")
        numbers = list(raw.values())
        _check_types(numbers, _NUMBERS, cube, lambda j: ("value", keys[j]), "a number or null")
        out = np.full(n, np.nan)
        if keys:
            out[positions] = np.array(numbers, dtype=np.float64)
        return out
    what = "missing" if raw is None else f"{_kind(raw)}, not an array or an object"
    raise cube.error(("value",), f"{what}: a dataset holds its cells in 'value'")


def _status(cube: _Cube) -> pl.Series:
    raw = cube.node.get("status")
    n = cube.n_cells
    if raw is None:
        return pl.Series("status", [None], dtype=pl.String).gather(np.zeros(n, dtype=np.int64))
    if isinstance(raw, str):
        return pl.Series("status", [raw], dtype=pl.String).gather(np.zeros(n, dtype=np.int64))
    if isinstance(raw, list):
        _check_types(raw, _TEXTS, cube, lambda j: ("status", j), "a string or null")
        if len(raw) == n:
            return pl.Series("status", raw, dtype=pl.String)
        if len(raw) == 1:  # the deprecated one-element form of a status for every cell
            return pl.Series("status", raw, dtype=pl.String).gather(np.zeros(n, dtype=np.int64))
        raise cube.error(
            ("status",),
            f"has {len(raw)} entries, but {cube.cells_text()}; an array status needs one "
            "entry per cell (or use an object keyed by cell position)",
        )
    if isinstance(raw, dict):
        keys = list(raw)
        positions = _positions(keys, cube, "status")
        symbols = list(raw.values())
        _check_types(symbols, _TEXTS, cube, lambda j: ("status", keys[j]), "a string or null")
        empty = pl.Series("status", [None], dtype=pl.String).gather(np.zeros(n, dtype=np.int64))
        if not keys:
            return empty
        return empty.scatter(positions, pl.Series(symbols, dtype=pl.String))
    raise cube.error(("status",), f"must be a string, an array or an object, not {_kind(raw)}")


def _positions(keys: list[str], cube: _Cube, where: str) -> np.ndarray:
    """Cell positions from the keys of a sparse ``value`` or ``status`` object."""
    n = cube.n_cells
    text = pl.Series(keys, dtype=pl.String)
    numbers = text.cast(pl.Int64, strict=False)
    not_position = numbers.is_null() | (numbers.cast(pl.String) != text) | (numbers < 0)
    if not_position.any():
        key = keys[int(not_position.arg_true()[0])]
        raise cube.error(
            (where, key),
            f"the key {key!r} is not a cell position (a whole number 0–{n - 1} in decimal digits)",
        )
    beyond = numbers >= n
    if beyond.any():
        key = keys[int(beyond.arg_true()[0])]
        more = int(beyond.sum()) - 1
        also = f" ({more} more key(s) are out of range too)" if more else ""
        raise cube.error(
            (where, key),
            f"cell position {key} is out of range: {cube.cells_text()} (positions 0–{n - 1})"
            + also,
        )
    return numbers.to_numpy()


def _check_types(
    items: list[Any],
    allowed: frozenset[type],
    cube: _Cube,
    path: Callable[[int], JsonPath],
    expected: str,
) -> None:
    """Fail on the first item whose type is not in ``allowed`` (one C-level pass when fine)."""
    if set(map(type, items)) <= allowed:
        return
    bad = [j for j, item in enumerate(items) if type(item) not in allowed]
    more = f" ({len(bad) - 1} more like it)" if len(bad) > 1 else ""
    hint = " (symbols such as '..' belong in status)" if allowed is _NUMBERS else ""
    raise cube.error(path(bad[0]), f"must be {expected}, not {_kind(items[bad[0]])}{hint}{more}")


# --------------------------------------------------------------------------------------------
# Metadata


def _metadata(cube: _Cube) -> dict[str, Any]:
    node = cube.node
    dimensions: dict[str, Any] = {}
    units: dict[str, Any] = {}
    for dim in cube.dimensions:
        category = dim.node["category"]
        dimensions[dim.id] = {
            "label": dim.label,
            "size": len(dim.codes),
            "roles": [role for role, members in cube.roles.items() if dim.id in members],
            "categories": dict(zip(dim.codes, dim.labels, strict=True)),
            "note": _notes(dim.node.get("note")),
            "category_note": {
                code: _notes(note) for code, note in (category.get("note") or {}).items()
            },
            "extension": dict(dim.node.get("extension") or {}),
        }
        unit = category.get("unit")
        if isinstance(unit, dict) and unit:
            units[dim.id] = {code: _unit(u) for code, u in unit.items()}
    return {
        "class": node.get("class", "dataset"),
        "version": node.get("version"),
        "label": node.get("label"),
        "source": node.get("source"),
        "updated": node.get("updated"),
        "id": [d.id for d in cube.dimensions],
        "size": cube.sizes,
        "roles": {role: list(members) for role, members in cube.roles.items()},
        "dimensions": dimensions,
        "units": units,
        "notes": _notes(node.get("note")),
        "extension": dict(node.get("extension") or {}),
    }


def _unit(unit: Any) -> dict[str, Any]:
    unit = unit if isinstance(unit, dict) else {}
    closed = {
        "label": unit.get("label"),
        "symbol": unit.get("symbol"),
        "decimals": unit.get("decimals"),
        "position": unit.get("position", "end"),  # the spec's default
    }
    return closed | {k: v for k, v in unit.items() if k not in closed}


def _notes(note: Any) -> list[str]:
    if note is None:
        return []
    return [note] if isinstance(note, str) else list(note)
