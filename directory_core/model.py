"""The domain model: offers, carriers, districts, categories.

These are plain dataclasses. The store (``store.py``) persists them, the validator
(``validation.py``) is the one place that checks them, search backends index
``SearchDocument`` views of them (``directory_search.base``) and the GraphQL layer
exposes them.
"""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any


class OfferKind(enum.StrEnum):
    """What sort of listing an offer is."""

    SERVICE = "service"
    ASSOCIATION = "association"
    DEMENTIA_GROUP = "dementia_group"
    TRAINING_OFFER = "training_offer"
    ADVICE_OFFICE = "advice_office"
    MEETING_PLACE = "meeting_place"


KIND_LABELS: dict[str, str] = {
    "service": "Dienst",
    "association": "Verein",
    "dementia_group": "Demenzgruppe",
    "training_offer": "Fortbildung",
    "advice_office": "Seniorenbüro",
    "meeting_place": "Begegnungsstätte",
}


class OfferStatus(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Precision(enum.StrEnum):
    """How exactly a location is known, from best to worst."""

    MANUAL = "manual"
    ADDRESS = "address"
    POSTCODE = "postcode"
    DISTRICT = "district"


class Channel(enum.StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    ONLINE = "online"
    HOME_VISIT = "home_visit"


class AccessibilityFlag(enum.StrEnum):
    WHEELCHAIR = "wheelchair"
    HEARING_LOOP = "hearing_loop"
    EASY_LANGUAGE = "easy_language"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


@dataclass
class Address:
    street: str = ""
    postcode: str = ""
    city: str = ""

    def is_empty(self) -> bool:
        return not (self.street or self.postcode or self.city)

    def one_line(self) -> str:
        place = " ".join(p for p in (self.postcode, self.city) if p)
        return ", ".join(p for p in (self.street, place) if p)


@dataclass
class Location:
    lat: float
    lon: float
    precision: Precision = Precision.ADDRESS


@dataclass
class Contact:
    phone: str = ""
    email: str = ""
    website: str = ""


@dataclass
class ScheduleRule:
    """One recurring time slot.

    ``frequency`` is ``weekly`` (every ``interval`` weeks) or ``monthly`` (on the
    ``weeks_of_month`` occurrences of the weekday: 1..5, -1 for the last), e.g.
    "every 2nd Tuesday 14:00-16:00" is ``ScheduleRule("tue", "14:00", "16:00",
    "monthly", weeks_of_month=[2])``.
    """

    weekday: str
    start: str
    end: str
    frequency: str = "weekly"
    interval: int = 1
    weeks_of_month: list[int] = field(default_factory=list)

    def describe(self) -> str:
        """The rule in German, e.g. 'jeden Montag, 09:00–12:00 Uhr'."""
        return _described(
            self.weekday,
            self.start,
            self.end,
            self.frequency,
            self.interval,
            tuple(self.weeks_of_month),
        )


@lru_cache(maxsize=4096)
def _described(
    weekday: str, start: str, end: str, frequency: str, interval: int, weeks: tuple[int, ...]
) -> str:
    """``ScheduleRule.describe`` by the rule's values, remembered: every page of offers
    describes their rules, and a directory's office hours repeat."""
    day = WEEKDAY_LABELS[WEEKDAYS.index(weekday)]
    if frequency == "monthly":
        nth = ", ".join("letzten" if w == -1 else f"{w}." for w in weeks)
        when = f"jeden {nth} {day} im Monat"
    elif interval == 1:
        when = f"jeden {day}"
    else:
        when = f"alle {interval} Wochen {day}"
    return f"{when}, {start}–{end} Uhr"


@dataclass
class Schedule:
    rules: list[ScheduleRule] = field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    note: str = ""


@dataclass
class Accessibility:
    wheelchair: bool = False
    hearing_loop: bool = False
    easy_language: bool = False
    note: str = ""


@dataclass
class Cost:
    free_of_charge: bool = True
    note: str = ""


# The layout of a version-7 UUID (RFC 9562, section 5.7) below its 48 bits of Unix time
# in milliseconds: version 7, then 12 bits of the millisecond's fraction (the "increased
# clock precision" of section 6.2, method 3), the variant 0b10 and 62 random bits.
_UUID7_VERSION = 0x7 << 76
_UUID7_VARIANT = 0b10 << 62


def new_id() -> str:
    """A new offer id: a version-7 UUID, the time of its making in its first 60 bits
    and 62 random bits after them.

    Ids made later sort after earlier ones (to 1/4096 of a millisecond), so every index
    keyed by offer id (the store's offers, categories, history and outbox, the search
    index's documents) grows at its end when many offers are created at once, instead of
    being written all over: an import of 100,000 offers touches a few pages per table,
    not a random page per offer. (RFC 9562's layout with its "method 3" for the bits after
    the milliseconds; Python 3.14's ``uuid.uuid7`` fills them with a counter instead.)
    Ids are in the order they were made as long as the system clock does not step back.
    """
    milliseconds, nanoseconds = divmod(time.time_ns(), 1_000_000)
    fraction = nanoseconds * 4096 // 1_000_000
    value = (
        milliseconds << 80
        | _UUID7_VERSION
        | fraction << 64
        | _UUID7_VARIANT
        | int.from_bytes(os.urandom(8), "big") >> 2
    )
    digits = f"{value:032x}"  # the canonical text, without building a UUID object
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


@dataclass
class Offer:
    """One listing of the directory (an *Angebot*)."""

    title: str
    kind: str
    id: str = field(default_factory=new_id)
    description: str = ""
    carrier: str | None = None  # carrier key
    categories: list[str] = field(default_factory=list)  # category keys
    district: str | None = None  # district key
    district_manual: bool = False  # True: district set by hand, not derived from location
    address: Address = field(default_factory=Address)
    location: Location | None = None
    contact: Contact = field(default_factory=Contact)
    channels: list[str] = field(default_factory=list)
    schedule: Schedule = field(default_factory=Schedule)
    languages: list[str] = field(default_factory=list)
    accessibility: Accessibility = field(default_factory=Accessibility)
    cost: Cost = field(default_factory=Cost)
    target_groups: list[str] = field(default_factory=list)
    verified_at: datetime | None = None
    status: str = OfferStatus.ACTIVE.value
    external_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # custom fields, by "plugin.field"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1  # bumped by the store on every write; the API's optimistic lock
    internal_note: str = ""  # staff only: never in public answers or the index text
    verified_by: str | None = None  # who last confirmed the offer (``verified_at``)


@dataclass
class Carrier:
    """A *Träger*: the organisation responsible for offers."""

    key: str
    name: str
    website: str = ""


@dataclass
class District:
    """A *Stadtbezirk* with a representative point and an optional polygon.

    ``polygon`` is a list of rings, each a list of (lat, lon); the first ring is the
    outer boundary, further rings are holes.
    """

    key: str
    name: str
    lat: float
    lon: float
    polygon: list[list[tuple[float, float]]] | None = None
    point_note: str = ""


@dataclass
class Category:
    key: str
    label: str
    parent: str | None = None
    description: str = ""
