"""Tests of the SCB Statistikdatabasen CSV importer and the bundled SCB data."""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest

from bryta._files import bundled_file
from bryta.datasets import load_demo_panel
from bryta.errors import ImportFormatError
from bryta.geography.areas import (
    kommun_names,
    lan_names,
    load_regso_key,
    normalise_label,
    regso_table,
)
from bryta.ingest.statdb_csv import read_scb_export, to_counts

FOOTNOTES = [
    ",",
    '"Delegationen mot segregation (Delmos) och SCB har utvecklat ett index (RegSO).',
    "  Se sidan <a href='https://www.scb.se/'>RegSO i Statistikdatabasen</a>.\",",
    "2023-03-29: Tabellen är korrigerad.,",
    ",",
    "Kontaktperson:,",
    '"Malin Forsberg, SCB",',
    "Datatyp:,",
    "Stock,",
    "Referenstid:,",
    "År,",
    "Databas:,",
    "Statistikdatabasen ,",
    "Intern referenskod:,",
    "000005QX,",
]


def write_export(
    path: Path,
    lines: list[str],
    *,
    encoding: str = "utf-8-sig",
    newline: str = "\r\r\n",
    final_newline: bool = True,
) -> Path:
    """Write ``lines`` the way Statistikdatabasen does (BOM, ``\\r\\r\\n``)."""
    text = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------------------------
# normalise_label


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "Sotenäs (Kungshamn–Smögen-Hovenäset–Väjern)",
            "Sotenäs (Kungshamn-Smögen-Hovenäset-Väjern)",
        ),
        ("A (B—C−D)", "A (B-C-D)"),
        ("Göteborg (Kortedala  södra)", "Göteborg (Kortedala södra)"),
        ("Luleå (Tuna )", "Luleå (Tuna)"),
        ("Luleå ( Tuna)", "Luleå (Tuna)"),
        ("  Malmö\u00a0(Rosengård)\t", "Malmö (Rosengård)"),
        ("Malmo\u0308 (x)", "Malmö (x)"),  # decomposed ö -> NFC
        ("A (B - C)", "A (B - C)"),  # spaces around a hyphen are kept
    ],
)
def test_normalise_label(raw: str, expected: str) -> None:
    assert normalise_label(raw) == expected
    assert normalise_label(expected) == expected


# --------------------------------------------------------------------------------------------
# read_scb_export on fixtures in the real formats


def test_statistikdatabasen_export_with_footnotes(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "export.csv",
        [
            '"region","inkomstkomponent","kön","Medelvärde för samtliga, tkr 2020",'
            '"Medelvärde för samtliga, tkr 2021"',
            '"Upplands Väsby (Bollstanäs)","löneinkomst ","totalt",438.3,449.7',
            '"Upplands Väsby (Bollstanäs)","löneinkomst ","kvinnor",..,-',
            '"Kiruna (Övre Norrmalm)","löneinkomst ","totalt",341.9,',
            *FOOTNOTES,
        ],
    )
    df = read_scb_export(path)
    assert df.columns == [
        "regso",
        "kommun",
        "lan",
        "inkomstkomponent",
        "kön",
        "year",
        "measure",
        "value",
    ]
    assert df.schema["year"] == pl.Int32
    assert df.schema["value"] == pl.Float64
    assert df.height == 6  # 3 data rows x 2 years; the footnote block is ignored
    assert df["measure"].unique().to_list() == ["Medelvärde för samtliga, tkr"]
    assert df["inkomstkomponent"].unique().to_list() == ["löneinkomst"]  # was "löneinkomst "
    assert df.select("regso", "kommun", "lan", "kön", "year", "value").rows() == [
        ("0114R001", "0114", "01", "totalt", 2020, 438.3),
        ("0114R001", "0114", "01", "totalt", 2021, 449.7),
        ("0114R001", "0114", "01", "kvinnor", 2020, None),
        ("0114R001", "0114", "01", "kvinnor", 2021, None),
        ("2584R015", "2584", "25", "totalt", 2020, 341.9),
        ("2584R015", "2584", "25", "totalt", 2021, None),
    ]


def test_bare_year_header_and_unquoted_rows(tmp_path: Path) -> None:
    # Like regso_area_type_2022.csv: empty region header, a bare year, footnotes.
    path = write_export(
        tmp_path / "area_type.csv",
        [",2022", "Upplands Väsby (Bollstanäs),4", "Kiruna (Triangeln),3", *FOOTNOTES],
        newline="\r\n",
        final_newline=False,
    )
    df = read_scb_export(path)
    assert df.columns == ["regso", "kommun", "lan", "year", "measure", "value"]
    assert df.rows() == [
        ("0114R001", "0114", "01", 2022, None, 4.0),
        ("2584R013", "2584", "25", 2022, None, 3.0),
    ]


def test_latin1_semicolon_decimal_comma(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "latin1.csv",
        [
            "region;kön;Antal 2022;Andel 2022",
            "Malmö (RegSO-Almvik norr-Lindängen norr);män;1 683;48,5",
            '"Malmö (RegSO-Augustenborg)";kvinnor;1800;".."',
        ],
        encoding="latin-1",
        newline="\n",
    )
    df = read_scb_export(path)
    assert df.select("regso", "kön", "measure", "value").rows() == [
        ("1280R001", "män", "Antal", 1683.0),
        ("1280R001", "män", "Andel", 48.5),
        ("1280R005", "kvinnor", "Antal", 1800.0),
        ("1280R005", "kvinnor", "Andel", None),
    ]
    assert df["lan"].unique().to_list() == ["12"]


def test_labels_match_after_dash_and_whitespace_normalisation(tmp_path: Path) -> None:
    # The key writes "Kungshamn–Smögen-Hovenäset–Väjern" (en dashes) and
    # "Kortedala  södra" (two spaces); exports may differ in both.
    path = write_export(
        tmp_path / "dashes.csv",
        [
            '"region","Antal 2023"',
            '"Sotenäs (Kungshamn-Smögen–Hovenäset-Väjern)",1',
            '"Göteborg (Kortedala   södra)",2',
            '"Göteborg\u00a0(Kortedala södra )",3',
            '"Luleå (Tuna )",4',
            '"Botkyrka (Tuna)",5',
        ],
    )
    df = read_scb_export(path)
    key = regso_table()
    expected = [
        key.filter(pl.col("label") == label)["regso"].item()
        for label in [
            "Sotenäs (Kungshamn-Smögen-Hovenäset-Väjern)",
            "Göteborg (Kortedala södra)",
            "Göteborg (Kortedala södra)",
            "Luleå (Tuna)",
            "Botkyrka (Tuna)",
        ]
    ]
    assert df["regso"].to_list() == expected
    assert df["value"].to_list() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert df["regso"][3] != df["regso"][4]  # same RegSO name in two kommuner


def test_unmatched_label_names_label_and_row(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "unmatched.csv",
        [
            '"region","kön","Antal 2020"',
            '"Upplands Väsby (Bollstanäs)","totalt",1',
            '"Upplands Väsby (Atlantis)","totalt",2',
            '"Upplands Väsby (Bollstanäs)","män",1',
            '"Upplands Väsby (Atlantis)","män",2',
        ],
    )
    with pytest.raises(ImportFormatError) as info:
        read_scb_export(path)
    message = str(info.value)
    assert "unmatched.csv" in message
    assert "Upplands Väsby (Atlantis)" in message
    assert "rows 3, 5" in message
    assert "Bollstanäs" not in message


def test_many_unmatched_labels_are_summarised(tmp_path: Path) -> None:
    rows = [f'"Nowhere (Area {i})",{i}' for i in range(15)]
    path = write_export(tmp_path / "many.csv", ['"region","Antal 2020"', *rows])
    with pytest.raises(ImportFormatError, match=r"15 region label\(s\)") as info:
        read_scb_export(path)
    message = str(info.value)
    assert "'Nowhere (Area 9)' (row 11)" in message
    assert "Area 10" not in message
    assert "... and 5 more" in message


def test_bad_number_names_row_and_column(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "bad.csv",
        [
            '"region","kön","Antal 2020","Antal 2021"',
            '"Upplands Väsby (Bollstanäs)","totalt",1,2',
            '"Upplands Väsby (Bollstanäs)","män",3,4x',
        ],
    )
    with pytest.raises(ImportFormatError) as info:
        read_scb_export(path)
    message = str(info.value)
    assert "bad.csv" in message
    assert "row 3" in message
    assert "column 4 'Antal 2021'" in message
    assert "'4x'" in message


def test_decimal_comma_is_not_accepted_in_comma_separated_files(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "comma.csv", ['"region","Andel 2020"', '"Kiruna (Triangeln)","48,5"']
    )
    with pytest.raises(ImportFormatError, match=r"row 2, column 2"):
        read_scb_export(path)


def test_broken_row_before_more_data_is_an_error(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "broken.csv",
        [
            '"region","Antal 2020"',
            '"Kiruna (Triangeln)",1',
            "Kiruna (Triangeln), more,2",
            '"Kiruna (Övre Norrmalm)",3',
        ],
    )
    with pytest.raises(ImportFormatError, match=r"row 3 does not have the shape"):
        read_scb_export(path)


def test_title_line_before_header_is_skipped(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "title.csv",
        ["Folkmängd efter region och år", "", '"region","Antal 2020"', '"Kiruna (Triangeln)",7'],
    )
    assert read_scb_export(path).select("regso", "value").rows() == [("2584R013", 7.0)]


def test_not_an_export(tmp_path: Path) -> None:
    path = write_export(tmp_path / "plain.csv", ["region,kön,Antal", "Kiruna (Triangeln),x,1"])
    with pytest.raises(ImportFormatError, match="no header row"):
        read_scb_export(path)


def test_unknown_level_is_refused(tmp_path: Path) -> None:
    path = write_export(tmp_path / "k.csv", ['"region","Antal 2020"', '"01 Stockholms län",1'])
    with pytest.raises(ImportFormatError, match="level 'lan' not supported yet"):
        read_scb_export(path, level="lan")


def test_kommun_labels_with_and_without_code(tmp_path: Path) -> None:
    """Both forms SCB uses: '0114 Upplands Väsby' (tests/data/pxweb/TAB6571_download.json)
    and the name alone (tests/data/jsonstat/scb_population.json); the country row dropped."""
    path = write_export(
        tmp_path / "k.csv",
        [
            '"region","födelseregion","Antal 2020"',
            '"00 Riket","Sverige",8000',
            '"00 Riket","totalt",10000',
            '"0114 Upplands Väsby","Sverige",40',
            '"0114 Upplands Väsby","totalt",50',
            '"Stockholm","Sverige",600',
            '"Stockholms kommun","totalt",1000',
        ],
    )
    long = read_scb_export(path, level="kommun")
    assert long.select("kommun", "lan").unique(maintain_order=True).rows() == [
        ("00", None),
        ("0114", "01"),
        ("0180", "01"),
    ]
    wide = to_counts(long, source="k.csv")
    assert wide.rows() == [("0114", "01", 2020, 40, 10), ("0180", "01", 2020, 600, 400)]
    assert wide.columns == ["kommun", "lan", "year", "born_sweden", "born_abroad"]


def test_unknown_kommun_is_named(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "k.csv", ['"region","Antal 2020"', '"0114 Upplands Väsby",1', '"Atlantis",2']
    )
    with pytest.raises(ImportFormatError, match=r"(?s)match no kommun.*'Atlantis' \(row 3\)"):
        read_scb_export(path, level="kommun")


def test_deso_labels_get_regso_kommun_and_lan(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "d.csv",
        ['"region","Antal 2020"', '"0114C1010",5', '"0114C1180 (DeSO 2018)",7', '"Riket",12'],
    )
    long = read_scb_export(path, level="deso")
    assert long.select("deso", "regso", "kommun", "lan").rows() == [
        ("0114C1010", "0114R001", "0114", "01"),
        ("0114C1180", "0114R002", "0114", "01"),
        ("00", None, None, None),
    ]
    wide = to_counts(long, source="d.csv")
    assert wide.columns == ["deso", "regso", "kommun", "lan", "year", "value"]
    assert wide["value"].to_list() == [5, 7]


def test_deso_2025_codes_outside_the_key_have_no_regso(tmp_path: Path) -> None:
    path = write_export(tmp_path / "d.csv", ['"region","Antal 2020"', '"0114A0999 (DeSO 2025)",5'])
    assert read_scb_export(path, level="deso").columns[:3] == ["deso", "kommun", "lan"]


def test_counts_take_the_total_of_other_dimensions(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "x.csv",
        [
            '"region","upplåtelseform","kön","Antal 2020"',
            '"Kiruna (Triangeln)","hyresrätt","män",3',
            '"Kiruna (Triangeln)","hyresrätt","kvinnor",4',
            '"Kiruna (Triangeln)","hyresrätt","totalt",7',
            '"Kiruna (Triangeln)","bostadsrätt","män",1',
            '"Kiruna (Triangeln)","bostadsrätt","kvinnor",1',
            '"Kiruna (Triangeln)","bostadsrätt","totalt",2',
        ],
    )
    long = read_scb_export(path)
    with pytest.raises(ImportFormatError, match=r"several dimensions vary.*--columns"):
        to_counts(long, source="x.csv")
    wide = to_counts(long, source="x.csv", columns="upplåtelseform")
    assert wide.select("rental", "tenant_owned").rows() == [(7, 2)]
    by_sex = to_counts(long, source="x.csv", columns="kön")
    assert by_sex.columns[-3:] == ["year", "män", "kvinnor"]
    assert by_sex.select("upplåtelseform", "män", "kvinnor").rows() == [
        ("bostadsrätt", 1, 1),
        ("hyresrätt", 3, 4),
    ]


def test_two_commands_from_the_bundled_export_to_indices(tmp_path: Path) -> None:
    """The README's way from SCB's export to indices per kommun, without Python."""
    from typer.testing import CliRunner

    from bryta.cli import app

    runner = CliRunner()
    counts, out = tmp_path / "counts.csv", tmp_path / "out.csv"
    export = str(bundled_file("regso_birth_region_2020_2023.csv"))
    res = runner.invoke(app, ["import", "scb-csv", export, "-o", str(counts)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        ["measure", str(counts), "--unit", "regso", "--groups", "born_sweden,born_abroad",
         "--by", "kommun,year", "--index", "dissimilarity", "--focal", "born_abroad",
         "-o", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert got.columns == ["kommun", "kommun_name", "year", "index", "group", "value"]
    row = got.filter(pl.col("kommun") == "0180", pl.col("year") == 2020)
    assert row["kommun_name"].item() == "Stockholm"
    # independently: D over Stockholm's RegSO from the export's own numbers
    long = read_scb_export(bundled_file("regso_birth_region_2020_2023.csv"))
    sthlm = long.filter(pl.col("kommun") == "0180", pl.col("year") == 2020)
    sweden = sthlm.filter(pl.col("födelseregion") == "Sverige").sort("regso")["value"].to_numpy()
    total = sthlm.filter(pl.col("födelseregion") == "totalt").sort("regso")["value"].to_numpy()
    abroad = total - sweden
    want = 0.5 * abs(abroad / abroad.sum() - sweden / sweden.sum()).sum()
    assert row["value"].item() == pytest.approx(want, rel=1e-12)
    assert round(want, 6) == 0.290012


def test_custom_key_pads_kommun_codes(tmp_path: Path) -> None:
    key_path = write_export(
        tmp_path / "key.csv",
        [
            "Kommun,Kommunnamn,DeSO_2018,RegSO_2020,RegSOkod_2020",
            "114,Upplands Väsby,0114C1010,Bollstanäs,0114R001",
            "114,Upplands Väsby,0114C1030,Bollstanäs,0114R001",
        ],
        newline="\r\n",
    )
    key = load_regso_key(key_path)
    assert key["kommun"].to_list() == ["0114", "0114"]
    assert key["lan"].to_list() == ["01", "01"]
    assert regso_table(key).height == 1
    export = write_export(
        tmp_path / "e.csv", ['"region","Antal 2020"', '"Upplands Väsby (Bollstanäs)",1']
    )
    assert read_scb_export(export, key=key)["regso"].to_list() == ["0114R001"]


# --------------------------------------------------------------------------------------------
# The bundled data


def test_bundled_files_match_provenance() -> None:
    provenance = files("bryta.data").joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    recorded = dict(
        re.findall(r"^## `scb/([^`]+)`.*?SHA-256: `([0-9a-f]{64})`", provenance, re.M | re.S)
    )
    bundled = {f.name for f in files("bryta.data").joinpath("scb").iterdir() if f.is_file()}
    assert set(recorded) == bundled - {"__init__.py"}
    for name, digest in recorded.items():
        assert hashlib.sha256(bundled_file(name).read_bytes()).hexdigest() == digest, name


def test_key() -> None:
    key = load_regso_key()
    assert key.columns == ["deso", "regso", "regso_name", "kommun", "kommun_name", "lan", "label"]
    assert all(dtype == pl.String for dtype in key.dtypes)
    assert key.height == 5984
    assert key["deso"].n_unique() == 5984
    assert key["kommun"].n_unique() == 290
    assert key["lan"].n_unique() == 21
    table = regso_table()
    assert table.height == 3363
    assert table["label"].n_unique() == 3363
    assert table.row(0) == (
        "0114R001",
        "Bollstanäs",
        "0114",
        "Upplands Väsby",
        "01",
        "Upplands Väsby (Bollstanäs)",
    )


def test_demo_panel() -> None:
    panel = load_demo_panel()
    assert panel.columns == [
        "lan",
        "kommun",
        "regso",
        "year",
        "born_sweden",
        "born_abroad",
        "rental",
        "tenant_owned",
        "owner_occupied",
        "tenure_unknown",
    ]
    assert panel.height == 3363 * 4
    assert panel["regso"].n_unique() == 3363
    assert sorted(panel["year"].unique().to_list()) == [2020, 2021, 2022, 2023]
    assert panel.select("regso", "year").is_duplicated().sum() == 0
    assert panel.null_count().sum_horizontal().item() == 0
    for column in panel.columns[4:]:
        assert panel.schema[column] == pl.Int64
    assert panel.filter(pl.col("born_abroad") < 0).height == 0
    assert panel["kommun"].n_unique() == 290
    assert panel["lan"].n_unique() == 21
    assert panel["kommun"][0] == "0114"
    assert panel["lan"][0] == "01"
    assert (panel["kommun"].str.slice(0, 2) == panel["lan"]).all()
    assert (panel["regso"].str.slice(0, 4) == panel["kommun"]).all()


def test_national_population_matches_scb_official_totals() -> None:
    # SCB's official population on 31 December (independent of this code).
    totals = dict(
        load_demo_panel()
        .group_by("year")
        .agg((pl.col("born_sweden") + pl.col("born_abroad")).sum())
        .iter_rows()
    )
    assert totals[2020] == 10_379_295
    assert totals[2023] == 10_551_707


def test_bundled_export_dimensions_are_stripped() -> None:
    df = read_scb_export(bundled_file("regso_birth_region_2020_2023.csv"))
    assert df.columns[:5] == ["regso", "kommun", "lan", "födelseregion", "kön"]
    assert sorted(df["födelseregion"].unique().to_list()) == ["Sverige", "totalt"]
    assert df["measure"].unique().to_list() == ["Antal"]
    assert df.height == 6726 * 4


def test_kommun_and_lan_names() -> None:
    kommuner = kommun_names()
    assert len(kommuner) == 290
    assert kommuner["0114"] == "Upplands Väsby"
    assert kommuner["2584"] == "Kiruna"
    assert all(re.fullmatch(r"\d{4}", code) for code in kommuner)
    assert kommun_names(full=True)["0114"] == "Upplands Väsby kommun"
    lan = lan_names()
    assert len(lan) == 21
    assert lan["01"] == "Stockholm"
    assert lan_names(full=True)["01"] == "Stockholms län"
    assert set(load_demo_panel()["kommun"].unique()) == set(kommuner)
    assert set(load_demo_panel()["lan"].unique()) == set(lan)
