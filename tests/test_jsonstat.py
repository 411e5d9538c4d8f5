"""Tests of the JSON-stat 2.0 reader (bryta.ingest.jsonstat) and ``bryta import jsonstat``."""

from __future__ import annotations

import copy
import itertools
import json
import math
import time
from pathlib import Path

import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bryta.cli.imports import register
from bryta.errors import ImportFormatError
from bryta.ingest.jsonstat import MAX_CELLS, jsonstat_metadata, read_jsonstat

DATA = Path(__file__).parent / "data" / "jsonstat"
ROOT = Path(__file__).resolve().parents[1]
SCB = DATA / "scb_population.json"
SCB_IDS = ["Region", "Kon", "ContentsCode", "Tid"]


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def to_sparse(document: dict) -> dict:
    """The same dataset with ``value`` and ``status`` as objects keyed by cell position."""
    sparse = copy.deepcopy(document)
    sparse["value"] = {str(i): v for i, v in enumerate(document["value"]) if v is not None}
    status = document.get("status")
    if isinstance(status, list):
        sparse["status"] = {str(i): s for i, s in enumerate(status) if s is not None}
    return sparse


@pytest.fixture(scope="module")
def scb_frame() -> pl.DataFrame:
    return read_jsonstat(SCB)


# --------------------------------------------------------------------------------------------
# An SCB-style dense response


def test_scb_columns_and_types(scb_frame):
    labels = [f"{i}_label" for i in SCB_IDS]
    assert scb_frame.columns == [*SCB_IDS, *labels, "value", "status"]
    assert scb_frame.schema["value"] == pl.Float64
    for column in [*SCB_IDS, *labels, "status"]:
        assert scb_frame.schema[column] == pl.String
    assert scb_frame.height == 2 * 2 * 2 * 3


def test_scb_rows_are_in_row_major_order(scb_frame):
    """The spec's order: the last dimension in id varies fastest (itertools.product order)."""
    categories = [["0114", "0180"], ["1", "2"], ["BE0101N1", "BE0101N2"], ["2021", "2022", "2023"]]
    assert scb_frame.select(SCB_IDS).rows() == list(itertools.product(*categories))
    assert scb_frame["value"].to_list()[:3] == [24010.0, 24350.0, 24602.0]
    last = scb_frame.row(-1, named=True)
    assert (last["Region"], last["Kon"], last["ContentsCode"], last["Tid"]) == (
        "0180",
        "2",
        "BE0101N2",
        "2023",
    )
    assert last["value"] == 2116.0


def test_scb_codes_keep_leading_zeros_and_labels_follow(scb_frame):
    pairs = scb_frame.select("Region", "Region_label").unique(maintain_order=True).rows()
    assert pairs == [("0114", "Upplands Väsby"), ("0180", "Stockholm")]
    assert scb_frame.filter(pl.col("Kon") == "2")["Kon_label"].unique().to_list() == ["kvinnor"]
    assert set(scb_frame["ContentsCode_label"]) == {"Folkmängd", "Folkökning"}


def test_scb_suppressed_cell_is_null_with_its_status(scb_frame):
    flagged = scb_frame.filter(pl.col("status").is_not_null())
    assert flagged.select(*SCB_IDS, "value", "status").rows() == [
        ("0114", "2", "BE0101N2", "2023", None, "..")
    ]
    assert scb_frame["value"].null_count() == 1
    assert scb_frame.with_row_index().filter(pl.col("status") == "..")["index"].item() == 11


def test_scb_metadata():
    meta = jsonstat_metadata(SCB)
    assert meta["label"].startswith("Folkmängd och folkökning")
    assert meta["source"] == "Statistiska centralbyrån"
    assert meta["updated"] == "2024-02-22T07:00:00Z"
    assert meta["roles"] == {"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]}
    assert meta["id"] == SCB_IDS and meta["size"] == [2, 2, 2, 3]
    assert meta["units"]["ContentsCode"]["BE0101N1"] == {
        "label": None,
        "symbol": None,
        "decimals": 0,
        "position": "end",
        "base": "antal",
    }
    region = meta["dimensions"]["Region"]
    assert region["label"] == "region" and region["roles"] == ["geo"]
    assert region["categories"] == {"0114": "Upplands Väsby", "0180": "Stockholm"}
    assert region["extension"]["eliminationValueCode"] == "00"
    contents = meta["dimensions"]["ContentsCode"]
    assert contents["category_note"]["BE0101N2"] == ["Folkökningen avser förändringen under året."]
    assert meta["notes"] and "invented" in meta["notes"][0]
    assert meta["extension"]["px"]["tableid"] == "TAB0000"


def test_sources_path_bytes_and_dict_agree(scb_frame):
    raw = SCB.read_bytes()
    assert read_jsonstat(str(SCB)).equals(scb_frame)
    assert read_jsonstat(raw).equals(scb_frame)
    assert read_jsonstat(b"\xef\xbb\xbf" + raw).equals(scb_frame)  # a byte-order mark
    assert read_jsonstat(json.loads(raw)).equals(scb_frame)


# --------------------------------------------------------------------------------------------
# Identities: encodings of the same data give the same table


def test_sparse_and_dense_fixtures_are_equal():
    dense = read_jsonstat(DATA / "small_dense.json")
    sparse = read_jsonstat(DATA / "small_sparse.json")
    assert sparse.equals(dense)
    assert dense["value"].to_list() == [10.0, None, None, 12.0, 22.0, None]
    assert dense["status"].to_list() == [None, "..", None, None, None, "p"]


def test_sparse_encoding_of_the_scb_response_is_equal(scb_frame):
    assert read_jsonstat(to_sparse(load("scb_population.json"))).equals(scb_frame)


def test_index_array_object_and_label_order_are_equal():
    array = read_jsonstat(DATA / "index_array.json")
    assert read_jsonstat(DATA / "index_object.json").equals(array)
    assert read_jsonstat(DATA / "index_label_only.json").equals(array)
    # the object's positions, not its key order ("T" first), give the order
    assert array["sex"].unique(maintain_order=True).to_list() == ["M", "F", "T"]
    assert array.select("sex", "sex_label").unique(maintain_order=True).rows() == [
        ("M", "men"),
        ("F", "women"),
        ("T", "total"),
    ]


def test_status_forms_agree():
    document = load("small_dense.json")
    want = read_jsonstat(document)["status"].to_list()
    as_object = dict(document, status={"1": "..", "5": "p"})
    assert read_jsonstat(as_object)["status"].to_list() == want
    for every in ("e", ["e"]):  # a string, and the deprecated one-element array
        assert read_jsonstat(dict(document, status=every))["status"].to_list() == ["e"] * 6
    assert read_jsonstat(dict(document, status=None))["status"].null_count() == 6


def test_constant_dimension_and_missing_labels():
    frame = read_jsonstat(DATA / "small_dense.json")
    assert set(frame.select("metric", "metric_label").rows()) == {("pop", "population")}
    # no category.label for year: the codes stand in for the labels, as the spec recommends
    assert frame["year_label"].to_list() == frame["year"].to_list()


def test_jsonstat1_bundle_reads_like_the_2_0_dataset(scb_frame):
    dataset = load("scb_population.json")
    legacy = {k: v for k, v in dataset.items() if k not in ("version", "class", "id", "size")}
    legacy.pop("role")
    legacy["dimension"] = dict(
        dataset["dimension"], id=dataset["id"], size=dataset["size"], role=dataset["role"]
    )
    assert read_jsonstat({"dataset": legacy}).equals(scb_frame)
    assert jsonstat_metadata({"dataset": legacy})["roles"]["geo"] == ["Region"]


def test_bundle_and_collection_choose_a_dataset(tmp_path, scb_frame):
    scb, small = load("scb_population.json"), load("small_dense.json")
    bundle = write(tmp_path, "bundle.json", {"population": scb, "small": small})
    with pytest.raises(ImportFormatError, match=r"bundle\.json: holds 2 datasets"):
        read_jsonstat(bundle)
    assert read_jsonstat(bundle, dataset="population").equals(scb_frame)
    assert read_jsonstat(bundle, dataset=1).height == 6
    with pytest.raises(ImportFormatError, match="no dataset 'other'"):
        read_jsonstat(bundle, dataset="other")

    collection = {
        "version": "2.0",
        "class": "collection",
        "link": {"item": [dict(scb, label="population"), dict(small, label="small")]},
    }
    assert read_jsonstat(collection, dataset="population").equals(scb_frame)
    assert read_jsonstat(collection, dataset="1").height == 6


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    data=st.data(),
)
def test_rows_follow_the_spec_s_position_formula(sizes, data):
    """Row r holds the cell at position sum(i_k * prod(size[k+1:])), dense or sparse."""
    n = math.prod(sizes)
    values = data.draw(st.lists(st.one_of(st.none(), st.integers(-5, 5)), min_size=n, max_size=n))
    ids = [f"d{k}" for k in range(len(sizes))]
    document = {
        "version": "2.0",
        "class": "dataset",
        "id": ids,
        "size": sizes,
        "dimension": {
            d: {"category": {"index": [f"{d}c{j}" for j in range(s)]}}
            for d, s in zip(ids, sizes, strict=True)
        },
        "value": values,
        "status": [None if v is not None else "." for v in values],
    }
    frame = read_jsonstat(document)
    strides = [math.prod(sizes[k + 1 :]) for k in range(len(sizes))]
    positions = [
        sum(int(code.split("c")[1]) * stride for code, stride in zip(row, strides, strict=True))
        for row in frame.select(ids).rows()
    ]
    assert positions == list(range(n))
    assert frame["value"].to_list() == [None if v is None else float(v) for v in values]
    assert read_jsonstat(to_sparse(document)).equals(frame)


# --------------------------------------------------------------------------------------------
# Errors name the file and the JSON path


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("bad_size.json", ["at value:", "has 5 values", "size [2, 3] gives 2 × 3 = 6 cells"]),
        ("missing_dimension.json", ["at dimension.Tid:", "listed in id"]),
        ("bad_json.json", ["not valid JSON", "line 7"]),
        ("collection_refs.json", ["at link.item[0]:", "https://example.org/data/population.json"]),
    ],
)
def test_bad_fixtures(name, words):
    path = DATA / name
    with pytest.raises(ImportFormatError) as info:
        read_jsonstat(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    for word in words:
        assert word in message


def _set(path, value):
    def change(document):
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _drop(path):
    def change(document):
        node = document
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


def _rename_kon(new):
    def change(document):
        document["id"][1] = new
        document["dimension"][new] = document["dimension"].pop("Kon")

    return change


MUTATIONS = {
    "id and size differ in length": (
        _set(["size"], [2, 2, 2]),
        "at size:",
        "has 3 entries but id has 4",
    ),
    "size against categories": (
        _set(["size", 0], 3),
        "at dimension.Region.category.index:",
        "has 2 categories, but size[0] says 3",
    ),
    "sparse key out of range": (
        _set(["value"], {"0": 1, "24": 2}),
        'at value["24"]:',
        "out of range: size [2, 2, 2, 3] gives 2 × 2 × 2 × 3 = 24 cells",
    ),
    "sparse key not a position": (_set(["value"], {"x": 1}), "at value.x:", "not a cell"),
    "text value": (_set(["value", 5], ".."), "at value[5]:", "belong in status"),
    "boolean value": (_set(["value", 0], True), "at value[0]:", "not a boolean"),
    "status array length": (_set(["status"], [".."] * 5), "at status:", "has 5 entries"),
    "status key out of range": (_set(["status"], {"99": ".."}), 'at status["99"]:', "range"),
    "status not text": (_set(["status"], {"3": 1}), 'at status["3"]:', "a string or null"),
    "index positions repeated": (
        _set(["dimension", "Region", "category", "index"], {"0114": 0, "0180": 0}),
        "at dimension.Region.category.index:",
        "repeated [0], missing [1]",
    ),
    "index id not text": (
        _set(["dimension", "Tid", "category", "index"], [2021, 2022, 2023]),
        "at dimension.Tid.category.index[0]:",
        "a category id",
    ),
    "no category": (
        _drop(["dimension", "Kon", "category"]),
        "at dimension.Kon.category:",
        "missing",
    ),
    "role names an unknown dimension": (
        _set(["role", "geo"], ["Kommun"]),
        "at role.geo:",
        "['Kommun']",
    ),
    "no value": (_drop(["value"]), "at value:", "missing"),
    "no dimension": (_drop(["dimension"]), "at dimension:", "missing"),
    "dimension id clashes with a column": (_rename_kon("status"), "at id:", "['status']"),
    "unsupported class": (_set(["class"], "dimension"), "at class:", "'dimension'"),
}


@pytest.mark.parametrize("case", list(MUTATIONS))
def test_errors_name_file_and_json_path(tmp_path, case):
    change, at, words = MUTATIONS[case]
    document = load("scb_population.json")
    change(document)
    path = write(tmp_path, "response.json", document)
    with pytest.raises(ImportFormatError) as info:
        read_jsonstat(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {at}"), message
    assert words in message, message


def test_errors_without_a_file():
    with pytest.raises(ImportFormatError, match=r"^<bytes>: not a JSON-stat dataset"):
        read_jsonstat(b"[1, 2]")
    error = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "No table"}
    with pytest.raises(ImportFormatError, match=r"^https://x/data: .*error response.*No table"):
        read_jsonstat(json.dumps(error).encode(), name="https://x/data")
    with pytest.raises(ImportFormatError, match="single dataset"):
        read_jsonstat(SCB, dataset="population")


def test_huge_cubes_are_refused_before_expanding():
    side = math.isqrt(MAX_CELLS) + 1
    document = {
        "version": "2.0",
        "class": "dataset",
        "id": ["a", "b"],
        "size": [side, side],
        "dimension": {},
        "value": {"0": 1},
    }
    with pytest.raises(ImportFormatError, match=r"^<dict>: at size: .* cells; bryta reads at"):
        read_jsonstat(document)


# --------------------------------------------------------------------------------------------
# Speed: a full PxWebApi 2 response (150,000 cells)


def test_150000_cells_are_read_quickly():
    regions = [f"{k:04d}R{r:03d}" for k in range(100) for r in range(30)]
    years = [str(1999 + t) for t in range(25)]
    n = len(regions) * 2 * len(years)
    document = {
        "version": "2.0",
        "class": "dataset",
        "id": ["Region", "Kon", "Tid"],
        "size": [len(regions), 2, len(years)],
        "dimension": {
            "Region": {"category": {"index": {c: i for i, c in enumerate(regions)}}},
            "Kon": {"category": {"index": ["1", "2"], "label": {"1": "män", "2": "kvinnor"}}},
            "Tid": {"category": {"index": years}},
        },
        "value": [float(i % 977) if i % 101 else None for i in range(n)],
        "status": {str(i): ".." for i in range(0, n, 101)},
    }
    raw = json.dumps(document).encode()
    start = time.perf_counter()
    frame = read_jsonstat(raw)
    seconds = time.perf_counter() - start
    assert frame.height == n == 150_000
    assert frame.row(-1)[:3] == ("0099R029", "2", "2023")
    assert frame["status"].null_count() == frame["value"].drop_nulls().len()
    assert seconds < 5, f"{seconds:.2f} s for 150,000 cells"  # 0.05 s measured on one EPYC core


# --------------------------------------------------------------------------------------------
# bryta import jsonstat


runner = CliRunner()


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def invoke(app: typer.Typer, *args: object):
    return runner.invoke(app, ["import", "jsonstat", *(str(a) for a in args)])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_cli_round_trip_keeps_codes_as_text(tmp_path, cli, scb_frame, suffix):
    out = tmp_path / f"population{suffix}"
    result = invoke(cli, SCB, "-o", out)
    assert result.exit_code == 0, result.output
    if suffix == ".csv":
        got = pl.read_csv(out, infer_schema=False)
        assert out.read_text(encoding="utf-8").splitlines()[1].startswith("0114,1,BE0101N1,2021,")
        got = got.with_columns(pl.col("value").cast(pl.Float64))
    elif suffix == ".parquet":
        got = pl.read_parquet(out)
    else:
        got = pl.read_json(out)
    assert got.columns == scb_frame.columns
    assert got["Region"].to_list()[:3] == ["0114", "0114", "0114"]
    assert got.select(pl.exclude("status")).equals(scb_frame.select(pl.exclude("status")))
    assert got["status"].fill_null("").to_list() == scb_frame["status"].fill_null("").to_list()


def test_cli_reports_rows_dimensions_and_statuses(tmp_path, cli):
    result = invoke(cli, SCB, "-o", tmp_path / "population.csv")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        f"wrote 24 rows, 4 dimensions (Region, Kon, ContentsCode, Tid) to "
        f"{tmp_path / 'population.csv'}; 1 without a value"
    )
    assert lines[1] == "status symbols: '..' on 1 row"


def test_cli_errors_are_one_line_exit_2_and_write_nothing(tmp_path, cli):
    out = tmp_path / "out.csv"
    result = invoke(cli, DATA / "bad_size.json", "-o", out)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "bad_size.json: at value: has 5 values" in result.output
    assert not out.exists() and not list(tmp_path.iterdir())

    assert "no such file" in invoke(cli, tmp_path / "nope.json", "-o", out).output
    wrong = invoke(cli, SCB, "-o", tmp_path / "out.ods")
    assert wrong.exit_code == 2 and "output must be" in wrong.output


def test_cli_dataset_option(tmp_path, cli):
    bundle = write(
        tmp_path, "bundle.json", {"a": load("small_dense.json"), "b": load("scb_population.json")}
    )
    out = tmp_path / "b.parquet"
    assert invoke(cli, bundle, "-o", out).exit_code == 2
    result = invoke(cli, bundle, "-o", out, "--dataset", "b")
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height == 24


def test_docs_show_the_real_output(tmp_path, cli, monkeypatch):
    docs = (ROOT / "docs" / "jsonstat.md").read_text(encoding="utf-8")
    for name in ("read_jsonstat", "jsonstat_metadata", "bryta import jsonstat", "MAX_CELLS"):
        assert name in docs
    monkeypatch.chdir(tmp_path)
    result = invoke(cli, SCB, "-o", "population.csv")
    for line in result.output.splitlines():
        assert line in docs, f"docs/jsonstat.md does not show the output line {line!r}"


def test_provenance_of_a_file_names_it_its_hash_and_what_it_states():
    import hashlib

    from bryta.ingest.jsonstat import jsonstat_provenance
    from bryta.ingest.provenance import Provenance

    path = Path(__file__).parent / "data" / "pxweb" / "TAB6571_download.json"
    raw = path.read_bytes()
    stated = json.loads(raw.decode("utf-8-sig"))
    prov = jsonstat_provenance(path, licence="CC0 1.0")
    assert isinstance(prov, Provenance)
    assert (prov.file, prov.sha256) == (path.name, hashlib.sha256(raw).hexdigest())
    assert prov.source == stated["source"] and prov.table_updated == stated["updated"]
    assert prov.table_id == stated["extension"]["px"]["tableid"]
    given_ = jsonstat_provenance(path, data=raw, source="mine", table_id="X")
    assert (given_.source, given_.table_id, given_.sha256) == ("mine", "X", prov.sha256)
