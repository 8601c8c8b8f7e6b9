"""The one place that checks an offer before it is written.

The API, the importers and the tests all call ``validate_offer``; it returns every
problem at once as ``FieldError`` values naming the field, so an import report can say
"row 17, field postcode: ..." and a GraphQL error can name the argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from directory_search.measures import TIME_OF_DAY, minutes

from .categories import Taxonomy
from .languages import ISO_639_1
from .model import (
    WEEKDAYS,
    Channel,
    Offer,
    OfferKind,
    OfferStatus,
    Precision,
)

POSTCODE = re.compile(r"^\d{5}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEBSITE = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)
PHONE = re.compile(r"^[0-9+()/\-\s.]{3,40}$")
TIME = TIME_OF_DAY

KINDS = tuple(k.value for k in OfferKind)
STATUSES = tuple(s.value for s in OfferStatus)
PRECISIONS = tuple(p.value for p in Precision)
CHANNELS = tuple(c.value for c in Channel)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class OfferValidationError(ValueError):
    """An offer failed validation; ``errors`` lists every problem."""

    def __init__(self, errors: list[FieldError], where: str = ""):
        self.errors = errors
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(prefix + "; ".join(str(e) for e in errors))


@dataclass
class ValidationContext:
    """What validation needs to know about the instance."""

    taxonomy: Taxonomy
    carriers: set[str]
    districts: set[str]
    # extra checks (plugins' validate_offer hook, custom field declarations)
    checks: list[Callable[[Offer], Iterable[FieldError]]] = field(default_factory=list)


# The longest value each text field may hold (the store's column sizes; PostgreSQL
# enforces them, so one overlong value must be a clear rejection, not a failed write).
MAX_LENGTHS: dict[str, int] = {
    "title": 300,
    "address.street": 300,
    "address.city": 200,
    "contact.phone": 100,
    "contact.email": 300,
    "contact.website": 500,
    "external_id": 200,
}


def _text_values(offer: Offer) -> list[tuple[str, object]]:
    """(field, value) of every free-text field of an offer, lists item by item."""
    values: list[tuple[str, object]] = [
        ("title", offer.title),
        ("description", offer.description),
        ("address.street", offer.address.street),
        ("address.postcode", offer.address.postcode),
        ("address.city", offer.address.city),
        ("contact.phone", offer.contact.phone),
        ("contact.email", offer.contact.email),
        ("contact.website", offer.contact.website),
        ("accessibility.note", offer.accessibility.note),
        ("cost.note", offer.cost.note),
        ("schedule.note", offer.schedule.note),
        ("external_id", offer.external_id),
    ]
    values += [("target_groups", group) for group in offer.target_groups]
    return values


def validate_offer(offer: Offer, context: ValidationContext) -> list[FieldError]:
    """Every problem with ``offer``; an empty list means it may be written."""
    errors: list[FieldError] = []

    def err(field_name: str, message: str) -> None:
        errors.append(FieldError(field_name, message))

    for name, value in _text_values(offer):
        if value is None:
            continue
        if not isinstance(value, str):
            err(name, f"must be text, got {type(value).__name__}")
        elif "\x00" in value:
            err(name, "must not contain NUL characters")
        elif name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            err(name, f"must be at most {MAX_LENGTHS[name]} characters, got {len(value)}")
    if isinstance(offer.title, str) and not offer.title.strip():
        err("title", "must not be empty")
    if offer.kind not in KINDS:
        err("kind", f"unknown kind {offer.kind!r}; allowed: {', '.join(KINDS)}")
    if offer.status not in STATUSES:
        err("status", f"unknown status {offer.status!r}; allowed: {', '.join(STATUSES)}")
    if offer.carrier is not None and offer.carrier not in context.carriers:
        err("carrier", f"unknown carrier {offer.carrier!r}; known: {_known(context.carriers)}")
    if offer.district is not None and offer.district not in context.districts:
        err(
            "district",
            f"unknown district {offer.district!r}; known: {_known(context.districts)}",
        )
    if len(set(offer.categories)) != len(offer.categories):
        err("categories", "lists a category twice")
    for key in offer.categories:
        if key not in context.taxonomy:
            err("categories", f"unknown category {key!r}")
    _check_address(offer, err)
    _check_contact(offer, err)
    for channel in offer.channels:
        if channel not in CHANNELS:
            err("channels", f"unknown channel {channel!r}; allowed: {', '.join(CHANNELS)}")
    for code in offer.languages:
        if code not in ISO_639_1:
            err("languages", f"{code!r} is not an ISO 639-1 language code (e.g. 'de', 'tr')")
    _check_schedule(offer, err)
    if not isinstance(offer.target_groups, list) or not all(
        isinstance(g, str) and g.strip() for g in offer.target_groups
    ):
        err("target_groups", "must be a list of non-empty texts")
    if offer.external_id is not None and not str(offer.external_id).strip():
        err("external_id", "must not be blank (leave it out instead)")
    for check in context.checks:
        errors.extend(check(offer))
    return errors


def _known(keys: set[str]) -> str:
    listed = sorted(keys)
    return ", ".join(listed[:12]) + (" ..." if len(listed) > 12 else "") if listed else "none"


#: Channels through which an offer reaches people without a place of its own: an offer
#: reached only through these may have no address, coordinates or district.
PLACELESS_CHANNELS = (Channel.PHONE.value, Channel.ONLINE.value, Channel.HOME_VISIT.value)


def _check_place(offer: Offer, err: Callable[[str, str], None]) -> None:
    """An offer nobody can find by place must say that it needs none (its channels)."""
    if offer.location is not None or not offer.address.is_empty() or offer.district:
        return
    if offer.channels and all(c in PLACELESS_CHANNELS for c in offer.channels):
        return
    err(
        "address",
        "no address, coordinates or district, so no search by place can find the offer; "
        "give one, or channels that need no place (phone, online or home_visit)",
    )


def _check_address(offer: Offer, err: Callable[[str, str], None]) -> None:
    _check_place(offer, err)
    postcode = offer.address.postcode
    if postcode and not POSTCODE.match(postcode):
        err("address.postcode", f"must be five digits, got {postcode!r}")
    location = offer.location
    if location is None:
        return
    lat, lon = location.lat, location.lon
    if not isinstance(lat, int | float) or not -90 <= lat <= 90:
        err("location.lat", f"must be between -90 and 90, got {lat!r}")
    if not isinstance(lon, int | float) or not -180 <= lon <= 180:
        err("location.lon", f"must be between -180 and 180, got {lon!r}")
    if location.precision not in PRECISIONS:
        err(
            "location.precision",
            f"unknown precision {location.precision!r}; allowed: {', '.join(PRECISIONS)}",
        )


def _check_contact(offer: Offer, err: Callable[[str, str], None]) -> None:
    contact = offer.contact
    if contact.email and not EMAIL.match(contact.email):
        err("contact.email", f"not an e-mail address: {contact.email!r}")
    if contact.website and not WEBSITE.match(contact.website):
        err("contact.website", f"must be an http(s) URL, got {contact.website!r}")
    if contact.phone and not PHONE.match(contact.phone):
        err("contact.phone", f"may hold only digits, spaces and + ( ) / - ., got {contact.phone!r}")


def _check_schedule(offer: Offer, err: Callable[[str, str], None]) -> None:
    schedule = offer.schedule
    for i, rule in enumerate(schedule.rules):
        where = f"schedule.rules[{i}]"
        if rule.weekday not in WEEKDAYS:
            err(f"{where}.weekday", f"must be one of {', '.join(WEEKDAYS)}, got {rule.weekday!r}")
        times_ok = True
        for name in ("start", "end"):
            value = getattr(rule, name)
            if not isinstance(value, str) or not TIME.match(value):
                err(f"{where}.{name}", f"must be a time HH:MM, got {value!r}")
                times_ok = False
        if times_ok and minutes(rule.start) >= minutes(rule.end):
            err(f"{where}.end", f"must be after start ({rule.start}), got {rule.end}")
        if rule.frequency == "weekly":
            if not isinstance(rule.interval, int) or rule.interval < 1:
                err(f"{where}.interval", f"must be 1 or more weeks, got {rule.interval!r}")
            if rule.weeks_of_month:
                err(f"{where}.weeks_of_month", "only for monthly rules")
        elif rule.frequency == "monthly":
            if not rule.weeks_of_month:
                err(f"{where}.weeks_of_month", "a monthly rule needs at least one week (1-5, -1)")
            for week in rule.weeks_of_month:
                if week not in (1, 2, 3, 4, 5, -1):
                    err(f"{where}.weeks_of_month", f"must be 1 to 5 or -1 (last), got {week!r}")
        else:
            err(f"{where}.frequency", f"must be 'weekly' or 'monthly', got {rule.frequency!r}")
    if schedule.valid_from and schedule.valid_until and schedule.valid_from > schedule.valid_until:
        err("schedule.valid_until", "must not be before valid_from")
