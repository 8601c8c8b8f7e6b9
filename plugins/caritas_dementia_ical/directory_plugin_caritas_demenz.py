"""Caritas dementia groups plugin: meeting dates from an iCalendar file become offers.

Each ``VEVENT`` is one dementia group (kind ``dementia_group``, category
``dementia.groups``); its recurrence becomes the offer's schedule:

==========================================  =========================================
iCalendar                                    schedule
==========================================  =========================================
``RRULE:FREQ=WEEKLY;BYDAY=TU``               every Tuesday
``RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH``    every second Thursday (interval 2)
``RRULE:FREQ=MONTHLY;BYDAY=2TU``             2nd Tuesday of the month
``RRULE:FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2``   the same
``RRULE:FREQ=MONTHLY;BYDAY=1MO,3MO``         1st and 3rd Monday
``RRULE:FREQ=MONTHLY;BYDAY=-1FR``            last Friday
no ``RRULE``                                 one meeting (valid from and until that day)
==========================================  =========================================

``DTSTART``/``DTEND`` (or ``DURATION``) give the times in Europe/Berlin, ``DTSTART`` the
first day and ``UNTIL`` (or the last of ``COUNT`` meetings) the last day. ``UID`` is the
external id, ``SUMMARY`` the title, ``DESCRIPTION`` the description, ``LOCATION``
("Gemeindehaus St. Clara, Clarastraße 5, 44263 Dortmund") the address, ``GEO`` the
point, ``ORGANIZER`` (mailto:) the e-mail, a phone number in ``CONTACT`` the phone,
``STATUS:CANCELLED`` archives the offer, and ``X-CARITAS-ANMELDUNG:ja|nein`` says whether
people must register (custom field ``extra.caritas_demenz.registration_required``).
Events with ``RECURRENCE-ID`` (a moved single meeting of a series) are skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from directory_core import hookimpl
from directory_core.custom_fields import CustomField
from directory_core.importers.base import Importer, ImportRecord, SourceError, read_source
from directory_core.importers.mapping import ColumnMapping
from directory_core.model import WEEKDAYS
from directory_core.validation import FieldError

log = logging.getLogger(__name__)

NAMESPACE = "caritas_demenz"  # the plugin name "caritas-demenz" with '-' → '_'
BERLIN = ZoneInfo("Europe/Berlin")
ICAL_DAYS = dict(zip(("MO", "TU", "WE", "TH", "FR", "SA", "SU"), WEEKDAYS, strict=True))
BYDAY = re.compile(r"^([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)$")
# "[Place, ]Street 1, 44263 Dortmund": the street is the part before the postcode
LOCATION = re.compile(
    r"^(?:.*,\s*)?(?P<street>[^,]*\d[^,]*),\s*(?P<postcode>\d{5})\s+(?P<city>[^,]+)$"
)
PHONE = re.compile(r"(?:\+49|0)[\d /()-]{5,}\d")
REGISTRATION = "X-CARITAS-ANMELDUNG"


class UnsupportedEvent(ValueError):
    """An event whose dates cannot be stored as a schedule; the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if hasattr(value, "to_ical") and not isinstance(value, str):
        raw = value.to_ical()
        return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()
    return str(value).strip()


def _local(value: datetime) -> datetime:
    """Wall-clock time in Berlin (floating times are taken as Berlin time)."""
    return value.astimezone(BERLIN) if value.tzinfo else value.replace(tzinfo=BERLIN)


def schedule_of(event: Any) -> dict[str, Any]:
    """``rules``, ``valid_from`` and ``valid_until`` of an event; ``UnsupportedEvent``
    if its dates cannot be written as weekly or monthly rules."""
    if event.get("DTSTART") is None:
        raise UnsupportedEvent("schedule", "DTSTART is missing: every meeting needs a start")
    start = event.decoded("DTSTART")
    if not isinstance(start, datetime):
        raise UnsupportedEvent(
            "schedule", f"DTSTART {start.isoformat()} is a whole day; a meeting needs a time"
        )
    start = _local(start)
    if event.get("DTEND") is not None:
        end = _local(event.decoded("DTEND"))
    elif event.get("DURATION") is not None:
        end = start + event.decoded("DURATION")
    else:
        raise UnsupportedEvent("schedule", "neither DTEND nor DURATION: the end time is unknown")
    if end.date() != start.date() or end <= start:
        raise UnsupportedEvent(
            "schedule", f"must end later on the same day, runs {start:%d.%m. %H:%M}-{end:%H:%M}"
        )
    times = {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    recur = event.get("RRULE")
    if recur is None:  # a single meeting
        weekday = WEEKDAYS[start.weekday()]
        return {
            "rules": [{"weekday": weekday, **times}],
            "valid_from": start.date(),
            "valid_until": start.date(),
        }
    text = _text(recur)
    frequency = (recur.get("FREQ") or ["?"])[0]
    interval = int((recur.get("INTERVAL") or [1])[0])
    days = [BYDAY.match(str(d)) for d in recur.get("BYDAY") or []]
    if None in days:
        raise UnsupportedEvent("schedule", f"RRULE {text}: cannot read BYDAY")
    positions = [int(p) for p in recur.get("BYSETPOS") or []]
    for unsupported in ("BYMONTHDAY", "BYMONTH", "BYYEARDAY", "BYWEEKNO", "BYHOUR"):
        if recur.get(unsupported):
            raise UnsupportedEvent("schedule", f"RRULE {text}: {unsupported} is not supported")
    rules: list[dict[str, Any]] = []
    if frequency == "WEEKLY":
        if positions or any(m.group(1) for m in days):
            raise UnsupportedEvent("schedule", f"RRULE {text}: a weekly rule has no positions")
        weekdays = [ICAL_DAYS[m.group(2)] for m in days] or [WEEKDAYS[start.weekday()]]
        rules = [{"weekday": d, **times, "interval": interval} for d in weekdays]
    elif frequency == "MONTHLY":
        if interval != 1:
            raise UnsupportedEvent(
                "schedule", f"RRULE {text}: every {interval} months cannot be stored"
            )
        if not days:
            raise UnsupportedEvent(
                "schedule",
                f"RRULE {text}: a monthly rule needs BYDAY (e.g. BYDAY=2TU); the same day "
                "of the month cannot be stored",
            )
        weeks: dict[str, list[int]] = {}
        for match in days:
            day = ICAL_DAYS[match.group(2)]
            if match.group(1):
                weeks.setdefault(day, []).append(int(match.group(1)))
            elif positions:
                if len(days) > 1:
                    raise UnsupportedEvent(
                        "schedule", f"RRULE {text}: BYSETPOS with several weekdays"
                    )
                weeks.setdefault(day, []).extend(positions)
            else:  # MONTHLY;BYDAY=TU is every Tuesday
                weeks.setdefault(day, [])
        for day, numbers in weeks.items():
            if numbers:
                rules.append(
                    {**times, "weekday": day, "frequency": "monthly", "weeks_of_month": numbers}
                )
            else:
                rules.append({**times, "weekday": day})
    else:
        raise UnsupportedEvent(
            "schedule",
            f"RRULE FREQ={frequency} is not supported: only WEEKLY and MONTHLY meetings "
            "can be stored as a schedule",
        )
    until = None
    if recur.get("UNTIL"):
        value = recur["UNTIL"][0]
        until = _local(value).date() if isinstance(value, datetime) else value
    elif recur.get("COUNT"):
        occurrences = list(rrulestr(text, dtstart=start))
        until = occurrences[-1].date() if occurrences else start.date()
    return {"rules": rules, "valid_from": start.date(), "valid_until": until}


def address_of(location: str) -> dict[str, str]:
    """Street, postcode and city of "Place, Street 1, 44263 Dortmund"."""
    match = LOCATION.match(" ".join(location.split()))
    if match is None:
        raise UnsupportedEvent(
            "address",
            f"LOCATION {location!r} must end in 'Straße Nr, PLZ Ort' "
            "(e.g. 'Gemeindehaus, Clarastraße 5, 44263 Dortmund')",
        )
    return match.groupdict()


class CaritasDementiaImporter(Importer):
    """Dementia group meetings from an iCalendar file or URL (Caritas calendar export)."""

    name = "caritas-ical"
    description = (
        "Caritas-Demenzgruppen (iCalendar .ics, Datei oder URL): wiederkehrende Termine "
        "(RRULE WEEKLY/MONTHLY) werden zu Zeiten, UID zur Nummer, LOCATION zur Adresse"
    )
    formats = ("ics",)

    def read(self, source: str) -> Iterator[ImportRecord]:
        data = read_source(source)
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except ValueError as exc:
            raise SourceError(f"{source}: not an iCalendar file: {exc}") from exc
        mapping = ColumnMapping.from_settings(
            self.settings,
            self.directory,
            columns={},
            noun="property",
            where=f"importers.{self.name}",
        )
        # the usual kind and category, unless the instance file sets others
        mapping.defaults = {"kind": "dementia_group", "categories": "dementia.groups"} | (
            mapping.defaults
        )
        number = 0
        for event in calendar.walk("VEVENT"):
            if event.get("RECURRENCE-ID") is not None:
                continue
            number += 1
            uid = _text(event.get("UID"))
            location = f"event {number}" + (f" ({uid})" if uid else "")
            yield self._record(mapping, event, location)

    def _record(self, mapping: ColumnMapping, event: Any, location: str) -> ImportRecord:
        errors: list[FieldError] = []
        cells: dict[str, tuple[str, Any]] = {
            "external_id": ("UID", _text(event.get("UID"))),
            "title": ("SUMMARY", _text(event.get("SUMMARY"))),
            "description": ("DESCRIPTION", _text(event.get("DESCRIPTION"))),
        }
        try:
            schedule = schedule_of(event)
        except UnsupportedEvent as exc:
            errors.append(FieldError(exc.field, str(exc)))
        else:
            cells["schedule"] = ("RRULE", schedule["rules"])
            cells["valid_from"] = ("DTSTART", schedule["valid_from"])
            cells["valid_until"] = ("UNTIL", schedule["valid_until"])
        place = _text(event.get("LOCATION"))
        if place:
            try:
                for field, value in address_of(place).items():
                    cells[field] = ("LOCATION", value)
            except UnsupportedEvent as exc:
                errors.append(FieldError(exc.field, str(exc)))
        geo = event.get("GEO")
        if geo is not None:
            cells["lat"], cells["lon"] = ("GEO", geo.latitude), ("GEO", geo.longitude)
        organizer = _text(event.get("ORGANIZER"))
        if organizer.lower().startswith("mailto:"):
            cells["email"] = ("ORGANIZER", organizer[7:])
        phone = PHONE.search(_text(event.get("CONTACT")))
        if phone:
            cells["phone"] = ("CONTACT", phone.group(0).strip())
        if _text(event.get("STATUS")).upper() == "CANCELLED":
            cells["status"] = ("STATUS", "archived")
        if event.get(REGISTRATION) is not None:
            cells[f"extra.{NAMESPACE}.registration_required"] = (
                REGISTRATION,
                _text(event.get(REGISTRATION)),
            )
        record = mapping.convert_cells(cells, location)
        record.errors = errors + record.errors
        if errors:
            record.offer = None
        return record


@hookimpl
def register_importers(register):
    register(CaritasDementiaImporter)


@hookimpl
def register_custom_fields(register):
    register(
        CustomField(
            name="registration_required",
            type="boolean",
            label="Anmeldung erforderlich",
            description="Teilnehmende melden sich vorher an (telefonisch oder per E-Mail).",
            filterable=True,
        )
    )


@hookimpl
def validate_offer(offer):
    values = (offer.extra or {}).get(NAMESPACE) or {}
    if values.get("registration_required") is True:
        if not (offer.contact.phone.strip() or offer.contact.email.strip()):
            return [
                FieldError(
                    f"extra.{NAMESPACE}.registration_required",
                    "registration is required, so a phone number or e-mail address to "
                    "register with is needed",
                )
            ]
    return None


@hookimpl
def offer_changed(offers, change):
    log.info("caritas-demenz: %d dementia group(s) %s", len(offers), change)
