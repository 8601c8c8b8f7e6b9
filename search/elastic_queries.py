"""Elasticsearch queries: filters, text groups, custom-field conditions, geo scripts,
sorts and facet aggregations built from a ``SearchQuery``.

Split from ``elastic.py`` (the backend); names are re-exported there.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .base import (
    EARTH_RADIUS_KM,
    EXACT_BONUS,
    ExtraFilter,
    SearchError,
    SearchQuery,
)
from .elastic_analysis import MAX_KEYWORD, PREFIX_GRAMS
from .elastic_documents import _double, _is_number, _json_hash, _str_hash
from .semantics import (
    normalize_filters,
    parse_time,
    text_groups,
)

FACET_SIZE = 10_000  # buckets per facet; more distinct values is an error
NEAR_MARGIN_KM = 0.005  # the geo_distance pre-filter is this much wider than the radius
_HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
_MATCH_NONE: dict[str, Any] = {"match_none": {}}


# The exact great-circle test and distance of semantics.haversine_km in Painless. The
# query point's radians, its cosine and 2 * R come from Python; the operations are the
# same and in the same order.
_HAVERSINE = (
    "double p2 = doc['lat'].value * params.deg;"
    "double dp = p2 - params.p1;"
    "double dl = (doc['lon'].value - params.lon1) * params.deg;"
    "double s1 = Math.sin(dp / 2);"
    "double s2 = Math.sin(dl / 2);"
    "double a = s1 * s1 + params.cp1 * Math.cos(p2) * (s2 * s2);"
    "double d = params.d2r * Math.asin(Math.min(1.0, Math.sqrt(a)));"
)
# Custom-field strings: longer filter values than these are checked by a script (the
# automata of wildcard and range queries grow too fast with the length of the value).
NATIVE_CONTAINS_MAX = 32
NATIVE_RANGE_MAX = 64
# Inside the nested ``extra`` entries: the stored string (``s``, or the first
# MAX_KEYWORD characters ``sp`` of a longer one) contains ``params.v``.
_CONTAINS_SCRIPT = (
    "if (doc['extra.s'].size() > 0) { return doc['extra.s'].value.contains(params.v); }"
    "if (doc['extra.sp'].size() > 0) { return doc['extra.sp'].value.contains(params.v); }"
    "return false;"
)
# ... compares with ``params.v`` in code point order (Python's string order; Java's
# compareTo orders UTF-16 code units, which puts supplementary characters too early).
# A longer string (``sp``) that starts with the value is greater.
_COMPARE_SCRIPT = (
    "String a; boolean cut = false;"
    "if (doc['extra.s'].size() > 0) { a = doc['extra.s'].value; }"
    "else if (doc['extra.sp'].size() > 0) { a = doc['extra.sp'].value; cut = true; }"
    "else { return false; }"
    "String b = params.v; int n = a.length() < b.length() ? a.length() : b.length(); int c = 0;"
    "for (int i = 0; i < n && c == 0; ++i) {"
    "  int x = (int) a.charAt(i); int y = (int) b.charAt(i);"
    "  if (x != y) {"
    "    boolean sx = x >= 55296 && x <= 57343; boolean sy = y >= 55296 && y <= 57343;"
    "    if (sx != sy) { c = sx ? 1 : -1; } else { c = x < y ? -1 : 1; }"
    "  }"
    "}"
    "if (c == 0) { c = a.length() - b.length(); }"
    "if (c == 0 && cut) { c = 1; }"
    "return params.gte ? c >= 0 : c <= 0;"
)
_DISTANCE_SCRIPT = "if (doc['lat'].size() == 0) { return Double.MAX_VALUE; }" + _HAVERSINE + "d"
_WITHIN_SCRIPT = "if (doc['lat'].size() == 0) { return false; }" + _HAVERSINE + "d <= params.r"

# -- queries ------------------------------------------------------------------------------


def _nested_extra(key: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "nested": {
            "path": "extra",
            "score_mode": "none",
            "query": {"bool": {"filter": [{"term": {"extra.k": key}}, *conditions]}},
        }
    }


def _t(kind: str) -> dict[str, Any]:
    return {"term": {"extra.t": kind}}


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if not clauses:
        return _MATCH_NONE
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _equal_value(value: Any) -> dict[str, Any]:
    """Inside ``extra``: the entry equals ``value`` (``semantics._same``)."""
    if isinstance(value, bool):
        return {"bool": {"filter": [_t("bool"), {"term": {"extra.b": value}}]}}
    if _is_number(value):
        if not math.isfinite(_double(value)):
            return _MATCH_NONE
        return {"bool": {"filter": [_t("num"), {"term": {"extra.n": value}}]}}
    if isinstance(value, str):
        if len(value) <= MAX_KEYWORD:
            return {"bool": {"filter": [_t("str"), {"term": {"extra.s": value}}]}}
        return {"bool": {"filter": [_t("str"), {"term": {"extra.sh": _str_hash(value)}}]}}
    if value is None:
        return _t("null")
    return {"bool": {"filter": [_t("json"), {"term": {"extra.j": _json_hash(value)}}]}}


def _script(source: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"script": {"script": {"source": source, "lang": "painless", "params": params}}}


def _wildcard_escape(value: str) -> str:
    return re.sub(r"([\\*?])", r"\\\1", value)


def extra_query(f: ExtraFilter) -> dict[str, Any]:
    """One custom-field filter (normalised) as a nested query; the semantics of
    ``semantics.extra_matches``: an entry of a list value matches for ``eq``/``in``/
    ``gte``/``lte``; ``contains`` is equality for list elements, a case-sensitive
    substring for a string value, and equality otherwise."""
    key, op, value = str(f.field), f.op, f.value
    if op == "eq":
        return _nested_extra(key, _equal_value(value))
    if op == "in":
        return _nested_extra(key, _any([_equal_value(v) for v in value]))
    if op in ("gte", "lte"):
        if _is_number(value):
            bound = _double(value)
            if math.isnan(bound) or bound == (math.inf if op == "gte" else -math.inf):
                return _MATCH_NONE
            if math.isinf(bound):  # every stored number is on the right side
                return _nested_extra(key, _t("num"), {"exists": {"field": "extra.n"}})
            return _nested_extra(key, _t("num"), {"range": {"extra.n": {op: value}}})
        if isinstance(value, str):
            if len(value) > NATIVE_RANGE_MAX:
                params = {"v": value, "gte": op == "gte"}
                return _nested_extra(key, _t("str"), _script(_COMPARE_SCRIPT, params))
            long_op = "gte" if op == "gte" else "lt"  # see MAX_KEYWORD in the docstring
            return _nested_extra(
                key,
                _t("str"),
                _any(
                    [
                        {"range": {"extra.s": {op: value}}},
                        {"range": {"extra.sp": {long_op: value}}},
                    ]
                ),
            )
        return _MATCH_NONE
    if op == "contains":
        if not isinstance(value, str):
            return _nested_extra(key, _equal_value(value))
        element = {"bool": {"filter": [{"term": {"extra.l": True}}, _equal_value(value)]}}
        if len(value) > NATIVE_CONTAINS_MAX:
            within = _script(_CONTAINS_SCRIPT, {"v": value})
        else:
            pattern = "*" + _wildcard_escape(value) + "*"
            within = _any(
                [
                    {"wildcard": {"extra.s": {"value": pattern}}},
                    {"wildcard": {"extra.sp": {"value": pattern}}},
                ]
            )
        substring = {"bool": {"filter": [{"term": {"extra.l": False}}, _t("str"), within]}}
        return _nested_extra(key, _any([element, substring]))
    raise SearchError(f"unknown extra filter op {op!r}")


def text_query(term: str) -> dict[str, Any]:
    """A folded query term that must be a prefix of an index token."""
    if len(term) <= PREFIX_GRAMS:
        return {"term": {"text.prefix": term}}
    return {"prefix": {"text": {"value": term}}}


def _one(queries: list[dict[str, Any]], how: str) -> dict[str, Any]:
    return queries[0] if len(queries) == 1 else {"bool": {how: queries}}


def group_query(group: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    """One group of the expanded text: any alternative, all terms of it (``base``); a
    match of the first alternative adds ``base.EXACT_BONUS`` to the score."""
    alternatives = [_one([text_query(t) for t in alt], "must") for alt in group]
    if len(alternatives) == 1:
        return alternatives[0]
    bonus = {"constant_score": {"filter": alternatives[0], "boost": EXACT_BONUS}}
    return {"bool": {"should": [*alternatives, bonus], "minimum_should_match": 1}}


def _geo_params(q: SearchQuery) -> dict[str, float]:
    assert q.near is not None
    deg = math.pi / 180.0  # math.radians multiplies by this constant
    p1 = math.radians(q.near.lat)
    return {
        "deg": deg,
        "p1": p1,
        "cp1": math.cos(p1),
        "lon1": float(q.near.lon),
        "d2r": 2 * EARTH_RADIUS_KM,
    }


def build_filters(q: SearchQuery, at: int | None) -> list[dict[str, Any]]:
    """Every filter of ``q`` except the text (see ``text_query``)."""
    filters: list[dict[str, Any]] = []
    if not q.include_archived:
        filters.append({"term": {"status": "active"}})
    for field_name, values in (
        ("kind", q.kinds),
        ("categories", q.categories),
        ("district", q.districts),
        ("carrier", q.carriers),
        ("languages", q.languages),
        ("channels", q.channels),
    ):
        if values:
            filters.append({"terms": {field_name: [str(v) for v in values]}})
    if q.free_of_charge is not None:
        filters.append({"term": {"free_of_charge": bool(q.free_of_charge)}})
    for flag in dict.fromkeys(q.accessibility):
        filters.append({"term": {"accessibility": str(flag)}})
    if q.open_on is not None or at is not None:
        slot: list[dict[str, Any]] = []
        if q.open_on is not None:
            slot.append({"term": {"slots.weekday": q.open_on}})
        if at is not None:
            slot.append({"range": {"slots.start": {"lte": at}}})
            slot.append({"range": {"slots.end": {"gt": at}}})
        filters.append(
            {"nested": {"path": "slots", "score_mode": "none", "query": {"bool": {"filter": slot}}}}
        )
    for f in normalize_filters(q.extra):
        filters.append(extra_query(f))
    if q.near is not None:
        filters.append({"exists": {"field": "lat"}})
        radius = q.radius_km
        if radius is not None and radius < _HALF_CIRCUMFERENCE_KM:
            outer = radius + NEAR_MARGIN_KM + radius * 1e-6
            filters.append(
                {
                    "geo_distance": {
                        "distance": f"{outer * 1000.0:.3f}m",
                        "location": {"lat": q.near.lat, "lon": q.near.lon},
                    }
                }
            )
            filters.append(_script(_WITHIN_SCRIPT, {**_geo_params(q), "r": float(radius)}))
    return filters


def build_sort(q: SearchQuery, sort: str) -> list[dict[str, Any]]:
    if sort == "distance":
        script = {"source": _DISTANCE_SCRIPT, "lang": "painless", "params": _geo_params(q)}
        first: dict[str, Any] = {"_script": {"type": "number", "script": script, "order": "asc"}}
    elif sort == "relevance":
        first = {"_score": {"order": "desc"}}
    else:
        first = {"title_sort": {"order": "asc"}}
    return [first, {"id": {"order": "asc"}}]


def build_query(q: SearchQuery, sort: str) -> dict[str, Any]:
    at = parse_time(q.open_at) if q.open_at is not None else None
    filters = build_filters(q, at)
    texts = [group_query(g) for g in text_groups(q)]
    if sort == "relevance" and texts:
        return {"bool": {"must": texts, "filter": filters}}
    return {"bool": {"filter": filters + texts}}


FACET_AGGS = {
    "kind": {"terms": {"field": "kind", "size": FACET_SIZE}},
    "category": {"terms": {"field": "categories", "size": FACET_SIZE}},
    "district": {"terms": {"field": "district", "size": FACET_SIZE}},
}


def _facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name in FACET_AGGS:
        agg = aggregations[name]
        if agg.get("sum_other_doc_count"):
            raise SearchError(f"facet {name!r} has more than {FACET_SIZE} values")
        out[name] = dict(sorted((str(b["key"]), int(b["doc_count"])) for b in agg["buckets"]))
    return out
