"""The Elasticsearch search backend.

Tested for real against Elasticsearch 7.10.2 (the only version these machines can run);
the code uses only the client API common to the ``elasticsearch`` Python client 7.17 to
9.x: keyword arguments (``query=``, ``sort=``, ``aggs=``, ``mappings=``, ``settings=``),
no ``body=`` and no ``doc_type``. Writes and deletes go through ``helpers.bulk`` and
``helpers.parallel_bulk`` (same signatures in 7.17, 8 and 9); counts are
``search(size=0, track_total_hits=True)``. The one call without a common keyword form,
the atomic alias swap, goes through ``update_aliases`` below.

Index layout (one instance = one alias; cities never share an index):

* The alias is the instance's ``index_prefix`` (default ``directory-<instance key>``); it
  points to exactly one versioned index ``<prefix>-v<microseconds since 1970>``.
  ``rebuild`` (``directory reindex``) builds a new versioned index next to it with bulk
  requests, swaps the alias in one ``_aliases`` request (remove + add) and then deletes
  the old index, so searches keep working throughout. ``clear`` swaps in an empty index.
* ``text``: the document's texts, analysed exactly like ``directory_search.text``
  (``index_tokens``): a ``mapping`` char filter generated from ``text.fold`` for the
  non-ASCII characters it changes (so that ``é``/``й``/``ά``/combining marks fold the
  way Python folds them), a ``pattern`` tokenizer on ``[^\\p{L}\\p{N}]+``, ``lowercase``,
  ``asciifolding``, ``german_normalization`` and ``dictionary_decompounder`` with the
  shipped word list (inline). ``text.prefix`` adds an ``edge_ngram`` filter (1 to
  ``PREFIX_GRAMS`` characters, original kept): a query term (folded in Python with
  ``text.query_terms``) is a ``term`` query there, a longer term a ``prefix`` query on
  ``text``; the groups of the expanded text (``semantics.text_groups``) are nested
  ``bool`` queries: groups ``must``, alternatives ``should``, the terms of one alternative
  ``must``. Relevance is Elasticsearch's BM25 score, ties by ``id``.
* ``vocab``: the index tokens computed in Python (``text.index_token_list``, the same as
  the analysed ``text``), doc values only: ``vocabulary()`` reads it with a composite
  terms aggregation for the query expansion.
* ``title_sort``: ``text.fold(title)`` computed in Python (keyword order is code point
  order, the same as Python's string order), ties by the ``id`` keyword.
* ``location`` (``geo_point``) narrows ``near`` queries; the exact test and the distance
  order use a Painless script over ``lat``/``lon`` (``double`` doc values, not quantised)
  with the formula of ``semantics.haversine_km``; returned ``distance_km`` values are
  computed in Python from the stored point, so they equal the brute-force ones.
* ``slots``: nested ``{weekday, start, end}`` (``open_on``/``open_at`` are exact).
* ``extra``: one nested entry per custom-field value (per element for lists):
  ``k`` field name, ``t`` type (``bool``/``num``/``str``/``null``/``json``), ``l`` element
  of a list, and the value in ``b``/``n``/``s`` (``j`` hash of the canonical JSON of lists
  and objects). This reproduces ``semantics.extra_matches`` without a mapping per field.
* Facets are ``terms`` aggregations over the filtered set; totals use
  ``track_total_hits=True``.

Known limits of the reproduction, none of which German, Turkish, Polish, Russian, Greek or
Arabic text runs into (``tests/test_search_elastic.py`` checks every character of the
mapped ranges): Hangul and CJK compatibility characters (outside the generated mapping);
about 400 rare letters that ``text.fold`` keeps but Lucene's ``asciifolding`` folds
(``ĸ``, ``ŋ``, ``ƀ``, ``ǥ``, IPA and phonetic letters; only ``text.py`` can align those);
the Greek final sigma. Custom fields: numbers compare as doubles (exact up to 2**53),
a stored string longer than ``MAX_KEYWORD`` characters is compared by its first
``MAX_KEYWORD`` characters when the filter value is that long too, and ``contains``
looks only at those; string filter values longer than ``NATIVE_CONTAINS_MAX`` /
``NATIVE_RANGE_MAX`` are checked by a Painless script (exact, but it reads every entry
of the field).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import threading
import time
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from .base import (
    EARTH_RADIUS_KM,
    EXACT_BONUS,
    ExtraFilter,
    IndexMissing,
    SearchBackend,
    SearchDocument,
    SearchError,
    SearchHit,
    SearchMisconfigured,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from .semantics import (
    haversine_km,
    normalize_extra,
    normalize_filters,
    parse_time,
    text_groups,
    validate,
)
from .text import (
    DICTIONARY,
    MAX_SUBWORD_SIZE,
    MIN_SUBWORD_SIZE,
    MIN_WORD_SIZE,
    fold,
    index_token_list,
)

try:  # an optional dependency: pip install seniorennetz-directory[elasticsearch]
    import elasticsearch
    from elasticsearch import helpers as es_helpers
except ImportError:  # pragma: no cover - depends on the environment
    elasticsearch = None  # type: ignore[assignment]
    es_helpers = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3  # 2: the owning store's id in the index metadata (``_meta``); 3: vocab
PREFIX_GRAMS = 20  # query terms up to this length are one term query on text.prefix
MAX_KEYWORD = 8000  # characters kept in keyword fields (Lucene terms: <= 32766 bytes)
_MAX_TERM_BYTES = 32766
WINDOW = 10_000  # from + size of one request (index.max_result_window)
CHUNK = 5_000  # hits per request beyond WINDOW (search_after)
FACET_SIZE = 10_000  # buckets per facet; more distinct values is an error
VOCABULARY_PAGE = 10_000  # vocabulary terms per composite-aggregation request
# seconds a vocabulary read from the index is reused; own writes drop it at once, writes
# of other processes are seen after at most this long
VOCABULARY_TTL = 30.0
NEAR_MARGIN_KM = 0.005  # the geo_distance pre-filter is this much wider than the radius
_HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")
_MATCH_NONE: dict[str, Any] = {"match_none": {}}

# Unicode ranges whose characters get a rule in the generated mapping char filter when
# text.fold changes them (Latin, IPA, Greek, Cyrillic, Arabic, ..., combining marks,
# punctuation and symbols, letter-like and enclosed forms, presentation and full-width
# forms). Hangul syllables and CJK compatibility ideographs stay out (tens of thousands
# of rules for scripts the directory does not index).
_MAPPED_RANGES = ((0x80, 0x2E80), (0xA640, 0xA800), (0xAB30, 0xAB70), (0xFB00, 0xFFF0))

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


# -- client compatibility -----------------------------------------------------------------


def _client_major() -> int:
    if elasticsearch is None:  # pragma: no cover
        return 0
    return int(elasticsearch.VERSION[0])


def update_aliases(client: Any, actions: list[dict[str, Any]], *, major: int | None = None):
    """``POST /_aliases`` with ``actions`` in one request (atomic).

    The only call of this backend without a keyword form common to the clients: 8.x and
    9.x take ``indices.update_aliases(actions=...)``, 7.17 accepts only
    ``indices.update_aliases(body={"actions": ...})``. ``major``: the client's major
    version (default: the installed one).
    """
    if major is None:
        major = _client_major()
    if major >= 8:
        return client.indices.update_aliases(actions=actions)
    return client.indices.update_aliases(body={"actions": actions})


def client_version() -> tuple[int, ...]:
    """The installed ``elasticsearch`` client's version, e.g. ``(7, 17, 13)``."""
    if elasticsearch is None:  # pragma: no cover
        return (0,)
    return tuple(int(part) for part in elasticsearch.VERSION)


# the pip command that installs the client of a server line (also the package extras)
_CLIENT_PINS = {7: "elasticsearch>=7.17,<8", 8: "elasticsearch>=8,<9", 9: "elasticsearch>=9,<10"}


def version_problem(client: tuple[int, ...], server: str, url: str) -> str | None:
    """``None`` when the client of version ``client`` can talk to the server that reported
    ``server`` (e.g. ``"7.10.2"``), else a one-line message naming both versions and the
    command that fixes it. A client talks only to servers of its own major version: a 9.x
    client sends ``compatible-with=9`` headers that 7.x and 8.x refuse (HTTP 406), an 8.x
    client refuses a 7.x server that lacks the product header."""
    try:
        major = int(server.split(".")[0])
    except ValueError:
        return f"Elasticsearch at {url} reported an unreadable version {server!r}"
    shown = ".".join(str(part) for part in client)
    if client and client[0] == major:
        return None
    pin = _CLIENT_PINS.get(major)
    if pin is None:
        return (
            f"Elasticsearch {server} at {url} is not supported (7.10 or newer, up to 9.x); "
            f"the installed elasticsearch client is {shown}"
        )
    return (
        f"the elasticsearch Python client {shown} cannot talk to Elasticsearch {server} at "
        f"{url}: run pip install '{pin}' "
        f"(or pip install 'seniorennetz-directory[elasticsearch{major}]')"
    )


def server_version(url: str, timeout: float) -> str | None:
    """The version number the cluster at ``url`` reports on ``GET /`` (asked with plain
    HTTP, because a client of the wrong major version cannot ask); ``None`` when it does
    not say (e.g. it wants credentials the URL does not carry). Raises ``SearchUnavailable``
    when it does not answer."""
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/", timeout=timeout)
    except httpx.HTTPError as exc:
        raise SearchUnavailable(
            f"Elasticsearch at {redact_url(url)} is not reachable: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        return None
    try:
        number = response.json()["version"]["number"]
    except (ValueError, KeyError, TypeError):
        return None
    return number if isinstance(number, str) else None


def _exception_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(connection errors, every error of the client) for the installed client."""
    if elasticsearch is None:  # pragma: no cover
        return (), ()
    exc = elasticsearch.exceptions
    names_conn = ("ConnectionError", "ConnectionTimeout")
    names_all = ("ElasticsearchException", "ApiError", "TransportError", "SerializationError")
    conn = tuple(c for n in names_conn if isinstance(c := getattr(exc, n, None), type))
    every = tuple(c for n in names_all if isinstance(c := getattr(exc, n, None), type))
    return conn, every + conn


_CONNECTION_ERRORS, _CLIENT_ERRORS = _exception_types()


def _status(exc: BaseException) -> int | None:
    """The HTTP status of a client error (7.x ``status_code``, 8.x ``meta.status``)."""
    status = getattr(getattr(exc, "meta", None), "status", None)
    if status is None:
        status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _error_type(exc: BaseException) -> str:
    """Elasticsearch's error type (``index_not_found_exception``, ...) if known."""
    info = getattr(exc, "info", None)  # 7.x
    if not isinstance(info, dict):
        info = getattr(exc, "body", None)  # 8.x
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return str(error.get("type", ""))
    return str(getattr(exc, "error", "") or "")


def _body(response: Any) -> dict[str, Any]:
    """The JSON body of a response (8.x and 9.x wrap it in an ``ObjectApiResponse``)."""
    return getattr(response, "body", response)


def redact_url(url: str) -> str:
    """``url`` without a password (for messages and ``/healthz``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


# -- analysis and mapping ------------------------------------------------------------------


def _escape(s: str) -> str:
    """``s`` as ``\\uXXXX`` escapes of its UTF-16 code units (mapping rule syntax)."""
    units = s.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


@functools.cache
def fold_mapping_rules() -> tuple[str, ...]:
    """``mapping`` char filter rules ``c => fold(c)`` for the characters of
    ``_MAPPED_RANGES`` that ``text.fold`` changes: Elasticsearch then tokenizes text that
    is already folded character by character the way Python folds it (diacritics and
    combining marks removed, ``й`` -> ``и``, ``ª`` -> ``a``, ``½`` -> ``1⁄2``)."""
    rules = []
    for lo, hi in _MAPPED_RANGES:
        for cp in range(lo, hi):
            c = chr(cp)
            if unicodedata.category(c) in ("Cn", "Cs", "Co"):
                continue
            folded = fold(c)
            if folded != c:
                rules.append(f"{_escape(c)} => {_escape(folded)}")
    return tuple(rules)


def index_settings(shards: int, replicas: int | None) -> dict[str, Any]:
    """Settings of a new versioned index: shards, replicas and the German analysis."""
    words = sorted(w for w in DICTIONARY if MIN_SUBWORD_SIZE <= len(w) <= MAX_SUBWORD_SIZE)
    fold_filters = ["lowercase", "asciifolding", "german_normalization"]
    index: dict[str, Any] = {"number_of_shards": shards, "max_result_window": WINDOW}
    if replicas is None:
        index["auto_expand_replicas"] = "0-1"
    else:
        index["number_of_replicas"] = replicas
    return {
        "index": index,
        "analysis": {
            "char_filter": {
                "directory_fold": {"type": "mapping", "mappings": list(fold_mapping_rules())}
            },
            "tokenizer": {
                "directory_words": {"type": "pattern", "pattern": r"[^\p{L}\p{N}]+"},
            },
            "filter": {
                "directory_decompound": {
                    "type": "dictionary_decompounder",
                    "word_list": words,
                    "min_word_size": MIN_WORD_SIZE,
                    "min_subword_size": MIN_SUBWORD_SIZE,
                    "max_subword_size": MAX_SUBWORD_SIZE,
                    "only_longest_match": False,
                },
                "directory_prefixes": {
                    "type": "edge_ngram",
                    "min_gram": 1,
                    "max_gram": PREFIX_GRAMS,
                    "preserve_original": True,
                },
            },
            "analyzer": {
                # index side: text.index_tokens
                "directory_text": {
                    "type": "custom",
                    "char_filter": ["directory_fold"],
                    "tokenizer": "directory_words",
                    "filter": [*fold_filters, "directory_decompound"],
                },
                # index side of text.prefix: every prefix of every index token
                "directory_text_prefixes": {
                    "type": "custom",
                    "char_filter": ["directory_fold"],
                    "tokenizer": "directory_words",
                    "filter": [*fold_filters, "directory_decompound", "directory_prefixes"],
                },
                # query side: text.query_terms (the backend itself sends folded terms)
                "directory_query": {
                    "type": "custom",
                    "char_filter": ["directory_fold"],
                    "tokenizer": "directory_words",
                    "filter": fold_filters,
                },
            },
        },
    }


def index_mappings(prefix: str, owner: str | None = None) -> dict[str, Any]:
    """The mapping of a new versioned index; ``owner``: the id of the store it is built
    from (``Store.identity``), recorded in ``_meta`` so that no other store writes it."""
    keyword = {"type": "keyword"}
    meta: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "alias": prefix}
    if owner is not None:
        meta["store"] = owner
    return {
        "dynamic": "strict",
        "_meta": {"directory": meta},
        "properties": {
            "id": keyword,
            "kind": keyword,
            "status": keyword,
            "title": {"type": "keyword", "index": False, "doc_values": False},
            "title_sort": keyword,
            "text": {
                "type": "text",
                "analyzer": "directory_text",
                "search_analyzer": "directory_query",
                "index_options": "docs",
                "norms": False,
                "fields": {
                    "prefix": {
                        "type": "text",
                        "analyzer": "directory_text_prefixes",
                        "search_analyzer": "directory_query",
                        "index_options": "freqs",
                    }
                },
            },
            # the index tokens (text.index_token_list), only for vocabulary(): doc values
            # for the terms aggregation, no inverted index
            "vocab": {"type": "keyword", "index": False},
            "location": {"type": "geo_point"},
            "lat": {"type": "double"},
            "lon": {"type": "double"},
            "district": keyword,
            "carrier": keyword,
            "categories": keyword,
            "languages": keyword,
            "channels": keyword,
            "accessibility": keyword,
            "free_of_charge": {"type": "boolean"},
            "slots": {
                "type": "nested",
                "properties": {
                    "weekday": {"type": "byte"},
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                },
            },
            "extra": {
                "type": "nested",
                "properties": {
                    "k": keyword,
                    "t": keyword,
                    "l": {"type": "boolean"},
                    "b": {"type": "boolean"},
                    "n": {"type": "double"},
                    "s": keyword,  # strings up to MAX_KEYWORD characters
                    "sh": keyword,  # longer strings: their hash ...
                    "sp": keyword,  # ... and their first MAX_KEYWORD characters
                    "j": keyword,  # lists and objects: hash of the canonical JSON
                },
            },
        },
    }


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


# -- the backend --------------------------------------------------------------------------


class ElasticsearchBackend(SearchBackend):
    """Search in an Elasticsearch cluster; see the module docstring."""

    name: ClassVar[str] = "elasticsearch"
    needs_server: ClassVar[bool] = True

    def __init__(
        self,
        url: str | None,
        index_prefix: str | None,
        *,
        shards: int = 1,
        replicas: int | None = None,
        refresh: bool = True,
        timeout: float = 10.0,
        search_timeout: float | None = None,
        max_retries: int = 1,
        bulk_chunk: int = 2000,
        bulk_threads: int = 2,
        old_index_grace: float = 1.0,
        owner: str | None = None,
        create_missing: bool = True,
        breaker_seconds: float = 0.0,
        check_version: bool = True,
        client: Any = None,
    ):
        """``url``: the cluster (``http://host:9200``, credentials allowed in it);
        ``index_prefix``: the alias of this instance (also the prefix of its versioned
        indices). ``shards``/``replicas`` apply to new indices (``replicas=None``: 0 on a
        single node, 1 as soon as there are two: ``auto_expand_replicas = 0-1``).
        ``refresh``: make every ``index``/``delete`` visible to searches before it
        returns. ``bulk_chunk``: documents per bulk request; ``bulk_threads``: bulk
        requests sent at the same time for large batches. ``old_index_grace``: seconds
        between the alias swap of a rebuild and the deletion of the old index (searches
        already running there may finish). ``timeout``: seconds per request;
        ``search_timeout``: seconds per search, status and alias request (default:
        ``timeout``), short so that a hung cluster is noticed quickly.
        ``owner``: the id of the store of record this index is built from; an index of
        another store is refused (``SearchMisconfigured``), so two instances that share a
        key cannot write one index. ``create_missing``: create a missing index on first
        use (a backend used on its own); ``False`` (a ``Directory``): raise
        ``IndexMissing`` instead, so the directory rebuilds it from its store and never
        answers from an empty index. ``breaker_seconds``: after a request that got no
        answer (timeout, refused connection), fail at once for this long instead of
        waiting again (0: off). ``check_version``: compare the client's major version with
        the server's on first contact. Nothing is sent to the cluster until the backend
        is used."""
        if elasticsearch is None:  # pragma: no cover
            raise SearchError(
                "the elasticsearch backend needs the 'elasticsearch' package "
                "(pip install 'seniorennetz-directory[elasticsearch]')"
            )
        if not url:
            raise SearchError("the elasticsearch backend needs a URL (search.url)")
        prefix = index_prefix or "directory"
        if (
            not _INDEX_NAME.match(prefix)
            or len(prefix.encode()) > 200
            or re.search(r"-v\d+$", prefix)
        ):
            raise SearchError(
                f"index_prefix {prefix!r} is not usable: lower-case letters, digits, "
                "'-', '_', '.', '+'; not ending in '-v<digits>' (reserved for the "
                "versioned indices)"
            )
        self.url = url
        self.safe_url = redact_url(url)
        try:
            self._secret = urlsplit(url).password
        except ValueError:
            self._secret = None
        self.alias = prefix
        self.shards = shards
        self.replicas = replicas
        self.refresh = refresh
        self.bulk_chunk = bulk_chunk
        self.bulk_threads = bulk_threads
        self.old_index_grace = old_index_grace
        self.owner = owner
        self.create_missing = create_missing
        self.timeout = timeout
        self.search_timeout = timeout if search_timeout is None else search_timeout
        self.breaker_seconds = breaker_seconds
        self._down_until = 0.0  # circuit breaker: fail fast until then (monotonic)
        self._down_reason = ""
        self._checked: list[str] = []  # the alias's indices at the last full check
        self._version_checked = not check_version
        self._versioned = re.compile(rf"^{re.escape(prefix)}-v\d+$")
        self._lock = threading.RLock()
        self._ready = False
        self._vocabulary: tuple[float, dict[str, int]] | None = None
        self._build_lock = threading.Lock()
        self._building: str | None = None  # the index a rebuild is filling right now
        self._pending: dict[str, dict[str, Any] | None] = {}  # writes meanwhile
        reader = client
        if client is None:
            # two clients, because the way to give one request its own timeout differs
            # between client versions (7.17: a keyword, 8/9: .options())
            client = self._client(url, timeout, max_retries)
            reader = self._client(url, self.search_timeout, max_retries)
        self.es = client
        self._reader = reader  # searches, status and alias lookups

    def _client(self, url: str, timeout: float, max_retries: int) -> Any:
        options: dict[str, Any] = {"max_retries": max_retries, "retry_on_timeout": False}
        options["request_timeout" if _client_major() >= 8 else "timeout"] = timeout
        try:
            return elasticsearch.Elasticsearch(url, **options)
        except Exception as e:  # bad URL, bad options
            raise SearchError(f"cannot use Elasticsearch at {self.safe_url}: {e}") from e

    # -- errors ------------------------------------------------------------------------

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        """Turn client errors into ``SearchUnavailable`` (cluster unreachable, 5xx, 429)
        or ``SearchError`` (a bad request). While the circuit breaker is open (a request
        got no answer less than ``breaker_seconds`` ago) fail at once."""
        left = self._down_until - time.monotonic()
        if left > 0:
            raise SearchUnavailable(
                f"Elasticsearch at {self.safe_url} did not answer ({self._down_reason}); "
                f"not asking again for {left:.1f} s"
            )
        try:
            yield
        except SearchError:
            raise
        except _CONNECTION_ERRORS as e:
            if self.breaker_seconds > 0:
                self._down_reason = f"{what}: {type(e).__name__}"
                self._down_until = time.monotonic() + self.breaker_seconds
            raise SearchUnavailable(
                f"Elasticsearch at {self.safe_url} is not reachable ({what}): {self._scrub(e)}"
            ) from e
        except _CLIENT_ERRORS as e:
            status = _status(e)
            if status is None or status >= 500 or status in (408, 429):
                raise SearchUnavailable(
                    f"Elasticsearch at {self.safe_url} is unavailable ({what}): {self._scrub(e)}"
                ) from e
            raise SearchError(
                f"Elasticsearch at {self.safe_url} refused {what}: {self._scrub(e)}"
            ) from e

    def _scrub(self, error: BaseException) -> str:
        """The text of a client error without the password of the URL."""
        message = str(error)
        if self._secret:
            message = message.replace(self._secret, "***")
        return message

    # -- indices and the alias -----------------------------------------------------------

    def _new_index_name(self) -> str:
        return f"{self.alias}-v{time.time_ns() // 1000}"

    def _create_index(self, with_alias: bool = False) -> str:
        """Create a new, empty versioned index (and point the alias to it)."""
        for _ in range(5):
            name = self._new_index_name()
            try:
                with self._call(f"creating index {name}"):
                    options: dict[str, Any] = {}
                    if with_alias:
                        options["aliases"] = {self.alias: {}}
                    self.es.indices.create(
                        index=name,
                        settings=index_settings(self.shards, self.replicas),
                        mappings=index_mappings(self.alias, self.owner),
                        **options,
                    )
                return name
            except SearchError as e:
                if "resource_already_exists" not in str(e):
                    raise
                time.sleep(0.001)
        raise SearchError(f"could not create a new index for {self.alias}")  # pragma: no cover

    def _alias_indices(self) -> dict[str, Any]:
        """The indices behind the alias with their mappings (``{}`` if there is none)."""
        with self._call("reading the alias"):
            try:
                found = _body(self.es.indices.get(index=self.alias))
            except _CLIENT_ERRORS as e:
                if _status(e) == 404:
                    return {}
                raise
        if self.alias in found:
            raise SearchError(
                f"{self.alias!r} at {self.safe_url} is an index, not an alias: move it away "
                "(or choose another search.index_prefix) and run 'directory reindex'"
            )
        foreign = [name for name in found if not self._versioned.match(name)]
        if foreign:
            raise SearchError(
                f"the alias {self.alias!r} points to {', '.join(sorted(foreign))}, "
                "which this backend did not create"
            )
        return found

    def _alias_names(self) -> list[str]:
        """The names of the indices behind the alias (a small request: no mappings)."""
        with self._call("reading the alias"):
            try:
                found = _body(self._reader.indices.get_alias(name=self.alias))
            except _CLIENT_ERRORS as e:
                if _status(e) == 404:
                    return []
                raise
        return sorted(found)

    def current_index(self) -> str | None:
        """The versioned index the alias points to (``None`` before the first use)."""
        found = self._alias_names()
        return max(found) if found else None

    def _check_version(self) -> None:
        """Once: refuse a client whose major version does not fit the server's."""
        if self._version_checked:
            return
        if time.monotonic() < self._down_until:
            return  # the breaker is open: the next request says so
        number = server_version(self.url, self.search_timeout)
        if number is not None:
            problem = version_problem(client_version(), number, self.safe_url)
            if problem:
                raise SearchMisconfigured(problem)
        self._version_checked = True

    def _foreign(self, name: str, info: dict[str, Any]) -> str | None:
        """The store id recorded in index ``name`` if it is not this backend's owner."""
        meta = (info.get("mappings") or {}).get("_meta", {}).get("directory", {})
        recorded = meta.get("store")
        if self.owner is None or recorded is None or recorded == self.owner:
            return None
        return str(recorded)

    def _refuse_foreign(self, name: str, recorded: str) -> SearchMisconfigured:
        return SearchMisconfigured(
            f"index {name} (alias {self.alias!r}) at {self.safe_url} belongs to another "
            f"store (id {recorded}; this instance's store is {self.owner}): two instances "
            "use the same key or search.index_prefix. Give this instance a key of its own "
            "(or its own search.index_prefix) and run 'directory init'; only if this store "
            f"really replaces the other one, delete the index (DELETE {self.safe_url}/"
            f"{name}) and run 'directory reindex'"
        )

    def verify(self) -> None:
        """Look at the alias again (the index may have been deleted since the last use):
        ``IndexMissing`` when it is gone, ``SearchMisconfigured`` for an index of another
        store or a client that does not fit the server."""
        names = self._alias_names()  # small; the full check only when something changed
        with self._lock:
            if names and names == self._checked:
                return
            self._ready = False
        self._ensure()

    def _ensure(self) -> None:
        """Make sure the alias exists and points to one index of the current schema and
        of this backend's store. A missing alias is created only with
        ``create_missing``; otherwise ``IndexMissing``."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self._check_version()
            found = self._alias_indices()
            if not found:
                if not self.create_missing:
                    raise IndexMissing(
                        f"the search index {self.alias!r} is missing at {self.safe_url} "
                        "(deleted, or the cluster lost its data): it is rebuilt from the "
                        "store by the next sync ('directory sync' or a running server), "
                        "or run 'directory reindex'"
                    )
                self._create_index(with_alias=True)
                found = self._alias_indices()
            if len(found) > 1:
                # two processes created the first index at the same time: keep one
                keep = max(found)
                log.warning(
                    "alias %s points to %d indices; keeping %s", self.alias, len(found), keep
                )
                actions = [
                    {"remove": {"index": n, "alias": self.alias}} for n in found if n != keep
                ]
                try:
                    with self._call("repairing the alias"):
                        update_aliases(self.es, actions)
                except SearchError:
                    pass  # the other process did it
                found = self._alias_indices()
            for name, info in found.items():
                recorded = self._foreign(name, info)
                if recorded is not None:
                    raise self._refuse_foreign(name, recorded)
                meta = (info.get("mappings") or {}).get("_meta", {}).get("directory", {})
                version = meta.get("schema_version")
                if version != SCHEMA_VERSION:
                    raise SearchError(
                        f"index {name} at {self.safe_url} has schema version {version}, "
                        f"expected {SCHEMA_VERSION}: run 'directory reindex'"
                    )
            self._checked = sorted(found)
            self._ready = True

    def _swap_to(self, new: str) -> list[str]:
        """Point the alias to ``new`` in one atomic request; return the old indices."""
        old = sorted(self._alias_indices())
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.alias}} for name in old
        ]
        actions.append({"add": {"index": new, "alias": self.alias}})
        with self._call("swapping the alias"):
            update_aliases(self.es, actions)
        self._ready = False
        return old

    def _delete_indices(self, names: list[str]) -> None:
        for name in names:
            if not self._versioned.match(name):  # never touch another instance's index
                continue
            with self._call(f"deleting index {name}"):
                try:
                    self.es.indices.delete(index=name)
                except _CLIENT_ERRORS as e:
                    if _status(e) != 404:
                        raise

    def indices(self) -> list[str]:
        """Every versioned index of this prefix (in the alias or not), sorted."""
        with self._call("listing indices"):
            try:
                found = _body(self.es.indices.get(index=f"{self.alias}-v*"))
            except _CLIENT_ERRORS as e:
                if _status(e) == 404:
                    return []
                raise
        return sorted(name for name in found if self._versioned.match(name))

    def drop(self) -> None:
        """Delete the alias and every versioned index of this prefix (tests, teardown)."""
        self._delete_indices(self.indices())
        self._ready = False

    # -- writing -------------------------------------------------------------------------

    def _bulk(
        self, actions: Iterable[dict[str, Any]], what: str, parallel: bool, **options: Any
    ) -> None:
        """Send ``actions`` in bulk requests of ``bulk_chunk`` actions; with ``parallel``
        on ``bulk_threads`` connections at once (``helpers.parallel_bulk``: the actions
        of the next request are built while the others are sent)."""
        with self._call(what):
            if parallel and self.bulk_threads > 1:
                errors = [
                    item
                    for ok, item in es_helpers.parallel_bulk(
                        self.es,
                        actions,
                        thread_count=self.bulk_threads,
                        chunk_size=self.bulk_chunk,
                        raise_on_error=False,
                        raise_on_exception=True,
                        **options,
                    )
                    if not ok
                ]
            else:
                _, errors = es_helpers.bulk(
                    self.es,
                    actions,
                    chunk_size=self.bulk_chunk,
                    raise_on_error=False,
                    raise_on_exception=True,
                    **options,
                )
        problems = []
        for item in errors:
            ((op, info),) = item.items()
            status = info.get("status")
            if op == "delete" and status == 404:
                continue  # unknown ids are ignored
            problems.append((status, info.get("_id"), info.get("error")))
        if not problems:
            return
        status, doc_id, error = problems[0]
        message = f"{what}: {len(problems)} failed, first {doc_id!r}: {error}"
        if isinstance(status, int) and (status >= 500 or status in (408, 429)):
            raise SearchUnavailable(f"Elasticsearch at {self.safe_url}: {message}")
        raise SearchError(f"Elasticsearch at {self.safe_url}: {message}")

    def _refresh(self, index: str) -> None:
        with self._call("refreshing"):
            self.es.indices.refresh(index=index)

    def _record(self, changes: dict[str, dict[str, Any] | None]) -> None:
        """During a rebuild: remember writes (id -> source, ``None``: deleted) to apply
        to the new index once it is built."""
        with self._build_lock:
            if self._building is not None:
                self._pending.update(changes)

    def index(self, documents: list[SearchDocument]) -> None:
        if not documents:
            return
        self._vocabulary = None
        latest = list({d.id: d for d in documents}.values())
        sources = [(d.id, document_source(d)) for d in latest]
        self._ensure()
        self._record(dict(sources))
        actions = (
            {"_op_type": "index", "_index": self.alias, "_id": doc_id, "_source": src}
            for doc_id, src in sources
        )
        self._bulk(
            actions,
            f"indexing {len(sources)} documents",
            len(sources) > self.bulk_chunk,
            require_alias=True,
        )
        if self.refresh:
            self._refresh(self.alias)

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        self._vocabulary = None
        unique = list(dict.fromkeys(ids))
        self._ensure()
        self._record(dict.fromkeys(unique))
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": i} for i in unique)
        self._bulk(
            actions,
            f"deleting {len(unique)} documents",
            len(unique) > self.bulk_chunk,
            require_alias=True,
        )
        if self.refresh:
            self._refresh(self.alias)

    def clear(self) -> None:
        """Swap in a new, empty index (searches never see a half-cleared one)."""
        self.rebuild([])

    def rebuild(self, batches: Iterable[list[SearchDocument]]) -> int:
        """Build a new versioned index from ``batches`` (parallel bulk requests), swap the
        alias to it atomically, then delete the old index. Searches use the old index
        until the swap. Writes through this backend meanwhile go to the old index and are
        applied to the new one before the swap. A missing alias or an index of an older
        schema is replaced; an index of another store is refused."""
        with self._lock:
            self._check_version()
            for name, info in self._alias_indices().items():
                recorded = self._foreign(name, info)
                if recorded is not None:
                    raise self._refuse_foreign(name, recorded)
            self._vocabulary = None
        new = self._create_index()
        count = 0

        def actions() -> Iterator[dict[str, Any]]:
            nonlocal count
            for batch in batches:
                for d in {d.id: d for d in batch}.values():
                    yield {
                        "_op_type": "index",
                        "_index": new,
                        "_id": d.id,
                        "_source": document_source(d),
                    }
                count += len(batch)

        with self._build_lock:
            self._building, self._pending = new, {}
        try:
            self._bulk(actions(), f"building {new}", True)
            with self._build_lock:  # writes wait for the swap from here on
                pending, self._pending = self._pending, {}
                if pending:
                    self._bulk(
                        (
                            {"_op_type": "index", "_index": new, "_id": i, "_source": src}
                            if src is not None
                            else {"_op_type": "delete", "_index": new, "_id": i}
                            for i, src in pending.items()
                        ),
                        f"applying {len(pending)} writes to {new}",
                        len(pending) > self.bulk_chunk,
                    )
                self._refresh(new)
                old = self._swap_to(new)
                self._building = None
                self._vocabulary = None  # the new index's words
        except BaseException:
            with self._build_lock:
                self._building, self._pending = None, {}
            try:
                self._delete_indices([new])
            except SearchError:
                log.warning("could not delete the unfinished index %s", new)
            raise
        if old:
            if self.old_index_grace > 0:
                time.sleep(self.old_index_grace)  # let searches running there finish
            self._delete_indices(old)
        return count

    # -- reading -------------------------------------------------------------------------

    def _search(self, **request: Any) -> dict[str, Any]:
        """One search request on the alias; retried once if the index went away (a
        concurrent rebuild deleted it) or answered only partly."""
        for attempt in (1, 2):
            self._ensure()
            try:
                with self._call("search"):
                    response = self._reader.search(index=self.alias, **request)
            except SearchError as e:
                cause = e.__cause__
                if attempt == 1 and cause is not None and "index_not_found" in _error_type(cause):
                    self._ready = False
                    continue
                raise
            response = _body(response)
            shards = response.get("_shards", {})
            if shards.get("failed") or response.get("timed_out"):
                if attempt == 1:
                    continue
                reason = (shards.get("failures") or [{}])[0].get("reason")
                raise SearchUnavailable(
                    f"Elasticsearch at {self.safe_url} answered only partly: {reason}"
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def vocabulary(self) -> dict[str, int]:
        """Read with a composite terms aggregation over ``vocab`` (pages of
        ``VOCABULARY_PAGE``), cached for ``VOCABULARY_TTL`` seconds or until this backend
        writes."""
        cached = self._vocabulary
        if cached is not None and time.monotonic() - cached[0] < VOCABULARY_TTL:
            return cached[1]
        vocab: dict[str, int] = {}
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": VOCABULARY_PAGE,
                "sources": [{"t": {"terms": {"field": "vocab"}}}],
            }
            if after is not None:
                composite["after"] = after
            response = self._search(
                size=0, track_total_hits=False, aggs={"v": {"composite": composite}}
            )
            agg = response["aggregations"]["v"]
            for bucket in agg["buckets"]:
                vocab[str(bucket["key"]["t"])] = int(bucket["doc_count"])
            after = agg.get("after_key")
            if len(agg["buckets"]) < VOCABULARY_PAGE or after is None:
                break
        self._vocabulary = (time.monotonic(), vocab)
        return vocab

    def count(self) -> int:
        response = self._search(size=0, track_total_hits=True, query={"match_all": {}})
        return int(response["hits"]["total"]["value"])

    def search(self, query: SearchQuery) -> SearchResult:
        sort = validate(query)
        if query.limit == 0 and not query.want_total and not query.want_facets:
            return SearchResult(hits=[])
        es_query = build_query(query, sort)
        es_sort = build_sort(query, sort)
        near = query.near
        request: dict[str, Any] = {
            "query": es_query,
            "sort": es_sort,
            "track_total_hits": bool(query.want_total),
            "_source": ["lat", "lon"] if near is not None else False,
            # the same copies of the shards for the same query: scores (and so the
            # relevance order) stay the same from page to page
            "preference": f"q{zlib.crc32(repr(es_query).encode()):08x}",
        }
        if query.want_facets:
            request["aggs"] = FACET_AGGS
        need = query.offset + query.limit
        if need <= WINDOW or query.limit == 0:
            response = self._search(
                from_=query.offset if query.limit else 0, size=query.limit, **request
            )
            raw = response["hits"]["hits"]
        else:  # deep: search_after in chunks (from + size is limited to WINDOW)
            size = min(CHUNK, need)
            response = self._search(size=size, **request)
            page = response["hits"]["hits"]
            raw = list(page)
            more = {**request, "track_total_hits": False}
            more.pop("aggs", None)
            while len(page) == size and len(raw) < need:
                size = min(CHUNK, need - len(raw))
                page = self._search(size=size, search_after=page[-1]["sort"], **more)["hits"][
                    "hits"
                ]
                raw.extend(page)
            raw = raw[query.offset : need]
        hits = []
        for h in raw:
            distance = score = None
            if near is not None:
                src = h.get("_source") or {}
                distance = haversine_km(near.lat, near.lon, src["lat"], src["lon"])
            if sort == "relevance":
                score = float(h["_score"] if h.get("_score") is not None else h["sort"][0])
            hits.append(SearchHit(id=h["_id"], distance_km=distance, score=score))
        result = SearchResult(hits=hits)
        if query.want_total:
            result.total = int(response["hits"]["total"]["value"])
        if query.want_facets:
            result.facets = _facets(response["aggregations"])
        return result

    # -- status --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        self.verify()  # a deleted index is reported, not created
        documents = self.count()
        with self._call("cluster health"):
            cluster = _body(self._reader.cluster.health(index=self.alias))
        if cluster.get("status") == "red":
            raise SearchUnavailable(
                f"Elasticsearch at {self.safe_url}: index {self.alias} is red "
                "(a primary shard is not available)"
            )
        return {
            "backend": self.name,
            "documents": documents,
            "url": self.safe_url,
            "alias": self.alias,
            "index": self.current_index(),
            "cluster": cluster.get("cluster_name"),
            "status": cluster.get("status"),
        }

    def close(self) -> None:
        for client in {id(self.es): self.es, id(self._reader): self._reader}.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass
