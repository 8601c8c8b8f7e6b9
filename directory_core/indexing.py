"""Turn offers into the documents search backends index (one place for all backends)."""

from __future__ import annotations

from collections.abc import Callable

from directory_search.base import GeoPoint, ScheduleSlot, SearchDocument

from .categories import Taxonomy
from .model import KIND_LABELS, WEEKDAYS, Offer
from .validation import minutes


class DocumentBuilder:
    """Builds ``SearchDocument`` values with the labels of one instance.

    ``extra_fields`` decides which custom fields are indexed as filters and which add
    searchable text (see ``custom_fields.py``); without it every custom field is a filter.
    """

    def __init__(
        self,
        taxonomy: Taxonomy,
        carrier_names: dict[str, str],
        district_names: dict[str, str],
        extra_fields: Callable[[Offer], tuple[dict, list[str]]] | None = None,
    ):
        self.taxonomy = taxonomy
        self.carrier_names = carrier_names
        self.district_names = district_names
        self.extra_fields = extra_fields

    def __call__(self, offer: Offer) -> SearchDocument:
        categories = self.taxonomy.with_ancestors(
            key for key in offer.categories if key in self.taxonomy
        )
        if self.extra_fields is not None:
            extra, extra_text = self.extra_fields(offer)
        else:
            extra, extra_text = dict(offer.extra), []
        text = [offer.title, offer.description, KIND_LABELS.get(offer.kind, "")]
        if offer.carrier:
            text.append(self.carrier_names.get(offer.carrier, offer.carrier))
        if offer.district:
            text.append(self.district_names.get(offer.district, offer.district))
        text.extend(self.taxonomy.label(key) for key in categories)
        text.extend((offer.address.street, offer.address.city))
        text.extend(offer.target_groups)
        text.extend(extra_text)
        location = offer.location
        return SearchDocument(
            id=offer.id,
            kind=offer.kind,
            title=offer.title,
            status=offer.status,
            text=[part for part in text if part],
            location=GeoPoint(location.lat, location.lon) if location else None,
            district=offer.district,
            carrier=offer.carrier,
            categories=categories,
            languages=list(offer.languages),
            channels=list(offer.channels),
            free_of_charge=offer.cost.free_of_charge,
            accessibility=[
                flag
                for flag in ("wheelchair", "hearing_loop", "easy_language")
                if getattr(offer.accessibility, flag)
            ],
            slots=[
                ScheduleSlot(WEEKDAYS.index(rule.weekday), minutes(rule.start), minutes(rule.end))
                for rule in offer.schedule.rules
            ],
            extra=extra,
        )
