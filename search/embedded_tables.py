"""The tables of the embedded backend (``embedded.py``'s docstring describes them) and
the building of their rows from ``SearchDocument`` values, in bulk. Split from
``embedded.py``.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
import zlib
from typing import Any

from .base import (
    ExtraFilter,
    SearchDocument,
    SearchError,
    SearchUnavailable,
    TextMatch,
)
from .semantics import (
    EXTRA_JSON,
    extra_matches,
)
from .text import fold, index_token_string

# search_mv field codes: "c" categories (also in search_doc.cats as a JSON array), "l"
# languages, "h" channels, "a" accessibility (also in search_doc.mv, a JSON array of
# code + value): the keys of a document are known without an index on search_mv.doc.

# Terms shorter than this are never sent to FTS5 (no prefix index of that size).
FTS_MIN_TERM = 2
_FTS_HASHSIZE = 128 * 1024 * 1024
_JSON = json.JSONEncoder(separators=(",", ":"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_doc (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    title_key TEXT NOT NULL,
    lat REAL,
    lon REAL,
    district TEXT,
    carrier TEXT,
    free INTEGER NOT NULL,
    cats TEXT,
    mv TEXT,
    extra TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS search_doc_id ON search_doc (id);
CREATE INDEX IF NOT EXISTS search_doc_title ON search_doc (title_key, id);
CREATE TABLE IF NOT EXISTS search_mv (
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (field, value, doc)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_slot (
    doc INTEGER NOT NULL,
    weekday INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    PRIMARY KEY (doc, weekday, start, "end")
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS search_geo USING rtree (doc, min_lat, max_lat, min_lon, max_lon);
CREATE TABLE IF NOT EXISTS search_catgeo (
    cat TEXT NOT NULL,
    strip INTEGER NOT NULL,
    lon REAL NOT NULL,
    doc INTEGER NOT NULL,
    lat REAL NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (cat, strip, lon, doc)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_text (doc INTEGER PRIMARY KEY, tokens TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5 (
    tokens,
    content = 'search_text',
    content_rowid = 'doc',
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'",
    prefix = '2 3 4 5 6 7 8',
    detail = none
);
CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_DATA_TABLES = (
    "search_fts",
    "search_text",
    "search_geo",
    "search_catgeo",
    "search_slot",
    "search_mv",
    "search_doc",
)

# -- search_catgeo: the located documents of each category, by latitude strip ----------
#
# One row per (category, located active document) with its position and id, clustered
# on (category, strip of 0.01 degrees latitude, longitude): a nearby search with
# categories seeks, for each strip its box spans, straight to the box's longitudes of
# that category, and so visits only documents of the category (with the R*Tree and a
# 1-in-30 category about 30 candidates were read, joined and probed per hit).
# ``strip_of`` and ``_STRIP_SQL`` compute the same number (truncation of the same
# double, in Python and in SQLite); it is monotonic in the latitude, so every document
# inside a box lies in one of the strips of the box's edges. A B-tree insert costs a
# fraction of an R*Tree insert (a 3-D R*Tree with the category as third axis took 2.3 s
# for 100,000 offers, this table 0.3 s); the rows go in unsorted, as the documents are
# numbered in spatial order already.
_STRIP_SQL = "CAST(d.lat * 100.0 + 9000.0 AS INTEGER)"


def strip_of(lat: float) -> int:
    """The ``search_catgeo`` strip of a latitude (``_STRIP_SQL`` in Python)."""
    return int(lat * 100.0 + 9000.0)


def catgeo_rows(documents: str, keys_only: bool = False) -> str:
    """A SELECT of the ``search_catgeo`` rows ``(cat, strip, lon, doc, lat, id)`` (the
    key ``(cat, strip, lon, doc)`` with ``keys_only``) of the located active documents
    of ``search_doc d`` that ``documents`` (a condition on ``d``) picks: what indexing
    inserts, and what deleting a document removes, so the two cannot drift apart. Only
    active documents, with their position and id: a nearby search for the public (no
    archived offers) then reads ``search_catgeo`` alone, without looking up any
    candidate's document."""
    rest = "" if keys_only else ", d.lat, d.id"
    return (
        f"SELECT j.value, {_STRIP_SQL}, d.lon, d.rowid{rest} "
        f"FROM search_doc d, json_each(d.cats) j WHERE {documents} "
        "AND d.cats IS NOT NULL AND d.lat IS NOT NULL AND d.lon IS NOT NULL "
        "AND d.status = 'active'"
    )


def _create_schema(conn: sqlite3.Connection) -> None:
    fresh = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_fts'").fetchone() is None
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    if fresh:
        # a larger in-memory buffer for pending FTS5 changes: fewer segments to merge
        # during bulk indexing (persistent setting of the table)
        conn.execute(
            "INSERT INTO search_fts (search_fts, rank) VALUES ('hashsize', ?)", (_FTS_HASHSIZE,)
        )


@functools.lru_cache(maxsize=256)
def _extra_spec(spec: str) -> tuple[ExtraFilter, ...]:
    return tuple(ExtraFilter(f, op, v) for f, op, v in json.loads(spec))


def _extra_udf(extra_json: str | None, spec: str) -> int:
    if extra_json is None:
        return 0
    extra = json.loads(extra_json)
    return int(all(extra_matches(extra, f) for f in _extra_spec(spec)))


_GENERATION_KEY = "generation"


def write_error(path: str, what: str, error: sqlite3.Error) -> SearchError:
    """The error for a failed write: ``SearchUnavailable`` when another connection held
    the file's write lock longer than the timeout (a large import indexing; the outbox
    keeps the change for the next sync), else ``SearchError``."""
    code = getattr(error, "sqlite_errorcode", None)  # extended: the primary in its low byte
    busy = code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    kind = SearchUnavailable if busy else SearchError
    return kind(f"search index {path!r}: {what}{error}")


# set while an index must be rebuilt from the store (an older schema was dropped)
_REBUILD_KEY = "search.rebuild_needed"


def _bump_generation(conn: sqlite3.Connection) -> None:
    """Mark a change of the indexed documents (invalidates cached vocabularies)."""
    conn.execute(
        "INSERT INTO search_meta (key, value) VALUES (?, '1') ON CONFLICT (key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        (_GENERATION_KEY,),
    )


def _fts_expr(groups: TextMatch) -> str:
    """An FTS5 query: groups AND-ed, alternatives OR-ed, the terms of one alternative
    AND-ed, every term a prefix query."""
    return " AND ".join(
        "(" + " OR ".join("(" + " AND ".join(f'"{t}"*' for t in alt) + ")" for alt in g) + ")"
        for g in groups
    )


def _fts_able(group: tuple[tuple[str, ...], ...]) -> bool:
    """Can FTS5 match this group? (no term shorter than its smallest prefix index)"""
    return all(len(t) >= FTS_MIN_TERM for alt in group for t in alt)


def _fts_groups(groups: TextMatch) -> TextMatch:
    return tuple(g for g in groups if _fts_able(g))


# -- filter keys: tokens for FTS5 that folded text can never produce -------------------
#
# Besides its index tokens, a document's token string holds keys of its categories (with
# ancestors) and of the grid cells it lies in, at two cell sizes. They start with "_",
# which the tokenizer keeps inside a token ("tokenchars") and no folded word contains
# (words are letters and digits), so a text term never matches a key, not even as a
# prefix. A query then intersects text AND categories AND the cells covering its circle
# inside FTS5 (in C), instead of checking every candidate in the circle in Python.
# Keys are short (few prefix-index entries) and may collide (a category hash, cell
# numbers modulo 1296): a collision only adds candidates, which the exact filters and
# distances after FTS5 remove.

_KEY_PREFIX = "_"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
# (key letter, cell height in degrees latitude, width in degrees longitude): about 2.2
# and 8.9 km square around 51.5 degrees north (wider in km nearer the equator)
_CELL_LEVELS = (("a", 0.02, 0.032), ("b", 0.08, 0.128))
# more cells than this in a cover: use the next size (or no cells at all)
_COVER_MAX_CELLS = 36


def _b36(n: int, width: int) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


@functools.lru_cache(maxsize=4096)
def category_key(category: str) -> str:
    """The FTS5 key token of a category (a hash: collisions only add candidates)."""
    return _KEY_PREFIX + "c" + _b36(zlib.crc32(category.encode("utf-8")) % 46656, 3)


def _cell_key(letter: str, i: int, j: int) -> str:
    return _KEY_PREFIX + letter + _b36(i % 1296, 2) + _b36(j % 1296, 2)


def cell_keys(lat: float, lon: float) -> str:
    """The key tokens of the grid cells holding a point, space-separated."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return ""
    return " ".join(
        _cell_key(letter, math.floor(lat / dlat), math.floor(lon / dlon))
        for letter, dlat, dlon in _CELL_LEVELS
    )


def cover_keys(box: tuple[float, float, float, float]) -> list[str] | None:
    """Key tokens of the cells of one size covering ``box`` (min_lat, max_lat, min_lon,
    max_lon): the smallest size needing at most ``_COVER_MAX_CELLS`` cells; ``None`` when
    even the largest needs more (or the box spans the antimeridian)."""
    min_lat, max_lat, min_lon, max_lon = box
    if min_lon <= -180.0 and max_lon >= 180.0:
        return None
    for letter, dlat, dlon in _CELL_LEVELS:
        i0, i1 = math.floor(min_lat / dlat), math.floor(max_lat / dlat)
        j0, j1 = math.floor(min_lon / dlon), math.floor(max_lon / dlon)
        if (i1 - i0 + 1) * (j1 - j0 + 1) <= _COVER_MAX_CELLS:
            return [_cell_key(letter, i, j) for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)]
    return None


def is_key_token(token: str) -> bool:
    """Is this FTS5 term a filter key (not an index token of the text)?"""
    return token.startswith(_KEY_PREFIX)


def _extra_json(d: SearchDocument) -> str:
    try:
        return EXTRA_JSON.encode(d.extra)
    except (TypeError, ValueError) as e:  # e.g. a circular structure
        raise SearchError(f"document {d.id!r}: extra fields are not JSON: {e}") from e


def _spatial_key(d: SearchDocument) -> float:
    """Strips of 0.01 degrees latitude (about 1.1 km), then longitude; no location last."""
    loc = d.location
    if loc is None or loc.lat != loc.lat or loc.lon != loc.lon:
        return math.inf
    return int((loc.lat + 90.0) * 100.0) * 1000.0 + (loc.lon + 180.0)


def _json_list(items: list[str]) -> str:
    """A JSON array of strings; the fast path joins plain strings directly."""
    raw = "".join(items)
    if raw.isprintable() and '"' not in raw and "\\" not in raw:
        return '["' + '","'.join(items) + '"]'
    return _JSON.encode(items)


def _mv_items(cats: str | None, other: str | None) -> list[tuple[str, str]]:
    """The ``search_mv`` keys of one document from its ``cats`` and ``mv`` columns."""
    items = [("c", c) for c in json.loads(cats)] if cats else []
    if other:
        items.extend((x[0], x[1:]) for x in json.loads(other))
    return items


class _Rows:
    """The rows of a batch of documents, numbered from ``base``. Only ``search_doc``,
    ``search_slot`` and ``search_text`` rows are built in Python; the R*Tree, FTS5 and
    ``search_mv`` rows are derived from them inside SQLite (``INSERT .. SELECT``)."""

    __slots__ = ("base", "doc", "slot", "text")

    def __init__(self, base: int) -> None:
        self.base = base
        self.doc: list[tuple[Any, ...]] = []
        self.slot: list[tuple[int, int, int, int]] = []
        self.text: list[tuple[int, str]] = []

    @classmethod
    def build(cls, documents: list[SearchDocument], base: int) -> _Rows:
        rows = cls(base)
        doc_rows, slot_rows, text_rows = rows.doc, rows.slot, rows.text
        # the same category lists and language/channel/accessibility combinations come
        # up again and again: encode each once per batch
        cats_seen: dict[tuple[str, ...], str] = {}
        keys_seen: dict[str | None, str] = {None: ""}
        other_seen: dict[tuple[tuple[str, ...], ...], str | None] = {}
        for num, d in enumerate(documents, base):
            loc = d.location
            lat = lon = None
            if loc is not None:
                lat, lon = float(loc.lat), float(loc.lon)
                if lat != lat or lon != lon:  # NaN
                    lat = lon = None
            cats = None
            if d.categories:
                key = tuple(d.categories)
                cats = cats_seen.get(key)
                if cats is None:
                    cats = cats_seen[key] = _json_list(sorted({str(c) for c in key}))
            other = None
            if d.languages or d.channels or d.accessibility:
                okey = (tuple(d.languages), tuple(d.channels), tuple(d.accessibility))
                other = other_seen.get(okey)
                if other is None:
                    keys = {"l" + str(v) for v in d.languages}
                    keys.update("h" + str(v) for v in d.channels)
                    keys.update("a" + str(v) for v in d.accessibility)
                    other = other_seen[okey] = _json_list(sorted(keys))
            if d.slots:
                slot_rows.extend({(num, int(s.weekday), int(s.start), int(s.end)) for s in d.slots})
            doc_rows.append(
                (
                    num,
                    d.id,
                    d.kind,
                    d.status,
                    fold(d.title or ""),
                    lat,
                    lon,
                    d.district,
                    d.carrier,
                    1 if d.free_of_charge else 0,
                    cats,
                    other,
                    _extra_json(d) if d.extra else None,
                )
            )
            keys = keys_seen.get(cats)
            if keys is None:
                keys = keys_seen[cats] = "".join(
                    " " + category_key(c) for c in json.loads(cats) if isinstance(cats, str)
                )
            if lat is not None and lon is not None:
                keys += " " + cell_keys(lat, lon)
            text_rows.append((num, index_token_string(d.text) + keys))
        return rows

    def insert(self, conn: sqlite3.Connection) -> None:
        base = (self.base,)
        conn.executemany(
            "INSERT INTO search_doc (rowid, id, kind, status, title_key, lat, lon, "
            "district, carrier, free, cats, mv, extra) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.doc,
        )
        conn.execute(
            "INSERT INTO search_geo (doc, min_lat, max_lat, min_lon, max_lon) "
            "SELECT rowid, lat, lat, lon, lon FROM search_doc "
            "WHERE rowid >= ? AND lat IS NOT NULL AND lon IS NOT NULL",
            base,
        )
        conn.execute(
            "INSERT INTO search_catgeo (cat, strip, lon, doc, lat, id) "
            + catgeo_rows("d.rowid >= ?"),
            base,
        )
        conn.execute(
            "INSERT INTO search_mv (field, value, doc) "
            "SELECT 'c', j.value, d.rowid FROM search_doc d, json_each(d.cats) j "
            "WHERE d.rowid >= ? AND d.cats IS NOT NULL",
            base,
        )
        conn.execute(
            "INSERT INTO search_mv (field, value, doc) "
            "SELECT substr(j.value, 1, 1), substr(j.value, 2), d.rowid "
            "FROM search_doc d, json_each(d.mv) j WHERE d.rowid >= ? AND d.mv IS NOT NULL",
            base,
        )
        conn.executemany(
            'INSERT INTO search_slot (doc, weekday, start, "end") VALUES (?, ?, ?, ?)', self.slot
        )
        conn.executemany("INSERT INTO search_text (doc, tokens) VALUES (?, ?)", self.text)
        conn.execute(
            "INSERT INTO search_fts (rowid, tokens) "
            "SELECT doc, tokens FROM search_text WHERE doc >= ? ORDER BY doc",
            base,
        )
