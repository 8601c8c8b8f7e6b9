"""Offers as HSDS records (``directory_core.hsds.mapping``): ids, every mapped field, and
strict validity of each form against the official schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from directory_core.hsds.mapping import (
    CATEGORIES_TAG,
    FIELDS_TAG,
    NAMESPACE,
    Publication,
    byday,
    derived_id,
    service_at_location_id,
    service_id,
    service_of_at_location,
)
from directory_core.model import (
    Accessibility,
    Address,
    Contact,
    Cost,
    Location,
    Offer,
    Precision,
    Schedule,
    ScheduleRule,
    new_id,
)

from . import hsds_schemas as hs
from .helpers import make_directory

OFFER_ID = "3f2b8c1e-5d4a-4b6f-9e7d-0a1b2c3d4e5f"


def full_offer(**changes) -> Offer:
    offer = Offer(
        id=OFFER_ID,
        title="Demenzcafé Hörde",
        kind="dementia_group",
        description="Ein offenes Café.",
        carrier="awo",
        categories=["dementia.groups", "relief.family_carers"],
        district="hoerde",
        address=Address("Hörder Bahnhofstraße 16", "44263", "Dortmund"),
        location=Location(51.4847, 7.4996, Precision.ADDRESS),
        contact=Contact("0231 1234567", "cafe@example.org", "https://example.org/cafe"),
        channels=["in_person", "phone"],
        schedule=Schedule(
            rules=[
                ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2, -1]),
                ScheduleRule("fri", "10:00", "12:00", interval=2),
            ],
            valid_from=date(2026, 1, 1),
            valid_until=date(2026, 12, 31),
            note="nicht in den Ferien",
        ),
        languages=["de", "tr"],
        accessibility=Accessibility(wheelchair=True, easy_language=True, note="Rampe"),
        cost=Cost(free_of_charge=False, note="2 € für Kaffee"),
        target_groups=["Menschen mit Demenz", "Angehörige"],
        verified_at=datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        external_id="awo-17",
        updated_at=datetime(2026, 11, 2, 8, 30, 1, 123456, tzinfo=UTC),
    )
    for name, value in changes.items():
        setattr(offer, name, value)
    return offer


@pytest.fixture
def pub(tmp_path) -> Publication:
    directory = make_directory(tmp_path)
    try:
        return Publication.of(directory)
    finally:
        directory.close()


def test_ids_are_stable_uuids():
    assert service_id(OFFER_ID) == OFFER_ID
    other = service_id("known-7")
    assert uuid.UUID(other).version == 5 and other == service_id("known-7")
    assert derived_id(OFFER_ID, "phone") == derived_id(OFFER_ID, "phone")
    for parts in [(OFFER_ID, "phone"), ("dortmund", "term", "x", "ü")]:
        assert derived_id(*parts) == str(uuid.uuid5(NAMESPACE, "/".join(parts)))
    assert derived_id(OFFER_ID, "phone") != derived_id(OFFER_ID, "location")
    at = service_at_location_id(OFFER_ID)
    assert at != OFFER_ID and uuid.UUID(at).version == 4
    assert service_of_at_location(at) == OFFER_ID
    fresh = new_id()  # offers made now have version-7 ids: the mask keeps the version
    assert uuid.UUID(service_at_location_id(fresh)).version == 7
    assert service_of_at_location(service_at_location_id(fresh)) == fresh


def test_service_fields(pub):
    service = pub.service(full_offer())
    assert service["id"] == OFFER_ID
    assert service["organization_id"] == pub.organization_id("awo")
    assert service["name"] == "Demenzcafé Hörde"
    assert (service["url"], service["email"]) == ("https://example.org/cafe", "cafe@example.org")
    assert service["status"] == "active"
    assert service["assured_date"] == "2026-11-01"
    assert service["last_modified"] == "2026-11-02T08:30:01.123Z"
    assert service["phones"] == [
        {"id": derived_id(OFFER_ID, "phone"), "service_id": OFFER_ID, "number": "0231 1234567"}
    ]
    assert [(lang["code"], lang["name"]) for lang in service["languages"]] == [
        ("de", "Deutsch"),
        ("tr", "Türkisch"),
    ]
    assert service["cost_options"] == [
        {
            "id": derived_id(OFFER_ID, "cost_option"),
            "service_id": OFFER_ID,
            "option": "kostenpflichtig",
            "amount_description": "2 € für Kaffee",
        }
    ]
    assert service["organization"]["organization_identifiers"][0]["identifier"] == "awo"
    assert pub.service(full_offer(status="archived"))["status"] == "inactive"


def test_schedules_as_rrule_fields(pub):
    first, second = pub.service(full_offer())["schedules"]
    assert first["freq"] == "MONTHLY" and first["byday"] == "2TU,-1TU"
    assert (first["opens_at"], first["closes_at"]) == ("14:00", "16:00")
    assert first["valid_from"] == "2026-01-01" and first["valid_to"] == "2026-12-31"
    assert first["notes"] == "nicht in den Ferien" and "notes" not in second
    assert "interval" not in first
    assert second["freq"] == "WEEKLY" and second["interval"] == 2 and second["byday"] == "FR"
    assert second["description"] == "alle 2 Wochen Freitag, 10:00–12:00 Uhr"
    assert byday(ScheduleRule("sun", "10:00", "11:00")) == "SU"


def test_a_note_only_schedule_is_kept(pub):
    schedules = pub.service(full_offer(schedule=Schedule(note="nach Vereinbarung")))["schedules"]
    assert schedules == [
        {
            "id": derived_id(OFFER_ID, "schedule", "0"),
            "service_id": OFFER_ID,
            "description": "nach Vereinbarung",
            "notes": "nach Vereinbarung",
        }
    ]


def test_location_address_and_accessibility(pub):
    at = pub.service(full_offer())["service_at_locations"][0]
    location = at["location"]
    assert at["location_id"] == location["id"] and location["location_type"] == "physical"
    assert (location["latitude"], location["longitude"]) == (51.4847, 7.4996)
    address = location["addresses"][0]
    assert (address["address_1"], address["postal_code"], address["city"], address["country"]) == (
        "Hörder Bahnhofstraße 16",
        "44263",
        "Dortmund",
        "DE",
    )
    assert [a["description"] for a in location["accessibility"]] == [
        "rollstuhlgerecht",
        "Leichte Sprache",
    ]
    assert {a["details"] for a in location["accessibility"]} == {"Rampe"}


def test_an_offer_without_a_place_has_a_virtual_location(pub):
    offer = full_offer(address=Address(), location=None)
    location = pub.service(offer)["service_at_locations"][0]["location"]
    assert location["location_type"] == "virtual"
    assert location["url"] == "https://example.org/cafe"
    assert "latitude" not in location and "addresses" not in location


def test_attributes_carry_categories_fields_and_plugin_values(pub):
    offer = full_offer(extra={"awo": {"transport_service": True, "zones": ["sued"]}})
    pub.plugin_fields = {"awo": ["awo.transport_service", "awo.zones"]}
    attributes = pub.service(offer)["attributes"]
    found = [
        (a["taxonomy_term"]["taxonomy"], a["taxonomy_term"]["code"], a.get("value"))
        for a in attributes
    ]
    assert found == [
        (CATEGORIES_TAG, "dementia.groups", None),
        (CATEGORIES_TAG, "relief.family_carers", None),
        (FIELDS_TAG, "kind", "dementia_group"),
        (FIELDS_TAG, "channel", "in_person"),
        (FIELDS_TAG, "channel", "phone"),
        (FIELDS_TAG, "target_group", "Menschen mit Demenz"),
        (FIELDS_TAG, "target_group", "Angehörige"),
        (FIELDS_TAG, "accessibility", "wheelchair"),
        (FIELDS_TAG, "accessibility", "easy_language"),
        (FIELDS_TAG, "accessibility_note", "Rampe"),
        (FIELDS_TAG, "district", "hoerde"),
        (FIELDS_TAG, "location_precision", "address"),
        (FIELDS_TAG, "external_id", "awo-17"),
        ("seniorennetz:plugin:awo", "awo.transport_service", "true"),
        ("seniorennetz:plugin:awo", "awo.zones", '["sued"]'),
    ]
    assert all(a["link_id"] == OFFER_ID and a["link_entity"] == "service" for a in attributes)
    for attribute in attributes:
        assert attribute["taxonomy_term_id"] == attribute["taxonomy_term"]["id"]


def test_taxonomies_and_terms(pub):
    taxonomies = pub.taxonomies()
    assert [t["uri"] for t in taxonomies] == [
        "urn:seniorennetz:test:categories",
        "urn:seniorennetz:test:fields",
    ]
    terms = {t["code"]: t for t in pub.terms()}
    assert terms["dementia.groups"]["parent_id"] == terms["dementia"]["id"]
    assert "parent_id" not in terms["dementia"]
    assert terms["kind"]["taxonomy_id"] == taxonomies[1]["id"]
    for taxonomy in taxonomies:
        assert hs.errors("taxonomy.json", taxonomy) == []
    for term in terms.values():
        assert hs.errors("taxonomy_term.json", term) == []


@pytest.mark.parametrize(
    "offer",
    [
        full_offer(),
        full_offer(address=Address(), location=None, schedule=Schedule(), languages=[]),
        full_offer(carrier=None, cost=Cost(), accessibility=Accessibility(note="nur Notiz")),
        full_offer(updated_at=None, verified_at=None, status="archived", contact=Contact()),
    ],
    ids=["full", "no-place", "no-carrier", "bare"],
)
def test_every_form_validates_strictly(pub, offer):
    assert hs.errors("compiled/service.json", pub.service(offer)) == []
    assert hs.errors("compiled/service_list.json", pub.service_list_item(offer)) == []
    assert hs.errors("compiled/service_at_location.json", pub.service_at_location(offer)) == []
    at = pub.service_at_location(offer, full=False)
    assert hs.errors("compiled/service_at_location_list.json", at) == []
    assert hs.errors("compiled/organization.json", pub.organization(offer.carrier)) == []
