"""The search interface: one query method and the value types.

Every backend (``embedded.py``, ``elastic.py``) implements ``SearchBackend``. The core
turns offers into ``SearchDocument`` values (``directory_core.indexing``) and hands them
to ``index()``; the API turns GraphQL arguments into a ``SearchQuery`` and calls
``search()``. The conformance suite (``tests/test_search_conformance.py``) checks every
backend against a brute-force ground truth (``directory_search.brute``), so the
semantics below are the contract:

* Filters of one field are OR-ed (``kinds=("service", "association")``), different
  fields are AND-ed. ``categories`` match a document whose categories, *with their
  ancestors*, contain the key: the document carries the expanded list already.
* ``text``: every term (see ``directory_search.text.query_terms``) must be a prefix of one
  of the document's index tokens (``directory_search.text.index_tokens``) built from its
  ``text`` fields.
* ``match``: the forgiving form of ``text`` (``directory_search.expansion``), computed
  once in Python against the backend's ``vocabulary()``: groups that must all match; a
  group matches when every term of one of its alternatives is a prefix of one of the
  document's index tokens. ``None`` means one group of one term per word of ``text``
  (the rule above). ``text`` stays set (relevance needs it).
* ``near`` + ``radius_km``: great-circle distance (mean earth radius 6371.0088 km)
  ``<= radius_km``. A document without a location never matches a ``near`` query.
* ``open_on`` (0 = Monday .. 6 = Sunday): the document has a schedule slot on that day;
  with ``open_at`` ("HH:MM") too, a slot on that day with ``start <= open_at < end``.
* Only documents with ``status == "active"`` match unless ``include_archived``.
* Sort: ``distance`` (needs ``near``), ``relevance`` (needs ``text``; hits matching the
  first alternative of more groups of ``match`` first, i.e. the words as typed before
  their synonyms and corrections (``EXACT_BONUS`` per group), then the backend score;
  descending), ``title`` (folded title ascending). Ties are broken by ``id`` ascending,
  so pagination with ``offset``/``limit`` never repeats or skips a hit.
* ``facets``: counts per value of ``kind``, ``category`` and ``district`` over the whole
  filtered set (not the page), only when ``want_facets``.
* ``total``: the number of hits in the filtered set, only when ``want_total``.
* A backend may stop counting at a bound it documents: ``SearchResult.total_exact`` /
  ``facets_exact`` are then false and the counts are lower bounds. ``exact_counts``
  asks for exact counts however many hits there are (slower at scale).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .measures import EARTH_RADIUS_KM  # noqa: F401 (re-exported)

SORTS = ("distance", "relevance", "title")
# added to the relevance score per group of ``match`` (of several alternatives) whose
# first alternative the document matches: larger than any engine's text score
EXACT_BONUS = 1000.0
FACET_FIELDS = ("kind", "category", "district")


class SearchError(Exception):
    """The backend could not answer (unreachable, broken index, bad query)."""


class SearchUnavailable(SearchError):
    """The backend is down or not reachable; the store still holds everything."""


class IndexMissing(SearchUnavailable):
    """The index is gone (deleted, or the cluster came back empty). Searching it would
    answer "nothing found" for offers the store holds, so the backend refuses instead;
    ``Directory.sync`` rebuilds it from the store."""


class SearchMisconfigured(SearchError):
    """The backend cannot be used as configured (a client that does not fit the server,
    an index that belongs to another store): waiting does not help, the operator must
    act; the message says how."""


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class ScheduleSlot:
    """A weekday (0 = Monday) and a time range in minutes after midnight."""

    weekday: int
    start: int
    end: int


@dataclass
class SearchDocument:
    """What a backend indexes for one offer; built by ``directory_core.indexing``."""

    id: str
    kind: str
    title: str
    status: str = "active"
    text: list[str] = field(default_factory=list)  # title, description, carrier, labels
    location: GeoPoint | None = None
    district: str | None = None
    carrier: str | None = None
    categories: list[str] = field(default_factory=list)  # with ancestors
    languages: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    free_of_charge: bool = False
    accessibility: list[str] = field(default_factory=list)  # AccessibilityFlag values
    slots: list[ScheduleSlot] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # filterable custom fields


@dataclass(frozen=True)
class ExtraFilter:
    """A filter on a custom field: ``op`` is ``eq``, ``in``, ``gte``, ``lte`` or ``contains``
    (list fields: the list contains ``value``)."""

    field: str
    op: str
    value: Any


# groups -> alternatives -> terms: ((("demenz",),), (("einkauf", "hilfe"), ("einkaufsdienst",)))
TextMatch = tuple[tuple[tuple[str, ...], ...], ...]


@dataclass(frozen=True)
class SearchQuery:
    near: GeoPoint | None = None
    radius_km: float | None = None
    text: str | None = None
    match: TextMatch | None = None  # see the module docstring
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    free_of_charge: bool | None = None
    accessibility: tuple[str, ...] = ()  # all of these flags
    open_on: int | None = None
    open_at: str | None = None
    extra: tuple[ExtraFilter, ...] = ()
    include_archived: bool = False
    sort: str | None = None  # None: distance with near, relevance with text, else title
    offset: int = 0
    limit: int = 20
    want_total: bool = True
    want_facets: bool = False
    exact_counts: bool = False  # True: no counting bound (``SearchResult.total_exact``)

    def effective_sort(self) -> str:
        if self.sort:
            return self.sort
        if self.near is not None:
            return "distance"
        if self.text:
            return "relevance"
        return "title"


@dataclass(frozen=True)
class SearchHit:
    id: str
    distance_km: float | None = None
    score: float | None = None


@dataclass
class SearchResult:
    """``total_exact``/``facets_exact`` false: a backend stopped counting at a bound
    (the embedded one at ``count_bound`` hits of a nearby search, Elasticsearch when its
    ``hits.total.relation`` is ``gte``); ``total`` and every facet count are then lower
    bounds of the true counts (the hits are still exact)."""

    hits: list[SearchHit]
    total: int | None = None
    facets: dict[str, dict[str, int]] | None = None
    corrected: str | None = None  # the query as corrected for typos, if it was
    total_exact: bool = True
    facets_exact: bool = True


class SearchBackend(abc.ABC):
    """A search backend. Implement ``search``; the rest has working defaults or is
    bookkeeping for keeping the index in step with the store."""

    name: ClassVar[str]
    #: this instance created its index (a new, empty one) when it was opened
    created: bool = False

    @abc.abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Answer ``query`` following the contract in this module's docstring."""

    @abc.abstractmethod
    def index(self, documents: list[SearchDocument]) -> None:
        """Add or replace documents (by id)."""

    @abc.abstractmethod
    def delete(self, ids: list[str]) -> None:
        """Remove documents; unknown ids are ignored."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every document (used before a full rebuild)."""

    def rebuild(self, batches: Iterable[list[SearchDocument]]) -> int:
        """Replace every document with those of ``batches``; return how many were given.

        Used by ``directory reindex``. The default clears the index and indexes batch by
        batch, so searches meanwhile see a partial index; a backend that can build a new
        index next to the old one and switch atomically (Elasticsearch) overrides it."""
        self.clear()
        count = 0
        for batch in batches:
            self.index(batch)
            count += len(batch)
        return count

    @contextmanager
    def index_held(self, batches: Iterable[list[SearchDocument]]) -> Iterator[int]:
        """Index ``batches`` so that searches see them only once the ``with`` block has
        ended normally, and never if it raises; yields the number of documents given.

        For a writer that must commit after something else: an import's offers are
        indexed while the store writes them and become searchable after the store's
        commit (``directory_core/index_ahead.py``). The embedded backend writes them
        in one transaction held open during the block; the default indexes them after
        the block, batch by batch."""
        held = [batch for batch in batches if batch]
        yield sum(len(batch) for batch in held)
        for batch in held:
            self.index(batch)

    def can_reopen(self) -> bool:
        """Whether ``reopen`` works and ``index_held`` holds a write open: then a large
        import writes ahead from a second process (``directory_core/index_ahead.py``);
        otherwise (the default) it indexes after the store's commit."""
        return False

    def reopen(self) -> SearchBackend:
        """A new instance on the same index with connections of its own, for a process
        forked from this one (which must not use the parent's connections)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be reopened")

    def vocabulary(self) -> dict[str, int]:
        """Every index token of the indexed documents (archived ones too) with the number
        of documents holding it: the ground the query expansion stands on. Backends
        holding the same documents must return the same mapping."""
        raise NotImplementedError(f"{type(self).__name__} has no vocabulary()")

    def count(self) -> int:
        return self.search(SearchQuery(limit=0, include_archived=True)).total or 0

    def health(self) -> dict[str, Any]:
        """A small status dict for ``/healthz``; raise ``SearchUnavailable`` when down."""
        return {"backend": self.name, "documents": self.count()}

    def verify(self) -> None:  # noqa: B027 - optional hook
        """Check that the index is there and usable, cheaply (called before every sync):
        raise ``IndexMissing`` when it is gone, ``SearchMisconfigured`` when it must not
        be used. The default assumes an index that cannot vanish on its own."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
