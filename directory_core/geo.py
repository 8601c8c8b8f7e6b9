"""Pure geographic helpers: distances, coordinate checks, district assignment.

Coordinates are WGS84 decimal degrees, always in (lat, lon) order. Nothing here touches the
store or the network.

``distance_km`` is the great circle (spherical earth): over the few kilometres of a city it
is within a fraction of a percent of the ellipsoidal ``geodesic_km`` (see
``great_circle_relative_error``), far below the 1–5 km uncertainty of the gazetteer
points themselves. Search does not call it: every backend ranks by the great-circle
formula of ``directory_search.measures.haversine_km`` (the Elasticsearch backend runs
the same formula in Painless), so that all backends agree to the last bit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from directory_search.measures import haversine_km, nearest_km
from geopy.distance import geodesic

from .model import District

#: Great-circle distances must agree with geodesic ones within this fraction in the city.
GREAT_CIRCLE_TOLERANCE = 0.005

Ring = Sequence[tuple[float, float]]


def validate_lat_lon(lat: float, lon: float) -> tuple[float, float]:
    """Check a coordinate pair and return it as floats.

    Raises ``ValueError`` with a message naming the bad value, e.g.
    ``"lat must be between -90 and 90, got 200"``.
    """
    return _check("lat", lat, 90), _check("lon", lon, 180)


def _check(name: str, value: float, limit: int) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if not -limit <= value <= limit:
        raise ValueError(f"{name} must be between -{limit} and {limit}, got {value}")
    return float(value)


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance in kilometres (spherical earth), checked; the same formula and
    earth radius as search (``directory_search.measures.haversine_km``)."""
    validate_lat_lon(a_lat, a_lon)
    validate_lat_lon(b_lat, b_lon)
    return haversine_km(a_lat, a_lon, b_lat, b_lon)


def geodesic_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Geodesic distance in kilometres on the WGS84 ellipsoid (slower, more exact)."""
    validate_lat_lon(a_lat, a_lon)
    validate_lat_lon(b_lat, b_lon)
    return geodesic((a_lat, a_lon), (b_lat, b_lon)).km


def great_circle_relative_error(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Relative difference ``|great circle - geodesic| / geodesic`` (0.0 for equal points)."""
    exact = geodesic_km(a_lat, a_lon, b_lat, b_lon)
    if exact == 0.0:
        return 0.0
    return abs(distance_km(a_lat, a_lon, b_lat, b_lon) - exact) / exact


def point_in_polygon(lat: float, lon: float, rings: Sequence[Ring]) -> bool:
    """Whether (lat, lon) lies inside a polygon given as rings of (lat, lon).

    The first ring is the outer boundary, further rings are holes. The even-odd rule is
    applied over all rings together, so a point in a hole is outside. Rings may be closed
    (last point equal to the first) or open. Longitude is treated as a plane coordinate:
    fine for a city, wrong across the antimeridian. Points exactly on an edge may go
    either way.
    """
    inside = False
    for ring in rings:
        n = len(ring)
        if n < 3:
            continue
        prev_lat, prev_lon = ring[-1]
        for cur_lat, cur_lon in ring:
            if (cur_lat > lat) != (prev_lat > lat):
                cross_lon = cur_lon + (lat - cur_lat) * (prev_lon - cur_lon) / (prev_lat - cur_lat)
                if lon < cross_lon:
                    inside = not inside
            prev_lat, prev_lon = cur_lat, cur_lon
    return inside


def assign_district(lat: float, lon: float, districts: Sequence[District]) -> District | None:
    """The district a point belongs to, or ``None`` when ``districts`` is empty.

    If a district polygon contains the point, the first such district wins. Otherwise
    (no polygons, or the point lies outside all of them) the district whose
    representative point is nearest by great-circle distance is returned.
    """
    validate_lat_lon(lat, lon)
    for district in districts:
        if district.polygon and point_in_polygon(lat, lon, district.polygon):
            return district
    if not districts:
        return None
    best = nearest_km(lat, lon, [(d.lat, d.lon) for d in districts])
    return None if best is None else districts[best]
