"""HSDS 3.0 services as offers: the way back of ``mapping.py`` (see ``docs/hsds.md``).

``ServiceReader.offer(service)`` turns one fully nested service into an ``Offer`` (not
validated: the import runner does that) or the ``FieldError`` values, named by HSDS
path (``schedules[1].byday``), that make it unusable. Attributes are understood by their
taxonomy term, nested in the attribute or looked up in the package's taxonomy terms:
terms of the directory's own taxonomies (``seniorennetz:…``, written by any instance)
restore what HSDS has no place for; terms of other taxonomies count as categories when
their code or name is a category key or label of this instance, and are ignored
otherwise (docs/hsds.md says so).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..categories import Taxonomy
from ..languages import LANGUAGE_LABELS
from ..model import (
    WEEKDAYS,
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
from ..validation import FieldError
from .mapping import BYDAY, CATEGORIES_TAG, FIELDS_TAG, FREE_OPTION, PLUGIN_TAG, UNKNOWN

_BYDAY = re.compile(r"^([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_LANGUAGE_BY_NAME = {label.casefold(): code for code, label in LANGUAGE_LABELS.items()}


@dataclass
class ServiceReader:
    """Reads services for one import; ``terms``: taxonomy terms of the source by id."""

    taxonomy: Taxonomy
    default_kind: str = "service"
    terms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._category_by_label = {c.label.casefold(): c.key for c in self.taxonomy}

    def offer(self, service: dict[str, Any]) -> tuple[Offer | None, list[FieldError]]:
        """The offer ``service`` describes, or the errors that prevent it."""
        errors: list[FieldError] = []
        if not isinstance(service, dict):
            return None, [FieldError("-", f"must be an object, got {type(service).__name__}")]
        name = _text(service.get("name"))
        if not name:
            errors.append(FieldError("name", "is required"))
        sid = _text(service.get("id"))
        if not sid:
            errors.append(FieldError("id", "is required"))
        offer = Offer(title=name, kind="", description=_text(service.get("description")))
        if sid:
            offer.id = sid
        offer.status = "active" if service.get("status", "active") == "active" else "archived"
        offer.contact = Contact(
            phone=self._phone(service),
            email=_text(service.get("email")),
            website=_text(service.get("url")),
        )
        if service.get("assured_date"):
            try:
                offer.verified_at = _moment(service["assured_date"])
            except ValueError as exc:
                errors.append(FieldError("assured_date", str(exc)))
        offer.schedule = _schedule(service.get("schedules") or [], errors)
        offer.languages = self._languages(service.get("languages") or [], errors)
        offer.cost = _cost(service)
        fields = self._attributes(service.get("attributes") or [], offer, errors)
        offer.kind = (fields.get("kind") or [self.default_kind])[0]
        offer.channels = fields.get("channel", [])
        offer.target_groups = fields.get("target_group", [])
        flags = set(fields.get("accessibility", []))
        offer.external_id = (fields.get("external_id") or [sid])[0]
        self._location(service, offer, fields, errors)
        offer.accessibility = Accessibility(
            wheelchair="wheelchair" in flags,
            hearing_loop="hearing_loop" in flags,
            easy_language="easy_language" in flags,
            # a service of the directory's own (it has field attributes) says its note
            # in an attribute; another source's only in the location's entries
            note=(fields.get("accessibility_note") or [""])[0]
            if fields
            else self._foreign_accessibility(service),
        )
        if fields.get("district_manual") == ["true"] and fields.get("district"):
            offer.district, offer.district_manual = fields["district"][0], True
        unknown_flags = flags - {"wheelchair", "hearing_loop", "easy_language"}
        if unknown_flags:
            errors.append(
                FieldError("attributes", f"unknown accessibility flag {sorted(unknown_flags)[0]!r}")
            )
        return (None, errors) if errors else (offer, [])

    # -- parts ----------------------------------------------------------------------------

    def _phone(self, service: dict[str, Any]) -> str:
        for phone in service.get("phones") or []:
            if isinstance(phone, dict) and _text(phone.get("number")):
                return _text(phone["number"])
        return ""

    def _languages(self, items: list[Any], errors: list[FieldError]) -> list[str]:
        codes = []
        for i, item in enumerate(items):
            code = _text(item.get("code")) if isinstance(item, dict) else ""
            if not code and isinstance(item, dict):
                code = _LANGUAGE_BY_NAME.get(_text(item.get("name")).casefold(), "")
            if not code:
                errors.append(FieldError(f"languages[{i}]", "has neither a known code nor name"))
                continue
            code = code.lower().split("-")[0]
            if code not in codes:
                codes.append(code)
        return codes

    def _term(self, attribute: dict[str, Any]) -> dict[str, Any] | None:
        term = attribute.get("taxonomy_term")
        if isinstance(term, dict) and term:
            return term
        return self.terms.get(_text(attribute.get("taxonomy_term_id")))

    def _attributes(
        self, items: list[Any], offer: Offer, errors: list[FieldError]
    ) -> dict[str, list[str]]:
        """Fill categories and plugin fields into ``offer``; return the directory's own
        fields (code → values)."""
        fields: dict[str, list[str]] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errors.append(FieldError(f"attributes[{i}]", "must be an object"))
                continue
            term = self._term(item)
            if term is None:
                continue  # a term the source does not describe: nothing to go by
            tag = _text(term.get("taxonomy"))
            code = _text(term.get("code"))
            value = _text(item.get("value"))
            if tag == FIELDS_TAG:
                fields.setdefault(code, []).append(value)
            elif tag.startswith(PLUGIN_TAG):
                plugin, _, name = code.partition(".")
                try:
                    offer.extra.setdefault(plugin, {})[name] = json.loads(value)
                except ValueError:
                    errors.append(
                        FieldError(f"attributes[{i}].value", f"{code}: not JSON: {value!r}")
                    )
            else:
                key = self._category(term, tag == CATEGORIES_TAG)
                if key and key not in offer.categories:
                    offer.categories.append(key)
        return fields

    def _category(self, term: dict[str, Any], ours: bool) -> str | None:
        code = _text(term.get("code"))
        if ours or code in self.taxonomy:
            return code  # an unknown key of ours is reported by validation
        return self._category_by_label.get(_text(term.get("name")).casefold())

    def _location(
        self,
        service: dict[str, Any],
        offer: Offer,
        fields: dict[str, list[str]],
        errors: list[FieldError],
    ) -> None:
        for at in service.get("service_at_locations") or []:
            location = at.get("location") if isinstance(at, dict) else None
            if not isinstance(location, dict) or location.get("location_type") == "virtual":
                continue
            addresses = [a for a in location.get("addresses") or [] if isinstance(a, dict)]
            addresses.sort(key=lambda a: a.get("address_type") != "physical")
            if addresses:
                first = addresses[0]
                street = ", ".join(
                    p for p in (_known(first.get("address_1")), _known(first.get("address_2"))) if p
                )
                offer.address = Address(
                    street=street,
                    postcode=_known(first.get("postal_code")),
                    city=_known(first.get("city")),
                )
            lat, lon = location.get("latitude"), location.get("longitude")
            if lat is not None and lon is not None:
                try:
                    precision = Precision((fields.get("location_precision") or ["manual"])[0])
                except ValueError:
                    errors.append(FieldError("attributes", "unknown location_precision"))
                    return
                try:
                    offer.location = Location(float(lat), float(lon), precision)
                except (TypeError, ValueError):
                    errors.append(FieldError("location.latitude", "must be numbers"))
            return

    def _foreign_accessibility(self, service: dict[str, Any]) -> str:
        """A note from the accessibility entries of a source without our attributes."""
        notes: list[str] = []
        for at in service.get("service_at_locations") or []:
            location = at.get("location") if isinstance(at, dict) else None
            for entry in (location or {}).get("accessibility") or []:
                for key in ("description", "details"):
                    text = _text(entry.get(key)) if isinstance(entry, dict) else ""
                    if text and text not in notes:
                        notes.append(text)
        return "; ".join(notes)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _known(value: Any) -> str:
    """An address part, empty where the source wrote that it is unknown."""
    text = _text(value)
    return "" if text == UNKNOWN else text


def _moment(value: Any) -> datetime:
    """A date (midnight UTC) or date-time from ISO text."""
    text = _text(value)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be a date YYYY-MM-DD, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any, where: str, errors: list[FieldError]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(_text(value)[:10])
    except ValueError:
        errors.append(FieldError(where, f"must be a date YYYY-MM-DD, got {value!r}"))
        return None


def _clock(value: Any) -> str | None:
    found = _TIME.match(_text(value))
    if not found:
        return None
    return f"{int(found.group(1)):02d}:{found.group(2)}"


def _schedule(items: list[Any], errors: list[FieldError]) -> Schedule:
    schedule = Schedule()
    notes: list[str] = []
    for i, item in enumerate(items):
        where = f"schedules[{i}]"
        if not isinstance(item, dict):
            errors.append(FieldError(where, "must be an object"))
            continue
        schedule.valid_from = schedule.valid_from or _day(
            item.get("valid_from"), f"{where}.valid_from", errors
        )
        schedule.valid_until = schedule.valid_until or _day(
            item.get("valid_to"), f"{where}.valid_to", errors
        )
        if _text(item.get("notes")):
            notes.append(_text(item["notes"]))
        freq = _text(item.get("freq")).upper()
        if not freq:
            if not _text(item.get("notes")) and _text(item.get("description")):
                notes.append(_text(item["description"]))
            continue
        opens, closes = _clock(item.get("opens_at")), _clock(item.get("closes_at"))
        days = [d.strip() for d in _text(item.get("byday")).split(",") if d.strip()]
        if freq not in ("WEEKLY", "MONTHLY") or not days or not opens or not closes:
            # a rule the directory cannot express: keep what it says as a note
            text = _text(item.get("description"))
            if text:
                notes.append(text)
            else:
                errors.append(
                    FieldError(where, "needs freq, byday, opens_at and closes_at or a description")
                )
            continue
        by_weekday: dict[str, list[int]] = {}
        for part in days:
            found = _BYDAY.match(part)
            if not found:
                errors.append(FieldError(f"{where}.byday", f"cannot read {part!r}"))
                continue
            weekday = WEEKDAYS[BYDAY.index(found.group(2))]
            weeks = by_weekday.setdefault(weekday, [])
            if found.group(1):
                weeks.append(int(found.group(1)))
        for weekday, weeks in by_weekday.items():
            if freq == "MONTHLY" and weeks:
                rule = ScheduleRule(weekday, opens, closes, "monthly", weeks_of_month=weeks)
            else:
                interval = item.get("interval") or 1
                rule = ScheduleRule(weekday, opens, closes, "weekly", interval=int(interval))
            schedule.rules.append(rule)
    schedule.note = "; ".join(dict.fromkeys(notes))
    return schedule


def _cost(service: dict[str, Any]) -> Cost:
    options = [o for o in service.get("cost_options") or [] if isinstance(o, dict)]
    if options:
        free = any(o.get("amount") == 0 or o.get("option") == FREE_OPTION for o in options)
        notes = [_text(o.get("amount_description")) for o in options]
        return Cost(free_of_charge=free, note=next((n for n in notes if n), ""))
    fees = _text(service.get("fees_description")) or _text(service.get("fees"))
    return Cost(free_of_charge=not fees, note=fees)
