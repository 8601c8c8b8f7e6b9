"""Query semantics shared by the backends: validation, distance, bounding boxes,
schedule times and the evaluation of ``ExtraFilter`` values.

``brute`` (the ground truth) and ``embedded`` both call these functions, so the two agree
to the last bit on distances and custom-field filters. The Elasticsearch backend must
reproduce the same rules with its own query DSL.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
from collections.abc import Mapping
from typing import Any

from .base import SORTS, ExtraFilter, SearchError, SearchQuery, TextMatch
from .measures import EARTH_RADIUS_KM, TIME_OF_DAY, haversine_km, minutes  # noqa: F401 (re-exported)
from .text import query_terms

EXTRA_OPS = ("eq", "in", "gte", "lte", "contains")
WEEKDAY_COUNT = 7


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """``(min_lat, max_lat, min_lon, max_lon)`` in degrees containing every point within
    ``radius_km`` of ``(lat, lon)``, widened by a small epsilon. Near a pole or across the
    antimeridian the longitude range becomes the full ``[-180, 180]``."""
    eps = 1e-6  # degrees, ~0.1 m: absorbs rounding of the haversine formula
    delta = radius_km / EARTH_RADIUS_KM  # angular radius
    if delta >= math.pi:
        return (-90.0, 90.0, -180.0, 180.0)
    phi = math.radians(lat)
    min_phi = phi - delta
    max_phi = phi + delta
    if max_phi >= math.pi / 2 or min_phi <= -math.pi / 2:
        return (
            max(-90.0, math.degrees(min_phi) - eps),
            min(90.0, math.degrees(max_phi) + eps),
            -180.0,
            180.0,
        )
    dlon = math.degrees(math.asin(min(1.0, math.sin(delta) / math.cos(phi))))
    min_lon = lon - dlon - eps
    max_lon = lon + dlon + eps
    if min_lon < -180.0 or max_lon > 180.0:
        min_lon, max_lon = -180.0, 180.0
    return (math.degrees(min_phi) - eps, math.degrees(max_phi) + eps, min_lon, max_lon)


def parse_time(value: str) -> int:
    """``open_at`` ``"HH:MM"`` -> minutes after midnight (00:00 .. 23:59), or ``SearchError``."""
    try:
        return minutes(value)
    except ValueError:
        raise SearchError(f"open_at must be 'HH:MM' (00:00..23:59), not {value!r}") from None


def validate(query: SearchQuery) -> str:
    """Check ``query`` and return its effective sort; raise ``SearchError`` if it is bad.

    Decisions beyond the base contract: an explicit ``sort="distance"`` without ``near``
    and an explicit ``sort="relevance"`` without ``text`` are errors; ``radius_km``
    without ``near`` is ignored; ``open_at`` without ``open_on`` means "a slot on any day
    with ``start <= open_at < end``".
    """
    sort = query.effective_sort()
    if sort not in SORTS:
        raise SearchError(f"unknown sort {sort!r}; expected one of {', '.join(SORTS)}")
    if sort == "distance" and query.near is None:
        raise SearchError("sort 'distance' needs 'near'")
    if sort == "relevance" and not query.text:
        raise SearchError("sort 'relevance' needs 'text'")
    if query.offset < 0 or query.limit < 0:
        raise SearchError("offset and limit must not be negative")
    if query.near is not None:
        lat, lon = query.near.lat, query.near.lon
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise SearchError(f"near is not a valid coordinate: {lat}, {lon}")
        if query.radius_km is not None and not query.radius_km >= 0:
            raise SearchError("radius_km must not be negative")
    if query.open_on is not None and not (0 <= query.open_on < WEEKDAY_COUNT):
        raise SearchError("open_on must be 0 (Monday) .. 6 (Sunday)")
    if query.open_at is not None:
        parse_time(query.open_at)
    for f in query.extra:
        if f.op not in EXTRA_OPS:
            raise SearchError(f"unknown extra filter op {f.op!r}; expected {EXTRA_OPS}")
        if f.op == "in" and not isinstance(f.value, list | tuple | set | frozenset):
            raise SearchError(f"extra filter 'in' on {f.field!r} needs a list of values")
    return sort


def text_groups(query: SearchQuery) -> TextMatch:
    """The text condition of ``query`` as groups of alternatives of terms (see ``base``):
    ``query.match`` if the caller expanded the text, else one group per query word."""
    if query.match is not None:
        return tuple(tuple(tuple(alt) for alt in group if alt) for group in query.match if group)
    return tuple(((t,),) for t in query_terms(query.text))


def first_alternatives(groups: TextMatch) -> list[tuple[str, ...]]:
    """The first alternative of each group that has several (the relevance bonus)."""
    return [group[0] for group in groups if len(group) > 1]


def group_terms(groups: TextMatch) -> list[str]:
    """Every distinct term of ``groups`` (for scoring and planning)."""
    return list(dict.fromkeys(t for group in groups for alt in group for t in alt))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps booleans apart from numbers (``True != 1``)."""
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _ordered(a: Any, b: Any, op: str) -> bool:
    if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return a >= b if op == "gte" else a <= b
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    return str(value)


EXTRA_JSON = json.JSONEncoder(default=_json_default, separators=(",", ":"))


def normalize_extra(value: Any) -> Any:
    """Custom-field values as every backend stores them: plain JSON. Dates and times
    become ISO strings (so ``gte``/``lte`` with ISO strings work), decimals floats, sets
    sorted lists, enums their values, anything else ``str(value)``."""
    return json.loads(EXTRA_JSON.encode(value))


def normalize_filters(filters: tuple[ExtraFilter, ...]) -> tuple[ExtraFilter, ...]:
    """``ExtraFilter`` values normalised like the documents' ``extra`` values."""
    return tuple(ExtraFilter(f.field, f.op, normalize_extra(f.value)) for f in filters)


def extra_matches(extra: Mapping[str, Any] | None, f: ExtraFilter) -> bool:
    """Does a document's ``extra`` mapping pass one custom-field filter? Both sides are
    expected to be normalised (``normalize_extra``/``normalize_filters``).

    A missing field or ``None`` never matches. A list value matches ``eq``/``in``/``gte``/
    ``lte`` when any element does (like a multi-valued field in Elasticsearch); ``contains``
    on a list means "the list contains value", on a string "value is a substring"
    (case-sensitive), otherwise it is ``eq``. ``gte``/``lte`` compare numbers with numbers
    and strings with strings (ISO dates work); other combinations never match. Booleans
    are not numbers: ``True`` does not equal ``1``.
    """
    if not extra:
        return False
    v = extra.get(f.field)
    if v is None:
        return False
    values = v if isinstance(v, list | tuple) else (v,)
    op = f.op
    if op == "eq":
        return any(_same(x, f.value) for x in values)
    if op == "in":
        return any(_same(x, y) for x in values for y in f.value)
    if op in ("gte", "lte"):
        return any(_ordered(x, f.value, op) for x in values)
    if op == "contains":
        if isinstance(v, list | tuple):
            return any(_same(x, f.value) for x in v)
        if isinstance(v, str) and isinstance(f.value, str):
            return f.value in v
        return _same(v, f.value)
    raise SearchError(f"unknown extra filter op {op!r}")
