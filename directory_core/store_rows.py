"""Mapping between ``Offer`` values and rows of the ``offers`` table (schedules as
JSON). Split from ``store.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from .model import (
    Offer,
    Precision,
    Schedule,
    ScheduleRule,
)
from .store_connection import _utc, json_dumps, json_loads


def _rule_to_json(rule: ScheduleRule) -> dict[str, Any]:
    # by hand: dataclasses.asdict deep-copies every value and took a sixth of an import
    return {
        "weekday": rule.weekday,
        "start": rule.start,
        "end": rule.end,
        "frequency": rule.frequency,
        "interval": rule.interval,
        "weeks_of_month": list(rule.weeks_of_month),
    }


def _schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "rules": [_rule_to_json(rule) for rule in schedule.rules],
        "valid_from": schedule.valid_from.isoformat() if schedule.valid_from else None,
        "valid_until": schedule.valid_until.isoformat() if schedule.valid_until else None,
        "note": schedule.note,
    }


def schedule_from_json(data: dict[str, Any] | None) -> Schedule:
    data = data or {}
    return Schedule(
        rules=[ScheduleRule(**rule) for rule in data.get("rules", [])],
        valid_from=date.fromisoformat(data["valid_from"]) if data.get("valid_from") else None,
        valid_until=date.fromisoformat(data["valid_until"]) if data.get("valid_until") else None,
        note=data.get("note", ""),
    )


# (weekday, start, end, frequency, interval, weeks of month) of each rule, valid from,
# valid until and note: a schedule's values, none of them changeable
_ScheduleValues = tuple[tuple[tuple[Any, ...], ...], date | None, date | None, str]


#: longer schedule texts (long notes) are read anew each time instead of remembered
_REMEMBERED_SCHEDULE_CHARS = 2_000


@lru_cache(maxsize=4096)
def _schedule_values(text: str) -> _ScheduleValues:
    """The values of a schedule column's JSON text, remembered by the text: a page of
    offers reads a schedule for each, and a directory's office hours repeat (reading
    the JSON and the rules' keywords took a quarter of building an offer). ``TypeError``
    for values that could be changed (a rule's interval given as a list): those are
    not remembered, every offer must get its own."""
    schedule = schedule_from_json(json_loads(text))
    values = (
        tuple(
            (r.weekday, r.start, r.end, r.frequency, r.interval, tuple(r.weeks_of_month))
            for r in schedule.rules
        ),
        schedule.valid_from,
        schedule.valid_until,
        schedule.note,
    )
    hash(values)  # only values that cannot be changed are shared
    return values


def _shareable_values(text: str) -> _ScheduleValues | None:
    """The remembered values of a schedule column's text, or None for a text read anew
    each time: long (a long note) or with values that could be changed."""
    if len(text) > _REMEMBERED_SCHEDULE_CHARS:
        return None
    try:
        return _schedule_values(text)
    except TypeError:
        return None


def _schedule_of_record(text: str) -> Schedule:
    """A new ``Schedule`` (new rules, new lists) of a schedule column's JSON text."""
    values = _shareable_values(text)
    if values is None:
        return schedule_from_json(json_loads(text))
    rules, valid_from, valid_until, note = values
    return Schedule(
        rules=[ScheduleRule(w, s, e, f, i, list(weeks)) for w, s, e, f, i, weeks in rules],
        valid_from=valid_from,
        valid_until=valid_until,
        note=note,
    )


@lru_cache(maxsize=4096)
def _remembered_schedule(text: str) -> Schedule:
    return _schedule_of_record(text)


def _shared_schedule(text: str) -> Schedule:
    """One ``Schedule`` per schedule text, the same object every time (never to be
    changed: see ``record_layout.offer_fields``); texts whose values are not remembered
    (``_shareable_values``) get a new one each time."""
    if _shareable_values(text) is None:
        return schedule_from_json(json_loads(text))
    return _remembered_schedule(text)


def _offer_to_row(offer: Offer) -> dict[str, Any]:
    location = offer.location
    return {
        "id": offer.id,
        "kind": offer.kind,
        "title": offer.title,
        "description": offer.description,
        "carrier": offer.carrier,
        "district": offer.district,
        "district_manual": offer.district_manual,
        "street": offer.address.street,
        "postcode": offer.address.postcode,
        "city": offer.address.city,
        "lat": location.lat if location else None,
        "lon": location.lon if location else None,
        "precision": Precision(location.precision).value if location else None,
        "phone": offer.contact.phone,
        "email": offer.contact.email,
        "website": offer.contact.website,
        "channels": list(offer.channels),
        "schedule": _schedule_to_json(offer.schedule),
        "languages": list(offer.languages),
        "wheelchair": offer.accessibility.wheelchair,
        "hearing_loop": offer.accessibility.hearing_loop,
        "easy_language": offer.accessibility.easy_language,
        "accessibility_note": offer.accessibility.note,
        "free_of_charge": offer.cost.free_of_charge,
        "cost_note": offer.cost.note,
        "target_groups": list(offer.target_groups),
        "verified_at": _utc(offer.verified_at),
        "status": offer.status,
        "external_id": offer.external_id,
        "extra": dict(offer.extra),
        "created_at": _utc(offer.created_at),
        "updated_at": _utc(offer.updated_at),
        "version": offer.version,
        "internal_note": offer.internal_note,
        "verified_by": offer.verified_by,
        "categories": json_dumps(list(offer.categories)),
    }


#: the columns of an offer's record, in their order (``record_layout.py`` says what each
#: becomes; a row read as a tuple: reading 35 attributes by name took a third of loading
#: a page of offers)
OFFER_COLUMNS = (
    "id",
    "kind",
    "title",
    "description",
    "carrier",
    "district",
    "district_manual",
    "street",
    "postcode",
    "city",
    "lat",
    "lon",
    "precision",
    "phone",
    "email",
    "website",
    "channels",
    "schedule",
    "languages",
    "wheelchair",
    "hearing_loop",
    "easy_language",
    "accessibility_note",
    "free_of_charge",
    "cost_note",
    "target_groups",
    "verified_at",
    "status",
    "external_id",
    "extra",
    "created_at",
    "updated_at",
    "version",
    "internal_note",
    "verified_by",
    "categories",
)


#: the JSON columns among them, read as their text (``record_layout.OFFER_LAYOUT``); the
#: category keys are a text column holding JSON
JSON_TEXT_COLUMNS = frozenset(
    {"channels", "schedule", "languages", "target_groups", "extra", "categories"}
)

#: An offer as read from the store: the values of the ``OFFER_COLUMNS`` in that order
#: (JSON columns as text, the category keys among them), as the database driver gives
#: them: from SQLite, booleans are 0/1 and times ISO text in UTC. Only strings, numbers,
#: booleans, ``None`` and datetimes: the garbage collector stops following such a tuple
#: after its first look at it, so a cache of records costs it nothing, while a cache of
#: ``Offer`` objects (a dozen containers each) was walked again and again as it changed
#: (a third of a millisecond per page of offers).
OfferRecord = tuple[Any, ...]


@lru_cache(maxsize=4096)
def _record_time(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime of a record's time (SQLite's text holds UTC digits, the
    format SQLAlchemy writes: ``2026-11-27 04:35:48.139282``). Remembered: the offers of
    one write share their times, and datetimes cannot be changed."""
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value + "+00:00")  # a ninth of replace(tzinfo=)
        except ValueError:  # not written by this project (an offset, a "Z"): as it says
            parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is UTC:
            return parsed
        value = parsed  # a date alone ignores the appended offset: naive, taken as UTC
    return _utc(value)
