"""What the templates show of an offer, in one page language.

``offer_view`` turns a model ``Offer`` into plain values (labels translated, dates
formatted, the phone number as a ``tel:`` link), so templates hold no logic and every page
(results, offer, handout) shows an offer the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from babel.dates import format_date
from babel.numbers import format_decimal

from directory_core.directory import Directory
from directory_core.labels import (
    accessibility_label,
    category_label,
    channel_label,
    describe_rule,
    kind_label,
    language_name,
    translate,
)
from directory_core.model import Offer

# An offer whose data were last checked longer ago than this is marked on the page.
STALE_AFTER = timedelta(days=365)


@dataclass
class OfferView:
    """One offer as the pages show it (all texts ready to print)."""

    id: str
    title: str
    kind: str
    kind_label: str
    description: str
    carrier: str
    district: str
    address: str
    phone: str
    phone_href: str
    email: str
    website: str
    schedule: list[str]
    schedule_note: str
    channels: list[str]
    languages: list[str]
    accessibility: list[str]
    accessibility_note: str
    free_of_charge: bool
    cost_note: str
    categories: list[str]
    target_groups: list[str]
    verified: str
    verified_stale: bool
    lat: float | None
    lon: float | None
    distance: str = ""
    number: int = 0  # position in a result list (and on its map)
    custom_fields: list[tuple[str, str]] = field(default_factory=list)


def tel_href(phone: str) -> str:
    """A ``tel:`` URL for a German phone number as people write it ("0231 50-29640")."""
    digits = re.sub(r"[^\d+]", "", phone)
    return f"tel:{digits}" if digits else ""


def format_distance(km: float | None, lang: str) -> str:
    """One decimal with the language's separator: "1,3 km" (German), "1.3 km" (English)."""
    if km is None:
        return ""
    return f"{format_decimal(round(km, 1), format='0.0', locale=lang)} km"


def _custom_value(value: object, lang: str) -> str:
    if isinstance(value, bool):
        return translate("ja" if value else "nein", lang)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def custom_fields(directory: Directory, offer: Offer, lang: str) -> list[tuple[str, str]]:
    """The carrier's custom fields of ``offer`` as (label, value), in declaration order."""
    shown = []
    for spec in directory.custom_fields:
        value = (offer.extra or {}).get(spec.namespace, {}).get(spec.name)
        if value is not None and value != [] and value != "":
            shown.append((translate(spec.label, lang), _custom_value(value, lang)))
    return shown


def offer_view(
    directory: Directory,
    offer: Offer,
    lang: str,
    distance_km: float | None = None,
    now: datetime | None = None,
) -> OfferView:
    """The ``OfferView`` of ``offer`` in page language ``lang``."""
    now = now or datetime.now(UTC)
    carrier = directory.carrier_by_key.get(offer.carrier) if offer.carrier else None
    district = directory.district_by_key.get(offer.district) if offer.district else None
    taxonomy = directory.taxonomy
    verified = offer.verified_at
    if verified is not None and verified.tzinfo is None:
        verified = verified.replace(tzinfo=UTC)
    flags = [
        name
        for name in ("wheelchair", "hearing_loop", "easy_language")
        if getattr(offer.accessibility, name)
    ]
    return OfferView(
        id=offer.id,
        title=offer.title,
        kind=offer.kind,
        kind_label=kind_label(offer.kind, lang),
        description=offer.description,
        carrier=carrier.name if carrier else "",
        district=district.name if district else "",
        address=offer.address.one_line(),
        phone=offer.contact.phone,
        phone_href=tel_href(offer.contact.phone),
        email=offer.contact.email,
        website=offer.contact.website,
        schedule=[describe_rule(rule, lang) for rule in offer.schedule.rules],
        schedule_note=offer.schedule.note,
        channels=[channel_label(c, lang) for c in offer.channels],
        languages=[language_name(code, lang) for code in offer.languages],
        accessibility=[accessibility_label(f, lang) for f in flags],
        accessibility_note=offer.accessibility.note,
        free_of_charge=offer.cost.free_of_charge,
        cost_note=offer.cost.note,
        categories=[
            category_label(taxonomy.by_key[k], lang) for k in offer.categories if k in taxonomy
        ],
        target_groups=list(offer.target_groups),
        verified=format_date(verified, format="long", locale=lang) if verified else "",
        verified_stale=verified is None or now - verified > STALE_AFTER,
        lat=offer.location.lat if offer.location else None,
        lon=offer.location.lon if offer.location else None,
        distance=format_distance(distance_km, lang),
        custom_fields=custom_fields(directory, offer, lang),
    )
