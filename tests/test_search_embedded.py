"""Tests specific to the embedded SQLite backend (the shared behaviour is checked by
``test_search_conformance.py``)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace

import pytest
from directory_search import embedded, embedded_writes
from directory_search.base import (
    GeoPoint,
    SearchDocument,
    SearchError,
    SearchQuery,
    SearchUnavailable,
)
from directory_search.brute import BruteForceBackend
from directory_search.embedded import EmbeddedBackend

from . import search_fixtures as fx

HOERDE = GeoPoint(51.4870, 7.5080)
DORTMUND_HBF = GeoPoint(51.5175, 7.4589)


@pytest.fixture(scope="module")
def documents() -> list[SearchDocument]:
    return fx.generate_documents(2000, 99)


@pytest.fixture
def backend(tmp_path):
    b = EmbeddedBackend(tmp_path / "search.sqlite")
    try:
        yield b
    finally:
        b.close()


def _ids(result) -> list[str]:
    return [h.id for h in result.hits]


QUERIES = [
    SearchQuery(limit=50, want_facets=True),
    SearchQuery(near=HOERDE, radius_km=3.0, limit=50),
    SearchQuery(near=DORTMUND_HBF, categories=("dementia",), want_total=False),
    SearchQuery(text="demenz", sort="title", limit=100),
]


def test_persists_across_reopen(tmp_path, documents):
    path = tmp_path / "search.sqlite"
    first = EmbeddedBackend(path)
    first.index(documents)
    first.set_meta("sync.watermark", "2024-06-01T12:00:00Z")
    before = [first.search(q) for q in QUERIES]
    first.close()

    second = EmbeddedBackend(path)
    try:
        assert second.count() == len(documents)
        assert second.get_meta("sync.watermark") == "2024-06-01T12:00:00Z"
        after = [second.search(q) for q in QUERIES]
        assert after == before
        second.delete([documents[0].id])
        assert second.count() == len(documents) - 1
    finally:
        second.close()


def test_tables_live_next_to_the_store(tmp_path, documents):
    path = tmp_path / "store.sqlite"
    store = sqlite3.connect(path)
    store.execute("CREATE TABLE offers (id TEXT PRIMARY KEY, title TEXT)")
    store.execute("INSERT INTO offers VALUES ('a', 'Demenzcafé')")
    store.commit()
    store.close()

    b = EmbeddedBackend(path)
    try:
        b.index(documents[:10])
    finally:
        b.close()
    b = EmbeddedBackend(path)  # opening an existing index again
    b.close()

    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert conn.execute("SELECT title FROM offers").fetchall() == [("Demenzcafé",)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    ours = [n for n in names if n != "offers"]
    assert ours and all(n.startswith("search_") for n in ours), ours


def test_meta(backend):
    assert backend.get_meta("sync.watermark") is None
    backend.set_meta("sync.watermark", "42")
    assert backend.get_meta("sync.watermark") == "42"
    backend.set_meta("sync.watermark", "43")
    assert backend.get_meta("sync.watermark") == "43"
    backend.set_meta("other", "x")
    backend.clear()  # clearing documents keeps the meta data
    assert backend.get_meta("sync.watermark") == "43"
    backend.set_meta("sync.watermark", None)
    assert backend.get_meta("sync.watermark") is None
    assert backend.get_meta("other") == "x"


def test_corrupt_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(SearchError, match="broken.sqlite"):
        EmbeddedBackend(path)


def test_missing_directory_gives_a_clear_error(tmp_path):
    with pytest.raises(SearchError, match="cannot open|not usable"):
        EmbeddedBackend(tmp_path / "no" / "such" / "dir" / "search.sqlite")


def test_closed_backend_is_unavailable(tmp_path):
    b = EmbeddedBackend(tmp_path / "search.sqlite")
    b.close()
    b.close()  # idempotent
    with pytest.raises(SearchUnavailable):
        b.search(SearchQuery())
    with pytest.raises(SearchUnavailable):
        b.health()


def test_health(backend, documents):
    backend.index(documents[:5])
    health = backend.health()
    assert health["backend"] == "embedded"
    assert health["documents"] == 5
    assert health["path"].endswith("search.sqlite")


def test_in_memory(documents):
    b = EmbeddedBackend(":memory:")
    try:
        b.index(documents[:100])
        brute = BruteForceBackend()
        brute.index(documents[:100])
        q = SearchQuery(near=HOERDE, limit=30)
        assert _ids(b.search(q)) == _ids(brute.search(q))
    finally:
        b.close()


def test_thread_safety(backend, documents):
    brute = BruteForceBackend()
    stable, changing = documents[:1500], documents[1500:]
    backend.index(stable)
    brute.index(stable)
    expected = {repr(q): brute.search(replace(q, include_archived=False)) for q in QUERIES}
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                for q in QUERIES:
                    got = backend.search(q)
                    if q.effective_sort() != "relevance" and not q.text:
                        # the changing documents are all placed far away (see writer)
                        assert _ids(got) == _ids(expected[repr(q)]), q
        except BaseException as e:  # noqa: BLE001 - collected for the main thread
            errors.append(e)

    def writer():
        try:
            far = [
                replace(d, location=GeoPoint(48.1, 11.5), status="archived", text=["München"])
                for d in changing
            ]
            for i in range(6):
                backend.index(far[i * 50 : (i + 1) * 50])
                backend.set_meta("sync.watermark", str(i))
                backend.delete([d.id for d in far[i * 50 : i * 50 + 10]])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    writers = [threading.Thread(target=writer) for _ in range(2)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors
    assert backend.count() == len(stable) + 300 - 60
    assert backend.get_meta("sync.watermark") == "5"


def test_reopen_while_another_instance_writes(tmp_path, documents):
    path = tmp_path / "search.sqlite"
    a, b = EmbeddedBackend(path), EmbeddedBackend(path)
    try:
        a.index(documents[:100])
        assert b.count() == 100  # sees committed writes of the other connection
        b.index(documents[100:150])  # numbers continue after a's documents
        assert a.count() == 150
        assert a.search(SearchQuery(limit=0, include_archived=True)).total == 150
    finally:
        a.close()
        b.close()


def _count_rows_read(backend: EmbeddedBackend, query: SearchQuery) -> int:
    """Virtual-machine steps (in units of 100) SQLite spends answering ``query``."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    conns = list(backend._all)
    for conn in conns:
        conn.set_progress_handler(tick, 100)
    try:
        backend.search(query)
    finally:
        for conn in conns:
            conn.set_progress_handler(None, 100)
    return steps


def test_nearby_query_does_not_scan_everything(tmp_path):
    docs = fx.generate_documents(20000, 5)
    b = EmbeddedBackend(tmp_path / "search.sqlite")
    try:
        b.index(docs)
        b.search(SearchQuery())  # open the reader connection
        near = SearchQuery(near=HOERDE, radius_km=5.0, categories=("dementia",), want_total=False)
        full = replace(near, want_total=True, sort="title")  # reads every hit in the circle
        near_steps = _count_rows_read(b, near)
        full_steps = _count_rows_read(b, full)
        assert near_steps * 5 < full_steps, (near_steps, full_steps)
        text_steps = _count_rows_read(b, replace(near, text="demenz"))
        assert text_steps * 5 < full_steps, (text_steps, full_steps)
    finally:
        b.close()


def test_expanding_search_without_radius_reaches_far_hits(backend, documents):
    backend.index(documents[:300])
    far = replace(documents[300], id="far-away", location=GeoPoint(48.137, 11.575))
    backend.index([far])
    q = SearchQuery(near=GeoPoint(48.0, 11.0), limit=3, want_total=False)
    hits = backend.search(q).hits
    assert hits[0].id == "far-away"
    assert 40 < hits[0].distance_km < 50
    q = SearchQuery(near=GeoPoint(48.0, 11.0), radius_km=100.0, want_total=False)
    assert _ids(backend.search(q)) == ["far-away"]


def test_extra_values_must_be_json(backend, documents):
    circular: dict = {}
    circular["self"] = circular
    bad = replace(documents[0], extra={"x.loop": circular})
    with pytest.raises(SearchError, match="JSON"):
        backend.index([documents[1], bad])
    assert backend.count() == 0  # nothing of the batch was written


def test_text_with_non_latin_scripts(backend):
    docs = [
        SearchDocument(id="ru", kind="service", title="Консультация", text=["Консультация"]),
        SearchDocument(id="tr", kind="service", title="Danışma", text=["Türkçe danışmanlık"]),
        SearchDocument(id="el", kind="service", title="Σύλλογος", text=["Σύλλογος Ελλήνων"]),
    ]
    backend.index(docs)
    brute = BruteForceBackend()
    brute.index(docs)
    for text in ["консульт", "КОНСУЛЬТАЦИЯ", "turkce", "danis", "συλλογος", "ελλ", "d"]:
        q = SearchQuery(text=text, sort="title")
        assert _ids(backend.search(q)) == _ids(brute.search(q)), text


def test_schema_version_mismatch(tmp_path):
    path = tmp_path / "search.sqlite"
    EmbeddedBackend(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE search_meta SET value = '0' WHERE key = ?", (embedded._SCHEMA_KEY,))
    conn.commit()
    conn.close()
    with pytest.raises(SearchError, match="schema version"):
        EmbeddedBackend(path)


def test_bulk_load_matches_brute_force(tmp_path, documents, monkeypatch):
    """A batch above ``bulk_threshold``: spatial numbering, late B-tree indexes, rows
    inserted in chunks."""
    monkeypatch.setattr(embedded_writes, "_INSERT_CHUNK", 300)
    b = EmbeddedBackend(tmp_path / "search.sqlite", bulk_threshold=500)
    brute = BruteForceBackend()
    try:
        for backend in (b, brute):
            backend.index(documents[:1200])  # bulk into an empty index
            backend.index(documents[1200:1800])  # bulk on top of existing documents
            backend.index(documents[1800:])  # an ordinary batch
            backend.index(documents[:700])  # bulk re-index of existing documents
        queries = [
            *QUERIES,
            SearchQuery(limit=5000, include_archived=True, want_facets=True),
            SearchQuery(near=HOERDE, limit=5000, want_total=False),
            SearchQuery(text="strasse", sort="title", limit=5000),
        ]
        for q in queries:
            got, expected = b.search(q), brute.search(q)
            assert _ids(got) == _ids(expected), q
            assert got.total == expected.total and got.facets == expected.facets
        conn = sqlite3.connect(tmp_path / "search.sqlite")
        try:
            first = [  # the first batch, numbered 1..1200
                r[0]
                for r in conn.execute(
                    "SELECT lat FROM search_doc WHERE rowid <= 1200 AND lat IS NOT NULL "
                    "ORDER BY rowid"
                )
            ]
            indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
        assert len(first) > 100
        assert first == sorted(first, key=lambda x: int((x + 90) * 100))  # spatial order
        assert {"search_doc_id", "search_doc_title"} <= indexes
    finally:
        b.close()


def test_failed_batch_is_rolled_back(backend, documents):
    backend.index(documents[:10])
    broken = replace(documents[20], kind=None)  # violates NOT NULL inside the transaction
    with pytest.raises(SearchError, match="indexing failed"):
        backend.index([*documents[10:20], broken])
    assert backend.count() == 10
    backend.index(documents[10:20])
    assert backend.count() == 20


def test_vocabulary_sees_writes_of_another_instance(tmp_path, documents):
    """The cached vocabulary is keyed by a generation number that every write to the
    file bumps, so a process sees the words another process indexed."""
    writer = EmbeddedBackend(tmp_path / "shared.sqlite")
    reader = EmbeddedBackend(tmp_path / "shared.sqlite")
    try:
        writer.index(documents[:20])
        before = reader.vocabulary()
        assert "quackelbude" not in before
        assert reader.vocabulary() is before  # cached while nothing changes
        writer.index([replace(documents[0], id="new", text=["Quackelbude"])])
        assert reader.vocabulary()["quackelbude"] == 1
    finally:
        writer.close()
        reader.close()
