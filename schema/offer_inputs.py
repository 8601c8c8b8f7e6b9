"""The GraphQL input types of the write path, and how they become model offers.

``OfferInput`` (``createOffer``) holds a whole offer; ``OfferPatch`` (``updateOffer``)
holds only the fields to change: a field left out stays as it is, a nested part given
(``address``, ``contact``, ...) replaces that part. Values are checked by the one
validator (``directory_core.validation``) when the directory writes the offer; GraphQL
checks only the shapes here. Custom fields come as ``extra`` (typed per plugin, built in
``extra.py``); only the custom fields given change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry import UNSET

from directory_core import model

from .types import Channel, Frequency, OfferKind, Weekday


@strawberry.input(description="A postal address; the location is geocoded from it.")
class AddressInput:
    street: str = ""
    postcode: str = ""
    city: str = ""


@strawberry.input(description="WGS84 coordinates set by hand (precision MANUAL).")
class LocationInput:
    lat: float
    lon: float


@strawberry.input
class ContactInput:
    phone: str = ""
    email: str = ""
    website: str = ""


@strawberry.input(description="One recurring time slot, e.g. every 2nd Tuesday 14:00-16:00.")
class ScheduleRuleInput:
    weekday: Weekday
    start: str = strawberry.field(description="HH:MM")
    end: str = strawberry.field(description="HH:MM")
    frequency: Frequency = Frequency.WEEKLY
    interval: int = 1
    weeks_of_month: list[int] = strawberry.field(default_factory=list)


@strawberry.input
class ScheduleInput:
    rules: list[ScheduleRuleInput] = strawberry.field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    note: str = ""


@strawberry.input
class AccessibilityInput:
    wheelchair: bool = False
    hearing_loop: bool = False
    easy_language: bool = False
    note: str = ""


@strawberry.input
class CostInput:
    free_of_charge: bool = True
    note: str = ""


@strawberry.input(description="A new offer. Only title, kind and carrier are required.")
class OfferInput:
    title: str
    kind: OfferKind  # type: ignore[valid-type]
    carrier: str = strawberry.field(description="Carrier key, e.g. awo.")
    description: str = ""
    categories: list[str] = strawberry.field(default_factory=list)
    district: str | None = strawberry.field(
        default=None, description="District key set by hand; left out: from the location."
    )
    address: AddressInput | None = None
    location: LocationInput | None = strawberry.field(
        default=None, description="Left out: geocoded from the address."
    )
    contact: ContactInput | None = None
    channels: list[Channel] = strawberry.field(default_factory=list)  # type: ignore[valid-type]
    schedule: ScheduleInput | None = None
    languages: list[str] = strawberry.field(default_factory=list)
    accessibility: AccessibilityInput | None = None
    cost: CostInput | None = None
    target_groups: list[str] = strawberry.field(default_factory=list)
    external_id: str | None = None
    internal_note: str = strawberry.field(
        default="", description="Staff only: e.g. a contact person for professionals."
    )


@strawberry.input(
    description=(
        "The fields of an offer to change; fields left out stay as they are. A nested part "
        "(address, contact, schedule, ...) is replaced as a whole. A new address without a "
        "location is geocoded again."
    )
)
class OfferPatch:
    title: str | None = UNSET
    kind: OfferKind | None = UNSET  # type: ignore[valid-type]
    carrier: str | None = UNSET
    description: str | None = UNSET
    categories: list[str] | None = UNSET
    district: str | None = strawberry.field(
        default=UNSET, description="null: derive the district from the location again."
    )
    address: AddressInput | None = UNSET
    location: LocationInput | None = UNSET
    contact: ContactInput | None = UNSET
    channels: list[Channel] | None = UNSET  # type: ignore[valid-type]
    schedule: ScheduleInput | None = UNSET
    languages: list[str] | None = UNSET
    accessibility: AccessibilityInput | None = UNSET
    cost: CostInput | None = UNSET
    target_groups: list[str] | None = UNSET
    external_id: str | None = UNSET
    internal_note: str | None = UNSET


def _schedule(value: ScheduleInput | None) -> model.Schedule:
    if value is None:
        return model.Schedule()
    return model.Schedule(
        rules=[
            model.ScheduleRule(
                weekday=rule.weekday.value,
                start=rule.start,
                end=rule.end,
                frequency=rule.frequency.value,
                interval=rule.interval,
                weeks_of_month=list(rule.weeks_of_month),
            )
            for rule in value.rules
        ],
        valid_from=value.valid_from,
        valid_until=value.valid_until,
        note=value.note,
    )


# field name -> how an input value (never UNSET) becomes the model value
_CONVERT: dict[str, Any] = {
    "title": lambda v: v,
    "kind": lambda v: v.value,
    "carrier": lambda v: v,
    "description": lambda v: v or "",
    "categories": lambda v: list(v or []),
    "address": lambda v: model.Address(v.street, v.postcode, v.city) if v else model.Address(),
    "location": lambda v: model.Location(v.lat, v.lon, model.Precision.MANUAL) if v else None,
    "contact": lambda v: model.Contact(v.phone, v.email, v.website) if v else model.Contact(),
    "channels": lambda v: [c.value for c in v or []],
    "schedule": _schedule,
    "languages": lambda v: list(v or []),
    "accessibility": lambda v: (
        model.Accessibility(v.wheelchair, v.hearing_loop, v.easy_language, v.note)
        if v
        else model.Accessibility()
    ),
    "cost": lambda v: model.Cost(v.free_of_charge, v.note) if v else model.Cost(),
    "target_groups": lambda v: list(v or []),
    "external_id": lambda v: v,
    "internal_note": lambda v: v or "",
}
REQUIRED = ("title", "kind", "carrier")


def extra_values(value: Any) -> dict[str, dict[str, Any]]:
    """The given custom fields of an ``OfferExtraInput`` as ``{namespace: {field: value}}``
    (``None`` for a field given as null: the stored value is removed)."""
    found: dict[str, dict[str, Any]] = {}
    if value is None or value is UNSET:
        return found
    for namespace, part in vars(value).items():
        if part is UNSET or part is None:
            continue
        for name, given in vars(part).items():
            if given is UNSET:
                continue
            if isinstance(given, list):
                given = [getattr(v, "value", v) for v in given]
            else:
                given = getattr(given, "value", given)
            found.setdefault(namespace, {})[name] = given
    return found


def new_offer(value: OfferInput) -> model.Offer:
    """A model offer from ``createOffer``'s input (not yet validated)."""
    offer = model.Offer(title=value.title, kind=value.kind.value)
    apply_patch(offer, value)
    return offer


def apply_patch(offer: model.Offer, patch: Any) -> list[str]:
    """Set the fields given in ``patch`` (an ``OfferPatch`` or ``OfferInput``) on
    ``offer``; return the required fields that were given as null (left unchanged)."""
    problems: list[str] = []
    for name, convert in _CONVERT.items():
        given = getattr(patch, name, UNSET)
        if given is UNSET:
            continue
        if given is None and name in REQUIRED:
            problems.append(name)
            continue
        setattr(offer, name, convert(given))
    if getattr(patch, "address", UNSET) is not UNSET:
        if getattr(patch, "location", UNSET) in (UNSET, None):
            offer.location = None  # a new address is geocoded again
    district = getattr(patch, "district", UNSET)
    if district is not UNSET:
        offer.district, offer.district_manual = district, district is not None
    extra = extra_values(getattr(patch, "extra", UNSET))
    for namespace, values in extra.items():
        merged = dict(offer.extra.get(namespace) or {})
        merged.update(values)
        offer.extra = {**offer.extra, namespace: merged}
    return problems
