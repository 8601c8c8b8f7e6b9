"""Offers as HSDS 3.0 records (the mapping is written down in ``docs/hsds.md``).

``Publication`` holds what the mapping needs to know about the instance (its key and
name, carriers, categories, plugin fields); build it with ``Publication.of(directory)``.
Every HSDS id is a UUID: a service keeps the offer's id (offers have UUIDs: version 7
since the fourth round of issue 13, version 4 before; any other id is turned into a
uuid5), and every record hanging off a service gets a uuid5 derived from the service id
and its role, so the same offer always gives the same ids
(the service_at_location id is reversible instead, see ``service_at_location_id``).
Empty values are left out rather than written as empty strings, except where HSDS
requires the property.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..categories import Taxonomy
from ..languages import LANGUAGE_LABELS
from ..model import WEEKDAYS, Carrier, Offer, ScheduleRule

if TYPE_CHECKING:  # pragma: no cover
    from ..directory import Directory

#: The namespace of every uuid5 this module derives.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:seniorennetz:hsds")

#: ``taxonomy_term.taxonomy`` of the directory's own taxonomies: instance-independent, so
#: one city's directory recognises another's terms on import.
CATEGORIES_TAG = "seniorennetz:categories"
FIELDS_TAG = "seniorennetz:fields"
PLUGIN_TAG = "seniorennetz:plugin:"

#: The directory's own fields that HSDS has no property for: term code → description.
FIELD_TERMS: dict[str, str] = {
    "kind": "Art des Angebots (service, association, dementia_group, training_offer, "
    "advice_office, meeting_place)",
    "channel": "Zugangsweg (in_person, phone, online, home_visit)",
    "target_group": "Zielgruppe (freier Text)",
    "accessibility": "Barrierefreiheit (wheelchair, hearing_loop, easy_language)",
    "accessibility_note": "Hinweis zur Barrierefreiheit",
    "district": "Stadtbezirk (Schlüssel der Instanz)",
    "district_manual": "Stadtbezirk von Hand gesetzt (true), nicht aus dem Ort abgeleitet",
    "location_precision": "Genauigkeit des Ortes (manual, address, postcode, district)",
    "external_id": "Eigene Kennung des Trägers für das Angebot",
}
ACCESSIBILITY_LABELS = {
    "wheelchair": "rollstuhlgerecht",
    "hearing_loop": "Induktionsschleife",
    "easy_language": "Leichte Sprache",
}
BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREE_OPTION = "kostenlos"
PAID_OPTION = "kostenpflichtig"
STATUS_TO_HSDS = {"active": "active", "archived": "inactive"}
#: HSDS requires street, city, postcode and state of an address, and the tabular form
#: cannot tell an empty cell from a missing one: a part the directory does not know is
#: written as this word (and read back as empty).
UNKNOWN = "unbekannt"


_NAMESPACE_BYTES = NAMESPACE.bytes


def derived_id(*parts: str) -> str:
    """A deterministic UUID for the record named by ``parts``: exactly
    ``uuid.uuid5(NAMESPACE, "/".join(parts))``, computed without building ``UUID``
    objects (an export derives a dozen ids per offer; this is three times faster)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "/".join(parts).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Keeps the version and variant bits of a UUID when XOR-ed onto it.
_KEEP_VERSION = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_AT_LOCATION_MASK = uuid.uuid5(NAMESPACE, "service_at_location").int & _KEEP_VERSION


def service_at_location_id(sid: str) -> str:
    """The id of a service's one service_at_location: the service id XOR-ed with a fixed
    mask. Unlike a uuid5 it can be turned back (``service_of_at_location``), so
    ``/service_at_locations/{id}`` finds its offer without a look-up table."""
    return str(uuid.UUID(int=uuid.UUID(sid).int ^ _AT_LOCATION_MASK))


def service_of_at_location(at_location_id: str) -> str:
    """The service id behind a service_at_location id (``ValueError`` if not a UUID)."""
    return str(uuid.UUID(int=uuid.UUID(at_location_id).int ^ _AT_LOCATION_MASK))


def service_id(offer_id: str) -> str:
    """The HSDS service id of an offer: its own id when that is a UUID."""
    try:
        return str(uuid.UUID(offer_id))
    except ValueError:
        return derived_id("offer", offer_id)


def iso_datetime(value: datetime) -> str:
    """UTC, milliseconds, ``Z`` (as the HSDS example ``2023-03-15T10:30:45.123Z``)."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _put(record: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Set the values that are not empty ("" / None / [])."""
    for name, value in values.items():
        if value not in ("", None, []):
            record[name] = value
    return record


@dataclass
class Publication:
    """What the mapping needs to know about the instance publishing its offers."""

    key: str
    name: str
    city: str
    carriers: dict[str, Carrier]
    taxonomy: Taxonomy
    plugin_fields: dict[str, list[str]] = field(default_factory=dict)  # plugin → field paths
    #: the state (Bundesland) of every address (``[plugins.hsds] state_province``)
    state_province: str = UNKNOWN
    #: nest each attribute's taxonomy term (the API does; a package has taxonomy_terms)
    embed_terms: bool = True
    _term_ids: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, directory: Directory, *, embed_terms: bool = True) -> Publication:
        plugins: dict[str, list[str]] = {}
        for custom in directory.custom_fields:
            plugins.setdefault(custom.namespace, []).append(custom.path)
        return cls(
            key=directory.instance.key,
            name=directory.instance.name,
            city=directory.instance.city,
            carriers=dict(directory.carrier_by_key),
            taxonomy=directory.taxonomy,
            plugin_fields=plugins,
            state_province=str(
                directory.instance.plugin_settings.get("hsds", {}).get("state_province", UNKNOWN)
            ),
            embed_terms=embed_terms,
        )

    # -- ids ----------------------------------------------------------------------------

    def organization_id(self, carrier: str | None) -> str:
        return derived_id(self.key, "carrier", carrier or "-")

    def taxonomy_id(self, tag: str) -> str:
        return derived_id(self.key, "taxonomy", tag)

    def term_id(self, tag: str, code: str) -> str:
        found = self._term_ids.get((tag, code))
        if found is None:
            found = self._term_ids[tag, code] = derived_id(self.key, "term", tag, code)
        return found

    def taxonomy_uri(self, tag: str) -> str:
        """A URN naming the taxonomy of this instance (``urn:seniorennetz:dortmund:…``)."""
        return f"urn:seniorennetz:{self.key}:{tag.removeprefix('seniorennetz:')}"

    # -- organizations --------------------------------------------------------------------

    def organization(self, carrier_key: str | None) -> dict[str, Any]:
        """The organization of a carrier (``None``: offers without a carrier)."""
        carrier = self.carriers.get(carrier_key or "")
        org_id = self.organization_id(carrier_key)
        if carrier is None:
            return {
                "id": org_id,
                "name": self.name,
                "description": f"Angebote ohne Träger im Verzeichnis {self.name}",
            }
        record = {
            "id": org_id,
            "name": carrier.name,
            "description": f"Träger von Angeboten im Verzeichnis {self.name}",
        }
        _put(record, website=carrier.website)
        record["organization_identifiers"] = [
            {
                "id": derived_id(org_id, "identifier"),
                "organization_id": org_id,
                "identifier_type": "carrier_key",
                "identifier": carrier.key,
            }
        ]
        return record

    def organization_list_item(self, carrier_key: str | None) -> dict[str, Any]:
        """The organization without its nested lists (``organization_list`` form)."""
        record = self.organization(carrier_key)
        record.pop("organization_identifiers", None)
        return record

    # -- taxonomies -----------------------------------------------------------------------

    def taxonomy_tags(self) -> list[str]:
        return [CATEGORIES_TAG, FIELDS_TAG] + [PLUGIN_TAG + p for p in sorted(self.plugin_fields)]

    def taxonomy_record(self, tag: str) -> dict[str, Any]:
        if tag == CATEGORIES_TAG:
            name, text = "Kategorien", "Die Kategorien der Angebote"
        elif tag == FIELDS_TAG:
            name = "Angebotsmerkmale"
            text = "Merkmale der Angebote, für die HSDS keine eigene Eigenschaft hat"
        else:
            plugin = tag.removeprefix(PLUGIN_TAG)
            name, text = f"Zusatzfelder {plugin}", f"Zusatzfelder des Plugins {plugin}"
        return {
            "id": self.taxonomy_id(tag),
            "name": f"{self.name}: {name}",
            "description": f"{text} im Verzeichnis {self.name} ({tag}).",
            "uri": self.taxonomy_uri(tag),
            "version": "1",
        }

    def taxonomies(self) -> list[dict[str, Any]]:
        return [self.taxonomy_record(tag) for tag in self.taxonomy_tags()]

    def term(self, tag: str, code: str) -> dict[str, Any]:
        """The taxonomy term ``code`` of the taxonomy ``tag``."""
        record: dict[str, Any] = {"id": self.term_id(tag, code), "code": code}
        if tag == CATEGORIES_TAG:
            category = self.taxonomy.by_key[code]
            record["name"] = category.label
            record["description"] = category.description or category.label
            if category.parent:
                record["parent_id"] = self.term_id(tag, category.parent)
        elif tag == FIELDS_TAG:
            record["name"] = code
            record["description"] = FIELD_TERMS[code]
        else:
            record["name"] = code
            record["description"] = f"Zusatzfeld {code} (Wert als JSON)"
        record.update(
            taxonomy=tag,
            language="de",
            taxonomy_id=self.taxonomy_id(tag),
            term_uri=f"{self.taxonomy_uri(tag)}:{code}",
        )
        return record

    def terms(self) -> list[dict[str, Any]]:
        found = [self.term(CATEGORIES_TAG, key) for key in sorted(self.taxonomy.by_key)]
        found += [self.term(FIELDS_TAG, code) for code in FIELD_TERMS]
        for plugin in sorted(self.plugin_fields):
            found += [self.term(PLUGIN_TAG + plugin, p) for p in self.plugin_fields[plugin]]
        return found

    # -- services ---------------------------------------------------------------------------

    def service_list_item(self, offer: Offer) -> dict[str, Any]:
        """The one-to-one fields of the service (``service_list`` form)."""
        sid = service_id(offer.id)
        record: dict[str, Any] = {
            "id": sid,
            "organization_id": self.organization_id(offer.carrier),
            "name": offer.title,
        }
        _put(record, description=offer.description)
        _put(record, url=offer.contact.website, email=offer.contact.email)
        record["status"] = STATUS_TO_HSDS.get(offer.status, "inactive")
        if offer.verified_at is not None:
            record["assured_date"] = offer.verified_at.astimezone(UTC).date().isoformat()
        if offer.updated_at is not None:
            record["last_modified"] = iso_datetime(offer.updated_at)
        record["organization"] = self.organization_list_item(offer.carrier)
        return record

    def service(self, offer: Offer) -> dict[str, Any]:
        """The fully nested service (``compiled/service.json`` form)."""
        record = self.service_list_item(offer)
        sid = record["id"]
        record["organization"] = self.organization(offer.carrier)
        _put(
            record,
            phones=_phones(sid, offer),
            schedules=_schedules(sid, offer),
            service_at_locations=[self.service_at_location(offer, with_service=False)],
            languages=_languages(sid, offer),
            cost_options=_cost_options(sid, offer),
            attributes=self.attributes(offer),
        )
        return record

    def service_at_location(
        self, offer: Offer, *, with_service: bool = True, full: bool = True
    ) -> dict[str, Any]:
        """The offer at its one location (``with_service``: the service nested in it, as
        the ``/service_at_locations`` answers carry it; ``full``: all nested lists)."""
        sid = service_id(offer.id)
        location = self.location(offer, full=full)
        record: dict[str, Any] = {
            "id": service_at_location_id(sid),
            "service_id": sid,
            "location_id": location["id"],
            "location": location,
        }
        if with_service:
            service = self.service(offer) if full else self.service_list_item(offer)
            service.pop("service_at_locations", None)
            record["service"] = service
        return record

    def location(self, offer: Offer, *, full: bool = True) -> dict[str, Any]:
        """Where the offer is: ``physical`` with an address or point, else ``virtual``
        (phone, online or home visits only), so every service has one location."""
        sid = service_id(offer.id)
        lid = derived_id(sid, "location")
        physical = offer.location is not None or not offer.address.is_empty()
        record: dict[str, Any] = {
            "id": lid,
            "location_type": "physical" if physical else "virtual",
            "organization_id": self.organization_id(offer.carrier),
            "name": offer.title,
        }
        if not physical:
            _put(record, url=offer.contact.website)
        if offer.location is not None:
            record["latitude"] = offer.location.lat
            record["longitude"] = offer.location.lon
        if not full:
            return record
        if not offer.address.is_empty():
            record["addresses"] = [
                {
                    "id": derived_id(sid, "address"),
                    "location_id": lid,
                    "address_1": offer.address.street or UNKNOWN,
                    "city": offer.address.city or UNKNOWN,
                    "state_province": self.state_province,
                    "postal_code": offer.address.postcode or UNKNOWN,
                    "country": "DE",
                    "address_type": "physical",
                }
            ]
        _put(record, accessibility=_accessibility(sid, lid, offer))
        return record

    def attributes(self, offer: Offer) -> list[dict[str, Any]]:
        """Categories, the directory's own fields and plugin fields, as attributes of the
        service (each with its taxonomy term nested, so the service explains itself)."""
        sid = service_id(offer.id)
        pairs: list[tuple[str, str, str | None]] = [
            (CATEGORIES_TAG, key, None) for key in offer.categories
        ]
        values: list[tuple[str, Iterable[str]]] = [
            ("kind", [offer.kind]),
            ("channel", offer.channels),
            ("target_group", offer.target_groups),
            ("accessibility", _flags(offer)),
            ("accessibility_note", [offer.accessibility.note]),
            ("district", [offer.district or ""]),
            ("district_manual", ["true"] if offer.district_manual else []),
            ("location_precision", [offer.location.precision.value if offer.location else ""]),
            ("external_id", [offer.external_id or ""]),
        ]
        pairs += [(FIELDS_TAG, code, v) for code, items in values for v in items if v]
        for plugin, fields in sorted(offer.extra.items()):
            for name, value in sorted(fields.items()):
                if value is not None:
                    pairs.append((PLUGIN_TAG + plugin, f"{plugin}.{name}", _json(value)))
        found = []
        for i, (tag, code, value) in enumerate(pairs):
            record = {
                "id": derived_id(sid, "attribute", str(i)),
                "link_id": sid,
                "taxonomy_term_id": self.term_id(tag, code),
                "link_type": "category" if tag == CATEGORIES_TAG else "field",
                "link_entity": "service",
            }
            _put(record, value=value)
            if self.embed_terms:
                record["taxonomy_term"] = self.term(tag, code)
            found.append(record)
        return found


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _flags(offer: Offer) -> list[str]:
    return [flag for flag in ACCESSIBILITY_LABELS if getattr(offer.accessibility, flag)]


def _phones(sid: str, offer: Offer) -> list[dict[str, Any]]:
    if not offer.contact.phone:
        return []
    return [{"id": derived_id(sid, "phone"), "service_id": sid, "number": offer.contact.phone}]


def byday(rule: ScheduleRule) -> str:
    """RFC 5545 BYDAY: ``TU`` weekly, ``2TU,-1TU`` for the 2nd and last Tuesday."""
    day = BYDAY[WEEKDAYS.index(rule.weekday)]
    if rule.frequency == "monthly":
        return ",".join(f"{n}{day}" for n in rule.weeks_of_month)
    return day


def _schedules(sid: str, offer: Offer) -> list[dict[str, Any]]:
    schedule = offer.schedule
    valid = {
        "valid_from": schedule.valid_from.isoformat() if schedule.valid_from else None,
        "valid_to": schedule.valid_until.isoformat() if schedule.valid_until else None,
    }
    found = []
    for i, rule in enumerate(schedule.rules):
        record: dict[str, Any] = {"id": derived_id(sid, "schedule", str(i)), "service_id": sid}
        _put(record, **valid)
        record.update(freq=rule.frequency.upper(), wkst="MO")
        if rule.frequency == "weekly":
            record["interval"] = rule.interval
        record.update(
            byday=byday(rule),
            description=rule.describe(),
            opens_at=rule.start,
            closes_at=rule.end,
        )
        if i == 0:
            _put(record, notes=schedule.note)
        found.append(record)
    if not found and (schedule.note or schedule.valid_from or schedule.valid_until):
        record = {"id": derived_id(sid, "schedule", "0"), "service_id": sid}
        found.append(_put(record, **valid, description=schedule.note, notes=schedule.note))
    return found


def _languages(sid: str, offer: Offer) -> list[dict[str, Any]]:
    return [
        {
            "id": derived_id(sid, "language", code),
            "service_id": sid,
            "name": LANGUAGE_LABELS.get(code, code),
            "code": code,
        }
        for code in offer.languages
    ]


def _cost_options(sid: str, offer: Offer) -> list[dict[str, Any]]:
    record: dict[str, Any] = {"id": derived_id(sid, "cost_option"), "service_id": sid}
    if offer.cost.free_of_charge:
        record.update(option=FREE_OPTION, currency="EUR", amount=0)
    else:
        record["option"] = PAID_OPTION
    return [_put(record, amount_description=offer.cost.note)]


def _accessibility(sid: str, lid: str, offer: Offer) -> list[dict[str, Any]]:
    """Human-readable accessibility of the location: one entry per flag (the note as
    ``details``), or one with the note alone."""
    note = offer.accessibility.note
    flags = _flags(offer)
    found = [
        _put(
            {"id": derived_id(sid, "accessibility", flag), "location_id": lid},
            description=ACCESSIBILITY_LABELS[flag],
            details=note,
        )
        for flag in flags
    ]
    if not flags and note:
        found.append(
            {"id": derived_id(sid, "accessibility", "note"), "location_id": lid, "details": note}
        )
    return found
