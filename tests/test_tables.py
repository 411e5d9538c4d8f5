"""The analyst's own files: CSV in any separator and encoding Excel writes, .xlsx in and out,
clean one-line errors for outputs that cannot be written."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app.tables import read_table, write_table
from bryta.cli import app
from bryta.errors import InputError

runner = CliRunner()

# A counts table as Excel on Windows saves it ("CSV (semikolonavgränsad)"): Windows-1252,
# semicolons, CRLF line ends.
SEMICOLON_CP1252 = (
    "kommun;område;född_sverige;född_utrikes\r\n"
    "0114;Väsby Älvsunda;30;10\r\n"
    "0114;Väsby Ö;10;30\r\n"
    "0114;Väsby Å;20;20\r\n"
).encode("cp1252")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    text = " ".join(res.output.split())
    assert text.startswith("error:"), res.output
    return text


def test_semicolon_windows_1252_is_read_with_its_letters(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_bytes(SEMICOLON_CP1252)
    frame = read_table(path)
    assert frame.columns == ["kommun", "område", "född_sverige", "född_utrikes"]
    assert frame["område"].to_list() == ["Väsby Älvsunda", "Väsby Ö", "Väsby Å"]
    assert frame["kommun"].to_list() == ["0114"] * 3


@pytest.mark.parametrize(
    ("separator", "bom"), [(",", False), (",", True), (";", True), ("\t", False)]
)
def test_utf8_with_any_separator(tmp_path, separator, bom):
    text = SEMICOLON_CP1252.decode("cp1252").replace(";", separator)
    path = tmp_path / "counts.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    frame = read_table(path)
    assert frame.columns[1] == "område"
    assert frame["område"][2] == "Väsby Å"


def test_cp1252_csv_round_trips_without_replacement_characters(tmp_path):
    """Before: read with utf8-lossy, so Å was written back as U+FFFD."""
    src = tmp_path / "in.csv"
    src.write_bytes(SEMICOLON_CP1252)
    out = tmp_path / "out.csv"
    res = invoke(
        "measure", src, "--unit", "område", "--groups", "född_sverige,född_utrikes",
        "--by", "kommun", "--index", "dissimilarity", "--focal", "född_utrikes", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert "\ufffd" not in out.read_text(encoding="utf-8")
    assert got["group"].to_list() == ["född_utrikes"]
    # D = ½ Σ |a_i/A − b_i/B| = ½ (|30−10| + |10−30| + 0) / 60
    assert got["value"][0] == pytest.approx(20 / 60)


def test_excel_in_and_out(tmp_path):
    src = tmp_path / "counts.xlsx"
    pl.DataFrame(
        {"kommun": ["0114"] * 3, "area": ["ä1", "ä2", "ä3"], "a": [30, 10, 20], "b": [10, 30, 20]}
    ).write_excel(src)
    out = tmp_path / "out.xlsx"
    res = invoke(
        "measure", src, "--unit", "area", "--groups", "a,b", "--by", "kommun",
        "--index", "dissimilarity", "--focal", "a", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_excel(out)
    assert got["kommun"].to_list() == ["0114"]
    assert got["value"][0] == pytest.approx(20 / 60)


def test_excel_output_turns_nan_into_empty_cells(tmp_path):
    out = tmp_path / "x.xlsx"
    write_table(pl.DataFrame({"k": ["01", "02"], "value": [float("nan"), 0.5]}), out)
    got = pl.read_excel(out)
    assert got["value"].to_list() == [None, 0.5]
    assert got["k"].to_list() == ["01", "02"]


def test_header_only_csv_is_an_error_and_writes_nothing(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("kommun,unit,a,b\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = invoke("measure", src, "--unit", "unit", "--groups", "a,b", "-o", out)
    assert "no data rows" in one_line_error(res)
    assert not out.exists()


def test_output_that_is_a_folder_is_refused(tmp_path, counts_csv):
    res = invoke("measure", counts_csv, "--unit", "unit", "--groups", "a,b", "-o", tmp_path)
    assert "is a folder" in one_line_error(res)


def test_output_folder_that_cannot_be_made_is_refused(tmp_path, counts_csv):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    res = invoke(
        "measure", counts_csv, "--unit", "unit", "--groups", "a,b", "-o", blocker / "out.csv"
    )
    assert "cannot write there" in one_line_error(res)


def test_output_equal_to_the_input_is_refused(tmp_path, counts_csv):
    before = counts_csv.read_bytes()
    res = invoke("measure", counts_csv, "--unit", "unit", "--groups", "a,b", "-o", counts_csv)
    assert "names the input file" in one_line_error(res)
    assert counts_csv.read_bytes() == before


def test_unknown_input_suffix_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="input must be"):
        read_table(tmp_path / "x.ods")
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "x.csv")


def test_write_leaves_no_partial_file_when_it_fails(tmp_path):
    out = tmp_path / "out.parquet"
    bad = pl.DataFrame({"x": [object()]}, schema={"x": pl.Object})
    with pytest.raises(Exception):  # noqa: B017 - whatever polars raises for Object columns
        write_table(bad, out)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def counts_csv(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("unit,a,b\nu1,30,10\nu2,10,30\nu3,20,20\n", encoding="utf-8")
    return path


def test_measure_refuses_totals_and_drops_them_on_request(tmp_path):
    src = tmp_path / "counts.csv"
    src.write_text(
        "kommun,regso,a,b\n0114,0114R001,30,10\n0114,0114R002,10,30\n0114,0114R003,20,20\n"
        "0114,Sverige,60,60\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    args = ["measure", src, "--unit", "regso", "--groups", "a,b", "--by", "kommun",
            "--index", "dissimilarity", "--focal", "a", "-o", out]  # fmt: skip
    text = one_line_error(invoke(*args))
    assert "'Sverige'" in text and "row 4" in text and "--drop-totals" in text
    assert "__bryta" not in text and not out.exists()
    res = invoke(*args, "--drop-totals")
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert got.columns == ["kommun", "kommun_name", "index", "group", "value"]
    assert got.row(0)[:2] == ("0114", "Upplands Väsby")
    assert got["value"][0] == pytest.approx(20 / 60)


def test_measure_refuses_fractional_counts_unless_told(tmp_path):
    src = tmp_path / "counts.csv"
    src.write_text("unit;a;b\nu1;30;10\nu2;12,5;30\nu3;20;20\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["measure", src, "--unit", "unit", "--groups", "a,b", "--index", "dissimilarity",
            "--focal", "a", "-o", out]  # fmt: skip
    text = one_line_error(invoke(*args))
    assert "not whole numbers" in text and "row 2" in text and "--fractional" in text
    assert invoke(*args, "--fractional").exit_code == 0


def test_excel_kommun_codes_stored_as_numbers_are_refused(tmp_path):
    src = tmp_path / "counts.xlsx"
    pl.DataFrame(
        {"kommun": [114, 114, 180], "unit": ["u1", "u2", "u3"], "a": [3, 1, 2], "b": [1, 3, 2]}
    ).write_excel(src)
    res = invoke("measure", src, "--unit", "unit", "--groups", "a,b", "--by", "kommun",
                 "-o", tmp_path / "out.csv")  # fmt: skip
    text = one_line_error(res)
    assert "leading zero" in text and "row 1 (kommun='114')" in text and "'0114'" in text


def test_indices_markdown_rows_have_as_many_cells_as_the_header():
    """Before: 7 header cells ('worked value') and 6 per row."""
    import re

    lines = invoke("indices", "--markdown").output.strip().splitlines()
    cells = [len(re.split(r"(?<!\\)\|", line)) - 2 for line in lines]
    assert set(cells) == {7}, cells
    row = next(line for line in lines if line.startswith("| `dissimilarity`"))
    # D on the worked example (a = 30, 10, 20; b = 10, 30, 20): ½ (20 + 20 + 0) / 60
    assert row.rstrip(" |").endswith(f"{20 / 60:.4g}")


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("decompose", ["--groups", "a,b"]),
        ("local", ["--groups", "a,b"]),
        ("inequality", ["--low", "a", "--high", "b"]),
    ],
)
def test_other_counts_commands_refuse_totals_and_drop_them_on_request(tmp_path, command, options):
    rows = "unit,a,b\nu1,30,10\nu2,10,30\nu3,20,20\n"
    plain, with_total = tmp_path / "plain.csv", tmp_path / "total.csv"
    plain.write_text(rows, encoding="utf-8")
    with_total.write_text(rows + "Riket,60,60\n", encoding="utf-8")
    out, want = tmp_path / "out.csv", tmp_path / "want.csv"
    text = one_line_error(invoke(command, with_total, "--unit", "unit", *options, "-o", out))
    assert "'Riket'" in text and "--drop-totals" in text
    res = invoke(command, with_total, "--unit", "unit", *options, "--drop-totals", "-o", out)
    assert res.exit_code == 0, res.output
    assert invoke(command, plain, "--unit", "unit", *options, "-o", want).exit_code == 0
    assert pl.read_csv(out).equals(pl.read_csv(want))
