"""The CSV importer and the column mapping it shares with the other importers."""

from __future__ import annotations

import types
from datetime import UTC, date, datetime

import pytest

from directory_core import hookimpl
from directory_core.custom_fields import CustomField
from directory_core.importers.base import SourceError
from directory_core.importers.csv_importer import CsvImporter, sniff_delimiter
from directory_core.importing import run_import
from directory_core.model import Precision, ScheduleRule

from .import_fixtures import CSV_HEADER, CSV_SETTINGS, csv_row, directories, write_csv


def fields_plugin():
    """A plugin with one custom field of each convertible type (namespace test_fields)."""

    @hookimpl
    def register_custom_fields(register):
        register(CustomField("transport_service", "boolean", "Fahrdienst", filterable=True))
        register(CustomField("places", "integer", "Plätze"))
        register(CustomField("fee", "decimal", "Gebühr"))
        register(CustomField("since", "date", "Seit"))
        register(CustomField("zone", "enum", "Zone", values=("nord", "sued")))
        register(CustomField("topics", "enum_list", "Themen", values=("music", "sport", "art")))

    return "test-fields", types.SimpleNamespace(register_custom_fields=register_custom_fields)


@pytest.fixture
def make_directory(tmp_path, monkeypatch):
    with directories(tmp_path, monkeypatch) as make:
        yield make


def read(directory, source, carrier="awo"):
    """The records of ``source`` as the csv importer yields them."""
    settings = dict(directory.instance.importers.get("csv", {}))
    settings.update(settings.pop("carriers", {}).get(carrier, {}))
    return list(CsvImporter(carrier, settings, directory).read(source))


def test_the_documented_mapping(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    source = write_csv(
        tmp_path / "a.csv",
        [
            ["17", "Demenzcafé Hörde", "Demenzgruppe", "dementia.groups; relief.family_carers",
             "Hörder Bahnhofstraße 16", "44263", "Dortmund", "jeden 2. Dienstag 14-16 Uhr"],
        ],
    )  # fmt: skip
    [record] = read(directory, source)
    assert record.location == "row 2" and record.errors == []
    offer = record.offer
    assert (offer.external_id, offer.title, offer.kind) == (
        "17",
        "Demenzcafé Hörde",
        "dementia_group",
    )
    assert offer.categories == ["dementia.groups", "relief.family_carers"]
    assert offer.address.one_line() == "Hörder Bahnhofstraße 16, 44263 Dortmund"
    assert offer.schedule.rules == [
        ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2])
    ]
    report = run_import(directory, "awo", "csv", source)
    stored = directory.get(report.created[0].id)
    assert stored.location.precision == Precision.POSTCODE and stored.district == "hoerde"


def test_every_field_and_custom_field_type(make_directory, tmp_path):
    directory = make_directory(plugins=[fields_plugin()])
    header = [
        "external_id",
        "title",
        "kind",
        "description",
        "categories",
        "district",
        "street",
        "postcode",
        "city",
        "lat",
        "lon",
        "phone",
        "email",
        "website",
        "channels",
        "languages",
        "schedule",
        "schedule_note",
        "valid_from",
        "valid_until",
        "wheelchair",
        "hearing_loop",
        "easy_language",
        "accessibility_note",
        "free_of_charge",
        "cost_note",
        "target_groups",
        "verified_at",
        "status",
        "extra.test_fields.transport_service",
        "extra.test_fields.places",
        "extra.test_fields.fee",
        "extra.test_fields.since",
        "extra.test_fields.zone",
        "extra.test_fields.topics",
    ]
    row = [
        "a-1", "Treff", "Begegnungsstätte", "Beispieldaten", "Begegnung und Geselligkeit, Kultur",
        "Hörde", "Hauptstraße 1", "44263", "Dortmund", "51,4847", "7.4996", "0231 123456",
        "treff@beispiel.invalid", "https://beispiel.invalid", "vor Ort; Telefon; online",
        "Deutsch, tr", "Mo, Mi 9-12", "nicht in den Ferien", "01.02.2026", "2026-12-31", "x",
        "nein", "JA", "Rampe", "false", "2 €", "Ältere Menschen; Angehörige", "15.01.2026",
        "aktiv", "yes", "12", "3,50", "1.1.2020", "Nord", "music; Sport",
    ]  # fmt: skip
    source = write_csv(tmp_path / "all.csv", [row], header=header, delimiter=",")
    [record] = read(directory, source)
    assert record.errors == []
    offer = record.offer
    assert offer.kind == "meeting_place" and offer.description == "Beispieldaten"
    assert offer.categories == ["encounter.meeting", "encounter.culture"]
    assert (offer.district, offer.district_manual) == ("hoerde", True)
    assert (offer.location.lat, offer.location.lon) == (51.4847, 7.4996)
    assert offer.location.precision == Precision.MANUAL
    assert offer.contact.phone == "0231 123456"
    assert offer.channels == ["in_person", "phone", "online"]
    assert offer.languages == ["de", "tr"]
    assert [r.weekday for r in offer.schedule.rules] == ["mon", "wed"]
    assert offer.schedule.note == "nicht in den Ferien"
    assert (offer.schedule.valid_from, offer.schedule.valid_until) == (
        date(2026, 2, 1),
        date(2026, 12, 31),
    )
    a = offer.accessibility
    assert (a.wheelchair, a.hearing_loop, a.easy_language, a.note) == (True, False, True, "Rampe")
    assert (offer.cost.free_of_charge, offer.cost.note) == (False, "2 €")
    assert offer.target_groups == ["Ältere Menschen", "Angehörige"]
    assert offer.verified_at == datetime(2026, 1, 15, tzinfo=UTC)
    assert offer.status == "active"
    assert offer.extra == {
        "test_fields": {
            "transport_service": True,
            "places": 12,
            "fee": "3.50",
            "since": "2020-01-01",
            "zone": "nord",
            "topics": ["music", "sport"],
        }
    }
    report = run_import(directory, "awo", "csv", source)
    assert report.counts()["created"] == 1, report.rejected
    assert directory.get(report.created[0].id).extra == offer.extra


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("wheelchair", "vielleicht", "column 'wheelchair': must be ja or nein"),
        ("lat", "nördlich", "column 'lat': must be a number, got 'nördlich'"),
        ("lat", "95", "column 'lat': must be between -90 and 90, got '95'"),
        ("valid_from", "31.02.2026", "column 'valid_from': must be a date like 31.12.2026"),
        ("email", "kein.at.zeichen", "column 'email': must be an e-mail address"),
        ("website", "www.beispiel.de", "column 'website': must be an http(s) address"),
        ("phone", "ruf an!", "column 'phone': may hold only digits"),
        ("channels", "Brieftaube", "column 'channels': unknown channel 'Brieftaube'"),
        ("languages", "Klingonisch", "column 'languages': unknown language 'Klingonisch'"),
        ("status", "weg", "column 'status': unknown status 'weg'"),
        ("district", "Atlantis", "column 'district': unknown district 'Atlantis'; districts: "),
        ("extra.test_fields.places", "zwölf", "column 'extra.test_fields.places': must be a "
         "whole number, got 'zwölf'"),
        ("extra.test_fields.fee", "3 Euro", "must be a number, got '3 Euro'"),
        ("extra.test_fields.since", "gestern", "must be a date like 31.12.2026"),
        ("extra.test_fields.zone", "west", "must be one of nord, sued, got 'west'"),
        ("extra.test_fields.topics", "music; chess", "must contain only music, sport, art, got "
         "'chess'"),
        ("extra.test_fields.transport_service", "vielleicht", "must be ja or nein"),
    ],
)  # fmt: skip
def test_each_problem_names_field_and_column(make_directory, tmp_path, column, cell, message):
    directory = make_directory(plugins=[fields_plugin()])
    header = ["external_id", "title", "kind", column]
    source = write_csv(tmp_path / "a.csv", [["1", "Treff", "Verein", cell]], header=header)
    [record] = read(directory, source)
    assert record.offer is None
    [error] = record.errors
    assert error.field == column
    assert message in error.message


def test_postcodes(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    rows = [csv_row(1, PLZ=" 44263 "), csv_row(2, PLZ="01067"), csv_row(3, PLZ="4426")]
    records = read(directory, write_csv(tmp_path / "a.csv", rows))
    assert [r.offer.address.postcode for r in records[:2]] == ["44263", "01067"]
    assert [str(e) for e in records[2].errors] == [
        "postcode: column 'PLZ': must be five digits, got '4426'"
    ]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_the_delimiter_is_sniffed(make_directory, tmp_path, delimiter):
    settings = {k: v for k, v in CSV_SETTINGS.items() if k != "delimiter"}
    directory = make_directory(importers={"csv": settings})
    rows = [csv_row(1, Kategorien="encounter.meeting; encounter.culture"), csv_row(2)]
    source = write_csv(tmp_path / "a.csv", rows, delimiter=delimiter)
    records = read(directory, source)
    assert [r.offer.external_id for r in records] == ["1", "2"]
    assert records[0].offer.categories == ["encounter.meeting", "encounter.culture"]


def test_sniff_delimiter_ignores_quoted_text():
    assert sniff_delimiter('"Name, Vorname";PLZ;Ort') == ";"
    assert sniff_delimiter("Name") == ","
    assert sniff_delimiter("a\tb\tc,d") == "\t"


def test_encoding_setting(make_directory, tmp_path):
    settings = {**CSV_SETTINGS, "encoding": "cp1252"}
    directory = make_directory(importers={"csv": settings})
    source = write_csv(
        tmp_path / "a.csv", [csv_row(1, Angebot="Begegnungsstätte Hörde")], encoding="cp1252"
    )
    [record] = read(directory, source)
    assert record.offer.title == "Begegnungsstätte Hörde"
    assert record.offer.address.street == "Hauptstraße 1"


def test_a_byte_order_mark_is_dropped(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    source = write_csv(tmp_path / "a.csv", [csv_row(1)], encoding="utf-8-sig")
    assert read(directory, source)[0].offer.external_id == "1"


def test_rows_are_numbered_as_in_a_spreadsheet(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    rows = [
        csv_row(1, Angebot="Treff mit\nzwei Zeilen"),  # one row, two lines of the file
        ["", "", "", "", "", "", "", ""],  # an empty row is skipped, still counted
        csv_row(3, PLZ="x"),
        csv_row(4) + ["", ""],  # empty cells past the header are fine
        csv_row(5) + ["überzählig"],
        csv_row(6)[:3],  # a short row: the missing cells are empty
    ]
    records = read(directory, write_csv(tmp_path / "a.csv", rows))
    assert [r.location for r in records] == ["row 2", "row 4", "row 5", "row 6", "row 7"]
    assert records[0].offer.title == "Treff mit\nzwei Zeilen"
    assert records[1].errors[0].message == "column 'PLZ': must be five digits, got 'x'"
    assert records[2].offer is not None
    assert records[3].errors[0].field == "row"
    assert "has 9 cells but the header names 8 columns" in records[3].errors[0].message
    assert records[4].offer.address.postcode == ""


def test_header_names_ignore_case_and_spaces(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    header = [f"  {name.upper()} " for name in CSV_HEADER]
    [record] = read(directory, write_csv(tmp_path / "a.csv", [csv_row(1)], header=header))
    assert record.offer.address.postcode == "44263"


def test_missing_and_doubled_columns(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    header = ["Nr", "Art", "Kategorien", "Straße", "Ort", "Zeiten"]
    source = write_csv(tmp_path / "a.csv", [["1"] * 6], header=header)
    with pytest.raises(SourceError) as caught:
        read(directory, source)
    assert str(caught.value) == (
        f"{source}: missing column(s) 'Angebot' (title), 'PLZ' (postcode); the header has: "
        "'Nr', 'Art', 'Kategorien', 'Straße', 'Ort', 'Zeiten' (map the fields to other "
        "columns in the instance file: [importers.csv.columns])"
    )
    source = write_csv(tmp_path / "b.csv", [csv_row(1) + ["2"]], header=CSV_HEADER + ["PLZ"])
    with pytest.raises(SourceError, match="column 'PLZ' appears twice in the header"):
        read(directory, source)


def test_without_a_mapping_fields_are_read_from_columns_of_their_name(make_directory, tmp_path):
    directory = make_directory(importers={"csv": {"defaults": {"city": "Dortmund"}}})
    source = write_csv(
        tmp_path / "a.csv",
        [["1", "Treff", "meeting_place", "44263", ""]],
        header=["external_id", "title", "kind", "postcode", "city"],
        delimiter=",",
    )
    [record] = read(directory, source)
    assert record.offer.address.city == "Dortmund"  # the default fills the empty cell
    # only external_id, title and kind are required
    source = write_csv(tmp_path / "b.csv", [["1", "Treff"]], header=["external_id", "title"])
    with pytest.raises(SourceError, match=r"missing column\(s\) 'kind' \(kind\)"):
        read(directory, source)


def test_defaults_and_optional_columns(make_directory, tmp_path):
    settings = {
        "columns": {"external_id": "Nr", "title": "Angebot", "phone": "Telefon"},
        "defaults": {"kind": "service", "categories": "care.outpatient"},
        "optional_columns": ["phone"],
    }
    directory = make_directory(importers={"csv": settings})
    source = write_csv(tmp_path / "a.csv", [["1", "Pflegedienst"]], header=["Nr", "Angebot"])
    [record] = read(directory, source)
    assert (record.offer.kind, record.offer.categories) == ("service", ["care.outpatient"])


def test_per_carrier_settings_override(make_directory, tmp_path):
    settings = {
        **CSV_SETTINGS,
        "carriers": {"diakonie": {"columns": {**CSV_SETTINGS["columns"], "title": "Titel"}}},
    }
    directory = make_directory(importers={"csv": settings})
    header = [("Titel" if c == "Angebot" else c) for c in CSV_HEADER]
    source = write_csv(tmp_path / "a.csv", [csv_row(1)], header=header)
    report = run_import(directory, "diakonie", "csv", source)
    assert report.created[0].title == "Seniorentreff 1"
    with pytest.raises(SourceError, match="missing column"):
        run_import(directory, "awo", "csv", source)


def test_bad_settings_are_source_errors(make_directory, tmp_path):
    source = write_csv(tmp_path / "a.csv", [csv_row(1)])
    for settings, message in [
        ({"columns": {"titel": "Angebot"}}, r"\[importers.csv.columns\]: unknown field\(s\) titel"),
        ({"columns": {"extra.awo.x": "X"}}, r"unknown field\(s\) extra.awo.x"),
        ({"values": {"kind": "Demenzgruppe"}}, r"\[importers.csv.values\] kind: must be a table"),
        ({"delimiter": ";;"}, "delimiter must be one character"),
        (
            {"delimeter": ";", "encoding": "latin-1"},
            r"\[importers.csv\]: unknown setting\(s\) delimeter; settings: columns, defaults, "
            "delimiter, encoding, optional_columns, values",
        ),
    ]:
        directory = make_directory(importers={"csv": settings})
        with pytest.raises(SourceError, match=message):
            read(directory, source)


def test_count_is_the_number_of_offer_rows(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    rows = [csv_row(1), ["", "", "", "", "", "", "", ""], csv_row(2), csv_row(3)]
    source = write_csv(tmp_path / "a.csv", rows)
    assert CsvImporter("awo", CSV_SETTINGS, directory).count(source) == 3


def test_empty_and_missing_files(make_directory, tmp_path):
    directory = make_directory(importers={"csv": CSV_SETTINGS})
    (tmp_path / "empty.csv").write_text("\n\n", encoding="utf-8")
    with pytest.raises(SourceError, match="the file is empty"):
        read(directory, str(tmp_path / "empty.csv"))
    with pytest.raises(SourceError, match="does not exist"):
        read(directory, str(tmp_path / "nothing.csv"))
