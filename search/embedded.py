"""The embedded search backend: SQLite (stdlib ``sqlite3``) with FTS5 and R*Tree.

It lives in its own tables (prefix ``search_``) inside a SQLite file, by default the
store's own file, and uses its own connections (WAL mode; one writer connection behind a
lock, a small pool of reader connections, each search in one read transaction), so it is
safe to use from several threads.

Tables:

* ``search_doc``: one row per document with the scalar fields; its integer ``rowid`` is
  the internal document number used by every other table; ``title_key`` is
  ``fold(title)``; ``cats``/``mv`` repeat the multi-valued fields as JSON arrays.
* ``search_mv``: ``(field, value, doc)`` for the multi-valued fields (``c`` categories,
  ``l`` languages, ``h`` channels, ``a`` accessibility), clustered on
  ``(field, value, doc)``; filters probe it with ``EXISTS``.
* ``search_slot``: schedule slots ``(doc, weekday, start, end)``.
* ``search_geo``: R*Tree of the locations (a degenerate box per document).
* ``search_text`` / ``search_fts``: the index tokens (``text.index_token_list``) as a
  space-joined string, and an external-content FTS5 index over it (``unicode61``,
  ``detail=none`` as only rowids are needed, prefix indexes for 2..8 characters). A term
  is matched as ``"term"*``; terms are AND-ed. Terms of one character, and frequent
  terms when the R*Tree drives, are checked on the token string instead
  (``" " + term`` in ``" " + tokens``).
* ``search_meta``: key/value pairs (sync watermark of the core, schema version).

Query plans (all filters run in SQLite; exact distances are computed in Python with the
same ``haversine_km`` as the brute-force ground truth, so both agree to the last bit):

* ``near`` + distance order without total/facets: an expanding-radius search over the
  R*Tree. The first radius comes from the index size, later ones from the hits seen;
  each step skips the box read before, and it stops as soon as ``offset + limit`` hits
  lie inside the current radius (or the requested radius is reached). The work depends
  on the local density of hits, not on the size of the index. A text that turns out to
  be rare hands over to FTS5.
* other ``near`` queries: every hit inside the radius is collected (R*Tree, or FTS5
  when the text is selective) and sorted, counted and faceted in Python.
* without ``near``: ``ORDER BY ... LIMIT/OFFSET``, ``count(*)`` and one grouped query for
  the facets run in SQLite (FTS5 drives for counts, for relevance, whose score is
  ``-bm25()``, and for selective texts).

Bulk loading: a batch of at least ``bulk_threshold`` documents is numbered in spatial
order (so neighbours share pages of every table, which keeps nearby queries fast at a
million documents), and when the index is empty its B-tree indexes are built after the
rows are in.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .base import (
    EARTH_RADIUS_KM,
    EXACT_BONUS,
    ExtraFilter,
    SearchBackend,
    SearchDocument,
    SearchError,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    TextMatch,
)
from .facets import facet_counts
from .semantics import (
    EXTRA_JSON,
    bounding_box,
    extra_matches,
    first_alternatives,
    haversine_km,
    parse_time,
    text_groups,
    validate,
)
from .text import fold, index_token_string

SCHEMA_VERSION = "1"
_SCHEMA_KEY = "search.schema_version"

# search_mv field codes: "c" categories (also in search_doc.cats as a JSON array), "l"
# languages, "h" channels, "a" accessibility (also in search_doc.mv, a JSON array of
# code + value): the keys of a document are known without an index on search_mv.doc.

# A text query matching fewer documents than this is driven by FTS5; otherwise the
# tokens of the candidate rows are checked with instr() (cheaper for frequent prefixes).
FTS_DRIVER_MAX = 4000
# Terms shorter than this are never sent to FTS5 (no prefix index of that size).
FTS_MIN_TERM = 2
_HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
# The first radius of the expanding search assumes the documents spread over this area
# and this share of them matching; the radius then grows from the observed hits.
_ASSUMED_AREA_KM2 = 100.0
_ASSUMED_HIT_SHARE = 0.2
# Candidates checked for the text before the expanding search asks FTS5 whether the text
# is rare enough to drive the query instead.
_TEXT_SCAN_BUDGET = 3000
# Beyond this radius the expanding search gives up and collects every hit instead.
_EXPANSION_LIMIT_KM = 80.0
_CHUNK = 500  # ids per "IN (...)" look-up
_INSERT_CHUNK = 50000  # documents whose rows are built and inserted at a time
_BULK = 20000
# page cache per connection (negative: KiB); the writer gets more for bulk indexing
_READER_CACHE_KIB = -65536
_WRITER_CACHE_KIB = -262144
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
CREATE TABLE IF NOT EXISTS search_text (doc INTEGER PRIMARY KEY, tokens TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5 (
    tokens,
    content = 'search_text',
    content_rowid = 'doc',
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3 4 5 6 7 8',
    detail = none
);
CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_DATA_TABLES = ("search_fts", "search_text", "search_geo", "search_slot", "search_mv", "search_doc")


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


def _token_check(groups: TextMatch, tokens: str) -> bool:
    """Do the groups match a document whose token string (with a leading space) is
    ``tokens``? (the ``instr`` test of ``_plan`` in Python)"""
    return all(any(all(" " + t in tokens for t in alt) for alt in g) for g in groups)


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
            text_rows.append((num, index_token_string(d.text)))
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


@dataclass
class _Sql:
    """FROM/WHERE of one query, built by ``_plan``."""

    from_: str
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    score: str = "0.0"

    def clause(self) -> str:
        return f"FROM {self.from_} WHERE {' AND '.join(self.where) or '1'}"


class EmbeddedBackend(SearchBackend):
    """SQLite FTS5 + R*Tree backend; see the module docstring."""

    name: ClassVar[str] = "embedded"
    needs_server: ClassVar[bool] = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        max_readers: int = 8,
        bulk_threshold: int = _BULK,
    ):
        """Open (and create the tables in) the SQLite file ``path``; ``":memory:"`` gives a
        private in-memory index (one connection). ``timeout``: seconds to wait for a lock
        held by another connection (the store). At most ``max_readers`` searches run at
        the same time (each on its own connection); more wait. An ``index()`` batch of at
        least ``bulk_threshold`` documents is numbered in spatial order, and loaded into
        an empty index without its B-tree indexes, which are built afterwards."""
        self.path = os.fspath(path)
        self.bulk_threshold = bulk_threshold
        self._timeout = timeout
        self._readers = threading.BoundedSemaphore(max(1, max_readers))
        self._memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        self._write_lock = threading.RLock()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._all: list[sqlite3.Connection] = []
        self._closed = False
        self._vocabulary: tuple[str, dict[str, int]] | None = None
        try:
            self._writer = self._connect()
            self._writer.execute(f"PRAGMA cache_size={_WRITER_CACHE_KIB}")
        except sqlite3.Error as e:
            raise SearchError(f"cannot open search index {self.path!r}: {e}") from e
        try:
            if not self._memory:
                mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise SearchError(f"search index {self.path!r}: cannot switch to WAL")
            with self._write_lock:
                self._writer.execute("BEGIN IMMEDIATE")
                _create_schema(self._writer)
                self._writer.execute(
                    "INSERT OR IGNORE INTO search_meta (key, value) VALUES (?, ?)",
                    (_SCHEMA_KEY, SCHEMA_VERSION),
                )
                self._writer.execute("COMMIT")
            version = self.get_meta(_SCHEMA_KEY)
            if version != SCHEMA_VERSION:
                raise SearchError(
                    f"search index {self.path!r} has schema version {version}, "
                    f"expected {SCHEMA_VERSION}: clear and rebuild it"
                )
        except sqlite3.Error as e:
            self.close()
            raise SearchError(f"search index {self.path!r} is not usable: {e}") from e
        except SearchError:
            self.close()
            raise

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=self.path.startswith("file:"),
        )
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute(f"PRAGMA cache_size={_READER_CACHE_KIB}")
            conn.execute("PRAGMA mmap_size=1073741824")
            conn.create_function("search_extra", 2, _extra_udf, deterministic=True)
        except sqlite3.Error:
            conn.close()
            raise
        with self._pool_lock:
            self._all.append(conn)
        return conn

    def _check_open(self) -> None:
        if self._closed:
            raise SearchUnavailable("the embedded search backend is closed")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A reader connection inside one read transaction (one consistent snapshot)."""
        self._check_open()
        if self._memory:
            with self._write_lock:
                yield self._writer
            return
        with self._readers:
            with self._pool_lock:
                conn = self._idle.pop() if self._idle else None
            try:
                if conn is None:
                    conn = self._connect()
                conn.execute("BEGIN")
            except sqlite3.Error as e:
                if conn is not None:
                    self._release(conn)
                raise SearchError(f"search index {self.path!r}: {e}") from e
            try:
                yield conn
            finally:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error:
                    pass
                self._release(conn)

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._pool_lock:
            if self._closed:
                conn.close()
            else:
                self._idle.append(conn)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The writer connection inside ``BEGIN IMMEDIATE`` .. ``COMMIT``."""
        self._check_open()
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise SearchError(f"search index {self.path!r}: {e}") from e
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            conns, self._all, self._idle = self._all, [], []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    # -- meta --------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        try:
            with self._read() as conn:
                row = conn.execute("SELECT value FROM search_meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: {e}") from e
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str | None) -> None:
        """Store ``value`` under ``key`` (``None`` removes the key)."""
        try:
            with self._write() as conn:
                if value is None:
                    conn.execute("DELETE FROM search_meta WHERE key = ?", (key,))
                else:
                    conn.execute(
                        "INSERT INTO search_meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, str(value)),
                    )
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: {e}") from e

    # -- writing -----------------------------------------------------------------------

    def index(self, documents: list[SearchDocument]) -> None:
        if not documents:
            return
        latest = list({d.id: d for d in documents}.values())
        bulk = len(latest) >= self.bulk_threshold
        if bulk:
            # number a large batch in spatial order (strips of 0.01 degrees latitude, then
            # longitude): neighbours share pages of every table, so the R*Tree
            # candidates of a nearby query touch few pages
            latest.sort(key=_spatial_key)
        self._check_open()
        try:
            with self._write_lock:
                # the rows of the first chunk (usually the whole batch) are built before
                # the write transaction starts, so the file stays writable for others
                # (the store) meanwhile; larger batches go in chunks to bound the memory
                chunk = _INSERT_CHUNK
                base = self._next_number(self._writer)
                rows = _Rows.build(latest[:chunk], base)
                with self._write() as conn:
                    if self._next_number(conn) != base:  # another process wrote meanwhile
                        base = self._next_number(conn)
                        rows = _Rows.build(latest[:chunk], base)
                    self._delete_rows(conn, self._rowids(conn, [d.id for d in latest]))
                    _bump_generation(conn)
                    empty = bulk and self._next_number(conn) == 1
                    if empty:  # build the B-tree indexes afterwards, from sorted keys
                        conn.execute("DROP INDEX search_doc_id")
                        conn.execute("DROP INDEX search_doc_title")
                    rows.insert(conn)
                    for start in range(chunk, len(latest), chunk):
                        _Rows.build(latest[start : start + chunk], base + start).insert(conn)
                    if empty:
                        _create_schema(conn)
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: indexing failed: {e}") from e

    @staticmethod
    def _next_number(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM search_doc").fetchone()[0]

    def _rowids(self, conn: sqlite3.Connection, ids: list[str]) -> list[int]:
        """Internal numbers of the stored documents among ``ids``, ascending."""
        if conn.execute("SELECT 1 FROM search_doc LIMIT 1").fetchone() is None:
            return []
        out: list[int] = []
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            out.extend(
                r[0]
                for r in conn.execute(f"SELECT rowid FROM search_doc WHERE id IN ({marks})", chunk)
            )
        return sorted(out)

    def _delete_rows(self, conn: sqlite3.Connection, rowids: list[int]) -> None:
        """Remove documents by internal number (ascending: FTS5 flushes its pending
        changes whenever the rowid goes backwards)."""
        if not rowids:
            return
        texts: list[tuple[int, str]] = []
        mv_keys: list[tuple[str, str, int]] = []
        for i in range(0, len(rowids), _CHUNK):
            chunk = rowids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            texts.extend(
                conn.execute(
                    f"SELECT doc, tokens FROM search_text WHERE doc IN ({marks}) ORDER BY doc",
                    chunk,
                )
            )
            for num, cats, other in conn.execute(
                f"SELECT rowid, cats, mv FROM search_doc WHERE rowid IN ({marks})", chunk
            ):
                mv_keys.extend((f, v, num) for f, v in _mv_items(cats, other))
        conn.executemany(
            "INSERT INTO search_fts (search_fts, rowid, tokens) VALUES ('delete', ?, ?)", texts
        )
        keys = [(r,) for r in rowids]
        conn.executemany("DELETE FROM search_text WHERE doc = ?", keys)
        conn.executemany("DELETE FROM search_geo WHERE doc = ?", keys)
        conn.executemany("DELETE FROM search_slot WHERE doc = ?", keys)
        conn.executemany("DELETE FROM search_mv WHERE field = ? AND value = ? AND doc = ?", mv_keys)
        conn.executemany("DELETE FROM search_doc WHERE rowid = ?", keys)

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        try:
            with self._write() as conn:
                self._delete_rows(conn, self._rowids(conn, list(dict.fromkeys(ids))))
                _bump_generation(conn)
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: delete failed: {e}") from e

    def clear(self) -> None:
        try:
            with self._write() as conn:
                for table in _DATA_TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                _create_schema(conn)
                _bump_generation(conn)
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: clear failed: {e}") from e

    # -- vocabulary --------------------------------------------------------------------

    def vocabulary(self) -> dict[str, int]:
        """Read from FTS5's own term list (``fts5vocab``), cached until the index
        changes: every write bumps a generation number in ``search_meta``, which other
        processes writing the same file bump too."""
        try:
            with self._read() as conn:
                row = conn.execute(
                    "SELECT value FROM search_meta WHERE key = ?", (_GENERATION_KEY,)
                ).fetchone()
                generation = row[0] if row else "0"
                cached = self._vocabulary
                if cached is not None and cached[0] == generation:
                    return cached[1]
                conn.execute(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab "
                    "USING fts5vocab(main, search_fts, row)"
                )
                vocab = dict(conn.execute("SELECT term, doc FROM temp.search_vocab"))
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: vocabulary failed: {e}") from e
        self._vocabulary = (generation, vocab)
        return vocab

    # -- status ------------------------------------------------------------------------

    def count(self) -> int:
        try:
            with self._read() as conn:
                return conn.execute("SELECT count(*) FROM search_doc").fetchone()[0]
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: {e}") from e

    def health(self) -> dict[str, Any]:
        try:
            documents = self.count()
        except SearchError as e:
            raise SearchUnavailable(str(e)) from e
        return {
            "backend": self.name,
            "documents": documents,
            "path": self.path,
            "sqlite": sqlite3.sqlite_version,
        }

    # -- searching ---------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        sort = validate(query)
        terms = text_groups(query)
        at = parse_time(query.open_at) if query.open_at is not None else None
        try:
            with self._read() as conn:
                if query.near is not None:
                    if sort == "distance" and not query.want_total and not query.want_facets:
                        return self._nearest(conn, query, terms, at)
                    return self._collect(conn, query, sort, terms, at)
                return self._sql_search(conn, query, sort, terms, at)
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: search failed: {e}") from e

    # query building

    def _filters(self, q: SearchQuery, at: int | None) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []

        def among(column: str, values: Sequence[str]) -> None:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)

        if not q.include_archived:
            where.append("d.status = 'active'")
        if q.kinds:
            among("d.kind", q.kinds)
        if q.districts:
            among("d.district", q.districts)
        if q.carriers:
            among("d.carrier", q.carriers)
        if q.free_of_charge is not None:
            where.append("d.free = ?")
            params.append(1 if q.free_of_charge else 0)
        for code, values in (("c", q.categories), ("l", q.languages), ("h", q.channels)):
            if values:
                marks = ",".join("?" * len(values))
                where.append(
                    "EXISTS (SELECT 1 FROM search_mv m WHERE m.field = ? "
                    f"AND m.value IN ({marks}) AND m.doc = d.rowid)"
                )
                params.append(code)
                params.extend(str(v) for v in values)
        for flag in dict.fromkeys(q.accessibility):
            where.append(
                "EXISTS (SELECT 1 FROM search_mv m WHERE m.field = 'a' "
                "AND m.value = ? AND m.doc = d.rowid)"
            )
            params.append(str(flag))
        if q.open_on is not None or at is not None:
            cond = ["s.doc = d.rowid"]
            if q.open_on is not None:
                cond.append("s.weekday = ?")
                params.append(q.open_on)
            if at is not None:
                cond.append('s.start <= ? AND s."end" > ?')
                params.extend((at, at))
            where.append(f"EXISTS (SELECT 1 FROM search_slot s WHERE {' AND '.join(cond)})")
        if q.extra:
            spec = [[f.field, f.op, f.value] for f in q.extra]
            try:
                spec_json = EXTRA_JSON.encode(spec)
            except (TypeError, ValueError) as e:
                raise SearchError(f"extra filter values must be JSON values: {e}") from e
            where.append("search_extra(d.extra, ?)")
            params.append(spec_json)
        return where, params

    def _plan(
        self,
        q: SearchQuery,
        at: int | None,
        terms: TextMatch,
        driver: str,
        box: tuple[float, float, float, float] | None = None,
        skip_box: tuple[float, float, float, float] | None = None,
        located: bool = False,
        tokens: bool = False,
    ) -> _Sql:
        """``driver``: ``fts`` (FTS5 drives; every term of at least FTS_MIN_TERM characters
        is matched there), ``geo`` (the R*Tree drives over ``box``) or ``doc``."""
        fts_terms = _fts_groups(terms) if driver == "fts" else ()
        instr_terms = [g for g in terms if g not in fts_terms]
        where: list[str] = []
        params: list[Any] = []
        if driver == "fts":
            from_ = "search_fts CROSS JOIN search_doc d ON d.rowid = search_fts.rowid"
            where.append("search_fts MATCH ?")
            params.append(_fts_expr(fts_terms))
        elif driver == "geo":
            assert box is not None
            from_ = "search_geo g CROSS JOIN search_doc d ON d.rowid = g.doc"
            where.append("g.max_lat >= ? AND g.min_lat <= ? AND g.max_lon >= ? AND g.min_lon <= ?")
            params.extend((box[0], box[1], box[2], box[3]))
            if skip_box is not None:
                where.append(
                    "NOT (g.min_lat >= ? AND g.max_lat <= ? AND g.min_lon >= ? AND g.max_lon <= ?)"
                )
                params.extend(skip_box)
        else:
            from_ = "search_doc d"
        if driver != "geo":
            if box is not None:
                where.append("d.lat BETWEEN ? AND ? AND d.lon BETWEEN ? AND ?")
                params.extend(box)
            elif located:
                where.append("d.lat IS NOT NULL")
        firsts = first_alternatives(terms)
        if instr_terms or tokens or firsts:
            from_ += " CROSS JOIN search_text t ON t.doc = d.rowid"
            for group in instr_terms:
                alts = []
                for alt in group:
                    alts.append(" AND ".join(["instr(' ' || t.tokens, ?) > 0"] * len(alt)))
                    params.extend(" " + t for t in alt)
                where.append("(" + " OR ".join(f"({a})" for a in alts) + ")")
        fw, fp = self._filters(q, at)
        sql = _Sql(from_=from_, where=where + fw, params=params + fp)
        if fts_terms:
            sql.score = "-bm25(search_fts)"
        if firsts:
            # the relevance bonus of base.EXACT_BONUS; its parameters are literals (the
            # terms are folded words: letters and digits only)
            tests = " + ".join(
                "(" + " AND ".join(f"instr(' ' || t.tokens, ' {t}') > 0" for t in alt) + ")"
                for alt in firsts
            )
            sql.score = f"({EXACT_BONUS!r} * ({tests}) + {sql.score})"
        return sql

    def _fts_selective(self, conn: sqlite3.Connection, terms: TextMatch) -> bool:
        """True when the FTS-eligible groups match fewer than ``FTS_DRIVER_MAX`` docs."""
        fts_terms = _fts_groups(terms)
        if not fts_terms:
            return False
        n = conn.execute(
            "SELECT count(*) FROM (SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT ?)",
            (_fts_expr(fts_terms), FTS_DRIVER_MAX),
        ).fetchone()[0]
        return n < FTS_DRIVER_MAX

    # near, distance order, page only: expanding radius

    def _nearest(
        self, conn: sqlite3.Connection, q: SearchQuery, terms: TextMatch, at: int | None
    ) -> SearchResult:
        """Expanding-radius search: read the R*Tree in growing boxes (each step skips the
        box read before) until ``offset + limit`` hits lie inside the current radius."""
        need = q.offset + q.limit
        if need == 0:
            return SearchResult(hits=[])
        assert q.near is not None
        lat, lon = q.near.lat, q.near.lon
        cap = q.radius_km if q.radius_km is not None else _HALF_CIRCUMFERENCE_KM
        radius = min(self._initial_radius(conn, need), cap)
        fts_possible = bool(_fts_groups(terms))
        scanned = 0  # candidates whose tokens were checked
        found: dict[int, tuple[float, str]] = {}
        prev_box: tuple[float, float, float, float] | None = None
        while True:
            if _EXPANSION_LIMIT_KM < radius < cap:
                # sparse or very selective: collect everything inside the cap at once
                return self._collect(conn, q, "distance", terms, at)
            box = bounding_box(lat, lon, radius)
            sql = self._plan(q, at, [], "geo", box=box, skip_box=prev_box, tokens=bool(terms))
            columns = (
                "d.rowid, d.id, d.lat, d.lon, t.tokens" if terms else "d.rowid, d.id, d.lat, d.lon"
            )
            for row in conn.execute(f"SELECT {columns} {sql.clause()}", sql.params):
                if terms:
                    scanned += 1
                    if not _token_check(terms, " " + row[4]):
                        continue
                found[row[0]] = (haversine_km(lat, lon, row[2], row[3]), row[1])
            final = radius >= cap
            inside = [h for h in found.values() if h[0] <= radius]
            if len(inside) >= need or final:
                break
            if fts_possible and scanned > _TEXT_SCAN_BUDGET:
                # the text is rare around here: let FTS5 drive if it is rare overall
                if self._fts_selective(conn, terms):
                    return self._collect(conn, q, "distance", terms, at, driver="fts")
                fts_possible = False
            if inside:
                grow = min(4.0, max(1.5, 1.2 * math.sqrt(need / len(inside))))
            else:
                grow = 4.0
            prev_box = box
            radius = min(radius * grow, cap)
        inside.sort()
        return SearchResult(
            hits=[SearchHit(id=i, distance_km=dist) for dist, i in inside[q.offset : need]]
        )

    @staticmethod
    def _initial_radius(conn: sqlite3.Connection, need: int) -> float:
        """A first radius from the index size (``max(rowid)``, an upper bound of the
        count, is free): about the circle holding ``need`` hits if the documents were
        spread evenly over ``_ASSUMED_AREA_KM2`` (the dense part of a city; clusters are
        denser still) and a fifth of them matched. Too small costs a step or two, too
        large reads more candidates than needed."""
        n = conn.execute("SELECT max(rowid) FROM search_doc").fetchone()[0] or 1
        r = math.sqrt(need * _ASSUMED_AREA_KM2 / (math.pi * n * _ASSUMED_HIT_SHARE))
        return min(max(r, 0.02), 5.0)

    # near, anything else: collect every hit in Python

    def _collect(
        self,
        conn: sqlite3.Connection,
        q: SearchQuery,
        sort: str,
        terms: TextMatch,
        at: int | None,
        driver: str | None = None,
    ) -> SearchResult:
        assert q.near is not None
        lat, lon = q.near.lat, q.near.lon
        radius = q.radius_km
        box = bounding_box(lat, lon, radius) if radius is not None else None
        if driver is None:
            fts_terms = bool(_fts_groups(terms))
            if fts_terms and (sort == "relevance" or self._fts_selective(conn, terms)):
                driver = "fts"
            elif box is not None:
                driver = "geo"
            else:
                driver = "doc"
        sql = self._plan(q, at, terms, driver, box=box, located=True)
        want_facets = q.want_facets
        rows = conn.execute(
            f"SELECT d.id, d.lat, d.lon, d.title_key, d.kind, d.district, d.cats, {sql.score} "
            f"{sql.clause()}",
            sql.params,
        )
        hits: list[tuple[Any, str, float, float | None]] = []
        facet_rows: list[tuple[str, list[str], str | None]] = []
        for doc_id, dlat, dlon, title_key, kind, district, cats, score in rows:
            dist = haversine_km(lat, lon, dlat, dlon)
            if radius is not None and dist > radius:
                continue
            if sort == "distance":
                key: Any = (dist, doc_id)
            elif sort == "relevance":
                key = (-score, doc_id)
            else:
                key = (title_key, doc_id)
            hits.append((key, doc_id, dist, score if sort == "relevance" else None))
            if want_facets:
                facet_rows.append((kind, json.loads(cats) if cats else (), district))
        hits.sort(key=lambda h: h[0])
        page = hits[q.offset : q.offset + q.limit]
        result = SearchResult(hits=[SearchHit(id=h[1], distance_km=h[2], score=h[3]) for h in page])
        if q.want_total:
            result.total = len(hits)
        if want_facets:
            result.facets = facet_counts(facet_rows)
        return result

    # no near: everything in SQL

    def _sql_search(
        self, conn: sqlite3.Connection, q: SearchQuery, sort: str, terms: TextMatch, at: int | None
    ) -> SearchResult:
        has_fts_terms = bool(_fts_groups(terms))
        # counting and faceting visit every hit: FTS5 drives whenever it can; the page of
        # a frequent text in title order is cheaper along the title index (stops early)
        count_sql = self._plan(q, at, terms, "fts" if has_fts_terms else "doc")
        result = SearchResult(hits=[])
        if q.limit > 0:
            if has_fts_terms and (sort == "relevance" or self._fts_selective(conn, terms)):
                sql = count_sql
            else:
                sql = self._plan(q, at, terms, "doc")
            if sort == "relevance":
                order = "score DESC, d.id"
            else:
                order = "d.title_key, d.id"
            rows = conn.execute(
                f"SELECT d.id, {sql.score} AS score {sql.clause()} ORDER BY {order} "
                "LIMIT ? OFFSET ?",
                [*sql.params, q.limit, q.offset],
            ).fetchall()
            result.hits = [
                SearchHit(id=doc_id, score=score if sort == "relevance" else None)
                for doc_id, score in rows
            ]
        sql = count_sql
        if q.want_facets:
            groups = conn.execute(
                f"SELECT d.kind, d.district, d.cats, count(*) {sql.clause()} "
                "GROUP BY d.kind, d.district, d.cats",
                sql.params,
            ).fetchall()
            result.facets = _grouped_facets(groups)
            if q.want_total:
                result.total = sum(g[3] for g in groups)
        elif q.want_total:
            result.total = conn.execute(f"SELECT count(*) {sql.clause()}", sql.params).fetchone()[0]
        return result


def _grouped_facets(groups: list[tuple[str, str | None, str | None, int]]) -> dict:
    kinds: dict[str, int] = {}
    cats: dict[str, int] = {}
    districts: dict[str, int] = {}
    for kind, district, cat_list, n in groups:
        kinds[kind] = kinds.get(kind, 0) + n
        if district is not None:
            districts[district] = districts.get(district, 0) + n
        if cat_list:
            for c in json.loads(cat_list):
                cats[c] = cats.get(c, 0) + n
    return {
        "kind": dict(sorted(kinds.items())),
        "category": dict(sorted(cats.items())),
        "district": dict(sorted(districts.items())),
    }
