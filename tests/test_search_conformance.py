"""Every search backend against the brute-force ground truth.

The backends under test come from ``search_fixtures.BACKEND_FACTORIES``; each is loaded
once per module with the same generated documents and compared with
``BruteForceBackend`` over targeted and randomly generated queries.

Rules of comparison: totals and facets must be equal; ``title`` order must be identical;
``distance`` order may only swap hits whose distances are equal within 1e-6 km, and
reported distances must be within 1e-3 km; for ``relevance`` only the sets of hits are
compared (scores are engine specific), but pagination must still be consistent.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import replace

import pytest
from directory_search.base import (
    ExtraFilter,
    GeoPoint,
    SearchBackend,
    SearchDocument,
    SearchError,
    SearchQuery,
    SearchResult,
)
from directory_search.brute import BruteForceBackend
from directory_search.semantics import haversine_km
from directory_search.text import index_tokens

from . import search_fixtures as fx

N_DOCS = 10_000
SEED = 20240611
ALL = 1_000_000  # a limit that returns every hit

DORTMUND_HBF = GeoPoint(51.5175, 7.4589)
BOCHUM_HBF = GeoPoint(51.4785, 7.2228)
HOERDE = GeoPoint(51.4870, 7.5080)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents() -> list[SearchDocument]:
    return fx.generate_documents(N_DOCS, SEED)


@pytest.fixture(scope="module")
def docs_by_id(documents) -> dict[str, SearchDocument]:
    return {d.id: d for d in documents}


@pytest.fixture(scope="module")
def brute(documents) -> BruteForceBackend:
    b = BruteForceBackend()
    b.index(documents)
    return b


def _backend_params() -> list:
    """One parameter per backend, with its marks (``elasticsearch`` for a real server)."""
    return [
        pytest.param(name, marks=fx.BACKEND_MARKS.get(name, ())) for name in fx.BACKEND_FACTORIES
    ]


@pytest.fixture(scope="module", params=_backend_params())
def backend(request, tmp_path_factory, documents):
    b = fx.BACKEND_FACTORIES[request.param](tmp_path_factory.mktemp(request.param))
    try:
        b.index(documents)
        yield b
    finally:
        b.close()


@pytest.fixture(params=_backend_params())
def fresh_backend(request, tmp_path):
    """An empty backend of its own, for tests that change the index."""
    b = fx.BACKEND_FACTORIES[request.param](tmp_path)
    try:
        yield b
    finally:
        b.close()


# -- comparison -------------------------------------------------------------------------


class Oracle:
    """Brute-force answers, with the full ordered hit list cached per query."""

    def __init__(self, brute: BruteForceBackend, docs_by_id: dict[str, SearchDocument]):
        self.brute = brute
        self.docs = docs_by_id
        self._full: dict[str, SearchResult] = {}

    def full(self, q: SearchQuery) -> SearchResult:
        full = replace(q, offset=0, limit=ALL, want_total=True, want_facets=False)
        key = repr(full)  # filter values may be lists (unhashable)
        if key not in self._full:
            self._full[key] = self.brute.search(full)
        return self._full[key]

    def distance(self, q: SearchQuery, doc_id: str) -> float:
        loc = self.docs[doc_id].location
        assert loc is not None and q.near is not None
        return haversine_km(q.near.lat, q.near.lon, loc.lat, loc.lon)


@pytest.fixture(scope="module")
def oracle(brute, docs_by_id) -> Oracle:
    return Oracle(brute, docs_by_id)


def assert_same_page(q: SearchQuery, got: SearchResult, oracle: Oracle) -> None:
    """``got`` (one page of a backend) agrees with the ground truth for ``q``."""
    full = oracle.full(q)
    expected = full.hits[q.offset : q.offset + q.limit]
    ids = [h.id for h in got.hits]
    assert len(ids) == len(set(ids)), f"duplicate hits for {q}"
    assert len(ids) == len(expected), f"{len(ids)} hits instead of {len(expected)} for {q}"
    universe = {h.id for h in full.hits}
    assert set(ids) <= universe, f"hits outside the filtered set for {q}"
    sort = q.effective_sort()
    if sort == "title":
        assert ids == [h.id for h in expected], f"title order differs for {q}"
    elif sort == "distance":
        for hit, exp in zip(got.hits, expected, strict=True):
            true = oracle.distance(q, hit.id)
            assert hit.distance_km is not None
            assert abs(hit.distance_km - true) <= 1e-3, f"distance of {hit.id} for {q}"
            assert abs(true - exp.distance_km) <= 1e-6, f"distance order differs for {q}"
    if q.near is not None and sort != "distance":
        for hit in got.hits:
            assert abs(hit.distance_km - oracle.distance(q, hit.id)) <= 1e-3
    bound = EXACT_COUNT_BOUND
    if q.want_total:
        if got.total_exact:
            assert got.total == full.total, f"total for {q}"
        else:  # a lower bound, and only beyond the backend's bound
            assert bound <= got.total <= full.total, f"total (at least) for {q}"
    if q.want_facets:
        expected_facets = oracle.brute.search(q).facets
        if got.facets_exact:
            assert got.facets == expected_facets, f"facets for {q}"
        else:
            assert full.total >= bound, f"facets inexact within the bound for {q}"
            assert got.facets is not None and expected_facets is not None
            for name, counts in got.facets.items():
                for value, n in counts.items():
                    assert 0 < n <= expected_facets[name][value], f"facet {name} for {q}"


# the smallest bound a backend may count to before answering lower bounds (the
# embedded backend's ``count_bound``; Elasticsearch counts exactly here)
EXACT_COUNT_BOUND = 1000


def check(backend: SearchBackend, oracle: Oracle, q: SearchQuery) -> SearchResult:
    got = backend.search(q)
    assert_same_page(q, got, oracle)
    return got


def page_through(backend: SearchBackend, q: SearchQuery, size: int) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        page = backend.search(replace(q, offset=offset, limit=size, want_total=False))
        ids.extend(h.id for h in page.hits)
        if len(page.hits) < size:
            return ids
        offset += size


def assert_pagination(backend: SearchBackend, oracle: Oracle, q: SearchQuery, size: int) -> None:
    ids = page_through(backend, q, size)
    full = oracle.full(q)
    assert len(ids) == len(set(ids)), "pagination repeated a hit"
    assert set(ids) == {h.id for h in full.hits}, "pagination skipped or added hits"
    one_shot = [h.id for h in backend.search(replace(q, offset=0, limit=ALL)).hits]
    assert ids == one_shot, "pages differ from one big page"
    if q.effective_sort() == "title":
        assert ids == [h.id for h in full.hits]
    elif q.effective_sort() == "distance":
        for got_id, exp in zip(ids, full.hits, strict=True):
            assert abs(oracle.distance(q, got_id) - exp.distance_km) <= 1e-6


# -- query generation -------------------------------------------------------------------

TEXTS = (
    "demenz",
    "Demenzcafé",
    "DEMENZ",
    "Strasse",
    "straße",
    "Fusspflege",
    "fuß",
    "senioren",
    "Gruppe",
    "Begegnungsstätte",
    "beg",
    "Hörde",
    "hoerde",
    "muller",
    "Mueller",
    "d",
    "zu",
    "pflege dienst",
    "Café Kränzchen",
    "türkçe",
    "русском",
    "seniorendemenzgruppe",
    "angehörige schulung",
    "xyzzy",
)
EXTRA_FILTERS = (
    ExtraFilter("awo.transport_service", "eq", True),
    ExtraFilter("awo.transport_service", "eq", False),
    ExtraFilter("x.places", "gte", 20),
    ExtraFilter("x.places", "lte", 5),
    ExtraFilter("x.fee", "lte", 7.5),
    ExtraFilter("x.tags", "contains", "mobil"),
    ExtraFilter("x.tags", "in", ("frauen", "maenner")),
    ExtraFilter("x.since", "gte", "2020-01-01"),
    ExtraFilter("x.note", "contains", "Fahrdienst"),
    ExtraFilter("x.flag", "eq", 1),
    ExtraFilter("x.flag", "eq", True),
    ExtraFilter("x.places", "in", (0, 1, 2, 3)),
)


def random_point(rng: random.Random, documents: list[SearchDocument]) -> GeoPoint:
    if rng.random() < 0.5:
        located = [d for d in rng.sample(documents, 5) if d.location is not None]
        if located:
            return located[0].location
    box = fx.CITY_BOXES[rng.choice(("do", "bo"))]
    return GeoPoint(rng.uniform(box[0], box[1]), rng.uniform(box[2], box[3]))


def random_query(rng: random.Random, documents: list[SearchDocument]) -> SearchQuery:
    kw: dict = {}
    if rng.random() < 0.6:
        kw["near"] = random_point(rng, documents)
        kw["radius_km"] = rng.choice((None, 0.3, 1.0, 2.0, 5.0, 5.0, 10.0, 40.0))
    if rng.random() < 0.35:
        kw["text"] = rng.choice(TEXTS)
    filters = rng.sample(
        [
            "kinds",
            "categories",
            "districts",
            "carriers",
            "languages",
            "channels",
            "free",
            "accessibility",
            "open",
            "extra",
            "archived",
        ],
        rng.choice((0, 1, 1, 2, 2, 3)),
    )
    if "kinds" in filters:
        kw["kinds"] = tuple(rng.sample(fx.KINDS, rng.choice((1, 1, 2))))
    if "categories" in filters:
        keys = [k for k, _, _ in fx.CATEGORY_TREE]
        kw["categories"] = tuple(rng.sample(keys, rng.choice((1, 1, 2))))
    if "districts" in filters:
        kw["districts"] = tuple(rng.sample(list(fx.DISTRICTS), rng.choice((1, 2, 3))))
    if "carriers" in filters:
        kw["carriers"] = tuple(rng.sample(list(fx.CARRIERS), rng.choice((1, 2))))
    if "languages" in filters:
        kw["languages"] = tuple(rng.sample(fx.LANGUAGES, rng.choice((1, 1, 2))))
    if "channels" in filters:
        kw["channels"] = tuple(rng.sample(fx.CHANNELS, rng.choice((1, 2))))
    if "free" in filters:
        kw["free_of_charge"] = rng.choice((True, False))
    if "accessibility" in filters:
        kw["accessibility"] = tuple(rng.sample(fx.ACCESSIBILITY, rng.choice((1, 1, 2))))
    if "open" in filters:
        r = rng.random()
        if r < 0.8:
            kw["open_on"] = rng.randrange(7)
        if r > 0.4:
            kw["open_at"] = f"{rng.randrange(8, 20):02d}:{rng.choice((0, 15, 30, 59)):02d}"
    if "extra" in filters:
        kw["extra"] = tuple(rng.sample(EXTRA_FILTERS, rng.choice((1, 1, 2))))
    if "archived" in filters:
        kw["include_archived"] = True
    sorts = ["title", None]
    if kw.get("near"):
        sorts.append("distance")
    if kw.get("text"):
        sorts.append("relevance")
    kw["sort"] = rng.choice(sorts)
    kw["offset"] = rng.choice((0, 0, 0, 3, 20, 100))
    kw["limit"] = rng.choice((0, 1, 10, 20, 20, 50))
    kw["want_total"] = rng.random() < 0.6
    kw["want_facets"] = rng.random() < 0.3
    return SearchQuery(**kw)


RANDOM_QUERIES = 400


@pytest.fixture(scope="module")
def random_queries(documents) -> list[SearchQuery]:
    rng = random.Random(SEED + 1)
    return [random_query(rng, documents) for _ in range(RANDOM_QUERIES)]


# -- the index itself -------------------------------------------------------------------


def test_count_and_health(backend, documents):
    assert backend.count() == len(documents)
    health = backend.health()
    assert health["backend"] == backend.name
    assert health["documents"] == len(documents)


def test_generated_data_covers_the_cases(documents):
    assert {d.kind for d in documents} == set(fx.KINDS)
    assert any(d.location is None for d in documents)
    assert any(d.status == "archived" for d in documents)
    assert any("Straße" in d.title for d in documents)
    assert any("Demenzcafé" in d.title for d in documents)
    assert any(d.title == "Seniorendemenzgruppe" for d in documents)
    assert any(d.title == "Fußpflege-Dienst" for d in documents)
    assert any(d.extra.get("awo.transport_service") is True for d in documents)
    located = [d.location for d in documents if d.location is not None]
    assert len(located) > len(set(located)), "no shared locations (distance ties)"


# -- random queries ---------------------------------------------------------------------


def test_random_queries(backend, oracle, random_queries):
    nonempty = 0
    for q in random_queries:
        got = check(backend, oracle, q)
        nonempty += bool(got.hits)
    assert nonempty > RANDOM_QUERIES // 3  # the generator is not producing only misses


def test_random_queries_paginate(backend, oracle, random_queries):
    checked = 0
    for q in random_queries:
        if oracle.full(q).total > 400:
            continue
        assert_pagination(backend, oracle, q, size=17)
        checked += 1
    assert checked > 50


# -- geo --------------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [0.0, 0.2, 1.0, 3.0, 5.0, 25.0, None])
@pytest.mark.parametrize("point", [DORTMUND_HBF, BOCHUM_HBF, HOERDE, GeoPoint(51.3, 6.9)])
def test_near(backend, oracle, point, radius):
    base = SearchQuery(near=point, radius_km=radius, limit=30, want_facets=True)
    check(backend, oracle, base)
    check(backend, oracle, replace(base, want_total=False, want_facets=False))
    check(backend, oracle, replace(base, offset=45, want_total=False, want_facets=False))
    check(backend, oracle, replace(base, kinds=("dementia_group",), want_total=False))
    check(backend, oracle, replace(base, categories=("dementia",), want_facets=False))


def test_near_radius_contains_exactly_the_points_inside(backend, oracle, documents):
    point = DORTMUND_HBF
    q = SearchQuery(near=point, radius_km=2.5, limit=ALL, include_archived=True)
    got = {h.id for h in backend.search(q).hits}
    inside = {
        d.id
        for d in documents
        if d.location is not None
        and haversine_km(point.lat, point.lon, d.location.lat, d.location.lon) <= 2.5
    }
    assert got == inside


def test_near_zero_radius_finds_shared_locations(backend, oracle, documents):
    seen: dict[GeoPoint, list[str]] = {}
    for d in documents:
        if d.location is not None and d.status == "active":
            seen.setdefault(d.location, []).append(d.id)
    point, ids = max(seen.items(), key=lambda item: len(item[1]))
    assert len(ids) > 1
    q = SearchQuery(near=point, radius_km=0.0, limit=50)
    got = check(backend, oracle, q)
    assert [h.id for h in got.hits] == sorted(ids)  # ties broken by id


def test_documents_without_location_never_match_near(backend, documents):
    unlocated = {d.id for d in documents if d.location is None}
    got = backend.search(SearchQuery(near=DORTMUND_HBF, limit=ALL, include_archived=True))
    assert not unlocated & {h.id for h in got.hits}
    assert got.total == len(documents) - len(unlocated)


def test_near_with_selective_filters_far_away(backend, oracle):
    # few hits and no radius: the expanding search must reach the whole data set
    q = SearchQuery(
        near=GeoPoint(52.52, 13.40),  # Berlin
        kinds=("advice_office",),
        carriers=("drk",),
        accessibility=("wheelchair", "hearing_loop", "easy_language"),
        want_total=False,
        limit=5,
    )
    got = check(backend, oracle, q)
    assert got.hits
    check(backend, oracle, replace(q, limit=ALL, want_total=True))


def test_near_nothing_matches(backend, oracle):
    q = SearchQuery(near=HOERDE, text="xyzzy", want_total=False)
    assert backend.search(q).hits == []
    check(backend, oracle, replace(q, want_total=True, want_facets=True))


@pytest.mark.parametrize("point", [DORTMUND_HBF, BOCHUM_HBF, HOERDE], ids=["do", "bo", "hoerde"])
@pytest.mark.parametrize("text", ["demenz", "pflege", "beratung", "cafe"])
def test_near_text_and_category_rare_combinations(backend, oracle, point, text):
    """The counsellor's search (a point, 5 km, one category, a text, nearest first) for
    every category: many combinations are rare or empty around the point although text
    and category are frequent, which the embedded backend answers through FTS5 keys."""
    empty = 0
    for key, _, _ in fx.CATEGORY_TREE:
        q = SearchQuery(
            near=point, radius_km=5.0, text=text, categories=(key,), sort="distance",
            limit=21, want_total=False,
        )  # fmt: skip
        got = check(backend, oracle, q)
        empty += not got.hits
        check(backend, oracle, replace(q, limit=5, want_total=True, want_facets=True))
    assert empty < len(fx.CATEGORY_TREE)


@pytest.mark.parametrize(
    "point", [DORTMUND_HBF, BOCHUM_HBF, GeoPoint(51.3, 6.9)], ids=["do", "bo", "far"]
)
def test_nearest_of_categories(backend, oracle, point):
    """The counsellor's search without a text (a point, a radius, categories, nearest
    first, a page, no counts) for every category, parents (with their descendants) and
    leaves; several categories at once; archived offers included; pages beyond the
    first; no radius. The embedded backend reads its per-category index for these."""
    keys = [key for key, _, _ in fx.CATEGORY_TREE]
    for key in keys:
        q = SearchQuery(
            near=point, radius_km=5.0, categories=(key,), sort="distance", limit=21,
            want_total=False,
        )  # fmt: skip
        check(backend, oracle, q)
        check(backend, oracle, replace(q, offset=21))
        check(backend, oracle, replace(q, include_archived=True, offset=7, limit=50))
    for cats in (keys[:2], keys[1:4], tuple(keys)):
        q = SearchQuery(
            near=point, radius_km=3.0, categories=tuple(cats), sort="distance", limit=30,
            want_total=False,
        )  # fmt: skip
        check(backend, oracle, q)
        check(backend, oracle, replace(q, offset=60, radius_km=25.0))
        check(backend, oracle, replace(q, radius_km=None, kinds=("dementia_group",)))


@pytest.mark.parametrize("radius", [2.0, 10.0, 30.0])
@pytest.mark.parametrize("categories", [(), ("dementia",), ("care.meals",)])
def test_near_counts_up_to_the_bound(backend, oracle, radius, categories):
    """Totals and facets of nearby searches with more and fewer hits than the bound a
    backend may count to (``EXACT_COUNT_BOUND``): exact below it, lower bounds beyond."""
    q = SearchQuery(
        near=DORTMUND_HBF, radius_km=radius, categories=categories, sort="distance",
        limit=10, want_total=True, want_facets=True,
    )  # fmt: skip
    got = check(backend, oracle, q)
    if oracle.full(q).total <= EXACT_COUNT_BOUND:
        assert got.total_exact and got.facets_exact
    if backend.name == "embedded" and oracle.full(q).total > EXACT_COUNT_BOUND:
        assert not got.total_exact  # the bound is where the embedded backend stops
        exact = check(backend, oracle, replace(q, exact_counts=True))
        assert exact.total_exact and exact.total == oracle.full(q).total


# -- filters ----------------------------------------------------------------------------

FILTER_CASES = {
    "kinds": SearchQuery(kinds=("service",)),
    "kinds-two": SearchQuery(kinds=("service", "dementia_group")),
    "category-root": SearchQuery(categories=("dementia",)),
    "category-leaf": SearchQuery(categories=("dementia.groups",)),
    "categories-or": SearchQuery(categories=("housing", "care.meals")),
    "category-unknown": SearchQuery(categories=("nope",)),
    "districts": SearchQuery(districts=("do.hoerde", "bo.mitte")),
    "carriers": SearchQuery(carriers=("awo",)),
    "languages": SearchQuery(languages=("tr", "ru")),
    "channels": SearchQuery(channels=("home_visit",)),
    "free": SearchQuery(free_of_charge=True),
    "not-free": SearchQuery(free_of_charge=False),
    "accessibility-one": SearchQuery(accessibility=("wheelchair",)),
    "accessibility-all": SearchQuery(accessibility=("wheelchair", "easy_language")),
    "open-on": SearchQuery(open_on=0),
    "open-on-at": SearchQuery(open_on=2, open_at="10:00"),
    "open-at-boundary": SearchQuery(open_on=4, open_at="09:00"),
    "open-at-any-day": SearchQuery(open_at="18:30"),
    "extra-bool": SearchQuery(extra=(ExtraFilter("awo.transport_service", "eq", True),)),
    "extra-int-not-bool": SearchQuery(extra=(ExtraFilter("x.flag", "eq", True),)),
    "extra-range": SearchQuery(
        extra=(ExtraFilter("x.places", "gte", 10), ExtraFilter("x.places", "lte", 20))
    ),
    "extra-float": SearchQuery(extra=(ExtraFilter("x.fee", "gte", 12.5),)),
    "extra-date": SearchQuery(extra=(ExtraFilter("x.since", "lte", "2015-06-01"),)),
    "extra-in": SearchQuery(extra=(ExtraFilter("x.places", "in", [1, 2, 3]),)),
    "extra-list-contains": SearchQuery(extra=(ExtraFilter("x.tags", "contains", "kurs"),)),
    "extra-list-eq": SearchQuery(extra=(ExtraFilter("x.tags", "eq", "online"),)),
    "extra-substring": SearchQuery(extra=(ExtraFilter("x.note", "contains", "Fahrdienst"),)),
    "extra-date-object": SearchQuery(
        extra=(ExtraFilter("x.opened", "gte", datetime.date(2020, 1, 1)),)
    ),
    "extra-date-string": SearchQuery(extra=(ExtraFilter("x.opened", "lte", "2008-12-31"),)),
    "extra-missing-field": SearchQuery(extra=(ExtraFilter("x.nothing", "eq", 1),)),
    "extra-type-mismatch": SearchQuery(extra=(ExtraFilter("x.since", "gte", 3),)),
    "archived": SearchQuery(include_archived=True),
    "combined": SearchQuery(
        kinds=("dementia_group", "meeting_place"),
        categories=("encounter",),
        languages=("de",),
        free_of_charge=True,
        include_archived=True,
    ),
}


@pytest.mark.parametrize("name", list(FILTER_CASES))
def test_filter(backend, oracle, name):
    base = replace(FILTER_CASES[name], want_facets=True, limit=40)
    got = check(backend, oracle, base)
    if name not in (
        "category-unknown",
        "extra-missing-field",
        "extra-type-mismatch",
        "extra-int-not-bool",
    ):
        assert got.total, f"the filter case {name} matches nothing"
    check(backend, oracle, replace(base, near=BOCHUM_HBF, radius_km=8.0))
    check(backend, oracle, replace(base, near=DORTMUND_HBF, want_total=False, want_facets=False))
    check(backend, oracle, replace(base, text="senioren", sort="title"))


def test_category_descendants_are_found_by_the_parent(backend, documents):
    parent = backend.search(SearchQuery(categories=("dementia",), limit=ALL)).hits
    children = backend.search(
        SearchQuery(categories=("dementia.groups", "dementia.advice"), limit=ALL)
    ).hits
    assert {h.id for h in children} <= {h.id for h in parent}
    assert len(parent) >= len(children) > 0


def test_archived_only_with_include_archived(backend, documents):
    archived = {d.id for d in documents if d.status != "active"}
    active = backend.search(SearchQuery(limit=ALL))
    assert not archived & {h.id for h in active.hits}
    everything = backend.search(SearchQuery(limit=ALL, include_archived=True))
    assert archived <= {h.id for h in everything.hits}
    assert everything.total == len(documents)


# -- text -------------------------------------------------------------------------------


def _ids(backend, text, **kw) -> set[str]:
    return {h.id for h in backend.search(SearchQuery(text=text, limit=ALL, **kw)).hits}


def test_text_spelling_variants(backend, docs_by_id):
    strasse = _ids(backend, "Strasse")
    assert strasse == _ids(backend, "Straße") == _ids(backend, "STRASSE")
    assert any("Straße" in docs_by_id[i].title for i in strasse)
    fuss = _ids(backend, "Fusspflege")
    assert fuss == _ids(backend, "Fußpflege") == _ids(backend, "FUSSPFLEGE")
    assert any(docs_by_id[i].title == "Fußpflege-Dienst" for i in fuss)
    assert _ids(backend, "Müller") == _ids(backend, "mueller")


def test_text_demenz_finds_prefix_and_compound(backend, docs_by_id):
    hits = _ids(backend, "demenz")
    titles = {docs_by_id[i].title for i in hits}
    assert any(t.startswith("Demenzcafé") for t in titles)
    assert any(t.startswith("DEMENZCAFÉ") for t in titles)
    assert "Seniorendemenzgruppe" in titles
    assert hits == _ids(backend, "DEMENZ") == _ids(backend, "Demenz")


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("sort", ["title", "relevance"])
def test_text(backend, oracle, text, sort):
    q = SearchQuery(text=text, sort=sort, limit=25, want_facets=True)
    check(backend, oracle, q)
    check(backend, oracle, replace(q, near=DORTMUND_HBF, radius_km=6.0))
    if sort == "title":
        check(backend, oracle, replace(q, near=HOERDE, sort=None, want_total=False))


@pytest.mark.parametrize("text", ["demenz", "senioren", "straße", "d", "beratung pflege"])
def test_relevance_pagination(backend, oracle, text):
    q = SearchQuery(text=text, sort="relevance")
    assert_pagination(backend, oracle, q, size=50)
    assert_pagination(backend, oracle, replace(q, near=BOCHUM_HBF, radius_km=4.0), size=9)
    scores = [h.score for h in backend.search(replace(q, limit=200)).hits]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)


def test_text_without_terms_is_no_filter(backend, oracle):
    got = check(backend, oracle, SearchQuery(text=" -- ", sort="title", limit=10))
    assert got.total == backend.search(SearchQuery(limit=0)).total


# -- sorting and paging -----------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        SearchQuery(),
        SearchQuery(kinds=("meeting_place",)),
        SearchQuery(near=HOERDE, radius_km=3.0),
        SearchQuery(near=HOERDE, radius_km=3.0, sort="title"),
        SearchQuery(near=BOCHUM_HBF, categories=("care",)),
        SearchQuery(near=DORTMUND_HBF, radius_km=1.5, include_archived=True),
        SearchQuery(text="begegnung", sort="title"),
        SearchQuery(text="pflege", near=DORTMUND_HBF, radius_km=5.0),
    ],
    ids=lambda q: f"sort={q.effective_sort()}",
)
@pytest.mark.parametrize("size", [1, 7, 50])
def test_pagination(backend, oracle, q, size):
    narrower = [
        {"kinds": ("dementia_group",)},
        {"free_of_charge": True},
        {"channels": ("phone",)},
        {"accessibility": ("wheelchair",)},
        {"districts": ("do.hoerde", "bo.mitte")},
        {"languages": ("tr", "ru")},
    ]
    for extra in narrower:  # keep the number of pages small, but never empty
        if oracle.full(q).total <= 60 * size:
            break
        if oracle.full(replace(q, **extra)).total > 0:
            q = replace(q, **extra)
    assert 0 < oracle.full(q).total <= 60 * size
    assert_pagination(backend, oracle, q, size)


def test_limit_zero_still_counts(backend, oracle):
    q = SearchQuery(near=DORTMUND_HBF, radius_km=3.0, limit=0, want_facets=True)
    got = check(backend, oracle, q)
    assert got.hits == [] and got.total > 0 and got.facets["kind"]
    got = check(backend, oracle, replace(q, near=None))
    assert got.hits == [] and got.total > 0


def test_offset_past_the_end(backend, oracle):
    q = SearchQuery(near=HOERDE, radius_km=1.0, offset=100_000, want_total=True)
    got = check(backend, oracle, q)
    assert got.hits == [] and got.total > 0
    assert backend.search(replace(q, want_total=False)).hits == []
    assert backend.search(replace(q, near=None)).hits == []


def test_facets_cover_the_filtered_set(backend, oracle):
    got = check(backend, oracle, SearchQuery(want_facets=True, categories=("care",), limit=5))
    assert sum(got.facets["kind"].values()) == got.total
    assert got.facets["category"]["care"] == got.total
    assert set(got.facets) == {"kind", "category", "district"}


# -- bad queries ------------------------------------------------------------------------

BAD_QUERIES = {
    "distance-without-near": SearchQuery(sort="distance"),
    "relevance-without-text": SearchQuery(sort="relevance"),
    "unknown-sort": SearchQuery(sort="popularity"),
    "negative-limit": SearchQuery(limit=-1),
    "negative-offset": SearchQuery(offset=-5),
    "negative-radius": SearchQuery(near=HOERDE, radius_km=-1.0),
    "bad-point": SearchQuery(near=GeoPoint(91.0, 7.0)),
    "bad-open-at": SearchQuery(open_on=1, open_at="25:00"),
    "bad-open-at-format": SearchQuery(open_at="10 Uhr"),
    "bad-weekday": SearchQuery(open_on=7),
    "bad-extra-op": SearchQuery(extra=(ExtraFilter("x.places", "like", 3),)),
    "bad-extra-in": SearchQuery(extra=(ExtraFilter("x.places", "in", 3),)),
}


@pytest.mark.parametrize("name", list(BAD_QUERIES))
def test_bad_queries_raise_search_error(backend, brute, name):
    with pytest.raises(SearchError):
        brute.search(BAD_QUERIES[name])
    with pytest.raises(SearchError):
        backend.search(BAD_QUERIES[name])


# -- changing the index -----------------------------------------------------------------


def _compare_all(backend, brute, queries):
    oracle = Oracle(brute, {d.id: d for d in brute.documents()})
    for q in queries:
        check(backend, oracle, q)


def _state_queries() -> list[SearchQuery]:
    return [
        SearchQuery(limit=ALL, include_archived=True, want_facets=True),
        SearchQuery(limit=ALL, want_facets=True),
        SearchQuery(near=DORTMUND_HBF, limit=ALL, want_facets=True),
        SearchQuery(near=BOCHUM_HBF, radius_km=5.0, limit=15, want_total=False),
        # the nearest of a category (the embedded backend's search_catgeo rows must follow
        # every change of a document's location, categories and status)
        SearchQuery(
            near=HOERDE,
            radius_km=5.0,
            categories=("dementia",),
            sort="distance",
            limit=40,
            want_total=False,
        ),  # fmt: skip
        SearchQuery(
            near=HOERDE,
            categories=("dementia.groups", "care"),
            sort="distance",
            limit=25,
            offset=10,
            want_total=False,
            include_archived=True,
        ),  # fmt: skip
        SearchQuery(text="demenz", limit=ALL),
        SearchQuery(text="strasse", near=HOERDE, limit=ALL),
        SearchQuery(categories=("dementia",), open_on=2, limit=ALL),
        SearchQuery(languages=("tr",), limit=ALL),
        SearchQuery(extra=(ExtraFilter("awo.transport_service", "eq", True),), limit=ALL),
    ]


def test_delete_reindex_clear(fresh_backend):
    docs = fx.generate_documents(1500, SEED + 7)
    brute = BruteForceBackend()
    for b in (fresh_backend, brute):
        b.index(docs[:1000])
        b.index(docs[1000:])  # a second batch on top
    _compare_all(fresh_backend, brute, _state_queries())

    doomed = [d.id for d in docs[::7]] + ["no-such-id"]
    for b in (fresh_backend, brute):
        b.delete(doomed)
        b.delete(doomed)  # deleting twice is harmless
        b.delete([])
    assert fresh_backend.count() == brute.count() == 1500 - len(docs[::7])
    _compare_all(fresh_backend, brute, _state_queries())

    changed = []
    for i, d in enumerate(docs[1::5]):
        d = replace(d)
        d.title = "Neues Demenzcafé an der Straße"
        d.text = [d.title, "Jetzt mit Fußpflege"]
        d.location = None if i % 4 == 0 else GeoPoint(51.49 + i * 1e-4, 7.45)
        d.categories = ["dementia", "dementia.groups"]
        d.languages = ["tr"]
        d.status = "archived" if i % 3 == 0 else "active"
        d.slots = []
        d.extra = {"awo.transport_service": True}
        changed.append(d)
    for b in (fresh_backend, brute):
        b.index(changed + docs[::7][:20])  # changed docs and some deleted ones again
    assert fresh_backend.count() == brute.count()
    _compare_all(fresh_backend, brute, _state_queries())

    for b in (fresh_backend, brute):
        b.clear()
    assert fresh_backend.count() == 0
    assert fresh_backend.search(SearchQuery(near=HOERDE)).hits == []
    assert fresh_backend.search(SearchQuery(text="demenz")).total == 0
    for b in (fresh_backend, brute):
        b.index(docs[:300])
    _compare_all(fresh_backend, brute, _state_queries())


def test_index_same_id_twice_in_one_batch(fresh_backend):
    docs = fx.generate_documents(3, SEED + 9)
    first = replace(docs[0], title="Erste Fassung", text=["Erste Fassung"])
    second = replace(docs[0], title="Zweite Fassung", text=["Zweite Fassung"])
    fresh_backend.index([first, docs[1], second])
    assert fresh_backend.count() == 2
    hits = fresh_backend.search(SearchQuery(text="zweite", include_archived=True)).hits
    assert [h.id for h in hits] == [docs[0].id]
    assert fresh_backend.search(SearchQuery(text="erste", include_archived=True)).hits == []


# -- the forgiving search: expanded text (directory_search.expansion) -------------------

FORGIVING_TEXTS = (
    "Demens",
    "Demenzkaffee",
    "Alzheimer",
    "Fusspflge",
    "Strase",
    "Begegnungsstätten",
    "Begegnungstätte Hörde",
    "Senioren Büro",
    "Einkaufshilfe",
    "Treffpunkt Senioren",
    "Essen auf Rädern",
    "Hausnotruf für Senioren",
    "d zu",
    "xyzzy",
)


def test_vocabulary_is_the_oracles(backend, brute):
    assert backend.vocabulary() == brute.vocabulary()


@pytest.fixture(scope="module")
def expander():
    from directory_search.expansion import QueryExpander

    return QueryExpander()


@pytest.mark.parametrize("text", FORGIVING_TEXTS)
@pytest.mark.parametrize("sort", ["title", "relevance"])
def test_expanded_text(backend, oracle, brute, expander, text, sort):
    from directory_search.expansion import Vocabulary

    match = expander.expand(text, Vocabulary(brute.vocabulary())).match
    q = SearchQuery(text=text, match=match, sort=sort, limit=25, want_facets=True)
    check(backend, oracle, q)
    check(backend, oracle, replace(q, near=DORTMUND_HBF, radius_km=6.0))
    if sort == "title":
        check(backend, oracle, replace(q, near=HOERDE, sort=None, want_total=False))


@pytest.mark.parametrize("text", ["Begegnungsstätte", "Seniorentreff Hörde", "Treffpunkt"])
def test_words_as_typed_rank_first(backend, brute, docs_by_id, expander, text):
    """Relevance: hits matching the first alternative of a group (the word as typed)
    come before hits found only through its synonyms (``base.EXACT_BONUS``)."""
    from directory_search.expansion import Vocabulary

    match = expander.expand(text, Vocabulary(brute.vocabulary())).match
    assert any(len(group) > 1 for group in match), match
    got = backend.search(SearchQuery(text=text, match=match, sort="relevance", limit=ALL))
    firsts = [group[0] for group in match if len(group) > 1]
    exact = []
    for hit in got.hits:
        tokens = index_tokens(docs_by_id[hit.id].text)
        exact.append(sum(all(any(x.startswith(t) for x in tokens) for t in alt) for alt in firsts))
    assert exact == sorted(exact, reverse=True)
    assert exact[0] > exact[-1]


def test_vocabulary_follows_writes(fresh_backend):
    docs = fx.generate_documents(50, SEED)
    oracle = BruteForceBackend()
    for b in (fresh_backend, oracle):
        b.index(docs)
    assert "quackelbude" not in fresh_backend.vocabulary()
    new = replace(docs[0], id="vocab-new", text=["Quackelbude am Markt"])
    for b in (fresh_backend, oracle):
        b.index([new])
        b.delete([docs[1].id])
    assert fresh_backend.vocabulary()["quackelbude"] == 1
    assert fresh_backend.vocabulary() == oracle.vocabulary()
    fresh_backend.delete(["vocab-new"])
    assert "quackelbude" not in fresh_backend.vocabulary()
