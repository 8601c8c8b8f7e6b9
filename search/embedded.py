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
* ``search_catgeo``: ``(cat, strip, lon, doc, lat, id)``, one row per category of a
  located active document, clustered by category, strip of 0.01 degrees latitude and
  longitude (see ``embedded_tables``): a nearby search with categories reads only their
  documents, and without other filters or a text only this table.
* ``search_text`` / ``search_fts``: the index tokens (``text.index_token_list``) as a
  space-joined string followed by the filter keys (categories, grid cells; see
  ``embedded_tables``), and an external-content FTS5 index over it (``unicode61``,
  ``detail=none`` as only rowids are needed, prefix indexes for 2..8 characters). A term
  is matched as ``"term"*``; terms are AND-ed. Terms of one character, and frequent
  terms when the R*Tree drives, are checked on the token string instead
  (``" " + term`` in ``" " + tokens``).
* ``search_meta``: key/value pairs (sync watermark of the core, schema version).

Query plans (all filters run in SQLite; exact distances are computed in Python with the
same ``haversine_km`` as the brute-force ground truth, so both agree to the last bit):

* ``near`` + distance order without total/facets: an expanding-radius search over the
  R*Tree, or (archived offers left out) over ``search_catgeo`` with up to eight
  categories (only their documents are read). The first radius comes from the index
  size, later ones from the hits seen; each step skips the box read before, and it stops
  as soon as ``offset + limit`` hits lie inside the current radius (or the requested
  radius is reached). The work depends on the local density of hits, not on the size of
  the index. A text that turns out to be rare hands over to FTS5. A text with
  categories that FTS5 finds rare anywhere, or rare near the point once 3,000
  candidates were checked, is answered by FTS5 intersecting text, category keys and the
  keys of the grid cells around the point.
* ``near`` + ``radius_km`` + distance order with total/facets: the page as above; total
  and facets exact up to ``count_bound`` hits, lower bounds beyond (``total_exact``).
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

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from .base import (
    IndexMissing,
    SearchBackend,
    SearchError,
    SearchUnavailable,
)
from .embedded_queries import EmbeddedQueries
from .embedded_tables import (
    _DATA_TABLES,
    _GENERATION_KEY,
    _REBUILD_KEY,
    _bump_generation,
    _create_schema,
    _extra_udf,
    is_key_token,
    write_error,
)
from .embedded_writes import EmbeddedWrites

# 2: filter keys (categories, grid cells) in the token strings and FTS5 index
# 3: search_catgeo (the located documents of each category, by latitude strip)
# 4: search_catgeo holds the active documents only, with their ids (a nearby search
#    reads it alone)
# Any change of the tables needs a new version (an opened index that has its schema key
# is not touched: tables added under the same version would be missing from it).
SCHEMA_VERSION = "4"
_SCHEMA_KEY = "search.schema_version"
# schema versions this code replaces by an empty index (the store rebuilds it)
_OLDER_VERSIONS = frozenset({"1", "2", "3"})

_BULK = 20000
# page cache per connection (negative: KiB); the writer gets more for bulk indexing
_READER_CACHE_KIB = -65536
_WRITER_CACHE_KIB = -262144
# reads through a memory map of the first this many bytes of the file (the store's
# connections map as much of theirs: directory_core/store_connection.py)
_MMAP_BYTES = 512 * 1024**2
_WAL_LIMIT_BYTES = 64 * 1024**2


class EmbeddedBackend(EmbeddedWrites, EmbeddedQueries, SearchBackend):
    """SQLite FTS5 + R*Tree backend; see the module docstring."""

    name: ClassVar[str] = "embedded"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        max_readers: int = 8,
        bulk_threshold: int = _BULK,
        from_store: bool = False,
    ):
        """Open (and create the tables in) the SQLite file ``path``; ``":memory:"`` gives a
        private in-memory index (one connection). ``timeout``: seconds to wait for a lock
        held by another connection (the store). At most ``max_readers`` searches run at
        the same time (each on its own connection); more wait. An ``index()`` batch of at
        least ``bulk_threshold`` documents is numbered in spatial order, and loaded into
        an empty index without its B-tree indexes, which are built afterwards.
        ``from_store``: the index is kept in step with a store (``open_backend``), so a
        file this call creates is marked for a rebuild from it (``verify`` raises
        ``IndexMissing`` until then): a lost or moved index file is not taken for one
        that holds everything. ``created`` says whether this call created the index."""
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
        self._stale = False  # marked for a rebuild (older schema dropped, or a new file)
        self.created = False
        self._from_store = from_store
        try:
            self._writer = self._connect()
            self._writer.execute(f"PRAGMA cache_size={_WRITER_CACHE_KIB}")
            # a large import's transaction grows the WAL to its size; cut it back after
            self._writer.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
        except sqlite3.Error as e:
            raise SearchError(f"cannot open search index {self.path!r}: {e}") from e
        try:
            if not self._memory:
                mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise SearchError(f"search index {self.path!r}: cannot switch to WAL")
            # an index with its schema opens without the write lock, which a large
            # import's indexing process may hold for minutes
            if not self._has_schema():
                self._create(from_store)
            version = self.get_meta(_SCHEMA_KEY)
            if version in _OLDER_VERSIONS:
                self._drop_older(version)
                version = self.get_meta(_SCHEMA_KEY)
            self._stale = self.get_meta(_REBUILD_KEY) is not None
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

    def _has_schema(self) -> bool:
        with self._write_lock:
            found = self._writer.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_meta'"
            ).fetchone()
            return (
                found is not None
                and self._writer.execute(
                    "SELECT 1 FROM search_meta WHERE key = ?", (_SCHEMA_KEY,)
                ).fetchone()
                is not None
            )

    def _create(self, from_store: bool) -> None:
        """Create the tables (in another process too, at most one of them is first)."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            _create_schema(self._writer)
            self.created = (
                self._writer.execute(
                    "INSERT OR IGNORE INTO search_meta (key, value) VALUES (?, ?)",
                    (_SCHEMA_KEY, SCHEMA_VERSION),
                ).rowcount
                == 1
            )
            if self.created and from_store:
                self._writer.execute(
                    "INSERT INTO search_meta (key, value) VALUES (?, ?)",
                    (_REBUILD_KEY, "a new index file, not yet filled from the store"),
                )
            self._writer.execute("COMMIT")

    def _drop_older(self, version: str) -> None:
        """Replace an index of an older schema by an empty one and mark it for a rebuild:
        ``verify()`` then raises ``IndexMissing``, and ``Directory.sync`` rebuilds it
        from the store (as after a lost index)."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT value FROM search_meta WHERE key = ?", (_SCHEMA_KEY,)
            ).fetchone()
            if row is None or row[0] != version:  # another process was first
                return
            for table in _DATA_TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            _create_schema(conn)
            _bump_generation(conn)
            conn.execute(
                "UPDATE search_meta SET value = ? WHERE key = ?", (SCHEMA_VERSION, _SCHEMA_KEY)
            )
            conn.execute(
                "INSERT OR REPLACE INTO search_meta (key, value) VALUES (?, ?)",
                (_REBUILD_KEY, f"schema version {version} replaced by {SCHEMA_VERSION}"),
            )

    def verify(self) -> None:
        """Raise ``IndexMissing`` while an index of an older schema awaits its rebuild
        (searches refuse meanwhile rather than answer "nothing found")."""
        reason = self.get_meta(_REBUILD_KEY)
        self._stale = reason is not None
        if reason is not None:
            raise IndexMissing(f"search index {self.path!r} must be rebuilt ({reason})")

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
            conn.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
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
                raise write_error(self.path, "", e) from e
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # the block's error is the one
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as e:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise write_error(self.path, "commit failed: ", e) from e

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
            raise write_error(self.path, "", e) from e

    # -- other processes ---------------------------------------------------------------

    def can_reopen(self) -> bool:
        return not self._memory  # no other process sees an in-memory index

    def reopen(self) -> EmbeddedBackend:
        """The same index file on connections of its own."""
        if self._memory:
            raise SearchError("an in-memory search index cannot be reopened")
        return EmbeddedBackend(
            self.path,
            timeout=self._timeout,
            max_readers=1,
            bulk_threshold=self.bulk_threshold,
            from_store=self._from_store,  # a file made anew here waits for its rebuild too
        )

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
                vocab = {
                    term: n
                    for term, n in conn.execute("SELECT term, doc FROM temp.search_vocab")
                    if not is_key_token(term)
                }
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


def drop_index_tables(path: str | os.PathLike[str], timeout: float = 10.0) -> bool:
    """Remove an embedded index from the SQLite file ``path``, leaving its other tables
    (earlier versions kept the index in the store's file); return whether it held one."""
    try:
        conn = sqlite3.connect(os.fspath(path), timeout=timeout, isolation_level=None)
    except sqlite3.Error as e:
        raise SearchError(f"cannot open {os.fspath(path)!r}: {e}") from e
    try:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_meta'"
        ).fetchone()
        if found is None:
            return False
        conn.execute("BEGIN IMMEDIATE")
        for table in (*_DATA_TABLES, "search_meta"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute("COMMIT")
        return True
    except sqlite3.Error as e:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise SearchError(
            f"cannot remove the old search index from {os.fspath(path)!r}: {e}"
        ) from e
    finally:
        conn.close()
