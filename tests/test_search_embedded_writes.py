"""The embedded backend's writes held open (``index_held``), reopening the index in
another process's stead, new index files, and removing an index from a store's file."""

from __future__ import annotations

import sqlite3

import pytest
from directory_search.base import (
    GeoPoint,
    IndexMissing,
    SearchError,
    SearchQuery,
    SearchUnavailable,
)
from directory_search.brute import BruteForceBackend
from directory_search.embedded import EmbeddedBackend, drop_index_tables
from directory_search.embedded_tables import write_error

from . import search_fixtures as fx

ALL = SearchQuery(limit=5000, include_archived=True)
HOERDE = GeoPoint(51.4870, 7.5080)
QUERIES = [
    SearchQuery(near=HOERDE, radius_km=5, limit=50),
    SearchQuery(near=HOERDE, categories=["encounter"], limit=20),
    SearchQuery(text="cafe", sort="title", limit=100, want_facets=True),
    SearchQuery(limit=100, sort="title", include_archived=True, want_total=True),
]


@pytest.fixture(scope="module")
def documents():
    return fx.generate_documents(900, 7)


def ids(backend, query=ALL) -> list[str]:
    return sorted(hit.id for hit in backend.search(query).hits)


def test_held_documents_are_searchable_only_after_the_block(tmp_path, documents):
    writer = EmbeddedBackend(tmp_path / "search.sqlite", bulk_threshold=300)
    reader = writer.reopen()  # the same file on connections of its own
    try:
        writer.index(documents[:100])
        batches = [documents[100:500], documents[500:600], []]  # a bulk batch, a small one
        with writer.index_held(iter(batches)) as count:
            assert count == 500
            assert len(ids(reader)) == 100  # searches see the index as before
            # another process opens it at once; its writes wait, then report the index
            # unavailable for now (the outbox keeps their changes)
            other = EmbeddedBackend(tmp_path / "search.sqlite", timeout=0.1)
            try:
                assert len(ids(other)) == 100
                with pytest.raises(SearchUnavailable, match="locked"):
                    other.set_meta("k", "v")
                with pytest.raises(SearchUnavailable, match="locked"):
                    other.index(documents[700:701])
            finally:
                other.close()
        assert ids(reader) == sorted(d.id for d in documents[:600])
    finally:
        reader.close()
        writer.close()


def test_held_documents_match_brute_force(tmp_path, documents):
    backend = EmbeddedBackend(tmp_path / "search.sqlite", bulk_threshold=300)
    brute = BruteForceBackend()
    try:
        for target in (backend, brute):
            with target.index_held([documents[:400], documents[400:], documents[:50]]):
                pass
        for query in QUERIES:
            got, expected = backend.search(query), brute.search(query)
            assert got.hits and [h.id for h in got.hits] == [h.id for h in expected.hits], query
            assert (got.total, got.facets) == (expected.total, expected.facets), query
    finally:
        backend.close()


@pytest.mark.parametrize("failure", [RuntimeError("store failed"), KeyboardInterrupt()])
def test_a_block_that_raises_rolls_the_documents_back(tmp_path, documents, failure):
    backend = EmbeddedBackend(tmp_path / "search.sqlite")
    brute = BruteForceBackend()
    try:
        for target in (backend, brute):
            target.index(documents[:10])
            with pytest.raises(type(failure)):
                with target.index_held([documents[10:200]]):
                    raise failure
            assert ids(target) == sorted(d.id for d in documents[:10])
        backend.index(documents[10:20])  # the write lock was given back
        assert len(ids(backend)) == 20
    finally:
        backend.close()


def test_an_error_of_the_callers_block_is_not_turned_into_a_search_error(tmp_path, documents):
    backend = EmbeddedBackend(tmp_path / "search.sqlite")
    try:
        with pytest.raises(sqlite3.OperationalError, match="the store's own"):
            with backend.index_held([documents[:5]]):
                raise sqlite3.OperationalError("the store's own error")
        assert ids(backend) == []
    finally:
        backend.close()


def test_an_in_memory_index_cannot_be_reopened():
    backend = EmbeddedBackend(":memory:")
    try:
        assert not backend.can_reopen()
        with pytest.raises(SearchError, match="in-memory"):
            backend.reopen()
    finally:
        backend.close()
    assert not BruteForceBackend().can_reopen()


def test_a_new_file_kept_from_a_store_waits_for_its_rebuild(tmp_path, documents):
    path = tmp_path / "search.sqlite"
    first = EmbeddedBackend(path, from_store=True)
    again = EmbeddedBackend(path, from_store=True)
    plain = EmbeddedBackend(tmp_path / "plain.sqlite")
    try:
        assert first.created and not again.created and plain.created
        for backend in (first, again):
            with pytest.raises(IndexMissing, match="a new index file"):
                backend.verify()
            with pytest.raises(IndexMissing):
                backend.search(ALL)
        plain.verify()  # not kept from a store: usable as it is
        assert ids(plain) == []
        first.rebuild([documents[:30]])  # what the directory's repair does
        again.verify()
        assert len(ids(again)) == 30
    finally:
        for backend in (first, again, plain):
            backend.close()


def test_drop_index_tables_leaves_the_other_tables(tmp_path, documents):
    path = tmp_path / "store.sqlite"
    backend = EmbeddedBackend(path)
    backend.index(documents[:20])
    backend.close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE offers (id TEXT)")
    conn.execute("INSERT INTO offers VALUES ('kept')")
    conn.commit()
    conn.close()
    assert drop_index_tables(path) is True
    assert drop_index_tables(path) is False  # nothing left to remove
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"offers"}
    assert conn.execute("SELECT id FROM offers").fetchall() == [("kept",)]
    conn.close()


def test_a_reopened_index_whose_file_was_lost_waits_for_its_rebuild(tmp_path):
    path = tmp_path / "search.sqlite"
    backend = EmbeddedBackend(path, from_store=True)
    backend.rebuild([])
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"search.sqlite{suffix}").unlink(missing_ok=True)
    again = backend.reopen()  # e.g. in an import's second process
    try:
        assert again.created
        with pytest.raises(IndexMissing, match="a new index file"):
            again.verify()
    finally:
        again.close()
        backend.close()


def test_a_marked_index_stays_marked_until_its_rebuild_is_done(tmp_path, documents):
    path = tmp_path / "search.sqlite"
    rebuilding = EmbeddedBackend(path, from_store=True)
    other = EmbeddedBackend(path)  # another process, opened meanwhile
    seen: list[str] = []

    def batches():
        yield documents[:100]
        try:
            other.search(ALL)
            seen.append("answered from a part")
        except IndexMissing:
            seen.append("refused")
        yield documents[100:200]

    try:
        assert rebuilding.rebuild(batches()) == 200
        assert seen == ["refused"]
        other.verify()
        assert len(ids(other)) == 200
    finally:
        other.close()
        rebuilding.close()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (sqlite3.SQLITE_BUSY, SearchUnavailable),
        (517, SearchUnavailable),  # SQLITE_BUSY_SNAPSHOT: an extended code of BUSY
        (sqlite3.SQLITE_LOCKED, SearchUnavailable),
        (sqlite3.SQLITE_CORRUPT, SearchError),
        (None, SearchError),
    ],
)
def test_a_write_that_waited_too_long_is_unavailable_not_broken(code, kind):
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = code
    found = write_error("x.sqlite", "indexing failed: ", error)
    assert type(found) is kind
    assert str(found) == "search index 'x.sqlite': indexing failed: database is locked"
