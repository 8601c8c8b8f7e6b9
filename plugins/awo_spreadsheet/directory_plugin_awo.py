"""AWO carrier plugin: imports the AWO's spreadsheet export of its offers.

The export is an Excel workbook with German column names (Nr, Angebot, Art, ...); the
column mapping is built in, so no instance settings are needed::

    directory import awo awo-xlsx angebote.xlsx

Custom fields (``extra.awo.*``): ``transport_service`` (Fahrdienst, boolean) and
``meals_on_wheels_zone`` (Essen-auf-Rädern-Zone of a service). Rule: an AWO service
must give a phone number. The carrier key the rule applies to is ``awo`` unless the
instance file says otherwise (``[plugins.awo] carrier = "awo-do"``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from directory_core import hookimpl
from directory_core.custom_fields import CustomField
from directory_core.importers.base import ImportRecord
from directory_core.importers.xlsx_importer import XlsxImporter
from directory_core.validation import FieldError

log = logging.getLogger(__name__)

ZONES = ("nord", "sued", "ost", "west", "mitte")

#: offer field → column of the AWO export
COLUMNS = {
    "external_id": "Nr",
    "title": "Angebot",
    "kind": "Art",
    "description": "Beschreibung",
    "street": "Straße",
    "postcode": "PLZ",
    "city": "Ort",
    "phone": "Telefon",
    "email": "E-Mail",
    "schedule": "Zeiten",
    "languages": "Sprachen",
    "wheelchair": "Rollstuhlgerecht",
    "cost": "Kosten",
    "extra.awo.transport_service": "Fahrdienst",
    "extra.awo.meals_on_wheels_zone": "Essen-auf-Rädern-Zone",
}
#: the AWO's words for kinds and zones (the German kind labels work anyway)
VALUES = {
    "kind": {
        "Dienstleistung": "service",
        "Essen auf Rädern": "service",
        "Mittagstisch": "service",
        "Demenzcafé": "dementia_group",
        "Seniorentreff": "meeting_place",
        "Kurs": "training_offer",
        "Beratung": "advice_office",
    },
    "extra.awo.meals_on_wheels_zone": {
        "Nord": "nord",
        "Süd": "sued",
        "Ost": "ost",
        "West": "west",
        "Mitte": "mitte",
    },
}
#: the export has no categories: each kind gets the usual ones
CATEGORIES_BY_KIND = {
    "service": ["care.outpatient"],
    "dementia_group": ["dementia.groups", "relief.family_carers"],
    "meeting_place": ["encounter.meeting"],
    "association": ["encounter.meeting", "volunteering.associations"],
    "training_offer": ["relief.training"],
    "advice_office": ["advice.care_counselling"],
}
CATEGORIES_BY_TITLE = {  # a few titles say more than the kind
    "essen auf rädern": ["care.meals"],
    "mittagstisch": ["care.meals"],
    "besuchsdienst": ["care.visiting"],
    "wohnberatung": ["housing.adaptation"],
    "hausnotruf": ["care.outpatient", "housing.assisted_living"],
}


class AwoSpreadsheetImporter(XlsxImporter):
    """The AWO spreadsheet export (first sheet, German column names, built-in mapping)."""

    name = "awo-xlsx"
    description = (
        "AWO-Export (.xlsx): Nr, Angebot, Art, Beschreibung, Straße, PLZ, Ort, Telefon, "
        "E-Mail, Zeiten, Sprachen, Rollstuhlgerecht, Kosten, Fahrdienst, Essen-auf-Rädern-Zone"
    )
    formats = ("xlsx",)
    columns = COLUMNS
    values = VALUES

    def read(self, source: str) -> Iterator[ImportRecord]:
        for record in super().read(source):
            offer = record.offer
            if offer is not None and not offer.categories:
                title = offer.title.casefold()
                offer.categories = next(
                    (keys for word, keys in CATEGORIES_BY_TITLE.items() if word in title),
                    CATEGORIES_BY_KIND.get(offer.kind, []),
                )
            yield record


def _carrier(directory) -> str:
    return directory.instance.plugin_settings.get("awo", {}).get("carrier", "awo")


@hookimpl
def register_importers(register):
    register(AwoSpreadsheetImporter)


@hookimpl
def register_custom_fields(register):
    register(
        CustomField(
            name="transport_service",
            type="boolean",
            label="Fahrdienst",
            description="Die AWO holt Teilnehmende zu Hause ab und bringt sie zurück.",
            filterable=True,
        )
    )
    register(
        CustomField(
            name="meals_on_wheels_zone",
            type="enum",
            label="Essen-auf-Rädern-Zone",
            description="Das Liefergebiet des Mahlzeitendienstes.",
            values=ZONES,
            kinds=("service",),
            filterable=True,
        )
    )


@hookimpl
def validate_offer(offer, directory):
    if offer.carrier == _carrier(directory) and offer.kind == "service":
        if not offer.contact.phone.strip():
            return [
                FieldError(
                    "contact.phone",
                    "an AWO service must give a phone number (rule of the awo plugin)",
                )
            ]
    return None


@hookimpl
def offer_changed(offers, change):
    titles = ", ".join(o.title for o in offers[:5]) + (", ..." if len(offers) > 5 else "")
    log.info("awo: %d offer(s) %s: %s", len(offers), change, titles)
