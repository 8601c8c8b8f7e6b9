"""The mapping of an offer's record to its attributes (``directory_core.record_layout``):
complete, one column per attribute, fresh objects unless shared, on both databases."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from directory_core import model
from directory_core.model import Location, Offer, Precision, Schedule, ScheduleRule
from directory_core.record_layout import (
    OFFER_LAYOUT,
    Column,
    Part,
    attribute_reader,
    offer_fields,
    offer_from_record,
)
from directory_core.store import Store
from directory_core.store_rows import OFFER_COLUMNS

from . import stores
from .test_store import _offer, _store

store_url = stores.store_url


def _records(store: Store, offers: list[Offer]) -> dict[str, tuple]:
    with store.transaction() as conn:
        store.write_offers(conn, offers)
    return store.get_offer_records([offer.id for offer in offers])


def _sample_offers() -> list[Offer]:
    return [
        _offer(),
        _offer(location=None, carrier=None, district=None, categories=[], extra={}),
        _offer(
            title="Treff",
            location=Location(51.5, 7.46, Precision.ADDRESS),
            schedule=Schedule(),
            languages=[],
            channels=[],
            target_groups=[],
            verified_at=None,
            external_id=None,  # the first one's is the carrier's already
        ),
    ]


def test_the_layout_names_every_attribute_and_reads_every_column_once():
    assert list(OFFER_LAYOUT) == [f.name for f in dataclasses.fields(Offer)]
    read: list[int] = []
    for attribute, source in OFFER_LAYOUT.items():
        if isinstance(source, Column):
            read.append(source.index)
            continue
        assert isinstance(source, Part), attribute
        assert list(source.columns) == [f.name for f in dataclasses.fields(source.cls)]
        assert set(source.required) <= set(source.columns)
        read.extend(column.index for column in source.columns.values())
    assert sorted(read) == list(range(len(OFFER_COLUMNS)))


def test_the_classes_it_makes_without_init_are_plain_dataclasses():
    """``_made`` fills ``__dict__`` instead of calling ``__init__``: only right for
    dataclasses without ``__post_init__``, slots or frozen fields."""
    classes = [Offer] + [s.cls for s in OFFER_LAYOUT.values() if isinstance(s, Part)]
    for cls in classes:
        assert dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
        assert not hasattr(cls, "__post_init__"), cls
        assert not hasattr(cls, "__slots__"), cls
        assert not cls.__dataclass_params__.frozen, cls


def test_offers_read_back_equal_what_was_written(store_url):
    store = _store(store_url)
    offers = _sample_offers()
    records = _records(store, offers)
    for offer in offers:
        read = offer_from_record(records[offer.id])
        assert read == offer
        assert repr(read).startswith("Offer(title=")
    assert offer_from_record(records[offers[1].id]).location is None


def test_each_attribute_reader_gives_what_offer_fields_gives(store_url):
    store = _store(store_url)
    records = _records(store, _sample_offers())
    for record in records.values():
        for shared in (False, True):
            fields = offer_fields(record, shared=shared)
            assert list(fields) == list(OFFER_LAYOUT)
            for attribute, value in fields.items():
                assert attribute_reader(attribute, shared)(record) == value, attribute
    with pytest.raises(KeyError):
        attribute_reader("no_such_attribute")


def test_every_offer_gets_new_objects_and_shared_ones_only_the_schedule(tmp_path):
    store = _store(tmp_path / "store.sqlite")
    offer = _offer()
    record = _records(store, [offer])[offer.id]
    one, two = offer_from_record(record), offer_from_record(record)
    for name in (
        "categories",
        "address",
        "contact",
        "channels",
        "schedule",
        "languages",
        "accessibility",
        "cost",
        "target_groups",
        "extra",
        "location",
    ):
        assert getattr(one, name) is not getattr(two, name), name
    one.schedule.rules[0].weeks_of_month.append(4)
    one.address.city = "Bochum"
    assert two == offer_from_record(record) != one
    shared_one, shared_two = offer_fields(record, shared=True), offer_fields(record, shared=True)
    assert shared_one["schedule"] is shared_two["schedule"]
    assert shared_one["schedule"] == offer.schedule
    assert shared_one["languages"] is not shared_two["languages"]
    assert offer_fields(record)["schedule"] is not offer_fields(record)["schedule"]


def test_a_location_needs_both_coordinates():
    base = list(
        _offer_record_values(lat=51.5, lon=7.4, precision="postcode", schedule='{"rules": []}')
    )
    assert offer_from_record(tuple(base)).location == Location(51.5, 7.4, Precision.POSTCODE)
    for missing in ("lat", "lon"):
        values = list(base)
        values[OFFER_COLUMNS.index(missing)] = None
        assert offer_from_record(tuple(values)).location is None


def _offer_record_values(**columns) -> tuple:
    """A record as SQLite gives it (0/1 for booleans, JSON as text), with ``columns``."""
    defaults = {
        "id": "x",
        "kind": "service",
        "title": "T",
        "description": "",
        "carrier": None,
        "district": None,
        "district_manual": 0,
        "street": "",
        "postcode": "",
        "city": "",
        "lat": None,
        "lon": None,
        "precision": None,
        "phone": "",
        "email": "",
        "website": "",
        "channels": "[]",
        "schedule": "{}",
        "languages": "[]",
        "wheelchair": 1,
        "hearing_loop": 0,
        "easy_language": 0,
        "accessibility_note": "",
        "free_of_charge": 1,
        "cost_note": "",
        "target_groups": "[]",
        "verified_at": None,
        "status": "active",
        "external_id": None,
        "extra": "{}",
        "created_at": "2026-11-27 10:00:00",
        "updated_at": "2026-11-27 10:00:00",
        "version": 1,
        "internal_note": "",
        "verified_by": None,
        "categories": '["dementia.groups"]',
    }
    defaults.update(columns)
    return tuple(defaults[name] for name in OFFER_COLUMNS)


def test_a_schedule_with_changeable_values_is_never_shared():
    """A schedule text whose values could be changed (a list as interval) or that is
    long gets its own object even where schedules are shared."""
    odd = '{"rules": [{"weekday": "mon", "start": "09:00", "end": "10:00", "interval": [1]}]}'
    long_note = '{"rules": [], "note": "' + "x" * 3000 + '"}'
    for text in (odd, long_note):
        record = _offer_record_values(schedule=text)
        one, two = offer_fields(record, shared=True), offer_fields(record, shared=True)
        assert one["schedule"] == two["schedule"] and one["schedule"] is not two["schedule"]
    plain = _offer_record_values(
        schedule='{"rules": [{"weekday": "mon", "start": "09:00", '
        '"end": "10:00"}], "valid_from": "2026-01-01"}'
    )
    shared = offer_fields(plain, shared=True)["schedule"]
    assert shared == Schedule([ScheduleRule("mon", "09:00", "10:00")], date(2026, 1, 1))


def test_the_json_columns_are_those_the_layout_reads_as_json():
    """``store_records`` reads the JSON columns as text (cast on PostgreSQL); the layout
    turns exactly those into values."""
    from directory_core.store_connection import json_loads
    from directory_core.store_rows import JSON_TEXT_COLUMNS, _schedule_of_record

    as_json = {
        OFFER_COLUMNS[source.index]
        for source in OFFER_LAYOUT.values()
        if isinstance(source, Column) and source.convert in (json_loads, _schedule_of_record)
    }
    assert as_json == JSON_TEXT_COLUMNS
