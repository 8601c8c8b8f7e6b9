"""Elasticsearch documents: the ``_source`` of a ``SearchDocument`` and the nested
entries of its custom fields.

Split from ``elastic.py`` (the backend); names are re-exported there.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from .base import (
    SearchDocument,
    SearchError,
)
from .elastic_analysis import MAX_KEYWORD
from .semantics import (
    normalize_extra,
)
from .text import (
    fold,
    index_token_list,
)

_MAX_TERM_BYTES = 32766

# -- documents ----------------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _double(v: int | float) -> float:
    """``v`` as a double; integers beyond its range become infinities."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _json_hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _str_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _extra_entry(key: str, value: Any, in_list: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"k": key, "l": in_list}
    if isinstance(value, bool):
        entry.update(t="bool", b=value)
    elif _is_number(value):
        entry["t"] = "num"
        if math.isfinite(_double(value)):  # Elasticsearch stores finite doubles only
            entry["n"] = value
    elif isinstance(value, str):
        entry["t"] = "str"
        if len(value) <= MAX_KEYWORD:
            entry["s"] = value
        else:
            entry.update(sh=_str_hash(value), sp=value[:MAX_KEYWORD])
    elif value is None:
        entry["t"] = "null"
    else:
        entry.update(t="json", j=_json_hash(value))
    return entry


def extra_entries(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The nested ``extra`` entries of a document's normalised custom fields."""
    entries = []
    for key, value in extra.items():
        if value is None:  # a missing value never matches (extra_matches)
            continue
        if isinstance(value, list | tuple):
            entries.extend(_extra_entry(str(key), x, True) for x in value)
        else:
            entries.append(_extra_entry(str(key), value, False))
    return entries


def _valid_point(d: SearchDocument) -> tuple[float, float] | None:
    loc = d.location
    if loc is None:
        return None
    lat, lon = float(loc.lat), float(loc.lon)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # also NaN
        return None
    return lat, lon


def document_source(d: SearchDocument) -> dict[str, Any]:
    """The ``_source`` of one document."""
    src: dict[str, Any] = {
        "id": d.id,
        "kind": d.kind,
        "status": d.status,
        "title": (d.title or "")[:MAX_KEYWORD],
        "title_sort": fold(d.title or "")[:MAX_KEYWORD],
        "text": [t for t in d.text if t],
        "vocab": [t for t in index_token_list(d.text) if len(t.encode()) <= _MAX_TERM_BYTES],
        "free_of_charge": bool(d.free_of_charge),
    }
    point = _valid_point(d)
    if point is not None:
        src["location"] = {"lat": point[0], "lon": point[1]}
        src["lat"], src["lon"] = point
    if d.district is not None:
        src["district"] = d.district
    if d.carrier is not None:
        src["carrier"] = d.carrier
    for name in ("categories", "languages", "channels", "accessibility"):
        values = getattr(d, name)
        if values:
            src[name] = list(dict.fromkeys(str(v) for v in values))
    if d.slots:
        src["slots"] = [
            {"weekday": int(s.weekday), "start": int(s.start), "end": int(s.end)} for s in d.slots
        ]
    if d.extra:
        try:
            entries = extra_entries(normalize_extra(d.extra))
        except (TypeError, ValueError) as e:
            raise SearchError(f"document {d.id!r}: extra fields are not JSON: {e}") from e
        if entries:
            src["extra"] = entries
    return src
