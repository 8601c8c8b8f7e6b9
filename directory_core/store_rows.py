"""Mapping between ``Offer`` values and rows of the ``offers`` table (schedules as
JSON). Split from ``store.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .model import (
    Accessibility,
    Address,
    Contact,
    Cost,
    Location,
    Offer,
    Precision,
    Schedule,
    ScheduleRule,
)
from .store_connection import _utc


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
    }


#: the columns ``_row_to_offer`` reads, in the order it unpacks them (a row unpacked as
#: a tuple: reading 35 attributes by name took a third of loading a page of offers)
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
)


def _row_to_offer(row: Any, categories: list[str]) -> Offer:
    """The ``Offer`` of a row of the ``OFFER_COLUMNS``, in that order."""
    (
        id_,
        kind,
        title,
        description,
        carrier,
        district,
        district_manual,
        street,
        postcode,
        city,
        lat,
        lon,
        precision,
        phone,
        email,
        website,
        channels,
        schedule,
        languages,
        wheelchair,
        hearing_loop,
        easy_language,
        accessibility_note,
        free_of_charge,
        cost_note,
        target_groups,
        verified_at,
        status,
        external_id,
        extra,
        created_at,
        updated_at,
        version,
        internal_note,
        verified_by,
    ) = row
    location = None
    if lat is not None and lon is not None:
        location = Location(lat=lat, lon=lon, precision=Precision(precision))
    return Offer(
        id=id_,
        kind=kind,
        title=title,
        description=description,
        carrier=carrier,
        categories=categories,
        district=district,
        district_manual=district_manual,
        address=Address(street=street, postcode=postcode, city=city),
        location=location,
        contact=Contact(phone=phone, email=email, website=website),
        channels=list(channels),
        schedule=schedule_from_json(schedule),
        languages=list(languages),
        accessibility=Accessibility(
            wheelchair=wheelchair,
            hearing_loop=hearing_loop,
            easy_language=easy_language,
            note=accessibility_note,
        ),
        cost=Cost(free_of_charge=free_of_charge, note=cost_note),
        target_groups=list(target_groups),
        verified_at=_utc(verified_at),
        status=status,
        external_id=external_id,
        extra=dict(extra),
        created_at=_utc(created_at),
        updated_at=_utc(updated_at),
        version=version,
        internal_note=internal_note,
        verified_by=verified_by,
    )
