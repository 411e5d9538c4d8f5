"""``bryta registry init`` and ``diagnose`` on a small portfolio with hand-computed figures."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.cli import app
from bryta.registry import db
from bryta.registry.models import AreaLink, Intervention, Organisation, Participation
from bryta.vocabulary import AreaLevel, Form, OrgLevel, Role, Sector, Status

runner = CliRunner()


@pytest.fixture
def registry(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    res = runner.invoke(app, ["registry", "init", "--database", url])
    assert res.exit_code == 0, res.output
    engine = db.connect(url)
    with db.session(engine) as s:
        kommun = Organisation(
            name="Upplands Väsby kommun", sector=Sector.MUNICIPALITY, level=OrgLevel.LOCAL
        )
        ngo = Organisation(name="Föreningen X", sector=Sector.CIVIL_SOCIETY, level=OrgLevel.LOCAL)
        s.add_all([kommun, ngo])
        project = Intervention(
            title="Läxhjälp",
            form=Form.PROJECT,
            status=Status.ENDED,
            planned_start=dt.date(2022, 1, 1),
            planned_end=dt.date(2022, 6, 30),
            actual_start=dt.date(2022, 1, 1),
            actual_end=dt.date(2022, 6, 30),
            age_bands=["6-15"],
            published=True,
        )
        permanent = Intervention(
            title="Familjecentral",
            form=Form.PERMANENT_OPERATION,
            status=Status.ACTIVE,
            planned_start=dt.date(2020, 1, 1),
            actual_start=dt.date(2020, 1, 1),
            age_bands=["prenatal", "0-5"],
            published=False,
        )
        s.add_all([project, permanent])
        s.flush()
        s.add_all(
            [
                Participation(organisation=kommun, intervention=project, role=Role.ACCOUNTABLE),
                Participation(organisation=ngo, intervention=project, role=Role.IMPLEMENTING),
                Participation(organisation=kommun, intervention=permanent, role=Role.ACCOUNTABLE),
                AreaLink(intervention=project, level=AreaLevel.REGSO, area_code="0114R001"),
                AreaLink(intervention=permanent, level=AreaLevel.REGSO, area_code="0114R002"),
            ]
        )
    engine.dispose()
    return url


def test_diagnose_by_kommun(registry, tmp_path):
    out = tmp_path / "diag.csv"
    res = runner.invoke(
        app,
        [
            "registry",
            "diagnose",
            "--per",
            "kommun",
            "--database",
            registry,
            "--as-of",
            "2023-12-31",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    # need coverage covers every kommun (those with no registered work too); the other
    # families only the kommuner with interventions
    assert set(got.filter(pl.col("family") != "need_coverage")["kommun"]) == {"0114"}
    assert got.filter(family="need_coverage")["kommun"].n_unique() == 290
    got = got.filter(kommun="0114")
    value = dict(zip(got["metric"], got["value"], strict=False))
    assert value["high_need_areas"] == 0  # Upplands Väsby has no RegSO of type 1–2 (2022)
    assert value["n_interventions"] == 2
    assert value["project_share_count"] == pytest.approx(0.5)  # 1 project of 2
    assert value["median_planned_months"] == pytest.approx(6.0)  # only the project has an end
    # sectors per intervention: project {municipality, civil_society}, permanent {municipality}
    assert value["share_2_or_more_sectors"] == pytest.approx(0.5)


def test_public_view_sees_only_published(registry, tmp_path):
    out = tmp_path / "pub.csv"
    res = runner.invoke(
        app,
        [
            "registry",
            "diagnose",
            "--per",
            "kommun",
            "--database",
            registry,
            "--as-of",
            "2023-12-31",
            "--public",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    value = dict(zip(got["metric"], got["value"], strict=False))
    assert value["n_interventions"] == 1 and value["project_share_count"] == 1.0


def test_import_programmes_and_malformed_files(tmp_path):
    from importlib.resources import files

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    programmes = tmp_path / "programmes.csv"
    programmes.write_bytes(
        files("bryta.data").joinpath("programmes", "programmes.csv").read_bytes()
    )
    res = runner.invoke(app, ["registry", "import", str(programmes), "--database", url])
    assert res.exit_code == 0, res.output
    assert "imported 39 interventions" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text('[{"key": "a", "title": "x", "form": "projekt"}]', encoding="utf-8")
    res = runner.invoke(app, ["registry", "import", str(bad), "--database", url])
    assert res.exit_code == 2 and "projekt" in res.output
    engine = db.connect(url)
    with engine.connect() as con:
        import sqlalchemy as sa

        n = con.execute(sa.text("select count(*) from interventions")).scalar_one()
    engine.dispose()
    assert n == 39  # the malformed file added nothing


def test_seed_with_synthetic(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    res = runner.invoke(app, ["registry", "add-programmes", "--synthetic", "50", "--database", url])
    assert res.exit_code == 0, res.output
    said = "39 real programmes and 50 synthetic interventions: 89 new, 0 updated, 0 unchanged"
    assert said in res.output


def _count(url, table):
    import sqlalchemy as sa

    engine = db.connect(url)
    with engine.connect() as con:
        n = con.execute(sa.text(f"select count(*) from {table}")).scalar_one()
    engine.dispose()
    return n


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_export_import_export_is_lossless(tmp_path, suffix):
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.sqlite", "b.sqlite"))
    for url in (first, second):
        assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    res = runner.invoke(
        app, ["registry", "add-programmes", "--synthetic", "200", "--database", first]
    )
    assert res.exit_code == 0, res.output
    one, two = tmp_path / f"one{suffix}", tmp_path / f"two{suffix}"
    res = runner.invoke(app, ["registry", "export", "-o", str(one), "--database", first])
    assert res.exit_code == 0, res.output
    assert "wrote 239 interventions" in res.output
    res = runner.invoke(app, ["registry", "import", str(one), "--database", second])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["registry", "export", "-o", str(two), "--database", second])
    assert res.exit_code == 0, res.output
    assert one.read_text(encoding="utf-8") == two.read_text(encoding="utf-8")
    text = one.read_text(encoding="utf-8")
    assert "SYN-0-0001" in text and "SE-NAT-2018-DELMOS" in text  # the stable keys
    for table in ("fundings", "successions", "area_links", "participations", "organisations"):
        assert _count(first, table) == _count(second, table) > 0


def test_export_public_and_bad_suffix(registry, tmp_path):
    out = tmp_path / "pub.json"
    res = runner.invoke(
        app, ["registry", "export", "-o", str(out), "--public", "--database", registry]
    )
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text(encoding="utf-8"))
    assert [r["title"] for r in got] == ["Läxhjälp"]
    assert got[0]["participations"][1] == {
        "organisation": "Föreningen X",
        "sector": "civil_society",
        "role": "implementing",
        "level": "local",
        "start_date": None,
        "end_date": None,
    }
    res = runner.invoke(
        app, ["registry", "export", "-o", str(tmp_path / "x.parquet"), "--database", registry]
    )
    assert res.exit_code == 2 and ".csv or .json" in res.output


def test_import_is_audited(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    res = runner.invoke(app, ["registry", "add-programmes", "--database", url])
    assert res.exit_code == 0, res.output
    engine = db.connect(url)
    with engine.connect() as con:
        rows = con.execute(
            sa.text("select entity, action, who, count(*) from audit_entries group by 1, 2, 3")
        ).all()
    engine.dispose()
    counts = {(entity, action): n for entity, action, who, n in rows if who == "system"}
    assert counts[("interventions", "create")] == 39
    assert ("interventions", "update") not in counts  # created published, in one step
    assert counts[("organisations", "create")] == _count(url, "organisations")


def test_import_fails_at_write_time_and_changes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    assert runner.invoke(app, ["registry", "add-programmes", "--database", url]).exit_code == 0
    before = {t: _count(url, t) for t in ("interventions", "organisations", "audit_entries")}
    area = {"level": "regso", "area_code": "0114R001"}
    records = [
        {
            "key": k,
            "title": k,
            "form": "project",
            "status": "active",
            "published": True,
            "participations": [
                {
                    "organisation": f"Ny förening {k}",
                    "sector": "civil_society",
                    "role": "accountable",
                }
            ],
            "area_links": [area],
        }
        for k in ("a", "b", "c")
    ]
    records[2]["area_links"] = [area, area]  # passes the reader; the database refuses it
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(records), encoding="utf-8")
    res = runner.invoke(app, ["registry", "import", str(bad), "--database", url])
    assert res.exit_code == 2, res.output
    assert "failed" in res.output
    assert before == {t: _count(url, t) for t in before}


def test_diagnose_by_area_type_uses_the_bundled_official_types(registry, tmp_path):
    out = tmp_path / "types.csv"
    res = runner.invoke(
        app, ["registry", "diagnose", "--per", "area_type", "--database", registry, "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out).filter(family="need_coverage", metric="high_need_areas")
    # the official 2022 counts: 160 RegSO of type 1 and 289 of type 2, none of the others
    assert dict(zip(got["area_type"], got["value"], strict=True)) == {
        1: 160,
        2: 289,
        3: 0,
        4: 0,
        5: 0,
    }


def test_diagnose_reaction_lag_from_an_area_types_file(registry, tmp_path):
    types = tmp_path / "types.csv"
    # 0114R002 is type 1 from 2019 and gets early-years work (the family centre) in 2020:
    # a lag of 1 year. 0114R001 becomes type 2 in 2021 and gets only a 6-15 project: waiting.
    rows = ["regso,year,index,area_type"]
    for year in range(2019, 2024):
        rows.append(f"0114R002,{year},30.0,1")
        rows.append(f"0114R001,{year},{25.0 if year >= 2021 else 10.0},{2 if year >= 2021 else 4}")
    types.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "lag.csv"
    diagnose = ["registry", "diagnose", "--per", "kommun", "--database", registry]
    diagnose += ["--area-types", str(types), "-o", str(out)]
    res = runner.invoke(app, [*diagnose, "--as-of", "2023-12-31"])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String}).filter(kommun="0114")
    value = dict(zip(got["metric"], got["value"], strict=False))
    assert value["reaction_lag_years"] == pytest.approx(1.0)
    assert value["reaction_lag_censored"] == 1
    types.write_text("code,year\n0114R001,2020\n", encoding="utf-8")
    res = runner.invoke(app, diagnose)
    assert res.exit_code == 2 and "needs an area column" in res.output


# --- a registry that is not there ------------------------------------------------------------

NEVER_INITIALISED = [
    ["add-programmes"],
    ["add-programmes", "--synthetic", "5"],
    ["export", "-o", "out.json"],
    ["diagnose", "--per", "kommun", "-o", "out.csv"],
    ["import", "PROGRAMMES"],
    ["org", "list"],
    ["org", "add", "X", "--sector", "business", "--org-level", "local"],
    ["user", "list"],
    ["user", "list", "--as", "1"],
]


@pytest.mark.parametrize("command", NEVER_INITIALISED, ids=" ".join)
def test_a_registry_never_initialised_is_one_line_and_no_file(tmp_path, monkeypatch, command):
    from importlib.resources import files

    monkeypatch.chdir(tmp_path)
    (tmp_path / "programmes.csv").write_bytes(
        files("bryta.data").joinpath("programmes", "programmes.csv").read_bytes()
    )
    command = [str(tmp_path / "programmes.csv") if c == "PROGRAMMES" else c for c in command]
    url = "sqlite:///fresh.sqlite"
    res = runner.invoke(app, ["registry", *command, "--database", url])
    assert res.exit_code == 2, res.output
    assert res.output.strip().count("\n") == 0, res.output  # one line, no traceback
    assert "bryta registry init --database sqlite:///fresh.sqlite" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["programmes.csv"]


def test_an_empty_database_file_is_not_a_registry(tmp_path):
    (tmp_path / "empty.sqlite").touch()  # what earlier versions left behind
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    res = runner.invoke(app, ["registry", "add-programmes", "--database", url])
    assert res.exit_code == 2 and "is not an initialised registry" in res.output
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    res = runner.invoke(app, ["registry", "add-programmes", "--database", url])
    assert res.exit_code == 0, res.output


def test_a_plain_path_is_a_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["registry", "init", "--database", "x.sqlite"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x.sqlite").is_file()
    res = runner.invoke(app, ["registry", "add-programmes", "--database", "x.sqlite"])
    assert res.exit_code == 0, res.output
    assert _count(f"sqlite:///{tmp_path / 'x.sqlite'}", "interventions") == 39
    res = runner.invoke(app, ["registry", "init", "--database", str(tmp_path / "sub" / "y.db")])
    assert res.exit_code == 0 and (tmp_path / "sub" / "y.db").is_file()


def test_an_unreachable_server_is_one_line(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/registry"  # the discard port: refused
    for command in (["init"], ["add-programmes"], ["org", "list"]):
        res = runner.invoke(app, ["registry", *command, "--database", url])
        assert res.exit_code in (2, 3), res.output  # a source error (3 once the CLI maps it)
        assert res.output.strip().count("\n") == 0, res.output
        assert "cannot reach the registry database postgresql+psycopg://nobody@127.0.0.1:9" in (
            res.output
        )


def test_a_url_that_is_not_one(tmp_path):
    res = runner.invoke(app, ["registry", "init", "--database", "mysql+nodriver://x/y"])
    assert res.exit_code == 2 and "--database" in res.output, res.output


def test_a_bad_as_of_names_the_option(registry, tmp_path):
    out = tmp_path / "d.csv"
    diagnose = ["registry", "diagnose", "--per", "kommun", "--database", registry, "-o", str(out)]
    res = runner.invoke(app, [*diagnose, "--as-of", "2024-02-30"])
    assert res.exit_code == 2
    assert "--as-of 2024-02-30: not a date YYYY-MM-DD (day is out of range for month)" in (
        res.output
    )
    assert not out.exists()


# --- seeding and importing again: upsert by key -----------------------------------------------


def _audit_count(url):
    return _count(url, "audit_entries")


def test_seed_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    assert runner.invoke(app, ["registry", "add-programmes", "--database", url]).exit_code == 0
    audited = _audit_count(url)
    res = runner.invoke(app, ["registry", "add-programmes", "--database", url])
    assert res.exit_code == 0, res.output
    assert "0 new, 0 updated, 39 unchanged" in res.output
    assert _count(url, "interventions") == 39 and _audit_count(url) == audited
    res = runner.invoke(app, ["registry", "add-programmes", "--synthetic", "20", "--database", url])
    assert res.exit_code == 0, res.output
    assert "20 new, 0 updated, 39 unchanged" in res.output
    assert _count(url, "interventions") == 59


def test_reimporting_an_export_updates_instead_of_duplicating(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    res = runner.invoke(app, ["registry", "add-programmes", "--synthetic", "30", "--database", url])
    assert res.exit_code == 0, res.output
    tables = ("interventions", "fundings", "successions", "area_links", "participations")
    before = {t: _count(url, t) for t in tables}
    out = tmp_path / "all.json"
    assert (
        runner.invoke(app, ["registry", "export", "-o", str(out), "--database", url]).exit_code == 0
    )
    res = runner.invoke(app, ["registry", "import", str(out), "--database", url])
    assert res.exit_code == 0, res.output
    assert "0 new, 0 updated, 69 unchanged" in res.output
    assert {t: _count(url, t) for t in tables} == before
    data = json.loads(out.read_text(encoding="utf-8"))
    data[0]["title"] = "Nytt namn"
    removed = len(data[40]["fundings"])
    assert removed > 0
    data[40]["fundings"] = []
    assert data[2]["published"] is True  # a programme
    data[2]["published"] = False
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    res = runner.invoke(app, ["registry", "import", str(out), "--database", url])
    assert res.exit_code == 0, res.output
    assert "0 new, 3 updated, 66 unchanged" in res.output
    assert _count(url, "interventions") == before["interventions"]
    assert _count(url, "fundings") == before["fundings"] - removed
    again = tmp_path / "again.json"
    assert (
        runner.invoke(app, ["registry", "export", "-o", str(again), "--database", url]).exit_code
        == 0
    )
    assert json.loads(again.read_text(encoding="utf-8")) == data


# --- synthetic records ----------------------------------------------------------------------


def test_synthetic_records_are_not_published_and_can_be_left_out(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    res = runner.invoke(app, ["registry", "add-programmes", "--synthetic", "40", "--database", url])
    assert res.exit_code == 0, res.output

    def export(*options):
        out = tmp_path / "x.json"
        res = runner.invoke(
            app, ["registry", "export", "-o", str(out), "--database", url, *options]
        )
        assert res.exit_code == 0, res.output
        return json.loads(out.read_text(encoding="utf-8"))

    everything = export()
    assert sum(r["synthetic"] for r in everything) == 40
    assert all(not r["published"] for r in everything if r["synthetic"])
    public = export("--public")
    assert len(public) == 39 and not any(r["synthetic"] for r in public)
    real = export("--exclude-synthetic")
    assert len(real) == 39 and not any(r["synthetic"] for r in real)

    def n_interventions(*options):
        out = tmp_path / "d.csv"
        diagnose = ["registry", "diagnose", "--per", "year", "--database", url, "-o", str(out)]
        res = runner.invoke(app, [*diagnose, "--as-of", "2024-12-31", *options])
        assert res.exit_code == 0, res.output
        got = pl.read_csv(out).filter(metric="n_interventions", year=2020)
        return got["value"].item()

    real_2020 = sum(
        1
        for r in real
        if (r["actual_start"] or r["planned_start"] or "9999") <= "2020-12-31"
        and (r["actual_end"] or r["planned_end"] or "9999") >= "2020-01-01"
    )
    assert n_interventions("--public") == n_interventions("--exclude-synthetic") == real_2020
    assert n_interventions() > real_2020


# --- every read through the service, for an actor -----------------------------------------------


def test_list_and_audit_commands(registry):
    res = runner.invoke(app, ["registry", "list", "--database", registry, "--public"])
    assert res.exit_code == 0, res.output
    assert "1 interventions" in res.output and "Läxhjälp" in res.output
    res = runner.invoke(app, ["registry", "list", "--database", registry])
    assert "2 interventions" in res.output
    res = runner.invoke(app, ["registry", "audit", "--database", registry])
    assert res.exit_code == 0 and "0 changes" in res.output  # written around the service


def test_the_application_layer_reads_for_an_actor(registry, tmp_path):
    from bryta.app import registry as use
    from bryta.app.context import Context, Settings

    ctx = Context(Settings(database=registry))
    try:
        public = use.diagnose(ctx, None, by="kommun", as_of=dt.date(2023, 12, 31))
        system = use.diagnose(ctx, use.actor(ctx), by="kommun", as_of=dt.date(2023, 12, 31))
        n = {
            who: frame.filter(kommun="0114", metric="n_interventions")["value"].item()
            for who, frame in (("public", public), ("system", system))
        }
        assert n == {"public": 1, "system": 2}
        assert [r.title for r in use.interventions(ctx, None)] == ["Läxhjälp"]
        with pytest.raises(Exception, match="--as 7: no user"):
            use.actor(ctx, 7)
    finally:
        ctx.close()
