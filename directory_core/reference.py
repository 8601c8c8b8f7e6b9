"""The reference of the offer model for plugin authors, generated from the code.

``render_reference()`` is the text of ``docs/reference.md``: the fields of ``Offer`` and
the classes it is built from (name, type, default, meaning), the kind strings, the
channels and the default category keys. ``tests/test_reference.py`` checks that the
committed file equals it, so the page cannot drift from the model. After changing the
model, regenerate it::

    .venv/bin/python -m directory_core.reference > docs/reference.md

A new field needs a line in ``MEANINGS`` (``render_reference`` refuses to leave one out).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .categories import DEFAULT_CATEGORIES
from .model import (
    KIND_LABELS,
    Accessibility,
    AccessibilityFlag,
    Address,
    Channel,
    Contact,
    Cost,
    Location,
    Offer,
    OfferKind,
    OfferStatus,
    Precision,
    Schedule,
    ScheduleRule,
)
from .validation import MAX_LENGTHS, PLACELESS_CHANNELS

CLASSES: tuple[type, ...] = (
    Offer,
    Address,
    Location,
    Contact,
    Schedule,
    ScheduleRule,
    Accessibility,
    Cost,
)

#: What each field means (``Class.field``): one short sentence each.
MEANINGS: dict[str, str] = {
    "Offer.title": "The title people see (required, at most 300 characters).",
    "Offer.kind": "What sort of listing: one of the kind strings below.",
    "Offer.id": "The directory's own id; leave it to the core.",
    "Offer.description": "Free text.",
    "Offer.carrier": "Carrier key; an importer leaves it to the core.",
    "Offer.categories": "Category keys (below, plus the instance's and plugins' own).",
    "Offer.district": "District key of the instance; derived from the location if not set.",
    "Offer.district_manual": "True: `district` is set by hand, not derived from the location.",
    "Offer.address": "Where the offer takes place; geocoded to `location`.",
    "Offer.location": "Coordinates; leave `None` to geocode the address.",
    "Offer.contact": "Phone, e-mail and website.",
    "Offer.channels": "How people reach the offer: channel strings below.",
    "Offer.schedule": "When the offer takes place.",
    "Offer.languages": "ISO 639-1 codes (`de`, `tr`, ...).",
    "Offer.accessibility": "Accessibility flags and a note.",
    "Offer.cost": "Free of charge or not, and a note.",
    "Offer.target_groups": "Free-text target groups (`Angehörige`).",
    "Offer.verified_at": "When the carrier last checked the listing.",
    "Offer.status": "`active` or `archived`; imports archive, never delete.",
    "Offer.external_id": "The carrier's own id (required for imports; matches re-imports).",
    "Offer.extra": "Custom fields by plugin: `{'example': {'step_free': True}}`.",
    "Offer.created_at": "Set by the store.",
    "Offer.updated_at": "Set by the store.",
    "Offer.version": "Set by the store, bumped on every change; API writes must name it.",
    "Offer.internal_note": "Staff only (counsellors, editors, admins); never public.",
    "Offer.verified_by": "Who last confirmed the listing (with `verified_at`).",
    "Address.street": "Street and number.",
    "Address.postcode": "Five digits.",
    "Address.city": "City.",
    "Location.lat": "Latitude (-90 to 90).",
    "Location.lon": "Longitude (-180 to 180).",
    "Location.precision": "How exactly the point is known: precision strings below.",
    "Contact.phone": "Digits, spaces and + ( ) / - .",
    "Contact.email": "An e-mail address.",
    "Contact.website": "An http(s) URL.",
    "Schedule.rules": "Recurring time slots (`ScheduleRule`).",
    "Schedule.valid_from": "First day, or `None`.",
    "Schedule.valid_until": "Last day, or `None`.",
    "Schedule.note": "Free text on the times.",
    "ScheduleRule.weekday": "`mon` ... `sun`.",
    "ScheduleRule.start": "`HH:MM`.",
    "ScheduleRule.end": "`HH:MM`, after `start`.",
    "ScheduleRule.frequency": "`weekly` or `monthly`.",
    "ScheduleRule.interval": "Weekly rules: every this many weeks.",
    "ScheduleRule.weeks_of_month": "Monthly rules: 1 to 5, -1 for the last.",
    "Accessibility.wheelchair": "Step-free, usable in a wheelchair.",
    "Accessibility.hearing_loop": "Has a hearing loop.",
    "Accessibility.easy_language": "Offered in easy language (Leichte Sprache).",
    "Accessibility.note": "Free text.",
    "Cost.free_of_charge": "True if free.",
    "Cost.note": "Free text, e.g. the fee.",
}


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{f.default!r}`"
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        if f.name == "id":
            return "a new UUID"
        value: Any = f.default_factory()  # type: ignore[misc]
        return f"`{type(value).__name__}()`" if dataclasses.is_dataclass(value) else f"`{value!r}`"
    return "required"


def _class_table(cls: type) -> list[str]:
    lines = [
        f"### `{cls.__name__}`",
        "",
        "| field | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(cls):
        key = f"{cls.__name__}.{f.name}"
        if key not in MEANINGS:
            raise KeyError(f"{key} has no line in directory_core.reference.MEANINGS")
        kind = str(f.type).replace("|", "\\|")  # a bare | would end the table cell
        lines.append(f"| `{f.name}` | `{kind}` | {_default(f)} | {MEANINGS[key]} |")
    return [*lines, ""]


def render_reference() -> str:
    """The text of ``docs/reference.md``."""
    stale = set(MEANINGS) - {
        f"{cls.__name__}.{f.name}" for cls in CLASSES for f in dataclasses.fields(cls)
    }
    if stale:
        raise KeyError(f"MEANINGS names fields that do not exist: {', '.join(sorted(stale))}")
    names = "".join(f"    {name},\n" for name in ["Category", *(c.__name__ for c in CLASSES)])
    lines = [
        "# Offer model reference",
        "",
        "<!-- generated by `python -m directory_core.reference > docs/reference.md`; "
        "do not edit by hand -->",
        "",
        "What an importer builds, field by field. The classes are plain dataclasses:",
        "",
        "```python",
        f"from directory_core.model import (\n{names})",
        "```",
        "",
        "Text fields have these limits: "
        + ", ".join(f"`{k}` {v}" for k, v in MAX_LENGTHS.items())
        + " characters.",
        "",
        "## Classes",
        "",
    ]
    for cls in CLASSES:
        lines += _class_table(cls)
    lines += ["## Kind strings (`Offer.kind`)", "", "| kind | German label |", "|---|---|"]
    lines += [f"| `{k.value}` | {KIND_LABELS[k.value]} |" for k in OfferKind]
    lines += ["", "## Channels (`Offer.channels`)", ""]
    lines += [
        f"- `{c.value}`" + (" (needs no place)" if c.value in PLACELESS_CHANNELS else "")
        for c in Channel
    ]
    lines += [
        "",
        "An offer with no address, coordinates or district is rejected unless all its "
        "channels need no place.",
        "",
        "## Other value strings",
        "",
        "- `Offer.status`: " + ", ".join(f"`{s.value}`" for s in OfferStatus),
        "- `Location.precision`: " + ", ".join(f"`{p.value}`" for p in Precision),
        "- accessibility flags (GraphQL filter): "
        + ", ".join(f"`{a.value}`" for a in AccessibilityFlag),
        "",
        "## Category keys (`Offer.categories`)",
        "",
        "The default taxonomy (`directory_core/categories.py`); an instance may replace or "
        "extend it, and plugins add their own with `register(Category(key, label, parent))`.",
        "",
        "| key | label | parent |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{k}` | {label} | {f'`{p}`' if p else ''} |" for k, label, p in DEFAULT_CATEGORIES
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render_reference(), end="")
