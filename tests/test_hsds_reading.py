"""HSDS services back to offers (``directory_core.hsds.reading``): the directory's own
services lose nothing, other tools' services are read as far as they fit, and what does
not fit is named by its HSDS path."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from directory_core.categories import Taxonomy, default_categories
from directory_core.hsds.mapping import Publication
from directory_core.hsds.reading import ServiceReader
from directory_core.model import Precision, ScheduleRule

from .helpers import make_directory
from .test_hsds_mapping import full_offer


@pytest.fixture
def reader() -> ServiceReader:
    return ServiceReader(Taxonomy(default_categories()))


@pytest.fixture
def pub(tmp_path) -> Publication:
    directory = make_directory(tmp_path)
    try:
        return Publication.of(directory)
    finally:
        directory.close()


def comparable(offer):
    values = dict(offer.__dict__)
    for key in ("created_at", "updated_at"):
        values.pop(key)
    return values


@pytest.mark.parametrize("embed", [True, False])
def test_own_services_come_back_unchanged(pub, embed):
    pub.embed_terms = embed
    pub.plugin_fields = {"awo": ["awo.transport_service"]}
    offer = full_offer(
        extra={"awo": {"transport_service": True}},
        district="hombruch",
        district_manual=True,
        verified_at=datetime(2026, 11, 1, tzinfo=UTC),  # HSDS keeps the date only
    )
    reader = ServiceReader(pub.taxonomy, terms={t["id"]: t for t in pub.terms()})
    back, errors = reader.offer(pub.service(offer))
    assert errors == []
    expected = comparable(offer)
    expected["carrier"] = None  # the import runner sets the carrier
    assert comparable(back) == expected


def test_the_time_of_verification_is_not_kept(pub, reader):
    back, _ = reader.offer(pub.service(full_offer()))
    assert back.verified_at == datetime(2026, 11, 1, tzinfo=UTC)


FOREIGN = {
    "id": "8d3c5a1e-0000-4000-8000-000000000001",
    "name": "Seniorentreff am Markt",
    "description": "Offener Treff",
    "status": "active",
    "email": "treff@example.org",
    "url": "https://example.org",
    "fees_description": "3 € pro Nachmittag",
    "phones": [{"id": "p1", "number": "0234 55 66"}],
    "languages": [{"id": "l1", "name": "Türkisch"}, {"id": "l2", "code": "DE"}],
    "schedules": [
        {
            "id": "s1",
            "freq": "WEEKLY",
            "byday": "MO,WE",
            "opens_at": "09:00:00",
            "closes_at": "12:30",
        },
        {
            "id": "s2",
            "freq": "MONTHLY",
            "byday": "1FR",
            "opens_at": "15:00",
            "closes_at": "17:00",
            "valid_from": "2026-03-01",
        },
        {"id": "s3", "freq": "DAILY", "description": "in den Ferien täglich"},
    ],
    "service_at_locations": [
        {
            "id": "a1",
            "location": {
                "id": "loc1",
                "location_type": "physical",
                "latitude": 51.48,
                "longitude": 7.22,
                "addresses": [
                    {
                        "id": "ad1",
                        "address_1": "Markt 1",
                        "city": "Bochum",
                        "postal_code": "44787",
                        "state_province": "NRW",
                        "country": "DE",
                        "address_type": "physical",
                    }
                ],
                "accessibility": [{"id": "ac1", "description": "Aufzug vorhanden"}],
            },
        }
    ],
    "attributes": [
        {"id": "t1", "taxonomy_term": {"id": "x", "code": "encounter.meeting", "name": "?"}},
        {"id": "t2", "taxonomy_term": {"id": "y", "code": "ZZ-1", "name": "Demenz"}},
        {"id": "t3", "taxonomy_term": {"id": "z", "code": "BD-1800", "name": "Food Pantries"}},
    ],
}


def test_another_tools_service(reader):
    offer, errors = reader.offer(FOREIGN)
    assert errors == []
    assert (offer.id, offer.external_id) == (FOREIGN["id"], FOREIGN["id"])
    assert (offer.title, offer.kind, offer.status) == (
        "Seniorentreff am Markt",
        "service",
        "active",
    )
    assert offer.contact.phone == "0234 55 66"
    assert offer.languages == ["tr", "de"]
    assert offer.cost.free_of_charge is False and offer.cost.note == "3 € pro Nachmittag"
    assert offer.schedule.rules == [
        ScheduleRule("mon", "09:00", "12:30"),
        ScheduleRule("wed", "09:00", "12:30"),
        ScheduleRule("fri", "15:00", "17:00", "monthly", weeks_of_month=[1]),
    ]
    assert offer.schedule.valid_from == date(2026, 3, 1)
    assert offer.schedule.note == "in den Ferien täglich"  # DAILY has no place: kept as text
    assert (offer.address.street, offer.address.postcode, offer.address.city) == (
        "Markt 1",
        "44787",
        "Bochum",
    )
    assert offer.location.precision == Precision.MANUAL
    assert offer.accessibility.note == "Aufzug vorhanden"
    # a code of ours and a label of ours are categories; an unknown term is not
    assert offer.categories == ["encounter.meeting", "dementia"]


def test_the_default_kind_is_a_setting():
    reader = ServiceReader(Taxonomy(default_categories()), default_kind="meeting_place")
    assert reader.offer(FOREIGN)[0].kind == "meeting_place"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"id": None}, "id"),
        ({"assured_date": "gestern"}, "assured_date"),
        (
            {
                "schedules": [
                    {
                        "id": "s",
                        "freq": "WEEKLY",
                        "byday": "XX",
                        "opens_at": "9:00",
                        "closes_at": "10:00",
                    }
                ]
            },
            "schedules[0].byday",
        ),
        ({"schedules": [{"id": "s", "freq": "WEEKLY"}]}, "schedules[0]"),
        ({"schedules": [{"id": "s", "valid_from": "März"}]}, "schedules[0].valid_from"),
        ({"languages": [{"id": "l"}]}, "languages[0]"),
        ({"attributes": ["x"]}, "attributes[0]"),
    ],
)
def test_what_cannot_be_read_is_named(reader, change, field):
    offer, errors = reader.offer({**FOREIGN, **change})
    assert offer is None
    assert field in [e.field for e in errors]


def test_a_service_that_is_no_object(reader):
    assert reader.offer(["x"])[1][0].message == "must be an object, got list"


def test_inactive_services_are_archived(reader):
    for status in ("inactive", "defunct", "temporarily closed"):
        assert reader.offer({**FOREIGN, "status": status})[0].status == "archived"
