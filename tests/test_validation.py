"""The one validator: every field problem is found and named."""

from __future__ import annotations

import pytest

from directory_core.categories import Taxonomy, default_categories
from directory_core.model import (
    Address,
    Contact,
    Location,
    Offer,
    Schedule,
    ScheduleRule,
)
from directory_core.validation import ValidationContext, validate_offer


@pytest.fixture
def context() -> ValidationContext:
    return ValidationContext(
        taxonomy=Taxonomy(default_categories()), carriers={"awo"}, districts={"hoerde"}
    )


def fields(offer, context):
    found: dict[str, str] = {}
    for error in validate_offer(offer, context):
        found[error.field] = "; ".join(filter(None, (found.get(error.field), error.message)))
    return found


def test_a_good_offer_passes(context):
    offer = Offer(
        title="Demenzcafé",
        kind="dementia_group",
        carrier="awo",
        district="hoerde",
        categories=["dementia.groups"],
        address=Address("Hörder Bahnhofstraße 16", "44263", "Dortmund"),
        location=Location(51.48, 7.5),
        contact=Contact("0231 50-23311", "a@b.de", "https://b.de"),
        channels=["in_person"],
        languages=["de", "tr"],
        schedule=Schedule([ScheduleRule("tue", "14:00", "16:00", "monthly", weeks_of_month=[2])]),
    )
    assert validate_offer(offer, context) == []


@pytest.mark.parametrize(
    "changes,field,fragment",
    [
        ({"title": " "}, "title", "must not be empty"),
        ({"title": "x" * 301}, "title", "at most 300"),
        ({"title": 17}, "title", "must be text"),
        ({"description": "a\x00b"}, "description", "NUL"),
        ({"address": Address(street="s" * 301)}, "address.street", "at most 300"),
        ({"contact": Contact(phone="0" * 101)}, "contact.phone", "at most 100"),
        ({"contact": Contact(website="https://x.de/" + "a" * 500)}, "contact.website", "500"),
        ({"external_id": "e" * 201}, "external_id", "at most 200"),
        ({"target_groups": ["ok", "x\x00"]}, "target_groups", "NUL"),
        ({"kind": "shop"}, "kind", "unknown kind 'shop'"),
        ({"status": "deleted"}, "status", "unknown status"),
        ({"carrier": "nobody"}, "carrier", "unknown carrier 'nobody'"),
        ({"district": "atlantis"}, "district", "unknown district 'atlantis'"),
        ({"categories": ["nope"]}, "categories", "unknown category 'nope'"),
        ({"categories": ["dementia", "dementia"]}, "categories", "twice"),
        ({"address": Address(postcode="4426")}, "address.postcode", "five digits"),
        ({"location": Location(200, 7)}, "location.lat", "between -90 and 90, got 200"),
        ({"location": Location(51, -500)}, "location.lon", "between -180 and 180"),
        ({"location": Location(51, 7, "guess")}, "location.precision", "unknown precision"),
        ({"contact": Contact(email="nope")}, "contact.email", "not an e-mail"),
        ({"contact": Contact(website="ftp://x")}, "contact.website", "http(s) URL"),
        ({"contact": Contact(phone="call me")}, "contact.phone", "only digits"),
        ({"channels": ["pigeon"]}, "channels", "unknown channel"),
        ({"languages": ["deu"]}, "languages", "ISO 639-1"),
        (
            {"schedule": Schedule([ScheduleRule("tuesday", "14:00", "16:00")])},
            "schedule.rules[0].weekday",
            "must be one of",
        ),
        (
            {"schedule": Schedule([ScheduleRule("tue", "16:00", "14:00")])},
            "schedule.rules[0].end",
            "after start",
        ),
        (
            {"schedule": Schedule([ScheduleRule("tue", "25:00", "26:00")])},
            "schedule.rules[0].start",
            "HH:MM",
        ),
        (
            {"schedule": Schedule([ScheduleRule("tue", "14:00", "16:00", "monthly")])},
            "schedule.rules[0].weeks_of_month",
            "at least one week",
        ),
        (
            {"schedule": Schedule([ScheduleRule("tue", "14:00", "16:00", "yearly")])},
            "schedule.rules[0].frequency",
            "weekly",
        ),
        ({"target_groups": [""]}, "target_groups", "non-empty"),
        ({"external_id": "  "}, "external_id", "blank"),
    ],
)
def test_each_problem_is_named(context, changes, field, fragment):
    offer = Offer(title="Treff", kind="meeting_place")
    for key, value in changes.items():
        setattr(offer, key, value)
    problems = fields(offer, context)
    assert field in problems, problems
    assert fragment in problems[field]


def test_all_problems_are_reported_at_once(context):
    offer = Offer(title="", kind="x", carrier="y", languages=["zz"])
    assert {"title", "kind", "carrier", "languages"} <= set(fields(offer, context))


@pytest.mark.parametrize(
    "channels,accepted",
    [
        ([], False),
        (["in_person"], False),
        (["in_person", "phone"], False),  # someone still has to go somewhere
        (["phone"], True),
        (["online", "phone"], True),
        (["home_visit"], True),
    ],
)
def test_an_offer_without_any_place_needs_channels_that_need_none(context, channels, accepted):
    offer = Offer(title="Beratung", kind="service", channels=channels)
    problems = fields(offer, context)
    if accepted:
        assert problems == {}
    else:
        assert set(problems) == {"address"}
        assert "no address, coordinates or district" in problems["address"]
        assert "phone, online or home_visit" in problems["address"]


@pytest.mark.parametrize(
    "place",
    [
        {"address": Address(postcode="44263")},
        {"location": Location(51.48, 7.5)},
        {"district": "hoerde", "district_manual": True},
    ],
)
def test_any_place_will_do(context, place):
    assert fields(Offer(title="Treff", kind="meeting_place", **place), context) == {}
