"""The three example carrier plugins in plugins/, registered without installing them."""

from __future__ import annotations

import functools
from datetime import date
from http.server import SimpleHTTPRequestHandler

import pytest
from directory_search.base import ExtraFilter, SearchQuery

from directory_core.importers.base import SourceError
from directory_core.importing import run_import
from directory_core.model import Address, Contact, Offer, ScheduleRule
from directory_core.validation import OfferValidationError

from .import_fixtures import (
    AWO_SAMPLE,
    CARITAS_SAMPLE,
    DIAKONIE_SAMPLE,
    directories,
    load_plugin,
    recorder,
)
from .local_http import local_http_server


@pytest.fixture
def make_directory(tmp_path, monkeypatch):
    with directories(tmp_path, monkeypatch) as make:
        yield make


def awo():
    return "awo", load_plugin("awo_spreadsheet", "directory_plugin_awo")


def diakonie():
    return "diakonie", load_plugin("diakonie_feed", "directory_plugin_diakonie")


def caritas():
    return "caritas-demenz", load_plugin("caritas_dementia_ical", "directory_plugin_caritas_demenz")


# -- AWO: spreadsheet -------------------------------------------------------------------


def test_awo_sample_spreadsheet(make_directory):
    name, plugin = recorder()
    directory = make_directory(plugins=[awo(), (name, plugin)])
    assert directory.registry.importer_plugins["awo-xlsx"] == "awo"
    report = run_import(directory, "awo", "awo-xlsx", str(AWO_SAMPLE))
    assert report.counts() == {
        "created": 10,
        "updated": 0,
        "unchanged": 0,
        "archived": 0,
        "rejected": 8,
    }
    assert sorted(str(r) for r in report.rejected) == [
        "row 12, field postcode: column 'PLZ': must be five digits, got '4426'",
        "row 13, field kind: column 'Art': unknown kind 'Tanzkurs'; allowed: service, "
        "association, dementia_group, training_offer, advice_office, meeting_place or Dienst, "
        "Verein, Demenzgruppe, Fortbildung, Seniorenbüro, Begegnungsstätte",
        "row 14, field title: column 'Angebot' is empty",
        "row 15, field external_id: duplicate 'AWO-102', first used at row 3",
        "row 16, field schedule: column 'Zeiten': cannot read 'dienstags nachmittags': no time "
        "range (write e.g. 'Di 14:00-16:00' or 'jeden 2. Dienstag 14-16 Uhr')",
        "row 17, field contact.phone: an AWO service must give a phone number (rule of the awo "
        "plugin)",
        "row 18, field extra.awo.transport_service: column 'Fahrdienst': must be ja or nein "
        "(also yes/no, true/false, x, 1/0), got 'vielleicht'",
        "row 19, field extra.awo.meals_on_wheels_zone: column 'Essen-auf-Rädern-Zone': must be "
        "one of nord, sued, ost, west, mitte, got 'Nordost'",
    ]
    by_id = {o.external_id: directory.get(o.id) for o in report.created}
    meals = by_id["AWO-101"]
    assert meals.kind == "service" and meals.categories == ["care.meals"]
    assert meals.extra == {"awo": {"transport_service": False, "meals_on_wheels_zone": "sued"}}
    assert (meals.cost.free_of_charge, meals.cost.note) == (False, "6,50 € pro Mahlzeit")
    assert meals.district == "hoerde" and meals.address.postcode == "44263"
    cafe = by_id["AWO-102"]
    assert cafe.kind == "dementia_group" and cafe.address.postcode == "44139"  # a 44139.0 cell
    assert cafe.schedule.rules == [
        ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2])
    ]
    assert cafe.languages == ["de", "tr"] and cafe.extra == {"awo": {"transport_service": True}}
    assert all(o.description.startswith("Beispieldaten (erfunden)") for o in by_id.values())
    assert plugin.calls == [("created", sorted(by_id), True)]
    # the custom fields are filters of the search index
    found = directory.search(SearchQuery(extra=(ExtraFilter("awo.transport_service", "eq", True),)))
    assert sorted(h.id for h in found.hits) == sorted(
        o.id for o in by_id.values() if o.extra["awo"]["transport_service"]
    )
    assert run_import(directory, "awo", "awo-xlsx", str(AWO_SAMPLE)).counts()["unchanged"] == 10


def test_awo_custom_fields_are_validated_on_every_write(make_directory):
    directory = make_directory(plugins=[awo()])
    offer = Offer(
        title="Mittagstisch",
        kind="service",
        carrier="awo",
        contact=Contact("0231 1"),
        address=Address(postcode="44263"),
    )
    offer.extra = {"awo": {"transport_service": "ja", "meals_on_wheels_zone": "nordost"}}
    with pytest.raises(OfferValidationError) as caught:
        directory.save([offer])
    assert [str(e) for e in caught.value.errors] == [
        "extra.awo.transport_service: must be true or false, got 'ja'",
        "extra.awo.meals_on_wheels_zone: must be one of nord, sued, ost, west, mitte, got "
        "'nordost'",
    ]
    offer.extra = {"awo": {"meals_on_wheels_zone": "nord"}}
    offer.kind = "meeting_place"  # the zone is only for services
    with pytest.raises(OfferValidationError, match="does not apply to a meeting_place of awo"):
        directory.save([offer])
    offer.kind, offer.contact.phone = "service", ""
    with pytest.raises(OfferValidationError, match="contact.phone: an AWO service must give"):
        directory.save([offer])
    offer.carrier = "drk"  # the phone rule is the AWO's own
    directory.save([offer])


def test_awo_columns_can_be_renamed_in_the_instance_file(make_directory, tmp_path):
    import openpyxl

    book = openpyxl.load_workbook(AWO_SAMPLE)
    book["Angebote"]["H1"] = "Telefonnummer"
    book.save(tmp_path / "neu.xlsx")
    book.close()
    directory = make_directory(plugins=[awo()])
    with pytest.raises(SourceError, match=r"missing column\(s\) 'Telefon' \(phone\)"):
        run_import(directory, "awo", "awo-xlsx", str(tmp_path / "neu.xlsx"))
    directory.instance.importers = {"awo-xlsx": {"columns": {"phone": "Telefonnummer"}}}
    report = run_import(directory, "awo", "awo-xlsx", str(tmp_path / "neu.xlsx"))
    assert report.counts()["created"] == 10


# -- Diakonie: JSON feed ------------------------------------------------------------------

DIAKONIE_REJECTIONS = [
    "angebote[6] (line 90), field title: key 'titel' is empty",
    "angebote[7] (line 98), field kind: key 'typ': unknown kind 'Chorprobe'; allowed: service, "
    "association, dementia_group, training_offer, advice_office, meeting_place or Dienst, "
    "Verein, Demenzgruppe, Fortbildung, Seniorenbüro, Begegnungsstätte",
    "angebote[8] (line 106), field schedule: key 'termine': cannot read 'nach Absprache': no "
    "time range (write e.g. 'Di 14:00-16:00' or 'jeden 2. Dienstag 14-16 Uhr')",
    "angebote[9] (line 114), field postcode: key 'adresse.plz': must be five digits, got '443'",
    "angebote[10] (line 122), field extra.diakonie.parish: key 'gemeinde': must be text, got "
    "['Ev. Kirchengemeinde Beispielfeld', 'Ev. Kirchengemeinde Musterau']",
    "angebote[11] (line 131), field external_id: key 'id' is empty",
]


def check_diakonie(directory, report):
    assert report.counts()["created"] == 6 and report.counts()["rejected"] == 6
    assert [str(r) for r in report.rejected] == DIAKONIE_REJECTIONS
    by_id = {o.external_id: directory.get(o.id) for o in report.created}
    first = by_id["D-2001"]
    assert first.kind == "meeting_place" and first.categories == ["encounter.meeting"]
    assert first.schedule.rules == [
        ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2])
    ]
    assert first.extra == {"diakonie": {"parish": "Ev. Kirchengemeinde Beispielfeld"}}
    assert by_id["D-2004"].categories == ["encounter.pastoral_care"]  # the plugin's category
    assert by_id["D-2005"].extra == {}  # an empty "gemeinde" is no value
    # the parish is searchable text
    found = directory.search(SearchQuery(text="Probstfeld"))
    assert [h.id for h in found.hits] == [by_id["D-2004"].id]


def test_diakonie_sample_feed_from_a_file(make_directory):
    directory = make_directory(plugins=[diakonie()])
    assert directory.taxonomy.label("encounter.pastoral_care") == "Seelsorge und Gottesdienste"
    report = run_import(directory, "diakonie", "diakonie-json", str(DIAKONIE_SAMPLE))
    check_diakonie(directory, report)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


@pytest.fixture
def feed_server():
    """An http server on 127.0.0.1 serving plugins/diakonie_feed/sample/."""
    handler = functools.partial(QuietHandler, directory=str(DIAKONIE_SAMPLE.parent))
    with local_http_server(handler) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def test_diakonie_sample_feed_from_a_url(make_directory, feed_server):
    directory = make_directory(plugins=[diakonie()])
    url = f"{feed_server}/{DIAKONIE_SAMPLE.name}"
    report = run_import(directory, "diakonie", "diakonie-json", url, full=True)
    check_diakonie(directory, report)
    assert directory.store.count_offers() == 6
    with pytest.raises(SourceError, match=r"cannot download .*/fehlt.json: .*404"):
        run_import(directory, "diakonie", "diakonie-json", f"{feed_server}/fehlt.json")


# -- Caritas: iCalendar -------------------------------------------------------------------


def test_caritas_sample_calendar(make_directory):
    directory = make_directory(plugins=[caritas()])
    assert {f.path for f in directory.custom_fields} == {"caritas_demenz.registration_required"}
    report = run_import(directory, "caritas", "caritas-ical", str(CARITAS_SAMPLE))
    assert report.counts()["created"] == 7 and report.counts()["rejected"] == 5
    assert [str(r) for r in report.rejected] == [
        "event 8 (caritas-dg-901), field schedule: DTSTART is missing: every meeting needs a start",
        "event 9 (caritas-dg-902), field address: LOCATION 'bei Frau Beispiel klingeln' must end "
        "in 'Straße Nr, PLZ Ort' (e.g. 'Gemeindehaus, Clarastraße 5, 44263 Dortmund')",
        "event 10 (caritas-dg-903), field schedule: RRULE FREQ=YEARLY is not supported: only "
        "WEEKLY and MONTHLY meetings can be stored as a schedule",
        "event 11 (caritas-dg-904), field extra.caritas_demenz.registration_required: property "
        "'X-CARITAS-ANMELDUNG': must be ja or nein (also yes/no, true/false, x, 1/0), got "
        "'vielleicht'",
        "event 12 (caritas-dg-905), field extra.caritas_demenz.registration_required: "
        "registration is required, so a phone number or e-mail address to register with is "
        "needed",
    ]
    groups = {o.external_id: directory.get(o.id) for o in report.created}
    assert all(
        g.kind == "dementia_group" and g.categories == ["dementia.groups"] for g in groups.values()
    )
    weekly = groups["caritas-dg-001"]
    assert weekly.title == "Demenzcafé Lindenhof"  # not the moved single meeting
    assert weekly.schedule.rules == [ScheduleRule("tue", "14:30", "16:30")]
    assert weekly.address.one_line() == "Lindenhofweg 5, 44263 Dortmund"
    assert weekly.contact.phone == "0231 77770-301"
    assert weekly.extra == {"caritas_demenz": {"registration_required": True}}
    assert groups["caritas-dg-002"].schedule.rules == [
        ScheduleRule("tue", "15:00", "17:00", "monthly", weeks_of_month=[2])
    ]
    assert groups["caritas-dg-002"].contact.email == "herbstzeitlose@caritas-beispiel.invalid"
    assert groups["caritas-dg-003"].schedule.rules == [
        ScheduleRule("fri", "10:00", "12:00", "monthly", weeks_of_month=[-1])
    ]
    fortnightly = groups["caritas-dg-004"]
    assert fortnightly.schedule.rules == [ScheduleRule("thu", "09:30", "11:30", interval=2)]
    assert (fortnightly.schedule.valid_from, fortnightly.schedule.valid_until) == (
        date(2026, 1, 8),
        date(2026, 12, 17),
    )
    utc = groups["caritas-dg-005"]  # DTSTART 13:00Z in January is 14:00 in Dortmund
    assert utc.schedule.rules == [
        ScheduleRule("mon", "14:00", "16:00", "monthly", weeks_of_month=[1, 3])
    ]
    assert (utc.location.lat, utc.location.lon, utc.location.precision) == (
        51.4761,
        7.4432,
        "manual",
    )
    once = groups["caritas-dg-006"].schedule
    assert once.rules == [ScheduleRule("thu", "15:00", "17:00")]
    assert once.valid_from == once.valid_until == date(2026, 3, 12)
    assert groups["caritas-dg-007"].schedule.valid_until == date(2026, 5, 6)  # COUNT=10


ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//DE\r
BEGIN:VEVENT\r
UID:x-1\r
SUMMARY:Gruppe\r
DTSTART;TZID=Europe/Berlin:20260106T143000\r
DTEND;TZID=Europe/Berlin:20260106T163000\r
{rrule}\r
LOCATION:Musterweg 14\\, 44137 Dortmund\r
END:VEVENT\r
END:VCALENDAR\r
"""


def weekly(day, interval=1):
    return ScheduleRule(day, "14:30", "16:30", interval=interval)


def monthly(day, *weeks):
    return ScheduleRule(day, "14:30", "16:30", "monthly", weeks_of_month=list(weeks))


@pytest.mark.parametrize(
    ("rrule", "rules_or_error"),
    [
        ("RRULE:FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2", [monthly("tue", 2)]),
        ("RRULE:FREQ=WEEKLY", [weekly("tue")]),
        ("RRULE:FREQ=WEEKLY;INTERVAL=3", [weekly("tue", 3)]),
        ("RRULE:FREQ=MONTHLY;BYDAY=-1FR,2TU", [monthly("fri", -1), monthly("tue", 2)]),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,TH", [weekly("mon"), weekly("thu")]),
        ("RRULE:FREQ=DAILY", "RRULE FREQ=DAILY is not supported"),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=6", "BYMONTHDAY is not supported"),
        ("RRULE:FREQ=MONTHLY;INTERVAL=3;BYDAY=1TU", "every 3 months cannot be stored"),
        ("RRULE:FREQ=MONTHLY;BYDAY=TU,TH;BYSETPOS=1", "BYSETPOS with several weekdays"),
        ("RRULE:FREQ=WEEKLY;BYDAY=2TU", "a weekly rule has no positions"),
    ],
)
def test_caritas_recurrence_rules(make_directory, tmp_path, rrule, rules_or_error):
    directory = make_directory(plugins=[caritas()])
    (tmp_path / "a.ics").write_text(ICS.format(rrule=rrule), encoding="utf-8", newline="")
    report = run_import(directory, "caritas", "caritas-ical", str(tmp_path / "a.ics"), dry_run=True)
    if isinstance(rules_or_error, str):
        [rejection] = report.rejected
        assert (rejection.location, rejection.field) == ("event 1 (x-1)", "schedule")
        assert rules_or_error in rejection.reason
    else:
        assert report.rejected == []
        assert report.created[0].schedule.rules == rules_or_error


def test_caritas_not_a_calendar(make_directory, tmp_path):
    directory = make_directory(plugins=[caritas()])
    (tmp_path / "a.ics").write_text("Termine: Dienstag 14 Uhr\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not an iCalendar file"):
        run_import(directory, "caritas", "caritas-ical", str(tmp_path / "a.ics"))


def test_all_three_together(make_directory):
    directory = make_directory(plugins=[awo(), diakonie(), caritas()])
    assert sorted(directory.registry.importers) == [
        "awo-xlsx",
        "caritas-ical",
        "csv",
        "diakonie-json",
        "hsds",
        "json",
        "xlsx",
    ]
    run_import(directory, "awo", "awo-xlsx", str(AWO_SAMPLE))
    run_import(directory, "diakonie", "diakonie-json", str(DIAKONIE_SAMPLE))
    run_import(directory, "caritas", "caritas-ical", str(CARITAS_SAMPLE))
    assert directory.store.count_offers() == 10 + 6 + 7
    # a --full import of one carrier leaves the others alone
    report = run_import(directory, "caritas", "caritas-ical", str(CARITAS_SAMPLE), full=True)
    assert report.counts()["archived"] == 0 and report.counts()["unchanged"] == 7
