"""The built-in importer ``hsds`` through the import runner: another tool's package,
choosing the organization, row errors, geocoding, dry run, --full, and an HSDS API base
URL paged through over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from directory_core.hsds.mapping import Publication
from directory_core.importers.base import SourceError
from directory_core.importing import run_import
from directory_core.model import Precision

from .hsds_fixtures import app_of, demo_directory
from .import_fixtures import directories, dump
from .test_hsds_reading import FOREIGN

CITY = {
    "id": "0f0e0d0c-0000-4000-8000-00000000000a",
    "name": "Stadt Bochum",
    "description": "Stadt",
}
CLUB = {
    "id": "0f0e0d0c-0000-4000-8000-00000000000b",
    "name": "Seniorenclub",
    "description": "Verein",
}


def service(number: int, org: dict, **fields) -> dict:
    record = {
        **FOREIGN,
        "id": f"8d3c5a1e-0000-4000-8000-{number:012d}",
        "name": f"Angebot {number}",
        "organization_id": org["id"],
        "organization": org,
    }
    record.update(fields)
    return record


def write_package(folder: Path, services: list[dict], orgs: list[dict]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "services.json").write_text(json.dumps(services), encoding="utf-8")
    (folder / "organizations.json").write_text(json.dumps(orgs), encoding="utf-8")
    return str(folder)


@pytest.fixture
def make_directory(tmp_path, monkeypatch):
    with directories(tmp_path, monkeypatch) as make:
        yield make


def test_the_services_of_the_chosen_organization(make_directory, tmp_path):
    directory = make_directory(importers={"hsds": {"organization": "Stadt Bochum"}})
    source = write_package(
        tmp_path / "p", [service(1, CITY), service(2, CLUB), service(3, CITY)], [CITY, CLUB]
    )
    report = run_import(directory, "stadt-dortmund", "hsds", source)
    assert report.counts() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "archived": 0,
        "rejected": 0,
    }
    created = sorted(report.created, key=lambda o: o.title)
    assert [o.title for o in created] == ["Angebot 1", "Angebot 3"]
    assert created[0].id == created[0].external_id == service(1, CITY)["id"]
    assert created[0].carrier == "stadt-dortmund"
    assert created[0].district is not None  # derived from the location like any import


def test_several_organizations_need_a_choice(make_directory, tmp_path):
    directory = make_directory()
    source = write_package(tmp_path / "p", [service(1, CITY), service(2, CLUB)], [CITY, CLUB])
    with pytest.raises(SourceError, match=r"importers.hsds.carriers.awo\] organization"):
        run_import(directory, "awo", "hsds", source)
    directory = make_directory(importers={"hsds": {"organization": "nobody"}}, store="b.sqlite")
    with pytest.raises(SourceError, match="no organization 'nobody' in the source; it has"):
        run_import(directory, "awo", "hsds", source)


def test_a_single_organization_needs_no_choice(make_directory, tmp_path):
    directory = make_directory()
    source = write_package(tmp_path / "p", [service(1, CLUB), service(2, CLUB)], [CLUB])
    assert len(run_import(directory, "awo", "hsds", source).created) == 2


def test_unknown_settings_are_refused(make_directory, tmp_path):
    directory = make_directory(importers={"hsds": {"organisation": "x"}})
    with pytest.raises(SourceError, match="unknown setting 'organisation'"):
        run_import(directory, "awo", "hsds", write_package(tmp_path / "p", [], [CLUB]))


def test_rejections_name_the_service_and_the_field(make_directory, tmp_path):
    directory = make_directory()
    services = [
        service(1, CLUB),
        service(2, CLUB, name=""),
        service(3, CLUB, email="not-an-address"),
        service(4, CLUB, languages=[{"id": "l", "code": "xx"}]),
    ]
    report = run_import(directory, "awo", "hsds", write_package(tmp_path / "p", services, [CLUB]))
    assert len(report.created) == 1
    rejected = {(r.location.split(" ")[0], r.field) for r in report.rejected}
    assert rejected == {
        ("services[1]", "name"),
        ("services[2]", "contact.email"),
        ("services[3]", "languages"),
    }
    assert "(id 8d3c5a1e-0000-4000-8000-000000000002)" in report.rejected[0].location


def test_services_without_coordinates_are_geocoded(make_directory, tmp_path):
    directory = make_directory()
    location = {
        "id": "loc",
        "location_type": "physical",
        "addresses": [
            {
                "id": "a",
                "address_1": "",
                "city": "Dortmund",
                "postal_code": "44263",
                "state_province": "NRW",
                "country": "DE",
                "address_type": "physical",
            }
        ],
    }
    source = write_package(
        tmp_path / "p",
        [service(1, CLUB, service_at_locations=[{"id": "x", "location": location}])],
        [CLUB],
    )
    offer = run_import(directory, "awo", "hsds", source).created[0]
    assert offer.location is not None and offer.location.precision == Precision.POSTCODE
    assert offer.district == "hoerde"


def test_dry_run_and_full_sync(make_directory, tmp_path):
    directory = make_directory()
    first = write_package(tmp_path / "a", [service(1, CLUB), service(2, CLUB)], [CLUB])
    before = dump(directory)
    dry = run_import(directory, "awo", "hsds", first, dry_run=True)
    assert len(dry.created) == 2 and dump(directory) == before
    run_import(directory, "awo", "hsds", first)
    changed = service(2, CLUB, name="Angebot 2 (neu)")
    second = write_package(tmp_path / "b", [changed], [CLUB])
    report = run_import(directory, "awo", "hsds", second, full=True)
    assert report.counts() == {
        "created": 0,
        "updated": 1,
        "unchanged": 0,
        "archived": 1,
        "rejected": 0,
    }
    assert report.archived[0].title == "Angebot 1"
    again = run_import(directory, "awo", "hsds", second, full=True)
    assert again.counts()["unchanged"] == 1


def test_a_service_id_of_another_carriers_offer_is_not_taken_over(make_directory, tmp_path):
    directory = make_directory()
    source = write_package(tmp_path / "p", [service(1, CLUB)], [CLUB])
    mine = run_import(directory, "awo", "hsds", source).created[0]
    theirs = run_import(directory, "diakonie", "hsds", source).created[0]
    assert mine.id == service(1, CLUB)["id"] != theirs.id
    assert directory.get(mine.id).carrier == "awo"


def test_unreadable_sources(make_directory, tmp_path):
    directory = make_directory()
    with pytest.raises(SourceError, match="is not a folder"):
        run_import(directory, "awo", "hsds", str(tmp_path / "missing"))
    with pytest.raises(SourceError, match="neither services.json nor datapackage.json"):
        run_import(directory, "awo", "hsds", str(tmp_path))
    with pytest.raises(SourceError, match=r"cannot read http://127.0.0.1:9/services page 1"):
        run_import(directory, "awo", "hsds", "http://127.0.0.1:9")


def test_importing_from_an_hsds_api_pages_through_it(make_directory, tmp_path, serve):
    published = demo_directory(tmp_path / "published", samples=60)
    try:
        server = serve(app_of(published))
        wanted = sorted(published.store.carrier_offer_ids("awo"))
        directory = make_directory(importers={"hsds": {"per_page": 7}})
        report = run_import(directory, "awo", "hsds", f"{server.url}/hsds/")
        assert report.rejected == [] and len(wanted) > 7
        assert sorted(o.id for o in report.created) == wanted
        pub = Publication.of(published)
        for offer in report.created:
            original = published.get(offer.id)
            assert pub.service(offer)["attributes"] == pub.service(original)["attributes"]
    finally:
        published.close()
