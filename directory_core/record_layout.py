"""How an ``Offer`` is made of its record (``store_rows.OfferRecord``): the one mapping
from the record's columns to the offer's attributes, and the functions made of it.

``OFFER_LAYOUT`` says, for each attribute of an ``Offer``, where its value comes from: one
column, read as it is or through a conversion (``Column``), or a model object made of
several columns (``Part``: address, contact, location, accessibility, cost).
``offer_fields`` is written from it once, as straight-line code (a loop over the layout
took twice as long as the hand-written function it replaces), and the API's serializers
read the layout too, to answer from a record without building the offer
(``schema/serializer_code.py``).

The conversions in ``SHARED_CONVERSIONS`` make a new object each time; their stand-ins
give one object per value for callers that only read it (a schedule per schedule text).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from .model import Accessibility, Address, Contact, Cost, Location, Offer, Precision
from .store_connection import json_loads
from .store_rows import (
    OFFER_COLUMNS,
    OfferRecord,
    _record_time,
    _schedule_of_record,
    _shared_schedule,
)


class Column(NamedTuple):
    """An attribute read from the record's value at ``index``, through ``convert``
    when given (which must make a new object of anything that can be changed)."""

    index: int
    convert: Callable[[Any], Any] | None = None


class Part(NamedTuple):
    """An attribute holding a model object of class ``cls``, its attributes read from
    ``columns``; ``None`` when one of the columns in ``required`` is null."""

    cls: type[Any]
    columns: dict[str, Column]
    required: tuple[str, ...] = ()


# the members by value: a look-up instead of the enum's call (refused values still go
# through the call, which raises)
_PRECISIONS = {member.value: member for member in Precision}


def _precision(value: str) -> Precision:
    return _PRECISIONS.get(value) or Precision(value)


def _column(name: str, convert: Callable[[Any], Any] | None = None) -> Column:
    return Column(OFFER_COLUMNS.index(name), convert)


#: Every attribute of an ``Offer``, in the order of its fields.
OFFER_LAYOUT: dict[str, Column | Part] = {
    "title": _column("title"),
    "kind": _column("kind"),
    "id": _column("id"),
    "description": _column("description"),
    "carrier": _column("carrier"),
    "categories": _column("categories", json_loads),
    "district": _column("district"),
    "district_manual": _column("district_manual", bool),
    "address": Part(
        Address,
        {"street": _column("street"), "postcode": _column("postcode"), "city": _column("city")},
    ),
    "location": Part(
        Location,
        {
            "lat": _column("lat"),
            "lon": _column("lon"),
            "precision": _column("precision", _precision),
        },
        required=("lat", "lon"),
    ),
    "contact": Part(
        Contact,
        {"phone": _column("phone"), "email": _column("email"), "website": _column("website")},
    ),
    "channels": _column("channels", json_loads),
    "schedule": _column("schedule", _schedule_of_record),
    "languages": _column("languages", json_loads),
    "accessibility": Part(
        Accessibility,
        {
            "wheelchair": _column("wheelchair", bool),
            "hearing_loop": _column("hearing_loop", bool),
            "easy_language": _column("easy_language", bool),
            "note": _column("accessibility_note"),
        },
    ),
    "cost": Part(
        Cost, {"free_of_charge": _column("free_of_charge", bool), "note": _column("cost_note")}
    ),
    "target_groups": _column("target_groups", json_loads),
    "verified_at": _column("verified_at", _record_time),
    "status": _column("status"),
    "external_id": _column("external_id"),
    "extra": _column("extra", json_loads),
    "created_at": _column("created_at", _record_time),
    "updated_at": _column("updated_at", _record_time),
    "version": _column("version"),
    "internal_note": _column("internal_note"),
    "verified_by": _column("verified_by"),
}

#: conversions that make a new object, and stand-ins giving the same object for the
#: same value, for callers that never change what they get
SHARED_CONVERSIONS: dict[Callable[[Any], Any], Callable[[Any], Any]] = {
    _schedule_of_record: _shared_schedule,
}

_new = object.__new__


def _made(cls: type[Any], fields: dict[str, Any]) -> Any:
    """An instance of the dataclass ``cls`` with exactly these attributes (all of its
    fields), without calling its ``__init__``, which would only copy them one by one.
    Only for the model's plain dataclasses: no ``__post_init__``, slots or frozen
    fields (``tests/test_record_layout.py`` checks)."""
    made = _new(cls)
    made.__dict__ = fields
    return made


def _expression(source: Column | Part, namespace: dict[str, Any], shared: bool) -> str:
    """The code of an attribute's value made of the record ``r`` (the conversions and
    classes it calls put in ``namespace``)."""

    def value(column: Column) -> str:
        read = f"r[{column.index}]"
        if column.convert is None:
            return read
        convert = column.convert
        if shared:
            convert = SHARED_CONVERSIONS.get(convert, convert)
        name = f"f{len(namespace)}"
        namespace[name] = convert
        return f"{name}({read})"

    if isinstance(source, Column):
        return value(source)
    name = f"c{len(namespace)}"
    namespace[name] = source.cls
    parts = ", ".join(f"{a!r}: {value(c)}" for a, c in source.columns.items())
    made = f"made({name}, {{{parts}}})"
    if not source.required:
        return made
    indices = [source.columns[a].index for a in source.required]
    test = " and ".join(f"r[{i}] is not None" for i in indices)
    return f"({made} if {test} else None)"


def _compiled(name: str, body: str, namespace: dict[str, Any]) -> Callable[[OfferRecord], Any]:
    code = f"def {name}(r):\n    return {body}\n"
    exec(compile(code, f"<directory {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]


def _write_fields(shared: bool) -> Callable[[OfferRecord], dict[str, Any]]:
    """``offer_fields`` as one function of straight-line code (see the module)."""
    namespace: dict[str, Any] = {"made": _made}
    items = [f"{a!r}: {_expression(s, namespace, shared)}" for a, s in OFFER_LAYOUT.items()]
    return _compiled("offer_fields", "{" + ", ".join(items) + "}", namespace)


@cache
def attribute_reader(attribute: str, shared: bool = True) -> Callable[[OfferRecord], Any]:
    """A function giving one attribute of the ``Offer`` of a record, as
    ``offer_fields(record, shared)`` has it (``KeyError`` for an attribute that an
    offer does not have)."""
    namespace: dict[str, Any] = {"made": _made}
    return _compiled("read", _expression(OFFER_LAYOUT[attribute], namespace, shared), namespace)


_FIELDS = _write_fields(shared=False)
_SHARED_FIELDS = _write_fields(shared=True)


def offer_fields(record: OfferRecord, shared: bool = False) -> dict[str, Any]:
    """The attributes of the ``Offer`` of a record, by name, in the order of its fields:
    new objects for all of them, except with ``shared`` the values of
    ``SHARED_CONVERSIONS`` (a schedule: one object for all offers with the same schedule
    text), which must then never be changed."""
    return (_SHARED_FIELDS if shared else _FIELDS)(record)


def offer_from_record(record: OfferRecord) -> Offer:
    """A new ``Offer`` of a record (see ``OfferRecord``); every call builds fresh
    objects, so callers may change what they get."""
    return _made(Offer, _FIELDS(record))
