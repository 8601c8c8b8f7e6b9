"""Reach: how far each postcode area of the city is from the nearest offer of a category.

The points are the postcode centroids of the offline gazetteer (``gazetteer.py``); each
area belongs to the district its point is assigned to (``geo.assign_district``, the same
rule as for offers). Distances come from the search backend's nearest-neighbour query
(``near`` + distance order, first hit), so the analysis measures with the same engine
and the same great-circle distance as a counsellor's search; there is no second geometry
engine here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from directory_search.base import GeoPoint, SearchQuery, SearchResult

from .gazetteer import Gazetteer
from .geo import assign_district
from .model import District

# A historical query walks the distance-ordered hits in pages of growing size until it
# meets an offer that was active then (offers created later are skipped).
_FIRST_PAGE = 8
_MAX_PAGE = 500


@dataclass(frozen=True)
class PostcodePoint:
    """A postcode area as the analysis sees it: its gazetteer centroid and district."""

    code: str
    label: str
    lat: float
    lon: float
    district: str | None


@dataclass(frozen=True)
class Nearest:
    """The nearest offer of a category from a postcode point (``None``: there is none)."""

    distance_km: float | None
    offer_id: str | None


def postcode_points(city: str, districts: list[District]) -> tuple[list[PostcodePoint], list[str]]:
    """The city's postcode areas with their district, and the codes left out because
    their gazetteer point is a shared placeholder (a town-centre point, not the area)."""
    gazetteer = Gazetteer(districts, city=city)
    kept = gazetteer.postcodes_in(city)
    every = gazetteer.postcodes_in(city, include_shared_points=True)
    points = []
    for code in sorted(kept):
        found = kept[code]
        district = assign_district(found.lat, found.lon, districts) if districts else None
        points.append(
            PostcodePoint(
                code=code,
                label=found.label,
                lat=found.lat,
                lon=found.lon,
                district=district.key if district else None,
            )
        )
    return points, sorted(set(every) - set(kept))


def nearest_offer(
    search: Callable[[SearchQuery], SearchResult],
    point: PostcodePoint,
    category: str,
    active_then: Callable[[str], bool] | None = None,
) -> Nearest:
    """The nearest active offer of ``category`` (or a descendant) from ``point``.

    ``search`` is ``Directory.search``. Without ``active_then`` this is one query for the
    first hit. With it (an analysis as of an earlier date), archived offers are asked for
    too and the first hit ``active_then(id)`` accepts wins.
    """
    where = GeoPoint(point.lat, point.lon)
    if active_then is None:
        result = search(
            SearchQuery(
                near=where, categories=(category,), sort="distance", limit=1, want_total=False
            )
        )
        return _first(result.hits)
    offset, size = 0, _FIRST_PAGE
    while True:
        result = search(
            SearchQuery(
                near=where,
                categories=(category,),
                include_archived=True,
                sort="distance",
                offset=offset,
                limit=size,
                want_total=False,
            )
        )
        found = _first(h for h in result.hits if active_then(h.id))
        if found.offer_id is not None or len(result.hits) < size:
            return found
        offset += size
        size = min(size * 4, _MAX_PAGE)


def _first(hits: Iterable) -> Nearest:
    for hit in hits:
        distance = hit.distance_km
        return Nearest(round(distance, 3) if distance is not None else None, hit.id)
    return Nearest(None, None)
