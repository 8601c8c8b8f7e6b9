"""The built-in JSON importer (``directory import CARRIER json FILE_OR_URL``).

The format is the offer as the GraphQL API shows it, in snake_case: either a list of
offers or an object ``{"offers": [...]}`` (other top-level keys are ignored, e.g. a
``"note"``). Each offer is an object with these keys (only ``external_id``, ``title``
and ``kind`` are required)::

    {
      "external_id": "awo-17",
      "title": "Demenzcafé Hörde",
      "kind": "dementia_group",
      "description": "...",
      "categories": ["dementia.groups", "relief.family_carers"],
      "district": "hoerde",
      "address": {"street": "Hörder Bahnhofstraße 16", "postcode": "44263", "city": "Dortmund"},
      "location": {"lat": 51.4847, "lon": 7.4996},
      "contact": {"phone": "0231 1234567", "email": "cafe@example.org",
                  "website": "https://example.org"},
      "channels": ["in_person", "phone"],
      "languages": ["de", "tr"],
      "schedule": {"rules": ["jeden 2. Di 14-16 Uhr",
                             {"weekday": "fri", "start": "10:00", "end": "12:00"}],
                   "valid_from": "2026-01-01", "valid_until": "2026-12-31",
                   "note": "nicht in den Ferien"},
      "accessibility": {"wheelchair": true, "hearing_loop": false, "easy_language": true,
                        "note": "Rampe am Seiteneingang"},
      "cost": {"free_of_charge": false, "note": "2 € für Kaffee"},
      "target_groups": ["Menschen mit Demenz", "Angehörige"],
      "verified_at": "2026-11-01T10:00:00+00:00",
      "status": "active",
      "extra": {"awo": {"transport_service": true}}
    }

Flat keys (``"postcode"``, ``"phone"``, ``"schedule": "Di 14-16 Uhr"``) work too; values
are converted like spreadsheet cells (see ``importers/mapping.py``). An unknown key
rejects the offer, so a misspelt key is never silently dropped. Reports name entries
as ``offers[3] (line 42)``; invalid JSON is a ``SourceError`` with line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .. import hookimpl
from ..validation import FieldError
from .base import Importer, ImportRecord, SourceError
from .mapping import FIELDS, ColumnMapping, is_blank

# nested key → mapping field
NESTED: dict[str, str] = {
    "address.street": "street",
    "address.postcode": "postcode",
    "address.city": "city",
    "location.lat": "lat",
    "location.lon": "lon",
    "contact.phone": "phone",
    "contact.email": "email",
    "contact.website": "website",
    "schedule.rules": "schedule",
    "schedule.text": "schedule",
    "schedule.note": "schedule_note",
    "schedule.valid_from": "valid_from",
    "schedule.valid_until": "valid_until",
    "accessibility.wheelchair": "wheelchair",
    "accessibility.hearing_loop": "hearing_loop",
    "accessibility.easy_language": "easy_language",
    "accessibility.note": "accessibility_note",
    "cost.free_of_charge": "free_of_charge",
    "cost.note": "cost_note",
}
GROUPS = frozenset(key.split(".")[0] for key in NESTED) | {"extra"}
_WHITESPACE = " \t\n\r"


def load_json(text: str, source: str) -> Any:
    """Parse ``text``; invalid JSON is a ``SourceError`` naming line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def array_lines(text: str, key: str | None) -> list[int]:
    """The line of each element of the top-level array (``key`` None) or of the array
    under top-level ``key``; only called on text that parsed."""
    decoder = json.JSONDecoder()
    index = _skip(text, 0)
    if key is not None:  # walk the top-level object to the value of ``key``
        index = _skip(text, index + 1)
        while text[index] != "}":
            name, index = decoder.raw_decode(text, index)
            index = _skip(text, _skip(text, index) + 1)  # past ':'
            if name == key:
                break
            _, index = decoder.raw_decode(text, index)
            index = _skip(text, index)
            if text[index] == ",":
                index = _skip(text, index + 1)
    lines: list[int] = []
    index = _skip(text, index + 1)  # past '['
    while index < len(text) and text[index] != "]":
        lines.append(text.count("\n", 0, index) + 1)
        _, index = decoder.raw_decode(text, index)
        index = _skip(text, index)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return lines


def entries(text: str, source: str, key: str) -> list[tuple[str, Any]]:
    """(location, value) of each element of the list at the top or under ``key``:
    ``("offers[3] (line 42)", {...})``."""
    data = load_json(text, source)
    if isinstance(data, list):
        items, under = data, None
    elif isinstance(data, dict) and isinstance(data.get(key), list):
        items, under = data[key], key
    else:
        found = (
            f"an object with the keys {', '.join(map(repr, data))}"
            if isinstance(data, dict)
            else f"a JSON {type(data).__name__}"
        )
        raise SourceError(
            f"{source}: expected a list of entries or an object with a list {key!r}, got {found}"
        )
    lines = array_lines(text, under)
    if len(lines) != len(items):  # e.g. a key given twice: json keeps the last one
        return [(f"{key}[{i}]", item) for i, item in enumerate(items)]
    return [
        (f"{key}[{i}] (line {line})", item)
        for i, (line, item) in enumerate(zip(lines, items, strict=True))
    ]


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"address": {"postcode": 1}}`` → ``{"address.postcode": 1}`` (only the known
    groups and ``extra.PLUGIN.FIELD`` are opened; other values stay as they are)."""
    flat: dict[str, Any] = {}
    for name, item in value.items():
        path = f"{prefix}{name}"
        if isinstance(item, dict) and (
            (not prefix and name in GROUPS) or (prefix == "extra." and path.count(".") == 1)
        ):
            flat.update(flatten(item, f"{path}."))
        else:
            flat[path] = item
    return flat


class JsonImporter(Importer):
    """Offers in the directory's own JSON format (see the module docstring)."""

    name = "json"
    description = (
        'JSON file or URL: a list of offers or {"offers": [...]}, fields as in the GraphQL '
        "API (snake_case, nested address/contact/schedule/... objects)"
    )
    formats = ("json",)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._entries: dict[str, list[tuple[str, Any]]] = {}

    def _load(self, source: str) -> list[tuple[str, Any]]:
        if source not in self._entries:
            text = self.read_text(source)
            self._entries[source] = entries(text, source, "offers")
        return self._entries[source]

    def read(self, source: str) -> Iterator[ImportRecord]:
        mapping = ColumnMapping.from_settings(
            self.settings,
            self.directory,
            noun="key",
            where=f"importers.{self.name}",
            other_settings=("encoding",),
        )
        items = self._load(source)
        known = set(FIELDS) | set(mapping.custom_fields)
        try:
            for location, item in items:
                if not isinstance(item, dict):
                    yield ImportRecord(
                        location, errors=[FieldError("-", f"must be an object, got {item!r}")]
                    )
                    continue
                cells: dict[str, tuple[str, Any]] = {}
                errors = []
                for path, value in flatten(item).items():
                    field = NESTED.get(path, path)
                    if field not in known or field in cells:
                        reason = "unknown key" if field not in known else f"{field} given twice"
                        errors.append(FieldError(path, reason))
                        continue
                    cells[field] = (path, value)
                if errors:
                    given_id = cells.get("external_id", ("", None))[1]
                    yield ImportRecord(
                        location,
                        errors=errors,
                        external_id=None if is_blank(given_id) else str(given_id),
                    )
                    continue
                yield mapping.convert_cells(cells, location)
        finally:
            self._entries.pop(source, None)

    def count(self, source: str) -> int | None:
        if source.startswith(("http://", "https://")):
            return None
        return len(self._load(source))


@hookimpl(trylast=True)
def register_importers(register):
    register(JsonImporter)
