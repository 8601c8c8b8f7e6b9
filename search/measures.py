"""Measures every layer shares: the earth's radius and the great-circle distance, and
times of day ("HH:MM").

The lowest module of the project (it imports nothing of it, tests/test_layers.py): the
model (``directory_core.geo``, ``validation``, ``schedule_text``, ``instance``) and the
search backends (``semantics``) use the same formula and the same radius, so a distance
the store computes and one a backend ranks by agree to the last bit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# mean earth radius (IUGG), km: the one radius of the project
EARTH_RADIUS_KM = 6371.0088

#: A time of day in its stored form "HH:MM", 00:00 to 23:59 (offers' schedules, instance
#: settings, the GraphQL ``openAt`` filter). ``minutes`` also reads "H:MM".
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km on a sphere of radius ``EARTH_RADIUS_KM``."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def nearest_km(lat: float, lon: float, points: Sequence[tuple[float, float]]) -> int | None:
    """The position in ``points`` (lat, lon) of the one nearest to ``lat``/``lon`` by
    ``haversine_km`` (the first of equally near ones), ``None`` for no points.

    The same arithmetic as ``haversine_km`` in one loop: every imported offer is compared
    with every district's point, and the calls were a twentieth of an import."""
    radians, sin, cos = math.radians, math.sin, math.cos
    p1 = radians(lat)
    cos_p1 = cos(p1)
    best, best_a, best_km = None, math.inf, math.inf
    for i, (lat2, lon2) in enumerate(points):
        p2 = radians(lat2)
        dp = p2 - p1
        dl = radians(lon2 - lon)
        a = sin(dp / 2) ** 2 + cos_p1 * cos(p2) * sin(dl / 2) ** 2
        # the distance grows with ``a``: a point whose ``a`` is not smaller cannot be
        # nearer, so the arc sine is taken only for a possibly nearer one (the same
        # comparison of kilometres decides, so ties still keep the first)
        if a < best_a or best is None:
            km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
            if km < best_km or best is None:
                best, best_a, best_km = i, a, km
    return best


def minutes(value: str) -> int:
    """``"HH:MM"`` (or ``"H:MM"``) -> minutes after midnight; ``ValueError`` unless it is a
    time of day 00:00 .. 23:59. The one parser of times of day in the project."""
    # an import parses every rule's times several times (validation, schedule text,
    # index slots): the few distinct ones are remembered
    known = _MINUTES.get(value) if type(value) is str else None
    if known is not None:
        return known
    m = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"not a time of day HH:MM (00:00..23:59): {value!r}")
    result = int(m.group(1)) * 60 + int(m.group(2))
    if type(value) is str and len(_MINUTES) < _MINUTES_MAX:
        _MINUTES[value] = result
    return result


# valid times of day as given -> minutes; bounded, as a text may pad them with spaces
_MINUTES: dict[str, int] = {}
_MINUTES_MAX = 8192
