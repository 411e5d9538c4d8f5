"""``bryta registry init`` and ``diagnose`` on a small portfolio with hand-computed figures."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.cli import app
from bryta.store.registry import db
from bryta.store.registry.enums import AreaLevel, Form, OrgLevel, Role, Sector, Status
from bryta.store.registry.models import AreaLink, Intervention, Organisation, Participation

runner = CliRunner()


@pytest.fixture
def registry(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    res = runner.invoke(app, ["registry", "init", "--database", url])
    assert res.exit_code == 0, res.output
    engine = db.connect(url)
    with db.session(engine) as s:
        kommun = Organisation(name="Upplands Väsby kommun", sector=Sector.MUNICIPALITY,
                              level=OrgLevel.LOCAL)
        ngo = Organisation(name="Föreningen X", sector=Sector.CIVIL_SOCIETY, level=OrgLevel.LOCAL)
        s.add_all([kommun, ngo])
        project = Intervention(
            title="Läxhjälp", form=Form.PROJECT, status=Status.ENDED,
            planned_start=dt.date(2022, 1, 1), planned_end=dt.date(2022, 6, 30),
            actual_start=dt.date(2022, 1, 1), actual_end=dt.date(2022, 6, 30),
            age_bands=["6-15"], published=True,
        )
        permanent = Intervention(
            title="Familjecentral", form=Form.PERMANENT_OPERATION, status=Status.ACTIVE,
            planned_start=dt.date(2020, 1, 1), actual_start=dt.date(2020, 1, 1),
            age_bands=["prenatal", "0-5"], published=False,
        )
        s.add_all([project, permanent])
        s.flush()
        s.add_all([
            Participation(organisation=kommun, intervention=project, role=Role.ACCOUNTABLE),
            Participation(organisation=ngo, intervention=project, role=Role.IMPLEMENTING),
            Participation(organisation=kommun, intervention=permanent, role=Role.ACCOUNTABLE),
            AreaLink(intervention=project, level=AreaLevel.REGSO, area_code="0114R001"),
            AreaLink(intervention=permanent, level=AreaLevel.REGSO, area_code="0114R002"),
        ])
    engine.dispose()
    return url


def test_diagnose_by_kommun(registry, tmp_path):
    out = tmp_path / "diag.csv"
    res = runner.invoke(app, ["registry", "diagnose", "--by", "kommun", "--database", registry,
                              "--as-of", "2023-12-31", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    value = dict(zip(got["metric"], got["value"], strict=False))
    assert set(got["kommun"]) == {"0114"}
    assert value["n_interventions"] == 2
    assert value["project_share_count"] == pytest.approx(0.5)  # 1 project of 2
    assert value["median_planned_months"] == pytest.approx(6.0)  # only the project has an end
    # sectors per intervention: project {municipality, civil_society}, permanent {municipality}
    assert value["share_2_or_more_sectors"] == pytest.approx(0.5)


def test_public_view_sees_only_published(registry, tmp_path):
    out = tmp_path / "pub.csv"
    res = runner.invoke(app, ["registry", "diagnose", "--by", "kommun", "--database", registry,
                              "--as-of", "2023-12-31", "--public", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    value = dict(zip(got["metric"], got["value"], strict=False))
    assert value["n_interventions"] == 1 and value["project_share_count"] == 1.0


def test_import_programmes_and_malformed_files(tmp_path):
    from importlib.resources import files

    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert runner.invoke(app, ["registry", "init", "--database", url]).exit_code == 0
    programmes = tmp_path / "programmes.csv"
    programmes.write_bytes(files("bryta.data").joinpath("programmes", "programmes.csv")
                           .read_bytes())
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
    res = runner.invoke(app, ["registry", "seed", "--synthetic", "50", "--database", url])
    assert res.exit_code == 0, res.output
    assert "added 89 interventions (50 synthetic)" in res.output
