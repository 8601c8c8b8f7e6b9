"""Diakonie carrier plugin: imports the Diakonie's JSON feed of offers (file or URL).

The feed is the carrier's own format::

    {
      "stand": "2026-01-15",
      "angebote": [
        {
          "id": "D-2001",
          "titel": "Seniorennachmittag",
          "typ": "Begegnung",
          "beschreibung": "...",
          "kategorien": ["Begegnung und Geselligkeit"],
          "adresse": {"strasse": "Kirchweg 1", "plz": "44139", "ort": "Dortmund"},
          "kontakt": {"telefon": "0231 ...", "email": "...", "web": "https://..."},
          "termine": ["jeden 2. Dienstag 14-16 Uhr"],
          "sprachen": ["Deutsch"],
          "barrierefrei": true,
          "kosten": "kostenlos",
          "gemeinde": "Ev. Kirchengemeinde ..."
        }
      ]
    }

``directory import diakonie diakonie-json https://example.org/angebote.json`` reads it.
Keys the directory does not use are ignored (the feed serves other sites too).
Custom field: ``extra.diakonie.parish`` (Kirchengemeinde, searchable). The plugin also
adds the category ``encounter.pastoral_care`` (Seelsorge und Gottesdienste).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from directory_core import hookimpl
from directory_core.custom_fields import CustomField
from directory_core.importers.base import Importer, ImportRecord
from directory_core.importers.json_importer import entries
from directory_core.importers.mapping import ColumnMapping
from directory_core.model import Category
from directory_core.validation import FieldError

log = logging.getLogger(__name__)

#: offer field → key of an entry in the feed (nested keys joined with ".")
KEYS = {
    "external_id": "id",
    "title": "titel",
    "kind": "typ",
    "description": "beschreibung",
    "categories": "kategorien",
    "street": "adresse.strasse",
    "postcode": "adresse.plz",
    "city": "adresse.ort",
    "phone": "kontakt.telefon",
    "email": "kontakt.email",
    "website": "kontakt.web",
    "schedule": "termine",
    "languages": "sprachen",
    "wheelchair": "barrierefrei",
    "cost": "kosten",
    "extra.diakonie.parish": "gemeinde",
}
VALUES = {
    "kind": {
        "Begegnung": "meeting_place",
        "Seniorenkreis": "meeting_place",
        "Demenzcafé": "dementia_group",
        "Besuchsdienst": "service",
        "Beratung": "advice_office",
        "Kurs": "training_offer",
        "Gottesdienst": "meeting_place",
    },
    "categories": {"Seelsorge": "encounter.pastoral_care"},
}


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys: ``{"adresse": {"plz": 1}}`` → ``{"adresse.plz": 1}``."""
    flat: dict[str, Any] = {}
    for name, item in value.items():
        if isinstance(item, dict):
            flat.update(flatten(item, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = item
    return flat


class DiakonieFeedImporter(Importer):
    """The Diakonie's JSON feed (``{"stand": ..., "angebote": [...]}``), file or URL."""

    name = "diakonie-json"
    description = (
        'Diakonie-Feed (JSON, Datei oder URL): {"stand", "angebote": [{"id", "titel", "typ", '
        '"adresse", "kontakt", "termine", "gemeinde", ...}]}'
    )
    formats = ("json",)

    def read(self, source: str) -> Iterator[ImportRecord]:
        text = self.read_text(source)
        mapping = ColumnMapping.from_settings(
            self.settings,
            self.directory,
            columns=KEYS,
            values=VALUES,
            noun="key",
            where=f"importers.{self.name}",
            other_settings=("encoding",),
        )
        for location, item in entries(text, source, "angebote"):
            if not isinstance(item, dict):
                yield ImportRecord(
                    location, errors=[FieldError("-", f"must be an object, got {item!r}")]
                )
                continue
            flat = flatten(item)
            cells = {
                field: (key, flat[key]) for field, key in mapping.explicit.items() if key in flat
            }
            yield mapping.convert_cells(cells, location)


@hookimpl
def register_importers(register):
    register(DiakonieFeedImporter)


@hookimpl
def register_custom_fields(register):
    register(
        CustomField(
            name="parish",
            type="string",
            label="Kirchengemeinde",
            description="Die Kirchengemeinde, in deren Räumen das Angebot stattfindet.",
            searchable=True,
        )
    )


@hookimpl
def register_categories(register):
    register(Category("encounter.pastoral_care", "Seelsorge und Gottesdienste", "encounter"))


@hookimpl
def offer_changed(offers, change):
    log.info("diakonie: %d offer(s) %s", len(offers), change)
