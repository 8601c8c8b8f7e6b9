"""The ``coverage`` query: supply gaps per district and category (``directory_core.coverage``).

The analysis is computed once per store state and cached (``coverage_for``); the resolver
runs it in a worker thread, because a first computation over a large city takes seconds
and must not hold up other requests. Arguments are checked like every other argument of
the API (``errors.py``): an unknown category or district, or a date in the future, is an
``InputError`` naming the argument.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import strawberry
from directory_search.base import SearchUnavailable
from strawberry.types import Info

from directory_core import coverage as core
from directory_core.population import Population as CorePopulation

from .access import require_principal
from .errors import Forbidden, InputError, ServiceUnavailable, _listing, quote


@strawberry.type(description="A figure of a population table that was computed, and how.")
class DerivedFigure:
    field: str
    how: str


@strawberry.type(
    description=(
        "Residents of a district as the instance file states them. A figure the source "
        "does not give is null (unknown, not zero); computed ones are listed in `derived`."
    )
)
class Population:
    total: int | None
    age_60_plus: int | None
    age_65_plus: int | None
    age_80_plus: int | None
    share_65_plus_percent: float | None
    share_65_plus_date: str
    date: str = strawberry.field(description="Reference date as the source gives it.")
    source: str
    source_url: str
    note: str
    derived: list[DerivedFigure]


@strawberry.type(description="A district of the analysis with its postcode areas.")
class CoverageDistrict:
    key: str
    name: str
    postcodes: list[str]
    population: Population | None


@strawberry.type(description="A category of the analysis and its reach threshold.")
class CoverageCategory:
    key: str
    label: str
    threshold_km: float


@strawberry.type(description="The figures of one district × category.")
class CoverageCell:
    district: str
    category: str
    active: int = strawberry.field(description="Active offers (with sub-categories).")
    verified_within_year: int = strawberry.field(
        description="Active offers verified within a year of the reference date."
    )
    all: int = strawberry.field(description="All offers, archived ones too.")
    per_thousand_60_plus: float | None = strawberry.field(
        description="Active offers per 1,000 residents aged 60+; null where unknown."
    )
    per_thousand_65_plus: float | None
    per_thousand_80_plus: float | None
    postcode_areas: int = strawberry.field(description="Postcode areas of the district.")
    beyond_threshold: int = strawberry.field(
        description="Postcode areas whose nearest active offer is farther than the threshold."
    )
    share_beyond_threshold: float | None = strawberry.field(
        description="beyondThreshold / postcodeAreas; null for a district without areas."
    )
    missing_qualities: list[str] = strawberry.field(
        description=(
            "What no active offer here has: free, wheelchair, evening, weekend, "
            "home_visit, language:<code>."
        )
    )


@strawberry.type(description="The nearest active offer of a category from a postcode area.")
class NearestOffer:
    category: str
    distance_km: float | None = strawberry.field(description="null: there is no such offer.")
    offer_id: strawberry.ID | None


@strawberry.type(description="A postcode area (gazetteer centroid) and its nearest offers.")
class PostcodeReach:
    postcode: str
    label: str
    district: str | None
    lat: float
    lon: float
    nearest: list[NearestOffer]


@strawberry.type(description="Supply gaps per district and category.")
class Coverage:
    instance: str
    as_of: date | None = strawberry.field(description="The date asked for; null: now.")
    reference_date: date
    computed_at: datetime
    store_position: int = strawberry.field(description="The store state (outbox position).")
    languages: list[str]
    evening_from: str
    offers_without_district: int
    notes: list[str]
    districts: list[CoverageDistrict]
    categories: list[CoverageCategory]
    matrix: list[CoverageCell]
    postcode_areas: list[PostcodeReach]


def _population(found: CorePopulation | None) -> Population | None:
    if found is None:
        return None
    return Population(
        total=found.total,
        age_60_plus=found.age_60_plus,
        age_65_plus=found.age_65_plus,
        age_80_plus=found.age_80_plus,
        share_65_plus_percent=found.share_65_plus_percent,
        share_65_plus_date=found.share_65_plus_date,
        date=found.date,
        source=found.source,
        source_url=found.source_url,
        note=found.note,
        derived=[DerivedFigure(field=k, how=v) for k, v in found.derived.items()],
    )


def coverage_node(found: core.Coverage) -> Coverage:
    """The GraphQL value of an analysis (already narrowed by ``select``)."""
    return Coverage(
        instance=found.instance,
        as_of=found.as_of,
        reference_date=found.reference_date,
        computed_at=found.computed_at,
        store_position=found.store_position,
        languages=found.languages,
        evening_from=found.evening_from,
        offers_without_district=found.offers_without_district,
        notes=found.notes,
        districts=[
            CoverageDistrict(
                key=d.key,
                name=d.name,
                postcodes=list(d.postcodes),
                population=_population(d.population),
            )
            for d in found.districts
        ],
        categories=[
            CoverageCategory(key=c.key, label=c.label, threshold_km=c.threshold_km)
            for c in found.categories
        ],
        matrix=[
            CoverageCell(
                district=c.district,
                category=c.category,
                active=c.active,
                verified_within_year=c.verified,
                all=c.all,
                per_thousand_60_plus=c.per_thousand["age_60_plus"],
                per_thousand_65_plus=c.per_thousand["age_65_plus"],
                per_thousand_80_plus=c.per_thousand["age_80_plus"],
                postcode_areas=c.postcode_areas,
                beyond_threshold=c.beyond,
                share_beyond_threshold=c.share_beyond,
                missing_qualities=list(c.missing),
            )
            for c in found.cells
        ],
        postcode_areas=[
            PostcodeReach(
                postcode=a.point.code,
                label=a.point.label,
                district=a.point.district,
                lat=a.point.lat,
                lon=a.point.lon,
                nearest=[
                    NearestOffer(
                        category=key,
                        distance_km=n.distance_km,
                        offer_id=strawberry.ID(n.offer_id) if n.offer_id else None,
                    )
                    for key, n in a.nearest.items()
                ],
            )
            for a in found.postcodes
        ],
    )


@strawberry.type
class CoverageQuery:
    """The ``coverage`` field, mixed into the root ``Query`` (``query.py``)."""

    @strawberry.field(
        description=(
            "Supply gaps: offers per district × category (and per 1,000 older residents "
            "where known), reach of each postcode area, missing qualities; optionally "
            "for one category, one district, or as of the end of an earlier date."
        )
    )
    def coverage(
        self,
        info: Info,
        category: str | None = None,
        district: str | None = None,
        as_of: date | None = None,
    ) -> Coverage:
        directory = info.context.directory
        access = directory.instance.coverage.access
        if access == "off":
            raise Forbidden("The gap analysis is switched off in this instance ([coverage] access)")
        if access == "staff":
            require_principal(info)  # counsellors, editors and admins
        if category is not None and category not in directory.taxonomy:
            allowed = _listing(directory.taxonomy.by_key)
            raise InputError(
                "category", f"has unknown category {quote(category)}; allowed: {allowed}"
            )
        if district is not None and district not in directory.district_by_key:
            raise InputError(
                "district",
                f"has unknown district {quote(district)}; allowed: "
                f"{_listing(directory.district_by_key)}",
            )
        today = datetime.now(UTC).date()
        if as_of is not None and as_of > today:
            raise InputError(
                "asOf", f"must not be in the future (today is {today.isoformat()}), got {as_of}"
            )
        try:  # the whole execution already runs in a worker thread (http.py)
            found = core.coverage_for(directory, as_of, today=today)
        except SearchUnavailable:
            raise ServiceUnavailable(
                "The search service is unavailable; try again in a moment."
            ) from None
        return coverage_node(found.select(category, district))
