"""The ground truth: a backend that keeps documents in a dict and scans them all.

It follows the contract in ``base`` as literally as possible and is meant for tests (the
conformance suite compares every real backend with it) and for tiny instances. Relevance
is a simple deterministic score: the number of (term, token occurrence) pairs where the
term (of any alternative of the expanded text) is a prefix of the token, counting every
word of the document's text and every dictionary part of it.
"""

from __future__ import annotations

import bisect
import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from .base import (
    EXACT_BONUS,
    ExtraFilter,
    SearchBackend,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    TextMatch,
)
from .facets import facet_counts
from .semantics import (
    extra_matches,
    first_alternatives,
    group_terms,
    haversine_km,
    normalize_extra,
    normalize_filters,
    parse_time,
    text_groups,
    validate,
)
from .text import fold, subwords, words


def _has_prefix(sorted_tokens: tuple[str, ...], term: str) -> bool:
    i = bisect.bisect_left(sorted_tokens, term)
    return i < len(sorted_tokens) and sorted_tokens[i].startswith(term)


@dataclass
class _Entry:
    doc: SearchDocument
    title_key: str
    tokens: tuple[str, ...]  # sorted, unique index tokens
    occurrences: tuple[str, ...]  # every word and part, with repeats (for the score)
    categories: frozenset[str]
    languages: frozenset[str]
    channels: frozenset[str]
    accessibility: frozenset[str]
    extra: dict[str, Any]


def _entry(doc: SearchDocument) -> _Entry:
    doc = copy.deepcopy(doc)
    occurrences: list[str] = []
    for text in doc.text:
        for word in words(text or ""):
            occurrences.append(word)
            occurrences.extend(subwords(word))
    return _Entry(
        doc=doc,
        title_key=fold(doc.title),
        tokens=tuple(sorted(set(occurrences))),
        occurrences=tuple(occurrences),
        categories=frozenset(doc.categories),
        languages=frozenset(doc.languages),
        channels=frozenset(doc.channels),
        accessibility=frozenset(doc.accessibility),
        extra=normalize_extra(doc.extra) if doc.extra else {},
    )


class BruteForceBackend(SearchBackend):
    """Answers every query by a full scan in Python. Not thread-safe for writes."""

    name: ClassVar[str] = "brute"

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    # -- bookkeeping -------------------------------------------------------------------

    def index(self, documents: list[SearchDocument]) -> None:
        for doc in documents:
            self._entries[doc.id] = _entry(doc)

    def delete(self, ids: list[str]) -> None:
        for doc_id in ids:
            self._entries.pop(doc_id, None)

    def clear(self) -> None:
        self._entries.clear()

    def count(self) -> int:
        return len(self._entries)

    def get(self, doc_id: str) -> SearchDocument | None:
        entry = self._entries.get(doc_id)
        return entry.doc if entry else None

    def documents(self) -> list[SearchDocument]:
        return [e.doc for e in self._entries.values()]

    # -- search ------------------------------------------------------------------------

    def vocabulary(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for e in self._entries.values():
            counts.update(e.tokens)
        return dict(counts)

    def score(self, entry: _Entry, terms: list[str], firsts: list[tuple[str, ...]] = ()) -> float:
        bonus = sum(1 for alt in firsts if all(_has_prefix(entry.tokens, t) for t in alt))
        count = sum(1 for t in terms for tok in entry.occurrences if tok.startswith(t))
        return EXACT_BONUS * bonus + float(count)

    def _passes(
        self,
        e: _Entry,
        q: SearchQuery,
        groups: TextMatch,
        at: int | None,
        extra: tuple[ExtraFilter, ...],
    ) -> bool:
        d = e.doc
        if not q.include_archived and d.status != "active":
            return False
        if q.kinds and d.kind not in q.kinds:
            return False
        if q.categories and e.categories.isdisjoint(q.categories):
            return False
        if q.districts and d.district not in q.districts:
            return False
        if q.carriers and d.carrier not in q.carriers:
            return False
        if q.languages and e.languages.isdisjoint(q.languages):
            return False
        if q.channels and e.channels.isdisjoint(q.channels):
            return False
        if q.free_of_charge is not None and bool(d.free_of_charge) != q.free_of_charge:
            return False
        if q.accessibility and not e.accessibility.issuperset(q.accessibility):
            return False
        if q.open_on is not None or at is not None:
            if not any(
                (q.open_on is None or s.weekday == q.open_on)
                and (at is None or s.start <= at < s.end)
                for s in d.slots
            ):
                return False
        for f in extra:
            if not extra_matches(e.extra, f):
                return False
        return all(
            any(all(_has_prefix(e.tokens, t) for t in alt) for alt in group) for group in groups
        )

    def search(self, query: SearchQuery) -> SearchResult:
        sort = validate(query)
        groups = text_groups(query)
        terms = group_terms(groups)
        firsts = first_alternatives(groups)
        at = parse_time(query.open_at) if query.open_at is not None else None
        extra = normalize_filters(query.extra)
        near = query.near
        rows: list[tuple[Any, str, float | None, float | None]] = []
        matched: list[_Entry] = []
        for e in self._entries.values():
            if not self._passes(e, query, groups, at, extra):
                continue
            dist = None
            if near is not None:
                loc = e.doc.location
                if loc is None or loc.lat != loc.lat or loc.lon != loc.lon:  # none or NaN
                    continue
                dist = haversine_km(near.lat, near.lon, loc.lat, loc.lon)
                if query.radius_km is not None and dist > query.radius_km:
                    continue
            score = self.score(e, terms, firsts) if sort == "relevance" else None
            if sort == "distance":
                key: Any = (dist, e.doc.id)
            elif sort == "relevance":
                key = (-score, e.doc.id)
            else:
                key = (e.title_key, e.doc.id)
            rows.append((key, e.doc.id, dist, score))
            matched.append(e)
        rows.sort(key=lambda r: r[0])
        page = rows[query.offset : query.offset + query.limit]
        result = SearchResult(hits=[SearchHit(id=r[1], distance_km=r[2], score=r[3]) for r in page])
        if query.want_total:
            result.total = len(rows)
        if query.want_facets:
            result.facets = facet_counts(
                (e.doc.kind, e.categories, e.doc.district) for e in matched
            )
        return result
