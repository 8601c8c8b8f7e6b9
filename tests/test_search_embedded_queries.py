"""The embedded backend's query plans for nearby searches: the filter keys that let
FTS5 find a combination rare near the point, the counts that stop at a bound, and the
rebuild of an index of an older schema (``embedded_queries.py``, ``embedded_tables.py``).
The answers themselves are held to the brute-force oracle here and in
``test_search_conformance.py``."""

from __future__ import annotations

import itertools
import random
import sqlite3
from dataclasses import replace

import pytest
from directory_search import embedded, embedded_queries
from directory_search.base import (
    GeoPoint,
    IndexMissing,
    SearchDocument,
    SearchQuery,
)
from directory_search.brute import BruteForceBackend
from directory_search.embedded import EmbeddedBackend
from directory_search.embedded_tables import _STRIP_SQL, cover_keys, is_key_token, strip_of
from directory_search.semantics import bounding_box

from .test_search_embedded import HOERDE, _count_rows_read

BOCHUM = GeoPoint(51.4785, 7.2228)


def _around(rng: random.Random, point: GeoPoint, km: float) -> GeoPoint:
    return GeoPoint(
        point.lat + rng.uniform(-km, km) / 111.2, point.lon + rng.uniform(-km, km) / 69.0
    )


def _rare_combination_documents() -> list[SearchDocument]:
    """Around Hörde: many care offers and many texts about Pflege, but only three with
    both; in Bochum, 3,000 with both (the combination is frequent overall)."""
    rng = random.Random(7)
    docs = []
    for i in range(3000):
        docs.append(
            SearchDocument(
                id=f"care-{i}", kind="service", title="Hilfe", text=["Hilfe im Alltag"],
                location=_around(rng, HOERDE, 4.0), categories=["care", "care.visiting"],
            )
        )  # fmt: skip
        docs.append(
            SearchDocument(
                id=f"text-{i}", kind="service", title="Pflegekurs", text=["Pflegekurs"],
                location=_around(rng, HOERDE, 4.0), categories=["encounter"],
            )
        )  # fmt: skip
        docs.append(
            SearchDocument(
                id=f"bochum-{i}", kind="service", title="Pflegedienst", text=["Pflegedienst"],
                location=_around(rng, BOCHUM, 3.0), categories=["care"],
            )
        )  # fmt: skip
    for i, km in enumerate((0.5, 2.0, 4.5)):
        docs.append(
            SearchDocument(
                id=f"both-{i}", kind="service", title="Pflegeberatung", text=["Pflegeberatung"],
                location=GeoPoint(HOERDE.lat + km / 111.2, HOERDE.lon), categories=["care"],
            )
        )  # fmt: skip
    return docs


@pytest.fixture(scope="module")
def rare(tmp_path_factory):
    docs = _rare_combination_documents()
    backend = EmbeddedBackend(tmp_path_factory.mktemp("rare") / "search.sqlite")
    brute = BruteForceBackend()
    backend.index(docs)
    brute.index(docs)
    backend.search(SearchQuery())  # open the reader connection
    try:
        yield backend, brute
    finally:
        backend.close()


def _ids(result) -> list[str]:
    return [h.id for h in result.hits]


def test_rare_combination_near_the_point_is_found_by_fts5(rare, monkeypatch):
    backend, brute = rare
    q = SearchQuery(
        near=HOERDE, radius_km=5.0, text="pflege", categories=("care",), sort="distance",
        limit=21, want_total=False,
    )  # fmt: skip
    assert _ids(backend.search(q)) == _ids(brute.search(q)) == ["both-0", "both-1", "both-2"]
    # once the expanding search has checked its budget of candidates (3,000; here a
    # tenth of that, as the circle holds 6,000 offers, not the 100,000 of a city), FTS5
    # intersects text, category and grid cells: far fewer steps than reading the circle
    circle = _count_rows_read(backend, replace(q, sort="title", want_total=True))
    monkeypatch.setattr(embedded_queries, "_TEXT_SCAN_BUDGET", 300)
    assert _count_rows_read(backend, q) * 2 < circle
    assert _ids(backend.search(q)) == _ids(brute.search(q))
    monkeypatch.setattr(embedded_queries, "_TEXT_SCAN_BUDGET", 10**9)  # reads the circle
    assert _ids(backend.search(q)) == _ids(brute.search(q))
    # a combination rare everywhere goes to FTS5 at once
    rarest = replace(q, text="pflegeberatung")
    assert _ids(backend.search(rarest)) == ["both-0", "both-1", "both-2"]
    assert _count_rows_read(backend, rarest) * 20 < circle


@pytest.mark.parametrize("text", ["pflege", "pflegeb", "hilfe", "p", None])
@pytest.mark.parametrize("categories", [("care",), ("care.visiting", "encounter"), ()])
def test_nearby_pages_and_counts_agree_with_brute_force(rare, text, categories):
    backend, brute = rare
    for point in (HOERDE, BOCHUM, GeoPoint(51.45, 7.40)):
        q = SearchQuery(
            near=point, radius_km=5.0, text=text, categories=categories, sort="distance",
            limit=21, want_total=True, want_facets=True,
        )  # fmt: skip
        got, expected = backend.search(q), brute.search(q)
        assert _ids(got) == _ids(expected)
        if expected.total <= backend.count_bound:
            assert got.total_exact and got.facets_exact
            assert (got.total, got.facets) == (expected.total, expected.facets)
        else:
            assert backend.count_bound <= got.total <= expected.total


def test_counts_are_exact_up_to_the_bound_and_lower_bounds_beyond(rare, monkeypatch):
    backend, brute = rare
    monkeypatch.setattr(backend, "count_bound", 50)
    q = SearchQuery(
        near=HOERDE, radius_km=5.0, categories=("care",), sort="distance", limit=5,
        want_total=True, want_facets=True,
    )  # fmt: skip
    got, expected = backend.search(q), brute.search(q)
    assert _ids(got) == _ids(expected)  # the page stays exact
    assert expected.total > 2000
    assert (got.total, got.total_exact, got.facets_exact) == (50, False, False)
    for name, counts in got.facets.items():
        for value, n in counts.items():
            assert 0 < n <= expected.facets[name][value]
    exact = backend.search(replace(q, exact_counts=True))  # no bound (HSDS paging)
    assert (exact.total, exact.facets, exact.total_exact) == (
        expected.total, expected.facets, True,
    )  # fmt: skip
    # three hits: exact with a bound of three or more, a lower bound below
    small = replace(q, text="pflegeberatung", categories=())
    for bound in (3, 4):
        monkeypatch.setattr(backend, "count_bound", bound)
        got = backend.search(small)
        assert (got.total, got.total_exact) == (3, True)
    monkeypatch.setattr(backend, "count_bound", 2)
    got = backend.search(small)
    assert (got.total, got.total_exact) == (2, False)
    assert _ids(got) == _ids(brute.search(small))


def test_filter_keys_are_not_vocabulary_and_never_match_text(rare):
    backend, brute = rare
    vocabulary = backend.vocabulary()
    assert not any(is_key_token(t) for t in vocabulary)
    assert vocabulary == brute.vocabulary()
    for text in ["_", "c", "_c", "a"]:
        q = SearchQuery(text=text, sort="title", limit=5)
        assert _ids(backend.search(q)) == _ids(brute.search(q)), text


def test_cover_keys_use_the_smallest_cells_that_fit():
    five = cover_keys(bounding_box(HOERDE.lat, HOERDE.lon, 5.0))
    assert five is not None and 4 <= len(five) <= 36 and all(k.startswith("_a") for k in five)
    twenty = cover_keys(bounding_box(HOERDE.lat, HOERDE.lon, 20.0))
    assert twenty is not None and all(k.startswith("_b") for k in twenty)
    assert cover_keys(bounding_box(HOERDE.lat, HOERDE.lon, 500.0)) is None


@pytest.mark.parametrize("version", sorted(embedded._OLDER_VERSIONS))
def test_index_of_an_older_schema_is_dropped_and_rebuilt(tmp_path, version):
    path = tmp_path / "search.sqlite"
    docs = _rare_combination_documents()[:50]
    backend = EmbeddedBackend(path)
    backend.index(docs)
    backend.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE search_meta SET value = ? WHERE key = ?", (version, embedded._SCHEMA_KEY))
    conn.commit()
    conn.close()
    backend = EmbeddedBackend(path)  # an older version: dropped, marked for a rebuild
    try:
        assert backend.get_meta(embedded._SCHEMA_KEY) == embedded.SCHEMA_VERSION
        with pytest.raises(IndexMissing, match="rebuilt"):
            backend.verify()
        with pytest.raises(IndexMissing):  # no "nothing found" answers meanwhile
            backend.search(SearchQuery())
        assert backend.rebuild([docs]) == len(docs)  # what Directory.sync does
        backend.verify()
        assert backend.search(SearchQuery(limit=0)).total == len(docs)
    finally:
        backend.close()


# -- search_catgeo: the located documents of each category, by latitude strip ------------


def test_strip_of_is_the_strip_sqlite_computes():
    """Python and SQLite number the strips alike (the index is written by SQLite, the
    strips of a box are computed in Python), and the number never falls as the
    latitude grows (every point of a box lies in a strip of the box's edges)."""
    rng = random.Random(3)
    lats = [rng.uniform(-90.0, 90.0) for _ in range(2000)]
    lats += [-90.0, -45.005, -0.01, -1e-12, 0.0, 1e-12, 0.005, 0.01, 51.5, 51.51, 89.999, 90.0]
    lats += [k / 100.0 for k in range(-9000, 9001, 7)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE d (lat REAL)")
    conn.executemany("INSERT INTO d VALUES (?)", [(x,) for x in lats])
    rows = conn.execute(f"SELECT lat, {_STRIP_SQL} FROM d").fetchall()
    conn.close()
    assert all(strip_of(lat) == strip for lat, strip in rows)
    ordered = sorted(lats)
    assert all(strip_of(a) <= strip_of(b) for a, b in itertools.pairwise(ordered))


def _rare_category_documents() -> list[SearchDocument]:
    """Around Hörde 4,000 encounter offers and 40 dementia offers (one in a hundred),
    some archived, some without a location."""
    rng = random.Random(11)
    docs = []
    for i in range(4000):
        docs.append(
            SearchDocument(
                id=f"enc-{i:04d}", kind="service", title="Treff", text=["Treff"],
                location=_around(rng, HOERDE, 4.0), categories=["encounter"],
            )
        )  # fmt: skip
    for i in range(40):
        docs.append(
            SearchDocument(
                id=f"dem-{i:02d}", kind="dementia_group", title="Demenzcafe",
                text=["Demenzcafe"], categories=["dementia", "dementia.groups"],
                location=None if i % 10 == 9 else _around(rng, HOERDE, 4.0),
                status="archived" if i % 7 == 3 else "active",
            )
        )  # fmt: skip
    return docs


def test_nearest_by_category_alone_orders_ties_by_id_and_leaves_out_archived(tmp_path):
    """Without other filters or a text, a nearby search with categories reads
    search_catgeo alone: equal distances are still ordered by id (also where the page
    ends among them), archived offers are left out unless asked for, and archiving or
    reactivating an offer moves it in and out."""
    rng = random.Random(5)
    same_place = GeoPoint(51.4870, 7.5110)
    docs = [
        SearchDocument(
            id=f"tie-{n:02d}", kind="service", title="Treff", text=["Treff"],
            location=same_place, categories=["encounter"],
            status="archived" if n % 5 == 0 else "active",
        )
        for n in rng.sample(range(60), 60)
    ] + [
        SearchDocument(
            id=f"near-{i:03d}", kind="service", title="Treff", text=["Treff"],
            location=_around(rng, HOERDE, 3.0), categories=["encounter"],
            status="archived" if i % 4 == 0 else "active",
        )
        for i in range(300)
    ]  # fmt: skip
    backend = EmbeddedBackend(tmp_path / "search.sqlite")
    brute = BruteForceBackend()
    for b in (backend, brute):
        b.index(docs)
    try:
        q = SearchQuery(
            near=same_place, radius_km=5.0, categories=("encounter",), sort="distance",
            limit=21,
        )  # fmt: skip
        queries = [
            q,
            replace(q, offset=13),
            replace(q, offset=40, limit=30),
            replace(q, include_archived=True),
            replace(q, include_archived=True, offset=33),
        ]
        for query in queries:
            assert _ids(backend.search(query)) == _ids(brute.search(query)), query
        page = _ids(backend.search(q))
        assert page == sorted(page) and all(i.startswith("tie-") for i in page)
        assert "tie-00" not in page and "tie-00" in _ids(backend.search(queries[3]))

        changed = [replace(d, status="active" if d.status == "archived" else "archived")
                   for d in docs[::3]]  # fmt: skip
        for b in (backend, brute):
            b.index(changed)
        for query in queries:
            assert _ids(backend.search(query)) == _ids(brute.search(query)), query
    finally:
        backend.close()


def test_nearest_of_a_rare_category_reads_only_its_documents(tmp_path, monkeypatch):
    docs = _rare_category_documents()
    backend = EmbeddedBackend(tmp_path / "search.sqlite")
    brute = BruteForceBackend()
    backend.index(docs)
    brute.index(docs)
    try:
        backend.search(SearchQuery())  # open the reader connection
        q = SearchQuery(
            near=HOERDE, radius_km=5.0, categories=("dementia",), sort="distance", limit=21,
            want_total=False,
        )  # fmt: skip
        queries = [
            q,
            replace(q, offset=21),
            replace(q, categories=("dementia.groups",), include_archived=True, offset=5),
            replace(q, categories=("encounter", "dementia"), limit=30, offset=3990),
            replace(q, text="demenz", radius_km=None),
        ]
        for query in queries:
            assert _ids(backend.search(query)) == _ids(brute.search(query)), query
        assert len(_ids(backend.search(q))) == 21
        steps = _count_rows_read(backend, q)
        monkeypatch.setattr(embedded_queries, "_CATGEO_MAX_CATEGORIES", 0)  # the R*Tree
        assert _ids(backend.search(q)) == _ids(brute.search(q))
        assert steps * 10 < _count_rows_read(backend, q)
        monkeypatch.undo()

        # moved, recategorised, archived and deleted documents leave no stale rows
        changed = [
            replace(d, location=_around(random.Random(i), HOERDE, 2.0), categories=["care"])
            if i % 2
            else replace(d, status="archived", location=None)
            for i, d in enumerate(docs[4000:4020])
        ]
        for b in (backend, brute):
            b.index(changed)
            b.delete([d.id for d in docs[4020:4030]] + ["enc-0001"])
        for query in [*queries, replace(q, categories=("care",), limit=50)]:
            assert _ids(backend.search(query)) == _ids(brute.search(query)), query
        with backend._read() as conn:
            rows = conn.execute("SELECT count(*) FROM search_catgeo").fetchone()[0]
            same_ids = conn.execute(
                "SELECT count(*) FROM search_catgeo g JOIN search_doc d "
                "ON d.rowid = g.doc AND d.id = g.id"
            ).fetchone()[0]
        assert same_ids == rows  # every row carries its document's id
        # the active located documents only (archived ones are read through the R*Tree)
        expected = sum(
            len(d.categories)
            for d in brute.documents()
            if d.location is not None and d.status == "active"
        )
        assert rows == expected
    finally:
        backend.close()
