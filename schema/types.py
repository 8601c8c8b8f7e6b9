"""The GraphQL output types: offers and what they point to, search results, geocoding.

Speed matters here (a page of offers resolves hundreds of fields), so the types read
plain attributes of the domain objects (``directory_core.model``) instead of calling
resolvers: ``Address``, ``Contact``, ``Location``, ``Schedule`` and friends are given the
model dataclasses themselves as their source, and ``offer_node`` turns a model ``Offer``
into an ``Offer`` whose carrier, district and categories are the objects, not keys.
Only fields that compute something (``Schedule.description``) have resolvers; one that
computes from its object alone is marked ``execution.PURE`` and costs no more than an
attribute.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from directory_core import model
from directory_core.labels import DEFAULT_LANGUAGE, category_label, kind_label
from directory_core.record_layout import OFFER_LAYOUT, attribute_reader, offer_fields
from directory_core.store_rows import OfferRecord

from .errors import check_lang
from .execution import PURE, RECORD_SOURCES
from .serializer_code import RecordSource

if TYPE_CHECKING:  # pragma: no cover
    from directory_core.categories import Taxonomy
    from directory_core.directory import Directory

    from .extra import ExtraTypes


def _mirror(source: type[enum.Enum], name: str, description: str) -> Any:
    """A GraphQL enum with the members of a model enum (same names, same values).

    A copy rather than ``strawberry.enum(source)``, which would change the model's class;
    the values are the model's strings, so model fields serialize without conversion.
    """
    copy = enum.Enum(name, [(m.name, m.value) for m in source], type=str)  # type: ignore[misc]
    return strawberry.enum(copy, description=description)


OfferKind = _mirror(model.OfferKind, "OfferKind", "What sort of listing an offer is.")
OfferStatus = _mirror(
    model.OfferStatus, "OfferStatus", "ACTIVE offers are found; ARCHIVED ones only on request."
)
Precision = _mirror(
    model.Precision, "Precision", "How exactly a location is known, from best to worst."
)
Channel = _mirror(model.Channel, "Channel", "How people can use an offer.")
AccessibilityFlag = _mirror(
    model.AccessibilityFlag, "AccessibilityFlag", "An accessibility feature an offer has."
)


@strawberry.enum(description="A day of the week.")
class Weekday(enum.StrEnum):
    MONDAY = "mon"
    TUESDAY = "tue"
    WEDNESDAY = "wed"
    THURSDAY = "thu"
    FRIDAY = "fri"
    SATURDAY = "sat"
    SUNDAY = "sun"


@strawberry.enum(description="How often a schedule rule repeats.")
class Frequency(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


# -- reference data -----------------------------------------------------------------


@strawberry.type(description="A Träger: the organisation responsible for offers.")
class Carrier:
    key: str
    name: str
    website: str


@strawberry.type(
    description="A Stadtbezirk with its representative point (not a polygon centroid)."
)
class District:
    key: str
    name: str
    lat: float
    lon: float
    point_note: str = strawberry.field(description="Where the point comes from, how exact.")


@strawberry.type(description="A category of the taxonomy; offers match a category's subtree.")
class Category:
    key: str
    label: str
    description: str
    parent_key: str | None
    parent: Category | None
    children: list[Category]


_category_nodes: weakref.WeakKeyDictionary[Taxonomy, dict[str, dict[str, Category]]] = (
    weakref.WeakKeyDictionary()
)
_recent_nodes: tuple[Taxonomy, str, dict[str, Category]] | None = None


def category_nodes(taxonomy: Taxonomy, lang: str = DEFAULT_LANGUAGE) -> dict[str, Category]:
    """``Category`` objects by key, linked to their parent and children, labelled in
    ``lang`` (``directory_core.labels``; German is the taxonomy's own wording).

    Built once per taxonomy and language (the directory replaces its taxonomy when
    reference data is reloaded), so categories cost no resolver calls.
    """
    global _recent_nodes
    recent = _recent_nodes  # every offer of a page asks: the last answer first
    if recent is not None and recent[0] is taxonomy and recent[1] == lang:
        return recent[2]
    per_language = _category_nodes.setdefault(taxonomy, {})
    nodes = per_language.get(lang)
    if nodes is None:
        nodes = {
            c.key: Category(
                key=c.key,
                label=category_label(c, lang),
                description=c.description,
                parent_key=c.parent,
                parent=None,
                children=[],
            )
            for c in taxonomy
        }
        for node in nodes.values():
            if node.parent_key is not None:
                node.parent = nodes[node.parent_key]
                node.parent.children.append(node)
        per_language[lang] = nodes
    _recent_nodes = (taxonomy, lang, nodes)
    return nodes


# -- parts of an offer ------------------------------------------------------------------


@strawberry.type
class Address:
    street: str
    postcode: str
    city: str


@strawberry.type(description="WGS84 coordinates and how exactly they are known.")
class Location:
    lat: float
    lon: float
    precision: Precision  # type: ignore[valid-type]


@strawberry.type
class Contact:
    phone: str
    email: str
    website: str


@strawberry.type(description="One recurring time slot, e.g. every 2nd Tuesday 14:00-16:00.")
class ScheduleRule:
    weekday: Weekday
    start: str = strawberry.field(description="HH:MM")
    end: str = strawberry.field(description="HH:MM")
    frequency: Frequency
    interval: int = strawberry.field(description="WEEKLY: every this many weeks.")
    weeks_of_month: list[int] = strawberry.field(
        description="MONTHLY: the weekday's occurrences in the month, 1..5, -1 for the last."
    )


@strawberry.type
class Schedule:
    rules: list[ScheduleRule]
    valid_from: date | None
    valid_until: date | None
    note: str

    @strawberry.field(
        description="The rules in German, e.g. 'jeden Montag, 09:00–12:00 Uhr'.",
        metadata={PURE: True},  # computed from the rules alone: the plain path calls it
    )
    def description(self) -> list[str]:
        return [rule.describe() for rule in self.rules]  # type: ignore[attr-defined]


@strawberry.type
class Accessibility:
    wheelchair: bool
    hearing_loop: bool
    easy_language: bool
    note: str


@strawberry.type
class Cost:
    free_of_charge: bool
    note: str


@strawberry.type(description="One listing of the directory (an Angebot).")
class Offer:
    id: strawberry.ID
    kind: OfferKind  # type: ignore[valid-type]
    title: str
    description: str
    carrier: Carrier | None
    district: District | None
    district_manual: bool = strawberry.field(
        description="True: the district was set by hand, not derived from the location."
    )
    categories: list[Category]
    address: Address
    location: Location | None
    contact: Contact
    channels: list[Channel]  # type: ignore[valid-type]
    schedule: Schedule
    languages: list[str] = strawberry.field(description="ISO 639-1 codes, e.g. de, tr.")
    accessibility: Accessibility
    cost: Cost
    target_groups: list[str]
    verified_at: datetime | None
    status: OfferStatus  # type: ignore[valid-type]
    external_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    version: int = strawberry.field(
        description="Bumped by every change; give it back to updateOffer and friends."
    )

    @strawberry.field(
        description='The kind in words, in a page language ("de" default, "tr", "ar", ...).'
    )
    def kind_label(self, lang: str | None = None) -> str:
        return kind_label(self.kind, check_lang(lang))  # type: ignore[arg-type]

    @strawberry.field(
        name="internalNote",
        description="Staff only (null for anonymous callers): e.g. a contact for professionals.",
    )
    def internal_note_field(self, info: strawberry.Info) -> str | None:
        from .access import staff

        return getattr(self, "internal_note", "") if staff(info) else None

    @strawberry.field(
        name="verifiedBy", description="Staff only: who last confirmed the offer (verifyOffer)."
    )
    def verified_by_field(self, info: strawberry.Info) -> str | None:
        from .access import staff

        return getattr(self, "verified_by", None) if staff(info) else None

    @strawberry.field(description="Staff only: every change, newest first (null for anonymous).")
    def history(self, info: strawberry.Info) -> list[OfferChange] | None:
        from directory_core.history import offer_history

        from .access import staff

        if staff(info) is None:
            return None
        rows = offer_history(info.context.directory.store.engine, self.id)
        return [
            OfferChange(
                version=row["version"],
                at=row["at"],
                who=row["who"],
                how=row["how"],
                note=row["note"],
                changes=[
                    FieldChange(field=name, old=change["old"], new=change["new"])
                    for name, change in sorted(row["changes"].items())
                ],
            )
            for row in rows
        ]


@strawberry.type(description="One changed field: its stored name, old and new value.")
class FieldChange:
    field: str
    old: JSON | None
    new: JSON | None


@strawberry.type(description="One change of an offer (its history).")
class OfferChange:
    version: int = strawberry.field(description="The offer's version after the change.")
    at: datetime
    who: str = strawberry.field(description="The token's or principal's name, or a login.")
    how: str = strawberry.field(description="api, import or cli")
    note: str = strawberry.field(description="e.g. the reason given for archiving")
    changes: list[FieldChange]


def offer_node(offer: model.Offer, directory: Directory, extra: ExtraTypes | None = None) -> Offer:
    """The GraphQL ``Offer`` of a model offer: the same attributes (nested parts are the
    model objects), with carrier, district and category keys replaced by objects and the
    custom fields as typed objects (``extra.py``)."""
    node = Offer.__new__(Offer)  # skip __init__: copying the attributes is all it would do
    # a copy is quicker than filling the new object's dict
    node.__dict__ = _node_fields(offer.__dict__.copy(), directory, extra)
    return node


def record_node(record: OfferRecord, directory: Directory, extra: ExtraTypes | None = None) -> Any:
    """The GraphQL ``Offer`` of an offer's record (``store_rows.OfferRecord``): a
    ``RecordNode``, which the serializers of all-plain selections read straight from the
    record and which is everything else an ``Offer`` node is, made when first asked."""
    return RecordNode(record, directory, extra)


class RecordNode:
    """An ``Offer`` node that is still the offer's record (see ``record_node``).

    Asked for anything it does not hold (its own attributes start with an underscore,
    which no field of an offer does), it turns itself into the full node in place: the
    attributes ``offer_node`` would give the model offer, and ``Offer`` as its class
    (its schedule may be shared with other answers, which only read it:
    ``record_layout.offer_fields``). Special names (``__await__``, which strawberry
    looks for on every value) are not an offer's and do not turn it."""

    def __init__(self, record: OfferRecord, directory: Directory, extra: ExtraTypes | None):
        self._record = record
        self._directory = directory
        self._extra = extra

    def _become_offer(self) -> None:
        own = self.__dict__
        fields = offer_fields(own["_record"], shared=True)
        self.__dict__ = _node_fields(fields, own["_directory"], own["_extra"])
        self.__class__ = Offer  # type: ignore[assignment]  # the same layout: __dict__ only

    def __getattr__(self, name: str) -> Any:  # called for what it does not hold
        if name.startswith("__") or "_record" not in self.__dict__:
            raise AttributeError(name)  # (a copy being made has no record yet)
        self._become_offer()
        return getattr(self, name)


def _carrier(key: str | None, directory: Directory, extra: ExtraTypes | None) -> Any:
    return directory.carrier_by_key.get(key) if key else None


def _district(key: str | None, directory: Directory, extra: ExtraTypes | None) -> Any:
    return directory.district_by_key.get(key) if key else None


def _categories(keys: list[str], directory: Directory, extra: ExtraTypes | None) -> list[Any]:
    if not keys:
        return keys
    categories = category_nodes(directory.taxonomy)
    return [categories[k] for k in keys if k in categories]


def _extra(values: dict[str, Any], directory: Directory, extra: ExtraTypes | None) -> Any:
    return extra.node(values) if extra is not None else None


#: the attributes of a node that are not the model offer's, made of the offer's value
NODE_VALUES: dict[str, Callable[[Any, Directory, ExtraTypes | None], Any]] = {
    "carrier": _carrier,
    "district": _district,
    "categories": _categories,
    "extra": _extra,
}


def _node_fields(
    fields: dict[str, Any], directory: Directory, extra: ExtraTypes | None
) -> dict[str, Any]:
    """``fields`` (a model offer's attributes) with the ``NODE_VALUES`` in place."""
    for name, value_of in NODE_VALUES.items():
        fields[name] = value_of(fields[name], directory, extra)
    return fields


RECORD_SOURCES[Offer] = RecordSource(RecordNode, OFFER_LAYOUT, NODE_VALUES, attribute_reader)


# -- search results -----------------------------------------------------------------------


@strawberry.type(description="A resolved place: where, how exactly, and how to show it.")
class GeocodeResult:
    lat: float
    lon: float
    precision: Precision  # type: ignore[valid-type]
    label: str = strawberry.field(description="e.g. '44263 Dortmund (Postleitzahl, Mittelpunkt)'")
    source: str = strawberry.field(
        description="gazetteer (offline), nominatim, or input (the point was given)"
    )


@strawberry.type(description="How many hits of the whole result have one value.")
class Facet:
    value: str
    label: str
    count: int


@strawberry.type(description="Counts over all hits (not just the page), most frequent first.")
class Facets:
    kinds: list[Facet]
    categories: list[Facet]
    districts: list[Facet]


@strawberry.type
class OfferEdge:
    cursor: str
    distance_km: float | None = strawberry.field(
        description="Great-circle distance from the search point in km (3 decimals)."
    )
    node: Offer


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(
    description="A page of offers. totalCount and facets are computed only when selected."
)
class OfferConnection:
    edges: list[OfferEdge]
    page_info: PageInfo
    total_count: int
    facets: Facets | None = strawberry.field(
        description="null if the search backend cannot count facets."
    )
    total_count_is_exact: bool = strawberry.field(
        default=True,
        description="false when the search stopped counting at a bound (a nearby search "
        "with more than 1,000 hits on the embedded backend): totalCount and the facet "
        "counts are then lower bounds ('at least'); the offers themselves are exact.",
    )
    center: GeocodeResult | None = strawberry.field(
        description="The point `near` resolved to, or null without `near`."
    )
    corrected: str | None = strawberry.field(
        default=None,
        description="The text as searched after correcting typos or spelling (folded, "
        "e.g. `demenz` for `Demens`), for a 'Did you mean' line; null if nothing was "
        "corrected.",
    )
