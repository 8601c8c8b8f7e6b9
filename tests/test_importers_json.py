"""The JSON importer: the directory's own format, nested or flat, with line numbers."""

from __future__ import annotations

import json
import types
from datetime import UTC, date, datetime

import pytest

from directory_core import hookimpl
from directory_core.custom_fields import CustomField
from directory_core.importers.base import SourceError
from directory_core.importers.json_importer import JsonImporter, array_lines, entries, flatten
from directory_core.importing import run_import
from directory_core.model import Precision, ScheduleRule

from .import_fixtures import directories

FULL = {
    "external_id": "awo-17",
    "title": "Demenzcafé Hörde",
    "kind": "dementia_group",
    "description": "Beispieldaten",
    "categories": ["dementia.groups", "relief.family_carers"],
    "district": "hoerde",
    "address": {"street": "Hörder Bahnhofstraße 16", "postcode": "44263", "city": "Dortmund"},
    "location": {"lat": 51.4847, "lon": 7.4996},
    "contact": {
        "phone": "0231 1234567",
        "email": "cafe@beispiel.invalid",
        "website": "https://beispiel.invalid",
    },
    "channels": ["in_person", "phone"],
    "languages": ["de", "tr"],
    "schedule": {
        "rules": [
            "jeden 2. Di 14-16 Uhr",
            {"weekday": "fri", "start": "10:00", "end": "12:00"},
        ],
        "valid_from": "2026-01-01",
        "valid_until": "31.12.2026",
        "note": "nicht in den Ferien",
    },
    "accessibility": {
        "wheelchair": True,
        "hearing_loop": False,
        "easy_language": True,
        "note": "Rampe",
    },
    "cost": {"free_of_charge": False, "note": "2 € für Kaffee"},
    "target_groups": ["Menschen mit Demenz", "Angehörige"],
    "verified_at": "2026-11-01T10:00:00+00:00",
    "status": "active",
    "extra": {"awo": {"transport_service": True}},
}


def awo_fields():
    @hookimpl
    def register_custom_fields(register):
        register(CustomField("transport_service", "boolean", "Fahrdienst"))

    return "awo", types.SimpleNamespace(register_custom_fields=register_custom_fields)


@pytest.fixture
def directory(tmp_path, monkeypatch):
    with directories(tmp_path, monkeypatch) as make:
        yield make(plugins=[awo_fields()])


def write(path, data, indent=2):
    path.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
    return str(path)


def read(directory, source):
    return list(JsonImporter("awo", {}, directory).read(source))


def test_the_full_nested_format(directory, tmp_path):
    [record] = read(directory, write(tmp_path / "a.json", {"offers": [FULL]}))
    assert record.errors == []
    offer = record.offer
    assert offer.external_id == "awo-17" and offer.kind == "dementia_group"
    assert offer.address.one_line() == "Hörder Bahnhofstraße 16, 44263 Dortmund"
    assert offer.location.precision == Precision.MANUAL
    assert offer.contact.website == "https://beispiel.invalid"
    assert offer.schedule.rules == [
        ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2]),
        ScheduleRule("fri", "10:00", "12:00"),
    ]
    assert offer.schedule.valid_until == date(2026, 12, 31)
    assert offer.schedule.note == "nicht in den Ferien"
    assert offer.accessibility.easy_language and not offer.cost.free_of_charge
    assert offer.verified_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert offer.extra == {"awo": {"transport_service": True}}
    report = run_import(directory, "awo", "json", str(tmp_path / "a.json"))
    assert report.counts()["created"] == 1, report.rejected
    stored = directory.get(report.created[0].id)
    assert stored.schedule.rules == offer.schedule.rules
    assert run_import(directory, "awo", "json", str(tmp_path / "a.json")).unchanged == 1


def test_a_plain_list_with_flat_keys(directory, tmp_path):
    offers = [
        {"external_id": "1", "title": "Treff", "kind": "Begegnungsstätte", "postcode": 44263,
         "schedule": "Mo, Mi 9-12", "wheelchair": "ja", "phone": "0231 1"},
        {"external_id": 2, "title": "Verein", "kind": "association", "city": "Dortmund"},
    ]  # fmt: skip
    records = read(directory, write(tmp_path / "a.json", offers))
    assert [r.location for r in records] == ["offers[0] (line 2)", "offers[1] (line 11)"]
    first, second = (r.offer for r in records)
    assert first.kind == "meeting_place" and first.address.postcode == "44263"
    assert [r.weekday for r in first.schedule.rules] == ["mon", "wed"]
    assert first.accessibility.wheelchair
    assert second.external_id == "2"


def service(number, **fields):
    return {"external_id": str(number), "title": "x", "kind": "service", **fields}


def test_rejections_name_entry_line_key_and_reason(directory, tmp_path):
    offers = [
        FULL,
        service(2, address={"postcode": "4426"}),
        {"external_id": "3", "titel": "Tippfehler", "kind": "service"},
        service(4, extra={"awo": {"transport_service": "vielleicht"}}),
        service(5, schedule={"rules": [{"day": "mon"}]}),
        service(6, schedule="Di", location={"lat": 51.5}),
        "kein Objekt",
        service(8, postcode="44263", address={"postcode": "44263"}),
    ]
    # one offer per line: offers[i] is on line i + 2
    text = '{"note": "Beispieldaten", "offers": [\n'
    text += ",\n".join(json.dumps(o, ensure_ascii=False) for o in offers) + "\n]}"
    (tmp_path / "a.json").write_text(text, encoding="utf-8")
    report = run_import(directory, "awo", "json", str(tmp_path / "a.json"))
    assert report.counts()["created"] == 1
    assert [str(r) for r in report.rejected] == [
        "offers[1] (line 3), field postcode: key 'address.postcode': must be five digits, "
        "got '4426'",
        "offers[2] (line 4), field titel: unknown key",
        "offers[3] (line 5), field extra.awo.transport_service: key "
        "'extra.awo.transport_service': must be ja or nein (also yes/no, true/false, x, 1/0), "
        "got 'vielleicht'",
        "offers[4] (line 6), field schedule: key 'schedule.rules': a rule object has the keys "
        "end, frequency, interval, start, weekday, weeks_of_month (weekday, start, end "
        "required), got day",
        "offers[5] (line 7), field schedule: key 'schedule': cannot read 'Di': no time range "
        "(write e.g. 'Di 14:00-16:00' or 'jeden 2. Dienstag 14-16 Uhr')",
        "offers[5] (line 7), field lon: lat is given, so lon is needed too",
        "offers[6] (line 8), field -: must be an object, got 'kein Objekt'",
        "offers[7] (line 9), field address.postcode: postcode given twice",
    ]


def test_locations_of_pretty_printed_files(directory, tmp_path):
    source = write(tmp_path / "a.json", {"offers": [service(1), service(2)]}, indent=2)
    assert [r.location for r in read(directory, source)] == [
        "offers[0] (line 3)",
        "offers[1] (line 8)",
    ]


def test_invalid_json_names_line_and_column(directory, tmp_path):
    (tmp_path / "a.json").write_text('{"offers": [\n  {"title": "x",}\n]}', encoding="utf-8")
    with pytest.raises(
        SourceError, match=r"not valid JSON at line 2, column 17: Expecting property"
    ):
        read(directory, str(tmp_path / "a.json"))


@pytest.mark.parametrize(
    ("data", "found"),
    [({"angebote": []}, "an object with the keys 'angebote'"), ("x", "a JSON str")],
)
def test_the_top_level_must_hold_the_offers(directory, tmp_path, data, found):
    with pytest.raises(
        SourceError,
        match=f"expected a list of entries or an object with a list 'offers', got {found}",
    ):
        read(directory, write(tmp_path / "a.json", data))


def test_array_lines_and_flatten():
    text = '{"a": {"b": [1, 2]},\n "offers": [\n  {"x": "]"},\n\n  [1,\n2], 3]}'
    assert array_lines(text, "offers") == [3, 5, 6]
    assert array_lines("[1,\n 2 , {}]", None) == [1, 2, 2]
    assert array_lines("[]", None) == []
    twice = '{"offers": [1],\n "offers": [{"title": "x"}, 2]}'  # json.loads keeps the last
    assert [location for location, _ in entries(twice, "t.json", "offers")] == [
        "offers[0]",
        "offers[1]",
    ]
    assert flatten(
        {"address": {"city": "D"}, "extra": {"awo": {"x": {"y": 1}}}, "other": {"z": 1}}
    ) == {
        "address.city": "D",
        "extra.awo.x": {"y": 1},
        "other": {"z": 1},
    }


def test_count_and_encoding(directory, tmp_path):
    source = write(tmp_path / "a.json", [FULL, FULL])
    assert JsonImporter("awo", {}, directory).count(source) == 2
    (tmp_path / "latin.json").write_bytes('[{"title": "Stätte"}]'.encode("cp1252"))
    with pytest.raises(SourceError, match="line 1 is not valid utf-8"):
        read(directory, str(tmp_path / "latin.json"))
    [record] = list(
        JsonImporter("awo", {"encoding": "cp1252"}, directory).read(str(tmp_path / "latin.json"))
    )
    assert [str(e) for e in record.errors] == [
        "external_id: key 'external_id' is empty",
        "kind: key 'kind' is empty",
    ]
