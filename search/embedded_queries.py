"""How the embedded backend answers a query: the SQL plan (FTS5, R*Tree, filters), the
expanding nearest search, exact distances and facets (the plans are described in
``embedded.py``'s docstring). A mixin of ``EmbeddedBackend``, split from ``embedded.py``.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .base import (
    EARTH_RADIUS_KM,
    EXACT_BONUS,
    SearchError,
    SearchHit,
    SearchQuery,
    SearchResult,
    TextMatch,
)
from .embedded_tables import (
    _fts_expr,
    _fts_groups,
    category_key,
    cover_keys,
    strip_of,
)
from .facets import facet_counts
from .semantics import (
    EXTRA_JSON,
    bounding_box,
    first_alternatives,
    haversine_km,
    parse_time,
    text_groups,
    validate,
)

# A text query matching fewer documents than this is driven by FTS5; otherwise the
# tokens of the candidate rows are checked with instr() (cheaper for frequent prefixes).
FTS_DRIVER_MAX = 4000
_HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
# The first radius of the expanding search assumes the documents spread over this area
# and this share of them matching; the radius then grows from the observed hits.
_ASSUMED_AREA_KM2 = 100.0
_ASSUMED_HIT_SHARE = 0.2
# ... or this share with categories (one category holds a few percent of the offers;
# its candidates cost little, ``search_catgeo`` reads only the category's documents)
_ASSUMED_CATEGORY_SHARE = 0.05
# Candidates checked for the text before the expanding search asks FTS5 whether the text
# is rare enough to drive the query instead.
_TEXT_SCAN_BUDGET = 3000
# A nearby text search first asks FTS5 for the documents with its text and categories
# anywhere (the category keys, ``embedded_tables``), up to this many: fewer, and those
# inside the circle's grid cells are read (a rare combination); more, and the expanding
# search is likely to find the nearest hits soon (else its budget hands over to FTS5).
_KEYED_MAX_ROWS = 300
# Beyond this radius the expanding search gives up and collects every hit instead.
_EXPANSION_LIMIT_KM = 80.0
# A nearby search with at most this many categories and no archived offers reads
# ``search_catgeo`` (one seek per category and strip) instead of the R*Tree.
_CATGEO_MAX_CATEGORIES = 8
_CATGEO_JOIN = "search_catgeo g CROSS JOIN search_doc d ON d.rowid = g.doc"
# More strips than this in a box: one range over them (the longitudes of the strips in
# between are then read too) instead of one seek per strip.
_CATGEO_MAX_STRIPS = 200


@dataclass
class _Sql:
    """FROM/WHERE of one query, built by ``_plan``."""

    from_: str
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    score: str = "0.0"
    #: a candidate of ``_nearest``: number, id, lat, lon
    candidates: str = "d.rowid, d.id, d.lat, d.lon"

    def clause(self) -> str:
        return f"FROM {self.from_} WHERE {' AND '.join(self.where) or '1'}"


class EmbeddedQueries:
    """The searching half of ``EmbeddedBackend`` (uses its ``_read`` connections)."""

    _stale: bool = False
    #: ``near`` + ``radius_km`` + distance order: totals and facets are exact up to this
    #: many hits; beyond it they count the nearest hits only (``total_exact=False``)
    count_bound: int = 1000

    def search(self, query: SearchQuery) -> SearchResult:
        if self._stale:
            self.verify()  # raises IndexMissing until the index is rebuilt
        sort = validate(query)
        terms = text_groups(query)
        at = parse_time(query.open_at) if query.open_at is not None else None
        try:
            with self._read() as conn:
                if query.near is not None:
                    if sort == "distance" and not query.want_total and not query.want_facets:
                        return self._nearest(conn, query, terms, at)
                    if (
                        sort == "distance"
                        and query.radius_km is not None
                        and not query.exact_counts
                    ):
                        page = replace(query, want_total=False, want_facets=False)
                        result = self._nearest(conn, page, terms, at)
                        self._bounded_counts(conn, query, terms, at, result)
                        return result
                    return self._collect(conn, query, sort, terms, at)
                return self._sql_search(conn, query, sort, terms, at)
        except sqlite3.Error as e:
            raise SearchError(f"search index {self.path!r}: search failed: {e}") from e

    # query building

    def _filters(
        self, q: SearchQuery, at: int | None, catgeo: bool = False
    ) -> tuple[list[str], list[Any]]:
        """WHERE conditions of the filters of ``q`` (without its categories and the
        status when ``catgeo``: ``search_catgeo`` holds active documents of them only)."""
        where: list[str] = []
        params: list[Any] = []

        def among(column: str, values: Sequence[str]) -> None:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)

        if not q.include_archived and not catgeo:
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
            if values and (not catgeo or code != "c"):
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
        keys: str | None = None,
    ) -> _Sql:
        """``driver``: ``fts`` (FTS5 drives; every term of at least FTS_MIN_TERM characters
        is matched there), ``geo`` (the R*Tree drives over ``box``), ``catgeo``
        (``search_catgeo`` drives: the categories of ``q`` inside ``box``) or ``doc``."""
        fts_terms = _fts_groups(terms) if driver == "fts" else ()
        instr_terms = [g for g in terms if g not in fts_terms]
        where: list[str] = []
        params: list[Any] = []
        if driver == "fts":
            from_ = "search_fts CROSS JOIN search_doc d ON d.rowid = search_fts.rowid"
            where.append("search_fts MATCH ?")
            params.append(" AND ".join(e for e in (_fts_expr(fts_terms), keys) if e))
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
        elif driver == "catgeo":
            assert box is not None and q.categories and not q.include_archived
            from_ = _CATGEO_JOIN
            where.append(f"g.cat IN ({','.join('?' * len(q.categories))})")
            params.extend(str(c) for c in q.categories)
            first, last = strip_of(box[0]), strip_of(box[1])
            if last - first < _CATGEO_MAX_STRIPS:
                where.append(f"g.strip IN ({','.join(map(str, range(first, last + 1)))})")
            else:
                where.append(f"g.strip BETWEEN {first} AND {last}")
            where.append("g.lon BETWEEN ? AND ? AND g.lat BETWEEN ? AND ?")
            params.extend((box[2], box[3], box[0], box[1]))
            if skip_box is not None:
                where.append("NOT (g.lat BETWEEN ? AND ? AND g.lon BETWEEN ? AND ?)")
                params.extend(skip_box)
        else:
            from_ = "search_doc d"
        if driver not in ("geo", "catgeo"):
            if box is not None:
                where.append("d.lat BETWEEN ? AND ? AND d.lon BETWEEN ? AND ?")
                params.extend(box)
            elif located:
                where.append("d.lat IS NOT NULL")
        firsts = first_alternatives(terms)
        if instr_terms or tokens or firsts:
            from_ += " CROSS JOIN search_text t ON t.doc = d.rowid"
            for group in instr_terms:
                cond, cond_params = _instr_condition((group,))
                where.append(cond)
                params.extend(cond_params)
        fw, fp = self._filters(q, at, catgeo=driver == "catgeo")
        sql = _Sql(from_=from_, where=where + fw, params=params + fp)
        if driver == "catgeo" and not fw and from_ == _CATGEO_JOIN:
            # nothing asked of the documents: search_catgeo alone
            sql.from_ = "search_catgeo g"
            sql.candidates = "g.doc, g.id, g.lat, g.lon"
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
        """Expanding-radius search: read the R*Tree (with categories and without archived
        offers: ``search_catgeo``) in growing boxes (each step skips the box read before)
        until ``offset + limit`` hits lie inside the current radius.

        With a text and a radius, FTS5 is asked first how many documents have the text
        and the categories (``_fts_rowids``): a few, and they are read instead. When the
        candidates checked for the text exceed ``_TEXT_SCAN_BUDGET`` before enough hits
        turn up (counted while reading), the combination is rare here after all: FTS5
        intersects text, categories and the grid cells of the circle then (``_keyed``)."""
        need = q.offset + q.limit
        if need == 0:
            return SearchResult(hits=[])
        assert q.near is not None
        lat, lon = q.near.lat, q.near.lon
        cap = q.radius_km if q.radius_km is not None else _HALF_CIRCUMFERENCE_KM
        share = _ASSUMED_CATEGORY_SHARE if q.categories else _ASSUMED_HIT_SHARE
        radius = min(self._initial_radius(conn, need, share), cap)
        fts_possible = bool(_fts_groups(terms))
        if fts_possible and q.radius_km is not None:
            # text and categories anywhere (cheaper for FTS5 than with the grid cells);
            # a few: read them all (the box and the filters are checked in SQL)
            rowids = self._fts_rowids(conn, terms, self._keys(q, cells=False), _KEYED_MAX_ROWS)
            if len(rowids) < _KEYED_MAX_ROWS:
                if not rowids:
                    return SearchResult(hits=[])
                return self._collect(conn, q, "distance", terms, at, driver="doc", rowids=rowids)
        driver = "geo"
        if 0 < len(q.categories) <= _CATGEO_MAX_CATEGORIES and not q.include_archived:
            driver = "catgeo"
        match, match_params = _instr_condition(terms) if terms else ("1", [])
        scanned = 0  # candidates whose tokens were checked
        found: dict[int, tuple[float, str]] = {}  # number -> distance, id
        prev_box: tuple[float, float, float, float] | None = None
        while True:
            if _EXPANSION_LIMIT_KM < radius < cap:
                # sparse or very selective: collect everything inside the cap at once
                return self._collect(conn, q, "distance", terms, at)
            box = bounding_box(lat, lon, radius)
            sql = self._plan(q, at, [], driver, box=box, skip_box=prev_box, tokens=bool(terms))
            over_budget = False
            if terms:
                # every candidate comes back (the budget counts them) with a flag: does
                # it have the text (checked in SQL, no token string copied to Python)
                rows = conn.execute(
                    f"SELECT d.rowid, d.id, d.lat, d.lon, {match} {sql.clause()}",
                    [*match_params, *sql.params],
                )
                for num, doc_id, dlat, dlon, has_text in rows:
                    scanned += 1
                    if has_text:
                        found[num] = (haversine_km(lat, lon, dlat, dlon), doc_id)
                    if fts_possible and scanned > _TEXT_SCAN_BUDGET:
                        over_budget = True  # stop here, not after a step 16 times larger
                        rows.close()
                        break
            else:
                rows = conn.execute(f"SELECT {sql.candidates} {sql.clause()}", sql.params)
                for num, doc_id, dlat, dlon in rows:
                    found[num] = (haversine_km(lat, lon, dlat, dlon), doc_id)
            if over_budget:
                # the text is rare around here: let FTS5 drive
                if q.radius_km is not None:
                    return self._keyed(conn, q, terms, at)
                if self._fts_selective(conn, terms):
                    return self._collect(conn, q, "distance", terms, at, driver="fts")
                fts_possible = False
                continue  # read the rest of this step's box
            final = radius >= cap
            inside = [h for h in found.values() if h[0] <= radius]
            if len(inside) >= need or final:
                break
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

    def _bounded_counts(
        self,
        conn: sqlite3.Connection,
        q: SearchQuery,
        terms: TextMatch,
        at: int | None,
        result: SearchResult,
    ) -> None:
        """Total and facets of a ``near`` + ``radius_km`` query into ``result``, exact up
        to ``count_bound`` hits. The candidates come from FTS5 (text, categories and the
        grid cells of the circle) or the R*Tree, in index order (neighbours together);
        counting stops at the bound: the counts are then those of the hits seen, lower
        bounds (``total_exact``/``facets_exact`` false)."""
        assert q.near is not None and q.radius_km is not None
        lat, lon, radius = q.near.lat, q.near.lon, q.radius_km
        box = bounding_box(lat, lon, radius)
        bound = self.count_bound
        anywhere = self._keys(q, cells=False)
        rowids = None
        if anywhere or _fts_groups(terms):  # a few anywhere: read just those
            rowids = self._fts_rowids(conn, terms, anywhere, 2 * bound + 1)
        if rowids is not None and len(rowids) <= 2 * bound:
            sql = self._plan(q, at, terms, "doc", box=box)
            sql.where.append(_rowid_filter(rowids))
        else:
            keys = self._keys(q)
            driver = "fts" if keys or _fts_groups(terms) else "geo"
            sql = self._plan(q, at, terms, driver, box=box, keys=keys)
        columns = "d.lat, d.lon, d.kind, d.district, d.cats" if q.want_facets else "d.lat, d.lon"
        left = bound
        groups: Counter[tuple[str, str | None, str | None]] = Counter()
        exact = True
        for row in conn.execute(f"SELECT {columns} {sql.clause()}", sql.params):
            if haversine_km(lat, lon, row[0], row[1]) <= radius:
                if not left:
                    exact = False
                    break
                left -= 1
                if q.want_facets:
                    groups[row[2:]] += 1
        if q.want_total:
            result.total = bound - left
            result.total_exact = exact
        if q.want_facets:
            result.facets = _grouped_facets(
                [(kind, district, cats, n) for (kind, district, cats), n in groups.items()]
            )
            result.facets_exact = exact

    def _keyed(
        self, conn: sqlite3.Connection, q: SearchQuery, terms: TextMatch, at: int | None
    ) -> SearchResult:
        """Every hit inside ``radius_km``, found by FTS5 from the text and the filter
        keys (``_keys``)."""
        return self._collect(conn, q, "distance", terms, at, driver="fts", keys=self._keys(q))

    @staticmethod
    def _keys(q: SearchQuery, cells: bool = True) -> str:
        """The FTS5 expression of the filter keys of ``q``: any of its categories, and
        (``cells``) any grid cell covering its circle (``embedded_tables``)."""
        assert q.near is not None and q.radius_km is not None
        parts = []
        if q.categories:
            parts.append(" OR ".join(f'"{category_key(str(c))}"' for c in q.categories))
        cover = cover_keys(bounding_box(q.near.lat, q.near.lon, q.radius_km)) if cells else None
        if cover:
            parts.append(" OR ".join(f'"{k}"' for k in cover))
        return " AND ".join(f"({p})" for p in parts)

    @staticmethod
    def _fts_rowids(conn: sqlite3.Connection, terms: TextMatch, keys: str, most: int) -> list[int]:
        """The documents FTS5 finds for the text and ``keys``, at most ``most``."""
        expr = " AND ".join(e for e in (_fts_expr(_fts_groups(terms)), keys) if e)
        rows = conn.execute(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT ?", (expr, most)
        )
        return [r[0] for r in rows]

    @staticmethod
    def _initial_radius(conn: sqlite3.Connection, need: int, share: float) -> float:
        """A first radius from the index size (``max(rowid)``, an upper bound of the
        count, is free): about the circle holding ``need`` hits if the documents were
        spread evenly over ``_ASSUMED_AREA_KM2`` (the dense part of a city; clusters are
        denser still) and ``share`` of them matched. Too small costs a step or two, too
        large reads more candidates than needed."""
        n = conn.execute("SELECT max(rowid) FROM search_doc").fetchone()[0] or 1
        r = math.sqrt(need * _ASSUMED_AREA_KM2 / (math.pi * n * share))
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
        keys: str | None = None,
        rowids: Sequence[int] | None = None,
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
        sql = self._plan(q, at, terms, driver, box=box, located=True, keys=keys)
        if rowids is not None:  # the documents FTS5 found for the text (``_nearest``)
            sql.where.append(_rowid_filter(rowids))
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


def _instr_condition(groups: TextMatch) -> tuple[str, list[str]]:
    """SQL true when the token string ``t.tokens`` has the text of ``groups`` (groups
    AND-ed, alternatives OR-ed, the terms of one alternative AND-ed; a term matches the
    start of a token), and its parameters."""
    params: list[str] = []
    ands = []
    for group in groups:
        alts = []
        for alt in group:
            alts.append(" AND ".join(["instr(' ' || t.tokens, ?) > 0"] * len(alt)) or "1")
            params.extend(" " + t for t in alt)
        ands.append("(" + (" OR ".join(f"({a})" for a in alts) or "0") + ")")
    return "(" + (" AND ".join(ands) or "1") + ")", params


def _rowid_filter(rowids: Sequence[int]) -> str:
    """A WHERE condition on the documents FTS5 found (integers, so inlined as literals)."""
    return f"d.rowid IN ({','.join(str(int(r)) for r in rowids)})"


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
