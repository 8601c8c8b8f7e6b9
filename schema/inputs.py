"""The GraphQL input types and argument enums of the ``offers`` query.

GraphQL checks only the shapes; ``errors.py`` checks the values (ranges, known keys,
which combinations are allowed) and names the argument path when one is wrong.
"""

from __future__ import annotations

import enum

import strawberry

from .input_conversion import fast_input
from .types import AccessibilityFlag, Channel, OfferKind, Weekday


@fast_input
@strawberry.input(
    description=(
        "Where to search from: exactly one of lat+lon (together), address, postcode or "
        "district (key or name). Address, postcode and district are geocoded."
    )
)
class GeoInput:
    lat: float | None = None
    lon: float | None = None
    address: str | None = strawberry.field(
        default=None, description="Free text, e.g. 'Hörder Bahnhofstraße 16, 44263 Dortmund'."
    )
    postcode: str | None = strawberry.field(default=None, description="Five digits, e.g. 44263.")
    district: str | None = strawberry.field(
        default=None, description="A district of the instance by key or name, e.g. 'hoerde'."
    )


@fast_input
@strawberry.input(
    description=(
        "Filters: the values of one field are alternatives (OR), different fields must all "
        "match (AND)."
    )
)
class OfferFilter:
    kinds: list[OfferKind] | None = None  # type: ignore[valid-type]
    categories: list[str] | None = strawberry.field(
        default=None,
        description="Category keys; an offer in a subcategory matches its parent's key too.",
    )
    districts: list[str] | None = strawberry.field(default=None, description="District keys.")
    carriers: list[str] | None = strawberry.field(default=None, description="Carrier keys.")
    languages: list[str] | None = strawberry.field(
        default=None, description="ISO 639-1 codes, e.g. tr."
    )
    channels: list[Channel] | None = None  # type: ignore[valid-type]
    free_of_charge: bool | None = None
    accessibility: list[AccessibilityFlag] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="All of these flags."
    )
    open_on: Weekday | None = strawberry.field(
        default=None, description="Has a time slot on this weekday."
    )
    open_at: str | None = strawberry.field(
        default=None, description="HH:MM; with openOn: a slot on that day covers this time."
    )
    include_archived: bool = False


@strawberry.enum(
    description=("Order of the hits. Default: DISTANCE with near, RELEVANCE with text, else TITLE.")
)
class OfferSort(enum.Enum):
    DISTANCE = "distance"
    RELEVANCE = "relevance"
    TITLE = "title"
