"""Where the supply gaps are: offers per district and category, reach, missing qualities.

One of the duties of the Seniorenbüros' network work is to find *Versorgungslücken im
Stadtbezirk*. ``compute_coverage`` answers it for one instance, per district × category
(categories count with their descendants, as in search):

1. **Supply**: active offers, active offers verified within a year, all offers (archived
   too), and active offers per 1,000 residents of each older age band the instance file
   gives (``population.py``); absent, never zero, where the band is unknown.
2. **Reach**: for each postcode area (``coverage_reach.py``) the distance to the nearest
   active offer, asked from the search backend; per cell the share of the district's
   areas whose nearest offer is farther than the category's threshold
   (``[coverage] threshold_km`` in the instance file).
3. **Missing qualities**: among the district's active offers of the category, none in a
   language of ``[coverage] languages``, none free of charge, none wheelchair accessible,
   none open in the evening or at weekends, none reachable by home visit.
4. **As of an earlier date**: an offer counts from its ``created_at``; an archived offer
   counts until it was archived, taken as its last ``updated_at`` (the store keeps no
   history of offers yet, see docs/gaps.md).

``coverage_for`` caches the result per store state (the outbox position), so a page or a
query asks again only after offers changed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from directory_search.base import SearchUnavailable

from . import tables as t
from .coverage_reach import Nearest, PostcodePoint, nearest_offer, postcode_points
from .population import AGE_BANDS, Population
from .validation import minutes

if TYPE_CHECKING:  # pragma: no cover
    from .directory import Directory

VERIFIED_WITHIN = timedelta(days=365)
QUALITIES = ("free", "wheelchair", "evening", "weekend", "home_visit")
_WEEKEND = ("sat", "sun")


@dataclass(frozen=True)
class CategoryInfo:
    key: str
    label: str
    threshold_km: float


@dataclass(frozen=True)
class DistrictInfo:
    key: str
    name: str
    population: Population | None
    postcodes: tuple[str, ...]  # the postcode areas assigned to the district


@dataclass(frozen=True)
class Cell:
    """The figures of one district × category."""

    district: str
    category: str
    active: int
    verified: int  # active and verified within a year of the reference date
    all: int  # archived offers too
    per_thousand: dict[str, float | None]  # age band -> active offers per 1,000 residents
    postcode_areas: int
    beyond: int  # areas whose nearest active offer is farther than the threshold (or none)
    share_beyond: float | None  # beyond / postcode_areas; None without areas
    missing: tuple[str, ...]  # qualities no active offer has, e.g. "free", "language:tr"


@dataclass(frozen=True)
class PostcodeReach:
    point: PostcodePoint
    nearest: dict[str, Nearest]  # category key -> nearest active offer


@dataclass
class Coverage:
    """The whole analysis of one instance at one store state."""

    instance: str
    city: str
    as_of: date | None  # None: now
    reference_date: date  # as_of, or the day it was computed
    computed_at: datetime
    store_position: int  # the outbox head the figures belong to
    districts: list[DistrictInfo]
    categories: list[CategoryInfo]
    cells: list[Cell]
    postcodes: list[PostcodeReach]
    languages: list[str]
    evening_from: str
    offers_without_district: int = 0
    left_out: list[str] = field(default_factory=list)  # postcodes on a placeholder point
    notes: list[str] = field(default_factory=list)

    def select(self, category: str | None = None, district: str | None = None) -> Coverage:
        """A copy with only one category and/or district (unknown keys give nothing)."""
        cells = [
            c
            for c in self.cells
            if (category is None or c.category == category)
            and (district is None or c.district == district)
        ]
        postcodes = [
            PostcodeReach(
                p.point,
                {k: v for k, v in p.nearest.items() if category is None or k == category},
            )
            for p in self.postcodes
            if district is None or p.point.district == district
        ]
        return replace(
            self,
            districts=[d for d in self.districts if district is None or d.key == district],
            categories=[c for c in self.categories if category is None or c.key == category],
            cells=cells,
            postcodes=postcodes,
        )


@dataclass(frozen=True)
class _Facts:
    """What the analysis needs of one offer (read straight from the store)."""

    id: str
    district: str | None
    categories: tuple[str, ...]  # with ancestors
    active: bool  # at the reference date
    verified: bool
    languages: frozenset[str]
    qualities: frozenset[str]


def threshold_for(directory: Directory, category: str) -> float:
    """The reach threshold of ``category``: its own, its nearest ancestor's, or the default."""
    settings = directory.instance.coverage
    for key in (category, *directory.taxonomy.ancestors(category)):
        if key in settings.threshold_km:
            return settings.threshold_km[key]
    return settings.default_threshold_km


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _qualities(row: Any, evening_from: int) -> frozenset[str]:
    found = set()
    if row.free_of_charge:
        found.add("free")
    if row.wheelchair:
        found.add("wheelchair")
    if "home_visit" in (row.channels or ()):
        found.add("home_visit")
    for rule in (row.schedule or {}).get("rules", []):
        if minutes(rule["end"]) > evening_from:
            found.add("evening")
        if rule["weekday"] in _WEEKEND:
            found.add("weekend")
    return frozenset(found)


def load_facts(
    directory: Directory, as_of: date | None, reference: date
) -> tuple[list[_Facts], set[str]]:
    """Every offer that existed at the end of the reference date, and the ids of those
    active then. ``as_of=None`` takes every stored offer as it is now."""
    cutoff = datetime.combine(reference + timedelta(days=1), time(), tzinfo=UTC)
    verified_from = cutoff - VERIFIED_WITHIN
    evening_from = minutes(directory.instance.coverage.evening_from)
    taxonomy = directory.taxonomy
    expanded: dict[tuple[str, ...], tuple[str, ...]] = {}
    cats: dict[str, list[str]] = {}
    o = t.offers.c
    with directory.store.engine.connect() as conn:
        for offer_id, key in conn.execute(
            sa.select(t.offer_categories.c.offer_id, t.offer_categories.c.category)
        ):
            cats.setdefault(offer_id, []).append(key)
        rows = conn.execute(
            sa.select(
                o.id,
                o.district,
                o.status,
                o.created_at,
                o.updated_at,
                o.verified_at,
                o.languages,
                o.channels,
                o.schedule,
                o.wheelchair,
                o.free_of_charge,
            )
        ).all()
    facts, active_ids = [], set()
    for row in rows:
        if as_of is not None and _aware(row.created_at) >= cutoff:
            continue  # not there yet
        if as_of is None:
            active = row.status == "active"
        else:  # archived offers count until their last change (the archiving)
            active = row.status == "active" or _aware(row.updated_at) >= cutoff
        verified_at = _aware(row.verified_at)
        raw = tuple(cats.get(row.id, ()))
        keys = expanded.get(raw)
        if keys is None:  # few distinct combinations: expand each once
            keys = expanded[raw] = tuple(taxonomy.with_ancestors(k for k in raw if k in taxonomy))
        facts.append(
            _Facts(
                id=row.id,
                district=row.district,
                categories=keys,
                active=active,
                verified=active
                and verified_at is not None
                and verified_from <= verified_at < cutoff,
                languages=frozenset(row.languages or ()),
                qualities=_qualities(row, evening_from),
            )
        )
        if active:
            active_ids.add(row.id)
    return facts, active_ids


def _per_thousand(active: int, population: Population | None) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for band in AGE_BANDS:
        residents = population.band(band) if population is not None else None
        result[band] = round(active * 1000 / residents, 3) if residents else None
    return result


def compute_coverage(
    directory: Directory, as_of: date | None = None, *, today: date | None = None
) -> Coverage:
    """The whole analysis for ``directory`` now, or as of the end of ``as_of``.

    Raises ``ValueError`` for a date after ``today`` and ``SearchUnavailable`` when the
    search backend (and any fallback) cannot answer.
    """
    today = today or datetime.now(UTC).date()
    if as_of is not None and as_of > today:
        raise ValueError(f"must not be in the future (today is {today.isoformat()}), got {as_of}")
    position = directory.store.outbox_head()
    try:  # reach is read from the index: bring it up to the store's state first
        directory.sync()
    except SearchUnavailable:
        pass  # the fallback may answer; otherwise the first query raises
    reference = as_of or today
    settings = directory.instance.coverage
    facts, active_ids = load_facts(directory, as_of, reference)
    points, placeholders = postcode_points(directory.instance.city, directory.districts)
    categories = [
        CategoryInfo(c.key, c.label, threshold_for(directory, c.key)) for c in directory.taxonomy
    ]
    active_then = None if as_of is None else active_ids.__contains__
    reach = [
        PostcodeReach(
            p,
            {c.key: nearest_offer(directory.search, p, c.key, active_then) for c in categories},
        )
        for p in points
    ]
    districts = [
        DistrictInfo(
            d.key,
            d.name,
            directory.instance.populations.get(d.key),
            tuple(p.code for p in points if p.district == d.key),
        )
        for d in directory.districts
    ]
    cells = _cells(districts, categories, facts, reach, settings.languages)
    notes = _notes(as_of, placeholders, directory)
    return Coverage(
        instance=directory.instance.key,
        city=directory.instance.city,
        as_of=as_of,
        reference_date=reference,
        computed_at=datetime.now(UTC),
        store_position=position,
        districts=districts,
        categories=categories,
        cells=cells,
        postcodes=reach,
        languages=list(settings.languages),
        evening_from=settings.evening_from,
        offers_without_district=sum(1 for f in facts if f.active and f.district is None),
        left_out=placeholders,
        notes=notes,
    )


def _cells(
    districts: list[DistrictInfo],
    categories: list[CategoryInfo],
    facts: Iterable[_Facts],
    reach: list[PostcodeReach],
    languages: list[str],
) -> list[Cell]:
    grouped: dict[tuple[str, str], list[_Facts]] = {}
    for fact in facts:
        if fact.district is None:
            continue
        for key in fact.categories:
            grouped.setdefault((fact.district, key), []).append(fact)
    by_district: dict[str | None, list[PostcodeReach]] = {}
    for area in reach:
        by_district.setdefault(area.point.district, []).append(area)
    cells = []
    for district in districts:
        areas = by_district.get(district.key, [])
        for category in categories:
            found = grouped.get((district.key, category.key), [])
            active = [f for f in found if f.active]
            beyond = sum(
                1
                for area in areas
                if (km := area.nearest[category.key].distance_km) is None
                or km > category.threshold_km
            )
            have = set().union(*(f.qualities for f in active))
            spoken = set().union(*(f.languages for f in active))
            missing = [q for q in QUALITIES if q not in have]
            missing += [f"language:{code}" for code in languages if code not in spoken]
            cells.append(
                Cell(
                    district=district.key,
                    category=category.key,
                    active=len(active),
                    verified=sum(1 for f in active if f.verified),
                    all=len(found),
                    per_thousand=_per_thousand(len(active), district.population),
                    postcode_areas=len(areas),
                    beyond=beyond,
                    share_beyond=round(beyond / len(areas), 4) if areas else None,
                    missing=tuple(missing),
                )
            )
    return cells


def _notes(as_of: date | None, placeholders: list[str], directory: Directory) -> list[str]:
    notes = [
        "Offer counts say nothing about capacity (places, opening hours per week).",
        "Postcode centroids are not where people live; reach is measured from them.",
    ]
    if placeholders:
        notes.append(
            "Left out of reach (gazetteer point is a shared town-centre placeholder): "
            + ", ".join(placeholders)
        )
    if as_of is not None:
        notes.append(
            "As of an earlier date: from created/updated timestamps (no offer history yet); "
            "an archived offer counts until its last change, and current categories, places "
            "and qualities are used."
        )
    lag = directory.sync_lag()
    if lag:
        notes.append(f"The search index was {lag} changes behind the store; reach may lag.")
    return notes


class CoverageCache:
    """Computes the analysis once per store state and keeps a few results.

    The key is the outbox head (every offer write adds a row there, from any process),
    the date asked for and, for "now", today's date (verified-within-a-year moves with
    it). A request after a change recomputes; concurrent requests wait for one run.
    """

    def __init__(self, directory: Directory, size: int = 4) -> None:
        self.directory = directory
        self.size = size
        self._results: dict[tuple, Coverage] = {}
        self._lock = threading.Lock()
        self.computed = 0

    def get(self, as_of: date | None = None, *, today: date | None = None) -> Coverage:
        today = today or datetime.now(UTC).date()
        key = (self.directory.store.outbox_head(), as_of, today if as_of is None else None)
        with self._lock:
            found = self._results.get(key)
            if found is None:
                found = compute_coverage(self.directory, as_of, today=today)
                self.computed += 1
                self._results = {k: v for k, v in self._results.items() if k[0] == key[0]}
                while len(self._results) >= self.size:
                    self._results.pop(next(iter(self._results)))
                self._results[key] = found
            return found


_CACHES: weakref.WeakKeyDictionary[Any, CoverageCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def coverage_for(
    directory: Directory, as_of: date | None = None, *, today: date | None = None
) -> Coverage:
    """The cached analysis of ``directory`` (see ``CoverageCache``); one cache per open
    directory, shared by the GraphQL API, the page and the CLI."""
    with _CACHES_LOCK:
        cache = _CACHES.get(directory)
        if cache is None:
            cache = _CACHES[directory] = CoverageCache(directory)
    return cache.get(as_of, today=today)
