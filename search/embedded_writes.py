"""Writing the embedded index: documents in, documents out, everything out. A mixin of
``embedded.EmbeddedBackend``, split from ``embedded.py`` (whose docstring describes the
tables).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from .base import SearchDocument
from .embedded_tables import (
    _DATA_TABLES,
    _REBUILD_KEY,
    _bump_generation,
    _create_schema,
    _mv_items,
    _Rows,
    _spatial_key,
    catgeo_rows,
    write_error,
)

_CHUNK = 500  # document numbers or ids per "IN (...)" look-up
_INSERT_CHUNK = 50000  # documents whose rows are built and inserted at a time


class EmbeddedWrites:
    """The writing half of ``EmbeddedBackend`` (uses its writer connection, ``_write``
    transactions and locks)."""

    def index(self, documents: list[SearchDocument]) -> None:
        if not documents:
            return
        latest, bulk = self._ordered(documents)
        self._check_open()
        try:
            with self._write_lock:
                # the rows of the first chunk (usually the whole batch) are built before
                # the write transaction starts, so the file stays writable for others
                # (the store) meanwhile; larger batches go in chunks to bound the memory
                base = self._next_number(self._writer)
                rows = _Rows.build(latest[:_INSERT_CHUNK], base)
                with self._write() as conn:
                    self._insert(conn, latest, bulk, base, rows)
        except sqlite3.Error as e:
            raise write_error(self.path, "indexing failed: ", e) from e

    @contextmanager
    def index_held(self, batches: Iterable[list[SearchDocument]]) -> Iterator[int]:
        """Index ``batches`` in one write transaction that stays open while the block
        runs (the index's write lock held, searches see the old index) and commits when
        it ends; rolled back if the block raises. Yields the number of documents given."""
        with self._write() as conn:
            count = 0
            try:
                for documents in batches:
                    if documents:
                        latest, bulk = self._ordered(documents)
                        self._insert(conn, latest, bulk, self._next_number(conn), None)
                        count += len(documents)
            except sqlite3.Error as e:
                raise write_error(self.path, "indexing failed: ", e) from e
            yield count

    def _ordered(self, documents: list[SearchDocument]) -> tuple[list[SearchDocument], bool]:
        """The last document of each id; a bulk batch in spatial order."""
        latest = list({d.id: d for d in documents}.values())
        bulk = len(latest) >= self.bulk_threshold
        if bulk:
            # number a large batch in spatial order (strips of 0.01 degrees latitude, then
            # longitude): neighbours share pages of every table, so the R*Tree
            # candidates of a nearby query touch few pages
            latest.sort(key=_spatial_key)
        return latest, bulk

    def _insert(
        self,
        conn: sqlite3.Connection,
        latest: list[SearchDocument],
        bulk: bool,
        base: int,
        rows: _Rows | None,
    ) -> None:
        """Replace ``latest`` inside the write transaction on ``conn``; ``rows``: those of
        the first chunk if built beforehand from ``base``."""
        chunk = _INSERT_CHUNK
        if rows is None or self._next_number(conn) != base:  # another process wrote meanwhile
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
            # the keys of their search_catgeo rows, from the same columns they came from
            conn.execute(
                "DELETE FROM search_catgeo WHERE (cat, strip, lon, doc) IN ("
                + catgeo_rows(f"d.rowid IN ({marks})", keys_only=True)
                + ")",
                chunk,
            )
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
            raise write_error(self.path, "delete failed: ", e) from e

    def clear(self) -> None:
        self._clear(keep_mark=False)
        self._stale = False

    def rebuild(self, batches: Iterable[list[SearchDocument]]) -> int:
        """As the default (clear, then batch by batch), but an index marked for a rebuild
        (a new file, an older schema) stays marked until the last batch is in: other
        processes refuse to search it meanwhile rather than answer from a part of it."""
        marked = self.get_meta(_REBUILD_KEY) is not None
        self._clear(keep_mark=True)
        count = 0
        for batch in batches:
            self.index(batch)
            count += len(batch)
        if marked:
            self.set_meta(_REBUILD_KEY, None)
        self._stale = False
        return count

    def _clear(self, keep_mark: bool) -> None:
        try:
            with self._write() as conn:
                for table in _DATA_TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                _create_schema(conn)
                _bump_generation(conn)
                if not keep_mark:
                    conn.execute("DELETE FROM search_meta WHERE key = ?", (_REBUILD_KEY,))
        except sqlite3.Error as e:
            raise write_error(self.path, "clear failed: ", e) from e
